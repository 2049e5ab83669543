#!/usr/bin/env python3
"""Generate xtask/engine/tests/fixtures/stats/change_points.json.

The change-point search in xtask/engine/src/stats/change_points.rs (`cargo xtask
trends`) is checked against these values by the unit tests in that file.
The reference is MongoDB's E-divisive implementation, the PyPI package
signal-processing-algorithms (what MongoDB's performance CI runs). Re-run
after changing the cases:

    pip install signal-processing-algorithms scipy numpy
    python3 scripts/stats_reference_change_points.py

Every case records its series (also as IEEE-754 bits, `series_bits`, which
the tests read: serde_json may read a decimal one ulp away) and:

* `q`: the package's energy statistic of every split tau = 0..n of the whole
  series (`calculate_t_values` on `calculate_distance_matrix`, its C
  extension), the numbers the search maximises.
* `change_points`: the package's algorithm with the two rules the Rust side
  adds, run here with the package's own statistic: no segment shorter than
  `min_segment` (3) is split off, and the permutation p-value is
  (1 + #{shuffled >= observed}) / (permutations + 1) as in the paper's `ecp`
  package (the package itself reports #{...} / (permutations + 1)). With
  `permutations` (2000) shuffles, each change point has its `index` and `p`;
  `stopped_at` is the first candidate that was not significant (index, p),
  or null when no segment could be split further; `first_candidate` is the
  best split of the whole series and its p, whatever the decision.
* `package_change_points`: the package's own `e_divisive(series,
  pvalue=alpha, permutations=199)` (numpy's global generator seeded with 0),
  for the record; for cases marked `decisive` (every kept p <= 0.01 and the
  stopping p >= 0.15, so the tests' 499 shuffles cannot change the decisions) the
  script asserts it finds the same change points.
"""

import json
import pathlib
import struct

import numpy as np
from signal_processing_algorithms.energy_statistics import energy_statistics as es
from signal_processing_algorithms.energy_statistics.cext_calculator import C_EXTENSION_LOADED
import signal_processing_algorithms

OUT = (
    pathlib.Path(__file__).resolve().parent.parent
    / "xtask"
    / "tests"
    / "fixtures"
    / "stats"
    / "change_points.json"
)

ALPHA = 0.05
MIN_SEGMENT = 3
PERMUTATIONS = 2000


def bits(x):
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def split_statistics(distances):
    return es._calculate_t_stats(distances)


def best_split(q, m):
    allowed = q[MIN_SEGMENT:m - MIN_SEGMENT + 1]
    tau = MIN_SEGMENT + int(np.argmax(allowed))
    return tau, float(q[tau])


def e_divisive_reference(series, rng):
    n = len(series)
    distances = es._get_distance_matrix(es._convert(series))
    found = []
    stopped_at = None
    while True:
        bounds = [0] + sorted(i for i, _ in found) + [n]
        windows = [(a, b) for a, b in zip(bounds, bounds[1:]) if b - a >= 2 * MIN_SEGMENT]
        best = None
        for a, b in windows:
            tau, q = best_split(split_statistics(distances[a:b, a:b]), b - a)
            if best is None or q > best[1]:
                best = (a + tau, q)
        if best is None:
            break
        threshold = best[1] - 1e-12 * abs(best[1])
        over = 0
        for _ in range(PERMUTATIONS):
            top = -np.inf
            for a, b in windows:
                idx = rng.permutation(b - a) + a
                _, q = best_split(split_statistics(distances[np.ix_(idx, idx)]), b - a)
                top = max(top, q)
            over += top >= threshold
        p = (1 + over) / (PERMUTATIONS + 1)
        if p > ALPHA:
            stopped_at = {"index": best[0], "p": p}
            break
        found.append((best[0], p))
    first = found[0] if found else (stopped_at["index"], stopped_at["p"]) if stopped_at else None
    found.sort()
    first = {"index": first[0], "p": first[1]} if first else None
    return [{"index": i, "p": p} for i, p in found], stopped_at, first


def case(name, series, note, rng):
    series = [float(v) for v in series]
    distances = es._get_distance_matrix(es._convert(series))
    q = split_statistics(distances)
    pure = es._calculate_t_stats(distances, use_c_if_possible=False)
    assert np.allclose(q, pure, rtol=1e-9, atol=1e-12), name
    found, stopped_at, first = e_divisive_reference(series, rng)
    np.random.seed(0)
    package = sorted(int(i) for i in es.e_divisive(series, pvalue=ALPHA, permutations=199))
    decisive = all(c["p"] <= 0.01 for c in found) and (
        stopped_at is None or stopped_at["p"] >= 0.15)
    if decisive:
        assert package == [c["index"] for c in found], (name, package, found)
    print(f"{name}: {[(c['index'], round(c['p'], 4)) for c in found]} "
          f"stopped at {stopped_at} package {package} decisive {decisive}")
    return {
        "name": name,
        "note": note,
        "series": series,
        "series_bits": [bits(v) for v in series],
        "q": [float(v) for v in q],
        "change_points": found,
        "stopped_at": stopped_at,
        "first_candidate": first,
        "package_change_points": package,
        "decisive": decisive,
    }


def noisy(rng, levels, sigma, decimals=6):
    """Timings: each (length, level) block with log-normal noise."""
    x = np.concatenate([level * np.exp(rng.normal(0.0, sigma, length))
                        for length, level in levels])
    return np.round(x, decimals)


def main():
    assert C_EXTENSION_LOADED, "the package's C extension is the reference"
    data = np.random.default_rng(20261203)
    perm = np.random.default_rng(7)
    cases = []
    cases.append(case("flat_30", noisy(data, [(30, 1.0)], 0.02),
                      "no change, 2% noise", perm))
    cases.append(case("step10_at15_of30", noisy(data, [(15, 1.0), (15, 1.1)], 0.02),
                      "10% slower from index 15", perm))
    cases.append(case("step5_at30_of50", noisy(data, [(30, 0.25), (20, 0.2625)], 0.015),
                      "5% slower from index 30, 1.5% noise", perm))
    cases.append(case("two_steps_60", noisy(data, [(20, 1.0), (20, 1.1), (20, 1.02)], 0.02),
                      "+10% at 20, back down 7% at 40", perm))
    spike = noisy(data, [(40, 2.0)], 0.02)
    spike[20] *= 1.4
    cases.append(case("one_outlier_40", spike, "one run 40% slower: not a shift", perm))
    cases.append(case("spread_change_40",
                      np.concatenate([noisy(data, [(20, 1.0)], 0.005),
                                      noisy(data, [(20, 1.0)], 0.08)]),
                      "same level, spread 0.5% then 8% (energy statistics see it)", perm))
    cases.append(case("drift_40", np.round(np.linspace(1.0, 1.1, 40) *
                                           np.exp(data.normal(0.0, 0.01, 40)), 6),
                      "slow drift of 10% over 40 results", perm))
    cases.append(case("six_points", [1.0, 1.01, 0.99, 1.2, 1.21, 1.19],
                      "the smallest splittable series: one split allowed", perm))
    cases.append(case("rounded_ms_45",
                      np.round(noisy(data, [(25, 120.0), (20, 126.0)], 0.01), 0),
                      "millisecond-rounded, 5% at 25, many ties", perm))
    cases.append(case("flat_100", noisy(data, [(100, 0.5)], 0.05),
                      "no change, 5% noise, 100 results", perm))

    doc = {
        "generator": "scripts/stats_reference_change_points.py",
        "package": "signal-processing-algorithms "
                   + getattr(signal_processing_algorithms, "__version__", "2.1.6"),
        "numpy_version": np.__version__,
        "alpha": ALPHA,
        "min_segment": MIN_SEGMENT,
        "permutations": PERMUTATIONS,
        "cases": cases,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(doc, indent=1, allow_nan=False) + "\n")
    print(f"wrote {len(cases)} cases to {OUT}")


if __name__ == "__main__":
    main()
