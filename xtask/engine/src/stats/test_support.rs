//! Test helpers shared by every file of `stats`: the scipy/numpy reference
//! fixture with the tolerances to compare against it, and a seeded generator
//! so that random tests are reproducible without a dependency.

use serde::Deserialize;

// -- reference values from scipy (scripts/stats_reference.py) -----------

#[derive(Deserialize)]
pub(super) struct Reference {
    pub(super) scipy_version: String,
    pub(super) cases: Vec<Case>,
    pub(super) ndtr: Vec<(f64, f64)>,
}

#[derive(Deserialize)]
pub(super) struct Case {
    pub(super) name: String,
    pub(super) a: Vec<f64>,
    pub(super) b: Vec<f64>,
    pub(super) u: f64,
    pub(super) p_value: f64,
    pub(super) method: String,
    pub(super) summary_a: RefSummary,
    pub(super) summary_b: RefSummary,
    pub(super) hl_shift: f64,
    pub(super) hl_ci95: (f64, f64),
    pub(super) hl_ci90: (f64, f64),
}

#[derive(Deserialize)]
pub(super) struct RefSummary {
    pub(super) n: usize,
    pub(super) mean: f64,
    pub(super) median: f64,
    pub(super) stddev: Option<f64>,
    pub(super) min: f64,
    pub(super) max: f64,
}

// serde_json (without its `float_roundtrip` feature) may read a decimal
// one ulp away from Python's value, so values derived from the inputs are
// compared with a tolerance relative to the inputs' magnitude.
pub(super) fn input_scale(c: &Case) -> f64 {
    c.a.iter().chain(&c.b).fold(0.0f64, |m, x| m.max(x.abs()))
}

pub(super) fn reference() -> Reference {
    serde_json::from_str(include_str!("../../tests/fixtures/stats/reference.json"))
        .expect("reference.json parses")
}

#[track_caller]
pub(super) fn assert_close(what: &str, got: f64, want: f64, rel: f64) {
    assert_near(what, got, want, rel * want.abs().max(f64::MIN_POSITIVE));
}

#[track_caller]
pub(super) fn assert_near(what: &str, got: f64, want: f64, tol: f64) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got:e}, want {want:e} (tol {tol:e})"
    );
}

/// xoshiro256** seeded through splitmix64: deterministic, no dependency.
pub(super) struct Rng {
    s: [u64; 4],
}

impl Rng {
    pub(super) fn new(seed: u64) -> Rng {
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

    pub(super) fn next_u64(&mut self) -> u64 {
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
    pub(super) fn uniform(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    pub(super) fn normal(&mut self) -> f64 {
        let (u1, u2) = (self.uniform(), self.uniform());
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

// -- paired reference values from scipy (scripts/stats_reference_paired.py) --

#[derive(Deserialize)]
pub(super) struct PairedReference {
    pub(super) scipy_version: String,
    pub(super) cases: Vec<PairedCase>,
}

#[derive(Deserialize)]
pub(super) struct PairedCase {
    pub(super) name: String,
    /// The pairs as IEEE-754 bits: exactly Python's values, so that equal
    /// ratios (ties) stay equal.
    a_bits: Vec<u64>,
    b_bits: Vec<u64>,
    pub(super) statistic: f64,
    pub(super) p_value: f64,
    pub(super) method: String,
    pub(super) median_ratio: f64,
    pub(super) hl_log: f64,
    pub(super) ci95_log: (f64, f64),
    pub(super) ci90_log: (f64, f64),
}

impl PairedCase {
    pub(super) fn a(&self) -> Vec<f64> {
        self.a_bits.iter().map(|b| f64::from_bits(*b)).collect()
    }

    pub(super) fn b(&self) -> Vec<f64> {
        self.b_bits.iter().map(|b| f64::from_bits(*b)).collect()
    }
}

pub(super) fn paired_reference() -> PairedReference {
    serde_json::from_str(include_str!("../../tests/fixtures/stats/paired.json"))
        .expect("paired.json parses")
}

// -- change-point reference values (scripts/stats_reference_change_points.py) --

#[derive(Deserialize)]
pub(super) struct ChangePointReference {
    pub(super) package: String,
    pub(super) alpha: f64,
    pub(super) min_segment: usize,
    pub(super) permutations: usize,
    pub(super) cases: Vec<ChangePointCase>,
}

#[derive(Deserialize)]
pub(super) struct ChangePointCase {
    pub(super) name: String,
    /// The series as IEEE-754 bits: exactly Python's values.
    series_bits: Vec<u64>,
    pub(super) q: Vec<f64>,
    pub(super) change_points: Vec<RefSplit>,
    pub(super) first_candidate: Option<RefSplit>,
    pub(super) package_change_points: Vec<usize>,
    pub(super) decisive: bool,
}

#[derive(Deserialize)]
pub(super) struct RefSplit {
    pub(super) index: usize,
    pub(super) p: f64,
}

impl ChangePointCase {
    pub(super) fn series(&self) -> Vec<f64> {
        self.series_bits
            .iter()
            .map(|b| f64::from_bits(*b))
            .collect()
    }
}

pub(super) fn change_point_reference() -> ChangePointReference {
    serde_json::from_str(include_str!(
        "../../tests/fixtures/stats/change_points.json"
    ))
    .expect("change_points.json parses")
}
