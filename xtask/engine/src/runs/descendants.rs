//! Every process below the xtask, found through `/proc` (Linux).
//!
//! Killing a child's process group misses descendants that left it (`setsid`,
//! `setpgid`, a daemonizing server). The xtask is a child subreaper
//! (`PR_SET_CHILD_SUBREAPER`), so such a process, once its parent dies, is
//! reparented to the xtask instead of to init: it stays a descendant, and
//! walking the parent links from `/proc` finds it. Killing and re-walking
//! until nothing is left catches the ones that are reparented only as their
//! parents die.
//!
//! macOS has neither `/proc` nor a subreaper: there every function here finds
//! nothing, and stopping a child means killing its process group only.

/// One process below us.
#[derive(Debug, Clone, PartialEq)]
pub struct Descendant {
    pub pid: i32,
    pub ppid: i32,
    pub pgrp: i32,
    /// Exited but not yet reaped: it runs nothing, only its parent's wait
    /// removes it.
    pub zombie: bool,
    /// The program's name (`comm`), for messages.
    pub name: String,
}

/// Makes this process a child subreaper, so that orphaned descendants are
/// reparented to it (and stay findable) instead of to init. Linux only;
/// whether it took effect.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        nix::sys::prctl::set_child_subreaper(true).is_ok()
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

/// The command line of any process, from `/proc/PID/cmdline` (Linux);
/// None when it is gone, or on a system without `/proc`.
pub fn command_line(pid: i32) -> Option<Vec<String>> {
    let bytes = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
    let words: Vec<String> = bytes
        .split(|b| *b == 0)
        .filter(|w| !w.is_empty())
        .map(|w| String::from_utf8_lossy(w).into_owned())
        .collect();
    // A kernel thread, or a zombie, has an empty command line: use its name.
    if words.is_empty() {
        let name = std::fs::read_to_string(format!("/proc/{pid}/comm")).ok()?;
        return Some(vec![format!("[{}]", name.trim())]);
    }
    Some(words)
}

/// The user who owns a process (`/proc/PID`'s owner: its effective user,
/// or root for a process that may not be inspected, such as a setuid
/// program's); None when it is gone.
pub fn owner(pid: i32) -> Option<u32> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(format!("/proc/{pid}"))
        .ok()
        .map(|m| m.uid())
}

/// Every process whose chain of parents leads to this one (itself and the
/// watchdog excluded), zombies included.
pub fn list() -> Vec<Descendant> {
    let watchdog = crate::runs::watchdog::pid();
    let all: Vec<Descendant> = all_processes()
        .into_iter()
        .filter(|p| Some(p.pid) != watchdog)
        .collect();
    below(&all, std::process::id() as i32)
}

/// `root` and every live process below it, root first (Linux; empty once
/// `root` is gone, or off Linux).
pub fn process_tree(root: i32) -> Vec<i32> {
    let live: Vec<Descendant> = all_processes().into_iter().filter(|p| !p.zombie).collect();
    if !live.iter().any(|p| p.pid == root) {
        return Vec::new();
    }
    std::iter::once(root)
        .chain(below(&live, root).into_iter().map(|p| p.pid))
        .collect()
}

/// The processes of `all` whose chain of parents leads to `root`, breadth
/// first: each round takes the children of the previous round.
fn below(all: &[Descendant], root: i32) -> Vec<Descendant> {
    let mut found = Vec::new();
    let mut parents = vec![root];
    while !parents.is_empty() {
        let children: Vec<Descendant> = all
            .iter()
            .filter(|p| parents.contains(&p.ppid) && p.pid != root)
            .cloned()
            .collect();
        parents = children.iter().map(|c| c.pid).collect();
        found.extend(children);
    }
    found
}

/// Seconds per clock tick, the unit of `/proc`'s CPU times (1/100 s
/// where the system will not say).
pub fn clock_tick_s() -> f64 {
    use nix::unistd::{sysconf, SysconfVar};
    match sysconf(SysconfVar::CLK_TCK) {
        Ok(Some(ticks)) if ticks > 0 => 1.0 / ticks as f64,
        _ => 0.01,
    }
}

#[cfg(target_os = "linux")]
fn all_processes() -> Vec<Descendant> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            // A process may end between the listing and this read: skip it.
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            parse_stat(pid, &stat)
        })
        .collect()
}

#[cfg(not(target_os = "linux"))]
fn all_processes() -> Vec<Descendant> {
    Vec::new()
}

/// `/proc/PID/stat`: `pid (comm) state ppid pgrp ...`; comm may hold spaces
/// and parentheses, so the fields are read after its last `)`.
fn parse_stat(pid: i32, stat: &str) -> Option<Descendant> {
    let (head, rest) = stat.rsplit_once(')')?;
    let name = head.split_once('(')?.1.to_string();
    let mut fields = rest.split_whitespace();
    let state = fields.next()?;
    let ppid = fields.next()?.parse().ok()?;
    let pgrp = fields.next()?.parse().ok()?;
    Some(Descendant {
        pid,
        ppid,
        pgrp,
        zombie: state == "Z" || state == "X",
        name,
    })
}

/// CPU time of each thread of `pid` so far, in clock ticks (utime + stime
/// of `/proc/PID/task/TID/stat`), by thread id; empty once the process is
/// gone, or off Linux.
pub fn thread_cpu_ticks(pid: i32) -> Vec<(i32, u64)> {
    let Ok(entries) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| {
            let tid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let stat = std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat")).ok()?;
            Some((tid, parse_cpu_ticks(&stat)?))
        })
        .collect()
}

/// utime + stime of a `/proc/PID/stat` line.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    cpu_ticks(stat).map(|t| t.user + t.system)
}

/// The CPU times of a `/proc/PID/stat` line, in clock ticks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTicks {
    pub user: u64,
    pub system: u64,
    /// Of the children it has waited for.
    pub children_user: u64,
    pub children_system: u64,
}

/// utime, stime, cutime and cstime: the 12th to 15th fields after comm's
/// closing `)`.
pub fn cpu_ticks(stat: &str) -> Option<CpuTicks> {
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest
        .split_whitespace()
        .skip(11)
        .map(|f| f.parse::<u64>().ok());
    let mut next = || fields.next().flatten();
    let (user, system) = (next()?, next()?);
    Some(CpuTicks {
        user,
        system,
        children_user: next().unwrap_or(0),
        children_system: next().unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_stat_lines_with_odd_names() {
        let stat = "4242 (my (odd) prog) S 17 4242 4242 0 -1 4194304 100 0 0 0";
        assert_eq!(
            parse_stat(4242, stat),
            Some(Descendant {
                pid: 4242,
                ppid: 17,
                pgrp: 4242,
                zombie: false,
                name: "my (odd) prog".into(),
            })
        );
        let zombie = parse_stat(7, "7 (sh) Z 1 7 7 0").unwrap();
        // utime 25 and stime 5, after an odd comm.
        let task = "9 (a) b) R 1 9 9 0 -1 4194304 100 0 0 0 25 5 0 0 20 0 1 0";
        assert_eq!(parse_cpu_ticks(task), Some(30));
        assert_eq!(parse_cpu_ticks("9 (a) R 1 9"), None);
        assert!(zombie.zombie);
        assert_eq!(parse_stat(7, "garbage"), None);
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_a_grandchild_through_its_parent() {
        // sh starts a sleep and waits: the sleep is our grandchild.
        let marker = format!("7{}.25", std::process::id() % 100_000);
        let mut child = std::process::Command::new("/bin/sh")
            .args(["-c", &format!("sleep {marker}; true")])
            .spawn()
            .unwrap();
        let sh = child.id() as i32;
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        let grandchild = loop {
            if let Some(found) = list().into_iter().find(|d| d.ppid == sh) {
                break found;
            }
            assert!(std::time::Instant::now() < deadline, "no grandchild found");
            std::thread::sleep(std::time::Duration::from_millis(10));
        };
        assert_eq!(grandchild.name, "sleep");
        assert!(list().iter().any(|d| d.pid == sh));
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(grandchild.pid),
            nix::sys::signal::Signal::SIGKILL,
        );
        let _ = child.kill();
        let _ = child.wait();
    }
}
