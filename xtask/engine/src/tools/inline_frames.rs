//! Inline frames for `perf script --no-inline` output, read from the
//! programs' DWARF in process (`dwarf`: the addr2line crate, gimli), so that
//! a flamegraph shows the functions Rust inlined without any addr2line
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

use super::demangle::demangle_frame;
use super::dwarf::{Binaries, Dwarf};
use super::perf_script::{parse_frame, Frame};
use std::collections::HashMap;

/// A frame's chain of inline frames, innermost first.
struct Expansion {
    /// ` NAME (inlined)\n` per function, ready to follow the frame's ip.
    lines: Vec<Vec<u8>>,
    /// The last function is perf's symbol: perf's own line stands for it.
    keep_last: bool,
}

impl Expansion {
    /// The frame's expansion, from the functions DWARF names at its address;
    /// `None` when it adds nothing (no debug information there, or just the
    /// function perf named).
    fn at(dwarf: &Dwarf, frame: &Frame<'_>) -> Option<Expansion> {
        let names = dwarf.function_names(dwarf.address_of(frame.offset)?);
        let keep_last = same_function(names.last()?, frame.symbol);
        if names.len() == 1 && keep_last {
            return None;
        }
        // Demangled here, once per address, rather than in every folded
        // stack that holds the frame (`demangle::demangle_stack`).
        let lines = names
            .iter()
            .map(|name| format!(" {} (inlined)\n", demangle_frame(name)).into_bytes())
            .collect();
        Some(Expansion { lines, keep_last })
    }
}

/// The inline frames of every binary perf's frames name: each binary's
/// DWARF opened on first use, each frame's expansion decided once per
/// (binary, file offset), as the symbol perf names there is the same every
/// time.
#[derive(Default)]
pub struct Symbolizer {
    binaries: Binaries,
    /// Per binary (a handful: found by a scan, not by hashing its path on
    /// every frame), by file offset; `None`: perf's line stays as it is.
    expansions: Vec<(String, Offsets<Option<Expansion>>)>,
}

/// A map keyed by file offsets, hashed by one multiplication: SipHash, the
/// default, costs more than the look-up it guards, once per frame.
type Offsets<V> = HashMap<u64, V, std::hash::BuildHasherDefault<OffsetHasher>>;

#[derive(Default)]
struct OffsetHasher(u64);

impl std::hash::Hasher for OffsetHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for byte in bytes {
            self.write_u64(u64::from(*byte));
        }
    }

    fn write_u64(&mut self, n: u64) {
        // Fibonacci hashing: the product's high bits mix all of n's.
        self.0 = (self.0.rotate_left(5) ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

impl Symbolizer {
    /// The lines that stand for one frame line of perf script's output:
    /// the line itself, or its chain of inline frames.
    pub(crate) fn expand(&mut self, line: &[u8], out: &mut Vec<u8>) {
        let Some(frame) = std::str::from_utf8(line).ok().and_then(parse_frame) else {
            out.extend_from_slice(line);
            return;
        };
        let known = self.expansions.iter().position(|(dso, _)| dso == frame.dso);
        let at = known.unwrap_or_else(|| {
            self.expansions
                .push((frame.dso.to_string(), Offsets::default()));
            self.expansions.len() - 1
        });
        let binaries = &mut self.binaries;
        let expansion = self.expansions[at]
            .1
            .entry(frame.offset)
            .or_insert_with(|| Expansion::at(binaries.get(frame.dso)?, &frame))
            .as_ref();
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

    /// The DWARF read so far, for annotate/'s source lines.
    pub fn into_binaries(self) -> Binaries {
        self.binaries
    }
}

/// Whether DWARF's name of a function and perf's symbol name the same one,
/// as perf compares them: after demangling (perf demangles the symbol, and
/// addr2line's linkage name before it compares).
pub(crate) fn same_function(dwarf_name: &str, perf_symbol: &str) -> bool {
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
    use std::path::Path;

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
