//! perf attached to a running server for the service scenario: started with
//! its events off, enabled through a control FIFO once it listens, stopped
//! with SIGINT, its recording folded afterwards.

use super::{finish_profile, fold_file, perf_settings, CpuProfile, Options, FOLDED, PERF_DATA};
use crate::runs::process::{self, Running, Spec};
use crate::runs::progress::Progress;
use crate::tools::{perf, Toolbox};
use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::path::Path;
use std::time::Duration;

/// perf sampling a running server, and the settings it was started with.
pub struct Attached {
    perf: Running,
    argv: Vec<String>,
    settings: perf::Settings,
    notes: Vec<String>,
    off_cpu: bool,
    /// Functions to annotate from the recording (`annotate`).
    annotate: usize,
}

/// Starts `perf record --pid` on a running server (the service scenario).
pub fn attach(
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
    pid: i32,
) -> anyhow::Result<Attached> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, notes) = perf_settings(options, tools);
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
    if options.off_cpu {
        spec.args =
            crate::tools::offcpu::record_args(spec.args, &settings, options.off_cpu_realtime);
    }
    spec.args.extend(perf::control_args(&ctl, &ack));
    spec.drop_capabilities = perf::record_drops_capabilities(&spec.args);
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
        off_cpu: options.off_cpu,
        annotate: options.annotate,
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
    let spinner = Progress::spinner("fold of perf.data");
    let folded = fold_file(
        &attached.settings,
        &data,
        &dir.join(FOLDED),
        attached.off_cpu,
    )?;
    spinner.finish();
    let folded_samples = folded.samples;
    let counted =
        perf::count_records(&data).with_context(|| format!("cannot read {}", data.display()))?;
    record.absorb_count(&counted);
    let profile = finish_profile(
        &attached.settings,
        dir,
        attached.argv,
        record,
        attached.notes,
        folded_samples,
        tools,
        attached.off_cpu.then_some(&counted),
    )?;
    let annotate = attached.annotate;
    Ok(super::annotate::add_to(profile, dir, folded, annotate))
}

/// A process that was running before the task and is left running after;
/// stored as is in run.json's `attached`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttachedProcess {
    pub pid: i32,
    /// Its command line (`/proc/PID/cmdline`).
    pub command_line: Vec<String>,
    /// How long perf sampled it.
    pub seconds: f64,
    /// What ended the recording: "--run-for 2 s" or "Ctrl-C".
    pub ended_by: String,
}

impl AttachedProcess {
    /// The workload name its result gets: `pid-` and its program's file name.
    pub fn workload_name(&self) -> String {
        let program = self
            .command_line
            .first()
            .and_then(|p| std::path::Path::new(p).file_name())
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "process".into());
        format!("pid-{program}")
    }
}

/// The command line of the running process `pid`, or why it cannot be
/// attached to: checked before anything is written.
pub fn running_process(pid: i32) -> anyhow::Result<Vec<String>> {
    if pid == std::process::id() as i32 {
        bail!("--pid {pid} is the xtask itself");
    }
    let words = match crate::runs::descendants::command_line(pid) {
        Some(words) if process::process_alive(pid) => words,
        _ => bail!(
            "no process with PID {pid} is running\n  help: `ps -p {pid}` shows it; `pgrep -a NAME` finds the PID of a program by name"
        ),
    };
    let me = nix::unistd::geteuid().as_raw();
    if let Some(owner) = crate::runs::descendants::owner(pid) {
        if let Some(refusal) = foreign_process(pid, &words.join(" "), owner, me) {
            bail!("{refusal}");
        }
    }
    Ok(words)
}

/// Why a process of another user cannot be attached to: the kernel lets
/// perf (and gdb, for heaptrack) into only the user's own processes unless
/// root runs them, whatever `perf_event_paranoid` says; perf's own message
/// would blame the level.
fn foreign_process(pid: i32, shown: &str, owner: u32, me: u32) -> Option<String> {
    if owner == me || me == 0 {
        return None;
    }
    let name = |uid: u32| {
        nix::unistd::User::from_uid(nix::unistd::Uid::from_raw(uid))
            .ok()
            .flatten()
            .map_or(format!("uid {uid}"), |user| {
                format!("{} (uid {uid})", user.name)
            })
    };
    let run_as = if owner == 0 {
        "root (sudo)".to_string()
    } else {
        format!("{}, or as root (sudo)", name(owner))
    };
    Some(format!(
        "PID {pid} ({shown}) belongs to {}, and you are {}: the kernel lets a user who is not \
         root attach only to their own processes\n  help: run the task as {run_as}",
        name(owner),
        name(me),
    ))
}

/// What ended a recording of a running process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    RunFor,
    CtrlC,
    /// The process ended during the recording.
    TargetExited,
    /// perf ended while the process kept running.
    PerfEnded,
}

/// `flamegraph --pid`: samples a process the xtask did not start, for
/// `run_for` or until Ctrl-C, and leaves it running.
pub fn profile_pid(
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
    pid: i32,
    run_for: Option<Duration>,
) -> anyhow::Result<(CpuProfile, AttachedProcess)> {
    let command_line = running_process(pid)?;
    let shown = command_line.join(" ");
    let attached = attach(tools, options, dir, pid)?;
    let started = std::time::Instant::now();
    match run_for {
        Some(seconds) => eprintln!(
            "perf: sampling PID {pid} ({shown}) for {:.1} s",
            seconds.as_secs_f64()
        ),
        None => {
            process::ctrl_c_ends_recording(true);
            eprintln!("perf: sampling PID {pid} ({shown}); press Ctrl-C to end the recording");
        }
    }
    let spinner = Progress::spinner(&format!("perf record --pid {pid}"));
    let end = loop {
        if run_for.is_some_and(|limit| started.elapsed() >= limit) {
            break End::RunFor;
        }
        if process::recording_ended() {
            break End::CtrlC;
        }
        if !process::process_alive(pid) {
            break End::TargetExited;
        }
        process::check_interrupted()?;
        if !attached.perf.is_running() {
            break if process::process_alive(pid) {
                End::PerfEnded
            } else {
                End::TargetExited
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    spinner.finish();
    process::ctrl_c_ends_recording(false);
    let seconds = started.elapsed().as_secs_f64();
    if end == End::PerfEnded {
        // Killed, out of memory, its disk full: what perf's data holds
        // is not the recording that was asked for.
        let outcome = attached.perf.stop(libc::SIGINT, Duration::from_secs(1));
        bail!(
            "perf record ended by itself after {seconds:.1} s while PID {pid} ({shown}) kept \
             running: {}; no profile is written (perf.data holds what was sampled)\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    if end == End::TargetExited {
        let outcome = attached.perf.stop(libc::SIGINT, Duration::from_secs(30));
        bail!(
            "PID {pid} ({shown}) exited after {seconds:.1} s of the recording: no profile is written \
             (perf.data holds what was sampled; `perf report -i` reads it)\n  help: attach to a process \
             that keeps running, or use a shorter --run-for\n{}",
            outcome.tail()
        );
    }
    let ended_by = match run_for {
        Some(limit) if end == End::RunFor => format!("--run-for {} s", limit.as_secs_f64()),
        _ => "Ctrl-C".to_string(),
    };
    let profile = finish_attached(attached, tools, dir)?;
    Ok((
        profile,
        AttachedProcess {
            pid,
            command_line,
            seconds,
            ended_by,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_root_attaches_to_another_user_s_process() {
        assert_eq!(foreign_process(7, "sleep 30", 1000, 1000), None);
        assert_eq!(foreign_process(7, "sleep 30", 1000, 0), None);
        let refusal = foreign_process(7, "sleep 30", 0, 65534).unwrap();
        assert!(
            refusal.starts_with("PID 7 (sleep 30) belongs to root (uid 0), and you are "),
            "{refusal}"
        );
        assert!(
            refusal.ends_with("help: run the task as root (sudo)"),
            "{refusal}"
        );
        let other = foreign_process(7, "x", 4_000_000, 65534).unwrap();
        assert!(
            other.ends_with("help: run the task as uid 4000000, or as root (sudo)"),
            "{other}"
        );
    }
}
