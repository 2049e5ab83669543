//! `cargo xtask adopt` and `init`, for real, on generated projects of every
//! shape: a single package (whose release profile strips and sets
//! `debug = 0`, and whose .cargo/config.toml has aliases of its own), a
//! virtual workspace, a root package with members, and a project with an
//! xtask of its own (adopt refuses; `--mount` and three lines mount the
//! tasks). In each: adopt, then `cargo xtask doctor` (adopt runs it) and
//! `cargo xtask profile-baseline --runs 2`, whose flamegraph must name the
//! project's own function; then a second adopt that changes nothing.

use crate::common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Every generated project builds into one target directory, and each has a
/// binary named `xtask`: cargo locks the directory while it builds but not
/// while `cargo run` starts the binary, so a parallel test could replace
/// `target/debug/xtask` between one project's build and its exec (CI once
/// ran the mounted project's xtask as the root-package project's doctor).
/// Commands that build in it take turns (the CI workflow's steps too:
/// `ci_workflow`).
pub static SHARED_TARGET: Mutex<()> = Mutex::new(());

fn run_in_shared_target(mut command: Command) -> Output {
    let _turn = SHARED_TARGET
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    command.output().unwrap()
}

/// A CPU-bound program with one function worth finding in a flamegraph.
fn hot_program(function: &str) -> String {
    format!(
        r#"use std::hint::black_box;

#[inline(never)]
fn {function}(rounds: u64) -> u64 {{
    let mut h: u64 = 1469598103934665603;
    for i in 0..rounds {{
        h ^= black_box(i);
        h = h.wrapping_mul(1099511628211);
    }}
    h
}}

fn main() {{
    println!("checksum={{}}", {function}(black_box(60_000_000)));
}}
"#
    )
}

struct Project {
    root: PathBuf,
}

impl Project {
    fn new(tag: &str, files: &[(&str, String)]) -> Project {
        let root = std::env::temp_dir().join(format!("xtask-adopt-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        for (path, text) in files {
            let path = root.join(path);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        // Our lock file pins the xtask's dependencies to the versions this
        // workspace already built: no resolution, less to compile.
        std::fs::copy(
            common::workspace().join("Cargo.lock"),
            root.join("Cargo.lock"),
        )
        .unwrap();
        Project { root }
    }

    /// A command in the project, building into one target directory shared
    /// by every generated project (their dependencies compile once).
    fn command(&self, program: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(program);
        command
            .args(args)
            .current_dir(&self.root)
            .env(
                "CARGO_TARGET_DIR",
                common::workspace().join("target/adopt-tests"),
            )
            .env("CI", "1")
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY");
        command
    }

    fn adopt(&self, extra: &[&str]) -> Output {
        self.adopt_at(&self.root, extra)
    }

    fn adopt_at(&self, dir: &Path, extra: &[&str]) -> Output {
        let dir = dir.display().to_string();
        let mut args = vec!["adopt", dir.as_str()];
        args.extend(extra);
        run_in_shared_target(self.command(Path::new(env!("CARGO_BIN_EXE_xtask-e2e")), &args))
    }

    fn cargo(&self, args: &[&str]) -> Output {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run_in_shared_target(self.command(Path::new(&cargo), args))
    }

    /// Every file but build output and results, for "nothing changed".
    fn snapshot(&self) -> BTreeMap<PathBuf, Vec<u8>> {
        fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let relative = path.strip_prefix(root).unwrap().to_path_buf();
                if relative.starts_with("target") || relative.starts_with("results") {
                    continue;
                }
                if path.is_dir() {
                    walk(&path, root, out);
                } else {
                    out.insert(relative, std::fs::read(&path).unwrap());
                }
            }
        }
        let mut out = BTreeMap::new();
        walk(&self.root, &self.root, &mut out);
        out
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.root.join(path)).unwrap()
    }

    /// `profile-baseline --runs 2` through the given command words, and the
    /// result's cpu.folded, which must name `function`.
    fn baseline_names(&self, xtask: &[&str], function: &str) {
        let mut args = xtask.to_vec();
        args.extend(["profile-baseline", "--runs", "2", "--warmup", "0"]);
        let output = self.cargo(&args);
        let out = common::text(&output);
        assert!(output.status.success(), "{out}");
        assert!(out.contains("0 lost"), "{out}");
        let results = self.root.join("results");
        let result = std::fs::read_dir(&results)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.join("run.json").is_file())
            .unwrap_or_else(|| panic!("no result in {}:\n{out}", results.display()));
        let folded = std::fs::read_to_string(result.join("cpu.folded")).unwrap();
        assert!(
            folded.lines().any(|l| l.contains(function)),
            "the flamegraph does not name {function}:\n{}",
            folded.lines().take(5).collect::<Vec<_>>().join("\n")
        );
        assert!(result.join("flamegraph.svg").is_file());
    }

    /// A second adopt finds everything in place and writes nothing.
    fn adopt_again_changes_nothing(&self, extra: &[&str]) {
        let before = self.snapshot();
        let output = self.adopt(extra);
        let out = common::text(&output);
        assert!(output.status.success(), "{out}");
        assert!(out.contains("nothing changed"), "{out}");
        assert_eq!(
            self.snapshot(),
            before,
            "the second adopt changed files:\n{out}"
        );
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn adopted(project: &Project) -> String {
    let output = project.adopt(&[]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("Ready:"), "adopt did not run doctor:\n{out}");
    assert!(
        out.contains("next: cd ") && out.contains("cargo xtask profile-baseline"),
        "{out}"
    );
    out
}

#[test]
fn a_single_package_with_a_stripped_release_and_aliases_of_its_own() {
    let project = Project::new(
        "single",
        &[
            (
                "Cargo.toml",
                "# the app\n[package]\nname = \"crunch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [profile.release]\nstrip = true # small\ndebug = 0\n"
                    .into(),
            ),
            ("src/main.rs", hot_program("single_package_hot_loop")),
            (
                ".cargo/config.toml",
                "[build]\nincremental = true\n\n[alias]\nci = \"test --all\" # ours\n".into(),
            ),
            (".gitignore", "/target\n".into()),
        ],
    );
    // --dry-run shows each edit and writes nothing.
    let before = project.snapshot();
    let output = project.adopt(&["--dry-run"]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("+ [profile.profiling]") && out.contains("+ /results/"),
        "{out}"
    );
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert_eq!(project.snapshot(), before);

    adopted(&project);
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.starts_with("# the app\n") && manifest.contains("strip = true # small"),
        "{manifest}"
    );
    let config = project.read(".cargo/config.toml");
    assert!(
        config.contains("ci = \"test --all\" # ours") && config.contains("incremental = true"),
        "{config}"
    );
    assert!(
        config.contains("xtask = \"run --package xtask --\""),
        "{config}"
    );
    assert_eq!(
        project.read(".gitignore"),
        "/target\n# Profiles and timings written by `cargo xtask`\n/results/\n"
    );
    assert!(project
        .read("profiling.toml")
        .contains("cargo_bin = \"crunch\""));
    // The copied crate carries no test wiring and no path out of xtask/.
    let crate_manifest = project.read("xtask/Cargo.toml");
    assert!(
        !crate_manifest.contains("../") && !crate_manifest.contains(".workspace"),
        "{crate_manifest}"
    );
    // With its DWARF reader, a crate of its own built optimised.
    assert!(crate_manifest.contains("xtask-profiling-dwarf = { path = \"dwarf\" }"));
    assert!(project
        .read("xtask/dwarf/src/lib.rs")
        .contains("pub struct Dwarf"));
    assert!(
        manifest.contains("[profile.dev.package.xtask-profiling-dwarf]\nopt-level = 2"),
        "{manifest}"
    );

    project.baseline_names(&["xtask"], "single_package_hot_loop");
    project.adopt_again_changes_nothing(&[]);
}

#[test]
fn a_virtual_workspace() {
    let project = Project::new(
        "virtual",
        &[
            (
                "Cargo.toml",
                "[workspace]\n# our crates\nmembers = [\"crates/*\"]\nresolver = \"2\"\n".into(),
            ),
            (
                "crates/engine/Cargo.toml",
                "[package]\nname = \"engine\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            (
                "crates/engine/src/main.rs",
                hot_program("virtual_workspace_hot_loop"),
            ),
            (
                "crates/engine/examples/small.rs",
                "fn main() { println!(\"small\"); }\n".into(),
            ),
        ],
    );
    adopted(&project);
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("# our crates\nmembers = [\"crates/*\", \"xtask\"]"),
        "{manifest}"
    );
    let config = project.read("profiling.toml");
    assert!(
        config.contains("workload = \"engine\"") && config.contains("example = \"small\""),
        "{config}"
    );
    project.baseline_names(&["xtask"], "virtual_workspace_hot_loop");
    project.adopt_again_changes_nothing(&[]);
}

#[test]
fn a_root_package_with_members() {
    let project = Project::new(
        "rooted",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"suite\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [workspace]\nmembers = [\"worker\"]\n"
                    .into(),
            ),
            ("src/lib.rs", "pub fn answer() -> u32 { 42 }\n".into()),
            (
                "worker/Cargo.toml",
                "[package]\nname = \"worker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            (
                "worker/src/main.rs",
                hot_program("root_package_member_hot_loop"),
            ),
        ],
    );
    // adopt refuses a member: it belongs at the workspace root.
    let output = project.adopt_at(&project.root.join("worker"), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(common::text(&output).contains("adopt the workspace root instead"));

    adopted(&project);
    assert!(project
        .read("Cargo.toml")
        .contains("members = [\"worker\", \"xtask\"]"));
    project.baseline_names(&["xtask"], "root_package_member_hot_loop");
    project.adopt_again_changes_nothing(&[]);
}

#[test]
fn a_project_with_its_own_xtask_mounts_the_tasks() {
    let own_main = "fn main() {\n    println!(\"their own xtask\");\n}\n";
    let project = Project::new(
        "mounted",
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\", \"xtask\"]\nresolver = \"2\"\n".into(),
            ),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            ("app/src/main.rs", hot_program("mounted_project_hot_loop")),
            (
                "xtask/Cargo.toml",
                "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            ("xtask/src/main.rs", own_main.into()),
            (
                ".cargo/config.toml",
                "[alias]\nxtask = \"run --package xtask --\"\n".into(),
            ),
        ],
    );
    let before = project.snapshot();
    let output = project.adopt(&[]);
    let out = common::text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("the project's own xtask") && out.contains("--mount"),
        "{out}"
    );
    assert_eq!(project.snapshot(), before, "a refused adopt wrote files");

    let output = project.adopt(&["--mount"]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("xtask_profiling::run_as(\"cargo xtask profile\", args); // ends the process"),
        "{out}"
    );
    assert!(project
        .read("xtask/Cargo.toml")
        .contains("xtask-profiling = { path = \"../xtask-profiling\" }"));
    assert_eq!(project.read("xtask/src/main.rs"), own_main);

    // The lines adopt printed, at the top of their main().
    let mounted = own_main.replace(
        "fn main() {\n",
        "fn main() {\n    let mut args = std::env::args_os().skip(1);\n    \
         if args.next().is_some_and(|a| a == \"profile\") {\n        \
         xtask_profiling::run_as(\"cargo xtask profile\", args);\n    }\n",
    );
    std::fs::write(project.root.join("xtask/src/main.rs"), mounted).unwrap();
    let output = project.cargo(&["xtask", "profile", "doctor"]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("Ready:"), "{out}");
    let output = project.cargo(&["xtask", "profile", "--help"]);
    assert!(
        common::text(&output).contains("Usage: cargo xtask profile"),
        "{}",
        common::text(&output)
    );
    let output = project.cargo(&["xtask", "hello"]);
    assert!(common::text(&output).contains("their own xtask"));

    project.baseline_names(&["xtask", "profile"], "mounted_project_hot_loop");
    project.adopt_again_changes_nothing(&["--mount"]);
}

/// `init` alone, in a project that has the xtask already: refuses to
/// overwrite, `--force` replaces, and the file loads (doctor reads it).
#[test]
fn init_writes_a_config_that_loads_and_never_overwrites_without_force() {
    // Outside the workspace: the config belongs to the project the xtask
    // runs in.
    let temp = std::env::temp_dir().join(format!("xtask-init-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&temp);
    std::fs::create_dir_all(&temp).unwrap();
    let config = temp.join("profiling.toml");
    let config_arg = config.display().to_string();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_xtask-e2e"))
            .args(["--config", config_arg.as_str()])
            .args(args)
            .current_dir(common::workspace())
            .output()
            .unwrap()
    };
    let output = run(&["init"]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("cdr-demo") && out.contains("default cdr-demo"),
        "{out}"
    );
    let text = std::fs::read_to_string(&config).unwrap();
    assert!(
        text.contains("bench = \"generate\"") && !text.contains("cargo_bin = \"xtask\""),
        "{text}"
    );
    std::fs::write(&config, "# mine\n").unwrap();
    let output = run(&["init"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(common::text(&output).contains("--force"));
    assert_eq!(std::fs::read_to_string(&config).unwrap(), "# mine\n");
    let output = run(&["init", "--force"]);
    assert!(output.status.success(), "{}", common::text(&output));
    let output = run(&["doctor"]);
    let out = common::text(&output);
    assert!(
        out.contains("debug info of the workload")
            && out.contains("[profile.profiling]: debug info"),
        "{out}"
    );
    std::fs::remove_dir_all(&temp).unwrap();
}

/// An xtask of the project's own that is not at `xtask/` (here
/// `tools/xtask`): a second package named `xtask` would break the
/// workspace, so adopt refuses it too, and `--mount` adds the dependency to
/// that manifest with the right relative path. Dry runs only: nothing builds.
#[test]
fn an_own_xtask_elsewhere_is_found_through_cargo_metadata() {
    let project = Project::new(
        "elsewhere",
        &[
            (
                "Cargo.toml",
                "[workspace]\nmembers = [\"app\", \"tools/xtask\"]\nresolver = \"2\"\n".into(),
            ),
            (
                "app/Cargo.toml",
                "[package]\nname = \"app\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            ("app/src/main.rs", "fn main() {}\n".into()),
            (
                "tools/xtask/Cargo.toml",
                "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            ("tools/xtask/src/main.rs", "fn main() {}\n".into()),
        ],
    );
    let before = project.snapshot();
    let output = project.adopt(&[]);
    let out = common::text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("tools/xtask is the project's own xtask"),
        "{out}"
    );
    assert_eq!(project.snapshot(), before);
    let output = project.adopt(&["--mount", "--dry-run"]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("+ xtask-profiling = { path = \"../../xtask-profiling\" }"),
        "{out}"
    );
    assert!(
        out.contains("- members = [\"app\", \"tools/xtask\"]"),
        "{out}"
    );
    assert_eq!(project.snapshot(), before, "a dry run wrote files");
}
