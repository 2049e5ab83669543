//! `cargo xtask cleanup [--keep N] [--older-than DURATION] [--dry-run]`:
//! keeps the results directory small without losing what matters.
//!
//! Safety rules, in order:
//! - only directories this tool made are ever removed: a valid run.json
//!   inside (results), a compare.json in a `compare-*` directory
//!   (profile-compare), a failure.txt in a `.failed-*` one, or a `.tmp-*`
//!   directory of an interrupted run;
//! - symlinks are never followed and never removed; foreign files and
//!   directories are left alone and reported;
//! - pinned results are always kept;
//! - of each kind (results, comparisons, failed runs) the newest N are kept;
//!   an older one goes only when it is also older than `--older-than`, if given;
//! - a `.tmp-*` directory goes when the process that was writing it (the pid
//!   after its last `-`) is gone, or it has not changed for an hour; so does
//!   the `.NAME.PID.tmp` file of an atomic write (pins.json, index.html)
//!   whose process is gone.

use crate::reports::markdown::format_bytes;
use crate::reports::stdout::outln;
use crate::results::inventory::{self, disk_usage, Item, Kind};
use crate::results::parse_iso;
use crate::results::pins::Pins;
use crate::results::Store;
use crate::tasks::invocation::Invocation;
use anyhow::Context;
use std::time::{Duration, SystemTime};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Keep the newest N results (pinned ones always, on top) [default: defaults.keep].
    #[arg(long, value_name = "N", value_parser = crate::config::bounds::keep)]
    pub keep: Option<usize>,
    /// Only remove what is also older than this: `30d`, `12h`, `90m`, `2w`, `45s`.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub older_than: Option<Duration>,
    /// Say what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `30d` → 30 days.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let error = || {
        format!("invalid duration `{text}`: use a whole number and a unit (s, m, h, d, w), e.g. 30d, 12h or 90m")
    };
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).ok_or_else(error)?;
    let (number, unit) = text.split_at(split);
    let number: u64 = number.parse().map_err(|_| error())?;
    let seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(error()),
    };
    number
        .checked_mul(seconds)
        .map(Duration::from_secs)
        .ok_or_else(error)
}

fn describe_duration(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        _ if s.is_multiple_of(86_400) && s > 0 => format!("{}d", s / 86_400),
        _ if s.is_multiple_of(3600) && s > 0 => format!("{}h", s / 3600),
        _ if s.is_multiple_of(60) && s > 0 => format!("{}m", s / 60),
        _ => format!("{s}s"),
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Remove,
    Keep,
    /// Not ours: never touched.
    LeaveAlone,
}

#[derive(Debug, Clone)]
pub struct Decision {
    pub name: String,
    pub path: std::path::PathBuf,
    pub action: Action,
    pub reason: String,
}

/// Retention of one kind of directory (results, comparisons, failed runs):
/// the newest `keep` stay; older ones go if also older than `older_than`.
fn retain(
    group: Vec<(&Item, SystemTime)>,
    what: &str,
    keep: usize,
    older_than: Option<Duration>,
    now: SystemTime,
    out: &mut Vec<Decision>,
) {
    let mut group = group;
    group.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| b.0.name.cmp(&a.0.name)));
    for (rank, (item, time)) in group.into_iter().enumerate() {
        let age = now.duration_since(time).unwrap_or_default();
        let (action, reason) = if rank < keep {
            (Action::Keep, format!("{what}: among the newest {keep}"))
        } else if let Some(limit) = older_than.filter(|limit| age < *limit) {
            (
                Action::Keep,
                format!("{what}: newer than {}", describe_duration(limit)),
            )
        } else {
            let older = older_than
                .map(|l| format!(" and older than {}", describe_duration(l)))
                .unwrap_or_default();
            (
                Action::Remove,
                format!("{what}: beyond the newest {keep}{older}"),
            )
        };
        out.push(Decision {
            name: item.name.clone(),
            path: item.path.clone(),
            action,
            reason,
        });
    }
}

/// What cleanup does with each entry of the results directory.
pub fn plan(
    items: &[Item],
    pins: &Pins,
    keep: usize,
    older_than: Option<Duration>,
    now: SystemTime,
) -> Vec<Decision> {
    let mut out = Vec::new();
    let mut results = Vec::new();
    let mut comparisons = Vec::new();
    let mut failed = Vec::new();
    let decide = |item: &Item, action: Action, reason: String| Decision {
        name: item.name.clone(),
        path: item.path.clone(),
        action,
        reason,
    };
    let modified = |item: &Item| item.modified.unwrap_or(now);
    for item in items {
        match &item.kind {
            Kind::Result(entry) => {
                let pinned = pins.names_of(&item.name);
                if pinned.is_empty() {
                    let created =
                        parse_iso(&entry.record.created).unwrap_or_else(|| modified(item));
                    results.push((item, created));
                } else {
                    out.push(decide(
                        item,
                        Action::Keep,
                        format!("pinned as {}", pinned.join(", ")),
                    ));
                }
            }
            Kind::Comparison => comparisons.push((item, modified(item))),
            Kind::Failed { .. } => failed.push((item, modified(item))),
            Kind::Temporary { pid, alive } => {
                let pid_text =
                    pid.map_or_else(|| "no pid in its name".to_string(), |p| format!("pid {p}"));
                let (action, reason) = if !alive {
                    (
                        Action::Remove,
                        format!("interrupted run ({pid_text} is gone)"),
                    )
                } else if item.is_abandoned_temporary() {
                    (
                        Action::Remove,
                        format!(
                            "interrupted run (unchanged for over an hour; {pid_text} was reused)"
                        ),
                    )
                } else {
                    (Action::Keep, format!("run in progress ({pid_text})"))
                };
                out.push(decide(item, action, reason));
            }
            Kind::Symlink => out.push(decide(
                item,
                Action::LeaveAlone,
                "symlink: never followed".into(),
            )),
            Kind::Foreign { why } => out.push(decide(
                item,
                Action::LeaveAlone,
                format!("not made by this tool ({why})"),
            )),
            Kind::OwnFile => {}
        }
    }
    retain(results, "result", keep, older_than, now, &mut out);
    retain(comparisons, "comparison", keep, older_than, now, &mut out);
    retain(failed, "failed run", keep, older_than, now, &mut out);
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    let keep = args.keep.unwrap_or(config.defaults.keep);
    let pins = Pins::load(&store.dir).context(
        "cleanup removed nothing: pinned results are protected, and the pins cannot be read",
    )?;
    let items = inventory::scan(&store.dir)?;
    let decisions = plan(&items, &pins, keep, args.older_than, SystemTime::now());
    let (outcome, lines) = execute(&decisions, args.dry_run);
    for line in lines {
        outln!("{line}");
    }
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    let kept = decisions
        .iter()
        .filter(|d| d.action == Action::Keep)
        .count();
    let alone = decisions
        .iter()
        .filter(|d| d.action == Action::LeaveAlone)
        .count();
    // What the results kept take, so that the cost of keeping perf.data shows.
    let kept_bytes: u64 = decisions
        .iter()
        .filter(|d| d.action == Action::Keep)
        .map(|d| disk_usage(&d.path))
        .sum();
    outln!(
        "\n{verb} {} director{} ({}{}) in {}; kept {kept} ({}); left alone {alone}",
        outcome.removed,
        if outcome.removed == 1 { "y" } else { "ies" },
        if args.dry_run {
            "would free "
        } else {
            "freed "
        },
        format_bytes(outcome.freed as f64),
        store.dir.display(),
        format_bytes(kept_bytes as f64),
    );
    if outcome.failures > 0 {
        eprintln!(
            "error: {} director{} could not be removed (see above)",
            outcome.failures,
            if outcome.failures == 1 { "y" } else { "ies" }
        );
        return Ok(crate::tasks::exit::FAILURE);
    }
    Ok(0)
}

#[derive(Debug, Default, PartialEq)]
pub struct Outcome {
    pub removed: usize,
    pub freed: u64,
    pub failures: usize,
}

/// Removes what the plan says (or, dry, only says so).
pub fn execute(decisions: &[Decision], dry_run: bool) -> (Outcome, Vec<String>) {
    let mut outcome = Outcome::default();
    let mut lines = Vec::new();
    for d in decisions {
        match d.action {
            Action::Keep => lines.push(format!("{:<12} {}  — {}", "keep", d.name, d.reason)),
            Action::LeaveAlone => {
                lines.push(format!("{:<12} {}  — {}", "left alone", d.name, d.reason))
            }
            Action::Remove => {
                // Look again right before removing: the entry must still be a
                // real directory (not swapped for a symlink meanwhile), or
                // the regular file of an atomic write of ours.
                let meta = std::fs::symlink_metadata(&d.path).ok();
                let still_dir = meta
                    .as_ref()
                    .is_some_and(|m| m.is_dir() && !m.file_type().is_symlink());
                let own_file = meta.as_ref().is_some_and(|m| m.is_file())
                    && crate::results::atomic_temporary_pid(&d.name).is_some();
                if !still_dir && !own_file {
                    lines.push(format!(
                        "{:<12} {}  — changed since it was examined",
                        "left alone", d.name
                    ));
                    continue;
                }
                let bytes = disk_usage(&d.path);
                if dry_run {
                    lines.push(format!(
                        "{:<12} {}  ({}) — {}",
                        "would remove",
                        d.name,
                        format_bytes(bytes as f64),
                        d.reason
                    ));
                    outcome.removed += 1;
                    outcome.freed += bytes;
                    continue;
                }
                // remove_dir_all removes symlinks inside as links, never
                // what they point to.
                let removed = if own_file {
                    std::fs::remove_file(&d.path)
                } else {
                    std::fs::remove_dir_all(&d.path)
                };
                match removed {
                    Ok(()) => {
                        lines.push(format!(
                            "{:<12} {}  ({}) — {}",
                            "removed",
                            d.name,
                            format_bytes(bytes as f64),
                            d.reason
                        ));
                        outcome.removed += 1;
                        outcome.freed += bytes;
                    }
                    Err(e) => {
                        lines.push(format!(
                            "{:<12} {}  — cannot remove it: {e}",
                            "FAILED", d.name
                        ));
                        outcome.failures += 1;
                    }
                }
            }
        }
    }
    (outcome, lines)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::pins::Pin;
    use crate::results::synthetic;
    use std::path::Path;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d"), Ok(Duration::from_secs(30 * 86_400)));
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(12 * 3600)));
        assert_eq!(parse_duration("90m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("2w"), Ok(Duration::from_secs(14 * 86_400)));
        for bad in [
            "",
            "d",
            "30",
            "30 days",
            "-1d",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad:?}");
        }
        assert_eq!(describe_duration(Duration::from_secs(30 * 86_400)), "30d");
        assert_eq!(describe_duration(Duration::from_secs(5400)), "90m");
    }

    fn result(results: &Path, name: &str, created: &str) {
        let wall: &[f64] = &[0.1, 0.2];
        let dir = synthetic::write(
            results,
            name,
            &synthetic::record(name, created, &[("wall_s", "s", wall)]),
        );
        std::fs::write(dir.join("README.md"), "x".repeat(1000)).unwrap();
    }

    fn action_of<'a>(decisions: &'a [Decision], name: &str) -> &'a Action {
        &decisions
            .iter()
            .find(|d| d.name == name)
            .unwrap_or_else(|| panic!("no decision for {name}"))
            .action
    }

    #[test]
    fn keeps_pinned_foreign_and_linked_and_removes_what_retention_and_dead_runs_allow() {
        let root = synthetic::temp_dir("cleanup");
        let results = root.join("results");
        let outside = root.join("outside");
        std::fs::create_dir_all(&results).unwrap();
        // A result-looking directory outside, reached through a symlink.
        result(&outside, "linked", "2020-01-01T00:00:00Z");
        std::os::unix::fs::symlink(
            outside.join("linked"),
            results.join("20200101-000000-linked"),
        )
        .unwrap();
        for day in 1..=5 {
            result(
                &results,
                &format!("2026010{day}-000000-r{day}"),
                &format!("2026-01-0{day}T00:00:00Z"),
            );
        }
        // The oldest is pinned; one result holds a symlink out of the results directory.
        std::os::unix::fs::symlink(&outside, results.join("20260102-000000-r2").join("escape"))
            .unwrap();
        let mut pins = Pins::default();
        pins.pins.insert(
            "release-1.0".into(),
            Pin {
                dir: "20260101-000000-r1".into(),
                pinned: "2026-01-06T00:00:00Z".into(),
            },
        );
        pins.save(&results).unwrap();
        // Foreign things.
        std::fs::create_dir_all(results.join("notes")).unwrap();
        std::fs::write(results.join("notes").join("a.txt"), "mine").unwrap();
        std::fs::write(results.join("stray.txt"), "mine").unwrap();
        std::fs::create_dir_all(results.join("20260109-000000-bad")).unwrap();
        std::fs::write(results.join("20260109-000000-bad").join("run.json"), "{}").unwrap();
        // Temporary directories: one of a dead process, one of ours (alive).
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        std::fs::create_dir_all(results.join(format!(".tmp-20260106-000000-x-{dead}"))).unwrap();
        std::fs::create_dir_all(
            results.join(format!(".tmp-20260106-000000-y-{}", std::process::id())),
        )
        .unwrap();
        // ... one of a live xtask (this test binary) untouched for two hours:
        // massif may run that long, so it stays; and one that is not ours.
        std::fs::create_dir_all(results.join(".tmp-my-notes")).unwrap();
        let stale = results.join(format!(".tmp-20260105-000000-z-{}", std::process::id()));
        std::fs::create_dir_all(&stale).unwrap();
        let two_hours_ago = SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::open(&stale)
            .unwrap()
            .set_modified(two_hours_ago)
            .unwrap();
        // A failed run beyond retention, and one within it.
        for (name, days) in [
            (".failed-20260101-000000-f-1", 10u64),
            (".failed-20260102-000000-f-2", 9),
            (".failed-20260103-000000-f-3", 8),
        ] {
            let dir = results.join(name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("failure.txt"), "the workload failed").unwrap();
            let when = SystemTime::now() - Duration::from_secs(days * 86_400);
            std::fs::File::open(dir.join("failure.txt"))
                .unwrap()
                .set_modified(when)
                .unwrap();
            std::fs::File::open(&dir)
                .unwrap()
                .set_modified(when)
                .unwrap();
        }

        let items = inventory::scan(&results).unwrap();
        let now = SystemTime::now();
        let decisions = plan(&items, &Pins::load(&results).unwrap(), 2, None, now);
        assert_eq!(
            action_of(&decisions, "20260101-000000-r1"),
            &Action::Keep,
            "pinned"
        );
        assert_eq!(action_of(&decisions, "20260102-000000-r2"), &Action::Remove);
        assert_eq!(action_of(&decisions, "20260103-000000-r3"), &Action::Remove);
        assert_eq!(action_of(&decisions, "20260104-000000-r4"), &Action::Keep);
        assert_eq!(action_of(&decisions, "20260105-000000-r5"), &Action::Keep);
        assert_eq!(
            action_of(&decisions, "20200101-000000-linked"),
            &Action::LeaveAlone
        );
        assert_eq!(action_of(&decisions, "notes"), &Action::LeaveAlone);
        assert_eq!(action_of(&decisions, "stray.txt"), &Action::LeaveAlone);
        assert_eq!(
            action_of(&decisions, "20260109-000000-bad"),
            &Action::LeaveAlone
        );
        assert_eq!(
            action_of(&decisions, &format!(".tmp-20260106-000000-x-{dead}")),
            &Action::Remove
        );
        assert_eq!(
            action_of(
                &decisions,
                &format!(".tmp-20260106-000000-y-{}", std::process::id())
            ),
            &Action::Keep
        );
        assert_eq!(
            action_of(
                &decisions,
                &format!(".tmp-20260105-000000-z-{}", std::process::id())
            ),
            &Action::Keep,
            "a live xtask's directory is never removed"
        );
        assert!(
            matches!(action_of(&decisions, ".tmp-my-notes"), Action::LeaveAlone),
            "a .tmp- directory that is not ours is left alone"
        );
        assert_eq!(
            action_of(&decisions, ".failed-20260101-000000-f-1"),
            &Action::Remove
        );
        assert_eq!(
            action_of(&decisions, ".failed-20260102-000000-f-2"),
            &Action::Keep
        );
        assert_eq!(
            action_of(&decisions, ".failed-20260103-000000-f-3"),
            &Action::Keep
        );
        assert!(decisions.iter().all(|d| d.name != "pins.json"));

        // A dry run removes nothing.
        let before = listing(&root);
        let (outcome, _) = execute(&decisions, true);
        assert_eq!(outcome.removed, 4);
        assert!(outcome.freed >= 2000, "{outcome:?}");
        assert_eq!(listing(&root), before);

        let (outcome, lines) = execute(&decisions, false);
        assert_eq!(outcome.removed, 4, "{lines:?}");
        assert!(stale.exists());
        assert!(results.join(".tmp-my-notes").exists());
        assert!(!results.join(".failed-20260101-000000-f-1").exists());
        assert_eq!(outcome.failures, 0);
        let after = listing(&root);
        assert!(!results.join("20260102-000000-r2").exists());
        assert!(!results.join("20260103-000000-r3").exists());
        for kept in [
            "20260101-000000-r1",
            "20260104-000000-r4",
            "20260105-000000-r5",
            "notes/a.txt",
            "stray.txt",
            "pins.json",
            "20260109-000000-bad/run.json",
        ] {
            assert!(results.join(kept).exists(), "{kept} was removed");
        }
        // The symlinks' targets are untouched.
        assert!(outside.join("linked").join("run.json").is_file());
        assert!(
            std::fs::symlink_metadata(results.join("20200101-000000-linked"))
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(
            after.iter().filter(|p| p.starts_with(&outside)).count(),
            before.iter().filter(|p| p.starts_with(&outside)).count()
        );
        std::fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn temporary_files_of_dead_atomic_writes_are_removed() {
        let results = synthetic::temp_dir("cleanup-atomic");
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let dead_pins = format!(".pins.json.{dead}.tmp");
        let dead_page = format!(".index.html.{dead}.tmp");
        let live_page = format!(".index.html.{}.tmp", std::process::id());
        for name in [
            &dead_pins,
            &dead_page,
            &live_page,
            &".notes.tmp".to_string(),
        ] {
            std::fs::write(results.join(name), "partial").unwrap();
        }
        // A directory that only looks like such a file is not one.
        let dir_named_like_one = format!(".x.{dead}.tmp");
        std::fs::create_dir_all(results.join(&dir_named_like_one)).unwrap();
        let items = inventory::scan(&results).unwrap();
        let decisions = plan(&items, &Pins::default(), 5, None, SystemTime::now());
        assert_eq!(action_of(&decisions, &dead_pins), &Action::Remove);
        assert_eq!(action_of(&decisions, &dead_page), &Action::Remove);
        assert_eq!(action_of(&decisions, &live_page), &Action::Keep);
        assert_eq!(action_of(&decisions, ".notes.tmp"), &Action::LeaveAlone);
        assert_eq!(
            action_of(&decisions, &dir_named_like_one),
            &Action::LeaveAlone
        );
        let (outcome, lines) = execute(&decisions, false);
        assert_eq!((outcome.removed, outcome.failures), (2, 0), "{lines:?}");
        assert!(!results.join(&dead_pins).exists());
        assert!(!results.join(&dead_page).exists());
        for kept in [&live_page, &".notes.tmp".to_string(), &dir_named_like_one] {
            assert!(results.join(kept).exists(), "{kept} was removed");
        }
        std::fs::remove_dir_all(&results).unwrap();
    }

    #[test]
    fn older_than_spares_recent_results_beyond_the_newest_n() {
        let results = synthetic::temp_dir("cleanup-age");
        result(&results, "a", "2026-01-01T00:00:00Z");
        result(&results, "b", "2026-01-20T00:00:00Z");
        result(&results, "c", "2026-01-30T00:00:00Z");
        let now = parse_iso("2026-02-01T00:00:00Z").unwrap();
        let items = inventory::scan(&results).unwrap();
        let decisions = plan(
            &items,
            &Pins::default(),
            1,
            Some(Duration::from_secs(20 * 86_400)),
            now,
        );
        assert_eq!(action_of(&decisions, "a"), &Action::Remove, "31 days old");
        assert_eq!(action_of(&decisions, "b"), &Action::Keep, "12 days old");
        assert_eq!(action_of(&decisions, "c"), &Action::Keep, "newest");
        let decisions = plan(&items, &Pins::default(), 0, None, now);
        assert!(decisions.iter().all(|d| d.action == Action::Remove));
        std::fs::remove_dir_all(&results).unwrap();
    }

    fn listing(root: &Path) -> Vec<std::path::PathBuf> {
        let mut out = Vec::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                out.push(path.clone());
                if std::fs::symlink_metadata(&path).unwrap().is_dir() {
                    stack.push(path);
                }
            }
        }
        out.sort();
        out
    }
}
