//! Counting a workload's instructions under valgrind's callgrind, for
//! `profile-compare --counter instructions`: one run with argv as prepared
//! and only the workload's declared environment, so that the count is
//! repeatable where timings are noisy. Building callgrind's argv and reading
//! its output is `tools::callgrind`; this runs it.

use crate::runs::measure::MeasureSummary;
use crate::runs::measure::RunFailure;
use crate::runs::process::{self, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::{callgrind, Toolbox};
use anyhow::Context;
use std::path::Path;

/// Counts the instructions of one run of `prepared` under callgrind, with
/// argv as prepared and only the workload's declared environment. Writes
/// callgrind.out into `dir`.
pub fn count_instructions(tools: &Toolbox, prepared: &Prepared, dir: &Path) -> anyhow::Result<u64> {
    let valgrind = tools
        .valgrind
        .path()
        .context("--counter instructions counts with valgrind's callgrind")?
        .to_path_buf();
    let env_program =
        which::which("env").context("`env` (to pin the environment) is not on PATH")?;
    let out = dir.join(callgrind::OUT_FILE);
    let env: Vec<(String, String)> = prepared
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut spec = Spec::new(env_program).args(callgrind::command(
        &valgrind,
        &out,
        &env,
        &prepared.program,
        &prepared.args,
    ));
    spec.cwd = Some(prepared.cwd.clone());
    // callgrind runs a program ~50x slower than natively.
    spec.timeout = Some(prepared.timeout.saturating_mul(50));
    spec.watch = vec!["Collected".into(), "Events".into()];
    let command = spec.display();
    let spinner = Progress::spinner(&format!("callgrind of {}", prepared.name));
    let outcome = process::run(spec)?;
    spinner.finish();
    if !outcome.success() {
        return Err(RunFailure {
            command,
            what: outcome.describe(Some(prepared.timeout.saturating_mul(50))),
            tail: outcome.tail(),
        }
        .into());
    }
    match std::fs::read_to_string(&out) {
        Ok(text) => callgrind::parse_out_file(&text).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the instruction count from {}: {e}",
                out.display()
            )
        }),
        Err(_) => {
            callgrind::parse_stderr(outcome.watched.iter().map(String::as_str)).with_context(|| {
                format!(
                    "callgrind wrote no {} and printed no `Collected :` line:\n{}",
                    out.display(),
                    outcome.tail()
                )
            })
        }
    }
}

/// The `instructions` measure of a result: one exact value.
pub fn instructions_summary(count: u64) -> MeasureSummary {
    let value = count as f64;
    MeasureSummary {
        unit: "instructions".into(),
        better: crate::config::Better::Lower,
        samples: vec![value],
        summary: crate::stats::summarize(&[value]).expect("one finite value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_counts_are_one_exact_sample() {
        let m = instructions_summary(27_948_688);
        assert_eq!(m.samples, vec![27_948_688.0]);
        assert_eq!((m.summary.n, m.summary.median), (1, 27_948_688.0));
        assert_eq!(m.better, crate::config::Better::Lower);
    }
}
