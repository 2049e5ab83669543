//! `--off-cpu` end to end, with real perf: a program that sleeps, and the
//! demo service under load, whose threads block on a lock and on the disk.

use crate::common;

use common::{has_tool, text, Sandbox};

/// Every blocking switch perf recorded is in the flamegraph or had no
/// switch-in, and perf counted its losses of them.
fn assert_switches_add_up(off_cpu: &serde_json::Value) {
    let count = |key: &str| {
        off_cpu[key]
            .as_u64()
            .unwrap_or_else(|| panic!("{key}: {off_cpu}"))
    };
    let (recorded, blocked) = (count("recorded_switches"), count("blocked_switches"));
    assert!(
        (blocked..=blocked + count("unfinished_switches")).contains(&recorded),
        "{off_cpu}"
    );
    count("lost_switches");
    count("lost_switch_records");
}

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
    // perf's stream counted the switches apart from the CPU samples, and
    // each one it recorded is in the flamegraph or unfinished.
    assert_switches_add_up(off_cpu);
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
    // Attached perf writes a file whose events perf counts apart.
    assert_switches_add_up(off_cpu);
    assert!(dir.join("offcpu-flamegraph.svg").is_file());
    assert!(dir.join("flamegraph.svg").is_file());
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("Top blocking stacks"), "{readme}");
    // The server's scratch log was unlinked as soon as it was open.
    assert!(!std::path::Path::new(&format!("/tmp/cdr-demo-{port}.log")).exists());
}

/// A busy server switches tens of thousands of times a second: the demo
/// service without fsync, under 16 clients. perf keeps every switch (a
/// recording of every switch with 16 KiB stacks lost most of them), their
/// stacks unwind to the threads' start, and the CPU samples are not charged
/// with the switches' losses.
#[test]
fn a_busy_service_loses_no_switches() {
    if !has_tool("perf") {
        eprintln!("skipped: no perf");
        return;
    }
    let port = 20_000 + (std::process::id() % 20_000) as u16 + 11;
    let port_arg = port.to_string();
    let sandbox = Sandbox::new("offcpu-busy", "");
    let output = sandbox.xtask(&[
        "flamegraph",
        "--workload",
        "service",
        "--off-cpu",
        "--fsync",
        "false",
        "--clients",
        "16",
        "--duration",
        "1",
        "--port",
        &port_arg,
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let run = read_json(&dir.join("run.json"));
    let profile = &run["scales"][0]["cpu_profile"];
    let off_cpu = &profile["off_cpu"];
    assert_switches_add_up(off_cpu);
    let recorded = off_cpu["recorded_switches"].as_u64().unwrap();
    let lost = off_cpu["lost_switches"].as_u64().unwrap();
    // Thousands of switches a second, for the test to mean anything.
    assert!(recorded > 5_000, "{off_cpu}");
    assert!(
        lost * 100 <= recorded + lost,
        "more than 1 % of the switches lost: {off_cpu}"
    );
    let complete = off_cpu["complete_stacks"].as_f64().unwrap();
    assert!(complete >= 0.95, "{off_cpu}");
    let cpu_lost = profile["record"]["lost_samples"].as_u64().unwrap();
    let cpu_samples = profile["record"]["samples"].as_u64().unwrap();
    assert!(cpu_lost * 100 <= cpu_samples + cpu_lost, "{profile}");
    assert!(
        out.contains("; switch samples: ") && out.contains("% of stacks complete"),
        "{out}"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!(
            "Switch samples (the stacks of blocking switches): {recorded} recorded, {lost} lost ("
        )),
        "{readme}"
    );
}
