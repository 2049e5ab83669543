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

/// The ad-hoc form of the tasks that run one program: `-- PROGRAM
/// [ARGS]...`. The command line makes it the config's default workload
/// before the task runs (`Config::with_program`); `init` writes it as one.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct Program {
    /// A program to run instead of a workload of profiling.toml, with its
    /// arguments, exactly as given (argv, no shell): `-- ./prog --size 10`.
    /// Needs no profiling.toml; its results are named after the program's
    /// file and record the command line.
    #[arg(last = true, value_name = "PROGRAM")]
    pub command_line: Vec<String>,
}
