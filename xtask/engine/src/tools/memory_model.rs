//! What every memory tool's parser produces, in one shape: [`MemoryReport`].
//!
//! Each tool module (heaptrack, massif, memcheck, instruments) keeps its own
//! detailed result type next to its parser, and converts it into a
//! `MemoryReport` with `to_report()`. The report is what the tasks print;
//! results store it converted into their own type (`results::record::memory`).
//! Fields a tool cannot measure stay `None` (or empty).
//!
//! Conventions shared by all parsers:
//! - byte figures are `f64` because some tools print rounded sizes (heaptrack's
//!   `4.36M`); exact tools (massif, memcheck) give whole numbers;
//! - stacks ([`Site::stack`]) are innermost frame first, as the tools print
//!   them (heaptrack, memcheck) or as the call tree nests (massif);
//! - Rust symbols are demangled with `rustc-demangle` in its alternate form
//!   (no hashes, no crate disambiguators), see [`demangle_in_text`];
//! - a parser never panics on bad input: it returns a [`ParseError`] saying
//!   what it was reading, where, and what it expected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// The common result of one memory measurement.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MemoryReport {
    /// Which tool measured: `heaptrack`, `massif`, `memcheck`, `leaks`, `time -l`.
    pub tool: String,
    /// Peak heap: heaptrack's "peak heap memory consumption"; massif's peak
    /// snapshot heap + extra + stacks (what ms_print prints for it).
    pub peak_heap_bytes: Option<f64>,
    /// Peak resident set size (heaptrack's includes its own overhead;
    /// `time -l`'s "maximum resident set size").
    pub peak_rss_bytes: Option<f64>,
    /// Calls to allocation functions over the whole run.
    pub total_allocations: Option<u64>,
    /// Allocations freed right after being made (heaptrack's "temporary").
    pub temporary_allocations: Option<u64>,
    /// Bytes still allocated and unreachable (memcheck: definitely lost;
    /// heaptrack: not freed at exit; leaks: total leaked bytes).
    pub leaked_bytes: Option<f64>,
    /// Wall-clock run time in seconds, as the tool measured it.
    pub runtime_s: Option<f64>,
    /// Where the heap was held at its peak (bytes at peak, count = calls).
    pub peak_consumers: Vec<Site>,
    /// Where most allocation calls came from (count = calls, bytes = the
    /// site's peak consumption where known).
    pub allocation_sites: Vec<Site>,
    /// Where most temporary allocations came from (count = temporary allocations).
    pub temporary_sites: Vec<Site>,
    /// Leaked memory by allocation site (bytes leaked, count = calls or blocks).
    pub leaks: Vec<Site>,
    /// The tool's raw output files kept beside the report.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raw_files: Vec<String>,
    /// What the reader should know (e.g. an allocator the tool cannot see).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// Every allocation by the function that made it, in calls and bytes
    /// (heaptrack's data; the other tools do not record each allocation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allocations: Option<AllocationTable>,
}

/// Every allocation of a run summed by the function that made it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct AllocationTable {
    /// Where the figures come from.
    pub source: String,
    pub calls: u64,
    /// Bytes allocated in all (not live at once: freed ones count too).
    pub bytes: f64,
    pub temporary: u64,
    /// Largest in bytes first; past the most kept, the rest is summed in
    /// one `<other functions>` row.
    pub functions: Vec<FunctionAllocations>,
}

/// The allocations made by one function.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct FunctionAllocations {
    pub function: String,
    /// The binary or shared object it is in.
    pub module: Option<String>,
    /// `file:line` of its allocating call (of its largest allocation).
    pub location: Option<String>,
    pub calls: u64,
    pub bytes: f64,
    pub temporary: u64,
    /// The stack of its largest allocation, innermost first, with the
    /// frames inlined into their callers marked; kept for the top sources
    /// only.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<StackFrame>,
}

/// A frame of an allocation's stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct StackFrame {
    pub function: String,
    pub location: Option<String>,
    /// Inlined into the frame after it (its caller): no call happened.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub inlined: bool,
}

/// One allocation site in a ranking.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Site {
    /// The frame that names the site: the first frame of the stack that is
    /// not allocator or standard-library plumbing (see [`user_frame`]), or the
    /// innermost frame when every frame is plumbing.
    pub function: String,
    /// `file:line` (or the binary) of that frame, when the tool knows it.
    pub location: Option<String>,
    pub bytes: Option<f64>,
    /// Calls, blocks or instances, depending on the ranking (see [`MemoryReport`]).
    pub count: Option<u64>,
    /// The whole stack, innermost frame first (may be empty).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stack: Vec<Frame>,
}

/// One frame of a stack.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct Frame {
    /// Demangled function name (or an address such as `0x7f06...` when unknown).
    pub function: String,
    /// `file:line` when known.
    pub location: Option<String>,
    /// The binary or shared object, when the tool says.
    pub module: Option<String>,
}

impl Frame {
    pub fn new(function: impl Into<String>) -> Frame {
        Frame {
            function: function.into(),
            location: None,
            module: None,
        }
    }
}

impl Site {
    /// A site named after the first user frame of `stack` (innermost first).
    pub fn from_stack(stack: Vec<Frame>, bytes: Option<f64>, count: Option<u64>) -> Site {
        let (function, location) = match user_frame(&stack) {
            Some(frame) => (frame.function.clone(), frame.location.clone()),
            None => ("??".to_string(), None),
        };
        Site {
            function,
            location,
            bytes,
            count,
            stack,
        }
    }
}

impl MemoryReport {
    /// Fills what `self` lacks from `other` (used to combine, e.g., `leaks`
    /// and `time -l` runs of the same workload into one report).
    pub fn fill_from(&mut self, other: MemoryReport) {
        fn fill<T>(a: &mut Option<T>, b: Option<T>) {
            if a.is_none() {
                *a = b;
            }
        }
        fn fill_vec<T>(a: &mut Vec<T>, b: Vec<T>) {
            if a.is_empty() {
                *a = b;
            }
        }
        if self.tool.is_empty() {
            self.tool = other.tool;
        } else if !other.tool.is_empty() && !self.tool.contains(&other.tool) {
            self.tool = format!("{} + {}", self.tool, other.tool);
        }
        fill(&mut self.peak_heap_bytes, other.peak_heap_bytes);
        fill(&mut self.peak_rss_bytes, other.peak_rss_bytes);
        fill(&mut self.total_allocations, other.total_allocations);
        fill(&mut self.temporary_allocations, other.temporary_allocations);
        fill(&mut self.leaked_bytes, other.leaked_bytes);
        fill(&mut self.runtime_s, other.runtime_s);
        fill_vec(&mut self.peak_consumers, other.peak_consumers);
        fill_vec(&mut self.allocation_sites, other.allocation_sites);
        fill_vec(&mut self.temporary_sites, other.temporary_sites);
        fill_vec(&mut self.leaks, other.leaks);
        fill(&mut self.allocations, other.allocations);
    }
}

/// The frame that best names an allocation site: the first one (innermost
/// first) whose function has a path outside the allocator and the standard
/// library, else the first frame that is not such plumbing at all, else the
/// innermost frame. Unqualified names (valgrind prints inlined frames as
/// `push_str`, `fmt`) are only taken in the second pass, since they cannot be
/// told apart from the standard library's.
pub fn user_frame(stack: &[Frame]) -> Option<&Frame> {
    stack
        .iter()
        .find(|f| f.function.contains("::") && !is_plumbing(f))
        .or_else(|| stack.iter().find(|f| !is_plumbing(f)))
        .or_else(|| stack.first())
}

/// Allocator, runtime and standard-library frames that never name a site.
pub fn is_plumbing(frame: &Frame) -> bool {
    const PREFIXES: &[&str] = &[
        "alloc::",
        "core::",
        "std::",
        "hashbrown::",
        "__rust",
        "__GI_",
        "__libc",
        "_dl_",
        "_RN",
        "_ZN",
        "0x",
        "???",
        "??",
        "UnknownInlinedFun",
        "operator new",
        "malloc",
        "calloc",
        "realloc",
        "_malloc",
        "posix_memalign",
        "aligned_alloc",
        "memalign",
        "start_thread",
        "clone",
        "dyld",
    ];
    // `<alloc::string::String as core::fmt::Write>::write_str` is the
    // standard library's too: look past leading `<` and `&`.
    let name = frame.function.trim_start_matches(['<', '&']);
    if PREFIXES.iter().any(|p| name.starts_with(p)) {
        return true;
    }
    match frame.location.as_deref() {
        // Standard library sources: `/rustc/<hash>/library/...` or `library/...`.
        Some(loc) => loc.starts_with("/rustc/") || loc.starts_with("library/"),
        None => false,
    }
}

/// A size as a tool printed it, with the precision it was printed to, so a
/// figure can be compared "to its printed precision".
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PrintedSize {
    /// The text as printed, e.g. `4.36M`.
    pub text: String,
    /// Its value in bytes, e.g. 4.36e6.
    pub bytes: f64,
    /// One unit of the last printed digit, in bytes (`4.36M` → 10 000).
    pub resolution: f64,
}

impl PrintedSize {
    /// Parses a decimal-SI size as heaptrack prints it: `512B`, `1.23K`,
    /// `72.05M`, `2.00G`, `1.00T` (K = 1000), also `KB`/`MB` spellings and a sign.
    pub fn parse_decimal(text: &str) -> Option<PrintedSize> {
        Self::parse_with_base(text, 1000.0)
    }

    /// Parses a binary size (K = 1024), as ms_print and `leaks` print them.
    pub fn parse_binary(text: &str) -> Option<PrintedSize> {
        Self::parse_with_base(text, 1024.0)
    }

    #[cfg(test)]
    /// A number printed in the given unit (`4.196` in `MB`, base 1024).
    pub fn from_number_and_unit(number: &str, unit: &str, base: f64) -> Option<PrintedSize> {
        Self::parse_with_base(&format!("{}{}", number.trim(), unit.trim()), base)
    }

    fn parse_with_base(text: &str, base: f64) -> Option<PrintedSize> {
        let t = text.trim();
        let split = t
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(t.len());
        let (number, unit) = t.split_at(split);
        if number.is_empty() || !number.chars().any(|c| c.is_ascii_digit()) {
            return None;
        }
        // Value from the digits as an integer, scaled once: `4.19` M is
        // 419 × 10⁶ / 100, exactly 4 190 000 (4.19 × 1e6 is not, in f64).
        let (negative, digits) = match number.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, number.strip_prefix('+').unwrap_or(number)),
        };
        let decimals = digits.split_once('.').map_or(0, |(_, frac)| frac.len());
        let integer: String = digits.chars().filter(|c| *c != '.').collect();
        if integer.is_empty()
            || !integer.chars().all(|c| c.is_ascii_digit())
            || digits.matches('.').count() > 1
        {
            return None;
        }
        let mantissa: f64 = integer.parse().ok()?;
        let unit = unit.trim();
        let unit = unit
            .strip_suffix("iB")
            .or_else(|| unit.strip_suffix('B'))
            .map_or(unit, |u| u);
        let unit = unit.strip_suffix("bytes").unwrap_or(unit).trim();
        let power = match unit {
            "" => 0,
            "K" | "k" => 1,
            "M" => 2,
            "G" => 3,
            "T" => 4,
            "P" => 5,
            _ => return None,
        };
        let scale = base.powi(power);
        let divisor = 10f64.powi(decimals as i32);
        let bytes = mantissa * scale / divisor;
        Some(PrintedSize {
            text: t.to_string(),
            bytes: if negative { -bytes } else { bytes },
            resolution: scale / divisor,
        })
    }

    #[cfg(test)]
    /// Whether an exact byte count prints as this figure (within half a unit
    /// of the last printed digit).
    pub fn matches(&self, exact_bytes: f64) -> bool {
        (exact_bytes - self.bytes).abs() <= self.resolution / 2.0 * (1.0 + 1e-9) + 1e-9
    }
}

impl fmt::Display for PrintedSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// Why a tool's output could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    /// What was being read, e.g. `heaptrack_print output`.
    pub what: String,
    /// 1-based line of the input, when the problem is at one.
    pub line: Option<usize>,
    /// What was expected and what was found.
    pub message: String,
}

impl ParseError {
    pub fn new(what: impl Into<String>, line: Option<usize>, message: impl Into<String>) -> Self {
        ParseError {
            what: what.into(),
            line,
            message: message.into(),
        }
    }

    pub fn at(what: impl Into<String>, line: usize, message: impl Into<String>) -> Self {
        Self::new(what, Some(line), message)
    }
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}, line {}: {}", self.what, line, self.message),
            None => write!(f, "{}: {}", self.what, self.message),
        }
    }
}

impl std::error::Error for ParseError {}

/// Shortens a line for an error message.
pub fn excerpt(line: &str) -> String {
    const MAX: usize = 120;
    let line = line.trim_end();
    if line.chars().count() <= MAX {
        format!("{line:?}")
    } else {
        let cut: String = line.chars().take(MAX).collect();
        format!("{cut:?}…")
    }
}

/// The heap of a server just before its load and just after it, read from
/// the tool's heap over time (massif's snapshots, heaptrack's timeline):
/// what grew under the load and stayed, a sign of a leak that a server's
/// clean shutdown would otherwise hide.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeapUnderLoad {
    /// Where the heap over time came from.
    pub source: String,
    /// When the load started and ended, and when the server was told to
    /// stop, in seconds since the server started (the tool's clock and
    /// ours start within milliseconds of each other).
    pub load_start_s: f64,
    pub load_end_s: f64,
    pub stopped_at_s: f64,
    /// The last heap figure at or before the load's start, and its time.
    pub before_bytes: f64,
    pub before_at_s: f64,
    /// The last heap figure before the stop, once the load had ended and
    /// the server was idle again, and its time.
    pub after_bytes: f64,
    pub after_at_s: f64,
    /// `after_bytes - before_bytes`: negative when the heap shrank.
    pub growth_bytes: f64,
}

/// How long before the load's start and the stop signal "before" and
/// "after" must be: the tools' 10 ms ticks and the clocks' alignment (to a
/// 10 ms kernel tick) must not let a figure of the load or of the shutdown in.
const CLOCK_MARGIN_S: f64 = 0.02;

/// Reads before and after from a heap timeline of (seconds, bytes), in time
/// order. None when the timeline has no point before the load (the tool
/// wrote none), since a "before" taken later would hide the growth.
pub fn heap_under_load(
    source: &str,
    timeline: &[(f64, f64)],
    load_start_s: f64,
    load_end_s: f64,
    stopped_at_s: f64,
) -> Option<HeapUnderLoad> {
    let last_at_or_before = |limit: f64| {
        timeline
            .iter()
            .rev()
            .find(|(time, _)| *time <= limit)
            .copied()
    };
    let (before_at_s, before_bytes) = last_at_or_before(load_start_s - CLOCK_MARGIN_S)?;
    // A point after the stop was taken while the server shut down: the last
    // one before it is the idle server's heap.
    let (after_at_s, after_bytes) = last_at_or_before(stopped_at_s - CLOCK_MARGIN_S)
        .filter(|(time, _)| *time >= before_at_s)
        .unwrap_or((before_at_s, before_bytes));
    Some(HeapUnderLoad {
        source: source.to_string(),
        load_start_s,
        load_end_s,
        stopped_at_s,
        before_bytes,
        before_at_s,
        after_bytes,
        after_at_s,
        growth_bytes: after_bytes - before_bytes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printed_sizes_and_their_precision() {
        let s = PrintedSize::parse_decimal("72.05M").unwrap();
        assert_eq!(s.bytes, 72.05e6);
        assert!((s.resolution - 10_000.0).abs() < 1e-6);
        assert!(s.matches(72_054_999.0) && s.matches(72_045_000.0));
        assert!(!s.matches(72_056_000.0));
        let k = PrintedSize::parse_decimal("1.23K").unwrap();
        assert!((k.bytes - 1230.0).abs() < 1e-9);
        assert_eq!(PrintedSize::parse_decimal("512B").unwrap().bytes, 512.0);
        assert_eq!(PrintedSize::parse_decimal("2.00G").unwrap().bytes, 2e9);
        assert_eq!(PrintedSize::parse_decimal("-1.50K").unwrap().bytes, -1500.0);
        assert!(PrintedSize::parse_decimal("4.3X").is_none());
        assert!(PrintedSize::parse_decimal("M").is_none());
        let mb = PrintedSize::from_number_and_unit("4.196", "MB", 1024.0).unwrap();
        assert!(mb.matches(4_400_000.0));
    }

    #[test]
    fn parse_errors_say_where() {
        let e = ParseError::at("heaptrack_print output", 12, "expected a size");
        assert_eq!(
            e.to_string(),
            "heaptrack_print output, line 12: expected a size"
        );
        let e = ParseError::new("massif file", None, "empty input");
        assert_eq!(e.to_string(), "massif file: empty input");
    }

    #[test]
    fn user_frames_skip_allocator_plumbing() {
        let stack = vec![
            Frame::new("alloc::alloc::alloc"),
            Frame {
                function: "push_str".into(),
                location: Some("library/alloc/src/string.rs:1102".into()),
                module: None,
            },
            Frame::new("fmt"),
            Frame::new("<alloc::string::String as core::fmt::Write>::write_str"),
            Frame::new("cdr_demo::generate::format_rows"),
            Frame::new("main"),
        ];
        assert_eq!(
            user_frame(&stack).unwrap().function,
            "cdr_demo::generate::format_rows"
        );
        let only_plumbing = vec![Frame::new("malloc"), Frame::new("fmt")];
        assert_eq!(user_frame(&only_plumbing).unwrap().function, "fmt");
        let site = Site::from_stack(vec![Frame::new("calloc")], Some(1.0), None);
        assert_eq!(site.function, "calloc");
    }

    #[test]
    fn heap_before_and_after_a_load_come_from_the_timeline() {
        let timeline = [
            (0.1, 100.0),
            (0.9, 120.0),
            (1.5, 900.0),
            (2.4, 300.0),
            (3.2, 50.0),
        ];
        let around = heap_under_load("t", &timeline, 1.0, 2.0, 3.0).unwrap();
        assert_eq!((around.before_at_s, around.before_bytes), (0.9, 120.0));
        // After: the idle server before the stop, not the peak under load
        // nor the shutdown at 3.2 s.
        assert_eq!((around.after_at_s, around.after_bytes), (2.4, 300.0));
        assert_eq!(around.growth_bytes, 180.0);
        assert!(heap_under_load("t", &timeline, 0.05, 2.0, 3.0).is_none());
        let flat = heap_under_load("t", &[(0.5, 10.0)], 1.0, 2.0, 3.0).unwrap();
        assert_eq!(flat.growth_bytes, 0.0);
    }

    #[test]
    fn reports_combine() {
        let mut a = MemoryReport {
            tool: "leaks".into(),
            leaked_bytes: Some(4096.0),
            ..Default::default()
        };
        a.fill_from(MemoryReport {
            tool: "time -l".into(),
            peak_rss_bytes: Some(1e6),
            leaked_bytes: Some(1.0),
            ..Default::default()
        });
        assert_eq!(a.tool, "leaks + time -l");
        assert_eq!(a.leaked_bytes, Some(4096.0));
        assert_eq!(a.peak_rss_bytes, Some(1e6));
    }
}
