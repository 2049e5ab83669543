//! Executing and measuring: building workloads, running them (with timeouts
//! and whole-process-group cleanup), timing them, profiling them.

pub mod build;
pub mod callgrind;
pub mod cpu_profile;
pub mod measure;
pub mod memory_profile;
pub mod process;
pub mod progress;
pub mod service;
pub mod workload;
