//! One module per `cargo xtask` task. Each parses nothing itself (cli.rs
//! does) and leaves running, measuring and writing to `runs` and `results`.

pub mod baseline;
pub mod bench_self;
pub mod cleanup;
pub mod compare;
pub mod doctor;
pub mod exit;
pub mod export;
pub mod flamegraph;
pub mod list;
pub mod memory;
pub mod pin;
pub mod pre_release;
pub mod report;
pub mod trends;
pub mod unpin;
