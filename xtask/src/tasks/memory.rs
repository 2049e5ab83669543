//! `cargo xtask memory`: the heap profile of the workload (heaptrack,
//! massif or Instruments, chosen at runtime) and, with `--leak-check`,
//! valgrind memcheck's leak verdict. Writes a result like profile-baseline.

use crate::config::MemoryTool;
use crate::reports::{flamegraph, markdown};
use crate::results::record::{LeakCheck, RunRecord, ScaleRecord};
use crate::results::system_info::SystemInfo;
use crate::results::Store;
use crate::runs::git::git_info;
use crate::runs::{memory_profile, workload};
use crate::tasks::invocation::Invocation;
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
    #[arg(long, default_value_t = 10)]
    pub top: usize,
    /// The workload [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// Name of the result directory.
    #[arg(long, default_value = "memory")]
    pub label: String,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    crate::config::validate_label(&args.label)?;
    let (name, workload) = config.workload(args.workload.as_deref())?;
    if workload.is_service() {
        anyhow::bail!("`{name}` is a server workload; the memory task profiles programs that exit by themselves");
    }
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
    let prepared = workload::prepare(config, name, workload, &values)?;
    for warning in &prepared.warnings {
        eprintln!("{warning}");
    }
    let shown = workload.used_params(&values);
    let title = format!("{name} {}", markdown::format_params(&shown));
    let pending = Store::new(config.results_dir()).begin(&args.label)?;

    let measured = (|| -> anyhow::Result<_> {
        let memory = match profiler {
            Some(profiler) => {
                let report =
                    memory_profile::profile(&prepared, &tools, profiler, &pending.dir, args.top)?;
                flamegraph::write_memory_svg(&pending.dir, &title, profiler.name())?;
                Some(crate::results::record::MemoryRecord::from(&report))
            }
            None => None,
        };
        let leak_check = if args.leak_check {
            let report = memory_profile::leak_check(&prepared, &tools, &pending.dir, args.top)?;
            pending.write_leak_check(&report)?;
            Some(LeakCheck::from_report(
                &report,
                config.thresholds.leaked_bytes,
            ))
        } else {
            None
        };
        Ok((memory, leak_check))
    })();
    let (memory, leak_check) = match measured {
        Ok(done) => done,
        Err(error) => return Err(pending.fail(error)),
    };
    let scale = ScaleRecord {
        memory: memory.clone(),
        leak_check: leak_check.clone(),
        ..ScaleRecord::single_run(&prepared, shown)
    };
    let git = git_info(&config.root);
    let record = RunRecord::new(
        "memory",
        &args.label,
        name,
        &config.defaults.build_profile,
        git.into(),
        vec![scale],
    );
    let system = SystemInfo::collect(&tools);
    let readme = markdown::result_readme(&pending, &record, &system, &[]);
    let dir = pending.finish(&record, &system, &readme)?;
    if let Some(memory) = &memory {
        print!("{}", markdown::memory_table(memory));
        for note in &memory.notes {
            println!("note: {note}");
        }
    }
    let mut code = 0;
    if let Some(leaks) = &leak_check {
        print!("\n{}", crate::reports::markdown::leak_table(leaks));
        if !leaks.passed {
            eprintln!(
                "error: {} bytes definitely lost, more than the threshold of {} (thresholds.leaked_bytes)",
                leaks.definitely_lost_bytes, leaks.threshold_bytes
            );
            code = crate::tasks::exit::LEAKS;
        }
    }
    println!("\nresult: {}", dir.display());
    if dir.join(memory_profile::SVG).is_file() {
        println!(
            "memory flamegraph: {}",
            dir.join(memory_profile::SVG).display()
        );
    }
    Ok(code)
}
