//! A starter profiling.toml for a project that has none (`init`, `adopt`):
//! one workload per binary, example and criterion bench of the workspace,
//! with comments on what to edit. The text is checked by loading it
//! ([`crate::config::Config::parse`]) before anyone writes it.
//!
//! The default workload is one that runs as written, with `args = []`: a
//! binary or example that ran without arguments when the task tried it
//! ([`Probe`]), or a criterion bench, which needs none. Fuzz targets are
//! never workloads: they fuzz until stopped, and need a nightly toolchain.

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

/// What a binary or example did when started with no arguments (built with
/// the profiling profile, standard input empty, stopped after a few
/// seconds): the honest test of "does it need arguments", since no reading
/// of the source can follow every argument parser.
#[derive(Debug, Clone, PartialEq)]
pub enum Probe {
    /// Exited successfully: it runs as written.
    Ran { seconds: f64 },
    /// Still running when stopped: a long job, or a server.
    StillRunning { seconds: f64 },
    /// Exited with a failure (`exit status 2`), saying this (its first
    /// line of output): it wants arguments.
    Failed { status: String, said: String },
    /// Not tried: why (a dry run, a build that failed, a criterion bench).
    NotChecked(String),
}

/// A target and what its probe found.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub target: CargoTarget,
    pub probe: Probe,
}

/// The starter, and what the task says about it.
#[derive(Debug, Clone, PartialEq)]
pub struct Starter {
    pub text: String,
    /// The default workload, and why it was chosen.
    pub default: String,
    pub why: String,
    /// Workloads that failed without arguments, each with what it said.
    pub need_args: Vec<(String, String)>,
}

/// What `init` and `adopt` say about the starter: the default and why, and
/// which workloads still need `args`.
pub fn describe(starter: &Starter) -> String {
    let mut text = format!("default workload: {} — {}", starter.default, starter.why);
    if !starter.need_args.is_empty() {
        text.push_str("\nstill need `args` in profiling.toml (they failed without any):");
        for (name, what) in &starter.need_args {
            text.push_str(&format!("\n  {name}: {}", comment_text(what)));
        }
    }
    text
}

/// Packages of xtasks (`xtask`, `xtask-profiling` when mounted, `xtask-…`)
/// and of this engine's cargo subcommand (`cargo-profile`): tools of the
/// project, never workloads.
pub fn is_xtask(package: &str) -> bool {
    package == "xtask"
        || package == "cargo-profile"
        || package.starts_with("xtask-")
        || package.starts_with("xtask_")
}

/// Seconds each run of a program that did not end by itself is given
/// (`run_for`), so that the first task ends.
const STILL_RUNNING_RUN_FOR: u32 = 10;

/// Seconds a bench workload profiles (criterion's `--profile-time`).
const BENCH_PROFILE_TIME: u32 = 5;

/// The starter, or `None` when the workspace has nothing to run (a library
/// alone): the caller says what to add. `fuzz` are the fuzz targets left
/// out, which the file names.
pub fn render(project: &str, candidates: &[Candidate], fuzz: &[CargoTarget]) -> Option<Starter> {
    let workloads = name_workloads(candidates);
    // The first of the best rank, in cargo metadata's order.
    let (default, chosen) = workloads.iter().min_by_key(|(_, c)| rank(c))?;
    let why = why_default(chosen, &workloads);
    let mut text = header(project, default, &why, fuzz);
    let mut need_args = Vec::new();
    for (name, candidate) in &workloads {
        text.push('\n');
        if let Probe::Failed { status, said } = &candidate.probe {
            need_args.push((name.clone(), format!("{status}: {said}")));
        }
        workload_table(&mut text, name, candidate);
    }
    Some(Starter {
        text,
        default: default.clone(),
        why,
        need_args,
    })
}

/// The preference for the default: what runs as written first, binaries
/// before examples, criterion benches between the two (made to be
/// measured); then what ran until stopped (a long job, or a server, which
/// needs a load); then what was not tried; last what needs arguments.
fn rank(candidate: &Candidate) -> u8 {
    use CargoTargetKind::*;
    match (&candidate.probe, candidate.target.kind) {
        (_, Bench) => 1,
        (Probe::Ran { .. }, Bin) => 0,
        (Probe::Ran { .. }, _) => 2,
        (Probe::StillRunning { .. }, Bin) => 3,
        (Probe::StillRunning { .. }, _) => 4,
        (Probe::NotChecked(_), Bin) => 5,
        (Probe::NotChecked(_), _) => 6,
        (Probe::Failed { .. }, Bin) => 7,
        (Probe::Failed { .. }, _) => 8,
    }
}

fn kind_name(kind: CargoTargetKind) -> &'static str {
    match kind {
        CargoTargetKind::Bin => "binary",
        CargoTargetKind::Example => "example",
        CargoTargetKind::Bench => "criterion bench",
    }
}

/// Why the default is the default, in one sentence.
fn why_default(chosen: &Candidate, workloads: &[(String, &Candidate)]) -> String {
    let what = format!("{} `{}`", kind_name(chosen.target.kind), chosen.target.name);
    let binaries_failed = workloads
        .iter()
        .any(|(_, c)| c.target.kind == CargoTargetKind::Bin)
        && workloads.iter().all(|(_, c)| {
            c.target.kind != CargoTargetKind::Bin || matches!(c.probe, Probe::Failed { .. })
        });
    match &chosen.probe {
        Probe::Ran { seconds } => {
            format!("{what} runs without arguments (it ran and exited 0 in {seconds:.1} s)")
        }
        Probe::StillRunning { seconds } => format!(
            "{what} runs without arguments (still running after {seconds:.0} s, so stopped: a \
             long job, or a server, which needs a load: docs/config.md)"
        ),
        Probe::NotChecked(why) if chosen.target.kind == CargoTargetKind::Bench => {
            let besides = if binaries_failed {
                "; every binary needs arguments"
            } else {
                ""
            };
            format!("{what} needs no arguments ({why}){besides}")
        }
        Probe::NotChecked(why) => format!("{what}, the first binary ({why})"),
        Probe::Failed { .. } => format!(
            "every target needs arguments: {what} is the first {}, give it `args`",
            kind_name(chosen.target.kind)
        ),
    }
}

/// The file's comments and `[defaults]`.
fn header(project: &str, default: &str, why: &str, fuzz: &[CargoTarget]) -> String {
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
"
    );
    if !fuzz.is_empty() {
        let names: Vec<String> = fuzz
            .iter()
            .map(|t| format!("{} ({})", t.name, t.package))
            .collect();
        let _ = writeln!(
            text,
            "#\n# Left out, fuzz targets (they fuzz until stopped): {}.",
            names.join(", ")
        );
    }
    let _ = write!(
        text,
        "
[defaults]
# The default: {why}.
workload = {default}   # what profile-baseline, flamegraph and memory run without --workload
runs = 5                 # measured runs per baseline
warmup = 1               # unmeasured runs before them
results_dir = \"results\"
build_profile = \"profiling\"  # release with debug info ([profile.profiling] of Cargo.toml, if any)
timeout = 600            # seconds one run may take

# [params.size]
# default = 10000
# help = \"Input size of the workload\"
",
        why = comment_text(why),
        default = toml_string(default),
    );
    text
}

/// One `[workloads.NAME]` table.
fn workload_table(text: &mut String, name: &str, candidate: &Candidate) {
    let target = &candidate.target;
    let key = toml_key(name);
    let package = toml_string(&target.package);
    let target_name = toml_string(&target.name);
    let (kind, key_name) = match target.kind {
        CargoTargetKind::Bin => ("binary", "cargo_bin"),
        CargoTargetKind::Example => ("example", "example"),
        CargoTargetKind::Bench => ("criterion bench", "bench"),
    };
    let _ = writeln!(
        text,
        "[workloads.{key}]\n\
         description = {}\n\
         {key_name} = {target_name}\n\
         package = {package}",
        toml_string(&format!(
            "{kind} {} of package {}",
            target.name, target.package
        )),
    );
    match &candidate.probe {
        Probe::Failed { status, said } => {
            let _ = writeln!(
                text,
                "# Needs arguments: without any it failed ({status}) saying: {}",
                comment_text(said)
            );
        }
        Probe::StillRunning { seconds } => {
            // Without a bound, the first task would wait for the timeout.
            let _ = writeln!(
                text,
                "# Still running {seconds:.0} s after it started without arguments: a long job, \
                 or a server\n# (then declare its load: [workloads.{key}.load], docs/config.md).\n\
                 run_for = {STILL_RUNNING_RUN_FOR}              # each run is stopped after this many \
                 seconds: remove it once it ends by itself"
            );
        }
        _ => {}
    }
    if target.kind == CargoTargetKind::Bench {
        let _ = writeln!(
            text,
            "profile_time = {BENCH_PROFILE_TIME}         # seconds per benchmark (criterion's --profile-time)\n\
             # filter = \"NAME\"        # only the benchmarks whose id contains NAME"
        );
        return;
    }
    let _ = writeln!(
        text,
        "args = []                 # e.g. [\"--size\", \"{{size}}\"]\n\
         # A number the program prints on every run, compared like the timings:\n\
         # [[workloads.{key}.metrics]]\n\
         # name = \"ops_per_sec\"\n\
         # pattern = \"ops_per_sec={{}}\"   # {{}} marks the number in a line of output\n\
         # better = \"higher\""
    );
}

/// Text for a one-line comment: no line breaks, no control characters,
/// not too long (a program's own words go there).
fn comment_text(text: &str) -> String {
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.trim();
    match text.char_indices().nth(160) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    }
}

/// Workload names: a binary by its name, an example by its name unless a
/// binary has it (then `example-NAME`), a bench as `bench-NAME`; xtask
/// packages left out.
fn name_workloads(candidates: &[Candidate]) -> Vec<(String, &Candidate)> {
    let mut named: Vec<(String, &Candidate)> = Vec::new();
    for kind in [
        CargoTargetKind::Bin,
        CargoTargetKind::Example,
        CargoTargetKind::Bench,
    ] {
        for candidate in candidates
            .iter()
            .filter(|c| c.target.kind == kind && !is_xtask(&c.target.package))
        {
            let target = &candidate.target;
            let base = match kind {
                CargoTargetKind::Bench => format!("bench-{}", as_label(&target.name)),
                _ => as_label(&target.name),
            };
            let taken = |name: &str, named: &[(String, &Candidate)]| {
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
            named.push((name, candidate));
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

    fn candidate(package: &str, name: &str, kind: CargoTargetKind, probe: Probe) -> Candidate {
        Candidate {
            target: target(package, name, kind),
            probe,
        }
    }

    fn ran() -> Probe {
        Probe::Ran { seconds: 0.2 }
    }

    fn failed(said: &str) -> Probe {
        Probe::Failed {
            status: "exit status 2".into(),
            said: said.into(),
        }
    }

    fn loads(starter: &Starter) -> Config {
        Config::parse(Path::new("/p/profiling.toml"), &starter.text)
            .unwrap_or_else(|e| panic!("{e}\n{}", starter.text))
    }

    #[test]
    fn every_target_becomes_a_workload_that_loads() {
        let bench = Probe::NotChecked("criterion's own main".into());
        let candidates = [
            candidate("app", "app", CargoTargetKind::Bin, ran()),
            candidate("app", "app", CargoTargetKind::Example, ran()),
            candidate("tools", "gen data", CargoTargetKind::Bin, ran()),
            candidate("tools", "latest", CargoTargetKind::Bin, ran()),
            candidate("app", "throughput", CargoTargetKind::Bench, bench),
            candidate("xtask", "xtask", CargoTargetKind::Bin, ran()),
            candidate(
                "xtask-profiling",
                "xtask-profiling",
                CargoTargetKind::Bin,
                ran(),
            ),
            candidate(
                "cargo-profile",
                "cargo-profile",
                CargoTargetKind::Bin,
                ran(),
            ),
        ];
        let starter = render("my-project", &candidates, &[]).unwrap();
        let config = loads(&starter);
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
        assert_eq!(starter.default, "app");
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
        assert!(starter.text.contains("in my-project"), "{}", starter.text);
        assert!(starter.need_args.is_empty());
    }

    /// A CLI whose main wants a pattern, a server that runs until stopped,
    /// and a criterion bench: the bench is the default, the CLI is named as
    /// needing arguments, with its own words.
    #[test]
    fn a_cli_that_needs_arguments_is_never_the_default() {
        let candidates = [
            candidate(
                "cli",
                "grepper",
                CargoTargetKind::Bin,
                failed("error: <PATTERN> is required\n"),
            ),
            candidate(
                "srv",
                "server",
                CargoTargetKind::Bin,
                Probe::StillRunning { seconds: 2.0 },
            ),
            candidate(
                "cli",
                "search",
                CargoTargetKind::Bench,
                Probe::NotChecked("a bench".into()),
            ),
        ];
        let starter = render("p", &candidates, &[]).unwrap();
        let config = loads(&starter);
        assert_eq!(starter.default, "bench-search");
        assert_eq!(
            config.defaults.workload.unwrap().into_inner(),
            "bench-search"
        );
        assert_eq!(
            starter.need_args,
            [(
                "grepper".to_string(),
                "exit status 2: error: <PATTERN> is required\n".to_string()
            )]
        );
        assert!(
            starter.text.contains("# Needs arguments: without any it failed (exit status 2) saying: error: <PATTERN> is required\nargs = []"),
            "{}",
            starter.text
        );
        assert!(
            starter.text.contains("a long job, or a server"),
            "{}",
            starter.text
        );
        assert!(
            starter.why.contains("criterion bench `search`"),
            "{}",
            starter.why
        );

        // A program that did not end by itself is bounded, so that the
        // first task ends; one that needs arguments is not.
        assert_eq!(config.workloads["server"].run_for, Some(10.0));
        assert_eq!(config.workloads["grepper"].run_for, None);

        // Without the bench, the server that ran is preferred to the CLI.
        let starter = render("p", &candidates[..2], &[]).unwrap();
        assert_eq!(starter.default, "server");
        assert!(
            starter.why.contains("still running after 2 s"),
            "{}",
            starter.why
        );
    }

    #[test]
    fn when_everything_needs_arguments_the_first_binary_is_the_default_and_says_so() {
        let candidates = [
            candidate(
                "grep",
                "simplegrep",
                CargoTargetKind::Example,
                failed("Usage: simplegrep PATTERN"),
            ),
            candidate(
                "ripgrep",
                "rg",
                CargoTargetKind::Bin,
                failed("rg: ripgrep requires at least one pattern"),
            ),
        ];
        let starter = render("ripgrep", &candidates, &[]).unwrap();
        assert_eq!(starter.default, "rg");
        assert!(
            starter
                .why
                .starts_with("every target needs arguments: binary `rg`"),
            "{}",
            starter.why
        );
        assert_eq!(starter.need_args.len(), 2);
        loads(&starter);
    }

    #[test]
    fn an_example_that_runs_beats_a_binary_that_needs_arguments() {
        let candidates = [
            candidate(
                "cli",
                "cli",
                CargoTargetKind::Bin,
                failed("usage: cli FILE"),
            ),
            candidate("lib", "demo", CargoTargetKind::Example, ran()),
        ];
        let starter = render("p", &candidates, &[]).unwrap();
        assert_eq!(starter.default, "demo");
        assert!(
            starter
                .why
                .contains("example `demo` runs without arguments"),
            "{}",
            starter.why
        );
    }

    #[test]
    fn fuzz_targets_are_named_as_left_out() {
        let candidates = [candidate("app", "app", CargoTargetKind::Bin, ran())];
        let fuzz = [target("fuzz", "fuzz_glob", CargoTargetKind::Bin)];
        let starter = render("p", &candidates, &fuzz).unwrap();
        assert!(
            starter
                .text
                .contains("# Left out, fuzz targets (they fuzz until stopped): fuzz_glob (fuzz)."),
            "{}",
            starter.text
        );
        let config = loads(&starter);
        assert_eq!(config.workloads.len(), 1);
    }

    #[test]
    fn nothing_to_run_gives_no_file() {
        assert!(render("lib", &[], &[]).is_none());
        let xtask = [candidate("xtask", "xtask", CargoTargetKind::Bin, ran())];
        assert!(render("x", &xtask, &[]).is_none());
    }

    #[test]
    fn what_a_program_said_stays_one_comment_line() {
        assert_eq!(comment_text("a\nb\r\tc\n"), "a b  c");
        let long = "x".repeat(300);
        assert_eq!(comment_text(&long).chars().count(), 161);
    }
}
