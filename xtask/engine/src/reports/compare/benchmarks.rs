//! criterion benchmarks in comparisons: which `criterion/` measures can be
//! compared run by run at all, and the ratio of two benchmarks' times
//! (`profile-compare RESULT#A RESULT#B`), such as a wrapper against the raw
//! store it wraps, measured by one bench.
//!
//! A bench result made today holds one estimate per analysed invocation of
//! the bench; an older one holds criterion's samples of a single invocation,
//! which share that invocation's machine state: taken for independent runs,
//! two invocations of the same code differ "significantly" almost always.
//! Such samples are never compared as if they were runs.

use crate::reports::units::format_seconds;
use crate::results::record::{CriterionRuns, RunRecord, ScaleRecord};
use crate::runs::criterion::PREFIX;
use crate::stats;
use serde::Serialize;

/// The `criterion/` measures both scales have whose samples are not one
/// estimate per invocation on both sides (an older result's), and the note
/// that says why they are not compared.
pub(super) fn single_invocation(a: &ScaleRecord, b: &ScaleRecord) -> (Vec<String>, Option<String>) {
    let old: Vec<&str> = [("A", a), ("B", b)]
        .into_iter()
        .filter(|(_, s)| !CriterionRuns::are_invocations(s.criterion.as_ref()))
        .map(|(side, _)| side)
        .collect();
    let names: Vec<String> = a
        .summaries
        .keys()
        .filter(|n| n.starts_with(PREFIX) && b.summaries.contains_key(*n))
        .cloned()
        .collect();
    if old.is_empty() || names.is_empty() {
        return (Vec::new(), None);
    }
    let note = format!(
        "{}: {} {} criterion's samples of a single invocation (an older result), which share that \
         invocation's machine state and are not independent runs: not compared; measure {} again \
         to compare them invocation by invocation",
        names.join(", "),
        old.join(" and "),
        if old.len() == 1 { "holds" } else { "hold" },
        old.join(" and "),
    );
    (names, Some(note))
}

/// Bumped on any incompatible change of the JSON of a [`BenchmarkRatio`].
pub const RATIO_SCHEMA_VERSION: u32 = 1;

/// One benchmark of one result, as compared.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct BenchmarkSide {
    /// The result directory's name.
    pub result: String,
    /// The benchmark id, as criterion names it.
    pub benchmark: String,
    /// Each invocation's estimate (criterion's median per iteration), in
    /// seconds, in run order.
    pub estimates_s: Vec<f64>,
    /// Their median.
    pub median_s: f64,
}

/// B's time per iteration over A's, with its interval.
#[derive(Serialize, Debug, Clone, PartialEq)]
pub struct BenchmarkRatio {
    pub schema_version: u32,
    pub a: BenchmarkSide,
    pub b: BenchmarkSide,
    /// Estimate i of A and of B come from one invocation (one result), or
    /// from one pair of interleaved invocations: analysed pair by pair.
    pub paired: bool,
    /// How the ratio and its interval were estimated.
    pub analysis: String,
    /// B / A − 1: +0.12 means B takes 12 % longer per iteration.
    pub change: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    /// The interval's confidence level: 1 − alpha, or less where the
    /// invocations are too few for it (the interval is then their range).
    pub confidence: f64,
    /// What tells the two benchmarks apart (`wrapper vs raw`).
    pub label: String,
}

/// A scale's benchmarks (without the `criterion/` prefix), for messages.
fn benchmarks_of(scale: &ScaleRecord) -> Vec<&str> {
    scale
        .summaries
        .keys()
        .filter_map(|n| n.strip_prefix(PREFIX))
        .collect()
}

/// The estimates of `benchmark` in `result`'s one scale, or what is wrong.
fn side(result: &str, record: &RunRecord, benchmark: &str) -> Result<BenchmarkSide, String> {
    let [scale] = record.scales.as_slice() else {
        return Err(format!(
            "{result} holds {} scales; benchmarks are compared within results of one scale",
            record.scales.len()
        ));
    };
    let id = benchmark.strip_prefix(PREFIX).unwrap_or(benchmark);
    let Some(measure) = scale.summaries.get(&format!("{PREFIX}{id}")) else {
        let known = benchmarks_of(scale);
        return Err(if known.is_empty() {
            format!("{result} has no criterion benchmark (is it a result of a `bench` workload?)")
        } else {
            format!(
                "{result} has no benchmark `{id}`; it has: {}",
                known.join(", ")
            )
        });
    };
    if !CriterionRuns::are_invocations(scale.criterion.as_ref()) {
        return Err(format!(
            "{result} holds criterion's samples of a single invocation (an older result), not one \
             estimate per invocation: measure it again with `cargo xtask profile-baseline`"
        ));
    }
    Ok(BenchmarkSide {
        result: result.to_string(),
        benchmark: id.to_string(),
        estimates_s: measure.samples.clone(),
        median_s: measure.summary.median,
    })
}

/// B's benchmark against A's: the Hodges–Lehmann ratio of their estimates
/// and its distribution-free interval, on the per-invocation ratios when
/// `paired` (the same invocations), else on the two sets of estimates.
pub fn benchmark_ratio(
    (result_a, record_a, bench_a): (&str, &RunRecord, &str),
    (result_b, record_b, bench_b): (&str, &RunRecord, &str),
    same_invocations: bool,
    alpha: f64,
) -> Result<BenchmarkRatio, String> {
    let a = side(result_a, record_a, bench_a)?;
    let b = side(result_b, record_b, bench_b)?;
    let interleaved = match (&record_a.scales[0].pairing, &record_b.scales[0].pairing) {
        (Some(pa), Some(pb)) => pa.id == pb.id,
        _ => false,
    };
    let (na, nb) = (a.estimates_s.len(), b.estimates_s.len());
    if na < 2 || nb < 2 {
        return Err(format!(
            "{} vs {}: {na} and {nb} invocations; an interval needs at least 2 a side (measure with --runs 5)",
            a.benchmark, b.benchmark
        ));
    }
    let paired = (same_invocations || interleaved) && na == nb;
    let (ratio, low, high, confidence, analysis) = if paired {
        let p = stats::paired::analyze(&a.estimates_s, &b.estimates_s, alpha)
            .ok_or("an estimate is not a positive number")?;
        // With fewer pairs than the test needs, the interval is the range of
        // the Walsh averages: it covers 1 − 2/2^n.
        let confidence = if p.pairs < stats::MIN_PAIRS {
            1.0 - 2f64.powi(1 - p.pairs as i32)
        } else {
            1.0 - alpha
        };
        let how = if same_invocations {
            "the same invocations"
        } else {
            "interleaved invocations"
        };
        let analysis = format!(
            "Paired: estimate i of A and of B come from {how}; Hodges–Lehmann ratio of the {} per-invocation ratios B/A",
            p.pairs
        );
        (p.hl_ratio, p.ci_low, p.ci_high, confidence, analysis)
    } else {
        let ln = |xs: &[f64]| xs.iter().map(|x| x.ln()).collect::<Vec<f64>>();
        let shift = stats::hodges_lehmann(&ln(&a.estimates_s), &ln(&b.estimates_s), alpha)
            .ok_or("an estimate is not a positive number")?;
        let analysis = format!(
            "Unpaired: Hodges–Lehmann ratio of {nb} estimates of B to {na} of A (different invocations)"
        );
        (
            shift.shift.exp(),
            shift.ci_low.exp(),
            shift.ci_high.exp(),
            shift.achieved_confidence,
            analysis,
        )
    };
    if ![ratio, low, high].iter().all(|x| x.is_finite() && *x > 0.0) {
        return Err("an estimate is not a positive number".into());
    }
    Ok(BenchmarkRatio {
        schema_version: RATIO_SCHEMA_VERSION,
        label: label(&a, &b),
        a,
        b,
        paired,
        analysis,
        change: ratio - 1.0,
        ci_low: low - 1.0,
        ci_high: high - 1.0,
        confidence,
    })
}

/// What tells two benchmarks apart: the parts of their ids that differ
/// (`insert/raw/100` and `insert/wrapper/100`: `wrapper vs raw`), or the
/// results when the ids are the same.
fn label(a: &BenchmarkSide, b: &BenchmarkSide) -> String {
    let (pa, pb): (Vec<&str>, Vec<&str>) = (
        a.benchmark.split('/').collect(),
        b.benchmark.split('/').collect(),
    );
    let front = pa.iter().zip(&pb).take_while(|(x, y)| x == y).count();
    let back = pa[front..]
        .iter()
        .rev()
        .zip(pb[front..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (da, db) = (
        pa[front..pa.len() - back].join("/"),
        pb[front..pb.len() - back].join("/"),
    );
    if da.is_empty() && db.is_empty() {
        format!("{} in {} vs {}", a.benchmark, b.result, a.result)
    } else {
        format!(
            "{} vs {}",
            if db.is_empty() { &b.benchmark } else { &db },
            if da.is_empty() { &a.benchmark } else { &da }
        )
    }
}

fn pct(fraction: f64) -> String {
    format!("{:+.1} %", fraction * 100.0)
}

fn level(confidence: f64) -> String {
    let pct = confidence * 100.0;
    if (pct - pct.round()).abs() < 0.05 {
        format!("{pct:.0} %")
    } else {
        format!("{pct:.1} %")
    }
}

impl BenchmarkRatio {
    /// `wrapper vs raw: +12.3 % [+8.1 %, +16.0 %]`.
    pub fn headline(&self) -> String {
        format!(
            "{}: {} [{}, {}]",
            self.label,
            pct(self.change),
            pct(self.ci_low),
            pct(self.ci_high)
        )
    }

    /// What the interval is, and what it says.
    fn reading(&self) -> String {
        let says = if self.ci_low > 0.0 {
            "B takes longer per iteration than A"
        } else if self.ci_high < 0.0 {
            "B takes less time per iteration than A"
        } else {
            "the interval holds no difference: these invocations cannot tell A and B apart"
        };
        // Fewer invocations than a 95 % interval needs: it is their range.
        let few = if self.confidence < 0.95 - 1e-9 {
            " (too few invocations for 95 %: measure with more --runs)"
        } else {
            ""
        };
        format!(
            "B/A of the time per iteration, {} interval{few}; {says}",
            level(self.confidence)
        )
    }

    fn side_line(side: &BenchmarkSide) -> String {
        format!(
            "{} of {}: {} (median of {} invocations)",
            side.benchmark,
            side.result,
            format_seconds(side.median_s),
            side.estimates_s.len()
        )
    }

    /// The comparison as plain text.
    pub fn render_text(&self) -> String {
        format!(
            "profile-compare  benchmarks, B against A\n  A: {}\n  B: {}\n\n{}\n  {}\n  {}\n",
            Self::side_line(&self.a),
            Self::side_line(&self.b),
            self.headline(),
            self.reading(),
            self.analysis,
        )
    }

    /// The comparison as Markdown, to paste into a pull request.
    pub fn render_markdown(&self) -> String {
        use crate::reports::markdown_text::{code_cell, text};
        let row = |side: &str, s: &BenchmarkSide| {
            format!(
                "| {side} | {} | {} | {} | {} |\n",
                code_cell(&s.benchmark),
                text(&s.result),
                format_seconds(s.median_s),
                s.estimates_s.len()
            )
        };
        format!(
            "## Benchmarks, B against A\n\n| | benchmark | result | median per iteration | invocations |\n|---|---|---|---:|---:|\n{}{}\n**{}**\n\n{}. {}.\n",
            row("A", &self.a),
            row("B", &self.b),
            text(&self.headline()),
            text(&self.reading()),
            text(&self.analysis),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Better;
    use crate::reports::compare::fixtures::{record, scale, summary};
    use crate::results::record::Pairing;

    const RAW: [f64; 6] = [110e-6, 118e-6, 104e-6, 125e-6, 109e-6, 113e-6];

    fn bench_record(benchmarks: &[(&str, Vec<f64>)], invocations: bool) -> RunRecord {
        let mut s = scale(&[0.1, 0.2], &[1.0, 2.0], "0");
        for (id, samples) in benchmarks {
            s.summaries.insert(
                format!("{PREFIX}{id}"),
                summary("s", Better::Lower, samples),
            );
        }
        s.criterion = invocations.then(|| CriterionRuns {
            samples: crate::runs::criterion::INVOCATIONS.into(),
            estimate: "median".into(),
            measurement_s: 1.0,
            intervals: Default::default(),
        });
        record(false, vec![s])
    }

    /// A wrapper 12 % slower than the raw store in every invocation, while
    /// the invocations themselves vary by ±10 %: paired, the ratio is
    /// exactly 1.12; unpaired, the spread of the invocations widens it.
    #[test]
    fn a_wrapper_s_overhead_within_one_result_is_paired() {
        let wrapper: Vec<f64> = RAW.iter().map(|x| x * 1.12).collect();
        let one = bench_record(
            &[
                ("insert/raw/100", RAW.to_vec()),
                ("insert/wrapper/100", wrapper),
            ],
            true,
        );
        let r = benchmark_ratio(
            ("one", &one, "insert/raw/100"),
            ("one", &one, "criterion/insert/wrapper/100"),
            true,
            0.05,
        )
        .unwrap();
        assert!(r.paired);
        assert_eq!(r.label, "wrapper vs raw");
        assert!(
            (r.change - 0.12).abs() < 1e-9 && (r.ci_low - 0.12).abs() < 1e-9,
            "{r:?}"
        );
        assert_eq!(r.confidence, 0.95);
        assert_eq!(r.headline(), "wrapper vs raw: +12.0 % [+12.0 %, +12.0 %]");
        assert!(
            r.render_text()
                .contains("insert/raw/100 of one: 111.5 µs (median of 6 invocations)"),
            "{}",
            r.render_text()
        );
        assert!(r
            .render_text()
            .contains("B takes longer per iteration than A"));
        assert!(
            r.render_markdown()
                .contains("| A | `insert/raw/100` | one | 111.5 µs | 6 |"),
            "{}",
            r.render_markdown()
        );

        let unpaired = benchmark_ratio(
            ("one", &one, "insert/raw/100"),
            ("one", &one, "insert/wrapper/100"),
            false,
            0.05,
        )
        .unwrap();
        assert!(!unpaired.paired && unpaired.analysis.starts_with("Unpaired"));
        assert!(
            unpaired.ci_low < 0.05 && unpaired.ci_high > 0.2,
            "{unpaired:?}"
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["a"]["estimates_s"].as_array().unwrap().len(), 6);
        assert_eq!(json["paired"], true);

        // Five pairs: the interval is their range, at 1 − 2/32.
        let five = bench_record(&[("a", RAW[..5].to_vec()), ("b", RAW[1..].to_vec())], true);
        let r = benchmark_ratio(("five", &five, "a"), ("five", &five, "b"), true, 0.05).unwrap();
        assert_eq!(r.confidence, 0.9375);
        assert!(
            r.render_text().contains("93.8 % interval"),
            "{}",
            r.render_text()
        );
    }

    #[test]
    fn a_missing_benchmark_names_those_the_result_has() {
        let one = bench_record(
            &[
                ("insert/raw/100", RAW.to_vec()),
                ("get/raw/100", RAW.to_vec()),
            ],
            true,
        );
        let error = benchmark_ratio(
            ("one", &one, "insert/raw/10"),
            ("one", &one, "get/raw/100"),
            true,
            0.05,
        )
        .unwrap_err();
        assert_eq!(
            error,
            "one has no benchmark `insert/raw/10`; it has: get/raw/100, insert/raw/100"
        );
        let plain = record(false, vec![scale(&[0.1, 0.2], &[1.0, 2.0], "0")]);
        let error = benchmark_ratio(
            ("plain", &plain, "x"),
            ("one", &one, "get/raw/100"),
            false,
            0.05,
        )
        .unwrap_err();
        assert!(error.contains("no criterion benchmark"), "{error}");
        let old = bench_record(&[("x", RAW.to_vec())], false);
        let error = benchmark_ratio(
            ("old", &old, "x"),
            ("one", &one, "get/raw/100"),
            false,
            0.05,
        )
        .unwrap_err();
        assert!(error.contains("single invocation"), "{error}");
        let few = bench_record(&[("x", RAW[..1].to_vec())], true);
        let error = benchmark_ratio(
            ("few", &few, "x"),
            ("one", &one, "get/raw/100"),
            false,
            0.05,
        )
        .unwrap_err();
        assert!(error.contains("at least 2"), "{error}");
    }

    #[test]
    fn interleaved_sides_are_paired_and_the_same_benchmark_is_told_by_its_results() {
        let pairing = Some(Pairing {
            id: "p".into(),
            order: "interleaved".into(),
            sequential: false,
        });
        let mut raw = bench_record(&[("insert", RAW.to_vec())], true);
        raw.scales[0].pairing = pairing.clone();
        let wrapper: Vec<f64> = RAW.iter().map(|x| x * 0.9).collect();
        let mut new = bench_record(&[("insert", wrapper)], true);
        new.scales[0].pairing = pairing;
        let r = benchmark_ratio(
            ("old", &raw, "insert"),
            ("new", &new, "insert"),
            false,
            0.05,
        )
        .unwrap();
        assert!(r.paired && r.analysis.contains("interleaved"), "{r:?}");
        assert_eq!(r.label, "insert in new vs old");
        assert!(r
            .render_text()
            .contains("B takes less time per iteration than A"));
    }

    #[test]
    fn an_older_result_s_criterion_samples_are_not_compared_as_runs() {
        let old = bench_record(&[("x", RAW.to_vec())], false);
        let new = bench_record(&[("x", RAW.to_vec())], true);
        let (names, note) = single_invocation(&old.scales[0], &new.scales[0]);
        assert_eq!(names, ["criterion/x"]);
        assert!(note
            .unwrap()
            .contains("A holds criterion's samples of a single invocation"));
        assert_eq!(
            single_invocation(&new.scales[0], &new.scales[0]),
            (Vec::new(), None)
        );
    }
}
