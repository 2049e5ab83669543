//! Valgrind's callgrind as an instruction counter: the deterministic mode of
//! `profile-compare --counter instructions`.
//!
//! A program run under callgrind executes the same instructions every time as
//! long as its argv and environment are the same (valgrind lays out the stack
//! from them), so the count is a measure without noise, at ~50× the run time.
//! The environment is pinned by running `env -i KEY=VALUE... valgrind ...`:
//! only the workload's declared variables reach it, whatever the caller's
//! shell exported. What remains is a jitter of a few thousand instructions
//! (float formatting of the workload's own timings, thread interleaving), far
//! below the `instructions` limit of profiling.toml.
//!
//! With the cache simulation on, callgrind also counts the data reads and
//! writes and the misses of a simulated first-level (I1, D1) and last-level
//! (LL) cache, from which [`Totals::estimated_cycles`] weighs a time
//! estimate as exact as the instruction count. The caches' geometry is
//! pinned (not read from this machine), so that two machines count alike.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::Path;

/// The output file callgrind writes into a result directory.
pub const OUT_FILE: &str = "callgrind.out";

/// The event counted: instructions executed ("instruction references").
pub const EVENT: &str = "Ir";

/// The simulated caches, the same on every machine (a common desktop
/// core's: first-level instruction and data caches and one last-level
/// cache). Without them callgrind copies the host's caches, and the
/// estimate would change with the machine it was taken on.
pub const CACHE_GEOMETRY: [&str; 3] = ["--I1=32768,8,64", "--D1=32768,8,64", "--LL=8388608,16,64"];

/// Cycles charged per access served by the last-level cache, and per access
/// that went to memory; an access served by the first-level cache costs one.
pub const LL_HIT_CYCLES: u64 = 5;
pub const RAM_CYCLES: u64 = 35;

/// Whether callgrind simulates the caches (to estimate cycles) or counts
/// instructions alone (about 2.5 times faster).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Simulation {
    InstructionsOnly,
    Caches,
}

/// argv for `env` (program first: the caller runs `env`), running `program`
/// under callgrind with exactly the variables of `env` and nothing else.
pub fn command(
    valgrind: &Path,
    out_file: &Path,
    env: &[(String, String)],
    program: &Path,
    args: &[OsString],
    simulation: Simulation,
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["-i".into()];
    argv.extend(env.iter().map(|(k, v)| OsString::from(format!("{k}={v}"))));
    argv.push(valgrind.into());
    argv.push("--tool=callgrind".into());
    let mut out = OsString::from("--callgrind-out-file=");
    out.push(out_file);
    argv.push(out);
    if simulation == Simulation::Caches {
        // Branch prediction stays off: the estimate weighs memory accesses
        // only, and the branch simulator would slow the run further.
        argv.push("--cache-sim=yes".into());
        argv.push("--branch-sim=no".into());
        argv.extend(CACHE_GEOMETRY.iter().map(OsString::from));
    }
    // Children (a shell script workload's own programs) are not counted:
    // the count is the workload process's.
    argv.push("--trace-children=no".into());
    argv.push("--".into());
    argv.push(program.into());
    argv.extend(args.iter().cloned());
    argv
}

/// Why a callgrind output could not be read.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError(pub String);

impl std::fmt::Display for ParseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ParseError {}

/// The instruction count (`Ir`) of a callgrind output file: see
/// [`parse_totals`].
#[cfg(test)]
pub fn parse_out_file(text: &str) -> Result<u64, ParseError> {
    parse_totals(text).map(|totals| totals.instructions)
}

/// Every event's total in a callgrind output file, by event name, and the
/// instruction count (`Ir`) among them: the `totals:` line of each part
/// (summed over parts, for files with several dumps), or the `summary:`
/// header line when a file has no `totals:` (cut before its end: the
/// header's summary is what callgrind counted when it dumped). The columns
/// are named by the `events:` line, so runs with `--cache-sim=yes` (several
/// events) read the same.
pub fn parse_totals(text: &str) -> Result<Totals, ParseError> {
    let mut events: Option<Vec<String>> = None;
    let mut totals: Option<Vec<u64>> = None;
    let mut summary: Option<Vec<u64>> = None;
    for (number, line) in text.lines().enumerate() {
        let line_no = number + 1;
        if let Some(names) = line.strip_prefix("events:") {
            let names: Vec<String> = names.split_whitespace().map(String::from).collect();
            if !names.iter().any(|e| e == EVENT) {
                return Err(ParseError(format!(
                    "line {line_no}: no `{EVENT}` event in `{line}`"
                )));
            }
            events = Some(names);
        } else if let Some(values) = line.strip_prefix("totals:") {
            let values = row(values, events.as_deref(), line_no)?;
            totals = Some(match totals {
                Some(sum) => sum.iter().zip(&values).map(|(a, b)| a + b).collect(),
                None => values,
            });
        } else if let Some(values) = line.strip_prefix("summary:") {
            summary = Some(row(values, events.as_deref(), line_no)?);
        }
    }
    // callgrind ends every line with a newline; the last is `totals:`. A
    // file cut inside it (`totals: 2794868` of `27948688`) would read as a
    // smaller count.
    if !text.is_empty() && !text.ends_with('\n') {
        return Err(ParseError(format!(
            "line {}: the file ends inside this line (no final newline): it looks truncated",
            text.lines().count()
        )));
    }
    let values = totals.or(summary).ok_or_else(|| {
        ParseError("no `totals:` or `summary:` line: not a complete callgrind output".into())
    })?;
    // `row` checked every row against the `events:` line before it.
    let events: BTreeMap<String, u64> =
        events.unwrap_or_default().into_iter().zip(values).collect();
    Ok(Totals {
        instructions: events[EVENT],
        events,
    })
}

/// The counts of one `totals:` or `summary:` row, one per event of the
/// `events:` line. Callgrind's format lets a cost line leave out trailing
/// zero counts, so missing columns after `Ir`'s are zeros; `Ir`'s own
/// column must be there.
fn row(values: &str, events: Option<&[String]>, line_no: usize) -> Result<Vec<u64>, ParseError> {
    let events = events
        .ok_or_else(|| ParseError(format!("line {line_no}: totals before any `events:` line")))?;
    let counts: Vec<&str> = values.split_whitespace().collect();
    let ir = events.iter().position(|e| e == EVENT).unwrap_or(0);
    if counts.len() <= ir {
        return Err(ParseError(format!(
            "line {line_no}: no column {} in `{}`",
            ir + 1,
            values.trim()
        )));
    }
    (0..events.len())
        .map(|i| match counts.get(i) {
            Some(text) => text
                .parse()
                .map_err(|_| ParseError(format!("line {line_no}: `{text}` is not a count"))),
            None => Ok(0),
        })
        .collect()
}

/// What callgrind counted over the whole run.
#[derive(Debug, Clone, PartialEq)]
pub struct Totals {
    /// `Ir`: instructions executed.
    pub instructions: u64,
    /// Every event's total by its name (`Ir`, and with the cache simulation
    /// `Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw`).
    pub events: BTreeMap<String, u64>,
}

impl Totals {
    /// Cycles estimated from the simulated caches: each instruction fetch
    /// and data access served by the first-level caches costs 1 cycle, one
    /// served by the last-level cache [`LL_HIT_CYCLES`], one that went to
    /// memory [`RAM_CYCLES`] (docs/verdicts.md names the formula's
    /// sources). `Ok(None)` for a run without the cache simulation; an
    /// error when the counts contradict each other (more misses than
    /// accesses: not callgrind's output).
    pub fn estimated_cycles(&self) -> Result<Option<u64>, ParseError> {
        const NEEDED: [&str; 8] = ["Dr", "Dw", "I1mr", "D1mr", "D1mw", "ILmr", "DLmr", "DLmw"];
        let Some(counts) = NEEDED
            .iter()
            .map(|e| self.events.get(*e).copied())
            .collect::<Option<Vec<u64>>>()
        else {
            return Ok(None);
        };
        let [dr, dw, i1mr, d1mr, d1mw, ilmr, dlmr, dlmw] = counts[..] else {
            unreachable!("eight events were asked for");
        };
        let accesses = self.instructions as u128 + dr as u128 + dw as u128;
        let l1_misses = i1mr as u128 + d1mr as u128 + d1mw as u128;
        let ll_misses = ilmr as u128 + dlmr as u128 + dlmw as u128;
        if l1_misses > accesses || ll_misses > l1_misses {
            return Err(ParseError(format!(
                "inconsistent cache counts: {accesses} accesses, {l1_misses} first-level misses, \
                 {ll_misses} last-level misses (each level can miss no more than it was asked)"
            )));
        }
        let cycles = (accesses - l1_misses)
            + LL_HIT_CYCLES as u128 * (l1_misses - ll_misses)
            + RAM_CYCLES as u128 * ll_misses;
        u64::try_from(cycles)
            .map(Some)
            .map_err(|_| ParseError(format!("{cycles} estimated cycles overflow a count")))
    }
}

/// The instruction count from callgrind's stderr: `==PID== Collected : N ...`,
/// in the column of `Ir` on the `==PID== Events : ...` line (the first when
/// that line is missing).
pub fn parse_stderr<'a>(lines: impl IntoIterator<Item = &'a str>) -> Option<u64> {
    let mut column = 0;
    let mut collected = None;
    for line in lines {
        let body = strip_pid(line);
        if let Some(events) = field(body, "Events") {
            column = events.split_whitespace().position(|e| e == EVENT)?;
        } else if let Some(values) = field(body, "Collected") {
            collected = values
                .split_whitespace()
                .nth(column)
                .and_then(|v| v.parse().ok());
        }
    }
    collected
}

/// `==123== text` → `text`.
fn strip_pid(line: &str) -> &str {
    let line = line.trim();
    match line
        .strip_prefix("==")
        .and_then(|rest| rest.split_once("=="))
    {
        Some((pid, rest)) if pid.chars().all(|c| c.is_ascii_digit()) => rest.trim(),
        _ => line,
    }
}

/// `Name    : values` → `values`.
fn field<'a>(body: &'a str, name: &str) -> Option<&'a str> {
    let (key, value) = body.split_once(':')?;
    (key.trim() == name).then_some(value.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUT: &str = include_str!("../../tests/fixtures/callgrind/callgrind.out");
    const STDERR: &str = include_str!("../../tests/fixtures/callgrind/stderr.txt");
    const STDERR_CACHE_SIM: &str =
        include_str!("../../tests/fixtures/callgrind/stderr-cache-sim.txt");
    const CACHE_SIM: &str = include_str!("../../tests/fixtures/callgrind/cache-sim.out");

    #[test]
    fn reads_the_total_of_a_real_output_file() {
        assert_eq!(parse_out_file(OUT), Ok(27_948_688));
    }

    #[test]
    fn reads_the_count_from_real_stderr() {
        assert_eq!(parse_stderr(STDERR.lines()), Some(27_948_688));
        // Several events: Ir is the first of `Events :`.
        assert_eq!(parse_stderr(STDERR_CACHE_SIM.lines()), Some(3_235_712));
        assert_eq!(parse_stderr("no valgrind here\n".lines()), None);
    }

    #[test]
    fn the_ir_column_comes_from_the_events_line() {
        // Header and footer lines of the --cache-sim=yes capture: `summary:`
        // and `totals:` differ there, and totals match stderr's `Collected`.
        let text = "events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\n\
                    summary: 3235719 759790 553871 2934 3681 2599 2586 1899 2365\n\
                    fn=(1) main\n0 5\n\
                    totals: 3235712 759790 553871 2932 3681 2599 2584 1899 2365\n";
        assert_eq!(parse_out_file(text), Ok(3_235_712));
        let reordered = "events: Dr Ir\nsummary: 7 42\n";
        assert_eq!(parse_out_file(reordered), Ok(42));
        let two_parts = "events: Ir\npart: 1\ntotals: 10\npart: 2\ntotals: 32\n";
        assert_eq!(parse_out_file(two_parts), Ok(42));
    }

    #[test]
    fn incomplete_files_are_errors_not_zero() {
        assert!(parse_out_file("").unwrap_err().0.contains("no `totals:`"));
        assert!(parse_out_file("events: Dr\n")
            .unwrap_err()
            .0
            .contains("no `Ir` event"));
        assert!(parse_out_file("totals: 5\n")
            .unwrap_err()
            .0
            .contains("before any `events:`"));
        assert!(parse_out_file("events: Ir\ntotals: x\n")
            .unwrap_err()
            .0
            .contains("`x` is not a count"));
        // Truncated real file (no footer): the header summary still counts.
        let header: String = OUT.lines().take(25).map(|l| format!("{l}\n")).collect();
        assert_eq!(parse_out_file(&header), Ok(27_948_688));
    }

    #[test]
    fn command_pins_the_environment() {
        let argv = command(
            Path::new("/usr/bin/valgrind"),
            Path::new("/r/callgrind.out"),
            &[("RUST_LOG".into(), "a=b".into())],
            Path::new("/bin/demo"),
            &["--subs".into(), "5".into()],
            Simulation::InstructionsOnly,
        );
        let words: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words.join(" "),
            "-i RUST_LOG=a=b /usr/bin/valgrind --tool=callgrind --callgrind-out-file=/r/callgrind.out \
             --trace-children=no -- /bin/demo --subs 5"
        );
    }

    #[test]
    fn the_cache_simulation_pins_its_geometry() {
        let argv = command(
            Path::new("/usr/bin/valgrind"),
            Path::new("/r/callgrind.out"),
            &[],
            Path::new("/bin/demo"),
            &[],
            Simulation::Caches,
        );
        let words: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words.join(" "),
            "-i /usr/bin/valgrind --tool=callgrind --callgrind-out-file=/r/callgrind.out \
             --cache-sim=yes --branch-sim=no --I1=32768,8,64 --D1=32768,8,64 --LL=8388608,16,64 \
             --trace-children=no -- /bin/demo"
        );
    }

    /// The real output of a run with the cache simulation (fixture README):
    /// its `totals:` line is `Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw` =
    /// 3247319 763475 555207 3324 3821 2647 2588 1920 2367. By hand:
    /// 4566001 accesses, 9792 first-level misses, 6875 last-level misses;
    /// 4556209 first-level hits + 5 × 2917 last-level hits + 35 × 6875
    /// memory accesses = 4811419 cycles.
    #[test]
    fn estimates_cycles_from_a_real_cache_simulation() {
        let totals = parse_totals(CACHE_SIM).unwrap();
        assert_eq!(totals.instructions, 3_247_319);
        assert_eq!(totals.events["DLmw"], 2367);
        assert_eq!(totals.estimated_cycles(), Ok(Some(4_811_419)));
        // Without the simulation there is nothing to estimate from.
        assert_eq!(parse_totals(OUT).unwrap().estimated_cycles(), Ok(None));
    }

    #[test]
    fn each_cache_level_weighs_its_own_cost() {
        let cycles = |row: &str| {
            let text = format!("events: Ir Dr Dw I1mr D1mr D1mw ILmr DLmr DLmw\ntotals: {row}\n");
            parse_totals(&text).unwrap().estimated_cycles()
        };
        // 10 accesses, all first-level hits.
        assert_eq!(cycles("4 3 3 0 0 0 0 0 0"), Ok(Some(10)));
        // One instruction fetch served by the last-level cache: 9 + 5.
        assert_eq!(cycles("4 3 3 1 0 0 0 0 0"), Ok(Some(14)));
        // One data write from memory: 9 + 35.
        assert_eq!(cycles("4 3 3 0 0 1 0 0 1"), Ok(Some(44)));
        // Trailing zero counts may be left out of a cost line.
        assert_eq!(cycles("4 3 3"), Ok(Some(10)));
        // More misses than accesses: not callgrind's counts.
        assert!(cycles("1 0 0 2 0 0 0 0 0")
            .unwrap_err()
            .0
            .contains("inconsistent cache counts"));
        assert!(cycles("4 3 3 0 0 0 1 0 0").is_err());
    }
}
