//! From statistics to a verdict: the thresholds (`alpha`, the noise band,
//! the minimum sample count) that turn a U test p-value and a Hodges–Lehmann
//! interval into "improved", "regressed" or "no change", and the plain
//! relative-change rule for deterministic counters. Kept apart from the
//! methods so that the reporting policy can change without touching them.

use super::hodges_lehmann::hodges_lehmann;
use super::mann_whitney::mann_whitney_u;
use super::{finite, summarize, Summary};
use crate::config::Better;
use serde::{Deserialize, Serialize};

/// Outcome of a comparison of B (new) against A (baseline).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Regressed,
    /// The interval of the change lies within the measure's limit: any
    /// change there is smaller than what matters (an equivalence test).
    NoChange,
    /// Neither a significant change nor one shown to be within the limit:
    /// the runs could not tell (too few, or too spread for the change that
    /// matters). Comparisons of older xtasks said `not_enough_samples`.
    #[serde(alias = "not_enough_samples")]
    Inconclusive,
}

impl Verdict {
    /// The serialized name: `improved`, `regressed`, `no_change`,
    /// `inconclusive`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::NoChange => "no_change",
            Verdict::Inconclusive => "inconclusive",
        }
    }
}

impl std::fmt::Display for Verdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Thresholds of [`compare`].
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
#[serde(default)]
pub struct CompareOptions {
    /// Significance level of the U test; the confidence interval of the
    /// change is at `1 - alpha`. Default 0.05.
    pub alpha: f64,
    /// Relative changes the whole confidence interval must lie beyond to be
    /// reported, as a fraction (0.02 = ±2%). Differences this small are
    /// within what code layout and drift between two batches of runs produce
    /// on this machine, whatever the p-value says. Default 0.02.
    pub noise_band: f64,
    /// Fewer samples than this on either side gives
    /// [`Verdict::Inconclusive`]. Default 3. Note that with no ties the
    /// smallest two-sided p-value of 3 + 3 samples is 0.1, so at
    /// `alpha = 0.05` at least 4 per side are needed to see any change.
    pub min_samples: usize,
    /// The change that matters, as a fraction (0.05 = ±5 %): "no change"
    /// needs the whole interval within it, and the runs needed are
    /// quoted for it. Default 0.05.
    pub equivalence: f64,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            alpha: 0.05,
            noise_band: 0.02,
            min_samples: 3,
            equivalence: 0.05,
        }
    }
}

/// Result of [`compare`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Comparison {
    /// Baseline samples.
    pub a: Summary,
    /// New samples.
    pub b: Summary,
    /// Hodges–Lehmann shift from A to B divided by |median(A)|: +0.10 means
    /// B is typically 10% larger than A.
    pub change: f64,
    /// Lower end of the `1 - alpha` (default 95%) confidence interval of
    /// `change`.
    pub ci_low: f64,
    /// Upper end of the `1 - alpha` (default 95%) confidence interval of
    /// `change`.
    pub ci_high: f64,
    /// Two-sided p-value of the test `analysis` names.
    pub p_value: f64,
    pub verdict: Verdict,
    /// Which analysis gave these numbers.
    #[serde(default)]
    pub analysis: Analysis,
    /// The smallest change this comparison could detect (two-sided at
    /// alpha, 80 % power), in percent; None when a side has too few samples
    /// to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mde_pct: Option<f64>,
    /// When inconclusive: the runs a side that would detect a change of
    /// the equivalence limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs_needed: Option<u64>,
}

/// How two sets of samples were compared.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum Analysis {
    /// Two independent samples: Mann–Whitney U and the Hodges–Lehmann shift.
    #[default]
    MannWhitney,
    /// Pairs of runs (interleaved or duet): the Wilcoxon signed-rank test
    /// and the Hodges–Lehmann ratio on ln(B/A) ([`super::paired`]).
    PairedWilcoxon,
    /// Pairs added until decided (`--until-decided`): the mixture SPRT's
    /// confidence sequence on ln(B/A) ([`super::sequential`]).
    Sequential,
}

impl Analysis {
    pub fn describe(self) -> &'static str {
        match self {
            Analysis::MannWhitney => "Mann–Whitney U test and Hodges–Lehmann shift (unpaired runs)",
            Analysis::PairedWilcoxon => {
                "Wilcoxon signed-rank test and Hodges–Lehmann ratio on the per-pair ratios B/A"
            }
            Analysis::Sequential => {
                "mixture sequential probability ratio test on the per-pair ratios B/A, with its always-valid confidence sequence"
            }
        }
    }
}

/// Compares samples `b` (new) against `a` (baseline).
///
/// * [`Verdict::Inconclusive`] when a side has fewer than
///   `opts.min_samples` finite samples (or none at all).
/// * [`Verdict::Regressed`] / [`Verdict::Improved`] when the Mann–Whitney
///   p-value is below `opts.alpha` **and** the `1 - alpha` confidence
///   interval of the relative change lies entirely above `+noise_band` or
///   entirely below `-noise_band`; which of the two depends on the direction
///   and `better`.
/// * [`Verdict::NoChange`] otherwise.
///
/// `change`, `ci_low` and `ci_high` are the Hodges–Lehmann shift and its
/// interval ([`hodges_lehmann`]) divided by |median(A)|. If that median is 0
/// the mean absolute value of all samples is the scale instead, and if that is
/// 0 too (all samples are 0) the relative values are 0.
///
/// Degenerate inputs never panic nor yield NaN: a side without samples gives
/// an all-zero [`Summary`] with `change = ci_low = ci_high = 0` and
/// `p_value = 1`; single samples are analysed as usual (their p-value is
/// never small) and the verdict is `Inconclusive` under the default
/// `min_samples`; identical constant samples give `p_value = 1`, a zero
/// change and `NoChange`.
pub fn compare(a: &[f64], b: &[f64], better: Better, opts: &CompareOptions) -> Comparison {
    let a = finite(a);
    let b = finite(b);
    let sa = summarize(&a).unwrap_or_else(Summary::empty);
    let sb = summarize(&b).unwrap_or_else(Summary::empty);
    let alpha = if opts.alpha.is_nan() {
        0.05
    } else {
        opts.alpha
    };

    let (Some(mw), Some(hl)) = (mann_whitney_u(&a, &b), hodges_lehmann(&a, &b, alpha)) else {
        return Comparison {
            a: sa,
            b: sb,
            change: 0.0,
            ci_low: 0.0,
            ci_high: 0.0,
            p_value: 1.0,
            verdict: Verdict::Inconclusive,
            analysis: Analysis::MannWhitney,
            mde_pct: None,
            runs_needed: None,
        };
    };

    let scale = if sa.median != 0.0 {
        sa.median.abs()
    } else {
        let pooled: f64 = a.iter().chain(&b).map(|x| x.abs()).sum();
        pooled / (a.len() + b.len()) as f64
    };
    let rel = |x: f64| {
        let r = if scale > 0.0 { x / scale } else { 0.0 };
        if r.is_finite() {
            r
        } else {
            0.0
        }
    };
    let (change, ci_low, ci_high) = (rel(hl.shift), rel(hl.ci_low), rel(hl.ci_high));
    let p_value = mw.p_value;
    // The rank test cannot go below its smallest p-value: no change is
    // detectable then, however large.
    let reachable = smallest_p_unpaired(a.len(), b.len()) < alpha;
    let mde = reachable
        .then(|| super::power::mde_unpaired((sa.n, sa.stddev), (sb.n, sb.stddev), scale, alpha))
        .flatten();
    let verdict = decide(
        (ci_low, ci_high),
        p_value,
        better,
        a.len().min(b.len()),
        opts,
    );
    let runs_needed = (verdict == Verdict::Inconclusive)
        .then(|| {
            super::power::runs_needed_unpaired(sa.stddev, sb.stddev, scale, opts.equivalence, alpha)
                .map(|n| n.max(4))
        })
        .flatten();
    Comparison {
        a: sa,
        b: sb,
        change,
        ci_low,
        ci_high,
        p_value,
        verdict,
        analysis: Analysis::MannWhitney,
        mde_pct: mde.map(|m| m * 100.0),
        runs_needed,
    }
}

/// The smallest two-sided p-value of the U test on samples of these sizes
/// (no ties): 2 / C(n_a + n_b, n_a).
pub fn smallest_p_unpaired(n_a: usize, n_b: usize) -> f64 {
    let combinations: f64 = (1..=n_a).map(|i| (n_b + i) as f64 / i as f64).product();
    (2.0 / combinations).min(1.0)
}

/// Below this many pairs the signed-rank test can never reach p < 0.05
/// (5 pairs: 2/32 at best), while Mann–Whitney on 5 + 5 runs can (2/252):
/// fewer pairs are compared unpaired.
pub const MIN_PAIRS: usize = 6;

/// Compares paired samples: run i of `b` was made right after (or beside)
/// run i of `a`. The change and its interval are the Hodges–Lehmann ratio
/// of B to A minus 1, the p-value the Wilcoxon signed-rank test's, and the
/// verdict follows the same rule as [`compare`]'s. Falls back to [`compare`]
/// where the pairs cannot be analysed (fewer than [`MIN_PAIRS`], unequal
/// lengths, a value that is 0, negative or not finite: a ratio needs
/// positive values).
pub fn compare_paired(a: &[f64], b: &[f64], better: Better, opts: &CompareOptions) -> Comparison {
    let alpha = if opts.alpha.is_nan() {
        0.05
    } else {
        opts.alpha
    };
    if a.len() < MIN_PAIRS {
        return compare(a, b, better, opts);
    }
    let Some(paired) = super::paired::analyze(a, b, alpha) else {
        return compare(a, b, better, opts);
    };
    let (change, ci_low, ci_high) = (
        paired.hl_ratio - 1.0,
        paired.ci_low - 1.0,
        paired.ci_high - 1.0,
    );
    let verdict = decide(
        (ci_low, ci_high),
        paired.p_value,
        better,
        paired.pairs,
        opts,
    );
    let logs: Vec<f64> = paired.ratios.iter().map(|r| r.ln()).collect();
    let sd_log = summarize(&logs).map_or(0.0, |s| s.stddev);
    let runs_needed = (verdict == Verdict::Inconclusive)
        .then(|| {
            super::power::pairs_needed(sd_log, opts.equivalence, alpha)
                .map(|n| n.max(MIN_PAIRS as u64))
        })
        .flatten();
    Comparison {
        a: summarize(a).unwrap_or_else(Summary::empty),
        b: summarize(b).unwrap_or_else(Summary::empty),
        change,
        ci_low,
        ci_high,
        p_value: paired.p_value,
        verdict,
        analysis: Analysis::PairedWilcoxon,
        mde_pct: super::power::mde_paired(paired.pairs, sd_log, alpha).map(|m| m * 100.0),
        runs_needed,
    }
}

/// Regressed or improved when the p-value is below alpha and the whole
/// interval lies beyond the noise band; not enough samples below the minimum.
fn decide(
    (ci_low, ci_high): (f64, f64),
    p_value: f64,
    better: Better,
    samples: usize,
    opts: &CompareOptions,
) -> Verdict {
    let alpha = if opts.alpha.is_nan() {
        0.05
    } else {
        opts.alpha
    };
    let band = if opts.noise_band.is_nan() {
        0.0
    } else {
        opts.noise_band.max(0.0)
    };
    let margin = if opts.equivalence.is_nan() {
        0.0
    } else {
        opts.equivalence.max(0.0)
    };
    if samples < opts.min_samples.max(1) {
        Verdict::Inconclusive
    } else if p_value < alpha && ci_low > band {
        worse_if(better == Better::Lower)
    } else if p_value < alpha && ci_high < -band {
        worse_if(better == Better::Higher)
    } else {
        not_significant((ci_low, ci_high), margin)
    }
}

/// The verdict of a change that is not significant after all (a family's
/// correction): no change when its interval lies within `margin`, else
/// inconclusive.
pub fn not_significant((ci_low, ci_high): (f64, f64), margin: f64) -> Verdict {
    if ci_low >= -margin && ci_high <= margin {
        Verdict::NoChange
    } else {
        Verdict::Inconclusive
    }
}

fn worse_if(worse: bool) -> Verdict {
    if worse {
        Verdict::Regressed
    } else {
        Verdict::Improved
    }
}

/// Result of [`compare_exact`].
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct ExactComparison {
    /// Baseline value.
    pub a: f64,
    /// New value.
    pub b: f64,
    /// `(b - a) / |a|`.
    pub change: f64,
    /// The limit the change was held against (a fraction).
    pub limit: f64,
    pub verdict: Verdict,
}

/// Compares two deterministic measurements (e.g. callgrind instruction
/// counts, which repeat exactly): no statistics, just the relative change
/// `(b - a) / |a|` against `limit` (a fraction: 0.01 = 1%). `Regressed` or
/// `Improved` (by `better`) when `|change| > limit`, else `NoChange`.
///
/// When `a` is 0 the change is measured against `|b|` instead, so it is ±1
/// (0 if both are 0). A non-finite `a` or `b` gives `Inconclusive` with
/// `change = 0`. A negative or NaN `limit` counts as 0.
pub fn compare_exact(a: f64, b: f64, better: Better, limit: f64) -> ExactComparison {
    let limit = if limit.is_nan() { 0.0 } else { limit.max(0.0) };
    if !a.is_finite() || !b.is_finite() {
        return ExactComparison {
            a,
            b,
            change: 0.0,
            limit,
            verdict: Verdict::Inconclusive,
        };
    }
    let change = if a != 0.0 {
        (b - a) / a.abs()
    } else if b != 0.0 {
        b.signum()
    } else {
        0.0
    };
    let change = if change.is_finite() { change } else { 0.0 };
    let verdict = if change > limit {
        worse_if(better == Better::Lower)
    } else if change < -limit {
        worse_if(better == Better::Higher)
    } else {
        Verdict::NoChange
    };
    ExactComparison {
        a,
        b,
        change,
        limit,
        verdict,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, Rng};
    use super::*;

    // -- verdicts and edge cases --------------------------------------------

    fn assert_finite(c: &Comparison) {
        let s = serde_json::to_string(c).unwrap();
        for v in [
            c.change, c.ci_low, c.ci_high, c.p_value, c.a.mean, c.a.median, c.a.stddev, c.a.cv,
            c.b.mean, c.b.median, c.b.stddev, c.b.cv,
        ] {
            assert!(v.is_finite(), "non-finite value in {s}");
        }
        assert!(!s.contains("null"), "{s}");
        assert!((0.0..=1.0).contains(&c.p_value));
        assert!(c.ci_low <= c.change && c.change <= c.ci_high, "{s}");
    }

    /// Machine-wide noise that slows both runs of a pair alike: the
    /// unpaired test sees two overlapping piles, the paired one sees every
    /// pair 5 % slower.
    #[test]
    fn pairs_see_through_shared_noise() {
        let a = [1.0, 1.5, 0.8, 1.2, 2.0, 0.9, 1.1, 1.3, 0.85, 1.6];
        let b: Vec<f64> = a.iter().map(|x| x * 1.05).collect();
        let opts = CompareOptions::default();
        let unpaired = compare(&a, &b, Better::Lower, &opts);
        assert_eq!(
            (unpaired.verdict, unpaired.analysis),
            (Verdict::Inconclusive, Analysis::MannWhitney)
        );
        // The runs' spread (about 30 %) hides a 5 % change: it says so.
        assert!(unpaired.mde_pct.unwrap() > 20.0, "{unpaired:?}");
        assert!(unpaired.runs_needed.unwrap() > 10, "{unpaired:?}");
        let paired = compare_paired(&a, &b, Better::Lower, &opts);
        assert_eq!(paired.analysis, Analysis::PairedWilcoxon);
        assert_eq!(paired.verdict, Verdict::Regressed);
        assert!((paired.change - 0.05).abs() < 1e-9, "{paired:?}");
        assert!(paired.p_value < 0.01, "{paired:?}");
        // A value of 0 has no ratio: the unpaired analysis takes over.
        let zero = compare_paired(&[0.0, 1.0, 1.0], &[1.0, 1.0, 1.0], Better::Lower, &opts);
        assert_eq!(zero.analysis, Analysis::MannWhitney);
        // Five pairs could never be significant: unpaired, which can.
        let five = compare_paired(&a[..5], &b[..5], Better::Lower, &opts);
        assert_eq!(five.analysis, Analysis::MannWhitney);
        // Identical pairs: no change.
        let same = compare_paired(&a, &a, Better::Lower, &opts);
        assert_eq!(same.verdict, Verdict::NoChange);
    }

    #[test]
    fn compare_empty_and_single_samples() {
        let opts = CompareOptions::default();
        let c = compare(&[], &[], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!((c.change, c.p_value, c.a.n), (0.0, 1.0, 0));
        assert_finite(&c);

        let c = compare(&[1.0, 2.0, 3.0], &[], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!(c.b, Summary::empty());
        assert_finite(&c);

        let c = compare(&[1.0], &[2.0], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!((c.change, c.p_value), (1.0, 1.0));
        assert_finite(&c);

        // Even when one sample per side is allowed, one sample proves nothing.
        let loose = CompareOptions {
            min_samples: 0,
            ..opts
        };
        let c = compare(&[1.0], &[2.0], Better::Lower, &loose);
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_eq!(c.mde_pct, None, "one sample has no spread to speak of");
        assert_finite(&c);
        let c = compare(&[1.0], &[1.0], Better::Lower, &loose);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert_finite(&c);

        let c = compare(&[f64::NAN; 4], &[1.0; 4], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_finite(&c);
    }

    #[test]
    fn compare_constant_samples() {
        let opts = CompareOptions::default();
        let c = compare(&[5.0; 6], &[5.0; 6], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert_eq!(
            (c.p_value, c.change, c.ci_low, c.ci_high),
            (1.0, 0.0, 0.0, 0.0)
        );
        assert_finite(&c);

        // Constant but different: all ties within each side, a clear 20% step.
        let c = compare(&[1.0; 6], &[1.2; 6], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Regressed);
        assert_close("change", c.change, 0.2, 1e-12);
        assert_finite(&c);
        let c = compare(&[1.0; 6], &[1.2; 6], Better::Higher, &opts);
        assert_eq!(c.verdict, Verdict::Improved);

        // All zeros: relative values fall back to 0, not NaN.
        let c = compare(&[0.0; 5], &[0.0; 5], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert_finite(&c);
        // Zero baseline median: scaled by the mean absolute value.
        let c = compare(&[0.0; 5], &[1.0; 5], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Regressed);
        assert_close("change", c.change, 2.0, 1e-12);
        assert_finite(&c);
    }

    #[test]
    fn compare_directions_and_noise_band() {
        let opts = CompareOptions::default();
        let a = [1.00, 1.01, 0.99, 1.02, 0.98, 1.005, 0.995, 1.015];
        let slower: Vec<f64> = a.iter().map(|x| x * 1.10).collect();
        let faster: Vec<f64> = a.iter().map(|x| x * 0.90).collect();
        let tiny: Vec<f64> = a.iter().map(|x| x * 1.012).collect();

        let c = compare(&a, &slower, Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");
        assert!(c.ci_low > 0.02 && c.change > 0.05);
        assert_eq!(
            compare(&a, &slower, Better::Higher, &opts).verdict,
            Verdict::Improved
        );
        assert_eq!(
            compare(&a, &faster, Better::Lower, &opts).verdict,
            Verdict::Improved
        );
        assert_eq!(
            compare(&a, &faster, Better::Higher, &opts).verdict,
            Verdict::Regressed
        );

        // A 1.2% shift is clear to the U test but inside the ±2% band.
        let c = compare(&a, &tiny, Better::Lower, &opts);
        assert!(c.p_value > 0.0);
        assert_eq!(c.verdict, Verdict::NoChange, "{c:?}");
        let no_band = CompareOptions {
            noise_band: 0.0,
            ..opts
        };
        let c = compare(&a, &[1.05; 8], Better::Lower, &no_band);
        assert_eq!(c.verdict, Verdict::Regressed, "{c:?}");

        // Too few samples to decide, whatever the difference.
        let c = compare(&a[..2], &slower[..2], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Inconclusive);
        assert_finite(&c);
    }

    #[test]
    fn one_outlier_does_not_flip_the_verdict() {
        let opts = CompareOptions::default();
        let a = [1.00, 1.01, 0.99, 1.02, 0.98, 1.005, 0.995, 1.015, 1.0, 0.99];
        let mut b = a;
        b[3] = 1.8; // one run 80% slower
        let c = compare(&a, &b, Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NoChange, "{c:?}");
        assert!(c.change.abs() < 0.01, "{c:?}");
    }

    /// "No change" only when the interval lies within the limit that
    /// matters; a wide interval that could hide such a change is
    /// inconclusive, with what it could see and the runs that would do.
    #[test]
    fn no_change_is_an_equivalence_and_else_inconclusive() {
        let opts = CompareOptions {
            equivalence: 0.05,
            ..CompareOptions::default()
        };
        let mut rng = Rng::new(7);
        let tight: Vec<f64> = (0..10).map(|_| 1.0 + 0.005 * rng.normal()).collect();
        let tight_b: Vec<f64> = (0..10).map(|_| 1.0 + 0.005 * rng.normal()).collect();
        let c = compare(&tight, &tight_b, Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NoChange, "{c:?}");
        assert!(c.mde_pct.unwrap() < 1.0, "{c:?}");
        assert_eq!(c.runs_needed, None);
        // 20 % spread, 10 runs a side: a 5 % change could hide in there.
        let wide: Vec<f64> = (0..10).map(|_| 1.0 + 0.2 * rng.normal()).collect();
        let wide_b: Vec<f64> = (0..10).map(|_| 1.0 + 0.2 * rng.normal()).collect();
        let c = compare(&wide, &wide_b, Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::Inconclusive, "{c:?}");
        assert!(c.mde_pct.unwrap() > 15.0, "{c:?}");
        // (0.2² + 0.2²) · (2.8 / 0.05)² ≈ 250 runs a side.
        let needed = c.runs_needed.unwrap();
        assert!((150..400).contains(&needed), "{needed}");
        // Old comparisons said `not_enough_samples`: read as inconclusive.
        let old: Verdict = serde_json::from_str("\"not_enough_samples\"").unwrap();
        assert_eq!(old, Verdict::Inconclusive);
    }

    #[test]
    fn serde_names() {
        let names: Vec<String> = [
            Verdict::Improved,
            Verdict::Regressed,
            Verdict::NoChange,
            Verdict::Inconclusive,
        ]
        .iter()
        .map(|v| {
            let s = serde_json::to_string(v).unwrap();
            assert_eq!(s, format!("\"{v}\""));
            s
        })
        .collect();
        assert_eq!(
            names,
            [
                "\"improved\"",
                "\"regressed\"",
                "\"no_change\"",
                "\"inconclusive\""
            ]
        );
        assert_eq!(
            serde_json::to_string(&Better::Higher).unwrap(),
            "\"higher\""
        );
        let opts: CompareOptions = serde_json::from_str(r#"{"alpha": 0.01}"#).unwrap();
        assert_eq!(opts.noise_band, 0.02);
        let c = compare(&[1.0, 2.0, 3.0], &[2.0, 3.0, 4.0], Better::Lower, &opts);
        let back: Comparison = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn exact_counters() {
        let c = compare_exact(1_000_000.0, 1_020_000.0, Better::Lower, 0.01);
        assert_eq!(c.verdict, Verdict::Regressed);
        assert_close("change", c.change, 0.02, 1e-12);
        assert_eq!(
            compare_exact(1_000_000.0, 1_005_000.0, Better::Lower, 0.01).verdict,
            Verdict::NoChange
        );
        assert_eq!(
            compare_exact(100.0, 90.0, Better::Lower, 0.01).verdict,
            Verdict::Improved
        );
        assert_eq!(
            compare_exact(100.0, 90.0, Better::Higher, 0.01).verdict,
            Verdict::Regressed
        );
        assert_eq!(
            compare_exact(100.0, 100.0, Better::Lower, 0.0).verdict,
            Verdict::NoChange
        );
        let z = compare_exact(0.0, 5.0, Better::Lower, 0.01);
        assert_eq!((z.change, z.verdict), (1.0, Verdict::Regressed));
        let z = compare_exact(0.0, 0.0, Better::Lower, 0.01);
        assert_eq!((z.change, z.verdict), (0.0, Verdict::NoChange));
        let n = compare_exact(f64::NAN, 5.0, Better::Lower, 0.01);
        assert_eq!((n.change, n.verdict), (0.0, Verdict::Inconclusive));
        assert!(serde_json::to_string(&n).is_ok());
    }

    // -- simulation on noise shaped like the 2-core machine -----------------

    /// Slow outliers: a run is hit with probability `outlier_rate` and is
    /// then 30–80% slower.
    const OUTLIER_SLOWDOWN: (f64, f64) = (0.30, 0.80);

    /// Noise shaped like the shared 2-core machine.
    #[derive(Clone, Copy, Debug)]
    struct Noise {
        /// Standard deviation of log(time): ≈ the CV of the clean runs.
        sigma: f64,
        /// Share of runs slowed down by an outlier.
        outlier_rate: f64,
    }

    /// One wall time: `base` times log-normal noise, and sometimes an outlier.
    fn run_time(rng: &mut Rng, base: f64, noise: Noise) -> f64 {
        let mut t = base * (noise.sigma * rng.normal()).exp();
        if rng.uniform() <= noise.outlier_rate {
            let (lo, hi) = OUTLIER_SLOWDOWN;
            t *= 1.0 + lo + (hi - lo) * rng.uniform();
        }
        t
    }

    /// Shares of `trials` comparisons of `n` runs per side, B slowed down by
    /// `slowdown`, reported (regressed, improved) with default options.
    fn simulate(seed: u64, trials: usize, n: usize, noise: Noise, slowdown: f64) -> (f64, f64) {
        let mut rng = Rng::new(seed);
        let opts = CompareOptions::default();
        let (mut regressed, mut improved) = (0, 0);
        let mut a = vec![0.0; n];
        let mut b = vec![0.0; n];
        for _ in 0..trials {
            for x in a.iter_mut() {
                *x = run_time(&mut rng, 1.0, noise);
            }
            for x in b.iter_mut() {
                *x = run_time(&mut rng, 1.0 + slowdown, noise);
            }
            match compare(&a, &b, Better::Lower, &opts).verdict {
                Verdict::Regressed => regressed += 1,
                Verdict::Improved => improved += 1,
                _ => {}
            }
        }
        (
            regressed as f64 / trials as f64,
            improved as f64 / trials as f64,
        )
    }

    /// A/A: the same distribution on both sides is flagged (regressed or
    /// improved) in at most 5% of 1000 comparisons of 10 runs per side, at
    /// every spread of the machine's range and with 10% slow outliers.
    /// Measured with these seeds: 0.6–3.5% (sigma 5%: 0.6/0.9%, 10%:
    /// 2.2/1.7%, 15%: 3.4/2.6%, 20%: 2.1/3.5% at 10/20% outliers). The test
    /// alone would flag ~4–5%; the noise band removes the rest.
    #[test]
    fn simulated_a_a_false_positive_rate() {
        for (i, sigma) in [0.05, 0.10, 0.15, 0.20].into_iter().enumerate() {
            for (j, outlier_rate) in [0.10, 0.20].into_iter().enumerate() {
                let noise = Noise {
                    sigma,
                    outlier_rate,
                };
                let (reg, imp) = simulate(100 + 10 * i as u64 + j as u64, 1000, 10, noise, 0.0);
                let flagged = reg + imp;
                eprintln!("A/A {noise:?}: flagged {:.1}%", 100.0 * flagged);
                assert!(flagged <= 0.05, "{noise:?}: A/A flagged {flagged}");
            }
        }
    }

    /// Power: B 10% slower, 10 runs per side, 1000 comparisons each.
    ///
    /// Measured with these seeds (sigma = CV of the clean runs, outliers =
    /// share of runs 30–80% slower):
    ///
    /// | sigma | outliers | reported regressed |
    /// |-------|----------|--------------------|
    /// | 3%    | 5%       | 96.4% (asserted >= 95%) |
    /// | 3%    | 10%      | 89.5% |
    /// | 5%    | 5%       | 76.4% |
    /// | 5%    | 10%      | 62.3% |
    /// | 8%    | 10%      | 30.0% |
    /// | 10%   | 10%      | 24.9% |
    /// | 15%   | 10%      | 12.5% |
    /// | 20%   | 10%      | 8.7%  |
    ///
    /// So "a 10% slowdown at 10 runs per side is caught at least 95% of the
    /// time" holds for a CV of about 3% (a max–min spread of ~9% over 10 clean
    /// runs) with occasional (5%) slow outliers, and for nothing noisier.
    /// That is a limit of 10 runs, not of this method: even a t-test on
    /// outlier-free normal data with 10% CV has only ~55% power here, and
    /// with 10% outliers three or more of the ten baseline runs are outliers
    /// 7% of the time, which caps any rank test at ~93% even with no other
    /// noise. The ±2% band costs 10–15 points of power at 5% CV (the test
    /// alone: ~75% at 5% CV / 10% outliers). More runs buy it back: see
    /// `simulated_power_with_more_runs`.
    #[test]
    fn simulated_power_for_ten_percent_slowdown() {
        let cases = [
            (0.03, 0.05),
            (0.03, 0.10),
            (0.05, 0.05),
            (0.05, 0.10),
            (0.08, 0.10),
            (0.10, 0.10),
            (0.15, 0.10),
            (0.20, 0.10),
        ];
        let mut measured = Vec::new();
        for (i, (sigma, outlier_rate)) in cases.into_iter().enumerate() {
            let noise = Noise {
                sigma,
                outlier_rate,
            };
            let (reg, imp) = simulate(200 + i as u64, 1000, 10, noise, 0.10);
            eprintln!(
                "10% slowdown, 10 runs, {noise:?}: regressed {:.1}%, improved {:.1}%",
                100.0 * reg,
                100.0 * imp
            );
            assert!(
                imp <= 0.01,
                "{noise:?}: slowdown reported as improvement {imp}"
            );
            measured.push(reg);
        }
        assert!(measured[0] >= 0.95, "{measured:?}");
        // The rest is what it is; guard the measured figures (a few points
        // below what these seeds give) so that a change of method shows up.
        for (got, floor) in measured[1..].iter().zip(POWER_FLOORS) {
            assert!(*got >= floor, "{measured:?}");
        }
    }

    const POWER_FLOORS: [f64; 7] = [0.85, 0.70, 0.55, 0.24, 0.19, 0.08, 0.05];

    /// More runs buy power back: with 10% outliers, a 10% slowdown is caught
    /// 93.0% of the time at 20 runs per side and 98.7% at 30 (asserted >= 95%)
    /// for a 5% CV; at 10% CV, 30 runs give 63.3% (300 comparisons each).
    #[test]
    fn simulated_power_with_more_runs() {
        let cases = [(20, 0.05, 0.88), (30, 0.05, 0.95), (30, 0.10, 0.55)];
        for (i, (n, sigma, floor)) in cases.into_iter().enumerate() {
            let noise = Noise {
                sigma,
                outlier_rate: 0.10,
            };
            let (reg, _) = simulate(300 + i as u64, 300, n, noise, 0.10);
            eprintln!(
                "10% slowdown, {n} runs, {noise:?}: regressed {:.1}%",
                100.0 * reg
            );
            assert!(reg >= floor, "{n} runs, {noise:?}: power {reg}");
        }
    }
}
