//! Executing and measuring: building workloads (also at other git
//! revisions), running them (with timeouts and whole-process-group cleanup),
//! timing them, profiling them, counting their instructions.

pub mod build;
pub mod callgrind;
pub mod cpu_hogs;
pub mod cpu_profile;
pub mod criterion;
pub mod descendants;
pub mod git;
pub mod history;
pub mod machine_load;
pub mod measure;
pub mod memory_profile;
pub mod own_cpu;
pub mod probe;
pub mod process;
pub mod progress;
pub mod revisions;
pub mod server_usage;
pub mod service;
pub mod service_runs;
pub mod service_setup;
pub mod watchdog;
pub mod workload;
