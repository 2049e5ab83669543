//! A server's own measures, checked against the server's own accounting:
//! a Python server that burns CPU per request and tells its client, in each
//! reply, the CPU time it has spent so far (`os.times()`); the load client
//! prints the difference between its first and last reply as a metric. The
//! xtask's `server.cpu_s` of each load must match it, and the client's own
//! figures must appear only under `load.`.

use crate::common;

use common::{text, Sandbox};
use std::path::Path;

const SERVER: &str = r#"
import os, socket, sys, time
listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", int(sys.argv[1])))
listener.listen(64)
burn = float(sys.argv[2])
while True:
    conn, _ = listener.accept()
    request = conn.recv(16)
    if request.startswith(b"work"):
        start = time.process_time()
        while time.process_time() - start < burn:
            pass
    spent = os.times()
    conn.sendall(b"%.6f\n" % (spent.user + spent.system))
    conn.close()
"#;

const CLIENT: &str = r#"
import socket, sys
port, requests = int(sys.argv[1]), int(sys.argv[2])
def ask(what):
    conn = socket.create_connection(("127.0.0.1", port))
    conn.sendall(what)
    reply = conn.makefile().readline()
    conn.close()
    return float(reply)
first = ask(b"peek")
for _ in range(requests):
    ask(b"work")
last = ask(b"peek")
print("METRICS server_cpu=%.6f requests=%d" % (last - first, requests + 2))
"#;

fn config(dir: &Path, port: &str, burn: &str) -> String {
    let dir = dir.display();
    format!(
        r#"
[params.burn]
default = {burn}
help = "CPU seconds the test server burns per request"

[workloads.pysrv]
command = "python3"
args = ["{dir}/server.py", "{port}", "{{burn}}"]
ready = {{ port = "{port}", timeout = 10 }}

[workloads.pysrv.load]
command = "python3"
args = ["{dir}/client.py", "{port}", "8"]
ops = {{ metric = "requests" }}

[[workloads.pysrv.load.metrics]]
name = "server_cpu"
pattern = "server_cpu={{}}"
unit = "s"
better = "lower"

[[workloads.pysrv.load.metrics]]
name = "requests"
pattern = "requests={{}}"
unit = "requests"
better = "higher"
"#
    )
}

fn sandbox(name: &str, burn: &str) -> Sandbox {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
        .to_string();
    let scripts = std::env::temp_dir().join(format!("xtask-pysrv-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&scripts).unwrap();
    let sandbox = Sandbox::new(name, &config(&scripts, &port, burn));
    let dir = scripts.as_path();
    std::fs::write(dir.join("server.py"), SERVER).unwrap();
    std::fs::write(dir.join("client.py"), CLIENT).unwrap();
    sandbox
}

fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn samples(scale: &serde_json::Value, name: &str) -> Vec<f64> {
    scale["summaries"][name]["samples"]
        .as_array()
        .unwrap_or_else(|| panic!("no measure {name}: {scale}"))
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect()
}

#[test]
fn a_server_s_cpu_is_its_own_and_the_load_client_s_is_named_apart() {
    let sandbox = sandbox("server-own-cpu", "0.05");
    let args = [
        "profile-baseline",
        "--workload",
        "pysrv",
        "--runs",
        "3",
        "--warmup",
        "0",
        "--no-profile",
    ];
    let output = sandbox.xtask(&args);
    let out = text(&output);
    assert!(output.status.success(), "{out}");
    let dir = &sandbox.results()[0];
    let run = read_json(&dir.join("run.json"));
    assert_eq!(run["schema_version"], 2, "{run}");
    let scale = &run["scales"][0];
    let server = samples(scale, "server.cpu_s");
    let own = samples(scale, "server_cpu");
    assert_eq!(server.len(), 3);
    for (xtask, python) in server.iter().zip(&own) {
        // Eight requests of 50 ms each: about 0.4 s. Both read the kernel's
        // ticks (10 ms), over windows a few milliseconds apart.
        assert!(*python > 0.3, "the server burnt too little: {python}");
        let tolerance = (python * 0.05).max(0.025);
        assert!(
            (xtask - python).abs() <= tolerance,
            "server.cpu_s {xtask} against the server's own {python}: {out}"
        );
    }
    // The client only waits: its CPU is Python's start-up, under its name.
    let client = samples(scale, "load.cpu_s");
    assert!(
        client.iter().zip(&server).all(|(c, s)| c < &(s / 2.0)),
        "{scale}"
    );
    assert!(scale["summaries"].get("cpu_s").is_none(), "{scale}");
    // Per operation: the ten requests of each load.
    let per_op = samples(scale, "server.cpu_us_per_op");
    for (op, total) in per_op.iter().zip(&server) {
        assert!(
            (op - total * 1e6 / 10.0).abs() < 1e-6 * op.max(1.0),
            "{scale}"
        );
    }
    assert_eq!(samples(scale, "server.threads"), [1.0, 1.0, 1.0]);
    assert!(samples(scale, "server.max_rss_bytes")
        .iter()
        .all(|b| *b > 1e6));
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(
        readme.contains("Server: `") && readme.contains("server.py"),
        "{readme}"
    );
    assert!(
        readme.contains("Load: `") && readme.contains("client.py "),
        "{readme}"
    );
    assert!(
        readme.contains("server.\\* are the server's own"),
        "{readme}"
    );
}

#[test]
fn a_server_that_serves_more_is_compared_per_operation() {
    let sandbox = sandbox("server-per-op", "0.02");
    let base = [
        "profile-baseline",
        "--workload",
        "pysrv",
        "--runs",
        "4",
        "--warmup",
        "0",
        "--no-profile",
    ];
    for (label, burn) in [("a", "0.02"), ("b", "0.02"), ("slow", "0.04")] {
        let mut args = base.to_vec();
        args.extend(["--label", label, "--burn", burn]);
        let output = sandbox.xtask(&args);
        assert!(output.status.success(), "{}", text(&output));
    }
    // The same server twice: nothing regressed, and the client's figures
    // and the server's totals are shown but not gated.
    let output = sandbox.xtask(&["profile-compare", "a", "b", "--fail-on-regression"]);
    let out = text(&output);
    assert!(
        output.status.success(),
        "A/A of a server failed the gate: {out}"
    );
    assert!(out.contains("read server.cpu_us_per_op first"), "{out}");
    assert!(
        out.contains("load.cpu_s (not gated: the load client's)"),
        "{out}"
    );
    assert!(out.contains("server.cpu_s (not gated: a total"), "{out}");
    // Twice the CPU per request: the per-operation measure catches it.
    let output = sandbox.xtask(&["profile-compare", "a", "slow", "--fail-on-regression"]);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(3), "{out}");
    let line = out
        .lines()
        .find(|l| l.trim_start().starts_with("server.cpu_us_per_op"))
        .unwrap_or_else(|| panic!("{out}"));
    assert!(line.contains("regressed"), "{line}");
}

#[test]
fn a_drain_without_a_profile_is_refused_not_ignored() {
    let sandbox = sandbox("server-drain-no-profile", "0.01");
    let args = [
        "profile-baseline",
        "--workload",
        "pysrv",
        "--no-profile",
        "--drain",
        "1",
    ];
    let output = sandbox.xtask(&args);
    let out = text(&output);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(out.contains("--drain extends the CPU profile"), "{out}");
    assert!(sandbox.results().is_empty());
}
