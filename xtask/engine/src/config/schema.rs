//! The serde types of `profiling.toml`, one per table: `[defaults]`,
//! `[thresholds]`, `[params.NAME]`, `[workloads.NAME]` (with its metrics,
//! readiness check and load) and `[[scales]]`, with their defaults and the
//! small enums (`CallGraph`, `MemoryTool`, `Better`). They say what the file
//! may contain; what its values must satisfy beyond their types is checked
//! in `validate`.

use super::templates::placeholder_names;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use toml::Spanned;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Defaults {
    pub workload: Option<Spanned<String>>,
    pub runs: u32,
    pub warmup: u32,
    pub frequency: u32,
    pub call_graph: CallGraph,
    /// Sample kernel frames too. Off by default: perf then runs without
    /// CAP_SYSLOG and so reads /proc/kallsyms once instead of three times
    /// before the workload starts (`perf::record_drops_capabilities`), and
    /// unprivileged users with `perf_event_paranoid` >= 2 cannot sample the
    /// kernel anyway.
    pub kernel_frames: bool,
    /// Inline frames in CPU profiles, read from the program's DWARF in
    /// process; `--no-inline` turns them off for one run.
    pub inline_frames: bool,
    /// Keep a CPU profile's raw perf.data in the result (large with dwarf
    /// stacks: each sample copies a piece of the stack); `--keep-perf-data`
    /// for one run.
    pub keep_perf_data: bool,
    pub memory_tool: MemoryTool,
    pub memory: bool,
    pub results_dir: String,
    pub keep: usize,
    pub build_profile: String,
    /// Seconds one run may take before it is stopped.
    pub timeout: f64,
    /// Count each timed run with `perf stat` (task-clock, context switches,
    /// CPU migrations, page faults; cycles, instructions, cache and branch
    /// misses where the machine has a PMU).
    pub counters: bool,
    /// After a CPU profile, annotate the functions with the most self time
    /// (objdump's disassembly, each instruction's share of the samples) into
    /// `annotate/`, this many (0: none).
    pub annotate: usize,
    /// perf events sampled besides CPU time, one flamegraph each
    /// (`events/<EVENT>/` in a result): `["page-faults", "cache-misses"]`.
    pub events: Vec<String>,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            workload: None,
            runs: 5,
            warmup: 1,
            frequency: 997,
            call_graph: CallGraph::Dwarf,
            kernel_frames: false,
            inline_frames: true,
            keep_perf_data: false,
            memory_tool: MemoryTool::Auto,
            memory: false,
            results_dir: "results".into(),
            keep: 5,
            build_profile: "profiling".into(),
            timeout: 600.0,
            counters: true,
            annotate: 3,
            events: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum CallGraph {
    /// DWARF unwinding: works without frame pointers, bigger perf.data.
    Dwarf,
    /// Frame pointers: cheap, needs `-C force-frame-pointers=yes`.
    Fp,
    /// Last branch record (Intel hardware only).
    Lbr,
}

impl CallGraph {
    pub fn as_str(self) -> &'static str {
        match self {
            CallGraph::Dwarf => "dwarf",
            CallGraph::Fp => "fp",
            CallGraph::Lbr => "lbr",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum MemoryTool {
    /// heaptrack, else valgrind massif (Linux); Instruments (macOS).
    Auto,
    Heaptrack,
    Massif,
    Instruments,
}

/// Percentages for the regression gate.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub noise: f64,
    pub time: f64,
    pub throughput: f64,
    pub latency: f64,
    pub memory: f64,
    pub instructions: f64,
    pub leaked_bytes: u64,
    /// A server's heap after its load against before it: growth beyond
    /// this percentage is flagged in the memory result.
    pub heap_growth: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            noise: 2.0,
            time: 5.0,
            throughput: 10.0,
            latency: 5.0,
            memory: 20.0,
            instructions: 1.0,
            leaked_bytes: 0,
            heap_growth: 20.0,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Param {
    pub default: ParamValue,
    #[serde(default)]
    pub help: String,
}

/// A parameter value as written in TOML; its kind (from the default) decides
/// which values the command-line flag accepts.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(untagged)]
pub enum ParamValue {
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

impl ParamValue {
    pub fn kind(&self) -> &'static str {
        match self {
            ParamValue::Bool(_) => "boolean",
            ParamValue::Int(_) => "integer",
            ParamValue::Float(_) => "number",
            ParamValue::Str(_) => "string",
        }
    }

    /// Checks a command-line value against this value's kind.
    pub fn accepts(&self, text: &str) -> bool {
        match self {
            ParamValue::Bool(_) => text.parse::<bool>().is_ok(),
            ParamValue::Int(_) => text.parse::<i64>().is_ok(),
            ParamValue::Float(_) => text.parse::<f64>().is_ok(),
            ParamValue::Str(_) => true,
        }
    }
}

/// By hand rather than `untagged`, whose error names this type instead of
/// what a value may be.
impl<'de> Deserialize<'de> for ParamValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = ParamValue;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, integer, float or boolean")
            }
            fn visit_bool<E>(self, v: bool) -> Result<ParamValue, E> {
                Ok(ParamValue::Bool(v))
            }
            fn visit_i64<E>(self, v: i64) -> Result<ParamValue, E> {
                Ok(ParamValue::Int(v))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<ParamValue, E> {
                i64::try_from(v).map(ParamValue::Int).map_err(|_| {
                    E::invalid_value(serde::de::Unexpected::Unsigned(v), &"a 64-bit integer")
                })
            }
            fn visit_f64<E>(self, v: f64) -> Result<ParamValue, E> {
                Ok(ParamValue::Float(v))
            }
            fn visit_str<E>(self, v: &str) -> Result<ParamValue, E> {
                Ok(ParamValue::Str(v.to_string()))
            }
            fn visit_string<E>(self, v: String) -> Result<ParamValue, E> {
                Ok(ParamValue::Str(v))
            }
        }
        deserializer.deserialize_any(Visitor)
    }
}

impl fmt::Display for ParamValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParamValue::Bool(v) => write!(f, "{v}"),
            ParamValue::Int(v) => write!(f, "{v}"),
            ParamValue::Float(v) => write!(f, "{v}"),
            ParamValue::Str(v) => f.write_str(v),
        }
    }
}

/// A program to run: a target of this workspace (built with the profiling
/// profile) or any external command.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    #[serde(default)]
    pub description: String,
    /// A `[[bin]]` of the workspace.
    pub cargo_bin: Option<String>,
    /// An example of the workspace.
    pub example: Option<String>,
    /// A `[[bench]]` of the workspace, run as criterion's profiler hook
    /// expects: `BENCH --bench --profile-time SECONDS [FILTER]`.
    pub bench: Option<String>,
    /// Any other program (argv[0]); looked up on PATH or relative to the config.
    pub command: Option<Spanned<String>>,
    /// The package that holds the target, when the name is ambiguous.
    pub package: Option<String>,
    #[serde(default)]
    pub args: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    /// Working directory, relative to the config file.
    pub cwd: Option<Spanned<String>>,
    /// Seconds one run may take (default: `defaults.timeout`).
    pub timeout: Option<f64>,
    /// For benches: seconds of `--profile-time`.
    pub profile_time: Option<f64>,
    /// A program that runs until stopped: profile it for this many seconds,
    /// then stop it with `stop_signal` (SIGTERM, then SIGKILL, follow).
    pub run_for: Option<f64>,
    /// The first signal of a stop (`run_for`; a server after its load):
    /// `SIGINT` (the default), `SIGTERM`, `SIGHUP`, `SIGQUIT`, `SIGUSR1`, `SIGUSR2`.
    pub stop_signal: Option<Spanned<String>>,
    /// For benches: the benchmark filter.
    pub filter: Option<Spanned<String>>,
    #[serde(default)]
    pub metrics: Vec<Metric>,
    /// A server workload: how to tell it is ready for the load.
    pub ready: Option<Ready>,
    /// A server workload: the load scenario run against it while it is profiled.
    pub load: Option<Box<Spanned<Workload>>>,
    /// A server workload: named load scenarios (`--scenario NAME|all`),
    /// each a load like `load`; what one does not declare it takes from
    /// `load` (see [`Workload::inherit_from_load`]).
    #[serde(default)]
    pub scenarios: BTreeMap<String, Spanned<Workload>>,
    /// A load: how it counts the operations it made.
    pub ops: Option<super::operations::Ops>,
    /// A server workload: seconds its CPU profile (and memory timeline) go
    /// on after the load ends, before the server is stopped, so that what it
    /// does then (flushing, background work) is profiled too.
    pub drain: Option<f64>,
    /// A server workload: what it needs, in order, before it starts: a
    /// dependency with its own `ready` (a database, a cache), started and
    /// waited for, and stopped after the server in reverse order; or a
    /// one-shot command without `ready`, run to completion.
    #[serde(default)]
    pub setup: Vec<ServiceStep>,
    /// A server workload: one-shot commands run after the server and its
    /// dependencies have stopped, also when the task failed or was
    /// interrupted.
    #[serde(default)]
    pub teardown: Vec<ServiceStep>,
}

/// A program of a server's `setup` or `teardown`: a program like a
/// workload's (`command` or a target of the workspace, `args`, `env`,
/// `cwd`, `timeout`, `stop_signal`), and for a dependency its `ready`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceStep {
    #[serde(default)]
    pub description: String,
    pub cargo_bin: Option<String>,
    pub example: Option<String>,
    pub command: Option<Spanned<String>>,
    pub package: Option<String>,
    #[serde(default)]
    pub args: Vec<Spanned<String>>,
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    pub cwd: Option<Spanned<String>>,
    /// Seconds a one-shot command may take (default: `defaults.timeout`).
    pub timeout: Option<f64>,
    /// The first signal that stops a dependency after the server.
    pub stop_signal: Option<Spanned<String>>,
    /// A dependency: how to tell it is ready for the server. Without it the
    /// step is a one-shot command.
    pub ready: Option<Ready>,
}

impl ServiceStep {
    /// The step as a workload, to be checked and prepared as one.
    pub fn as_workload(&self) -> Workload {
        Workload {
            description: self.description.clone(),
            cargo_bin: self.cargo_bin.clone(),
            example: self.example.clone(),
            bench: None,
            command: self.command.clone(),
            package: self.package.clone(),
            args: self.args.clone(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
            timeout: self.timeout,
            profile_time: None,
            run_for: None,
            stop_signal: self.stop_signal.clone(),
            filter: None,
            metrics: Vec::new(),
            ready: self.ready.clone(),
            load: None,
            scenarios: BTreeMap::new(),
            drain: None,
            setup: Vec::new(),
            teardown: Vec::new(),
            ops: None,
        }
    }
}

impl Workload {
    /// Only the parameters this workload (and its load) uses, so that titles
    /// and records stay short.
    pub fn used_params(&self, values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
        let mut used = std::collections::BTreeSet::new();
        let mut collect = |w: &Workload| {
            for text in w.args.iter().chain(w.env.values()).chain(w.command.iter()) {
                used.extend(placeholder_names(text.get_ref()).unwrap_or_default());
            }
            for port in w.ready.iter().flat_map(|r| r.port.iter()) {
                used.extend(placeholder_names(port.get_ref()).unwrap_or_default());
            }
        };
        collect(self);
        for step in self.setup.iter().chain(&self.teardown) {
            collect(&step.as_workload());
        }
        if let Some(load) = &self.load {
            collect(load.get_ref());
        }
        for scenario in self.scenarios.values() {
            collect(scenario.get_ref());
        }
        values
            .iter()
            .filter(|(k, _)| used.contains(*k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    pub fn target(&self) -> Target<'_> {
        if let Some(name) = &self.cargo_bin {
            Target::Bin(name)
        } else if let Some(name) = &self.example {
            Target::Example(name)
        } else if let Some(name) = &self.bench {
            Target::Bench(name)
        } else {
            // `validate_workload` guarantees exactly one is set.
            Target::Command(
                self.command
                    .as_ref()
                    .map(|c| c.get_ref().as_str())
                    .unwrap_or(""),
            )
        }
    }

    pub fn is_service(&self) -> bool {
        self.load.is_some() || !self.scenarios.is_empty()
    }

    /// A scenario (`self`) takes from the server's `load` what it does not
    /// declare itself: its metrics (when it declares none), its timeout,
    /// and its environment variables (the scenario's own win). The one
    /// place where a key of `load` is made to reach the scenarios.
    pub fn inherit_from_load(&mut self, load: &Workload) {
        if self.metrics.is_empty() {
            self.metrics = load.metrics.clone();
        }
        if self.timeout.is_none() {
            self.timeout = load.timeout;
        }
        for (key, value) in &load.env {
            self.env.entry(key.clone()).or_insert_with(|| value.clone());
        }
        // How the load counts its operations, where the scenario has the
        // metric it reads; a fixed count is the load's own argument, which a
        // scenario's arguments may change, so it is not taken.
        if let (None, Some(ops)) = (&self.ops, &load.ops) {
            let reads = ops.metric.as_ref().or(ops.rate.as_ref());
            if reads.is_some_and(|name| self.metrics.iter().any(|m| &m.name == name)) {
                self.ops = Some(ops.clone());
            }
        }
    }

    /// Every scenario with what it inherits from `load` (see
    /// [`Workload::inherit_from_load`]).
    pub(super) fn scenarios_inherit(&mut self) {
        if let Some(load) = &self.load {
            let load = load.get_ref();
            for scenario in self.scenarios.values_mut() {
                scenario.get_mut().inherit_from_load(load);
            }
        }
    }

    /// What a task that runs this workload runs: one `None` for a program
    /// (which `--scenario` does not apply to), else `Some` of each load that
    /// `--scenario` chooses (see [`Workload::loads`]).
    #[allow(clippy::type_complexity)]
    pub fn runs(
        &self,
        workload: &str,
        scenario: Option<&str>,
    ) -> Result<Vec<Option<(Option<String>, &Workload)>>, String> {
        if self.is_service() {
            return Ok(self
                .loads(workload, scenario)?
                .into_iter()
                .map(Some)
                .collect());
        }
        match scenario {
            Some(_) => Err(format!(
                "--scenario chooses the load of a server workload; `{workload}` is not one"
            )),
            None => Ok(vec![None]),
        }
    }

    /// The loads `--scenario` chooses: `None` is the workload's `load` (the
    /// only scenario, when it has no `load`); `all` is every named scenario;
    /// else the named one. Each comes with its name (None for `load`).
    pub fn loads(
        &self,
        workload: &str,
        scenario: Option<&str>,
    ) -> Result<Vec<(Option<String>, &Workload)>, String> {
        let names: Vec<&str> = self.scenarios.keys().map(String::as_str).collect();
        let choices = || {
            format!(
                "declared scenarios of `{workload}`: {}",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    format!("{}, or `all`", names.join(", "))
                }
            )
        };
        match scenario {
            None => match (&self.load, self.scenarios.iter().next()) {
                (Some(load), _) => Ok(vec![(None, load.get_ref())]),
                (None, Some((name, only))) if self.scenarios.len() == 1 => {
                    Ok(vec![(Some(name.clone()), only.get_ref())])
                }
                _ => Err(format!(
                    "workload `{workload}` has no `load`: choose a scenario with --scenario ({})",
                    choices()
                )),
            },
            Some("all") if names.is_empty() => Err(format!(
                "workload `{workload}` declares no [workloads.{workload}.scenarios.NAME]"
            )),
            Some("all") => Ok(self
                .scenarios
                .iter()
                .map(|(name, load)| (Some(name.clone()), load.get_ref()))
                .collect()),
            Some(name) => match self.scenarios.get(name) {
                Some(load) => Ok(vec![(Some(name.to_string()), load.get_ref())]),
                None => Err(format!(
                    "workload `{workload}` has no scenario `{name}`{}; {}",
                    super::suggest(name, &names)
                        .map(|hint| format!(" ({hint})"))
                        .unwrap_or_default(),
                    choices()
                )),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target<'a> {
    Bin(&'a str),
    Example(&'a str),
    Bench(&'a str),
    Command(&'a str),
}

#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Metric {
    pub name: String,
    /// The text around the number, with `{}` where the number stands:
    /// `"records_per_sec={}"` reads `1234.5` from `... records_per_sec=1234.5 ...`.
    pub pattern: String,
    #[serde(default)]
    pub unit: String,
    #[serde(default = "Better::default_for_metric")]
    pub better: Better,
    /// A run whose output lacks this metric (or holds no finite number
    /// where `{}` stands) fails; with `required = false` it gets a warning
    /// in the result instead.
    #[serde(default = "Metric::required_by_default")]
    pub required: bool,
}

impl Metric {
    fn required_by_default() -> bool {
        true
    }
}

/// Which direction of a measure is good; `stats` compares by it too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Better {
    /// Larger is better (throughput).
    Higher,
    /// Smaller is better (wall time, instructions, memory).
    Lower,
}

impl Better {
    fn default_for_metric() -> Better {
        Better::Higher
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Ready {
    /// Ready when this loopback TCP port accepts connections.
    pub port: Option<Spanned<String>>,
    /// Ready when the server prints a line containing this text.
    pub line: Option<String>,
    /// Seconds to wait for readiness.
    #[serde(default = "Ready::default_timeout")]
    pub timeout: f64,
}

impl Ready {
    fn default_timeout() -> f64 {
        10.0
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scale {
    pub name: String,
    #[serde(default)]
    pub params: BTreeMap<Spanned<String>, ParamValue>,
}

/// The file as read, before validation turns it into a [`Config`](super::Config).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    #[serde(default)]
    pub(super) defaults: Defaults,
    #[serde(default)]
    pub(super) thresholds: Thresholds,
    #[serde(default)]
    pub(super) params: BTreeMap<String, Param>,
    #[serde(default)]
    pub(super) workloads: BTreeMap<String, Spanned<Workload>>,
    #[serde(default)]
    pub(super) scales: Vec<Scale>,
}

#[cfg(test)]
mod tests {
    use super::super::test_support::{parse, MINIMAL};
    use super::*;

    #[test]
    fn a_minimal_config_gets_defaults() {
        let config = parse(MINIMAL).unwrap();
        assert_eq!(config.defaults.runs, 5);
        assert_eq!(config.defaults.call_graph, CallGraph::Dwarf);
        assert_eq!(config.thresholds, Thresholds::default());
        let (name, workload) = config.workload(None).unwrap();
        assert_eq!(name, "demo");
        assert_eq!(workload.target(), Target::Bin("cdr-demo"));
    }

    #[test]
    fn scenarios_are_chosen_by_name_all_or_default() {
        let text = format!(
            "{MINIMAL}\n[workloads.srv]\ncommand = \"true\"\nready = {{ line = \"up\" }}\n\
             [workloads.srv.load]\ncommand = \"true\"\n\
             [workloads.srv.scenarios.burst]\ncommand = \"burst\"\n\
             [workloads.srv.scenarios.ramp]\ncommand = \"ramp\"\n"
        );
        let config = parse(&text).unwrap();
        let (_, srv) = config.workload(Some("srv")).unwrap();
        assert!(srv.is_service());
        let names = |choice: Option<&str>| -> Vec<Option<String>> {
            srv.loads("srv", choice)
                .unwrap()
                .into_iter()
                .map(|(n, _)| n)
                .collect()
        };
        assert_eq!(names(None), [None]);
        assert_eq!(names(Some("ramp")), [Some("ramp".to_string())]);
        assert_eq!(
            names(Some("all")),
            [Some("burst".to_string()), Some("ramp".to_string())]
        );
        let (_, ramp) = &srv.loads("srv", Some("ramp")).unwrap()[0];
        assert_eq!(ramp.target(), Target::Command("ramp"));
        assert_eq!(
            srv.loads("srv", Some("rmap")).unwrap_err(),
            "workload `srv` has no scenario `rmap` (did you mean `ramp`?); declared scenarios of `srv`: burst, ramp, or `all`"
        );
        let (_, demo) = config.workload(Some("demo")).unwrap();
        assert!(demo.loads("demo", Some("all")).is_err());
        // Without `load`, a lone scenario is the default; two need a choice.
        let only = text.replace("[workloads.srv.load]\ncommand = \"true\"\n", "");
        let config = parse(&only).unwrap();
        let (_, srv) = config.workload(Some("srv")).unwrap();
        assert!(srv
            .loads("srv", None)
            .unwrap_err()
            .contains("choose a scenario with --scenario"));
    }

    #[test]
    fn scenarios_inherit_what_they_do_not_declare_from_the_load() {
        let text = format!(
            "{MINIMAL}\n[workloads.srv]\ncommand = \"true\"\nready = {{ line = \"up\" }}\n\
             [workloads.srv.load]\ncommand = \"load\"\ntimeout = 30\n\
             ops = {{ metric = \"ops\" }}\n\
             env = {{ TARGET = \"local\", MODE = \"steady\" }}\n\
             [[workloads.srv.load.metrics]]\nname = \"ops\"\npattern = \"ops={{}}\"\n\
             [workloads.srv.scenarios.burst]\ncommand = \"burst\"\nenv = {{ MODE = \"burst\" }}\n\
             [workloads.srv.scenarios.own]\ncommand = \"own\"\ntimeout = 5\n\
             [[workloads.srv.scenarios.own.metrics]]\nname = \"p99\"\npattern = \"p99={{}}\"\n"
        );
        let config = parse(&text).unwrap();
        let (_, srv) = config.workload(Some("srv")).unwrap();
        let scenario = |name: &str| srv.scenarios[name].get_ref();
        let names =
            |w: &Workload| -> Vec<String> { w.metrics.iter().map(|m| m.name.clone()).collect() };
        let env = |w: &Workload| -> Vec<(String, String)> {
            w.env
                .iter()
                .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                .collect()
        };
        // Declared nothing: the load's metrics and timeout; its env, the
        // scenario's own variables first.
        let burst = scenario("burst");
        assert_eq!(names(burst), ["ops"]);
        assert_eq!(burst.ops, srv.load.as_ref().unwrap().get_ref().ops);
        assert!(burst.ops.is_some());
        assert_eq!(burst.timeout, Some(30.0));
        assert_eq!(
            env(burst),
            [
                ("MODE".into(), "burst".into()),
                ("TARGET".into(), "local".into())
            ]
        );
        // Declared its own metrics and timeout: kept, not merged.
        let own = scenario("own");
        assert_eq!(names(own), ["p99"]);
        assert_eq!(
            own.ops, None,
            "its metrics do not count the load's operations"
        );
        assert_eq!(own.timeout, Some(5.0));
        assert_eq!(env(own).len(), 2);
        // The load itself, and a server without `load`, are left as they are.
        assert_eq!(names(srv.load.as_ref().unwrap().get_ref()), ["ops"]);
        let without = text
            .replace(
                "[workloads.srv.load]\ncommand = \"load\"\ntimeout = 30\nops = { metric = \"ops\" }\n",
                "",
            )
            .replace("env = { TARGET = \"local\", MODE = \"steady\" }\n", "")
            .replace(
                "[[workloads.srv.load.metrics]]\nname = \"ops\"\npattern = \"ops={}\"\n",
                "",
            );
        let config = parse(&without).unwrap();
        let (_, srv) = config.workload(Some("srv")).unwrap();
        assert!(srv.scenarios["burst"].get_ref().metrics.is_empty());
    }

    #[test]
    fn stop_signals_are_read_by_name() {
        use crate::config::parse_signal;
        assert_eq!(parse_signal("SIGINT"), Ok(libc::SIGINT));
        assert_eq!(parse_signal("term"), Ok(libc::SIGTERM));
        assert_eq!(parse_signal(" usr1 "), Ok(libc::SIGUSR1));
        assert!(parse_signal("SIGKILL").is_err(), "no program can act on it");
        assert!(parse_signal("2").is_err());
        assert_eq!(crate::config::parse_run_for("1.5"), Ok(1.5));
        for bad in ["0", "-1", "nan", "inf", "2e9", "soon"] {
            assert!(crate::config::parse_run_for(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn parameter_kinds_check_flag_values() {
        assert!(ParamValue::Int(1).accepts("50000"));
        assert!(!ParamValue::Int(1).accepts("5e4x"));
        assert!(ParamValue::Float(1.0).accepts("0.5"));
        assert!(ParamValue::Str("a".into()).accepts("anything"));
    }
}
