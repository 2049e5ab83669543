//! `cargo xtask list`: every result at a glance — time, label, workload,
//! headline numbers, pins — and runs that are incomplete or failed.

use crate::config::Config;
use crate::reports::markdown::format_value;
use crate::reports::table::render_columns;
use crate::results::inventory::{self, Item, Kind};
use crate::results::pins::Pins;
use crate::results::{timestamp_iso, Store};
use crate::tasks::invocation::Invocation;

#[derive(clap::Args, Debug)]
pub struct Args {}

pub fn run(invocation: &Invocation, _args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    let pins = Pins::load(&store.dir)?;
    let items = inventory::scan(&store.dir)?;
    let rows = list_rows(&items, &pins, Some(config));
    if rows.len() == 1 {
        println!(
            "no results in {} yet: run `cargo xtask profile-baseline`",
            store.dir.display()
        );
    } else {
        print!("{}", render_columns(&rows));
    }
    let dangling: Vec<String> = pins
        .pins
        .iter()
        .filter(|(_, pin)| {
            !items
                .iter()
                .any(|i| i.name == pin.dir && matches!(i.kind, Kind::Result(_)))
        })
        .map(|(name, pin)| format!("{name} → {} (missing: `cargo xtask unpin {name}`)", pin.dir))
        .collect();
    for line in dangling {
        println!("warning: pin {line}");
    }
    let comparisons = items
        .iter()
        .filter(|i| matches!(i.kind, Kind::Comparison))
        .count();
    if comparisons > 0 {
        println!("\n{comparisons} comparison(s) (compare-*); `cargo xtask report` links them all");
    }
    Ok(0)
}

/// The table `list` prints: a header, then results and incomplete runs in
/// time order.
pub fn list_rows(items: &[Item], pins: &Pins, config: Option<&Config>) -> Vec<Vec<String>> {
    let header = [
        "created",
        "dir",
        "label",
        "workload",
        "scale",
        "wall (median)",
        "first metric (median)",
        "pins",
        "state",
    ];
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for item in items {
        let time = item.modified.map(timestamp_iso).unwrap_or_default();
        let row = match &item.kind {
            Kind::Result(entry) => {
                let record = &entry.record;
                let wall = crate::reports::markdown::median_wall(record);
                let metric = inventory::first_metric(record, config)
                    .map(|(name, m)| format!("{name} {}", format_value(m.summary.median, &m.unit)))
                    .unwrap_or_else(|| "—".into());
                let scales: Vec<&str> = record.scales.iter().map(|s| s.scale.as_str()).collect();
                let state = match &record.failure {
                    Some(failure) => format!("complete, failed: {failure}"),
                    None => "complete".into(),
                };
                (
                    record.created.clone(),
                    vec![
                        record.created.clone(),
                        item.name.clone(),
                        record.label.clone(),
                        record.workload.clone(),
                        scales.join(","),
                        wall,
                        metric,
                        pins.names_of(&item.name).join(","),
                        state,
                    ],
                )
            }
            Kind::Temporary { pid, alive } => {
                let state = if item.is_abandoned_temporary() {
                    "incomplete: abandoned (cleanup removes it)".to_string()
                } else {
                    format!(
                        "incomplete: in progress{}",
                        if *alive {
                            pid.map(|p| format!(" (pid {p})")).unwrap_or_default()
                        } else {
                            String::new()
                        }
                    )
                };
                (time.clone(), incomplete_row(&time, &item.name, state))
            }
            Kind::Failed { reason } => (
                time.clone(),
                incomplete_row(&time, &item.name, format!("incomplete: failed: {reason}")),
            ),
            _ => continue,
        };
        rows.push(row);
    }
    rows.sort_by(|a, b| a.0.cmp(&b.0));
    std::iter::once(header.iter().map(|s| s.to_string()).collect())
        .chain(rows.into_iter().map(|(_, row)| row))
        .collect()
}

fn incomplete_row(time: &str, name: &str, state: String) -> Vec<String> {
    let mut row = vec![time.to_string(), name.to_string()];
    row.extend(std::iter::repeat_n("—".to_string(), 6));
    row.push(state);
    row
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::pins::Pin;
    use crate::results::synthetic;

    #[test]
    fn resolve_consults_pins_before_labels_and_names() {
        let results = synthetic::temp_dir("resolve-pins");
        let wall: &[f64] = &[0.1, 0.2, 0.3];
        synthetic::write(
            &results,
            "20260101-000000-old",
            &synthetic::record("old", "2026-01-01T00:00:00Z", &[("wall_s", "s", wall)]),
        );
        synthetic::write(
            &results,
            "20260102-000000-new",
            &synthetic::record("new", "2026-01-02T00:00:00Z", &[("wall_s", "s", wall)]),
        );
        // A pin that shares its name with the newer result's label wins.
        let mut pins = Pins::load(&results).unwrap();
        pins.pins.insert(
            "new".into(),
            Pin {
                dir: "20260101-000000-old".into(),
                pinned: "2026-01-03T00:00:00Z".into(),
            },
        );
        pins.pins.insert(
            "gone".into(),
            Pin {
                dir: "20250101-000000-x".into(),
                pinned: "2026-01-03T00:00:00Z".into(),
            },
        );
        pins.save(&results).unwrap();
        let store = Store::new(&results);
        assert_eq!(store.resolve("new").unwrap().name, "20260101-000000-old");
        assert_eq!(store.resolve("latest").unwrap().name, "20260102-000000-new");
        let err = store.resolve("gone").unwrap_err().to_string();
        assert!(err.contains("cargo xtask unpin gone"), "{err}");

        let items = inventory::scan(&results).unwrap();
        let rows = list_rows(&items, &pins, None);
        assert_eq!(rows.len(), 3, "{rows:?}");
        assert_eq!(rows[1][1], "20260101-000000-old");
        assert_eq!(rows[1][7], "new", "the pins column names the pin");
        assert_eq!(rows[2][7], "");
        assert_eq!(rows[1][5], "200.0 ms");
        std::fs::remove_dir_all(&results).unwrap();
    }
}
