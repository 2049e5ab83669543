//! The report as GitHub-flavoured Markdown (compare.md, `--format markdown`,
//! the pre-release summary): tables that paste into a pull request, the
//! comparability warnings as an alert, the gate and the method in a footer.

use super::cells::{failure_text, function_cells, measure_cells, svg_kind};
use super::gate::GateFailure;
use super::model::{CompareReport, MeasureComparison, ScaleComparison, Settings};
use crate::reports::markdown_text::{code, code_cell, link, message, text};
use crate::stats::Verdict;
use std::fmt::Write as _;

/// A GitHub-flavoured Markdown report that pastes into a pull request.
pub fn render_markdown(report: &CompareReport) -> String {
    let mut out = String::new();
    sides(&mut out, report);
    if !report.warnings.is_empty() {
        out.push_str("> [!WARNING]\n> **A and B may not be comparable:**\n");
        for warning in &report.warnings {
            let _ = writeln!(out, "> - {}", message(warning));
        }
        out.push('\n');
    }
    for scale in &report.scales {
        if report.scales.len() > 1 {
            let _ = writeln!(out, "### Scale {}\n", code(&scale.scale));
        }
        measures_table(&mut out, scale);
        for note in &scale.notes {
            let _ = writeln!(out, "_Note: {}_\n", message(note));
        }
        where_it_changed(&mut out, scale);
    }
    gate(&mut out, report);
    method(&mut out, &report.settings);
    out
}

/// The heading, and A and B side by side: result, commit, when, workload.
fn sides(out: &mut String, report: &CompareReport) {
    let _ = writeln!(
        out,
        "## profile-compare: {} → {}\n",
        code(&report.a.name),
        code(&report.b.name)
    );
    out.push_str("| | A (baseline) | B (new) |\n|---|---|---|\n");
    let _ = writeln!(
        out,
        "| result | {} | {} |",
        code_cell(&report.a.name),
        code_cell(&report.b.name)
    );
    let _ = writeln!(
        out,
        "| commit | {} | {} |",
        report.a.short_commit(),
        report.b.short_commit()
    );
    let _ = writeln!(
        out,
        "| created | {} | {} |",
        report.a.created, report.b.created
    );
    let _ = writeln!(
        out,
        "| workload | {} | {} |",
        code_cell(&report.a.workload),
        code_cell(&report.b.workload)
    );
    out.push('\n');
}

/// A row per measure of a scale, its verdict marked by colour.
fn measures_table(out: &mut String, scale: &ScaleComparison) {
    out.push_str("| measure | A | B | change | 95 % CI | p | verdict |\n");
    out.push_str("|---|---:|---:|---:|---|---:|---|\n");
    for m in &scale.measures {
        // Only the name and the unit come from the config: the rest of
        // the row is this program's own numbers and words.
        let shown = MeasureComparison {
            name: text(&m.name),
            unit: text(&m.unit),
            ..m.clone()
        };
        let mut row = measure_cells(&shown);
        row[6] = match m.verdict() {
            Verdict::Regressed if m.gate_failed => {
                format!("🔴 **{}** (beyond {} %)", row[6], m.limit_pct)
            }
            Verdict::Regressed => format!("🟠 {} (within {} %)", row[6], m.limit_pct),
            Verdict::Improved => format!("🟢 {}", row[6]),
            _ => row[6].clone(),
        };
        let _ = writeln!(out, "| {} |", row.join(" | "));
    }
    out.push('\n');
}

/// The functions whose share of the CPU samples and of the peak heap
/// moved, and links to the differential flamegraphs.
fn where_it_changed(out: &mut String, scale: &ScaleComparison) {
    for (title, functions) in [
        ("share of CPU samples", &scale.functions),
        ("share of the heap at its peak", &scale.memory_functions),
    ] {
        if functions.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "**Where it changed** ({title}, % of all; Δ in points):\n"
        );
        out.push_str("| function | self A | self B | Δ self | total A | total B | Δ total |\n");
        out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
        for f in functions {
            let cells = function_cells(f);
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                code_cell(&cells[6]),
                cells[0],
                cells[1],
                cells[2],
                cells[3],
                cells[4],
                cells[5]
            );
        }
        out.push('\n');
    }
    if let Some(allocations) = &scale.allocations {
        out.push_str(&super::allocations::markdown(allocations));
    }
    if let Some(frames) = &scale.frames {
        let _ = writeln!(out, "**Frames that changed:** {}.\n", frames.summary());
        let rows = frames.rows(10);
        if !rows.is_empty() {
            out.push_str("| function | share A | share B | Δ points | p (adjusted) |\n");
            out.push_str("|---|---:|---:|---:|---:|\n");
            for [f, a, b, d, p] in rows {
                let _ = writeln!(out, "| {} | {a} | {b} | {d} | {p} |", code_cell(&f));
            }
            out.push('\n');
        }
    }
    for file in &scale.files {
        let _ = writeln!(
            out,
            "{} differential flamegraph: {} (shape of B; red grew, blue shrank)\n",
            svg_kind(file),
            link(file, file)
        );
    }
}

/// The gate's decision: undecided, passed, or failed and on what.
fn gate(out: &mut String, report: &CompareReport) {
    let warnings: Vec<String> = report
        .gate
        .inconclusive_warnings()
        .iter()
        .map(|w| message(w))
        .collect();
    if let Some(why) = &report.gate.undecided {
        let _ = writeln!(out, "**Gate:** ⚠️ undecided: {}.", message(why));
    } else if report.gate.passed && warnings.is_empty() {
        out.push_str("**Gate:** ✅ passed: no significant regression beyond its threshold.\n");
    } else if report.gate.passed {
        let _ = writeln!(
            out,
            "**Gate:** ✅ passed, with warnings: no significant regression, but {}.",
            warnings.join("; ")
        );
    } else if report.gate.failures.is_empty() {
        let _ = writeln!(
            out,
            "**Gate:** ❌ failed (`--fail-on-inconclusive`): {}.",
            warnings.join("; ")
        );
    } else {
        let list: Vec<String> = report
            .gate
            .failures
            .iter()
            .map(|f| {
                failure_text(&GateFailure {
                    scale: text(&f.scale),
                    measure: text(&f.measure),
                    ..f.clone()
                })
            })
            .collect();
        let _ = writeln!(out, "**Gate:** ❌ failed: {}.", list.join("; "));
    }
}

/// The footer: how the verdicts were reached, and the limits.
fn method(out: &mut String, settings: &Settings) {
    let _ = writeln!(
        out,
        "\n<sub>Mann–Whitney U (α = {}, Holm-adjusted over the gated measures), Hodges–Lehmann change with its {} % interval; \
         regressed or improved when significant and the interval lies beyond ±{} %; no_change when the interval lies within the \
         measure's threshold; else inconclusive, with the smallest change the runs could see (80 % power). \
         Thresholds: time {} %, throughput {} %, latency {} %, memory {} %, instructions {} %.</sub>",
        settings.alpha,
        (100.0 * (1.0 - settings.alpha)).round(),
        settings.noise_pct,
        settings.thresholds.time,
        settings.thresholds.throughput,
        settings.thresholds.latency,
        settings.thresholds.memory,
        settings.thresholds.instructions,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compare::fixtures::*;
    use crate::reports::compare::model::{Counter, DIFF_SVG};
    use crate::reports::functions::FunctionChange;

    /// A gate that could not have failed says so (3 + 3 runs, see `gate`).
    #[test]
    fn a_gate_that_cannot_fail_reads_undecided() {
        let a = scale(&WALL[..3], &RPS[..3], "0");
        let b = scale(&slower(&WALL[..3], 8.0), &slower(&RPS[..3], 0.1), "20");
        let report = report_of(&a, &b, Counter::Time);
        assert!(render_markdown(&report).contains("**Gate:** ⚠️ undecided"));
    }

    /// Every line of every table has the same number of cells as its header,
    /// and the second line is the delimiter row: what GitHub needs to render it.
    fn assert_tables_are_well_formed(markdown: &str) -> usize {
        let lines: Vec<&str> = markdown.lines().collect();
        let mut tables = 0;
        let mut i = 0;
        let cells = |line: &str| -> usize {
            let inner = line
                .trim()
                .strip_prefix('|')
                .and_then(|l| l.strip_suffix('|'))
                .expect(line);
            inner.replace("\\|", "").split('|').count()
        };
        while i < lines.len() {
            if lines[i].starts_with('|') {
                tables += 1;
                let width = cells(lines[i]);
                let delimiter = lines[i + 1];
                assert_eq!(cells(delimiter), width, "{delimiter}");
                assert!(
                    delimiter.trim_matches('|').split('|').all(|c| {
                        c.trim_matches(':').chars().all(|ch| ch == '-') && c.contains("---")
                    }),
                    "{delimiter}"
                );
                i += 2;
                while i < lines.len() && lines[i].starts_with('|') {
                    assert_eq!(cells(lines[i]), width, "{}", lines[i]);
                    i += 1;
                }
                // A table must be followed by a blank line (or the end).
                assert!(i == lines.len() || lines[i].is_empty(), "{:?}", lines[i]);
            } else {
                i += 1;
            }
        }
        tables
    }

    #[test]
    fn markdown_is_a_github_table() {
        let a = scale(&WALL, &RPS, "0");
        let b = scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5");
        let mut report = report_of(&a, &b, Counter::Time);
        report
            .warnings
            .push("different parameters: slowdown: 0 → 5".into());
        report.scales[0].functions = vec![FunctionChange {
            name: "<cdr_demo::X as core::ops::Fn|weird>::call".into(),
            self_before: 1.0,
            self_after: 52.5,
            total_before: 1.0,
            total_after: 52.5,
        }];
        report.scales[0].files.push(DIFF_SVG.into());
        let markdown = render_markdown(&report);
        assert_eq!(assert_tables_are_well_formed(&markdown), 3, "{markdown}");
        assert!(
            markdown.contains("| measure | A | B | change | 95 % CI | p | verdict |"),
            "{markdown}"
        );
        assert!(markdown.contains("| wall_s | 136.0 ms ± 2.0 % | 340.0 ms ± 2.0 % | +150.4 % | [+144.5 %, +157.4 %] | 0.008 | 🔴 **regressed** (beyond 5 %) |"), "{markdown}");
        assert!(
            markdown.contains(
                "`<cdr_demo::X as core::ops::Fn\\|weird>::call` | 1.0 % | 52.5 % | +51.5 |"
            ),
            "{markdown}"
        );
        assert!(markdown.contains(
            "> [!WARNING]\n> **A and B may not be comparable:**\n> - different parameters"
        ));
        assert!(markdown.contains("[diff-flamegraph.svg](diff-flamegraph.svg)"));
        assert!(markdown.contains("**Gate:** ❌ failed: wall_s +150.4 % (limit 5 %); records_per_sec -59.8 % (limit 10 %)."));
        assert!(!markdown.contains('\x1b'));
    }

    /// Every part of the Markdown, byte for byte: a failed gate with
    /// warnings, notes, both "where it changed" tables and both flamegraph
    /// links; two scales; a passed gate; an undecided one.
    #[test]
    fn markdown_is_its_golden_copy() {
        use crate::reports::compare::model::MEMORY_DIFF_SVG;
        let a = scale(&WALL, &RPS, "0");
        let b = scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5");
        let mut failed = report_of(&a, &b, Counter::Time);
        failed
            .warnings
            .push("different parameters: slowdown: 0 → 5".into());
        let change = FunctionChange {
            name: "cdr_demo::generate::run".into(),
            self_before: 1.0,
            self_after: 52.5,
            total_before: 10.0,
            total_after: 60.25,
        };
        failed.scales[0].functions = vec![change.clone()];
        failed.scales[0].memory_functions = vec![change];
        failed.scales[0]
            .notes
            .push("only A has memory figures".into());
        failed.scales[0].files = vec![DIFF_SVG.into(), MEMORY_DIFF_SVG.into()];
        let mut two_scales = report_of(&a, &a, Counter::Time);
        two_scales.scales.push(two_scales.scales[0].clone());
        two_scales.scales[1].scale = "large".into();
        let undecided = report_of(
            &scale(&WALL[..3], &RPS[..3], "0"),
            &scale(&slower(&WALL[..3], 8.0), &slower(&RPS[..3], 0.1), "20"),
            Counter::Time,
        );
        let markdown: String = [failed, two_scales, undecided]
            .iter()
            .map(render_markdown)
            .collect::<Vec<_>>()
            .join("\n----\n\n");
        crate::reports::golden::assert_golden("compare.md", &markdown);
    }

    /// Config text (a metric's name and unit, the workload, a scale, a
    /// parameter in a warning, a note) and symbol names render as
    /// themselves: no table loses its columns, no HTML or link acts.
    #[test]
    fn hostile_config_text_renders_literally() {
        use crate::config::Better;
        use crate::reports::markdown_text::test_support::*;
        let hostile_metric = |wall: &[f64], rps: &[f64]| {
            let mut s = scale(wall, rps, "0");
            s.summaries.remove("records_per_sec");
            s.summaries
                .insert(hostile(), summary(&hostile(), Better::Higher, rps));
            s.scale = hostile();
            s
        };
        let a = hostile_metric(&WALL, &RPS);
        let b = hostile_metric(&slower(&WALL, 2.5), &slower(&RPS, 0.4));
        let mut report = report_of(&a, &b, Counter::Time);
        report.scales.push(report.scales[0].clone());
        report.scales[1].scale = "second".into();
        report.gate = crate::reports::compare::gate::Gate::decide(
            Counter::Time,
            &report.scales,
            &report.settings,
        );
        report.a.workload = hostile();
        report.b.name = hostile();
        report
            .warnings
            .push(format!("different parameters: subs: {} → 5", hostile()));
        report.warnings.push(format!(
            "different command arguments: `{}` vs `generate`",
            hostile()
        ));
        report.scales[0].notes.push(hostile());
        report.scales[0].functions = vec![FunctionChange {
            name: hostile(),
            self_before: 1.0,
            self_after: 52.5,
            total_before: 1.0,
            total_after: 52.5,
        }];
        let markdown = render_markdown(&report);
        assert_eq!(assert_tables_keep_their_columns(&markdown), 4, "{markdown}");
        assert_hostile_text_is_literal(&markdown);
        let shown = rendered(&markdown);
        // Each place: the heading and result cell of B, A's workload, the
        // metric's row and its unit in A and B (both scales), the scale's
        // heading and gate failure, the function, the note, the warning.
        assert!(shown.matches(&hostile_rendered()).count() >= 14, "{shown}");
    }
}
