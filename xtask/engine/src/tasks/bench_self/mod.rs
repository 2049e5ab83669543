//! `cargo xtask bench-self`: the xtask's own performance, measured the way
//! this machine allows (2 shared cores, noisy): ratios and medians taken in
//! the same run, never one absolute time.
//!
//! 1. Flamegraph overhead: the flamegraph task's engine end to end (perf
//!    record, the in-process reading and folding, inline frames, SVG) divided by the bare
//!    workload's wall time, rounds interleaved (bare, profiled, bare,
//!    profiled, ...), with one worker thread and with every core busy
//!    (`--workers` = cores, when the workload has a `workers` parameter), and
//!    cargo-flamegraph's `flamegraph` on the same runs when it is installed,
//!    and perf record alone (the same settings, into a file, nothing read
//!    back): the floor under any flamegraph made with perf. Per round also
//!    ours against perf record alone, and the CPU time the xtask adds
//!    beyond perf record and the workload, per 1,000 samples folded.
//! 2. Memory (`memory`): the memory task's heap profile against heaptrack
//!    and heaptrack_print run by hand, rounds interleaved.

mod memory;

use crate::config::Config;
use crate::reports::stdout::out;
use crate::runs::cpu_profile;
use crate::runs::measure::run_once;
use crate::runs::own_cpu::{self, StepCpu};
use crate::runs::process::{self, Spec};
use crate::runs::workload;
use crate::tasks::invocation::Invocation;
use crate::tools::{perf, Toolbox};
use anyhow::{bail, Context};
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Interleaved rounds of bare and profiled runs.
    #[arg(long, default_value_t = 5, value_parser = crate::config::bounds::rounds)]
    pub rounds: u32,
    /// The workload [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// Profile without inline frames, to see what they cost [default: defaults.inline_frames].
    #[arg(long)]
    pub no_inline: bool,
    /// Skip the memory part (the memory task against heaptrack and
    /// heaptrack_print by hand). Without heaptrack it is skipped with a note.
    #[arg(long)]
    pub no_memory: bool,
    /// A parameter's value for the memory part, which otherwise runs the
    /// workload with the config's defaults, as `memory` does with no flag:
    /// the parameter flags (`--subs ...`) set the flamegraph part's scale
    /// only, since heaptrack slows a run several times. Repeatable.
    #[arg(long, value_name = "NAME=VALUE", value_parser = memory::parse_param, conflicts_with = "no_memory")]
    pub memory_param: Vec<(String, String)>,
    #[command(flatten)]
    pub program: crate::tasks::invocation::Program,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    let tools = Toolbox::detect();
    let perf_path = tools.perf.path()?.to_path_buf();
    let (name, workload) = config.workload(args.workload.as_deref())?;
    let values = config.param_values(None, params);
    // One worker thread, then every core busy, where the workload says how many.
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut variants = Vec::new();
    if workload.used_params(&values).contains_key(WORKERS) {
        for workers in [1, cores] {
            let mut values = values.clone();
            values.insert(WORKERS.into(), workers.to_string());
            let label = if workers == 1 {
                "1 worker".to_string()
            } else {
                format!("{workers} workers (every core)")
            };
            variants.push((label, workload::prepare(config, name, workload, &values)?));
        }
        variants.dedup_by(|a, b| a.1.args == b.1.args);
    } else {
        eprintln!("note: `{name}` has no `{WORKERS}` parameter: measured as configured only");
        variants.push((
            "as configured".to_string(),
            workload::prepare(config, name, workload, &values)?,
        ));
    }
    for warning in variants.iter().flat_map(|(_, p)| &p.warnings) {
        eprintln!("{warning}");
    }
    // Before the long part: a bad --memory-param fails at once.
    let memory = memory::plan(config, (name, workload), args, &tools)?;
    let scratch = std::env::temp_dir().join(format!("xtask-bench-self-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let parts = Parts {
        variants: &variants,
        memory,
    };
    let result = measure(config, args, &tools, &perf_path, parts, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let report = result?;
    out!("{report}");
    Ok(0)
}

/// The demo's parameter for its worker threads.
const WORKERS: &str = "workers";

/// The runs of a round.
#[derive(Clone, Copy)]
enum Kind {
    Bare,
    Ours,
    PerfAlone,
    CargoFlamegraph,
}

/// What a run measures: the flamegraph part's variants, and the memory
/// part's plan.
struct Parts<'a> {
    variants: &'a [(String, workload::Prepared)],
    memory: memory::Plan,
}

/// The wall times of one variant's interleaved rounds.
#[derive(Default)]
struct Rounds {
    bare: Vec<f64>,
    ours: Vec<f64>,
    /// cargo-flamegraph's `flamegraph`, when installed.
    theirs: Vec<f64>,
    /// perf record alone, with our settings.
    perf_alone: Vec<f64>,
    /// "samples in the flamegraph/lost" per round of ours.
    samples: Vec<String>,
    /// The CPU time ours added per round, per 1,000 samples folded (ms).
    cpu: Vec<CpuPerThousand>,
}

/// The CPU time the xtask added to one profile, in milliseconds per 1,000
/// samples folded: beyond perf record and the workload under it, its own
/// process's (every thread) and its other children's (perf script...).
#[derive(Debug, Clone, Copy, PartialEq)]
struct CpuPerThousand {
    added: f64,
    own: f64,
    children: f64,
}

impl CpuPerThousand {
    /// NaN figures when nothing was folded: no per-sample cost to speak of.
    fn of(step: &StepCpu, samples: u64) -> CpuPerThousand {
        CpuPerThousand {
            added: per_thousand(step.added(), samples),
            own: per_thousand(step.own, samples),
            children: per_thousand(step.added().saturating_sub(step.own), samples),
        }
    }
}

/// Milliseconds of `cpu` per 1,000 of `samples` (NaN for none).
fn per_thousand(cpu: Duration, samples: u64) -> f64 {
    if samples == 0 {
        return f64::NAN;
    }
    cpu.as_secs_f64() * 1e3 * 1e3 / samples as f64
}

/// The median of the finite values (NaN when there is none).
fn median(values: &[f64]) -> f64 {
    crate::stats::summarize(values).map_or(f64::NAN, |s| s.median)
}

/// The median of per-round ratios `profiled / bare`.
fn ratio(profiled: &[f64], bare: &[f64]) -> f64 {
    let ratios: Vec<f64> = profiled.iter().zip(bare).map(|(p, b)| p / b).collect();
    median(&ratios)
}

/// One round of cargo-flamegraph on `prepared`: `flamegraph -o SVG -- PROGRAM ARGS`
/// (its own perf record, perf script and inferno), in `dir`.
fn time_cargo_flamegraph(
    binary: &std::path::Path,
    prepared: &workload::Prepared,
    dir: &std::path::Path,
) -> anyhow::Result<f64> {
    let mut spec = prepared.spec();
    spec.program = binary.to_path_buf();
    spec.args = vec![
        "-o".into(),
        dir.join("theirs.svg").into_os_string(),
        "--".into(),
    ];
    spec.args.push(prepared.program.clone().into_os_string());
    spec.args.extend(prepared.args.iter().cloned());
    spec.cwd = Some(dir.to_path_buf());
    time_run(spec, "cargo-flamegraph")
}

/// The wall time of one run of `spec`, which must succeed.
fn time_run(spec: Spec, what: &str) -> anyhow::Result<f64> {
    let started = Instant::now();
    let outcome = process::run(spec)?;
    let elapsed = started.elapsed().as_secs_f64();
    if !outcome.success() {
        bail!(
            "{what} failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(elapsed)
}

/// perf record alone's recording in a round's directory.
const ALONE_DATA: &str = "alone.data";

/// One round of perf record alone, with the profile's settings, into a
/// file that nothing reads while it is timed: what perf's start-up, sampling
/// and exit cost; each round's directory is removed once it is done.
fn time_perf_record(
    perf: &std::path::Path,
    settings: &perf::Settings,
    prepared: &workload::Prepared,
    dir: &std::path::Path,
) -> anyhow::Result<f64> {
    let data = dir.join(ALONE_DATA);
    let mut spec = prepared.spec();
    spec.program = perf.to_path_buf();
    spec.args = perf::record_args(settings, &data, &prepared.program, &prepared.args);
    spec.drop_capabilities = perf::record_drops_capabilities(&spec.args);
    time_run(spec, "perf record")
}

fn measure(
    config: &Config,
    args: &Args,
    tools: &Toolbox,
    perf_path: &std::path::Path,
    parts: Parts,
    scratch: &std::path::Path,
) -> anyhow::Result<String> {
    let variants = parts.variants;
    let mut options = cpu_profile::Options::new(config, None, None);
    options.inline_frames &= !args.no_inline;
    let cargo_flamegraph = which::which("flamegraph").ok();
    announce_overhead(args, cargo_flamegraph.is_some(), options.inline_frames);
    for (_, prepared) in variants {
        run_once(prepared)?; // warm the page cache and the CPU
    }
    let (record_settings, _) = cpu_profile::perf_settings(&options, tools);
    let rig = Rig {
        tools,
        options: &options,
        perf_path,
        record_settings: &record_settings,
        cargo_flamegraph: cargo_flamegraph.as_deref(),
    };
    let rounds = measure_overhead(&rig, args, variants, scratch)?;
    let memory = memory::measure(config, args, tools, parts.memory, scratch)?;
    let mut report = report(variants, &rounds, options.inline_frames);
    report.push_str(&memory.rows());
    Ok(report)
}

/// What the overhead rounds run with, the same for every variant and round.
struct Rig<'a> {
    tools: &'a Toolbox,
    options: &'a cpu_profile::Options,
    perf_path: &'a std::path::Path,
    record_settings: &'a perf::Settings,
    /// cargo-flamegraph's `flamegraph`, when installed.
    cargo_flamegraph: Option<&'a std::path::Path>,
}

fn announce_overhead(args: &Args, cargo_flamegraph: bool, inline: bool) {
    eprintln!(
        "flamegraph overhead: {} interleaved rounds of bare vs `{} flamegraph`{} \
         (inline frames: {})",
        args.rounds,
        crate::config::command_name(),
        if cargo_flamegraph {
            " vs cargo-flamegraph"
        } else {
            ""
        },
        if inline { "on" } else { "off" }
    );
}

/// Every variant's interleaved rounds.
fn measure_overhead(
    rig: &Rig,
    args: &Args,
    variants: &[(String, workload::Prepared)],
    scratch: &std::path::Path,
) -> anyhow::Result<Vec<Rounds>> {
    let mut rounds: Vec<Rounds> = variants.iter().map(|_| Rounds::default()).collect();
    for round in 0..args.rounds {
        for (v, (label, prepared)) in variants.iter().enumerate() {
            let measured = &mut rounds[v];
            let dir = scratch.join(format!("round-{round}-{v}"));
            std::fs::create_dir_all(&dir)?;
            let (profile, cpu) = run_round(rig, round, prepared, &dir, measured)?;
            report_round(round, label, measured, profile, &cpu);
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
    Ok(rounds)
}

/// One round of every kind of run of `prepared` in `dir`, their wall times
/// added to `measured`; returns the profile of our run and its CPU time.
fn run_round(
    rig: &Rig,
    round: u32,
    prepared: &workload::Prepared,
    dir: &std::path::Path,
    measured: &mut Rounds,
) -> anyhow::Result<(cpu_profile::CpuProfile, StepCpu)> {
    // The order turns every other round (bare first, then bare last),
    // so that a machine growing slower or faster within a round
    // weighs on every kind of run alike.
    let mut kinds = [
        Kind::Bare,
        Kind::Ours,
        Kind::PerfAlone,
        Kind::CargoFlamegraph,
    ];
    if round % 2 == 1 {
        kinds.reverse();
    }
    let mut profile = None;
    for kind in kinds {
        match kind {
            Kind::Bare => measured.bare.push(run_once(prepared)?.0.wall_s),
            Kind::Ours => {
                // perf record's tree (with the workload) is told apart by
                // the workload it stops: all else the profile costs is ours.
                let ((profiled, wall), cpu) = own_cpu::measure(&prepared.program, || {
                    let started = Instant::now();
                    let profiled = cpu_profile::profile(prepared, rig.tools, rig.options, dir)?;
                    // The flamegraph task renders too: the overhead counts it.
                    crate::reports::flamegraph::write_cpu_files(dir, "bench-self", "")?;
                    Ok((profiled, started.elapsed().as_secs_f64()))
                })?;
                measured.ours.push(wall);
                profile = Some((profiled, cpu));
            }
            Kind::PerfAlone => measured.perf_alone.push(time_perf_record(
                rig.perf_path,
                rig.record_settings,
                prepared,
                dir,
            )?),
            Kind::CargoFlamegraph => {
                if let Some(binary) = rig.cargo_flamegraph {
                    measured
                        .theirs
                        .push(time_cargo_flamegraph(binary, prepared, dir)?);
                }
            }
        }
    }
    profile.context("the profiled run did not run")
}

/// Prints a round's times, samples and CPU figures, and records its
/// samples and CPU figures in `measured`.
fn report_round(
    round: u32,
    label: &str,
    measured: &mut Rounds,
    profile: cpu_profile::CpuProfile,
    cpu: &StepCpu,
) {
    // A figure taken on a lossy recording flatters the overhead: say so per round.
    let lost = profile.record.lost_samples.unwrap_or(0);
    measured
        .samples
        .push(format!("{}/{lost}", profile.folded_samples));
    let per_thousand = CpuPerThousand::of(cpu, profile.folded_samples);
    measured.cpu.push(per_thousand);
    let last = |times: &[f64]| times.last().copied().unwrap_or(f64::NAN);
    let theirs = if measured.theirs.is_empty() {
        String::new()
    } else {
        format!(", cargo-flamegraph {:.3} s", last(&measured.theirs))
    };
    // Scripts read these lines: what is new goes at their end.
    eprintln!(
        "  round {} ({label}): bare {:.3} s, flamegraph {:.3} s, perf record alone \
         {:.3} s{theirs}, {}; {}",
        round + 1,
        last(&measured.bare),
        last(&measured.ours),
        last(&measured.perf_alone),
        crate::reports::markdown::samples_line(&profile.into()),
        cpu_text(
            last(&measured.ours) / last(&measured.perf_alone),
            &per_thousand
        )
    );
    if lost > 0 {
        eprintln!("  warning: this round lost samples: its overhead figure is not comparable");
    }
}

/// A round's figures beside perf record alone: the ratio of wall times,
/// and the CPU time the xtask added.
fn cpu_text(ours_to_alone: f64, cpu: &CpuPerThousand) -> String {
    format!(
        "ours/perf-alone ratio {ours_to_alone:.3}×; xtask CPU {:.1} ms per 1,000 samples \
         (xtask process {:.1} ms, other children {:.1} ms)",
        cpu.added, cpu.own, cpu.children
    )
}

/// The report's table: a variant's rows each (the memory part's follow).
fn report(variants: &[(String, workload::Prepared)], rounds: &[Rounds], inline: bool) -> String {
    let mut out = String::new();
    out.push_str("| measure | value |\n|---|---:|\n");
    for ((label, prepared), measured) in variants.iter().zip(rounds) {
        out.push_str(&variant_rows(label, prepared, measured));
    }
    out.push_str(&format!(
        "| inline frames | {} |\n",
        if inline {
            "yes (read in process)"
        } else {
            "no (--no-inline)"
        }
    ));
    out
}

/// The report's rows of one variant's overhead rounds.
fn variant_rows(label: &str, prepared: &workload::Prepared, measured: &Rounds) -> String {
    let mut out = String::new();
    out.push_str(&workload_row(label, &prepared.argv()));
    out.push_str(&format!(
        "| bare run, {label}, median of {} | {:.3} s |\n",
        measured.bare.len(),
        median(&measured.bare)
    ));
    out.push_str(&format!(
        "| flamegraph end to end, {label}, median | {:.3} s |\n",
        median(&measured.ours)
    ));
    out.push_str(&format!(
        "| **flamegraph / bare, {label}** (median of per-round ratios) | **{:.2}×** |\n",
        ratio(&measured.ours, &measured.bare)
    ));
    out.push_str(&format!(
        "| perf record alone / bare, {label} (same rounds: perf's own share) | {:.2}× |\n",
        ratio(&measured.perf_alone, &measured.bare)
    ));
    out.push_str(&cpu_rows(label, measured));
    if measured.theirs.is_empty() {
        out.push_str(&format!(
            "| cargo-flamegraph / bare, {label} | not installed (`cargo install flamegraph`) |\n"
        ));
    } else {
        out.push_str(&format!(
            "| **cargo-flamegraph / bare, {label}** (same rounds) | **{:.2}×** |\n",
            ratio(&measured.theirs, &measured.bare)
        ));
    }
    out.push_str(&format!(
        "| samples in the flamegraph / lost, per round, {label} | {} |\n",
        measured.samples.join(", ")
    ));
    out
}

/// The report's rows of ours against perf record alone: wall time, and the
/// CPU time the xtask added per 1,000 samples.
fn cpu_rows(label: &str, measured: &Rounds) -> String {
    let pick = |f: fn(&CpuPerThousand) -> f64| -> Vec<f64> { measured.cpu.iter().map(f).collect() };
    format!(
        "| **flamegraph / perf record alone, {label}** (median of per-round ratios) | **{:.3}×** |\n\
         | **xtask CPU per 1,000 samples, {label}** (beyond perf record and the workload; median of per-round figures) | **{:.1} ms** |\n\
         | of which the xtask process / its other children, {label}, medians | {:.1} ms / {:.1} ms |\n",
        ratio(&measured.ours, &measured.perf_alone),
        median(&pick(|c| c.added)),
        median(&pick(|c| c.own)),
        median(&pick(|c| c.children)),
    )
}

/// The report's row of a variant's command line, which comes from the config.
fn workload_row(label: &str, argv: &[String]) -> String {
    format!(
        "| workload, {label} | {} |\n",
        crate::reports::markdown_text::code_cell(&argv.join(" "))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A command line with `|` or backticks keeps the report's table whole.
    #[test]
    fn the_workload_row_keeps_the_table_whole() {
        use crate::reports::markdown_text::test_support::*;
        let table = format!(
            "| measure | value |\n|---|---:|\n{}",
            workload_row("1 worker", &["demo".into(), hostile()])
        );
        assert_eq!(assert_tables_keep_their_columns(&table), 1, "{table}");
        assert_hostile_text_is_literal(&table);
    }

    #[test]
    fn cpu_is_counted_per_thousand_samples() {
        assert_eq!(per_thousand(Duration::from_millis(1500), 3000), 500.0);
        assert_eq!(per_thousand(Duration::from_millis(20), 1000), 20.0);
        assert!(per_thousand(Duration::from_secs(1), 0).is_nan());
        let step = StepCpu {
            own: Duration::from_millis(400),
            children: Duration::from_millis(5_600),
            workload_tree: Duration::from_millis(5_000),
        };
        // Beyond perf record's tree: 400 ms of our own and 600 ms of other children.
        let figures = CpuPerThousand::of(&step, 2000);
        assert_eq!(
            figures,
            CpuPerThousand {
                added: 500.0,
                own: 200.0,
                children: 300.0
            }
        );
    }

    /// Ours against perf record alone is the median of each round's ratio,
    /// and the CPU figure the median of each round's; a round with nothing
    /// folded has no CPU figure and weighs on no median.
    #[test]
    fn the_rows_against_perf_record_alone_take_per_round_medians() {
        let figure = |added: f64| CpuPerThousand {
            added,
            own: added / 2.0,
            children: added / 2.0,
        };
        let measured = Rounds {
            ours: vec![1.1, 2.0, 1.3],
            perf_alone: vec![1.0, 1.0, 1.0],
            cpu: vec![
                figure(300.0),
                figure(f64::NAN),
                figure(100.0),
                figure(250.0),
            ],
            ..Rounds::default()
        };
        let rows = cpu_rows("1 worker", &measured);
        assert!(
            rows.contains("| **flamegraph / perf record alone, 1 worker** (median of per-round ratios) | **1.300×** |"),
            "{rows}"
        );
        assert!(rows.contains("| **250.0 ms** |"), "{rows}");
        assert!(rows.contains("| 125.0 ms / 125.0 ms |"), "{rows}");
        assert_eq!(
            crate::reports::markdown_text::test_support::assert_tables_keep_their_columns(
                &format!("| measure | value |\n|---|---:|\n{rows}")
            ),
            1
        );
    }

    #[test]
    fn a_round_line_ends_with_the_new_figures() {
        let text = cpu_text(
            1.0432,
            &CpuPerThousand {
                added: 312.44,
                own: 200.0,
                children: 112.44,
            },
        );
        assert_eq!(
            text,
            "ours/perf-alone ratio 1.043×; xtask CPU 312.4 ms per 1,000 samples \
             (xtask process 200.0 ms, other children 112.4 ms)"
        );
    }
}
