//! heaptrack's own data file, read line by line: every allocation with its
//! size and its backtrace, so that allocations can be counted and summed by
//! the function that made them, in calls and in bytes.
//!
//! `heaptrack_print` 1.4 ranks sites by calls, by peak and by leaks, but
//! offers no "bytes allocated" figure at all (its `--flamegraph-cost-type`
//! knows `allocations`, `temporary`, `leaked` and `peak` only). The data
//! file, once decompressed, is the text that `heaptrack_print` itself reads
//! (file format 3, written by `heaptrack_interpret`), one record a line,
//! numbers in hex:
//!
//! - `s LEN TEXT`: a string (1-based index; 0 is "none");
//! - `i IP MODULE [FUNCTION FILE LINE [FUNCTION FILE LINE]…]`: an
//!   instruction pointer, its module, and its frame followed by the frames
//!   inlined at it, innermost first (FUNCTION 0: unresolved);
//! - `t IP PARENT`: a backtrace node (1-based; parent 0 is the root);
//! - `a SIZE TRACE`: an allocation kind (0-based);
//! - `+ KIND` / `- KIND`: an allocation / a deallocation of that kind; a
//!   deallocation right after its allocation is a temporary one;
//! - `A`: heaptrack was attached to a running process here.
//!
//! Only the tables (strings, pointers, backtraces, kinds) are kept, and a
//! tally per kind: the `+`/`-` lines, which are nearly all of the file, are
//! counted as they go by.

use super::super::memory_model::{
    is_plumbing, AllocationTable, Frame, FunctionAllocations, ParseError, StackFrame,
};
use crate::tools::demangle::demangle_in_text;
use std::collections::HashMap;
use std::io::BufRead;

const WHAT: &str = "heaptrack data";

/// Calls, bytes and temporary allocations of one allocation kind, or of a
/// function.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub calls: u64,
    pub bytes: u64,
    pub temporary: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Ip {
    module: usize,
    /// (function, file, line), innermost first: the frame, then the frames
    /// inlined at this pointer.
    frames: Vec<(usize, usize, u64)>,
}

/// Everything read from one data file.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeaptrackData {
    /// Whether heaptrack was attached to a running process (`heaptrack -p`):
    /// then what was allocated before is not in the data.
    pub attached: bool,
    /// All allocations, as `heaptrack_print`'s "calls to allocation
    /// functions" and "temporary memory allocations" count them.
    pub total: Tally,
    /// The most bytes live at once: `heaptrack_print`'s "peak heap memory
    /// consumption".
    pub peak_bytes: u64,
    /// The bytes still live at the end: its "total memory leaked".
    pub leaked_bytes: u64,
    strings: Vec<String>,
    ips: Vec<Ip>,
    /// (ip, parent) per backtrace node, 1-based as in the file.
    traces: Vec<(usize, usize)>,
    /// (size, trace) per allocation kind, and its tally.
    kinds: Vec<(u64, usize)>,
    tallies: Vec<Tally>,
}

/// Reads a data file's text (decompressed) one line at a time, as it comes:
/// nothing but the tables is kept.
pub fn read_data(mut input: impl BufRead) -> Result<HeaptrackData, ParseError> {
    let mut reading = Reading::default();
    // The start of a line that the previous buffer cut.
    let mut cut = Vec::new();
    let mut number = 0usize;
    loop {
        let buffer = input
            .fill_buf()
            .map_err(|e| ParseError::new(WHAT, Some(number + 1), format!("cannot read: {e}")))?;
        if buffer.is_empty() {
            break;
        }
        let length = buffer.len();
        let mut start = 0;
        if !cut.is_empty() {
            let Some(end) = memchr::memchr(b'\n', buffer) else {
                cut.extend_from_slice(buffer);
                input.consume(length);
                continue;
            };
            cut.extend_from_slice(&buffer[..end]);
            number += 1;
            reading.line(&cut, number)?;
            cut.clear();
            start = end + 1;
        }
        loop {
            let (consumed, lines) = reading.records(&buffer[start..]);
            start += consumed;
            number += lines;
            let Some(end) = memchr::memchr(b'\n', &buffer[start..]) else {
                break;
            };
            number += 1;
            reading.line(&buffer[start..start + end], number)?;
            start += end + 1;
        }
        cut.extend_from_slice(&buffer[start..]);
        input.consume(length);
    }
    if !cut.is_empty() {
        reading.line(&cut, number + 1)?;
    }
    if !reading.version_seen {
        return Err(ParseError::new(
            WHAT,
            None,
            "no 'v' line: not a heaptrack data file (or not decompressed)",
        ));
    }
    reading.data.leaked_bytes = reading.live;
    Ok(reading.data)
}

/// A kind's index written as `+ KIND` or `- KIND` writes it: lowercase hex,
/// at most 15 digits; `None` for anything else.
fn kind_digits(hex: &[u8]) -> Option<usize> {
    if hex.is_empty() || hex.len() > 15 {
        return None;
    }
    let mut value = 0usize;
    for &byte in hex {
        let digit = match byte {
            b'0'..=b'9' => byte - b'0',
            b'a'..=b'f' => byte - b'a' + 10,
            _ => return None,
        };
        value = (value << 4) | digit as usize;
    }
    Some(value)
}

/// The data read so far, and what the next records are read against.
#[derive(Default)]
struct Reading {
    data: HeaptrackData,
    /// As heaptrack_print counts temporary allocations: 0 stands for "no
    /// allocation since the last deallocation", so a deallocation of kind 0
    /// right after another deallocation counts too; kept, so that the totals
    /// are heaptrack_print's own.
    last_allocation: usize,
    live: u64,
    version_seen: bool,
}

impl Reading {
    /// Line `number`, without its newline. The `+`/`-` records, nearly all
    /// of the file, take the short way.
    fn line(&mut self, line: &[u8], number: usize) -> Result<(), ParseError> {
        if let [mode @ (b'+' | b'-'), b' ', hex @ ..] = line {
            if let Some(kind) = kind_digits(hex).filter(|k| *k < self.data.kinds.len()) {
                match mode {
                    b'+' => self.allocation(kind),
                    _ => self.deallocation(kind),
                }
                return Ok(());
            }
        }
        let mut line = line;
        while let [rest @ .., b'\n' | b'\r'] = line {
            line = rest;
        }
        let Some((&mode, rest)) = line.split_first() else {
            return Ok(());
        };
        let rest = rest.strip_prefix(b" ").unwrap_or(rest);
        self.record(mode, rest).map_err(|expected| {
            ParseError::at(
                WHAT,
                number,
                format!(
                    "expected {expected}, got {:?}",
                    String::from_utf8_lossy(line)
                        .chars()
                        .take(120)
                        .collect::<String>()
                ),
            )
        })
    }

    /// Tallies the `+`/`-` records at the start of `text`, whole lines
    /// only, up to the first line of another record, cut, or not well
    /// formed (read then by [`Reading::line`]): how many bytes and lines it
    /// read. The hot loop of the reading, written so that an unoptimised
    /// build runs it fast too: slices and locals, no call per line.
    fn records(&mut self, text: &[u8]) -> (usize, usize) {
        let kinds: &[(u64, usize)] = &self.data.kinds;
        let tallies: &mut [Tally] = &mut self.data.tallies;
        let (mut live, mut peak, mut last) =
            (self.live, self.data.peak_bytes, self.last_allocation);
        let mut total = self.data.total;
        let (mut at, mut lines) = (0, 0);
        while at + 3 < text.len() {
            let mode = text[at];
            if (mode != b'+' && mode != b'-') || text[at + 1] != b' ' {
                break;
            }
            let mut end = at + 2;
            let mut kind = 0usize;
            while end < text.len() && end < at + 17 {
                let digit = match text[end] {
                    byte @ b'0'..=b'9' => byte - b'0',
                    byte @ b'a'..=b'f' => byte - b'a' + 10,
                    _ => break,
                };
                kind = (kind << 4) | digit as usize;
                end += 1;
            }
            if end == at + 2 || end >= text.len() || text[end] != b'\n' || kind >= kinds.len() {
                break;
            }
            let size = kinds[kind].0;
            if mode == b'+' {
                let tally = &mut tallies[kind];
                tally.calls += 1;
                tally.bytes += size;
                total.calls += 1;
                total.bytes += size;
                live += size;
                if live > peak {
                    peak = live;
                }
                last = kind;
            } else {
                live = live.saturating_sub(size);
                if last == kind {
                    tallies[kind].temporary += 1;
                    total.temporary += 1;
                }
                last = 0;
            }
            at = end + 1;
            lines += 1;
        }
        (self.live, self.data.peak_bytes, self.last_allocation) = (live, peak, last);
        self.data.total = total;
        (at, lines)
    }

    fn allocation(&mut self, kind: usize) {
        let data = &mut self.data;
        let size = data.kinds[kind].0;
        let tally = &mut data.tallies[kind];
        tally.calls += 1;
        tally.bytes += size;
        data.total.calls += 1;
        data.total.bytes += size;
        self.live += size;
        data.peak_bytes = data.peak_bytes.max(self.live);
        self.last_allocation = kind;
    }

    fn deallocation(&mut self, kind: usize) {
        let data = &mut self.data;
        self.live = self.live.saturating_sub(data.kinds[kind].0);
        if self.last_allocation == kind {
            data.tallies[kind].temporary += 1;
            data.total.temporary += 1;
        }
        self.last_allocation = 0;
    }

    /// One record; on a malformed one, what was expected.
    fn record(&mut self, mode: u8, rest: &[u8]) -> Result<(), &'static str> {
        let data = &mut self.data;
        match mode {
            b'+' => {
                let kind = data.kind_index(rest).ok_or("'+ KIND'")?;
                self.allocation(kind);
            }
            b'-' => {
                let kind = data.kind_index(rest).ok_or("'- KIND'")?;
                self.deallocation(kind);
            }
            b's' => data
                .strings
                .push(string_record(rest).ok_or("'s LEN TEXT'")?),
            b'i' => data.ips.push(ip_record(rest).ok_or("'i IP MODULE …'")?),
            b't' => match hex_fields(rest).as_deref() {
                Some([ip, parent]) => data.traces.push((*ip as usize, *parent as usize)),
                _ => return Err("'t IP PARENT'"),
            },
            b'a' => match hex_fields(rest).as_deref() {
                Some([size, trace]) => {
                    data.kinds.push((*size, *trace as usize));
                    data.tallies.push(Tally::default());
                }
                _ => return Err("'a SIZE TRACE'"),
            },
            b'v' => {
                self.version_seen = true;
                let version = hex_fields(rest).and_then(|v| v.get(1).copied());
                if version.is_some_and(|v| v < 2) {
                    return Err("file format 2 or later (heaptrack 1.1 and later)");
                }
            }
            b'A' => {
                // heaptrack_print starts its totals afresh here.
                data.attached = true;
                data.total = Tally::default();
                data.peak_bytes = 0;
                self.live = 0;
            }
            _ => {}
        }
        Ok(())
    }
}

/// The numbers of a line, in hex.
fn hex_fields(rest: &[u8]) -> Option<Vec<u64>> {
    std::str::from_utf8(rest)
        .ok()?
        .split_ascii_whitespace()
        .map(|field| u64::from_str_radix(field, 16).ok())
        .collect()
}

/// `LEN TEXT`: the text is LEN bytes, spaces included.
fn string_record(rest: &[u8]) -> Option<String> {
    let space = rest.iter().position(|b| *b == b' ');
    let (len, text) = match space {
        Some(at) => (&rest[..at], &rest[at + 1..]),
        None => (rest, &[][..]),
    };
    let len = usize::from_str_radix(std::str::from_utf8(len).ok()?, 16).ok()?;
    let text = text.get(..len).unwrap_or(text);
    Some(String::from_utf8_lossy(text).into_owned())
}

fn ip_record(rest: &[u8]) -> Option<Ip> {
    let fields = hex_fields(rest)?;
    let (_, tail) = fields.split_first()?;
    let (module, frames) = tail.split_first()?;
    let frames = frames
        .chunks(3)
        .map(|chunk| match chunk {
            [function, file, line] => (*function as usize, *file as usize, *line),
            // A pointer without file and line: its function alone.
            [function, ..] => (*function as usize, 0, 0),
            [] => (0, 0, 0),
        })
        .collect();
    Some(Ip {
        module: *module as usize,
        frames,
    })
}

/// One frame of a backtrace as read from the data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataFrame {
    pub frame: Frame,
    /// Inlined into the frame that follows it (its caller).
    pub inlined: bool,
    /// No symbol: named after its module (see [`unresolved_name`]).
    pub unresolved: bool,
}

/// The one name of every unresolved address of a module, so that the same
/// code has the same name in two runs (its addresses move with ASLR).
pub fn unresolved_name(module: Option<&str>) -> String {
    match module {
        Some(path) => format!(
            "<unresolved in {}>",
            path.rsplit('/').next().unwrap_or(path)
        ),
        None => "<unresolved>".to_string(),
    }
}

impl HeaptrackData {
    fn kind_index(&self, rest: &[u8]) -> Option<usize> {
        let text = std::str::from_utf8(rest).ok()?.trim();
        let index = usize::from_str_radix(text, 16).ok()?;
        (index < self.kinds.len()).then_some(index)
    }

    fn string(&self, index: usize) -> Option<&str> {
        index
            .checked_sub(1)
            .and_then(|i| self.strings.get(i))
            .map(String::as_str)
            .filter(|s| !s.is_empty())
    }

    /// The backtrace of node `trace`, innermost frame first, inlined frames
    /// included; Rust names demangled.
    pub fn stack(&self, trace: usize) -> Vec<DataFrame> {
        let mut stack = Vec::new();
        let mut node = trace;
        // A parent index never exceeds its child's; the bound guards a
        // corrupt file's cycle all the same.
        for _ in 0..self.traces.len() {
            let Some(&(ip, parent)) = node.checked_sub(1).and_then(|i| self.traces.get(i)) else {
                break;
            };
            if let Some(ip) = ip.checked_sub(1).and_then(|i| self.ips.get(i)) {
                self.push_ip_frames(ip, &mut stack);
            }
            node = parent;
        }
        stack
    }

    fn push_ip_frames(&self, ip: &Ip, stack: &mut Vec<DataFrame>) {
        let module = self.string(ip.module).map(str::to_string);
        let count = ip.frames.len();
        if count == 0 || self.string(ip.frames[0].0).is_none() {
            stack.push(DataFrame {
                frame: Frame {
                    function: unresolved_name(module.as_deref()),
                    location: None,
                    module,
                },
                inlined: false,
                unresolved: true,
            });
            return;
        }
        for (n, &(function, file, line)) in ip.frames.iter().enumerate() {
            let name = self.string(function).unwrap_or("<unresolved>");
            let location = self.string(file).map(|file| match line {
                0 => file.to_string(),
                line => format!("{file}:{line}"),
            });
            stack.push(DataFrame {
                frame: Frame {
                    function: demangle_in_text(name),
                    location,
                    module: module.clone(),
                },
                // Every frame but the last of a pointer is inlined into the next.
                inlined: n + 1 < count,
                unresolved: false,
            });
        }
    }

    /// Allocations summed by the function that made them (see
    /// [`site_frame`]), largest in bytes first, with the stack of each
    /// function's largest allocation kind.
    pub fn by_function(&self) -> Vec<FunctionTally> {
        let mut sites: HashMap<usize, Option<usize>> = HashMap::new();
        let mut functions: Vec<FunctionTally> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        let mut largest: Vec<u64> = Vec::new();
        for (kind, &(_, trace)) in self.kinds.iter().enumerate() {
            let tally = self.tallies[kind];
            if tally.calls == 0 {
                continue;
            }
            let stack = self.stack(trace);
            let site = *sites.entry(trace).or_insert_with(|| site_frame(&stack));
            let (function, module, location) = match site.and_then(|i| stack.get(i)) {
                Some(f) => (
                    f.frame.function.clone(),
                    f.frame.module.clone(),
                    f.frame.location.clone(),
                ),
                None => ("<no backtrace>".to_string(), None, None),
            };
            let at = *index.entry(function.clone()).or_insert_with(|| {
                functions.push(FunctionTally {
                    function,
                    module,
                    location,
                    tally: Tally::default(),
                    stack: Vec::new(),
                });
                largest.push(0);
                functions.len() - 1
            });
            let entry = &mut functions[at];
            entry.tally.calls += tally.calls;
            entry.tally.bytes += tally.bytes;
            entry.tally.temporary += tally.temporary;
            if tally.bytes >= largest[at] {
                largest[at] = tally.bytes;
                entry.stack = stack;
            }
        }
        functions.sort_by(|a, b| {
            b.tally
                .bytes
                .cmp(&a.tally.bytes)
                .then(b.tally.calls.cmp(&a.tally.calls))
                .then_with(|| a.function.cmp(&b.function))
        });
        functions
    }
}

/// How many functions a table keeps by name; the rest are summed in one
/// row, so that a program with thousands of sites stays a small record.
pub const KEPT_FUNCTIONS: usize = 500;

/// The row that sums the functions past [`KEPT_FUNCTIONS`].
pub const OTHER_FUNCTIONS: &str = "<other functions>";

impl HeaptrackData {
    /// The allocations by function as a report's table: the stacks of the
    /// `top` largest by bytes and by calls kept, past [`KEPT_FUNCTIONS`]
    /// one summed row.
    pub fn to_table(&self, top: usize) -> AllocationTable {
        let functions = self.by_function();
        let mut by_calls: Vec<usize> = (0..functions.len()).collect();
        by_calls.sort_by(|a, b| functions[*b].tally.calls.cmp(&functions[*a].tally.calls));
        let with_stack: std::collections::HashSet<usize> =
            by_calls.into_iter().take(top).chain(0..top).collect();
        let mut rows: Vec<FunctionAllocations> = Vec::new();
        let mut other = FunctionAllocations {
            function: OTHER_FUNCTIONS.into(),
            ..Default::default()
        };
        for (index, f) in functions.into_iter().enumerate() {
            let row = FunctionAllocations {
                function: f.function,
                module: f.module,
                location: f.location,
                calls: f.tally.calls,
                bytes: f.tally.bytes as f64,
                temporary: f.tally.temporary,
                stack: match with_stack.contains(&index) {
                    true => f.stack.iter().map(DataFrame::to_stack_frame).collect(),
                    false => Vec::new(),
                },
            };
            if index < KEPT_FUNCTIONS {
                rows.push(row);
            } else {
                other.calls += row.calls;
                other.bytes += row.bytes;
                other.temporary += row.temporary;
            }
        }
        if other.calls > 0 {
            rows.push(other);
        }
        AllocationTable {
            source: match self.attached {
                true => "heaptrack data (every allocation since attaching)".into(),
                false => "heaptrack data (every allocation)".into(),
            },
            calls: self.total.calls,
            bytes: self.total.bytes as f64,
            temporary: self.total.temporary,
            functions: rows,
        }
    }
}

impl DataFrame {
    fn to_stack_frame(&self) -> StackFrame {
        StackFrame {
            function: self.frame.function.clone(),
            location: self.frame.location.clone(),
            inlined: self.inlined,
        }
    }
}

/// The allocations of one function.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionTally {
    pub function: String,
    pub module: Option<String>,
    /// `file:line` of the allocating call in that function.
    pub location: Option<String>,
    pub tally: Tally,
    /// The backtrace of its largest allocation kind, innermost first.
    pub stack: Vec<DataFrame>,
}

/// Modules whose unresolved code never names a site: the C and C++
/// runtimes, the loader, heaptrack itself.
fn runtime_module(module: Option<&str>) -> bool {
    let name = module
        .map(|m| m.rsplit('/').next().unwrap_or(m))
        .unwrap_or("");
    [
        "libc.so",
        "libc-",
        "ld-linux",
        "ld-musl",
        "libstdc++",
        "libgcc_s",
        "libheaptrack",
        "libpthread",
        "libm.so",
        "linux-vdso",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// The frame that names an allocation: the first (innermost first) with a
/// path outside the allocator and the standard library, else the first
/// named one that is not such plumbing, else the first unresolved one in
/// the program's own code, else the innermost frame. Frames of the C
/// runtime and the loader (glibc's `_IO_file_doallocate`, `call_init`) are
/// plumbing too: their caller in the program is the one to change.
pub fn site_frame(stack: &[DataFrame]) -> Option<usize> {
    let named = |f: &DataFrame| {
        !f.unresolved && !is_plumbing(&f.frame) && !runtime_module(f.frame.module.as_deref())
    };
    stack
        .iter()
        .position(|f| named(f) && f.frame.function.contains("::"))
        .or_else(|| {
            stack.iter().position(|f| {
                named(f) || (f.unresolved && !runtime_module(f.frame.module.as_deref()))
            })
        })
        .or_else(|| (!stack.is_empty()).then_some(0))
}

#[cfg(test)]
mod tests;
