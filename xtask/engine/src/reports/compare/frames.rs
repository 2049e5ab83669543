//! Which frames of a CPU profile really changed: each function's share of
//! the samples (its total share: samples whose stack holds it, the width of
//! its frames) in every profiled run a side, a Welch t-test per function
//! across the runs, and Holm's correction across the functions tested. A
//! function is called changed when its adjusted p-value is below alpha and
//! its mean share moved by at least [`MIN_EFFECT`] points; only those are
//! coloured in the differential flamegraph.

use crate::stats::familywise::holm;
use crate::stats::welch::welch_t;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// Functions below this mean share (in %, both sides' runs pooled) are not
/// tested: a few samples' worth of share is all noise, and each test costs
/// the others power under the correction. The pooled mean does not depend
/// on which runs are A's, so the filter does not bias the tests.
pub const MIN_TESTED_SHARE: f64 = 0.5;
/// The smallest change of share, in percentage points, coloured as changed:
/// a steady change smaller than this is real but not worth looking at.
pub const MIN_EFFECT: f64 = 1.0;

/// One function whose share changed.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct FrameChange {
    pub function: String,
    /// Mean share of the samples over A's runs, in %.
    pub share_a: f64,
    /// The same over B's runs.
    pub share_b: f64,
    /// Holm-adjusted p-value of Welch's t-test on the per-run shares.
    pub p_adjusted: f64,
}

impl FrameChange {
    pub fn delta(&self) -> f64 {
        self.share_b - self.share_a
    }
}

/// The per-frame test of one pair of scales.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct FrameTest {
    pub runs_a: usize,
    pub runs_b: usize,
    /// Functions tested (those with a pooled mean share of at least
    /// [`MIN_TESTED_SHARE`] %).
    pub tested: usize,
    pub alpha: f64,
    /// The functions that changed, largest change first.
    pub changed: Vec<FrameChange>,
}

impl FrameTest {
    /// One sentence: how many frames changed, out of how many, by what test.
    pub fn summary(&self) -> String {
        let runs = if self.runs_a == self.runs_b {
            format!("{} profiled runs a side", self.runs_a)
        } else {
            format!("{} and {} profiled runs", self.runs_a, self.runs_b)
        };
        let head = match self.changed.len() {
            0 => format!(
                "no frame's share of CPU samples changed beyond the runs' own spread, of {} tested",
                self.tested
            ),
            n => format!(
                "{n} of {} frames tested changed their share of CPU samples significantly",
                self.tested
            ),
        };
        format!(
            "{head} ({runs}; Welch's t-test per function, Holm-corrected at alpha {}, \
             at least {MIN_EFFECT} point; functions under {MIN_TESTED_SHARE} % untested)",
            self.alpha
        )
    }

    /// The largest changes as rows: function, share in A, share in B, Δ,
    /// adjusted p.
    pub fn rows(&self, top: usize) -> Vec<[String; 5]> {
        self.changed
            .iter()
            .take(top)
            .map(|c| {
                [
                    c.function.clone(),
                    format!("{:.1} %", c.share_a),
                    format!("{:.1} %", c.share_b),
                    format!("{:+.1}", c.delta()),
                    format!("{:.2e}", c.p_adjusted),
                ]
            })
            .collect()
    }
}

/// Each function's total share of the samples of one run's folded stacks,
/// in %; a function that recurses counts once per sample.
pub fn shares(folded: &str) -> BTreeMap<String, f64> {
    let mut counts: BTreeMap<String, f64> = BTreeMap::new();
    let mut total = 0.0;
    for line in folded.lines() {
        let Some((stack, count)) = line.trim_end().rsplit_once(' ') else {
            continue;
        };
        let Ok(count) = count.parse::<f64>() else {
            continue;
        };
        total += count;
        let frames: BTreeSet<&str> = stack.split(';').collect();
        for frame in frames {
            *counts.entry(frame.to_string()).or_default() += count;
        }
    }
    if total > 0.0 {
        for value in counts.values_mut() {
            *value *= 100.0 / total;
        }
    }
    counts
}

/// The per-frame test of A's runs against B's (each a run's folded
/// stacks). None when a side has fewer than two runs: one run a side has
/// no spread to tell noise from change.
pub fn test_frames(a: &[String], b: &[String], alpha: f64) -> Option<FrameTest> {
    if a.len() < 2 || b.len() < 2 {
        return None;
    }
    let (a, b): (Vec<_>, Vec<_>) = (
        a.iter().map(|t| shares(t)).collect(),
        b.iter().map(|t| shares(t)).collect(),
    );
    let functions: BTreeSet<&String> = a.iter().chain(&b).flat_map(|s| s.keys()).collect();
    let per_run = |runs: &[BTreeMap<String, f64>], f: &str| -> Vec<f64> {
        runs.iter()
            .map(|s| s.get(f).copied().unwrap_or(0.0))
            .collect()
    };
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let mut tested = Vec::new();
    for f in functions {
        let (x, y) = (per_run(&a, f), per_run(&b, f));
        let pooled = (x.iter().sum::<f64>() + y.iter().sum::<f64>()) / (x.len() + y.len()) as f64;
        if pooled < MIN_TESTED_SHARE {
            continue;
        }
        let p = welch_t(&x, &y).map_or(1.0, |w| w.p_value);
        tested.push((f.clone(), mean(&x), mean(&y), p));
    }
    let adjusted = holm(&tested.iter().map(|t| t.3).collect::<Vec<_>>());
    let mut changed: Vec<FrameChange> = tested
        .iter()
        .zip(adjusted)
        .filter(|((_, sa, sb, _), p)| *p < alpha && (sb - sa).abs() >= MIN_EFFECT)
        .map(
            |((function, share_a, share_b, _), p_adjusted)| FrameChange {
                function: function.clone(),
                share_a: *share_a,
                share_b: *share_b,
                p_adjusted,
            },
        )
        .collect();
    changed.sort_by(|x, y| {
        y.delta()
            .abs()
            .total_cmp(&x.delta().abs())
            .then_with(|| x.function.cmp(&y.function))
    });
    Some(FrameTest {
        runs_a: a.len(),
        runs_b: b.len(),
        tested: tested.len(),
        alpha,
        changed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator, so the noise is the same every run.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// One run's folded stacks: `hot` samples in main;work;tariff (times
    /// `factor`) and the rest spread over three other functions, each count
    /// jittered by up to ±`noise`.
    fn run(rng: &mut Lcg, factor: f64, noise: f64) -> String {
        let mut jitter = |n: f64| (n * (1.0 + noise * (2.0 * rng.next() - 1.0))).round() as u64;
        format!(
            "main;work;tariff {}\nmain;work;format_rows {}\nmain;work;parse {}\nmain;idle {}\n",
            jitter(2000.0 * factor),
            jitter(3000.0),
            jitter(2500.0),
            jitter(2500.0),
        )
    }

    fn runs(rng: &mut Lcg, n: usize, factor: f64) -> Vec<String> {
        (0..n).map(|_| run(rng, factor, 0.08)).collect()
    }

    #[test]
    fn a_and_a_with_noise_changes_no_frame() {
        let mut rng = Lcg(7);
        for _ in 0..20 {
            let (a, b) = (runs(&mut rng, 5, 1.0), runs(&mut rng, 5, 1.0));
            let test = test_frames(&a, &b, 0.05).unwrap();
            assert_eq!(test.tested, 6);
            assert!(test.changed.is_empty(), "{:?}", test.changed);
        }
    }

    #[test]
    fn a_frame_whose_share_doubles_is_flagged() {
        let mut rng = Lcg(11);
        let (a, b) = (runs(&mut rng, 5, 1.0), runs(&mut rng, 5, 2.0));
        let test = test_frames(&a, &b, 0.05).unwrap();
        let top = &test.changed[0];
        assert_eq!(top.function, "tariff");
        assert!(top.share_a > 18.0 && top.share_a < 22.0, "{top:?}");
        assert!(top.share_b > 30.0 && top.share_b < 37.0, "{top:?}");
        assert!(top.p_adjusted < 0.05);
        // Every other function's share shrank with it; main's stayed 100 %.
        assert!(test.changed.iter().all(|c| c.function != "main"));
        assert!(test
            .changed
            .iter()
            .any(|c| c.function == "idle" && c.delta() < 0.0));
    }

    #[test]
    fn one_run_a_side_cannot_be_tested() {
        let mut rng = Lcg(3);
        assert!(test_frames(&runs(&mut rng, 1, 1.0), &runs(&mut rng, 5, 1.0), 0.05).is_none());
    }

    #[test]
    fn shares_count_a_recursive_function_once_per_sample() {
        let shares = shares("main;f;f 3\nmain;g 1\n");
        assert_eq!(shares["main"], 100.0);
        assert_eq!(shares["f"], 75.0);
        assert_eq!(shares["g"], 25.0);
    }
}
