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

use std::collections::HashMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// A loaded segment: `(file offset, size in the file, address)`.
type Segment = (u64, u64, u64);

/// The DWARF sections of a binary, shared by the parser's readers.
type Reader = gimli::EndianRcSlice<gimli::RunTimeEndian>;

/// The inline frames of one program or library, looked up once per address.
struct Binary {
    context: addr2line::Context<Reader>,
    segments: Vec<Segment>,
    /// Function names at an address, innermost first; empty: no debug
    /// information there (the frame stays as perf printed it).
    frames: HashMap<u64, Vec<String>>,
}

impl Binary {
    fn open(path: &Path) -> Option<Binary> {
        let (segments, debug_file) = read_elf(path)?;
        let context = dwarf_context(debug_file.as_deref().unwrap_or(path))?;
        Some(Binary {
            context,
            segments,
            frames: HashMap::new(),
        })
    }

    fn frames_at(&mut self, offset: u64) -> &[String] {
        let address = self
            .segments
            .iter()
            .find(|(start, size, _)| (*start..start + size).contains(&offset))
            .map(|(start, _, address)| offset - start + address);
        let context = &self.context;
        self.frames
            .entry(offset)
            .or_insert_with(|| address.map_or_else(Vec::new, |a| function_names(context, a)))
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
    use object::{Object, ObjectSegment};
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: the map is only read, as perf maps it too. A
    // file truncated while mapped would fault (SIGBUS), as it would for
    // perf: the programs profiled are not rewritten while they are read.
    let map = unsafe { memmap2::Mmap::map(&file) }.ok()?;
    let object = object::File::parse(&*map).ok()?;
    if object.format() != object::BinaryFormat::Elf {
        return None;
    }
    let segments = object
        .segments()
        .filter_map(|segment| {
            let (offset, size) = segment.file_range();
            (size > 0).then(|| (offset, size, segment.address()))
        })
        .collect();
    let debug_file = if object.section_by_name(".debug_info").is_some() {
        None
    } else {
        separate_debug_file(&object, path)
    };
    Some((segments, debug_file))
}

/// Where the debugger looks for a stripped file's DWARF, in gdb's order
/// (and perf's): by build id under /usr/lib/debug, then by its
/// `.gnu_debuglink` name beside it, in `.debug/` beside it, and under
/// /usr/lib/debug.
fn separate_debug_file(object: &object::File<'_>, path: &Path) -> Option<PathBuf> {
    use object::Object;
    let root = Path::new("/usr/lib/debug");
    let mut candidates = Vec::new();
    if let Ok(Some(id)) = object.build_id() {
        if id.len() > 1 {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            candidates.push(
                root.join(".build-id")
                    .join(&hex[..2])
                    .join(format!("{}.debug", &hex[2..])),
            );
        }
    }
    if let Ok(Some((name, _crc))) = object.gnu_debuglink() {
        let name = Path::new(std::str::from_utf8(name).ok()?);
        let dir = path.parent()?;
        candidates.push(dir.join(name));
        candidates.push(dir.join(".debug").join(name));
        candidates.push(root.join(dir.strip_prefix("/").unwrap_or(dir)).join(name));
    }
    candidates
        .into_iter()
        .find(|candidate| candidate.is_file() && candidate != path)
}

/// The DWARF of every binary perf's frames name, opened on first use.
#[derive(Default)]
pub struct Symbolizer {
    binaries: HashMap<String, Option<Binary>>,
}

impl Symbolizer {
    /// The lines that stand for one frame line of perf script's output:
    /// the line itself, or its chain of inline frames.
    fn expand(&mut self, line: &[u8], out: &mut Vec<u8>) {
        match self.inline_chain(line) {
            Some((indent_and_ip, names, keep_last)) => {
                let last = names.len() - 1;
                for (i, name) in names.iter().enumerate() {
                    if i == last && keep_last {
                        out.extend_from_slice(line);
                    } else {
                        out.extend_from_slice(indent_and_ip);
                        out.push(b' ');
                        out.extend_from_slice(name.as_bytes());
                        out.extend_from_slice(b" (inlined)\n");
                    }
                }
            }
            None => out.extend_from_slice(line),
        }
    }

    /// For a frame line `<tab>   ip sym+0xoff (dso)\n`: its indentation and
    /// ip, the function names at that address, and whether the last of them
    /// is perf's symbol (then perf's line stays). `None` when the frame has
    /// no inline frames to add.
    fn inline_chain<'l>(&mut self, line: &'l [u8]) -> Option<(&'l [u8], Vec<String>, bool)> {
        let text = std::str::from_utf8(line).ok()?;
        let frame = parse_frame(text)?;
        let binary = self
            .binaries
            .entry(frame.dso.to_string())
            .or_insert_with(|| Binary::open(Path::new(frame.dso)))
            .as_mut()?;
        let names = binary.frames_at(frame.offset);
        if names.is_empty() {
            return None;
        }
        let outer = names.last()?;
        let same_function = same_function(outer, frame.symbol);
        if names.len() == 1 && same_function {
            return None;
        }
        Some((&line[..frame.ip_end], names.to_vec(), same_function))
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

/// One frame line of `perf script` with `ip,sym,symoff,dso` fields.
#[derive(Debug, PartialEq)]
struct Frame<'l> {
    /// Where the ip ends in the line (indentation and ip).
    ip_end: usize,
    /// The ip, relative to the file (the file offset) for user space.
    offset: u64,
    symbol: &'l str,
    dso: &'l str,
}

fn parse_frame(line: &str) -> Option<Frame<'_>> {
    // Frame lines are indented; sample headers start with the command name.
    if !line.starts_with([' ', '\t']) {
        return None;
    }
    let body = line.trim_end_matches('\n');
    let ip_start = body.len() - body.trim_start().len();
    let ip_len = body[ip_start..].find(' ')?;
    let ip_end = ip_start + ip_len;
    let offset = u64::from_str_radix(&body[ip_start..ip_end], 16).ok()?;
    let rest = &body[ip_end + 1..];
    let (symbol, dso) = rest.rsplit_once(" (")?;
    let dso = dso.strip_suffix(')')?;
    // Perf's own pseudo-files ([vdso], [kernel.kallsyms], [unknown]) have no DWARF for us.
    if !dso.starts_with('/') || symbol.starts_with('[') {
        return None;
    }
    let symbol = match symbol.rfind("+0x") {
        Some(at) => &symbol[..at],
        None => symbol,
    };
    Some(Frame {
        ip_end,
        offset,
        symbol,
        dso,
    })
}

/// perf script's text with inline frames added, as a reader: a streaming
/// filter between perf script and the folding.
pub struct Expand<R> {
    input: std::io::BufReader<R>,
    symbolizer: Symbolizer,
    line: Vec<u8>,
    pending: Vec<u8>,
    position: usize,
}

impl<R: Read> Expand<R> {
    pub fn new(input: R) -> Expand<R> {
        Expand {
            input: std::io::BufReader::with_capacity(1 << 20, input),
            symbolizer: Symbolizer::default(),
            line: Vec::new(),
            pending: Vec::new(),
            position: 0,
        }
    }
}

impl<R: Read> Read for Expand<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.position == self.pending.len() {
            self.pending.clear();
            self.position = 0;
            // Many lines at a time: one call per line would cost more than the lookups.
            while self.pending.len() < 1 << 16 {
                self.line.clear();
                if self.input.read_until(b'\n', &mut self.line)? == 0 {
                    break;
                }
                self.symbolizer.expand(&self.line, &mut self.pending);
            }
        }
        let n = buffer.len().min(self.pending.len() - self.position);
        buffer[..n].copy_from_slice(&self.pending[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_perf_script_frame_lines() {
        let line =
            "\t           2331e cdr_demo::generate::generate_chunk+0x16e (/work/t/cdr-demo)\n";
        let frame = parse_frame(line).unwrap();
        assert_eq!(frame.offset, 0x2331e);
        assert_eq!(frame.symbol, "cdr_demo::generate::generate_chunk");
        assert_eq!(frame.dso, "/work/t/cdr-demo");
        assert_eq!(&line[..frame.ip_end], "\t           2331e");
        // A symbol with spaces and parentheses of its own: the dso is the last group.
        let tuple = "\t  10 <(A, B) as x::T<fn (u8)>>::f+0x1 (/bin/p)\n";
        let frame = parse_frame(tuple).unwrap();
        assert_eq!(
            (frame.symbol, frame.dso),
            ("<(A, B) as x::T<fn (u8)>>::f", "/bin/p")
        );
        for not_a_frame in [
            "cdr-demo 23813/23814  3464.292863: cpu-clock:uhpppH: \n",
            "\tffffffffffffffff [unknown] ([unknown])\n",
            "\t            ee0 __vdso_clock_gettime+0x30 ([vdso])\n",
            "\n",
        ] {
            assert_eq!(parse_frame(not_a_frame), None, "{not_a_frame}");
        }
    }
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
        Expand::new(plain.as_bytes())
            .read_to_end(&mut expanded)
            .unwrap();
        let ours = fold(&expanded);
        assert_eq!(ours, fold(gimli.as_bytes()));
        // Not a comparison of two texts without inline frames.
        assert!(ours.contains(";work;step "), "{ours}");
        assert_ne!(ours, fold(plain.as_bytes()));
    }
}
