//! The strict checks of loading: [`Config::parse`] turns the file's text
//! into a [`Config`] or a [`ConfigError`] that names the file, line and
//! column, with a "did you mean" where a likely fix exists. Everything a task
//! would otherwise trip over later is rejected here: workloads without
//! exactly one target, undeclared placeholders, parameters that would clash
//! with task flags, numbers that would break a run, scales that cannot name
//! a directory.

use super::bounds::{self, Bound};
use super::locate::{Index, Key, Locator, Step};
use super::schema::{Defaults, Param, RawConfig, Scale, Thresholds, Workload};
use super::templates::{is_identifier, placeholder_names};
use super::Config;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The names by which results are referred to wherever a result is named
/// (`Store::resolve`): a result labelled so could never be named by its label.
const RESERVED_LABELS: [&str; 2] = ["latest", "previous"];

/// Whether `name` can be part of a directory name: 1-64 letters, digits,
/// `-`, `_` or `.`, not starting with `.`.
fn is_label_form(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Checks a user-given label: it becomes part of a directory name, and
/// results are referred to by it.
pub fn validate_label(label: &str) -> anyhow::Result<()> {
    if !is_label_form(label) {
        anyhow::bail!(
            "invalid label `{label}`: use 1-64 letters, digits, `-`, `_` or `.` (no path separators, not starting with `.`)"
        );
    }
    if RESERVED_LABELS.contains(&label) {
        anyhow::bail!(
            "`{label}` cannot be a label: `latest` and `previous` are reserved, they name the newest result and the one before; choose another label"
        );
    }
    Ok(())
}

/// `--label LABEL` on the command line: [`validate_label`], before anything runs.
pub fn parse_label(text: &str) -> Result<String, String> {
    validate_label(text)
        .map(|()| text.to_string())
        .map_err(|e| e.to_string())
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

/// The file's text: TOML is UTF-8, and an error about an invalid byte
/// says where it stands, as every other error of loading does.
pub(super) fn utf8<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, ConfigError> {
    std::str::from_utf8(bytes).map_err(|e| {
        let valid = e.valid_up_to();
        // The text up to the bad byte is valid: its lines and characters
        // give the position.
        let before = std::str::from_utf8(&bytes[..valid]).unwrap_or_default();
        ConfigError {
            path: path.to_path_buf(),
            position: Some(line_column(before, valid)),
            message: format!(
                "the file is not valid UTF-8: byte 0x{:02X} (offset {valid}) cannot stand here",
                bytes[valid]
            ),
            help: Some("allowed: UTF-8 text only, as TOML requires: save the file as UTF-8".into()),
        }
    })
}

impl Config {
    /// A config from its text, with every check of loading; `path` is the
    /// file the errors name and the one relative paths are relative to
    /// (see [`super::root_of`]).
    pub fn parse(path: &Path, text: &str) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let message = e.message().trim().to_string();
            let help = unknown_key_suggestion(&message);
            let position = e.span().map(|s| line_column(text, s.start));
            // A count beyond its type's range (`runs = -1`, `keep = 1e20`
            // as an integer): the same error as one beyond its bound.
            let bounded = e
                .span()
                .filter(|_| message.starts_with("invalid value: integer"))
                .and_then(|span| bounded_default_at(text, span));
            match bounded {
                Some((message, help)) => ConfigError {
                    path: path.to_path_buf(),
                    position,
                    message,
                    help: Some(help),
                },
                None => ConfigError {
                    path: path.to_path_buf(),
                    position,
                    message: first_sentence(&message),
                    help,
                },
            }
        })?;
        let root = super::root_of(path);
        let locator = Locator::new(text);
        let checks = Checks {
            path,
            text,
            root: &root,
            locator: &locator,
            params: &raw.params,
        };

        // Parameters first: the workloads' placeholders are checked against them.
        let mut param_positions = BTreeMap::new();
        for name in raw.params.keys() {
            let at = [Key("params"), Key(name)];
            if !is_identifier(name) {
                let fixed: String = name
                    .chars()
                    .map(|c| {
                        if is_identifier(&c.to_string()) {
                            c
                        } else {
                            '_'
                        }
                    })
                    .collect();
                return Err(checks.at_key(
                    &at,
                    format!("parameter name `{name}` must be letters, digits, `-` or `_` (it becomes the flag `--NAME`)"),
                    Some(format!("did you mean `{fixed}`?")),
                ));
            }
            if GLOBAL_FLAGS.contains(&name.as_str()) {
                let (message, help) = flag_clash(name);
                return Err(checks.at_key(&at, message, help));
            }
            if let Some(span) = locator.key(&at) {
                param_positions.insert(name.clone(), line_column(text, span.start));
            }
        }
        for name in raw.workloads.keys() {
            checks.workload_name(name)?;
        }
        let mut workloads = BTreeMap::new();
        for (name, workload) in raw.workloads {
            let workload = workload.into_inner();
            checks.workload(&[Key("workloads"), Key(&name)], &name, &workload, false)?;
            workloads.insert(name, workload);
        }
        if workloads.is_empty() {
            return Err(checks.at_key(
                &[],
                "no workload is declared".into(),
                Some("add a [workloads.NAME] table with `cargo_bin = \"...\"` or `command = \"...\"`".into()),
            ));
        }
        if let Some(default) = &raw.defaults.workload {
            if !workloads.contains_key(default.get_ref()) {
                let names: Vec<&str> = workloads.keys().map(String::as_str).collect();
                return Err(checks.at_value(
                    &[Key("defaults"), Key("workload")],
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
        checks.defaults(&raw.defaults)?;
        checks.thresholds(&raw.thresholds)?;
        checks.scales(&raw.scales)?;
        Ok(Config {
            path: path.to_path_buf(),
            root,
            defaults: raw.defaults,
            thresholds: raw.thresholds,
            params: raw.params,
            workloads,
            scales: raw.scales,
            param_positions,
        })
    }
}

/// The checks of loading, with what they need to point into the file.
struct Checks<'a> {
    path: &'a Path,
    text: &'a str,
    root: &'a Path,
    locator: &'a Locator<'a>,
    params: &'a BTreeMap<String, Param>,
}

impl Checks<'_> {
    fn error(
        &self,
        span: Option<Range<usize>>,
        message: String,
        help: Option<String>,
    ) -> ConfigError {
        ConfigError {
            path: self.path.to_path_buf(),
            position: span.map(|s| line_column(self.text, s.start)),
            message,
            help,
        }
    }

    /// An error at the key of `path` (what is set wrongly).
    fn at_key(&self, path: &[Step], message: String, help: Option<String>) -> ConfigError {
        self.error(self.locator.key(path), message, help)
    }

    /// An error at the value of `path` (a placeholder or name inside it).
    fn at_value(&self, path: &[Step], message: String, help: Option<String>) -> ConfigError {
        self.error(self.locator.value(path), message, help)
    }

    fn defaults(&self, defaults: &Defaults) -> Result<(), ConfigError> {
        let at = |key| [Key("defaults"), Key(key)];
        for (key, value) in [
            ("runs", u64::from(defaults.runs)),
            ("warmup", u64::from(defaults.warmup)),
            ("keep", defaults.keep as u64),
            ("annotate", defaults.annotate as u64),
        ] {
            let (_, bound, usual) = bounded_default(key).expect("a bounded key");
            if !bound.contains(value) {
                let (message, help) = out_of_bound(key, bound, usual, &value.to_string());
                return Err(self.at_key(&at(key), message, Some(help)));
            }
        }
        let count = defaults.events.len() as u64;
        if !bounds::EVENTS.contains(count) {
            return Err(self.at_key(
                &at("events"),
                format!(
                    "`defaults.events` lists {count} events: at most {} are allowed",
                    bounds::EVENTS.max
                ),
                Some("each event is one more profiled run: keep the ones to look at".into()),
            ));
        }
        for (i, event) in defaults.events.iter().enumerate() {
            if let Err(message) = check_event(event) {
                return Err(self.at_value(
                    &[Key("defaults"), Key("events"), Index(i)],
                    format!("`defaults.events`: {message}"),
                    Some(EVENT_FORM.into()),
                ));
            }
        }
        check_frequency(defaults.frequency).map_err(|(message, help)| {
            self.at_key(
                &at("frequency"),
                format!("`defaults.frequency`: {message}"),
                Some(help),
            )
        })?;
        self.seconds(&at("timeout"), "`defaults.timeout`", Some(defaults.timeout))?;
        for (key, value) in [
            ("results_dir", &defaults.results_dir),
            ("build_profile", &defaults.build_profile),
        ] {
            if value.trim().is_empty() {
                return Err(self.at_key(
                    &at(key),
                    format!("`defaults.{key}` must not be empty"),
                    Some(format!(
                        "remove the line to use the default ({})",
                        if key == "results_dir" {
                            "results"
                        } else {
                            "profiling"
                        }
                    )),
                ));
            }
        }
        Ok(())
    }

    fn thresholds(&self, t: &Thresholds) -> Result<(), ConfigError> {
        for (key, value) in [
            ("noise", t.noise),
            ("time", t.time),
            ("throughput", t.throughput),
            ("latency", t.latency),
            ("memory", t.memory),
            ("instructions", t.instructions),
        ] {
            if !(value.is_finite() && (0.0..=1e6).contains(&value)) {
                return Err(self.at_key(
                    &[Key("thresholds"), Key(key)],
                    format!("`thresholds.{key}` must be a percentage of 0 or more, not {value}"),
                    Some(
                        "allowed: a finite number from 0 to 1e6, in percent (5.0 means 5 %)".into(),
                    ),
                ));
            }
        }
        Ok(())
    }

    fn scales(&self, scales: &[Scale]) -> Result<(), ConfigError> {
        if !bounds::SCALES.contains(scales.len() as u64) {
            return Err(self.at_key(
                &[Key("scales"), Index(bounds::SCALES.max as usize)],
                format!(
                    "{} [[scales]] are declared: at most {} are allowed",
                    scales.len(),
                    bounds::SCALES.max
                ),
                Some("`--scale all` runs every one: keep the sizes worth comparing".into()),
            ));
        }
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (i, scale) in scales.iter().enumerate() {
            let at = |key| [Key("scales"), Index(i), Key(key)];
            if !is_label_form(&scale.name) {
                return Err(self.at_key(
                    &at("name"),
                    format!("scale name `{}` cannot name a directory", scale.name),
                    Some("use 1-64 letters, digits, `-`, `_` or `.`, not starting with `.`".into()),
                ));
            }
            if let Some(first) = seen.insert(&scale.name, i) {
                let first_line = self
                    .locator
                    .key(&[Key("scales"), Index(first), Key("name")])
                    .map(|s| line_column(self.text, s.start).0);
                return Err(self.at_key(
                    &at("name"),
                    format!("scale `{}` is declared twice", scale.name),
                    Some(match first_line {
                        Some(line) => format!("the first is on line {line}: rename one of them"),
                        None => "rename one of them".into(),
                    }),
                ));
            }
            for (key, value) in &scale.params {
                let Some(param) = self.params.get(key.get_ref()) else {
                    let (span, message, help) =
                        undeclared(key.get_ref(), key.span(), self.params, "scale");
                    return Err(self.error(Some(span), message, help));
                };
                if !param.default.accepts(&value.to_string()) {
                    return Err(self.error(
                        Some(key.span()),
                        format!(
                            "scale `{}` sets `{}` to `{value}`, but the parameter is {} (its default is {})",
                            scale.name,
                            key.get_ref(),
                            param.default.kind(),
                            param.default
                        ),
                        Some(format!("give {} value, like the default", an(param.default.kind()))),
                    ));
                }
            }
        }
        Ok(())
    }

    /// A workload's name follows the rule of labels: it is given on the
    /// command line and in titles, and becomes the label of a side of
    /// `profile-compare --side workload=NAME`.
    fn workload_name(&self, name: &str) -> Result<(), ConfigError> {
        let at = [Key("workloads"), Key(name)];
        if !is_label_form(name) {
            let fixed: String = name
                .trim_start_matches('.')
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                        c
                    } else {
                        '_'
                    }
                })
                .take(64)
                .collect();
            return Err(self.at_key(
                &at,
                format!(
                    "workload name `{name}` is not allowed: it names results and flags' values"
                ),
                Some(format!(
                    "allowed: 1-64 letters, digits, `-`, `_` or `.`, not starting with `.`{}",
                    if fixed.is_empty() {
                        String::new()
                    } else {
                        format!(" (like `{fixed}`)")
                    }
                )),
            ));
        }
        if RESERVED_LABELS.contains(&name) {
            return Err(self.at_key(
                &at,
                format!("workload name `{name}` is reserved: `latest` and `previous` name the newest result and the one before"),
                Some("rename the workload".into()),
            ));
        }
        Ok(())
    }

    /// Timeouts and durations: finite, positive, and small enough for a Duration.
    fn seconds(&self, path: &[Step], what: &str, value: Option<f64>) -> Result<(), ConfigError> {
        match value {
            Some(v) if !(v.is_finite() && v > 0.0 && v <= bounds::MAX_SECONDS) => Err(self.at_key(
                path,
                format!("{what} must be a positive number of seconds, not {v}"),
                Some(format!(
                    "allowed: more than 0 and at most {:e}",
                    bounds::MAX_SECONDS
                )),
            )),
            _ => Ok(()),
        }
    }

    fn workload<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
        nested: bool,
    ) -> Result<(), ConfigError> {
        let at =
            |rest: &[Step<'w>]| -> Vec<Step<'w>> { path.iter().chain(rest).copied().collect() };
        let targets = [
            ("cargo_bin", workload.cargo_bin.as_deref()),
            ("example", workload.example.as_deref()),
            ("bench", workload.bench.as_deref()),
            (
                "command",
                workload.command.as_ref().map(|c| c.get_ref().as_str()),
            ),
        ];
        let set: Vec<(&str, &str)> = targets
            .iter()
            .filter_map(|(key, value)| value.map(|v| (*key, v)))
            .collect();
        if set.len() != 1 {
            // Point at the target written last: the one to remove, when two are set.
            let last = set
                .iter()
                .filter_map(|(key, _)| self.locator.key(&at(&[Key(key)])).map(|s| (s.start, *key)))
                .max()
                .map(|(_, key)| key);
            let (path, which) = match last {
                Some(key) => (
                    at(&[Key(key)]),
                    format!(
                        " ({} set)",
                        set.iter()
                            .map(|(k, _)| format!("`{k}`"))
                            .collect::<Vec<_>>()
                            .join(" and ")
                    ),
                ),
                None => (path.to_vec(), " (none set)".to_string()),
            };
            return Err(self.at_key(
                &path,
                format!(
                    "workload `{name}` must set exactly one of `cargo_bin`, `example`, `bench`, `command`{which}"
                ),
                Some("`cargo_bin = \"my-bin\"` profiles a binary of this workspace; `command = \"prog\"` any program".into()),
            ));
        }
        let (target_key, target) = set[0];
        if target.trim().is_empty() {
            return Err(self.at_key(
                &at(&[Key(target_key)]),
                format!("workload `{name}`: `{target_key}` must not be empty"),
                Some(if target_key == "command" {
                    "name a program on PATH, or a path relative to profiling.toml".into()
                } else {
                    format!("name the {}", target_key.replace('_', " "))
                }),
            ));
        }
        let mut texts: Vec<(Vec<Step>, &str)> = Vec::new();
        for (i, arg) in workload.args.iter().enumerate() {
            texts.push((at(&[Key("args"), Index(i)]), arg.get_ref()));
        }
        for (key, value) in &workload.env {
            texts.push((at(&[Key("env"), Key(key)]), value.get_ref()));
        }
        for (key, value) in [
            ("command", &workload.command),
            ("cwd", &workload.cwd),
            ("filter", &workload.filter),
        ] {
            if let Some(value) = value {
                texts.push((at(&[Key(key)]), value.get_ref()));
            }
        }
        if let Some(ready) = &workload.ready {
            if let Some(port) = &ready.port {
                texts.push((at(&[Key("ready"), Key("port")]), port.get_ref()));
            }
            if let Some(line) = &ready.line {
                texts.push((at(&[Key("ready"), Key("line")]), line));
            }
        }
        for (place, text) in &texts {
            // The kernel takes argv, the environment and paths as C
            // strings: a NUL would fail every run, at spawn.
            if text.contains('\0') {
                return Err(self.at_value(
                    place,
                    format!("workload `{name}`: the value holds a NUL character (`\\u0000`), which no argument, environment variable or path can hold"),
                    Some("remove the `\\u0000`: allowed is any other text".into()),
                ));
            }
            let names = placeholder_names(text).map_err(|message| {
                self.at_value(
                    place,
                    message,
                    Some("write `{{` and `}}` for literal braces".into()),
                )
            })?;
            for placeholder in names {
                if !self.params.contains_key(&placeholder) {
                    let (_, message, help) =
                        undeclared(&placeholder, 0..0, self.params, "placeholder");
                    return Err(self.at_value(place, message, help));
                }
            }
        }
        for key in workload.env.keys() {
            if key.is_empty() || key.contains(['=', '\0']) {
                return Err(self.at_key(
                    &at(&[Key("env"), Key(key)]),
                    format!("workload `{name}`: environment variable name `{key}` is not valid"),
                    Some("a name is not empty and has no `=`".into()),
                ));
            }
        }
        if let Some(cwd) = &workload.cwd {
            let dir = cwd.get_ref();
            let fixed = placeholder_names(dir).is_ok_and(|names| names.is_empty());
            if fixed && !self.root.join(dir).is_dir() {
                return Err(self.at_value(
                    &at(&[Key("cwd")]),
                    format!(
                        "workload `{name}`: the working directory `{dir}` does not exist ({})",
                        self.root.join(dir).display()
                    ),
                    Some("`cwd` is relative to the directory of profiling.toml: create the directory or fix the path".into()),
                ));
            }
        }
        self.seconds(
            &at(&[Key("timeout")]),
            &format!("workload `{name}`: `timeout`"),
            workload.timeout,
        )?;
        self.seconds(
            &at(&[Key("profile_time")]),
            &format!("workload `{name}`: `profile_time`"),
            workload.profile_time,
        )?;
        self.seconds(
            &at(&[Key("run_for")]),
            &format!("workload `{name}`: `run_for`"),
            workload.run_for,
        )?;
        if let Some(signal) = &workload.stop_signal {
            if let Err(message) = parse_signal(signal.get_ref()) {
                return Err(self.at_value(
                    &at(&[Key("stop_signal")]),
                    format!("workload `{name}`: `stop_signal`: {message}"),
                    Some(format!(
                        "allowed: {}",
                        STOP_SIGNALS.map(|(n, _)| n).join(", ")
                    )),
                ));
            }
        }
        let mut names = BTreeMap::new();
        for (i, metric) in workload.metrics.iter().enumerate() {
            let metric_at = |key| at(&[Key("metrics"), Index(i), Key(key)]);
            if !is_identifier(&metric.name) {
                return Err(self.at_key(
                    &metric_at("name"),
                    format!("metric name `{}` of workload `{name}` must be letters, digits, `-` or `_`", metric.name),
                    Some("it names a column of tables and a measure of comparisons, like `records_per_sec`".into()),
                ));
            }
            if super::measures::is_builtin(&metric.name) {
                return Err(self.at_key(
                    &metric_at("name"),
                    format!(
                        "metric `{}` of workload `{name}` shadows a measure every run records",
                        metric.name
                    ),
                    Some(format!(
                        "rename the metric; taken: {}",
                        super::measures::BUILTIN_MEASURES
                            .iter()
                            .map(|m| m.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                ));
            }
            if let Some(first) = names.insert(metric.name.as_str(), i) {
                let line = self
                    .locator
                    .key(&at(&[Key("metrics"), Index(first), Key("name")]))
                    .map(|s| line_column(self.text, s.start).0);
                return Err(self.at_key(
                    &metric_at("name"),
                    format!(
                        "metric `{}` of workload `{name}` is declared twice",
                        metric.name
                    ),
                    Some(match line {
                        Some(line) => format!("the first is on line {line}: rename one of them"),
                        None => "rename one of them".into(),
                    }),
                ));
            }
            if metric.pattern.matches("{}").count() != 1 {
                return Err(self.at_key(
                    &metric_at("pattern"),
                    format!(
                        "metric `{}` of workload `{name}`: the pattern `{}` must contain `{{}}` exactly once",
                        metric.name, metric.pattern
                    ),
                    Some(format!("`{{}}` is where the number stands, as in `pattern = \"{}={{}}\"`", metric.name)),
                ));
            }
            if metric
                .pattern
                .split("{}")
                .next()
                .unwrap_or_default()
                .trim()
                .is_empty()
            {
                return Err(self.at_key(
                    &metric_at("pattern"),
                    format!(
                        "metric `{}` of workload `{name}`: the pattern `{}` needs text before `{{}}`",
                        metric.name, metric.pattern
                    ),
                    Some("the text before `{}` picks the output line the number is read from".into()),
                ));
            }
        }
        if let Some(ready) = &workload.ready {
            let ready_at = |key| at(&[Key("ready"), Key(key)]);
            self.seconds(
                &ready_at("timeout"),
                &format!("workload `{name}`: `ready.timeout`"),
                Some(ready.timeout),
            )?;
            if ready.port.is_none() && ready.line.is_none() {
                return Err(self.at_key(
                    &at(&[Key("ready")]),
                    format!("workload `{name}`: `ready` needs `port` or `line`"),
                    Some(
                        "`ready = { port = \"{port}\" }` or `ready = { line = \"listening\" }`"
                            .into(),
                    ),
                ));
            }
            if ready
                .line
                .as_deref()
                .is_some_and(|line| line.trim().is_empty())
            {
                return Err(self.at_key(
                    &ready_at("line"),
                    format!("workload `{name}`: `ready.line` must not be empty (every line would match)"),
                    Some("give text the server prints once it accepts requests, like `listening`".into()),
                ));
            }
            if let Some(port) = &ready.port {
                let defaults: BTreeMap<String, String> = self
                    .params
                    .iter()
                    .map(|(k, p)| (k.clone(), p.default.to_string()))
                    .collect();
                let expanded =
                    super::templates::expand(port.get_ref(), &defaults).unwrap_or_default();
                if !expanded.parse::<u16>().is_ok_and(|p| p > 0) {
                    let shown = if expanded == *port.get_ref() {
                        format!("`{expanded}`")
                    } else {
                        format!(
                            "`{}` (`{expanded}` with the parameters' defaults)",
                            port.get_ref()
                        )
                    };
                    return Err(self.at_value(
                        &ready_at("port"),
                        format!("workload `{name}`: `ready.port` {shown} is not a TCP port number"),
                        Some("allowed: a number from 1 to 65535, or a `{placeholder}` whose default is one".into()),
                    ));
                }
            }
        }
        if workload.ready.is_some() && workload.load.is_none() && workload.scenarios.is_empty() {
            return Err(self.at_key(
                &at(&[Key("ready")]),
                format!(
                    "workload `{name}` has `ready` but no `load`: a server needs a load scenario"
                ),
                Some(format!("add [workloads.{name}.load] with the load command")),
            ));
        }
        if let Some(load) = &workload.load {
            if nested {
                return Err(self.at_key(
                    &at(&[Key("load")]),
                    "a load scenario cannot have its own load".into(),
                    Some("move it to a workload of its own".into()),
                ));
            }
            if workload.ready.is_none() {
                return Err(self.at_key(
                    &at(&[Key("load")]),
                    format!("workload `{name}` has a `load` but no `ready` check"),
                    Some(
                        "add `ready = { port = \"{port}\" }` or `ready = { line = \"listening\" }`"
                            .into(),
                    ),
                ));
            }
            self.workload(
                &at(&[Key("load")]),
                &format!("{name}.load"),
                load.get_ref(),
                true,
            )?;
        }
        for (scenario, load) in &workload.scenarios {
            let here = at(&[Key("scenarios"), Key(scenario)]);
            if nested {
                return Err(self.at_key(
                    &here,
                    "a load scenario cannot have scenarios of its own".into(),
                    Some("move them to the server's workload".into()),
                ));
            }
            if workload.ready.is_none() {
                return Err(self.at_key(
                    &here,
                    format!("workload `{name}` has a scenario but no `ready` check"),
                    Some(
                        "add `ready = { port = \"{port}\" }` or `ready = { line = \"listening\" }`"
                            .into(),
                    ),
                ));
            }
            if scenario == "all" || validate_label(scenario).is_err() {
                return Err(self.at_key(
                    &here,
                    format!("scenario name `{scenario}` cannot name a result"),
                    Some("use 1-64 letters, digits, `-`, `_` or `.`, not starting with `.`, and not `all` (it means every scenario), `latest` or `previous` (they name results)".into()),
                ));
            }
            self.workload(
                &here,
                &format!("{name}.scenarios.{scenario}"),
                load.get_ref(),
                true,
            )?;
        }
        Ok(())
    }
}

/// The counts of `[defaults]`: key, bound, and what is usual (for the hint).
const BOUNDED_DEFAULTS: [(&str, Bound, &str); 4] = [
    ("runs", bounds::RUNS, "5 is usual"),
    ("warmup", bounds::WARMUP, "1 is usual"),
    ("keep", bounds::KEEP, "0 keeps only pinned results"),
    ("annotate", bounds::ANNOTATE, "0 turns it off"),
];

fn bounded_default(key: &str) -> Option<(&'static str, Bound, &'static str)> {
    BOUNDED_DEFAULTS.into_iter().find(|(k, _, _)| *k == key)
}

/// The error of the bounded count of `[defaults]` whose value stands at
/// `span`, if one does.
fn bounded_default_at(text: &str, span: Range<usize>) -> Option<(String, String)> {
    let locator = Locator::new(text);
    let (key, bound, usual) = BOUNDED_DEFAULTS
        .into_iter()
        .find(|(key, _, _)| locator.value(&[Key("defaults"), Key(key)]) == Some(span.clone()))?;
    Some(out_of_bound(key, bound, usual, text.get(span)?.trim()))
}

/// The message and help of `defaults.KEY = value`, out of its bound.
fn out_of_bound(key: &str, bound: Bound, usual: &str, value: &str) -> (String, String) {
    (
        format!("`defaults.{key}` must be {bound}, not {value}"),
        format!(
            "allowed: a whole number of {} {bound} ({usual})",
            bound.what
        ),
    )
}

/// "a" or "an" before a kind's name.
fn an(kind: &str) -> String {
    let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {kind}")
}

/// The highest perf sampling frequency the kernel accepts: its
/// `perf_event_max_sample_rate` (which it may lower itself when sampling
/// takes too long), else the kernel's default of 100000 Hz.
fn max_sample_rate() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|hz| *hz > 0)
        .unwrap_or(100_000)
}

/// What `check_event` allows, for the errors' hint.
const EVENT_FORM: &str = "allowed: one perf event per entry, as `perf list` names it: letters, digits, \
`-`, `_`, `.` and `:` (`page-faults`, `cache-misses`, `sched:sched_switch`, `cycles:u`, `r003c`), \
or a PMU event `PMU/TERM=VALUE,.../` (`cpu/event=0x3c,umask=0x0/`); several events are several entries";

/// A perf event of `defaults.events`, by its form: perf itself says at
/// run time whether it knows the event, but each entry must be one event
/// (one profiled run, one flamegraph) that perf cannot take for an option,
/// a list or a group.
fn check_event(event: &str) -> Result<(), String> {
    let not = |why: &str| {
        Err(format!(
            "`{}` is not a perf event name: {why}",
            event.escape_debug()
        ))
    };
    if event.is_empty() {
        return not("it is empty");
    }
    if event.len() > 256 {
        return not("it is longer than 256 bytes");
    }
    if !event.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return not("it must start with a letter or digit");
    }
    if let Some(bad) = event
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.:/=,".contains(*c)))
    {
        return not(&format!("`{}` is not allowed in it", bad.escape_debug()));
    }
    // A PMU event is `pmu/terms/` with optional modifiers: its terms are
    // the only place a comma may stand.
    let slashes = event.matches('/').count();
    if slashes != 0 && slashes != 2 {
        return not("a PMU event is written `PMU/TERM=VALUE,.../`, with two `/`");
    }
    let outside_terms = if slashes == 2 {
        let (pmu, rest) = event.split_once('/').unwrap_or_default();
        let modifiers = rest.split_once('/').map_or("", |(_, m)| m);
        format!("{pmu}{modifiers}")
    } else {
        event.to_string()
    };
    if outside_terms.contains(',') || outside_terms.contains('=') {
        return not("one event per entry: write `[\"a\", \"b\"]`, not `[\"a,b\"]`");
    }
    Ok(())
}

/// A sampling frequency, in Hz, from 1 to the kernel's maximum: what is
/// wrong with it and the allowed range.
fn check_frequency(hz: u32) -> Result<(), (String, String)> {
    let max = max_sample_rate();
    if hz == 0 || hz > max {
        return Err((
            format!("the sampling frequency must be from 1 to {max} Hz, not {hz}"),
            format!("allowed: 1 to {max} (kernel.perf_event_max_sample_rate); 997 is usual, 99 for long runs"),
        ));
    }
    Ok(())
}

/// `--freq HZ` on the command line: the same check as `defaults.frequency`.
pub fn parse_frequency(text: &str) -> Result<u32, String> {
    let hz: u32 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number of Hz"))?;
    check_frequency(hz).map_err(|(message, help)| format!("{message}\n  help: {help}"))?;
    Ok(hz)
}

/// The signals a program may be asked to stop with (`stop_signal`): those
/// whose default action ends it, and that a program may catch to end cleanly.
const STOP_SIGNALS: [(&str, i32); 6] = [
    ("SIGINT", libc::SIGINT),
    ("SIGTERM", libc::SIGTERM),
    ("SIGHUP", libc::SIGHUP),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGUSR2", libc::SIGUSR2),
];

/// `stop_signal`: `SIGINT` or `INT` (any case) to the signal's number.
pub fn parse_signal(text: &str) -> Result<i32, String> {
    let upper = text.trim().to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    STOP_SIGNALS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, number)| *number)
        .ok_or_else(|| format!("`{text}` is not a signal a program can be stopped with"))
}

/// `--run-for SECONDS` on the command line: as `run_for` in a workload.
pub fn parse_run_for(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= bounds::MAX_SECONDS => {
            Ok(seconds)
        }
        _ => Err(format!(
            "`{text}` is not a positive number of seconds (more than 0, at most {:e})",
            bounds::MAX_SECONDS
        )),
    }
}

/// The flags of the command line itself rather than of one task, the same
/// whatever the tasks are: loading rejects a parameter named like one. (A
/// parameter becomes a `--NAME` flag of every task, and a second `--NAME`
/// makes clap panic.) `version` is clap's other built-in flag, `--version`
/// of the command itself. The tasks' own flags are known
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
                    position: self.param_positions.get(name).copied(),
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
mod bad_configs;
#[cfg(test)]
mod tests;
