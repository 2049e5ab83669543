//! Change points in a history of results (`cargo xtask trends`): where a
//! series shifted, instead of whether two chosen points differ. Comparing
//! the newest result with the previous one misses a slowdown that came in
//! small steps and flags every noisy outlier; looking at the whole series
//! finds the run where its level moved, and how far.
//!
//! The method is E-divisive means (Matteson & James, "A nonparametric
//! approach for multiple change point analysis of multivariate data", JASA
//! 2014), as MongoDB's `signal-processing-algorithms` runs it on
//! performance histories (Hunter and Apache Otava build on it, with another
//! significance test):
//!
//! 1. For a split of a segment into `X = y[..tau]` and `Y = y[tau..]`, the
//!    energy statistic `q(tau) = n m / (n + m) * (2 E|X - Y| - E|X - X'| -
//!    E|Y - Y'|)` (means over all pairs, a value with itself included, as
//!    MongoDB computes it) is large when the two sides come from different
//!    distributions — a shift of the level or of the spread; it needs no
//!    normality and is not fooled by one outlier the way a mean is.
//! 2. The best split of every segment between the change points found so
//!    far is a candidate; the one with the largest `q` is tested by
//!    permutation: each segment is shuffled in place `permutations` times
//!    and the best `q` recomputed, and `p = (1 + #{permuted >= observed}) /
//!    (permutations + 1)` (the paper's `ecp` convention, never 0; MongoDB
//!    reports `#{...} / (permutations + 1)`).
//! 3. Kept when `p <= alpha`, and the search goes on in the new segments;
//!    the first candidate that fails ends it, which keeps the chance of any
//!    false change point in a flat series near `alpha`.
//!
//! Segments shorter than a minimum size (3) are never split off: a single
//! slow run is an outlier, not a new level. Permutations come from a seeded
//! generator, one stream per segment, so a result depends only on the
//! series, the parameters and the seed — the same history always gives the
//! same answer.
//!
//! The cost is `O(permutations * n log n)` per segment tested: the
//! distances to the earlier values of a shuffled sequence are summed with a
//! Fenwick tree over the values' ranks instead of a distance matrix.

use serde::Serialize;
use std::collections::HashMap;
use std::fmt;

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ChangePoint {
    /// Index of the first value after the shift.
    pub index: usize,
    pub mean_before: f64,
    pub mean_after: f64,
    /// (mean_after - mean_before) / mean_before.
    pub relative_change: f64,
    /// The permutation test's p-value for this split.
    pub p_value: f64,
}

/// Smallest segment [`find`] splits off.
pub const MIN_SEGMENT: usize = 3;

/// A value of the series that is NaN or infinite: no distance to it means
/// anything.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NonFiniteValue {
    /// Position in the series (0-based).
    pub index: usize,
    pub value: f64,
}

impl fmt::Display for NonFiniteValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "value {} of the series (0-based) is {}: change points need finite numbers; \
             leave that result out of the series",
            self.index, self.value
        )
    }
}

impl std::error::Error for NonFiniteValue {}

/// E-divisive means (Matteson & James 2014, as MongoDB / Hunter / Apache Otava use it): recursively the split maximising the energy statistic, kept while a permutation test (deterministic, seeded, `permutations` shuffles) gives p <= alpha; minimum segment size 3 (or a parameter). Sorted by index.
///
/// A series with a NaN or infinite value has none (see [`try_find`] for
/// the error); so has one shorter than `2 * MIN_SEGMENT`, and any series
/// when `permutations` is 0 (nothing to test against).
pub fn find(series: &[f64], alpha: f64, permutations: usize, seed: u64) -> Vec<ChangePoint> {
    try_find(series, alpha, permutations, seed, MIN_SEGMENT).unwrap_or_default()
}

/// [`find`] with the minimum segment size as a parameter (at least 1), and
/// the first non-finite value as an error instead of no change points.
///
/// `relative_change` is 0 when `mean_before` is 0 (no relative size; the
/// means say what happened) or the change overflows. A NaN `alpha` keeps
/// nothing.
pub fn try_find(
    series: &[f64],
    alpha: f64,
    permutations: usize,
    seed: u64,
    min_segment: usize,
) -> Result<Vec<ChangePoint>, NonFiniteValue> {
    if let Some((index, &value)) = series.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(NonFiniteValue { index, value });
    }
    let min_segment = min_segment.max(1);
    let n = series.len();
    let mut found: Vec<(usize, f64)> = Vec::new();
    if permutations == 0 {
        return Ok(Vec::new());
    }
    // Sums of distances between values near f64::MAX overflow. Dividing by
    // a power of two is exact, so the search on the scaled values makes the
    // same decisions with the same p-values as on the raw ones.
    let scale = power_of_two_below(series.iter().fold(0.0f64, |m, v| m.max(v.abs())));
    let scaled: Vec<f64> = series.iter().map(|v| v / scale).collect();
    let mut segments: HashMap<(usize, usize), Segment> = HashMap::new();
    loop {
        let mut bounds: Vec<usize> = found.iter().map(|(i, _)| *i).collect();
        bounds.push(0);
        bounds.push(n);
        bounds.sort_unstable();
        let windows: Vec<(usize, usize)> = bounds.windows(2).map(|w| (w[0], w[1])).collect();
        for &(start, end) in &windows {
            segments.entry((start, end)).or_insert_with(|| {
                Segment::analyse(&scaled[start..end], min_segment, permutations, seed, start)
            });
        }
        // The candidate: the best split of any segment (the earliest on a tie).
        let best = windows
            .iter()
            .filter_map(|w| segments[w].best.map(|(tau, q)| (w.0 + tau, q)))
            .fold(None, |acc: Option<(usize, f64)>, c| match acc {
                Some(a) if a.1 >= c.1 => Some(a),
                _ => Some(c),
            });
        let Some((index, observed)) = best else {
            break;
        };
        let tested: Vec<&Segment> = windows.iter().map(|w| &segments[w]).collect();
        let p_value = permutation_p_value(&tested, observed, permutations);
        // A NaN alpha keeps nothing.
        let significant = p_value <= alpha;
        if !significant {
            break;
        }
        found.push((index, p_value));
    }
    found.sort_unstable_by_key(|(i, _)| *i);

    let mean = |from: usize, to: usize| {
        let values = &series[from..to];
        let len = values.len() as f64;
        let mean = values.iter().sum::<f64>() / len;
        if mean.is_finite() {
            mean
        } else {
            // The sum overflowed; the mean itself cannot.
            values.iter().map(|v| v / len).sum()
        }
    };
    Ok(found
        .iter()
        .enumerate()
        .map(|(k, &(index, p_value))| {
            let start = if k == 0 { 0 } else { found[k - 1].0 };
            let end = found.get(k + 1).map_or(n, |c| c.0);
            let (before, after) = (mean(start, index), mean(index, end));
            ChangePoint {
                index,
                mean_before: before,
                mean_after: after,
                relative_change: relative_change(before, after),
                p_value,
            }
        })
        .collect())
}

/// `(after - before) / before`; 0 when that is undefined (`before` is 0)
/// or overflows (means of opposite signs near f64::MAX).
fn relative_change(before: f64, after: f64) -> f64 {
    let change = (after - before) / before;
    if change.is_finite() {
        change
    } else {
        0.0
    }
}

/// The largest power of two not above `x` (1 for 0), normal numbers only.
fn power_of_two_below(x: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    let exponent = ((x.to_bits() >> 52) & 0x7ff).max(1);
    f64::from_bits(exponent << 52)
}

/// One segment between change points: its best split and the best split
/// statistic of each of its shuffles.
struct Segment {
    /// `(tau, q)`, `tau` relative to the segment's start; None when the
    /// segment is too short to split.
    best: Option<(usize, f64)>,
    /// One per shuffle; -inf when the segment cannot be split.
    permuted_best: Vec<f64>,
}

impl Segment {
    fn analyse(
        values: &[f64],
        min_segment: usize,
        permutations: usize,
        seed: u64,
        start: usize,
    ) -> Segment {
        let m = values.len();
        if m < 2 * min_segment {
            return Segment {
                best: None,
                permuted_best: vec![f64::NEG_INFINITY; permutations],
            };
        }
        let energy = Energy::new(values);
        let mut order: Vec<usize> = (0..m).collect();
        let mut q = vec![0.0; m + 1];
        energy.statistics(&order, &mut q);
        let best = best_split(&q, min_segment);
        // One stream per segment: the same segment always gets the same
        // shuffles, whatever was found before it.
        let mut rng = SplitMix64::new(seed ^ mix(start as u64) ^ mix(mix(m as u64)));
        let permuted_best = (0..permutations)
            .map(|_| {
                rng.shuffle(&mut order);
                energy.statistics(&order, &mut q);
                best_split(&q, min_segment).1
            })
            .collect();
        Segment {
            best: Some(best),
            permuted_best,
        }
    }
}

/// `(1 + #{shuffles as good}) / (permutations + 1)`, a shuffle being the
/// best split over all `segments` in that round (equal values give equal
/// statistics up to rounding, hence the tolerance).
fn permutation_p_value(segments: &[&Segment], observed: f64, permutations: usize) -> f64 {
    let threshold = observed - 1e-12 * observed.abs();
    let as_good = (0..permutations)
        .filter(|&r| segments.iter().any(|s| s.permuted_best[r] >= threshold))
        .count();
    (1 + as_good) as f64 / (permutations + 1) as f64
}

/// The largest `q[tau]` over the allowed splits, the earliest on a tie.
fn best_split(q: &[f64], min_segment: usize) -> (usize, f64) {
    let m = q.len() - 1;
    let mut best = (min_segment, q[min_segment]);
    for (tau, &v) in q
        .iter()
        .enumerate()
        .take(m - min_segment + 1)
        .skip(min_segment + 1)
    {
        if v > best.1 {
            best = (tau, v);
        }
    }
    best
}

/// A segment's values prepared for the split statistics of any order of
/// them.
struct Energy {
    /// Values minus their mean (distances do not change; the sums below
    /// cancel less).
    centered: Vec<f64>,
    /// Position of each value in sorted order (ties broken by position).
    rank: Vec<usize>,
    /// `sum_j |y_k - y_j|` over the whole segment, whatever the order.
    to_all: Vec<f64>,
}

impl Energy {
    fn new(values: &[f64]) -> Energy {
        let m = values.len();
        let mean = values.iter().sum::<f64>() / m as f64;
        let centered: Vec<f64> = values.iter().map(|v| v - mean).collect();
        let mut by_value: Vec<usize> = (0..m).collect();
        by_value.sort_by(|&i, &j| centered[i].total_cmp(&centered[j]).then(i.cmp(&j)));
        let mut rank = vec![0; m];
        for (r, &i) in by_value.iter().enumerate() {
            rank[i] = r;
        }
        // Sorted prefix sums: values below contribute v - y, above y - v.
        let mut prefix = vec![0.0; m + 1];
        for (r, &i) in by_value.iter().enumerate() {
            prefix[r + 1] = prefix[r] + centered[i];
        }
        let to_all = (0..m)
            .map(|i| {
                let (r, v) = (rank[i], centered[i]);
                let below = v * r as f64 - prefix[r];
                let above = (prefix[m] - prefix[r + 1]) - v * (m - r - 1) as f64;
                below + above
            })
            .collect();
        Energy {
            centered,
            rank,
            to_all,
        }
    }

    /// `q[tau]` for `tau = 1 .. m-1` (and 0 at both ends) of the values taken
    /// in `order` (indices into the segment), as MongoDB's
    /// `calculate_t_values` does on the distance matrix.
    fn statistics(&self, order: &[usize], q: &mut [f64]) {
        let m = order.len();
        // earlier[k] = sum_{i<k} |y_i - y_k|, through Fenwick trees of the
        // count and the sum of the values seen so far, indexed by rank.
        let mut count = Fenwick::new(m);
        let mut sum = Fenwick::new(m);
        let mut within_x = vec![0.0; m + 1];
        let mut within_y = vec![0.0; m + 1];
        let mut seen_total = 0.0;
        for (k, &i) in order.iter().enumerate() {
            let (r, v) = (self.rank[i], self.centered[i]);
            let (n_below, s_below) = (count.prefix(r), sum.prefix(r));
            let n_above = k as f64 - n_below;
            let s_above = seen_total - s_below;
            let earlier = (v * n_below - s_below) + (s_above - v * n_above);
            count.add(r, 1.0);
            sum.add(r, v);
            seen_total += v;
            // Pairs inside y[..k+1] and, from the right, the distances of
            // y_k to everything after it.
            within_x[k + 1] = within_x[k] + earlier;
            within_y[k] = self.to_all[i] - earlier;
        }
        // within_y[tau] = pairs inside y[tau..]: suffix sums of "to later".
        for k in (0..m).rev() {
            within_y[k] += within_y[k + 1];
        }
        let all_pairs = within_x[m];
        q[0] = 0.0;
        q[m] = 0.0;
        for tau in 1..m {
            let (x, y) = (within_x[tau], within_y[tau]);
            let between = all_pairs - x - y;
            let (nx, ny) = (tau as f64, (m - tau) as f64);
            let e = 2.0 * between / (nx * ny) - 2.0 * x / (nx * nx) - 2.0 * y / (ny * ny);
            q[tau] = nx * ny / (nx + ny) * e;
        }
    }
}

/// Prefix sums over ranks `0..n` with point updates, both `O(log n)`.
struct Fenwick {
    tree: Vec<f64>,
}

impl Fenwick {
    fn new(n: usize) -> Fenwick {
        Fenwick {
            tree: vec![0.0; n + 1],
        }
    }

    fn add(&mut self, rank: usize, v: f64) {
        let mut i = rank + 1;
        while i < self.tree.len() {
            self.tree[i] += v;
            i += i & i.wrapping_neg();
        }
    }

    /// Sum over ranks `< rank`.
    fn prefix(&self, rank: usize) -> f64 {
        let mut i = rank;
        let mut s = 0.0;
        while i > 0 {
            s += self.tree[i];
            i &= i - 1;
        }
        s
    }
}

/// splitmix64's output function: spreads a small integer over 64 bits.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Steele, Lea & Flood's splitmix64: a tiny seeded generator, plenty for
/// shuffles (not for cryptography).
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> SplitMix64 {
        SplitMix64 { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        let out = mix(self.state);
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        out
    }

    /// Uniform in `0..bound` (Lemire's multiply-shift; the bias, below
    /// `bound / 2^64`, is far beneath anything a permutation test sees).
    fn below(&mut self, bound: usize) -> usize {
        ((self.next_u64() as u128 * bound as u128) >> 64) as usize
    }

    /// Fisher–Yates.
    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{assert_close, assert_near, change_point_reference, Rng};
    use super::*;

    /// Permutation p-values from `ours` and `theirs` shuffles of the same
    /// test agree within four standard errors (plus the two conventions'
    /// granularity).
    #[track_caller]
    fn assert_same_p(what: &str, got: f64, want: f64, ours: usize, theirs: usize) {
        let p = want.clamp(0.01, 0.99);
        let se = (p * (1.0 - p) * (1.0 / ours as f64 + 1.0 / theirs as f64)).sqrt();
        let granularity = 1.0 / ours as f64 + 1.0 / theirs as f64;
        assert_near(what, got, want, 4.0 * se + granularity);
    }

    fn steps(rng: &mut Rng, levels: &[(usize, f64)], sigma: f64) -> Vec<f64> {
        levels
            .iter()
            .flat_map(|&(len, level)| vec![level; len])
            .map(|level| level * (sigma * rng.normal()).exp())
            .collect()
    }

    /// The best split of the whole series and its p-value, kept or not.
    fn first_test(series: &[f64], permutations: usize, seed: u64) -> (usize, f64) {
        let whole = Segment::analyse(series, MIN_SEGMENT, permutations, seed, 0);
        let (index, q) = whole.best.expect("long enough to split");
        (index, permutation_p_value(&[&whole], q, permutations))
    }

    fn indices(found: &[ChangePoint]) -> Vec<usize> {
        found.iter().map(|c| c.index).collect()
    }

    #[test]
    fn change_point_fixture_is_complete() {
        let r = change_point_reference();
        assert!(r.package.starts_with("signal-processing-algorithms"));
        assert_eq!((r.alpha, r.min_segment), (0.05, MIN_SEGMENT));
        assert!(r.cases.len() >= 8);
        let decisive = r.cases.iter().filter(|c| c.decisive).count();
        let with_points = r
            .cases
            .iter()
            .filter(|c| !c.change_points.is_empty())
            .count();
        assert!(
            decisive >= 5 && with_points >= 4,
            "{decisive} {with_points}"
        );
    }

    #[test]
    fn split_statistics_match_mongodb_calculate_t_values() {
        for c in change_point_reference().cases {
            let series = c.series();
            let m = series.len();
            let mut q = vec![f64::NAN; m + 1];
            Energy::new(&series).statistics(&(0..m).collect::<Vec<_>>(), &mut q);
            let scale = c.q.iter().fold(0.0f64, |a, v| a.max(v.abs()));
            // The package leaves the split after the last value out.
            assert_eq!(c.q.len(), m, "{}", c.name);
            for (tau, want) in c.q.iter().enumerate() {
                assert_near(
                    &format!("{} q[{tau}]", c.name),
                    q[tau],
                    *want,
                    1e-11 * scale,
                );
            }
        }
    }

    #[test]
    fn change_points_match_the_reference_where_the_decision_is_clear() {
        let r = change_point_reference();
        let ours = 499;
        for c in &r.cases {
            let series = c.series();
            let found = find(&series, r.alpha, ours, 42);
            if c.decisive {
                let want: Vec<usize> = c.change_points.iter().map(|s| s.index).collect();
                assert_eq!(indices(&found), want, "{}", c.name);
                assert_eq!(want, c.package_change_points, "{}: the package", c.name);
                for (got, want) in found.iter().zip(&c.change_points) {
                    let what = format!("{} p at {}", c.name, want.index);
                    assert_same_p(&what, got.p_value, want.p, ours, r.permutations);
                }
            }
            // The first test (the whole series) is the same for every case,
            // decided or not.
            let (index, p) = first_test(&series, ours, 42);
            let want = c.first_candidate.as_ref().expect("every case can be split");
            assert_eq!(index, want.index, "{}: first split", c.name);
            assert_same_p(
                &format!("{} first p", c.name),
                p,
                want.p,
                ours,
                r.permutations,
            );
        }
    }

    #[test]
    fn shuffled_statistics_match_direct_sums() {
        // The Fenwick sums against the definition, on shuffled orders with
        // ties (coarse values).
        let mut rng = Rng::new(9);
        for trial in 0..30 {
            let m = 2 + trial;
            let values: Vec<f64> = (0..m)
                .map(|_| (rng.uniform() * 6.0).round() * 0.5 + 10.0)
                .collect();
            let energy = Energy::new(&values);
            let mut order: Vec<usize> = (0..m).collect();
            SplitMix64::new(trial as u64).shuffle(&mut order);
            let mut q = vec![0.0; m + 1];
            energy.statistics(&order, &mut q);
            let y: Vec<f64> = order.iter().map(|&i| values[i]).collect();
            let pairs = |s: &[f64], t: &[f64]| -> f64 {
                s.iter()
                    .flat_map(|a| t.iter().map(move |b| (a - b).abs()))
                    .sum()
            };
            for (tau, &got) in q.iter().enumerate().take(m).skip(1) {
                let (x, z) = y.split_at(tau);
                let (nx, nz) = (x.len() as f64, z.len() as f64);
                let e = 2.0 * pairs(x, z) / (nx * nz)
                    - pairs(x, x) / (nx * nx)
                    - pairs(z, z) / (nz * nz);
                let want = nx * nz / (nx + nz) * e;
                assert_near(&format!("m={m} tau={tau}"), got, want, 1e-9);
            }
        }
    }

    #[test]
    fn flat_series_rarely_have_a_change_point() {
        // 200 flat series of 30 results with 2% noise: the first test is at
        // level alpha, so about 5% may show one; a broken test shows many.
        let mut rng = Rng::new(1);
        let mut flagged = 0;
        for seed in 0..200 {
            let series = steps(&mut rng, &[(30, 1.0)], 0.02);
            flagged += usize::from(!find(&series, 0.05, 99, seed).is_empty());
        }
        assert!(flagged <= 20, "{flagged} of 200 flat series flagged");
    }

    #[test]
    fn a_ten_percent_step_is_found_where_it_is() {
        let mut rng = Rng::new(2);
        let (mut exact, mut extra) = (0, 0);
        for seed in 0..20 {
            let series = steps(&mut rng, &[(15, 1.0), (15, 1.1)], 0.02);
            let found = find(&series, 0.05, 199, seed);
            let step = found.iter().find(|c| c.index.abs_diff(15) <= 1);
            let step = step.unwrap_or_else(|| panic!("seed {seed}: {found:?}"));
            assert!(step.p_value <= 0.01, "{step:?}");
            assert_near("relative change", step.relative_change, 0.1, 0.03);
            exact += usize::from(step.index == 15);
            extra += found.len() - 1;
        }
        // Measured over 300 series: at index 15 in 97%, one off otherwise
        // (a run next to the step looks like the other side).
        assert!(exact >= 18, "at the step in {exact} of 20 series");
        // A further split of a flat half is a false alarm, at level alpha
        // (~6% measured over 300 series): 5 or more of 20 would happen 0.6%
        // of the time.
        assert!(extra <= 4, "{extra} extra change points in 20 series");
    }

    #[test]
    fn two_steps_are_both_found_with_their_segment_means() {
        let mut rng = Rng::new(3);
        let mut extra = 0;
        for seed in 0..10 {
            let series = steps(&mut rng, &[(20, 1.0), (20, 1.1), (20, 1.02)], 0.02);
            let found = find(&series, 0.05, 199, seed);
            // 7% against 2% noise: a run next to the step may pass for
            // either side.
            let near = |at: usize| found.iter().position(|c| c.index.abs_diff(at) <= 1);
            let (Some(up), Some(down)) = (near(20), near(40)) else {
                panic!("seed {seed}: {found:?}");
            };
            assert!(found[up].relative_change > 0.05, "{found:?}");
            assert!(found[down].relative_change < -0.04, "{found:?}");
            extra += found.len() - 2;
            // Each mean is over the segment between its neighbours.
            let mean =
                |from: usize, to: usize| series[from..to].iter().sum::<f64>() / (to - from) as f64;
            let mut bounds = vec![0];
            bounds.extend(indices(&found));
            bounds.push(series.len());
            for (k, c) in found.iter().enumerate() {
                assert_eq!(c.mean_before, mean(bounds[k], bounds[k + 1]));
                assert_eq!(c.mean_after, mean(bounds[k + 1], bounds[k + 2]));
                let want = (c.mean_after - c.mean_before) / c.mean_before;
                assert_eq!(c.relative_change, want);
            }
        }
        // Each further test is at level alpha (~6% measured over 300
        // series): 4 or more of 10 would happen 0.2% of the time.
        assert!(extra <= 3, "{extra} extra change points in 10 series");
    }

    #[test]
    fn short_and_degenerate_series_have_none_and_never_panic() {
        for n in 0..2 * MIN_SEGMENT {
            let series: Vec<f64> = (0..n).map(|i| if i < n / 2 { 1.0 } else { 9.0 }).collect();
            assert!(find(&series, 0.05, 99, 1).is_empty(), "n = {n}");
        }
        assert!(find(&[1.0; 40], 0.05, 99, 1).is_empty(), "constant");
        let step: Vec<f64> = (0..40).map(|i| if i < 20 { 1.0 } else { 2.0 }).collect();
        assert!(
            find(&step, 0.05, 0, 1).is_empty(),
            "no permutations, no test"
        );
        assert_eq!(indices(&find(&step, 0.05, 99, 1)), [20]);
        // A step from 0: means given, relative change 0 (undefined).
        let from_zero: Vec<f64> = (0..40).map(|i| if i < 20 { 0.0 } else { 5.0 }).collect();
        let found = find(&from_zero, 0.05, 99, 1);
        assert_eq!(indices(&found), [20]);
        assert_eq!((found[0].mean_before, found[0].relative_change), (0.0, 0.0));
        // The minimum segment: the last two values jump; with segments of
        // at least 3 the split can only come one value early, with 2 it is
        // exact.
        let mut last_jumps = vec![1.0; 30];
        last_jumps.extend([3.0, 3.0]);
        assert_eq!(indices(&find(&last_jumps, 0.05, 199, 1)), [29]);
        let short = try_find(&last_jumps, 0.05, 199, 1, 2).unwrap();
        assert_eq!(indices(&short), [30]);
    }

    #[test]
    fn scale_changes_nothing_and_huge_values_do_not_overflow() {
        let mut rng = Rng::new(6);
        let series = steps(&mut rng, &[(20, 1.0), (20, 1.05)], 0.02);
        let found = find(&series, 0.05, 199, 3);
        assert!(!found.is_empty());
        for factor in [2f64.powi(-1000), 1e-300, 1e6, 1e300] {
            let scaled: Vec<f64> = series.iter().map(|v| v * factor).collect();
            let again = find(&scaled, 0.05, 199, 3);
            assert_eq!(indices(&again), indices(&found), "x {factor:e}");
            for (a, b) in again.iter().zip(&found) {
                assert_eq!(a.p_value, b.p_value, "x {factor:e}");
                assert_near("change", a.relative_change, b.relative_change, 1e-12);
            }
        }
        // Near f64::MAX: sums of values and distances would overflow.
        let huge: Vec<f64> = (0..40)
            .map(|i| if i < 20 { 1e308 } else { 1.7e308 })
            .collect();
        let found = find(&huge, 0.05, 199, 3);
        assert_eq!(indices(&found), [20]);
        assert_close("before", found[0].mean_before, 1e308, 1e-15);
        assert_close("after", found[0].mean_after, 1.7e308, 1e-15);
        assert_near("change", found[0].relative_change, 0.7, 1e-12);
        let opposite: Vec<f64> = (0..40)
            .map(|i| if i < 20 { -1.7e308 } else { 1.7e308 })
            .collect();
        let found = find(&opposite, 0.05, 199, 3);
        assert_eq!(indices(&found), [20]);
        assert_eq!(found[0].relative_change, 0.0, "overflowing change");
        assert_eq!(power_of_two_below(3.0), 2.0);
        assert_eq!(power_of_two_below(f64::MAX), 2f64.powi(1023));
        assert_eq!(
            power_of_two_below(f64::MIN_POSITIVE / 4.0),
            f64::MIN_POSITIVE
        );
    }

    #[test]
    fn non_finite_values_are_refused() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
            let mut series = vec![1.0; 20];
            series.extend(vec![2.0; 20]);
            series[7] = bad;
            assert!(find(&series, 0.05, 99, 1).is_empty());
            let err = try_find(&series, 0.05, 99, 1, MIN_SEGMENT).unwrap_err();
            assert_eq!(err.index, 7);
            let message = err.to_string();
            assert!(
                message.contains("value 7") && message.contains("finite"),
                "{message}"
            );
        }
    }

    #[test]
    fn same_seed_same_answer() {
        let mut rng = Rng::new(4);
        let series = steps(&mut rng, &[(25, 1.0), (25, 1.03)], 0.02);
        let once = find(&series, 0.05, 199, 11);
        assert_eq!(once, find(&series, 0.05, 199, 11));
        // Weak evidence (a 1% step): p itself depends on the shuffles.
        let series = steps(&mut rng, &[(25, 1.0), (25, 1.01)], 0.02);
        let other: Vec<f64> = (0..20).map(|s| first_test(&series, 99, s).1).collect();
        assert!(
            other.iter().any(|p| *p != other[0]),
            "seeds give different shuffles"
        );
    }

    #[test]
    fn two_hundred_points_are_searched_quickly() {
        let mut rng = Rng::new(5);
        let series = steps(&mut rng, &[(70, 1.0), (70, 1.1), (60, 1.05)], 0.02);
        let start = std::time::Instant::now();
        let found = find(&series, 0.05, 199, 1);
        let elapsed = start.elapsed();
        assert_eq!(indices(&found), [70, 140]);
        // Far below the bound in a debug build; a quadratic search would not be.
        assert!(elapsed.as_millis() < 1000, "{elapsed:?}");
        eprintln!("200 points, 199 permutations: {elapsed:?}");
    }
}
