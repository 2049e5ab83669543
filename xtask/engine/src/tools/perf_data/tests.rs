use super::*;
use std::path::{Path, PathBuf};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A stream recorded with the scheduler's tracepoint carries the tracing
/// data inline: it is stepped over, and every record after it still reads
/// (`perf script` of this file: 17 samples, 2 of them `sched_switch`, and
/// its switch records).
#[test]
fn a_stream_with_tracing_data_reads_whole() {
    let path = fixture("offcpu/pipe-with-tracepoint.perf.data");
    let mut all = Vec::new();
    let folded = fold_file(&path, FoldOptions::default(), &mut all).unwrap();
    let without = FoldOptions {
        without_tracepoints: true,
        ..FoldOptions::default()
    };
    let cpu = fold_file(&path, without, std::io::sink()).unwrap();
    assert!(folded.samples > 0 && cpu.samples > 0);
    let mut events = Vec::new();
    let unread = read_switches(&path, false, |event| events.push(event)).unwrap();
    assert_eq!(unread, 0);
    let blocks: Vec<_> = events
        .iter()
        .filter_map(|e| match e {
            crate::tools::offcpu::Event::Blocks {
                comm, state, stack, ..
            } => Some((comm.as_str(), state.as_str(), stack.first().cloned())),
            _ => None,
        })
        .collect();
    assert_eq!(
        blocks.first(),
        Some(&("sh", "D", blocks[0].2.clone())),
        "{blocks:?}"
    );
    assert!(blocks
        .iter()
        .any(|(comm, state, _)| *comm == "sleep" && *state == "R"));
    assert!(events
        .iter()
        .any(|e| matches!(e, crate::tools::offcpu::Event::Out { .. })));
    assert!(events
        .iter()
        .any(|e| matches!(e, crate::tools::offcpu::Event::In { .. })));
    // The same events in the same order as the stream without its
    // tracing data had them: time never goes back.
    let times: Vec<u64> = events
        .iter()
        .map(|e| match e {
            crate::tools::offcpu::Event::Blocks { time_ns, .. }
            | crate::tools::offcpu::Event::Out { time_ns, .. }
            | crate::tools::offcpu::Event::In { time_ns, .. } => *time_ns,
        })
        .collect();
    assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
}
