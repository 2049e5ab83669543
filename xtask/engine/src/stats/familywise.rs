//! One verdict for a family of measures of the same runs: p-values adjusted
//! so that the chance that *any* measure of an unchanged program reads as
//! changed stays at alpha, however many measures are compared.
//!
//! Westfall and Young's step-down min-P method, by permutation: the runs are
//! the units (each run has a value of every measure), so relabelling whole
//! runs between A and B (or, for pairs, swapping the two runs of a pair)
//! keeps the measures' correlation as it is. Wall time, CPU time and a
//! throughput metric move together, and the method knows it: unlike Holm's
//! or Bonferroni's bound, a family of measures that say the same thing costs
//! little, while unrelated measures cost what Holm's would. A measure that
//! took one value in every run can never reach a small p-value and costs
//! nothing at all.
//!
//! Every relabelling is enumerated when there are at most
//! [`MAX_ENUMERATED`]; beyond that a fixed-seed sample of [`SAMPLED`] of them
//! (plus the observed labelling), so the same runs always give the same
//! adjusted p-values.

use super::mann_whitney::mann_whitney_u;
use super::paired::signed_rank_p;

/// Up to this many relabellings are all enumerated.
pub const MAX_ENUMERATED: usize = 5_000;
/// Beyond it, this many are drawn.
pub const SAMPLED: usize = 2_000;

/// Step-down min-P adjusted p-values of measures of independent runs:
/// `a[k]` and `b[k]` are measure k's samples, in run order, every measure
/// with the same number of runs a side. None when they are not.
pub fn adjusted_unpaired(a: &[Vec<f64>], b: &[Vec<f64>]) -> Option<Vec<f64>> {
    let (n_a, n_b) = (a.first()?.len(), b.first()?.len());
    if a.len() != b.len() || a.iter().any(|x| x.len() != n_a) || b.iter().any(|y| y.len() != n_b) {
        return None;
    }
    let pooled: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.iter().chain(y).copied().collect())
        .collect();
    let p_of = |labels: &[bool]| -> Vec<f64> {
        pooled
            .iter()
            .map(|values| {
                let (mut x, mut y) = (Vec::with_capacity(n_a), Vec::with_capacity(n_b));
                for (value, in_a) in values.iter().zip(labels) {
                    if *in_a {
                        x.push(*value);
                    } else {
                        y.push(*value);
                    }
                }
                mann_whitney_u(&x, &y).map_or(1.0, |mw| mw.p_value)
            })
            .collect()
    };
    let observed: Vec<bool> = (0..n_a + n_b).map(|i| i < n_a).collect();
    let labellings = relabellings(n_a + n_b, n_a);
    Some(step_down(
        &p_of(&observed),
        labellings.iter().map(|l| p_of(l)),
    ))
}

/// The same for paired runs: `a[k][i]` and `b[k][i]` ran together, every
/// value positive (the pairs are compared by ln(b/a), as the paired
/// analysis does). None when they are not.
pub fn adjusted_paired(a: &[Vec<f64>], b: &[Vec<f64>]) -> Option<Vec<f64>> {
    let n = a.first()?.len();
    if a.len() != b.len() || a.iter().chain(b).any(|x| x.len() != n) {
        return None;
    }
    let logs: Vec<Vec<f64>> = a
        .iter()
        .zip(b)
        .map(|(x, y)| x.iter().zip(y).map(|(x, y)| (y / x).ln()).collect())
        .collect();
    if logs.iter().flatten().any(|d| !d.is_finite()) {
        return None;
    }
    let p_of = |flips: &[bool]| -> Vec<f64> {
        logs.iter()
            .map(|d| {
                let flipped: Vec<f64> = d
                    .iter()
                    .zip(flips)
                    .map(|(d, f)| if *f { -d } else { *d })
                    .collect();
                signed_rank_p(&flipped)
            })
            .collect()
    };
    let observed = vec![false; n];
    Some(step_down(
        &p_of(&observed),
        sign_flips(n).iter().map(|f| p_of(f)),
    ))
}

/// Westfall–Young step-down: the measures in order of their observed
/// p-values; the j-th's adjusted p-value is the share of relabellings in
/// which the smallest p-value among it and the measures after it is at most
/// its own, made non-decreasing down the order.
fn step_down(observed: &[f64], permuted: impl Iterator<Item = Vec<f64>>) -> Vec<f64> {
    let m = observed.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| observed[i].total_cmp(&observed[j]));
    let mut hits = vec![0usize; m];
    let mut total = 0usize;
    for p in permuted {
        total += 1;
        // Suffix minima along the order: the smallest p-value from rank j on.
        let mut smallest = f64::INFINITY;
        for rank in (0..m).rev() {
            smallest = smallest.min(p[order[rank]]);
            if smallest <= observed[order[rank]] * (1.0 + 1e-12) {
                hits[rank] += 1;
            }
        }
    }
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0f64;
    for rank in 0..m {
        let share = if total == 0 {
            1.0
        } else {
            hits[rank] as f64 / total as f64
        };
        running = running.max(share).min(1.0);
        adjusted[order[rank]] = running;
    }
    adjusted
}

/// Every way of choosing which `k` of `n` runs are A (the observed one
/// included), or a fixed-seed sample of them with the observed one first.
fn relabellings(n: usize, k: usize) -> Vec<Vec<bool>> {
    let count: f64 = (1..=k).map(|i| (n - k + i) as f64 / i as f64).product();
    if count <= MAX_ENUMERATED as f64 {
        let mut all = Vec::with_capacity(count as usize);
        let mut chosen: Vec<usize> = (0..k).collect();
        loop {
            let mut labels = vec![false; n];
            for &i in &chosen {
                labels[i] = true;
            }
            all.push(labels);
            // Next combination in lexicographic order.
            let Some(i) = (0..k).rev().find(|&i| chosen[i] < n - k + i) else {
                return all;
            };
            chosen[i] += 1;
            for j in i + 1..k {
                chosen[j] = chosen[j - 1] + 1;
            }
        }
    }
    let mut rng = SplitMix(0x5eed_f00d);
    let mut all = vec![(0..n).map(|i| i < k).collect::<Vec<bool>>()];
    for _ in 0..SAMPLED {
        let mut order: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            order.swap(i, (rng.next() % (i as u64 + 1)) as usize);
        }
        let mut labels = vec![false; n];
        for &i in &order[..k] {
            labels[i] = true;
        }
        all.push(labels);
    }
    all
}

/// Every sign flip of `n` pairs (the observed, none flipped, included), or
/// a fixed-seed sample with the observed first.
fn sign_flips(n: usize) -> Vec<Vec<bool>> {
    if n < 64 && (1usize << n) <= MAX_ENUMERATED {
        return (0..1usize << n)
            .map(|bits| (0..n).map(|i| bits >> i & 1 == 1).collect())
            .collect();
    }
    let mut rng = SplitMix(0xf11b_5eed);
    let mut all = vec![vec![false; n]];
    for _ in 0..SAMPLED {
        all.push((0..n).map(|_| rng.next() & 1 == 1).collect());
    }
    all
}

/// SplitMix64: a small, fixed generator, so that sampled relabellings are
/// the same on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// Holm's step-down adjusted p-values, in the order given: the chance that
/// any of the family's true nulls reads as significant stays at alpha when
/// each adjusted p-value is compared with alpha.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let m = p.len();
    let mut order: Vec<usize> = (0..m).collect();
    order.sort_by(|&i, &j| p[i].total_cmp(&p[j]));
    let mut adjusted = vec![1.0; m];
    let mut running = 0.0f64;
    for (rank, &i) in order.iter().enumerate() {
        running = running.max(((m - rank) as f64 * p[i]).min(1.0));
        adjusted[i] = running;
    }
    adjusted
}

#[cfg(test)]
mod tests {
    use super::super::test_support::Rng;
    use super::*;

    /// Reference: `statsmodels.stats.multitest.multipletests(p, method="holm")`.
    #[test]
    fn holm_steps_down_and_stays_monotone() {
        let adjusted = holm(&[0.01, 0.04, 0.03, 0.005]);
        let expected = [0.03, 0.06, 0.06, 0.02];
        for (a, e) in adjusted.iter().zip(expected) {
            assert!((a - e).abs() < 1e-12, "{adjusted:?}");
        }
        assert!(holm(&[]).is_empty());
    }

    /// Three copies of one measure: the family costs nothing (the adjusted
    /// p-value is the permutation p-value of one); three independent
    /// measures cost about what Holm's bound would.
    #[test]
    fn correlated_measures_cost_little_and_independent_ones_more() {
        let a = vec![1.0, 1.1, 0.9, 1.05, 0.95];
        let b = vec![1.2, 1.3, 1.15, 1.25, 1.22];
        let same = adjusted_unpaired(
            &[a.clone(), a.clone(), a.clone()],
            &[b.clone(), b.clone(), b.clone()],
        )
        .unwrap();
        // Complete separation of 5 + 5 runs: 2 of 252 labellings.
        for p in &same {
            assert!((p - 2.0 / 252.0).abs() < 1e-12, "{same:?}");
        }
        // A constant measure never reaches a small p-value and costs nothing.
        let with_constant =
            adjusted_unpaired(&[a.clone(), vec![7.0; 5]], &[b.clone(), vec![7.0; 5]]).unwrap();
        assert!(
            (with_constant[0] - 2.0 / 252.0).abs() < 1e-12,
            "{with_constant:?}"
        );
        assert_eq!(with_constant[1], 1.0);
        // Unequal lengths: no family.
        assert!(
            adjusted_unpaired(std::slice::from_ref(&a), &[b[..4].to_vec(), b.clone()]).is_none()
        );
    }

    /// Under no change, the chance that any of four measures is flagged at
    /// 0.05 stays near 0.05 (independent measures: alone each would flag
    /// about 19 % of the families).
    #[test]
    fn a_family_of_unchanged_measures_is_flagged_at_alpha() {
        let mut rng = Rng::new(11);
        let trials = 400;
        let mut flagged = 0;
        for _ in 0..trials {
            let draw = |rng: &mut Rng| -> Vec<Vec<f64>> {
                (0..4)
                    .map(|_| (0..6).map(|_| 1.0 + 0.1 * rng.normal()).collect())
                    .collect()
            };
            let (a, b) = (draw(&mut rng), draw(&mut rng));
            let adjusted = adjusted_unpaired(&a, &b).unwrap();
            if adjusted.iter().any(|p| *p < 0.05) {
                flagged += 1;
            }
        }
        let rate = flagged as f64 / trials as f64;
        assert!(rate <= 0.08, "{rate}");
    }

    #[test]
    fn pairs_are_relabelled_by_swapping_their_runs() {
        let a: Vec<f64> = vec![1.0, 1.5, 0.8, 1.2, 2.0, 0.9];
        let b: Vec<f64> = a.iter().map(|x| x * 1.05).collect();
        let adjusted = adjusted_paired(&[a.clone(), a.clone()], &[b.clone(), b]).unwrap();
        // Every pair slower: 2 of 64 sign flips as extreme (all + or all -).
        assert!((adjusted[0] - 2.0 / 64.0).abs() < 1e-12, "{adjusted:?}");
        assert_eq!(adjusted[0], adjusted[1]);
        assert!(adjusted_paired(&[vec![0.0, 1.0]], &[vec![1.0, 1.0]]).is_none());
        assert_eq!(relabellings(10, 5).len(), 252);
        assert_eq!(relabellings(40, 20).len(), SAMPLED + 1);
    }
}
