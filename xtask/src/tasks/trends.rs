//! `cargo xtask trends`: each measure across results in time order, with
//! the change from the previous result and from the first; `--export-csv`
//! writes the same numbers in long format, `--plot` draws them.

use crate::config::{Better, Config};
use crate::reports::chart::{self, Chart, ChartPoint};
use crate::reports::markdown::format_value;
use crate::results::record::short_hash;
use crate::results::record::MeasureSummary;
use crate::results::{Entry, Store};
use crate::stats::Summary;
use crate::tasks::pins::render_columns;
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Only this measure (`wall_s`, `user_s`, `sys_s`, `max_rss_bytes` or a metric's name).
    #[arg(long, value_name = "MEASURE")]
    pub metric: Option<String>,
    /// Only results of this workload.
    #[arg(long)]
    pub workload: Option<String>,
    /// Only this scale (`default` for results made without --scale).
    #[arg(long)]
    pub scale: Option<String>,
    /// Only the newest N results.
    #[arg(long, value_name = "N")]
    pub last: Option<usize>,
    /// Also write every number as CSV, one row per result and measure.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// Also draw one chart per measure into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

/// Which results and measures to follow.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub metric: Option<String>,
    pub workload: Option<String>,
    pub scale: Option<String>,
    pub last: Option<usize>,
}

/// One result's numbers for one measure.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesPoint {
    pub created: String,
    pub dir: String,
    pub label: String,
    pub commit: Option<String>,
    pub summary: Summary,
}

/// A measure of a workload and scale across results, oldest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub workload: String,
    pub scale: String,
    pub measure: String,
    pub unit: String,
    pub better: Better,
    pub points: Vec<SeriesPoint>,
}

impl Series {
    /// Percent change of point `i`'s median from the previous point's and
    /// from the first point's (none where there is nothing to compare, or
    /// the reference is 0).
    pub fn changes(&self, i: usize) -> (Option<f64>, Option<f64>) {
        let pct = |reference: f64, value: f64| {
            (reference != 0.0).then(|| (value - reference) / reference.abs() * 100.0)
        };
        let value = self.points[i].summary.median;
        let previous = (i > 0)
            .then(|| pct(self.points[i - 1].summary.median, value))
            .flatten();
        let first = (i > 0)
            .then(|| pct(self.points[0].summary.median, value))
            .flatten();
        (previous, first)
    }

    pub fn title(&self) -> String {
        format!(
            "{} · {}{}",
            self.measure,
            self.workload,
            if self.scale == "default" {
                String::new()
            } else {
                format!(" · {}", self.scale)
            }
        )
    }

    pub fn chart(&self) -> Chart {
        // Minutes suffice unless two results share one: then seconds too.
        let mut labels: Vec<String> = self
            .points
            .iter()
            .map(|p| short_time(&p.created, false))
            .collect();
        if labels.windows(2).any(|w| w[0] == w[1]) {
            labels = self
                .points
                .iter()
                .map(|p| short_time(&p.created, true))
                .collect();
        }
        let mut labels = labels.into_iter();
        Chart {
            title: self.measure.clone(),
            subtitle: format!(
                "{} · scale {} · {} is better · {} results",
                self.workload,
                self.scale,
                match self.better {
                    Better::Higher => "higher",
                    Better::Lower => "lower",
                },
                self.points.len()
            ),
            unit: self.unit.clone(),
            points: self
                .points
                .iter()
                .map(|p| ChartPoint {
                    x_label: labels.next().unwrap_or_default(),
                    tooltip: format!(
                        "{} ({})\nmedian {} · min {} · max {} · ± {} · {} runs",
                        p.dir,
                        p.created,
                        format_value(p.summary.median, &self.unit),
                        format_value(p.summary.min, &self.unit),
                        format_value(p.summary.max, &self.unit),
                        format_value(p.summary.stddev, &self.unit),
                        p.summary.n
                    ),
                    median: p.summary.median,
                    min: p.summary.min,
                    max: p.summary.max,
                })
                .collect(),
        }
    }
}

/// `2026-11-22T04:05:06Z` → `11-22 04:05` (or `11-22 04:05:06`).
fn short_time(created: &str, seconds: bool) -> String {
    match (
        created.get(5..10),
        created.get(11..if seconds { 19 } else { 16 }),
    ) {
        (Some(day), Some(time)) => format!("{day} {time}"),
        _ => created.to_string(),
    }
}

/// Time first, then RSS, then the workload's metrics by name: the order of
/// the timing table.
pub fn ordered_measures(
    summaries: &BTreeMap<String, MeasureSummary>,
) -> Vec<(&String, &MeasureSummary)> {
    const ORDER: [&str; 4] = ["wall_s", "user_s", "sys_s", "max_rss_bytes"];
    let mut measures: Vec<_> = summaries.iter().collect();
    measures.sort_by_key(|(name, _)| {
        (
            ORDER.iter().position(|o| o == name).unwrap_or(ORDER.len()),
            name.as_str(),
        )
    });
    measures
}

/// The series of `entries` (oldest first, as `Store::list` gives them).
pub fn collect(entries: &[Entry], filter: &Filter) -> Vec<Series> {
    let chosen: Vec<&Entry> = entries
        .iter()
        .filter(|e| {
            filter
                .workload
                .as_ref()
                .is_none_or(|w| &e.record.workload == w)
        })
        .filter(|e| {
            filter
                .scale
                .as_ref()
                .is_none_or(|s| e.record.scales.iter().any(|sc| &sc.scale == s))
        })
        .collect();
    let skip = filter.last.map_or(0, |n| chosen.len().saturating_sub(n));
    // Keyed by workload, scale and measure, in order of first appearance,
    // so that charts come out in a stable, readable order.
    let mut series: Vec<Series> = Vec::new();
    for entry in &chosen[skip..] {
        let record = &entry.record;
        for scale in &record.scales {
            if filter.scale.as_ref().is_some_and(|s| &scale.scale != s) {
                continue;
            }
            for (measure, m) in ordered_measures(&scale.summaries) {
                if filter.metric.as_ref().is_some_and(|want| want != measure) {
                    continue;
                }
                let point = SeriesPoint {
                    created: record.created.clone(),
                    dir: entry.name.clone(),
                    label: record.label.clone(),
                    commit: record.git.commit.clone(),
                    summary: m.summary.clone(),
                };
                let found = series.iter_mut().find(|s| {
                    s.workload == record.workload
                        && s.scale == scale.scale
                        && &s.measure == measure
                        && s.unit == m.unit
                });
                match found {
                    Some(s) => s.points.push(point),
                    None => series.push(Series {
                        workload: record.workload.clone(),
                        scale: scale.scale.clone(),
                        measure: measure.clone(),
                        unit: m.unit.clone(),
                        better: m.better,
                        points: vec![point],
                    }),
                }
            }
        }
    }
    let rank = |s: &Series| {
        const ORDER: [&str; 4] = ["wall_s", "user_s", "sys_s", "max_rss_bytes"];
        ORDER
            .iter()
            .position(|o| *o == s.measure)
            .unwrap_or(ORDER.len())
    };
    // Stable: workloads and scales keep their first-appearance order.
    let workloads: Vec<String> = dedup(series.iter().map(|s| s.workload.clone()));
    let scales: Vec<String> = dedup(series.iter().map(|s| s.scale.clone()));
    series.sort_by_key(|s| {
        (
            workloads.iter().position(|w| *w == s.workload),
            scales.iter().position(|x| *x == s.scale),
            rank(s),
            s.measure.clone(),
        )
    });
    series
}

fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

fn percent(change: Option<f64>) -> String {
    change.map_or_else(|| "—".to_string(), |c| format!("{c:+.1} %"))
}

/// The text `trends` prints: a table per series.
pub fn render_text(series: &[Series]) -> String {
    let mut out = String::new();
    for s in series {
        out.push_str(&format!(
            "\n{} ({}, {} is better)\n",
            s.title(),
            s.unit,
            if s.better == Better::Higher {
                "higher"
            } else {
                "lower"
            }
        ));
        let mut rows = vec![[
            "created",
            "dir",
            "label",
            "commit",
            "median",
            "± stddev",
            "min … max",
            "n",
            "vs previous",
            "vs first",
        ]
        .iter()
        .map(|c| c.to_string())
        .collect::<Vec<_>>()];
        for (i, p) in s.points.iter().enumerate() {
            let (previous, first) = s.changes(i);
            rows.push(vec![
                p.created.clone(),
                p.dir.clone(),
                p.label.clone(),
                p.commit
                    .as_deref()
                    .map_or("—".into(), |c| short_hash(c).to_string()),
                format_value(p.summary.median, &s.unit),
                format_value(p.summary.stddev, &s.unit),
                format!(
                    "{} … {}",
                    format_value(p.summary.min, &s.unit),
                    format_value(p.summary.max, &s.unit)
                ),
                p.summary.n.to_string(),
                percent(previous),
                percent(first),
            ]);
        }
        for line in render_columns(&rows).lines() {
            out.push_str("  ");
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

pub fn run(config: &Config, args: &Args) -> anyhow::Result<u8> {
    let store = Store::new(config.results_dir());
    let entries = store.list()?;
    if entries.is_empty() {
        bail!(
            "no results in {} yet: run `cargo xtask profile-baseline` a few times",
            store.dir.display()
        );
    }
    let filter = Filter {
        metric: args.metric.clone(),
        workload: args.workload.clone(),
        scale: args.scale.clone(),
        last: args.last,
    };
    let series = collect(&entries, &filter);
    if series.is_empty() {
        let everything = collect(&entries, &Filter::default());
        let measures = dedup(everything.iter().map(|s| s.measure.clone()));
        let workloads = dedup(everything.iter().map(|s| s.workload.clone()));
        let scales = dedup(everything.iter().map(|s| s.scale.clone()));
        bail!(
            "no results match (measures: {}; workloads: {}; scales: {})",
            measures.join(", "),
            workloads.join(", "),
            scales.join(", ")
        );
    }
    print!("{}", render_text(&series));
    if let Some(path) = &args.export_csv {
        std::fs::write(path, crate::reports::csv::trends(&series))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("\ncsv: {}", path.display());
    }
    if let Some(path) = &args.plot {
        let charts: Vec<Chart> = series.iter().map(Series::chart).collect();
        let title = format!(
            "Trends of {} ({} results)",
            store.dir.display(),
            series.iter().map(|s| s.points.len()).max().unwrap_or(0)
        );
        std::fs::write(path, chart::render_file(&title, &charts, 2))
            .with_context(|| format!("cannot write {}", path.display()))?;
        println!("plot: {}", path.display());
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::synthetic;

    /// Three results of `demo`, the middle one slower, plus one of another workload.
    fn entries() -> Vec<Entry> {
        let runs: [(&str, &str, &[f64], &[f64]); 3] = [
            (
                "first",
                "2026-01-01T00:00:00Z",
                &[0.10, 0.12, 0.11],
                &[1000.0, 900.0, 950.0],
            ),
            (
                "second",
                "2026-01-02T00:00:00Z",
                &[0.20, 0.22, 0.21, 0.25],
                &[500.0, 450.0, 470.0, 480.0],
            ),
            (
                "third",
                "2026-01-03T00:00:00Z",
                &[0.15, 0.16, 0.14],
                &[700.0, 720.0, 710.0],
            ),
        ];
        let mut entries: Vec<Entry> = runs
            .iter()
            .map(|(label, created, wall, rate)| Entry {
                dir: PathBuf::from(format!("/r/{label}")),
                name: format!("{}-{label}", &created[..10]),
                record: synthetic::record(
                    label,
                    created,
                    &[
                        ("wall_s", "s", wall),
                        ("records_per_sec", "records/s", rate),
                    ],
                ),
            })
            .collect();
        let mut other = synthetic::record(
            "svc",
            "2026-01-02T12:00:00Z",
            &[("wall_s", "s", &[3.0, 3.0])],
        );
        other.workload = "service".into();
        entries.insert(
            2,
            Entry {
                dir: "/r/svc".into(),
                name: "svc".into(),
                record: other,
            },
        );
        entries
    }

    #[test]
    fn series_follow_each_measure_in_time_order_with_its_summaries() {
        let entries = entries();
        let series = collect(&entries, &Filter::default());
        let names: Vec<(&str, &str)> = series
            .iter()
            .map(|s| (s.workload.as_str(), s.measure.as_str()))
            .collect();
        assert_eq!(
            names,
            vec![
                ("demo", "wall_s"),
                ("demo", "records_per_sec"),
                ("service", "wall_s")
            ]
        );
        let wall = &series[0];
        assert_eq!(
            wall.points
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>(),
            ["first", "second", "third"]
        );
        for point in &wall.points {
            let entry = entries.iter().find(|e| e.name == point.dir).unwrap();
            assert_eq!(
                point.summary,
                entry.record.scales[0].summaries["wall_s"].summary
            );
        }
        assert_eq!(wall.points[1].summary.median, 0.215);
        assert_eq!(wall.points[1].summary.n, 4);
    }

    #[test]
    fn changes_are_from_the_previous_and_the_first_median() {
        let series = collect(
            &entries(),
            &Filter {
                workload: Some("demo".into()),
                ..Filter::default()
            },
        );
        let wall = &series[0];
        assert_eq!(wall.changes(0), (None, None));
        let (previous, first) = wall.changes(1);
        assert!((previous.unwrap() - (0.215 - 0.11) / 0.11 * 100.0).abs() < 1e-9);
        assert!(
            (first.unwrap() - previous.unwrap()).abs() < 1e-9,
            "the second point's previous is the first"
        );
        let (previous, first) = wall.changes(2);
        assert!((previous.unwrap() - (0.15 - 0.215) / 0.215 * 100.0).abs() < 1e-9);
        assert!((first.unwrap() - (0.15 - 0.11) / 0.11 * 100.0).abs() < 1e-9);
        let text = render_text(&series);
        assert!(text.contains("+95.5 %"), "{text}");
        assert!(text.contains("-30.2 %"), "{text}");
        assert!(text.contains("+36.4 %"), "{text}");
    }

    #[test]
    fn filters_pick_measures_workloads_and_the_newest_results() {
        let entries = entries();
        let only = collect(
            &entries,
            &Filter {
                metric: Some("records_per_sec".into()),
                ..Filter::default()
            },
        );
        assert_eq!(only.len(), 1);
        assert_eq!(only[0].points.len(), 3);
        let last = collect(
            &entries,
            &Filter {
                workload: Some("demo".into()),
                last: Some(2),
                ..Filter::default()
            },
        );
        assert_eq!(
            last[0]
                .points
                .iter()
                .map(|p| p.label.as_str())
                .collect::<Vec<_>>(),
            ["second", "third"]
        );
        assert!(collect(
            &entries,
            &Filter {
                scale: Some("1M".into()),
                ..Filter::default()
            }
        )
        .is_empty());
    }

    #[test]
    fn the_csv_export_has_one_row_per_result_and_measure_with_exact_numbers() {
        let entries = entries();
        let series = collect(&entries, &Filter::default());
        let rows = crate::reports::csv::parse(&crate::reports::csv::trends(&series));
        assert_eq!(rows[0], crate::reports::csv::TRENDS_HEADER);
        assert_eq!(rows.len(), 1 + 3 + 3 + 1);
        for row in &rows[1..] {
            let entry = entries.iter().find(|e| e.name == row[1]).unwrap();
            let m = &entry.record.scales[0].summaries[&row[6]];
            assert_eq!(row[0], entry.record.created);
            assert_eq!(row[2], entry.record.label);
            assert_eq!(row[3], entry.record.workload);
            assert_eq!(row[4], "default");
            assert_eq!(Some(&row[5]), entry.record.git.commit.as_ref());
            assert_eq!(row[7], m.unit);
            let numbers: Vec<f64> = row[8..13].iter().map(|v| v.parse().unwrap()).collect();
            let s = &m.summary;
            assert_eq!(numbers, vec![s.median, s.mean, s.stddev, s.min, s.max]);
            assert_eq!(row[13], s.n.to_string());
        }
    }

    #[test]
    fn the_plot_draws_each_measure_at_its_medians() {
        let series = collect(
            &entries(),
            &Filter {
                workload: Some("demo".into()),
                ..Filter::default()
            },
        );
        let charts: Vec<Chart> = series.iter().map(Series::chart).collect();
        let svg = chart::render_file("t", &charts, 2);
        assert_eq!(svg.matches("<svg class=\"chart\"").count(), 2);
        for s in &series {
            for p in &s.points {
                assert!(
                    svg.contains(&format!("data-median=\"{}\"", p.summary.median)),
                    "{}",
                    p.summary.median
                );
                assert!(svg.contains(&format!(
                    "data-min=\"{}\" data-max=\"{}\"",
                    p.summary.min, p.summary.max
                )));
            }
        }
    }
}
