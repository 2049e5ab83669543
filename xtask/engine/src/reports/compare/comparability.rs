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
             timings will read `~` whatever happened; use --runs 5 or more"
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
