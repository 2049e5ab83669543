//! `annotate/`: perf annotate of the functions with the most self time, one
//! file per function, made right after the folding while perf.data is there.
//! The annotations run at once (one perf per function): each takes about a
//! quarter of a second, mostly objdump, and they share nothing.

use super::{CpuProfile, PERF_DATA};
use crate::runs::process::{self, Spec};
use crate::tools::perf_annotate::{self, Symbol};
use anyhow::Context;
use std::path::{Path, PathBuf};

/// The directory of the annotations in a result.
pub const DIR: &str = "annotate";

/// One annotated function.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotated {
    /// perf's name of the symbol.
    pub function: String,
    /// Relative to the result: `annotate/01-core..fmt..write.txt`.
    pub file: String,
    /// Self time, percent of all samples.
    pub self_percent: f64,
}

/// The symbols perf sampled in `dir`'s perf.data, by self time.
pub fn symbols(perf: &Path, dir: &Path) -> anyhow::Result<Vec<Symbol>> {
    let data = dir.join(PERF_DATA);
    let listing = process::stdout_of(Spec::new(perf).args(perf_annotate::symbols_args(&data)))?;
    Ok(perf_annotate::parse_symbols(&listing))
}

/// Annotates the `count` annotatable symbols with the most self time into
/// `dir/annotate/`, at once.
pub fn annotate_top(perf: &Path, dir: &Path, count: usize) -> anyhow::Result<Vec<Annotated>> {
    if count == 0 {
        return Ok(Vec::new());
    }
    let chosen: Vec<(usize, Symbol)> = symbols(perf, dir)?
        .into_iter()
        .enumerate()
        .filter(|(_, s)| s.annotatable())
        .take(count)
        .collect();
    annotate(perf, dir, &chosen)
}

/// Annotates `symbols` (with their rank in the self-time list, from 0) into
/// `dir/annotate/`, all at once.
pub fn annotate(
    perf: &Path,
    dir: &Path,
    symbols: &[(usize, Symbol)],
) -> anyhow::Result<Vec<Annotated>> {
    let data = dir.join(PERF_DATA);
    std::fs::create_dir_all(dir.join(DIR))
        .with_context(|| format!("cannot create {}", dir.join(DIR).display()))?;
    let mut running = Vec::new();
    for (rank, symbol) in symbols {
        let file = format!("{DIR}/{}", perf_annotate::file_name(rank + 1, &symbol.name));
        let mut spec = Spec::new(perf).args(perf_annotate::annotate_args(&data, &symbol.name));
        spec.stdout_raw = true;
        let mut child = process::start(spec)?;
        let stdout = child.stdout.take().context("perf annotate has no stdout")?;
        let path = dir.join(&file);
        // Streamed to a scratch file beside it (a long function's annotation
        // is large), renamed once perf annotate succeeded: a failure or an
        // interrupt leaves no partial annotation in a finished result.
        let scratch = path.with_extension("txt.partial");
        let copier = std::thread::spawn(move || -> std::io::Result<PathBuf> {
            let mut out = std::io::BufWriter::new(std::fs::File::create(&scratch)?);
            let mut stdout = stdout;
            std::io::copy(&mut stdout, &mut out)?;
            std::io::Write::flush(&mut out)?;
            Ok(scratch)
        });
        running.push((symbol, file, child, copier));
    }
    let mut annotated = Vec::new();
    for (symbol, file, child, copier) in running {
        let outcome = child.wait();
        let copied = copier
            .join()
            .map_err(|_| anyhow::anyhow!("the copier of {file} panicked"))?;
        let scratch =
            copied.with_context(|| format!("cannot write {}", dir.join(&file).display()))?;
        if !outcome.success() || process::interrupted() {
            let _ = std::fs::remove_file(&scratch);
            process::check_interrupted()?;
            anyhow::bail!(
                "`perf annotate -s {}` failed: {}\n{}",
                symbol.name,
                outcome.describe(None),
                outcome.tail()
            );
        }
        std::fs::rename(&scratch, dir.join(&file))
            .with_context(|| format!("cannot write {}", dir.join(&file).display()))?;
        annotated.push(Annotated {
            function: symbol.name.clone(),
            file,
            self_percent: symbol.self_percent,
        });
    }
    Ok(annotated)
}

/// The hook after the folding: annotate the top `count` functions, and list
/// them (and their files) in the profile. A failure is a note, not the
/// profile's failure: the flamegraph is there already.
pub fn add_to(mut profile: CpuProfile, perf: &Path, dir: &Path, count: usize) -> CpuProfile {
    match annotate_top(perf, dir, count) {
        Ok(annotated) => {
            profile
                .files
                .extend(annotated.iter().map(|a| a.file.clone()));
            profile.annotated = annotated;
        }
        Err(error) => profile.notes.push(format!(
            "perf annotate failed, annotate/ is incomplete: {error:#}"
        )),
    }
    profile
}
