//! The CPU profile on Linux: perf record and the folding as one concurrent
//! pipeline, with a spool (memory, then a file) between them.

use super::{finish_profile, perf_settings, CpuProfile, Options, FOLDED, PERF_DATA};
use crate::runs::measure::{self, RunFailure};
use crate::runs::process::{self, Outcome, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::{perf, perf_data, Toolbox};
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// perf record and the folding run at once, as a pipeline: `perf record -o
/// -` streams its data to us, we hold it (the [`Spool`]), and this thread
/// reads its records as fast as it can and folds them (`tools::perf_data`).
/// On two cores the unwinding and naming (and the inline frames) run beside
/// the workload instead of after it.
///
/// perf record must never wait for its reader: while it waits, the kernel's
/// ring buffer fills and samples are dropped. So the spool, not a pipe, is
/// the buffer between perf record and the folding, and the ring buffer is
/// sized for the sampling rate (`perf::ring_buffer`).
pub(super) fn profile_with_perf(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, notes) = perf_settings(options, tools);
    if settings.call_graph == crate::config::CallGraph::Dwarf && !cfg!(target_arch = "x86_64") {
        // The copied stacks are unwound with x86-64's registers and rules.
        bail!(
            "`call_graph = \"dwarf\"` is unwound in process on x86-64 only: set `call_graph = \"fp\"` \
             in profiling.toml's [defaults] (or pass `--call-graph fp`) on this machine"
        );
    }
    let data = dir.join(PERF_DATA);

    let record = record_spec(prepared, &perf_path, &settings, options);
    let argv = record.argv();
    let command = record.display();
    let timeout = record.timeout;

    let spinner = Progress::spinner(&format!("perf record | fold of {}", prepared.name));
    let mut recording = process::start(record)?;
    let perf_stream = recording
        .stdout
        .take()
        .context("perf record has no stdout")?;
    let keep_file = options.keep_perf_data || options.off_cpu;
    let spill_path = dir.join(SPILL);
    let file_path = if keep_file { &data } else { &spill_path };
    let (spool, file, file_reader) = open_spool(file_path, keep_file)?;
    let copier = {
        let spool = spool.clone();
        std::thread::spawn(move || spool.fill(perf_stream, file))
    };
    // The folding reads the stream in this thread, from the spool (which
    // never makes perf record wait).
    let fold_input = SpoolReader::new(spool.clone(), file_reader);
    // The waiter enforces the timeout: stopping perf ends the stream, and so the folding.
    let waiter = std::thread::spawn(move || recording.wait());
    let folded_file = std::fs::File::create(dir.join(FOLDED))?;
    let fold_options = perf_data::FoldOptions {
        inline_frames: settings.inline_frames,
        without_tracepoints: options.off_cpu,
    };
    let folded = perf_data::stream(fold_input).and_then(|recording| {
        perf_data::fold_recording(
            recording,
            fold_options,
            std::io::BufWriter::new(folded_file),
        )
    });
    let recorded = waiter
        .join()
        .map_err(|_| anyhow::anyhow!("the perf record waiter panicked"))?;
    let copied = copier
        .join()
        .map_err(|_| anyhow::anyhow!("the perf data copier panicked"))?;
    spinner.finish();
    if !keep_file {
        let _ = std::fs::remove_file(&spill_path);
    }

    let ended = Ended {
        recorded,
        copied,
        folded,
    };
    let (recorded, (counted, streamed), folded) = ended.checked(&command, timeout, file_path)?;
    let folded_samples = folded.samples;
    let summary = record_summary(&recorded, &counted, streamed);
    let switches = options.off_cpu.then_some(&counted);
    let profile = finish_profile(
        &settings,
        dir,
        argv,
        summary,
        notes,
        folded_samples,
        tools,
        switches,
    )?;
    let annotate = options.annotate;
    Ok(super::annotate::add_to(profile, dir, folded, annotate))
}

/// What perf said of its recording: perf record's summary lines, and the
/// records counted in the stream (`streamed` bytes).
fn record_summary(
    recorded: &Outcome,
    counted: &perf::StreamCounter,
    streamed: u64,
) -> perf::RecordSummary {
    let mut summary = perf::parse_record_stderr(recorded.watched.iter().map(String::as_str));
    summary.absorb_count(counted);
    if summary.data_mb.is_none_or(|mb| mb == 0.0) {
        summary.data_mb = Some(streamed as f64 / 1e6);
    }
    summary
}

/// The spool between perf record and the folding, with its file opened
/// for writing and for reading back. perf.data is written only when it is
/// kept or read again (the off-CPU switches, `keep_file`); otherwise the
/// stream stays in memory, and the file takes only what the folding has
/// fallen behind by beyond `SPOOL_MEMORY`.
fn open_spool(
    file_path: &Path,
    keep_file: bool,
) -> anyhow::Result<(Arc<Spool>, std::fs::File, std::fs::File)> {
    let memory = if keep_file { 0 } else { SPOOL_MEMORY };
    let file = std::fs::File::create(file_path)
        .with_context(|| format!("cannot write {}", file_path.display()))?;
    let file_reader = std::fs::File::open(file_path)
        .with_context(|| format!("cannot read {}", file_path.display()))?;
    Ok((Arc::new(Spool::new(memory)), file, file_reader))
}

/// How each part of the pipeline ended.
struct Ended {
    recorded: Outcome,
    copied: Result<(perf::StreamCounter, u64), CopyError>,
    folded: anyhow::Result<perf::Folded>,
}

impl Ended {
    /// The parts' outcomes if all went well, else the error that names the
    /// first cause: a full disk kills perf record by SIGPIPE, and a dead
    /// perf record ends the folding's input early.
    fn checked(
        self,
        command: &str,
        timeout: Option<Duration>,
        file_path: &Path,
    ) -> anyhow::Result<(Outcome, (perf::StreamCounter, u64), perf::Folded)> {
        let Ended {
            recorded,
            copied,
            folded,
        } = self;
        if let Err(CopyError::Write(error)) = &copied {
            bail!(
                "cannot write {}: {error}{}",
                file_path.display(),
                if error.raw_os_error() == Some(libc::ENOSPC) {
                    " (free some space, or point results_dir in profiling.toml at a larger disk)"
                } else {
                    ""
                }
            );
        }
        // perf record ends with its workload's fatal signal, after its
        // closing "[ perf record: Captured and wrote ...]": without that
        // line the signal was perf's own.
        let finished = recorded
            .watched
            .iter()
            .any(|line| line.contains(RECORD_FINISHED));
        if let Some(killed) = measure::profiler_killed("perf record", command, &recorded, finished)
        {
            return Err(killed.into());
        }
        if !recorded.success() {
            // The kernel refused perf an event or a process: perf's fault,
            // not the workload's, and the fix is the user's privileges.
            let tail = recorded.tail();
            if let Some(help) = crate::tools::perf_access::diagnose(&tail) {
                bail!("perf record was refused: {help}\n  command: {command}\n{tail}");
            }
            return Err(RunFailure {
                command: command.to_string(),
                what: recorded.describe(timeout),
                tail: recorded.tail(),
            }
            .into());
        }
        let streamed = match copied {
            Ok(streamed) => streamed,
            Err(CopyError::Read(error) | CopyError::Write(error)) => {
                return Err(error).context("cannot read perf record's data stream")
            }
        };
        let folded = folded.with_context(|| {
            format!(
                "cannot fold perf's data (spooled through {})",
                file_path.display()
            )
        })?;
        Ok((recorded, streamed, folded))
    }
}

/// What perf record prints once it has written its data, before it ends
/// (with its workload's fatal signal, if the workload died of one).
const RECORD_FINISHED: &str = "[ perf record: Captured and wrote";

/// perf record of the workload, streaming its data to its stdout.
///
/// perf record starts the workload itself: an exec in between (a wrapper)
/// makes perf's unwinder lose a quarter of the stacks. perf's stdout
/// carries the data, so perf gives the workload its stderr as stdout: the
/// workload's output is read there, beside perf's own messages.
fn record_spec(
    prepared: &Prepared,
    perf_path: &Path,
    settings: &perf::Settings,
    options: &Options,
) -> Spec {
    let mut record = prepared.spec();
    record.program = perf_path.to_path_buf();
    record.args = perf::record_args(settings, Path::new("-"), &prepared.program, &prepared.args);
    if options.off_cpu {
        record.args =
            crate::tools::offcpu::record_args(record.args, settings, options.off_cpu_realtime);
    }
    if let Some(event) = &options.event {
        // `record -e EVENT ...`: another event than CPU time (`events`).
        record.args.splice(1..1, ["-e".into(), event.into()]);
    }
    record.drop_capabilities = perf::record_drops_capabilities(&record.args);
    record.stdout_raw = true;
    record
        .watch
        .extend(perf::STDERR_WATCH.iter().map(|w| w.to_string()));
    record
}

/// Why perf's stream did not reach perf.data: reading the stream, or writing
/// the file (a full disk), which the user must hear about as such.
#[derive(Debug)]
enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// The scratch file of a spool kept in memory, for what does not fit.
const SPILL: &str = "perf.spool";

/// How far the folding may fall behind before the spool writes to a file
/// instead of memory. The folding reads perf data many times faster than
/// perf records it, so in practice the backlog is a few chunks.
const SPOOL_MEMORY: usize = 256 << 20;

/// perf's data on its way to the folding. The copier takes what perf sends
/// as it comes (perf record never waits for the folding) and the
/// [`SpoolReader`] passes it on as fast as the folding takes it, in order.
/// Chunks wait in memory up to a limit; beyond it they go to a file, which
/// the reader reads back, so memory stays flat however far the folding
/// falls behind. When
/// the file is perf.data itself (kept, or read again), the limit is 0: every
/// chunk goes there.
struct Spool {
    state: Mutex<Queue>,
    grew: Condvar,
    /// The most bytes held in memory (0: all go to the file).
    memory: usize,
}

#[derive(Default)]
struct Queue {
    /// Chunks in memory, oldest first; all come before the file's unread
    /// bytes.
    chunks: std::collections::VecDeque<Vec<u8>>,
    in_memory: usize,
    /// Bytes written to the file, and read back by the reader.
    in_file: u64,
    fed_from_file: u64,
    ended: bool,
}

impl Spool {
    fn new(memory: usize) -> Spool {
        Spool {
            state: Mutex::new(Queue::default()),
            grew: Condvar::new(),
            memory,
        }
    }

    /// Copies perf's stream into the spool, counting its records and bytes on
    /// the way. On an error it returns at once, dropping `from`: perf record
    /// then dies of the closed pipe instead of filling a disk that is full.
    fn fill(
        &self,
        mut from: impl Read,
        mut file: impl Write,
    ) -> Result<(perf::StreamCounter, u64), CopyError> {
        let mut counter = perf::StreamCounter::default();
        let mut streamed = 0u64;
        let result = loop {
            let mut chunk = vec![0u8; 1 << 16];
            let n = match from.read(&mut chunk) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(CopyError::Read(e)),
            };
            chunk.truncate(n);
            counter.feed(&chunk);
            streamed += n as u64;
            // To memory while it has room and nothing waits in the file (the
            // order must hold); else to the file, written outside the lock.
            let overflow = {
                let mut state = self.lock();
                if state.in_file == state.fed_from_file && state.in_memory + n <= self.memory {
                    state.in_memory += n;
                    state.chunks.push_back(chunk);
                    self.grew.notify_all();
                    None
                } else {
                    Some(chunk)
                }
            };
            if let Some(chunk) = overflow {
                if let Err(e) = file.write_all(&chunk) {
                    break Err(CopyError::Write(e));
                }
                self.update(|state| state.in_file += n as u64);
            }
        };
        // Ended, with or without an error: the reader must not wait forever.
        self.update(|state| state.ended = true);
        result.map(|()| (counter, streamed))
    }

    /// The next piece of the stream to pass on, waiting for it; `None` at
    /// its end.
    fn next(&self, most_from_file: usize) -> Option<Next> {
        let mut state = self.lock();
        loop {
            if let Some(chunk) = state.chunks.pop_front() {
                state.in_memory -= chunk.len();
                return Some(Next::Chunk(chunk));
            }
            let in_file = state.in_file - state.fed_from_file;
            if in_file > 0 {
                return Some(Next::FromFile(in_file.min(most_from_file as u64) as usize));
            }
            if state.ended {
                return None;
            }
            state = self.grew.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn update(&self, change: impl FnOnce(&mut Queue)) {
        change(&mut self.lock());
        self.grew.notify_all();
    }
}

/// The spool's stream, whole and in order, as the folding reads it: from
/// memory while the folding keeps up, else from the file.
struct SpoolReader<F> {
    spool: Arc<Spool>,
    file: F,
    /// The piece being read, and how much of it was.
    piece: Vec<u8>,
    at: usize,
}

impl<F: Read> SpoolReader<F> {
    fn new(spool: Arc<Spool>, file: F) -> SpoolReader<F> {
        SpoolReader {
            spool,
            file,
            piece: Vec::new(),
            at: 0,
        }
    }
}

impl<F: Read> Read for SpoolReader<F> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.at == self.piece.len() {
            self.at = 0;
            match self.spool.next(1 << 20) {
                None => {
                    self.piece.clear();
                    return Ok(0);
                }
                Some(Next::Chunk(chunk)) => self.piece = chunk,
                Some(Next::FromFile(n)) => {
                    self.piece.resize(n, 0);
                    self.file.read_exact(&mut self.piece)?;
                    self.spool.update(|state| state.fed_from_file += n as u64);
                }
            }
        }
        let n = buffer.len().min(self.piece.len() - self.at);
        buffer[..n].copy_from_slice(&self.piece[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// What the spool passes on next.
enum Next {
    Chunk(Vec<u8>),
    FromFile(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk while perf.data is written is a write error of the file,
    /// told apart from the stream's errors, and the reader is released.
    #[test]
    fn a_full_disk_is_a_write_error() {
        let spool = Spool::new(0);
        // /dev/full fails every write with ENOSPC, as a full disk does.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let stream = std::io::Cursor::new(vec![0u8; 4096]);
        match spool.fill(stream, full) {
            Err(CopyError::Write(error)) => {
                assert_eq!(error.raw_os_error(), Some(libc::ENOSPC), "{error}")
            }
            other => panic!("expected a write error, got {other:?}"),
        }
        assert!(spool.lock().ended, "the stream must read as ended");
    }

    /// Whatever perf sends reaches the folding whole and in order: from
    /// memory while the folding keeps up, through the file beyond the
    /// memory's limit (here the folding starts reading only once perf has
    /// ended), or all through the file when it is perf.data.
    #[test]
    fn the_stream_passes_whole_and_in_order_through_memory_and_file() {
        let stream: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let dir = std::env::temp_dir().join(format!("xtask-spool-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(SPILL);
        // (memory, the folding reads while perf sends, bytes in the file)
        let cases = [
            (1 << 30, true, 0),
            (300_000, false, 3_000_000 - 280_000),
            (0, true, 3_000_000),
        ];
        for (memory, concurrent, in_file) in cases {
            let spool = Arc::new(Spool::new(memory));
            let file = std::fs::File::create(&path).unwrap();
            let reader = std::fs::File::open(&path).unwrap();
            // perf's side in 40 000-byte pieces, interleaving with the reader.
            let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<u8>>(4);
            let pieces = stream.clone();
            let producer = std::thread::spawn(move || {
                for piece in pieces.chunks(40_000) {
                    sender.send(piece.to_vec()).unwrap();
                }
            });
            let filler = {
                let spool = spool.clone();
                std::thread::spawn(move || spool.fill(ChannelReader(receiver, Vec::new()), file))
            };
            let mut filler = Some(filler);
            let mut filled = None;
            if !concurrent {
                filled = filler.take().map(|f| f.join().unwrap());
            }
            let mut fed = Vec::new();
            let mut spooled = SpoolReader::new(spool.clone(), reader);
            spooled.read_to_end(&mut fed).unwrap();
            // The end stays the end: a reader may ask again.
            assert_eq!(spooled.read(&mut [0u8; 64]).unwrap(), 0);
            producer.join().unwrap();
            let filled = filled
                .or_else(|| filler.map(|f| f.join().unwrap()))
                .unwrap();
            assert_eq!(filled.unwrap().1, stream.len() as u64);
            assert!(
                fed == stream,
                "memory {memory}: the stream changed on its way"
            );
            assert_eq!(
                std::fs::metadata(&path).unwrap().len(),
                in_file,
                "memory {memory}"
            );
            assert_eq!(spool.lock().in_memory, 0);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A reader of the pieces sent on a channel.
    struct ChannelReader(std::sync::mpsc::Receiver<Vec<u8>>, Vec<u8>);

    impl Read for ChannelReader {
        fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
            if self.1.is_empty() {
                match self.0.recv() {
                    Ok(piece) => self.1 = piece,
                    Err(_) => return Ok(0),
                }
            }
            let n = buffer.len().min(self.1.len());
            buffer[..n].copy_from_slice(&self.1[..n]);
            self.1.drain(..n);
            Ok(n)
        }
    }
}
