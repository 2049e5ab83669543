//! `annotate/`: the functions with the most self time, each disassembled by
//! objdump with every instruction's share of the function's samples, one
//! file per function. The samples per instruction are the leaf frames
//! counted while the profile was folded, kept in the result as `cpu.leaves`,
//! so an annotation, then or later, needs neither perf.data nor perf; the
//! objdumps run at once (a few ms each: the source lines come from the
//! DWARF in process, `objdump::Sources`).

use super::CpuProfile;
use crate::runs::process::{self, Spec};
use crate::tools::dwarf::Binaries;
use crate::tools::leaves::{SampledFunction, LEAVES};
use crate::tools::objdump::{self, Heading, Layout, Sources};
use crate::tools::perf::Folded;
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
    /// Samples perf gave the same name that lie elsewhere: other functions
    /// of that name (closures, C `static`s), or outside the file's segments.
    elsewhere: Vec<String>,
}

impl Planned {
    /// The samples this annotation covers.
    pub fn samples(&self) -> u64 {
        self.samples.values().sum()
    }

    /// Their share of all `total` samples, in percent (self time).
    pub fn self_percent(&self, total: u64) -> f64 {
        crate::tools::leaves::percent(self.samples(), total)
    }
}

/// The binaries' symbol tables, each read once.
#[derive(Default)]
pub struct Layouts(HashMap<String, Option<Layout>>);

/// Where `function` lies in its binary, and its samples by address; `Err`
/// says why it cannot be annotated. perf names several functions alike (a
/// Rust closure's name has no hash; C `static`s of two files): the one
/// holding most of the name's samples is annotated, and the rest are said
/// in the file.
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
    // By the function (symbol range) holding each sampled address.
    let mut by_range: BTreeMap<u64, (objdump::FunctionRange, BTreeMap<u64, u64>)> = BTreeMap::new();
    let mut unplaced = 0;
    for (offset, count) in &function.offsets {
        let placed = layout
            .address(*offset)
            .and_then(|address| Some((address, layout.function_at(address)?)));
        match placed {
            Some((address, range)) => {
                let (_, samples) = by_range
                    .entry(range.address)
                    .or_insert_with(|| (range, BTreeMap::new()));
                *samples.entry(address).or_insert(0) += count;
            }
            None => unplaced += count,
        }
    }
    let total = |samples: &BTreeMap<u64, u64>| samples.values().sum::<u64>();
    let (range, samples) = by_range
        .values()
        .max_by_key(|(range, samples)| (total(samples), std::cmp::Reverse(range.address)))
        .cloned()
        .with_context(|| {
            format!(
                "`{}`: no symbol of {} holds its samples (code without a symbol, or the binary \
                 changed since it was profiled)",
                function.name, function.binary
            )
        })?;
    let others: Vec<_> = by_range
        .values()
        .filter(|(other, _)| other.address != range.address)
        .collect();
    let mut elsewhere = Vec::new();
    if !others.is_empty() {
        elsewhere.push(format!(
            "{} more samples are in {} other functions perf names `{}` (at {}): this file \
             annotates the one with the most",
            others.iter().map(|(_, s)| total(s)).sum::<u64>(),
            others.len(),
            function.name,
            others
                .iter()
                .map(|(r, _)| format!("{:#x}", r.address))
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    if unplaced > 0 {
        elsewhere.push(format!(
            "{unplaced} more samples lie outside every function of {} (the binary may have \
             changed since it was profiled)",
            function.binary
        ));
    }
    Ok(Planned {
        rank,
        function: function.clone(),
        range,
        samples,
        elsewhere,
    })
}

/// Annotates the planned functions into `dir/annotate/`, as many objdumps at
/// once as there are cores, with source lines from `binaries` (opened here
/// when the profile's inline frames did not). `event` is the sampled event,
/// for the files' titles. Returns the annotations written, and why any other
/// could not be.
pub fn annotate(
    dir: &Path,
    total: u64,
    planned: Vec<Planned>,
    event: &str,
    binaries: &mut Binaries,
) -> anyhow::Result<(Vec<Annotated>, Vec<String>)> {
    if planned.is_empty() {
        return Ok((Vec::new(), Vec::new()));
    }
    let objdump = objdump::find()?;
    let out_dir = dir.join(DIR);
    std::fs::create_dir_all(&out_dir)
        .with_context(|| format!("cannot create {}", out_dir.display()))?;
    // As many objdumps at once as there are cores, each worker taking the
    // next function as soon as its last is done: they share nothing.
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    let next = std::sync::atomic::AtomicUsize::new(0);
    let listings: Vec<std::sync::Mutex<Option<anyhow::Result<String>>>> = planned
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..cores.min(planned.len()) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(p) = planned.get(i) else { break };
                if process::interrupted() {
                    break;
                }
                let binary = Path::new(&p.function.binary);
                let spec = Spec::new(&objdump).args(objdump::disassemble_args(binary, p.range));
                let listing = process::stdout_of(spec);
                *listings[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(listing);
            });
        }
    });
    process::check_interrupted()?;
    let listings = listings.into_iter().map(|listing| {
        listing
            .into_inner()
            .unwrap_or_else(|e| e.into_inner())
            .unwrap_or_else(|| Err(anyhow::anyhow!("objdump did not run")))
    });
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
        let mut sources = Sources::new(binaries.get(&function.binary));
        let mut text = objdump::render(&heading, &listing, &planned.samples, &mut sources);
        for line in &planned.elsewhere {
            text.push_str(&format!("\n{line}\n"));
        }
        let file = format!(
            "{DIR}/{}",
            objdump::file_name(planned.rank + 1, &function.name)
        );
        if let Err(error) = write_whole(&dir.join(&file), &text) {
            notes.push(format!("{error:#}"));
            continue;
        }
        annotated.push(Annotated {
            function: function.name.clone(),
            file,
            self_percent: planned.self_percent(total),
        });
    }
    Ok((annotated, notes))
}

/// Written to a scratch file beside it and renamed: an interrupt or a
/// failure leaves no partial file (`cargo xtask annotate` writes into a
/// finished result).
fn write_whole(path: &Path, text: impl AsRef<[u8]>) -> anyhow::Result<()> {
    let scratch = path.with_extension("partial");
    let written = std::fs::write(&scratch, text).and_then(|()| std::fs::rename(&scratch, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&scratch);
    }
    written.with_context(|| format!("cannot write {}", path.display()))
}

/// The most functions tried for annotate/ beyond those asked for before the
/// rest is given up: code without symbols (a JIT's) could be all of them.
const SPARE_TRIES: usize = 10;

/// The hook after the folding: keep the leaf frames in the result
/// (`cpu.leaves`, for `cargo xtask annotate` later), annotate the `count`
/// functions with the most self time that can be (in files perf named, with
/// a symbol table), and list them (and their files) in the profile. A
/// failure is a note, not the profile's failure: the flamegraph is there
/// already.
pub fn add_to(mut profile: CpuProfile, dir: &Path, folded: Folded, count: usize) -> CpuProfile {
    let Folded {
        leaves,
        mut binaries,
        ..
    } = folded;
    let mut text = Vec::new();
    let written = leaves
        .write(&mut text)
        .map_err(anyhow::Error::from)
        .and_then(|()| write_whole(&dir.join(LEAVES), &text));
    if let Err(error) = written {
        profile
            .notes
            .push(format!("{error:#}; annotate/ is not made"));
        return profile;
    }
    profile.files.push(LEAVES.into());
    let (mut layouts, mut planned, mut skipped) = (Layouts::default(), Vec::new(), Vec::new());
    for (rank, function) in leaves
        .functions()
        .iter()
        .enumerate()
        .take(count + SPARE_TRIES)
    {
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
    match annotate(dir, leaves.total, planned, leaves.event(), &mut binaries) {
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
