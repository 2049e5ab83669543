//! `leak-check.json`: memcheck's full leak report (`memory --leak-check`),
//! beside run.json, whose `leak_check` holds only the verdict.
//!
//! Its own types, not the parser's: `tools::memcheck::LeakReport` may change
//! with the parser, while what lies on disk changes only with a schema
//! version. The conversions go one way, from the parser's types into these.

use super::memory::{frames, FrameRecord};
use crate::tools::memcheck;
use serde::{Deserialize, Serialize};

/// Bumped on any incompatible change of leak-check.json.
pub const LEAK_REPORT_SCHEMA_VERSION: u32 = 1;

/// What a memcheck leak check found.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LeakReportFile {
    #[serde(default = "crate::results::unversioned")]
    pub schema_version: u32,
    /// The profiled command line.
    pub command: Option<String>,
    pub definitely_lost: Lost,
    pub indirectly_lost: Lost,
    pub possibly_lost: Lost,
    pub still_reachable: Lost,
    /// Whether the four totals above are complete (every kind of loss record
    /// was listed).
    pub totals_complete: bool,
    /// Memory errors other than leaks, counting repeats.
    pub error_count: u64,
    /// The distinct memory errors, the first `--top`.
    pub errors: Vec<MemoryError>,
    /// The loss records that are leaks (definitely, indirectly, possibly
    /// lost), definitely lost first then by bytes, the first `--top`.
    pub top_leaks: Vec<LossRecord>,
    /// memcheck's HEAP SUMMARY, when its output had one.
    pub heap_summary: Option<HeapSummary>,
}

/// Bytes and blocks of one kind of loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lost {
    pub bytes: u64,
    pub blocks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakKind {
    DefinitelyLost,
    IndirectlyLost,
    PossiblyLost,
    StillReachable,
}

/// One loss record: blocks lost the same way from the same stack.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LossRecord {
    pub kind: LeakKind,
    /// Direct + indirect bytes, as memcheck reports the record.
    pub bytes: u64,
    /// The record's own blocks' bytes (without what they point to).
    pub direct_bytes: u64,
    /// Bytes of blocks reachable only through this record's blocks.
    pub indirect_bytes: u64,
    pub blocks: u64,
    /// Where the blocks were allocated, innermost frame first.
    pub stack: Vec<FrameRecord>,
}

/// A memory error other than a leak (invalid read, uninitialised value, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MemoryError {
    /// memcheck's kind, e.g. `InvalidRead`, `UninitCondition`.
    pub kind: String,
    /// What memcheck said, e.g. `Invalid read of size 4`.
    pub what: String,
    /// How many times it happened.
    pub count: u64,
    pub stack: Vec<FrameRecord>,
}

/// memcheck's HEAP SUMMARY.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HeapSummary {
    pub in_use_bytes: u64,
    pub in_use_blocks: u64,
    pub allocs: u64,
    pub frees: u64,
    pub bytes_allocated: u64,
}

impl From<&memcheck::LeakReport> for LeakReportFile {
    fn from(report: &memcheck::LeakReport) -> LeakReportFile {
        LeakReportFile {
            schema_version: LEAK_REPORT_SCHEMA_VERSION,
            command: report.command.clone(),
            definitely_lost: report.definitely_lost.into(),
            indirectly_lost: report.indirectly_lost.into(),
            possibly_lost: report.possibly_lost.into(),
            still_reachable: report.still_reachable.into(),
            totals_complete: report.totals_complete,
            error_count: report.error_count,
            errors: report.errors.iter().map(MemoryError::from).collect(),
            top_leaks: report.top_leaks.iter().map(LossRecord::from).collect(),
            heap_summary: report.heap_summary.map(HeapSummary::from),
        }
    }
}

impl From<memcheck::Lost> for Lost {
    fn from(lost: memcheck::Lost) -> Lost {
        Lost {
            bytes: lost.bytes,
            blocks: lost.blocks,
        }
    }
}

impl From<memcheck::LeakKind> for LeakKind {
    fn from(kind: memcheck::LeakKind) -> LeakKind {
        match kind {
            memcheck::LeakKind::DefinitelyLost => LeakKind::DefinitelyLost,
            memcheck::LeakKind::IndirectlyLost => LeakKind::IndirectlyLost,
            memcheck::LeakKind::PossiblyLost => LeakKind::PossiblyLost,
            memcheck::LeakKind::StillReachable => LeakKind::StillReachable,
        }
    }
}

impl From<&memcheck::LossRecord> for LossRecord {
    fn from(record: &memcheck::LossRecord) -> LossRecord {
        LossRecord {
            kind: record.kind.into(),
            bytes: record.bytes,
            direct_bytes: record.direct_bytes,
            indirect_bytes: record.indirect_bytes,
            blocks: record.blocks,
            stack: frames(&record.stack),
        }
    }
}

impl From<&memcheck::MemoryError> for MemoryError {
    fn from(error: &memcheck::MemoryError) -> MemoryError {
        MemoryError {
            kind: error.kind.clone(),
            what: error.what.clone(),
            count: error.count,
            stack: frames(&error.stack),
        }
    }
}

impl From<memcheck::HeapSummary> for HeapSummary {
    fn from(summary: memcheck::HeapSummary) -> HeapSummary {
        HeapSummary {
            in_use_bytes: summary.in_use_bytes,
            in_use_blocks: summary.in_use_blocks,
            allocs: summary.allocs,
            frees: summary.frees,
            bytes_allocated: summary.bytes_allocated,
        }
    }
}
