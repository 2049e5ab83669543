//! `cargo xtask profile-compare A B`: did a change make the workload faster
//! or slower, by how much, is that beyond noise, and where in the code?
//!
//! A and B are results (directory, name, label, `latest`, `previous`, or a
//! pin), or with `--rev A --rev B` two git revisions that are built in
//! temporary worktrees and measured here, interleaved (A B A B ...) so that
//! drift of a shared machine hits both sides alike. The verdicts, warnings,
//! gate and renderings are `reports::compare`; building and running the
//! revisions is `runs::revisions`, counting instructions `runs::callgrind`.
//! This module handles the arguments, reads and writes the files, draws the
//! differential flamegraphs, prints the report and sets the exit status.

use crate::config::{Config, ParamFlags};
use crate::reports::compare::{
    self as report, CompareReport, Counter, GateOutcome, Settings, Side, DIFF_SVG, INSTRUCTIONS,
    JSON_FILE, MARKDOWN_FILE, MEMORY_DIFF_SVG,
};
use crate::reports::markdown::format_params;
use crate::reports::{flamegraph, functions, markdown};
use crate::results::record::{GitInfo, RunRecord, ScaleRecord, SCHEMA_VERSION};
use crate::results::system_info::SystemInfo;
use crate::results::{timestamp_iso, Entry, Pending, Store, TMP_PREFIX};
use crate::runs::measure;
use crate::runs::{callgrind, cpu_profile, memory_profile, revisions};
use crate::tools::Toolbox;
use anyhow::{bail, Context};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// How the report is printed (the files are always written).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An aligned table, coloured on a terminal unless NO_COLOR is set.
    Terminal,
    /// A GitHub table to paste into a pull request.
    Markdown,
    /// compare.json (schema-versioned), for CI.
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The baseline: a result directory, its name, a label, `latest`, `previous` or a pin [default: previous].
    #[arg(value_name = "A", conflicts_with = "rev")]
    pub a: Option<String>,
    /// The new result, addressed like A [default: latest].
    #[arg(value_name = "B", conflicts_with = "rev")]
    pub b: Option<String>,
    /// Build and measure two git revisions instead, interleaved: `--rev A --rev B`.
    #[arg(long, value_name = "REV", action = clap::ArgAction::Append)]
    pub rev: Vec<String>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    pub format: Format,
    /// Exit with status 3 when a measure regressed significantly beyond its [thresholds] limit.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// What the gate decides on: timings (statistics over the runs), or exact
    /// instruction counts under callgrind (~50x slower, but repeatable on noisy machines).
    #[arg(long, value_enum, default_value_t = Counter::Time)]
    pub counter: Counter,
    /// Functions listed under "where it changed".
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// With --rev: the workload [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// With --rev: measured runs per revision [default: defaults.runs].
    #[arg(long)]
    pub runs: Option<u32>,
    /// With --rev: unmeasured runs per revision before them [default: defaults.warmup].
    #[arg(long)]
    pub warmup: Option<u32>,
    /// With --rev: no CPU profiles (and so no "where it changed").
    #[arg(long)]
    pub no_profile: bool,
}

pub fn run(config: &Config, args: &Args, params: &ParamFlags) -> anyhow::Result<u8> {
    let store = Store::new(config.results_dir());
    let (a, b) = if args.rev.is_empty() {
        if !params.is_empty() {
            eprintln!("note: parameter flags only apply to --rev runs; comparing stored results as they are");
        }
        let a = store.resolve(args.a.as_deref().unwrap_or("previous"))?;
        let b = store.resolve(args.b.as_deref().unwrap_or("latest"))?;
        (a, b)
    } else {
        if args.rev.len() != 2 {
            eprintln!(
                "error: --rev takes exactly two revisions, `--rev A --rev B` (got {})",
                args.rev.len()
            );
            return Ok(crate::tasks::exit::USAGE);
        }
        measure_revisions(config, args, params, &store)?
    };
    let (report, dir) = compare(config, &store, &a, &b, args.counter, args.top)?;
    let shown_dir = dir.display().to_string();
    match args.format {
        Format::Terminal => {
            print!(
                "{}",
                report::render_terminal(&report, Some(&shown_dir), use_colour())
            );
            println!("report: {}", dir.join(MARKDOWN_FILE).display());
        }
        Format::Markdown => {
            print!("{}", report::render_markdown(&report));
            eprintln!("report: {}", dir.join(MARKDOWN_FILE).display());
        }
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&report)?);
            eprintln!("report: {}", dir.join(JSON_FILE).display());
        }
    }
    Ok(exit_code(report.gate_outcome(), args.fail_on_regression))
}

/// With the gate on: 3 (`exit::REGRESSION`) when it failed, 1 when it could
/// not decide (a gate that cannot fail must not pass); else 0.
pub fn exit_code(gate: GateOutcome, fail_on_regression: bool) -> u8 {
    match (fail_on_regression, gate) {
        (true, GateOutcome::Regressed) => crate::tasks::exit::REGRESSION,
        (true, GateOutcome::Undecided) => crate::tasks::exit::FAILURE,
        _ => 0,
    }
}

/// Colour when stdout is a terminal and NO_COLOR is unset or empty (no-color.org).
fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Compares two results and writes `results/compare-<A>-vs-<B>/` (compare.json,
/// compare.md, the differential flamegraphs). Returns the report and that directory.
pub fn compare(
    config: &Config,
    store: &Store,
    a: &Entry,
    b: &Entry,
    counter: Counter,
    top: usize,
) -> anyhow::Result<(CompareReport, PathBuf)> {
    let settings = Settings::new(&config.thresholds);
    let (pairs, mut warnings) = report::pair_scales(a, b)?;
    let system = |entry: &Entry| -> Option<SystemInfo> {
        let text = std::fs::read_to_string(entry.dir.join("system_info.json")).ok()?;
        serde_json::from_str(&text).ok()
    };
    let (system_a, system_b) = (system(a), system(b));
    let mut comparability = report::comparability_warnings(
        &a.record,
        &b.record,
        &pairs,
        system_a.as_ref(),
        system_b.as_ref(),
    );
    if same_dir(&a.dir, &b.dir) {
        comparability.insert(
            0,
            "A and B are the same result: nothing can have changed".into(),
        );
    }
    warnings.extend(comparability);
    if counter == Counter::Instructions {
        for (side, entry) in [("A", a), ("B", b)] {
            if !entry
                .record
                .scales
                .iter()
                .any(|s| s.summaries.contains_key(INSTRUCTIONS))
            {
                bail!(
                    "--counter instructions: {side} ({}) has no instruction count. Counts are measured by \
                     `cargo xtask profile-compare --rev A --rev B --counter instructions`; to compare stored \
                     results on timings, drop --counter",
                    entry.name
                );
            }
        }
    }
    let runs = |entry: &Entry| {
        entry
            .record
            .scales
            .iter()
            .map(|s| s.runs.len())
            .min()
            .unwrap_or(0)
    };
    if counter == Counter::Time {
        warnings.extend(report::sample_size_warning(
            runs(a),
            runs(b),
            settings.alpha,
        ));
    }

    let name = compare_dir_name(&a.name, &b.name);
    let tmp = store
        .dir
        .join(format!("{TMP_PREFIX}{name}-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    let written = (|| -> anyhow::Result<CompareReport> {
        let several = pairs.len() > 1;
        let mut scales = Vec::new();
        for (sa, sb) in &pairs {
            let mut comparison = report::compare_scale(sa, sb, &settings, counter);
            let out_prefix = if several {
                format!("{}/", sanitize(&sb.scale))
            } else {
                String::new()
            };
            if several {
                std::fs::create_dir_all(tmp.join(&out_prefix))?;
            }
            let folded = |entry: &Entry, scale: &ScaleRecord, file: &str| {
                let prefix = scale.dir_prefix(entry.record.scales.len() > 1);
                entry.dir.join(format!("{prefix}{file}"))
            };
            let title = format!("{} → {}", a.name, b.name);
            for (file, svg, what, kind) in [
                (cpu_profile::FOLDED, DIFF_SVG, "CPU", flamegraph::Kind::Cpu),
                (
                    memory_profile::FOLDED,
                    MEMORY_DIFF_SVG,
                    "heap at peak",
                    flamegraph::Kind::Memory,
                ),
            ] {
                let (before, after) = (folded(a, sa, file), folded(b, sb, file));
                if !(before.is_file() && after.is_file()) {
                    if before.is_file() != after.is_file() {
                        let has = if before.is_file() { "A" } else { "B" };
                        comparison.notes.push(format!(
                            "only {has} has a {what} profile ({file}): no \"where it changed\""
                        ));
                    } else if what == "CPU" {
                        comparison.notes.push(
                            "neither side has a CPU profile: no \"where it changed\"".to_string(),
                        );
                    }
                    continue;
                }
                let changes = function_changes(&before, &after, top)?;
                if what == "CPU" {
                    comparison.functions = changes;
                } else {
                    comparison.memory_functions = changes;
                }
                let svg_name = format!("{out_prefix}{svg}");
                let subtitle = format!(
                    "{what}: shape of B; red grew, blue shrank (normalised to equal totals)"
                );
                match flamegraph::render_diff(
                    &before,
                    &after,
                    &tmp.join(&svg_name),
                    &title,
                    &subtitle,
                    kind,
                ) {
                    Ok(()) => comparison.files.push(svg_name),
                    Err(error) => comparison.notes.push(format!(
                        "could not draw the {what} differential flamegraph: {error:#}"
                    )),
                }
            }
            scales.push(comparison);
        }
        let report = CompareReport::new(
            Side::of(&a.name, &a.dir, &a.record),
            Side::of(&b.name, &b.dir, &b.record),
            settings,
            counter,
            warnings,
            scales,
        );
        write_file(&tmp.join(MARKDOWN_FILE), report::render_markdown(&report))?;
        // compare.json last: it marks a complete compare directory.
        crate::results::write_json(&tmp.join(JSON_FILE), &report)?;
        Ok(report)
    })();
    let report = match written {
        Ok(report) => report,
        Err(error) => {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(error);
        }
    };
    let dir = store.dir.join(&name);
    publish(&tmp, &dir)?;
    Ok((report, dir))
}

fn function_changes(
    before: &Path,
    after: &Path,
    top: usize,
) -> anyhow::Result<Vec<functions::FunctionChange>> {
    let read = |p: &Path| {
        std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
    };
    let (a, b) = (
        functions::from_folded(&read(before)?),
        functions::from_folded(&read(after)?),
    );
    // Rows that would print as +0.0 / -0.0 say nothing.
    let moved = |c: &functions::FunctionChange| {
        c.self_delta().abs() >= 0.05 || (c.total_after - c.total_before).abs() >= 0.05
    };
    Ok(functions::diff(&a, &b, top)
        .into_iter()
        .filter(moved)
        .collect())
}

fn write_file(path: &Path, contents: impl AsRef<[u8]>) -> anyhow::Result<()> {
    std::fs::write(path, contents).with_context(|| format!("cannot write {}", path.display()))
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}

/// `compare-<A>-vs-<B>`, with anything but `[A-Za-z0-9._-]` replaced.
pub fn compare_dir_name(a: &str, b: &str) -> String {
    format!("compare-{}-vs-{}", sanitize(a), sanitize(b))
}

fn sanitize(name: &str) -> String {
    let clean: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    clean.trim_start_matches('.').to_string()
}

/// Moves a finished compare directory into place, replacing an older one of
/// ours (marked by compare.json), never a directory someone else made.
fn publish(tmp: &Path, dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        if !dir.join(JSON_FILE).is_file() {
            let _ = std::fs::remove_dir_all(tmp);
            bail!(
                "{} exists but was not written by profile-compare (no {JSON_FILE}): move it away and run again",
                dir.display()
            );
        }
        let parent = dir.parent().unwrap_or(Path::new("."));
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let old = parent.join(format!("{TMP_PREFIX}old-{name}-{}", std::process::id()));
        std::fs::rename(dir, &old)
            .with_context(|| format!("cannot move the old {} aside", dir.display()))?;
        std::fs::rename(tmp, dir)
            .with_context(|| format!("cannot move the report to {}", dir.display()))?;
        let _ = std::fs::remove_dir_all(&old);
    } else {
        std::fs::rename(tmp, dir)
            .with_context(|| format!("cannot move the report to {}", dir.display()))?;
    }
    Ok(())
}

/// `--rev A --rev B`: both revisions built (`runs::revisions`), run
/// interleaved, profiled, and written as two results.
fn measure_revisions(
    config: &Config,
    args: &Args,
    params: &ParamFlags,
    store: &Store,
) -> anyhow::Result<(Entry, Entry)> {
    let (name, workload) = config.workload(args.workload.as_deref())?;
    revisions::check_workload(name, workload)?;
    let runs = args.runs.unwrap_or(config.defaults.runs);
    if runs == 0 && args.counter == Counter::Time {
        bail!("--runs 0 measures nothing; give at least 5 runs (or use --counter instructions)");
    }
    let warmup = args.warmup.unwrap_or(config.defaults.warmup);
    let values = config.param_values(None, params);
    let built = revisions::build(
        config, &args.rev, &store.dir, TMP_PREFIX, name, workload, &values,
    )?;
    let sides = &built.revisions;
    let labels: Vec<String> = if sides[0].short == sides[1].short {
        vec![
            format!("rev-{}-a", sides[0].short),
            format!("rev-{}-b", sides[1].short),
        ]
    } else {
        sides.iter().map(|s| format!("rev-{}", s.short)).collect()
    };

    let tools = Toolbox::detect();
    let profile = !args.no_profile && tools.cpu_sampler().is_some();
    let mut notes = Vec::new();
    if !args.no_profile && !profile {
        notes.push(tools.sampler_missing_note());
    }
    let pendings: Vec<Pending> = labels
        .iter()
        .map(|label| store.begin(label))
        .collect::<anyhow::Result<_>>()?;
    let measured = (|| -> anyhow::Result<Vec<ScaleRecord>> {
        let samples = revisions::interleaved_runs(sides, warmup, runs)?;
        let mut scales = Vec::new();
        for ((side, samples), pending) in sides.iter().zip(samples).zip(&pendings) {
            let mut summaries = measure::summarize(&samples, &side.prepared);
            notes.extend(
                measure::noise_warnings(&summaries)
                    .into_iter()
                    .map(|n| format!("{}: {n}", side.rev)),
            );
            let shown = workload.used_params(&values);
            let cpu = if profile {
                let options = cpu_profile::Options::new(config, None, None);
                let cpu = cpu_profile::profile(&side.prepared, &tools, &options, &pending.dir)?;
                crate::reports::flamegraph::write_cpu_files(
                    &pending.dir,
                    &format!("{name} {}", format_params(&shown)),
                    &format!(
                        "revision {} ({})",
                        side.rev,
                        &side.commit[..side.commit.len().min(10)]
                    ),
                )?;
                Some(cpu)
            } else {
                None
            };
            if args.counter == Counter::Instructions {
                let count = callgrind::count_instructions(&tools, &side.prepared, &pending.dir)?;
                summaries.insert(INSTRUCTIONS.into(), callgrind::instructions_summary(count));
            }
            scales.push(ScaleRecord {
                scale: "default".into(),
                params: shown,
                argv: side.prepared.argv(),
                env: side.prepared.env.clone(),
                cwd: side.prepared.cwd.display().to_string(),
                warmup,
                runs: crate::results::record::runs_from(samples),
                summaries: crate::results::record::summaries_from(summaries),
                cpu_profile: cpu.map(Into::into),
                memory: None,
                leak_check: None,
                load: None,
            });
        }
        Ok(scales)
    })();
    let scales = match measured {
        Ok(scales) => scales,
        Err(error) => {
            let mut pendings = pendings.into_iter();
            let first = pendings.next().expect("two pending results");
            let _ = pendings.next().map(|p| p.abandon(&format!("{error:#}")));
            return Err(first.fail(error));
        }
    };
    let system = SystemInfo::collect(&tools);
    let mut entries = Vec::new();
    for (((side, label), scale), pending) in sides.iter().zip(&labels).zip(scales).zip(pendings) {
        let record = RunRecord {
            schema_version: SCHEMA_VERSION,
            task: "profile-compare --rev".into(),
            label: label.clone(),
            created: timestamp_iso(SystemTime::now()),
            workload: name.to_string(),
            build_profile: config.defaults.build_profile.clone(),
            git: GitInfo {
                commit: Some(side.commit.clone()),
                dirty: false,
                branch: None,
            },
            scales: vec![scale],
            failure: None,
        };
        let readme = markdown::result_readme(&pending, &record, &system, &notes);
        let dir = pending.finish(&record, &system, &readme)?;
        entries.push(store.resolve(&dir.to_string_lossy())?);
    }
    for note in &notes {
        eprintln!("note: {note}");
    }
    let b = entries.pop().expect("two results");
    let a = entries.pop().expect("two results");
    eprintln!("results: {} and {}", a.dir.display(), b.dir.display());
    Ok((a, b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_directory_names_are_safe() {
        assert_eq!(
            compare_dir_name("20261122-041612-probe", "20261122-041616-slow"),
            "compare-20261122-041612-probe-vs-20261122-041616-slow"
        );
        assert_eq!(compare_dir_name("../x y", ".b"), "compare-_x_y-vs-b");
    }

    #[test]
    fn publish_replaces_only_our_own_directories() {
        let base = std::env::temp_dir().join(format!("xtask-publish-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        std::fs::create_dir_all(&base).unwrap();
        let target = base.join("compare-a-vs-b");
        let make = |name: &str, marker: &str| {
            let tmp = base.join(name);
            std::fs::create_dir_all(&tmp).unwrap();
            std::fs::write(tmp.join(JSON_FILE), marker).unwrap();
            tmp
        };
        publish(&make(".tmp-1", "first"), &target).unwrap();
        publish(&make(".tmp-2", "second"), &target).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join(JSON_FILE)).unwrap(),
            "second"
        );
        let leftovers: Vec<_> = std::fs::read_dir(&base)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers, vec![std::ffi::OsString::from("compare-a-vs-b")]);

        let foreign = base.join("compare-c-vs-d");
        std::fs::create_dir_all(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
        let err = publish(&make(".tmp-3", "third"), &foreign).unwrap_err();
        assert!(
            err.to_string()
                .contains("was not written by profile-compare"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(foreign.join("notes.txt")).unwrap(),
            "mine"
        );
        std::fs::remove_dir_all(&base).unwrap();
    }

    #[test]
    fn only_a_gate_that_is_on_sets_the_exit_code() {
        assert_eq!(
            exit_code(GateOutcome::Regressed, true),
            crate::tasks::exit::REGRESSION
        );
        assert_eq!(
            exit_code(GateOutcome::Undecided, true),
            crate::tasks::exit::FAILURE
        );
        assert_eq!(exit_code(GateOutcome::Pass, true), 0);
        for outcome in [
            GateOutcome::Pass,
            GateOutcome::Regressed,
            GateOutcome::Undecided,
        ] {
            assert_eq!(exit_code(outcome, false), 0);
        }
    }
}
