//! What a server needs around it: its setup before it starts (dependencies
//! started and waited for, one-shot commands run to their end), its
//! dependencies stopped after it in reverse order, and its teardown, run
//! also when the task failed or was interrupted. Every task that starts a
//! server does so inside [`with_setup`].

use crate::config::{Config, Workload};
use crate::runs::process::{self, Running};
use crate::runs::service::{self, Readiness, STOP_GRACE};
use crate::runs::workload::{self, Prepared};
use anyhow::{anyhow, bail};
use std::collections::BTreeMap;
use std::time::Duration;

/// How a server is run beside its own program: when it is ready, what its
/// setup starts and runs before it, what its teardown runs after it, and
/// how long its profile goes on after the load.
#[derive(Debug, Clone)]
pub struct ServerPlan {
    pub ready: Readiness,
    pub setup: Vec<SetupStep>,
    pub teardown: Vec<Prepared>,
    /// The profile (CPU, memory timeline) goes on this long after the load.
    pub drain: Duration,
}

/// One program of the setup: a dependency (with `ready`), or a one-shot
/// command (without).
#[derive(Debug, Clone)]
pub struct SetupStep {
    pub prepared: Prepared,
    pub ready: Option<Readiness>,
}

impl ServerPlan {
    /// The plan of the server workload `name`, its placeholders expanded
    /// with `values`; `drain` (`--drain`) overrides the workload's.
    pub fn prepare(
        config: &Config,
        name: &str,
        workload: &Workload,
        values: &BTreeMap<String, String>,
        drain: Option<f64>,
    ) -> anyhow::Result<ServerPlan> {
        let ready = match &workload.ready {
            Some(ready) => Readiness::from_config(ready, values)?,
            None => bail!("workload `{name}` has no `ready` check"),
        };
        let mut setup = Vec::new();
        for (i, step) in workload.setup.iter().enumerate() {
            let what = format!("{name}: setup #{}", i + 1);
            setup.push(SetupStep {
                prepared: workload::prepare(config, &what, &step.as_workload(), values)?,
                ready: match &step.ready {
                    Some(ready) => Some(Readiness::from_config(ready, values)?),
                    None => None,
                },
            });
        }
        let mut teardown = Vec::new();
        for (i, step) in workload.teardown.iter().enumerate() {
            let what = format!("{name}: teardown #{}", i + 1);
            teardown.push(workload::prepare(
                config,
                &what,
                &step.as_workload(),
                values,
            )?);
        }
        let drain = drain.or(workload.drain).unwrap_or(0.0);
        Ok(ServerPlan {
            ready,
            setup,
            teardown,
            drain: Duration::from_secs_f64(drain.clamp(0.0, crate::config::bounds::MAX_DRAIN_S)),
        })
    }
}

impl ServerPlan {
    /// The drain as run.json records it: none when there is none.
    pub fn drain_s(&self) -> Option<f64> {
        (!self.drain.is_zero()).then_some(self.drain.as_secs_f64())
    }
}

/// Runs `life` (start the server, load it, stop it) between the plan's
/// setup and its teardown. The setup runs in order; should a step fail,
/// what it started is stopped and `life` does not run. The dependencies are
/// stopped after `life`, in reverse order: one that ended before is named,
/// before the error of `life` it likely caused. The teardown runs whatever
/// happened, after an interrupt too.
pub fn with_setup<T>(
    plan: &ServerPlan,
    life: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let done = start_dependencies(&plan.setup).and_then(|dependencies| {
        let done = life();
        match (stop_dependencies(dependencies), done) {
            (None, done) => done,
            (Some(ended), Ok(_)) => Err(anyhow!("{ended}")),
            (Some(ended), Err(error)) if !process::interrupted() => Err(anyhow!(
                "{ended}\n  the server's run then failed: {error:#}"
            )),
            (Some(_), Err(error)) => Err(error),
        }
    });
    match (done, run_teardown(&plan.teardown)) {
        (done, Ok(())) => done,
        (Ok(_), Err(teardown)) => Err(teardown),
        (Err(error), Err(teardown)) if process::interrupted() => {
            eprintln!("error: {teardown:#}");
            Err(error)
        }
        (Err(error), Err(teardown)) => Err(anyhow!(
            "{error:#}\n  and then the teardown failed too: {teardown:#}"
        )),
    }
}

/// A dependency started by the setup, running beside the server.
struct Dependency {
    running: Running,
    prepared: Prepared,
    who: String,
}

/// Each step in order: a one-shot command run to its end, a dependency
/// started and waited for. On failure, the dependencies already started
/// are stopped.
fn start_dependencies(setup: &[SetupStep]) -> anyhow::Result<Vec<Dependency>> {
    let mut started: Vec<Dependency> = Vec::new();
    for step in setup {
        let who = format!(
            "the setup program `{}` ({})",
            step.prepared.spec().display(),
            step.prepared.name
        );
        let done = match &step.ready {
            Some(ready) => {
                let mut spec = step.prepared.spec();
                // It runs as long as the server; `ready.timeout` bounds its start.
                spec.timeout = None;
                spec.run_for = None;
                eprintln!("setup: starting `{}`", step.prepared.spec().display());
                service::start_ready(spec, ready, &who).map(|running| {
                    started.push(Dependency {
                        running,
                        prepared: step.prepared.clone(),
                        who: who.clone(),
                    })
                })
            }
            None => run_one_shot(&step.prepared, &who, false),
        };
        if let Err(error) = done {
            stop_dependencies(started);
            return Err(error);
        }
    }
    Ok(started)
}

/// Runs a one-shot command of the setup or the teardown (which starts
/// even after an interrupt) to its end; fails with its output tail unless
/// it succeeds.
fn run_one_shot(prepared: &Prepared, who: &str, teardown: bool) -> anyhow::Result<()> {
    let mut spec = prepared.spec();
    eprintln!(
        "{}: running `{}`",
        if teardown { "teardown" } else { "setup" },
        spec.display()
    );
    spec.run_for = None;
    spec.after_interrupt = teardown;
    let outcome = process::run(spec)?;
    if !outcome.success() {
        bail!(
            "{who} failed: {}\n{}",
            outcome.describe(Some(prepared.timeout)),
            outcome.tail()
        );
    }
    Ok(())
}

/// Stops the dependencies in reverse order, each with its `stop_signal`.
/// Returns what to say of those that had ended by themselves before.
fn stop_dependencies(dependencies: Vec<Dependency>) -> Option<String> {
    let mut ended = Vec::new();
    for dependency in dependencies.into_iter().rev() {
        let Dependency {
            running,
            prepared,
            who,
        } = dependency;
        let outcome = running.stop(prepared.stop_signal, STOP_GRACE);
        match &outcome.stopped {
            None => ended.push(format!(
                "{who} exited while the server ran: {}\n{}",
                outcome.describe(None),
                outcome.tail()
            )),
            Some(sent) if sent.len() > 1 => eprintln!(
                "warning: {who} ignored its stop signal and was stopped with {}",
                outcome.stopped_with().unwrap_or_default()
            ),
            Some(_) => {}
        }
    }
    // In the order they were started: the first is the likeliest cause.
    ended.reverse();
    (!ended.is_empty()).then(|| ended.join("\n"))
}

/// Runs every teardown command, even after one failed; fails naming
/// those that failed.
fn run_teardown(teardown: &[Prepared]) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    for prepared in teardown {
        let who = format!(
            "the teardown command `{}` ({})",
            prepared.spec().display(),
            prepared.name
        );
        if let Err(error) = run_one_shot(prepared, &who, true) {
            failed.push(format!("{error:#}"));
        }
    }
    match failed.is_empty() {
        true => Ok(()),
        false => bail!("{}", failed.join("\n")),
    }
}
