//! A service's whole life, end to end on loopback: a Go HTTP server (any
//! language: only its port and its load are declared) loaded by wrk, its
//! redis started by its setup before it and stopped after it, its teardown
//! run after a success, a failure and Ctrl-C, and its profile kept going for
//! a drain after the load.

use crate::common;

use common::{has_tool, text, Sandbox};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// The tools a test needs, or why it cannot run: a missing one skips on a
/// developer's machine and fails in CI (`has_tool`).
fn missing(tools: &[&str]) -> Option<String> {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !has_tool(t)).collect();
    (!missing.is_empty()).then(|| {
        format!(
            "note: {} not installed; skipping (on Debian: apt-get install wrk redis-server redis-tools golang-go linux-perf)",
            missing.join(", ")
        )
    })
}

/// The test server (tests/go/main.go), built once per test process with
/// `go build`; Go's build cache lives in the temp directory, shared by test
/// runs, so that a second build takes a second.
fn go_server() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let shared = std::env::temp_dir().join("xtask-e2e-go");
        let dir = std::env::temp_dir().join(format!("xtask-e2e-go-server-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("main.go"), include_str!("go/main.go")).unwrap();
        let binary = dir.join("life-server");
        let output = std::process::Command::new("go")
            .args(["build", "-o"])
            .arg(&binary)
            .arg("main.go")
            .current_dir(&dir)
            .env("GOCACHE", shared.join("cache"))
            .env("GOPATH", shared.join("gopath"))
            .env("GO111MODULE", "off")
            .env("CGO_ENABLED", "0")
            .env_remove("GOFLAGS")
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "go build failed: {}",
            text(&output)
        );
        binary
    })
}

/// A loopback port of its own for each use (tests run at once).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn listening(port: u16) -> bool {
    std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_millis(200),
    )
    .is_ok()
}

/// Whether nothing listens on `port` any more, waiting up to `limit`.
fn closed_within(limit: Duration, port: u16) -> bool {
    let deadline = Instant::now() + limit;
    while listening(port) {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

fn read_json(path: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap()
}

/// wrk against the server on `{port}` for a second, its throughput read
/// from its `Requests/sec:` line.
const WRK_LOAD: &str = r#"command = "wrk"
args = ["-t1", "-c4", "-d1s", "http://127.0.0.1:{port}/"]

[[workloads.WORKLOAD.load.metrics]]
name = "requests_per_sec"
pattern = "Requests/sec:{}"
unit = "req/s"
"#;

/// A config of the Go server as workload `web` (plain) and `flushing`
/// (burns CPU in `main.flushAfterLoad` once its load ends; `drain = 1.5`).
/// Go keeps frame pointers, and perf's DWARF unwinding does not follow its
/// stacks: `call_graph = "fp"`, as a Go project sets it.
fn web_config(port: u16) -> String {
    let server = go_server().display().to_string();
    let mut text = format!(
        "[defaults]\nresults_dir = \"{{results}}\"\nworkload = \"web\"\nannotate = 0\n\
         call_graph = \"fp\"\n\n\
         [params.port]\ndefault = {port}\n\n"
    );
    for (name, extra, drain) in [
        ("web", "", ""),
        ("flushing", ", \"-flush-after-load\"", "drain = 1.5\n"),
    ] {
        text.push_str(&format!(
            "[workloads.{name}]\ncommand = \"{server}\"\nargs = [\"-port\", \"{{port}}\"{extra}]\n\
             ready = {{ port = \"{{port}}\" }}\n{drain}\n[workloads.{name}.load]\n{}\n",
            WRK_LOAD.replace("WORKLOAD", name)
        ));
    }
    text
}

#[test]
fn a_go_server_under_wrk_is_timed_and_its_handler_is_in_the_flamegraph() {
    if let Some(note) = missing(&["go", "wrk", "perf"]) {
        eprintln!("{note}");
        return;
    }
    let port = free_port();
    let sandbox = Sandbox::raw("life-go", &web_config(port));
    let output = sandbox.xtask(&["profile-baseline", "--runs", "2", "--warmup", "0"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let scale = &read_json(&dir.join("run.json"))["scales"][0];
    let throughput = &scale["summaries"]["requests_per_sec"];
    assert_eq!(throughput["summary"]["n"], 2, "{scale}");
    assert!(
        throughput["summary"]["median"].as_f64().unwrap() > 100.0,
        "{scale}"
    );
    assert!(
        scale["load"]["metrics"]["requests_per_sec"]
            .as_f64()
            .unwrap()
            > 100.0
    );
    let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
    assert!(
        folded.contains("main.handler"),
        "the Go handler was not sampled"
    );
    assert!(!listening(port), "the server still listens after the task");
    // A Go server has its own measures, as any server: its CPU (several
    // threads), its threads, and the client's apart.
    let summaries = &scale["summaries"];
    assert!(
        summaries["server.cpu_s"]["summary"]["median"]
            .as_f64()
            .unwrap()
            > 0.05,
        "{scale}"
    );
    assert!(
        summaries["server.threads"]["summary"]["median"]
            .as_f64()
            .unwrap()
            >= 2.0,
        "{scale}"
    );
    assert!(summaries["load.cpu_s"].is_object(), "{scale}");
    // Goroutines' stacks start at runtime.goexit: complete, with no note
    // telling a Go project to set RUSTFLAGS.
    let complete = scale["cpu_profile"]["complete_stacks"].as_f64().unwrap();
    assert!(complete > 0.9, "{complete}: {scale}");
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(!readme.contains("RUSTFLAGS"), "{readme}");

    let output = sandbox.xtask(&["flamegraph"]);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = sandbox.results().pop().unwrap();
    let svg = std::fs::read_to_string(dir.join("flamegraph.svg")).unwrap();
    assert!(
        svg.contains("main.handler"),
        "no main.handler in the flamegraph"
    );
    assert!(
        svg.contains("main.checksum"),
        "no main.checksum in the flamegraph"
    );
}

#[test]
fn drain_keeps_sampling_the_server_after_its_load() {
    if let Some(note) = missing(&["go", "wrk", "perf"]) {
        eprintln!("{note}");
        return;
    }
    let port = free_port();
    let sandbox = Sandbox::raw("life-drain", &web_config(port));
    // The server starts flushing 0.3 s after its last request, for 1 s.
    let flushed = |args: &[&str]| -> (String, serde_json::Value, String) {
        let mut all = vec!["flamegraph", "--workload", "flushing"];
        all.extend(args);
        let output = sandbox.xtask(&all);
        assert!(output.status.success(), "{}", text(&output));
        let dir = sandbox.results().pop().unwrap();
        let folded = std::fs::read_to_string(dir.join("cpu.folded")).unwrap();
        let run = read_json(&dir.join("run.json"));
        let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
        (folded, run["scales"][0]["load"].clone(), readme)
    };
    let (folded, load, readme) = flushed(&[]);
    assert!(
        folded.contains("main.flushAfterLoad"),
        "drain = 1.5 did not keep sampling"
    );
    assert!(folded.contains("main.handler"));
    assert_eq!(load["drain_s"], 1.5, "{load}");
    assert!(
        readme.contains("The profile covers the load plus 1.5 s of drain"),
        "{readme}"
    );
    let (folded, load, readme) = flushed(&["--drain", "0"]);
    assert!(
        !folded.contains("main.flushAfterLoad"),
        "sampled after the load without a drain"
    );
    assert!(folded.contains("main.handler"));
    assert!(load.get("drain_s").is_none(), "{load}");
    assert!(!readme.contains("of drain"), "{readme}");

    // A drain is for servers: refused, not ignored, for a program.
    let output = Sandbox::new("life-drain-program", "").xtask(&["flamegraph", "--drain", "1"]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(
        text(&output).contains("`demo` is not a server workload"),
        "{}",
        text(&output)
    );
}

/// The Go server counting its requests in a redis that its setup starts
/// (`redis-server` on `{redis_port}`, then `redis-cli set greeting hello`,
/// then `{setup_probe}`); the server refuses to start without that
/// greeting. The teardown appends a line to `{marker}`.
fn redis_config(port: u16, redis_port: u16, marker: &Path) -> String {
    let server = go_server().display().to_string();
    format!(
        r#"[defaults]
results_dir = "{{results}}"
workload = "api"

[params.port]
default = {port}

[params.redis_port]
default = {redis_port}

[params.marker]
default = "{marker}"

[params.setup_probe]
default = "true"

[workloads.api]
command = "{server}"
args = ["-port", "{{port}}", "-redis", "{{redis_port}}"]
ready = {{ port = "{{port}}" }}

[[workloads.api.setup]]
command = "redis-server"
args = ["--port", "{{redis_port}}", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
ready = {{ port = "{{redis_port}}" }}

[[workloads.api.setup]]
command = "redis-cli"
args = ["-p", "{{redis_port}}", "set", "greeting", "hello"]

[[workloads.api.setup]]
command = "{{setup_probe}}"

[[workloads.api.teardown]]
command = "sh"
args = ["-c", "echo torn-down >> \"$1\"", "sh", "{{marker}}"]

[workloads.api.load]
{load}
[workloads.api.scenarios.broken]
command = "sh"
args = ["-c", "echo the load broke; exit 3"]

[workloads.api.scenarios.redis-dies]
command = "sh"
args = ["-c", "redis-cli -p \"$1\" shutdown nosave; sleep 0.3", "sh", "{{redis_port}}"]

[workloads.api.scenarios.long]
command = "sleep"
args = ["30"]
"#,
        marker = marker.display(),
        load = WRK_LOAD.replace("WORKLOAD", "api"),
    )
}

/// A sandbox for the redis-backed server, with its ports and marker.
struct RedisCase {
    sandbox: Sandbox,
    port: u16,
    redis_port: u16,
    marker: PathBuf,
}

impl RedisCase {
    fn new(name: &str) -> RedisCase {
        let (port, redis_port) = (free_port(), free_port());
        let marker =
            std::env::temp_dir().join(format!("xtask-{name}-{}.teardown", std::process::id()));
        let _ = std::fs::remove_file(&marker);
        let sandbox = Sandbox::raw(name, &redis_config(port, redis_port, &marker));
        RedisCase {
            sandbox,
            port,
            redis_port,
            marker,
        }
    }

    fn baseline(&self, args: &[&str]) -> std::process::Command {
        let mut all = vec![
            "profile-baseline",
            "--runs",
            "1",
            "--warmup",
            "0",
            "--no-profile",
        ];
        all.extend(args);
        self.sandbox.command(&all)
    }

    /// How many times the teardown ran.
    fn teardowns(&self) -> usize {
        std::fs::read_to_string(&self.marker)
            .unwrap_or_default()
            .lines()
            .filter(|l| *l == "torn-down")
            .count()
    }

    /// Neither redis nor the server outlived the task.
    fn assert_all_stopped(&self, out: &str) {
        assert!(
            closed_within(Duration::from_secs(5), self.redis_port),
            "redis outlived the task:\n{out}"
        );
        assert!(
            closed_within(Duration::from_secs(5), self.port),
            "the server outlived the task:\n{out}"
        );
    }
}

impl Drop for RedisCase {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.marker);
    }
}

#[test]
fn redis_is_set_up_before_the_server_and_torn_down_after_it_whatever_happens() {
    if let Some(note) = missing(&["go", "wrk", "redis-server", "redis-cli"]) {
        eprintln!("{note}");
        return;
    }
    let case = RedisCase::new("life-redis");
    // The server answers only with redis up and its greeting set.
    let output = case.baseline(&[]).output().unwrap();
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let run = read_json(&case.sandbox.results()[0].join("run.json"));
    assert!(
        run["scales"][0]["summaries"]["requests_per_sec"]["summary"]["median"]
            .as_f64()
            .unwrap()
            > 100.0,
        "{run}"
    );
    // Each step's line, in this order: redis, its greeting, then (after
    // the run) the teardown.
    let order = [
        ("setup: starting `", "redis-server --port"),
        ("setup: running `", "redis-cli -p"),
        ("teardown: running `", "torn-down"),
    ];
    let lines: Vec<&str> = out.lines().collect();
    let at: Vec<usize> = order
        .iter()
        .map(|(start, holds)| {
            lines
                .iter()
                .position(|l| l.starts_with(start) && l.contains(holds))
                .unwrap_or_else(|| panic!("no {start}…{holds}:\n{out}"))
        })
        .collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{out}");
    assert_eq!(case.teardowns(), 1, "{out}");
    case.assert_all_stopped(&out);

    // The load fails: redis is stopped and the teardown runs all the same.
    let output = case.baseline(&["--scenario", "broken"]).output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("the load broke"), "{out}");
    assert_eq!(case.teardowns(), 2, "{out}");
    case.assert_all_stopped(&out);

    // A one-shot step of the setup fails: named, with what it started stopped.
    let output = case.baseline(&["--setup_probe", "false"]).output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("false` (api: setup #3) failed: exit status 1"),
        "{out}"
    );
    assert!(
        !out.contains("listening on"),
        "the server started after a failed setup:\n{out}"
    );
    assert_eq!(case.teardowns(), 3, "{out}");
    case.assert_all_stopped(&out);

    // redis dies during the load: it is named, first.
    let output = case
        .baseline(&["--scenario", "redis-dies"])
        .output()
        .unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    let named = out
        .find("(api: setup #1) exited while the server ran: exit status 0")
        .unwrap_or_else(|| panic!("the dead dependency is not named:\n{out}"));
    let load = out.find("the server's run then failed").unwrap();
    assert!(named < load, "the dependency is not named first:\n{out}");
    assert_eq!(case.teardowns(), 4, "{out}");
    case.assert_all_stopped(&out);
}

#[test]
fn ctrl_c_stops_the_dependencies_and_still_runs_the_teardown() {
    if let Some(note) = missing(&["go", "redis-server", "redis-cli"]) {
        eprintln!("{note}");
        return;
    }
    let case = RedisCase::new("life-ctrl-c");
    let mut child = case
        .baseline(&["--scenario", "long"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Once the server listens, it is under its load (`sleep 30`).
    let deadline = Instant::now() + Duration::from_secs(60);
    while !listening(case.port) {
        assert!(Instant::now() < deadline, "the server never listened");
        assert!(child.try_wait().unwrap().is_none(), "the task ended early");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        listening(case.redis_port),
        "redis is not up while the server runs"
    );
    std::thread::sleep(Duration::from_millis(300));
    let sent = Instant::now();
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let output = child.wait_with_output().unwrap();
    let out = text(&output);
    assert_eq!(output.status.code(), Some(130), "{out}");
    assert!(sent.elapsed() < Duration::from_secs(10), "{out}");
    assert_eq!(
        case.teardowns(),
        1,
        "the teardown did not run after Ctrl-C:\n{out}"
    );
    case.assert_all_stopped(&out);
    assert!(case.sandbox.results().is_empty(), "{out}");
}
