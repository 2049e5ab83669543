//! bench-self's memory part: the memory task's heap profile with heaptrack,
//! from the recording to the published result, against what a user runs by
//! hand: `heaptrack PROGRAM ARGS`, then `heaptrack_print FILE`. Rounds are
//! interleaved (ours first, then by hand first), each timed by the wall
//! clock and by the CPU time it cost: for ours the xtask's own and all its
//! children's, by hand heaptrack's and heaptrack_print's (`wait4`); the
//! figures are medians of per-round ratios.
//!
//! Not counted on either side: the xtask's start-up, the build and tool
//! detection the memory task does first, and a shell's.

use super::{median, ratio, Args};
use crate::config::{Config, Workload};
use crate::reports::{flamegraph, markdown};
use crate::results::record::{MemoryRecord, RunRecord, ScaleRecord};
use crate::results::Store;
use crate::runs::memory_profile::{self, Profiler};
use crate::runs::process::{self, Spec};
use crate::runs::workload::{self, Prepared};
use crate::runs::{git, own_cpu};
use crate::tasks::publish::publish;
use crate::tools::{heaptrack, Toolbox};
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// `--memory-param NAME=VALUE`.
pub(super) fn parse_param(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.is_empty() => Ok((name.to_string(), value.to_string())),
        _ => Err(format!(
            "`{text}` is not NAME=VALUE (a parameter of profiling.toml and its value, as subs=20000)"
        )),
    }
}

/// What the memory part runs, decided before anything runs.
pub(super) enum Plan {
    /// Not measured, and why (the report's cell).
    Skip(String),
    Run(Box<Ready>),
}

/// The memory part's workload and tools.
pub(super) struct Ready {
    name: String,
    prepared: Prepared,
    /// The parameters its command line uses, for the result's record.
    shown: BTreeMap<String, String>,
    heaptrack: PathBuf,
    heaptrack_print: PathBuf,
}

/// The memory part of `name`: its parameters checked, its workload
/// prepared, or why it is skipped.
pub(super) fn plan(
    config: &Config,
    (name, workload): (&str, &Workload),
    args: &Args,
    tools: &Toolbox,
) -> anyhow::Result<Plan> {
    let overrides = checked_params(config, &args.memory_param)?;
    if args.no_memory {
        return Ok(Plan::Skip("skipped (--no-memory)".into()));
    }
    let (heaptrack, heaptrack_print) = match (tools.heaptrack.path(), tools.heaptrack_print.path())
    {
        (Ok(heaptrack), Ok(print)) => (heaptrack.to_path_buf(), print.to_path_buf()),
        (Err(e), _) | (_, Err(e)) => {
            eprintln!("note: the memory part is skipped: {e:#}");
            return Ok(Plan::Skip(
                "skipped: heaptrack and heaptrack_print are not both installed".into(),
            ));
        }
    };
    if workload.is_service() {
        eprintln!("note: the memory part is skipped: `{name}` is a server workload");
        return Ok(Plan::Skip("skipped: a server workload".into()));
    }
    let values = config.param_values(None, &overrides);
    let prepared = workload::prepare(config, name, workload, &values)?;
    Ok(Plan::Run(Box::new(Ready {
        name: name.to_string(),
        shown: workload.used_params(&values),
        prepared,
        heaptrack,
        heaptrack_print,
    })))
}

/// `--memory-param`s, each a declared parameter with a value of its kind.
fn checked_params(
    config: &Config,
    params: &[(String, String)],
) -> anyhow::Result<BTreeMap<String, String>> {
    for (name, value) in params {
        let Some(param) = config.params.get(name) else {
            let declared: Vec<&str> = config.params.keys().map(String::as_str).collect();
            bail!(
                "--memory-param {name}={value}: profiling.toml declares no parameter `{name}` \
                 (declared: {})",
                if declared.is_empty() {
                    "none".to_string()
                } else {
                    declared.join(", ")
                }
            );
        };
        if !param.default.accepts(value) {
            bail!(
                "--memory-param {name}={value}: `{name}` takes a value of kind {} (its default is {})",
                param.default.kind(),
                param.default
            );
        }
    }
    Ok(params.iter().cloned().collect())
}

/// The memory part's outcome: its rounds, or why there were none.
pub(super) enum Part {
    Skipped(String),
    Measured { argv: Vec<String>, rounds: Rounds },
}

/// The wall and CPU times, in seconds, of each round's two ways.
#[derive(Default)]
pub(super) struct Rounds {
    ours_wall: Vec<f64>,
    ours_cpu: Vec<f64>,
    hand_wall: Vec<f64>,
    hand_cpu: Vec<f64>,
}

/// The memory part's interleaved rounds, in `scratch`.
pub(super) fn measure(
    config: &Config,
    args: &Args,
    tools: &Toolbox,
    plan: Plan,
    scratch: &Path,
) -> anyhow::Result<Part> {
    let ready = match plan {
        Plan::Skip(why) => return Ok(Part::Skipped(why)),
        Plan::Run(ready) => ready,
    };
    let argv = ready.prepared.argv();
    eprintln!(
        "memory: {} interleaved rounds of `{} memory`'s heap profile vs heaptrack + \
         heaptrack_print by hand, of {}",
        args.rounds,
        crate::config::command_name(),
        argv.join(" ")
    );
    let mut rounds = Rounds::default();
    for round in 0..args.rounds {
        let dir = scratch.join(format!("memory-{round}"));
        let (ours_dir, hand_dir) = (dir.join("ours"), dir.join("by-hand"));
        std::fs::create_dir_all(&hand_dir)?;
        // Which goes first turns every round, as in the flamegraph part.
        if round % 2 == 0 {
            rounds.push_ours(memory_task(config, tools, &ready, &ours_dir)?);
            rounds.push_hand(by_hand(&ready, &hand_dir)?);
        } else {
            rounds.push_hand(by_hand(&ready, &hand_dir)?);
            rounds.push_ours(memory_task(config, tools, &ready, &ours_dir)?);
        }
        eprintln!("  memory round {}: {}", round + 1, rounds.last_text());
        let _ = std::fs::remove_dir_all(&dir);
    }
    Ok(Part::Measured { argv, rounds })
}

impl Rounds {
    fn push_ours(&mut self, (wall, cpu): (f64, f64)) {
        self.ours_wall.push(wall);
        self.ours_cpu.push(cpu);
    }

    fn push_hand(&mut self, (wall, cpu): (f64, f64)) {
        self.hand_wall.push(wall);
        self.hand_cpu.push(cpu);
    }

    /// The last round's times and ratios.
    fn last_text(&self) -> String {
        let last = |values: &[f64]| values.last().copied().unwrap_or(f64::NAN);
        let (ours_wall, ours_cpu) = (last(&self.ours_wall), last(&self.ours_cpu));
        let (hand_wall, hand_cpu) = (last(&self.hand_wall), last(&self.hand_cpu));
        format!(
            "memory task {ours_wall:.3} s ({ours_cpu:.3} s CPU), heaptrack + heaptrack_print \
             by hand {hand_wall:.3} s ({hand_cpu:.3} s CPU); ratio {:.3}× wall, {:.3}× CPU",
            ours_wall / hand_wall,
            ours_cpu / hand_cpu
        )
    }
}

/// One memory task's work on `ready`, from the heap profile to the
/// published result, as the memory task does it for a program once its
/// tool is chosen and its workload built; its wall and CPU times.
fn memory_task(
    config: &Config,
    tools: &Toolbox,
    ready: &Ready,
    dir: &Path,
) -> anyhow::Result<(f64, f64)> {
    let store = Store::new(dir);
    let title = format!("{} {}", ready.name, markdown::format_params(&ready.shown));
    let (wall, cpu) = own_cpu::measure(&ready.prepared.program, || {
        let started = Instant::now();
        let pending = store.begin("memory")?;
        let profiler = Profiler::Heaptrack;
        let report = memory_profile::profile(&ready.prepared, tools, profiler, &pending.dir, 10)?;
        flamegraph::write_memory_svg(&pending.dir, &title, profiler.name())?;
        let memory = MemoryRecord::from(&report);
        let scale = ScaleRecord {
            memory: Some(memory.clone()),
            ..ScaleRecord::single_run(&ready.prepared, ready.shown.clone())
        };
        let record = RunRecord {
            command_line: config.command_line_of(&ready.name),
            ..RunRecord::new(
                "memory",
                "memory",
                &ready.name,
                &config.defaults.build_profile,
                git::git_info(&config.root),
                vec![scale],
            )
        };
        publish(pending, &record, tools, &[])?;
        // What the task prints, made as it makes it.
        std::hint::black_box(markdown::memory_table(&memory));
        Ok(started.elapsed().as_secs_f64())
    })?;
    Ok((wall, cpu.total().as_secs_f64()))
}

/// `heaptrack PROGRAM ARGS`, then `heaptrack_print FILE` into a file, as a
/// user runs them (with `-o`, so that the data lands in `dir`); their wall
/// time and their CPU time.
fn by_hand(ready: &Ready, dir: &Path) -> anyhow::Result<(f64, f64)> {
    let prepared = &ready.prepared;
    let timeout = Some(prepared.timeout.saturating_mul(10));
    let base = dir.join("heaptrack");
    let args: Vec<String> = prepared
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut argv =
        heaptrack::record_command(&ready.heaptrack, &base, &prepared.program, &args).into_iter();
    let mut record = prepared.spec();
    record.program = argv.next().map(PathBuf::from).unwrap_or_default();
    record.args = argv.collect();
    record.timeout = timeout;
    record
        .watch
        .push("heaptrack output will be written to".into());

    let started = Instant::now();
    let recorded = succeeded(process::run(record)?, "heaptrack by hand")?;
    let data = heaptrack::output_from_log(&recorded.watched.join("\n"))
        .filter(|p| p.is_file())
        .or_else(|| heaptrack::find_output(&base))
        .with_context(|| format!("heaptrack wrote no data file next to {}", base.display()))?;
    let mut print = Spec::new(&ready.heaptrack_print).args([data]);
    print.stdout_raw = true;
    print.timeout = timeout;
    let mut printing = process::start(print)?;
    let mut text = std::fs::File::create(dir.join("heaptrack_print.txt"))?;
    if let Some(mut stdout) = printing.stdout.take() {
        std::io::copy(&mut stdout, &mut text).context("cannot save heaptrack_print's output")?;
    }
    let printed = succeeded(printing.wait(), "heaptrack_print by hand")?;
    let wall = started.elapsed().as_secs_f64();
    let cpu = recorded.user + recorded.sys + printed.user + printed.sys;
    Ok((wall, cpu.as_secs_f64()))
}

fn succeeded(outcome: process::Outcome, what: &str) -> anyhow::Result<process::Outcome> {
    if !outcome.success() {
        bail!(
            "{what} failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(outcome)
}

impl Part {
    /// The report's rows of the memory part.
    pub(super) fn rows(&self) -> String {
        const WHAT: &str = "memory task / heaptrack + heaptrack_print by hand";
        let (argv, rounds) = match self {
            Part::Skipped(why) => return format!("| {WHAT} | {why} |\n"),
            Part::Measured { argv, rounds } => (argv, rounds),
        };
        format!(
            "| workload, memory | {} |\n\
             | memory task (heap profile to published result), median of {} | {:.3} s, {:.3} s CPU |\n\
             | heaptrack + heaptrack_print by hand, median | {:.3} s, {:.3} s CPU |\n\
             | **{WHAT}** (median of per-round ratios) | **{:.2}× wall, {:.2}× CPU** |\n",
            crate::reports::markdown_text::code_cell(&argv.join(" ")),
            rounds.ours_wall.len(),
            median(&rounds.ours_wall),
            median(&rounds.ours_cpu),
            median(&rounds.hand_wall),
            median(&rounds.hand_cpu),
            ratio(&rounds.ours_wall, &rounds.hand_wall),
            ratio(&rounds.ours_cpu, &rounds.hand_cpu),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_memory_param_is_name_equals_value() {
        assert_eq!(
            parse_param("subs=20000"),
            Ok(("subs".to_string(), "20000".to_string()))
        );
        assert_eq!(
            parse_param("label=a=b"),
            Ok(("label".to_string(), "a=b".to_string()))
        );
        for bad in ["subs", "=3", ""] {
            let error = parse_param(bad).unwrap_err();
            assert!(error.contains("NAME=VALUE"), "{error}");
        }
    }

    #[test]
    fn memory_params_must_be_declared_and_of_their_kind() {
        let config = Config::parse(
            Path::new("profiling.toml"),
            "[params.subs]\ndefault = 5\n\n[workloads.w]\ncommand = \"true\"\n",
        )
        .unwrap();
        let ok = checked_params(&config, &[("subs".into(), "7".into())]).unwrap();
        assert_eq!(ok.get("subs").map(String::as_str), Some("7"));
        let unknown = checked_params(&config, &[("sub".into(), "7".into())]).unwrap_err();
        assert!(
            unknown
                .to_string()
                .contains("no parameter `sub` (declared: subs)"),
            "{unknown}"
        );
        let wrong = checked_params(&config, &[("subs".into(), "many".into())]).unwrap_err();
        assert!(wrong.to_string().contains("integer"), "{wrong}");
    }

    /// The per-round ratios, not the ratio of medians: a round's two ways
    /// share its machine.
    #[test]
    fn the_rows_hold_the_median_of_per_round_ratios() {
        let rounds = Rounds {
            ours_wall: vec![2.0, 4.0, 3.3],
            ours_cpu: vec![3.0, 6.0, 3.0],
            hand_wall: vec![1.0, 4.0, 3.0],
            hand_cpu: vec![2.0, 4.0, 3.0],
        };
        let rows = Part::Measured {
            argv: vec!["demo".into()],
            rounds,
        }
        .rows();
        // Wall ratios 2, 1, 1.1: median 1.1 (the medians' ratio would be 1.1 too,
        // but the CPU's: 1.5, 1.5, 1.0 gives 1.5, where medians give 1.0).
        assert!(rows.contains("**1.10× wall, 1.50× CPU**"), "{rows}");
        assert!(
            rows.contains("median of 3 | 3.300 s, 3.000 s CPU |"),
            "{rows}"
        );
        let skipped = Part::Skipped("skipped (--no-memory)".into()).rows();
        assert_eq!(
            skipped,
            "| memory task / heaptrack + heaptrack_print by hand | skipped (--no-memory) |\n"
        );
    }
}
