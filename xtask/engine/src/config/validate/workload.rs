//! The checks of a `[workloads.NAME]` table, and of the load scenarios
//! nested in it.

use super::values::{is_label_form, parse_signal, validate_label, RESERVED_LABELS, STOP_SIGNALS};
use super::{line_column, undeclared, Checks, ConfigError};
use crate::config::locate::{Index, Key, Step};
use crate::config::schema::{Ready, Workload};
use crate::config::templates::{is_identifier, placeholder_names};
use std::collections::BTreeMap;

impl Checks<'_> {
    /// A workload's name follows the rule of labels: it is given on the
    /// command line and in titles, and becomes the label of a side of
    /// `profile-compare --side workload=NAME`.
    pub(super) fn workload_name(&self, name: &str) -> Result<(), ConfigError> {
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

    /// A workload table, check by check in the order of its errors; `nested`
    /// when it is the load or a scenario of another workload.
    pub(super) fn workload<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
        nested: bool,
    ) -> Result<(), ConfigError> {
        self.target(path, name, workload)?;
        self.texts(path, name, workload)?;
        self.env_names(path, name, workload)?;
        self.cwd(path, name, workload)?;
        self.durations(path, name, workload)?;
        self.stop_signal(path, name, workload)?;
        self.metrics(path, name, workload)?;
        self.ops(path, name, workload, nested)?;
        if let Some(ready) = &workload.ready {
            self.ready(path, name, ready)?;
        }
        self.server_load(path, name, workload)?;
        self.service_life(path, name, workload, nested)?;
        self.load(path, name, workload, nested)?;
        self.scenarios(path, name, workload, nested)
    }

    /// Exactly one of the four targets, and not an empty one.
    pub(super) fn target<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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
        Ok(())
    }

    /// Every text a run expands and hands to the kernel: no NUL, and
    /// placeholders that are well formed and name declared parameters.
    pub(super) fn texts<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        for (place, text) in &placed_texts(path, workload) {
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
        Ok(())
    }

    /// Environment variable names the kernel can set.
    pub(super) fn env_names<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
        for key in workload.env.keys() {
            if key.is_empty() || key.contains(['=', '\0']) {
                return Err(self.at_key(
                    &at(&[Key("env"), Key(key)]),
                    format!("workload `{name}`: environment variable name `{key}` is not valid"),
                    Some("a name is not empty and has no `=`".into()),
                ));
            }
        }
        Ok(())
    }

    /// A working directory that exists, unless a placeholder names it.
    pub(super) fn cwd<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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
        Ok(())
    }

    /// The workload's durations, each a usable number of seconds.
    pub(super) fn durations<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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
        Ok(())
    }

    /// A signal a program can be stopped with.
    pub(super) fn stop_signal<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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
        Ok(())
    }

    /// Metrics with names of their own and a pattern that finds their number.
    fn metrics<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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
            if crate::config::measures::is_builtin(&metric.name) {
                return Err(self.at_key(
                    &metric_at("name"),
                    format!(
                        "metric `{}` of workload `{name}` shadows a measure every run records",
                        metric.name
                    ),
                    Some(format!(
                        "rename the metric; taken: {}",
                        crate::config::measures::BUILTIN_MEASURES
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
        Ok(())
    }

    /// The readiness check of a server: what it waits for, and how long.
    pub(super) fn ready<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        ready: &'w Ready,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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
                    "`ready = { port = \"{port}\" }` or `ready = { line = \"listening\" }`".into(),
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
                format!(
                    "workload `{name}`: `ready.line` must not be empty (every line would match)"
                ),
                Some(
                    "give text the server prints once it accepts requests, like `listening`".into(),
                ),
            ));
        }
        if let Some(port) = &ready.port {
            let defaults: BTreeMap<String, String> = self
                .params
                .iter()
                .map(|(k, p)| (k.clone(), p.default.to_string()))
                .collect();
            let expanded =
                crate::config::templates::expand(port.get_ref(), &defaults).unwrap_or_default();
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
        Ok(())
    }

    /// A server (a workload with `ready`) has a load to be measured under.
    fn server_load<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
        if workload.ready.is_some() && workload.load.is_none() && workload.scenarios.is_empty() {
            return Err(self.at_key(
                &at(&[Key("ready")]),
                format!(
                    "workload `{name}` has `ready` but no `load`: a server needs a load scenario"
                ),
                Some(format!("add [workloads.{name}.load] with the load command")),
            ));
        }
        Ok(())
    }

    /// A load scenario: only a server's, and not one of its own.
    fn load<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
        nested: bool,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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
        Ok(())
    }

    /// Named load scenarios: only a server's, under names a result can take.
    fn scenarios<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
        nested: bool,
    ) -> Result<(), ConfigError> {
        let at = |rest: &[Step<'w>]| under(path, rest);
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

/// `path` followed by `rest`: the place of a key inside a workload's table.
pub(super) fn under<'w>(path: &[Step<'w>], rest: &[Step<'w>]) -> Vec<Step<'w>> {
    path.iter().chain(rest).copied().collect()
}

/// The texts of a workload that a run expands and passes as arguments,
/// environment values or paths, each with its place in the file.
fn placed_texts<'w>(path: &[Step<'w>], workload: &'w Workload) -> Vec<(Vec<Step<'w>>, &'w str)> {
    let at = |rest: &[Step<'w>]| under(path, rest);
    let mut texts: Vec<(Vec<Step<'w>>, &'w str)> = Vec::new();
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
    texts
}
