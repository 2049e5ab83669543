//! The measures every run has, whatever the workload: their names, units,
//! direction and the order in which tables, charts and comparisons list
//! them (time first, then memory, then the workload's own metrics).

use super::Better;

/// A measure taken of every run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltinMeasure {
    pub name: &'static str,
    pub unit: &'static str,
    pub better: Better,
}

/// In display order. A workload's metric may not take one of these names.
pub const BUILTIN_MEASURES: &[BuiltinMeasure] = &[
    BuiltinMeasure {
        name: "wall_s",
        unit: "s",
        better: Better::Lower,
    },
    // CPU time (user + sys): for a workload on one core, a busy machine
    // stretches its wall time (waiting for the CPU) far more than this.
    BuiltinMeasure {
        name: "cpu_s",
        unit: "s",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "user_s",
        unit: "s",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "sys_s",
        unit: "s",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "max_rss_bytes",
        unit: "B",
        better: Better::Lower,
    },
];

/// A server workload's own measures, each `server.NAME`: the server's share
/// of each timed load, from its own accounting (the load client's figures
/// are the built-in measures under `load.`).
pub const SERVER_PREFIX: &str = "server.";
/// The load client's built-in measures of a server workload: `load.wall_s`...
pub const LOAD_PREFIX: &str = "load.";

/// The server's CPU time per operation of its load, in microseconds, where
/// the load counts its operations (`ops`).
pub const SERVER_CPU_PER_OP: &str = "server.cpu_us_per_op";

/// A server's measures, in display order, named without [`SERVER_PREFIX`].
pub const SERVER_MEASURES: &[BuiltinMeasure] = &[
    BuiltinMeasure {
        name: "cpu_us_per_op",
        unit: "µs",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "cpu_s",
        unit: "s",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "user_s",
        unit: "s",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "sys_s",
        unit: "s",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "max_rss_bytes",
        unit: "B",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "threads",
        unit: "threads",
        better: Better::Lower,
    },
    BuiltinMeasure {
        name: "ctx_switches",
        unit: "switches",
        better: Better::Lower,
    },
];

/// A server's own measure (`server.cpu_s`).
pub fn is_server(name: &str) -> bool {
    name.strip_prefix(SERVER_PREFIX)
        .is_some_and(|rest| SERVER_MEASURES.iter().any(|m| m.name == rest))
}

/// The load client's built-in measure of a server workload (`load.cpu_s`):
/// shown beside the server's, never gated.
pub fn is_load_client(name: &str) -> bool {
    name.strip_prefix(LOAD_PREFIX).is_some_and(is_builtin)
}

/// CPU time per wall second (`cpu_s / wall_s`, medians over the runs) up to
/// which a workload kept one core busy: above it, it is multi-threaded.
pub const ONE_CORE: f64 = 1.1;

/// Whether `name` is a built-in measure.
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_MEASURES.iter().any(|m| m.name == name)
}

/// Where `name` sorts among the measures: built-ins by their place, every
/// other measure after them.
/// A server's measures come first, then the built-ins, then every other
/// measure, and the load client's built-ins last.
pub fn display_rank(name: &str) -> usize {
    let position = |list: &[BuiltinMeasure], name: &str| list.iter().position(|m| m.name == name);
    let builtins = BUILTIN_MEASURES.len();
    if let Some(rank) = name
        .strip_prefix(SERVER_PREFIX)
        .and_then(|rest| position(SERVER_MEASURES, rest))
    {
        return rank;
    }
    if let Some(rank) = name
        .strip_prefix(LOAD_PREFIX)
        .and_then(|rest| position(BUILTIN_MEASURES, rest))
    {
        return SERVER_MEASURES.len() + builtins + 1 + rank;
    }
    SERVER_MEASURES.len() + position(BUILTIN_MEASURES, name).unwrap_or(builtins)
}

/// The measures that are times: the built-in ones (`wall_s`, `cpu_s`,
/// `user_s`, `sys_s`) and a server's CPU times, totals and per operation.
pub fn is_time(name: &str) -> bool {
    let server = name.strip_prefix(SERVER_PREFIX);
    let bare = server.unwrap_or(name);
    let list = if server.is_some() {
        SERVER_MEASURES
    } else {
        BUILTIN_MEASURES
    };
    list.iter()
        .any(|m| m.name == bare && (m.unit == "s" || m.unit == "µs"))
}

/// A server's measure whose limit is the memory one: its peak RSS and
/// its thread count (a growing count is a leak of threads or tasks).
pub fn is_server_memory(name: &str) -> bool {
    matches!(
        name.strip_prefix(SERVER_PREFIX),
        Some("max_rss_bytes" | "threads")
    )
}

/// perf stat's counts of a run (`perf_task_clock_s`, `perf_page_faults`...):
/// costs of the run, gated with the `time` limit.
pub fn is_counter(name: &str) -> bool {
    name.starts_with("perf_")
}

/// criterion's time per iteration of one benchmark (`criterion/ID`): a time.
pub fn is_bench_time(name: &str) -> bool {
    name.starts_with("criterion/")
}
