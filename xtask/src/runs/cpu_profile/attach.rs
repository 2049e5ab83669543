//! perf attached to a running server for the service scenario: started with
//! its events off, enabled through a control FIFO once it listens, stopped
//! with SIGINT, its recording folded afterwards.

use super::{
    finish_profile, perf_settings, script_and_fold, CpuProfile, Options, FOLDED, PERF_DATA,
};
use crate::runs::process::{self, Running, Spec};
use crate::runs::progress::Progress;
use crate::tools::{perf, Toolbox};
use anyhow::{bail, Context};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// perf sampling a running server, and the settings it was started with.
pub struct Attached {
    perf: Running,
    argv: Vec<String>,
    settings: perf::Settings,
    notes: Vec<String>,
}

/// Starts `perf record --pid` on a running server (the service scenario).
pub fn attach(
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
    pid: i32,
) -> anyhow::Result<Attached> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, notes) = perf_settings(options);
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
    Ok(Attached {
        perf: running,
        argv,
        settings,
        notes,
    })
}

fn make_fifo(path: &Path) -> anyhow::Result<()> {
    use nix::sys::stat::Mode;
    let _ = std::fs::remove_file(path);
    nix::unistd::mkfifo(path, Mode::S_IRUSR | Mode::S_IWUSR)
        .with_context(|| format!("cannot create {}", path.display()))
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
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::AsFd;
        let mut ready = [PollFd::new(acknowledgement.as_fd(), PollFlags::POLLIN)];
        if poll(&mut ready, PollTimeout::from(100u8)).unwrap_or(0) > 0 {
            let mut byte = [0u8; 64];
            let n = acknowledgement.read(&mut byte)?;
            reply.extend_from_slice(&byte[..n]);
        }
    }
    Ok(())
}

/// Stops an attached perf and folds its recording (a file, not a stream).
pub fn finish_attached(
    attached: Attached,
    tools: &Toolbox,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    // SIGINT makes perf stop sampling and write its data.
    let outcome = attached.perf.stop(libc::SIGINT, Duration::from_secs(30));
    let mut record = perf::parse_record_stderr(outcome.watched.iter().map(String::as_str));
    let data = dir.join(PERF_DATA);
    if !data.is_file() {
        bail!(
            "perf wrote no data ({}):\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    let perf_path = tools.perf.path()?;
    let spinner = Progress::spinner("perf script | fold");
    let (folded_samples, script_warnings) =
        script_and_fold(perf_path, &attached.settings, &data, &dir.join(FOLDED))?;
    spinner.finish();
    record.warnings.extend(script_warnings);
    let counted =
        perf::count_records(&data).with_context(|| format!("cannot read {}", data.display()))?;
    record.absorb_count(&counted);
    finish_profile(
        &attached.settings,
        dir,
        attached.argv,
        record,
        attached.notes,
        folded_samples,
        tools,
    )
}
