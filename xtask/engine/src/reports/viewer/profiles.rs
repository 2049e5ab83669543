//! The folded profiles a result holds, found on disk and read once: the CPU
//! samples (per scale, per benchmark, per extra event), the off-CPU time and
//! the heap's allocations. The viewer and the speedscope export both start
//! here, so that both show the same profiles under the same names.

use crate::runs::{cpu_profile, memory_profile};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// One folded profile of a result.
#[derive(Debug, Clone, PartialEq)]
pub struct Profile {
    /// Where it lies, relative to the result's directory (`1K/cpu.folded`).
    pub path: String,
    /// What a person reads in the switch (`1K · CPU`).
    pub label: String,
    /// What the weights count: `samples`, `µs` or `bytes`.
    pub unit: &'static str,
    /// Each stack (outermost frame first) with its weight, as in the file.
    pub stacks: Vec<(Vec<String>, u64)>,
}

impl Profile {
    /// The sum of the weights.
    pub fn total(&self) -> u64 {
        self.stacks.iter().map(|(_, w)| w).sum()
    }
}

/// The kinds of folded file, with their label and unit.
const KINDS: [(&str, &str, &str); 3] = [
    (cpu_profile::FOLDED, "CPU", "samples"),
    (cpu_profile::offcpu::FOLDED, "off-CPU", "µs"),
    (
        memory_profile::FOLDED,
        "heap allocations (bytes at peak)",
        "bytes",
    ),
];

/// Directories that hold no profile (disassembly, raw tool output).
const SKIPPED: [&str; 1] = ["annotate"];

/// How deep profiles may lie: `<scale>/bench/<ID>/cpu.folded` is the deepest.
const MAX_DEPTH: usize = 4;

/// Every folded profile under `dir`, in a stable order (the result's own
/// first, then by path), read and parsed.
pub fn collect(dir: &Path) -> anyhow::Result<Vec<Profile>> {
    let mut found = Vec::new();
    walk(dir, dir, 0, &mut found)?;
    found.sort_by(|a: &(PathBuf, String), b| {
        let depth = |p: &String| p.matches('/').count();
        (depth(&a.1), &a.1).cmp(&(depth(&b.1), &b.1))
    });
    let mut profiles = Vec::new();
    for (file, rel) in found {
        let file_name = rel.rsplit('/').next().unwrap_or(&rel);
        let Some((_, label, unit)) = KINDS.iter().find(|(name, _, _)| *name == file_name) else {
            continue;
        };
        let text = std::fs::read_to_string(&file)
            .with_context(|| format!("cannot read {}", file.display()))?;
        let stacks = parse_folded(&text)
            .with_context(|| format!("{} is not a folded-stacks file", file.display()))?;
        let place = rel.rsplit_once('/').map(|(d, _)| d.to_string());
        let label = match place {
            Some(place) => format!("{place} · {label}"),
            None => label.to_string(),
        };
        profiles.push(Profile {
            path: rel,
            label,
            unit,
            stacks,
        });
    }
    Ok(profiles)
}

fn walk(
    root: &Path,
    dir: &Path,
    depth: usize,
    found: &mut Vec<(PathBuf, String)>,
) -> anyhow::Result<()> {
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot read {}", dir.display()))?;
    for entry in entries {
        let entry = entry?;
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().to_string();
        let kind = entry.file_type()?;
        if kind.is_dir() && depth < MAX_DEPTH && !SKIPPED.contains(&name.as_str()) {
            walk(root, &path, depth + 1, found)?;
        } else if kind.is_file() && KINDS.iter().any(|(file, _, _)| *file == name) {
            let rel = path.strip_prefix(root).unwrap_or(&path);
            let rel = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            found.push((path, rel));
        }
    }
    Ok(())
}

/// `a;b;c 12` lines: each stack with its weight. Blank lines are skipped; a
/// line without a weight is an error naming it.
pub fn parse_folded(text: &str) -> anyhow::Result<Vec<(Vec<String>, u64)>> {
    let mut stacks = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let (stack, weight) = line
            .rsplit_once(' ')
            .and_then(|(s, w)| Some((s, w.parse::<u64>().ok()?)))
            .with_context(|| format!("line {} has no weight after its stack: {line:?}", i + 1))?;
        let frames: Vec<String> = stack.split(';').map(str::to_string).collect();
        stacks.push((frames, weight));
    }
    Ok(stacks)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_lines_keep_spaces_inside_names_and_reject_missing_weights() {
        let stacks = parse_folded("main;<T as Foo>::bar 3\n\nmain 2\n").unwrap();
        assert_eq!(
            stacks,
            vec![
                (vec!["main".to_string(), "<T as Foo>::bar".to_string()], 3),
                (vec!["main".to_string()], 2)
            ]
        );
        let err = parse_folded("main;f 3\nmain;g\n").unwrap_err();
        assert!(format!("{err:#}").contains("line 2"), "{err:#}");
    }

    #[test]
    fn every_kind_of_profile_is_found_with_its_place_and_unit() {
        let dir = crate::results::synthetic::temp_dir("viewer-profiles");
        let root = dir.as_path();
        for (rel, text) in [
            ("cpu.folded", "main;f 3\n"),
            ("offcpu.folded", "main;sleep 100\n"),
            ("memory.folded", "main;alloc 4096\n"),
            ("bench/insert/cpu.folded", "main;insert 1\n"),
            ("annotate/cpu.folded", "main 1\n"),
        ] {
            let path = root.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        let profiles = collect(root).unwrap();
        let seen: Vec<(&str, &str, &str, u64)> = profiles
            .iter()
            .map(|p| (p.path.as_str(), p.label.as_str(), p.unit, p.total()))
            .collect();
        assert_eq!(
            seen,
            vec![
                ("cpu.folded", "CPU", "samples", 3),
                (
                    "memory.folded",
                    "heap allocations (bytes at peak)",
                    "bytes",
                    4096
                ),
                ("offcpu.folded", "off-CPU", "µs", 100),
                (
                    "bench/insert/cpu.folded",
                    "bench/insert · CPU",
                    "samples",
                    1
                ),
            ]
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
