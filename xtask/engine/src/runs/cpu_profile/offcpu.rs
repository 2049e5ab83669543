//! Off-CPU time of a profiled run: each switch-out's stack weighted by the
//! time until the same thread ran again, folded into `offcpu.folded`
//! (counts in µs). Recorded in the same `perf record` as the CPU samples
//! (`tools::offcpu::record_args`); folded afterwards from perf.data, and
//! checked against perf's own counts of the switches it recorded and lost.

use crate::runs::process;
use crate::tools::{offcpu, perf, perf_data};
use anyhow::Context;
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
    /// Of those, the switches whose stack unwound to an entry point.
    pub complete_switches: u64,
    /// Time runnable threads waited for a CPU after preemption: not blocking,
    /// so not in the flamegraph (it says the machine was busy).
    pub preempted_us: u64,
    pub preempted_switches: u64,
    /// Blocking switches perf recorded without their stack (its sample was
    /// lost): their time is not in the flamegraph.
    pub stackless_switches: u64,
    pub stackless_us: u64,
    /// Switch-outs with no switch-in before the recording ended (a thread
    /// exiting, or blocked when perf stopped): their time is unknown.
    pub unfinished_switches: u64,
    /// `sched:sched_switch` samples perf recorded (its count in perf.data).
    pub recorded_switches: Option<u64>,
    /// `sched:sched_switch` samples read from perf script.
    pub parsed_stacks: u64,
    /// `sched:sched_switch` samples the kernel dropped (perf's count per
    /// event; `None` where perf does not count losses per event).
    pub lost_switches: Option<u64>,
    /// Switch records (`--switch-events`) the kernel dropped.
    pub lost_switch_records: Option<u64>,
    /// Lines of perf script that looked like switches but did not parse.
    pub unparsed_lines: u64,
    /// perf record ran at real-time priority (`tools::offcpu::REALTIME`).
    pub realtime: bool,
    /// The heaviest stacks, heaviest first: `root;...;leaf` and µs.
    pub top_stacks: Vec<(String, u64)>,
    pub notes: Vec<String>,
}

impl OffCpu {
    /// The share (0–1) of blocking switches perf lost, of those it recorded
    /// and lost.
    pub fn lost_share(&self) -> Option<f64> {
        let (recorded, lost) = (self.recorded_switches?, self.lost_switches?);
        (recorded + lost > 0).then(|| lost as f64 / (recorded + lost) as f64)
    }

    /// The share (0–1) of the flamegraph's switches whose stack is complete.
    pub fn complete_share(&self) -> Option<f64> {
        (self.blocked_switches > 0)
            .then(|| self.complete_switches as f64 / self.blocked_switches as f64)
    }
}

/// The tracepoint fires in the same pass of the scheduler as perf's switch
/// record, with the run queue locked: a stack further back than this is
/// another switch's.
const SAME_SWITCH_NS: u64 = 1_000_000;

/// A thread between its switch-out and its switch-in.
enum Away {
    Preempted {
        since: u64,
    },
    /// Blocked, with the folded stack and whether it is complete.
    Blocked {
        since: u64,
        stack: Option<(String, bool)>,
    },
}

/// One thread's switches so far.
#[derive(Default)]
struct Thread {
    /// The stack of its last blocking switch, waiting for perf's switch record.
    stack: Option<(u64, String, bool)>,
    away: Option<Away>,
}

/// Pairs each switch-out with the thread's next switch-in, and each blocking
/// switch-out with the stack the tracepoint recorded for it.
#[derive(Default)]
pub struct Weigher {
    threads: HashMap<u32, Thread>,
    /// Blocked time per stack, and the totals, in ns: rounded to µs once, at
    /// the end, so that thousands of short waits do not each lose their
    /// fraction of a µs.
    stacks_ns: HashMap<String, u64>,
    blocked_ns: u64,
    preempted_ns: u64,
    stackless_ns: u64,
    result: OffCpu,
}

/// ns to the nearest µs.
fn micros(ns: u64) -> u64 {
    (ns + 500) / 1_000
}

/// `comm;root;...;leaf` from a stack listed leaf first.
fn fold_stack(comm: &str, stack: &[String]) -> String {
    let mut folded = comm.replace(';', ":");
    for frame in stack.iter().rev() {
        folded.push(';');
        folded.push_str(&frame.replace(';', ":"));
    }
    folded
}

impl Weigher {
    pub fn feed(&mut self, event: offcpu::Event) {
        match event {
            offcpu::Event::Blocks {
                tid,
                time_ns,
                comm,
                state,
                stack,
            } => {
                self.result.parsed_stacks += 1;
                // `R`/`R+`: preempted, from a recording without the filter;
                // the switch record counts it.
                if state.starts_with('R') {
                    return;
                }
                let folded = fold_stack(&comm, &stack);
                let complete = crate::tools::perf::stack_is_complete(&folded);
                let thread = self.threads.entry(tid).or_default();
                // A stack no switch record claimed: both of that switch's records were lost.
                if thread.stack.replace((time_ns, folded, complete)).is_some() {
                    self.result.unfinished_switches += 1;
                }
            }
            offcpu::Event::Out {
                tid,
                time_ns,
                preempted,
            } => {
                let thread = self.threads.entry(tid).or_default();
                let stack = thread.stack.take();
                let away = if preempted {
                    Away::Preempted { since: time_ns }
                } else {
                    let stack = match stack {
                        Some((at, folded, complete))
                            if at <= time_ns && time_ns - at <= SAME_SWITCH_NS =>
                        {
                            Some((folded, complete))
                        }
                        Some(_) => {
                            self.result.unfinished_switches += 1;
                            None
                        }
                        None => None,
                    };
                    Away::Blocked {
                        since: time_ns,
                        stack,
                    }
                };
                // A previous switch-out with no switch-in between: perf lost it.
                if thread.away.replace(away).is_some() {
                    self.result.unfinished_switches += 1;
                }
            }
            offcpu::Event::In { tid, time_ns } => {
                let thread = self.threads.entry(tid).or_default();
                let away = match thread.away.take() {
                    Some(away) => away,
                    // Its switch record was lost, its stack was not.
                    None => match thread.stack.take() {
                        Some((since, folded, complete)) => Away::Blocked {
                            since,
                            stack: Some((folded, complete)),
                        },
                        // The first switch-in of a thread.
                        None => return,
                    },
                };
                self.weigh(away, time_ns);
            }
        }
    }

    fn weigh(&mut self, away: Away, until: u64) {
        match away {
            Away::Preempted { since } => {
                self.preempted_ns += until.saturating_sub(since);
                self.result.preempted_switches += 1;
            }
            Away::Blocked {
                since,
                stack: Some((stack, complete)),
            } => {
                let ns = until.saturating_sub(since);
                self.blocked_ns += ns;
                self.result.blocked_switches += 1;
                self.result.complete_switches += u64::from(complete);
                *self.stacks_ns.entry(stack).or_default() += ns;
            }
            Away::Blocked { since, stack: None } => {
                self.stackless_ns += until.saturating_sub(since);
                self.result.stackless_switches += 1;
            }
        }
    }

    /// The folded stacks (demangled, sorted) and the summary.
    pub fn finish(mut self) -> (Vec<(String, u64)>, OffCpu) {
        for thread in self.threads.values() {
            self.result.unfinished_switches +=
                u64::from(thread.away.is_some()) + u64::from(thread.stack.is_some());
        }
        self.result.blocked_us = micros(self.blocked_ns);
        self.result.preempted_us = micros(self.preempted_ns);
        self.result.stackless_us = micros(self.stackless_ns);
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

/// perf's own counts of a recording's switches: the tracepoint's samples and
/// losses, and the losses of the switch records (`None`: not counted).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct SwitchCounts {
    pub recorded: Option<u64>,
    pub lost: Option<u64>,
    pub lost_records: Option<u64>,
}

/// Folds the switches in `data` into `dir/offcpu.folded` and checks them
/// against what perf counted.
pub fn fold_off_cpu(
    settings: &perf::Settings,
    data: &Path,
    dir: &Path,
    counts: SwitchCounts,
    realtime: bool,
) -> anyhow::Result<OffCpu> {
    // The blocking stacks get the same names and inline frames as the CPU ones.
    let mut weigher = Weigher::default();
    let unparsed = perf_data::read_switches(data, settings.inline_frames, |e| weigher.feed(e))
        .with_context(|| format!("cannot read the switches in {}", data.display()))?;
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
    off_cpu.recorded_switches = counts.recorded;
    off_cpu.lost_switches = counts.lost;
    off_cpu.lost_switch_records = counts.lost_records;
    off_cpu.unparsed_lines = unparsed;
    off_cpu.realtime = realtime;
    off_cpu.notes = notes(&off_cpu);
    Ok(off_cpu)
}

fn ms(us: u64) -> f64 {
    us as f64 / 1000.0
}

/// What the reader must know about the off-CPU profile: switches perf lost
/// or that did not add up, and what helps. Only what was measured to help is
/// suggested (real-time priority for perf record, fewer other programs, a
/// lighter load): a smaller `--freq` or `--call-graph fp` do not lower the
/// switches' rate, and fp stacks of a program built without frame pointers
/// stop at their first frame.
pub(super) fn notes(off_cpu: &OffCpu) -> Vec<String> {
    let mut notes = Vec::new();
    match off_cpu.recorded_switches {
        Some(recorded) if recorded != off_cpu.parsed_stacks => notes.push(format!(
            "perf recorded {recorded} blocking switches ({}) but `perf script` gave {}: the \
             off-CPU flamegraph is missing {}",
            offcpu::EVENT,
            off_cpu.parsed_stacks,
            recorded.abs_diff(off_cpu.parsed_stacks)
        )),
        None => notes.push(
            "perf's count of the switches could not be read: the off-CPU profile is not \
             checked against it"
                .into(),
        ),
        _ => {}
    }
    let lost = off_cpu.lost_switches.unwrap_or(0) + off_cpu.lost_switch_records.unwrap_or(0);
    if lost > 0 {
        let share = off_cpu.lost_share().map_or_else(String::new, |s| {
            format!(" ({:.1} % of the stacks)", s * 100.0)
        });
        let what_helps = if off_cpu.realtime {
            "perf record ran at real-time priority and still fell behind the switches: profile \
             again under a lighter load (the switches a second decide, not the run's length), \
             or with fewer other programs running"
        } else {
            "perf record ran at normal priority and fell behind when the machine had no CPU to \
             spare for it: profile again as root (or with CAP_SYS_NICE), so that it runs at \
             real-time priority, or with fewer other programs running, or under a lighter load"
        };
        notes.push(format!(
            "perf lost {} stacks of blocking switches{share} and {} switch records: its ring \
             buffer was full while perf record wrote, so blocked time is undercounted. \
             {what_helps}",
            off_cpu.lost_switches.unwrap_or(0),
            off_cpu.lost_switch_records.unwrap_or(0),
        ));
    }
    if off_cpu.stackless_switches > 0 {
        notes.push(format!(
            "{:.1} ms in {} blocking switches whose stack perf lost are not in the off-CPU \
             flamegraph",
            ms(off_cpu.stackless_us),
            off_cpu.stackless_switches
        ));
    }
    if let Some(share) = off_cpu.complete_share().filter(|s| *s < 0.9) {
        notes.push(format!(
            "only {:.1} % of the blocking stacks unwound to the thread's entry point; the rest \
             start at an inner frame: deeper than the {} bytes perf copies per switch, or \
             through code without unwind information",
            share * 100.0,
            offcpu::SWITCH_STACK_BYTES
        ));
    }
    if off_cpu.unparsed_lines > 0 {
        notes.push(format!(
            "{} lines of perf script's switch events did not parse and are not in the \
             off-CPU flamegraph",
            off_cpu.unparsed_lines
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
            ms(off_cpu.preempted_us),
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
        assert!(off_cpu.parsed_stacks <= 208 && off_cpu.parsed_stacks > 150);
        assert!(off_cpu.complete_share().unwrap() > 0.95, "{off_cpu:?}");
    }

    /// sh -c 'sleep 0.2; busy loop' recorded with the tracepoint's filter
    /// beside two busy loops: three blocking switches with their stacks
    /// (sh's vfork, sleep, sh's wait4), and five preemptions of the busy
    /// loop known from perf's `OUT preempt` records alone.
    #[test]
    fn blocking_switches_have_stacks_and_preemptions_only_records() {
        let (stacks, off_cpu) = weigh("sleep-filtered-script.txt");
        assert_eq!(off_cpu.parsed_stacks, 3);
        assert_eq!(off_cpu.blocked_switches, 3);
        assert_eq!(off_cpu.stackless_switches, 0);
        assert_eq!(off_cpu.unfinished_switches, 0);
        // 1062.843375 to 1062.847016, .846899 to 1063.057952, .847025 to 1063.058205.
        assert_eq!(off_cpu.blocked_us, 3_641 + 211_053 + 211_180);
        assert_eq!(off_cpu.preempted_switches, 5);
        assert_eq!(off_cpu.preempted_us, 12_063 + 8_025 + 12_038 + 59 + 12_050);
        let sleep: u64 = stacks
            .iter()
            .filter(|(s, _)| s.starts_with("sleep;") && s.contains(";clock_nanosleep"))
            .map(|(_, us)| us)
            .sum();
        assert_eq!(sleep, 211_053, "{stacks:?}");
    }

    fn blocks(tid: u32, time_ns: u64, state: &str, stack: &[&str]) -> offcpu::Event {
        offcpu::Event::Blocks {
            tid,
            time_ns,
            comm: "p".into(),
            state: state.into(),
            stack: stack.iter().map(|f| f.to_string()).collect(),
        }
    }

    fn out(tid: u32, time_ns: u64, preempted: bool) -> offcpu::Event {
        offcpu::Event::Out {
            tid,
            time_ns,
            preempted,
        }
    }

    fn into(tid: u32, time_ns: u64) -> offcpu::Event {
        offcpu::Event::In { tid, time_ns }
    }

    #[test]
    fn preempted_stackless_and_unfinished_switches_are_counted_apart() {
        let mut weigher = Weigher::default();
        // Blocked 3 ms, with a stack that reaches the thread's start.
        weigher.feed(blocks(1, 1_000_000, "S", &["leaf", "main", "start_thread"]));
        weigher.feed(out(1, 1_000_002, false));
        weigher.feed(into(1, 4_000_002));
        // Preempted 1 ms: a record, no stack.
        weigher.feed(out(2, 1_000_000, true));
        weigher.feed(into(2, 2_000_000));
        // Blocked 2 ms, its stack lost.
        weigher.feed(out(4, 1_000_000, false));
        weigher.feed(into(4, 3_000_000));
        // Blocked 5 ms, its switch record lost: the stack still counts.
        weigher.feed(blocks(5, 1_000_000, "D", &["read", "main"]));
        weigher.feed(into(5, 6_000_000));
        // A stack from long before the switch record is another switch's.
        weigher.feed(blocks(6, 1_000_000, "S", &["old"]));
        weigher.feed(out(6, 9_000_000, false));
        weigher.feed(into(6, 10_000_000));
        // Never back.
        weigher.feed(blocks(3, 1_000_000, "D", &["leaf"]));
        weigher.feed(out(3, 1_000_001, false));
        let (stacks, off_cpu) = weigher.finish();
        assert_eq!(
            stacks,
            vec![
                ("p;main;read".to_string(), 5000),
                ("p;start_thread;main;leaf".to_string(), 3000),
            ]
        );
        assert_eq!((off_cpu.blocked_us, off_cpu.blocked_switches), (8000, 2));
        assert_eq!(off_cpu.complete_share(), Some(0.5));
        assert_eq!(
            (off_cpu.preempted_us, off_cpu.preempted_switches),
            (1000, 1)
        );
        assert_eq!(
            (off_cpu.stackless_us, off_cpu.stackless_switches),
            (3000, 2)
        );
        assert_eq!(off_cpu.unfinished_switches, 2);
        assert_eq!(off_cpu.parsed_stacks, 4);
        let notes = notes(&off_cpu);
        assert!(notes.iter().any(|n| n.contains("could not be read")));
        assert!(notes.iter().any(|n| n.contains("1 preemptions")));
        assert!(notes
            .iter()
            .any(|n| n.contains("3.0 ms in 2 blocking switches")));
        assert!(notes.iter().any(|n| n.contains("only 50.0 %")));
    }

    /// Lost switches are reported with the share perf counted, and the note
    /// suggests what lowers the switches' rate or frees a CPU for perf, not
    /// a lower --freq or fp stacks, which do not.
    #[test]
    fn lost_switches_are_a_share_and_the_note_says_what_helps() {
        let off_cpu = OffCpu {
            blocked_switches: 90,
            complete_switches: 90,
            recorded_switches: Some(90),
            parsed_stacks: 90,
            lost_switches: Some(10),
            lost_switch_records: Some(25),
            ..OffCpu::default()
        };
        assert_eq!(off_cpu.lost_share(), Some(0.1));
        let lossy = notes(&off_cpu);
        assert_eq!(lossy.len(), 1, "{lossy:?}");
        assert!(
            lossy[0].contains(
                "perf lost 10 stacks of blocking switches (10.0 % of the stacks) and 25 switch records"
            ),
            "{lossy:?}"
        );
        assert!(
            lossy[0].contains("fewer other programs running"),
            "{lossy:?}"
        );
        assert!(lossy[0].contains("as root"), "{lossy:?}");
        assert!(!lossy[0].contains("--call-graph fp") && !lossy[0].contains("--freq"));
        let realtime = notes(&OffCpu {
            realtime: true,
            ..off_cpu.clone()
        });
        assert!(realtime[0].contains("lighter load"), "{realtime:?}");
        assert!(!realtime[0].contains("as root"), "{realtime:?}");
        let clean = OffCpu {
            lost_switches: Some(0),
            lost_switch_records: Some(0),
            ..off_cpu
        };
        assert!(notes(&clean).is_empty(), "{:?}", notes(&clean));
    }
}
