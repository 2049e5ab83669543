//! macOS memory tools: Instruments' Allocations template through `xcrun
//! xctrace`, `leaks --atExit`, and `/usr/bin/time -l`.
//!
//! None of them runs on Linux, where this is developed and tested: the
//! command lines follow Apple's documentation (`xctrace help record`,
//! `leaks(1)`, `time(1)`), and the parsers are unit-tested on sample outputs
//! hand-made from the documented formats and published examples
//! (xtask/engine/tests/fixtures/macos/, see its README.md). Replace the samples with real
//! captures when a Mac is available.

use super::demangle::demangle_in_text;
use super::memory_model::{excerpt, Frame, MemoryReport, ParseError, PrintedSize, Site};
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;

const LEAKS: &str = "leaks output";
const TIME: &str = "time -l output";

/// `xcrun xctrace record --template Allocations --output TRACE --launch -- PROGRAM ARGS…`
///
/// The `.trace` bundle is for Instruments.app (allocation lists, generations,
/// VM tracking); `xcrun xctrace export --input TRACE --toc` lists its tables.
pub fn xctrace_allocations_command(
    trace_out: &Path,
    program: &Path,
    args: &[String],
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        "xcrun".into(),
        "xctrace".into(),
        "record".into(),
        "--template".into(),
        "Allocations".into(),
        "--output".into(),
        trace_out.into(),
        "--launch".into(),
        "--".into(),
        program.into(),
    ];
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// `leaks --atExit -- PROGRAM ARGS…`: runs the program and searches its
/// memory for leaks when it exits. Set `MallocStackLogging=1` in the
/// program's environment to get allocation stacks. leaks exits 0 when it
/// found no leak and 1 when it found some (the program's own exit status is
/// not passed through).
pub fn leaks_command(program: &Path, args: &[String]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        "leaks".into(),
        "--atExit".into(),
        "--".into(),
        program.into(),
    ];
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// `/usr/bin/time -l PROGRAM ARGS…` (macOS's BSD time; GNU time has no `-l`).
/// Its report goes to stderr after the program's own stderr.
pub fn time_l_command(program: &Path, args: &[String]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["/usr/bin/time".into(), "-l".into(), program.into()];
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// What `leaks` reported.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeaksReport {
    /// `Process 4242: 2 leaks for 4144 total leaked bytes.`
    pub pid: u32,
    pub leak_count: u64,
    pub leaked_bytes: u64,
    /// `Process 4242: 412 nodes malloced for 61 KB`
    pub nodes_malloced: Option<u64>,
    pub malloced: Option<PrintedSize>,
    /// `Physical footprint (peak):  12.4M` of the report header, when printed.
    pub footprint_peak: Option<PrintedSize>,
    /// The leaks: one group per allocation stack (`STACK OF N INSTANCES OF
    /// 'ROOT LEAK: <…>'`) with stack logging, else one per root leak line.
    pub leaks: Vec<LeakGroup>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeakGroup {
    /// `ROOT LEAK` or `ROOT CYCLE` (`Leak` in the old `Leak: 0x… size=…` form).
    pub kind: String,
    /// What leaks says it is: `malloc in cdr_demo::generate::leak`, a type
    /// name, or the block's address.
    pub label: String,
    pub instances: u64,
    /// Bytes of the root blocks: the sum of their exact `[size]`s (the
    /// rounded `(…)` figures, which add the blocks they point to, are not kept).
    pub bytes: u64,
    /// Where they were allocated, innermost frame first (with stack logging).
    pub stack: Vec<Frame>,
}

impl LeaksReport {
    pub fn to_report(&self) -> MemoryReport {
        MemoryReport {
            tool: "leaks".into(),
            leaked_bytes: Some(self.leaked_bytes as f64),
            leaks: self
                .leaks
                .iter()
                .map(|g| {
                    if g.stack.is_empty() {
                        Site {
                            function: g.label.clone(),
                            location: None,
                            bytes: Some(g.bytes as f64),
                            count: Some(g.instances),
                            stack: Vec::new(),
                        }
                    } else {
                        Site::from_stack(g.stack.clone(), Some(g.bytes as f64), Some(g.instances))
                    }
                })
                .collect(),
            ..Default::default()
        }
    }
}

impl From<&LeaksReport> for MemoryReport {
    fn from(report: &LeaksReport) -> MemoryReport {
        report.to_report()
    }
}

/// `Process 4242: 2 leaks for 4144 total leaked bytes.`
fn leaks_summary(line: &str) -> Option<(u32, u64, u64)> {
    let rest = line.strip_prefix("Process ")?;
    let (pid, rest) = rest.split_once(": ")?;
    let (count, rest) = rest.split_once(' ')?;
    let rest = rest
        .strip_prefix("leaks for ")
        .or_else(|| rest.strip_prefix("leak for "))?;
    let bytes = rest.strip_suffix(" total leaked bytes.")?;
    Some((
        pid.parse().ok()?,
        count.parse().ok()?,
        bytes.trim().parse().ok()?,
    ))
}

/// `Process 4242: 412 nodes malloced for 61 KB`
fn nodes_line(line: &str) -> Option<(u64, PrintedSize)> {
    let rest = line.strip_prefix("Process ")?.split_once(": ")?.1;
    let (nodes, size) = rest.split_once(" nodes malloced for ")?;
    Some((
        nodes.parse().ok()?,
        PrintedSize::parse_binary(&size.replace(' ', ""))?,
    ))
}

/// `STACK OF 2 INSTANCES OF 'ROOT LEAK: <malloc in f>':`
fn stack_header(line: &str) -> Option<(u64, String, String)> {
    let rest = line.strip_prefix("STACK OF ")?;
    let (count, rest) = rest.split_once(' ')?;
    let rest = rest
        .strip_prefix("INSTANCES OF '")
        .or_else(|| rest.strip_prefix("INSTANCE OF '"))?;
    let rest = rest.strip_suffix("':")?;
    let (kind, label) = rest.split_once(": ").unwrap_or((rest, ""));
    Some((count.parse().ok()?, kind.to_string(), clean_label(label)))
}

/// `<malloc in f 0x13f808000>` → `malloc in f` (demangled).
fn clean_label(label: &str) -> String {
    let label = label.trim().trim_start_matches('<').trim_end_matches('>');
    let label = match label.rsplit_once(' ') {
        Some((rest, address)) if address.starts_with("0x") => rest,
        _ => label,
    };
    demangle_in_text(label.trim())
}

/// `    1 (4.00K) ROOT LEAK: <malloc in f 0x13f808000> [4096]`
/// → (count, kind, label, size in brackets).
fn tree_line(line: &str) -> Option<(u64, String, String, Option<u64>)> {
    let t = line.trim();
    let (count, rest) = t.split_once(" (")?;
    let count: u64 = count.parse().ok()?;
    let (_, rest) = rest.split_once(") ")?;
    let (kind, label_and_size) = if let Some(r) = rest.strip_prefix("ROOT LEAK: ") {
        ("ROOT LEAK", r)
    } else if let Some(r) = rest.strip_prefix("ROOT CYCLE: ") {
        ("ROOT CYCLE", r)
    } else {
        return None;
    };
    let (label, size) = match label_and_size.rsplit_once(" [") {
        Some((label, size)) => (label, size.strip_suffix(']').and_then(|s| s.parse().ok())),
        None => (label_and_size, None),
    };
    Some((count, kind.to_string(), clean_label(label), size))
}

/// `1   cdr-demo   0x100b79d0c cdr_demo::generate::leak + 52  generate.rs:211`
fn stack_frame(line: &str) -> Option<Frame> {
    let mut parts = line.split_whitespace();
    parts.next()?.parse::<u64>().ok()?;
    let image = parts.next()?;
    let address = parts.next()?;
    if !address.starts_with("0x") {
        return None;
    }
    let rest = line.split_once(address)?.1.trim();
    // `symbol + offset` then, after two spaces, an optional `file:line`.
    let (symbol, location) = match rest.rfind(" + ") {
        Some(i) => {
            let after = &rest[i + 3..];
            let digits = after.chars().take_while(char::is_ascii_digit).count();
            if digits == 0 {
                (rest, None)
            } else {
                let location = after[digits..].trim();
                (&rest[..i], (!location.is_empty()).then_some(location))
            }
        }
        None => (rest, None),
    };
    Some(Frame {
        function: demangle_in_text(symbol.trim()),
        location: location.map(str::to_string),
        module: Some(image.to_string()),
    })
}

/// Reads `leaks` output: with stack logging (`STACK OF …` groups, leaks
/// Report Version 4.0 "multi-line stacks"), without it (a `<< TOTAL >>`
/// tree of `ROOT LEAK` lines), or the older `Leak: 0x… size=N` lines. The
/// program's own output before the report is ignored.
pub fn parse_leaks(text: &str) -> Result<LeaksReport, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::new(
            LEAKS,
            None,
            "empty input: expected the report of `leaks`",
        ));
    }
    let mut reader = LeaksReader::default();
    for (index, raw) in text.lines().enumerate() {
        reader.line(index + 1, raw.trim())?;
    }
    reader.into_report()
}

/// What the `leaks` report has told so far, read one line at a time.
#[derive(Default)]
struct LeaksReader {
    summary: Option<(u32, u64, u64)>,
    nodes: Option<(u64, PrintedSize)>,
    footprint_peak: Option<PrintedSize>,
    groups: Vec<LeakGroup>,
    // Inside a `STACK OF` group: reading frames until `====`, then its tree.
    in_stack: bool,
    grouped_tree: bool,
}

impl LeaksReader {
    /// Line `n` of the output, trimmed, by what it starts with.
    fn line(&mut self, n: usize, t: &str) -> Result<(), ParseError> {
        if t.is_empty() {
            self.in_stack = false;
            self.grouped_tree = false;
            return Ok(());
        }
        if let Some(value) = t.strip_prefix("Physical footprint (peak):") {
            self.footprint_peak = PrintedSize::parse_binary(value.trim());
            return Ok(());
        }
        if t.starts_with("Process ") && t.contains(" total leaked bytes") {
            self.summary = Some(leaks_summary(t).ok_or_else(|| {
                ParseError::at(
                    LEAKS,
                    n,
                    format!("expected 'Process <pid>: <n> leaks for <bytes> total leaked bytes.', got {}", excerpt(t)),
                )
            })?);
            return Ok(());
        }
        if t.starts_with("Process ") && t.contains(" nodes malloced for ") {
            self.nodes = nodes_line(t);
            return Ok(());
        }
        if t.starts_with("STACK OF ") {
            return self.stack_of(n, t);
        }
        if self.in_stack {
            return self.stack_line(n, t);
        }
        if let Some((_, kind, label, size)) = tree_line(t) {
            self.root(kind, label, size);
            return Ok(());
        }
        if let Some(rest) = t.strip_prefix("Leak: ") {
            return self.old_leak(n, t, rest);
        }
        if let Some(rest) = t.strip_prefix("Call stack: ") {
            self.old_call_stack(rest);
        }
        Ok(())
    }

    /// `STACK OF <n> INSTANCE(S) OF '<kind>: <label>':`, which starts a
    /// group: its frames, then its tree.
    fn stack_of(&mut self, n: usize, t: &str) -> Result<(), ParseError> {
        let (instances, kind, label) = stack_header(t).ok_or_else(|| {
            ParseError::at(
                LEAKS,
                n,
                format!(
                    "expected \"STACK OF <n> INSTANCE(S) OF '<kind>: <label>':\", got {}",
                    excerpt(t)
                ),
            )
        })?;
        self.groups.push(LeakGroup {
            kind,
            label,
            instances,
            bytes: 0,
            stack: Vec::new(),
        });
        self.in_stack = true;
        self.grouped_tree = false;
        Ok(())
    }

    /// A line of a group's stack: one of its frames, or `====` closing it.
    fn stack_line(&mut self, n: usize, t: &str) -> Result<(), ParseError> {
        if t == "====" {
            self.in_stack = false;
            self.grouped_tree = true;
            return Ok(());
        }
        let frame = stack_frame(t).ok_or_else(|| {
            ParseError::at(
                LEAKS,
                n,
                format!("expected a stack frame '<n>  <image>  0x<address> <symbol> + <offset>' or '====', got {}", excerpt(t)),
            )
        })?;
        // leaks prints outermost first; keep innermost first.
        self.groups
            .last_mut()
            .expect("a group")
            .stack
            .insert(0, frame);
        Ok(())
    }

    /// A line of a tree of leaked blocks: in a group, what it adds to it;
    /// alone, a leak of its own.
    fn root(&mut self, kind: String, label: String, size: Option<u64>) {
        // Root lines only: the lines nested under a root (what it points
        // to) carry no `ROOT` and are not separate leaks.
        if self.grouped_tree {
            let group = self.groups.last_mut().expect("a group");
            group.bytes += size.unwrap_or(0);
        } else {
            self.groups.push(LeakGroup {
                kind,
                label,
                instances: 1,
                bytes: size.unwrap_or(0),
                stack: Vec::new(),
            });
        }
    }

    /// The old form: `Leak: 0x100100080  size=32  zone: DefaultMallocZone_0x100004000`
    fn old_leak(&mut self, n: usize, t: &str, rest: &str) -> Result<(), ParseError> {
        let mut fields = rest.split_whitespace();
        let address = fields.next().unwrap_or("").to_string();
        let size = fields
            .find_map(|f| f.strip_prefix("size="))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| {
                ParseError::at(
                    LEAKS,
                    n,
                    format!(
                        "expected 'Leak: 0x<address>  size=<bytes> …', got {}",
                        excerpt(t)
                    ),
                )
            })?;
        self.groups.push(LeakGroup {
            kind: "Leak".into(),
            label: address,
            instances: 1,
            bytes: size,
            stack: Vec::new(),
        });
        Ok(())
    }

    /// Old form: `Call stack: [thread 0x…]: | 0x1 | start | main | f | malloc |`,
    /// the stack of the `Leak:` line before it.
    fn old_call_stack(&mut self, rest: &str) {
        if let Some(group) = self
            .groups
            .last_mut()
            .filter(|g| g.kind == "Leak" && g.stack.is_empty())
        {
            let frames = rest.split_once("]: ").map_or(rest, |(_, f)| f);
            group.stack = frames
                .split('|')
                .map(str::trim)
                .filter(|f| !f.is_empty())
                .rev()
                .map(|f| Frame::new(demangle_in_text(f)))
                .collect();
        }
    }

    /// The report, which the closing summary line must have been read for.
    fn into_report(mut self) -> Result<LeaksReport, ParseError> {
        let Some((pid, leak_count, leaked_bytes)) = self.summary else {
            return Err(ParseError::new(
                LEAKS,
                None,
                "no 'Process <pid>: <n> leaks for <bytes> total leaked bytes.' line — leaks did not \
                 finish (or this is not its output)",
            ));
        };
        self.groups.sort_by_key(|g| std::cmp::Reverse(g.bytes));
        Ok(LeaksReport {
            pid,
            leak_count,
            leaked_bytes,
            nodes_malloced: self.nodes.as_ref().map(|(n, _)| *n),
            malloced: self.nodes.map(|(_, s)| s),
            footprint_peak: self.footprint_peak,
            leaks: self.groups,
        })
    }
}

/// What `/usr/bin/time -l` reported (macOS: sizes in bytes).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TimeL {
    pub real_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    /// `maximum resident set size` (bytes on macOS; kilobytes on FreeBSD).
    pub max_rss_bytes: u64,
    /// `peak memory footprint` (macOS 10.15+): what Activity Monitor calls
    /// Memory, the better peak figure on macOS.
    pub peak_footprint_bytes: Option<u64>,
    pub instructions_retired: Option<u64>,
    pub cycles_elapsed: Option<u64>,
    pub page_reclaims: Option<u64>,
    pub page_faults: Option<u64>,
    pub voluntary_context_switches: Option<u64>,
    pub involuntary_context_switches: Option<u64>,
    /// `Command terminated abnormally.` was printed (killed by a signal).
    pub terminated_abnormally: bool,
}

impl TimeL {
    pub fn to_report(&self) -> MemoryReport {
        MemoryReport {
            tool: "time -l".into(),
            peak_rss_bytes: Some(self.max_rss_bytes as f64),
            runtime_s: Some(self.real_s),
            ..Default::default()
        }
    }
}

impl From<&TimeL> for MemoryReport {
    fn from(time: &TimeL) -> MemoryReport {
        time.to_report()
    }
}

/// `        0.31 real         0.52 user         0.04 sys`
fn timing_line(line: &str) -> Option<(f64, f64, f64)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    if f.len() != 6 || f[1] != "real" || f[3] != "user" || f[5] != "sys" {
        return None;
    }
    Some((f[0].parse().ok()?, f[2].parse().ok()?, f[4].parse().ok()?))
}

/// Reads the stderr of [`time_l_command`]: the program's own stderr comes
/// first and is skipped; the last `… real … user … sys` line starts the report.
pub fn parse_time_l(stderr_text: &str) -> Result<TimeL, ParseError> {
    let lines: Vec<&str> = stderr_text.lines().collect();
    let Some(start) = lines.iter().rposition(|l| timing_line(l).is_some()) else {
        return Err(ParseError::new(
            TIME,
            None,
            "no '<s> real <s> user <s> sys' line: expected the report of /usr/bin/time -l (macOS) \
             at the end of stderr",
        ));
    };
    let (real_s, user_s, sys_s) = timing_line(lines[start]).expect("found above");
    let terminated_abnormally = lines[..start]
        .iter()
        .rev()
        .take(2)
        .any(|l| l.trim() == "Command terminated abnormally.");
    let mut fields: Vec<(usize, &str, u64)> = Vec::new();
    for (i, line) in lines.iter().enumerate().skip(start + 1) {
        let t = line.trim();
        if t.is_empty() {
            continue;
        }
        let Some((value, name)) = t.split_once(char::is_whitespace) else {
            return Err(ParseError::at(
                TIME,
                i + 1,
                format!("expected '<number>  <counter name>', got {}", excerpt(t)),
            ));
        };
        let value: u64 = value.parse().map_err(|_| {
            ParseError::at(
                TIME,
                i + 1,
                format!("expected '<number>  <counter name>', got {}", excerpt(t)),
            )
        })?;
        fields.push((i + 1, name.trim(), value));
    }
    let get = |name: &str| {
        fields
            .iter()
            .find(|(_, n, _)| *n == name)
            .map(|(_, _, v)| *v)
    };
    let max_rss_bytes = get("maximum resident set size").ok_or_else(|| {
        ParseError::new(
            TIME,
            Some(start + 1),
            "no 'maximum resident set size' line after the timing line: was time run with -l? \
             (or the output is truncated)",
        )
    })?;
    Ok(TimeL {
        real_s,
        user_s,
        sys_s,
        max_rss_bytes,
        peak_footprint_bytes: get("peak memory footprint"),
        instructions_retired: get("instructions retired"),
        cycles_elapsed: get("cycles elapsed"),
        page_reclaims: get("page reclaims"),
        page_faults: get("page faults"),
        voluntary_context_switches: get("voluntary context switches"),
        involuntary_context_switches: get("involuntary context switches"),
        terminated_abnormally,
    })
}

#[cfg(test)]
mod tests;
