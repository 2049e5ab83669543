//! Timed runs: warm-ups, then N measured runs, each with wall, user and sys
//! time, peak RSS, exit status and the workload's own metrics, and, with
//! counters on, perf stat's counts of the run.
//!
//! A counted run is `perf stat -x, -o FILE -e EVENTS -- XTASK __measured-exec
//! TIMES WORKLOAD...`: the xtask itself, as a shim between perf and the
//! workload, times the workload and reads its rusage with `wait4`, exactly
//! as an uncounted run does. Timed through perf directly, a run would gain
//! perf's start-up and report perf's peak RSS (more than a small
//! workload's), and a workload killed by a signal would look like a success
//! (perf stat exits 0 then). perf counts the shim too: one exec and one
//! fork, little next to any workload.

use crate::config::{Better, BUILTIN_MEASURES};
use crate::runs::machine_load::{self, MachineLoad};
use crate::runs::process::{self, Outcome};
use crate::runs::progress::Progress;
use crate::runs::workload::{read_metrics, Prepared};
use crate::stats::Summary;
use crate::tools::perf_stat;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One measured run: its times, peak memory, exit code and metrics.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSample {
    pub wall_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_bytes: u64,
    pub exit_code: Option<i32>,
    pub metrics: BTreeMap<String, f64>,
    /// What the result should warn about this run's metrics (an optional one
    /// missing, one printed twice).
    pub warnings: Vec<String>,
    /// perf stat's counts of the run, by measure name (`perf_page_faults`),
    /// in the measure's unit; empty when counters are off.
    pub counters: BTreeMap<String, f64>,
    /// The events perf could not count on this machine (hardware events
    /// without a PMU).
    pub unsupported: Vec<String>,
    /// A server's load: what the server spent over this run.
    pub server: Option<crate::runs::server_usage::ServerUsage>,
    /// A server's load: the operations it made (`ops`).
    pub operations: Option<f64>,
    /// What the machine did over the run: others' CPU, steal, load average.
    pub machine: Option<MachineLoad>,
}

/// How timed runs are counted: perf, the shim (this program) and the events.
#[derive(Debug, Clone, PartialEq)]
pub struct Counting {
    pub perf: PathBuf,
    pub shim: PathBuf,
    pub events: Vec<String>,
}

/// The first argument that makes this program the shim of a counted run.
pub const MEASURED_EXEC: &str = "__measured-exec";

/// Set by the xtask's own `main`: this executable answers [`MEASURED_EXEC`].
/// A program that mounts the tasks under a subcommand of its own does not
/// (its `main` would take the shim's arguments for its own), so its timed
/// runs are not counted.
pub static SHIM_IS_SELF: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Counting for timed runs, when `enabled` and perf may count here (Linux,
/// perf installed and permitted): every software and hardware event of
/// [`perf_stat`]; perf reports the hardware ones unsupported where there is
/// no PMU, and [`counter_notes`] says so once.
pub fn counting(perf: &crate::tools::Tool, enabled: bool) -> Option<Counting> {
    let shim_is_self = SHIM_IS_SELF.load(std::sync::atomic::Ordering::Relaxed);
    if !enabled || !shim_is_self || !cfg!(target_os = "linux") || !perf.usable() {
        return None;
    }
    Some(Counting {
        perf: perf.path.clone()?,
        shim: std::env::current_exe().ok()?,
        events: perf_stat::SOFTWARE_EVENTS
            .iter()
            .chain(perf_stat::HARDWARE_EVENTS)
            .map(|e| e.to_string())
            .collect(),
    })
}

/// A measure across runs: its unit, which way is better, its samples, in
/// run order, and their summary; stored as is in run.json's `summaries`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeasureSummary {
    pub unit: String,
    pub better: Better,
    pub samples: Vec<f64>,
    pub summary: Summary,
}

/// A run that did not succeed: what happened and the tail of its output.
#[derive(Debug)]
pub struct RunFailure {
    pub command: String,
    pub what: String,
    pub tail: String,
}

impl std::fmt::Display for RunFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the workload failed: {}\n  command: {}\n{}",
            self.what, self.command, self.tail
        )
    }
}

impl std::error::Error for RunFailure {}

/// A profiler (perf record, heaptrack, valgrind) killed by a signal that the
/// xtask did not send (the OOM killer, a `kill -9`): its death, not the
/// workload's, and the profile is lost with it.
#[derive(Debug)]
pub struct ProfilerKilled {
    pub profiler: String,
    pub signal: i32,
    pub command: String,
    pub tail: String,
}

impl std::fmt::Display for ProfilerKilled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} was killed by {} (not sent by the xtask): the profiler died, not the \
             workload, and its data is lost\n  command: {}\n{}",
            self.profiler,
            process::signal_name(self.signal),
            self.command,
            self.tail
        )
    }
}

impl std::error::Error for ProfilerKilled {}

/// The profiler's own death, when `outcome` (of the profiler process) is a
/// death by a signal that no one in the xtask sent: not a stop, a timeout
/// or an interrupt, and not the workload's own fatal signal passed on
/// (`passed_on`: perf record and valgrind end with their workload's signal,
/// and say so first).
pub fn profiler_killed(
    profiler: &str,
    command: &str,
    outcome: &Outcome,
    passed_on: bool,
) -> Option<ProfilerKilled> {
    let signal = outcome.status.signal()?;
    if outcome.stopped.is_some() || outcome.timed_out || process::interrupted() || passed_on {
        return None;
    }
    Some(ProfilerKilled {
        profiler: profiler.to_string(),
        signal,
        command: command.to_string(),
        tail: outcome.tail(),
    })
}

/// Runs a workload once and turns its outcome into a sample. A run whose
/// output lacks a required metric fails like one that exits non-zero: a
/// result without the metric would let a comparison pass without it.
pub fn run_once(prepared: &Prepared) -> anyhow::Result<(RunSample, Outcome)> {
    // A criterion bench: each run is an analysed invocation of its own.
    let (invocation, spec) = match &prepared.bench {
        Some(bench) => {
            let (invocation, spec) = crate::runs::criterion::Invocation::start(prepared, bench);
            (Some(invocation), spec)
        }
        None => (None, prepared.spec()),
    };
    let command = spec.display();
    let machine = machine_load::before();
    let (outcome, counted) = match &prepared.counters {
        Some(counting) => {
            let (outcome, counted) = run_counted(spec, counting)?;
            (outcome, Some(counted))
        }
        None => (process::run(spec)?, None),
    };
    if !outcome.success() {
        return Err(RunFailure {
            command,
            what: outcome.describe(Some(prepared.timeout)),
            tail: outcome.tail(),
        }
        .into());
    }
    let mut sample = sample_of(&outcome, prepared).map_err(|what| RunFailure {
        command: command.clone(),
        what,
        tail: outcome.tail(),
    })?;
    sample.machine = machine.and_then(|m| m.after(sample.user_s + sample.sys_s));
    if let Some(invocation) = invocation {
        invocation
            .read_into(&mut sample)
            .map_err(|e| anyhow::anyhow!("criterion's results of `{command}`: {e}"))?;
    }
    if let Some(counted) = counted {
        for c in counted {
            match c.count {
                perf_stat::Count::Value(value) => {
                    let (name, _, factor) = perf_stat::measure_of_count(&c);
                    sample.counters.insert(name, value * factor);
                }
                perf_stat::Count::NotSupported | perf_stat::Count::OnlyInTheKernel => {
                    sample.unsupported.push(c.event)
                }
                // Zero for a software event (a run without a context switch).
                perf_stat::Count::NotCounted => {
                    let (name, _, _) = perf_stat::measure_of_count(&c);
                    sample.counters.insert(name, 0.0);
                }
            }
        }
    }
    Ok((sample, outcome))
}

/// A scratch file of this process, unique within it (`what` names its use,
/// never a user's value: it becomes part of the path).
pub fn scratch_file(what: &str) -> PathBuf {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    std::env::temp_dir().join(format!(
        "xtask-{}-{}-{what}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Runs `spec` under perf stat through the shim: the outcome's status,
/// times and peak RSS are the workload's own (from the shim), its output and
/// metrics as usual, and perf's counts besides.
fn run_counted(
    spec: process::Spec,
    counting: &Counting,
) -> anyhow::Result<(Outcome, Vec<perf_stat::Counted>)> {
    let stat_file = scratch_file("perf-stat.csv");
    let times_file = scratch_file("times");
    let mut args = perf_stat::argv(&stat_file, &counting.events);
    args.push(counting.shim.clone().into());
    args.push(MEASURED_EXEC.into());
    args.push(times_file.clone().into());
    args.push(spec.program.clone().into());
    args.extend(spec.args.iter().cloned());
    let wrapped = process::Spec {
        program: counting.perf.clone(),
        args,
        ..spec
    };
    let outcome = process::run(wrapped);
    let times = std::fs::read_to_string(&times_file);
    let stat = std::fs::read_to_string(&stat_file);
    let _ = std::fs::remove_file(&times_file);
    let _ = std::fs::remove_file(&stat_file);
    let mut outcome = outcome?;
    if outcome.timed_out {
        return Ok((outcome, Vec::new()));
    }
    let Ok(times) = times else {
        // The shim never ran or never finished: perf failed (its message is
        // in the output tail), or the run was killed.
        return Ok((outcome, Vec::new()));
    };
    let shim = ShimTimes::parse(&times)
        .with_context(|| format!("the counted run's times `{}`", times.trim()))?;
    outcome.status = std::process::ExitStatus::from_raw(shim.status);
    outcome.wall = shim.wall;
    outcome.user = shim.user;
    outcome.sys = shim.sys;
    outcome.max_rss_bytes = shim.max_rss_bytes;
    let counted = match stat {
        Ok(text) => perf_stat::parse(&text)
            .map_err(|e| anyhow::anyhow!("perf stat's output {}: {e}", stat_file.display()))?,
        Err(_) if !outcome.success() => Vec::new(),
        Err(error) => anyhow::bail!("perf stat wrote no counts ({error})\n{}", outcome.tail()),
    };
    Ok((outcome, counted))
}

/// What the shim measured of the workload.
#[derive(Debug, Clone, PartialEq)]
struct ShimTimes {
    /// The raw wait status.
    status: i32,
    wall: Duration,
    user: Duration,
    sys: Duration,
    max_rss_bytes: u64,
}

impl ShimTimes {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {}\n",
            self.status,
            self.wall.as_nanos(),
            self.user.as_nanos(),
            self.sys.as_nanos(),
            self.max_rss_bytes
        )
    }

    fn parse(text: &str) -> anyhow::Result<ShimTimes> {
        let fields: Vec<&str> = text.split_whitespace().collect();
        anyhow::ensure!(fields.len() == 5, "expected 5 fields");
        let nanos =
            |s: &str| -> anyhow::Result<Duration> { Ok(Duration::from_nanos(s.parse::<u64>()?)) };
        Ok(ShimTimes {
            status: fields[0].parse()?,
            wall: nanos(fields[1])?,
            user: nanos(fields[2])?,
            sys: nanos(fields[3])?,
            max_rss_bytes: fields[4].parse()?,
        })
    }
}

/// The shim of a counted run (`XTASK __measured-exec TIMES PROGRAM ARGS...`):
/// runs the program with this process's environment, directory and output,
/// waits for it with `wait4`, writes its wait status, wall, user and sys
/// time and peak RSS to TIMES, and ends as it ended (same exit code, or
/// killed by the same signal).
pub fn measured_exec(args: Vec<OsString>) -> ! {
    let mut args = args.into_iter();
    let (Some(times_file), Some(program)) = (args.next(), args.next()) else {
        eprintln!("usage: {MEASURED_EXEC} TIMES_FILE PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let process::Measured {
        status,
        usage,
        wall,
    } = match process::spawn_measured(&program, args) {
        Ok(measured) => measured,
        Err(error) => {
            eprintln!("cannot start `{}`: {error}", Path::new(&program).display());
            std::process::exit(127);
        }
    };
    let timeval = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    let rss_unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
    let times = ShimTimes {
        status,
        wall,
        user: timeval(usage.ru_utime),
        sys: timeval(usage.ru_stime),
        max_rss_bytes: usage.ru_maxrss.max(0) as u64 * rss_unit,
    };
    if let Err(error) = std::fs::write(&times_file, times.line()) {
        eprintln!("cannot write {}: {error}", Path::new(&times_file).display());
        std::process::exit(125);
    }
    let status = std::process::ExitStatus::from_raw(status);
    if let Some(signal) = status.signal() {
        // perf reports a child killed by a signal as a success: the wait
        // status in TIMES is what counts; dying the same way still tells
        // a reader of the exit code.
        // SAFETY: restoring the default action and raising are async-signal-safe.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
        std::process::exit(128 + signal);
    }
    std::process::exit(status.code().unwrap_or(1));
}

/// Two runs that ran at the same time (a duet pair): each one's CPU time
/// was the other's measurement, not the machine's load.
pub fn ran_together(a: &mut RunSample, b: &mut RunSample) {
    let (cpu_a, cpu_b) = (a.user_s + a.sys_s, b.user_s + b.sys_s);
    if let Some(machine) = &mut a.machine {
        machine.exclude(cpu_b);
    }
    if let Some(machine) = &mut b.machine {
        machine.exclude(cpu_a);
    }
}

/// One note for counters perf could not count in any run (no PMU here).
pub fn counter_notes(samples: &[RunSample]) -> Vec<String> {
    let Some(first) = samples.first() else {
        return Vec::new();
    };
    let (in_the_kernel, missing): (Vec<&str>, Vec<&str>) = first
        .unsupported
        .iter()
        .filter(|event| samples.iter().all(|s| s.unsupported.contains(event)))
        .map(String::as_str)
        .partition(|event| perf_stat::IN_THE_KERNEL_ONLY.contains(event));
    let mut notes = Vec::new();
    if !missing.is_empty() {
        notes.push(format!(
            "perf cannot count {} on this machine (no hardware performance counters: a virtual machine without PMU passthrough?); the software counters were recorded",
            missing.join(", ")
        ));
    }
    let user_space: Vec<&str> = first
        .counters
        .keys()
        .filter(|name| name.ends_with(perf_stat::USER_SPACE_SUFFIX))
        .map(String::as_str)
        .collect();
    if !in_the_kernel.is_empty() || !user_space.is_empty() {
        notes.push(user_space_note(&in_the_kernel, &user_space));
    }
    notes
}

/// What counting in user space only left out: perf counts so for a user
/// who is not root at `perf_event_paranoid` 2.
fn user_space_note(in_the_kernel: &[&str], user_space: &[&str]) -> String {
    let mut parts = Vec::new();
    if !in_the_kernel.is_empty() {
        parts.push(format!(
            "{} happen in the kernel's code and were not counted",
            in_the_kernel.join(", ")
        ));
    }
    if !user_space.is_empty() {
        let (counts, they) = match user_space.len() {
            1 => ("counts", "a measure of its own"),
            _ => ("count", "measures of their own"),
        };
        parts.push(format!(
            "{} {counts} only what the program's own code did, not what the kernel did for it \
             (page faults in read(), say): {they}, never compared with a whole count",
            user_space.join(", ")
        ));
    }
    format!(
        "perf counted user space only (kernel.perf_event_paranoid is above {} and you are not \
         root): {}. `{}` counts the kernel too",
        crate::tools::perf_access::KERNEL,
        parts.join("; "),
        crate::tools::perf_access::set_command(crate::tools::perf_access::KERNEL)
    )
}

/// The sample of a successful run, or what is wrong with its metrics.
pub fn sample_of(outcome: &Outcome, prepared: &Prepared) -> Result<RunSample, String> {
    let reading = read_metrics(&prepared.metrics, &outcome.watched);
    if !reading.errors.is_empty() {
        let stopped = match outcome.stopped_with() {
            Some(signals) => format!(
                " (it was stopped on purpose after {:.1} s with {signals}: print the metrics when that signal arrives)",
                outcome.wall.as_secs_f64()
            ),
            None => String::new(),
        };
        return Err(format!(
            "its output lacks a declared metric: {}\n  help: make the workload print each metric as its pattern says{stopped}, or mark the metric `required = false`",
            reading.errors.join("; ")
        ));
    }
    Ok(RunSample {
        wall_s: outcome.wall.as_secs_f64(),
        user_s: outcome.user.as_secs_f64(),
        sys_s: outcome.sys.as_secs_f64(),
        max_rss_bytes: outcome.max_rss_bytes,
        exit_code: outcome.status.code(),
        metrics: reading.values,
        warnings: reading.warnings,
        counters: BTreeMap::new(),
        unsupported: Vec::new(),
        server: None,
        operations: None,
        machine: None,
    })
}

/// The metric warnings of measured runs, each once, with how many runs had it.
pub fn metric_warnings(samples: &[RunSample]) -> Vec<String> {
    let mut counted: Vec<(&String, usize)> = Vec::new();
    for warning in samples.iter().flat_map(|s| &s.warnings) {
        match counted.iter_mut().find(|(w, _)| *w == warning) {
            Some((_, n)) => *n += 1,
            None => counted.push((warning, 1)),
        }
    }
    counted
        .into_iter()
        .map(|(warning, n)| format!("{warning} (in {n} of {} runs)", samples.len()))
        .collect()
}

/// One run of a sequence of warm-ups and measured runs, shown as a step of
/// `progress` (`who` leads the step's text: a revision, or nothing).
pub fn progress_step(
    prepared: &Prepared,
    progress: &Progress,
    who: &str,
    is_warmup: bool,
) -> anyhow::Result<RunSample> {
    let (sample, _) = run_once(prepared).inspect_err(|_| progress.abandon())?;
    progress.step(&format!(
        "{who}{} {:.3} s",
        if is_warmup { "warm-up" } else { "run" },
        sample.wall_s
    ));
    Ok(sample)
}

/// Warm-ups, then `runs` measured runs.
pub fn timed_runs(prepared: &Prepared, warmup: u32, runs: u32) -> anyhow::Result<Vec<RunSample>> {
    timed_runs_each(&prepared.name, (warmup, runs), |progress, is_warmup| {
        progress_step(prepared, progress, "", is_warmup)
    })
}

/// Warm-ups, then `runs` measured runs, each made by `run` (given the
/// progress bar and whether it is a warm-up), under one progress bar named
/// `name`; the measured runs' samples.
pub fn timed_runs_each(
    name: &str,
    (warmup, runs): (u32, u32),
    mut run: impl FnMut(&Progress, bool) -> anyhow::Result<RunSample>,
) -> anyhow::Result<Vec<RunSample>> {
    let progress = Progress::bar(u64::from(warmup + runs), &format!("{name} "));
    let mut samples = Vec::with_capacity(runs as usize);
    for i in 0..warmup + runs {
        let is_warmup = i < warmup;
        progress.set_message(if is_warmup {
            format!("warm-up {}/{warmup}", i + 1)
        } else {
            format!("run {}/{runs}", i + 1 - warmup)
        });
        let sample = run(&progress, is_warmup)?;
        if !is_warmup {
            samples.push(sample);
        }
    }
    progress.finish();
    Ok(samples)
}

/// Per-measure samples and summaries: time, RSS, and each declared metric.
pub fn summarize(samples: &[RunSample], prepared: &Prepared) -> BTreeMap<String, MeasureSummary> {
    let value = |name: &str, sample: &RunSample| match name {
        "wall_s" => sample.wall_s,
        "cpu_s" => sample.user_s + sample.sys_s,
        "user_s" => sample.user_s,
        "sys_s" => sample.sys_s,
        _ => sample.max_rss_bytes as f64,
    };
    let mut measures: Vec<(String, String, Better, Vec<f64>)> = BUILTIN_MEASURES
        .iter()
        .map(|m| {
            let values = samples.iter().map(|s| value(m.name, s)).collect();
            (m.name.to_string(), m.unit.to_string(), m.better, values)
        })
        .collect();
    for metric in &prepared.metrics {
        let values: Vec<f64> = samples
            .iter()
            .filter_map(|s| s.metrics.get(&metric.name).copied())
            .collect();
        measures.push((
            metric.name.clone(),
            metric.unit.clone(),
            metric.better,
            values,
        ));
    }
    // perf stat's counters, in the order perf_stat lists the events.
    if let Some(first) = samples.first() {
        let events = perf_stat::SOFTWARE_EVENTS
            .iter()
            .chain(perf_stat::HARDWARE_EVENTS);
        for event in events {
            let (whole, unit, _) = perf_stat::measure_of(event);
            let user_space = format!("{whole}{}", perf_stat::USER_SPACE_SUFFIX);
            for name in [whole, user_space] {
                if !first.counters.contains_key(&name) {
                    continue;
                }
                let values: Vec<f64> = samples
                    .iter()
                    .filter_map(|s| s.counters.get(&name).copied())
                    .collect();
                measures.push((name, unit.to_string(), Better::Lower, values));
            }
        }
    }
    measures
        .into_iter()
        .filter_map(|(name, unit, better, values)| {
            let summary = crate::stats::summarize(&values)?;
            Some((
                name,
                MeasureSummary {
                    unit,
                    better,
                    samples: values,
                    summary,
                },
            ))
        })
        .collect()
}

/// Coefficient of variation above which timings are called noisy.
pub const NOISY_CV: f64 = 0.05;

/// A note when wall time spread more than [`NOISY_CV`] across the runs,
/// with what to do about it: the counted measures are the one answer that
/// no load of the machine changes.
pub fn noise_warnings(summaries: &BTreeMap<String, MeasureSummary>) -> Vec<String> {
    summaries
        .iter()
        .filter(|(name, m)| name.as_str() == "wall_s" && m.summary.n > 1 && m.summary.cv > NOISY_CV)
        .map(|(name, m)| {
            format!(
                "{name} is noisy (coefficient of variation {:.1} %): close other programs, add runs (--runs), \
                 or compare exact counts, which the machine's load does not change: \
                 `cargo xtask profile-compare --rev A --rev B --counter instructions` \
                 (instructions and estimated cycles, under callgrind)",
                m.summary.cv * 100.0
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A duet pair's runs: each one's CPU time is the other's measurement.
    #[test]
    fn runs_made_together_are_not_each_other_s_load() {
        let run = |cpu_s: f64| RunSample {
            wall_s: 1.0,
            user_s: cpu_s,
            sys_s: 0.0,
            max_rss_bytes: 0,
            exit_code: Some(0),
            metrics: BTreeMap::new(),
            warnings: Vec::new(),
            counters: BTreeMap::new(),
            unsupported: Vec::new(),
            server: None,
            operations: None,
            // Two cores for one second: the other side's second, and a
            // tenth of a second of something else.
            machine: Some(MachineLoad {
                loadavg_1m: 2.0,
                capacity_s: 2.0,
                others_cpu_s: 1.1,
                steal_s: 0.0,
            }),
        };
        let (mut a, mut b) = (run(1.0), run(1.0));
        assert!(a.machine.as_ref().unwrap().heavy_contention());
        ran_together(&mut a, &mut b);
        for side in [&a, &b] {
            let machine = side.machine.as_ref().unwrap();
            assert!(
                (machine.others_cpu_share() - 0.05).abs() < 1e-9,
                "{machine:?}"
            );
            assert!(!machine.heavy_contention());
        }
    }

    /// A user's counts at perf_event_paranoid 2: the note says what user
    /// space only left out, apart from what the machine cannot count.
    #[test]
    fn counts_in_user_space_only_say_what_they_left_out() {
        let sample = RunSample {
            wall_s: 1.0,
            user_s: 1.0,
            sys_s: 0.0,
            max_rss_bytes: 0,
            exit_code: Some(0),
            metrics: BTreeMap::new(),
            warnings: Vec::new(),
            counters: BTreeMap::from([
                ("perf_task_clock_s".to_string(), 1.0),
                ("perf_page_faults_user".to_string(), 53.0),
            ]),
            unsupported: vec![
                "context-switches".into(),
                "cpu-migrations".into(),
                "cycles".into(),
            ],
            server: None,
            operations: None,
            machine: None,
        };
        let notes = counter_notes(&[sample.clone(), sample]);
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("perf cannot count cycles on this machine"));
        assert!(
            notes[1].starts_with("perf counted user space only"),
            "{notes:?}"
        );
        assert!(
            notes[1].contains("context-switches, cpu-migrations happen in the kernel's code"),
            "{notes:?}"
        );
        assert!(
            notes[1].contains("perf_page_faults_user counts only"),
            "{notes:?}"
        );
        assert!(notes[1].contains("`sudo sysctl kernel.perf_event_paranoid=1`"));
    }

    /// Noisy wall time points at the measures no load changes.
    #[test]
    fn noisy_timings_suggest_the_exact_counts() {
        let wall = |samples: &[f64]| {
            BTreeMap::from([(
                "wall_s".to_string(),
                MeasureSummary {
                    unit: "s".into(),
                    better: Better::Lower,
                    samples: samples.to_vec(),
                    summary: crate::stats::summarize(samples).unwrap(),
                },
            )])
        };
        assert!(noise_warnings(&wall(&[1.0, 1.01, 0.99])).is_empty());
        let noisy = noise_warnings(&wall(&[1.0, 1.3, 0.8]));
        assert_eq!(noisy.len(), 1);
        assert!(
            noisy[0].starts_with("wall_s is noisy (coefficient of variation"),
            "{noisy:?}"
        );
        assert!(noisy[0].contains("--counter instructions"), "{noisy:?}");
        assert!(noisy[0].contains("estimated cycles"), "{noisy:?}");
    }
}
