//! CSV: one file per table, numbers in full precision.

use super::blocks::Block;
use super::layout::layout;
use crate::report::{Report, ReportError, escape};

/// One CSV text per table: `(file name, text)`.
pub fn csv_tables(r: &Report) -> Result<Vec<(String, String)>, ReportError> {
    let blocks = layout(r, false)?;
    let mut out = Vec::new();
    let mut used = std::collections::HashSet::new();
    for b in &blocks {
        let Block::Table { csv, head, rows } = b else {
            continue;
        };
        let mut name = format!("{csv}.csv");
        let mut n = 2;
        while !used.insert(name.clone()) {
            name = format!("{csv}_{n}.csv");
            n += 1;
        }
        let mut t = head
            .iter()
            .map(|h| escape::csv(h))
            .collect::<Vec<_>>()
            .join(",");
        t.push('\n');
        for row in rows {
            t.push_str(
                &row.iter()
                    .map(|c| escape::csv(&c.exact()))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            t.push('\n');
        }
        out.push((name, t));
    }
    Ok(out)
}
