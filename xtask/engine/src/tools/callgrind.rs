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

use std::ffi::OsString;
use std::path::Path;

/// The output file callgrind writes into a result directory.
pub const OUT_FILE: &str = "callgrind.out";

/// The event counted: instructions executed ("instruction references").
pub const EVENT: &str = "Ir";

/// argv for `env` (program first: the caller runs `env`), running `program`
/// under callgrind with exactly the variables of `env` and nothing else.
pub fn command(
    valgrind: &Path,
    out_file: &Path,
    env: &[(String, String)],
    program: &Path,
    args: &[OsString],
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["-i".into()];
    argv.extend(env.iter().map(|(k, v)| OsString::from(format!("{k}={v}"))));
    argv.push(valgrind.into());
    argv.push("--tool=callgrind".into());
    let mut out = OsString::from("--callgrind-out-file=");
    out.push(out_file);
    argv.push(out);
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

/// The instruction count (`Ir`) of a callgrind output file: the `totals:`
/// line of each part (summed over parts, for files with several dumps), or
/// the `summary:` header line when a file has no `totals:` (cut before its
/// end: the header's summary is what callgrind counted when it dumped). The column is
/// found through the `events:` line, so runs with `--cache-sim=yes` (several
/// events) read the same.
pub fn parse_out_file(text: &str) -> Result<u64, ParseError> {
    let mut column = None;
    let mut totals: Option<u64> = None;
    let mut summary: Option<u64> = None;
    for (number, line) in text.lines().enumerate() {
        let line_no = number + 1;
        if let Some(events) = line.strip_prefix("events:") {
            column = Some(
                events
                    .split_whitespace()
                    .position(|e| e == EVENT)
                    .ok_or_else(|| {
                        ParseError(format!("line {line_no}: no `{EVENT}` event in `{line}`"))
                    })?,
            );
        } else if let Some(values) = line.strip_prefix("totals:") {
            let value = column_value(values, column, line_no)?;
            totals = Some(totals.unwrap_or(0) + value);
        } else if let Some(values) = line.strip_prefix("summary:") {
            summary = Some(column_value(values, column, line_no)?);
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
    totals.or(summary).ok_or_else(|| {
        ParseError("no `totals:` or `summary:` line: not a complete callgrind output".into())
    })
}

fn column_value(values: &str, column: Option<usize>, line_no: usize) -> Result<u64, ParseError> {
    let column = column
        .ok_or_else(|| ParseError(format!("line {line_no}: totals before any `events:` line")))?;
    let text = values.split_whitespace().nth(column).ok_or_else(|| {
        ParseError(format!(
            "line {line_no}: no column {} in `{}`",
            column + 1,
            values.trim()
        ))
    })?;
    text.parse()
        .map_err(|_| ParseError(format!("line {line_no}: `{text}` is not a count")))
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
}
