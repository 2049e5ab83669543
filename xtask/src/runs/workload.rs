//! From a declared workload and parameter values to a ready-to-run program:
//! built (for cargo targets), placeholders expanded, argv and environment
//! exactly as they will be executed.

use crate::config::{self, Config, Metric, Target, Workload};
use crate::runs::process::Spec;
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
    /// What will make its profiles poor (no debug info, stripped), for the
    /// task to show before it runs.
    pub warnings: Vec<String>,
}

impl Prepared {
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
            ..Spec::default()
        }
    }

    /// argv as strings, program first, for run.json.
    pub fn argv(&self) -> Vec<String> {
        self.spec().argv()
    }
}

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
    let program = match target {
        Target::Command(command) => {
            let command = expand(command)?;
            if command.contains('/') {
                config.root.join(command)
            } else {
                which::which(&command).with_context(|| {
                    format!("workload `{name}`: command `{command}` is not on PATH")
                })?
            }
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
    let mut args: Vec<OsString> = Vec::new();
    if let Target::Bench(_) = target {
        // criterion's profiler hook: run each benchmark for a fixed time, no analysis.
        args.push("--bench".into());
        args.push("--profile-time".into());
        args.push(format!("{}", workload.profile_time.unwrap_or(5.0)).into());
        if let Some(filter) = &workload.filter {
            args.push(expand(filter.get_ref())?.into());
        }
    }
    for arg in &workload.args {
        args.push(expand(arg.get_ref())?.into());
    }
    let mut env = BTreeMap::new();
    for (key, value) in &workload.env {
        env.insert(key.clone(), expand(value.get_ref())?);
    }
    let cwd = match &workload.cwd {
        Some(dir) => config.root.join(expand(dir.get_ref())?),
        None => config.root.clone(),
    };
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
        warnings,
    })
}

/// The text before `{}` in a metric pattern: what a line must contain.
pub fn metric_prefix(pattern: &str) -> &str {
    pattern.split("{}").next().unwrap_or(pattern)
}

/// Reads each declared metric from the watched output lines (the last
/// occurrence wins). A metric that is missing is left out, not invented.
pub fn extract_metrics(metrics: &[Metric], lines: &[String]) -> BTreeMap<String, f64> {
    let mut values = BTreeMap::new();
    for metric in metrics {
        let (before, after) = metric
            .pattern
            .split_once("{}")
            .unwrap_or((&metric.pattern, ""));
        for line in lines.iter().rev() {
            if let Some(value) = find_number(line, before, after) {
                values.insert(metric.name.clone(), value);
                break;
            }
        }
    }
    values
}

fn find_number(line: &str, before: &str, after: &str) -> Option<f64> {
    let mut search = line;
    while let Some(at) = search.find(before) {
        let rest = &search[at + before.len()..];
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
        }
    }

    #[test]
    fn metrics_are_read_from_output_lines() {
        let lines = vec![
            "METRICS records=200193 subscribers=50000 elapsed_s=1.3 records_per_sec=153241.5"
                .to_string(),
            "latency: 12.5 ms (p99)".to_string(),
        ];
        let metrics = [
            metric("rps", "records_per_sec={}"),
            metric("records", "records={}"),
            metric("p99", "latency: {} ms"),
            metric("absent", "nothing={}"),
        ];
        let values = extract_metrics(&metrics, &lines);
        assert_eq!(values["rps"], 153241.5);
        assert_eq!(values["records"], 200193.0);
        assert_eq!(values["p99"], 12.5);
        assert!(!values.contains_key("absent"));
    }

    #[test]
    fn the_last_occurrence_wins_and_suffix_must_match() {
        let lines = vec![
            "x=1 ms".to_string(),
            "x=2 s".to_string(),
            "x=3 ms".to_string(),
        ];
        assert_eq!(extract_metrics(&[metric("x", "x={} ms")], &lines)["x"], 3.0);
        let lines = vec!["x=1 ms".to_string(), "x=2 s".to_string()];
        assert_eq!(extract_metrics(&[metric("x", "x={} ms")], &lines)["x"], 1.0);
    }
}
