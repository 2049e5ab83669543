//! `cargo xtask annotate [RESULT] FUNCTION`: one more `perf annotate` of a
//! result's CPU profile (source lines, assembly, share of samples), into the
//! result's `annotate/`, beside those of the hottest functions made with it.

use crate::results::record::ScaleRecord;
use crate::results::{Entry, Store};
use crate::runs::cpu_profile::{annotate, PERF_DATA};
use crate::tasks::invocation::Invocation;
use crate::tools::perf_annotate::{self, Symbol};
use crate::tools::Toolbox;
use anyhow::bail;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// `[RESULT] FUNCTION`: the result (a pin, directory name or path, label,
    /// `latest` or `previous`; default: the newest result with a CPU profile)
    /// and the function, named as perf names it (`perf report`, the
    /// annotate/ files; top-functions.txt names these too unless the function
    /// was inlined into another).
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
    if !dir.join(PERF_DATA).is_file() {
        bail!(
            "{} has no {PERF_DATA}: its raw perf data was not kept, and annotate reads it.\n  help: keep it with `keep_perf_data = true` in [defaults] of profiling.toml, then profile again",
            dir.display()
        );
    }
    let tools = Toolbox::detect();
    let perf = tools.perf.path()?;
    let symbols = annotate::symbols(perf, &dir)?;
    let Some(rank) = symbols.iter().position(|s| s.name == function) else {
        bail!("{}", not_found(function, &entry.name, &symbols));
    };
    if !symbols[rank].annotatable() {
        bail!(
            "`{function}` is a kernel symbol or an unresolved address: perf annotate cannot show its source"
        );
    }
    let annotated = annotate::annotate(perf, &dir, &[(rank, symbols[rank].clone())])?;
    let file = dir.join(&annotated[0].file);
    let text = std::fs::read_to_string(&file).unwrap_or_default();
    println!(
        "{function}: {:.2} % self, {} samples annotated\nwrote {}",
        symbols[rank].self_percent,
        perf_annotate::annotated_samples(&text).map_or("?".into(), |n| n.to_string()),
        file.display()
    );
    Ok(0)
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
fn not_found(function: &str, result: &str, symbols: &[Symbol]) -> String {
    let lower = function.to_lowercase();
    let mut scored: Vec<(f64, &Symbol)> = symbols
        .iter()
        .filter(|s| s.annotatable())
        .map(|s| {
            let name = s.name.to_lowercase();
            let contains = name.contains(&lower) || lower.contains(&name);
            // A short name (`simulate_subscribr`) against the path's last part too.
            let last = name.rsplit("::").next().unwrap_or(&name);
            let similar =
                strsim::jaro_winkler(&lower, &name).max(strsim::jaro_winkler(&lower, last));
            let score = similar + if contains { 1.0 } else { 0.0 };
            (score, s)
        })
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let close: Vec<String> = scored
        .iter()
        .filter(|(score, _)| *score > 0.8)
        .take(5)
        .map(|(_, s)| format!("  {} ({:.2} % self)", s.name, s.self_percent))
        .collect();
    let (heading, list) = if close.is_empty() {
        let hottest = symbols
            .iter()
            .filter(|s| s.annotatable())
            .take(5)
            .map(|s| format!("  {} ({:.2} % self)", s.name, s.self_percent))
            .collect::<Vec<_>>();
        ("the hottest functions", hottest)
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

    fn symbol(name: &str, share: f64) -> Symbol {
        Symbol {
            self_percent: share,
            name: name.into(),
            kernel: false,
        }
    }

    #[test]
    fn a_misspelled_function_gets_close_names_and_a_foreign_one_the_hottest() {
        let symbols = [
            symbol("core::fmt::write", 10.0),
            symbol("cdr_demo::generate::simulate_subscriber", 3.0),
            symbol("cdr_demo::generate::write_timestamp", 2.0),
        ];
        let error = not_found("simulate_subscribr", "r1", &symbols);
        assert!(
            error.contains("close names:\n  cdr_demo::generate::simulate_subscriber (3.00 % self)"),
            "{error}"
        );
        let error = not_found("zzzzzz", "r1", &symbols);
        assert!(
            error.contains("the hottest functions:\n  core::fmt::write (10.00 % self)"),
            "{error}"
        );
    }
}
