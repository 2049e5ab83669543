//! Pins: stable names for results (`release-1.2`, `baseline`), kept in
//! `results/pins.json`. A pinned result is addressable by its pin wherever a
//! result is (see `Store::resolve`) and `cleanup` never removes it.

use crate::config::validate_label;
use anyhow::{bail, Context};
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
    pub fn load(results_dir: &Path) -> anyhow::Result<Pins> {
        let path = Pins::path(results_dir);
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Pins::default()),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let pins: Pins = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a valid pins file: fix it by hand or delete it (pins are only names; no result is lost)",
                path.display()
            )
        })?;
        if pins.schema_version > PINS_VERSION {
            bail!(
                "{} has version {}, newer than this xtask understands ({PINS_VERSION}): update the xtask",
                path.display(),
                pins.schema_version
            );
        }
        for (name, pin) in &pins.pins {
            // A hand-edited pins.json must not lead resolve or cleanup outside
            // the results directory.
            if !is_result_dir_name(&pin.dir) {
                bail!(
                    "{}: pin `{name}` points at `{}`, which is not a result directory name",
                    path.display(),
                    pin.dir
                );
            }
        }
        Ok(pins)
    }

    /// Writes pins.json atomically: a temporary file renamed over the old
    /// one, so a reader never sees half a file.
    pub fn save(&self, results_dir: &Path) -> anyhow::Result<()> {
        std::fs::create_dir_all(results_dir)
            .with_context(|| format!("cannot create {}", results_dir.display()))?;
        let path = Pins::path(results_dir);
        let temp = results_dir.join(format!("{PINS_FILE}.{}.tmp", std::process::id()));
        super::write_json(&temp, self)?;
        std::fs::rename(&temp, &path).with_context(|| {
            let _ = std::fs::remove_file(&temp);
            format!("cannot replace {}", path.display())
        })
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
        assert!(err.contains("is not a valid pins file"), "{err}");
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
}
