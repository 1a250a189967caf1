//! Markdown: the blocks as headings, paragraphs, pipe tables and fenced code; the charts as SVG
//! files linked from a folder beside the text.

use std::fmt::Write as _;

use super::blocks::{Block, Cell, Span};
use super::layout::layout;
use crate::report::{Report, ReportError, escape};

fn md_spans(spans: &[Span], out: &mut String) {
    for s in spans {
        match s {
            Span::Text(t) => out.push_str(&escape::markdown(t)),
            Span::Strong(t) => {
                let _ = write!(out, "**{}**", escape::markdown(t));
            }
        }
    }
}

fn md_cell(c: &Cell) -> String {
    match c {
        c if c.is_number() => c.shown(),
        Cell::Empty => "-".into(),
        Cell::Code(t) | Cell::Text(t) => escape::markdown_cell(t),
        c => escape::markdown_cell(&c.shown()),
    }
}

/// Markdown text and its images (`(file name, SVG)`), referenced as `image_dir/NAME.svg`.
pub fn markdown(
    r: &Report,
    image_dir: &str,
) -> Result<(String, Vec<(String, String)>), ReportError> {
    let blocks = layout(r, true)?;
    let mut o = String::new();
    let mut images = Vec::new();
    let _ = writeln!(o, "# {}\n", escape::markdown(&r.title));
    for b in &blocks {
        match b {
            Block::Heading(level, t, _) => {
                let _ = writeln!(
                    o,
                    "{} {}\n",
                    "#".repeat(usize::from(*level)),
                    escape::markdown(t)
                );
            }
            Block::Para(spans) => {
                md_spans(spans, &mut o);
                o.push_str("\n\n");
            }
            Block::Code(t) => {
                let (fence, body) = escape::markdown_fence(t);
                let _ = writeln!(o, "{fence}text\n{body}\n{fence}\n");
            }
            Block::Image { file, alt, svg } => {
                let name = format!("{file}.svg");
                let _ = writeln!(
                    o,
                    "![{}]({}/{})\n",
                    escape::markdown(alt),
                    md_link_target(image_dir),
                    name
                );
                images.push((name, svg.clone()));
            }
            Block::Table { head, rows, .. } => {
                o.push('|');
                for h in head {
                    let _ = write!(o, " {} |", escape::markdown_cell(h));
                }
                o.push_str("\n|");
                for _ in head {
                    o.push_str(" --- |");
                }
                o.push('\n');
                for row in rows {
                    o.push('|');
                    for c in row {
                        let _ = write!(o, " {} |", md_cell(c));
                    }
                    o.push('\n');
                }
                o.push('\n');
            }
        }
    }
    let _ = writeln!(
        o,
        "---\n\nMade by embedscope {} on this machine; no data was sent anywhere.",
        escape::markdown(&r.embedscope_version)
    );
    Ok((o, images))
}

/// A relative link target: percent-encoded where a character would end or confuse the link.
fn md_link_target(dir: &str) -> String {
    let mut out = String::new();
    for b in dir.bytes() {
        if b.is_ascii_alphanumeric() || b"-_./".contains(&b) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}
