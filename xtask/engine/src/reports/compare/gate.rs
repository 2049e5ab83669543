//! The regression gate over a comparison: which gated measures regressed
//! significantly beyond their limit, whether any gated measure could have
//! shown a change at all, and the outcome (`GateOutcome`) that
//! `tasks::compare` turns into an exit status. Part of the model: it reads
//! the compared measures and renders nothing.

use super::model::{Counter, MeasureComparison, Outcome, ScaleComparison, Settings};
use crate::config::Better;
use crate::results::record::ScaleRecord;
use crate::stats::familywise;
use crate::stats::Verdict;
use serde::Serialize;

/// Decides the gate for one measure: a regression is a failure only when it
/// is significant (the verdict: p < alpha and the whole confidence interval
/// beyond the noise band) *and* its estimated size is beyond the measure's
/// limit. Exact comparisons already apply the limit in their verdict.
pub fn gate_fails(gated: bool, outcome: &Outcome, better: Better, limit_pct: f64) -> bool {
    if !gated {
        return false;
    }
    match outcome {
        Outcome::Sampled(c) => {
            let worse_by = match better {
                Better::Lower => c.change,
                Better::Higher => -c.change,
            };
            c.verdict == Verdict::Regressed && worse_by * 100.0 > limit_pct
        }
        Outcome::Exact(e) => e.verdict == Verdict::Regressed,
    }
}

/// The p-values of one scale's gated, sampled measures adjusted as one
/// family (`stats::familywise`: by permutation of whole runs, so that
/// measures that move together cost little), into each measure's
/// `p_family`. Where the measures' samples do not line up run by run (a
/// metric missing from some runs), Holm's bound instead.
pub fn family_p_values(
    a: &ScaleRecord,
    b: &ScaleRecord,
    paired: bool,
    measures: &mut [MeasureComparison],
) {
    // The gated, sampled measures both sides have, with their own p-value.
    let family: Vec<(usize, f64)> = measures
        .iter()
        .enumerate()
        .filter(|(_, m)| m.gated)
        .filter(|(_, m)| a.summaries.contains_key(&m.name) && b.summaries.contains_key(&m.name))
        .filter_map(|(i, m)| match &m.outcome {
            Outcome::Sampled(c) => Some((i, c.p_value)),
            Outcome::Exact(_) => None,
        })
        .collect();
    if family.is_empty() {
        return;
    }
    let samples = |scale: &ScaleRecord| -> Vec<Vec<f64>> {
        family
            .iter()
            .map(|&(i, _)| scale.summaries[&measures[i].name].samples.clone())
            .collect()
    };
    let (sa, sb) = (samples(a), samples(b));
    let adjusted = paired
        .then(|| familywise::adjusted_paired(&sa, &sb))
        .flatten()
        .or_else(|| familywise::adjusted_unpaired(&sa, &sb))
        .unwrap_or_else(|| familywise::holm(&family.iter().map(|&(_, p)| p).collect::<Vec<_>>()));
    for (&(i, _), p) in family.iter().zip(adjusted) {
        measures[i].p_family = Some(p);
    }
}

/// The family's verdicts: across scales, each scale's family-adjusted
/// p-value times the number of scales that have one (Bonferroni: scales
/// are runs of their own). A gated measure whose change was significant
/// alone but not within the family reads no change (its interval within
/// its limit) or inconclusive, and fails no gate: the chance that any gated
/// measure of an unchanged program reads "regressed" stays at alpha.
pub fn family_verdicts(scales: &mut [ScaleComparison], alpha: f64) {
    let families = scales
        .iter()
        .filter(|s| s.measures.iter().any(|m| m.p_family.is_some()))
        .count()
        .max(1);
    for m in scales.iter_mut().flat_map(|s| s.measures.iter_mut()) {
        let Some(p) = m.p_family else { continue };
        let p = (p * families as f64).min(1.0);
        m.p_family = Some(p);
        if p < alpha {
            continue;
        }
        if let Outcome::Sampled(c) = &mut m.outcome {
            if matches!(c.verdict, Verdict::Regressed | Verdict::Improved) {
                c.verdict =
                    crate::stats::not_significant((c.ci_low, c.ci_high), m.limit_pct / 100.0);
            }
        }
        m.gate_failed = gate_fails(m.gated, &m.outcome, m.better, m.limit_pct);
    }
}

/// A gated measure the comparison could not decide: what it could see.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct InconclusiveMeasure {
    pub scale: String,
    pub measure: String,
    /// The smallest change it could have detected, in percent (None: too
    /// few runs to detect any).
    pub mde_pct: Option<f64>,
    pub limit_pct: f64,
    /// Runs a side that would detect a change of the limit.
    pub runs_needed: Option<u64>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct GateFailure {
    pub scale: String,
    pub measure: String,
    pub change_pct: f64,
    pub limit_pct: f64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Gate {
    pub counter: Counter,
    /// No failure, and at least one gated measure could have shown one.
    pub passed: bool,
    pub failures: Vec<GateFailure>,
    /// Why the gate cannot decide (no gated measure compared, or too few
    /// runs for any change to be significant): a gate that could not fail
    /// does not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<String>,
    /// Gated measures that were inconclusive: a warning by default, a
    /// failure with `--fail-on-inconclusive`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub inconclusive: Vec<InconclusiveMeasure>,
    /// `--fail-on-inconclusive`: an inconclusive gated measure fails.
    pub strict: bool,
}

/// What the gate decided, for whoever acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GateOutcome {
    /// No failure, and at least one gated measure could have shown one.
    Pass,
    /// At least one gated measure regressed significantly beyond its limit.
    Regressed,
    /// No failure, but none could have been shown: a gate that could not
    /// fail does not pass.
    Undecided,
    /// No failure, but a gated measure was inconclusive and the gate is
    /// strict about it (`--fail-on-inconclusive`).
    Inconclusive,
}

impl Gate {
    /// The gate over the compared scales: the failed measures, and why it
    /// cannot decide when no gated measure could reach a verdict at `alpha`.
    pub fn decide(counter: Counter, scales: &[ScaleComparison], settings: &Settings) -> Gate {
        let alpha = settings.alpha;
        let failures: Vec<GateFailure> = scales
            .iter()
            .flat_map(|s| {
                s.measures
                    .iter()
                    .filter(|m| m.gate_failed)
                    .map(|m| GateFailure {
                        scale: s.scale.clone(),
                        measure: m.name.clone(),
                        change_pct: m.change() * 100.0,
                        limit_pct: m.limit_pct,
                    })
            })
            .collect();
        let decidable = scales
            .iter()
            .flat_map(|s| &s.measures)
            .filter(|m| m.gated)
            .any(|m| m.can_decide(alpha));
        let missing: Vec<String> = scales
            .iter()
            .flat_map(|s| s.missing_in_b.iter().map(move |m| (s, m)))
            .map(|(s, m)| {
                if scales.len() > 1 {
                    format!("{m} (scale {})", s.scale)
                } else {
                    m.clone()
                }
            })
            .collect();
        let undecided = if !missing.is_empty() {
            Some(format!(
                "B has no {} (A has): the gate cannot check what B did not measure; \
                 re-run B with a workload that prints every declared metric",
                missing.join(", ")
            ))
        } else {
            (!decidable).then(|| {
                "no gated measure could show a significant change: both sides need timed runs of the same measures, \
                 and at least 4 runs each (5 or more recommended) for p < 0.05 to be reachable"
                    .to_string()
            })
        };
        let inconclusive: Vec<InconclusiveMeasure> = scales
            .iter()
            .flat_map(|s| s.measures.iter().map(move |m| (s, m)))
            .filter(|(_, m)| m.gated && m.verdict() == Verdict::Inconclusive)
            .map(|(s, m)| {
                let (mde_pct, runs_needed) = match &m.outcome {
                    Outcome::Sampled(c) => (c.mde_pct, c.runs_needed),
                    Outcome::Exact(_) => (None, None),
                };
                InconclusiveMeasure {
                    scale: s.scale.clone(),
                    measure: m.name.clone(),
                    mde_pct,
                    limit_pct: m.limit_pct,
                    runs_needed,
                }
            })
            .collect();
        let strict = settings.fail_on_inconclusive;
        Gate {
            counter,
            passed: failures.is_empty()
                && undecided.is_none()
                && (inconclusive.is_empty() || !strict),
            failures,
            undecided,
            inconclusive,
            strict,
        }
    }

    /// One line per inconclusive gated measure: what it could see.
    pub fn inconclusive_warnings(&self) -> Vec<String> {
        self.inconclusive
            .iter()
            .map(|m| {
                let scale = if m.scale == "default" {
                    String::new()
                } else {
                    format!("[{}] ", m.scale)
                };
                let sees = match m.mde_pct {
                    Some(mde) => format!("it could only see changes of ±{mde:.1} %"),
                    None => "too few runs to see any change".to_string(),
                };
                let more = match m.runs_needed {
                    Some(n) => format!("; about {n} runs a side would see ±{} %", m.limit_pct),
                    None => String::new(),
                };
                format!("{scale}{} is inconclusive: {sees}{more}", m.measure)
            })
            .collect()
    }

    /// Pass, or else a regression when a measure failed, or else undecided.
    pub fn outcome(&self) -> GateOutcome {
        if self.passed {
            GateOutcome::Pass
        } else if !self.failures.is_empty() {
            GateOutcome::Regressed
        } else if self.undecided.is_some() {
            GateOutcome::Undecided
        } else {
            GateOutcome::Inconclusive
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compare::fixtures::*;
    use crate::reports::compare::model::compare_scale;

    /// 3 + 3 runs can never reach p < 0.05: a slowdown reads inconclusive, and a gate
    /// that could not have failed must not pass.
    #[test]
    fn a_gate_that_cannot_fail_does_not_pass() {
        let a = scale(&WALL[..3], &RPS[..3], "0");
        let b = scale(&slower(&WALL[..3], 8.0), &slower(&RPS[..3], 0.1), "20");
        let report = report_of(&a, &b, Counter::Time);
        assert!(report.scales[0]
            .measures
            .iter()
            .all(|m| m.verdict() == Verdict::Inconclusive));
        assert!(!report.gate.passed);
        assert!(report.gate.failures.is_empty());
        assert!(report
            .gate
            .undecided
            .as_deref()
            .unwrap()
            .contains("at least 4 runs"));
        assert_eq!(report.gate_outcome(), GateOutcome::Undecided);
        // Five runs a side can decide.
        let report = report_of(
            &scale(&WALL, &RPS, "0"),
            &scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5"),
            Counter::Time,
        );
        assert!(report.gate.undecided.is_none());
        assert_eq!(report.gate_outcome(), GateOutcome::Regressed);
    }

    /// Two unrelated gated measures: a change significant alone (p just
    /// under 0.05) is not within the family, so it neither reads
    /// "regressed" nor fails the gate; a clear regression still does both.
    #[test]
    fn the_gate_holds_the_family_of_measures_to_alpha() {
        let wall = [1.00, 1.30, 0.85, 1.20, 0.95, 1.10, 0.90, 1.25];
        let shifted = |f: f64| -> Vec<f64> {
            [0.95, 1.25, 1.10, 0.85, 1.20, 1.00, 1.30, 0.90]
                .iter()
                .map(|x| x * f)
                .collect()
        };
        // A throughput whose runs vary apart from the wall times.
        let rps_a = [900.0, 1000.0, 950.0, 1050.0, 980.0, 1020.0, 940.0, 1010.0];
        let rps_b = [1040.0, 930.0, 990.0, 960.0, 1030.0, 905.0, 1000.0, 970.0];
        let found = (0..600).find_map(|i| {
            let b = scale(&shifted(1.0 + i as f64 / 1000.0), &rps_b, "0");
            let report = report_of(&scale(&wall, &rps_a, "0"), &b, Counter::Time);
            let m = report.scales[0].measures[0].clone();
            let Outcome::Sampled(c) = &m.outcome else {
                return None;
            };
            (c.p_value < 0.05 && m.p_family.unwrap() >= 0.05).then_some((m, report))
        });
        let (m, report) = found.expect("a change significant alone and not in the family");
        assert_eq!(m.name, "wall_s");
        assert_ne!(m.verdict(), Verdict::Regressed, "{m:?}");
        assert!(!m.gate_failed);
        assert_ne!(report.gate_outcome(), GateOutcome::Regressed);
        let clear = scale(&shifted(2.0), &rps_b, "0");
        let report = report_of(&scale(&wall, &rps_a, "0"), &clear, Counter::Time);
        assert_eq!(report.scales[0].measures[0].verdict(), Verdict::Regressed);
        assert_eq!(report.gate_outcome(), GateOutcome::Regressed);
    }

    /// An inconclusive gated measure passes the gate with a warning that
    /// names it and what it could see; strict, it fails.
    #[test]
    fn an_inconclusive_measure_warns_or_fails_by_the_setting() {
        let noisy = [1.0, 1.6, 0.7, 1.4, 0.8, 1.3, 0.9, 1.5];
        let a = scale(&noisy, &RPS, "0");
        let b = scale(&[1.3, 0.8, 1.5, 0.9, 1.6, 0.7, 1.2, 1.0], &RPS, "0");
        let report = report_of(&a, &b, Counter::Time);
        assert_eq!(
            report.scales[0].measures[0].verdict(),
            Verdict::Inconclusive
        );
        assert_eq!(report.gate_outcome(), GateOutcome::Pass);
        let warnings = report.gate.inconclusive_warnings();
        assert!(
            warnings[0].starts_with("wall_s is inconclusive: it could only see changes of ±"),
            "{warnings:?}"
        );
        assert!(
            warnings[0].contains("runs a side would see ±5 %"),
            "{warnings:?}"
        );
        let mut strict = settings();
        strict.fail_on_inconclusive = true;
        let gate = Gate::decide(Counter::Time, &report.scales, &strict);
        assert!(!gate.passed);
        assert_eq!(gate.outcome(), GateOutcome::Inconclusive);
    }

    /// A metric the baseline has and B lacks (a workload that stopped
    /// printing it, a result from before metrics were required) must not
    /// let the gate pass on the measures that remain.
    #[test]
    fn a_measure_missing_from_b_leaves_the_gate_undecided() {
        let a = scale(&WALL, &RPS, "0");
        let mut b = scale(&WALL, &RPS, "0");
        b.summaries.remove("records_per_sec");
        let report = report_of(&a, &b, Counter::Time);
        assert_eq!(report.scales[0].missing_in_b, ["records_per_sec"]);
        assert!(!report.gate.passed);
        assert!(report
            .gate
            .undecided
            .as_deref()
            .unwrap()
            .starts_with("B has no records_per_sec (A has)"));
        assert_eq!(report.gate_outcome(), GateOutcome::Undecided);
        // A measure only B has is new, not missing: the gate decides.
        let report = report_of(&b, &a, Counter::Time);
        assert!(report.scales[0].missing_in_b.is_empty());
        assert_eq!(report.gate_outcome(), GateOutcome::Pass);
    }

    #[test]
    fn a_significant_change_within_the_limit_does_not_fail_the_gate() {
        // +4 %: beyond the ±2 % noise band and significant, but under time's 5 %.
        let tight = [1.000, 1.001, 0.999, 1.002, 0.998, 1.0005, 0.9995, 1.0015];
        let mut a = scale(&tight, &RPS, "0");
        let mut b = scale(&slower(&tight, 1.04), &RPS, "0");
        a.summaries.remove("records_per_sec");
        b.summaries.remove("records_per_sec");
        let m = &compare_scale(&a, &b, &settings(), Counter::Time).measures[0];
        assert_eq!(m.verdict(), Verdict::Regressed);
        assert!(!m.gate_failed);
        let mut strict = settings();
        strict.thresholds.time = 3.0;
        assert!(compare_scale(&a, &b, &strict, Counter::Time).measures[0].gate_failed);
    }
}
