//! `cargo xtask pre-release`: the checks a release needs, in order, each
//! reported pass or fail — formatting, lints, tests, a fresh baseline of the
//! configured workload, and the regression gate against the pinned release
//! baseline. Every check runs even when an earlier one failed, so one run
//! shows everything to fix; the summary is Markdown, printed and appended to
//! `$GITHUB_STEP_SUMMARY` in GitHub Actions.

use crate::config::Config;
use crate::config::ParamFlags;
use crate::reports::compare::{self as report, Counter};
use crate::reports::markdown_text::{code_cell, message_cell, text};
use crate::reports::stdout::{out, outln};
use crate::results::Store;
use crate::runs::process::{self, Spec};
use crate::tasks::invocation::Invocation;
use anyhow::{bail, Context};
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

#[derive(clap::Args, Debug, Clone)]
pub struct Args {
    /// The pinned result to gate against (a pin, label or result directory).
    #[arg(long, value_name = "NAME", default_value = "release")]
    pub against: String,
    /// Skip `cargo test`.
    #[arg(long)]
    pub skip_tests: bool,
    /// Skip `cargo fmt --check` and `cargo clippy`.
    #[arg(long)]
    pub skip_lint: bool,
    /// The workload of the fresh baseline [default: defaults.workload].
    #[arg(long)]
    pub workload: Option<String>,
    /// Measured runs of the fresh baseline [default: defaults.runs].
    #[arg(long, value_parser = crate::config::bounds::runs)]
    pub runs: Option<u32>,
    /// No CPU profile in the fresh baseline (faster; no "where it changed").
    #[arg(long)]
    pub no_profile: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pass,
    Fail,
    Skipped,
}

/// One check and how it went. `name` and `detail` are Markdown for a table
/// cell: text from elsewhere (an argument, an error, a name) goes in through
/// `markdown_text`.
#[derive(Debug, Clone)]
pub struct Step {
    pub name: String,
    pub status: Status,
    pub seconds: Option<f64>,
    pub detail: String,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let (config, params) = (invocation.config()?, &invocation.params);
    let runs_cargo = !(args.skip_lint && args.skip_tests);
    if runs_cargo && !crate::config::in_cargo_project(&config.root) {
        anyhow::bail!(
            "pre-release runs cargo fmt, clippy and the tests, and {} is not in a Cargo project: \
             pass --skip-lint --skip-tests for the fresh baseline and the regression gate alone",
            config.root.display()
        );
    }
    let mut steps = code_checks(config, args);
    let fresh_dir = fresh_baseline_step(config, args, params, &mut steps);
    let (regression, compare_markdown) = gate_step(config, args, fresh_dir.as_deref(), &mut steps);
    let mut summary = summary_markdown(&steps);
    if let Some(markdown) = compare_markdown {
        summary.push('\n');
        summary.push_str(&markdown);
    }
    outln!("\n{summary}");
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(Path::new(&path), &summary)?;
    }
    Ok(exit_code(&steps, regression))
}

/// Formatting, lints and tests, each run with cargo unless skipped.
fn code_checks(config: &Config, args: &Args) -> Vec<Step> {
    let mut steps = Vec::new();
    let cargo = crate::tools::cargo_program();
    let lint: [(&str, &[&str]); 2] = [
        ("`cargo fmt --check`", &["fmt", "--check"]),
        (
            "`cargo clippy --all-targets -- -D warnings`",
            &["clippy", "--all-targets", "--", "-D", "warnings"],
        ),
    ];
    for (name, cargo_args) in lint {
        steps.push(if args.skip_lint {
            skipped(name, "--skip-lint")
        } else {
            cargo_step(name, &cargo, cargo_args, &config.root)
        });
    }
    let name = "`cargo test`";
    steps.push(if args.skip_tests {
        skipped(name, "--skip-tests")
    } else {
        cargo_step(name, &cargo, &["test"], &config.root)
    });
    steps
}

/// The fresh baseline as a step; its result directory when it passed.
fn fresh_baseline_step(
    config: &Config,
    args: &Args,
    params: &ParamFlags,
    steps: &mut Vec<Step>,
) -> Option<PathBuf> {
    eprintln!("== fresh baseline ==");
    let started = Instant::now();
    let fresh = fresh_baseline(config, args, params);
    match fresh {
        Ok(dir) => {
            steps.push(Step {
                name: "fresh baseline".into(),
                status: Status::Pass,
                seconds: Some(started.elapsed().as_secs_f64()),
                detail: path_detail(&dir),
            });
            Some(dir)
        }
        Err(error) => {
            steps.push(Step {
                name: "fresh baseline".into(),
                status: Status::Fail,
                seconds: Some(started.elapsed().as_secs_f64()),
                detail: error_detail(&error),
            });
            None
        }
    }
}

/// The regression gate of the fresh baseline against the pinned one, as a
/// step: whether it found a regression, and the comparison's Markdown.
fn gate_step(
    config: &Config,
    args: &Args,
    fresh_dir: Option<&Path>,
    steps: &mut Vec<Step>,
) -> (bool, Option<String>) {
    let gate_name = gate_name(&args.against);
    let store = Store::new(config.results_dir());
    let mut regression = false;
    let mut compare_markdown = None;
    match (fresh_dir, store.resolve(&args.against)) {
        (None, _) => steps.push(skipped(&gate_name, "no fresh baseline")),
        (Some(_), Err(error)) => steps.push(Step {
            name: gate_name,
            status: Status::Fail,
            seconds: None,
            detail: no_pin_detail(&args.against, &error),
        }),
        (Some(dir), Ok(pinned)) => {
            let started = Instant::now();
            let gated = store.resolve(&dir.to_string_lossy()).and_then(|fresh| {
                report::compare_results(config, &store, &pinned, &fresh, Counter::Time, (10, false))
            });
            match gated {
                Ok((report, compare_dir)) => {
                    out!(
                        "{}",
                        report::render_terminal(
                            &report,
                            Some(&compare_dir.display().to_string()),
                            false,
                            true
                        )
                    );
                    regression = !report.gate.passed;
                    compare_markdown = Some(report::render_markdown(&report));
                    steps.push(Step {
                        name: gate_name,
                        status: if regression {
                            Status::Fail
                        } else {
                            Status::Pass
                        },
                        seconds: Some(started.elapsed().as_secs_f64()),
                        detail: gate_detail(&pinned.name, regression, &report.gate.failures),
                    });
                }
                Err(error) => steps.push(Step {
                    name: gate_name,
                    status: Status::Fail,
                    seconds: Some(started.elapsed().as_secs_f64()),
                    detail: error_detail(&error),
                }),
            }
        }
    }
    (regression, compare_markdown)
}

/// 0 when every check passed (or was skipped); 3 when only the gate failed,
/// on a regression; 1 when anything else failed.
pub fn exit_code(steps: &[Step], regression: bool) -> u8 {
    let failed: Vec<&Step> = steps.iter().filter(|s| s.status == Status::Fail).collect();
    match failed.as_slice() {
        [] => 0,
        [only] if regression && only.name.starts_with("gate") => crate::tasks::exit::REGRESSION,
        _ => crate::tasks::exit::FAILURE,
    }
}

/// The label of the fresh baseline's result.
const FRESH_LABEL: &str = "pre-release";

/// The fresh baseline, made exactly as `cargo xtask profile-baseline` makes
/// it: this executable runs that task (tasks do not call each other), its
/// output on the terminal, with the same config, parameters and `-v`.
fn fresh_baseline(config: &Config, args: &Args, params: &ParamFlags) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find the xtask executable")?;
    let mut spec = Spec::new(exe).args(baseline_argv(config, args, params));
    spec.cwd = Some(config.root.clone());
    spec.inherit_output = true;
    let outcome = process::run(spec)?;
    if !outcome.success() {
        bail!(
            "`cargo xtask profile-baseline` failed ({}): its error is printed above",
            outcome.describe(None)
        );
    }
    Ok(Store::new(config.results_dir()).resolve(FRESH_LABEL)?.dir)
}

fn baseline_argv(config: &Config, args: &Args, params: &ParamFlags) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec!["--config".into(), config.path.clone().into()];
    if process::verbose() {
        argv.push("-v".into());
    }
    argv.extend(["profile-baseline", "--label", FRESH_LABEL].map(OsString::from));
    if let Some(runs) = args.runs {
        argv.extend(["--runs".into(), runs.to_string().into()]);
    }
    if let Some(workload) = &args.workload {
        argv.extend(["--workload".into(), workload.into()]);
    }
    if args.no_profile {
        argv.push("--no-profile".into());
    }
    for (name, value) in params {
        argv.extend([format!("--{name}").into(), value.into()]);
    }
    argv
}

fn skipped(name: &str, why: &str) -> Step {
    Step {
        name: name.to_string(),
        status: Status::Skipped,
        seconds: None,
        detail: format!("skipped ({why})"),
    }
}

/// Runs one cargo command in the workspace, its output going straight to the
/// terminal (and CI log), where its errors are read.
fn cargo_step(name: &str, cargo: &str, cargo_args: &[&str], root: &Path) -> Step {
    eprintln!("== {name} ==");
    let mut spec = Spec::new(cargo).args(cargo_args.iter().copied());
    spec.cwd = Some(root.to_path_buf());
    spec.inherit_output = true;
    let started = Instant::now();
    let outcome = process::run(spec);
    let seconds = Some(started.elapsed().as_secs_f64());
    match outcome {
        Ok(outcome) if outcome.success() => Step {
            name: name.to_string(),
            status: Status::Pass,
            seconds,
            detail: String::new(),
        },
        Ok(outcome) => Step {
            name: name.to_string(),
            status: Status::Fail,
            seconds,
            detail: format!("{} (its output is above)", outcome.describe(None)),
        },
        Err(error) => Step {
            name: name.to_string(),
            status: Status::Fail,
            seconds,
            detail: error_detail(&error),
        },
    }
}

fn first_line(text: &str) -> String {
    text.lines().next().unwrap_or("").to_string()
}

fn gate_name(against: &str) -> String {
    format!("gate against {}", code_cell(against))
}

fn path_detail(dir: &Path) -> String {
    code_cell(&dir.display().to_string())
}

/// An error's first line; it quotes names in backticks.
fn error_detail(error: &anyhow::Error) -> String {
    message_cell(&first_line(&format!("{error:#}")))
}

fn no_pin_detail(against: &str, error: &anyhow::Error) -> String {
    format!(
        "no result {} to gate against ({}). Pin the release baseline with {} \
         (RUN: a result directory, label or `latest`), or pass --against NAME",
        code_cell(against),
        error_detail(error),
        code_cell(&format!("cargo xtask pin {against} <RUN>")),
    )
}

fn gate_detail(pinned: &str, regression: bool, failures: &[report::GateFailure]) -> String {
    if !regression {
        return format!("no significant regression vs {}", code_cell(pinned));
    }
    let failures: Vec<String> = failures
        .iter()
        .map(|f| {
            format!(
                "{} {:+.1} % (limit {} %)",
                text(&f.measure),
                f.change_pct,
                f.limit_pct
            )
        })
        .collect();
    format!(
        "regressed vs {}: {}",
        code_cell(pinned),
        failures.join("; ")
    )
}

/// The pass/fail table of the checks, in GitHub Markdown.
pub fn summary_markdown(steps: &[Step]) -> String {
    let mut out =
        String::from("## pre-release\n\n| check | result | time | details |\n|---|---|---:|---|\n");
    for step in steps {
        let status = match step.status {
            Status::Pass => "✅ pass",
            Status::Fail => "❌ **fail**",
            Status::Skipped => "⏭️ skipped",
        };
        let time = step
            .seconds
            .map(|s| format!("{s:.1} s"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| {} | {status} | {time} | {} |",
            step.name, step.detail
        );
    }
    let failed = steps.iter().filter(|s| s.status == Status::Fail).count();
    let _ = if failed == 0 {
        writeln!(out, "\n**Ready to release:** every check passed.")
    } else {
        writeln!(
            out,
            "\n**Not ready to release:** {failed} of {} checks failed.",
            steps.len()
        )
    };
    out
}

fn append(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot append to $GITHUB_STEP_SUMMARY ({})", path.display()))?;
    writeln!(file, "{text}").with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn step(name: &str, status: Status) -> Step {
        Step {
            name: name.into(),
            status,
            seconds: Some(1.25),
            detail: text("a | b"),
        }
    }

    #[test]
    fn exit_codes() {
        let pass = step("`cargo test`", Status::Pass);
        let gate_fail = step("gate against `release`", Status::Fail);
        let lint_fail = step("`cargo fmt --check`", Status::Fail);
        assert_eq!(
            exit_code(&[pass.clone(), step("x", Status::Skipped)], false),
            0
        );
        assert_eq!(
            exit_code(&[pass.clone(), gate_fail.clone()], true),
            crate::tasks::exit::REGRESSION
        );
        // A gate that could not run (no pin) is a failure, not a regression.
        assert_eq!(
            exit_code(&[pass, gate_fail.clone()], false),
            crate::tasks::exit::FAILURE
        );
        assert_eq!(
            exit_code(&[lint_fail, gate_fail], true),
            crate::tasks::exit::FAILURE
        );
    }

    #[test]
    fn summary_is_a_markdown_table() {
        let steps = [
            step("`cargo fmt --check`", Status::Pass),
            step("gate", Status::Fail),
            skipped("`cargo test`", "--skip-tests"),
        ];
        let text = summary_markdown(&steps);
        let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
        assert_eq!(rows.len(), 5);
        assert_eq!(rows[1], "|---|---|---:|---|");
        assert_eq!(rows[3], "| gate | ❌ **fail** | 1.2 s | a \\| b |");
        assert!(rows[4].contains("⏭️ skipped") && rows[4].contains("skipped (--skip-tests)"));
        assert!(text.contains("**Not ready to release:** 1 of 3 checks failed."));
    }

    /// The fresh baseline is `profile-baseline` as the command line parses
    /// it (so it gets that task's own defaults), with this config and the
    /// given parameters.
    #[test]
    fn the_fresh_baseline_is_profile_baseline_with_the_same_config_and_parameters() {
        let config = Config::load(&crate::config::project_root().join("profiling.toml")).unwrap();
        let args = Args {
            against: "release".into(),
            skip_tests: true,
            skip_lint: true,
            workload: Some("demo".into()),
            runs: Some(7),
            no_profile: true,
        };
        let argv = baseline_argv(&config, &args, &ParamFlags::new());
        let parsed = <crate::cli::Cli as clap::Parser>::try_parse_from(
            std::iter::once(OsString::from("cargo xtask")).chain(argv),
        )
        .unwrap();
        assert_eq!(parsed.config.as_deref(), Some(config.path.as_path()));
        let crate::cli::Task::ProfileBaseline(baseline) = parsed.task else {
            panic!("not profile-baseline");
        };
        assert_eq!(baseline.label.as_deref(), Some("pre-release"));
        assert_eq!(baseline.runs, Some(7));
        assert_eq!(baseline.workload.as_deref(), Some("demo"));
        assert!(baseline.no_profile);
        assert_eq!(baseline.scale, None);

        let params = ParamFlags::from([("subs".to_string(), "3000".to_string())]);
        let argv = baseline_argv(&config, &args, &params);
        assert!(
            argv.ends_with(&["--subs".into(), "3000".into()]),
            "{argv:?}"
        );
    }

    /// Text from the command line, a result's name, an error and the config
    /// (a measure's name) renders as itself in the summary's table.
    #[test]
    fn hostile_text_renders_literally_in_the_summary() {
        use crate::reports::markdown_text::test_support::*;
        let hostile = hostile();
        let error = anyhow::anyhow!("cannot read {hostile}\nsecond line");
        let failure = report::GateFailure {
            scale: "default".into(),
            measure: hostile.clone(),
            change_pct: 12.0,
            limit_pct: 5.0,
        };
        let step = |name: String, detail: String| Step {
            name,
            status: Status::Fail,
            seconds: None,
            detail,
        };
        let steps = [
            step("fresh baseline".into(), path_detail(Path::new(&hostile))),
            step("fresh baseline".into(), error_detail(&error)),
            step(gate_name(&hostile), no_pin_detail(&hostile, &error)),
            step(gate_name(&hostile), gate_detail(&hostile, true, &[failure])),
        ];
        let text = summary_markdown(&steps);
        assert_eq!(assert_tables_keep_their_columns(&text), 1, "{text}");
        assert_hostile_text_is_literal(&text);
        // The path, the gate's name (twice), the pin (twice), the result and
        // the measure; an error is cut at its first line.
        assert!(
            rendered(&text).matches(&hostile_rendered()).count() >= 7,
            "{text}"
        );
    }
}
