//! `cargo xtask list`: every result at a glance — time, label, workload,
//! headline numbers, pins — and runs that are incomplete or failed.

use crate::config::Config;
use crate::reports::markdown::format_value;
use crate::reports::stdout::{out, outln};
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
    // list is how a broken pins.json is found: it shows the problems and
    // goes on with the pins that are valid.
    let inspection = Pins::inspect(&store.dir);
    let pins = &inspection.pins;
    let items = inventory::scan(&store.dir)?;
    // Results pulled from a shared history, as `history/<name>`.
    let pulled = inventory::scan_pulled(&store.dir)?;
    let all: Vec<Item> = items.iter().chain(&pulled).cloned().collect();
    let rows = list_rows(&all, pins, Some(config));
    if rows.len() == 1 {
        outln!(
            "no results in {} yet: run `{} profile-baseline`",
            store.dir.display(),
            crate::config::command_name()
        );
    } else {
        out!("{}", render_columns(&rows));
    }
    for line in pin_warnings(&items, pins) {
        outln!("warning: pin {line}");
    }
    let problems = inspection.problems();
    for problem in &problems {
        outln!("warning: {problem}");
    }
    if !problems.is_empty() {
        outln!("{}", inspection.repair_hint());
    }
    let comparisons = items
        .iter()
        .filter(|i| matches!(i.kind, Kind::Comparison))
        .count();
    if comparisons > 0 {
        outln!(
            "\n{comparisons} comparison(s) (compare-*); `{} report` links them all",
            crate::config::command_name()
        );
    }
    Ok(0)
}

/// Pins whose directory holds no result that can be read, each with why
/// and what to do.
fn pin_warnings(items: &[Item], pins: &Pins) -> Vec<String> {
    pins.pins
        .iter()
        .filter_map(|(name, pin)| {
            let why = match items.iter().find(|i| i.name == pin.dir).map(|i| &i.kind) {
                Some(Kind::Result(_)) => return None,
                None => "missing".to_string(),
                Some(Kind::Symlink) => "a symlink, never read through".to_string(),
                Some(Kind::Foreign { why }) => format!("not a result: {why}"),
                Some(_) => "not a result".to_string(),
            };
            Some(format!(
                "{name} → {} ({why}: `{} unpin {name}`)",
                pin.dir,
                crate::config::command_name()
            ))
        })
        .collect()
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
        "time (median)",
        "first metric (median)",
        "pins",
        "machine",
        "state",
    ];
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    for item in items {
        let time = item.modified.map(timestamp_iso).unwrap_or_default();
        let row = match &item.kind {
            Kind::Result(entry) => {
                let record = &entry.record;
                let wall = crate::reports::markdown::median_time(record);
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
                        record.what_ran(),
                        scales.join(","),
                        wall,
                        metric,
                        pins.names_of(&item.name).join(","),
                        record.machine_class(),
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
            // What pin and profile-compare would refuse, shown with why
            // rather than left out: a result that disappears from the list
            // without a word looks lost.
            Kind::Symlink => {
                let target = std::fs::read_link(&item.path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_else(|_| "?".into());
                (
                    time.clone(),
                    incomplete_row(
                        &time,
                        &item.name,
                        format!("not read: a symlink to {target} (results are never read through links)"),
                    ),
                )
            }
            Kind::Foreign { why } if item.path.is_dir() => (
                time.clone(),
                incomplete_row(&time, &item.name, format!("not a result: {why}")),
            ),
            Kind::Foreign { .. } | Kind::OwnFile | Kind::Comparison => continue,
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
    row.extend(std::iter::repeat_n("—".to_string(), 7));
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

    /// What pin and profile-compare refuse is listed with the reason, not
    /// left out; a pin through a symlink is refused, never read through.
    #[test]
    fn unreadable_results_are_listed_with_why_and_symlinked_pins_are_refused() {
        let results = synthetic::temp_dir("list-unreadable");
        let outside = synthetic::temp_dir("list-unreadable-outside");
        let wall: &[f64] = &[0.1, 0.2, 0.3];
        let good = synthetic::record("good", "2026-01-01T00:00:00Z", &[("wall_s", "s", wall)]);
        synthetic::write(&results, "20260101-000000-good", &good);
        let truncated = synthetic::write(&results, "20260102-000000-cut", &good).join("run.json");
        let text = std::fs::read_to_string(&truncated).unwrap();
        std::fs::write(&truncated, &text[..text.len() / 2]).unwrap();
        let future = synthetic::write(&results, "20260103-000000-future", &good).join("run.json");
        let text = std::fs::read_to_string(&future).unwrap();
        std::fs::write(
            &future,
            text.replacen(
                &format!(
                    "\"schema_version\": {}",
                    crate::results::record::SCHEMA_VERSION
                ),
                "\"schema_version\": 99",
                1,
            ),
        )
        .unwrap();
        std::fs::create_dir_all(results.join("20260104-000000-empty")).unwrap();
        let elsewhere = synthetic::write(&outside, "20200101-000000-elsewhere", &good);
        std::os::unix::fs::symlink(&elsewhere, results.join("20200101-000000-elsewhere")).unwrap();
        std::fs::write(results.join("notes.txt"), "mine").unwrap();

        let items = inventory::scan(&results).unwrap();
        let rows = list_rows(&items, &Pins::default(), None);
        let state = |dir: &str| -> String {
            rows.iter()
                .find(|row| row[1] == dir)
                .unwrap_or_else(|| panic!("{dir} is not listed: {rows:?}"))[9]
                .clone()
        };
        assert_eq!(state("20260101-000000-good"), "complete");
        assert!(
            state("20260102-000000-cut").starts_with("not a result: its run.json is not valid"),
            "{rows:?}"
        );
        assert!(
            state("20260103-000000-future")
                .contains("schema version 99, newer than this xtask understands"),
            "{rows:?}"
        );
        assert_eq!(state("20260104-000000-empty"), "not a result: no run.json");
        assert_eq!(
            state("20200101-000000-elsewhere"),
            format!(
                "not read: a symlink to {} (results are never read through links)",
                elsewhere.display()
            )
        );
        assert!(
            !rows.iter().any(|row| row[1] == "notes.txt"),
            "plain files are not results: {rows:?}"
        );

        let mut pins = Pins::default();
        for (name, dir) in [
            ("linked", "20200101-000000-elsewhere"),
            ("empty", "20260104-000000-empty"),
        ] {
            pins.pins.insert(
                name.into(),
                Pin {
                    dir: dir.into(),
                    pinned: "2026-01-05T00:00:00Z".into(),
                },
            );
        }
        pins.save(&results).unwrap();
        let warnings = pin_warnings(&items, &pins);
        assert_eq!(
            warnings,
            vec![
                "empty → 20260104-000000-empty (not a result: no run.json: `cargo xtask unpin empty`)",
                "linked → 20200101-000000-elsewhere (a symlink, never read through: `cargo xtask unpin linked`)",
            ]
        );
        let store = Store::new(&results);
        let err = store.resolve("linked").unwrap_err().to_string();
        assert!(
            err.contains("pin `linked` points at")
                && err.contains("a symlink to")
                && err.contains("never read through links"),
            "{err}"
        );
        assert!(err.contains("cargo xtask unpin linked"), "{err}");
        // A run.json that is a link, in a real directory, is not read either.
        let hollow = results.join("20260105-000000-hollow");
        std::fs::create_dir_all(&hollow).unwrap();
        std::os::unix::fs::symlink(elsewhere.join("run.json"), hollow.join("run.json")).unwrap();
        pins.pins.get_mut("linked").unwrap().dir = "20260105-000000-hollow".into();
        pins.save(&results).unwrap();
        let err = store.resolve("linked").unwrap_err().to_string();
        assert!(err.contains("hollow/run.json, a symlink to"), "{err}");
        assert!(store
            .list()
            .unwrap()
            .iter()
            .all(|e| e.name != "20260105-000000-hollow"));
        std::fs::remove_dir_all(&results).unwrap();
        std::fs::remove_dir_all(&outside).unwrap();
    }
}
