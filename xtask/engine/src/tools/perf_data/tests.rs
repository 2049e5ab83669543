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

/// The filter drops exactly the tracing data, however the stream is cut
/// into reads.
#[test]
fn the_tracing_data_goes_whatever_the_reads() {
    let mut stream = Vec::new();
    stream.extend_from_slice(b"PERFILE2");
    stream.extend_from_slice(&16u64.to_ne_bytes());
    // A record of 16 bytes, the tracing data's (12 bytes and 5 of data,
    // padded to 16 by perf's size), and a record of 8.
    let record = |kind: u32, size: u16, body: &[u8]| {
        let mut r = kind.to_ne_bytes().to_vec();
        r.extend_from_slice(&0u16.to_ne_bytes());
        r.extend_from_slice(&size.to_ne_bytes());
        r.extend_from_slice(body);
        r
    };
    let first = record(9, 16, &[1; 8]);
    let tracing = record(66, 16, &[5, 0, 0, 0, 0, 0, 0, 0]);
    let last = record(68, 8, &[]);
    stream.extend_from_slice(&first);
    stream.extend_from_slice(&tracing);
    stream.extend_from_slice(&[7; 5]);
    stream.extend_from_slice(&last);
    let mut expected = stream[..16].to_vec();
    expected.extend_from_slice(&first);
    expected.extend_from_slice(&last);
    for chunk in [1, 3, 7, 64] {
        let reader = Chunks(&stream, chunk);
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut WithoutTracingData::new(reader), &mut out).unwrap();
        assert_eq!(out, expected, "reads of {chunk}");
    }
}

struct Chunks<'a>(&'a [u8], usize);

impl std::io::Read for Chunks<'_> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let n = self.1.min(buffer.len()).min(self.0.len());
        buffer[..n].copy_from_slice(&self.0[..n]);
        self.0 = &self.0[n..];
        Ok(n)
    }
}
