//! The files a result holds, built from what the parsers give for real
//! captured tool output (xtask/engine/tests/fixtures/), against golden copies: run.json,
//! memory.json and leak-check.json must stay byte for byte what they are
//! (the last two with the schema version they gained first), whatever the
//! parsers' own types become. The golden files were written by
//! the xtask of the commit that added them (xtask/engine/tests/fixtures/results/README.md).

use super::*;
use crate::tools::{heaptrack, massif, memcheck, perf};
use std::path::{Path, PathBuf};

const RUN: &str = include_str!("../../../tests/fixtures/results/run-from-parsers.json");
const MEMORY: &str = include_str!("../../../tests/fixtures/results/memory-unversioned.json");
const LEAK_CHECK: &str =
    include_str!("../../../tests/fixtures/results/leak-check-unversioned.json");

/// memcheck XML with every kind of entry: a memory error, a definitely and
/// an indirectly lost record (the leak-check.json of the golden copy).
const MEMCHECK_XML: &str = "<?xml version=\"1.0\"?>\n<valgrindoutput>\n<protocolversion>4</protocolversion>\n<protocoltool>memcheck</protocoltool>\n<args><vargv><exe>valgrind</exe><arg>--show-leak-kinds=all</arg></vargv><argv><exe>./a</exe></argv></args>\n<error><unique>0x1</unique><kind>Leak_DefinitelyLost</kind><xwhat><text>48 (16 direct, 32 indirect) bytes in 1 blocks are definitely lost in loss record 2 of 2</text><leakedbytes>48</leakedbytes><leakedblocks>1</leakedblocks></xwhat><stack><frame><ip>0x1</ip><fn>malloc</fn></frame><frame><ip>0x2</ip><fn>_ZN4demo4make17h0123456789abcdefE</fn><dir>/src</dir><file>a.rs</file><line>3</line></frame></stack></error>\n<error><unique>0x2</unique><kind>Leak_IndirectlyLost</kind><xwhat><text>32 bytes in 2 blocks are indirectly lost in loss record 1 of 2</text><leakedbytes>32</leakedbytes><leakedblocks>2</leakedblocks></xwhat><stack><frame><ip>0x1</ip><fn>malloc</fn></frame></stack></error>\n<error><unique>0x3</unique><kind>InvalidRead</kind><what>Invalid read of size 4</what><stack><frame><ip>0x3</ip><fn>f &amp; g&lt;T&gt;</fn></frame></stack></error>\n<errorcounts><pair><count>7</count><unique>0x3</unique></pair></errorcounts>\n</valgrindoutput>\n";

fn fixture_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

fn fixture(path: &str) -> String {
    std::fs::read_to_string(fixture_path(path)).unwrap()
}

/// What `write_json` writes.
fn json(value: &impl serde::Serialize) -> String {
    let mut text = serde_json::to_string_pretty(value).unwrap();
    text.push('\n');
    text
}

/// heaptrack's report of the demo, as the memory task stores it.
fn heaptrack_report() -> crate::tools::memory_model::MemoryReport {
    let mut report = heaptrack::parse_print(&fixture("heaptrack/cdr-demo.print.txt"), 1)
        .unwrap()
        .to_report();
    report.raw_files = vec!["heaptrack.zst".into()];
    report.notes = vec!["a note".into()];
    report
}

/// memcheck's report of [`MEMCHECK_XML`], with a heap summary (which only
/// text logs give) so that every field is written.
fn memcheck_report() -> memcheck::LeakReport {
    let mut report = memcheck::parse(MEMCHECK_XML, 10).unwrap();
    report.heap_summary = Some(memcheck::HeapSummary {
        in_use_bytes: 1,
        in_use_blocks: 2,
        allocs: 3,
        frees: 4,
        bytes_allocated: 5,
    });
    report
}

/// A CPU profile with perf's summary of a real recording.
fn cpu_profile() -> crate::runs::cpu_profile::CpuProfile {
    let mut record = perf::parse_record_stderr(fixture("perf/record-stderr.txt").lines());
    record.absorb_count(&perf::count_records(&fixture_path("perf/lossy-pipe.perf.data")).unwrap());
    record
        .warnings
        .push("Processed 10 events and lost 2 chunks!".into());
    crate::runs::cpu_profile::CpuProfile {
        tool: "perf 6.1".into(),
        frequency: 997,
        call_graph: "dwarf".into(),
        symbolizer: "addr2line".into(),
        record,
        folded_samples: 18,
        complete_stacks: Some(0.875),
        argv: vec!["perf".into(), "record".into()],
        files: vec!["perf.data".into(), "cpu.folded".into()],
        notes: vec!["inline frames are off".into()],
        off_cpu: None,
        annotated: Vec::new(),
        perf_data: None,
    }
}

fn samples() -> Vec<crate::runs::measure::RunSample> {
    use crate::runs::measure::RunSample;
    vec![
        RunSample {
            wall_s: 0.25,
            user_s: 0.125,
            sys_s: 0.0625,
            max_rss_bytes: 12_345_678,
            exit_code: Some(0),
            metrics: [("records_per_s".to_string(), 1234.5)].into(),
            warnings: Vec::new(),
            counters: Default::default(),
            unsupported: Vec::new(),
            server: Some(crate::runs::server_usage::ServerUsage {
                user_s: 0.5,
                sys_s: 0.25,
                max_rss_bytes: 4_194_304,
                peak_since_start: false,
                threads_before: 4,
                threads_after: 5,
                ctx_switches: 1200,
            }),
            operations: Some(500.0),
            machine: Some(crate::runs::machine_load::MachineLoad {
                loadavg_1m: 2.5,
                capacity_s: 2.0,
                others_cpu_s: 1.25,
                steal_s: 0.0625,
            }),
        },
        RunSample {
            wall_s: 0.3,
            user_s: 0.2,
            sys_s: 0.1,
            max_rss_bytes: 12_000_000,
            exit_code: None,
            metrics: Default::default(),
            warnings: Vec::new(),
            counters: Default::default(),
            unsupported: Vec::new(),
            server: None,
            operations: None,
            machine: None,
        },
    ]
}

fn summaries() -> BTreeMap<String, crate::runs::measure::MeasureSummary> {
    [(
        "wall_s".to_string(),
        crate::runs::measure::MeasureSummary {
            unit: "s".into(),
            better: crate::config::Better::Lower,
            samples: vec![0.25, 0.3],
            summary: crate::stats::summarize(&[0.25, 0.3]).unwrap(),
        },
    )]
    .into()
}

/// Two scales: one with a CPU profile and massif's report of the demo, one
/// with memcheck's verdict on the demo's deliberate leak and a load record.
fn record() -> RunRecord {
    let massif = massif::parse(&fixture("massif/cdr-demo-stacks.massif.out"))
        .unwrap()
        .to_report();
    let leaks = memcheck::parse(&fixture("memcheck/leak.xml"), 2).unwrap();
    let scale = |name: &str| ScaleRecord {
        scale: name.into(),
        params: [("subs".to_string(), "2000".to_string())].into(),
        argv: vec!["cdr-demo".into(), "--subs".into(), "2000".into()],
        env: [("RUST_LOG".to_string(), "off".to_string())].into(),
        cwd: "/work".into(),
        warmup: 1,
        runs: runs_from(samples()),
        summaries: summaries(),
        cpu_profile: None,
        memory: None,
        leak_check: None,
        load: None,
        pairing: None,
        scenario: None,
        run_for_s: None,
        attached: None,
        criterion: None,
    };
    RunRecord {
        schema_version: SCHEMA_VERSION,
        task: "profile-baseline".into(),
        label: "golden".into(),
        created: "2026-11-22T04:05:06Z".into(),
        workload: "demo".into(),
        command_line: None,
        build_profile: "profiling".into(),
        git: crate::runs::git::GitInfo {
            commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
            dirty: true,
            branch: Some("main".into()),
        },
        machine: None,
        scales: vec![
            ScaleRecord {
                cpu_profile: Some(cpu_profile().into()),
                memory: Some((&massif).into()),
                ..scale("small")
            },
            ScaleRecord {
                leak_check: Some(LeakCheck::from_report(&leaks, 0)),
                load: Some(LoadRecord {
                    argv: vec!["load".into()],
                    wall_s: 1.5,
                    exit_code: Some(0),
                    metrics: [("ops_per_s".to_string(), 99.5)].into(),
                    drain_s: None,
                }),
                ..scale("large")
            },
        ],
        failure: Some("it failed".into()),
    }
}

#[test]
fn run_json_from_parser_output_is_unchanged() {
    let record = record();
    if std::env::var_os("XTASK_BLESS").is_some_and(|v| !v.is_empty()) {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/results/run-from-parsers.json"
        );
        std::fs::write(path, json(&record)).unwrap();
        return;
    }
    assert_eq!(json(&record), RUN);
    assert_eq!(serde_json::from_str::<RunRecord>(RUN).unwrap(), record);
}

/// A file as written before it carried a schema version, with one.
fn versioned(unversioned: &str) -> String {
    unversioned.replacen("{\n", "{\n  \"schema_version\": 1,\n", 1)
}

/// memory.json is run.json's `memory` with the schema version first.
#[test]
fn memory_json_from_parser_output_is_unchanged_but_for_its_version() {
    let file = memory::MemoryFile::new(MemoryRecord::from(&heaptrack_report()));
    assert_eq!(json(&file), versioned(MEMORY));
    assert_eq!(json(&file.memory), MEMORY);
    // Files written before memory.json carried a version are version 1.
    let old: memory::MemoryFile = serde_json::from_str(MEMORY).unwrap();
    assert_eq!(old, file);
    assert_eq!(old.schema_version, 1);
}

#[test]
fn leak_check_json_from_parser_output_is_unchanged_but_for_its_version() {
    let file = leak_report::LeakReportFile::from(&memcheck_report());
    assert_eq!(json(&file), versioned(LEAK_CHECK));
    let old: leak_report::LeakReportFile = serde_json::from_str(LEAK_CHECK).unwrap();
    assert_eq!(old, file);
    assert_eq!(old.schema_version, 1);
}
