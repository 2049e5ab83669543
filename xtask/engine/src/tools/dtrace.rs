//! macOS fallback CPU sampler: DTrace's profile provider aggregating user
//! stacks, folded by inferno's dtrace collapser. Untestable here but for the
//! command line and the folding of a sample in the documented format.

use inferno::collapse::Collapse;
use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::Path;

/// `dtrace -x ustackframes=100 -n 'profile-F /pid == $target/ {...}' -o OUT -c CMD`.
///
/// dtrace's `-c` takes one string that dtrace itself splits on spaces (no
/// shell is involved); arguments containing spaces cannot be passed, which
/// we report rather than mangle.
pub fn record_args(
    frequency: u32,
    out: &Path,
    program: &Path,
    args: &[OsString],
) -> anyhow::Result<Vec<OsString>> {
    let mut command = program.to_string_lossy().into_owned();
    if command.contains(char::is_whitespace) {
        anyhow::bail!("dtrace -c cannot run `{command}` (its path contains a space); use xctrace");
    }
    for arg in args {
        let arg = arg.to_string_lossy();
        if arg.contains(char::is_whitespace) {
            anyhow::bail!(
                "dtrace -c cannot pass the argument `{arg}` (it contains a space); use xctrace"
            );
        }
        command.push(' ');
        command.push_str(&arg);
    }
    Ok(vec![
        "-x".into(),
        "ustackframes=100".into(),
        "-n".into(),
        format!("profile-{frequency} /pid == $target/ {{ @[ustack()] = count(); }}").into(),
        "-o".into(),
        out.into(),
        "-c".into(),
        command.into(),
    ])
}

pub fn fold(mut stacks: impl BufRead, output: impl Write) -> std::io::Result<()> {
    // dtrace's aggregation output is small (one block per distinct stack):
    // read whole, so that it can be checked before inferno sees it.
    let mut text = String::new();
    stacks.read_to_string(&mut text)?;
    check_counts_follow_stacks(&text)?;
    let mut folder = inferno::collapse::dtrace::Folder::default();
    super::xctrace::demangled(|out| folder.collapse(text.as_bytes(), out), output)
}

/// Every count line (the digits under a stack) must close a stack: inferno
/// 0.12's dtrace folder panics on a count with no frame above it (a damaged
/// or hand-edited file).
fn check_counts_follow_stacks(text: &str) -> std::io::Result<()> {
    let mut frames = 0usize;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            // Blocks are separated by blank lines; a stack's frames and
            // its count are contiguous.
            frames = 0;
            continue;
        }
        if line.bytes().all(|b| b.is_ascii_digit()) {
            if frames == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!(
                        "dtrace output, line {}: a count ({line}) with no stack above it: the output is damaged",
                        index + 1
                    ),
                ));
            }
            frames = 0;
        } else {
            frames += 1;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_line() {
        let argv = record_args(
            997,
            Path::new("out.stacks"),
            Path::new("/bin/demo"),
            &["--subs".into(), "5".into()],
        )
        .unwrap();
        assert_eq!(
            argv[3],
            OsString::from("profile-997 /pid == $target/ { @[ustack()] = count(); }")
        );
        assert_eq!(argv[7], OsString::from("/bin/demo --subs 5"));
        assert!(record_args(997, Path::new("o"), Path::new("/bin/demo"), &["a b".into()]).is_err());
        assert!(record_args(997, Path::new("o"), Path::new("/my dir/demo"), &[]).is_err());
    }

    #[test]
    fn folds_ustack_aggregations() {
        let text = include_str!("../../tests/fixtures/macos/dtrace-ustack.txt");
        let mut out = Vec::new();
        fold(text.as_bytes(), &mut out).unwrap();
        let folded = String::from_utf8(out).unwrap();
        assert!(folded.contains("cdr_demo::generate::tariff 7"), "{folded}");
        assert!(
            folded.contains("cdr_demo::generate::format_rows 3"),
            "{folded}"
        );
    }
}
