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
#[cfg(test)]
mod tidy;
mod tools;

use std::process::ExitCode;

fn main() -> ExitCode {
    runs::process::install_interrupt_handler();
    match cli::run() {
        Ok(code) => ExitCode::from(code),
        // The interrupt handler reports and exits; a task that noticed its
        // child die of the interrupt first must not call that a failure.
        Err(_) if runs::process::interrupted() => ExitCode::from(tasks::exit::INTERRUPTED),
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(tasks::exit::FAILURE)
        }
    }
}
