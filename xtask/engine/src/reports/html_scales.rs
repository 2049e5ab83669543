//! The results page's view across scales: for a result measured at several
//! scales (`scales[]` in run.json), one chart per measure with a point per
//! scale, placed at the value of the parameter that makes the scales
//! differ (on a log axis when the values span decades), its median and
//! min–max bar.

use crate::reports::chart::{self, escape, Chart, ChartPoint, XAxis};
use crate::reports::markdown::format_value;
use crate::results::inventory::{Item, Kind};
use crate::results::record::{RunRecord, ScaleRecord};
use std::fmt::Write as _;

/// The anchor of a result's charts across scales.
pub fn anchor(name: &str) -> String {
    format!("scales-{name}")
}

/// The headline cell of a multi-scale result: the first and last scales'
/// medians of `measure`, linked to its charts (None for one scale).
pub fn headline(name: &str, record: &RunRecord, measure: &str) -> Option<String> {
    let (first, last) = match record.scales.as_slice() {
        [first, .., last] => (first, last),
        _ => return None,
    };
    let value = |s: &ScaleRecord| {
        s.summaries
            .get(measure)
            .map(|m| format_value(m.summary.median, &m.unit))
            .unwrap_or_else(|| "—".into())
    };
    Some(format!(
        "{} ({}) … {} ({}) <a href=\"#{}\">{} scales</a>",
        escape(&value(first)),
        escape(&first.scale),
        escape(&value(last)),
        escape(&last.scale),
        escape(&anchor(name)),
        record.scales.len()
    ))
}

/// A number as a parameter holds it: `1000`, `2.5e6`, or `10K`, `10M`, `1G`.
fn number(text: &str) -> Option<f64> {
    let text = text.trim();
    let (digits, factor) = match text.chars().last()? {
        'k' | 'K' => (&text[..text.len() - 1], 1e3),
        'M' => (&text[..text.len() - 1], 1e6),
        'G' => (&text[..text.len() - 1], 1e9),
        _ => (text, 1.0),
    };
    digits
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v * factor)
}

/// The x axis of a result's scales: the one parameter whose values differ
/// between scales, when every scale gives it a number; log when they are
/// all positive and span two decades or more. None otherwise (the scales
/// are then drawn in their order, named).
pub fn axis(scales: &[ScaleRecord]) -> Option<XAxis> {
    let first = scales.first()?;
    let mut varying: Vec<&String> = scales
        .iter()
        .flat_map(|s| s.params.keys())
        .filter(|k| {
            scales
                .iter()
                .any(|s| s.params.get(*k) != first.params.get(*k))
        })
        .collect();
    varying.sort();
    varying.dedup();
    let [name] = varying.as_slice() else {
        return None;
    };
    let values: Vec<f64> = scales
        .iter()
        .map(|s| s.params.get(*name).and_then(|v| number(v)))
        .collect::<Option<_>>()?;
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    Some(XAxis {
        name: (*name).clone(),
        log: low > 0.0 && high / low >= 100.0,
        values,
    })
}

/// One chart per measure that at least two of the scales have.
pub fn charts(record: &RunRecord) -> Vec<Chart> {
    let scales = &record.scales;
    let axis = axis(scales);
    let mut names: Vec<&String> = scales.iter().flat_map(|s| s.summaries.keys()).collect();
    names.sort_by_key(|n| (crate::config::measures::display_rank(n), n.as_str()));
    names.dedup();
    let mut out = Vec::new();
    for name in names {
        let present: Vec<usize> = (0..scales.len())
            .filter(|i| scales[*i].summaries.contains_key(name))
            .collect();
        if present.len() < 2 {
            continue;
        }
        let unit = scales[present[0]].summaries[name].unit.clone();
        let points = present
            .iter()
            .map(|i| {
                let s = &scales[*i];
                let m = &s.summaries[name];
                ChartPoint {
                    x_label: s.scale.clone(),
                    tooltip: format!(
                        "scale {} ({})\nmedian {} · min {} · max {} · {} runs",
                        s.scale,
                        crate::reports::markdown::format_params(&s.params),
                        format_value(m.summary.median, &m.unit),
                        format_value(m.summary.min, &m.unit),
                        format_value(m.summary.max, &m.unit),
                        m.summary.n
                    ),
                    median: m.summary.median,
                    min: m.summary.min,
                    max: m.summary.max,
                }
            })
            .collect();
        let better = match scales[present[0]].summaries[name].better {
            crate::config::Better::Higher => "higher",
            crate::config::Better::Lower => "lower",
        };
        out.push(Chart {
            title: name.clone(),
            subtitle: format!(
                "{} · across {} scales · {better} is better",
                record.what_ran(),
                present.len()
            ),
            unit,
            points,
            shifts: Vec::new(),
            x_axis: axis.as_ref().map(|a| XAxis {
                values: present.iter().map(|i| a.values[*i]).collect(),
                ..a.clone()
            }),
        });
    }
    out
}

/// The section: each multi-scale result under its name, its charts in a
/// grid. Nothing when no result has several scales.
pub fn section(out: &mut String, results: &[&Item]) {
    let several: Vec<(&Item, &RunRecord)> = results
        .iter()
        .filter_map(|item| match &item.kind {
            Kind::Result(entry) if entry.record.scales.len() > 1 => Some((*item, &entry.record)),
            _ => None,
        })
        .collect();
    if several.is_empty() {
        return;
    }
    out.push_str("<section id=\"scales\"><h2>Across scales</h2>\n");
    let _ = writeln!(
        out,
        "<p class=\"legend\">{}. One chart per measure of each result measured at several scales.</p>",
        escape(chart::LEGEND)
    );
    for (item, record) in several {
        let _ = writeln!(
            out,
            "<h3 id=\"{}\"><a href=\"{}/README.md\">{}</a></h3>\n<div class=\"charts scales\">",
            escape(&anchor(&item.name)),
            escape(&item.name),
            escape(&item.name)
        );
        for c in charts(record) {
            out.push_str(&chart::render(&c, 0.0, 0.0));
        }
        out.push_str("</div>\n");
    }
    out.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::synthetic;

    fn record(subs: &[&str]) -> RunRecord {
        let mut record = synthetic::record("r", "2026-01-01T00:00:00Z", &[]);
        record.scales = subs
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let base = 0.01 * (i + 1) as f64;
                let mut scale = synthetic::scale(
                    &format!("s{i}"),
                    &[("wall_s", "s", &[base, base * 1.1, base * 0.9])],
                );
                scale.params.insert("subs".into(), s.to_string());
                scale
            })
            .collect();
        record
    }

    #[test]
    fn the_parameter_that_differs_is_the_axis_log_when_it_spans_decades() {
        let axis = axis(&record(&["1000", "10K", "1e7"]).scales).unwrap();
        assert_eq!(axis.name, "subs");
        assert_eq!(axis.values, vec![1e3, 1e4, 1e7]);
        assert!(axis.log);
        assert!(
            !super::axis(&record(&["10", "20", "40"]).scales)
                .unwrap()
                .log
        );
        assert!(super::axis(&record(&["small", "big"]).scales).is_none());
        let mut two_vary = record(&["1", "2"]);
        two_vary.scales[1]
            .params
            .insert("threads".into(), "8".into());
        assert!(super::axis(&two_vary.scales).is_none());
    }

    #[test]
    fn a_chart_per_measure_with_a_point_per_scale() {
        let record = record(&["1000", "10000", "10000000"]);
        let charts = charts(&record);
        assert_eq!(charts.len(), 1);
        let c = &charts[0];
        assert_eq!(c.title, "wall_s");
        assert_eq!(c.points.len(), 3);
        assert_eq!(c.points[2].x_label, "s2");
        assert!((c.points[2].median - 0.03).abs() < 1e-12);
        assert!(c.x_axis.as_ref().unwrap().log);
        let mut out = String::new();
        let item = Item {
            name: "20260101-r<x>".into(),
            path: "/nowhere".into(),
            kind: Kind::Result(Box::new(crate::results::Entry {
                dir: "/nowhere".into(),
                name: "20260101-r<x>".into(),
                record: record.clone(),
            })),
            modified: None,
        };
        section(&mut out, &[&item]);
        assert!(
            out.contains("<h3 id=\"scales-20260101-r&lt;x&gt;\">"),
            "{out}"
        );
        assert_eq!(out.matches("<svg class=\"chart\"").count(), 1);
        assert!(out.contains("subs (log scale)"));
        let one = headline("n", &record, "wall_s").unwrap();
        assert!(
            one.starts_with("10")
                && one.contains("(s0) … ")
                && one.contains("<a href=\"#scales-n\">3 scales</a>"),
            "{one}"
        );
        let mut single = record.clone();
        single.scales.truncate(1);
        assert!(headline("n", &single, "wall_s").is_none());
    }
}
