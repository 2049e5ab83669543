//! The CPU profile against references: inferno on the same recordings.

use super::*;
use crate::runs::process::{self, Spec};
use inferno::collapse::Collapse;
use std::time::Duration;

/// The streamed, in-process folding gives, line for line, what inferno's
/// perf collapser gives on the saved `perf script` text of the same
/// perf.data (both demangled the same way).
#[test]
fn streamed_folding_equals_inferno_on_saved_script_text() {
    let Ok(perf) = which::which("perf") else {
        crate::runs::build::skip_unless_ci("perf");
        return;
    };
    let demo = crate::runs::build::build(
        &crate::config::project_root(),
        "profiling",
        crate::config::Target::Bin("cdr-demo"),
        None,
    )
    .unwrap();
    let dir = std::env::temp_dir().join(format!("xtask-perf-fold-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let settings = perf::Settings {
        frequency: 1999,
        call_graph: CallGraph::Dwarf,
        inline_frames: false,
        kernel_frames: false,
        mmap_pages: None,
    };
    let data = dir.join("perf.data");
    let spec = Spec::new(&perf).args(perf::record_args(
        &settings,
        &data,
        &demo,
        &["--subs".into(), "4000".into()],
    ));
    process::run_checked(spec).unwrap();

    let ours = dir.join("ours.folded");
    let (samples, _) = script_and_fold(&perf, &settings, &data, &ours, None, false).unwrap();
    assert!(samples > 20, "too few samples: {samples}");

    let script = std::process::Command::new(&perf)
        .args(perf::script_args(&settings, &data))
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(script.status.success());
    let reference = inferno_folded(&script.stdout);
    let ours = lines_of(&ours);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(ours.len(), reference.len());
    for (a, b) in ours.iter().zip(&reference) {
        assert_eq!(a, b);
    }
    assert!(ours.iter().any(|l| l.contains("cdr_demo::generate::")));
}

/// The pipeline's cpu.folded equals, line for line, what inferno's perf
/// collapser gives on the `perf script` text of the perf.data the same
/// pipeline saved (demangled the same way).
#[test]
fn pipeline_folding_equals_inferno_on_the_saved_recording() {
    let tools = Toolbox::detect();
    let Ok(perf_path) = tools.perf.path().map(Path::to_path_buf) else {
        crate::runs::build::skip_unless_ci("perf");
        return;
    };
    let demo = crate::runs::build::demo_for_tests();
    let dir = std::env::temp_dir().join(format!("xtask-pipeline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let prepared = Prepared {
        name: "demo".into(),
        program: demo,
        args: vec!["--subs".into(), "4000".into()],
        env: Default::default(),
        cwd: dir.clone(),
        timeout: Duration::from_secs(120),
        metrics: Vec::new(),
        run_for: None,
        stop_signal: libc::SIGINT,
        warnings: Vec::new(),
        counters: None,
        bench: None,
    };
    let options = Options {
        frequency: 1999,
        call_graph: CallGraph::Dwarf,
        kernel_frames: false,
        off_cpu: false,
        annotate: 0,
        event: None,
        events: Vec::new(),
    };
    let profile = profile(&prepared, &tools, &options, &dir).unwrap();
    assert!(profile.folded_samples > 20, "{profile:?}");

    let (settings, fast, _) = perf_settings(&options, &tools);
    let mut script = std::process::Command::new(&perf_path);
    script.args(perf::script_args(&settings, &dir.join(PERF_DATA)));
    if let Some(fast) = &fast {
        script.env("PATH", perf::path_with_first(fast).unwrap());
    }
    let text = script
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap()
        .stdout;
    let reference = inferno_folded(&text);
    let ours = lines_of(&dir.join(FOLDED));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(ours, reference);
    assert!(ours.iter().any(|l| l.contains("cdr_demo::generate::")));
}

/// inferno's perf collapser on `perf script` text, demangled as we demangle:
/// the reference our folding must equal.
fn inferno_folded(script: &[u8]) -> Vec<String> {
    let mut folded = Vec::new();
    inferno::collapse::perf::Folder::default()
        .collapse(script, &mut folded)
        .unwrap();
    String::from_utf8(folded)
        .unwrap()
        .lines()
        .map(|l| {
            let (stack, count) = l.rsplit_once(' ').unwrap();
            format!("{} {count}", crate::tools::demangle::demangle_stack(stack))
        })
        .collect()
}

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}
