//! The strict checks of loading: [`Config::parse`] turns the file's text
//! into a [`Config`] or a [`ConfigError`] that names the file, line and
//! column, with a "did you mean" where a likely fix exists. Everything a task
//! would otherwise trip over later is rejected here: workloads without
//! exactly one target, undeclared placeholders, parameters that would clash
//! with task flags, numbers that would break a run, scales that cannot name
//! a directory.
//!
//! The checks of the file's tables are in `sections` (`[defaults]`,
//! `[thresholds]`, `[[scales]]`) and `workload` (`[workloads.NAME]`); the
//! values the command line takes too (labels, frequencies, signals) in
//! `values`.

mod ops;
mod sections;
mod service;
mod values;
mod workload;

use super::locate::{Key, Locator, Step};
use super::schema::{Param, RawConfig, Workload};
use super::templates::is_identifier;
use super::Config;
use sections::bounded_default_at;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};
use toml::Spanned;
pub use values::{parse_frequency, parse_label, parse_run_for, parse_signal, validate_label};

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
        let raw: RawConfig = toml::from_str(text).map_err(|e| toml_error(path, text, &e))?;
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
        let param_positions = checks.param_names()?;
        let workloads = checks.workloads(raw.workloads)?;
        checks.default_workload(raw.defaults.workload.as_ref(), &workloads)?;
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
            adhoc: None,
        })
    }
}

/// The error of a file serde cannot read: the first sentence of its
/// message, with the hint of a likely fix.
fn toml_error(path: &Path, text: &str, e: &toml::de::Error) -> ConfigError {
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
}

impl Checks<'_> {
    /// The parameters' names, each a valid flag name, and where each is
    /// declared (for the errors of checks made after loading).
    fn param_names(&self) -> Result<BTreeMap<String, (usize, usize)>, ConfigError> {
        let mut param_positions = BTreeMap::new();
        for name in self.params.keys() {
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
                return Err(self.at_key(
                    &at,
                    format!("parameter name `{name}` must be letters, digits, `-` or `_` (it becomes the flag `--NAME`)"),
                    Some(format!("did you mean `{fixed}`?")),
                ));
            }
            if GLOBAL_FLAGS.contains(&name.as_str()) {
                let (message, help) = flag_clash(name);
                return Err(self.at_key(&at, message, help));
            }
            if let Some(span) = self.locator.key(&at) {
                param_positions.insert(name.clone(), line_column(self.text, span.start));
            }
        }
        Ok(param_positions)
    }

    /// Every workload with its checks, and at least one of them.
    fn workloads(
        &self,
        raw: BTreeMap<String, Spanned<Workload>>,
    ) -> Result<BTreeMap<String, Workload>, ConfigError> {
        for name in raw.keys() {
            self.workload_name(name)?;
        }
        let mut workloads = BTreeMap::new();
        for (name, workload) in raw {
            let mut workload = workload.into_inner();
            self.workload(&[Key("workloads"), Key(&name)], &name, &workload, false)?;
            workload.scenarios_inherit();
            workloads.insert(name, workload);
        }
        if workloads.is_empty() {
            return Err(self.at_key(
                &[],
                "no workload is declared".into(),
                Some("add a [workloads.NAME] table with `cargo_bin = \"...\"` or `command = \"...\"`".into()),
            ));
        }
        Ok(workloads)
    }

    /// `defaults.workload`, if set, names a declared workload.
    fn default_workload(
        &self,
        default: Option<&Spanned<String>>,
        workloads: &BTreeMap<String, Workload>,
    ) -> Result<(), ConfigError> {
        if let Some(default) = default {
            if !workloads.contains_key(default.get_ref()) {
                let names: Vec<&str> = workloads.keys().map(String::as_str).collect();
                return Err(self.at_value(
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
        Ok(())
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
