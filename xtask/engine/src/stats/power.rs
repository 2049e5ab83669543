//! What a comparison could have seen: the minimum detectable effect (the
//! smallest relative change that a two-sided test at `alpha` would detect
//! with the given power, for these sample sizes and this spread) and the
//! number of runs a side that would detect a given change.
//!
//! Normal-theory approximations on the relative scale, with Student's t for
//! small samples: the rank tests the verdicts use are about as efficient as
//! the t test on normal data (Mann–Whitney's asymptotic relative efficiency
//! is 3/π ≈ 0.955), so these figures say what the runs' own spread allows,
//! which is what a reader needs to know ("this comparison could only have
//! seen changes of ±12 %"), not an exact property of the rank test.

/// The power the minimum detectable effect is quoted at.
pub const POWER: f64 = 0.8;

/// The standard normal quantile (Acklam's rational approximation, refined
/// by one Newton step on the normal CDF: about 1e-12 relative error).
pub fn normal_quantile(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) || p.is_nan() {
        return f64::NAN;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    const A: [f64; 6] = [
        -3.969683028665376e+01,
        2.209460984245205e+02,
        -2.759285104469687e+02,
        1.38357751867269e+02,
        -3.066479806614716e+01,
        2.506628277459239e+00,
    ];
    const B: [f64; 5] = [
        -5.447609879822406e+01,
        1.615858368580409e+02,
        -1.556989798598866e+02,
        6.680131188771972e+01,
        -1.328068155288572e+01,
    ];
    const C: [f64; 6] = [
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838e+00,
        -2.549732539343734e+00,
        4.374664141464968e+00,
        2.938163982698783e+00,
    ];
    const D: [f64; 4] = [
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996e+00,
        3.754408661907416e+00,
    ];
    let low = 0.02425;
    let x = if p < low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Newton step on Φ(x) = p.
    let e = super::normal::normal_cdf(x) - p;
    let density = (-x * x / 2.0).exp() / (2.0 * std::f64::consts::PI).sqrt();
    if density > 0.0 {
        x - e / density
    } else {
        x
    }
}

/// Student's t quantile with `df` degrees of freedom (the Cornish–Fisher
/// expansion around the normal quantile: within 1 % of the exact value
/// from 3 degrees of freedom on, where the quantiles used here lie).
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let z = normal_quantile(p);
    if !df.is_finite() || df <= 0.0 {
        return z;
    }
    let (z3, z5, z7) = (z.powi(3), z.powi(5), z.powi(7));
    z + (z3 + z) / (4.0 * df)
        + (5.0 * z5 + 16.0 * z3 + 3.0 * z) / (96.0 * df * df)
        + (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / (384.0 * df.powi(3))
}

/// `t(1 - alpha/2) + t(power)`: how many standard errors apart two means
/// must be for a two-sided test at `alpha` to see it with `power`.
fn separation(alpha: f64, df: f64) -> f64 {
    t_quantile(1.0 - alpha / 2.0, df) + t_quantile(POWER, df)
}

/// The minimum detectable relative change of two independent samples with
/// these sizes, standard deviations and baseline `scale` (|median of A|):
/// None when a side has fewer than two samples or the scale is 0.
pub fn mde_unpaired(
    (n_a, sd_a): (usize, f64),
    (n_b, sd_b): (usize, f64),
    scale: f64,
    alpha: f64,
) -> Option<f64> {
    if n_a < 2 || n_b < 2 || scale <= 0.0 || !scale.is_finite() {
        return None;
    }
    let se = (sd_a * sd_a / n_a as f64 + sd_b * sd_b / n_b as f64).sqrt() / scale;
    let df = (n_a + n_b - 2) as f64;
    let mde = separation(alpha, df) * se;
    mde.is_finite().then_some(mde)
}

/// Runs a side (equal on both sides) that would detect a relative change
/// of `target` with two independent samples of these spreads.
pub fn runs_needed_unpaired(
    sd_a: f64,
    sd_b: f64,
    scale: f64,
    target: f64,
    alpha: f64,
) -> Option<u64> {
    if target <= 0.0 || scale <= 0.0 {
        return None;
    }
    let variance = (sd_a * sd_a + sd_b * sd_b) / (scale * scale);
    solve_runs(|n| (separation(alpha, 2.0 * n - 2.0) / target).powi(2) * variance)
}

/// The minimum detectable relative change of `pairs` paired runs whose
/// log-ratios ln(b/a) have standard deviation `sd_log`.
pub fn mde_paired(pairs: usize, sd_log: f64, alpha: f64) -> Option<f64> {
    if pairs < 2 {
        return None;
    }
    let se = sd_log / (pairs as f64).sqrt();
    let mde = (separation(alpha, (pairs - 1) as f64) * se).exp_m1();
    mde.is_finite().then_some(mde)
}

/// Pairs that would detect a relative change of `target` with log-ratios of
/// standard deviation `sd_log`.
pub fn pairs_needed(sd_log: f64, target: f64, alpha: f64) -> Option<u64> {
    if target <= 0.0 {
        return None;
    }
    let effect = target.ln_1p();
    solve_runs(|n| (separation(alpha, n - 1.0) * sd_log / effect).powi(2))
}

/// The fixed point n = `runs(n)`, from 2: the runs a formula needs when
/// its t quantiles depend on the runs themselves (the correction converges
/// in a few steps). At least 2, None when it diverges.
fn solve_runs(runs: impl Fn(f64) -> f64) -> Option<u64> {
    let mut n = 2.0f64;
    for _ in 0..20 {
        let next = runs(n);
        if (next - n).abs() < 0.01 {
            n = next;
            break;
        }
        n = next.max(2.0);
    }
    (n.is_finite() && n < 1e9).then(|| (n.ceil() as u64).max(2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_match_the_tables() {
        // scipy.stats.norm.ppf and scipy.stats.t.ppf.
        assert!((normal_quantile(0.975) - 1.959963984540054).abs() < 1e-9);
        assert!((normal_quantile(0.8) - 0.8416212335729143).abs() < 1e-9);
        assert!((normal_quantile(0.001) + 3.090232306167813).abs() < 1e-9);
        for (p, df, exact) in [
            (0.975, 8.0, 2.306004135204166),
            (0.975, 18.0, 2.10092204024096),
            (0.8, 8.0, 0.8888932604253981),
            (0.975, 3.0, 3.182446305284263),
        ] {
            let t = t_quantile(p, df);
            assert!(
                (t - exact).abs() / exact < 0.01,
                "t({p}, {df}) = {t}, not {exact}"
            );
        }
    }

    /// The textbook case: σ = 10 % of the mean, 10 runs a side: a two-sided
    /// t test at 0.05 sees ±13.3 % with 80 % power (statsmodels'
    /// TTestIndPower().solve_power(nobs1=10, alpha=0.05, power=0.8) gives
    /// d = 1.3249).
    #[test]
    fn the_detectable_change_follows_spread_and_runs() {
        let mde = mde_unpaired((10, 0.1), (10, 0.1), 1.0, 0.05).unwrap();
        assert!((mde - 0.1325).abs() < 0.004, "{mde}");
        // Four times the runs: half the change.
        let more = mde_unpaired((40, 0.1), (40, 0.1), 1.0, 0.05).unwrap();
        assert!((more / mde - 0.5).abs() < 0.03, "{more}");
        assert_eq!(mde_unpaired((1, 0.1), (10, 0.1), 1.0, 0.05), None);
        // statsmodels: nobs1 for d = 0.5 at 0.05 and 0.8 is 63.77.
        assert_eq!(runs_needed_unpaired(0.1, 0.1, 1.0, 0.05, 0.05), Some(64));
        // Paired: sd of ln(b/a) 0.05 over 10 pairs; statsmodels'
        // TTestPower().solve_power(nobs=10, alpha=0.05, power=0.8) gives
        // d = 0.9960, so ln(1 + mde) = 0.0498.
        let paired = mde_paired(10, 0.05, 0.05).unwrap();
        assert!((paired - 0.0498f64.exp_m1()).abs() < 0.001, "{paired}");
        assert!(pairs_needed(0.05, 0.02, 0.05).unwrap() >= 50);
    }
}
