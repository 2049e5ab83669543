//! `cargo xtask trends`: each measure across results in time order, with
//! the change from the previous result and from the first; `--export-csv`
//! writes the same numbers in long format, `--plot` draws them.

use crate::config::Better;
use crate::reports::chart;
use crate::reports::chart::Chart;
use crate::reports::markdown::format_value;
use crate::reports::stdout::{out, outln};
use crate::reports::table::render_columns;
use crate::results::record::short_hash;
use crate::results::series::{collect, dedup, show_machines, Filter, Series, Shift};
use crate::results::Store;
use crate::tasks::invocation::Invocation;
use anyhow::bail;
use std::path::PathBuf;

/// How `trends` prints.
#[derive(clap::ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Format {
    /// A table per series, shifts marked.
    #[default]
    Text,
    /// Every series, its points and its change points, for scripts.
    Json,
}

#[derive(clap::Args, Debug, Default)]
pub struct Args {
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Only this measure (`wall_s`, `cpu_s`, `user_s`, `sys_s`, `max_rss_bytes`, a metric's name,
    /// or a server's `server.cpu_us_per_op`, `server.cpu_s`..., its load client's `load.wall_s`...).
    #[arg(long, value_name = "MEASURE")]
    pub metric: Option<String>,
    /// Only results of this workload.
    #[arg(long)]
    pub workload: Option<String>,
    /// Only this scale (`default` for results made without --scale).
    #[arg(long)]
    pub scale: Option<String>,
    /// Only the newest N results.
    #[arg(long, value_name = "N", value_parser = crate::config::bounds::last)]
    pub last: Option<usize>,
    /// Also write every number as CSV, one row per result and measure.
    #[arg(long, value_name = "FILE")]
    pub export_csv: Option<PathBuf>,
    /// Also draw one chart per measure into this SVG file.
    #[arg(long, value_name = "FILE.svg")]
    pub plot: Option<PathBuf>,
}

fn percent(change: Option<f64>) -> String {
    change.map_or_else(|| "—".to_string(), |c| format!("{c:+.1} %"))
}

/// The text `trends` prints: a table per series, the result where a shift
/// entered marked in its last column and described under the table.
pub fn render_text(series: &[Series]) -> String {
    let mut out = String::new();
    let headed = show_machines(series);
    for (i, s) in series.iter().enumerate() {
        if headed && (i == 0 || series[i - 1].machine != s.machine) {
            out.push_str(&format!("\n== machine: {} ==\n", s.machine));
        }
        let shifts = s.shifts();
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
            "shift",
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
                shifts
                    .iter()
                    .find(|shift| shift.index == i)
                    .map_or(String::new(), |shift| {
                        format!("shift {:+.1} %", shift.relative_change * 100.0)
                    }),
            ]);
        }
        for line in render_columns(&rows).lines() {
            out.push_str("  ");
            out.push_str(line.trim_end());
            out.push('\n');
        }
        for shift in shifts {
            out.push_str(&format!("  {}\n", describe_shift(shift, &s.unit)));
        }
    }
    out
}

/// One line: where a series shifted, by how much, how sure.
fn describe_shift(shift: &Shift, unit: &str) -> String {
    format!(
        "shift at {} ({}): {:+.1} %, mean {} before → {} after (p = {:.3}, E-divisive means)",
        shift.dir,
        shift.created,
        shift.relative_change * 100.0,
        format_value(shift.mean_before, unit),
        format_value(shift.mean_after, unit),
        shift.p_value
    )
}

/// `--format json`: every series with its points and `change_points`.
pub fn render_json(series: &[Series]) -> serde_json::Value {
    let series: Vec<serde_json::Value> = series
        .iter()
        .map(|s| {
            serde_json::json!({
                "machine": s.machine,
                "workload": s.workload,
                "scale": s.scale,
                "params": s.params,
                "measure": s.measure,
                "unit": s.unit,
                "better": s.better,
                "points": s.points.iter().map(|p| serde_json::json!({
                    "created": p.created,
                    "dir": p.dir,
                    "label": p.label,
                    "commit": p.commit,
                    "median": p.summary.median,
                    "stddev": p.summary.stddev,
                    "min": p.summary.min,
                    "max": p.summary.max,
                    "n": p.summary.n,
                })).collect::<Vec<_>>(),
                "change_points": s.shifts(),
            })
        })
        .collect();
    serde_json::json!({ "schema_version": JSON_SCHEMA_VERSION, "series": series })
}

/// Where a written file is named: stdout, unless that carries JSON.
fn say(format: Format, line: &str) {
    match format {
        Format::Text => outln!("{line}"),
        Format::Json => eprintln!("{line}"),
    }
}

/// Bumped on any incompatible change of `trends --format json`.
pub const JSON_SCHEMA_VERSION: u32 = 1;

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    // This machine's results and those pulled from a shared history.
    let entries = store.list_with_history()?;
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
    match args.format {
        Format::Text => out!("{}", render_text(&series)),
        Format::Json => outln!("{}", serde_json::to_string_pretty(&render_json(&series))?),
    }
    if let Some(path) = &args.export_csv {
        crate::results::write_atomically(path, crate::reports::csv::trends(&series))?;
        say(args.format, &format!("\ncsv: {}", path.display()));
    }
    if let Some(path) = &args.plot {
        let charts: Vec<Chart> = series.iter().map(chart::of_series).collect();
        let title = format!(
            "Trends of {} ({} results)",
            store.dir.display(),
            series.iter().map(|s| s.points.len()).max().unwrap_or(0)
        );
        crate::results::write_atomically(path, chart::render_file(&title, &charts, 2))?;
        say(args.format, &format!("plot: {}", path.display()));
    }
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::synthetic;
    use crate::results::Entry;

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
        let charts: Vec<Chart> = series.iter().map(chart::of_series).collect();
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
