//! The README.md of a result: what ran, the timing table, metrics, top
//! functions, memory, and links to the files. Written to paste well into a
//! pull request.

use crate::reports::markdown_text::{code, code_cell, link, message, text};
use crate::results::record::{MeasureSummary, RunRecord, ScaleRecord};
use crate::results::system_info::SystemInfo;
use crate::runs::machine_load;
use std::collections::BTreeMap;
use std::fmt::Write as _;

pub use crate::reports::units::{byte_unit, format_bytes, format_value};

/// How many samples perf recorded, how many are in the flamegraph, how many
/// were lost, and how many stacks are complete: "1288 samples recorded, 1288
/// in the flamegraph, 0 lost; 99.1 % of stacks complete".
pub fn samples_line(profile: &crate::results::record::CpuProfile) -> String {
    let mut line = match profile.record.samples {
        Some(recorded) => format!(
            "{recorded} samples recorded, {} in the flamegraph",
            profile.folded_samples
        ),
        None => format!("{} samples", profile.folded_samples),
    };
    if let Some(lost) = profile.record.lost_samples {
        let _ = write!(line, ", {lost} lost");
    }
    if let Some(share) = profile.complete_stacks {
        let _ = write!(line, "; {:.1} % of stacks complete", share * 100.0);
    }
    line
}

/// The timing and metrics table of one scale (Markdown, also printed).
pub fn summary_table(summaries: &BTreeMap<String, MeasureSummary>) -> String {
    let mut out = String::from("| measure | median | mean | ± stddev | min | max | CV | runs |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut names: Vec<&String> = summaries.keys().collect();
    names.sort_by_key(|n| (crate::config::measures::display_rank(n), n.as_str()));
    for name in names {
        let m = &summaries[name];
        let s = &m.summary;
        let unit = text(&m.unit);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {:.1} % | {} |",
            text(name),
            format_value(s.median, &unit),
            format_value(s.mean, &unit),
            format_value(s.stddev, &unit),
            format_value(s.min, &unit),
            format_value(s.max, &unit),
            s.cv * 100.0,
            s.n
        );
    }
    out
}

pub fn run_readme(
    record: &RunRecord,
    system: &SystemInfo,
    top_functions: &BTreeMap<String, String>,
    notes: &[String],
) -> String {
    let mut out = String::new();
    readme_heading(&mut out, record, system);
    if let Some(failure) = &record.failure {
        let _ = writeln!(out, "**Failed:** {}\n", message(failure));
    }
    if !notes.is_empty() {
        out.push_str("## Notes\n\n");
        for note in notes {
            let _ = writeln!(out, "- {}", message(note));
        }
        out.push('\n');
    }
    for scale in &record.scales {
        scale_section(
            &mut out,
            scale,
            record.scales.len() > 1,
            top_functions.get(&scale.scale),
        );
    }
    out.push_str("## Files\n\n- [run.json](run.json): every sample, summary and setting\n- [system_info.json](system_info.json): the machine\n");
    for scale in &record.scales {
        scale_files(&mut out, scale, scale.dir_prefix(record.scales.len() > 1));
    }
    out
}

/// The title, and what ran where: the machine, the commit, the build.
fn readme_heading(out: &mut String, record: &RunRecord, system: &SystemInfo) {
    let _ = writeln!(
        out,
        "# {} — {} ({})\n",
        text(&record.label),
        code(&record.workload),
        text(&record.task)
    );
    let _ = writeln!(
        out,
        "Created {} on {} ({}, {} cores, {}), commit {}{}, build profile {}.\n",
        text(&record.created),
        text(&system.hostname),
        text(&system.cpu_model),
        system.cores,
        text(&system.kernel),
        code(
            record
                .git
                .commit
                .as_deref()
                .map_or("unknown", crate::results::record::short_hash)
        ),
        if record.git.dirty {
            " (dirty tree)"
        } else {
            ""
        },
        code(&record.build_profile)
    );
}

/// The files of one scale in the Files list: the CPU profile's (perf.data
/// described, or named when not kept), the memory tool's, memcheck's.
fn scale_files(out: &mut String, scale: &ScaleRecord, prefix: String) {
    if let Some(profile) = &scale.cpu_profile {
        for file in &profile.files {
            let path = format!("{prefix}{file}");
            let _ = write!(out, "- {}", link(&path, &path));
            match &profile.perf_data {
                Some(what) if file == "perf.data" => {
                    let _ = writeln!(out, ": {}", message(what));
                }
                _ => out.push('\n'),
            }
        }
        if let Some(what) = &profile.perf_data {
            if !profile.files.iter().any(|file| file == "perf.data") {
                let _ = writeln!(
                    out,
                    "- {}: {}",
                    text(&format!("{prefix}perf.data")),
                    message(what)
                );
            }
        }
    }
    if let Some(memory) = &scale.memory {
        for file in ["memory.json", "memory-flamegraph.svg", "memory.folded"]
            .into_iter()
            .chain(memory.raw_files.iter().map(String::as_str))
        {
            let path = format!("{prefix}{file}");
            let _ = writeln!(out, "- {}", link(&path, &path));
        }
    }
    if scale.leak_check.is_some() {
        let _ = writeln!(
            out,
            "- {}, {}",
            link(
                &format!("{prefix}leak-check.json"),
                &format!("{prefix}leak-check.json")
            ),
            link(
                &format!("{prefix}memcheck.xml"),
                &format!("{prefix}memcheck.xml")
            )
        );
    }
}

/// The median wall time of a result's first scale, formatted, or `—`.
/// The median time a one-line summary shows: the wall time of a run, or,
/// for a server, its own CPU time over a load (the load's wall time is its
/// client's, and says little of the server).
pub fn median_time(record: &RunRecord) -> String {
    let Some(scale) = record.headline() else {
        return "—".into();
    };
    if let Some(m) = scale.summaries.get("server.cpu_s") {
        return format!("{} server CPU", format_value(m.summary.median, &m.unit));
    }
    scale
        .summaries
        .get("wall_s")
        .map(|m| format_value(m.summary.median, &m.unit))
        .unwrap_or_else(|| "—".into())
}

/// Parameters as `name=value name=value`, for titles.
pub fn format_params(params: &BTreeMap<String, String>) -> String {
    params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The README.md of a result being written: the summary, with each scale's
/// top-functions table when it was profiled.
pub fn result_readme(
    pending: &crate::results::Pending,
    record: &RunRecord,
    system: &SystemInfo,
    notes: &[String],
) -> String {
    let several = record.scales.len() > 1;
    let mut tops = BTreeMap::new();
    for scale in &record.scales {
        let top = pending.path(&format!(
            "{}{}",
            scale.dir_prefix(several),
            crate::runs::cpu_profile::TOP
        ));
        if let Ok(text) = std::fs::read_to_string(top) {
            tops.insert(scale.scale.clone(), text);
        }
    }
    let readme = run_readme(record, system, &tops, notes);
    if pending.path(crate::reports::viewer::FILE).exists() {
        with_viewer_link(&readme)
    } else {
        readme
    }
}

/// `readme` with a link to the result's viewer under its title, where it is
/// seen first.
fn with_viewer_link(readme: &str) -> String {
    let line = format!(
        "Explore every profile of this result in the [interactive viewer]({}): flame graph \
         with zoom and search, function table, callers and callees; it works offline \
         (`cargo xtask view` opens it).\n\n",
        crate::reports::viewer::FILE
    );
    match readme.find("\n\n") {
        Some(at) => format!("{}{line}{}", &readme[..at + 2], &readme[at + 2..]),
        None => format!("{readme}\n\n{line}"),
    }
}

fn scale_section(out: &mut String, scale: &ScaleRecord, several: bool, top: Option<&String>) {
    how_it_ran(out, scale, several);
    // A profile alone (flamegraph, memory) times no run: no empty table.
    if !scale.summaries.is_empty() {
        out.push_str(&summary_table(&scale.summaries));
        out.push('\n');
    }
    if let Some(load) = &scale.load {
        let which = match scale.cpu_profile {
            Some(_) => "The load of the CPU profile",
            None => "The last measured load",
        };
        let _ = writeln!(out, "{which} ({:.2} s):\n", load.wall_s);
        for (name, value) in &load.metrics {
            let _ = writeln!(out, "- {}: {value}", text(name));
        }
        out.push('\n');
        if let Some(drain) = load.drain_s {
            let _ = writeln!(
                out,
                "The profile covers the load plus {drain} s of drain: the server ran on, still profiled, before it was stopped.\n"
            );
        }
    }
    if let Some(profile) = &scale.cpu_profile {
        cpu_profile_section(out, profile, &scale.dir_prefix(several), top);
    }
    if let Some(memory) = &scale.memory {
        let prefix = scale.dir_prefix(several);
        let _ = writeln!(out, "### Memory ({})\n", text(&memory.tool));
        for note in &memory.notes {
            let _ = writeln!(out, "> {}\n", message(note));
        }
        out.push_str(&memory_table(memory));
        let _ = writeln!(
            out,
            "\n{} (heap at its peak)\n",
            link(
                "Memory flamegraph",
                &format!("{prefix}memory-flamegraph.svg")
            )
        );
    }
    if let Some(leaks) = &scale.leak_check {
        out.push_str(&leak_table(leaks));
        out.push('\n');
    }
}

/// A scale's heading and how it ran: parameters, command, load scenario,
/// time limit or attached process, and the number of runs.
fn how_it_ran(out: &mut String, scale: &ScaleRecord, several: bool) {
    let heading = match (several, scale.runs.is_empty()) {
        (true, _) => format!("## Scale {}", code(&scale.scale)),
        (false, false) => "## Timings".to_string(),
        (false, true) => "## What ran".to_string(),
    };
    let params: Vec<String> = scale
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(out, "{heading}\n");
    if !params.is_empty() {
        let _ = writeln!(out, "Parameters: {}  ", code(&params.join(" ")));
    }
    let command: Vec<String> = scale
        .argv
        .iter()
        .map(|a| crate::runs::process::shell_quote(a))
        .collect();
    match &scale.load {
        Some(load) => {
            let _ = writeln!(out, "Server: {}  ", code(&command.join(" ")));
            let load: Vec<String> = load
                .argv
                .iter()
                .map(|a| crate::runs::process::shell_quote(a))
                .collect();
            let _ = writeln!(out, "Load: {}  ", code(&load.join(" ")));
        }
        None => {
            let _ = writeln!(out, "Command: {}  ", code(&command.join(" ")));
        }
    }
    if let Some(scenario) = &scale.scenario {
        let _ = writeln!(out, "Load scenario: {}  ", code(scenario));
    }
    if let Some(seconds) = scale.run_for_s {
        let _ = writeln!(
            out,
            "Each run was limited to {seconds} s (`run_for`, `--run-for`): one still going then was stopped on purpose, and counts with that duration.  "
        );
    }
    if let Some(attached) = &scale.attached {
        let end = match attached.ended_by == crate::runs::memory_profile::PROCESS_EXITED {
            true => "until it exited".to_string(),
            false => format!(
                "ended by {}; it was left running",
                message(&attached.ended_by)
            ),
        };
        let _ = writeln!(
            out,
            "Attached to the running process PID {} ({}) for {:.1} s, {end}.  ",
            attached.pid,
            code(&attached.command_line.join(" ")),
            attached.seconds,
        );
    }
    match (scale.runs.is_empty(), scale.warmup) {
        (true, 0) => out.push('\n'),
        (true, warmup) => {
            let _ = writeln!(out, "{warmup} warm-up before the profile.\n");
        }
        (false, _) => {
            let _ = writeln!(
                out,
                "{} warm-up, {} measured runs.\n",
                scale.warmup,
                scale.runs.len()
            );
        }
    }
    machine_note(out, scale);
}

/// What the machine did while the runs went on, and a warning when some
/// ran under heavy contention: their wall times include waiting for a core.
fn machine_note(out: &mut String, scale: &ScaleRecord) {
    let Some(c) = scale.contention() else {
        return;
    };
    let ((low, high), others, steal) = (c.loadavg, c.median_others * 1e2, c.median_steal * 1e2);
    let _ = writeln!(out, "The machine during the runs: other programs took a median {others:.1} % of its CPU (steal {steal:.1} %); load average {low:.2} to {high:.2}.\n");
    if c.heavy > 0 {
        let (heavy, runs, limit) = (c.heavy, c.runs, machine_load::HEAVY_CONTENTION * 1e2);
        let _ = writeln!(out, "**{heavy} of {runs} runs ran under heavy contention** (other programs and steal took {limit:.0} % of the machine or more): their wall times include waiting for a core. Read `cpu_s` first, or compare exact counts (`profile-compare --counter instructions`).\n");
    }
}

/// The CPU profile of a scale: how it was sampled, its notes, the annotated
/// functions, the top functions and the off-CPU time.
fn cpu_profile_section(
    out: &mut String,
    profile: &crate::results::record::CpuProfile,
    prefix: &str,
    top: Option<&String>,
) {
    let _ = writeln!(
        out,
        "### CPU profile\n\n{} at {} Hz, call graph {}, {}; {}. {}\n",
        text(&profile.tool),
        profile.frequency,
        code(&profile.call_graph),
        text(&profile.symbolizer),
        samples_line(profile),
        link("Flamegraph", &format!("{prefix}flamegraph.svg"))
    );
    for note in &profile.notes {
        let _ = writeln!(out, "> {}\n", message(note));
    }
    if !profile.annotated.is_empty() {
        out.push_str(
            "Annotated (objdump's source lines and assembly, each instruction's share of the \
             function's samples):\n\n",
        );
        for a in &profile.annotated {
            let _ = writeln!(
                out,
                "- {} ({:.2} % self)",
                link(&a.function, &format!("{prefix}{}", a.file)),
                a.self_percent
            );
        }
        out.push('\n');
    }
    if let Some(top) = top {
        top_functions_block(out, top);
    }
    if let Some(off_cpu) = &profile.off_cpu {
        out.push_str(&off_cpu_section(off_cpu, prefix));
    }
}

/// The head of the profiler's top-functions text, as a code block.
fn top_functions_block(out: &mut String, top: &str) {
    let lines: Vec<&str> = top.lines().take(17).collect();
    // Longer than any run of backticks in the symbol names, which
    // would otherwise end the block early.
    let longest = lines
        .iter()
        .flat_map(|line| line.split(|c| c != '`'))
        .map(str::len)
        .max()
        .unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let _ = writeln!(out, "{fence}text");
    for line in lines {
        out.push_str(line);
        out.push('\n');
    }
    let _ = writeln!(out, "{fence}\n");
}

/// `812.4 ms blocked in 1234 switches; switch samples: 1240 recorded, 0 lost
/// (0.0 %), 99.8 % of stacks complete; top: …`, for the terminal.
pub fn off_cpu_line(off_cpu: &crate::results::record::cpu::OffCpu) -> String {
    let top = off_cpu.top_stacks.first().map_or_else(String::new, |s| {
        let leaf: Vec<&str> = s.stack.rsplit(';').take(2).collect();
        format!("; top: {:.1} ms in {}", s.ms, leaf.join(" ← "))
    });
    format!(
        "{:.1} ms blocked in {} switches; switch samples: {}{top}",
        off_cpu.blocked_ms,
        off_cpu.blocked_switches,
        switch_samples(off_cpu)
    )
}

/// The blocking switches' samples as perf counted them, and their stacks:
/// `1240 recorded, 0 lost (0.0 %), 99.8 % of stacks complete`.
fn switch_samples(off_cpu: &crate::results::record::cpu::OffCpu) -> String {
    let mut line = match off_cpu.recorded_switches {
        Some(recorded) => format!("{recorded} recorded"),
        None => "not counted".to_string(),
    };
    match (off_cpu.recorded_switches, off_cpu.lost_switches) {
        (Some(recorded), Some(lost)) => {
            let share = 100.0 * lost as f64 / (recorded + lost).max(1) as f64;
            let _ = write!(line, ", {lost} lost ({share:.1} %)");
        }
        _ => line.push_str(", losses not counted"),
    }
    if let Some(share) = off_cpu.complete_stacks {
        let _ = write!(line, ", {:.1} % of stacks complete", share * 100.0);
    }
    line
}

/// The off-CPU part of a result's README: totals, and the top blocking
/// stacks by their innermost frames (the full stacks are in offcpu.folded).
pub fn off_cpu_section(off_cpu: &crate::results::record::cpu::OffCpu, prefix: &str) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "### Off-CPU time

{:.1} ms blocked in {} switches; {:.1} ms preempted \
         (waiting for a CPU, not shown). Switch samples (the stacks of blocking switches): {}. \
         {} (widths are blocked time; compare with the CPU flamegraph beside it)\n",
        off_cpu.blocked_ms,
        off_cpu.blocked_switches,
        off_cpu.preempted_ms,
        switch_samples(off_cpu),
        link(
            "Off-CPU flamegraph",
            &format!("{prefix}offcpu-flamegraph.svg")
        )
    );
    if off_cpu.top_stacks.is_empty() {
        return out;
    }
    out.push_str("Top blocking stacks (innermost frames last):\n\n| ms | share | thread | stack |\n|---:|---:|---|---|\n");
    for stack in &off_cpu.top_stacks {
        let frames: Vec<&str> = stack.stack.split(';').collect();
        let (thread, frames) = frames.split_first().unwrap_or((&"", &[]));
        let tail = &frames[frames.len().saturating_sub(4)..];
        let _ = writeln!(
            out,
            "| {:.1} | {:.1} % | {} | {} |",
            stack.ms,
            100.0 * stack.ms / off_cpu.blocked_ms.max(f64::MIN_POSITIVE),
            text(thread),
            code_cell(&format!(
                "{}{}",
                if frames.len() > tail.len() {
                    "… → "
                } else {
                    ""
                },
                tail.join(" → ")
            ))
        );
    }
    out.push('\n');
    out
}

pub use super::memory_tables::{leak_table, memory_table};

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs that recorded the machine's load: one line of figures, and a
    /// warning in bold when some ran under heavy contention.
    #[test]
    fn the_machine_s_load_is_noted_under_the_timings() {
        use crate::results::record::{MachineRecord, RunSample};
        let wall: &[f64] = &[0.1, 0.2, 0.3];
        let mut scale = crate::results::synthetic::scale("default", &[("wall_s", "s", wall)]);
        let run = |others: f64, load: f64| RunSample {
            machine: Some(MachineRecord {
                loadavg_1m: load,
                others_cpu_share: others,
                steal_share: 0.01,
                heavy_contention: others >= 0.5,
            }),
            ..crate::results::synthetic::run(0.1, 0.1)
        };
        let mut out = String::new();
        machine_note(&mut out, &scale);
        assert_eq!(out, "", "no load recorded, no note");
        scale.runs = vec![run(0.02, 0.5), run(0.04, 0.75), run(0.03, 0.6)];
        machine_note(&mut out, &scale);
        assert_eq!(
            out,
            "The machine during the runs: other programs took a median 3.0 % of its CPU (steal 1.0 %); \
             load average 0.50 to 0.75.\n\n"
        );
        scale.runs = vec![run(0.02, 0.5), run(0.6, 1.9), run(0.7, 2.1)];
        out.clear();
        machine_note(&mut out, &scale);
        assert!(
            out.contains(
                "**2 of 3 runs ran under heavy contention** (other programs and steal took 50 %"
            ),
            "{out}"
        );
    }

    /// A record whose every text from outside (the label, the workload,
    /// scales, parameters, the command, metrics, notes, the machine, symbol
    /// names from the profilers) is hostile.
    pub(crate) fn hostile_record() -> RunRecord {
        use crate::reports::markdown_text::test_support::hostile;
        use crate::results::synthetic;
        let h = hostile();
        let wall: &[f64] = &[0.1, 0.2, 0.3];
        let rps: &[f64] = &[900.0, 950.0, 1000.0];
        let mut record = synthetic::record(&h, "2026-01-01T00:00:00Z", &[("wall_s", "s", wall)]);
        record.workload = h.clone();
        record.build_profile = h.clone();
        record.failure = Some(h.clone());
        let mut scale = synthetic::scale(&h, &[("wall_s", "s", wall), (&h, &h, rps)]);
        scale.params.insert(h.clone(), h.clone());
        scale.argv.push(h.clone());
        scale.scenario = Some(h.clone());
        scale.attached = Some(crate::results::record::AttachedRecord {
            pid: 7,
            command_line: vec![h.clone()],
            seconds: 1.0,
            ended_by: h.clone(),
        });
        scale.load = Some(crate::results::record::LoadRecord {
            argv: vec![h.clone()],
            wall_s: 1.0,
            exit_code: Some(0),
            metrics: BTreeMap::from([(h.clone(), 1.0)]),
            drain_s: Some(1.5),
        });
        let json = |value: serde_json::Value| value;
        scale.cpu_profile = Some(
            serde_json::from_value(json(serde_json::json!({
                "tool": h, "frequency": 499, "call_graph": h, "symbolizer": h,
                "record": {"samples": 7, "data_mb": 0.1, "warnings": []}, "folded_samples": 7,
                "argv": [], "files": ["cpu.folded"], "notes": [h],
                "annotated": [{"function": h, "file": "annotated/01-f.txt", "self_percent": 50.0}],
                "off_cpu": {
                    "blocked_ms": 10.0, "blocked_switches": 2, "preempted_ms": 1.0,
                    "preempted_switches": 1, "unfinished_switches": 0,
                    "recorded_switches": 3, "lost_switches": 1, "lost_switch_records": 2,
                    "complete_stacks": 0.5,
                    "top_stacks": [{"stack": format!("{h};main;{h}"), "ms": 10.0}]
                }
            })))
            .unwrap_or_else(|e| panic!("the CpuProfile shape changed: {e}")),
        );
        scale.memory = Some(crate::results::record::MemoryRecord {
            tool: h.clone(),
            peak_heap_bytes: Some(1024.0),
            notes: vec![h.clone()],
            peak_consumers: vec![crate::results::record::memory::SiteRecord {
                function: h.clone(),
                bytes: Some(512.0),
                ..Default::default()
            }],
            under_load: Some(crate::results::record::memory::HeapUnderLoadRecord {
                source: h.clone(),
                load_start_s: 1.0,
                load_end_s: 2.0,
                stopped_at_s: 3.0,
                before_bytes: 1.0,
                before_at_s: 1.0,
                after_bytes: 2.0,
                after_at_s: 2.0,
                growth_bytes: 1.0,
                growth_limit_pct: Some(50.0),
            }),
            allocations: Some(crate::results::record::memory::AllocationsRecord {
                source: h.clone(),
                calls: 3,
                bytes: 96.0,
                temporary: 1,
                functions: vec![crate::results::record::memory::FunctionAllocationsRecord {
                    function: h.clone(),
                    location: Some(h.clone()),
                    calls: 3,
                    bytes: 96.0,
                    temporary: 1,
                    stack: vec![crate::results::record::memory::StackFrameRecord {
                        function: h.clone(),
                        location: Some(h.clone()),
                        inlined: true,
                    }],
                    ..Default::default()
                }],
            }),
            ..Default::default()
        });
        scale.leak_check = Some(
            serde_json::from_value(json(serde_json::json!({
                "definitely_lost_bytes": 16, "definitely_lost_blocks": 1,
                "indirectly_lost_bytes": 0, "indirectly_lost_blocks": 0,
                "possibly_lost_bytes": 0, "possibly_lost_blocks": 0,
                "still_reachable_bytes": 0, "errors": 0, "threshold_bytes": 0, "passed": false,
                "top": [{"function": h, "location": h, "bytes": 16.0}]
            })))
            .unwrap_or_else(|e| panic!("the LeakCheck shape changed: {e}")),
        );
        let mut second = scale.clone();
        second.scale = "second".into();
        record.scales = vec![scale, second];
        record
    }

    /// Every part of a result's README, byte for byte: the record with every
    /// section (two scales, top functions, notes), and one plain scale with
    /// perf.data described beside its link, or alone when not kept.
    #[test]
    fn the_readme_is_its_golden_copy() {
        use crate::results::synthetic;
        let system = SystemInfo {
            hostname: "host".into(),
            cpu_model: "cpu".into(),
            kernel: "6.1".into(),
            cores: 4,
            ..SystemInfo::default()
        };
        let full = hostile_record();
        let top = "  50.0 %  main\n  `a` ``b``\n".to_string();
        let tops = BTreeMap::from([(full.scales[0].scale.clone(), top)]);
        let mut plain = synthetic::record(
            "plain",
            "2026-01-01T00:00:00Z",
            &[("wall_s", "s", &[0.1, 0.2, 0.3])],
        );
        plain.git.commit = None;
        plain.git.dirty = true;
        let mut profile = full.scales[0].cpu_profile.clone().unwrap();
        profile.off_cpu = None;
        profile.annotated.clear();
        profile.notes.clear();
        profile.files = vec!["cpu.folded".into(), "perf.data".into()];
        profile.perf_data = Some("compressed, 1 MB".into());
        plain.scales[0].cpu_profile = Some(profile.clone());
        let mut not_kept = plain.clone();
        profile.files.pop();
        not_kept.scales[0].cpu_profile = Some(profile);
        let readmes = [
            run_readme(&full, &system, &tops, &["a note".into()]),
            run_readme(&plain, &system, &BTreeMap::new(), &[]),
            run_readme(&not_kept, &system, &BTreeMap::new(), &[]),
        ];
        crate::reports::golden::assert_golden("result-readme.md", &readmes.join("\n----\n\n"));
    }

    #[test]
    fn hostile_config_text_renders_literally_in_the_readme() {
        use crate::reports::markdown_text::test_support::*;
        let record = hostile_record();
        let system = SystemInfo {
            hostname: hostile(),
            cpu_model: hostile(),
            kernel: hostile(),
            ..SystemInfo::default()
        };
        // A profiler's top-functions text, shown as a code block.
        let top = format!("  50.0 %  {}\n```\n", hostile().replace('\n', " "));
        let tops = BTreeMap::from([(record.scales[0].scale.clone(), top)]);
        let readme = run_readme(&record, &system, &tops, &[hostile()]);
        assert!(assert_tables_keep_their_columns(&readme) >= 8, "{readme}");
        assert_hostile_text_is_literal(&readme);
        // The code block holds the top-functions text to its end.
        assert!(readme.contains("````text\n"), "{readme}");
        let shown = rendered(&readme);
        assert!(
            shown.matches(&hostile_rendered()).count() >= 40,
            "{}\n{shown}",
            shown.matches(&hostile_rendered()).count()
        );
    }
}
