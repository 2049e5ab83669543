//! Off-CPU time with Linux `perf`: where threads block, and for how long.
//!
//! One `perf record` holds both the CPU samples and the scheduler's switches:
//! the `sched:sched_switch` tracepoint, sampled at every switch (period 1)
//! in which a thread blocks, fires in the thread that leaves the CPU, so its
//! call graph is the stack that blocks; `--switch-events` adds perf's own
//! records of the monitored threads leaving a CPU and coming back onto one
//! (`PERF_RECORD_SWITCH OUT`, `OUT preempt`, `IN`), which the tracepoint
//! cannot give for a per-process recording (the thread switched in is not
//! yet monitored when it fires). The blocked time of one switch is the time
//! from the switch-out to the same thread's next switch-in.
//!
//! A busy server switches tens of thousands of times a second, and each
//! stack perf copies is bytes perf record must write before its ring buffer
//! fills: so the tracepoint takes only blocking switches (a preempted
//! thread's stack says where it ran, which the CPU samples say already; its
//! time comes from the `OUT preempt` records), and copies a small stack
//! ([`SWITCH_STACK_BYTES`]), enough for a thread blocked in a syscall.
//!
//! This module gives the argv (derived from `perf`'s, so that its settings
//! stay one) and the events the recording holds; `perf_data` reads them.
//! Tests also read them from `perf script`'s text, as captured in fixtures.

use super::perf::Settings;
use crate::config::CallGraph;
use std::ffi::OsString;
#[cfg(test)]
use std::io::BufRead;
use std::path::Path;

/// The tracepoint recorded.
pub const EVENT: &str = "sched:sched_switch";

/// Stack bytes perf copies per blocking switch with dwarf call graphs, a
/// quarter of what a CPU sample copies: a thread blocks in a syscall, under
/// its event loop or its lock, shallower than where it computes (docs/tasks.md
/// has the completeness measured per size on a tokio server).
pub const SWITCH_STACK_BYTES: u32 = 4096;

/// The tracepoint's filter, in the kernel: switches in which the thread
/// blocks. `prev_state`'s low byte holds the sleeping states (S, D, ...);
/// it is 0 for a runnable thread, and a preempted one has only a higher bit.
pub const BLOCKING_ONLY: &str = "prev_state & 255";

/// perf record's option to run at real-time priority (`SCHED_FIFO`, the
/// lowest level), so that it drains its ring buffer when it has data even
/// on a machine whose CPUs are all busy: the switches come faster than the
/// CPU samples, and a reader that waits its turn behind the workload and
/// other programs loses them. perf sets it after it forks the workload,
/// which keeps its normal priority.
pub const REALTIME: [&str; 2] = ["--realtime", "1"];

/// Turns a `perf record` argv of `tools::perf` into one that also records
/// off-CPU time: `--freq F` becomes a per-event frequency on cpu-clock (a
/// global `--freq` would sample the tracepoint too, dropping most switches),
/// and `--all-user` becomes `:u` on cpu-clock plus user-only call chains (a
/// global `--all-user` excludes the kernel, where every tracepoint fires).
/// A `dummy` event comes first, so that perf makes it the one that carries
/// the switch records: each event's losses are then counted apart.
/// `realtime`: perf may run at real-time priority here ([`available`]).
pub fn record_args(perf_argv: Vec<OsString>, settings: &Settings, realtime: bool) -> Vec<OsString> {
    let user = if settings.kernel_frames { "" } else { "u" };
    let switches = match settings.call_graph {
        CallGraph::Dwarf => format!("{EVENT}/call-graph=dwarf,stack-size={SWITCH_STACK_BYTES}/"),
        _ => EVENT.to_string(),
    };
    let mut events: Vec<OsString> = vec![
        "--event".into(),
        if user.is_empty() {
            "dummy".into()
        } else {
            "dummy:u".into()
        },
        "--event".into(),
        format!("cpu-clock/freq={}/{user}", settings.frequency).into(),
        "--event".into(),
        switches.into(),
        "--filter".into(),
        BLOCKING_ONLY.into(),
        "--switch-events".into(),
    ];
    if realtime {
        events.extend(REALTIME.map(OsString::from));
    }
    let mut argv = Vec::with_capacity(perf_argv.len() + events.len());
    let mut inserted = false;
    let mut args = perf_argv.into_iter();
    while let Some(arg) = args.next() {
        if arg == "--freq" {
            args.next();
            argv.extend(events.iter().cloned());
            inserted = true;
        } else if arg == "--all-user" {
            argv.push("--user-callchains".into());
        } else {
            argv.push(arg);
        }
    }
    if !inserted {
        // No --freq to replace (perf's argv changed shape): add the events
        // before the workload's `--`, or at the end when attaching.
        let at = argv.iter().position(|a| a == "--").unwrap_or(argv.len());
        argv.splice(at..at, events);
    }
    argv
}

/// Whether this machine can record the tracepoint with its filter (a `perf
/// record` of `true`, ~0.1 s; doctor's probe), and at real-time priority
/// (`Ok(true)`; it needs root, CAP_SYS_NICE or an RLIMIT_RTPRIO, and a
/// cgroup that allows it), or why not and what to do.
pub fn available(perf: &Path) -> Result<bool, String> {
    let data = std::env::temp_dir().join(format!("xtask-offcpu-probe-{}.data", std::process::id()));
    let data_arg = data.to_string_lossy().into_owned();
    let probe = |realtime: bool| {
        let mut args = vec!["record"];
        if realtime {
            args.extend(REALTIME);
        }
        args.extend(["--event", EVENT, "--filter", BLOCKING_ONLY]);
        args.extend(["--output", &data_arg, "--", "true"]);
        let probed = super::probe(perf, &args);
        let _ = std::fs::remove_file(&data);
        probed
    };
    match probe(true) {
        Some(output) if output.status.success() => return Ok(true),
        None => return Err("perf could not be run".into()),
        Some(_) => {}
    }
    match probe(false) {
        Some(output) if output.status.success() => Ok(false),
        Some(output) => Err(diagnose_probe(&String::from_utf8_lossy(&output.stderr))),
        None => Err("perf could not be run".into()),
    }
}

/// Why the probe failed, and what to do, from perf's stderr.
pub fn diagnose_probe(stderr: &str) -> String {
    let lower = stderr.to_lowercase();
    let tracefs_refused = lower.contains("no permissions to read /sys/kernel/tracing");
    let fix = if tracefs_refused {
        // A user who is not root, with tracefs root's only (its default).
        super::perf_access::diagnose(stderr).unwrap_or_default()
    } else if lower.contains("tracefs") || lower.contains("unknown tracepoint") {
        "tracefs is not mounted or not readable: as root, `mount -t tracefs nodev /sys/kernel/tracing` (perf mounts it itself when run as root)".into()
    } else if lower.contains("permission")
        || lower.contains("paranoid")
        || lower.contains("access to performance monitoring")
    {
        "tracepoints need root, CAP_PERFMON, or `sudo sysctl kernel.perf_event_paranoid=-1` plus a readable /sys/kernel/tracing".into()
    } else {
        "perf cannot record sched:sched_switch here (see its message)".into()
    };
    format!("{fix}; perf said: {}", perf_says(stderr))
}

/// The line of perf's stderr that says what went wrong: its `Error:` line
/// (or the line after a bare `Error:`), else its first.
fn perf_says(stderr: &str) -> &str {
    let lines: Vec<&str> = stderr.lines().map(str::trim).collect();
    let error = lines.iter().enumerate().find_map(|(i, line)| {
        let rest = line.strip_prefix("Error:")?.trim();
        if rest.is_empty() {
            lines[i + 1..].iter().copied().find(|l| !l.is_empty())
        } else {
            Some(rest)
        }
    });
    error
        .or_else(|| lines.iter().copied().find(|l| !l.is_empty()))
        .unwrap_or("no message")
}

/// One scheduler event of a monitored thread, as `perf script` printed it.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The thread blocked (`sched:sched_switch`): the stack it blocked with.
    Blocks {
        tid: u32,
        time_ns: u64,
        /// The thread's name (`prev_comm`).
        comm: String,
        /// `prev_state`: `S` sleeping, `D` uninterruptible (disk), `X`/`Z`
        /// exiting, ...; `R`/`R+` (preempted) only in recordings made
        /// without the tracepoint's filter.
        state: String,
        /// Frames, leaf first: `sym` or `[dso]` when unknown.
        stack: Vec<String>,
    },
    /// The thread left the CPU (`PERF_RECORD_SWITCH OUT`); `preempted`
    /// while still runnable (`OUT preempt`).
    Out {
        tid: u32,
        time_ns: u64,
        preempted: bool,
    },
    /// The thread came back onto a CPU (`PERF_RECORD_SWITCH IN`).
    In { tid: u32, time_ns: u64 },
}

#[cfg(test)]
/// Parses `perf script` output of the switches (the fixtures' text,
/// `--fields trace:comm,tid,time,event,trace,ip,sym,dso --fields
/// sw:comm,tid,time,event --show-switch-events`), calling `on_event` for each
/// switch-out and switch-in; other lines (CPU samples, perf's warnings) are
/// skipped. Returns the lines that looked like an event but did not parse.
pub fn parse(input: impl BufRead, mut on_event: impl FnMut(Event)) -> std::io::Result<u64> {
    let mut unparsed = 0;
    let mut pending: Option<Event> = None;
    for line in input.lines() {
        let line = line?;
        if let Some(Event::Blocks { stack, .. }) = pending.as_mut() {
            // perf indents stack lines with a tab; records and headers with spaces.
            if line.starts_with('\t') {
                if let Some(f) = frame(&line) {
                    stack.push(f);
                }
                continue;
            }
            on_event(pending.take().expect("pending is Some"));
        }
        if line.trim().is_empty() {
            continue;
        }
        if let Some((head, record)) = line.split_once(": PERF_RECORD_SWITCH ") {
            let mut words = record.split_whitespace();
            match (header(head), words.next()) {
                (Some((tid, time_ns)), Some("IN")) => on_event(Event::In { tid, time_ns }),
                (Some((tid, time_ns)), Some("OUT")) => on_event(Event::Out {
                    tid,
                    time_ns,
                    preempted: words.next() == Some("preempt"),
                }),
                _ => unparsed += 1,
            }
        } else if let Some((head, trace)) = line.split_once(&format!(" {EVENT}: ")) {
            let fields = |name: &str| {
                trace
                    .split_whitespace()
                    .find_map(|f| f.strip_prefix(name))
                    .map(str::to_string)
            };
            // prev_comm may hold spaces: it runs up to ` prev_pid=`.
            let comm = trace
                .strip_prefix("prev_comm=")
                .and_then(|r| r.split(" prev_pid=").next())
                .map(str::to_string);
            match (header(head), comm, fields("prev_state=")) {
                (Some((tid, time_ns)), Some(comm), Some(state)) => {
                    pending = Some(Event::Blocks {
                        tid,
                        time_ns,
                        comm,
                        state,
                        stack: Vec::new(),
                    })
                }
                _ => unparsed += 1,
            }
        }
    }
    if let Some(event) = pending {
        on_event(event);
    }
    Ok(unparsed)
}

#[cfg(test)]
/// `COMM TID TIME` (COMM may hold spaces, or be `:TID` for a thread perf
/// attached to): the tid and the time in ns, read from the right.
fn header(head: &str) -> Option<(u32, u64)> {
    let mut words = head.split_whitespace().rev();
    let time = words.next()?.trim_end_matches(':');
    let tid = words.next()?.parse().ok()?;
    Some((tid, parse_time_ns(time)?))
}

#[cfg(test)]
/// `16853.822555` (seconds, perf prints µs or ns digits) in ns.
fn parse_time_ns(text: &str) -> Option<u64> {
    let (seconds, fraction) = text.split_once('.').unwrap_or((text, ""));
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let seconds: u64 = seconds.parse().ok()?;
    let fraction: u64 = format!("{fraction:0<9}").parse().ok()?;
    Some(seconds * 1_000_000_000 + fraction)
}

#[cfg(test)]
/// A stack line, `\t  10a974 __libc_recv (/usr/lib/.../libc.so.6)`: the
/// symbol, or `[file name]` of the object when perf has no symbol.
fn frame(line: &str) -> Option<String> {
    let line = line.trim();
    let (_address, rest) = line.split_once(' ')?;
    let rest = rest.trim_start();
    let (symbol, object) = match rest.rfind(" (") {
        Some(at) if rest.ends_with(')') => (&rest[..at], &rest[at + 2..rest.len() - 1]),
        _ => (rest, ""),
    };
    // `sym+0x1f` with symoff: the offset is not part of the name.
    let symbol = match symbol.rfind("+0x") {
        Some(at) if symbol[at + 3..].bytes().all(|b| b.is_ascii_hexdigit()) => &symbol[..at],
        _ => symbol,
    };
    if symbol != "[unknown]" && !symbol.is_empty() {
        return Some(symbol.to_string());
    }
    let file = object.rsplit('/').next().unwrap_or(object);
    Some(if file.is_empty() || file == "[unknown]" {
        "[unknown]".to_string()
    } else {
        format!("[{file}]")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::CallGraph;

    fn settings(kernel_frames: bool) -> Settings {
        Settings {
            frequency: 997,
            call_graph: CallGraph::Dwarf,
            inline_frames: false,
            kernel_frames,
            mmap_pages: Some(64),
        }
    }

    fn strings(argv: &[OsString]) -> Vec<String> {
        argv.iter().map(|a| a.to_string_lossy().into()).collect()
    }

    #[test]
    fn record_args_sample_blocking_switches_with_small_stacks_and_cpu_at_the_frequency() {
        let user_only = settings(false);
        let perf = crate::tools::perf::record_args(
            &user_only,
            Path::new("-"),
            Path::new("/bin/prog"),
            &["a b".into()],
        );
        let argv = strings(&record_args(perf, &user_only, false));
        assert!(!argv.contains(&"--freq".to_string()), "{argv:?}");
        assert!(!argv.contains(&"--all-user".to_string()), "{argv:?}");
        let joined = argv.join(" ");
        // The dummy first (it carries the switch records, its losses apart),
        // the switches' stacks 4 KiB where the CPU samples' are 16, and only
        // the switches in which a thread blocks.
        assert!(
            joined.contains(
                "--event dummy:u --event cpu-clock/freq=997/u \
                 --event sched:sched_switch/call-graph=dwarf,stack-size=4096/ \
                 --filter prev_state & 255 --switch-events --call-graph dwarf,16384"
            ),
            "{joined}"
        );
        assert!(joined.contains("--user-callchains"), "{joined}");
        assert!(!joined.contains("--realtime"), "{joined}");
        assert!(joined.ends_with("-- /bin/prog a b"), "{joined}");

        let attach = crate::tools::perf::attach_args(&settings(true), Path::new("d"), 42);
        let joined = strings(&record_args(attach, &settings(true), true)).join(" ");
        assert!(
            joined.contains("--event dummy --event cpu-clock/freq=997/ "),
            "{joined}"
        );
        assert!(joined.contains("--switch-events --realtime 1 "), "{joined}");
        assert!(joined.ends_with("--pid 42"), "{joined}");

        // Frame pointers: the switches unwind as the CPU samples do.
        let fp = Settings {
            call_graph: CallGraph::Fp,
            ..settings(false)
        };
        let perf = crate::tools::perf::attach_args(&fp, Path::new("d"), 42);
        let joined = strings(&record_args(perf, &fp, false)).join(" ");
        assert!(
            joined.contains("--event sched:sched_switch --filter"),
            "{joined}"
        );
    }

    /// A streamed recording with the tracepoint carries its formats as
    /// tracing data after a record; perf's stream counter must step over it
    /// (17 samples: `perf script` of this file shows 17 cpu-clock and switch samples).
    #[test]
    fn the_stream_counter_steps_over_tracing_data() {
        let counted =
            crate::tools::perf::count_records(&fixture("offcpu/pipe-with-tracepoint.perf.data"))
                .unwrap();
        assert_eq!(counted.error, None);
        assert_eq!(counted.samples, 17);
    }

    /// Real recordings with the argv of [`record_args`] through a ring
    /// buffer of 8 pages, which lost switches. `perf report --stats` of the
    /// file: cpu-clock 5 samples; sched:sched_switch 6 samples and 1
    /// LOST_SAMPLES. `perf report -D` of the stream: 4 samples of period
    /// 1003009 (cpu-clock), 2 of period 1 (the switches), and
    /// `PERF_RECORD_LOST_SAMPLES: id:6001: lost samples :1`, the tracepoint's.
    #[test]
    fn losses_are_counted_per_event_in_a_file_and_in_a_stream() {
        use crate::tools::perf_events::EventCount;
        let summary = |events: &[EventCount]| -> Vec<(&str, u64, u64)> {
            events
                .iter()
                .map(|e| {
                    let kind = if e.is_tracepoint() {
                        "switches"
                    } else if e.is_dummy() {
                        "dummy"
                    } else {
                        "cpu"
                    };
                    (kind, e.samples, e.lost)
                })
                .collect()
        };
        let file =
            crate::tools::perf::count_records(&fixture("offcpu/lossy-file.perf.data")).unwrap();
        assert_eq!(file.error, None);
        assert!(file.events.identified());
        assert_eq!(
            summary(&file.events.counts),
            [("dummy", 0, 0), ("cpu", 5, 0), ("switches", 6, 1)]
        );
        assert_eq!((file.samples, file.lost()), (11, 1));

        let data = std::fs::read(fixture("offcpu/lossy-pipe.perf.data")).unwrap();
        for chunk in [1, 7, 64, data.len()] {
            let mut stream = crate::tools::perf::StreamCounter::default();
            for piece in data.chunks(chunk) {
                stream.feed(piece);
            }
            assert_eq!(stream.error, None, "chunks of {chunk}");
            assert_eq!(
                summary(&stream.events.counts),
                [("dummy", 0, 0), ("cpu", 4, 0), ("switches", 2, 1)],
                "chunks of {chunk}"
            );
        }
    }

    /// A perf that cannot record the tracepoint (a script that answers as
    /// perf does without tracefs) is diagnosed with the fix.
    #[test]
    fn a_perf_without_tracefs_is_not_available() {
        let dir = std::env::temp_dir().join(format!("xtask-offcpu-fake-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let fake = dir.join("perf");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho \"event syntax error: 'sched:sched_switch'\" >&2\necho '  \\___ unknown tracepoint' >&2\nexit 129\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let why = available(&fake).unwrap_err();
        assert!(why.contains("mount -t tracefs"), "{why}");
        assert!(why.contains("event syntax error"), "{why}");
        std::fs::remove_dir_all(dir).unwrap();
    }

    /// A perf that may not run at real-time priority (as perf answers
    /// without CAP_SYS_NICE) records the switches at normal priority; one
    /// that may, at real-time priority.
    #[test]
    fn real_time_priority_is_used_where_perf_may_have_it() {
        let dir = std::env::temp_dir().join(format!("xtask-offcpu-rt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        use std::os::unix::fs::PermissionsExt;
        let fake = |name: &str, script: &str| {
            let path = dir.join(name);
            std::fs::write(&path, script).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
            path
        };
        let refused = fake(
            "perf-no-rt",
            "#!/bin/sh\nfor a; do [ \"$a\" = --realtime ] && \
             { echo 'Could not set realtime priority.' >&2; exit 255; }; done\nexit 0\n",
        );
        assert_eq!(available(&refused), Ok(false));
        let allowed = fake("perf-rt", "#!/bin/sh\nexit 0\n");
        assert_eq!(available(&allowed), Ok(true));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn diagnoses_a_missing_tracefs_and_permissions() {
        let missing = "event syntax error: 'sched:sched_switch'\n                     \\___ unknown tracepoint\n";
        assert!(diagnose_probe(missing).contains("mount -t tracefs"));
        let denied =
            "Error:\nAccess to performance monitoring and observability operations is limited.";
        assert!(diagnose_probe(denied).contains("perf_event_paranoid=-1"));
        assert!(diagnose_probe(denied).ends_with(
            "perf said: Access to performance monitoring and observability operations is limited."
        ));
    }

    /// perf run as a user who is not root, where tracefs is root's only:
    /// the fix names both what tracepoints need, and perf's own reason.
    #[test]
    fn diagnoses_a_tracefs_that_only_root_may_read() {
        let stderr = std::fs::read_to_string(fixture("offcpu/tracefs-denied-stderr.txt")).unwrap();
        let why = diagnose_probe(&stderr);
        assert!(
            why.contains("sudo sysctl kernel.perf_event_paranoid=-1"),
            "{why}"
        );
        assert!(
            why.ends_with(
                "perf said: No permissions to read /sys/kernel/tracing/events/sched/sched_switch"
            ),
            "{why}"
        );
    }

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name)
    }

    /// A real `perf script` of `sh -c 'sleep 0.2; ...'` recorded without
    /// the tracepoint's filter: sh waits for sleep, sleep sleeps.
    #[test]
    fn parses_a_real_script_of_a_sleeping_shell() {
        let file = std::fs::File::open(fixture("offcpu/sleep-script.txt")).unwrap();
        let mut events = Vec::new();
        let unparsed = parse(std::io::BufReader::new(file), |e| events.push(e)).unwrap();
        assert_eq!(unparsed, 0);
        let blocks: Vec<_> = events
            .iter()
            .filter_map(|e| match e {
                Event::Blocks {
                    comm, state, stack, ..
                } => Some((comm.as_str(), state.as_str(), stack)),
                _ => None,
            })
            .collect();
        let count = |wanted: fn(&Event) -> bool| events.iter().filter(|e| wanted(e)).count();
        let ins = count(|e| matches!(e, Event::In { .. }));
        let outs = count(|e| matches!(e, Event::Out { .. }));
        assert!(
            ins >= blocks.len() - 2,
            "{ins} ins for {} blocks",
            blocks.len()
        );
        assert_eq!(outs, blocks.len(), "every switch-out has its record");
        assert_eq!(
            count(|e| matches!(
                e,
                Event::Out {
                    preempted: true,
                    ..
                }
            )),
            1
        );
        // sleep blocks in clock_nanosleep, sh in wait4.
        assert!(blocks.iter().any(|(comm, state, stack)| *comm == "sleep"
            && *state == "S"
            && stack[0].contains("clock_nanosleep")));
        assert!(blocks
            .iter()
            .any(|(comm, _, stack)| *comm == "sh" && stack[0].contains("wait4")));
    }

    #[test]
    fn parses_an_attached_server_whose_comm_is_its_tid() {
        let text = "\
:23085 23085 16853.822625:   sched:sched_switch: prev_comm=cdr-demo x prev_pid=23085 prev_prio=120 prev_state=D ==> next_comm=lto cgu.11 next_pid=23040 next_prio=120
\t           fed0a fdatasync (/usr/lib/x86_64-linux-gnu/libc.so.6)
\t           541e8 <std::fs::File>::sync_data (/work/target/profiling/cdr-demo)
\t         bebc1ff [unknown] ([unknown])
\t           4780 [unknown] (/usr/bin/dash)

          :23085 23085 16853.822633: PERF_RECORD_SWITCH OUT        
          :23085 23085 16853.822634: PERF_RECORD_SWITCH OUT preempt
           sleep  6143 16184.603692: cpu-clock/freq=997/u: 
          :23085 23085 16853.8266: PERF_RECORD_SWITCH IN         
";
        let mut events = Vec::new();
        parse(text.as_bytes(), |e| events.push(e)).unwrap();
        assert_eq!(
            events,
            vec![
                Event::Blocks {
                    tid: 23085,
                    time_ns: 16_853_822_625_000,
                    comm: "cdr-demo x".into(),
                    state: "D".into(),
                    stack: vec![
                        "fdatasync".into(),
                        "<std::fs::File>::sync_data".into(),
                        "[unknown]".into(),
                        "[dash]".into()
                    ],
                },
                Event::Out {
                    tid: 23085,
                    time_ns: 16_853_822_633_000,
                    preempted: false,
                },
                Event::Out {
                    tid: 23085,
                    time_ns: 16_853_822_634_000,
                    preempted: true,
                },
                Event::In {
                    tid: 23085,
                    time_ns: 16_853_826_600_000
                },
            ]
        );
        assert_eq!(
            parse(
                " :1 1 1.0: PERF_RECORD_SWITCH SIDEWAYS\n".as_bytes(),
                |_| {}
            )
            .unwrap(),
            1
        );
    }
}
