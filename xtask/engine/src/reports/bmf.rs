//! Bencher Metric Format (BMF) JSON, for continuous benchmarking with
//! `bencher run --adapter json --file FILE`.
//!
//! The documented shape: `{ "<benchmark>": { "<measure>": { "value": x,
//! "lower_value": y, "upper_value": z } } }`, `value` required, the bounds
//! optional; a benchmark name is at most 1024 characters, a measure slug at
//! most 64. Bencher's built-in measures are `latency` (nanoseconds) and
//! `throughput` (operations per second); other slugs create measures.
//!
//! Our mapping, per scale (benchmark `workload`, or `workload/scale` for a
//! named scale): value = median, lower = min, upper = max of the runs;
//! - `wall_s` → `latency` in nanoseconds; `user_s`, `sys_s` → `user-time`,
//!   `system-time` in nanoseconds; `max_rss_bytes` → `max-rss` in bytes;
//! - the first higher-is-better metric in a per-second unit → `throughput`;
//! - any other metric → its name as a slug (`p99_latency` → `p99-latency`),
//!   in its own unit.

use crate::config::Better;
use crate::results::record::{MeasureSummary, RunRecord};
use serde::Serialize;
use std::collections::BTreeMap;

pub const MAX_BENCHMARK_NAME: usize = 1024;
pub const MAX_MEASURE_SLUG: usize = 64;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Metric {
    pub value: f64,
    pub lower_value: f64,
    pub upper_value: f64,
}

pub type Bmf = BTreeMap<String, BTreeMap<String, Metric>>;

/// `p99_latency` → `p99-latency`: lower case letters, digits and `-`.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    let mut out = out.trim_end_matches('-').to_string();
    out.truncate(MAX_MEASURE_SLUG);
    if out.is_empty() {
        "metric".into()
    } else {
        out
    }
}

pub fn benchmark_name(workload: &str, scale: &str) -> String {
    let mut name = if scale == "default" {
        workload.to_string()
    } else {
        format!("{workload}/{scale}")
    };
    name.truncate(MAX_BENCHMARK_NAME);
    name
}

fn metric(m: &MeasureSummary, factor: f64) -> Option<Metric> {
    let s = &m.summary;
    let metric = Metric {
        value: s.median * factor,
        lower_value: s.min * factor,
        upper_value: s.max * factor,
    };
    // JSON has no NaN or infinity: such a measure cannot be reported.
    [metric.value, metric.lower_value, metric.upper_value]
        .iter()
        .all(|v| v.is_finite())
        .then_some(metric)
}

/// The BMF document of a result: one benchmark per scale.
pub fn from_record(record: &RunRecord) -> Bmf {
    let mut out = Bmf::new();
    for scale in &record.scales {
        let mut measures = BTreeMap::new();
        let mut throughput_taken = false;
        for (name, m) in crate::results::series::ordered_measures(&scale.summaries) {
            let (slug, factor) = match name.as_str() {
                "wall_s" => ("latency".to_string(), 1e9),
                "user_s" => ("user-time".to_string(), 1e9),
                "sys_s" => ("system-time".to_string(), 1e9),
                "max_rss_bytes" => ("max-rss".to_string(), 1.0),
                _ if !throughput_taken && m.better == Better::Higher && m.unit.ends_with("/s") => {
                    throughput_taken = true;
                    ("throughput".to_string(), 1.0)
                }
                other => (slug(other), 1.0),
            };
            // A metric whose slug collides with a built-in one keeps its own name.
            let slug = if measures.contains_key(&slug) {
                crate::reports::bmf::slug(&format!("metric-{name}"))
            } else {
                slug
            };
            if let Some(metric) = metric(m, factor) {
                measures.insert(slug, metric);
            }
        }
        if !measures.is_empty() {
            out.insert(benchmark_name(&record.workload, &scale.scale), measures);
        }
    }
    out
}

pub fn to_json(bmf: &Bmf) -> String {
    let mut text = serde_json::to_string_pretty(bmf).expect("BMF values are finite numbers");
    text.push('\n');
    text
}

/// Checks a JSON document against Bencher's published BMF schema (an
/// object of benchmarks, each an object of measures, each an object with a
/// numeric `value` and optional numeric `lower_value`/`upper_value`) and its
/// documented name limits. Returns what is wrong.
pub fn validate(json: &serde_json::Value) -> Result<(), String> {
    let benchmarks = json
        .as_object()
        .ok_or("the document is not a JSON object")?;
    for (benchmark, measures) in benchmarks {
        if benchmark.is_empty() || benchmark.chars().count() > MAX_BENCHMARK_NAME {
            return Err(format!(
                "benchmark name `{benchmark}` is empty or longer than {MAX_BENCHMARK_NAME}"
            ));
        }
        let measures = measures
            .as_object()
            .ok_or(format!("benchmark `{benchmark}` is not an object"))?;
        for (measure, metric) in measures {
            if measure.is_empty() || measure.chars().count() > MAX_MEASURE_SLUG {
                return Err(format!(
                    "measure `{measure}` is empty or longer than {MAX_MEASURE_SLUG}"
                ));
            }
            let metric = metric
                .as_object()
                .ok_or(format!("{benchmark}/{measure} is not an object"))?;
            if !metric.get("value").is_some_and(|v| v.is_number()) {
                return Err(format!("{benchmark}/{measure} has no numeric `value`"));
            }
            for (key, value) in metric {
                if !["value", "lower_value", "upper_value"].contains(&key.as_str()) {
                    return Err(format!("{benchmark}/{measure} has an unknown key `{key}`"));
                }
                if !value.is_number() {
                    return Err(format!("{benchmark}/{measure}/{key} is not a number"));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::synthetic;

    #[test]
    fn a_result_becomes_documented_bmf_with_latency_in_nanoseconds() {
        let wall: &[f64] = &[0.05, 0.07, 0.06];
        let rate: &[f64] = &[1.5e6, 1.4e6, 1.6e6];
        let rss: &[f64] = &[5e6, 5.2e6, 5.1e6];
        let p99: &[f64] = &[120.0, 130.0, 125.0];
        let mut record = synthetic::record(
            "b",
            "2026-01-01T00:00:00Z",
            &[
                ("wall_s", "s", wall),
                ("records_per_sec", "records/s", rate),
                ("max_rss_bytes", "B", rss),
                ("p99_latency", "µs", p99),
            ],
        );
        record
            .scales
            .push(synthetic::scale("1K", &[("wall_s", "s", wall)]));
        let bmf = from_record(&record);
        let json: serde_json::Value = serde_json::from_str(&to_json(&bmf)).unwrap();
        validate(&json).unwrap();
        assert_eq!(
            json.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["demo", "demo/1K"]
        );
        let demo = &json["demo"];
        let latency = &demo["latency"];
        assert!((latency["value"].as_f64().unwrap() - 0.06e9).abs() < 1e-3);
        assert!((latency["lower_value"].as_f64().unwrap() - 0.05e9).abs() < 1e-3);
        assert!((latency["upper_value"].as_f64().unwrap() - 0.07e9).abs() < 1e-3);
        assert_eq!(demo["throughput"]["value"].as_f64(), Some(1.5e6));
        assert_eq!(demo["throughput"]["lower_value"].as_f64(), Some(1.4e6));
        assert_eq!(demo["max-rss"]["upper_value"].as_f64(), Some(5.2e6));
        assert_eq!(demo["p99-latency"]["value"].as_f64(), Some(125.0));
        assert!(json["demo/1K"]["latency"].is_object());
    }

    #[test]
    fn the_validator_rejects_what_bencher_would() {
        let bad = [
            r#"[]"#,
            r#"{"b": 1}"#,
            r#"{"b": {"m": {"lower_value": 1}}}"#,
            r#"{"b": {"m": {"value": "1"}}}"#,
            r#"{"b": {"m": {"value": 1, "upper": 2}}}"#,
        ];
        for text in bad {
            assert!(
                validate(&serde_json::from_str(text).unwrap()).is_err(),
                "{text}"
            );
        }
        validate(&serde_json::from_str(r#"{"b": {"m": {"value": 1}}}"#).unwrap()).unwrap();
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("p99_latency"), "p99-latency");
        assert_eq!(slug("Records per Sec!"), "records-per-sec");
        assert_eq!(slug("__"), "metric");
        assert_eq!(slug(&"x".repeat(100)).len(), MAX_MEASURE_SLUG);
        assert_eq!(benchmark_name("demo", "default"), "demo");
        assert_eq!(benchmark_name("demo", "1M"), "demo/1M");
    }
}
