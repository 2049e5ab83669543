//! run.json's `cpu_profile`: what a CPU profile recorded, as stored on disk.
//!
//! perf's summary of its recording is stored as `tools::perf` defines it.
//! The profile, its off-CPU part and its annotations keep copies here: the
//! profiler's off-CPU counts are integer microseconds with diagnostics that
//! become notes, while run.json stores milliseconds without them. Each
//! conversion destructures its source whole, so a field added to the
//! profiler's types does not compile until it is stored or dropped here.

use crate::runs::cpu_profile;
use serde::{Deserialize, Serialize};

pub use crate::tools::perf::RecordSummary;

/// What a CPU profile recorded; its files (`perf.data`, `cpu.folded`, ...)
/// lie beside run.json.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct CpuProfile {
    /// "perf 6.1.187", "xctrace 15.0", ...
    pub tool: String,
    pub frequency: u32,
    pub call_graph: String,
    /// How frames were symbolized: inline frames read in process from the
    /// DWARF, or none (`--no-inline`).
    pub symbolizer: String,
    /// What the sampler said about its recording (perf's; empty for others).
    pub record: RecordSummary,
    /// Samples in the folded stacks.
    pub folded_samples: u64,
    /// Share (0–1) of the folded samples whose stack unwound to an entry
    /// point (`_start`, a thread's start); the rest were cut short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_stacks: Option<f64>,
    pub argv: Vec<String>,
    /// Files in the result directory.
    pub files: Vec<String>,
    pub notes: Vec<String>,
    /// With `--off-cpu`: where threads blocked, and for how long.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub off_cpu: Option<OffCpu>,
    /// Functions annotated into `annotate/`, by self time.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub annotated: Vec<Annotated>,
    /// What perf.data holds and how (compressed or not, its size): the
    /// result's README says it beside the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perf_data: Option<String>,
}

/// run.json's `cpu_profile.off_cpu`: the blocked time in `offcpu.folded`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OffCpu {
    /// Time threads spent blocked (sleeping, waiting for a lock or I/O), in ms.
    pub blocked_ms: f64,
    /// Switches in which a thread blocked: the flamegraph's events.
    pub blocked_switches: u64,
    /// Time runnable threads waited for a CPU after preemption, in ms (not in the flamegraph).
    pub preempted_ms: f64,
    pub preempted_switches: u64,
    /// Switch-outs with no switch-in before the recording ended.
    pub unfinished_switches: u64,
    /// `sched:sched_switch` samples perf recorded: the blocking switches with
    /// their stacks (in results before the tracepoint took only those, the
    /// preemptions too).
    pub recorded_switches: Option<u64>,
    /// `sched:sched_switch` samples the kernel dropped (perf's count for the
    /// tracepoint), beside `recorded_switches`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_switches: Option<u64>,
    /// Switch records (`--switch-events`: switch-outs and switch-ins) the
    /// kernel dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_switch_records: Option<u64>,
    /// Share (0–1) of the blocking switches whose stack unwound to an entry point.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_stacks: Option<f64>,
    /// The heaviest blocking stacks, heaviest first.
    pub top_stacks: Vec<OffCpuStack>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct OffCpuStack {
    /// `thread;root;...;leaf`, as in offcpu.folded.
    pub stack: String,
    pub ms: f64,
}

/// One function's annotation (source lines, assembly, sample shares).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Annotated {
    pub function: String,
    /// Relative to the result directory.
    pub file: String,
    /// Self time, percent of the samples.
    pub self_percent: f64,
}

impl From<cpu_profile::CpuProfile> for CpuProfile {
    fn from(profile: cpu_profile::CpuProfile) -> CpuProfile {
        let cpu_profile::CpuProfile {
            tool,
            frequency,
            call_graph,
            symbolizer,
            record,
            folded_samples,
            complete_stacks,
            argv,
            files,
            notes,
            off_cpu,
            annotated,
            perf_data,
        } = profile;
        CpuProfile {
            tool,
            frequency,
            call_graph,
            symbolizer,
            record,
            folded_samples,
            complete_stacks,
            argv,
            files,
            notes,
            off_cpu: off_cpu.map(Into::into),
            annotated: annotated.into_iter().map(Into::into).collect(),
            perf_data,
        }
    }
}

impl From<cpu_profile::annotate::Annotated> for Annotated {
    fn from(annotated: cpu_profile::annotate::Annotated) -> Annotated {
        let cpu_profile::annotate::Annotated {
            function,
            file,
            self_percent,
        } = annotated;
        Annotated {
            function,
            file,
            self_percent,
        }
    }
}

impl From<cpu_profile::offcpu::OffCpu> for OffCpu {
    fn from(off_cpu: cpu_profile::offcpu::OffCpu) -> OffCpu {
        // The stackless switches, the stacks parsed, unparsed lines and notes
        // reach run.json as the profile's notes (`with_off_cpu`), not here.
        let complete_stacks = off_cpu.complete_share();
        let cpu_profile::offcpu::OffCpu {
            blocked_us,
            blocked_switches,
            complete_switches: _,
            preempted_us,
            preempted_switches,
            stackless_switches: _,
            stackless_us: _,
            unfinished_switches,
            recorded_switches,
            parsed_stacks: _,
            lost_switches,
            lost_switch_records,
            unparsed_lines: _,
            realtime: _,
            top_stacks,
            notes: _,
        } = off_cpu;
        let ms = |us: u64| us as f64 / 1000.0;
        OffCpu {
            blocked_ms: ms(blocked_us),
            blocked_switches,
            preempted_ms: ms(preempted_us),
            preempted_switches,
            unfinished_switches,
            recorded_switches,
            lost_switches,
            lost_switch_records,
            complete_stacks,
            top_stacks: top_stacks
                .into_iter()
                .map(|(stack, us)| OffCpuStack { stack, ms: ms(us) })
                .collect(),
        }
    }
}
