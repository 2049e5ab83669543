//! What an earlier `adopt` copied into a project (the engine's source as
//! `xtask/`, or as the library `xtask-profiling/` with `--mount`), and
//! removing it: only the files that are the engine's own, in a crate whose
//! manifest carries our metadata table; any other file is the user's.

use super::{Change, Plan};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The engine's lock file: its repository's (a checkout), or its own (a
/// published crate carries one).
pub(super) fn engine_lock() -> Option<String> {
    let engine_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    [
        engine_dir.join("../../Cargo.lock"),
        engine_dir.join("Cargo.lock"),
    ]
    .iter()
    .find_map(|path| std::fs::read_to_string(path).ok())
}

/// Deletes the files of an earlier copy of the engine in `dir` (its
/// manifest says it is ours): those whose path is one of the engine's own
/// files, but `spared` (rewritten instead). Any other file is the user's,
/// kept and named.
pub(super) fn plan_remove_copy(dir: &Path, spared: &[&str], plan: &mut Plan) -> anyhow::Result<()> {
    let known = engine_files()?;
    let mut files = Vec::new();
    for sub in ["src", "dwarf"] {
        if dir.join(sub).is_dir() {
            collect_files(&dir.join(sub), &mut files)?;
        }
    }
    files.push(dir.join("Cargo.toml"));
    files.sort();
    let (first, mut removed, mut kept) = (plan.changes.len(), 0, Vec::new());
    for path in files {
        let relative = path.strip_prefix(dir).unwrap_or(&path).to_path_buf();
        if spared.iter().any(|s| Path::new(s) == relative) {
            continue;
        }
        if !known.contains(&relative) {
            kept.push(relative.display().to_string());
            continue;
        }
        plan.changes.push(Change {
            path,
            old: None,
            new: None,
            summary: String::new(),
        });
        removed += 1;
    }
    let name = dir.file_name().unwrap_or_default().to_string_lossy();
    if let Some(first) = plan.changes.get_mut(first) {
        first.summary =
            format!("{removed} file(s) of the engine's copy in {name}/ that an earlier adopt made");
    }
    if !kept.is_empty() {
        plan.notes.push(format!(
            "kept in {name}/, not files of the engine: {}",
            kept.join(", ")
        ));
    }
    plan.emptied.extend([dir.join("src"), dir.join("dwarf")]);
    Ok(())
}

/// The relative paths of the engine's files as an earlier adopt copied
/// them: its manifest and src/, and the DWARF reader's under dwarf/.
fn engine_files() -> anyhow::Result<Vec<PathBuf>> {
    let engine_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    collect_files(&engine_dir.join("src"), &mut files)?;
    let mut known: Vec<PathBuf> = files
        .iter()
        .filter_map(|f| f.strip_prefix(engine_dir).ok().map(Path::to_path_buf))
        .collect();
    known.push("Cargo.toml".into());
    let dwarf = engine_dir.join("../dwarf");
    let mut dwarf_files = Vec::new();
    if dwarf.join("src").is_dir() {
        collect_files(&dwarf.join("src"), &mut dwarf_files)?;
    }
    known.extend(
        dwarf_files
            .iter()
            .filter_map(|f| f.strip_prefix(&dwarf).ok())
            .map(|f| Path::new("dwarf").join(f)),
    );
    known.extend(["dwarf/Cargo.toml".into(), "dwarf/src/lib.rs".into()]);
    Ok(known)
}

/// Removes `dir` and the directories below it that hold no file.
pub(super) fn remove_empty_dirs(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.path().is_dir() {
            remove_empty_dirs(&entry.path());
        }
    }
    // Fails, as it should, when something is left inside.
    let _ = std::fs::remove_dir(dir);
}

fn collect_files(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_files(&path, files)?;
        } else {
            files.push(path);
        }
    }
    Ok(())
}
