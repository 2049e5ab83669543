//! memcheck's unit tests, kept apart from the parser they check: commands,
//! the XML and text-log fixtures under xtask/engine/tests/fixtures/memcheck/, truncated and
//! foreign input, and a real valgrind run on the demo.

use super::log_parser::parse_log;
use super::*;
use std::process::Command;

/// [`super::parse`] for the tests: the XML through it, as the tool reads it;
/// the text log (anything not starting with `<`) through the test-only
/// [`parse_log`], so that one call reads either fixture.
fn parse(text: &str, top: usize) -> Result<LeakReport, ParseError> {
    match text.trim_start().chars().next() {
        Some(first) if first != '<' => parse_log(text, top),
        _ => super::parse(text, top),
    }
}

const LEAK_XML: &str = include_str!("../../../tests/fixtures/memcheck/leak.xml");
const CLEAN_XML: &str = include_str!("../../../tests/fixtures/memcheck/clean.xml");
const LEAK_LOG: &str = include_str!("../../../tests/fixtures/memcheck/leak.log");

#[test]
fn commands() {
    let argv = command(
        Path::new("valgrind"),
        Path::new("/tmp/mc.xml"),
        Path::new("/bin/demo"),
        &["--leak-bytes".into(), "4096".into()],
    );
    assert_eq!(
        argv,
        [
            "valgrind",
            "--tool=memcheck",
            "--leak-check=full",
            "--show-leak-kinds=all",
            "--num-callers=40",
            "--child-silent-after-fork=yes",
            "--xml=yes",
            "--xml-file=/tmp/mc.xml",
            "/bin/demo",
            "--leak-bytes",
            "4096"
        ]
        .map(OsString::from)
    );
    let log = log_command(
        Path::new("valgrind"),
        Path::new("/tmp/mc.log"),
        Path::new("/bin/demo"),
        &[],
    );
    assert!(log.contains(&OsString::from("--log-file=/tmp/mc.log")));
    assert!(!log.iter().any(|a| a.to_str().unwrap().starts_with("--xml")));
}

#[test]
fn finds_the_deliberate_leak_in_xml() {
    let report = parse(LEAK_XML, 5).unwrap();
    assert_eq!(
        report.definitely_lost,
        Lost {
            bytes: 4096,
            blocks: 1
        }
    );
    assert_eq!(
        report.indirectly_lost,
        Lost {
            bytes: 0,
            blocks: 0
        }
    );
    assert_eq!(
        report.possibly_lost,
        Lost {
            bytes: 48,
            blocks: 1
        }
    );
    assert_eq!(
        report.still_reachable,
        Lost {
            bytes: 544,
            blocks: 1
        }
    );
    assert!(report.totals_complete);
    assert_eq!(report.error_count, 0);
    assert!(report
        .command
        .as_deref()
        .unwrap()
        .ends_with("--leak-bytes 4096"));
    let first = &report.top_leaks[0];
    assert_eq!(first.kind, LeakKind::DefinitelyLost);
    assert_eq!((first.bytes, first.blocks), (4096, 1));
    assert_eq!(first.stack[0].function, "malloc");
    assert!(first
        .stack
        .iter()
        .any(|f| f.function == "cdr_demo::generate::leak"
            && f.location.as_deref() == Some("/work/main/demo/src/generate.rs:211")));
    // Still reachable is not a leak.
    assert!(report
        .top_leaks
        .iter()
        .all(|r| r.kind != LeakKind::StillReachable));
    assert_eq!(report.top_leaks.len(), 2);
    let common = report.to_report();
    assert_eq!(common.tool, "memcheck");
    assert_eq!(common.leaked_bytes, Some(4096.0));
    assert_eq!(common.leaks[0].function, "cdr_demo::generate::leak");
    assert_eq!(common.leaks[0].count, Some(1));
}

#[test]
fn a_clean_run_loses_nothing_definitely() {
    let report = parse(CLEAN_XML, 5).unwrap();
    assert_eq!(report.definitely_lost, Lost::default());
    assert_eq!(report.to_report().leaked_bytes, Some(0.0));
    assert!(report
        .top_leaks
        .iter()
        .all(|r| r.kind != LeakKind::DefinitelyLost));
}

#[test]
fn the_log_says_the_same_as_the_xml() {
    let log = parse(LEAK_LOG, 5).unwrap();
    assert_eq!(
        log.definitely_lost,
        Lost {
            bytes: 4096,
            blocks: 1
        }
    );
    assert_eq!(
        log.possibly_lost,
        Lost {
            bytes: 48,
            blocks: 1
        }
    );
    assert_eq!(
        log.still_reachable,
        Lost {
            bytes: 544,
            blocks: 1
        }
    );
    assert_eq!(log.error_count, 0);
    let heap = log.heap_summary.unwrap();
    assert_eq!(
        (heap.allocs, heap.frees, heap.bytes_allocated),
        (249_021, 249_018, 34_692_461)
    );
    assert_eq!((heap.in_use_bytes, heap.in_use_blocks), (4_688, 3));
    let leak = &log.top_leaks[0];
    assert_eq!((leak.kind, leak.bytes), (LeakKind::DefinitelyLost, 4096));
    assert!(leak
        .stack
        .iter()
        .any(|f| f.function == "cdr_demo::generate::leak"
            && f.location.as_deref() == Some("generate.rs:211")));
    assert_eq!(
        leak.stack[0].module.as_deref(),
        Some("/usr/libexec/valgrind/vgpreload_memcheck-amd64-linux.so")
    );
    assert_eq!(log.to_report().total_allocations, Some(249_021));
    assert_eq!(
        log.to_report().leaks[0].function,
        "cdr_demo::generate::leak"
    );
}

#[test]
fn indirect_bytes_are_not_counted_twice() {
    let xml = "<?xml version=\"1.0\"?>\n<valgrindoutput>\n<protocolversion>4</protocolversion>\n<protocoltool>memcheck</protocoltool>\n<args><vargv><exe>valgrind</exe><arg>--show-leak-kinds=all</arg></vargv><argv><exe>./a</exe></argv></args>\n<error><unique>0x1</unique><kind>Leak_DefinitelyLost</kind><xwhat><text>48 (16 direct, 32 indirect) bytes in 1 blocks are definitely lost in loss record 2 of 2</text><leakedbytes>48</leakedbytes><leakedblocks>1</leakedblocks></xwhat><stack><frame><ip>0x1</ip><fn>malloc</fn></frame><frame><ip>0x2</ip><fn>_ZN4demo4make17h0123456789abcdefE</fn><dir>/src</dir><file>a.rs</file><line>3</line></frame></stack></error>\n<error><unique>0x2</unique><kind>Leak_IndirectlyLost</kind><xwhat><text>32 bytes in 2 blocks are indirectly lost in loss record 1 of 2</text><leakedbytes>32</leakedbytes><leakedblocks>2</leakedblocks></xwhat><stack><frame><ip>0x1</ip><fn>malloc</fn></frame></stack></error>\n<error><unique>0x3</unique><kind>InvalidRead</kind><what>Invalid read of size 4</what><stack><frame><ip>0x3</ip><fn>f &amp; g&lt;T&gt;</fn></frame></stack></error>\n<errorcounts><pair><count>7</count><unique>0x3</unique></pair></errorcounts>\n</valgrindoutput>\n";
    let report = parse(xml, 5).unwrap();
    assert_eq!(
        report.definitely_lost,
        Lost {
            bytes: 16,
            blocks: 1
        }
    );
    assert_eq!(
        report.indirectly_lost,
        Lost {
            bytes: 32,
            blocks: 2
        }
    );
    assert_eq!(report.top_leaks[0].bytes, 48);
    assert_eq!(report.top_leaks[0].stack[1].function, "demo::make");
    assert_eq!(
        report.top_leaks[0].stack[1].location.as_deref(),
        Some("/src/a.rs:3")
    );
    assert_eq!(report.error_count, 7);
    assert_eq!(report.errors[0].what, "Invalid read of size 4");
    assert_eq!(report.errors[0].stack[0].function, "f & g<T>");
    assert_eq!(report.errors[0].count, 7);
    // Without --show-leak-kinds=all the totals are flagged incomplete.
    let partial = xml.replace("--show-leak-kinds=all", "--leak-check=full");
    assert!(!parse(&partial, 5).unwrap().totals_complete);
}

#[test]
fn truncated_or_foreign_input_is_a_clear_error() {
    let cut = &LEAK_XML[..LEAK_XML.len() / 2];
    let e = parse(cut, 5).unwrap_err();
    assert!(e.to_string().starts_with("memcheck XML, line "), "{e}");
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(e.to_string().contains("<error>"), "{e}");
    let e = parse(&LEAK_XML[..LEAK_XML.rfind("</valgrindoutput>").unwrap()], 5).unwrap_err();
    assert!(e.to_string().contains("expected </valgrindoutput>"), "{e}");
    let massif = LEAK_XML.replace("<protocoltool>memcheck", "<protocoltool>helgrind");
    assert!(parse(&massif, 5)
        .unwrap_err()
        .to_string()
        .contains("expected <protocoltool>memcheck"));
    assert!(parse("<html></html>", 5)
        .unwrap_err()
        .to_string()
        .contains("not valgrind's XML"));
    assert!(parse("", 5)
        .unwrap_err()
        .to_string()
        .contains("empty input"));
    let e = parse(&LEAK_LOG[..LEAK_LOG.find("ERROR SUMMARY").unwrap()], 5).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    assert!(parse("just some text\n", 5)
        .unwrap_err()
        .to_string()
        .contains("no valgrind lines"));
    let damaged = LEAK_LOG.replace(
        "definitely lost: 4,096 bytes in 1 blocks",
        "definitely lost: lots",
    );
    let e = parse(&damaged, 5).unwrap_err();
    assert!(
        e.line.is_some() && e.message.contains("definitely lost"),
        "{e}"
    );
    for text in [LEAK_XML, LEAK_LOG] {
        for cut in (0..text.len())
            .step_by(331)
            .filter(|&i| text.is_char_boundary(i))
        {
            let _ = parse(&text[..cut], 5);
        }
    }
}

/// Runs memcheck for real: the deliberate leak is found, a clean run passes.
#[test]
fn real_memcheck_runs() {
    let demo = crate::runs::build::demo_for_tests();
    if Command::new("valgrind").arg("--version").output().is_err() {
        crate::runs::build::skip_unless_ci("valgrind");
        return;
    }
    let dir = std::env::temp_dir().join(format!("memcheck-real-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let base: Vec<String> = "generate --subs 2000 --days 1 --workers 2 --out /dev/null"
        .split(' ')
        .map(String::from)
        .collect();
    let run = |name: &str, extra: &[&str]| {
        let out = dir.join(name);
        let mut args = base.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        let argv = command(Path::new("valgrind"), &out, &demo, &args);
        let status = Command::new(&argv[0]).args(&argv[1..]).output().unwrap();
        assert!(
            status.status.success(),
            "{}",
            String::from_utf8_lossy(&status.stderr)
        );
        parse(&std::fs::read_to_string(&out).unwrap(), 5).unwrap()
    };
    let leaky = run("leak.xml", &["--leak-bytes", "4096"]);
    let clean = run("clean.xml", &[]);
    eprintln!(
            "memcheck: leak run definitely lost {} B in {} blocks (possibly {} B, reachable {} B); clean run definitely lost {} B",
            leaky.definitely_lost.bytes,
            leaky.definitely_lost.blocks,
            leaky.possibly_lost.bytes,
            leaky.still_reachable.bytes,
            clean.definitely_lost.bytes
        );
    assert!(leaky.definitely_lost.bytes >= 4096);
    assert!(leaky.top_leaks[0]
        .stack
        .iter()
        .any(|f| f.function == "cdr_demo::generate::leak"));
    assert_eq!(clean.definitely_lost.bytes, 0);
    std::fs::remove_dir_all(&dir).unwrap();
}
