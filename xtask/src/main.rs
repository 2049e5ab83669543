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

fn main() {
    // First: a signal from now on interrupts the task cleanly.
    runs::process::install_interrupt_handler();
    let code = match cli::run() {
        Ok(code) => code,
        // After an interrupt the task's error is its consequence (a child
        // killed, a commit refused): `exit` reports the interrupt instead.
        Err(_) if runs::process::interrupted() => tasks::exit::INTERRUPTED,
        Err(error) => {
            eprintln!("error: {error:#}");
            tasks::exit::FAILURE
        }
    };
    runs::process::exit(code)
}
