//! `cargo xtask pin NAME [RUN]`: a stable name for a result, usable wherever
//! a result is named; cleanup never removes a pinned result.

use crate::reports::stdout::outln;
use crate::results::pins::{validate_pin_name, Pin, Pins};
use crate::results::{timestamp_iso, Store};
use crate::tasks::invocation::Invocation;
use anyhow::{bail, Context};
use std::time::SystemTime;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The pin's name, e.g. `release-1.2` or `baseline`.
    pub name: String,
    /// The result to pin: a directory name, label, pin, `latest` or `previous`.
    #[arg(default_value = "latest")]
    pub run: String,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    validate_pin_name(&args.name)?;
    let store = Store::new(config.results_dir());
    let entry = store.resolve(&args.run)?;
    ensure_inside(&store, &entry.dir)?;
    if !crate::results::pins::is_result_dir_name(&entry.name) {
        anyhow::bail!(
            "`{}` is not a result directory of {}: only results can be pinned",
            entry.name,
            store.dir.display()
        );
    }
    let mut pins = Pins::load(&store.dir)?;
    let previous = pins.pins.insert(
        args.name.clone(),
        Pin {
            dir: entry.name.clone(),
            pinned: timestamp_iso(SystemTime::now()),
        },
    );
    pins.save(&store.dir)?;
    match previous {
        Some(old) if old.dir != entry.name => {
            outln!("moved pin {} from {} to {}", args.name, old.dir, entry.name)
        }
        _ => outln!("pinned {} → {}", args.name, entry.name),
    }
    Ok(0)
}

/// Pins name results of this results directory only: a pin is a directory
/// name, and cleanup protects it there.
fn ensure_inside(store: &Store, dir: &std::path::Path) -> anyhow::Result<()> {
    let results = std::fs::canonicalize(&store.dir).with_context(|| {
        format!(
            "cannot resolve the results directory {}",
            store.dir.display()
        )
    })?;
    let meta = std::fs::symlink_metadata(dir)
        .with_context(|| format!("cannot examine {}", dir.display()))?;
    let parent = dir.parent().map(std::fs::canonicalize).transpose()?;
    if meta.file_type().is_symlink() || parent.as_deref() != Some(results.as_path()) {
        bail!(
            "{} is not a result directory inside {}: only results there can be pinned",
            dir.display(),
            store.dir.display()
        );
    }
    Ok(())
}
