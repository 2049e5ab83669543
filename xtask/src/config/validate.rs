//! The strict checks of loading: [`Config::parse`] turns the file's text
//! into a [`Config`] or a [`ConfigError`] that names the file, line and
//! column, with a "did you mean" where a likely fix exists. Everything a task
//! would otherwise trip over later is rejected here: workloads without
//! exactly one target, undeclared placeholders, parameters that would clash
//! with task flags, numbers that would break a run, scales that cannot name
//! a directory.

use super::schema::{Param, RawConfig, Workload};
use super::templates::{is_identifier, placeholder_names};
use super::Config;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

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

/// A config error that points into the file.
#[derive(Debug, Clone)]
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
    /// A config from its text, with every check of loading; `path` is the
    /// file the errors name and the one relative paths are relative to.
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
            if GLOBAL_FLAGS.contains(&name.as_str()) {
                let (message, help) = flag_clash(name);
                return Err(error_at(None, message, help));
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
}

/// The flags of the command line itself rather than of one task, the same
/// whatever the tasks are: loading rejects a parameter named like one. (A
/// parameter becomes a `--NAME` flag of every task, and a second `--NAME`
/// makes clap panic.) `version` is clap's other built-in flag: switched off
/// for this command line, but kept reserved. The tasks' own flags are known
/// only to `cli`, a layer above: it checks them with
/// [`Config::check_param_flags`] right after loading.
const GLOBAL_FLAGS: &[&str] = &["help", "verbose", "config", "version"];

impl Config {
    /// Rejects a parameter named like a task flag, as loading does for the
    /// [global flags](GLOBAL_FLAGS): `reserved` is every long flag name of the
    /// command line, which `cli` takes from its clap definition.
    pub fn check_param_flags(&self, reserved: &BTreeSet<String>) -> Result<(), ConfigError> {
        match self.params.keys().find(|name| reserved.contains(*name)) {
            Some(name) => {
                let (message, help) = flag_clash(name);
                Err(ConfigError {
                    path: self.path.clone(),
                    position: None,
                    message,
                    help,
                })
            }
            None => Ok(()),
        }
    }
}

/// The error's message and help for parameter `name`, named like a flag.
fn flag_clash(name: &str) -> (String, Option<String>) {
    (
        format!("parameter `{name}` would clash with the task flag `--{name}`"),
        Some("rename the parameter".into()),
    )
}

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
        if super::measures::is_builtin(&metric.name) || !names.insert(metric.name.as_str()) {
            return Err((
                span.clone(),
                format!(
                    "metric `{}` of workload `{name}` is declared twice or shadows a measure every run records ({})",
                    metric.name,
                    super::measures::BUILTIN_MEASURES
                        .iter()
                        .map(|m| m.name)
                        .collect::<Vec<_>>()
                        .join(", ")
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

/// "did you mean `x`?" for the closest candidate within a small edit
/// distance (Levenshtein, counted in characters).
pub fn suggest(word: &str, candidates: &[&str]) -> Option<String> {
    candidates
        .iter()
        .map(|c| (strsim::levenshtein(word, c), *c))
        .filter(|(d, c)| *d <= 2.max(c.len() / 3))
        .min()
        .map(|(_, c)| format!("did you mean `{c}`?"))
}

#[cfg(test)]
mod tests;
