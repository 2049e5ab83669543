//! What to run, and how a run that lasts until it is stopped is stopped.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

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
    /// A raw pipe instead of line capture, for streaming tools (perf
    /// record's data, read in process): see
    /// [`Running::stdout`](super::Running::stdout).
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
    /// posix_spawn (vfork) instead of fork, which copies our page tables,
    /// large once a profile's DWARF is loaded.
    pub answer_only: bool,
    /// Starts even after an interrupt, when no other child may: a server's
    /// teardown, which undoes what its setup made whatever happened.
    pub after_interrupt: bool,
}

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
