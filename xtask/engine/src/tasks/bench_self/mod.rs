//! `cargo xtask bench-self`: the xtask's own performance, measured the way
//! this machine allows (2 shared cores, noisy): ratios and medians taken in
//! the same run, never one absolute time.
//!
//! 1. Flamegraph overhead: the flamegraph task's engine end to end (perf
//!    record, perf script, inline frames, folding, SVG) divided by the bare
//!    workload's wall time, rounds interleaved (bare, profiled, bare,
//!    profiled, ...), with one worker thread and with every core busy
//!    (`--workers` = cores, when the workload has a `workers` parameter), and
//!    cargo-flamegraph's `flamegraph` on the same runs when it is installed,
//!    and perf record alone (the same settings, into a file, nothing read
//!    back): the floor under any flamegraph made with perf.
//! 2. Folding throughput: our streamed folding of `perf script` text against
//!    the `inferno-collapse-perf` binary on the same bytes, and our peak RSS
//!    while folding a large input (it should stay flat).

use crate::config::Config;
use crate::reports::stdout::out;
use crate::runs::cpu_profile;
use crate::runs::measure::run_once;
use crate::runs::process::{self, Spec};
use crate::runs::workload;
use crate::tasks::invocation::Invocation;
use crate::tools::{perf, Toolbox};
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::time::Instant;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Interleaved rounds of bare and profiled runs.
    #[arg(long, default_value_t = 5, value_parser = crate::config::bounds::rounds)]
    pub rounds: u32,
    /// Megabytes of perf script text to fold per round.
    #[arg(long, default_value_t = 1024, value_parser = crate::config::bounds::fold_mb)]
    pub fold_mb: u64,
    /// The workload [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// Profile without inline frames, to see what they cost [default: defaults.inline_frames].
    #[arg(long)]
    pub no_inline: bool,
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
    let scratch = std::env::temp_dir().join(format!("xtask-bench-self-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let result = measure(config, args, &tools, &perf_path, &variants, &scratch);
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
}

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
/// and exit cost. The last round's file is what the folding is measured on
/// (the profile keeps no perf.data, and cargo-flamegraph's has other
/// settings); the earlier rounds' directories are removed as they go.
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
    variants: &[(String, workload::Prepared)],
    scratch: &std::path::Path,
) -> anyhow::Result<String> {
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
    let (rounds, last_data) = measure_overhead(&rig, args, variants, scratch)?;
    let data = last_data
        .context("no round was run (--rounds 0)")?
        .join(ALONE_DATA);
    let text = perf_script_text(perf_path, &record_settings, &data)?;
    let folding = measure_folding(args, &text)?;
    Ok(report(
        args,
        variants,
        &rounds,
        options.inline_frames,
        &folding,
    ))
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

/// Every variant's interleaved rounds, and the directory of the last one,
/// whose perf record alone recording the folding is measured on.
fn measure_overhead(
    rig: &Rig,
    args: &Args,
    variants: &[(String, workload::Prepared)],
    scratch: &std::path::Path,
) -> anyhow::Result<(Vec<Rounds>, Option<std::path::PathBuf>)> {
    let mut rounds: Vec<Rounds> = variants.iter().map(|_| Rounds::default()).collect();
    let mut last_data = None;
    for round in 0..args.rounds {
        for (v, (label, prepared)) in variants.iter().enumerate() {
            let measured = &mut rounds[v];
            let dir = scratch.join(format!("round-{round}-{v}"));
            std::fs::create_dir_all(&dir)?;
            let profile = run_round(rig, round, prepared, &dir, measured)?;
            report_round(round, label, measured, profile);
            // Only the last recording is needed (for the folding below).
            if let Some(previous) = last_data.replace(dir.clone()) {
                let _ = std::fs::remove_dir_all(previous);
            }
        }
    }
    Ok((rounds, last_data))
}

/// One round of every kind of run of `prepared` in `dir`, their wall times
/// added to `measured`; returns the profile of our run.
fn run_round(
    rig: &Rig,
    round: u32,
    prepared: &workload::Prepared,
    dir: &std::path::Path,
    measured: &mut Rounds,
) -> anyhow::Result<cpu_profile::CpuProfile> {
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
                let started = Instant::now();
                let profiled = cpu_profile::profile(prepared, rig.tools, rig.options, dir)?;
                // The flamegraph task renders too: the overhead counts it.
                crate::reports::flamegraph::write_cpu_files(dir, "bench-self", "")?;
                measured.ours.push(started.elapsed().as_secs_f64());
                profile = Some(profiled);
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

/// Prints a round's times and samples, and records its samples in `measured`.
fn report_round(round: u32, label: &str, measured: &mut Rounds, profile: cpu_profile::CpuProfile) {
    // A figure taken on a lossy recording flatters the overhead: say so per round.
    let lost = profile.record.lost_samples.unwrap_or(0);
    measured
        .samples
        .push(format!("{}/{lost}", profile.folded_samples));
    let last = |times: &[f64]| times.last().copied().unwrap_or(f64::NAN);
    let theirs = if measured.theirs.is_empty() {
        String::new()
    } else {
        format!(", cargo-flamegraph {:.3} s", last(&measured.theirs))
    };
    eprintln!(
        "  round {} ({label}): bare {:.3} s, flamegraph {:.3} s, perf record alone \
         {:.3} s{theirs}, {}",
        round + 1,
        last(&measured.bare),
        last(&measured.ours),
        last(&measured.perf_alone),
        crate::reports::markdown::samples_line(&profile.into())
    );
    if lost > 0 {
        eprintln!("  warning: this round lost samples: its overhead figure is not comparable");
    }
}

/// The perf script text of the recording `data`, with a closing newline so
/// that copies of it can follow one another.
fn perf_script_text(
    perf_path: &std::path::Path,
    record_settings: &perf::Settings,
    data: &std::path::Path,
) -> anyhow::Result<Vec<u8>> {
    let settings = perf::Settings {
        mmap_pages: None,
        ..record_settings.clone()
    };
    let shell = xshell::Shell::new()?;
    let script_args = perf::script_args(&settings, data);
    let script = xshell::cmd!(shell, "{perf_path} {script_args...}")
        .quiet()
        .ignore_stderr()
        .output()
        .context("cannot run perf script")?;
    if script.stdout.is_empty() {
        bail!("perf script printed nothing for {}", data.display());
    }
    let mut text = script.stdout;
    text.extend_from_slice(b"\n");
    Ok(text)
}

/// The folding rounds' times and this process's peak RSS around them.
struct Folding {
    /// Bytes folded per round.
    total: u64,
    ours: Vec<f64>,
    /// `inferno-collapse-perf`'s, when installed.
    theirs: Vec<f64>,
    rss_before: u64,
    rss_after: u64,
}

/// Folds `text`, cycled up to the requested size, with ours and with
/// `inferno-collapse-perf`.
fn measure_folding(args: &Args, text: &[u8]) -> anyhow::Result<Folding> {
    // Whole copies only, so the input never ends inside a stack.
    let copies = (args.fold_mb * 1024 * 1024).div_ceil(text.len() as u64);
    let total = copies * text.len() as u64;
    eprintln!(
        "folding {} MB of perf script text ({} KB cycled)",
        args.fold_mb,
        text.len() / 1024
    );

    // Interleaved rounds (ours, theirs, ours, ...) so machine drift hits both.
    let inferno = which::which("inferno-collapse-perf").ok();
    let rss_before = peak_rss_bytes();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..args.rounds.max(3) {
        let started = Instant::now();
        perf::fold(Cycle::new(text, total), std::io::sink())?;
        ours.push(started.elapsed().as_secs_f64());
        if let Some(binary) = &inferno {
            theirs.push(time_inferno_binary(binary, text, total)?);
        }
        eprintln!(
            "  fold round {}: ours {:.2} s{}",
            round + 1,
            ours[round as usize],
            theirs
                .last()
                .map(|t| format!(", inferno-collapse-perf {t:.2} s"))
                .unwrap_or_default()
        );
    }
    Ok(Folding {
        total,
        ours,
        theirs,
        rss_before,
        rss_after: peak_rss_bytes(),
    })
}

/// The report's table: a variant's rows each, then the folding's.
fn report(
    args: &Args,
    variants: &[(String, workload::Prepared)],
    rounds: &[Rounds],
    inline: bool,
    folding: &Folding,
) -> String {
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
    out.push_str(&folding_rows(args, folding));
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

/// The report's rows of the folding rounds.
fn folding_rows(args: &Args, folding: &Folding) -> String {
    let Folding {
        total,
        ours,
        theirs,
        rss_before,
        rss_after,
    } = folding;
    let ours_s = median(ours);
    let theirs_s = (!theirs.is_empty()).then(|| median(theirs));
    let fold_ratios: Vec<f64> = theirs.iter().zip(ours).map(|(t, o)| t / o).collect();
    let mb = *total as f64 / (1024.0 * 1024.0);
    let mut out = String::new();
    out.push_str(&format!(
        "| folding, ours, median | {:.0} MB/s |\n",
        mb / ours_s
    ));
    match theirs_s {
        Some(theirs) => {
            out.push_str(&format!(
                "| folding, inferno-collapse-perf, median | {:.0} MB/s |\n",
                mb / theirs
            ));
            out.push_str(&format!(
                "| **folding throughput, ours / inferno-collapse-perf** (median of per-round ratios) | **{:.2}×** |\n",
                median(&fold_ratios)
            ));
        }
        None => out.push_str(
            "| folding, inferno-collapse-perf | not installed (`cargo install inferno`) |\n",
        ),
    }
    out.push_str(&format!(
        "| xtask peak RSS before / after folding {} MB | {} / {} |\n",
        args.fold_mb,
        crate::reports::markdown::format_bytes(*rss_before as f64),
        crate::reports::markdown::format_bytes(*rss_after as f64)
    ));
    out
}

/// The report's row of a variant's command line, which comes from the config.
fn workload_row(label: &str, argv: &[String]) -> String {
    format!(
        "| workload, {label} | {} |\n",
        crate::reports::markdown_text::code_cell(&argv.join(" "))
    )
}

/// Feeds the same cycled bytes to `inferno-collapse-perf` on stdin.
fn time_inferno_binary(binary: &std::path::Path, text: &[u8], total: u64) -> anyhow::Result<f64> {
    let started = Instant::now();
    let mut spec = Spec::new(binary);
    spec.stdin_piped = true;
    let mut child = process::start(spec)?;
    let mut stdin = child.stdin.take().context("no stdin")?;
    let mut source = Cycle::new(text, total);
    let mut buffer = vec![0u8; 1 << 20];
    loop {
        let n = source.read(&mut buffer)?;
        if n == 0 {
            break;
        }
        stdin.write_all(&buffer[..n])?;
    }
    drop(stdin);
    let outcome = child.wait();
    if !outcome.success() {
        bail!(
            "inferno-collapse-perf failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(started.elapsed().as_secs_f64())
}

/// Peak RSS of this process so far (getrusage), in bytes.
fn peak_rss_bytes() -> u64 {
    use nix::sys::resource::{getrusage, UsageWho};
    let unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    getrusage(UsageWho::RUSAGE_SELF).map_or(0, |usage| usage.max_rss().max(0) as u64 * unit)
}

/// A reader that repeats `text` until `total` bytes were read, so a large
/// input costs no disk and no memory.
struct Cycle<'a> {
    text: &'a [u8],
    position: usize,
    remaining: u64,
}

impl<'a> Cycle<'a> {
    fn new(text: &'a [u8], total: u64) -> Cycle<'a> {
        Cycle {
            text,
            position: 0,
            remaining: total,
        }
    }
}

impl Read for Cycle<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.remaining == 0 || self.text.is_empty() {
            return Ok(0);
        }
        let available = &self.text[self.position..];
        let n = available
            .len()
            .min(buffer.len())
            .min(self.remaining as usize);
        buffer[..n].copy_from_slice(&available[..n]);
        self.position = (self.position + n) % self.text.len();
        self.remaining -= n as u64;
        Ok(n)
    }
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
    fn cycle_repeats_up_to_the_total() {
        let mut out = Vec::new();
        Cycle::new(b"abc", 8).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcabcab");
    }
}
