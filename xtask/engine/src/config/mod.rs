//! `profiling.toml`: what to run and how — the one file a project edits to
//! adopt the xtask.
//!
//! Loading is strict on purpose: unknown keys, wrong types, undeclared
//! `{placeholders}` and references to missing workloads are errors that name
//! the file, line and column, with a suggestion where one is likely. A config
//! that loads is one every task can run without further checks.
//!
//! This file holds the [`Config`] type: finding, loading and querying it.
//! The file's serde types are in `schema`, the strict checks and their
//! errors in `validate`, the `{placeholder}` templates in `templates`; every
//! public item is re-exported here, so users name `crate::config::X`.

pub mod adhoc;
pub mod bounds;
mod locate;
pub mod measures;
pub mod operations;
pub mod project_files;
mod schema;
pub mod sides;
pub mod starter;
mod templates;
pub mod thin_xtask;
/// The label of one result of a task that may run several load scenarios:
/// `--label` as given (with the scenario's name appended when the task
/// writes one result per scenario), else the scenario's name (so a run of
/// the `burst` scenario is found at `results/<timestamp>-burst/`), else the
/// task's own default.
pub fn scenario_label(
    label: Option<&str>,
    scenario: Option<&str>,
    several: bool,
    default: &str,
) -> String {
    match (label, scenario) {
        (Some(label), Some(scenario)) if several => format!("{label}-{scenario}"),
        (Some(label), _) => label.to_string(),
        (None, Some(scenario)) => scenario.to_string(),
        (None, None) => default.to_string(),
    }
}

#[cfg(test)]
mod test_support;
mod validate;

pub use adhoc::AdHoc;
pub use measures::BUILTIN_MEASURES;
pub use schema::{
    Better, CallGraph, Defaults, MemoryTool, Metric, Param, Ready, Scale, Target, Thresholds,
    Workload,
};
pub use sides::{BenchmarkRef, SideSpec};
pub use templates::expand;
pub use validate::{
    parse_frequency, parse_label, parse_run_for, parse_signal, suggest, validate_label, ConfigError,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const FILE_NAME: &str = "profiling.toml";

/// The project root, where profiling.toml lives by default and results go:
/// found from the xtask crate cargo runs (`cargo xtask`), or from the
/// current directory when this process is the installed `cargo profile`
/// (see [`find_root_from_current_dir`]).
pub fn project_root() -> PathBuf {
    // Asked by many steps of one task; the answer cannot change meanwhile.
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| match ROOT_FROM.get() {
        Some(RootFrom::CurrentDir) => {
            // A current directory that is gone (or unreadable) leaves `.`,
            // which then fails with the OS's own words at its first use.
            let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("."));
            root_from(&cwd)
        }
        None => root_of_xtask_crate(),
    })
    .clone()
}

/// How the root is found: see [`project_root`].
enum RootFrom {
    CurrentDir,
}

static ROOT_FROM: std::sync::OnceLock<RootFrom> = std::sync::OnceLock::new();

/// Makes [`project_root`] the current directory's project: for a binary
/// installed with `cargo install`, which belongs to no project, and which
/// cargo runs as a subcommand without CARGO_MANIFEST_DIR. Called first
/// thing, before anything asks for the root.
pub fn find_root_from_current_dir() {
    let _ = ROOT_FROM.set(RootFrom::CurrentDir);
}

/// The project `dir` belongs to: the nearest directory at or above it with
/// a profiling.toml, else the Cargo project holding it, else `dir` itself
/// (a C, Go or Zig project, or a directory with a program and nothing else).
fn root_from(dir: &Path) -> PathBuf {
    dir.ancestors()
        .find(|d| d.join(FILE_NAME).is_file())
        .map(Path::to_path_buf)
        .or_else(|| project_of(dir))
        .unwrap_or_else(|| dir.to_path_buf())
}

/// The root of `cargo xtask`: the directory above the running xtask's crate
/// when that crate is a workspace of its own (the thin xtask `adopt`
/// writes, which stays out of the project's workspace); else the nearest
/// directory above it whose Cargo.toml declares a `[workspace]` (the crate
/// may sit at `xtask/` or deeper, and a project's own xtask may be the one
/// running, with these tasks mounted), else the directory above the crate.
///
/// The crate is the one `cargo run` says (it sets CARGO_MANIFEST_DIR for the
/// program too), not the one this was compiled in: with a target directory
/// shared between projects, the binary may have been built in another one.
fn root_of_xtask_crate() -> PathBuf {
    let at_runtime = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let manifest_dir = at_runtime
        .as_deref()
        .filter(|dir| dir.join("Cargo.toml").is_file())
        .unwrap_or(Path::new(env!("CARGO_MANIFEST_DIR")));
    if declares_workspace(&manifest_dir.join("Cargo.toml")) {
        if let Some(parent) = manifest_dir.parent() {
            return parent.to_path_buf();
        }
    }
    manifest_dir
        .ancestors()
        .skip(1)
        .find(|dir| declares_workspace(&dir.join("Cargo.toml")))
        .or(manifest_dir.parent())
        .unwrap_or(manifest_dir)
        .to_path_buf()
}

/// Where a `command` typed in `base` is, as a shell finds it: a path (it
/// has a `/`) from `base`, a bare name on PATH; `None` for a name that is
/// not on PATH.
pub fn program_path(command: &str, base: &Path) -> Option<PathBuf> {
    match command.contains('/') {
        true => Some(base.join(command)),
        false => which::which(command).ok(),
    }
}

/// How the user runs the tasks (`cargo xtask`, `cargo profile`, `cargo
/// xtask profile`), for the commands messages tell them to type.
pub fn command_name() -> &'static str {
    COMMAND_NAME.get().map_or("cargo xtask", String::as_str)
}

static COMMAND_NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Sets [`command_name`], once, from the entry point's name.
pub fn set_command_name(name: &str) {
    let _ = COMMAND_NAME.set(name.to_string());
}

/// Whether `dir` lies in a Cargo project (a Cargo.toml at or above it):
/// what `cargo_bin`, `example` and `bench` workloads, revisions and the
/// starter from `cargo metadata` need.
pub fn in_cargo_project(dir: &Path) -> bool {
    std::path::absolute(dir)
        .is_ok_and(|dir| dir.ancestors().any(|d| d.join("Cargo.toml").is_file()))
}

/// A config's root (see [`Config::root`]): the directory of the file, when
/// that lies in a Cargo project or holds the current directory (a C, Go or
/// Zig project's own profiling.toml); a file elsewhere (a scratch config in
/// /tmp, given with `--config`) belongs to the project of the current
/// directory, whose binaries its `cargo_bin` workloads name. With no
/// project there either, the file's directory.
pub(crate) fn root_of(path: &Path) -> PathBuf {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let cwd = std::env::current_dir().ok();
    let holds_cwd = cwd
        .as_deref()
        .is_some_and(|cwd| std::path::absolute(dir).is_ok_and(|dir| cwd.starts_with(dir)));
    if holds_cwd || in_cargo_project(dir) {
        return dir.to_path_buf();
    }
    cwd.and_then(|cwd| project_of(&cwd))
        .unwrap_or_else(|| dir.to_path_buf())
}

/// The root of the Cargo project holding `dir`: the nearest directory
/// declaring `[workspace]`, else the nearest package.
fn project_of(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| declares_workspace(&d.join("Cargo.toml")))
        .or_else(|| dir.ancestors().find(|d| d.join("Cargo.toml").is_file()))
        .map(Path::to_path_buf)
}

fn declares_workspace(manifest: &Path) -> bool {
    std::fs::read_to_string(manifest).is_ok_and(|text| {
        text.parse::<toml::Table>()
            .is_ok_and(|table| table.contains_key("workspace"))
    })
}

/// Parameter values given on the command line, by parameter name.
pub type ParamFlags = BTreeMap<String, String>;

#[derive(Debug, Clone)]
pub struct Config {
    /// The file this was loaded from.
    pub path: PathBuf,
    /// The directory holding the file (or, for a file outside any Cargo
    /// project, the project of the current directory, see [`root_of`]):
    /// relative paths in it are relative to this, workloads are built here.
    pub root: PathBuf,
    pub defaults: Defaults,
    pub thresholds: Thresholds,
    /// Declared parameters, by name.
    pub params: BTreeMap<String, Param>,
    pub workloads: BTreeMap<String, Workload>,
    pub scales: Vec<Scale>,
    /// Where each parameter is declared (line, column), for errors about it
    /// found after loading (a clash with a task flag).
    pub(crate) param_positions: BTreeMap<String, (usize, usize)>,
    /// The program given after `--`, when the task runs one (see
    /// [`Config::with_program`]): one of `workloads`, and the default.
    pub adhoc: Option<AdHoc>,
}

impl Config {
    /// Finds `profiling.toml`: the given path, else the workspace root.
    pub fn locate(explicit: Option<&Path>) -> PathBuf {
        match explicit {
            Some(path) => path.to_path_buf(),
            None => project_root().join(FILE_NAME),
        }
    }

    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let bytes = std::fs::read(path).map_err(|e| ConfigError {
            path: path.to_path_buf(),
            position: None,
            message: format!("cannot read the file: {e}"),
            help: Some(format!(
                "create {FILE_NAME} at the workspace root (the `init` task writes a starter one; \
                 every key is in docs/config.md of the xtask-profiling repository), or pass \
                 --config PATH"
            )),
        })?;
        let text = validate::utf8(path, &bytes)?;
        Config::parse(path, text)
    }

    /// The workload a task runs: the named one, else `defaults.workload`, else
    /// the only one declared.
    pub fn workload(&self, name: Option<&str>) -> anyhow::Result<(&str, &Workload)> {
        if self.workloads.is_empty() {
            let command = command_name();
            anyhow::bail!(
                "there is no {FILE_NAME} in {} (nor above it): give the program to run after `--` \
                 (`{command} flamegraph -- ./prog args`), or write a {FILE_NAME} with `{command} init`",
                self.root.display()
            );
        }
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

#[cfg(test)]
mod tests {
    use super::test_support::{parse, MINIMAL};
    use super::*;

    #[test]
    fn the_shipped_config_loads() {
        let path = project_root().join(FILE_NAME);
        let config = Config::load(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.workload(None).unwrap().0, "demo");
        assert!(config.params.contains_key("subs"));
        assert!(config.workloads["service"].is_service());
        // The scenarios declare no metrics: they take the load's.
        for scenario in config.workloads["service"].scenarios.values() {
            let metrics: Vec<&str> = scenario
                .get_ref()
                .metrics
                .iter()
                .map(|m| m.name.as_str())
                .collect();
            assert_eq!(metrics, ["ops", "ops_per_sec", "p99_latency"]);
            assert!(
                scenario.get_ref().ops.is_some(),
                "and how it counts operations"
            );
        }
        assert_eq!(config.scales.len(), 4);
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
}
