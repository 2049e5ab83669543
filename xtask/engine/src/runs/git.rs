//! What git says about the tree a result was measured on. Plain commands
//! whose output is read whole: xshell runs them (no shell is involved; its
//! echo shows under `-v` like every other command).

use serde::{Deserialize, Serialize};
use std::path::Path;
use xshell::{cmd, Shell};

/// A git command in `root`, its stdout trimmed; `None` when git is missing
/// or fails (not a repository).
fn git(root: &Path, args: &[&str]) -> Option<String> {
    let shell = Shell::new().ok()?;
    shell.change_dir(root);
    let command = cmd!(shell, "git {args...}").ignore_stderr().quiet();
    crate::runs::process::echo(&command.to_string());
    command.read().ok().map(|s| s.trim().to_string())
}

/// The tree a run was measured on: run.json's `git`, as it is stored.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GitInfo {
    pub commit: Option<String>,
    pub dirty: bool,
    pub branch: Option<String>,
}

impl GitInfo {
    /// `1a2b3c4d5e`, `1a2b3c4d5e-dirty` or `no commit`.
    pub fn short(&self) -> String {
        match &self.commit {
            Some(c) => format!(
                "{}{}",
                short_hash(c),
                if self.dirty { "-dirty" } else { "" }
            ),
            None => "no commit".into(),
        }
    }

    /// How a subtitle names the tree: `commit 1a2b3c4d5e` (`-dirty`), or
    /// `no git commit` outside a repository or before its first commit
    /// (never "commit no commit").
    pub fn commit_label(&self) -> String {
        match &self.commit {
            Some(_) => format!("commit {}", self.short()),
            None => "no git commit".into(),
        }
    }
}

/// The commit, dirty flag and branch of the tree at `root`.
pub fn git_info(root: &Path) -> GitInfo {
    GitInfo {
        commit: git(root, &["rev-parse", "HEAD"]),
        dirty: git(root, &["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.is_empty()),
        branch: git(root, &["rev-parse", "--abbrev-ref", "HEAD"]),
    }
}

/// The root of the git repository holding `dir`; `None` outside one.
pub fn toplevel(dir: &Path) -> Option<std::path::PathBuf> {
    git(dir, &["rev-parse", "--show-toplevel"])
        .filter(|top| !top.is_empty())
        .map(std::path::PathBuf::from)
}

/// The first 10 hex digits of a commit: enough to name it in a report.
pub fn short_hash(commit: &str) -> &str {
    &commit[..commit.len().min(10)]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tree_without_a_commit_is_named_once() {
        let none = GitInfo::default();
        assert_eq!(none.commit_label(), "no git commit");
        let dirty = GitInfo {
            commit: Some("1a2b3c4d5e6f7a8b".into()),
            dirty: true,
            branch: None,
        };
        assert_eq!(dirty.commit_label(), "commit 1a2b3c4d5e-dirty");
    }

    #[test]
    fn outside_a_repository_there_is_no_commit() {
        let outside = std::env::temp_dir().join(format!("xtask-no-git-{}", std::process::id()));
        std::fs::create_dir_all(&outside).unwrap();
        let info = git_info(&outside);
        std::fs::remove_dir_all(&outside).unwrap();
        assert_eq!(info.commit_label(), "no git commit");
    }
}
