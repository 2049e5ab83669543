//! The memory figures of a result as Markdown tables: the heap profile's
//! measures (with a server's heap before and after its load, and figures
//! per operation of the load), and the leak check's verdict. Shared by the
//! result's README and the memory task's summary.

use super::markdown::format_bytes;
use crate::reports::markdown_text::{code, code_cell, message, text};
use std::fmt::Write as _;

pub fn memory_table(memory: &crate::results::record::MemoryRecord) -> String {
    use super::allocation_sources::{heap_growth_flag, sources_markdown};
    let mut out = match memory.under_load.as_ref().and_then(heap_growth_flag) {
        Some(flag) => format!("> {flag}\n\n"),
        None => String::new(),
    };
    out.push_str("| measure | value |\n|---|---:|\n");
    let bytes = |v: Option<f64>| v.map(format_bytes).unwrap_or_else(|| "—".into());
    let count = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let _ = writeln!(out, "| peak heap | {} |", bytes(memory.peak_heap_bytes));
    let _ = writeln!(out, "| peak RSS | {} |", bytes(memory.peak_rss_bytes));
    let _ = writeln!(
        out,
        "| allocation calls | {} |",
        count(memory.total_allocations)
    );
    let _ = writeln!(
        out,
        "| temporary allocations | {} |",
        count(memory.temporary_allocations)
    );
    let _ = writeln!(out, "| leaked | {} |", bytes(memory.leaked_bytes));
    if let Some(ops) = memory.operations {
        let _ = writeln!(out, "| operations of the load | {ops:.0} |");
        let calls = memory
            .allocations
            .as_ref()
            .map(|t| t.calls)
            .or(memory.total_allocations);
        if let Some(calls) = calls {
            let _ = writeln!(
                out,
                "| allocation calls per operation | {:.2} |",
                calls as f64 / ops
            );
        }
        if let Some(table) = &memory.allocations {
            let _ = writeln!(
                out,
                "| bytes allocated per operation | {} |",
                format_bytes(table.bytes / ops)
            );
        }
    }
    if let Some(heap) = &memory.under_load {
        let _ = writeln!(
            out,
            "| heap before the load (at {:.2} s) | {} |",
            heap.before_at_s,
            format_bytes(heap.before_bytes)
        );
        let _ = writeln!(
            out,
            "| heap after the load (at {:.2} s) | {} |",
            heap.after_at_s,
            format_bytes(heap.after_bytes)
        );
        let _ = writeln!(
            out,
            "| growth under the load | {}{} |",
            if heap.growth_bytes < 0.0 { "-" } else { "+" },
            format_bytes(heap.growth_bytes.abs())
        );
        let _ = writeln!(
            out,
            "\nThe load ran from {:.2} s to {:.2} s after the server started; the server was stopped at {:.2} s. Heap over time: {}.",
            heap.load_start_s,
            heap.load_end_s,
            heap.stopped_at_s,
            message(&heap.source)
        );
    }
    if let Some(allocations) = &memory.allocations {
        out.push_str(&sources_markdown(allocations));
    }
    if !memory.peak_consumers.is_empty() {
        out.push_str("\nTop peak consumers:\n\n| bytes | function |\n|---:|---|\n");
        for site in memory.peak_consumers.iter().take(10) {
            let _ = writeln!(
                out,
                "| {} | {} |",
                bytes(site.bytes),
                code_cell(&site.function)
            );
        }
    }
    out
}

/// memcheck's verdict as a table, with the top leak stacks.
pub fn leak_table(leaks: &crate::results::record::LeakCheck) -> String {
    let mut out = format!(
        "Leak check (valgrind memcheck): **{}** — {} definitely lost, threshold {}\n\n",
        if leaks.passed { "passed" } else { "FAILED" },
        format_bytes(leaks.definitely_lost_bytes as f64),
        format_bytes(leaks.threshold_bytes as f64)
    );
    out.push_str("| kind | bytes | blocks |\n|---|---:|---:|\n");
    for (kind, bytes, blocks) in [
        (
            "definitely lost",
            leaks.definitely_lost_bytes,
            leaks.definitely_lost_blocks,
        ),
        (
            "indirectly lost",
            leaks.indirectly_lost_bytes,
            leaks.indirectly_lost_blocks,
        ),
        (
            "possibly lost",
            leaks.possibly_lost_bytes,
            leaks.possibly_lost_blocks,
        ),
    ] {
        let _ = writeln!(out, "| {kind} | {bytes} | {blocks} |");
    }
    let _ = writeln!(
        out,
        "| still reachable | {} | |",
        leaks.still_reachable_bytes
    );
    if !leaks.top.is_empty() {
        out.push_str("\nTop leaks:\n\n");
        for site in leaks.top.iter().take(5) {
            let _ = writeln!(
                out,
                "- {} in {}{}",
                format_bytes(site.bytes.unwrap_or(0.0)),
                code(&site.function),
                site.location
                    .as_deref()
                    .map(|l| format!(" ({})", text(l)))
                    .unwrap_or_default()
            );
        }
    }
    out
}
