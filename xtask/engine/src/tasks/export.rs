//! `cargo xtask export RUN --format bmf|pprof|csv|markdown|speedscope [-o FILE]`: a
//! result in the formats other tools read.

use crate::reports::export::{self, Exporter};
use crate::results::Store;
use crate::tasks::invocation::Invocation;
use anyhow::{bail, Context};
use std::io::IsTerminal;
use std::path::PathBuf;

#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Bencher Metric Format JSON (bencher run --adapter json).
    Bmf,
    /// The CPU profile as gzipped pprof protobuf (go tool pprof, Pyroscope, Parca).
    Pprof,
    /// The timing table as CSV.
    Csv,
    /// The timing table as Markdown.
    Markdown,
    /// Every folded profile (CPU, off-CPU, heap, per scale and benchmark) as
    /// speedscope JSON (https://www.speedscope.app).
    Speedscope,
}

#[derive(clap::Args, Debug)]
pub struct Args {
    /// The result: a pin, directory name or path, label, `latest` or `previous`.
    #[arg(default_value = "latest")]
    pub run: String,
    #[arg(long, value_enum)]
    pub format: Format,
    /// Write here instead of to standard output.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// pprof: the scale whose CPU profile to export [default: the first with one].
    #[arg(long)]
    pub scale: Option<String>,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    let entry = store.resolve(&args.run)?;
    if args.scale.is_some() && args.format != Format::Pprof {
        bail!(
            "--scale chooses the CPU profile of --format pprof; the other formats hold every scale"
        );
    }
    let exporter: Box<dyn Exporter> = match args.format {
        Format::Bmf => Box::new(export::Bmf),
        Format::Csv => Box::new(export::Csv),
        Format::Markdown => Box::new(export::Markdown),
        Format::Speedscope => Box::new(export::Speedscope),
        Format::Pprof => Box::new(export::Pprof {
            scale: args.scale.clone(),
        }),
    };
    if exporter.is_binary() && args.output.is_none() && std::io::stdout().is_terminal() {
        bail!("a pprof profile is binary: give -o FILE.pb.gz (or redirect standard output)");
    }
    let bytes = exporter.serialize(&entry)?;
    match &args.output {
        Some(path) => {
            std::fs::write(path, &bytes)
                .with_context(|| format!("cannot write {}", path.display()))?;
            eprintln!(
                "wrote {} ({:?} of {})",
                path.display(),
                args.format,
                entry.name
            );
        }
        None => crate::reports::stdout::write_bytes(&bytes),
    }
    Ok(0)
}
