//! The bounds of every count in `profiling.toml` and on the command line.
//! Each is far beyond any value given on purpose, so that a slip
//! (`runs = 1000000000`) is an error before anything runs rather than an
//! allocation failure or a task that never ends. One definition each: the
//! checks of loading and the value parsers of the flags that override a
//! config value (or count anything else) both use these.

use std::fmt;

/// A whole number's allowed range, and what it counts (for errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bound {
    /// What the number counts, in the plural: "measured runs".
    pub what: &'static str,
    pub min: u64,
    pub max: u64,
}

pub const RUNS: Bound = Bound {
    what: "measured runs",
    min: 1,
    max: 10_000,
};
/// `profile-compare --runs`: 0 is allowed there, for exact instruction
/// counts alone (`--counter instructions`).
pub const SIDE_RUNS: Bound = Bound {
    what: "measured runs a side",
    min: 0,
    max: RUNS.max,
};
pub const PROFILE_RUNS: Bound = Bound {
    what: "profiled runs a side",
    min: 1,
    max: 100,
};
pub const WARMUP: Bound = Bound {
    what: "warm-up runs",
    min: 0,
    max: 1_000,
};
pub const KEEP: Bound = Bound {
    what: "results to keep",
    min: 0,
    max: 100_000,
};
pub const ANNOTATE: Bound = Bound {
    what: "functions to annotate",
    min: 0,
    max: 100,
};
/// Each event is one more profiled run.
pub const EVENTS: Bound = Bound {
    what: "events",
    min: 0,
    max: 32,
};
/// `--scale all` runs every one.
pub const SCALES: Bound = Bound {
    what: "scales",
    min: 0,
    max: 100,
};
/// `--last N` of `trends` and `report`: 0 would select nothing.
pub const LAST: Bound = Bound {
    what: "results",
    min: 1,
    max: 100_000,
};
/// `--top N`: functions or allocation sites listed.
pub const TOP: Bound = Bound {
    what: "entries listed",
    min: 1,
    max: 1_000,
};
/// `bench-self --rounds`.
pub const ROUNDS: Bound = Bound {
    what: "rounds",
    min: 1,
    max: 1_000,
};
/// `bench-verdicts --repeats` and `--instruction-repeats`.
pub const REPEATS: Bound = Bound {
    what: "comparisons",
    min: 1,
    max: 1_000,
};
/// `bench-verdicts --pairs`: a comparison needs two runs a side.
pub const PAIRS: Bound = Bound {
    what: "runs a side",
    min: 2,
    max: RUNS.max,
};

/// The longest timeout or duration in seconds (about 31 years): still a
/// `Duration` after the factors the slow tools get.
pub const MAX_SECONDS: f64 = 1e9;

/// The longest `drain` (and `--drain`), in seconds: what a server does
/// after its load is profiled for minutes, not for a run's whole timeout.
pub const MAX_DRAIN_S: f64 = 3600.0;

/// `--drain SECONDS`: from 0 to [`MAX_DRAIN_S`].
pub fn drain(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && (0.0..=MAX_DRAIN_S).contains(&seconds) => Ok(seconds),
        _ => Err(format!(
            "expected seconds from 0 to {MAX_DRAIN_S}, like 2 or 0.5"
        )),
    }
}

/// `bench-verdicts --extra-pct`: how much more work B does, in percent.
pub const MAX_EXTRA_PCT: f64 = 1_000.0;

impl fmt::Display for Bound {
    /// "from 1 to 10000".
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "from {} to {}", self.min, self.max)
    }
}

impl Bound {
    pub fn contains(&self, n: u64) -> bool {
        (self.min..=self.max).contains(&n)
    }

    /// A flag's value: a whole number within the bound.
    pub fn parse<T: TryFrom<u64>>(&self, text: &str) -> Result<T, String> {
        let n: u64 = text
            .trim()
            .parse()
            .map_err(|_| format!("`{text}` is not a whole number {self}"))?;
        if !self.contains(n) {
            return Err(format!("{n} is out of range: {} are {self}", self.what));
        }
        // Every bound's maximum fits the flag's type.
        T::try_from(n).map_err(|_| format!("{n} is out of range: {} are {self}", self.what))
    }
}

/// `--runs N`: as `defaults.runs`.
pub fn runs(text: &str) -> Result<u32, String> {
    RUNS.parse(text)
}

/// `profile-compare --runs N`: as `defaults.runs`, or 0 with `--counter
/// instructions`.
pub fn side_runs(text: &str) -> Result<u32, String> {
    SIDE_RUNS.parse(text)
}

/// `profile-compare --profile-runs N`.
pub fn profile_runs(text: &str) -> Result<u32, String> {
    PROFILE_RUNS.parse(text)
}

/// `--warmup N`: as `defaults.warmup`.
pub fn warmup(text: &str) -> Result<u32, String> {
    WARMUP.parse(text)
}

/// `cleanup --keep N`: as `defaults.keep`.
pub fn keep(text: &str) -> Result<usize, String> {
    KEEP.parse(text)
}

pub fn last(text: &str) -> Result<usize, String> {
    LAST.parse(text)
}

pub fn top(text: &str) -> Result<usize, String> {
    TOP.parse(text)
}

pub fn rounds(text: &str) -> Result<u32, String> {
    ROUNDS.parse(text)
}

pub fn repeats(text: &str) -> Result<u32, String> {
    REPEATS.parse(text)
}

pub fn pairs(text: &str) -> Result<u32, String> {
    PAIRS.parse(text)
}

/// `bench-verdicts --extra-pct`: more than 0, at most [`MAX_EXTRA_PCT`].
pub fn extra_pct(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(pct) if pct.is_finite() && pct > 0.0 && pct <= MAX_EXTRA_PCT => Ok(pct),
        _ => Err(format!(
            "`{text}` is not a percentage more than 0 and at most {MAX_EXTRA_PCT}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flag_values_are_bounded_with_the_bound_in_the_error() {
        assert_eq!(runs("5"), Ok(5));
        assert_eq!(runs("10000"), Ok(10_000));
        assert_eq!(
            runs("100000000").unwrap_err(),
            "100000000 is out of range: measured runs are from 1 to 10000"
        );
        assert!(runs("0").unwrap_err().contains("from 1 to 10000"));
        assert!(runs("-1").unwrap_err().contains("not a whole number"));
        assert!(runs("99999999999999999999").is_err());
        assert_eq!(warmup("0"), Ok(0));
        assert!(warmup("1001").is_err());
        assert_eq!(keep("0"), Ok(0));
        assert!(keep("100001").is_err());
        assert!(last("0")
            .unwrap_err()
            .contains("results are from 1 to 100000"));
        assert!(top("0").is_err());
        assert!(rounds("1001").is_err());
        assert!(repeats("0").is_err());
        assert!(pairs("1").is_err());
        assert_eq!(extra_pct("5"), Ok(5.0));
        for bad in ["0", "-1", "nan", "inf", "1e6"] {
            assert!(extra_pct(bad).is_err(), "{bad}");
        }
    }
}
