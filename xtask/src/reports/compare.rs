//! The report of `cargo xtask profile-compare`: which measures changed
//! between two results (A, the baseline, and B, the new one), whether that is
//! beyond noise and beyond the configured limits, and where in the code.
//!
//! Building the report from two run records is pure (no I/O), so every
//! verdict and every rendering is unit-tested here; `tasks::compare` reads
//! the results, draws the flamegraphs and writes the files.

use crate::config::{self, Thresholds};
use crate::reports::functions::FunctionChange;
use crate::reports::markdown::format_value;
use crate::results::record::short_hash;
use crate::results::record::{RunRecord, ScaleRecord};
use crate::results::system_info::SystemInfo;
use crate::stats::{self, Better, CompareOptions, Comparison, ExactComparison, Verdict};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

/// Bumped on any incompatible change of `compare.json`.
pub const SCHEMA_VERSION: u32 = 1;
pub const JSON_FILE: &str = "compare.json";
pub const MARKDOWN_FILE: &str = "compare.md";
pub const DIFF_SVG: &str = "diff-flamegraph.svg";
pub const MEMORY_DIFF_SVG: &str = "diff-memory-flamegraph.svg";
/// The measure `--counter instructions` adds to a result's summaries.
pub const INSTRUCTIONS: &str = "instructions";

/// What the gate is decided on.
#[derive(Serialize, Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Counter {
    /// Timings and metrics, compared statistically over the runs.
    Time,
    /// Exact instruction counts under callgrind (deterministic; for noisy CI).
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

    fn short_commit(&self) -> String {
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
    /// Changes whose confidence interval reaches inside ±noise_pct are `~`.
    pub noise_pct: f64,
    pub min_samples: usize,
    pub thresholds: Thresholds,
}

impl Settings {
    pub fn new(thresholds: &Thresholds) -> Settings {
        let defaults = CompareOptions::default();
        Settings {
            alpha: defaults.alpha,
            noise_pct: thresholds.noise,
            min_samples: defaults.min_samples,
            thresholds: thresholds.clone(),
        }
    }

    fn options(&self) -> CompareOptions {
        CompareOptions {
            alpha: self.alpha,
            noise_band: self.noise_pct / 100.0,
            min_samples: self.min_samples,
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
            Outcome::Exact(e) => e.verdict != Verdict::NotEnoughSamples,
            Outcome::Sampled(c) => {
                let (n1, n2) = (c.a.n, c.b.n);
                let combinations =
                    (1..=n1.min(n2)).fold(1.0, |acc, k| acc * (n1 + n2 + 1 - k) as f64 / k as f64);
                c.verdict != Verdict::NotEnoughSamples && 2.0 / combinations < alpha
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

/// Decides the gate for one measure: a regression is a failure only when it
/// is significant (the verdict: p < alpha and the whole confidence interval
/// beyond the noise band) *and* its estimated size is beyond the measure's
/// limit. Exact comparisons already apply the limit in their verdict.
pub fn gate_fails(gated: bool, outcome: &Outcome, better: Better, limit_pct: f64) -> bool {
    if !gated {
        return false;
    }
    match outcome {
        Outcome::Sampled(c) => {
            let worse_by = match better {
                Better::Lower => c.change,
                Better::Higher => -c.change,
            };
            c.verdict == Verdict::Regressed && worse_by * 100.0 > limit_pct
        }
        Outcome::Exact(e) => e.verdict == Verdict::Regressed,
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
    /// Files written for this scale, relative to the compare directory.
    pub files: Vec<String>,
    /// What could not be compared, and why.
    pub notes: Vec<String>,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct GateFailure {
    pub scale: String,
    pub measure: String,
    pub change_pct: f64,
    pub limit_pct: f64,
}

#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct Gate {
    pub counter: Counter,
    /// No failure, and at least one gated measure could have shown one.
    pub passed: bool,
    pub failures: Vec<GateFailure>,
    /// Why the gate cannot decide (no gated measure compared, or too few
    /// runs for any change to be significant): a gate that could not fail
    /// does not pass.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub undecided: Option<String>,
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
        let failures: Vec<GateFailure> = scales
            .iter()
            .flat_map(|s| {
                s.measures
                    .iter()
                    .filter(|m| m.gate_failed)
                    .map(|m| GateFailure {
                        scale: s.scale.clone(),
                        measure: m.name.clone(),
                        change_pct: m.change() * 100.0,
                        limit_pct: m.limit_pct,
                    })
            })
            .collect();
        let decidable = scales
            .iter()
            .flat_map(|s| &s.measures)
            .filter(|m| m.gated)
            .any(|m| m.can_decide(settings.alpha));
        let undecided = (!decidable).then(|| {
            "no gated measure could show a significant change: both sides need timed runs of the same measures, \
             and at least 4 runs each (5 or more recommended) for p < 0.05 to be reachable"
                .to_string()
        });
        CompareReport {
            schema_version: SCHEMA_VERSION,
            created: crate::results::timestamp_iso(std::time::SystemTime::now()),
            a,
            b,
            settings,
            warnings,
            scales,
            gate: Gate {
                counter,
                passed: failures.is_empty() && undecided.is_none(),
                failures,
                undecided,
            },
        }
    }
}

pub fn stats_better(better: config::Better) -> Better {
    match better {
        config::Better::Higher => Better::Higher,
        config::Better::Lower => Better::Lower,
    }
}

/// Where a measure's limit comes from.
pub fn category_of(name: &str, better: Better) -> Category {
    match name {
        "wall_s" | "user_s" | "sys_s" => Category::Time,
        "max_rss_bytes" => Category::Memory,
        INSTRUCTIONS => Category::Instructions,
        _ if better == Better::Higher => Category::Throughput,
        _ => Category::Latency,
    }
}

/// Time first, then RSS, the workload's metrics, instructions.
fn measure_order(name: &str) -> usize {
    ["wall_s", "user_s", "sys_s", "max_rss_bytes"]
        .iter()
        .position(|o| *o == name)
        .unwrap_or(if name == INSTRUCTIONS { 6 } else { 5 })
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
    let options = settings.options();
    let mut measures = Vec::new();
    let mut notes = Vec::new();
    let mut names: Vec<&String> = a
        .summaries
        .keys()
        .filter(|n| b.summaries.contains_key(*n))
        .collect();
    names.sort_by_key(|n| (measure_order(n), n.as_str()));
    for name in names {
        let (ma, mb) = (&a.summaries[name], &b.summaries[name]);
        let better = stats_better(mb.better);
        if ma.better != mb.better {
            notes.push(format!(
                "{name}: A says {:?} is better, B {:?}; B's direction is used",
                ma.better, mb.better
            ));
        }
        let category = category_of(name, better);
        let limit_pct = category.limit_pct(&settings.thresholds);
        let outcome = if name == INSTRUCTIONS {
            Outcome::Exact(stats::compare_exact(
                ma.summary.median,
                mb.summary.median,
                better,
                limit_pct / 100.0,
            ))
        } else {
            Outcome::Sampled(stats::compare(&ma.samples, &mb.samples, better, &options))
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
    match (&a.memory, &b.memory) {
        (Some(ma), Some(mb)) => {
            let limit_pct = settings.thresholds.memory;
            let figures: [(&str, Option<f64>, Option<f64>, &str); 4] = [
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
    ScaleComparison {
        scale: b.scale.clone(),
        measures,
        functions: Vec::new(),
        memory_functions: Vec::new(),
        files: Vec::new(),
        notes,
    }
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
        gate_failed: gate_fails(gated, &outcome, better, limit_pct),
        outcome,
    }
}

/// Why two results may not be comparable: different workload, parameters,
/// command, build profile, machine or tools, uncommitted changes, failures.
pub fn comparability_warnings(
    a: &RunRecord,
    b: &RunRecord,
    pairs: &[(&ScaleRecord, &ScaleRecord)],
    system_a: Option<&SystemInfo>,
    system_b: Option<&SystemInfo>,
) -> Vec<String> {
    let mut warnings = Vec::new();
    if a.workload != b.workload {
        warnings.push(format!(
            "different workloads: `{}` vs `{}`",
            a.workload, b.workload
        ));
    }
    if a.build_profile != b.build_profile {
        warnings.push(format!(
            "different build profiles: `{}` vs `{}`",
            a.build_profile, b.build_profile
        ));
    }
    for (pa, pb) in pairs {
        let scale = if pairs.len() > 1 {
            format!(" (scale {})", pb.scale)
        } else {
            String::new()
        };
        let differing = param_differences(&pa.params, &pb.params);
        if !differing.is_empty() {
            warnings.push(format!(
                "different parameters{scale}: {}",
                differing.join(", ")
            ));
        } else if pa.argv.get(1..) != pb.argv.get(1..) {
            warnings.push(format!(
                "different command arguments{scale}: `{}` vs `{}`",
                pa.argv.get(1..).unwrap_or_default().join(" "),
                pb.argv.get(1..).unwrap_or_default().join(" ")
            ));
        }
        if pa.env != pb.env {
            warnings.push(format!(
                "different environment overrides{scale}: {:?} vs {:?}",
                pa.env, pb.env
            ));
        }
        if let (Some(ca), Some(cb)) = (&pa.cpu_profile, &pb.cpu_profile) {
            if ca.tool != cb.tool {
                warnings.push(format!(
                    "different CPU profilers: `{}` vs `{}`",
                    ca.tool, cb.tool
                ));
            }
            if ca.frequency != cb.frequency || ca.call_graph != cb.call_graph {
                warnings.push(format!(
                    "different sampling settings: {} Hz {} vs {} Hz {}",
                    ca.frequency, ca.call_graph, cb.frequency, cb.call_graph
                ));
            }
        }
    }
    match (system_a, system_b) {
        (Some(sa), Some(sb)) => {
            for difference in sa.differences(sb) {
                warnings.push(format!("different machine or tools: {difference}"));
            }
        }
        (None, _) => warnings
            .push("A has no readable system_info.json: the machines cannot be compared".into()),
        (_, None) => warnings
            .push("B has no readable system_info.json: the machines cannot be compared".into()),
    }
    for (side, record) in [("A", a), ("B", b)] {
        if record.git.dirty {
            warnings.push(format!(
                "{side} was measured on a dirty tree (uncommitted changes): commit {} does not identify the code",
                record.git.commit.as_deref().map_or("unknown", short_hash)
            ));
        }
        if let Some(failure) = &record.failure {
            warnings.push(format!(
                "{side} recorded a failure: {}",
                failure.lines().next().unwrap_or("")
            ));
        }
    }
    warnings
}

/// `slowdown: 0 → 5`, for every parameter that differs or is on one side only.
fn param_differences(a: &BTreeMap<String, String>, b: &BTreeMap<String, String>) -> Vec<String> {
    let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .map(|k| {
            let show = |v: Option<&String>| v.map_or("(unset)".to_string(), |v| v.clone());
            format!("{k}: {} → {}", show(a.get(k)), show(b.get(k)))
        })
        .collect()
}

/// A warning when the runs are too few for any difference to be significant
/// (e.g. 3 + 3 runs: the smallest two-sided p-value is 0.1).
pub fn sample_size_warning(n_a: usize, n_b: usize, alpha: f64) -> Option<String> {
    if n_a == 0 || n_b == 0 {
        return None;
    }
    let low: Vec<f64> = (0..n_a).map(|i| i as f64).collect();
    let high: Vec<f64> = (0..n_b).map(|i| (n_a + i) as f64).collect();
    let best = stats::mann_whitney_u(&low, &high)?.p_value;
    (best >= alpha).then(|| {
        format!(
            "{n_a} + {n_b} runs cannot show a significant change (smallest possible p-value {best:.3} ≥ {alpha}): \
             timings will read `~` whatever happened; use --runs 5 or more"
        )
    })
}

// ---------------------------------------------------------------------------
// Rendering
// ---------------------------------------------------------------------------

fn verdict_text(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Improved => "improved",
        Verdict::Regressed => "regressed",
        Verdict::NoChange => "~",
        Verdict::NotEnoughSamples => "not enough samples",
    }
}

fn pct(fraction: f64) -> String {
    format!("{:+.1} %", fraction * 100.0)
}

/// `136.8 ms ± 1.8 %`: median and coefficient of variation.
fn centre(summary: &stats::Summary, unit: &str) -> String {
    if summary.n == 0 {
        return "—".into();
    }
    if summary.n == 1 {
        return format_value(summary.median, unit);
    }
    format!(
        "{} ± {:.1} %",
        format_value(summary.median, unit),
        summary.cv * 100.0
    )
}

/// The cells of one measure's row: name, A, B, change, CI, p, verdict.
fn measure_cells(m: &MeasureComparison) -> [String; 7] {
    let name = if m.gated {
        m.name.clone()
    } else {
        format!("{} (not gated)", m.name)
    };
    match &m.outcome {
        Outcome::Sampled(c) => {
            let enough = c.verdict != Verdict::NotEnoughSamples;
            [
                name,
                centre(&c.a, &m.unit),
                centre(&c.b, &m.unit),
                if enough { pct(c.change) } else { "—".into() },
                if enough {
                    format!("[{}, {}]", pct(c.ci_low), pct(c.ci_high))
                } else {
                    "—".into()
                },
                if !enough {
                    "—".into()
                } else if c.p_value < 0.001 {
                    "<0.001".into()
                } else {
                    format!("{:.3}", c.p_value)
                },
                if enough {
                    verdict_text(c.verdict).to_string()
                } else {
                    format!("not enough samples ({} vs {})", c.a.n, c.b.n)
                },
            ]
        }
        Outcome::Exact(e) => [
            name,
            format_value(e.a, &m.unit),
            format_value(e.b, &m.unit),
            pct(e.change),
            format!("exact, limit ±{} %", m.limit_pct),
            "—".into(),
            verdict_text(e.verdict).to_string(),
        ],
    }
}

fn function_cells(f: &FunctionChange) -> [String; 7] {
    [
        format!("{:.1} %", f.self_before),
        format!("{:.1} %", f.self_after),
        format!("{:+.1}", f.self_delta()),
        format!("{:.1} %", f.total_before),
        format!("{:.1} %", f.total_after),
        format!("{:+.1}", f.total_after - f.total_before),
        f.name.clone(),
    ]
}

const MEASURE_HEADER: [&str; 7] = ["measure", "A", "B", "change", "95 % CI", "p", "verdict"];
const FUNCTION_HEADER: [&str; 7] = [
    "self A", "self B", "Δ self", "total A", "total B", "Δ total", "function",
];

/// ANSI styles for the terminal; all empty without colour.
struct Style {
    red: &'static str,
    green: &'static str,
    yellow: &'static str,
    dim: &'static str,
    bold: &'static str,
    reset: &'static str,
}

impl Style {
    fn new(colour: bool) -> Style {
        if colour {
            Style {
                red: "\x1b[31m",
                green: "\x1b[32m",
                yellow: "\x1b[33m",
                dim: "\x1b[2m",
                bold: "\x1b[1m",
                reset: "\x1b[0m",
            }
        } else {
            Style {
                red: "",
                green: "",
                yellow: "",
                dim: "",
                bold: "",
                reset: "",
            }
        }
    }

    fn verdict(&self, verdict: Verdict) -> &'static str {
        match verdict {
            Verdict::Regressed => self.red,
            Verdict::Improved => self.green,
            Verdict::NoChange => self.dim,
            Verdict::NotEnoughSamples => self.yellow,
        }
    }
}

/// Pads cells to aligned columns; `paint` gives each cell's colour (applied
/// after padding, so escape codes never shift the columns).
fn aligned(
    rows: &[[String; 7]],
    right: [bool; 7],
    paint: impl Fn(usize, usize) -> &'static str,
    reset: &str,
) -> String {
    let mut widths = [0usize; 7];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        let mut line = String::from("  ");
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            let padded = if right[c] {
                format!("{}{cell}", " ".repeat(pad))
            } else if c == row.len() - 1 {
                cell.clone()
            } else {
                format!("{cell}{}", " ".repeat(pad))
            };
            let colour = paint(r, c);
            if colour.is_empty() {
                line.push_str(&padded);
            } else {
                let _ = write!(line, "{colour}{padded}{reset}");
            }
            if c + 1 < row.len() {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// The report for a terminal (ANSI colour when `colour`).
pub fn render_terminal(report: &CompareReport, dir: Option<&str>, colour: bool) -> String {
    let s = Style::new(colour);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{}profile-compare{}  A: {} ({}, {})",
        s.bold,
        s.reset,
        report.a.name,
        report.a.short_commit(),
        report.a.created
    );
    let _ = writeln!(
        out,
        "                 B: {} ({}, {})",
        report.b.name,
        report.b.short_commit(),
        report.b.created
    );
    for warning in &report.warnings {
        let _ = writeln!(out, "{}warning:{} {warning}", s.yellow, s.reset);
    }
    for scale in &report.scales {
        out.push('\n');
        if report.scales.len() > 1 {
            let _ = writeln!(out, "{}scale {}{}", s.bold, scale.scale, s.reset);
        }
        let mut rows = vec![MEASURE_HEADER.map(String::from)];
        rows.extend(scale.measures.iter().map(measure_cells));
        let verdicts: Vec<Verdict> = scale.measures.iter().map(|m| m.verdict()).collect();
        out.push_str(&aligned(
            &rows,
            [false, true, true, true, false, true, false],
            |r, c| match (r, c) {
                (0, _) => s.bold,
                (r, 6) => s.verdict(verdicts[r - 1]),
                _ => "",
            },
            s.reset,
        ));
        for note in &scale.notes {
            let _ = writeln!(out, "  note: {note}");
        }
        for (title, functions) in [
            ("CPU samples", &scale.functions),
            ("heap at its peak", &scale.memory_functions),
        ] {
            if functions.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "\n  Where it changed ({title}, share in % of all; Δ in points):"
            );
            let mut rows = vec![FUNCTION_HEADER.map(String::from)];
            rows.extend(functions.iter().map(function_cells));
            let deltas: Vec<f64> = functions.iter().map(|f| f.self_delta()).collect();
            out.push_str(&aligned(
                &rows,
                [true, true, true, true, true, true, false],
                |r, c| match (r, c) {
                    (0, _) => s.bold,
                    (r, 2) if deltas[r - 1] > 0.0 => s.red,
                    (r, 2) if deltas[r - 1] < 0.0 => s.green,
                    _ => "",
                },
                s.reset,
            ));
        }
        for file in &scale.files {
            let path = dir.map_or(file.clone(), |d| format!("{d}/{file}"));
            let _ = writeln!(
                out,
                "  {} differential flamegraph (red grew, blue shrank): {path}",
                svg_kind(file)
            );
        }
    }
    out.push('\n');
    out.push_str(&gate_line(report, &s));
    out
}

/// "CPU" or "Memory", from a differential flamegraph's file name.
fn svg_kind(file: &str) -> &'static str {
    if file.ends_with(MEMORY_DIFF_SVG) {
        "Memory"
    } else {
        "CPU"
    }
}

fn gate_line(report: &CompareReport, s: &Style) -> String {
    let counter = match report.gate.counter {
        Counter::Time => "timings and metrics",
        Counter::Instructions => "exact counts",
    };
    if let Some(why) = &report.gate.undecided {
        format!("{}gate: UNDECIDED{} — {why}\n", s.red, s.reset)
    } else if report.gate.passed {
        format!(
            "{}gate: pass{} ({counter}: no significant regression beyond its threshold)\n",
            s.green, s.reset
        )
    } else {
        let list: Vec<String> = report.gate.failures.iter().map(failure_text).collect();
        format!(
            "{}{}gate: FAIL{} — {}\n",
            s.bold,
            s.red,
            s.reset,
            list.join("; ")
        )
    }
}

fn failure_text(f: &GateFailure) -> String {
    let scale = if f.scale == "default" {
        String::new()
    } else {
        format!("[{}] ", f.scale)
    };
    format!(
        "{scale}{} {:+.1} % (limit {} %)",
        f.measure, f.change_pct, f.limit_pct
    )
}

/// Escapes text for a Markdown table cell.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

/// A function name as inline code in a table cell (backticks in the name
/// would end the code span, so a longer fence is used then).
fn code(text: &str) -> String {
    let text = cell(text);
    if text.contains('`') {
        format!("`` {text} ``")
    } else {
        format!("`{text}`")
    }
}

/// A GitHub-flavoured Markdown report that pastes into a pull request.
pub fn render_markdown(report: &CompareReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "## profile-compare: `{}` → `{}`\n",
        report.a.name, report.b.name
    );
    out.push_str("| | A (baseline) | B (new) |\n|---|---|---|\n");
    let _ = writeln!(
        out,
        "| result | `{}` | `{}` |",
        cell(&report.a.name),
        cell(&report.b.name)
    );
    let _ = writeln!(
        out,
        "| commit | {} | {} |",
        report.a.short_commit(),
        report.b.short_commit()
    );
    let _ = writeln!(
        out,
        "| created | {} | {} |",
        report.a.created, report.b.created
    );
    let _ = writeln!(
        out,
        "| workload | `{}` | `{}` |",
        cell(&report.a.workload),
        cell(&report.b.workload)
    );
    out.push('\n');
    if !report.warnings.is_empty() {
        out.push_str("> [!WARNING]\n> **A and B may not be comparable:**\n");
        for warning in &report.warnings {
            let _ = writeln!(out, "> - {}", warning.replace('\n', " "));
        }
        out.push('\n');
    }
    for scale in &report.scales {
        if report.scales.len() > 1 {
            let _ = writeln!(out, "### Scale `{}`\n", scale.scale);
        }
        out.push_str("| measure | A | B | change | 95 % CI | p | verdict |\n");
        out.push_str("|---|---:|---:|---:|---|---:|---|\n");
        for m in &scale.measures {
            let cells = measure_cells(m);
            let mut row: Vec<String> = cells.iter().map(|c| cell(c)).collect();
            row[6] = match m.verdict() {
                Verdict::Regressed if m.gate_failed => {
                    format!("🔴 **{}** (beyond {} %)", row[6], m.limit_pct)
                }
                Verdict::Regressed => format!("🟠 {} (within {} %)", row[6], m.limit_pct),
                Verdict::Improved => format!("🟢 {}", row[6]),
                _ => row[6].clone(),
            };
            let _ = writeln!(out, "| {} |", row.join(" | "));
        }
        out.push('\n');
        for note in &scale.notes {
            let _ = writeln!(out, "_Note: {}_\n", cell(note));
        }
        for (title, functions) in [
            ("share of CPU samples", &scale.functions),
            ("share of the heap at its peak", &scale.memory_functions),
        ] {
            if functions.is_empty() {
                continue;
            }
            let _ = writeln!(
                out,
                "**Where it changed** ({title}, % of all; Δ in points):\n"
            );
            out.push_str("| function | self A | self B | Δ self | total A | total B | Δ total |\n");
            out.push_str("|---|---:|---:|---:|---:|---:|---:|\n");
            for f in functions {
                let cells = function_cells(f);
                let _ = writeln!(
                    out,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    code(&cells[6]),
                    cells[0],
                    cells[1],
                    cells[2],
                    cells[3],
                    cells[4],
                    cells[5]
                );
            }
            out.push('\n');
        }
        for file in &scale.files {
            let _ = writeln!(
                out,
                "{} differential flamegraph: [{file}]({file}) (shape of B; red grew, blue shrank)\n",
                svg_kind(file)
            );
        }
    }
    if let Some(why) = &report.gate.undecided {
        let _ = writeln!(out, "**Gate:** ⚠️ undecided: {}.", cell(why));
    } else if report.gate.passed {
        out.push_str("**Gate:** ✅ passed: no significant regression beyond its threshold.\n");
    } else {
        let list: Vec<String> = report.gate.failures.iter().map(failure_text).collect();
        let _ = writeln!(out, "**Gate:** ❌ failed: {}.", cell(&list.join("; ")));
    }
    let _ = writeln!(
        out,
        "\n<sub>Mann–Whitney U (α = {}), Hodges–Lehmann change with its {} % interval; `~` when p ≥ α or the \
         interval reaches inside ±{} %. Thresholds: time {} %, throughput {} %, latency {} %, memory {} %, instructions {} %.</sub>",
        report.settings.alpha,
        (100.0 * (1.0 - report.settings.alpha)).round(),
        report.settings.noise_pct,
        report.settings.thresholds.time,
        report.settings.thresholds.throughput,
        report.settings.thresholds.latency,
        report.settings.thresholds.memory,
        report.settings.thresholds.instructions,
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::results::record::{GitInfo, MeasureSummary};
    use crate::tools::memory_model::MemoryReport;

    fn summary(unit: &str, better: config::Better, samples: &[f64]) -> MeasureSummary {
        MeasureSummary {
            unit: unit.into(),
            better,
            samples: samples.to_vec(),
            summary: stats::summarize(samples).unwrap(),
        }
    }

    fn scale(wall: &[f64], rps: &[f64], slowdown: &str) -> ScaleRecord {
        let mut summaries = BTreeMap::new();
        summaries.insert("wall_s".into(), summary("s", config::Better::Lower, wall));
        summaries.insert(
            "records_per_sec".into(),
            summary("records/s", config::Better::Higher, rps),
        );
        ScaleRecord {
            scale: "default".into(),
            params: BTreeMap::from([
                ("subs".into(), "3000".into()),
                ("slowdown".into(), slowdown.into()),
            ]),
            argv: vec![
                "/t/cdr-demo".into(),
                "generate".into(),
                "--slowdown".into(),
                slowdown.into(),
            ],
            env: BTreeMap::new(),
            cwd: "/w".into(),
            warmup: 1,
            runs: Vec::new(),
            summaries,
            cpu_profile: None,
            memory: None,
            leak_check: None,
            load: None,
        }
    }

    fn record(dirty: bool, scales: Vec<ScaleRecord>) -> RunRecord {
        RunRecord {
            schema_version: 1,
            task: "profile-baseline".into(),
            label: "baseline".into(),
            created: "2026-11-22T04:05:06Z".into(),
            workload: "demo".into(),
            build_profile: "profiling".into(),
            git: GitInfo {
                commit: Some("0123456789abcdef".into()),
                dirty,
                branch: None,
            },
            scales,
            failure: None,
        }
    }

    fn settings() -> Settings {
        Settings::new(&Thresholds::default())
    }

    const WALL: [f64; 5] = [0.136, 0.133, 0.138, 0.135, 0.140];
    const RPS: [f64; 5] = [900e3, 920e3, 880e3, 905e3, 870e3];

    fn slower(xs: &[f64], factor: f64) -> Vec<f64> {
        xs.iter().map(|x| x * factor).collect()
    }

    fn report_of(a: &ScaleRecord, b: &ScaleRecord, counter: Counter) -> CompareReport {
        let side = |n: &str| {
            Side::of(
                n,
                std::path::Path::new("/r").join(n).as_path(),
                &record(false, vec![]),
            )
        };
        let scales = vec![compare_scale(a, b, &settings(), counter)];
        CompareReport::new(
            side("a"),
            side("b"),
            settings(),
            counter,
            Vec::new(),
            scales,
        )
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
    }

    /// 3 + 3 runs can never reach p < 0.05: a slowdown reads `~`, and a gate
    /// that could not have failed must not pass.
    #[test]
    fn a_gate_that_cannot_fail_does_not_pass() {
        let a = scale(&WALL[..3], &RPS[..3], "0");
        let b = scale(&slower(&WALL[..3], 8.0), &slower(&RPS[..3], 0.1), "20");
        let report = report_of(&a, &b, Counter::Time);
        assert!(report.scales[0]
            .measures
            .iter()
            .all(|m| m.verdict() == Verdict::NoChange));
        assert!(!report.gate.passed);
        assert!(report.gate.failures.is_empty());
        assert!(report
            .gate
            .undecided
            .as_deref()
            .unwrap()
            .contains("at least 4 runs"));
        assert_eq!(
            crate::tasks::compare::exit_code(&report, true),
            crate::exit::FAILURE
        );
        assert_eq!(crate::tasks::compare::exit_code(&report, false), 0);
        assert!(render_markdown(&report).contains("**Gate:** ⚠️ undecided"));
        // Five runs a side can decide.
        let report = report_of(
            &scale(&WALL, &RPS, "0"),
            &scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5"),
            Counter::Time,
        );
        assert!(report.gate.undecided.is_none());
        assert_eq!(
            crate::tasks::compare::exit_code(&report, true),
            crate::exit::REGRESSION
        );
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
    fn a_significant_change_within_the_limit_does_not_fail_the_gate() {
        // +4 %: beyond the ±2 % noise band and significant, but under time's 5 %.
        let tight = [1.000, 1.001, 0.999, 1.002, 0.998, 1.0005, 0.9995, 1.0015];
        let mut a = scale(&tight, &RPS, "0");
        let mut b = scale(&slower(&tight, 1.04), &RPS, "0");
        a.summaries.remove("records_per_sec");
        b.summaries.remove("records_per_sec");
        let m = &compare_scale(&a, &b, &settings(), Counter::Time).measures[0];
        assert_eq!(m.verdict(), Verdict::Regressed);
        assert!(!m.gate_failed);
        let mut strict = settings();
        strict.thresholds.time = 3.0;
        assert!(compare_scale(&a, &b, &strict, Counter::Time).measures[0].gate_failed);
    }

    #[test]
    fn instructions_are_exact_and_gate_alone_in_instructions_mode() {
        let mut a = scale(&WALL, &RPS, "0");
        let mut b = scale(&slower(&WALL, 2.0), &RPS, "0");
        a.summaries.insert(
            INSTRUCTIONS.into(),
            summary("instructions", config::Better::Lower, &[1_000_000.0]),
        );
        b.summaries.insert(
            INSTRUCTIONS.into(),
            summary("instructions", config::Better::Lower, &[1_005_000.0]),
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
            summary("instructions", config::Better::Lower, &[1_020_000.0]),
        );
        let report = report_of(&a, &b, Counter::Instructions);
        assert_eq!(report.gate.failures.len(), 1);
        assert_eq!(report.gate.failures[0].measure, INSTRUCTIONS);
        // In time mode the slower wall time fails the gate too.
        assert_eq!(report_of(&a, &b, Counter::Time).gate.failures.len(), 2);
    }

    #[test]
    fn memory_figures_compare_exactly_when_both_sides_have_them() {
        let mut a = scale(&WALL, &RPS, "0");
        let mut b = scale(&WALL, &RPS, "0");
        a.memory = Some(MemoryReport {
            tool: "heaptrack".into(),
            peak_heap_bytes: Some(1_000_000.0),
            total_allocations: Some(1000),
            temporary_allocations: Some(10),
            ..MemoryReport::default()
        });
        b.memory = Some(MemoryReport {
            tool: "heaptrack".into(),
            peak_heap_bytes: Some(1_500_000.0),
            total_allocations: Some(1100),
            leaked_bytes: Some(64.0),
            ..MemoryReport::default()
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

    #[test]
    fn too_few_runs_say_so() {
        let a = scale(&WALL[..2], &RPS[..2], "0");
        let b = scale(&slower(&WALL[..2], 3.0), &RPS[..2], "0");
        let m = &compare_scale(&a, &b, &settings(), Counter::Time).measures[0];
        assert_eq!(m.verdict(), Verdict::NotEnoughSamples);
        assert!(!m.gate_failed);
        assert!(measure_cells(m)[6].contains("not enough samples (2 vs 2)"));
        assert!(sample_size_warning(3, 3, 0.05)
            .unwrap()
            .contains("smallest possible p-value 0.100"));
        assert_eq!(sample_size_warning(5, 5, 0.05), None);
        assert_eq!(sample_size_warning(4, 4, 0.05), None);
    }

    #[test]
    fn warnings_name_what_differs() {
        let a = scale(&WALL, &RPS, "0");
        let mut b = scale(&WALL, &RPS, "5");
        b.env.insert("RUST_LOG".into(), "debug".into());
        let ra = record(false, vec![a.clone()]);
        let mut rb = record(true, vec![b.clone()]);
        rb.workload = "service".into();
        rb.build_profile = "release".into();
        let sa = SystemInfo {
            cores: 2,
            ..SystemInfo::default()
        };
        let sb = SystemInfo {
            cores: 8,
            ..SystemInfo::default()
        };
        let w = comparability_warnings(&ra, &rb, &[(&a, &b)], Some(&sa), Some(&sb));
        let all = w.join("\n");
        for expected in [
            "different workloads: `demo` vs `service`",
            "different build profiles: `profiling` vs `release`",
            "different parameters: slowdown: 0 → 5",
            "different environment overrides",
            "different machine or tools: cores: `2` vs `8`",
            "B was measured on a dirty tree",
        ] {
            assert!(all.contains(expected), "missing {expected:?} in:\n{all}");
        }
        let none = comparability_warnings(&ra, &ra, &[(&a, &a)], Some(&sa), Some(&sa));
        assert!(none.is_empty(), "{none:?}");
        let missing = comparability_warnings(&ra, &ra, &[(&a, &a)], None, Some(&sa));
        assert_eq!(missing.len(), 1);
        assert!(missing[0].contains("A has no readable system_info.json"));
    }

    /// Every line of every table has the same number of cells as its header,
    /// and the second line is the delimiter row: what GitHub needs to render it.
    fn assert_tables_are_well_formed(markdown: &str) -> usize {
        let lines: Vec<&str> = markdown.lines().collect();
        let mut tables = 0;
        let mut i = 0;
        let cells = |line: &str| -> usize {
            let inner = line
                .trim()
                .strip_prefix('|')
                .and_then(|l| l.strip_suffix('|'))
                .expect(line);
            inner.replace("\\|", "").split('|').count()
        };
        while i < lines.len() {
            if lines[i].starts_with('|') {
                tables += 1;
                let width = cells(lines[i]);
                let delimiter = lines[i + 1];
                assert_eq!(cells(delimiter), width, "{delimiter}");
                assert!(
                    delimiter.trim_matches('|').split('|').all(|c| {
                        c.trim_matches(':').chars().all(|ch| ch == '-') && c.contains("---")
                    }),
                    "{delimiter}"
                );
                i += 2;
                while i < lines.len() && lines[i].starts_with('|') {
                    assert_eq!(cells(lines[i]), width, "{}", lines[i]);
                    i += 1;
                }
                // A table must be followed by a blank line (or the end).
                assert!(i == lines.len() || lines[i].is_empty(), "{:?}", lines[i]);
            } else {
                i += 1;
            }
        }
        tables
    }

    #[test]
    fn markdown_is_a_github_table() {
        let a = scale(&WALL, &RPS, "0");
        let b = scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5");
        let mut report = report_of(&a, &b, Counter::Time);
        report
            .warnings
            .push("different parameters: slowdown: 0 → 5".into());
        report.scales[0].functions = vec![FunctionChange {
            name: "<cdr_demo::X as core::ops::Fn|weird>::call".into(),
            self_before: 1.0,
            self_after: 52.5,
            total_before: 1.0,
            total_after: 52.5,
        }];
        report.scales[0].files.push(DIFF_SVG.into());
        let markdown = render_markdown(&report);
        assert_eq!(assert_tables_are_well_formed(&markdown), 3, "{markdown}");
        assert!(
            markdown.contains("| measure | A | B | change | 95 % CI | p | verdict |"),
            "{markdown}"
        );
        assert!(markdown.contains("| wall_s | 136.0 ms ± 2.0 % | 340.0 ms ± 2.0 % | +150.4 % | [+144.5 %, +157.4 %] | 0.008 | 🔴 **regressed** (beyond 5 %) |"), "{markdown}");
        assert!(
            markdown.contains(
                "`<cdr_demo::X as core::ops::Fn\\|weird>::call` | 1.0 % | 52.5 % | +51.5 |"
            ),
            "{markdown}"
        );
        assert!(markdown.contains(
            "> [!WARNING]\n> **A and B may not be comparable:**\n> - different parameters"
        ));
        assert!(markdown.contains("[diff-flamegraph.svg](diff-flamegraph.svg)"));
        assert!(markdown.contains("**Gate:** ❌ failed: wall_s +150.4 % (limit 5 %); records_per_sec -59.8 % (limit 10 %)."));
        assert!(!markdown.contains('\x1b'));
    }

    #[test]
    fn terminal_colour_only_when_asked() {
        let a = scale(&WALL, &RPS, "0");
        let b = scale(&slower(&WALL, 2.5), &slower(&RPS, 0.4), "5");
        let report = report_of(&a, &b, Counter::Time);
        let plain = render_terminal(&report, Some("results/compare-a-vs-b"), false);
        assert!(!plain.contains('\x1b'), "{plain}");
        assert!(
            plain.contains("gate: FAIL — wall_s +150.4 % (limit 5 %)"),
            "{plain}"
        );
        let lines: Vec<&str> = plain
            .lines()
            .filter(|l| {
                l.trim_start().starts_with("wall_s") || l.trim_start().starts_with("measure")
            })
            .collect();
        // Columns line up: "change" header ends where the wall_s change ends.
        let column_end = |line: &str, text: &str| {
            line[..line.find(text).unwrap() + text.len()]
                .chars()
                .count()
        };
        let header_end = column_end(lines[0], "change");
        let value_end = column_end(lines[1], "+150.4 %");
        assert_eq!(header_end, value_end, "{plain}");
        let coloured = render_terminal(&report, None, true);
        assert!(coloured.contains("\x1b[31mregressed"), "{coloured}");
        assert!(coloured.contains("\x1b[0m"));
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
