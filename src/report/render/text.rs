//! Plain text for a terminal: headings underlined, paragraphs as lines, tables in aligned
//! columns (numbers to the right); a table of one row too wide for a terminal is shown as
//! `column  value` lines. Images are left out; hazardous characters in the data are shown as
//! visible stand-ins (`\u{202e}`), so a token cannot move or hide the text around it.

use super::blocks::{Block, Cell, Span};
use super::layout;
use crate::report::escape::visible;
use crate::report::{BiasSection, PairSection, Report, ReportError};

/// A one-row table wider than this is shown as one `column  value` line per column.
const WIDE: usize = 100;
/// Space between columns.
const GAP: &str = "  ";

/// The whole report as plain text (no images).
pub fn report(r: &Report) -> Result<String, ReportError> {
    Ok(render(&layout::layout(r, false)?))
}

/// Pair `p`'s vocabulary, tokenizer diff, global measures and changed words, as far as `pr`
/// holds them, laid out as in a report.
pub fn pair(p: usize, pr: &PairSection) -> Result<String, ReportError> {
    Ok(render(&layout::pair(p, pr)?))
}

/// A bias section laid out as in a report.
pub fn bias(s: &BiasSection) -> Result<String, ReportError> {
    Ok(render(&layout::bias(s)?))
}

fn render(blocks: &[Block]) -> String {
    let mut out = String::new();
    for (i, b) in blocks.iter().enumerate() {
        if i > 0 && !matches!(b, Block::Image { .. }) {
            out.push('\n');
        }
        match b {
            Block::Heading(level, t, _) => {
                let t = visible(t);
                out.push_str(&t);
                out.push('\n');
                let rule = if *level <= 2 { "=" } else { "-" };
                out.push_str(&rule.repeat(t.chars().count()));
                out.push('\n');
            }
            Block::Para(spans) => {
                for s in spans {
                    let (Span::Text(t) | Span::Strong(t)) = s;
                    out.push_str(&visible(t));
                }
                out.push('\n');
            }
            Block::Code(t) => {
                for line in t.lines() {
                    out.push_str("    ");
                    out.push_str(&visible(line));
                    out.push('\n');
                }
            }
            Block::Table { head, rows, .. } => table(head, rows, &mut out),
            Block::Image { .. } => {}
        }
    }
    out
}

fn width(s: &str) -> usize {
    s.chars().count()
}

fn pad(s: &str, w: usize, right: bool, out: &mut String) {
    let fill = " ".repeat(w.saturating_sub(width(s)));
    if right {
        out.push_str(&fill);
        out.push_str(s);
    } else {
        out.push_str(s);
        out.push_str(&fill);
    }
}

fn push_line(line: &str, out: &mut String) {
    out.push_str(line.trim_end());
    out.push('\n');
}

fn table(head: &[String], rows: &[Vec<Cell>], out: &mut String) {
    // A column with nothing in any row (e.g. counts a vector file does not have) says nothing
    // on a terminal and is left out; the other formats keep it as the table's schema.
    let keep: Vec<bool> = (0..head.len().max(rows.iter().map(Vec::len).max().unwrap_or(0)))
        .map(|i| {
            rows.is_empty()
                || rows
                    .iter()
                    .any(|r| r.get(i).is_some_and(|c| !matches!(c, Cell::Empty)))
        })
        .collect();
    let kept = |i: &usize| keep.get(*i).copied().unwrap_or(true);
    let head: Vec<String> = head
        .iter()
        .enumerate()
        .filter(|(i, _)| kept(i))
        .map(|(_, h)| visible(h).into_owned())
        .collect();
    let cells: Vec<Vec<(String, bool)>> = rows
        .iter()
        .map(|r| {
            r.iter()
                .enumerate()
                .filter(|(i, _)| kept(i))
                .map(|(_, c)| (visible(&c.shown()).into_owned(), c.is_number()))
                .collect()
        })
        .collect();
    let columns = head
        .len()
        .max(cells.iter().map(Vec::len).max().unwrap_or(0));
    let mut widths = vec![0; columns];
    for (i, h) in head.iter().enumerate() {
        widths[i] = width(h);
    }
    for row in &cells {
        for (i, (c, _)) in row.iter().enumerate() {
            widths[i] = widths[i].max(width(c));
        }
    }
    let total = widths.iter().sum::<usize>() + GAP.len() * columns.saturating_sub(1);
    if let [row] = cells.as_slice()
        && total > WIDE
    {
        let key = head.iter().map(|h| width(h)).max().unwrap_or(0);
        for (h, (c, _)) in head.iter().zip(row) {
            let mut line = String::new();
            pad(h, key, false, &mut line);
            line.push_str(GAP);
            line.push_str(c);
            push_line(&line, out);
        }
        return;
    }
    // A column is right-aligned when every cell in it is a number (or empty).
    let numeric: Vec<bool> = (0..columns)
        .map(|i| {
            !cells.is_empty()
                && cells.iter().all(|r| {
                    r.get(i)
                        .is_none_or(|(c, number)| *number || c == "-" || c.is_empty())
                })
        })
        .collect();
    let mut line = String::new();
    for (i, w) in widths.iter().enumerate() {
        if i > 0 {
            line.push_str(GAP);
        }
        pad(
            head.get(i).map_or("", String::as_str),
            *w,
            numeric[i],
            &mut line,
        );
    }
    push_line(&line, out);
    push_line(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join(GAP),
        out,
    );
    for row in &cells {
        let mut line = String::new();
        for (i, w) in widths.iter().enumerate() {
            if i > 0 {
                line.push_str(GAP);
            }
            let c = row.get(i).map_or("", |(c, _)| c.as_str());
            pad(c, *w, numeric[i], &mut line);
        }
        push_line(&line, out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::render::blocks::{para, table as table_block, text};

    #[test]
    fn tables_are_aligned_and_hazards_visible() {
        let blocks = vec![
            Block::Heading(2, "Title".into(), "t".into()),
            para(vec![Span::Strong("Bold.".into()), text(" plain")]),
            table_block(
                "x",
                &["word", "score", "p"],
                vec![
                    vec![
                        Cell::Text("a\u{202e}b".into()),
                        Cell::Num(0.5, 3),
                        Cell::P(0.01),
                    ],
                    vec![
                        Cell::Text("longer".into()),
                        Cell::Num(-12.26, 1),
                        Cell::P(f64::NAN),
                    ],
                ],
            ),
        ];
        let t = render(&blocks);
        assert_eq!(
            t,
            "Title\n=====\n\nBold. plain\n\n\
             word        score       p\n\
             ----------  -----  ------\n\
             a\\u{202e}b  0.500  0.0100\n\
             longer      -12.3       -\n"
        );
    }

    #[test]
    fn a_column_empty_in_every_row_is_left_out() {
        let t = render(&[Block::Table {
            csv: "x".into(),
            head: vec!["token".into(), "count".into(), "n".into()],
            rows: vec![
                vec![Cell::Text("a".into()), Cell::Empty, Cell::Int(1)],
                vec![Cell::Text("bb".into()), Cell::Empty, Cell::Empty],
            ],
        }]);
        assert_eq!(t, "token  n\n-----  -\na      1\nbb     -\n");
    }

    #[test]
    fn a_wide_single_row_is_shown_as_lines() {
        let head: Vec<String> = (0..12).map(|i| format!("column number {i}")).collect();
        let row: Vec<Cell> = (0..12).map(|i| Cell::Int(i as u64)).collect();
        let t = render(&[Block::Table {
            csv: "x".into(),
            head,
            rows: vec![row],
        }]);
        assert_eq!(t.lines().count(), 12);
        assert_eq!(t.lines().nth(11), Some("column number 11  11"));
        assert_eq!(t.lines().next(), Some("column number 0   0"));
    }
}
