//! `cargo xtask init`: a starter profiling.toml for this workspace, from
//! `cargo metadata`: one workload per binary, example and criterion bench,
//! the default one that runs without arguments (each binary and example is
//! built and tried: `runs::probe`).

use crate::config::{starter, Config};
use crate::reports::stdout::outln;
use crate::tasks::invocation::Invocation;
use anyhow::{bail, Context};
use std::path::Path;

#[derive(clap::Args)]
pub struct Args {
    /// Replace an existing profiling.toml.
    #[arg(long)]
    pub force: bool,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
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
             to profile: add one (an example that drives your library is enough), or write a \
             `command` workload by hand (docs/config.md of the xtask-profiling repository)",
            workspace.root.display()
        );
    };
    // The starter must load: a file that fails at the next command would be
    // a poor start.
    let text = &starter.text;
    let config = Config::parse(path, text)
        .with_context(|| format!("the starter profiling.toml does not load:\n{text}"))?;
    crate::results::write_atomically(path, text)?;
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
    outln!("{}", starter::describe(&starter));
    outln!(
        "next: give the workloads representative `args` in it, then `cargo xtask doctor` and \
         `cargo xtask profile-baseline`"
    );
    Ok(0)
}
