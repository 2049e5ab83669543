//! The end-to-end tests, one binary: each file a module (its tests are
//! `cli::…`, `lifecycle::…`), sharing `common`. Tests of all files share one
//! process: names that must not collide (sandboxes, markers, ports) are
//! unique across files, not only within one.

mod common;

mod adopt;
mod annotate;
mod baseline;
mod cargo_profile;
mod ci_workflow;
mod cli;
mod compare;
mod contention;
mod counters;
mod criterion;
mod history;
mod lifecycle;
mod memory;
mod offcpu;
mod server_measures;
mod service_life;
mod services;
mod signals;
mod unprivileged;
mod viewer;
