//! git as the store of a results history shared between machines: the ref
//! it lives in, the command lines of the plumbing that reads and writes it
//! without touching a working tree, an index or a branch, and parsers of
//! their output. `runs::history` runs them.

use anyhow::{bail, Context};

/// The ref of a remote that holds the shared history: outside
/// `refs/heads/` and `refs/tags/`, so no branch, tag or clone ever shows it.
pub const HISTORY_REF: &str = "refs/profiling/history";

/// Whether `remote` can be given to git as a remote: a name or a URL, never
/// something git would read as an option (`--upload-pack=…`).
pub fn check_remote(remote: &str) -> anyhow::Result<()> {
    if remote.is_empty() || remote.starts_with('-') || remote.chars().any(char::is_control) {
        bail!(
            "`{}` is not a git remote: give a remote's name (`origin`, see `git remote -v`) or its URL",
            remote.escape_debug()
        );
    }
    Ok(())
}

/// The local ref that keeps what was last fetched of `remote`'s history
/// (so that git keeps its objects), one per remote:
/// `refs/profiling/remotes/origin`.
pub fn fetched_ref(remote: &str) -> String {
    let name: String = remote
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("refs/profiling/remotes/{name}")
}

/// `git ls-remote REMOTE refs/profiling/history`.
pub fn ls_remote_args(remote: &str) -> Vec<String> {
    strings(&["ls-remote", "--refs", "--", remote, HISTORY_REF])
}

/// `git fetch REMOTE +refs/profiling/history:<local ref>`: forced, because
/// the local ref only follows the remote's.
pub fn fetch_args(remote: &str) -> Vec<String> {
    let refspec = format!("+{HISTORY_REF}:{}", fetched_ref(remote));
    strings(&[
        "fetch",
        "--quiet",
        "--no-tags",
        "--no-write-fetch-head",
        "--",
        remote,
    ])
    .into_iter()
    .chain([refspec])
    .collect()
}

/// `git ls-tree`: every file of a commit's tree, with its size, NUL-terminated.
pub fn ls_tree_args(commit: &str) -> Vec<String> {
    strings(&["ls-tree", "-r", "-l", "-z", "--full-tree", commit])
}

/// `git push REMOTE COMMIT:refs/profiling/history`, never forced: a push
/// that is not a fast-forward is rejected, and the pusher merges again.
pub fn push_args(remote: &str, commit: &str) -> Vec<String> {
    strings(&["push", "--porcelain", "--no-verify", "--", remote])
        .into_iter()
        .chain([format!("{commit}:{HISTORY_REF}")])
        .collect()
}

fn strings(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// The commit that `git ls-remote --refs REMOTE refs/profiling/history`
/// found, `None` when the remote has no history yet.
pub fn parse_ls_remote(output: &str) -> anyhow::Result<Option<String>> {
    for line in output.lines() {
        let Some((hash, name)) = line.split_once('\t') else {
            bail!("unexpected line from git ls-remote: {line:?}");
        };
        if name == HISTORY_REF {
            if !is_object_id(hash) {
                bail!("unexpected object name from git ls-remote: {hash:?}");
            }
            return Ok(Some(hash.to_string()));
        }
    }
    Ok(None)
}

/// A full object name: 40 (SHA-1) or 64 (SHA-256) lowercase hex digits.
pub fn is_object_id(text: &str) -> bool {
    matches!(text.len(), 40 | 64) && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// One entry of a tree, as `git ls-tree -r -l -z` lists it.
#[derive(Debug, Clone, PartialEq)]
pub struct TreeEntry {
    /// `100644` (a file), `100755` (executable), `120000` (a symlink),
    /// `160000` (a submodule's commit).
    pub mode: String,
    /// `blob` or `commit`.
    pub kind: String,
    pub id: String,
    /// Bytes of a blob; none for a submodule.
    pub size: Option<u64>,
    /// The path in the tree, as git stores it: any bytes but `/` and NUL
    /// in each component, `..` included, so it is checked before use.
    pub path: Vec<u8>,
}

impl TreeEntry {
    /// A plain, non-executable file.
    pub fn is_plain_file(&self) -> bool {
        self.mode == "100644" && self.kind == "blob"
    }

    /// The path for messages, with anything unprintable escaped.
    pub fn path_text(&self) -> String {
        String::from_utf8_lossy(&self.path)
            .escape_debug()
            .to_string()
    }
}

/// Parses `git ls-tree -r -l -z`: `<mode> SP <type> SP <id> SP+ <size> TAB
/// <path> NUL` per entry.
pub fn parse_ls_tree(output: &[u8]) -> anyhow::Result<Vec<TreeEntry>> {
    let mut entries = Vec::new();
    for record in output.split(|&b| b == 0).filter(|r| !r.is_empty()) {
        let tab = record.iter().position(|&b| b == b'\t').with_context(|| {
            format!(
                "unexpected entry from git ls-tree: {:?}",
                String::from_utf8_lossy(record)
            )
        })?;
        let (head, path) = (&record[..tab], &record[tab + 1..]);
        let head = std::str::from_utf8(head).context("git ls-tree's entry is not text")?;
        let fields: Vec<&str> = head.split_whitespace().collect();
        let [mode, kind, id, size] = fields[..] else {
            bail!("unexpected entry from git ls-tree: {head:?}");
        };
        if !is_object_id(id) || mode.len() != 6 || !mode.bytes().all(|b| b.is_ascii_digit()) {
            bail!("unexpected entry from git ls-tree: {head:?}");
        }
        let size = match size {
            "-" => None,
            size => Some(
                size.parse::<u64>()
                    .with_context(|| format!("unexpected size from git ls-tree: {head:?}"))?,
            ),
        };
        entries.push(TreeEntry {
            mode: mode.to_string(),
            kind: kind.to_string(),
            id: id.to_string(),
            size,
            path: path.to_vec(),
        });
    }
    Ok(entries)
}

/// How a push of the history ended, from `git push --porcelain`.
#[derive(Debug, Clone, PartialEq)]
pub enum PushStatus {
    /// The remote's history now is the pushed commit.
    Pushed,
    /// Someone else pushed first: fetch, merge again, push again.
    Moved { reason: String },
    /// Refused for good (a hook, permissions, a protected ref).
    Refused { reason: String },
}

/// Reads the line of `git push --porcelain`'s standard output that reports
/// the history's ref: `<flag> TAB <from>:<to> TAB <summary>`, the flag `!`
/// for a rejection. `None` when no line reports it (git failed before
/// pushing: no such remote, no access).
pub fn parse_push(stdout: &str) -> Option<PushStatus> {
    stdout.lines().find_map(|line| {
        let mut fields = line.splitn(3, '\t');
        let flag = fields.next()?;
        let refs = fields.next()?;
        let summary = fields.next().unwrap_or("").trim().to_string();
        if refs.rsplit(':').next() != Some(HISTORY_REF) {
            return None;
        }
        Some(match flag {
            "!" if is_race(&summary) => PushStatus::Moved { reason: summary },
            "!" => PushStatus::Refused { reason: summary },
            _ => PushStatus::Pushed,
        })
    })
}

/// A rejection because the ref moved under us: another pusher's commit is
/// there (`fetch first`, `non-fast-forward`), or was being written as ours
/// arrived (the remote could not lock or update the ref).
fn is_race(summary: &str) -> bool {
    [
        "fetch first",
        "non-fast-forward",
        "stale info",
        "cannot lock ref",
        "failed to update ref",
        "incorrect old value",
    ]
    .iter()
    .any(|why| summary.contains(why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn fixture(name: &str) -> Vec<u8> {
        let path: PathBuf = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/git")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    #[test]
    fn a_tree_listing_gives_each_file_its_id_size_and_path() {
        let entries = parse_ls_tree(&fixture("ls-tree.bin")).unwrap();
        let paths: Vec<String> = entries.iter().map(TreeEntry::path_text).collect();
        assert_eq!(
            paths,
            [
                "20261122-040506-fe3k9q-baseline/run.json",
                "20261122-040506-fe3k9q-baseline/system_info.json",
                "20261122-040507-0a1b2c-baseline/large/top-functions.txt",
                "20261122-040507-0a1b2c-baseline/run.json",
            ]
        );
        assert!(entries.iter().all(TreeEntry::is_plain_file));
        assert_eq!(entries[0].size, Some(8));
        assert_eq!(entries[0].id, "c0c1bfafb32310f0585d0c510ff440ab0259a5c1");
        // Truncated anywhere, the listing is an error or fewer entries,
        // never a panic or an entry with a wrong path.
        let bytes = fixture("ls-tree.bin");
        for cut in 0..bytes.len() {
            if let Ok(some) = parse_ls_tree(&bytes[..cut]) {
                for entry in &some {
                    assert!(paths.iter().any(|p| p.as_bytes().starts_with(&entry.path)));
                }
            }
        }
    }

    /// What a crafted tree may hold, listed as it is: checking it is the
    /// reader's job.
    #[test]
    fn crafted_trees_are_listed_with_their_dangerous_paths_and_modes() {
        let dotdot = parse_ls_tree(&fixture("ls-tree-dotdot.bin")).unwrap();
        assert_eq!(dotdot[0].path, b"../x");
        let link = parse_ls_tree(&fixture("ls-tree-symlink.bin")).unwrap();
        assert_eq!(
            (link[0].mode.as_str(), link[0].is_plain_file()),
            ("120000", false)
        );
        let submodule =
            parse_ls_tree(b"160000 commit 0123456789abcdef0123456789abcdef01234567       -\tsub\0")
                .unwrap();
        assert_eq!(submodule[0].size, None);
        assert!(parse_ls_tree(b"100644 blob nothex 3\tx\0").is_err());
        assert!(parse_ls_tree(b"100644 blob\tx\0").is_err());
    }

    #[test]
    fn a_push_is_read_as_pushed_moved_or_refused() {
        let text = |name: &str| String::from_utf8(fixture(name)).unwrap();
        assert_eq!(
            parse_push(&text("push-porcelain-new.txt")),
            Some(PushStatus::Pushed)
        );
        assert_eq!(
            parse_push(&text("push-porcelain-accepted.txt")),
            Some(PushStatus::Pushed)
        );
        assert_eq!(
            parse_push(&text("push-porcelain-rejected.txt")),
            Some(PushStatus::Moved {
                reason: "[rejected] (fetch first)".into()
            })
        );
        let hook = "To x\n!\tabc:refs/profiling/history\t[remote rejected] (pre-receive hook declined)\nDone\n";
        assert_eq!(
            parse_push(hook),
            Some(PushStatus::Refused {
                reason: "[remote rejected] (pre-receive hook declined)".into()
            })
        );
        let lock = "!\tabc:refs/profiling/history\t[remote rejected] (failed to update ref)\n";
        assert!(matches!(parse_push(lock), Some(PushStatus::Moved { .. })));
        assert_eq!(
            parse_push("To x\n!\tabc:refs/heads/main\t[rejected]\n"),
            None
        );
        assert_eq!(parse_push(""), None);
    }

    #[test]
    fn remotes_are_names_or_urls_never_options() {
        for good in ["origin", "../history.git", "https://example.com/x.git"] {
            check_remote(good).unwrap();
        }
        for bad in ["", "--upload-pack=touch /tmp/x", "-o", "a\nb"] {
            assert!(check_remote(bad).is_err(), "{bad:?}");
        }
        assert_eq!(fetched_ref("origin"), "refs/profiling/remotes/origin");
        assert_eq!(fetched_ref("../h.git"), "refs/profiling/remotes/___h_git");
        assert_eq!(
            parse_ls_remote("0123456789abcdef0123456789abcdef01234567\trefs/profiling/history\n")
                .unwrap()
                .as_deref(),
            Some("0123456789abcdef0123456789abcdef01234567")
        );
        assert_eq!(parse_ls_remote("").unwrap(), None);
        assert!(parse_ls_remote("garbage").is_err());
    }
}
