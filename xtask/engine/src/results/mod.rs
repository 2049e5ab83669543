//! The results store: what lies under `results/`.
//!
//! A result is a directory `<YYYYMMDD-HHMMSS>-<tag>-<label>/` holding
//! `run.json` (our marker: directories without it are not ours),
//! `system_info.json`, `README.md` and the profile files. A result is
//! assembled under `.tmp-<...>` and renamed into place only when complete,
//! so an interrupted task never leaves a directory that looks like a
//! finished result (it removes the one it was writing).
//!
//! The name, e.g. `20261122-040506-fe3k9q-baseline`:
//! - `YYYYMMDD-HHMMSS`: when the result was begun, UTC;
//! - `tag`: six characters of lowercase Crockford base32
//!   (`0-9a-hjkmnp-tv-z`), which sort as the number they encode: two for
//!   the millisecond, then four from a random number drawn once per process
//!   and counted up per result. Results begun one after the other sort in
//!   that order even within one second, and names made on other machines
//!   (a history shared through git) do not collide;
//! - `label`: `--label`, the scenario's name or the task's default.
//!
//! Results of older versions are named `<YYYYMMDD-HHMMSS>-<label>`, with
//! `-2`, `-3`, ... appended for a second one in the same second. Both shapes
//! are read alike: a result's time and label are read from its run.json,
//! never from its name, which only names and orders it (a tag cannot be
//! told from a label's first word, so a name is never split).

pub mod history;
pub mod inventory;
pub mod pins;
pub mod record;
pub mod series;
#[cfg(test)]
pub mod synthetic;
pub mod system_info;

use crate::config::validate_label;
use anyhow::{bail, Context};
use record::RunRecord;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub const RUN_FILE: &str = "run.json";
pub const SYSTEM_FILE: &str = "system_info.json";
pub const README_FILE: &str = "README.md";
/// A memory profile's numbers, beside run.json (one per scale).
pub const MEMORY_FILE: &str = "memory.json";
/// memcheck's full leak report (`memory --leak-check`).
pub const LEAK_CHECK_FILE: &str = "leak-check.json";
pub const TMP_PREFIX: &str = ".tmp-";
pub const FAILED_PREFIX: &str = ".failed-";

/// A result being written. Dropping it without `commit` leaves the temporary
/// directory for `cleanup` (and for post-mortems); it never looks complete.
/// After an interrupt (Ctrl-C, SIGTERM, SIGHUP) it is removed instead: the
/// user stopped the task, and nothing of it is a failure to look into.
pub struct Pending {
    pub dir: PathBuf,
    results_dir: PathBuf,
    name: String,
}

impl Pending {
    /// The result's name once it is in place (unless taken meanwhile).
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn path(&self, file: &str) -> PathBuf {
        self.dir.join(file)
    }

    pub fn write(&self, file: &str, contents: impl AsRef<[u8]>) -> anyhow::Result<PathBuf> {
        let path = self.path(file);
        std::fs::write(&path, contents)
            .with_context(|| format!("cannot write {}", path.display()))?;
        Ok(path)
    }

    pub fn write_json(&self, file: &str, value: &impl serde::Serialize) -> anyhow::Result<PathBuf> {
        let path = self.path(file);
        write_json(&path, value)?;
        Ok(path)
    }

    /// Writes memcheck's full report as leak-check.json.
    pub fn write_leak_check(
        &self,
        report: &crate::tools::memcheck::LeakReport,
    ) -> anyhow::Result<PathBuf> {
        self.write_json(
            LEAK_CHECK_FILE,
            &record::leak_report::LeakReportFile::from(report),
        )
    }

    /// Writes the record (with the machine class of `system`) and what goes
    /// with it — run.json, system_info.json, each scale's memory.json, the
    /// README — then moves the result into place.
    pub fn finish(
        self,
        record: &RunRecord,
        system: &system_info::SystemInfo,
        readme: &str,
    ) -> anyhow::Result<PathBuf> {
        // The machine class is the system's, known here whoever made the
        // record: each result says what it was measured on.
        let record = &RunRecord {
            machine: Some(system.machine_class()),
            ..record.clone()
        };
        self.write_json(RUN_FILE, record)?;
        self.write_json(SYSTEM_FILE, system)?;
        let several = record.scales.len() > 1;
        for scale in &record.scales {
            if let Some(memory) = &scale.memory {
                self.write_json(
                    &format!("{}{MEMORY_FILE}", scale.dir_prefix(several)),
                    &record::memory::MemoryFile::new(memory.clone()),
                )?;
            }
        }
        self.write(README_FILE, readme)?;
        self.commit()
    }

    /// A failed run keeps its evidence under `.failed-...` (never mistaken
    /// for a result; `cleanup` removes it) and the task fails with the reason.
    pub fn fail(self, error: anyhow::Error) -> anyhow::Error {
        if crate::runs::process::interrupted() {
            // An interrupt is not a workload failure: what was written goes.
            self.discard();
            return error;
        }
        let text = match error.downcast_ref::<crate::runs::measure::RunFailure>() {
            Some(failure) => failure.to_string(),
            None => format!("{error:#}"),
        };
        match self.abandon(&text) {
            Ok(dir) => error.context(format!("the evidence is in {}", dir.display())),
            Err(_) => error,
        }
    }

    /// Moves a finished comparison into place as its name, replacing an older
    /// one of ours (marked by `marker`, compare.json), never a directory
    /// someone else made.
    pub fn replace(self, marker: &str) -> anyhow::Result<PathBuf> {
        crate::runs::process::commit_unless_interrupted(|| self.replace_now(marker))
    }

    fn replace_now(&self, marker: &str) -> anyhow::Result<PathBuf> {
        let (tmp, dir) = (&self.dir, self.results_dir.join(&self.name));
        if dir.exists() {
            if !dir.join(marker).is_file() {
                let _ = std::fs::remove_dir_all(tmp);
                bail!(
                    "{} exists but was not written by profile-compare (no {marker}): move it away and run again",
                    dir.display()
                );
            }
            let old = self.results_dir.join(format!(
                "{TMP_PREFIX}old-{}-{}",
                self.name,
                std::process::id()
            ));
            std::fs::rename(&dir, &old)
                .with_context(|| format!("cannot move the old {} aside", dir.display()))?;
            std::fs::rename(tmp, &dir)
                .with_context(|| format!("cannot move the report to {}", dir.display()))?;
            let _ = std::fs::remove_dir_all(&old);
        } else {
            std::fs::rename(tmp, &dir)
                .with_context(|| format!("cannot move the report to {}", dir.display()))?;
        }
        Ok(dir)
    }

    /// Removes what was written: nothing of it is worth keeping.
    pub fn discard(self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }

    /// Keeps a failed attempt's files under `.failed-...` with the reason in
    /// `failure.txt`: evidence to read, never mistaken for a result. After
    /// an interrupt the attempt failed because of it: nothing is kept.
    pub fn abandon(self, reason: &str) -> anyhow::Result<PathBuf> {
        if crate::runs::process::interrupted() {
            return Err(crate::runs::process::Interrupted.into());
        }
        self.write("failure.txt", reason)?;
        let target = self.results_dir.join(format!(
            "{FAILED_PREFIX}{}-{}",
            self.name,
            std::process::id()
        ));
        std::fs::rename(&self.dir, &target)?;
        Ok(target)
    }

    /// Renames the directory into place, unless the task was interrupted
    /// (then it stays temporary: nothing completes after Ctrl-C). Should a
    /// name be taken after all (its tag is random), `-2`, `-3`, ... follow:
    /// rename onto an existing non-empty directory fails, so the first one
    /// to claim a name keeps it.
    pub fn commit(self) -> anyhow::Result<PathBuf> {
        crate::runs::process::commit_unless_interrupted(|| self.commit_now())
    }

    fn commit_now(&self) -> anyhow::Result<PathBuf> {
        for attempt in 1..100 {
            let name = if attempt == 1 {
                self.name.clone()
            } else {
                format!("{}-{attempt}", self.name)
            };
            let target = self.results_dir.join(&name);
            if target.exists() {
                continue;
            }
            match std::fs::rename(&self.dir, &target) {
                Ok(()) => return Ok(target),
                // Another task claimed the name between our check and rename.
                Err(_) if target.exists() => continue,
                Err(e) => {
                    return Err(e)
                        .with_context(|| format!("cannot move the result to {}", target.display()))
                }
            }
        }
        bail!("no free result directory name for {}", self.name)
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        // Committed or abandoned, the directory has moved and this finds
        // nothing; still here after an interrupt, it goes.
        if crate::runs::process::interrupted() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `compare-<A>-vs-<B>`, with anything but `[A-Za-z0-9._-]` replaced.
pub fn compare_dir_name(a: &str, b: &str) -> String {
    format!("compare-{}-vs-{}", sanitize(a), sanitize(b))
}

pub fn sanitize(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean.trim_start_matches('.').to_string()
}

/// The results directory of a config.
#[derive(Debug, Clone)]
pub struct Store {
    pub dir: PathBuf,
}

/// A result found on disk.
#[derive(Debug, Clone)]
pub struct Entry {
    pub dir: PathBuf,
    pub name: String,
    pub record: RunRecord,
}

/// The results in `dir` (its directories whose name `keep` accepts and
/// that hold a run.json), named by `named`, oldest first; none when `dir`
/// does not exist. Unreadable ones are skipped with a warning. Links are
/// never followed out of `dir`: neither a linked directory nor a linked
/// run.json is read.
fn records_in(
    dir: &Path,
    keep: impl Fn(&str) -> bool,
    named: impl Fn(&str) -> String,
) -> anyhow::Result<Vec<Entry>> {
    let mut entries = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(read) => read,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(entries),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", dir.display())),
    };
    for item in read {
        let item = item?;
        let name = item.file_name().to_string_lossy().into_owned();
        if !keep(&name) || !item.file_type()?.is_dir() {
            continue;
        }
        let run = item.path().join(RUN_FILE);
        if !std::fs::symlink_metadata(&run).is_ok_and(|m| m.is_file()) {
            continue;
        }
        match read_record(&run) {
            Ok(record) => entries.push(Entry {
                dir: item.path(),
                name: named(&name),
                record,
            }),
            Err(e) => eprintln!("warning: skipping {}: {e:#}", item.path().display()),
        }
    }
    entries.sort_by(|a, b| (&a.record.created, &a.name).cmp(&(&b.record.created, &b.name)));
    Ok(entries)
}

impl Store {
    pub fn new(dir: impl Into<PathBuf>) -> Store {
        Store { dir: dir.into() }
    }

    /// Starts a result: `<stamp>-<tag>-<label>` to be,
    /// `.tmp-<stamp>-<tag>-<label>-<n>-<pid>` for now.
    pub fn begin(&self, label: &str) -> anyhow::Result<Pending> {
        validate_label(label)?;
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        // A per-process sequence number keeps two results begun in the same
        // millisecond by one task apart; the pid stays last (cleanup reads it).
        static SEQUENCE: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = SEQUENCE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = result_name(SystemTime::now(), process_random(), n, label);
        let dir = self
            .dir
            .join(format!("{TMP_PREFIX}{name}-{n}-{}", std::process::id()));
        std::fs::create_dir(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Pending {
            dir,
            results_dir: self.dir.clone(),
            name,
        })
    }

    /// A comparison being written, as `.tmp-<name>-<pid>`; published with
    /// [`Pending::replace`].
    pub fn begin_comparison(&self, name: &str) -> anyhow::Result<Pending> {
        std::fs::create_dir_all(&self.dir)
            .with_context(|| format!("cannot create {}", self.dir.display()))?;
        let dir = self
            .dir
            .join(format!("{TMP_PREFIX}{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Pending {
            dir,
            results_dir: self.dir.clone(),
            name: name.to_string(),
        })
    }

    /// Every complete result, oldest first. Unreadable ones are skipped with a warning.
    pub fn list(&self) -> anyhow::Result<Vec<Entry>> {
        // Dot entries are ours in the making (temporary directories).
        records_in(
            &self.dir,
            |name| !name.starts_with('.'),
            |name| name.to_string(),
        )
    }

    /// Every complete result, this machine's and those pulled from a shared
    /// history (`history/<name>`), oldest first: what trends follow. A
    /// pulled result that is one of ours (pushed from here) counts once.
    pub fn list_with_history(&self) -> anyhow::Result<Vec<Entry>> {
        let mut entries = self.list()?;
        let own: std::collections::BTreeSet<String> =
            entries.iter().map(|e| e.name.clone()).collect();
        entries.extend(
            history::entries(&self.dir)?
                .into_iter()
                .filter(|e| !own.contains(&e.name[history::HISTORY_DIR.len() + 1..])),
        );
        entries.sort_by(|a, b| (&a.record.created, &a.name).cmp(&(&b.record.created, &b.name)));
        Ok(entries)
    }

    /// A pin names a directory of this results directory; what it names is
    /// read only if it is really there: a symlink (the directory or its
    /// run.json) may lead anywhere, and is never read through.
    fn ensure_not_linked(&self, pin: &str, dir: &Path, run: &Path) -> anyhow::Result<()> {
        for path in [dir, run] {
            let Ok(meta) = std::fs::symlink_metadata(path) else {
                // Missing: reported as such by the caller.
                return Ok(());
            };
            if meta.file_type().is_symlink() {
                let target = std::fs::read_link(path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_else(|_| "?".into());
                bail!(
                    "pin `{pin}` points at {}, a symlink to {target}: results are never read through links (they may lead outside {}); \
                     move the result itself into {} and pin it again (`cargo xtask pin {pin} RUN`), or `cargo xtask unpin {pin}`",
                    path.display(),
                    self.dir.display(),
                    self.dir.display()
                );
            }
        }
        let inside = match (std::fs::canonicalize(dir), std::fs::canonicalize(&self.dir)) {
            (Ok(dir), Ok(results)) => dir.parent() == Some(results.as_path()),
            _ => true,
        };
        if !inside {
            bail!(
                "pin `{pin}` points at {}, which resolves outside {}: `cargo xtask unpin {pin}` and pin a result inside it",
                dir.display(),
                self.dir.display()
            );
        }
        Ok(())
    }

    /// Finds a result by pin (see `pins`), directory path, directory name,
    /// `latest`, `previous`, or label (the newest with that label).
    pub fn resolve(&self, what: &str) -> anyhow::Result<Entry> {
        if let Some(pin) = pins::Pins::load(&self.dir)?.pins.get(what) {
            let dir = self.dir.join(&pin.dir);
            let run = dir.join(RUN_FILE);
            self.ensure_not_linked(what, &dir, &run)?;
            if !run.is_file() {
                bail!(
                    "pin `{what}` points at {}, which holds no result any more: `cargo xtask unpin {what}`",
                    dir.display()
                );
            }
            return Ok(Entry {
                record: read_record(&run)?,
                dir,
                name: pin.dir.clone(),
            });
        }
        let path = Path::new(what);
        if path.join(RUN_FILE).is_file() {
            let record = read_record(&path.join(RUN_FILE))?;
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| what.to_string());
            return Ok(Entry {
                dir: path.to_path_buf(),
                name,
                record,
            });
        }
        let entries = self.list()?;
        let found = match what {
            "latest" => entries.last(),
            "previous" => entries.iter().rev().nth(1),
            _ => entries
                .iter()
                .rev()
                .find(|e| e.name == what)
                .or_else(|| entries.iter().rev().find(|e| e.record.label == what)),
        };
        match found {
            Some(entry) => Ok(entry.clone()),
            None => {
                let known: Vec<&str> = entries
                    .iter()
                    .rev()
                    .take(5)
                    .map(|e| e.name.as_str())
                    .collect();
                bail!(
                    "no result `{what}` in {} ({}); give a pin, a directory, a label, `latest` or `previous`",
                    self.dir.display(),
                    if known.is_empty() {
                        "it holds no results yet: run `cargo xtask profile-baseline`".to_string()
                    } else {
                        format!("newest: {}", known.join(", "))
                    }
                )
            }
        }
    }
}

/// The schema version of a file written before its format carried one: 1.
/// Every JSON file the xtask writes says its `schema_version` (first field);
/// readers take a file without it, from an older xtask, as version 1
/// (`#[serde(default = "crate::results::unversioned")]`).
pub fn unversioned() -> u32 {
    1
}

/// Writes `value` as pretty JSON with a final newline: every JSON file the
/// xtask leaves (run.json, memory.json, compare.json, pins.json) looks alike.
pub fn write_json(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    std::fs::write(path, json_bytes(value)?)
        .with_context(|| format!("cannot write {}", path.display()))
}

fn json_bytes(value: &impl serde::Serialize) -> anyhow::Result<Vec<u8>> {
    let mut bytes = serde_json::to_vec_pretty(value)?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// Writes one file so that a reader sees the old file or the new one, never
/// half of either: a sibling temporary file, then a rename (pins.json,
/// index.html, trends' CSV and SVG, and the project files `init` and
/// `adopt` write). The directory is created if needed.
pub fn write_atomically(path: &Path, bytes: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = dir.join(atomic_temporary_name(&name, std::process::id()));
    // A write that fails (a full disk) may have created the file: it is
    // removed, or it would lie beside the real one until cleanup.
    if let Err(error) = std::fs::write(&temporary, bytes) {
        let _ = std::fs::remove_file(&temporary);
        return Err(error).with_context(|| format!("cannot write {}", temporary.display()));
    }
    std::fs::rename(&temporary, path).with_context(|| {
        let _ = std::fs::remove_file(&temporary);
        format!("cannot replace {}", path.display())
    })
}

/// The sibling temporary file of [`write_atomically`]: `.NAME.PID.tmp`.
/// [`atomic_temporary_pid`] reads the name back, so that `cleanup` knows
/// the file as ours.
fn atomic_temporary_name(name: &str, pid: u32) -> String {
    format!(".{name}.{pid}.tmp")
}

/// The pid of the process that wrote `file_name`, when it is the temporary
/// file of a [`write_atomically`] (`.index.html.1234.tmp`).
pub fn atomic_temporary_pid(file_name: &str) -> Option<u32> {
    let inner = file_name.strip_prefix('.')?.strip_suffix(".tmp")?;
    let (name, pid) = inner.rsplit_once('.')?;
    let pid = pid.parse::<u32>().ok()?;
    (!name.is_empty() && atomic_temporary_name(name, pid) == file_name).then_some(pid)
}

/// `value` as [`write_json`] writes it, through [`write_atomically`].
pub fn write_json_atomically(path: &Path, value: &impl serde::Serialize) -> anyhow::Result<()> {
    write_atomically(path, json_bytes(value)?)
}

pub fn read_record(path: &Path) -> anyhow::Result<RunRecord> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut record = parse_record(&text)
        .with_context(|| format!("{} is not a valid run record", path.display()))?;
    if record.machine.is_none() {
        // A result of an older version: the machine it described beside it.
        let system = path.with_file_name(SYSTEM_FILE);
        if std::fs::symlink_metadata(&system).is_ok_and(|m| m.is_file() && m.len() < 1 << 20) {
            record.machine = std::fs::read(&system)
                .ok()
                .and_then(|b| serde_json::from_slice::<system_info::SystemInfo>(&b).ok())
                .filter(|s| s.cores > 0)
                .map(|s| s.machine_class());
        }
    }
    Ok(record)
}

/// A run record from its JSON, as [`read_record`] reads it (but for the
/// machine class of older results, which it takes from system_info.json):
/// a local result's and a pulled one's alike.
pub fn parse_record(text: &str) -> anyhow::Result<RunRecord> {
    let mut record: RunRecord = serde_json::from_str(text)?;
    if record.schema_version > record::SCHEMA_VERSION {
        bail!(
            "schema version {}, newer than this xtask understands ({}): update the xtask",
            record.schema_version,
            record::SCHEMA_VERSION
        );
    }
    record.upgrade();
    Ok(record)
}

/// A result's directory name (see the module doc): `time`'s stamp and
/// millisecond, `random + n` (the low 20 bits) and the label.
fn result_name(time: SystemTime, random: u32, n: u32, label: &str) -> String {
    let millis = time
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |t| t.subsec_millis());
    let tag = (millis << 20) | (random.wrapping_add(n) & 0xF_FFFF);
    format!("{}-{}-{label}", timestamp_for_dir(time), base32(tag, 6))
}

/// Crockford's alphabet in lowercase: in ASCII order, so that names sort
/// as the numbers they encode; no `i`, `l`, `o`, `u` to misread.
const BASE32: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// The low `5 * digits` bits of `value`, most significant first.
fn base32(value: u32, digits: u32) -> String {
    (0..digits)
        .rev()
        .map(|i| BASE32[((value >> (5 * i)) & 31) as usize] as char)
        .collect()
}

/// A random number drawn once per process, below 2^19: counted up per
/// result, it stays within the tag's 20 bits for half a million results.
/// std's `RandomState` is seeded by the operating system's randomness.
fn process_random() -> u32 {
    static RANDOM: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *RANDOM.get_or_init(|| {
        use std::hash::{BuildHasher, Hasher};
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        (hasher.finish() & 0x7_FFFF) as u32
    })
}

/// `20261122-040506`, UTC.
pub fn timestamp_for_dir(time: SystemTime) -> String {
    timestamp_iso(time)
        .chars()
        .filter(|c| c.is_ascii_digit() || *c == 'T')
        .map(|c| if c == 'T' { '-' } else { c })
        .collect()
}

/// `2026-11-22T04:05:06Z` (RFC 3339, UTC, whole seconds).
pub fn timestamp_iso(time: SystemTime) -> String {
    humantime::format_rfc3339_seconds(time).to_string()
}

/// Reads a `created` time back (`2026-11-22T04:05:06Z`).
pub fn parse_iso(text: &str) -> Option<SystemTime> {
    if text.len() != 20 {
        return None;
    }
    humantime::parse_rfc3339(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn iso_times_parse_back() {
        for secs in [0u64, 951_782_400, 1_795_320_306, 4_102_444_799] {
            let t = UNIX_EPOCH + Duration::from_secs(secs);
            assert_eq!(parse_iso(&timestamp_iso(t)), Some(t), "{secs}");
            assert_eq!(timestamp_for_dir(t).len(), "20261122-040506".len());
        }
        for bad in [
            "",
            "2026-11-22",
            "2026-13-01T00:00:00Z",
            "2026-11-22T04:05:06",
            "2026-11-22 04:05:06Z",
        ] {
            assert_eq!(parse_iso(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn compare_directory_names_are_safe() {
        assert_eq!(
            compare_dir_name("20261122-041612-probe", "20261122-041616-slow"),
            "compare-20261122-041612-probe-vs-20261122-041616-slow"
        );
        assert_eq!(compare_dir_name("../x y", ".b"), "compare-_x_y-vs-b");
    }

    #[test]
    fn a_comparison_replaces_only_our_own_directories() {
        let base = std::env::temp_dir().join(format!("xtask-publish-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let store = Store::new(&base);
        let make = |name: &str, marker: &str| {
            let pending = store.begin_comparison(name).unwrap();
            std::fs::write(pending.path("compare.json"), marker).unwrap();
            pending
        };
        let target = make("compare-a-vs-b", "first")
            .replace("compare.json")
            .unwrap();
        make("compare-a-vs-b", "second")
            .replace("compare.json")
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("compare.json")).unwrap(),
            "second"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("compare-a-vs-b")]);

        let foreign = base.join("compare-c-vs-d");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
        let err = make("compare-c-vs-d", "third")
            .replace("compare.json")
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("was not written by profile-compare"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
            "mine"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn timestamps() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_320_306); // 2026-11-22T04:05:06Z
        assert_eq!(timestamp_for_dir(t), "20261122-040506");
        assert_eq!(timestamp_iso(t), "2026-11-22T04:05:06Z");
        assert_eq!(
            timestamp_iso(UNIX_EPOCH + Duration::from_secs(951_782_400)),
            "2000-02-29T00:00:00Z"
        );
    }

    #[test]
    fn results_started_in_the_same_second_get_distinct_directories() {
        let dir = std::env::temp_dir().join(format!("xtask-store-{}", std::process::id()));
        let store = Store::new(&dir);
        let (a, b) = (store.begin("same").unwrap(), store.begin("same").unwrap());
        assert_ne!(a.dir, b.dir, "temporary directories differ");
        // Each must look like a result once committed.
        for pending in [&a, &b] {
            pending.write(RUN_FILE, "{}").unwrap();
        }
        let (first, second) = (a.commit().unwrap(), b.commit().unwrap());
        let names = [first, second].map(|p| p.file_name().unwrap().to_string_lossy().into_owned());
        // Distinct without a suffix, in the order they were begun.
        assert!(names.iter().all(|n| is_new_shape(n, "same")), "{names:?}");
        assert!(names[0] < names[1], "{names:?}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// `<YYYYMMDD-HHMMSS>-<6 base32>-<label>`.
    fn is_new_shape(name: &str, label: &str) -> bool {
        let b = name.as_bytes();
        name.len() == "20261122-040506-fe3k9q-".len() + label.len()
            && name.ends_with(&format!("-{label}"))
            && b[..8].iter().all(u8::is_ascii_digit)
            && b[8] == b'-'
            && b[9..15].iter().all(u8::is_ascii_digit)
            && b[15] == b'-'
            && b[16..22].iter().all(|c| BASE32.contains(c))
            && b[22] == b'-'
    }

    #[test]
    fn names_sort_by_time_then_order_begun() {
        let t = UNIX_EPOCH + Duration::from_millis(1_795_320_306_042);
        assert_eq!(result_name(t, 0, 0, "x"), "20261122-040506-1a0000-x");
        assert_eq!(result_name(t, 0x7_FFFF, 1, "x"), "20261122-040506-1ag000-x");
        let later = t + Duration::from_millis(1);
        let names = [
            result_name(t, 0x7_FFFF, 0, "b"),
            result_name(t, 0x7_FFFF, 1, "a"),
            result_name(later, 0, 0, "a"),
            result_name(t + Duration::from_secs(1), 0, 0, "a"),
        ];
        let mut sorted = names.clone();
        sorted.sort();
        assert_eq!(sorted, names);
        assert!(names
            .iter()
            .all(|n| n.len() == "20261122-040506-1a0000-a".len()));
    }

    /// Results of older versions (`<stamp>-<label>`, `-2` for a second one)
    /// and new ones are listed and found alike, oldest first.
    #[test]
    fn results_named_the_old_way_are_read_beside_new_ones() {
        let dir = std::env::temp_dir().join(format!("xtask-old-names-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::new(&dir);
        for (name, label, created) in [
            ("20260101-000000-base", "base", "2026-01-01T00:00:00Z"),
            ("20260101-000000-base-2", "base", "2026-01-01T00:00:00Z"),
            (
                "20260102-000000-0a1b2c-base",
                "base",
                "2026-01-02T00:00:00Z",
            ),
        ] {
            std::fs::create_dir_all(dir.join(name)).unwrap();
            let record = synthetic::record(label, created, &[("wall_s", "s", &[1.0])]);
            write_json(&dir.join(name).join(RUN_FILE), &record).unwrap();
        }
        let names: Vec<String> = store.list().unwrap().into_iter().map(|e| e.name).collect();
        assert_eq!(
            names,
            [
                "20260101-000000-base",
                "20260101-000000-base-2",
                "20260102-000000-0a1b2c-base"
            ]
        );
        assert_eq!(store.resolve("previous").unwrap().name, names[1]);
        assert_eq!(store.resolve("base").unwrap().name, names[2]);
        assert_eq!(
            store.resolve("20260101-000000-base").unwrap().record.label,
            "base"
        );
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn an_abandoned_result_never_looks_complete() {
        let dir = std::env::temp_dir().join(format!("xtask-abandon-{}", std::process::id()));
        let store = Store::new(&dir);
        let pending = store.begin("broken").unwrap();
        pending.write(RUN_FILE, "{}").unwrap();
        let kept = pending.abandon("exit status 3").unwrap();
        assert!(kept
            .file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(FAILED_PREFIX));
        assert_eq!(
            std::fs::read_to_string(kept.join("failure.txt")).unwrap(),
            "exit status 3"
        );
        assert!(store.list().unwrap().is_empty());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn atomic_temporary_names_are_read_back() {
        let name = atomic_temporary_name("pins.json", 4321);
        assert_eq!(name, ".pins.json.4321.tmp");
        assert_eq!(atomic_temporary_pid(&name), Some(4321));
        assert_eq!(atomic_temporary_pid(".index.html.77.tmp"), Some(77));
        for foreign in [
            ".notes.tmp",
            "index.html.77.tmp",
            ".index.html.77",
            "..77.tmp",
            ".index.html.+77.tmp",
            ".index.html.x.tmp",
        ] {
            assert_eq!(atomic_temporary_pid(foreign), None, "{foreign}");
        }
    }

    #[test]
    fn labels_cannot_escape_the_results_directory() {
        for bad in ["", "..", ".", "a/b", "../x", ".hidden", "a b", "x\\y"] {
            assert!(validate_label(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["baseline", "v1.2", "opt_2-fast"] {
            validate_label(good).unwrap();
        }
    }
}
