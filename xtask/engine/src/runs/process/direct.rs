//! Programs started outside the registry of children, each for a reason of
//! its own: the program the measuring shim times, the watchdog, and a
//! command the person at the terminal watches. Here rather than at their
//! callers so that every program the xtask starts is started in this module
//! (or, for short commands whose output is read whole, through xshell).

use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How a program run by [`spawn_measured`] ended.
pub struct Measured {
    /// The wait status, as `wait4` reports it.
    pub status: i32,
    /// The program's own resource usage, from `wait4`.
    pub usage: libc::rusage,
    /// From just before the spawn to the end of the wait.
    pub wall: Duration,
}

/// Runs `program` as the measuring shim's only child: with our environment,
/// directory and output, dying with us (`PDEATHSIG`), waited for with
/// `wait4` for its own rusage. Not registered: the shim is the workload's
/// stand-in, and the group it runs in is the one the xtask stops.
pub fn spawn_measured(
    program: &OsStr,
    args: impl IntoIterator<Item = OsString>,
) -> std::io::Result<Measured> {
    let mut command = Command::new(program);
    command.args(args);
    // SAFETY: one async-signal-safe syscall between fork and exec.
    unsafe {
        command.pre_exec(|| {
            #[cfg(target_os = "linux")]
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
            Ok(())
        });
    }
    let started = Instant::now();
    let child = command.spawn()?;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: plain syscall on our own child with valid pointers.
        let r = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
        if r >= 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::EINTR) {
            break;
        }
    }
    Ok(Measured {
        status,
        usage,
        wall: started.elapsed(),
    })
}

/// Makes `command` start in a new session: no terminal's signals reach it,
/// and it is in no process group of ours.
fn in_a_session_of_its_own(command: &mut Command) {
    // SAFETY: setsid is async-signal-safe and allocates nothing.
    unsafe {
        command.pre_exec(|| {
            libc::setsid();
            Ok(())
        });
    }
}

/// Starts `program` in a session of its own (deaf to our terminal's
/// signals), reading `stdin`, its output discarded, and leaves it running:
/// the watchdog, which must outlive us. Returns its pid.
pub fn spawn_detached(
    program: &Path,
    args: &[&str],
    stdin: std::io::PipeReader,
) -> std::io::Result<i32> {
    let mut command = Command::new(program);
    // Not marked as ours: the watchdog of an xtask started by another one
    // must outlive the outer one's cleanup to do its own.
    command
        .args(args)
        .env_remove(crate::runs::watchdog::OWNER_VAR)
        .stdin(stdin)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    in_a_session_of_its_own(&mut command);
    Ok(command.spawn()?.id() as i32)
}

/// Starts a viewer (a browser) for the person at the terminal and leaves it
/// running: a session of its own, no input, its output discarded, never
/// waited for. It is meant to outlive us, so it is not registered.
pub fn open_detached(argv: &[OsString]) -> std::io::Result<()> {
    let Some((program, args)) = argv.split_first() else {
        return Err(std::io::Error::other("no program to open with"));
    };
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    in_a_session_of_its_own(&mut command);
    // Dropping the child neither waits for it nor stops it.
    command.spawn().map(drop)
}

/// Runs a command as a shell runs one in the foreground, and returns how it
/// ended: our stdin, output and process group (Ctrl-C reaches it as it
/// reaches us), in `cwd`. For a command the person at the terminal watches
/// and answers to (`cargo xtask doctor` after `adopt`); it is no workload,
/// so it is not registered.
pub fn run_in_foreground(
    program: impl AsRef<OsStr>,
    args: &[&str],
    cwd: &Path,
) -> std::io::Result<ExitStatus> {
    Command::new(program).args(args).current_dir(cwd).status()
}
