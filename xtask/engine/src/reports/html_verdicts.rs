//! A comparison's verdicts on the results page: the gate's outcome and, for
//! each scale and measure, the verdict with its change and interval, read
//! from the comparison's compare.json.
//!
//! The file is read as loose JSON, not as the model's types: a page of old
//! and new results must still draw when compare.json comes from another
//! version of the xtask, or is not a comparison at all (then it says so).

use crate::reports::chart::escape;
use crate::results::inventory::COMPARE_FILE;
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

/// The cells of a comparison's row: its sides (`A → B`), the gate's outcome
/// and its verdicts, as HTML `<td>`s.
pub fn cells(dir: &Path) -> String {
    let file = dir.join(COMPARE_FILE);
    let json = match std::fs::read_to_string(&file) {
        Ok(text) => serde_json::from_str::<Value>(&text).map_err(|e| e.to_string()),
        Err(e) => Err(e.to_string()),
    };
    let report = match json {
        Ok(report) if report["scales"].is_array() => report,
        Ok(_) => return unreadable("it holds no verdicts (not a comparison's compare.json)"),
        Err(e) => return unreadable(&format!("cannot read {COMPARE_FILE}: {e}")),
    };
    let side = |s: &str| {
        let side = &report[s];
        let label = side["label"].as_str().unwrap_or("?");
        match side["name"].as_str() {
            Some(name) => format!("<span title=\"{}\">{}</span>", escape(name), escape(label)),
            None => escape(label),
        }
    };
    format!(
        "<td>{} → {}</td><td>{}</td><td class=\"verdicts\">{}</td>",
        side("a"),
        side("b"),
        gate(&report["gate"]),
        verdicts(&report)
    )
}

fn unreadable(why: &str) -> String {
    format!(
        "<td>—</td><td>—</td><td class=\"verdicts empty\">{}</td>",
        escape(why)
    )
}

/// The gate's outcome as `tasks::compare` decides it: a failure, passed, or
/// why it could not decide.
fn gate(gate: &Value) -> String {
    let failures = gate["failures"].as_array().map_or(0, Vec::len);
    let (class, text, why) = if gate["passed"].as_bool() == Some(true) {
        ("pass", "gate passed".to_string(), String::new())
    } else if failures > 0 {
        (
            "regressed",
            format!("gate failed: {failures} regressed"),
            String::new(),
        )
    } else if let Some(why) = gate["undecided"].as_str() {
        (
            "inconclusive",
            "gate undecided".to_string(),
            why.to_string(),
        )
    } else if gate.is_object() {
        (
            "inconclusive",
            "gate inconclusive".to_string(),
            "a gated measure was inconclusive (--fail-on-inconclusive)".to_string(),
        )
    } else {
        (
            "inconclusive",
            "no gate recorded".to_string(),
            String::new(),
        )
    };
    let counter = gate["counter"]
        .as_str()
        .map(|c| format!(" <span class=\"meta\">({})</span>", escape(c)))
        .unwrap_or_default();
    format!(
        "<span class=\"verdict {class}\" title=\"{}\">{}</span>{counter}",
        escape(&why),
        escape(&text)
    )
}

/// One line per compared measure, grouped by scale where there are several.
fn verdicts(report: &Value) -> String {
    let scales = report["scales"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or(&[]);
    let mut out = String::from("<ul class=\"verdicts\">");
    let mut any = false;
    for scale in scales {
        let name = scale["scale"].as_str().unwrap_or("");
        let prefix = if scales.len() > 1 {
            format!("<span class=\"meta\">{}:</span> ", escape(name))
        } else {
            String::new()
        };
        for measure in scale["measures"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
        {
            any = true;
            let _ = write!(out, "<li>{prefix}{}</li>", measure_line(measure));
        }
    }
    out.push_str("</ul>");
    if any {
        out
    } else {
        "<span class=\"empty\">no measure compared</span>".into()
    }
}

/// `wall_s regressed +12.3 % [+8.1 %, +16.0 %]`: the verdict coloured, the
/// gate's failure marked, a measure the gate does not look at muted.
fn measure_line(measure: &Value) -> String {
    let name = measure["name"].as_str().unwrap_or("?");
    let verdict = measure["verdict"].as_str().unwrap_or("unknown");
    let class = match verdict {
        "regressed" => "regressed",
        "improved" => "improved",
        "no_change" => "no-change",
        _ => "inconclusive",
    };
    let pct = |v: &Value| v.as_f64().map(|v| format!("{:+.1} %", v * 100.0));
    let change = pct(&measure["change"]).unwrap_or_default();
    let interval = match (pct(&measure["ci_low"]), pct(&measure["ci_high"])) {
        (Some(low), Some(high)) => format!(" <span class=\"meta\">[{low}, {high}]</span>"),
        _ => String::new(),
    };
    let gate = if measure["gate_failed"].as_bool() == Some(true) {
        " <b class=\"state-bad\">fails the gate</b>"
    } else if measure["gated"].as_bool() == Some(false) {
        " <span class=\"meta\">(not gated)</span>"
    } else {
        ""
    };
    format!(
        "{} <span class=\"verdict {class}\">{}</span> {}{interval}{gate}",
        escape(name),
        escape(&verdict.replace('_', " ")),
        escape(&change)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(tag: &str, json: &str) -> std::path::PathBuf {
        let dir = crate::results::synthetic::temp_dir(&format!("html-verdicts-{tag}"));
        std::fs::write(dir.join(COMPARE_FILE), json).unwrap();
        dir
    }

    #[test]
    fn each_measure_shows_its_verdict_change_and_interval_coloured() {
        let dir = write(
            "all",
            r#"{"a": {"name": "20260101-r0", "label": "base"}, "b": {"name": "20260102-r1", "label": "<new>"},
            "gate": {"counter": "time", "passed": false, "failures": [{"measure": "wall_s"}], "strict": false},
            "scales": [{"scale": "default", "measures": [
              {"name": "wall_s", "method": "sampled", "verdict": "regressed", "change": 0.123, "ci_low": 0.081, "ci_high": 0.16, "gated": true, "gate_failed": true},
              {"name": "rate", "method": "sampled", "verdict": "no_change", "change": -0.004, "ci_low": -0.01, "ci_high": 0.003, "gated": false, "gate_failed": false},
              {"name": "instructions", "method": "exact", "verdict": "improved", "change": -0.2, "gated": true, "gate_failed": false}
            ]}]}"#,
        );
        let html = cells(&dir);
        assert!(
            html.contains("base</span> → <span title=\"20260102-r1\">&lt;new&gt;</span>"),
            "{html}"
        );
        assert!(
            html.contains("<span class=\"verdict regressed\" title=\"\">gate failed: 1 regressed</span> <span class=\"meta\">(time)</span>"),
            "{html}"
        );
        assert!(html.contains("<li>wall_s <span class=\"verdict regressed\">regressed</span> +12.3 % <span class=\"meta\">[+8.1 %, +16.0 %]</span> <b class=\"state-bad\">fails the gate</b></li>"), "{html}");
        assert!(html.contains("<li>rate <span class=\"verdict no-change\">no change</span> -0.4 % <span class=\"meta\">[-1.0 %, +0.3 %]</span> <span class=\"meta\">(not gated)</span></li>"), "{html}");
        assert!(
            html.contains(
                "<li>instructions <span class=\"verdict improved\">improved</span> -20.0 %</li>"
            ),
            "{html}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_gate_passed_undecided_or_unreadable_says_so() {
        let dir = write(
            "pass",
            r#"{"a": {}, "b": {}, "gate": {"passed": true, "failures": []}, "scales": []}"#,
        );
        let html = cells(&dir);
        assert!(
            html.contains("verdict pass\" title=\"\">gate passed<"),
            "{html}"
        );
        assert!(html.contains("no measure compared"), "{html}");
        let dir2 = write(
            "undecided",
            r#"{"gate": {"passed": false, "failures": [], "undecided": "too few runs <3>"}, "scales": [{"scale": "1K", "measures": [{"name": "wall_s", "verdict": "inconclusive"}]}, {"scale": "10K", "measures": []}]}"#,
        );
        let html = cells(&dir2);
        assert!(
            html.contains("title=\"too few runs &lt;3&gt;\">gate undecided<"),
            "{html}"
        );
        assert!(html.contains("<span class=\"meta\">1K:</span> wall_s <span class=\"verdict inconclusive\">inconclusive</span>"), "{html}");
        let dir3 = write("other", "{\"verdict\":\"slower\"}");
        assert!(cells(&dir3).contains("it holds no verdicts"));
        let dir4 = write("broken", "{not json");
        assert!(
            cells(&dir4).contains("cannot read compare.json: key must be a string"),
            "{}",
            cells(&dir4)
        );
        for d in [dir, dir2, dir3, dir4] {
            std::fs::remove_dir_all(&d).unwrap();
        }
    }
}
