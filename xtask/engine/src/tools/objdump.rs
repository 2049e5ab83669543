//! objdump (binutils): one function's disassembly, and that text with each
//! instruction's share of the function's samples beside it and its source
//! lines between, in perf annotate's `--stdio` layout: the files of
//! annotate/.
//!
//! The source lines are what objdump's `-l -S` (perf annotate's own
//! options) print, read from the binary's DWARF in process (`dwarf`), which
//! the profile's inline frames have loaded already: objdump reading the
//! DWARF again cost many times its disassembly, per function, after the
//! workload had ended.
//!
//! perf annotate would read the whole perf.data again for each function
//! (tens of megabytes for a few seconds of a run) before it runs this very
//! objdump; the samples per instruction are counted while the profile is
//! folded instead (`leaves::LeafSamples`), so an annotation costs one
//! objdump, and needs neither perf.data nor perf.

use super::dwarf::{Dwarf, SourceLine};
use super::executable::{address_of, loaded_segments, Segment};
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::Path;

/// objdump on PATH, or why annotate/ cannot be made (for doctor and the
/// annotations alike).
pub fn find() -> anyhow::Result<std::path::PathBuf> {
    which::which("objdump").map_err(|_| {
        anyhow::anyhow!(
            "objdump is not installed: annotate/ disassembles with it (install binutils)"
        )
    })
}

/// Where a function lies in an ELF file (its symbol table's address and size).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FunctionRange {
    pub address: u64,
    pub size: u64,
}

/// `objdump` of one function: demangled (`-C`), without raw bytes; perf
/// annotate's own command (perf 6.1, `symbol__disassemble`) without its
/// source lines (`-l -S`), which [`Sources`] adds.
pub fn disassemble_args(binary: &Path, function: FunctionRange) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec![
        format!("--start-address=0x{:016x}", function.address).into(),
        format!("--stop-address=0x{:016x}", function.address + function.size).into(),
    ];
    args.extend(["-d", "--no-show-raw-insn", "-C"].map(OsString::from));
    args.push(binary.into());
    args
}

/// What annotating a binary's functions needs from it: its loaded segments
/// (file offsets to addresses) and its functions (symbol table).
pub struct Layout {
    segments: Vec<Segment>,
    /// (address, size), by address.
    functions: Vec<(u64, u64)>,
}

impl Layout {
    /// Reads an ELF file's segments and function symbols: its `.symtab`,
    /// or for a stripped file (a distribution's libc) that of its separate
    /// debug file, as perf finds it, else its `.dynsym`. `None` for anything
    /// else, or a file without function symbols.
    pub fn read(path: &Path) -> Option<Layout> {
        use object::Object;
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: the map is only read, as perf and objdump read the file;
        // the programs profiled are not rewritten while they are read.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        let object = object::File::parse(&*map).ok()?;
        if object.format() != object::BinaryFormat::Elf {
            return None;
        }
        let mut functions = functions_of(object.symbols());
        if functions.is_empty() {
            let debug = super::executable::separate_debug_file(&object, path);
            functions = debug
                .and_then(|debug| std::fs::File::open(debug).ok())
                // SAFETY: as above.
                .and_then(|file| unsafe { memmap2::Mmap::map(&file) }.ok())
                .and_then(|map| Some(functions_of(object::File::parse(&*map).ok()?.symbols())))
                .unwrap_or_default();
        }
        if functions.is_empty() {
            functions = functions_of(object.dynamic_symbols());
        }
        if functions.is_empty() {
            return None;
        }
        functions.sort_unstable();
        functions.dedup();
        Some(Layout {
            segments: loaded_segments(&object),
            functions,
        })
    }

    /// The address of a file offset perf printed.
    pub fn address(&self, file_offset: u64) -> Option<u64> {
        address_of(&self.segments, file_offset)
    }

    /// The function whose code holds `address`: the symbol starting
    /// closest below it whose size reaches it (aliases share one range).
    pub fn function_at(&self, address: u64) -> Option<FunctionRange> {
        let after = self
            .functions
            .partition_point(|(start, _)| *start <= address);
        self.functions[..after]
            .iter()
            .rev()
            .find(|(start, size)| address < start + size)
            .map(|(address, size)| FunctionRange {
                address: *address,
                size: *size,
            })
    }
}

/// The (address, size) of the defined functions among `symbols`.
fn functions_of<'d: 'f, 'f>(
    symbols: impl Iterator<Item = object::Symbol<'d, 'f>>,
) -> Vec<(u64, u64)> {
    use object::{ObjectSymbol, SymbolKind};
    symbols
        .filter(|s| s.kind() == SymbolKind::Text && s.size() > 0 && s.is_definition())
        .map(|s| (s.address(), s.size()))
        .collect()
}

/// What an annotation says above its disassembly.
pub struct Heading<'a> {
    /// The binary's file name (`cdr-demo`).
    pub binary: &'a str,
    /// The sampled event (`cpu-clock`).
    pub event: &'a str,
}

/// An annotation: objdump's text of one function with each instruction's
/// share of `samples` (address → samples) in front, as perf annotate
/// `--stdio` lays it out (`   16.10 :   83150:  push   %rbp`), other
/// lines (labels, and the `sources` lines before each instruction) behind a
/// blank column. objdump's preamble (the file format) is left out. Samples at
/// addresses objdump did not list (a range that does not match the binary)
/// are said at the end, never dropped silently.
pub fn render(
    heading: &Heading<'_>,
    objdump: &str,
    samples: &BTreeMap<u64, u64>,
    sources: &mut Sources<'_>,
) -> String {
    let total: u64 = samples.values().sum();
    let title = format!(
        " Percent |\tSource code & Disassembly of {} for {} ({total} samples, percent: local hits)",
        heading.binary, heading.event
    );
    let mut out = String::with_capacity(objdump.len() * 5 / 4 + 256);
    out.push_str(&title);
    out.push('\n');
    out.push_str(&"-".repeat(title.len() + 7));
    out.push('\n');
    let body = objdump
        .find("Disassembly of section")
        .map_or(objdump, |at| &objdump[at..]);
    let mut listed = 0;
    for line in body.lines() {
        match instruction_address(line) {
            Some((address, instruction)) => {
                sources.write_before(address, &mut out);
                let hits = samples.get(&address).copied().unwrap_or(0);
                listed += hits;
                let percent = super::leaves::percent(hits, total);
                out.push_str(&format!(
                    "{percent:8.2} : {address:>7x}:  {}\n",
                    instruction.trim_start()
                ));
            }
            None if line.is_empty() => out.push_str("         :\n"),
            None => push_unmarked(&mut out, line),
        }
    }
    // (Not below: an address objdump listed twice would count twice.)
    if listed < total {
        out.push_str(&format!(
            "\n{} of the {total} samples fell on addresses objdump did not list: the binary may \
             have changed since it was profiled\n",
            total - listed
        ));
    }
    out
}

/// The lines objdump's `-l -S` print before an instruction, from the
/// binary's DWARF: the function's name where it changes (an inlined one
/// included), `file:line` where the line changes, and the source lines up to
/// it when the file can be read (the lines not shown yet, at most
/// [`CONTEXT_LINES`] before it).
pub struct Sources<'d> {
    dwarf: Option<&'d Dwarf>,
    /// Each file's lines, read once; `None` when it cannot be read.
    texts: HashMap<String, Option<Vec<String>>>,
    /// The last line of each file shown so far.
    shown: HashMap<String, u32>,
    function: Option<String>,
    place: Option<(String, u32)>,
}

/// Source lines shown before a line seen first, as objdump's `-S`
/// (`SHOW_PRECEDING_CONTEXT_LINES`).
pub const CONTEXT_LINES: u32 = 5;

impl<'d> Sources<'d> {
    /// `None`: a binary without DWARF, whose annotation is its assembly alone.
    pub fn new(dwarf: Option<&'d Dwarf>) -> Sources<'d> {
        Sources {
            dwarf,
            texts: HashMap::new(),
            shown: HashMap::new(),
            function: None,
            place: None,
        }
    }

    /// Gives `file` the text `text` instead of what is on disk (a test's
    /// fixture, whose source was compiled elsewhere).
    #[cfg(test)]
    pub fn with_text(mut self, file: &str, text: &str) -> Sources<'d> {
        let lines = text.lines().map(str::to_string).collect();
        self.texts.insert(file.to_string(), Some(lines));
        self
    }

    /// Writes the lines that go before the instruction at `address`.
    fn write_before(&mut self, address: u64, out: &mut String) {
        let Some(SourceLine {
            function,
            demangled,
            file,
            line,
        }) = self.dwarf.and_then(|dwarf| dwarf.source_line(address))
        else {
            return;
        };
        if function.is_some() && function != self.function {
            let name = function.as_deref().unwrap_or_default();
            let parentheses = if demangled { "" } else { "()" };
            push_unmarked(out, &format!("{name}{parentheses}:"));
            self.function = function;
        }
        let (Some(file), Some(line)) = (file, line) else {
            return;
        };
        let same_place = self
            .place
            .as_ref()
            .is_some_and(|(f, l)| *f == file && *l == line);
        if line == 0 || same_place {
            return;
        }
        push_unmarked(out, &format!("{file}:{line}"));
        let text = self
            .texts
            .entry(file.clone())
            .or_insert_with(|| {
                std::fs::read_to_string(&file)
                    .ok()
                    .map(|text| text.lines().map(str::to_string).collect())
            })
            .as_deref();
        if let Some(text) = text {
            let shown = self.shown.get(&file).copied().unwrap_or(0);
            // Lines not shown yet up to this one; only this one when the code
            // goes back to a line above.
            let first = if line > shown {
                (shown + 1).max(line.saturating_sub(CONTEXT_LINES)).max(1)
            } else {
                line
            };
            for source in (first..=line).filter_map(|n| text.get(n as usize - 1)) {
                push_unmarked(out, source);
            }
            self.shown.insert(file.clone(), shown.max(line));
        }
        self.place = Some((file, line));
    }
}

/// A line without samples of its own (a label, a source line, a place),
/// behind the blank percent column.
fn push_unmarked(out: &mut String, line: &str) {
    out.push_str("         :            ");
    out.push_str(line);
    out.push('\n');
}

/// An instruction line of objdump's disassembly, `   83150:\tpush   %rbp`:
/// its address and the instruction.
fn instruction_address(line: &str) -> Option<(u64, &str)> {
    let (address, instruction) = line.split_once(":\t")?;
    let address = address.trim_start();
    if address.is_empty() || !line.starts_with(' ') {
        return None;
    }
    Some((u64::from_str_radix(address, 16).ok()?, instruction))
}

/// The samples an annotation covers, from its title: `Percent | Source code
/// & Disassembly of cdr-demo for cpu-clock (35 samples, percent: local hits)`.
pub fn annotated_samples(text: &str) -> Option<u64> {
    let header = text.lines().find(|l| l.contains("Disassembly of"))?;
    let (_, after) = header.rsplit_once('(')?;
    after.split_whitespace().next()?.parse().ok()
}

/// A file name for the annotation of `function`, `rank` (from 1) first so
/// the files list in self-time order: `01-cdr_demo..generate..simulate_subscriber.txt`.
pub fn file_name(rank: usize, function: &str) -> String {
    let mut name: String = function
        .replace("::", "..")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    // ASCII only by now: any length is a character boundary.
    name.truncate(80);
    format!("{rank:02}-{name}.txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_ranked_and_safe() {
        assert_eq!(
            file_name(1, "cdr_demo::generate::simulate_subscriber"),
            "01-cdr_demo..generate..simulate_subscriber.txt"
        );
        assert_eq!(
            file_name(12, "<usize as core::fmt::Display>::fmt"),
            "12-_usize_as_core..fmt..Display_..fmt.txt"
        );
        assert!(file_name(3, &"x".repeat(300)).len() < 90);
    }
}

/// On the inline fixture (`perf/inline/`): a C program linked with its text
/// 0x1000 above its file offsets, as Rust programs are, 150 samples of
/// perf script, objdump 2.40's disassembly of its hot `work`
/// (`objdump-work.txt`, the command `disassemble_args` gives), and the same
/// with objdump's own source lines (`objdump-work-source.txt`, `-l -S`,
/// where the source was compiled: `/tmp/xtask-inline-fixture/inl.c`).
#[cfg(test)]
mod against_the_fixture {
    use super::*;
    use crate::tools::leaves::LeafSamples;

    fn fixture() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/perf/inline")
    }

    /// The source lines of the fixture's DWARF, its source read from the fixture.
    fn sources(dwarf: Option<&Dwarf>) -> Sources<'_> {
        let source = std::fs::read_to_string(fixture().join("inl.c")).unwrap();
        Sources::new(dwarf).with_text("/tmp/xtask-inline-fixture/inl.c", &source)
    }

    fn dwarf() -> Dwarf {
        Dwarf::open(&fixture().join("inl-pie")).unwrap()
    }

    /// The lines between the instructions, as objdump's `-l -S` print them
    /// and as [`Sources`] does: the same places (`file:line`) and source
    /// lines, before the same instructions.
    #[test]
    fn source_lines_are_those_objdump_prints() {
        let layout = Layout::read(&fixture().join("inl-pie")).unwrap();
        let (samples, _) = work_samples(&layout);
        let heading = Heading {
            binary: "inl-pie",
            event: "cpu-clock",
        };
        let dwarf = dwarf();
        let objdumps = std::fs::read_to_string(fixture().join("objdump-work-source.txt")).unwrap();
        let theirs = render(&heading, &objdumps, &samples, &mut Sources::new(None));
        let plain = std::fs::read_to_string(fixture().join("objdump-work.txt")).unwrap();
        let ours = render(&heading, &plain, &samples, &mut sources(Some(&dwarf)));
        // Each instruction with the places and source lines above it.
        let blocks = |text: &str| {
            let mut blocks = Vec::new();
            let mut above = Vec::new();
            for line in text.lines().skip(2) {
                match line.split_once(" : ") {
                    Some((percent, rest)) if !percent.trim().is_empty() => {
                        blocks.push((rest.trim().to_string(), std::mem::take(&mut above)))
                    }
                    _ => {
                        let rest = line.trim_start_matches(' ').trim_start_matches(':');
                        let rest = rest.strip_prefix("            ").unwrap_or(rest);
                        // Function names aside: objdump prints one before a
                        // place whose inline chain changed, and sometimes
                        // none.
                        if !rest.trim().is_empty() && !rest.ends_with(':') {
                            above.push(rest.to_string())
                        }
                    }
                }
            }
            blocks
        };
        let (ours, theirs) = (blocks(&ours), blocks(&theirs));
        let instructions = ours.len();
        assert!(instructions > 20, "{ours:?}");
        let theirs: Vec<_> = theirs.into_iter().take(instructions).collect();
        assert_eq!(ours, theirs);
    }

    /// The leaf samples of the fixture's `work`, by address.
    fn work_samples(layout: &Layout) -> (BTreeMap<u64, u64>, FunctionRange) {
        let binary = fixture().join("inl-pie");
        let script = std::fs::read_to_string(fixture().join("script-no-inline.txt"))
            .unwrap()
            .replace("@BINARY@", binary.to_str().unwrap());
        // Each sample's first frame line: `\t  7ee work+0x4e (BINARY)`.
        let mut leaves = LeafSamples::default();
        for sample in script.split("\n\n").filter(|s| !s.trim().is_empty()) {
            let leaf = sample.lines().nth(1).unwrap().trim();
            let (offset, rest) = leaf.split_once(' ').unwrap();
            let (symbol, file) = rest.rsplit_once(" (").unwrap();
            let name = symbol.rsplit_once("+0x").map_or(symbol, |(name, _)| name);
            leaves.total += 1;
            if file.starts_with('/') {
                let offset = u64::from_str_radix(offset, 16).unwrap();
                leaves.add_leaf(file.trim_end_matches(')'), name, offset);
            }
        }
        assert_eq!(leaves.total, 150);
        let work = &leaves.functions()[0];
        assert_eq!(work.name, "work");
        let mut samples = BTreeMap::new();
        for (offset, count) in &work.offsets {
            *samples.entry(layout.address(*offset).unwrap()).or_insert(0) += count;
        }
        let range = layout.function_at(*samples.keys().next().unwrap()).unwrap();
        (samples, range)
    }

    #[test]
    fn file_offsets_become_addresses_in_their_function() {
        let layout = Layout::read(&fixture().join("inl-pie")).unwrap();
        // `nm`: work at 0x17a0, main at 0x1820; perf's offsets are 0x1000 lower.
        assert_eq!(layout.address(0x7ee), Some(0x17ee));
        let (samples, range) = work_samples(&layout);
        assert_eq!(range.address, 0x17a0);
        assert!(range.address + range.size <= 0x1820, "{range:?}");
        assert!(samples.keys().all(|a| (0x17a0..0x1820).contains(a)));
        assert_eq!(layout.function_at(0x1820).unwrap().address, 0x1820);
        assert_eq!(
            disassemble_args(Path::new("/p"), range)
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect::<Vec<_>>()[..2],
            [
                "--start-address=0x00000000000017a0".to_string(),
                format!("--stop-address=0x{:016x}", range.address + range.size)
            ]
        );
        assert!(Layout::read(&fixture().join("inl.c")).is_none());
    }

    #[test]
    fn every_sample_lands_on_an_instruction_of_the_disassembly() {
        let layout = Layout::read(&fixture().join("inl-pie")).unwrap();
        let (samples, _) = work_samples(&layout);
        let objdump = std::fs::read_to_string(fixture().join("objdump-work.txt")).unwrap();
        let heading = Heading {
            binary: "inl-pie",
            event: "cpu-clock",
        };
        let dwarf = dwarf();
        let text = render(&heading, &objdump, &samples, &mut sources(Some(&dwarf)));
        let total: u64 = samples.values().sum();
        assert_eq!(annotated_samples(&text), Some(total));
        assert!(!text.contains("did not list"), "{text}");
        assert!(
            !text.contains("file format"),
            "objdump's preamble stays out"
        );
        // Each instruction's share is its samples over the function's.
        let mut sum = 0.0;
        for (address, hits) in &samples {
            let line = text
                .lines()
                .find(|l| l.contains(&format!(" {address:x}:  ")))
                .unwrap_or_else(|| panic!("{address:x} missing:\n{text}"));
            let percent: f64 = line.split(" : ").next().unwrap().trim().parse().unwrap();
            assert!(
                (percent - 100.0 * *hits as f64 / total as f64).abs() < 0.005,
                "{line}"
            );
            sum += percent;
        }
        assert!((sum - 100.0).abs() < 0.05 * samples.len() as f64, "{sum}");
        // Source lines stay, behind the blank column.
        assert!(text.contains(
            "         :                for (unsigned long i = 0; i < n; i++) acc = step(acc, i);"
        ));
        // Samples the listing lacks are said, not dropped.
        let shifted: BTreeMap<u64, u64> = samples.iter().map(|(a, n)| (a + 0x10000, *n)).collect();
        let text = render(&heading, &objdump, &shifted, &mut Sources::new(None));
        assert!(
            text.contains(&format!("{total} of the {total} samples fell on addresses")),
            "{text}"
        );
    }
}
