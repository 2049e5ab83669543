//! heaptrack: record a run, then read `heaptrack_print`'s text report and its
//! `--print-flamegraph` stacks.
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

use super::memory_model::{
    demangle_in_text, excerpt, Frame, MemoryReport, ParseError, PrintedSize, Site,
};
use serde::Serialize;
use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

const WHAT: &str = "heaptrack_print output";

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

/// `heaptrack_print --print-leaks=1 --peak-limit=10 --sub-peak-limit=2 --file DATA`
///
/// (heaptrack_print's boolean and limit options take `=VALUE`: they have
/// implicit values, so a separate token would not be read as their value.)
pub fn print_command(heaptrack_print: &Path, data: &Path) -> Vec<OsString> {
    vec![
        heaptrack_print.into(),
        "--print-leaks=1".into(),
        format!("--peak-limit={PRINT_PEAK_LIMIT}").into(),
        format!("--sub-peak-limit={PRINT_SUB_PEAK_LIMIT}").into(),
        "--file".into(),
        data.into(),
    ]
}

/// `heaptrack_print --print-peaks=0 --print-allocators=0 --print-temporary=0
/// --flamegraph-cost-type peak --print-flamegraph FOLDED --file DATA`: writes
/// one stack per allocation backtrace with its bytes at the heap's peak. Its
/// stdout is then only the summary (readable with [`parse_print`]).
pub fn flamegraph_command(heaptrack_print: &Path, data: &Path, folded_out: &Path) -> Vec<OsString> {
    vec![
        heaptrack_print.into(),
        "--print-peaks=0".into(),
        "--print-allocators=0".into(),
        "--print-temporary=0".into(),
        "--flamegraph-cost-type".into(),
        "peak".into(),
        "--print-flamegraph".into(),
        folded_out.into(),
        "--file".into(),
        data.into(),
    ]
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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Section {
    Calls,
    Peak,
    Leaks,
    Temporary,
}

impl Section {
    fn from_title(line: &str) -> Option<Section> {
        match line.trim_end() {
            "MOST CALLS TO ALLOCATION FUNCTIONS" => Some(Section::Calls),
            "PEAK MEMORY CONSUMERS" => Some(Section::Peak),
            "MEMORY LEAKS" => Some(Section::Leaks),
            "MOST TEMPORARY ALLOCATIONS" => Some(Section::Temporary),
            _ => None,
        }
    }

    fn title(self) -> &'static str {
        match self {
            Section::Calls => "MOST CALLS TO ALLOCATION FUNCTIONS",
            Section::Peak => "PEAK MEMORY CONSUMERS",
            Section::Leaks => "MEMORY LEAKS",
            Section::Temporary => "MOST TEMPORARY ALLOCATIONS",
        }
    }

    fn header_example(self) -> &'static str {
        match self {
            Section::Calls => {
                "'<n> calls to allocation functions with <size> peak consumption from'"
            }
            Section::Peak => "'<size> peak memory consumed over <n> calls from'",
            Section::Leaks => "'<size> leaked over <n> calls from'",
            Section::Temporary => {
                "'<n> temporary allocations of <n> allocations in total (<p>%) from'"
            }
        }
    }
}

/// The figures of an entry or backtrace label.
struct Label {
    bytes: Option<PrintedSize>,
    calls: u64,
    temporary: Option<u64>,
}

/// Reads a label line: the entry header (`… from`) or, with `sub`, a merged
/// backtrace's header (`… from:`). `None` if the line is not one.
fn parse_label(section: Section, line: &str, sub: bool) -> Option<Label> {
    let body = if sub {
        line.strip_suffix(" from:")?
    } else {
        line.strip_suffix(" from")?
    };
    let num = |s: &str| s.trim().parse::<u64>().ok();
    let size = |s: &str| PrintedSize::parse_decimal(s.trim());
    match section {
        Section::Calls => {
            let sep = if sub {
                " calls with "
            } else {
                " calls to allocation functions with "
            };
            let (calls, rest) = body.split_once(sep)?;
            let peak = rest.strip_suffix(" peak consumption")?;
            Some(Label {
                bytes: Some(size(peak)?),
                calls: num(calls)?,
                temporary: None,
            })
        }
        Section::Peak | Section::Leaks => {
            let sep = match (section, sub) {
                (Section::Peak, false) => " peak memory consumed over ",
                (Section::Peak, true) => " consumed over ",
                _ => " leaked over ",
            };
            let (bytes, rest) = body.split_once(sep)?;
            let calls = rest.strip_suffix(" calls")?;
            Some(Label {
                bytes: Some(size(bytes)?),
                calls: num(calls)?,
                temporary: None,
            })
        }
        Section::Temporary => {
            let (temporary, rest) = body.split_once(" temporary allocations of ")?;
            let (calls, rest) = rest.split_once(" allocations in total (")?;
            let pct = rest.strip_suffix("%)")?;
            pct.trim().parse::<f64>().ok()?;
            Some(Label {
                bytes: None,
                calls: num(calls)?,
                temporary: Some(num(temporary)?),
            })
        }
    }
}

/// `  and 7.64K from 13 other places`
fn parse_other_places(line: &str) -> Option<OtherPlaces> {
    let rest = line
        .trim()
        .strip_prefix("and ")?
        .strip_suffix(" other places")?;
    let (amount, places) = rest.rsplit_once(" from ")?;
    Some(OtherPlaces {
        amount: amount.trim().to_string(),
        places: places.trim().parse().ok()?,
    })
}

/// Adds a frame line (`function`, `  at file:line`, `  in module`) to `frames`.
fn push_frame_line(frames: &mut Vec<Frame>, line: &str) {
    let trimmed = line.trim();
    if let Some(location) = trimmed.strip_prefix("at ") {
        if let Some(frame) = frames.last_mut() {
            frame.location = Some(location.to_string());
            return;
        }
    } else if let Some(module) = trimmed.strip_prefix("in ") {
        if let Some(frame) = frames.last_mut() {
            if module != "??" {
                frame.module = Some(module.to_string());
            }
            return;
        }
    }
    frames.push(Frame::new(demangle_in_text(trimmed)));
}

/// Reads `heaptrack_print`'s text (as [`print_command`] makes it, with any
/// of its sections switched off, or unmerged with `-m 0`), keeping the top
/// `top` entries of each section. Reads line by line and keeps only what it
/// returns, so outputs of many MB are fine. `--diff` output (negative
/// counts) is not supported.
pub fn parse_print(text: &str, top: usize) -> Result<HeaptrackReport, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::new(
            WHAT,
            None,
            "empty input: expected heaptrack_print's report",
        ));
    }
    let mut debuggee = None;
    let mut sections: HashMap<Section, Vec<HeaptrackEntry>> = HashMap::new();
    let mut section: Option<Section> = None;
    // Inside a section: the entry being read (if kept), whether the next
    // non-blank line must be an entry header, and how many entries were seen.
    let mut current: Option<HeaptrackEntry> = None;
    let mut expect_header = true;
    let mut seen_in_section = 0usize;
    let mut summary_start: Option<usize> = None;
    let mut last_line = 0;

    let finish = |current: &mut Option<HeaptrackEntry>,
                  sections: &mut HashMap<Section, Vec<HeaptrackEntry>>,
                  section: Option<Section>| {
        if let (Some(entry), Some(section)) = (current.take(), section) {
            sections.entry(section).or_default().push(entry);
        }
    };

    let lines: Vec<&str> = text.lines().collect();
    for (index, raw) in lines.iter().enumerate() {
        let number = index + 1;
        last_line = number;
        let line = raw.trim_end();
        if let Some(new_section) = Section::from_title(line) {
            finish(&mut current, &mut sections, section);
            sections.entry(new_section).or_default();
            section = Some(new_section);
            expect_header = true;
            seen_in_section = 0;
            continue;
        }
        if line.starts_with("total runtime:") {
            finish(&mut current, &mut sections, section);
            summary_start = Some(index);
            break;
        }
        let Some(sec) = section else {
            // Before the first section: the preamble.
            if let Some(command) = line.strip_prefix("Debuggee command was: ") {
                debuggee = Some(command.to_string());
            }
            continue;
        };
        if line.is_empty() {
            finish(&mut current, &mut sections, section);
            expect_header = true;
            continue;
        }
        let unindented = !line.starts_with(' ');
        if unindented && (expect_header || line.ends_with(" from")) {
            match parse_label(sec, line, false) {
                Some(label) => {
                    finish(&mut current, &mut sections, section);
                    seen_in_section += 1;
                    expect_header = false;
                    if seen_in_section <= top {
                        current = Some(HeaptrackEntry {
                            bytes: label.bytes,
                            calls: label.calls,
                            temporary: label.temporary,
                            location: Vec::new(),
                            traces: Vec::new(),
                            other_places: None,
                        });
                    }
                    continue;
                }
                None if expect_header => {
                    return Err(ParseError::at(
                        WHAT,
                        number,
                        format!(
                            "in section {}: expected an entry header like {}, got {}",
                            sec.title(),
                            sec.header_example(),
                            excerpt(line)
                        ),
                    ));
                }
                None => {}
            }
        }
        if unindented && line.ends_with(" from:") {
            let Some(label) = parse_label(sec, line, true) else {
                return Err(ParseError::at(
                    WHAT,
                    number,
                    format!(
                        "in section {}: expected a backtrace header like {} with a ':', got {}",
                        sec.title(),
                        sec.header_example(),
                        excerpt(line)
                    ),
                ));
            };
            if let Some(entry) = current.as_mut() {
                entry.traces.push(HeaptrackTrace {
                    bytes: label.bytes,
                    calls: label.calls,
                    temporary: label.temporary,
                    frames: Vec::new(),
                });
            }
            continue;
        }
        if line.trim_start().starts_with("and ") && line.ends_with(" other places") {
            let Some(other) = parse_other_places(line) else {
                return Err(ParseError::at(
                    WHAT,
                    number,
                    format!(
                        "expected 'and <amount> from <n> other places', got {}",
                        excerpt(line)
                    ),
                ));
            };
            if let Some(entry) = current.as_mut() {
                entry.other_places = Some(other);
            }
            continue;
        }
        // A frame line.
        if let Some(entry) = current.as_mut() {
            match entry.traces.last_mut() {
                Some(trace) => push_frame_line(&mut trace.frames, line),
                None => push_frame_line(&mut entry.location, line),
            }
        }
    }

    let Some(start) = summary_start else {
        let message = match section {
            Some(sec) => format!(
                "unexpected end of input in section {} after line {last_line}: expected more \
                 entries or the summary ('total runtime: …') — the output looks truncated",
                sec.title()
            ),
            None => "no heaptrack_print report found: expected a section such as 'PEAK MEMORY \
                     CONSUMERS' or the summary line 'total runtime: …'"
                .to_string(),
        };
        return Err(ParseError::new(WHAT, None, message));
    };
    let summary = parse_summary(&lines, start)?;
    let mut take = |s: Section| sections.remove(&s).unwrap_or_default();
    Ok(HeaptrackReport {
        debuggee,
        summary,
        most_calls: take(Section::Calls),
        peak_consumers: take(Section::Peak),
        most_temporary: take(Section::Temporary),
        leaks: take(Section::Leaks),
    })
}

fn parse_summary(lines: &[&str], start: usize) -> Result<HeaptrackSummary, ParseError> {
    // Each summary line: its prefix, and where it was found.
    let find = |prefix: &str| -> Option<(usize, &str)> {
        lines[start..]
            .iter()
            .enumerate()
            .find_map(|(i, l)| l.strip_prefix(prefix).map(|v| (start + i + 1, v.trim())))
    };
    let require = |prefix: &str| -> Result<(usize, &str), ParseError> {
        find(prefix).ok_or_else(|| {
            ParseError::new(
                WHAT,
                None,
                format!(
                    "summary from line {} is missing its '{prefix} …' line — the output looks \
                     truncated",
                    start + 1
                ),
            )
        })
    };
    let count = |prefix: &str| -> Result<u64, ParseError> {
        let (n, value) = require(prefix)?;
        value
            .split_whitespace()
            .next()
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| {
                ParseError::at(
                    WHAT,
                    n,
                    format!(
                        "expected '{prefix} <count> (<rate>/s)', got {}",
                        excerpt(value)
                    ),
                )
            })
    };
    let size = |prefix: &str| -> Result<PrintedSize, ParseError> {
        let (n, value) = require(prefix)?;
        PrintedSize::parse_decimal(value).ok_or_else(|| {
            ParseError::at(
                WHAT,
                n,
                format!(
                    "expected a size such as 4.36M after '{prefix}', got {}",
                    excerpt(value)
                ),
            )
        })
    };
    let (n, runtime) = require("total runtime:")?;
    let runtime_s = runtime
        .trim_end_matches('.')
        .trim_end_matches('s')
        .parse::<f64>()
        .map_err(|_| {
            ParseError::at(
                WHAT,
                n,
                format!(
                    "expected 'total runtime: <seconds>s.', got {}",
                    excerpt(runtime)
                ),
            )
        })?;
    Ok(HeaptrackSummary {
        runtime_s,
        allocation_calls: count("calls to allocation functions:")?,
        temporary_allocations: count("temporary memory allocations:")?,
        peak_heap: size("peak heap memory consumption:")?,
        peak_rss: size("peak RSS (including heaptrack overhead):")?,
        leaked: size("total memory leaked:")?,
        suppressed_leaks: match find("suppressed leaks:") {
            Some(_) => Some(size("suppressed leaks:")?),
            None => None,
        },
    })
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
            .map(|frame| demangle_in_text(frame.trim()))
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

#[cfg(test)]
mod tests;
