//! perf stat around every timed run, for real: software counters recorded
//! per run in run.json, hardware ones absent with one note on a machine
//! without a PMU, the workload's own times and exit status kept, and the
//! counters compared by profile-compare.

use crate::common;

use common::{has_tool, text, Sandbox};
use std::process::Command;

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Whether this machine counts hardware events (it has a PMU perf may use).
fn hardware_counters() -> bool {
    let output = Command::new("perf")
        .args(["stat", "-x,", "-e", "instructions", "true"])
        .output()
        .unwrap();
    !String::from_utf8_lossy(&output.stderr).contains("<not supported>")
}

const SOFTWARE: [&str; 4] = [
    "perf_task_clock_s",
    "perf_context_switches",
    "perf_cpu_migrations",
    "perf_page_faults",
];
const HARDWARE: [&str; 4] = [
    "perf_cycles",
    "perf_instructions",
    "perf_cache_misses",
    "perf_branch_misses",
];

#[test]
fn every_timed_run_is_counted_and_the_counters_are_compared() {
    if !has_tool("perf") {
        return;
    }
    let sandbox = Sandbox::new("counters", "");
    let baseline = |label: &str| {
        let output = sandbox.xtask(&[
            "profile-baseline",
            "--no-profile",
            "--label",
            label,
            "--subs",
            "3000",
            "--runs",
            "3",
            "--warmup",
            "0",
        ]);
        assert!(output.status.success(), "{}", text(&output));
        text(&output)
    };
    let out = baseline("before");
    let dir = &sandbox.results()[0];
    let run = read_json(&dir.join("run.json"));
    let scale = &run["scales"][0];
    let hardware = hardware_counters();
    for sample in scale["runs"].as_array().unwrap() {
        let counters = &sample["counters"];
        let task_clock = counters["perf_task_clock_s"].as_f64().unwrap();
        let cpu = sample["user_s"].as_f64().unwrap() + sample["sys_s"].as_f64().unwrap();
        // The workload's own CPU time (from the shim's wait4) and perf's
        // task-clock of the same run agree within the shim's millisecond and
        // the kernel's tick accounting.
        assert!(
            task_clock > 0.0 && (task_clock - cpu).abs() < 0.02 + 0.1 * cpu,
            "task-clock {task_clock} s vs CPU time {cpu} s"
        );
        assert!(
            counters["perf_page_faults"].as_f64().unwrap() > 50.0,
            "{counters}"
        );
        assert!(
            counters["perf_context_switches"].as_f64().is_some(),
            "{counters}"
        );
        assert!(
            counters["perf_cpu_migrations"].as_f64().is_some(),
            "{counters}"
        );
        for name in HARDWARE {
            assert_eq!(counters.get(name).is_some(), hardware, "{name}: {counters}");
        }
        // The demo's peak RSS, not perf's own (about 13 MB).
        let rss = sample["max_rss_bytes"].as_u64().unwrap();
        assert!(
            rss < 10_000_000,
            "max RSS {rss} is perf's, not the workload's"
        );
        assert_eq!(sample["exit_code"], 0);
    }
    for name in SOFTWARE {
        assert_eq!(scale["summaries"][name]["summary"]["n"], 3, "{name}");
    }
    let note = "perf cannot count cycles, instructions, cache-misses, branch-misses";
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    if hardware {
        assert!(!out.contains(note), "{out}");
    } else {
        assert_eq!(out.matches(note).count(), 1, "one note:\n{out}");
        assert!(readme.contains(note), "{readme}");
    }

    baseline("after");
    let output = sandbox.xtask(&["profile-compare", "before", "after", "--format", "json"]);
    assert!(output.status.success(), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let measures: Vec<&str> = report["scales"][0]["measures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    for name in SOFTWARE {
        assert!(
            measures.contains(&name),
            "{name} not compared: {measures:?}"
        );
    }
}

#[test]
fn a_counted_workload_keeps_its_exit_status_and_signal() {
    if !has_tool("perf") {
        return;
    }
    let sandbox = Sandbox::new(
        "counted-failures",
        r#"
[workloads.exits]
command = "/bin/sh"
args = ["-c", "echo partial output; exit 3"]

[workloads.crashes]
command = "/bin/sh"
args = ["-c", "kill -SEGV $$"]
"#,
    );
    let run = |workload: &str| {
        sandbox.xtask(&[
            "profile-baseline",
            "--no-profile",
            "--workload",
            workload,
            "--runs",
            "1",
            "--warmup",
            "0",
        ])
    };
    let output = run("exits");
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("the workload failed: exit status 3"), "{out}");
    assert!(out.contains("partial output"), "{out}");
    // perf stat itself exits 0 when its child is killed by a signal.
    let output = run("crashes");
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("the workload failed: killed by signal 11"),
        "{out}"
    );
    assert!(sandbox.results().is_empty(), "{:?}", sandbox.entries());
}

#[test]
fn no_counters_records_none() {
    let sandbox = Sandbox::new("no-counters", "");
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--no-profile",
        "--no-counters",
        "--subs",
        "1000",
        "--runs",
        "1",
        "--warmup",
        "0",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let run = read_json(&sandbox.results()[0].join("run.json"));
    let scale = &run["scales"][0];
    assert!(scale["runs"][0].get("counters").is_none(), "{scale}");
    assert!(scale["summaries"].get("perf_task_clock_s").is_none());
}

#[test]
fn events_get_a_flamegraph_each_and_hardware_ones_one_note_without_a_pmu() {
    if !has_tool("perf") {
        return;
    }
    let shipped = std::fs::read_to_string(common::workspace().join("profiling.toml")).unwrap();
    let config = shipped.replace(
        "results_dir = \"results\"",
        "results_dir = \"{results}\"\nevents = [\"page-faults\", \"cycles\", \"cache-misses\"]",
    );
    let sandbox = Sandbox::raw("events", &config);
    let output = sandbox.xtask(&["flamegraph", "--subs", "3000"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let faults = dir.join("events/page-faults/flamegraph.svg");
    assert!(faults.is_file(), "{out}");
    assert!(std::fs::read_to_string(&faults)
        .unwrap()
        .contains("page-faults"));
    let folded = std::fs::read_to_string(dir.join("events/page-faults/cpu.folded")).unwrap();
    assert!(!folded.is_empty(), "page faults were sampled");
    let hardware = hardware_counters();
    assert_eq!(dir.join("events/cycles").exists(), hardware, "{out}");
    let note = "perf cannot count cycles, cache-misses on this machine";
    assert_eq!(out.matches(note).count(), usize::from(!hardware), "{out}");
}

/// The cycles of a callgrind output's `totals:` line, weighed as
/// docs/verdicts.md says, computed here apart from the xtask's parser.
fn cycles_by_hand(callgrind_out: &str) -> f64 {
    let line = |prefix: &str| -> Vec<String> {
        callgrind_out
            .lines()
            .find_map(|l| l.strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix} line"))
            .split_whitespace()
            .map(String::from)
            .collect()
    };
    let events = line("events:");
    let totals = line("totals:");
    let count = |event: &str| -> f64 {
        let i = events.iter().position(|e| e == event).unwrap();
        totals[i].parse().unwrap()
    };
    let accesses = count("Ir") + count("Dr") + count("Dw");
    let l1_misses = count("I1mr") + count("D1mr") + count("D1mw");
    let ll_misses = count("ILmr") + count("DLmr") + count("DLmw");
    (accesses - l1_misses) + 5.0 * (l1_misses - ll_misses) + 35.0 * ll_misses
}

/// `--counter instructions` gives estimated cycles beside the instruction
/// count: from callgrind's cache simulation with the pinned geometry,
/// exact, gated with the `instructions` limit, and catching twice the work.
#[test]
fn counted_runs_estimate_cycles_from_the_simulated_caches() {
    if !has_tool("valgrind") {
        return;
    }
    let sandbox = Sandbox::new("counters-cycles", "");
    let output = sandbox.xtask(&[
        "profile-compare",
        "--side",
        "subs=200",
        "--side",
        "subs=400",
        "--counter",
        "instructions",
        "--runs",
        "0",
        "--warmup",
        "0",
        "--no-profile",
        "--workers",
        "0",
        "--format",
        "json",
        "--fail-on-regression",
    ]);
    assert_eq!(output.status.code(), Some(3), "{}", text(&output));
    let report: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let measures = report["scales"][0]["measures"].as_array().unwrap();
    let names: Vec<&str> = measures
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    let position = |name: &str| names.iter().position(|n| *n == name);
    assert!(
        position("instructions") < position("estimated_cycles")
            && position("instructions").is_some(),
        "{names:?}"
    );
    let cycles = &measures[position("estimated_cycles").unwrap()];
    assert_eq!(cycles["method"], "exact", "{cycles:#}");
    assert_eq!(cycles["unit"], "cycles");
    assert_eq!(cycles["category"], "instructions");
    assert_eq!(cycles["limit_pct"], 1.0);
    assert_eq!(cycles["verdict"], "regressed", "{cycles:#}");
    assert!(cycles["gate_failed"].as_bool().unwrap(), "{cycles:#}");
    let failed: Vec<&str> = report["gate"]["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["measure"].as_str().unwrap())
        .collect();
    assert!(failed.contains(&"estimated_cycles"), "{failed:?}");

    // Each side's figure is the formula over its own callgrind.out, and
    // at least one cycle per instruction.
    for side in ["a", "b"] {
        let dir = sandbox
            .results()
            .into_iter()
            .find(|d| {
                let run = read_json(&d.join("run.json"));
                let subs = if side == "a" { "200" } else { "400" };
                run["scales"][0]["params"]["subs"] == subs
            })
            .unwrap_or_else(|| panic!("no result of side {side}"));
        let callgrind_out = std::fs::read_to_string(dir.join("callgrind.out")).unwrap();
        assert!(
            callgrind_out.contains("desc: LL cache: 8388608 B, 64 B, 16-way associative"),
            "the pinned geometry"
        );
        let run = read_json(&dir.join("run.json"));
        let summaries = &run["scales"][0]["summaries"];
        let stored = summaries["estimated_cycles"]["samples"][0]
            .as_f64()
            .unwrap();
        assert_eq!(stored, cycles_by_hand(&callgrind_out), "side {side}");
        assert_eq!(cycles[side].as_f64().unwrap(), stored);
        let instructions = summaries["instructions"]["samples"][0].as_f64().unwrap();
        assert!(
            stored > instructions,
            "{stored} cycles, {instructions} instructions"
        );
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(readme.contains("| estimated_cycles |"), "{readme}");
    }
}
