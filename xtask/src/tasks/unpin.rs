//! `cargo xtask unpin NAME`: removes a pin; the result stays.

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
    let mut pins = Pins::load(&store.dir)?;
    match pins.pins.remove(&args.name) {
        Some(pin) => {
            pins.save(&store.dir)?;
            println!("unpinned {} (was {}; the result stays)", args.name, pin.dir);
            Ok(0)
        }
        None => {
            let known: Vec<&str> = pins.pins.keys().map(String::as_str).collect();
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
