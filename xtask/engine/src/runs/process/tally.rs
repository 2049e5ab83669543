//! The CPU time of each child waited for while a tally is open: what lets a
//! measure of the xtask's own cost tell the workload's process tree (perf
//! record with the workload under it, say) from the other children a step
//! starts (perf script, objdump), from the same `wait4` figures a run's
//! `Outcome` holds.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

/// One child the registry waited for.
#[derive(Debug, Clone, PartialEq)]
pub struct ChildCpu {
    pub program: PathBuf,
    /// The spec's `stop_target`: the workload, for the runs of a workload
    /// and for a wrapper that runs it (perf record, heaptrack).
    pub stop_target: Option<PathBuf>,
    /// User plus system time of the child and of the descendants it waited
    /// for (`wait4`).
    pub cpu: Duration,
}

/// None while no tally is open: children are then not recorded at all.
static TALLY: Mutex<Option<Vec<ChildCpu>>> = Mutex::new(None);

fn tally() -> std::sync::MutexGuard<'static, Option<Vec<ChildCpu>>> {
    TALLY.lock().unwrap_or_else(|e| e.into_inner())
}

/// Starts recording every child waited for from now on (and forgets what an
/// earlier tally recorded).
pub fn open_tally() {
    *tally() = Some(Vec::new());
}

/// Stops recording, and returns the children waited for since `open_tally`.
pub fn close_tally() -> Vec<ChildCpu> {
    tally().take().unwrap_or_default()
}

/// Records one child, when a tally is open.
pub(super) fn record(child: ChildCpu) {
    if let Some(children) = tally().as_mut() {
        children.push(child);
    }
}
