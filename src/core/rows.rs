//! What a set's rows are (words, documents, sampled occurrences of words) and how a row is named
//! where it is listed: a document by its text, a word by itself.

use super::{EmbeddingSet, MetaColumn};

/// What the rows of a set stand for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RowKind {
    /// Word vectors (static files, or word types encoded from a corpus).
    Words,
    /// One row per document (sentence-level encoding, or a table with a text column).
    Documents,
    /// Sampled occurrences of words in their sentences (word-level encoding's second output).
    Occurrences,
}

impl RowKind {
    pub fn name(self) -> &'static str {
        match self {
            RowKind::Words => "words",
            RowKind::Documents => "documents",
            RowKind::Occurrences => "occurrences",
        }
    }

    /// What one row is called ("word", "document", "occurrence").
    pub fn noun(self) -> &'static str {
        match self {
            RowKind::Words => "word",
            RowKind::Documents => "document",
            RowKind::Occurrences => "occurrence",
        }
    }
}

/// The encoding fact that marks a set of sampled occurrences (`rows = occurrences`).
pub const ROWS_FACT: &str = "rows";
/// Its value for the occurrences written beside a word-level set.
pub const OCCURRENCES: &str = "occurrences";

/// Names of a text column, in the order one is looked for (case-insensitive).
pub const TEXT_COLUMNS: [&str; 7] = [
    "text", "document", "content", "sentence", "body", "review", "context",
];

/// Characters shown where a document is listed on one line.
pub const LIST_CHARS: usize = 120;

/// The first `max_chars` characters of a text on one line (line breaks and tabs become spaces,
/// runs of white space one space), with `…` when cut.
pub fn one_line(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars * 4) + 3);
    let mut n = 0usize;
    let mut space = false;
    for c in text.trim().chars() {
        if c.is_whitespace() {
            space = true;
            continue;
        }
        if space && n > 0 {
            if n == max_chars {
                out.push('…');
                return out;
            }
            out.push(' ');
            n += 1;
        }
        space = false;
        if n == max_chars {
            out.push('…');
            return out;
        }
        out.push(c);
        n += 1;
    }
    out
}

/// A one-line text wrapped at white space into at most `max_lines` lines of about `width`
/// characters, the last one ending in `…` when the text goes on.
pub fn wrap_lines(text: &str, width: usize, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut cur = String::new();
    let mut n = 0usize;
    for word in text.split(' ') {
        let w = word.chars().count();
        if n > 0 && n + 1 + w > width {
            lines.push(std::mem::take(&mut cur));
            n = 0;
            if lines.len() == max_lines {
                if let Some(last) = lines.last_mut() {
                    last.push('…');
                }
                return lines;
            }
        }
        if n > 0 {
            cur.push(' ');
            n += 1;
        }
        cur.push_str(word);
        n += w;
    }
    if !cur.is_empty() {
        lines.push(cur);
    }
    lines
}

impl EmbeddingSet {
    /// What the rows stand for: from the encoding record (`level`, `rows`), else a document
    /// set when a metadata column is named like a text column ([`TEXT_COLUMNS`]).
    pub fn row_kind(&self) -> RowKind {
        let p = &self.provenance;
        if p.encoding_fact(ROWS_FACT) == Some(OCCURRENCES) {
            return RowKind::Occurrences;
        }
        match p.encoding_fact("level") {
            Some("sentence") => RowKind::Documents,
            Some("word") => {
                let m = &self.metadata;
                if m.column("word").is_some() && m.column("context").is_some() {
                    RowKind::Occurrences
                } else {
                    RowKind::Words
                }
            }
            _ if self.text_column().is_some() => RowKind::Documents,
            _ => RowKind::Words,
        }
    }

    /// The metadata column holding each row's text: the first named like [`TEXT_COLUMNS`]
    /// (`context` for occurrences).
    pub fn text_column(&self) -> Option<&MetaColumn> {
        let cols = self.metadata.columns();
        TEXT_COLUMNS
            .iter()
            .find_map(|name| cols.iter().find(|c| c.name.eq_ignore_ascii_case(name)))
    }

    /// A row's text, for documents and occurrences.
    pub fn row_text(&self, row: usize) -> Option<&str> {
        if self.row_kind() == RowKind::Words {
            return None;
        }
        self.text_column()
            .and_then(|c| c.values.get(row))
            .map(String::as_str)
    }

    /// How a row is named where it is listed: its text on one line (at most `max_chars`
    /// characters) for documents and occurrences, else its token.
    pub fn row_label(&self, row: usize, max_chars: usize) -> String {
        match self.row_text(row) {
            Some(t) if !t.trim().is_empty() => one_line(t, max_chars),
            _ => self.vocab.token(row).to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Matrix, Metadata, Provenance, Vocab};

    fn set(tokens: &[&str], cols: &[(&str, &[&str])], fact: &[(&str, &str)]) -> EmbeddingSet {
        let n = tokens.len();
        let mut meta = Metadata::new();
        for (name, v) in cols {
            meta.push(
                MetaColumn {
                    name: (*name).into(),
                    values: v.iter().map(|s| s.to_string()).collect(),
                },
                n,
            )
            .unwrap();
        }
        let mut prov = Provenance::default();
        for (k, v) in fact {
            prov.encoding.insert((*k).into(), (*v).into());
        }
        EmbeddingSet::new(
            Vocab::from_unique(tokens.iter().copied()).unwrap(),
            Matrix::from_vec(n, 1, vec![1.0; n]).unwrap(),
            meta,
            prov,
        )
        .unwrap()
    }

    #[test]
    fn one_line_cuts_by_characters_and_folds_space() {
        assert_eq!(one_line("  a\n\nb\tc  ", 10), "a b c");
        assert_eq!(one_line("héllo wörld", 5), "héllo…");
        assert_eq!(one_line("abc", 3), "abc");
        assert_eq!(one_line("abc d", 3), "abc…");
        assert_eq!(one_line("", 3), "");
    }

    #[test]
    fn kinds_from_the_encoding_record_or_a_text_column() {
        let words = set(&["a", "b"], &[("count", &["1", "2"])], &[("level", "word")]);
        assert_eq!(words.row_kind(), RowKind::Words);
        assert_eq!(words.row_label(1, 10), "b");
        assert_eq!(words.row_text(0), None);
        let docs = set(
            &["d0", "d1"],
            &[("line", &["1", "2"]), ("text", &["First one.\nTwo", " "])],
            &[("level", "sentence")],
        );
        assert_eq!(docs.row_kind(), RowKind::Documents);
        assert_eq!(docs.row_label(0, 40), "First one. Two");
        // An empty text is listed by its id.
        assert_eq!(docs.row_label(1, 40), "d1");
        let occ = set(
            &["bank#1"],
            &[("word", &["bank"]), ("context", &["by the river bank"])],
            &[("level", "word")],
        );
        assert_eq!(occ.row_kind(), RowKind::Occurrences);
        assert_eq!(occ.row_label(0, 40), "by the river bank");
        let marked = set(
            &["x#1"],
            &[],
            &[("level", "word"), (ROWS_FACT, OCCURRENCES)],
        );
        assert_eq!(marked.row_kind(), RowKind::Occurrences);
        // No record: a table with a Text column is a document set.
        let table = set(&["r1"], &[("Text", &["hello"])], &[]);
        assert_eq!(table.row_kind(), RowKind::Documents);
        assert_eq!(table.row_label(0, 40), "hello");
        let plain = set(&["r1"], &[("label", &["x"])], &[]);
        assert_eq!(plain.row_kind(), RowKind::Words);
    }
}
