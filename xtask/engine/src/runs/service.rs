//! Server workloads: start the server, wait until it is ready, run the load
//! scenario against it, stop it gracefully.

use crate::config::Ready;
use crate::runs::process::{self, Outcome, Running, Spec};
use crate::runs::service_setup::{with_setup, ServerPlan};
use crate::runs::workload::Prepared;
use anyhow::bail;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a server gets between SIGINT and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Readiness with placeholders expanded.
#[derive(Debug, Clone)]
pub struct Readiness {
    pub port: Option<u16>,
    pub line: Option<String>,
    pub timeout: Duration,
}

impl Readiness {
    pub fn from_config(
        ready: &Ready,
        values: &BTreeMap<String, String>,
    ) -> anyhow::Result<Readiness> {
        let port = match &ready.port {
            Some(port) => {
                let text =
                    crate::config::expand(port.get_ref(), values).map_err(anyhow::Error::msg)?;
                Some(
                    text.parse::<u16>()
                        .map_err(|_| anyhow::anyhow!("ready.port `{text}` is not a port number"))?,
                )
            }
            None => None,
        };
        Ok(Readiness {
            port,
            line: match &ready.line {
                Some(line) => {
                    Some(crate::config::expand(line, values).map_err(anyhow::Error::msg)?)
                }
                None => None,
            },
            timeout: Duration::from_secs_f64(ready.timeout),
        })
    }
}

impl Readiness {
    /// What readiness waits for, as a message says it.
    pub fn awaited(&self) -> String {
        let port = self
            .port
            .map(|p| format!("127.0.0.1:{p} to accept connections"));
        let line = self
            .line
            .as_ref()
            .map(|l| format!("an output line containing {l:?}"));
        match (line, port) {
            (Some(line), Some(port)) => format!("{line}, then {port}"),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => "nothing".into(),
        }
    }
}

/// Starts the server and waits until it is ready. On failure the server is
/// stopped and its output tail reported.
pub fn start_server(server: &Prepared, ready: &Readiness) -> anyhow::Result<Running> {
    let mut spec = server.spec();
    // The server runs as long as the load needs; its own timeout does not apply.
    spec.timeout = None;
    spec.run_for = None;
    start_server_spec(spec, ready)
}

/// [`start_server`] for a server under a wrapper (heaptrack, valgrind):
/// `spec` runs it, and names it as its `stop_target`.
pub fn start_server_spec(spec: Spec, ready: &Readiness) -> anyhow::Result<Running> {
    start_ready(spec, ready, "the server")
}

/// Starts `spec` (the server, or `who` else: a dependency of its setup)
/// and waits until it is ready. On failure it is stopped and its output
/// tail reported.
pub fn start_ready(mut spec: Spec, ready: &Readiness, who: &str) -> anyhow::Result<Running> {
    if let Some(port) = ready.port {
        if port_open(port) {
            bail!("port {port} on 127.0.0.1, where {who} is to listen, is already in use: stop what listens there, or pass another port (a `--NAME` flag of the parameter that sets it)");
        }
    }
    spec.watch.extend(ready.line.iter().cloned());
    let running = process::start(spec)?;
    let deadline = Instant::now() + ready.timeout;
    let is_ready = match (&ready.line, ready.port) {
        (Some(line), port) => {
            running.wait_for_line(line, ready.timeout)
                && port.is_none_or(|p| wait_for_port(p, deadline, &running))
        }
        (None, Some(port)) => wait_for_port(port, deadline, &running),
        (None, None) => true,
    };
    if !is_ready {
        let alive = running.is_running();
        let outcome = running.stop(libc::SIGINT, STOP_GRACE);
        bail!(
            "{who} {} within {} s, waiting for {} ({})\n  help: raise `ready.timeout`, or check that `ready` matches what it does\n{}",
            if alive {
                "did not become ready"
            } else {
                "exited before it was ready"
            },
            ready.timeout.as_secs_f64(),
            ready.awaited(),
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(running)
}

/// The server's `stop_signal` (SIGINT by default), then SIGTERM, then
/// SIGKILL, each after the grace period.
pub fn stop_server(running: Running, server: &Prepared) -> Outcome {
    running.stop(server.stop_signal, STOP_GRACE)
}

/// Runs `work` (the load, timed or sampled) against the server, started
/// and ready between its setup and teardown (`plan`), then stops the
/// server. A server that died meanwhile shows up in `work` as the load's
/// own error (a reset connection): its end is named first, the load's
/// error after it.
pub fn under_load<T>(
    server: &Prepared,
    plan: &ServerPlan,
    work: impl FnOnce(&Running) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    with_setup(plan, || server_life(server, &plan.ready, work))
}

/// Starts the server, runs `work` against it, and stops it.
fn server_life<T>(
    server: &Prepared,
    ready: &Readiness,
    work: impl FnOnce(&Running) -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let running = start_server(server, ready)?;
    let done = work(&running);
    let died = !running.is_running();
    let outcome = stop_server(running, server);
    let done = match done {
        Err(load_error) if died => bail!(
            "the server exited during the load: {}\n{}\n  the load then failed: {load_error:#}",
            outcome.describe(None),
            outcome.tail()
        ),
        done => done?,
    };
    if outcome.stopped.as_ref().is_some_and(|sent| sent.len() > 1) {
        eprintln!(
            "warning: the server ignored its stop signal and was stopped with {}",
            outcome.stopped_with().unwrap_or_default()
        );
    }
    Ok(done)
}

/// After the load: lets the server (`pid`) run on for `drain` while its
/// profile goes on, so that what it does then (flushing, background work)
/// is recorded. Ends early when the server ends or the task is interrupted.
pub fn drain_after_load(pid: i32, drain: Duration) {
    if drain.is_zero() {
        return;
    }
    eprintln!(
        "drain: the server runs on for {} s after the load, still profiled",
        drain.as_secs_f64()
    );
    let deadline = Instant::now() + drain;
    while Instant::now() < deadline && process::process_alive(pid) && !process::interrupted() {
        std::thread::sleep((deadline - Instant::now()).min(Duration::from_millis(20)));
    }
}

fn wait_for_port(port: u16, deadline: Instant, server: &Running) -> bool {
    while Instant::now() < deadline {
        if port_open(port) {
            return true;
        }
        if !server.is_running() {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn port_open(port: u16) -> bool {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&address, Duration::from_millis(200)).is_ok()
}
