//! macOS CPU profiling with Instruments' Time Profiler through `xcrun
//! xctrace`: record a trace, export its `time-profile` table as XML, fold it
//! with inferno's xctrace collapser. These tools cannot run on Linux; the
//! command lines and the folding are unit-tested on a sample export made
//! from the documented schema (xtask/engine/tests/fixtures/macos/).

use inferno::collapse::Collapse;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;

/// `xcrun xctrace record --template 'Time Profiler' --output T --launch -- BIN ARGS`
pub fn record_args(trace: &Path, program: &Path, args: &[OsString]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        "xctrace".into(),
        "record".into(),
        "--template".into(),
        "Time Profiler".into(),
        "--output".into(),
        trace.into(),
        "--launch".into(),
        "--".into(),
        program.into(),
    ];
    argv.extend(args.iter().cloned());
    argv
}

/// `xcrun xctrace export` of the time-profile table of the first run.
pub fn export_args(trace: &Path, xml_out: &Path) -> Vec<OsString> {
    vec![
        "xctrace".into(),
        "export".into(),
        "--input".into(),
        trace.into(),
        "--xpath".into(),
        r#"/trace-toc/run[@number="1"]/data/table[@schema="time-profile"]"#.into(),
        "--output".into(),
        xml_out.into(),
    ]
}

/// Folds an exported time-profile XML into demangled folded stacks.
pub fn fold(xml: impl BufRead, output: impl Write) -> std::io::Result<()> {
    let mut folder = inferno::collapse::xctrace::Folder::default();
    demangled(|out| folder.collapse(xml, out), output)
}

/// Runs a collapser into memory, then writes its lines with Rust names demangled.
pub(crate) fn demangled(
    collapse: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>,
    mut output: impl Write,
) -> std::io::Result<()> {
    let mut folded = Vec::new();
    collapse(&mut folded)?;
    for line in folded.lines() {
        let line = line?;
        let (stack, count) = line.rsplit_once(' ').unwrap_or((&line, "0"));
        writeln!(
            output,
            "{} {count}",
            crate::tools::demangle::demangle_stack(stack)
        )?;
    }
    output.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let argv = record_args(
            Path::new("cpu.trace"),
            Path::new("/bin/demo"),
            &["--subs".into(), "5".into()],
        );
        let words: Vec<_> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words,
            [
                "xctrace",
                "record",
                "--template",
                "Time Profiler",
                "--output",
                "cpu.trace",
                "--launch",
                "--",
                "/bin/demo",
                "--subs",
                "5"
            ]
        );
        let export = export_args(Path::new("cpu.trace"), Path::new("cpu.xml"));
        assert!(export
            .iter()
            .any(|a| a.to_string_lossy().contains(r#"@schema="time-profile""#)));
    }

    #[test]
    fn folds_a_time_profile_export() {
        let xml = include_str!("../../tests/fixtures/macos/xctrace-time-profile.xml");
        let mut out = Vec::new();
        fold(xml.as_bytes(), &mut out).unwrap();
        let folded = String::from_utf8(out).unwrap();
        assert!(
            folded.contains(
                "start;main;cdr_demo::generate::simulate_subscriber;cdr_demo::generate::tariff 2"
            ),
            "{folded}"
        );
        assert!(
            folded.contains("start;main;cdr_demo::generate::format_rows 1"),
            "{folded}"
        );
    }
}
