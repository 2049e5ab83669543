//! heaptrack's unit tests, kept apart from the parsers they check: commands,
//! finding the data file, the heaptrack_print fixtures under
//! xtask/engine/tests/fixtures/heaptrack/, truncated input, and a real heaptrack run on the demo.

use super::*;
use std::process::Command;

const PRINT: &str = include_str!("../../../tests/fixtures/heaptrack/cdr-demo.print.txt");
const SUMMARY_ONLY: &str =
    include_str!("../../../tests/fixtures/heaptrack/cdr-demo.flamegraph-stdout.txt");
const FLAMEGRAPH: &str =
    include_str!("../../../tests/fixtures/heaptrack/cdr-demo.flamegraph-peak.txt");

#[test]
fn commands() {
    let argv = record_command(
        Path::new("/usr/bin/heaptrack"),
        Path::new("/tmp/r/heaptrack.cdr-demo"),
        Path::new("/bin/cdr-demo"),
        &["generate".into(), "--subs".into(), "2000".into()],
    );
    assert_eq!(
        argv,
        [
            "/usr/bin/heaptrack",
            "-o",
            "/tmp/r/heaptrack.cdr-demo",
            "/bin/cdr-demo",
            "generate",
            "--subs",
            "2000"
        ]
        .map(OsString::from)
    );
    let print = print_command(
        Path::new("heaptrack_print"),
        Path::new("/tmp/d.zst"),
        &PrintFiles {
            peak_stacks: Path::new("/tmp/r/peak.folded"),
            timeline: None,
        },
    );
    assert_eq!(
        print,
        [
            "heaptrack_print",
            "--print-leaks=1",
            "--peak-limit=10",
            "--sub-peak-limit=2",
            "--flamegraph-cost-type",
            "peak",
            "--print-flamegraph",
            "/tmp/r/peak.folded",
            "--file",
            "/tmp/d.zst"
        ]
        .map(OsString::from)
    );
    let with_timeline = print_command(
        Path::new("hp"),
        Path::new("d.zst"),
        &PrintFiles {
            peak_stacks: Path::new("out.folded"),
            timeline: Some(Path::new("t.massif")),
        },
    );
    let with_timeline: Vec<_> = with_timeline.iter().map(|s| s.to_str().unwrap()).collect();
    assert!(with_timeline
        .windows(3)
        .any(|w| w == ["--print-massif", "t.massif", "--massif-detailed-freq=0"]));
    assert!(with_timeline.ends_with(&["--file", "d.zst"]));
}

#[test]
fn finds_the_file_heaptrack_wrote_whatever_its_extension() {
    let dir = std::env::temp_dir().join(format!("heaptrack-find-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("heaptrack.cdr-demo.1");
    assert_eq!(find_output(&base), None);
    std::fs::write(dir.join("heaptrack.cdr-demo.1.gz"), b"x").unwrap();
    assert_eq!(
        find_output(&base),
        Some(dir.join("heaptrack.cdr-demo.1.gz"))
    );
    std::fs::remove_file(dir.join("heaptrack.cdr-demo.1.gz")).unwrap();
    std::fs::write(dir.join("heaptrack.cdr-demo.1.zst"), b"x").unwrap();
    assert_eq!(
        find_output(&base),
        Some(dir.join("heaptrack.cdr-demo.1.zst"))
    );
    std::fs::remove_dir_all(&dir).unwrap();
    let record = include_str!("../../../tests/fixtures/heaptrack/cdr-demo.record-stdout.txt");
    assert_eq!(
        output_from_log(record),
        Some(PathBuf::from("/tmp/fx/cdr-demo.zst"))
    );
    assert_eq!(
        output_from_log(
            "heaptrack output will be written to \"/tmp/fx/cdr-demo.zst\"\nstarting application"
        ),
        Some(PathBuf::from("/tmp/fx/cdr-demo.zst"))
    );
}

#[test]
fn reads_the_real_report() {
    let report = parse_print(PRINT, 3).unwrap();
    assert_eq!(
            report.debuggee.as_deref(),
            Some("/work/main/target/profiling/cdr-demo generate --subs 2000 --days 1 --workers 2 --out /dev/null")
        );
    let s = &report.summary;
    assert_eq!(s.runtime_s, 0.41);
    assert_eq!(s.allocation_calls, 249016);
    assert_eq!(s.temporary_allocations, 75638);
    assert_eq!(s.peak_heap.text, "4.35M");
    assert_eq!(s.peak_heap.bytes, 4.35e6);
    assert_eq!(s.peak_rss.text, "8.43M");
    assert_eq!(s.leaked.text, "1.26K");
    assert!(s.suppressed_leaks.is_none());

    for section in [
        &report.most_calls,
        &report.peak_consumers,
        &report.most_temporary,
        &report.leaks,
    ] {
        assert_eq!(section.len(), 3);
    }
    // The first entry of each section, as printed.
    let calls = &report.most_calls[0];
    assert_eq!(calls.calls, 162581);
    assert_eq!(calls.bytes.as_ref().unwrap().text, "1.82K");
    assert_eq!(calls.location[0].function, "alloc::alloc::alloc");
    assert_eq!(
        calls.location[0].location.as_deref(),
        Some("library/alloc/src/alloc.rs:95")
    );
    assert_eq!(
        calls.location[0].module.as_deref(),
        Some("/work/main/target/profiling/cdr-demo")
    );
    assert_eq!(calls.traces.len(), 2);
    assert_eq!(calls.traces[0].calls, 80281);
    assert_eq!(calls.other_places.as_ref().unwrap().amount, "2019");
    assert_eq!(calls.other_places.as_ref().unwrap().places, 8);

    let peak = &report.peak_consumers[0];
    assert_eq!(peak.bytes.as_ref().unwrap().text, "4.19M");
    assert_eq!(peak.calls, 20);
    let temp = &report.most_temporary[0];
    assert_eq!(temp.temporary, Some(71609));
    assert_eq!(temp.calls, 162581);
    let leak = &report.leaks[0];
    assert_eq!(leak.bytes.as_ref().unwrap().text, "672B");

    // Every name is demangled: no v0 symbol, legacy escape or hash is left.
    let all_frames = report
        .most_calls
        .iter()
        .chain(&report.peak_consumers)
        .chain(&report.most_temporary)
        .chain(&report.leaks)
        .flat_map(|e| e.stack());
    for frame in all_frames {
        let f = &frame.function;
        assert!(
            !f.starts_with("_R") && !f.contains("$LT$") && !f.contains("$u7b$"),
            "{f}"
        );
        let last = f.rsplit("::").next().unwrap();
        let hash = last.len() == 17
            && last.starts_with('h')
            && last[1..].chars().all(|c| c.is_ascii_hexdigit());
        assert!(!hash, "{f}");
    }

    // The common report names the sites after the workload's own code.
    let common = report.to_report();
    assert_eq!(common.tool, "heaptrack");
    assert_eq!(common.peak_heap_bytes, Some(4.35e6));
    assert_eq!(common.total_allocations, Some(249016));
    assert_eq!(
        common.peak_consumers[0].function,
        "cdr_demo::generate::format_rows"
    );
    assert_eq!(
        common.peak_consumers[0].location.as_deref(),
        Some("demo/src/generate.rs:178")
    );
    assert_eq!(common.peak_consumers[0].bytes, Some(4.19e6));
    assert!(common
        .temporary_sites
        .iter()
        .all(|s| s.bytes.is_none() && s.count.is_some()));
    assert_eq!(common.leaks[0].bytes, Some(672.0));
    // And serialises.
    let json = serde_json::to_string(&common).unwrap();
    let back: MemoryReport = serde_json::from_str(&json).unwrap();
    assert_eq!(back, common);
}

#[test]
fn top_limits_entries_and_all_entries_are_available() {
    assert_eq!(parse_print(PRINT, 1).unwrap().peak_consumers.len(), 1);
    let all = parse_print(PRINT, 100).unwrap();
    // heaptrack_print stops a ranking at the first entry with nothing to show.
    let printed = PRINT
        .lines()
        .filter(|l| l.contains(" peak memory consumed over "))
        .count();
    assert_eq!(printed, 9);
    assert_eq!(all.peak_consumers.len(), printed);
    assert_eq!(all.most_calls.len(), PRINT_PEAK_LIMIT);
    assert_eq!(parse_print(PRINT, 0).unwrap().most_calls.len(), 0);
}

#[test]
fn reads_a_summary_without_sections() {
    // What heaptrack_print prints with every section off: the summary only,
    // runtime with 6 decimals.
    let report = parse_print(SUMMARY_ONLY, 10).unwrap();
    assert_eq!(report.summary.runtime_s, 0.411);
    assert_eq!(report.summary.peak_heap.text, "4.35M");
    assert!(report.peak_consumers.is_empty());
}

#[test]
fn truncated_or_garbage_input_is_a_clear_error() {
    // Cut in the middle of a section.
    let cut = &PRINT[..PRINT.len() / 2];
    let e = parse_print(cut, 5).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(e.to_string().starts_with("heaptrack_print output"), "{e}");
    // Cut inside the summary.
    let end = PRINT.find("peak RSS").unwrap();
    let e = parse_print(&PRINT[..end], 5).unwrap_err();
    assert!(
        e.to_string()
            .contains("'peak RSS (including heaptrack overhead): …'"),
        "{e}"
    );
    // Not heaptrack at all.
    let e = parse_print("hello\nworld\n", 5).unwrap_err();
    assert!(
        e.to_string().contains("no heaptrack_print report found"),
        "{e}"
    );
    assert!(parse_print("", 5)
        .unwrap_err()
        .to_string()
        .contains("empty input"));
    // A damaged entry header names its line.
    let damaged = PRINT.replacen(
        "4.19M peak memory consumed over 20 calls from",
        "4.19X peak memory consumed",
        1,
    );
    let e = parse_print(&damaged, 5).unwrap_err();
    assert_eq!(
        e.line,
        Some(
            PRINT
                .lines()
                .position(|l| l.starts_with("4.19M peak"))
                .unwrap()
                + 1
        )
    );
    assert!(e.message.contains("PEAK MEMORY CONSUMERS"), "{e}");
    // A damaged size in the summary.
    let damaged = PRINT.replace(
        "peak heap memory consumption: 4.35M",
        "peak heap memory consumption: lots",
    );
    let e = parse_print(&damaged, 5).unwrap_err();
    assert!(e.message.contains("expected a size"), "{e}");
    // Every prefix of the real output parses or fails cleanly, never panics.
    for cut in (0..PRINT.len())
        .step_by(997)
        .filter(|&i| PRINT.is_char_boundary(i))
    {
        let _ = parse_print(&PRINT[..cut], 3);
    }
}

#[test]
fn folds_the_peak_flamegraph() {
    let folded = parse_flamegraph(FLAMEGRAPH);
    assert!(!folded.is_empty());
    let mut total = 0u64;
    for line in folded.lines() {
        let (stack, count) = line.rsplit_once(' ').unwrap();
        let count: u64 = count.parse().unwrap();
        assert!(count > 0);
        assert!(!stack.ends_with(';'));
        assert!(!stack.contains("_RN") && !stack.contains("$LT$"), "{stack}");
        total += count;
    }
    // The bytes live at the peak add up to heaptrack's peak heap.
    let summary = parse_print(SUMMARY_ONLY, 0).unwrap().summary;
    assert!(
        summary.peak_heap.matches(total as f64),
        "{total} vs {}",
        summary.peak_heap
    );
    assert!(folded.contains("cdr_demo::generate::format_rows (generate.rs)"));
    // Zero-count lines dropped, one-line inputs, junk ignored.
    assert_eq!(
        parse_flamegraph("a;b; 0\nx;_RNvCs1234_7mycrate4main; 12\njunk\n"),
        "x;mycrate::main 12\n"
    );
    // Stacks equal once demangled merge.
    assert_eq!(
        parse_flamegraph("m;f::h0123456789abcdef; 1\nm;f::h1123456789abcdef; 2\n"),
        "m;f 3\n"
    );
}

/// Records cdr-demo with the real heaptrack and checks our reading of the
/// peak heap against heaptrack_print's own line, and against the bytes of
/// its peak flamegraph, to the printed precision.
#[test]
fn real_heaptrack_run() {
    let demo = crate::runs::build::demo_for_tests();
    for tool in ["heaptrack", "heaptrack_print"] {
        if Command::new(tool).arg("--version").output().is_err() {
            crate::runs::build::skip_unless_ci(tool);
            return;
        }
    }
    let dir = std::env::temp_dir().join(format!("heaptrack-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base = dir.join("heaptrack.cdr-demo");
    let args: Vec<String> = "generate --subs 2000 --days 1 --workers 2 --out /dev/null"
        .split(' ')
        .map(String::from)
        .collect();
    let run = |argv: Vec<OsString>| {
        let out = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
        assert!(
            out.status.success(),
            "{argv:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).unwrap()
    };
    let log = run(record_command(Path::new("heaptrack"), &base, &demo, &args));
    let data = find_output(&base).expect("heaptrack wrote no data file");
    assert_eq!(output_from_log(&log).as_deref(), Some(data.as_path()));
    eprintln!("heaptrack wrote {}", data.display());

    let folded_path = dir.join("peak.folded");
    let timeline_path = dir.join("timeline.massif");
    let text = run(print_command(
        Path::new("heaptrack_print"),
        &data,
        &PrintFiles {
            peak_stacks: &folded_path,
            timeline: Some(&timeline_path),
        },
    ));
    let report = parse_print(&text, 10).unwrap();
    let printed = text
        .lines()
        .find_map(|l| l.strip_prefix("peak heap memory consumption: "))
        .unwrap();
    assert_eq!(report.summary.peak_heap.text, printed);
    assert!(report
        .summary
        .peak_heap
        .matches(report.to_report().peak_heap_bytes.unwrap()));
    assert!(!report.peak_consumers.is_empty() && !report.most_calls.is_empty());
    // The files written in the same pass leave its text as a pass of the
    // text alone prints it.
    let text_alone = run([
        "heaptrack_print",
        "--print-leaks=1",
        "--peak-limit=10",
        "--sub-peak-limit=2",
        "--file",
    ]
    .into_iter()
    .map(OsString::from)
    .chain([data.clone().into_os_string()])
    .collect());
    assert_eq!(text, text_alone);

    let folded = parse_flamegraph(&std::fs::read_to_string(&folded_path).unwrap());
    let total: u64 = folded
        .lines()
        .map(|l| l.rsplit_once(' ').unwrap().1.parse::<u64>().unwrap())
        .sum();
    eprintln!(
        "heaptrack: peak heap printed {} ({} bytes in the peak flamegraph), peak RSS {}, {} calls",
        report.summary.peak_heap, total, report.summary.peak_rss, report.summary.allocation_calls
    );
    assert!(
        report.summary.peak_heap.matches(total as f64),
        "{total} vs {}",
        report.summary.peak_heap
    );
    let timeline = parse_timeline(&std::fs::read_to_string(&timeline_path).unwrap()).unwrap();
    let largest = timeline.iter().map(|p| p.1).fold(0.0, f64::max);
    assert!(
        largest > 0.0 && largest <= report.summary.peak_heap.bytes * 1.01,
        "{largest} vs {}",
        report.summary.peak_heap
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Only heaptrack's own words about losing data count as a data loss.
#[test]
fn data_loss_is_what_heaptrack_says_not_a_failed_exit() {
    let lines = |text: &str| -> Vec<String> { text.lines().map(String::from).collect() };
    let clean = lines(
        "heaptrack output will be written to \"/tmp/a.zst\"\nstarting application, this might take some time...\nHeaptrack finished! Now run the following to investigate the data:",
    );
    assert_eq!(data_loss(&clean), None);
    let lost = lines(
        "heaptrack output will be written to \"/tmp/a.zst\"\n  ERROR: failed to open heaptrack output file /tmp/a: Permission denied (13)\n",
    );
    assert_eq!(
        data_loss(&lost),
        Some("ERROR: failed to open heaptrack output file /tmp/a: Permission denied (13)")
    );
    assert!(data_loss(&lines("failed to parse line: + 12 3")).is_some());
}

const TIMELINE: &str =
    include_str!("../../../tests/fixtures/heaptrack/cdr-demo-serve.timeline.massif");

/// heaptrack's timeline of the demo server under load, as the memory task
/// read it (the figures memory.json recorded for this capture).
#[test]
fn the_timeline_of_a_server_gives_the_heap_before_and_after_its_load() {
    let timeline = parse_timeline(TIMELINE).unwrap();
    assert_eq!(timeline.len(), 78);
    assert!(
        timeline.windows(2).all(|w| w[0].0 <= w[1].0),
        "in time order"
    );
    assert_eq!(timeline[0], (0.016, 74388.0));
    let around = crate::tools::memory_model::heap_under_load(
        "heaptrack",
        &timeline,
        0.328805936,
        1.332903114,
        1.633110526,
    )
    .unwrap();
    assert_eq!((around.before_at_s, around.before_bytes), (0.306, 74756.0));
    assert_eq!((around.after_at_s, around.after_bytes), (1.323, 83644.0));
    assert_eq!(around.growth_bytes, 8888.0);
    // heaptrack_print said `peak heap memory consumption: 84.30K` and
    // `total memory leaked: 83.64K` (the server was stopped, not shut down:
    // what it held at the stop). The timeline, sampled per 10 ms tick, comes
    // within a few hundred bytes of that peak and never above it.
    let largest = timeline.iter().map(|p| p.1).fold(0.0, f64::max);
    assert_eq!(largest, 84156.0);
    assert!(largest <= 84300.0);
    assert!((around.after_bytes - 83640.0).abs() < 10.0);
}

#[test]
fn a_broken_timeline_is_an_error_at_its_line() {
    let err = parse_timeline("snapshot=0\ntime=abc\nmem_heap_B=1\n").unwrap_err();
    assert_eq!(err.line, Some(2), "{err}");
    let err = parse_timeline("mem_heap_B=1\n").unwrap_err();
    assert!(err.to_string().contains("without a `time=`"), "{err}");
    assert!(parse_timeline("").is_err());
}

/// An address without a symbol is named as unresolved code, in the folded
/// stacks and in heaptrack_print's report (after its module when printed),
/// so that two runs whose addresses ASLR moved give the same rows.
#[test]
fn unresolved_addresses_are_stable_across_runs() {
    let one = parse_flamegraph("0x7f82994a57b9 (rtld.c);main 10\n");
    let two = parse_flamegraph("0x7f2d05ca57b9 (rtld.c);main 10\n");
    assert_eq!(one, "<unresolved>;main 10\n");
    assert_eq!(one, two);
    assert_eq!(stable_frame_name("0xzz"), "0xzz");
    let report = parse_print(PRINT, 10).unwrap();
    let frames: Vec<Frame> = report
        .peak_consumers
        .iter()
        .chain(&report.most_calls)
        .flat_map(|e| e.stack())
        .collect();
    assert!(frames.iter().all(|f| !f.function.starts_with("0x")));
    assert!(
        frames
            .iter()
            .any(|f| f.function.starts_with("<unresolved in ")),
        "the fixture has unresolved frames with their module"
    );
}
