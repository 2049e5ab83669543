//! `cargo xtask profile-baseline`: build with symbols, run the workload
//! several times, profile it, and leave a complete, self-describing result
//! in `results/<timestamp>-<label>/`.

use crate::config::ParamFlags;
use crate::config::{CallGraph, Config, Scale, Workload};
use crate::reports::flamegraph;
use crate::reports::markdown;
use crate::results::record::{LoadRecord, RunRecord, ScaleRecord};
use crate::results::system_info::SystemInfo;
use crate::results::Store;
use crate::runs::cpu_profile;
use crate::runs::git::git_info;
use crate::runs::measure;
use crate::runs::memory_profile;
use crate::runs::service::{self, Readiness};
use crate::runs::workload::{self, Prepared};
use crate::tasks::invocation::Invocation;
use crate::tools::Toolbox;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// Name of this result: results/<timestamp>-<LABEL>/.
    #[arg(long, default_value = "baseline")]
    pub label: String,
    /// The workload to run [default: defaults.workload in profiling.toml].
    #[arg(long)]
    pub workload: Option<String>,
    /// Measured runs [default: defaults.runs].
    #[arg(long)]
    pub runs: Option<u32>,
    /// Unmeasured runs before them [default: defaults.warmup].
    #[arg(long)]
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
    /// No inline frames in the CPU profile: only the functions that hold the
    /// code, as `perf report --no-inline` [default: defaults.inline_frames].
    #[arg(long)]
    pub no_inline: bool,
    /// Keep the raw perf.data in the result, for `perf report -i` and
    /// `perf annotate -i` later (about 15 MB a second of run) [default: defaults.keep_perf_data].
    #[arg(long)]
    pub keep_perf_data: bool,
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

/// Runs a baseline and returns its result directory (for pre-release).
fn record(config: &Config, args: &Args, params: &ParamFlags) -> anyhow::Result<PathBuf> {
    crate::config::validate_label(&args.label)?;
    let (workload_name, workload) = config.workload(args.workload.as_deref())?;
    let plan = plan_scales(config, args.scale.as_deref(), params)?;
    let tools = Toolbox::detect();
    let store = Store::new(config.results_dir());
    let git = git_info(&config.root);
    let memory = if args.memory || config.defaults.memory {
        Some(memory_profile::choose(config.defaults.memory_tool, &tools)?)
    } else {
        None
    };
    let plan_options = ScaleOptions {
        runs: match args.runs {
            Some(0) => anyhow::bail!("--runs must be at least 1"),
            runs => runs.unwrap_or(config.defaults.runs),
        },
        warmup: args.warmup.unwrap_or(config.defaults.warmup),
        profile: !args.no_profile,
        memory,
    };

    // Build before anything is written: a build failure leaves no trace.
    let first = prepare_all(config, workload_name, workload, &plan[0].values)?;
    let pending = store.begin(&args.label)?;
    let mut notes = Vec::new();
    let mut scales = Vec::new();
    let several = plan.len() > 1;
    for (i, planned) in plan.iter().enumerate() {
        let prepared = if i == 0 {
            first.clone()
        } else {
            match prepare_all(config, workload_name, workload, &planned.values) {
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
        let mut options = cpu_profile::Options::new(config, args.freq, args.call_graph);
        options.inline_frames &= !args.no_inline;
        options.keep_perf_data |= args.keep_perf_data;
        let title = format!(
            "{} {}",
            workload_name,
            markdown::format_params(&workload.used_params(&planned.values))
        );
        let subtitle = format!("commit {} · {}", git.short(), planned.name);
        let measured = run_scale(&prepared, &tools, &options, &dir, &plan_options, &mut notes)
            .and_then(|mut scale| {
                if let Some(cpu) = scale.cpu_profile.as_mut() {
                    flamegraph::write_cpu_files(&dir, &title, &subtitle)?;
                    cpu_profile::settle_perf_data(
                        &options,
                        &dir,
                        &mut cpu.files,
                        &mut cpu.perf_data,
                    )?;
                }
                if let Some(profiler) = plan_options.memory.filter(|_| scale.memory.is_some()) {
                    flamegraph::write_memory_svg(&dir, &title, profiler.name())?;
                }
                Ok(scale)
            });
        let scale = match measured {
            Ok(mut scale) => {
                scale.scale = planned.name.clone();
                scale.params = workload.used_params(&planned.values);
                scale
            }
            Err(error) => return Err(pending.fail(error)),
        };
        scales.push(scale);
    }
    let record = RunRecord::new(
        "profile-baseline",
        &args.label,
        workload_name,
        &config.defaults.build_profile,
        git.into(),
        scales,
    );
    let system = SystemInfo::collect(&tools);
    let readme = markdown::result_readme(&pending, &record, &system, &notes);
    let dir = pending.finish(&record, &system, &readme)?;
    print_summary(&record, &dir, &notes);
    Ok(dir)
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
    service: Option<(Prepared, Readiness)>,
}

fn prepare_all(
    config: &Config,
    name: &str,
    workload: &Workload,
    values: &BTreeMap<String, String>,
) -> anyhow::Result<PreparedWorkload> {
    let main = workload::prepare(config, name, workload, values)?;
    for warning in &main.warnings {
        eprintln!("{warning}");
    }
    let service = match (&workload.load, &workload.ready) {
        (Some(load), Some(ready)) => Some((
            workload::prepare(config, &format!("{name}.load"), load.get_ref(), values)?,
            Readiness::from_config(ready, values)?,
        )),
        _ => None,
    };
    Ok(PreparedWorkload { main, service })
}

/// How each scale is measured.
struct ScaleOptions {
    runs: u32,
    warmup: u32,
    profile: bool,
    memory: Option<memory_profile::Profiler>,
}

fn run_scale(
    prepared: &PreparedWorkload,
    tools: &Toolbox,
    options: &cpu_profile::Options,
    dir: &Path,
    scale: &ScaleOptions,
    notes: &mut Vec<String>,
) -> anyhow::Result<ScaleRecord> {
    let sampler_ready = tools.cpu_sampler().is_some();
    if scale.profile && !sampler_ready {
        notes.push(tools.sampler_missing_note());
    }
    let profile = scale.profile && sampler_ready;
    let (runs, warmup) = (scale.runs, scale.warmup);
    if let Some((load, ready)) = &prepared.service {
        if scale.memory.is_some() {
            notes.push(
                "memory is not measured for server workloads (the server does not exit by itself)"
                    .into(),
            );
        }
        return run_service_scale(
            &prepared.main,
            load,
            ready,
            tools,
            options,
            dir,
            runs,
            warmup,
            profile,
            notes,
        );
    }
    let main = &prepared.main;
    let samples = measure::timed_runs(main, warmup, runs)?;
    let summaries = measure::summarize(&samples, main);
    notes.extend(measure::metric_warnings(&samples));
    notes.extend(measure::noise_warnings(&summaries));
    let cpu = if profile {
        Some(cpu_profile::profile(main, tools, options, dir)?)
    } else {
        None
    };
    let memory = match scale.memory {
        Some(profiler) => Some(memory_profile::profile(main, tools, profiler, dir, 10)?),
        None => None,
    };
    Ok(ScaleRecord {
        cpu_profile: cpu.map(Into::into),
        memory: memory.as_ref().map(Into::into),
        ..ScaleRecord::timed(main, BTreeMap::new(), warmup, samples, summaries)
    })
}

/// A server: timed runs are runs of the load scenario against it; the CPU
/// profile samples the server only while one more load runs.
#[allow(clippy::too_many_arguments)]
fn run_service_scale(
    server: &Prepared,
    load: &Prepared,
    ready: &Readiness,
    tools: &Toolbox,
    options: &cpu_profile::Options,
    dir: &Path,
    runs: u32,
    warmup: u32,
    profile: bool,
    notes: &mut Vec<String>,
) -> anyhow::Result<ScaleRecord> {
    let running = service::start_server(server, ready)?;
    let measured = (|| -> anyhow::Result<_> {
        let samples = measure::timed_runs(load, warmup, runs)?;
        let cpu = if profile {
            let perf = cpu_profile::attach(tools, options, dir, running.pid)?;
            let during = measure::run_once(load);
            let cpu = cpu_profile::finish_attached(perf, tools, dir)?;
            let (sample, _) = during?;
            Some((cpu, sample))
        } else {
            None
        };
        Ok((samples, cpu))
    })();
    // A server that died mid-load shows up as the load's own error (a reset
    // connection): name the server's end first, the load's as its result.
    let server_died = !running.is_running();
    let server_outcome = service::stop_server(running);
    let (samples, cpu) = match measured {
        Ok(measured) => measured,
        Err(load_error) if server_died => anyhow::bail!(
            "the server exited during the load: {}\n{}\n  the load then failed: {load_error:#}",
            server_outcome.describe(None),
            server_outcome.tail()
        ),
        Err(error) => return Err(error),
    };
    if server_outcome.timed_out {
        eprintln!("warning: the server ignored SIGINT and was killed");
    }
    let summaries = measure::summarize(&samples, load);
    notes.extend(measure::metric_warnings(&samples));
    let (cpu_profile, load_record) = match cpu {
        Some((cpu, sample)) => (
            Some(cpu),
            Some(LoadRecord {
                argv: load.argv(),
                wall_s: sample.wall_s,
                exit_code: sample.exit_code,
                metrics: sample.metrics,
            }),
        ),
        None => (None, None),
    };
    Ok(ScaleRecord {
        cpu_profile: cpu_profile.map(Into::into),
        load: load_record,
        ..ScaleRecord::timed(server, BTreeMap::new(), warmup, samples, summaries)
    })
}

fn print_summary(record: &RunRecord, dir: &Path, notes: &[String]) {
    for scale in &record.scales {
        if record.scales.len() > 1 {
            println!("\nscale {}:", scale.scale);
        }
        print!("{}", markdown::summary_table(&scale.summaries));
    }
    for note in notes {
        println!("note: {note}");
    }
    for scale in &record.scales {
        if let Some(profile) = &scale.cpu_profile {
            for note in &profile.notes {
                println!("note: {note}");
            }
            println!("samples: {}", markdown::samples_line(profile));
        }
    }
    println!("\nresult: {}", dir.display());
    if record.scales.iter().any(|s| s.cpu_profile.is_some()) {
        let prefix = record.scales[0].dir_prefix(record.scales.len() > 1);
        println!(
            "flamegraph: {}",
            dir.join(format!("{prefix}flamegraph.svg")).display()
        );
    }
}
