//! bench-self's folding throughput: our streamed folding of `perf script`
//! text against the `inferno-collapse-perf` binary on the same bytes, and
//! the xtask's peak RSS while folding a large input (it should stay flat).
//! A part of its own: it measures the text path of the CPU profile, and goes
//! with it.

use super::{median, Args};
use crate::runs::process::{self, Spec};
use crate::tools::perf;
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::time::Instant;

/// The perf script text of the recording `data`, with a closing newline so
/// that copies of it can follow one another.
pub(super) fn perf_script_text(
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
pub(super) struct Folding {
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
pub(super) fn measure_folding(args: &Args, text: &[u8]) -> anyhow::Result<Folding> {
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

/// The report's rows of the folding rounds.
pub(super) fn folding_rows(args: &Args, folding: &Folding) -> String {
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
