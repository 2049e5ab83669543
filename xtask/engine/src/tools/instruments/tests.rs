//! The macOS memory tools' unit tests, kept apart from the parsers they check:
//! command lines, and the leaks and time -l samples under xtask/engine/tests/fixtures/macos/.

use super::*;

const LEAKS_STACKS: &str = include_str!("../../../tests/fixtures/macos/leaks-stacks.txt");
const LEAKS_NO_STACKS: &str = include_str!("../../../tests/fixtures/macos/leaks-no-stacks.txt");
const LEAKS_CLEAN: &str = include_str!("../../../tests/fixtures/macos/leaks-clean.txt");
const TIME_L: &str = include_str!("../../../tests/fixtures/macos/time-l.txt");

fn strings(argv: &[OsString]) -> Vec<&str> {
    argv.iter().map(|a| a.to_str().unwrap()).collect()
}

#[test]
fn commands() {
    let args = vec!["generate".to_string(), "--subs".into(), "2000".into()];
    let demo = Path::new("/x/cdr-demo");
    assert_eq!(
        strings(&xctrace_allocations_command(
            Path::new("/r/a.trace"),
            demo,
            &args
        )),
        [
            "xcrun",
            "xctrace",
            "record",
            "--template",
            "Allocations",
            "--output",
            "/r/a.trace",
            "--launch",
            "--",
            "/x/cdr-demo",
            "generate",
            "--subs",
            "2000"
        ]
    );
    assert_eq!(
        strings(&leaks_command(demo, &args)),
        [
            "leaks",
            "--atExit",
            "--",
            "/x/cdr-demo",
            "generate",
            "--subs",
            "2000"
        ]
    );
    assert_eq!(
        strings(&time_l_command(demo, &args)),
        [
            "/usr/bin/time",
            "-l",
            "/x/cdr-demo",
            "generate",
            "--subs",
            "2000"
        ]
    );
}

#[test]
fn leaks_with_stacks() {
    let report = parse_leaks(LEAKS_STACKS).unwrap();
    assert_eq!(
        (report.pid, report.leak_count, report.leaked_bytes),
        (4242, 2, 4144)
    );
    assert_eq!(report.nodes_malloced, Some(412));
    assert_eq!(report.malloced.as_ref().unwrap().bytes, 61.0 * 1024.0);
    assert_eq!(report.footprint_peak.as_ref().unwrap().text, "12.4M");
    assert_eq!(report.leaks.len(), 2);
    let big = &report.leaks[0];
    assert_eq!(big.kind, "ROOT LEAK");
    assert_eq!(big.label, "malloc in cdr_demo::generate::leak");
    assert_eq!((big.instances, big.bytes), (1, 4096));
    // Innermost first, demangled, with file:line where leaks had it.
    assert_eq!(
        big.stack[0].function,
        "_malloc_zone_malloc_instrumented_or_legacy"
    );
    assert_eq!(
        big.stack[0].module.as_deref(),
        Some("libsystem_malloc.dylib")
    );
    let leak_fn = big
        .stack
        .iter()
        .find(|f| f.function == "cdr_demo::generate::leak")
        .unwrap();
    assert_eq!(leak_fn.location.as_deref(), Some("generate.rs:211"));
    assert_eq!(big.stack.last().unwrap().function, "start");
    assert!(big
        .stack
        .iter()
        .any(|f| f.function == "std::rt::lang_start_internal"));
    let small = &report.leaks[1];
    assert_eq!((small.instances, small.bytes), (1, 48));
    let common = report.to_report();
    assert_eq!(common.leaked_bytes, Some(4144.0));
    assert_eq!(common.leaks[0].function, "cdr_demo::generate::leak");
    assert_eq!(common.leaks[0].location.as_deref(), Some("generate.rs:211"));
}

#[test]
fn leaks_without_stacks_and_clean() {
    let report = parse_leaks(LEAKS_NO_STACKS).unwrap();
    assert_eq!((report.leak_count, report.leaked_bytes), (2, 4144));
    assert_eq!(report.leaks.len(), 2);
    assert_eq!(report.leaks[0].bytes, 4096);
    assert_eq!(report.leaks[0].label, "0x13f808000");
    assert_eq!(
        report.leaks.iter().map(|g| g.bytes).sum::<u64>(),
        report.leaked_bytes
    );
    let clean = parse_leaks(LEAKS_CLEAN).unwrap();
    assert_eq!((clean.leak_count, clean.leaked_bytes), (0, 0));
    assert!(clean.leaks.is_empty());
    assert_eq!(clean.to_report().leaked_bytes, Some(0.0));
    // Singular, and the old `Leak:` form.
    let old = "leaks Report Version:  2.0\nProcess 8311: 3 nodes malloced for 1 KB\nProcess 8311: 1 leak for 32 total leaked bytes.\nLeak: 0x100100080  size=32  zone: DefaultMallocZone_0x100004000\n\t0x00000000 0x00000000 0x00000000 0x00000000 \t................\nCall stack: [thread 0x7fff70ed8cc0]: | 0x1 | start | main | f | malloc | \n";
    let report = parse_leaks(old).unwrap();
    assert_eq!((report.leak_count, report.leaked_bytes), (1, 32));
    assert_eq!(report.leaks[0].bytes, 32);
    assert_eq!(report.leaks[0].stack[0].function, "malloc");
    assert_eq!(report.leaks[0].stack[1].function, "f");
}

#[test]
fn leaks_errors() {
    assert!(parse_leaks("")
        .unwrap_err()
        .to_string()
        .contains("empty input"));
    let cut = &LEAKS_STACKS[..LEAKS_STACKS.find("Process 4242: 2 leaks").unwrap()];
    let e = parse_leaks(cut).unwrap_err();
    assert!(e.to_string().contains("leaks did not finish"), "{e}");
    let damaged = LEAKS_STACKS.replace("2 leaks for 4144 total", "two leaks for 4144 total");
    let e = parse_leaks(&damaged).unwrap_err();
    assert!(
        e.line.is_some() && e.message.contains("total leaked bytes"),
        "{e}"
    );
    let damaged = LEAKS_STACKS.replacen("0x100b79d0c", "nowhere", 1);
    let e = parse_leaks(&damaged).unwrap_err();
    assert!(e.message.contains("expected a stack frame"), "{e}");
    for cut in (0..LEAKS_STACKS.len())
        .step_by(97)
        .filter(|&i| LEAKS_STACKS.is_char_boundary(i))
    {
        let _ = parse_leaks(&LEAKS_STACKS[..cut]);
    }
}

#[test]
fn time_l() {
    let t = parse_time_l(TIME_L).unwrap();
    assert_eq!((t.real_s, t.user_s, t.sys_s), (0.31, 0.52, 0.04));
    assert_eq!(t.max_rss_bytes, 10_649_600);
    assert_eq!(t.peak_footprint_bytes, Some(8_127_616));
    assert_eq!(t.instructions_retired, Some(4_215_383_071));
    assert_eq!(t.cycles_elapsed, Some(1_167_839_360));
    assert_eq!(t.page_reclaims, Some(1045));
    assert_eq!(t.involuntary_context_switches, Some(139));
    assert!(!t.terminated_abnormally);
    let r = t.to_report();
    assert_eq!(
        (r.peak_rss_bytes, r.runtime_s),
        (Some(10_649_600.0), Some(0.31))
    );
    // Older macOS: no instructions, cycles or footprint lines.
    let old: String = TIME_L
        .lines()
        .filter(|l| !l.contains("retired") && !l.contains("cycles") && !l.contains("footprint"))
        .map(|l| format!("{l}\n"))
        .collect();
    let t = parse_time_l(&old).unwrap();
    assert_eq!(t.peak_footprint_bytes, None);
    assert_eq!(t.max_rss_bytes, 10_649_600);
    let killed = format!(
        "Command terminated abnormally.\n{}",
        &TIME_L[TIME_L.find("        0.31 real").unwrap()..]
    );
    assert!(parse_time_l(&killed).unwrap().terminated_abnormally);
}

#[test]
fn time_l_errors() {
    let e = parse_time_l("METRICS records=1\n").unwrap_err();
    assert!(
        e.to_string().starts_with("time -l output: no '<s> real"),
        "{e}"
    );
    let no_l = "        0.31 real         0.52 user         0.04 sys\n";
    let e = parse_time_l(no_l).unwrap_err();
    assert!(e.to_string().contains("was time run with -l"), "{e}");
    let damaged = TIME_L.replace("10649600  maximum", "lots  maximum");
    let e = parse_time_l(&damaged).unwrap_err();
    assert!(e.line.is_some() && e.message.contains("<number>"), "{e}");
}
