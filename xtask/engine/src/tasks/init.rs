//! `cargo xtask init`: a starter profiling.toml for this workspace, from
//! `cargo metadata`: one workload per binary, example and criterion bench.
//! With `--ci github`, a GitHub Actions workflow that compares each pull
//! request with its base (`ci`).

mod ci;

use crate::config::{starter, Config};
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
    let cargo = crate::tools::cargo_program();
    let workspace = crate::tools::cargo_metadata::read(Path::new(&cargo), &root)?;
    let project = workspace
        .root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "this project".into());
    let Some(text) = starter::render(&project, &workspace.targets) else {
        bail!(
            "the workspace at {} has no binary, example or criterion bench (`harness = false`) \
             to profile: add one (an example that drives your library is enough), or write a \
             `command` workload by hand (docs/config.md of the xtask-profiling repository)",
            workspace.root.display()
        );
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
    outln!(
        "next: give the workloads representative `args` in it, then `cargo xtask doctor` and \
         `cargo xtask profile-baseline`"
    );
    Ok(0)
}
