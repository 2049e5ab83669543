//! The results history shared through git, on disk: which files of a
//! result are shared, how they are redacted before they leave the machine,
//! how what arrives is checked, and where it is kept.
//!
//! A result is shared as `<result name>/run.json`, `system_info.json` and
//! each scale's `top-functions.txt` in the history's tree: the numbers that
//! list, trends and the results page read, and the functions that the
//! README shows. Raw captures (perf.data, heaptrack's and massif's files,
//! folded stacks, annotate/) stay on the machine, and so do the SVGs: a
//! flamegraph is a program (its search and zoom are scripts), and one from
//! another machine would run as a page of ours.
//!
//! Pulled results are kept under `results/history/<result name>/`, apart
//! from the machine's own: `cleanup` never removes them, and a local result
//! is never overwritten. What arrives is untrusted: every path is checked
//! before anything is written (no `..`, no absolute path, no link, nothing
//! but plain files of known names, each of a bounded size), run.json and
//! system_info.json are read as strictly as local ones, and no text may
//! hold control characters that a terminal would obey.

use super::record::RunRecord;
use super::system_info::SystemInfo;
use super::{Entry, RUN_FILE, SYSTEM_FILE, TMP_PREFIX};
use crate::tools::git::TreeEntry;
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The directory of pulled results, inside the results directory.
pub const HISTORY_DIR: &str = "history";
/// The CPU profile's table of functions (`runs::cpu_profile::TOP`).
pub const TOP_FUNCTIONS: &str = "top-functions.txt";
/// The files of a result that are shared, at its top or in a scale's
/// subdirectory.
pub const SHARED_FILES: &[&str] = &[RUN_FILE, SYSTEM_FILE, TOP_FUNCTIONS];
/// The largest file the history may hold: run.json of hundreds of runs
/// stays far below.
pub const MAX_FILE_BYTES: u64 = 8 << 20;
/// The most one pull reads in all.
pub const MAX_PULL_BYTES: u64 = 1 << 30;
/// A scale's files lie one directory down: `<result>/<scale>/top-functions.txt`.
const MAX_DEPTH: usize = 3;

/// What identifies this machine and its user in a result's text, and what
/// replaces it: the project's path and the home directory (`$PROJECT`,
/// `$HOME`), the user's and the host's names (`$USER`, `$HOST`).
#[derive(Debug, Clone, Default)]
pub struct Identity {
    /// Path → placeholder, longest first (the project usually lies in the home).
    paths: Vec<(String, &'static str)>,
    /// Name → placeholder, replaced where it stands as a word of its own.
    words: Vec<(String, &'static str)>,
}

/// An environment value of a run, as the history keeps it.
pub const REDACTED: &str = "[redacted]";

impl Identity {
    /// This machine's: `project` (as given and as resolved), `$HOME` and the
    /// account's home, the user's name (the account's, `$USER`,
    /// `$LOGNAME`) and the host's (full and its first label).
    pub fn of_this_machine(project: &Path) -> Identity {
        let mut identity = Identity::default();
        let mut projects = vec![project.to_path_buf()];
        projects.extend(std::fs::canonicalize(project));
        for path in projects {
            identity.add_path(&path.display().to_string(), "$PROJECT");
        }
        let account = nix::unistd::User::from_uid(nix::unistd::getuid())
            .ok()
            .flatten();
        if let Some(home) = std::env::var_os("HOME") {
            identity.add_path(&PathBuf::from(home).display().to_string(), "$HOME");
        }
        if let Some(user) = &account {
            identity.add_path(&user.dir.display().to_string(), "$HOME");
            identity.add_word(&user.name, "$USER");
        }
        for var in ["USER", "LOGNAME"] {
            if let Ok(name) = std::env::var(var) {
                identity.add_word(&name, "$USER");
            }
        }
        if let Ok(name) = nix::sys::utsname::uname() {
            let host = name.nodename().to_string_lossy().into_owned();
            identity.add_word(host.split('.').next().unwrap_or(&host), "$HOST");
            identity.add_word(&host, "$HOST");
        }
        identity
    }

    /// Adds a path to replace; `/` and relative paths are not identifying.
    pub fn add_path(&mut self, path: &str, placeholder: &'static str) {
        let path = path.trim_end_matches('/');
        if path.len() > 1 && path.starts_with('/') && !self.paths.iter().any(|(p, _)| p == path) {
            self.paths.push((path.to_string(), placeholder));
            self.paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
        }
    }

    /// Adds a name to replace where it is a word; names of one or two
    /// characters would replace too much that is not them.
    pub fn add_word(&mut self, word: &str, placeholder: &'static str) {
        if word.chars().count() > 2 && !self.words.iter().any(|(w, _)| w == word) {
            self.words.push((word.to_string(), placeholder));
            self.words.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
        }
    }

    /// `text` with every path and name of this identity replaced.
    pub fn redact(&self, text: &str) -> String {
        let mut text = text.to_string();
        for (path, placeholder) in &self.paths {
            text = replace_bounded(&text, path, placeholder, false);
        }
        for (word, placeholder) in &self.words {
            text = replace_bounded(&text, word, placeholder, true);
        }
        text
    }

    fn redact_json(&self, value: &mut serde_json::Value) {
        use serde_json::Value;
        match value {
            Value::String(text) => *text = self.redact(text),
            Value::Array(items) => items.iter_mut().for_each(|v| self.redact_json(v)),
            Value::Object(map) => {
                let old = std::mem::take(map);
                for (key, mut value) in old {
                    self.redact_json(&mut value);
                    map.insert(self.redact(&key), value);
                }
            }
            _ => {}
        }
    }
}

/// A character that continues a name: a path component or a word.
fn continues_name(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || c == '-'
}

/// `text` with `needle` replaced where the next character does not continue
/// it (`/home/al` is not in `/home/alice/x`), and, for a `word`, where the
/// one before does not either.
fn replace_bounded(text: &str, needle: &str, with: &str, word: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find(needle) {
        let before = rest[..at].chars().next_back().or(out.chars().next_back());
        let after = rest[at + needle.len()..].chars().next();
        let bounded =
            !after.is_some_and(continues_name) && (!word || !before.is_some_and(continues_name));
        out.push_str(&rest[..at]);
        out.push_str(if bounded { with } else { needle });
        rest = &rest[at + needle.len()..];
    }
    out.push_str(rest);
    out
}

/// The shared files of a local result, redacted: path in the history's
/// tree (`<name>/run.json`...) and contents.
pub fn shared_files(entry: &Entry, identity: &Identity) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let mut value = serde_json::to_value(&entry.record)?;
    identity.redact_json(&mut value);
    let mut record: RunRecord =
        serde_json::from_value(value).context("the redacted run.json does not read back")?;
    for scale in &mut record.scales {
        for value in scale.env.values_mut() {
            *value = REDACTED.to_string();
        }
    }
    let mut files = vec![(
        format!("{}/{RUN_FILE}", entry.name),
        super::json_bytes(&record)?,
    )];
    let system_path = entry.dir.join(SYSTEM_FILE);
    if let Ok(text) = read_local(&system_path) {
        let system: SystemInfo = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid system description",
                system_path.display()
            )
        })?;
        let mut value = serde_json::to_value(&system)?;
        identity.redact_json(&mut value);
        let mut system: SystemInfo = serde_json::from_value(value)?;
        system.hostname = "$HOST".into();
        files.push((
            format!("{}/{SYSTEM_FILE}", entry.name),
            super::json_bytes(&system)?,
        ));
    }
    let several = record.scales.len() > 1;
    for scale in &record.scales {
        let relative = format!("{}{TOP_FUNCTIONS}", scale.dir_prefix(several));
        if let Ok(text) = read_local(&entry.dir.join(&relative)) {
            files.push((
                format!("{}/{relative}", entry.name),
                identity.redact(&text).into_bytes(),
            ));
        }
    }
    Ok(files)
}

/// A file of a local result, if it is a plain file (never through a link)
/// of a size the history takes.
fn read_local(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_file() || meta.len() > MAX_FILE_BYTES {
        bail!(
            "{} is not a plain file of at most {MAX_FILE_BYTES} bytes",
            path.display()
        );
    }
    Ok(std::fs::read_to_string(path)?)
}

/// A result in the history, as its tree lists it: its name and its files
/// (path below the result, blob id).
#[derive(Debug, Clone, PartialEq)]
pub struct Incoming {
    pub name: String,
    pub files: Vec<(String, String)>,
}

/// Checks a history's tree and says which results it holds. Any path that
/// could lead outside the directory it is written to, any link, submodule
/// or executable, any file too large, refuses the whole tree: a history
/// that holds one was not written by this tool. Files of other names (a
/// newer version's) are left out, and `skipped` says which.
pub fn plan_pull(
    listing: &[TreeEntry],
    skipped: &mut Vec<String>,
) -> anyhow::Result<Vec<Incoming>> {
    let mut results: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let mut total = 0u64;
    for entry in listing {
        let path = entry.path_text();
        let refuse = |why: &str| {
            anyhow::anyhow!(
                "refusing the history: its entry `{path}` {why}; nothing was written (this tree was not written by `history push`: check who can push to {})",
                crate::tools::git::HISTORY_REF
            )
        };
        let text = std::str::from_utf8(&entry.path).map_err(|_| refuse("is not UTF-8"))?;
        let parts: Vec<&str> = text.split('/').collect();
        if let Some(bad) = parts.iter().find(|p| !is_safe_name(p)) {
            return Err(refuse(&format!(
                "has the component `{}`: only letters, digits, `.`, `_` and `-` may name a file, never `..` or a leading `.`",
                bad.escape_debug()
            )));
        }
        if !entry.is_plain_file() {
            return Err(refuse(&format!(
                "is not a plain file (mode {}, {}): links and submodules are never followed",
                entry.mode, entry.kind
            )));
        }
        let size = entry.size.unwrap_or(u64::MAX);
        if size > MAX_FILE_BYTES {
            return Err(refuse(&format!(
                "is {size} bytes, above the limit of {MAX_FILE_BYTES}"
            )));
        }
        total += size;
        if total > MAX_PULL_BYTES {
            return Err(refuse(&format!(
                "takes the history above {MAX_PULL_BYTES} bytes"
            )));
        }
        let file = parts.last().copied().unwrap_or_default();
        if parts.len() < 2 || parts.len() > MAX_DEPTH || !SHARED_FILES.contains(&file) {
            skipped.push(path.clone());
            continue;
        }
        results
            .entry(parts[0].to_string())
            .or_default()
            .push((parts[1..].join("/"), entry.id.clone()));
    }
    Ok(results
        .into_iter()
        .filter(|(_, files)| files.iter().any(|(f, _)| f == RUN_FILE))
        .map(|(name, files)| Incoming { name, files })
        .collect())
}

/// A name a pulled file or directory may have: 1–128 of `[A-Za-z0-9._-]`,
/// not starting with `.` (so neither `.` nor `..`, nor a hidden file).
pub fn is_safe_name(name: &str) -> bool {
    (1..=128).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// A pulled result, read and checked.
#[derive(Debug, Clone)]
pub struct Pulled {
    pub name: String,
    pub record: RunRecord,
    pub system: SystemInfo,
    /// Scale → its top-functions.txt.
    pub top_functions: BTreeMap<String, String>,
    /// Every file as it arrived (path below the result, contents).
    pub files: Vec<(String, String)>,
}

/// Reads a pulled result's files as strictly as a local result's: run.json
/// and system_info.json parse into their types, no newer schema than this
/// xtask knows, no control character in any text (besides line breaks and
/// tabs), top-functions.txt only where the record has that scale.
pub fn check_pulled(name: &str, files: Vec<(String, Vec<u8>)>) -> anyhow::Result<Pulled> {
    let mut texts = Vec::new();
    for (path, bytes) in files {
        let text = String::from_utf8(bytes).with_context(|| format!("{path} is not UTF-8 text"))?;
        if let Some(c) = text
            .chars()
            .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
        {
            bail!("{path} holds the control character {:?}", c);
        }
        texts.push((path, text));
    }
    let find = |file: &str| {
        texts
            .iter()
            .find(|(p, _)| p == file)
            .map(|(_, t)| t.as_str())
    };
    for (path, text) in &texts {
        if path.ends_with(".json") {
            let value: serde_json::Value =
                serde_json::from_str(text).with_context(|| format!("{path} is not JSON"))?;
            check_strings(&value).with_context(|| format!("{path} is refused"))?;
        }
    }
    let run = find(RUN_FILE).context("no run.json")?;
    let record = super::parse_record(run).context("run.json is not a valid run record")?;
    let system: SystemInfo = match find(SYSTEM_FILE) {
        Some(text) => serde_json::from_str(text).context("system_info.json is not valid")?,
        None => SystemInfo::default(),
    };
    if system.schema_version > super::system_info::SCHEMA_VERSION {
        bail!(
            "system_info.json has a schema version newer than this xtask reads: update the xtask"
        );
    }
    let several = record.scales.len() > 1;
    let mut top_functions = BTreeMap::new();
    for scale in &record.scales {
        let relative = format!("{}{TOP_FUNCTIONS}", scale.dir_prefix(several));
        if let Some(text) = find(&relative) {
            top_functions.insert(scale.scale.clone(), text.to_string());
        }
    }
    for (path, _) in &texts {
        let known = path == RUN_FILE
            || path == SYSTEM_FILE
            || record
                .scales
                .iter()
                .any(|s| *path == format!("{}{TOP_FUNCTIONS}", s.dir_prefix(several)));
        if !known {
            bail!("{path} is no file of this result's scales");
        }
    }
    Ok(Pulled {
        name: name.to_string(),
        record,
        system,
        top_functions,
        files: texts,
    })
}

/// Fails on a string (or key) of `value` with a control character that a
/// terminal would obey (an escape sequence in a name), line breaks and
/// tabs aside.
fn check_strings(value: &serde_json::Value) -> anyhow::Result<()> {
    use serde_json::Value;
    let check = |text: &str| match text
        .chars()
        .find(|c| c.is_control() && !matches!(c, '\n' | '\t' | '\r'))
    {
        Some(c) => bail!("the text {:?} holds the control character {c:?}", text),
        None => Ok(()),
    };
    match value {
        Value::String(text) => check(text),
        Value::Array(items) => items.iter().try_for_each(check_strings),
        Value::Object(map) => map.iter().try_for_each(|(key, value)| {
            check(key)?;
            check_strings(value)
        }),
        _ => Ok(()),
    }
}

/// Writes a pulled result (its files and the README made from them) as
/// `results/history/<name>/`, in one rename. A result already there stays
/// as it is (`Ok(None)`): results never change once written.
pub fn write_pulled(
    results_dir: &Path,
    pulled: &Pulled,
    readme: &str,
) -> anyhow::Result<Option<PathBuf>> {
    let history = results_dir.join(HISTORY_DIR);
    let target = history.join(&pulled.name);
    if std::fs::symlink_metadata(&target).is_ok() {
        return Ok(None);
    }
    std::fs::create_dir_all(&history)
        .with_context(|| format!("cannot create {}", history.display()))?;
    let tmp = history.join(format!(
        "{TMP_PREFIX}{}-{}",
        pulled.name,
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&tmp);
    let written = (|| -> anyhow::Result<()> {
        std::fs::create_dir(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
        let readme_file = (super::README_FILE.to_string(), readme.to_string());
        for (path, text) in pulled.files.iter().chain([&readme_file]) {
            let file = tmp.join(path);
            if let Some(parent) = file.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&file, text)
                .with_context(|| format!("cannot write {}", file.display()))?;
        }
        crate::runs::process::check_interrupted()?;
        std::fs::rename(&tmp, &target)
            .with_context(|| format!("cannot move the result to {}", target.display()))
    })();
    if let Err(error) = written {
        let _ = std::fs::remove_dir_all(&tmp);
        if target.exists() {
            return Ok(None);
        }
        return Err(error);
    }
    Ok(Some(target))
}

/// The pulled results, each named `history/<name>` (how list, trends and
/// the page show and link it), oldest first. Unreadable ones are skipped
/// with a warning; links are never followed.
pub fn entries(results_dir: &Path) -> anyhow::Result<Vec<Entry>> {
    let history = results_dir.join(HISTORY_DIR);
    if !std::fs::symlink_metadata(&history).is_ok_and(|m| m.is_dir()) {
        return Ok(Vec::new());
    }
    super::records_in(&history, is_safe_name, |name| {
        format!("{HISTORY_DIR}/{name}")
    })
}

/// The names of the pulled results on disk.
pub fn pulled_names(results_dir: &Path) -> Vec<String> {
    std::fs::read_dir(results_dir.join(HISTORY_DIR))
        .map(|read| {
            read.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| is_safe_name(n))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
