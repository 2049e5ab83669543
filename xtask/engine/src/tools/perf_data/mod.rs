//! perf's recording read in process: the records of `perf record`'s data
//! (a stream, or a perf.data file) turned into samples with their stacks,
//! user stacks unwound from perf's copies of them (`--call-graph dwarf`)
//! with the call-frame information of the files mapped in each process
//! (`xtask_profiling_dwarf::unwind`), then named (`names`) and folded
//! (`fold`) as `perf script` and its folding named and folded them, without
//! perf script's text in between.

mod fold;
mod names;
mod processes;
mod switches;

pub use fold::{fold_file, fold_recording, FoldOptions};
pub use switches::read_switches;

use linux_perf_data::linux_perf_event_reader::{
    ContextSwitchRecord, EventRecord, PerfEventType, RawData, TaskWasPreempted,
};
use processes::{Frame, Processes};
use std::io::Read;

/// A map hashed by a multiply and a rotate per word: SipHash, the default,
/// costs more than the look-ups it guards, several per frame of every
/// sample, in the engine's unoptimised build.
pub(crate) type FastMap<K, V> =
    std::collections::HashMap<K, V, std::hash::BuildHasherDefault<WordHasher>>;

#[derive(Default)]
pub(crate) struct WordHasher(u64);

impl std::hash::Hasher for WordHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the product's high bits mix all of n's.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }
}

/// One sample, its stack innermost first.
pub(crate) struct Sample<'s> {
    /// Which of the recording's events (its index among the attributes).
    pub event: usize,
    pub pid: u32,
    pub tid: u32,
    /// Of a tracepoint (the scheduler's switches).
    pub tracepoint: bool,
    pub time_ns: u64,
    /// A tracepoint's fields.
    pub raw: Option<&'s [u8]>,
    pub frames: &'s [Frame],
}

/// What a recording holds, in time order.
pub(crate) enum Item<'s> {
    Sample(Sample<'s>),
    /// A thread left its CPU (`out`, `preempted` while still runnable) or
    /// came back (`--switch-events`).
    Switch {
        tid: u32,
        time_ns: u64,
        out: bool,
        preempted: bool,
    },
}

/// What a recording says of its events.
pub(crate) struct EventInfo {
    pub name: String,
    pub is_tracepoint: bool,
}

/// The reader of a recording: `-o -`'s stream, or a perf.data file.
pub(crate) use xtask_profiling_dwarf::records::Records as Recording;

/// A recording streamed by `perf record -o -`.
pub(crate) fn stream(input: impl Read + Send + 'static) -> anyhow::Result<Recording> {
    use anyhow::Context;
    Recording::stream(Box::new(input)).context("perf's data stream does not read as a recording")
}

/// A perf.data file, written by `perf record -o FILE`, or by `-o -` and
/// kept (a stream in a file).
pub(crate) fn file(path: &std::path::Path) -> anyhow::Result<Recording> {
    use anyhow::Context;
    Recording::file(path).with_context(|| format!("{} does not read as perf data", path.display()))
}

/// Calls `each` for every sample of `recording`, with its stack; `events`
/// gets what the recording says of its events.
pub(crate) fn read_samples(
    mut recording: Recording,
    events: &mut Vec<EventInfo>,
    processes: &mut Processes,
    mut each: impl FnMut(&Processes, Item<'_>),
) -> anyhow::Result<()> {
    use anyhow::Context;
    *events = describe_events(recording.attributes());
    let mut frames = Vec::new();
    while let Some(record) = recording
        .next_record()
        .context("perf's data is cut or damaged")?
    {
        let linux_perf_data::PerfFileRecord::EventRecord { attr_index, record } = record else {
            continue;
        };
        let Ok(parsed) = record.parse() else {
            continue;
        };
        match parsed {
            EventRecord::Sample(sample) => {
                frames.clear();
                let (Some(pid), Some(tid)) = (sample.pid, sample.tid) else {
                    continue;
                };
                let (pid, tid) = (pid as u32, tid as u32);
                processes.stack_of(pid, &sample, &mut frames);
                let raw = sample.raw.as_ref().map(|r| r.as_slice());
                each(
                    processes,
                    Item::Sample(Sample {
                        event: attr_index,
                        pid,
                        tid,
                        tracepoint: events.get(attr_index).is_some_and(|e| e.is_tracepoint),
                        time_ns: sample.timestamp.unwrap_or(0),
                        raw: raw.as_deref(),
                        frames: &frames,
                    }),
                );
            }
            EventRecord::ContextSwitch(switch) => {
                if let Some(item) = switch_item(&record, switch) {
                    each(processes, item);
                }
            }
            other => track(processes, other),
        }
    }
    Ok(())
}

/// Each event's name (perf's description, else its type's name), and
/// whether it is a tracepoint.
fn describe_events(attributes: &[linux_perf_data::AttributeDescription]) -> Vec<EventInfo> {
    attributes
        .iter()
        .map(|a| EventInfo {
            name: a
                .name()
                .map(str::to_string)
                .unwrap_or_else(|| event_name(&a.attr.type_)),
            is_tracepoint: matches!(a.attr.type_, PerfEventType::Tracepoint(_)),
        })
        .collect()
}

/// A switch record as an [`Item`]: its thread and time are the record's
/// sample id.
fn switch_item(
    record: &linux_perf_data::linux_perf_event_reader::RawEventRecord<'_>,
    switch: ContextSwitchRecord,
) -> Option<Item<'static>> {
    let common = record.common_data().ok()?;
    let (tid, time_ns) = (common.tid?, common.timestamp?);
    let (out, preempted) = match switch {
        ContextSwitchRecord::In { .. } => (false, false),
        ContextSwitchRecord::Out { preempted, .. } => {
            (true, matches!(preempted, TaskWasPreempted::Yes))
        }
    };
    Some(Item::Switch {
        tid: tid as u32,
        time_ns,
        out,
        preempted,
    })
}

/// What the processes' records change: their mappings, names, forks.
fn track(processes: &mut Processes, record: EventRecord<'_>) {
    match record {
        EventRecord::Mmap2(m) => processes.map(
            m.pid as u32,
            m.address,
            m.length,
            m.page_offset,
            &bytes(&m.path),
            m.protection,
        ),
        EventRecord::Mmap(m) => processes.map(
            m.pid as u32,
            m.address,
            m.length,
            m.page_offset,
            &bytes(&m.path),
            libc::PROT_EXEC as u32,
        ),
        EventRecord::Comm(c) => {
            processes.set_comm(c.pid as u32, c.tid as u32, &bytes(&c.name), c.is_execve)
        }
        EventRecord::Fork(f) => {
            processes.fork(f.pid as u32, f.ppid as u32, f.tid as u32, f.ptid as u32)
        }
        _ => {}
    }
}

fn bytes(raw: &RawData<'_>) -> String {
    String::from_utf8_lossy(&raw.as_slice()).into_owned()
}

/// perf's name of an event it has no description of.
fn event_name(kind: &PerfEventType) -> String {
    const HARDWARE: [&str; 10] = [
        "cycles",
        "instructions",
        "cache-references",
        "cache-misses",
        "branches",
        "branch-misses",
        "bus-cycles",
        "stalled-cycles-frontend",
        "stalled-cycles-backend",
        "ref-cycles",
    ];
    const SOFTWARE: [&str; 10] = [
        "cpu-clock",
        "task-clock",
        "page-faults",
        "context-switches",
        "cpu-migrations",
        "minor-faults",
        "major-faults",
        "alignment-faults",
        "emulation-faults",
        "dummy",
    ];
    let name = match kind {
        PerfEventType::Hardware(id, _) => HARDWARE.get(*id as usize),
        PerfEventType::Software(counter) => SOFTWARE.get(*counter as usize),
        _ => None,
    };
    name.map_or_else(|| format!("{kind:?}"), |n| n.to_string())
}

#[cfg(test)]
mod tests;
