//! `profiling.toml`: what to run and how — the one file a project edits to
//! adopt the xtask.
//!
//! Loading is strict on purpose: unknown keys, wrong types, undeclared
//! `{placeholders}` and references to missing workloads are errors that name
//! the file, line and column, with a suggestion where one is likely. A config
//! that loads is one every task can run without further checks.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const FILE_NAME: &str = "profiling.toml";

/// The workspace root: the directory above the xtask crate, where
/// profiling.toml lives by default.
pub fn project_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// Parameter values given on the command line, by parameter name.
pub type ParamFlags = BTreeMap<String, String>;

/// Checks a user-given label (or scale name): it becomes part of a directory name.
pub fn validate_label(label: &str) -> anyhow::Result<()> {
    let ok = !label.is_empty()
        && label.len() <= 64
        && label != "."
        && label != ".."
        && !label.starts_with('.')
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !ok {
        anyhow::bail!(
            "invalid label `{label}`: use 1-64 letters, digits, `-`, `_` or `.` (no path separators, not starting with `.`)"
        );
    }
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from.
    pub path: PathBuf,
    /// The directory holding the file: relative paths in it are relative to this.
    pub root: PathBuf,
    pub defaults: Defaults,
    pub thresholds: Thresholds,
    /// Declared parameters, by name.
    pub params: BTreeMap<String, Param>,
    pub workloads: BTreeMap<String, Workload>,
    pub scales: Vec<Scale>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    pub workload: Option<Spanned<String>>,
    pub runs: u32,
    pub warmup: u32,
    pub frequency: u32,
    pub call_graph: CallGraph,
    /// Sample kernel frames too. Off by default: perf then skips reading
    /// /proc/kallsyms (~0.15 s per run here), and unprivileged users with
    /// `perf_event_paranoid` >= 2 cannot sample the kernel anyway.
    pub kernel_frames: bool,
    pub memory_tool: MemoryTool,
    pub memory: bool,
    pub results_dir: String,
    pub keep: usize,
    pub build_profile: String,
    /// Seconds one run may take before it is stopped.
    pub timeout: f64,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            workload: None,
            runs: 5,
            warmup: 1,
            frequency: 997,
            call_graph: CallGraph::Dwarf,
            kernel_frames: false,
            memory_tool: MemoryTool::Auto,
            memory: false,
            results_dir: "results".into(),
            keep: 5,
            build_profile: "profiling".into(),
            timeout: 600.0,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CallGraph {
    /// DWARF unwinding: works without frame pointers, bigger perf.data.
    Dwarf,
    /// Frame pointers: cheap, needs `-C force-frame-pointers=yes`.
    Fp,
    /// Last branch record (Intel hardware only).
    Lbr,
}

impl CallGraph {
    pub fn as_str(self) -> &'static str {
        match self {
            CallGraph::Dwarf => "dwarf",
            CallGraph::Fp => "fp",
            CallGraph::Lbr => "lbr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MemoryTool {
    /// heaptrack, else valgrind massif (Linux); Instruments (macOS).
    Auto,
    Heaptrack,
    Massif,
    Instruments,
}

/// Percentages for the regression gate.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub noise: f64,
    pub time: f64,
    pub throughput: f64,
    pub latency: f64,
    pub memory: f64,
    pub instructions: f64,
    pub leaked_bytes: u64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            noise: 2.0,
            time: 5.0,
            throughput: 10.0,
            latency: 5.0,
            memory: 20.0,
            instructions: 1.0,
            leaked_bytes: 0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub default: ParamValue,
    #[serde(default)]
    pub help: String,
}

/// A parameter value as written in TOML; its kind (from the default) decides
/// which values the command-line flag accepts.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl ParamValue {
    pub fn kind(&self) -> &'static str {
        match self {
            ParamValue::Bool(_) => "boolean",
            ParamValue::Int(_) => "integer",
            ParamValue::Float(_) => "number",
            ParamValue::Str(_) => "string",
        }
    }

    /// Checks a command-line value against this value's kind.
    pub fn accepts(&self, text: &str) -> bool {
        match self {
            ParamValue::Bool(_) => text.parse::<bool>().is_ok(),
            ParamValue::Int(_) => text.parse::<i64>().is_ok(),
            ParamValue::Float(_) => text.parse::<f64>().is_ok(),
            ParamValue::Str(_) => true,
        }
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Str(v) => f.write_str(v),
        }
    }
}

/// A program to run: a target of this workspace (built with the profiling
/// profile) or any external command.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    #[serde(default)]
    pub description: String,
    /// A `[[bin]]` of the workspace.
    pub cargo_bin: Option<String>,
    /// An example of the workspace.
    pub example: Option<String>,
    /// A `[[bench]]` of the workspace, run as criterion's profiler hook
    /// expects: `BENCH --bench --profile-time SECONDS [FILTER]`.
    pub bench: Option<String>,
    /// Any other program (argv[0]); looked up on PATH or relative to the config.
    pub command: Option<Spanned<String>>,
    /// The package that holds the target, when the name is ambiguous.
    pub package: Option<String>,
    #[serde(default)]
    pub args: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    /// Working directory, relative to the config file.
    pub cwd: Option<Spanned<String>>,
    /// Seconds one run may take (default: `defaults.timeout`).
    pub timeout: Option<f64>,
    /// For benches: seconds of `--profile-time`.
    pub profile_time: Option<f64>,
    /// For benches: the benchmark filter.
    pub filter: Option<Spanned<String>>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// A server workload: how to tell it is ready for the load.
    pub ready: Option<Ready>,
    /// A server workload: the load scenario run against it while it is profiled.
    pub load: Option<Box<Spanned<Workload>>>,
}

impl Workload {
    /// Only the parameters this workload (and its load) uses, so that titles
    /// and records stay short.
    pub fn used_params(&self, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut used = std::collections::BTreeSet::new();
        let mut collect = |w: &Workload| {
            for text in w.args.iter().chain(w.env.values()).chain(w.command.iter()) {
                used.extend(placeholder_names(text.get_ref()).unwrap_or_default());
            }
            for port in w.ready.iter().flat_map(|r| r.port.iter()) {
                used.extend(placeholder_names(port.get_ref()).unwrap_or_default());
            }
        };
        collect(self);
        if let Some(load) = &self.load {
            collect(load.get_ref());
        }
        values
            .iter()
            .filter(|(k, _)| used.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn target(&self) -> Target<'_> {
        if let Some(name) = &self.cargo_bin {
            Target::Bin(name)
        } else if let Some(name) = &self.example {
            Target::Example(name)
        } else if let Some(name) = &self.bench {
            Target::Bench(name)
        } else {
            // `validate_workload` guarantees exactly one is set.
            Target::Command(
                self.command
                    .as_ref()
                    .map(|c| c.get_ref().as_str())
                    .unwrap_or(""),
            )
        }
    }

    pub fn is_service(&self) -> bool {
        self.load.is_some()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Bin(&'a str),
    Example(&'a str),
    Bench(&'a str),
    Command(&'a str),
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub name: String,
    /// The text around the number, with `{}` where the number stands:
    /// `"records_per_sec={}"` reads `1234.5` from `... records_per_sec=1234.5 ...`.
    pub pattern: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default = "Better::default_for_metric")]
    pub better: Better,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    Higher,
    Lower,
}

impl Better {
    fn default_for_metric() -> Better {
        Better::Higher
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// Ready when this loopback TCP port accepts connections.
    pub port: Option<Spanned<String>>,
    /// Ready when the server prints a line containing this text.
    pub line: Option<String>,
    /// Seconds to wait for readiness.
    #[serde(default = "Ready::default_timeout")]
    pub timeout: f64,
}

impl Ready {
    fn default_timeout() -> f64 {
        10.0
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub name: String,
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, ParamValue>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    defaults: Defaults,
    #[serde(default)]
    thresholds: Thresholds,
    #[serde(default)]
    params: BTreeMap<String, Param>,
    #[serde(default)]
    workloads: BTreeMap<String, Spanned<Workload>>,
    #[serde(default)]
    scales: Vec<Scale>,
}

/// A config error that points into the file.
#[derive(Debug)]
pub struct ConfigError {
    pub path: PathBuf,
    /// 1-based line and column, when the error has a place in the file.
    pub position: Option<(usize, usize)>,
    pub message: String,
    pub help: Option<String>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some((line, column)) = self.position {
            write!(f, ":{line}:{column}")?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}

impl Config {
    /// Finds `profiling.toml`: the given path, else the workspace root.
    pub fn locate(explicit: Option<&Path>) -> PathBuf {
        match explicit {
            Some(path) => path.to_path_buf(),
            None => project_root().join(FILE_NAME),
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            position: None,
            message: format!("cannot read the file: {e}"),
            help: Some(format!(
                "create {FILE_NAME} at the workspace root (see the README), or pass --config PATH"
            )),
        })?;
        Config::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let error_at =
            |span: Option<Range<usize>>, message: String, help: Option<String>| ConfigError {
                path: path.to_path_buf(),
                position: span.map(|s| line_column(text, s.start)),
                message,
                help,
            };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            let help = unknown_key_suggestion(&message);
            error_at(e.span(), first_sentence(&message), help)
        })?;

        let root = path
            .parent()
            .map(Path::to_path_buf)
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or_else(|| PathBuf::from("."));
        let mut workloads = BTreeMap::new();
        for (name, workload) in raw.workloads {
            let span = workload.span();
            let workload = workload.into_inner();
            validate_workload(&name, &workload, span.clone(), &raw.params, false)
                .map_err(|(span, message, help)| error_at(Some(span), message, help))?;
            workloads.insert(name, workload);
        }
        if workloads.is_empty() {
            return Err(error_at(
                None,
                "no workload is declared".into(),
                Some("add a [workloads.NAME] table with `cargo_bin = \"...\"` or `command = \"...\"`".into()),
            ));
        }
        if let Some(default) = &raw.defaults.workload {
            if !workloads.contains_key(default.get_ref()) {
                let names: Vec<&str> = workloads.keys().map(String::as_str).collect();
                return Err(error_at(
                    Some(default.span()),
                    format!(
                        "`defaults.workload` names `{}`, which is not declared",
                        default.get_ref()
                    ),
                    Some(
                        suggest(default.get_ref(), &names)
                            .unwrap_or_else(|| format!("declared workloads: {}", names.join(", "))),
                    ),
                ));
            }
        }
        for name in raw.params.keys() {
            if !is_identifier(name) {
                return Err(error_at(
                    None,
                    format!("parameter name `{name}` must be letters, digits, `-` or `_`"),
                    None,
                ));
            }
            if RESERVED_FLAGS.contains(&name.as_str()) {
                return Err(error_at(
                    None,
                    format!("parameter `{name}` would clash with the task flag `--{name}`"),
                    Some("rename the parameter".into()),
                ));
            }
        }
        if raw.defaults.runs == 0 {
            return Err(error_at(
                None,
                "`defaults.runs` must be at least 1".into(),
                None,
            ));
        }
        let numbers = [
            ("defaults.timeout", Some(raw.defaults.timeout)),
            (
                "defaults.frequency",
                Some(f64::from(raw.defaults.frequency)),
            ),
        ];
        for (what, value) in numbers {
            check_seconds(what, value).map_err(|m| error_at(None, m, None))?;
        }
        let t = &raw.thresholds;
        for (what, value) in [
            ("noise", t.noise),
            ("time", t.time),
            ("throughput", t.throughput),
            ("latency", t.latency),
            ("memory", t.memory),
            ("instructions", t.instructions),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(error_at(
                    None,
                    format!("`thresholds.{what}` must be a percentage >= 0, not {value}"),
                    None,
                ));
            }
        }
        let mut seen = std::collections::BTreeSet::new();
        for scale in &raw.scales {
            if validate_label(&scale.name).is_err() {
                return Err(error_at(
                    None,
                    format!(
                        "scale name `{}`: use letters, digits, `-`, `_` or `.` (it names a directory)",
                        scale.name
                    ),
                    None,
                ));
            }
            if !seen.insert(scale.name.as_str()) {
                return Err(error_at(
                    None,
                    format!("scale `{}` is declared twice", scale.name),
                    None,
                ));
            }
            for (key, value) in &scale.params {
                let Some(param) = raw.params.get(key.get_ref()) else {
                    let (span, message, help) =
                        undeclared(key.get_ref(), key.span(), &raw.params, "scale");
                    return Err(error_at(Some(span), message, help));
                };
                if !param.default.accepts(&value.to_string()) {
                    return Err(error_at(
                        Some(key.span()),
                        format!(
                            "scale `{}` sets `{}` to `{value}`, but the parameter is {} (its default is {})",
                            scale.name,
                            key.get_ref(),
                            param.default.kind(),
                            param.default
                        ),
                        None,
                    ));
                }
            }
        }
        Ok(Config {
            path: path.to_path_buf(),
            root,
            defaults: raw.defaults,
            thresholds: raw.thresholds,
            params: raw.params,
            workloads,
            scales: raw.scales,
        })
    }

    /// The workload a task runs: the named one, else `defaults.workload`, else
    /// the only one declared.
    pub fn workload(&self, name: Option<&str>) -> anyhow::Result<(&str, &Workload)> {
        let wanted = name
            .map(str::to_string)
            .or_else(|| self.defaults.workload.as_ref().map(|w| w.get_ref().clone()));
        match wanted {
            Some(wanted) => self
                .workloads
                .get_key_value(&wanted)
                .map(|(k, v)| (k.as_str(), v))
                .ok_or_else(|| {
                    let names: Vec<&str> = self.workloads.keys().map(String::as_str).collect();
                    anyhow::anyhow!(
                        "no workload `{wanted}` in {}; {}",
                        self.path.display(),
                        suggest(&wanted, &names)
                            .unwrap_or_else(|| format!("declared: {}", names.join(", ")))
                    )
                }),
            None if self.workloads.len() == 1 => {
                let (k, v) = self.workloads.iter().next().expect("one workload");
                Ok((k.as_str(), v))
            }
            None => anyhow::bail!(
                "{} declares several workloads and no `defaults.workload`: pass --workload NAME",
                self.path.display()
            ),
        }
    }

    pub fn scale(&self, name: &str) -> anyhow::Result<&Scale> {
        self.scales.iter().find(|s| s.name == name).ok_or_else(|| {
            let names: Vec<&str> = self.scales.iter().map(|s| s.name.as_str()).collect();
            anyhow::anyhow!(
                "no scale `{name}` in {}; declared: {}",
                self.path.display(),
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            )
        })
    }

    /// Parameter values: declared defaults, then a scale's, then the flags given.
    pub fn param_values(
        &self,
        scale: Option<&Scale>,
        overrides: &BTreeMap<String, String>,
    ) -> BTreeMap<String, String> {
        let mut values: BTreeMap<String, String> = self
            .params
            .iter()
            .map(|(name, p)| (name.clone(), p.default.to_string()))
            .collect();
        if let Some(scale) = scale {
            for (name, value) in &scale.params {
                values.insert(name.get_ref().clone(), value.to_string());
            }
        }
        values.extend(overrides.iter().map(|(k, v)| (k.clone(), v.clone())));
        values
    }

    pub fn results_dir(&self) -> PathBuf {
        self.root.join(&self.defaults.results_dir)
    }
}

/// Flags every task has; a parameter may not take their names.
pub const RESERVED_FLAGS: &[&str] = &[
    "help",
    "verbose",
    "config",
    "workload",
    "label",
    "runs",
    "warmup",
    "scale",
    "memory",
    "freq",
    "call-graph",
    "open",
    "output",
    "tool",
    "leak-check",
    "top",
    "format",
    "json",
    "keep",
    "dry-run",
    "older-than",
    "rev",
    "counter",
    "fail-on-regression",
    "results-dir",
    "metric",
    "last",
    "export-csv",
    "plot",
    "no-profile",
    "rounds",
    "fold-mb",
    "against",
    "skip-tests",
    "skip-lint",
    "version",
];

type Problem = (Range<usize>, String, Option<String>);

fn validate_workload(
    name: &str,
    workload: &Workload,
    span: Range<usize>,
    params: &BTreeMap<String, Param>,
    nested: bool,
) -> Result<(), Problem> {
    let kinds = [
        workload.cargo_bin.is_some(),
        workload.example.is_some(),
        workload.bench.is_some(),
        workload.command.is_some(),
    ];
    let set = kinds.iter().filter(|k| **k).count();
    if set != 1 {
        return Err((
            span,
            format!(
                "workload `{name}` must set exactly one of `cargo_bin`, `example`, `bench`, `command` ({set} set)"
            ),
            Some("`cargo_bin = \"my-bin\"` profiles a binary of this workspace".into()),
        ));
    }
    let placeholders = workload
        .args
        .iter()
        .chain(workload.env.values())
        .chain(workload.command.iter())
        .chain(workload.cwd.iter())
        .chain(workload.filter.iter())
        .chain(workload.ready.iter().flat_map(|r| r.port.iter()));
    for text in placeholders {
        let names = placeholder_names(text.get_ref()).map_err(|message| {
            (
                text.span(),
                message,
                Some("write `{{` and `}}` for literal braces".into()),
            )
        })?;
        for placeholder in names {
            if !params.contains_key(&placeholder) {
                return Err(undeclared(&placeholder, text.span(), params, "placeholder"));
            }
        }
    }
    if let Some(line) = workload.ready.as_ref().and_then(|r| r.line.as_ref()) {
        let names = placeholder_names(line).map_err(|m| (span.clone(), m, None))?;
        if let Some(missing) = names.iter().find(|n| !params.contains_key(*n)) {
            return Err(undeclared(missing, span.clone(), params, "placeholder"));
        }
    }
    for (what, value) in [
        ("timeout", workload.timeout),
        ("profile_time", workload.profile_time),
    ] {
        check_seconds(&format!("workload `{name}`: {what}"), value)
            .map_err(|m| (span.clone(), m, None))?;
    }
    if let Some(ready) = &workload.ready {
        check_seconds(
            &format!("workload `{name}`: ready.timeout"),
            Some(ready.timeout),
        )
        .map_err(|m| (span.clone(), m, None))?;
    }
    let mut names = std::collections::BTreeSet::new();
    for metric in &workload.metrics {
        if BUILTIN_MEASURES.contains(&metric.name.as_str()) || !names.insert(metric.name.as_str()) {
            return Err((
                span.clone(),
                format!(
                    "metric `{}` of workload `{name}` is declared twice or shadows a measure every run records ({})",
                    metric.name,
                    BUILTIN_MEASURES.join(", ")
                ),
                Some("rename the metric".into()),
            ));
        }
        if metric.pattern.matches("{}").count() != 1 {
            return Err((
                span.clone(),
                format!(
                    "metric `{}` of workload `{name}`: `pattern` must contain `{{}}` exactly once, where the number stands",
                    metric.name
                ),
                None,
            ));
        }
    }
    if let Some(ready) = &workload.ready {
        if ready.port.is_none() && ready.line.is_none() {
            return Err((
                span,
                format!("workload `{name}`: `ready` needs `port` or `line`"),
                None,
            ));
        }
    }
    if workload.ready.is_some() && workload.load.is_none() {
        return Err((
            span,
            format!("workload `{name}` has `ready` but no `load`: a server needs a load scenario"),
            Some(format!("add [workloads.{name}.load] with the load command")),
        ));
    }
    if let Some(load) = &workload.load {
        if nested {
            return Err((
                load.span(),
                "a load scenario cannot have its own load".into(),
                None,
            ));
        }
        if workload.ready.is_none() {
            return Err((
                span,
                format!("workload `{name}` has a `load` but no `ready` check"),
                Some(
                    "add `ready = { port = \"{port}\" }` or `ready = { line = \"listening\" }`"
                        .into(),
                ),
            ));
        }
        validate_workload(
            &format!("{name}.load"),
            load.get_ref(),
            load.span(),
            params,
            true,
        )?;
    }
    Ok(())
}

/// Timeouts and frequencies: finite, positive, and small enough for a Duration.
fn check_seconds(what: &str, value: Option<f64>) -> Result<(), String> {
    match value {
        Some(v) if !(v.is_finite() && v > 0.0 && v <= 1e9) => Err(format!(
            "`{what}` must be a positive number (at most 1e9), not {v}"
        )),
        _ => Ok(()),
    }
}

/// Measures every run records; a metric may not take their names.
pub const BUILTIN_MEASURES: &[&str] = &["wall_s", "user_s", "sys_s", "max_rss_bytes"];

fn undeclared(
    name: &str,
    span: Range<usize>,
    params: &BTreeMap<String, Param>,
    what: &str,
) -> Problem {
    let names: Vec<&str> = params.keys().map(String::as_str).collect();
    let help = suggest(name, &names).unwrap_or_else(|| {
        format!("declare it: [params.{name}] with `default = ...` and `help = \"...\"`")
    });
    let message = if what == "placeholder" {
        format!("placeholder `{{{name}}}` names no declared parameter")
    } else {
        format!("{what} sets parameter `{name}`, which is not declared")
    };
    (span, message, Some(help))
}

/// The `{name}` placeholders in a template; `{{` and `}}` are literal braces.
pub fn placeholder_names(template: &str) -> Result<Vec<String>, String> {
    let mut names = Vec::new();
    expand_with(template, |name| {
        names.push(name.to_string());
        Some(String::new())
    })?;
    Ok(names)
}

/// Replaces `{name}` placeholders with parameter values.
pub fn expand(template: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    expand_with(template, |name| values.get(name).cloned())
}

fn expand_with(
    template: &str,
    mut value_of: impl FnMut(&str) -> Option<String>,
) -> Result<String, String> {
    let mut out = String::with_capacity(template.len());
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|(_, c)| *c) == Some('{') => {
                chars.next();
                out.push('{');
            }
            '}' if chars.peek().map(|(_, c)| *c) == Some('}') => {
                chars.next();
                out.push('}');
            }
            '{' => {
                let rest = &template[i + 1..];
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("unclosed `{{` in `{template}`"))?;
                let name = &rest[..end];
                if !is_identifier(name) {
                    return Err(format!(
                        "`{{{name}}}` in `{template}` is not a parameter name"
                    ));
                }
                let value = value_of(name).ok_or_else(|| {
                    format!("no value for placeholder `{{{name}}}` in `{template}`")
                })?;
                out.push_str(&value);
                for _ in 0..=end {
                    chars.next();
                }
            }
            '}' => return Err(format!("unmatched `}}` in `{template}`")),
            c => out.push(c),
        }
    }
    Ok(out)
}

fn is_identifier(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

pub fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn first_sentence(message: &str) -> String {
    message.lines().next().unwrap_or(message).to_string()
}

/// serde says "unknown field `warmups`, expected one of `runs`, `warmup`";
/// turn that into "did you mean `warmup`?".
fn unknown_key_suggestion(message: &str) -> Option<String> {
    let rest = message
        .strip_prefix("unknown field `")
        .or_else(|| message.strip_prefix("unknown variant `"))?;
    let (unknown, expected) = rest.split_once('`')?;
    let candidates: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
    suggest(unknown, &candidates).or_else(|| Some(format!("valid here: {}", candidates.join(", "))))
}

/// "did you mean `x`?" for the closest candidate within a small edit distance.
pub fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (edit_distance(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            current.push(
                (previous[j] + cost)
                    .min(previous[j + 1] + 1)
                    .min(current[j] + 1),
            );
        }
        previous = current;
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("profiling.toml"), text)
    }

    const MINIMAL: &str = r#"
[params.subs]
default = 100
help = "subscribers"

[workloads.demo]
cargo_bin = "cdr-demo"
args = ["--subs", "{subs}"]
"#;

    #[test]
    fn the_shipped_config_loads() {
        let path = project_root().join(FILE_NAME);
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.workload(None).unwrap().0, "demo");
        assert!(config.params.contains_key("subs"));
        assert!(config.workloads["service"].is_service());
        assert_eq!(config.scales.len(), 4);
    }

    #[test]
    fn a_minimal_config_gets_defaults() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.defaults.runs, 5);
        assert_eq!(config.defaults.call_graph, CallGraph::Dwarf);
        assert_eq!(config.thresholds, Thresholds::default());
        let (name, workload) = config.workload(None).unwrap();
        assert_eq!(name, "demo");
        assert_eq!(workload.target(), Target::Bin("cdr-demo"));
    }

    #[test]
    fn unknown_key_names_line_column_and_suggests() {
        let text = "[defaults]\nruns = 3\nwarmups = 2\n".to_string() + MINIMAL;
        let err = parse(&text).unwrap_err();
        assert_eq!(err.position, Some((3, 1)), "{err}");
        assert!(err.message.contains("unknown field `warmups`"), "{err}");
        assert_eq!(err.help.as_deref(), Some("did you mean `warmup`?"));
        assert!(
            err.to_string()
                .starts_with("profiling.toml:3:1: unknown field `warmups`"),
            "{err}"
        );
    }

    #[test]
    fn wrong_type_names_the_place() {
        let text = "[defaults]\nruns = \"five\"\n".to_string() + MINIMAL;
        let err = parse(&text).unwrap_err();
        assert_eq!(err.position, Some((2, 8)), "{err}");
        assert!(
            err.message.contains("invalid type: string \"five\""),
            "{err}"
        );
    }

    #[test]
    fn wrong_enum_value_lists_the_valid_ones() {
        let text = "[defaults]\ncall_graph = \"dwraf\"\n".to_string() + MINIMAL;
        let err = parse(&text).unwrap_err();
        assert_eq!(err.position.map(|p| p.0), Some(2), "{err}");
        assert_eq!(err.help.as_deref(), Some("did you mean `dwarf`?"), "{err}");
    }

    #[test]
    fn undeclared_placeholder_points_at_the_argument() {
        let text = MINIMAL.replace("{subs}", "{sub}");
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.message,
            "placeholder `{sub}` names no declared parameter"
        );
        assert_eq!(err.position, Some((8, 19)), "{err}");
        assert_eq!(err.help.as_deref(), Some("did you mean `subs`?"));
    }

    #[test]
    fn missing_default_workload_is_named() {
        let text = "[defaults]\nworkload = \"dmeo\"\n".to_string() + MINIMAL;
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.message,
            "`defaults.workload` names `dmeo`, which is not declared"
        );
        assert_eq!(err.position, Some((2, 12)));
        assert_eq!(err.help.as_deref(), Some("did you mean `demo`?"));
    }

    #[test]
    fn no_workload_at_all_is_an_error() {
        let err = parse("[params.subs]\ndefault = 1\n").unwrap_err();
        assert_eq!(err.message, "no workload is declared");
    }

    #[test]
    fn workload_needs_exactly_one_target() {
        let text = MINIMAL.replace(
            "cargo_bin = \"cdr-demo\"",
            "cargo_bin = \"a\"\ncommand = \"b\"",
        );
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("exactly one of"), "{err}");
        let text = MINIMAL.replace("cargo_bin = \"cdr-demo\"", "");
        assert!(parse(&text).unwrap_err().message.contains("(0 set)"));
    }

    #[test]
    fn scale_with_undeclared_parameter() {
        let text = MINIMAL.to_string() + "\n[[scales]]\nname = \"big\"\nparams = { subz = 5 }\n";
        let err = parse(&text).unwrap_err();
        assert_eq!(
            err.message,
            "scale sets parameter `subz`, which is not declared"
        );
        assert_eq!(err.help.as_deref(), Some("did you mean `subs`?"));
    }

    #[test]
    fn server_without_load_is_rejected() {
        let text = MINIMAL.to_string() + "ready = { line = \"listening\" }\n";
        let err = parse(&text).unwrap_err();
        assert!(err.message.contains("has `ready` but no `load`"), "{err}");
    }

    #[test]
    fn placeholders_expand_and_escape() {
        let values: BTreeMap<String, String> = [
            ("subs".to_string(), "50000".to_string()),
            ("out-dir".to_string(), "/tmp/x y".to_string()),
        ]
        .into();
        assert_eq!(expand("--subs={subs}", &values).unwrap(), "--subs=50000");
        // A value with spaces stays one argument: no shell is involved.
        assert_eq!(expand("{out-dir}", &values).unwrap(), "/tmp/x y");
        assert_eq!(
            expand("{{literal}} {subs}", &values).unwrap(),
            "{literal} 50000"
        );
        assert!(expand("{nope}", &values).unwrap_err().contains("`{nope}`"));
        assert!(expand("{subs", &values).unwrap_err().contains("unclosed"));
        assert!(expand("a}b", &values).unwrap_err().contains("unmatched"));
        assert_eq!(
            placeholder_names("{a} and {b} {{c}}").unwrap(),
            vec!["a", "b"]
        );
    }

    #[test]
    fn parameter_values_layer_defaults_scale_and_flags() {
        let text = MINIMAL.to_string()
            + "\n[params.days]\ndefault = 1\n\n[[scales]]\nname = \"big\"\nparams = { subs = 5000 }\n";
        let config = parse(&text).unwrap();
        let scale = config.scale("big").unwrap();
        let flags: BTreeMap<String, String> = [("days".to_string(), "7".to_string())].into();
        let values = config.param_values(Some(scale), &flags);
        assert_eq!(values["subs"], "5000");
        assert_eq!(values["days"], "7");
        assert!(config
            .scale("huge")
            .unwrap_err()
            .to_string()
            .contains("declared: big"));
    }

    #[test]
    fn parameter_kinds_check_flag_values() {
        assert!(ParamValue::Int(1).accepts("50000"));
        assert!(!ParamValue::Int(1).accepts("5e4x"));
        assert!(ParamValue::Float(1.0).accepts("0.5"));
        assert!(ParamValue::Str("a".into()).accepts("anything"));
    }

    #[test]
    fn numbers_that_would_break_a_run_are_rejected() {
        for (extra, expected) in [
            (
                "timeout = -1\n",
                "workload `demo`: timeout` must be a positive number",
            ),
            ("timeout = 1e18\n", "at most 1e9"),
            (
                "profile_time = 0\n",
                "profile_time` must be a positive number",
            ),
        ] {
            let text = MINIMAL.to_string() + extra;
            let err = parse(&text).unwrap_err();
            assert!(err.message.contains(expected), "{extra}: {err}");
        }
        let text = "[defaults]\ntimeout = -5.0\n".to_string() + MINIMAL;
        assert!(parse(&text)
            .unwrap_err()
            .message
            .contains("`defaults.timeout` must be a positive number"));
        let text = "[thresholds]\ntime = -3.0\n".to_string() + MINIMAL;
        assert!(parse(&text)
            .unwrap_err()
            .message
            .contains("`thresholds.time` must be a percentage"));
    }

    #[test]
    fn metrics_may_not_shadow_built_in_measures_or_repeat() {
        for name in ["wall_s", "rps"] {
            let text = MINIMAL.to_string()
                + "\n[[workloads.demo.metrics]]\nname = \"rps\"\npattern = \"rps={}\"\n"
                + &format!(
                    "\n[[workloads.demo.metrics]]\nname = \"{name}\"\npattern = \"x={{}}\"\n"
                );
            let err = parse(&text).unwrap_err();
            assert!(
                err.message.contains("declared twice or shadows"),
                "{name}: {err}"
            );
        }
    }

    #[test]
    fn scales_name_directories_and_their_values_are_typed() {
        let text =
            MINIMAL.to_string() + "\n[[scales]]\nname = \"../../escape\"\nparams = { subs = 5 }\n";
        assert!(parse(&text)
            .unwrap_err()
            .message
            .contains("it names a directory"));
        let text =
            MINIMAL.to_string() + "\n[[scales]]\nname = \"big\"\nparams = { subs = \"many\" }\n";
        let err = parse(&text).unwrap_err();
        assert!(
            err.message
                .contains("sets `subs` to `many`, but the parameter is integer"),
            "{err}"
        );
        assert_eq!(err.position.map(|p| p.0), Some(12), "{err}");
    }

    #[test]
    fn placeholders_are_checked_in_cwd_filter_and_ready_line() {
        let text = MINIMAL.to_string() + "cwd = \"{nope}\"\n";
        assert!(parse(&text).unwrap_err().message.contains("`{nope}`"));
        let text = MINIMAL.to_string() + "filter = \"{nope}\"\n";
        assert!(parse(&text).unwrap_err().message.contains("`{nope}`"));
        let text = MINIMAL.to_string()
            + "ready = { line = \"listening {nope}\" }\n[workloads.demo.load]\ncommand = \"true\"\n";
        assert!(parse(&text).unwrap_err().message.contains("`{nope}`"));
    }

    #[test]
    fn parameter_may_not_shadow_a_task_flag() {
        let text = MINIMAL.to_string() + "\n[params.runs]\ndefault = 3\n";
        let err = parse(&text).unwrap_err();
        assert!(
            err.message.contains("clash with the task flag `--runs`"),
            "{err}"
        );
    }
}
