//! massif's unit tests, kept apart from the parser they check: commands, the
//! massif.out fixtures under xtask/engine/tests/fixtures/massif/ checked against ms_print's
//! own rendering of them, damaged files, and a real massif run on the demo.

use super::reader::split_location;
use super::*;
use std::process::Command;

const MASSIF: &str = include_str!("../../../tests/fixtures/massif/cdr-demo.massif.out");
const MS_PRINT_OUT: &str = include_str!("../../../tests/fixtures/massif/cdr-demo.ms_print.txt");
const STACKS: &str = include_str!("../../../tests/fixtures/massif/cdr-demo-stacks.massif.out");
const STACKS_MS_PRINT: &str =
    include_str!("../../../tests/fixtures/massif/cdr-demo-stacks.ms_print.txt");

#[test]
fn commands() {
    let argv = record_command(
        Path::new("valgrind"),
        Path::new("/tmp/m.out"),
        Path::new("/bin/cdr-demo"),
        &["generate".into(), "--subs".into(), "2000".into()],
    );
    assert_eq!(
        argv,
        [
            "valgrind",
            "--tool=massif",
            "--stacks=no",
            "--massif-out-file=/tmp/m.out",
            "/bin/cdr-demo",
            "generate",
            "--subs",
            "2000"
        ]
        .map(OsString::from)
    );
    let options = MassifOptions {
        stacks: true,
        extra: vec!["--threshold=0.5".into()],
    };
    let argv = record_command_with(
        Path::new("valgrind"),
        Path::new("o"),
        Path::new("p"),
        &[],
        &options,
    );
    assert_eq!(
        argv,
        [
            "valgrind",
            "--tool=massif",
            "--stacks=yes",
            "--threshold=0.5",
            "--massif-out-file=o",
            "p"
        ]
        .map(OsString::from)
    );
}

/// The requirement: our peak equals the peak ms_print derives from
/// the same file, exactly (its table row) and to the graph's precision.
fn check_against_ms_print(massif: &str, ms_print: &str) -> (u64, u64) {
    let profile = parse(massif).unwrap();
    let shown = parse_ms_print_peak(ms_print).unwrap();
    let peak = profile.peak_snapshot();
    assert!(profile.peak_marked);
    assert_eq!(shown.peak_snapshot, Some(peak.number));
    let row = shown.peak_row.expect("ms_print's row of the peak snapshot");
    assert_eq!(row.total_bytes, peak.total_bytes());
    assert_eq!(row.useful_heap_bytes, peak.heap_bytes);
    assert_eq!(row.extra_heap_bytes, peak.heap_extra_bytes);
    assert_eq!(row.stacks_bytes, peak.stacks_bytes);
    assert_eq!(row.time, peak.time);
    assert_eq!(
        profile.to_report().peak_heap_bytes,
        Some(row.total_bytes as f64)
    );
    assert!(
        shown.graph_peak.matches(profile.max_total_bytes() as f64),
        "graph {} vs {}",
        shown.graph_peak,
        profile.max_total_bytes()
    );
    (peak.total_bytes(), profile.max_total_bytes())
}

#[test]
fn peak_equals_ms_print_exactly() {
    let (peak, max) = check_against_ms_print(MASSIF, MS_PRINT_OUT);
    assert_eq!(peak, 4_400_000);
    assert_eq!(max, peak);
    let profile = parse(MASSIF).unwrap();
    assert_eq!(profile.time_unit, "i");
    assert_eq!(
            profile.cmd,
            "/work/main/target/profiling/cdr-demo generate --subs 2000 --days 1 --workers 2 --out /dev/null"
        );
    assert_eq!(
        profile.desc,
        "--stacks=no --massif-out-file=/tmp/fx/massif/cdr-demo.massif.out"
    );
    assert_eq!(profile.snapshots.len(), 99);
    assert_eq!(
        profile
            .snapshots
            .iter()
            .filter(|s| s.kind != HeapTreeKind::Empty)
            .count(),
        13
    );
    let peak = profile.peak_snapshot();
    assert_eq!(
        (
            peak.number,
            peak.heap_bytes,
            peak.heap_extra_bytes,
            peak.stacks_bytes
        ),
        (43, 4_398_617, 1_383, 0)
    );
}

#[test]
fn with_stacks_the_graph_peak_is_not_the_marked_peak() {
    // massif marks its peak by heap + extra; with --stacks=yes a later
    // snapshot has a larger total, which is what ms_print's graph shows.
    let (peak, max) = check_against_ms_print(STACKS, STACKS_MS_PRINT);
    assert_eq!(peak, 2_173_912);
    assert_eq!(max, 2_176_880);
    let profile = parse(STACKS).unwrap();
    assert!(profile.peak_snapshot().stacks_bytes > 0);
}

#[test]
fn the_peak_tree() {
    let profile = parse(MASSIF).unwrap();
    let root = profile.peak_tree.as_ref().unwrap();
    assert_eq!(root.bytes, profile.peak_snapshot().heap_bytes);
    assert!(root.function.starts_with("(heap allocation functions)"));
    let first = &root.children[0];
    assert_eq!(first.bytes, 4_325_376);
    assert_eq!(first.address.as_deref(), Some("0x13E08E"));
    assert_eq!(first.function, "realloc");
    assert_eq!(
        first.location.as_deref(),
        Some("library/alloc/src/alloc.rs:135")
    );
    // `#` inside names is kept (ms_print cuts it off).
    let mut names = Vec::new();
    fn walk(n: &HeapNode, names: &mut Vec<String>) {
        names.push(n.function.clone());
        n.children.iter().for_each(|c| walk(c, names));
    }
    walk(root, &mut names);
    assert!(names.iter().any(|n| n == "{closure#0}"));
    assert!(names
            .iter()
            .any(|n| n == "call_once<(), (dyn core::ops::function::FnOnce<(), Output=()> + core::marker::Send), alloc::alloc::Global>"));
    assert!(names
        .iter()
        .any(|n| n.starts_with("in ") && n.contains("below massif's threshold")));
    // The common report names the sites after the workload's code.
    let report = profile.to_report();
    assert_eq!(report.tool, "massif");
    assert_eq!(
        report.peak_consumers[0].function,
        "cdr_demo::generate::format_rows"
    );
    assert_eq!(report.peak_consumers[0].bytes, Some(4_325_376.0));
}

#[test]
fn folded_peak_adds_up_to_the_heap() {
    let profile = parse(MASSIF).unwrap();
    let folded = peak_folded(&profile);
    let mut total = 0;
    for line in folded.lines() {
        let (stack, count) = line.rsplit_once(' ').unwrap();
        total += count.parse::<u64>().unwrap();
        assert!(!stack.is_empty() && !stack.starts_with(';') && !stack.ends_with(';'));
    }
    assert_eq!(total, profile.peak_snapshot().heap_bytes);
    let format_rows = folded
        .lines()
        .find(|l| l.contains("cdr_demo::generate::format_rows"))
        .unwrap();
    // Root (outermost) frame first, the allocator's caller last.
    assert!(
        format_rows.starts_with("clone;start_thread;"),
        "{format_rows}"
    );
    assert!(
        format_rows.contains(";realloc 4194304") || format_rows.contains("realloc "),
        "{format_rows}"
    );
    assert!(folded.contains("places below threshold]"));
}

#[test]
fn without_a_marked_peak_the_largest_total_is_the_peak() {
    let unmarked = MASSIF.replace("heap_tree=peak", "heap_tree=detailed");
    let profile = parse(&unmarked).unwrap();
    assert!(!profile.peak_marked);
    assert_eq!(
        profile.peak_snapshot().total_bytes(),
        profile.max_total_bytes()
    );
    assert_eq!(profile.peak_snapshot().number, 43);
    assert!(profile.peak_tree.is_some());
    // A hand-made file: two empty snapshots, ties go to the first.
    let tiny = "desc: (none)\ncmd: ./a\ntime_unit: ms\n#-----------\nsnapshot=0\n#-----------\ntime=0\nmem_heap_B=10\nmem_heap_extra_B=2\nmem_stacks_B=0\nheap_tree=empty\n#-----------\nsnapshot=1\n#-----------\ntime=5\nmem_heap_B=8\nmem_heap_extra_B=4\nmem_stacks_B=0\nheap_tree=empty\n";
    let profile = parse(tiny).unwrap();
    assert_eq!(profile.peak_snapshot().number, 0);
    assert!(profile.peak_tree.is_none());
    assert_eq!(peak_folded(&profile), "");
}

#[test]
fn truncated_or_damaged_files_are_clear_errors() {
    let e = parse("").unwrap_err();
    assert!(e.to_string().contains("empty input"), "{e}");
    let e = parse("hello world\n").unwrap_err();
    assert!(e.to_string().contains("'cmd:'"), "{e}");
    // Cut inside a tree.
    let cut = &MASSIF[..MASSIF.find("heap_tree=peak").unwrap() + 400];
    let e = parse(cut).unwrap_err();
    assert!(
        e.to_string().contains("truncated") && e.to_string().contains("snapshot 43"),
        "{e}"
    );
    // Cut inside a snapshot's fields.
    let cut = &MASSIF[..MASSIF.find("mem_heap_extra_B=").unwrap()];
    let e = parse(cut).unwrap_err();
    assert!(
        e.to_string().contains("expected 'mem_heap_extra_B=…'"),
        "{e}"
    );
    // A damaged number says where.
    let damaged = MASSIF.replacen("mem_heap_B=0", "mem_heap_B=zero", 1);
    let e = parse(&damaged).unwrap_err();
    assert_eq!(e.line, Some(8));
    assert!(e.message.contains("whole number"), "{e}");
    // Every prefix parses or fails cleanly.
    for cut in (0..MASSIF.len()).step_by(499) {
        let _ = parse(&MASSIF[..cut]);
    }
    assert!(parse_ms_print_peak("nothing here").is_err());
}

#[test]
fn locations_split_off_names_with_parentheses() {
    assert_eq!(
        split_location("realloc (alloc.rs:135)"),
        ("realloc", Some("alloc.rs:135"))
    );
    assert_eq!(
        split_location("call_once<(), (dyn Fn<()>)> (boxed.rs:2240)"),
        ("call_once<(), (dyn Fn<()>)>", Some("boxed.rs:2240"))
    );
    assert_eq!(
        split_location("main (in /bin/x)"),
        ("main", Some("in /bin/x"))
    );
    assert_eq!(split_location("???"), ("???", None));
    assert_eq!(split_location("f(int)"), ("f(int)", None));
}

/// Runs massif and ms_print for real and compares the peaks exactly.
#[test]
fn real_massif_run_matches_ms_print() {
    let demo = crate::runs::build::demo_for_tests();
    if Command::new("valgrind").arg("--version").output().is_err() {
        crate::runs::build::skip_unless_ci("valgrind");
        return;
    }
    let dir = std::env::temp_dir().join(format!("massif-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("massif.out");
    let args: Vec<String> = "generate --subs 2000 --days 1 --workers 2 --out /dev/null"
        .split(' ')
        .map(String::from)
        .collect();
    let argv = record_command(Path::new("valgrind"), &out, &demo, &args);
    let status = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap();
    let profile = parse(&text).unwrap();
    let folded_total: u64 = peak_folded(&profile)
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    assert_eq!(folded_total, profile.peak_snapshot().heap_bytes);
    match Command::new("ms_print").arg(&out).output() {
        Ok(shown) if shown.status.success() => {
            let shown = String::from_utf8(shown.stdout).unwrap();
            let (peak, max) = check_against_ms_print(&text, &shown);
            eprintln!(
                    "massif: peak snapshot {} total {} B (= ms_print's row), largest total {} B, graph {}",
                    profile.peak_snapshot().number,
                    peak,
                    max,
                    parse_ms_print_peak(&shown).unwrap().graph_peak
                );
        }
        _ => eprintln!("note: ms_print is not on PATH; compared nothing against it"),
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

const SERVE_MS: &str = include_str!("../../../tests/fixtures/massif/cdr-demo-serve-ms.massif.out");

/// A server recorded with `--time-unit=ms`: its snapshots are a heap
/// timeline in seconds; one recorded in instructions is no clock.
#[test]
fn a_millisecond_recording_is_a_timeline() {
    let profile = parse(SERVE_MS).unwrap();
    assert_eq!(profile.time_unit, "ms");
    let heap = timeline(&profile).unwrap();
    assert_eq!(heap.len(), profile.snapshots.len());
    assert!(heap.windows(2).all(|w| w[0].0 <= w[1].0));
    let around = crate::tools::memory_model::heap_under_load(
        "massif",
        &heap,
        1.18481231,
        2.192023823,
        2.492248,
    )
    .unwrap();
    // The figures memory.json recorded for this capture.
    assert_eq!((around.before_at_s, around.before_bytes), (1.154, 11096.0));
    assert_eq!((around.after_at_s, around.after_bytes), (1.932, 10552.0));
    assert!(around.before_bytes <= profile.peak_snapshot().total_bytes() as f64);
    assert!(timeline(&parse(MASSIF).unwrap()).is_none());
}
