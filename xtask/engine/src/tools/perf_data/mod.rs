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
use linux_perf_data::{PerfFileReader, PerfFileRecord};
use processes::{Frame, Processes};
use std::io::Read;

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
pub(crate) type Recording<R> = PerfFileReader<R>;

/// A recording streamed by `perf record -o -`.
pub(crate) fn stream<R: Read>(
    input: R,
) -> anyhow::Result<Recording<std::io::BufReader<WithoutTracingData<R>>>> {
    use anyhow::Context;
    let input = std::io::BufReader::with_capacity(1 << 20, WithoutTracingData::new(input));
    PerfFileReader::parse_pipe(input).context("perf's data stream does not read as a recording")
}

/// A perf.data file, written by `perf record -o FILE` (`Ok(Ok(_))`), or by
/// `-o -` and kept: a stream in a file (`Ok(Err(_))`).
pub(crate) type FileRecording = Result<
    Recording<std::io::BufReader<std::fs::File>>,
    Recording<std::io::BufReader<WithoutTracingData<std::fs::File>>>,
>;

pub(crate) fn file(path: &std::path::Path) -> anyhow::Result<FileRecording> {
    use anyhow::Context;
    let open =
        || std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()));
    let mut head = [0u8; 16];
    open()?
        .read_exact(&mut head)
        .with_context(|| format!("{} is too short for perf data", path.display()))?;
    // A stream's header is 16 bytes long; a file's says where its sections are.
    if u64::from_ne_bytes(head[8..16].try_into().expect("8 bytes")) == 16 {
        return stream(open()?).map(Err);
    }
    let input = std::io::BufReader::with_capacity(1 << 20, open()?);
    PerfFileReader::parse_file(input)
        .map(Ok)
        .with_context(|| format!("{} does not read as perf data", path.display()))
}

/// Calls `each` for every sample of `recording`, with its stack; `events`
/// gets what the recording says of its events.
pub(crate) fn read_samples<R: Read>(
    recording: Recording<R>,
    events: &mut Vec<EventInfo>,
    processes: &mut Processes,
    mut each: impl FnMut(&Processes, Item<'_>),
) -> anyhow::Result<()> {
    use anyhow::Context;
    let PerfFileReader {
        mut perf_file,
        mut record_iter,
    } = recording;
    *events = describe_events(&perf_file);
    let mut frames = Vec::new();
    while let Some(record) = record_iter
        .next_record(&mut perf_file)
        .context("perf's data is cut or damaged")?
    {
        let PerfFileRecord::EventRecord { attr_index, record } = record else {
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
fn describe_events(perf_file: &linux_perf_data::PerfFile) -> Vec<EventInfo> {
    perf_file
        .event_attributes()
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

/// perf's stream without the tracepoints' formats (`--off-cpu`): their
/// record's size covers only its own header and a length, and that many
/// bytes follow it, which a reader of records would take for records.
pub(crate) struct WithoutTracingData<R> {
    inner: R,
    /// The file header, then each record's opening 12 bytes, as they pass.
    head: Vec<u8>,
    started: bool,
    /// Bytes of the current record still to pass on.
    pass: u64,
    /// Bytes of tracing data still to drop.
    drop: u64,
    input: Vec<u8>,
    output: Vec<u8>,
    position: usize,
}

/// `PERF_RECORD_HEADER_TRACING_DATA`.
const TRACING_DATA: u32 = 66;

impl<R: Read> WithoutTracingData<R> {
    pub fn new(inner: R) -> WithoutTracingData<R> {
        WithoutTracingData {
            inner,
            head: Vec::new(),
            started: false,
            pass: 0,
            drop: 0,
            input: vec![0; 1 << 16],
            output: Vec::new(),
            position: 0,
        }
    }

    /// Takes `data` in, appending to `out` what passes.
    fn filter(&mut self, mut data: &[u8], out: &mut Vec<u8>) {
        while !data.is_empty() {
            if self.drop > 0 || self.pass > 0 {
                let n = self.drop.max(self.pass).min(data.len() as u64) as usize;
                if self.drop > 0 {
                    self.drop -= n as u64;
                } else {
                    out.extend_from_slice(&data[..n]);
                    self.pass -= n as u64;
                }
                data = &data[n..];
                continue;
            }
            let wanted = if self.started { 12 } else { 16 };
            let n = (wanted - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..n]);
            data = &data[n..];
            if self.head.len() == wanted {
                self.close_head(out);
            }
        }
    }

    fn close_head(&mut self, out: &mut Vec<u8>) {
        if !self.started {
            self.started = true;
            out.extend_from_slice(&self.head);
        } else {
            let kind = u32::from_ne_bytes(self.head[..4].try_into().expect("4 bytes"));
            let size = u64::from(u16::from_ne_bytes([self.head[6], self.head[7]]));
            if kind == TRACING_DATA {
                let length = u32::from_ne_bytes(self.head[8..12].try_into().expect("4 bytes"));
                self.drop = size.saturating_sub(12) + u64::from(length);
            } else {
                // A record shorter than 12 bytes (8 at least) passes whole.
                out.extend_from_slice(&self.head);
                self.pass = size.max(8).saturating_sub(12);
                if size < 12 {
                    // Its last bytes were the next record's opening ones.
                    let extra = (12 - size.max(8)) as usize;
                    let next = out.split_off(out.len() - extra);
                    self.head = next;
                    return;
                }
            }
        }
        self.head.clear();
    }
}

impl<R: Read> Read for WithoutTracingData<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        while self.position == self.output.len() {
            self.output.clear();
            self.position = 0;
            let n = self.inner.read(&mut self.input)?;
            if n == 0 && self.head.is_empty() {
                return Ok(0);
            }
            if n == 0 {
                // The stream ended within 12 bytes of a record's start: a
                // last short record (or a cut one) passes as it is.
                self.output = std::mem::take(&mut self.head);
                continue;
            }
            let input = std::mem::take(&mut self.input);
            let mut output = std::mem::take(&mut self.output);
            self.filter(&input[..n], &mut output);
            self.input = input;
            self.output = output;
        }
        let n = buffer.len().min(self.output.len() - self.position);
        buffer[..n].copy_from_slice(&self.output[self.position..self.position + n]);
        self.position += n;
        Ok(n)
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
