//! `annotate/`: the functions with the most self time, each disassembled by
//! objdump with every instruction's share of the function's samples, one
//! file per function. The samples per instruction are the leaf frames
//! counted while the profile was folded, kept in the result as `cpu.leaves`,
//! so an annotation, then or later, needs neither perf.data nor perf; the
//! objdumps run at once (about 0.05 s each on the demo).

use super::CpuProfile;
use crate::runs::process::{self, Spec};
use crate::tools::objdump::{self, Heading, Layout};
use crate::tools::perf_script::{LeafSamples, SampledFunction, LEAVES};
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

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

/// One function to annotate: where it lies, and its samples by address.
pub struct Planned {
    /// Its rank in the self-time list, from 0.
    pub rank: usize,
    pub function: SampledFunction,
    range: objdump::FunctionRange,
    samples: BTreeMap<u64, u64>,
}

/// The binaries' symbol tables, each read once.
#[derive(Default)]
pub struct Layouts(HashMap<String, Option<Layout>>);

/// Where `function` lies in its binary, and its samples by address; `Err`
/// says why it cannot be annotated.
pub fn plan(
    layouts: &mut Layouts,
    rank: usize,
    function: &SampledFunction,
) -> anyhow::Result<Planned> {
    let layout = layouts
        .0
        .entry(function.binary.clone())
        .or_insert_with(|| Layout::read(Path::new(&function.binary)))
        .as_ref()
        .with_context(|| {
            format!(
                "`{}`: cannot read the symbols of {} (gone, or not an ELF file with a symbol \
                 table)",
                function.name, function.binary
            )
        })?;
    let mut samples = BTreeMap::new();
    for (offset, count) in &function.offsets {
        // An offset outside the loaded segments stays out: the annotation
        // then counts it as unlisted.
        if let Some(address) = layout.address(*offset) {
            *samples.entry(address).or_insert(0) += count;
        }
    }
    let range = samples
        .keys()
        .next()
        .and_then(|address| layout.function_at(*address))
        .with_context(|| {
            format!(
                "`{}`: no symbol of {} holds its samples (the binary changed since it was \
                 profiled?)",
                function.name, function.binary
            )
        })?;
    Ok(Planned {
        rank,
        function: function.clone(),
        range,
        samples,
    })
}

/// Annotates the planned functions into `dir/annotate/`, their objdumps at
/// once. `event` is the sampled event, for the files' titles. Returns the
/// annotations written, and why any other could not be.
pub fn annotate(
    dir: &Path,
    total: u64,
    planned: Vec<Planned>,
    event: &str,
) -> anyhow::Result<(Vec<Annotated>, Vec<String>)> {
    if planned.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let objdump = which::which("objdump").map_err(|_| {
        anyhow::anyhow!(
            "objdump is not installed: annotate/ disassembles with it (install binutils)"
        )
    })?;
    let out_dir = dir.join(DIR);
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    // One objdump per function, all at once: they share nothing.
    let listings: Vec<anyhow::Result<String>> = std::thread::scope(|scope| {
        let running: Vec<_> = planned
            .iter()
            .map(|p| {
                let binary = Path::new(&p.function.binary);
                let spec = Spec::new(&objdump).args(objdump::disassemble_args(binary, p.range));
                scope.spawn(move || process::stdout_of(spec))
            })
            .collect();
        running
            .into_iter()
            .map(|thread| {
                thread
                    .join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("an objdump thread panicked")))
            })
            .collect()
    });
    process::check_interrupted()?;
    let (mut annotated, mut notes) = (Vec::new(), Vec::new());
    for (planned, listing) in planned.into_iter().zip(listings) {
        let function = &planned.function;
        let listing = match listing {
            Ok(listing) => listing,
            Err(error) => {
                notes.push(format!("cannot disassemble `{}`: {error:#}", function.name));
                continue;
            }
        };
        let binary_name = Path::new(&function.binary)
            .file_name()
            .map_or(function.binary.clone(), |n| {
                n.to_string_lossy().into_owned()
            });
        let heading = Heading {
            binary: &binary_name,
            event,
        };
        let text = objdump::render(&heading, &listing, &planned.samples);
        let file = format!(
            "{DIR}/{}",
            objdump::file_name(planned.rank + 1, &function.name)
        );
        write_whole(&dir.join(&file), &text)?;
        annotated.push(Annotated {
            function: function.name.clone(),
            file,
            self_percent: function.self_percent(total),
        });
    }
    Ok((annotated, notes))
}

/// Written to a scratch file beside it and renamed: an interrupt leaves no
/// partial annotation in a finished result (`cargo xtask annotate` writes
/// into one).
fn write_whole(path: &Path, text: &str) -> anyhow::Result<()> {
    let scratch = path.with_extension("txt.partial");
    std::fs::write(&scratch, text)
        .and_then(|()| std::fs::rename(&scratch, path))
        .with_context(|| format!("cannot write {}", path.display()))
}

/// The hook after the folding: keep the leaf frames in the result
/// (`cpu.leaves`, for `cargo xtask annotate` later), annotate the `count`
/// functions with the most self time that can be (in files perf named, with
/// a symbol table), and list them (and their files) in the profile. A
/// failure is a note, not the profile's failure: the flamegraph is there
/// already.
pub fn add_to(
    mut profile: CpuProfile,
    dir: &Path,
    leaves: &LeafSamples,
    count: usize,
    event: &str,
) -> CpuProfile {
    let path = dir.join(LEAVES);
    let written =
        std::fs::File::create(&path).and_then(|file| leaves.write(std::io::BufWriter::new(file)));
    if let Err(error) = written {
        profile.notes.push(format!(
            "cannot write {}: {error}; annotate/ is not made",
            path.display()
        ));
        return profile;
    }
    profile.files.push(LEAVES.into());
    let (mut layouts, mut planned, mut skipped) = (Layouts::default(), Vec::new(), Vec::new());
    for (rank, function) in leaves.functions().iter().enumerate() {
        if planned.len() == count {
            break;
        }
        match plan(&mut layouts, rank, function) {
            Ok(plan) => planned.push(plan),
            Err(error) => skipped.push(format!("{error:#}")),
        }
    }
    if !skipped.is_empty() {
        profile.notes.push(format!(
            "annotate/ leaves out {} of the hottest functions: {}",
            skipped.len(),
            skipped.join("; ")
        ));
    }
    match annotate(dir, leaves.total, planned, event) {
        Ok((annotated, notes)) => {
            profile
                .files
                .extend(annotated.iter().map(|a| a.file.clone()));
            profile.annotated = annotated;
            profile.notes.extend(notes);
        }
        Err(error) => profile
            .notes
            .push(format!("annotate/ is incomplete: {error:#}")),
    }
    profile
}
