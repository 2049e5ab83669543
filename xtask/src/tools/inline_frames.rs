//! Inline frames for `perf script --no-inline` output, read from the
//! programs' DWARF in process (the addr2line crate, gimli), so that a
//! flamegraph shows the functions Rust inlined without any addr2line
//! installed: binutils' is far too slow on Rust binaries and gimli's own
//! binary is a separate install.
//!
//! The result is the text perf script prints when it runs a gimli addr2line
//! itself (perf 6.1, tools/perf/util/machine.c `append_inlines` and
//! srcline.c): each frame of a program with debug information becomes its
//! chain of inlined functions, innermost first, each line `ip NAME
//! (inlined)`, ending with the function that holds the code; that last one
//! keeps perf's own line (`ip sym+off (dso)`) when it names the same
//! function, as perf reuses its symbol then.
//!
//! Addresses: perf script prints a user-space frame's `ip` relative to its
//! file (perf's `map_ip`: the file offset), which the ELF program headers
//! turn into the address the DWARF speaks of (perf's `map__rip_2objdump`);
//! for a position-independent program with its text 0x1000 above its file
//! offset (what current linkers write) the two differ.

use super::perf_script::{parse_frame, Frame};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::executable::{address_of, loaded_segments, separate_debug_file, Segment};

/// The DWARF sections of a binary, shared by the parser's readers.
type Reader = gimli::EndianRcSlice<gimli::RunTimeEndian>;

/// The inline frames of one program or library, looked up once per address.
struct Binary {
    context: addr2line::Context<Reader>,
    segments: Vec<Segment>,
    /// What the frame at a file offset becomes, decided once per offset
    /// (the symbol perf names there is the same every time); `None`: perf's
    /// line stays as it is.
    expansions: HashMap<u64, Option<Expansion>>,
}

/// A frame's chain of inline frames, innermost first.
struct Expansion {
    /// ` NAME (inlined)\n` per function, ready to follow the frame's ip.
    lines: Vec<Vec<u8>>,
    /// The last function is perf's symbol: perf's own line stands for it.
    keep_last: bool,
}

impl Binary {
    fn open(path: &Path) -> Option<Binary> {
        let (segments, debug_file) = read_elf(path)?;
        let context = dwarf_context(debug_file.as_deref().unwrap_or(path))?;
        Some(Binary {
            context,
            segments,
            expansions: HashMap::new(),
        })
    }

    fn expansion(&mut self, frame: &Frame<'_>) -> Option<&Expansion> {
        let (segments, context) = (&self.segments, &self.context);
        self.expansions
            .entry(frame.offset)
            .or_insert_with(|| {
                let address = address_of(segments, frame.offset)?;
                Expansion::of(function_names(context, address), frame.symbol)
            })
            .as_ref()
    }
}

impl Expansion {
    /// The frame's expansion, from the functions DWARF names at its address;
    /// `None` when it adds nothing (no debug information there, or just the
    /// function perf named).
    fn of(names: Vec<String>, perf_symbol: &str) -> Option<Expansion> {
        let keep_last = same_function(names.last()?, perf_symbol);
        if names.len() == 1 && keep_last {
            return None;
        }
        let lines = names
            .iter()
            .map(|name| format!(" {name} (inlined)\n").into_bytes())
            .collect();
        Some(Expansion { lines, keep_last })
    }
}

/// The functions at `address`, innermost first, as addr2line `-f -i` names
/// them (the linkage name where there is one); `??` for a frame that has a
/// source line but no function. Empty when the DWARF does not cover it.
fn function_names(context: &addr2line::Context<Reader>, address: u64) -> Vec<String> {
    let mut names = Vec::new();
    // Split DWARF (.dwo files) is not followed: cargo does not write it by
    // default, and without it the frame stays as perf printed it.
    let Ok(mut frames) = context.find_frames(address).skip_all_loads() else {
        return names;
    };
    while let Ok(Some(frame)) = frames.next() {
        let name = frame
            .function
            .as_ref()
            .and_then(|f| f.raw_name().ok())
            .map_or_else(|| "??".to_string(), |n| n.into_owned());
        names.push(name);
    }
    // A lone "??" is what addr2line prints for an address it knows nothing
    // of, and perf then keeps its own frame.
    if names.len() == 1 && names[0] == "??" {
        names.clear();
    }
    names
}

/// The DWARF of an ELF file, read into memory. Sections compressed with
/// zlib (`SHF_COMPRESSED`, as Debian's debug packages ship glibc's) are
/// inflated; zstd-compressed ones are left out, and their frames keep perf's
/// name without inline frames: addr2line's `loader` would decode both, but
/// brings 25 s of CPU into every fresh build of the xtask. Rust programs
/// built by cargo do not compress their DWARF.
fn dwarf_context(path: &Path) -> Option<addr2line::Context<Reader>> {
    use object::{Object, ObjectSection};
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the map is only read, and copied from before this returns.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let object = object::File::parse(&*map).ok()?;
    let endian = if object.is_little_endian() {
        gimli::RunTimeEndian::Little
    } else {
        gimli::RunTimeEndian::Big
    };
    let section = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
        let data = object
            .section_by_name(id.name())
            .and_then(|s| s.compressed_data().ok())
            .and_then(section_bytes)
            .unwrap_or_default();
        Ok(gimli::EndianRcSlice::new(std::rc::Rc::from(data), endian))
    };
    let dwarf = gimli::Dwarf::load(section).ok()?;
    addr2line::Context::from_dwarf(dwarf).ok()
}

/// A section's bytes, inflated if zlib compressed them; `None` for another
/// compression, or data that does not inflate to the size it declares.
fn section_bytes(section: object::CompressedData<'_>) -> Option<Vec<u8>> {
    match section.format {
        object::CompressionFormat::None => Some(section.data.to_vec()),
        object::CompressionFormat::Zlib => {
            let size = usize::try_from(section.uncompressed_size).ok()?;
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(section.data, size)
                .ok()
                .filter(|bytes| bytes.len() == size)
        }
        _ => None,
    }
}

/// The loaded segments of an ELF file, and where its DWARF is when a
/// separate file holds it (a distribution's debug package); `None` for
/// anything but ELF (perf's `[vdso]`, a JIT's map file, a file gone).
fn read_elf(path: &Path) -> Option<(Vec<Segment>, Option<PathBuf>)> {
    use object::Object;
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the map is only read, as perf maps it too. A
    // file truncated while mapped would fault (SIGBUS), as it would for
    // perf: the programs profiled are not rewritten while they are read.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let object = object::File::parse(&*map).ok()?;
    if object.format() != object::BinaryFormat::Elf {
        return None;
    }
    let segments = loaded_segments(&object);
    let debug_file = if object.section_by_name(".debug_info").is_some() {
        None
    } else {
        separate_debug_file(&object, path)
    };
    Some((segments, debug_file))
}

/// The DWARF of every binary perf's frames name, opened on first use.
#[derive(Default)]
pub struct Symbolizer {
    binaries: HashMap<String, Option<Binary>>,
}

impl Symbolizer {
    /// The lines that stand for one frame line of perf script's output:
    /// the line itself, or its chain of inline frames.
    pub(crate) fn expand(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let Some(frame) = std::str::from_utf8(line).ok().and_then(parse_frame) else {
            out.extend_from_slice(line);
            return;
        };
        if !self.binaries.contains_key(frame.dso) {
            let binary = Binary::open(Path::new(frame.dso));
            self.binaries.insert(frame.dso.to_string(), binary);
        }
        let expansion = self
            .binaries
            .get_mut(frame.dso)
            .and_then(Option::as_mut)
            .and_then(|binary| binary.expansion(&frame));
        let Some(expansion) = expansion else {
            out.extend_from_slice(line);
            return;
        };
        let last = expansion.lines.len() - 1;
        for (i, inlined) in expansion.lines.iter().enumerate() {
            if i == last && expansion.keep_last {
                out.extend_from_slice(line);
            } else {
                out.extend_from_slice(&line[..frame.ip_end]);
                out.extend_from_slice(inlined);
            }
        }
    }
}

/// Whether DWARF's name of a function and perf's symbol name the same one,
/// as perf compares them: after demangling (perf demangles the symbol, and
/// addr2line's linkage name before it compares).
fn same_function(dwarf_name: &str, perf_symbol: &str) -> bool {
    if dwarf_name == perf_symbol {
        return true;
    }
    let dwarf = super::demangle::symbol(dwarf_name).unwrap_or_else(|| dwarf_name.to_string());
    let perf = super::demangle::symbol(perf_symbol).unwrap_or_else(|| perf_symbol.to_string());
    dwarf == perf
}

/// Against a fixture pair: `perf script` of one recording, once with
/// `--no-inline` and once as perf prints it with gimli's addr2line on PATH.
#[cfg(test)]
mod against_perf {
    use super::*;

    /// The fixture: a C program (`inline/inl.c`, `gcc -O2 -g -fPIE -pie`
    /// linked by rust-lld, whose text lies 0x1000 above its file offset, as
    /// in Rust programs), recorded with `perf record --call-graph dwarf`;
    /// 150 samples of `perf script --no-inline -F
    /// comm,pid,tid,time,event,ip,sym,symoff,dso` and of `perf script -F
    /// comm,pid,tid,time,event,ip,sym,dso` with gimli's addr2line 0.27 first on
    /// PATH. The binary's path reads `@BINARY@`; glibc's reads
    /// `/nonexistent/libc.so.6`, with its frames as perf prints them without
    /// debug information (glibc differs from machine to machine).
    #[test]
    fn expanded_frames_fold_like_perf_with_gimli_addr2line() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/perf/inline");
        let binary = dir.join("inl-pie");
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name))
                .unwrap()
                .replace("@BINARY@", binary.to_str().unwrap())
        };
        let plain = read("script-no-inline.txt");
        let gimli = read("script-gimli-addr2line.txt");
        let fold = |text: &[u8]| {
            let mut folded = Vec::new();
            crate::tools::perf::fold(text, &mut folded).unwrap();
            String::from_utf8(folded).unwrap()
        };
        let mut expanded = Vec::new();
        std::io::Read::read_to_end(
            &mut crate::tools::perf_script::Lines::new(plain.as_bytes(), true),
            &mut expanded,
        )
        .unwrap();
        let ours = fold(&expanded);
        assert_eq!(ours, fold(gimli.as_bytes()));
        // Not a comparison of two texts without inline frames.
        assert!(ours.contains(";work;step "), "{ours}");
        assert_ne!(ours, fold(plain.as_bytes()));
    }
}
