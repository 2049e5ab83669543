//! Timed runs of a server workload: each is one run of the load against
//! the running server, measured twice over, apart: the load client by its
//! own `wait4` (its measures under `load.`), the server by its `/proc`
//! accounting over the load's window (`server.`, [`server_usage`]).
//! Where the load counts its operations (`ops`), the server's CPU time per
//! operation joins them.

use crate::config::measures::{
    is_builtin, LOAD_PREFIX, SERVER_CPU_PER_OP, SERVER_MEASURES, SERVER_PREFIX,
};
use crate::runs::measure::{self, MeasureSummary, RunSample};
use crate::runs::server_usage::{self, ServerUsage};
use crate::runs::workload::Prepared;
use std::collections::BTreeMap;

/// Warm-ups, then `runs` measured runs of `load` against the server `pid`,
/// each with the server's usage over it and the load's operation count.
pub fn timed_loads(
    pid: i32,
    load: &Prepared,
    warmup: u32,
    runs: u32,
) -> anyhow::Result<Vec<RunSample>> {
    measure::timed_runs_each(&load.name, (warmup, runs), |progress, is_warmup| {
        let (mut sample, usage) = server_usage::during(pid, || {
            measure::progress_step(load, progress, "", is_warmup)
        })?;
        sample.server = usage;
        sample.operations = load
            .ops
            .as_ref()
            .and_then(|ops| ops.operations(&sample.metrics, sample.wall_s));
        Ok(sample)
    })
}

/// A server's value of measure `name` (without its prefix) in one run.
fn server_value(name: &str, usage: &ServerUsage, operations: Option<f64>) -> Option<f64> {
    let cpu = usage.user_s + usage.sys_s;
    Some(match name {
        "cpu_us_per_op" => cpu * 1e6 / operations?,
        "cpu_s" => cpu,
        "user_s" => usage.user_s,
        "sys_s" => usage.sys_s,
        "max_rss_bytes" => usage.max_rss_bytes as f64,
        "threads" => usage.threads_after as f64,
        "ctx_switches" => usage.ctx_switches as f64,
        _ => return None,
    })
}

/// The measures of a server's timed loads: the server's own (`server.`),
/// the load's metrics under their names, and the load client's built-in
/// measures under `load.`. A server measure is kept only when every run has
/// it, so that its samples stay in run order.
pub fn summarize(samples: &[RunSample], load: &Prepared) -> BTreeMap<String, MeasureSummary> {
    let mut summaries: BTreeMap<String, MeasureSummary> = measure::summarize(samples, load)
        .into_iter()
        .map(|(name, summary)| match is_builtin(&name) {
            true => (format!("{LOAD_PREFIX}{name}"), summary),
            false => (name, summary),
        })
        .collect();
    for measure in SERVER_MEASURES {
        let values: Option<Vec<f64>> = samples
            .iter()
            .map(|s| server_value(measure.name, s.server.as_ref()?, s.operations))
            .collect();
        let Some(values) = values else { continue };
        let Some(summary) = crate::stats::summarize(&values) else {
            continue;
        };
        summaries.insert(
            format!("{SERVER_PREFIX}{}", measure.name),
            MeasureSummary {
                unit: measure.unit.into(),
                better: measure.better,
                samples: values,
                summary,
            },
        );
    }
    summaries
}

/// What a result should say about how its server was measured: whose
/// figures are whose, and what is missing.
pub fn notes(samples: &[RunSample], load: &Prepared) -> Vec<String> {
    let mut notes = vec![format!(
        "server.* are the server's own figures over each load (its /proc accounting: every thread and child); load.* are the load client's ({})",
        load.name
    )];
    if samples.iter().any(|s| s.server.is_none()) {
        notes.push("the server's own figures could not be read in every run (not Linux, or the server's /proc entry was gone): server.* are missing".into());
    }
    if samples
        .iter()
        .any(|s| s.server.as_ref().is_some_and(|u| u.peak_since_start))
    {
        notes.push("server.max_rss_bytes is the peak since the server started: the kernel refused to reset it before the load (/proc/PID/clear_refs)".into());
    }
    let first = samples.first().and_then(|s| s.server.as_ref());
    let last = samples.last().and_then(|s| s.server.as_ref());
    if let (Some(first), Some(last)) = (first, last) {
        if last.threads_after > first.threads_before {
            notes.push(format!(
                "the server's threads grew from {} to {} over the loads: a leak of threads (or of tasks that each hold one) shows this way",
                first.threads_before, last.threads_after
            ));
        }
    }
    match &load.ops {
        Some(ops) if samples.iter().all(|s| s.operations.is_some()) => notes.push(format!(
            "{SERVER_CPU_PER_OP}: the server's CPU time per operation, operations counted from {}",
            ops.describe()
        )),
        Some(ops) => notes.push(format!(
            "{SERVER_CPU_PER_OP} is missing: some load runs gave no operation count ({})",
            ops.describe()
        )),
        None => notes.push(format!(
            "no per-operation measures: declare how the load counts its operations (`ops` in [workloads.{}])",
            load.name
        )),
    }
    notes
}
