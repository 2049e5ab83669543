//! heaptrack: record a run, then read `heaptrack_print`'s text report, its
//! `--print-flamegraph` stacks and its `--print-massif` timeline, all written
//! by one pass.
//!
//! heaptrack 1.4 leaves Rust names half-demangled in its output: v0 symbols
//! stay mangled (`_RNvNtCs…_5alloc5alloc5alloc`), legacy ones come out of its
//! C++ demangler with Rust's escapes and hashes
//! (`alloc::raw_vec::RawVecInner$LT$A$GT$::finish_grow::h8abd…`). Every
//! function name is run through [`demangle_in_text`].
//!
//! Sizes in `heaptrack_print` are decimal SI with two decimals (`4.36M` =
//! 4.36 × 10⁶ bytes; below 1000 bytes they are whole `512B`), kept as
//! [`PrintedSize`] so comparisons can be made to the printed precision.

use super::memory_model::{Frame, MemoryReport, ParseError, PrintedSize, Site};
use crate::tools::demangle::demangle_in_text;
use serde::Serialize;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub mod attach;
mod data;
mod print;

pub use data::{read_data, unresolved_name, HeaptrackData};
pub use print::parse_print;

/// How many entries `print_command` asks per section, and how many merged
/// backtraces per entry (heaptrack's defaults are 10 and 5; 2 keeps the text
/// small while still giving each site its largest full backtrace).
pub const PRINT_PEAK_LIMIT: usize = 10;
pub const PRINT_SUB_PEAK_LIMIT: usize = 2;

/// `heaptrack -o OUTPUT_BASE PROGRAM ARGS…`
///
/// heaptrack appends the compression suffix itself (`.zst` when it was built
/// with zstd and `zstd` is on PATH, else `.gz`; `.raw.*` with `--raw`): use
/// [`find_output`] to learn which file it wrote. `%h` and `%p` in the base are
/// replaced by heaptrack with the host name and the pid.
pub fn record_command(
    heaptrack: &Path,
    output_base: &Path,
    program: &Path,
    args: &[String],
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        heaptrack.into(),
        "-o".into(),
        output_base.into(),
        program.into(),
    ];
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// The FIFO through which the heaptrack script (process `pid`) receives
/// its data: it makes `/tmp/heaptrack_fifo$$` (always /tmp, whatever
/// TMPDIR says) and removes it in its exit trap, which a SIGKILL skips.
pub fn fifo_of(pid: i32) -> PathBuf {
    PathBuf::from(format!("/tmp/heaptrack_fifo{pid}"))
}

/// Removes the FIFO of the heaptrack run that was process `pid`, when it
/// is still there (heaptrack was killed). Only a FIFO: a file of that name
/// is not heaptrack's.
pub fn remove_fifo(pid: i32) {
    use std::os::unix::fs::FileTypeExt as _;
    let fifo = fifo_of(pid);
    if std::fs::symlink_metadata(&fifo).is_ok_and(|m| m.file_type().is_fifo()) {
        let _ = std::fs::remove_file(&fifo);
    }
}

/// The data file heaptrack actually wrote for `output_base`: the base with
/// `.zst`, `.gz`, `.raw.zst` or `.raw.gz` appended (the newest if several).
pub fn find_output(output_base: &Path) -> Option<PathBuf> {
    let base = output_base.as_os_str();
    [".zst", ".gz", ".raw.zst", ".raw.gz", ".zstd", ".bz2", ""]
        .iter()
        .filter_map(|suffix| {
            let mut name = base.to_os_string();
            name.push(suffix);
            let path = PathBuf::from(name);
            let meta = std::fs::metadata(&path).ok()?;
            meta.is_file().then(|| (meta.modified().ok(), path))
        })
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, path)| path)
}

/// The data file heaptrack announced on its stdout
/// (`heaptrack output will be written to "/tmp/x.zst"`).
pub fn output_from_log(log: &str) -> Option<PathBuf> {
    log.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("heaptrack output will be written to ")?;
        Some(PathBuf::from(rest.trim().trim_matches('"')))
    })
}

/// What heaptrack (its preloaded library and its interpreter) prints when the
/// recording loses data: the output file could not be written, or what the
/// workload sent could not be read. Only then has a failed run lost its heap
/// profile; a workload that just exits non-zero is recorded in full.
pub const DATA_LOSS_MARKERS: &[&str] = &[
    "ERROR: failed to open heaptrack output file",
    "ERROR: failed to lock heaptrack output file",
    "failed to parse line: ",
    "unexpected non-hex char",
    "failed to initialize, dummy calloc buf size exhausted",
];

/// The first of `lines` in which heaptrack says it lost data.
pub fn data_loss(lines: &[String]) -> Option<&str> {
    lines
        .iter()
        .map(|line| line.trim())
        .find(|line| DATA_LOSS_MARKERS.iter().any(|m| line.contains(m)))
}

/// The files that the one `heaptrack_print` pass of a profile writes beside
/// its text report.
#[derive(Debug, Clone, Copy)]
pub struct PrintFiles<'a> {
    /// One stack per allocation backtrace with its bytes at the heap's peak
    /// (`--flamegraph-cost-type peak --print-flamegraph`): read with
    /// [`parse_flamegraph`].
    pub peak_stacks: &'a Path,
    /// The heap over time as a massif-format file (`--print-massif`):
    /// heaptrack's timeline, one snapshot per 10 ms tick in which the heap
    /// changed, `time=` in seconds, without the heap trees
    /// (`--massif-detailed-freq=0`), which the timeline does not need. Read
    /// with [`parse_timeline`].
    pub timeline: Option<&'a Path>,
}

/// `heaptrack_print --print-leaks=1 --peak-limit=10 --sub-peak-limit=2
/// --flamegraph-cost-type peak --print-flamegraph STACKS [--print-massif
/// TIMELINE --massif-detailed-freq=0] --file DATA`
///
/// Everything a profile reads from heaptrack_print in one pass over the data
/// (each pass decompresses and replays the whole recording): the text report
/// on stdout, read with [`parse_print`], and the files of `files`. Its text
/// is the same with or without the files.
///
/// (heaptrack_print's boolean and limit options take `=VALUE`: they have
/// implicit values, so a separate token would not be read as their value.)
pub fn print_command(heaptrack_print: &Path, data: &Path, files: &PrintFiles) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        heaptrack_print.into(),
        "--print-leaks=1".into(),
        format!("--peak-limit={PRINT_PEAK_LIMIT}").into(),
        format!("--sub-peak-limit={PRINT_SUB_PEAK_LIMIT}").into(),
        "--flamegraph-cost-type".into(),
        "peak".into(),
        "--print-flamegraph".into(),
        files.peak_stacks.into(),
    ];
    if let Some(timeline) = files.timeline {
        argv.extend([
            "--print-massif".into(),
            timeline.into(),
            "--massif-detailed-freq=0".into(),
        ]);
    }
    argv.extend(["--file".into(), data.into()]);
    argv
}

/// The heap over time from `heaptrack_print --print-massif`'s file: (time in
/// seconds, `mem_heap_B`) per snapshot, in file order. heaptrack writes no
/// massif header and fractional times, unlike massif itself.
pub fn parse_timeline(text: &str) -> Result<Vec<(f64, f64)>, ParseError> {
    const WHAT: &str = "heaptrack_print --print-massif output";
    let mut timeline = Vec::new();
    let mut time: Option<f64> = None;
    for (index, line) in text.lines().enumerate() {
        let number = |value: &str| {
            value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .ok_or_else(|| {
                    ParseError::new(
                        WHAT,
                        Some(index + 1),
                        format!("expected a number, got {line:?}"),
                    )
                })
        };
        if let Some(value) = line.strip_prefix("time=") {
            time = Some(number(value)?);
        } else if let Some(value) = line.strip_prefix("mem_heap_B=") {
            let at = time.take().ok_or_else(|| {
                ParseError::new(
                    WHAT,
                    Some(index + 1),
                    "`mem_heap_B=` without a `time=` before it",
                )
            })?;
            timeline.push((at, number(value)?));
        }
    }
    if timeline.is_empty() {
        return Err(ParseError::new(
            WHAT,
            None,
            "no snapshot (`time=` and `mem_heap_B=` lines) found",
        ));
    }
    Ok(timeline)
}

/// What `heaptrack_print` reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaptrackReport {
    /// `Debuggee command was: …`
    pub debuggee: Option<String>,
    pub summary: HeaptrackSummary,
    /// MOST CALLS TO ALLOCATION FUNCTIONS (top N).
    pub most_calls: Vec<HeaptrackEntry>,
    /// PEAK MEMORY CONSUMERS (top N).
    pub peak_consumers: Vec<HeaptrackEntry>,
    /// MOST TEMPORARY ALLOCATIONS (top N).
    pub most_temporary: Vec<HeaptrackEntry>,
    /// MEMORY LEAKS (top N; printed only with `--print-leaks`).
    pub leaks: Vec<HeaptrackEntry>,
}

/// The closing lines of `heaptrack_print`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaptrackSummary {
    /// `total runtime: 0.52s.`
    pub runtime_s: f64,
    /// `calls to allocation functions: 249016 (478876/s)`
    pub allocation_calls: u64,
    /// `temporary memory allocations: 75662 (145503/s)`
    pub temporary_allocations: u64,
    /// `peak heap memory consumption: 4.36M`
    pub peak_heap: PrintedSize,
    /// `peak RSS (including heaptrack overhead): 8.60M`
    pub peak_rss: PrintedSize,
    /// `total memory leaked: 1.51K`
    pub leaked: PrintedSize,
    /// `suppressed leaks: …` (only printed when some were suppressed)
    pub suppressed_leaks: Option<PrintedSize>,
}

/// One entry of a ranking section: an allocation site (the merged location
/// where an allocation function was called) and its largest backtraces.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaptrackEntry {
    /// Peak consumption (MOST CALLS, PEAK), or bytes leaked (LEAKS).
    pub bytes: Option<PrintedSize>,
    /// Calls to allocation functions from this site.
    pub calls: u64,
    /// Temporary allocations (MOST TEMPORARY only).
    pub temporary: Option<u64>,
    /// The site's frame and the frames inlined into it, innermost first.
    pub location: Vec<Frame>,
    /// The backtraces merged into this site, largest first, each from the
    /// caller of `location` outwards.
    pub traces: Vec<HeaptrackTrace>,
    /// `and 7.64K from 13 other places`: what the printed traces leave out.
    pub other_places: Option<OtherPlaces>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeaptrackTrace {
    pub bytes: Option<PrintedSize>,
    pub calls: u64,
    pub temporary: Option<u64>,
    pub frames: Vec<Frame>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OtherPlaces {
    /// As printed: a call count (MOST CALLS, MOST TEMPORARY) or a size.
    pub amount: String,
    pub places: u64,
}

impl HeaptrackEntry {
    /// The full stack of the largest backtrace: the site, then its callers.
    pub fn stack(&self) -> Vec<Frame> {
        let mut stack = self.location.clone();
        if let Some(trace) = self.traces.first() {
            stack.extend(trace.frames.iter().cloned());
        }
        stack
    }

    fn to_site(&self, count: Option<u64>) -> Site {
        Site::from_stack(self.stack(), self.bytes.as_ref().map(|b| b.bytes), count)
    }
}

impl HeaptrackReport {
    pub fn to_report(&self) -> MemoryReport {
        MemoryReport {
            tool: "heaptrack".into(),
            peak_heap_bytes: Some(self.summary.peak_heap.bytes),
            peak_rss_bytes: Some(self.summary.peak_rss.bytes),
            total_allocations: Some(self.summary.allocation_calls),
            temporary_allocations: Some(self.summary.temporary_allocations),
            leaked_bytes: Some(self.summary.leaked.bytes),
            runtime_s: Some(self.summary.runtime_s),
            peak_consumers: self
                .peak_consumers
                .iter()
                .map(|e| e.to_site(Some(e.calls)))
                .collect(),
            allocation_sites: self
                .most_calls
                .iter()
                .map(|e| e.to_site(Some(e.calls)))
                .collect(),
            temporary_sites: self
                .most_temporary
                .iter()
                .map(|e| Site {
                    bytes: None,
                    ..e.to_site(e.temporary)
                })
                .collect(),
            leaks: self
                .leaks
                .iter()
                .map(|e| e.to_site(Some(e.calls)))
                .collect(),
            ..MemoryReport::default()
        }
    }
}

impl From<&HeaptrackReport> for MemoryReport {
    fn from(report: &HeaptrackReport) -> MemoryReport {
        report.to_report()
    }
}

/// Turns `heaptrack_print --print-flamegraph` output into inferno's folded
/// format: root frame first, `;`-separated, a space and the count. Drops
/// heaptrack's `;` before the count and the lines whose count is zero (with
/// cost type `peak`, every allocation not live at the peak), demangles Rust
/// names, and merges stacks that became identical once demangled. Lines
/// without a count are skipped.
///
/// Caveat of heaptrack 1.4: within one instruction pointer it writes the
/// frame before the frames inlined into it, so a run of inlined frames reads
/// innermost-first inside an otherwise root-first stack.
pub fn parse_flamegraph(text: &str) -> String {
    let mut order: Vec<String> = Vec::new();
    let mut counts: HashMap<String, u64> = HashMap::new();
    for line in text.lines() {
        let line = line.trim_end();
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let Ok(count) = count.parse::<i64>() else {
            continue;
        };
        if count <= 0 {
            continue;
        }
        let stack = stack.trim_end().trim_end_matches(';');
        if stack.is_empty() {
            continue;
        }
        let folded = stack
            .split(';')
            .map(|frame| stable_frame_name(&demangle_in_text(frame.trim())))
            .collect::<Vec<_>>()
            .join(";");
        match counts.get_mut(&folded) {
            Some(total) => *total += count as u64,
            None => {
                counts.insert(folded.clone(), count as u64);
                order.push(folded);
            }
        }
    }
    let mut out = String::new();
    for stack in order {
        out.push_str(&stack);
        out.push(' ');
        out.push_str(&counts[&stack].to_string());
        out.push('\n');
    }
    out
}

/// A frame as printed, with an address that has no symbol (`0x7f82…`,
/// which ASLR moves from run to run) given the one name of unresolved code,
/// so that two runs' stacks line up.
pub fn stable_frame_name(frame: &str) -> String {
    let address = frame.split_whitespace().next().unwrap_or("");
    let hex = address
        .strip_prefix("0x")
        .is_some_and(|digits| !digits.is_empty() && digits.chars().all(|c| c.is_ascii_hexdigit()));
    match hex {
        true => unresolved_name(None),
        false => frame.to_string(),
    }
}

#[cfg(test)]
mod tests;
