//! The block model every format is rendered from: headings, paragraphs of plain and strong
//! text, tables of typed cells (each format shows a number its own way), images (SVG) and
//! code. Every text value from the data is kept raw here; the renderers escape it.

use crate::report::fmt;

/// A table cell.
#[derive(Debug, Clone)]
pub(crate) enum Cell {
    Text(String),
    /// Hashes and other machine text, shown in monospace.
    Code(String),
    /// A number shown with this many decimals (full precision in CSV).
    Num(f64, usize),
    P(f64),
    Int(u64),
    Empty,
}

impl Cell {
    pub(crate) fn opt_text(s: Option<&str>) -> Cell {
        s.map_or(Cell::Empty, |s| Cell::Text(s.to_string()))
    }
    /// The cell as a person reads it (numbers rounded, `-` for nothing).
    pub(crate) fn shown(&self) -> String {
        match self {
            Cell::Text(s) | Cell::Code(s) => s.clone(),
            Cell::Num(v, d) => fmt::decimals(*v, *d),
            Cell::P(p) => fmt::p_value(*p),
            Cell::Int(i) => i.to_string(),
            Cell::Empty => "-".into(),
        }
    }
    /// The cell for a machine (numbers in full precision, nothing as nothing).
    pub(crate) fn exact(&self) -> String {
        match self {
            Cell::Num(v, _) | Cell::P(v) if v.is_finite() => format!("{v}"),
            Cell::Empty => String::new(),
            c => c.shown(),
        }
    }
    pub(crate) fn is_number(&self) -> bool {
        matches!(self, Cell::Num(..) | Cell::P(_) | Cell::Int(_))
    }
}

/// A run of a paragraph.
#[derive(Debug, Clone)]
pub(crate) enum Span {
    Text(String),
    Strong(String),
}

#[derive(Debug, Clone)]
pub(crate) enum Block {
    /// Level (2 or 3), text, anchor id.
    Heading(u8, String, String),
    Para(Vec<Span>),
    Table {
        /// File stem of the table's CSV.
        csv: String,
        head: Vec<String>,
        rows: Vec<Vec<Cell>>,
    },
    Image {
        /// File stem of the image beside a Markdown report.
        file: String,
        alt: String,
        svg: String,
    },
    Code(String),
}

pub(crate) fn text(s: impl Into<String>) -> Span {
    Span::Text(s.into())
}

pub(crate) fn para(spans: Vec<Span>) -> Block {
    Block::Para(spans)
}

pub(crate) fn table(csv: impl Into<String>, head: &[&str], rows: Vec<Vec<Cell>>) -> Block {
    Block::Table {
        csv: csv.into(),
        head: head.iter().map(|h| h.to_string()).collect(),
        rows,
    }
}
