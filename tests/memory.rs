//! The memory task end to end: heaptrack, massif and memcheck run for real
//! on small inputs of the demo workload.

use crate::common;

use common::{has_tool, text, Sandbox};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

const LEAKY: &str = r#"
[params.leak]
default = 0
help = "Bytes the demo leaks on purpose"

[workloads.leaky]
cargo_bin = "cdr-demo"
args = ["generate", "--subs", "{subs}", "--leak-bytes", "{leak}"]
"#;

#[test]
fn heaptrack_result_has_numbers_raw_file_flamegraph_and_readme() {
    if !has_tool("heaptrack") {
        eprintln!(
            "note: heaptrack is not installed; skipping (scripts/install-tools.sh installs it)"
        );
        return;
    }
    let sandbox = Sandbox::new("memory-heaptrack", "");
    let output = sandbox.xtask(&["memory", "--tool", "heaptrack", "--subs", "2000"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let memory = read_json(&dir.join("memory.json"));
    assert_eq!(memory["schema_version"], 1);
    assert_eq!(memory["tool"], "heaptrack");
    let peak = memory["peak_heap_bytes"].as_f64().unwrap();
    assert!((100_000.0..100_000_000.0).contains(&peak), "{peak}");
    assert!(memory["total_allocations"].as_u64().unwrap() > 10_000);
    assert!(memory["temporary_allocations"].as_u64().is_some());
    // Names are demangled: no `_ZN`/`_R` symbols, and the demo's own functions appear.
    let consumers = memory["peak_consumers"].to_string();
    assert!(consumers.contains("cdr_demo::generate::"), "{consumers}");
    assert!(
        !consumers.contains("_ZN") && !consumers.contains("17h"),
        "{consumers}"
    );
    // heaptrack's raw data is kept, whatever compression it was built with.
    let raw: Vec<String> = memory["raw_files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f.as_str().unwrap().to_string())
        .collect();
    assert!(
        raw.iter()
            .any(|f| f.starts_with("heaptrack.") && (f.ends_with(".zst") || f.ends_with(".gz"))),
        "{raw:?}"
    );
    for file in &raw {
        assert!(dir.join(file).is_file(), "{file} missing");
    }
    let svg = std::fs::read_to_string(dir.join("memory-flamegraph.svg")).unwrap();
    assert!(
        svg.contains("cdr_demo::generate::"),
        "the memory flamegraph lacks the demo's frames"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("| peak heap |") && readme.contains("### Memory (heaptrack)"),
        "{readme}"
    );
    let run = read_json(&dir.join("run.json"));
    assert_eq!(run["task"], "memory");
    assert_eq!(
        run["scales"][0]["memory"]["peak_heap_bytes"].as_f64(),
        Some(peak)
    );
}

#[test]
fn massif_result_reads_the_peak_snapshot() {
    if !has_tool("valgrind") {
        eprintln!(
            "note: valgrind is not installed; skipping (scripts/install-tools.sh installs it)"
        );
        return;
    }
    let sandbox = Sandbox::new("memory-massif", "");
    let output = sandbox.xtask(&["memory", "--tool", "massif", "--subs", "500"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains("massif: running demo under it (about 10-15x slower"),
        "the slowdown is announced:\n{out}"
    );
    let dir = &sandbox.results()[0];
    let memory = read_json(&dir.join("memory.json"));
    assert_eq!(memory["tool"], "massif");
    assert!(memory["peak_heap_bytes"].as_f64().unwrap() > 10_000.0);
    assert!(dir.join("massif.out").is_file());
    assert!(std::fs::read_to_string(dir.join("memory.folded"))
        .unwrap()
        .contains("cdr_demo::"));
}

#[test]
fn leak_check_finds_a_deliberate_leak_and_passes_a_clean_run() {
    if !has_tool("valgrind") {
        eprintln!(
            "note: valgrind is not installed; skipping (scripts/install-tools.sh installs it)"
        );
        return;
    }
    let sandbox = Sandbox::new("memory-leaks", LEAKY);
    let leaky = sandbox.xtask(&[
        "memory",
        "--workload",
        "leaky",
        "--leak-check",
        "--no-profile",
        "--subs",
        "200",
        "--leak",
        "4096",
    ]);
    let out = text(&leaky);
    assert_eq!(leaky.status.code(), Some(5), "{out}");
    assert!(
        out.contains("4096 bytes definitely lost, more than the threshold of 0"),
        "{out}"
    );
    assert!(out.contains("FAILED"), "{out}");
    let clean = sandbox.xtask(&[
        "memory",
        "--workload",
        "leaky",
        "--leak-check",
        "--no-profile",
        "--subs",
        "200",
        "--leak",
        "0",
    ]);
    let out = text(&clean);
    assert_eq!(clean.status.code(), Some(0), "{out}");
    assert!(out.contains("**passed**"), "{out}");
    let results = sandbox.results();
    assert_eq!(results.len(), 2);
    let report = read_json(&results[0].join("leak-check.json"));
    assert_eq!(report["schema_version"], 1);
    let leaked = read_json(&results[0].join("run.json"));
    let check = &leaked["scales"][0]["leak_check"];
    assert!(
        check["definitely_lost_bytes"].as_u64().unwrap() >= 4096,
        "{check}"
    );
    assert_eq!(check["passed"], false);
    assert!(
        check["top"]
            .to_string()
            .contains("cdr_demo::generate::leak"),
        "{check}"
    );
}

#[test]
fn an_explicit_tool_that_is_missing_is_an_error_with_its_install_command() {
    let sandbox = Sandbox::new("memory-missing", "");
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_xtask-e2e"))
        .args([
            "--config",
            sandbox.config.to_str().unwrap(),
            "memory",
            "--tool",
            "heaptrack",
        ])
        .env("PATH", "/nonexistent")
        .output()
        .unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("heaptrack is not installed"), "{out}");
    assert!(out.contains("install:"), "{out}");
    assert!(sandbox.entries().is_empty(), "nothing is written");
}

#[test]
fn baseline_with_memory_records_both() {
    if !has_tool("heaptrack") {
        eprintln!("note: heaptrack is not installed; skipping");
        return;
    }
    let sandbox = Sandbox::new("baseline-memory", "");
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--memory",
        "--no-profile",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--subs",
        "1000",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let run = read_json(&sandbox.results()[0].join("run.json"));
    assert!(
        run["scales"][0]["memory"]["peak_heap_bytes"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(run["scales"][0]["runs"].as_array().unwrap().len(), 2);
}
