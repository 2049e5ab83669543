//! A program's or library's DWARF, read in process (the `xtask-profiling-dwarf` crate
//! beside this one: addr2line and gimli, built optimised): what the code at
//! an address was compiled from. Two readers share one loading per binary:
//! the inline frames of a profile's stacks (`perf_data`) and the source
//! lines of annotate/ (`objdump::render`), so a profile reads each binary's
//! debug information once. Addresses are the file's own (its DWARF's),
//! not the process's nor file offsets.

use super::executable::separate_debug_file;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// One binary's debug information.
pub struct Dwarf {
    dwarf: xtask_profiling_dwarf::Dwarf,
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
        let debug_file = read_elf(path)?;
        let dwarf = xtask_profiling_dwarf::Dwarf::load(debug_file.as_deref().unwrap_or(path))?;
        Some(Dwarf { dwarf })
    }

    /// The functions inlined at `address`, innermost first
    /// ([`xtask_profiling_dwarf::Dwarf::function_names`]).
    pub fn function_names(&self, address: u64) -> Vec<String> {
        self.dwarf.function_names(address)
    }

    /// The innermost function at `address` and its source line; `None` where
    /// the DWARF says nothing of it.
    pub fn source_line(&self, address: u64) -> Option<SourceLine> {
        let xtask_profiling_dwarf::Innermost {
            function,
            file,
            line,
        } = self.dwarf.innermost(address)?;
        let demangled = function.as_deref().and_then(super::demangle::symbol);
        let is_demangled = demangled.is_some();
        Some(SourceLine {
            function: demangled.or(function),
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

/// Where an ELF file's DWARF is when a separate file holds it (a distribution's debug package); `None` for
/// anything but ELF (perf's `[vdso]`, a JIT's map file, a file gone).
fn read_elf(path: &Path) -> Option<Option<PathBuf>> {
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
    let debug_file = if object.section_by_name(".debug_info").is_some() {
        None
    } else {
        separate_debug_file(&object, path)
    };
    Some(debug_file)
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
