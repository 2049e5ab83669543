//! run.json's `cpu_profile`: what a CPU profile recorded, as stored on disk.
//!
//! Its own types, not the profiler's: `runs::cpu_profile::CpuProfile` and
//! perf's `tools::perf::RecordSummary` may change with the profiling code,
//! while what lies on disk changes only with [`super::SCHEMA_VERSION`]. The
//! conversions go one way, from what the profile returned into these.

use crate::runs::cpu_profile;
use crate::tools::perf;
use serde::{Deserialize, Serialize};

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
    pub record: RecordingSummary,
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
    /// What perf.data holds and how (compressed or not, its size): the
    /// result's README says it beside the file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub perf_data: Option<String>,
}

/// What the sampler recorded: perf's own summary line, and the records
/// counted in its data stream.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct RecordingSummary {
    /// Samples recorded (counted in perf's data stream, or from its
    /// "Captured and wrote" line when it wrote a file).
    pub samples: Option<u64>,
    pub data_mb: Option<f64>,
    /// Samples the kernel dropped because perf's ring buffer was full; `None`
    /// where not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_samples: Option<u64>,
    /// "lost N chunks" / "Lost N events" warnings, verbatim.
    pub warnings: Vec<String>,
}

impl From<cpu_profile::CpuProfile> for CpuProfile {
    fn from(profile: cpu_profile::CpuProfile) -> CpuProfile {
        CpuProfile {
            tool: profile.tool,
            frequency: profile.frequency,
            call_graph: profile.call_graph,
            symbolizer: profile.symbolizer,
            record: profile.record.into(),
            folded_samples: profile.folded_samples,
            complete_stacks: profile.complete_stacks,
            argv: profile.argv,
            files: profile.files,
            notes: profile.notes,
            perf_data: profile.perf_data,
        }
    }
}

impl From<perf::RecordSummary> for RecordingSummary {
    fn from(summary: perf::RecordSummary) -> RecordingSummary {
        RecordingSummary {
            samples: summary.samples,
            data_mb: summary.data_mb,
            lost_samples: summary.lost_samples,
            warnings: summary.warnings,
        }
    }
}
