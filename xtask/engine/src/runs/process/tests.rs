//! The behaviour of a run as a workload sees it: status, output, timeouts,
//! stops, and what is left behind.

use super::output::{text_of, Captured, OutputLines, LINE_LIMIT, TAIL_LINES, WATCHED_LIMIT};
use super::signals::signal_group;
use super::*;
use std::process::Command;
use std::sync::{mpsc, Condvar, Mutex};
use std::time::{Duration, Instant};

fn sh(script: &str) -> Spec {
    Spec::new("/bin/sh").arg("-c").arg(script)
}

/// A capability's bit in a `/proc/PID/status` mask line (`CapBnd:\t…`).
fn has_capability(status: &str, line: &str, capability: u32) -> bool {
    let mask = status
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .map(|m| u64::from_str_radix(m.trim(), 16).unwrap())
        .unwrap();
    mask & (1 << capability) != 0
}

/// A dropped capability is gone from the child's bounding set, and from
/// what the child starts in turn; root can drop it (CAP_SETPCAP).
#[test]
fn drops_capabilities_for_the_child_and_what_it_starts() {
    const CAP_SYSLOG: u32 = 34;
    let ours = std::fs::read_to_string("/proc/self/status").unwrap();
    let mut spec = sh("sh -c 'cat /proc/self/status'");
    spec.watch = vec!["Cap".into()];
    let kept = run(spec.clone()).unwrap().watched.join("\n");
    spec.drop_capabilities = &[CAP_SYSLOG];
    let dropped = run(spec).unwrap().watched.join("\n");
    assert!(
        has_capability(&kept, "CapBnd:", CAP_SYSLOG)
            == has_capability(&ours, "CapBnd:", CAP_SYSLOG)
    );
    if has_capability(&ours, "CapEff:", 8) && has_capability(&ours, "CapBnd:", CAP_SYSLOG) {
        assert!(
            !has_capability(&dropped, "CapBnd:", CAP_SYSLOG),
            "{dropped}"
        );
        assert!(
            !has_capability(&dropped, "CapEff:", CAP_SYSLOG),
            "{dropped}"
        );
        // The others stay.
        assert!(has_capability(&dropped, "CapEff:", 8), "{dropped}");
    } else {
        assert_eq!(kept, dropped, "without CAP_SETPCAP nothing changes");
    }
}

/// A child that only answers through our pipe gets no death signal
/// (and so starts by posix_spawn, not fork); every other child dies
/// with us (SIGKILL).
#[test]
fn only_answering_children_go_without_a_death_signal() {
    let ask_death_signal = Spec::new("/usr/bin/env").args([
        "python3",
        "-c",
        "import ctypes; s = ctypes.c_int(); \
         ctypes.CDLL(None).prctl(2, ctypes.byref(s), 0, 0, 0); print(f'PDEATHSIG={s.value}')",
    ]);
    // stdout_of's children answer only.
    let answer = stdout_of(ask_death_signal.clone()).unwrap();
    assert_eq!(answer.trim(), "PDEATHSIG=0");
    let mut spec = ask_death_signal;
    spec.watch = vec!["PDEATHSIG".into()];
    assert_eq!(run(spec).unwrap().watched, ["PDEATHSIG=9"]);
}

#[test]
fn captures_status_tail_and_watched_lines() {
    let mut spec = sh("echo hello; echo 'METRICS x=3' ; echo oops >&2; exit 3");
    spec.watch = vec!["METRICS".into()];
    let outcome = run(spec).unwrap();
    assert_eq!(outcome.status.code(), Some(3));
    assert!(!outcome.success());
    assert_eq!(outcome.watched, vec!["METRICS x=3"]);
    assert_eq!(outcome.stderr_tail, vec!["oops"]);
    assert_eq!(outcome.describe(None), "exit status 3");
}

#[test]
fn measures_cpu_time_and_rss_of_the_child() {
    // Allocate ~64 MB and touch it, then spin the CPU a little.
    let spec = Spec::new("/usr/bin/env").args([
        "python3",
        "-c",
        "b = bytearray(64*1024*1024)\nx = 0\nfor i in range(2_000_000): x += i",
    ]);
    let outcome = run(spec).unwrap();
    assert!(outcome.success(), "{}", outcome.tail());
    assert!(
        outcome.max_rss_bytes > 60 * 1024 * 1024,
        "{}",
        outcome.max_rss_bytes
    );
    assert!(outcome.user > Duration::from_millis(20));
    assert!(outcome.wall >= outcome.user / 2);
}

#[test]
fn timeout_kills_the_whole_process_group() {
    // The shell starts a grandchild that would outlive a plain kill of the shell.
    // A sleep duration no other process uses marks the grandchildren.
    let marker = format!("sleep 9{}.75", std::process::id() % 100_000);
    let mut spec = sh(&format!("{marker} & {marker}"));
    spec.timeout = Some(Duration::from_millis(300));
    let outcome = run(spec).unwrap();
    assert!(outcome.timed_out);
    assert!(outcome
        .describe(Some(Duration::from_millis(300)))
        .starts_with("timed out"));
    std::thread::sleep(Duration::from_millis(100));
    let survivors = Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .unwrap();
    assert!(survivors.stdout.is_empty(), "orphans: {:?}", survivors);
}

#[test]
fn waits_for_a_readiness_line() {
    // The shell stops on its own trap, not through its child: a SIGINT
    // that reaches a forked child before it execs `sleep` is caught by
    // the shell's handler it inherited, and lost at the exec (the shell
    // would then wait out a long sleep and need SIGTERM, which made this
    // test fail under load).
    let mut spec =
        sh("trap 'exit 0' INT; sleep 0.1; echo 'listening on 1'; while :; do sleep 0.05; done");
    spec.watch = vec!["listening".into()];
    let running = start(spec).unwrap();
    assert!(running.wait_for_line("listening", Duration::from_secs(10)));
    // A long grace: under heavy load the shell may take seconds to run
    // its trap, and the stop returns as soon as it has.
    let outcome = running.stop(libc::SIGINT, Duration::from_secs(10));
    assert!(outcome.success(), "a child stopped on purpose succeeded");
    assert_eq!(outcome.stopped_with().as_deref(), Some("SIGINT"));
    assert!(!outcome.timed_out);
}

fn run_for(seconds: f64, grace_ms: u64) -> Option<RunFor> {
    Some(RunFor {
        duration: Duration::from_secs_f64(seconds),
        signal: libc::SIGINT,
        grace: Duration::from_millis(grace_ms),
    })
}

#[test]
fn run_for_stops_the_child_on_purpose_and_keeps_what_it_prints_on_exit() {
    // The shell's trap prints the metric when the stop signal arrives.
    let mut spec = sh(
        "trap 'echo METRICS loops=$n; exit 0' INT; n=0; while :; do n=$((n+1)); sleep 0.01; done",
    );
    spec.watch = vec!["METRICS".into()];
    spec.run_for = run_for(0.4, 10_000);
    let started = Instant::now();
    let outcome = run(spec).unwrap();
    assert!(outcome.success(), "{}", outcome.describe(None));
    assert_eq!(outcome.stopped_with().as_deref(), Some("SIGINT"));
    assert!(
        outcome.wall >= Duration::from_millis(400),
        "{:?}",
        outcome.wall
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    assert_eq!(outcome.watched.len(), 1, "{:?}", outcome.watched);
    assert!(outcome.watched[0].starts_with("METRICS loops="));
    assert!(outcome
        .describe(None)
        .starts_with("stopped on purpose after 0."));
}

#[test]
fn a_child_that_ignores_the_stop_signal_gets_sigterm_then_sigkill() {
    let mut spec = sh("trap '' INT; while :; do sleep 0.01; done");
    spec.run_for = run_for(0.2, 300);
    let outcome = run(spec).unwrap();
    assert_eq!(outcome.stopped_with().as_deref(), Some("SIGINT, SIGTERM"));
    let mut spec = sh("trap '' INT TERM; while :; do sleep 0.01; done");
    spec.run_for = run_for(0.2, 300);
    let outcome = run(spec).unwrap();
    assert_eq!(
        outcome.stopped_with().as_deref(),
        Some("SIGINT, SIGTERM, SIGKILL")
    );
    assert!(outcome.success());
}

#[test]
fn a_child_that_ended_before_it_was_stopped_keeps_its_own_status() {
    let running = start(sh("exit 7")).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    let outcome = running.stop(libc::SIGINT, Duration::from_secs(1));
    assert_eq!(outcome.status.code(), Some(7));
    assert!(outcome.stopped.is_none() && !outcome.success());
    assert_eq!(outcome.describe(None), "exit status 7");
}

/// A child killed from outside just before it is stopped (its waiter
/// may not have reported it yet) is said to be killed, not stopped.
#[test]
fn a_child_killed_from_outside_is_not_stopped_on_purpose() {
    for _ in 0..20 {
        let running = start(sh("while :; do sleep 0.01; done")).unwrap();
        signal_group(running.pid, libc::SIGKILL);
        while running.is_running() {
            std::thread::sleep(Duration::from_millis(1));
        }
        let outcome = running.stop(libc::SIGINT, Duration::from_secs(1));
        assert!(outcome.stopped.is_none(), "{}", outcome.describe(None));
        assert_eq!(
            outcome.describe(None),
            "killed by signal 9 (SIGKILL), which the xtask did not send"
        );
    }
}

#[test]
fn a_child_that_ends_before_its_run_for_is_an_ordinary_run() {
    let mut spec = sh("exit 4");
    spec.run_for = run_for(5.0, 300);
    let outcome = run(spec).unwrap();
    assert_eq!(outcome.status.code(), Some(4));
    assert!(outcome.stopped.is_none() && !outcome.success());
}

/// A descendant that left the child's group (`setsid`) but holds its
/// output open does not keep the run waiting: once the child has ended
/// it is stopped, and the run ends with what the child printed.
#[test]
fn a_descendant_holding_the_output_does_not_hold_up_the_run() {
    let marker = format!("sleep 5{}.375", std::process::id() % 100_000);
    let mut spec = sh(&format!("setsid {marker} & echo ops=1"));
    spec.watch = vec!["ops=".into()];
    let (sender, received) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = sender.send(run(spec));
    });
    let outcome = received
        .recv_timeout(Duration::from_secs(20))
        .expect("the run waited on its descendant's output")
        .unwrap();
    assert!(outcome.success(), "{}", outcome.describe(None));
    assert_eq!(outcome.watched, ["ops=1"]);
    let survivors = Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .unwrap();
    assert!(survivors.stdout.is_empty(), "orphans: {:?}", survivors);
}

/// One endless line is read to its end but kept only up to the limit,
/// and the lines after it are read as usual.
#[test]
fn an_endless_line_is_cut_and_the_next_lines_are_read() {
    let mut spec = sh("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo ops=7");
    spec.watch = vec!["ops=".into(), "xxx".into()];
    let outcome = run(spec).unwrap();
    assert!(outcome.success(), "{}", outcome.tail());
    assert_eq!(outcome.watched.len(), 2, "{:?}", outcome.watched.len());
    assert_eq!(outcome.watched[0].len(), LINE_LIMIT);
    assert_eq!(outcome.watched[1], "ops=7");
}

/// However the stream is cut into chunks, the lines found are those of
/// splitting the whole text at its newlines.
#[test]
fn output_lines_do_not_depend_on_how_the_stream_is_chunked() {
    let long = "y".repeat(LINE_LIMIT + 10);
    let mut text = String::new();
    for i in 0..120 {
        text.push_str(&format!("line {i} ops={i}\r\n"));
        if i % 17 == 0 {
            text.push('\n');
            text.push_str(&long);
            text.push_str(" ops=long\n");
        }
    }
    text.push_str("last ops=end");
    let expected: Vec<String> = text.split('\n').map(|l| text_of(l.as_bytes())).collect();
    let watched: Vec<String> = expected
        .iter()
        .filter(|l| l.contains("ops="))
        .cloned()
        .collect();
    let tail: Vec<String> = expected[expected.len() - TAIL_LINES..].to_vec();
    for size in [1, 2, 3, 7, 64, 1000, text.len()] {
        let captured = (Mutex::new(Captured::default()), Condvar::new());
        let mut lines = OutputLines::new(&["ops=".to_string()]);
        for chunk in text.as_bytes().chunks(size) {
            lines.feed(chunk);
            lines.publish(true, &captured);
        }
        lines.end();
        lines.publish(true, &captured);
        let captured = captured.0.into_inner().unwrap();
        assert_eq!(Vec::from(captured.watched), watched, "chunks of {size}");
        assert_eq!(Vec::from(captured.stdout_tail), tail, "chunks of {size}");
    }
}

/// Watched lines beyond the byte limit drop the oldest: the last value
/// of a metric printed for ever is still there.
#[test]
fn watched_lines_keep_the_newest_within_their_limit() {
    let mut spec = sh("seq 1 600000 | sed 's/^/ops=/'");
    spec.watch = vec!["ops=".into()];
    let outcome = run(spec).unwrap();
    let kept: usize = outcome.watched.iter().map(String::len).sum();
    assert!(kept <= WATCHED_LIMIT, "{kept}");
    assert!(outcome.watched.len() > 1000);
    assert_ne!(outcome.watched[0], "ops=1", "the oldest lines go first");
    assert_eq!(
        outcome.watched.last().map(String::as_str),
        Some("ops=600000")
    );
}

#[test]
fn dropping_a_running_child_kills_its_group() {
    let marker = format!("sleep 6{}.125", std::process::id() % 100_000);
    let running = start(sh(&format!("{marker} & {marker}"))).unwrap();
    std::thread::sleep(Duration::from_millis(200));
    drop(running);
    std::thread::sleep(Duration::from_millis(200));
    let survivors = Command::new("pgrep")
        .args(["-f", &marker])
        .output()
        .unwrap();
    assert!(survivors.stdout.is_empty(), "orphans: {:?}", survivors);
}

#[test]
fn missing_program_is_a_clear_error() {
    let err = run(Spec::new("definitely-not-a-program-xyz")).unwrap_err();
    assert!(
        format!("{err:#}").contains("is it installed and on PATH?"),
        "{err:#}"
    );
}

#[test]
fn display_quotes_for_a_shell() {
    let spec = Spec::new("/bin/prog").args(["a b", "it's", "--x=1"]);
    assert_eq!(spec.display(), r"/bin/prog 'a b' 'it'\''s' --x=1");
}
