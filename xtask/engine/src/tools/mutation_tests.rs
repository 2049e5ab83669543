//! Every parser of a tool's output, fed truncated and corrupted versions of
//! the real captured outputs under xtask/engine/tests/fixtures/: none may
//! panic; a truncated input must be an error wherever the format lets a
//! reader see the cut (a closing tag, a closing summary, a final newline),
//! and elsewhere may only yield less than the whole input did, never more;
//! a corrupted input yields an error or finite numbers.
//!
//! The mutations come from a fixed-seed generator, so a failure names a
//! mutation that can be replayed; the whole file runs in about a second.

use super::{callgrind, dtrace, heaptrack, massif, memcheck, perf, xctrace};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// The numbers a parser found (what a wrong cut would make wrong), or its
/// error message.
type Outcome = Result<Vec<f64>, String>;

struct Parser {
    name: &'static str,
    fixture: &'static str,
    parse: fn(&str) -> Outcome,
    /// Which cuts of the input the format lets a reader see.
    cuts: Cuts,
}

/// What a truncated input must give.
#[derive(Clone, Copy)]
enum Cuts {
    /// Every cut is visible (a closing tag or summary, a check sum): an
    /// error, unless the numbers are exactly the whole input's (the cut
    /// took nothing the parser reports, such as a final newline).
    Seen,
    /// A cut inside a record is an error; a cut between records (where the
    /// function says so, given the text after the cut) is a shorter, valid
    /// output, whose numbers can only be smaller.
    SeenInsideRecords(fn(&str) -> bool),
    /// Nothing marks the end: a cut may parse, to numbers no larger than
    /// the whole input's.
    Unseen,
}

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!("../../tests/fixtures/", $path))
    };
}

fn parsers() -> Vec<Parser> {
    vec![
        Parser {
            name: "heaptrack_print",
            fixture: fixture!("heaptrack/cdr-demo.print.txt"),
            parse: |text| {
                let report = heaptrack::parse_print(text, 3).map_err(|e| e.to_string())?;
                let s = &report.summary;
                Ok(vec![
                    s.runtime_s,
                    s.allocation_calls as f64,
                    s.temporary_allocations as f64,
                    s.peak_heap.bytes,
                    s.peak_rss.bytes,
                    s.leaked.bytes,
                ])
            },
            cuts: Cuts::Seen,
        },
        Parser {
            name: "heaptrack_print --print-flamegraph",
            fixture: fixture!("heaptrack/cdr-demo.flamegraph-peak.txt"),
            parse: |text| Ok(vec![folded_total(&heaptrack::parse_flamegraph(text))?]),
            // One stack per line, nothing after the last: a cut between
            // lines is a shorter, valid output; inside one, a smaller count.
            cuts: Cuts::Unseen,
        },
        Parser {
            name: "massif.out",
            fixture: fixture!("massif/cdr-demo.massif.out"),
            parse: |text| {
                let profile = massif::parse(text).map_err(|e| e.to_string())?;
                Ok(vec![
                    profile.peak_snapshot().total_bytes() as f64,
                    profile.snapshots.len() as f64,
                ])
            },
            // Nothing closes the file: a cut between snapshots is a file
            // with fewer snapshots (and, before the peak, none marked).
            cuts: Cuts::SeenInsideRecords(|before| {
                before.ends_with("\n") && {
                    let last = before.trim_end().lines().last().unwrap_or("");
                    last == "heap_tree=empty"
                        || last.trim_start().starts_with("n0:")
                        || last.starts_with('#')
                }
            }),
        },
        Parser {
            name: "ms_print",
            fixture: fixture!("massif/cdr-demo.ms_print.txt"),
            parse: |text| {
                let peak = massif::parse_ms_print_peak(text).map_err(|e| e.to_string())?;
                let mut numbers = vec![peak.graph_peak.bytes];
                if let Some(row) = peak.peak_row {
                    numbers.push(row.total_bytes as f64);
                }
                Ok(numbers)
            },
            cuts: Cuts::Unseen,
        },
        Parser {
            name: "memcheck XML",
            fixture: fixture!("memcheck/leak.xml"),
            parse: |text| leak_numbers(memcheck::parse(text, 3)),
            cuts: Cuts::Seen,
        },
        Parser {
            name: "memcheck log",
            fixture: fixture!("memcheck/leak.log"),
            parse: |text| leak_numbers(memcheck::parse_log(text, 3)),
            cuts: Cuts::Seen,
        },
        Parser {
            name: "xctrace XML",
            fixture: fixture!("macos/xctrace-time-profile.xml"),
            parse: |text| {
                let mut out = Vec::new();
                xctrace::fold(text.as_bytes(), &mut out).map_err(|e| e.to_string())?;
                Ok(vec![folded_total(&String::from_utf8_lossy(&out))?])
            },
            cuts: Cuts::Seen,
        },
        Parser {
            name: "dtrace ustack",
            fixture: fixture!("macos/dtrace-ustack.txt"),
            parse: |text| {
                let mut out = Vec::new();
                dtrace::fold(text.as_bytes(), &mut out).map_err(|e| e.to_string())?;
                Ok(vec![folded_total(&String::from_utf8_lossy(&out))?])
            },
            cuts: Cuts::Unseen,
        },
        Parser {
            name: "callgrind.out",
            fixture: fixture!("callgrind/callgrind.out"),
            parse: |text| {
                callgrind::parse_out_file(text)
                    .map(|total| vec![total as f64])
                    .map_err(|e| e.to_string())
            },
            cuts: Cuts::Seen,
        },
    ]
}

/// The sum of the counts of folded stacks; a line without one is a bug of
/// the folder.
fn folded_total(folded: &str) -> Result<f64, String> {
    let mut total = 0.0;
    for line in folded.lines() {
        let count = line
            .rsplit_once(' ')
            .and_then(|(_, count)| count.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("a folded line without a count: {line:?}"));
        total += count as f64;
    }
    Ok(total)
}

fn leak_numbers(
    report: Result<memcheck::LeakReport, crate::tools::memory_model::ParseError>,
) -> Outcome {
    let report = report.map_err(|e| e.to_string())?;
    Ok([
        &report.definitely_lost,
        &report.indirectly_lost,
        &report.possibly_lost,
        &report.still_reachable,
    ]
    .iter()
    .flat_map(|lost| [lost.bytes as f64, lost.blocks as f64])
    .chain([report.error_count as f64])
    .collect())
}

/// xorshift64*: a tiny generator with a fixed seed, so every run makes the
/// same mutations (no crate needed for this).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// The largest char boundary at or below `at`.
fn boundary(text: &str, mut at: usize) -> usize {
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

const CUTS: usize = 32;
const CORRUPTIONS: usize = 32;

/// Cut points: evenly spread, plus just before and after line ends (where
/// a reader is most easily fooled), plus one character short of the end.
fn cut_points(text: &str, rng: &mut Rng) -> Vec<usize> {
    let mut cuts: Vec<usize> = (1..CUTS / 2)
        .map(|i| boundary(text, text.len() * i / (CUTS / 2)))
        .collect();
    let newlines: Vec<usize> = text.match_indices('\n').map(|(i, _)| i).collect();
    for _ in 0..CUTS / 2 - 2 {
        let at = newlines[rng.below(newlines.len())];
        cuts.push(if rng.below(2) == 0 { at } else { at + 1 });
    }
    cuts.push(boundary(text, text.trim_end().len() - 1));
    cuts.push(text.trim_end().len());
    cuts.sort_unstable();
    cuts.dedup();
    cuts.retain(|&c| c > 0 && c < text.len());
    cuts
}

/// A corrupted copy of `text` and what was done to it.
fn corrupt(text: &str, rng: &mut Rng) -> (String, String) {
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let line = rng.below(lines.len());
    let mut out: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let what = match rng.below(6) {
        0 => {
            out.remove(line);
            format!("line {} deleted", line + 1)
        }
        1 => {
            out.insert(line, lines[line].to_string());
            format!("line {} duplicated", line + 1)
        }
        2 => {
            let other = rng.below(lines.len());
            out.swap(line, other);
            format!("lines {} and {} swapped", line + 1, other + 1)
        }
        3 => {
            // A byte flipped to another ASCII character (the parsers take
            // text; invalid UTF-8 is refused before them).
            let bytes = lines[line].as_bytes();
            let at = rng.below(bytes.len());
            let replacement = b" 0129x:;=<>/\"-.\n"[rng.below(16)] as char;
            let mut changed = String::from_utf8_lossy(&bytes[..at]).into_owned();
            changed.push(replacement);
            changed.push_str(&String::from_utf8_lossy(&bytes[at + 1..]));
            out[line] = changed;
            format!("line {}: byte {at} set to {replacement:?}", line + 1)
        }
        _ => {
            // A number replaced by garbage, on a line that has one.
            let with_digits: Vec<usize> = (0..lines.len())
                .filter(|&i| lines[i].bytes().any(|b| b.is_ascii_digit()))
                .collect();
            let line = with_digits[rng.below(with_digits.len())];
            let garbage = [
                "x",
                "-1",
                "NaN",
                "inf",
                "",
                "99999999999999999999999",
                "1e400",
                "0x10",
            ][rng.below(8)];
            let source = lines[line];
            let start = source.find(|c: char| c.is_ascii_digit()).unwrap();
            let end = source[start..]
                .find(|c: char| !(c.is_ascii_digit() || c == '.'))
                .map_or(source.len(), |e| start + e);
            out[line] = format!("{}{garbage}{}", &source[..start], &source[end..]);
            format!(
                "line {}: {:?} replaced by {garbage:?}",
                line + 1,
                &source[start..end]
            )
        }
    };
    (out.concat(), what)
}

/// Runs `parse`, turning a panic into a failure message.
fn run(parser: &Parser, input: &str) -> Result<Outcome, String> {
    let parse = parser.parse;
    catch_unwind(AssertUnwindSafe(|| parse(input))).map_err(|panic| {
        panic
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "a panic".into())
    })
}

/// The failures of one parser on its mutations, and a line saying how many
/// cases it took.
fn mutate(index: usize, parser: &Parser) -> (Vec<String>, String) {
    let started = std::time::Instant::now();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15 ^ (index as u64 + 1));
    let mut failures = Vec::new();
    let whole = match run(parser, parser.fixture) {
        Ok(Ok(numbers)) => numbers,
        other => panic!(
            "{}: the unchanged fixture must parse: {other:?}",
            parser.name
        ),
    };
    let cuts = cut_points(parser.fixture, &mut rng);
    for &cut in &cuts {
        let input = &parser.fixture[..cut];
        let between_records = match parser.cuts {
            Cuts::Seen => false,
            Cuts::SeenInsideRecords(between) => between(input),
            Cuts::Unseen => true,
        };
        let problem = match run(parser, input) {
            Err(panic) => Some(format!("panicked: {panic}")),
            Ok(Err(_)) => None,
            Ok(Ok(numbers)) if numbers == whole => None,
            Ok(Ok(numbers)) if !between_records => Some(format!(
                "parsed without an error, to {numbers:?} instead of {whole:?}: the cut is not noticed"
            )),
            Ok(Ok(numbers)) => numbers
                .iter()
                .zip(&whole)
                .find(|(part, all)| !part.is_finite() || part > all)
                .map(|(part, all)| format!("gave {part}, more than the whole input's {all}")),
        };
        if let Some(problem) = problem {
            let tail: Vec<char> = input.chars().rev().take(40).collect();
            let tail: String = tail.into_iter().rev().collect();
            failures.push(format!(
                "{}: cut at byte {cut} of {} (…{tail:?}): {problem}",
                parser.name,
                parser.fixture.len()
            ));
        }
    }
    for _ in 0..CORRUPTIONS {
        let (input, what) = corrupt(parser.fixture, &mut rng);
        let problem = match run(parser, &input) {
            Err(panic) => Some(format!("panicked: {panic}")),
            Ok(Err(_)) => None,
            Ok(Ok(numbers)) => numbers
                .iter()
                .find(|n| !n.is_finite() || **n < 0.0)
                .map(|n| format!("gave {n}")),
        };
        if let Some(problem) = problem {
            failures.push(format!("{}: {what}: {problem}", parser.name));
        }
    }
    let count = format!(
        "{}: {} cuts, {CORRUPTIONS} corruptions, {:.2} s",
        parser.name,
        cuts.len(),
        started.elapsed().as_secs_f64()
    );
    (failures, count)
}

#[test]
fn every_parser_survives_truncated_and_corrupted_real_outputs() {
    // Panics are caught and reported below, all at once, not printed one by
    // one (no other test in this binary expects a panic message printed).
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let parsers = parsers();
    // One thread per parser: the big fixtures take a second each unoptimised.
    let results: Vec<_> = std::thread::scope(|scope| {
        let handles: Vec<_> = parsers
            .iter()
            .enumerate()
            .map(|(index, parser)| scope.spawn(move || mutate(index, parser)))
            .collect();
        handles.into_iter().map(|h| h.join()).collect()
    });
    std::panic::set_hook(hook);
    let mut failures = Vec::new();
    for result in results {
        let (found, count) = result.expect("the harness itself panicked");
        eprintln!("{count}");
        failures.extend(found);
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// What the mutations found, one case each, named: each of these panicked
/// or read a cut input as smaller numbers before it was fixed.
#[test]
fn the_cases_the_mutations_found_stay_fixed() {
    // dtrace: a count with no stack above it made inferno 0.12 panic
    // (subtract with overflow).
    let dtrace = fixture!("macos/dtrace-ustack.txt");
    let doubled = dtrace.replacen(
        "                3\n",
        "                3\n                3\n",
        1,
    );
    let err = dtrace::fold(doubled.as_bytes(), std::io::sink()).unwrap_err();
    assert!(
        err.to_string()
            .contains("a count (3) with no stack above it"),
        "{err}"
    );

    // heaptrack_print cut inside its last size: `1.2` of `1.26K` read as 1.2 bytes.
    let print = fixture!("heaptrack/cdr-demo.print.txt");
    let err = heaptrack::parse_print(&print[..print.trim_end().len() - 2], 3).unwrap_err();
    assert!(err.to_string().contains("expected a size"), "{err}");

    // massif.out cut inside a line: `n0: 42` of `n0: 4230 …` read as 42 bytes.
    let massif_out = fixture!("massif/cdr-demo.massif.out");
    let peak = massif_out.find("heap_tree=peak\n").unwrap() + "heap_tree=peak\nn4: 43".len();
    let err = massif::parse(&massif_out[..peak]).unwrap_err();
    assert!(err.to_string().contains("looks truncated"), "{err}");
    let partial = format!("{massif_out}#-----");
    let err = massif::parse(&partial).unwrap_err();
    assert!(err.to_string().contains("no final newline"), "{err}");

    // callgrind.out cut inside `totals: 27948688`.
    let out = fixture!("callgrind/callgrind.out");
    let err = callgrind::parse_out_file(&out[..out.len() - 2]).unwrap_err();
    assert!(err.to_string().contains("no final newline"), "{err}");

    // memcheck's log cut inside `ERROR SUMMARY: 12 errors …`.
    let log = fixture!("memcheck/leak.log");
    let summary = log.rfind("ERROR SUMMARY: ").unwrap() + "ERROR SUMMARY: ".len();
    let err = memcheck::parse_log(&format!("{}1", &log[..summary]), 3).unwrap_err();
    assert!(err.to_string().contains("errors from M contexts"), "{err}");
}

/// perf's binary data, as counted for "N samples recorded, M lost" and as
/// folded: the file format (`perf record -o FILE`) and the pipe format
/// (`-o -`), cut and with bytes changed. No panic; a cut never counts more
/// than the whole.
/// Folds perf data held in memory, as the pipeline reads perf's stream or
/// a task reads perf.data.
fn fold(bytes: &[u8]) -> Option<u64> {
    let dir = std::env::temp_dir().join(format!(
        "xtask-mutated-perf-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::create_dir_all(&dir).ok()?;
    let path = dir.join("perf.data");
    std::fs::write(&path, bytes).ok()?;
    let options = super::perf_data::FoldOptions::default();
    let folded = super::perf_data::fold_file(&path, options, std::io::sink()).ok();
    let _ = std::fs::remove_dir_all(&dir);
    folded.map(|f| f.samples)
}

#[test]
fn perf_data_counting_survives_truncated_and_corrupted_recordings() {
    let hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    let mut cases = 0;
    for (name, data) in [
        (
            "fp-file.perf.data",
            &include_bytes!("../../tests/fixtures/perf/fp-file.perf.data")[..],
        ),
        (
            "lossy-pipe.perf.data",
            &include_bytes!("../../tests/fixtures/perf/lossy-pipe.perf.data")[..],
        ),
    ] {
        let count = |bytes: Vec<u8>| {
            catch_unwind(AssertUnwindSafe(|| {
                // The folding reads the same bytes: it may refuse them, not panic.
                fold(&bytes);
                perf::count_records_in(std::io::Cursor::new(bytes))
                    .map(|c| (c.samples, c.lost(), c.error.clone()))
            }))
        };
        let (samples, lost, error) = count(data.to_vec()).unwrap().unwrap();
        assert_eq!(fold(data), Some(samples), "{name}: the whole folds");
        assert!(
            samples > 0 && error.is_none(),
            "{name}: {samples} {error:?}"
        );
        let mut rng = Rng(0xD1B5_4A32_D192_ED03);
        let mut mutations: Vec<(String, Vec<u8>, bool)> = Vec::new();
        for i in 1..CUTS {
            let cut = data.len() * i / CUTS;
            mutations.push((format!("cut at byte {cut}"), data[..cut].to_vec(), true));
        }
        for _ in 0..CORRUPTIONS {
            let mut bytes = data.to_vec();
            let at = rng.below(bytes.len());
            let value = rng.next() as u8;
            bytes[at] = value;
            mutations.push((format!("byte {at} set to {value:#04x}"), bytes, false));
        }
        for (what, bytes, is_cut) in mutations {
            cases += 1;
            match count(bytes) {
                Err(_) => failures.push(format!("{name}: {what}: panicked")),
                Ok(Err(_)) => {}
                Ok(Ok((s, l, _))) if is_cut && (s > samples || l > lost) => failures.push(
                    format!("{name}: {what}: {s} samples, {l} lost, more than the whole's {samples}, {lost}"),
                ),
                Ok(Ok(_)) => {}
            }
        }
    }
    std::panic::set_hook(hook);
    eprintln!("perf.data counting: {cases} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
