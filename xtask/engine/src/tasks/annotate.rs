//! `cargo xtask annotate [RESULT] FUNCTION`: one more annotation of a
//! result's CPU profile (objdump's source lines and assembly, with each
//! instruction's share of the function's samples), into the result's
//! `annotate/`, beside those of the hottest functions made with it. It reads
//! the result's `cpu.leaves`, not perf.data: any result with a CPU profile
//! can be annotated later, as long as its binary is still there.

use crate::reports::stdout::outln;
use crate::results::record::ScaleRecord;
use crate::results::{Entry, Store};
use crate::runs::cpu_profile::annotate;
use crate::tasks::invocation::Invocation;
use crate::tools::leaves::{LeafSamples, SampledFunction, LEAVES};
use crate::tools::objdump;
use anyhow::bail;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `[RESULT] FUNCTION`: the result (a pin, directory name or path, label,
    /// `latest` or `previous`; default: the newest result with a CPU profile)
    /// and the function, named as perf names it (the annotate/ files and
    /// top-functions.txt name these too, unless the function was inlined
    /// into another).
    #[arg(value_name = "[RESULT] FUNCTION", num_args = 1..=2, required = true)]
    pub targets: Vec<String>,
    /// The scale whose profile to annotate [default: the first with one].
    #[arg(long)]
    pub scale: Option<String>,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    let (result, function) = match args.targets.as_slice() {
        [function] => (None, function.as_str()),
        [result, function] => (Some(result.as_str()), function.as_str()),
        _ => bail!("give FUNCTION, or RESULT FUNCTION"),
    };
    let entry = match result {
        Some(result) => store.resolve(result)?,
        None => newest_profiled(&store)?,
    };
    let several = entry.record.scales.len() > 1;
    let scale = pick_scale(&entry, args.scale.as_deref())?;
    let dir = entry.dir.join(scale.dir_prefix(several));
    let leaves_path = dir.join(LEAVES);
    if !leaves_path.is_file() {
        bail!(
            "{} has no {LEAVES} (the samples per instruction that annotate reads): it was made \
             by an older xtask, or by a sampler other than perf.\n  help: profile again with \
             `cargo xtask flamegraph`",
            dir.display()
        );
    }
    let leaves = LeafSamples::read(&leaves_path)?;
    let functions = leaves.functions();
    let Some(rank) = functions.iter().position(|f| f.name == function) else {
        bail!(
            "{}",
            not_found(function, &entry.name, &functions, leaves.total)
        );
    };
    let chosen = &functions[rank];
    if let Some(warning) = changed_since(&chosen.binary, &leaves_path) {
        eprintln!("{warning}");
    }
    let planned = annotate::plan(&mut annotate::Layouts::default(), rank, chosen)?;
    let self_percent = planned.self_percent(leaves.total);
    let (annotated, notes) = annotate::annotate(
        &dir,
        leaves.total,
        vec![planned],
        leaves.event(),
        &mut Default::default(),
    )?;
    let Some(annotated) = annotated.first() else {
        bail!("{}", notes.join("\n"));
    };
    let file = dir.join(&annotated.file);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    outln!(
        "{function}: {:.2} % self, {} samples annotated\nwrote {}",
        self_percent,
        objdump::annotated_samples(&text).map_or("?".into(), |n| n.to_string()),
        file.display()
    );
    Ok(0)
}

/// A warning when the binary was rebuilt after the profile was taken: its
/// addresses may no longer be those sampled.
fn changed_since(binary: &str, leaves: &std::path::Path) -> Option<String> {
    let modified = |path: &std::path::Path| std::fs::metadata(path).and_then(|m| m.modified());
    let (built, profiled) = (
        modified(std::path::Path::new(binary)).ok()?,
        modified(leaves).ok()?,
    );
    (built > profiled).then(|| {
        format!(
            "warning: {binary} was rebuilt after this profile was taken: the annotation shows \
             the new code, and samples whose addresses moved are listed as unlisted"
        )
    })
}

/// The newest result with a CPU profile.
fn newest_profiled(store: &Store) -> anyhow::Result<Entry> {
    store
        .list()?
        .into_iter()
        .rev()
        .find(|e| e.record.scales.iter().any(|s| s.cpu_profile.is_some()))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "no result in {} has a CPU profile: make one with `cargo xtask flamegraph`",
                store.dir.display()
            )
        })
}

fn pick_scale<'a>(entry: &'a Entry, scale: Option<&str>) -> anyhow::Result<&'a ScaleRecord> {
    let profiled = |s: &&ScaleRecord| s.cpu_profile.is_some();
    match scale {
        None => entry.record.scales.iter().find(profiled).ok_or_else(|| {
            anyhow::anyhow!(
                "{} has no CPU profile (made with --no-profile?)",
                entry.name
            )
        }),
        Some(name) => entry
            .record
            .scales
            .iter()
            .filter(profiled)
            .find(|s| s.scale == name)
            .ok_or_else(|| {
                let names: Vec<&str> = entry
                    .record
                    .scales
                    .iter()
                    .filter(profiled)
                    .map(|s| s.scale.as_str())
                    .collect();
                anyhow::anyhow!(
                    "{} has no CPU profile of scale `{name}`; it has: {}",
                    entry.name,
                    names.join(", ")
                )
            }),
    }
}

/// The error for a function perf did not sample: the closest names, else
/// the hottest ones.
fn not_found(function: &str, result: &str, functions: &[SampledFunction], total: u64) -> String {
    let lower = function.to_lowercase();
    let listed =
        |f: &SampledFunction| format!("  {} ({:.2} % self)", f.name, f.self_percent(total));
    let mut scored: Vec<(f64, &SampledFunction)> = functions
        .iter()
        .map(|f| {
            let name = f.name.to_lowercase();
            let contains = name.contains(&lower) || lower.contains(&name);
            // A short name (`simulate_subscribr`) against the path's last part too.
            let last = name.rsplit("::").next().unwrap_or(&name);
            let similar =
                strsim::jaro_winkler(&lower, &name).max(strsim::jaro_winkler(&lower, last));
            let score = similar + if contains { 1.0 } else { 0.0 };
            (score, f)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let close: Vec<String> = scored
        .iter()
        .filter(|(score, _)| *score > 0.8)
        .take(5)
        .map(|(_, f)| listed(f))
        .collect();
    let (heading, list) = if close.is_empty() {
        (
            "the hottest functions",
            functions.iter().take(5).map(listed).collect(),
        )
    } else {
        ("close names", close)
    };
    format!(
        "perf sampled no function named `{function}` in {result} (a function inlined into its callers has no symbol of its own: annotate the caller).\n{heading}:\n{}",
        list.join("\n")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn function(name: &str, samples: u64) -> SampledFunction {
        SampledFunction {
            binary: "/bin/p".into(),
            name: name.into(),
            samples,
            offsets: vec![(0x10, samples)],
        }
    }

    #[test]
    fn a_misspelled_function_gets_close_names_and_a_foreign_one_the_hottest() {
        let functions = [
            function("core::fmt::write", 10),
            function("cdr_demo::generate::simulate_subscriber", 3),
            function("cdr_demo::generate::write_timestamp", 2),
        ];
        let error = not_found("simulate_subscribr", "r1", &functions, 100);
        assert!(
            error.contains("close names:\n  cdr_demo::generate::simulate_subscriber (3.00 % self)"),
            "{error}"
        );
        let error = not_found("zzzzzz", "r1", &functions, 100);
        assert!(
            error.contains("the hottest functions:\n  core::fmt::write (10.00 % self)"),
            "{error}"
        );
    }
}
