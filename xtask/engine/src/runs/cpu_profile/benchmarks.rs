//! One CPU profile per benchmark of a criterion bench that has several, so
//! that benchmarks compared side by side (a raw store and the wrapper
//! around it, say) each get their own flamegraph: `bench/<ID>/` in the result,
//! each from a run of exactly that benchmark under criterion's profiler hook.

use super::{profile, ExtraProfile, Options};
use crate::runs::process::{self, Spec};
use crate::runs::workload::Prepared;
use crate::tools::{criterion, Toolbox};
use anyhow::Context;
use std::path::Path;

/// The directory of the per-benchmark profiles in a result.
pub const DIR: &str = "bench";

/// The benchmarks `prepared` (a criterion bench) selects, by criterion's
/// `--list`; empty for other workloads.
pub fn list(prepared: &Prepared) -> anyhow::Result<Vec<String>> {
    let Some(bench) = &prepared.bench else {
        return Ok(Vec::new());
    };
    let mut spec: Spec = prepared.spec();
    spec.args = criterion::list_args(bench.filter.as_deref());
    spec.args.extend(bench.extra_args.iter().cloned());
    Ok(criterion::parse_list(&process::stdout_of(spec)?))
}

/// With several benchmarks: one profile of each into `dir/bench/<ID>/`
/// (None with one benchmark or none: the result's own profile is that one's).
pub fn profile_each(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<Vec<ExtraProfile>> {
    let Some(bench) = &prepared.bench else {
        return Ok(Vec::new());
    };
    let ids = list(prepared)?;
    if ids.len() < 2 {
        return Ok(Vec::new());
    }
    let mut profiles = Vec::new();
    let names = super::distinct_dir_names(ids.iter().map(String::as_str), criterion::dir_name);
    for (id, name) in ids.into_iter().zip(names) {
        let rel = format!("{DIR}/{name}");
        let sub = dir.join(&rel);
        std::fs::create_dir_all(&sub)
            .with_context(|| format!("cannot create {}", sub.display()))?;
        let mut args = criterion::profile_one_args(bench.measurement_s, &id);
        args.extend(bench.extra_args.iter().cloned());
        let one = Prepared {
            args,
            ..prepared.clone()
        };
        let mut profile = profile(&one, tools, options, &sub)?;
        // The result's own perf.data covers every benchmark: one more copy
        // per benchmark would multiply the result's size.
        super::drop_perf_data(&sub, &mut profile)?;
        profiles.push(ExtraProfile {
            kind: "benchmark",
            name: id,
            dir: rel,
            profile,
        });
    }
    Ok(profiles)
}
