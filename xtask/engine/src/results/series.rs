//! Measures across results: each measure of a workload and scale as a
//! series of result medians, oldest first. `trends`, the results page and the
//! exports read results through this.

use crate::config::measures::display_rank;
use crate::config::Better;
use crate::results::record::MeasureSummary;
use crate::results::Entry;
use crate::stats::Summary;
use std::collections::BTreeMap;

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

/// A measure of a workload, scale and parameter values on one class of
/// machine across results, oldest first: a result made with other `--subs`
/// (say), or on another kind of machine, starts a series of its own, so
/// that a change of input or hardware never reads as a change of speed.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The class of machine every point was measured on: a series never
    /// mixes machines (results of other versions: `unknown`).
    pub machine: String,
    pub workload: String,
    pub scale: String,
    /// The parameter values the workload used (as its results record them).
    pub params: BTreeMap<String, String>,
    pub measure: String,
    pub unit: String,
    pub better: Better,
    pub points: Vec<SeriesPoint>,
    /// [`Series::shifts`], searched once: the table, the JSON, the chart and
    /// the page all ask, and each search shuffles the series 199 times.
    shifts: std::sync::OnceLock<Vec<Shift>>,
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
            "{} · {}{}{}",
            self.measure,
            self.workload,
            if self.scale == "default" {
                String::new()
            } else {
                format!(" · {}", self.scale)
            },
            self.params_text()
                .map(|p| format!(" · {p}"))
                .unwrap_or_default()
        )
    }

    /// `subs=20000 days=1`, or `None` without parameters.
    pub fn params_text(&self) -> Option<String> {
        (!self.params.is_empty()).then(|| {
            self.params
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ")
        })
    }
}

/// Where a series shifted: the result at which the new level starts.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Shift {
    /// Index of that result in the series' points.
    pub index: usize,
    pub dir: String,
    pub label: String,
    pub created: String,
    /// Mean of the results' medians before and from that result on (to the
    /// next shift).
    pub mean_before: f64,
    pub mean_after: f64,
    /// (after - before) / before: +0.12 is 12 % higher.
    pub relative_change: f64,
    /// The permutation test's p-value.
    pub p_value: f64,
}

/// Significance and effort of the change-point search (E-divisive means):
/// 199 shuffles resolve p down to 0.005; a fixed seed gives the same answer
/// every time the same history is read.
const SHIFT_ALPHA: f64 = 0.05;
const SHIFT_PERMUTATIONS: usize = 199;
const SHIFT_SEED: u64 = 0x7472_656e_6473;

impl Series {
    /// The shifts in the medians of this series (none with fewer than two
    /// segments' worth of results, 2 × `stats::change_points::MIN_SEGMENT`).
    pub fn shifts(&self) -> &[Shift] {
        self.shifts.get_or_init(|| self.find_shifts())
    }

    fn find_shifts(&self) -> Vec<Shift> {
        let medians: Vec<f64> = self.points.iter().map(|p| p.summary.median).collect();
        crate::stats::change_points::find(&medians, SHIFT_ALPHA, SHIFT_PERMUTATIONS, SHIFT_SEED)
            .into_iter()
            .filter_map(|c| {
                let point = self.points.get(c.index)?;
                Some(Shift {
                    index: c.index,
                    dir: point.dir.clone(),
                    label: point.label.clone(),
                    created: point.created.clone(),
                    mean_before: c.mean_before,
                    mean_after: c.mean_after,
                    relative_change: c.relative_change,
                    p_value: c.p_value,
                })
            })
            .collect()
    }
}

/// Time first, then RSS, then the workload's metrics by name: the order of
/// the timing table.
pub fn ordered_measures(
    summaries: &BTreeMap<String, MeasureSummary>,
) -> Vec<(&String, &MeasureSummary)> {
    let mut measures: Vec<_> = summaries.iter().collect();
    measures.sort_by_key(|(name, _)| (display_rank(name), name.as_str()));
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
                .is_none_or(|w| &e.record.workload == w || &e.record.workload_and_scenario() == w)
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
        let workload = record.workload_and_scenario();
        let machine = record.machine_class();
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
                    s.machine == machine
                        && s.workload == workload
                        && s.scale == scale.scale
                        && s.params == scale.params
                        && &s.measure == measure
                        && s.unit == m.unit
                });
                match found {
                    Some(s) => s.points.push(point),
                    None => series.push(Series {
                        machine: machine.clone(),
                        workload: workload.clone(),
                        scale: scale.scale.clone(),
                        params: scale.params.clone(),
                        measure: measure.clone(),
                        unit: m.unit.clone(),
                        better: m.better,
                        points: vec![point],
                        shifts: std::sync::OnceLock::new(),
                    }),
                }
            }
        }
    }
    let rank = |s: &Series| display_rank(&s.measure);
    // Stable: workloads and scales keep their first-appearance order.
    let machines: Vec<String> = dedup(series.iter().map(|s| s.machine.clone()));
    let workloads: Vec<String> = dedup(series.iter().map(|s| s.workload.clone()));
    let scales: Vec<String> = dedup(series.iter().map(|s| s.scale.clone()));
    let params: Vec<String> = dedup(series.iter().map(|s| s.params_text().unwrap_or_default()));
    series.sort_by_key(|s| {
        (
            machines.iter().position(|m| *m == s.machine),
            workloads.iter().position(|w| *w == s.workload),
            scales.iter().position(|x| *x == s.scale),
            params
                .iter()
                .position(|p| *p == s.params_text().unwrap_or_default()),
            rank(s),
            s.measure.clone(),
        )
    });
    series
}

/// Whether series should be headed by their machine class: when any class
/// is known (results of older versions alone have none to show).
pub fn show_machines(series: &[Series]) -> bool {
    series
        .iter()
        .any(|s| s.machine != crate::results::system_info::UNKNOWN_MACHINE)
}

/// The items in order of first appearance, each once.
pub fn dedup(items: impl Iterator<Item = String>) -> Vec<String> {
    let mut seen = Vec::new();
    for item in items {
        if !seen.contains(&item) {
            seen.push(item);
        }
    }
    seen
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::synthetic;
    use std::path::PathBuf;

    fn entry(label: &str, day: u32, subs: &str, wall: &[f64]) -> Entry {
        let created = format!("2026-01-{day:02}T00:00:00Z");
        let mut record = synthetic::record(label, &created, &[("wall_s", "s", wall)]);
        record.scales[0]
            .params
            .insert("subs".into(), subs.to_string());
        Entry {
            dir: PathBuf::from(format!("/r/{label}")),
            name: label.to_string(),
            record,
        }
    }

    /// Results made with another `--subs` start a series of their own, named
    /// by its values: a bigger input never reads as a slowdown.
    #[test]
    fn other_parameter_values_start_their_own_series() {
        let entries = [
            entry("a", 1, "20000", &[1.0, 1.0]),
            entry("b", 2, "50000", &[2.5, 2.5]),
            entry("c", 3, "20000", &[1.01, 1.01]),
        ];
        let series = collect(&entries, &Filter::default());
        let titles: Vec<String> = series.iter().map(Series::title).collect();
        assert_eq!(
            titles,
            ["wall_s · demo · subs=20000", "wall_s · demo · subs=50000"]
        );
        let dirs: Vec<&str> = series[0].points.iter().map(|p| p.dir.as_str()).collect();
        assert_eq!(dirs, ["a", "c"]);
        assert!(!show_machines(&series));
        let (previous, _) = series[0].changes(1);
        assert!((previous.unwrap() - 1.0).abs() < 1e-9, "{previous:?}");
    }

    /// Results of two kinds of machine are two series, never one: a slower
    /// runner is not a slowdown.
    #[test]
    fn each_machine_class_has_series_of_its_own() {
        let class = |cores| crate::results::system_info::MachineClass {
            cpu_model: "Test Chip 9".into(),
            arch: "x86_64".into(),
            cores,
            memory_gib: 8,
        };
        let mut entries = [
            entry("a", 1, "20000", &[1.0, 1.0]),
            entry("b", 2, "20000", &[2.0, 2.0]),
            entry("c", 3, "20000", &[1.01, 1.01]),
            entry("d", 4, "20000", &[1.02, 1.02]),
        ];
        for (entry, cores) in entries.iter_mut().zip([2, 4, 2, 2]) {
            entry.record.machine = Some(class(cores));
        }
        entries[3].record.machine = None;
        let series = collect(&entries, &Filter::default());
        let by_machine: Vec<(&str, Vec<&str>)> = series
            .iter()
            .map(|s| {
                (
                    s.machine.as_str(),
                    s.points.iter().map(|p| p.dir.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            by_machine,
            [
                ("Test Chip 9, 2 cores, 8 GiB", vec!["a", "c"]),
                ("Test Chip 9, 4 cores, 8 GiB", vec!["b"]),
                ("unknown", vec!["d"]),
            ]
        );
        assert!(show_machines(&series));
    }
}
