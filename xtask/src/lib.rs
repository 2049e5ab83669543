//! `cargo xtask`: the profiling workflow of this workspace as typed tasks,
//! driven by `profiling.toml`.
//!
//! A program (src/main.rs is one line) and a library, so that a project with
//! an xtask of its own can mount these tasks as one of its subcommands:
//!
//! ```no_run
//! // In the project's own xtask, for `cargo xtask profile <task> ...`:
//! let mut args = std::env::args_os().skip(1); // the program's name
//! if args.next().is_some_and(|a| a == "profile") {
//!     std::process::exit(xtask_profiling::run_as("cargo xtask profile", args).into());
//! }
//! # mod xtask_profiling { pub fn run_as(_: &str, _: impl Iterator) -> u8 { 0 } }
//! ```
//!
//! The layout tells the architecture:
//! - `config`  — what to run (profiling.toml, strictly validated),
//! - `tools`   — what is installed and how to drive each external tool,
//! - `runs`    — executing and measuring programs,
//! - `results` — what lies on disk under `results/`,
//! - `reports` — what people read (Markdown, tables, SVG),
//! - `tasks`   — one module per `cargo xtask` subcommand.

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
/// arguments. Returns the exit status.
pub fn main() -> u8 {
    let mut args = std::env::args_os();
    args.next(); // the program's own path
    run_as("cargo xtask", args)
}

/// The tasks under another name, for a program that mounts them:
/// `args` are what follows that name (`flamegraph --runs 2`), `bin_name` is
/// how usage lines and `--help` spell the command (`cargo xtask profile`).
/// Returns the exit status (README, "Exit codes"): 0 on success, 130 when
/// interrupted.
pub fn run_as<I, T>(bin_name: &str, args: I) -> u8
where
    I: IntoIterator<Item = T>,
    T: Into<OsString>,
{
    runs::process::install_interrupt_handler();
    let args = match utf8_args(bin_name, args) {
        Ok(args) => args,
        Err(error) => {
            eprintln!("error: {error:#}");
            return tasks::exit::USAGE;
        }
    };
    match cli::run(bin_name, args) {
        Ok(code) => code,
        // The interrupt handler reports and exits; a task that noticed its
        // child die of the interrupt first must not call that a failure.
        Err(_) if runs::process::interrupted() => tasks::exit::INTERRUPTED,
        Err(error) => {
            eprintln!("error: {error:#}");
            tasks::exit::FAILURE
        }
    }
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
