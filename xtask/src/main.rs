//! `cargo xtask`: the profiling workflow of this workspace as typed tasks,
//! driven by `profiling.toml`.
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
mod tools;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};

static VERBOSE: AtomicBool = AtomicBool::new(false);

/// Prints an external command exactly as run, under `-v`, so that any step
/// can be repeated by hand.
pub fn verbose_command(display: &str) {
    if VERBOSE.load(Ordering::Relaxed) {
        eprintln!("$ {display}");
    }
}

/// The workspace root: the directory above this crate.
pub fn project_root() -> PathBuf {
    let manifest_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest_dir
        .parent()
        .map(PathBuf::from)
        .unwrap_or(manifest_dir)
}

/// Exit codes scripts can rely on (documented in the README).
pub mod exit {
    /// A task failed (bad input, a tool error, a failed workload).
    pub const FAILURE: u8 = 1;
    /// Usage error (clap's own).
    pub const USAGE: u8 = 2;
    /// `profile-compare --fail-on-regression` found a regression beyond its threshold.
    pub const REGRESSION: u8 = 3;
    /// `doctor`: the default tasks cannot run on this machine.
    pub const TOOLS_MISSING: u8 = 4;
    /// `memory --leak-check`: more bytes definitely lost than `thresholds.leaked_bytes`.
    pub const LEAKS: u8 = 5;
    /// Interrupted by Ctrl-C or SIGTERM (128 + SIGINT, as shells report it).
    pub const INTERRUPTED: u8 = 130;
}

fn main() -> ExitCode {
    runs::process::install_interrupt_handler();
    match cli::run() {
        Ok(code) => ExitCode::from(code),
        // The interrupt handler reports and exits; a task that noticed its
        // child die of the interrupt first must not call that a failure.
        Err(_) if runs::process::interrupted() => ExitCode::from(exit::INTERRUPTED),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(exit::FAILURE)
        }
    }
}
