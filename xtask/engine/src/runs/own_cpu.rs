//! What a step of the xtask costs in CPU time beyond its workload: the
//! xtask process's own (every thread, `getrusage(RUSAGE_SELF)`) and that of
//! the children it waited for (`RUSAGE_CHILDREN`), with the workload's tree
//! told apart (the children whose stop target is the workload: a bare run,
//! or perf record or heaptrack with the workload under them), from the
//! tally of `runs::process`. The kernel's own accounting, so that the same
//! step measures alike however the xtask does its work (in process, or in
//! children such as perf script).

use crate::runs::process;
use nix::sys::resource::{getrusage, UsageWho};
use std::path::Path;
use std::time::Duration;

/// The CPU time of one step.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StepCpu {
    /// The xtask process's own user and system time, all its threads.
    pub own: Duration,
    /// Every child waited for during the step, with the descendants each
    /// waited for.
    pub children: Duration,
    /// Of `children`, the workload's tree: the workload and what wraps it.
    pub workload_tree: Duration,
}

impl StepCpu {
    /// What the xtask adds to its workload and the wrapper that runs it:
    /// its own time and its other children's.
    pub fn added(&self) -> Duration {
        self.own + self.children.saturating_sub(self.workload_tree)
    }

    /// Everything the step cost: the xtask and all its children.
    pub fn total(&self) -> Duration {
        self.own + self.children
    }
}

/// Runs `step`, and measures what it cost, telling the tree of `workload`
/// (the program a run's spec stops) from the rest.
pub fn measure<T>(
    workload: &Path,
    step: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<(T, StepCpu)> {
    let (own_before, children_before) = (cpu_of(UsageWho::RUSAGE_SELF)?, children_cpu()?);
    process::open_tally();
    let done = step();
    let tallied = process::close_tally();
    let done = done?;
    let (own_after, children_after) = (cpu_of(UsageWho::RUSAGE_SELF)?, children_cpu()?);
    Ok((
        done,
        StepCpu {
            own: own_after.saturating_sub(own_before),
            children: children_after.saturating_sub(children_before),
            workload_tree: workload_tree(&tallied, workload),
        },
    ))
}

/// The CPU time of the children in `tallied` that ran `workload`.
fn workload_tree(tallied: &[process::ChildCpu], workload: &Path) -> Duration {
    tallied
        .iter()
        .filter(|child| child.stop_target.as_deref() == Some(workload))
        .map(|child| child.cpu)
        .sum()
}

fn children_cpu() -> anyhow::Result<Duration> {
    cpu_of(UsageWho::RUSAGE_CHILDREN)
}

/// User plus system time of `who`.
fn cpu_of(who: UsageWho) -> anyhow::Result<Duration> {
    let usage = getrusage(who).map_err(|e| anyhow::anyhow!("getrusage failed: {e}"))?;
    let duration = |t: nix::sys::time::TimeVal| {
        Duration::from_secs(t.tv_sec().max(0) as u64)
            + Duration::from_micros(t.tv_usec().max(0) as u64)
    };
    Ok(duration(usage.user_time()) + duration(usage.system_time()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workload_tree_is_the_children_that_ran_the_workload() {
        let child = |program: &str, target: Option<&str>, ms: u64| process::ChildCpu {
            program: program.into(),
            stop_target: target.map(Into::into),
            cpu: Duration::from_millis(ms),
        };
        let tallied = [
            child("/usr/bin/perf", Some("/demo"), 900),
            child("/usr/bin/perf", None, 300),
            child("/usr/bin/objdump", None, 20),
            child("/usr/bin/perf", Some("/other"), 7),
        ];
        assert_eq!(
            workload_tree(&tallied, Path::new("/demo")),
            Duration::from_millis(900)
        );
        let step = StepCpu {
            own: Duration::from_millis(100),
            children: Duration::from_millis(1227),
            workload_tree: Duration::from_millis(900),
        };
        assert_eq!(step.added(), Duration::from_millis(427));
        assert_eq!(step.total(), Duration::from_millis(1327));
    }

    /// A real child: its CPU is counted in `children`, and in the workload's
    /// tree only when it ran the workload.
    #[test]
    fn a_busy_child_is_counted_where_it_belongs() {
        let busy = || {
            let mut spec = process::Spec::new("sh")
                .args(["-c", "i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done"]);
            spec.timeout = Some(Duration::from_secs(30));
            spec
        };
        let ((), as_other) = measure(Path::new("/not-run"), || {
            process::run_checked(busy())?;
            Ok(())
        })
        .unwrap();
        assert!(
            as_other.children >= Duration::from_millis(20),
            "{as_other:?}"
        );
        assert_eq!(as_other.workload_tree, Duration::ZERO);
        assert_eq!(as_other.added(), as_other.total());
        let ((), as_workload) = measure(Path::new("/bin/sh-target"), || {
            let mut spec = busy();
            spec.stop_target = Some("/bin/sh-target".into());
            process::run_checked(spec)?;
            Ok(())
        })
        .unwrap();
        assert!(
            as_workload.workload_tree >= Duration::from_millis(20),
            "{as_workload:?}"
        );
        assert!(
            as_workload.workload_tree <= as_workload.children,
            "{as_workload:?}"
        );
        assert!(as_workload.added() < as_workload.total(), "{as_workload:?}");
    }
}
