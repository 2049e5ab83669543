//! Whether a binary or example needs arguments, found by trying it: built
//! with the profiling profile (the build the first task then reuses),
//! started with no arguments and an empty standard input, and stopped
//! after a few seconds. A program that wants arguments says so and exits
//! with a failure at once; one that runs as written exits 0 or is still
//! running (a long job, or a server). No reading of the source can follow
//! every argument parser (clap, lexopt, a hand-written loop); running it
//! can, and the first task would run it just so.

use crate::config::starter::{is_xtask, Candidate, CargoTarget, CargoTargetKind, Probe};
use crate::config::Target;
use crate::runs::process::{RunFor, Spec};
use std::path::Path;
use std::time::Duration;

/// How long a program may run before it counts as running as written.
pub const PROBE_TIME: Duration = Duration::from_secs(2);

/// At most this many targets are tried: each is a build.
pub const MOST_PROBED: usize = 8;

/// Every target but the xtasks' with what its probe found. Benches are
/// never run (they need no arguments: the bench workload gives criterion
/// its own); examples only when no binary runs without arguments and there
/// is no bench, since only then can one be the default (each is a build of
/// its own, with its package's dev-dependencies). `probe` false: none is
/// tried (a dry run).
pub fn candidates(
    root: &Path,
    profile: &str,
    targets: &[CargoTarget],
    probe: bool,
) -> anyhow::Result<Vec<Candidate>> {
    let targets: Vec<&CargoTarget> = targets.iter().filter(|t| !is_xtask(&t.package)).collect();
    let mut tried = 0;
    let mut out: Vec<Candidate> = Vec::new();
    for kind in [
        CargoTargetKind::Bin,
        CargoTargetKind::Example,
        CargoTargetKind::Bench,
    ] {
        let runs_as_written = out
            .iter()
            .find(|c| matches!(c.probe, Probe::Ran { .. } | Probe::StillRunning { .. }))
            .map(|c| c.target.name.clone());
        let bench = targets.iter().any(|t| t.kind == CargoTargetKind::Bench);
        for target in targets.iter().filter(|t| t.kind == kind) {
            let probe = match (kind, &runs_as_written) {
                (CargoTargetKind::Bench, _) => {
                    Probe::NotChecked("criterion runs it, no arguments".into())
                }
                _ if !probe => Probe::NotChecked("not tried: dry run".into()),
                (CargoTargetKind::Example, Some(bin)) => {
                    Probe::NotChecked(format!("not tried: binary `{bin}` runs without arguments"))
                }
                (CargoTargetKind::Example, None) if bench => {
                    Probe::NotChecked("not tried: a criterion bench is the default".into())
                }
                _ if tried == MOST_PROBED => Probe::NotChecked(format!(
                    "not tried: only the first {MOST_PROBED} binaries and examples are"
                )),
                _ => {
                    tried += 1;
                    crate::runs::process::check_interrupted()?;
                    try_without_arguments(root, profile, target)
                }
            };
            out.push(Candidate {
                target: (*target).clone(),
                probe,
            });
        }
    }
    Ok(out)
}

/// Builds one target and runs it with no arguments.
fn try_without_arguments(root: &Path, profile: &str, target: &CargoTarget) -> Probe {
    let which = match target.kind {
        CargoTargetKind::Example => Target::Example(&target.name),
        _ => Target::Bin(&target.name),
    };
    let executable = match crate::runs::build::build(root, profile, which, Some(&target.package)) {
        Ok(path) => path,
        Err(error) => return Probe::NotChecked(format!("not tried: {error:#}")),
    };
    let spec = Spec {
        cwd: Some(root.to_path_buf()),
        run_for: Some(RunFor {
            duration: PROBE_TIME,
            signal: libc::SIGINT,
            grace: Duration::from_secs(1),
        }),
        ..Spec::new(&executable)
    };
    let outcome = match crate::runs::process::run(spec) {
        Ok(outcome) => outcome,
        Err(error) => return Probe::NotChecked(format!("not tried: {error:#}")),
    };
    let seconds = outcome.wall.as_secs_f64();
    if outcome.stopped.is_some() {
        return Probe::StillRunning { seconds };
    }
    if outcome.status.success() {
        return Probe::Ran { seconds };
    }
    // What it said: its first line on standard error, else standard output.
    let said = [&outcome.stderr_tail, &outcome.stdout_tail]
        .into_iter()
        .flat_map(|lines| lines.iter())
        .map(|line| line.trim())
        .find(|line| !line.is_empty())
        .unwrap_or("(nothing)")
        .to_string();
    Probe::Failed {
        status: outcome.describe(None),
        said,
    }
}
