//! The xtask run by a user who is not root, for real: as `nobody` (through
//! `setpriv`) when the tests run as root, as the tests' own user otherwise.
//! That user profiles a C program built with `gcc -g` in a directory of
//! theirs, with the xtask copied there (the workspace's target directory
//! may lie where they cannot read). What perf allows depends on the
//! machine's `perf_event_paranoid`, which the tests read and never change:
//! at 2 (the kernel's default) a user profiles their own programs in user
//! space; above it Debian's and Ubuntu's kernels refuse perf, and the task
//! must say what to run.

use crate::common;

use common::{has_tool, text};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The user the tests run the xtask as (nobody's uid and gid).
const NOBODY: u32 = 65534;

const PROGRAM: &str = r#"#include <stdio.h>
#include <stdlib.h>

__attribute__((noinline)) double spin_work(long n) {
    double x = 0;
    for (long i = 0; i < n; i++) x += (double)(i % 7) * 0.5;
    return x;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 1000;
    printf("%f\n", spin_work(n));
    return 0;
}
"#;

/// A directory of the user's with the program, the xtask and a config,
/// removed on drop.
struct UserDir {
    dir: PathBuf,
    /// The user's uid: every file the xtask writes must be theirs.
    uid: u32,
    /// Whether the xtask runs through setpriv (the tests run as root).
    switch_user: bool,
}

impl UserDir {
    /// None (and why, printed) when this machine cannot run the test.
    fn new(name: &str, config: &str) -> Option<UserDir> {
        if !has_tool("perf") {
            eprintln!("skipped: no perf");
            return None;
        }
        if !has_tool("cc") {
            eprintln!("skipped: no C compiler (cc)");
            return None;
        }
        let root = unsafe { libc::geteuid() } == 0;
        if root && !has_tool("setpriv") {
            eprintln!("skipped: running as root without setpriv (util-linux) to become nobody");
            return None;
        }
        let uid = if root {
            NOBODY
        } else {
            unsafe { libc::geteuid() }
        };
        let dir = std::env::temp_dir().join(format!("xtask-unpriv-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let built = Command::new("cc")
            .args(["-g", "-O1", "-o"])
            .arg(dir.join("prog"))
            .arg("-x")
            .arg("c")
            .arg("-")
            .stdin(std::process::Stdio::piped())
            .spawn()
            .and_then(|mut cc| {
                use std::io::Write;
                cc.stdin.take().unwrap().write_all(PROGRAM.as_bytes())?;
                cc.wait()
            })
            .unwrap();
        assert!(built.success(), "cc could not build the test program");
        std::fs::copy(env!("CARGO_BIN_EXE_xtask-e2e"), dir.join("xtask")).unwrap();
        std::fs::write(dir.join("profiling.toml"), config).unwrap();
        let user = UserDir {
            dir,
            uid,
            switch_user: root,
        };
        if root {
            user.give_to_nobody(&user.dir);
        }
        Some(user)
    }

    fn give_to_nobody(&self, path: &Path) {
        let c_path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
        assert_eq!(
            unsafe { libc::chown(c_path.as_ptr(), NOBODY, NOBODY) },
            0,
            "chown {}",
            path.display()
        );
        if path.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                self.give_to_nobody(&entry.unwrap().path());
            }
        }
    }

    /// The xtask as the user, in their directory, stopped after two minutes
    /// at the latest.
    fn xtask(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("timeout");
        command.args(["--kill-after=5", "120"]);
        if self.switch_user {
            command.args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "--",
            ]);
        }
        command
            .arg(self.dir.join("xtask"))
            .arg("--config")
            .arg(self.dir.join("profiling.toml"))
            .args(args)
            .current_dir(&self.dir)
            .env("HOME", &self.dir)
            .env("CI", "1")
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY");
        command
    }

    /// The complete results.
    fn results(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.join("results"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.join("run.json").is_file())
            .collect()
    }

    /// The one complete result.
    fn result(&self) -> PathBuf {
        let results = self.results();
        assert_eq!(results.len(), 1, "{results:?}");
        results[0].clone()
    }

    /// Files under `path` that do not belong to the user.
    fn not_theirs(&self, path: &Path) -> Vec<String> {
        let mut foreign = Vec::new();
        let meta = std::fs::symlink_metadata(path).unwrap();
        if meta.uid() != self.uid || meta.gid() != self.gid() {
            foreign.push(format!(
                "{} ({}:{})",
                path.display(),
                meta.uid(),
                meta.gid()
            ));
        }
        if meta.is_dir() {
            for entry in std::fs::read_dir(path).unwrap() {
                foreign.extend(self.not_theirs(&entry.unwrap().path()));
            }
        }
        foreign
    }

    fn gid(&self) -> u32 {
        if self.switch_user {
            NOBODY
        } else {
            unsafe { libc::getegid() }
        }
    }
}

impl Drop for UserDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The machine's level, read and never changed.
fn paranoid() -> i32 {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_paranoid")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(2)
}

/// Whether perf refuses this user everything (Debian's 3, Ubuntu's 4): the
/// task must then say what to run.
fn refused_says_what_to_run(output: &Output) -> bool {
    let out = text(output);
    if paranoid() <= 2 || output.status.success() {
        return false;
    }
    assert!(
        out.contains("sudo sysctl kernel.perf_event_paranoid=2"),
        "{out}"
    );
    assert!(
        out.contains("echo kernel.perf_event_paranoid=2 | sudo tee /etc/sysctl.d/60-perf.conf"),
        "{out}"
    );
    eprintln!(
        "perf is refused to users at perf_event_paranoid {}: the task said what to run",
        paranoid()
    );
    true
}

const CONFIG: &str = r#"
[defaults]
workload = "prog"
results_dir = "results"
timeout = 60

[workloads.prog]
command = "./prog"
args = ["60000000"]
"#;

/// Two flamegraphs of the user's at once: a user's perfs share one
/// allowance of locked memory for their ring buffers, and each must start.
#[test]
fn a_user_s_flamegraphs_name_the_program_s_function_and_are_theirs() {
    let Some(user) = UserDir::new("flamegraph", CONFIG) else {
        return;
    };
    let both = [user.command(&["flamegraph"]), user.command(&["flamegraph"])]
        .map(|mut command| {
            command
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .map(|child| child.wait_with_output().unwrap());
    for output in &both {
        if refused_says_what_to_run(output) {
            return;
        }
        assert!(output.status.success(), "{}", text(output));
    }
    let results = user.results();
    assert_eq!(results.len(), 2, "{results:?}");
    for result in &results {
        let folded = std::fs::read_to_string(result.join("cpu.folded")).unwrap();
        assert!(
            folded.lines().any(|l| l.contains(";main;spin_work ")),
            "{folded}"
        );
        let top = std::fs::read_to_string(result.join("top-functions.txt")).unwrap();
        assert!(top.contains("spin_work"), "{top}");
    }
    // Everything the task wrote is the user's: results/, and nothing left
    // half-written beside the results.
    let foreign = user.not_theirs(&user.dir.join("results"));
    assert!(foreign.is_empty(), "not the user's: {foreign:?}");
    let entries: Vec<String> = std::fs::read_dir(user.dir.join("results"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(entries.len(), 2, "{entries:?}");
    // doctor tells the user what perf allows them at this level.
    let doctor = user.xtask(&["doctor"]);
    let said = text(&doctor);
    assert!(
        said.contains(&format!(
            "perf_event_paranoid: {}; you are not root",
            paranoid()
        )),
        "{said}"
    );
}

/// Timed runs counted by perf stat, and a profile that asks for kernel
/// frames: at 2 perf counts and samples user space only, and the result
/// says what that left out instead of recording zeros.
#[test]
fn a_user_s_counters_and_kernel_frames_say_what_user_space_left_out() {
    let config = CONFIG.replace("timeout = 60", "timeout = 60\nkernel_frames = true");
    let Some(user) = UserDir::new("counters", &config) else {
        return;
    };
    let output = user.xtask(&[
        "profile-baseline",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--label",
        "user",
    ]);
    if refused_says_what_to_run(&output) {
        return;
    }
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let run: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(user.result().join("run.json")).unwrap())
            .unwrap();
    let summaries = run["scales"][0]["summaries"].as_object().unwrap();
    let measures: Vec<&str> = summaries.keys().map(String::as_str).collect();
    assert!(measures.contains(&"perf_task_clock_s"), "{measures:?}");
    if paranoid() >= 2 {
        // Context switches and migrations happen in the kernel: counted in
        // user space they would read 0, so there are none, and the page
        // faults of user space are a measure of their own.
        for whole in [
            "perf_context_switches",
            "perf_cpu_migrations",
            "perf_page_faults",
        ] {
            assert!(!measures.contains(&whole), "{whole} in {measures:?}");
        }
        assert!(measures.contains(&"perf_page_faults_user"), "{measures:?}");
        assert!(out.contains("note: perf counted user space only"), "{out}");
        assert!(
            out.contains("note: kernel frames were not sampled"),
            "{out}"
        );
    } else {
        assert!(measures.contains(&"perf_context_switches"), "{measures:?}");
        assert!(!out.contains("kernel frames were not sampled"), "{out}");
    }
    let foreign = user.not_theirs(&user.dir.join("results"));
    assert!(foreign.is_empty(), "not the user's: {foreign:?}");
}

/// A process of another user: refused before perf runs, with the reason
/// (perf's own message would blame perf_event_paranoid).
#[test]
fn a_user_may_not_attach_to_another_user_s_process() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to start a process nobody does not own");
        return;
    }
    let Some(user) = UserDir::new("foreign-pid", CONFIG) else {
        return;
    };
    let mut sleeper = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = sleeper.id().to_string();
    let output = user.xtask(&["flamegraph", "--pid", &pid, "--run-for", "1"]);
    let _ = sleeper.kill();
    let _ = sleeper.wait();
    let out = text(&output);
    assert!(!output.status.success(), "{out}");
    if paranoid() > 2 && out.contains("sudo sysctl kernel.perf_event_paranoid=2") {
        return;
    }
    assert!(
        out.contains(&format!("PID {pid} (sleep 30) belongs to root (uid 0)")),
        "{out}"
    );
    assert!(out.contains("help: run the task as root (sudo)"), "{out}");
}
