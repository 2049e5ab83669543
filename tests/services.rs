//! Services and long-running programs end to end, on loopback and for real:
//! a program stopped by `--run-for`, a running PID attached and left running,
//! named load scenarios, and the memory of the demo server under its load.

use crate::common;

use common::{has_tool, text, Sandbox};
use std::path::Path;

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// A loopback port of its own for each test (tests of one file run at once).
fn free_port() -> String {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string()
}

/// A program that loops until stopped and prints its metric when SIGUSR1
/// (its `stop_signal`) arrives.
const SPIN: &str = r#"
[workloads.spin]
command = "sh"
args = ["-c", "trap 'echo METRICS loops=$n; exit 0' USR1; n=0; while :; do n=$((n+1)); done"]
run_for = 0.5
stop_signal = "SIGUSR1"

[[workloads.spin.metrics]]
name = "loops"
pattern = "loops={}"
unit = "loops"
"#;

#[test]
fn run_for_stops_a_program_that_runs_forever_and_keeps_what_it_prints_on_exit() {
    let sandbox = Sandbox::new("run-for", SPIN);
    let no_profile = if has_tool("perf") {
        None
    } else {
        Some("--no-profile")
    };
    let mut args = vec![
        "profile-baseline",
        "--workload",
        "spin",
        "--runs",
        "2",
        "--warmup",
        "0",
    ];
    args.extend(no_profile);
    let started = std::time::Instant::now();
    let output = sandbox.xtask(&args);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(started.elapsed().as_secs_f64() < 20.0, "{out}");
    let dir = &sandbox.results()[0];
    let scale = &read_json(&dir.join("run.json"))["scales"][0];
    assert_eq!(scale["run_for_s"], 0.5, "{scale}");
    for run in scale["runs"].as_array().unwrap() {
        let wall = run["wall_s"].as_f64().unwrap();
        // The duration asked for, plus the moment the trap needs.
        assert!((0.5..3.0).contains(&wall), "{run}");
        // The metric printed on the stop signal counts.
        assert!(run["metrics"]["loops"].as_f64().unwrap() > 0.0, "{run}");
    }
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("Each run was limited to 0.5 s"), "{readme}");
    if no_profile.is_none() {
        // 0.5 s at 997 Hz from the moment perf started the program (not
        // perf itself), on a machine that may be busy.
        let samples = scale["cpu_profile"]["folded_samples"].as_u64().unwrap();
        assert!(samples > 20, "{scale}");
    }

    // --run-for on the command line overrides the workload's run_for.
    let output = sandbox.xtask(&["flamegraph", "--workload", "spin", "--run-for", "0.3"]);
    if no_profile.is_none() {
        let out = text(&output);
        assert!(output.status.success(), "{out}");
        let dir = sandbox.results().pop().unwrap();
        let scale = &read_json(&dir.join("run.json"))["scales"][0];
        assert_eq!(scale["run_for_s"], 0.3, "{scale}");
        assert!(dir.join("flamegraph.svg").is_file());
    }
}

/// A script started by its path, whose process is its interpreter (`/bin/sh
/// ./srv.sh`), with each timed run counted by perf stat: the stop signal
/// must reach the script itself, not perf and the shim around it (which
/// took the script down with them before it could print), and at once.
#[test]
fn run_for_stops_a_script_under_the_counters_wrapper() {
    let script = std::env::temp_dir().join(format!("xtask-srv-{}.sh", std::process::id()));
    std::fs::write(
        &script,
        "#!/bin/sh\ntrap 'echo loops=5; exit 0' INT\nwhile true; do sleep 0.05; done\n",
    )
    .unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let sandbox = Sandbox::new(
        "run-for-script",
        &format!(
            "\n[workloads.script]\ncommand = \"{}\"\nrun_for = 0.5\n\n\
             [[workloads.script.metrics]]\nname = \"loops\"\npattern = \"loops={{}}\"\n",
            script.display()
        ),
    );
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "script",
        "--no-profile",
        "--runs",
        "2",
        "--warmup",
        "0",
    ]);
    let out = text(&output);
    let _ = std::fs::remove_file(&script);
    assert!(output.status.success(), "{out}");
    let scale = &read_json(&sandbox.results()[0].join("run.json"))["scales"][0];
    for run in scale["runs"].as_array().unwrap() {
        let wall = run["wall_s"].as_f64().unwrap();
        assert!((0.5..1.5).contains(&wall), "{run}");
        assert_eq!(run["metrics"]["loops"], 5.0, "{run}");
    }
}

/// A busy process the test started and stops: killed and reaped on drop.
struct Busy(std::process::Child);

impl Busy {
    fn start() -> Busy {
        Busy(
            std::process::Command::new("sh")
                .args(["-c", "while :; do :; done"])
                .spawn()
                .unwrap(),
        )
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_running_pid_is_sampled_for_run_for_and_left_running() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("pid", "");
    let mut busy = Busy::start();
    let pid = busy.0.id().to_string();
    let output = sandbox.xtask(&["flamegraph", "--pid", &pid, "--run-for", "1"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(busy.alive(), "the attached process was stopped:\n{out}");
    assert!(
        out.contains(&format!("PID {pid} is still running")),
        "{out}"
    );
    let dir = &sandbox.results()[0];
    let scale = &read_json(&dir.join("run.json"))["scales"][0];
    assert_eq!(scale["attached"]["pid"].to_string(), pid, "{scale}");
    assert_eq!(scale["attached"]["command_line"][0], "sh", "{scale}");
    assert_eq!(scale["attached"]["ended_by"], "--run-for 1 s", "{scale}");
    let seconds = scale["attached"]["seconds"].as_f64().unwrap();
    assert!((1.0..3.0).contains(&seconds), "{scale}");
    assert!(
        scale["cpu_profile"]["folded_samples"].as_u64().unwrap() > 50,
        "{scale}"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!("PID {pid} (`sh -c while :; do :; done`)")),
        "{readme}"
    );
    let svg = std::fs::read_to_string(dir.join("flamegraph.svg")).unwrap();
    assert!(
        svg.contains(&format!("PID {pid}: sh -c")),
        "the title names the PID"
    );
    assert!(!dir.join("perf.data").exists(), "perf.data kept unasked");
    // A workload parameter cannot apply to a running process: refused, not ignored.
    let output = sandbox.xtask(&["flamegraph", "--pid", &pid, "--subs", "5"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("(--subs) does not apply"),
        "{}",
        text(&output)
    );
    assert_eq!(sandbox.results().len(), 1);

    // profile-baseline --pid: the same, as a baseline; other measurements are refused.
    let output = sandbox.xtask(&["profile-baseline", "--pid", &pid, "--run-for", "0.5"]);
    assert!(output.status.success(), "{}", text(&output));
    assert!(busy.alive());
    assert_eq!(sandbox.results().len(), 2);
    let output = sandbox.xtask(&["profile-baseline", "--pid", &pid, "--memory"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(2), "{out}");
    assert!(
        out.contains("'--pid <PID>' cannot be used with '--memory'"),
        "{out}"
    );

    // A PID that does not exist: a clear error, and nothing written.
    drop(busy);
    let output = sandbox.xtask(&["flamegraph", "--pid", &pid, "--run-for", "1"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("no process with PID {pid} is running")),
        "{out}"
    );
    assert_eq!(sandbox.results().len(), 2);
    assert!(
        !sandbox.entries().iter().any(|e| e.starts_with('.')),
        "{:?}",
        sandbox.entries()
    );
}

#[test]
fn without_run_for_ctrl_c_ends_the_recording_and_the_result_is_written() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("pid-ctrl-c", "");
    let mut busy = Busy::start();
    let pid = busy.0.id().to_string();
    let mut child = sandbox
        .command(&["flamegraph", "--pid", &pid])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Ctrl-C once perf samples, which the xtask says on stderr.
    let stderr = child.stderr.take().unwrap();
    let (lines, received) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            let _ = lines.send(line.clone());
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while let Ok(line) = received.recv_timeout(deadline - std::time::Instant::now()) {
        if line.contains("press Ctrl-C to end the recording") {
            break;
        }
    }
    std::thread::sleep(std::time::Duration::from_millis(500));
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let status = child.wait().unwrap();
    let err = reader.join().unwrap();
    let mut out = String::new();
    std::io::Read::read_to_string(&mut child.stdout.take().unwrap(), &mut out).unwrap();
    let out = format!("{status:?}\n{out}\n{err}");
    assert!(status.success(), "{out}");
    assert!(out.contains("press Ctrl-C to end the recording"), "{out}");
    assert!(out.contains("Ctrl-C: ending the recording"), "{out}");
    assert!(busy.alive(), "Ctrl-C reached the attached process");
    let dir = &sandbox.results()[0];
    let scale = &read_json(&dir.join("run.json"))["scales"][0];
    assert_eq!(scale["attached"]["ended_by"], "Ctrl-C", "{scale}");
    assert!(
        scale["cpu_profile"]["folded_samples"].as_u64().unwrap() > 0,
        "{scale}"
    );
}

#[test]
fn perf_ending_by_itself_is_an_error_not_a_run_for_or_ctrl_c() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("pid-perf-dies", "");
    let mut busy = Busy::start();
    let pid = busy.0.id().to_string();
    let child = sandbox
        .command(&["flamegraph", "--pid", &pid, "--run-for", "60"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once perf samples, something else kills it (the OOM killer, a user).
    let pattern = format!("perf record .*--pid {pid}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let perf = loop {
        let found = std::process::Command::new("pgrep")
            .args(["-f", &pattern])
            .output()
            .unwrap();
        let pids = String::from_utf8_lossy(&found.stdout).to_string();
        if let Some(perf) = pids.split_whitespace().next() {
            break perf.to_string();
        }
        assert!(std::time::Instant::now() < deadline, "perf never started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    std::thread::sleep(std::time::Duration::from_millis(700));
    let started = std::time::Instant::now();
    unsafe { libc::kill(perf.parse().unwrap(), libc::SIGKILL) };
    let output = child.wait_with_output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("perf record ended by itself") && out.contains("killed by signal 9"),
        "{out}"
    );
    assert!(
        started.elapsed().as_secs() < 30,
        "not noticed before --run-for"
    );
    assert!(busy.alive(), "the attached process is left running");
    assert!(sandbox.results().is_empty());
}

#[test]
fn a_pid_that_exits_during_the_recording_is_a_clear_error() {
    if !has_tool("perf") {
        eprintln!("note: perf is not installed; skipping (scripts/install-tools.sh installs it)");
        return;
    }
    let sandbox = Sandbox::new("pid-exits", "");
    let mut short = std::process::Command::new("sh")
        .args(["-c", "n=0; while [ $n -lt 2000000 ]; do n=$((n+1)); done"])
        .spawn()
        .unwrap();
    let pid = short.id().to_string();
    // Reaped by a thread as soon as it ends, as its real parent would.
    let reaper = std::thread::spawn(move || short.wait());
    let output = sandbox.xtask(&["flamegraph", "--pid", &pid, "--run-for", "60"]);
    let out = text(&output);
    reaper.join().unwrap().unwrap();
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains(&format!("PID {pid} (sh -c")) && out.contains("exited after"),
        "{out}"
    );
    assert!(sandbox.results().is_empty());
}

#[test]
fn scenarios_burst_and_all_write_one_result_per_scenario_kept_apart() {
    let sandbox = Sandbox::new("scenarios", "");
    let port = free_port();
    let common = [
        "--workload",
        "service",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--no-profile",
        "--port",
        &port,
        "--duration",
        "1",
        "--clients",
        "2",
    ];
    let run = |scenario: &str| {
        let mut args = vec!["profile-baseline", "--scenario", scenario];
        args.extend(common);
        sandbox.xtask(&args)
    };
    let output = run("burst");
    assert!(output.status.success(), "{}", text(&output));
    let results = sandbox.results();
    assert_eq!(results.len(), 1);
    assert!(
        results[0].to_string_lossy().ends_with("-burst"),
        "{results:?}"
    );
    let scale = &read_json(&results[0].join("run.json"))["scales"][0];
    assert_eq!(scale["scenario"], "burst");
    assert!(
        scale["summaries"]["ops_per_sec"]["summary"]["median"]
            .as_f64()
            .unwrap()
            > 0.0,
        "{scale}"
    );

    let output = run("all");
    assert!(output.status.success(), "{}", text(&output));
    let results = sandbox.results();
    let names: Vec<String> = results
        .iter()
        .map(|r| r.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
    assert_eq!(names.iter().filter(|n| n.ends_with("-burst")).count(), 2);
    assert_eq!(names.iter().filter(|n| n.ends_with("-ramp")).count(), 1);
    let ramp = results
        .iter()
        .find(|r| r.to_string_lossy().ends_with("-ramp"));
    let scale = &read_json(&ramp.unwrap().join("run.json"))["scales"][0];
    assert_eq!(scale["scenario"], "ramp");
    assert!(scale["argv"].to_string().contains("serve"), "{scale}");

    // list and trends keep the scenarios apart.
    let list = text(&sandbox.xtask(&["list"]));
    assert!(
        list.contains("service:burst") && list.contains("service:ramp"),
        "{list}"
    );
    let output = sandbox.xtask(&["trends", "--metric", "ops_per_sec"]);
    let trends = text(&output);
    assert!(output.status.success(), "{trends}");
    assert!(trends.contains("ops_per_sec · service:burst"), "{trends}");
    assert!(trends.contains("ops_per_sec · service:ramp"), "{trends}");

    // flamegraph samples the server under one scenario's load.
    if has_tool("perf") {
        let output = sandbox.xtask(&[
            "flamegraph",
            "--workload",
            "service",
            "--scenario",
            "burst",
            "--port",
            &port,
        ]);
        assert!(output.status.success(), "{}", text(&output));
        let dir = sandbox.results().pop().unwrap();
        assert!(dir.to_string_lossy().ends_with("-burst"), "{dir:?}");
        let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
        assert!(folded.contains("answer_request"), "the server was sampled");
        let scale = &read_json(&dir.join("run.json"))["scales"][0];
        assert_eq!(scale["scenario"], "burst");
        assert!(scale["load"]["metrics"]["ops_per_sec"].as_f64().unwrap() > 0.0);
        // The server's hottest functions are annotated like a program's,
        // and its raw recording is gone once they are.
        let annotated = scale["cpu_profile"]["annotated"].as_array().unwrap();
        assert!(!annotated.is_empty(), "{scale}");
        for a in annotated {
            assert!(dir.join(a["file"].as_str().unwrap()).is_file(), "{a}");
        }
        assert!(!dir.join("perf.data").exists());
    }

    let output = run("brust");
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("workload `service` has no scenario `brust` (did you mean `burst`?)"),
        "{out}"
    );
}

/// memory.json's before/after heap, checked against itself and the tool's
/// own figures.
fn check_under_load(memory: &serde_json::Value) -> (f64, f64) {
    let heap = &memory["under_load"];
    let number = |key: &str| {
        heap[key]
            .as_f64()
            .unwrap_or_else(|| panic!("no {key}: {memory}"))
    };
    let (before, after) = (number("before_bytes"), number("after_bytes"));
    assert!(before > 0.0 && after > 0.0, "{heap}");
    assert_eq!(number("growth_bytes"), after - before, "{heap}");
    // The demo server keeps a history of the requests it answered
    // (demo/src/store.rs): under a load its heap grows (by 350–800 KiB in a
    // second here), from about 75 KiB before.
    assert!(after - before > 32.0 * 1024.0, "{heap}");
    let (start, end, stopped) = (
        number("load_start_s"),
        number("load_end_s"),
        number("stopped_at_s"),
    );
    assert!(start < end && end <= stopped, "{heap}");
    assert!(number("before_at_s") <= start, "{heap}");
    assert!(number("after_at_s") <= stopped, "{heap}");
    // Never above the peak the tool reports (heaptrack prints it rounded).
    let peak = memory["peak_heap_bytes"].as_f64().unwrap();
    assert!(before <= peak * 1.01 && after <= peak * 1.01, "{memory}");
    (before, after)
}

#[test]
fn memory_of_the_service_under_heaptrack_has_the_heap_before_and_after_the_load() {
    if !has_tool("heaptrack") {
        eprintln!("note: heaptrack is not installed; skipping");
        return;
    }
    let sandbox = Sandbox::new("service-heaptrack", "");
    let port = free_port();
    let output = sandbox.xtask(&[
        "memory",
        "--workload",
        "service",
        "--tool",
        "heaptrack",
        "--port",
        &port,
        "--duration",
        "1",
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("heap before the load"), "{out}");
    // A workload named `service` is not announced as "the server service".
    assert!(
        out.contains("heaptrack: running the server `service` under it"),
        "{out}"
    );
    let dir = &sandbox.results()[0];
    let memory = read_json(&dir.join("memory.json"));
    assert_eq!(memory["tool"], "heaptrack");
    let (_, after) = check_under_load(&memory);
    // The server was stopped, not shut down: what it held then is what
    // heaptrack calls leaked (printed rounded to 3 digits).
    let leaked = memory["leaked_bytes"].as_f64().unwrap();
    assert!((after - leaked).abs() <= leaked * 0.01, "{memory}");
    assert!(
        memory["under_load"]["source"]
            .as_str()
            .unwrap()
            .starts_with("heaptrack timeline"),
        "{memory}"
    );
    // The server's own allocations are in the profile, and the load ran.
    assert!(
        memory["allocation_sites"].to_string().contains("cdr_demo"),
        "{memory}"
    );
    let run = read_json(&dir.join("run.json"));
    let load = &run["scales"][0]["load"];
    assert!(
        load["metrics"]["ops_per_sec"].as_f64().unwrap() > 0.0,
        "{run}"
    );
    assert!(dir.join("memory-flamegraph.svg").is_file());
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(readme.contains("| growth under the load |"), "{readme}");
    // The load's operations (its `ops` metric) give figures per operation.
    let operations = memory["operations"].as_f64().unwrap();
    assert_eq!(Some(operations), load["metrics"]["ops"].as_f64(), "{run}");
    assert!(
        readme.contains("| allocation calls per operation |"),
        "{readme}"
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port.parse::<u16>().unwrap())).is_err(),
        "the server still listens after the task"
    );

    // profile-baseline --memory on the service: the same figures in run.json.
    let output = sandbox.xtask(&[
        "profile-baseline",
        "--workload",
        "service",
        "--memory",
        "--no-profile",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--port",
        &port,
        "--duration",
        "1",
    ]);
    assert!(output.status.success(), "{}", text(&output));
    let dir = sandbox.results().pop().unwrap();
    let run = read_json(&dir.join("run.json"));
    check_under_load(&run["scales"][0]["memory"]);
    assert!(
        run["scales"][0]["memory"]["operations"].as_f64().unwrap() > 0.0,
        "{run}"
    );
    assert!(dir.join("memory-flamegraph.svg").is_file());

    // Two memory results of the same server compare per operation, and
    // their totals are shown but not gated.
    let output = sandbox.xtask(&["profile-compare", "previous", "latest"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    assert!(out.contains("allocations_per_op"), "{out}");
    assert!(
        out.contains("total_allocations (not gated: a total"),
        "{out}"
    );
    assert!(out.contains("Allocation changes by function"), "{out}");
}

#[test]
fn memory_of_the_service_under_massif_has_the_heap_before_and_after_the_load() {
    if !has_tool("valgrind") {
        eprintln!("note: valgrind is not installed; skipping");
        return;
    }
    let sandbox = Sandbox::new("service-massif", "");
    let port = free_port();
    let output = sandbox.xtask(&[
        "memory",
        "--workload",
        "service",
        "--tool",
        "massif",
        "--port",
        &port,
        "--duration",
        "1",
    ]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let memory = read_json(&dir.join("memory.json"));
    assert_eq!(memory["tool"], "massif");
    let (before, after) = check_under_load(&memory);
    // Both figures are snapshots of massif.out itself (heap + extra + stacks).
    let massif = std::fs::read_to_string(dir.join("massif.out")).unwrap();
    assert!(massif.contains("time_unit: ms"), "recorded in milliseconds");
    let totals: Vec<f64> = massif
        .split("snapshot=")
        .skip(1)
        .map(|snapshot| {
            let field = |key: &str| -> f64 {
                snapshot
                    .lines()
                    .find_map(|l| l.strip_prefix(key))
                    .unwrap()
                    .parse()
                    .unwrap()
            };
            field("mem_heap_B=") + field("mem_heap_extra_B=") + field("mem_stacks_B=")
        })
        .collect();
    assert!(totals.contains(&before), "{before} not in {totals:?}");
    assert!(totals.contains(&after), "{after} not in {totals:?}");
}
