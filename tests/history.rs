//! `history push` and `history pull` against real bare git repositories:
//! machines pushing at once all arrive, what arrives is redacted, a third
//! machine pulls and follows each class of machine in trends, and a history
//! that was tampered with is escaped in the page or refused whole.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// A bare remote and the machines that share it, in a temp directory
/// removed on drop.
struct Remote {
    base: PathBuf,
    bare: PathBuf,
}

impl Remote {
    fn new(name: &str) -> Remote {
        let base =
            std::env::temp_dir().join(format!("xtask-e2e-history-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let bare = base.join("remote.git");
        git(
            &base,
            &["init", "--quiet", "--bare", bare.to_str().unwrap()],
        );
        Remote { base, bare }
    }

    /// A project checked out from the remote: a git repository with
    /// `origin`, a Cargo.toml (so that it is the config's root) and a
    /// profiling.toml whose results lie in its `results/`.
    fn machine(&self, name: &str) -> PathBuf {
        let dir = self.base.join(name);
        std::fs::create_dir_all(dir.join("results")).unwrap();
        git(&dir, &["init", "--quiet"]);
        git(
            &dir,
            &["remote", "add", "origin", self.bare.to_str().unwrap()],
        );
        std::fs::write(dir.join("Cargo.toml"), "# a project\n").unwrap();
        std::fs::write(
            dir.join("profiling.toml"),
            "[defaults]\nresults_dir = \"results\"\n\n[workloads.demo]\ncommand = \"true\"\n",
        )
        .unwrap();
        dir
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.base);
    }
}

fn git(dir: &Path, args: &[&str]) -> String {
    let output = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@t")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@t")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        crate::common::text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// The xtask in `project`, with `home` as $HOME, not yet waited for.
fn xtask(project: &Path, home: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"));
    command
        .arg("--config")
        .arg(project.join("profiling.toml"))
        .args(args)
        .current_dir(project)
        .env("HOME", home)
        .env("CI", "1")
        .env("NO_COLOR", "1")
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

/// Waits for `child` at most `limit`, killing it past that.
fn finish(mut child: std::process::Child, limit: Duration) -> Output {
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the xtask did not finish within {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Runs the xtask to success; all it printed (`common::text`) and its stdout.
fn run(project: &Path, home: &Path, args: &[&str]) -> (String, String) {
    let output = finish(
        xtask(project, home, args).spawn().unwrap(),
        Duration::from_secs(120),
    );
    let out = crate::common::text(&output);
    assert!(output.status.success(), "{args:?}: {out}");
    (out, String::from_utf8(output.stdout).unwrap())
}

fn run_ok(project: &Path, home: &Path, args: &[&str]) -> String {
    run(project, home, args).0
}

/// A result as the xtask writes it, with this machine's identity in its
/// paths and environment, made up rather than measured: the history moves
/// files, and the timings are beside the point.
fn write_result(project: &Path, home: &Path, name: &str, day: u32, wall: f64, cores: u32) {
    let dir = project.join("results").join(name);
    std::fs::create_dir_all(&dir).unwrap();
    let user = whoami();
    let summary = |v: f64| {
        serde_json::json!({"unit": "s", "better": "lower", "samples": [v, v],
            "summary": {"n": 2, "mean": v, "median": v, "stddev": 0.0, "min": v, "max": v, "cv": 0.0}})
    };
    let run = serde_json::json!({
        "schema_version": 2,
        "task": "profile-baseline",
        "label": "baseline",
        "created": format!("2026-01-{day:02}T00:00:00Z"),
        "workload": "demo",
        "build_profile": "profiling",
        "git": {"commit": null, "dirty": false, "branch": format!("{user}/feature")},
        "machine": {"cpu_model": "Test Chip 9", "arch": "x86_64", "cores": cores, "memory_gib": 8},
        "scales": [{
            "scale": "default",
            "params": {},
            "argv": [format!("{}/target/profiling/demo", project.display()), format!("--user={user}")],
            "env": {"API_TOKEN": "s3cret-e2e-token"},
            "cwd": format!("{}/work", home.display()),
            "warmup": 0,
            "runs": [],
            "summaries": {"wall_s": summary(wall)}
        }]
    });
    std::fs::write(
        dir.join("run.json"),
        serde_json::to_vec_pretty(&run).unwrap(),
    )
    .unwrap();
    let system = serde_json::json!({
        "schema_version": 1, "hostname": hostname(), "os": "Test OS", "kernel": "Linux 6",
        "arch": "x86_64", "cpu_model": "Test Chip 9", "cores": cores, "memory_bytes": 8u64 << 30,
        "rustc": "rustc", "perf_event_paranoid": 2, "tools": {}
    });
    std::fs::write(dir.join("system_info.json"), system.to_string()).unwrap();
    std::fs::write(
        dir.join("top-functions.txt"),
        format!("50.0 %  demo::main  {}/src/main.rs:1\n", project.display()),
    )
    .unwrap();
    // What the history leaves on the machine.
    std::fs::write(dir.join("perf.data"), "raw").unwrap();
    std::fs::write(dir.join("flamegraph.svg"), "<svg/>").unwrap();
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .unwrap()
        .trim()
        .to_string()
}

fn whoami() -> String {
    let output = Command::new("id").arg("-un").output().unwrap();
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Every file of the remote's history: path and contents.
fn pushed_files(bare: &Path) -> Vec<(String, String)> {
    git(
        bare,
        &["ls-tree", "-r", "--name-only", "refs/profiling/history"],
    )
    .lines()
    .map(|path| {
        let contents = git(
            bare,
            &[
                "cat-file",
                "blob",
                &format!("refs/profiling/history:{path}"),
            ],
        );
        (path.to_string(), contents)
    })
    .collect()
}

/// Two machines push four results each at the same moment, through a remote
/// slow enough that their pushes meet: every result arrives, redacted, and
/// without raw captures. A third machine pulls them, and trends follows
/// each class of machine apart.
#[test]
fn concurrent_pushes_all_arrive_and_a_third_machine_follows_both() {
    let remote = Remote::new("concurrent");
    // A remote that takes a second to accept a push: both pushers fetch
    // the same tip and the second one's update of the ref fails.
    let hook = remote.bare.join("hooks/pre-receive");
    std::fs::write(&hook, "#!/bin/sh\nsleep 1\n").unwrap();
    std::fs::set_permissions(&hook, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let home = remote.base.join("home-of-e2e-user");
    std::fs::create_dir_all(&home).unwrap();
    let (a, b, c) = (
        remote.machine("ci-a"),
        remote.machine("ci-b"),
        remote.machine("laptop"),
    );
    for i in 0..4 {
        write_result(
            &a,
            &home,
            &format!("2026010{}-000000-aaaaa{i}-baseline", i + 1),
            i + 1,
            1.0,
            2,
        );
        write_result(
            &b,
            &home,
            &format!("2026010{}-000000-bbbbb{i}-baseline", i + 1),
            i + 1,
            2.0,
            4,
        );
    }
    let pushes: Vec<_> = [&a, &b]
        .iter()
        .map(|m| xtask(m, &home, &["history", "push"]).spawn().unwrap())
        .collect();
    let outputs: Vec<String> = pushes
        .into_iter()
        .map(|child| {
            let output = finish(child, Duration::from_secs(120));
            let out = crate::common::text(&output);
            assert!(output.status.success(), "{out}");
            out
        })
        .collect();
    assert!(
        outputs.iter().any(|o| o.contains("merging again")),
        "the pushes met, and one merged again: {outputs:?}"
    );
    assert!(
        outputs.iter().all(|o| o.contains("4 results pushed")),
        "{outputs:?}"
    );

    let files = pushed_files(&remote.bare);
    let results: std::collections::BTreeSet<&str> = files
        .iter()
        .map(|(p, _)| p.split('/').next().unwrap())
        .collect();
    assert_eq!(results.len(), 8, "{results:?}");
    for (path, contents) in &files {
        assert!(
            ["run.json", "system_info.json", "top-functions.txt"]
                .iter()
                .any(|f| path.ends_with(f)),
            "only the numbers are shared: {path}"
        );
        for secret in [
            home.display().to_string(),
            a.display().to_string(),
            hostname(),
            "s3cret-e2e-token".into(),
        ] {
            assert!(
                !contents.contains(&secret),
                "{path} holds {secret}: {contents}"
            );
        }
        let user = whoami();
        if user.len() > 2 {
            assert!(
                !contents.contains(&user),
                "{path} holds the user name {user}: {contents}"
            );
        }
    }
    // Nothing of the user's own: no branch, no commit, no index.
    assert_eq!(
        git(&remote.bare, &["for-each-ref", "--format=%(refname)"]),
        "refs/profiling/history"
    );
    assert_eq!(
        git(&a, &["for-each-ref", "--format=%(refname)", "refs/heads"]),
        ""
    );
    assert!(!a.join(".git/index").exists());

    let again = run_ok(&a, &home, &["history", "push"]);
    assert!(
        again.contains("has all 4 results of this machine already"),
        "{again}"
    );

    let pulled = run_ok(&c, &home, &["history", "pull"]);
    assert!(pulled.contains("8 new results"), "{pulled}");
    let (_, trends) = run(&c, &home, &["trends", "--format", "json"]);
    let json: serde_json::Value = serde_json::from_str(&trends).unwrap();
    let series: Vec<(String, usize, f64)> = json["series"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let medians: Vec<f64> = s["points"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["median"].as_f64().unwrap())
                .collect();
            assert!(
                medians.windows(2).all(|w| w[0] == w[1]),
                "one machine's points only: {s}"
            );
            (
                s["machine"].as_str().unwrap().to_string(),
                medians.len(),
                medians[0],
            )
        })
        .collect();
    assert_eq!(
        series,
        [
            ("Test Chip 9, 2 cores, 8 GiB".to_string(), 4, 1.0),
            ("Test Chip 9, 4 cores, 8 GiB".to_string(), 4, 2.0)
        ]
    );
    let listed = run_ok(&c, &home, &["list"]);
    assert!(
        listed.contains("history/20260101-000000-aaaaa0-baseline"),
        "{listed}"
    );
    assert!(listed.contains("Test Chip 9, 4 cores, 8 GiB"), "{listed}");
    // Pulling again brings nothing new, and cleanup leaves pulled results.
    assert!(run_ok(&c, &home, &["history", "pull"]).contains("0 new results"));
    run_ok(&c, &home, &["cleanup", "--keep", "0"]);
    assert_eq!(
        std::fs::read_dir(c.join("results/history"))
            .unwrap()
            .count(),
        8
    );
}

/// Commits a tree of `(path, contents)` as the remote's history on top of
/// its tip, with plain git: what someone with push access could write.
fn tamper(remote: &Remote, files: &[(&str, &str)], raw_tree: Option<String>) {
    let work = remote.base.join("tamper");
    if !work.exists() {
        std::fs::create_dir_all(&work).unwrap();
        git(&work, &["init", "--quiet"]);
    }
    let _ = git(
        &work,
        &[
            "fetch",
            "--quiet",
            remote.bare.to_str().unwrap(),
            "+refs/profiling/*:refs/profiling/*",
        ],
    );
    let tree = match raw_tree {
        Some(tree) => tree,
        None => {
            for (path, contents) in files {
                let file = work.join(path);
                std::fs::create_dir_all(file.parent().unwrap()).unwrap();
                std::fs::write(&file, contents).unwrap();
                git(&work, &["add", path]);
            }
            git(&work, &["write-tree"])
        }
    };
    let parent = git(
        &work,
        &[
            "for-each-ref",
            "--format=%(objectname)",
            "refs/profiling/history",
        ],
    );
    let mut args = vec!["commit-tree", &tree, "-m", "tampered"];
    if !parent.is_empty() {
        args.extend(["-p", &parent]);
    }
    let commit = git(&work, &args);
    git(
        &work,
        &[
            "push",
            "--quiet",
            "--force",
            remote.bare.to_str().unwrap(),
            &format!("{commit}:refs/profiling/history"),
        ],
    );
}

/// A pulled result with markup in its names is shown as text on the page;
/// a history with a path out of its directory is refused whole.
#[test]
fn a_tampered_history_is_escaped_or_refused() {
    let remote = Remote::new("tampered");
    let home = remote.base.join("home");
    std::fs::create_dir_all(&home).unwrap();
    let source = remote.machine("source");
    write_result(&source, &home, "20260101-000000-sssss0-baseline", 1, 1.0, 2);
    let run =
        std::fs::read_to_string(source.join("results/20260101-000000-sssss0-baseline/run.json"))
            .unwrap()
            .replace(
                "\"workload\": \"demo\"",
                "\"workload\": \"<script>alert(1)</script>\"",
            )
            .replace(
                "\"cpu_model\": \"Test Chip 9\"",
                "\"cpu_model\": \"<script>x</script>\"",
            );
    tamper(
        &remote,
        &[("20260101-000000-sssss0-baseline/run.json", &run)],
        None,
    );

    let reader = remote.machine("reader");
    run_ok(&reader, &home, &["history", "pull"]);
    run_ok(&reader, &home, &["report"]);
    let page = std::fs::read_to_string(reader.join("results/index.html")).unwrap();
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
    assert!(page.contains("&lt;script&gt;x&lt;/script&gt;"), "{page}");
    assert!(!page.contains("<script"), "{page}");

    // A tree holding `../x`: a directory named `..` with a file in it.
    let work = remote.base.join("tamper");
    let blob = {
        std::fs::write(work.join("evil"), "owned").unwrap();
        git(&work, &["hash-object", "-w", "evil"])
    };
    let mktree = |line: String| {
        let mut child = Command::new("git")
            .arg("-C")
            .arg(&work)
            .arg("mktree")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        std::io::Write::write_all(child.stdin.as_mut().unwrap(), line.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        String::from_utf8(output.stdout).unwrap().trim().to_string()
    };
    let inner = mktree(format!("100644 blob {blob}\tx\n"));
    let evil = mktree(format!("040000 tree {inner}\t..\n"));
    tamper(&remote, &[], Some(evil));
    let before = std::fs::read_dir(reader.join("results/history"))
        .unwrap()
        .count();
    let output = finish(
        xtask(&reader, &home, &["history", "pull"]).spawn().unwrap(),
        Duration::from_secs(60),
    );
    let out = crate::common::text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("refusing the history: its entry `../x`"),
        "{out}"
    );
    assert!(out.contains("nothing was written"), "{out}");
    assert_eq!(
        std::fs::read_dir(reader.join("results/history"))
            .unwrap()
            .count(),
        before
    );
    assert!(!reader.join("results/x").exists() && !reader.join("x").exists());
}
