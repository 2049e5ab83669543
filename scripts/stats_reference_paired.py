#!/usr/bin/env python3
"""Generate xtask/engine/tests/fixtures/stats/paired.json with scipy.

The paired analysis in xtask/engine/src/stats/paired.rs (interleaved and duet runs
of `cargo xtask profile-compare`) is checked against these values by the
unit tests in that file.  Re-run after changing the cases:

    pip install scipy numpy
    python3 scripts/stats_reference_paired.py

Every case records its pairs (a[i], b[i]) (also as IEEE-754 bit patterns,
`a_bits` and `b_bits`, which the tests read) and, on d = ln(b / a) (math.log,
the C library's log, as Rust's f64::ln):

* `statistic`, `p_value`: scipy.stats.wilcoxon(d, zero_method="wilcox",
  correction=False) with the default method ("auto"); `method` is "exact"
  when auto picked the exact null distribution or (ties or zeros, n <= 13)
  the exact sign-flip permutation test, "approx" for the normal
  approximation; checked against an explicit call with that method.
* `median_ratio`: numpy median of b / a.
* `hl_log`: numpy median of the Walsh averages (d[i] + d[j]) / 2, i <= j
  (Hodges-Lehmann estimate of the log ratio), zeros included.
* `ci95_log`, `ci90_log`: [W(k), W(N+1-k)] of the N = n(n+1)/2 sorted Walsh
  averages, k the largest integer with 2 * P(T+ <= k-1) <= alpha under the
  exact null distribution of the signed-rank statistic T+ (scipy's own
  table), k = 1 when no k qualifies. The Rust side reports exp() of these.
"""

import json
import math
import pathlib
import struct

import numpy as np
import scipy
from scipy import stats
from scipy.stats._hypotests import _get_wilcoxon_distr  # exact null of T+

OUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "xtask"
    / "tests"
    / "fixtures"
    / "stats"
    / "paired.json"
)


def bits(x):
    """IEEE-754 bits of x: serde_json may read a decimal one ulp away, which
    could make equal ratios unequal (and change the ties) on the Rust side."""
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def auto_method(d):
    """scipy 1.17's rule for method='auto' (scipy/stats/_wilcoxon.py)."""
    nonzero = d[d != 0]
    ties = len(np.unique(np.abs(nonzero))) < len(nonzero)
    zeros = len(nonzero) < len(d)
    if len(d) > 50:
        return "approx", "asymptotic"
    if not (ties or zeros):
        return "exact", "exact"
    if len(d) <= 13:
        return "exact", stats.PermutationMethod()
    return "approx", "asymptotic"


def walsh_interval(d, alpha):
    n = len(d)
    walsh = np.sort([(d[i] + d[j]) / 2.0 for i in range(n) for j in range(i, n)])
    pmf = _get_wilcoxon_distr(n)
    big_n = walsh.size
    k = 0
    for cand in range(1, (big_n + 1) // 2 + 1):
        if 2.0 * float(np.sum(pmf[:cand])) <= alpha:
            k = cand
        else:
            break
    k = max(k, 1)
    return [float(walsh[k - 1]), float(walsh[big_n - k])], k, float(np.median(walsh))


def case(name, a, b, note):
    a = [float(v) for v in a]
    b = [float(v) for v in b]
    assert len(a) == len(b)
    d = np.array([math.log(y / x) for x, y in zip(a, b)])
    res = stats.wilcoxon(d, zero_method="wilcox", correction=False)
    method, scipy_method = auto_method(d)
    explicit = stats.wilcoxon(d, zero_method="wilcox", correction=False, method=scipy_method)
    assert float(explicit.pvalue) == float(res.pvalue), (name, method)
    ci95, k95, hl = walsh_interval(d, 0.05)
    ci90, k90, _ = walsh_interval(d, 0.10)
    return {
        "name": name,
        "note": note,
        "a": a,
        "b": b,
        "a_bits": [bits(v) for v in a],
        "b_bits": [bits(v) for v in b],
        "statistic": float(res.statistic),
        "p_value": float(res.pvalue),
        "method": method,
        "median_ratio": float(np.median(np.array(b) / np.array(a))),
        "hl_log": hl,
        "ci95_log": ci95,
        "ci95_k": k95,
        "ci90_log": ci90,
        "ci90_k": k90,
    }


def noisy_pairs(rng, n, base, shift, shared_sigma, own_sigma, decimals=6):
    """Interleaved runs: a slow drift and bursts shared by the two runs of a
    pair (the machine), plus each run's own noise, B `shift` slower."""
    shared = base * np.exp(rng.normal(0.0, shared_sigma, n))
    a = shared * np.exp(rng.normal(0.0, own_sigma, n))
    b = shared * (1.0 + shift) * np.exp(rng.normal(0.0, own_sigma, n))
    return np.round(a, decimals), np.round(b, decimals)


def main():
    rng = np.random.default_rng(20261202)
    cases = []

    cases.append(case("two_pairs", [1.0, 2.0], [1.1, 1.9],
                      "smallest input: exact p = 1, interval the range"))
    cases.append(case("three_pairs_all_slower", [1.0, 1.2, 0.9], [1.05, 1.3, 0.97],
                      "exact p = 0.25 at best with 3 pairs"))
    cases.append(case("six_pairs_all_slower", [1.0, 1.1, 0.95, 1.2, 1.05, 0.99],
                      [1.06, 1.16, 1.0, 1.27, 1.1, 1.05],
                      "first n where an interval reaches 95% (k = 1: the range, 96.9%)"))
    for n in [2, 3, 4, 5, 7, 8, 10, 12, 13, 14, 20, 30, 40, 50, 51, 60]:
        a, b = noisy_pairs(rng, n, 0.25, 0.03, 0.10, 0.02)
        cases.append(case(f"noisy_n{n}", a, b,
                          "3% slower, 10% shared noise, 2% own noise"))
    a, b = noisy_pairs(rng, 10, 0.25, 0.05, 0.20, 0.01)
    cases.append(case("shift5_n10_loaded_machine", a, b,
                      "5% slower, 20% shared (another job), 1% own noise"))
    a, b = noisy_pairs(rng, 20, 1.5, 0.05, 0.05, 0.015)
    cases.append(case("shift5_n20", a, b, "5% slower, realistic spread"))
    a, b = noisy_pairs(rng, 10, 0.25, 0.0, 0.10, 0.02)
    cases.append(case("aa_n10", a, b, "A/A: no change"))
    a, b = noisy_pairs(rng, 30, 0.25, -0.08, 0.05, 0.02)
    cases.append(case("speedup_n30", a, b, "8% faster"))

    cases.append(case("zero_n5", [1.0, 2.0, 3.0, 4.0, 5.0], [1.0, 2.2, 3.3, 4.1, 5.6],
                      "one equal pair: sign-flip permutation test"))
    cases.append(case("zeros_and_ties_n8",
                      [1.0, 1.0, 2.0, 2.0, 3.0, 1.0, 4.0, 5.0],
                      [1.0, 1.1, 2.2, 2.0, 3.3, 0.9, 4.4, 5.5],
                      "two zeros, equal ratios (ties in |d|)"))
    cases.append(case("ties_n13",
                      [0.1 * (i + 1) for i in range(13)],
                      [0.1 * (i + 1) * (1.1 if i % 3 else 0.9) for i in range(13)],
                      "many equal |d|: largest sign-flip case"))
    cases.append(case("ties_n14",
                      [0.1 * (i + 1) for i in range(14)],
                      [0.1 * (i + 1) * (1.1 if i % 3 else 0.9) for i in range(14)],
                      "ties past 13 pairs: normal approximation with tie correction"))
    ms_a = np.round(noisy_pairs(rng, 25, 120.0, 0.04, 0.05, 0.02)[0], 0)
    ms_b = np.round(ms_a * np.exp(rng.normal(0.04, 0.03, 25)), 0)
    cases.append(case("rounded_ms_n25", ms_a, ms_b,
                      "millisecond-rounded timings: zeros and ties, approximation"))
    cases.append(case("opposite_ties_n6", [1.0, 2.0, 1.0, 4.0, 1.0, 3.0],
                      [2.0, 1.0, 1.5, 5.0, 0.5, 3.5],
                      "ln 2 and ln 0.5: a tie across signs"))
    cases.append(case("all_equal_n4", [1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0],
                      "every pair equal: p = 1 from the sign flips"))
    a, b = noisy_pairs(rng, 12, 0.25, 0.0, 0.02, 0.02, decimals=2)
    cases.append(case("coarse_n12", a, b, "two-decimal timings, heavy ties"))

    doc = {
        "generator": "scripts/stats_reference_paired.py",
        "scipy_version": scipy.__version__,
        "numpy_version": np.__version__,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    by_method = {m: sum(c["method"] == m for c in cases) for m in ("exact", "approx")}
    print(f"wrote {len(cases)} cases to {OUT} ({by_method})")


if __name__ == "__main__":
    main()
