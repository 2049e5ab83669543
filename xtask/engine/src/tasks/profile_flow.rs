//! The life of one CPU profile in a result being written, the same for
//! every task that records one (`flamegraph`, `profile-baseline`) and every
//! shape of what is sampled: record it, draw its flamegraphs (CPU, and
//! off-CPU when recorded), sample the config's extra events and benchmarks
//! (programs only), and keep or drop perf.data. A new shape is one more
//! method of [`ProfileFlow`] that records it; the steps after the recording
//! are shared.

use crate::config::Config;
use crate::reports::flamegraph;
use crate::results::record::{RunRecord, ScaleRecord};
use crate::results::Store;
use crate::runs::cpu_profile::{self, AttachedProcess, CpuProfile};
use crate::runs::git::git_info;
use crate::runs::measure::{self, RunSample};
use crate::runs::service;
use crate::runs::workload::Prepared;
use crate::tasks::publish::publish;
use crate::tools::Toolbox;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One profile's tools, settings and directory (a result being written,
/// or one scale's directory in it). Each shape is one method: it records,
/// then [`ProfileFlow::finish`] does what every shape shares.
pub struct ProfileFlow<'a> {
    pub tools: &'a Toolbox,
    pub options: &'a cpu_profile::Options,
    pub dir: &'a Path,
}

/// What follows the flamegraphs, by shape.
enum Extras<'a> {
    /// A program's extra events and benchmarks, each a run of its own.
    RunsOf(&'a Prepared),
    /// A server would run alone until its timeout: a note says they were
    /// not sampled.
    NotForAServer,
    None,
}

impl ProfileFlow<'_> {
    /// A program that ends by itself (or at `--run-for`), started by perf;
    /// a criterion bench through its profiler hook.
    pub fn program(
        &self,
        prepared: &Prepared,
        title: &str,
        subtitle: &str,
    ) -> anyhow::Result<CpuProfile> {
        let mut profile = cpu_profile::profile(prepared, self.tools, self.options, self.dir)?;
        self.finish(&mut profile, Extras::RunsOf(prepared), title, subtitle)?;
        Ok(profile)
    }

    /// A program, without the config's extra events and benchmarks: the
    /// sides of a comparison, whose flamegraphs are compared one to one.
    pub fn program_alone(
        &self,
        prepared: &Prepared,
        title: &str,
        subtitle: &str,
    ) -> anyhow::Result<CpuProfile> {
        let mut profile = cpu_profile::profile(prepared, self.tools, self.options, self.dir)?;
        self.finish(&mut profile, Extras::None, title, subtitle)?;
        Ok(profile)
    }

    /// A server that is already running (`pid`), sampled while one more run
    /// of its load goes on, and for `drain` after it; returns that run too.
    pub fn server_under_load(
        &self,
        (pid, drain): (i32, Duration),
        load: &Prepared,
        title: &str,
        subtitle: &str,
    ) -> anyhow::Result<(CpuProfile, RunSample)> {
        let perf = cpu_profile::attach(self.tools, self.options, self.dir, pid)?;
        let during = measure::run_once(load);
        if during.is_ok() {
            service::drain_after_load(pid, drain);
        }
        let mut profile = cpu_profile::finish_attached(perf, self.tools, self.dir)?;
        let (sample, _) = during?;
        self.finish(&mut profile, Extras::NotForAServer, title, subtitle)?;
        Ok((profile, sample))
    }

    /// A process that was running before the task (`--pid`), for `run_for`
    /// or until Ctrl-C; `titles` names the flamegraphs from what was
    /// sampled.
    pub fn process(
        &self,
        pid: i32,
        run_for: Option<Duration>,
        titles: impl FnOnce(&AttachedProcess) -> (String, String),
    ) -> anyhow::Result<(CpuProfile, AttachedProcess)> {
        let (mut profile, process) =
            cpu_profile::profile_pid(self.tools, self.options, self.dir, pid, run_for)?;
        let (title, subtitle) = titles(&process);
        self.finish(&mut profile, Extras::None, &title, &subtitle)?;
        Ok((profile, process))
    }

    /// What follows any recording: the CPU and off-CPU flamegraphs, the
    /// extras of the shape, and perf.data kept or removed as asked.
    fn finish(
        &self,
        profile: &mut CpuProfile,
        extras: Extras,
        title: &str,
        subtitle: &str,
    ) -> anyhow::Result<()> {
        let Self {
            tools,
            options,
            dir,
        } = *self;
        flamegraph::write_cpu_files(dir, title, subtitle)?;
        flamegraph::write_offcpu_svg(dir, title, subtitle)?;
        match extras {
            Extras::RunsOf(prepared) => {
                let extras = cpu_profile::profile_extras(prepared, tools, options, dir)?;
                flamegraph::write_extra_files(dir, &extras, title, subtitle)?;
                extras.add_to(&mut profile.files, &mut profile.notes);
            }
            Extras::NotForAServer if !options.events.is_empty() => profile.notes.push(format!(
                "`events` ({}) are sampled for programs that end by themselves, not for a server",
                options.events.join(", ")
            )),
            Extras::NotForAServer | Extras::None => {}
        }
        cpu_profile::settle_perf_data(options, dir, &mut profile.files, &mut profile.perf_data)
    }
}

/// `--pid`: the CPU profile of a process that was running before the task,
/// written as `task`'s result `label`; its flamegraph's subtitle names the
/// commit when `with_commit`. Returns the result's directory and record.
pub fn running_process_result(
    task: &str,
    label: &str,
    config: &Config,
    flow_settings: (&Toolbox, &cpu_profile::Options),
    (pid, run_for): (i32, Option<Duration>),
    with_commit: bool,
) -> anyhow::Result<(PathBuf, RunRecord)> {
    let (tools, options) = flow_settings;
    cpu_profile::running_process(pid)?;
    let git = git_info(&config.root);
    let pending = Store::new(config.results_dir()).begin(label)?;
    let flow = ProfileFlow {
        tools,
        options,
        dir: &pending.dir,
    };
    let titles = |process: &AttachedProcess| {
        let seconds = format!("{:.1} s of a running process", process.seconds);
        (
            format!("PID {pid}: {}", process.command_line.join(" ")),
            match with_commit {
                true => format!("{} · {seconds}", git.commit_label()),
                false => seconds,
            },
        )
    };
    let (profile, process) = match flow.process(pid, run_for, titles) {
        Ok(done) => done,
        Err(error) => return Err(pending.fail(error)),
    };
    let workload = process.workload_name();
    let scale = ScaleRecord {
        cpu_profile: Some(profile.into()),
        ..ScaleRecord::attached(process)
    };
    let record = RunRecord::new(
        task,
        label,
        &workload,
        &config.defaults.build_profile,
        git,
        vec![scale],
    );
    let dir = publish(pending, &record, tools, &[])?;
    Ok((dir, record))
}
