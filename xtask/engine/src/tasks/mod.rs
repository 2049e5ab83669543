//! One module per `cargo xtask` task, each with one entry of one shape:
//! `pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8>`, returning
//! the exit code. A task parses nothing itself (cli.rs does), imports no other
//! task, and leaves running, measuring and writing to the layers below.

pub mod adopt;
pub mod annotate;
pub mod baseline;
pub mod bench_self;
pub mod bench_verdicts;
pub mod cleanup;
pub mod compare;
pub mod doctor;
pub mod exit;
pub mod export;
pub mod flamegraph;
pub mod history;
pub mod init;
pub mod invocation;
pub mod list;
pub mod memory;
pub mod pin;
pub mod pre_release;
pub mod profile_flow;
pub mod publish;
pub mod report;
pub mod trends;
pub mod unpin;
pub mod view;
