//! `cargo xtask report`: writes `results/index.html`, one self-contained
//! page with every result, the comparisons and the trend charts.

use crate::reports::html;
use crate::reports::stdout::outln;
use crate::results::inventory::{self, Kind};
use crate::results::pins::Pins;
use crate::results::series::{collect, Filter};
use crate::results::Store;
use crate::tasks::invocation::Invocation;
use anyhow::Context;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct Args {
    /// Where to write the page [default: index.html in the results directory].
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Chart only the newest N results (the table lists them all).
    #[arg(long, value_name = "N", value_parser = crate::config::bounds::last)]
    pub last: Option<usize>,
}

pub fn run(invocation: &Invocation, args: &Args) -> anyhow::Result<u8> {
    let config = invocation.config()?;
    let store = Store::new(config.results_dir());
    std::fs::create_dir_all(&store.dir)
        .with_context(|| format!("cannot create {}", store.dir.display()))?;
    let pins = Pins::load(&store.dir)?;
    let mut items = inventory::scan(&store.dir)?;
    // Results pulled from a shared history, shown and charted beside ours.
    items.extend(inventory::scan_pulled(&store.dir)?);
    // Store::list's order (oldest first), from the same scan.
    let mut entries: Vec<_> = items
        .iter()
        .filter_map(|item| match &item.kind {
            Kind::Result(entry) => Some((**entry).clone()),
            _ => None,
        })
        .collect();
    entries.sort_by(|a, b| (&a.record.created, &a.name).cmp(&(&b.record.created, &b.name)));
    let series = collect(
        &entries,
        &Filter {
            last: args.last,
            ..Filter::default()
        },
    );
    let page = html::page(&store.dir, &items, &pins, &series, Some(config));
    let path = args
        .output
        .clone()
        .unwrap_or_else(|| store.dir.join("index.html"));
    // Written whole then renamed, so a browser never shows half a page.
    crate::results::write_atomically(&path, page)?;
    outln!(
        "{} results, {} charts: {}",
        entries.len(),
        series.len(),
        path.display()
    );
    Ok(0)
}
