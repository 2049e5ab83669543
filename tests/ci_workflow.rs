//! `init --ci github`, and the workflow it writes, run here as GitHub would
//! run it on a pull request: a generated project (adopted as
//! tests/adopt.rs adopts them, in their shared target directory) in a git
//! repository whose second commit makes its hot loop twice as long and
//! whose third changes only its README. The workflow is parsed with
//! python3's yaml for its shape, then its `run:` steps are executed in
//! order in a fresh clone, with GitHub's variables and the pull request's
//! commits in the environment, under `bash -eo pipefail` as `shell: bash`
//! runs them, and with GitHub's rule for `if:` (after a failed step only
//! `always()` steps run). Skipped: the `uses:` actions (checkout, the
//! cache, the upload, which are GitHub's) and the step that installs
//! packages with apt-get (the tools are here already). The slower head
//! fails the job with profile-compare's exit status 3; an A/A passes; the
//! job summary gets the Markdown table; the upload's paths exist.

use crate::adopt::SHARED_TARGET;
use crate::common;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The steps that install system packages (sudo apt-get): not run here.
const INSTALLS_PACKAGES: &[&str] = &["Install perf and valgrind"];

/// The actions the workflow uses: GitHub's own, never run here.
const ACTIONS: &[&str] = &[
    "actions/checkout@v4",
    "actions/cache@v4",
    "actions/upload-artifact@v4",
];

fn program(rounds: u64) -> String {
    format!(
        r#"use std::hint::black_box;

#[inline(never)]
fn ledger_hot_loop(rounds: u64) -> u64 {{
    let mut h: u64 = 1469598103934665603;
    for i in 0..rounds {{
        h ^= black_box(i);
        h = h.wrapping_mul(1099511628211);
    }}
    h
}}

fn main() {{
    println!("checksum={{}}", ledger_hot_loop(black_box({rounds})));
}}
"#
    )
}

/// A command bounded in time: `timeout` stops its whole process group.
fn bounded(seconds: u32, program: &Path, args: &[&str]) -> Command {
    let mut command = Command::new("timeout");
    command
        .args(["-k", "10", &seconds.to_string()])
        .arg(program)
        .args(args)
        .env(
            "CARGO_TARGET_DIR",
            common::workspace().join("target/adopt-tests"),
        )
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY");
    command
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = bounded(60, Path::new("git"), args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "ci")
        .env("GIT_AUTHOR_EMAIL", "ci@example.com")
        .env("GIT_COMMITTER_NAME", "ci")
        .env("GIT_COMMITTER_EMAIL", "ci@example.com")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        common::text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// A temp directory, removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("xtask-ci-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The workflow as JSON, through python3's yaml (YAML 1.1 reads the key
/// `on` as true: it is put back under its name).
fn parse_workflow(path: &Path) -> Value {
    let script = "import json, sys, yaml\n\
                  doc = yaml.safe_load(open(sys.argv[1]))\n\
                  if True in doc: doc['on'] = doc.pop(True)\n\
                  print(json.dumps(doc))\n";
    let output = bounded(60, Path::new("python3"), &["-c", script])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python3 (the first on PATH) could not read the workflow; it needs PyYAML \
         (apt-get install python3-yaml):\n{}",
        common::text(&output)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn text_of(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

/// The workflow's one job, checked for the shape GitHub needs.
fn check_shape(workflow: &Value) -> &Value {
    assert!(workflow["on"].get("pull_request").is_some(), "{workflow}");
    assert_eq!(workflow["permissions"]["contents"], "read");
    let jobs = workflow["jobs"].as_object().unwrap();
    assert_eq!(jobs.len(), 1, "{workflow}");
    let job = jobs.values().next().unwrap();
    assert!(text_of(&job["runs-on"]).starts_with("ubuntu-"), "{job}");
    assert_eq!(job["defaults"]["run"]["shell"], "bash");
    let steps = job["steps"].as_array().unwrap();
    assert_eq!(steps[0]["uses"], "actions/checkout@v4");
    assert_eq!(steps[0]["with"]["fetch-depth"], 0, "the full history");
    let uses: Vec<&str> = steps.iter().filter_map(|s| s["uses"].as_str()).collect();
    assert_eq!(uses, ACTIONS);
    for step in steps {
        let run = text_of(&step["run"]);
        assert!(
            !run.contains("${{"),
            "an expression pasted into a script: {run}"
        );
    }
    let find = |needle: &str| {
        steps
            .iter()
            .find(|s| text_of(&s["run"]).contains(needle) || text_of(&s["uses"]) == needle)
            .unwrap_or_else(|| panic!("no step with {needle}"))
    };
    let compare = find("profile-compare");
    for flag in [
        "cargo xtask profile-compare",
        "--side \"rev=$base\" --side \"rev=$HEAD_SHA\"",
        "--counter instructions",
        "--fail-on-regression",
        "--format markdown",
        "$GITHUB_STEP_SUMMARY",
    ] {
        assert!(text_of(&compare["run"]).contains(flag), "{flag}: {compare}");
    }
    assert_eq!(find("cargo xtask report")["if"], "always()");
    assert_eq!(find("actions/upload-artifact@v4")["if"], "always()");
    job
}

/// The value of one of the job's `env` entries, its expression evaluated
/// as GitHub would for this pull request.
fn evaluate(value: &str, base: &str, head: &str) -> String {
    match value.trim() {
        "${{ github.event.pull_request.base.sha }}" => base.into(),
        "${{ github.event.pull_request.head.sha }}" => head.into(),
        other if other.contains("${{") => panic!("an expression the test cannot evaluate: {other}"),
        other => other.into(),
    }
}

struct JobRun {
    /// Each step's name and its exit status; `None` when skipped.
    steps: Vec<(String, Option<i32>)>,
    summary: String,
}

impl JobRun {
    fn status(&self, name_part: &str) -> Option<i32> {
        self.steps
            .iter()
            .find(|(name, _)| name.contains(name_part))
            .unwrap_or_else(|| panic!("no step {name_part}: {:?}", self.steps))
            .1
    }

    fn failed(&self) -> bool {
        self.steps
            .iter()
            .any(|(_, status)| status.is_some_and(|s| s != 0))
    }
}

/// Runs the job's `run:` steps in `clone`, checked out at `head`, as a
/// pull request from `head` onto a base whose tip is `base`.
fn run_job(job: &Value, clone: &Path, base: &str, head: &str, scratch: &Path) -> JobRun {
    let summary = scratch.join("step_summary.md");
    std::fs::write(&summary, "").unwrap();
    let mut env: Vec<(String, String)> = vec![
        ("CI".into(), "true".into()),
        ("GITHUB_ACTIONS".into(), "true".into()),
        ("GITHUB_EVENT_NAME".into(), "pull_request".into()),
        ("GITHUB_BASE_REF".into(), "main".into()),
        ("GITHUB_HEAD_REF".into(), "topic".into()),
        ("GITHUB_SHA".into(), head.into()),
        ("GITHUB_WORKSPACE".into(), clone.display().to_string()),
        ("GITHUB_STEP_SUMMARY".into(), summary.display().to_string()),
        ("RUNNER_OS".into(), "Linux".into()),
        ("RUNNER_TEMP".into(), scratch.display().to_string()),
    ];
    for (key, value) in job["env"].as_object().unwrap() {
        env.push((key.clone(), evaluate(text_of(value), base, head)));
    }
    let cwd = match job["defaults"]["run"]["working-directory"].as_str() {
        Some(dir) => clone.join(dir),
        None => clone.to_path_buf(),
    };
    let mut steps = Vec::new();
    let mut failed = false;
    for (i, step) in job["steps"].as_array().unwrap().iter().enumerate() {
        let name = text_of(&step["name"]).to_string();
        let runs = match step["if"].as_str() {
            None => !failed,
            Some("always()") => true,
            Some(other) => panic!("a condition the test cannot evaluate: {other}"),
        };
        if step.get("uses").is_some() || INSTALLS_PACKAGES.contains(&name.as_str()) || !runs {
            steps.push((name, None));
            continue;
        }
        let script = scratch.join(format!("step-{i}.sh"));
        std::fs::write(&script, text_of(&step["run"])).unwrap();
        let script = script.display().to_string();
        let mut command = bounded(
            900,
            Path::new("bash"),
            &["--noprofile", "--norc", "-eo", "pipefail", &script],
        );
        command.current_dir(&cwd).envs(env.iter().cloned());
        let output: Output = {
            let _turn = SHARED_TARGET.lock().unwrap_or_else(|p| p.into_inner());
            command.output().unwrap()
        };
        let status = output.status.code().unwrap_or(-1);
        eprintln!("step {name}: {status}\n{}", common::text(&output));
        failed |= status != 0;
        steps.push((name, Some(status)));
    }
    JobRun {
        steps,
        summary: std::fs::read_to_string(&summary).unwrap(),
    }
}

/// The paths the upload step names, each a directory or file that exists
/// in `clone` (`!` lines exclude, and are not checked).
fn check_uploaded(job: &Value, clone: &Path) -> PathBuf {
    let upload = job["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["uses"] == "actions/upload-artifact@v4")
        .unwrap();
    let paths: Vec<&str> = text_of(&upload["with"]["path"])
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('!'))
        .collect();
    assert_eq!(paths, ["results/"], "{upload}");
    let results = clone.join(paths[0]);
    assert!(results.join("index.html").is_file(), "no results page");
    let mut flamegraphs = 0;
    let mut diff = false;
    for entry in std::fs::read_dir(&results).unwrap() {
        let dir = entry.unwrap().path();
        flamegraphs += dir.join("flamegraph.svg").is_file() as usize;
        diff |= dir.join("diff-flamegraph.svg").is_file();
    }
    assert_eq!(
        flamegraphs,
        2,
        "a flamegraph per side in {}",
        results.display()
    );
    assert!(diff, "no differential flamegraph in {}", results.display());
    results
}

#[test]
fn the_github_workflow_fails_a_slower_head_and_passes_an_a_a() {
    if !(common::has_tool("valgrind") && common::has_tool("perf") && common::has_tool("python3")) {
        eprintln!("skipped: needs valgrind, perf and python3");
        return;
    }
    let project = TempDir::new("project");
    let root = &project.0.clone();
    let files = [
        (
            "Cargo.toml",
            "[package]\nname = \"ledger\"\nversion = \"0.1.0\"\nedition = \"2021\"\n".to_string(),
        ),
        ("src/main.rs", program(20_000_000)),
        (".gitignore", "/target\n".into()),
        ("README.md", "# ledger\n".into()),
    ];
    for (path, text) in &files {
        std::fs::create_dir_all(root.join(path).parent().unwrap()).unwrap();
        std::fs::write(root.join(path), text).unwrap();
    }
    // As tests/adopt.rs does: the xtask's dependencies at the versions this
    // workspace already built.
    std::fs::copy(
        common::workspace().join("Cargo.lock"),
        root.join("Cargo.lock"),
    )
    .unwrap();
    git(root, &["init", "-q", "-b", "main"]);

    // No profiling.toml yet: both files are written.
    let xtask = Path::new(env!("CARGO_BIN_EXE_xtask-e2e"));
    let config = root.join("profiling.toml").display().to_string();
    let init = |extra: &[&str]| {
        let mut args = vec!["--config", config.as_str(), "init", "--ci", "github"];
        args.extend(extra);
        let output = bounded(120, xtask, &args)
            .current_dir(root)
            .output()
            .unwrap();
        (output.status.code(), common::text(&output))
    };
    let (code, out) = init(&[]);
    assert_eq!(code, Some(0), "{out}");
    let workflow_path = root.join(".github/workflows/profiling.yml");
    assert!(
        out.contains("wrote") && out.contains("profiling.yml"),
        "{out}"
    );
    assert!(std::fs::read_to_string(&config)
        .unwrap()
        .contains("cargo_bin = \"ledger\""));
    let written = std::fs::read_to_string(&workflow_path).unwrap();
    // Never replaced without --force.
    std::fs::write(&workflow_path, "# mine\n").unwrap();
    let (code, out) = init(&[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("--force"), "{out}");
    assert_eq!(std::fs::read_to_string(&workflow_path).unwrap(), "# mine\n");

    // Adopted, the project's own `cargo xtask` writes it again (--force),
    // and keeps the profiling.toml there is.
    let output = {
        let _turn = SHARED_TARGET.lock().unwrap_or_else(|p| p.into_inner());
        bounded(1200, xtask, &["adopt", &root.display().to_string()])
            .current_dir(root)
            .env("CI", "1")
            .output()
            .unwrap()
    };
    assert!(output.status.success(), "{}", common::text(&output));
    let kept = std::fs::read_to_string(&config).unwrap();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let output = {
        let _turn = SHARED_TARGET.lock().unwrap_or_else(|p| p.into_inner());
        bounded(
            600,
            Path::new(&cargo),
            &["xtask", "init", "--ci", "github", "--force"],
        )
        .current_dir(root)
        .output()
        .unwrap()
    };
    assert!(output.status.success(), "{}", common::text(&output));
    assert_eq!(std::fs::read_to_string(&workflow_path).unwrap(), written);
    assert_eq!(std::fs::read_to_string(&config).unwrap(), kept);

    let workflow = parse_workflow(&workflow_path);
    let job = check_shape(&workflow);

    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "Profile pull requests"]);
    let fast = git(root, &["rev-parse", "HEAD"]);
    std::fs::write(root.join("src/main.rs"), program(40_000_000)).unwrap();
    git(root, &["commit", "-q", "-am", "Go round twice as often"]);
    let slower = git(root, &["rev-parse", "HEAD"]);
    std::fs::write(root.join("README.md"), "# ledger\n\nNow documented.\n").unwrap();
    git(root, &["commit", "-q", "-am", "Document"]);
    let documented = git(root, &["rev-parse", "HEAD"]);

    // Each run in a fresh clone, as a runner checks out; at the path the
    // project was adopted at, so that cargo's fingerprints of the xtask's
    // dependencies stay valid and only the xtask's own crates compile again.
    let origin = TempDir::new("origin");
    std::fs::remove_dir(&origin.0).unwrap();
    std::fs::rename(root, &origin.0).unwrap();
    let clone = root.clone();
    let checkout = |head: &str| {
        let _ = std::fs::remove_dir_all(&clone);
        git(
            &std::env::temp_dir(),
            &[
                "clone",
                "-q",
                &origin.0.display().to_string(),
                &clone.display().to_string(),
            ],
        );
        git(&clone, &["checkout", "-q", "--detach", head]);
    };

    let scratch = TempDir::new("runner");
    checkout(&slower);
    let run = run_job(job, &clone, &fast, &slower, &scratch.0);
    assert_eq!(run.status("Compare"), Some(3), "{:?}", run.steps);
    assert!(run.failed());
    assert_eq!(
        run.status("results page"),
        Some(0),
        "always() runs after a failure"
    );
    assert!(
        run.summary
            .contains("| measure | A | B | change | 95 % CI | p | verdict |"),
        "{}",
        run.summary
    );
    assert!(
        run.summary
            .lines()
            .any(|l| l.starts_with("| instructions |") && l.contains("**regressed** (beyond 1 %)")),
        "{}",
        run.summary
    );
    check_uploaded(job, &clone);

    checkout(&documented);
    let run = run_job(job, &clone, &slower, &documented, &scratch.0);
    assert_eq!(run.status("Compare"), Some(0), "{:?}", run.steps);
    assert!(!run.failed(), "{:?}", run.steps);
    assert!(
        run.summary
            .lines()
            // The same commit: a few thousand instructions apart at most
            // (the checkouts' paths differ), which reads ±0.0 %, no change.
            .any(|l| l.starts_with("| instructions |")
                && (l.contains("| +0.0 % |") || l.contains("| -0.0 % |"))
                && l.ends_with("| no_change |")),
        "{}",
        run.summary
    );
    check_uploaded(job, &clone);
}
