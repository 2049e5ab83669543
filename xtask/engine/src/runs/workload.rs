//! From a declared workload and parameter values to a ready-to-run program:
//! built (for cargo targets), placeholders expanded, argv and environment
//! exactly as they will be executed.

use crate::config::{self, Config, Metric, Target, Workload};
use crate::runs::process::{RunFor, Spec};
use anyhow::{anyhow, Context};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

/// A workload ready to run.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub name: String,
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: BTreeMap<String, String>,
    pub cwd: PathBuf,
    pub timeout: Duration,
    pub metrics: Vec<Metric>,
    /// Run for this long and then stop on purpose (`run_for`, `--run-for`).
    pub run_for: Option<Duration>,
    /// The first signal of that stop (`stop_signal`, SIGINT by default).
    pub stop_signal: i32,
    /// What will make its profiles poor (no debug info, stripped), for the
    /// task to show before it runs.
    pub warnings: Vec<String>,
    /// Count timed runs with perf stat (set by the tasks that time runs).
    pub counters: Option<crate::runs::measure::Counting>,
    /// A criterion bench: how to run it analysed (its own statistics).
    pub bench: Option<Bench>,
    /// A server's load: how it counts its operations (`ops`).
    pub ops: Option<config::operations::OpsSource>,
}

/// A criterion bench's settings, for a run with criterion's analysis (the
/// timed and profiled runs use its profiler hook, which analyses nothing).
#[derive(Debug, Clone, PartialEq)]
pub struct Bench {
    /// Seconds each benchmark is measured (`profile_time`).
    pub measurement_s: f64,
    /// The benchmark filter, expanded.
    pub filter: Option<String>,
    /// The workload's own `args`, after the filter.
    pub extra_args: Vec<OsString>,
}

impl Prepared {
    /// `program ARGS` in `cwd`, with no metrics, limits or extras.
    #[cfg(test)]
    pub fn for_test(program: impl Into<PathBuf>, args: &[&str], cwd: &std::path::Path) -> Prepared {
        let program: PathBuf = program.into();
        Prepared {
            name: program
                .file_name()
                .map_or_else(String::new, |n| n.to_string_lossy().into()),
            program,
            args: args.iter().map(OsString::from).collect(),
            env: Default::default(),
            cwd: cwd.to_path_buf(),
            timeout: Duration::from_secs(120),
            metrics: Vec::new(),
            run_for: None,
            stop_signal: libc::SIGINT,
            warnings: Vec::new(),
            counters: None,
            bench: None,
            ops: None,
        }
    }

    pub fn spec(&self) -> Spec {
        Spec {
            program: self.program.clone(),
            args: self.args.clone(),
            env: self.env.clone().into_iter().collect(),
            cwd: Some(self.cwd.clone()),
            timeout: Some(self.timeout),
            watch: self
                .metrics
                .iter()
                .map(|m| metric_prefix(&m.pattern).to_string())
                .collect(),
            run_for: self.run_for.map(|duration| RunFor {
                duration,
                signal: self.stop_signal,
                grace: STOP_GRACE,
            }),
            // Under a wrapper (perf, heaptrack) the program gets the stop
            // signals, and the wrapper finishes its data when it ends.
            stop_target: Some(self.program.clone()),
            ..Spec::default()
        }
    }

    /// argv as strings, program first, for run.json.
    pub fn argv(&self) -> Vec<String> {
        self.spec().argv()
    }
}

/// How long a program stopped on purpose gets after each signal before the
/// next, harder one (SIGTERM, then SIGKILL).
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// Builds (if needed) and expands a workload.
pub fn prepare(
    config: &Config,
    name: &str,
    workload: &Workload,
    values: &BTreeMap<String, String>,
) -> anyhow::Result<Prepared> {
    let expand =
        |text: &str| config::expand(text, values).map_err(|e| anyhow!("workload `{name}`: {e}"));
    let target = workload.target();
    let mut warnings = Vec::new();
    let program = program_of(config, name, workload, &expand, &mut warnings)?;
    let mut args: Vec<OsString> = Vec::new();
    let mut extra_args: Vec<OsString> = Vec::new();
    for arg in &workload.args {
        extra_args.push(expand(arg.get_ref())?.into());
    }
    let mut bench = None;
    if let Target::Bench(_) = target {
        // criterion's profiler hook: run each benchmark for a fixed time, no analysis.
        let measurement_s = workload.profile_time.unwrap_or(5.0);
        args.push("--bench".into());
        args.push("--profile-time".into());
        args.push(format!("{measurement_s}").into());
        let filter = match &workload.filter {
            Some(filter) => Some(expand(filter.get_ref())?),
            None => None,
        };
        args.extend(filter.clone().map(OsString::from));
        bench = Some(Bench {
            measurement_s,
            filter,
            extra_args: extra_args.clone(),
        });
    }
    args.extend(extra_args);
    let mut env = BTreeMap::new();
    for (key, value) in &workload.env {
        env.insert(key.clone(), expand(value.get_ref())?);
    }
    let cwd = match &workload.cwd {
        Some(dir) => config.root.join(expand(dir.get_ref())?),
        None => config.root.clone(),
    };
    // Checked here too (loading checks a `cwd` without placeholders): else
    // the spawn's "No such file or directory" reads as the program missing.
    if !cwd.is_dir() {
        anyhow::bail!(
            "workload `{name}`: the working directory {} does not exist (`cwd` is relative to the directory of {})",
            cwd.display(),
            config.path.display()
        );
    }
    Ok(Prepared {
        name: name.to_string(),
        program,
        args,
        env,
        cwd,
        timeout: Duration::from_secs_f64(
            workload
                .timeout
                .unwrap_or(config.defaults.timeout)
                .clamp(0.001, 1e9),
        ),
        metrics: workload.metrics.clone(),
        run_for: workload.run_for.map(Duration::from_secs_f64),
        stop_signal: match &workload.stop_signal {
            // Checked at load: a bad name never gets here.
            Some(signal) => config::parse_signal(signal.get_ref()).map_err(|e| anyhow!(e))?,
            None => libc::SIGINT,
        },
        warnings,
        counters: None,
        bench,
        ops: match &workload.ops {
            Some(ops) => Some(
                ops.source(values)
                    .map_err(|e| anyhow!("workload `{name}`: {e}"))?,
            ),
            None => None,
        },
    })
}

/// The workload's program: a command (by its path under the root, else
/// found on PATH), or the executable cargo builds, with a warning when it
/// will profile badly.
fn program_of(
    config: &Config,
    name: &str,
    workload: &Workload,
    expand: &impl Fn(&str) -> anyhow::Result<String>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<PathBuf> {
    let target = workload.target();
    let program = match target {
        Target::Command(command) => {
            let command = expand(command)?;
            let program =
                crate::config::program_path(&command, &config.root).with_context(|| {
                    format!("workload `{name}`: command `{command}` is not on PATH")
                })?;
            // A script or another format is the user's business: only an
            // executable whose headers read says what it lacks.
            if let Ok(contents) = crate::tools::executable::inspect(&program) {
                warnings.extend(crate::tools::executable::program_warning(
                    &program, contents,
                ));
            }
            program
        }
        _ => {
            let executable = crate::runs::build::build(
                &config.root,
                &config.defaults.build_profile,
                target,
                workload.package.as_deref(),
            )?;
            let contents = crate::tools::executable::inspect(&executable)?;
            warnings.extend(crate::tools::executable::warning(
                &executable,
                contents,
                &config.defaults.build_profile,
            ));
            executable
        }
    };
    Ok(program)
}

/// The text before `{}` in a metric pattern: what a line must contain.
pub fn metric_prefix(pattern: &str) -> &str {
    pattern.split("{}").next().unwrap_or(pattern)
}

/// What reading the declared metrics from a run's output found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MetricReading {
    /// A value for each metric found, by name.
    pub values: BTreeMap<String, f64>,
    /// Metrics that are required and missing (or not a finite number): the
    /// run fails with these.
    pub errors: Vec<String>,
    /// What the result should warn about: an optional metric missing, a
    /// metric printed more than once.
    pub warnings: Vec<String>,
}

/// Reads each declared metric from the watched output lines. A metric is
/// never invented: one that is missing, or whose line holds no finite number
/// where `{}` stands, is an error (a warning with `required = false`). A
/// metric printed on several lines takes the last line's value, with a
/// warning (a progress line printed repeatedly ends with the final figure).
pub fn read_metrics(metrics: &[Metric], lines: &[String]) -> MetricReading {
    let mut reading = MetricReading::default();
    for metric in metrics {
        let (before, after) = metric
            .pattern
            .split_once("{}")
            .unwrap_or((&metric.pattern, ""));
        let candidates: Vec<&String> = lines.iter().filter(|l| l.contains(before)).collect();
        let found: Vec<f64> = candidates
            .iter()
            .filter_map(|line| find_number(line, before, after))
            .collect();
        let problem = match (found.last(), candidates.last()) {
            (Some(value), _) => {
                reading.values.insert(metric.name.clone(), *value);
                if found.len() > 1 {
                    reading.warnings.push(format!(
                        "metric `{}` (pattern `{}`) was printed {} times; the last value is used",
                        metric.name,
                        metric.pattern,
                        found.len()
                    ));
                }
                None
            }
            (None, None) => Some(format!(
                "metric `{}`: pattern `{}` not found in the output",
                metric.name, metric.pattern
            )),
            (None, Some(line)) => Some(format!(
                "metric `{}`: pattern `{}` has no finite number where `{{}}` stands in the output line {:?}",
                metric.name,
                metric.pattern,
                shorten(line)
            )),
        };
        match problem {
            Some(problem) if metric.required => reading.errors.push(problem),
            Some(problem) => reading.warnings.push(format!(
                "{problem}; the run has no value for it (`required = false`)"
            )),
            None => {}
        }
    }
    reading
}

/// A line as quoted in a message: at most 200 characters.
fn shorten(line: &str) -> String {
    match line.char_indices().nth(200) {
        Some((at, _)) => format!("{}…", &line[..at]),
        None => line.to_string(),
    }
}

fn find_number(line: &str, before: &str, after: &str) -> Option<f64> {
    let mut search = line;
    while let Some(at) = search.find(before) {
        // Tools align their figures in columns (wrk's `Requests/sec:
        // 1234.56`): blanks between the text and the number do not count.
        let rest = search[at + before.len()..].trim_start_matches([' ', '\t']);
        let end = rest
            .find(|c: char| !(c.is_ascii_digit() || "+-.eE".contains(c)))
            .unwrap_or(rest.len());
        if let Ok(value) = rest[..end].parse::<f64>() {
            if rest[end..].starts_with(after) && value.is_finite() {
                return Some(value);
            }
        }
        let skip = if before.is_empty() {
            rest.chars().next().map_or(0, char::len_utf8)
        } else {
            0
        };
        if rest.is_empty() {
            break;
        }
        search = &rest[skip..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Better;

    fn metric(name: &str, pattern: &str) -> Metric {
        Metric {
            name: name.into(),
            pattern: pattern.into(),
            unit: String::new(),
            better: Better::Higher,
            required: true,
        }
    }

    fn lines(text: &[&str]) -> Vec<String> {
        text.iter().map(|l| l.to_string()).collect()
    }

    #[test]
    fn metrics_are_read_from_output_lines() {
        let lines = lines(&[
            "METRICS records=200193 subscribers=50000 elapsed_s=1.3 records_per_sec=153241.5",
            "latency: 12.5 ms (p99)",
        ]);
        let metrics = [
            metric("rps", "records_per_sec={}"),
            metric("records", "records={}"),
            metric("p99", "latency: {} ms"),
        ];
        let reading = read_metrics(&metrics, &lines);
        assert_eq!(reading.values["rps"], 153241.5);
        assert_eq!(reading.values["records"], 200193.0);
        assert_eq!(reading.values["p99"], 12.5);
        assert_eq!(reading.errors, Vec::<String>::new());
        assert_eq!(reading.warnings, Vec::<String>::new());
    }

    #[test]
    fn a_missing_or_non_numeric_metric_is_an_error_naming_pattern_and_line() {
        let value = [metric("value", "value={}")];
        let reading = read_metrics(&value, &[]);
        assert!(reading.values.is_empty());
        assert_eq!(
            reading.errors,
            ["metric `value`: pattern `value={}` not found in the output"]
        );
        for bad in ["abc", "NaN", "inf", "-inf", "1e999", ""] {
            let line = format!("value={bad}");
            let reading = read_metrics(&value, &lines(&[&line]));
            assert!(reading.values.is_empty(), "{bad}");
            assert_eq!(
                reading.errors,
                [format!(
                    "metric `value`: pattern `value={{}}` has no finite number where `{{}}` stands in the output line \"{line}\""
                )],
                "{bad}"
            );
        }
    }

    #[test]
    fn an_optional_metric_that_is_missing_is_a_warning() {
        let mut optional = metric("value", "value={}");
        optional.required = false;
        let reading = read_metrics(&[optional], &lines(&["value=abc"]));
        assert!(reading.values.is_empty());
        assert!(reading.errors.is_empty());
        assert_eq!(
            reading.warnings,
            ["metric `value`: pattern `value={}` has no finite number where `{}` stands in the output line \"value=abc\"; the run has no value for it (`required = false`)"]
        );
    }

    #[test]
    fn a_figure_aligned_after_its_text_is_read_as_wrk_prints_it() {
        let path =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/wrk/run.txt");
        let output = std::fs::read_to_string(path).unwrap();
        let lines: Vec<String> = output.lines().map(String::from).collect();
        let reading = read_metrics(
            &[
                metric("requests_per_sec", "Requests/sec:{}"),
                metric("requests", "{} requests in"),
            ],
            &lines,
        );
        assert_eq!(reading.values["requests_per_sec"], 32923.62);
        assert_eq!(reading.values["requests"], 36212.0);
        assert!(reading.errors.is_empty(), "{:?}", reading.errors);
        // Blanks, not other text, may stand between the text and the number.
        let reading = read_metrics(&[metric("x", "x:{}")], &self::lines(&["x: \t 5", "x: ~6"]));
        assert_eq!(reading.values["x"], 5.0);
    }

    #[test]
    fn the_last_occurrence_wins_with_a_warning_and_suffix_must_match() {
        let reading = read_metrics(
            &[metric("x", "x={} ms")],
            &lines(&["x=1 ms", "x=2 s", "x=3 ms"]),
        );
        assert_eq!(reading.values["x"], 3.0);
        assert_eq!(
            reading.warnings,
            ["metric `x` (pattern `x={} ms`) was printed 2 times; the last value is used"]
        );
        let reading = read_metrics(&[metric("x", "x={} ms")], &lines(&["x=1 ms", "x=2 s"]));
        assert_eq!(reading.values["x"], 1.0);
        assert!(reading.warnings.is_empty());
        assert!(reading.errors.is_empty());
    }
}
