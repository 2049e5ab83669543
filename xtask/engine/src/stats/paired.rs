//! Paired analysis of interleaved runs (`--rev`, `--side`, `--duet`): run i
//! of A and run i of B were made back to back (or at the same time), so a
//! burst of machine-wide noise slows both. Comparing each pair and testing
//! the per-pair differences cancels that shared part, which the unpaired
//! Mann–Whitney test cannot: it sees only two piles of times.
//!
//! Differences are taken on the log scale, `d = ln(b / a)`: a ratio is what
//! a slowdown is (5 % on a 1 s run and on a 10 s run alike), and a log ratio
//! is symmetric (`ln 2 = -ln 0.5`), which the signed-rank test assumes under
//! the null hypothesis. On `d`:
//!
//! * the **Wilcoxon signed-rank test**, exactly as
//!   `scipy.stats.wilcoxon(d, zero_method="wilcox", correction=False)` with
//!   the default `method="auto"` of scipy 1.17 (see [`analyze`]);
//! * the **Hodges–Lehmann estimate**: the median of the Walsh averages
//!   `(d[i] + d[j]) / 2, i <= j`, with its distribution-free confidence
//!   interval read off the sorted Walsh averages at the signed-rank test's
//!   critical value (Hollander & Wolfe; R's `wilcox.test(conf.int = TRUE)`),
//!   both turned back into ratios with `exp`.

use super::hodges_lehmann::{from_ordered_bits, ordered_bits};
use super::normal::{normal_quantile, normal_sf};
use serde::Serialize;

/// Paired analysis of interleaved runs: pair i is (a[i], b[i]).
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct PairedAnalysis {
    pub pairs: usize,
    /// b[i] / a[i], in pair order.
    pub ratios: Vec<f64>,
    pub median_ratio: f64,
    /// Hodges–Lehmann estimate of the ratio: exp(median of the Walsh averages of ln(b/a)).
    pub hl_ratio: f64,
    /// The distribution-free confidence interval of that ratio at 1 - alpha (exp of the bounds on the log scale, from the signed-rank distribution).
    pub ci_low: f64,
    pub ci_high: f64,
    /// Wilcoxon signed-rank test on ln(b/a), two-sided, as scipy.stats.wilcoxon (zero_method="wilcox", correction=False, method "auto": exact for n <= 50 without ties/zeros, else normal approximation with tie correction).
    pub statistic: f64,
    pub p_value: f64,
    /// "exact" or "approx".
    pub method: &'static str,
}

/// Above this many pairs scipy's `auto` uses the normal approximation even
/// without ties or zeros.
const EXACT_MAX_PAIRS: usize = 50;

/// Up to this many pairs, with ties or zeros, scipy's `auto` enumerates the
/// `2^n` sign flips (an exact permutation test; 2^13 is below its default
/// 9 999 resamples).
const SIGN_FLIP_MAX_PAIRS: usize = 13;

/// Up to this many pairs the interval's critical value comes from the exact
/// signed-rank distribution (a table of `n(n+1)/2 + 1` probabilities built
/// in `O(n^3)`); beyond, from its normal approximation.
const EXACT_CI_MAX_PAIRS: usize = 200;

/// Paired analysis of `b` against `a`, pair i being `(a[i], b[i])`.
///
/// The signed-rank test follows `scipy.stats.wilcoxon(ln(b/a),
/// zero_method="wilcox", correction=False)` with scipy 1.17's `auto`
/// method: pairs with `a[i] == b[i]` (zeros) are dropped from the ranks;
/// the exact null distribution when there are at most 50 pairs and no ties
/// or zeros; with ties or zeros and at most 13 pairs the exact distribution
/// of the statistic over the `2^n` sign flips (scipy's permutation test,
/// reported as `"exact"`); otherwise the normal approximation with the tie
/// correction and no continuity correction (`"approx"`). `statistic` is
/// `min(R+, R-)`, scipy's two-sided statistic. Where scipy gives NaN (every
/// pair equal and more than 13 pairs) the p-value is 1.
///
/// The Hodges–Lehmann estimate and its interval use every pair, zeros
/// included: an unchanged pair is evidence of no change. The interval is
/// `[W(k), W(N+1-k)]` of the `N = n(n+1)/2` sorted Walsh averages, `k` the
/// largest integer with `2 P(T+ <= k-1) <= alpha` under the exact
/// signed-rank distribution (normal approximation with continuity correction
/// beyond 200 pairs), and at least 1: with fewer than 6 pairs no interval
/// reaches 95 %, and the interval is then the range of the Walsh averages.
/// `alpha` is clamped to `[1e-12, 1]` (NaN counts as 0.05).
///
/// None when there are fewer than 2 pairs, the lengths differ, or any value is not finite and positive.
/// (Also when a ratio of two such values overflows or underflows, as
/// `1e300 / 1e-300` does: it has no usable logarithm.)
pub fn analyze(a: &[f64], b: &[f64], alpha: f64) -> Option<PairedAnalysis> {
    if a.len() != b.len() || a.len() < 2 {
        return None;
    }
    let valid = |x: &f64| x.is_finite() && *x > 0.0;
    if !a.iter().chain(b).all(valid) {
        return None;
    }
    let ratios: Vec<f64> = a.iter().zip(b).map(|(x, y)| y / x).collect();
    // 1e300 / 1e-300 overflows: such a ratio has no usable logarithm either.
    if !ratios.iter().all(valid) {
        return None;
    }
    let logs: Vec<f64> = ratios.iter().map(|r| r.ln()).collect();
    let alpha = if alpha.is_nan() {
        0.05
    } else {
        alpha.clamp(1e-12, 1.0)
    };

    let test = signed_rank_test(&logs);
    let walsh = WalshAverages::new(&logs);
    let (k_low, k_high) = interval_ranks(logs.len(), alpha);
    let mut sorted_ratios = ratios.clone();
    sorted_ratios.sort_by(f64::total_cmp);
    Some(PairedAnalysis {
        pairs: logs.len(),
        median_ratio: super::median_of_sorted(&sorted_ratios),
        ratios,
        hl_ratio: walsh.median().exp(),
        ci_low: walsh.kth(k_low).exp(),
        ci_high: walsh.kth(k_high).exp(),
        statistic: test.statistic,
        p_value: test.p_value,
        method: test.method,
    })
}

/// The two-sided p-value of the Wilcoxon signed-rank test of `d` alone
/// (as [`analyze`] computes it), for tests that need only that.
pub fn signed_rank_p(d: &[f64]) -> f64 {
    signed_rank_test(d).p_value
}

struct SignedRank {
    statistic: f64,
    p_value: f64,
    method: &'static str,
}

/// The two-sided Wilcoxon signed-rank test of `d` (see [`analyze`]).
fn signed_rank_test(d: &[f64]) -> SignedRank {
    let n_total = d.len();
    let mut nonzero: Vec<f64> = d.iter().copied().filter(|x| *x != 0.0).collect();
    let has_zeros = nonzero.len() < n_total;
    nonzero.sort_by(|x, y| x.abs().total_cmp(&y.abs()));
    let count = nonzero.len();

    // Average ranks of |d| doubled, so that they stay integers: a group of
    // equal |d| at sorted positions i..j (0-based) shares rank (i+1+j)/2.
    let mut doubled_ranks = Vec::with_capacity(count);
    let mut tie_term = 0.0;
    let mut has_ties = false;
    let mut i = 0;
    while i < count {
        let mut j = i + 1;
        while j < count && nonzero[j].abs() == nonzero[i].abs() {
            j += 1;
        }
        let t = (j - i) as f64;
        tie_term += t * t * t - t;
        has_ties |= j - i > 1;
        doubled_ranks.extend(std::iter::repeat_n((i + 1 + j) as u64, j - i));
        i = j;
    }
    let plus2: u64 = nonzero
        .iter()
        .zip(&doubled_ranks)
        .filter(|(x, _)| **x > 0.0)
        .map(|(_, r)| r)
        .sum();
    let total2 = (count * (count + 1)) as u64;
    let r_plus = plus2 as f64 / 2.0;
    let r_minus = (total2 - plus2) as f64 / 2.0;
    let statistic = r_plus.min(r_minus);

    let (p_value, method) = if n_total <= EXACT_MAX_PAIRS && !has_ties && !has_zeros {
        let pmf = signed_rank_pmf(count);
        let k = plus2 as usize / 2;
        let cdf: f64 = pmf[..=k].iter().sum();
        let sf: f64 = pmf[k..].iter().sum();
        (2.0 * cdf.min(sf), "exact")
    } else if n_total <= SIGN_FLIP_MAX_PAIRS {
        (sign_flip_p_value(&doubled_ranks, plus2), "exact")
    } else {
        let n = count as f64;
        let mean = n * (n + 1.0) / 4.0;
        let var = (n * (n + 1.0) * (2.0 * n + 1.0) - tie_term / 2.0) / 24.0;
        let p = if var > 0.0 {
            2.0 * normal_sf(((r_plus - mean) / var.sqrt()).abs())
        } else {
            // Every pair equal: no rank at all, nothing differs.
            1.0
        };
        (p, "approx")
    };
    SignedRank {
        statistic,
        p_value: p_value.clamp(0.0, 1.0),
        method,
    }
}

/// Probabilities of `T+ = 0 ..= n(n+1)/2` for `n` untied nonzero values
/// (each sign equally likely), built as scipy does: adding value `k` halves
/// the mass and shifts one half by `k`. Every entry is a multiple of `2^-n`,
/// so up to `n = 50` the sums below are exact.
fn signed_rank_pmf(n: usize) -> Vec<f64> {
    let mut pmf = vec![0.0; n * (n + 1) / 2 + 1];
    pmf[0] = 1.0;
    let mut top = 0;
    for k in 1..=n {
        for s in (0..=top).rev() {
            let half = pmf[s] * 0.5;
            pmf[s] = half;
            pmf[s + k] += half;
        }
        top += k;
    }
    pmf
}

/// Two-sided p-value of `R+` (doubled: `plus2`) over the `2^n` equally
/// likely sign flips of the values with these doubled ranks, as
/// `scipy.stats.permutation_test(..., permutation_type="samples")` computes
/// it for an exact test: `2 min(P(S <= obs), P(S >= obs))`. Zeros flip to
/// themselves, so they scale both counts alike and are left out.
fn sign_flip_p_value(doubled_ranks: &[u64], plus2: u64) -> f64 {
    let max: u64 = doubled_ranks.iter().sum();
    let mut counts = vec![0u64; max as usize + 1];
    counts[0] = 1;
    let mut top = 0;
    for &r in doubled_ranks {
        let r = r as usize;
        for s in (0..=top).rev() {
            counts[s + r] += counts[s];
        }
        top += r;
    }
    let total = 2f64.powi(doubled_ranks.len() as i32);
    let obs = plus2 as usize;
    let le: u64 = counts[..=obs].iter().sum();
    let ge: u64 = counts[obs..].iter().sum();
    2.0 * (le.min(ge) as f64 / total)
}

/// The 1-based ranks `(k, N + 1 - k)` of the interval's ends among the
/// `N = n(n+1)/2` Walsh averages (see [`analyze`]).
fn interval_ranks(n: usize, alpha: f64) -> (usize, usize) {
    let big_n = n * (n + 1) / 2;
    let max_k = big_n.div_ceil(2);
    let k = if n <= EXACT_CI_MAX_PAIRS {
        // k + 1 qualifies while 2 P(T+ <= k) <= alpha; P grows with k.
        let pmf = signed_rank_pmf(n);
        let mut k = 1;
        let mut cdf = pmf[0] + pmf[1];
        while k < max_k && 2.0 * cdf <= alpha {
            k += 1;
            cdf += pmf[k];
        }
        k
    } else {
        let mu = big_n as f64 / 2.0;
        let nf = n as f64;
        let sd = (nf * (nf + 1.0) * (2.0 * nf + 1.0) / 24.0).sqrt();
        let z = normal_quantile(1.0 - alpha / 2.0);
        (mu + 0.5 - z * sd).floor().clamp(1.0, max_k as f64) as usize
    };
    (k, big_n + 1 - k)
}

/// The Walsh averages `(d[i] + d[j]) / 2, i <= j` of one sample.
struct WalshAverages {
    /// The sample, sorted.
    d: Vec<f64>,
    /// All of them sorted, when there are few enough to store.
    sorted: Option<Vec<f64>>,
}

impl WalshAverages {
    /// Up to this many averages (361 pairs) they are sorted in memory;
    /// beyond, order statistics are selected by bisection on the value.
    const SORT_MAX: usize = 1 << 16;

    fn new(d: &[f64]) -> WalshAverages {
        let mut d = d.to_vec();
        d.sort_by(f64::total_cmp);
        let n = d.len();
        let sorted = (n * (n + 1) / 2 <= Self::SORT_MAX).then(|| {
            let d = &d;
            // + 0.0 normalises -0.0, as the selection below does.
            let mut w: Vec<f64> = (0..n)
                .flat_map(|i| d[i..].iter().map(move |y| (d[i] + y) / 2.0 + 0.0))
                .collect();
            w.sort_by(f64::total_cmp);
            w
        });
        WalshAverages { d, sorted }
    }

    fn len(&self) -> usize {
        self.d.len() * (self.d.len() + 1) / 2
    }

    /// Median as numpy's: the mean of the two middle ones for an even count.
    fn median(&self) -> f64 {
        let n = self.len();
        if n % 2 == 1 {
            self.kth(n / 2 + 1)
        } else {
            (self.kth(n / 2) + self.kth(n / 2 + 1)) / 2.0
        }
    }

    /// The `k`-th smallest average (1-based), exactly as computed.
    fn kth(&self, k: usize) -> f64 {
        if let Some(w) = &self.sorted {
            return w[k - 1];
        }
        let n = self.d.len();
        let mut lo = ordered_bits(self.d[0]);
        let mut hi = ordered_bits(self.d[n - 1]);
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

    /// Number of averages `<= v`, in `O(n)`: rounding is monotone, so
    /// `(d[i] + d[j]) / 2` grows with both `i` and `j`, and the last `j`
    /// that stays at or below `v` can only move down as `i` grows.
    fn count_le(&self, v: f64) -> usize {
        let d = &self.d;
        let mut count = 0;
        let mut end = d.len();
        for i in 0..d.len() {
            while end > i && (d[i] + d[end - 1]) / 2.0 > v {
                end -= 1;
            }
            if end <= i {
                break;
            }
            count += end - i;
        }
        count
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, assert_near, paired_reference, Rng};
    use super::*;

    #[test]
    fn paired_fixture_is_complete() {
        let r = paired_reference();
        assert!(r.scipy_version.starts_with("1."), "{}", r.scipy_version);
        let sizes: Vec<usize> = r.cases.iter().map(|c| c.a().len()).collect();
        for n in [2, 13, 14, 50, 51, 60] {
            assert!(sizes.contains(&n), "no case with {n} pairs");
        }
        let approx = r.cases.iter().filter(|c| c.method == "approx").count();
        assert!(
            approx >= 4 && r.cases.len() - approx >= 10,
            "{approx} approx"
        );
    }

    #[test]
    fn signed_rank_test_matches_scipy_wilcoxon() {
        for c in paired_reference().cases {
            let got = analyze(&c.a(), &c.b(), 0.05).unwrap();
            let name = &c.name;
            assert_eq!(got.method, c.method, "{name}: method");
            assert_eq!(got.statistic, c.statistic, "{name}: statistic");
            assert_close(&format!("{name}: p"), got.p_value, c.p_value, 1e-9);
        }
    }

    #[test]
    fn hodges_lehmann_ratio_and_interval_match_the_exact_walsh_interval() {
        for c in paired_reference().cases {
            let name = &c.name;
            let (a, b) = (c.a(), c.b());
            for (alpha, want) in [(0.05, c.ci95_log), (0.10, c.ci90_log)] {
                let got = analyze(&a, &b, alpha).unwrap();
                assert_eq!(got.pairs, a.len());
                // Rust's exp and numpy's may differ in the last bit.
                let near = |what: &str, got: f64, log: f64| {
                    assert_close(&format!("{name}: {what} at {alpha}"), got, log.exp(), 1e-14)
                };
                near("hl", got.hl_ratio, c.hl_log);
                near("ci low", got.ci_low, want.0);
                near("ci high", got.ci_high, want.1);
                // serde_json may read the expected value one ulp away.
                let what = format!("{name}: median ratio");
                assert_close(&what, got.median_ratio, c.median_ratio, 1e-15);
                assert!(got.ci_low <= got.hl_ratio && got.hl_ratio <= got.ci_high);
                for (i, r) in got.ratios.iter().enumerate() {
                    assert_eq!(*r, b[i] / a[i], "{name}: ratio {i}");
                }
            }
        }
    }

    #[test]
    fn refuses_what_cannot_be_paired() {
        assert!(analyze(&[1.0], &[1.1], 0.05).is_none(), "one pair");
        assert!(analyze(&[], &[], 0.05).is_none());
        assert!(analyze(&[1.0, 2.0], &[1.0, 2.0, 3.0], 0.05).is_none());
        for bad in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert!(
                analyze(&[1.0, bad], &[1.0, 2.0], 0.05).is_none(),
                "{bad} in a"
            );
            assert!(
                analyze(&[1.0, 2.0], &[bad, 2.0], 0.05).is_none(),
                "{bad} in b"
            );
        }
        // Finite values whose ratio is not.
        assert!(analyze(&[1e-300, 1.0], &[1e300, 1.0], 0.05).is_none());
        // NaN alpha counts as 0.05; absurd ones are clamped, never a panic.
        let (a, b) = ([1.0, 1.1, 0.9, 1.2, 1.0, 1.05, 0.95], [1.1; 7]);
        assert_eq!(analyze(&a, &b, f64::NAN), analyze(&a, &b, 0.05));
        for alpha in [-1.0, 0.0, 1.0, 7.0] {
            let got = analyze(&a, &b, alpha).unwrap();
            assert!(got.ci_low <= got.hl_ratio && got.hl_ratio <= got.ci_high);
        }
    }

    #[test]
    fn sign_flip_distribution_matches_enumeration() {
        // Doubled ranks with ties (2+3)/2 = 2.5 -> 5 and a 1-tie.
        let ranks = [2u64, 5, 5, 8, 10, 12];
        for plus2 in 0..=ranks.iter().sum::<u64>() {
            let (mut le, mut ge) = (0u32, 0u32);
            for mask in 0u32..(1 << ranks.len()) {
                let s: u64 = (0..ranks.len())
                    .filter(|i| mask & (1 << i) != 0)
                    .map(|i| ranks[i])
                    .sum();
                le += u32::from(s <= plus2);
                ge += u32::from(s >= plus2);
            }
            let want = (2.0 * f64::from(le.min(ge)) / 64.0).min(1.0);
            let got = sign_flip_p_value(&ranks, plus2).min(1.0);
            assert_eq!(got, want, "plus2 = {plus2}");
        }
    }

    #[test]
    fn walsh_selection_matches_sorting() {
        let mut rng = Rng::new(3);
        for trial in 0..40 {
            let n = 1 + trial % 17;
            // Coarse values so that equal averages and zeros occur.
            let d: Vec<f64> = (0..n)
                .map(|_| (rng.uniform() * 9.0).round() * 0.25 - 1.0)
                .collect();
            let walsh = WalshAverages::new(&d);
            let selecting = WalshAverages {
                d: walsh.d.clone(),
                sorted: None,
            };
            for k in 1..=walsh.len() {
                assert_eq!(selecting.kth(k), walsh.kth(k), "trial {trial} k={k}");
            }
            assert_eq!(selecting.median(), walsh.median());
        }
    }

    #[test]
    fn normal_approximation_ranks_beyond_the_exact_table() {
        // Where the exact table stops the approximation must agree with it to
        // within one rank: compare both at the boundary.
        {
            let n = EXACT_CI_MAX_PAIRS;
            let pmf = signed_rank_pmf(n);
            let (exact, _) = interval_ranks(n, 0.05);
            let mu = (n * (n + 1)) as f64 / 4.0;
            let sd = ((n * (n + 1) * (2 * n + 1)) as f64 / 24.0).sqrt();
            let approx = (mu + 0.5 - normal_quantile(0.975) * sd).floor() as usize;
            assert!(exact.abs_diff(approx) <= 1, "n={n}: {exact} vs {approx}");
            // The exact k is the largest with 2 P(T+ <= k-1) <= alpha.
            let cdf = |k: usize| pmf[..=k].iter().sum::<f64>();
            assert!(2.0 * cdf(exact - 1) <= 0.05 && 2.0 * cdf(exact) > 0.05);
        }
        // Past it: 400 pairs, 5% slower with 2% own noise, still brackets.
        let mut rng = Rng::new(5);
        let a: Vec<f64> = (0..400).map(|_| (0.02 * rng.normal()).exp()).collect();
        let b: Vec<f64> = a
            .iter()
            .map(|x| x * 1.05 * (0.02 * rng.normal()).exp())
            .collect();
        let got = analyze(&a, &b, 0.05).unwrap();
        assert_eq!(got.method, "approx");
        assert!(got.ci_low < 1.05 && 1.05 < got.ci_high, "{got:?}");
        assert!(got.ci_high / got.ci_low < 1.01, "{got:?}");
        assert!(got.p_value < 1e-30);
    }

    #[test]
    fn pairing_sees_a_slowdown_that_shared_noise_hides() {
        // Interleaved runs on a busy machine: each pair shares a slowdown of
        // up to 30%, B does 5% more work. Paired, 10 pairs catch it.
        let mut rng = Rng::new(17);
        let mut caught = 0;
        let mut false_alarms = 0;
        for _ in 0..200 {
            let shared: Vec<f64> = (0..10).map(|_| 1.0 + 0.3 * rng.uniform()).collect();
            let own = |rng: &mut Rng| (0.01 * rng.normal()).exp();
            let a: Vec<f64> = shared.iter().map(|s| s * own(&mut rng)).collect();
            let b: Vec<f64> = shared.iter().map(|s| s * 1.05 * own(&mut rng)).collect();
            let a2: Vec<f64> = shared.iter().map(|s| s * own(&mut rng)).collect();
            let hit = analyze(&a, &b, 0.05).unwrap();
            caught += usize::from(hit.p_value < 0.05 && hit.ci_low > 1.0);
            false_alarms += usize::from(analyze(&a, &a2, 0.05).unwrap().p_value < 0.05);
            assert_near("hl", hit.hl_ratio, 1.05, 0.02);
        }
        assert!(caught >= 198, "caught {caught} of 200");
        assert!(false_alarms <= 20, "{false_alarms} false alarms of 200");
    }
}
