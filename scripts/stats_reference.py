#!/usr/bin/env python3
"""Generate xtask/engine/tests/fixtures/stats/reference.json with scipy.

The Rust statistics in xtask/engine/src/stats/ (used by `cargo xtask profile-compare`)
are checked against these values by the unit tests there (mod.rs,
mann_whitney.rs, hodges_lehmann.rs, normal.rs).  Re-run after changing the
cases:

    pip install scipy numpy
    python3 scripts/stats_reference.py

Every case records its inputs and what scipy/numpy say about them:

* `u`, `p_value`: scipy.stats.mannwhitneyu(a, b, alternative="two-sided") with
  the default method ("auto"); `method` is the method "auto" picked (checked
  against an explicit call with that method).
* `a`/`b` summaries: numpy mean, median, std (ddof=1; null when n < 2), min, max.
* `hl_shift`: numpy median of all pairwise differences b[j] - a[i]
  (Hodges-Lehmann estimate of the shift from a to b).
* `hl_ci95`, `hl_ci90`: the distribution-free (Moses) 95% and 90% intervals
  [D(k), D(N+1-k)] of the sorted differences, k the largest integer with
  2 * P(U <= k-1) <= alpha under the exact null distribution of U (scipy's own
  exact distribution), k = 1 when no k qualifies. `compare` in
  stats/verdict.rs uses the 1 - alpha one (95% at the default alpha = 0.05).

`ndtr` holds scipy.special.ndtr at a few points, including deep tails, to pin
down the normal CDF used by the asymptotic p-value.

Two sibling scripts write the other fixtures beside reference.json, in the
same way: scripts/stats_reference_paired.py (paired.json: the Wilcoxon
signed-rank test and Hodges-Lehmann ratio of stats/paired.rs, against
scipy.stats.wilcoxon) and scripts/stats_reference_change_points.py
(change_points.json: the E-divisive change points of stats/change_points.rs,
against MongoDB's signal-processing-algorithms package).
"""

import json
import pathlib

import numpy as np
import scipy
from scipy import special, stats
from scipy.stats._mannwhitneyu import _MWU  # exact null distribution of U

OUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "xtask"
    / "tests"
    / "fixtures"
    / "stats"
    / "reference.json"
)


def auto_method(a, b):
    """scipy's rule for method='auto' (scipy/stats/_mannwhitneyu.py,
    _mwu_choose_method): exact unless both samples exceed 8 or there are ties."""
    n1, n2 = len(a), len(b)
    ties = len(np.unique(np.concatenate([a, b]))) < n1 + n2
    if n1 > 8 and n2 > 8:
        return "asymptotic"
    if ties:
        return "asymptotic"
    return "exact"


def summary(x):
    x = np.asarray(x, dtype=float)
    return {
        "n": int(x.size),
        "mean": float(np.mean(x)),
        "median": float(np.median(x)),
        "stddev": float(np.std(x, ddof=1)) if x.size >= 2 else None,
        "min": float(np.min(x)),
        "max": float(np.max(x)),
    }


def moses_ci(a, b, alpha=0.05):
    n1, n2 = len(a), len(b)
    diffs = np.sort(np.subtract.outer(np.asarray(b), np.asarray(a)).ravel())
    dist = _MWU(n1, n2)
    k = 0
    # P(U <= k-1) grows with k; take the largest k with 2 * P(U <= k-1) <= alpha.
    for cand in range(1, n1 * n2 // 2 + 1):
        if 2.0 * float(dist.cdf(np.asarray([cand - 1]))[0]) <= alpha:
            k = cand
        else:
            break
    k = max(k, 1)
    n = diffs.size
    return [float(diffs[k - 1]), float(diffs[n - k])], k


def case(name, a, b, note):
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    res = stats.mannwhitneyu(a, b, alternative="two-sided")
    method = auto_method(a, b)
    explicit = stats.mannwhitneyu(a, b, alternative="two-sided", method=method)
    assert float(explicit.pvalue) == float(res.pvalue), (name, method)
    diffs = np.subtract.outer(np.asarray(b), np.asarray(a)).ravel()
    ci95, k95 = moses_ci(a, b, 0.05)
    ci90, k90 = moses_ci(a, b, 0.10)
    return {
        "name": name,
        "note": note,
        "a": a,
        "b": b,
        "u": float(res.statistic),
        "p_value": float(res.pvalue),
        "method": method,
        "summary_a": summary(a),
        "summary_b": summary(b),
        "hl_shift": float(np.median(diffs)),
        "hl_ci95": ci95,
        "hl_ci95_k": k95,
        "hl_ci90": ci90,
        "hl_ci90_k": k90,
    }


def lognormal_times(rng, n, base, sigma, outlier_rate=0.0, decimals=6):
    x = base * np.exp(rng.normal(0.0, sigma, n))
    slow = rng.random(n) < outlier_rate
    x = np.where(slow, x * rng.uniform(1.3, 1.8, n), x)
    return np.round(x, decimals)


def main():
    rng = np.random.default_rng(20240611)
    cases = []

    cases.append(case("tiny_3v3_no_ties", [1.02, 0.98, 1.05], [1.10, 1.07, 1.12],
                      "smallest useful size, exact p (never below 0.1)"))
    cases.append(case("scipy_doc_example_5v4", [19, 22, 16, 29, 24], [20, 11, 17, 12],
                      "example from the scipy docs, exact p = 1/9"))
    cases.append(case("exact_6v6_full_separation",
                      [10.1, 10.3, 10.2, 10.05, 10.4, 10.15],
                      [12.0, 12.3, 11.9, 12.1, 12.5, 11.95],
                      "big shift, exact p = 2/924"))
    cases.append(case("exact_8v12_no_ties",
                      lognormal_times(rng, 8, 1.00, 0.08),
                      lognormal_times(rng, 12, 1.10, 0.08),
                      "exact because one side has <= 8 samples"))
    cases.append(case("exact_3v30_no_ties",
                      lognormal_times(rng, 3, 2.0, 0.1),
                      lognormal_times(rng, 30, 2.1, 0.1),
                      "very unbalanced, exact"))
    cases.append(case("exact_8v8_timings",
                      lognormal_times(rng, 8, 0.250, 0.05),
                      lognormal_times(rng, 8, 0.262, 0.05),
                      "realistic 8-run comparison, 5% noise, 5% shift"))
    cases.append(case("asymptotic_9v9_no_ties",
                      lognormal_times(rng, 9, 5.0, 0.1),
                      lognormal_times(rng, 9, 5.0, 0.1),
                      "first size where auto switches to the normal approximation"))
    cases.append(case("asymptotic_10v10_no_ties",
                      lognormal_times(rng, 10, 1.0, 0.1, 0.1),
                      lognormal_times(rng, 10, 1.1, 0.1, 0.1),
                      "10 runs per side, 10% slowdown, 10% spread, outliers"))
    cases.append(case("ties_5v5",
                      [3, 4, 4, 5, 6], [4, 5, 5, 6, 7],
                      "ties force the asymptotic method with tie correction"))
    cases.append(case("ties_10v10_rounded",
                      np.round(lognormal_times(rng, 10, 100.0, 0.05), 0),
                      np.round(lognormal_times(rng, 10, 103.0, 0.05), 0),
                      "millisecond-rounded timings, many ties"))
    cases.append(case("ties_15v15_coarse",
                      np.round(lognormal_times(rng, 15, 10.0, 0.1), 0),
                      np.round(lognormal_times(rng, 15, 10.0, 0.1), 0),
                      "heavy ties, no real difference"))
    cases.append(case("identical_constant_5v5", [2.5] * 5, [2.5] * 5,
                      "zero variance on both sides, all tied: p = 1"))
    same = lognormal_times(rng, 7, 3.0, 0.1)
    cases.append(case("identical_samples_7v7", same, same,
                      "same values on both sides (every value tied once)"))
    cases.append(case("constant_different_4v4", [1.0] * 4, [1.2] * 4,
                      "zero variance on both sides but different levels"))
    cases.append(case("big_shift_30v30",
                      lognormal_times(rng, 30, 1.0, 0.15, 0.1),
                      lognormal_times(rng, 30, 2.0, 0.15, 0.1),
                      "2x slowdown, tiny asymptotic p"))
    cases.append(case("outlier_heavy_20v20",
                      lognormal_times(rng, 20, 1.0, 0.05, 0.3),
                      lognormal_times(rng, 20, 1.0, 0.05, 0.3),
                      "30% of runs slowed by 30-80%, no real change"))
    cases.append(case("unbalanced_30v25",
                      lognormal_times(rng, 30, 0.8, 0.2, 0.1),
                      lognormal_times(rng, 25, 0.7, 0.2, 0.1),
                      "20% spread, speed-up"))
    cases.append(case("single_vs_6", [1.0], [0.9, 1.1, 1.2, 1.3, 1.05, 0.95],
                      "one sample on one side: exact p, stddev undefined for a"))

    ndtr_points = [-38.0, -30.0, -20.0, -10.0, -8.0, -6.0, -5.0, -4.0, -3.0, -2.5, -2.0,
                   -1.5, -1.0, -0.7071067811865476, -0.5, -0.25, -0.1, 0.0, 0.1,
                   0.5, 1.0, 1.959963984540054, 3.0, 6.0, 9.0]
    ndtr = [[x, float(special.ndtr(x))] for x in ndtr_points]

    doc = {
        "generator": "scripts/stats_reference.py",
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
        "ndtr": ndtr,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
