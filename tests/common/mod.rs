//! Shared helpers of the end-to-end tests: run the real `xtask` binary
//! against a throwaway config and results directory.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// A config and its results directory in a temp directory, removed on
/// drop. Its `cargo_bin` workloads build in this workspace all the same: a
/// config outside any Cargo project belongs to the project of the current
/// directory, and the xtask runs in the workspace.
pub struct Sandbox {
    pub config: PathBuf,
    pub results: PathBuf,
    dir: PathBuf,
}

impl Sandbox {
    /// `extra` is appended to the shipped profiling.toml, after its
    /// `results_dir` is pointed at a temp directory.
    pub fn new(name: &str, extra: &str) -> Sandbox {
        let (dir, results) = Sandbox::dirs(name);
        let shipped = std::fs::read_to_string(workspace().join("profiling.toml")).unwrap();
        let text = shipped.replace(
            "results_dir = \"results\"",
            &format!("results_dir = \"{}\"", results.display()),
        );
        assert_ne!(
            text, shipped,
            "profiling.toml no longer sets results_dir = \"results\""
        );
        Sandbox::with_text(dir, &(text + extra), results)
    }

    /// A config with exactly this text (`{results}` is replaced).
    pub fn raw(name: &str, text: &str) -> Sandbox {
        let (dir, results) = Sandbox::dirs(name);
        let text = text.replace("{results}", &results.display().to_string());
        Sandbox::with_text(dir, &text, results)
    }

    /// A fresh temp directory for the sandbox `name`, and its results
    /// directory inside.
    fn dirs(name: &str) -> (PathBuf, PathBuf) {
        let dir = std::env::temp_dir().join(format!("xtask-sandbox-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let results = dir.join("results");
        (dir, results)
    }

    fn with_text(dir: PathBuf, text: &str, results: PathBuf) -> Sandbox {
        std::fs::create_dir_all(&results).unwrap();
        let config = dir.join("profiling.toml");
        std::fs::write(&config, text).unwrap();
        Sandbox {
            config,
            results,
            dir,
        }
    }

    /// The xtask with this sandbox's config, as CI would run it (no colour,
    /// no progress bars, no GitHub step summary).
    pub fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"));
        command
            .arg("--config")
            .arg(&self.config)
            .args(args)
            .current_dir(workspace())
            .env("CI", "1")
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY");
        command
    }

    pub fn xtask(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Complete results (directories holding run.json).
    pub fn results(&self) -> Vec<PathBuf> {
        let Ok(read) = std::fs::read_dir(&self.results) else {
            return Vec::new();
        };
        let mut dirs: Vec<PathBuf> = read
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("run.json").is_file())
            .collect();
        dirs.sort();
        dirs
    }

    /// Everything in the results directory, by name.
    pub fn entries(&self) -> Vec<String> {
        let Ok(read) = std::fs::read_dir(&self.results) else {
            return Vec::new();
        };
        let mut names: Vec<String> = read
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for Sandbox {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

pub fn text(output: &Output) -> String {
    format!(
        "status: {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// Whether a tool is on PATH. The profilers CI installs must be there in CI:
/// a missing one fails the test instead of letting it pass by skipping.
pub fn has_tool(name: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {name}")])
        .output()
        .is_ok_and(|o| o.status.success());
    let installed_by_ci = [
        "perf",
        "heaptrack",
        "heaptrack_print",
        "gdb",
        "valgrind",
        "ms_print",
        "wrk",
        "redis-server",
        "redis-cli",
        "go",
    ];
    if !found && installed_by_ci.contains(&name) && std::env::var_os("CI").is_some() {
        panic!("{name} is missing in CI: .ci/run should have installed it (scripts/install-tools.sh for the profilers; apt-get install wrk redis-server redis-tools golang-go for the service tests)");
    }
    found
}

/// Whether any process's command line contains `marker`.
pub fn process_alive_with(marker: &str) -> bool {
    let output = Command::new("pgrep").args(["-f", marker]).output().unwrap();
    !output.stdout.is_empty()
}

/// Whether no process's command line contains `marker`, waiting up to
/// `limit`: a process just killed may still be on its way out, while an
/// orphan that survived outlives the limit by far.
pub fn gone_within(limit: std::time::Duration, marker: &str) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while process_alive_with(marker) {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    true
}
