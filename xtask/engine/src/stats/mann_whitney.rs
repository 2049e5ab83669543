//! The Mann–Whitney U test: whether A and B differ at all. It looks only at
//! the order of the pooled samples, so a slow outlier weighs as one slower
//! run whatever its size, and no normality is assumed. The exact null
//! distribution it shares with the Hodges–Lehmann interval lives in
//! [`super::u_null`]; the normal approximation it falls back on for ties and
//! large samples in [`super::normal`].

use super::finite;
use super::normal::normal_sf;
use super::u_null::UNull;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

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

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, reference};
    use super::*;

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
}
