//! The Hodges–Lehmann shift and its distribution-free (Moses) confidence
//! interval: how large the change is and how sure we are, where the U test
//! only says whether there is one. The interval is read off the sorted
//! pairwise differences at the U test's critical value, hence the shared
//! [`super::u_null`] table; past 65 536 differences they are selected
//! without being stored, which is what the bit-order helpers are for.

use super::finite;
use super::normal::{normal_cdf, normal_quantile};
use super::u_null::UNull;
use serde::{Deserialize, Serialize};

/// Hodges–Lehmann estimate of the shift from `a` to `b`, with a
/// distribution-free confidence interval.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct ShiftEstimate {
    /// Median of all pairwise differences `b[j] - a[i]` (as numpy's median:
    /// mean of the two middle ones for an even count).
    pub shift: f64,
    /// Lower end of the interval, `D(k)` of the sorted differences.
    pub ci_low: f64,
    /// Upper end of the interval, `D(N + 1 - k)`.
    pub ci_high: f64,
    /// Coverage the interval was asked for, `1 - alpha`.
    pub confidence: f64,
    /// Coverage it actually has under the null distribution of U (for
    /// continuous data): `1 - 2 P(U <= k - 1)`. Below `confidence` only when
    /// the samples are too small for any interval to reach it (e.g. 3 + 3
    /// samples at 95%); the interval is then the full range of differences.
    pub achieved_confidence: f64,
}

/// Hodges–Lehmann shift of `b` relative to `a` (positive: `b` is larger) and
/// its `1 - alpha` confidence interval (Moses' interval, as in Hollander &
/// Wolfe and R's `wilcox.test(conf.int = TRUE)`): `[D(k), D(N+1-k)]` of the
/// `N = n1 * n2` sorted differences, where `k` is the largest integer with
/// `2 P(U <= k-1) <= alpha`.
///
/// `P(U <= k-1)` comes from the exact null distribution of U whenever its table
/// fits (any sizes up to about 60 + 60, a side of 8 up to ~125 000), ties or
/// not; beyond that from the normal approximation with continuity correction,
/// `k = floor(n1 n2 / 2 + 1/2 - z_(1-alpha/2) sqrt(n1 n2 (n1+n2+1) / 12))`
/// (no tie correction). `k` is at least 1: the widest interval is the range of
/// the differences. Beyond 65 536 differences they are not stored: order
/// statistics are selected by bisection on the value, in `O(n1 + n2)` memory.
///
/// Non-finite samples are ignored; `None` when a side has no finite sample.
/// `alpha` is clamped to `[1e-12, 1]` (NaN counts as 0.05).
pub fn hodges_lehmann(a: &[f64], b: &[f64], alpha: f64) -> Option<ShiftEstimate> {
    let mut a = finite(a);
    let mut b = finite(b);
    if a.is_empty() || b.is_empty() {
        return None;
    }
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let alpha = if alpha.is_nan() {
        0.05
    } else {
        alpha.clamp(1e-12, 1.0)
    };
    let (n1, n2) = (a.len(), b.len());
    let big_n = n1 * n2;
    let pairs = PairwiseDiffs { a: &a, b: &b };
    // Small inputs (every profiling run): sort the differences. Large ones:
    // select without storing them.
    let sorted: Option<Vec<f64>> = (big_n <= PairwiseDiffs::SORT_MAX).then(|| {
        let mut d: Vec<f64> = b
            .iter()
            .flat_map(|y| a.iter().map(move |x| y - x))
            .collect();
        d.sort_by(f64::total_cmp);
        d
    });
    let kth = |k: usize| match &sorted {
        Some(d) => d[k - 1] + 0.0,
        None => pairs.kth(k),
    };

    let shift = if big_n % 2 == 1 {
        kth(big_n / 2 + 1)
    } else {
        (kth(big_n / 2) + kth(big_n / 2 + 1)) / 2.0
    };

    let max_k = big_n.div_ceil(2);
    let (k, achieved) = match UNull::cached(n1, n2) {
        Some(dist) => {
            let mut k = 1;
            while k < max_k && 2.0 * dist.cdf(k as i64) <= alpha {
                k += 1;
            }
            (k, 1.0 - 2.0 * dist.cdf(k as i64 - 1))
        }
        None => {
            let mu = big_n as f64 / 2.0;
            let sd = (big_n as f64 * (n1 + n2 + 1) as f64 / 12.0).sqrt();
            let z = normal_quantile(1.0 - alpha / 2.0);
            let k = (mu + 0.5 - z * sd).floor().clamp(1.0, max_k as f64) as usize;
            let achieved = 1.0 - 2.0 * normal_cdf((k as f64 - 0.5 - mu) / sd);
            (k, achieved)
        }
    };
    Some(ShiftEstimate {
        shift,
        ci_low: kth(k),
        ci_high: kth(big_n + 1 - k),
        confidence: 1.0 - alpha,
        achieved_confidence: achieved.clamp(0.0, 1.0),
    })
}

/// The multiset `{ b[j] - a[i] }` of two sorted samples, without storing it.
struct PairwiseDiffs<'s> {
    a: &'s [f64],
    b: &'s [f64],
}

impl PairwiseDiffs<'_> {
    /// Up to this many differences they are sorted in memory instead.
    const SORT_MAX: usize = 1 << 16;

    /// Number of differences `<= t`, in `O(n1 + n2)`: rounding is monotone, so
    /// `b[j] - a[i]` grows with `j` and shrinks with `i`.
    fn count_le(&self, t: f64) -> usize {
        let mut count = 0;
        let mut j = 0;
        for &ai in self.a {
            while j < self.b.len() && self.b[j] - ai <= t {
                j += 1;
            }
            count += j;
        }
        count
    }

    /// The `k`-th smallest difference (1-based), exactly as computed by
    /// `b[j] - a[i]`: bisection over the bit patterns of f64 between the
    /// smallest and largest difference finds the least value with at least
    /// `k` differences at or below it, which is a difference.
    fn kth(&self, k: usize) -> f64 {
        let (n1, n2) = (self.a.len(), self.b.len());
        let mut lo = ordered_bits(self.b[0] - self.a[n1 - 1]);
        let mut hi = ordered_bits(self.b[n2 - 1] - self.a[0]);
        while lo < hi {
            let mid = ((lo as i128 + hi as i128) >> 1) as i64;
            if self.count_le(from_ordered_bits(mid)) >= k {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        // Normalise -0.0 (same count as +0.0) to +0.0.
        from_ordered_bits(lo) + 0.0
    }
}

/// Maps f64 to i64 so that integer order is `f64::total_cmp` order.
pub(super) fn ordered_bits(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

pub(super) fn from_ordered_bits(k: i64) -> f64 {
    let bits = k ^ ((((k >> 63) as u64) >> 1) as i64);
    f64::from_bits(bits as u64)
}

#[cfg(test)]
mod tests {
    use super::super::mann_whitney::{mann_whitney_u, PValueMethod};
    use super::super::test_support::{assert_near, input_scale, reference, Rng};
    use super::*;

    #[test]
    fn hodges_lehmann_matches_numpy_and_exact_moses_interval() {
        for c in reference().cases {
            let tol = 1e-14 * input_scale(&c);
            let name = &c.name;
            for (alpha, want) in [(0.05, c.hl_ci95), (0.10, c.hl_ci90)] {
                let hl = hodges_lehmann(&c.a, &c.b, alpha).unwrap();
                assert_near(&format!("{name}: shift"), hl.shift, c.hl_shift, tol);
                assert_near(&format!("{name}: ci{alpha} low"), hl.ci_low, want.0, tol);
                assert_near(&format!("{name}: ci{alpha} high"), hl.ci_high, want.1, tol);
                assert!(hl.ci_low <= hl.shift && hl.shift <= hl.ci_high, "{name}");
                assert!(hl.achieved_confidence > 0.0 && hl.achieved_confidence <= 1.0);
            }
        }
    }

    #[test]
    fn pairwise_selection_matches_sorting() {
        let mut rng = Rng::new(7);
        for trial in 0..50 {
            let n1 = 1 + trial % 9;
            let n2 = 1 + (trial * 7) % 11;
            // Coarse values so that ties and zero differences occur.
            let mut a: Vec<f64> = (0..n1)
                .map(|_| (rng.uniform() * 8.0).round() - 3.0)
                .collect();
            let mut b: Vec<f64> = (0..n2)
                .map(|_| (rng.uniform() * 8.0).round() * 0.5)
                .collect();
            a.sort_by(f64::total_cmp);
            b.sort_by(f64::total_cmp);
            let mut all: Vec<f64> = b
                .iter()
                .flat_map(|y| a.iter().map(move |x| y - x))
                .collect();
            all.sort_by(f64::total_cmp);
            let d = PairwiseDiffs { a: &a, b: &b };
            for (i, want) in all.iter().enumerate() {
                assert_eq!(d.kth(i + 1), *want, "trial {trial} k={}", i + 1);
            }
        }
    }

    #[test]
    fn ordered_bits_round_trip_and_order() {
        let xs = [-f64::MAX, -1.5, -1e-300, -0.0, 0.0, 1e-300, 2.0, f64::MAX];
        for w in xs.windows(2) {
            assert!(ordered_bits(w[0]) < ordered_bits(w[1]));
        }
        for x in xs {
            assert_eq!(from_ordered_bits(ordered_bits(x)).to_bits(), x.to_bits());
        }
    }

    #[test]
    fn normal_approximation_interval_for_large_samples() {
        // 200 + 200 is past the exact table: the normal-approximation k must
        // still give roughly the nominal coverage and bracket the shift.
        let mut rng = Rng::new(11);
        let a: Vec<f64> = (0..200).map(|_| rng.normal()).collect();
        let b: Vec<f64> = (0..200).map(|_| rng.normal() + 0.5).collect();
        let hl = hodges_lehmann(&a, &b, 0.05).unwrap();
        assert!(hl.ci_low < hl.shift && hl.shift < hl.ci_high);
        assert!((hl.achieved_confidence - 0.95).abs() < 0.002, "{hl:?}");
        assert!((hl.shift - 0.5).abs() < 0.3, "{hl:?}");
        let mw = mann_whitney_u(&a, &b).unwrap();
        assert_eq!(mw.method, PValueMethod::Asymptotic);
        assert!(mw.p_value < 1e-3, "{mw:?}");
    }
}
