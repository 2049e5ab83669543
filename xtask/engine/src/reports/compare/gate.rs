//! The regression gate over a comparison: which gated measures regressed
//! significantly beyond their limit, whether any gated measure could have
//! shown a change at all, and the outcome (`GateOutcome`) that
//! `tasks::compare` turns into an exit status. Part of the model: it reads
//! the compared measures and renders nothing.

use super::model::{Counter, Outcome, ScaleComparison};
use crate::config::Better;
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
}

impl Gate {
    /// The gate over the compared scales: the failed measures, and why it
    /// cannot decide when no gated measure could reach a verdict at `alpha`.
    pub fn decide(counter: Counter, scales: &[ScaleComparison], alpha: f64) -> Gate {
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
        Gate {
            counter,
            passed: failures.is_empty() && undecided.is_none(),
            failures,
            undecided,
        }
    }

    /// Pass, or else a regression when a measure failed, or else undecided.
    pub fn outcome(&self) -> GateOutcome {
        if self.passed {
            GateOutcome::Pass
        } else if !self.failures.is_empty() {
            GateOutcome::Regressed
        } else {
            GateOutcome::Undecided
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compare::fixtures::*;
    use crate::reports::compare::model::compare_scale;

    /// 3 + 3 runs can never reach p < 0.05: a slowdown reads `~`, and a gate
    /// that could not have failed must not pass.
    #[test]
    fn a_gate_that_cannot_fail_does_not_pass() {
        let a = scale(&WALL[..3], &RPS[..3], "0");
        let b = scale(&slower(&WALL[..3], 8.0), &slower(&RPS[..3], 0.1), "20");
        let report = report_of(&a, &b, Counter::Time);
        assert!(report.scales[0]
            .measures
            .iter()
            .all(|m| m.verdict() == Verdict::NoChange));
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
