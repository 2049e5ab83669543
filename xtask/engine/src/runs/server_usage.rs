//! What a running server spent while one load ran against it, from the
//! kernel's own accounting in `/proc` (Linux): its CPU time (user and
//! system, every thread, and the children it forks), its peak resident set
//! during the load, its threads before and after, and its context switches.
//!
//! The load client is measured apart (its own `wait4`): a server's figures
//! and its client's never mix.
//!
//! - CPU: `utime + stime + cutime + cstime` of `/proc/PID/stat`, summed over
//!   the server and every live process below it, read just before the load
//!   starts and just after it ends. A process's `utime` covers its dead
//!   threads too; `cutime` the children it has waited for.
//! - Peak RSS: `VmHWM` of `/proc/PID/status`, after writing `5` to
//!   `/proc/PID/clear_refs` before the load (the kernel then resets the
//!   high-water mark to the current RSS), summed over the process tree. When
//!   the reset is refused, the peak is the one since the server started, and
//!   [`ServerUsage::peak_since_start`] says so.
//! - Context switches: voluntary plus involuntary, summed over the threads
//!   alive at each end of the window (a thread that came and went within the
//!   load is missed).

use crate::runs::descendants::{clock_tick_s, cpu_ticks, process_tree};

/// A server's share of one load run.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerUsage {
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_bytes: u64,
    /// The peak RSS could not be reset before the load: it is the peak since
    /// the server started.
    pub peak_since_start: bool,
    pub threads_before: u64,
    pub threads_after: u64,
    pub ctx_switches: u64,
}

/// The counters read at one end of the load window.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Snapshot {
    cpu_ticks: (u64, u64),
    threads: u64,
    ctx_switches: u64,
    /// The sum of the processes' peak RSS so far, in KiB.
    peak_kib: u64,
}

/// Runs `load` while reading what the server `pid` (and its children)
/// spent over it. Off Linux, or when the server is gone before the load,
/// the usage is None and the load still runs.
pub fn during<T>(
    pid: i32,
    load: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, Option<ServerUsage>)> {
    let tree = process_tree(pid);
    let before = snapshot(&tree);
    let reset = reset_peak(&tree);
    let done = load()?;
    let after = snapshot(&process_tree(pid));
    let usage = match (before, after) {
        (Some(before), Some(after)) => Some(usage_between(before, after, reset)),
        _ => None,
    };
    Ok((done, usage))
}

fn usage_between(before: Snapshot, after: Snapshot, reset: bool) -> ServerUsage {
    let tick = clock_tick_s();
    // A child that ended unwaited takes its ticks with it: never below zero.
    let delta = |a: u64, b: u64| b.saturating_sub(a) as f64 * tick;
    ServerUsage {
        user_s: delta(before.cpu_ticks.0, after.cpu_ticks.0),
        sys_s: delta(before.cpu_ticks.1, after.cpu_ticks.1),
        max_rss_bytes: after.peak_kib * 1024,
        peak_since_start: !reset,
        threads_before: before.threads,
        threads_after: after.threads,
        ctx_switches: after.ctx_switches.saturating_sub(before.ctx_switches),
    }
}

/// The counters of the processes of `tree`, None when it is empty (the
/// server is gone).
fn snapshot(tree: &[i32]) -> Option<Snapshot> {
    if tree.is_empty() {
        return None;
    }
    let mut total = Snapshot::default();
    for member in tree {
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{member}/stat")) else {
            continue;
        };
        // User and system time, each with the waited-for children's.
        let ticks = cpu_ticks(&stat).unwrap_or_default();
        total.cpu_ticks.0 += ticks.user + ticks.children_user;
        total.cpu_ticks.1 += ticks.system + ticks.children_system;
        let status = std::fs::read_to_string(format!("/proc/{member}/status")).unwrap_or_default();
        total.threads += status_field(&status, "Threads").unwrap_or(0);
        total.peak_kib += status_field(&status, "VmHWM").unwrap_or(0);
        total.ctx_switches += task_switches(*member);
    }
    Some(total)
}

/// A `Name:  value` line of `/proc/PID/status`, its first number.
fn status_field(status: &str, name: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        (key == name).then(|| value.split_whitespace().next()?.parse().ok())?
    })
}

fn task_switches(pid: i32) -> u64 {
    let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return 0;
    };
    tasks
        .filter_map(|task| {
            let path = task.ok()?.path().join("status");
            let status = std::fs::read_to_string(path).ok()?;
            Some(
                status_field(&status, "voluntary_ctxt_switches").unwrap_or(0)
                    + status_field(&status, "nonvoluntary_ctxt_switches").unwrap_or(0),
            )
        })
        .sum()
}

/// Resets the peak RSS of the processes of `tree`; whether every reset took.
fn reset_peak(tree: &[i32]) -> bool {
    !tree.is_empty()
        && tree
            .iter()
            .all(|member| std::fs::write(format!("/proc/{member}/clear_refs"), "5").is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_user_and_system_ticks_with_those_of_children() {
        // utime 25, stime 5, cutime 3, cstime 1, after an odd comm.
        let stat = "9 (a) b) R 1 9 9 0 -1 4194304 100 0 0 0 25 5 3 1 20 0 1 0";
        let ticks = cpu_ticks(stat).unwrap();
        assert_eq!(
            (
                ticks.user + ticks.children_user,
                ticks.system + ticks.children_system
            ),
            (28, 6)
        );
        assert_eq!(cpu_ticks("9 (a) R 1 9"), None);
    }

    #[test]
    fn reads_status_fields() {
        let status = "Name:\tsrv\nVmHWM:\t   1024 kB\nThreads:\t7\nvoluntary_ctxt_switches:\t12\n";
        assert_eq!(status_field(status, "VmHWM"), Some(1024));
        assert_eq!(status_field(status, "Threads"), Some(7));
        assert_eq!(status_field(status, "Missing"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn measures_what_a_busy_child_spends_and_not_what_we_spend() {
        use std::time::{Duration, Instant};
        // A child that burns CPU until killed.
        let mut spec = crate::runs::process::Spec::new("sh");
        spec.args = vec!["-c".into(), "while :; do :; done".into()];
        let child = crate::runs::process::start(spec).unwrap();
        let pid = child.pid;
        let (_, usage) = during(pid, || {
            // This thread only sleeps: the child's time is all that counts.
            std::thread::sleep(Duration::from_millis(300));
            Ok(())
        })
        .unwrap();
        let started = Instant::now();
        child.stop(libc::SIGKILL, Duration::from_secs(1));
        let usage = usage.unwrap();
        let cpu = usage.user_s + usage.sys_s;
        // At most the window (on 2 cores a spinning child gets nearly all of
        // it; a busy machine may give it less, never more).
        assert!(cpu > 0.05 && cpu < 0.3 + 0.05, "{usage:?}");
        assert!(usage.max_rss_bytes > 0, "{usage:?}");
        assert_eq!((usage.threads_before, usage.threads_after), (1, 1));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(during(i32::MAX - 1, || Ok(())).unwrap().1.is_none());
    }
}
