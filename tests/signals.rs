//! SIGINT, SIGTERM and SIGHUP at every phase of a task, through the real
//! binary: building the workload (cargo), timed runs, perf record, the final
//! folding and SVG step, heaptrack and massif. Each case asserts exit status
//! 130, exactly one interrupted line naming the signal, no complete-looking
//! result, and no surviving process of the case, including one the workload
//! moved into a session of its own with `setsid`.
//!
//! Phases are hit by waiting for a file that the workload (or the build
//! script) writes from inside the phase, never by fixed sleeps: the file is
//! written by the `setsid` descendant itself, so it exists before the signal
//! is sent. The folding/SVG phase runs no child to write such a file: there a
//! `perf` wrapper first on PATH runs the real `perf script`, then stops the
//! xtask (SIGSTOP) just as its output ends; the signal is sent to the stopped
//! xtask and it is continued, so the signal lands in the in-process folding
//! and rendering, deterministically.

use crate::common;

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const SIGNALS: [(&str, i32); 3] = [
    ("SIGINT", libc::SIGINT),
    ("SIGTERM", libc::SIGTERM),
    ("SIGHUP", libc::SIGHUP),
];

/// One case's own directory (config, results, marker files); its name is
/// the tag that every process of the case carries in its command line.
struct Case {
    dir: PathBuf,
    /// `sleep` argument unique to the case: a surviving sleep is found by it.
    sleep: String,
}

impl Case {
    fn new(phase: &str, signal: &str) -> Case {
        let dir = std::env::temp_dir().join(format!(
            "xtask-signals-{phase}-{signal}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("results")).unwrap();
        let index = SIGNALS.iter().position(|(s, _)| *s == signal).unwrap();
        let phase_number: u32 = phase.bytes().map(u32::from).sum();
        Case {
            sleep: format!(
                "{}{}{}.5",
                700 + phase_number % 100,
                index,
                std::process::id()
            ),
            dir,
        }
    }

    fn marker(&self) -> PathBuf {
        self.dir.join("in-phase")
    }

    /// A shell command that starts a `setsid` descendant which writes the
    /// marker and sleeps, then sleeps itself.
    fn setsid_then_sleep(&self) -> String {
        format!(
            "setsid sh -c 'echo > {marker}; exec sleep {sleep}' & exec sleep {sleep}",
            marker = self.marker().display(),
            sleep = self.sleep
        )
    }

    /// profiling.toml with one `command = "sh"` workload running `script`.
    fn command_config(&self, script: &str) -> PathBuf {
        self.config(&format!(
            "[workloads.w]\ncommand = \"sh\"\nargs = [\"-c\", {script:?}]\n"
        ))
    }

    fn config(&self, workloads: &str) -> PathBuf {
        let path = self.dir.join("profiling.toml");
        let text = format!(
            "[defaults]\nworkload = \"w\"\nresults_dir = {:?}\ntimeout = 120\n\n{workloads}",
            self.dir.join("results").display().to_string()
        );
        std::fs::write(&path, text).unwrap();
        path
    }

    fn xtask(&self, config: &Path, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask-e2e"));
        command
            .arg("--config")
            .arg(config)
            .args(args)
            .current_dir(&self.dir)
            .env("CI", "1")
            .env("NO_COLOR", "1")
            .env_remove("GITHUB_STEP_SUMMARY")
            .stdin(Stdio::null())
            // Files, not pipes: a descendant that survives (the defect under
            // test) would hold a pipe open and hang the test.
            .stdout(std::fs::File::create(self.dir.join("stdout")).unwrap())
            .stderr(std::fs::File::create(self.dir.join("stderr")).unwrap());
        command
    }

    /// The xtask's exit status (None: still running after 30 s, then
    /// killed) and its output.
    fn finish(&self, mut child: Child) -> (Option<std::process::ExitStatus>, String) {
        let deadline = Instant::now() + Duration::from_secs(30);
        let signalled = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().unwrap() {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        let took = signalled.elapsed();
        let read = |name: &str| std::fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        let text = format!(
            "status: {status:?} after {took:?}\n--- stdout\n{}\n--- stderr\n{}",
            read("stdout"),
            read("stderr")
        );
        (status, text)
    }

    /// A name for the case's crate (build phase): cargo's command line
    /// carries it, so a surviving cargo is found by it.
    fn crate_name(&self) -> String {
        format!("slowbuild-{}", self.sleep.replace('.', "-"))
    }

    /// Waits until the marker exists; fails with the xtask's output if it
    /// ends first or the marker never comes.
    fn wait_for_marker(&self, mut child: Child) -> Child {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.marker().exists() {
            if child.try_wait().unwrap().is_some() {
                panic!(
                    "the xtask ended before the phase began:\n{}",
                    self.finish(child).1
                );
            }
            assert!(
                Instant::now() < deadline,
                "the phase never began ({} missing)",
                self.marker().display()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        child
    }

    /// What an interrupted task must leave: exit 130, one interrupted line,
    /// no complete-looking result, no process of the case alive. Returns the
    /// problems found (empty when none).
    fn check(&self, child: Child, signal: &str) -> Vec<String> {
        let mut problems = Vec::new();
        let signalled = Instant::now();
        let (status, output) = self.finish(child);
        // The xtask's watchdog exits 10 s after an interrupt that the task
        // did not notice; every phase must notice well before.
        if signalled.elapsed() > Duration::from_secs(8) {
            problems.push(format!(
                "took {:?} to exit: the phase did not notice the interrupt",
                signalled.elapsed()
            ));
        }
        let stderr = std::fs::read_to_string(self.dir.join("stderr")).unwrap_or_default();
        match status {
            None => problems.push("still running 30 s after the signal".into()),
            Some(status) if status.code() != Some(130) => problems.push(format!(
                "exit {:?} (signal {:?}), not 130",
                status.code(),
                status.signal()
            )),
            Some(_) => {}
        }
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.starts_with("interrupted"))
            .collect();
        if lines.len() != 1 || !lines[0].contains(signal) {
            problems.push(format!(
                "expected one interrupted line naming {signal}, got {lines:?}"
            ));
        }
        // A child that outlived our reading end used to complain about it
        // (cargo's "Broken pipe" after an interrupted build).
        if stderr.contains("Broken pipe") {
            problems.push(format!("a child complained of a broken pipe:\n{stderr}"));
        }
        let complete: Vec<String> = std::fs::read_dir(self.dir.join("results"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                !name.starts_with('.') && p.join("run.json").exists()
            })
            .map(|p| p.display().to_string())
            .collect();
        if !complete.is_empty() {
            problems.push(format!("complete-looking results left: {complete:?}"));
        }
        let leftovers = interrupted_leftovers(&self.dir.join("results"));
        if !leftovers.is_empty() {
            problems.push(format!("an interrupted run left: {leftovers:?}"));
        }
        let survivors = survivors(&[
            &self.sleep,
            &self.dir.display().to_string(),
            &self.crate_name(),
        ]);
        if !survivors.is_empty() {
            problems.push(format!("surviving processes: {survivors:?}"));
            for (pid, _) in &survivors {
                kill(*pid, libc::SIGKILL);
            }
        }
        if !problems.is_empty() {
            problems.push(output);
        }
        problems
    }
}

impl Drop for Case {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What an interrupted run must not leave in its results directory: a
/// `.failed-*` directory (an interrupt is no failure) or a `.tmp-*` one.
fn interrupted_leftovers(results: &Path) -> Vec<String> {
    std::fs::read_dir(results)
        .map(|read| {
            read.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(".failed-") || n.starts_with(".tmp-"))
                .collect()
        })
        .unwrap_or_default()
}

fn kill(pid: i32, signal: i32) {
    // SAFETY: kill has no memory-safety preconditions.
    unsafe {
        libc::kill(pid, signal);
    }
}

/// Live processes whose command line contains any of `needles`.
fn survivors(needles: &[&str]) -> Vec<(i32, String)> {
    let me = std::process::id() as i32;
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(|entry| {
            let pid: i32 = entry.ok()?.file_name().to_str()?.parse().ok()?;
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
            let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
            (pid != me && needles.iter().any(|n| cmdline.contains(n))).then_some((pid, cmdline))
        })
        .collect()
}

/// Runs `phase` once per signal: `start` starts the xtask for a case and
/// returns it once the phase has begun; `deliver` sends the signal.
fn each_signal(
    phase: &str,
    start: impl Fn(&Case) -> Child,
    deliver: impl Fn(&Case, &Child, i32),
) -> Vec<String> {
    let mut problems = Vec::new();
    for (name, number) in SIGNALS {
        let case = Case::new(phase, name);
        let child = start(&case);
        deliver(&case, &child, number);
        for problem in case.check(child, name) {
            problems.push(format!("{phase} / {name}: {problem}"));
        }
    }
    problems
}

fn send(_: &Case, child: &Child, signal: i32) {
    kill(child.id() as i32, signal);
}

fn assert_none(problems: Vec<String>) {
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn interrupts_while_cargo_builds_the_workload() {
    assert_none(each_signal(
        "build",
        |case| {
            // A crate whose build script starts a setsid descendant and then
            // takes its time: the interrupt lands while cargo builds.
            let project = case.dir.join("project");
            std::fs::create_dir_all(project.join("src")).unwrap();
            std::fs::write(
                project.join("Cargo.toml"),
                format!(
                    "[package]\nname = \"{}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n\
                     [workspace]\n\n[profile.profiling]\ninherits = \"release\"\ndebug = true\n",
                    case.crate_name()
                ),
            )
            .unwrap();
            std::fs::write(project.join("src/main.rs"), "fn main() {}\n").unwrap();
            std::fs::write(
                project.join("build.rs"),
                format!(
                    "fn main() {{\n    std::process::Command::new(\"setsid\")\n        \
                     .args([\"sh\", \"-c\", {script:?}])\n        .spawn()\n        .unwrap();\n    \
                     std::thread::sleep(std::time::Duration::from_secs(300));\n}}\n",
                    script = format!(
                        "echo > {}; sleep {}; true",
                        case.marker().display(),
                        case.sleep
                    )
                ),
            )
            .unwrap();
            let config = project.join("profiling.toml");
            std::fs::rename(
                case.config(&format!(
                    "[workloads.w]\ncargo_bin = {:?}\n",
                    case.crate_name()
                )),
                &config,
            )
            .unwrap();
            let child = case
                .xtask(&config, &["profile-baseline", "--no-profile"])
                .env("CARGO_TARGET_DIR", case.dir.join("target"))
                .spawn()
                .unwrap();
            case.wait_for_marker(child)
        },
        send,
    ));
}

#[test]
fn interrupts_timed_runs() {
    assert_none(each_signal(
        "timed",
        |case| {
            let config = case.command_config(&case.setsid_then_sleep());
            let args = [
                "profile-baseline",
                "--runs",
                "2",
                "--warmup",
                "0",
                "--no-profile",
            ];
            let child = case.xtask(&config, &args).spawn().unwrap();
            case.wait_for_marker(child)
        },
        send,
    ));
}

#[test]
fn interrupts_perf_record() {
    if !common::has_tool("perf") {
        eprintln!("note: perf is not installed; skipping");
        return;
    }
    assert_none(each_signal(
        "perf",
        |case| {
            let config = case.command_config(&case.setsid_then_sleep());
            let child = case.xtask(&config, &["flamegraph"]).spawn().unwrap();
            case.wait_for_marker(child)
        },
        send,
    ));
}

#[test]
fn interrupts_the_final_folding_and_svg_step() {
    if !common::has_tool("perf") {
        eprintln!("note: perf is not installed; skipping");
        return;
    }
    let real_perf = String::from_utf8(
        Command::new("sh")
            .args(["-c", "command -v perf"])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();
    assert_none(each_signal(
        "fold",
        |case| {
            // perf record's whole stream reaches the xtask, then the wrapper
            // stops the xtask before it exits: the xtask is left with only
            // its in-process work (the end of the folding, the SVG, the
            // top functions, the commit).
            let wrappers = case.dir.join("bin");
            std::fs::create_dir_all(&wrappers).unwrap();
            let wrapper = wrappers.join("perf");
            std::fs::write(
                &wrapper,
                format!(
                    "#!/bin/sh\nif [ \"$1\" = record ]; then\n  {real_perf} \"$@\"\n  status=$?\n  \
                     kill -STOP $PPID\n  echo $$ > {marker}.tmp\n  mv {marker}.tmp {marker}\n  exit $status\nfi\nexec {real_perf} \"$@\"\n",
                    marker = case.marker().display()
                ),
            )
            .unwrap();
            std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
            // Some samples to fold, and a setsid descendant still alive at the end.
            let script = format!(
                "setsid sleep {} & i=0; while [ $i -lt 100000 ]; do i=$((i+1)); done",
                case.sleep
            );
            let config = case.command_config(&script);
            let path = format!(
                "{}:{}",
                wrappers.display(),
                std::env::var("PATH").unwrap_or_default()
            );
            let child = case
                .xtask(&config, &["flamegraph"])
                .env("PATH", path)
                .spawn()
                .unwrap();
            case.wait_for_marker(child)
        },
        |case, child, signal| {
            // Once the wrapper has exited, the stopped xtask runs no child
            // at all. The signal waits for the xtask and lands as soon as it
            // continues, in its in-process work.
            let wrapper: i32 = std::fs::read_to_string(case.marker())
                .unwrap()
                .trim()
                .parse()
                .unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::fs::read_to_string(format!("/proc/{wrapper}/stat"))
                .is_ok_and(|stat| !stat.rsplit_once(')').unwrap().1.trim().starts_with('Z'))
            {
                assert!(Instant::now() < deadline, "the perf wrapper does not exit");
                std::thread::sleep(Duration::from_millis(5));
            }
            kill(child.id() as i32, signal);
            kill(child.id() as i32, libc::SIGCONT);
        },
    ));
}

#[test]
fn interrupts_heaptrack() {
    interrupts_memory_tool("heaptrack", ["heaptrack", "heaptrack_print"]);
}

#[test]
fn interrupts_massif() {
    interrupts_memory_tool("massif", ["valgrind", "ms_print"]);
}

/// `memory --tool TOOL` on a workload that starts a setsid descendant and
/// sleeps, interrupted once the workload runs.
fn interrupts_memory_tool(tool: &str, needs: [&str; 2]) {
    if !needs.iter().all(|program| common::has_tool(program)) {
        eprintln!("note: {} is not installed; skipping", needs[0]);
        return;
    }
    assert_none(each_signal(
        tool,
        |case| {
            let config = case.command_config(&case.setsid_then_sleep());
            let child = case
                .xtask(&config, &["memory", "--tool", tool])
                .spawn()
                .unwrap();
            case.wait_for_marker(child)
        },
        send,
    ));
}

/// Without any signal: a descendant that left its process group (`setsid`)
/// is stopped when the run that started it ends, with a warning naming it.
#[test]
fn a_setsid_descendant_does_not_outlive_its_run() {
    let case = Case::new("daemon", "SIGTERM");
    let script = format!(
        "setsid sh -c 'echo > {marker}; exec sleep {sleep}' & \
         while [ ! -e {marker} ]; do sleep 0.01; done",
        marker = case.marker().display(),
        sleep = case.sleep
    );
    let config = case.command_config(&script);
    let args = [
        "profile-baseline",
        "--runs",
        "2",
        "--warmup",
        "0",
        "--no-profile",
    ];
    let (status, output) = case.finish(case.xtask(&config, &args).spawn().unwrap());
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{output}");
    assert!(
        output.contains("warning: stopped 1 process(es) left running after"),
        "{output}"
    );
    let survivors = survivors(&[&case.sleep]);
    for (pid, _) in &survivors {
        kill(*pid, libc::SIGKILL);
    }
    assert!(survivors.is_empty(), "survivors {survivors:?}\n{output}");
}

/// The same workload under perf (flamegraph) and heaptrack (memory): each
/// profiled run ends when the workload's own process ends, stops what it
/// left behind, and keeps its result; no phase waits on the descendant that
/// still holds the workload's output.
#[test]
fn a_setsid_descendant_does_not_hold_up_a_profiled_run() {
    let case = Case::new("daemon-profiled", "SIGTERM");
    let script = format!(
        "setsid sh -c 'echo > {marker}; exec sleep {sleep}' & \
         while [ ! -e {marker} ]; do sleep 0.01; done; echo ops=1",
        marker = case.marker().display(),
        sleep = case.sleep
    );
    let config = case.command_config(&script);
    let mut tasks = vec![vec!["flamegraph"]];
    if which::which("heaptrack").is_ok() {
        tasks.push(vec!["memory", "--tool", "heaptrack"]);
    }
    for args in tasks {
        let _ = std::fs::remove_file(case.marker());
        let (status, output) = case.finish(case.xtask(&config, &args).spawn().unwrap());
        let survivors = survivors(&[&case.sleep]);
        for (pid, _) in &survivors {
            kill(*pid, libc::SIGKILL);
        }
        assert_eq!(status.and_then(|s| s.code()), Some(0), "{args:?}: {output}");
        assert!(
            output.contains("warning: stopped 1 process(es) left running after"),
            "{args:?}: {output}"
        );
        assert!(
            survivors.is_empty(),
            "{args:?}: survivors {survivors:?}\n{output}"
        );
    }
}

/// SIGKILL of the xtask itself runs no handler of ours: its watchdog then
/// stops the workload under perf stat and the workload's `setsid`
/// descendant, which no death signal reaches.
#[test]
fn a_killed_xtask_leaves_no_workload_behind() {
    let case = Case::new("killed", "SIGHUP");
    let config = case.command_config(&case.setsid_then_sleep());
    let args = ["profile-baseline", "--runs", "3", "--warmup", "0"];
    let child = case.wait_for_marker(case.xtask(&config, &args).spawn().unwrap());
    kill(child.id() as i32, libc::SIGKILL);
    let (_, output) = case.finish(child);
    let gone = common::gone_within(Duration::from_secs(10), &case.sleep);
    let left = survivors(&[&case.sleep]);
    for (pid, _) in &left {
        kill(*pid, libc::SIGKILL);
    }
    assert!(gone, "survivors {left:?}\n{output}");
}

/// A workload that prints 1 GB (half of it one line with no newline, half a
/// metric line printed two million times) leaves the xtask's own peak RSS
/// under 100 MB: its output is read as a stream, lines are cut, and only a
/// bounded tail and the newest watched lines are kept.
#[test]
fn a_gigabyte_of_output_keeps_the_xtask_small() {
    let case = Case::new("loud", "SIGTERM");
    let script = "head -c 500000000 /dev/zero; echo; \
                  yes \"ops=1 $(head -c 250 /dev/zero | tr '\\0' x)\" | head -c 500000000";
    let config = case.config(&format!(
        "[workloads.w]\ncommand = \"sh\"\nargs = [\"-c\", {script:?}]\n\n\
         [[workloads.w.metrics]]\nname = \"ops\"\npattern = \"ops={{}}\"\n"
    ));
    let args = [
        "profile-baseline",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--no-profile",
    ];
    let child = case.xtask(&config, &args).spawn().unwrap();
    let pid = child.id() as i32;
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    assert_eq!(waited, pid);
    drop(child);
    let read = |name: &str| std::fs::read_to_string(case.dir.join(name)).unwrap_or_default();
    let output = format!(
        "--- stdout\n{}\n--- stderr\n{}",
        read("stdout"),
        read("stderr")
    );
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{output}"
    );
    assert!(output.contains("| ops |"), "the metric is read: {output}");
    let peak_mb = usage.ru_maxrss as f64 / 1024.0;
    eprintln!("the xtask's peak RSS: {peak_mb:.1} MB");
    assert!(
        peak_mb < 100.0,
        "the xtask peaked at {peak_mb:.0} MB\n{output}"
    );
}

/// A full disk while perf.data is written (kept: perf's stream goes there as
/// it comes) is reported as such (file and OS error), not as the workload
/// dying of SIGPIPE; without perf.data, the first file that does not fit is
/// named. Needs a 64 KiB tmpfs, so root: skipped with a note otherwise.
#[test]
fn a_full_disk_while_perf_writes_is_named() {
    if !common::has_tool("perf") {
        eprintln!("note: perf is not installed; skipping");
        return;
    }
    let case = Case::new("fulldisk", "SIGTERM");
    let results = case.dir.join("results");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(&results)
        .output()
        .is_ok_and(|o| o.status.success());
    if !mounted {
        eprintln!("note: cannot mount a tmpfs here (not root?); skipping");
        return;
    }
    struct Unmount<'a>(&'a Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _unmount = Unmount(&results);
    let config = case.command_config("i=0; while [ $i -lt 300000 ]; do i=$((i+1)); done");
    let mut kept = case.xtask(&config, &["flamegraph", "--keep-perf-data"]);
    let (status, output) = case.finish(kept.spawn().unwrap());
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{output}");
    assert!(
        output.contains("perf.data: No space left on device"),
        "{output}"
    );
    assert!(!output.contains("signal 13"), "{output}");
    let (status, output) = case.finish(case.xtask(&config, &["flamegraph"]).spawn().unwrap());
    assert_eq!(status.and_then(|s| s.code()), Some(1), "{output}");
    assert!(output.contains(": No space left on device"), "{output}");
    assert!(!output.contains("signal 13"), "{output}");
}

/// Children start with no signal blocked or ignored, whatever the xtask does
/// with its own signals: perf must receive the SIGINT that makes it write
/// its data, a workload the SIGTERM that asks it to stop.
#[test]
fn children_start_with_default_signal_handling() {
    let case = Case::new("mask", "SIGINT");
    // python reports on itself: SIGHUP, SIGINT or SIGTERM blocked or
    // ignored (mask 0x4003) fails the run. (Other signals may come ignored
    // from whatever started the test.)
    let check = "import sys\n\
                 fields = dict(l.split(':', 1) for l in open('/proc/self/status'))\n\
                 sys.exit(any(int(fields[k], 16) & 0x4003 for k in ('SigBlk', 'SigIgn')))";
    let config = case.config(&format!(
        "[workloads.w]\ncommand = \"python3\"\nargs = [\"-c\", {check:?}]\n"
    ));
    let args = [
        "profile-baseline",
        "--runs",
        "1",
        "--warmup",
        "0",
        "--no-profile",
    ];
    let (status, output) = case.finish(case.xtask(&config, &args).spawn().unwrap());
    assert_eq!(status.and_then(|s| s.code()), Some(0), "{output}");
}

/// SIGTERM while `profile-compare --rev` times its runs: exit 130, and
/// neither a `.failed-*` result blaming the workload for the signal nor a
/// `.tmp-*` directory (a result being written, the revisions' scratch) is
/// left. The workload is the demo server, which runs until stopped: the
/// signal lands in side A's first timed run.
#[test]
fn an_interrupt_of_compare_rev_leaves_no_failed_or_temporary_directory() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let sandbox = common::Sandbox::new(
        "signals-rev",
        &format!("\n[workloads.forever]\ncargo_bin = \"cdr-demo\"\nargs = [\"serve\", \"--port\", \"{port}\"]\n"),
    );
    let output = std::env::temp_dir().join(format!("xtask-signals-rev-{}", std::process::id()));
    std::fs::create_dir_all(&output).unwrap();
    let mut child = sandbox
        .command(&[
            "profile-compare",
            "--rev",
            "HEAD",
            "--rev",
            "HEAD",
            "--workload",
            "forever",
            "--runs",
            "5",
            "--warmup",
            "1",
        ])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(output.join("stdout")).unwrap())
        .stderr(std::fs::File::create(output.join("stderr")).unwrap())
        .spawn()
        .unwrap();
    let read = |name: &str| std::fs::read_to_string(output.join(name)).unwrap_or_default();
    // Side A's executable, copied into the scratch directory, running.
    let running = format!("{}/", sandbox.results.display());
    let deadline = Instant::now() + Duration::from_secs(300);
    while survivors(&[&running])
        .iter()
        .all(|(_, cmdline)| !cmdline.contains("/bin-a/cdr-demo"))
    {
        if let Some(status) = child.try_wait().unwrap() {
            panic!(
                "the xtask ended ({status:?}) before its timed runs:\n{}",
                read("stderr")
            );
        }
        assert!(
            Instant::now() < deadline,
            "no timed run began:\n{}",
            read("stderr")
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    kill(child.id() as i32, libc::SIGTERM);
    let deadline = Instant::now() + Duration::from_secs(30);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("still running 30 s after SIGTERM:\n{}", read("stderr"));
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let stderr = read("stderr");
    let _ = std::fs::remove_dir_all(&output);
    assert_eq!(status.code(), Some(130), "{stderr}");
    assert!(!stderr.contains("the workload failed"), "{stderr}");
    let left = interrupted_leftovers(&sandbox.results);
    assert!(left.is_empty(), "left behind: {left:?}\n{stderr}");
    assert!(survivors(&[&running]).is_empty(), "a run survived");
}

/// A profiler killed by a signal the xtask did not send, while its workload
/// runs, is named as what died: not "the workload failed". heaptrack's
/// FIFO (`/tmp/heaptrack_fifo<PID>`, which its exit trap would remove) is
/// removed too.
#[test]
fn a_killed_profiler_is_named_and_heaptrack_leaves_no_fifo() {
    let cases: [(&str, &str, &[&str], &str); 3] = [
        ("perf", "perf record", &["flamegraph"], "perf record "),
        (
            "heaptrack",
            "heaptrack",
            &["memory", "--tool", "heaptrack"],
            "/usr/bin/heaptrack ",
        ),
        (
            "valgrind",
            "valgrind",
            &["memory", "--tool", "massif"],
            "valgrind.bin ",
        ),
    ];
    for (tool, name, args, process) in cases {
        if !common::has_tool(tool) {
            eprintln!("note: {tool} is not installed; skipping it");
            continue;
        }
        let case = Case::new(&format!("killed-{tool}"), "SIGINT");
        let config = case.command_config(&format!(
            "echo > {}; sleep {}; true",
            case.marker().display(),
            case.sleep
        ));
        let child = case.wait_for_marker(case.xtask(&config, args).spawn().unwrap());
        // The marker's path in its argv: this case's profiler, whatever
        // other cases run meanwhile.
        let marker = case.marker().display().to_string();
        let find = || -> Vec<i32> {
            survivors(&[&marker])
                .into_iter()
                .filter(|(_, cmdline)| cmdline.contains(process))
                .map(|(pid, _)| pid)
                .collect()
        };
        // The shell under valgrind forks before it execs `sleep`: for a
        // moment that child is valgrind's too.
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut profiler = find();
        while profiler.len() != 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            profiler = find();
        }
        assert_eq!(profiler.len(), 1, "{tool}: {profiler:?}");
        kill(profiler[0], libc::SIGKILL);
        let (status, output) = case.finish(child);
        assert_eq!(status.and_then(|s| s.code()), Some(1), "{output}");
        assert!(
            output.contains(&format!("{name} was killed by SIGKILL")),
            "{output}"
        );
        assert!(!output.contains("the workload failed"), "{output}");
        let fifo = format!("/tmp/heaptrack_fifo{}", profiler[0]);
        assert!(!Path::new(&fifo).exists(), "{fifo} is left");
    }
}
