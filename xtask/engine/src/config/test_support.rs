//! Test helpers shared by the files of `config`: parsing a config from text
//! and the smallest config that loads.

use super::{Config, ConfigError};
use std::path::Path;

pub(super) fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(Path::new("profiling.toml"), text)
}

pub(super) const MINIMAL: &str = r#"
[params.subs]
default = 100
help = "subscribers"

[workloads.demo]
cargo_bin = "cdr-demo"
args = ["--subs", "{subs}"]
"#;
