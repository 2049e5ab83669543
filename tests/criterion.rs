//! criterion's own numbers for real: a bench workload's result holds one
//! measure per benchmark id (criterion's samples as the runs), only of the
//! benchmarks this run measured, and profile-compare compares them.

use crate::common;

use common::{text, Sandbox};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const BENCHES: &str = r#"
[workloads.quick]
bench = "generate"
package = "demo"
profile_time = 1
filter = "generate"

[workloads.one]
bench = "generate"
package = "demo"
profile_time = 1
filter = "generate_200_subs_slowdown"
"#;

#[test]
fn a_bench_result_holds_criterion_measures_that_profile_compare_compares() {
    let sandbox = Sandbox::new("criterion", BENCHES);
    let baseline = |workload: &str, label: &str| {
        let output = sandbox.xtask(&[
            "profile-baseline",
            "--workload",
            workload,
            "--label",
            label,
            "--no-profile",
            "--no-counters",
            "--runs",
            "1",
            "--warmup",
            "0",
        ]);
        assert!(output.status.success(), "{}", text(&output));
    };
    baseline("quick", "a");
    baseline("quick", "b");
    // After runs of both benchmarks, a filter for one: only its measure.
    baseline("one", "c");
    let results = sandbox.results();
    assert_eq!(results.len(), 3);
    let ids = [
        "criterion/generate_200_subs",
        "criterion/generate_200_subs_slowdown",
    ];
    let run = read_json(&results[0].join("run.json"));
    let summaries = &run["scales"][0]["summaries"];
    for id in ids {
        let m = &summaries[id];
        assert_eq!(m["unit"], "s", "{id}: {summaries}");
        // criterion's 100 samples, seconds per iteration: the demo's 200
        // subscribers take milliseconds.
        let samples = m["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 100, "{id}");
        let median = m["summary"]["median"].as_f64().unwrap();
        assert!((1e-4..0.5).contains(&median), "{id}: {median}");
    }
    let only = read_json(&results[2].join("run.json"));
    let names: Vec<&String> = only["scales"][0]["summaries"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("criterion/"))
        .collect();
    assert_eq!(names, ["criterion/generate_200_subs_slowdown"]);

    let output = sandbox.xtask(&["profile-compare", "a", "b", "--format", "json"]);
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let measures = report["scales"][0]["measures"].as_array().unwrap();
    for id in ids {
        let m = measures
            .iter()
            .find(|m| m["name"] == id)
            .unwrap_or_else(|| panic!("{id} not compared: {measures:?}"));
        assert_eq!(m["category"], "time", "{m}");
    }
}

/// The share of the samples whose stack passes through `function`.
fn share(folded: &str, function: &str) -> f64 {
    let (mut total, mut with) = (0.0, 0.0);
    for line in folded.lines() {
        let (stack, n) = line.rsplit_once(' ').unwrap();
        let n: f64 = n.parse().unwrap();
        total += n;
        if stack.contains(function) {
            with += n;
        }
    }
    with / total
}

#[test]
fn a_bench_with_two_benchmarks_gets_a_flamegraph_of_each() {
    if !common::has_tool("perf") {
        return;
    }
    let sandbox = Sandbox::new("criterion-flamegraphs", BENCHES);
    let output = sandbox.xtask(&["flamegraph", "--workload", "quick"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    let mut shares = Vec::new();
    for id in ["generate_200_subs", "generate_200_subs_slowdown"] {
        let sub = dir.join("bench").join(id);
        let svg = std::fs::read_to_string(sub.join("flamegraph.svg")).unwrap();
        assert!(svg.contains(id), "the title names the benchmark");
        assert!(
            out.contains(&sub.join("flamegraph.svg").display().to_string()),
            "{out}"
        );
        assert!(
            readme.contains(&format!("(bench/{id}/flamegraph.svg)")),
            "{readme}"
        );
        assert!(!sub.join("perf.data").exists(), "one perf.data per result");
        let folded = std::fs::read_to_string(sub.join("cpu.folded")).unwrap();
        shares.push(share(&folded, "cdr_demo::generate::tariff"));
    }
    // Each profile is of its own benchmark: the slowdown variant's extra
    // tariff rounds show in its flamegraph only.
    assert!(shares[1] > 0.1 && shares[0] < shares[1] / 3.0, "{shares:?}");
}

#[test]
fn sides_of_a_comparison_carry_their_criterion_measures() {
    let sandbox = Sandbox::new("criterion-sides", BENCHES);
    let output = sandbox.xtask(&[
        "profile-compare",
        "--side",
        "workload=quick",
        "--side",
        "workload=one",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--no-profile",
        "--no-counters",
        "--format",
        "json",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let names: Vec<&str> = report["scales"][0]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    // The benchmark both sides ran is compared; the other side has no
    // generate_200_subs, so that one is not.
    assert!(
        names.contains(&"criterion/generate_200_subs_slowdown"),
        "{names:?}"
    );
    assert!(!names.contains(&"criterion/generate_200_subs"), "{names:?}");
}
