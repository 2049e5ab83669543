//! An ELF file in memory (mapped, or copied from the process: the vDSO):
//! its loaded segments, its symbol table and the sections that unwind its
//! stacks.

use object::{Object, ObjectSection, ObjectSegment, ObjectSymbol, ObjectSymbolTable};
use std::ops::{Deref, Range};
use std::path::Path;
use std::sync::Arc;

/// Part of an image's bytes, shared without copying (framehop keeps a
/// module's unwind sections for as long as the process lives).
#[derive(Clone)]
pub struct Bytes {
    whole: Arc<dyn AsRef<[u8]> + Send + Sync>,
    range: Range<usize>,
}

impl Deref for Bytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &(*self.whole).as_ref()[self.range.clone()]
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bytes({} bytes)", self.range.len())
    }
}

// SAFETY: the bytes live in an `Arc`'d buffer (a map, or a heap buffer
// that is never resized), which does not move when a `Bytes` moves, and
// clones share it.
unsafe impl gimli::StableDeref for Bytes {}
// SAFETY: as above; a clone derefs to the very same bytes.
unsafe impl gimli::CloneStableDeref for Bytes {}

impl Bytes {
    /// Bytes of their own (a section inflated from its compression).
    pub fn owned(bytes: Vec<u8>) -> Bytes {
        let range = 0..bytes.len();
        Bytes {
            whole: Arc::new(bytes),
            range,
        }
    }
}

/// One ELF file's bytes.
#[derive(Clone)]
pub struct Image {
    bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
}

/// A loaded segment: (file offset, size in the file, address).
pub type Segment = (u64, u64, u64);

impl Image {
    /// The ELF file at `path`, mapped; `None` if it is not readable ELF.
    pub fn open(path: &Path) -> Option<Image> {
        let file = std::fs::File::open(path).ok()?;
        // SAFETY: the map is only read. A file rewritten while it is mapped
        // (a rebuild during the profile) reads as garbage at worst: the
        // parsers bound every access.
        let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
        Image::from_bytes(Arc::new(map))
    }

    /// An ELF image already in memory (the vDSO, copied).
    pub fn from_bytes(bytes: Arc<dyn AsRef<[u8]> + Send + Sync>) -> Option<Image> {
        object::File::parse((*bytes).as_ref()).ok()?;
        Some(Image { bytes })
    }

    /// `data`, a part of this image's bytes, shared rather than copied
    /// (copied if it lies elsewhere: an empty section's slice may).
    pub(crate) fn share(&self, data: &[u8]) -> Bytes {
        let whole = (*self.bytes).as_ref();
        let start = (data.as_ptr() as usize).wrapping_sub(whole.as_ptr() as usize);
        if start > whole.len() || whole.len() - start < data.len() {
            return Bytes::owned(data.to_vec());
        }
        Bytes {
            whole: self.bytes.clone(),
            range: start..start + data.len(),
        }
    }

    pub(crate) fn object(&self) -> object::File<'_> {
        object::File::parse((*self.bytes).as_ref()).expect("parsed when the image was made")
    }

    /// Its loaded segments, to turn file offsets into addresses.
    pub fn segments(&self) -> Vec<Segment> {
        self.object()
            .segments()
            .filter_map(|segment| {
                let (offset, size) = segment.file_range();
                (size > 0).then(|| (offset, size, segment.address()))
            })
            .collect()
    }

    /// What framehop needs to unwind through this file's code: its text and
    /// its call-frame information (`.eh_frame` with its index, or
    /// `.debug_frame`, as Go writes).
    pub fn unwind_sections(&self) -> framehop::ExplicitModuleSectionInfo<Bytes> {
        let object = self.object();
        let section = |name: &str| {
            let section = object.section_by_name(name)?;
            let range = section.address()..section.address() + section.size();
            // Only sections stored uncompressed in the file can be shared.
            let data = section.data().ok().filter(|d| !d.is_empty());
            Some((range, data.map(|d| self.share(d))))
        };
        let (text_svma, text) = section(".text").unzip();
        let (eh_frame_svma, eh_frame) = section(".eh_frame").unzip();
        let (eh_frame_hdr_svma, eh_frame_hdr) = section(".eh_frame_hdr").unzip();
        let (got_svma, _) = section(".got").unzip();
        let debug_frame = section(".debug_frame").and_then(|(_, bytes)| bytes);
        framehop::ExplicitModuleSectionInfo {
            base_svma: 0,
            text_svma,
            text: text.flatten(),
            got_svma,
            eh_frame_svma,
            eh_frame: eh_frame.flatten(),
            eh_frame_hdr_svma,
            eh_frame_hdr: eh_frame_hdr.flatten(),
            debug_frame,
            stubs_svma: None,
            stub_helper_svma: None,
            unwind_info: None,
            text_segment_svma: None,
            text_segment: None,
        }
    }

    /// Its function symbols: `.symtab` where the file has one, else the
    /// dynamic ones; aliases ranked by their names as `demangle` gives them
    /// (as perf ranks them), each kept as the file spells it. With its PLT's entries, or `loaded`'s when
    /// this is the separate debug file of that loaded one (a debug file
    /// keeps no relocations).
    pub fn symbols(&self, demangle: &dyn Fn(&str) -> String, loaded: Option<&Image>) -> Symbols {
        let object = self.object();
        let plt = plt_entries(&loaded.unwrap_or(self).object(), demangle);
        // Functions, and labels in code (`_start` is one), as perf reads them.
        let in_code = |s: &object::Symbol<'_, '_>| match s.kind() {
            object::SymbolKind::Text => true,
            object::SymbolKind::Unknown | object::SymbolKind::Label => s
                .section_index()
                .and_then(|i| object.section_by_index(i).ok())
                .is_some_and(|section| match section.flags() {
                    // By its flags: a debug file's sections hold no code.
                    object::SectionFlags::Elf { sh_flags, .. } => {
                        sh_flags.0 & object::elf::SHF_EXECINSTR.0 != 0
                    }
                    _ => section.kind() == object::SectionKind::Text,
                }),
            _ => false,
        };
        let mut symbols = Symbols::collect(object.symbols().filter(in_code), &plt, demangle);
        if symbols.entries.len() == plt.len() {
            symbols = Symbols::collect(object.dynamic_symbols().filter(in_code), &plt, demangle);
        }
        symbols
    }

    /// Whether the file has a `.symtab` of its own (else its symbols may be
    /// in a separate debug file).
    pub fn has_symtab(&self) -> bool {
        self.object().symbol_table().is_some()
    }

    /// The file's build id and `.gnu_debuglink` name, to find its separate
    /// debug file.
    pub fn debug_link(&self) -> (Option<Vec<u8>>, Option<Vec<u8>>) {
        let object = self.object();
        let id = object.build_id().ok().flatten().map(<[u8]>::to_vec);
        let link = object
            .gnu_debuglink()
            .ok()
            .flatten()
            .map(|(name, _)| name.to_vec());
        (id, link)
    }
}

/// The size of a PLT entry on x86-64.
const PLT_ENTRY: u64 = 16;

/// The PLT's entries named as perf names them, `name@plt` (`@plt` for a
/// relocation without a symbol, as an ifunc's): in `.plt.sec` where the
/// file has one, else in `.plt` after its first entry.
fn plt_entries(object: &object::File<'_>, demangle: &dyn Fn(&str) -> String) -> Vec<(u64, String)> {
    let Some(relocations) = object.section_by_name(".rela.plt") else {
        return Vec::new();
    };
    let Ok(data) = relocations.data() else {
        return Vec::new();
    };
    let (start, skip) = match object.section_by_name(".plt.sec") {
        Some(section) => (section.address(), 0),
        None => match object.section_by_name(".plt") {
            Some(section) => (section.address(), 1),
            None => return Vec::new(),
        },
    };
    let dynamic = object.dynamic_symbol_table();
    data.chunks_exact(24)
        .enumerate()
        .map(|(i, rela)| {
            let info = u64::from_le_bytes(rela[8..16].try_into().expect("8 bytes"));
            let index = (info >> 32) as usize;
            let name = dynamic
                .as_ref()
                .filter(|_| index != 0)
                .and_then(|table| table.symbol_by_index(object::SymbolIndex(index)).ok())
                .and_then(|symbol| symbol.name().ok().map(demangle))
                .unwrap_or_default();
            (start + PLT_ENTRY * (i as u64 + skip), format!("{name}@plt"))
        })
        .collect()
}

/// A symbol: (start, end, name as the file spells it).
type Entry = (u64, u64, Box<str>);

/// Among symbols at one address (aliases), the one perf names (its
/// `choose_best_symbol`): sized, not weak, global, with fewer leading
/// underscores, then the longest name, demangled; on a tie the first.
/// Only aliases are demangled here: a lone symbol needs no ranking.
fn best_alias(aliases: &[(Entry, bool, bool, bool)], demangle: &dyn Fn(&str) -> String) -> Entry {
    if aliases.len() == 1 {
        return aliases[0].0.clone();
    }
    let rank = |(entry, sized, strong, global): &(Entry, bool, bool, bool)| {
        let name = demangle(&entry.2);
        Rank {
            sized: *sized,
            strong: *strong,
            global: *global,
            fewer_underscores: usize::MAX - name.bytes().take_while(|b| *b == b'_').count(),
            length: name.len(),
        }
    };
    let mut best = &aliases[0];
    let mut best_rank = rank(best);
    for alias in &aliases[1..] {
        let alias_rank = rank(alias);
        if alias_rank > best_rank {
            (best, best_rank) = (alias, alias_rank);
        }
    }
    best.0.clone()
}

/// How perf ranks aliases, best last.
#[derive(PartialEq, Eq, PartialOrd, Ord)]
struct Rank {
    sized: bool,
    strong: bool,
    global: bool,
    fewer_underscores: usize,
    length: usize,
}

/// A file's function symbols, by address, as perf reads them: sized
/// functions and zero-sized ones alike, each reaching to the next symbol
/// when it declares no size.
#[derive(Default)]
pub struct Symbols {
    /// By start.
    entries: Vec<Entry>,
}

impl Symbols {
    fn collect<'d, S: ObjectSymbol<'d>>(
        symbols: impl Iterator<Item = S>,
        plt: &[(u64, String)],
        demangle: &dyn Fn(&str) -> String,
    ) -> Symbols {
        // (entry, sized, not weak, global), by address.
        let mut found: Vec<(Entry, bool, bool, bool)> = symbols
            .filter(|s| !s.is_undefined())
            .filter_map(|s| {
                let name = s.name().ok().filter(|n| !n.is_empty())?;
                let entry = (s.address(), s.address() + s.size(), name.into());
                Some((entry, s.size() > 0, !s.is_weak(), s.is_global()))
            })
            .collect();
        found.extend(plt.iter().map(|(address, name)| {
            let entry = (*address, address + PLT_ENTRY, name.as_str().into());
            (entry, true, true, false)
        }));
        found.sort_by_key(|e| e.0 .0);
        let mut entries: Vec<Entry> = Vec::with_capacity(found.len());
        for aliases in found.chunk_by(|a, b| a.0 .0 == b.0 .0) {
            entries.push(best_alias(aliases, demangle));
        }
        // A symbol without a size reaches to the next one.
        for i in 0..entries.len() {
            if entries[i].1 == entries[i].0 {
                entries[i].1 = entries.get(i + 1).map_or(u64::MAX, |next| next.0);
            }
        }
        Symbols { entries }
    }

    /// The function holding `address`.
    pub fn lookup(&self, address: u64) -> Option<&str> {
        let at = self.entries.partition_point(|e| e.0 <= address);
        let (start, end, name) = self.entries.get(at.checked_sub(1)?)?;
        (*start..*end).contains(&address).then_some(&**name)
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}
