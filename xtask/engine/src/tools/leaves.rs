//! Where a profile's samples were taken: each sample's leaf frame, by
//! binary, function and file offset; the counts behind annotate/, written
//! beside the folded stacks as `cpu.leaves`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

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
    /// The sampled event, `cpu-clock` when no header named one.
    pub fn event(&self) -> &str {
        self.event.as_deref().unwrap_or("cpu-clock")
    }

    /// Counts one sample's leaf: the function perf named there, at a file
    /// offset of `binary` (the caller counts the sample in `total`).
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_leaves_file_reads_back_as_written() {
        let mut leaves = LeafSamples {
            event: Some("cycles".into()),
            ..LeafSamples::default()
        };
        leaves.add_leaf("/bin/p", "work", 0x1010);
        leaves.add_leaf("/bin/p", "work", 0x1010);
        leaves.add_leaf("/lib/with space/q.so", "<a as b>::c", 0x2040);
        // Two samples that could not be annotated (the kernel's, a JIT's).
        leaves.total = 5;
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
