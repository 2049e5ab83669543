//! Plain-text tables for the terminal: columns padded to their widest cell,
//! two spaces apart.

use std::fmt::Write as _;

/// Left-aligned columns; the last column is not padded.
pub fn render_columns(rows: &[Vec<String>]) -> String {
    aligned(rows, &[], "", |_, _| "", "")
}

/// Columns aligned left, or right where `right[c]`; each line starts with
/// `indent`. `paint` gives each cell's colour (row, column), applied after
/// padding so that escape codes never shift the columns; `reset` ends it.
pub fn aligned<R: AsRef<[String]>>(
    rows: &[R],
    right: &[bool],
    indent: &str,
    paint: impl Fn(usize, usize) -> &'static str,
    reset: &str,
) -> String {
    let columns = rows.iter().map(|r| r.as_ref().len()).max().unwrap_or(0);
    let mut widths = vec![0usize; columns];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row.as_ref()) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for (r, row) in rows.iter().enumerate() {
        let row = row.as_ref();
        let mut line = String::from(indent);
        for (c, cell) in row.iter().enumerate() {
            let pad = widths[c] - cell.chars().count();
            let padded = if right.get(c).copied().unwrap_or(false) {
                format!("{}{cell}", " ".repeat(pad))
            } else if c == row.len() - 1 {
                cell.clone()
            } else {
                format!("{cell}{}", " ".repeat(pad))
            };
            let colour = paint(r, c);
            if colour.is_empty() {
                line.push_str(&padded);
            } else {
                let _ = write!(line, "{colour}{padded}{reset}");
            }
            if c + 1 < row.len() {
                line.push_str("  ");
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}
