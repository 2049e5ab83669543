//! `run.json`: everything one profile-baseline (or flamegraph, or memory)
//! run recorded, versioned so that later versions of the xtask can still read
//! old results.
//!
//! The run's own on-disk types are defined once, in the lowest layer that
//! produces them, and re-exported here: `GitInfo` (runs::git), `MeasureSummary`
//! (runs::measure), `AttachedRecord` (runs::cpu_profile's `AttachedProcess`)
//! and `cpu::RecordSummary` (tools::perf). Changing one of those changes
//! run.json; the golden test says so. Copies stay where run.json differs
//! from what the lower layer returns:
//! - `RunSample`: the run's metric warnings and uncounted events are not
//!   stored per run (they become the result's notes), and its machine load
//!   is stored as shares (`MachineRecord`), not seconds;
//! - `cpu::CpuProfile`, `cpu::OffCpu`, `cpu::OffCpuStack`: the profiler counts
//!   off-CPU time in integer microseconds with diagnostics that become
//!   notes, run.json stores milliseconds without them;
//! - `cpu::Annotated`: the same fields as the annotator's, inside the copied
//!   profile.
//!
//! Each copy's `From` destructures its source whole, so a field added below
//! fails to compile until it is stored or dropped here. The CPU profile's
//! part is in [`cpu`], the memory profile's and the leak check's in
//! [`memory`]; memcheck's full report, written beside run.json, in
//! [`leak_report`] (these two still keep their own copies of the parsers'
//! types, converted field by field).

pub mod cpu;
pub mod leak_report;
pub mod memory;

use crate::runs::measure;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::results::system_info::MachineClass;
pub use crate::runs::cpu_profile::AttachedProcess as AttachedRecord;
pub use crate::runs::criterion::CriterionRuns;
pub use crate::runs::git::{short_hash, GitInfo};
pub use crate::runs::measure::MeasureSummary;
pub use cpu::CpuProfile;
pub use memory::{LeakCheck, MemoryRecord};

/// Bumped on any incompatible change of the format below.
///
/// 2: a server workload's built-in measures are its load client's under
/// `load.` (`load.cpu_s`), beside the server's own (`server.cpu_s`); in 1
/// they were the load client's under the plain names.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunRecord {
    pub schema_version: u32,
    /// Which task made it: "profile-baseline", "flamegraph", "memory".
    pub task: String,
    pub label: String,
    /// UTC, `2026-11-22T04:05:06Z`.
    pub created: String,
    pub workload: String,
    /// The ad-hoc form (`-- PROGRAM [ARGS]...`): the command line as typed,
    /// which no profiling.toml declares; `workload` is named after it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<Vec<String>>,
    pub build_profile: String,
    pub git: GitInfo,
    /// The class of machine it was measured on (absent from results of
    /// older versions, which read as an unknown machine).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineClass>,
    /// One entry per scale (one, unnamed, without `--scale`).
    pub scales: Vec<ScaleRecord>,
    /// Set when a run failed: the record is kept so the failure can be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScaleRecord {
    /// The scale's name, or "default".
    pub scale: String,
    pub params: BTreeMap<String, String>,
    /// The exact argv run (program first) and the environment overrides.
    pub argv: Vec<String>,
    pub env: BTreeMap<String, String>,
    pub cwd: String,
    pub warmup: u32,
    /// Every measured run, in order.
    pub runs: Vec<RunSample>,
    /// Per measure (`wall_s`, `user_s`, `sys_s`, `max_rss_bytes`, metrics).
    pub summaries: BTreeMap<String, MeasureSummary>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu_profile: Option<CpuProfile>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryRecord>,
    /// `memory --leak-check`: memcheck's verdict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak_check: Option<LeakCheck>,
    /// A server workload: the load scenario and its metrics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub load: Option<LoadRecord>,
    /// Runs measured in pairs with the other side of a comparison.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairing: Option<Pairing>,
    /// A server workload's named load scenario (`--scenario`): results of
    /// different scenarios are different series.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// Each run was limited to this many seconds (`--run-for`, `run_for`):
    /// one still going then was stopped on purpose, and its wall time is
    /// that duration (a run that ended sooner is an ordinary run).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_for_s: Option<f64>,
    /// `--pid`: the running process that was sampled and left running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attached: Option<AttachedRecord>,
    /// A criterion bench: what its `criterion/` measures' samples are (one
    /// estimate per invocation) and criterion's own interval of each. Absent
    /// from older results, whose `criterion/` samples are criterion's
    /// samples of a single invocation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub criterion: Option<CriterionRuns>,
}

/// Runs measured in pairs with those of another result (`profile-compare
/// --side`): run i here and run i there ran one right after the other
/// (`interleaved`) or at the same time on two cores (`duet`), so that
/// whatever the machine did then hit both, and the pair's ratio cancels it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Pairing {
    /// The same in both results of one comparison run.
    pub id: String,
    /// `interleaved` or `duet`.
    pub order: String,
    /// Pairs were added until every deciding measure was decided
    /// (`--until-decided`): the comparison reads them sequentially.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sequential: bool,
}

/// One measured run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct RunSample {
    pub wall_s: f64,
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_bytes: u64,
    pub exit_code: Option<i32>,
    /// The workload's own metrics, by name.
    pub metrics: BTreeMap<String, f64>,
    /// perf stat's counts of the run (`perf_task_clock_s`, `perf_page_faults`, ...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub counters: BTreeMap<String, f64>,
    /// A server workload: what the server itself spent over this load run
    /// (the times above are the load client's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<ServerUsageRecord>,
    /// A server workload: the operations this load run made (`ops`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operations: Option<f64>,
    /// What the machine did while the run went on (Linux).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub machine: Option<MachineRecord>,
}

/// The machine's state over one run, as shares of all its CPUs' time
/// (runs::machine_load says how they are read).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MachineRecord {
    /// The one-minute load average when the run ended.
    pub loadavg_1m: f64,
    /// Other programs' CPU time over the run, as a share of every CPU's.
    pub others_cpu_share: f64,
    /// Time the hypervisor gave to other virtual machines, as a share.
    pub steal_share: f64,
    /// Others and steal took at least half the machine: the run likely
    /// waited for a core, and its wall time says so more than the code.
    pub heavy_contention: bool,
}

/// A scale's runs' machine load, summed up ([`ScaleRecord::contention`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Contention {
    /// The median of others' share of the machine's CPU over the runs.
    pub median_others: f64,
    /// The median of the steal share.
    pub median_steal: f64,
    /// The lowest and highest one-minute load average at the runs' ends.
    pub loadavg: (f64, f64),
    /// Runs marked as taken under heavy contention.
    pub heavy: usize,
    /// Runs that recorded the machine's load.
    pub runs: usize,
}

impl From<&crate::runs::machine_load::MachineLoad> for MachineRecord {
    fn from(load: &crate::runs::machine_load::MachineLoad) -> MachineRecord {
        // Four decimals: the kernel's ticks are no finer over a short run.
        let round = |share: f64| (share * 1e4).round() / 1e4;
        MachineRecord {
            loadavg_1m: load.loadavg_1m,
            others_cpu_share: round(load.others_cpu_share()),
            steal_share: round(load.steal_share()),
            heavy_contention: load.heavy_contention(),
        }
    }
}

impl From<measure::RunSample> for RunSample {
    fn from(sample: measure::RunSample) -> RunSample {
        // A run's metric warnings and uncounted events reach run.json once
        // for all runs, as the result's notes, not per run.
        let measure::RunSample {
            wall_s,
            user_s,
            sys_s,
            max_rss_bytes,
            exit_code,
            metrics,
            warnings: _,
            counters,
            unsupported: _,
            server,
            operations,
            machine,
        } = sample;
        RunSample {
            wall_s,
            user_s,
            sys_s,
            max_rss_bytes,
            exit_code,
            metrics,
            counters,
            server: server.map(ServerUsageRecord::from),
            operations,
            machine: machine.as_ref().map(MachineRecord::from),
        }
    }
}

/// What a server spent over one load run, from its own `/proc` accounting.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerUsageRecord {
    pub user_s: f64,
    pub sys_s: f64,
    pub max_rss_bytes: u64,
    /// The peak could not be reset before the load: it is the peak since
    /// the server started.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub peak_since_start: bool,
    pub threads_before: u64,
    pub threads_after: u64,
    pub ctx_switches: u64,
}

impl From<crate::runs::server_usage::ServerUsage> for ServerUsageRecord {
    fn from(usage: crate::runs::server_usage::ServerUsage) -> ServerUsageRecord {
        let crate::runs::server_usage::ServerUsage {
            user_s,
            sys_s,
            max_rss_bytes,
            peak_since_start,
            threads_before,
            threads_after,
            ctx_switches,
        } = usage;
        ServerUsageRecord {
            user_s,
            sys_s,
            max_rss_bytes,
            peak_since_start,
            threads_before,
            threads_after,
            ctx_switches,
        }
    }
}

/// Timed runs as run.json stores them.
pub fn runs_from(samples: Vec<measure::RunSample>) -> Vec<RunSample> {
    samples.into_iter().map(RunSample::from).collect()
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct LoadRecord {
    pub argv: Vec<String>,
    pub wall_s: f64,
    pub exit_code: Option<i32>,
    pub metrics: BTreeMap<String, f64>,
    /// The profile went on this many seconds after the load ended, before
    /// the server was stopped (`drain`, `--drain`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain_s: Option<f64>,
}

impl RunRecord {
    /// A record of an older schema, read with today's meanings: the
    /// built-in measures of a server workload's scale, which version 1 stored
    /// under the plain names, are the load client's (`load.cpu_s`). Such a
    /// scale has no `server.` measures, and says so to a comparison by
    /// lacking them. A server scale is known by its profiled load or its
    /// scenario; one with neither keeps its names (and joins no series of
    /// today's server results, which have no plain `cpu_s`).
    pub fn upgrade(&mut self) {
        if self.schema_version >= 2 {
            return;
        }
        for scale in &mut self.scales {
            if scale.load.is_none() && scale.scenario.is_none() {
                continue;
            }
            let summaries = std::mem::take(&mut scale.summaries);
            scale.summaries = summaries
                .into_iter()
                .map(
                    |(name, summary)| match crate::config::measures::is_builtin(&name) {
                        true => (
                            format!("{}{name}", crate::config::measures::LOAD_PREFIX),
                            summary,
                        ),
                        false => (name, summary),
                    },
                )
                .collect();
        }
    }
}

impl ScaleRecord {
    /// A scale of timed runs of `prepared` (the scale "default"); the caller
    /// adds the profiles.
    pub fn timed(
        prepared: &crate::runs::workload::Prepared,
        params: BTreeMap<String, String>,
        warmup: u32,
        samples: Vec<measure::RunSample>,
        summaries: BTreeMap<String, MeasureSummary>,
    ) -> ScaleRecord {
        ScaleRecord {
            scale: "default".into(),
            params,
            argv: prepared.argv(),
            env: prepared.env.clone(),
            cwd: prepared.cwd.display().to_string(),
            warmup,
            runs: runs_from(samples),
            summaries,
            cpu_profile: None,
            memory: None,
            leak_check: None,
            load: None,
            pairing: None,
            scenario: None,
            run_for_s: prepared.run_for.map(|d| d.as_secs_f64()),
            attached: None,
            criterion: None,
        }
    }

    /// The one scale of a task that profiles a single run (flamegraph,
    /// memory): what ran, no timed runs; the caller adds the profile.
    pub fn single_run(
        prepared: &crate::runs::workload::Prepared,
        params: BTreeMap<String, String>,
    ) -> ScaleRecord {
        ScaleRecord::timed(prepared, params, 0, Vec::new(), BTreeMap::new())
    }

    /// The one scale of a CPU profile of a running process (`--pid`): its
    /// command line, no timed runs; the caller adds the profile.
    pub fn attached(process: crate::runs::cpu_profile::AttachedProcess) -> ScaleRecord {
        let cwd = std::fs::read_link(format!("/proc/{}/cwd", process.pid))
            .map(|dir| dir.display().to_string())
            .unwrap_or_default();
        ScaleRecord {
            scale: "default".into(),
            params: BTreeMap::new(),
            argv: process.command_line.clone(),
            env: BTreeMap::new(),
            cwd,
            warmup: 0,
            runs: Vec::new(),
            summaries: BTreeMap::new(),
            cpu_profile: None,
            memory: None,
            leak_check: None,
            load: None,
            pairing: None,
            scenario: None,
            run_for_s: None,
            attached: Some(process),
            criterion: None,
        }
    }

    /// The machine's load over this scale's measured runs: None when no
    /// run recorded it (results of older xtasks, other systems).
    pub fn contention(&self) -> Option<Contention> {
        let machines: Vec<&MachineRecord> = self
            .runs
            .iter()
            .filter_map(|r| r.machine.as_ref())
            .collect();
        let summary = |values: Vec<f64>| crate::stats::summarize(&values);
        let loadavg = summary(machines.iter().map(|m| m.loadavg_1m).collect())?;
        Some(Contention {
            median_others: summary(machines.iter().map(|m| m.others_cpu_share).collect())?.median,
            median_steal: summary(machines.iter().map(|m| m.steal_share).collect())?.median,
            loadavg: (loadavg.min, loadavg.max),
            heavy: machines.iter().filter(|m| m.heavy_contention).count(),
            runs: machines.len(),
        })
    }

    /// Where this scale's files lie in its result: `NAME/` when the result
    /// holds several scales, the result directory itself otherwise.
    pub fn dir_prefix(&self, several: bool) -> String {
        if several {
            format!("{}/", self.scale)
        } else {
            String::new()
        }
    }
}

impl RunRecord {
    /// A record created now, at the current schema version.
    pub fn new(
        task: &str,
        label: &str,
        workload: &str,
        build_profile: &str,
        git: GitInfo,
        scales: Vec<ScaleRecord>,
    ) -> RunRecord {
        RunRecord {
            schema_version: SCHEMA_VERSION,
            task: task.into(),
            label: label.into(),
            created: crate::results::timestamp_iso(std::time::SystemTime::now()),
            workload: workload.into(),
            command_line: None,
            build_profile: build_profile.into(),
            git,
            machine: None,
            scales,
            failure: None,
        }
    }

    /// The machine class as tables show it and trends group by it: its
    /// description, or `unknown` for a result of an older version.
    pub fn machine_class(&self) -> String {
        self.machine.as_ref().map_or_else(
            || crate::results::system_info::UNKNOWN_MACHINE.to_string(),
            MachineClass::describe,
        )
    }

    /// The workload as results are told apart by: `service:burst` for a
    /// load scenario's result, so that list, trends and compare never mix
    /// two scenarios' numbers into one series.
    pub fn workload_and_scenario(&self) -> String {
        match self.scales.iter().find_map(|s| s.scenario.as_deref()) {
            Some(scenario) => format!("{}:{scenario}", self.workload),
            None => self.workload.clone(),
        }
    }

    /// What ran, for a table of results: the workload (and scenario), and
    /// the command line of the ad-hoc form, shortened.
    pub fn what_ran(&self) -> String {
        let workload = self.workload_and_scenario();
        let Some(line) = &self.command_line else {
            return workload;
        };
        let line = line.join(" ");
        match line.char_indices().nth(60) {
            Some((at, _)) => format!("{workload} (-- {}…)", &line[..at]),
            None => format!("{workload} (-- {line})"),
        }
    }

    /// The summaries of the first scale, which most reports show.
    pub fn headline(&self) -> Option<&ScaleRecord> {
        self.scales.first()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real run.json files written by profile-baseline round-trip exactly.
    #[test]
    fn run_json_round_trips() {
        for text in [
            include_str!("../../../tests/fixtures/results/run.json"),
            include_str!("../../../tests/fixtures/results/run-service.json"),
            include_str!("../../../tests/fixtures/results/run-service-v2.json"),
        ] {
            let record: RunRecord = serde_json::from_str(text).unwrap();
            let again = serde_json::to_string_pretty(&record).unwrap();
            assert_eq!(serde_json::from_str::<RunRecord>(&again).unwrap(), record);
            let original: serde_json::Value = serde_json::from_str(text).unwrap();
            let rewritten: serde_json::Value = serde_json::from_str(&again).unwrap();
            assert_eq!(original, rewritten, "a field was lost or renamed");
            assert!(record.schema_version <= SCHEMA_VERSION);
        }
    }

    /// A server's result of schema 1 held its load client's figures under
    /// the plain names: read today, they are the load's, and no server
    /// measure appears; today's results hold both, each under its name.
    #[test]
    fn old_service_results_read_as_the_load_client_s() {
        let old = include_str!("../../../tests/fixtures/results/run-service.json");
        let mut record: RunRecord = serde_json::from_str(old).unwrap();
        assert_eq!(record.schema_version, 1);
        let client_user = record.scales[0].summaries["user_s"].clone();
        record.upgrade();
        let summaries = &record.scales[0].summaries;
        assert_eq!(summaries["load.user_s"], client_user);
        assert!(!summaries.contains_key("user_s"));
        assert!(!summaries.keys().any(|n| n.starts_with("server.")));
        assert!(
            summaries.contains_key("ops_per_sec"),
            "metrics keep their names"
        );

        let new = include_str!("../../../tests/fixtures/results/run-service-v2.json");
        let mut record: RunRecord = serde_json::from_str(new).unwrap();
        assert_eq!(record.schema_version, SCHEMA_VERSION);
        let before = record.clone();
        record.upgrade();
        assert_eq!(record, before, "a current record is read as written");
        let summaries = &record.scales[0].summaries;
        for name in [
            "server.cpu_s",
            "server.cpu_us_per_op",
            "server.max_rss_bytes",
            "load.cpu_s",
        ] {
            assert!(summaries.contains_key(name), "{name}");
        }
        let run = &record.scales[0].runs[0];
        let server = run.server.as_ref().unwrap();
        assert_eq!(
            summaries["server.cpu_s"].samples[0],
            server.user_s + server.sys_s
        );
        assert_eq!(summaries["load.cpu_s"].samples[0], run.user_s + run.sys_s);
    }
}

#[cfg(test)]
mod golden;
