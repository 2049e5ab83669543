//! `cdr-demo`: the built-in demo workload every xtask profiles out of the box.
//!
//! It is modelled on the CDR (call detail record) generator of seed 001: for
//! each subscriber it draws a Poisson number of calls, log-normal durations,
//! formats CSV rows and writes them through a buffered writer. So its profile
//! shows random number generation, formatting, allocation and I/O, like a real
//! program's. At the end it prints one machine-readable `METRICS` line.
//!
//! It has three modes:
//! - `cdr-demo generate --subs N --days D --workers W --out FILE` (the default),
//! - `cdr-demo serve --port P`: a loopback TCP service that generates records
//!   per request,
//! - `cdr-demo load --port P --workers W --duration S`: a load generator that
//!   reports ops/s and latency percentiles.
//!
//! No dependencies: the RNG and distributions are written here so that the
//! demo builds in seconds on a fresh checkout.

use cdr_demo::{generate, service};
use std::process::ExitCode;

const USAGE: &str = "\
cdr-demo: the demo workload of the profiling xtask

USAGE:
    cdr-demo [generate] [--subs N] [--days D] [--workers W] [--out FILE]
                        [--seed S] [--slowdown K] [--leak-bytes B]
    cdr-demo serve [--port P] [--log FILE] [--fsync BOOL] [--unlink-log BOOL]
    cdr-demo load [--port P] [--workers W] [--duration SECONDS] [--subs N] [--ramp-step SECONDS]

generate   write CSV call detail records (FILE `-` is stdout, default /dev/null)
           --slowdown K adds K extra rounds of tariff computation per call
           (a deliberate regression for profile-compare demos);
           --leak-bytes B leaks B bytes on purpose (for the leak check).
serve      answer `GEN <subs>` requests on 127.0.0.1:P until SIGINT/SIGTERM;
           each request is recorded under one shared lock: appended to the
           --log FILE (truncated at start; --fsync true syncs every append;
           --unlink-log true removes the file's name once open, so nothing
           is left behind) and kept in a history that grows with the load
load       run W client workers for SECONDS against 127.0.0.1:P
           --ramp-step S starts client i after i*S seconds (a growing load)
";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mode = match args.first().map(String::as_str) {
        Some("serve") | Some("load") | Some("generate") => args.remove(0),
        Some("-h") | Some("--help") => {
            print!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => "generate".to_string(),
    };
    let result = match mode.as_str() {
        "serve" => service::Flags::parse(&args).and_then(service::serve),
        "load" => service::Flags::parse(&args).and_then(service::load),
        _ => generate::Flags::parse(&args).and_then(generate::run),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("cdr-demo: {message}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}
