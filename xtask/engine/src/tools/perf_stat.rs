//! `perf stat`: counting events over one run of a program (no sampling), in
//! its machine-readable form `perf stat -x, -o FILE -e EVENTS -- PROGRAM`.
//!
//! Each line of that file is `VALUE,UNIT,EVENT,RUN_TIME,PERCENT,...`; VALUE is
//! `<not supported>` for an event the machine cannot count (hardware events
//! on a machine without a PMU, such as most cloud VMs) and `<not counted>`
//! for one that never ran (perf prints a software tool event that stayed at
//! zero so, too).

use std::ffi::OsString;
use std::path::Path;

/// Counted everywhere perf runs: the kernel keeps them.
pub const SOFTWARE_EVENTS: &[&str] = &[
    "task-clock",
    "context-switches",
    "cpu-migrations",
    "page-faults",
];

/// Counted by the CPU's performance monitoring unit, where there is one.
pub const HARDWARE_EVENTS: &[&str] = &["cycles", "instructions", "cache-misses", "branch-misses"];

/// Events that happen only in the kernel's own code (it switches threads
/// and moves them between CPUs): counted in user space only, they read 0
/// whatever the program did.
pub const IN_THE_KERNEL_ONLY: &[&str] = &["context-switches", "cs", "cpu-migrations", "migrations"];

/// Events whose count user space only does not change: the time on CPU,
/// and perf's own tool events.
const SAME_IN_USER_SPACE: &[&str] = &["task-clock", "duration_time", "user_time", "system_time"];

/// The end of a measure's name when perf counted its event in user space
/// only (`page-faults:u`): not the same measure as the whole count (the page
/// faults the kernel takes in `read()` on the program's behalf are not in
/// it), so the two never compare as one.
pub const USER_SPACE_SUFFIX: &str = "_user";

/// The measure an event becomes in run.json: its name and unit, and the
/// factor from perf's unit to the measure's. Prefixed `perf_` so that no
/// counter takes the name of another measure (`instructions` is
/// callgrind's exact count).
pub fn measure_of(event: &str) -> (String, &'static str, f64) {
    if event == "task-clock" {
        return ("perf_task_clock_s".into(), "s", 1e-3);
    }
    let unit = match event {
        "context-switches" => "switches",
        "cpu-migrations" => "migrations",
        "page-faults" => "faults",
        "cycles" => "cycles",
        "instructions" => "instructions",
        "cache-misses" | "branch-misses" => "misses",
        _ => "events",
    };
    (
        format!("perf_{}", event.replace(['-', ':', '/'], "_")),
        unit,
        1.0,
    )
}

/// The arguments of `perf` that count `events` over `program args` into
/// `output`; the program's own output and exit code pass through.
pub fn argv(output: &Path, events: &[String]) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["stat".into(), "-x,".into(), "-o".into()];
    argv.push(output.into());
    argv.push("-e".into());
    argv.push(events.join(",").into());
    argv.push("--".into());
    argv
}

/// What perf said of one event.
#[derive(Debug, Clone, PartialEq)]
pub enum Count {
    /// Counted, in perf's unit (`msec` for task-clock, none for the rest).
    Value(f64),
    /// The machine cannot count it.
    NotSupported,
    /// It never ran (or, for perf's tool events, stayed at zero).
    NotCounted,
    /// Counted in user space only, where this event never happens
    /// ([`IN_THE_KERNEL_ONLY`]): perf's 0 says nothing about the run.
    OnlyInTheKernel,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Counted {
    /// The event, without perf's modifiers.
    pub event: String,
    pub unit: String,
    pub count: Count,
    /// perf counted user space only (`page-faults:u`), as it does for a user
    /// who is not root at `perf_event_paranoid` 2.
    pub user_space_only: bool,
}

/// The measure a count becomes: [`measure_of`] its event, with
/// [`USER_SPACE_SUFFIX`] when perf counted user space only and that changes
/// the count.
pub fn measure_of_count(counted: &Counted) -> (String, &'static str, f64) {
    let (mut name, unit, factor) = measure_of(&counted.event);
    if counted.user_space_only && !SAME_IN_USER_SPACE.contains(&counted.event.as_str()) {
        name.push_str(USER_SPACE_SUFFIX);
    }
    (name, unit, factor)
}

/// Parses a `perf stat -x,` output file. `#` lines and blank lines are
/// perf's header; any other line that does not have a value, a unit and an
/// event is an error naming its line.
pub fn parse(text: &str) -> Result<Vec<Counted>, String> {
    let mut counted = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split(',').collect();
        if fields.len() < 3 || fields[2].is_empty() {
            return Err(format!(
                "line {}: expected `VALUE,UNIT,EVENT,...`, found `{line}`",
                index + 1
            ));
        }
        let count = match fields[0] {
            "<not supported>" => Count::NotSupported,
            "<not counted>" => Count::NotCounted,
            value => match value.parse::<f64>() {
                Ok(v) if v.is_finite() => Count::Value(v),
                _ => {
                    return Err(format!(
                        "line {}: `{value}` is not a count (event {})",
                        index + 1,
                        fields[2]
                    ))
                }
            },
        };
        let (event, user_space_only) = base_event(fields[2]);
        let count = match count {
            Count::Value(_) | Count::NotCounted
                if user_space_only && IN_THE_KERNEL_ONLY.contains(&event) =>
            {
                Count::OnlyInTheKernel
            }
            count => count,
        };
        counted.push(Counted {
            event: event.to_string(),
            unit: fields[1].to_string(),
            count,
            user_space_only,
        });
    }
    Ok(counted)
}

/// The event without perf's modifiers, and whether they restrict it to
/// user space: perf names `task-clock` as `task-clock:u` when, without root
/// and with `perf_event_paranoid` 2, it counts user space only.
fn base_event(event: &str) -> (&str, bool) {
    match event.rsplit_once(':') {
        Some((base, modifiers))
            if !base.is_empty()
                && !modifiers.is_empty()
                && modifiers.bytes().all(|b| b"ukhHGIpPSDW".contains(&b)) =>
        {
            (base, modifiers.contains('u') && !modifiers.contains('k'))
        }
        _ => (event, false),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_counted_in_user_space_only_keep_their_names() {
        // Captured from `perf stat -x, -e task-clock,page-faults,cycles -- true`
        // run as nobody with perf_event_paranoid 2.
        let text = "0.96,msec,task-clock:u,960270,100.00,0.463,CPUs utilized\n\
                    48,,page-faults:u,960270,100.00,49.986,K/sec\n\
                    <not supported>,,cycles:u,0,100.00,,\n";
        let counted = parse(text).unwrap();
        let events: Vec<&str> = counted.iter().map(|c| c.event.as_str()).collect();
        assert_eq!(events, ["task-clock", "page-faults", "cycles"]);
        assert_eq!(measure_of(&counted[0].event).0, "perf_task_clock_s");
        // A tracepoint keeps its colon.
        assert_eq!(
            base_event("sched:sched_switch"),
            ("sched:sched_switch", false)
        );
        assert_eq!(base_event("cycles:k"), ("cycles", false));
    }

    /// Captured from `perf stat -x, -e task-clock,context-switches,...` of
    /// a program that reads a large file, run as nobody at
    /// perf_event_paranoid 2: perf counted user space only. Run as root the
    /// same program took hundreds of times more page faults (the kernel's,
    /// in read()); context switches and migrations read 0 in user space
    /// whatever happened.
    #[test]
    fn user_space_only_counts_are_their_own_measures_or_none() {
        let counted = parse(&fixture("user-space-only.csv")).unwrap();
        assert!(counted.iter().all(|c| c.user_space_only));
        let measure = |event: &str| {
            let c = counted.iter().find(|c| c.event == event).unwrap();
            (measure_of_count(c).0, c.count.clone())
        };
        // The time on CPU is the same count: it keeps its name.
        assert_eq!(
            measure("task-clock"),
            ("perf_task_clock_s".into(), Count::Value(38.56))
        );
        assert_eq!(
            measure("page-faults"),
            ("perf_page_faults_user".into(), Count::Value(53.0))
        );
        assert_eq!(measure("context-switches").1, Count::OnlyInTheKernel);
        assert_eq!(measure("cpu-migrations").1, Count::OnlyInTheKernel);
        assert_eq!(measure("cycles").1, Count::NotSupported);
        // Root's counts: no modifier, the measures' own names.
        let root = parse(&fixture("demo-no-pmu.csv")).unwrap();
        assert!(root.iter().all(|c| !c.user_space_only));
        assert_eq!(measure_of_count(&root[3]).0, "perf_page_faults");
        assert_eq!(root[1].count, Count::Value(34.0));
    }

    fn fixture(name: &str) -> String {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/perf_stat")
            .join(name);
        std::fs::read_to_string(&path).unwrap()
    }

    #[test]
    fn the_demo_on_a_machine_without_pmu_has_software_counts_only() {
        let counted = parse(&fixture("demo-no-pmu.csv")).unwrap();
        let events: Vec<&str> = counted.iter().map(|c| c.event.as_str()).collect();
        assert_eq!(
            events,
            [
                "task-clock",
                "context-switches",
                "cpu-migrations",
                "page-faults",
                "cycles",
                "instructions",
                "cache-misses",
                "branch-misses"
            ]
        );
        assert_eq!(counted[0].count, Count::Value(54.20));
        assert_eq!(counted[0].unit, "msec");
        assert_eq!(counted[1].count, Count::Value(34.0));
        assert_eq!(counted[2].count, Count::Value(0.0));
        assert_eq!(counted[3].count, Count::Value(922.0));
        assert!(counted[4..].iter().all(|c| c.count == Count::NotSupported));
    }

    #[test]
    fn a_tool_event_that_stayed_at_zero_is_not_counted() {
        let counted = parse(&fixture("not-counted.csv")).unwrap();
        let system = counted.iter().find(|c| c.event == "system_time").unwrap();
        assert_eq!(system.count, Count::NotCounted);
        let duration = counted.iter().find(|c| c.event == "duration_time").unwrap();
        assert_eq!(duration.count, Count::Value(159_754_822.0));
        assert_eq!(duration.unit, "ns");
    }

    #[test]
    fn a_line_that_is_not_a_count_names_its_line() {
        assert_eq!(
            parse("# started\n\n12,,page-faults,1,100.00,,\nsome noise\n").unwrap_err(),
            "line 4: expected `VALUE,UNIT,EVENT,...`, found `some noise`"
        );
        assert_eq!(
            parse("x12,,page-faults,1,100.00,,\n").unwrap_err(),
            "line 1: `x12` is not a count (event page-faults)"
        );
    }

    #[test]
    fn measures_are_prefixed_and_task_clock_is_in_seconds() {
        assert_eq!(
            measure_of("task-clock"),
            ("perf_task_clock_s".to_string(), "s", 1e-3)
        );
        assert_eq!(
            measure_of("cache-misses"),
            ("perf_cache_misses".to_string(), "misses", 1.0)
        );
        let out = Path::new("/r/stat.csv");
        let argv = argv(out, &["task-clock".into(), "cycles".into()]);
        assert_eq!(
            argv,
            [
                "stat",
                "-x,",
                "-o",
                "/r/stat.csv",
                "-e",
                "task-clock,cycles",
                "--"
            ]
            .map(OsString::from)
        );
    }
}
