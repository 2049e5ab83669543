//! Off-CPU time of a profiled run: each switch-out's stack weighted by the
//! time until the same thread ran again, folded into `offcpu.folded`
//! (counts in µs). Recorded in the same `perf record` as the CPU samples
//! (`tools::offcpu::record_args`); folded afterwards from perf.data.

use crate::runs::process::{self, Spec};
use crate::tools::{offcpu, perf};
use anyhow::{bail, Context};
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

pub const FOLDED: &str = "offcpu.folded";
pub const SVG: &str = "offcpu-flamegraph.svg";

/// Stacks listed in run.json and the README.
const TOP_STACKS: usize = 10;

/// What the off-CPU profile holds.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct OffCpu {
    /// Time threads spent blocked (sleeping or waiting for I/O), in the flamegraph.
    pub blocked_us: u64,
    /// Switches in which a thread blocked (in the flamegraph).
    pub blocked_switches: u64,
    /// Time runnable threads waited for a CPU after preemption: not blocking,
    /// so not in the flamegraph (it says the machine was busy).
    pub preempted_us: u64,
    pub preempted_switches: u64,
    /// Switch-outs with no switch-in before the recording ended (a thread
    /// exiting, or blocked when perf stopped): their time is unknown.
    pub unfinished_switches: u64,
    /// `sched:sched_switch` samples perf recorded (`perf report --stats`).
    pub recorded_switches: Option<u64>,
    /// Records of lost switch events perf logged (its ring buffer overflowed).
    pub lost_switch_records: u64,
    /// Lines of perf script that looked like switches but did not parse.
    pub unparsed_lines: u64,
    /// The heaviest stacks, heaviest first: `root;...;leaf` and µs.
    pub top_stacks: Vec<(String, u64)>,
    pub notes: Vec<String>,
}

impl OffCpu {
    /// Switch-outs read from perf script: blocked, preempted and unfinished.
    pub fn parsed_switches(&self) -> u64 {
        self.blocked_switches + self.preempted_switches + self.unfinished_switches
    }
}

/// Pairs each switch-out with the thread's next switch-in.
#[derive(Default)]
pub struct Weigher {
    /// Per thread: its last switch-out, waiting for the switch-in.
    out: HashMap<u32, (u64, String, bool)>,
    /// Blocked time per stack, and the totals, in ns: rounded to µs once, at
    /// the end, so that thousands of short waits do not each lose their
    /// fraction of a µs.
    stacks_ns: HashMap<String, u64>,
    blocked_ns: u64,
    preempted_ns: u64,
    result: OffCpu,
}

/// ns to the nearest µs.
fn micros(ns: u64) -> u64 {
    (ns + 500) / 1_000
}

impl Weigher {
    pub fn feed(&mut self, event: offcpu::Event) {
        match event {
            offcpu::Event::Out {
                tid,
                time_ns,
                comm,
                state,
                stack,
            } => {
                // A previous switch-out with no switch-in between: perf lost it.
                if self.out.remove(&tid).is_some() {
                    self.result.unfinished_switches += 1;
                }
                // `R`/`R+`: still runnable, preempted rather than blocked.
                let preempted = state.starts_with('R');
                let mut folded = comm.replace(';', ":");
                for frame in stack.iter().rev() {
                    folded.push(';');
                    folded.push_str(&frame.replace(';', ":"));
                }
                self.out.insert(tid, (time_ns, folded, preempted));
            }
            offcpu::Event::In { tid, time_ns } => {
                let Some((out_ns, stack, preempted)) = self.out.remove(&tid) else {
                    // The first switch-in of a thread, or one whose switch-out was lost.
                    return;
                };
                let ns = time_ns.saturating_sub(out_ns);
                if preempted {
                    self.preempted_ns += ns;
                    self.result.preempted_switches += 1;
                } else {
                    self.blocked_ns += ns;
                    self.result.blocked_switches += 1;
                    *self.stacks_ns.entry(stack).or_default() += ns;
                }
            }
        }
    }

    /// The folded stacks (demangled, sorted) and the summary.
    pub fn finish(mut self) -> (Vec<(String, u64)>, OffCpu) {
        self.result.unfinished_switches += self.out.len() as u64;
        self.result.blocked_us = micros(self.blocked_ns);
        self.result.preempted_us = micros(self.preempted_ns);
        let mut stacks: Vec<(String, u64)> = self
            .stacks_ns
            .into_iter()
            .map(|(stack, ns)| (stack, micros(ns)))
            .filter(|(_, us)| *us > 0)
            .map(|(stack, us)| (crate::tools::demangle::demangle_stack(&stack), us))
            .collect();
        stacks.sort();
        let mut top = stacks.clone();
        top.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        top.truncate(TOP_STACKS);
        self.result.top_stacks = top;
        (stacks, self.result)
    }
}

/// Folds the switches in `data` into `dir/offcpu.folded` and counts them
/// against what perf recorded.
pub fn fold_off_cpu(
    perf_path: &Path,
    settings: &perf::Settings,
    data: &Path,
    dir: &Path,
) -> anyhow::Result<OffCpu> {
    let mut spec = Spec::new(perf_path).args(offcpu::script_args(settings, data));
    spec.stdout_raw = true;
    let mut running = process::start(spec)?;
    let stdout = running.stdout.take().context("perf script has no stdout")?;
    // The blocking stacks get the same inline frames as the CPU ones.
    let stdout = crate::tools::perf_script::Lines::new(stdout, settings.inline_frames);
    let mut weigher = Weigher::default();
    let parsed = offcpu::parse(std::io::BufReader::with_capacity(1 << 20, stdout), |e| {
        weigher.feed(e)
    });
    let outcome = running.wait();
    let unparsed = parsed.with_context(|| format!("`perf script` failed:\n{}", outcome.tail()))?;
    if !outcome.success() {
        bail!(
            "`perf script` of the switches failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    process::check_interrupted()?;
    let (stacks, mut off_cpu) = weigher.finish();
    let folded = dir.join(FOLDED);
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(&folded)
            .with_context(|| format!("cannot write {}", folded.display()))?,
    );
    for (stack, us) in &stacks {
        writeln!(out, "{stack} {us}")?;
    }
    out.flush()
        .with_context(|| format!("cannot write {}", folded.display()))?;
    if let Some(stats) = perf_stats(perf_path, data) {
        off_cpu.recorded_switches = offcpu::parse_stats(&stats);
        off_cpu.lost_switch_records = offcpu::parse_lost_switch_records(&stats);
    }
    off_cpu.unparsed_lines = unparsed;
    off_cpu.notes = notes(&off_cpu);
    Ok(off_cpu)
}

/// perf's own counts per event, to check the folding against.
fn perf_stats(perf_path: &Path, data: &Path) -> Option<String> {
    let args: Vec<String> = offcpu::stats_args(data)
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let output = crate::tools::probe(perf_path, &args)?;
    Some(String::from_utf8_lossy(&output.stdout).into_owned())
}

pub(super) fn notes(off_cpu: &OffCpu) -> Vec<String> {
    let unparsed = off_cpu.unparsed_lines;
    let mut notes = Vec::new();
    let parsed = off_cpu.parsed_switches();
    match off_cpu.recorded_switches {
        Some(recorded) if recorded != parsed => notes.push(format!(
            "perf recorded {recorded} switches (sched:sched_switch) but `perf script` gave \
             {parsed}: the off-CPU flamegraph is missing {}",
            recorded.abs_diff(parsed)
        )),
        None => notes.push(
            "perf's count of the switches (`perf report --stats`) could not be read: the \
             off-CPU profile is not checked against it"
                .into(),
        ),
        _ => {}
    }
    if off_cpu.lost_switch_records > 0 {
        notes.push(format!(
            "perf's ring buffer overflowed {} times while recording switches (the lost samples \
             above count these too): blocked time is undercounted. Record a shorter run, or \
             fewer threads, or with --call-graph fp (smaller samples)",
            off_cpu.lost_switch_records
        ));
    }
    if unparsed > 0 {
        notes.push(format!(
            "{unparsed} lines of perf script's switch events did not parse and are not in the \
             off-CPU flamegraph"
        ));
    }
    if off_cpu.unfinished_switches > 0 {
        notes.push(format!(
            "{} switch-outs had no switch-in before the recording ended (threads exiting, or \
             blocked when perf stopped): their time is not counted",
            off_cpu.unfinished_switches
        ));
    }
    if off_cpu.preempted_switches > 0 {
        notes.push(format!(
            "{:.1} ms in {} preemptions (runnable threads waiting for a CPU) are not in the \
             off-CPU flamegraph: they are the machine being busy, not the program blocking",
            off_cpu.preempted_us as f64 / 1000.0,
            off_cpu.preempted_switches
        ));
    }
    if off_cpu.blocked_switches == 0 {
        notes
            .push("no thread blocked during the recording: the off-CPU flamegraph is empty".into());
    }
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn weigh(fixture: &str) -> (Vec<(String, u64)>, OffCpu) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/offcpu")
            .join(fixture);
        let file = std::fs::File::open(path).unwrap();
        let mut weigher = Weigher::default();
        let unparsed = offcpu::parse(std::io::BufReader::new(file), |e| weigher.feed(e)).unwrap();
        assert_eq!(unparsed, 0);
        weigher.finish()
    }

    /// sh -c 'sleep 0.2; ...': sleep's 200 ms in clock_nanosleep, and sh's
    /// wait for it in wait4, are the blocked time.
    #[test]
    fn a_sleeping_shell_blocks_200_ms() {
        let (stacks, off_cpu) = weigh("sleep-script.txt");
        let sleep: u64 = stacks
            .iter()
            .filter(|(s, _)| s.starts_with("sleep;") && s.contains("clock_nanosleep"))
            .map(|(_, us)| us)
            .sum();
        assert!(
            (195_000..260_000).contains(&sleep),
            "{sleep} µs: {stacks:?}"
        );
        let wait: u64 = stacks
            .iter()
            .filter(|(s, _)| s.starts_with("sh;") && s.ends_with("wait4"))
            .map(|(_, us)| us)
            .sum();
        assert!(wait >= 195_000, "{wait} µs: {stacks:?}");
        assert_eq!(
            off_cpu.blocked_us,
            stacks.iter().map(|(_, us)| us).sum::<u64>()
        );
        assert_eq!(
            off_cpu.top_stacks[0].1,
            stacks.iter().map(|s| s.1).max().unwrap()
        );
    }

    /// The demo service under load (`serve --log ... --fsync true`): its
    /// threads block on the store's lock and in fdatasync, and wait in recv
    /// for the next request.
    #[test]
    fn the_service_blocks_on_its_lock_and_its_log() {
        let (stacks, off_cpu) = weigh("service-script.txt");
        let weight = |needle: &str| -> u64 {
            stacks
                .iter()
                .filter(|(s, _)| s.contains(needle))
                .map(|(_, us)| us)
                .sum()
        };
        let lock = weight("Mutex>::lock_contended");
        let fsync = weight(";fdatasync");
        assert!(lock > 0 && fsync > 0, "lock {lock} µs, fsync {fsync} µs");
        assert!(
            lock + fsync > off_cpu.blocked_us / 2,
            "lock {lock} + fsync {fsync} of {} µs",
            off_cpu.blocked_us
        );
        assert!(stacks.iter().all(|(s, _)| s.starts_with("cdr-demo;")));
        // 208 switches recorded (`perf report --stats` of this recording).
        assert!(off_cpu.parsed_switches() <= 208 && off_cpu.parsed_switches() > 150);
    }

    #[test]
    fn preempted_and_unfinished_switches_are_counted_apart() {
        let mut weigher = Weigher::default();
        let out = |tid, time_ns, state: &str| offcpu::Event::Out {
            tid,
            time_ns,
            comm: "p".into(),
            state: state.into(),
            stack: vec!["leaf".into(), "main".into()],
        };
        weigher.feed(out(1, 1_000_000, "S"));
        weigher.feed(offcpu::Event::In {
            tid: 1,
            time_ns: 4_000_000,
        });
        weigher.feed(out(2, 1_000_000, "R+"));
        weigher.feed(offcpu::Event::In {
            tid: 2,
            time_ns: 2_000_000,
        });
        weigher.feed(out(3, 1_000_000, "D"));
        let (stacks, off_cpu) = weigher.finish();
        assert_eq!(stacks, vec![("p;main;leaf".to_string(), 3000)]);
        assert_eq!(off_cpu.blocked_us, 3000);
        assert_eq!(off_cpu.preempted_us, 1000);
        assert_eq!(off_cpu.unfinished_switches, 1);
        let notes = notes(&off_cpu);
        assert!(notes.iter().any(|n| n.contains("could not be read")));
        assert!(notes.iter().any(|n| n.contains("1 preemptions")));
    }
}
