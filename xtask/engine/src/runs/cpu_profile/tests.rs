//! The CPU profile against references: inferno on the same recordings.

use super::*;
use crate::runs::process::{self, Spec};
use inferno::collapse::Collapse;
use std::path::PathBuf;

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
    let samples = fold_file(&settings, &data, &ours, false).unwrap().samples;
    assert!(samples > 20, "too few samples: {samples}");

    let script = std::process::Command::new(&perf)
        .args(script_args(&data))
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap();
    assert!(script.status.success());
    let reference = inferno_folded(&script.stdout);
    let ours = lines_of(&ours);
    std::fs::remove_dir_all(&dir).unwrap();
    assert_same_stacks(&ours, &reference, "the demo");
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
    let prepared = Prepared::for_test(demo, &["--subs", "4000"], &dir);
    let options = Options {
        frequency: 1999,
        call_graph: CallGraph::Dwarf,
        kernel_frames: false,
        off_cpu: false,
        off_cpu_realtime: false,
        annotate: 0,
        event: None,
        events: Vec::new(),
        // Inline frames against perf's own: the test below, with gimli's addr2line.
        inline_frames: false,
        keep_perf_data: true,
    };
    let profile = profile(&prepared, &tools, &options, &dir).unwrap();
    assert!(profile.folded_samples > 20, "{profile:?}");

    let text = std::process::Command::new(&perf_path)
        .args(script_args(&dir.join(PERF_DATA)))
        .stderr(std::process::Stdio::null())
        .output()
        .unwrap()
        .stdout;
    let reference = inferno_folded(&text);
    let ours = lines_of(&dir.join(FOLDED));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_same_stacks(&ours, &reference, "the demo");
    assert!(ours.iter().any(|l| l.contains("cdr_demo::generate::")));
}

/// Our folded stacks against perf script's, folded by inferno: the same
/// samples, and every stack perf unwound to an entry point is ours too,
/// the same; only a stack perf's unwinder cut short may differ (framehop
/// unwinds some of them whole): 1–2 % of the demo's samples, up to 5 %
/// allowed for the few hundred samples a test takes.
fn assert_same_stacks(ours: &[String], reference: &[String], what: &str) {
    use std::collections::HashMap;
    let counts = |lines: &[String]| {
        let mut counts: HashMap<String, u64> = HashMap::new();
        for line in lines {
            let (stack, count) = line.rsplit_once(' ').unwrap();
            *counts.entry(stack.to_string()).or_default() += count.parse::<u64>().unwrap();
        }
        counts
    };
    let (ours, theirs) = (counts(ours), counts(reference));
    let total: u64 = theirs.values().sum();
    assert_eq!(ours.values().sum::<u64>(), total, "{what}: samples");
    let mut cut_short = 0;
    for (stack, count) in &theirs {
        let mine = ours.get(stack).copied().unwrap_or(0);
        if perf::stack_is_complete(stack) {
            assert!(
                mine >= *count,
                "{what}: perf's stack {stack} ({count} samples) is ours {mine} times"
            );
        } else {
            cut_short += count.saturating_sub(mine);
        }
    }
    assert!(
        cut_short * 20 <= total,
        "{what}: {cut_short} of {total} samples have another stack than perf's"
    );
}

/// `perf script` of a recording, as the text path read it: the reference.
fn script_args(data: &Path) -> Vec<std::ffi::OsString> {
    let fields = "comm,pid,tid,time,event,ip,sym,dso";
    let mut argv: Vec<std::ffi::OsString> = vec!["script".into(), "--input".into()];
    argv.extend([
        data.into(),
        "--fields".into(),
        fields.into(),
        "--no-inline".into(),
    ]);
    argv
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

/// Where a gimli addr2line is (not binutils'): `XTASK_GIMLI_ADDR2LINE`
/// (the binary), else PATH, else cargo's bin directory.
fn gimli_addr2line_dir() -> Option<PathBuf> {
    let named = std::env::var_os("XTASK_GIMLI_ADDR2LINE").map(PathBuf::from);
    let on_path = which::which("addr2line").ok();
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin").join("addr2line"));
    [named, on_path, cargo_bin]
        .into_iter()
        .flatten()
        .find(|p| {
            p.is_file()
                && crate::tools::version_of(p, &["--version"]).is_some_and(|v| !v.contains("GNU"))
        })
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

/// A small program of our own, outside this repository, whose hot loop is
/// inlined iterator and closure code: built in release with debug info.
fn scratch_program(dir: &Path) -> PathBuf {
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"inliner\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\
         [workspace]\n[profile.release]\ndebug = true\n",
    )
    .unwrap();
    std::fs::write(
        dir.join("src/main.rs"),
        r#"use std::collections::HashMap;

#[inline(always)]
fn mix(x: u64) -> u64 {
    x.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17) ^ x
}

#[inline]
fn bucket(words: &mut HashMap<u64, u64>, x: u64) {
    *words.entry(mix(x) % 4099).or_default() += 1;
}

#[inline(never)]
fn work(n: u64) -> u64 {
    let mut words = HashMap::new();
    let mut v: Vec<u64> = (0..n).map(mix).filter(|x| x % 3 != 0).collect();
    v.sort_unstable();
    for &x in &v {
        bucket(&mut words, x);
    }
    v.iter().map(|x| x.count_ones() as u64).sum::<u64>() + words.len() as u64
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(1_000_000);
    let mut total = 0;
    for round in 0..3 {
        total += work(n + round);
    }
    println!("{total}");
}
"#,
    )
    .unwrap();
    let status = std::process::Command::new(env!("CARGO"))
        .args(["build", "--release", "--quiet", "--manifest-path"])
        .arg(dir.join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .status()
        .unwrap();
    assert!(status.success());
    dir.join("target/release/inliner")
}

/// The inline frames read in process give the very stacks `perf script`
/// gives when it runs gimli's addr2line itself, on the demo and on a
/// program outside this repository (frames demangled alike on both sides).
#[test]
fn inline_frames_equal_perf_script_with_gimli_addr2line() {
    let Ok(perf) = which::which("perf") else {
        crate::runs::build::skip_unless_ci("perf");
        return;
    };
    let Some(gimli) = gimli_addr2line_dir() else {
        // CI installs one (.ci/run: scripts/install-tools.sh --fast-addr2line).
        crate::runs::build::skip_unless_ci(
            "gimli's addr2line (XTASK_GIMLI_ADDR2LINE, PATH or ~/.cargo/bin; \
             scripts/install-tools.sh --fast-addr2line)",
        );
        return;
    };
    let dir = std::env::temp_dir().join(format!("xtask-inline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let programs = [
        (
            crate::runs::build::demo_for_tests(),
            vec!["--subs".into(), "4000".into()],
        ),
        (scratch_program(&dir.join("scratch")), vec!["300000".into()]),
    ];
    let settings = perf::Settings {
        frequency: 1999,
        call_graph: CallGraph::Dwarf,
        inline_frames: true,
        kernel_frames: false,
        mmap_pages: None,
    };
    for (i, (program, args)) in programs.iter().enumerate() {
        let data = dir.join(format!("perf-{i}.data"));
        let spec = Spec::new(&perf).args(perf::record_args(&settings, &data, program, args));
        process::run_checked(spec).unwrap();
        let ours = dir.join(format!("ours-{i}.folded"));
        fold_file(&settings, &data, &ours, false).unwrap();

        let path = std::env::join_paths(std::iter::once(gimli.clone()).chain(
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
        ))
        .unwrap();
        let script = std::process::Command::new(&perf)
            .args(["script", "--input"])
            .arg(&data)
            .args(["--fields", "comm,pid,tid,time,event,ip,sym,dso"])
            .env("PATH", path)
            .stderr(std::process::Stdio::null())
            .output()
            .unwrap();
        assert!(script.status.success());
        // Without inline frames the same samples fold into fewer stacks:
        // the comparison below is of stacks that do have inline frames.
        let plain = dir.join(format!("plain-{i}.folded"));
        let no_inline = perf::Settings {
            inline_frames: false,
            ..settings.clone()
        };
        fold_file(&no_inline, &data, &plain, false).unwrap();
        let inline_frames =
            |folded: &[String]| folded.iter().map(|l| l.matches(';').count()).sum::<usize>();
        assert!(
            inline_frames(&lines_of(&ours)) > inline_frames(&lines_of(&plain)) * 5 / 4,
            "{}: inline frames should add frames to the stacks",
            program.display()
        );
        let reference = inferno_folded(&script.stdout);
        let ours = lines_of(&ours);
        assert_same_stacks(&ours, &reference, &program.display().to_string());
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// perf record, as the pipeline starts it, runs without CAP_SYSLOG for a
/// user-space profile (it then skips reading /proc/kallsyms three times),
/// and with it when it samples the kernel. The workload, perf's child,
/// reads perf's own capabilities.
#[test]
fn perf_records_user_space_without_the_kernel_addresses() {
    let tools = Toolbox::detect();
    if tools.perf.path().is_err() {
        crate::runs::build::skip_unless_ci("perf");
        return;
    }
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let bounding = |status: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix("CapBnd:"))
            .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
            .unwrap()
    };
    const SYSLOG: u64 = 1 << 34;
    if bounding(&ours) & SYSLOG == 0 {
        return; // nothing to drop: perf never had it
    }
    let dir = std::env::temp_dir().join(format!("xtask-perf-caps-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let script = "grep Cap /proc/$PPID/status > perf-caps.txt; \
                  i=0; while [ $i -lt 200000 ]; do i=$((i+1)); done";
    let prepared = Prepared::for_test("/bin/sh", &["-c", script], &dir);
    for kernel_frames in [false, true] {
        let options = Options {
            frequency: 997,
            call_graph: CallGraph::Fp,
            kernel_frames,
            off_cpu: false,
            off_cpu_realtime: false,
            annotate: 0,
            event: None,
            events: Vec::new(),
            inline_frames: false,
            keep_perf_data: false,
        };
        let profile = profile(&prepared, &tools, &options, &dir).unwrap();
        assert!(profile.folded_samples > 0, "{profile:?}");
        let caps = std::fs::read_to_string(dir.join("perf-caps.txt")).unwrap();
        let expected = if kernel_frames { SYSLOG } else { 0 };
        assert_eq!(
            bounding(&caps) & SYSLOG,
            expected,
            "kernel frames {kernel_frames}: {caps}"
        );
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Benchmark ids that come out the same once made safe for a directory get
/// directories of their own, so that no profile overwrites another.
#[test]
fn extra_profiles_never_share_a_directory() {
    let ids = ["f<u8>", "f(u8)", "f_u8_", "f_u8_-2", "g"];
    assert_eq!(
        distinct_dir_names(ids, crate::tools::criterion::dir_name),
        ["f_u8_", "f_u8_-2", "f_u8_-3", "f_u8_-2-2", "g"]
    );
}

/// perf gives several functions one name (closures, C `static`s): the one
/// with most of the name's samples is annotated, the others are said in the
/// file, and samples outside the binary's segments are counted, not dropped.
#[test]
fn functions_perf_names_alike_are_told_apart() {
    let binary =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/perf/inline/inl-pie");
    // `work` at 0x17a0 and `main` at 0x1820 (file offsets 0x1000 lower),
    // both named `f` here; one offset beyond every segment.
    let function = crate::tools::leaves::SampledFunction {
        binary: binary.to_string_lossy().into_owned(),
        name: "f".into(),
        samples: 10,
        offsets: vec![(0x7ee, 6), (0x7fd, 1), (0x827, 2), (0xfff_ffff, 1)],
    };
    let planned = annotate::plan(&mut annotate::Layouts::default(), 0, &function).unwrap();
    assert_eq!(planned.samples(), 7, "the function with most samples: work");
    let dir = std::env::temp_dir().join(format!("xtask-alike-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (annotated, notes) = annotate::annotate(
        &dir,
        20,
        vec![planned],
        "cpu-clock",
        &mut Default::default(),
    )
    .unwrap();
    assert!(notes.is_empty(), "{notes:?}");
    assert_eq!(annotated[0].self_percent, 35.0);
    let text = std::fs::read_to_string(dir.join(&annotated[0].file)).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    assert!(text.contains("<work>:"), "{text}");
    assert!(
        text.contains("2 more samples are in 1 other functions perf names `f` (at 0x1820)"),
        "{text}"
    );
    assert!(
        text.contains("1 more samples lie outside every function"),
        "{text}"
    );
    assert!(!text.contains("did not list"), "{text}");
}

/// A recording that lost a switch and no CPU sample (`perf report --stats`:
/// cpu-clock 5 samples; sched:sched_switch 6 samples, 1 lost): the CPU
/// profile keeps its own counts, the switches theirs.
#[test]
fn the_switches_losses_are_not_the_cpu_samples() {
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/offcpu/lossy-file.perf.data");
    let counted = perf::count_records(&fixture).unwrap();
    let mut record = perf::RecordSummary::default();
    record.absorb_count(&counted);
    assert_eq!((record.samples, record.lost_samples), (Some(11), Some(1)));
    let counts = split_counts(&mut record, &counted);
    assert_eq!((record.samples, record.lost_samples), (Some(5), Some(0)));
    assert_eq!(
        counts,
        offcpu::SwitchCounts {
            recorded: Some(6),
            lost: Some(1),
            lost_records: Some(0),
        }
    );
}

/// The CPU samples' loss note: its share of what perf recorded and lost,
/// and what helps. Lost beside the off-CPU switches, they blame the
/// switches; alone, fp stacks come with their condition.
#[test]
fn the_loss_note_gives_the_share_and_what_helps() {
    let record = perf::RecordSummary {
        samples: Some(300),
        lost_samples: Some(100),
        ..Default::default()
    };
    let alone = sample_notes(&record, 300, Some(1.0), false);
    assert_eq!(alone.len(), 1, "{alone:?}");
    assert!(
        alone[0].starts_with("perf lost 100 samples (25.0 % of 400)"),
        "{alone:?}"
    );
    assert!(alone[0].contains("force-frame-pointers"), "{alone:?}");
    let with_switches = sample_notes(&record, 300, Some(1.0), true);
    assert!(
        with_switches[0].starts_with("perf lost 100 CPU samples (25.0 % of 400) with the switches"),
        "{with_switches:?}"
    );
    assert!(!with_switches[0].contains("--freq"), "{with_switches:?}");
    // Losses counted as none: perf's warnings (the switches') are not the CPU samples'.
    let counted_none = perf::RecordSummary {
        samples: Some(300),
        lost_samples: Some(0),
        warnings: vec!["Processed 9 events and lost 3 chunks!".into()],
        ..Default::default()
    };
    assert!(sample_notes(&counted_none, 300, Some(1.0), true).is_empty());
}

/// A ring buffer smaller than wanted (a user's locked-memory limit) is
/// said when samples were lost, not on every profile of that user.
#[test]
fn the_ring_buffer_note_waits_for_a_loss() {
    let limited = || perf::RingBuffer {
        pages: 1024,
        note: Some("perf's ring buffer was 4096 KiB per CPU".into()),
    };
    let record = |lost: Option<u64>, warnings: Vec<String>| perf::RecordSummary {
        samples: Some(300),
        lost_samples: lost,
        warnings,
        ..Default::default()
    };
    assert_eq!(
        ring_note(&record(Some(0), Vec::new()), false, limited()),
        None
    );
    assert!(ring_note(&record(Some(3), Vec::new()), false, limited()).is_some());
    assert!(ring_note(&record(Some(0), Vec::new()), true, limited()).is_some());
    let uncounted = record(None, vec!["Processed 9 events and lost 3 chunks!".into()]);
    assert!(ring_note(&uncounted, false, limited()).is_some());
    let wanted = perf::RingBuffer {
        pages: 2048,
        note: None,
    };
    assert_eq!(ring_note(&record(Some(3), Vec::new()), false, wanted), None);
}
