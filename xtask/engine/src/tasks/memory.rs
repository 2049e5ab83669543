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
    /// run until stopped [default: the workload's run_for]. With --pid: how
    /// long to record before detaching (the process is not stopped).
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::parse_run_for)]
    pub run_for: Option<f64>,
    /// Record the heap of this running process instead of starting the
    /// workload: heaptrack injected through gdb, until the process exits, for
    /// --run-for seconds, or until Ctrl-C, then detached; the process is left
    /// running. heaptrack only (massif and Instruments cannot attach). It sees
    /// only what is allocated after it attached (the peak is the peak since);
    /// it cannot attach to a statically linked or non-glibc program (Go, musl);
    /// another user's process needs root (and see
    /// /proc/sys/kernel/yama/ptrace_scope); gdb must be able to call into the
    /// process (gdb 14 or later on CPUs with AMX), which is tried first on a
    /// throwaway process of our own; once per process (heaptrack's library
    /// stays in it: restart it to record again).
    #[arg(long, value_name = "PID", conflicts_with_all = ["workload", "scenario", "leak_check", "no_profile", "drain"])]
    pub pid: Option<i32>,
    /// A server workload's load scenario (`[workloads.NAME.scenarios.SCENARIO]`),
    /// or `all` for one result per scenario [default: its `load`].
    #[arg(long, value_name = "SCENARIO|all")]
    pub scenario: Option<String>,
    /// A server: keep recording its heap for SECONDS after the load ends,
    /// before it is stopped (the heap "after the load" is then after the
    /// drain) [default: the workload's drain, else 0].
    #[arg(long, value_name = "SECONDS", value_parser = crate::config::bounds::drain)]
    pub drain: Option<f64>,
    #[command(flatten)]
    pub program: crate::tasks::invocation::Program,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    if let Some(pid) = args.pid {
        if let Some(flag) = invocation.params.keys().next() {
            anyhow::bail!(
                "--pid records a process that is already running: a parameter of the workload (--{flag}) does not apply to it"
            );
        }
        return attach_to_pid(config, args, pid);
    }
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
    let record = RunRecord {
        command_line: config.command_line_of(name),
        ..RunRecord::new(
            "memory",
            label,
            name,
            &config.defaults.build_profile,
            git,
            vec![scale],
        )
    };
    let dir = publish(pending, &record, &tools, &[])?;
    Ok(print_result(&dir, memory.as_ref(), leak_check.as_ref()))
}

/// `--pid`: the heap profile of a process that is already running, by
/// heaptrack attached to it.
fn attach_to_pid(config: &crate::config::Config, args: &Args, pid: i32) -> anyhow::Result<u8> {
    let label = args.label.clone().unwrap_or_else(|| "memory".into());
    crate::config::validate_label(&label)?;
    match args.tool.unwrap_or(config.defaults.memory_tool) {
        MemoryTool::Massif => anyhow::bail!(
            "--pid attaches heaptrack to a running process; massif cannot attach (valgrind runs a program from its start): use --tool heaptrack, or profile the program as a workload"
        ),
        MemoryTool::Instruments => anyhow::bail!(
            "--pid attaches heaptrack (Linux) to a running process; Instruments' Allocations cannot attach here: use --tool heaptrack"
        ),
        MemoryTool::Heaptrack | MemoryTool::Auto => {}
    }
    let tools = Toolbox::detect();
    if tools.platform != crate::tools::Platform::Linux {
        anyhow::bail!("--pid needs heaptrack and gdb (Linux)");
    }
    memory_profile::choose(MemoryTool::Heaptrack, &tools)?;
    let plan = memory_profile::plan_attach(&tools, pid)?;
    let run_for = args.run_for.map(std::time::Duration::from_secs_f64);
    let git = git_info(&config.root);
    let pending = Store::new(config.results_dir()).begin(&label)?;
    let measured = memory_profile::profile_pid(plan, &tools, &pending.dir, run_for, args.top)
        .and_then(|(report, process)| {
            let title = format!("PID {pid}: {}", process.command_line.join(" "));
            flamegraph::write_memory_svg(&pending.dir, &title, "heaptrack")?;
            Ok((MemoryRecord::from(&report), process))
        });
    let (memory, process) = match measured {
        Ok(done) => done,
        Err(error) => return Err(pending.fail(error)),
    };
    let left_running = process.ended_by != memory_profile::PROCESS_EXITED;
    let workload = process.workload_name();
    let scale = ScaleRecord {
        memory: Some(memory.clone()),
        ..ScaleRecord::attached(process)
    };
    let record = RunRecord::new(
        "memory",
        &label,
        &workload,
        &config.defaults.build_profile,
        git,
        vec![scale],
    );
    let dir = publish(pending, &record, &tools, &[])?;
    let code = print_result(&dir, Some(&memory), None);
    match left_running {
        true => outln!("PID {pid} is still running"),
        false => outln!("PID {pid} exited during the recording"),
    }
    Ok(code)
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
