//! `cargo xtask`: the profiling workflow of this workspace as typed tasks,
//! driven by `profiling.toml`.
//!
//! The engine, a library: an `xtask` binary's main is one line
//! ([`main`]), and a project with an xtask of its own can mount these tasks
//! as one of its subcommands:
//!
//! ```no_run
//! // In the project's own xtask, for `cargo xtask profile <task> ...`:
//! let mut args = std::env::args_os().skip(1); // the program's name
//! if args.next().is_some_and(|a| a == "profile") {
//!     xtask_profiling::run_as("cargo xtask profile", args); // ends the process
//! }
//! # mod xtask_profiling { pub fn run_as(_: &str, _: impl Iterator) -> ! { loop {} } }
//! ```
//!
//! The layout tells the architecture, layers from the bottom up (each
//! imports only from those above it in this list; `tidy` checks it):
//! - `config`  — what to run (profiling.toml, strictly validated),
//! - `stats`   — the statistics of verdicts and trends,
//! - `tools`   — what is installed and how to drive each external tool,
//! - `runs`    — executing and measuring programs,
//! - `results` — what lies on disk under `results/`,
//! - `reports` — what people read (Markdown, tables, SVG),
//! - `tasks`   — one module per `cargo xtask` subcommand,
//! - `cli`     — the command line, which picks the task,
//! - `lib`     — this file: the entry points.

mod cli;
mod config;
mod reports;
mod results;
mod runs;
mod stats;
mod tasks;
#[cfg(test)]
mod tidy;
mod tools;

use std::ffi::OsString;

/// `cargo xtask <task> ...`: the tasks as a program, from this process's
/// arguments. Ends the process with the task's exit status.
pub fn main() -> ! {
    let mut args = std::env::args_os();
    // Past the program's own path.
    args.next();
    // This program is the xtask: it can be the shim of counted runs.
    runs::measure::SHIM_IS_SELF.store(true, std::sync::atomic::Ordering::Relaxed);
    run_as("cargo xtask", args)
}

/// `cargo profile <task> ...`: the tasks as a cargo subcommand, the
/// `cargo-profile` binary that `cargo install` puts on PATH, from this
/// process's arguments. Cargo runs it as `cargo-profile profile <task> ...`;
/// run by its own name it is `cargo-profile <task> ...`. It belongs to no
/// project: the project is the current directory's (the nearest directory
/// with a profiling.toml, else the Cargo project, else the directory itself).
/// Ends the process with the task's exit status.
pub fn cargo_profile_main() -> ! {
    let mut args = std::env::args_os().skip(1).peekable();
    // The subcommand's name, which cargo passes on.
    args.next_if(|a| a == "profile");
    config::find_root_from_current_dir();
    // This program holds the engine too: it can be the shim of counted runs.
    runs::measure::SHIM_IS_SELF.store(true, std::sync::atomic::Ordering::Relaxed);
    run_as("cargo profile", args)
}

/// The tasks under another name, for a program that mounts them:
/// `args` are what follows that name (`flamegraph --runs 2`), `bin_name` is
/// how usage lines and `--help` spell the command (`cargo xtask profile`).
/// Ends the process with the task's exit status (docs/tasks.md of the
/// xtask-profiling repository, "Exit codes"):
/// its end waits for every child to be stopped after Ctrl-C, SIGTERM or
/// SIGHUP, whose handlers it installs.
pub fn run_as<I, T>(bin_name: &str, args: I) -> !
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    let mut args: Vec<OsString> = args.into_iter().map(Into::into).collect();
    // The shim of a counted run (runs::measure), before anything else: it
    // only starts, waits for and reports one program.
    if args
        .first()
        .is_some_and(|a| a == runs::measure::MEASURED_EXEC)
    {
        runs::measure::measured_exec(args.split_off(1));
    }
    if args
        .first()
        .is_some_and(|a| a == runs::watchdog::WATCHDOG_ARG)
    {
        match args.get(1).and_then(|a| a.to_str()) {
            Some(owner) if !owner.is_empty() => runs::watchdog::watch(owner),
            _ => std::process::exit(tasks::exit::USAGE.into()),
        }
    }
    // First: a signal from now on interrupts the task cleanly.
    runs::process::install_interrupt_handler();
    let code = match utf8_args(bin_name, args) {
        Ok(args) => match cli::run(bin_name, args) {
            Ok(code) => code,
            // After an interrupt the task's error is its consequence (a child
            // killed, a commit refused): `exit` reports the interrupt instead.
            Err(_) if runs::process::interrupted() => tasks::exit::INTERRUPTED,
            Err(error) => {
                eprintln!("error: {}", in_own_words(bin_name, &format!("{error:#}")));
                tasks::exit::FAILURE
            }
        },
        Err(error) => {
            eprintln!("error: {error:#}");
            tasks::exit::USAGE
        }
    };
    // A full disk under the task's output fails a task that otherwise succeeded.
    let code = match reports::stdout::finish() {
        false if code == 0 => tasks::exit::FAILURE,
        _ => code,
    };
    runs::process::exit(code)
}

/// An error's text with the commands it suggests (`` `cargo xtask pin …` ``)
/// spelled as this program is run (`` `cargo profile pin …` ``): errors come
/// from every layer, and the layers below the command line do not know its
/// name.
fn in_own_words(bin_name: &str, text: &str) -> String {
    text.replace("`cargo xtask ", &format!("`{bin_name} "))
}

/// The argument list clap sees: the command's name, then the arguments,
/// each of which must be UTF-8 (config values, labels and paths are compared
/// and written as text).
fn utf8_args<I, T>(bin_name: &str, args: I) -> anyhow::Result<Vec<String>>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    std::iter::once(OsString::from(bin_name))
        .chain(args.into_iter().map(Into::into))
        .map(|arg| {
            arg.into_string().map_err(|bad| {
                anyhow::anyhow!(
                    "the argument {} is not valid UTF-8: rename the file or pass a path that is",
                    bad.to_string_lossy()
                )
            })
        })
        .collect()
}
