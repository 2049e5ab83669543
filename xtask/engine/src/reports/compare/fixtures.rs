//! Test fixtures shared by the model's and the renderers' tests: run
//! records with two measures (wall time, and a throughput metric), the
//! default settings, and a report of one scale of A against one of B.

use super::model::{compare_scale, CompareReport, Counter, Settings, Side};
use crate::config::{self, Thresholds};
use crate::results::record::{GitInfo, MeasureSummary, RunRecord, ScaleRecord};
use crate::stats;
use std::collections::BTreeMap;

pub(super) fn summary(unit: &str, better: config::Better, samples: &[f64]) -> MeasureSummary {
    MeasureSummary {
        unit: unit.into(),
        better,
        samples: samples.to_vec(),
        summary: stats::summarize(samples).unwrap(),
    }
}

pub(super) fn scale(wall: &[f64], rps: &[f64], slowdown: &str) -> ScaleRecord {
    let mut summaries = BTreeMap::new();
    summaries.insert("wall_s".into(), summary("s", config::Better::Lower, wall));
    summaries.insert(
        "records_per_sec".into(),
        summary("records/s", config::Better::Higher, rps),
    );
    ScaleRecord {
        scale: "default".into(),
        params: BTreeMap::from([
            ("subs".into(), "3000".into()),
            ("slowdown".into(), slowdown.into()),
        ]),
        argv: vec![
            "/t/cdr-demo".into(),
            "generate".into(),
            "--slowdown".into(),
            slowdown.into(),
        ],
        env: BTreeMap::new(),
        cwd: "/w".into(),
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

pub(super) fn record(dirty: bool, scales: Vec<ScaleRecord>) -> RunRecord {
    RunRecord {
        schema_version: 1,
        task: "profile-baseline".into(),
        label: "baseline".into(),
        created: "2026-11-22T04:05:06Z".into(),
        workload: "demo".into(),
        command_line: None,
        build_profile: "profiling".into(),
        git: GitInfo {
            commit: Some("0123456789abcdef".into()),
            dirty,
            branch: None,
        },
        machine: None,
        scales,
        failure: None,
    }
}

pub(super) fn settings() -> Settings {
    Settings::new(&Thresholds::default())
}

pub(super) const WALL: [f64; 5] = [0.136, 0.133, 0.138, 0.135, 0.140];
pub(super) const RPS: [f64; 5] = [900e3, 920e3, 880e3, 905e3, 870e3];

pub(super) fn slower(xs: &[f64], factor: f64) -> Vec<f64> {
    xs.iter().map(|x| x * factor).collect()
}

pub(super) fn report_of(a: &ScaleRecord, b: &ScaleRecord, counter: Counter) -> CompareReport {
    let side = |n: &str| {
        Side::of(
            n,
            std::path::Path::new("/r").join(n).as_path(),
            &record(false, vec![]),
        )
    };
    let scales = vec![compare_scale(a, b, &settings(), counter)];
    CompareReport::new(
        side("a"),
        side("b"),
        settings(),
        counter,
        Vec::new(),
        scales,
    )
}
