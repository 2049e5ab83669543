//! `cargo xtask flamegraph`: just the CPU profile of the workload, with the
//! same engine as profile-baseline (one profiled run, no timed runs).

use crate::config::CallGraph;
use crate::reports::markdown;
use crate::reports::stdout::outln;
use crate::results::record::{CpuProfile as CpuProfileRecord, LoadRecord, RunRecord, ScaleRecord};
use crate::results::Store;
use crate::runs::cpu_profile::{self, SVG};
use crate::runs::git::git_info;
use crate::runs::service;
use crate::runs::service_setup::ServerPlan;
use crate::runs::workload;
use crate::tasks::invocation::Invocation;
use crate::tasks::profile_flow::{self, ProfileFlow};
use crate::tasks::publish::publish;
use crate::tools::Toolbox;
use anyhow::Context;
use std::path::PathBuf;
use std::time::Duration;

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
    /// Name of the result directory [default: flamegraph, or the scenario's name].
    #[arg(long, value_parser = crate::config::parse_label)]
    pub label: Option<String>,
    /// Profile for SECONDS, then stop the program (its `stop_signal`, then
    /// SIGTERM, then SIGKILL) and keep the profile: for programs that run
    /// until stopped. With --pid: how long to sample [default: workload's run_for].
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::parse_run_for)]
    pub run_for: Option<f64>,
    /// Sample this running process instead of starting the workload, for
    /// --run-for seconds or until Ctrl-C; it is left running.
    #[arg(long, value_name = "PID", conflicts_with_all = ["workload", "scenario"])]
    pub pid: Option<i32>,
    /// A server workload's load scenario (`[workloads.NAME.scenarios.SCENARIO]`),
    /// or `all` for one result per scenario [default: its `load`]. The server
    /// is sampled while one run of the load goes on.
    #[arg(long, value_name = "SCENARIO|all")]
    pub scenario: Option<String>,
    /// Also record where threads block and for how long (Linux perf's
    /// sched:sched_switch, in the same run): offcpu.folded and
    /// offcpu-flamegraph.svg beside the CPU flamegraph, widths in ms blocked.
    #[arg(long)]
    pub off_cpu: bool,
    /// A server: keep sampling it for SECONDS after the load ends, before it
    /// is stopped, to see what it does then (flushing, background work)
    /// [default: the workload's drain, else 0].
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::bounds::drain)]
    pub drain: Option<f64>,
    #[command(flatten)]
    pub program: crate::tasks::invocation::Program,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    if let Some(pid) = args.pid {
        if let Some(flag) = params.keys().next() {
            anyhow::bail!(
                "--pid samples a process that is already running: a parameter of the workload (--{flag}) does not apply to it"
            );
        }
        return attach_to_pid(config, args, pid);
    }
    let (name, workload) = config.workload(args.workload.as_deref())?;
    if workload.is_service() {
        if args.run_for.is_some() {
            anyhow::bail!("--run-for applies to programs that run until stopped; the server `{name}` is sampled for the length of its load");
        }
        let loads = workload
            .loads(name, args.scenario.as_deref())
            .map_err(anyhow::Error::msg)?;
        let several = loads.len() > 1;
        for (scenario, load) in loads {
            let label = crate::config::scenario_label(
                args.label.as_deref(),
                scenario.as_deref(),
                several,
                "flamegraph",
            );
            if several {
                eprintln!("== scenario {} ==", scenario.as_deref().unwrap_or_default());
            }
            profile_service(invocation, args, &label, scenario, load)?;
        }
        return Ok(0);
    }
    if args.scenario.is_some() {
        anyhow::bail!("--scenario chooses the load of a server workload; `{name}` is not one");
    }
    if args.drain.is_some() {
        anyhow::bail!("--drain profiles a server after its load; `{name}` is not a server workload (use --run-for for a program that runs until stopped)");
    }
    let label = args.label.clone().unwrap_or_else(|| "flamegraph".into());
    crate::config::validate_label(&label)?;
    let tools = Toolbox::detect();
    if tools.cpu_sampler().is_none() {
        anyhow::bail!("{}", tools.missing_cpu_sampler());
    }
    let values = config.param_values(None, params);
    let mut prepared = workload::prepare(config, name, workload, &values)?;
    if let Some(seconds) = args.run_for {
        prepared.run_for = Some(Duration::from_secs_f64(seconds));
    }
    for warning in &prepared.warnings {
        eprintln!("{warning}");
    }
    let git = git_info(&config.root);
    let shown = workload.used_params(&values);
    let options = sampling_options(config, args, &tools)?;
    let title = format!("{name} {}", markdown::format_params(&shown));
    let subtitle = git.commit_label();
    let pending = Store::new(config.results_dir()).begin(&label)?;
    let flow = ProfileFlow {
        tools: &tools,
        options: &options,
        dir: &pending.dir,
    };
    let profile = match flow.program(&prepared, &title, &subtitle) {
        Ok(profile) => CpuProfileRecord::from(profile),
        Err(error) => return Err(pending.fail(error)),
    };
    let scale = ScaleRecord {
        cpu_profile: Some(profile.clone()),
        ..ScaleRecord::single_run(&prepared, shown)
    };
    let record = RunRecord {
        command_line: config.command_line_of(name),
        ..RunRecord::new(
            "flamegraph",
            &label,
            name,
            &config.defaults.build_profile,
            git,
            vec![scale],
        )
    };
    let dir = publish(pending, &record, &tools, &[])?;
    print_written(args, &dir, &profile)?;
    Ok(0)
}

/// A server's CPU profile under one run of its load (`load`, or a scenario).
fn profile_service(
    invocation: &Invocation,
    args: &Args,
    label: &str,
    scenario: Option<String>,
    load: &crate::config::Workload,
) -> anyhow::Result<()> {
    let (config, params) = (invocation.config()?, &invocation.params);
    crate::config::validate_label(label)?;
    let (name, workload) = config.workload(args.workload.as_deref())?;
    let tools = Toolbox::detect();
    if tools.cpu_sampler().is_none() || tools.platform != crate::tools::Platform::Linux {
        anyhow::bail!(
            "a server is sampled by perf attached to it (Linux): {}",
            tools.missing_cpu_sampler()
        );
    }
    let values = config.param_values(None, params);
    let server = workload::prepare(config, name, workload, &values)?;
    let load = workload::prepare(config, &format!("{name}.load"), load, &values)?;
    for warning in &server.warnings {
        eprintln!("{warning}");
    }
    let plan = ServerPlan::prepare(config, name, workload, &values, args.drain)?;
    let git = git_info(&config.root);
    let shown = workload.used_params(&values);
    let options = sampling_options(config, args, &tools)?;
    let title = format!(
        "{name}{} {}",
        scenario
            .as_deref()
            .map(|s| format!(":{s}"))
            .unwrap_or_default(),
        markdown::format_params(&shown)
    );
    let subtitle = format!("{} · the server under its load", git.commit_label());
    let pending = Store::new(config.results_dir()).begin(label)?;
    let flow = ProfileFlow {
        tools: &tools,
        options: &options,
        dir: &pending.dir,
    };
    let measured = service::under_load(&server, &plan, |running| {
        flow.server_under_load((running.pid, plan.drain), &load, &title, &subtitle)
    });
    let (profile, sample) = match measured {
        Ok(done) => done,
        Err(error) => return Err(pending.fail(error)),
    };
    let profile = CpuProfileRecord::from(profile);
    let scale = ScaleRecord {
        cpu_profile: Some(profile.clone()),
        load: Some(LoadRecord {
            argv: load.argv(),
            wall_s: sample.wall_s,
            exit_code: sample.exit_code,
            metrics: sample.metrics,
            drain_s: plan.drain_s(),
        }),
        scenario,
        ..ScaleRecord::single_run(&server, shown)
    };
    let record = RunRecord::new(
        "flamegraph",
        label,
        name,
        &config.defaults.build_profile,
        git,
        vec![scale],
    );
    let dir = publish(pending, &record, &tools, &[])?;
    print_written(args, &dir, &profile)
}

/// `--pid`: the CPU profile of a process that is already running.
fn attach_to_pid(config: &crate::config::Config, args: &Args, pid: i32) -> anyhow::Result<u8> {
    let label = args.label.clone().unwrap_or_else(|| "flamegraph".into());
    crate::config::validate_label(&label)?;
    let tools = Toolbox::detect();
    if tools.cpu_sampler().is_none() {
        anyhow::bail!("{}", tools.missing_cpu_sampler());
    }
    if tools.platform != crate::tools::Platform::Linux {
        anyhow::bail!("--pid needs perf (Linux)");
    }
    let options = sampling_options(config, args, &tools)?;
    let run_for = args.run_for.map(Duration::from_secs_f64);
    let (dir, record) = profile_flow::running_process_result(
        "flamegraph",
        &label,
        config,
        (&tools, &options),
        (pid, run_for),
        false,
    )?;
    let profile = record.scales[0]
        .cpu_profile
        .clone()
        .context("a --pid result holds its CPU profile")?;
    print_written(args, &dir, &profile)?;
    outln!("PID {pid} is still running");
    Ok(0)
}

/// The sampling options of this run: the config's, with the command line's.
fn sampling_options(
    config: &crate::config::Config,
    args: &Args,
    tools: &Toolbox,
) -> anyhow::Result<cpu_profile::Options> {
    let switches = cpu_profile::Switches {
        no_inline: args.no_inline,
        keep_perf_data: args.keep_perf_data,
        off_cpu: args.off_cpu,
    };
    cpu_profile::Options::new(config, args.freq, args.call_graph).with(switches, tools)
}

/// The terminal's account of a written result: its notes, the samples, and
/// every flamegraph in it (copied to `--output`, opened with `--open`).
fn print_written(
    args: &Args,
    dir: &std::path::Path,
    profile: &CpuProfileRecord,
) -> anyhow::Result<()> {
    for note in &profile.notes {
        eprintln!("note: {note}");
    }
    outln!("samples: {}", markdown::samples_line(profile));
    let svg = dir.join(SVG);
    if let Some(output) = &args.output {
        std::fs::copy(&svg, output)
            .with_context(|| format!("cannot copy the SVG to {}", output.display()))?;
        outln!("flamegraph: {}", output.display());
    }
    outln!("flamegraph: {}", svg.display());
    for file in profile
        .files
        .iter()
        .filter(|f| f.starts_with("bench/") || f.starts_with("events/"))
    {
        outln!("flamegraph: {}", dir.join(file).display());
    }
    if let Some(off_cpu) = &profile.off_cpu {
        outln!("off-CPU: {}", markdown::off_cpu_line(off_cpu));
        outln!(
            "off-CPU flamegraph: {}",
            dir.join(cpu_profile::offcpu::SVG).display()
        );
    }
    if args.open {
        open_in_browser(&svg);
    }
    Ok(())
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
