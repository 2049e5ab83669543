//! Whether A and B can be compared: which of their scales pair up, and the
//! warnings shown above the verdicts when workloads, parameters, commands,
//! build profiles, machines or tools differ, a tree was dirty, a run failed,
//! or the runs are too few for any change to be significant. Part of the
//! model: pure, rendering nothing.

use crate::results::record::{short_hash, RunRecord, ScaleRecord};
use crate::results::system_info::SystemInfo;
use crate::results::Entry;
use crate::runs::callgrind::INSTRUCTIONS;
use crate::runs::measure::NOISY_CV;
use crate::stats;
use anyhow::bail;
use std::collections::{BTreeMap, BTreeSet};

/// A scale of A and the same scale of B.
pub type ScalePair<'e> = (&'e ScaleRecord, &'e ScaleRecord);

/// Matches the scales of A and B by name. Two single-scale results are
/// compared even when their scale names differ (with a warning).
pub fn pair_scales<'e>(
    a: &'e Entry,
    b: &'e Entry,
) -> anyhow::Result<(Vec<ScalePair<'e>>, Vec<String>)> {
    let (sa, sb) = (&a.record.scales, &b.record.scales);
    let mut warnings = Vec::new();
    if sa.len() == 1 && sb.len() == 1 {
        if sa[0].scale != sb[0].scale {
            warnings.push(format!(
                "different scales: `{}` vs `{}`",
                sa[0].scale, sb[0].scale
            ));
        }
        return Ok((vec![(&sa[0], &sb[0])], warnings));
    }
    let pairs: Vec<_> = sb
        .iter()
        .filter_map(|b_scale| {
            sa.iter()
                .find(|s| s.scale == b_scale.scale)
                .map(|a_scale| (a_scale, b_scale))
        })
        .collect();
    for (side, mine, theirs) in [("A", sa, sb), ("B", sb, sa)] {
        let only: Vec<&str> = mine
            .iter()
            .filter(|s| !theirs.iter().any(|t| t.scale == s.scale))
            .map(|s| s.scale.as_str())
            .collect();
        if !only.is_empty() {
            warnings.push(format!(
                "scales only in {side}, not compared: {}",
                only.join(", ")
            ));
        }
    }
    if pairs.is_empty() {
        let names = |s: &[ScaleRecord]| {
            s.iter()
                .map(|s| s.scale.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        };
        bail!(
            "{} and {} have no scale in common (A: {}; B: {}): measure both with the same --scale",
            a.name,
            b.name,
            names(sa),
            names(sb)
        );
    }
    Ok((pairs, warnings))
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
    } else if a.workload_and_scenario() != b.workload_and_scenario() {
        warnings.push(format!(
            "different load scenarios: `{}` vs `{}`",
            a.workload_and_scenario(),
            b.workload_and_scenario()
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
        warnings.extend(contention_warning(pa, pb, &scale));
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
    warnings.extend(noisy_timings(pairs));
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

/// How far apart (in shares of the machine's CPU) the median load of other
/// programs over A's and B's runs may be before the two are said to have
/// run under different contention: one busy core of a four-core machine.
pub const CONTENTION_MARGIN: f64 = 0.25;

/// A warning when A's and B's runs ran under different contention: the
/// median share of the machine's CPU that other programs took over their
/// runs differs by more than [`CONTENTION_MARGIN`].
fn contention_warning(a: &ScaleRecord, b: &ScaleRecord, scale: &str) -> Option<String> {
    let (ca, cb) = (a.contention()?, b.contention()?);
    if (cb.median_others - ca.median_others).abs() <= CONTENTION_MARGIN {
        return None;
    }
    Some(format!(
        "different contention{scale}: other programs took a median {:.0} % of the machine's CPU \
         during A's runs and {:.0} % during B's (heavy contention, {:.0} % or more with steal, in \
         {} of {} runs of A and {} of {} of B): wall times differ by the machine's load as well \
         as by the code; read cpu_s first, or compare exact counts (--counter instructions)",
        ca.median_others * 100.0,
        cb.median_others * 100.0,
        crate::runs::machine_load::HEAVY_CONTENTION * 100.0,
        ca.heavy,
        ca.runs,
        cb.heavy,
        cb.runs
    ))
}

/// A change of wall time that a difference of contention can explain
/// ([`contention_explains`]), with the figures that show it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ContentionEffect {
    /// Median share of the machine's CPU other programs took over A's runs.
    pub others_a: f64,
    /// The same over B's runs.
    pub others_b: f64,
    /// Relative change of the median wall time, A to B.
    pub wall_change: f64,
    /// Relative change of the median CPU time, A to B.
    pub cpu_change: f64,
}

impl ContentionEffect {
    pub fn describe(&self) -> String {
        let (more, less) = if self.others_b > self.others_a {
            ("B", "A")
        } else {
            ("A", "B")
        };
        format!(
            "the change of wall time ({:+.1} %) may be the machine's: CPU time moved {:+.1} % only, \
             and {more} ran while other programs took a median {:.0} % of the machine's CPU \
             against {:.0} % for {less}",
            self.wall_change * 100.0,
            self.cpu_change * 100.0,
            self.others_a.max(self.others_b) * 100.0,
            self.others_a.min(self.others_b) * 100.0
        )
    }
}

/// Could a difference of contention explain the change of wall time from A
/// to B? Yes when all three hold:
/// - both sides recorded the machine's load, and the median share other
///   programs took differs by more than [`CONTENTION_MARGIN`];
/// - the median wall time moved beyond `noise_band` (relative, 0.02 for
///   2 %) toward the side under more contention (slower there);
/// - the median CPU time per run moved by no more than `noise_band`, or by
///   no more than a quarter of the wall time's change: the work was the
///   same, the run waited longer for a core.
///
/// A slower B whose CPU time grew too is the code's doing, whatever the
/// load; a program workload's `wall_s` and `cpu_s` are read.
pub fn contention_explains(
    a: &ScaleRecord,
    b: &ScaleRecord,
    noise_band: f64,
) -> Option<ContentionEffect> {
    let (ca, cb) = (a.contention()?, b.contention()?);
    let gap = cb.median_others - ca.median_others;
    if gap.abs() <= CONTENTION_MARGIN {
        return None;
    }
    let change = |name: &str| {
        let (ma, mb) = (a.summaries.get(name)?, b.summaries.get(name)?);
        (ma.summary.median > 0.0).then(|| mb.summary.median / ma.summary.median - 1.0)
    };
    let (wall_change, cpu_change) = (change("wall_s")?, change("cpu_s")?);
    let toward_contention = wall_change.abs() > noise_band && wall_change.signum() == gap.signum();
    // CPU time a busy machine barely touches (caches and memory shared with
    // the other programs nudge it): within the noise band, or moved by a
    // quarter of the wall time's change at most.
    let flat = cpu_change.abs() <= noise_band.max(wall_change.abs() / 4.0);
    (toward_contention && flat).then_some(ContentionEffect {
        others_a: ca.median_others,
        others_b: cb.median_others,
        wall_change,
        cpu_change,
    })
}

/// When wall time spread more than [`NOISY_CV`] across either side's runs
/// and the sides have no exact counts: the counted measures decide where
/// timings cannot.
fn noisy_timings(pairs: &[(&ScaleRecord, &ScaleRecord)]) -> Option<String> {
    let cv = |scale: &ScaleRecord| {
        scale
            .summaries
            .get("wall_s")
            .filter(|m| m.summary.n > 1)
            .map_or(0.0, |m| m.summary.cv)
    };
    let (a, b) = pairs.iter().find(|(a, b)| {
        !(a.summaries.contains_key(INSTRUCTIONS) && b.summaries.contains_key(INSTRUCTIONS))
            && cv(a).max(cv(b)) > NOISY_CV
    })?;
    Some(format!(
        "wall_s is noisy (coefficient of variation A {:.1} %, B {:.1} %, above {:.0} %): a timing \
         verdict may not see a real change; exact counts, which the machine's load does not change, \
         can: `cargo xtask profile-compare --rev A --rev B --counter instructions` (instructions \
         and estimated cycles, under callgrind)",
        cv(a) * 100.0,
        cv(b) * 100.0,
        NOISY_CV * 100.0
    ))
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
             timings will read inconclusive whatever happened; use --runs 5 or more"
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reports::compare::fixtures::*;

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

    #[test]
    fn noisy_timings_without_counts_suggest_counting() {
        let quiet = scale(&WALL, &RPS, "0");
        let noisy = scale(&[0.10, 0.13, 0.09, 0.12, 0.15], &RPS, "0");
        let r = record(false, vec![]);
        let warnings = |a: &ScaleRecord, b: &ScaleRecord| {
            comparability_warnings(&r, &r, &[(a, b)], None, None).join("\n")
        };
        assert!(!warnings(&quiet, &quiet).contains("noisy"));
        let all = warnings(&quiet, &noisy);
        assert!(
            all.contains("wall_s is noisy (coefficient of variation A 2.0 %, B 20.2 %"),
            "{all}"
        );
        assert!(all.contains("--counter instructions"), "{all}");
        // Sides that were counted already have the exact answer.
        let counted = |s: &ScaleRecord| {
            let mut s = s.clone();
            s.summaries.insert(
                INSTRUCTIONS.into(),
                summary("instructions", crate::config::Better::Lower, &[1e6]),
            );
            s
        };
        assert!(!warnings(&counted(&quiet), &counted(&noisy)).contains("noisy"));
    }

    /// A scale whose runs took `wall` and `cpu` seconds while other
    /// programs took `others` of the machine (heavy from one half).
    fn loaded(wall: &[f64], cpu: &[f64], others: &[f64]) -> ScaleRecord {
        use crate::results::record::{MachineRecord, RunSample};
        let mut s = scale(wall, &RPS, "0");
        s.summaries.insert(
            "cpu_s".into(),
            summary("s", crate::config::Better::Lower, cpu),
        );
        s.runs = wall
            .iter()
            .zip(cpu)
            .zip(others)
            .map(|((&wall_s, &cpu_s), &share)| RunSample {
                machine: Some(MachineRecord {
                    loadavg_1m: 1.0 + 2.0 * share,
                    others_cpu_share: share,
                    steal_share: 0.0,
                    heavy_contention: crate::runs::machine_load::is_heavy(share, 0.0),
                }),
                ..crate::results::synthetic::run(wall_s, cpu_s)
            })
            .collect();
        s
    }

    const CPU: [f64; 5] = [0.130, 0.131, 0.129, 0.130, 0.132];
    const QUIET: [f64; 5] = [0.02, 0.05, 0.01, 0.03, 0.02];
    const BUSY: [f64; 5] = [0.61, 0.55, 0.66, 0.48, 0.58];

    #[test]
    fn runs_under_different_contention_are_named_with_their_figures() {
        let quiet = loaded(&WALL, &CPU, &QUIET);
        let busy = loaded(&slower(&WALL, 1.4), &CPU, &BUSY);
        let r = record(false, vec![]);
        let all = comparability_warnings(&r, &r, &[(&quiet, &busy)], None, None).join("\n");
        assert!(
            all.contains(
                "different contention: other programs took a median 2 % of the machine's CPU \
                 during A's runs and 58 % during B's (heavy contention, 50 % or more with steal, \
                 in 0 of 5 runs of A and 4 of 5 of B)"
            ),
            "{all}"
        );
        let same = comparability_warnings(&r, &r, &[(&busy, &busy)], None, None).join("\n");
        assert!(!same.contains("contention"), "{same}");
        // Results without the machine's load (older ones) say nothing.
        let plain = scale(&WALL, &RPS, "0");
        let none = comparability_warnings(&r, &r, &[(&plain, &busy)], None, None).join("\n");
        assert!(!none.contains("contention"), "{none}");
    }

    #[test]
    fn contention_explains_slower_wall_time_with_flat_cpu_time() {
        let quiet = loaded(&WALL, &CPU, &QUIET);
        let busy = loaded(&slower(&WALL, 1.4), &CPU, &BUSY);
        let effect = contention_explains(&quiet, &busy, 0.02).expect("explained");
        assert_eq!((effect.others_a, effect.others_b), (0.02, 0.58));
        assert!((effect.wall_change - 0.4).abs() < 1e-9 && effect.cpu_change == 0.0);
        assert!(
            effect.describe().starts_with(
                "the change of wall time (+40.0 %) may be the machine's: CPU time moved +0.0 % only, \
                 and B ran while other programs took a median 58 %"
            ),
            "{}",
            effect.describe()
        );
        // The comparison of the two scales says so first among its notes.
        let compared = crate::reports::compare::model::compare_scale(
            &quiet,
            &busy,
            &settings(),
            crate::reports::compare::model::Counter::Time,
        );
        assert_eq!(compared.notes[0], effect.describe());
        // Its wall time, 40 % slower, is inconclusive rather than regressed.
        let wall = compared
            .measures
            .iter()
            .find(|m| m.name == "wall_s")
            .unwrap();
        assert_eq!(
            wall.verdict(),
            crate::stats::Verdict::Inconclusive,
            "{wall:?}"
        );
        assert!(!wall.gate_failed);
        // Faster where the other side was busier: A's contention explains it.
        assert!(contention_explains(&busy, &quiet, 0.02).is_some());
        // CPU time nudged by the shared caches (+5 % against +40 %): still
        // the machine's doing.
        let nudged = loaded(&slower(&WALL, 1.4), &slower(&CPU, 1.05), &BUSY);
        assert!(contention_explains(&quiet, &nudged, 0.02).is_some());
        // CPU time grew too: the code did more work.
        let busy_and_heavier = loaded(&slower(&WALL, 1.4), &slower(&CPU, 1.3), &BUSY);
        assert_eq!(contention_explains(&quiet, &busy_and_heavier, 0.02), None);
        // Slower on the quieter side: not the machine.
        let quiet_but_slow = loaded(&slower(&WALL, 1.4), &CPU, &QUIET);
        let busy_fast = loaded(&WALL, &CPU, &BUSY);
        assert_eq!(contention_explains(&busy_fast, &quiet_but_slow, 0.02), None);
        // The same contention, or no change of wall time: nothing to explain.
        assert_eq!(contention_explains(&busy, &busy, 0.02), None);
        assert_eq!(
            contention_explains(&quiet, &loaded(&WALL, &CPU, &BUSY), 0.02),
            None
        );
        // Nothing recorded: no answer.
        assert_eq!(
            contention_explains(&scale(&WALL, &RPS, "0"), &busy, 0.02),
            None
        );
    }

    #[test]
    fn too_few_runs_say_so_in_a_warning() {
        assert!(sample_size_warning(3, 3, 0.05)
            .unwrap()
            .contains("smallest possible p-value 0.100"));
        assert_eq!(sample_size_warning(5, 5, 0.05), None);
        assert_eq!(sample_size_warning(4, 4, 0.05), None);
    }

    #[test]
    fn scales_pair_by_name_and_single_scales_always() {
        let entry = |name: &str, scales: &[&str]| Entry {
            dir: std::path::PathBuf::from("/r").join(name),
            name: name.into(),
            record: record(
                false,
                scales
                    .iter()
                    .map(|s| ScaleRecord {
                        scale: s.to_string(),
                        ..scale(&WALL, &RPS, "0")
                    })
                    .collect(),
            ),
        };
        let (small, large) = (entry("a", &["small"]), entry("b", &["large"]));
        let (pairs, warnings) = pair_scales(&small, &large).unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!(warnings, ["different scales: `small` vs `large`"]);
        let (a, b) = (
            entry("a", &["small", "large"]),
            entry("b", &["large", "huge"]),
        );
        let (pairs, warnings) = pair_scales(&a, &b).unwrap();
        let names: Vec<_> = pairs
            .iter()
            .map(|(x, y)| (x.scale.as_str(), y.scale.as_str()))
            .collect();
        assert_eq!(names, [("large", "large")]);
        assert_eq!(
            warnings,
            [
                "scales only in A, not compared: small",
                "scales only in B, not compared: huge"
            ]
        );
        let none = pair_scales(&a, &entry("b", &["huge", "tiny"])).unwrap_err();
        assert!(none.to_string().contains("no scale in common"), "{none}");
    }
}
