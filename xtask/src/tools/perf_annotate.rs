//! `perf annotate`: one function's assembly interleaved with its source
//! lines, each instruction with its share of the function's samples; and
//! `perf report --sort sym`, which names the functions perf can annotate
//! (symbols, not the inlined functions a flamegraph with inline frames
//! shows) with their self time.

use std::ffi::OsString;
use std::path::Path;

/// `perf report` listing every sampled symbol by self time, one per line:
/// `    10.59%  [.] core::fmt::write` (`[k]` for the kernel's).
pub fn symbols_args(data: &Path) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["report".into(), "-i".into(), data.into()];
    args.extend(
        [
            "--stdio",
            "--no-children",
            "--sort",
            "sym",
            "-q",
            "-g",
            "none",
        ]
        .map(OsString::from),
    );
    args
}

/// `perf annotate` of one symbol as text, source lines interleaved (perf's
/// default), without colour codes.
pub fn annotate_args(data: &Path, symbol: &str) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["annotate".into(), "-i".into(), data.into()];
    args.extend(["--stdio", "--stdio-color", "never", "-s", symbol].map(OsString::from));
    args
}

/// A sampled symbol: its share of the samples (self time, percent) and name.
#[derive(Debug, Clone, PartialEq)]
pub struct Symbol {
    pub self_percent: f64,
    pub name: String,
    /// A kernel symbol (`[k]`): annotating it needs the kernel's image.
    pub kernel: bool,
}

impl Symbol {
    /// perf names an address it could not resolve by the address itself.
    pub fn annotatable(&self) -> bool {
        !self.kernel && !self.name.starts_with("0x") && self.name != "[unknown]"
    }
}

/// Parses `perf report --sort sym -q -g none` output, highest self time first
/// (as perf prints it). Lines in another shape (blank, headers) are skipped.
pub fn parse_symbols(text: &str) -> Vec<Symbol> {
    text.lines()
        .filter_map(|line| {
            let (share, rest) = line.trim().split_once('%')?;
            let self_percent: f64 = share.trim().parse().ok()?;
            let rest = rest.trim_start();
            let (kind, name) = rest.split_once("] ")?;
            Some(Symbol {
                self_percent,
                name: name.trim().to_string(),
                kernel: kind == "[k",
            })
        })
        .collect()
}

/// The samples an annotation covers, from its header: `Percent | Source code &
/// Disassembly of cdr-demo for cpu-clock:uhpppH (35 samples, percent: local
/// period)`.
pub fn annotated_samples(text: &str) -> Option<u64> {
    let header = text.lines().find(|l| l.contains("Disassembly of"))?;
    let (_, after) = header.rsplit_once('(')?;
    after.split_whitespace().next()?.parse().ok()
}

/// A file name for the annotation of `symbol`, `rank` (from 1) first so the
/// files list in self-time order: `01-cdr_demo..generate..simulate_subscriber.txt`.
pub fn file_name(rank: usize, symbol: &str) -> String {
    let mut name: String = symbol
        .replace("::", "..")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if name.len() > 80 {
        name.truncate(80);
    }
    format!("{rank:02}-{name}.txt")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/perf_annotate")
            .join(name);
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn symbols_of_the_demo_by_self_time() {
        let symbols = parse_symbols(&fixture("report-symbols.txt"));
        assert_eq!(symbols.len(), 60);
        assert_eq!(
            symbols[0],
            Symbol {
                self_percent: 10.59,
                name: "core::fmt::write".into(),
                kernel: false
            }
        );
        assert!(
            symbols
                .iter()
                .any(|s| s.name == "cdr_demo::generate::simulate_subscriber"
                    && s.self_percent == 2.67)
        );
        assert!(symbols
            .windows(2)
            .all(|w| w[0].self_percent >= w[1].self_percent));
        assert_eq!(
            symbols.last().unwrap().name,
            "std::sync::mpmc::array::Channel<T>::recv::{{closure}}"
        );
    }

    #[test]
    fn kernel_and_unresolved_symbols_are_not_annotated() {
        let symbols = parse_symbols(
            "    50.00%  [k] clear_page_erms\n    30.00%  [.] 0x00007f0000001234\n    20.00%  [.] main\n",
        );
        let annotatable: Vec<&str> = symbols
            .iter()
            .filter(|s| s.annotatable())
            .map(|s| s.name.as_str())
            .collect();
        assert_eq!(annotatable, ["main"]);
    }

    #[test]
    fn an_annotation_has_source_lines_and_sample_shares() {
        let text = fixture("simulate_subscriber.txt");
        assert_eq!(annotated_samples(&text), Some(35));
        assert!(text.contains("fn simulate_subscriber(rng: &mut Rng, days: u32, slowdown: u32)"));
        assert!(text.contains("0.00 :   246a0:  push   %rbp"));
    }

    #[test]
    fn file_names_are_ranked_and_safe() {
        assert_eq!(
            file_name(1, "cdr_demo::generate::simulate_subscriber"),
            "01-cdr_demo..generate..simulate_subscriber.txt"
        );
        assert_eq!(
            file_name(12, "<usize as core::fmt::Display>::fmt"),
            "12-_usize_as_core..fmt..Display_..fmt.txt"
        );
        assert!(file_name(3, &"x".repeat(300)).len() < 90);
        let args = annotate_args(Path::new("/r/perf.data"), "main");
        assert_eq!(
            args,
            [
                "annotate",
                "-i",
                "/r/perf.data",
                "--stdio",
                "--stdio-color",
                "never",
                "-s",
                "main"
            ]
            .map(OsString::from)
        );
    }
}
