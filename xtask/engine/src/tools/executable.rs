//! What an executable carries for the profilers: DWARF debug info (files,
//! lines, inline frames, and perf's DWARF unwinding) and a symbol table
//! (function names). Read from the ELF section headers or the Mach-O load
//! commands; only the headers are read, never the whole file.

use anyhow::{bail, Context};
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// A loaded segment of an ELF file: `(file offset, size in the file, address)`.
pub type Segment = (u64, u64, u64);

/// The loaded segments of an ELF file, which turn the file offsets perf
/// prints for user-space frames into the addresses DWARF, the symbol table
/// and objdump speak of (perf's `map__rip_2objdump`).
pub fn loaded_segments(object: &object::File<'_>) -> Vec<Segment> {
    use object::{Object, ObjectSegment};
    object
        .segments()
        .filter_map(|segment| {
            let (offset, size) = segment.file_range();
            (size > 0).then(|| (offset, size, segment.address()))
        })
        .collect()
}

/// The address of a file offset, if a loaded segment holds it.
pub fn address_of(segments: &[Segment], offset: u64) -> Option<u64> {
    segments
        .iter()
        .find(|(start, size, _)| (*start..start + size).contains(&offset))
        .map(|(start, _, address)| offset - start + address)
}

/// Where the debugger looks for a stripped file's DWARF, in gdb's order
/// (and perf's): by build id under /usr/lib/debug, then by its
/// `.gnu_debuglink` name beside it, in `.debug/` beside it, and under
/// /usr/lib/debug.
pub fn separate_debug_file(object: &object::File<'_>, path: &Path) -> Option<PathBuf> {
    use object::Object;
    let id = object.build_id().ok().flatten();
    let link = object
        .gnu_debuglink()
        .ok()
        .flatten()
        .map(|(name, _crc)| name);
    debug_file_by(id, link, path)
}

/// [`separate_debug_file`] of a file already read.
pub fn separate_debug_file_of(
    image: &xtask_profiling_dwarf::elf::Image,
    path: &Path,
) -> Option<PathBuf> {
    let (id, link) = image.debug_link();
    debug_file_by(id.as_deref(), link.as_deref(), path)
}

/// The separate debug file of the file at `path` with this build id and
/// `.gnu_debuglink` name.
fn debug_file_by(id: Option<&[u8]>, link: Option<&[u8]>, path: &Path) -> Option<PathBuf> {
    let root = Path::new("/usr/lib/debug");
    let mut candidates = Vec::new();
    if let Some(id) = id {
        if id.len() > 1 {
            let hex: String = id.iter().map(|b| format!("{b:02x}")).collect();
            candidates.push(
                root.join(".build-id")
                    .join(&hex[..2])
                    .join(format!("{}.debug", &hex[2..])),
            );
        }
    }
    if let Some(name) = link {
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

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Contents {
    /// `.debug_info` (ELF), a `__DWARF` segment or a `.dSYM` beside it
    /// (Mach-O). A `.gnu_debuglink` does not count: the file it names is
    /// rarely installed.
    pub debug_info: bool,
    /// A symbol table (`.symtab`; Mach-O `LC_SYMTAB` with symbols).
    pub symbols: bool,
}

/// Reads the headers of `path`.
pub fn inspect(path: &Path) -> anyhow::Result<Contents> {
    let mut file =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut magic = [0u8; 4];
    file.read_exact(&mut magic)
        .with_context(|| format!("{} is too short to be an executable", path.display()))?;
    file.seek(SeekFrom::Start(0))?;
    let what = || format!("cannot read the headers of {}", path.display());
    match magic {
        [0x7f, b'E', b'L', b'F'] => elf(&mut file).with_context(what),
        [0xcf, 0xfa, 0xed, 0xfe] | [0xce, 0xfa, 0xed, 0xfe] => {
            let mut contents = macho(&mut file).with_context(what)?;
            // Cargo's split-debuginfo on macOS leaves it in a .dSYM bundle.
            let mut dsym = path.as_os_str().to_owned();
            dsym.push(".dSYM");
            contents.debug_info |= Path::new(&dsym).is_dir();
            Ok(contents)
        }
        _ => bail!(
            "{} is neither ELF nor a thin Mach-O executable",
            path.display()
        ),
    }
}

/// The warning for an executable that will profile badly, naming the Cargo
/// profile setting that fixes it; `None` when it is fine.
pub fn warning(path: &Path, contents: Contents, profile: &str) -> Option<String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let fix = match (contents.debug_info, contents.symbols) {
        (true, true) => return None,
        (false, false) => format!(
            "{name} is stripped and has no debug info: profiles will show addresses instead of \
             functions, and no files or lines.\n  fix: in Cargo.toml, [profile.{profile}] with \
             `debug = true` and `strip = \"none\"`"
        ),
        (false, true) => format!(
            "{name} has no debug info: profiles will lack files, lines and inline frames, and \
             perf's DWARF unwinding loses stacks.\n  fix: in Cargo.toml, [profile.{profile}] \
             with `debug = true` (and `strip = \"none\"`)"
        ),
        (true, false) => format!(
            "{name} is stripped of its symbol table: some functions will show as addresses.\n  \
             fix: in Cargo.toml, [profile.{profile}] with `strip = \"none\"`"
        ),
    };
    Some(format!("warning: {fix}"))
}

/// The warning for a program built elsewhere (a `command` workload) that
/// will profile badly, saying how such a program gets its symbols back;
/// `None` when it is fine.
pub fn program_warning(path: &Path, contents: Contents) -> Option<String> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let lost = match (contents.debug_info, contents.symbols) {
        (true, true) => return None,
        (_, false) => format!(
            "{name} ({}) is stripped of its symbol table: its own functions will show as \
             `[{name}]`",
            path.display()
        ),
        (false, true) => format!(
            "{name} ({}) has no debug info: its profiles will lack files, lines and inline \
             frames, and perf's DWARF unwinding may lose stacks",
            path.display()
        ),
    };
    Some(format!(
        "warning: {lost}.\n  fix: build it with `-g` and without stripping (`-s`, `strip`), or \
         install its debug symbols (Debian and Ubuntu: the package's `-dbgsym`; Fedora: \
         `-debuginfo`)"
    ))
}

/// Whether `path` is a program built by Go's toolchain (its ELF carries
/// Go's build info): Go keeps frame pointers, and perf's DWARF unwinding
/// does not follow its stacks (it has `.debug_frame` and no `.eh_frame`).
pub fn is_go_program(path: &Path) -> bool {
    use object::{Object, ObjectSection};
    let Ok(file) = std::fs::File::open(path) else {
        return false;
    };
    // SAFETY: the map is read only while this function runs; a program
    // rewritten meanwhile gives a wrong answer, never undefined reads of
    // our own memory.
    let Ok(map) = (unsafe { memmap2::Mmap::map(&file) }) else {
        return false;
    };
    object::File::parse(&*map).is_ok_and(|object| {
        object
            .sections()
            .any(|section| matches!(section.name(), Ok(".go.buildinfo" | ".note.go.buildid")))
    })
}

fn elf(file: &mut (impl Read + Seek)) -> anyhow::Result<Contents> {
    let mut ident = [0u8; 64];
    file.read_exact(&mut ident[..52])?;
    let wide = match ident[4] {
        1 => false,
        2 => true,
        class => bail!("unknown ELF class {class}"),
    };
    if wide {
        file.read_exact(&mut ident[52..64])?;
    }
    let big = match ident[5] {
        1 => false,
        2 => true,
        order => bail!("unknown ELF byte order {order}"),
    };
    let r = Reader { big };
    let (shoff, shentsize, shnum, shstrndx) = if wide {
        (
            r.u64(&ident[40..48]),
            r.u16(&ident[58..60]),
            r.u16(&ident[60..62]),
            r.u16(&ident[62..64]),
        )
    } else {
        (
            u64::from(r.u32(&ident[32..36])),
            r.u16(&ident[46..48]),
            r.u16(&ident[48..50]),
            r.u16(&ident[50..52]),
        )
    };
    if shoff == 0 || shnum == 0 {
        // No section headers at all (sstrip'ed): nothing for the profilers.
        return Ok(Contents {
            debug_info: false,
            symbols: false,
        });
    }
    if usize::from(shentsize) < if wide { 64 } else { 40 } || shnum > 4096 {
        bail!("implausible ELF section headers ({shnum} of {shentsize} bytes)");
    }
    let mut table = vec![0u8; usize::from(shentsize) * usize::from(shnum)];
    file.seek(SeekFrom::Start(shoff))?;
    file.read_exact(&mut table)?;
    // (name offset, type, file offset, size) of each section.
    let sections: Vec<(u32, u32, u64, u64)> = table
        .chunks_exact(usize::from(shentsize))
        .map(|h| {
            if wide {
                (
                    r.u32(&h[0..4]),
                    r.u32(&h[4..8]),
                    r.u64(&h[24..32]),
                    r.u64(&h[32..40]),
                )
            } else {
                (
                    r.u32(&h[0..4]),
                    r.u32(&h[4..8]),
                    u64::from(r.u32(&h[16..20])),
                    u64::from(r.u32(&h[20..24])),
                )
            }
        })
        .collect();
    let Some(&(_, _, names_offset, names_size)) = sections.get(usize::from(shstrndx)) else {
        bail!("the section name table index {shstrndx} is out of range");
    };
    if names_size > 1 << 24 {
        bail!("implausible section name table of {names_size} bytes");
    }
    let mut names = vec![0u8; names_size as usize];
    file.seek(SeekFrom::Start(names_offset))?;
    file.read_exact(&mut names)?;
    let name_of = |offset: u32| -> &[u8] {
        let start = (offset as usize).min(names.len());
        let rest = &names[start..];
        &rest[..rest.iter().position(|&b| b == 0).unwrap_or(rest.len())]
    };
    const SHT_SYMTAB: u32 = 2;
    const SHT_NOBITS: u32 = 8;
    let mut contents = Contents {
        debug_info: false,
        symbols: false,
    };
    for &(name, kind, _, size) in &sections {
        let name = name_of(name);
        let has_data = kind != SHT_NOBITS && size > 0;
        if has_data && matches!(name, b".debug_info" | b".zdebug_info") {
            contents.debug_info = true;
        }
        if kind == SHT_SYMTAB && size > 0 {
            contents.symbols = true;
        }
    }
    Ok(contents)
}

fn macho(file: &mut (impl Read + Seek)) -> anyhow::Result<Contents> {
    let mut header = [0u8; 32];
    file.read_exact(&mut header[..28])?;
    let wide = header[0] == 0xcf;
    if wide {
        file.read_exact(&mut header[28..32])?;
    }
    let r = Reader { big: false };
    let count = r.u32(&header[16..20]);
    let size = r.u32(&header[20..24]);
    if count > 10_000 || size > 1 << 24 {
        bail!("implausible Mach-O load commands ({count} in {size} bytes)");
    }
    let mut commands = vec![0u8; size as usize];
    file.read_exact(&mut commands)?;
    const LC_SYMTAB: u32 = 0x2;
    const LC_SEGMENT: u32 = 0x1;
    const LC_SEGMENT_64: u32 = 0x19;
    let mut contents = Contents {
        debug_info: false,
        symbols: false,
    };
    let mut at = 0usize;
    for _ in 0..count {
        let Some(head) = commands.get(at..at + 8) else {
            bail!("load command {at} runs past the header");
        };
        let (command, length) = (r.u32(&head[0..4]), r.u32(&head[4..8]) as usize);
        let Some(body) = commands.get(at..at + length).filter(|_| length >= 8) else {
            bail!("load command at {at} has a bad size {length}");
        };
        match command {
            LC_SYMTAB if body.len() >= 16 => contents.symbols |= r.u32(&body[12..16]) > 0,
            LC_SEGMENT | LC_SEGMENT_64 if body.len() >= 24 => {
                contents.debug_info |= body[8..24].starts_with(b"__DWARF\0");
            }
            _ => {}
        }
        at += length;
    }
    Ok(contents)
}

struct Reader {
    big: bool,
}

impl Reader {
    fn u16(&self, b: &[u8]) -> u16 {
        let b = [b[0], b[1]];
        if self.big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        }
    }
    fn u32(&self, b: &[u8]) -> u32 {
        let b = [b[0], b[1], b[2], b[3]];
        if self.big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        }
    }
    fn u64(&self, b: &[u8]) -> u64 {
        let b: [u8; 8] = b[..8].try_into().unwrap_or_default();
        if self.big {
            u64::from_be_bytes(b)
        } else {
            u64::from_le_bytes(b)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    /// The demo built with the profiling profile, and copies of it made by
    /// the real `strip`: every combination the warning distinguishes.
    #[test]
    fn real_binaries_with_and_without_debug_info_and_symbols() {
        let demo = crate::runs::build::demo_for_tests();
        assert_eq!(
            inspect(&demo).unwrap(),
            Contents {
                debug_info: true,
                symbols: true
            }
        );
        assert_eq!(warning(&demo, inspect(&demo).unwrap(), "profiling"), None);
        let dir = std::env::temp_dir().join(format!("xtask-executable-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (flag, expected) in [
            ("--strip-debug", (false, true)),
            ("--strip-all", (false, false)),
            ("--only-keep-debug", (true, true)),
        ] {
            let copy = dir.join(flag.trim_start_matches('-'));
            let status = std::process::Command::new("strip")
                .arg(flag)
                .arg(&demo)
                .arg("-o")
                .arg(&copy)
                .status();
            let Ok(status) = status else {
                crate::runs::build::skip_unless_ci("strip");
                return;
            };
            assert!(status.success());
            let found = inspect(&copy).unwrap();
            assert_eq!((found.debug_info, found.symbols), expected, "{flag}");
            let text = warning(&copy, found, "profiling");
            if expected == (false, true) {
                let text = text.as_deref().unwrap();
                assert!(
                    text.contains("no debug info")
                        && text.contains("[profile.profiling]")
                        && text.contains("debug = true"),
                    "{text}"
                );
            }
            if expected == (false, false) {
                assert!(text.as_deref().unwrap().contains("strip = \"none\""));
            }
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_program_built_elsewhere_is_told_how_to_get_its_symbols_back() {
        let path = Path::new("/usr/bin/gzip");
        let complete = Contents {
            debug_info: true,
            symbols: true,
        };
        assert_eq!(program_warning(path, complete), None);
        let stripped = program_warning(
            path,
            Contents {
                debug_info: false,
                symbols: false,
            },
        )
        .unwrap();
        assert!(stripped.contains("`[gzip]`"), "{stripped}");
        assert!(stripped.contains("-dbgsym") && stripped.contains("`-g`"));
        // Nothing about Cargo profiles: the program is not built by cargo.
        assert!(!stripped.contains("Cargo.toml"), "{stripped}");
        let no_lines = program_warning(
            path,
            Contents {
                debug_info: false,
                symbols: true,
            },
        )
        .unwrap();
        assert!(no_lines.contains("no debug info"), "{no_lines}");
    }

    #[test]
    fn a_go_program_is_told_from_others() {
        assert!(!is_go_program(&crate::runs::build::demo_for_tests()));
        assert!(!is_go_program(Path::new("/bin/ls")));
        assert!(!is_go_program(Path::new("/nonexistent/program")));
        let Ok(go) = which::which("go") else {
            crate::runs::build::skip_unless_ci("go");
            return;
        };
        // The go command is itself a Go program.
        let go = std::fs::canonicalize(go).unwrap();
        assert!(is_go_program(&go), "{}", go.display());
    }

    #[test]
    fn a_system_binary_is_read_without_reading_it_whole() {
        // Debian's binaries are stripped, their debug info in -dbgsym packages.
        let found = inspect(Path::new("/bin/ls")).unwrap();
        assert!(!found.symbols && !found.debug_info);
    }

    /// A Mach-O header built from the documented layout (mach-o/loader.h):
    /// a __DWARF segment and a symbol table with 3 symbols.
    #[test]
    fn mach_o_load_commands() {
        let mut segment = vec![0u8; 72];
        segment[0..4].copy_from_slice(&0x19u32.to_le_bytes());
        segment[4..8].copy_from_slice(&72u32.to_le_bytes());
        segment[8..15].copy_from_slice(b"__DWARF");
        let mut symtab = vec![0u8; 24];
        symtab[0..4].copy_from_slice(&0x2u32.to_le_bytes());
        symtab[4..8].copy_from_slice(&24u32.to_le_bytes());
        symtab[12..16].copy_from_slice(&3u32.to_le_bytes());
        let mut header = vec![0u8; 32];
        header[0..4].copy_from_slice(&[0xcf, 0xfa, 0xed, 0xfe]);
        header[16..20].copy_from_slice(&2u32.to_le_bytes());
        header[20..24].copy_from_slice(&96u32.to_le_bytes());
        let bytes = [header.clone(), segment.clone(), symtab.clone()].concat();
        let found = macho(&mut Cursor::new(bytes)).unwrap();
        assert!(found.debug_info && found.symbols);
        // Stripped: no symbols, no __DWARF.
        symtab[12..16].copy_from_slice(&0u32.to_le_bytes());
        segment[8..15].copy_from_slice(b"__TEXT\0");
        let bytes = [header.clone(), segment, symtab].concat();
        let found = macho(&mut Cursor::new(bytes)).unwrap();
        assert!(!found.debug_info && !found.symbols);
        // Truncated load commands are an error, not a panic.
        assert!(macho(&mut Cursor::new(header)).is_err());
    }

    #[test]
    fn other_files_are_refused() {
        let dir = std::env::temp_dir().join(format!("xtask-exe-bad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("run.sh");
        std::fs::write(&script, "#!/bin/sh\n").unwrap();
        assert!(inspect(&script)
            .unwrap_err()
            .to_string()
            .contains("neither ELF"));
        std::fs::write(&script, "\x7fELF\x02\x01").unwrap();
        assert!(inspect(&script).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
