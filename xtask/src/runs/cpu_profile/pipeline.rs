//! The CPU profile on Linux: perf record, perf script and the folding as one
//! concurrent pipeline, with perf.data as the buffer between them.

use super::{finish_profile, perf_settings, CpuProfile, Options, FOLDED, PERF_DATA};
use crate::runs::measure::RunFailure;
use crate::runs::process::{self, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::{perf, Toolbox};
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// perf record, perf script and the folding run at once, as a pipeline:
/// `perf record -o -` streams its data to us, we write it to perf.data at
/// once and feed perf script from that file as fast as perf script reads, and
/// perf script's output is folded as it arrives. On two cores the
/// symbolization (and the inline frames) runs beside the workload
/// instead of after it.
///
/// perf record must never wait for its reader: while it waits, the kernel's
/// ring buffer fills and samples are dropped. So the file, not a pipe, is the
/// buffer between perf record and perf script, and the ring buffer is sized
/// for the sampling rate (`perf::ring_buffer`).
pub(super) fn profile_with_perf(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, notes) = perf_settings(options, tools);
    let data = dir.join(PERF_DATA);

    // perf record starts the workload itself: an exec in between (a wrapper)
    // makes perf's unwinder lose a quarter of the stacks. perf's stdout
    // carries the data, so perf gives the workload its stderr as stdout: the
    // workload's output is read there, beside perf's own messages.
    let mut record = prepared.spec();
    record.program = perf_path.clone();
    record.args = perf::record_args(&settings, Path::new("-"), &prepared.program, &prepared.args);
    if options.off_cpu {
        record.args = crate::tools::offcpu::record_args(record.args, &settings);
    }
    if let Some(event) = &options.event {
        // `record -e EVENT ...`: another event than CPU time (`events`).
        record.args.splice(1..1, ["-e".into(), event.into()]);
    }
    record.stdout_raw = true;
    record
        .watch
        .extend(perf::STDERR_WATCH.iter().map(|w| w.to_string()));
    let argv = record.argv();
    let command = record.display();
    let timeout = record.timeout;

    let mut script = Spec::new(&perf_path).args(perf::script_args(&settings, Path::new("-")));
    script.stdin_piped = true;
    script.stdout_raw = true;

    let spinner = Progress::spinner(&format!(
        "perf record | perf script | fold of {}",
        prepared.name
    ));
    let mut scripting = process::start(script)?;
    let mut recording = match process::start(record) {
        Ok(recording) => recording,
        Err(error) => {
            scripting.stop(libc::SIGKILL, Duration::from_secs(1));
            return Err(error);
        }
    };
    let perf_stream = recording
        .stdout
        .take()
        .context("perf record has no stdout")?;
    let script_stdin = scripting.stdin.take().context("perf script has no stdin")?;
    let script_stdout = scripting
        .stdout
        .take()
        .context("perf script has no stdout")?;
    let data_file =
        std::fs::File::create(&data).with_context(|| format!("cannot write {}", data.display()))?;
    let data_reader =
        std::fs::File::open(&data).with_context(|| format!("cannot read {}", data.display()))?;
    let spool = Arc::new(Spool::default());
    let copier = {
        let spool = spool.clone();
        std::thread::spawn(move || spool.fill(perf_stream, data_file))
    };
    let feeder = {
        let spool = spool.clone();
        std::thread::spawn(move || spool.drain(data_reader, script_stdin))
    };
    // The waiter enforces the timeout: stopping perf ends the stream, and so the folding.
    let waiter = std::thread::spawn(move || recording.wait());
    let folded_file = std::fs::File::create(dir.join(FOLDED))?;
    let script_stdout: Box<dyn Read> = if options.off_cpu {
        Box::new(crate::tools::offcpu::WithoutSwitches::new(script_stdout))
    } else {
        Box::new(script_stdout)
    };
    let folded = perf::fold_symbolized(
        &settings,
        script_stdout,
        std::io::BufWriter::new(folded_file),
    );
    let recorded = waiter
        .join()
        .map_err(|_| anyhow::anyhow!("the perf record waiter panicked"))?;
    let copied = copier
        .join()
        .map_err(|_| anyhow::anyhow!("the perf data copier panicked"))?;
    let fed = feeder
        .join()
        .map_err(|_| anyhow::anyhow!("the perf script feeder panicked"))?;
    let scripted = scripting.wait();
    spinner.finish();

    // A full disk first: when the copy into perf.data fails, perf record
    // dies of the closed pipe (SIGPIPE), which is no fault of the workload.
    if let Err(CopyError::Write(error)) = &copied {
        bail!(
            "cannot write {}: {error}{}",
            data.display(),
            if error.raw_os_error() == Some(libc::ENOSPC) {
                " (free some space, or point results_dir in profiling.toml at a larger disk)"
            } else {
                ""
            }
        );
    }
    if !recorded.success() {
        return Err(RunFailure {
            command,
            what: recorded.describe(timeout),
            tail: recorded.tail(),
        }
        .into());
    }
    let counted = match copied {
        Ok(counted) => counted,
        Err(CopyError::Read(error) | CopyError::Write(error)) => {
            return Err(error).context("cannot read perf record's data stream")
        }
    };
    let folded = folded.with_context(|| format!("`perf script` failed:\n{}", scripted.tail()))?;
    let folded_samples = folded.samples;
    if !scripted.success() {
        bail!(
            "`perf script` failed: {}\n{}",
            scripted.describe(None),
            scripted.tail()
        );
    }
    fed.with_context(|| format!("cannot read {} back for perf script", data.display()))?;
    let mut summary = perf::parse_record_stderr(recorded.watched.iter().map(String::as_str));
    summary.absorb_count(&counted);
    summary.warnings.extend(
        scripted
            .stderr_tail
            .iter()
            .filter(|l| perf::is_loss_warning(l))
            .cloned(),
    );
    let off_cpu = super::record_off_cpu(
        options.off_cpu,
        &settings,
        tools,
        dir,
        &mut summary,
        folded_samples,
    )?;
    let profile = finish_profile(&settings, dir, argv, summary, notes, folded_samples, tools)?;
    let profile = super::annotate::add_to(profile, dir, folded, options.annotate);
    Ok(super::with_off_cpu(profile, off_cpu))
}

/// Why perf's stream did not reach perf.data: reading the stream, or writing
/// the file (a full disk), which the user must hear about as such.
#[derive(Debug)]
enum CopyError {
    Read(std::io::Error),
    Write(std::io::Error),
}

/// perf's data on its way to perf script, with perf.data as the buffer: the
/// copier appends what perf sends (perf record never waits for perf script),
/// the feeder passes on what the file holds as fast as perf script takes it.
/// Memory stays flat however far perf script falls behind.
#[derive(Default)]
struct Spool {
    /// Bytes in the file so far, and whether the stream has ended.
    state: Mutex<(u64, bool)>,
    grew: Condvar,
}

impl Spool {
    /// Copies perf's stream into the file, counting its records on the way.
    /// On an error it returns at once, dropping `from`: perf record then
    /// dies of the closed pipe instead of filling a disk that is full.
    fn fill(
        &self,
        mut from: impl Read,
        mut file: impl Write,
    ) -> Result<perf::StreamCounter, CopyError> {
        let mut counter = perf::StreamCounter::default();
        let mut buffer = vec![0u8; 1 << 16];
        let result = loop {
            let n = match from.read(&mut buffer) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(CopyError::Read(e)),
            };
            if let Err(e) = file.write_all(&buffer[..n]) {
                break Err(CopyError::Write(e));
            }
            counter.feed(&buffer[..n]);
            self.update(|state| state.0 += n as u64);
        };
        // Ended, with or without an error: the feeder must not wait forever.
        self.update(|state| state.1 = true);
        result.map(|()| counter)
    }

    /// Passes the file on to perf script, then closes its stdin (the end of
    /// its input). Stops early, without error, if perf script stops reading.
    fn drain(
        &self,
        mut file: std::fs::File,
        mut to: std::process::ChildStdin,
    ) -> std::io::Result<()> {
        let mut buffer = vec![0u8; 1 << 20];
        let mut sent = 0u64;
        loop {
            let (available, ended) = {
                let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
                while state.0 == sent && !state.1 {
                    state = self.grew.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                (state.0 - sent, state.1)
            };
            if available == 0 && ended {
                return Ok(());
            }
            let n = available.min(buffer.len() as u64) as usize;
            file.read_exact(&mut buffer[..n])?;
            if to.write_all(&buffer[..n]).is_err() {
                // perf script quit; its exit status tells why.
                return Ok(());
            }
            sent += n as u64;
        }
    }

    fn update(&self, change: impl FnOnce(&mut (u64, bool))) {
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        change(&mut state);
        self.grew.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk while perf.data is written is a write error of the file,
    /// told apart from the stream's errors, and the feeder is released.
    #[test]
    fn a_full_disk_is_a_write_error() {
        let spool = Spool::default();
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
        assert!(
            spool.state.lock().unwrap().1,
            "the stream must read as ended"
        );
    }
}
