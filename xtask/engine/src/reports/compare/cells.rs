//! The text both renderers share: a measure's row (A, B, change, interval,
//! p, verdict) and a function's row as cells, a gate failure and a
//! flamegraph's kind as words. `terminal` and `markdown` lay them out.

use super::gate::GateFailure;
use super::model::{MeasureComparison, Outcome, MEMORY_DIFF_SVG};
use crate::reports::functions::FunctionChange;
use crate::reports::markdown::format_value;
use crate::stats::{self, Verdict};

pub(super) fn verdict_text(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Improved => "improved",
        Verdict::Regressed => "regressed",
        Verdict::NoChange => "no_change",
        Verdict::Inconclusive => "inconclusive",
    }
}

/// What a sampled comparison could see, for its verdict cell: the
/// smallest detectable change, and for an inconclusive one the runs a side
/// that would see the measure's limit.
fn sampled_verdict(c: &stats::Comparison, limit_pct: f64) -> String {
    let word = verdict_text(c.verdict);
    let sees = c.mde_pct.map(|mde| format!("sees ±{mde:.1} %"));
    match (c.verdict, sees) {
        (Verdict::Inconclusive, None) => {
            format!(
                "{word} ({} vs {} runs: too few to see any change)",
                c.a.n, c.b.n
            )
        }
        (Verdict::Inconclusive, Some(sees)) => match c.runs_needed {
            Some(n) => format!("{word} ({sees}; ~{n} runs a side for ±{limit_pct} %)"),
            None => format!("{word} ({sees})"),
        },
        (Verdict::NoChange, Some(sees)) => format!("{word} ({sees})"),
        _ => word.to_string(),
    }
}

pub(super) fn pct(fraction: f64) -> String {
    format!("{:+.1} %", fraction * 100.0)
}

/// `136.8 ms ± 1.8 %`: median and coefficient of variation.
pub(super) fn centre(summary: &stats::Summary, unit: &str) -> String {
    if summary.n == 0 {
        return "—".into();
    }
    if summary.n == 1 {
        return format_value(summary.median, unit);
    }
    format!(
        "{} ± {:.1} %",
        format_value(summary.median, unit),
        summary.cv * 100.0
    )
}

/// The cells of one measure's row: name, A, B, change, CI, p, verdict.
pub(super) fn measure_cells(m: &MeasureComparison) -> [String; 7] {
    let name = match (m.gated, &m.not_gated_because) {
        (true, _) => m.name.clone(),
        (false, Some(why)) => format!("{} (not gated: {why})", m.name),
        (false, None) => format!("{} (not gated)", m.name),
    };
    match &m.outcome {
        Outcome::Sampled(c) => {
            let enough = c.a.n.min(c.b.n) >= 2;
            [
                name,
                centre(&c.a, &m.unit),
                centre(&c.b, &m.unit),
                if enough { pct(c.change) } else { "—".into() },
                if enough {
                    format!("[{}, {}]", pct(c.ci_low), pct(c.ci_high))
                } else {
                    "—".into()
                },
                if !enough {
                    "—".into()
                } else if c.p_value < 0.001 {
                    "<0.001".into()
                } else {
                    format!("{:.3}", c.p_value)
                },
                sampled_verdict(c, m.limit_pct),
            ]
        }
        Outcome::Exact(e) => [
            name,
            format_value(e.a, &m.unit),
            format_value(e.b, &m.unit),
            pct(e.change),
            format!("exact, limit ±{} %", m.limit_pct),
            "—".into(),
            verdict_text(e.verdict).to_string(),
        ],
    }
}

pub(super) fn function_cells(f: &FunctionChange) -> [String; 7] {
    [
        format!("{:.1} %", f.self_before),
        format!("{:.1} %", f.self_after),
        format!("{:+.1}", f.self_delta()),
        format!("{:.1} %", f.total_before),
        format!("{:.1} %", f.total_after),
        format!("{:+.1}", f.total_after - f.total_before),
        f.name.clone(),
    ]
}

/// "CPU" or "Memory", from a differential flamegraph's file name.
pub(super) fn svg_kind(file: &str) -> &'static str {
    if file.ends_with(MEMORY_DIFF_SVG) {
        "Memory"
    } else {
        "CPU"
    }
}

pub(super) fn failure_text(f: &GateFailure) -> String {
    let scale = if f.scale == "default" {
        String::new()
    } else {
        format!("[{}] ", f.scale)
    };
    format!(
        "{scale}{} {:+.1} % (limit {} %)",
        f.measure, f.change_pct, f.limit_pct
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compare::fixtures::*;
    use crate::reports::compare::model::{compare_scale, Counter};

    #[test]
    fn too_few_runs_say_so_in_the_verdict_cell() {
        let a = scale(&WALL[..2], &RPS[..2], "0");
        let b = scale(&slower(&WALL[..2], 3.0), &RPS[..2], "0");
        let m = &compare_scale(&a, &b, &settings(), Counter::Time).measures[0];
        assert!(
            measure_cells(m)[6].contains("inconclusive (2 vs 2 runs: too few"),
            "{m:?}"
        );
    }
}
