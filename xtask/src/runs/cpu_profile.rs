//! The CPU profile of one run, on whatever sampler this platform has:
//! record → folded stacks (`cpu.folded`) → `flamegraph.svg` and a
//! top-functions report. Shared by profile-baseline and flamegraph.

use crate::config::CallGraph;
use crate::reports::{flamegraph, functions};
use crate::results::record::CpuProfile;
use crate::runs::measure::RunFailure;
use crate::runs::process::{self, Running, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::{perf, Platform, Toolbox};
use anyhow::{bail, Context};
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const FOLDED: &str = "cpu.folded";
pub const SVG: &str = "flamegraph.svg";
pub const TOP: &str = "top-functions.txt";
pub const PERF_DATA: &str = "perf.data";

#[derive(Debug, Clone)]
pub struct Options {
    pub frequency: u32,
    pub call_graph: CallGraph,
    pub kernel_frames: bool,
    /// Flamegraph title.
    pub title: String,
    pub subtitle: String,
}

/// Profiles one run of `prepared`, writing the profile files into `dir`.
pub fn profile(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    match tools.platform {
        Platform::Linux => profile_with_perf(prepared, tools, options, dir),
        Platform::Macos => profile_on_macos(prepared, tools, options, dir),
        Platform::Other => bail!("no CPU sampler is supported on this platform"),
    }
}

fn perf_settings(options: &Options) -> (perf::Settings, Option<PathBuf>, Vec<String>) {
    let fast = perf::fast_addr2line_dir();
    let mut notes = Vec::new();
    if fast.is_none() {
        notes.push(format!(
            "inline frames are off (--no-inline): binutils' addr2line is too slow for them. For inline frames: {}",
            crate::tools::FAST_ADDR2LINE_INSTALL
        ));
    }
    let settings = perf::Settings {
        frequency: options.frequency,
        call_graph: options.call_graph,
        inline_frames: fast.is_some(),
        kernel_frames: options.kernel_frames,
    };
    (settings, fast, notes)
}

fn profile_with_perf(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, fast, notes) = perf_settings(options);
    let data = dir.join(PERF_DATA);
    let mut spec = prepared.spec();
    spec.args = perf::record_args(&settings, &data, &prepared.program, &prepared.args);
    spec.program = perf_path.clone();
    spec.watch
        .extend(["perf record:".to_string(), "lost".into(), "Lost".into()]);
    let argv = spec.argv();
    let command = spec.display();
    let spinner = Progress::spinner(&format!("perf record of {}", prepared.name));
    let outcome = process::run(spec)?;
    spinner.finish();
    if !outcome.success() {
        return Err(RunFailure {
            command,
            what: outcome.describe(Some(prepared.timeout)),
            tail: outcome.tail(),
        }
        .into());
    }
    let record = perf::parse_record_stderr(
        outcome
            .watched
            .iter()
            .chain(outcome.stderr_tail.iter())
            .map(String::as_str),
    );
    finish_perf(
        &perf_path,
        &settings,
        fast.as_deref(),
        &data,
        dir,
        options,
        argv,
        record,
        notes,
        tools,
    )
}

/// Starts `perf record --pid` on a running server (the service scenario).
pub fn attach(
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
    pid: i32,
) -> anyhow::Result<(Running, Vec<String>)> {
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, _, _) = perf_settings(options);
    let mut spec = Spec::new(&perf_path).args(perf::attach_args(
        &settings,
        &dir.join(PERF_DATA),
        pid as u32,
    ));
    spec.watch = vec!["perf record:".into(), "lost".into(), "Lost".into()];
    let argv = spec.argv();
    let running = process::start(spec)?;
    // perf needs a moment to open its events before the load starts.
    std::thread::sleep(Duration::from_millis(300));
    Ok((running, argv))
}

/// Stops an attached perf and processes its recording.
pub fn finish_attached(
    running: Running,
    argv: Vec<String>,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<CpuProfile> {
    // SIGINT makes perf stop sampling and write its data.
    let outcome = running.stop(libc::SIGINT, Duration::from_secs(30));
    let record = perf::parse_record_stderr(
        outcome
            .watched
            .iter()
            .chain(outcome.stderr_tail.iter())
            .map(String::as_str),
    );
    let data = dir.join(PERF_DATA);
    if !data.is_file() {
        bail!(
            "perf wrote no data ({}):\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    let perf_path = tools.perf.path()?.to_path_buf();
    let (settings, fast, notes) = perf_settings(options);
    finish_perf(
        &perf_path,
        &settings,
        fast.as_deref(),
        &data,
        dir,
        options,
        argv,
        record,
        notes,
        tools,
    )
}

#[allow(clippy::too_many_arguments)]
fn finish_perf(
    perf_path: &Path,
    settings: &perf::Settings,
    fast_addr2line: Option<&Path>,
    data: &Path,
    dir: &Path,
    options: &Options,
    argv: Vec<String>,
    record: perf::RecordSummary,
    mut notes: Vec<String>,
    tools: &Toolbox,
) -> anyhow::Result<CpuProfile> {
    let spinner = Progress::spinner("perf script | fold");
    let (folded_samples, script_warnings) = perf::script_and_fold(
        perf_path,
        settings,
        data,
        &dir.join(FOLDED),
        &dir.join("perf-script.stderr.log"),
        fast_addr2line,
    )?;
    spinner.finish();
    let mut record = record;
    record.warnings.extend(script_warnings);
    if !record.warnings.is_empty() {
        notes.push(format!(
            "perf lost samples ({}): raise the buffer with a lower --freq, or use --call-graph fp",
            record.warnings.join("; ")
        ));
    }
    if folded_samples == 0 {
        notes.push(
            "perf recorded no samples: the run may be too short for the sampling frequency".into(),
        );
    }
    write_reports(dir, options)?;
    Ok(CpuProfile {
        tool: tools.perf.version.clone().unwrap_or_else(|| "perf".into()),
        frequency: settings.frequency,
        call_graph: settings.call_graph.as_str().into(),
        symbolizer: if settings.inline_frames {
            format!(
                "inline frames via gimli addr2line ({})",
                fast_addr2line
                    .map(|p| p.display().to_string())
                    .unwrap_or_default()
            )
        } else {
            "--no-inline (no fast addr2line found)".into()
        },
        record,
        folded_samples,
        argv,
        files: vec![PERF_DATA.into(), FOLDED.into(), SVG.into(), TOP.into()],
        notes,
    })
}

/// flamegraph.svg and top-functions.txt from cpu.folded.
fn write_reports(dir: &Path, options: &Options) -> anyhow::Result<()> {
    let folded = dir.join(FOLDED);
    flamegraph::render(
        &folded,
        &dir.join(SVG),
        &options.title,
        &options.subtitle,
        flamegraph::Kind::Cpu,
    )?;
    let text = std::fs::read_to_string(&folded)
        .with_context(|| format!("cannot read {}", folded.display()))?;
    let stats = functions::from_folded(&text);
    std::fs::write(dir.join(TOP), functions::render_top(&stats, 30))?;
    Ok(())
}

fn profile_on_macos(
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
    let folded_samples = functions::from_folded(&std::fs::read_to_string(dir.join(FOLDED))?)
        .iter()
        .map(|f| f.self_samples)
        .sum();
    write_reports(dir, options)?;
    Ok(CpuProfile {
        tool: tool_name.into(),
        frequency: options.frequency,
        call_graph: "native".into(),
        symbolizer: "native".into(),
        record: Default::default(),
        folded_samples,
        argv,
        files: vec![FOLDED.into(), SVG.into(), TOP.into()],
        notes,
    })
}
