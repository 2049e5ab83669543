//! The memory profile of one run, on the heap profiler chosen at runtime:
//! heaptrack (fast, the default on Linux), valgrind massif (slow, exact
//! snapshots), or Instruments on macOS. Writes the raw tool output,
//! `memory.json`, `memory.folded` and `memory-flamegraph.svg`; also the
//! memcheck leak check. Shared by the memory task and profile-baseline.

mod allocations;
mod attach;
mod service;

pub use attach::{plan_attach, profile_pid, PROCESS_EXITED};
pub use service::{profile_service, ServiceMemory};

use crate::config::MemoryTool;
use crate::runs::measure::RunFailure;
use crate::runs::process::{self, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::memcheck::LeakReport;
use crate::tools::memory_model::MemoryReport;
use crate::tools::{heaptrack, instruments, massif, memcheck, Platform, Toolbox};
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

pub const FOLDED: &str = "memory.folded";
pub const SVG: &str = "memory-flamegraph.svg";

/// A heap profiler this machine can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profiler {
    Heaptrack,
    Massif,
    Instruments,
}

impl Profiler {
    pub fn name(self) -> &'static str {
        match self {
            Profiler::Heaptrack => "heaptrack",
            Profiler::Massif => "massif",
            Profiler::Instruments => "instruments",
        }
    }

    /// How much slower than a bare run, as measured on the demo here; said
    /// before starting so nobody kills a slow run thinking it hangs.
    fn slowdown(self) -> &'static str {
        match self {
            Profiler::Heaptrack => "about 2-4x",
            Profiler::Massif => "about 10-15x",
            Profiler::Instruments => "a few times",
        }
    }

    /// How much longer than the workload's own timeout a run may take.
    fn timeout_factor(self) -> u32 {
        match self {
            Profiler::Heaptrack => 10,
            Profiler::Massif => 50,
            Profiler::Instruments => 10,
        }
    }
}

/// `auto` is heaptrack, else massif on Linux, Instruments on macOS. An
/// explicit choice that is missing is an error with its install command,
/// never a silent switch to another tool.
pub fn choose(requested: MemoryTool, tools: &Toolbox) -> anyhow::Result<Profiler> {
    let heaptrack_ready = || -> anyhow::Result<()> {
        tools.heaptrack.path()?;
        tools.heaptrack_print.path()?;
        Ok(())
    };
    match requested {
        MemoryTool::Heaptrack => heaptrack_ready().map(|_| Profiler::Heaptrack),
        MemoryTool::Massif => tools.valgrind.path().map(|_| Profiler::Massif),
        MemoryTool::Instruments if tools.platform != Platform::Macos => {
            bail!("Instruments runs on macOS only; on Linux use --tool heaptrack or --tool massif")
        }
        MemoryTool::Instruments => tools.xctrace.path().map(|_| Profiler::Instruments),
        MemoryTool::Auto => match tools.platform {
            Platform::Macos => tools.xctrace.path().map(|_| Profiler::Instruments),
            _ => {
                if heaptrack_ready().is_ok() {
                    Ok(Profiler::Heaptrack)
                } else if tools.valgrind.usable() {
                    Ok(Profiler::Massif)
                } else {
                    bail!(
                        "no heap profiler found: {}\n  or {}",
                        tools
                            .heaptrack
                            .fix
                            .as_deref()
                            .unwrap_or("install heaptrack"),
                        tools.valgrind.fix.as_deref().unwrap_or("install valgrind")
                    )
                }
            }
        },
    }
}

/// Runs the workload under `profiler` and writes the memory files into `dir`.
pub fn profile(
    prepared: &Prepared,
    tools: &Toolbox,
    profiler: Profiler,
    dir: &Path,
    top: usize,
) -> anyhow::Result<MemoryReport> {
    eprintln!(
        "{}: running {} under it ({} slower than a bare run)",
        profiler.name(),
        prepared.name,
        profiler.slowdown()
    );
    let mut report = match profiler {
        Profiler::Heaptrack => with_heaptrack(prepared, tools, dir, top)?,
        Profiler::Massif => with_massif(prepared, tools, dir, top)?,
        Profiler::Instruments => with_instruments(prepared, tools, dir)?,
    };
    if let Some(allocator) = custom_allocator(&prepared.program) {
        eprintln!("note: {allocator}");
        report.notes.push(allocator);
    }
    Ok(report)
}

/// The workload's argv with `wrapper` in front (heaptrack, valgrind, ...).
fn wrapped(prepared: &Prepared, argv: Vec<OsString>, profiler: Profiler) -> Spec {
    let mut spec = prepared.spec();
    let mut argv = argv.into_iter();
    spec.program = argv.next().map(PathBuf::from).unwrap_or_default();
    spec.args = argv.collect();
    spec.timeout = Some(prepared.timeout.saturating_mul(profiler.timeout_factor()));
    spec
}

fn string_args(prepared: &Prepared) -> Vec<String> {
    prepared
        .args
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

/// The profiler process that a profiled run starts (the workload runs
/// under it): how its own death is told from the workload's, and what it
/// leaves behind when it is killed.
struct Wrapper<'a> {
    /// How messages name it.
    name: &'static str,
    /// Whether its death by a signal is its workload's fatal signal, passed
    /// on. The heaptrack script never passes one on (it exits 128+N).
    passed_on: Box<dyn Fn(&process::Outcome) -> bool + 'a>,
    /// Removes what it leaves behind when killed, given its pid.
    leftovers: fn(i32),
}

/// What valgrind prints when its guest dies of a catchable signal, before
/// it ends with that signal.
const VALGRIND_GUEST_SIGNAL: &str = "Process terminating with default action of signal";

fn heaptrack_wrapper() -> Wrapper<'static> {
    Wrapper {
        name: "heaptrack",
        passed_on: Box::new(|_| false),
        leftovers: heaptrack::remove_fifo,
    }
}

/// valgrind ends with its guest's fatal signal after finishing its work:
/// it says so for a catchable signal, and for any signal (a guest's
/// `kill -9 $$` too) its tool's report, written at the end, is complete
/// (`report` ends with `complete`). Killed itself, it writes neither.
fn valgrind_wrapper<'a>(report: &'a Path, complete: &'static str) -> Wrapper<'a> {
    Wrapper {
        name: "valgrind",
        passed_on: Box::new(move |outcome| {
            outcome
                .watched
                .iter()
                .any(|line| line.contains(VALGRIND_GUEST_SIGNAL))
                || std::fs::read_to_string(report)
                    .is_ok_and(|text| !text.is_empty() && text.trim_end().ends_with(complete))
        }),
        leftovers: |_| {},
    }
}

/// xctrace's death cannot be told from its workload's here: reported as the
/// workload's, as before.
fn xctrace_wrapper() -> Wrapper<'static> {
    Wrapper {
        name: "xctrace",
        passed_on: Box::new(|_| true),
        leftovers: |_| {},
    }
}

/// Runs a profiled workload; a failure says plainly what it costs, when
/// `consequence` finds that it cost something (a workload that merely exits
/// 3 has not lost the profiler's data, and is not told it has), and names
/// the profiler when it was the profiler that was killed.
fn run_profiled(
    mut spec: Spec,
    wrapper: &Wrapper<'_>,
    what: &str,
    consequence: &dyn Fn(&process::Outcome) -> Option<String>,
) -> anyhow::Result<process::Outcome> {
    let command = spec.display();
    let timeout = spec.timeout;
    spec.watch.push(VALGRIND_GUEST_SIGNAL.into());
    let spinner = Progress::spinner(what);
    let running = process::start(spec)?;
    let pid = running.pid;
    let outcome = running.wait();
    (wrapper.leftovers)(pid);
    spinner.finish();
    let passed_on = (wrapper.passed_on)(&outcome);
    if let Some(killed) =
        crate::runs::measure::profiler_killed(wrapper.name, &command, &outcome, passed_on)
    {
        return Err(killed.into());
    }
    if !outcome.success() {
        let what = match consequence(&outcome) {
            Some(consequence) => format!("{} ({consequence})", outcome.describe(timeout)),
            None => outcome.describe(timeout),
        };
        return Err(RunFailure {
            command,
            what,
            tail: outcome.tail(),
        }
        .into());
    }
    Ok(outcome)
}

/// What a valgrind tool loses when the run was killed (by a signal or the
/// timeout): everything, since it writes its report at exit.
fn when_killed(consequence: &'static str) -> impl Fn(&process::Outcome) -> Option<String> {
    move |outcome| {
        use std::os::unix::process::ExitStatusExt as _;
        (outcome.timed_out || outcome.status.signal().is_some()).then(|| consequence.to_string())
    }
}

fn with_heaptrack(
    prepared: &Prepared,
    tools: &Toolbox,
    dir: &Path,
    top: usize,
) -> anyhow::Result<MemoryReport> {
    let heaptrack_path = tools.heaptrack.path()?;
    let base = dir.join("heaptrack");
    let mut spec = wrapped(
        prepared,
        heaptrack::record_command(
            heaptrack_path,
            &base,
            &prepared.program,
            &string_args(prepared),
        ),
        Profiler::Heaptrack,
    );
    spec.watch
        .push("heaptrack output will be written to".into());
    spec.watch
        .extend(heaptrack::DATA_LOSS_MARKERS.iter().map(|m| m.to_string()));
    let what = format!("heaptrack {}", prepared.name);
    let outcome = run_profiled(spec, &heaptrack_wrapper(), &what, &|outcome| {
        heaptrack::data_loss(&outcome.watched)
            .map(|line| format!("heaptrack lost data: it said \"{line}\""))
    })?;
    let data = heaptrack_data(&outcome, &base)?;
    heaptrack_report(tools, &data, dir, top, None)
}

/// The data file heaptrack wrote: it picks .zst or .gz depending on how it
/// was built; ask it, then look.
fn heaptrack_data(outcome: &process::Outcome, base: &Path) -> anyhow::Result<PathBuf> {
    heaptrack::output_from_log(&outcome.watched.join("\n"))
        .filter(|p| p.is_file())
        .or_else(|| heaptrack::find_output(base))
        .with_context(|| format!("heaptrack wrote no data file next to {}", base.display()))
}

/// heaptrack_print's numbers, the memory folded stacks of `data` and, with
/// `timeline`, the heap over time written there, all from one heaptrack_print
/// pass (each pass decompresses and replays the whole recording); the
/// allocations by function are read from `data` meanwhile, beside it.
fn heaptrack_report(
    tools: &Toolbox,
    data: &Path,
    dir: &Path,
    top: usize,
    timeline: Option<&Path>,
) -> anyhow::Result<MemoryReport> {
    let print_path = tools.heaptrack_print.path()?;
    let text_path = dir.join("heaptrack.txt");
    let raw_folded = dir.join("heaptrack.flamegraph.txt");
    let files = heaptrack::PrintFiles {
        peak_stacks: &raw_folded,
        timeline,
    };
    let printing = Capture::start(
        &heaptrack::print_command(print_path, data, &files),
        &text_path,
    )?;
    let allocations = allocations::read_heaptrack_data(data);
    printing.finish()?;
    let text = std::fs::read_to_string(&text_path)?;
    let parsed = heaptrack::parse_print(&text, top)
        .with_context(|| format!("reading {}", text_path.display()))?;
    let mut report = parsed.to_report();
    allocations::add_allocations(&mut report, allocations, top);

    let folded =
        heaptrack::parse_flamegraph(&std::fs::read_to_string(&raw_folded).unwrap_or_default());
    std::fs::write(dir.join(FOLDED), folded)?;
    let _ = std::fs::remove_file(&raw_folded);
    report.raw_files = vec![file_name(data), "heaptrack.txt".into()];
    Ok(report)
}

fn with_massif(
    prepared: &Prepared,
    tools: &Toolbox,
    dir: &Path,
    _top: usize,
) -> anyhow::Result<MemoryReport> {
    let valgrind = tools.valgrind.path()?;
    let out = dir.join("massif.out");
    let spec = wrapped(
        prepared,
        massif::record_command(valgrind, &out, &prepared.program, &string_args(prepared)),
        Profiler::Massif,
    );
    let outcome = run_profiled(
        spec,
        &valgrind_wrapper(&out, ""),
        &format!("massif {}", prepared.name),
        &when_killed("massif writes nothing for a killed run"),
    )?;
    let parsed = massif_report(tools, &out, dir)?;
    let mut report = parsed.to_report();
    report.runtime_s.get_or_insert(outcome.wall.as_secs_f64());
    report.raw_files = massif_files(tools, &out, dir);
    Ok(report)
}

/// massif.out read, and its peak folded into memory.folded.
fn massif_report(
    _tools: &Toolbox,
    out: &Path,
    dir: &Path,
) -> anyhow::Result<massif::MassifProfile> {
    let text = std::fs::read_to_string(out)
        .with_context(|| format!("massif wrote no {}", out.display()))?;
    let parsed = massif::parse(&text).with_context(|| format!("reading {}", out.display()))?;
    std::fs::write(dir.join(FOLDED), massif::peak_folded(&parsed))?;
    Ok(parsed)
}

/// massif.out, and ms_print's text graph, which valgrind users know how
/// to read, when ms_print is there.
fn massif_files(tools: &Toolbox, out: &Path, dir: &Path) -> Vec<String> {
    let mut files = vec!["massif.out".to_string()];
    if let Ok(ms_print) = tools.ms_print.path() {
        if capture_to_file(
            &massif::ms_print_command(ms_print, out),
            &dir.join("massif.ms_print.txt"),
        )
        .is_ok()
        {
            files.push("massif.ms_print.txt".into());
        }
    }
    files
}

fn with_instruments(
    prepared: &Prepared,
    tools: &Toolbox,
    dir: &Path,
) -> anyhow::Result<MemoryReport> {
    tools.xctrace.path()?;
    let args = string_args(prepared);
    let trace = dir.join("allocations.trace");
    // The trace is kept to open in Instruments; the numbers come from leaks and time -l.
    run_profiled(
        wrapped(
            prepared,
            instruments::xctrace_allocations_command(&trace, &prepared.program, &args),
            Profiler::Instruments,
        ),
        &xctrace_wrapper(),
        "xctrace Allocations",
        &|_| Some("the trace is incomplete".into()),
    )?;
    let leaks_text = dir.join("leaks.txt");
    let leaks = wrapped(
        prepared,
        instruments::leaks_command(&prepared.program, &args),
        Profiler::Instruments,
    );
    capture_to_file(
        &leaks
            .argv()
            .into_iter()
            .map(OsString::from)
            .collect::<Vec<_>>(),
        &leaks_text,
    )
    .ok();
    let mut report =
        instruments::parse_leaks(&std::fs::read_to_string(&leaks_text).unwrap_or_default())?
            .to_report();
    let time = wrapped(
        prepared,
        instruments::time_l_command(&prepared.program, &args),
        Profiler::Instruments,
    );
    let outcome = process::run(time)?;
    if let Ok(time) = instruments::parse_time_l(&outcome.stderr_tail.join("\n")) {
        report.fill_from(time.to_report());
    }
    report.raw_files = vec!["allocations.trace".into(), "leaks.txt".into()];
    Ok(report)
}

/// The memcheck leak check: definitely/indirectly/possibly lost, top stacks.
pub fn leak_check(
    prepared: &Prepared,
    tools: &Toolbox,
    dir: &Path,
    top: usize,
) -> anyhow::Result<LeakReport> {
    let valgrind = tools
        .valgrind
        .path()
        .context("the leak check needs valgrind's memcheck")?;
    let xml = dir.join("memcheck.xml");
    eprintln!(
        "memcheck: running {} under it (about 20-50x slower than a bare run)",
        prepared.name
    );
    // memcheck is as slow as massif: the same timeout factor.
    let spec = wrapped(
        prepared,
        memcheck::command(valgrind, &xml, &prepared.program, &string_args(prepared)),
        Profiler::Massif,
    );
    run_profiled(
        spec,
        &valgrind_wrapper(&xml, "</valgrindoutput>"),
        &format!("memcheck {}", prepared.name),
        &when_killed("memcheck reports nothing for a killed run"),
    )?;
    let text = std::fs::read_to_string(&xml)
        .with_context(|| format!("memcheck wrote no {}", xml.display()))?;
    memcheck::parse(&text, top).with_context(|| format!("reading {}", xml.display()))
}

/// Runs a tool with its stdout streamed into a file.
fn capture_to_file(argv: &[OsString], out: &Path) -> anyhow::Result<()> {
    Capture::start(argv, out)?.finish()
}

/// A tool running with its stdout streamed into a file by a thread of its
/// own, so that the caller can work meanwhile.
struct Capture {
    command: String,
    running: process::Running,
    copier: std::thread::JoinHandle<std::io::Result<u64>>,
    out: PathBuf,
}

impl Capture {
    fn start(argv: &[OsString], out: &Path) -> anyhow::Result<Capture> {
        let (program, args) = argv.split_first().context("empty command")?;
        let mut spec = Spec::new(program).args(args.to_vec());
        spec.stdout_raw = true;
        let command = spec.display();
        let mut file = std::fs::File::create(out)
            .with_context(|| format!("cannot write {}", out.display()))?;
        let mut running = process::start(spec)?;
        let mut stdout = running.stdout.take().context("no stdout")?;
        let copier = std::thread::spawn(move || std::io::copy(&mut stdout, &mut file));
        Ok(Capture {
            command,
            running,
            copier,
            out: out.to_path_buf(),
        })
    }

    /// Waits for the tool and its output's last byte.
    fn finish(self) -> anyhow::Result<()> {
        let copied = self
            .copier
            .join()
            .unwrap_or_else(|_| Err(std::io::Error::other("the copying thread panicked")));
        let outcome = self.running.wait();
        copied.with_context(|| format!("cannot write {}", self.out.display()))?;
        if !outcome.success() {
            bail!(
                "`{}` failed: {}\n{}",
                self.command,
                outcome.describe(None),
                outcome.tail()
            );
        }
        Ok(())
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// jemalloc and mimalloc bypass malloc, so heaptrack and massif cannot see
/// their allocations: say so instead of reporting a near-empty heap.
pub fn custom_allocator(executable: &Path) -> Option<String> {
    let bytes = std::fs::read(executable).ok()?;
    let has = |needle: &[u8]| memchr::memmem::find(&bytes, needle).is_some();
    let name = if has(b"_rjem_malloc") || has(b"je_malloc_conf") || has(b"tikv_jemalloc") {
        "jemalloc"
    } else if has(b"mi_malloc_aligned") || has(b"libmimalloc") {
        "mimalloc"
    } else {
        return None;
    };
    Some(format!(
        "the workload uses {name} as its global allocator: its allocations are invisible to heaptrack and massif \
         (build the profiled binary with the system allocator to see them)"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tools::Tool;

    fn tool(name: &'static str, present: bool) -> Tool {
        Tool {
            name,
            path: present.then(|| PathBuf::from(format!("/usr/bin/{name}"))),
            version: None,
            limitation: None,
            fix: Some(format!("sudo apt-get install -y {name}")),
        }
    }

    fn toolbox(heaptrack: bool, valgrind: bool) -> Toolbox {
        let mut tools = Toolbox::detect();
        tools.platform = Platform::Linux;
        tools.heaptrack = tool("heaptrack", heaptrack);
        tools.heaptrack_print = tool("heaptrack_print", heaptrack);
        tools.valgrind = tool("valgrind", valgrind);
        tools
    }

    #[test]
    fn auto_prefers_heaptrack_then_massif() {
        assert_eq!(
            choose(MemoryTool::Auto, &toolbox(true, true)).unwrap(),
            Profiler::Heaptrack
        );
        assert_eq!(
            choose(MemoryTool::Auto, &toolbox(false, true)).unwrap(),
            Profiler::Massif
        );
        let err = choose(MemoryTool::Auto, &toolbox(false, false))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("apt-get install -y heaptrack")
                && err.contains("apt-get install -y valgrind"),
            "{err}"
        );
    }

    #[test]
    fn an_explicit_missing_tool_is_an_error_not_a_switch() {
        let err = choose(MemoryTool::Heaptrack, &toolbox(false, true))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "heaptrack is not installed\n  install: sudo apt-get install -y heaptrack"
        );
        assert!(choose(MemoryTool::Massif, &toolbox(true, false)).is_err());
        assert!(choose(MemoryTool::Instruments, &toolbox(true, true))
            .unwrap_err()
            .to_string()
            .contains("macOS only"));
    }

    #[test]
    fn detects_a_custom_global_allocator() {
        let dir = std::env::temp_dir().join(format!("xtask-alloc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let je = dir.join("je");
        std::fs::write(&je, b"\x7fELF...._rjem_malloc\0").unwrap();
        let plain = dir.join("plain");
        std::fs::write(&plain, b"\x7fELF....malloc\0").unwrap();
        assert!(custom_allocator(&je).unwrap().contains("jemalloc"));
        assert!(custom_allocator(&plain).is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A profile reads heaptrack's data with one heaptrack_print pass: its
    /// text, its peak stacks and, for a server, its timeline; counted by a
    /// heaptrack_print that notes each run before it runs the real one.
    #[test]
    fn heaptrack_print_runs_once_per_profile() {
        let mut tools = Toolbox::detect();
        let (Ok(_), Ok(real)) = (tools.heaptrack.path(), tools.heaptrack_print.path()) else {
            crate::runs::build::skip_unless_ci("heaptrack");
            return;
        };
        let demo = crate::runs::build::demo_for_tests();
        let dir = std::env::temp_dir().join(format!("xtask-mem-passes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let passes = dir.join("passes");
        let counting = dir.join("heaptrack_print");
        std::fs::write(
            &counting,
            format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                passes.display(),
                real.display()
            ),
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&counting, std::fs::Permissions::from_mode(0o755)).unwrap();
        tools.heaptrack_print.path = Some(counting);
        let count = || std::fs::read_to_string(&passes).unwrap().lines().count();

        let args = ["generate", "--subs", "300", "--out", "/dev/null"];
        let prepared = Prepared::for_test(demo, &args, &dir);
        let report = profile(&prepared, &tools, Profiler::Heaptrack, &dir, 5).unwrap();
        assert_eq!(count(), 1, "heaptrack_print ran more than once");
        let calls = report.total_allocations.unwrap();
        assert!(calls > 1000, "{calls}");
        assert_eq!(report.allocations.as_ref().map(|a| a.calls), Some(calls));
        assert!(!report.peak_consumers.is_empty());
        let folded = std::fs::read_to_string(dir.join(FOLDED)).unwrap();
        assert!(folded.contains("cdr_demo::"), "{folded}");

        let data = heaptrack::find_output(&dir.join("heaptrack")).unwrap();
        let timeline = dir.join("heaptrack.massif");
        let again = heaptrack_report(&tools, &data, &dir, 5, Some(&timeline)).unwrap();
        assert_eq!(count(), 2, "the timeline took a pass of its own");
        assert_eq!(again.total_allocations, Some(calls));
        let timeline = heaptrack::parse_timeline(&std::fs::read_to_string(&timeline).unwrap());
        assert!(!timeline.unwrap().is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn shell(script: &str) -> Prepared {
        Prepared {
            timeout: std::time::Duration::from_secs(10),
            ..Prepared::for_test("sh", &["-c", script], &std::env::temp_dir())
        }
    }

    /// A workload that exits 3 under heaptrack or massif is reported as
    /// such: the profiler recorded it in full, so no data-loss hint; only a
    /// killed run under massif (which writes at exit) is told it lost it.
    #[test]
    fn a_failed_workload_is_told_of_data_loss_only_when_there_was_some() {
        let tools = Toolbox::detect();
        let dir = std::env::temp_dir().join(format!("xtask-memfail-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let failure = |profiler: Profiler, script: &str| -> String {
            let err = profile(&shell(script), &tools, profiler, &dir, 5).unwrap_err();
            format!("{err:#}")
        };
        let mut ran = 0;
        if tools.heaptrack.path().is_ok() && tools.heaptrack_print.path().is_ok() {
            let err = failure(Profiler::Heaptrack, "exit 3");
            assert!(err.contains("exit status 3"), "{err}");
            assert!(!err.contains("lost") && !err.contains("lose"), "{err}");
            ran += 1;
        }
        if tools.valgrind.path().is_ok() {
            let err = failure(Profiler::Massif, "exit 3");
            assert!(
                err.contains("exit status 3") && !err.contains("writes nothing"),
                "{err}"
            );
            let err = failure(Profiler::Massif, "kill -9 $$");
            assert!(
                err.contains("killed by signal 9 (SIGKILL)")
                    && err.contains("(massif writes nothing for a killed run)"),
                "{err}"
            );
            ran += 1;
        }
        if ran < 2 && std::env::var_os("CI").is_some() {
            panic!("heaptrack and valgrind are needed for this test in CI");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
