//! The report on a terminal: aligned tables of the measures and of "where it
//! changed", ANSI colour when asked (escape codes never shift the columns),
//! and the gate in one line.

use super::cells::{failure_text, function_cells, measure_cells, svg_kind};
use super::model::{CompareReport, Counter};
use crate::reports::table::aligned;
use crate::stats::Verdict;
use std::fmt::Write as _;

const MEASURE_HEADER: [&str; 7] = ["measure", "A", "B", "change", "95 % CI", "p", "verdict"];
const FUNCTION_HEADER: [&str; 7] = [
    "self A", "self B", "Δ self", "total A", "total B", "Δ total", "function",
];

/// ANSI styles for the terminal; all empty without colour.
struct Style {
    red: &'static str,
    green: &'static str,
    yellow: &'static str,
    dim: &'static str,
    bold: &'static str,
    reset: &'static str,
}

impl Style {
    fn new(colour: bool) -> Style {
        if colour {
            Style {
                red: "\x1b[31m",
                green: "\x1b[32m",
                yellow: "\x1b[33m",
                dim: "\x1b[2m",
                bold: "\x1b[1m",
                reset: "\x1b[0m",
            }
        } else {
            Style {
                red: "",
                green: "",
                yellow: "",
                dim: "",
                bold: "",
                reset: "",
            }
        }
    }

    fn verdict(&self, verdict: Verdict) -> &'static str {
        match verdict {
            Verdict::Regressed => self.red,
            Verdict::Improved => self.green,
            Verdict::NoChange => self.dim,
            Verdict::Inconclusive => self.yellow,
        }
    }
}

/// The report for a terminal (ANSI colour when `colour`). `enforced`: the
/// gate sets the exit status (`--fail-on-regression`, pre-release); when it
/// does not, a failed gate is told as advice, not as a failure.
pub fn render_terminal(
    report: &CompareReport,
    dir: Option<&str>,
    colour: bool,
    enforced: bool,
) -> String {
    let s = Style::new(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}profile-compare{}  A: {} ({}, {})",
        s.bold,
        s.reset,
        report.a.name,
        report.a.short_commit(),
        report.a.created
    );
    let _ = writeln!(
        out,
        "                 B: {} ({}, {})",
        report.b.name,
        report.b.short_commit(),
        report.b.created
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "{}warning:{} {warning}", s.yellow, s.reset);
    }
    for scale in &report.scales {
        out.push('\n');
        if report.scales.len() > 1 {
            let _ = writeln!(out, "{}scale {}{}", s.bold, scale.scale, s.reset);
        }
        let mut rows = vec![MEASURE_HEADER.map(String::from)];
        rows.extend(scale.measures.iter().map(measure_cells));
        let verdicts: Vec<Verdict> = scale.measures.iter().map(|m| m.verdict()).collect();
        out.push_str(&aligned(
            &rows,
            &[false, true, true, true, false, true, false],
            "  ",
            |r, c| match (r, c) {
                (0, _) => s.bold,
                (r, 6) => s.verdict(verdicts[r - 1]),
                _ => "",
            },
            s.reset,
        ));
        for note in &scale.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        for (title, functions) in [
            ("CPU samples", &scale.functions),
            ("heap at its peak", &scale.memory_functions),
        ] {
            if functions.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n  Where it changed ({title}, share in % of all; Δ in points):"
            );
            let mut rows = vec![FUNCTION_HEADER.map(String::from)];
            rows.extend(functions.iter().map(function_cells));
            let deltas: Vec<f64> = functions.iter().map(|f| f.self_delta()).collect();
            out.push_str(&aligned(
                &rows,
                &[true, true, true, true, true, true, false],
                "  ",
                |r, c| match (r, c) {
                    (0, _) => s.bold,
                    (r, 2) if deltas[r - 1] > 0.0 => s.red,
                    (r, 2) if deltas[r - 1] < 0.0 => s.green,
                    _ => "",
                },
                s.reset,
            ));
        }
        if let Some(allocations) = &scale.allocations {
            out.push_str(&super::allocations::terminal(allocations));
        }
        if let Some(frames) = &scale.frames {
            out.push_str(&frames_table(frames, &s));
        }
        for file in &scale.files {
            let path = dir.map_or(file.clone(), |d| format!("{d}/{file}"));
            let _ = writeln!(
                out,
                "  {} differential flamegraph (red grew, blue shrank): {path}",
                svg_kind(file)
            );
        }
    }
    out.push('\n');
    out.push_str(&gate_line(report, &s, enforced));
    out
}

/// How many frames changed beyond the runs' spread, and the largest.
fn frames_table(frames: &super::frames::FrameTest, s: &Style) -> String {
    let mut out = format!("\n  Frames that changed: {}.\n", frames.summary());
    let mut rows =
        vec![["function", "share A", "share B", "Δ points", "p (adjusted)"].map(String::from)];
    rows.extend(frames.rows(5));
    if rows.len() > 1 {
        out.push_str(&aligned(
            &rows,
            &[false, true, true, true, true],
            "  ",
            |r, _| if r == 0 { s.bold } else { "" },
            s.reset,
        ));
    }
    out
}

fn gate_line(report: &CompareReport, s: &Style, enforced: bool) -> String {
    let counter = match report.gate.counter {
        Counter::Time => "timings and metrics",
        Counter::Instructions => "exact counts",
    };
    let warnings = report.gate.inconclusive_warnings();
    if let Some(why) = &report.gate.undecided {
        format!("{}gate: UNDECIDED{} — {why}\n", s.red, s.reset)
    } else if report.gate.passed && warnings.is_empty() {
        format!(
            "{}gate: pass{} ({counter}: no significant regression beyond its threshold)\n",
            s.green, s.reset
        )
    } else if report.gate.passed {
        format!(
            "{}gate: pass, with warnings{} ({counter}: no significant regression; --fail-on-inconclusive fails on these) — {}\n",
            s.yellow,
            s.reset,
            warnings.join("; ")
        )
    } else if report.gate.failures.is_empty() {
        format!(
            "{}{}gate: FAIL{} (--fail-on-inconclusive) — {}\n",
            s.bold,
            s.red,
            s.reset,
            warnings.join("; ")
        )
    } else {
        let list: Vec<String> = report.gate.failures.iter().map(failure_text).collect();
        if enforced {
            format!(
                "{}{}gate: FAIL{} — {}\n",
                s.bold,
                s.red,
                s.reset,
                list.join("; ")
            )
        } else {
            format!(
                "{}gate: would fail{} (run with --fail-on-regression to enforce) — {}\n",
                s.yellow,
                s.reset,
                list.join("; ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compare::fixtures::*;

    #[test]
    fn terminal_colour_only_when_asked() {
        let a = scale(&WALL, &RPS, "0");
        let b = scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5");
        let report = report_of(&a, &b, Counter::Time);
        let plain = render_terminal(&report, Some("results/compare-a-vs-b"), false, true);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(
            plain.contains("gate: FAIL — wall_s +150.4 % (limit 5 %)"),
            "{plain}"
        );
        // Without --fail-on-regression the exit status is 0: no "FAIL".
        let advisory = render_terminal(&report, None, false, false);
        assert!(
            advisory.contains(
                "gate: would fail (run with --fail-on-regression to enforce) — wall_s +150.4 %"
            ),
            "{advisory}"
        );
        assert!(!advisory.contains("FAIL"), "{advisory}");
        let lines: Vec<&str> = plain
            .lines()
            .filter(|l| {
                l.trim_start().starts_with("wall_s") || l.trim_start().starts_with("measure")
            })
            .collect();
        // Columns line up: "change" header ends where the wall_s change ends.
        let column_end = |line: &str, text: &str| {
            line[..line.find(text).unwrap() + text.len()]
                .chars()
                .count()
        };
        let header_end = column_end(lines[0], "change");
        let value_end = column_end(lines[1], "+150.4 %");
        assert_eq!(header_end, value_end, "{plain}");
        let coloured = render_terminal(&report, None, true, true);
        assert!(coloured.contains("\x1b[31mregressed"), "{coloured}");
        assert!(coloured.contains("\x1b[0m"));
    }
}
