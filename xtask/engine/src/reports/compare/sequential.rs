//! `profile-compare --until-decided`: the measures that decide a one-shot
//! workload's comparison, judged pair by pair as the pairs come in
//! (`stats::sequential`), so that the task can stop as soon as each is
//! decided, and the comparison of the stored results gives the same
//! verdicts whatever the number of looks.

use super::model::{category_of, MeasureComparison, Outcome};
use crate::config::{measures, Thresholds};
use crate::results::record::ScaleRecord;
use crate::stats::sequential::{standing, Standing};
use crate::stats::{Analysis, Verdict};

/// The measures a sequential comparison decides on: wall and CPU time,
/// peak RSS, and the workload's own metrics.
fn decides(name: &str) -> bool {
    ["wall_s", "cpu_s", "max_rss_bytes"].contains(&name)
        || (!measures::is_builtin(name) && !measures::is_counter(name) && !name.contains('.'))
}

/// Each deciding measure's standing after the pairs of `a` and `b` (their
/// samples in run order, run i of A beside run i of B), each held to
/// alpha divided by their number.
pub fn standings(
    a: &ScaleRecord,
    b: &ScaleRecord,
    thresholds: &Thresholds,
    alpha: f64,
) -> Vec<(String, Standing)> {
    let names: Vec<&String> = b
        .summaries
        .keys()
        .filter(|n| decides(n) && a.summaries.contains_key(*n))
        .collect();
    let each = alpha / names.len().max(1) as f64;
    names
        .into_iter()
        .filter_map(|name| {
            let (ma, mb) = (&a.summaries[name], &b.summaries[name]);
            if ma.samples.len() != mb.samples.len() {
                return None;
            }
            let pairs: Vec<(f64, f64)> = ma
                .samples
                .iter()
                .copied()
                .zip(mb.samples.iter().copied())
                .collect();
            let limit = category_of(name, mb.better).limit_pct(thresholds) / 100.0;
            let noise = thresholds.noise / 100.0;
            Some((
                name.clone(),
                standing(&pairs, mb.better, limit, noise, each),
            ))
        })
        .collect()
}

/// Whether every deciding measure is decided.
pub fn all_decided(standings: &[(String, Standing)]) -> bool {
    !standings.is_empty()
        && standings
            .iter()
            .all(|(_, s)| s.verdict != Verdict::Inconclusive)
}

/// The sequential verdicts in place of the fixed-sample ones, for the
/// measures they decide: their change and its always-valid interval, and
/// the gate's view of them. The rest keep theirs.
pub fn apply(standings: &[(String, Standing)], measures: &mut [MeasureComparison]) {
    for m in measures.iter_mut() {
        let Some((_, s)) = standings.iter().find(|(n, _)| n == &m.name) else {
            continue;
        };
        if let Outcome::Sampled(c) = &mut m.outcome {
            c.verdict = s.verdict;
            c.change = s.change;
            c.ci_low = s.ci_low;
            c.ci_high = s.ci_high;
            c.analysis = Analysis::Sequential;
            c.runs_needed = None;
        }
        m.gate_failed = super::gate::gate_fails(m.gated, &m.outcome, m.better, m.limit_pct);
        m.p_family = None;
    }
}
