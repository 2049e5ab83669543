//! Linux `perf`: the record command lines, the counting of records in its
//! data, and the parsing of what perf prints about its own run. Its data is
//! read and folded in process (`perf_data`).

use crate::config::CallGraph;
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// perf's sampling settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    pub frequency: u32,
    pub call_graph: CallGraph,
    /// Inline frames added in process from the DWARF (`perf_data`).
    pub inline_frames: bool,
    /// Kernel frames sampled too; otherwise `--all-user`.
    pub kernel_frames: bool,
    /// perf's ring buffer per CPU, in pages (`--mmap-pages`); perf's default without.
    pub mmap_pages: Option<u32>,
}

/// run.json's `symbolizer` when inline frames are read (`perf_data`).
pub const IN_PROCESS_INLINE: &str = "perf's data read in process (linux-perf-data), user stacks \
     unwound with framehop, inline frames from DWARF (addr2line crate, gimli)";

/// `perf record` of a program we start.
pub fn record_args(
    settings: &Settings,
    data: &Path,
    program: &Path,
    args: &[OsString],
) -> Vec<OsString> {
    let mut argv = record_common(settings, data);
    argv.push("--".into());
    argv.push(program.into());
    argv.extend(args.iter().cloned());
    argv
}

/// Linux's `CAP_SYSLOG`.
const CAP_SYSLOG: u32 = 34;

/// The capabilities a `perf record` argv runs without: `CAP_SYSLOG` when
/// it records user space only (`--all-user`). perf run as root with it
/// reads the whole of /proc/kallsyms three times before it starts the
/// workload, for kernel symbols a user-space profile never has: megabytes of
/// text the kernel generates at each read, system time that the profiled
/// run's wall time pays. Without it, perf takes the
/// kernel's addresses as restricted and skips them. Sampling the kernel, or
/// its tracepoints (the off-CPU switches), perf needs them, and warns.
pub fn record_drops_capabilities(record_argv: &[OsString]) -> &'static [u32] {
    // perf's own options only: the workload's come after `--`.
    let mut perf_options = record_argv.iter().take_while(|a| *a != "--");
    if perf_options.any(|a| a == "--all-user") {
        &[CAP_SYSLOG]
    } else {
        &[]
    }
}

/// `perf record` attached to a running process (a server under load).
pub fn attach_args(settings: &Settings, data: &Path, pid: u32) -> Vec<OsString> {
    let mut argv = record_common(settings, data);
    argv.push("--pid".into());
    argv.push(pid.to_string().into());
    argv
}

/// Start with events off (`--delay=-1`) and take `enable` from a control
/// FIFO, acknowledging on another (perf 5.10+).
pub fn control_args(ctl: &Path, ack: &Path) -> Vec<OsString> {
    let mut control = OsString::from("fifo:");
    control.push(ctl);
    control.push(",");
    control.push(ack);
    vec!["--delay=-1".into(), "--control".into(), control]
}

fn record_common(settings: &Settings, data: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        "record".into(),
        "--freq".into(),
        settings.frequency.to_string().into(),
        "--call-graph".into(),
        // 16 KiB of stack per sample: deep enough for Rust's long generic stacks.
        match settings.call_graph {
            CallGraph::Dwarf => format!("dwarf,{DWARF_STACK_BYTES}").into(),
            other => other.as_str().into(),
        },
        // perf 6.1 otherwise spends ~1 s at exit synthesizing BPF events.
        "--no-bpf-event".into(),
        "--output".into(),
        data.into(),
    ];
    if let Some(pages) = settings.mmap_pages {
        argv.push("--mmap-pages".into());
        argv.push(pages.to_string().into());
    }
    if !settings.kernel_frames {
        argv.push("--all-user".into());
    }
    // Not `--quiet`: its stderr summary (samples, lost chunks) goes into the report.
    argv
}

/// What the folding of a profile gave: its samples, and where each was taken.
#[derive(Debug, Default)]
pub struct Folded {
    pub samples: u64,
    pub leaves: super::leaves::LeafSamples,
    /// The DWARF the inline frames read (none without them), for the
    /// annotations' source lines.
    pub binaries: super::dwarf::Binaries,
}

/// What perf recorded: its own summary line, and the records counted in its
/// data stream; stored as is in run.json's `cpu_profile.record` (empty for
/// the other samplers).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct RecordSummary {
    /// Samples perf recorded (counted in the data stream, or from perf's
    /// "Captured and wrote" line when it wrote a file).
    pub samples: Option<u64>,
    pub data_mb: Option<f64>,
    /// Samples the kernel dropped because perf's ring buffer was full
    /// (`PERF_RECORD_LOST` and `PERF_RECORD_LOST_SAMPLES`); `None` where not counted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lost_samples: Option<u64>,
    /// "lost N chunks" / "Lost N events" warnings, verbatim.
    pub warnings: Vec<String>,
}

/// The starts of the stderr lines perf record writes about its own run:
/// watching them keeps every such line (the stderr tail would hold them again).
pub const STDERR_WATCH: &[&str] = &["[ perf record:", "Processed ", "Check IO/CPU overload"];

impl RecordSummary {
    /// Takes the samples and losses counted in perf's data.
    pub fn absorb_count(&mut self, counted: &StreamCounter) {
        if counted.error.is_none() {
            self.samples = Some(counted.samples);
            self.lost_samples = Some(counted.lost());
        }
    }
}

/// Reads `[ perf record: Captured and wrote 3.512 MB perf.data (431 samples) ]`
/// and the lost-events warnings from perf's stderr.
pub fn parse_record_stderr<'a>(lines: impl IntoIterator<Item = &'a str>) -> RecordSummary {
    let mut summary = RecordSummary::default();
    for line in lines {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("[ perf record: Captured and wrote ") {
            summary.data_mb = rest.split_whitespace().next().and_then(|v| v.parse().ok());
            summary.samples = rest
                .rsplit_once('(')
                .and_then(|(_, r)| r.split_whitespace().next())
                .and_then(|v| v.parse().ok());
        } else if is_loss_warning(line) {
            summary.warnings.push(line.to_string());
        }
    }
    summary
}

/// perf's ways of saying samples were dropped, and only those: a profiled
/// workload's output shares perf's stderr, and its own lines about "lost
/// events" are not perf's.
pub fn is_loss_warning(line: &str) -> bool {
    let line = line.trim();
    let processed = |rest: &str| {
        let mut words = rest.split_whitespace();
        words.next().is_some_and(|n| n.parse::<u64>().is_ok())
            && matches!(words.next(), Some("events" | "samples"))
            && words.next() == Some("and")
            && words.next() == Some("lost")
    };
    line.strip_prefix("Processed ").is_some_and(processed)
        || line
            .strip_prefix("Warning: Processed ")
            .is_some_and(processed)
        || line == "Check IO/CPU overload!"
}

/// How many pages of ring buffer per CPU perf gets (`--mmap-pages`): enough
/// for about half a second of samples, so that perf record can fall behind
/// for that long (two busy cores, a burst of page faults) without the kernel
/// dropping samples. perf's default (512 KiB) holds about 30 dwarf samples of
/// 16 KiB: 30 ms at 997 Hz.
#[derive(Debug, Clone, PartialEq)]
pub struct RingBuffer {
    pub pages: u32,
    /// Set when the locked-memory limit allows less than wanted: said when
    /// the profile lost samples.
    pub note: Option<String>,
}

/// The locked memory perf's buffers may take, as the kernel counts it
/// (kernel/events/core.c, perf_mmap): unlimited with CAP_IPC_LOCK (root) or
/// `perf_event_paranoid` -1; otherwise `perf_event_mlock_kb` per CPU for
/// the user, then the RLIMIT_MEMLOCK of the process
/// ([`unprivileged_lock_bytes`]).
#[derive(Debug, Clone, PartialEq)]
pub struct LockLimit {
    /// Bytes all CPUs' buffers may lock together; `None`: unlimited.
    pub bytes: Option<u64>,
    pub cpus: u32,
    /// How the limit reads, for the note: "kernel.perf_event_mlock_kb = 516, ulimit -l = 8192".
    pub source: String,
}

impl LockLimit {
    pub fn detect() -> LockLimit {
        let read = |path: &str| {
            std::fs::read_to_string(path)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
        };
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get() as u32);
        let cpus = online_cpus().unwrap_or(cpus);
        let root = nix::unistd::geteuid().is_root();
        let paranoid = read("/proc/sys/kernel/perf_event_paranoid").unwrap_or(2);
        let mlock_kb = read("/proc/sys/kernel/perf_event_mlock_kb")
            .unwrap_or(516)
            .max(0) as u64;
        let memlock = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_MEMLOCK)
            .map_or(0, |(soft, _)| soft);
        let unlimited = root || paranoid < 0 || memlock == libc::RLIM_INFINITY;
        LockLimit {
            bytes: (!unlimited).then(|| unprivileged_lock_bytes(mlock_kb, cpus, memlock)),
            cpus,
            source: format!(
                "kernel.perf_event_mlock_kb = {mlock_kb}, ulimit -l = {}",
                memlock / 1024
            ),
        }
    }
}

/// What one perf of a user who is not root may lock, whatever else that
/// user runs: the user's allowance (`perf_event_mlock_kb` per CPU) is one
/// for all of their perfs at once, and a perf that finds it taken by
/// another (two profiles in parallel) may lock only its own RLIMIT_MEMLOCK;
/// sized for the sum, the second perf fails with "Permission error mapping
/// pages". The larger of the two fits either way: alone, in the allowance
/// (perf's own default buffer is sized for it), or in the limit.
pub fn unprivileged_lock_bytes(mlock_kb: u64, cpus: u32, memlock: u64) -> u64 {
    (mlock_kb * 1024 * cpus as u64).max(memlock)
}

/// CPUs perf opens buffers on (`/sys/devices/system/cpu/online`, "0-1,4").
fn online_cpus() -> Option<u32> {
    let text = std::fs::read_to_string("/sys/devices/system/cpu/online").ok()?;
    let mut count = 0;
    for range in text.trim().split(',') {
        let (a, b) = range.split_once('-').unwrap_or((range, range));
        count += b.parse::<u32>().ok()? - a.parse::<u32>().ok()? + 1;
    }
    Some(count)
}

const PAGE: u64 = 4096;
/// perf's own default: 512 KiB.
const DEFAULT_PAGES: u32 = 128;
/// No more than this per CPU, and no more than [`MAX_TOTAL`] in all.
const MAX_PAGES: u32 = 8192;
const MAX_TOTAL: u64 = 256 << 20;

/// The ring buffer for `frequency` samples a second of the given call-graph
/// mode, within `limit`.
pub fn ring_buffer(frequency: u32, call_graph: CallGraph, limit: &LockLimit) -> RingBuffer {
    // A sample: header, ip, tid, time, period (~100 B), the callchain or the
    // registers, and for dwarf the copied stack.
    let sample_bytes: u64 = match call_graph {
        CallGraph::Dwarf => DWARF_STACK_BYTES as u64 + 512,
        CallGraph::Fp | CallGraph::Lbr => 1200,
    };
    let wanted = (frequency as u64 * sample_bytes / 2).div_ceil(PAGE);
    let cap = (MAX_TOTAL / PAGE / limit.cpus.max(1) as u64).min(MAX_PAGES as u64);
    let wanted = floor_pow2(wanted.clamp(DEFAULT_PAGES as u64, cap.max(DEFAULT_PAGES as u64)));
    let Some(bytes) = limit.bytes else {
        return RingBuffer {
            pages: wanted as u32,
            note: None,
        };
    };
    // One control page per buffer comes on top of its data pages.
    let allowed = (bytes / PAGE / limit.cpus.max(1) as u64).saturating_sub(1);
    if allowed >= wanted {
        return RingBuffer {
            pages: wanted as u32,
            note: None,
        };
    }
    let pages = floor_pow2(allowed.max(1));
    RingBuffer {
        pages: pages as u32,
        note: Some(format!(
            "perf's ring buffer was {} KiB per CPU, not the {} KiB wanted at {frequency} Hz, \
             because of the locked-memory limit ({}), and a smaller buffer overflows sooner. \
             Raise the limit with `sudo sysctl kernel.perf_event_mlock_kb={}`, or lower --freq",
            pages * PAGE / 1024,
            wanted * PAGE / 1024,
            limit.source,
            (wanted + 1) * PAGE / 1024,
        )),
    }
}

fn floor_pow2(n: u64) -> u64 {
    if n == 0 {
        0
    } else {
        1 << (63 - n.leading_zeros())
    }
}

/// Stack bytes copied per sample with `--call-graph dwarf`.
const DWARF_STACK_BYTES: u32 = 16384;

/// Counts the records of a `perf record -o -` stream as it passes by, to say
/// how many samples perf recorded and how many the kernel dropped. The pipe
/// format (tools/perf/Documentation/perf.data-file-format.txt): a 16-byte
/// header (`PERFILE2`, its size), then records, each opening with
/// `struct perf_event_header { u32 type; u16 misc; u16 size; }`, in the
/// recording machine's byte order (ours: perf runs here).
#[derive(Debug, Default)]
pub struct StreamCounter {
    /// The opening bytes of the current record (or of the file header).
    head: Vec<u8>,
    /// Bytes of the current record still to pass over.
    skip: u64,
    started: bool,
    pub samples: u64,
    /// Records the kernel dropped, from `PERF_RECORD_LOST` (any kind of
    /// record, reported whenever the ring buffer had room again).
    lost_records: u64,
    /// Samples the kernel dropped, from the `PERF_RECORD_LOST_SAMPLES` that
    /// perf 6.0+ writes at the end from each event's own count.
    lost_samples: u64,
    /// The recording's events, with their samples and losses each.
    pub events: super::perf_events::Events,
    /// Set when the stream is not what it should be; counting stops.
    pub error: Option<String>,
}

const RECORD_LOST: u32 = 2;
const RECORD_SAMPLE: u32 = 9;
const RECORD_LOST_SAMPLES: u32 = 13;
/// An event's attribute and ids, in a stream (a file has them in its header).
const RECORD_HEADER_ATTR: u32 = 64;
/// Tracepoints' formats (`--off-cpu`): `header.size` covers the header and a
/// u32 size only; that many bytes of tracing data follow the record.
const RECORD_HEADER_TRACING_DATA: u32 = 66;

impl StreamCounter {
    /// Samples the kernel dropped. Both kinds of record report the same
    /// losses where both exist (the per-event count is the complete one);
    /// older perf writes only `PERF_RECORD_LOST`.
    pub fn lost(&self) -> u64 {
        self.lost_samples.max(self.lost_records)
    }

    /// Takes the next bytes of the stream, in any chunking.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() && self.error.is_none() {
            if self.skip > 0 {
                let n = self.skip.min(data.len() as u64);
                self.skip -= n;
                data = &data[n as usize..];
                continue;
            }
            let wanted = self.head_wanted();
            let take = (wanted - self.head.len()).min(data.len());
            self.head.extend_from_slice(&data[..take]);
            data = &data[take..];
            if self.head.len() == wanted && self.head_wanted() == wanted {
                self.finish_head();
            }
        }
    }

    /// How many opening bytes of the current record are needed.
    fn head_wanted(&self) -> usize {
        if !self.started {
            return 16;
        }
        if self.head.len() < 8 {
            return 8;
        }
        let size = u16::from_ne_bytes([self.head[6], self.head[7]]) as usize;
        let needed = match u32::from_ne_bytes(self.head[..4].try_into().unwrap()) {
            // header, u64 id, u64 lost
            RECORD_LOST => 24,
            // header, u64 id (when samples are identified)
            RECORD_SAMPLE if self.events.identified() => 16,
            // header, u64 lost, and the event's id at the end
            RECORD_LOST_SAMPLES => size,
            RECORD_HEADER_ATTR => size,
            // header, u32 size of the data after the record
            RECORD_HEADER_TRACING_DATA => 12,
            _ => 8,
        };
        needed.min(size.max(8))
    }

    fn finish_head(&mut self) {
        let u64_at =
            |head: &[u8], at: usize| u64::from_ne_bytes(head[at..at + 8].try_into().unwrap());
        if !self.started {
            if &self.head[..8] != b"PERFILE2" {
                self.error = Some("the perf data stream does not start with PERFILE2".into());
                return;
            }
            self.skip = u64_at(&self.head, 8).saturating_sub(16);
            self.started = true;
        } else {
            let kind = u32::from_ne_bytes(self.head[..4].try_into().unwrap());
            let size = u16::from_ne_bytes([self.head[6], self.head[7]]) as u64;
            if size < 8 {
                self.error = Some(format!("a perf record of size {size} in the data stream"));
                return;
            }
            let identified = self.events.identified();
            let whole = self.head.len() as u64 == size;
            match kind {
                RECORD_SAMPLE => {
                    self.samples += 1;
                    if identified && self.head.len() >= 16 {
                        self.events.sample(u64_at(&self.head, 8));
                    }
                }
                RECORD_LOST if self.head.len() >= 24 => self.lost_records += u64_at(&self.head, 16),
                RECORD_LOST_SAMPLES if self.head.len() >= 16 => {
                    let lost = u64_at(&self.head, 8);
                    self.lost_samples += lost;
                    if identified && whole && size >= 24 {
                        let id = u64_at(&self.head, size as usize - 8);
                        self.events.lost(id, lost);
                    }
                }
                RECORD_HEADER_ATTR if whole => {
                    if let Err(error) = self.events.add_header_attr(&self.head) {
                        self.error = Some(error);
                        return;
                    }
                }
                _ => {}
            }
            self.skip = size.saturating_sub(self.head.len() as u64);
            if kind == RECORD_HEADER_TRACING_DATA && self.head.len() >= 12 {
                self.skip += u64::from(u32::from_ne_bytes(self.head[8..12].try_into().unwrap()));
            }
        }
        self.head.clear();
    }
}

/// Counts the records of a perf.data file, written by `perf record -o FILE`
/// (its data section, located by the file header) or by `-o -` (a stream).
pub fn count_records(path: &Path) -> std::io::Result<StreamCounter> {
    count_records_in(std::fs::File::open(path)?)
}

/// [`count_records`] of an open perf.data file (or anything seekable).
pub fn count_records_in(
    mut file: impl Read + std::io::Seek + 'static,
) -> std::io::Result<StreamCounter> {
    use std::io::SeekFrom;
    let mut header = [0u8; 56];
    let read = file.read(&mut header)?;
    let u64_at = |at: usize| u64::from_ne_bytes(header[at..at + 8].try_into().unwrap());
    let mut counter = StreamCounter::default();
    let data: Box<dyn Read> = if read >= 56 && &header[..8] == b"PERFILE2" && u64_at(8) > 16 {
        // struct perf_file_header: magic, size, attr_size, attrs {offset,
        // size}, data {offset, size}, ...
        let (offset, size) = (u64_at(40), u64_at(48));
        let attrs = (u64_at(16), u64_at(24), u64_at(32));
        if let Err(error) = read_file_attrs(&mut file, attrs, &mut counter.events) {
            counter.error = Some(error);
            return Ok(counter);
        }
        counter.started = true;
        file.seek(SeekFrom::Start(offset))?;
        Box::new(file.take(size))
    } else {
        file.seek(SeekFrom::Start(0))?;
        Box::new(file)
    };
    let mut data = BufReader::with_capacity(1 << 20, data);
    loop {
        let chunk = data.fill_buf()?;
        if chunk.is_empty() {
            break;
        }
        let n = chunk.len();
        counter.feed(chunk);
        data.consume(n);
    }
    Ok(counter)
}

/// The events of a perf.data file: its header's attrs section, each entry
/// a `perf_event_attr` and the file section of its ids.
fn read_file_attrs(
    file: &mut (impl Read + std::io::Seek),
    (entry_size, offset, size): (u64, u64, u64),
    events: &mut super::perf_events::Events,
) -> Result<(), String> {
    use std::io::SeekFrom;
    // A few events, each well under a KB: anything else is not perf's header.
    if !(48..=4096).contains(&entry_size) || size > 1 << 20 || size % entry_size != 0 {
        return Err(format!(
            "the perf data's attributes ({size} bytes of {entry_size}) do not read as perf's"
        ));
    }
    let unreadable = |e: std::io::Error| format!("the perf data's attributes cannot be read: {e}");
    let mut attrs = vec![0u8; size as usize];
    file.seek(SeekFrom::Start(offset)).map_err(unreadable)?;
    file.read_exact(&mut attrs).map_err(unreadable)?;
    for entry in attrs.chunks_exact(entry_size as usize) {
        let (attr, section) = entry.split_at(entry.len() - 16);
        let at = |i: usize| u64::from_ne_bytes(section[i..i + 8].try_into().expect("8 bytes"));
        let mut ids = vec![0u8; (at(8) as usize).min(1 << 19) / 8 * 8];
        file.seek(SeekFrom::Start(at(0))).map_err(unreadable)?;
        file.read_exact(&mut ids).map_err(unreadable)?;
        let ids = ids
            .chunks_exact(8)
            .map(|b| u64::from_ne_bytes(b.try_into().expect("8 bytes")));
        events.add(attr, ids)?;
    }
    Ok(())
}

/// Frames a complete stack starts from: the program's entry and a thread's.
const ENTRY_POINTS: &[&str] = &[
    "_start",
    "__libc_start_main",
    "__libc_start_main_impl",
    "__libc_start_call_main",
    "start_thread",
    "clone",
    "clone3",
    "__clone",
    "__clone3",
    "thread_start",
    "_dl_start",
    "_dl_start_user",
    // Go: every goroutine starts on `runtime.goexit` (its return address
    // is planted there), an OS thread's own stack at `runtime.mstart`, the
    // process at `runtime.rt0_go`; assembly functions carry `.abi0`.
    "runtime.goexit",
    "runtime.goexit.abi0",
    "runtime.mstart",
    "runtime.mstart.abi0",
    "runtime.rt0_go",
    "runtime.rt0_go.abi0",
];

/// The share (0–1) of folded samples whose stack unwound all the way to an
/// entry point. Folded lines read `comm;root;...;leaf COUNT`; a stack cut
/// short (unwinding failed) starts at some inner frame instead.
pub fn complete_stack_share(folded: &str) -> Option<f64> {
    let (mut all, mut complete) = (0u64, 0u64);
    for line in folded.lines() {
        let Some((stack, count)) = line.rsplit_once(' ') else {
            continue;
        };
        let count: u64 = count.parse().unwrap_or(0);
        all += count;
        if stack_is_complete(stack) {
            complete += count;
        }
    }
    (all > 0).then(|| complete as f64 / all as f64)
}

/// Whether a folded stack, `comm;root;...;leaf`, unwound to an entry point.
pub fn stack_is_complete(stack: &str) -> bool {
    // A versioned symbol (`__libc_start_main@@GLIBC_2.34`) is still the
    // entry; a stripped program's `_start` has no name (`[gzip]`), so
    // below an unnamed root the next frame may be the entry.
    let is_entry = |frame: &str| ENTRY_POINTS.contains(&frame.split('@').next().unwrap_or(frame));
    let mut frames = stack.split(';').skip(1);
    let root = frames.next().unwrap_or("");
    is_entry(root) || (root.starts_with('[') && frames.next().is_some_and(is_entry))
}

/// Whether hardware events count here (`perf stat -e instructions true`);
/// many VMs only have software events.
pub fn hardware_counters_work(perf: &Path) -> bool {
    match super::probe(perf, &["stat", "-x,", "-e", "instructions", "true"]) {
        Some(output) => parse_stat_supported(&String::from_utf8_lossy(&output.stderr)),
        None => false,
    }
}

/// `perf stat -x,` prints `<not supported>,,instructions,...` when the event
/// cannot be counted.
pub fn parse_stat_supported(stderr: &str) -> bool {
    stderr
        .lines()
        .find(|l| l.contains("instructions"))
        .is_some_and(|l| !l.contains("<not supported>") && !l.contains("<not counted>"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_command_line() {
        let settings = Settings {
            frequency: 997,
            call_graph: CallGraph::Dwarf,
            inline_frames: true,
            kernel_frames: true,
            mmap_pages: None,
        };
        let argv = record_args(
            &settings,
            Path::new("out/perf.data"),
            Path::new("/bin/demo"),
            &["--subs".into(), "5".into()],
        );
        let words: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words.join(" "),
            "record --freq 997 --call-graph dwarf,16384 --no-bpf-event --output out/perf.data -- /bin/demo --subs 5"
        );
        let fp = Settings {
            call_graph: CallGraph::Fp,
            inline_frames: false,
            kernel_frames: false,
            ..settings
        };
        assert!(record_args(&fp, Path::new("p"), Path::new("/bin/x"), &[])
            .contains(&"--all-user".into()));
        assert!(attach_args(&fp, Path::new("p"), 42).ends_with(&["--pid".into(), "42".into()]));
    }

    #[test]
    fn reads_the_record_summary_and_losses() {
        let stderr = "[ perf record: Woken up 3 times to write data ]\n\
                      Processed 1203 events and lost 4 chunks!\n\
                      Check IO/CPU overload!\n\
                      [ perf record: Captured and wrote 12.345 MB out/perf.data (1290 samples) ]\n";
        let summary = parse_record_stderr(stderr.lines());
        assert_eq!(summary.samples, Some(1290));
        assert_eq!(summary.data_mb, Some(12.345));
        assert_eq!(summary.warnings.len(), 2);
    }

    /// A real `perf record -o -` stream that lost samples (a one-page ring
    /// buffer at 20 kHz behind a slow reader). `perf report --stats` on it:
    /// 19 SAMPLE events; `perf report -D`: PERF_RECORD_LOST 61 in all,
    /// PERF_RECORD_LOST_SAMPLES 801 + 2.
    #[test]
    fn counts_samples_and_losses_in_a_real_stream_in_any_chunking() {
        let data = std::fs::read(fixture("lossy-pipe.perf.data")).unwrap();
        for chunk in [1, 7, 8, 13, 4096, data.len()] {
            let mut counter = StreamCounter::default();
            for piece in data.chunks(chunk) {
                counter.feed(piece);
            }
            assert_eq!(counter.error, None, "chunks of {chunk}");
            assert_eq!(counter.samples, 19, "chunks of {chunk}");
            assert_eq!(counter.lost_records, 61, "chunks of {chunk}");
            assert_eq!(counter.lost(), 803, "chunks of {chunk}");
        }
        let mut summary = RecordSummary::default();
        summary.absorb_count(&count_records(&fixture("lossy-pipe.perf.data")).unwrap());
        assert_eq!(
            (summary.samples, summary.lost_samples),
            (Some(19), Some(803))
        );
    }

    /// A real `perf record -o FILE` recording: its data section is found
    /// through the file header. perf said "(90 samples)"; nothing lost.
    #[test]
    fn counts_the_records_of_a_perf_data_file() {
        let counter = count_records(&fixture("fp-file.perf.data")).unwrap();
        assert_eq!(counter.error, None);
        assert_eq!((counter.samples, counter.lost()), (90, 0));
    }

    #[test]
    fn a_stream_that_is_not_perf_data_is_an_error_not_a_count() {
        let mut counter = StreamCounter::default();
        counter.feed(b"this is not a perf data stream at all");
        assert!(counter.error.is_some());
        let mut summary = RecordSummary::default();
        summary.absorb_count(&counter);
        assert_eq!(summary.samples, None, "no count is better than a wrong one");
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/perf")
            .join(name)
    }

    #[test]
    fn ring_buffer_holds_half_a_second_within_the_lock_limit() {
        let unlimited = LockLimit {
            bytes: None,
            cpus: 2,
            source: String::new(),
        };
        // 997 Hz × ~16.9 KB / 2 = 8.2 MB: 2048 pages (8 MiB), a power of two.
        let ring = ring_buffer(997, CallGraph::Dwarf, &unlimited);
        assert_eq!(
            ring,
            RingBuffer {
                pages: 2048,
                note: None
            }
        );
        // Frame pointers: small samples, perf's default is enough.
        assert_eq!(ring_buffer(997, CallGraph::Fp, &unlimited).pages, 128);
        // Capped per CPU, and in all on a many-core machine.
        assert_eq!(ring_buffer(20000, CallGraph::Dwarf, &unlimited).pages, 8192);
        let many = LockLimit {
            cpus: 64,
            ..unlimited
        };
        assert_eq!(ring_buffer(20000, CallGraph::Dwarf, &many).pages, 1024);
        // An unprivileged user: 516 KiB per CPU, ulimit -l 8 MiB, 2 CPUs:
        // 8 MiB, whether another perf of theirs holds the allowance or not,
        // / 2 / 4 KiB = 1024 pages less the control page, 512 as a power of
        // two; and the note says how to raise it.
        let bytes = unprivileged_lock_bytes(516, 2, 8192 * 1024);
        assert_eq!(bytes, 8192 * 1024);
        let user = LockLimit {
            bytes: Some(bytes),
            cpus: 2,
            source: "kernel.perf_event_mlock_kb = 516, ulimit -l = 8192".into(),
        };
        let ring = ring_buffer(997, CallGraph::Dwarf, &user);
        assert_eq!(ring.pages, 512);
        let note = ring.note.unwrap();
        assert!(
            note.contains("2048 KiB per CPU, not the 8192 KiB"),
            "{note}"
        );
        // A small ulimit -l: the allowance alone, perf's default buffer.
        let small = unprivileged_lock_bytes(516, 2, 64 * 1024);
        let ring = ring_buffer(
            997,
            CallGraph::Dwarf,
            &LockLimit {
                bytes: Some(small),
                ..user
            },
        );
        assert_eq!(ring.pages, 128);
        assert!(
            note.contains("sysctl kernel.perf_event_mlock_kb="),
            "{note}"
        );
    }

    #[test]
    fn complete_stacks_are_those_that_reach_an_entry_point() {
        let folded = "cdr-demo;_start;main;work 90\n\
                      cdr-demo;start_thread;worker 6\n\
                      cdr-demo;malloc 3\n\
                      cdr-demo;[unknown];cos 1\n";
        assert_eq!(complete_stack_share(folded), Some(0.96));
        // A stripped program's stacks, as perf names its glibc frames.
        // A stripped program as perf shows it: `_start` unnamed, glibc's
        // frames with their symbol versions.
        let stripped =
            "gzip;[gzip];__libc_start_main@@GLIBC_2.34;__libc_start_call_main;[gzip] 868\n\
                        gzip;[gzip];[gzip] 2\n";
        assert_eq!(complete_stack_share(stripped), Some(868.0 / 870.0));
        // A Go server: goroutines and its threads' own stacks.
        let go = "srv;runtime.goexit.abi0;net/http.(*conn).serve;main.handler 8
                  srv;runtime.mstart.abi0;runtime.mstart0;runtime.schedule 2
";
        assert_eq!(complete_stack_share(go), Some(1.0));
        assert_eq!(complete_stack_share(""), None);
    }

    #[test]
    fn only_perf_own_lines_are_loss_warnings() {
        for perf_line in [
            "Processed 1360 events and lost 2 chunks!",
            "Check IO/CPU overload!",
            "Processed 1395 samples and lost 18.57%!",
            "Warning: Processed 1395 samples and lost 18.57%!",
        ] {
            assert!(is_loss_warning(perf_line), "{perf_line}");
        }
        // The workload shares perf's stderr: its own words are not perf's.
        for workload_line in [
            "lost 3 events while reconnecting",
            "Processed the lost events",
        ] {
            assert!(!is_loss_warning(workload_line), "{workload_line}");
        }
    }

    #[test]
    fn stat_support_detection() {
        assert!(!parse_stat_supported(
            "<not supported>,,instructions,0,100.00,,\n"
        ));
        assert!(parse_stat_supported(
            "1234567,,instructions:u,1000,100.00,,\n"
        ));
        assert!(!parse_stat_supported(""));
    }

    /// perf record runs without CAP_SYSLOG exactly when it records user
    /// space only: the kernel's frames and tracepoints need its addresses.
    #[test]
    fn only_user_space_recordings_drop_the_kernel_addresses() {
        let user_only = Settings {
            frequency: 997,
            call_graph: CallGraph::Dwarf,
            inline_frames: true,
            kernel_frames: false,
            mmap_pages: None,
        };
        let with_kernel = Settings {
            kernel_frames: true,
            ..user_only.clone()
        };
        let (data, program) = (Path::new("p"), Path::new("/bin/x"));
        let record = |s: &Settings| record_args(s, data, program, &[]);
        assert_eq!(record_drops_capabilities(&record(&user_only)), [CAP_SYSLOG]);
        assert_eq!(
            record_drops_capabilities(&attach_args(&user_only, data, 7)),
            [CAP_SYSLOG]
        );
        assert!(record_drops_capabilities(&record(&with_kernel)).is_empty());
        let workload_says_all_user =
            record_args(&with_kernel, data, program, &["--all-user".into()]);
        assert!(record_drops_capabilities(&workload_says_all_user).is_empty());
        let off_cpu = crate::tools::offcpu::record_args(record(&user_only), &user_only, true);
        assert!(record_drops_capabilities(&off_cpu).is_empty());
    }
}
