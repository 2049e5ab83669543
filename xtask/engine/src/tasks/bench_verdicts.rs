//! `cargo xtask bench-verdicts`: how often each way of comparing gets the
//! verdict right on this machine, with real runs of the workload.
//!
//! A/A: the same work on both sides, so any verdict but "no change" is a
//! false alarm. A/B: B does `--extra-pct` % more work through a declared
//! parameter (`--subs 30000` against `--subs 31500`), so "regressed" is a
//! catch. Each is repeated `--repeats` times per method:
//!
//! - `sequential`: every A run, then every B run; Mann–Whitney, unpaired;
//! - `interleaved`: A B A B ...; pair by pair (Wilcoxon signed-rank);
//! - `duet`: each pair at the same time, on a core each; pair by pair;
//! - `instructions`: one callgrind count per side; exact, with the
//!   `instructions` threshold.
//!
//! The verdicts are those `profile-compare` gives (the same comparison of
//! two scales, the family's correction and the machine's load included,
//! the same thresholds from profiling.toml). With `--contention`, every core
//! gets a busy thread halfway through each comparison: after A's runs
//! (sequential), or after half the pairs. The output is a Markdown table:
//! A/A flagged (regressed or improved), and A/B caught, inconclusive, or
//! wrongly `no_change`.

use crate::config::{Better, Config, SideSpec};
use crate::reports::compare::{decide_scale, Counter, INSTRUCTIONS};
use crate::reports::stdout::outln;
use crate::results::record::{Pairing, ScaleRecord};
use crate::runs::cpu_hogs::CpuHogs;
use crate::runs::measure;
use crate::runs::revisions::{self, BuiltSide, SideRequest};
use crate::runs::{callgrind, progress::Progress};
use crate::stats::{self, Verdict};
use crate::tasks::invocation::Invocation;
use crate::tools::Toolbox;
use anyhow::{bail, Context};

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Sequential,
    Interleaved,
    Duet,
    Instructions,
}

impl Method {
    fn describe(self) -> &'static str {
        match self {
            Method::Sequential => "sequential (A…A B…B), Mann–Whitney",
            Method::Interleaved => "interleaved (A B A B), paired",
            Method::Duet => "duet (A and B at once), paired",
            Method::Instructions => "instruction counts (callgrind), exact",
        }
    }
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The declared parameter that sets the amount of work.
    #[arg(long, value_name = "NAME", default_value = "subs")]
    pub param: String,
    /// A's value of it [default: its --NAME flag, else its default].
    #[arg(long, value_name = "VALUE")]
    pub base: Option<f64>,
    /// How much more work B does in the A/B comparisons, in percent.
    #[arg(long, value_name = "PCT", default_value_t = 5.0, value_parser = crate::config::bounds::extra_pct)]
    pub extra_pct: f64,
    /// A/A and A/B comparisons per method.
    #[arg(long, default_value_t = 20, value_parser = crate::config::bounds::repeats)]
    pub repeats: u32,
    /// Runs (or pairs) per side in each comparison.
    #[arg(long, default_value_t = 10, value_parser = crate::config::bounds::pairs)]
    pub pairs: u32,
    /// Comparisons per method for instruction counts: they are exact, so a
    /// few show what many would.
    #[arg(long, default_value_t = 2, value_parser = crate::config::bounds::repeats)]
    pub instruction_repeats: u32,
    /// The methods to measure, comma-separated [default: all].
    #[arg(long, value_enum, value_delimiter = ',')]
    pub methods: Vec<Method>,
    /// The workload [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// Make the machine busy halfway through each comparison (a spinning thread on every core):
    /// how the verdicts hold when the load changes under them.
    #[arg(long)]
    pub contention: bool,
}

/// The measures each timed method is judged on.
const TIMED: [&str; 2] = ["wall_s", "cpu_s"];

/// Counts of one method and measure.
#[derive(Debug, Default, Clone, PartialEq)]
struct Tally {
    same_flagged: u32,
    same_total: u32,
    more_caught: u32,
    more_inconclusive: u32,
    more_no_change: u32,
    more_total: u32,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    if args.repeats == 0 || args.pairs < 2 {
        bail!("--repeats must be at least 1 and --pairs at least 2");
    }
    if !(args.extra_pct.is_finite() && args.extra_pct > 0.0) {
        bail!("--extra-pct must be a positive number of percent");
    }
    let (name, workload) = config.workload(args.workload.as_deref())?;
    let values = config.param_values(None, params);
    let (base_text, more_text) = amounts_of_work(config, args, &values)?;
    let side = |value: &str| -> anyhow::Result<SideRequest<'_>> {
        let spec = SideSpec::parse(&format!("{}={value}", args.param), config)?;
        let mut values = values.clone();
        values.extend(spec.params.clone());
        Ok(SideRequest {
            spec,
            name,
            workload,
            values,
        })
    };
    let scratch = config.results_dir();
    let built = revisions::build(
        config,
        vec![side(&base_text)?, side(&base_text)?, side(&more_text)?],
        &scratch,
        crate::results::TMP_PREFIX,
    )?;
    let [a, a_again, b] = built.sides.as_slice() else {
        bail!("three sides were built");
    };
    let tools = Toolbox::detect();
    let options = Settings::of(config, args.contention);
    outln!(
        "bench-verdicts: workload `{name}`, A/A: {p}={base_text} twice, A/B: {p}={base_text} \
         against {p}={more_text} (+{extra} % work), {pairs} runs or pairs per side, {repeats} \
         comparisons of each per method",
        p = args.param,
        extra = args.extra_pct,
        pairs = args.pairs,
        repeats = args.repeats
    );
    let mut rows = Vec::new();
    for method in chosen_methods(args) {
        let tallies = tally_method(method, [a, a_again, b], args, &tools, &options)?;
        let measures: Vec<&str> = match method {
            Method::Instructions => vec![INSTRUCTIONS],
            _ => TIMED.to_vec(),
        };
        for (measure, tally) in measures.into_iter().zip(tallies) {
            rows.push((method, measure, tally));
        }
    }
    print_table(args, &rows);
    Ok(0)
}

/// A's and B's values of the parameter, as given to the workload; they
/// must differ.
fn amounts_of_work(
    config: &Config,
    args: &Args,
    values: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<(String, String)> {
    let base = base_value(config, args, values)?;
    let more = base * (1.0 + args.extra_pct / 100.0);
    let integer = config
        .params
        .get(&args.param)
        .is_some_and(|p| p.default.kind() == "integer");
    let text = |v: f64| {
        if integer {
            format!("{}", v.round() as i64)
        } else {
            format!("{v}")
        }
    };
    let (base_text, more_text) = (text(base), text(more));
    if base_text == more_text {
        bail!(
            "{}={base_text} and +{} % are the same value: raise --base or --extra-pct",
            args.param,
            args.extra_pct
        );
    }
    Ok((base_text, more_text))
}

/// `--methods`, or every method.
fn chosen_methods(args: &Args) -> Vec<Method> {
    if args.methods.is_empty() {
        vec![
            Method::Sequential,
            Method::Interleaved,
            Method::Duet,
            Method::Instructions,
        ]
    } else {
        args.methods.clone()
    }
}

/// The repeated A/A and A/B comparisons of one method, `sides` being A, A
/// again and B: per measure, how many false alarms and catches.
fn tally_method(
    method: Method,
    sides: [&BuiltSide; 3],
    args: &Args,
    tools: &Toolbox,
    options: &Settings,
) -> anyhow::Result<Vec<Tally>> {
    let [a, a_again, b] = sides;
    let repeats = if method == Method::Instructions {
        args.instruction_repeats.max(1)
    } else {
        args.repeats
    };
    let progress = Progress::bar(u64::from(repeats) * 2, &format!("{method:?} "));
    let mut tallies: Vec<Tally> = Vec::new();
    // Warm caches and the page cache once per method.
    if method != Method::Instructions {
        measure::run_once(&a.prepared)?;
        measure::run_once(&b.prepared)?;
    }
    for _ in 0..repeats {
        for (other, same) in [(a_again, true), (b, false)] {
            let verdicts = compare_once(method, [a, other], args.pairs, tools, options)
                .inspect_err(|_| progress.abandon())?;
            if tallies.is_empty() {
                tallies = vec![Tally::default(); verdicts.len()];
            }
            for (tally, (_, verdict)) in tallies.iter_mut().zip(&verdicts) {
                if same {
                    tally.same_total += 1;
                    tally.same_flagged +=
                        u32::from(matches!(verdict, Verdict::Regressed | Verdict::Improved));
                } else {
                    tally.more_total += 1;
                    tally.more_caught += u32::from(*verdict == Verdict::Regressed);
                    tally.more_inconclusive += u32::from(*verdict == Verdict::Inconclusive);
                    tally.more_no_change += u32::from(*verdict == Verdict::NoChange);
                }
            }
            progress.step(&format!(
                "{} {}",
                if same { "A/A" } else { "A/B" },
                verdicts
                    .iter()
                    .map(|(m, v)| format!("{m} {}", v.as_str()))
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
    }
    progress.finish();
    Ok(tallies)
}

/// The Markdown table of every method's and measure's counts.
fn print_table(args: &Args, rows: &[(Method, &str, Tally)]) {
    outln!();
    outln!(
        "| method | measure | A/A flagged | A/B (+{pct} %) caught | A/B inconclusive | A/B wrongly no_change |",
        pct = args.extra_pct
    );
    outln!("|---|---|---:|---:|---:|---:|");
    for (method, measure, tally) in rows {
        outln!(
            "| {} | `{measure}` | {}/{} | {}/{} | {}/{} | {}/{} |",
            method.describe(),
            tally.same_flagged,
            tally.same_total,
            tally.more_caught,
            tally.more_total,
            tally.more_inconclusive,
            tally.more_total,
            tally.more_no_change,
            tally.more_total
        );
    }
}

/// The statistics and thresholds `profile-compare` uses.
struct Settings {
    compare: crate::reports::compare::Settings,
    instructions_limit: f64,
    /// `--contention`: busy cores from halfway through each comparison.
    contention: bool,
}

impl Settings {
    fn of(config: &Config, contention: bool) -> Settings {
        Settings {
            compare: crate::reports::compare::Settings::new(&config.thresholds),
            instructions_limit: config.thresholds.instructions / 100.0,
            contention,
        }
    }
}

/// One comparison of `sides[1]` against `sides[0]`: per measure, the
/// verdict `profile-compare` would give (significant, and beyond the noise
/// band of `thresholds.noise`).
fn compare_once(
    method: Method,
    sides: [&BuiltSide; 2],
    pairs: u32,
    tools: &Toolbox,
    settings: &Settings,
) -> anyhow::Result<Vec<(&'static str, Verdict)>> {
    if method == Method::Instructions {
        let dir = std::env::temp_dir().join(format!("xtask-bench-verdicts-{}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        let count = |side: &BuiltSide| callgrind::count_instructions(tools, &side.prepared, &dir);
        let (a, b) = (count(sides[0]), count(sides[1]));
        let _ = std::fs::remove_dir_all(&dir);
        let exact = stats::compare_exact(
            a? as f64,
            b? as f64,
            Better::Lower,
            settings.instructions_limit,
        );
        return Ok(vec![(INSTRUCTIONS, exact.verdict)]);
    }
    let owned = [sides[0].clone(), sides[1].clone()];
    let half = pairs / 2;
    let busy = || settings.contention.then(CpuHogs::every_core);
    let samples = match method {
        Method::Sequential => {
            let mut samples = vec![Vec::new(), Vec::new()];
            let mut hogs = None;
            for (i, (side, out)) in owned.iter().zip(samples.iter_mut()).enumerate() {
                if i == 1 {
                    hogs = busy();
                }
                for _ in 0..pairs {
                    out.push(measure::run_once(&side.prepared)?.0);
                }
            }
            drop(hogs);
            samples
        }
        Method::Interleaved | Method::Duet => {
            let run = |n: u32| match method {
                Method::Duet => revisions::duet_runs(&owned, 0, n),
                _ => revisions::interleaved_runs(&owned, 0, n),
            };
            let mut samples = run(half)?;
            let hogs = busy();
            for (all, more) in samples.iter_mut().zip(run(pairs - half)?) {
                all.extend(more);
            }
            drop(hogs);
            samples
        }
        Method::Instructions => unreachable!("counted above"),
    };
    // Two scales as two results would hold them, compared as
    // profile-compare compares them.
    let scales: Vec<ScaleRecord> = samples
        .into_iter()
        .zip(&owned)
        .map(|(samples, side)| {
            let summaries = measure::summarize(&samples, &side.prepared);
            ScaleRecord {
                pairing: (method != Method::Sequential).then(|| Pairing {
                    id: "bench-verdicts".into(),
                    order: if method == Method::Duet {
                        "duet"
                    } else {
                        "interleaved"
                    }
                    .into(),
                    sequential: false,
                }),
                ..ScaleRecord::timed(&side.prepared, Default::default(), 0, samples, summaries)
            }
        })
        .collect();
    let compared = decide_scale(&scales[0], &scales[1], &settings.compare, Counter::Time);
    Ok(TIMED
        .iter()
        .map(|&name| {
            let verdict = compared
                .measures
                .iter()
                .find(|m| m.name == name)
                .map_or(Verdict::Inconclusive, |m| m.verdict());
            (name, verdict)
        })
        .collect())
}

/// A's value of the parameter: `--base`, else its `--NAME` flag or default.
fn base_value(
    config: &Config,
    args: &Args,
    values: &std::collections::BTreeMap<String, String>,
) -> anyhow::Result<f64> {
    let Some(param) = config.params.get(&args.param) else {
        let names: Vec<&str> = config.params.keys().map(String::as_str).collect();
        bail!(
            "--param {}: no such parameter in {} (declared: {})",
            args.param,
            config.path.display(),
            names.join(", ")
        );
    };
    if !matches!(param.default.kind(), "integer" | "number") {
        bail!(
            "--param {}: a {} cannot be raised by a percentage",
            args.param,
            param.default.kind()
        );
    }
    match args.base {
        Some(base) if base.is_finite() && base > 0.0 => Ok(base),
        Some(base) => bail!("--base {base}: give a positive amount of work"),
        None => values[&args.param]
            .parse::<f64>()
            .with_context(|| format!("the value of {} is not a number", args.param)),
    }
}
