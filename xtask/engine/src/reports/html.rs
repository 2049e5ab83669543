//! `results/index.html`: one self-contained page (inline CSS and SVG, no
//! script, nothing loaded from the network) with every result, its headline
//! numbers and links to its files, the comparisons, the trend charts, and
//! the runs that did not complete.

use crate::config::Config;
use crate::reports::chart::{self, escape, LEGEND};
use crate::reports::markdown::format_value;
use crate::reports::viewer::FILE as VIEWER;
use crate::results::inventory::{self, Item, Kind};
use crate::results::pins::Pins;
use crate::results::series::Series;
use crate::results::timestamp_iso;
use std::fmt::Write as _;
use std::path::Path;
use std::time::SystemTime;

const STYLE: &str = r#"
:root { color-scheme: light; --fg: #1f2328; --muted: #57606a; --line: #d0d7de; --bg: #f6f8fa; --accent: #1f6feb; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
header, main, footer { max-width: 1400px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 10px; }
p.meta, footer { color: var(--muted); }
nav a { margin-right: 14px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
table { border-collapse: collapse; width: 100%; background: #fff; border: 1px solid var(--line); }
table { font-size: 13px; }
th, td { padding: 5px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: top; white-space: nowrap; }
th { background: #eef1f4; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.files a { margin-right: 8px; }
.meta { color: var(--muted); }
.pin { display: inline-block; padding: 0 6px; border-radius: 10px; background: #ddf4ff; color: #0550ae; font-size: 12px; margin-right: 4px; }
.state-bad { color: #cf222e; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(420px, 1fr)); gap: 12px; }
.charts svg { width: 100%; height: auto; display: block; }
.scroll { overflow-x: auto; }
td.files, td.metric { white-space: normal; min-width: 120px; }
.legend { color: var(--muted); margin: 0 0 10px; }
.empty { color: var(--muted); font-style: italic; }
code { font-size: 12.5px; }
.samples { color: var(--muted); font-size: 12px; }
ul.verdicts { margin: 0; padding: 0; list-style: none; }
td.verdicts { white-space: normal; }
.verdict { display: inline-block; padding: 0 6px; border-radius: 10px; font-weight: 600; font-size: 12px; }
.verdict.regressed { background: #ffebe9; color: #cf222e; }
.verdict.improved, .verdict.pass { background: #dafbe1; color: #1a7f37; }
.verdict.no-change { background: #eef1f4; color: #57606a; }
.verdict.inconclusive { background: #fff8c5; color: #9a6700; }
"#;

/// A link to a file of a result, if the file is there, with what `note`
/// says of it (a flamegraph's samples).
fn file_links(
    results_dir: &Path,
    dir_name: &str,
    files: &[String],
    note: impl Fn(&str) -> Option<String>,
) -> String {
    files
        .iter()
        .filter(|f| results_dir.join(dir_name).join(f).is_file())
        .map(|f| {
            let note = note(f)
                .map(|n| format!(" <span class=\"samples\">({})</span>", escape(&n)))
                .unwrap_or_default();
            format!(
                r#"<a href="{}/{}">{}</a>{note}"#,
                escape(dir_name),
                escape(f),
                escape(f)
            )
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The samples behind a CPU flamegraph of a result: its scale's profile in
/// run.json for a scale's `flamegraph.svg`, and the folded stacks beside it
/// for the per-benchmark ones, which run.json does not count.
fn flamegraph_samples(
    dir: &Path,
    record: &crate::results::record::RunRecord,
    file: &str,
) -> Option<String> {
    use crate::runs::cpu_profile::{FOLDED, SVG};
    let several = record.scales.len() > 1;
    let folder = file.strip_suffix(SVG)?;
    if let Some(profile) = record
        .scales
        .iter()
        .find(|s| s.dir_prefix(several) == folder)
        .and_then(|s| s.cpu_profile.as_ref())
    {
        return Some(match profile.record.samples {
            Some(recorded) if recorded != profile.folded_samples => {
                format!("{} samples, {recorded} recorded", profile.folded_samples)
            }
            _ => format!("{} samples", profile.folded_samples),
        });
    }
    let folded = std::fs::read_to_string(dir.join(folder).join(FOLDED)).ok()?;
    let samples: u64 = folded
        .lines()
        .filter_map(|line| line.rsplit_once(' ')?.1.trim().parse::<u64>().ok())
        .sum();
    Some(format!("{samples} samples"))
}

/// SVG files of a result directory and of its scale subdirectories (the
/// flamegraphs, whatever tool drew them).
fn svg_files(dir: &Path, record: &crate::results::record::RunRecord) -> Vec<String> {
    let several = record.scales.len() > 1;
    let mut out = Vec::new();
    let mut prefixes: Vec<String> = record
        .scales
        .iter()
        .map(|s| s.dir_prefix(several))
        .collect();
    prefixes.dedup();
    for prefix in prefixes {
        let Ok(read) = std::fs::read_dir(dir.join(&prefix)) else {
            continue;
        };
        let mut names: Vec<String> = read
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".svg"))
            .map(|n| format!("{prefix}{n}"))
            .collect();
        names.sort();
        out.extend(names);
    }
    // The per-benchmark and per-event flamegraphs, in folders of their own.
    for scale in &record.scales {
        let prefix = scale.dir_prefix(several);
        let files = scale.cpu_profile.iter().flat_map(|p| &p.files);
        out.extend(
            files
                .filter(|f| f.contains('/') && f.ends_with(".svg"))
                .map(|f| format!("{prefix}{f}")),
        );
    }
    out
}

/// The page. `items` is the scanned results directory, `series` the trends.
pub fn page(
    results_dir: &Path,
    items: &[Item],
    pins: &Pins,
    series: &[Series],
    config: Option<&Config>,
) -> String {
    let mut results: Vec<&Item> = items
        .iter()
        .filter(|i| matches!(i.kind, Kind::Result(_)))
        .collect();
    results.sort_by(|a, b| match (&a.kind, &b.kind) {
        (Kind::Result(x), Kind::Result(y)) => {
            (&y.record.created, &b.name).cmp(&(&x.record.created, &a.name))
        }
        _ => std::cmp::Ordering::Equal,
    });
    let comparisons: Vec<&Item> = items
        .iter()
        .filter(|i| matches!(i.kind, Kind::Comparison))
        .collect();
    let incomplete: Vec<&Item> = items
        .iter()
        .filter(|i| matches!(i.kind, Kind::Temporary { .. } | Kind::Failed { .. }))
        .collect();

    let mut out = String::new();
    head(
        &mut out,
        results_dir,
        [
            results.len(),
            comparisons.len(),
            incomplete.len(),
            results
                .iter()
                .filter(|i| matches!(&i.kind, Kind::Result(e) if e.record.scales.len() > 1))
                .count(),
        ],
    );
    results_section(&mut out, results_dir, &results, pins, config);
    crate::reports::html_scales::section(&mut out, &results);
    comparisons_section(&mut out, results_dir, &comparisons);
    trends_section(&mut out, series);
    incomplete_section(&mut out, &incomplete);
    out.push_str("</main>\n<footer><p>Self-contained: no scripts, nothing fetched. Regenerate with <code>cargo xtask report</code>.</p></footer>\n</body>\n</html>\n");
    out
}

/// The document's head (title, styles) and the page header: what the
/// directory holds, and the navigation to each section.
fn head(
    out: &mut String,
    results_dir: &Path,
    [results, comparisons, incomplete, several_scales]: [usize; 4],
) {
    let scales = if several_scales > 0 {
        "<a href=\"#scales\">Across scales</a>"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>Profiling results ({} results)</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        results
    );
    let _ = writeln!(
        out,
        "<header><h1>Profiling results</h1><p class=\"meta\">{} results, {} comparisons, {} incomplete runs in <code>{}</code>; page written {} by <code>cargo xtask report</code>.</p>\n<nav><a href=\"#results\">Results</a>{scales}<a href=\"#comparisons\">Comparisons</a><a href=\"#trends\">Trends</a><a href=\"#incomplete\">Incomplete runs</a></nav></header>\n<main>",
        results,
        comparisons,
        incomplete,
        escape(&results_dir.display().to_string()),
        timestamp_iso(SystemTime::now())
    );
}

/// The results, newest first: one row each with its headline numbers,
/// pins and files.
fn results_section(
    out: &mut String,
    results_dir: &Path,
    results: &[&Item],
    pins: &Pins,
    config: Option<&Config>,
) {
    out.push_str("<section id=\"results\"><h2>Results</h2>\n");
    if results.is_empty() {
        out.push_str("<p class=\"empty\">No results yet: run <code>cargo xtask profile-baseline</code>.</p>\n");
    } else {
        out.push_str("<div class=\"scroll\"><table class=\"results\"><thead><tr><th>created (UTC)</th><th>result</th><th>label</th><th>workload</th><th>scale</th><th>commit</th><th>machine</th><th>time (median)</th><th>first metric (median)</th><th>pins</th><th>files</th></tr></thead><tbody>\n");
        for item in results {
            result_row(out, results_dir, item, pins, config);
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</section>\n");
}

fn result_row(
    out: &mut String,
    results_dir: &Path,
    item: &Item,
    pins: &Pins,
    config: Option<&Config>,
) {
    let Kind::Result(entry) = &item.kind else {
        return;
    };
    let record = &entry.record;
    // A result of several scales reads from its first to its last, and
    // links to its charts across scales rather than crown the first.
    let wall = crate::reports::html_scales::headline(&item.name, record, "wall_s")
        .unwrap_or_else(|| escape(&crate::reports::markdown::median_time(record)));
    let viewer = if item.path.join(VIEWER).is_file() {
        format!(
            " <a class=\"viewer\" href=\"{}/{VIEWER}\">viewer</a>",
            escape(&item.name)
        )
    } else {
        String::new()
    };
    let metric = inventory::first_metric(record, config)
        .map(|(name, m)| {
            format!(
                "<span class=\"meta\">{}:</span> {}",
                escape(name),
                escape(&format_value(m.summary.median, &m.unit))
            )
        })
        .unwrap_or_else(|| "—".into());
    let scales: Vec<&str> = record.scales.iter().map(|s| s.scale.as_str()).collect();
    let pins_html: String = pins
        .names_of(&item.name)
        .iter()
        .map(|p| format!("<span class=\"pin\">{}</span>", escape(p)))
        .collect();
    let mut files = vec!["README.md".to_string()];
    files.extend(svg_files(&item.path, record));
    files.push("run.json".into());
    let commit = record.git.short();
    let failed = record
        .failure
        .as_ref()
        .map(|f| {
            format!(
                " <span class=\"state-bad\" title=\"{}\">failed</span>",
                escape(f)
            )
        })
        .unwrap_or_default();
    let _ = writeln!(
        out,
        "<tr><td>{}</td><td><a href=\"{}/README.md\">{}</a>{viewer}{failed}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td class=\"num\">{}</td><td class=\"num metric\">{metric}</td><td>{pins_html}</td><td class=\"files\">{}</td></tr>",
        escape(&record.created),
        escape(&item.name),
        escape(&item.name),
        escape(&record.label),
        escape(&record.what_ran()),
        escape(&scales.join(", ")),
        escape(&commit),
        escape(&record.machine_class()),
        wall,
        file_links(results_dir, &item.name, &files, |f| {
            flamegraph_samples(&item.path, record, f)
        })
    );
}

/// The comparisons, each linked by its README (or its compare.json).
fn comparisons_section(out: &mut String, results_dir: &Path, comparisons: &[&Item]) {
    out.push_str("<section id=\"comparisons\"><h2>Comparisons</h2>\n");
    if comparisons.is_empty() {
        out.push_str("<p class=\"empty\">No comparisons yet: <code>cargo xtask profile-compare</code> writes them.</p>\n");
    } else {
        out.push_str("<div class=\"scroll\"><table class=\"comparisons\"><thead><tr><th>modified (UTC)</th><th>comparison</th><th>A → B</th><th>gate</th><th>verdicts: change [confidence interval]</th><th>files</th></tr></thead><tbody>\n");
        for item in comparisons {
            let mut files: Vec<String> = std::fs::read_dir(&item.path)
                .map(|read| {
                    read.flatten()
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                        .map(|e| e.file_name().to_string_lossy().into_owned())
                        .filter(|n| {
                            n.ends_with(".md") || n.ends_with(".svg") || n.ends_with(".json")
                        })
                        .collect()
                })
                .unwrap_or_default();
            files.sort_by_key(|f| (!f.eq("README.md"), f.clone()));
            let main = if files.iter().any(|f| f == "README.md") {
                "README.md"
            } else {
                inventory::COMPARE_FILE
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td><a href=\"{}/{main}\">{}</a></td>{}<td class=\"files\">{}</td></tr>",
                item.modified.map(timestamp_iso).unwrap_or_default(),
                escape(&item.name),
                escape(&item.name),
                crate::reports::html_verdicts::cells(&item.path),
                file_links(results_dir, &item.name, &files, |_| None)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</section>\n");
}

/// The trend charts, and a list of where each history shifted.
fn trends_section(out: &mut String, series: &[Series]) {
    out.push_str("<section id=\"trends\"><h2>Trends</h2>\n");
    if series.is_empty() {
        out.push_str("<p class=\"empty\">No measures to chart yet.</p>\n");
    } else {
        let _ = writeln!(out, "<p class=\"legend\">{}. One chart per measure, workload and scale; results in time order.</p>", escape(LEGEND));
        let mut shifts = Vec::new();
        let headed = crate::results::series::show_machines(series);
        for (i, s) in series.iter().enumerate() {
            // Each class of machine under a heading of its own: its
            // charts are never one history with another's.
            if headed && (i == 0 || series[i - 1].machine != s.machine) {
                if i > 0 {
                    out.push_str("</div>\n");
                }
                let _ = writeln!(
                    out,
                    "<h3 class=\"machine\">Measured on {}</h3>\n<div class=\"charts\">",
                    escape(&s.machine)
                );
            } else if i == 0 {
                out.push_str("<div class=\"charts\">\n");
            }
            out.push_str(&chart::render(&chart::of_series(s), 0.0, 0.0));
            shifts.extend(s.shifts().iter().map(|shift| (s, shift)));
        }
        out.push_str("</div>\n");
        // Where a history shifted (dashed red lines in the charts).
        if !shifts.is_empty() {
            out.push_str("<h3>Shifts</h3>\n<ul class=\"shifts\">\n");
            for (s, shift) in shifts {
                let _ = writeln!(
                    out,
                    "<li><b>{}</b>: {:+.1} % from <a href=\"{}/README.md\">{}</a> on ({} → {} mean, p = {:.3})</li>",
                    escape(&s.title()),
                    shift.relative_change * 100.0,
                    escape(&shift.dir),
                    escape(&shift.dir),
                    escape(&format_value(shift.mean_before, &s.unit)),
                    escape(&format_value(shift.mean_after, &s.unit)),
                    shift.p_value
                );
            }
            out.push_str("</ul>\n");
        }
    }
    out.push_str("</section>\n");
}

/// Runs being written, interrupted or failed, with their state.
fn incomplete_section(out: &mut String, incomplete: &[&Item]) {
    out.push_str("<section id=\"incomplete\"><h2>Incomplete runs</h2>\n");
    if incomplete.is_empty() {
        out.push_str("<p class=\"empty\">None.</p>\n");
    } else {
        out.push_str("<div class=\"scroll\"><table class=\"incomplete\"><thead><tr><th>modified (UTC)</th><th>directory</th><th>state</th></tr></thead><tbody>\n");
        for item in incomplete {
            let state = match &item.kind {
                Kind::Failed { reason } => format!("failed: {reason}"),
                Kind::Temporary { .. } if item.is_abandoned_temporary() => {
                    "interrupted (cargo xtask cleanup removes it)".into()
                }
                _ => "in progress".into(),
            };
            let link = match &item.kind {
                Kind::Failed { .. } => format!(
                    "<a href=\"{}/failure.txt\">{}</a>",
                    escape(&item.name),
                    escape(&item.name)
                ),
                _ => escape(&item.name),
            };
            let _ = writeln!(
                out,
                "<tr><td>{}</td><td>{link}</td><td class=\"state-bad\">{}</td></tr>",
                item.modified.map(timestamp_iso).unwrap_or_default(),
                escape(&state)
            );
        }
        out.push_str("</tbody></table></div>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::series::{collect, Filter};
    use crate::results::synthetic;

    #[test]
    fn the_page_links_every_result_and_draws_every_series() {
        let results = synthetic::temp_dir("html");
        let wall: &[f64] = &[0.1, 0.2];
        for (i, day) in ["01", "02", "03"].iter().enumerate() {
            let name = format!("202601{day}-000000-r{i}");
            let dir = synthetic::write(
                &results,
                &name,
                &synthetic::record(
                    &format!("r{i}"),
                    &format!("2026-01-{day}T00:00:00Z"),
                    &[("wall_s", "s", wall)],
                ),
            );
            std::fs::write(dir.join("README.md"), "# r").unwrap();
            if i == 1 {
                std::fs::write(dir.join("flamegraph.svg"), "<svg/>").unwrap();
            }
        }
        std::fs::create_dir_all(results.join("compare-a-b")).unwrap();
        std::fs::write(results.join("compare-a-b").join("compare.json"), "{}").unwrap();
        std::fs::write(results.join("compare-a-b").join("diff.svg"), "<svg/>").unwrap();
        std::fs::create_dir_all(results.join(".failed-20260104-000000-x-1")).unwrap();
        std::fs::write(
            results
                .join(".failed-20260104-000000-x-1")
                .join("failure.txt"),
            "the workload failed <exit 3>",
        )
        .unwrap();
        let mut pins = Pins::default();
        pins.pins.insert(
            "v1".into(),
            crate::results::pins::Pin {
                dir: "20260101-000000-r0".into(),
                pinned: "x".into(),
            },
        );
        let items = inventory::scan(&results).unwrap();
        let entries: Vec<_> = items
            .iter()
            .filter_map(|i| match &i.kind {
                Kind::Result(e) => Some((**e).clone()),
                _ => None,
            })
            .collect();
        let series = collect(&entries, &Filter::default());
        let html = page(&results, &items, &pins, &series, None);
        for i in 0..3 {
            assert!(
                html.contains(&format!(
                    "href=\"202601{:02}-000000-r{i}/README.md\"",
                    i + 1
                )),
                "result {i}"
            );
        }
        assert!(html.contains("href=\"20260102-000000-r1/flamegraph.svg\""));
        assert!(
            !html.contains("href=\"20260101-000000-r0/flamegraph.svg\""),
            "only files that exist are linked"
        );
        assert!(html.contains("href=\"compare-a-b/compare.json\""));
        assert!(html.contains("href=\"compare-a-b/diff.svg\""));
        assert!(html.contains("<span class=\"pin\">v1</span>"));
        assert!(html.contains("failed: the workload failed &lt;exit 3&gt;"));
        assert_eq!(html.matches("<svg class=\"chart\"").count(), series.len());
        assert!(
            !html.contains("http://")
                || html.matches("http://").count()
                    == html.matches("xmlns=\"http://www.w3.org/2000/svg\"").count(),
            "nothing is fetched"
        );
        assert!(!html.contains("<script"));
        // Newest first.
        assert!(html.find("r2/README.md").unwrap() < html.find("r0/README.md").unwrap());
        std::fs::remove_dir_all(&results).unwrap();
    }

    /// Every section of the page, byte for byte: results (one failed, one
    /// pinned, one with a flamegraph), comparisons with and without a
    /// README, charts with a shift, and each kind of incomplete run; and
    /// the page of an empty results directory.
    #[test]
    fn the_page_is_its_golden_copy() {
        let results = synthetic::temp_dir("html-golden");
        for i in 0..8 {
            let name = format!("2026010{}-000000-r{i}", i + 1);
            let level = if i < 4 { 0.1 } else { 0.2 };
            let wall = [level, level + 0.001 * i as f64, level + 0.002];
            let rate = [900.0 + i as f64, 950.0, 1000.0];
            let mut record = synthetic::record(
                &format!("r{i}"),
                &format!("2026-01-0{}T00:00:00Z", i + 1),
                &[("wall_s", "s", &wall), ("rate", "records/s", &rate)],
            );
            if i == 3 {
                record.failure = Some("the workload exited <3>".into());
            }
            let dir = synthetic::write(&results, &name, &record);
            std::fs::write(dir.join("README.md"), "# r").unwrap();
            if i == 1 {
                std::fs::write(dir.join("flamegraph.svg"), "<svg/>").unwrap();
                std::fs::write(dir.join(VIEWER), "<html>").unwrap();
            }
        }
        for (name, files) in [
            (
                "compare-a-b",
                &["compare.json", "diff.svg", "notes.txt"][..],
            ),
            (
                "compare-c-d",
                &["compare.json", "README.md", "compare.md"][..],
            ),
        ] {
            std::fs::create_dir_all(results.join(name)).unwrap();
            for file in files {
                std::fs::write(results.join(name).join(file), "{}").unwrap();
            }
        }
        std::fs::write(
            results.join("compare-c-d").join("compare.json"),
            r#"{"a": {"name": "20260101-000000-r0", "label": "r0"}, "b": {"name": "20260102-000000-r1", "label": "r1"},
            "gate": {"counter": "time", "passed": false, "failures": [{}], "strict": false},
            "scales": [{"scale": "default", "measures": [
              {"name": "wall_s", "verdict": "regressed", "change": 0.2, "ci_low": 0.1, "ci_high": 0.3, "gated": true, "gate_failed": true},
              {"name": "rate", "verdict": "inconclusive", "change": 0.01, "ci_low": -0.05, "ci_high": 0.07, "gated": true, "gate_failed": false}]}]}"#,
        )
        .unwrap();
        let failed = results.join(".failed-20260109-000000-x-1");
        std::fs::create_dir_all(&failed).unwrap();
        std::fs::write(failed.join("failure.txt"), "the workload failed <exit 3>").unwrap();
        let mut pins = Pins::default();
        pins.pins.insert(
            "v1".into(),
            crate::results::pins::Pin {
                dir: "20260102-000000-r1".into(),
                pinned: "x".into(),
            },
        );
        let mut items = inventory::scan(&results).unwrap();
        for (pid, alive) in [(1, true), (2, false)] {
            items.push(Item {
                name: format!(".tmp-20260110-000000-t-{pid}"),
                path: results.join(format!(".tmp-20260110-000000-t-{pid}")),
                kind: Kind::Temporary {
                    pid: Some(pid),
                    alive,
                },
                modified: None,
            });
        }
        let fixed = crate::results::parse_iso("2026-02-03T04:05:06Z");
        for item in &mut items {
            item.modified = fixed;
        }
        let entries: Vec<_> = items
            .iter()
            .filter_map(|i| match &i.kind {
                Kind::Result(e) => Some((**e).clone()),
                _ => None,
            })
            .collect();
        let series = collect(&entries, &Filter::default());
        assert!(series.iter().any(|s| !s.shifts().is_empty()));
        let stable = |html: String| {
            let written = html.find("page written ").unwrap() + "page written ".len();
            let by = written + html[written..].find(" by ").unwrap();
            format!("{}<now>{}", &html[..written], &html[by..])
                .replace(&results.display().to_string(), "<results>")
        };
        let html = page(&results, &items, &pins, &series, None);
        let empty = page(&results, &[], &Pins::default(), &[], None);
        crate::reports::golden::assert_golden(
            "html-page.html",
            &format!("{}\n{}", stable(html), stable(empty)),
        );
        std::fs::remove_dir_all(&results).unwrap();
    }
}
