//! A starter profiling.toml for a project that has none (`init`, `adopt`):
//! one workload per binary, example and criterion bench of the workspace,
//! with comments on what to edit. The text is checked by loading it
//! ([`crate::config::Config::parse`]) before anyone writes it.

use std::fmt::Write;

/// A target of a workspace member that can be a workload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CargoTarget {
    pub package: String,
    pub name: String,
    pub kind: CargoTargetKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CargoTargetKind {
    Bin,
    Example,
    /// A `[[bench]]` with `harness = false` (criterion and friends).
    Bench,
}

/// Packages of xtasks (`xtask`, `xtask-profiling` when mounted, `xtask-…`)
/// and of this engine's cargo subcommand (`cargo-profile`): tools of the
/// project, never workloads.
fn is_xtask(package: &str) -> bool {
    package == "xtask"
        || package == "cargo-profile"
        || package.starts_with("xtask-")
        || package.starts_with("xtask_")
}

/// Seconds a bench workload profiles (criterion's `--profile-time`).
const BENCH_PROFILE_TIME: u32 = 5;

/// The file's text, or `None` when the workspace has nothing to run (a
/// library alone): the caller says what to add.
pub fn render(project: &str, targets: &[CargoTarget]) -> Option<String> {
    let workloads = name_workloads(targets);
    let (default, _) = workloads.first()?;
    let mut text = String::new();
    let _ = write!(
        text,
        "\
# profiling.toml — what `cargo xtask` profiles in {project}, and how.
#
# Written by `cargo xtask init` from `cargo metadata`: one workload per binary,
# example and criterion bench (`harness = false`) of the workspace. Edit it:
#   - give each workload the arguments of a run that does representative work
#     (`args`), and delete the workloads you will not profile;
#   - declare what your program prints as metrics ([[workloads.NAME.metrics]]);
#   - declare parameters ([params.NAME]): each becomes a `--NAME VALUE` flag of
#     every task and a `{{NAME}}` placeholder in `args`.
# Every key is documented in the profiling.toml reference: docs/config.md of
# the xtask-profiling repository (`cargo xtask <task> --help` for the flags).
# Unknown keys are errors, so typos are caught. Check it: `cargo xtask doctor`.

[defaults]
workload = {default}   # what profile-baseline, flamegraph and memory run without --workload
runs = 5                 # measured runs per baseline
warmup = 1               # unmeasured runs before them
results_dir = \"results\"
build_profile = \"profiling\"  # [profile.profiling] in Cargo.toml: release with debug info
timeout = 600            # seconds one run may take

# [params.size]
# default = 10000
# help = \"Input size of the workload\"
",
        default = toml_string(default),
    );
    for (name, target) in &workloads {
        text.push('\n');
        let key = toml_key(name);
        let package = toml_string(&target.package);
        let target_name = toml_string(&target.name);
        match target.kind {
            CargoTargetKind::Bin => {
                let _ = writeln!(
                    text,
                    "[workloads.{key}]\n\
                     description = \"binary {} of package {}\"\n\
                     cargo_bin = {target_name}\n\
                     package = {package}\n\
                     args = []                 # e.g. [\"--size\", \"{{size}}\"]",
                    target.name, target.package
                );
            }
            CargoTargetKind::Example => {
                let _ = writeln!(
                    text,
                    "[workloads.{key}]\n\
                     description = \"example {} of package {}\"\n\
                     example = {target_name}\n\
                     package = {package}\n\
                     args = []",
                    target.name, target.package
                );
            }
            CargoTargetKind::Bench => {
                let _ = writeln!(
                    text,
                    "[workloads.{key}]\n\
                     description = \"criterion bench {} of package {}\"\n\
                     bench = {target_name}\n\
                     package = {package}\n\
                     profile_time = {BENCH_PROFILE_TIME}         # seconds per benchmark (criterion's --profile-time)\n\
                     # filter = \"NAME\"        # only the benchmarks whose id contains NAME",
                    target.name, target.package
                );
            }
        }
        if target.kind != CargoTargetKind::Bench {
            let _ = writeln!(
                text,
                "# A number the program prints on every run, compared like the timings:\n\
                 # [[workloads.{key}.metrics]]\n\
                 # name = \"ops_per_sec\"\n\
                 # pattern = \"ops_per_sec={{}}\"   # {{}} marks the number in a line of output\n\
                 # better = \"higher\""
            );
        }
    }
    Some(text)
}

/// Workload names: a binary by its name, an example by its name unless a
/// binary has it (then `example-NAME`), a bench as `bench-NAME`; the default
/// workload is the first binary, else the first example, else the first bench.
fn name_workloads(targets: &[CargoTarget]) -> Vec<(String, &CargoTarget)> {
    let mut named: Vec<(String, &CargoTarget)> = Vec::new();
    for kind in [
        CargoTargetKind::Bin,
        CargoTargetKind::Example,
        CargoTargetKind::Bench,
    ] {
        for target in targets
            .iter()
            .filter(|t| t.kind == kind && !is_xtask(&t.package))
        {
            let base = match kind {
                CargoTargetKind::Bench => format!("bench-{}", as_label(&target.name)),
                _ => as_label(&target.name),
            };
            let taken = |name: &str, named: &[(String, &CargoTarget)]| {
                super::validate_label(name).is_err() || named.iter().any(|(n, _)| n == name)
            };
            let mut name = base.clone();
            if taken(&name, &named) {
                name = match kind {
                    CargoTargetKind::Example => format!("example-{base}"),
                    _ => format!("{base}-{}", target.package),
                };
            }
            let mut suffix = 2;
            while taken(&name, &named) {
                name = format!("{base}-{suffix}");
                suffix += 1;
            }
            named.push((name, target));
        }
    }
    named
}

/// A target's name as a workload's, which follows the rule of labels
/// (`validate::workload_name`): other characters become `_`.
fn as_label(name: &str) -> String {
    let name: String = name
        .trim_start_matches('.')
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .take(56)
        .collect();
    if name.is_empty() {
        "workload".into()
    } else {
        name
    }
}

/// A table key: bare when TOML allows it, quoted otherwise.
fn toml_key(name: &str) -> String {
    if !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        name.to_string()
    } else {
        toml_string(name)
    }
}

fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_string()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use std::path::Path;

    fn target(package: &str, name: &str, kind: CargoTargetKind) -> CargoTarget {
        CargoTarget {
            package: package.into(),
            name: name.into(),
            kind,
        }
    }

    #[test]
    fn every_target_becomes_a_workload_that_loads() {
        let targets = [
            target("app", "app", CargoTargetKind::Bin),
            target("app", "app", CargoTargetKind::Example),
            target("tools", "gen data", CargoTargetKind::Bin),
            target("tools", "latest", CargoTargetKind::Bin),
            target("app", "throughput", CargoTargetKind::Bench),
            target("xtask", "xtask", CargoTargetKind::Bin),
            target("xtask-profiling", "xtask-profiling", CargoTargetKind::Bin),
            target("cargo-profile", "cargo-profile", CargoTargetKind::Bin),
        ];
        let text = render("my-project", &targets).unwrap();
        let config = Config::parse(Path::new("/p/profiling.toml"), &text)
            .unwrap_or_else(|e| panic!("{e}\n{text}"));
        let names: Vec<&str> = config.workloads.keys().map(String::as_str).collect();
        assert_eq!(
            names,
            [
                "app",
                "bench-throughput",
                "example-app",
                "gen_data",
                "latest-tools"
            ]
        );
        assert_eq!(config.defaults.workload.unwrap().into_inner(), "app");
        assert_eq!(
            config.workloads["gen_data"].cargo_bin.as_deref(),
            Some("gen data")
        );
        assert_eq!(
            config.workloads["gen_data"].package.as_deref(),
            Some("tools")
        );
        assert_eq!(
            config.workloads["example-app"].example.as_deref(),
            Some("app")
        );
        assert_eq!(
            config.workloads["bench-throughput"].bench.as_deref(),
            Some("throughput")
        );
        assert!(text.contains("in my-project"), "{text}");
    }

    #[test]
    fn the_default_is_an_example_when_there_is_no_binary() {
        let text = render("lib", &[target("lib", "demo", CargoTargetKind::Example)]).unwrap();
        let config = Config::parse(Path::new("/p/profiling.toml"), &text).unwrap();
        assert_eq!(config.defaults.workload.unwrap().into_inner(), "demo");
    }

    #[test]
    fn nothing_to_run_gives_no_file() {
        assert!(render("lib", &[]).is_none());
        assert!(render("x", &[target("xtask", "xtask", CargoTargetKind::Bin)]).is_none());
    }
}
