//! Welch's two-sample t-test, for many small tests at once (the share of
//! each frame of a profile, across a few profiled runs a side; corrected
//! for their number by `familywise::holm`).
//!
//! Why not the rank test used for timings: with five runs a side the
//! smallest two-sided Mann–Whitney p-value is 2/252, about 0.008, so after
//! any correction over tens of frames no frame could ever be called
//! changed. A frame's share of samples is an average over thousands of
//! samples, close to normal from run to run, and has no slow-outlier tail
//! the way a wall time does; Welch's p-value is continuous, so a large,
//! steady change survives the correction with few runs.

/// Result of a two-sided Welch t-test of `x` against `y`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Welch {
    /// `(mean(x) - mean(y)) / standard error`.
    pub t: f64,
    /// Welch–Satterthwaite degrees of freedom.
    pub df: f64,
    /// Two-sided p-value, in `[0, 1]`.
    pub p_value: f64,
}

/// Two-sided Welch t-test, matching `scipy.stats.ttest_ind(x, y,
/// equal_var=False)`. None when a side has fewer than two finite values.
/// When both sides have no spread at all, the p-value is 1 for equal means
/// and 0 for different ones (scipy gives NaN and ±inf there).
pub fn welch_t(x: &[f64], y: &[f64]) -> Option<Welch> {
    let moments = |v: &[f64]| -> Option<(f64, f64, f64)> {
        let v: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
        if v.len() < 2 {
            return None;
        }
        let n = v.len() as f64;
        let mean = v.iter().sum::<f64>() / n;
        let var = v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Some((n, mean, var))
    };
    let ((nx, mx, vx), (ny, my, vy)) = (moments(x)?, moments(y)?);
    let (sx, sy) = (vx / nx, vy / ny);
    let se2 = sx + sy;
    if se2 <= 0.0 {
        let p_value = if mx == my { 1.0 } else { 0.0 };
        let t = if mx == my {
            0.0
        } else {
            f64::INFINITY.copysign(mx - my)
        };
        return Some(Welch {
            t,
            df: nx + ny - 2.0,
            p_value,
        });
    }
    let t = (mx - my) / se2.sqrt();
    let df = se2 * se2 / (sx * sx / (nx - 1.0) + sy * sy / (ny - 1.0));
    // P(|T| > t) for Student's t with df degrees of freedom.
    let p_value = incomplete_beta(df / 2.0, 0.5, df / (df + t * t)).clamp(0.0, 1.0);
    Some(Welch { t, df, p_value })
}

/// The regularised incomplete beta function I_x(a, b), by Lentz's continued
/// fraction (Numerical Recipes' `betai`), accurate to about 1e-12 here.
fn incomplete_beta(a: f64, b: f64, x: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let front =
        (ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln()).exp();
    if x < (a + 1.0) / (a + b + 2.0) {
        front * continued_fraction(a, b, x) / a
    } else {
        1.0 - front * continued_fraction(b, a, 1.0 - x) / b
    }
}

fn continued_fraction(a: f64, b: f64, x: f64) -> f64 {
    const TINY: f64 = 1e-300;
    let (qab, qap, qam) = (a + b, a + 1.0, a - 1.0);
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..300 {
        let m = m as f64;
        let m2 = 2.0 * m;
        for aa in [
            m * (b - m) * x / ((qam + m2) * (a + m2)),
            -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2)),
        ] {
            d = 1.0 + aa * d;
            if d.abs() < TINY {
                d = TINY;
            }
            c = 1.0 + aa / c;
            if c.abs() < TINY {
                c = TINY;
            }
            d = 1.0 / d;
            h *= d * c;
        }
        if (d * c - 1.0).abs() < 1e-15 {
            break;
        }
    }
    h
}

/// ln Γ(x) for x > 0 (Lanczos, g = 7, nine coefficients).
fn ln_gamma(x: f64) -> f64 {
    const G: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        let pi = std::f64::consts::PI;
        return (pi / (pi * x).sin()).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut sum = G[0];
    for (i, g) in G.iter().enumerate().skip(1) {
        sum += g / (x + i as f64);
    }
    let t = x + 7.5;
    0.5 * (2.0 * std::f64::consts::PI).ln() + (x + 0.5) * t.ln() - t + sum.ln()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reference values from `scipy.stats.ttest_ind(x, y, equal_var=False)`
    /// (scipy 1.17.1).
    #[test]
    fn matches_scipy() {
        for (x, y, t, df, p) in [
            (
                &[0.30, 0.31, 0.29, 0.305, 0.295][..],
                &[0.52, 0.55, 0.50, 0.53, 0.51][..],
                -23.869587877328875,
                5.313862133250476,
                1.3042393347185612e-06,
            ),
            (
                &[1.0, 2.0, 3.0, 4.0][..],
                &[2.0, 4.0, 6.0, 8.0, 10.0, 12.0][..],
                -2.713602101199873,
                6.59467097295115,
                0.03182444378084147,
            ),
            (
                &[0.1, 0.12, 0.11][..],
                &[0.105, 0.115, 0.125][..],
                -0.6123724356957935,
                4.0,
                0.5733922538253563,
            ),
        ] {
            let w = welch_t(x, y).unwrap();
            assert!((w.t - t).abs() < 1e-9 * t.abs(), "{w:?}");
            assert!((w.df - df).abs() < 1e-9 * df, "{w:?}");
            assert!(
                (w.p_value - p).abs() < 1e-9 * p.max(1e-12) + 1e-15,
                "{w:?} vs {p}"
            );
        }
    }

    #[test]
    fn degenerate_inputs_give_finite_answers() {
        assert!(welch_t(&[1.0], &[1.0, 2.0]).is_none());
        assert_eq!(welch_t(&[0.5, 0.5], &[0.5, 0.5]).unwrap().p_value, 1.0);
        assert_eq!(welch_t(&[0.5, 0.5], &[0.6, 0.6]).unwrap().p_value, 0.0);
    }
}
