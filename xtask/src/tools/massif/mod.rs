//! valgrind's massif: record heap snapshots, read the `massif.out` file
//! itself (not ms_print's rendering of it), and fold its peak tree into
//! stacks for a memory flamegraph.
//!
//! The file (massif's documented "massif.out" format) is a header
//! (`desc:`, `cmd:`, `time_unit:`) then snapshots:
//!
//! ```text
//! #-----------
//! snapshot=41
//! #-----------
//! time=241782449
//! mem_heap_B=4336630
//! mem_heap_extra_B=1274
//! mem_stacks_B=0
//! heap_tree=peak
//! n4: 4336630 (heap allocation functions) malloc/new/new[], --alloc-fns, etc.
//!  n1: 4194304 0x13E08E: realloc (library/alloc/src/alloc.rs:135)
//!   n0: 4194304 0x12D6C8: cdr_demo::generate::format_rows (generate.rs:178)
//!  n0: 4230 in 30 places, all below massif's threshold (1.00%)
//! ```
//!
//! `heap_tree` is `empty`, `detailed` or `peak`; a node `nK: BYTES …` has K
//! children on the following lines, one space deeper. Only lines that start
//! with `#` are comments: function names may contain `#` (Rust's
//! `{closure#0}`), which ms_print, stripping everything after a `#`, cuts off.
//!
//! Which snapshot is the peak: the one massif marked `heap_tree=peak`. A file
//! with none marked (massif not run to the end, or files written by other
//! tools such as `heaptrack_print -M`) gets ms_print's rule: the graph's peak
//! is the snapshot with the largest total (heap + extra + stacks), the first
//! of equals. ms_print's graph header always shows that largest total
//! ([`MassifProfile::max_total_bytes`]), which can exceed the marked peak's
//! total: massif chooses its peak by heap + extra only, and only when the
//! heap grew past the previous peak by more than `--peak-inaccuracy` (1 %).

use super::memory_model::{demangle_in_text, excerpt, Frame, MemoryReport, ParseError, Site};
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;

#[cfg(test)]
use super::memory_model::PrintedSize;

const WHAT: &str = "massif file";
#[cfg(test)]
const MS_PRINT: &str = "ms_print output";

/// `valgrind --tool=massif --stacks=no --massif-out-file=OUT PROGRAM ARGS…`
pub fn record_command(
    valgrind: &Path,
    out_file: &Path,
    program: &Path,
    args: &[String],
) -> Vec<OsString> {
    record_command_with(valgrind, out_file, program, args, &MassifOptions::default())
}

/// How massif measures.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MassifOptions {
    /// Also measure thread stacks (`--stacks=yes`): slows massif down a lot,
    /// and makes the totals heap + extra + stacks.
    pub stacks: bool,
    /// Further valgrind/massif options, e.g. `--threshold=0.5`, `--depth=50`.
    pub extra: Vec<String>,
}

/// [`record_command`] with options.
pub fn record_command_with(
    valgrind: &Path,
    out_file: &Path,
    program: &Path,
    args: &[String],
    options: &MassifOptions,
) -> Vec<OsString> {
    let mut out_arg = OsString::from("--massif-out-file=");
    out_arg.push(out_file);
    let mut argv: Vec<OsString> = vec![
        valgrind.into(),
        "--tool=massif".into(),
        if options.stacks {
            "--stacks=yes"
        } else {
            "--stacks=no"
        }
        .into(),
    ];
    argv.extend(options.extra.iter().map(OsString::from));
    argv.push(out_arg);
    argv.push(program.into());
    argv.extend(args.iter().map(OsString::from));
    argv
}

/// `ms_print FILE` (for people; [`parse`] reads the file itself).
pub fn ms_print_command(ms_print: &Path, massif_out: &Path) -> Vec<OsString> {
    vec![ms_print.into(), massif_out.into()]
}

/// A massif.out file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MassifProfile {
    /// The `desc:` lines (massif's options), joined by newlines.
    pub desc: String,
    /// `cmd:` the profiled command line.
    pub cmd: String,
    /// `time_unit:` `i` (instructions), `ms` or `B` (bytes allocated).
    pub time_unit: String,
    /// Every snapshot, in file order.
    pub snapshots: Vec<Snapshot>,
    /// Index into `snapshots` of the peak (see the module docs for the rule).
    pub peak: usize,
    /// Whether massif marked the peak (`heap_tree=peak`), or ms_print's
    /// largest-total rule chose it.
    pub peak_marked: bool,
    /// The heap tree of the peak snapshot, if it has one (a fallback peak
    /// chosen by largest total may be an `empty` snapshot).
    pub peak_tree: Option<HeapNode>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Snapshot {
    /// `snapshot=N`
    pub number: u64,
    /// `time=` in `time_unit`s.
    pub time: u64,
    /// `mem_heap_B`: bytes the program asked for.
    pub heap_bytes: u64,
    /// `mem_heap_extra_B`: allocator overhead (headers, alignment).
    pub heap_extra_bytes: u64,
    /// `mem_stacks_B`: stack bytes (0 unless `--stacks=yes`).
    pub stacks_bytes: u64,
    pub kind: HeapTreeKind,
}

impl Snapshot {
    /// heap + extra + stacks: ms_print's `total(B)` column.
    pub fn total_bytes(&self) -> u64 {
        self.heap_bytes + self.heap_extra_bytes + self.stacks_bytes
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum HeapTreeKind {
    Empty,
    Detailed,
    Peak,
}

/// A node of a heap tree: bytes allocated under this frame. The root is the
/// allocation functions; each level below is one caller further out.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeapNode {
    pub bytes: u64,
    /// The code address (`0x13E08E`); `None` for the root and for
    /// below-threshold aggregates.
    pub address: Option<String>,
    /// Demangled function name; for the root its description
    /// (`(heap allocation functions) malloc/new/new[], --alloc-fns, etc.`);
    /// for an aggregate `in 30 places, all below massif's threshold (1.00%)`.
    pub function: String,
    /// `file:line`, or `in /path/to/object` when massif had no line info.
    pub location: Option<String>,
    /// For an aggregate of callers below massif's threshold: how many places.
    pub below_threshold_places: Option<u64>,
    pub children: Vec<HeapNode>,
}

impl HeapNode {
    /// Bytes allocated with this node as the last known frame.
    pub fn exclusive_bytes(&self) -> u64 {
        let children: u64 = self.children.iter().map(|c| c.bytes).sum();
        self.bytes.saturating_sub(children)
    }

    fn frame(&self) -> Frame {
        Frame {
            function: self.function.clone(),
            location: self.location.clone().filter(|l| !l.starts_with("in ")),
            module: self
                .location
                .as_deref()
                .and_then(|l| l.strip_prefix("in "))
                .map(str::to_string),
        }
    }
}

impl MassifProfile {
    pub fn peak_snapshot(&self) -> &Snapshot {
        &self.snapshots[self.peak]
    }

    #[cfg(test)]
    /// The largest heap + extra + stacks of any snapshot: the peak that
    /// ms_print's graph header shows.
    pub fn max_total_bytes(&self) -> u64 {
        self.snapshots
            .iter()
            .map(Snapshot::total_bytes)
            .max()
            .unwrap_or(0)
    }

    /// The peak consumers: the allocation sites under the root of the peak
    /// tree, largest first, each named after its first user frame down its
    /// largest branch.
    pub fn peak_sites(&self, top: usize) -> Vec<Site> {
        let Some(root) = &self.peak_tree else {
            return Vec::new();
        };
        let mut sites: Vec<Site> = root
            .children
            .iter()
            .map(|child| {
                // Follow the largest branch down to a leaf: that is the stack.
                let mut stack = vec![child.frame()];
                let mut node = child;
                while let Some(next) = node.children.iter().max_by_key(|c| c.bytes) {
                    if next.below_threshold_places.is_some() {
                        break;
                    }
                    stack.push(next.frame());
                    node = next;
                }
                if child.below_threshold_places.is_some() {
                    Site {
                        function: child.function.clone(),
                        location: None,
                        bytes: Some(child.bytes as f64),
                        count: None,
                        stack: Vec::new(),
                    }
                } else {
                    Site::from_stack(stack, Some(child.bytes as f64), None)
                }
            })
            .collect();
        sites.sort_by(|a, b| {
            b.bytes
                .partial_cmp(&a.bytes)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        sites.truncate(top);
        sites
    }

    /// The common report: peak heap = the peak snapshot's heap + extra +
    /// stacks (ms_print's `total(B)` for it), and the top 10 peak consumers.
    pub fn to_report(&self) -> MemoryReport {
        MemoryReport {
            tool: "massif".into(),
            peak_heap_bytes: Some(self.peak_snapshot().total_bytes() as f64),
            peak_consumers: self.peak_sites(10),
            ..Default::default()
        }
    }
}

impl From<&MassifProfile> for MemoryReport {
    fn from(profile: &MassifProfile) -> MemoryReport {
        profile.to_report()
    }
}

/// Lines of the input, skipping blank lines and `#` comment lines, with
/// their 1-based numbers.
struct Lines<'a> {
    inner: std::iter::Peekable<std::iter::Enumerate<std::str::Lines<'a>>>,
    last: usize,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        Lines {
            inner: text.lines().enumerate().peekable(),
            last: 0,
        }
    }

    fn skip_comments(&mut self) {
        while let Some((_, line)) = self.inner.peek() {
            let t = line.trim_start();
            if t.is_empty() || t.starts_with('#') {
                self.inner.next();
            } else {
                break;
            }
        }
    }

    fn peek(&mut self) -> Option<&'a str> {
        self.skip_comments();
        self.inner.peek().map(|(_, l)| *l)
    }

    fn next(&mut self) -> Option<(usize, &'a str)> {
        self.skip_comments();
        let (i, line) = self.inner.next()?;
        self.last = i + 1;
        Some((i + 1, line.trim_end_matches('\r')))
    }

    /// The next line, which must be `key=value`; returns the value.
    fn field(&mut self, key: &str, context: &str) -> Result<(usize, &'a str), ParseError> {
        let last = self.last;
        match self.next() {
            None => Err(ParseError::new(
                WHAT,
                None,
                format!(
                    "unexpected end of input after line {last} in {context}: expected '{key}=…' \
                     — the file looks truncated"
                ),
            )),
            Some((n, line)) => match line.strip_prefix(key).and_then(|r| r.strip_prefix('=')) {
                Some(value) => Ok((n, value.trim())),
                None => Err(ParseError::at(
                    WHAT,
                    n,
                    format!("in {context}: expected '{key}=…', got {}", excerpt(line)),
                )),
            },
        }
    }

    fn number(&mut self, key: &str, context: &str) -> Result<u64, ParseError> {
        let (n, value) = self.field(key, context)?;
        value.parse().map_err(|_| {
            ParseError::at(
                WHAT,
                n,
                format!(
                    "in {context}: expected a whole number after '{key}=', got {}",
                    excerpt(value)
                ),
            )
        })
    }
}

/// Reads a massif.out file. Trees are kept only for the peak (and, while no
/// snapshot is marked peak, for the largest detailed snapshot so far), so
/// large files cost little memory.
pub fn parse(text: &str) -> Result<MassifProfile, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::new(
            WHAT,
            None,
            "empty input: expected a massif.out file",
        ));
    }
    let mut lines = Lines::new(text);
    let mut desc = Vec::new();
    while let Some(line) = lines.peek() {
        match line.strip_prefix("desc:") {
            Some(d) => {
                desc.push(d.trim().to_string());
                lines.next();
            }
            None => break,
        }
    }
    let (n, cmd_line) = lines.next().ok_or_else(|| {
        ParseError::new(WHAT, None, "expected a 'cmd:' line after the 'desc:' lines")
    })?;
    let cmd = cmd_line
        .strip_prefix("cmd:")
        .ok_or_else(|| {
            ParseError::at(
                WHAT,
                n,
                format!(
                    "expected the header's 'cmd:' line, got {} — is this a massif.out file?",
                    excerpt(cmd_line)
                ),
            )
        })?
        .trim()
        .to_string();
    let (n, unit_line) = lines
        .next()
        .ok_or_else(|| ParseError::new(WHAT, None, "expected a 'time_unit:' line after 'cmd:'"))?;
    let time_unit = unit_line
        .strip_prefix("time_unit:")
        .ok_or_else(|| {
            ParseError::at(
                WHAT,
                n,
                format!("expected 'time_unit: i|ms|B', got {}", excerpt(unit_line)),
            )
        })?
        .trim()
        .to_string();

    let mut snapshots: Vec<Snapshot> = Vec::new();
    let mut marked: Option<(usize, Option<HeapNode>)> = None;
    // Fallback while no peak is marked: the largest total so far, and the
    // tree of the largest detailed snapshot if it is that one.
    let mut largest: Option<usize> = None;
    let mut largest_tree: Option<(usize, HeapNode)> = None;

    while lines.peek().is_some() {
        let (n, value) = lines.field("snapshot", "the snapshot list")?;
        let number: u64 = value.parse().map_err(|_| {
            ParseError::at(
                WHAT,
                n,
                format!("expected 'snapshot=<n>', got 'snapshot={value}'"),
            )
        })?;
        let context = format!("snapshot {number}");
        let time = lines.number("time", &context)?;
        let heap_bytes = lines.number("mem_heap_B", &context)?;
        let heap_extra_bytes = lines.number("mem_heap_extra_B", &context)?;
        let stacks_bytes = lines.number("mem_stacks_B", &context)?;
        let (n, tree) = lines.field("heap_tree", &context)?;
        let kind = match tree {
            "empty" => HeapTreeKind::Empty,
            "detailed" => HeapTreeKind::Detailed,
            "peak" => HeapTreeKind::Peak,
            other => {
                return Err(ParseError::at(
                    WHAT,
                    n,
                    format!(
                        "in {context}: expected 'heap_tree=empty|detailed|peak', got '{other}'"
                    ),
                ))
            }
        };
        let snapshot = Snapshot {
            number,
            time,
            heap_bytes,
            heap_extra_bytes,
            stacks_bytes,
            kind,
        };
        let index = snapshots.len();
        let total = snapshot.total_bytes();
        let is_largest = largest.is_none_or(|i| total > snapshots[i].total_bytes());
        snapshots.push(snapshot);
        if is_largest {
            largest = Some(index);
        }
        if kind != HeapTreeKind::Empty {
            let tree = read_tree(&mut lines, &context)?;
            if kind == HeapTreeKind::Peak {
                if marked.is_none() {
                    marked = Some((index, Some(tree)));
                }
            } else if marked.is_none() && is_largest {
                largest_tree = Some((index, tree));
            }
        }
    }
    if snapshots.is_empty() {
        return Err(ParseError::new(
            WHAT,
            None,
            "no snapshots after the header — the file looks truncated",
        ));
    }
    let (peak, peak_marked, peak_tree) = match marked {
        Some((index, tree)) => (index, true, tree),
        None => {
            let index = largest.unwrap_or(0);
            let tree = largest_tree.filter(|(i, _)| *i == index).map(|(_, t)| t);
            (index, false, tree)
        }
    };
    Ok(MassifProfile {
        desc: desc.join("\n"),
        cmd,
        time_unit,
        snapshots,
        peak,
        peak_marked,
        peak_tree,
    })
}

/// Reads one heap tree (the root and all its descendants).
fn read_tree(lines: &mut Lines<'_>, context: &str) -> Result<HeapNode, ParseError> {
    // Depth-first with an explicit stack: (node, children still to read, depth).
    let (root, root_children) = read_node(lines, 0, context, "the tree's root")?;
    let mut stack: Vec<(HeapNode, u64, usize)> = vec![(root, root_children, 0)];
    loop {
        let Some(top) = stack.last_mut() else {
            unreachable!("the stack always holds the root until it is returned")
        };
        if top.1 == 0 {
            let (done, _, _) = stack.pop().expect("non-empty");
            match stack.last_mut() {
                Some(parent) => parent.0.children.push(done),
                None => return Ok(done),
            }
            continue;
        }
        top.1 -= 1;
        let depth = top.2 + 1;
        let parent = format!("the children of {}", excerpt(&top.0.function));
        let (node, children) = read_node(lines, depth, context, &parent)?;
        stack.push((node, children, depth));
    }
}

/// Reads `<depth spaces>nK: BYTES REST`.
fn read_node(
    lines: &mut Lines<'_>,
    depth: usize,
    context: &str,
    reading: &str,
) -> Result<(HeapNode, u64), ParseError> {
    let last = lines.last;
    let Some((n, line)) = lines.next() else {
        return Err(ParseError::new(
            WHAT,
            None,
            format!(
                "unexpected end of input after line {last} in the heap tree of {context}, reading \
                 {reading} — the file looks truncated"
            ),
        ));
    };
    let bad = |what: &str| {
        ParseError::at(
            WHAT,
            n,
            format!(
                "in the heap tree of {context}: expected {what}, got {}",
                excerpt(line)
            ),
        )
    };
    let indent = line.len() - line.trim_start_matches(' ').len();
    if indent != depth {
        return Err(bad(&format!(
            "a node indented by {depth} spaces ('nK: BYTES …')"
        )));
    }
    let body = &line[indent..];
    let rest = body
        .strip_prefix('n')
        .ok_or_else(|| bad("a node 'nK: BYTES …'"))?;
    let (children, rest) = rest
        .split_once(": ")
        .ok_or_else(|| bad("a node 'nK: BYTES …'"))?;
    let children: u64 = children
        .parse()
        .map_err(|_| bad("a child count after 'n'"))?;
    let (bytes, rest) = rest.split_once(' ').unwrap_or((rest, ""));
    let bytes: u64 = bytes
        .parse()
        .map_err(|_| bad("a byte count after 'nK: '"))?;
    let rest = rest.trim();
    let mut node = HeapNode {
        bytes,
        address: None,
        function: String::new(),
        location: None,
        below_threshold_places: None,
        children: Vec::with_capacity(children.min(64) as usize),
    };
    if depth == 0 {
        node.function = rest.to_string();
    } else if let Some(places) = rest
        .strip_prefix("in ")
        .filter(|r| r.contains("below massif's threshold"))
    {
        node.function = rest.to_string();
        node.below_threshold_places = places
            .split_whitespace()
            .next()
            .and_then(|p| p.parse().ok());
    } else if let Some((address, rest)) = rest.split_once(": ").filter(|(a, _)| a.starts_with("0x"))
    {
        node.address = Some(address.to_string());
        let (function, location) = split_location(rest);
        node.function = demangle_in_text(function);
        node.location = location.map(str::to_string);
    } else {
        return Err(bad(
            "'0xADDRESS: function (file:line)' or 'in N places, … below massif's threshold'",
        ));
    }
    Ok((node, children))
}

/// `name<T> (file.rs:12)` → (`name<T>`, `file.rs:12`): the location is the
/// last balanced parenthesised group, when preceded by a space.
fn split_location(text: &str) -> (&str, Option<&str>) {
    let text = text.trim_end();
    if !text.ends_with(')') {
        return (text, None);
    }
    let mut depth = 0i32;
    for (i, c) in text.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth -= 1;
                if depth == 0 {
                    if i > 0 && text[..i].ends_with(' ') {
                        return (text[..i].trim_end(), Some(&text[i + 1..text.len() - 1]));
                    }
                    return (text, None);
                }
            }
            _ => {}
        }
    }
    (text, None)
}

/// The peak tree as inferno folded stacks: one line per tree path, outermost
/// caller first and the function that called the allocator last, with the
/// bytes allocated exactly there (a node's bytes less its children's). The
/// counts add up to the peak snapshot's `mem_heap_B`. Callers aggregated
/// below massif's threshold become a frame `[N places below threshold]`;
/// unnamed frames (`???`, `UnknownInlinedFun`) keep their location.
pub fn peak_folded(profile: &MassifProfile) -> String {
    let mut out = String::new();
    let Some(root) = &profile.peak_tree else {
        return out;
    };
    let mut path: Vec<String> = Vec::new();
    fold_node(root, true, &mut path, &mut out);
    out
}

fn frame_label(node: &HeapNode) -> String {
    let label = if let Some(places) = node.below_threshold_places {
        format!("[{places} places below threshold]")
    } else if node.function == "???"
        || node.function == "UnknownInlinedFun"
        || node.function.is_empty()
    {
        match (&node.location, &node.address) {
            (Some(loc), _) => format!("{} [{loc}]", node.function),
            (None, Some(addr)) => format!("{} [{addr}]", node.function),
            _ => node.function.clone(),
        }
    } else {
        node.function.clone()
    };
    // `;` separates frames in the folded format.
    label.replace(';', ",")
}

fn fold_node(node: &HeapNode, is_root: bool, path: &mut Vec<String>, out: &mut String) {
    if !is_root {
        path.push(frame_label(node));
    }
    let exclusive = node.exclusive_bytes();
    if exclusive > 0 {
        if path.is_empty() {
            out.push_str("[heap allocation functions]");
        } else {
            for (i, frame) in path.iter().rev().enumerate() {
                if i > 0 {
                    out.push(';');
                }
                out.push_str(frame);
            }
        }
        out.push(' ');
        out.push_str(&exclusive.to_string());
        out.push('\n');
    }
    for child in &node.children {
        fold_node(child, false, path, out);
    }
    if !is_root {
        path.pop();
    }
}

#[cfg(test)]
/// What ms_print shows of the peak, read back from its text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MsPrintPeak {
    /// The graph's top label (`4.196` in `MB`, K = 1024): the largest total
    /// of any snapshot, to ms_print's printed precision.
    pub graph_peak: PrintedSize,
    /// The snapshot `Detailed snapshots: [… 41 (peak) …]` marks, if any.
    pub peak_snapshot: Option<u64>,
    /// That snapshot's row of the table: its exact `total(B)`, etc.
    pub peak_row: Option<MsPrintRow>,
}

#[cfg(test)]
/// A row of ms_print's snapshot table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MsPrintRow {
    pub snapshot: u64,
    pub time: u64,
    pub total_bytes: u64,
    pub useful_heap_bytes: u64,
    pub extra_heap_bytes: u64,
    pub stacks_bytes: u64,
}

#[cfg(test)]
/// Reads the peak figures of ms_print's output (to check [`parse`] against).
pub fn parse_ms_print_peak(text: &str) -> Result<MsPrintPeak, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    // The graph: a unit line (`    MB`), then `4.196^…`.
    let mut graph_peak = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if let Some((number, _)) = t.split_once('^') {
            if i == 0 || number.trim().parse::<f64>().is_err() {
                continue;
            }
            let unit = lines[i - 1].trim();
            graph_peak = Some(
                PrintedSize::from_number_and_unit(number, unit, 1024.0).ok_or_else(|| {
                    ParseError::at(
                        MS_PRINT,
                        i,
                        format!(
                            "expected the graph's unit (B, KB, MB, GB) above its top label, got {}",
                            excerpt(unit)
                        ),
                    )
                })?,
            );
            break;
        }
    }
    let graph_peak = graph_peak.ok_or_else(|| {
        ParseError::new(
            MS_PRINT,
            None,
            "no graph found: expected a top label like '4.196^'",
        )
    })?;
    let peak_snapshot = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("Detailed snapshots: ["))
        .and_then(|list| {
            list.trim_end_matches(']')
                .split(", ")
                .find_map(|item| item.strip_suffix(" (peak)"))
                .and_then(|n| n.trim().parse().ok())
        });
    let peak_row = peak_snapshot.and_then(|peak| {
        lines.iter().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() != 6 || fields[0].parse::<u64>().ok()? != peak {
                return None;
            }
            let n = |s: &str| s.replace(',', "").parse::<u64>().ok();
            Some(MsPrintRow {
                snapshot: peak,
                time: n(fields[1])?,
                total_bytes: n(fields[2])?,
                useful_heap_bytes: n(fields[3])?,
                extra_heap_bytes: n(fields[4])?,
                stacks_bytes: n(fields[5])?,
            })
        })
    });
    Ok(MsPrintPeak {
        graph_peak,
        peak_snapshot,
        peak_row,
    })
}

#[cfg(test)]
mod tests;
