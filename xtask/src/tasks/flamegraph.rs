//! `cargo xtask flamegraph`: just the CPU profile of the workload, with the
//! same engine as profile-baseline (one profiled run, no timed runs).

use crate::config::CallGraph;
use crate::reports::{flamegraph, markdown};
use crate::results::record::{RunRecord, ScaleRecord};
use crate::results::system_info::SystemInfo;
use crate::results::Store;
use crate::runs::cpu_profile::{self, SVG};
use crate::runs::git::git_info;
use crate::runs::workload;
use crate::tasks::invocation::Invocation;
use crate::tools::Toolbox;
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The workload to profile [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// Sampling frequency in Hz, 1 to the kernel's perf_event_max_sample_rate [default: defaults.frequency].
    #[arg(long, value_parser = crate::config::parse_frequency)]
    pub freq: Option<u32>,
    /// Call-graph mode [default: defaults.call_graph].
    #[arg(long, value_enum)]
    pub call_graph: Option<CallGraph>,
    /// No inline frames in the CPU profile: only the functions that hold the
    /// code, as `perf report --no-inline` [default: defaults.inline_frames].
    #[arg(long)]
    pub no_inline: bool,
    /// Keep the raw perf.data in the result, for `perf report -i` and
    /// `perf annotate -i` later (about 15 MB a second of run) [default: defaults.keep_perf_data].
    #[arg(long)]
    pub keep_perf_data: bool,
    /// Also copy the SVG to this file.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Open the SVG in the default browser when done.
    #[arg(long)]
    pub open: bool,
    /// Name of the result directory.
    #[arg(long, default_value = "flamegraph")]
    pub label: String,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    crate::config::validate_label(&args.label)?;
    let (name, workload) = config.workload(args.workload.as_deref())?;
    if workload.is_service() {
        anyhow::bail!(
            "`{name}` is a server workload: profile it under load with `cargo xtask profile-baseline --workload {name}`"
        );
    }
    let tools = Toolbox::detect();
    if tools.cpu_sampler().is_none() {
        anyhow::bail!("{}", tools.missing_cpu_sampler());
    }
    let values = config.param_values(None, params);
    let prepared = workload::prepare(config, name, workload, &values)?;
    for warning in &prepared.warnings {
        eprintln!("{warning}");
    }
    let git = git_info(&config.root);
    let shown = workload.used_params(&values);
    let mut options = cpu_profile::Options::new(config, args.freq, args.call_graph);
    options.inline_frames &= !args.no_inline;
    options.keep_perf_data |= args.keep_perf_data;
    let title = format!("{name} {}", markdown::format_params(&shown));
    let subtitle = format!("commit {}", git.short());
    let pending = Store::new(config.results_dir()).begin(&args.label)?;
    let profiled =
        cpu_profile::profile(&prepared, &tools, &options, &pending.dir).and_then(|mut p| {
            flamegraph::write_cpu_files(&pending.dir, &title, &subtitle)?;
            cpu_profile::settle_perf_data(&options, &pending.dir, &mut p.files, &mut p.perf_data)?;
            Ok(p)
        });
    let profile = match profiled {
        Ok(profile) => crate::results::record::CpuProfile::from(profile),
        Err(error) => return Err(pending.fail(error)),
    };
    let notes = profile.notes.clone();
    let samples = markdown::samples_line(&profile);
    let scale = ScaleRecord {
        cpu_profile: Some(profile),
        ..ScaleRecord::single_run(&prepared, shown)
    };
    let record = RunRecord::new(
        "flamegraph",
        &args.label,
        name,
        &config.defaults.build_profile,
        git.into(),
        vec![scale],
    );
    let system = SystemInfo::collect(&tools);
    let readme = markdown::result_readme(&pending, &record, &system, &[]);
    let dir = pending.finish(&record, &system, &readme)?;
    let svg = dir.join(SVG);
    for note in notes {
        eprintln!("note: {note}");
    }
    println!("samples: {samples}");
    if let Some(output) = &args.output {
        std::fs::copy(&svg, output)
            .with_context(|| format!("cannot copy the SVG to {}", output.display()))?;
        println!("flamegraph: {}", output.display());
    }
    println!("flamegraph: {}", svg.display());
    if args.open {
        open_in_browser(&svg);
    }
    Ok(0)
}

fn open_in_browser(path: &std::path::Path) {
    let opener = if cfg!(target_os = "macos") {
        "open"
    } else {
        "xdg-open"
    };
    let opened =
        xshell::Shell::new().and_then(|shell| xshell::cmd!(shell, "{opener} {path}").quiet().run());
    if let Err(e) = opened {
        eprintln!("warning: cannot open the SVG with {opener}: {e}");
    }
}
