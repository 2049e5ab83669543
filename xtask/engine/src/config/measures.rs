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

/// CPU time per wall second (`cpu_s / wall_s`, medians over the runs) up to
/// which a workload kept one core busy: above it, it is multi-threaded.
pub const ONE_CORE: f64 = 1.1;

/// Whether `name` is a built-in measure.
pub fn is_builtin(name: &str) -> bool {
    BUILTIN_MEASURES.iter().any(|m| m.name == name)
}

/// Where `name` sorts among the measures: built-ins by their place, every
/// other measure after them.
pub fn display_rank(name: &str) -> usize {
    BUILTIN_MEASURES
        .iter()
        .position(|m| m.name == name)
        .unwrap_or(BUILTIN_MEASURES.len())
}

/// The built-in measures that are times (`wall_s`, `cpu_s`, `user_s`, `sys_s`).
pub fn is_time(name: &str) -> bool {
    BUILTIN_MEASURES
        .iter()
        .any(|m| m.name == name && m.unit == "s")
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
