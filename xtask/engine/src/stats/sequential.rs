//! Deciding while the runs come in: a verdict that may be looked at after
//! every new pair of runs and still holds its false-alarm rate at alpha
//! however often it is looked at.
//!
//! The method is the mixture sequential probability ratio test (mSPRT,
//! Robbins; the "always valid p-values" of Johari et al., 2017) on the
//! per-pair log ratios ln(B/A): with a normal mixture of scale τ over the
//! change, the likelihood ratio against "no change" after n pairs is
//!
//! ```text
//! Λ_n = sqrt(σ² / (σ² + nτ²)) · exp(n² τ² x̄² / (2σ² (σ² + nτ²)))
//! ```
//!
//! and, by Ville's inequality, the chance that it ever reaches 1/α when
//! nothing changed is at most α. Inverting it gives a confidence sequence
//! for the change, valid at every n at once: a change is `regressed` or
//! `improved` once the sequence lies wholly beyond the noise band,
//! `no_change` once it lies wholly within the measure's limit. σ is the
//! spread of the log ratios seen so far (a plug-in), which is why no
//! decision is made before [`FIRST_LOOK`] pairs; the seeded simulations
//! below check the false-alarm rate with it.

use super::Verdict;
use crate::config::Better;

/// No decision before this many pairs: the spread is estimated from them.
pub const FIRST_LOOK: usize = 8;

/// Where a sequence of pairs stands for one measure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Standing {
    /// Decided (`regressed`, `improved`, `no_change`), or `inconclusive`
    /// while the pairs cannot tell yet.
    pub verdict: Verdict,
    /// The relative change (geometric mean of B/A, minus 1).
    pub change: f64,
    /// The confidence sequence's bounds of the relative change.
    pub ci_low: f64,
    pub ci_high: f64,
}

/// The standing of a measure after `pairs` (A, B), held to `alpha`, with
/// `limit` the relative change that matters (0.05) and `noise_band` the
/// change too small to report (0.02). Pairs with a value that is not
/// positive and finite are left out (a ratio needs both).
pub fn standing(
    pairs: &[(f64, f64)],
    better: Better,
    limit: f64,
    noise_band: f64,
    alpha: f64,
) -> Standing {
    let logs: Vec<f64> = pairs
        .iter()
        .filter(|(a, b)| a.is_finite() && b.is_finite() && *a > 0.0 && *b > 0.0)
        .map(|(a, b)| (b / a).ln())
        .collect();
    let n = logs.len();
    let mean = if n == 0 {
        0.0
    } else {
        logs.iter().sum::<f64>() / n as f64
    };
    let undecided = |low: f64, high: f64| Standing {
        verdict: Verdict::Inconclusive,
        change: mean.exp_m1(),
        ci_low: low,
        ci_high: high,
    };
    if n < FIRST_LOOK.max(2) {
        return undecided(f64::NEG_INFINITY, f64::INFINITY);
    }
    let variance = logs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let sigma2 = variance.max(1e-12);
    let tau = limit.max(1e-3).ln_1p();
    let tau2 = tau * tau;
    let nf = n as f64;
    let spread = sigma2 + nf * tau2;
    let half =
        (spread / (nf * nf * tau2) * sigma2 * (spread / (sigma2 * alpha * alpha)).ln()).sqrt();
    let (low, high) = ((mean - half).exp_m1(), (mean + half).exp_m1());
    let worse_up = better == Better::Lower;
    let verdict = if low > noise_band {
        if worse_up {
            Verdict::Regressed
        } else {
            Verdict::Improved
        }
    } else if high < -noise_band {
        if worse_up {
            Verdict::Improved
        } else {
            Verdict::Regressed
        }
    } else if low >= -limit && high <= limit {
        Verdict::NoChange
    } else {
        Verdict::Inconclusive
    };
    Standing {
        verdict,
        change: mean.exp_m1(),
        ci_low: low,
        ci_high: high,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::Rng;
    use super::*;

    /// Pairs of one program under a busy machine: both runs of a pair share
    /// a slowdown, each has noise of its own, some are far off.
    fn pairs(rng: &mut Rng, n: usize, change: f64, own: f64) -> Vec<(f64, f64)> {
        (0..n)
            .map(|_| {
                let shared = 1.0 + 0.3 * rng.uniform();
                let outlier = |rng: &mut Rng| if rng.uniform() < 0.05 { 1.3 } else { 1.0 };
                let a = shared * (1.0 + own * rng.normal()) * outlier(rng);
                let b = shared * (1.0 + change) * (1.0 + own * rng.normal()) * outlier(rng);
                (a, b)
            })
            .collect()
    }

    /// Looked at after every pair from the first look to 60 pairs, an
    /// unchanged program is called changed in at most alpha of the
    /// sequences.
    #[test]
    fn looking_after_every_pair_keeps_false_alarms_at_alpha() {
        let mut rng = Rng::new(2026);
        let trials = 1000;
        let mut alarms = 0;
        for _ in 0..trials {
            let all = pairs(&mut rng, 60, 0.0, 0.03);
            let flagged = (FIRST_LOOK..=60).any(|n| {
                let s = standing(&all[..n], Better::Lower, 0.05, 0.02, 0.05);
                matches!(s.verdict, Verdict::Regressed | Verdict::Improved)
            });
            alarms += usize::from(flagged);
        }
        let rate = alarms as f64 / trials as f64;
        assert!(rate <= 0.05, "A/A alarms in {rate} of the sequences");
    }

    /// A 5 % slowdown, with 3 % noise of each run's own and 5 % of runs 30 %
    /// off, is decided within 300 pairs (about 2 minutes of a 0.2 s
    /// program) nearly always; an unchanged one reads no_change as often.
    #[test]
    fn a_five_percent_slowdown_is_caught_and_no_change_is_shown() {
        let mut rng = Rng::new(7);
        let trials = 200;
        let looks = (FIRST_LOOK..=300).step_by(4);
        let (mut caught, mut equal) = (0, 0);
        for _ in 0..trials {
            let slow = pairs(&mut rng, 300, 0.05, 0.03);
            let first = looks
                .clone()
                .map(|n| standing(&slow[..n], Better::Lower, 0.05, 0.02, 0.05).verdict)
                .find(|v| *v != Verdict::Inconclusive);
            caught += usize::from(first == Some(Verdict::Regressed));
            let same = pairs(&mut rng, 300, 0.0, 0.03);
            let first = looks
                .clone()
                .map(|n| standing(&same[..n], Better::Lower, 0.05, 0.02, 0.05).verdict)
                .find(|v| *v != Verdict::Inconclusive);
            equal += usize::from(first == Some(Verdict::NoChange));
        }
        let (caught, equal) = (caught as f64 / trials as f64, equal as f64 / trials as f64);
        assert!(caught >= 0.95, "caught {caught}");
        assert!(equal >= 0.9, "no_change shown in {equal}");
    }

    #[test]
    fn too_few_pairs_decide_nothing() {
        let few = [(1.0, 2.0); 5];
        let s = standing(&few, Better::Lower, 0.05, 0.02, 0.05);
        assert_eq!(s.verdict, Verdict::Inconclusive);
        assert!((s.change - 1.0).abs() < 1e-12);
        // Zeros have no ratio and are left out.
        let zeros = [(0.0, 1.0); 20];
        assert_eq!(
            standing(&zeros, Better::Lower, 0.05, 0.02, 0.05).verdict,
            Verdict::Inconclusive
        );
    }
}
