//! The CPU profile on macOS: xctrace's Time Profiler, or dtrace where
//! xctrace is not usable, folded with inferno.

use super::{complete_stacks, CpuProfile, Options, FOLDED, SVG, TOP};
use crate::runs::process::{self, Spec};
use crate::runs::workload::Prepared;
use crate::tools::Toolbox;
use std::path::Path;

pub(super) fn profile_on_macos(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    use crate::tools::{dtrace, xctrace};
    let mut notes = Vec::new();
    let (tool_name, argv) = if tools.xctrace.usable() {
        let trace = dir.join("cpu.trace");
        let xml = dir.join("cpu-time-profile.xml");
        let xcrun = tools.xctrace.path()?.to_path_buf();
        let mut spec = prepared.spec();
        spec.program = xcrun.clone();
        spec.args = xctrace::record_args(&trace, &prepared.program, &prepared.args);
        let argv = spec.argv();
        process::run_checked(spec)?;
        process::run_checked(Spec::new(&xcrun).args(xctrace::export_args(&trace, &xml)))?;
        let input = std::io::BufReader::new(std::fs::File::open(&xml)?);
        xctrace::fold(
            input,
            std::io::BufWriter::new(std::fs::File::create(dir.join(FOLDED))?),
        )?;
        ("xctrace Time Profiler", argv)
    } else {
        let dtrace_path = tools.dtrace.path()?.to_path_buf();
        notes.push("xctrace unavailable: sampled with dtrace".into());
        let stacks = dir.join("cpu.stacks");
        let mut spec = prepared.spec();
        spec.program = dtrace_path;
        spec.args = dtrace::record_args(
            options.frequency,
            &stacks,
            &prepared.program,
            &prepared.args,
        )?;
        let argv = spec.argv();
        process::run_checked(spec)?;
        let input = std::io::BufReader::new(std::fs::File::open(&stacks)?);
        dtrace::fold(
            input,
            std::io::BufWriter::new(std::fs::File::create(dir.join(FOLDED))?),
        )?;
        ("dtrace", argv)
    };
    let folded_samples = std::fs::read_to_string(dir.join(FOLDED))?
        .lines()
        .filter_map(|l| l.rsplit_once(' ')?.1.parse::<u64>().ok())
        .sum();
    let complete_stacks = complete_stacks(dir)?;
    Ok(CpuProfile {
        tool: tool_name.into(),
        frequency: options.frequency,
        call_graph: "native".into(),
        symbolizer: "native".into(),
        record: Default::default(),
        folded_samples,
        complete_stacks,
        argv,
        files: vec![FOLDED.into(), SVG.into(), TOP.into()],
        notes,
        off_cpu: None,
        annotated: Vec::new(),
        perf_data: None,
    })
}
