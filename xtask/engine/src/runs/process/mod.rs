//! Running one child program: argv (never a shell), a process group of its
//! own, a timeout, resource usage from the OS, and the tails of its output.
//!
//! Why a process group: a workload may start children of its own (a profiler
//! certainly does), and stopping only the direct child would leave the rest
//! running. Every child is registered so that Ctrl-C, SIGTERM and SIGHUP stop
//! every group before the xtask exits; on Linux the child also gets
//! `PR_SET_PDEATHSIG`, so even a `kill -9` of the xtask takes it down, and the
//! xtask is a child subreaper, so descendants that left the group (`setsid`)
//! are found and stopped too (`runs::descendants`).

mod direct;
mod echo;
mod output;
mod running;
mod signals;
mod spec;
mod tally;
#[cfg(test)]
mod tests;

pub use direct::{open_detached, run_in_foreground, spawn_detached, spawn_measured, Measured};
pub use echo::{echo, set_verbose, verbose};
pub use running::{start, Outcome, Running};
pub use signals::{
    check_interrupted, commit_unless_interrupted, ctrl_c_ends_recording, exit, forget_release,
    install_interrupt_handler, interrupted, process_alive, recording_ended, release_before_stop,
    Interrupted, INTERRUPTED_EXIT,
};
pub use spec::{shell_quote, signal_name, RunFor, Spec};
pub use tally::{close_tally, open_tally, ChildCpu};

use anyhow::{bail, Context};

/// Runs a child to completion.
pub fn run(spec: Spec) -> anyhow::Result<Outcome> {
    Ok(start(spec)?.wait())
}

/// Runs a child and fails with its output tail unless it succeeds.
pub fn run_checked(spec: Spec) -> anyhow::Result<Outcome> {
    let timeout = spec.timeout;
    let display = spec.display();
    let outcome = run(spec)?;
    if !outcome.success() {
        bail!(
            "`{display}` failed: {}\n{}",
            outcome.describe(timeout),
            outcome.tail()
        );
    }
    Ok(outcome)
}

/// Runs a child to its end and returns all it printed on stdout; fails
/// with its output tail unless it succeeds. For listings that are parsed
/// whole (objdump's disassembly, criterion's benchmarks).
pub fn stdout_of(spec: Spec) -> anyhow::Result<String> {
    let display = spec.display();
    String::from_utf8(stdout_bytes_of(spec)?)
        .with_context(|| format!("the output of `{display}` is not UTF-8"))
}

/// [`stdout_of`] as bytes, for output that need not be text (paths in a
/// git tree).
pub fn stdout_bytes_of(mut spec: Spec) -> anyhow::Result<Vec<u8>> {
    spec.stdout_raw = true;
    spec.answer_only = true;
    let display = spec.display();
    let mut child = start(spec)?;
    let mut bytes = Vec::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_end(&mut stdout, &mut bytes)
            .with_context(|| format!("cannot read the output of `{display}`"))?;
    }
    let outcome = child.wait();
    if !outcome.success() {
        bail!(
            "`{display}` failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(bytes)
}
