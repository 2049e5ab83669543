//! Running git for the results history shared through a remote's
//! `refs/profiling/history` (`tools::git` has the command lines and the
//! parsers). Nothing here touches the user's branches, working tree or
//! index: trees are built in a temporary index file (`GIT_INDEX_FILE`)
//! from objects written with `hash-object`, committed with `commit-tree`
//! and pushed by commit id; what is fetched goes to a ref of its own.
//!
//! Several machines push to one ref: each push is the union of the ref's
//! tip and the results it lacks, committed on that tip, so a push that
//! arrives second is rejected as not a fast-forward, fetches the new tip,
//! merges again and retries, after a random pause that keeps two retrying
//! pushers from meeting again.

use crate::runs::process::{self, Spec};
use crate::tools::git::{self, PushStatus, TreeEntry};
use anyhow::{bail, Context};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A remote that does not answer within this long is reported, not waited on.
const NETWORK_TIMEOUT: Duration = Duration::from_secs(300);
/// Local plumbing on a large history stays well within this.
const LOCAL_TIMEOUT: Duration = Duration::from_secs(120);
/// Pushes that lose the race this many times in a row give up and say so.
pub const MAX_ATTEMPTS: u32 = 12;
/// Files named on one command line at a time (hash-object, update-index).
const ARGS_PER_CALL: usize = 200;

/// The git repository of a project, and where the plumbing keeps its
/// temporary index.
pub struct Repo {
    pub root: PathBuf,
    scratch: PathBuf,
}

/// The identity of the history's commits: fixed, so that no user's name or
/// e-mail address is pushed, and so that commits work on CI machines where
/// git has no identity configured.
const IDENTITY: [(&str, &str); 4] = [
    ("GIT_AUTHOR_NAME", "xtask profiling history"),
    ("GIT_AUTHOR_EMAIL", "profiling-history@localhost"),
    ("GIT_COMMITTER_NAME", "xtask profiling history"),
    ("GIT_COMMITTER_EMAIL", "profiling-history@localhost"),
];

impl Repo {
    /// The repository that holds `dir`; `scratch` is a directory of ours
    /// for the temporary index (created if needed).
    pub fn open(dir: &Path, scratch: &Path) -> anyhow::Result<Repo> {
        let probe = Repo {
            root: dir.to_path_buf(),
            scratch: scratch.to_path_buf(),
        };
        let top = probe
            .text(&["rev-parse", "--show-toplevel"], LOCAL_TIMEOUT)
            .with_context(|| {
                format!(
                    "the shared history lives in a git remote, and {} is not in a git repository (or git is not installed)",
                    dir.display()
                )
            })?;
        std::fs::create_dir_all(scratch)
            .with_context(|| format!("cannot create {}", scratch.display()))?;
        Ok(Repo {
            root: PathBuf::from(top.trim()),
            scratch: scratch.to_path_buf(),
        })
    }

    fn spec(&self, args: &[String], timeout: Duration) -> Spec {
        let mut spec = Spec::new("git").args(["-C".into(), self.root.display().to_string()]);
        spec = spec.args(args.iter().cloned());
        spec.timeout = Some(timeout);
        // Never wait for a password at a terminal nobody watches (CI), and
        // read git's messages in the one language the parsers know.
        spec.env = vec![
            ("GIT_TERMINAL_PROMPT".into(), "0".into()),
            ("LC_ALL".into(), "C".into()),
        ];
        spec
    }

    fn index_spec(&self, args: &[String]) -> Spec {
        let mut spec = self.spec(args, LOCAL_TIMEOUT);
        spec.env.push((
            "GIT_INDEX_FILE".into(),
            self.scratch.join("index").display().to_string(),
        ));
        spec.env
            .extend(IDENTITY.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        spec
    }

    fn text(&self, args: &[&str], timeout: Duration) -> anyhow::Result<String> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        process::stdout_of(self.spec(&args, timeout))
    }

    /// The tip of `remote`'s history after fetching it, `None` when the
    /// remote has none yet. The tip is kept in a local ref of its own
    /// (`refs/profiling/remotes/REMOTE`), never a branch.
    pub fn fetch(&self, remote: &str) -> anyhow::Result<Option<String>> {
        let listed = process::stdout_of(self.spec(&git::ls_remote_args(remote), NETWORK_TIMEOUT))
            .with_context(|| format!("cannot reach the git remote `{remote}`"))?;
        if git::parse_ls_remote(&listed)?.is_none() {
            return Ok(None);
        }
        process::run_checked(self.spec(&git::fetch_args(remote), NETWORK_TIMEOUT))
            .with_context(|| format!("cannot fetch {} from `{remote}`", git::HISTORY_REF))?;
        let tip = self.text(
            &[
                "rev-parse",
                "--verify",
                "--quiet",
                &git::fetched_ref(remote),
            ],
            LOCAL_TIMEOUT,
        )?;
        Ok(Some(tip.trim().to_string()))
    }

    /// Every file of `commit`'s tree, as git lists it (paths unchecked).
    pub fn tree(&self, commit: &str) -> anyhow::Result<Vec<TreeEntry>> {
        let bytes = self.bytes(self.spec(&git::ls_tree_args(commit), LOCAL_TIMEOUT))?;
        git::parse_ls_tree(&bytes)
    }

    /// The contents of blob `id`.
    pub fn blob(&self, id: &str) -> anyhow::Result<Vec<u8>> {
        if !git::is_object_id(id) {
            bail!("`{id}` is not a git object id");
        }
        let args = vec!["cat-file".to_string(), "blob".into(), id.into()];
        self.bytes(self.spec(&args, LOCAL_TIMEOUT))
    }

    /// All a git command prints on stdout, as bytes (paths in a tree need
    /// not be UTF-8); fails unless it succeeds.
    fn bytes(&self, spec: Spec) -> anyhow::Result<Vec<u8>> {
        process::stdout_bytes_of(spec)
    }

    /// Writes each file into the repository's object store; their ids, in order.
    pub fn hash_files(&self, files: &[PathBuf]) -> anyhow::Result<Vec<String>> {
        let mut ids = Vec::with_capacity(files.len());
        for chunk in files.chunks(ARGS_PER_CALL) {
            let mut args = vec!["hash-object".to_string(), "-w".into(), "--".into()];
            args.extend(chunk.iter().map(|f| f.display().to_string()));
            let out = process::stdout_of(self.spec(&args, LOCAL_TIMEOUT))?;
            ids.extend(out.lines().map(str::to_string));
        }
        if ids.len() != files.len() || !ids.iter().all(|id| git::is_object_id(id)) {
            bail!(
                "git hash-object gave {} ids for {} files",
                ids.len(),
                files.len()
            );
        }
        Ok(ids)
    }

    /// A commit whose tree is `parent`'s plus `files` (path in the tree,
    /// blob id), on `parent`, in the temporary index.
    fn commit(
        &self,
        parent: Option<&str>,
        files: &[(&str, &str)],
        message: &str,
    ) -> anyhow::Result<String> {
        let _ = std::fs::remove_file(self.scratch.join("index"));
        let base = match parent {
            Some(parent) => vec!["read-tree".to_string(), parent.to_string()],
            None => vec!["read-tree".to_string(), "--empty".into()],
        };
        process::run_checked(self.index_spec(&base))?;
        for chunk in files.chunks(ARGS_PER_CALL) {
            let mut args = vec!["update-index".to_string(), "--add".into()];
            for (path, id) in chunk {
                args.push("--cacheinfo".into());
                args.push(format!("100644,{id},{path}"));
            }
            process::run_checked(self.index_spec(&args))?;
        }
        let tree = process::stdout_of(self.index_spec(&["write-tree".to_string()]))?;
        let mut args = vec!["commit-tree".to_string(), tree.trim().to_string()];
        if let Some(parent) = parent {
            args.extend(["-p".to_string(), parent.to_string()]);
        }
        args.extend(["-m".to_string(), message.to_string()]);
        let commit = process::stdout_of(self.index_spec(&args))?;
        Ok(commit.trim().to_string())
    }

    fn push_once(&self, remote: &str, commit: &str) -> anyhow::Result<PushStatus> {
        let spec = self.spec(&git::push_args(remote, commit), NETWORK_TIMEOUT);
        let display = spec.display();
        let outcome = process::run(spec)?;
        let stdout = outcome.stdout_tail.join("\n");
        match git::parse_push(&stdout) {
            Some(status) => Ok(status),
            None => bail!(
                "`{display}` failed: {}\n{}",
                outcome.describe(Some(NETWORK_TIMEOUT)),
                outcome.tail()
            ),
        }
    }

    /// Adds `files` (path in the tree, file) to `remote`'s history: each
    /// result (a path's first component) that the history lacks, never
    /// replacing what is there. Fetches, merges and pushes until the push
    /// is a fast-forward; `message` names a commit by the number of results
    /// it adds.
    pub fn push_union(
        &self,
        remote: &str,
        files: &[(String, PathBuf)],
        message: impl Fn(usize) -> String,
    ) -> anyhow::Result<Pushed> {
        let local: Vec<PathBuf> = files.iter().map(|(_, f)| f.clone()).collect();
        let ids = self.hash_files(&local)?;
        for attempt in 1..=MAX_ATTEMPTS {
            process::check_interrupted()?;
            let tip = self.fetch(remote)?;
            let present: BTreeSet<Vec<u8>> = match &tip {
                Some(tip) => self
                    .tree(tip)?
                    .into_iter()
                    .map(|e| first_component(&e.path).to_vec())
                    .collect(),
                None => BTreeSet::new(),
            };
            let adding: Vec<(&str, &str)> = files
                .iter()
                .zip(&ids)
                .filter(|((path, _), _)| !present.contains(first_component(path.as_bytes())))
                .map(|((path, _), id)| (path.as_str(), id.as_str()))
                .collect();
            let results: BTreeSet<&[u8]> = adding
                .iter()
                .map(|(path, _)| first_component(path.as_bytes()))
                .collect();
            if adding.is_empty() {
                return Ok(Pushed {
                    added: 0,
                    already: count_results(files),
                    attempts: attempt,
                });
            }
            let commit = self.commit(tip.as_deref(), &adding, &message(results.len()))?;
            match self.push_once(remote, &commit)? {
                PushStatus::Pushed => {
                    return Ok(Pushed {
                        added: results.len(),
                        already: count_results(files) - results.len(),
                        attempts: attempt,
                    })
                }
                PushStatus::Refused { reason } => bail!(
                    "`{remote}` refused the history: {reason} (a hook or a protected ref: allow pushes to {})",
                    git::HISTORY_REF
                ),
                PushStatus::Moved { reason } => {
                    eprintln!(
                        "history: `{remote}` moved while pushing ({reason}); merging again (attempt {} of {MAX_ATTEMPTS})",
                        attempt + 1
                    );
                    std::thread::sleep(backoff(attempt));
                }
            }
        }
        bail!(
            "the history on `{remote}` moved {MAX_ATTEMPTS} times while pushing (many machines pushing at once): run `history push` again"
        )
    }
}

/// What a push did.
#[derive(Debug, Clone, PartialEq)]
pub struct Pushed {
    /// Results the history gained.
    pub added: usize,
    /// Results it had already.
    pub already: usize,
    /// Pushes it took (more than one when another machine pushed meanwhile).
    pub attempts: u32,
}

fn count_results(files: &[(String, PathBuf)]) -> usize {
    files
        .iter()
        .map(|(path, _)| first_component(path.as_bytes()))
        .collect::<BTreeSet<_>>()
        .len()
}

fn first_component(path: &[u8]) -> &[u8] {
    path.split(|&b| b == b'/').next().unwrap_or(path)
}

/// A pause that doubles with each attempt (from 50 ms up to 3.2 s), times a
/// random factor between ½ and 1½, so that pushers who collided once do not
/// collide again in step.
fn backoff(attempt: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u32(attempt);
    let jitter = 0.5 + (hasher.finish() % 1000) as f64 / 1000.0;
    let base = 0.05 * f64::from(1u32 << attempt.min(6));
    Duration::from_secs_f64(base * jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_grow_and_vary() {
        let first: Vec<Duration> = (0..20).map(|_| backoff(1)).collect();
        assert!(first
            .iter()
            .all(|d| *d >= Duration::from_millis(50) && *d <= Duration::from_millis(150)));
        assert!(first.iter().any(|d| *d != first[0]), "{first:?}");
        assert!(backoff(6) >= Duration::from_millis(1600));
        assert!(backoff(30) <= Duration::from_millis(4800));
        assert_eq!(first_component(b"a/b/c"), b"a");
        assert_eq!(first_component(b"a"), b"a");
    }
}
