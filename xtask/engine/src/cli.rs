//! The command line: static task flags (clap derive) plus one `--NAME VALUE`
//! flag per parameter declared in profiling.toml, added to every task at
//! runtime. That is why `cargo xtask memory --subs 50000` works: `subs` is
//! declared in the config, not hard-coded here. A parameter may therefore not
//! take the name of a task flag: the names come from the clap definition
//! (`flag_names`), and the config is checked against them right after loading.

use crate::config::{Config, ConfigError, ParamFlags};
use crate::tasks;
use anyhow::Context;
use clap::{Arg, ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "Profiling tasks for this project, driven by profiling.toml",
    long_about = "Profiling tasks for this project, driven by profiling.toml.\n\n\
        Every parameter declared in profiling.toml ([params.NAME]) is a --NAME VALUE flag of \
        every task. Results go to results/<timestamp>-<label>/.",
    version
)]
pub struct Cli {
    /// Print every external command exactly as run.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// The config file [default: profiling.toml at the workspace root].
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub task: Task,
}

#[derive(Subcommand)]
pub enum Task {
    /// Detect the profiling tools of this machine and say what each task can do.
    Doctor(tasks::doctor::Args),
    /// Build with symbols, time the workload, profile CPU (and memory), save a result.
    ProfileBaseline(tasks::baseline::Args),
    /// Just the CPU flamegraph of the workload.
    Flamegraph(tasks::flamegraph::Args),
    /// Annotate one more function of a result's CPU profile (source, assembly, each instruction's share of the samples) into its annotate/.
    Annotate(tasks::annotate::Args),
    /// Heap profile (heaptrack, massif, Instruments) and, with --leak-check, memcheck's leak verdict.
    Memory(tasks::memory::Args),
    /// Benchmark the xtask itself: flamegraph overhead (against perf record alone, CPU per 1,000 samples), the memory task against heaptrack by hand, folding throughput.
    BenchSelf(tasks::bench_self::Args),
    /// How often each way of comparing gets the verdict right here: A/A and A/B with real runs.
    BenchVerdicts(tasks::bench_verdicts::Args),
    /// Give a result a stable name (kept by cleanup, usable wherever a result is named).
    Pin(tasks::pin::Args),
    /// Remove a pin (the result stays).
    Unpin(tasks::unpin::Args),
    /// Every result: time, label, workload, headline numbers, pins, complete or not.
    List(tasks::list::Args),
    /// Each measure across results in time order, and where it shifted; --export-csv, --plot.
    Trends(tasks::trends::Args),
    /// Remove old results, interrupted runs and failed runs (never pinned or foreign ones).
    Cleanup(tasks::cleanup::Args),
    /// Share results between machines through a git remote's refs/profiling/history: push, pull.
    History(tasks::history::Args),
    /// A result as Bencher JSON (bmf), pprof, speedscope, CSV or Markdown.
    Export(tasks::export::Args),
    /// Open a result's interactive viewer (flame graph, functions, sandwich; works offline).
    View(tasks::view::Args),
    /// Write results/index.html: every result, comparisons and trend charts on one page.
    Report(tasks::report::Args),
    /// Compare two results, or measure two sides (revisions, workloads, parameter values): faster or slower, by how much, and where.
    ProfileCompare(tasks::compare::Args),
    /// Write a starter profiling.toml from `cargo metadata`: a workload per binary, example and bench; --ci github: a pull-request workflow.
    Init(tasks::init::Args),
    /// Set up a thin xtask in another Rust project (a workspace of its own, the alias, a starter config); their Cargo.lock is left alone.
    Adopt(tasks::adopt::Args),
    /// The checks a release needs: fmt, clippy, tests, a fresh baseline, the regression gate.
    PreRelease(tasks::pre_release::Args),
}

const PARAM_ID_PREFIX: &str = "param:";
/// Tasks that take no parameter flags.
const WITHOUT_PARAMETERS: &[&str] = &["init", "adopt", "annotate", "history"];
const PARAM_HEADING: &str = "Parameters (declared in profiling.toml)";

/// `args[0]` is the command's name as the user typed it (`cargo xtask`,
/// `cargo profile`, or `cargo xtask profile` when another xtask mounts these
/// tasks).
pub fn run(bin_name: &str, args: Vec<String>) -> anyhow::Result<u8> {
    crate::config::set_command_name(bin_name);
    // What follows `--` is a program's command line: never read as ours.
    let ours = args.iter().position(|a| a == "--").unwrap_or(args.len());
    let explicit = explicit_config(&args[..ours]);
    // The config decides which flags exist, so it is read before parsing.
    let config_path = Config::locate(explicit.as_deref());
    let config = match explicit {
        // No profiling.toml where one is looked for: the defaults, for the
        // tasks that read results and for a program given after `--`.
        None if !config_path.exists() => Ok(Config::without_file(&config_path)),
        _ => load_config(&config_path),
    };

    let command = with_param_flags(
        Cli::command()
            .name(bin_name.to_string())
            .bin_name(bin_name.to_string())
            .after_help(format!(
                "Start with `{bin_name} doctor`, then `{bin_name} profile-baseline`; without a \
                 profiling.toml, give the program: `{bin_name} flamegraph -- ./prog args`."
            )),
        config.as_ref().ok(),
        config.as_ref().err(),
    );
    let matches = parse(command, &args, ours);
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    crate::runs::process::set_verbose(cli.verbose);
    let (task_name, sub) = matches.subcommand().expect("clap requires a task");
    let params = param_flags(sub);
    let config = match cli.task.program() {
        // `init` writes the program into a new profiling.toml instead.
        Some(line) if ours < args.len() && !matches!(cli.task, Task::Init(_)) => {
            if let Some(error) = adhoc_conflict(sub, &params) {
                usage_error(task_name, error);
            }
            let config = config.map_err(anyhow::Error::new)?;
            let cwd = std::env::current_dir().context("cannot read the current directory")?;
            let config = frame_pointers_for_go(config.with_program(line, &cwd)?);
            if ["flamegraph", "memory"].contains(&task_name) && !given(sub, "run_for") {
                eprintln!(
                    "note: the profile is kept when {} exits; for a program that runs until \
                     stopped (a server), pass --run-for SECONDS: Ctrl-C discards the profile",
                    line[0]
                );
            }
            Ok(config)
        }
        _ => config,
    };

    let invocation = tasks::invocation::Invocation::new(config_path, config, params);
    match cli.task {
        Task::Doctor(args) => tasks::doctor::run(&invocation, &args),
        Task::ProfileBaseline(args) => tasks::baseline::run(&invocation, &args),
        Task::Flamegraph(args) => tasks::flamegraph::run(&invocation, &args),
        Task::Annotate(args) => tasks::annotate::run(&invocation, &args),
        Task::Memory(args) => tasks::memory::run(&invocation, &args),
        Task::BenchSelf(args) => tasks::bench_self::run(&invocation, &args),
        Task::BenchVerdicts(args) => tasks::bench_verdicts::run(&invocation, &args),
        Task::Pin(args) => tasks::pin::run(&invocation, &args),
        Task::Unpin(args) => tasks::unpin::run(&invocation, &args),
        Task::List(args) => tasks::list::run(&invocation, &args),
        Task::Trends(args) => tasks::trends::run(&invocation, &args),
        Task::Cleanup(args) => tasks::cleanup::run(&invocation, &args),
        Task::History(args) => tasks::history::run(&invocation, &args),
        Task::Export(args) => tasks::export::run(&invocation, &args),
        Task::View(args) => tasks::view::run(&invocation, &args),
        Task::Report(args) => tasks::report::run(&invocation, &args),
        Task::ProfileCompare(args) => tasks::compare::run(&invocation, &args),
        Task::PreRelease(args) => tasks::pre_release::run(&invocation, &args),
        Task::Init(args) => tasks::init::run(&invocation, &args),
        Task::Adopt(args) => tasks::adopt::run(&invocation, &args),
    }
}

impl Task {
    /// The program given after `--`, for the tasks that take one.
    fn program(&self) -> Option<&[String]> {
        let program = match self {
            Task::ProfileBaseline(args) => &args.program,
            Task::Flamegraph(args) => &args.program,
            Task::Memory(args) => &args.program,
            Task::BenchSelf(args) => &args.program,
            Task::Init(args) => &args.program,
            _ => return None,
        };
        Some(&program.command_line)
    }
}

/// Parses the command line; ends the process on `--help`, `--version` and
/// usage errors, as clap does. Arguments after `--` (at `ours`) go to the
/// tasks that take a program, and are refused by the others with what to do
/// instead, before clap would call the program an unexpected argument.
fn parse(mut command: clap::Command, args: &[String], ours: usize) -> ArgMatches {
    let matches = command.clone().get_matches_from(&args[..ours]);
    if ours == args.len() {
        return matches;
    }
    let (task, _) = matches.subcommand().expect("clap requires a task");
    command.build();
    let takes_program = |name: &str| {
        command
            .find_subcommand(name)
            .is_some_and(|sub| sub.get_arguments().any(Arg::is_last_set))
    };
    if !takes_program(task) {
        let bin = crate::config::command_name();
        let message = match task {
            "profile-compare" => format!(
                "profile-compare compares two results or two sides, not one program: profile \
                 it twice (`{bin} profile-baseline --label before -- ./prog args`, then \
                 `--label after`), then `{bin} profile-compare before after`"
            ),
            "bench-verdicts" => format!(
                "bench-verdicts makes one side do more work through a parameter of \
                 profiling.toml, and a program after `--` has none: declare it as a workload \
                 (`{bin} init -- ./prog args`) with a parameter in its `args`"
            ),
            _ => {
                let takers: Vec<&str> = command
                    .get_subcommands()
                    .map(clap::Command::get_name)
                    .filter(|name| takes_program(name))
                    .collect();
                format!(
                    "`{bin} {task}` runs no program given after `--`; the tasks that do: {}",
                    takers.join(", ")
                )
            }
        };
        usage_error(task, message);
    }
    command.get_matches_from(args)
}

/// A flag that cannot go with a program after `--`, and why.
fn adhoc_conflict(sub: &ArgMatches, params: &ParamFlags) -> Option<String> {
    let given = |id: &str| given(sub, id);
    let conflicts = [
        ("workload", "--workload names a workload of profiling.toml, and the program after `--` is the workload: give one of them"),
        ("pid", "--pid samples a process that is already running, and the program after `--` is one to start: give one of them"),
        ("scale", "--scale sets the parameters of profiling.toml's workloads; the program after `--` takes its arguments as given: change them there"),
        ("scenario", "--scenario chooses the load of a server workload of profiling.toml; the program after `--` has none"),
    ];
    if let Some((_, why)) = conflicts.iter().find(|(id, _)| given(id)) {
        return Some(why.to_string());
    }
    params.keys().next().map(|flag| {
        format!(
            "--{flag} is a parameter of profiling.toml's workloads; the program after `--` takes its arguments as given: change them there"
        )
    })
}

/// Whether the flag `id` of a task was given on the command line.
fn given(sub: &ArgMatches, id: &str) -> bool {
    sub.ids().any(|i| i.as_str() == id)
        && sub.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
}

/// Ends the process with a usage error of `task`, as clap reports its own.
fn usage_error(task: &str, message: String) -> ! {
    let mut command = Cli::command()
        .name(crate::config::command_name().to_string())
        .bin_name(crate::config::command_name().to_string());
    command.build();
    match command.find_subcommand_mut(task) {
        Some(sub) => sub
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit(),
        None => command
            .error(clap::error::ErrorKind::ArgumentConflict, message)
            .exit(),
    }
}

/// A Go program given after `--` with no profiling.toml is sampled with
/// frame pointers: perf's DWARF unwinding does not follow Go's stacks, and
/// Go keeps frame pointers. A call graph set in a profiling.toml or with
/// `--call-graph` stays as set.
fn frame_pointers_for_go(mut config: Config) -> Config {
    let program = config.adhoc.as_ref().and_then(|adhoc| {
        let workload = config.workloads.get(&adhoc.workload)?;
        crate::config::program_path(workload.command.as_ref()?.get_ref(), &config.root)
    });
    let default = crate::config::CallGraph::Dwarf;
    if !config.path.exists()
        && config.defaults.call_graph == default
        && program.is_some_and(|p| crate::tools::executable::is_go_program(&p))
    {
        config.defaults.call_graph = crate::config::CallGraph::Fp;
        eprintln!(
            "note: a Go program: sampled with frame pointers (call graph `fp`), which Go keeps \
             and perf's DWARF unwinding does not follow"
        );
    }
    config
}

/// Loads the config, then checks that no parameter is named like a task flag
/// (the config layer knows only the global flags; the tasks' are defined here).
fn load_config(path: &Path) -> Result<Config, ConfigError> {
    let config = Config::load(path)?;
    config.check_param_flags(&flag_names(Cli::command()))?;
    Ok(config)
}

/// Every long flag name (and alias) of the command line and of its tasks,
/// the global ones and clap's `--help` included.
fn flag_names(mut command: clap::Command) -> BTreeSet<String> {
    fn collect(command: &clap::Command, names: &mut BTreeSet<String>) {
        for arg in command.get_arguments() {
            names.extend(arg.get_long().map(String::from));
            names.extend(
                arg.get_all_aliases()
                    .into_iter()
                    .flatten()
                    .map(String::from),
            );
        }
        for sub in command.get_subcommands() {
            collect(sub, names);
        }
    }
    // Building adds the generated `--help` and copies the global flags into
    // every task, as parsing would.
    command.build();
    let mut names = BTreeSet::new();
    collect(&command, &mut names);
    names
}

/// `--config FILE` or `--config=FILE`, read before clap runs.
fn explicit_config(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    None
}

/// Adds the declared parameters as flags to every task.
fn with_param_flags(
    mut command: clap::Command,
    config: Option<&Config>,
    error: Option<&ConfigError>,
) -> clap::Command {
    if let Some(error) = error {
        command = command.after_help(format!(
            "warning: the parameter flags are missing because the config did not load:\n{error}"
        ));
    }
    let Some(config) = config else {
        return command;
    };
    // `init` and `adopt` run no workload: a parameter flag there would be
    // accepted and mean nothing.
    let names: Vec<String> = command
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .filter(|name| !WITHOUT_PARAMETERS.contains(&name.as_str()))
        .collect();
    for name in names {
        command = command.mut_subcommand(name, |mut sub| {
            for (param_name, param) in &config.params {
                let kind = param.default.clone();
                let value_name = param.default.kind().to_uppercase();
                let help = if param.help.is_empty() {
                    format!("[default: {}]", param.default)
                } else {
                    format!("{} [default: {}]", param.help, param.default)
                };
                let checked_name = param_name.clone();
                sub = sub.arg(
                    Arg::new(format!("{PARAM_ID_PREFIX}{param_name}"))
                        .long(param_name.clone())
                        .value_name(value_name)
                        .help(help)
                        .help_heading(PARAM_HEADING)
                        .value_parser(move |text: &str| {
                            if kind.accepts(text) {
                                Ok(text.to_string())
                            } else {
                                let kind = kind.kind();
                                let article = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) {
                                    "an"
                                } else {
                                    "a"
                                };
                                Err(format!(
                                    "--{checked_name} takes {article} {kind}, not `{text}`"
                                ))
                            }
                        }),
                );
            }
            sub
        });
    }
    command
}

fn param_flags(matches: &ArgMatches) -> ParamFlags {
    matches
        .ids()
        .filter_map(|id| {
            let name = id.as_str().strip_prefix(PARAM_ID_PREFIX)?;
            let value = matches.get_one::<String>(id.as_str())?;
            Some((name.to_string(), value.clone()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> Config {
        Config::load(&crate::config::project_root().join("profiling.toml")).unwrap()
    }

    #[test]
    fn declared_parameters_become_flags_of_every_task() {
        let config = config();
        let command = with_param_flags(Cli::command(), Some(&config), None);
        for sub in command.get_subcommands() {
            let longs: Vec<_> = sub.get_arguments().filter_map(|a| a.get_long()).collect();
            let expected = !WITHOUT_PARAMETERS.contains(&sub.get_name());
            for name in config.params.keys() {
                assert_eq!(
                    longs.contains(&name.as_str()),
                    expected,
                    "{} and --{name}",
                    sub.get_name()
                );
            }
        }
        let matches = command
            .try_get_matches_from(["cargo xtask", "flamegraph", "--subs", "1234"])
            .unwrap();
        let (_, sub) = matches.subcommand().unwrap();
        assert_eq!(
            param_flags(sub),
            ParamFlags::from([("subs".into(), "1234".into())])
        );
    }

    #[test]
    fn parameter_values_are_checked_against_their_kind() {
        let command = with_param_flags(Cli::command(), Some(&config()), None);
        let err = command
            .try_get_matches_from(["cargo xtask", "flamegraph", "--subs", "many"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("--subs takes an integer, not `many`"), "{err}");
    }

    /// A parameter named like a task flag would make clap panic at startup:
    /// loading rejects it, pointing at the parameter's name.
    #[test]
    fn a_parameter_named_like_a_task_flag_is_rejected_on_loading() {
        let dir = std::env::temp_dir().join(format!("xtask-cli-flags-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("profiling.toml");
        let workload = "[workloads.demo]\ncommand = \"true\"\n";
        for name in ["runs", "label", "call-graph", "skip-lint", "verbose"] {
            std::fs::write(&path, format!("[params.{name}]\ndefault = 3\n\n{workload}")).unwrap();
            let err = load_config(&path).unwrap_err();
            assert!(
                err.message
                    .contains(&format!("clash with the task flag `--{name}`")),
                "{err}"
            );
            assert_eq!(
                err.to_string(),
                format!(
                    "{}:1:9: parameter `{name}` would clash with the task flag `--{name}`\n  help: rename the parameter",
                    path.display()
                )
            );
        }
        std::fs::write(&path, format!("[params.subs]\ndefault = 3\n\n{workload}")).unwrap();
        assert!(load_config(&path).is_ok());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn flag_names_include_the_generated_and_global_flags() {
        let names = flag_names(Cli::command());
        for flag in [
            "help",
            "verbose",
            "config",
            "runs",
            "label",
            "skip-tests",
            "rounds",
        ] {
            assert!(names.contains(flag), "--{flag} missing from {names:?}");
        }
        assert!(!names.contains("subs"), "parameters are not task flags");
    }

    /// The form `-- PROGRAM [ARGS]...` is for the tasks that run one
    /// program (or write it, `init`); the others refuse it.
    #[test]
    fn only_the_tasks_that_run_one_program_take_one() {
        let mut command = Cli::command();
        command.build();
        let takers: Vec<&str> = command
            .get_subcommands()
            .filter(|sub| sub.get_arguments().any(Arg::is_last_set))
            .map(clap::Command::get_name)
            .collect();
        assert_eq!(
            takers,
            [
                "profile-baseline",
                "flamegraph",
                "memory",
                "bench-self",
                "init"
            ]
        );
        let matches = command
            .try_get_matches_from([
                "cargo profile",
                "memory",
                "--",
                "./prog",
                "--workload",
                "-v",
            ])
            .unwrap();
        let cli = Cli::from_arg_matches(&matches).unwrap();
        assert_eq!(
            cli.task.program(),
            Some(&["./prog".to_string(), "--workload".into(), "-v".into()][..])
        );
        assert!(!cli.verbose, "the program's flags are its own");
    }

    #[test]
    fn the_cli_definition_is_valid() {
        Cli::command().debug_assert();
    }

    #[test]
    fn config_flag_is_found_before_parsing() {
        let args = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            explicit_config(&args(&["x", "--config", "a.toml"])),
            Some("a.toml".into())
        );
        assert_eq!(
            explicit_config(&args(&["x", "doctor", "--config=b.toml"])),
            Some("b.toml".into())
        );
        assert_eq!(explicit_config(&args(&["x", "doctor"])), None);
    }
}
