//! Running one child program: argv (never a shell), a process group of its
//! own, a timeout, resource usage from the OS, and the tails of its output.
//!
//! Why a process group: a workload may start children of its own (a profiler
//! certainly does), and stopping only the direct child would leave the rest
//! running. Every child is registered so that Ctrl-C, SIGTERM and SIGHUP stop
//! every group before the xtask exits; on Linux the child also gets
//! `PR_SET_PDEATHSIG`, so even a `kill -9` of the xtask takes it down, and the
//! xtask is a child subreaper, so descendants that left the group (`setsid`)
//! are found and stopped too (`runs::descendants`).

use anyhow::{bail, Context};
use std::collections::{BTreeSet, VecDeque};
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// `-v`: print every external command exactly as run, so that any step can
/// be repeated by hand.
pub fn set_verbose(on: bool) {
    VERBOSE.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Prints a command line under `-v`.
pub fn echo(display: &str) {
    if verbose() {
        eprintln!("$ {display}");
    }
}

/// The exit status after an interrupt: 128 + SIGINT, as shells report it.
pub const INTERRUPTED_EXIT: u8 = 130;

/// Lines of each stream kept for error reports.
const TAIL_LINES: usize = 40;

/// The longest line kept of a child's output; the rest of a longer line is
/// read and dropped, so that a workload printing one endless line cannot
/// fill our memory.
const LINE_LIMIT: usize = 16 << 10;

/// The most bytes of watched lines kept: past it the oldest go (metrics take
/// the last value printed), so that a workload printing its metric line
/// millions of times cannot fill our memory either.
const WATCHED_LIMIT: usize = 4 << 20;

/// How long the output of a child that has ended may take to reach its end
/// before we look for who still holds the pipes (a descendant it left
/// behind, which keeps them open).
const OUTPUT_DRAIN: Duration = Duration::from_millis(300);

/// What to run. Built by the caller from the config; argv goes to `execve`
/// as is.
#[derive(Debug, Clone, Default)]
pub struct Spec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub env: Vec<(String, String)>,
    pub cwd: Option<PathBuf>,
    pub timeout: Option<Duration>,
    /// Lines containing any of these are kept whole (metrics, readiness).
    pub watch: Vec<String>,
    /// Let the child write straight to our terminal instead of capturing
    /// (cargo's own output in pre-release).
    pub inherit_output: bool,
    /// Raw pipes instead of line capture, for streaming tools (perf record's
    /// data into perf script): see [`Running::stdin`] and [`Running::stdout`].
    pub stdin_piped: bool,
    pub stdout_raw: bool,
    /// Run for this long, then stop on purpose (`--run-for`, `run_for`):
    /// the run is then a success, not a timeout. Replaces `timeout`.
    pub run_for: Option<RunFor>,
    /// The program whose processes receive the stop signals (the workload
    /// under a wrapper such as heaptrack or perf): the wrapper then sees its
    /// program end and finishes writing its data. None: the whole group.
    pub stop_target: Option<PathBuf>,
    /// Linux capabilities (`CAP_*` numbers) taken from the child's bounding
    /// and ambient sets before it starts, so that a child started as root
    /// runs without them, and so does everything it starts. Best effort:
    /// without CAP_SETPCAP (not root) the sets stay as they are, and so does
    /// a capability in the inheritable set (empty for root by default).
    pub drop_capabilities: &'static [u32],
    /// The child only writes its answer to our pipe (objdump's listing, a
    /// bench's list): if we die it ends at its next write (SIGPIPE), so it
    /// needs no death signal, and without that hook std starts it with
    /// posix_spawn (vfork) instead of fork, which copies our page tables:
    /// about 10 ms a child here once a profile's DWARF is loaded.
    pub answer_only: bool,
}

/// How long a wrapper (perf, heaptrack) may take to start its program
/// before a `run_for` clock starts anyway.
const WRAPPER_START: Duration = Duration::from_secs(2);

/// How a run that lasts until it is stopped is stopped.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunFor {
    pub duration: Duration,
    /// The first signal (`stop_signal`, SIGINT by default); SIGTERM and then
    /// SIGKILL follow, each after `grace`.
    pub signal: i32,
    pub grace: Duration,
}

/// A stop: the signal the program receives first, SIGTERM if it is still
/// running after `grace`, SIGKILL after another `grace`.
pub fn stop_sequence(first: i32) -> Vec<i32> {
    let mut sequence = vec![first];
    for next in [libc::SIGTERM, libc::SIGKILL] {
        if !sequence.contains(&next) && !sequence.contains(&libc::SIGKILL) {
            sequence.push(next);
        }
    }
    sequence
}

/// A signal's name, `SIGINT`, for messages and records.
pub fn signal_name(signal: i32) -> String {
    nix::sys::signal::Signal::try_from(signal)
        .map(|s| s.as_str().to_string())
        .unwrap_or_else(|_| format!("signal {signal}"))
}

impl Spec {
    pub fn new(program: impl Into<PathBuf>) -> Spec {
        Spec {
            program: program.into(),
            ..Spec::default()
        }
    }

    #[cfg(test)]
    pub fn arg(mut self, arg: impl Into<OsString>) -> Spec {
        self.args.push(arg.into());
        self
    }

    pub fn args<I: IntoIterator<Item = S>, S: Into<OsString>>(mut self, args: I) -> Spec {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// argv as strings, program first, for run.json.
    pub fn argv(&self) -> Vec<String> {
        std::iter::once(self.program.to_string_lossy().into_owned())
            .chain(self.args.iter().map(|a| a.to_string_lossy().into_owned()))
            .collect()
    }

    /// The command line as a person would type it (for `-v` and reports).
    pub fn display(&self) -> String {
        let mut words = Vec::new();
        for (k, v) in &self.env {
            words.push(format!("{k}={}", shell_quote(v)));
        }
        words.push(shell_quote(&self.program.to_string_lossy()));
        words.extend(self.args.iter().map(|a| shell_quote(&a.to_string_lossy())));
        words.join(" ")
    }
}

/// Quotes a word for a POSIX shell, only when it needs it.
pub fn shell_quote(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c));
    if safe {
        word.to_string()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

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

/// Output collected by the reader threads.
#[derive(Default)]
struct Captured {
    stdout_tail: VecDeque<String>,
    stderr_tail: VecDeque<String>,
    watched: VecDeque<String>,
    watched_bytes: usize,
    /// Reader threads still reading (their stream not yet at its end).
    open_readers: usize,
}

impl Captured {
    fn keep_watched(&mut self, line: String) {
        self.watched_bytes += line.len();
        self.watched.push_back(line);
        while self.watched_bytes > WATCHED_LIMIT && self.watched.len() > 1 {
            let oldest = self.watched.pop_front().unwrap_or_default();
            self.watched_bytes -= oldest.len();
        }
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
    /// With `stdin_piped`: the child's stdin, to write and then drop.
    pub stdin: Option<std::process::ChildStdin>,
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
    if spec.stdin_piped {
        command.stdin(Stdio::piped());
    }
    // The mark by which the watchdog finds what a child left behind should
    // the xtask be killed outright.
    if let Some(owner) = crate::runs::watchdog::owner() {
        command.env(crate::runs::watchdog::OWNER_VAR, owner);
    }
    let drop_capabilities = spec.drop_capabilities;
    if !spec.answer_only || !drop_capabilities.is_empty() {
        // SAFETY: between fork and exec the closure makes only prctl calls,
        // which are async-signal-safe, and allocates nothing.
        unsafe {
            command.pre_exec(move || {
                #[cfg(target_os = "linux")]
                {
                    nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
                    for &capability in drop_capabilities {
                        // Failures (EPERM without CAP_SETPCAP) leave the child as it was.
                        let (capability, none) =
                            (libc::c_ulong::from(capability), 0 as libc::c_ulong);
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
    // Spawned and registered under the lock the interrupt handler takes: a
    // child either starts before an interrupt (and is stopped by it) or not
    // at all.
    let mut state = children();
    if state.interrupt.is_some() {
        return Err(Interrupted.into());
    }
    let mut child = command.spawn().with_context(|| {
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

    let captured = Arc::new((Mutex::new(Captured::default()), Condvar::new()));
    let mut pipes = Vec::new();
    let stdout = child.stdout.take();
    let stdin = child.stdin.take();
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
    // `wait4` instead of `Child::wait`: it reports the child's own rusage
    // (user, sys, max RSS), as hyperfine does.
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
    drop(child);
    Ok(Running {
        guard: GroupGuard {
            pgid: pid,
            armed: true.into(),
        },
        pid,
        stdin,
        stdout: raw_stdout,
        spec,
        started,
        exit,
        captured,
        pipes,
    })
}

/// The inode of a pipe, by which the processes holding its other end are
/// found in `/proc/PID/fd`.
fn pipe_inode(pipe: &impl std::os::fd::AsFd) -> Option<u64> {
    nix::sys::stat::fstat(pipe.as_fd())
        .ok()
        .map(|stat| stat.st_ino)
}

/// Reads one output stream of a child as it comes, in chunks: keeps the
/// watched lines and a tail, each line cut at [`LINE_LIMIT`]. The chunk,
/// not the line, is the unit of work (one lock, one search per watched text),
/// so that a workload printing millions of short lines is not slowed down
/// by our reading.
fn spawn_reader(
    mut stream: impl Read + Send + 'static,
    is_stdout: bool,
    watch: Vec<String>,
    captured: Arc<(Mutex<Captured>, Condvar)>,
) {
    captured
        .0
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .open_readers += 1;
    std::thread::spawn(move || {
        let mut lines = OutputLines::new(&watch);
        let mut chunk = vec![0u8; 64 << 10];
        loop {
            let read = match stream.read(&mut chunk) {
                Ok(0) => None,
                Ok(n) => Some(n),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(_) => None,
            };
            match read {
                Some(n) => lines.feed(&chunk[..n]),
                None => lines.end(),
            }
            lines.publish(is_stdout, &captured);
            if read.is_none() {
                break;
            }
        }
        let (lock, condvar) = &*captured;
        lock.lock().unwrap_or_else(|e| e.into_inner()).open_readers -= 1;
        condvar.notify_all();
    });
}

/// Splits a stream into lines: those containing a watched text, and the
/// last [`TAIL_LINES`], each cut at [`LINE_LIMIT`] bytes.
struct OutputLines {
    watch: Vec<memchr::memmem::Finder<'static>>,
    /// The start of a line whose end has not arrived yet (at most the limit).
    pending: Vec<u8>,
    /// The pending line is past the limit: the rest of it is dropped.
    skipping: bool,
    /// Found since the last publish, in order.
    watched: Vec<String>,
    tail: VecDeque<String>,
}

impl OutputLines {
    fn new(watch: &[String]) -> OutputLines {
        OutputLines {
            watch: watch
                .iter()
                .filter(|w| !w.is_empty())
                .map(|w| memchr::memmem::Finder::new(w.as_bytes()).into_owned())
                .collect(),
            pending: Vec::new(),
            skipping: false,
            watched: Vec::new(),
            tail: VecDeque::new(),
        }
    }

    fn feed(&mut self, mut data: &[u8]) {
        if !self.pending.is_empty() || self.skipping {
            let Some(end) = memchr::memchr(b'\n', data) else {
                self.keep_pending(data);
                return;
            };
            self.keep_pending(&data[..end]);
            let line = std::mem::take(&mut self.pending);
            self.skipping = false;
            self.line(&line);
            data = &data[end + 1..];
        }
        let complete = memchr::memrchr(b'\n', data).map_or(0, |end| end + 1);
        self.lines(&data[..complete]);
        self.keep_pending(&data[complete..]);
    }

    /// The stream ended: a last line without a newline is a line too.
    fn end(&mut self) {
        if !self.pending.is_empty() {
            let line = std::mem::take(&mut self.pending);
            self.line(&line);
        }
        self.skipping = false;
    }

    fn keep_pending(&mut self, part: &[u8]) {
        let room = LINE_LIMIT - self.pending.len();
        if part.len() > room {
            self.skipping = true;
        }
        self.pending
            .extend_from_slice(&part[..part.len().min(room)]);
    }

    /// Complete lines, each ending with a newline: the watched ones are found
    /// by searching the whole region, the tail by walking back from its end.
    fn lines(&mut self, region: &[u8]) {
        if region.is_empty() {
            return;
        }
        let mut starts: Vec<usize> = Vec::new();
        for finder in &self.watch {
            for found in finder.find_iter(region) {
                let start = memchr::memrchr(b'\n', &region[..found]).map_or(0, |nl| nl + 1);
                // Only what is kept of a line counts, however it arrived.
                if found + finder.needle().len() <= start + LINE_LIMIT {
                    starts.push(start);
                }
            }
        }
        starts.sort_unstable();
        starts.dedup();
        for start in starts {
            let end = start + memchr::memchr(b'\n', &region[start..]).unwrap_or(0);
            self.watched.push(text_of(&region[start..end]));
        }
        // The last lines, walking back from the region's end one newline at a time.
        let body = &region[..region.len() - 1];
        let mut start = body.len() + 1;
        let mut count = 0;
        while count < TAIL_LINES && start > 0 {
            start = memchr::memrchr(b'\n', &body[..start - 1]).map_or(0, |nl| nl + 1);
            count += 1;
        }
        for line in body[start..].split(|&b| b == b'\n') {
            self.push_tail(text_of(line));
        }
    }

    fn line(&mut self, line: &[u8]) {
        if self.watch.iter().any(|w| w.find(line).is_some()) {
            self.watched.push(text_of(line));
        }
        self.push_tail(text_of(line));
    }

    fn push_tail(&mut self, line: String) {
        if self.tail.len() == TAIL_LINES {
            self.tail.pop_front();
        }
        self.tail.push_back(line);
    }

    /// Hands what was found since the last call to the [`Captured`] output.
    fn publish(&mut self, is_stdout: bool, captured: &(Mutex<Captured>, Condvar)) {
        let (lock, condvar) = captured;
        let mut captured = lock.lock().unwrap_or_else(|e| e.into_inner());
        if !self.watched.is_empty() {
            for line in self.watched.drain(..) {
                captured.keep_watched(line);
            }
            condvar.notify_all();
        }
        let tail = if is_stdout {
            &mut captured.stdout_tail
        } else {
            &mut captured.stderr_tail
        };
        for line in self.tail.drain(..) {
            if tail.len() == TAIL_LINES {
                tail.pop_front();
            }
            tail.push_back(line);
        }
    }
}

/// A line as text: invalid UTF-8 replaced, trailing white space (`\r`) gone,
/// at most [`LINE_LIMIT`] bytes.
fn text_of(line: &[u8]) -> String {
    String::from_utf8_lossy(&line[..line.len().min(LINE_LIMIT)])
        .trim_end()
        .to_string()
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
        // SAFETY: sysconf only reads a configuration value.
        let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
        let ticks = if ticks > 0 { ticks as f64 } else { 100.0 };
        let after = started(target)?.checked_sub(started(self.pid)?)?;
        Some(Duration::from_secs_f64(after as f64 / ticks))
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
        let holders = pipe_holders(&self.pipes);
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

/// Runs a child to completion.
pub fn run(spec: Spec) -> anyhow::Result<Outcome> {
    Ok(start(spec)?.wait())
}

/// Runs a child and fails with its output tail unless it succeeds.
pub fn run_checked(spec: Spec) -> anyhow::Result<Outcome> {
    let timeout = spec.timeout;
    let display = spec.display();
    let outcome = run(spec)?;
    if !outcome.success() {
        bail!(
            "`{display}` failed: {}\n{}",
            outcome.describe(timeout),
            outcome.tail()
        );
    }
    Ok(outcome)
}

/// Runs a child to its end and returns all it printed on stdout; fails
/// with its output tail unless it succeeds. For listings that are parsed
/// whole (objdump's disassembly, criterion's benchmarks).
pub fn stdout_of(mut spec: Spec) -> anyhow::Result<String> {
    spec.stdout_raw = true;
    spec.answer_only = true;
    let display = spec.display();
    let mut child = start(spec)?;
    let mut text = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        std::io::Read::read_to_string(&mut stdout, &mut text)
            .with_context(|| format!("cannot read the output of `{display}`"))?;
    }
    let outcome = child.wait();
    if !outcome.success() {
        bail!(
            "`{display}` failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(text)
}

/// Sends `signal` to the process group `pgid`; a group already gone is fine.
fn signal_group(pgid: i32, signal: i32) {
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
struct Children {
    groups: BTreeSet<i32>,
    /// The signal that interrupted the task.
    interrupt: Option<nix::sys::signal::Signal>,
    /// Results committed before the interrupt (they are complete and kept).
    completed: usize,
    /// A recording that runs until Ctrl-C (`flamegraph --pid` without
    /// `--run-for`): the first SIGINT ends it instead of the task.
    ctrl_c_ends_recording: bool,
}

fn children() -> std::sync::MutexGuard<'static, Children> {
    static CHILDREN: OnceLock<Mutex<Children>> = OnceLock::new();
    CHILDREN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

fn unregister_group(pgid: i32) {
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

fn on_interrupt(signal: nix::sys::signal::Signal) {
    let live: Vec<i32> = {
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
        state.groups.iter().copied().collect()
    };
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
fn reap_adopted(all: bool) {
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
fn sweep_orphans() -> Vec<String> {
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

/// The processes (pid, name) other than us that hold an end of one of these
/// pipes open, from `/proc/PID/fd` (Linux; none elsewhere).
fn pipe_holders(pipes: &[u64]) -> Vec<(i32, String)> {
    if pipes.is_empty() {
        return Vec::new();
    }
    let wanted: Vec<String> = pipes
        .iter()
        .map(|inode| format!("pipe:[{inode}]"))
        .collect();
    let me = std::process::id() as i32;
    let Ok(processes) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut holders = Vec::new();
    for process in processes.flatten() {
        let Some(pid) = process
            .file_name()
            .to_str()
            .and_then(|p| p.parse::<i32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let Ok(fds) = std::fs::read_dir(process.path().join("fd")) else {
            continue;
        };
        let holds = fds.flatten().any(|fd| {
            std::fs::read_link(fd.path())
                .is_ok_and(|target| wanted.iter().any(|w| target.as_os_str() == w.as_str()))
        });
        if holds {
            let name = std::fs::read_to_string(process.path().join("comm")).unwrap_or_default();
            holders.push((pid, name.trim().to_string()));
        }
    }
    holders
}

fn signal_process(pid: i32, signal: i32) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Spec {
        Spec::new("/bin/sh").arg("-c").arg(script)
    }

    /// A capability's bit in a `/proc/PID/status` mask line (`CapBnd:\t…`).
    fn has_capability(status: &str, line: &str, capability: u32) -> bool {
        let mask = status
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
            .unwrap();
        mask & (1 << capability) != 0
    }

    /// A dropped capability is gone from the child's bounding set, and from
    /// what the child starts in turn; root can drop it (CAP_SETPCAP).
    #[test]
    fn drops_capabilities_for_the_child_and_what_it_starts() {
        const CAP_SYSLOG: u32 = 34;
        let ours = std::fs::read_to_string("/proc/self/status").unwrap();
        let mut spec = sh("sh -c 'cat /proc/self/status'");
        spec.watch = vec!["Cap".into()];
        let kept = run(spec.clone()).unwrap().watched.join("\n");
        spec.drop_capabilities = &[CAP_SYSLOG];
        let dropped = run(spec).unwrap().watched.join("\n");
        assert!(
            has_capability(&kept, "CapBnd:", CAP_SYSLOG)
                == has_capability(&ours, "CapBnd:", CAP_SYSLOG)
        );
        if has_capability(&ours, "CapEff:", 8) && has_capability(&ours, "CapBnd:", CAP_SYSLOG) {
            assert!(
                !has_capability(&dropped, "CapBnd:", CAP_SYSLOG),
                "{dropped}"
            );
            assert!(
                !has_capability(&dropped, "CapEff:", CAP_SYSLOG),
                "{dropped}"
            );
            // The others stay.
            assert!(has_capability(&dropped, "CapEff:", 8), "{dropped}");
        } else {
            assert_eq!(kept, dropped, "without CAP_SETPCAP nothing changes");
        }
    }

    /// A child that only answers through our pipe gets no death signal
    /// (and so starts by posix_spawn, not fork); every other child dies
    /// with us (SIGKILL).
    #[test]
    fn only_answering_children_go_without_a_death_signal() {
        let ask_death_signal = Spec::new("/usr/bin/env").args([
            "python3",
            "-c",
            "import ctypes; s = ctypes.c_int(); \
             ctypes.CDLL(None).prctl(2, ctypes.byref(s), 0, 0, 0); print(f'PDEATHSIG={s.value}')",
        ]);
        // stdout_of's children answer only.
        let answer = stdout_of(ask_death_signal.clone()).unwrap();
        assert_eq!(answer.trim(), "PDEATHSIG=0");
        let mut spec = ask_death_signal;
        spec.watch = vec!["PDEATHSIG".into()];
        assert_eq!(run(spec).unwrap().watched, ["PDEATHSIG=9"]);
    }

    #[test]
    fn captures_status_tail_and_watched_lines() {
        let mut spec = sh("echo hello; echo 'METRICS x=3' ; echo oops >&2; exit 3");
        spec.watch = vec!["METRICS".into()];
        let outcome = run(spec).unwrap();
        assert_eq!(outcome.status.code(), Some(3));
        assert!(!outcome.success());
        assert_eq!(outcome.watched, vec!["METRICS x=3"]);
        assert_eq!(outcome.stderr_tail, vec!["oops"]);
        assert_eq!(outcome.describe(None), "exit status 3");
    }

    #[test]
    fn measures_cpu_time_and_rss_of_the_child() {
        // Allocate ~64 MB and touch it, then spin the CPU a little.
        let spec = Spec::new("/usr/bin/env").args([
            "python3",
            "-c",
            "b = bytearray(64*1024*1024)\nx = 0\nfor i in range(2_000_000): x += i",
        ]);
        let outcome = run(spec).unwrap();
        assert!(outcome.success(), "{}", outcome.tail());
        assert!(
            outcome.max_rss_bytes > 60 * 1024 * 1024,
            "{}",
            outcome.max_rss_bytes
        );
        assert!(outcome.user > Duration::from_millis(20));
        assert!(outcome.wall >= outcome.user / 2);
    }

    #[test]
    fn timeout_kills_the_whole_process_group() {
        // The shell starts a grandchild that would outlive a plain kill of the shell.
        // A sleep duration no other process uses marks the grandchildren.
        let marker = format!("sleep 9{}.75", std::process::id() % 100_000);
        let mut spec = sh(&format!("{marker} & {marker}"));
        spec.timeout = Some(Duration::from_millis(300));
        let outcome = run(spec).unwrap();
        assert!(outcome.timed_out);
        assert!(outcome
            .describe(Some(Duration::from_millis(300)))
            .starts_with("timed out"));
        std::thread::sleep(Duration::from_millis(100));
        let survivors = Command::new("pgrep")
            .args(["-f", &marker])
            .output()
            .unwrap();
        assert!(survivors.stdout.is_empty(), "orphans: {:?}", survivors);
    }

    #[test]
    fn waits_for_a_readiness_line() {
        // The shell stops on its own trap, not through its child: a SIGINT
        // that reaches a forked child before it execs `sleep` is caught by
        // the shell's handler it inherited, and lost at the exec (the shell
        // would then wait out a long sleep and need SIGTERM, which made this
        // test fail under load).
        let mut spec =
            sh("trap 'exit 0' INT; sleep 0.1; echo 'listening on 1'; while :; do sleep 0.05; done");
        spec.watch = vec!["listening".into()];
        let running = start(spec).unwrap();
        assert!(running.wait_for_line("listening", Duration::from_secs(10)));
        // A long grace: under heavy load the shell may take seconds to run
        // its trap, and the stop returns as soon as it has.
        let outcome = running.stop(libc::SIGINT, Duration::from_secs(10));
        assert!(outcome.success(), "a child stopped on purpose succeeded");
        assert_eq!(outcome.stopped_with().as_deref(), Some("SIGINT"));
        assert!(!outcome.timed_out);
    }

    fn run_for(seconds: f64, grace_ms: u64) -> Option<RunFor> {
        Some(RunFor {
            duration: Duration::from_secs_f64(seconds),
            signal: libc::SIGINT,
            grace: Duration::from_millis(grace_ms),
        })
    }

    #[test]
    fn run_for_stops_the_child_on_purpose_and_keeps_what_it_prints_on_exit() {
        // The shell's trap prints the metric when the stop signal arrives.
        let mut spec = sh("trap 'echo METRICS loops=$n; exit 0' INT; n=0; while :; do n=$((n+1)); sleep 0.01; done");
        spec.watch = vec!["METRICS".into()];
        spec.run_for = run_for(0.4, 10_000);
        let started = Instant::now();
        let outcome = run(spec).unwrap();
        assert!(outcome.success(), "{}", outcome.describe(None));
        assert_eq!(outcome.stopped_with().as_deref(), Some("SIGINT"));
        assert!(
            outcome.wall >= Duration::from_millis(400),
            "{:?}",
            outcome.wall
        );
        assert!(started.elapsed() < Duration::from_secs(10));
        assert_eq!(outcome.watched.len(), 1, "{:?}", outcome.watched);
        assert!(outcome.watched[0].starts_with("METRICS loops="));
        assert!(outcome
            .describe(None)
            .starts_with("stopped on purpose after 0."));
    }

    #[test]
    fn a_child_that_ignores_the_stop_signal_gets_sigterm_then_sigkill() {
        let mut spec = sh("trap '' INT; while :; do sleep 0.01; done");
        spec.run_for = run_for(0.2, 300);
        let outcome = run(spec).unwrap();
        assert_eq!(outcome.stopped_with().as_deref(), Some("SIGINT, SIGTERM"));
        let mut spec = sh("trap '' INT TERM; while :; do sleep 0.01; done");
        spec.run_for = run_for(0.2, 300);
        let outcome = run(spec).unwrap();
        assert_eq!(
            outcome.stopped_with().as_deref(),
            Some("SIGINT, SIGTERM, SIGKILL")
        );
        assert!(outcome.success());
    }

    #[test]
    fn a_child_that_ended_before_it_was_stopped_keeps_its_own_status() {
        let running = start(sh("exit 7")).unwrap();
        std::thread::sleep(Duration::from_millis(300));
        let outcome = running.stop(libc::SIGINT, Duration::from_secs(1));
        assert_eq!(outcome.status.code(), Some(7));
        assert!(outcome.stopped.is_none() && !outcome.success());
        assert_eq!(outcome.describe(None), "exit status 7");
    }

    /// A child killed from outside just before it is stopped (its waiter
    /// may not have reported it yet) is said to be killed, not stopped.
    #[test]
    fn a_child_killed_from_outside_is_not_stopped_on_purpose() {
        for _ in 0..20 {
            let running = start(sh("while :; do sleep 0.01; done")).unwrap();
            signal_group(running.pid, libc::SIGKILL);
            while running.is_running() {
                std::thread::sleep(Duration::from_millis(1));
            }
            let outcome = running.stop(libc::SIGINT, Duration::from_secs(1));
            assert!(outcome.stopped.is_none(), "{}", outcome.describe(None));
            assert_eq!(
                outcome.describe(None),
                "killed by signal 9 (SIGKILL), which the xtask did not send"
            );
        }
    }

    #[test]
    fn a_child_that_ends_before_its_run_for_is_an_ordinary_run() {
        let mut spec = sh("exit 4");
        spec.run_for = run_for(5.0, 300);
        let outcome = run(spec).unwrap();
        assert_eq!(outcome.status.code(), Some(4));
        assert!(outcome.stopped.is_none() && !outcome.success());
    }

    /// A descendant that left the child's group (`setsid`) but holds its
    /// output open does not keep the run waiting: once the child has ended
    /// it is stopped, and the run ends with what the child printed.
    #[test]
    fn a_descendant_holding_the_output_does_not_hold_up_the_run() {
        let marker = format!("sleep 5{}.375", std::process::id() % 100_000);
        let mut spec = sh(&format!("setsid {marker} & echo ops=1"));
        spec.watch = vec!["ops=".into()];
        let (sender, received) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = sender.send(run(spec));
        });
        let outcome = received
            .recv_timeout(Duration::from_secs(20))
            .expect("the run waited on its descendant's output")
            .unwrap();
        assert!(outcome.success(), "{}", outcome.describe(None));
        assert_eq!(outcome.watched, ["ops=1"]);
        let survivors = Command::new("pgrep")
            .args(["-f", &marker])
            .output()
            .unwrap();
        assert!(survivors.stdout.is_empty(), "orphans: {:?}", survivors);
    }

    /// One endless line is read to its end but kept only up to the limit,
    /// and the lines after it are read as usual.
    #[test]
    fn an_endless_line_is_cut_and_the_next_lines_are_read() {
        let mut spec = sh("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo ops=7");
        spec.watch = vec!["ops=".into(), "xxx".into()];
        let outcome = run(spec).unwrap();
        assert!(outcome.success(), "{}", outcome.tail());
        assert_eq!(outcome.watched.len(), 2, "{:?}", outcome.watched.len());
        assert_eq!(outcome.watched[0].len(), LINE_LIMIT);
        assert_eq!(outcome.watched[1], "ops=7");
    }

    /// However the stream is cut into chunks, the lines found are those of
    /// splitting the whole text at its newlines.
    #[test]
    fn output_lines_do_not_depend_on_how_the_stream_is_chunked() {
        let long = "y".repeat(LINE_LIMIT + 10);
        let mut text = String::new();
        for i in 0..120 {
            text.push_str(&format!("line {i} ops={i}\r\n"));
            if i % 17 == 0 {
                text.push('\n');
                text.push_str(&long);
                text.push_str(" ops=long\n");
            }
        }
        text.push_str("last ops=end");
        let expected: Vec<String> = text.split('\n').map(|l| text_of(l.as_bytes())).collect();
        let watched: Vec<String> = expected
            .iter()
            .filter(|l| l.contains("ops="))
            .cloned()
            .collect();
        let tail: Vec<String> = expected[expected.len() - TAIL_LINES..].to_vec();
        for size in [1, 2, 3, 7, 64, 1000, text.len()] {
            let captured = (Mutex::new(Captured::default()), Condvar::new());
            let mut lines = OutputLines::new(&["ops=".to_string()]);
            for chunk in text.as_bytes().chunks(size) {
                lines.feed(chunk);
                lines.publish(true, &captured);
            }
            lines.end();
            lines.publish(true, &captured);
            let captured = captured.0.into_inner().unwrap();
            assert_eq!(Vec::from(captured.watched), watched, "chunks of {size}");
            assert_eq!(Vec::from(captured.stdout_tail), tail, "chunks of {size}");
        }
    }

    /// Watched lines beyond the byte limit drop the oldest: the last value
    /// of a metric printed for ever is still there.
    #[test]
    fn watched_lines_keep_the_newest_within_their_limit() {
        let mut spec = sh("seq 1 600000 | sed 's/^/ops=/'");
        spec.watch = vec!["ops=".into()];
        let outcome = run(spec).unwrap();
        let kept: usize = outcome.watched.iter().map(String::len).sum();
        assert!(kept <= WATCHED_LIMIT, "{kept}");
        assert!(outcome.watched.len() > 1000);
        assert_ne!(outcome.watched[0], "ops=1", "the oldest lines go first");
        assert_eq!(
            outcome.watched.last().map(String::as_str),
            Some("ops=600000")
        );
    }

    #[test]
    fn dropping_a_running_child_kills_its_group() {
        let marker = format!("sleep 6{}.125", std::process::id() % 100_000);
        let running = start(sh(&format!("{marker} & {marker}"))).unwrap();
        std::thread::sleep(Duration::from_millis(200));
        drop(running);
        std::thread::sleep(Duration::from_millis(200));
        let survivors = Command::new("pgrep")
            .args(["-f", &marker])
            .output()
            .unwrap();
        assert!(survivors.stdout.is_empty(), "orphans: {:?}", survivors);
    }

    #[test]
    fn missing_program_is_a_clear_error() {
        let err = run(Spec::new("definitely-not-a-program-xyz")).unwrap_err();
        assert!(
            format!("{err:#}").contains("is it installed and on PATH?"),
            "{err:#}"
        );
    }

    #[test]
    fn display_quotes_for_a_shell() {
        let spec = Spec::new("/bin/prog").args(["a b", "it's", "--x=1"]);
        assert_eq!(spec.display(), r"/bin/prog 'a b' 'it'\''s' --x=1");
    }
}
