//! criterion's own numbers for real: a bench workload's result holds one
//! measure per benchmark id with one estimate per analysed invocation (each
//! run one invocation), only of the benchmarks this run measured;
//! profile-compare compares them, refuses to take an older result's
//! criterion samples for runs, and compares two benchmarks within a result.

use crate::common;

use common::{text, Sandbox};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

// Short measurement times keep each invocation around a second.
const BENCHES: &str = r#"
[workloads.quick]
bench = "generate"
package = "demo"
profile_time = 0.3
filter = "generate"

[workloads.one]
bench = "generate"
package = "demo"
profile_time = 0.3
filter = "generate_200_subs_slowdown"

[workloads.profiled]
bench = "generate"
package = "demo"
profile_time = 1
filter = "generate"
"#;

const IDS: [&str; 2] = [
    "criterion/generate_200_subs",
    "criterion/generate_200_subs_slowdown",
];

fn baseline(sandbox: &Sandbox, workload: &str, label: &str, runs: &str) {
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        workload,
        "--label",
        label,
        "--no-profile",
        "--no-counters",
        "--runs",
        runs,
        "--warmup",
        "0",
    ]);
    assert!(output.status.success(), "{}", text(&output));
}

#[test]
fn each_run_of_a_bench_is_one_invocation_and_gives_one_estimate() {
    let sandbox = Sandbox::new("criterion", BENCHES);
    baseline(&sandbox, "quick", "a", "3");
    // After runs of both benchmarks, a filter for one: only its measure.
    baseline(&sandbox, "one", "c", "2");
    let results = sandbox.results();
    assert_eq!(results.len(), 2);
    let run = read_json(&results[0].join("run.json"));
    let scale = &run["scales"][0];
    let criterion = &scale["criterion"];
    assert_eq!(criterion["samples"], "invocations", "{scale}");
    assert_eq!(criterion["estimate"], "median");
    assert_eq!(criterion["measurement_s"], 0.3);
    for id in IDS {
        let m = &scale["summaries"][id];
        assert_eq!(m["unit"], "s", "{id}: {scale}");
        let samples = m["samples"].as_array().unwrap();
        assert_eq!(samples.len(), 3, "one estimate per run: {id}");
        let intervals = criterion["intervals"][id.trim_start_matches("criterion/")]
            .as_array()
            .unwrap();
        for (i, sample) in samples.iter().enumerate() {
            // The demo's 200 subscribers take milliseconds per iteration.
            let estimate = sample.as_f64().unwrap();
            assert!((1e-4..0.5).contains(&estimate), "{id}: {estimate}");
            // Each run carries its invocation's estimate, within criterion's
            // own interval of that invocation.
            assert_eq!(scale["runs"][i]["metrics"][id], *sample, "{id}");
            let interval = &intervals[i];
            assert_eq!(interval["estimate_s"], *sample);
            let (low, high) = (
                interval["low_s"].as_f64().unwrap(),
                interval["high_s"].as_f64().unwrap(),
            );
            assert!(low <= estimate && estimate <= high, "{interval}");
        }
    }
    let metrics = scale["runs"][0]["metrics"].as_object().unwrap();
    assert_eq!(
        metrics.len(),
        2,
        "only the estimates stay in a run: {metrics:?}"
    );
    let only = read_json(&results[1].join("run.json"));
    let names: Vec<&String> = only["scales"][0]["summaries"]
        .as_object()
        .unwrap()
        .keys()
        .filter(|k| k.starts_with("criterion/"))
        .collect();
    assert_eq!(names, ["criterion/generate_200_subs_slowdown"]);
}

/// What profile-compare says of two bench results: the estimates compared,
/// unless a side is an older result whose samples are criterion's own of a
/// single invocation; and two benchmarks of one result, B over A.
#[test]
fn profile_compare_compares_invocations_and_benchmarks_within_a_result() {
    let sandbox = Sandbox::new("criterion-compare", BENCHES);
    baseline(&sandbox, "quick", "a", "3");
    baseline(&sandbox, "quick", "b", "3");
    let compare = |args: &[&str]| {
        let mut all = vec!["profile-compare"];
        all.extend(args);
        let output = sandbox.xtask(&all);
        assert!(output.status.success(), "{}", text(&output));
        output
    };
    let json = |output: std::process::Output| -> serde_json::Value {
        serde_json::from_slice(&output.stdout).unwrap()
    };
    let report = json(compare(&["a", "b", "--format", "json"]));
    let measures = report["scales"][0]["measures"].as_array().unwrap();
    for id in IDS {
        let m = measures
            .iter()
            .find(|m| m["name"] == id)
            .unwrap_or_else(|| panic!("{id} not compared: {measures:?}"));
        assert_eq!(m["category"], "time", "{m}");
        assert_eq!(m["a"]["n"], 3, "{m}");
    }

    // An older result: no marker, criterion's samples of one invocation.
    let results = sandbox.results();
    let old = results[0].parent().unwrap().join("20200101-000000-old");
    std::fs::create_dir_all(&old).unwrap();
    let mut record = read_json(&results[0].join("run.json"));
    record["label"] = "old".into();
    let scale = record["scales"][0].as_object_mut().unwrap();
    scale.remove("criterion");
    std::fs::write(
        old.join("run.json"),
        serde_json::to_string(&record).unwrap(),
    )
    .unwrap();
    let report = json(compare(&["20200101-000000-old", "b", "--format", "json"]));
    let scale = &report["scales"][0];
    let names: Vec<&str> = scale["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    assert!(
        !names.iter().any(|n| n.starts_with("criterion/")),
        "{names:?}"
    );
    assert!(names.contains(&"wall_s"), "{names:?}");
    let notes = scale["notes"].to_string();
    assert!(
        notes.contains("A holds criterion's samples of a single invocation"),
        "{notes}"
    );

    // Two benchmarks of one result: paired, invocation by invocation.
    let ratio = json(compare(&[
        "a#generate_200_subs",
        "a#criterion/generate_200_subs_slowdown",
        "--format",
        "json",
    ]));
    assert_eq!(ratio["paired"], true, "{ratio}");
    assert_eq!(
        ratio["a"]["estimates_s"],
        read_json(&results[0].join("run.json"))["scales"][0]["summaries"][IDS[0]]["samples"]
    );
    // Three pairs: the interval is the range of the per-invocation ratios
    // (whichever way a busy machine tips them), at 1 − 2/8.
    let estimates = |side: &str| -> Vec<f64> {
        let values = ratio[side]["estimates_s"].as_array().unwrap();
        values.iter().map(|v| v.as_f64().unwrap()).collect()
    };
    let ratios: Vec<f64> = estimates("a")
        .iter()
        .zip(estimates("b"))
        .map(|(a, b)| b / a - 1.0)
        .collect();
    let (low, high) = (
        ratio["ci_low"].as_f64().unwrap(),
        ratio["ci_high"].as_f64().unwrap(),
    );
    let close = |x: f64, y: f64| (x - y).abs() < 1e-9;
    assert!(
        close(low, ratios.iter().copied().fold(f64::MAX, f64::min)),
        "{ratio}"
    );
    assert!(
        close(high, ratios.iter().copied().fold(f64::MIN, f64::max)),
        "{ratio}"
    );
    let change = ratio["change"].as_f64().unwrap();
    assert!(low <= change && change <= high, "{ratio}");
    assert_eq!(ratio["confidence"], 0.75);
    // Across two results: unpaired.
    let text_out = text(&compare(&[
        "a#generate_200_subs",
        "b#generate_200_subs_slowdown",
    ]));
    assert!(
        text_out.contains("generate_200_subs_slowdown vs generate_200_subs: "),
        "{text_out}"
    );
    assert!(text_out.contains("Unpaired"), "{text_out}");
    let markdown = text(&compare(&[
        "a#generate_200_subs",
        "a#generate_200_subs_slowdown",
        "--format",
        "markdown",
    ]));
    assert!(
        markdown.contains("| A | `generate_200_subs` |"),
        "{markdown}"
    );

    // A benchmark the result lacks: the ones it has are listed.
    let output = sandbox.xtask(&[
        "profile-compare",
        "a#generate_2000_subs",
        "a#generate_200_subs",
    ]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("has no benchmark `generate_2000_subs`; it has: generate_200_subs, generate_200_subs_slowdown"),
        "{}",
        text(&output)
    );
    let output = sandbox.xtask(&["profile-compare", "a#generate_200_subs", "b"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
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
    let output = sandbox.xtask(&["flamegraph", "--workload", "profiled"]);
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
    // The viewer offers the result's profile and each benchmark's.
    let viewer = std::fs::read_to_string(dir.join("viewer.html")).unwrap();
    for id in ["generate_200_subs", "generate_200_subs_slowdown"] {
        let label = format!("\"bench/{id} \u{b7} CPU\"");
        assert!(viewer.contains(&label), "{label} in viewer.html");
    }
    // In a browser, offline: a benchmark's profile names the demo's code.
    let Some(chromium) = crate::viewer::chromium() else {
        eprintln!("note: chromium is not installed; skipping the browser check of viewer.html");
        return;
    };
    let script = r#"
const names = (sel) => [...document.querySelectorAll(sel)].map(e => e.textContent);
const select = document.getElementById('profile');
const index = [...select.options].findIndex(o => o.textContent.startsWith('bench/generate_200_subs '));
select.value = String(index);
select.dispatchEvent(new Event('change'));
document.body.setAttribute('data-probe', JSON.stringify({
  index, flame: names('#flame .frame'), summary: document.getElementById('summary').textContent,
}));
"#;
    let page = dir.join("viewer.html");
    let seen = crate::viewer::probe(&chromium, &dir.join("chromium-profile"), &page, script);
    assert!(seen["index"].as_i64().unwrap() >= 0, "{seen}");
    let flame = crate::viewer::strings(&seen["flame"]);
    assert!(
        flame.iter().any(|n| n.starts_with("cdr_demo::")),
        "the benchmark's profile names the demo's functions: {seen}"
    );
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
        "2",
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
    // Each side's runs were invocations, interleaved: one estimate each.
    for dir in sandbox.results() {
        let run = read_json(&dir.join("run.json"));
        let scale = &run["scales"][0];
        assert_eq!(scale["criterion"]["samples"], "invocations", "{scale}");
        assert_eq!(scale["pairing"]["order"], "interleaved");
        let samples = &scale["summaries"]["criterion/generate_200_subs_slowdown"]["samples"];
        assert_eq!(samples.as_array().unwrap().len(), 2, "{scale}");
    }
}
