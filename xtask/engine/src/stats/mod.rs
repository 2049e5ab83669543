//! Statistics behind `cargo xtask profile-compare`.
//!
//! Wall times measured on a shared 2-core machine are neither normal nor
//! stable: run-to-run spread is 5–20% and a few runs are much slower than the
//! rest (another job, a frequency drop, a cold cache). A mean and a t-test let
//! one slow outlier move the answer, so the comparison is rank based, in the
//! spirit of Go's benchstat:
//!
//! * **Mann–Whitney U test** (two-sided) for "do A and B come from the same
//!   distribution?". It only looks at the order of the samples, so an outlier
//!   counts as "one slower run", whatever its size, and no normality is
//!   assumed. The p-value matches `scipy.stats.mannwhitneyu(a, b,
//!   alternative="two-sided")` (scipy 1.17, `method="auto"`): exact null
//!   distribution when either side has at most 8 samples and there are no
//!   ties, otherwise the normal approximation with tie and continuity
//!   corrections.
//! * **Hodges–Lehmann shift**: the median of all pairwise differences
//!   `b[j] - a[i]`, with the distribution-free (Moses) confidence interval
//!   read off the sorted differences at the U test's critical value. Both are
//!   reported relative to the median of A: `change = shift / median(A)`.
//! * **Verdict**: a change is reported only when `p < alpha` (default 0.05)
//!   *and* the whole `1 - alpha` (95%) confidence interval of the relative
//!   change lies beyond a noise band (default ±2%) on the same side. The band
//!   keeps tiny but "statistically significant" differences (code layout,
//!   drift between the A and B batches) from being called regressions, and
//!   cuts the false alarms of the test alone (~4–5% on noisy runs).
//! * Deterministic counters (callgrind instruction counts) need no statistics:
//!   [`compare_exact`] flags a relative change beyond a fixed limit.
//!
//! What this buys, simulated on log-normal noise plus slow outliers (runs
//! 30–80% slower): A/A comparisons of 10 runs per side are flagged 0.6–3.5%
//! of the time at 5–20% CV. A 10% slowdown at 10 runs per side is caught at
//! least 95% of the time only when the CV is about 3% and outliers are rare
//! (5% of runs); at 5% CV with 10% outliers it is caught 62% of the time with
//! 10 runs and 99% with 30. Noisier machines need more runs, not a looser
//! test.
//!
//! Non-finite samples (NaN, ±inf) are ignored everywhere, and no output is
//! NaN: degenerate inputs (empty, one sample, constant samples) get the
//! finite values documented on each function.
//!
//! Layout: this file holds the descriptive statistics every other part
//! needs ([`Summary`]), and the rest lives beside it one method per file, so
//! that each can be read and checked against its reference on its own:
//! `mann_whitney` (is there a difference?), `hodges_lehmann` (how large, and
//! how sure?), `verdict` (what to report), with `u_null` and `normal` as the
//! distributions they share. Everything public of those is re-exported here,
//! so callers keep writing `stats::X`. Two methods stand apart and are
//! called through their modules: `paired` (interleaved runs: the signed-rank
//! test and the Hodges–Lehmann ratio of the pairs) and `change_points`
//! (where a history shifted: E-divisive means).

pub mod change_points;
pub mod familywise;
mod hodges_lehmann;
mod mann_whitney;
mod normal;
pub mod paired;
pub mod power;
pub mod sequential;
#[cfg(test)]
mod test_support;
mod u_null;
mod verdict;
pub mod welch;

pub use hodges_lehmann::hodges_lehmann;
pub use mann_whitney::mann_whitney_u;
pub use verdict::{
    compare, compare_exact, compare_paired, not_significant, smallest_p_unpaired, Analysis,
    CompareOptions, Comparison, ExactComparison, Verdict, MIN_PAIRS,
};

use serde::{Deserialize, Serialize};

/// Descriptive statistics of one set of samples.
#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
pub struct Summary {
    /// Number of (finite) samples.
    pub n: usize,
    pub mean: f64,
    /// Middle value; the mean of the two middle values for an even count.
    pub median: f64,
    /// Sample standard deviation (divisor `n - 1`); 0 for a single sample.
    pub stddev: f64,
    pub min: f64,
    pub max: f64,
    /// Coefficient of variation `stddev / mean`; 0 when the mean is 0.
    pub cv: f64,
}

impl Summary {
    /// The summary of no samples: `n = 0` and every statistic 0.
    pub fn empty() -> Summary {
        Summary {
            n: 0,
            mean: 0.0,
            median: 0.0,
            stddev: 0.0,
            min: 0.0,
            max: 0.0,
            cv: 0.0,
        }
    }
}

/// Describes `samples`, ignoring non-finite values; `None` when no finite
/// sample is left.
pub fn summarize(samples: &[f64]) -> Option<Summary> {
    let mut xs = finite(samples);
    if xs.is_empty() {
        return None;
    }
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    let mean = xs.iter().sum::<f64>() / n as f64;
    let stddev = if n > 1 {
        let ss: f64 = xs.iter().map(|x| (x - mean) * (x - mean)).sum();
        (ss / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    let cv = if mean != 0.0 { stddev / mean } else { 0.0 };
    Some(Summary {
        n,
        mean,
        median: median_of_sorted(&xs),
        stddev,
        min: xs[0],
        max: xs[n - 1],
        cv,
    })
}

fn median_of_sorted(xs: &[f64]) -> f64 {
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

fn finite(samples: &[f64]) -> Vec<f64> {
    samples.iter().copied().filter(|x| x.is_finite()).collect()
}

#[cfg(test)]
mod tests {
    use super::test_support::{assert_close, reference, RefSummary};
    use super::*;

    fn check_summary(name: &str, got: &Summary, want: &RefSummary) {
        assert_eq!(got.n, want.n, "{name}: n");
        assert_close(&format!("{name}: mean"), got.mean, want.mean, 1e-12);
        assert_close(&format!("{name}: median"), got.median, want.median, 1e-14);
        assert_close(&format!("{name}: min"), got.min, want.min, 1e-15);
        assert_close(&format!("{name}: max"), got.max, want.max, 1e-15);
        let sd = want.stddev.unwrap_or(0.0);
        if sd == 0.0 {
            assert!(got.stddev.abs() < 1e-12, "{name}: stddev {}", got.stddev);
        } else {
            assert_close(&format!("{name}: stddev"), got.stddev, sd, 1e-10);
        }
        assert!(got.cv.is_finite());
    }

    #[test]
    fn reference_fixture_is_complete() {
        let r = reference();
        assert!(r.scipy_version.starts_with("1."), "{}", r.scipy_version);
        assert!(r.cases.len() >= 15);
        let exact = r.cases.iter().filter(|c| c.method == "exact").count();
        let asym = r.cases.iter().filter(|c| c.method == "asymptotic").count();
        assert!(exact >= 4 && asym >= 4, "exact {exact}, asymptotic {asym}");
    }

    #[test]
    fn summaries_match_numpy() {
        for c in reference().cases {
            check_summary(&c.name, &summarize(&c.a).unwrap(), &c.summary_a);
            check_summary(&c.name, &summarize(&c.b).unwrap(), &c.summary_b);
        }
    }

    #[test]
    fn summarize_edge_cases() {
        assert_eq!(summarize(&[]), None);
        assert_eq!(summarize(&[f64::NAN, f64::INFINITY]), None);
        let one = summarize(&[4.0]).unwrap();
        assert_eq!(
            (one.n, one.mean, one.median, one.stddev, one.cv),
            (1, 4.0, 4.0, 0.0, 0.0)
        );
        let constant = summarize(&[2.0; 5]).unwrap();
        assert_eq!((constant.stddev, constant.cv), (0.0, 0.0));
        let zero_mean = summarize(&[-1.0, 1.0]).unwrap();
        assert_eq!(zero_mean.cv, 0.0);
        let even = summarize(&[4.0, 1.0, 3.0, 2.0]).unwrap();
        assert_eq!((even.median, even.min, even.max), (2.5, 1.0, 4.0));
        let with_nan = summarize(&[1.0, f64::NAN, 3.0]).unwrap();
        assert_eq!((with_nan.n, with_nan.mean), (2, 2.0));
    }
}
