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

/// A process the test started (not the xtask): killed and reaped on drop,
/// so that a failing test leaves nothing running.
struct Target(std::process::Child);

impl Target {
    fn start(program: &str, args: &[&str]) -> Target {
        Target(
            std::process::Command::new(program)
                .args(args)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    }

    fn pid(&self) -> String {
        self.0.id().to_string()
    }

    fn alive(&mut self) -> bool {
        self.0.try_wait().unwrap().is_none()
    }
}

impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The demo binary, built as the xtask builds it.
fn cdr_demo() -> std::path::PathBuf {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let built = std::process::Command::new(cargo)
        .args([
            "build",
            "--profile",
            "profiling",
            "-p",
            "demo",
            "--bin",
            "cdr-demo",
        ])
        .current_dir(common::workspace())
        .output()
        .unwrap();
    assert!(built.status.success(), "{}", text(&built));
    common::workspace().join("target/profiling/cdr-demo")
}

/// `memory --pid` running in the background, its stderr read line by line.
struct Attaching {
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stderr: Vec<String>,
}

impl Attaching {
    fn start(sandbox: &Sandbox, args: &[&str]) -> Attaching {
        let mut child = sandbox
            .command(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (sender, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr)
                .lines()
                .map_while(Result::ok)
            {
                let _ = sender.send(line);
            }
        });
        Attaching {
            child,
            lines,
            stderr: Vec::new(),
        }
    }

    /// Waits (at most a minute) for a line of stderr containing `text`.
    fn wait_for(&mut self, text: &str) -> bool {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while let Ok(line) = self
            .lines
            .recv_timeout(deadline.saturating_duration_since(std::time::Instant::now()))
        {
            self.stderr.push(line.clone());
            if line.contains(text) {
                return true;
            }
        }
        false
    }

    /// Waits (at most two minutes, then kills it) for the xtask to end:
    /// its exit status and everything it printed.
    fn finish(mut self) -> (Option<i32>, String) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status.code();
            }
            if std::time::Instant::now() > deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                break None;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        };
        while let Ok(line) = self.lines.recv_timeout(std::time::Duration::from_secs(5)) {
            self.stderr.push(line);
        }
        let mut out = String::new();
        std::io::Read::read_to_string(&mut self.child.stdout.take().unwrap(), &mut out).unwrap();
        (
            status,
            format!(
                "{status:?}\n--- stdout\n{out}\n--- stderr\n{}",
                self.stderr.join("\n")
            ),
        )
    }
}

/// Whether the xtask refused because no gdb on PATH can inject here (gdb
/// 13 on a CPU with AMX): a skip on a developer's machine, a failure in CI,
/// whose .ci/run installs one that can.
fn gdb_cannot_inject(out: &str) -> bool {
    if !out.contains("gdb could not inject heaptrack") {
        return false;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "CI should have put a gdb that can inject first on PATH (.ci/run):\n{out}"
    );
    eprintln!("note: no gdb on PATH can inject here; skipping (.ci/run shows how to get one)");
    true
}

/// What heaptrack or gdb still runs for `pid`, and whether `pid` still holds
/// a heaptrack FIFO: both must be gone once the task ended.
fn attached_leftovers(pid: &str) -> Vec<String> {
    let mut left = Vec::new();
    let needle = format!("-p {pid}");
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if (cmdline.contains("heaptrack") || cmdline.contains("gdb")) && cmdline.contains(&needle) {
            left.push(cmdline);
        }
    }
    for fd in std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .flatten()
    {
        if let Ok(target) = std::fs::read_link(fd.path()) {
            if target.to_string_lossy().contains("heaptrack_fifo") {
                left.push(format!("PID {pid} still writes to {}", target.display()));
            }
        }
    }
    left
}

/// A request the demo server answers: it still serves.
fn serves(port: &str) -> bool {
    use std::io::{BufRead, Write};
    let Ok(mut stream) = std::net::TcpStream::connect(("127.0.0.1", port.parse().unwrap())) else {
        return false;
    };
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .unwrap();
    let mut reply = String::new();
    stream.write_all(b"GEN 5\n").is_ok()
        && std::io::BufReader::new(stream)
            .read_line(&mut reply)
            .is_ok()
        && reply.starts_with("OK ")
}

#[test]
fn memory_pid_records_a_running_server_under_load_and_leaves_it_serving() {
    if !has_tool("heaptrack") || !has_tool("gdb") {
        eprintln!("note: heaptrack or gdb is not installed; skipping");
        return;
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let demo = cdr_demo();
    let demo = demo.to_str().unwrap();
    let mut server = Target::start(demo, &["serve", "--port", &port]);
    let mut ready = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(server.0.stdout.as_mut().unwrap()),
        &mut ready,
    )
    .unwrap();
    assert!(ready.contains("listening"), "{ready}");
    let pid = server.pid();
    let sandbox = Sandbox::new("memory-pid", "");

    // What cannot attach is refused before anything is touched.
    let output = sandbox.xtask(&["memory", "--pid", &pid, "--tool", "massif"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("massif cannot attach"),
        "{}",
        text(&output)
    );
    let output = sandbox.xtask(&["memory", "--pid", &pid, "--subs", "5"]);
    assert!(
        text(&output).contains("(--subs) does not apply"),
        "{}",
        text(&output)
    );

    let mut attaching = Attaching::start(&sandbox, &["memory", "--pid", &pid, "--run-for", "2"]);
    let recording = attaching.wait_for("heaptrack: recording the heap of PID");
    // A load while heaptrack records: each request allocates in answer_request.
    let load = std::process::Command::new(demo)
        .args(["load", "--port", &port, "--workers", "1", "--duration", "1"])
        .output()
        .unwrap();
    let (status, out) = attaching.finish();
    if gdb_cannot_inject(&out) {
        return;
    }
    assert!(recording, "{out}");
    assert!(load.status.success(), "{}", text(&load));
    assert_eq!(status, Some(0), "{out}");
    assert!(
        out.contains(&format!("PID {pid} is still running")),
        "{out}"
    );
    assert!(server.alive(), "the attached server was stopped:\n{out}");
    assert!(serves(&port), "the server no longer answers:\n{out}");
    let left = attached_leftovers(&pid);
    assert!(left.is_empty(), "{left:?}");

    let dir = &sandbox.results()[0];
    let run = read_json(&dir.join("run.json"));
    let scale = &run["scales"][0];
    assert_eq!(run["task"], "memory");
    assert_eq!(run["workload"], "pid-cdr-demo", "{run}");
    assert_eq!(scale["attached"]["pid"].to_string(), pid, "{scale}");
    assert_eq!(scale["attached"]["ended_by"], "--run-for 2 s", "{scale}");
    let seconds = scale["attached"]["seconds"].as_f64().unwrap();
    assert!((2.0..6.0).contains(&seconds), "{scale}");
    let memory = read_json(&dir.join("memory.json"));
    assert_eq!(memory["tool"], "heaptrack");
    assert!(
        memory["total_allocations"].as_u64().unwrap() > 100,
        "{memory}"
    );
    assert!(
        memory["allocation_sites"]
            .to_string()
            .contains("cdr_demo::service::answer_request"),
        "{memory}"
    );
    assert!(memory["notes"]
        .to_string()
        .contains("before heaptrack was injected are not seen"));
    let svg = std::fs::read_to_string(dir.join("memory-flamegraph.svg")).unwrap();
    assert!(
        svg.contains("answer_request"),
        "the flamegraph lacks the request's allocations"
    );
    assert!(
        svg.contains(&format!("PID {pid}:")),
        "the title names the PID"
    );
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains(&format!(
            "Attached to the running process PID {pid} (`{demo} serve"
        )) && readme.contains("it was left running"),
        "{readme}"
    );
}

/// A program that allocates without pause and does not ignore SIGPIPE: if
/// heaptrack were stopped under it, it would die writing to heaptrack's FIFO.
const ALLOCATES: [&str; 2] = [
    "-e",
    r#"while (1) { my @a = map { "x" x $_ } 1..2000; select(undef, undef, undef, 0.005) }"#,
];

#[test]
fn interrupting_memory_pid_detaches_first_and_leaves_the_process_running() {
    if !has_tool("heaptrack") || !has_tool("gdb") || !has_tool("perl") {
        eprintln!("note: heaptrack, gdb or perl is not installed; skipping");
        return;
    }
    let sandbox = Sandbox::new("memory-pid-signals", "");
    // Ctrl-C ends the recording, even a timed one, and keeps it; SIGTERM
    // interrupts the task, which writes nothing. Both let go of the process.
    for (signal, expected) in [(libc::SIGINT, Some(0)), (libc::SIGTERM, Some(130))] {
        let mut target = Target::start("perl", &ALLOCATES);
        let pid = target.pid();
        let mut attaching =
            Attaching::start(&sandbox, &["memory", "--pid", &pid, "--run-for", "60"]);
        let recording = attaching.wait_for("heaptrack: recording the heap of PID");
        std::thread::sleep(std::time::Duration::from_millis(800));
        // SAFETY: kill has no memory-safety preconditions.
        unsafe { libc::kill(attaching.child.id() as i32, signal) };
        let (status, out) = attaching.finish();
        if gdb_cannot_inject(&out) {
            return;
        }
        assert!(recording, "{out}");
        assert_eq!(status, expected, "signal {signal}:\n{out}");
        assert!(
            target.alive(),
            "signal {signal} took the process down:\n{out}"
        );
        let left = attached_leftovers(&pid);
        assert!(left.is_empty(), "signal {signal}: {left:?}\n{out}");
        // heaptrack's library stays in the process: a second attach is
        // refused, before anything touches it.
        let output = sandbox.xtask(&["memory", "--pid", &pid]);
        let out = text(&output);
        assert_eq!(output.status.code(), Some(1), "{out}");
        assert!(out.contains("was attached to by heaptrack before"), "{out}");
        assert!(target.alive());
    }
    let results = sandbox.results();
    assert_eq!(results.len(), 1, "{:?}", sandbox.entries());
    let run = read_json(&results[0].join("run.json"));
    assert_eq!(run["scales"][0]["attached"]["ended_by"], "Ctrl-C", "{run}");
    assert!(
        !sandbox.entries().iter().any(|e| e.starts_with('.')),
        "{:?}",
        sandbox.entries()
    );
}
