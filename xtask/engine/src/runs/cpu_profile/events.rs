//! Profiles of other perf events than CPU time (`events = ["page-faults",
//! "cache-misses"]` in `[defaults]`): one more run per event, sampled on
//! that event, folded into a flamegraph of its own under `events/<EVENT>/`
//! (where the event happens, not where the time goes). One run per event, not one run with every
//! event: each flamegraph then holds one event's samples only.

use super::{profile, ExtraProfile, Options};
use crate::runs::process::{self, Spec};
use crate::runs::workload::Prepared;
use crate::tools::{perf_stat, Toolbox};
use anyhow::Context;
use std::path::Path;

/// The directory of the per-event profiles in a result.
pub const DIR: &str = "events";

/// Whether perf can count `event` here: perf record would otherwise fall
/// back from `cycles` to CPU time without a word where there is no PMU.
fn supported(perf: &Path, event: &str) -> anyhow::Result<bool> {
    // Not named after the event: `cpu/event=0x3c/` would make a path.
    let file = crate::runs::measure::scratch_file("event-probe.csv");
    let mut args = perf_stat::argv(&file, &[event.to_string()]);
    args.push("true".into());
    let outcome = process::run(Spec::new(perf).args(args))?;
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    let _ = std::fs::remove_file(&file);
    if !outcome.success() {
        if let Some(help) = crate::tools::perf_access::diagnose(&outcome.tail()) {
            anyhow::bail!(
                "perf may not count the event `{event}` (in `events` of profiling.toml) for you: {help}\n{}",
                outcome.tail()
            );
        }
        anyhow::bail!(
            "perf does not know the event `{event}` (in `events` of profiling.toml; `perf list` shows the events there are)\n{}",
            outcome.tail()
        );
    }
    let counted = perf_stat::parse(&text).map_err(|e| anyhow::anyhow!("perf stat: {e}"))?;
    Ok(counted.iter().any(|c| {
        matches!(
            c.count,
            perf_stat::Count::Value(_) | perf_stat::Count::NotCounted
        )
    }))
}

/// One profile per event of `options.events` into `dir/events/<EVENT>/`, and
/// one note naming the events this machine cannot count (hardware events
/// without a PMU), which get none.
pub fn profile_each(
    prepared: &Prepared,
    tools: &Toolbox,
    options: &Options,
    dir: &Path,
) -> anyhow::Result<(Vec<ExtraProfile>, Vec<String>)> {
    if options.events.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let perf = tools.perf.path()?;
    let mut profiles = Vec::new();
    let mut unsupported = Vec::new();
    let names = super::distinct_dir_names(options.events.iter().map(String::as_str), |event| {
        event.replace(['/', ':'], "_")
    });
    for (event, name) in options.events.iter().zip(names) {
        if !supported(perf, event)? {
            unsupported.push(event.as_str());
            continue;
        }
        let rel = format!("{DIR}/{name}");
        let sub = dir.join(&rel);
        std::fs::create_dir_all(&sub)
            .with_context(|| format!("cannot create {}", sub.display()))?;
        let one = Options {
            event: Some(event.clone()),
            events: Vec::new(),
            annotate: 0,
            // Blocked time is the same whatever is sampled: once, in the
            // main profile.
            off_cpu: false,
            ..options.clone()
        };
        let mut profile = profile(prepared, tools, &one, &sub)?;
        // The CPU profile's perf.data is the one kept: one more per event
        // would multiply the result's size.
        super::drop_perf_data(&sub, &mut profile)?;
        profiles.push(ExtraProfile {
            kind: "event",
            name: event.clone(),
            dir: rel,
            profile,
        });
    }
    let notes = if unsupported.is_empty() {
        Vec::new()
    } else {
        vec![format!(
            "perf cannot count {} on this machine (no hardware performance counters: a virtual machine without PMU passthrough?), so they have no flamegraph; software events such as page-faults or context-switches can be sampled",
            unsupported.join(", ")
        )]
    };
    Ok((profiles, notes))
}
