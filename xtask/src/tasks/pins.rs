//! `cargo xtask pin NAME [RUN]`, `unpin NAME` and `list`: stable names for
//! results, and what the results directory holds.

use crate::config::Config;
use crate::reports::markdown::format_value;
use crate::reports::table::render_columns;
use crate::results::inventory::{self, Item, Kind};
use crate::results::pins::{validate_pin_name, Pin, Pins};
use crate::results::{timestamp_iso, Store};
use anyhow::{bail, Context};
use std::time::SystemTime;

#[derive(clap::Args, Debug)]
pub struct PinArgs {
    /// The pin's name, e.g. `release-1.2` or `baseline`.
    pub name: String,
    /// The result to pin: a directory name, label, pin, `latest` or `previous`.
    #[arg(default_value = "latest")]
    pub run: String,
}

#[derive(clap::Args, Debug)]
pub struct UnpinArgs {
    /// The pin to remove (the result itself stays).
    pub name: String,
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {}

pub fn pin(config: &Config, args: &PinArgs) -> anyhow::Result<u8> {
    validate_pin_name(&args.name)?;
    let store = Store::new(config.results_dir());
    let entry = store.resolve(&args.run)?;
    ensure_inside(&store, &entry.dir)?;
    if !crate::results::pins::is_result_dir_name(&entry.name) {
        anyhow::bail!(
            "`{}` is not a result directory of {}: only results can be pinned",
            entry.name,
            store.dir.display()
        );
    }
    let mut pins = Pins::load(&store.dir)?;
    let previous = pins.pins.insert(
        args.name.clone(),
        Pin {
            dir: entry.name.clone(),
            pinned: timestamp_iso(SystemTime::now()),
        },
    );
    pins.save(&store.dir)?;
    match previous {
        Some(old) if old.dir != entry.name => {
            println!("moved pin {} from {} to {}", args.name, old.dir, entry.name)
        }
        _ => println!("pinned {} → {}", args.name, entry.name),
    }
    Ok(0)
}

/// Pins name results of this results directory only: a pin is a directory
/// name, and cleanup protects it there.
fn ensure_inside(store: &Store, dir: &std::path::Path) -> anyhow::Result<()> {
    let results = std::fs::canonicalize(&store.dir).with_context(|| {
        format!(
            "cannot resolve the results directory {}",
            store.dir.display()
        )
    })?;
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("cannot examine {}", dir.display()))?;
    let parent = dir.parent().map(std::fs::canonicalize).transpose()?;
    if meta.file_type().is_symlink() || parent.as_deref() != Some(results.as_path()) {
        bail!(
            "{} is not a result directory inside {}: only results there can be pinned",
            dir.display(),
            store.dir.display()
        );
    }
    Ok(())
}

pub fn unpin(config: &Config, args: &UnpinArgs) -> anyhow::Result<u8> {
    let store = Store::new(config.results_dir());
    let mut pins = Pins::load(&store.dir)?;
    match pins.pins.remove(&args.name) {
        Some(pin) => {
            pins.save(&store.dir)?;
            println!("unpinned {} (was {}; the result stays)", args.name, pin.dir);
            Ok(0)
        }
        None => {
            let known: Vec<&str> = pins.pins.keys().map(String::as_str).collect();
            bail!(
                "no pin `{}`; {}",
                args.name,
                if known.is_empty() {
                    "there are no pins".to_string()
                } else {
                    format!("pins: {}", known.join(", "))
                }
            )
        }
    }
}

pub fn list(config: &Config, _args: &ListArgs) -> anyhow::Result<u8> {
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
