//! `init --ci github`: the workflow of `reports::ci_workflow`, made for this
//! project: the command that runs the tasks here (and how the runner gets
//! it), where the project lies in its repository, its results directory,
//! and the workload and gauge a comparison of two revisions can use.

use crate::config::{Config, Target, Workload};
use crate::reports::ci_workflow::{self, Gauge, GithubWorkflow};
use crate::reports::stdout::outln;
use crate::runs::{git, revisions};
use crate::tasks::invocation::Invocation;
use crate::tools::cargo_install;
use anyhow::{bail, Context};
use std::path::Path;

/// Where the workflow runs.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// GitHub Actions: .github/workflows/profiling.yml at the repository's root.
    Github,
}

/// Interleaved pairs of timed runs when a bench is compared: with 5, the
/// signed-rank test of the pairs can never reach 5 %.
const BENCH_PAIRS: u32 = 10;

/// Writes the workflow; first the starter profiling.toml (`starter`) when
/// the project has none. Refuses to replace a workflow without `force`.
pub fn run(
    invocation: &Invocation,
    force: bool,
    service: Service,
    starter: impl FnOnce() -> anyhow::Result<u8>,
) -> anyhow::Result<u8> {
    let Service::Github = service;
    let config_path = &invocation.config_path;
    let root = crate::config::root_of(config_path);
    let root = root
        .canonicalize()
        .with_context(|| format!("cannot read the project's directory {}", root.display()))?;
    let Some(repo) = git::toplevel(&root).and_then(|top| top.canonicalize().ok()) else {
        bail!(
            "{} is not in a git repository: the workflow compares a pull request's git \
             revisions, and GitHub reads it from the repository's .github/workflows/. Run `git \
             init` (and push the repository to GitHub), then this again",
            root.display()
        );
    };
    let path = repo.join(ci_workflow::GITHUB_WORKFLOW);
    if path.exists() && !force {
        bail!(
            "{} already exists: edit it, or pass --force to replace it with a new one",
            path.display()
        );
    }
    let loaded;
    let config = if config_path.exists() {
        invocation.config()?
    } else {
        let code = starter()?;
        if code != 0 {
            return Ok(code);
        }
        loaded = Config::load(config_path)?;
        &loaded
    };
    let directory = match root.strip_prefix(&repo) {
        Ok(inside) if inside.as_os_str().is_empty() => None,
        Ok(inside) => Some(
            inside
                .to_str()
                .with_context(|| format!("{} is not UTF-8", inside.display()))?
                .to_string(),
        ),
        Err(_) => bail!("{} is not inside {}", root.display(), repo.display()),
    };
    let (workload, name, gauge) = compared_workload(config, config_path)?;
    let (command, install) = command_here(crate::config::command_name());
    let workflow = GithubWorkflow {
        command: command.clone(),
        install,
        directory,
        results_dir: config.defaults.results_dir.clone(),
        workload,
        gauge,
    };
    let text = workflow
        .render()
        .map_err(|e| anyhow::anyhow!("{e} ({})", config_path.display()))?;
    crate::results::write_atomically(&path, text)?;
    let how = match gauge {
        Gauge::Instructions => "instruction counts under callgrind".to_string(),
        Gauge::Timings { runs } => format!("{runs} interleaved pairs of timed invocations"),
    };
    outln!(
        "wrote {}: on each pull request, `{command} profile-compare` of workload `{name}` at the \
         base and head revisions ({how}), its table in the job's summary, the flamegraphs and the \
         results page as the run's artifacts; a regression fails the job",
        path.display()
    );
    outln!(
        "next: commit it with profiling.toml and open a pull request; to try its comparison \
         here first: `{command} profile-compare --rev main --rev HEAD{}`",
        match gauge {
            Gauge::Instructions => " --counter instructions",
            Gauge::Timings { .. } => "",
        }
    );
    Ok(0)
}

/// The workload the workflow compares — `None` for the config's default —
/// its name, and what decides: instruction counts, or timings for a
/// criterion bench, whose instruction count grows with its speed (it runs
/// for a set time).
fn compared_workload(
    config: &Config,
    config_path: &Path,
) -> anyhow::Result<(Option<String>, String, Gauge)> {
    let gauge = |workload: &Workload| match workload.target() {
        Target::Bench(_) => Gauge::Timings {
            runs: BENCH_PAIRS.max(config.defaults.runs),
        },
        _ => Gauge::Instructions,
    };
    let default = config.workload(None).ok();
    let refusal = match default {
        Some((name, workload)) => match revisions::check_workload(name, workload, true) {
            Ok(()) => return Ok((None, name.to_string(), gauge(workload))),
            Err(why) => Some(why),
        },
        None => None,
    };
    let fit = config
        .workloads
        .iter()
        .find(|(name, workload)| revisions::check_workload(name, workload, true).is_ok());
    match (fit, refusal) {
        (Some((name, workload)), refusal) => {
            if let Some(why) = refusal {
                eprintln!(
                    "note: the default workload cannot be compared at two revisions ({why:#}): \
                     the workflow compares `{name}` (--workload {name})"
                );
            }
            Ok((Some(name.clone()), name.clone(), gauge(workload)))
        }
        (None, refusal) => bail!(
            "{}no workload of {} can be built at two revisions: the workflow builds the base \
             and the head of a pull request with cargo, so it needs a `cargo_bin`, `example` or \
             `bench` workload that runs once and exits (a short representative input)",
            refusal.map(|why| format!("{why:#}; ")).unwrap_or_default(),
            config_path.display()
        ),
    }
}

/// The command words the workflow runs the tasks with, as they were typed
/// here, and the line that installs them on the runner when they come from
/// an installed binary rather than the project's own xtask.
fn command_here(typed: &str) -> (String, Option<String>) {
    let command = typed.to_string();
    let is_xtask = typed == "cargo xtask" || typed.starts_with("cargo xtask ");
    if is_xtask {
        return (command, None);
    }
    let exe = std::env::current_exe().ok();
    let installed = exe.as_deref().and_then(cargo_install::installed);
    let same = installed.as_ref().and_then(|i| i.install_args());
    let install = match same {
        Some(args) => ci_workflow::shell_line(&args),
        None => {
            let bin = exe
                .as_deref()
                .and_then(|e| e.file_name())
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "cargo-profile".into());
            let from = match installed.map(|i| i.source) {
                Some(cargo_install::Source::Path(dir)) => {
                    format!("from {dir}, a directory of this machine")
                }
                Some(cargo_install::Source::Other(source)) => format!("from {source}"),
                _ => "not by `cargo install`".into(),
            };
            eprintln!(
                "warning: {bin} was installed {from}: the workflow installs it from crates.io \
                 (`cargo install --locked {bin}`); edit its step \"Install the profiling tasks\" \
                 if it comes from elsewhere (`--git URL --rev COMMIT`)"
            );
            ci_workflow::shell_line(&["cargo".into(), "install".into(), "--locked".into(), bin])
        }
    };
    (command, Some(install))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn compared(text: &str) -> anyhow::Result<(Option<String>, String, Gauge)> {
        let path = Path::new("profiling.toml");
        let config = Config::parse(path, text).unwrap_or_else(|e| panic!("{e}"));
        compared_workload(&config, path)
    }

    #[test]
    fn a_program_is_counted_and_a_bench_timed_in_enough_pairs() {
        let program = "[workloads.app]\ncargo_bin = \"app\"\n";
        assert_eq!(
            compared(program).unwrap(),
            (None, "app".into(), Gauge::Instructions)
        );
        let bench = "[defaults]\nworkload = \"b\"\n\n[workloads.app]\ncargo_bin = \"app\"\n\n\
                     [workloads.b]\nbench = \"b\"\n";
        assert_eq!(
            compared(bench).unwrap(),
            (None, "b".into(), Gauge::Timings { runs: BENCH_PAIRS })
        );
    }

    #[test]
    fn a_default_that_cannot_be_built_at_a_revision_gives_way_to_one_that_can() {
        let text = "[defaults]\nworkload = \"go\"\n\n[workloads.go]\ncommand = \"./server\"\n\n\
                    [workloads.tool]\nexample = \"tool\"\n";
        assert_eq!(
            compared(text).unwrap(),
            (Some("tool".into()), "tool".into(), Gauge::Instructions)
        );
        let only = "[workloads.go]\ncommand = \"./server\"\n";
        let error = format!("{:#}", compared(only).unwrap_err());
        assert!(
            error.contains("runs the external command `./server`")
                && error.contains("no workload of profiling.toml can be built at two revisions"),
            "{error}"
        );
    }

    #[test]
    fn the_xtask_needs_no_install_step() {
        assert_eq!(command_here("cargo xtask"), ("cargo xtask".into(), None));
        assert_eq!(
            command_here("cargo xtask profile"),
            ("cargo xtask profile".into(), None)
        );
    }
}
