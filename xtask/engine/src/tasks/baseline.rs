//! `cargo xtask profile-baseline`: build with symbols, run the workload
//! several times, profile it, and leave a complete, self-describing result
//! in `results/<timestamp>-<label>/`.

use crate::config::ParamFlags;
use crate::config::{CallGraph, Config, Scale, Workload};
use crate::reports::flamegraph;
use crate::reports::markdown;
use crate::reports::stdout::{out, outln};
use crate::results::record::{LoadRecord, RunRecord, ScaleRecord};
use crate::results::Store;
use crate::runs::cpu_profile;
use crate::runs::criterion;
use crate::runs::git::{git_info, GitInfo};
use crate::runs::measure;
use crate::runs::memory_profile;
use crate::runs::service;
use crate::runs::service_runs;
use crate::runs::service_setup::ServerPlan;
use crate::runs::workload::{self, Prepared};
use crate::tasks::invocation::Invocation;
use crate::tasks::profile_flow::{self, ProfileFlow};
use crate::tasks::publish::publish;
use crate::tools::Toolbox;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Name of this result: results/<timestamp>-<LABEL>/ [default: baseline, or the scenario's name].
    #[arg(long, value_parser = crate::config::parse_label)]
    pub label: Option<String>,
    /// The workload to run [default: defaults.workload in profiling.toml].
    #[arg(long)]
    pub workload: Option<String>,
    /// Measured runs [default: defaults.runs].
    #[arg(long, value_parser = crate::config::bounds::runs)]
    pub runs: Option<u32>,
    /// Unmeasured runs before them [default: defaults.warmup].
    #[arg(long, value_parser = crate::config::bounds::warmup)]
    pub warmup: Option<u32>,
    /// A scale declared in profiling.toml, or `all` for every one.
    #[arg(long, value_name = "NAME|all")]
    pub scale: Option<String>,
    /// Skip the CPU profile (timings only).
    #[arg(long)]
    pub no_profile: bool,
    /// Also measure memory (heap profiler per defaults.memory_tool) [default: defaults.memory].
    #[arg(long)]
    pub memory: bool,
    /// Sampling frequency in Hz, 1 to the kernel's perf_event_max_sample_rate [default: defaults.frequency].
    #[arg(long, value_parser = crate::config::parse_frequency)]
    pub freq: Option<u32>,
    /// Call-graph mode [default: defaults.call_graph].
    #[arg(long, value_enum)]
    pub call_graph: Option<CallGraph>,
    /// Also record where threads block and for how long (Linux perf's
    /// sched:sched_switch, in the CPU profile's run; for a server, while the
    /// load runs): offcpu.folded and offcpu-flamegraph.svg, widths in ms blocked.
    #[arg(long, conflicts_with = "no_profile")]
    pub off_cpu: bool,
    /// Do not count the timed runs with perf stat [default: counting unless defaults.counters = false].
    #[arg(long)]
    pub no_counters: bool,
    /// Stop each run after SECONDS (its `stop_signal`, then SIGTERM, then
    /// SIGKILL) and count it as a success: for programs that run until
    /// stopped [default: the workload's run_for].
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::parse_run_for)]
    pub run_for: Option<f64>,
    /// A server workload's load scenario (`[workloads.NAME.scenarios.SCENARIO]`),
    /// or `all` for one result per scenario [default: its `load`].
    #[arg(long, value_name = "SCENARIO|all")]
    pub scenario: Option<String>,
    /// CPU-profile this running process instead of running the workload
    /// (no timed runs), for --run-for seconds or until Ctrl-C; it is left running.
    #[arg(long, value_name = "PID", conflicts_with_all = ["workload", "scale", "scenario", "memory", "no_profile", "runs", "warmup", "no_counters"])]
    pub pid: Option<i32>,
    /// No inline frames in the CPU profile: only the functions that hold the
    /// code, as `perf report --no-inline` [default: defaults.inline_frames].
    #[arg(long)]
    pub no_inline: bool,
    /// Keep the raw perf.data in the result, for `perf report -i` and
    /// `perf annotate -i` later (about 15 MB a second of run) [default: defaults.keep_perf_data].
    #[arg(long)]
    pub keep_perf_data: bool,
    /// A server: keep profiling it for SECONDS after the profiled load ends,
    /// before it is stopped, to see what it does then (flushing, background
    /// work) [default: the workload's drain, else 0].
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::bounds::drain)]
    pub drain: Option<f64>,
    #[command(flatten)]
    pub program: crate::tasks::invocation::Program,
}

/// One scale to run: its name and parameter values.
struct Planned {
    name: String,
    values: BTreeMap<String, String>,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    record(config, args, params).map(|_| 0)
}

/// Runs a baseline (one per scenario with `--scenario all`) and returns the
/// last result directory (for pre-release).
fn record(config: &Config, args: &Args, params: &ParamFlags) -> anyhow::Result<PathBuf> {
    if let Some(pid) = args.pid {
        if let Some(flag) = params.keys().next() {
            anyhow::bail!(
                "--pid samples a process that is already running: a parameter of the workload (--{flag}) does not apply to it"
            );
        }
        return record_attached(config, args, pid);
    }
    let (workload_name, workload) = config.workload(args.workload.as_deref())?;
    if workload.is_service() && args.run_for.is_some() {
        anyhow::bail!("--run-for applies to programs that run until stopped; the server `{workload_name}` runs for the length of its load");
    }
    if !workload.is_service() && args.drain.is_some() {
        anyhow::bail!("--drain profiles a server after its load; `{workload_name}` is not a server workload (use --run-for for a program that runs until stopped)");
    }
    if args.drain.is_some() && args.no_profile {
        anyhow::bail!("--drain extends the CPU profile of the server past its load, and --no-profile takes no profile: drop one of them");
    }
    let loads = workload
        .runs(workload_name, args.scenario.as_deref())
        .map_err(anyhow::Error::msg)?;
    let several = loads.len() > 1;
    let mut last = None;
    for load in loads {
        let scenario = load.as_ref().and_then(|(s, _)| s.clone());
        let label = crate::config::scenario_label(
            args.label.as_deref(),
            scenario.as_deref(),
            several,
            "baseline",
        );
        if several {
            eprintln!("== scenario {} ==", scenario.as_deref().unwrap_or_default());
        }
        last = Some(record_one(config, args, params, &label, load)?);
    }
    last.ok_or_else(|| anyhow::anyhow!("no scenario to run"))
}

/// One result: the workload, or the server under one load scenario.
fn record_one(
    config: &Config,
    args: &Args,
    params: &ParamFlags,
    label: &str,
    load: Option<(Option<String>, &Workload)>,
) -> anyhow::Result<PathBuf> {
    crate::config::validate_label(label)?;
    let (workload_name, workload) = config.workload(args.workload.as_deref())?;
    let scenario = load.as_ref().and_then(|(s, _)| s.clone());
    let load = load.map(|(_, w)| w);
    let plan = plan_scales(config, args.scale.as_deref(), params)?;
    let tools = Toolbox::detect();
    if args.off_cpu {
        cpu_profile::check_off_cpu(&tools)?;
    }
    let store = Store::new(config.results_dir());
    let git = git_info(&config.root);
    let plan_options = scale_options(config, args, &tools)?;
    let run_for = args.run_for.map(std::time::Duration::from_secs_f64);
    // Build before anything is written: a build failure leaves no trace.
    let first = prepare_all(
        config,
        workload_name,
        workload,
        load,
        &plan[0].values,
        (run_for, args.drain),
    )?;
    let pending = store.begin(label)?;
    let mut notes = Vec::new();
    let mut scales = Vec::new();
    let several = plan.len() > 1;
    for (i, planned) in plan.iter().enumerate() {
        let prepared = if i == 0 {
            first.clone()
        } else {
            match prepare_all(
                config,
                workload_name,
                workload,
                load,
                &planned.values,
                (run_for, args.drain),
            ) {
                Ok(prepared) => prepared,
                Err(error) => return Err(pending.fail(error)),
            }
        };
        let dir = if several {
            let dir = pending.path(&planned.name);
            std::fs::create_dir_all(&dir)?;
            dir
        } else {
            pending.dir.clone()
        };
        if several {
            eprintln!("== scale {} ==", planned.name);
        }
        let context = ScaleContext {
            config,
            args,
            tools: &tools,
            git: &git,
            workload_name,
            workload,
            options: &plan_options,
        };
        let scale = match measure_scale(&context, planned, &prepared, &dir, &mut notes) {
            Ok(mut scale) => {
                scale.scenario = scenario.clone();
                scale
            }
            Err(error) => return Err(pending.fail(error)),
        };
        scales.push(scale);
    }
    let record = RunRecord {
        command_line: config.command_line_of(workload_name),
        ..RunRecord::new(
            "profile-baseline",
            label,
            workload_name,
            &config.defaults.build_profile,
            git,
            scales,
        )
    };
    let dir = publish(pending, &record, &tools, &notes)?;
    print_summary(&record, &dir, &notes);
    Ok(dir)
}

/// How every scale of a result is measured, from the flags and the config.
fn scale_options(config: &Config, args: &Args, tools: &Toolbox) -> anyhow::Result<ScaleOptions> {
    let memory = match args.memory || config.defaults.memory {
        true => Some(memory_profile::choose(config.defaults.memory_tool, tools)?),
        false => None,
    };
    Ok(ScaleOptions {
        runs: args.runs.unwrap_or(config.defaults.runs),
        warmup: args.warmup.unwrap_or(config.defaults.warmup),
        profile: !args.no_profile,
        memory,
        counters: config.defaults.counters && !args.no_counters,
        heap_growth: config.thresholds.heap_growth,
    })
}

/// What the scales of one result share.
struct ScaleContext<'a> {
    config: &'a Config,
    args: &'a Args,
    tools: &'a Toolbox,
    git: &'a GitInfo,
    workload_name: &'a str,
    workload: &'a Workload,
    options: &'a ScaleOptions,
}

/// One scale of a result, measured into `dir`, its flamegraphs titled by
/// the workload and the scale's parameters.
fn measure_scale(
    context: &ScaleContext,
    planned: &Planned,
    prepared: &PreparedWorkload,
    dir: &Path,
    notes: &mut Vec<String>,
) -> anyhow::Result<ScaleRecord> {
    let ScaleContext {
        config,
        args,
        tools,
        git,
        workload_name,
        workload,
        options: plan_options,
    } = *context;
    let options = sampling_options(config, args, tools)?;
    let params = workload.used_params(&planned.values);
    let title = format!("{workload_name} {}", markdown::format_params(&params));
    let subtitle = format!("{} · {}", git.commit_label(), planned.name);
    let flow = ProfileFlow {
        tools,
        options: &options,
        dir,
    };
    let mut scale = run_scale(prepared, &flow, (&title, &subtitle), plan_options, notes)?;
    if let Some(profiler) = plan_options.memory.filter(|_| scale.memory.is_some()) {
        flamegraph::write_memory_svg(dir, &title, profiler.name())?;
    }
    scale.scale = planned.name.clone();
    scale.params = params;
    Ok(scale)
}

fn plan_scales(
    config: &Config,
    scale: Option<&str>,
    params: &ParamFlags,
) -> anyhow::Result<Vec<Planned>> {
    let chosen: Vec<Option<&Scale>> = match scale {
        None => vec![None],
        Some("all") if config.scales.is_empty() => {
            anyhow::bail!("{} declares no [[scales]]", config.path.display())
        }
        Some("all") => config.scales.iter().map(Some).collect(),
        Some(name) => vec![Some(config.scale(name)?)],
    };
    Ok(chosen
        .into_iter()
        .map(|scale| Planned {
            name: scale.map_or_else(|| "default".to_string(), |s| s.name.clone()),
            values: config.param_values(scale, params),
        })
        .collect())
}

/// The workload, and for a server its load scenario, ready to run.
#[derive(Clone)]
struct PreparedWorkload {
    main: Prepared,
    service: Option<(Prepared, ServerPlan)>,
}

fn prepare_all(
    config: &Config,
    name: &str,
    workload: &Workload,
    load: Option<&Workload>,
    values: &BTreeMap<String, String>,
    (run_for, drain): (Option<std::time::Duration>, Option<f64>),
) -> anyhow::Result<PreparedWorkload> {
    let mut main = workload::prepare(config, name, workload, values)?;
    if run_for.is_some() {
        main.run_for = run_for;
    }
    for warning in &main.warnings {
        eprintln!("{warning}");
    }
    let service = match load {
        Some(load) => Some((
            workload::prepare(config, &format!("{name}.load"), load, values)?,
            ServerPlan::prepare(config, name, workload, values, drain)?,
        )),
        None => None,
    };
    Ok(PreparedWorkload { main, service })
}

/// How each scale is measured.
struct ScaleOptions {
    runs: u32,
    warmup: u32,
    profile: bool,
    memory: Option<memory_profile::Profiler>,
    /// Count the timed runs with perf stat.
    counters: bool,
    /// `[thresholds] heap_growth`, for a server's heap before and after.
    heap_growth: f64,
}

/// One scale: the timed runs, then the CPU profile (titled `titles`) and
/// the memory profile as asked.
fn run_scale(
    prepared: &PreparedWorkload,
    flow: &ProfileFlow,
    titles: (&str, &str),
    scale: &ScaleOptions,
    notes: &mut Vec<String>,
) -> anyhow::Result<ScaleRecord> {
    let tools = flow.tools;
    let sampler_ready = tools.cpu_sampler().is_some();
    if scale.profile && !sampler_ready {
        notes.push(tools.sampler_missing_note());
    }
    let profile = scale.profile && sampler_ready;
    let (runs, warmup) = (scale.runs, scale.warmup);
    if let Some((load, plan)) = &prepared.service {
        let server = &prepared.main;
        let mut record = run_service_scale(
            server,
            load,
            plan,
            flow,
            titles,
            (runs, warmup),
            profile,
            notes,
        )?;
        if let Some(profiler) = scale.memory {
            // After the timed runs and the CPU profile: the server, started
            // afresh under the heap profiler, is loaded once more.
            let measured =
                memory_profile::profile_service(server, load, plan, tools, profiler, flow.dir, 10)?;
            record.memory = Some(crate::results::record::MemoryRecord::of_server(
                &measured,
                load,
                scale.heap_growth,
            ));
        }
        return Ok(record);
    }
    let main = &prepared.main;
    let counted = Prepared {
        counters: measure::counting(&tools.perf, scale.counters),
        ..main.clone()
    };
    let mut samples = measure::timed_runs(&counted, warmup, runs)?;
    // A criterion bench: each run was an analysed invocation, and each
    // benchmark a measure with one estimate per invocation.
    let criterion = criterion::take_runs(&mut samples, main.bench.as_ref());
    let mut summaries = measure::summarize(&samples, main);
    summaries.extend(criterion::measures(&samples));
    notes.extend(measure::counter_notes(&samples));
    notes.extend(measure::metric_warnings(&samples));
    notes.extend(measure::noise_warnings(&summaries));
    let cpu = match profile {
        true => Some(flow.program(main, titles.0, titles.1)?),
        false => None,
    };
    let memory = match scale.memory {
        Some(profiler) => Some(memory_profile::profile(
            main, tools, profiler, flow.dir, 10,
        )?),
        None => None,
    };
    Ok(ScaleRecord {
        cpu_profile: cpu.map(Into::into),
        memory: memory.as_ref().map(Into::into),
        criterion,
        ..ScaleRecord::timed(main, BTreeMap::new(), warmup, samples, summaries)
    })
}

/// A server: timed runs are runs of the load scenario against it; the CPU
/// profile samples the server only while one more load runs.
#[allow(clippy::too_many_arguments)]
fn run_service_scale(
    server: &Prepared,
    load: &Prepared,
    plan: &ServerPlan,
    flow: &ProfileFlow,
    (title, subtitle): (&str, &str),
    (runs, warmup): (u32, u32),
    profile: bool,
    notes: &mut Vec<String>,
) -> anyhow::Result<ScaleRecord> {
    let (samples, cpu) = service::under_load(server, plan, |running| {
        let samples = service_runs::timed_loads(running.pid, load, warmup, runs)?;
        let cpu = match profile {
            true => {
                Some(flow.server_under_load((running.pid, plan.drain), load, title, subtitle)?)
            }
            false => None,
        };
        Ok((samples, cpu))
    })?;
    let summaries = service_runs::summarize(&samples, load);
    notes.extend(service_runs::notes(&samples, load));
    notes.extend(measure::metric_warnings(&samples));
    // The load's record: the profiled load's, else the last measured one's.
    let (cpu_profile, shown) = match cpu {
        Some((cpu, sample)) => (Some(cpu), Some(sample)),
        None => (None, samples.last().cloned()),
    };
    let drain_s = cpu_profile.as_ref().and_then(|_| plan.drain_s());
    let load_record = shown.map(|sample| LoadRecord {
        argv: load.argv(),
        wall_s: sample.wall_s,
        exit_code: sample.exit_code,
        metrics: sample.metrics,
        drain_s,
    });
    Ok(ScaleRecord {
        cpu_profile: cpu_profile.map(Into::into),
        load: load_record,
        ..ScaleRecord::timed(server, BTreeMap::new(), warmup, samples, summaries)
    })
}

/// `--pid`: the CPU profile of a running process, as a baseline result
/// without timed runs.
/// The sampling options of this run: the config's, with the command line's.
fn sampling_options(
    config: &Config,
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

fn record_attached(config: &Config, args: &Args, pid: i32) -> anyhow::Result<PathBuf> {
    let label = args.label.clone().unwrap_or_else(|| "baseline".into());
    crate::config::validate_label(&label)?;
    if config.defaults.memory {
        eprintln!(
            "note: --pid records a CPU profile only: `defaults.memory = true` does not apply"
        );
    }
    let tools = Toolbox::detect();
    if tools.cpu_sampler().is_none() || tools.platform != crate::tools::Platform::Linux {
        anyhow::bail!("--pid needs perf (Linux): {}", tools.missing_cpu_sampler());
    }
    let options = sampling_options(config, args, &tools)?;
    let run_for = args.run_for.map(std::time::Duration::from_secs_f64);
    let (dir, record) = profile_flow::running_process_result(
        "profile-baseline",
        &label,
        config,
        (&tools, &options),
        (pid, run_for),
        true,
    )?;
    outln!("PID {pid} is still running");
    print_summary(&record, &dir, &[]);
    Ok(dir)
}

fn print_summary(record: &RunRecord, dir: &Path, notes: &[String]) {
    for scale in &record.scales {
        if record.scales.len() > 1 {
            outln!("\nscale {}:", scale.scale);
        }
        out!("{}", markdown::summary_table(&scale.summaries));
    }
    for note in notes {
        outln!("note: {note}");
    }
    for scale in &record.scales {
        if let Some(profile) = &scale.cpu_profile {
            for note in &profile.notes {
                outln!("note: {note}");
            }
            outln!("samples: {}", markdown::samples_line(profile));
            if let Some(off_cpu) = &profile.off_cpu {
                outln!("off-CPU: {}", markdown::off_cpu_line(off_cpu));
            }
        }
    }
    outln!("\nresult: {}", dir.display());
    if record.scales.iter().any(|s| s.cpu_profile.is_some()) {
        let prefix = record.scales[0].dir_prefix(record.scales.len() > 1);
        outln!(
            "flamegraph: {}",
            dir.join(format!("{prefix}flamegraph.svg")).display()
        );
    }
    if let Some(scale) = record
        .scales
        .iter()
        .find(|s| s.cpu_profile.as_ref().is_some_and(|p| p.off_cpu.is_some()))
    {
        let prefix = scale.dir_prefix(record.scales.len() > 1);
        outln!(
            "off-CPU flamegraph: {}",
            dir.join(format!("{prefix}{}", cpu_profile::offcpu::SVG))
                .display()
        );
    }
}
