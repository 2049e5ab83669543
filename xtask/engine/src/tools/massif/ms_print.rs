//! A reader of ms_print's rendering of a massif.out file, for the tests
//! only: they check [`super::parse`]'s peak against what ms_print shows
//! (its graph's top label and its table's row for the peak snapshot).

use super::{MassifProfile, Snapshot};
use crate::tools::memory_model::{excerpt, ParseError, PrintedSize};
use serde::Serialize;

const MS_PRINT: &str = "ms_print output";

impl MassifProfile {
    /// The largest heap + extra + stacks of any snapshot: the peak that
    /// ms_print's graph header shows.
    pub fn max_total_bytes(&self) -> u64 {
        self.snapshots
            .iter()
            .map(Snapshot::total_bytes)
            .max()
            .unwrap_or(0)
    }
}

/// What ms_print shows of the peak, read back from its text.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MsPrintPeak {
    /// The graph's top label (`4.196` in `MB`, K = 1024): the largest total
    /// of any snapshot, to ms_print's printed precision.
    pub graph_peak: PrintedSize,
    /// The snapshot `Detailed snapshots: [… 41 (peak) …]` marks, if any.
    pub peak_snapshot: Option<u64>,
    /// That snapshot's row of the table: its exact `total(B)`, etc.
    pub peak_row: Option<MsPrintRow>,
}

/// A row of ms_print's snapshot table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MsPrintRow {
    pub snapshot: u64,
    pub time: u64,
    pub total_bytes: u64,
    pub useful_heap_bytes: u64,
    pub extra_heap_bytes: u64,
    pub stacks_bytes: u64,
}

/// Reads the peak figures of ms_print's output (to check [`parse`] against).
pub fn parse_ms_print_peak(text: &str) -> Result<MsPrintPeak, ParseError> {
    let lines: Vec<&str> = text.lines().collect();
    // The graph: a unit line (`    MB`), then `4.196^…`.
    let mut graph_peak = None;
    for (i, line) in lines.iter().enumerate() {
        let t = line.trim_start();
        if let Some((number, _)) = t.split_once('^') {
            if i == 0 || number.trim().parse::<f64>().is_err() {
                continue;
            }
            let unit = lines[i - 1].trim();
            graph_peak = Some(
                PrintedSize::from_number_and_unit(number, unit, 1024.0).ok_or_else(|| {
                    ParseError::at(
                        MS_PRINT,
                        i,
                        format!(
                            "expected the graph's unit (B, KB, MB, GB) above its top label, got {}",
                            excerpt(unit)
                        ),
                    )
                })?,
            );
            break;
        }
    }
    let graph_peak = graph_peak.ok_or_else(|| {
        ParseError::new(
            MS_PRINT,
            None,
            "no graph found: expected a top label like '4.196^'",
        )
    })?;
    let peak_snapshot = lines
        .iter()
        .find_map(|l| l.trim().strip_prefix("Detailed snapshots: ["))
        .and_then(|list| {
            list.trim_end_matches(']')
                .split(", ")
                .find_map(|item| item.strip_suffix(" (peak)"))
                .and_then(|n| n.trim().parse().ok())
        });
    let peak_row = peak_snapshot.and_then(|peak| {
        lines.iter().find_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() != 6 || fields[0].parse::<u64>().ok()? != peak {
                return None;
            }
            let n = |s: &str| s.replace(',', "").parse::<u64>().ok();
            Some(MsPrintRow {
                snapshot: peak,
                time: n(fields[1])?,
                total_bytes: n(fields[2])?,
                useful_heap_bytes: n(fields[3])?,
                extra_heap_bytes: n(fields[4])?,
                stacks_bytes: n(fields[5])?,
            })
        })
    });
    Ok(MsPrintPeak {
        graph_peak,
        peak_snapshot,
        peak_row,
    })
}
