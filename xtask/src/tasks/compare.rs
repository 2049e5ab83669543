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
    self as report, Counter, GateOutcome, INSTRUCTIONS, JSON_FILE, MARKDOWN_FILE,
};
use crate::reports::markdown;
use crate::reports::markdown::format_params;
use crate::results::record::{GitInfo, RunRecord, ScaleRecord, SCHEMA_VERSION};
use crate::results::system_info::SystemInfo;
use crate::results::{timestamp_iso, Entry, Pending, Store, TMP_PREFIX};
use crate::runs::measure;
use crate::runs::{callgrind, cpu_profile, revisions};
use crate::tasks::invocation::Invocation;
use crate::tools::Toolbox;
use anyhow::bail;
use std::io::IsTerminal;
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

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
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
    let (report, dir) = report::compare_results(config, &store, &a, &b, args.counter, args.top)?;
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
                measure::metric_warnings(&samples)
                    .into_iter()
                    .chain(measure::noise_warnings(&summaries))
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
                cpu_profile: cpu.map(Into::into),
                ..ScaleRecord::timed(&side.prepared, shown, warmup, samples, summaries)
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
