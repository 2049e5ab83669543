//! Comparing two stored results: the report (verdicts, warnings, the gate,
//! "where it changed") computed from their records and folded stacks, and
//! the comparison's directory written — compare.md, compare.json and the
//! differential flamegraphs — in one atomic step. `profile-compare` and
//! `pre-release` both compare this way.

use super::model::ScaleComparison;
use super::{
    self as report, CompareReport, Counter, Settings, Side, DIFF_SVG, INSTRUCTIONS, JSON_FILE,
    MARKDOWN_FILE, MEMORY_DIFF_SVG,
};
use crate::config::Config;
use crate::reports::{flamegraph, functions};
use crate::results::record::ScaleRecord;
use crate::results::system_info::SystemInfo;
use crate::results::{compare_dir_name, sanitize, Entry, Store};
use crate::runs::{cpu_profile, memory_profile};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};

/// Compares two results and writes `results/compare-<A>-vs-<B>/` (compare.json,
/// compare.md, the differential flamegraphs). Returns the report and that directory.
pub fn compare_results(
    config: &Config,
    store: &Store,
    a: &Entry,
    b: &Entry,
    counter: Counter,
    (top, fail_on_inconclusive): (usize, bool),
) -> anyhow::Result<(CompareReport, PathBuf)> {
    let settings = Settings {
        fail_on_inconclusive,
        ..Settings::new(&config.thresholds)
    };
    let (pairs, mut warnings) = report::pair_scales(a, b)?;
    warnings.extend(comparability(a, b, &pairs));
    if counter == Counter::Instructions {
        require_instruction_counts(a, b)?;
    }
    if counter == Counter::Time {
        warnings.extend(report::sample_size_warning(
            fewest_runs(a),
            fewest_runs(b),
            settings.alpha,
        ));
    }

    let pending = store.begin_comparison(&compare_dir_name(&a.name, &b.name))?;
    let tmp = pending.dir.clone();
    let written = (|| -> anyhow::Result<CompareReport> {
        let several = pairs.len() > 1;
        let mut scales = Vec::new();
        for (sa, sb) in &pairs {
            let mut comparison = report::compare_scale(sa, sb, &settings, counter);
            let out_prefix = if several {
                format!("{}/", sanitize(&sb.scale))
            } else {
                String::new()
            };
            if several {
                std::fs::create_dir_all(tmp.join(&out_prefix))?;
            }
            match super::allocations::compare(sa.memory.as_ref(), sb.memory.as_ref(), top) {
                Ok(allocations) => comparison.allocations = Some(allocations),
                Err(why) if sa.memory.is_some() || sb.memory.is_some() => {
                    comparison.notes.push(why)
                }
                Err(_) => {}
            }
            where_it_changed(
                &mut comparison,
                (a, sa),
                (b, sb),
                (&tmp, &out_prefix),
                top,
                settings.alpha,
            )?;
            scales.push(comparison);
        }
        let report = CompareReport::new(
            Side::of(&a.name, &a.dir, &a.record),
            Side::of(&b.name, &b.dir, &b.record),
            settings,
            counter,
            warnings,
            scales,
        );
        write_file(&tmp.join(MARKDOWN_FILE), report::render_markdown(&report))?;
        // compare.json last: it marks a complete compare directory.
        crate::results::write_json(&tmp.join(JSON_FILE), &report)?;
        Ok(report)
    })();
    let report = match written {
        Ok(report) => report,
        Err(error) => {
            pending.discard();
            return Err(error);
        }
    };
    let dir = pending.replace(JSON_FILE)?;
    Ok((report, dir))
}

/// Why A and B may not be comparable: their records and machines, and
/// first of all whether they are one and the same result.
fn comparability(a: &Entry, b: &Entry, pairs: &[(&ScaleRecord, &ScaleRecord)]) -> Vec<String> {
    let system = |entry: &Entry| -> Option<SystemInfo> {
        let text = std::fs::read_to_string(entry.dir.join("system_info.json")).ok()?;
        serde_json::from_str(&text).ok()
    };
    let (system_a, system_b) = (system(a), system(b));
    let mut comparability = report::comparability_warnings(
        &a.record,
        &b.record,
        pairs,
        system_a.as_ref(),
        system_b.as_ref(),
    );
    if same_dir(&a.dir, &b.dir) {
        comparability.insert(
            0,
            "A and B are the same result: nothing can have changed".into(),
        );
    }
    comparability
}

/// `--counter instructions` needs a count on both sides, which only a
/// comparison of revisions measures.
fn require_instruction_counts(a: &Entry, b: &Entry) -> anyhow::Result<()> {
    for (side, entry) in [("A", a), ("B", b)] {
        if !entry
            .record
            .scales
            .iter()
            .any(|s| s.summaries.contains_key(INSTRUCTIONS))
        {
            bail!(
                "--counter instructions: {side} ({}) has no instruction count. Counts are measured by \
                 `cargo xtask profile-compare --rev A --rev B --counter instructions`; to compare stored \
                 results on timings, drop --counter",
                entry.name
            );
        }
    }
    Ok(())
}

/// The fewest runs any scale of a result has.
fn fewest_runs(entry: &Entry) -> usize {
    entry
        .record
        .scales
        .iter()
        .map(|s| s.runs.len())
        .min()
        .unwrap_or(0)
}

/// "Where it changed" for one pair of scales: the functions whose share
/// moved, and a differential flamegraph, for the CPU profile and for the
/// heap at its peak; a note for each that one side or both lack.
fn where_it_changed(
    comparison: &mut ScaleComparison,
    (a, sa): (&Entry, &ScaleRecord),
    (b, sb): (&Entry, &ScaleRecord),
    (tmp, out_prefix): (&Path, &str),
    top: usize,
    alpha: f64,
) -> anyhow::Result<()> {
    let folded = |entry: &Entry, scale: &ScaleRecord, file: &str| {
        let prefix = scale.dir_prefix(entry.record.scales.len() > 1);
        entry.dir.join(format!("{prefix}{file}"))
    };
    let title = format!("{} → {}", a.name, b.name);
    for (file, svg, what, kind) in [
        (cpu_profile::FOLDED, DIFF_SVG, "CPU", flamegraph::Kind::Cpu),
        (
            memory_profile::FOLDED,
            MEMORY_DIFF_SVG,
            "heap at peak",
            flamegraph::Kind::Memory,
        ),
    ] {
        let (before, after) = (folded(a, sa, file), folded(b, sb, file));
        if !(before.is_file() && after.is_file()) {
            if before.is_file() != after.is_file() {
                let has = if before.is_file() { "A" } else { "B" };
                comparison.notes.push(format!(
                    "only {has} has a {what} profile ({file}): no \"where it changed\""
                ));
            } else if what == "CPU" {
                comparison
                    .notes
                    .push("neither side has a CPU profile: no \"where it changed\"".to_string());
            }
            continue;
        }
        let changes = function_changes(&before, &after, top)?;
        if what == "CPU" {
            comparison.functions = changes;
        } else {
            comparison.memory_functions = changes;
        }
        let svg_name = format!("{out_prefix}{svg}");
        if what == "CPU" {
            let runs_a = read_runs(&folded(a, sa, cpu_profile::RUNS_DIR))?;
            let runs_b = read_runs(&folded(b, sb, cpu_profile::RUNS_DIR))?;
            if let Some(test) = super::frames::test_frames(&runs_a, &runs_b, alpha) {
                let subtitle = format!(
                    "CPU: shape of B; coloured only where a function's share changed beyond the spread of {} runs a side (red grew, blue shrank)",
                    runs_a.len().min(runs_b.len())
                );
                let changed: Vec<(String, f64, f64)> = test
                    .changed
                    .iter()
                    .map(|c| (c.function.clone(), c.share_a, c.share_b))
                    .collect();
                flamegraph::render_significance(
                    &merged(&runs_b),
                    &tmp.join(&svg_name),
                    (&title, &subtitle),
                    &changed,
                )?;
                comparison.files.push(svg_name);
                comparison.frames = Some(test);
                continue;
            }
            comparison.notes.push(ONE_RUN.to_string());
        }
        let subtitle =
            format!("{what}: shape of B; red grew, blue shrank (normalised to equal totals)");
        match flamegraph::render_diff(
            &before,
            &after,
            &tmp.join(&svg_name),
            &title,
            &subtitle,
            kind,
        ) {
            Ok(()) => comparison.files.push(svg_name),
            Err(error) => comparison.notes.push(format!(
                "could not draw the {what} differential flamegraph: {error:#}"
            )),
        }
    }
    Ok(())
}

/// Why the differential flamegraph of single profiles is only a picture.
const ONE_RUN: &str =
    "one profiled run a side: the CPU differential flamegraph colours every frame \
     that moved and cannot tell noise from change. `profile-compare --side … --side … \
     --profile-runs 5` profiles 5 runs a side and colours only the frames whose share changed \
     beyond the runs' own spread";

/// Each profiled run's folded stacks in `dir` (`1.folded`, `2.folded`…),
/// in run order; none when the side was profiled once.
fn read_runs(dir: &Path) -> anyhow::Result<Vec<String>> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new());
    };
    let mut files: Vec<(u64, PathBuf)> = entries
        .flatten()
        .map(|e| e.path())
        .filter_map(|p| {
            let run = p
                .file_name()?
                .to_str()?
                .strip_suffix(".folded")?
                .parse()
                .ok()?;
            Some((run, p))
        })
        .collect();
    files.sort();
    files
        .iter()
        .map(|(_, p)| {
            std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
        })
        .collect()
}

/// Several runs' folded stacks as one: each stack's counts summed.
fn merged(runs: &[String]) -> String {
    let mut counts: std::collections::BTreeMap<&str, u64> = Default::default();
    for line in runs.iter().flat_map(|r| r.lines()) {
        if let Some((stack, n)) = line.trim_end().rsplit_once(' ') {
            *counts.entry(stack).or_default() += n.parse::<u64>().unwrap_or(0);
        }
    }
    counts.iter().map(|(s, n)| format!("{s} {n}\n")).collect()
}

fn function_changes(
    before: &Path,
    after: &Path,
    top: usize,
) -> anyhow::Result<Vec<functions::FunctionChange>> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let (a, b) = (
        functions::from_folded(&read(before)?),
        functions::from_folded(&read(after)?),
    );
    // Rows that would print as +0.0 / -0.0 say nothing.
    let moved = |c: &functions::FunctionChange| {
        c.self_delta().abs() >= 0.05 || (c.total_after - c.total_before).abs() >= 0.05
    };
    Ok(functions::diff(&a, &b, top)
        .into_iter()
        .filter(moved)
        .collect())
}

fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::synthetic;

    /// Two results of two scales: the small one profiled on both sides (and
    /// a memory profile on A's only), the large one not profiled at all.
    fn write_results(results: &Path) {
        for (name, factor, memory) in [
            ("20260101-000000-a", 1.0, true),
            ("20260102-000000-b", 1.5, false),
        ] {
            let wall: Vec<f64> = [0.10, 0.11, 0.12, 0.105, 0.115]
                .iter()
                .map(|w| w * factor)
                .collect();
            let mut record =
                synthetic::record(name, "2026-01-01T00:00:00Z", &[("wall_s", "s", &wall)]);
            let mut large = record.scales[0].clone();
            record.scales[0].scale = "small".into();
            large.scale = "large".into();
            record.scales.push(large);
            let dir = synthetic::write(results, name, &record);
            std::fs::create_dir_all(dir.join("small")).unwrap();
            let hot = (100.0 * factor) as u32;
            std::fs::write(
                dir.join("small").join(cpu_profile::FOLDED),
                format!("main;run;hot {hot}\nmain;run;cold 50\nmain;idle 10\n"),
            )
            .unwrap();
            if memory {
                std::fs::write(
                    dir.join("small").join(memory_profile::FOLDED),
                    "main;alloc 4096\n",
                )
                .unwrap();
            }
        }
    }

    /// What `compare_results` returns and writes, byte for byte: compare.md,
    /// compare.json (its creation time and paths aside) and each file's
    /// digest; for two results, a result against itself, and the refusal
    /// of `--counter instructions` without counts.
    #[test]
    fn comparing_two_results_writes_its_golden_copy() {
        let results = synthetic::temp_dir("compare-engine");
        write_results(&results);
        let config = Config::parse(
            &results.join("profiling.toml"),
            "[workloads.demo]\ncommand = \"true\"\n",
        )
        .unwrap();
        let store = Store::new(&results);
        let entries = store.list().unwrap();
        let (a, b) = (&entries[0], &entries[1]);
        let digest = |bytes: &[u8]| {
            bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
            })
        };
        let mut text = String::new();
        for (x, y) in [(a, b), (a, a)] {
            let (report, dir) =
                compare_results(&config, &store, x, y, Counter::Time, (5, false)).unwrap();
            let json = std::fs::read_to_string(dir.join(JSON_FILE)).unwrap();
            assert_eq!(json, serde_json::to_string_pretty(&report).unwrap() + "\n");
            let mut files: Vec<String> = walk(&dir);
            files.retain(|f| f != JSON_FILE);
            files.sort();
            for file in files {
                let bytes = std::fs::read(dir.join(&file)).unwrap();
                text.push_str(&format!(
                    "{file}: {} bytes, {:016x}\n",
                    bytes.len(),
                    digest(&bytes)
                ));
            }
            text.push_str(&std::fs::read_to_string(dir.join(MARKDOWN_FILE)).unwrap());
            text.push_str(&json.replace(&report.created, "<now>"));
            text.push_str("\n----\n");
        }
        let error =
            compare_results(&config, &store, a, b, Counter::Instructions, (5, false)).unwrap_err();
        text.push_str(&format!("{error:#}\n"));
        let text = text.replace(&results.display().to_string(), "<results>");
        crate::reports::golden::assert_golden("compare-results.txt", &text);
        std::fs::remove_dir_all(&results).unwrap();
    }

    fn walk(dir: &Path) -> Vec<String> {
        let mut out = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if entry.path().is_dir() {
                out.extend(
                    walk(&entry.path())
                        .into_iter()
                        .map(|f| format!("{name}/{f}")),
                );
            } else {
                out.push(name);
            }
        }
        out
    }
}
