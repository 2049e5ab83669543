//! `perf script`'s text on its way to the folding, one line at a time: each
//! sample's leaf frame tallied by instruction (the counts behind annotate/),
//! and each frame's inline frames added when asked (`inline_frames`).
//!
//! The text, with `--fields comm,pid,tid,time,event,ip,sym[,symoff],dso`: a
//! sample is a header line (`cdr-demo 23813/23814 3464.292863: cpu-clock:u:`),
//! its frames indented, innermost first (`\t  2331e generate_chunk+0x16e
//! (/path/cdr-demo)`), and a blank line.

use super::inline_frames::Symbolizer;
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::path::Path;

/// One frame line of `perf script` with `ip,sym[,symoff],dso` fields, in a
/// file perf could name (not `[unknown]`, `[vdso]` or the kernel's).
#[derive(Debug, PartialEq)]
pub(crate) struct Frame<'l> {
    /// Where the ip ends in the line (indentation and ip).
    pub ip_end: usize,
    /// Where in its file the frame is (perf's `map_ip`): the `dsoff` field
    /// where perf prints it (6.4 and later, whose ip is the address in the
    /// process), else the ip, which older perfs print relative to the file.
    pub offset: u64,
    /// perf's name of the function, without `+0xOFFSET`.
    pub symbol: &'l str,
    pub dso: &'l str,
}

pub(crate) fn parse_frame(line: &str) -> Option<Frame<'_>> {
    // Bytes and memchr rather than str patterns: this runs on every frame
    // of every sample, in the xtask's own code, which is built unoptimized.
    let bytes = line.as_bytes();
    // Frame lines are indented; sample headers start with the command name.
    if !matches!(bytes.first(), Some(b' ' | b'\t')) {
        return None;
    }
    let end = bytes.len() - usize::from(bytes.ends_with(b"\n"));
    let body = &bytes[..end];
    let ip_start = body.iter().position(|b| !matches!(b, b' ' | b'\t'))?;
    let ip_end = ip_start + memchr::memchr(b' ', &body[ip_start..])?;
    let ip = u64::from_str_radix(&line[ip_start..ip_end], 16).ok()?;
    // ` SYMBOL+0xOFF (FILE)`: the file is in the last ` (`...`)`.
    if body.last() != Some(&b')') {
        return None;
    }
    let open = last_of(&body[ip_end + 1..], b" (")? + ip_end + 1;
    let symbol = &line[ip_end + 1..open];
    let dso = &line[open + 2..end - 1];
    let (dso, offset) = match last_of(dso.as_bytes(), b"+0x") {
        Some(at)
            if at + 3 < dso.len() && dso.as_bytes()[at + 3..].iter().all(u8::is_ascii_hexdigit) =>
        {
            (&dso[..at], u64::from_str_radix(&dso[at + 3..], 16).ok()?)
        }
        _ => (dso, ip),
    };
    // Perf's own pseudo-files ([vdso], [kernel.kallsyms], [unknown]) are no files to read.
    if !dso.starts_with('/') || symbol.starts_with('[') {
        return None;
    }
    let symbol = match last_of(symbol.as_bytes(), b"+0x") {
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

/// Where the last `needle` (2 or 3 bytes) starts in `haystack`.
fn last_of(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let mut end = haystack.len();
    while let Some(at) = memchr::memrchr(needle[0], &haystack[..end]) {
        if haystack[at..].starts_with(needle) {
            return Some(at);
        }
        end = at;
    }
    None
}

/// Where the samples were when they were taken: the leaf frame of each, by
/// file, function and instruction (file offset). The counts behind
/// annotate/, kept in the result as `cpu.leaves`, so that an annotation
/// needs neither perf.data nor perf.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct LeafSamples {
    /// Every sample with a stack, annotatable or not (kernel, `[unknown]`).
    pub total: u64,
    /// The sampled event, from the first sample's header (`cpu-clock`,
    /// `cycles` where the machine has a PMU).
    pub event: Option<String>,
    /// binary → function → file offset → samples.
    binaries: HashMap<String, HashMap<String, HashMap<u64, u64>>>,
}

/// One function's samples, from [`LeafSamples::functions`].
#[derive(Debug, Clone, PartialEq)]
pub struct SampledFunction {
    pub binary: String,
    /// perf's name of it.
    pub name: String,
    pub samples: u64,
    /// (file offset, samples), by offset.
    pub offsets: Vec<(u64, u64)>,
}

impl SampledFunction {
    /// Its share of all samples, in percent (self time).
    pub fn self_percent(&self, total: u64) -> f64 {
        percent(self.samples, total)
    }
}

/// `samples` of `total`, in percent (0 of none).
pub fn percent(samples: u64, total: u64) -> f64 {
    100.0 * samples as f64 / total.max(1) as f64
}

/// The name of the leaves file in a result directory.
pub const LEAVES: &str = "cpu.leaves";

impl LeafSamples {
    /// Counts the leaf frame line of one sample.
    pub fn add(&mut self, leaf: &str) {
        self.total += 1;
        // A tab would break the columns of cpu.leaves: such a frame (a JIT's
        // name) counts in the total only, as one that cannot be annotated.
        match parse_frame(leaf) {
            Some(frame) if !frame.symbol.contains('\t') && !frame.dso.contains('\t') => {
                self.add_samples(frame.dso, frame.symbol, frame.offset, 1)
            }
            _ => {}
        }
    }

    /// The sampled event, `cpu-clock` when no header named one.
    pub fn event(&self) -> &str {
        self.event.as_deref().unwrap_or("cpu-clock")
    }

    /// Takes the event from a sample's header line, `cdr-demo 23813/23814
    /// 3464.292863: cpu-clock:uhpppH:`: its last word ending in `:`,
    /// without the modifiers.
    fn note_event(&mut self, header: &str) {
        if self.event.is_some() {
            return;
        }
        let event = header
            .split_whitespace()
            .rev()
            .find(|word| word.ends_with(':') && !word.starts_with(|c: char| c.is_ascii_digit()))
            .map(|word| word.trim_end_matches(':'))
            .map(|word| word.split(':').next().unwrap_or(word));
        self.event = event.filter(|e| !e.is_empty()).map(str::to_string);
    }

    /// Counts one sample's leaf: the function perf named there, at a file
    /// offset of `binary` (the total counts it too).
    pub(crate) fn add_leaf(&mut self, binary: &str, function: &str, offset: u64) {
        self.add_samples(binary, function, offset, 1);
    }

    fn add_samples(&mut self, binary: &str, function: &str, offset: u64, samples: u64) {
        if !self.binaries.contains_key(binary) {
            self.binaries.insert(binary.to_string(), HashMap::new());
        }
        let functions = self.binaries.get_mut(binary).expect("inserted above");
        if !functions.contains_key(function) {
            functions.insert(function.to_string(), HashMap::new());
        }
        let offsets = functions.get_mut(function).expect("inserted above");
        *offsets.entry(offset).or_default() += samples;
    }

    /// The sampled functions of files perf named, most samples first (then
    /// by name, so that ties list the same way every time).
    pub fn functions(&self) -> Vec<SampledFunction> {
        let mut functions: Vec<SampledFunction> = self
            .binaries
            .iter()
            .flat_map(|(binary, functions)| {
                functions.iter().map(move |(name, offsets)| {
                    let mut offsets: Vec<(u64, u64)> =
                        offsets.iter().map(|(o, n)| (*o, *n)).collect();
                    offsets.sort_unstable();
                    SampledFunction {
                        binary: binary.clone(),
                        name: name.clone(),
                        samples: offsets.iter().map(|(_, n)| n).sum(),
                        offsets,
                    }
                })
            })
            .collect();
        functions.sort_by(|a, b| {
            b.samples
                .cmp(&a.samples)
                .then_with(|| a.name.cmp(&b.name))
                .then_with(|| a.binary.cmp(&b.binary))
        });
        functions
    }

    /// The `cpu.leaves` text: a total line, then one line per instruction:
    /// `samples<TAB>file offset (hex)<TAB>function<TAB>binary`.
    pub fn write(&self, mut out: impl Write) -> std::io::Result<()> {
        writeln!(out, "# samples\t{}", self.total)?;
        writeln!(out, "# event\t{}", self.event())?;
        writeln!(
            out,
            "# the leaf frames of cpu.folded's samples: samples, file offset, function, binary"
        )?;
        for function in self.functions() {
            for (offset, samples) in &function.offsets {
                writeln!(
                    out,
                    "{samples}\t{offset:x}\t{}\t{}",
                    function.name, function.binary
                )?;
            }
        }
        out.flush()
    }

    /// Reads what [`LeafSamples::write`] wrote; `Err` names the bad line.
    pub fn parse(text: &str) -> Result<LeafSamples, String> {
        let mut leaves = LeafSamples::default();
        for (number, line) in text.lines().enumerate() {
            let bad = || format!("line {}: `{line}` is not a leaf sample line", number + 1);
            if let Some(total) = line.strip_prefix("# samples\t") {
                leaves.total = total.trim().parse().map_err(|_| bad())?;
                continue;
            }
            if let Some(event) = line.strip_prefix("# event\t") {
                leaves.event = Some(event.trim().to_string());
                continue;
            }
            if line.starts_with('#') || line.is_empty() {
                continue;
            }
            let mut fields = line.splitn(4, '\t');
            let mut next = || fields.next().ok_or_else(bad);
            let samples: u64 = next()?.parse().map_err(|_| bad())?;
            let offset = u64::from_str_radix(next()?, 16).map_err(|_| bad())?;
            let (function, binary) = (next()?, next()?);
            leaves.add_samples(binary, function, offset, samples);
        }
        Ok(leaves)
    }

    /// Reads a result's `cpu.leaves`.
    pub fn read(path: &Path) -> anyhow::Result<LeafSamples> {
        use anyhow::Context;
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        LeafSamples::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// What is done to each line of perf script's text on its way to the folding.
pub trait LineFilter {
    /// Appends to `out` what stands for `line` (the line itself, more lines,
    /// or nothing).
    fn pass_on(&mut self, line: &[u8], out: &mut Vec<u8>);
}

/// perf script's text as a reader, passed through a [`LineFilter`] one line
/// at a time, many lines per refill: one call per line would cost more than
/// the filtering.
pub struct Filtered<R, F> {
    input: std::io::BufReader<R>,
    filter: F,
    line: Vec<u8>,
    pending: Vec<u8>,
    position: usize,
}

impl<R: Read, F: LineFilter> Filtered<R, F> {
    pub fn with(input: R, filter: F) -> Filtered<R, F> {
        Filtered {
            input: std::io::BufReader::with_capacity(1 << 20, input),
            filter,
            line: Vec::new(),
            pending: Vec::new(),
            position: 0,
        }
    }
}

impl<R: Read, F: LineFilter> Read for Filtered<R, F> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        if self.position == self.pending.len() {
            self.pending.clear();
            self.position = 0;
            while self.pending.len() < 1 << 16 {
                self.line.clear();
                if self.input.read_until(b'\n', &mut self.line)? == 0 {
                    break;
                }
                self.filter.pass_on(&self.line, &mut self.pending);
            }
        }
        let n = buffer.len().min(self.pending.len() - self.position);
        buffer[..n].copy_from_slice(&self.pending[self.position..self.position + n]);
        self.position += n;
        Ok(n)
    }
}

/// perf script's text with its leaf frames tallied, and inline frames added
/// when a [`Symbolizer`] is given.
pub type Lines<R> = Filtered<R, LeafTally>;

/// The filter of [`Lines`].
pub struct LeafTally {
    symbolizer: Option<Symbolizer>,
    leaves: LeafSamples,
    /// A sample's header was read and its first frame not yet.
    awaiting_leaf: bool,
}

impl<R: Read> Filtered<R, LeafTally> {
    /// With `inline_frames`, each frame's inline frames are added from the
    /// program's DWARF.
    pub fn new(input: R, inline_frames: bool) -> Lines<R> {
        let tally = LeafTally {
            symbolizer: inline_frames.then(Symbolizer::default),
            leaves: LeafSamples::default(),
            awaiting_leaf: false,
        };
        Filtered::with(input, tally)
    }

    /// The leaf frames, and the DWARF the inline frames read.
    pub fn finish(self) -> (LeafSamples, super::dwarf::Binaries) {
        let binaries = self
            .filter
            .symbolizer
            .map(Symbolizer::into_binaries)
            .unwrap_or_default();
        (self.filter.leaves, binaries)
    }
}

impl LineFilter for LeafTally {
    fn pass_on(&mut self, line: &[u8], out: &mut Vec<u8>) {
        match line.first() {
            Some(b' ' | b'\t') if self.awaiting_leaf => {
                self.awaiting_leaf = false;
                self.leaves.add(&String::from_utf8_lossy(line));
            }
            Some(b'\n') | None => self.awaiting_leaf = false,
            Some(b' ' | b'\t') => {}
            Some(_) => {
                self.awaiting_leaf = true;
                if self.leaves.event.is_none() {
                    self.leaves.note_event(&String::from_utf8_lossy(line));
                }
            }
        }
        match &mut self.symbolizer {
            Some(symbolizer) => symbolizer.expand(line, out),
            None => out.extend_from_slice(line),
        }
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
        // perf 6.4 and later with `dsoff`: the ip is the process's address,
        // the file offset follows the file's name.
        let line = "\t    55d4c1a2b3c4 core::fmt::write+0x54 (/work/t/cdr-demo+0x7bb84)\n";
        let frame = parse_frame(line).unwrap();
        assert_eq!((frame.offset, frame.dso), (0x7bb84, "/work/t/cdr-demo"));
        assert_eq!(frame.symbol, "core::fmt::write");
        assert_eq!(&line[..frame.ip_end], "\t    55d4c1a2b3c4");
        for not_a_frame in [
            "cdr-demo 23813/23814  3464.292863: cpu-clock:uhpppH: \n",
            "\tffffffffffffffff [unknown] ([unknown])\n",
            "\t            ee0 __vdso_clock_gettime+0x30 ([vdso])\n",
            "\n",
        ] {
            assert_eq!(parse_frame(not_a_frame), None, "{not_a_frame}");
        }
    }

    /// Three samples: two leaves in `work` (one twice at the same
    /// instruction), one in the kernel (counted in the total only); the
    /// frames under the leaves are not leaves.
    const SCRIPT: &str = "\
p 1/1 1.0: cpu-clock:u:
\t    1010 work+0x10 (/bin/p)
\t    1100 main+0x20 (/bin/p)

p 1/1 1.1: cpu-clock:u:
\t    1010 work+0x10 (/bin/p)
\t    1100 main+0x20 (/bin/p)

p 1/2 1.2: cpu-clock:u:
\tffffffff81000000 [unknown] ([kernel.kallsyms])
\t    1014 work+0x14 (/bin/p)

";

    #[test]
    fn each_samples_leaf_is_tallied_by_instruction() {
        let mut lines = Lines::new(SCRIPT.as_bytes(), false);
        let mut passed = String::new();
        lines.read_to_string(&mut passed).unwrap();
        assert_eq!(
            passed, SCRIPT,
            "the text passes unchanged without inline frames"
        );
        let (leaves, _) = lines.finish();
        assert_eq!(leaves.total, 3);
        assert_eq!(leaves.event(), "cpu-clock");
        assert_eq!(
            leaves.functions(),
            [SampledFunction {
                binary: "/bin/p".into(),
                name: "work".into(),
                samples: 2,
                offsets: vec![(0x1010, 2)],
            }]
        );
    }

    #[test]
    fn the_event_is_the_headers_last_word_before_the_stack() {
        for (header, event) in [
            (
                "cdr-demo 23813/23814  3464.292863: cpu-clock:uhpppH: ",
                "cpu-clock",
            ),
            ("my prog 1/2 10.5: 1003009 cycles:uppp:", "cycles"),
            ("p 1/1 1.0: page-faults:u: ", "page-faults"),
        ] {
            let mut leaves = LeafSamples::default();
            leaves.note_event(header);
            assert_eq!(leaves.event(), event, "{header}");
        }
    }

    #[test]
    fn the_leaves_file_reads_back_as_written() {
        let mut leaves = LeafSamples {
            event: Some("cycles".into()),
            ..LeafSamples::default()
        };
        for line in [
            "\t 1010 work+0x10 (/bin/p)\n",
            "\t 1010 work+0x10 (/bin/p)\n",
            "\t 2040 <a as b>::c+0x1 (/lib/with space/q.so)\n",
            "\t ffff [unknown] ([unknown])\n",
            "\t 10 jitted\tname (/tmp/perf-1.map)\n",
        ] {
            leaves.add(line);
        }
        let mut text = Vec::new();
        leaves.write(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.starts_with("# samples\t5\n# event\tcycles\n"),
            "{text}"
        );
        assert!(text.contains("2\t1010\twork\t/bin/p\n"), "{text}");
        assert_eq!(LeafSamples::parse(&text).unwrap(), leaves);
        let error = LeafSamples::parse("# samples\t4\n2\tzz\twork\t/bin/p\n").unwrap_err();
        assert!(error.starts_with("line 2: "), "{error}");
    }
}
