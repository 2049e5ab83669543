//! The comparison model: for each scale, every measure both results have,
//! compared statistically (timings and metrics) or exactly (instruction
//! counts, the memory tool's figures), with its verdict, its `[thresholds]`
//! limit and whether the gate holds it to that limit.
//!
//! Building it from two run records is pure (no I/O, nothing rendered), so
//! every verdict is unit-tested here; the renderers read it, and it knows
//! nothing of them. The gate over it is `gate`, the warnings about what may
//! not be comparable `comparability`.

use super::gate::{gate_fails, Gate, GateOutcome};
use crate::config::measures;
use crate::config::{Better, Thresholds};
use crate::reports::functions::FunctionChange;
use crate::results::record::short_hash;
use crate::results::record::{Pairing, RunRecord, ScaleRecord};
use crate::stats::{self, CompareOptions, Comparison, ExactComparison, Verdict};
use serde::Serialize;

/// Bumped on any incompatible change of `compare.json`.
pub const SCHEMA_VERSION: u32 = 2;
pub const JSON_FILE: &str = "compare.json";
pub const MARKDOWN_FILE: &str = "compare.md";
pub const DIFF_SVG: &str = "diff-flamegraph.svg";
pub const MEMORY_DIFF_SVG: &str = "diff-memory-flamegraph.svg";
/// The measures `--counter instructions` adds to a result's summaries:
/// the instruction count, and the cycles estimated from callgrind's cache
/// simulation. Both are exact, compared against the `instructions` limit.
pub use crate::runs::callgrind::{ESTIMATED_CYCLES, INSTRUCTIONS};

/// A measure counted exactly by callgrind (one value per side, no noise).
pub fn is_exact_count(name: &str) -> bool {
    name == INSTRUCTIONS || name == ESTIMATED_CYCLES
}

/// What the gate is decided on.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Counter {
    /// Timings and metrics, compared statistically over the runs.
    Time,
    /// Exact instruction counts and estimated cycles under callgrind
    /// (deterministic; for noisy machines).
    Instructions,
}

/// Which `[thresholds]` percentage applies to a measure.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// wall, user and sys time.
    Time,
    /// Metrics where higher is better.
    Throughput,
    /// Metrics where lower is better.
    Latency,
    /// Peak RSS and the memory tool's figures.
    Memory,
    /// callgrind instruction counts.
    Instructions,
}

impl Category {
    pub fn limit_pct(self, thresholds: &Thresholds) -> f64 {
        match self {
            Category::Time => thresholds.time,
            Category::Throughput => thresholds.throughput,
            Category::Latency => thresholds.latency,
            Category::Memory => thresholds.memory,
            Category::Instructions => thresholds.instructions,
        }
    }
}

/// One side of the comparison.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Side {
    /// The result directory's name.
    pub name: String,
    pub dir: String,
    pub label: String,
    pub created: String,
    pub task: String,
    pub workload: String,
    pub commit: Option<String>,
    pub dirty: bool,
}

impl Side {
    pub fn of(name: &str, dir: &std::path::Path, record: &RunRecord) -> Side {
        Side {
            name: name.to_string(),
            dir: dir.display().to_string(),
            label: record.label.clone(),
            created: record.created.clone(),
            task: record.task.clone(),
            workload: record.workload.clone(),
            commit: record.git.commit.clone(),
            dirty: record.git.dirty,
        }
    }

    pub(super) fn short_commit(&self) -> String {
        match &self.commit {
            Some(c) => format!(
                "{}{}",
                short_hash(c),
                if self.dirty { " (dirty)" } else { "" }
            ),
            None => "no commit".into(),
        }
    }
}

/// The statistical settings the verdicts were made with.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Settings {
    pub alpha: f64,
    /// A significant change must lie wholly beyond ±noise_pct to count.
    pub noise_pct: f64,
    pub min_samples: usize,
    pub thresholds: Thresholds,
    /// `--fail-on-inconclusive`: an inconclusive gated measure fails the
    /// gate (by default it passes with a warning).
    pub fail_on_inconclusive: bool,
}

impl Settings {
    pub fn new(thresholds: &Thresholds) -> Settings {
        let defaults = CompareOptions::default();
        Settings {
            alpha: defaults.alpha,
            noise_pct: thresholds.noise,
            min_samples: defaults.min_samples,
            thresholds: thresholds.clone(),
            fail_on_inconclusive: false,
        }
    }

    /// The options of one measure's comparison: "no change" needs its
    /// interval within the measure's limit.
    fn options_for(&self, limit_pct: f64) -> CompareOptions {
        CompareOptions {
            alpha: self.alpha,
            noise_band: self.noise_pct / 100.0,
            min_samples: self.min_samples,
            equivalence: limit_pct / 100.0,
        }
    }
}

/// How a measure was compared.
#[derive(Serialize, Debug, Clone, PartialEq)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Outcome {
    /// Several runs per side: Mann–Whitney U and a Hodges–Lehmann interval.
    Sampled(Comparison),
    /// One deterministic value per side: the relative change against a limit.
    Exact(ExactComparison),
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct MeasureComparison {
    pub name: String,
    pub unit: String,
    pub better: Better,
    pub category: Category,
    /// The `[thresholds]` percentage the gate holds this measure to.
    pub limit_pct: f64,
    /// Whether the gate looks at this measure (with `--counter instructions`
    /// only the exact ones count: timings are shown, not gated).
    pub gated: bool,
    /// Why a measure the gate could look at is only shown (a load client's
    /// figure, a total where a per-operation measure decides).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_gated_because: Option<String>,
    /// The p-value adjusted for the family of gated measures (see
    /// `stats::familywise`): the verdict of a gated measure holds at it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p_family: Option<f64>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// A significant regression beyond `limit_pct`, on a gated measure.
    pub gate_failed: bool,
}

impl MeasureComparison {
    pub fn verdict(&self) -> Verdict {
        match &self.outcome {
            Outcome::Sampled(c) => c.verdict,
            Outcome::Exact(e) => e.verdict,
        }
    }

    /// Whether this comparison could reach a verdict at all: exact counts
    /// always can; sampled ones only when the smallest p-value their sample
    /// sizes allow (Mann–Whitney, no ties: 2 / C(n1+n2, n1)) is below alpha.
    pub fn can_decide(&self, alpha: f64) -> bool {
        match &self.outcome {
            Outcome::Exact(e) => e.verdict != Verdict::Inconclusive,
            Outcome::Sampled(c) => {
                c.a.n.min(c.b.n) >= 2 && stats::smallest_p_unpaired(c.a.n, c.b.n) < alpha
            }
        }
    }

    /// Relative change from A to B (+0.10: B is 10 % larger).
    pub fn change(&self) -> f64 {
        match &self.outcome {
            Outcome::Sampled(c) => c.change,
            Outcome::Exact(e) => e.change,
        }
    }
}

/// One scale compared.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct ScaleComparison {
    pub scale: String,
    pub measures: Vec<MeasureComparison>,
    /// Functions whose share of CPU samples changed most (from `cpu.folded`).
    pub functions: Vec<FunctionChange>,
    /// Same for the memory profile (`memory.folded`), when both sides have one.
    pub memory_functions: Vec<FunctionChange>,
    /// Allocations by function, A against B, when both are heaptrack memory results.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allocations: Option<super::allocations::AllocationComparison>,
    /// Which frames of the CPU profile changed beyond the runs' own
    /// spread, when both sides have several profiled runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frames: Option<super::frames::FrameTest>,
    /// Files written for this scale, relative to the compare directory.
    pub files: Vec<String>,
    /// What could not be compared, and why.
    pub notes: Vec<String>,
    /// Gated measures the baseline (A) has and B lacks: B cannot show it
    /// did not regress on them, so the gate cannot pass.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub missing_in_b: Vec<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct CompareReport {
    pub schema_version: u32,
    pub created: String,
    pub a: Side,
    pub b: Side,
    pub settings: Settings,
    /// Why A and B may not be comparable (shown above the verdicts).
    pub warnings: Vec<String>,
    pub scales: Vec<ScaleComparison>,
    pub gate: Gate,
}

impl CompareReport {
    pub fn new(
        a: Side,
        b: Side,
        settings: Settings,
        counter: Counter,
        warnings: Vec<String>,
        scales: Vec<ScaleComparison>,
    ) -> CompareReport {
        let mut scales = scales;
        super::gate::family_verdicts(&mut scales, settings.alpha);
        let gate = Gate::decide(counter, &scales, &settings);
        CompareReport {
            schema_version: SCHEMA_VERSION,
            created: crate::results::timestamp_iso(std::time::SystemTime::now()),
            a,
            b,
            settings,
            warnings,
            scales,
            gate,
        }
    }

    /// What the gate decided: pass, a regression, or no decision possible.
    pub fn gate_outcome(&self) -> GateOutcome {
        self.gate.outcome()
    }
}

/// Where a measure's limit comes from.
pub fn category_of(name: &str, better: Better) -> Category {
    if let Some(own) = name.strip_prefix(measures::LOAD_PREFIX) {
        if measures::is_load_client(name) {
            return category_of(own, better);
        }
    }
    match name {
        _ if measures::is_time(name)
            || measures::is_counter(name)
            || measures::is_bench_time(name) =>
        {
            Category::Time
        }
        _ if measures::is_builtin(name) || measures::is_server_memory(name) => Category::Memory,
        _ if is_exact_count(name) => Category::Instructions,
        _ if better == Better::Higher => Category::Throughput,
        _ => Category::Latency,
    }
}

/// A server's measures, time, RSS, the workload's metrics, instructions
/// and estimated cycles, and a load client's figures last.
fn measure_order(name: &str) -> (usize, u8) {
    let exact = match name {
        INSTRUCTIONS => 1,
        ESTIMATED_CYCLES => 2,
        _ => 0,
    };
    (measures::display_rank(name), exact)
}

/// One scale of A and one of B compared as `profile-compare` would, the
/// family's correction included: for a caller that judges verdicts
/// (`bench-verdicts`) without writing a comparison.
pub fn decide_scale(
    a: &ScaleRecord,
    b: &ScaleRecord,
    settings: &Settings,
    counter: Counter,
) -> ScaleComparison {
    let mut scales = vec![compare_scale(a, b, settings, counter)];
    super::gate::family_verdicts(&mut scales, settings.alpha);
    scales.pop().expect("one scale")
}

/// Compares every measure both scales have: the timed measures and metrics
/// statistically, the instruction count and the memory tool's figures
/// exactly. Measures on one side only are named in the notes.
pub fn compare_scale(
    a: &ScaleRecord,
    b: &ScaleRecord,
    settings: &Settings,
    counter: Counter,
) -> ScaleComparison {
    let mut notes = Vec::new();
    let pairing = pairing_of(a, b);
    let mut measures = shared_measures(a, b, settings, counter, pairing, &mut notes);
    // An older bench result's criterion samples are not runs: never compared as such.
    let (single_invocation, note) = super::benchmarks::single_invocation(a, b);
    measures.retain(|m| !single_invocation.contains(&m.name));
    notes.extend(note);
    // Under `--counter time` every sampled measure is gated (see `measure`).
    let missing_in_b: Vec<String> = match counter {
        Counter::Time => a
            .summaries
            .keys()
            .filter(|n| !b.summaries.contains_key(*n))
            .cloned()
            .collect(),
        Counter::Instructions => Vec::new(),
    };
    for (side, mine, theirs) in [("A", a, b), ("B", b, a)] {
        let only: Vec<&str> = mine
            .summaries
            .keys()
            .filter(|n| !theirs.summaries.contains_key(*n))
            .map(String::as_str)
            .collect();
        if !only.is_empty() {
            notes.push(format!("only {side} has {}: not compared", only.join(", ")));
        }
    }
    memory_figures(a, b, settings, counter, &mut measures, &mut notes);
    for m in &mut measures {
        if let Some(why) = super::decides::not_gated_because(&m.name, a, b) {
            m.gated = false;
            m.gate_failed = false;
            m.not_gated_because = Some(why.to_string());
        }
    }
    match pairing {
        Some(p) if p.sequential => {
            let standings =
                super::sequential::standings(a, b, &settings.thresholds, settings.alpha);
            super::sequential::apply(&standings, &mut measures);
            notes.push(format!(
                "pairs were added until decided ({} pairs): {}; each deciding measure held to α/{}",
                a.runs.len(),
                stats::Analysis::Sequential.describe(),
                standings.len().max(1)
            ));
        }
        _ => super::gate::family_p_values(a, b, pairing.is_some(), &mut measures),
    }
    if let Some(note) = super::decides::read_first(a, b).or_else(|| steadiest_time(a, b)) {
        notes.insert(0, note);
    }
    let noise_band = settings.noise_pct / 100.0;
    if let Some(effect) = super::comparability::contention_explains(a, b, noise_band) {
        // The wall time moved with the machine's load, not with the work:
        // it cannot say whether the code changed.
        for m in measures.iter_mut().filter(|m| m.name == "wall_s") {
            if let Outcome::Sampled(c) = &mut m.outcome {
                if matches!(c.verdict, Verdict::Regressed | Verdict::Improved) {
                    c.verdict = Verdict::Inconclusive;
                    m.gate_failed = false;
                }
            }
        }
        notes.insert(0, effect.describe());
    }
    if let Some(pairing) = pairing {
        notes.insert(0, paired_note(pairing, a.runs.len()));
    }
    ScaleComparison {
        scale: b.scale.clone(),
        measures,
        functions: Vec::new(),
        memory_functions: Vec::new(),
        allocations: None,
        frames: None,
        files: Vec::new(),
        notes,
        missing_in_b,
    }
}

/// Runs made in pairs by one `--side` comparison, to be compared pair by
/// pair: B's pairing, when both sides share it and have enough pairs.
fn pairing_of<'b>(a: &ScaleRecord, b: &'b ScaleRecord) -> Option<&'b Pairing> {
    match (&a.pairing, &b.pairing) {
        (Some(pa), Some(pb))
            if pa.id == pb.id
                && a.runs.len() == b.runs.len()
                && a.runs.len() >= stats::MIN_PAIRS =>
        {
            Some(pb)
        }
        _ => None,
    }
}

/// The measures both sides have, in display order: instructions exactly,
/// the rest over their samples (pair by pair when the runs were paired).
/// Where the sides disagree on a measure's direction, a note says so.
fn shared_measures(
    a: &ScaleRecord,
    b: &ScaleRecord,
    settings: &Settings,
    counter: Counter,
    pairing: Option<&Pairing>,
    notes: &mut Vec<String>,
) -> Vec<MeasureComparison> {
    let mut measures = Vec::new();
    let mut names: Vec<&String> = a
        .summaries
        .keys()
        .filter(|n| b.summaries.contains_key(*n))
        .collect();
    names.sort_by_key(|n| (measure_order(n), n.as_str()));
    for name in names {
        let (ma, mb) = (&a.summaries[name], &b.summaries[name]);
        let better = mb.better;
        if ma.better != mb.better {
            notes.push(format!(
                "{name}: A says {:?} is better, B {:?}; B's direction is used",
                ma.better, mb.better
            ));
        }
        let category = category_of(name, better);
        let limit_pct = category.limit_pct(&settings.thresholds);
        let options = settings.options_for(limit_pct);
        let outcome = if is_exact_count(name) {
            Outcome::Exact(stats::compare_exact(
                ma.summary.median,
                mb.summary.median,
                better,
                limit_pct / 100.0,
            ))
        } else {
            // A metric missing from some runs has fewer samples than runs:
            // which sample belongs to which run is then unknown, so unpaired.
            let paired = pairing.is_some()
                && ma.samples.len() == a.runs.len()
                && mb.samples.len() == b.runs.len();
            let compare = if paired {
                stats::compare_paired
            } else {
                stats::compare
            };
            Outcome::Sampled(compare(&ma.samples, &mb.samples, better, &options))
        };
        let unit = if mb.unit.is_empty() {
            ma.unit.clone()
        } else {
            mb.unit.clone()
        };
        measures.push(measure(
            name, &unit, better, category, limit_pct, counter, outcome,
        ));
    }
    measures
}

/// The memory tool's figures both sides have, compared exactly; notes when
/// only one side has figures, or the two come from different tools.
fn memory_figures(
    a: &ScaleRecord,
    b: &ScaleRecord,
    settings: &Settings,
    counter: Counter,
    measures: &mut Vec<MeasureComparison>,
    notes: &mut Vec<String>,
) {
    match (&a.memory, &b.memory) {
        (Some(ma), Some(mb)) => {
            let limit_pct = settings.thresholds.memory;
            let mut figures: Vec<(&str, Option<f64>, Option<f64>, &str)> = vec![
                (
                    "peak_heap_bytes",
                    ma.peak_heap_bytes,
                    mb.peak_heap_bytes,
                    "B",
                ),
                (
                    "total_allocations",
                    ma.total_allocations.map(|v| v as f64),
                    mb.total_allocations.map(|v| v as f64),
                    "allocations",
                ),
                (
                    "temporary_allocations",
                    ma.temporary_allocations.map(|v| v as f64),
                    mb.temporary_allocations.map(|v| v as f64),
                    "allocations",
                ),
                ("leaked_bytes", ma.leaked_bytes, mb.leaked_bytes, "B"),
            ];
            figures.extend(super::decides::per_operation_memory(ma, mb));
            for (name, va, vb, unit) in figures {
                if let (Some(va), Some(vb)) = (va, vb) {
                    let outcome = Outcome::Exact(stats::compare_exact(
                        va,
                        vb,
                        Better::Lower,
                        limit_pct / 100.0,
                    ));
                    measures.push(measure(
                        name,
                        unit,
                        Better::Lower,
                        Category::Memory,
                        limit_pct,
                        counter,
                        outcome,
                    ));
                }
            }
            if ma.tool != mb.tool {
                notes.push(format!(
                    "memory figures come from different tools ({} vs {}): they measure differently",
                    ma.tool, mb.tool
                ));
            }
        }
        (Some(_), None) => {
            notes.push("only A has memory figures (run `cargo xtask memory` for B)".into())
        }
        (None, Some(_)) => {
            notes.push("only B has memory figures (run `cargo xtask memory` for A)".into())
        }
        (None, None) => {}
    }
}

/// What the paired analysis did, and why it is the one to trust.
fn paired_note(pairing: &Pairing, pairs: usize) -> String {
    let how = if pairing.order == "duet" {
        "at the same time, on a core each"
    } else {
        "one right after the other"
    };
    format!(
        "paired analysis: run i of A and run i of B ran {how}, so each pair's ratio B/A \
         cancels what the machine did then; {} ({} pairs)",
        stats::Analysis::PairedWilcoxon.describe(),
        pairs
    )
}

/// For a workload that uses one core on both sides: which of wall and CPU
/// time spread least across the runs (the mean of both sides' coefficients
/// of variation), named so that readers trust that verdict first. On a
/// shared machine, waiting for a busy CPU stretches wall time and not CPU
/// time; a multi-threaded workload's CPU time says less about its speed.
fn steadiest_time(a: &ScaleRecord, b: &ScaleRecord) -> Option<String> {
    let get =
        |scale: &ScaleRecord, name: &str| scale.summaries.get(name).map(|m| m.summary.clone());
    let (wall_a, wall_b) = (get(a, "wall_s")?, get(b, "wall_s")?);
    let (cpu_a, cpu_b) = (get(a, "cpu_s")?, get(b, "cpu_s")?);
    let one_core = [(&wall_a, &cpu_a), (&wall_b, &cpu_b)]
        .iter()
        .all(|(wall, cpu)| wall.median > 0.0 && cpu.median / wall.median <= measures::ONE_CORE);
    if !one_core || wall_a.n < 2 || wall_b.n < 2 {
        return None;
    }
    let wall = (wall_a.cv + wall_b.cv) / 2.0;
    let cpu = (cpu_a.cv + cpu_b.cv) / 2.0;
    let (steady, steady_cv, other, other_cv) = if cpu < wall {
        ("cpu_s", cpu, "wall_s", wall)
    } else {
        ("wall_s", wall, "cpu_s", cpu)
    };
    Some(format!(
        "read {steady} first: it spread least across the runs ({:.1} % against {other} {:.1} %, \
         mean coefficient of variation of A and B) and the workload uses one core",
        steady_cv * 100.0,
        other_cv * 100.0
    ))
}

fn measure(
    name: &str,
    unit: &str,
    better: Better,
    category: Category,
    limit_pct: f64,
    counter: Counter,
    outcome: Outcome,
) -> MeasureComparison {
    let gated = match counter {
        Counter::Time => true,
        Counter::Instructions => matches!(outcome, Outcome::Exact(_)),
    };
    MeasureComparison {
        name: name.to_string(),
        unit: unit.to_string(),
        better,
        category,
        limit_pct,
        gated,
        not_gated_because: None,
        p_family: None,
        gate_failed: gate_fails(gated, &outcome, better, limit_pct),
        outcome,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compare::fixtures::*;
    use crate::results::record::MemoryRecord;

    /// A one-core workload on a noisy machine: CPU time spread less, so the
    /// report names it; a two-core one (CPU time twice wall) gets no such note.
    #[test]
    fn the_steadiest_time_measure_is_named_for_one_core_workloads() {
        use super::super::fixtures::{scale, summary};
        let with_cpu = |wall: &[f64], cpu: &[f64]| {
            let mut s = scale(wall, &[1.0, 1.0, 1.0], "0");
            s.summaries
                .insert("cpu_s".into(), summary("s", Better::Lower, cpu));
            s
        };
        let a = with_cpu(&[1.0, 1.2, 0.9, 1.3], &[0.95, 0.96, 0.95, 0.96]);
        let b = with_cpu(&[1.1, 0.9, 1.4, 1.0], &[0.97, 0.98, 0.97, 0.98]);
        let note = steadiest_time(&a, &b).unwrap();
        assert!(note.starts_with("read cpu_s first"), "{note}");
        let report = compare_scale(&a, &b, &super::super::fixtures::settings(), Counter::Time);
        assert_eq!(report.notes.first(), Some(&note));
        // Steady wall time wins when CPU time is the noisier one.
        let a = with_cpu(&[1.0, 1.0, 1.0, 1.0], &[0.90, 0.99, 0.93, 0.97]);
        assert!(steadiest_time(&a, &a)
            .unwrap()
            .starts_with("read wall_s first"));
        // Two busy cores: CPU time is twice the wall time.
        let a = with_cpu(&[1.0, 1.2, 0.9, 1.3], &[1.9, 2.0, 1.9, 2.0]);
        assert_eq!(steadiest_time(&a, &a), None);
    }

    #[test]
    fn identical_noise_reads_no_change_and_passes() {
        let a = scale(&WALL, &RPS, "0");
        let b = scale(
            &[0.135, 0.139, 0.134, 0.137, 0.133],
            &[910e3, 875e3, 899e3, 915e3, 880e3],
            "0",
        );
        let report = report_of(&a, &b, Counter::Time);
        let verdicts: Vec<Verdict> = report.scales[0]
            .measures
            .iter()
            .map(|m| m.verdict())
            .collect();
        assert_eq!(verdicts, [Verdict::NoChange, Verdict::NoChange]);
        assert!(report.gate.passed);
        assert_eq!(report.gate_outcome(), GateOutcome::Pass);
    }

    #[test]
    fn a_clear_slowdown_regresses_time_and_throughput_and_fails_the_gate() {
        let a = scale(&WALL, &RPS, "0");
        let b = scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5");
        let report = report_of(&a, &b, Counter::Time);
        let m = &report.scales[0].measures;
        assert_eq!(m[0].name, "wall_s");
        assert_eq!(
            (m[0].verdict(), m[0].category, m[0].limit_pct),
            (Verdict::Regressed, Category::Time, 5.0)
        );
        assert!((m[0].change() - 1.5).abs() < 0.05, "{}", m[0].change());
        assert_eq!(
            (m[1].verdict(), m[1].category),
            (Verdict::Regressed, Category::Throughput)
        );
        assert!(m.iter().all(|m| m.gate_failed));
        assert!(!report.gate.passed);
        assert_eq!(report.gate.failures.len(), 2);

        // The other way round is an improvement, and the gate passes.
        let report = report_of(&b, &a, Counter::Time);
        assert!(report.scales[0]
            .measures
            .iter()
            .all(|m| m.verdict() == Verdict::Improved));
        assert!(report.gate.passed);
    }

    #[test]
    fn instructions_are_exact_and_gate_alone_in_instructions_mode() {
        let mut a = scale(&WALL, &RPS, "0");
        let mut b = scale(&slower(&WALL, 2.0), &RPS, "0");
        a.summaries.insert(
            INSTRUCTIONS.into(),
            summary("instructions", Better::Lower, &[1_000_000.0]),
        );
        b.summaries.insert(
            INSTRUCTIONS.into(),
            summary("instructions", Better::Lower, &[1_005_000.0]),
        );
        let report = report_of(&a, &b, Counter::Instructions);
        let m = &report.scales[0].measures;
        let wall = m.iter().find(|m| m.name == "wall_s").unwrap();
        assert!(!wall.gated && !wall.gate_failed && wall.verdict() == Verdict::Regressed);
        let ins = m.iter().find(|m| m.name == INSTRUCTIONS).unwrap();
        assert!(matches!(ins.outcome, Outcome::Exact(_)));
        assert_eq!((ins.verdict(), ins.limit_pct), (Verdict::NoChange, 1.0)); // +0.5 % < 1 %
        assert!(report.gate.passed);
        b.summaries.insert(
            INSTRUCTIONS.into(),
            summary("instructions", Better::Lower, &[1_020_000.0]),
        );
        let report = report_of(&a, &b, Counter::Instructions);
        assert_eq!(report.gate.failures.len(), 1);
        assert_eq!(report.gate.failures[0].measure, INSTRUCTIONS);
        // In time mode the slower wall time fails the gate too.
        assert_eq!(report_of(&a, &b, Counter::Time).gate.failures.len(), 2);
    }

    /// Estimated cycles are exact like instructions, held to the same
    /// limit, and can fail the gate where the instruction count does not
    /// (the same instructions, more of them missing the caches).
    #[test]
    fn estimated_cycles_are_exact_and_gated_with_the_instruction_limit() {
        let mut a = scale(&WALL, &RPS, "0");
        let mut b = scale(&WALL, &RPS, "0");
        for (side, cycles) in [(&mut a, 1_400_000.0), (&mut b, 1_450_000.0)] {
            side.summaries.insert(
                INSTRUCTIONS.into(),
                summary("instructions", Better::Lower, &[1_000_000.0]),
            );
            side.summaries.insert(
                ESTIMATED_CYCLES.into(),
                summary("cycles", Better::Lower, &[cycles]),
            );
        }
        let report = report_of(&a, &b, Counter::Instructions);
        let m = &report.scales[0].measures;
        let names: Vec<&str> = m.iter().map(|m| m.name.as_str()).collect();
        assert_eq!(
            names,
            ["wall_s", "records_per_sec", INSTRUCTIONS, ESTIMATED_CYCLES]
        );
        let cycles = m.iter().find(|m| m.name == ESTIMATED_CYCLES).unwrap();
        assert!(matches!(cycles.outcome, Outcome::Exact(_)));
        assert_eq!(cycles.category, Category::Instructions);
        assert!(cycles.gated && cycles.gate_failed); // +3.6 % > 1 %
        assert_eq!(report.gate.failures.len(), 1);
        assert_eq!(report.gate.failures[0].measure, ESTIMATED_CYCLES);
    }

    #[test]
    fn memory_figures_compare_exactly_when_both_sides_have_them() {
        let mut a = scale(&WALL, &RPS, "0");
        let mut b = scale(&WALL, &RPS, "0");
        a.memory = Some(MemoryRecord {
            tool: "heaptrack".into(),
            peak_heap_bytes: Some(1_000_000.0),
            total_allocations: Some(1000),
            temporary_allocations: Some(10),
            ..MemoryRecord::default()
        });
        b.memory = Some(MemoryRecord {
            tool: "heaptrack".into(),
            peak_heap_bytes: Some(1_500_000.0),
            total_allocations: Some(1100),
            leaked_bytes: Some(64.0),
            ..MemoryRecord::default()
        });
        let comparison = compare_scale(&a, &b, &settings(), Counter::Time);
        let get = |n: &str| comparison.measures.iter().find(|m| m.name == n);
        let heap = get("peak_heap_bytes").unwrap();
        assert_eq!(
            (heap.verdict(), heap.category, heap.gate_failed),
            (Verdict::Regressed, Category::Memory, true)
        );
        let calls = get("total_allocations").unwrap();
        assert_eq!(calls.verdict(), Verdict::NoChange); // +10 % < 20 %
        assert!(get("temporary_allocations").is_none() && get("leaked_bytes").is_none());
        b.memory = None;
        let comparison = compare_scale(&a, &b, &settings(), Counter::Time);
        assert!(comparison
            .notes
            .iter()
            .any(|n| n.contains("only A has memory figures")));
    }

    /// Every branch of `compare_scale`, byte for byte (its `Debug` form):
    /// measures on one side, directions that disagree, instructions, memory
    /// figures on both sides, one side or neither, and paired runs.
    #[test]
    fn compare_scale_is_its_golden_copy() {
        use crate::results::record::Pairing;
        let memory = |tool: &str, heap: f64, leaked: Option<f64>| MemoryRecord {
            tool: tool.into(),
            peak_heap_bytes: Some(heap),
            total_allocations: Some(1000),
            temporary_allocations: Some(10),
            leaked_bytes: leaked,
            ..MemoryRecord::default()
        };
        let paired = |wall: &[f64], order: &str| {
            let mut s = scale(wall, &RPS[..4], "0");
            s.runs = wall
                .iter()
                .map(|&wall_s| crate::results::synthetic::run(wall_s, 0.0))
                .collect();
            s.pairing = Some(Pairing {
                id: "p1".into(),
                order: order.into(),
                sequential: false,
            });
            s
        };
        let mut a = scale(&WALL, &RPS, "0");
        let mut b = scale(&slower(&WALL, 1.2), &RPS, "0");
        a.summaries.insert(
            INSTRUCTIONS.into(),
            summary("instructions", Better::Lower, &[1_000_000.0]),
        );
        b.summaries.insert(
            INSTRUCTIONS.into(),
            summary("instructions", Better::Lower, &[1_030_000.0]),
        );
        a.summaries
            .insert("cpu_s".into(), summary("s", Better::Lower, &WALL));
        b.summaries
            .insert("cpu_s".into(), summary("s", Better::Lower, &WALL));
        a.summaries
            .insert("latency".into(), summary("", Better::Higher, &WALL));
        b.summaries
            .insert("latency".into(), summary("ms", Better::Lower, &WALL));
        a.summaries
            .insert("only_a".into(), summary("x", Better::Lower, &WALL));
        b.summaries
            .insert("only_b".into(), summary("x", Better::Lower, &WALL));
        a.memory = Some(memory("heaptrack", 1_000_000.0, None));
        b.memory = Some(memory("massif", 1_500_000.0, Some(64.0)));
        let wall6 = [1.0, 1.1, 0.9, 1.05, 0.95, 1.02];
        let (pa, mut pb) = (paired(&wall6, "duet"), paired(&slower(&wall6, 1.3), "duet"));
        pb.memory = Some(memory("heaptrack", 1.0, None));
        let (mut ia, ib) = (paired(&wall6, "interleaved"), paired(&wall6, "interleaved"));
        ia.memory = Some(memory("heaptrack", 1.0, None));
        let text: String = [
            compare_scale(&a, &b, &settings(), Counter::Time),
            compare_scale(&a, &b, &settings(), Counter::Instructions),
            compare_scale(&pa, &pb, &settings(), Counter::Time),
            compare_scale(&ia, &ib, &settings(), Counter::Time),
        ]
        .iter()
        .map(|c| format!("{c:#?}\n"))
        .collect();
        crate::reports::golden::assert_golden("compare-scale.txt", &text);
    }

    #[test]
    fn too_few_runs_say_so() {
        let a = scale(&WALL[..2], &RPS[..2], "0");
        let b = scale(&slower(&WALL[..2], 3.0), &RPS[..2], "0");
        let m = &compare_scale(&a, &b, &settings(), Counter::Time).measures[0];
        assert_eq!(m.verdict(), Verdict::Inconclusive);
        assert!(!m.gate_failed);
    }

    #[test]
    fn json_has_a_schema_version_and_flat_measures() {
        let a = scale(&WALL, &RPS, "0");
        let report = report_of(&a, &a, Counter::Time);
        let json: serde_json::Value = serde_json::to_value(&report).unwrap();
        assert_eq!(json["schema_version"], SCHEMA_VERSION);
        let wall = &json["scales"][0]["measures"][0];
        assert_eq!(wall["name"], "wall_s");
        assert_eq!(wall["method"], "sampled");
        assert_eq!(wall["verdict"], "no_change");
        assert_eq!(wall["category"], "time");
        assert_eq!(wall["gate_failed"], false);
        assert!(wall["p_value"].as_f64().unwrap() > 0.9);
        assert_eq!(json["gate"]["passed"], true);
        assert_eq!(json["gate"]["counter"], "time");
    }
}
