//! What stops our children when the xtask itself is killed outright
//! (SIGKILL, the OOM killer), where no handler of ours runs.
//!
//! `PR_SET_PDEATHSIG` reaches only the direct children (perf, heaptrack):
//! the workload they started, and anything it started, would run on. So the
//! xtask starts a watchdog (itself, as `xtask __watchdog MARK`) in a session
//! of its own, deaf to the signals that interrupt a task: it holds the read
//! end of a pipe whose only writer is the xtask, and it learns of the
//! xtask's end, however it came, when the pipe reaches its end. It then
//! stops the process groups still registered (the xtask writes `+PGID` and
//! `-PGID` lines as children start and end) and every process that carries
//! this xtask's mark in its environment ([`OWNER_VAR`], which every child
//! gets and passes on): a descendant that left its group (`setsid`) is
//! found by the mark. After an ordinary exit nothing is left, and the
//! watchdog only looks.
//!
//! What can remain (docs): a descendant that left its group and cleared its
//! environment, a build cargo was running (cargo is started without the
//! mark), and everything when the watchdog itself is killed with the xtask
//! (`kill -9 -1`).

use std::io::{BufRead, Write};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// The environment variable that marks every child of the xtask.
pub const OWNER_VAR: &str = "XTASK_PROFILING_OWNER";

/// This xtask's mark: pid and start time, unique on this machine.
static OWNER: OnceLock<String> = OnceLock::new();
/// The write end of the watchdog's pipe.
static PIPE: Mutex<Option<std::io::PipeWriter>> = Mutex::new(None);
static WATCHDOG_PID: AtomicI32 = AtomicI32::new(0);

/// The argument by which the xtask runs as the watchdog.
pub const WATCHDOG_ARG: &str = "__watchdog";

/// Starts the watchdog (Linux); whether it runs. Started outside the
/// registry of children: it is no child to register, stop or outlive. Only
/// when this program is the xtask itself (`main`): a program that mounts the
/// tasks would not know the watchdog's argument.
pub fn start() -> bool {
    let is_self = crate::runs::measure::SHIM_IS_SELF.load(Ordering::Relaxed);
    if !cfg!(target_os = "linux") || !is_self || WATCHDOG_PID.load(Ordering::SeqCst) != 0 {
        return false;
    }
    let Ok(program) = std::env::current_exe() else {
        return false;
    };
    let Ok((reader, writer)) = std::io::pipe() else {
        return false;
    };
    let Ok(pid) = crate::runs::process::spawn_detached(&program, &[WATCHDOG_ARG, owner()], reader)
    else {
        return false;
    };
    WATCHDOG_PID.store(pid, Ordering::SeqCst);
    *PIPE.lock().unwrap_or_else(|e| e.into_inner()) = Some(writer);
    true
}

/// This xtask's mark, which every child gets in its environment and passes
/// on: by it the watchdog, and the xtask itself, tell what they started.
pub fn owner() -> &'static str {
    OWNER.get_or_init(|| {
        format!(
            "{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos())
        )
    })
}

/// Whether process `pid` carries this xtask's mark.
pub fn is_ours(pid: i32) -> bool {
    let mark = format!("{OWNER_VAR}={}", owner());
    std::fs::read(format!("/proc/{pid}/environ"))
        .is_ok_and(|environ| environ.split(|&b| b == 0).any(|var| var == mark.as_bytes()))
}

/// The watchdog's pid: it is ours, yet no workload's descendant to stop.
pub fn pid() -> Option<i32> {
    match WATCHDOG_PID.load(Ordering::SeqCst) {
        0 => None,
        pid => Some(pid),
    }
}

/// A child's process group to stop should the xtask be killed.
pub fn watch_group(pgid: i32) {
    tell(&format!("+{pgid}\n"));
}

/// A group that has ended (its id may be reused by others).
pub fn forget_group(pgid: i32) {
    tell(&format!("-{pgid}\n"));
}

fn tell(line: &str) {
    if let Some(pipe) = PIPE.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
        let _ = pipe.write_all(line.as_bytes());
    }
}

/// The watchdog's life (`xtask __watchdog MARK`, stdin the pipe): deaf to
/// the signals that interrupt a task, it reads the pipe to its end, then
/// stops what the xtask left.
pub fn watch(owner: &str) -> ! {
    // SAFETY: plain syscalls on this process's own state.
    unsafe {
        for signal in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGPIPE] {
            libc::signal(signal, libc::SIG_IGN);
        }
        // Nothing the xtask inherited stays open here: a pipe held by us
        // would not reach its end while we wait.
        libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, 0u32);
    }
    let mut groups = std::collections::BTreeSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        match (
            line.get(..1),
            line.get(1..).and_then(|p| p.parse::<i32>().ok()),
        ) {
            (Some("+"), Some(pgid)) if pgid > 0 => groups.insert(pgid),
            (Some("-"), Some(pgid)) => groups.remove(&pgid),
            _ => false,
        };
    }
    stop_what_is_left(&groups, owner);
    std::process::exit(0)
}

fn stop_what_is_left(groups: &std::collections::BTreeSet<i32>, owner: &str) {
    let mark = format!("{OWNER_VAR}={owner}");
    let me = std::process::id() as i32;
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut first = true;
    loop {
        let mut found = false;
        if first {
            for pgid in groups {
                // SAFETY: kill has no memory-safety preconditions.
                found |= unsafe { libc::kill(-pgid, libc::SIGKILL) } == 0;
            }
            first = false;
        }
        for pid in marked_processes(&mark) {
            if pid != me {
                // SAFETY: as above.
                unsafe { libc::kill(pid, libc::SIGKILL) };
                found = true;
            }
        }
        if !found || Instant::now() > deadline {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The live processes whose environment holds `mark` (`NAME=value`).
fn marked_processes(mark: &str) -> Vec<i32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else {
                return false;
            };
            environ.split(|&b| b == 0).any(|var| var == mark.as_bytes())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every child started through runs::process carries the mark, and
    /// only what carries it is ours: the output drain stops nothing else.
    #[test]
    fn children_carry_the_mark_and_others_are_not_ours() {
        let mut spec = crate::runs::process::Spec::new("/bin/sh").args(["-c", "env; sleep 5"]);
        spec.watch = vec![OWNER_VAR.into()];
        let running = crate::runs::process::start(spec).unwrap();
        assert!(running.wait_for_line(OWNER_VAR, Duration::from_secs(10)));
        assert!(is_ours(running.pid));
        let outcome = running.stop(libc::SIGKILL, Duration::from_secs(1));
        assert_eq!(outcome.watched, [format!("{OWNER_VAR}={}", owner())]);
        let mut stranger = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let ours = is_ours(stranger.id() as i32);
        let _ = stranger.kill();
        let _ = stranger.wait();
        assert!(!ours);
    }

    #[test]
    fn finds_processes_by_the_mark_in_their_environment() {
        let mark_value = format!("test-{}", std::process::id());
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .env(OWNER_VAR, &mark_value)
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        // Until the child has exec'd, /proc shows the environment it forked with.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut found = marked_processes(&format!("{OWNER_VAR}={mark_value}"));
        while found != [pid] && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
            found = marked_processes(&format!("{OWNER_VAR}={mark_value}"));
        }
        let other = marked_processes(&format!("{OWNER_VAR}={mark_value}0"));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(found, [pid]);
        assert!(other.is_empty(), "{other:?}");
    }
}
