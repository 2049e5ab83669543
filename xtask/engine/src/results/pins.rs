//! Pins: stable names for results (`release-1.2`, `baseline`), kept in
//! `results/pins.json`. A pinned result is addressable by its pin wherever a
//! result is (see `Store::resolve`) and `cleanup` never removes it.
//!
//! pins.json is a file people edit by hand, so it is read two ways:
//! [`Pins::load`] is strict (any problem is an error naming the file, line
//! and column), for the tasks that act on pins (`cleanup` must never delete
//! a pinned result because it could not read the pins); [`Pins::inspect`]
//! keeps going and reports each problem, for `list` and `unpin`, which are
//! how the user finds and repairs a broken file.

use crate::config::validate_label;
use anyhow::bail;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub const PINS_FILE: &str = "pins.json";
const PINS_VERSION: u32 = 1;

/// Words `Store::resolve` gives a meaning of its own: a pin may not take them.
const RESERVED_NAMES: &[&str] = &["latest", "previous"];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pins {
    /// Written as `schema_version`, like every file the xtask writes; files
    /// of older xtasks say `version`, or nothing (version 1).
    #[serde(alias = "version", default = "crate::results::unversioned")]
    pub schema_version: u32,
    /// Pin name → the pinned result.
    pub pins: BTreeMap<String, Pin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pin {
    /// The result's directory name inside the results directory (never a
    /// path: pins cannot point outside it).
    pub dir: String,
    /// When the pin was set, `2026-11-22T04:05:06Z`.
    pub pinned: String,
}

/// What [`Pins::inspect`] found in pins.json: the usable pins and, each with
/// its place in the file, what is wrong with the rest.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub path: PathBuf,
    /// The entries that are valid pins.
    pub pins: Pins,
    /// The file as a whole cannot be understood (unreadable, not JSON, not
    /// a pins file, a newer version): no entry of it can be trusted, and
    /// the xtask cannot rewrite it without losing what the user wrote.
    pub file_problem: Option<String>,
    /// Entries that are not valid pins, verbatim (so that removing another
    /// entry keeps them), with what is wrong, `file:line:col: ...`.
    pub bad_entries: BTreeMap<String, (serde_json::Value, String)>,
}

impl Inspection {
    /// Every problem, one line each, `file:line:col: what`.
    pub fn problems(&self) -> Vec<String> {
        self.file_problem
            .iter()
            .cloned()
            .chain(
                self.bad_entries
                    .values()
                    .map(|(_, problem)| problem.clone()),
            )
            .collect()
    }

    /// Removes the pin `name` (valid or not) and writes the file back with
    /// every other entry as it was. `None` when there is no such entry.
    pub fn remove(&mut self, name: &str, results_dir: &Path) -> anyhow::Result<Option<String>> {
        if let Some(problem) = &self.file_problem {
            bail!("{problem}\n{}", self.repair_hint());
        }
        let removed = match (self.pins.pins.remove(name), self.bad_entries.remove(name)) {
            (Some(pin), _) => pin.dir,
            (None, Some((value, _))) => value.to_string(),
            (None, None) => return Ok(None),
        };
        let mut entries: BTreeMap<&str, serde_json::Value> = self
            .bad_entries
            .iter()
            .map(|(name, (value, _))| (name.as_str(), value.clone()))
            .collect();
        for (name, pin) in &self.pins.pins {
            entries.insert(name, serde_json::to_value(pin)?);
        }
        #[derive(Serialize)]
        struct Verbatim<'a> {
            schema_version: u32,
            pins: BTreeMap<&'a str, serde_json::Value>,
        }
        save_atomically(
            results_dir,
            &Verbatim {
                schema_version: self.pins.schema_version,
                pins: entries,
            },
        )?;
        Ok(Some(removed))
    }

    /// What to do about the problems: a bad entry can be removed with
    /// unpin; a file that cannot be read as a whole only by hand.
    pub fn repair_hint(&self) -> String {
        let delete = "or delete the file (pins are only names: no result is lost) and pin again \
                      with `cargo xtask pin NAME RUN`";
        match self.file_problem {
            Some(_) => format!("help: fix {} by hand, {delete}", self.path.display()),
            None => format!(
                "help: remove a bad entry with `cargo xtask unpin NAME`, fix {} by hand, {delete}",
                self.path.display()
            ),
        }
    }
}

/// Checks a pin name: the rules of labels, minus the words `resolve` reserves.
pub fn validate_pin_name(name: &str) -> anyhow::Result<()> {
    validate_label(name)
        .map_err(|e| anyhow::anyhow!("{}", e.to_string().replace("label", "pin name")))?;
    if RESERVED_NAMES.contains(&name) {
        bail!("`{name}` cannot be a pin name: it already means the {name} result");
    }
    Ok(())
}

/// A directory name directly inside the results directory: one path
/// component, not hidden, not `.` or `..` (a result's name is a timestamp
/// and a label, so it can be longer than a label).
pub fn is_result_dir_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 128
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

impl Default for Pins {
    /// No pins, at the current schema version.
    fn default() -> Pins {
        Pins {
            schema_version: PINS_VERSION,
            pins: BTreeMap::new(),
        }
    }
}

impl Pins {
    pub fn path(results_dir: &Path) -> PathBuf {
        results_dir.join(PINS_FILE)
    }

    /// The pins of a results directory; none when pins.json does not exist.
    /// Any problem in the file is an error, naming where it is and how to
    /// repair it: a task that acts on pins must not act on half of them.
    pub fn load(results_dir: &Path) -> anyhow::Result<Pins> {
        let inspection = Pins::inspect(results_dir);
        let problems = inspection.problems();
        if !problems.is_empty() {
            bail!("{}\n{}", problems.join("\n"), inspection.repair_hint());
        }
        Ok(inspection.pins)
    }

    /// Reads pins.json as far as it can be read: never fails, so that `list`
    /// can show the problems and `unpin` can remove a bad entry.
    pub fn inspect(results_dir: &Path) -> Inspection {
        let path = Pins::path(results_dir);
        let mut inspection = Inspection {
            path: path.clone(),
            pins: Pins::default(),
            file_problem: None,
            bad_entries: BTreeMap::new(),
        };
        if let Err(problem) = inspection.read_file() {
            inspection.file_problem = Some(problem);
        }
        inspection
    }

    /// Writes pins.json atomically: a temporary file renamed over the old
    /// one, so a reader never sees half a file.
    pub fn save(&self, results_dir: &Path) -> anyhow::Result<()> {
        save_atomically(results_dir, self)
    }

    /// Pin names of a result directory, sorted.
    pub fn names_of(&self, dir_name: &str) -> Vec<&str> {
        self.pins
            .iter()
            .filter(|(_, pin)| pin.dir == dir_name)
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

impl Inspection {
    /// Reads the file into `pins` and `bad_entries`, entry by entry: a
    /// missing file has none. The error is what is wrong with the file as
    /// a whole, with its place.
    fn read_file(&mut self) -> Result<(), String> {
        let shown = self.path.display().to_string();
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(format!("{shown}: cannot be read: {e}")),
        };
        let value = parse_json(&shown, &text)?;
        let places = Places {
            shown: &shown,
            keys: key_positions(&text),
        };
        let top = top_object(value, &places)?;
        if let Some(version) = schema_version(&top, &places)? {
            self.pins.schema_version = version;
        }
        let entries = pin_entries(&top, &places)?;
        self.add_entries(entries, &places);
        Ok(())
    }

    /// Each entry: a valid pin, or a bad entry kept verbatim with what is
    /// wrong with it.
    fn add_entries(
        &mut self,
        entries: &serde_json::Map<String, serde_json::Value>,
        places: &Places,
    ) {
        for (name, value) in entries {
            let problem = match serde_json::from_value::<Pin>(value.clone()) {
                Err(e) => Some(format!("not a pin ({e})")),
                // A hand-edited pins.json must not lead resolve or cleanup
                // outside the results directory.
                Ok(pin) if !is_result_dir_name(&pin.dir) => Some(format!(
                    "points at `{}`, which is not a result directory name (pins name directories inside the results directory)",
                    pin.dir
                )),
                Ok(pin) => {
                    self.pins.pins.insert(name.clone(), pin);
                    None
                }
            };
            if let Some(problem) = problem {
                let message = format!("{}: pin `{name}` {problem}", places.at(&["pins", name]));
                self.bad_entries
                    .insert(name.clone(), (value.clone(), message));
            }
        }
    }
}

/// Where the keys of pins.json stand, for errors that point at them.
struct Places<'a> {
    shown: &'a str,
    keys: BTreeMap<Vec<String>, (usize, usize)>,
}

impl Places<'_> {
    /// `file:line:col` of the key at `path`, else of the file's start.
    fn at(&self, path: &[&str]) -> String {
        let shown = self.shown;
        let key: Vec<String> = path.iter().map(|s| s.to_string()).collect();
        match self.keys.get(&key) {
            Some((line, col)) => format!("{shown}:{line}:{col}"),
            None => format!("{shown}:1:1"),
        }
    }
}

fn parse_json(shown: &str, text: &str) -> Result<serde_json::Value, String> {
    serde_json::from_str(text).map_err(|e| {
        format!(
            "{shown}:{}:{}: not valid JSON: {}",
            e.line(),
            // serde_json says column 0 at the very start of a line
            // (an end of file after a newline); editors count from 1.
            e.column().max(1),
            without_position(&e)
        )
    })
}

/// The file's object, with no field a pins file does not have.
fn top_object(
    value: serde_json::Value,
    places: &Places,
) -> Result<serde_json::Map<String, serde_json::Value>, String> {
    let shown = places.shown;
    let serde_json::Value::Object(top) = value else {
        return Err(format!(
            "{shown}:1:1: not a pins file: expected an object {{\"schema_version\": 1, \"pins\": {{...}}}}"
        ));
    };
    for key in top.keys() {
        if !["schema_version", "version", "pins"].contains(&key.as_str()) {
            return Err(format!(
                "{}: unknown field `{key}` (a pins file has `schema_version` and `pins`)",
                places.at(&[key])
            ));
        }
    }
    Ok(top)
}

/// The file's version (`schema_version`, or `version` as older files
/// have it), if it says one this xtask understands.
fn schema_version(
    top: &serde_json::Map<String, serde_json::Value>,
    places: &Places,
) -> Result<Option<u32>, String> {
    let version_key = if top.contains_key("schema_version") {
        "schema_version"
    } else {
        "version"
    };
    match top.get(version_key) {
        None => Ok(None),
        Some(v) => match v.as_u64().and_then(|v| u32::try_from(v).ok()) {
            Some(v) if v <= PINS_VERSION => Ok(Some(v)),
            Some(v) => Err(format!(
                "{}: version {v}, newer than this xtask understands ({PINS_VERSION}): update the xtask",
                places.at(&[version_key])
            )),
            None => Err(format!(
                "{}: `{version_key}` must be a whole number, not {v}",
                places.at(&[version_key])
            )),
        },
    }
}

/// The `pins` object: pin name → entry.
fn pin_entries<'t>(
    top: &'t serde_json::Map<String, serde_json::Value>,
    places: &Places,
) -> Result<&'t serde_json::Map<String, serde_json::Value>, String> {
    match top.get("pins") {
        Some(serde_json::Value::Object(entries)) => Ok(entries),
        Some(other) => Err(format!(
            "{}: `pins` must be an object of pin name → {{\"dir\": ..., \"pinned\": ...}}, not {other}",
            places.at(&["pins"])
        )),
        None => Err(format!(
            "{}:1:1: not a pins file: no `pins` field",
            places.shown
        )),
    }
}

fn save_atomically(results_dir: &Path, value: &impl Serialize) -> anyhow::Result<()> {
    super::write_json_atomically(&Pins::path(results_dir), value)
}

/// serde_json's message without its trailing " at line L column C" (the
/// position is given as `file:line:col` in front).
fn without_position(error: &serde_json::Error) -> String {
    let text = error.to_string();
    match text.rsplit_once(" at line ") {
        Some((message, _)) => message.to_string(),
        None => text,
    }
}

/// The `line:col` (1-based; columns count characters) of every object key in
/// `text`, which must be valid JSON, by its path of keys from the top
/// (array elements add no key). serde_json's `Value` keeps no positions.
fn key_positions(text: &str) -> BTreeMap<Vec<String>, (usize, usize)> {
    enum Frame {
        Object {
            key: Option<String>,
            expecting_key: bool,
        },
        Array,
    }
    let mut positions = BTreeMap::new();
    let mut stack: Vec<Frame> = Vec::new();
    let (mut line, mut col) = (1, 0);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        col += 1;
        match c {
            '\n' => (line, col) = (line + 1, 0),
            '{' => stack.push(Frame::Object {
                key: None,
                expecting_key: true,
            }),
            '[' => stack.push(Frame::Array),
            '}' | ']' => {
                stack.pop();
            }
            ',' => {
                if let Some(Frame::Object { expecting_key, .. }) = stack.last_mut() {
                    *expecting_key = true;
                }
            }
            '"' => {
                let start = (line, col);
                let mut raw = String::from('"');
                while let Some(c) = chars.next() {
                    col += 1;
                    raw.push(c);
                    if c == '\\' {
                        if let Some(escaped) = chars.next() {
                            col += 1;
                            raw.push(escaped);
                        }
                    } else if c == '"' {
                        break;
                    }
                }
                let depth = stack.len();
                if let Some(Frame::Object {
                    expecting_key: true,
                    ..
                }) = stack.last()
                {
                    let name: String = serde_json::from_str(&raw).unwrap_or_default();
                    let mut path: Vec<String> = stack[..depth - 1]
                        .iter()
                        .filter_map(|frame| match frame {
                            Frame::Object { key, .. } => key.clone(),
                            Frame::Array => None,
                        })
                        .collect();
                    path.push(name.clone());
                    positions.entry(path).or_insert(start);
                    stack[depth - 1] = Frame::Object {
                        key: Some(name),
                        expecting_key: false,
                    };
                }
            }
            _ => {}
        }
    }
    positions
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-pins-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn pins_round_trip_through_an_atomic_write() {
        let dir = temp_dir("roundtrip");
        assert_eq!(Pins::load(&dir).unwrap().pins.len(), 0);
        let mut pins = Pins::load(&dir).unwrap();
        pins.pins.insert(
            "release-1.2".into(),
            Pin {
                dir: "20261122-040506-baseline".into(),
                pinned: "2026-11-22T05:00:00Z".into(),
            },
        );
        pins.save(&dir).unwrap();
        let names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(
            names,
            vec![std::ffi::OsString::from(PINS_FILE)],
            "no temporary file is left"
        );
        let loaded = Pins::load(&dir).unwrap();
        assert_eq!(loaded, pins);
        assert_eq!(
            loaded.names_of("20261122-040506-baseline"),
            vec!["release-1.2"]
        );
        assert!(loaded.names_of("20261122-040507-baseline").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_pins_file_cannot_point_outside_the_results_directory() {
        let dir = temp_dir("escape");
        std::fs::write(
            dir.join(PINS_FILE),
            r#"{"version":1,"pins":{"evil":{"dir":"../../etc","pinned":"2026-01-01T00:00:00Z"}}}"#,
        )
        .unwrap();
        let err = format!("{:#}", Pins::load(&dir).unwrap_err());
        assert!(err.contains("not a result directory name"), "{err}");
        std::fs::write(dir.join(PINS_FILE), "{ not json").unwrap();
        let err = format!("{:#}", Pins::load(&dir).unwrap_err());
        assert!(err.contains("pins.json:1:3: not valid JSON"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// pins.json says `schema_version` (first); files of older xtasks, which
    /// say `version` or nothing, still load, and are rewritten the new way.
    #[test]
    fn pins_files_of_older_xtasks_still_load() {
        let dir = temp_dir("versions");
        let pin = r#"{"p":{"dir":"20261122-040506-baseline","pinned":"2026-01-01T00:00:00Z"}}"#;
        for old in [
            format!(r#"{{"version":1,"pins":{pin}}}"#),
            format!(r#"{{"pins":{pin}}}"#),
        ] {
            std::fs::write(dir.join(PINS_FILE), old).unwrap();
            let pins = Pins::load(&dir).unwrap();
            assert_eq!(pins.schema_version, 1);
            assert_eq!(pins.pins["p"].dir, "20261122-040506-baseline");
            pins.save(&dir).unwrap();
            let text = std::fs::read_to_string(dir.join(PINS_FILE)).unwrap();
            assert!(text.starts_with("{\n  \"schema_version\": 1,\n"), "{text}");
            assert!(!text.contains("\"version\""), "{text}");
            assert_eq!(Pins::load(&dir).unwrap(), pins);
        }
        std::fs::write(
            dir.join(PINS_FILE),
            format!(r#"{{"schema_version":2,"pins":{pin}}}"#),
        )
        .unwrap();
        let err = format!("{:#}", Pins::load(&dir).unwrap_err());
        assert!(err.contains("newer than this xtask understands"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A label may be 64 characters; its directory (timestamp + label) is longer.
    #[test]
    fn a_result_with_a_long_label_can_be_pinned_and_loaded() {
        let dir = temp_dir("long");
        let name = format!("20261122-040506-{}", "x".repeat(64));
        assert!(is_result_dir_name(&name));
        std::fs::write(
            dir.join(PINS_FILE),
            format!(r#"{{"version":1,"pins":{{"p":{{"dir":"{name}","pinned":"2026-01-01T00:00:00Z"}}}}}}"#),
        )
        .unwrap();
        assert_eq!(Pins::load(&dir).unwrap().pins["p"].dir, name);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn pin_names_are_checked_like_labels() {
        for bad in ["", "..", "a/b", ".x", "latest", "previous", "a b"] {
            assert!(validate_pin_name(bad).is_err(), "{bad:?} accepted");
        }
        for good in ["release-1.2", "baseline", "v2_fast"] {
            validate_pin_name(good).unwrap();
        }
        let err = validate_pin_name("a/b").unwrap_err().to_string();
        assert!(err.contains("invalid pin name"), "{err}");
    }

    /// A hand-edited pins.json with bad entries: `inspect` keeps the good
    /// ones and says where each bad one is; `load` refuses, naming them all;
    /// removing a bad entry keeps every other entry as it was.
    #[test]
    fn bad_pin_entries_are_located_and_can_be_removed_one_by_one() {
        let dir = temp_dir("inspect");
        let text = r#"{
  "schema_version": 1,
  "pins": {
    "good": {"dir": "20261122-040506-baseline", "pinned": "2026-01-01T00:00:00Z"},
    "etc": {"dir": "/etc", "pinned": "2026-01-01T00:00:00Z"},
    "dir": {"dir": 5, "pinned": "2026-01-01T00:00:00Z"},
      "extra": {"dir": "x", "pinned": "t", "why": "mine"}
  }
}
"#;
        std::fs::write(dir.join(PINS_FILE), text).unwrap();
        let path = dir.join(PINS_FILE).display().to_string();
        let mut inspection = Pins::inspect(&dir);
        assert_eq!(inspection.file_problem, None);
        assert_eq!(
            inspection.pins.pins.keys().collect::<Vec<_>>(),
            vec!["good"]
        );
        let problems = inspection.problems();
        assert_eq!(problems.len(), 3, "{problems:?}");
        // BTreeMap order: dir, etc, extra.
        assert!(
            problems[0].starts_with(&format!("{path}:6:5: pin `dir` not a pin (invalid type")),
            "{problems:?}"
        );
        assert!(
            problems[1].starts_with(&format!("{path}:5:5: pin `etc` points at `/etc`")),
            "{problems:?}"
        );
        assert!(
            problems[2].starts_with(&format!(
                "{path}:7:7: pin `extra` not a pin (unknown field `why`"
            )),
            "{problems:?}"
        );
        let err = format!("{:#}", Pins::load(&dir).unwrap_err());
        for problem in &problems {
            assert!(err.contains(problem.as_str()), "{err}");
        }
        assert!(
            err.contains("help: remove a bad entry with `cargo xtask unpin NAME`"),
            "{err}"
        );

        assert_eq!(
            inspection.remove("etc", &dir).unwrap().as_deref(),
            Some(r#"{"dir":"/etc","pinned":"2026-01-01T00:00:00Z"}"#)
        );
        assert_eq!(inspection.remove("nothing", &dir).unwrap(), None);
        let again = Pins::inspect(&dir);
        assert_eq!(again.pins.pins.keys().collect::<Vec<_>>(), vec!["good"]);
        assert_eq!(
            again.bad_entries.keys().collect::<Vec<_>>(),
            vec!["dir", "extra"],
            "the other bad entries are kept verbatim for the user to repair"
        );
        let mut again = again;
        again.remove("dir", &dir).unwrap();
        again.remove("extra", &dir).unwrap();
        assert_eq!(Pins::load(&dir).unwrap().pins.len(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A file that is not JSON, or not a pins file, cannot be edited entry by
    /// entry: every way of reading it says where the problem is and how to
    /// repair it, and unpin refuses to rewrite it.
    #[test]
    fn a_broken_pins_file_is_reported_with_line_and_column() {
        let dir = temp_dir("broken");
        let path = dir.join(PINS_FILE).display().to_string();
        for (text, expected) in [
            (
                "{\n  \"pins\": {\n    \"a\": {\"dir\": \"x\",,}\n",
                ":3:22: not valid JSON: key must be a string",
            ),
            ("{\"pins\": {", ":1:10: not valid JSON: EOF while parsing"),
            ("[1, 2]", ":1:1: not a pins file"),
            ("{\"pins\": []}", ":1:2: `pins` must be an object"),
            (
                "{\"schema_version\": 1}",
                ":1:1: not a pins file: no `pins` field",
            ),
            (
                "{\"schema_version\": \"one\", \"pins\": {}}",
                ":1:2: `schema_version` must be a whole number",
            ),
            (
                "{\n\"schema_version\": 7, \"pins\": {}}",
                ":2:1: version 7, newer than this xtask understands",
            ),
            (
                "{\"pins\": {}, \"extra\": 1}",
                ":1:14: unknown field `extra`",
            ),
        ] {
            std::fs::write(dir.join(PINS_FILE), text).unwrap();
            let mut inspection = Pins::inspect(&dir);
            let problem = inspection.file_problem.clone().unwrap_or_default();
            assert!(
                problem.starts_with(&format!("{path}{expected}")),
                "{text:?}: {problem}"
            );
            let err = format!("{:#}", Pins::load(&dir).unwrap_err());
            assert!(err.contains(&problem) && err.contains("help: fix"), "{err}");
            assert!(
                !err.contains("unpin NAME"),
                "unpin cannot edit this file: {err}"
            );
            let err = format!("{:#}", inspection.remove("a", &dir).unwrap_err());
            assert!(
                err.contains(&problem) && err.contains("delete the file"),
                "{err}"
            );
            assert_eq!(
                std::fs::read_to_string(dir.join(PINS_FILE)).unwrap(),
                text,
                "left as it was"
            );
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn key_positions_follow_nesting_and_escapes() {
        let text = "{\"a\": {\"b\": [ {\"c\": 1} ], \"d\\\"e\": \"x\"},\n \"f\": 2}";
        let positions = key_positions(text);
        let at = |path: &[&str]| positions[&path.iter().map(|s| s.to_string()).collect::<Vec<_>>()];
        assert_eq!(at(&["a"]), (1, 2));
        assert_eq!(at(&["a", "b"]), (1, 8));
        assert_eq!(at(&["a", "b", "c"]), (1, 16));
        assert_eq!(at(&["a", "d\"e"]), (1, 27));
        assert_eq!(at(&["f"]), (2, 2));
        assert_eq!(positions.len(), 5);
    }
}
