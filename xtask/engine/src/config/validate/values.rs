//! The values the command line takes too, checked the same way there as
//! in the file: labels, perf events and sampling frequencies, stop signals
//! and run durations.

use crate::config::bounds;

/// The names by which results are referred to wherever a result is named
/// (`Store::resolve`): a result labelled so could never be named by its label.
pub(super) const RESERVED_LABELS: [&str; 2] = ["latest", "previous"];

/// Whether `name` can be part of a directory name: 1-64 letters, digits,
/// `-`, `_` or `.`, not starting with `.`.
pub(super) fn is_label_form(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
}

/// Checks a user-given label: it becomes part of a directory name, and
/// results are referred to by it.
pub fn validate_label(label: &str) -> anyhow::Result<()> {
    if !is_label_form(label) {
        anyhow::bail!(
            "invalid label `{label}`: use 1-64 letters, digits, `-`, `_` or `.` (no path separators, not starting with `.`)"
        );
    }
    if RESERVED_LABELS.contains(&label) {
        anyhow::bail!(
            "`{label}` cannot be a label: `latest` and `previous` are reserved, they name the newest result and the one before; choose another label"
        );
    }
    Ok(())
}

/// `--label LABEL` on the command line: [`validate_label`], before anything runs.
pub fn parse_label(text: &str) -> Result<String, String> {
    validate_label(text)
        .map(|()| text.to_string())
        .map_err(|e| e.to_string())
}

/// The highest perf sampling frequency the kernel accepts: its
/// `perf_event_max_sample_rate` (which it may lower itself when sampling
/// takes too long), else the kernel's default of 100000 Hz.
fn max_sample_rate() -> u32 {
    std::fs::read_to_string("/proc/sys/kernel/perf_event_max_sample_rate")
        .ok()
        .and_then(|text| text.trim().parse().ok())
        .filter(|hz| *hz > 0)
        .unwrap_or(100_000)
}

/// What `check_event` allows, for the errors' hint.
pub(super) const EVENT_FORM: &str = "allowed: one perf event per entry, as `perf list` names it: letters, digits, \
`-`, `_`, `.` and `:` (`page-faults`, `cache-misses`, `sched:sched_switch`, `cycles:u`, `r003c`), \
or a PMU event `PMU/TERM=VALUE,.../` (`cpu/event=0x3c,umask=0x0/`); several events are several entries";

/// A perf event of `defaults.events`, by its form: perf itself says at
/// run time whether it knows the event, but each entry must be one event
/// (one profiled run, one flamegraph) that perf cannot take for an option,
/// a list or a group.
pub(super) fn check_event(event: &str) -> Result<(), String> {
    let not = |why: &str| {
        Err(format!(
            "`{}` is not a perf event name: {why}",
            event.escape_debug()
        ))
    };
    if event.is_empty() {
        return not("it is empty");
    }
    if event.len() > 256 {
        return not("it is longer than 256 bytes");
    }
    if !event.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        return not("it must start with a letter or digit");
    }
    if let Some(bad) = event
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "-_.:/=,".contains(*c)))
    {
        return not(&format!("`{}` is not allowed in it", bad.escape_debug()));
    }
    // A PMU event is `pmu/terms/` with optional modifiers: its terms are
    // the only place a comma may stand.
    let slashes = event.matches('/').count();
    if slashes != 0 && slashes != 2 {
        return not("a PMU event is written `PMU/TERM=VALUE,.../`, with two `/`");
    }
    let outside_terms = if slashes == 2 {
        let (pmu, rest) = event.split_once('/').unwrap_or_default();
        let modifiers = rest.split_once('/').map_or("", |(_, m)| m);
        format!("{pmu}{modifiers}")
    } else {
        event.to_string()
    };
    if outside_terms.contains(',') || outside_terms.contains('=') {
        return not("one event per entry: write `[\"a\", \"b\"]`, not `[\"a,b\"]`");
    }
    Ok(())
}

/// A sampling frequency, in Hz, from 1 to the kernel's maximum: what is
/// wrong with it and the allowed range.
pub(super) fn check_frequency(hz: u32) -> Result<(), (String, String)> {
    let max = max_sample_rate();
    if hz == 0 || hz > max {
        return Err((
            format!("the sampling frequency must be from 1 to {max} Hz, not {hz}"),
            format!("allowed: 1 to {max} (kernel.perf_event_max_sample_rate); 997 is usual, 99 for long runs"),
        ));
    }
    Ok(())
}

/// `--freq HZ` on the command line: the same check as `defaults.frequency`.
pub fn parse_frequency(text: &str) -> Result<u32, String> {
    let hz: u32 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a whole number of Hz"))?;
    check_frequency(hz).map_err(|(message, help)| format!("{message}\n  help: {help}"))?;
    Ok(hz)
}

/// The signals a program may be asked to stop with (`stop_signal`): those
/// whose default action ends it, and that a program may catch to end cleanly.
pub(super) const STOP_SIGNALS: [(&str, i32); 6] = [
    ("SIGINT", libc::SIGINT),
    ("SIGTERM", libc::SIGTERM),
    ("SIGHUP", libc::SIGHUP),
    ("SIGQUIT", libc::SIGQUIT),
    ("SIGUSR1", libc::SIGUSR1),
    ("SIGUSR2", libc::SIGUSR2),
];

/// `stop_signal`: `SIGINT` or `INT` (any case) to the signal's number.
pub fn parse_signal(text: &str) -> Result<i32, String> {
    let upper = text.trim().to_ascii_uppercase();
    let name = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    STOP_SIGNALS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, number)| *number)
        .ok_or_else(|| format!("`{text}` is not a signal a program can be stopped with"))
}

/// `--run-for SECONDS` on the command line: as `run_for` in a workload.
pub fn parse_run_for(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(seconds) if seconds.is_finite() && seconds > 0.0 && seconds <= bounds::MAX_SECONDS => {
            Ok(seconds)
        }
        _ => Err(format!(
            "`{text}` is not a positive number of seconds (more than 0, at most {:e})",
            bounds::MAX_SECONDS
        )),
    }
}
