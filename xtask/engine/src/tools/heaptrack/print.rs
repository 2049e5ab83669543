//! The reader of `heaptrack_print`'s text report: its ranking sections
//! (most calls, peak consumers, leaks, temporary allocations), each entry's
//! merged backtraces, and the closing summary. Kept apart from the report
//! types it fills because it is most of the parsing code.

use super::{HeaptrackEntry, HeaptrackReport, HeaptrackSummary, HeaptrackTrace, OtherPlaces};
use crate::tools::demangle::demangle_in_text;
use crate::tools::memory_model::{excerpt, Frame, ParseError, PrintedSize};
use std::collections::HashMap;

const WHAT: &str = "heaptrack_print output";

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
                if frame.function == super::unresolved_name(None) {
                    frame.function = super::unresolved_name(Some(module));
                }
            }
            return;
        }
    }
    frames.push(Frame::new(super::stable_frame_name(&demangle_in_text(
        trimmed,
    ))));
}

/// Reads `heaptrack_print`'s text (as [`super::print_command`] makes it, with any
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
    let mut reader = SectionReader::new(top);
    let mut summary_start: Option<usize> = None;
    let mut last_line = 0;
    let lines: Vec<&str> = text.lines().collect();
    for (index, raw) in lines.iter().enumerate() {
        let number = index + 1;
        last_line = number;
        let line = raw.trim_end();
        if let Some(new_section) = Section::from_title(line) {
            reader.start(new_section);
            continue;
        }
        if line.starts_with("total runtime:") {
            reader.finish_entry();
            summary_start = Some(index);
            break;
        }
        let Some(sec) = reader.section else {
            // Before the first section: the preamble.
            if let Some(command) = line.strip_prefix("Debuggee command was: ") {
                debuggee = Some(command.to_string());
            }
            continue;
        };
        reader.line(sec, number, line)?;
    }

    let Some(start) = summary_start else {
        return Err(no_summary(reader.section, last_line));
    };
    let summary = parse_summary(&lines, start)?;
    let mut take = |s: Section| reader.sections.remove(&s).unwrap_or_default();
    Ok(HeaptrackReport {
        debuggee,
        summary,
        most_calls: take(Section::Calls),
        peak_consumers: take(Section::Peak),
        most_temporary: take(Section::Temporary),
        leaks: take(Section::Leaks),
    })
}

/// The error of an output without its closing summary: cut short inside
/// a section, or no report at all.
fn no_summary(section: Option<Section>, last_line: usize) -> ParseError {
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
    ParseError::new(WHAT, None, message)
}

/// The ranking sections read so far, and where the reading stands in the
/// current one.
struct SectionReader {
    top: usize,
    sections: HashMap<Section, Vec<HeaptrackEntry>>,
    section: Option<Section>,
    // Inside a section: the entry being read (if kept), whether the next
    // non-blank line must be an entry header, and how many entries were seen.
    current: Option<HeaptrackEntry>,
    expect_header: bool,
    seen_in_section: usize,
}

impl SectionReader {
    fn new(top: usize) -> Self {
        SectionReader {
            top,
            sections: HashMap::new(),
            section: None,
            current: None,
            expect_header: true,
            seen_in_section: 0,
        }
    }

    /// Files the entry being read under its section.
    fn finish_entry(&mut self) {
        if let (Some(entry), Some(section)) = (self.current.take(), self.section) {
            self.sections.entry(section).or_default().push(entry);
        }
    }

    /// A section's title line: the entries that follow are its.
    fn start(&mut self, section: Section) {
        self.finish_entry();
        self.sections.entry(section).or_default();
        self.section = Some(section);
        self.expect_header = true;
        self.seen_in_section = 0;
    }

    /// A line of section `sec`, line `number` of the output: a blank line
    /// between entries, an entry's or a backtrace's header, its other
    /// places, or a frame.
    fn line(&mut self, sec: Section, number: usize, line: &str) -> Result<(), ParseError> {
        if line.is_empty() {
            self.finish_entry();
            self.expect_header = true;
            return Ok(());
        }
        let unindented = !line.starts_with(' ');
        if unindented
            && (self.expect_header || line.ends_with(" from"))
            && self.entry_header(sec, number, line)?
        {
            return Ok(());
        }
        if unindented && line.ends_with(" from:") {
            return self.trace_header(sec, number, line);
        }
        if line.trim_start().starts_with("and ") && line.ends_with(" other places") {
            return self.other_places(number, line);
        }
        // A frame line.
        if let Some(entry) = self.current.as_mut() {
            match entry.traces.last_mut() {
                Some(trace) => push_frame_line(&mut trace.frames, line),
                None => push_frame_line(&mut entry.location, line),
            }
        }
        Ok(())
    }

    /// An entry's header, which starts a new entry (kept among the first
    /// `top`); false if the line is not one and need not be.
    fn entry_header(
        &mut self,
        sec: Section,
        number: usize,
        line: &str,
    ) -> Result<bool, ParseError> {
        match parse_label(sec, line, false) {
            Some(label) => {
                self.finish_entry();
                self.seen_in_section += 1;
                self.expect_header = false;
                if self.seen_in_section <= self.top {
                    self.current = Some(HeaptrackEntry {
                        bytes: label.bytes,
                        calls: label.calls,
                        temporary: label.temporary,
                        location: Vec::new(),
                        traces: Vec::new(),
                        other_places: None,
                    });
                }
                Ok(true)
            }
            None if self.expect_header => Err(ParseError::at(
                WHAT,
                number,
                format!(
                    "in section {}: expected an entry header like {}, got {}",
                    sec.title(),
                    sec.header_example(),
                    excerpt(line)
                ),
            )),
            None => Ok(false),
        }
    }

    /// A merged backtrace's header, which starts a trace of the entry.
    fn trace_header(&mut self, sec: Section, number: usize, line: &str) -> Result<(), ParseError> {
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
        if let Some(entry) = self.current.as_mut() {
            entry.traces.push(HeaptrackTrace {
                bytes: label.bytes,
                calls: label.calls,
                temporary: label.temporary,
                frames: Vec::new(),
            });
        }
        Ok(())
    }

    /// `and <amount> from <n> other places`, closing an entry.
    fn other_places(&mut self, number: usize, line: &str) -> Result<(), ParseError> {
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
        if let Some(entry) = self.current.as_mut() {
            entry.other_places = Some(other);
        }
        Ok(())
    }
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
        // heaptrack prints every size with its unit (`512B`, `4.35M`): one
        // without is cut short (`1.2` of `1.26K`), not a number of bytes.
        let has_unit = value.ends_with(|c: char| c.is_ascii_alphabetic());
        has_unit
            .then(|| PrintedSize::parse_decimal(value))
            .flatten()
            .ok_or_else(|| {
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
