//! The CPU profile of one run, on whatever sampler this platform has:
//! record → folded stacks (`cpu.folded`) → `flamegraph.svg` and a
//! top-functions report. Shared by profile-baseline and flamegraph.

use crate::config::CallGraph;
use crate::runs::measure::RunFailure;
use crate::runs::process::{self, Running, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::{perf, Platform, Toolbox};
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

pub const FOLDED: &str = "cpu.folded";
pub const SVG: &str = "flamegraph.svg";
pub const TOP: &str = "top-functions.txt";
pub const PERF_DATA: &str = "perf.data";

/// How to sample.
#[derive(Debug, Clone)]
pub struct Options {
    pub frequency: u32,
    pub call_graph: CallGraph,
    pub kernel_frames: bool,
}

impl Options {
    /// The config's defaults, with the command line's overrides.
    pub fn new(
        config: &crate::config::Config,
        frequency: Option<u32>,
        call_graph: Option<CallGraph>,
    ) -> Options {
        Options {
            frequency: frequency.unwrap_or(config.defaults.frequency),
            call_graph: call_graph.unwrap_or(config.defaults.call_graph),
            kernel_frames: config.defaults.kernel_frames,
        }
    }
}

/// What a CPU profile recorded (stored as run.json's `cpu_profile` through
/// `results::record::CpuProfile`); the files it wrote are `perf.data` and
/// `cpu.folded`, from which reports draw.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct CpuProfile {
    /// "perf 6.1.187", "xctrace 15.0", ...
    pub tool: String,
    pub frequency: u32,
    pub call_graph: String,
    /// How frames were symbolized: inline frames through a fast addr2line, or `--no-inline`.
    pub symbolizer: String,
    pub record: perf::RecordSummary,
    /// Samples in the folded stacks.
    pub folded_samples: u64,
    /// Share (0–1) of the folded samples whose stack unwound to an entry
    /// point (`_start`, a thread's start); the rest were cut short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub complete_stacks: Option<f64>,
    pub argv: Vec<String>,
    /// Files in the result directory.
    pub files: Vec<String>,
    pub notes: Vec<String>,
}

/// Profiles one run of `prepared`, writing the profile files into `dir`.
pub fn profile(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    match tools.platform {
        Platform::Linux => profile_with_perf(prepared, tools, options, dir),
        Platform::Macos => profile_on_macos(prepared, tools, options, dir),
        Platform::Other => bail!("no CPU sampler is supported on this platform"),
    }
}

fn perf_settings(
    options: &Options,
    tools: &Toolbox,
) -> (perf::Settings, Option<PathBuf>, Vec<String>) {
    let fast = tools.fast_addr2line_dir.clone();
    let mut notes = Vec::new();
    if fast.is_none() {
        notes.push(format!(
            "inline frames are off (--no-inline): binutils' addr2line is too slow for them. For inline frames: {}",
            crate::tools::FAST_ADDR2LINE_INSTALL
        ));
    }
    let ring = perf::ring_buffer(
        options.frequency,
        options.call_graph,
        &perf::LockLimit::detect(),
    );
    notes.extend(ring.note);
    let settings = perf::Settings {
        frequency: options.frequency,
        call_graph: options.call_graph,
        inline_frames: fast.is_some(),
        kernel_frames: options.kernel_frames,
        mmap_pages: Some(ring.pages),
    };
    (settings, fast, notes)
}

/// perf record, perf script and the folding run at once, as a pipeline:
/// `perf record -o -` streams its data to us, we write it to perf.data at
/// once and feed perf script from that file as fast as perf script reads, and
/// perf script's output is folded as it arrives. On two cores the
/// symbolization (and addr2line for inline frames) runs beside the workload
/// instead of after it.
///
/// perf record must never wait for its reader: while it waits, the kernel's
/// ring buffer fills and samples are dropped. So the file, not a pipe, is the
/// buffer between perf record and perf script, and the ring buffer is sized
/// for the sampling rate (`perf::ring_buffer`).
fn profile_with_perf(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, fast, notes) = perf_settings(options, tools);
    let data = dir.join(PERF_DATA);

    // perf record starts the workload itself: an exec in between (a wrapper)
    // makes perf's unwinder lose a quarter of the stacks. perf's stdout
    // carries the data, so perf gives the workload its stderr as stdout: the
    // workload's output is read there, beside perf's own messages.
    let mut record = prepared.spec();
    record.program = perf_path.clone();
    record.args = perf::record_args(&settings, Path::new("-"), &prepared.program, &prepared.args);
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
    if let Some(dir) = &fast {
        // perf runs `addr2line` from PATH for inline frames: put the fast one first.
        script
            .env
            .push(("PATH".into(), perf::path_with_first(dir)?));
    }

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
    let folded = perf::fold(script_stdout, std::io::BufWriter::new(folded_file));
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

    if !recorded.success() {
        return Err(RunFailure {
            command,
            what: recorded.describe(timeout),
            tail: recorded.tail(),
        }
        .into());
    }
    let counted =
        copied.with_context(|| format!("cannot copy perf's data to {}", data.display()))?;
    let folded_samples =
        folded.with_context(|| format!("`perf script` failed:\n{}", scripted.tail()))?;
    if !scripted.success() {
        bail!(
            "`perf script` failed: {}\n{}",
            scripted.describe(None),
            scripted.tail()
        );
    }
    fed.with_context(|| format!("cannot read {} back for perf script", data.display()))?;
    let mut summary = perf::parse_record_stderr(
        recorded
            .watched
            .iter()
            .chain(recorded.stderr_tail.iter())
            .map(String::as_str),
    );
    summary.absorb_count(&counted);
    summary.warnings.extend(
        scripted
            .stderr_tail
            .iter()
            .filter(|l| perf::is_loss_warning(l))
            .cloned(),
    );
    finish_profile(
        &settings,
        fast.as_deref(),
        dir,
        argv,
        summary,
        notes,
        folded_samples,
        tools,
    )
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
    fn fill(
        &self,
        mut from: impl Read,
        mut file: std::fs::File,
    ) -> std::io::Result<perf::StreamCounter> {
        let mut counter = perf::StreamCounter::default();
        let mut buffer = vec![0u8; 1 << 16];
        let result = loop {
            let n = match from.read(&mut buffer) {
                Ok(0) => break Ok(()),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => break Err(e),
            };
            if let Err(e) = file.write_all(&buffer[..n]) {
                break Err(e);
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

/// Starts `perf record --pid` on a running server (the service scenario).
pub fn attach(
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
    pid: i32,
) -> anyhow::Result<(Running, Vec<String>)> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, _, _) = perf_settings(options, tools);
    // perf starts with its events off and turns them on when told through a
    // control FIFO, then acknowledges: the load starts only once perf samples.
    // In the temp directory: perf splits `--control fifo:A,B` on commas, and
    // a results path may contain one.
    let stem = std::env::temp_dir().join(format!("xtask-perf-{}-{pid}", std::process::id()));
    let (ctl, ack) = (stem.with_extension("control"), stem.with_extension("ack"));
    for fifo in [&ctl, &ack] {
        make_fifo(fifo)?;
    }
    let mut spec = Spec::new(&perf_path).args(perf::attach_args(
        &settings,
        &dir.join(PERF_DATA),
        pid as u32,
    ));
    spec.args.extend(perf::control_args(&ctl, &ack));
    spec.watch = perf::STDERR_WATCH.iter().map(|w| w.to_string()).collect();
    let argv = spec.argv();
    let running = process::start(spec)?;
    let enabled = enable_events(&ctl, &ack, &running, Duration::from_secs(30));
    for fifo in [&ctl, &ack] {
        let _ = std::fs::remove_file(fifo);
    }
    if let Err(error) = enabled {
        let outcome = running.stop(libc::SIGKILL, Duration::from_secs(1));
        bail!("{error:#}\n{}", outcome.tail());
    }
    Ok((running, argv))
}

fn make_fifo(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let _ = std::fs::remove_file(path);
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes())?;
    // SAFETY: a valid NUL-terminated path.
    if unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("cannot create {}", path.display()));
    }
    Ok(())
}

/// Sends `enable` on perf's control FIFO and waits for its `ack`.
fn enable_events(ctl: &Path, ack: &Path, perf: &Running, timeout: Duration) -> anyhow::Result<()> {
    // Read-write opens of a FIFO never block on Linux, whether perf has it open yet or not.
    let open = |path: &Path| {
        std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
    };
    let mut control = open(ctl).with_context(|| format!("cannot open {}", ctl.display()))?;
    let mut acknowledgement =
        open(ack).with_context(|| format!("cannot open {}", ack.display()))?;
    control.write_all(b"enable\n")?;
    let deadline = std::time::Instant::now() + timeout;
    let mut reply = Vec::new();
    // perf writes "ack\n" followed by a NUL (sizeof of a C string).
    while !reply.windows(4).any(|w| w == b"ack\n") {
        if std::time::Instant::now() >= deadline {
            bail!("perf did not start sampling within {} s", timeout.as_secs());
        }
        if !perf.is_running() {
            bail!("perf exited before it started sampling");
        }
        let mut poll = libc::pollfd {
            fd: std::os::fd::AsRawFd::as_raw_fd(&acknowledgement),
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        if unsafe { libc::poll(&mut poll, 1, 100) } > 0 {
            let mut byte = [0u8; 64];
            let n = acknowledgement.read(&mut byte)?;
            reply.extend_from_slice(&byte[..n]);
        }
    }
    Ok(())
}

/// Stops an attached perf and processes its recording.
pub fn finish_attached(
    running: Running,
    argv: Vec<String>,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    // SIGINT makes perf stop sampling and write its data.
    let outcome = running.stop(libc::SIGINT, Duration::from_secs(30));
    let record = perf::parse_record_stderr(
        outcome
            .watched
            .iter()
            .chain(outcome.stderr_tail.iter())
            .map(String::as_str),
    );
    let data = dir.join(PERF_DATA);
    if !data.is_file() {
        bail!(
            "perf wrote no data ({}):\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, fast, notes) = perf_settings(options, tools);
    finish_attached_recording(
        &perf_path,
        &settings,
        fast.as_deref(),
        &data,
        dir,
        argv,
        record,
        notes,
        tools,
    )
}

/// Folds a recording made with `perf record --pid` (a file, not a stream).
#[allow(clippy::too_many_arguments)]
fn finish_attached_recording(
    perf_path: &Path,
    settings: &perf::Settings,
    fast_addr2line: Option<&Path>,
    data: &Path,
    dir: &Path,
    argv: Vec<String>,
    mut record: perf::RecordSummary,
    notes: Vec<String>,
    tools: &Toolbox,
) -> anyhow::Result<CpuProfile> {
    let spinner = Progress::spinner("perf script | fold");
    let (folded_samples, script_warnings) =
        script_and_fold(perf_path, settings, data, &dir.join(FOLDED), fast_addr2line)?;
    spinner.finish();
    record.warnings.extend(script_warnings);
    let counted =
        perf::count_records(data).with_context(|| format!("cannot read {}", data.display()))?;
    record.absorb_count(&counted);
    finish_profile(
        settings,
        fast_addr2line,
        dir,
        argv,
        record,
        notes,
        folded_samples,
        tools,
    )
}

/// Notes, reports and the record of a CPU profile whose cpu.folded is written.
#[allow(clippy::too_many_arguments)]
fn finish_profile(
    settings: &perf::Settings,
    fast_addr2line: Option<&Path>,
    dir: &Path,
    argv: Vec<String>,
    record: perf::RecordSummary,
    mut notes: Vec<String>,
    folded_samples: u64,
    tools: &Toolbox,
) -> anyhow::Result<CpuProfile> {
    let complete_stacks = complete_stacks(dir)?;
    notes.extend(sample_notes(&record, folded_samples, complete_stacks));
    Ok(CpuProfile {
        tool: tools.perf.version.clone().unwrap_or_else(|| "perf".into()),
        frequency: settings.frequency,
        call_graph: settings.call_graph.as_str().into(),
        symbolizer: match (settings.inline_frames, fast_addr2line) {
            (true, Some(dir)) => format!("inline frames via gimli addr2line ({})", dir.display()),
            _ => "--no-inline (no fast addr2line found)".into(),
        },
        record,
        folded_samples,
        complete_stacks,
        argv,
        files: vec![PERF_DATA.into(), FOLDED.into(), SVG.into(), TOP.into()],
        notes,
    })
}

/// What the user must know about the samples behind the flamegraph: any that
/// perf lost, any that did not reach the folded stacks, stacks cut short.
fn sample_notes(
    record: &perf::RecordSummary,
    folded_samples: u64,
    complete_stacks: Option<f64>,
) -> Vec<String> {
    let mut notes = Vec::new();
    let recorded = record.samples.unwrap_or(folded_samples);
    match record.lost_samples {
        Some(lost) if lost > 0 => notes.push(format!(
            "perf lost {lost} samples ({:.1} % of {}): the kernel's buffer overflowed while perf \
             could not keep up (a busy machine). Profile again with fewer other programs \
             running, a lower --freq, or --call-graph fp (smaller samples)",
            100.0 * lost as f64 / (lost + recorded).max(1) as f64,
            lost + recorded,
        )),
        _ if !record.warnings.is_empty() => notes.push(format!(
            "perf lost samples ({}): profile again with fewer other programs running, a lower \
             --freq, or --call-graph fp",
            record.warnings.join("; ")
        )),
        _ => {}
    }
    if let Some(recorded) = record.samples {
        if recorded != folded_samples {
            notes.push(format!(
                "perf recorded {recorded} samples but `perf script` gave {folded_samples}: \
                 the flamegraph is missing {}",
                recorded.abs_diff(folded_samples)
            ));
        }
    }
    if folded_samples == 0 {
        notes.push(
            "perf recorded no samples: the run may be too short for the sampling frequency".into(),
        );
    }
    if let Some(share) = complete_stacks.filter(|s| *s < 0.9) {
        notes.push(format!(
            "only {:.1} % of the stacks unwound to the program's entry point; the rest start at \
             an inner frame (stacks deeper than the 16 KiB perf copies per sample, or code \
             without unwind information). Try --call-graph fp with frame pointers \
             (RUSTFLAGS=\"-C force-frame-pointers=yes\")",
            share * 100.0
        ));
    }
    notes
}

/// The share of cpu.folded's samples whose stacks are complete.
fn complete_stacks(dir: &Path) -> anyhow::Result<Option<f64>> {
    let folded = dir.join(FOLDED);
    let text = std::fs::read_to_string(&folded)
        .with_context(|| format!("cannot read {}", folded.display()))?;
    Ok(perf::complete_stack_share(&text))
}

fn script_and_fold(
    perf: &Path,
    settings: &perf::Settings,
    data: &Path,
    folded_out: &Path,
    path_prefix: Option<&Path>,
) -> anyhow::Result<(u64, Vec<String>)> {
    let mut spec = Spec::new(perf).args(perf::script_args(settings, data));
    spec.stdout_raw = true;
    spec.watch = vec!["lost".into(), "Lost".into()];
    if let Some(dir) = path_prefix {
        // perf runs `addr2line` from PATH for inline frames: put the fast one first.
        spec.env.push(("PATH".into(), perf::path_with_first(dir)?));
    }
    let mut running = process::start(spec)?;
    let stdout = running.stdout.take().context("perf script has no stdout")?;
    let file = std::fs::File::create(folded_out)
        .with_context(|| format!("cannot write {}", folded_out.display()))?;
    let folded = perf::fold(stdout, std::io::BufWriter::new(file));
    let outcome = running.wait();
    let samples = folded.with_context(|| format!("`perf script` failed:\n{}", outcome.tail()))?;
    if !outcome.success() {
        anyhow::bail!(
            "`perf script` failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    let warnings = outcome
        .watched
        .into_iter()
        .filter(|l| perf::is_loss_warning(l))
        .collect();
    Ok((samples, warnings))
}

fn profile_on_macos(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    use crate::tools::{dtrace, xctrace};
    let mut notes = Vec::new();
    let (tool_name, argv) = if tools.xctrace.usable() {
        let trace = dir.join("cpu.trace");
        let xml = dir.join("cpu-time-profile.xml");
        let xcrun = tools.xctrace.path()?.to_path_buf();
        let mut spec = prepared.spec();
        spec.program = xcrun.clone();
        spec.args = xctrace::record_args(&trace, &prepared.program, &prepared.args);
        let argv = spec.argv();
        process::run_checked(spec)?;
        process::run_checked(Spec::new(&xcrun).args(xctrace::export_args(&trace, &xml)))?;
        let input = std::io::BufReader::new(std::fs::File::open(&xml)?);
        xctrace::fold(
            input,
            std::io::BufWriter::new(std::fs::File::create(dir.join(FOLDED))?),
        )?;
        ("xctrace Time Profiler", argv)
    } else {
        let dtrace_path = tools.dtrace.path()?.to_path_buf();
        notes.push("xctrace unavailable: sampled with dtrace".into());
        let stacks = dir.join("cpu.stacks");
        let mut spec = prepared.spec();
        spec.program = dtrace_path;
        spec.args = dtrace::record_args(
            options.frequency,
            &stacks,
            &prepared.program,
            &prepared.args,
        )?;
        let argv = spec.argv();
        process::run_checked(spec)?;
        let input = std::io::BufReader::new(std::fs::File::open(&stacks)?);
        dtrace::fold(
            input,
            std::io::BufWriter::new(std::fs::File::create(dir.join(FOLDED))?),
        )?;
        ("dtrace", argv)
    };
    let folded_samples = std::fs::read_to_string(dir.join(FOLDED))?
        .lines()
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    let complete_stacks = complete_stacks(dir)?;
    Ok(CpuProfile {
        tool: tool_name.into(),
        frequency: options.frequency,
        call_graph: "native".into(),
        symbolizer: "native".into(),
        record: Default::default(),
        folded_samples,
        complete_stacks,
        argv,
        files: vec![FOLDED.into(), SVG.into(), TOP.into()],
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferno::collapse::Collapse;

    /// The streamed, in-process folding gives, line for line, what inferno's
    /// perf collapser gives on the saved `perf script` text of the same
    /// perf.data (both demangled the same way).
    #[test]
    fn streamed_folding_equals_inferno_on_saved_script_text() {
        let Ok(perf) = which::which("perf") else {
            crate::runs::build::skip_unless_ci("perf");
            return;
        };
        let demo = crate::runs::build::build(
            &crate::config::project_root(),
            "profiling",
            crate::config::Target::Bin("cdr-demo"),
            None,
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-perf-fold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = perf::Settings {
            frequency: 1999,
            call_graph: CallGraph::Dwarf,
            inline_frames: false,
            kernel_frames: false,
            mmap_pages: None,
        };
        let data = dir.join("perf.data");
        let spec = Spec::new(&perf).args(perf::record_args(
            &settings,
            &data,
            &demo,
            &["--subs".into(), "4000".into()],
        ));
        process::run_checked(spec).unwrap();

        let ours = dir.join("ours.folded");
        let (samples, _) = script_and_fold(&perf, &settings, &data, &ours, None).unwrap();
        assert!(samples > 20, "too few samples: {samples}");

        let script = dir.join("script.txt");
        let status = std::process::Command::new(&perf)
            .args(perf::script_args(&settings, &data))
            .stdout(std::fs::File::create(&script).unwrap())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mut reference = Vec::new();
        inferno::collapse::perf::Folder::default()
            .collapse_file(Some(&script), &mut reference)
            .unwrap();
        let reference: Vec<String> = String::from_utf8(reference)
            .unwrap()
            .lines()
            .map(|l| {
                let (stack, count) = l.rsplit_once(' ').unwrap();
                format!("{} {count}", perf::demangle_stack(stack))
            })
            .collect();
        let ours: Vec<String> = std::fs::read_to_string(&ours)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(ours.len(), reference.len());
        for (a, b) in ours.iter().zip(&reference) {
            assert_eq!(a, b);
        }
        assert!(ours.iter().any(|l| l.contains("cdr_demo::generate::")));
    }

    /// The pipeline's cpu.folded equals, line for line, what inferno's perf
    /// collapser gives on the `perf script` text of the perf.data the same
    /// pipeline saved (demangled the same way).
    #[test]
    fn pipeline_folding_equals_inferno_on_the_saved_recording() {
        let tools = Toolbox::detect();
        let Ok(perf_path) = tools.perf.path().map(Path::to_path_buf) else {
            crate::runs::build::skip_unless_ci("perf");
            return;
        };
        let demo = crate::runs::build::demo_for_tests();
        let dir = std::env::temp_dir().join(format!("xtask-pipeline-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let prepared = Prepared {
            name: "demo".into(),
            program: demo,
            args: vec!["--subs".into(), "4000".into()],
            env: Default::default(),
            cwd: dir.clone(),
            timeout: Duration::from_secs(120),
            metrics: Vec::new(),
        };
        let options = Options {
            frequency: 1999,
            call_graph: CallGraph::Dwarf,
            kernel_frames: false,
        };
        let profile = profile(&prepared, &tools, &options, &dir).unwrap();
        assert!(profile.folded_samples > 20, "{profile:?}");

        let (settings, fast, _) = perf_settings(&options, &tools);
        let mut script = std::process::Command::new(&perf_path);
        script.args(perf::script_args(&settings, &dir.join(PERF_DATA)));
        if let Some(fast) = &fast {
            script.env("PATH", perf::path_with_first(fast).unwrap());
        }
        let text = script
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap()
            .stdout;
        let mut reference = Vec::new();
        inferno::collapse::perf::Folder::default()
            .collapse(&text[..], &mut reference)
            .unwrap();
        let reference: Vec<String> = String::from_utf8(reference)
            .unwrap()
            .lines()
            .map(|l| {
                let (stack, count) = l.rsplit_once(' ').unwrap();
                format!("{} {count}", perf::demangle_stack(stack))
            })
            .collect();
        let ours: Vec<String> = std::fs::read_to_string(dir.join(FOLDED))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(ours, reference);
        assert!(ours.iter().any(|l| l.contains("cdr_demo::generate::")));
    }
}
