//! The life of one CPU profile in a result being written, the same for
//! every task that records one (`flamegraph`, `profile-baseline`) and every
//! shape of what is sampled: record it, draw its flamegraphs (CPU, and
//! off-CPU when recorded), sample the config's extra events and benchmarks
//! (programs only), and keep or drop perf.data. A new shape is one more
//! method of [`ProfileFlow`] that records it; the steps after the recording
//! are shared.

use crate::reports::flamegraph;
use crate::runs::cpu_profile::{self, AttachedProcess, CpuProfile};
use crate::runs::measure::{self, RunSample};
use crate::runs::workload::Prepared;
use crate::tools::Toolbox;
use std::path::Path;
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
    /// of its load goes on; returns that run too.
    pub fn server_under_load(
        &self,
        pid: i32,
        load: &Prepared,
        title: &str,
        subtitle: &str,
    ) -> anyhow::Result<(CpuProfile, RunSample)> {
        let perf = cpu_profile::attach(self.tools, self.options, self.dir, pid)?;
        let during = measure::run_once(load);
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
