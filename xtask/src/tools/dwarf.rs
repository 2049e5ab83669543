//! A program's or library's DWARF, read in process (the addr2line crate,
//! gimli): what the code at an address was compiled from. Two readers share
//! one loading per binary: the inline frames of a profile's stacks
//! (`inline_frames`) and the source lines of annotate/ (`objdump::render`),
//! so a profile reads each binary's debug information once.
//!
//! Addresses: perf prints a user-space frame's `ip` relative to its file
//! (perf's `map_ip`: the file offset), which the ELF program headers turn
//! into the address the DWARF speaks of (perf's `map__rip_2objdump`); for a
//! position-independent program with its text 0x1000 above its file offset
//! (what current linkers write) the two differ.

use super::executable::{address_of, loaded_segments, separate_debug_file, Segment};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// The DWARF sections of a binary, shared by the parser's readers.
type Reader = gimli::EndianRcSlice<gimli::RunTimeEndian>;

/// One binary's debug information and how its file maps to addresses.
pub struct Dwarf {
    context: addr2line::Context<Reader>,
    segments: Vec<Segment>,
}

/// Where the code at one address comes from: the innermost function
/// (inlined or not) and its source line, as `objdump -l` names them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLine {
    /// Demangled, without Rust's hash (`core::fmt::write`).
    pub function: Option<String>,
    /// Whether the name was mangled (objdump writes `name:` then, and
    /// `name():` for a C name).
    pub demangled: bool,
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl Dwarf {
    /// `None` for a file that is not ELF or has no DWARF (nor a separate
    /// debug file that has).
    pub fn open(path: &Path) -> Option<Dwarf> {
        let (segments, debug_file) = read_elf(path)?;
        let context = dwarf_context(debug_file.as_deref().unwrap_or(path))?;
        Some(Dwarf { context, segments })
    }

    /// The address of the code at `offset` in the file.
    pub fn address_of(&self, offset: u64) -> Option<u64> {
        address_of(&self.segments, offset)
    }

    /// The functions at `address`, innermost first, as addr2line `-f -i`
    /// names them (the linkage name where there is one); `??` for a frame
    /// that has a source line but no function. Empty when the DWARF does not
    /// cover it.
    pub fn function_names(&self, address: u64) -> Vec<String> {
        let mut names = Vec::new();
        // Split DWARF (.dwo files) is not followed: cargo does not write it
        // by default, and without it the frame stays as perf printed it.
        let Ok(mut frames) = self.context.find_frames(address).skip_all_loads() else {
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
        // A lone "??" is what addr2line prints for an address it knows
        // nothing of, and perf then keeps its own frame.
        if names.len() == 1 && names[0] == "??" {
            names.clear();
        }
        names
    }

    /// The innermost function at `address` and its source line; `None` where
    /// the DWARF says nothing of it.
    pub fn source_line(&self, address: u64) -> Option<SourceLine> {
        let mut frames = self.context.find_frames(address).skip_all_loads().ok()?;
        let frame = frames.next().ok()??;
        let raw = frame.function.as_ref().and_then(|f| f.raw_name().ok());
        let demangled = raw.as_deref().and_then(super::demangle::symbol);
        let is_demangled = demangled.is_some();
        let function = demangled.or_else(|| raw.map(|name| name.into_owned()));
        let (file, line) = frame
            .location
            .map_or((None, None), |l| (l.file.map(str::to_string), l.line));
        (function.is_some() || file.is_some()).then_some(SourceLine {
            function,
            demangled: is_demangled,
            file,
            line,
        })
    }
}

/// The DWARF of the binaries a profile names, each opened on first use and
/// kept: the folding's inline frames open them, annotate/ reuses them.
#[derive(Default)]
pub struct Binaries(HashMap<String, Option<Dwarf>>);

impl std::fmt::Debug for Binaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl Binaries {
    /// The DWARF of the file at `path`; `None` when it has none.
    pub fn get(&mut self, path: &str) -> Option<&Dwarf> {
        if !self.0.contains_key(path) {
            let dwarf = Dwarf::open(Path::new(path));
            self.0.insert(path.to_string(), dwarf);
        }
        self.0.get(path).and_then(Option::as_ref)
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The inline fixture (`perf/inline/inl.c`, built with `-O2 -g`): its
    /// hot loop is `step` inlined into `work`.
    #[test]
    fn an_address_names_its_innermost_function_and_line() {
        let binary =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/perf/inline/inl-pie");
        let mut binaries = Binaries::default();
        let dwarf = binaries.get(binary.to_str().unwrap()).unwrap();
        // Every instruction of `work` (0x17a0..0x1820, `nm`) has a line of inl.c.
        let lines: Vec<SourceLine> = (0x17a0..0x1820)
            .filter_map(|a| dwarf.source_line(a))
            .collect();
        assert!(!lines.is_empty());
        assert!(lines
            .iter()
            .all(|l| l.file.as_deref().is_some_and(|f| f.ends_with("inl.c"))));
        assert!(lines.iter().any(|l| l.function.as_deref() == Some("work")));
        assert!(lines.iter().any(|l| l.function.as_deref() == Some("step")));
        // Its innermost function is the first of its inline chain.
        let inlined = (0x17a0..0x1820)
            .find(|a| dwarf.function_names(*a).len() > 1)
            .unwrap();
        assert_eq!(
            dwarf.source_line(inlined).unwrap().function.as_deref(),
            Some(dwarf.function_names(inlined)[0].as_str())
        );
        assert!(binaries.get("/nonexistent/libc.so.6").is_none());
    }
}
