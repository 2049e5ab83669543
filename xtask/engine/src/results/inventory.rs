//! Everything that lies in the results directory, classified: complete
//! results, comparisons, temporary and failed runs of this tool — and
//! whatever else is there (foreign files and directories, symlinks), which
//! `list`, `cleanup` and `report` must recognise in order to leave it alone.
//!
//! Nothing here follows a symlink: every entry is examined with
//! `symlink_metadata`, so a link pointing out of the results directory is
//! seen as a link, never as what it points to.

use super::pins::PINS_FILE;
use super::{read_record, Entry, FAILED_PREFIX, RUN_FILE, TMP_PREFIX};
use crate::config::Config;
use crate::results::record::{MeasureSummary, RunRecord};
use anyhow::Context;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The file profile-compare leaves in its `compare-*` directories.
pub const COMPARE_FILE: &str = "compare.json";
pub const COMPARE_PREFIX: &str = "compare-";
/// Files of the results directory itself that are not results.
pub const OWN_FILES: &[&str] = &[PINS_FILE, "index.html", "README.md"];

#[derive(Debug, Clone)]
pub enum Kind {
    /// A complete result: a directory with a valid run.json.
    Result(Box<Entry>),
    /// A `compare-*` directory with a compare.json (made by profile-compare).
    Comparison,
    /// A `.tmp-*` directory: a run being written, or an interrupted one;
    /// or the `.NAME.PID.tmp` file of an atomic write (pins.json, index.html)
    /// being written, or left by a process that died writing it.
    Temporary { pid: Option<u32>, alive: bool },
    /// A `.failed-*` directory with its failure.txt.
    Failed { reason: String },
    /// A symbolic link: never followed, never removed.
    Symlink,
    /// pins.json, index.html, README.md, and history/ (pulled results,
    /// read through [`scan_pulled`]).
    OwnFile,
    /// Not made by this tool: left alone.
    Foreign { why: String },
}

#[derive(Debug, Clone)]
pub struct Item {
    pub name: String,
    pub path: PathBuf,
    pub kind: Kind,
    /// Newest modification time of the entry and its direct children.
    pub modified: Option<SystemTime>,
}

impl Item {
    /// A temporary directory nobody will finish: the xtask that made it is
    /// gone. A live one is never touched, however long massif takes.
    pub fn is_abandoned_temporary(&self) -> bool {
        matches!(self.kind, Kind::Temporary { alive: false, .. })
    }
}

/// Every entry of the results directory, sorted by name. An absent
/// directory holds nothing.
pub fn scan(dir: &Path) -> anyhow::Result<Vec<Item>> {
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    let mut items = Vec::new();
    for entry in read {
        let entry = entry.with_context(|| format!("cannot read {}", dir.display()))?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = std::fs::symlink_metadata(&path)
            .with_context(|| format!("cannot examine {}", path.display()))?;
        let kind = classify(&path, &name, &meta);
        let modified = if meta.is_dir() {
            newest_modification(&path, &meta)
        } else {
            meta.modified().ok()
        };
        items.push(Item {
            name,
            path,
            kind,
            modified,
        });
    }
    items.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(items)
}

fn classify(path: &Path, name: &str, meta: &std::fs::Metadata) -> Kind {
    if meta.file_type().is_symlink() {
        return Kind::Symlink;
    }
    if meta.is_dir() && name == super::history::HISTORY_DIR {
        // Pulled results: listed apart (`scan_pulled`), never cleaned up.
        return Kind::OwnFile;
    }
    if !meta.is_dir() {
        if OWN_FILES.contains(&name) {
            return Kind::OwnFile;
        }
        if let Some(pid) = super::atomic_temporary_pid(name).filter(|_| meta.is_file()) {
            return Kind::Temporary {
                pid: Some(pid),
                alive: process_alive(pid) && is_xtask_process(pid),
            };
        }
        return Kind::Foreign {
            why: "a file, not a result".into(),
        };
    }
    if let Some(rest) = name.strip_prefix(TMP_PREFIX) {
        let Some(pid) = own_temporary(rest) else {
            return Kind::Foreign {
                why: "named like a temporary directory, but not one of ours".into(),
            };
        };
        return Kind::Temporary {
            pid: Some(pid),
            alive: process_alive(pid) && is_xtask_process(pid),
        };
    }
    if name.starts_with(FAILED_PREFIX) {
        let failure = path.join("failure.txt");
        return match std::fs::read_to_string(&failure) {
            Ok(text) => Kind::Failed {
                reason: text
                    .lines()
                    .find(|l| !l.trim().is_empty())
                    .unwrap_or("")
                    .trim()
                    .to_string(),
            },
            Err(_) => Kind::Foreign {
                why: "named like a failed run but has no failure.txt".into(),
            },
        };
    }
    if name.starts_with(COMPARE_PREFIX) {
        let file = path.join(COMPARE_FILE);
        return match std::fs::read(&file).map(|b| serde_json::from_slice::<serde_json::Value>(&b)) {
            Ok(Ok(serde_json::Value::Object(_))) => Kind::Comparison,
            Ok(_) => Kind::Foreign {
                why: format!("its {COMPARE_FILE} is not a comparison"),
            },
            Err(_) => Kind::Foreign {
                why: format!("no {COMPARE_FILE}"),
            },
        };
    }
    let run = path.join(RUN_FILE);
    match std::fs::symlink_metadata(&run) {
        Ok(m) if m.is_file() => match read_record(&run) {
            Ok(record) => Kind::Result(Box::new(Entry {
                dir: path.to_path_buf(),
                name: name.to_string(),
                record,
            })),
            Err(e) => Kind::Foreign {
                why: format!("its {RUN_FILE} is not valid ({e:#})"),
            },
        },
        _ => Kind::Foreign {
            why: format!("no {RUN_FILE}"),
        },
    }
}

/// The results pulled from a shared history (`results/history/`), as
/// results named `history/<name>`: what list and the page show beside the
/// machine's own, and what cleanup never sees.
pub fn scan_pulled(dir: &Path) -> anyhow::Result<Vec<Item>> {
    Ok(super::history::entries(dir)?
        .into_iter()
        .map(|entry| Item {
            name: entry.name.clone(),
            path: entry.dir.clone(),
            modified: std::fs::symlink_metadata(entry.dir.join(RUN_FILE))
                .and_then(|m| m.modified())
                .ok(),
            kind: Kind::Result(Box::new(entry)),
        })
        .collect())
}

/// Whether a process exists (signal 0 checks without sending anything; a
/// process of another user answers EPERM, and exists).
pub fn process_alive(pid: u32) -> bool {
    i32::try_from(pid).is_ok_and(crate::runs::process::process_alive)
}

/// Whether the live process `pid` is an xtask (not another program that
/// reused the pid of a crashed one). Without /proc, a live pid counts.
fn is_xtask_process(pid: u32) -> bool {
    match std::fs::read(format!("/proc/{pid}/cmdline")) {
        Ok(cmdline) => cmdline.windows(5).any(|w| w == b"xtask"),
        Err(_) => !cfg!(target_os = "linux"),
    }
}

/// Whether `rest` (a `.tmp-` name without the prefix) is one of ours:
/// `<YYYYMMDD-HHMMSS>-<tag>-<label>-<n>-<pid>` (a result being written; an
/// older xtask's have no tag, or no `n`),
/// `compare-…-<pid>`, `old-compare-…-<pid>` or `rev-<pid>` (profile-compare),
/// `history-<pid>` (`history push` and `pull`).
fn own_temporary(rest: &str) -> Option<u32> {
    let (body, pid) = rest.rsplit_once('-')?;
    let pid = pid.parse::<u32>().ok()?;
    let bytes = body.as_bytes();
    let stamped = bytes.len() > 16
        && bytes[..8].iter().all(u8::is_ascii_digit)
        && bytes[8] == b'-'
        && bytes[9..15].iter().all(u8::is_ascii_digit)
        && bytes[15] == b'-';
    let compare = body.starts_with("compare-")
        || body.starts_with("old-compare-")
        || body == "rev"
        || body == "history";
    (stamped || compare).then_some(pid)
}

fn newest_modification(dir: &Path, meta: &std::fs::Metadata) -> Option<SystemTime> {
    let mut newest = meta.modified().ok();
    if let Ok(read) = std::fs::read_dir(dir) {
        for entry in read.flatten() {
            if let Ok(m) = std::fs::symlink_metadata(entry.path()).and_then(|m| m.modified()) {
                newest = Some(newest.map_or(m, |n| n.max(m)));
            }
        }
    }
    newest
}

/// Bytes of the files under `path`, symlinks counted as themselves (their
/// targets are not ours).
pub fn disk_usage(path: &Path) -> u64 {
    let Ok(meta) = std::fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    let mut total = 0;
    if let Ok(read) = std::fs::read_dir(path) {
        for entry in read.flatten() {
            total += disk_usage(&entry.path());
        }
    }
    total
}

/// The measures a one-line summary of a result shows: median wall time and
/// the workload's first metric (in profiling.toml's order when the workload
/// is still declared there, else the first by name).
pub fn first_metric<'a>(
    record: &'a RunRecord,
    config: Option<&Config>,
) -> Option<(&'a String, &'a MeasureSummary)> {
    let summaries = &record.headline()?.summaries;
    let declared = config
        .and_then(|c| c.workloads.get(&record.workload))
        .map(|w| {
            let mut names: Vec<&str> = w.metrics.iter().map(|m| m.name.as_str()).collect();
            if let Some(load) = &w.load {
                names.extend(load.get_ref().metrics.iter().map(|m| m.name.as_str()));
            }
            names
        });
    if let Some(found) = declared
        .iter()
        .flatten()
        .find_map(|name| summaries.get_key_value(*name))
    {
        return Some(found);
    }
    summaries
        .iter()
        .find(|(name, _)| !crate::config::measures::is_builtin(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn liveness_of_processes() {
        assert!(process_alive(std::process::id()));
        assert!(!process_alive(0), "pid 0 is a process group, not a process");
        assert!(!process_alive(u32::MAX));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        assert!(!process_alive(pid), "a reaped child is gone");
    }

    #[test]
    fn temporary_results_of_both_name_shapes_are_ours() {
        for (rest, pid) in [
            ("20261122-040506-fe3k9q-baseline-0-4321", Some(4321)),
            ("20261122-040506-baseline-0-4321", Some(4321)),
            ("20261122-040506-baseline-77", Some(77)),
            ("compare-a-vs-b-12", Some(12)),
            ("rev-12", Some(12)),
            ("history-12", Some(12)),
            ("notes-12", None),
            ("20261122-040506-baseline", None),
        ] {
            assert_eq!(own_temporary(rest), pid, "{rest}");
        }
    }
}
