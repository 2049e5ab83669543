//! ELF files read in process for a sampling profiler. Here: what the code at
//! an address of an ELF file was compiled from, read from its DWARF with the
//! addr2line crate (gimli): the chain of functions inlined there, and the
//! innermost one's source line. `elf`: the file's segments, symbols and
//! unwind sections; `unwind`: a process's stacks unwound (framehop);
//! `records`: perf's recordings read record by record (linux-perf-data).

pub mod elf;
pub mod records;
pub mod unwind;

use std::path::Path;

/// The DWARF sections of a binary, read where the file is mapped (or
/// where a compressed one was inflated), never copied.
type Reader = gimli::EndianReader<gimli::RunTimeEndian, elf::Bytes>;

/// One ELF file's DWARF, read into memory.
pub struct Dwarf {
    context: addr2line::Context<Reader>,
}

/// The innermost function at an address (inlined or not), by its linkage
/// name where it has one, and the source line of the address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Innermost {
    pub function: Option<String>,
    pub file: Option<String>,
    pub line: Option<u32>,
}

impl Dwarf {
    /// The DWARF of the ELF file at `path`. Sections compressed with zlib
    /// (`SHF_COMPRESSED`, as Debian's debug packages ship glibc's) are
    /// inflated; zstd-compressed ones are left out (their addresses then
    /// name nothing). `None` for a file that cannot be read as ELF.
    pub fn load(path: &Path) -> Option<Dwarf> {
        use object::{Object, ObjectSection};
        let image = elf::Image::open(path)?;
        let object = image.object();
        let endian = if object.is_little_endian() {
            gimli::RunTimeEndian::Little
        } else {
            gimli::RunTimeEndian::Big
        };
        let section = |id: gimli::SectionId| -> Result<Reader, gimli::Error> {
            let data = object
                .section_by_name(id.name())
                .filter(|_| !UNREAD.contains(&id))
                .and_then(|s| s.compressed_data().ok())
                .and_then(|data| section_bytes(&image, data))
                .unwrap_or_else(|| elf::Bytes::owned(Vec::new()));
            Ok(gimli::EndianReader::new(data, endian))
        };
        let dwarf = gimli::Dwarf::load(section).ok()?;
        let context = addr2line::Context::from_dwarf(dwarf).ok()?;
        Some(Dwarf { context })
    }

    /// The functions at `address`, innermost first, as addr2line `-f -i`
    /// names them (the linkage name where there is one); `??` for a frame
    /// that has a source line but no function. Empty when the DWARF does not
    /// cover it.
    pub fn function_names(&self, address: u64) -> Vec<String> {
        let mut names = Vec::new();
        // Split DWARF (.dwo files) is not followed: cargo does not write it
        // by default.
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
        // nothing of.
        if names.len() == 1 && names[0] == "??" {
            names.clear();
        }
        names
    }

    /// The innermost function at `address` and its source line; `None` where
    /// the DWARF says nothing of it.
    pub fn innermost(&self, address: u64) -> Option<Innermost> {
        let mut frames = self.context.find_frames(address).skip_all_loads().ok()?;
        let frame = frames.next().ok()??;
        let function = frame
            .function
            .as_ref()
            .and_then(|f| f.raw_name().ok())
            .map(|name| name.into_owned());
        let (file, line) = frame
            .location
            .map_or((None, None), |l| (l.file.map(str::to_string), l.line));
        (function.is_some() || file.is_some()).then_some(Innermost {
            function,
            file,
            line,
        })
    }
}

/// Sections that say where variables live, not what code came from where:
/// never read by these look-ups, and about a sixth of glibc's compressed
/// debug information.
const UNREAD: [gimli::SectionId; 4] = [
    gimli::SectionId::DebugLoc,
    gimli::SectionId::DebugLocLists,
    gimli::SectionId::DebugMacinfo,
    gimli::SectionId::DebugMacro,
];

/// A section's bytes: shared with the file's map, or inflated if zlib
/// compressed them; `None` for another compression, or data that does not
/// inflate to the size it declares.
fn section_bytes(image: &elf::Image, section: object::CompressedData<'_>) -> Option<elf::Bytes> {
    match section.format {
        object::CompressionFormat::None => Some(image.share(section.data)),
        object::CompressionFormat::Zlib => {
            let size = usize::try_from(section.uncompressed_size).ok()?;
            miniz_oxide::inflate::decompress_to_vec_zlib_with_limit(section.data, size)
                .ok()
                .filter(|bytes| bytes.len() == size)
                .map(elf::Bytes::owned)
        }
        _ => None,
    }
}
