//! The machine's load recorded per timed run, for real: baselines taken on
//! a quiet machine and beside CPU hogs started by the test, each run's
//! `machine` in run.json, the heavy-contention mark and the README's note,
//! and the comparison's warning about runs taken under different
//! contention.

use crate::common;

use common::{text, Sandbox};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Busy loops, one shell each, stopped and reaped when dropped (a failed
/// assertion included).
struct Hogs(Vec<Child>);

impl Hogs {
    fn start(count: usize) -> Hogs {
        Hogs(
            (0..count)
                .map(|_| {
                    Command::new("sh")
                        .args(["-c", "while :; do :; done"])
                        .stdin(Stdio::null())
                        .spawn()
                        .unwrap()
                })
                .collect(),
        )
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// The `machine` of every measured run of a result's first scale.
fn machines(result: &std::path::Path) -> Vec<serde_json::Value> {
    let run = read_json(&result.join("run.json"));
    run["scales"][0]["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["machine"].clone())
        .collect()
}

#[test]
fn runs_beside_cpu_hogs_are_marked_and_the_comparison_warns() {
    // Nothing else timed may run meanwhile: the hogs would slow it.
    let _lock = crate::compare::TIMING
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    let sandbox = Sandbox::new("contention", "");
    let baseline = |label: &str| {
        let output = sandbox.xtask(&[
            "profile-baseline",
            "--label",
            label,
            "--no-profile",
            "--no-counters",
            "--subs",
            "10000",
            "--workers",
            "0",
            "--runs",
            "5",
            "--warmup",
            "0",
        ]);
        assert!(output.status.success(), "{}", text(&output));
        sandbox
            .results()
            .into_iter()
            .find(|d| d.to_string_lossy().ends_with(label))
            .unwrap_or_else(|| panic!("no result labelled {label}"))
    };
    let median = |runs: &[serde_json::Value]| {
        let mut shares: Vec<f64> = runs
            .iter()
            .map(|m| m["others_cpu_share"].as_f64().unwrap())
            .collect();
        shares.sort_by(f64::total_cmp);
        shares[shares.len() / 2]
    };

    // A shared machine may be busy with other programs: wait for a calmer
    // moment, a few times, before taking the quiet side.
    let mut quiet = baseline("quiet0");
    for attempt in 1..4 {
        if median(&machines(&quiet)) < 0.4 {
            break;
        }
        std::thread::sleep(Duration::from_secs(3));
        quiet = baseline(&format!("quiet{attempt}"));
    }
    let quiet_runs = machines(&quiet);
    assert_eq!(quiet_runs.len(), 5);
    for machine in &quiet_runs {
        for key in ["others_cpu_share", "steal_share"] {
            let share = machine[key]
                .as_f64()
                .unwrap_or_else(|| panic!("{key}: {machine}"));
            assert!((0.0..=1.0).contains(&share), "{machine}");
        }
        assert!(machine["loadavg_1m"].as_f64().unwrap() >= 0.0, "{machine}");
        let heavy = machine["others_cpu_share"].as_f64().unwrap()
            + machine["steal_share"].as_f64().unwrap()
            >= 0.5;
        assert_eq!(machine["heavy_contention"], heavy, "{machine}");
    }
    let readme = std::fs::read_to_string(quiet.join("README.md")).unwrap();
    assert!(
        readme.contains("The machine during the runs: other programs took a median"),
        "{readme}"
    );

    // Two busy loops per core: with the one-threaded demo beside them, they
    // take about four fifths of the machine.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let busy = {
        let _hogs = Hogs::start(2 * cores);
        std::thread::sleep(Duration::from_millis(300));
        baseline("busy")
    };
    let busy_runs = machines(&busy);
    for machine in &busy_runs {
        assert!(
            machine["others_cpu_share"].as_f64().unwrap() >= 0.5,
            "a run beside {} hogs: {machine}",
            2 * cores
        );
        assert_eq!(machine["heavy_contention"], true, "{machine}");
    }
    let readme = std::fs::read_to_string(busy.join("README.md")).unwrap();
    assert!(
        readme.contains("**5 of 5 runs ran under heavy contention**"),
        "{readme}"
    );

    let output = sandbox.xtask(&[
        "profile-compare",
        &quiet.display().to_string(),
        &busy.display().to_string(),
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let (quiet_share, busy_share) = (median(&quiet_runs), median(&busy_runs));
    let expected = format!(
        "different contention: other programs took a median {:.0} % of the machine's CPU \
         during A's runs and {:.0} % during B's",
        quiet_share * 100.0,
        busy_share * 100.0
    );
    // The rule: a warning when the medians are more than 0.25 of the
    // machine apart. Where other programs kept the machine busy even
    // without the hogs they may not be, and then no warning may appear.
    if busy_share - quiet_share > 0.25 {
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with(&expected) && w.contains("5 of 5 of B")),
            "{expected:?} not in {warnings:#?}"
        );
    } else {
        eprintln!(
            "the machine was busy without the hogs: others took a median {quiet_share} \
             against {busy_share} beside them, too close for a warning"
        );
        assert!(
            !warnings
                .iter()
                .any(|w| w.starts_with("different contention")),
            "{warnings:#?}"
        );
    }
}
