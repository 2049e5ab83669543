//! `memory --pid`: heaptrack attached to a process the task did not start
//! (`heaptrack -p`), until the process exits, for `run_for`, or until
//! Ctrl-C, and the process left running.
//!
//! heaptrack injects itself through gdb, which calls functions inside the
//! process. Where gdb cannot (an old gdb on a CPU with AMX state), a failed
//! call damages the process; so the injection is first rehearsed on a
//! throwaway process of our own, and the user's process is touched only when
//! that worked. Ending the recording calls `heaptrack_stop()` in the process
//! through gdb, after which heaptrack reads the end of its data and exits
//! while the process runs on. Stopping heaptrack instead would break the
//! FIFO the process writes to, and kill it (SIGPIPE): so an interrupt, too,
//! detaches first ([`process::release_before_stop`]).

use super::{heaptrack_data, heaptrack_report};
use crate::runs::cpu_profile::{running_process, AttachedProcess};
use crate::runs::process::{self, Outcome, Running, Spec};
use crate::runs::progress::Progress;
use crate::tools::heaptrack;
use crate::tools::heaptrack::attach::{self as tool, Cause, InjectionFailure};
use crate::tools::memory_model::MemoryReport;
use crate::tools::Toolbox;
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// `ended_by` of a recording that the process's own exit ended: the
/// process was not left running.
pub const PROCESS_EXITED: &str = "the process's exit";

/// How long gdb may take to inject heaptrack (it loads the process's
/// symbols first: long for a large binary on a busy machine).
const INJECTION_LIMIT: Duration = Duration::from_secs(90);

/// How long heaptrack may take to read the end of its data and exit once
/// the process let go of it.
const FINISH_LIMIT: Duration = Duration::from_secs(60);

/// The gdb that heaptrack will run: the first on PATH.
struct Gdb {
    path: PathBuf,
    /// `gdb --version`'s first line.
    version: String,
}

impl Gdb {
    fn find() -> anyhow::Result<Gdb> {
        let tool = crate::tools::detect(
            "gdb",
            &["--version"],
            Some("sudo apt-get install -y gdb".into()),
        );
        let path = tool
            .path()
            .context("heaptrack attaches to a running process through gdb")?
            .to_path_buf();
        Ok(Gdb {
            version: tool.version.unwrap_or_else(|| "gdb".into()),
            path,
        })
    }

    /// `gdb 13.1 (/usr/bin/gdb)`, for messages.
    fn describe(&self) -> String {
        let version = tool::gdb_version(&self.version)
            .map(|(major, minor)| format!("gdb {major}.{minor}"))
            .unwrap_or_else(|| self.version.clone());
        format!("{version} ({})", self.path.display())
    }
}

/// What attaching heaptrack to a process needs, all checked before a
/// result is begun: the process, heaptrack, and a gdb that can inject.
pub struct AttachPlan {
    pid: i32,
    command_line: Vec<String>,
    heaptrack: PathBuf,
    gdb: Gdb,
}

/// Checks that heaptrack can attach to the running process `pid`: that it
/// runs, that it can be injected into and traced, that the tools are there,
/// and that gdb's injection works here, rehearsed on a throwaway process.
/// Nothing touches the process itself.
pub fn plan_attach(tools: &Toolbox, pid: i32) -> anyhow::Result<AttachPlan> {
    let command_line = running_process(pid)?;
    check_attachable(pid, &command_line.join(" "))?;
    let heaptrack = tools.heaptrack.path()?.to_path_buf();
    tools.heaptrack_print.path()?;
    let gdb = Gdb::find()?;
    rehearse(&heaptrack, &gdb, pid)?;
    Ok(AttachPlan {
        pid,
        command_line,
        heaptrack,
        gdb,
    })
}

/// The heap profile of the planned process, for `run_for` or until it
/// exits or Ctrl-C, with what the recording was. The process keeps running
/// (unless it exits by itself meanwhile).
pub fn profile_pid(
    plan: AttachPlan,
    tools: &Toolbox,
    dir: &Path,
    run_for: Option<Duration>,
    top: usize,
) -> anyhow::Result<(MemoryReport, AttachedProcess)> {
    let AttachPlan {
        pid,
        command_line,
        heaptrack: heaptrack_path,
        gdb,
    } = plan;
    if !process::process_alive(pid) {
        bail!("PID {pid} exited before heaptrack could attach to it");
    }
    let shown = command_line.join(" ");
    let base = dir.join("heaptrack");
    let attachment = Attachment::start(
        &heaptrack_path,
        &gdb,
        &base,
        pid,
        &format!("PID {pid} ({shown})"),
    )?;
    let started = Instant::now();
    let end = attachment.record(run_for, &shown);
    let seconds = started.elapsed().as_secs_f64();
    let outcome = attachment.finish(end == End::TargetExited)?;
    process::check_interrupted()?;
    if end == End::HeaptrackEnded {
        bail!(
            "heaptrack ended by itself after {seconds:.1} s while PID {pid} ({shown}) kept running: \
             {}; no profile is written\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    if let Some(line) = heaptrack::data_loss(&outcome.watched) {
        bail!(
            "heaptrack lost data: it said \"{line}\"\n{}",
            outcome.tail()
        );
    }
    if !outcome.success() {
        bail!(
            "heaptrack failed after {seconds:.1} s: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    let data = heaptrack_data(&outcome, &base)?;
    let mut report = heaptrack_report(tools, &data, dir, top, None)?;
    let notes = attached_notes(pid, end == End::TargetExited, &report);
    report.notes.extend(notes);
    let ended_by = match (end, run_for) {
        (End::RunFor, Some(limit)) => format!("--run-for {} s", limit.as_secs_f64()),
        (End::TargetExited, _) => PROCESS_EXITED.to_string(),
        _ => "Ctrl-C".to_string(),
    };
    let process = AttachedProcess {
        pid,
        command_line,
        seconds,
        ended_by,
    };
    Ok((report, process))
}

/// What the reader of an attached profile must know, and the allocator
/// heaptrack cannot see, if the process uses one.
fn attached_notes(pid: i32, exited: bool, report: &MemoryReport) -> Vec<String> {
    let held = match exited {
        true => "what is \"leaked\" is what the process still held at its exit",
        false => {
            "what is \"leaked\" is what was allocated during the recording and still held when \
             it ended (the process ran on: not a leak)"
        }
    };
    let mut notes = vec![format!(
        "attached to a running process: allocations made before heaptrack was injected are not \
         seen, the peak heap is the peak since then, and {held}"
    )];
    if report.total_allocations == Some(0) {
        notes.push(
            "heaptrack saw no allocation while attached: the process allocated nothing then (was \
             it idle?), or allocates without malloc (Go's runtime, a custom allocator)"
                .into(),
        );
    }
    let exe = std::fs::read_link(format!("/proc/{pid}/exe"));
    if let Some(allocator) = exe.ok().and_then(|exe| super::custom_allocator(&exe)) {
        notes.push(allocator);
    }
    notes
}

/// Refuses, before anything touches it, a process that heaptrack cannot be
/// injected into: one without glibc's shared C library, or one that the
/// kernel would not let gdb attach to.
fn check_attachable(pid: i32, shown: &str) -> anyhow::Result<()> {
    if let Ok(maps) = std::fs::read_to_string(format!("/proc/{pid}/maps")) {
        if let Some(why) = tool::already_traced(&maps) {
            bail!(
                "PID {pid} ({shown}) {why}\n  help: restart it to record its heap again (heaptrack \
                 cannot unload its library from a process, nor inject it twice safely)"
            );
        }
        if !maps.is_empty() && !tool::has_shared_glibc(&maps) {
            bail!(
                "PID {pid} ({shown}) has no shared glibc loaded (it is statically linked, as Go \
                 programs are, or built on another C library such as musl): heaptrack injects \
                 itself through glibc's dlopen and cannot attach to it\n  help: profile it from its \
                 start instead (a workload in profiling.toml), built dynamically against glibc"
            );
        }
    }
    use std::os::unix::fs::MetadataExt as _;
    let owner = std::fs::metadata(format!("/proc/{pid}"))
        .map(|m| m.uid())
        .ok();
    let me = nix::unistd::geteuid();
    let scope = std::fs::read_to_string("/proc/sys/kernel/yama/ptrace_scope")
        .ok()
        .and_then(|s| s.trim().parse().ok());
    match ptrace_refusal(scope, me.is_root(), owner.is_none_or(|o| o == me.as_raw())) {
        Some(why) => bail!("cannot attach to PID {pid} ({shown}): {why}"),
        None => Ok(()),
    }
}

/// Why the kernel would refuse gdb's attach, from Yama's `ptrace_scope`
/// (None: no Yama), whether we are root, and whether the process is ours.
fn ptrace_refusal(scope: Option<u32>, root: bool, ours: bool) -> Option<String> {
    const SCOPE: &str = "/proc/sys/kernel/yama/ptrace_scope";
    match scope {
        Some(3) => Some(format!(
            "{SCOPE} is 3: no process may attach to another, not even root, until the next reboot"
        )),
        _ if root => None,
        _ if !ours => {
            Some("it belongs to another user: run the task as that user, or as root".into())
        }
        Some(1) => Some(format!(
            "{SCOPE} is 1: only a process's ancestors may attach to it, and heaptrack's gdb is \
             not one\n  help: `sudo sysctl kernel.yama.ptrace_scope=0` (until the next reboot), or \
             run the task as root"
        )),
        Some(2) => Some(format!(
            "{SCOPE} is 2: only root may attach\n  help: run the task as root"
        )),
        _ => None,
    }
}

/// Injects heaptrack into a throwaway `sleep` of our own and detaches it,
/// as it will be done to the user's process: a gdb that cannot do it says
/// so here, and the user's process is never touched.
fn rehearse(heaptrack_path: &Path, gdb: &Gdb, target: i32) -> anyhow::Result<()> {
    let scratch =
        std::env::temp_dir().join(format!("xtask-heaptrack-probe-{}", std::process::id()));
    std::fs::create_dir_all(&scratch)
        .with_context(|| format!("cannot create {}", scratch.display()))?;
    let mut spec = Spec::new("sleep").args(["120"]);
    spec.timeout = Some(Duration::from_secs(180));
    let sleep = process::start(spec)?;
    let spinner = Progress::spinner(&format!(
        "heaptrack: checking that {} can inject into a process here (a throwaway sleep)",
        gdb.describe()
    ));
    let throwaway = format!("a throwaway `sleep` of ours (PID {})", sleep.pid);
    let rehearsed = Attachment::start(
        heaptrack_path,
        gdb,
        &scratch.join("probe"),
        sleep.pid,
        &throwaway,
    )
    .and_then(|attachment| attachment.finish(false));
    spinner.finish();
    sleep.stop(libc::SIGKILL, Duration::from_secs(1));
    let _ = std::fs::remove_dir_all(&scratch);
    match rehearsed {
        Ok(_) => Ok(()),
        Err(error) if error.is::<Refused>() => Err(anyhow::anyhow!(
            "heaptrack cannot attach to PID {target} here, which was left untouched: {error:#}"
        )),
        Err(error) => Err(error.context(format!(
            "heaptrack's rehearsal on a throwaway process failed, so PID {target} was not touched"
        ))),
    }
}

/// gdb could not inject heaptrack: the message says what it said, why, and
/// what to do.
#[derive(Debug)]
struct Refused(String);

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Refused {}

/// The refusal of an injection that failed: gdb's own line, the reason, and
/// the fix; `tail` is heaptrack's output, for anything else.
fn refusal(failure: Option<&InjectionFailure>, gdb: &Gdb, process: &str, tail: &str) -> String {
    let amx = std::fs::read_to_string("/proc/cpuinfo").is_ok_and(|info| info.contains(" amx_tile"));
    let Some(failure) = failure else {
        return format!(
            "gdb ({}) did not inject heaptrack into {process}, and said nothing we know of\n  \
             help: run `heaptrack -p PID` by hand to see its whole output\n{tail}",
            gdb.describe()
        );
    };
    let (why, fix) = match failure.cause {
        Cause::ExtendedState => (
            format!(
                "{} cannot save and restore this CPU's extended register state{}, which every \
                 call it makes inside a process needs; gdb 14 and later can",
                gdb.describe(),
                if amx { " (its AMX tiles)" } else { "" }
            ),
            "put a gdb 14 or later first on PATH, for example:\n    python3 -m venv \
             ~/.cache/gdb && ~/.cache/gdb/bin/pip install gdb-for-pwndbg && export \
             PATH=~/.cache/gdb/bin:$PATH"
                .to_string(),
        ),
        Cause::NotPermitted => (
            "the kernel refused gdb's attach (ptrace): another debugger is attached, or this \
             user may not trace it"
                .to_string(),
            "detach the other debugger, or run the task as root (see also \
             /proc/sys/kernel/yama/ptrace_scope)"
                .to_string(),
        ),
        Cause::ProcessGone => (
            format!("{process} ended while gdb was injecting heaptrack"),
            "attach to a process that keeps running".to_string(),
        ),
        Cause::Other => (
            format!("{} failed inside {process}", gdb.describe()),
            "run `heaptrack -p PID` by hand to see its whole output".to_string(),
        ),
    };
    format!(
        "gdb could not inject heaptrack into {process}\n  gdb said: {}\n  why: {why}\n  fix: {fix}",
        failure.gdb_line
    )
}

/// What ended a recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    RunFor,
    CtrlC,
    /// The process exited: heaptrack has its data, and ends by itself.
    TargetExited,
    /// heaptrack ended while the process kept running.
    HeaptrackEnded,
    /// SIGTERM, SIGHUP or a second Ctrl-C: detach, and write nothing.
    Interrupted,
}

/// heaptrack injected into a process, until it has let go of it.
struct Attachment {
    heaptrack: Option<Running>,
    gdb: PathBuf,
    target: i32,
    /// The FIFO through which the process sends heaptrack its allocations.
    fifo: PathBuf,
    /// Set once heaptrack has let go of the process: an interrupt waits for
    /// it before it stops anything.
    let_go: Arc<(Mutex<bool>, Condvar)>,
}

impl Attachment {
    /// Starts `heaptrack -p target` and waits until its gdb has injected it;
    /// fails with [`Refused`] (and heaptrack stopped) when it did not.
    /// `process` names the target in messages.
    fn start(
        heaptrack_path: &Path,
        gdb: &Gdb,
        base: &Path,
        target: i32,
        process: &str,
    ) -> anyhow::Result<Attachment> {
        let argv = tool::attach_command(heaptrack_path, base, target);
        let mut spec = Spec::new(&argv[0]).args(argv[1..].to_vec());
        spec.watch = vec![
            "heaptrack output will be written to".into(),
            tool::INJECTION_DONE.into(),
        ];
        spec.watch
            .extend(heaptrack::DATA_LOSS_MARKERS.iter().map(|m| m.to_string()));
        let running = process::start(spec)?;
        let let_go = Arc::new((Mutex::new(false), Condvar::new()));
        let waited = let_go.clone();
        process::release_before_stop(running.pid, move || {
            eprintln!("\nheaptrack: letting go of PID {target} first, so that it keeps running");
            let (lock, condvar) = &*waited;
            let done = lock.lock().unwrap_or_else(|e| e.into_inner());
            let most = INJECTION_LIMIT * 2 + FINISH_LIMIT;
            let _ = condvar.wait_timeout_while(done, most, |done| !*done);
        });
        let mut attachment = Attachment {
            fifo: heaptrack::fifo_of(running.pid),
            heaptrack: Some(running),
            gdb: gdb.path.clone(),
            target,
            let_go,
        };
        attachment.injected(gdb, process)?;
        Ok(attachment)
    }

    fn running(&self) -> &Running {
        self.heaptrack
            .as_ref()
            .expect("heaptrack runs until it has let go")
    }

    /// Waits for heaptrack's gdb to return, then checks that the process
    /// holds heaptrack's FIFO open: the proof that the injection worked.
    fn injected(&mut self, gdb: &Gdb, process: &str) -> anyhow::Result<()> {
        let running = self.running();
        let deadline = Instant::now() + INJECTION_LIMIT;
        // Not cut short by an interrupt: gdb is at work inside the process.
        while !running.wait_for_line(tool::INJECTION_DONE, Duration::from_millis(200)) {
            if !running.is_running() || Instant::now() > deadline {
                break;
            }
        }
        if holds_open(self.target, &self.fifo) != Some(false) {
            return Ok(());
        }
        // Nothing was injected: heaptrack waits for data that will never
        // come, and stopping it cannot harm the process, which holds none of it.
        let running = self.heaptrack.take().expect("heaptrack was started");
        let pid = running.pid;
        let outcome = running.stop(libc::SIGKILL, Duration::from_secs(1));
        heaptrack::remove_fifo(pid);
        self.mark_let_go(pid);
        let failure = tool::injection_failure(&outcome.stderr_tail);
        Err(Refused(refusal(failure.as_ref(), gdb, process, &outcome.tail())).into())
    }

    /// Records until `run_for`, Ctrl-C, the process's exit or an interrupt.
    fn record(&self, run_for: Option<Duration>, shown: &str) -> End {
        let target = self.target;
        match run_for {
            Some(limit) => eprintln!(
                "heaptrack: recording the heap of PID {target} ({shown}) for {:.1} s; Ctrl-C ends it sooner",
                limit.as_secs_f64()
            ),
            None => eprintln!(
                "heaptrack: recording the heap of PID {target} ({shown}) until it exits; press Ctrl-C to end the recording"
            ),
        }
        // Ctrl-C ends the recording and keeps it, timed or not: the heap
        // recorded so far is worth keeping, and the process must be let go
        // of cleanly either way.
        process::ctrl_c_ends_recording(true);
        let spinner = Progress::spinner(&format!("heaptrack -p {target}"));
        let started = Instant::now();
        let end = loop {
            if run_for.is_some_and(|limit| started.elapsed() >= limit) {
                break End::RunFor;
            }
            if process::recording_ended() {
                break End::CtrlC;
            }
            if process::interrupted() {
                break End::Interrupted;
            }
            if !process::process_alive(target) {
                break End::TargetExited;
            }
            if !self.running().is_running() {
                break match process::process_alive(target) {
                    true => End::HeaptrackEnded,
                    false => End::TargetExited,
                };
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        spinner.finish();
        process::ctrl_c_ends_recording(false);
        end
    }

    /// Lets go of the process and returns how heaptrack ended.
    fn finish(mut self, exited: bool) -> anyhow::Result<Outcome> {
        self.let_go(exited)
    }

    /// Unless the process exited (`exited`), `heaptrack_stop()` is called in
    /// it through gdb; heaptrack then reads the end of its data and ends by
    /// itself, and the process runs on.
    fn let_go(&mut self, exited: bool) -> anyhow::Result<Outcome> {
        let Some(running) = self.heaptrack.take() else {
            bail!("heaptrack has already let go of PID {}", self.target);
        };
        let stopped = match exited || !process::process_alive(self.target) {
            true => Ok(()),
            false => self.stop_in_process(),
        };
        let pid = running.pid;
        let outcome = finish_within(running, FINISH_LIMIT);
        heaptrack::remove_fifo(pid);
        self.mark_let_go(pid);
        stopped?;
        outcome
    }

    /// gdb calls `heaptrack_stop()` in the process, on a thread where it
    /// cannot wait for itself.
    fn stop_in_process(&self) -> anyhow::Result<()> {
        if holds_open(self.target, &self.fifo) == Some(false) {
            return Ok(());
        }
        let spinner = Progress::spinner(&format!(
            "heaptrack: detaching from PID {} (heaptrack_stop through gdb)",
            self.target
        ));
        let script = std::env::temp_dir().join(format!(
            "xtask-heaptrack-stop-{}-{}.py",
            std::process::id(),
            self.target
        ));
        std::fs::write(&script, tool::STOP_SCRIPT)
            .with_context(|| format!("cannot write {}", script.display()))?;
        let argv = tool::stop_command(&self.gdb, self.target, &script);
        let mut spec = Spec::new(&argv[0]).args(argv[1..].to_vec());
        spec.env.push(("DEBUGINFOD_URLS".into(), String::new()));
        spec.timeout = Some(INJECTION_LIMIT);
        spec.watch = vec![tool::STOPPED.into()];
        // An interrupt waits for this very detach: it starts after one too.
        spec.after_interrupt = true;
        let outcome = process::run(spec);
        let _ = std::fs::remove_file(&script);
        spinner.finish();
        let outcome = outcome?;
        if outcome.success() && !outcome.watched.is_empty() {
            return Ok(());
        }
        let failure = tool::injection_failure(&outcome.stderr_tail);
        bail!(
            "gdb could not call heaptrack_stop() in PID {}: {}\n{}",
            self.target,
            failure.map_or_else(
                || outcome.describe(Some(INJECTION_LIMIT)),
                |f| format!("it said \"{}\"", f.gdb_line)
            ),
            outcome.tail()
        )
    }

    fn mark_let_go(&self, pid: i32) {
        process::forget_release(pid);
        let (lock, condvar) = &*self.let_go;
        *lock.lock().unwrap_or_else(|e| e.into_inner()) = true;
        condvar.notify_all();
    }
}

impl Drop for Attachment {
    /// An attachment dropped before [`Attachment::finish`] (an early
    /// return) still lets go of the process before heaptrack is stopped.
    fn drop(&mut self) {
        if self.heaptrack.is_some() {
            let _ = self.let_go(false);
        }
    }
}

/// Waits up to `limit` for heaptrack to end by itself; one that does not is
/// stopped (its data is then incomplete).
fn finish_within(running: Running, limit: Duration) -> anyhow::Result<Outcome> {
    let deadline = Instant::now() + limit;
    while running.is_running() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    if running.is_running() {
        let outcome = running.stop(libc::SIGTERM, Duration::from_secs(2));
        bail!(
            "heaptrack did not finish within {} s of the detach and was stopped\n{}",
            limit.as_secs(),
            outcome.tail()
        );
    }
    Ok(running.wait())
}

/// Whether process `pid` holds `path` open (a process that ended holds
/// nothing); None when its descriptors cannot be read (another user's).
fn holds_open(pid: i32, path: &Path) -> Option<bool> {
    if !process::process_alive(pid) {
        return Some(false);
    }
    let entries = match std::fs::read_dir(format!("/proc/{pid}/fd")) {
        Ok(entries) => entries,
        Err(error) if error.kind() == std::io::ErrorKind::PermissionDenied => return None,
        Err(_) => return Some(false),
    };
    Some(
        entries
            .filter_map(|entry| std::fs::read_link(entry.ok()?.path()).ok())
            .any(|target| target == path),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gdb13() -> Gdb {
        Gdb {
            path: PathBuf::from("/usr/bin/gdb"),
            version: "GNU gdb (Debian 13.1-3) 13.1".into(),
        }
    }

    /// The refusal of gdb 13's failed injection (captured on a CPU with
    /// AMX) says what failed in gdb's words, why, and what to do.
    #[test]
    fn the_refusal_says_what_gdb_said_why_and_the_fix() {
        let stderr: Vec<String> =
            include_str!("../../../tests/fixtures/heaptrack/attach-gdb13-amx.stderr.txt")
                .lines()
                .map(str::to_string)
                .collect();
        let failure = tool::injection_failure(&stderr);
        let message = refusal(failure.as_ref(), &gdb13(), "a throwaway `sleep`", "");
        assert!(
            message.starts_with("gdb could not inject heaptrack into a throwaway `sleep`\n"),
            "{message}"
        );
        assert!(
            message.contains("  gdb said: Couldn't write extended state status: Bad address.\n"),
            "{message}"
        );
        assert!(
            message.contains("  why: gdb 13.1 (/usr/bin/gdb) cannot save and restore this CPU's extended register state"),
            "{message}"
        );
        assert!(message.contains("gdb 14 and later can"), "{message}");
        assert!(
            message.contains("  fix: put a gdb 14 or later first on PATH")
                && message.contains("pip install gdb-for-pwndbg"),
            "{message}"
        );
    }

    #[test]
    fn a_refused_attach_and_an_unknown_failure_are_told_apart() {
        let traced: Vec<String> =
            include_str!("../../../tests/fixtures/heaptrack/attach-traced.stderr.txt")
                .lines()
                .map(str::to_string)
                .collect();
        let failure = tool::injection_failure(&traced);
        let message = refusal(failure.as_ref(), &gdb13(), "PID 7 (srv)", "");
        assert!(
            message.contains("gdb said: ptrace: Operation not permitted."),
            "{message}"
        );
        assert!(
            message.contains("the kernel refused gdb's attach"),
            "{message}"
        );
        let message = refusal(None, &gdb13(), "PID 7 (srv)", "--- last lines ---\n");
        assert!(message.contains("said nothing we know of"), "{message}");
        assert!(message.ends_with("--- last lines ---\n"), "{message}");
    }

    #[test]
    fn ptrace_rights() {
        assert_eq!(ptrace_refusal(None, false, true), None);
        assert_eq!(ptrace_refusal(Some(0), false, true), None);
        assert_eq!(ptrace_refusal(Some(1), true, false), None);
        assert!(ptrace_refusal(Some(1), false, true)
            .unwrap()
            .contains("kernel.yama.ptrace_scope=0"));
        assert!(ptrace_refusal(Some(2), false, true)
            .unwrap()
            .contains("only root may attach"));
        assert!(ptrace_refusal(Some(3), true, true)
            .unwrap()
            .contains("not even root"));
        assert!(ptrace_refusal(Some(0), false, false)
            .unwrap()
            .contains("another user"));
    }

    #[test]
    fn a_missing_process_is_refused_before_anything_runs() {
        let tools = Toolbox::detect();
        let err = plan_attach(&tools, i32::MAX).err().unwrap().to_string();
        assert!(
            err.contains(&format!("no process with PID {} is running", i32::MAX)),
            "{err}"
        );
    }
}
