//! Counting a workload's instructions under valgrind's callgrind, for
//! `profile-compare --counter instructions`: one run with argv as prepared,
//! only the workload's declared environment and address-space
//! randomisation off, so that the count is repeatable where timings are
//! noisy. The run also simulates the caches, with a geometry pinned for
//! every machine, and weighs instructions and memory accesses into an
//! estimate of cycles: a measure of time as repeatable as the count.
//! `bench-verdicts` counts instructions alone (faster). Building
//! callgrind's argv and reading its output is `tools::callgrind`; this runs it.

use crate::runs::measure::MeasureSummary;
use crate::runs::measure::RunFailure;
use crate::runs::process::{self, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::callgrind::{self, Simulation, Totals};
use crate::tools::Toolbox;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;

/// The measure of the instruction count.
pub const INSTRUCTIONS: &str = "instructions";
/// The measure of the cycles estimated from the simulated caches.
pub const ESTIMATED_CYCLES: &str = "estimated_cycles";

/// What one counted run measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counted {
    pub instructions: u64,
    pub estimated_cycles: u64,
}

/// Counts the instructions of one run of `prepared` under callgrind, with
/// argv as prepared and only the workload's declared environment. Writes
/// callgrind.out into `dir`.
pub fn count_instructions(tools: &Toolbox, prepared: &Prepared, dir: &Path) -> anyhow::Result<u64> {
    run(tools, prepared, dir, Simulation::InstructionsOnly).map(|totals| totals.instructions)
}

/// Counts the instructions of one run of `prepared` and estimates its
/// cycles from callgrind's cache simulation (about 2.5 times as slow as
/// counting alone). Writes callgrind.out into `dir`.
pub fn count(tools: &Toolbox, prepared: &Prepared, dir: &Path) -> anyhow::Result<Counted> {
    let totals = run(tools, prepared, dir, Simulation::Caches)?;
    let out = dir.join(callgrind::OUT_FILE);
    let estimated_cycles = totals
        .estimated_cycles()
        .map_err(|e| anyhow::anyhow!("{}: {e}", out.display()))?
        .with_context(|| {
            format!(
                "{} has no cache counts (events {}): callgrind ran without --cache-sim=yes?",
                out.display(),
                totals.events.keys().cloned().collect::<Vec<_>>().join(" ")
            )
        })?;
    Ok(Counted {
        instructions: totals.instructions,
        estimated_cycles,
    })
}

/// Runs `prepared` once under callgrind and reads what it counted: the
/// output file's totals, or the `Collected :` line of its stderr when it
/// wrote no file (instructions only, then).
fn run(
    tools: &Toolbox,
    prepared: &Prepared,
    dir: &Path,
    simulation: Simulation,
) -> anyhow::Result<Totals> {
    let valgrind = tools
        .valgrind
        .path()
        .context("--counter instructions counts with valgrind's callgrind")?
        .to_path_buf();
    let env_program =
        which::which("env").context("`env` (to pin the environment) is not on PATH")?;
    let out = dir.join(callgrind::OUT_FILE);
    let env: Vec<(String, String)> = prepared
        .env
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let mut spec = Spec::new(env_program).args(callgrind::command(
        &valgrind,
        &out,
        &env,
        &prepared.program,
        &prepared.args,
        simulation,
    ));
    spec.cwd = Some(prepared.cwd.clone());
    // callgrind runs a program ~50x slower than natively, and the cache
    // simulation slows it about 2.5 times more.
    let slowdown = match simulation {
        Simulation::InstructionsOnly => 50,
        Simulation::Caches => 200,
    };
    let timeout = prepared.timeout.saturating_mul(slowdown);
    spec.timeout = Some(timeout);
    spec.watch = vec!["Collected".into(), "Events".into()];
    let command = spec.display();
    let spinner = Progress::spinner(&format!("callgrind of {}", prepared.name));
    let outcome = {
        let _fixed_layout = FixedAddressSpace::enter();
        process::run(spec)?
    };
    spinner.finish();
    if !outcome.success() {
        return Err(RunFailure {
            command,
            what: outcome.describe(Some(timeout)),
            tail: outcome.tail(),
        }
        .into());
    }
    match std::fs::read_to_string(&out) {
        Ok(text) => callgrind::parse_totals(&text).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the instruction count from {}: {e}",
                out.display()
            )
        }),
        Err(_) => {
            let instructions = callgrind::parse_stderr(outcome.watched.iter().map(String::as_str))
                .with_context(|| {
                    format!(
                        "callgrind wrote no {} and printed no `Collected :` line:\n{}",
                        out.display(),
                        outcome.tail()
                    )
                })?;
            Ok(Totals {
                instructions,
                events: BTreeMap::from([(callgrind::EVENT.to_string(), instructions)]),
            })
        }
    }
}

/// Address-space randomisation off for the programs this thread starts
/// while it lives (Linux's `ADDR_NO_RANDOMIZE` persona, inherited through
/// fork and exec, as `setarch -R` does), back on when dropped: where the
/// stack and heap lie must not vary from one counted run to the next.
struct FixedAddressSpace {
    #[cfg(target_os = "linux")]
    before: Option<nix::sys::personality::Persona>,
}

impl FixedAddressSpace {
    fn enter() -> FixedAddressSpace {
        #[cfg(target_os = "linux")]
        {
            use nix::sys::personality::{self, Persona};
            let before = personality::get().ok();
            if let Some(current) = before {
                // Refused only by seccomp sandboxes: the count is then as
                // repeatable as the kernel's randomisation allows.
                let _ = personality::set(current | Persona::ADDR_NO_RANDOMIZE);
            }
            FixedAddressSpace { before }
        }
        #[cfg(not(target_os = "linux"))]
        FixedAddressSpace {}
    }
}

impl Drop for FixedAddressSpace {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        if let Some(before) = self.before {
            let _ = nix::sys::personality::set(before);
        }
    }
}

/// The `instructions` measure of a result: one exact value.
pub fn instructions_summary(count: u64) -> MeasureSummary {
    exact_summary(count, "instructions")
}

/// A counted run's measures, each one exact value: `instructions` and
/// `estimated_cycles`.
pub fn counted_summaries(counted: &Counted) -> BTreeMap<String, MeasureSummary> {
    BTreeMap::from([
        (
            INSTRUCTIONS.into(),
            instructions_summary(counted.instructions),
        ),
        (
            ESTIMATED_CYCLES.into(),
            exact_summary(counted.estimated_cycles, "cycles"),
        ),
    ])
}

fn exact_summary(count: u64, unit: &str) -> MeasureSummary {
    let value = count as f64;
    MeasureSummary {
        unit: unit.into(),
        better: crate::config::Better::Lower,
        samples: vec![value],
        summary: crate::stats::summarize(&[value]).expect("one finite value"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Children started inside see randomisation off; outside, as before.
    #[cfg(target_os = "linux")]
    #[test]
    fn counted_runs_start_without_address_randomisation() {
        let persona = || {
            let out = std::process::Command::new("cat")
                .arg("/proc/self/personality")
                .output()
                .unwrap();
            u32::from_str_radix(String::from_utf8_lossy(&out.stdout).trim(), 16).unwrap()
        };
        const ADDR_NO_RANDOMIZE: u32 = 0x0040000;
        let outside = persona();
        {
            let _fixed = FixedAddressSpace::enter();
            assert_ne!(persona() & ADDR_NO_RANDOMIZE, 0);
        }
        assert_eq!(persona(), outside);
    }

    #[test]
    fn instruction_counts_are_one_exact_sample() {
        let m = instructions_summary(27_948_688);
        assert_eq!(m.samples, vec![27_948_688.0]);
        assert_eq!((m.summary.n, m.summary.median), (1, 27_948_688.0));
        assert_eq!(m.better, crate::config::Better::Lower);
    }

    #[test]
    fn a_counted_run_gives_both_exact_measures() {
        let measures = counted_summaries(&Counted {
            instructions: 3_247_319,
            estimated_cycles: 4_811_419,
        });
        let names: Vec<&str> = measures.keys().map(String::as_str).collect();
        assert_eq!(names, [ESTIMATED_CYCLES, INSTRUCTIONS]);
        let cycles = &measures[ESTIMATED_CYCLES];
        assert_eq!(
            (cycles.unit.as_str(), cycles.samples.as_slice()),
            ("cycles", &[4_811_419.0][..])
        );
        assert_eq!(measures[INSTRUCTIONS].samples, vec![3_247_319.0]);
    }
}
