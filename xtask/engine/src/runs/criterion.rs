//! A criterion bench's timed runs: each run (warm-ups included) is one
//! analysed invocation of the bench, in a fresh `CRITERION_HOME`, and each
//! benchmark gives one estimate per invocation, criterion's own median time
//! per iteration of that invocation: the `criterion/ID` measure's sample of
//! that run.
//!
//! Why invocations and not criterion's samples: the hundred samples of one
//! invocation share that invocation's machine state (its frequency, its
//! neighbours, its code layout), so two invocations of identical code differ
//! by more than their samples say, and a test that took the samples for
//! independent runs calls nearly every such difference significant. The
//! invocations are the runs that are independent of each other; with
//! `--side` they are interleaved and paired like any other runs.
//!
//! criterion's own interval of each invocation's estimate is kept beside the
//! summaries ([`CriterionRuns`]), for reading. Between the run and its
//! record, the estimate's interval travels in the run's metrics under keys
//! of this module's own (no metric can be named so: a metric's name has no
//! `/`), and [`take_runs`] takes it out again.

use crate::config::Better;
use crate::runs::measure::{scratch_file, MeasureSummary, RunSample};
use crate::runs::process::Spec;
use crate::runs::workload::{Bench, Prepared};
use crate::tools::criterion;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Prefix of the measures made of criterion's own numbers: `criterion/ID`.
pub const PREFIX: &str = "criterion/";

/// What [`CriterionRuns::samples`] says of runs made here: each sample of a
/// `criterion/` measure is one invocation's estimate.
pub const INVOCATIONS: &str = "invocations";

/// Which of criterion's estimates an invocation gives.
pub const ESTIMATE: &str = "median";

/// Seconds an invocation measures each benchmark (at most `profile_time`):
/// short, since the verdict rests on several invocations, not on one long one.
const MEASUREMENT_S: f64 = 1.0;

/// Seconds of criterion's warm-up before each benchmark of an invocation.
const WARM_UP_S: f64 = 0.5;

/// The metric keys that carry an estimate's interval from the run to its
/// record (bounds in seconds, confidence level as a fraction).
const LOW: &str = "criterion-low/";
const HIGH: &str = "criterion-high/";
const LEVEL: &str = "criterion-level/";

/// The kind of a bench scale's `criterion/` samples, and criterion's own
/// interval of each invocation's estimate; stored as is in run.json (a
/// scale without it, from an older xtask, holds criterion's samples of a
/// single invocation instead).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionRuns {
    /// `invocations`: each sample of a `criterion/ID` measure is one
    /// analysed invocation's estimate, in run order.
    pub samples: String,
    /// Which of criterion's estimates each sample is (`median`: per iteration).
    pub estimate: String,
    /// Seconds each invocation measured each benchmark.
    pub measurement_s: f64,
    /// Per benchmark id, criterion's own interval of each invocation's
    /// estimate, in run order: for reading (the verdicts rest on the
    /// estimates across invocations).
    pub intervals: BTreeMap<String, Vec<Interval>>,
}

impl CriterionRuns {
    /// Whether the `criterion/` samples are one estimate per invocation.
    pub fn are_invocations(runs: Option<&CriterionRuns>) -> bool {
        runs.is_some_and(|r| r.samples == INVOCATIONS)
    }
}

/// criterion's estimate of one invocation, with its interval, in seconds.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub estimate_s: f64,
    pub low_s: f64,
    pub high_s: f64,
    /// The interval's confidence level (0.95).
    pub confidence: f64,
}

/// Seconds an invocation measures each benchmark, and its warm-up.
pub fn invocation_times(bench: &Bench) -> (f64, f64) {
    let measurement_s = bench.measurement_s.min(MEASUREMENT_S);
    (measurement_s, WARM_UP_S.min(measurement_s / 2.0))
}

/// One analysed invocation being run: its scratch `CRITERION_HOME`,
/// removed when dropped, whatever became of the run.
pub struct Invocation {
    home: PathBuf,
}

impl Invocation {
    /// An invocation of `prepared`'s bench, with its spec: criterion's
    /// analysis with short times, the filter and the workload's own args, a
    /// home of its own so that only this invocation's benchmarks are read.
    pub fn start(prepared: &Prepared, bench: &Bench) -> (Invocation, Spec) {
        let home = scratch_file("criterion");
        let (measurement_s, warm_up_s) = invocation_times(bench);
        let mut spec = prepared.spec();
        spec.args = criterion::analysed_args(warm_up_s, measurement_s, bench.filter.as_deref());
        spec.args.extend(bench.extra_args.iter().cloned());
        spec.env
            .push((criterion::HOME_VAR.into(), home.display().to_string()));
        (Invocation { home }, spec)
    }

    /// Adds this invocation's estimates (and their intervals) to the run's
    /// metrics; an error when criterion wrote none or a broken one.
    pub fn read_into(&self, sample: &mut RunSample) -> Result<(), String> {
        let benchmarks = criterion::read_home(&self.home)?;
        if benchmarks.is_empty() {
            return Err("criterion measured no benchmark: does the filter match any?".into());
        }
        for b in benchmarks {
            let median = b.median;
            let interval = median.confidence_interval;
            for (prefix, value) in [
                (PREFIX, median.point_estimate * 1e-9),
                (LOW, interval.lower_bound * 1e-9),
                (HIGH, interval.upper_bound * 1e-9),
                (LEVEL, interval.confidence_level),
            ] {
                sample.metrics.insert(format!("{prefix}{}", b.id), value);
            }
        }
        Ok(())
    }
}

impl Drop for Invocation {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.home);
    }
}

/// Takes the intervals out of the runs' metrics (each run keeps its
/// estimates, `criterion/ID`), into the scale's record of them. None when
/// the runs are not a bench's.
pub fn take_runs(samples: &mut [RunSample], bench: Option<&Bench>) -> Option<CriterionRuns> {
    let bench = bench?;
    let mut intervals: BTreeMap<String, Vec<Interval>> = BTreeMap::new();
    for sample in samples.iter_mut() {
        let ids: Vec<String> = sample
            .metrics
            .keys()
            .filter_map(|k| k.strip_prefix(PREFIX).map(str::to_string))
            .collect();
        for id in ids {
            let mut take = |prefix: &str| sample.metrics.remove(&format!("{prefix}{id}"));
            let (Some(low_s), Some(high_s), Some(confidence)) =
                (take(LOW), take(HIGH), take(LEVEL))
            else {
                continue;
            };
            intervals.entry(id.clone()).or_default().push(Interval {
                estimate_s: sample.metrics[&format!("{PREFIX}{id}")],
                low_s,
                high_s,
                confidence,
            });
        }
    }
    Some(CriterionRuns {
        samples: INVOCATIONS.into(),
        estimate: ESTIMATE.into(),
        measurement_s: invocation_times(bench).0,
        intervals,
    })
}

/// The benchmarks as measures: `criterion/ID`, seconds per iteration, one
/// sample per run (its invocation's estimate), in run order.
pub fn measures(samples: &[RunSample]) -> BTreeMap<String, MeasureSummary> {
    let mut estimates: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for sample in samples {
        for (name, value) in &sample.metrics {
            if name.starts_with(PREFIX) {
                estimates.entry(name).or_default().push(*value);
            }
        }
    }
    estimates
        .into_iter()
        .filter_map(|(name, samples)| {
            let summary = crate::stats::summarize(&samples)?;
            Some((
                name.to_string(),
                MeasureSummary {
                    unit: "s".into(),
                    better: Better::Lower,
                    samples,
                    summary,
                },
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    fn fixture_home() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion")
    }

    fn bench(measurement_s: f64) -> Bench {
        Bench {
            measurement_s,
            filter: Some("generate".into()),
            extra_args: vec!["--verbose".into()],
        }
    }

    fn run() -> RunSample {
        let prepared = Prepared::for_test("/bin/true", &[], Path::new("/"));
        let outcome = crate::runs::process::run(prepared.spec()).unwrap();
        crate::runs::measure::sample_of(&outcome, &prepared).unwrap()
    }

    #[test]
    fn an_invocation_is_analysed_briefly_in_a_home_of_its_own() {
        let prepared = Prepared::for_test(
            "/bin/bench",
            &["--bench", "--profile-time", "3"],
            Path::new("/"),
        );
        let (first, spec) = Invocation::start(&prepared, &bench(3.0));
        let args: Vec<String> = spec
            .args
            .iter()
            .map(|a| a.to_string_lossy().into())
            .collect();
        assert_eq!(
            args,
            [
                "--bench",
                "--warm-up-time",
                "0.5",
                "--measurement-time",
                "1",
                "--noplot",
                "generate",
                "--verbose"
            ]
        );
        let home = |spec: &Spec| {
            spec.env
                .iter()
                .find(|(k, _)| k == criterion::HOME_VAR)
                .unwrap()
                .1
                .clone()
        };
        let (second, other) = Invocation::start(&prepared, &bench(0.2));
        assert_ne!(home(&spec), home(&other), "one home per invocation");
        assert_eq!(
            invocation_times(&bench(0.2)),
            (0.2, 0.1),
            "never longer than profile_time"
        );
        let dir = PathBuf::from(home(&spec));
        std::fs::create_dir_all(&dir).unwrap();
        drop((first, second));
        assert!(!dir.exists(), "the home is removed with the invocation");
    }

    /// One run's estimates, read from criterion's own files: the median per
    /// iteration of `estimates.json`, in seconds, with its interval.
    #[test]
    fn each_run_gives_one_estimate_per_benchmark_and_its_interval() {
        let invocation = Invocation {
            home: scratch_file("criterion-test"),
        };
        let copy = |to: &Path| {
            let new = to.join("generate_200_subs/new");
            std::fs::create_dir_all(&new).unwrap();
            for file in ["benchmark.json", "estimates.json", "sample.json"] {
                std::fs::copy(
                    fixture_home().join("generate_200_subs/new").join(file),
                    new.join(file),
                )
                .unwrap();
            }
        };
        copy(&invocation.home);
        let mut samples = vec![run(), run()];
        for sample in &mut samples {
            invocation.read_into(sample).unwrap();
        }
        assert_eq!(
            samples[0].metrics["criterion/generate_200_subs"],
            4874377.0e-9
        );
        let summaries = measures(&samples);
        assert_eq!(
            summaries["criterion/generate_200_subs"].samples.len(),
            2,
            "one per run"
        );
        let runs = take_runs(&mut samples, Some(&bench(3.0))).unwrap();
        assert_eq!(runs.samples, INVOCATIONS);
        assert_eq!(runs.measurement_s, 1.0);
        let intervals = &runs.intervals["generate_200_subs"];
        assert_eq!(intervals.len(), 2);
        assert_eq!(intervals[0].estimate_s, 4874377.0e-9);
        assert!(
            intervals[0].low_s < intervals[0].estimate_s
                && intervals[0].estimate_s < intervals[0].high_s
        );
        assert_eq!(intervals[0].confidence, 0.95);
        // The intervals leave the runs' metrics; the estimates stay.
        assert_eq!(
            samples[0].metrics.keys().collect::<Vec<_>>(),
            ["criterion/generate_200_subs"]
        );
        assert_eq!(measures(&samples), summaries);
        assert!(take_runs(&mut samples, None).is_none());

        let empty = Invocation {
            home: scratch_file("criterion-empty"),
        };
        std::fs::create_dir_all(&empty.home).unwrap();
        let error = empty.read_into(&mut run()).unwrap_err();
        assert!(error.contains("no benchmark"), "{error}");
    }
}
