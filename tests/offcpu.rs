//! `--off-cpu` end to end, with real perf: a program that sleeps, and the
//! demo service under load, whose threads block on a lock and on the disk.

use crate::common;

use common::{has_tool, text, Sandbox};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// µs of the folded stacks whose text contains `needle`.
fn weight(folded: &str, needle: &str) -> u64 {
    folded
        .lines()
        .filter(|l| l.contains(needle))
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum()
}

#[test]
fn a_sleeping_command_blocks_where_it_sleeps() {
    if !has_tool("perf") {
        eprintln!("skipped: no perf");
        return;
    }
    let sandbox = Sandbox::new(
        "offcpu-sleep",
        r#"
[workloads.sleeper]
command = "/bin/sh"
args = ["-c", "sleep 0.3; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done"]
"#,
    );
    let output = sandbox.xtask(&["flamegraph", "--workload", "sleeper", "--off-cpu"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("off-CPU: "), "{out}");
    let dir = &sandbox.results()[0];
    assert!(out.contains(&format!(
        "off-CPU flamegraph: {}",
        dir.join("offcpu-flamegraph.svg").display()
    )));

    // sleep's 300 ms are in clock_nanosleep; sh waits as long in wait4.
    let folded = std::fs::read_to_string(dir.join("offcpu.folded")).unwrap();
    let slept = weight(&folded, "clock_nanosleep");
    assert!((290_000..600_000).contains(&slept), "{slept} µs:\n{folded}");
    assert!(weight(&folded, "wait4") >= 290_000, "{folded}");

    // The CPU flamegraph of the same run holds the busy loop, no switches.
    let cpu = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
    assert!(!cpu.is_empty() && !cpu.contains("sched_switch"), "{cpu}");
    let svg = std::fs::read_to_string(dir.join("offcpu-flamegraph.svg")).unwrap();
    assert!(svg.contains("off-CPU time (ms blocked)"), "title");
    assert!(svg.contains(" ms, "), "counts in ms");

    let run = read_json(&dir.join("run.json"));
    let off_cpu = &run["scales"][0]["cpu_profile"]["off_cpu"];
    assert!(
        off_cpu["blocked_ms"].as_f64().unwrap() >= 580.0,
        "{off_cpu}"
    );
    // Every switch perf recorded is accounted for: blocked, preempted or unfinished.
    let parsed = [
        "blocked_switches",
        "preempted_switches",
        "unfinished_switches",
    ]
    .iter()
    .map(|k| off_cpu[k].as_u64().unwrap())
    .sum::<u64>();
    // perf's stream counted every sample; those beyond cpu-clock's are the switches.
    assert_eq!(
        Some(parsed),
        off_cpu["recorded_switches"].as_u64(),
        "{off_cpu}"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("### Off-CPU time"), "{readme}");
    assert!(readme.contains("clock_nanosleep"), "{readme}");
}

#[test]
fn the_service_under_load_blocks_on_its_lock_and_its_log() {
    if !has_tool("perf") {
        eprintln!("skipped: no perf");
        return;
    }
    let port = 20_000 + (std::process::id() % 20_000) as u16 + 7;
    let port_arg = port.to_string();
    let sandbox = Sandbox::new("offcpu-service", "");
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "service",
        "--off-cpu",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--duration",
        "1",
        "--port",
        &port_arg,
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let run = read_json(&dir.join("run.json"));
    let off_cpu = &run["scales"][0]["cpu_profile"]["off_cpu"];
    let top: Vec<&str> = off_cpu["top_stacks"]
        .as_array()
        .unwrap()
        .iter()
        .take(3)
        .map(|s| s["stack"].as_str().unwrap())
        .collect();
    // The lock (futex, through std's Mutex) and the log's I/O are among the
    // three heaviest blocking stacks; the third is recv, waiting for requests.
    assert!(
        top.iter()
            .any(|s| s.contains("Store::record") && s.contains("lock_contended")),
        "{top:#?}"
    );
    assert!(
        top.iter().any(
            |s| s.contains("Store::record") && (s.contains("fdatasync") || s.contains("write"))
        ),
        "{top:#?}"
    );
    let folded = std::fs::read_to_string(dir.join("offcpu.folded")).unwrap();
    assert!(weight(&folded, "lock_contended") > 10_000, "{folded}");
    // Attached perf writes a file perf itself counts: every switch is accounted for.
    let parsed = [
        "blocked_switches",
        "preempted_switches",
        "unfinished_switches",
    ]
    .iter()
    .map(|k| off_cpu[k].as_u64().unwrap())
    .sum::<u64>();
    assert_eq!(
        Some(parsed),
        off_cpu["recorded_switches"].as_u64(),
        "{off_cpu}"
    );
    assert!(dir.join("offcpu-flamegraph.svg").is_file());
    assert!(dir.join("flamegraph.svg").is_file());
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("Top blocking stacks"), "{readme}");
    // The server's scratch log was unlinked as soon as it was open.
    assert!(!std::path::Path::new(&format!("/tmp/cdr-demo-{port}.log")).exists());
}
