//! The one entry shape of every task: what it is invoked with.

use crate::config::{Config, ConfigError, ParamFlags};
use std::path::PathBuf;

/// What every task is given: the config, loaded before the command line is
/// parsed (it declares the parameter flags), and the parameter values given
/// as flags.
pub struct Invocation {
    /// Where the config is (or would be: `init` writes it there).
    pub config_path: PathBuf,
    config: Result<Config, ConfigError>,
    pub params: ParamFlags,
    /// The command words the user typed before the task (`cargo xtask`,
    /// `cargo profile`, `cargo xtask profile` when mounted), for files that
    /// tell them what to run, such as a CI workflow.
    pub command: String,
}

impl Invocation {
    pub fn new(
        config_path: PathBuf,
        config: Result<Config, ConfigError>,
        params: ParamFlags,
    ) -> Invocation {
        Invocation {
            config_path,
            config,
            params,
            command: "cargo xtask".into(),
        }
    }

    /// The same invocation, typed as `command` (see [`Invocation::command`]).
    pub fn typed_as(self, command: &str) -> Invocation {
        Invocation {
            command: command.to_string(),
            ..self
        }
    }

    /// The config, or why it did not load (every task but doctor needs it).
    pub fn config(&self) -> anyhow::Result<&Config> {
        self.config
            .as_ref()
            .map_err(|error| anyhow::Error::new(error.clone()))
    }

    /// The config, or why it did not load, for doctor, which reports on it
    /// either way.
    pub fn config_result(&self) -> Result<&Config, &ConfigError> {
        self.config.as_ref()
    }
}
