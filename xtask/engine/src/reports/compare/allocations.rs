//! Allocation changes by function between two memory results, as
//! `go tool pprof -base A B` shows them: per function, calls and bytes
//! allocated in A and in B and the change, largest change first, and the
//! top sources of each side. Per operation of the load when both sides know
//! how many operations it served while profiled, totals otherwise.
//!
//! A function is the same on both sides when its name is: demangled, without
//! a legacy symbol's `::h…` hash or an `.llvm.…` suffix, and an address
//! without a symbol named after its module only (see `normalize`).
//!
//! The model and its two renderings (Markdown, terminal) are here, pure;
//! the comparison's engine fills the model, its renderers call these.

use crate::reports::markdown::format_bytes;
use crate::reports::markdown_text::{code_cell, text};
use crate::results::record::memory::{AllocationsRecord, FunctionAllocationsRecord};
use crate::results::record::MemoryRecord;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// How many top sources of each side are listed.
const TOP_SOURCES: usize = 5;

/// The allocations of A and B compared.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct AllocationComparison {
    /// Operations the load served while each side was profiled, when both
    /// know it: every figure below is then per operation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub operations: Option<[f64; 2]>,
    /// All calls and bytes of A and of B (per operation when `operations`).
    pub calls: [f64; 2],
    pub bytes: [f64; 2],
    /// The functions whose allocations changed most, in bytes then calls.
    pub changes: Vec<AllocationChange>,
    /// The largest sources of A and of B, by bytes.
    pub top_a: Vec<AllocationChange>,
    pub top_b: Vec<AllocationChange>,
}

/// One function's calls and bytes in A and in B.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct AllocationChange {
    pub function: String,
    pub calls: [f64; 2],
    pub bytes: [f64; 2],
}

impl AllocationChange {
    pub fn bytes_delta(&self) -> f64 {
        self.bytes[1] - self.bytes[0]
    }

    pub fn calls_delta(&self) -> f64 {
        self.calls[1] - self.calls[0]
    }
}

impl AllocationComparison {
    fn per_operation(&self) -> bool {
        self.operations.is_some()
    }
}

/// The name a function is matched by on both sides.
pub fn normalize(function: &str) -> String {
    let demangled = crate::tools::demangle::demangle_in_text(function.trim());
    let name = match demangled.find(".llvm.") {
        Some(at) => &demangled[..at],
        None => demangled.as_str(),
    };
    let is_hash = |segment: &str| {
        segment.len() == 17
            && segment.starts_with('h')
            && segment[1..].chars().all(|c| c.is_ascii_hexdigit())
    };
    let name = match name.rsplit_once("::") {
        Some((path, last)) if is_hash(last) => path,
        _ => name,
    };
    let is_address = name.len() > 2
        && name.starts_with("0x")
        && name[2..].chars().all(|c| c.is_ascii_hexdigit());
    if is_address {
        return crate::tools::heaptrack::unresolved_name(None);
    }
    name.to_string()
}

/// A's and B's allocations by function compared, the `top` largest
/// changes kept; None with the reason when a side has no such table.
pub fn compare(
    a: Option<&MemoryRecord>,
    b: Option<&MemoryRecord>,
    top: usize,
) -> Result<AllocationComparison, String> {
    fn table<'m>(
        side: &str,
        memory: Option<&'m MemoryRecord>,
    ) -> Result<&'m AllocationsRecord, String> {
        memory.and_then(|m| m.allocations.as_ref()).ok_or_else(|| {
            format!(
                "{side} has no allocations by function (heaptrack's `memory` or \
                 `profile-baseline --memory`): no allocation changes by function"
            )
        })
    }
    let (ta, tb) = (table("A", a)?, table("B", b)?);
    let operations = match (a.and_then(|m| m.operations), b.and_then(|m| m.operations)) {
        (Some(oa), Some(ob)) if oa > 0.0 && ob > 0.0 => Some([oa, ob]),
        _ => None,
    };
    let per = |value: f64, side: usize| operations.map_or(value, |ops| value / ops[side]);
    let mut by_name: BTreeMap<String, AllocationChange> = BTreeMap::new();
    for (side, table) in [(0, ta), (1, tb)] {
        for f in &table.functions {
            let entry = by_name
                .entry(normalize(&f.function))
                .or_insert_with_key(|name| AllocationChange {
                    function: name.clone(),
                    calls: [0.0; 2],
                    bytes: [0.0; 2],
                });
            entry.calls[side] += per(f.calls as f64, side);
            entry.bytes[side] += per(f.bytes, side);
        }
    }
    let mut changes: Vec<AllocationChange> = by_name
        .values()
        .filter(|c| c.bytes_delta() != 0.0 || c.calls_delta() != 0.0)
        .cloned()
        .collect();
    changes.sort_by(|x, y| {
        y.bytes_delta()
            .abs()
            .total_cmp(&x.bytes_delta().abs())
            .then(y.calls_delta().abs().total_cmp(&x.calls_delta().abs()))
            .then_with(|| x.function.cmp(&y.function))
    });
    changes.truncate(top);
    let top_of = |table: &AllocationsRecord| -> Vec<AllocationChange> {
        largest(&table.functions)
            .map(|f| by_name[&normalize(&f.function)].clone())
            .collect()
    };
    Ok(AllocationComparison {
        operations,
        calls: [per(ta.calls as f64, 0), per(tb.calls as f64, 1)],
        bytes: [per(ta.bytes, 0), per(tb.bytes, 1)],
        changes,
        top_a: top_of(ta),
        top_b: top_of(tb),
    })
}

fn largest(
    functions: &[FunctionAllocationsRecord],
) -> impl Iterator<Item = &FunctionAllocationsRecord> {
    let mut sorted: Vec<&FunctionAllocationsRecord> = functions.iter().collect();
    sorted.sort_by(|x, y| y.bytes.total_cmp(&x.bytes).then(y.calls.cmp(&x.calls)));
    sorted.into_iter().take(TOP_SOURCES)
}

/// Calls as counted (or per operation, to the digits that say something).
fn calls_text(calls: f64, per_op: bool) -> String {
    match per_op {
        true => format!("{calls:.3}"),
        false => format!("{calls:.0}"),
    }
}

fn signed(delta: f64, shown: String) -> String {
    match delta {
        d if d > 0.0 => format!("+{shown}"),
        d if d < 0.0 => format!("-{shown}"),
        _ => shown,
    }
}

/// `+12.0 %`, or `new` / `gone` for a function on one side only.
fn change_pct(before: f64, after: f64) -> String {
    match (before == 0.0, after == 0.0) {
        (true, true) => "—".into(),
        (true, false) => "new".into(),
        (false, true) => "gone".into(),
        _ => format!("{:+.1} %", (after - before) / before * 100.0),
    }
}

/// One row's cells: function, calls A → B, Δ calls, bytes A → B, Δ bytes, change.
fn cells(c: &AllocationChange, per_op: bool) -> [String; 6] {
    [
        c.function.clone(),
        format!(
            "{} → {}",
            calls_text(c.calls[0], per_op),
            calls_text(c.calls[1], per_op)
        ),
        signed(c.calls_delta(), calls_text(c.calls_delta().abs(), per_op)),
        format!(
            "{} → {}",
            format_bytes(c.bytes[0]),
            format_bytes(c.bytes[1])
        ),
        signed(c.bytes_delta(), format_bytes(c.bytes_delta().abs())),
        change_pct(c.bytes[0], c.bytes[1]),
    ]
}

fn headline(cmp: &AllocationComparison) -> String {
    let per_op = cmp.per_operation();
    let unit = match cmp.operations {
        Some([oa, ob]) => {
            format!("per operation of the load ({oa:.0} operations in A, {ob:.0} in B)")
        }
        None => {
            "in all (totals: the results do not say how many operations their load served)".into()
        }
    };
    format!(
        "Allocations {unit}: calls {} → {} ({}), bytes {} → {} ({}).",
        calls_text(cmp.calls[0], per_op),
        calls_text(cmp.calls[1], per_op),
        change_pct(cmp.calls[0], cmp.calls[1]),
        format_bytes(cmp.bytes[0]),
        format_bytes(cmp.bytes[1]),
        change_pct(cmp.bytes[0], cmp.bytes[1])
    )
}

fn column_names(per_op: bool) -> [&'static str; 6] {
    match per_op {
        true => [
            "function",
            "calls/op A → B",
            "Δ calls/op",
            "bytes/op A → B",
            "Δ bytes/op",
            "change",
        ],
        false => [
            "function",
            "calls A → B",
            "Δ calls",
            "bytes A → B",
            "Δ bytes",
            "change",
        ],
    }
}

/// The comparison in Markdown: the headline, the changes, the top sources.
pub fn markdown(cmp: &AllocationComparison) -> String {
    let per_op = cmp.per_operation();
    let mut out = format!(
        "**Allocation changes by function** (as `go tool pprof -base A B`)\n\n{}\n\n",
        text(&headline(cmp))
    );
    let row = |out: &mut String, c: &AllocationChange| {
        let cells = cells(c, per_op);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} |",
            code_cell(&cells[0]),
            cells[1],
            cells[2],
            cells[3],
            cells[4],
            cells[5]
        );
    };
    let header = |out: &mut String| {
        let _ = writeln!(out, "| {} |", column_names(per_op).join(" | "));
        out.push_str("|---|---:|---:|---:|---:|---:|\n");
    };
    if cmp.changes.is_empty() {
        out.push_str("No function's allocations changed.\n\n");
    } else {
        header(&mut out);
        cmp.changes.iter().for_each(|c| row(&mut out, c));
        out.push('\n');
    }
    for (title, top) in [("A", &cmp.top_a), ("B", &cmp.top_b)] {
        let _ = writeln!(out, "Top allocation sources of {title} (by bytes):\n");
        header(&mut out);
        top.iter().for_each(|c| row(&mut out, c));
        out.push('\n');
    }
    out
}

/// The comparison for a terminal: the same tables, aligned.
pub fn terminal(cmp: &AllocationComparison) -> String {
    let per_op = cmp.per_operation();
    let mut out = format!(
        "\n  Allocation changes by function (as `go tool pprof -base`):\n  {}\n",
        headline(cmp)
    );
    // The function last, as in the other "where it changed" tables.
    let function_last = |mut row: [String; 6]| {
        row.rotate_left(1);
        row
    };
    let table = |rows: &[AllocationChange]| {
        let mut lines = vec![function_last(column_names(per_op).map(String::from))];
        lines.extend(rows.iter().map(|c| function_last(cells(c, per_op))));
        crate::reports::table::aligned(
            &lines,
            &[true, true, true, true, true, false],
            "  ",
            |_, _| "",
            "",
        )
    };
    if cmp.changes.is_empty() {
        out.push_str("  no function's allocations changed\n");
    } else {
        out.push_str(&table(&cmp.changes));
    }
    for (title, top) in [("A", &cmp.top_a), ("B", &cmp.top_b)] {
        let _ = writeln!(out, "\n  Top allocation sources of {title} (by bytes):");
        out.push_str(&table(top));
    }
    out
}

#[cfg(test)]
mod tests;
