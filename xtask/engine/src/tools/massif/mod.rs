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
//! (`MassifProfile::max_total_bytes`, in the tests), which can exceed the
//! marked peak's total: massif chooses its peak by heap + extra only, and
//! only when the heap grew past the previous peak by more than
//! `--peak-inaccuracy` (1 %).

use super::memory_model::{Frame, MemoryReport, Site};
use serde::Serialize;
use std::ffi::OsString;
use std::path::Path;

#[cfg(test)]
mod ms_print;
mod reader;

#[cfg(test)]
pub use ms_print::parse_ms_print_peak;
pub use reader::parse;

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

/// The heap over time of a file recorded with `--time-unit=ms`: (seconds,
/// heap + extra + stacks) per snapshot, the figure the peak is measured in.
/// None for other time units (instructions or bytes are no clock).
pub fn timeline(profile: &MassifProfile) -> Option<Vec<(f64, f64)>> {
    (profile.time_unit == "ms").then(|| {
        profile
            .snapshots
            .iter()
            .map(|s| (s.time as f64 / 1000.0, s.total_bytes() as f64))
            .collect()
    })
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
mod tests;
