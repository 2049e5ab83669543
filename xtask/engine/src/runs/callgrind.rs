//! Counting a workload's instructions under valgrind's callgrind, for
//! `profile-compare --counter instructions`: one run with argv as prepared,
//! only the workload's declared environment and address-space
//! randomisation off, so that the count is repeatable where timings are
//! noisy. (No cache simulation: the count is of instructions alone, with
//! no simulated cache geometry to pin.) Building callgrind's argv and reading
//! its output is `tools::callgrind`; this runs it.

use crate::runs::measure::MeasureSummary;
use crate::runs::measure::RunFailure;
use crate::runs::process::{self, Spec};
use crate::runs::progress::Progress;
use crate::runs::workload::Prepared;
use crate::tools::{callgrind, Toolbox};
use anyhow::Context;
use std::path::Path;

/// Counts the instructions of one run of `prepared` under callgrind, with
/// argv as prepared and only the workload's declared environment. Writes
/// callgrind.out into `dir`.
pub fn count_instructions(tools: &Toolbox, prepared: &Prepared, dir: &Path) -> anyhow::Result<u64> {
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
    ));
    spec.cwd = Some(prepared.cwd.clone());
    // callgrind runs a program ~50x slower than natively.
    spec.timeout = Some(prepared.timeout.saturating_mul(50));
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
            what: outcome.describe(Some(prepared.timeout.saturating_mul(50))),
            tail: outcome.tail(),
        }
        .into());
    }
    match std::fs::read_to_string(&out) {
        Ok(text) => callgrind::parse_out_file(&text).map_err(|e| {
            anyhow::anyhow!(
                "cannot read the instruction count from {}: {e}",
                out.display()
            )
        }),
        Err(_) => {
            callgrind::parse_stderr(outcome.watched.iter().map(String::as_str)).with_context(|| {
                format!(
                    "callgrind wrote no {} and printed no `Collected :` line:\n{}",
                    out.display(),
                    outcome.tail()
                )
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
    let value = count as f64;
    MeasureSummary {
        unit: "instructions".into(),
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
}
