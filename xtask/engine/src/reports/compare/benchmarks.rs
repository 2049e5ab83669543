//! criterion benchmarks in comparisons: which `criterion/` measures can be
//! compared run by run at all.
//!
//! A bench result made today holds one estimate per analysed invocation of
//! the bench; an older one holds criterion's samples of a single invocation,
//! which share that invocation's machine state: taken for independent runs,
//! two invocations of the same code differ "significantly" almost always.
//! Such samples are never compared as if they were runs.

use crate::results::record::{CriterionRuns, ScaleRecord};
use crate::runs::criterion::PREFIX;

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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Better;
    use crate::reports::compare::fixtures::{record, scale, summary};
    use crate::results::record::RunRecord;

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
