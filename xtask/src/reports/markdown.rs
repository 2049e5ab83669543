//! The README.md of a result: what ran, the timing table, metrics, top
//! functions, memory, and links to the files. Written to paste well into a
//! pull request.

use crate::results::record::{MeasureSummary, RunRecord, ScaleRecord};
use crate::results::system_info::SystemInfo;
use std::collections::BTreeMap;
use std::fmt::Write as _;

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

/// Formats a value of a measure in its unit, readably.
pub fn format_value(value: f64, unit: &str) -> String {
    match unit {
        "s" if value < 1.0 => format!("{:.1} ms", value * 1e3),
        "s" => format!("{value:.3} s"),
        "B" => format_bytes(value),
        _ if value.abs() >= 1e6 => format!("{:.3}M {unit}", value / 1e6),
        _ if value.abs() >= 1e4 => format!("{:.1}k {unit}", value / 1e3),
        _ if value.fract() == 0.0 => format!("{value:.0} {unit}"),
        _ => format!("{value:.3} {unit}"),
    }
    .trim_end()
    .to_string()
}

pub fn format_bytes(bytes: f64) -> String {
    let (divisor, unit) = byte_unit(bytes);
    if divisor == 1.0 {
        format!("{bytes:.0} B")
    } else {
        format!("{:.2} {unit}", bytes / divisor)
    }
}

/// The binary unit (B, KiB, MiB, …) to show `bytes` in, and its size.
pub fn byte_unit(bytes: f64) -> (f64, &'static str) {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut unit = 0;
    while unit + 1 < UNITS.len() && bytes.abs() >= 1024f64.powi(unit as i32 + 1) {
        unit += 1;
    }
    (1024f64.powi(unit as i32), UNITS[unit])
}

/// The timing and metrics table of one scale.
pub fn summary_table(summaries: &BTreeMap<String, MeasureSummary>) -> String {
    let mut out = String::from("| measure | median | mean | ± stddev | min | max | CV | runs |\n");
    out.push_str("|---|---:|---:|---:|---:|---:|---:|---:|\n");
    let mut names: Vec<&String> = summaries.keys().collect();
    names.sort_by_key(|n| (crate::config::measures::display_rank(n), n.as_str()));
    for name in names {
        let m = &summaries[name];
        let s = &m.summary;
        let _ = writeln!(
            out,
            "| {name} | {} | {} | {} | {} | {} | {:.1} % | {} |",
            format_value(s.median, &m.unit),
            format_value(s.mean, &m.unit),
            format_value(s.stddev, &m.unit),
            format_value(s.min, &m.unit),
            format_value(s.max, &m.unit),
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
    let _ = writeln!(
        out,
        "# {} — `{}` ({})\n",
        record.label, record.workload, record.task
    );
    let _ = writeln!(
        out,
        "Created {} on {} ({}, {} cores, {}), commit `{}`{}, build profile `{}`.\n",
        record.created,
        system.hostname,
        system.cpu_model,
        system.cores,
        system.kernel,
        record
            .git
            .commit
            .as_deref()
            .map_or("unknown", crate::results::record::short_hash),
        if record.git.dirty {
            " (dirty tree)"
        } else {
            ""
        },
        record.build_profile
    );
    if let Some(failure) = &record.failure {
        let _ = writeln!(out, "**Failed:** {failure}\n");
    }
    if !notes.is_empty() {
        out.push_str("## Notes\n\n");
        for note in notes {
            let _ = writeln!(out, "- {note}");
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
        let prefix = scale.dir_prefix(record.scales.len() > 1);
        if let Some(profile) = &scale.cpu_profile {
            for file in &profile.files {
                let _ = write!(out, "- [{prefix}{file}]({prefix}{file})");
                match &profile.perf_data {
                    Some(what) if file == "perf.data" => {
                        let _ = writeln!(out, ": {what}");
                    }
                    _ => out.push('\n'),
                }
            }
            if let Some(what) = &profile.perf_data {
                if !profile.files.iter().any(|file| file == "perf.data") {
                    let _ = writeln!(out, "- {prefix}perf.data: {what}");
                }
            }
        }
        if let Some(memory) = &scale.memory {
            for file in ["memory.json", "memory-flamegraph.svg", "memory.folded"]
                .into_iter()
                .chain(memory.raw_files.iter().map(String::as_str))
            {
                let _ = writeln!(out, "- [{prefix}{file}]({prefix}{file})");
            }
        }
        if scale.leak_check.is_some() {
            let _ = writeln!(out, "- [{prefix}leak-check.json]({prefix}leak-check.json), [{prefix}memcheck.xml]({prefix}memcheck.xml)");
        }
    }
    out
}

/// The median wall time of a result's first scale, formatted, or `—`.
pub fn median_wall(record: &RunRecord) -> String {
    record
        .headline()
        .and_then(|s| s.summaries.get("wall_s"))
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
    run_readme(record, system, &tops, notes)
}

fn scale_section(out: &mut String, scale: &ScaleRecord, several: bool, top: Option<&String>) {
    let heading = if several {
        format!("## Scale `{}`", scale.scale)
    } else {
        "## Timings".to_string()
    };
    let params: Vec<String> = scale
        .params
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let _ = writeln!(out, "{heading}\n");
    let _ = writeln!(out, "Parameters: `{}`  ", params.join(" "));
    let command: Vec<String> = scale
        .argv
        .iter()
        .map(|a| crate::runs::process::shell_quote(a))
        .collect();
    let _ = writeln!(out, "Command: `{}`  ", command.join(" "));
    if let Some(scenario) = &scale.scenario {
        let _ = writeln!(out, "Load scenario: `{scenario}`  ");
    }
    if let Some(seconds) = scale.run_for_s {
        let _ = writeln!(
            out,
            "Each run was limited to {seconds} s (`run_for`, `--run-for`): one still going then was stopped on purpose, and counts with that duration.  "
        );
    }
    if let Some(attached) = &scale.attached {
        let _ = writeln!(
            out,
            "Attached to the running process PID {} (`{}`) for {:.1} s, ended by {}; it was left running.  ",
            attached.pid,
            attached.command_line.join(" "),
            attached.seconds,
            attached.ended_by
        );
    }
    let _ = writeln!(
        out,
        "{} warm-up, {} measured runs.\n",
        scale.warmup,
        scale.runs.len()
    );
    out.push_str(&summary_table(&scale.summaries));
    out.push('\n');
    if let Some(load) = &scale.load {
        let _ = writeln!(
            out,
            "Load scenario (profiled run): `{}`\n",
            load.argv.join(" ")
        );
        for (name, value) in &load.metrics {
            let _ = writeln!(out, "- {name}: {value}");
        }
        out.push('\n');
    }
    if let Some(profile) = &scale.cpu_profile {
        let prefix = scale.dir_prefix(several);
        let _ = writeln!(
            out,
            "### CPU profile\n\n{} at {} Hz, call graph `{}`, {}; {}. [Flamegraph]({prefix}flamegraph.svg)\n",
            profile.tool,
            profile.frequency,
            profile.call_graph,
            profile.symbolizer,
            samples_line(profile)
        );
        for note in &profile.notes {
            let _ = writeln!(out, "> {note}\n");
        }
        if !profile.annotated.is_empty() {
            out.push_str(
                "Annotated (objdump's source lines and assembly, each instruction's share of the \
                 function's samples):\n\n",
            );
            for a in &profile.annotated {
                let _ = writeln!(
                    out,
                    "- [{}]({prefix}{}) ({:.2} % self)",
                    a.function, a.file, a.self_percent
                );
            }
            out.push('\n');
        }
        if let Some(top) = top {
            out.push_str("```text\n");
            for line in top.lines().take(17) {
                out.push_str(line);
                out.push('\n');
            }
            out.push_str("```\n\n");
        }
        if let Some(off_cpu) = &profile.off_cpu {
            out.push_str(&off_cpu_section(off_cpu, &prefix));
        }
    }
    if let Some(memory) = &scale.memory {
        let prefix = scale.dir_prefix(several);
        let _ = writeln!(out, "### Memory ({})\n", memory.tool);
        for note in &memory.notes {
            let _ = writeln!(out, "> {note}\n");
        }
        out.push_str(&memory_table(memory));
        let _ = writeln!(
            out,
            "\n[Memory flamegraph]({prefix}memory-flamegraph.svg) (heap at its peak)\n"
        );
    }
    if let Some(leaks) = &scale.leak_check {
        out.push_str(&leak_table(leaks));
        out.push('\n');
    }
}

/// `812.4 ms blocked in 1234 switches (1240 recorded); top: …`, for the terminal.
pub fn off_cpu_line(off_cpu: &crate::results::record::cpu::OffCpu) -> String {
    let recorded = off_cpu
        .recorded_switches
        .map_or_else(String::new, |n| format!(" ({n} switches recorded)"));
    let top = off_cpu.top_stacks.first().map_or_else(String::new, |s| {
        let leaf: Vec<&str> = s.stack.rsplit(';').take(2).collect();
        format!("; top: {:.1} ms in {}", s.ms, leaf.join(" ← "))
    });
    format!(
        "{:.1} ms blocked in {} switches{recorded}{top}",
        off_cpu.blocked_ms, off_cpu.blocked_switches
    )
}

/// The off-CPU part of a result's README: totals, and the top blocking
/// stacks by their innermost frames (the full stacks are in offcpu.folded).
pub fn off_cpu_section(off_cpu: &crate::results::record::cpu::OffCpu, prefix: &str) -> String {
    let mut out = String::new();
    let recorded = off_cpu
        .recorded_switches
        .map_or_else(String::new, |n| format!(" of {n} switches perf recorded"));
    let _ = writeln!(
        out,
        "### Off-CPU time

{:.1} ms blocked in {} switches{recorded}; {:.1} ms preempted \
         (waiting for a CPU, not shown). [Off-CPU flamegraph]({prefix}offcpu-flamegraph.svg) \
         (widths are blocked time; compare with the CPU flamegraph beside it)\n",
        off_cpu.blocked_ms, off_cpu.blocked_switches, off_cpu.preempted_ms
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
            "| {:.1} | {:.1} % | {thread} | `{}{}` |",
            stack.ms,
            100.0 * stack.ms / off_cpu.blocked_ms.max(f64::MIN_POSITIVE),
            if frames.len() > tail.len() {
                "… → "
            } else {
                ""
            },
            tail.join(" → ")
        );
    }
    out.push('\n');
    out
}

pub fn memory_table(memory: &crate::results::record::MemoryRecord) -> String {
    let mut out = String::from("| measure | value |\n|---|---:|\n");
    let bytes = |v: Option<f64>| v.map(format_bytes).unwrap_or_else(|| "—".into());
    let count = |v: Option<u64>| v.map(|n| n.to_string()).unwrap_or_else(|| "—".into());
    let _ = writeln!(out, "| peak heap | {} |", bytes(memory.peak_heap_bytes));
    let _ = writeln!(out, "| peak RSS | {} |", bytes(memory.peak_rss_bytes));
    let _ = writeln!(
        out,
        "| allocation calls | {} |",
        count(memory.total_allocations)
    );
    let _ = writeln!(
        out,
        "| temporary allocations | {} |",
        count(memory.temporary_allocations)
    );
    let _ = writeln!(out, "| leaked | {} |", bytes(memory.leaked_bytes));
    if let Some(heap) = &memory.under_load {
        let _ = writeln!(
            out,
            "| heap before the load (at {:.2} s) | {} |",
            heap.before_at_s,
            format_bytes(heap.before_bytes)
        );
        let _ = writeln!(
            out,
            "| heap after the load (at {:.2} s) | {} |",
            heap.after_at_s,
            format_bytes(heap.after_bytes)
        );
        let _ = writeln!(
            out,
            "| growth under the load | {}{} |",
            if heap.growth_bytes < 0.0 { "-" } else { "+" },
            format_bytes(heap.growth_bytes.abs())
        );
        let _ = writeln!(
            out,
            "\nThe load ran from {:.2} s to {:.2} s after the server started; the server was stopped at {:.2} s. Heap over time: {}.",
            heap.load_start_s, heap.load_end_s, heap.stopped_at_s, heap.source
        );
    }
    if !memory.peak_consumers.is_empty() {
        out.push_str("\nTop peak consumers:\n\n| bytes | function |\n|---:|---|\n");
        for site in memory.peak_consumers.iter().take(10) {
            let _ = writeln!(
                out,
                "| {} | `{}` |",
                bytes(site.bytes),
                site.function.replace('|', "\\|")
            );
        }
    }
    out
}

/// memcheck's verdict as a table, with the top leak stacks.
pub fn leak_table(leaks: &crate::results::record::LeakCheck) -> String {
    let mut out = format!(
        "Leak check (valgrind memcheck): **{}** — {} definitely lost, threshold {}\n\n",
        if leaks.passed { "passed" } else { "FAILED" },
        format_bytes(leaks.definitely_lost_bytes as f64),
        format_bytes(leaks.threshold_bytes as f64)
    );
    out.push_str("| kind | bytes | blocks |\n|---|---:|---:|\n");
    for (kind, bytes, blocks) in [
        (
            "definitely lost",
            leaks.definitely_lost_bytes,
            leaks.definitely_lost_blocks,
        ),
        (
            "indirectly lost",
            leaks.indirectly_lost_bytes,
            leaks.indirectly_lost_blocks,
        ),
        (
            "possibly lost",
            leaks.possibly_lost_bytes,
            leaks.possibly_lost_blocks,
        ),
    ] {
        let _ = writeln!(out, "| {kind} | {bytes} | {blocks} |");
    }
    let _ = writeln!(
        out,
        "| still reachable | {} | |",
        leaks.still_reachable_bytes
    );
    if !leaks.top.is_empty() {
        out.push_str("\nTop leaks:\n\n");
        for site in leaks.top.iter().take(5) {
            let _ = writeln!(
                out,
                "- {} in `{}`{}",
                format_bytes(site.bytes.unwrap_or(0.0)),
                site.function,
                site.location
                    .as_deref()
                    .map(|l| format!(" ({l})"))
                    .unwrap_or_default()
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_in_units() {
        assert_eq!(format_value(0.0123, "s"), "12.3 ms");
        assert_eq!(format_value(1.5, "s"), "1.500 s");
        assert_eq!(format_value(2048.0, "B"), "2.00 KiB");
        assert_eq!(format_value(1_532_418.0, "records/s"), "1.532M records/s");
        assert_eq!(format_value(200.0, "records"), "200 records");
        assert_eq!(format_bytes(72.05e6), "68.71 MiB");
    }
}
