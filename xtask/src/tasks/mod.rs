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
pub mod memory;
pub mod pins;
pub mod pre_release;
pub mod report;
pub mod trends;

use crate::results::record::{GitInfo, ScaleRecord};
use crate::tools::capture;
use std::collections::BTreeMap;
use std::path::Path;

/// The commit, dirty flag and branch of the tree at `root`.
pub fn git_info(root: &Path) -> GitInfo {
    let dir = root.to_string_lossy();
    let git = |args: &[&str]| {
        let mut all = vec!["-C", &dir];
        all.extend_from_slice(args);
        capture("git", &all)
    };
    GitInfo {
        commit: git(&["rev-parse", "HEAD"]),
        dirty: git(&["status", "--porcelain", "--untracked-files=no"])
            .is_some_and(|s| !s.is_empty()),
        branch: git(&["rev-parse", "--abbrev-ref", "HEAD"]),
    }
}

/// The one scale of a task that profiles a single run (flamegraph, memory):
/// what ran, no timed runs; the caller adds the profile.
pub fn single_run_scale(
    prepared: &crate::runs::workload::Prepared,
    params: BTreeMap<String, String>,
) -> ScaleRecord {
    ScaleRecord {
        scale: "default".into(),
        params,
        argv: prepared.argv(),
        env: prepared.env.clone(),
        cwd: prepared.cwd.display().to_string(),
        warmup: 0,
        runs: Vec::new(),
        summaries: Default::default(),
        cpu_profile: None,
        memory: None,
        leak_check: None,
        load: None,
    }
}

/// Only the parameters a workload uses, so titles and records stay short.
pub fn used_params(
    workload: &crate::config::Workload,
    values: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut used = std::collections::BTreeSet::new();
    let mut collect = |w: &crate::config::Workload| {
        for text in w.args.iter().chain(w.env.values()).chain(w.command.iter()) {
            used.extend(crate::config::placeholder_names(text.get_ref()).unwrap_or_default());
        }
        for port in w.ready.iter().flat_map(|r| r.port.iter()) {
            used.extend(crate::config::placeholder_names(port.get_ref()).unwrap_or_default());
        }
    };
    collect(workload);
    if let Some(load) = &workload.load {
        collect(load.get_ref());
    }
    values
        .iter()
        .filter(|(k, _)| used.contains(*k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}
