//! `cargo xtask adopt` and `init`, for real, on generated projects of every
//! shape: a single package with a build script (whose release profile
//! strips and sets `debug = 0`, and whose .cargo/config.toml has aliases
//! of its own), a virtual workspace whose member glob `*` would take the
//! xtask in, a root package with members under git (one a fuzz crate), a
//! project adopted by the earlier adopt (the engine's copy, converted), and
//! a project with an xtask of its own (adopt refuses; `--mount` and three
//! lines mount the tasks). In each: adopt, then `cargo xtask doctor` (adopt
//! runs it) and `cargo xtask profile-baseline --runs 2`, whose flamegraph
//! must name the project's own function, twice: the project's Cargo.lock
//! stays byte-identical and the second task builds nothing of theirs. Then
//! a second adopt that changes nothing.
//!
//! Every project builds into one target directory, so the engine and its
//! dependencies compile once for all of them (the thin xtasks all depend
//! on this checkout's engine, with the same lock file).

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

/// A build script without `rerun-if-changed`: cargo then fingerprints its
/// package by the newest of all its files.
const BUILD_SCRIPT: &str = "fn main() {\n    println!(\"cargo:rustc-env=BUILT_BY=build.rs\");\n}\n";

/// The engine's directory, which the thin xtask depends on by default.
fn engine_dir() -> PathBuf {
    common::workspace().join("xtask/engine")
}

struct Project {
    root: PathBuf,
    /// The project's Cargo.lock as cargo made it before adopt.
    lock: Vec<u8>,
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
        let mut project = Project {
            root,
            lock: Vec::new(),
        };
        // The project's own lock file, as cargo writes it: adopt and the
        // tasks must leave it byte for byte.
        let output = project.cargo(&["generate-lockfile", "--offline"]);
        assert!(output.status.success(), "{}", common::text(&output));
        project.lock = std::fs::read(project.root.join("Cargo.lock")).unwrap();
        project
    }

    /// The project under git, everything committed, as a clone would be.
    fn commit_all(&self) {
        for args in [
            &["init", "-q"][..],
            &["add", "-A"],
            &[
                "-c",
                "user.name=t",
                "-c",
                "user.email=t@t",
                "commit",
                "-q",
                "-m",
                "project",
            ],
        ] {
            let output = Command::new("git")
                .args(args)
                .current_dir(&self.root)
                .output()
                .unwrap();
            assert!(output.status.success(), "{}", common::text(&output));
        }
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
                let skipped = ["target", "results", "xtask/target", ".git"];
                if skipped.iter().any(|s| relative.starts_with(s)) {
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

    fn assert_lock_untouched(&self, after: &str) {
        let lock = std::fs::read(self.root.join("Cargo.lock")).unwrap();
        assert!(
            lock == self.lock,
            "{after} changed the project's Cargo.lock:\n{}",
            String::from_utf8_lossy(&lock)
        );
    }

    /// `profile-baseline --runs 2` through the given command words, and the
    /// result's cpu.folded, which must name `function`; the task's output.
    fn baseline_names(&self, xtask: &[&str], function: &str) -> String {
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
        out
    }

    /// A second task after the first: cargo compiles nothing of the
    /// project's (the first task's results must not make it rebuild), and
    /// the lock file is still theirs.
    fn second_task_reuses_the_build(&self, xtask: &[&str], function: &str, package: &str) {
        let out = self.baseline_names(xtask, function);
        assert!(
            !out.contains(&format!("Compiling {package} v")),
            "the second task rebuilt {package}:\n{out}"
        );
        self.assert_lock_untouched("two tasks");
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

    /// The files adopt added (not those it edited), against a snapshot
    /// taken before.
    fn added_since(&self, before: &BTreeMap<PathBuf, Vec<u8>>) -> Vec<String> {
        self.snapshot()
            .keys()
            .filter(|path| !before.contains_key(*path))
            .map(|path| path.display().to_string())
            .collect()
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
    project.assert_lock_untouched("adopt");
    out
}

/// The thin xtask: a manifest that is a workspace of its own and depends
/// on this checkout's engine, a one-line main, and its own lock file; its
/// quick-build settings are this repository's own.
fn assert_thin_xtask(project: &Project) {
    let manifest = project.read("xtask/Cargo.toml");
    assert!(manifest.contains("\n[workspace]\n"), "{manifest}");
    let line = format!(
        "\nxtask-profiling = {{ path = \"{}\" }}\n",
        engine_dir().display()
    );
    assert!(manifest.contains(&line), "{manifest}");
    // The build settings of this repository's own xtask (its root
    // Cargo.toml, from the first `[profile.dev` table on), in order.
    let ours = std::fs::read_to_string(common::workspace().join("Cargo.toml")).unwrap();
    let settings = |text: &str| -> Vec<String> {
        text.lines()
            .skip_while(|l| !l.starts_with("[profile.dev"))
            .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect()
    };
    assert!(!settings(&ours).is_empty());
    assert_eq!(
        settings(&manifest)
            .into_iter()
            .take_while(|l| !l.starts_with("[package.metadata"))
            .collect::<Vec<_>>(),
        settings(&ours),
        "the thin xtask's build settings drifted from this repository's"
    );
    assert!(
        project
            .read("xtask/src/main.rs")
            .contains("xtask_profiling::main()"),
        "{}",
        project.read("xtask/src/main.rs")
    );
    assert!(project.root.join("xtask/Cargo.lock").is_file());
}

#[test]
fn a_single_package_with_a_build_script_and_no_git() {
    let project = Project::new(
        "single",
        &[
            (
                "Cargo.toml",
                "# the app\n[package]\nname = \"crunch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [profile.release]\nstrip = true # small\ndebug = 0\n"
                    .into(),
            ),
            ("build.rs", BUILD_SCRIPT.into()),
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
        out.contains("+ exclude = [\"/results\", \"/profiling.toml\"]")
            && out.contains("+ /results/")
            && out.contains("+ /xtask/target/")
            && out.contains("+ xtask = \"run --manifest-path xtask/Cargo.toml --\""),
        "{out}"
    );
    assert!(out.contains("dry run: nothing was written"), "{out}");
    assert_eq!(project.snapshot(), before);

    let out = adopted(&project);
    assert!(
        out.contains("default workload: crunch — binary `crunch` runs without arguments"),
        "{out}"
    );
    assert!(out.contains("a `git pull` there updates it"), "{out}");
    // Four files added (profiling.toml among them), three edited.
    assert_eq!(
        project.added_since(&before),
        [
            "profiling.toml",
            "xtask/Cargo.lock",
            "xtask/Cargo.toml",
            "xtask/src/main.rs"
        ]
    );
    assert_thin_xtask(&project);
    let manifest = project.read("Cargo.toml");
    assert_eq!(
        manifest,
        "# the app\n[package]\nname = \"crunch\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         exclude = [\"/results\", \"/profiling.toml\"]\n\n\
         [profile.release]\nstrip = true # small\ndebug = 0\n"
    );
    let config = project.read(".cargo/config.toml");
    assert!(
        config.contains("ci = \"test --all\" # ours") && config.contains("incremental = true"),
        "{config}"
    );
    assert!(
        config.contains("xtask = \"run --manifest-path xtask/Cargo.toml --\""),
        "{config}"
    );
    assert_eq!(
        project.read(".gitignore"),
        "/target\n# Profiles and timings written by `cargo xtask`\n/results/\n\
         # The xtask's build (a workspace of its own)\n/xtask/target/\n"
    );
    assert!(project
        .read("profiling.toml")
        .contains("cargo_bin = \"crunch\""));

    // The release profile strips; the profiling build, given on cargo's
    // command line, does not.
    project.baseline_names(&["xtask"], "single_package_hot_loop");
    project.assert_lock_untouched("the first task");
    project.second_task_reuses_the_build(&["xtask"], "single_package_hot_loop", "crunch");
    project.adopt_again_changes_nothing(&[]);
}

/// `members = ["*"]` would take xtask/ (a workspace of its own), .cargo/
/// and results/ (no packages) for members: they are excluded. The first member
/// in cargo's order is a CLI that needs an argument: the default is the
/// other binary, and the CLI is named as needing `args`.
#[test]
fn a_virtual_workspace_with_a_glob_and_a_cli_that_needs_arguments() {
    let cli = "fn main() {\n    let Some(pattern) = std::env::args().nth(1) else {\n        \
               eprintln!(\"usage: cli PATTERN\");\n        std::process::exit(2);\n    };\n    \
               println!(\"{pattern}\");\n}\n";
    let project = Project::new(
        "virtual",
        &[
            (
                "Cargo.toml",
                "[workspace]\n# all our crates\nmembers = [\"*\"]\nresolver = \"2\"\n".into(),
            ),
            (
                "cli/Cargo.toml",
                "[package]\nname = \"cli\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            ("cli/src/main.rs", cli.into()),
            (
                "engine/Cargo.toml",
                "[package]\nname = \"engine\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            (
                "engine/src/main.rs",
                hot_program("virtual_workspace_hot_loop"),
            ),
        ],
    );
    let out = adopted(&project);
    assert!(
        out.contains("still need `args` in profiling.toml")
            && out.contains("cli: exit status 2: usage: cli PATTERN"),
        "{out}"
    );
    let manifest = project.read("Cargo.toml");
    assert!(
        manifest.contains("# all our crates\nmembers = [\"*\"]")
            && manifest.contains("exclude = [\"xtask\", \".cargo\", \"results\"]"),
        "{manifest}"
    );
    let config = project.read("profiling.toml");
    assert!(
        config.contains("workload = \"engine\"")
            && config.contains("# Needs arguments: without any it failed (exit status 2) saying: usage: cli PATTERN"),
        "{config}"
    );
    project.baseline_names(&["xtask"], "virtual_workspace_hot_loop");
    project.second_task_reuses_the_build(&["xtask"], "virtual_workspace_hot_loop", "engine");
    project.adopt_again_changes_nothing(&[]);
}

/// A root package with a build script, under git, with a fuzz crate among
/// its members: the fuzz target is left out of profiling.toml, and the
/// second task reuses the build with git too.
#[test]
fn a_root_package_with_members_under_git() {
    let project = Project::new(
        "rooted",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"suite\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [workspace]\nmembers = [\"fuzz\", \"worker\"]\n"
                    .into(),
            ),
            ("build.rs", BUILD_SCRIPT.into()),
            ("src/main.rs", hot_program("root_package_hot_loop")),
            (
                "worker/Cargo.toml",
                "[package]\nname = \"worker\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            ("worker/src/lib.rs", "pub fn answer() -> u32 { 42 }\n".into()),
            (
                "fuzz/Cargo.toml",
                "[package]\nname = \"fuzz\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n\
                 [package.metadata]\ncargo-fuzz = true\n\n\
                 [[bin]]\nname = \"fuzz_parse\"\npath = \"fuzz_targets/fuzz_parse.rs\"\n"
                    .into(),
            ),
            (
                "fuzz/fuzz_targets/fuzz_parse.rs",
                "#![no_main]\nlibfuzzer_sys::fuzz_target!(|data: &[u8]| {\n    let _ = data;\n});\n"
                    .into(),
            ),
            (".gitignore", "target\n".into()),
        ],
    );
    project.commit_all();
    // adopt refuses a member: it belongs at the workspace root.
    let output = project.adopt_at(&project.root.join("worker"), &[]);
    assert_eq!(output.status.code(), Some(1));
    assert!(common::text(&output).contains("adopt the workspace root instead"));

    let out = adopted(&project);
    assert!(
        out.contains("default workload: suite — binary `suite` runs without arguments"),
        "{out}"
    );
    let config = project.read("profiling.toml");
    assert!(
        config.contains("# Left out, fuzz targets (they fuzz until stopped): fuzz_parse (fuzz).")
            && !config.contains("cargo_bin = \"fuzz_parse\""),
        "{config}"
    );
    // `target` in .gitignore already covers xtask/target.
    assert_eq!(
        project.read(".gitignore"),
        "target\n# Profiles and timings written by `cargo xtask`\n/results/\n"
    );
    assert!(project
        .read("Cargo.toml")
        .contains("members = [\"fuzz\", \"worker\"]"));
    project.baseline_names(&["xtask"], "root_package_hot_loop");
    project.second_task_reuses_the_build(&["xtask"], "root_package_hot_loop", "suite");
    project.adopt_again_changes_nothing(&[]);
}

/// A project that the earlier adopt set up: the engine's source copied as
/// xtask/ (a workspace member), its DWARF reader's opt-level and the
/// profiling profile in Cargo.toml, the `--package` alias. adopt converts
/// it: the copy's files go, a file of the user's in it stays, the member,
/// the opt-level and the alias change, the profile stays theirs.
#[test]
fn an_earlier_adopts_copy_becomes_the_thin_xtask() {
    let old_manifest = "[package]\nname = \"xtask\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                        [dependencies]\nxtask-profiling-dwarf = { path = \"dwarf\" }\n\n\
                        [package.metadata.profiling-xtask]\norigin = \"cargo xtask adopt\"\n\n\
                        [lib]\ntest = false\ndoctest = false\n\n\
                        [[bin]]\nname = \"xtask\"\npath = \"src/main.rs\"\ntest = false\n";
    let project = Project::new(
        "converted",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"legacy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                 [workspace]\nmembers = [\"xtask\"]\n\n\
                 [profile.profiling]\ninherits = \"release\"\ndebug = true\nstrip = \"none\"\n\n\
                 [profile.dev.package.xtask-profiling-dwarf]\nopt-level = 2\n"
                    .into(),
            ),
            ("src/main.rs", hot_program("converted_project_hot_loop")),
            ("xtask/Cargo.toml", old_manifest.into()),
            ("xtask/src/lib.rs", "//! the engine's lib.rs\n".into()),
            ("xtask/src/config/mod.rs", "//! its config\n".into()),
            ("xtask/src/main.rs", "fn main() {\n    xtask::main()\n}\n".into()),
            ("xtask/src/my_notes.rs", "// mine\n".into()),
            (
                "xtask/dwarf/Cargo.toml",
                "[package]\nname = \"xtask-profiling-dwarf\"\nversion = \"0.1.0\"\nedition = \"2021\"\n"
                    .into(),
            ),
            ("xtask/dwarf/src/lib.rs", "//! the DWARF reader\n".into()),
            (
                ".cargo/config.toml",
                "[alias]\nxtask = \"run --package xtask --\"\n".into(),
            ),
        ],
    );
    let output = project.adopt(&[]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("delete     xtask/")
            && out.contains("that an earlier adopt made")
            && out.contains("kept in xtask/, not files of the engine: src/my_notes.rs"),
        "{out}"
    );
    assert_thin_xtask(&project);
    assert_eq!(project.read("xtask/src/my_notes.rs"), "// mine\n");
    for gone in ["xtask/src/lib.rs", "xtask/src/config", "xtask/dwarf"] {
        assert!(!project.root.join(gone).exists(), "{gone} is still there");
    }
    assert_eq!(
        project.read("Cargo.toml"),
        "[package]\nname = \"legacy\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         exclude = [\"/results\", \"/profiling.toml\"]\n\n\
         [profile.profiling]\ninherits = \"release\"\ndebug = true\nstrip = \"none\"\n"
    );
    assert_eq!(
        project.read(".cargo/config.toml"),
        "[alias]\nxtask = \"run --manifest-path xtask/Cargo.toml --\"\n"
    );
    project.baseline_names(&["xtask"], "converted_project_hot_loop");
    // Cargo drops the old xtask's packages from the lock at the first build
    // (they were ours); from then on it stays.
    let lock = project.read("Cargo.lock");
    assert!(!lock.contains("xtask"), "{lock}");
    let project = Project {
        lock: lock.into_bytes(),
        root: project.root.clone(),
    };
    project.second_task_reuses_the_build(&["xtask"], "converted_project_hot_loop", "legacy");
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
    // Their xtask is in their workspace: its dependencies join their lock
    // at the first build (adopt's trial of the starter's targets), and
    // adopt says so.
    assert!(
        out.contains("the engine's dependencies join your Cargo.lock"),
        "{out}"
    );
    assert!(project
        .read("Cargo.lock")
        .contains("name = \"xtask-profiling\""));
    let line = format!(
        "xtask-profiling = {{ path = \"{}\" }}",
        engine_dir().display()
    );
    assert!(project.read("xtask/Cargo.toml").contains(&line));
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
        out.contains("cdr-demo")
            && out
                .contains("default workload: cdr-demo — binary `cdr-demo` runs without arguments"),
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
/// workspace, so adopt refuses it too, and `--mount` adds the engine to
/// that manifest. Dry runs only: nothing builds.
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
    let output = project.adopt(&["--mount", "--dry-run", "--engine", "version=0.1.0"]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("+ xtask-profiling = \"0.1.0\""), "{out}");
    assert_eq!(project.snapshot(), before, "a dry run wrote files");
}

/// `--engine git=URL@REV`: the manifest adopt writes (read back from its
/// dry run) resolves the engine from a git clone of this repository, with
/// cargo itself (not `--offline`, which refuses even a `file://` git
/// source; the lock file pins everything else). Resolution only: the
/// engine from git would be a second full build of it.
#[test]
fn the_engine_from_git_resolves() {
    let project = Project::new(
        "gitengine",
        &[
            (
                "Cargo.toml",
                "[package]\nname = \"g\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".into(),
            ),
            ("src/main.rs", "fn main() {}\n".into()),
        ],
    );
    let bare = project.root.join("engine.git");
    let output = Command::new("git")
        .args(["clone", "-q", "--bare"])
        .arg(common::workspace())
        .arg(&bare)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", common::text(&output));
    let head = Command::new("git")
        .args(["rev-parse", "HEAD"])
        .current_dir(common::workspace())
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    let engine = format!("git=file://{}@{head}", bare.display());
    let output = project.adopt(&["--dry-run", "--engine", &engine]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    let line = format!(
        "xtask-profiling = {{ git = \"file://{}\", rev = \"{head}\" }}",
        bare.display()
    );
    assert!(out.contains(&format!("+ {line}")), "{out}");
    // The manifest, as the dry run showed it line by line.
    let manifest: String = out
        .lines()
        .skip_while(|l| !l.contains("create     xtask/Cargo.toml"))
        .skip(1)
        .map_while(|l| l.strip_prefix("      + "))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(manifest.contains(&line), "{manifest}");
    std::fs::create_dir_all(project.root.join("xtask/src")).unwrap();
    std::fs::write(project.root.join("xtask/Cargo.toml"), manifest).unwrap();
    std::fs::write(project.root.join("xtask/src/main.rs"), "fn main() {}\n").unwrap();
    std::fs::copy(
        common::workspace().join("Cargo.lock"),
        project.root.join("xtask/Cargo.lock"),
    )
    .unwrap();
    let output = project.cargo(&[
        "metadata",
        "--format-version",
        "1",
        "--manifest-path",
        "xtask/Cargo.toml",
    ]);
    let out = common::text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains(&format!(
            "\"source\":\"git+file://{}?rev={head}#",
            bare.display()
        )),
        "{out}"
    );
}

/// The two crates as `cargo package` makes them: every file inside the
/// crate's directory, every `include_str!`/`include_bytes!` of their code
/// among the packaged files, and the manifest fields crates.io requires.
#[test]
fn the_engine_and_its_dwarf_reader_package_cleanly() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    for (package, dir) in [
        ("xtask-profiling", "xtask/engine"),
        ("xtask-profiling-dwarf", "xtask/dwarf"),
    ] {
        let crate_dir = common::workspace().join(dir);
        let output = Command::new(&cargo)
            .args(["package", "--list", "--allow-dirty", "-p", package])
            .current_dir(common::workspace())
            .output()
            .unwrap();
        let out = common::text(&output);
        assert!(output.status.success(), "{out}");
        let listed: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(String::from)
            .collect();
        let generated = [".cargo_vcs_info.json", "Cargo.toml.orig", "Cargo.lock"];
        for file in listed.iter().filter(|f| !generated.contains(&f.as_str())) {
            assert!(
                crate_dir.join(file).is_file(),
                "{package}: {file} is packaged but not inside {dir}"
            );
        }
        for file in listed.iter().filter(|f| f.ends_with(".rs")) {
            let source = std::fs::read_to_string(crate_dir.join(file)).unwrap();
            for (included, prefix) in included_paths(&source) {
                let path = crate_dir.join(file).parent().unwrap().join(&included);
                let inside = normalize(&path)
                    .strip_prefix(&crate_dir)
                    .ok()
                    .map(|p| p.display().to_string());
                let packaged = inside.as_ref().is_some_and(|p| match prefix {
                    true => listed.iter().any(|f| f.starts_with(p.as_str())),
                    false => listed.contains(p),
                });
                assert!(
                    packaged,
                    "{package}: {file} includes {included}, which is not packaged"
                );
            }
        }
        let manifest = std::fs::read_to_string(crate_dir.join("Cargo.toml")).unwrap();
        let value = |key: &str| {
            manifest
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{key} = ")))
                .map(|v| v.trim_matches('"').to_string())
        };
        for key in ["description", "license", "readme"] {
            assert!(value(key).is_some(), "{package}: no `{key}`");
        }
        assert!(value("publish").is_none(), "{package}: publish is off");
        let readme = value("readme").unwrap();
        assert!(
            listed.contains(&readme),
            "{package}: {readme} is not packaged"
        );
    }
    // The engine's dependency on the DWARF reader names a version, which
    // crates.io needs beside the path.
    let engine = std::fs::read_to_string(engine_dir().join("Cargo.toml")).unwrap();
    assert!(
        engine.contains("xtask-profiling-dwarf = { path = \"../dwarf\", version = "),
        "{engine}"
    );
}

/// The literal paths of `include_str!("…")` and `include_bytes!("…")`, and
/// whether each is the directory prefix of a `concat!`.
fn included_paths(source: &str) -> Vec<(String, bool)> {
    let mut paths = Vec::new();
    for macro_name in ["include_str!(", "include_bytes!("] {
        for (at, _) in source.match_indices(macro_name) {
            let rest = &source[at + macro_name.len()..];
            let Some(open) = rest.find('"') else { continue };
            let literal = &rest[open + 1..];
            let Some(close) = literal.find('"') else {
                continue;
            };
            paths.push((
                literal[..close].to_string(),
                rest[..open].contains("concat!"),
            ));
        }
    }
    paths
}

/// `a/b/../c` → `a/c`, without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}
