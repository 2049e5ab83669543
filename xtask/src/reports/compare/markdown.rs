//! The report as GitHub-flavoured Markdown (compare.md, `--format markdown`,
//! the pre-release summary): tables that paste into a pull request, the
//! comparability warnings as an alert, the gate and the method in a footer.

use super::cells::{failure_text, function_cells, measure_cells, svg_kind};
use super::model::CompareReport;
use crate::stats::Verdict;
use std::fmt::Write as _;

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A function name as inline code in a table cell (backticks in the name
/// would end the code span, so a longer fence is used then).
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// A GitHub-flavoured Markdown report that pastes into a pull request.
pub fn render_markdown(report: &CompareReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## profile-compare: `{}` → `{}`\n",
        report.a.name, report.b.name
    );
    out.push_str("| | A (baseline) | B (new) |\n|---|---|---|\n");
    let _ = writeln!(
        out,
        "| result | `{}` | `{}` |",
        cell(&report.a.name),
        cell(&report.b.name)
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
        "| workload | `{}` | `{}` |",
        cell(&report.a.workload),
        cell(&report.b.workload)
    );
    out.push('\n');
    if !report.warnings.is_empty() {
        out.push_str("> [!WARNING]\n> **A and B may not be comparable:**\n");
        for warning in &report.warnings {
            let _ = writeln!(out, "> - {}", warning.replace('\n', " "));
        }
        out.push('\n');
    }
    for scale in &report.scales {
        if report.scales.len() > 1 {
            let _ = writeln!(out, "### Scale `{}`\n", scale.scale);
        }
        out.push_str("| measure | A | B | change | 95 % CI | p | verdict |\n");
        out.push_str("|---|---:|---:|---:|---|---:|---|\n");
        for m in &scale.measures {
            let cells = measure_cells(m);
            let mut row: Vec<String> = cells.iter().map(|c| cell(c)).collect();
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
        for note in &scale.notes {
            let _ = writeln!(out, "_Note: {}_\n", cell(note));
        }
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
                    code(&cells[6]),
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
        for file in &scale.files {
            let _ = writeln!(
                out,
                "{} differential flamegraph: [{file}]({file}) (shape of B; red grew, blue shrank)\n",
                svg_kind(file)
            );
        }
    }
    if let Some(why) = &report.gate.undecided {
        let _ = writeln!(out, "**Gate:** ⚠️ undecided: {}.", cell(why));
    } else if report.gate.passed {
        out.push_str("**Gate:** ✅ passed: no significant regression beyond its threshold.\n");
    } else {
        let list: Vec<String> = report.gate.failures.iter().map(failure_text).collect();
        let _ = writeln!(out, "**Gate:** ❌ failed: {}.", cell(&list.join("; ")));
    }
    let _ = writeln!(
        out,
        "\n<sub>Mann–Whitney U (α = {}), Hodges–Lehmann change with its {} % interval; `~` when p ≥ α or the \
         interval reaches inside ±{} %. Thresholds: time {} %, throughput {} %, latency {} %, memory {} %, instructions {} %.</sub>",
        report.settings.alpha,
        (100.0 * (1.0 - report.settings.alpha)).round(),
        report.settings.noise_pct,
        report.settings.thresholds.time,
        report.settings.thresholds.throughput,
        report.settings.thresholds.latency,
        report.settings.thresholds.memory,
        report.settings.thresholds.instructions,
    );
    out
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
}
