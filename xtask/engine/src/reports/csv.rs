//! CSV (RFC 4180): the long-format trends export (one row per result and
//! measure, ready for pandas, R or a spreadsheet) and the timing table of
//! one result.
//!
//! Numbers are written with Rust's shortest round-trip formatting, so a value
//! read back is exactly the value in run.json.

use crate::results::record::RunRecord;
use crate::results::series::Series;

pub const TRENDS_HEADER: [&str; 16] = [
    "created", "dir", "label", "workload", "scale", "commit", "measure", "unit", "median", "mean",
    "stddev", "min", "max", "n", "params", "machine",
];

pub const TIMING_HEADER: [&str; 11] = [
    "scale", "measure", "unit", "median", "mean", "stddev", "min", "max", "cv", "n", "better",
];

/// One CSV field: quoted when it holds a comma, quote or line break.
pub fn field(text: &str) -> String {
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_string()
    }
}

pub fn row<S: AsRef<str>>(fields: &[S]) -> String {
    let mut line = fields
        .iter()
        .map(|f| field(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    line.push_str("\r\n");
    line
}

/// Every point of every series, in time order within each series.
pub fn trends(series: &[Series]) -> String {
    let mut out = row(&TRENDS_HEADER);
    for s in series {
        for p in &s.points {
            let summary = &p.summary;
            out.push_str(&row(&[
                p.created.clone(),
                p.dir.clone(),
                p.label.clone(),
                s.workload.clone(),
                s.scale.clone(),
                p.commit.clone().unwrap_or_default(),
                s.measure.clone(),
                s.unit.clone(),
                summary.median.to_string(),
                summary.mean.to_string(),
                summary.stddev.to_string(),
                summary.min.to_string(),
                summary.max.to_string(),
                summary.n.to_string(),
                s.params_text().unwrap_or_default(),
                s.machine.clone(),
            ]));
        }
    }
    out
}

/// The timing table of one result: one row per scale and measure.
pub fn timing(record: &RunRecord) -> String {
    let mut out = row(&TIMING_HEADER);
    for scale in &record.scales {
        for (name, m) in crate::results::series::ordered_measures(&scale.summaries) {
            let s = &m.summary;
            out.push_str(&row(&[
                scale.scale.clone(),
                name.clone(),
                m.unit.clone(),
                s.median.to_string(),
                s.mean.to_string(),
                s.stddev.to_string(),
                s.min.to_string(),
                s.max.to_string(),
                s.cv.to_string(),
                s.n.to_string(),
                match m.better {
                    crate::config::Better::Higher => "higher".into(),
                    crate::config::Better::Lower => "lower".into(),
                },
            ]));
        }
    }
    out
}

/// Splits CSV text into rows of fields (quotes honoured); for tests and
/// for checking what was written.
#[cfg(test)]
pub fn parse(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_needed_and_read_back() {
        let line = row(&["plain", "a,b", "say \"hi\"", "two\nlines"]);
        assert_eq!(line, "plain,\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n");
        assert_eq!(
            parse(&line),
            vec![vec!["plain", "a,b", "say \"hi\"", "two\nlines"]]
        );
    }

    #[test]
    fn timing_rows_carry_every_statistic_exactly() {
        let record = crate::results::synthetic::record(
            "run",
            "2026-01-01T00:00:00Z",
            &[("wall_s", "s", &[0.1, 0.3, 0.2])],
        );
        let rows = parse(&timing(&record));
        assert_eq!(rows[0], TIMING_HEADER);
        let wall = rows.iter().find(|r| r[1] == "wall_s").unwrap();
        let s = &record.scales[0].summaries["wall_s"].summary;
        assert_eq!(wall[3].parse::<f64>().unwrap(), s.median);
        assert_eq!(wall[4].parse::<f64>().unwrap(), s.mean);
        assert_eq!(wall[5].parse::<f64>().unwrap(), s.stddev);
        assert_eq!(wall[9], "3");
        assert_eq!(wall[10], "lower");
    }
}
