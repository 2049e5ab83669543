//! Which measures decide a comparison, and which are only shown. The gate
//! holds the measures it decides on to alpha as one family (Holm), so every
//! measure that only restates another (user and system time beside CPU time,
//! perf's counts of a run, a server's totals beside its figures per
//! operation, a load client's own costs) is shown and not gated: counted
//! twice, it would only make real changes harder to see.
//!
//! A server workload is compared as a server: its own measures (`server.`)
//! decide, per operation where the load counts its operations.

use crate::config::measures::{self, SERVER_CPU_PER_OP, SERVER_PREFIX};
use crate::results::record::{MemoryRecord, ScaleRecord};

/// Why measure `name` is shown but not gated, when it is: a load client's
/// figure, a part of a time that is gated (user and system time), perf's
/// counts, a server's CPU total where both sides have its CPU per
/// operation (a server that served more requests spends more in all
/// without being slower), or its context switches (a clue, not a cost).
pub fn not_gated_because(name: &str, a: &ScaleRecord, b: &ScaleRecord) -> Option<&'static str> {
    let both =
        |measure: &str| a.summaries.contains_key(measure) && b.summaries.contains_key(measure);
    if measures::is_load_client(name) {
        return Some("the load client's");
    }
    if ["user_s", "sys_s"].contains(&name) {
        return Some("a part of cpu_s");
    }
    if ["server.user_s", "server.sys_s"].contains(&name) {
        return Some("a part of server.cpu_s");
    }
    if measures::is_counter(name) {
        return Some("perf's count of the run: a clue");
    }
    if name == "server.cpu_s" && both(SERVER_CPU_PER_OP) {
        return Some("a total: server.cpu_us_per_op decides");
    }
    let per_op = |s: &ScaleRecord| s.memory.as_ref().is_some_and(|m| m.operations.is_some());
    if ["total_allocations", "temporary_allocations"].contains(&name) && per_op(a) && per_op(b) {
        return Some("a total: its value per operation decides");
    }
    if name == "server.ctx_switches" {
        return Some("a clue to waits, not a cost");
    }
    None
}

/// A server's allocations per operation of its load, both sides' (calls
/// and bytes allocated), where both memory results know the operations:
/// `(name, A, B, unit)`, compared like the memory tool's other figures.
pub fn per_operation_memory(
    a: &MemoryRecord,
    b: &MemoryRecord,
) -> Vec<(&'static str, Option<f64>, Option<f64>, &'static str)> {
    let (Some(ops_a), Some(ops_b)) = (a.operations, b.operations) else {
        return Vec::new();
    };
    let calls = |m: &MemoryRecord| {
        m.allocations
            .as_ref()
            .map(|t| t.calls as f64)
            .or(m.total_allocations.map(|c| c as f64))
    };
    let bytes = |m: &MemoryRecord| m.allocations.as_ref().map(|t| t.bytes);
    let temporary = |m: &MemoryRecord| {
        m.allocations
            .as_ref()
            .map(|t| t.temporary as f64)
            .or(m.temporary_allocations.map(|c| c as f64))
    };
    vec![
        (
            "allocations_per_op",
            calls(a).map(|c| c / ops_a),
            calls(b).map(|c| c / ops_b),
            "allocations",
        ),
        (
            "temporary_allocations_per_op",
            temporary(a).map(|c| c / ops_a),
            temporary(b).map(|c| c / ops_b),
            "allocations",
        ),
        (
            "allocated_bytes_per_op",
            bytes(a).map(|c| c / ops_a),
            bytes(b).map(|c| c / ops_b),
            "B",
        ),
    ]
}

/// The note that tells a reader of a server's comparison which measure to
/// read first, or what is missing when one side lacks the server's own
/// figures (a result recorded before they were measured).
pub fn read_first(a: &ScaleRecord, b: &ScaleRecord) -> Option<String> {
    let has_server = |s: &ScaleRecord| s.summaries.keys().any(|n| measures::is_server(n));
    let has_load = |s: &ScaleRecord| s.summaries.keys().any(|n| measures::is_load_client(n));
    match (has_server(a), has_server(b)) {
        (true, true) => {
            let per_op = a.summaries.contains_key(SERVER_CPU_PER_OP)
                && b.summaries.contains_key(SERVER_CPU_PER_OP);
            let first = if per_op {
                format!("{SERVER_CPU_PER_OP} first: the server's CPU time per operation (a server that served more requests is not slower for spending more in all)")
            } else {
                format!("{SERVER_PREFIX}cpu_s first: the server's own CPU time over each load (declare `ops` on the load for a per-operation measure)")
            };
            Some(format!(
                "read {first}; load.* are the load client's figures, shown and never gated"
            ))
        }
        (false, false) => None,
        (server_in_a, _) if has_load(a) && has_load(b) => {
            let old = if server_in_a { "B" } else { "A" };
            Some(format!(
                "{old} holds only its load client's figures (a result of an older xtask, before the server's own were measured): the server is not compared, only load.* and the load's metrics; take {old} again to compare the servers"
            ))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::fixtures::{scale, settings, summary};
    use super::super::model::{compare_scale, Counter};
    use super::*;
    use crate::config::Better;
    use crate::results::record::ScaleRecord;

    /// A server's scale: its CPU in all and per operation, and the client's.
    fn server(cpu: &[f64], ops: &[f64], client: &[f64]) -> ScaleRecord {
        let mut s = scale(&[1.0, 1.0, 1.0, 1.0], &[1.0, 1.0, 1.0, 1.0], "0");
        s.summaries.clear();
        let per_op: Vec<f64> = cpu.iter().zip(ops).map(|(c, o)| c * 1e6 / o).collect();
        s.summaries
            .insert("server.cpu_s".into(), summary("s", Better::Lower, cpu));
        s.summaries.insert(
            SERVER_CPU_PER_OP.into(),
            summary("µs", Better::Lower, &per_op),
        );
        s.summaries
            .insert("load.cpu_s".into(), summary("s", Better::Lower, client));
        s
    }

    /// Twice the requests in the same time: twice the server's CPU in all,
    /// the same per request, and a client that worked twice as hard.
    #[test]
    fn a_server_that_served_more_is_not_a_regression() {
        let a = server(&[1.0, 1.02, 0.99, 1.01], &[1e4; 4], &[0.5, 0.51, 0.5, 0.49]);
        let b = server(&[2.0, 2.03, 1.98, 2.01], &[2e4; 4], &[1.0, 1.02, 1.0, 0.99]);
        let report = compare_scale(&a, &b, &settings(), Counter::Time);
        let by_name = |n: &str| report.measures.iter().find(|m| m.name == n).unwrap();
        assert!(!by_name("server.cpu_s").gated);
        assert!(!by_name("load.cpu_s").gated);
        assert!(by_name(SERVER_CPU_PER_OP).gated);
        assert!(
            report.measures.iter().all(|m| !m.gate_failed),
            "{report:#?}"
        );
        assert!(report.notes[0].starts_with("read server.cpu_us_per_op first"));
        // Without per-operation measures the server's total decides.
        let mut a = a;
        let mut b = b;
        a.summaries.remove(SERVER_CPU_PER_OP);
        b.summaries.remove(SERVER_CPU_PER_OP);
        let report = compare_scale(&a, &b, &settings(), Counter::Time);
        let total = report
            .measures
            .iter()
            .find(|m| m.name == "server.cpu_s")
            .unwrap();
        assert!(total.gated && total.gate_failed, "{total:#?}");
        assert!(report.notes[0].starts_with("read server.cpu_s first"));
    }

    /// Twice the operations, twice the allocations: the same per
    /// operation, and the totals are not gated; one more allocation per
    /// operation is a regression per operation.
    #[test]
    fn allocations_compare_per_operation_where_both_know_the_operations() {
        use crate::results::record::MemoryRecord;
        let memory = |calls: u64, ops: Option<f64>| MemoryRecord {
            tool: "heaptrack".into(),
            total_allocations: Some(calls),
            operations: ops,
            ..MemoryRecord::default()
        };
        let with = |m: MemoryRecord| {
            let mut s = scale(&[1.0; 4], &[1.0; 4], "0");
            s.memory = Some(m);
            s
        };
        let a = with(memory(10_000, Some(1_000.0)));
        let b = with(memory(20_000, Some(2_000.0)));
        let report = compare_scale(&a, &b, &settings(), Counter::Time);
        let by_name = |r: &super::super::model::ScaleComparison, n: &str| {
            r.measures.iter().find(|m| m.name == n).cloned().unwrap()
        };
        assert!(!by_name(&report, "total_allocations").gated);
        let per_op = by_name(&report, "allocations_per_op");
        assert!(per_op.gated && !per_op.gate_failed, "{per_op:#?}");
        let worse = with(memory(30_000, Some(2_000.0)));
        let report = compare_scale(&a, &worse, &settings(), Counter::Time);
        assert!(by_name(&report, "allocations_per_op").gate_failed);
        // Without the operations, the totals decide.
        let report = compare_scale(&with(memory(10_000, None)), &b, &settings(), Counter::Time);
        assert!(by_name(&report, "total_allocations").gate_failed);
        assert!(report
            .measures
            .iter()
            .all(|m| m.name != "allocations_per_op"));
    }

    /// A result of an older xtask has only the client's figures, renamed
    /// `load.` on reading: the note says the server is not compared.
    #[test]
    fn an_old_side_without_the_server_s_figures_is_named() {
        let new = server(&[1.0; 4], &[1e4; 4], &[0.5; 4]);
        let mut old = new.clone();
        old.summaries.retain(|name, _| name.starts_with("load."));
        let note = read_first(&old, &new).unwrap();
        assert!(
            note.starts_with("A holds only its load client's figures"),
            "{note}"
        );
        let note = read_first(&new, &old).unwrap();
        assert!(note.starts_with("B holds only"), "{note}");
        let plain = scale(&[1.0; 4], &[1.0; 4], "0");
        assert_eq!(read_first(&plain, &plain), None);
    }
}
