//! A result in the formats other tools read, one implementation per format
//! behind one trait (as hyperfine's `export/` does): the export task picks
//! one by `--format`, and none of them runs or writes anything.

use crate::reports::markdown_text::{code, text};
use crate::reports::{bmf, csv, markdown, pprof, speedscope, viewer};
use crate::results::record::{short_hash, RunRecord, ScaleRecord};
use crate::results::{parse_iso, Entry};
use crate::runs::cpu_profile::FOLDED;
use anyhow::{bail, Context};
use std::fmt::Write as _;
use std::time::UNIX_EPOCH;

/// One export format.
pub trait Exporter {
    /// The result in this format.
    fn serialize(&self, entry: &Entry) -> anyhow::Result<Vec<u8>>;

    /// Binary output, not for a terminal.
    fn is_binary(&self) -> bool {
        false
    }
}

/// Bencher Metric Format JSON, checked against Bencher's schema.
pub struct Bmf;

impl Exporter for Bmf {
    fn serialize(&self, entry: &Entry) -> anyhow::Result<Vec<u8>> {
        let text = bmf::to_json(&bmf::from_record(&entry.record));
        // Checked before anyone uploads it.
        bmf::validate(&serde_json::from_str(&text)?)
            .map_err(|e| anyhow::anyhow!("internal error: the BMF export is invalid: {e}"))?;
        Ok(text.into_bytes())
    }
}

/// The timing table as CSV.
pub struct Csv;

impl Exporter for Csv {
    fn serialize(&self, entry: &Entry) -> anyhow::Result<Vec<u8>> {
        Ok(csv::timing(&entry.record).into_bytes())
    }
}

/// The timing table of each scale as Markdown.
pub struct Markdown;

impl Exporter for Markdown {
    fn serialize(&self, entry: &Entry) -> anyhow::Result<Vec<u8>> {
        Ok(markdown_tables(&entry.record).into_bytes())
    }
}

/// The CPU profile of one scale as gzipped pprof protobuf.
pub struct Pprof {
    /// The scale to export [default: the first with a CPU profile].
    pub scale: Option<String>,
}

impl Exporter for Pprof {
    fn serialize(&self, entry: &Entry) -> anyhow::Result<Vec<u8>> {
        pprof_of(entry, self.scale.as_deref())
    }

    fn is_binary(&self) -> bool {
        true
    }
}

/// Every folded profile of the result in speedscope's JSON format.
pub struct Speedscope;

impl Exporter for Speedscope {
    fn serialize(&self, entry: &Entry) -> anyhow::Result<Vec<u8>> {
        let profiles = viewer::collect(&entry.dir)?;
        if profiles.is_empty() {
            bail!(
                "{} has no folded profile (cpu.folded, offcpu.folded or memory.folded): run `cargo xtask flamegraph` or `cargo xtask memory` first",
                entry.name
            );
        }
        let mut text = speedscope::document(&entry.name, &profiles).to_string();
        text.push('\n');
        Ok(text.into_bytes())
    }
}

/// The timing table of each scale, under a line saying what ran.
fn markdown_tables(record: &RunRecord) -> String {
    let mut out = String::new();
    let commit = record.git.commit.as_deref().map_or("unknown", short_hash);
    let _ = writeln!(
        out,
        "### {} — {} ({}, commit {}{})\n",
        text(&record.label),
        code(&record.workload),
        text(&record.created),
        code(commit),
        if record.git.dirty { ", dirty tree" } else { "" }
    );
    for scale in &record.scales {
        if record.scales.len() > 1 {
            let _ = writeln!(out, "#### Scale {}\n", code(&scale.scale));
        }
        let params: Vec<String> = scale
            .params
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if !params.is_empty() {
            let _ = writeln!(
                out,
                "Parameters: {}; {} measured runs.\n",
                code(&params.join(" ")),
                scale.runs.len()
            );
        }
        out.push_str(&markdown::summary_table(&scale.summaries));
        out.push('\n');
    }
    out
}

fn pprof_of(entry: &Entry, scale: Option<&str>) -> anyhow::Result<Vec<u8>> {
    let record = &entry.record;
    let several = record.scales.len() > 1;
    let chosen: &ScaleRecord = match scale {
        Some(name) => record.scales.iter().find(|s| s.scale == name).with_context(|| {
            let names: Vec<&str> = record.scales.iter().map(|s| s.scale.as_str()).collect();
            format!("{} has no scale `{name}` (it has: {})", entry.name, names.join(", "))
        })?,
        None => match record.scales.iter().find(|s| s.cpu_profile.is_some()) {
            Some(s) => s,
            None => bail!(
                "{} has no CPU profile: it was made with --no-profile or without a CPU sampler; run `cargo xtask profile-baseline` (see `cargo xtask doctor`)",
                entry.name
            ),
        },
    };
    if scale.is_none()
        && record
            .scales
            .iter()
            .filter(|s| s.cpu_profile.is_some())
            .count()
            > 1
    {
        eprintln!(
            "note: exporting scale `{}` (choose another with --scale)",
            chosen.scale
        );
    }
    let folded = entry.dir.join(chosen.dir_prefix(several)).join(FOLDED);
    let file = std::fs::File::open(&folded).with_context(|| {
        format!(
            "cannot read {}: the result has no CPU profile for scale `{}`",
            folded.display(),
            chosen.scale
        )
    })?;
    let time_nanos = parse_iso(&record.created)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_nanos()).ok());
    let mut comments = vec![format!(
        "cargo xtask export of {} ({} {})",
        entry.name,
        record.workload,
        markdown::format_params(&chosen.params)
    )];
    if let Some(commit) = &record.git.commit {
        comments.push(format!(
            "commit {commit}{}",
            if record.git.dirty { " (dirty)" } else { "" }
        ));
    }
    let options = pprof::Options {
        frequency: chosen.cpu_profile.as_ref().map(|p| p.frequency),
        time_nanos,
        comments,
        program: chosen.argv.first().cloned(),
    };
    let raw = pprof::encode_folded(std::io::BufReader::new(file), &options)
        .with_context(|| format!("cannot convert {}", folded.display()))?;
    Ok(pprof::gzip(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::synthetic;

    #[test]
    fn markdown_export_reuses_the_timing_table() {
        let wall: &[f64] = &[0.1, 0.2, 0.3];
        let record = synthetic::record("base", "2026-01-01T00:00:00Z", &[("wall_s", "s", wall)]);
        let text = markdown_tables(&record);
        assert!(
            text.starts_with("### base — `demo` (2026-01-01T00:00:00Z"),
            "{text}"
        );
        assert!(text.contains(&markdown::summary_table(&record.scales[0].summaries)));
        assert!(text.contains("| wall_s | 200.0 ms |"), "{text}");
    }

    /// The label, the workload, scales, parameters and a metric's name and
    /// unit render as themselves.
    #[test]
    fn markdown_export_escapes_config_text() {
        use crate::reports::markdown_text::test_support::*;
        let h = hostile();
        let wall: &[f64] = &[0.1, 0.2, 0.3];
        let mut record = synthetic::record(&h, "2026-01-01T00:00:00Z", &[("wall_s", "s", wall)]);
        record.workload = h.clone();
        let mut scale = synthetic::scale(&h, &[("wall_s", "s", wall), (&h, &h, wall)]);
        scale.params.insert(h.clone(), h.clone());
        record.scales = vec![scale.clone(), synthetic::scale("second", &[(&h, &h, wall)])];
        let text = markdown_tables(&record);
        assert_eq!(assert_tables_keep_their_columns(&text), 2, "{text}");
        assert_hostile_text_is_literal(&text);
        // The label, the workload, the scale, the parameter's name and value,
        // and the metric's name and five values with their unit, twice.
        assert!(
            rendered(&text).matches(&hostile_rendered()).count() >= 17,
            "{text}"
        );
    }

    #[test]
    fn pprof_export_reads_the_scale_s_folded_stacks() {
        let results = synthetic::temp_dir("export-pprof");
        let wall: &[f64] = &[0.1];
        let mut record = synthetic::record("p", "2026-01-01T00:00:00Z", &[("wall_s", "s", wall)]);
        let dir = synthetic::write(&results, "20260101-000000-p", &record);
        let entry = Entry {
            dir: dir.clone(),
            name: "20260101-000000-p".into(),
            record: record.clone(),
        };
        let err = pprof_of(&entry, None).unwrap_err().to_string();
        assert!(err.contains("has no CPU profile"), "{err}");
        record.scales[0].cpu_profile = Some(serde_json::from_value(serde_json::json!({
            "tool": "perf 6.1", "frequency": 499, "call_graph": "dwarf", "symbolizer": "addr2line",
            "record": {"samples": 7, "data_mb": 0.1, "warnings": []}, "folded_samples": 7,
            "argv": [], "files": ["cpu.folded"], "notes": []
        })).unwrap_or_else(|e| panic!("the CpuProfile shape changed: {e}")));
        std::fs::write(dir.join(FOLDED), "main;work 5\nmain 2\n").unwrap();
        let entry = Entry { record, ..entry };
        let decoded = pprof::tests::decode(&pprof::tests::gunzip_stored(
            &pprof_of(&entry, None).unwrap(),
        ));
        assert_eq!(
            decoded.stacks["main;work"],
            vec![5, 5 * (1_000_000_000 / 499)]
        );
        assert_eq!(decoded.stacks["main"][0], 2);
        assert!(decoded.comments[0].contains("20260101-000000-p"));
        std::fs::remove_dir_all(&results).unwrap();
    }
}
