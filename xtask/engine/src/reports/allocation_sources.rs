//! What a memory result says about where its allocations come from: the top
//! allocation sources by bytes and by calls (with the stacks of the largest,
//! inlined frames marked), and the red flag of a server whose heap grew
//! under its load and stayed grown. Part of the result's README and of the
//! memory task's terminal summary, through `markdown::memory_table`.

use super::markdown::format_bytes;
use super::markdown_text::{code, code_cell, text};
use crate::results::record::memory::{
    AllocationsRecord, FunctionAllocationsRecord, HeapUnderLoadRecord,
};
use std::fmt::Write as _;

/// How many sources each ranking shows, and how many of them their stack.
const SHOWN: usize = 10;
const STACKS: usize = 3;
/// Frames of a stack shown; deeper ones are counted.
const STACK_FRAMES: usize = 8;

/// The red-flag line when the heap grew under the load beyond
/// `[thresholds] heap_growth`, else None.
pub fn heap_growth_flag(heap: &HeapUnderLoadRecord) -> Option<String> {
    if !heap.red_flag() {
        return None;
    }
    let limit = heap.growth_limit_pct.unwrap_or_default();
    let pct = match heap.growth_pct() {
        Some(pct) => format!("+{pct:.0} %"),
        None => "from nothing".into(),
    };
    Some(format!(
        "**Red flag:** the heap was {} ({pct}) larger after the load than before it, more \
         than `[thresholds] heap_growth` ({limit} %): memory that stays once the requests are \
         done is a leak, or a cache that grows with use; the allocation sources and the leaks \
         say which code holds it.",
        format_bytes(heap.growth_bytes),
    ))
}

/// The top sources by bytes and by calls, and the stacks of the largest.
pub fn sources_markdown(allocations: &AllocationsRecord) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nAllocations: {} calls, {} allocated in all (freed ones included), {} temporary; \
         from {}.",
        allocations.calls,
        format_bytes(allocations.bytes),
        allocations.temporary,
        text(&allocations.source)
    );
    out.push_str("\nTop allocation sources by bytes allocated:\n\n");
    out.push_str("| bytes | share | calls | function | where |\n|---:|---:|---:|---|---|\n");
    let share = |bytes: f64| match allocations.bytes > 0.0 {
        true => format!("{:.1} %", bytes / allocations.bytes * 100.0),
        false => "—".into(),
    };
    for f in allocations.functions.iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            format_bytes(f.bytes),
            share(f.bytes),
            f.calls,
            code_cell(&f.function),
            place(f)
        );
    }
    out.push_str("\nTop allocation sources by calls:\n\n");
    out.push_str("| calls | temporary | bytes | function | where |\n|---:|---:|---:|---|---|\n");
    for f in by_calls(allocations).into_iter().take(SHOWN) {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} |",
            f.calls,
            f.temporary,
            format_bytes(f.bytes),
            code_cell(&f.function),
            place(f)
        );
    }
    stacks(&mut out, allocations);
    out
}

/// The functions with the most calls first.
pub fn by_calls(allocations: &AllocationsRecord) -> Vec<&FunctionAllocationsRecord> {
    let mut sorted: Vec<&FunctionAllocationsRecord> = allocations.functions.iter().collect();
    sorted.sort_by(|a, b| b.calls.cmp(&a.calls).then(a.function.cmp(&b.function)));
    sorted
}

fn place(f: &FunctionAllocationsRecord) -> String {
    match (&f.location, &f.module) {
        (Some(location), _) => code_cell(location),
        (None, Some(module)) => code_cell(module.rsplit('/').next().unwrap_or(module)),
        (None, None) => String::new(),
    }
}

/// The stack of each of the largest sources, innermost frame first.
fn stacks(out: &mut String, allocations: &AllocationsRecord) {
    let with_stack: Vec<&FunctionAllocationsRecord> = allocations
        .functions
        .iter()
        .filter(|f| !f.stack.is_empty())
        .take(STACKS)
        .collect();
    if with_stack.is_empty() {
        return;
    }
    out.push_str(
        "\nWhere the largest sources are called from (their largest allocation, from the \
         function outwards; *inlined*: inlined into the frame below, no call happened):\n",
    );
    for f in with_stack {
        let _ = writeln!(out, "\n- {}:", code(&f.function));
        // The frames inside it are the allocator's and the standard
        // library's: counted, not listed.
        let start = f
            .stack
            .iter()
            .position(|frame| frame.function == f.function)
            .unwrap_or(0);
        if start > 0 {
            let _ = writeln!(
                out,
                "  - ({start} frames of the allocator and the standard library within it)"
            );
        }
        let frames = &f.stack[start..];
        for frame in frames.iter().take(STACK_FRAMES) {
            let _ = writeln!(
                out,
                "  - {}{}{}",
                code(&frame.function),
                frame
                    .location
                    .as_deref()
                    .map(|l| format!(" at {}", code(l)))
                    .unwrap_or_default(),
                if frame.inlined { " *inlined*" } else { "" }
            );
        }
        if frames.len() > STACK_FRAMES {
            let _ = writeln!(out, "  - … {} more", frames.len() - STACK_FRAMES);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::record::memory::StackFrameRecord;

    fn row(function: &str, calls: u64, bytes: f64) -> FunctionAllocationsRecord {
        FunctionAllocationsRecord {
            function: function.into(),
            calls,
            bytes,
            ..Default::default()
        }
    }

    /// Both rankings, each in its own order, and the stack with its inlined
    /// frames marked.
    #[test]
    fn sources_by_bytes_and_by_calls() {
        let mut big = row("app::build_index", 3, 3_000_000.0);
        big.location = Some("src/index.rs:12".into());
        big.stack = vec![
            StackFrameRecord {
                function: "alloc::alloc::alloc".into(),
                location: None,
                inlined: true,
            },
            StackFrameRecord {
                function: "app::build_index".into(),
                location: Some("src/index.rs:12".into()),
                inlined: false,
            },
        ];
        let table = AllocationsRecord {
            source: "heaptrack data (every allocation)".into(),
            calls: 1003,
            bytes: 3_001_000.0,
            temporary: 900,
            functions: vec![big, row("app::parse", 1000, 1000.0)],
        };
        let text = sources_markdown(&table);
        let bytes_at = text.find("by bytes allocated").unwrap();
        let calls_at = text.find("by calls").unwrap();
        let first_after = |at: usize| {
            let rest = &text[at..];
            let b = rest.find("app::build_index").unwrap();
            let p = rest.find("app::parse").unwrap();
            b < p
        };
        assert!(first_after(bytes_at) && !first_after(calls_at), "{text}");
        assert!(
            text.contains("| 2.86 MiB | 100.0 % | 3 | `app::build_index` | `src/index.rs:12` |"),
            "{text}"
        );
        assert!(text.contains("  - (1 frames of the allocator and the standard library within it)\n  - `app::build_index` at `src/index.rs:12`\n"), "{text}");
        assert!(
            text.contains("1003 calls, 2.86 MiB allocated in all"),
            "{text}"
        );
    }

    /// The flag is raised beyond the limit only, and from an empty heap.
    #[test]
    fn heap_growth_is_flagged_beyond_its_threshold() {
        let heap = |before: f64, after: f64, limit: Option<f64>| HeapUnderLoadRecord {
            source: "t".into(),
            load_start_s: 1.0,
            load_end_s: 2.0,
            stopped_at_s: 2.5,
            before_bytes: before,
            before_at_s: 0.9,
            after_bytes: after,
            after_at_s: 2.4,
            growth_bytes: after - before,
            growth_limit_pct: limit,
        };
        let flag = heap_growth_flag(&heap(1000.0, 1500.0, Some(20.0))).unwrap();
        assert!(
            flag.contains("was 500 B (+50 %) larger after the load") && flag.contains("(20 %)"),
            "{flag}"
        );
        assert!(heap_growth_flag(&heap(1000.0, 1100.0, Some(20.0))).is_none());
        assert!(heap_growth_flag(&heap(1000.0, 1500.0, None)).is_none());
        assert!(heap_growth_flag(&heap(0.0, 10.0, Some(20.0)))
            .unwrap()
            .contains("from nothing"));
        assert!(heap_growth_flag(&heap(1000.0, 900.0, Some(0.0))).is_none());
    }
}
