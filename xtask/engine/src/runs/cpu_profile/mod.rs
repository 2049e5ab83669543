//! The CPU profile of one run, on whatever sampler this platform has:
//! record → folded stacks (`cpu.folded`) → `flamegraph.svg` and a
//! top-functions report. Shared by profile-baseline and flamegraph.

//!
//! - `pipeline`: perf record → perf.data → perf script → folding, at once;
//! - `attach`: perf attached to a running server (the service scenario);
//! - `macos`: xctrace, or dtrace;
//! - `offcpu`: with `--off-cpu`, where threads blocked, from the same recording;
//! - here: the options, the record of a profile, and what its samples say.

pub mod annotate;
mod attach;
pub mod benchmarks;
pub mod events;
mod macos;
pub mod offcpu;
mod pipeline;

pub use attach::{attach, finish_attached, profile_pid, running_process, AttachedProcess};

use crate::config::CallGraph;
use crate::runs::process;
use crate::runs::workload::Prepared;
use crate::tools::{perf, perf_access, perf_events, Platform, Toolbox};
use anyhow::{bail, Context};
use std::path::Path;

pub const FOLDED: &str = "cpu.folded";
pub const SVG: &str = "flamegraph.svg";
pub const TOP: &str = "top-functions.txt";
pub const PERF_DATA: &str = "perf.data";
/// The folded stacks of each profiled run, one file a run (`1.folded`…),
/// when a side was profiled more than once (`profile-compare
/// --profile-runs`): the runs' own spread for the per-frame test.
pub const RUNS_DIR: &str = "cpu-runs";

/// How to sample.
#[derive(Debug, Clone)]
pub struct Options {
    pub frequency: u32,
    pub call_graph: CallGraph,
    pub kernel_frames: bool,
    /// Also record the scheduler's switches for the off-CPU profile (perf only).
    pub off_cpu: bool,
    /// perf may record them at real-time priority here (`tools::offcpu::REALTIME`).
    pub off_cpu_realtime: bool,
    /// Annotate this many functions with the most self time (0: none).
    pub annotate: usize,
    /// Sample this perf event instead of CPU time (perf's default).
    pub event: Option<String>,
    /// Events to sample besides, each in a profile of its own (`events`).
    pub events: Vec<String>,
    /// Inline frames added from the program's DWARF (`--no-inline`: off).
    pub inline_frames: bool,
    /// The raw perf.data stays in the result (`--keep-perf-data`); otherwise
    /// the task removes it once its reports are written.
    pub keep_perf_data: bool,
}

impl Options {
    /// The config's defaults, with the command line's overrides.
    pub fn new(
        config: &crate::config::Config,
        frequency: Option<u32>,
        call_graph: Option<CallGraph>,
    ) -> Options {
        Options {
            frequency: frequency.unwrap_or(config.defaults.frequency),
            call_graph: call_graph.unwrap_or(config.defaults.call_graph),
            kernel_frames: config.defaults.kernel_frames,
            off_cpu: false,
            off_cpu_realtime: false,
            annotate: config.defaults.annotate,
            event: None,
            events: config.defaults.events.clone(),
            inline_frames: config.defaults.inline_frames,
            keep_perf_data: config.defaults.keep_perf_data,
        }
    }
}

/// The profiling tasks' switches over the config's defaults.
#[derive(Debug, Clone, Copy, Default)]
pub struct Switches {
    pub no_inline: bool,
    pub keep_perf_data: bool,
    pub off_cpu: bool,
}

impl Options {
    /// These options with a task's switches; `--off-cpu` only once perf is
    /// known to record the scheduler's switches here.
    pub fn with(mut self, switches: Switches, tools: &Toolbox) -> anyhow::Result<Options> {
        self.inline_frames &= !switches.no_inline;
        self.keep_perf_data |= switches.keep_perf_data;
        if switches.off_cpu {
            self.off_cpu_realtime = check_off_cpu(tools)?;
            self.off_cpu = true;
        }
        Ok(self)
    }
}

/// What a CPU profile recorded (stored as run.json's `cpu_profile` through
/// `results::record::CpuProfile`); the files it wrote are `perf.data` and
/// `cpu.folded`, from which reports draw.
#[derive(Debug, Clone, PartialEq)]
pub struct CpuProfile {
    /// "perf 6.1.187", "xctrace 15.0", ...
    pub tool: String,
    pub frequency: u32,
    pub call_graph: String,
    /// How frames were symbolized: inline frames read in process from the
    /// DWARF, or none (`--no-inline`).
    pub symbolizer: String,
    pub record: perf::RecordSummary,
    /// Samples in the folded stacks.
    pub folded_samples: u64,
    /// Share (0–1) of the folded samples whose stack unwound to an entry
    /// point (`_start`, a thread's start); the rest were cut short.
    pub complete_stacks: Option<f64>,
    pub argv: Vec<String>,
    /// Files in the result directory.
    pub files: Vec<String>,
    pub notes: Vec<String>,
    /// With `--off-cpu`: where threads blocked (`offcpu.folded`).
    pub off_cpu: Option<offcpu::OffCpu>,
    /// The functions annotated into `annotate/`, by self time.
    pub annotated: Vec<annotate::Annotated>,
    /// perf.data as kept: compressed or not, and its size.
    pub perf_data: Option<String>,
}

/// A profile beside the result's own, in a directory of its own: one
/// benchmark's (a bench with several) or one other event's (`events`).
pub struct ExtraProfile {
    /// "benchmark" or "event", for its notes.
    pub kind: &'static str,
    /// The benchmark's id, or the event.
    pub name: String,
    /// Relative to the result directory.
    pub dir: String,
    pub profile: CpuProfile,
}

/// The extra profiles of a run, and notes on those that could not be taken.
pub struct Extras {
    pub profiles: Vec<ExtraProfile>,
    pub notes: Vec<String>,
}

impl Extras {
    /// Lists the extra flamegraphs among a profile's `files`, and adds to its
    /// `notes` those of the extra profiles it lacks (samples lost in that
    /// run, say), naming the benchmark or event.
    pub fn add_to(&self, files: &mut Vec<String>, notes: &mut Vec<String>) {
        notes.extend(self.notes.iter().cloned());
        for extra in &self.profiles {
            files.push(format!("{}/{SVG}", extra.dir));
            let new: Vec<String> = extra
                .profile
                .notes
                .iter()
                .filter(|n| !notes.contains(n))
                .map(|n| format!("{} {}: {n}", extra.kind, extra.name))
                .collect();
            notes.extend(new);
        }
    }
}

/// Directory names for extra profiles, one per name, made safe by `safe`
/// and kept apart where two come out the same (`f<u8>` and `f(u8)` are both
/// `f_u8_`): the second becomes `f_u8_-2`, so that no profile overwrites
/// another.
fn distinct_dir_names<'a>(
    names: impl IntoIterator<Item = &'a str>,
    safe: impl Fn(&str) -> String,
) -> Vec<String> {
    let mut taken = std::collections::HashSet::new();
    names
        .into_iter()
        .map(|name| {
            let base = safe(name);
            let mut candidate = base.clone();
            let mut n = 1;
            while !taken.insert(candidate.clone()) {
                n += 1;
                candidate = format!("{base}-{n}");
            }
            candidate
        })
        .collect()
}

/// Removes an extra profile's perf.data, where the sampler wrote one (perf
/// does, xctrace does not).
fn drop_perf_data(dir: &Path, profile: &mut CpuProfile) -> anyhow::Result<()> {
    let data = dir.join(PERF_DATA);
    if data.is_file() {
        std::fs::remove_file(&data).with_context(|| format!("cannot remove {}", data.display()))?;
    }
    profile.files.retain(|f| f != PERF_DATA);
    Ok(())
}

/// After the main profile: one per benchmark when a criterion bench has
/// several (`bench/<ID>/`), and one per event of `events` (`events/<EVENT>/`).
pub fn profile_extras(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<Extras> {
    let mut profiles = benchmarks::profile_each(prepared, tools, options, dir)?;
    let (events, notes) = events::profile_each(prepared, tools, options, dir)?;
    profiles.extend(events);
    Ok(Extras { profiles, notes })
}

/// Profiles one run of `prepared`, writing the profile files into `dir`.
pub fn profile(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    match tools.platform {
        Platform::Linux => pipeline::profile_with_perf(prepared, tools, options, dir),
        Platform::Macos if options.off_cpu => bail!("{}", OFF_CPU_NEEDS_PERF),
        Platform::Macos => macos::profile_on_macos(prepared, tools, options, dir),
        Platform::Other => bail!("no CPU sampler is supported on this platform"),
    }
}

/// Switches a second the ring buffer is sized for with `--off-cpu`: a
/// loaded server's (the demo's makes ~5000).
const OFF_CPU_SWITCH_RATE: u32 = 10_000;

pub const OFF_CPU_NEEDS_PERF: &str =
    "--off-cpu needs Linux perf and its sched:sched_switch tracepoint; run without --off-cpu here";

/// `--off-cpu`, before anything runs: can perf record the switches here,
/// and at real-time priority?
pub fn check_off_cpu(tools: &Toolbox) -> anyhow::Result<bool> {
    if tools.platform != Platform::Linux {
        bail!("{OFF_CPU_NEEDS_PERF}");
    }
    crate::tools::offcpu::available(tools.perf.path()?).map_err(|why| {
        anyhow::anyhow!("--off-cpu cannot record here: {why} (`cargo xtask doctor` checks it)")
    })
}

/// Folds the switches perf.data holds into offcpu.folded, and leaves in
/// `record` the CPU samples alone: one recording holds both, and perf
/// counts each event's samples and losses apart (`counted`).
fn record_off_cpu(
    settings: &perf::Settings,
    dir: &Path,
    (record, counted): (&mut perf::RecordSummary, &perf::StreamCounter),
    realtime: bool,
) -> anyhow::Result<offcpu::OffCpu> {
    let counts = split_counts(record, counted);
    let spinner = crate::runs::progress::Progress::spinner("off-CPU stacks");
    let off_cpu = offcpu::fold_off_cpu(settings, &dir.join(PERF_DATA), dir, counts, realtime)?;
    spinner.finish();
    Ok(off_cpu)
}

/// The switches' counts, taken out of the CPU samples' in `record`: the
/// tracepoint's samples and losses, and the losses of the dummy event that
/// carries the switch records (`tools::offcpu::record_args` puts it first).
fn split_counts(
    record: &mut perf::RecordSummary,
    counted: &perf::StreamCounter,
) -> offcpu::SwitchCounts {
    let events = &counted.events.counts;
    if counted.error.is_some() || !counted.events.identified() {
        return offcpu::SwitchCounts::default();
    }
    let sum = |pick: &dyn Fn(&perf_events::EventCount) -> bool,
               value: &dyn Fn(&perf_events::EventCount) -> u64| {
        events.iter().filter(|e| pick(e)).map(value).sum::<u64>()
    };
    let is_cpu = |e: &perf_events::EventCount| !e.is_tracepoint() && !e.is_dummy();
    let per_event_lost: u64 = sum(&|_| true, &|e| e.lost);
    // perf before 6.0 counts losses only in all (PERF_RECORD_LOST): then
    // they cannot be told apart per event.
    let attributed = per_event_lost >= counted.lost();
    record.samples = Some(sum(&is_cpu, &|e| e.samples));
    if attributed {
        record.lost_samples = Some(sum(&is_cpu, &|e| e.lost));
    }
    offcpu::SwitchCounts {
        recorded: Some(sum(&|e| e.is_tracepoint(), &|e| e.samples)),
        lost: attributed.then(|| sum(&|e| e.is_tracepoint(), &|e| e.lost)),
        lost_records: attributed.then(|| sum(&|e| e.is_dummy(), &|e| e.lost)),
    }
}

/// The CPU profile with its off-CPU part, if recorded.
fn with_off_cpu(mut profile: CpuProfile, off_cpu: Option<offcpu::OffCpu>) -> CpuProfile {
    if let Some(off_cpu) = off_cpu {
        profile.files.push(offcpu::FOLDED.into());
        profile.files.push(offcpu::SVG.into());
        profile.notes.extend(off_cpu.notes.iter().cloned());
        profile.off_cpu = Some(off_cpu);
    }
    profile
}

/// perf's settings for these options, and notes on what they leave out
/// (kernel frames a user may not sample).
pub fn perf_settings(options: &Options, tools: &Toolbox) -> (perf::Settings, Vec<String>) {
    let mut notes = Vec::new();
    // A note on a ring buffer smaller than wanted waits for a loss
    // (`finish_profile`): a user who is not root has one on every run, and
    // it rarely overflows.
    let ring = ring_buffer(options.frequency, options.call_graph, options.off_cpu);
    // Where perf may sample user space only, it would drop the kernel's
    // frames without a word: ask for user space, and say so.
    let access = tools.perf_access();
    let kernel_frames = options.kernel_frames && access.kernel();
    if options.kernel_frames && !kernel_frames {
        notes.push(perf_access::kernel_frames_skipped(&access));
    }
    let settings = perf::Settings {
        frequency: options.frequency,
        call_graph: options.call_graph,
        inline_frames: options.inline_frames,
        kernel_frames,
        mmap_pages: Some(ring.pages),
    };
    (settings, notes)
}

/// perf's ring buffer for these settings, within the locked-memory limit.
fn ring_buffer(frequency: u32, call_graph: CallGraph, off_cpu: bool) -> perf::RingBuffer {
    // Off-CPU adds a sample per context switch, thousands a second for a
    // busy server: size the ring buffer for that rate too.
    let rate = frequency + if off_cpu { OFF_CPU_SWITCH_RATE } else { 0 };
    perf::ring_buffer(rate, call_graph, &perf::LockLimit::detect())
}

/// The ring buffer's note (a buffer smaller than wanted, and how to raise
/// the limit), when the profile lost samples: the only time it helps.
fn ring_note(
    record: &perf::RecordSummary,
    switches_lost: bool,
    ring: perf::RingBuffer,
) -> Option<String> {
    let lost = match record.lost_samples {
        Some(lost) => lost > 0,
        None => !record.warnings.is_empty(),
    };
    ring.note.filter(|_| lost || switches_lost)
}

/// Notes, reports and the record of a CPU profile whose cpu.folded is
/// written, with its off-CPU part when the recording holds the switches
/// (`switches`: perf's counts of the recording).
#[allow(clippy::too_many_arguments)]
pub(super) fn finish_profile(
    settings: &perf::Settings,
    dir: &Path,
    argv: Vec<String>,
    mut record: perf::RecordSummary,
    mut notes: Vec<String>,
    folded_samples: u64,
    tools: &Toolbox,
    switches: Option<&perf::StreamCounter>,
) -> anyhow::Result<CpuProfile> {
    // What perf ran with, not what was asked: the notes say what helps.
    let realtime = argv.iter().any(|a| a == crate::tools::offcpu::REALTIME[0]);
    let off_cpu = match switches {
        Some(counted) => Some(record_off_cpu(
            settings,
            dir,
            (&mut record, counted),
            realtime,
        )?),
        None => None,
    };
    // The folding is done; what follows runs no child that an interrupt would stop.
    process::check_interrupted()?;
    let complete_stacks = complete_stacks(dir)?;
    let switches_lost = off_cpu
        .as_ref()
        .is_some_and(|o| o.lost_switches.unwrap_or(0) + o.lost_switch_records.unwrap_or(0) > 0);
    notes.extend(sample_notes(
        &record,
        folded_samples,
        complete_stacks,
        switches_lost,
    ));
    let ring = ring_buffer(settings.frequency, settings.call_graph, switches.is_some());
    notes.extend(ring_note(&record, switches_lost, ring));
    let kept = std::fs::metadata(dir.join(PERF_DATA)).ok().map(|m| m.len());
    // perf writes no "Captured and wrote" line to a pipe: the size is the file's.
    if record.data_mb.is_none_or(|mb| mb == 0.0) {
        record.data_mb = Some(kept.unwrap_or(0) as f64 / 1e6);
    }
    let mut files: Vec<String> = vec![FOLDED.into(), SVG.into(), TOP.into()];
    let perf_data = match kept {
        Some(bytes) => {
            files.insert(0, PERF_DATA.into());
            format!(
                "perf's raw recording ({:.1} MB): `perf report -i perf.data` and `perf annotate \
                 -i perf.data` read it",
                bytes as f64 / 1e6
            )
        }
        // The pipeline wrote none: the stream went from perf to perf script.
        None => not_kept(record.data_mb.unwrap_or(0.0)),
    };
    let profile = CpuProfile {
        tool: tools.perf.version.clone().unwrap_or_else(|| "perf".into()),
        frequency: settings.frequency,
        call_graph: settings.call_graph.as_str().into(),
        symbolizer: symbolizer(settings),
        record,
        folded_samples,
        complete_stacks,
        argv,
        files,
        notes,
        off_cpu: None,
        annotated: Vec::new(),
        perf_data: Some(perf_data),
    };
    Ok(with_off_cpu(profile, off_cpu))
}

/// Removes perf.data from a profile's result unless it is to be kept: the
/// task calls it once every report that reads perf.data is written.
/// perf.data is large (dwarf stacks), and `cpu.folded` holds what the
/// reports need. (perf's own compression, `-z`, is no way out with perf 6.1:
/// `perf annotate` and `perf report --stats` cannot decompress a recording
/// made through a pipe, as the pipeline makes it.)
pub fn settle_perf_data(
    options: &Options,
    dir: &Path,
    files: &mut Vec<String>,
    perf_data: &mut Option<String>,
) -> anyhow::Result<()> {
    let data = dir.join(PERF_DATA);
    if options.keep_perf_data || !data.is_file() {
        return Ok(());
    }
    let bytes = std::fs::metadata(&data).map_or(0, |m| m.len());
    std::fs::remove_file(&data).with_context(|| format!("cannot remove {}", data.display()))?;
    files.retain(|file| file != PERF_DATA);
    *perf_data = Some(not_kept(bytes as f64 / 1e6));
    Ok(())
}

/// run.json's word on a perf.data that was not kept.
fn not_kept(mb: f64) -> String {
    format!(
        "not kept ({mb:.1} MB): `--keep-perf-data` or `keep_perf_data = true` in [defaults] keeps \
         it for `perf report -i` and `perf annotate -i`"
    )
}

/// How frames were named, for run.json.
pub fn symbolizer(settings: &perf::Settings) -> String {
    if settings.inline_frames {
        perf::IN_PROCESS_INLINE.into()
    } else {
        "--no-inline (inline frames turned off)".into()
    }
}

/// What `--call-graph fp` does for losses, and what it costs: a frame-pointer
/// stack is a few hundred bytes where dwarf copies 16 KiB, but a program
/// built without frame pointers (Rust's default) unwinds no further than its
/// first frame.
const FP_COPIES_LESS: &str = "--call-graph fp copies less per sample, but unwinds complete \
     stacks only of a program built with frame pointers (RUSTFLAGS=\"-C force-frame-pointers=yes\")";

/// What the user must know about the samples behind the flamegraph: any that
/// perf lost, any that did not reach the folded stacks, stacks cut short.
/// `switches_lost`: the off-CPU switches of the same recording were lost too,
/// and they, not the CPU samples, fill the ring buffer.
fn sample_notes(
    record: &perf::RecordSummary,
    folded_samples: u64,
    complete_stacks: Option<f64>,
    switches_lost: bool,
) -> Vec<String> {
    let mut notes = Vec::new();
    let recorded = record.samples.unwrap_or(folded_samples);
    match record.lost_samples {
        Some(lost) if lost > 0 && switches_lost => notes.push(format!(
            "perf lost {lost} CPU samples ({:.1} % of {}) with the switches it lost: the \
             switches filled its ring buffer (see the note on them)",
            100.0 * lost as f64 / (lost + recorded).max(1) as f64,
            lost + recorded,
        )),
        Some(lost) if lost > 0 => notes.push(format!(
            "perf lost {lost} samples ({:.1} % of {}): the kernel's buffer overflowed while perf \
             could not keep up (a busy machine). Profile again with fewer other programs \
             running or a lower --freq; {FP_COPIES_LESS}",
            100.0 * lost as f64 / (lost + recorded).max(1) as f64,
            lost + recorded,
        )),
        // Losses perf reported but that were not counted (the count failed).
        None if !record.warnings.is_empty() => notes.push(format!(
            "perf lost samples ({}): profile again with fewer other programs running or a \
             lower --freq; {FP_COPIES_LESS}",
            record.warnings.join("; ")
        )),
        _ => {}
    }
    if let Some(recorded) = record.samples {
        if recorded != folded_samples {
            notes.push(format!(
                "perf recorded {recorded} samples but `perf script` gave {folded_samples}: \
                 the flamegraph is missing {}",
                recorded.abs_diff(folded_samples)
            ));
        }
    }
    if folded_samples == 0 {
        notes.push(
            "perf recorded no samples: the run may be too short for the sampling frequency".into(),
        );
    }
    if let Some(share) = complete_stacks.filter(|s| *s < 0.9) {
        notes.push(format!(
            "only {:.1} % of the stacks unwound to the program's entry point; the rest start at \
             an inner frame (stacks deeper than the 16 KiB perf copies per sample, or code \
             without unwind information). Try --call-graph fp with frame pointers \
             (RUSTFLAGS=\"-C force-frame-pointers=yes\")",
            share * 100.0
        ));
    }
    notes
}

/// The share of cpu.folded's samples whose stacks are complete.
pub(super) fn complete_stacks(dir: &Path) -> anyhow::Result<Option<f64>> {
    let folded = dir.join(FOLDED);
    let text = std::fs::read_to_string(&folded)
        .with_context(|| format!("cannot read {}", folded.display()))?;
    Ok(perf::complete_stack_share(&text))
}

/// Folds a perf.data file in process into `folded_out` (with the
/// scheduler's switches left out when `off_cpu`).
pub(super) fn fold_file(
    settings: &perf::Settings,
    data: &Path,
    folded_out: &Path,
    off_cpu: bool,
) -> anyhow::Result<perf::Folded> {
    let file = std::fs::File::create(folded_out)
        .with_context(|| format!("cannot write {}", folded_out.display()))?;
    let options = crate::tools::perf_data::FoldOptions {
        inline_frames: settings.inline_frames,
        without_tracepoints: off_cpu,
    };
    crate::tools::perf_data::fold_file(data, options, std::io::BufWriter::new(file))
        .with_context(|| format!("cannot fold {}", data.display()))
}

#[cfg(test)]
mod tests;
