//! criterion (the benchmark harness): the arguments of an analysed run of a
//! bench target and what it writes, `<CRITERION_HOME>/<benchmark directory>/
//! new/{benchmark,estimates,sample}.json`: the benchmark's id, criterion's
//! estimates (nanoseconds per iteration) and its samples (each a number of
//! iterations and their total time in nanoseconds).

use serde::Deserialize;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// criterion reads its output directory from this variable (cargo-criterion
/// sets it too): a fresh one per run holds only the benchmarks of that run.
pub const HOME_VAR: &str = "CRITERION_HOME";

/// Arguments of a bench executable for one analysed criterion run: `--bench`,
/// warm-up and measurement seconds, no plots, then the filter.
pub fn analysed_args(warm_up_s: f64, measurement_s: f64, filter: Option<&str>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        "--bench".into(),
        "--warm-up-time".into(),
        format!("{warm_up_s}").into(),
        "--measurement-time".into(),
        format!("{measurement_s}").into(),
        "--noplot".into(),
    ];
    args.extend(filter.map(OsString::from));
    args
}

/// Arguments that list the benchmarks a filter selects (`ID: benchmark`
/// lines), without running them.
pub fn list_args(filter: Option<&str>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["--bench".into(), "--list".into()];
    args.extend(filter.map(OsString::from));
    args
}

/// Parses `--list` output: the id before `: benchmark` on each line.
pub fn parse_list(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| l.trim_end().strip_suffix(": benchmark"))
        .map(str::to_string)
        .collect()
}

/// Arguments that run one benchmark, exactly `id`, under the profiler hook.
pub fn profile_one_args(profile_s: f64, id: &str) -> Vec<OsString> {
    [
        "--bench".to_string(),
        "--profile-time".into(),
        format!("{profile_s}"),
        "--exact".into(),
        id.into(),
    ]
    .map(OsString::from)
    .into()
}

/// A directory name for a benchmark id (ids may hold `/` and spaces).
pub fn dir_name(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// One benchmark's results.
#[derive(Debug, Clone, PartialEq)]
pub struct Benchmark {
    /// `group/function/value`, as criterion prints it.
    pub id: String,
    /// Nanoseconds per iteration of each sample (time / iterations).
    pub per_iteration_ns: Vec<f64>,
    pub mean: Estimate,
    pub median: Estimate,
    /// The linear regression's slope (linear sampling only).
    pub slope: Option<Estimate>,
}

/// A criterion estimate, nanoseconds per iteration, with its interval.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Estimate {
    pub point_estimate: f64,
    pub confidence_interval: Interval,
}

#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct Interval {
    pub confidence_level: f64,
    pub lower_bound: f64,
    pub upper_bound: f64,
}

#[derive(Deserialize)]
struct BenchmarkFile {
    full_id: String,
}

#[derive(Deserialize)]
struct EstimatesFile {
    mean: Estimate,
    median: Estimate,
    slope: Option<Estimate>,
}

#[derive(Deserialize)]
struct SampleFile {
    iters: Vec<f64>,
    times: Vec<f64>,
}

/// Reads one benchmark from its `new/` directory.
pub fn read_benchmark(new_dir: &Path) -> Result<Benchmark, String> {
    fn read<T: for<'de> Deserialize<'de>>(path: &Path) -> Result<T, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        serde_json::from_str(&text).map_err(|e| {
            format!(
                "{}:{}:{}: {e} (is this criterion's output?)",
                path.display(),
                e.line(),
                e.column()
            )
        })
    }
    let benchmark: BenchmarkFile = read(&new_dir.join("benchmark.json"))?;
    let estimates: EstimatesFile = read(&new_dir.join("estimates.json"))?;
    let sample: SampleFile = read(&new_dir.join("sample.json"))?;
    let sample_path = new_dir.join("sample.json");
    if sample.iters.len() != sample.times.len() || sample.iters.is_empty() {
        return Err(format!(
            "{}: {} iteration counts for {} times",
            sample_path.display(),
            sample.iters.len(),
            sample.times.len()
        ));
    }
    let per_iteration_ns = sample
        .iters
        .iter()
        .zip(&sample.times)
        .map(|(iters, time)| {
            if *iters > 0.0 {
                Ok(time / iters)
            } else {
                Err(format!(
                    "{}: a sample of 0 iterations",
                    sample_path.display()
                ))
            }
        })
        .collect::<Result<_, _>>()?;
    Ok(Benchmark {
        id: benchmark.full_id,
        per_iteration_ns,
        mean: estimates.mean,
        median: estimates.median,
        slope: estimates.slope,
    })
}

/// Every benchmark under a criterion home, in id order: each `new/` directory
/// holding a `benchmark.json` (criterion also writes `base/` copies and
/// `report/` pages, which are skipped).
pub fn read_home(home: &Path) -> Result<Vec<Benchmark>, String> {
    let mut dirs = Vec::new();
    find_new_dirs(home, &mut dirs)?;
    let mut benchmarks = dirs
        .iter()
        .map(|d| read_benchmark(d))
        .collect::<Result<Vec<_>, _>>()?;
    benchmarks.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(benchmarks)
}

fn find_new_dirs(dir: &Path, found: &mut Vec<PathBuf>) -> Result<(), String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    for entry in entries.flatten() {
        let path = entry.path();
        if !entry.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        if entry.file_name() == "new" && path.join("benchmark.json").is_file() {
            found.push(path);
        } else if entry.file_name() != "base" && entry.file_name() != "report" {
            find_new_dirs(&path, found)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixtures() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion")
    }

    #[test]
    fn a_benchmark_of_the_demo_bench() {
        let home = fixtures();
        let benchmarks = read_home(&home).unwrap();
        assert_eq!(benchmarks.len(), 1);
        let b = &benchmarks[0];
        assert_eq!(b.id, "generate_200_subs");
        assert_eq!(b.per_iteration_ns.len(), 100);
        assert_eq!(b.mean.point_estimate, 5283371.75);
        assert_eq!(b.median.point_estimate, 4874377.0);
        assert_eq!(b.mean.confidence_interval.confidence_level, 0.95);
        assert_eq!(b.slope, None, "flat sampling has no slope");
        // Flat sampling: 2 iterations per sample; per-iteration times lie
        // around criterion's own mean.
        let mean = b.per_iteration_ns.iter().sum::<f64>() / 100.0;
        assert!((mean - b.mean.point_estimate).abs() < 1.0, "{mean}");
    }

    #[test]
    fn a_broken_file_is_named_with_its_line_and_column() {
        let dir = std::env::temp_dir().join(format!("criterion-broken-{}", std::process::id()));
        let new = dir.join("x").join("new");
        std::fs::create_dir_all(&new).unwrap();
        for file in ["benchmark.json", "estimates.json"] {
            std::fs::copy(
                fixtures().join("generate_200_subs/new").join(file),
                new.join(file),
            )
            .unwrap();
        }
        std::fs::write(
            new.join("sample.json"),
            "{\"iters\": [1.0],\n \"times\": [oops]}",
        )
        .unwrap();
        let error = read_home(&dir).unwrap_err();
        assert!(error.contains("sample.json:2:"), "{error}");
        std::fs::write(
            new.join("sample.json"),
            "{\"iters\": [1.0, 2.0], \"times\": [3.0]}",
        )
        .unwrap();
        let error = read_home(&dir).unwrap_err();
        assert!(error.contains("2 iteration counts for 1 times"), "{error}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_list_of_the_demo_bench() {
        // `generate --bench --list generate`, as criterion 0.8 prints it.
        let text = "generate_200_subs: benchmark\n\ngenerate_200_subs_slowdown: benchmark\n\n";
        assert_eq!(
            parse_list(text),
            ["generate_200_subs", "generate_200_subs_slowdown"]
        );
        assert_eq!(dir_name("group/f 1"), "group_f_1");
        assert_eq!(
            profile_one_args(3.0, "g/x"),
            ["--bench", "--profile-time", "3", "--exact", "g/x"].map(OsString::from)
        );
    }

    #[test]
    fn an_analysed_run_has_short_warm_up_and_measurement_and_no_plots() {
        assert_eq!(
            analysed_args(1.0, 3.0, Some("generate")),
            [
                "--bench",
                "--warm-up-time",
                "1",
                "--measurement-time",
                "3",
                "--noplot",
                "generate"
            ]
            .map(OsString::from)
        );
    }
}
