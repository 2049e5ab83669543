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

use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::cmp::Ordering;
use std::rc::Rc;

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

// ---------------------------------------------------------------------------
// Mann–Whitney U
// ---------------------------------------------------------------------------

/// How a Mann–Whitney p-value was computed.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PValueMethod {
    /// Exact null distribution of U (no ties, a side with at most 8 samples).
    Exact,
    /// Normal approximation with tie and continuity corrections.
    Asymptotic,
}

/// Result of a two-sided Mann–Whitney U test.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq)]
pub struct MannWhitney {
    /// U statistic of the first sample (scipy's `statistic`): the number of
    /// pairs with `x[i] > y[j]`, ties counting one half.
    pub u: f64,
    /// Two-sided p-value, in `[0, 1]`.
    pub p_value: f64,
    pub method: PValueMethod,
}

/// Largest size of the smaller sample for which the exact p-value is used
/// (scipy's `auto` rule).
pub const EXACT_MAX_SMALLER_SIDE: usize = 8;

/// Two-sided Mann–Whitney U test of `x` against `y`, matching
/// `scipy.stats.mannwhitneyu(x, y, alternative="two-sided")` with the default
/// `method="auto"` of scipy 1.17: the exact distribution when *either* sample
/// has at most 8 values and no value occurs twice, the normal approximation
/// (tie-corrected variance, continuity correction 0.5) otherwise.
///
/// Deviations from scipy, all outside what profiling produces: when the exact
/// table would not fit in 128-bit integers or 10^6 entries (a side of 8 and
/// the other of more than ~125 000 samples) the normal approximation is used;
/// when every value is the same the p-value is 1 (scipy gets there through
/// an infinite z). Non-finite samples are ignored; `None` when a side has no
/// finite sample.
pub fn mann_whitney_u(x: &[f64], y: &[f64]) -> Option<MannWhitney> {
    let x = finite(x);
    let y = finite(y);
    if x.is_empty() || y.is_empty() {
        return None;
    }
    let (n1, n2) = (x.len(), y.len());
    let ranked = rank(&x, &y);
    let u1 = ranked.rank_sum_x - (n1 * (n1 + 1)) as f64 / 2.0;
    let nn = (n1 * n2) as f64;
    let u = u1.max(nn - u1);
    let has_ties = ranked.tie_sizes.iter().any(|&t| t > 1);

    if !has_ties && n1.min(n2) <= EXACT_MAX_SMALLER_SIDE {
        if let Some(dist) = UNull::cached(n1, n2) {
            // P(U >= u) = P(U <= n1*n2 - u) by symmetry; two-sided doubles it.
            let k = (n1 * n2) as i64 - u.round() as i64;
            let p = (2.0 * dist.cdf(k)).clamp(0.0, 1.0);
            return Some(MannWhitney {
                u: u1,
                p_value: p,
                method: PValueMethod::Exact,
            });
        }
    }

    let n = (n1 + n2) as f64;
    let tie_term: f64 = ranked
        .tie_sizes
        .iter()
        .map(|&t| {
            let t = t as f64;
            t * t * t - t
        })
        .sum();
    let s = (nn / 12.0 * ((n + 1.0) - tie_term / (n * (n - 1.0)))).sqrt();
    let numerator = u - nn / 2.0 - 0.5;
    let p = if s > 0.0 && s.is_finite() {
        2.0 * normal_sf(numerator / s)
    } else {
        // All values tied: U is exactly its mean, nothing is different.
        1.0
    };
    Some(MannWhitney {
        u: u1,
        p_value: p.clamp(0.0, 1.0),
        method: PValueMethod::Asymptotic,
    })
}

struct Ranked {
    rank_sum_x: f64,
    tie_sizes: Vec<usize>,
}

/// Average ranks (1-based) of the pooled samples; returns the rank sum of
/// `x` and the size of every group of equal values.
fn rank(x: &[f64], y: &[f64]) -> Ranked {
    let mut pooled: Vec<(f64, bool)> = x
        .iter()
        .map(|&v| (v, true))
        .chain(y.iter().map(|&v| (v, false)))
        .collect();
    pooled.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(Ordering::Equal));
    let mut rank_sum_x = 0.0;
    let mut tie_sizes = Vec::new();
    let mut i = 0;
    while i < pooled.len() {
        let mut j = i + 1;
        while j < pooled.len() && pooled[j].0 == pooled[i].0 {
            j += 1;
        }
        // Positions i..j (0-based) share the average rank of i+1..=j.
        let avg = (i + 1 + j) as f64 / 2.0;
        let in_x = pooled[i..j].iter().filter(|p| p.1).count();
        rank_sum_x += avg * in_x as f64;
        tie_sizes.push(j - i);
        i = j;
    }
    Ranked {
        rank_sum_x,
        tie_sizes,
    }
}

/// Exact null distribution of U for samples of sizes `n1`, `n2` without ties:
/// `cum[u]` is the number of the `C(n1+n2, n1)` equally likely arrangements
/// with `U <= u`.
struct UNull {
    /// (smaller, larger) sample size.
    sizes: (usize, usize),
    cum: Vec<i128>,
    total: i128,
}

impl UNull {
    /// Largest table built (entries), to bound memory.
    const MAX_ENTRIES: usize = 1_000_000;

    /// `None` when the counts would not fit in `i128` or the table would be
    /// larger than [`UNull::MAX_ENTRIES`].
    fn new(n1: usize, n2: usize) -> Option<UNull> {
        let (m, n) = (n1.min(n2), n1.max(n2));
        let max_u = m.checked_mul(n)?;
        if max_u >= Self::MAX_ENTRIES {
            return None;
        }
        // C(m+n, m) bounds every count; keep well clear of i128::MAX (1.7e38).
        let mut binom = 1.0f64;
        for i in 1..=m {
            binom = binom * (n + i) as f64 / i as f64;
        }
        if binom > 1e37 {
            return None;
        }
        // The counts are the coefficients of the Gaussian binomial
        // [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) / (1 - q^i).
        let mut c = vec![0i128; max_u + m + 1];
        c[0] = 1;
        let mut deg = 0;
        for i in 1..=m {
            let shift = n + i;
            let top = deg + shift;
            for k in (shift..=top).rev() {
                c[k] -= c[k - shift];
            }
            for k in i..=top {
                c[k] += c[k - i];
            }
            deg = i * n;
        }
        c.truncate(max_u + 1);
        let mut cum = c;
        for k in 1..cum.len() {
            cum[k] += cum[k - 1];
        }
        let total = *cum.last()?;
        Some(UNull {
            sizes: (m, n),
            cum,
            total,
        })
    }

    /// [`UNull::new`], remembering the last table of the thread: a
    /// comparison needs the same one twice, and runs come in equal sizes.
    fn cached(n1: usize, n2: usize) -> Option<Rc<UNull>> {
        thread_local! {
            static LAST: RefCell<Option<Rc<UNull>>> = const { RefCell::new(None) };
        }
        let sizes = (n1.min(n2), n1.max(n2));
        LAST.with(|last| {
            if let Some(dist) = &*last.borrow() {
                if dist.sizes == sizes {
                    return Some(Rc::clone(dist));
                }
            }
            let dist = Rc::new(UNull::new(n1, n2)?);
            *last.borrow_mut() = Some(Rc::clone(&dist));
            Some(dist)
        })
    }

    /// `P(U <= k)`.
    fn cdf(&self, k: i64) -> f64 {
        if k < 0 {
            return 0.0;
        }
        let k = (k as usize).min(self.cum.len() - 1);
        self.cum[k] as f64 / self.total as f64
    }
}

// ---------------------------------------------------------------------------
// Normal distribution
// ---------------------------------------------------------------------------

/// Standard normal CDF `P(Z <= x)`, accurate to ~1e-14 relative (checked
/// against `scipy.special.ndtr` down to x = -30).
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    normal_sf(-x)
}

/// Standard normal upper tail `P(Z > x)`.
fn normal_sf(x: f64) -> f64 {
    if x.is_nan() {
        return f64::NAN;
    }
    if x < 0.0 {
        return 1.0 - normal_sf(-x);
    }
    if x == f64::INFINITY {
        return 0.0;
    }
    let pdf = (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt();
    if x < 3.0 {
        // Phi(x) - 1/2 = pdf(x) * sum_{k>=0} x^(2k+1) / (1*3*5*...*(2k+1)),
        // all terms positive, so no cancellation inside the sum.
        let mut term = x;
        let mut sum = x;
        let mut k = 0.0;
        while term > sum * 1e-17 {
            k += 1.0;
            term *= x * x / (2.0 * k + 1.0);
            sum += term;
        }
        0.5 - pdf * sum
    } else {
        // Laplace's continued fraction for the Mills ratio:
        // Q(x) = pdf(x) / (x + 1/(x + 2/(x + 3/(x + ...)))), by Lentz's method.
        let tiny = 1e-300;
        let mut f = x;
        let mut c = x;
        let mut d = 0.0;
        for k in 1..500 {
            let a = k as f64;
            d = x + a * d;
            if d.abs() < tiny {
                d = tiny;
            }
            c = x + a / c;
            if c.abs() < tiny {
                c = tiny;
            }
            d = 1.0 / d;
            let delta = c * d;
            f *= delta;
            if (delta - 1.0).abs() < 1e-16 {
                break;
            }
        }
        pdf / f
    }
}

/// Inverse of [`normal_cdf`] for `p` in (0, 1), by bisection (exact to the
/// last bits; only called once per comparison).
fn normal_quantile(p: f64) -> f64 {
    let (mut lo, mut hi) = (-40.0f64, 40.0f64);
    for _ in 0..200 {
        let mid = 0.5 * (lo + hi);
        if mid <= lo || mid >= hi {
            break;
        }
        if normal_cdf(mid) < p {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    0.5 * (lo + hi)
}

// ---------------------------------------------------------------------------
// Hodges–Lehmann shift and its confidence interval
// ---------------------------------------------------------------------------

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
fn ordered_bits(x: f64) -> i64 {
    let bits = x.to_bits() as i64;
    bits ^ ((((bits >> 63) as u64) >> 1) as i64)
}

fn from_ordered_bits(k: i64) -> f64 {
    let bits = k ^ ((((k >> 63) as u64) >> 1) as i64);
    f64::from_bits(bits as u64)
}

// ---------------------------------------------------------------------------
// Verdicts
// ---------------------------------------------------------------------------

/// Which direction of a metric is good.
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Smaller is better (wall time, instructions, memory).
    #[default]
    Lower,
    /// Larger is better (throughput).
    Higher,
}

/// Outcome of a comparison of B (new) against A (baseline).
#[derive(Serialize, Deserialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Improved,
    Regressed,
    NoChange,
    NotEnoughSamples,
}

impl Verdict {
    /// The serialized name: `improved`, `regressed`, `no_change`,
    /// `not_enough_samples`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Verdict::Improved => "improved",
            Verdict::Regressed => "regressed",
            Verdict::NoChange => "no_change",
            Verdict::NotEnoughSamples => "not_enough_samples",
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
    /// [`Verdict::NotEnoughSamples`]. Default 3. Note that with no ties the
    /// smallest two-sided p-value of 3 + 3 samples is 0.1, so at
    /// `alpha = 0.05` at least 4 per side are needed to see any change.
    pub min_samples: usize,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            alpha: 0.05,
            noise_band: 0.02,
            min_samples: 3,
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
    /// Two-sided Mann–Whitney p-value.
    pub p_value: f64,
    pub verdict: Verdict,
}

/// Compares samples `b` (new) against `a` (baseline).
///
/// * [`Verdict::NotEnoughSamples`] when a side has fewer than
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
/// never small) and the verdict is `NotEnoughSamples` under the default
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
            verdict: Verdict::NotEnoughSamples,
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

    let band = if opts.noise_band.is_nan() {
        0.0
    } else {
        opts.noise_band.max(0.0)
    };
    let min_samples = opts.min_samples.max(1);
    let verdict = if a.len() < min_samples || b.len() < min_samples {
        Verdict::NotEnoughSamples
    } else if p_value < alpha && ci_low > band {
        worse_if(better == Better::Lower)
    } else if p_value < alpha && ci_high < -band {
        worse_if(better == Better::Higher)
    } else {
        Verdict::NoChange
    };

    Comparison {
        a: sa,
        b: sb,
        change,
        ci_low,
        ci_high,
        p_value,
        verdict,
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
/// (0 if both are 0). A non-finite `a` or `b` gives `NotEnoughSamples` with
/// `change = 0`. A negative or NaN `limit` counts as 0.
pub fn compare_exact(a: f64, b: f64, better: Better, limit: f64) -> ExactComparison {
    let limit = if limit.is_nan() { 0.0 } else { limit.max(0.0) };
    if !a.is_finite() || !b.is_finite() {
        return ExactComparison {
            a,
            b,
            change: 0.0,
            limit,
            verdict: Verdict::NotEnoughSamples,
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
    use super::*;
    use serde::Deserialize;

    // -- reference values from scipy (scripts/stats_reference.py) -----------

    #[derive(Deserialize)]
    struct Reference {
        scipy_version: String,
        cases: Vec<Case>,
        ndtr: Vec<(f64, f64)>,
    }

    #[derive(Deserialize)]
    struct Case {
        name: String,
        a: Vec<f64>,
        b: Vec<f64>,
        u: f64,
        p_value: f64,
        method: String,
        summary_a: RefSummary,
        summary_b: RefSummary,
        hl_shift: f64,
        hl_ci95: (f64, f64),
        hl_ci90: (f64, f64),
    }

    #[derive(Deserialize)]
    struct RefSummary {
        n: usize,
        mean: f64,
        median: f64,
        stddev: Option<f64>,
        min: f64,
        max: f64,
    }

    // serde_json (without its `float_roundtrip` feature) may read a decimal
    // one ulp away from Python's value, so values derived from the inputs are
    // compared with a tolerance relative to the inputs' magnitude.
    fn input_scale(c: &Case) -> f64 {
        c.a.iter().chain(&c.b).fold(0.0f64, |m, x| m.max(x.abs()))
    }

    fn reference() -> Reference {
        serde_json::from_str(include_str!("../../tests/fixtures/stats/reference.json"))
            .expect("reference.json parses")
    }

    #[track_caller]
    fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
        assert_near(what, got, want, rel * want.abs().max(f64::MIN_POSITIVE));
    }

    #[track_caller]
    fn assert_near(what: &str, got: f64, want: f64, tol: f64) {
        assert!(
            (got - want).abs() <= tol,
            "{what}: got {got:e}, want {want:e} (tol {tol:e})"
        );
    }

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
    fn mann_whitney_matches_scipy() {
        for c in reference().cases {
            let mw = mann_whitney_u(&c.a, &c.b).unwrap();
            assert_eq!(mw.u, c.u, "{}: U", c.name);
            let method = match mw.method {
                PValueMethod::Exact => "exact",
                PValueMethod::Asymptotic => "asymptotic",
            };
            assert_eq!(method, c.method, "{}: method", c.name);
            assert_close(&format!("{}: p", c.name), mw.p_value, c.p_value, 1e-9);
        }
    }

    #[test]
    fn summaries_match_numpy() {
        for c in reference().cases {
            check_summary(&c.name, &summarize(&c.a).unwrap(), &c.summary_a);
            check_summary(&c.name, &summarize(&c.b).unwrap(), &c.summary_b);
        }
    }

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
    fn normal_cdf_matches_scipy_ndtr() {
        for (x, want) in reference().ndtr {
            if x < -30.0 {
                // Subnormal results: only the order of magnitude is meaningful.
                let got = normal_cdf(x);
                assert!(got > 0.0 && got < 1e-300, "ndtr({x}) = {got:e}");
                continue;
            }
            assert_close(&format!("ndtr({x})"), normal_cdf(x), want, 1e-13);
        }
        assert_eq!(normal_cdf(f64::INFINITY), 1.0);
        assert_eq!(normal_cdf(f64::NEG_INFINITY), 0.0);
        let z = normal_quantile(0.975);
        assert_close("z_0.975", z, 1.959963984540054, 1e-13);
    }

    // -- exact machinery against brute force --------------------------------

    /// U-distribution counts by enumerating all C(n1+n2, n1) arrangements.
    fn brute_u_counts(n1: usize, n2: usize) -> Vec<u64> {
        let n = n1 + n2;
        let mut counts = vec![0u64; n1 * n2 + 1];
        for mask in 0u32..(1 << n) {
            if mask.count_ones() as usize != n1 {
                continue;
            }
            // Positions with a bit set belong to x; U = #(x above y) pairs.
            let mut u = 0;
            let mut ys_below = 0;
            for pos in 0..n {
                if mask & (1 << pos) != 0 {
                    u += ys_below;
                } else {
                    ys_below += 1;
                }
            }
            counts[u] += 1;
        }
        counts
    }

    #[test]
    fn exact_u_distribution_matches_enumeration() {
        for (n1, n2) in [(1, 1), (1, 5), (3, 3), (2, 7), (4, 6), (6, 5), (7, 7)] {
            let dist = UNull::new(n1, n2).unwrap();
            let brute = brute_u_counts(n1, n2);
            let mut cum = 0u64;
            for (u, c) in brute.iter().enumerate() {
                cum += c;
                assert_eq!(dist.cum[u], cum as i128, "n1={n1} n2={n2} u={u}");
            }
        }
        // Too large for i128: falls back instead of overflowing.
        assert!(UNull::new(200, 200).is_none());
        assert!(UNull::new(60, 60).is_some());
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

    #[test]
    fn compare_empty_and_single_samples() {
        let opts = CompareOptions::default();
        let c = compare(&[], &[], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NotEnoughSamples);
        assert_eq!((c.change, c.p_value, c.a.n), (0.0, 1.0, 0));
        assert_finite(&c);

        let c = compare(&[1.0, 2.0, 3.0], &[], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NotEnoughSamples);
        assert_eq!(c.b, Summary::empty());
        assert_finite(&c);

        let c = compare(&[1.0], &[2.0], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NotEnoughSamples);
        assert_eq!((c.change, c.p_value), (1.0, 1.0));
        assert_finite(&c);

        // Even when one sample per side is allowed, one sample proves nothing.
        let loose = CompareOptions {
            min_samples: 0,
            ..opts
        };
        let c = compare(&[1.0], &[2.0], Better::Lower, &loose);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert_finite(&c);
        let c = compare(&[1.0], &[1.0], Better::Lower, &loose);
        assert_eq!(c.verdict, Verdict::NoChange);
        assert_finite(&c);

        let c = compare(&[f64::NAN; 4], &[1.0; 4], Better::Lower, &opts);
        assert_eq!(c.verdict, Verdict::NotEnoughSamples);
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
        assert_eq!(c.verdict, Verdict::NotEnoughSamples);
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

    #[test]
    fn serde_names() {
        let names: Vec<String> = [
            Verdict::Improved,
            Verdict::Regressed,
            Verdict::NoChange,
            Verdict::NotEnoughSamples,
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
                "\"not_enough_samples\""
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
        assert_eq!((n.change, n.verdict), (0.0, Verdict::NotEnoughSamples));
        assert!(serde_json::to_string(&n).is_ok());
    }

    // -- simulation on noise shaped like the 2-core machine -----------------

    /// xoshiro256** seeded through splitmix64: deterministic, no dependency.
    struct Rng {
        s: [u64; 4],
    }

    impl Rng {
        fn new(seed: u64) -> Rng {
            let mut z = seed;
            let mut next = || {
                z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
                let mut x = z;
                x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
                x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
                x ^ (x >> 31)
            };
            Rng {
                s: [next(), next(), next(), next()],
            }
        }

        fn next_u64(&mut self) -> u64 {
            let result = self.s[1].wrapping_mul(5).rotate_left(7).wrapping_mul(9);
            let t = self.s[1] << 17;
            self.s[2] ^= self.s[0];
            self.s[3] ^= self.s[1];
            self.s[1] ^= self.s[2];
            self.s[0] ^= self.s[3];
            self.s[2] ^= t;
            self.s[3] = self.s[3].rotate_left(45);
            result
        }

        /// Uniform in (0, 1].
        fn uniform(&mut self) -> f64 {
            ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
        }

        /// Standard normal (Box–Muller).
        fn normal(&mut self) -> f64 {
            let (u1, u2) = (self.uniform(), self.uniform());
            (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
        }
    }

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
