//! run.json's `memory` (also written alone, with its own schema version, as
//! each scale's memory.json) and `leak_check`: a memory profile's numbers and
//! memcheck's verdict, as stored on disk.
//!
//! Their own types, not the parsers': `tools::memory_model::MemoryReport`
//! and `Site` are what every memory tool's parser produces and may change
//! with the parsers, while what lies on disk changes only with a schema
//! version. The conversions go one way, from the parsers' types into these.

use crate::tools::memcheck::LeakReport;
use crate::tools::memory_model::{AllocationTable, Frame, MemoryReport, Site};
use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change of memory.json.
pub const MEMORY_SCHEMA_VERSION: u32 = 1;

/// memory.json: a scale's memory profile, the same as run.json's `memory`
/// with the schema version first.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MemoryFile {
    #[serde(default = "crate::results::unversioned")]
    pub schema_version: u32,
    #[serde(flatten)]
    pub memory: MemoryRecord,
}

impl MemoryFile {
    /// memory.json at the current schema version.
    pub fn new(memory: MemoryRecord) -> MemoryFile {
        MemoryFile {
            schema_version: MEMORY_SCHEMA_VERSION,
            memory,
        }
    }
}

/// The numbers of one memory profile. Byte figures are `f64` (some tools
/// print rounded sizes); a figure the tool cannot measure is `None`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MemoryRecord {
    /// Which tool measured: `heaptrack`, `massif`, `memcheck`, `leaks`, `time -l`.
    pub tool: String,
    /// Peak heap (massif's: heap + extra + stacks of the peak snapshot).
    pub peak_heap_bytes: Option<f64>,
    /// Peak resident set size (heaptrack's includes its own overhead).
    pub peak_rss_bytes: Option<f64>,
    /// Calls to allocation functions over the whole run.
    pub total_allocations: Option<u64>,
    /// Allocations freed right after being made (heaptrack's "temporary").
    pub temporary_allocations: Option<u64>,
    /// Bytes still allocated and unreachable at exit.
    pub leaked_bytes: Option<f64>,
    /// Wall-clock run time in seconds, as the tool measured it.
    pub runtime_s: Option<f64>,
    /// Where the heap was held at its peak (bytes at peak, count = calls).
    pub peak_consumers: Vec<SiteRecord>,
    /// Where most allocation calls came from (count = calls).
    pub allocation_sites: Vec<SiteRecord>,
    /// Where most temporary allocations came from (count = temporary allocations).
    pub temporary_sites: Vec<SiteRecord>,
    /// Leaked memory by allocation site (bytes leaked, count = calls or blocks).
    pub leaks: Vec<SiteRecord>,
    /// The tool's raw output files kept beside the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_files: Vec<String>,
    /// What the reader should know (e.g. an allocator the tool cannot see).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// A server's heap just before its load and just after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub under_load: Option<HeapUnderLoadRecord>,
    /// Every allocation by the function that made it (heaptrack only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations: Option<AllocationsRecord>,
    /// How many operations the load served while the profile ran: with it
    /// a comparison shows allocations per operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<f64>,
}

/// Every allocation of the run summed by the function that made it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AllocationsRecord {
    /// Where the figures come from.
    pub source: String,
    pub calls: u64,
    /// Bytes allocated in all, freed ones included.
    pub bytes: f64,
    pub temporary: u64,
    /// Largest in bytes first; the last row may sum the functions past
    /// those kept by name (`<other functions>`).
    pub functions: Vec<FunctionAllocationsRecord>,
}

/// The allocations made by one function.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FunctionAllocationsRecord {
    /// Demangled, without hashes; an address without a symbol is named
    /// after its module only (`<unresolved in libfoo.so>`).
    pub function: String,
    pub module: Option<String>,
    /// `file:line` of its largest allocating call.
    pub location: Option<String>,
    pub calls: u64,
    pub bytes: f64,
    pub temporary: u64,
    /// The stack of its largest allocation, innermost first (top sources only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<StackFrameRecord>,
}

/// A frame of an allocation's stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StackFrameRecord {
    pub function: String,
    pub location: Option<String>,
    /// Inlined into the frame after it (its caller).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inlined: bool,
}

impl From<&AllocationTable> for AllocationsRecord {
    fn from(table: &AllocationTable) -> AllocationsRecord {
        AllocationsRecord {
            source: table.source.clone(),
            calls: table.calls,
            bytes: table.bytes,
            temporary: table.temporary,
            functions: table
                .functions
                .iter()
                .map(|f| FunctionAllocationsRecord {
                    function: f.function.clone(),
                    module: f.module.clone(),
                    location: f.location.clone(),
                    calls: f.calls,
                    bytes: f.bytes,
                    temporary: f.temporary,
                    stack: f
                        .stack
                        .iter()
                        .map(|s| StackFrameRecord {
                            function: s.function.clone(),
                            location: s.location.clone(),
                            inlined: s.inlined,
                        })
                        .collect(),
                })
                .collect(),
        }
    }
}

/// A server's heap just before its load and just after it (the growth is
/// a leak signal); times in seconds since the server started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct HeapUnderLoadRecord {
    /// `massif snapshots` or `heaptrack timeline (heaptrack_print --print-massif)`.
    pub source: String,
    pub load_start_s: f64,
    pub load_end_s: f64,
    pub stopped_at_s: f64,
    pub before_bytes: f64,
    pub before_at_s: f64,
    pub after_bytes: f64,
    pub after_at_s: f64,
    pub growth_bytes: f64,
    /// `[thresholds] heap_growth` when the profile was taken: growth beyond
    /// this percentage of "before" is a red flag.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub growth_limit_pct: Option<f64>,
}

impl HeapUnderLoadRecord {
    /// `heap`, flagged against `limit_pct` (`[thresholds] heap_growth`).
    pub fn with_limit(heap: &crate::tools::memory_model::HeapUnderLoad, limit_pct: f64) -> Self {
        HeapUnderLoadRecord {
            growth_limit_pct: Some(limit_pct),
            ..HeapUnderLoadRecord::from(heap)
        }
    }

    /// The growth as a percentage of "before" (None when it was empty).
    pub fn growth_pct(&self) -> Option<f64> {
        (self.before_bytes > 0.0).then(|| self.growth_bytes / self.before_bytes * 100.0)
    }

    /// Whether the heap grew beyond the limit: a sign of a leak under the
    /// load. From an empty "before", any growth is beyond any limit.
    pub fn red_flag(&self) -> bool {
        match (self.growth_limit_pct, self.growth_pct()) {
            (Some(limit), Some(pct)) => pct > limit,
            (Some(_), None) => self.growth_bytes > 0.0,
            (None, _) => false,
        }
    }
}

impl MemoryRecord {
    /// A server's memory profile under its load: the heap before and after
    /// it held to `heap_growth_pct`, and the operations the load made (so
    /// that allocations compare per operation).
    pub fn of_server(
        measured: &crate::runs::memory_profile::ServiceMemory,
        load: &crate::runs::workload::Prepared,
        heap_growth_pct: f64,
    ) -> MemoryRecord {
        MemoryRecord {
            under_load: measured
                .under_load
                .as_ref()
                .map(|heap| HeapUnderLoadRecord::with_limit(heap, heap_growth_pct)),
            operations: load
                .ops
                .as_ref()
                .and_then(|ops| ops.operations(&measured.load.metrics, measured.load.wall_s)),
            ..MemoryRecord::from(&measured.report)
        }
    }
}

impl From<&crate::tools::memory_model::HeapUnderLoad> for HeapUnderLoadRecord {
    fn from(heap: &crate::tools::memory_model::HeapUnderLoad) -> HeapUnderLoadRecord {
        HeapUnderLoadRecord {
            source: heap.source.clone(),
            load_start_s: heap.load_start_s,
            load_end_s: heap.load_end_s,
            stopped_at_s: heap.stopped_at_s,
            before_bytes: heap.before_bytes,
            before_at_s: heap.before_at_s,
            after_bytes: heap.after_bytes,
            after_at_s: heap.after_at_s,
            growth_bytes: heap.growth_bytes,
            growth_limit_pct: None,
        }
    }
}

/// One allocation site in a ranking.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SiteRecord {
    /// The frame that names the site (the first one that is not allocator
    /// or standard-library plumbing).
    pub function: String,
    /// `file:line` (or the binary) of that frame, when the tool knows it.
    pub location: Option<String>,
    pub bytes: Option<f64>,
    /// Calls, blocks or instances, depending on the ranking.
    pub count: Option<u64>,
    /// The whole stack, innermost frame first (may be empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<FrameRecord>,
}

/// One frame of a stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct FrameRecord {
    /// Demangled function name (or an address when unknown).
    pub function: String,
    /// `file:line` when known.
    pub location: Option<String>,
    /// The binary or shared object, when the tool says.
    pub module: Option<String>,
}

/// What memcheck found, and whether it passes the `leaked_bytes` threshold.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeakCheck {
    pub definitely_lost_bytes: u64,
    pub definitely_lost_blocks: u64,
    pub indirectly_lost_bytes: u64,
    pub indirectly_lost_blocks: u64,
    pub possibly_lost_bytes: u64,
    pub possibly_lost_blocks: u64,
    pub still_reachable_bytes: u64,
    /// Memory errors other than leaks (invalid reads, ...).
    pub errors: u64,
    pub threshold_bytes: u64,
    pub passed: bool,
    /// The biggest leaks, with their allocation stacks.
    pub top: Vec<SiteRecord>,
}

impl LeakCheck {
    pub fn from_report(report: &LeakReport, threshold_bytes: u64) -> LeakCheck {
        LeakCheck {
            definitely_lost_bytes: report.definitely_lost.bytes,
            definitely_lost_blocks: report.definitely_lost.blocks,
            indirectly_lost_bytes: report.indirectly_lost.bytes,
            indirectly_lost_blocks: report.indirectly_lost.blocks,
            possibly_lost_bytes: report.possibly_lost.bytes,
            possibly_lost_blocks: report.possibly_lost.blocks,
            still_reachable_bytes: report.still_reachable.bytes,
            errors: report.error_count,
            threshold_bytes,
            passed: report.definitely_lost.bytes <= threshold_bytes,
            top: sites(&report.to_report().leaks),
        }
    }
}

impl From<&MemoryReport> for MemoryRecord {
    fn from(report: &MemoryReport) -> MemoryRecord {
        MemoryRecord {
            tool: report.tool.clone(),
            peak_heap_bytes: report.peak_heap_bytes,
            peak_rss_bytes: report.peak_rss_bytes,
            total_allocations: report.total_allocations,
            temporary_allocations: report.temporary_allocations,
            leaked_bytes: report.leaked_bytes,
            runtime_s: report.runtime_s,
            peak_consumers: sites(&report.peak_consumers),
            allocation_sites: sites(&report.allocation_sites),
            temporary_sites: sites(&report.temporary_sites),
            leaks: sites(&report.leaks),
            raw_files: report.raw_files.clone(),
            notes: report.notes.clone(),
            under_load: None,
            allocations: report.allocations.as_ref().map(AllocationsRecord::from),
            operations: None,
        }
    }
}

impl From<&Site> for SiteRecord {
    fn from(site: &Site) -> SiteRecord {
        SiteRecord {
            function: site.function.clone(),
            location: site.location.clone(),
            bytes: site.bytes,
            count: site.count,
            stack: frames(&site.stack),
        }
    }
}

impl From<&Frame> for FrameRecord {
    fn from(frame: &Frame) -> FrameRecord {
        FrameRecord {
            function: frame.function.clone(),
            location: frame.location.clone(),
            module: frame.module.clone(),
        }
    }
}

fn sites(sites: &[Site]) -> Vec<SiteRecord> {
    sites.iter().map(SiteRecord::from).collect()
}

/// Stacks as stored, innermost frame first.
pub(super) fn frames(frames: &[Frame]) -> Vec<FrameRecord> {
    frames.iter().map(FrameRecord::from).collect()
}
