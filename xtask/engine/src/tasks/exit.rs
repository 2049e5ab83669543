//! Exit codes scripts can rely on (documented in docs/tasks.md). Tasks return
//! them; `main` turns them into the process's exit status.

/// A task failed (bad input, a tool error, a failed workload).
pub const FAILURE: u8 = 1;
/// Usage error (clap's own).
pub const USAGE: u8 = 2;
/// `profile-compare --fail-on-regression` found a regression beyond its threshold.
pub const REGRESSION: u8 = 3;
/// `doctor`: the default tasks cannot run on this machine.
pub const TOOLS_MISSING: u8 = 4;
/// `memory --leak-check`: more bytes definitely lost than `thresholds.leaked_bytes`.
pub const LEAKS: u8 = 5;
/// `profile-compare --fail-on-inconclusive`: a gated measure was inconclusive.
pub const INCONCLUSIVE: u8 = 6;
/// Interrupted by Ctrl-C, SIGTERM or SIGHUP (128 + SIGINT, as shells report
/// it); `runs::process::exit` turns any exit after an interrupt into it.
pub const INTERRUPTED: u8 = crate::runs::process::INTERRUPTED_EXIT;
