//! Allocation changes by function: matching names across runs, totals and
//! per operation, the order of the changes, and both renderings.

use super::*;

fn row(function: &str, calls: u64, bytes: f64) -> FunctionAllocationsRecord {
    FunctionAllocationsRecord {
        function: function.into(),
        calls,
        bytes,
        ..Default::default()
    }
}

fn memory(rows: Vec<FunctionAllocationsRecord>, operations: Option<f64>) -> MemoryRecord {
    MemoryRecord {
        tool: "heaptrack".into(),
        allocations: Some(AllocationsRecord {
            source: "heaptrack data (every allocation)".into(),
            calls: rows.iter().map(|r| r.calls).sum(),
            bytes: rows.iter().map(|r| r.bytes).sum(),
            temporary: 0,
            functions: rows,
        }),
        operations,
        ..Default::default()
    }
}

/// The same function on both sides, however each run spelt it: a legacy
/// hash, an LLVM suffix, or an address whose value ASLR chose.
#[test]
fn names_match_across_runs() {
    assert_eq!(normalize("app::parse::h0123456789abcdef"), "app::parse");
    assert_eq!(normalize("app::parse.llvm.1234"), "app::parse");
    assert_eq!(
        normalize("alloc::raw_vec::RawVecInner$LT$A$GT$::finish_grow::h8abd4f11b3038a7c"),
        "alloc::raw_vec::RawVecInner<A>::finish_grow"
    );
    assert_eq!(normalize("0x55d3a0001234"), normalize("0x5611bbbb0042"));
    assert_eq!(normalize("<unresolved in app>"), "<unresolved in app>");
    let a = memory(vec![row("app::parse::h0123456789abcdef", 10, 100.0)], None);
    let b = memory(vec![row("app::parse::hfedcba9876543210", 10, 100.0)], None);
    let cmp = compare(Some(&a), Some(&b), 10).unwrap();
    assert!(cmp.changes.is_empty(), "{cmp:?}");
    assert_eq!(cmp.top_a[0].function, "app::parse");
}

/// Totals: each function's calls and bytes before and after, the largest
/// change in bytes first whichever way it went, new and gone functions.
#[test]
fn changes_in_totals_largest_first() {
    let a = memory(
        vec![
            row("app::parse", 1000, 64_000.0),
            row("app::index", 10, 4096.0),
            row("app::old", 5, 50.0),
        ],
        None,
    );
    let b = memory(
        vec![
            row("app::parse", 200, 12_800.0),
            row("app::index", 10, 8192.0),
            row("app::new", 1, 10.0),
        ],
        Some(100.0),
    );
    let cmp = compare(Some(&a), Some(&b), 10).unwrap();
    assert_eq!(cmp.operations, None, "only B knows its operations: totals");
    let order: Vec<&str> = cmp.changes.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(order, ["app::parse", "app::index", "app::old", "app::new"]);
    assert_eq!(cmp.changes[0].calls, [1000.0, 200.0]);
    assert_eq!(cmp.changes[0].bytes_delta(), -51_200.0);
    let md = markdown(&cmp);
    assert!(
        md.contains("| function | calls A → B | Δ calls | bytes A → B | Δ bytes | change |"),
        "{md}"
    );
    assert!(
        md.contains(
            "| `app::parse` | 1000 → 200 | -800 | 62.50 KiB → 12.50 KiB | -50.00 KiB | -80.0 % |"
        ),
        "{md}"
    );
    assert!(
        md.contains("| `app::old` | 5 → 0 | -5 | 50 B → 0 B | -50 B | gone |"),
        "{md}"
    );
    assert!(
        md.contains("| `app::new` | 0 → 1 | +1 | 0 B → 10 B | +10 B | new |"),
        "{md}"
    );
    assert!(md.contains("in all (totals"), "{md}");
    assert!(
        md.contains("Top allocation sources of B (by bytes):"),
        "{md}"
    );
    let term = terminal(&cmp);
    assert!(term.contains("calls A → B"), "{term}");
    let parse = term.lines().find(|l| l.ends_with("app::parse")).unwrap();
    assert!(
        parse.contains("1000 → 200") && parse.contains("-80.0 %"),
        "{term}"
    );
    assert_eq!(compare(Some(&a), Some(&b), 1).unwrap().changes.len(), 1);
}

/// Both sides know their load's operations: every figure is per operation,
/// so twice the load with the same allocations per request is no change.
#[test]
fn changes_per_operation_when_both_sides_know_it() {
    let a = memory(vec![row("app::handle", 1000, 100_000.0)], Some(500.0));
    let b = memory(
        vec![
            row("app::handle", 2000, 200_000.0),
            row("app::cache", 10, 5000.0),
        ],
        Some(1000.0),
    );
    let cmp = compare(Some(&a), Some(&b), 10).unwrap();
    assert_eq!(cmp.operations, Some([500.0, 1000.0]));
    assert_eq!(cmp.calls, [2.0, 2.01]);
    let order: Vec<&str> = cmp.changes.iter().map(|c| c.function.as_str()).collect();
    assert_eq!(
        order,
        ["app::cache"],
        "app::handle allocates the same per operation"
    );
    let md = markdown(&cmp);
    assert!(
        md.contains("calls/op A → B") && md.contains("bytes/op A → B"),
        "{md}"
    );
    assert!(
        md.contains("| `app::cache` | 0.000 → 0.010 | +0.010 | 0 B → 5 B | +5 B | new |"),
        "{md}"
    );
    assert!(
        md.contains("per operation of the load (500 operations in A, 1000 in B)"),
        "{md}"
    );
    assert!(
        md.contains("| `app::handle` | 2.000 → 2.000 | 0.000 | 200 B → 200 B | 0 B | +0.0 % |"),
        "{md}"
    );
}

/// A side without the table (massif, an older result): the reason, not a
/// comparison against nothing.
#[test]
fn a_side_without_allocations_is_a_note() {
    let a = memory(vec![row("app::parse", 1, 1.0)], None);
    let massif = MemoryRecord {
        tool: "massif".into(),
        ..Default::default()
    };
    let why = compare(Some(&a), Some(&massif), 10).unwrap_err();
    assert!(why.starts_with("B has no allocations by function"), "{why}");
    assert!(compare(None, Some(&a), 10)
        .unwrap_err()
        .starts_with("A has no"));
}
