//! The names of a sample's frames, as `perf script` printed them and its
//! folding (inferno's `collapse-perf`, then our demangling) turned them into
//! a folded stack's frames: the function's symbol, demangled; the functions
//! inlined there from the DWARF (`tools::inline_frames`' rule); `[file]`
//! where the file has no symbol there; `[unknown]` outside any file.

use super::processes::{Frame, MappedFile};
use super::FastMap;
use crate::tools::dwarf::Binaries;
use std::collections::HashMap;
use xtask_profiling_dwarf::elf::{Image, Symbols};

/// Interned frame names, and each frame's names decided once.
#[derive(Default)]
pub(crate) struct Names {
    pub strings: Vec<String>,
    ids: HashMap<String, u32>,
    /// Per (file, offset): the names it stands for, innermost first, and
    /// perf's symbol there (for the leaves).
    frames: FastMap<(u32, u64), (Vec<u32>, Option<u32>)>,
    kernel: FastMap<u64, Vec<u32>>,
    symbols: HashMap<u32, Symbols>,
    kallsyms: Option<Kallsyms>,
    pub binaries: Binaries,
    pub inline_frames: bool,
}

impl Names {
    pub fn new(inline_frames: bool) -> Names {
        Names {
            inline_frames,
            ..Names::default()
        }
    }

    pub fn intern(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.strings.len() as u32;
        self.strings.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }

    /// Appends the names `frame` stands for, innermost first; returns perf's
    /// symbol of it, if any.
    pub fn frame(&mut self, files: &[MappedFile], frame: Frame, out: &mut Vec<u32>) -> Option<u32> {
        match frame {
            Frame::Unmapped => {
                let id = self.intern("[unknown]");
                out.push(id);
                None
            }
            Frame::Kernel(address) => {
                if !self.kernel.contains_key(&address) {
                    let raw = self.kernel_symbol(address);
                    let names = self.folded_names(&raw, "[kernel.kallsyms]");
                    self.kernel.insert(address, names);
                }
                out.extend_from_slice(&self.kernel[&address]);
                None
            }
            Frame::User { file, offset } => {
                if !self.frames.contains_key(&(file, offset)) {
                    let named = self.user_names(&files[file as usize], file, offset);
                    self.frames.insert((file, offset), named);
                }
                let (names, symbol) = &self.frames[&(file, offset)];
                out.extend_from_slice(names);
                *symbol
            }
        }
    }

    fn user_names(
        &mut self,
        mapped: &MappedFile,
        file: u32,
        offset: u64,
    ) -> (Vec<u32>, Option<u32>) {
        let address = crate::tools::executable::address_of(&mapped.segments, offset);
        let symbols = self
            .symbols
            .entry(file)
            .or_insert_with(|| symbols_of(mapped));
        let symbol = address.and_then(|a| symbols.lookup(a)).map(perf_demangle);
        let Some(symbol) = symbol else {
            return (self.folded_names("[unknown]", &mapped.name), None);
        };
        let symbol_id = self.intern(&symbol);
        let mut lines: Vec<String> = vec![symbol.clone()];
        if self.inline_frames && mapped.name.starts_with('/') {
            if let Some(expanded) = address.and_then(|a| self.inlined(&mapped.name, a, &symbol)) {
                lines = expanded;
            }
        }
        let mut names = Vec::new();
        for line in &lines {
            names.extend(self.folded_names(line, &mapped.name));
        }
        (names, Some(symbol_id))
    }

    /// The chain of functions inlined at `address`, innermost first, ending
    /// with perf's `symbol` when DWARF's outermost function is that one.
    fn inlined(&mut self, path: &str, address: u64, symbol: &str) -> Option<Vec<String>> {
        let dwarf = self.binaries.get(path)?;
        let names = dwarf.function_names(address);
        let keep_last = same_function(names.last()?, symbol);
        if names.len() == 1 && keep_last {
            return None;
        }
        let last = names.len() - 1;
        Some(
            names
                .iter()
                .enumerate()
                .map(|(i, name)| {
                    if i == last && keep_last {
                        symbol.to_string()
                    } else {
                        crate::tools::demangle::demangle_frame(name)
                    }
                })
                .collect(),
        )
    }

    /// A name as the folding turns it into frames (inferno's
    /// `collapse-perf`: a `[unknown]` symbol becomes its file's name in
    /// brackets, `->` splits a name, a top-level argument list goes), each
    /// demangled as the folded stacks are.
    fn folded_names(&mut self, raw: &str, module: &str) -> Vec<u32> {
        let mut names = Vec::new();
        // A name perf prints in parentheses is no frame to the folding.
        if raw.starts_with('(') {
            return names;
        }
        for (i, part) in raw.split("->").enumerate() {
            let mut name = with_module_fallback(module, part);
            name = tidy_generic(name);
            if i > 0 && !name.contains("_[i]") {
                name.push_str("_[i]");
            }
            let name = crate::tools::demangle::demangle_frame(&name);
            names.push(self.intern(&name));
        }
        names
    }

    fn kernel_symbol(&mut self, address: u64) -> String {
        let kallsyms = self.kallsyms.get_or_insert_with(Kallsyms::read);
        kallsyms.lookup(address).unwrap_or("[unknown]").to_string()
    }
}

/// Whether DWARF's name of a function and perf's symbol name the same one,
/// as perf compares them: after demangling (perf demangles the symbol, and
/// addr2line's linkage name before it compares).
fn same_function(dwarf_name: &str, perf_symbol: &str) -> bool {
    if dwarf_name == perf_symbol {
        return true;
    }
    let demangled =
        |name: &str| crate::tools::demangle::symbol(name).unwrap_or_else(|| name.to_string());
    demangled(dwarf_name) == demangled(perf_symbol)
}

/// A symbol demangled as perf demangles it: Rust (legacy and v0) without
/// its hash, C++ without its parameters.
pub(crate) fn perf_demangle(symbol: &str) -> String {
    if let Some(rust) = crate::tools::demangle::symbol(symbol) {
        return rust;
    }
    if symbol.starts_with("_Z") {
        if let Ok(parsed) = cpp_demangle::Symbol::new(symbol) {
            let options = cpp_demangle::DemangleOptions::new()
                .no_params()
                .no_return_type();
            if let Ok(name) = parsed.demangle_with_options(&options) {
                return name;
            }
        }
    }
    symbol.to_string()
}

/// A file's symbols: its separate debug file's where it has one (a
/// distribution's debug package), else its own.
fn symbols_of(mapped: &MappedFile) -> Symbols {
    let Some(image) = &mapped.image else {
        return Symbols::default();
    };
    if !image.has_symtab() {
        let debug = crate::tools::executable::separate_debug_file_of(
            image,
            std::path::Path::new(&mapped.name),
        );
        if let Some(symbols) = debug
            .and_then(|path| Image::open(&path))
            .map(|i| i.symbols(&perf_demangle, Some(image)))
        {
            if !symbols.is_empty() {
                return symbols;
            }
        }
    }
    image.symbols(&perf_demangle, None)
}

/// inferno's name for a frame perf could not name: its file's name.
fn with_module_fallback(module: &str, name: &str) -> String {
    if name != "[unknown]" || module == "[unknown]" {
        return name.to_string();
    }
    let base = &module[module.rfind('/').map_or(0, |i| i + 1)..];
    format!("[{base}]")
}

/// inferno's `tidy_generic`: `;` written `:`, and a top-level argument list
/// dropped (but not Go's `.(*T)` receivers nor C++'s anonymous namespaces).
fn tidy_generic(name: String) -> String {
    let mut name = name.replace(';', ":");
    let mut depth = 0i32;
    let mut last_dot = None;
    let mut cut = name.len();
    for (i, c) in name.char_indices() {
        match c {
            '<' | '{' | '[' => depth += 1,
            '>' | '}' | ']' | ')' => depth -= 1,
            '(' => {
                if depth == 0 {
                    let go = last_dot == Some(i);
                    let anonymous = name[i..].starts_with("(anonymous namespace)");
                    if !go && !anonymous {
                        cut = i;
                        break;
                    }
                }
                depth += 1;
            }
            '.' => last_dot = Some(i + 1),
            _ => {}
        }
    }
    name.truncate(cut);
    name
}

/// The kernel's symbols (`/proc/kallsyms`), for kernel frames; all zero
/// addresses (a user the kernel hides them from) name nothing.
#[derive(Default)]
struct Kallsyms {
    /// (address, name), by address.
    symbols: Vec<(u64, String)>,
}

impl Kallsyms {
    fn read() -> Kallsyms {
        let text = std::fs::read_to_string("/proc/kallsyms").unwrap_or_default();
        let mut symbols: Vec<(u64, String)> = text
            .lines()
            .filter_map(|line| {
                let mut fields = line.split_whitespace();
                let address = u64::from_str_radix(fields.next()?, 16).ok()?;
                let kind = fields.next()?;
                let name = fields.next()?;
                (address != 0 && matches!(kind, "t" | "T" | "w" | "W"))
                    .then(|| (address, name.to_string()))
            })
            .collect();
        symbols.sort_unstable();
        Kallsyms { symbols }
    }

    fn lookup(&self, address: u64) -> Option<&str> {
        let at = self.symbols.partition_point(|(a, _)| *a <= address);
        at.checked_sub(1).map(|i| self.symbols[i].1.as_str())
    }
}

/// This process's own vDSO, copied: the kernel gives every process the same
/// one, so it names and unwinds the profiled program's vDSO frames.
pub(crate) fn own_vdso() -> Option<Image> {
    let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
    let line = maps.lines().find(|l| l.ends_with("[vdso]"))?;
    let range = line.split_whitespace().next()?;
    let (start, end) = range.split_once('-')?;
    let (start, end) = (
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
    );
    // SAFETY: the kernel maps the vDSO readable for the life of the process.
    let bytes = unsafe { std::slice::from_raw_parts(start as *const u8, end.checked_sub(start)?) };
    Image::from_bytes(std::sync::Arc::new(bytes.to_vec()))
}
