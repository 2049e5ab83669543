//! Results made up for unit tests: run records with chosen samples, written
//! where a test wants them.

use super::record::{GitInfo, MeasureSummary, RunRecord, RunSample, ScaleRecord, SCHEMA_VERSION};
use crate::config::Better;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// (measure, unit, samples)
pub type Measure<'a> = (&'a str, &'a str, &'a [f64]);

/// A run that took `wall_s` and `user_s` and exited 0, with nothing else
/// measured: tests set the one field they are about.
pub fn run(wall_s: f64, user_s: f64) -> RunSample {
    RunSample {
        wall_s,
        user_s,
        sys_s: 0.0,
        max_rss_bytes: 0,
        exit_code: Some(0),
        metrics: Default::default(),
        counters: Default::default(),
        server: None,
        operations: None,
        machine: None,
    }
}

pub fn scale(name: &str, measures: &[Measure]) -> ScaleRecord {
    let summaries = measures
        .iter()
        .map(|(measure, unit, samples)| {
            let better = if unit.ends_with("/s") {
                Better::Higher
            } else {
                Better::Lower
            };
            let summary = crate::stats::summarize(samples).expect("synthetic samples are finite");
            (
                measure.to_string(),
                MeasureSummary {
                    unit: unit.to_string(),
                    better,
                    samples: samples.to_vec(),
                    summary,
                },
            )
        })
        .collect();
    ScaleRecord {
        scale: name.into(),
        params: BTreeMap::from([("subs".to_string(), "2000".to_string())]),
        argv: vec!["cdr-demo".into(), "generate".into()],
        env: BTreeMap::new(),
        cwd: "/".into(),
        warmup: 1,
        runs: Vec::new(),
        summaries,
        cpu_profile: None,
        memory: None,
        leak_check: None,
        load: None,
        pairing: None,
        scenario: None,
        run_for_s: None,
        attached: None,
        criterion: None,
    }
}

/// A profile-baseline record of workload `demo` with one unnamed scale.
pub fn record(label: &str, created: &str, measures: &[Measure]) -> RunRecord {
    RunRecord {
        schema_version: SCHEMA_VERSION,
        task: "profile-baseline".into(),
        label: label.into(),
        created: created.into(),
        workload: "demo".into(),
        command_line: None,
        build_profile: "profiling".into(),
        git: GitInfo {
            commit: Some(format!("{:0>40}", label.len())),
            dirty: false,
            branch: Some("main".into()),
        },
        machine: None,
        scales: vec![scale("default", measures)],
        failure: None,
    }
}

/// Writes `record` as `<results>/<name>/run.json`; returns the directory.
pub fn write(results: &Path, name: &str, record: &RunRecord) -> PathBuf {
    let dir = results.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join(super::RUN_FILE),
        serde_json::to_vec_pretty(record).unwrap(),
    )
    .unwrap();
    dir
}

/// A fresh empty directory for one test.
pub fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("xtask-test-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}
