//! heaptrack attached to a running process (`heaptrack -p PID`): its
//! command line, the gdb command that detaches it cleanly, and what gdb
//! said when the injection failed.
//!
//! heaptrack's script injects its library through gdb: gdb attaches to the
//! process and calls `dlopen` and then `heaptrack_inject` *inside* it (gdb's
//! "inferior function calls"). The process then writes every allocation to
//! heaptrack's FIFO until `heaptrack_stop()` is called in it (again through
//! gdb) or it exits. A failed call can leave the process in a broken state,
//! so a failure is read from gdb's own words.

use std::ffi::OsString;
use std::path::Path;

/// What heaptrack prints once its gdb has returned, whether the injection
/// worked or not: only then can its outcome be checked.
pub const INJECTION_DONE: &str = "injection finished";

/// `heaptrack -o OUTPUT_BASE -p PID` (`-o` must come first: heaptrack reads
/// its options in order and `-p` ends them).
pub fn attach_command(heaptrack: &Path, output_base: &Path, pid: i32) -> Vec<OsString> {
    vec![
        heaptrack.into(),
        "-o".into(),
        output_base.into(),
        "-p".into(),
        pid.to_string().into(),
    ]
}

/// The gdb script that calls `heaptrack_stop()` in the process on a thread
/// that holds neither heaptrack's lock nor the allocator's (see its head):
/// heaptrack's own clean-up calls it on whichever thread gdb stopped first,
/// which waits for itself for ever when that thread was allocating.
pub const STOP_SCRIPT: &str = include_str!("stop.py");

/// What [`STOP_SCRIPT`] prints once `heaptrack_stop()` has returned.
pub const STOPPED: &str = "xtask: heaptrack_stop() returned";

/// gdb running [`STOP_SCRIPT`] (written to `script`) in process `pid`: the
/// process flushes and closes heaptrack's FIFO, heaptrack reads the end of
/// its data and exits, and the process runs on. The library stays loaded
/// (unloading it can crash the process), inert.
pub fn stop_command(gdb: &Path, pid: i32, script: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![gdb.into()];
    argv.extend(
        [
            "--batch-silent",
            "-n",
            "-iex=set auto-solib-add off",
            "-p",
            &pid.to_string(),
            "--eval-command=sharedlibrary libheaptrack_inject",
            "--eval-command=sharedlibrary libc.so",
            "-x",
        ]
        .map(OsString::from),
    );
    argv.push(script.into());
    argv.push("--eval-command=detach".into());
    argv
}

/// Why gdb could not inject heaptrack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cause {
    /// gdb cannot save and restore this CPU's extended register state (the
    /// AMX tiles of recent Intel CPUs, which gdb before 14 does not know):
    /// every call it makes in the process fails.
    ExtendedState,
    /// The kernel refused the attach: another tracer, another user's
    /// process, or Yama's `ptrace_scope`.
    NotPermitted,
    /// The process ended, or crashed under the call.
    ProcessGone,
    /// Anything else gdb said.
    Other,
}

/// The line in which gdb said why the injection failed, and what it means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InjectionFailure {
    pub gdb_line: String,
    pub cause: Cause,
}

/// gdb's errors, most telling first: an error a later one follows from
/// ("No symbol heaptrack_inject" once dlopen failed) comes after its cause.
const GDB_ERRORS: &[(&str, Cause)] = &[
    ("extended state", Cause::ExtendedState),
    ("Couldn't write registers", Cause::ExtendedState),
    ("Couldn't get registers", Cause::ExtendedState),
    ("ptrace: Operation not permitted", Cause::NotPermitted),
    ("is already traced by process", Cause::NotPermitted),
    ("ptrace: No such process", Cause::ProcessGone),
    (
        "The program being debugged was signaled",
        Cause::ProcessGone,
    ),
    ("The program being debugged exited", Cause::ProcessGone),
    ("Cannot access memory at address", Cause::Other),
    ("Could not attach to process", Cause::NotPermitted),
    ("No symbol \"heaptrack_inject\"", Cause::Other),
    ("No symbol table is loaded", Cause::Other),
];

/// The failure gdb reported in `stderr` (heaptrack passes gdb's errors on),
/// or None when it reported none. Its warnings (a source file it cannot
/// show, a missing auto-load script) are not failures.
pub fn injection_failure(stderr: &[String]) -> Option<InjectionFailure> {
    GDB_ERRORS.iter().find_map(|(marker, cause)| {
        stderr
            .iter()
            .map(|line| line.trim())
            .find(|line| line.contains(marker) && !line.starts_with("warning:"))
            .map(|line| InjectionFailure {
                gdb_line: line.to_string(),
                cause: cause.clone(),
            })
    })
}

/// gdb's version from the first line of `gdb --version`
/// (`GNU gdb (Debian 13.1-3) 13.1`): `(13, 1)`.
pub fn gdb_version(first_line: &str) -> Option<(u32, u32)> {
    let last = first_line.split_whitespace().last()?;
    let mut parts = last.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts
        .next()
        .and_then(|m| m.parse().ok())
        .unwrap_or_default();
    Some((major, minor))
}

/// Whether `maps` (a `/proc/PID/maps`) shows glibc's shared C library: the
/// injection calls its `dlopen`, which a statically linked program (a Go
/// binary, a musl build) does not have to offer.
pub fn has_shared_glibc(maps: &str) -> bool {
    maps.lines().any(|line| {
        let path = line.split_whitespace().nth(5).unwrap_or_default();
        let name = path.rsplit('/').next().unwrap_or_default();
        name.starts_with("libc.so") || (name.starts_with("libc-2.") && name.ends_with(".so"))
    })
}

/// Why heaptrack must not be injected into the process whose
/// `/proc/PID/maps` is `maps`: it runs under heaptrack already, or was
/// attached to before. A library injected once stays loaded, its allocation
/// hooks inert but still taking heaptrack's lock; injecting again calls
/// heaptrack's init on whichever thread gdb stopped, which waits for ever
/// for its own lock when that thread was in a hook (a busily allocating
/// process is often in one).
pub fn already_traced(maps: &str) -> Option<&'static str> {
    let mapped = |library: &str| maps.lines().any(|line| line.ends_with(library));
    if mapped("/libheaptrack_preload.so") {
        Some("runs under heaptrack already (started by it)")
    } else if mapped("/libheaptrack_inject.so") {
        Some(
            "was attached to by heaptrack before (its library stays loaded), and injecting it \
             again can hang the process",
        )
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(text: &str) -> Vec<String> {
        text.lines().map(str::to_string).collect()
    }

    const GDB13_AMX: &str =
        include_str!("../../../tests/fixtures/heaptrack/attach-gdb13-amx.stderr.txt");
    const TRACED: &str = include_str!("../../../tests/fixtures/heaptrack/attach-traced.stderr.txt");
    const SERVE: &str =
        include_str!("../../../tests/fixtures/heaptrack/attach-demo-serve.stderr.txt");
    const SERVE_STOP: &str =
        include_str!("../../../tests/fixtures/heaptrack/attach-demo-serve.stop-stderr.txt");
    const SERVE_STDOUT: &str =
        include_str!("../../../tests/fixtures/heaptrack/attach-demo-serve.stdout.txt");

    #[test]
    fn gdb13_on_an_amx_cpu_fails_on_the_extended_state_not_the_missing_symbol() {
        let failure = injection_failure(&lines(GDB13_AMX)).unwrap();
        assert_eq!(
            failure,
            InjectionFailure {
                gdb_line: "Couldn't write extended state status: Bad address.".into(),
                cause: Cause::ExtendedState,
            }
        );
    }

    #[test]
    fn an_already_traced_process_is_not_permitted() {
        let failure = injection_failure(&lines(TRACED)).unwrap();
        assert_eq!(failure.gdb_line, "ptrace: Operation not permitted.");
        assert_eq!(failure.cause, Cause::NotPermitted);
    }

    #[test]
    fn gdb_warnings_of_a_good_attach_and_stop_are_no_failure() {
        assert_eq!(injection_failure(&lines(SERVE)), None);
        assert_eq!(injection_failure(&lines(SERVE_STOP)), None);
        assert!(SERVE_STDOUT.lines().any(|l| l == INJECTION_DONE));
        assert_eq!(injection_failure(&[]), None);
    }

    #[test]
    fn an_unknown_gdb_error_is_no_known_failure_and_a_truncated_one_still_counts() {
        assert_eq!(
            injection_failure(&lines("Something else went wrong.")),
            None
        );
        let cut = injection_failure(&lines("Couldn't write extended state")).unwrap();
        assert_eq!(cut.cause, Cause::ExtendedState);
    }

    #[test]
    fn gdb_versions() {
        assert_eq!(gdb_version("GNU gdb (Debian 13.1-3) 13.1"), Some((13, 1)));
        assert_eq!(gdb_version("GNU gdb (GDB) 18.1"), Some((18, 1)));
        assert_eq!(gdb_version("GNU gdb (GDB) 14"), Some((14, 0)));
        assert_eq!(gdb_version("not gdb"), None);
        assert_eq!(gdb_version(""), None);
    }

    #[test]
    fn glibc_is_found_in_the_maps_of_a_dynamic_program_only() {
        let dynamic = "7f1e-7f1f r-xp 00028000 fe:00 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n";
        assert!(has_shared_glibc(dynamic));
        let old = "7f1e-7f1f r-xp 00028000 fe:00 1 /lib/x86_64-linux-gnu/libc-2.31.so\n";
        assert!(has_shared_glibc(old));
        let musl = "7f1e-7f1f r-xp 00028000 fe:00 1 /lib/ld-musl-x86_64.so.1\n";
        assert!(!has_shared_glibc(musl));
        let static_go = "00400000-00401000 r-xp 00000000 fe:00 2 /srv/eventodb\n7ffd-7ffe rw-p 0 0:0 0 [stack]\n";
        assert!(!has_shared_glibc(static_go));
        let own = std::fs::read_to_string("/proc/self/maps").unwrap_or_default();
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert!(has_shared_glibc(&own), "{own}");
        }
    }

    #[test]
    fn a_process_heaptrack_was_in_before_is_told_apart() {
        let inject =
            "7f1e-7f1f r-xp 00003000 fe:00 314788 /usr/lib/heaptrack/libheaptrack_inject.so\n";
        assert!(already_traced(inject)
            .unwrap()
            .contains("attached to by heaptrack before"));
        let preload =
            "7f1e-7f1f r-xp 00003000 fe:00 3 /usr/lib/heaptrack/libheaptrack_preload.so\n";
        assert!(already_traced(preload)
            .unwrap()
            .contains("runs under heaptrack"));
        let plain = "7f1e-7f1f r-xp 00028000 fe:00 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n";
        assert_eq!(already_traced(plain), None);
    }

    #[test]
    fn commands() {
        let argv = attach_command(Path::new("heaptrack"), Path::new("/r/heaptrack"), 42);
        assert_eq!(argv, ["heaptrack", "-o", "/r/heaptrack", "-p", "42"]);
        let argv = stop_command(Path::new("/usr/bin/gdb"), 42, Path::new("/t/stop.py"));
        assert_eq!(argv[0], "/usr/bin/gdb");
        assert!(argv.windows(2).any(|w| w[0] == "-p" && w[1] == "42"));
        assert!(argv
            .windows(2)
            .any(|w| w[0] == "-x" && w[1] == "/t/stop.py"));
        // The script runs once both libraries' symbols are read, then gdb detaches.
        let at = |arg: &str| argv.iter().position(|a| a == arg).unwrap();
        assert!(at("--eval-command=sharedlibrary libc.so") < at("-x"));
        assert_eq!(argv.last().unwrap(), "--eval-command=detach");
        assert!(STOP_SCRIPT.contains("heaptrack_stop()") && STOP_SCRIPT.contains(STOPPED));
    }
}
