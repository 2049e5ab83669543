//! Timed runs: warm-ups, then N measured runs, each with wall, user and sys
//! time, peak RSS, exit status and the workload's own metrics.

use crate::config::{Better, BUILTIN_MEASURES};
use crate::runs::process::{self, Outcome};
use crate::runs::progress::Progress;
use crate::runs::workload::{read_metrics, Prepared};
use crate::stats::Summary;
use std::collections::BTreeMap;

/// One measured run: its times, peak memory, exit code and metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSample {
    pub wall_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_bytes: u64,
    pub exit_code: Option<i32>,
    pub metrics: BTreeMap<String, f64>,
    /// What the result should warn about this run's metrics (an optional one
    /// missing, one printed twice).
    pub warnings: Vec<String>,
}

/// A measure across runs: its samples, in run order, and their summary.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureSummary {
    pub unit: String,
    pub better: Better,
    pub samples: Vec<f64>,
    pub summary: Summary,
}

/// A run that did not succeed: what happened and the tail of its output.
#[derive(Debug)]
pub struct RunFailure {
    pub command: String,
    pub what: String,
    pub tail: String,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the workload failed: {}\n  command: {}\n{}",
            self.what, self.command, self.tail
        )
    }
}

impl std::error::Error for RunFailure {}

/// Runs a workload once and turns its outcome into a sample. A run whose
/// output lacks a required metric fails like one that exits non-zero: a
/// result without the metric would let a comparison pass without it.
pub fn run_once(prepared: &Prepared) -> anyhow::Result<(RunSample, Outcome)> {
    let spec = prepared.spec();
    let command = spec.display();
    let outcome = process::run(spec)?;
    if !outcome.success() {
        return Err(RunFailure {
            command,
            what: outcome.describe(Some(prepared.timeout)),
            tail: outcome.tail(),
        }
        .into());
    }
    let sample = sample_of(&outcome, prepared).map_err(|what| RunFailure {
        command,
        what,
        tail: outcome.tail(),
    })?;
    Ok((sample, outcome))
}

/// The sample of a successful run, or what is wrong with its metrics.
pub fn sample_of(outcome: &Outcome, prepared: &Prepared) -> Result<RunSample, String> {
    let reading = read_metrics(&prepared.metrics, &outcome.watched);
    if !reading.errors.is_empty() {
        let stopped = match outcome.stopped_with() {
            Some(signals) => format!(
                " (it was stopped on purpose after {:.1} s with {signals}: print the metrics when that signal arrives)",
                outcome.wall.as_secs_f64()
            ),
            None => String::new(),
        };
        return Err(format!(
            "its output lacks a declared metric: {}\n  help: make the workload print each metric as its pattern says{stopped}, or mark the metric `required = false`",
            reading.errors.join("; ")
        ));
    }
    Ok(RunSample {
        wall_s: outcome.wall.as_secs_f64(),
        user_s: outcome.user.as_secs_f64(),
        sys_s: outcome.sys.as_secs_f64(),
        max_rss_bytes: outcome.max_rss_bytes,
        exit_code: outcome.status.code(),
        metrics: reading.values,
        warnings: reading.warnings,
    })
}

/// The metric warnings of measured runs, each once, with how many runs had it.
pub fn metric_warnings(samples: &[RunSample]) -> Vec<String> {
    let mut counted: Vec<(&String, usize)> = Vec::new();
    for warning in samples.iter().flat_map(|s| &s.warnings) {
        match counted.iter_mut().find(|(w, _)| *w == warning) {
            Some((_, n)) => *n += 1,
            None => counted.push((warning, 1)),
        }
    }
    counted
        .into_iter()
        .map(|(warning, n)| format!("{warning} (in {n} of {} runs)", samples.len()))
        .collect()
}

/// One run of a sequence of warm-ups and measured runs, shown as a step of
/// `progress` (`who` leads the step's text: a revision, or nothing).
pub fn progress_step(
    prepared: &Prepared,
    progress: &Progress,
    who: &str,
    is_warmup: bool,
) -> anyhow::Result<RunSample> {
    let (sample, _) = run_once(prepared).inspect_err(|_| progress.abandon())?;
    progress.step(&format!(
        "{who}{} {:.3} s",
        if is_warmup { "warm-up" } else { "run" },
        sample.wall_s
    ));
    Ok(sample)
}

/// Warm-ups, then `runs` measured runs.
pub fn timed_runs(prepared: &Prepared, warmup: u32, runs: u32) -> anyhow::Result<Vec<RunSample>> {
    let progress = Progress::bar(u64::from(warmup + runs), &format!("{} ", prepared.name));
    let mut samples = Vec::with_capacity(runs as usize);
    for i in 0..warmup + runs {
        let is_warmup = i < warmup;
        progress.set_message(if is_warmup {
            format!("warm-up {}/{warmup}", i + 1)
        } else {
            format!("run {}/{runs}", i + 1 - warmup)
        });
        let sample = progress_step(prepared, &progress, "", is_warmup)?;
        if !is_warmup {
            samples.push(sample);
        }
    }
    progress.finish();
    Ok(samples)
}

/// Per-measure samples and summaries: time, RSS, and each declared metric.
pub fn summarize(samples: &[RunSample], prepared: &Prepared) -> BTreeMap<String, MeasureSummary> {
    let value = |name: &str, sample: &RunSample| match name {
        "wall_s" => sample.wall_s,
        "cpu_s" => sample.user_s + sample.sys_s,
        "user_s" => sample.user_s,
        "sys_s" => sample.sys_s,
        _ => sample.max_rss_bytes as f64,
    };
    let mut measures: Vec<(String, String, Better, Vec<f64>)> = BUILTIN_MEASURES
        .iter()
        .map(|m| {
            let values = samples.iter().map(|s| value(m.name, s)).collect();
            (m.name.to_string(), m.unit.to_string(), m.better, values)
        })
        .collect();
    for metric in &prepared.metrics {
        let values: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.metrics.get(&metric.name).copied())
            .collect();
        measures.push((
            metric.name.clone(),
            metric.unit.clone(),
            metric.better,
            values,
        ));
    }
    measures
        .into_iter()
        .filter_map(|(name, unit, better, values)| {
            let summary = crate::stats::summarize(&values)?;
            Some((
                name,
                MeasureSummary {
                    unit,
                    better,
                    samples: values,
                    summary,
                },
            ))
        })
        .collect()
}

/// Coefficient of variation above which timings are called noisy.
pub const NOISY_CV: f64 = 0.05;

pub fn noise_warnings(summaries: &BTreeMap<String, MeasureSummary>) -> Vec<String> {
    summaries
        .iter()
        .filter(|(name, m)| name.as_str() == "wall_s" && m.summary.n > 1 && m.summary.cv > NOISY_CV)
        .map(|(name, m)| {
            format!(
                "{name} is noisy (coefficient of variation {:.1} %): close other programs, or add runs (--runs)",
                m.summary.cv * 100.0
            )
        })
        .collect()
}
