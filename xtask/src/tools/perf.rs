//! Linux `perf`: the record and script command lines, the folding of
//! `perf script` output (streamed through inferno, in-process), and the
//! parsing of what perf prints about its own run.

use crate::config::CallGraph;
use anyhow::Context;
use inferno::collapse::Collapse;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

/// perf's sampling settings, as recorded in run.json.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct Settings {
    pub frequency: u32,
    pub call_graph: CallGraph,
    /// Inline frames resolved (needs a fast addr2line) or `--no-inline`.
    pub inline_frames: bool,
    /// Kernel frames sampled too; otherwise `--all-user`.
    pub kernel_frames: bool,
}

/// `perf record` of a program we start.
pub fn record_args(
    settings: &Settings,
    data: &Path,
    program: &Path,
    args: &[OsString],
) -> Vec<OsString> {
    let mut argv = record_common(settings, data);
    argv.push("--".into());
    argv.push(program.into());
    argv.extend(args.iter().cloned());
    argv
}

/// `perf record` attached to a running process (a server under load).
pub fn attach_args(settings: &Settings, data: &Path, pid: u32) -> Vec<OsString> {
    let mut argv = record_common(settings, data);
    argv.push("--pid".into());
    argv.push(pid.to_string().into());
    argv
}

/// Start with events off (`--delay=-1`) and take `enable` from a control
/// FIFO, acknowledging on another (perf 5.10+).
pub fn control_args(ctl: &Path, ack: &Path) -> Vec<OsString> {
    let mut control = OsString::from("fifo:");
    control.push(ctl);
    control.push(",");
    control.push(ack);
    vec!["--delay=-1".into(), "--control".into(), control]
}

fn record_common(settings: &Settings, data: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        "record".into(),
        "--freq".into(),
        settings.frequency.to_string().into(),
        "--call-graph".into(),
        // 16 KiB of stack per sample: deep enough for Rust's long generic stacks.
        match settings.call_graph {
            CallGraph::Dwarf => "dwarf,16384".into(),
            other => other.as_str().into(),
        },
        // perf 6.1 otherwise spends ~1 s at exit synthesizing BPF events.
        "--no-bpf-event".into(),
        "--output".into(),
        data.into(),
    ];
    if !settings.kernel_frames {
        argv.push("--all-user".into());
    }
    // Not `--quiet`: its stderr summary (samples, lost chunks) goes into the report.
    argv
}

/// `perf script` over a recording, for folding.
pub fn script_args(settings: &Settings, data: &Path) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        "script".into(),
        "--input".into(),
        data.into(),
        // Only what the folder reads: no per-sample headers it would skip anyway.
        "--fields".into(),
        "comm,pid,tid,time,event,ip,sym,dso".into(),
    ];
    if !settings.inline_frames {
        argv.push("--no-inline".into());
    }
    argv
}

/// What perf said about its recording.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct RecordSummary {
    pub samples: Option<u64>,
    pub data_mb: Option<f64>,
    /// "lost N chunks" / "Lost N events" warnings, verbatim.
    pub warnings: Vec<String>,
}

/// Reads `[ perf record: Captured and wrote 3.512 MB perf.data (431 samples) ]`
/// and the lost-events warnings from perf's stderr.
pub fn parse_record_stderr<'a>(lines: impl IntoIterator<Item = &'a str>) -> RecordSummary {
    let mut summary = RecordSummary::default();
    for line in lines {
        let line = line.trim();
        if let Some(rest) = line.strip_prefix("[ perf record: Captured and wrote ") {
            summary.data_mb = rest.split_whitespace().next().and_then(|v| v.parse().ok());
            summary.samples = rest
                .rsplit_once('(')
                .and_then(|(_, r)| r.split_whitespace().next())
                .and_then(|v| v.parse().ok());
        } else if is_loss_warning(line) {
            summary.warnings.push(line.to_string());
        }
    }
    summary
}

/// perf's ways of saying samples were dropped.
pub fn is_loss_warning(line: &str) -> bool {
    let lower = line.to_ascii_lowercase();
    (lower.contains("lost")
        && (lower.contains("chunks") || lower.contains("events") || lower.contains("samples")))
        || lower.contains("check io/cpu overload")
}

/// Folds `perf script` text into inferno's folded-stack format, streaming:
/// the input is read in chunks and never held whole, so a GB of perf script
/// costs no more memory than a MB. Frames are demangled (Rust v0 and legacy).
pub fn fold(input: impl Read, mut output: impl Write) -> std::io::Result<u64> {
    let mut options = inferno::collapse::perf::Options::default();
    options.nthreads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut folder = inferno::collapse::perf::Folder::from(options);
    // The folded result is one line per distinct stack: small next to the input.
    let mut folded = Vec::new();
    folder.collapse(BufReader::with_capacity(1 << 20, input), &mut folded)?;
    let mut samples = 0;
    for line in folded.lines() {
        let line = line?;
        let (stack, count) = line.rsplit_once(' ').unwrap_or((&line, "0"));
        samples += count.parse::<u64>().unwrap_or(0);
        writeln!(output, "{} {count}", demangle_stack(stack))?;
    }
    output.flush()?;
    Ok(samples)
}

/// Demangles every `;`-separated frame that is still a mangled Rust name.
pub fn demangle_stack(stack: &str) -> String {
    if !stack.contains("_ZN") && !stack.contains("_R") {
        return stack.to_string();
    }
    stack
        .split(';')
        .map(demangle_frame)
        .collect::<Vec<_>>()
        .join(";")
}

fn demangle_frame(frame: &str) -> String {
    // A frame may carry a suffix such as `_[i]` (inlined) or `_[k]`.
    let (name, suffix) = match frame.find("_[") {
        Some(i) if frame.ends_with(']') => frame.split_at(i),
        _ => (frame, ""),
    };
    match rustc_demangle::try_demangle(name) {
        Ok(demangled) => format!("{demangled:#}{suffix}"),
        Err(_) => frame.to_string(),
    }
}

/// Runs `perf script` on a recording and folds its stdout as it arrives.
/// Returns the samples folded and perf's lost-samples warnings.
pub fn script_and_fold(
    perf: &Path,
    settings: &Settings,
    data: &Path,
    folded_out: &Path,
    path_prefix: Option<&Path>,
) -> anyhow::Result<(u64, Vec<String>)> {
    use crate::runs::process::{self, Spec};
    let mut spec = Spec::new(perf).args(script_args(settings, data));
    spec.stdout_raw = true;
    spec.watch = vec!["lost".into(), "Lost".into()];
    if let Some(dir) = path_prefix {
        // perf runs `addr2line` from PATH for inline frames: put the fast one first.
        spec.env.push(("PATH".into(), path_with_first(dir)?));
    }
    let mut running = process::start(spec)?;
    let stdout = running.stdout.take().context("perf script has no stdout")?;
    let file = std::fs::File::create(folded_out)
        .with_context(|| format!("cannot write {}", folded_out.display()))?;
    let folded = fold(stdout, std::io::BufWriter::new(file));
    let outcome = running.wait();
    let samples = folded.with_context(|| format!("`perf script` failed:\n{}", outcome.tail()))?;
    if !outcome.success() {
        anyhow::bail!(
            "`perf script` failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    let warnings = outcome
        .watched
        .into_iter()
        .filter(|l| is_loss_warning(l))
        .collect();
    Ok((samples, warnings))
}

/// PATH with `dir` first, as a string for a child's environment.
pub fn path_with_first(dir: &Path) -> anyhow::Result<String> {
    let mut dirs = vec![dir.to_path_buf()];
    dirs.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    let joined = std::env::join_paths(dirs)?;
    joined
        .into_string()
        .map_err(|_| anyhow::anyhow!("PATH is not valid UTF-8"))
}

/// Whether hardware events count here (`perf stat -e instructions true`);
/// many VMs only have software events.
pub fn hardware_counters_work(perf: &Path) -> bool {
    let output = std::process::Command::new(perf)
        .args(["stat", "-x,", "-e", "instructions", "true"])
        .output();
    match output {
        Ok(output) => parse_stat_supported(&String::from_utf8_lossy(&output.stderr)),
        Err(_) => false,
    }
}

/// `perf stat -x,` prints `<not supported>,,instructions,...` when the event
/// cannot be counted.
pub fn parse_stat_supported(stderr: &str) -> bool {
    stderr
        .lines()
        .find(|l| l.contains("instructions"))
        .is_some_and(|l| !l.contains("<not supported>") && !l.contains("<not counted>"))
}

/// Where a fast (gimli) addr2line is, if anywhere: PATH first, then cargo's bin.
pub fn fast_addr2line_dir() -> Option<PathBuf> {
    let on_path = which::which("addr2line").ok();
    let cargo_bin = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")))
        .map(|h| h.join("bin").join("addr2line"));
    [on_path, cargo_bin]
        .into_iter()
        .flatten()
        .find(|p| {
            p.is_file()
                && crate::tools::version_of(p, &["--version"]).is_some_and(|v| !v.contains("GNU"))
        })
        .and_then(|p| p.parent().map(Path::to_path_buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_command_line() {
        let settings = Settings {
            frequency: 997,
            call_graph: CallGraph::Dwarf,
            inline_frames: true,
            kernel_frames: true,
        };
        let argv = record_args(
            &settings,
            Path::new("out/perf.data"),
            Path::new("/bin/demo"),
            &["--subs".into(), "5".into()],
        );
        let words: Vec<String> = argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert_eq!(
            words.join(" "),
            "record --freq 997 --call-graph dwarf,16384 --no-bpf-event --output out/perf.data -- /bin/demo --subs 5"
        );
        let fp = Settings {
            call_graph: CallGraph::Fp,
            inline_frames: false,
            kernel_frames: false,
            ..settings
        };
        assert!(record_args(&fp, Path::new("p"), Path::new("/bin/x"), &[])
            .contains(&"--all-user".into()));
        let words: Vec<String> = script_args(&fp, Path::new("p.data"))
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect();
        assert!(words.ends_with(&["--no-inline".to_string()]));
        assert!(attach_args(&fp, Path::new("p"), 42).ends_with(&["--pid".into(), "42".into()]));
    }

    #[test]
    fn reads_the_record_summary_and_losses() {
        let stderr = "[ perf record: Woken up 3 times to write data ]\n\
                      Processed 1203 events and lost 4 chunks!\n\
                      Check IO/CPU overload!\n\
                      [ perf record: Captured and wrote 12.345 MB out/perf.data (1290 samples) ]\n";
        let summary = parse_record_stderr(stderr.lines());
        assert_eq!(summary.samples, Some(1290));
        assert_eq!(summary.data_mb, Some(12.345));
        assert_eq!(summary.warnings.len(), 2);
    }

    #[test]
    fn stat_support_detection() {
        assert!(!parse_stat_supported(
            "<not supported>,,instructions,0,100.00,,\n"
        ));
        assert!(parse_stat_supported(
            "1234567,,instructions:u,1000,100.00,,\n"
        ));
        assert!(!parse_stat_supported(""));
    }

    #[test]
    fn demangles_leftover_rust_names() {
        assert_eq!(
            demangle_stack("cdr-demo;_ZN8cdr_demo8generate6tariff17h0123456789abcdefE;_RNvCs1234_7mycrate4main_[i]"),
            "cdr-demo;cdr_demo::generate::tariff;mycrate::main_[i]"
        );
        assert_eq!(demangle_stack("main;foo"), "main;foo");
    }

    /// The streamed, in-process folding gives, line for line, what inferno's
    /// perf collapser gives on the saved `perf script` text of the same
    /// perf.data (both demangled the same way).
    #[test]
    fn streamed_folding_equals_inferno_on_saved_script_text() {
        let Ok(perf) = which::which("perf") else {
            crate::runs::build::skip_unless_ci("perf");
            return;
        };
        let demo = crate::runs::build::build(
            &crate::project_root(),
            "profiling",
            crate::config::Target::Bin("cdr-demo"),
            None,
        )
        .unwrap();
        let dir = std::env::temp_dir().join(format!("xtask-perf-fold-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let settings = Settings {
            frequency: 1999,
            call_graph: CallGraph::Dwarf,
            inline_frames: false,
            kernel_frames: false,
        };
        let data = dir.join("perf.data");
        let spec = crate::runs::process::Spec::new(&perf).args(record_args(
            &settings,
            &data,
            &demo,
            &["--subs".into(), "4000".into()],
        ));
        crate::runs::process::run_checked(spec).unwrap();

        let ours = dir.join("ours.folded");
        let (samples, _) = script_and_fold(&perf, &settings, &data, &ours, None).unwrap();
        assert!(samples > 20, "too few samples: {samples}");

        let script = dir.join("script.txt");
        let status = std::process::Command::new(&perf)
            .args(script_args(&settings, &data))
            .stdout(std::fs::File::create(&script).unwrap())
            .stderr(std::process::Stdio::null())
            .status()
            .unwrap();
        assert!(status.success());
        let mut reference = Vec::new();
        inferno::collapse::perf::Folder::default()
            .collapse_file(Some(&script), &mut reference)
            .unwrap();
        let reference: Vec<String> = String::from_utf8(reference)
            .unwrap()
            .lines()
            .map(|l| {
                let (stack, count) = l.rsplit_once(' ').unwrap();
                format!("{} {count}", demangle_stack(stack))
            })
            .collect();
        let ours: Vec<String> = std::fs::read_to_string(&ours)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        std::fs::remove_dir_all(&dir).unwrap();
        assert_eq!(ours.len(), reference.len());
        for (a, b) in ours.iter().zip(&reference) {
            assert_eq!(a, b);
        }
        assert!(ours.iter().any(|l| l.contains("cdr_demo::generate::")));
    }

    #[test]
    fn folds_real_perf_script_text() {
        let text = include_str!("../../../tests/fixtures/perf/script-small.txt");
        let mut folded = Vec::new();
        let samples = fold(text.as_bytes(), &mut folded).unwrap();
        let folded = String::from_utf8(folded).unwrap();
        assert!(samples > 0);
        assert!(folded.lines().all(|l| l.rsplit_once(' ').is_some()));
        assert!(folded.contains("cdr-demo;"), "{folded}");
    }
}
