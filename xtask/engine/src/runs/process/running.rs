//! A started child: starting it in a process group of its own, waiting for
//! it, stopping it on purpose, and how it ended.

use super::echo::echo;
use super::output::{pipe_holders, pipe_inode, spawn_reader, Captured};
use super::signals::{
    children, interrupted, process_alive, reap_adopted, signal_group, signal_process,
    sweep_orphans, unregister_group, Interrupted,
};
use super::spec::{signal_name, stop_sequence, Spec};
use anyhow::Context;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// How long the output of a child that has ended may take to reach its end
/// before we look for who still holds the pipes (a descendant it left
/// behind, which keeps them open).
const OUTPUT_DRAIN: Duration = Duration::from_millis(300);

/// How long a wrapper (perf, heaptrack) may take to start its program
/// before a `run_for` clock starts anyway.
const WRAPPER_START: Duration = Duration::from_secs(2);

/// How a child ended, and what it cost.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: ExitStatus,
    pub timed_out: bool,
    pub wall: Duration,
    pub user: Duration,
    pub sys: Duration,
    /// Peak resident set size of the child, in bytes (from `wait4`).
    pub max_rss_bytes: u64,
    pub stdout_tail: Vec<String>,
    pub stderr_tail: Vec<String>,
    /// Whole lines that contained a `watch` string, in order.
    pub watched: Vec<String>,
    /// Set when the child was stopped on purpose (`run_for`, a server at
    /// the end of its load): the signals it was sent, in order.
    pub stopped: Option<Vec<i32>>,
}

impl Outcome {
    /// A child stopped on purpose succeeded, whatever its status says: it
    /// did not end by itself because it was not meant to.
    pub fn success(&self) -> bool {
        !self.timed_out && (self.status.success() || self.stopped.is_some())
    }

    /// How a child stopped on purpose was stopped: `SIGINT` or
    /// `SIGINT, SIGTERM` (it ignored the first).
    pub fn stopped_with(&self) -> Option<String> {
        self.stopped.as_ref().map(|signals| {
            signals
                .iter()
                .map(|s| signal_name(*s))
                .collect::<Vec<_>>()
                .join(", ")
        })
    }

    /// "exit status 3", "killed by signal 9 (SIGKILL), which the xtask did
    /// not send", "timed out after 10s and was stopped".
    pub fn describe(&self, timeout: Option<Duration>) -> String {
        if let Some(signals) = self.stopped_with() {
            return format!(
                "stopped on purpose after {:.1} s ({signals})",
                self.wall.as_secs_f64()
            );
        }
        if self.timed_out {
            return format!(
                "timed out after {:.0}s and was stopped",
                timeout.map_or(0.0, |t| t.as_secs_f64())
            );
        }
        match (self.status.code(), self.status.signal()) {
            (Some(code), _) => format!("exit status {code}"),
            // Signals the xtask sends are said above (a stop, a timeout) or
            // come from an interrupt; any other came from outside.
            (None, Some(signal)) if interrupted() => format!(
                "killed by signal {signal} ({}) as the task was interrupted",
                signal_name(signal)
            ),
            (None, Some(signal)) => format!(
                "killed by signal {signal} ({}), which the xtask did not send",
                signal_name(signal)
            ),
            _ => "ended abnormally".into(),
        }
    }

    /// The last lines of both streams, for an error report.
    pub fn tail(&self) -> String {
        let mut text = String::new();
        for (name, lines) in [("stdout", &self.stdout_tail), ("stderr", &self.stderr_tail)] {
            if !lines.is_empty() {
                text.push_str(&format!("--- last {} lines of {name} ---\n", lines.len()));
                for line in lines.iter() {
                    text.push_str(line);
                    text.push('\n');
                }
            }
        }
        text
    }
}

/// Whether process `pid` runs `target` through an interpreter or under
/// that very name: its exe is then `/bin/dash` or `/usr/bin/python3`, and
/// its argv `sh ...` (a `command = "sh"` workload) or `/bin/sh ./srv.sh`
/// (a script started by its path).
fn runs_script(pid: i32, target: &std::path::Path) -> bool {
    let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let target = target.as_os_str().as_encoded_bytes();
    let mut argv = cmdline.split(|&b| b == 0);
    let first = argv.next().unwrap_or_default();
    first == target || argv.next() == Some(target)
}

/// A started child.
pub struct Running {
    pub pid: i32,
    /// With `stdout_raw`: the child's stdout, to read.
    pub stdout: Option<std::process::ChildStdout>,
    spec: Spec,
    started: Instant,
    exit: mpsc::Receiver<(i32, libc::rusage, Instant)>,
    captured: Arc<(Mutex<Captured>, Condvar)>,
    /// The inodes of the pipes we read the child's output from: whoever
    /// still holds one once the child has ended was left behind by it.
    pipes: Vec<u64>,
    guard: GroupGuard,
}

/// Kills the child's process group if the `Running` is dropped without
/// being waited for (an early `?` return): no child outlives its task.
struct GroupGuard {
    pgid: i32,
    armed: std::sync::atomic::AtomicBool,
}

impl GroupGuard {
    fn disarm(&self) {
        self.armed.store(false, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if self.armed.load(std::sync::atomic::Ordering::SeqCst) {
            signal_group(self.pgid, libc::SIGKILL);
            unregister_group(self.pgid);
            sweep_orphans();
        }
    }
}

/// Starts a child in its own process group. Must be called from a thread
/// that outlives the child (the main thread in practice): Linux delivers
/// `PDEATHSIG` when the spawning *thread* exits.
pub fn start(spec: Spec) -> anyhow::Result<Running> {
    echo(&spec.display());
    let mut command = command_for(&spec);
    let (mut child, started) = spawn_registered(&mut command, &spec)?;
    let pid = child.id() as i32;
    let captured = Arc::new((Mutex::new(Captured::default()), Condvar::new()));
    let mut pipes = Vec::new();
    let stdout = child.stdout.take();
    pipes.extend(stdout.as_ref().and_then(pipe_inode));
    pipes.extend(child.stderr.as_ref().and_then(pipe_inode));
    let raw_stdout = if spec.stdout_raw {
        stdout
    } else {
        if let Some(stdout) = stdout {
            spawn_reader(stdout, true, spec.watch.clone(), captured.clone());
        }
        None
    };
    if let Some(stderr) = child.stderr.take() {
        spawn_reader(stderr, false, spec.watch.clone(), captured.clone());
    }
    let exit = spawn_waiter(pid);
    drop(child);
    Ok(Running {
        guard: GroupGuard {
            pgid: pid,
            armed: true.into(),
        },
        pid,
        stdout: raw_stdout,
        spec,
        started,
        exit,
        captured,
        pipes,
    })
}

/// The command that runs `spec`: argv, environment, directory and pipes as
/// it says, in a process group of its own, marked for the watchdog.
fn command_for(spec: &Spec) -> Command {
    let mut command = Command::new(&spec.program);
    command
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    if spec.inherit_output {
        command.stdout(Stdio::inherit()).stderr(Stdio::inherit());
    } else {
        command.stdout(Stdio::piped()).stderr(Stdio::piped());
    }
    // The mark by which the watchdog finds what a child left behind should
    // the xtask be killed outright.
    command.env(
        crate::runs::watchdog::OWNER_VAR,
        crate::runs::watchdog::owner(),
    );
    if !spec.answer_only || !spec.drop_capabilities.is_empty() {
        die_with_us_and_drop(&mut command, spec.drop_capabilities);
    }
    command
}

/// Between fork and exec: the child dies with us (`PDEATHSIG`) and loses
/// `drop_capabilities`.
fn die_with_us_and_drop(command: &mut Command, drop_capabilities: &'static [u32]) {
    // SAFETY: between fork and exec the closure makes only signal and prctl
    // calls, which are async-signal-safe, and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            // The child starts with the default action of the signals that
            // stop it, whatever we inherited: a signal ignored here (a task
            // started in the background by a script ignores SIGINT) would
            // otherwise be ignored by the child too, and its stop by SIGINT
            // would need SIGTERM.
            for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
                libc::signal(signal, libc::SIG_DFL);
            }
            #[cfg(target_os = "linux")]
            {
                nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                for &capability in drop_capabilities {
                    // Failures (EPERM without CAP_SETPCAP) leave the child as it was.
                    let (capability, none) = (libc::c_ulong::from(capability), 0 as libc::c_ulong);
                    let lower = libc::PR_CAP_AMBIENT_LOWER as libc::c_ulong;
                    libc::prctl(libc::PR_CAP_AMBIENT, lower, capability, none, none);
                    libc::prctl(libc::PR_CAPBSET_DROP, capability, none, none, none);
                }
            }
            #[cfg(not(target_os = "linux"))]
            let _ = drop_capabilities;
            Ok(())
        });
    }
}

/// Spawns the child and registers its group, under the lock the interrupt
/// handler takes: a child either starts before an interrupt (and is stopped
/// by it) or not at all. Returns it with the time it started.
fn spawn_registered(
    command: &mut Command,
    spec: &Spec,
) -> anyhow::Result<(std::process::Child, Instant)> {
    let mut state = children();
    if state.interrupt.is_some() && !spec.after_interrupt {
        return Err(Interrupted.into());
    }
    let child = command.spawn().with_context(|| {
        format!(
            "cannot start `{}`{}",
            spec.program.display(),
            if spec.program.components().count() == 1 {
                " (is it installed and on PATH?)"
            } else {
                ""
            }
        )
    })?;
    let started = Instant::now();
    let pid = child.id() as i32;
    state.groups.insert(pid);
    crate::runs::watchdog::watch_group(pid);
    drop(state);
    Ok((child, started))
}

/// A thread that waits for the child and reports its status, rusage and end.
/// `wait4` instead of `Child::wait`: it reports the child's own rusage
/// (user, sys, max RSS), as hyperfine does.
fn spawn_waiter(pid: i32) -> mpsc::Receiver<(i32, libc::rusage, Instant)> {
    let (sender, exit) = mpsc::channel();
    std::thread::spawn(move || {
        let mut status = 0;
        // SAFETY: zeroed rusage is a valid value; wait4 fills it.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        loop {
            let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
            if r == pid {
                break;
            }
            if r == -1 && std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
                break;
            }
        }
        let _ = sender.send((status, usage, Instant::now()));
    });
    exit
}

impl Running {
    /// Waits until a watched line containing `text` appears, the child
    /// exits, or the timeout passes. Returns whether the line appeared.
    pub fn wait_for_line(&self, text: &str, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let (lock, condvar) = &*self.captured;
        let mut captured = lock.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if captured.watched.iter().any(|l| l.contains(text)) {
                return true;
            }
            let now = Instant::now();
            if now >= deadline || !process_alive(self.pid) {
                return false;
            }
            let wait = (deadline - now).min(Duration::from_millis(100));
            captured = condvar
                .wait_timeout(captured, wait)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub fn is_running(&self) -> bool {
        process_alive(self.pid)
    }

    /// Sends a signal to the child's whole process group.
    pub fn signal(&self, signal: i32) {
        signal_group(self.pid, signal);
    }

    /// Waits for the child, stopping its group when the spec's timeout
    /// passes; with `run_for`, stops it on purpose when that time is up.
    pub fn wait(self) -> Outcome {
        if let Some(run_for) = self.spec.run_for {
            if self.wraps_target() {
                // The program's time starts when its wrapper (perf) has
                // started it, which takes a while on a busy machine; a target
                // never found (a script, whose exe is its interpreter) does
                // not hold the clock back for more than that.
                let waited = Instant::now();
                while self.target_pids().is_empty()
                    && self.is_running()
                    && waited.elapsed() < WRAPPER_START
                {
                    std::thread::sleep(Duration::from_millis(5));
                }
            }
            return match self.exit.recv_timeout(run_for.duration) {
                Ok(done) => {
                    self.reap_group();
                    self.outcome(done, false)
                }
                Err(_) => self.stop(run_for.signal, run_for.grace),
            };
        }
        let timeout = self.spec.timeout;
        self.finish(timeout, None)
    }

    /// Stops the child on purpose: `signal`, then SIGTERM after `grace`,
    /// then SIGKILL after another `grace`, each sent to the spec's
    /// `stop_target` (else the whole group); then whatever is left of the
    /// group goes. For `run_for`, servers and perf attached with `-p`.
    pub fn stop(self, signal: i32, grace: Duration) -> Outcome {
        // A child that ended by itself (a server that crashed, or was killed
        // from outside) was not stopped: its own exit status tells what
        // happened. One that is no longer running has ended even if its
        // waiter has not yet reported it.
        let ended = match self.is_running() {
            true => self.exit.try_recv().ok(),
            false => self.exit.recv_timeout(Duration::from_secs(5)).ok(),
        };
        if let Some(done) = ended {
            self.reap_group();
            return self.outcome(done, false);
        }
        let wrapped = self.wraps_target();
        if wrapped {
            // A wrapper may not have started its program yet (perf on a busy
            // machine): the program, not the wrapper, must get the signal.
            // Past its start-up a program not found never will be (valgrind
            // runs it as its own process): the group gets the signals then.
            let deadline = (Instant::now() + grace).min(self.started + WRAPPER_START);
            while self.target_pids().is_empty() && Instant::now() < deadline && self.is_running() {
                std::thread::sleep(Duration::from_millis(10));
            }
        }
        // Only a program seen running can be seen to end before its wrapper.
        let seen = wrapped && !self.target_pids().is_empty();
        let mut sent = Vec::new();
        for next in stop_sequence(signal) {
            sent.push(next);
            self.signal_target(next);
            if let Ok(done) = self.exit.recv_timeout(grace) {
                self.reap_group();
                let mut outcome = self.outcome(done, false);
                outcome.stopped = Some(sent);
                return outcome;
            }
            if seen && self.target_pids().is_empty() {
                // The program ended; its wrapper (heaptrack, perf) is still
                // writing its data: escalating now would lose it.
                let limit = self.spec.timeout;
                let mut outcome = self.finish(limit, None);
                outcome.stopped = Some(sent);
                return outcome;
            }
        }
        let mut outcome = self.finish(Some(Duration::ZERO), Some(signal));
        outcome.stopped = Some(sent);
        outcome
    }

    /// How long after the child (a wrapper such as heaptrack's script) its
    /// `stop_target` program started, from the kernel's start times of both
    /// (`/proc/PID/stat`, in clock ticks): what turns a time on our clock
    /// into one on the program's own (the clock heaptrack's timeline uses).
    /// None when the program is not running or not found.
    pub fn target_started_after(&self) -> Option<Duration> {
        let started = |pid: i32| -> Option<u64> {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // After the `(comm)` field, starttime is the 20th field.
            stat.rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(19)?
                .parse()
                .ok()
        };
        let target = *self.target_pids().first()?;
        let after = started(target)?.checked_sub(started(self.pid)?)?;
        Some(Duration::from_secs_f64(
            after as f64 * crate::runs::descendants::clock_tick_s(),
        ))
    }

    /// Whether the spec's `stop_target` runs under a wrapper (perf,
    /// heaptrack) rather than being the spec's program itself (a plain run,
    /// whose program may be a script that its interpreter runs).
    fn wraps_target(&self) -> bool {
        let Some(target) = &self.spec.stop_target else {
            return false;
        };
        let canonical = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or(p.to_path_buf());
        canonical(target) != canonical(&self.spec.program)
    }

    /// The live processes of the group running the spec's `stop_target`.
    fn target_pids(&self) -> Vec<i32> {
        let Some(target) = &self.spec.stop_target else {
            return Vec::new();
        };
        let canonical = std::fs::canonicalize(target).unwrap_or_else(|_| target.clone());
        crate::runs::descendants::list()
            .into_iter()
            .filter(|d| !d.zombie && d.pgrp == self.pid && d.pid != self.pid)
            .filter(|d| {
                std::fs::read_link(format!("/proc/{}/exe", d.pid)).is_ok_and(|exe| exe == canonical)
                    || runs_script(d.pid, target)
            })
            .map(|d| d.pid)
            .collect()
    }

    /// Sends a stop signal to the processes of the group running the spec's
    /// `stop_target`, or to the group when none does (or none is set).
    fn signal_target(&self, signal: i32) {
        let running = self.target_pids();
        if running.is_empty() {
            self.signal(signal);
        } else {
            for pid in running {
                signal_process(pid, signal);
            }
        }
    }

    fn finish(self, limit: Option<Duration>, stop_signal: Option<i32>) -> Outcome {
        let received = match limit {
            Some(limit) => self.exit.recv_timeout(limit).ok(),
            None => self.exit.recv().ok(),
        };
        let mut timed_out = false;
        let (status, usage, ended) = match received {
            Some(done) => done,
            None => {
                timed_out = stop_signal.is_none();
                // Politely first (perf writes its data on SIGTERM/SIGINT), then for good.
                if stop_signal.is_none() {
                    self.signal(libc::SIGTERM);
                    if let Ok(done) = self.exit.recv_timeout(Duration::from_secs(2)) {
                        self.reap_group();
                        return self.outcome(done, true);
                    }
                }
                self.signal(libc::SIGKILL);
                self.exit.recv().unwrap_or((
                    libc::SIGKILL,
                    // SAFETY: rusage is plain integers; all zeros is a valid value.
                    unsafe { std::mem::zeroed() },
                    Instant::now(),
                ))
            }
        };
        self.reap_group();
        self.outcome((status, usage, ended), timed_out)
    }

    /// Anything the child left behind in its group goes with it, and once no
    /// child runs, anything left outside its group too (`setsid`).
    fn reap_group(&self) {
        self.signal(libc::SIGKILL);
        unregister_group(self.pid);
        self.guard.disarm();
        let orphans = sweep_orphans();
        if !orphans.is_empty() {
            eprintln!(
                "warning: stopped {} process(es) left running after `{}` ended: {}",
                orphans.len(),
                self.program_name(),
                orphans.join(", ")
            );
        }
    }

    /// Waits for the child's output to reach its end, now that the child has
    /// ended. Whatever still holds the pipes was left behind by it (a
    /// `setsid` descendant outside its group): it is stopped, as the group
    /// was, so that the output ends and no phase waits on it for ever. A
    /// reader that still does not finish is left behind with what it read.
    fn drain_output(&self) {
        if self.readers_done(OUTPUT_DRAIN) {
            return;
        }
        // Only what this xtask started (its mark) is stopped; another
        // process given the pipe is named, and left alone.
        let (holders, strangers): (Vec<_>, Vec<_>) = pipe_holders(&self.pipes)
            .into_iter()
            .partition(|(pid, _)| crate::runs::watchdog::is_ours(*pid));
        for (pid, name) in &strangers {
            eprintln!(
                "warning: {name} (pid {pid}), which the xtask did not start, holds the output of `{}` open",
                self.program_name()
            );
        }
        if !holders.is_empty() {
            for (pid, _) in &holders {
                signal_process(*pid, libc::SIGKILL);
            }
            let names: Vec<String> = holders
                .iter()
                .map(|(pid, name)| format!("{name} (pid {pid})"))
                .collect();
            eprintln!(
                "warning: stopped {} process(es) left running after `{}` ended: {}",
                names.len(),
                self.program_name(),
                names.join(", ")
            );
            reap_adopted(false);
        }
        if !self.readers_done(Duration::from_secs(2)) {
            eprintln!(
                "warning: the output of `{}` did not end with it; what it printed until now is kept",
                self.program_name()
            );
        }
    }

    /// The program for messages: the workload under its wrapper (`perf`)
    /// when there is one.
    fn program_name(&self) -> String {
        let program = self.spec.program.display();
        match &self.spec.stop_target {
            Some(target) if self.wraps_target() => {
                format!("{} (under {program})", target.display())
            }
            _ => program.to_string(),
        }
    }

    /// Whether every reader thread has reached the end of its stream within
    /// `wait`.
    fn readers_done(&self, wait: Duration) -> bool {
        let deadline = Instant::now() + wait;
        let (lock, condvar) = &*self.captured;
        let mut captured = lock.lock().unwrap_or_else(|e| e.into_inner());
        while captured.open_readers > 0 {
            let now = Instant::now();
            if now >= deadline {
                return false;
            }
            captured = condvar
                .wait_timeout(captured, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
        true
    }

    fn outcome(
        self,
        (status, usage, ended): (i32, libc::rusage, Instant),
        timed_out: bool,
    ) -> Outcome {
        self.drain_output();
        let captured =
            std::mem::take(&mut *self.captured.0.lock().unwrap_or_else(|e| e.into_inner()));
        let timeval = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
        // Linux reports ru_maxrss in KiB, macOS in bytes.
        let rss_unit = if cfg!(target_os = "macos") { 1 } else { 1024 };
        super::tally::record(super::tally::ChildCpu {
            program: self.spec.program.clone(),
            stop_target: self.spec.stop_target.clone(),
            cpu: timeval(usage.ru_utime) + timeval(usage.ru_stime),
        });
        Outcome {
            status: ExitStatus::from_raw(status),
            timed_out,
            wall: ended - self.started,
            user: timeval(usage.ru_utime),
            sys: timeval(usage.ru_stime),
            max_rss_bytes: usage.ru_maxrss.max(0) as u64 * rss_unit,
            stdout_tail: captured.stdout_tail.into(),
            stderr_tail: captured.stderr_tail.into(),
            watched: captured.watched.into(),
            stopped: None,
        }
    }
}
