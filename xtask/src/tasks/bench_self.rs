//! `cargo xtask bench-self`: the xtask's own performance, measured the way
//! this machine allows (2 shared cores, noisy): ratios and medians taken in
//! the same run, never one absolute time.
//!
//! 1. Flamegraph overhead: the flamegraph task's engine end to end (perf
//!    record, perf script, folding, SVG) divided by the bare workload's wall
//!    time, rounds interleaved (bare, profiled, bare, profiled, ...).
//! 2. Folding throughput: our streamed folding of `perf script` text against
//!    the `inferno-collapse-perf` binary on the same bytes, and our peak RSS
//!    while folding a large input (it should stay flat).

use crate::config::Config;
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
    #[arg(long, default_value_t = 5)]
    pub rounds: u32,
    /// Megabytes of perf script text to fold per round.
    #[arg(long, default_value_t = 1024)]
    pub fold_mb: u64,
    /// The workload [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    let tools = Toolbox::detect();
    let perf_path = tools.perf.path()?.to_path_buf();
    let (name, workload) = config.workload(args.workload.as_deref())?;
    let values = config.param_values(None, params);
    let prepared = workload::prepare(config, name, workload, &values)?;
    for warning in &prepared.warnings {
        eprintln!("{warning}");
    }
    let scratch = std::env::temp_dir().join(format!("xtask-bench-self-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)?;
    let result = measure(config, args, &tools, &perf_path, &prepared, &scratch);
    let _ = std::fs::remove_dir_all(&scratch);
    let report = result?;
    print!("{report}");
    Ok(0)
}

fn measure(
    config: &Config,
    args: &Args,
    tools: &Toolbox,
    perf_path: &std::path::Path,
    prepared: &workload::Prepared,
    scratch: &std::path::Path,
) -> anyhow::Result<String> {
    let options = cpu_profile::Options::new(config, None, None);
    let inline = options.inline_frames;
    eprintln!(
        "flamegraph overhead: {} rounds of bare vs profiled `{}` (inline frames: {})",
        args.rounds,
        prepared.name,
        if inline { "on" } else { "off" }
    );
    run_once(prepared)?; // warm the page cache and the CPU
    let (mut bare, mut profiled, mut samples) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..args.rounds {
        let (sample, _) = run_once(prepared)?;
        bare.push(sample.wall_s);
        let dir = scratch.join(format!("round-{round}"));
        std::fs::create_dir_all(&dir)?;
        let started = Instant::now();
        let profile = cpu_profile::profile(prepared, tools, &options, &dir)?;
        // The flamegraph task renders too: the overhead counts it.
        crate::reports::flamegraph::write_cpu_files(&dir, "bench-self", "")?;
        profiled.push(started.elapsed().as_secs_f64());
        // A figure taken on a lossy recording flatters the overhead: say so per round.
        let lost = profile.record.lost_samples.unwrap_or(0);
        samples.push(format!("{}/{lost}", profile.folded_samples));
        eprintln!(
            "  round {}: bare {:.3} s, flamegraph {:.3} s, {}",
            round + 1,
            bare[round as usize],
            profiled[round as usize],
            crate::reports::markdown::samples_line(&profile.into())
        );
        if lost > 0 {
            eprintln!("  warning: this round lost samples: its overhead figure is not comparable");
        }
    }
    let ratios: Vec<f64> = bare.iter().zip(&profiled).map(|(b, p)| p / b).collect();
    let median = |v: &[f64]| crate::stats::summarize(v).map_or(f64::NAN, |s| s.median);

    // The perf script text of the last round, cycled up to the requested size.
    let data = scratch
        .join(format!("round-{}", args.rounds - 1))
        .join(cpu_profile::PERF_DATA);
    let settings = perf::Settings {
        frequency: options.frequency,
        call_graph: options.call_graph,
        inline_frames: inline,
        kernel_frames: options.kernel_frames,
        mmap_pages: None,
    };
    let shell = xshell::Shell::new()?;
    let script_args = perf::script_args(&settings, &data);
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
        perf::fold(Cycle::new(&text, total), std::io::sink())?;
        ours.push(started.elapsed().as_secs_f64());
        if let Some(binary) = &inferno {
            theirs.push(time_inferno_binary(binary, &text, total)?);
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
    let rss_after = peak_rss_bytes();
    let ours_s = median(&ours);
    let theirs_s = (!theirs.is_empty()).then(|| median(&theirs));
    let fold_ratios: Vec<f64> = theirs.iter().zip(&ours).map(|(t, o)| t / o).collect();

    let mb = total as f64 / (1024.0 * 1024.0);
    let mut out = String::new();
    out.push_str("| measure | value |\n|---|---:|\n");
    out.push_str(&format!("| workload | `{}` |\n", prepared.argv().join(" ")));
    out.push_str(&format!(
        "| bare run, median of {} | {:.3} s |\n",
        args.rounds,
        median(&bare)
    ));
    out.push_str(&format!(
        "| flamegraph end to end, median | {:.3} s |\n",
        median(&profiled)
    ));
    out.push_str(&format!(
        "| **flamegraph / bare** (median of per-round ratios) | **{:.2}×** |\n",
        median(&ratios)
    ));
    out.push_str(&format!(
        "| samples in the flamegraph / lost, per round | {} |\n",
        samples.join(", ")
    ));
    out.push_str(&format!(
        "| inline frames | {} |\n",
        if inline {
            "yes (in process)"
        } else {
            "no (--no-inline)"
        }
    ));
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
        crate::reports::markdown::format_bytes(rss_before as f64),
        crate::reports::markdown::format_bytes(rss_after as f64)
    ));
    Ok(out)
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

    #[test]
    fn cycle_repeats_up_to_the_total() {
        let mut out = Vec::new();
        Cycle::new(b"abc", 8).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"abcabcab");
    }
}
