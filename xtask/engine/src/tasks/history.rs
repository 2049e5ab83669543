//! `cargo xtask history push|pull [REMOTE]`: a results history shared
//! between machines (CI runners, colleagues) through a git remote's
//! `refs/profiling/history`, which no branch or clone shows. `push` adds
//! this machine's results, redacted, to it; `pull` brings every machine's
//! into `results/history/`, where list, trends and the results page read
//! them, each result marked with the class of machine it was measured on.

use crate::reports::markdown;
use crate::reports::stdout::outln;
use crate::results::history::{self, Identity, HISTORY_DIR};
use crate::results::{Store, TMP_PREFIX};
use crate::runs::history::Repo;
use crate::tasks::invocation::Invocation;
use crate::tools::git::{check_remote, HISTORY_REF};
use anyhow::{bail, Context};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(subcommand)]
    pub action: Action,
}

#[derive(clap::Subcommand, Debug)]
pub enum Action {
    /// Add this machine's results to REMOTE's history, redacted.
    ///
    /// Shares run.json, system_info.json and top-functions.txt of each
    /// result, with no path of the project or the home, no user or host name
    /// and no environment value. Results already there stay as they are;
    /// pushes from several machines at once all arrive.
    Push(RemoteArgs),
    /// Bring REMOTE's history into results/history/ for list, trends, report.
    ///
    /// The history is checked first: one with unsafe paths is refused whole.
    /// This machine's own results are never overwritten, and cleanup never
    /// removes pulled ones.
    Pull(RemoteArgs),
}

#[derive(clap::Args, Debug)]
pub struct RemoteArgs {
    /// The git remote that keeps the history: a remote's name (see `git
    /// remote -v`) or a URL.
    #[arg(default_value = "origin")]
    pub remote: String,
}

/// The scratch directory of one call (`results/.tmp-history-<pid>`: the
/// redacted copies and the temporary index), removed when it ends.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let results = config.results_dir();
    let (Action::Push(RemoteArgs { remote }) | Action::Pull(RemoteArgs { remote })) = &args.action;
    check_remote(remote)?;
    let scratch = Scratch(results.join(format!("{TMP_PREFIX}history-{}", std::process::id())));
    let repo = Repo::open(&config.root, &scratch.0)?;
    match &args.action {
        Action::Push(_) => push(&config.root, &repo, &results, remote, &scratch.0),
        Action::Pull(_) => pull(&repo, &results, remote),
    }
}

fn push(
    project: &Path,
    repo: &Repo,
    results: &Path,
    remote: &str,
    scratch: &Path,
) -> anyhow::Result<u8> {
    let entries = Store::new(results).list()?;
    if entries.is_empty() {
        bail!(
            "no results in {} to push: run `cargo xtask profile-baseline` first",
            results.display()
        );
    }
    let mut identity = Identity::of_this_machine(project);
    identity.add_path(&repo.root.display().to_string(), "$PROJECT");
    let staged = scratch.join("files");
    let mut files = Vec::new();
    for entry in &entries {
        let shared = history::shared_files(entry, &identity)
            .with_context(|| format!("cannot prepare {} for the history", entry.dir.display()))?;
        for (path, bytes) in shared {
            let file = staged.join(&path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create {}", parent.display()))?;
            }
            std::fs::write(&file, bytes)
                .with_context(|| format!("cannot write {}", file.display()))?;
            files.push((path, file));
        }
    }
    eprintln!(
        "history: {} results of this machine, redacted; merging them into `{remote}`'s {HISTORY_REF}",
        entries.len()
    );
    let pushed = repo.push_union(remote, &files, |added| {
        format!(
            "Add {added} profiling result{}",
            if added == 1 { "" } else { "s" }
        )
    })?;
    if pushed.added == 0 {
        outln!(
            "history: `{remote}` has all {} results of this machine already",
            pushed.already
        );
    } else {
        outln!(
            "history: {} results pushed to `{remote}` ({HISTORY_REF}){}{}",
            pushed.added,
            if pushed.already > 0 {
                format!(", {} there already", pushed.already)
            } else {
                String::new()
            },
            match pushed.attempts {
                0 | 1 => String::new(),
                2 => "; merged once with other machines' pushes".to_string(),
                n => format!("; merged {} times with other machines' pushes", n - 1),
            }
        );
    }
    Ok(0)
}

fn pull(repo: &Repo, results: &Path, remote: &str) -> anyhow::Result<u8> {
    let Some(tip) = repo.fetch(remote)? else {
        outln!(
            "history: `{remote}` has no history yet: `cargo xtask history push {remote}` starts it"
        );
        return Ok(0);
    };
    let mut skipped = Vec::new();
    let plan = history::plan_pull(&repo.tree(&tip)?, &mut skipped)
        .with_context(|| format!("cannot pull the history of `{remote}`"))?;
    if !skipped.is_empty() {
        eprintln!(
            "history: left out {} files this xtask does not read ({}{})",
            skipped.len(),
            skipped
                .iter()
                .take(3)
                .cloned()
                .collect::<Vec<_>>()
                .join(", "),
            if skipped.len() > 3 { ", …" } else { "" }
        );
    }
    let own: BTreeSet<String> = Store::new(results)
        .list()?
        .into_iter()
        .map(|e| e.name)
        .collect();
    let before: BTreeSet<String> = history::pulled_names(results).into_iter().collect();
    let new: Vec<_> = plan
        .iter()
        .filter(|i| !own.contains(&i.name) && !before.contains(&i.name))
        .collect();
    if !new.is_empty() {
        eprintln!("history: reading {} new results of `{remote}`", new.len());
    }
    let (mut written, mut refused) = (0, 0);
    for incoming in &new {
        crate::runs::process::check_interrupted()?;
        let mut files = Vec::new();
        for (path, id) in &incoming.files {
            files.push((path.clone(), repo.blob(id)?));
        }
        let pulled = match history::check_pulled(&incoming.name, files) {
            Ok(pulled) => pulled,
            Err(error) => {
                eprintln!(
                    "warning: refusing {} of `{remote}`'s history: {error:#}",
                    incoming.name
                );
                refused += 1;
                continue;
            }
        };
        let note = format!(
            "Pulled from the history of `{remote}`; measured on {}.",
            pulled.record.machine_class()
        );
        let readme = markdown::run_readme(
            &pulled.record,
            &pulled.system,
            &pulled.top_functions,
            &[note],
        );
        if history::write_pulled(results, &pulled, &readme)?.is_some() {
            written += 1;
        }
    }
    outln!(
        "history: {written} new results from `{remote}` in {} ({} pulled before, {} of this machine's own){}",
        results.join(HISTORY_DIR).display(),
        plan.iter().filter(|i| before.contains(&i.name)).count(),
        plan.iter().filter(|i| own.contains(&i.name)).count(),
        if refused > 0 {
            format!("; {refused} refused (see the warnings)")
        } else {
            String::new()
        }
    );
    Ok(0)
}
