//! What perf may do for the user who runs the xtask: the kernel's
//! `perf_event_paranoid` rules, what each level allows a user who is not
//! root, and the commands that change the level. Everything here is a
//! function of the level (read once from /proc), so that every level can be
//! checked without touching the machine's.
//!
//! The kernel's rules for a user without root (CAP_PERFMON, CAP_SYS_ADMIN):
//! at 2 perf samples and counts that user's own processes in user space
//! only; 1 adds the kernel (kernel frames, events the kernel counts in its
//! own code such as context switches); 0 adds CPU-wide profiles; -1 adds
//! tracepoints' raw data (the off-CPU profile's `sched:sched_switch`).
//! Debian's kernels forbid unprivileged perf entirely at 3, Ubuntu's at 4
//! (their defaults); upstream kernels treat any level above 2 as 2.

use serde::Serialize;

/// Where the kernel keeps the level.
pub const LEVEL_FILE: &str = "/proc/sys/kernel/perf_event_paranoid";

/// The level a user needs to profile their own programs (user space).
pub const USER_SPACE: i32 = 2;

/// The level a user needs to sample the kernel too.
pub const KERNEL: i32 = 1;

/// The level a user needs to sample tracepoints with their data.
pub const TRACEPOINTS: i32 = -1;

/// The level, from /proc; `None` where it cannot be read (not Linux).
pub fn read_level() -> Option<i32> {
    std::fs::read_to_string(LEVEL_FILE)
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// What perf may do here: the level, and whether the user is root, whom
/// the level does not restrict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Access {
    pub level: Option<i32>,
    pub root: bool,
}

impl Access {
    /// The level that applies: the kernel's default where it is unknown.
    fn effective(&self) -> i32 {
        self.level.unwrap_or(USER_SPACE)
    }

    /// perf samples and counts the kernel too, not only user space.
    pub fn kernel(&self) -> bool {
        self.root || self.effective() <= KERNEL
    }

    /// perf may sample tracepoints with their data (the off-CPU switches).
    pub fn tracepoints(&self) -> bool {
        self.root || self.effective() <= TRACEPOINTS
    }

    /// The level may forbid perf to this user entirely (Debian's 3,
    /// Ubuntu's 4); whether it does depends on the kernel's patches, which
    /// only a try of perf tells.
    pub fn may_forbid_perf(&self) -> bool {
        !self.root && self.effective() > USER_SPACE
    }

    /// One line on what perf may do here, for doctor.
    pub fn summary(&self) -> String {
        let level = self.effective();
        if self.root {
            return format!(
                "{level}; you are root, whom it does not restrict: perf may sample everything"
            );
        }
        format!("{level}; you are not root: {}", allows(level))
    }

    /// What this user gives up at this level, each with the level it needs;
    /// empty for root.
    pub fn missing(&self) -> Vec<String> {
        let mut missing = Vec::new();
        if self.may_forbid_perf() {
            missing.push(format!(
                "any profile, on Debian's and Ubuntu's kernels (needs {USER_SPACE})"
            ));
        }
        if !self.kernel() {
            missing.push(format!(
                "kernel frames (`kernel_frames = true`) and the context switches and CPU \
                 migrations perf stat counts (need {KERNEL})"
            ));
        }
        if !self.tracepoints() {
            missing.push(format!(
                "--off-cpu: the sched:sched_switch tracepoint (needs {TRACEPOINTS} and a \
                 readable /sys/kernel/tracing, or root)"
            ));
        }
        missing
    }
}

/// What a user who is not root may profile at `level`.
pub fn allows(level: i32) -> &'static str {
    match level {
        i32::MIN..=-1 => "everything: kernel frames, CPU-wide profiles, tracepoints (--off-cpu)",
        0 => "own programs and the kernel, CPU-wide profiles; no tracepoints (--off-cpu needs -1)",
        1 => "own programs, kernel frames included; no tracepoints (--off-cpu needs -1)",
        2 => "own programs in user space (flamegraphs, memory, timings, software counters); no kernel frames, no --off-cpu",
        _ => "nothing on Debian's (3) and Ubuntu's (4) kernels, which forbid perf to users who are not root; other kernels treat it as 2",
    }
}

/// Each level and what it allows a user who is not root, for doctor.
pub fn levels() -> Vec<(&'static str, &'static str)> {
    vec![
        ("-1", allows(-1)),
        ("0", allows(0)),
        ("1", allows(1)),
        ("2", allows(2)),
        ("3, 4", allows(3)),
    ]
}

/// The command that sets the level until the next boot.
pub fn set_command(level: i32) -> String {
    format!("sudo sysctl kernel.perf_event_paranoid={level}")
}

/// The command that keeps the level after a reboot.
pub fn keep_command(level: i32) -> String {
    format!("echo kernel.perf_event_paranoid={level} | sudo tee /etc/sysctl.d/60-perf.conf")
}

/// Both commands, as the fix of a refusal says them.
pub fn fix(level: i32) -> String {
    format!(
        "{}\n  and to keep it after a reboot: {}",
        set_command(level),
        keep_command(level)
    )
}

/// Why perf is refused to this user at `level` (above 2, where a try of
/// perf failed), for the tool's limitation.
pub fn refusal(level: i32) -> String {
    format!(
        "may not record: kernel.perf_event_paranoid is {level}, which forbids perf to users who \
         are not root on this kernel (Debian's 3, Ubuntu's 4); at {USER_SPACE} you may profile \
         your own programs"
    )
}

/// The note of a profile that asked for kernel frames where the level only
/// lets perf sample user space: the profile is of user space, and says so.
pub fn kernel_frames_skipped(access: &Access) -> String {
    format!(
        "kernel frames were not sampled (kernel_frames = true): kernel.perf_event_paranoid is {} \
         and you are not root, so perf samples user space only. `{}` lets it sample the kernel",
        access.effective(),
        set_command(KERNEL)
    )
}

/// perf's own message when the kernel refused it an event (EACCES or
/// EPERM from perf_event_open), and the level perf read.
const PERF_REFUSED: &str =
    "Access to performance monitoring and observability operations is limited";
const PERF_LEVEL: &str = "perf_event_paranoid setting is ";

/// perf's message when it may not read a tracepoint's format in tracefs.
const TRACEFS_REFUSED: &str = "No permissions to read /sys/kernel/tracing";

/// perf's message when the kernel would not let it lock its ring buffer.
const LOCK_REFUSED: &str = "Permission error mapping pages";

/// What to do about a refusal perf printed (its stderr), or `None` when
/// the text holds none.
pub fn diagnose(stderr: &str) -> Option<String> {
    if stderr.contains(LOCK_REFUSED) {
        return Some(
            "the kernel would not let perf lock its ring buffer in memory: a user who is not \
             root has kernel.perf_event_mlock_kb per CPU for all of their perfs at once, then \
             each perf its `ulimit -l`. Run fewer profiles at a time, raise `ulimit -l`, or \
             `sudo sysctl kernel.perf_event_mlock_kb=` a larger size"
                .into(),
        );
    }
    if stderr.contains(TRACEFS_REFUSED) || stderr.contains("can't access trace events") {
        return Some(format!(
            "perf may not read the tracepoints in /sys/kernel/tracing: tracepoints need root, or \
             `{}` and a tracefs readable by you (`sudo mount -o remount,mode=755 \
             /sys/kernel/tracing`), which let every user trace the kernel",
            set_command(TRACEPOINTS)
        ));
    }
    if !stderr.contains(PERF_REFUSED) {
        return None;
    }
    let level = stderr.lines().find_map(|line| {
        line.trim()
            .strip_prefix(PERF_LEVEL)
            .and_then(|rest| rest.trim_end_matches(':').trim().parse::<i32>().ok())
    });
    Some(match level {
        Some(level) if level > USER_SPACE => format!(
            "the kernel refused perf: kernel.perf_event_paranoid is {level}, which forbids perf \
             to users who are not root. Run `{}`, and to keep it after a reboot: `{}`",
            set_command(USER_SPACE),
            keep_command(USER_SPACE)
        ),
        Some(level) => format!(
            "the kernel refused perf this event or process: kernel.perf_event_paranoid is {level}. \
             A user who is not root may profile only their own processes, {}. Run the task as the \
             process's owner, or as root",
            allows(level)
        ),
        None => "the kernel refused perf (see perf's message): run as root, or lower \
                 kernel.perf_event_paranoid"
            .to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(level: i32) -> Access {
        Access {
            level: Some(level),
            root: false,
        }
    }

    #[test]
    fn each_level_allows_a_user_what_the_kernel_allows() {
        assert!(!user(2).kernel() && !user(2).tracepoints() && !user(2).may_forbid_perf());
        assert!(user(1).kernel() && !user(1).tracepoints());
        assert!(user(0).kernel() && !user(0).tracepoints());
        assert!(user(-1).kernel() && user(-1).tracepoints());
        for level in [3, 4] {
            assert!(user(level).may_forbid_perf() && !user(level).kernel());
        }
        let root = Access {
            level: Some(4),
            root: true,
        };
        assert!(root.kernel() && root.tracepoints() && !root.may_forbid_perf());
        assert!(root.missing().is_empty());
        // An unreadable level counts as the kernel's default.
        let unknown = Access {
            level: None,
            root: false,
        };
        assert!(!unknown.kernel() && !unknown.may_forbid_perf());
    }

    #[test]
    fn what_a_user_gives_up_names_the_level_it_needs() {
        let at_2 = user(2).missing().join("\n");
        assert!(
            at_2.contains("kernel frames") && at_2.contains("(need 1)"),
            "{at_2}"
        );
        assert!(
            at_2.contains("--off-cpu") && at_2.contains("needs -1"),
            "{at_2}"
        );
        assert!(!at_2.contains("any profile"), "{at_2}");
        assert!(user(3).missing()[0].contains("any profile"));
        assert_eq!(user(1).missing().len(), 1);
        assert!(user(-1).missing().is_empty());
        assert!(user(2)
            .summary()
            .starts_with("2; you are not root: own programs in user space"));
    }

    #[test]
    fn the_fix_sets_the_level_and_keeps_it() {
        assert_eq!(
            fix(2),
            "sudo sysctl kernel.perf_event_paranoid=2\n  and to keep it after a reboot: \
             echo kernel.perf_event_paranoid=2 | sudo tee /etc/sysctl.d/60-perf.conf"
        );
        assert!(refusal(3).contains("is 3"));
        assert!(
            kernel_frames_skipped(&user(2)).contains("sudo sysctl kernel.perf_event_paranoid=1")
        );
    }

    fn fixture(path: &str) -> String {
        std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(path),
        )
        .unwrap()
    }

    /// perf's message, captured from `perf stat -e cpu-clock:k -- true` run
    /// as nobody at level 2 (a kernel event level 2 forbids). perf prints the
    /// same text at 3 and 4, with that level: Debian's and Ubuntu's kernels
    /// refuse every event there.
    #[test]
    fn perf_refused_at_any_level_says_what_to_run() {
        let at_2 = fixture("perf/access-limited-stderr.txt");
        let help = diagnose(&at_2).unwrap();
        assert!(
            help.contains("is 2") && help.contains("only their own processes"),
            "{help}"
        );
        for level in [3, 4] {
            let text = at_2.replace(
                "perf_event_paranoid setting is 2:",
                &format!("perf_event_paranoid setting is {level}:"),
            );
            assert_ne!(text, at_2, "the fixture no longer names the level");
            let help = diagnose(&text).unwrap();
            assert!(help.contains(&format!("is {level}")), "{help}");
            assert!(
                help.contains("`sudo sysctl kernel.perf_event_paranoid=2`"),
                "{help}"
            );
            assert!(
                help.contains(
                    "`echo kernel.perf_event_paranoid=2 | sudo tee /etc/sysctl.d/60-perf.conf`"
                ),
                "{help}"
            );
        }
        assert_eq!(diagnose("perf: some other failure"), None);
        // Captured from a second perf record of nobody's while a first ran.
        let lock = "Permission error mapping pages.\nConsider increasing /proc/sys/kernel/perf_event_mlock_kb,\n";
        assert!(diagnose(lock)
            .unwrap()
            .contains("kernel.perf_event_mlock_kb per CPU for all of their perfs"));
    }

    /// perf's words when tracefs is root's only, captured from `perf record
    /// -e sched:sched_switch` run as nobody.
    #[test]
    fn a_tracefs_refusal_says_what_tracepoints_need() {
        let help = diagnose(&fixture("offcpu/tracefs-denied-stderr.txt")).unwrap();
        assert!(
            help.contains("sudo sysctl kernel.perf_event_paranoid=-1"),
            "{help}"
        );
        assert!(help.contains("/sys/kernel/tracing"), "{help}");
    }
}
