//! The reader of massif's own output file (`massif.out`, see the module
//! docs of `massif` for its format): the header, every snapshot's figures,
//! and the heap tree of the peak. Kept apart from the profile types it fills
//! because it is most of the parsing code.

use super::{HeapNode, HeapTreeKind, MassifProfile, Snapshot};
use crate::tools::demangle::demangle_in_text;
use crate::tools::memory_model::{excerpt, ParseError};

const WHAT: &str = "massif file";

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
///
/// massif ends every line with a newline: a file that does not end with one
/// was cut inside a line (`n0: 42` of `n0: 4230 …`), which would otherwise
/// read as a smaller number. Its complete lines are read first, so that a
/// cut inside a snapshot is reported as such.
pub fn parse(text: &str) -> Result<MassifProfile, ParseError> {
    let complete = text.rfind('\n').map_or("", |end| &text[..=end]);
    let profile = parse_lines(complete)?;
    if complete.len() < text.len() {
        let last = text.lines().count();
        return Err(ParseError::at(
            WHAT,
            last,
            format!(
                "the file ends inside this line (no final newline): it looks truncated — {}",
                excerpt(text.lines().last().unwrap_or(""))
            ),
        ));
    }
    Ok(profile)
}

fn parse_lines(text: &str) -> Result<MassifProfile, ParseError> {
    if text.trim().is_empty() {
        return Err(ParseError::new(
            WHAT,
            None,
            "empty input: expected a massif.out file",
        ));
    }
    let mut lines = Lines::new(text);
    let (desc, cmd, time_unit) = read_header(&mut lines)?;
    let mut list = SnapshotList::default();
    while lines.peek().is_some() {
        list.read_next(&mut lines)?;
    }
    let (snapshots, peak, peak_marked, peak_tree) = list.into_peak()?;
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

/// The header: its `desc:` lines, the command and the time unit.
fn read_header(lines: &mut Lines<'_>) -> Result<(Vec<String>, String, String), ParseError> {
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
    Ok((desc, cmd, time_unit))
}

/// A snapshot's figures and the kind of its heap tree (which follows them,
/// unless empty), with the context its errors name.
fn read_snapshot(lines: &mut Lines<'_>) -> Result<(Snapshot, String), ParseError> {
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
                format!("in {context}: expected 'heap_tree=empty|detailed|peak', got '{other}'"),
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
    Ok((snapshot, context))
}

/// The snapshots read so far, and the trees that may be the peak's.
#[derive(Default)]
struct SnapshotList {
    snapshots: Vec<Snapshot>,
    marked: Option<(usize, Option<HeapNode>)>,
    // Fallback while no peak is marked: the largest total so far, and the
    // tree of the largest detailed snapshot if it is that one.
    largest: Option<usize>,
    largest_tree: Option<(usize, HeapNode)>,
}

impl SnapshotList {
    /// The next snapshot, and its tree if it may be the peak's.
    fn read_next(&mut self, lines: &mut Lines<'_>) -> Result<(), ParseError> {
        let (snapshot, context) = read_snapshot(lines)?;
        let kind = snapshot.kind;
        let index = self.snapshots.len();
        let total = snapshot.total_bytes();
        let is_largest = self
            .largest
            .is_none_or(|i| total > self.snapshots[i].total_bytes());
        self.snapshots.push(snapshot);
        if is_largest {
            self.largest = Some(index);
        }
        if kind != HeapTreeKind::Empty {
            let tree = read_tree(lines, &context)?;
            if kind == HeapTreeKind::Peak {
                if self.marked.is_none() {
                    self.marked = Some((index, Some(tree)));
                }
            } else if self.marked.is_none() && is_largest {
                self.largest_tree = Some((index, tree));
            }
        }
        Ok(())
    }

    /// The snapshots, the index of the peak, whether massif marked it, and
    /// its tree if one was kept.
    fn into_peak(self) -> Result<(Vec<Snapshot>, usize, bool, Option<HeapNode>), ParseError> {
        if self.snapshots.is_empty() {
            return Err(ParseError::new(
                WHAT,
                None,
                "no snapshots after the header — the file looks truncated",
            ));
        }
        let (peak, peak_marked, peak_tree) = match self.marked {
            Some((index, tree)) => (index, true, tree),
            None => {
                let index = self.largest.unwrap_or(0);
                let tree = self
                    .largest_tree
                    .filter(|(i, _)| *i == index)
                    .map(|(_, t)| t);
                (index, false, tree)
            }
        };
        Ok((self.snapshots, peak, peak_marked, peak_tree))
    }
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
pub(super) fn split_location(text: &str) -> (&str, Option<&str>) {
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
