//! Interrupts and the process-wide registry of children: Ctrl-C, SIGTERM
//! and SIGHUP stop every child group and every descendant, no child starts
//! and no result is committed after one, and the xtask exits 130.

use std::collections::BTreeSet;
use std::io::Read;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The exit status after an interrupt: 128 + SIGINT, as shells report it.
pub const INTERRUPTED_EXIT: u8 = 130;

/// Sends `signal` to the process group `pgid`; a group already gone is fine.
pub(super) fn signal_group(pgid: i32, signal: i32) {
    if let Ok(signal) = nix::sys::signal::Signal::try_from(signal) {
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), signal);
    }
}

/// Whether a process runs (a zombie does not count). pid 0 and negative
/// pids address process groups, not a process: never alive.
pub fn process_alive(pid: i32) -> bool {
    if pid <= 0 {
        return false;
    }
    // Signal 0 performs only the existence and permission check.
    match nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None) {
        Ok(()) | Err(nix::errno::Errno::EPERM) => {}
        Err(_) => return false,
    }
    // A zombie still answers kill(0); check its state to be exact.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
        Err(_) => cfg!(not(target_os = "linux")),
    }
}

/// What spawning, the interrupt handler and the commit of a result agree on,
/// under one lock: the live children's process groups and whether a signal
/// arrived. A child is spawned and registered under the lock, so the handler
/// never misses one; a result is committed under it, so after an interrupt
/// none is.
#[derive(Default)]
pub(super) struct Children {
    pub(super) groups: BTreeSet<i32>,
    /// The signal that interrupted the task.
    pub(super) interrupt: Option<nix::sys::signal::Signal>,
    /// Results committed before the interrupt (they are complete and kept).
    completed: usize,
    /// A recording that runs until Ctrl-C (`flamegraph --pid` without
    /// `--run-for`): the first SIGINT ends it instead of the task.
    ctrl_c_ends_recording: bool,
    /// What an interrupt runs first, by process group: see
    /// [`release_before_stop`].
    releases: Vec<(i32, Release)>,
}

/// Lets go of what a group holds before the group is stopped.
type Release = Box<dyn FnOnce() + Send>;

pub(super) fn children() -> std::sync::MutexGuard<'static, Children> {
    static CHILDREN: OnceLock<Mutex<Children>> = OnceLock::new();
    CHILDREN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

pub(super) fn unregister_group(pgid: i32) {
    if children().groups.remove(&pgid) {
        crate::runs::watchdog::forget_group(pgid);
    }
}

static INTERRUPTED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Set once the xtask is a child subreaper: only then are orphaned
/// descendants ours to find and stop (a unit test process is not one).
static SUBREAPER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Whether SIGINT, SIGTERM or SIGHUP arrived: a child that died of it is not
/// a workload failure, and the task's exit status is 130 either way.
pub fn interrupted() -> bool {
    INTERRUPTED.load(std::sync::atomic::Ordering::SeqCst)
}

/// The error of a step refused because the task was interrupted.
#[derive(Debug)]
pub struct Interrupted;

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("interrupted")
    }
}

impl std::error::Error for Interrupted {}

/// Fails once the task is interrupted: in-process phases (folding, SVG
/// rendering) call it between their steps, as child processes die of it.
pub fn check_interrupted() -> anyhow::Result<()> {
    if interrupted() {
        return Err(Interrupted.into());
    }
    Ok(())
}

/// Runs `commit` (the rename that makes a result complete) unless the task
/// is interrupted, atomically with respect to the interrupt: after a signal
/// no result becomes complete, and one completed before it is counted for
/// the interrupted line.
pub fn commit_unless_interrupted<T>(
    commit: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let mut state = children();
    if state.interrupt.is_some() {
        return Err(Interrupted.into());
    }
    let done = commit()?;
    state.completed += 1;
    Ok(done)
}

/// The signals that interrupt a task: Ctrl-C, and what CI cancellation,
/// `timeout` and a closed terminal send.
const INTERRUPT_SIGNALS: [nix::sys::signal::Signal; 3] = [
    nix::sys::signal::Signal::SIGINT,
    nix::sys::signal::Signal::SIGTERM,
    nix::sys::signal::Signal::SIGHUP,
];

/// The write end of the self-pipe: the signal handler's only way out.
static SIGNAL_PIPE: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(-1);

/// The signal handler: writes the signal's number to the self-pipe (write is
/// async-signal-safe; the pipe is non-blocking, so a burst of signals never
/// blocks it) and does nothing else.
extern "C" fn on_signal(signal: libc::c_int) {
    let fd = SIGNAL_PIPE.load(std::sync::atomic::Ordering::Relaxed);
    let byte = signal as u8;
    // SAFETY: writes one byte from a live local to a file descriptor.
    unsafe {
        libc::write(fd, (&byte as *const u8).cast(), 1);
    }
}

/// How long a phase that cannot notice the interrupt (stuck in a write to a
/// slow disk, say) may keep the xtask alive after every child is stopped.
const INTERRUPT_WATCHDOG: Duration = Duration::from_secs(10);

/// Installs the handling of SIGINT, SIGTERM and SIGHUP, all alike: every
/// descendant is stopped (SIGTERM, then SIGKILL), the task notices (its
/// children die, no new one starts, no result is committed), and the xtask
/// prints the interrupted line once and exits 130. A result being written
/// is removed (`results::Pending`); should the xtask die first, it stays
/// under its temporary name, which `cleanup` removes.
///
/// A self-pipe, not a blocked signal mask and `sigwait`: a mask is inherited
/// by every child (perf would ignore the SIGINT that makes it write its
/// data), whereas a caught signal reverts to its default action at exec.
/// The handler only writes to the pipe; a dedicated thread reads it and
/// does the work, free of async-signal-safety limits.
pub fn install_interrupt_handler() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    crate::runs::watchdog::start();
    let (reader, writer) = match std::io::pipe() {
        Ok(pipe) => pipe,
        Err(error) => {
            eprintln!("warning: cannot handle interrupts ({error}): Ctrl-C will not stop child processes cleanly");
            return;
        }
    };
    let writer = std::os::fd::OwnedFd::from(writer);
    let _ = nix::fcntl::fcntl(
        &writer,
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    );
    SIGNAL_PIPE.store(
        std::os::fd::IntoRawFd::into_raw_fd(writer),
        std::sync::atomic::Ordering::SeqCst,
    );
    SUBREAPER.store(
        crate::runs::descendants::become_subreaper(),
        std::sync::atomic::Ordering::SeqCst,
    );
    let spawned = std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            let mut reader = reader;
            let mut byte = [0u8; 1];
            while let Ok(1) = reader.read(&mut byte) {
                if let Ok(signal) = Signal::try_from(i32::from(byte[0])) {
                    on_interrupt(signal);
                }
            }
        });
    if spawned.is_err() {
        return;
    }
    // SA_RESTART: the main thread's reads and waits go on undisturbed; it
    // learns of the interrupt from its children's deaths and the flag.
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    for signal in INTERRUPT_SIGNALS {
        // SAFETY: the handler only loads an atomic and calls write(2).
        unsafe {
            let _ = sigaction(signal, &action);
        }
    }
}

/// Set when every descendant is stopped after an interrupt.
fn stopped() -> &'static (Mutex<Option<usize>>, Condvar) {
    static STOPPED: OnceLock<(Mutex<Option<usize>>, Condvar)> = OnceLock::new();
    STOPPED.get_or_init(Default::default)
}

/// Set when Ctrl-C ended a recording that waited for it.
static RECORDING_ENDED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// While `on` (a recording until Ctrl-C), the first SIGINT ends the
/// recording ([`recording_ended`] turns true) instead of interrupting the
/// task: the task then writes its result. SIGTERM, SIGHUP and a second
/// Ctrl-C interrupt as always.
pub fn ctrl_c_ends_recording(on: bool) {
    children().ctrl_c_ends_recording = on;
}

/// Whether Ctrl-C ended the recording (see [`ctrl_c_ends_recording`]).
pub fn recording_ended() -> bool {
    RECORDING_ENDED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Before an interrupt stops the process group `pgid`, `release` runs (on
/// the thread that handles signals, which then stops nothing else until it
/// returns) and must return once the group may be stopped. For a tool
/// attached to a process the task did not start: heaptrack attached with
/// `-p`, whose plain stop would take that process down with it, is first
/// detached from it. [`forget_release`] once the group has ended.
pub fn release_before_stop(pgid: i32, release: impl FnOnce() + Send + 'static) {
    children().releases.push((pgid, Box::new(release)));
}

/// Drops the release of the group `pgid` (it ended, or was released).
pub fn forget_release(pgid: i32) {
    children().releases.retain(|(group, _)| *group != pgid);
}

fn on_interrupt(signal: nix::sys::signal::Signal) {
    let (live, releases): (Vec<i32>, Vec<(i32, Release)>) = {
        let mut state = children();
        if state.interrupt.is_none()
            && state.ctrl_c_ends_recording
            && signal == nix::sys::signal::Signal::SIGINT
        {
            state.ctrl_c_ends_recording = false;
            RECORDING_ENDED.store(true, std::sync::atomic::Ordering::SeqCst);
            eprintln!("\nCtrl-C: ending the recording (press it again to abort)");
            return;
        }
        if state.interrupt.is_some() {
            drop(state);
            // A second signal: once every descendant is stopped, exit now
            // rather than wait for a phase that is slow to notice.
            let done = stopped().0.lock().map(|s| s.is_some()).unwrap_or(false);
            if done {
                exit_interrupted();
            }
            return;
        }
        state.interrupt = Some(signal);
        INTERRUPTED.store(true, std::sync::atomic::Ordering::SeqCst);
        (
            state.groups.iter().copied().collect(),
            std::mem::take(&mut state.releases),
        )
    };
    for (_, release) in releases {
        release();
    }
    let count = stop_everything(&live);
    let (lock, condvar) = stopped();
    *lock.lock().unwrap_or_else(|e| e.into_inner()) = Some(count);
    condvar.notify_all();
    // The task normally notices at once and exits through `exit`; this is
    // for a phase that cannot. Its own thread, so that a second signal is
    // still received meanwhile.
    let _ = std::thread::Builder::new()
        .name("interrupt watchdog".into())
        .spawn(|| {
            std::thread::sleep(INTERRUPT_WATCHDOG);
            exit_interrupted();
        });
}

/// Stops every child group and every descendant (setsid ones included, on
/// Linux): SIGTERM, a short grace, then SIGKILL until none is left. Returns
/// how many processes were stopped.
fn stop_everything(groups: &[i32]) -> usize {
    use crate::runs::descendants;
    // Counted: live processes only (a registered group may have just ended).
    let mut stopped: BTreeSet<i32> = groups
        .iter()
        .copied()
        .filter(|g| process_alive(*g))
        .collect();
    let live = || -> Vec<descendants::Descendant> {
        descendants::list()
            .into_iter()
            .filter(|d| !d.zombie)
            .collect()
    };
    for pgid in groups {
        signal_group(*pgid, libc::SIGTERM);
    }
    for descendant in live() {
        signal_process(descendant.pid, libc::SIGTERM);
        stopped.insert(descendant.pid);
    }
    let grace = Instant::now() + Duration::from_millis(500);
    while Instant::now() < grace && (!live().is_empty() || groups.iter().any(|g| process_alive(*g)))
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        for pgid in groups {
            signal_group(*pgid, libc::SIGKILL);
        }
        let left = live();
        for descendant in &left {
            signal_process(descendant.pid, libc::SIGKILL);
            stopped.insert(descendant.pid);
        }
        reap_adopted(true);
        if left.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stopped.len()
}

/// Reaps our zombie children that no one waits for: descendants adopted as
/// a subreaper. Registered children are left to their own `wait4`; our own
/// process group's children (cargo and git through xshell) to theirs, unless
/// `all` (after an interrupt their waiters' errors no longer matter).
pub(super) fn reap_adopted(all: bool) {
    let me = std::process::id() as i32;
    let own_group = nix::unistd::getpgrp().as_raw();
    let registered = children().groups.clone();
    for zombie in crate::runs::descendants::list() {
        if zombie.zombie
            && zombie.ppid == me
            && !registered.contains(&zombie.pid)
            && (all || zombie.pgrp != own_group)
        {
            let _ = nix::sys::wait::waitpid(
                nix::unistd::Pid::from_raw(zombie.pid),
                Some(nix::sys::wait::WaitPidFlag::WNOHANG),
            );
        }
    }
}

/// When the last registered child has ended: stops what its tree left
/// behind outside its process group (a `setsid` descendant, a daemon),
/// which the subreaper made ours. Processes in our own group (cargo, git)
/// are not a workload's. Returns the names of those stopped.
pub(super) fn sweep_orphans() -> Vec<String> {
    if !SUBREAPER.load(std::sync::atomic::Ordering::SeqCst) {
        return Vec::new();
    }
    let own_group = nix::unistd::getpgrp().as_raw();
    let mut stopped = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        // Under the lock: no child is being spawned (and not yet registered) meanwhile.
        let state = children();
        if !state.groups.is_empty() || state.interrupt.is_some() {
            break;
        }
        let left: Vec<_> = crate::runs::descendants::list()
            .into_iter()
            .filter(|d| !d.zombie && d.pgrp != own_group)
            .collect();
        drop(state);
        for orphan in &left {
            signal_process(orphan.pid, libc::SIGKILL);
            stopped.insert(format!("{} (pid {})", orphan.name, orphan.pid));
        }
        reap_adopted(false);
        if left.is_empty() || Instant::now() > deadline {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    stopped.into_iter().collect()
}

pub(super) fn signal_process(pid: i32, signal: i32) {
    if let Ok(signal) = nix::sys::signal::Signal::try_from(signal) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), signal);
    }
}

/// Ends the xtask after an interrupt: waits until every descendant is
/// stopped, prints the interrupted line (exactly once, whichever thread gets
/// here first) and exits 130.
pub fn exit_interrupted() -> ! {
    let count = {
        let (lock, condvar) = stopped();
        let mut count = lock.lock().unwrap_or_else(|e| e.into_inner());
        while count.is_none() {
            count = condvar.wait(count).unwrap_or_else(|e| e.into_inner());
        }
        count.unwrap_or(0)
    };
    // The first caller holds this until the process is gone; a second one
    // waits here and never prints.
    static PRINTING: Mutex<()> = Mutex::new(());
    let _printing = PRINTING.lock();
    let (signal, completed) = {
        let state = children();
        (state.interrupt, state.completed)
    };
    let signal = signal.map_or("a signal", |s| s.as_str());
    let results = match completed {
        0 => "no result was completed".to_string(),
        n => format!("the {n} result(s) completed before it are kept"),
    };
    eprintln!("\ninterrupted by {signal}: stopped {count} process(es); {results}");
    std::process::exit(INTERRUPTED_EXIT.into())
}

/// Ends the xtask with `code`, or as interrupted if a signal arrived: the
/// check and the exit happen under the lock the interrupt handler takes, so
/// a signal either counts or arrives after the task ended.
pub fn exit(code: u8) -> ! {
    let state = children();
    if state.interrupt.is_some() {
        drop(state);
        exit_interrupted();
    }
    std::process::exit(code.into())
}
