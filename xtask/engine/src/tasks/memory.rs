//! `cargo xtask memory`: the heap profile of the workload (heaptrack,
//! massif or Instruments, chosen at runtime) and, with `--leak-check`,
//! valgrind memcheck's leak verdict. Writes a result like profile-baseline.

use crate::config::MemoryTool;
use crate::reports::stdout::{out, outln};
use crate::reports::{flamegraph, markdown};
use crate::results::record::{LeakCheck, LoadRecord, MemoryRecord, RunRecord, ScaleRecord};
use crate::results::Store;
use crate::runs::git::git_info;
use crate::runs::memory_profile;
use crate::runs::service_setup::ServerPlan;
use crate::runs::workload::{self, Prepared};
use crate::tasks::invocation::Invocation;
use crate::tasks::publish::publish;
use crate::tools::Toolbox;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The heap profiler [default: defaults.memory_tool]. `auto`: heaptrack, else massif (Linux); Instruments (macOS).
    #[arg(long, value_enum)]
    pub tool: Option<MemoryTool>,
    /// Also run valgrind memcheck and fail when more than `thresholds.leaked_bytes` are definitely lost.
    #[arg(long)]
    pub leak_check: bool,
    /// Only the leak check, no heap profile.
    #[arg(long, requires = "leak_check")]
    pub no_profile: bool,
    /// How many top sites to report per ranking.
    #[arg(long, default_value_t = 10, value_parser = crate::config::bounds::top)]
    pub top: usize,
    /// The workload [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// Name of the result directory [default: memory, or the scenario's name].
    #[arg(long, value_parser = crate::config::parse_label)]
    pub label: Option<String>,
    /// Profile for SECONDS, then stop the program (its `stop_signal`, then
    /// SIGTERM, then SIGKILL) so the tool writes its data: for programs that
    /// run until stopped [default: the workload's run_for].
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::parse_run_for)]
    pub run_for: Option<f64>,
    /// A server workload's load scenario (`[workloads.NAME.scenarios.SCENARIO]`),
    /// or `all` for one result per scenario [default: its `load`].
    #[arg(long, value_name = "SCENARIO|all")]
    pub scenario: Option<String>,
    /// A server: keep recording its heap for SECONDS after the load ends,
    /// before it is stopped (the heap "after the load" is then after the
    /// drain) [default: the workload's drain, else 0].
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::bounds::drain)]
    pub drain: Option<f64>,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let (name, workload) = config.workload(args.workload.as_deref())?;
    if workload.is_service() {
        if args.run_for.is_some() {
            anyhow::bail!("--run-for applies to programs that run until stopped; the server `{name}` is profiled for the length of its load");
        }
        if args.leak_check {
            anyhow::bail!("--leak-check runs programs that exit by themselves; `{name}` is a server workload (its memory profile under load needs no --leak-check)");
        }
    } else if args.drain.is_some() {
        anyhow::bail!("--drain profiles a server after its load; `{name}` is not a server workload (use --run-for for a program that runs until stopped)");
    }
    let loads = workload
        .runs(name, args.scenario.as_deref())
        .map_err(anyhow::Error::msg)?;
    let several = loads.len() > 1;
    let mut code = 0;
    for load in loads {
        let scenario = load.as_ref().and_then(|(s, _)| s.clone());
        let label = crate::config::scenario_label(
            args.label.as_deref(),
            scenario.as_deref(),
            several,
            "memory",
        );
        if several {
            eprintln!("== scenario {} ==", scenario.as_deref().unwrap_or_default());
        }
        code = code.max(run_one(invocation, args, &label, load)?);
    }
    Ok(code)
}

/// One memory result: of the workload, or of the server under one load.
fn run_one(
    invocation: &Invocation,
    args: &Args,
    label: &str,
    load: Option<(Option<String>, &crate::config::Workload)>,
) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    crate::config::validate_label(label)?;
    let (name, workload) = config.workload(args.workload.as_deref())?;
    let tools = Toolbox::detect();
    // Choose before building: a missing tool fails fast with its install command.
    let profiler = if args.no_profile {
        None
    } else {
        Some(memory_profile::choose(
            args.tool.unwrap_or(config.defaults.memory_tool),
            &tools,
        )?)
    };
    if args.leak_check {
        tools.valgrind.path()?;
    }
    let values = config.param_values(None, params);
    let mut prepared = workload::prepare(config, name, workload, &values)?;
    if let Some(seconds) = args.run_for {
        prepared.run_for = Some(std::time::Duration::from_secs_f64(seconds));
    }
    for warning in &prepared.warnings {
        eprintln!("{warning}");
    }
    let service = match &load {
        Some((_, load)) => Some((
            workload::prepare(config, &format!("{name}.load"), load, &values)?,
            ServerPlan::prepare(config, name, workload, &values, args.drain)?,
        )),
        None => None,
    };
    let scenario = load.and_then(|(s, _)| s);
    let shown = workload.used_params(&values);
    let title = format!("{name} {}", markdown::format_params(&shown));
    let pending = Store::new(config.results_dir()).begin(label)?;
    let profiling = Profiling {
        prepared: &prepared,
        service: service.as_ref(),
        tools: &tools,
        dir: &pending.dir,
        title: &title,
        heap_growth: config.thresholds.heap_growth,
    };
    let measured = measure(&profiling, profiler, args).and_then(|(memory, load_record)| {
        let leak_check = match args.leak_check {
            true => {
                let report = memory_profile::leak_check(&prepared, &tools, &pending.dir, args.top)?;
                pending.write_leak_check(&report)?;
                Some(LeakCheck::from_report(
                    &report,
                    config.thresholds.leaked_bytes,
                ))
            }
            false => None,
        };
        Ok((memory, leak_check, load_record))
    });
    let (memory, leak_check, load_record) = match measured {
        Ok(done) => done,
        Err(error) => return Err(pending.fail(error)),
    };
    let scale = ScaleRecord {
        memory: memory.clone(),
        leak_check: leak_check.clone(),
        load: load_record,
        scenario,
        ..ScaleRecord::single_run(&prepared, shown)
    };
    let git = git_info(&config.root);
    let record = RunRecord::new(
        "memory",
        label,
        name,
        &config.defaults.build_profile,
        git,
        vec![scale],
    );
    let dir = publish(pending, &record, &tools, &[])?;
    Ok(print_result(&dir, memory.as_ref(), leak_check.as_ref()))
}

/// What one memory profile runs, and where it writes.
struct Profiling<'a> {
    prepared: &'a Prepared,
    service: Option<&'a (Prepared, ServerPlan)>,
    tools: &'a Toolbox,
    dir: &'a std::path::Path,
    title: &'a str,
    /// `[thresholds] heap_growth`, kept with a server's heap before and after.
    heap_growth: f64,
}

/// The heap profile of the program, or of the server under its load (then
/// the load's run too), with its flamegraph.
fn measure(
    profiling: &Profiling,
    profiler: Option<memory_profile::Profiler>,
    args: &Args,
) -> anyhow::Result<(Option<MemoryRecord>, Option<LoadRecord>)> {
    let Profiling {
        prepared,
        service,
        tools,
        dir,
        title,
        ..
    } = *profiling;
    let Some(profiler) = profiler else {
        return Ok((None, None));
    };
    let (memory, load) = match service {
        Some((load, plan)) => {
            let measured = memory_profile::profile_service(
                prepared, load, plan, tools, profiler, dir, args.top,
            )?;
            let record = MemoryRecord::of_server(&measured, load, profiling.heap_growth);
            let load = LoadRecord {
                argv: load.argv(),
                wall_s: measured.load.wall_s,
                exit_code: measured.load.exit_code,
                metrics: measured.load.metrics,
                drain_s: plan.drain_s(),
            };
            (record, Some(load))
        }
        None => {
            let report = memory_profile::profile(prepared, tools, profiler, dir, args.top)?;
            (MemoryRecord::from(&report), None)
        }
    };
    flamegraph::write_memory_svg(dir, title, profiler.name())?;
    Ok((Some(memory), load))
}

/// The terminal's account of a written result; the exit code (leaks above
/// the threshold fail).
fn print_result(
    dir: &std::path::Path,
    memory: Option<&MemoryRecord>,
    leak_check: Option<&LeakCheck>,
) -> u8 {
    if let Some(memory) = memory {
        out!("{}", markdown::memory_table(memory));
        for note in &memory.notes {
            outln!("note: {note}");
        }
    }
    let mut code = 0;
    if let Some(leaks) = leak_check {
        out!("\n{}", crate::reports::markdown::leak_table(leaks));
        if !leaks.passed {
            eprintln!(
                "error: {} bytes definitely lost, more than the threshold of {} (thresholds.leaked_bytes)",
                leaks.definitely_lost_bytes, leaks.threshold_bytes
            );
            code = crate::tasks::exit::LEAKS;
        }
    }
    outln!("\nresult: {}", dir.display());
    if dir.join(memory_profile::SVG).is_file() {
        outln!(
            "memory flamegraph: {}",
            dir.join(memory_profile::SVG).display()
        );
    }
    code
}
