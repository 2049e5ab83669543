//! valgrind's memcheck as a leak check: run the workload under
//! `--leak-check=full` and read what it lost.
//!
//! We ask for XML (`--xml=yes --xml-file=…`), not the text log:
//! - it is a documented, versioned format (protocol 4) with one element per
//!   loss record, its kind (`Leak_DefinitelyLost` …), exact byte and block
//!   counts without thousands separators, and frames split into function,
//!   directory, file and line — no guessing where a C++ or Rust name with
//!   spaces and parentheses ends and the `(file:line)` begins;
//! - it goes to its own file, so nothing the workload prints can interleave.
//!
//! What XML lacks is the text's closing summaries (HEAP SUMMARY, LEAK
//! SUMMARY, ERROR SUMMARY). The LEAK SUMMARY is the sum of the loss records
//! of each kind, so [`command`] passes `--show-leak-kinds=all`, which makes
//! memcheck list every record (still reachable and indirectly lost too) and
//! lets [`parse`] rebuild the totals exactly. The HEAP SUMMARY's allocation
//! count is not available from XML. The text log (the form older scripts
//! used) is read only by the tests, to check the XML against it:
//! `log_parser.rs`, compiled for tests only.

use super::memory_model::{Frame, MemoryReport, ParseError, Site};
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;

#[cfg(test)]
mod log_parser;
#[cfg(test)]
pub use log_parser::log_command;
#[cfg(test)]
pub use log_parser::parse_log;
mod xml;

use xml::parse_xml;

/// Options shared by both forms: full leak check listing every kind of loss
/// record, stacks deep enough to get past Rust's inlined allocator frames,
/// and no output from forked children (their XML would corrupt ours).
fn common_args(valgrind: &Path) -> Vec<OsString> {
    vec![
        valgrind.into(),
        "--tool=memcheck".into(),
        "--leak-check=full".into(),
        "--show-leak-kinds=all".into(),
        "--num-callers=40".into(),
        "--child-silent-after-fork=yes".into(),
    ]
}

/// `valgrind --tool=memcheck --leak-check=full --show-leak-kinds=all
/// --num-callers=40 --child-silent-after-fork=yes --xml=yes --xml-file=OUT
/// PROGRAM ARGS…`
pub fn command(valgrind: &Path, xml_out: &Path, program: &Path, args: &[String]) -> Vec<OsString> {
    let mut argv = common_args(valgrind);
    argv.push("--xml=yes".into());
    let mut file = OsString::from("--xml-file=");
    file.push(xml_out);
    argv.push(file);
    argv.push(program.into());
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// Bytes and blocks of one kind of loss.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Lost {
    pub bytes: u64,
    pub blocks: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LeakKind {
    DefinitelyLost,
    IndirectlyLost,
    PossiblyLost,
    StillReachable,
}

impl LeakKind {
    /// Order of concern: definitely lost first.
    fn rank(self) -> u8 {
        match self {
            LeakKind::DefinitelyLost => 0,
            LeakKind::IndirectlyLost => 1,
            LeakKind::PossiblyLost => 2,
            LeakKind::StillReachable => 3,
        }
    }
}

/// One loss record: blocks lost the same way from the same stack.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LossRecord {
    pub kind: LeakKind,
    /// Bytes as memcheck reports the record: direct + indirect.
    pub bytes: u64,
    /// The record's own blocks' bytes (without what they point to).
    pub direct_bytes: u64,
    /// Bytes of blocks reachable only through this record's blocks.
    pub indirect_bytes: u64,
    pub blocks: u64,
    /// Where the blocks were allocated, innermost frame first.
    pub stack: Vec<Frame>,
}

/// A memory error other than a leak (invalid read, uninitialised value …).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MemoryError {
    /// memcheck's kind, e.g. `InvalidRead`, `UninitCondition` (XML only).
    pub kind: String,
    /// What memcheck said, e.g. `Invalid read of size 4`.
    pub what: String,
    /// How many times it happened (XML's `<errorcounts>`; 1 in logs).
    pub count: u64,
    pub stack: Vec<Frame>,
}

/// The HEAP SUMMARY of a text log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeapSummary {
    pub in_use_bytes: u64,
    pub in_use_blocks: u64,
    pub allocs: u64,
    pub frees: u64,
    pub bytes_allocated: u64,
}

/// What a memcheck leak check found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeakReport {
    /// The profiled command line.
    pub command: Option<String>,
    pub definitely_lost: Lost,
    pub indirectly_lost: Lost,
    pub possibly_lost: Lost,
    pub still_reachable: Lost,
    /// Whether the four totals above are complete: always for a log (read
    /// from its LEAK SUMMARY); for XML only if the run listed every kind of
    /// loss record (`--show-leak-kinds=all`, as [`command`] does).
    pub totals_complete: bool,
    /// Memory errors other than leaks, counting repeats.
    pub error_count: u64,
    /// The distinct memory errors (contexts), at most `top`.
    pub errors: Vec<MemoryError>,
    /// The loss records that are leaks (definitely, indirectly, possibly
    /// lost), definitely lost first then by bytes, at most `top`.
    pub top_leaks: Vec<LossRecord>,
    /// From a text log only (which only the tests read): `None` from XML.
    pub heap_summary: Option<HeapSummary>,
}

impl LeakReport {
    pub fn to_report(&self) -> MemoryReport {
        MemoryReport {
            tool: "memcheck".into(),
            total_allocations: self.heap_summary.map(|h| h.allocs),
            leaked_bytes: Some(self.definitely_lost.bytes as f64),
            leaks: self
                .top_leaks
                .iter()
                .map(|r| Site::from_stack(r.stack.clone(), Some(r.bytes as f64), Some(r.blocks)))
                .collect(),
            ..Default::default()
        }
    }
}

impl From<&LeakReport> for MemoryReport {
    fn from(report: &LeakReport) -> MemoryReport {
        report.to_report()
    }
}

/// Reads memcheck's XML (from [`command`]).
pub fn parse(text: &str, top: usize) -> Result<LeakReport, ParseError> {
    if text.trim_start().is_empty() {
        return Err(ParseError::new(
            "memcheck output",
            None,
            "empty input: expected memcheck's XML",
        ));
    }
    parse_xml(text, top)
}

/// `4,096 (4,000 direct, 96 indirect) bytes in …` → (direct, indirect).
fn direct_indirect(text: &str) -> Option<(u64, u64)> {
    let inner = text.split_once('(')?.1.split_once(')')?.0;
    let (direct, indirect) = inner.split_once(" direct, ")?;
    let indirect = indirect.strip_suffix(" indirect")?;
    Some((number(direct)?, number(indirect)?))
}

/// `4,096` → 4096.
fn number(text: &str) -> Option<u64> {
    text.trim().replace(',', "").parse().ok()
}

fn top_leaks(mut records: Vec<LossRecord>, top: usize) -> Vec<LossRecord> {
    records.retain(|r| r.kind != LeakKind::StillReachable);
    records.sort_by(|a, b| {
        a.kind
            .rank()
            .cmp(&b.kind.rank())
            .then(b.bytes.cmp(&a.bytes))
    });
    records.truncate(top);
    records
}

#[cfg(test)]
mod tests;
