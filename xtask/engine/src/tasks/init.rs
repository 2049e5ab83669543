//! `cargo xtask init`: a starter profiling.toml for this workspace, from
//! `cargo metadata`: one workload per binary, example and criterion bench,
//! the default one that runs without arguments (each binary and example is
//! built and tried: `runs::probe`); or, with `-- PROGRAM [ARGS]...`, for
//! that program (any language, no Cargo.toml needed). With `--ci github`, a
//! GitHub Actions workflow that compares each pull request with its base
//! (`ci`).

mod ci;

use crate::config::{adhoc, starter, Config};
use crate::reports::stdout::outln;
use crate::tasks::invocation::Invocation;
use anyhow::{bail, Context};
use std::path::Path;

#[derive(clap::Args)]
pub struct Args {
    /// Replace an existing profiling.toml (with --ci: the existing workflow; profiling.toml is
    /// then written only when there is none).
    #[arg(long)]
    pub force: bool,
    /// Write a CI workflow (and the starter profiling.toml only when there is none) that
    /// compares each pull request's head with its base revision (instruction counts), puts the
    /// table in the job's summary, uploads the flamegraphs and the results page, and fails on a
    /// regression: .github/workflows/profiling.yml.
    #[arg(long, value_enum, value_name = "SERVICE")]
    pub ci: Option<ci::Service>,
    #[command(flatten)]
    pub program: crate::tasks::invocation::Program,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    if let Some(service) = args.ci {
        // The starter, when written, is written first: the workflow is
        // made for its default workload.
        return ci::run(invocation, args.force, service, || {
            write_starter(invocation, args)
        });
    }
    write_starter(invocation, args)
}

/// Writes the starter profiling.toml at the invocation's config path.
fn write_starter(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let path = &invocation.config_path;
    if path.exists() && !args.force {
        bail!(
            "{} already exists: edit it, or pass --force to replace it with a new starter",
            path.display()
        );
    }
    // The project the config will belong to: the one holding the file, else
    // the current directory's.
    let root = crate::config::root_of(path);
    let command = crate::config::command_name();
    let (text, described) = match args.program.command_line.as_slice() {
        [] if !crate::config::in_cargo_project(&root) => bail!(
            "{} is not in a Cargo project, so there are no targets to write workloads for: \
             give the program to profile and its arguments, `{command} init -- ./prog args`, \
             which writes it as a `command` workload",
            root.display()
        ),
        [] => {
            let starter = from_cargo_metadata(&root)?;
            let described = starter::describe(&starter);
            (starter.text, Some(described))
        }
        line => {
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            let go = crate::config::program_path(&line[0], &cwd)
                .is_some_and(|p| crate::tools::executable::is_go_program(&p));
            (adhoc::starter(line, &cwd, &root, go)?, None)
        }
    };
    // The starter must load: a file that fails at the next command would be
    // a poor start.
    let config = Config::parse(path, &text)
        .with_context(|| format!("the starter profiling.toml does not load:\n{text}"))?;
    crate::results::write_atomically(path, &text)?;
    outln!(
        "wrote {}: {} workload{} ({}), default {}",
        path.display(),
        config.workloads.len(),
        if config.workloads.len() == 1 { "" } else { "s" },
        config
            .workloads
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        config
            .defaults
            .workload
            .as_ref()
            .map(|w| w.get_ref().as_str())
            .unwrap_or("-"),
    );
    if let Some(described) = described {
        outln!("{described}");
    }
    match args.program.command_line.is_empty() {
        true => outln!(
            "next: give the workloads representative `args` in it, then `{command} doctor` and \
             `{command} profile-baseline`"
        ),
        false => outln!(
            "next: `{command} doctor`, then `{command} profile-baseline` (metrics and parameters: \
             see the comments in the file)"
        ),
    }
    Ok(0)
}

/// The starter of a Cargo project: a workload per binary, example and bench,
/// the default chosen by trying each without arguments.
fn from_cargo_metadata(root: &Path) -> anyhow::Result<starter::Starter> {
    let cargo = crate::tools::cargo_program();
    let workspace = crate::tools::cargo_metadata::read(Path::new(&cargo), root)?;
    let project = workspace
        .root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "this project".into());
    outln!(
        "trying each binary and example without arguments, to choose the default workload \
         (built with the profiling profile: the first task reuses the build)"
    );
    let candidates = crate::runs::probe::candidates(
        &workspace.root,
        crate::config::project_files::PROFILE,
        &workspace.targets,
        true,
    )?;
    let Some(starter) = starter::render(&project, &candidates, &workspace.fuzz_targets) else {
        bail!(
            "the workspace at {} has no binary, example or criterion bench (`harness = false`) \
             to profile: add one (an example that drives your library is enough), or give the \
             program to profile, `{} init -- ./prog args`",
            workspace.root.display(),
            crate::config::command_name()
        );
    };
    Ok(starter)
}
