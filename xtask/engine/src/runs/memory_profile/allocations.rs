//! Every allocation of a heaptrack recording by the function that made it:
//! heaptrack's data file decompressed as it is read (by the `zstd` or
//! `gzip` that heaptrack itself compressed it with) and tallied one line at
//! a time, so a recording of many GB never lies in memory.

use crate::runs::process::{self, Spec};
use crate::tools::heaptrack::{self, HeaptrackData};
use crate::tools::memory_model::MemoryReport;
use anyhow::Context;
use std::io::BufReader;
use std::path::Path;
use std::time::Duration;

/// How long decompressing and reading may take: a recording of hours
/// decompresses at hundreds of MB a second.
const READ_TIMEOUT: Duration = Duration::from_secs(1800);

/// Reads heaptrack's data file `data` (`.zst`, `.gz` or uncompressed).
pub fn read_heaptrack_data(data: &Path) -> anyhow::Result<HeaptrackData> {
    let name = data.to_string_lossy();
    let decompressor = if name.ends_with(".zst") {
        Some("zstd")
    } else if name.ends_with(".gz") {
        Some("gzip")
    } else {
        None
    };
    let Some(program) = decompressor else {
        let file =
            std::fs::File::open(data).with_context(|| format!("cannot read {}", data.display()))?;
        return heaptrack::read_data(BufReader::new(file))
            .with_context(|| format!("reading {}", data.display()));
    };
    let mut spec = Spec::new(program).args([
        std::ffi::OsStr::new("-dc"),
        std::ffi::OsStr::new("--"),
        data.as_os_str(),
    ]);
    spec.stdout_raw = true;
    spec.answer_only = true;
    spec.timeout = Some(READ_TIMEOUT);
    let command = spec.display();
    let mut running = process::start(spec)
        .with_context(|| format!("`{program}` decompresses heaptrack's {}", data.display()))?;
    let stdout = running.stdout.take().context("no stdout")?;
    let parsed = heaptrack::read_data(BufReader::with_capacity(1 << 16, stdout));
    // Read or not, its pipe is closed now: a decompressor left writing
    // to it ends at its next write.
    let outcome = running.wait();
    let parsed = parsed.with_context(|| format!("reading `{command}`"))?;
    if !outcome.success() {
        anyhow::bail!(
            "`{command}` failed: {}\n{}",
            outcome.describe(None),
            outcome.tail()
        );
    }
    Ok(parsed)
}

/// Adds every allocation by function (`read` from heaptrack's data file) to
/// `report`, with the stacks of the `top` largest sources; a data file that
/// could not be read costs only that table, and a note says why.
pub fn add_allocations(report: &mut MemoryReport, read: anyhow::Result<HeaptrackData>, top: usize) {
    match read {
        Ok(read) => {
            if read.total.calls != report.total_allocations.unwrap_or(read.total.calls) {
                report.notes.push(format!(
                    "heaptrack's data holds {} allocations, heaptrack_print counted {}: the \
                     allocations by function may be incomplete",
                    read.total.calls,
                    report.total_allocations.unwrap_or_default()
                ));
            }
            report.allocations = Some(read.to_table(top));
        }
        Err(error) => report
            .notes
            .push(format!("no allocations by function: {error:#}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A real recording, compressed as heaptrack compressed it, reads the
    /// same as its text; a file that is not heaptrack's is an error that
    /// names it, and only a note in a report.
    #[test]
    fn reads_compressed_data_as_it_streams() {
        let text = include_str!("../../../tests/fixtures/heaptrack/cdr-demo-small.data.txt");
        let dir = std::env::temp_dir().join(format!("xtask-alloc-read-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let plain = dir.join("heaptrack.data");
        std::fs::write(&plain, text).unwrap();
        let expected = read_heaptrack_data(&plain).unwrap();
        assert_eq!(expected.total.calls, 3845);
        let gz = dir.join("heaptrack.data.gz");
        let status = std::process::Command::new("gzip")
            .args(["-k", "-f", "--"])
            .arg(&plain)
            .status()
            .unwrap();
        assert!(status.success());
        let read = read_heaptrack_data(&gz).unwrap();
        assert_eq!(read, expected);
        let bad = dir.join("bad.gz");
        std::fs::write(&bad, b"not gzip").unwrap();
        let err = format!("{:#}", read_heaptrack_data(&bad).unwrap_err());
        assert!(err.contains("gzip -dc"), "{err}");
        let mut report = MemoryReport::default();
        add_allocations(&mut report, read_heaptrack_data(&bad), 5);
        assert!(report.allocations.is_none());
        assert!(
            report.notes[0].starts_with("no allocations by function"),
            "{:?}",
            report.notes
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
