//! profile-baseline and flamegraph end to end: real builds, real runs, real perf.

use crate::common;

use common::{gone_within, has_tool, process_alive_with, text, Sandbox};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn read_json(path: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn baseline_writes_a_complete_self_describing_result() {
    let sandbox = Sandbox::new("baseline", "");
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--label",
        "e2e",
        "--subs",
        "3000",
        "--runs",
        "3",
        "--warmup",
        "1",
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let results = sandbox.results();
    assert_eq!(results.len(), 1, "{out}");
    let dir = &results[0];
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    // `<YYYYMMDD-HHMMSS>-<tag>-<label>`, the tag lowercase base32.
    let tag = name.get(16..22).unwrap_or_default();
    assert!(
        name.ends_with("-e2e")
            && name.len() == "20261122-040506-fe3k9q-e2e".len()
            && tag
                .bytes()
                .all(|c| c.is_ascii_digit() || c.is_ascii_lowercase()),
        "{name}"
    );
    assert!(
        sandbox.entries().iter().all(|e| !e.starts_with(".tmp-")),
        "{:?}",
        sandbox.entries()
    );

    let run = read_json(&dir.join("run.json"));
    assert_eq!(run["schema_version"], 2);
    assert_eq!(run["workload"], "demo");
    let scale = &run["scales"][0];
    assert_eq!(scale["params"]["subs"], "3000");
    assert_eq!(scale["runs"].as_array().unwrap().len(), 3);
    let argv: Vec<&str> = scale["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // The binary cargo built, in the `profiling` profile's directory of
    // whichever target directory this run uses.
    assert!(argv[0].ends_with("/profiling/cdr-demo"), "{argv:?}");
    assert!(argv.windows(2).any(|w| w == ["--subs", "3000"]), "{argv:?}");
    for sample in scale["runs"].as_array().unwrap() {
        assert!(sample["wall_s"].as_f64().unwrap() > 0.0);
        assert!(sample["max_rss_bytes"].as_u64().unwrap() > 1_000_000);
        assert_eq!(sample["exit_code"], 0);
        // 3000 subscribers × ~40 events: the metric comes from the workload's own output.
        let records = sample["metrics"]["records"].as_f64().unwrap();
        assert!((100_000.0..140_000.0).contains(&records), "{records}");
    }
    let wall = &scale["summaries"]["wall_s"];
    assert_eq!(wall["summary"]["n"], 3);
    assert!(scale["summaries"]["records_per_sec"]["better"] == "higher");

    if has_tool("perf") {
        let profile = &scale["cpu_profile"];
        assert!(
            profile["folded_samples"].as_u64().unwrap() > 10,
            "{profile}"
        );
        let svg = std::fs::read_to_string(dir.join("flamegraph.svg")).unwrap();
        assert!(
            svg.contains("cdr_demo::generate::"),
            "the flamegraph lacks the demo's functions"
        );
        assert!(
            svg.contains("demo days=1 slowdown=0 subs=3000 workers=1"),
            "title names workload and parameters"
        );
        // Some 80 samples: the 30 functions with most self time can all be
        // std's and libc's (the demo's own code calls them), so the demo's
        // frames are looked for in the stacks.
        let top = std::fs::read_to_string(dir.join("top-functions.txt")).unwrap();
        assert!(top.contains("self%") && top.contains("total%"), "{top}");
        assert!(top.lines().filter(|l| l.contains('%')).count() > 3, "{top}");
        let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
        assert!(folded.contains("cdr_demo::generate::"), "{folded}");
    }
    let system = read_json(&dir.join("system_info.json"));
    assert_eq!(system["schema_version"], 1);
    assert!(system["cores"].as_u64().unwrap() >= 1);
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("| wall_s |"), "{readme}");
    assert!(readme.contains("[run.json](run.json)"), "{readme}");
}

#[test]
fn scales_are_recorded_each_in_the_result() {
    let sandbox = Sandbox::raw(
        "scales",
        r#"
[defaults]
results_dir = "{results}"

[params.subs]
default = 1000

[workloads.demo]
cargo_bin = "cdr-demo"
args = ["--subs", "{subs}"]

[[workloads.demo.metrics]]
name = "records"
pattern = "records={}"

[[scales]]
name = "tiny"
params = { subs = 500 }

[[scales]]
name = "small"
params = { subs = 1500 }
"#,
    );
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--scale",
        "tiny",
        "--runs",
        "2",
        "--no-profile",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--scale",
        "all",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--no-profile",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let results = sandbox.results();
    let run = read_json(&results.last().unwrap().join("run.json"));
    let names: Vec<&str> = run["scales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["scale"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["tiny", "small"]);
    let records: Vec<f64> = run["scales"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            s["summaries"]["records"]["summary"]["median"]
                .as_f64()
                .unwrap()
        })
        .collect();
    assert!(
        records[1] > 2.0 * records[0],
        "each scale ran with its own parameters: {records:?}"
    );
    let output = sandbox.xtask(&["profile-baseline", "--scale", "huge"]);
    assert!(
        text(&output).contains("no scale `huge`"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_failing_workload_leaves_no_complete_looking_result() {
    let sandbox = Sandbox::new(
        "failing",
        r#"
[workloads.failing]
command = "/bin/sh"
args = ["-c", "echo partial output; echo boom >&2; exit 3"]
"#,
    );
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "failing",
        "--runs",
        "2",
        "--warmup",
        "0",
    ]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("the workload failed: exit status 3"), "{out}");
    assert!(out.contains("boom"), "the output tail is reported:\n{out}");
    assert!(sandbox.results().is_empty(), "{:?}", sandbox.entries());
    let failed: Vec<String> = sandbox
        .entries()
        .into_iter()
        .filter(|e| e.starts_with(".failed-"))
        .collect();
    assert_eq!(failed.len(), 1, "{:?}", sandbox.entries());
    let evidence =
        std::fs::read_to_string(sandbox.results.join(&failed[0]).join("failure.txt")).unwrap();
    assert!(
        evidence.contains("exit status 3") && evidence.contains("partial output"),
        "{evidence}"
    );
}

#[test]
fn a_hanging_workload_is_stopped_with_its_whole_process_tree() {
    let marker = format!("7{}.25", std::process::id() % 100_000);
    let sandbox = Sandbox::new(
        "hanging",
        &format!(
            r#"
[workloads.hanging]
command = "/bin/sh"
args = ["-c", "sleep {marker} & sleep {marker}"]
timeout = 1
"#
        ),
    );
    let started = Instant::now();
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "hanging",
        "--runs",
        "1",
        "--warmup",
        "0",
    ]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("timed out after 1s"), "{out}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(
        gone_within(Duration::from_secs(10), &format!("sleep {marker}")),
        "orphaned sleep {marker}"
    );
    assert!(sandbox.results().is_empty());
}

#[test]
fn ctrl_c_stops_children_and_completes_no_result() {
    let marker = format!("8{}.5", std::process::id() % 100_000);
    let sandbox = Sandbox::new(
        "interrupt",
        &format!(
            r#"
[workloads.slow]
command = "/bin/sh"
args = ["-c", "sleep {marker} & sleep {marker}"]
"#
        ),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"))
        .args([
            "--config",
            sandbox.config.to_str().unwrap(),
            "profile-baseline",
            "--workload",
            "slow",
        ])
        .env("CI", "1")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !process_alive_with(&format!("sleep {marker}")) {
        assert!(Instant::now() < deadline, "the workload never started");
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc_kill(child.id() as i32, 2) };
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(130));
    assert!(
        gone_within(Duration::from_secs(10), &format!("sleep {marker}")),
        "orphaned sleep {marker}"
    );
    assert!(sandbox.results().is_empty(), "{:?}", sandbox.entries());
}

extern "C" {
    #[link_name = "kill"]
    fn libc_kill(pid: i32, signal: i32) -> i32;
}

#[test]
fn the_service_scenario_profiles_the_server_under_load_and_stops_it() {
    let port = 20_000 + (std::process::id() % 20_000) as u16;
    let sandbox = Sandbox::new("service", "");
    let port_arg = port.to_string();
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "service",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--duration",
        "2",
        "--port",
        &port_arg,
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let run = read_json(&dir.join("run.json"));
    let scale = &run["scales"][0];
    assert!(
        scale["summaries"]["ops_per_sec"]["summary"]["median"]
            .as_f64()
            .unwrap()
            > 10.0,
        "{scale}"
    );
    assert!(scale["summaries"]["p99_latency"]["better"] == "lower");
    assert!(scale["argv"]
        .as_array()
        .unwrap()
        .iter()
        .any(|a| a == "serve"));
    if has_tool("perf") {
        assert!(
            scale["load"]["metrics"]["ops_per_sec"].as_f64().unwrap() > 0.0,
            "{scale}"
        );
        let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
        // Samples are of the server (its request handler), not the load generator.
        assert!(folded.contains("answer_request"), "{folded}");
        assert!(
            !folded.contains("load_worker"),
            "the load generator was sampled"
        );
    }
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the server still listens after the task"
    );
}

#[test]
fn flamegraph_task_writes_the_svg_where_asked() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("flamegraph", "");
    let svg = sandbox.results.with_extension("svg");
    let output = sandbox.xtask(&[
        "flamegraph",
        "--subs",
        "3000",
        "--freq",
        "499",
        "-o",
        svg.to_str().unwrap(),
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(
        out.contains(&format!("flamegraph: {}", svg.display())),
        "{out}"
    );
    let text = std::fs::read_to_string(&svg).unwrap();
    let _ = std::fs::remove_file(&svg);
    assert!(text.contains("cdr_demo::generate::"));
    let run = read_json(&sandbox.results()[0].join("run.json"));
    assert_eq!(run["task"], "flamegraph");
    assert_eq!(run["scales"][0]["cpu_profile"]["frequency"], 499);
}

#[test]
fn a_bad_label_is_refused_before_anything_runs() {
    let sandbox = Sandbox::new("label", "");
    let output = sandbox.xtask(&["profile-baseline", "--label", "../escape"]);
    // A bad flag value is a usage error, refused while the flags are read.
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output).contains("invalid label `../escape`"),
        "{}",
        text(&output)
    );
    assert!(sandbox.entries().is_empty());
}

#[test]
fn a_criterion_bench_is_profiled_through_its_profiler_hook() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("bench", "");
    let output = sandbox.xtask(&["flamegraph", "--workload", "bench", "--freq", "499"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let run = read_json(&dir.join("run.json"));
    let argv: Vec<&str> = run["scales"][0]["argv"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    assert!(
        argv[0].contains("/deps/generate-"),
        "the bench binary cargo built: {argv:?}"
    );
    assert_eq!(&argv[1..], ["--bench", "--profile-time", "3", "generate"]);
    let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
    assert!(
        folded.contains("cdr_demo::generate::generate_in_memory"),
        "{folded}"
    );
}

/// Every sample perf records reaches the flamegraph, none is lost on the way,
/// and the stacks are whole: one and two worker threads, perf's default and
/// a high frequency, twice each. Counted three ways that do not share code:
/// the xtask's own count of perf's data stream (run.json), `perf report
/// --stats` on the perf.data it kept, and the sum of cpu.folded.
#[test]
fn flamegraphs_keep_every_sample_perf_recorded() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("lossless", "");
    let mut seen = 0;
    for round in 0..2 {
        for workers in ["1", "2"] {
            for freq in ["997", "4999"] {
                let what = format!("--workers {workers} --freq {freq}, round {round}");
                let label = format!("w{workers}-f{freq}-r{round}");
                let output = sandbox.xtask(&[
                    "flamegraph",
                    "--subs",
                    "8000",
                    "--workers",
                    workers,
                    "--freq",
                    freq,
                    "--label",
                    &label,
                    "--keep-perf-data",
                ]);
                let out = text(&output);
                assert!(output.status.success(), "{what}: {out}");
                let dir = sandbox
                    .results()
                    .into_iter()
                    .find(|d| d.to_string_lossy().ends_with(&label))
                    .unwrap();
                let run = read_json(&dir.join("run.json"));
                let profile = &run["scales"][0]["cpu_profile"];
                let recorded = profile["record"]["samples"].as_u64().unwrap();
                let lost = profile["record"]["lost_samples"].as_u64().unwrap();
                let folded_samples = profile["folded_samples"].as_u64().unwrap();

                let stats = Command::new("perf")
                    .args(["report", "--stats", "-i"])
                    .arg(dir.join("perf.data"))
                    .output()
                    .unwrap();
                let stats = String::from_utf8_lossy(&stats.stdout);
                let count = |kind: &str| -> u64 {
                    stats
                        .lines()
                        .find(|l| l.trim_start().starts_with(kind))
                        .and_then(|l| l.split_whitespace().nth(2))
                        .map_or(0, |n| n.parse().unwrap())
                };
                let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
                let (mut total, mut whole) = (0u64, 0u64);
                for line in folded.lines() {
                    let (stack, n) = line.rsplit_once(' ').unwrap();
                    let n: u64 = n.parse().unwrap();
                    total += n;
                    let root = stack.split(';').nth(1).unwrap_or("");
                    if ["_start", "start_thread", "clone3", "__libc_start_main"].contains(&root) {
                        whole += n;
                    }
                }

                assert_eq!(lost, 0, "{what}: perf lost samples\n{out}");
                assert_eq!(count("LOST"), 0, "{what}: {stats}");
                assert_eq!(count("LOST_SAMPLES"), 0, "{what}: {stats}");
                assert_eq!(count("SAMPLE events:"), recorded, "{what}: {stats}");
                assert_eq!(folded_samples, recorded, "{what}: samples lost on the way");
                assert_eq!(total, recorded, "{what}: cpu.folded");
                assert!(recorded > 100, "{what}: only {recorded} samples");
                let share = whole as f64 / total as f64;
                assert!(
                    share >= 0.95,
                    "{what}: only {share:.3} of the stacks are whole"
                );
                assert!(
                    out.contains(&format!(
                        "samples: {recorded} samples recorded, {recorded} in the flamegraph, 0 lost"
                    )),
                    "{what}: {out}"
                );
                seen += 1;
            }
        }
    }
    assert_eq!(seen, 8);
}

/// A `command` workload `m` printing `output` (through sh), with one metric
/// `value` read by `pattern = "value={}"`.
fn metric_sandbox(name: &str, output: &str, metric_extra: &str) -> Sandbox {
    Sandbox::new(
        name,
        &format!(
            r#"
[workloads.m]
command = "sh"
args = ["-c", "{output}"]

[[workloads.m.metrics]]
name = "value"
pattern = "value={{}}"
{metric_extra}
"#
        ),
    )
}

const QUICK_BASELINE: &[&str] = &[
    "profile-baseline",
    "--workload",
    "m",
    "--runs",
    "2",
    "--warmup",
    "0",
    "--no-profile",
];

#[test]
fn a_metric_missing_or_not_a_number_fails_the_run_naming_pattern_and_line() {
    for (output, expected) in [
        (
            "echo value=abc",
            "has no finite number where `{}` stands in the output line \"value=abc\"",
        ),
        (
            "echo value=NaN",
            "no finite number where `{}` stands in the output line \"value=NaN\"",
        ),
        (
            "echo value=inf",
            "no finite number where `{}` stands in the output line \"value=inf\"",
        ),
        ("true", "pattern `value={}` not found in the output"),
    ] {
        let sandbox = metric_sandbox("metric-bad", output, "");
        let out_put = sandbox.xtask(QUICK_BASELINE);
        let out = text(&out_put);
        assert_eq!(out_put.status.code(), Some(1), "{output}: {out}");
        assert!(out.contains("metric `value`"), "{output}: {out}");
        assert!(out.contains(expected), "{output}: {out}");
        assert!(out.contains("required = false"), "the fix is named: {out}");
        assert!(!out.contains("panicked"), "{out}");
        assert!(
            sandbox.results().is_empty(),
            "{output}: {:?}",
            sandbox.entries()
        );
        assert!(
            sandbox.entries().iter().any(|e| e.starts_with(".failed-")),
            "{output}: {:?}",
            sandbox.entries()
        );
    }
}

#[test]
fn an_optional_metric_that_is_missing_is_a_warning_in_the_result() {
    let sandbox = metric_sandbox("metric-optional", "echo value=abc", "required = false");
    let output = sandbox.xtask(QUICK_BASELINE);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    let warning = "metric `value`: pattern `value={}` has no finite number where `{}` stands in the output line \"value=abc\"; the run has no value for it (`required = false`) (in 2 of 2 runs)";
    assert!(out.contains(&format!("note: {warning}")), "{out}");
    let results = sandbox.results();
    assert_eq!(results.len(), 1, "{:?}", sandbox.entries());
    let readme = std::fs::read_to_string(results[0].join("README.md")).unwrap();
    assert!(readme.contains(warning), "{readme}");
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(results[0].join("run.json")).unwrap()).unwrap();
    let runs = record["scales"][0]["runs"].as_array().unwrap();
    assert!(
        runs.iter().all(|r| r["metrics"].get("value").is_none()),
        "{record}"
    );
}

#[test]
fn a_metric_printed_twice_takes_the_last_value_with_a_warning() {
    let sandbox = metric_sandbox("metric-twice", "echo value=1; echo value=2", "");
    let output = sandbox.xtask(QUICK_BASELINE);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(0), "{out}");
    assert!(
        out.contains("metric `value` (pattern `value={}`) was printed 2 times; the last value is used (in 2 of 2 runs)"),
        "{out}"
    );
    let results = sandbox.results();
    let record: serde_json::Value =
        serde_json::from_slice(&std::fs::read(results[0].join("run.json")).unwrap()).unwrap();
    for run in record["scales"][0]["runs"].as_array().unwrap() {
        assert_eq!(run["metrics"]["value"], 2.0, "{record}");
    }
}

#[test]
fn a_missing_working_directory_is_named_not_the_program() {
    // With a placeholder, `cwd` can only be checked once its value is known.
    let sandbox = Sandbox::new(
        "cwd-missing",
        r#"
[params.where]
default = "no-such-dir-for-xtask-tests"

[workloads.m]
command = "true"
cwd = "{where}"
"#,
    );
    let output = sandbox.xtask(QUICK_BASELINE);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("workload `m`: the working directory")
            && out.contains("no-such-dir-for-xtask-tests does not exist"),
        "{out}"
    );
    assert!(!out.contains("not on PATH"), "{out}");
}

#[test]
fn a_server_that_is_never_ready_names_what_was_awaited() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = Sandbox::new(
        "never-ready",
        &format!(
            r#"
[workloads.mute]
command = "sleep"
args = ["5"]
ready = {{ port = "{port}", timeout = 0.5 }}
[workloads.mute.load]
command = "true"
"#
        ),
    );
    let started = std::time::Instant::now();
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "mute",
        "--runs",
        "1",
        "--no-profile",
    ]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!(
            "the server did not become ready within 0.5 s, waiting for 127.0.0.1:{port} to accept connections"
        )),
        "{out}"
    );
    assert!(out.contains("help: raise `ready.timeout`"), "{out}");
    assert!(started.elapsed().as_secs() < 30, "{:?}", started.elapsed());
}

/// A server that dies while its load runs: the error names the server's
/// end (its exit status and output), not only the load's failure.
#[test]
fn a_server_that_dies_mid_load_is_named_as_the_cause() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!(
        "import socket, sys, time\n\
         s = socket.socket()\n\
         s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n\
         s.bind(('127.0.0.1', {port}))\n\
         s.listen()\n\
         time.sleep(0.5)\n\
         print('server: out of memory, giving up')\n\
         sys.exit(7)\n"
    );
    let sandbox = Sandbox::new(
        "dies-mid-load",
        &format!(
            r#"
[workloads.fragile]
command = "python3"
args = ["-c", {server:?}]
ready = {{ port = "{port}", timeout = 10 }}
[workloads.fragile.load]
command = "sh"
args = ["-c", "sleep 1.5; echo 'Connection reset by peer' >&2; exit 1"]
"#
        ),
    );
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "fragile",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--no-profile",
    ]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("the server exited during the load: exit status 7"),
        "{out}"
    );
    assert!(out.contains("server: out of memory, giving up"), "{out}");
    assert!(out.contains("the load then failed"), "{out}");
    assert!(sandbox.results().is_empty());
}

/// A flamegraph has inline frames with nothing but perf installed (read in
/// process from the demo's DWARF), `--no-inline` turns them off, and
/// perf.data stays in the result only when asked, as its README says.
#[test]
fn flamegraphs_have_inline_frames_and_keep_perf_data_only_when_asked() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("inline", "");
    let mut frames = Vec::new();
    for (label, extra) in [("inline", None), ("plain", Some("--no-inline"))] {
        let mut args = vec!["flamegraph", "--subs", "3000", "--label", label];
        args.extend(extra);
        let output = sandbox.xtask(&args);
        assert!(output.status.success(), "{label}: {}", text(&output));
        let dir = sandbox
            .results()
            .into_iter()
            .find(|d| d.to_string_lossy().ends_with(label))
            .unwrap();
        assert!(
            !dir.join("perf.data").exists(),
            "{label}: perf.data kept unasked"
        );
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        assert!(readme.contains("- perf.data: not kept ("), "{readme}");
        let run = read_json(&dir.join("run.json"));
        let symbolizer = run["scales"][0]["cpu_profile"]["symbolizer"]
            .as_str()
            .unwrap()
            .to_string();
        let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
        let names: std::collections::BTreeSet<String> = folded
            .lines()
            .filter_map(|l| l.rsplit_once(' '))
            .flat_map(|(stack, _)| stack.split(';').map(str::to_string).collect::<Vec<_>>())
            .collect();
        frames.push((symbolizer, names));
    }
    let (inline, plain) = (&frames[0], &frames[1]);
    assert!(
        inline.0.contains("inline frames from DWARF"),
        "{}",
        inline.0
    );
    assert!(plain.0.starts_with("--no-inline"), "{}", plain.0);
    // Functions Rust inlined into the demo's hot loop appear only with inline frames.
    let only_inline = inline.1.difference(&plain.1).count();
    assert!(
        only_inline >= 10,
        "only {only_inline} functions more with inline frames: {:?}",
        inline.1.difference(&plain.1).collect::<Vec<_>>()
    );

    let output = sandbox.xtask(&[
        "flamegraph",
        "--subs",
        "3000",
        "--label",
        "kept",
        "--keep-perf-data",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let dir = sandbox
        .results()
        .into_iter()
        .find(|d| d.to_string_lossy().ends_with("kept"))
        .unwrap();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("- [perf.data](perf.data): perf's raw recording ("),
        "{readme}"
    );
    let report = Command::new("perf")
        .args(["report", "--stdio", "-i"])
        .arg(dir.join("perf.data"))
        .output()
        .unwrap();
    assert!(report.status.success());
    assert!(String::from_utf8_lossy(&report.stdout).contains("cdr_demo::"));
}
