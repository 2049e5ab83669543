//! The checks of what surrounds a server: its `drain`, and the programs of
//! its `[[workloads.NAME.setup]]` and `[[workloads.NAME.teardown]]`.

use super::{Checks, ConfigError};
use crate::config::bounds;
use crate::config::locate::{Index, Key, Step};
use crate::config::schema::{ServiceStep, Workload};

impl Checks<'_> {
    /// `drain`, `setup` and `teardown`: only on a server's own table, each
    /// program checked as a workload is, and no key that would be ignored.
    pub(super) fn service_life<'w>(
        &self,
        path: &[Step<'w>],
        name: &str,
        workload: &'w Workload,
        nested: bool,
    ) -> Result<(), ConfigError> {
        let at = |key| -> Vec<Step<'w>> { path.iter().copied().chain([Key(key)]).collect() };
        let server = workload.is_service() && !nested;
        for (key, set) in [
            ("drain", workload.drain.is_some()),
            ("setup", !workload.setup.is_empty()),
            ("teardown", !workload.teardown.is_empty()),
        ] {
            if set && !server {
                return Err(self.at_key(
                    &at(key),
                    format!(
                        "workload `{name}`: `{key}` belongs to a server workload (one with `ready` and a `load`){}",
                        if nested { ", not to its load" } else { "" }
                    ),
                    Some(format!(
                        "move `{key}` to the server's own [workloads.NAME] table"
                    )),
                ));
            }
        }
        if let Some(drain) = workload.drain {
            if !(drain.is_finite() && (0.0..=bounds::MAX_DRAIN_S).contains(&drain)) {
                return Err(self.at_key(
                    &at("drain"),
                    format!("workload `{name}`: `drain` must be a number of seconds from 0 to {}, not {drain}", bounds::MAX_DRAIN_S),
                    Some("the seconds the profile goes on after the load ends, like `drain = 2`".into()),
                ));
            }
        }
        for (i, step) in workload.setup.iter().enumerate() {
            self.service_step(
                &at("setup"),
                i,
                &format!("{name}: setup #{}", i + 1),
                step,
                true,
            )?;
        }
        for (i, step) in workload.teardown.iter().enumerate() {
            let what = format!("{name}: teardown #{}", i + 1);
            self.service_step(&at("teardown"), i, &what, step, false)?;
        }
        Ok(())
    }

    /// One program of `setup` (`in_setup`) or `teardown`.
    fn service_step<'w>(
        &self,
        list: &[Step<'w>],
        i: usize,
        what: &str,
        step: &'w ServiceStep,
        in_setup: bool,
    ) -> Result<(), ConfigError> {
        let path: Vec<Step<'w>> = list.iter().copied().chain([Index(i)]).collect();
        let at = |key| -> Vec<Step<'w>> { path.iter().copied().chain([Key(key)]).collect() };
        let workload = step.as_workload();
        self.target(&path, what, &workload)?;
        self.texts(&path, what, &workload)?;
        self.env_names(&path, what, &workload)?;
        self.cwd(&path, what, &workload)?;
        self.durations(&path, what, &workload)?;
        self.stop_signal(&path, what, &workload)?;
        match &step.ready {
            Some(_) if !in_setup => Err(self.at_key(
                &at("ready"),
                format!("workload `{what}`: a teardown command runs to its end and has no `ready`"),
                Some("a program the server needs while it runs belongs to `setup`".into()),
            )),
            Some(ready) => {
                self.ready(&path, what, ready)?;
                match step.timeout {
                    Some(_) => Err(self.at_key(
                        &at("timeout"),
                        format!("workload `{what}`: a dependency (a step with `ready`) runs as long as the server: `timeout` does not apply"),
                        Some("`ready.timeout` bounds how long it may take to start".into()),
                    )),
                    None => Ok(()),
                }
            }
            None => match &step.stop_signal {
                Some(_) => Err(self.at_key(
                    &at("stop_signal"),
                    format!("workload `{what}`: a one-shot command (no `ready`) runs to its end: `stop_signal` does not apply"),
                    Some("give the step a `ready` check if it is a dependency that runs beside the server".into()),
                )),
                None => Ok(()),
            },
        }
    }
}
