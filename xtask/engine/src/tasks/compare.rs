//! `cargo xtask profile-compare A B`: did a change make the workload faster
//! or slower, by how much, is that beyond noise, and where in the code?
//!
//! A and B are results (directory, name, label, `latest`, `previous`, or a
//! pin), or with `--side SPEC --side SPEC` two sides measured here — any
//! mix of a git revision (built in a temporary worktree), a workload and
//! parameter values — interleaved (A B A B ...) so that drift of a shared
//! machine hits both sides alike. `--rev A --rev B` is `--side rev=A
//! --side rev=B`. The verdicts, warnings,
//! gate and renderings are `reports::compare`; building and running the
//! sides is `runs::revisions`, counting instructions `runs::callgrind`.
//! This module handles the arguments, reads and writes the files, draws the
//! differential flamegraphs, prints the report and sets the exit status.

use crate::config::{BenchmarkRef, Config, ParamFlags, SideSpec};
use crate::reports::compare::{self as report, Counter, GateOutcome, JSON_FILE, MARKDOWN_FILE};
use crate::reports::markdown;
use crate::reports::markdown::format_params;
use crate::reports::stdout::{out, outln};
use crate::results::record::{GitInfo, Pairing, RunRecord, ScaleRecord, SCHEMA_VERSION};
use crate::results::system_info::SystemInfo;
use crate::results::{timestamp_iso, Entry, Pending, Store, TMP_PREFIX};
use crate::runs::git::{git_info, short_hash};
use crate::runs::measure;
use crate::runs::{callgrind, cpu_profile, criterion, revisions};
use crate::stats;
use crate::tasks::invocation::Invocation;
use crate::tasks::profile_flow::ProfileFlow;
use crate::tools::Toolbox;
use anyhow::bail;
use std::io::IsTerminal;
use std::time::SystemTime;

/// How the report is printed (the files are always written).
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// An aligned table, coloured on a terminal unless NO_COLOR is set.
    Terminal,
    /// A GitHub table to paste into a pull request.
    Markdown,
    /// compare.json (schema-versioned), for CI.
    Json,
}

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The baseline: a result directory, its name, a label, `latest`, `previous` or a pin
    /// [default: previous]; or RESULT#BENCH, one criterion benchmark of a result, to compare
    /// with B's (`latest#insert/raw/100 latest#insert/wrapper/100`: B's time over A's).
    #[arg(value_name = "A", conflicts_with_all = ["rev", "side"])]
    pub a: Option<String>,
    /// The new result, addressed like A [default: latest]; RESULT#BENCH when A is one.
    #[arg(value_name = "B", conflicts_with_all = ["rev", "side"])]
    pub b: Option<String>,
    /// Build and measure two git revisions instead, interleaved: `--rev A --rev B`
    /// (short for `--side rev=A --side rev=B`).
    #[arg(long, value_name = "REV", action = clap::ArgAction::Append, conflicts_with = "side")]
    pub rev: Vec<String>,
    /// Measure two sides, interleaved: `--side SPEC --side SPEC`, each a comma-separated
    /// list of `rev=REV`, `workload=NAME` and declared parameters `NAME=VALUE`
    /// (`--side subs=30000 --side subs=31500`, `--side workload=raw --side workload=wrapper`).
    #[arg(long, value_name = "SPEC", action = clap::ArgAction::Append)]
    pub side: Vec<String>,
    /// Output on stdout.
    #[arg(long, value_enum, default_value_t = Format::Terminal)]
    pub format: Format,
    /// Exit with status 3 when a measure regressed significantly beyond its [thresholds] limit.
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Also fail (exit status 6) when a gated measure is inconclusive: the runs could not tell a
    /// change of its threshold from noise. Without it the gate passes with a warning naming the
    /// measure and the smallest change it could see. Implies --fail-on-regression.
    #[arg(long)]
    pub fail_on_inconclusive: bool,
    /// What the gate decides on: timings (statistics over the runs), or exact
    /// instruction counts and estimated cycles under callgrind's cache simulation
    /// (~150x slower than a run, but repeatable on noisy machines).
    #[arg(long, value_enum, default_value_t = Counter::Time)]
    pub counter: Counter,
    /// Functions listed under "where it changed".
    #[arg(long, default_value_t = 10, value_parser = crate::config::bounds::top)]
    pub top: usize,
    /// With --rev/--side: the workload of a side that names none [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// With --rev/--side: measured runs per side [default: defaults.runs];
    /// 0 with --counter instructions counts alone.
    #[arg(long, value_parser = crate::config::bounds::side_runs)]
    pub runs: Option<u32>,
    /// With --rev/--side: unmeasured runs per side before them [default: defaults.warmup].
    #[arg(long, value_parser = crate::config::bounds::warmup)]
    pub warmup: Option<u32>,
    /// With --rev/--side: run A and B at the same time, each pinned to a core of its own,
    /// pair by pair, so that the machine's noise hits both (one-core workloads, 2+ cores).
    #[arg(long)]
    pub duet: bool,
    /// With --rev/--side: no CPU profiles (and so no "where it changed").
    #[arg(long)]
    pub no_profile: bool,
    /// With --rev/--side: profile N runs a side (interleaved, A then B) instead of one, so that
    /// the differential flamegraph colours only the functions whose share of the samples changed
    /// beyond the runs' own spread (a t-test per function). Each run costs one more run of the
    /// workload under perf a side; 5 is a good start [default: 1, a picture that cannot tell
    /// noise from change].
    #[arg(long, value_name = "N", value_parser = crate::config::bounds::profile_runs)]
    pub profile_runs: Option<u32>,
    /// With --rev/--side: do not count the timed runs with perf stat [default: counting unless defaults.counters = false].
    #[arg(long)]
    pub no_counters: bool,
    /// With --rev/--side: CPU profiles without inline frames [default: defaults.inline_frames].
    #[arg(long)]
    pub no_inline: bool,
    /// With --rev/--side: keep each side's raw perf.data [default: defaults.keep_perf_data].
    #[arg(long)]
    pub keep_perf_data: bool,
    /// With --rev/--side: add interleaved pairs of runs until wall time, CPU time, peak RSS and
    /// each metric is decided (regressed, improved or no_change), or the budget is spent. The
    /// verdicts then come from a sequential test whose false-alarm rate stays at 5 % however
    /// often it looks (the mixture SPRT; see docs/verdicts.md). --runs is the first batch.
    #[arg(long)]
    pub until_decided: bool,
    /// With --until-decided: at most this many pairs [default: 200].
    #[arg(long, value_name = "N", value_parser = crate::config::bounds::side_runs)]
    pub max_runs: Option<u32>,
    /// With --until-decided: add no pairs after this long (`90s`, `5m`, `1h`) [default: 10m].
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub max_time: Option<std::time::Duration>,
}

/// `90`, `90s`, `5m` or `1h`, for --max-time.
fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&text[..i], &text[i..]),
        None => (text, "s"),
    };
    let factor = match unit {
        "s" => 1.0,
        "m" | "min" => 60.0,
        "h" => 3600.0,
        _ => {
            return Err(format!(
                "`{text}`: give seconds, minutes or hours, as 90s, 5m or 1h"
            ))
        }
    };
    match number.trim().parse::<f64>() {
        Ok(n) if n > 0.0 && n * factor <= 7.0 * 86400.0 => {
            Ok(std::time::Duration::from_secs_f64(n * factor))
        }
        _ => Err(format!(
            "`{text}`: a positive duration up to a week, as 90s, 5m or 1h"
        )),
    }
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    let store = Store::new(config.results_dir());
    let (a, b) = if args.rev.is_empty() && args.side.is_empty() {
        if !params.is_empty() {
            eprintln!("note: parameter flags only apply to --rev and --side runs; comparing stored results as they are");
        }
        let measuring_flags = [
            ("--duet", args.duet),
            ("--until-decided", args.until_decided),
            ("--max-runs", args.max_runs.is_some()),
            ("--max-time", args.max_time.is_some()),
            ("--runs", args.runs.is_some()),
            ("--warmup", args.warmup.is_some()),
            ("--workload", args.workload.is_some()),
            ("--no-profile", args.no_profile),
            ("--profile-runs", args.profile_runs.is_some()),
            ("--no-inline", args.no_inline),
            ("--keep-perf-data", args.keep_perf_data),
        ];
        let given: Vec<&str> = measuring_flags
            .iter()
            .filter(|(_, on)| *on)
            .map(|(flag, _)| *flag)
            .collect();
        if !given.is_empty() {
            eprintln!(
                "error: {} measure(s) sides (--side or --rev); stored results are compared as they are",
                given.join(", ")
            );
            return Ok(crate::tasks::exit::USAGE);
        }
        let named = [&args.a, &args.b];
        if named
            .iter()
            .any(|x| x.as_deref().is_some_and(BenchmarkRef::is_benchmark))
        {
            return compare_benchmarks(config, args, &store);
        }
        let a = store.resolve(args.a.as_deref().unwrap_or("previous"))?;
        let b = store.resolve(args.b.as_deref().unwrap_or("latest"))?;
        (a, b)
    } else {
        let (flag, given) = if args.rev.is_empty() {
            ("--side", args.side.len())
        } else {
            ("--rev", args.rev.len())
        };
        if given != 2 {
            eprintln!("error: {flag} is given exactly twice, for A and for B (got {given})");
            return Ok(crate::tasks::exit::USAGE);
        }
        let specs: Vec<SideSpec> = if args.rev.is_empty() {
            args.side
                .iter()
                .map(|text| SideSpec::parse(text, config))
                .collect::<anyhow::Result<_>>()?
        } else {
            args.rev.iter().map(|rev| SideSpec::revision(rev)).collect()
        };
        measure_sides(config, args, params, &store, specs)?
    };
    let (report, dir) = report::compare_results(
        config,
        &store,
        &a,
        &b,
        args.counter,
        (args.top, args.fail_on_inconclusive),
    )?;
    let shown_dir = dir.display().to_string();
    let enforced = args.fail_on_regression || args.fail_on_inconclusive;
    match args.format {
        Format::Terminal => {
            out!(
                "{}",
                report::render_terminal(&report, Some(&shown_dir), use_colour(), enforced)
            );
            outln!("report: {}", dir.join(MARKDOWN_FILE).display());
        }
        Format::Markdown => {
            out!("{}", report::render_markdown(&report));
            eprintln!("report: {}", dir.join(MARKDOWN_FILE).display());
        }
        Format::Json => {
            outln!("{}", serde_json::to_string_pretty(&report)?);
            eprintln!("report: {}", dir.join(JSON_FILE).display());
        }
    }
    Ok(exit_code(report.gate_outcome(), enforced))
}

/// `RESULT#BENCH RESULT#BENCH`: B's benchmark time over A's, with its
/// interval, printed (no comparison directory, no gate).
fn compare_benchmarks(config: &Config, args: &Args, store: &Store) -> anyhow::Result<u8> {
    let (a, b) = (args.a.as_deref(), args.b.as_deref());
    let (Some(a), Some(b)) = (
        a.filter(|a| BenchmarkRef::is_benchmark(a)),
        b.filter(|b| BenchmarkRef::is_benchmark(b)),
    ) else {
        eprintln!(
            "error: a benchmark is compared with a benchmark: give two RESULT#BENCH, e.g. \
             `profile-compare latest#insert/raw/100 latest#insert/wrapper/100`"
        );
        return Ok(crate::tasks::exit::USAGE);
    };
    if args.fail_on_regression || args.counter == Counter::Instructions {
        eprintln!(
            "error: --fail-on-regression and --counter instructions are for two results; the ratio of \
             two benchmarks is measured, not gated"
        );
        return Ok(crate::tasks::exit::USAGE);
    }
    let (ref_a, ref_b) = (BenchmarkRef::parse(a)?, BenchmarkRef::parse(b)?);
    let (entry_a, entry_b) = (store.resolve(&ref_a.result)?, store.resolve(&ref_b.result)?);
    let same_result = match (entry_a.dir.canonicalize(), entry_b.dir.canonicalize()) {
        (Ok(x), Ok(y)) => x == y,
        _ => entry_a.dir == entry_b.dir,
    };
    let ratio = report::benchmark_ratio(
        (&entry_a.name, &entry_a.record, &ref_a.benchmark),
        (&entry_b.name, &entry_b.record, &ref_b.benchmark),
        same_result,
        report::Settings::new(&config.thresholds).alpha,
    )
    .map_err(anyhow::Error::msg)?;
    match args.format {
        Format::Terminal => out!("{}", ratio.render_text()),
        Format::Markdown => out!("{}", ratio.render_markdown()),
        Format::Json => outln!("{}", serde_json::to_string_pretty(&ratio)?),
    }
    Ok(0)
}

/// With the gate on: 3 (`exit::REGRESSION`) when it failed, 1 when it could
/// not decide (a gate that cannot fail must not pass); else 0.
pub fn exit_code(gate: GateOutcome, fail_on_regression: bool) -> u8 {
    match (fail_on_regression, gate) {
        (true, GateOutcome::Regressed) => crate::tasks::exit::REGRESSION,
        (true, GateOutcome::Undecided) => crate::tasks::exit::FAILURE,
        (true, GateOutcome::Inconclusive) => crate::tasks::exit::INCONCLUSIVE,
        _ => 0,
    }
}

/// Colour when stdout is a terminal and NO_COLOR is unset or empty (no-color.org).
fn use_colour() -> bool {
    std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// `--side A --side B` (or `--rev`): both sides built
/// (`runs::revisions`), run interleaved, profiled, and written as two results.
fn measure_sides(
    config: &Config,
    args: &Args,
    params: &ParamFlags,
    store: &Store,
    specs: Vec<SideSpec>,
) -> anyhow::Result<(Entry, Entry)> {
    let runs = args.runs.unwrap_or(config.defaults.runs);
    if runs == 0 && args.counter == Counter::Time {
        bail!("--runs 0 measures nothing; give at least 5 runs (or use --counter instructions)");
    }
    if args.duet && args.counter == Counter::Instructions {
        bail!("--duet times both sides at once; instruction counts need no such care: drop --duet");
    }
    if !args.until_decided && (args.max_runs.is_some() || args.max_time.is_some()) {
        bail!(
            "--max-runs and --max-time bound --until-decided: add --until-decided, or give --runs"
        );
    }
    if args.until_decided && (args.duet || args.counter == Counter::Instructions) {
        bail!("--until-decided adds interleaved pairs of timed runs: drop --duet and --counter instructions");
    }
    let warmup = args.warmup.unwrap_or(config.defaults.warmup);
    let requests = side_requests(config, args, params, specs)?;
    let mut built = revisions::build(config, requests, &store.dir, TMP_PREFIX)?;
    let tools = Toolbox::detect();
    let counting = measure::counting(&tools.perf, config.defaults.counters && !args.no_counters);
    for side in &mut built.sides {
        side.prepared.counters = counting.clone();
    }
    let sides = &built.sides;
    let labels = side_labels(sides);
    let working_tree = git_info(&config.root);
    let pairing = Pairing {
        id: format!(
            "{}-{}",
            crate::results::timestamp_for_dir(SystemTime::now()),
            std::process::id()
        ),
        order: if args.duet { "duet" } else { "interleaved" }.into(),
        sequential: args.until_decided,
    };

    let profile = !args.no_profile && tools.cpu_sampler().is_some();
    let mut notes = Vec::new();
    if !args.no_profile && !profile {
        notes.push(tools.sampler_missing_note());
    }
    let pendings: Vec<Pending> = labels
        .iter()
        .map(|label| store.begin(label))
        .collect::<anyhow::Result<_>>()?;
    let measuring = Measuring {
        config,
        args,
        tools: &tools,
        warmup,
        profile,
        pairing,
    };
    let scales = match measuring.measure(sides, runs, &pendings, &mut notes) {
        Ok(scales) => scales,
        Err(error) => {
            let mut pendings = pendings.into_iter();
            let first = pendings.next().expect("two pending results");
            let _ = pendings.next().map(|p| p.abandon(&format!("{error:#}")));
            return Err(first.fail(error));
        }
    };
    let system = SystemInfo::collect(&tools);
    let mut entries = Vec::new();
    for (((side, label), scale), pending) in sides.iter().zip(&labels).zip(scales).zip(pendings) {
        let record = side_record(config, side, label, scale, &working_tree);
        let readme = markdown::result_readme(&pending, &record, &system, &notes);
        let dir = pending.finish(&record, &system, &readme)?;
        entries.push(store.resolve(&dir.to_string_lossy())?);
    }
    for note in &notes {
        eprintln!("note: {note}");
    }
    let b = entries.pop().expect("two results");
    let a = entries.pop().expect("two results");
    eprintln!("results: {} and {}", a.dir.display(), b.dir.display());
    Ok((a, b))
}

/// What each side asks to be built and run with: its workload (or the
/// default one) and the parameter values, the side's over the flags'.
fn side_requests<'a>(
    config: &'a Config,
    args: &Args,
    params: &ParamFlags,
    specs: Vec<SideSpec>,
) -> anyhow::Result<Vec<revisions::SideRequest<'a>>> {
    let mut requests = Vec::new();
    for spec in specs {
        let (name, workload) =
            config.workload(spec.workload.as_deref().or(args.workload.as_deref()))?;
        let mut values = config.param_values(None, params);
        values.extend(spec.params.clone());
        requests.push(revisions::SideRequest {
            spec,
            name,
            workload,
            values,
        });
    }
    Ok(requests)
}

/// The sides' result labels, told apart by `-a` and `-b` when they are alike.
fn side_labels(sides: &[revisions::BuiltSide]) -> Vec<String> {
    let mut labels: Vec<String> = sides
        .iter()
        .map(|side| side.spec.label(side.short.as_deref()))
        .collect();
    if labels[0] == labels[1] {
        labels = labels
            .iter()
            .zip(["a", "b"])
            .map(|(label, side)| format!("{label}-{side}"))
            .collect();
    }
    labels
}

/// What both sides are measured with.
struct Measuring<'a> {
    config: &'a Config,
    args: &'a Args,
    tools: &'a Toolbox,
    warmup: u32,
    /// Whether CPU profiles are taken.
    profile: bool,
    pairing: Pairing,
}

impl Measuring<'_> {
    /// Both sides' runs, then each side's summaries, profile and instruction
    /// count, into its pending result's directory; their notes go to `notes`.
    fn measure(
        &self,
        sides: &[revisions::BuiltSide],
        runs: u32,
        pendings: &[Pending],
        notes: &mut Vec<String>,
    ) -> anyhow::Result<Vec<ScaleRecord>> {
        let (config, args, tools, warmup) = (self.config, self.args, self.tools, self.warmup);
        let samples = if args.duet {
            revisions::duet_runs(sides, warmup, runs)?
        } else if args.until_decided {
            self.until_decided(sides, runs, notes)?
        } else {
            revisions::interleaved_runs(sides, warmup, runs)?
        };
        let mut scales = Vec::new();
        for ((side, mut samples), pending) in sides.iter().zip(samples).zip(pendings) {
            let workload = &config.workloads[&side.name];
            // A criterion bench: each run was an analysed invocation, paired
            // with the other side's like any run.
            let criterion = criterion::take_runs(&mut samples, side.prepared.bench.as_ref());
            let mut summaries = measure::summarize(&samples, &side.prepared);
            summaries.extend(criterion::measures(&samples));
            for note in measure::counter_notes(&samples) {
                if !notes.contains(&note) {
                    notes.push(note);
                }
            }
            notes.extend(
                measure::metric_warnings(&samples)
                    .into_iter()
                    .chain(measure::noise_warnings(&summaries))
                    .map(|n| format!("{}: {n}", side.who())),
            );
            let shown = workload.used_params(&side.values);
            let cpu = if self.profile {
                Some(self.profile_side(side, pending, &shown)?)
            } else {
                None
            };
            if args.counter == Counter::Instructions {
                let counted = callgrind::count(tools, &side.prepared, &pending.dir)?;
                summaries.extend(callgrind::counted_summaries(&counted));
            }
            scales.push(ScaleRecord {
                cpu_profile: cpu.map(Into::into),
                pairing: Some(self.pairing.clone()),
                criterion,
                ..ScaleRecord::timed(&side.prepared, shown, warmup, samples, summaries)
            });
        }
        if self.profile {
            self.more_profiled_runs(sides, pendings)?;
        }
        Ok(scales)
    }

    /// Interleaved pairs, `first` of them and then more, until every
    /// deciding measure is decided or the budget (`--max-runs`,
    /// `--max-time`) is spent; how it ended goes to `notes`.
    fn until_decided(
        &self,
        sides: &[revisions::BuiltSide],
        first: u32,
        notes: &mut Vec<String>,
    ) -> anyhow::Result<Vec<Vec<measure::RunSample>>> {
        let max_pairs = self.args.max_runs.unwrap_or(200).max(1);
        let max_time = self
            .args
            .max_time
            .unwrap_or(std::time::Duration::from_secs(600));
        let started = std::time::Instant::now();
        let first = first
            .max(stats::sequential::FIRST_LOOK as u32)
            .min(max_pairs);
        let mut samples = revisions::interleaved_runs(sides, self.warmup, first)?;
        loop {
            let scale = |i: usize| {
                let prepared = &sides[i].prepared;
                let summaries = measure::summarize(&samples[i], prepared);
                ScaleRecord::timed(
                    prepared,
                    Default::default(),
                    0,
                    samples[i].clone(),
                    summaries,
                )
            };
            let alpha = stats::CompareOptions::default().alpha;
            let standings =
                report::sequential_standings(&scale(0), &scale(1), &self.config.thresholds, alpha);
            let pairs = samples[0].len() as u32;
            let elapsed = started.elapsed();
            if report::all_decided(&standings) {
                notes.push(format!(
                    "decided after {pairs} pairs ({:.0} s)",
                    elapsed.as_secs_f64()
                ));
                break;
            }
            if pairs >= max_pairs || elapsed >= max_time {
                let open: Vec<&str> = standings
                    .iter()
                    .filter(|(_, s)| s.verdict == stats::Verdict::Inconclusive)
                    .map(|(n, _)| n.as_str())
                    .collect();
                notes.push(format!(
                    "the budget was spent ({pairs} pairs, {:.0} s) before {} could be decided: they read inconclusive; \
                     raise --max-runs or --max-time, or quiet the machine",
                    elapsed.as_secs_f64(),
                    open.join(", ")
                ));
                break;
            }
            // Looks cost nothing in validity: grow the batches so the
            // progress bars stay few.
            let more = (pairs / 4).clamp(2, max_pairs - pairs);
            eprintln!("{pairs} pairs: not decided yet; {more} more");
            let next = revisions::interleaved_runs(sides, 0, more)?;
            for (all, new) in samples.iter_mut().zip(next) {
                all.extend(new);
            }
        }
        Ok(samples)
    }

    /// With `--profile-runs N`: N - 1 more profiled runs a side, A and B in
    /// turn so that the machine's drift hits both, each run's folded stacks
    /// kept in `cpu-runs/` beside the first profile's (`1.folded`).
    fn more_profiled_runs(
        &self,
        sides: &[revisions::BuiltSide],
        pendings: &[Pending],
    ) -> anyhow::Result<()> {
        use anyhow::Context as _;
        let n = self.args.profile_runs.unwrap_or(1);
        if n < 2 {
            return Ok(());
        }
        let mut options = cpu_profile::Options::new(self.config, None, None);
        options.inline_frames &= !self.args.no_inline;
        options.keep_perf_data = false;
        for pending in pendings {
            let runs = pending.dir.join(cpu_profile::RUNS_DIR);
            std::fs::create_dir_all(&runs)?;
            std::fs::copy(pending.dir.join(cpu_profile::FOLDED), runs.join("1.folded"))
                .context("cannot keep the first profiled run's folded stacks")?;
        }
        for run in 2..=n {
            eprintln!("profiled run {run} of {n} a side");
            for (side, pending) in sides.iter().zip(pendings) {
                let runs = pending.dir.join(cpu_profile::RUNS_DIR);
                let scratch = runs.join(format!(".run-{run}"));
                std::fs::create_dir_all(&scratch)?;
                cpu_profile::profile(&side.prepared, self.tools, &options, &scratch)
                    .with_context(|| format!("profiled run {run} of {}", side.who()))?;
                std::fs::rename(
                    scratch.join(cpu_profile::FOLDED),
                    runs.join(format!("{run}.folded")),
                )?;
                std::fs::remove_dir_all(&scratch)?;
            }
        }
        Ok(())
    }

    /// A CPU profile of one run of `side` and its flamegraph, in the pending
    /// result's directory.
    fn profile_side(
        &self,
        side: &revisions::BuiltSide,
        pending: &Pending,
        shown: &std::collections::BTreeMap<String, String>,
    ) -> anyhow::Result<cpu_profile::CpuProfile> {
        let (config, args) = (self.config, self.args);
        let mut options = cpu_profile::Options::new(config, None, None);
        options.inline_frames &= !args.no_inline;
        options.keep_perf_data |= args.keep_perf_data;
        let subtitle = match &side.commit {
            Some(commit) => format!("{} ({})", side.who(), short_hash(commit)),
            None => format!("{} (working tree)", side.who()),
        };
        let flow = ProfileFlow {
            tools: self.tools,
            options: &options,
            dir: &pending.dir,
        };
        let title = format!("{} {}", side.name, format_params(shown));
        flow.program_alone(&side.prepared, &title, &subtitle)
    }
}

/// The run record of one side: its commit, or the working tree's state
/// when it was measured there.
fn side_record(
    config: &Config,
    side: &revisions::BuiltSide,
    label: &str,
    scale: ScaleRecord,
    working_tree: &crate::runs::git::GitInfo,
) -> RunRecord {
    let git = match &side.commit {
        Some(commit) => GitInfo {
            commit: Some(commit.clone()),
            dirty: false,
            branch: None,
        },
        None => working_tree.clone(),
    };
    RunRecord {
        schema_version: SCHEMA_VERSION,
        task: format!("profile-compare --side {}", side.who()),
        label: label.to_string(),
        created: timestamp_iso(SystemTime::now()),
        workload: side.name.clone(),
        command_line: None,
        build_profile: config.defaults.build_profile.clone(),
        git,
        machine: None,
        scales: vec![scale],
        failure: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_gate_that_is_on_sets_the_exit_code() {
        assert_eq!(
            exit_code(GateOutcome::Regressed, true),
            crate::tasks::exit::REGRESSION
        );
        assert_eq!(
            exit_code(GateOutcome::Undecided, true),
            crate::tasks::exit::FAILURE
        );
        assert_eq!(exit_code(GateOutcome::Pass, true), 0);
        for outcome in [
            GateOutcome::Pass,
            GateOutcome::Regressed,
            GateOutcome::Undecided,
        ] {
            assert_eq!(exit_code(outcome, false), 0);
        }
    }
}
