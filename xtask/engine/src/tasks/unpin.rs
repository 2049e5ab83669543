//! `cargo xtask unpin NAME`: removes a pin; the result stays.

use crate::reports::stdout::outln;
use crate::results::pins::Pins;
use crate::results::Store;
use crate::tasks::invocation::Invocation;
use anyhow::bail;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The pin to remove (the result itself stays).
    pub name: String,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    // unpin is how a bad entry of a hand-edited pins.json is removed, so it
    // works on a file that other tasks refuse; the other entries stay as
    // they were.
    let mut inspection = Pins::inspect(&store.dir);
    match inspection.remove(&args.name, &store.dir)? {
        Some(was) => {
            outln!("unpinned {} (was {was}; the result stays)", args.name);
            for problem in inspection.problems() {
                eprintln!("warning: {problem}");
            }
            Ok(0)
        }
        None => {
            let mut known: Vec<&str> = inspection.pins.pins.keys().map(String::as_str).collect();
            known.extend(inspection.bad_entries.keys().map(String::as_str));
            known.sort_unstable();
            bail!(
                "no pin `{}`; {}",
                args.name,
                if known.is_empty() {
                    "there are no pins".to_string()
                } else {
                    format!("pins: {}", known.join(", "))
                }
            )
        }
    }
}
