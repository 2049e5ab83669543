//! A run's result put in place, as every task that writes one ends: the
//! machine's description and the result's README written beside its record,
//! all by the results store's one atomic rename.

use crate::reports::{markdown, viewer};
use crate::results::record::RunRecord;
use crate::results::system_info::SystemInfo;
use crate::results::Pending;
use crate::tools::Toolbox;
use std::path::PathBuf;

/// Writes `record`, this machine's description, the viewer of its profiles
/// and the README (with `notes`) into `pending`, and moves it into place.
pub fn publish(
    pending: Pending,
    record: &RunRecord,
    tools: &Toolbox,
    notes: &[String],
) -> anyhow::Result<PathBuf> {
    // The viewer is written with the result, so that its README and the
    // results page can link it: it costs milliseconds on a typical profile.
    // A viewer that cannot be written costs the result nothing.
    if let Err(e) = viewer::write(&pending.dir, pending.name()) {
        eprintln!("warning: no viewer.html for this result: {e:#}");
    }
    let system = SystemInfo::collect(tools);
    let readme = markdown::result_readme(&pending, record, &system, notes);
    pending.finish(record, &system, &readme)
}
