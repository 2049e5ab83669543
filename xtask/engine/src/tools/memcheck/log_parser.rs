//! The reader of memcheck's text log (`--log-file=…`, the form older scripts
//! used), kept for the tests only: the tool itself asks memcheck for XML
//! ([`super::command`]) and reads that. The tests read the fixture log with
//! it to check that the XML gives the same totals and stacks, and that the
//! log's closing summaries (HEAP SUMMARY, LEAK SUMMARY, ERROR SUMMARY) agree.

use super::{
    common_args, direct_indirect, number, top_leaks, HeapSummary, LeakKind, LeakReport, LossRecord,
    Lost, MemoryError,
};
use crate::tools::demangle::demangle_in_text;
use crate::tools::memory_model::{excerpt, Frame, ParseError};
use std::ffi::OsString;
use std::path::Path;

const WHAT_LOG: &str = "memcheck log";

/// The same run writing the text log instead (`--log-file=OUT`).
pub fn log_command(
    valgrind: &Path,
    log_out: &Path,
    program: &Path,
    args: &[String],
) -> Vec<OsString> {
    let mut argv = common_args(valgrind);
    let mut file = OsString::from("--log-file=");
    file.push(log_out);
    argv.push(file);
    argv.push(program.into());
    argv.extend(args.iter().map(OsString::from));
    argv
}

impl LeakKind {
    fn from_text(text: &str) -> Option<LeakKind> {
        match text {
            "definitely lost" => Some(LeakKind::DefinitelyLost),
            "indirectly lost" => Some(LeakKind::IndirectlyLost),
            "possibly lost" => Some(LeakKind::PossiblyLost),
            "still reachable" => Some(LeakKind::StillReachable),
            _ => None,
        }
    }
}

/// `   at 0x48417B4: malloc (in /usr/lib/…)` / `   by 0x12E889: f (a.rs:9)`
fn log_frame(line: &str) -> Option<Frame> {
    let rest = line
        .strip_prefix("at ")
        .or_else(|| line.strip_prefix("by "))?;
    let (address, rest) = rest.split_once(": ")?;
    if !address.starts_with("0x") {
        return None;
    }
    let rest = rest.trim_end();
    // The location is the last balanced `( … )` group, preceded by a space.
    let (function, location) = match rest.strip_suffix(')') {
        Some(body) => {
            let mut depth = 1;
            let mut split = None;
            for (i, c) in body.char_indices().rev() {
                match c {
                    ')' => depth += 1,
                    '(' => {
                        depth -= 1;
                        if depth == 0 {
                            split = Some(i);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            match split {
                Some(i) if body[..i].ends_with(' ') => (body[..i].trim_end(), Some(&body[i + 1..])),
                _ => (rest, None),
            }
        }
        None => (rest, None),
    };
    let (location, module) = match location {
        Some(l) => match l.strip_prefix("in ") {
            Some(module) => (None, Some(module.to_string())),
            None => (Some(l.to_string()), None),
        },
        None => (None, None),
    };
    Some(Frame {
        function: demangle_in_text(function),
        location,
        module,
    })
}

/// `4,096 bytes in 1 blocks are definitely lost in loss record 3 of 3`
fn log_loss_record(line: &str) -> Option<LossRecord> {
    let (amount, rest) = line.split_once(" bytes in ")?;
    let (blocks, rest) = rest.split_once(" blocks are ")?;
    let (kind, _) = rest.split_once(" in loss record ")?;
    let kind = LeakKind::from_text(kind)?;
    let (bytes, direct, indirect) = match direct_indirect(amount) {
        Some((d, i)) => (number(amount.split_once(' ')?.0)?, d, i),
        None => {
            let b = number(amount)?;
            (b, b, 0)
        }
    };
    Some(LossRecord {
        kind,
        bytes,
        direct_bytes: direct,
        indirect_bytes: indirect,
        blocks: number(blocks)?,
        stack: Vec::new(),
    })
}

/// `definitely lost: 4,096 bytes in 1 blocks`
fn log_lost(value: &str) -> Option<Lost> {
    let (bytes, rest) = value.split_once(" bytes in ")?;
    let blocks = rest.strip_suffix(" blocks")?;
    Some(Lost {
        bytes: number(bytes)?,
        blocks: number(blocks)?,
    })
}

/// The N of `N errors from M contexts (suppressed: S from T)`, the whole
/// line required: it is the log's last, and a log cut inside it (`1` of
/// `12 errors`) must not read as a smaller count.
fn error_summary_count(value: &str) -> Option<u64> {
    let (errors, rest) = value.trim().split_once(" errors from ")?;
    let (contexts, rest) = rest.split_once(" contexts (suppressed: ")?;
    let (suppressed, rest) = rest.split_once(" from ")?;
    let suppressed_contexts = rest.strip_suffix(')')?;
    for n in [contexts, suppressed, suppressed_contexts] {
        number(n.trim())?;
    }
    number(errors.trim())
}

/// Reads the text log (as [`log_command`] makes it), summaries included.
pub fn parse_log(text: &str, top: usize) -> Result<LeakReport, ParseError> {
    let mut log = Log::new();
    let mut seen_valgrind = false;
    for (index, raw) in text.lines().enumerate() {
        let Some(body) = valgrind_body(raw) else {
            continue;
        };
        seen_valgrind = true;
        log.line(index + 1, body.trim())?;
    }
    if !seen_valgrind {
        return Err(ParseError::new(
            WHAT_LOG,
            None,
            "no valgrind lines ('==PID== …') found: expected memcheck's log",
        ));
    }
    let Some(errors_total) = log.error_summary else {
        return Err(ParseError::new(
            WHAT_LOG,
            None,
            "no 'ERROR SUMMARY:' line: the log is truncated (valgrind killed or still running?)",
        ));
    };
    Ok(log.into_report(errors_total, top))
}

/// `==6683== message`: only valgrind's own lines count, the message is
/// what it says.
fn valgrind_body(raw: &str) -> Option<&str> {
    raw.strip_prefix("==")
        .and_then(|r| r.split_once("== "))
        .filter(|(pid, _)| pid.chars().all(|c| c.is_ascii_digit()))
        .map(|(_, body)| body)
        .or_else(|| {
            raw.strip_prefix("==")
                .and_then(|r| r.strip_suffix("=="))
                .map(|_| "")
        })
}

/// What the frames that follow belong to.
enum Current {
    None,
    Leak,
    Error,
}

/// What the log has told so far, read one valgrind line at a time.
struct Log {
    report: LeakReport,
    leaks: Vec<LossRecord>,
    errors: Vec<MemoryError>,
    current: Current,
    leak_summary: bool,
    error_summary: Option<u64>,
}

impl Log {
    fn new() -> Self {
        Log {
            report: LeakReport {
                command: None,
                definitely_lost: Lost::default(),
                indirectly_lost: Lost::default(),
                possibly_lost: Lost::default(),
                still_reachable: Lost::default(),
                totals_complete: true,
                error_count: 0,
                errors: Vec::new(),
                top_leaks: Vec::new(),
                heap_summary: None,
            },
            leaks: Vec::new(),
            errors: Vec::new(),
            current: Current::None,
            leak_summary: false,
            error_summary: None,
        }
    }

    /// One valgrind line, line `n` of the log, by what it starts with.
    fn line(&mut self, n: usize, line: &str) -> Result<(), ParseError> {
        let bad = |what: &str| {
            ParseError::at(
                WHAT_LOG,
                n,
                format!("expected {what}, got {}", excerpt(line)),
            )
        };
        if line.is_empty() {
            self.current = Current::None;
            return Ok(());
        }
        if let Some(command) = line.strip_prefix("Command: ") {
            self.report.command = Some(command.to_string());
        } else if let Some(frame) = log_frame(line) {
            match self.current {
                Current::Leak => self.leaks.last_mut().expect("a record").stack.push(frame),
                Current::Error => self.errors.last_mut().expect("an error").stack.push(frame),
                Current::None => {}
            }
        } else if line.contains(" in loss record ") {
            let record = log_loss_record(line)
                .ok_or_else(|| bad("'N bytes in M blocks are <kind> in loss record I of J'"))?;
            self.leaks.push(record);
            self.current = Current::Leak;
        } else if let Some(value) = line.strip_prefix("in use at exit: ") {
            let lost =
                log_lost(value).ok_or_else(|| bad("'in use at exit: N bytes in M blocks'"))?;
            self.report.heap_summary = Some(HeapSummary {
                in_use_bytes: lost.bytes,
                in_use_blocks: lost.blocks,
                allocs: 0,
                frees: 0,
                bytes_allocated: 0,
            });
        } else if let Some(value) = line.strip_prefix("total heap usage: ") {
            self.total_heap_usage(value)
                .ok_or_else(|| bad("'total heap usage: N allocs, N frees, N bytes allocated'"))?;
        } else if line == "LEAK SUMMARY:" {
            self.leak_summary = true;
        } else if let Some((kind, value)) = line.split_once(": ").filter(|_| self.leak_summary) {
            self.leak_summary_line(kind, value, &bad)?;
        } else if let Some(value) = line.strip_prefix("ERROR SUMMARY: ") {
            self.error_summary = Some(error_summary_count(value).ok_or_else(|| {
                bad("'ERROR SUMMARY: N errors from M contexts (suppressed: S from T)'")
            })?);
        } else if !matches!(self.current, Current::Leak) && is_error_headline(line) {
            self.errors.push(MemoryError {
                kind: String::new(),
                what: line.to_string(),
                count: 1,
                stack: Vec::new(),
            });
            self.current = Current::Error;
        }
        Ok(())
    }

    /// `249,021 allocs, 249,018 frees, 34,692,461 bytes allocated`; None
    /// when the line is not of that form.
    fn total_heap_usage(&mut self, value: &str) -> Option<()> {
        let parts: Vec<&str> = value.split(", ").collect();
        let field = |i: usize, suffix: &str| {
            parts
                .get(i)
                .and_then(|p| p.strip_suffix(suffix))
                .and_then(number)
        };
        let (Some(allocs), Some(frees), Some(bytes)) = (
            field(0, " allocs"),
            field(1, " frees"),
            field(2, " bytes allocated"),
        ) else {
            return None;
        };
        let summary = self.report.heap_summary.get_or_insert(HeapSummary {
            in_use_bytes: 0,
            in_use_blocks: 0,
            allocs: 0,
            frees: 0,
            bytes_allocated: 0,
        });
        summary.allocs = allocs;
        summary.frees = frees;
        summary.bytes_allocated = bytes;
        Some(())
    }

    /// `KIND: VALUE` after `LEAK SUMMARY:`: a total of one kind of loss,
    /// or the ERROR SUMMARY that follows them.
    fn leak_summary_line(
        &mut self,
        kind: &str,
        value: &str,
        bad: &dyn Fn(&str) -> ParseError,
    ) -> Result<(), ParseError> {
        let report = &mut self.report;
        let target = match kind {
            "definitely lost" => Some(&mut report.definitely_lost),
            "indirectly lost" => Some(&mut report.indirectly_lost),
            "possibly lost" => Some(&mut report.possibly_lost),
            "still reachable" => Some(&mut report.still_reachable),
            _ => None,
        };
        if let Some(target) = target {
            *target =
                log_lost(value).ok_or_else(|| bad(&format!("'{kind}: N bytes in M blocks'")))?;
        }
        if kind == "ERROR SUMMARY" {
            self.error_summary = Some(error_summary_count(value).ok_or_else(|| {
                bad("'ERROR SUMMARY: N errors from M contexts (suppressed: S from T)'")
            })?);
        }
        Ok(())
    }

    /// The report, given the ERROR SUMMARY's count: at most `top` errors
    /// and leaks.
    fn into_report(mut self, errors_total: u64, top: usize) -> LeakReport {
        // The ERROR SUMMARY counts leaks of the kinds reported as errors
        // (definite and possible, memcheck's default `--errors-for-leak-kinds`).
        let leak_errors = self
            .leaks
            .iter()
            .filter(|r| matches!(r.kind, LeakKind::DefinitelyLost | LeakKind::PossiblyLost))
            .count() as u64;
        self.report.error_count = errors_total.saturating_sub(leak_errors);
        self.report.errors = self.errors.into_iter().take(top).collect();
        self.report.top_leaks = top_leaks(self.leaks, top);
        self.report
    }
}

/// The first line of a memory error in a log (`Invalid read of size 4`,
/// `Conditional jump or move depends on uninitialised value(s)` …).
fn is_error_headline(line: &str) -> bool {
    const STARTS: &[&str] = &[
        "Invalid ",
        "Conditional jump",
        "Use of uninitialised",
        "Syscall param",
        "Mismatched free",
        "Source and destination overlap",
        "Argument 'size' of function",
        "Process terminating",
    ];
    STARTS.iter().any(|s| line.starts_with(s))
}
