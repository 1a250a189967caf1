//! A word-level set's sampled occurrences (each a word in its sentence, with its own vector),
//! kept with the words they belong to: read in the inspector and the reader, never listed as a
//! version of the words.

use std::collections::HashMap;
use std::sync::Arc;

use crate::core::EmbeddingSet;

/// The occurrences of one set's words, indexed by word.
pub struct Occurrences {
    pub set: Arc<EmbeddingSet>,
    by_word: HashMap<String, Vec<u32>>,
}

impl Occurrences {
    /// Indexes a set of occurrences by its `word` column; None without one.
    pub fn new(set: Arc<EmbeddingSet>) -> Option<Occurrences> {
        let words = set.metadata.column("word")?;
        let mut by_word: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, w) in words.values.iter().enumerate() {
            by_word.entry(w.clone()).or_default().push(i as u32);
        }
        Some(Occurrences { set, by_word })
    }

    /// Rows of a word's occurrences, in the file's order.
    pub fn of(&self, word: &str) -> &[u32] {
        self.by_word.get(word).map_or(&[], Vec::as_slice)
    }

    pub fn words(&self) -> usize {
        self.by_word.len()
    }

    /// An occurrence's sentence and the word's byte span in it (when recorded and valid).
    pub fn context(&self, row: usize) -> (&str, Option<(usize, usize)>) {
        let text = self
            .set
            .metadata
            .column("context")
            .and_then(|c| c.values.get(row))
            .map_or("", String::as_str);
        let span = self
            .set
            .metadata
            .column("at")
            .and_then(|c| c.values.get(row))
            .and_then(|v| {
                let (a, b) = v.split_once(':')?;
                Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?))
            })
            .filter(|&(a, b)| {
                a <= b && b <= text.len() && text.is_char_boundary(a) && text.is_char_boundary(b)
            });
        (text, span)
    }

    /// A metadata value of an occurrence (`doc`, `line`), empty when absent.
    pub fn value(&self, row: usize, column: &str) -> &str {
        self.set
            .metadata
            .column(column)
            .and_then(|c| c.values.get(row))
            .map_or("", String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Matrix, MetaColumn, Metadata, Provenance, Vocab};

    #[test]
    fn indexed_by_word_with_spans_checked() {
        let mut meta = Metadata::new();
        for (name, v) in [
            ("word", ["bank", "river", "bank"]),
            (
                "context",
                ["the bank was shut", "a river bank", "…on the bank"],
            ),
            ("at", ["4:8", "2:7", "99:100"]),
        ] {
            meta.push(
                MetaColumn {
                    name: name.into(),
                    values: v.iter().map(|s| s.to_string()).collect(),
                },
                3,
            )
            .unwrap();
        }
        let set = EmbeddingSet::new(
            Vocab::from_unique(["bank#1", "river#1", "bank#2"]).unwrap(),
            Matrix::from_vec(3, 1, vec![1.0; 3]).unwrap(),
            meta,
            Provenance::default(),
        )
        .unwrap();
        let o = Occurrences::new(Arc::new(set)).unwrap();
        assert_eq!(o.of("bank"), &[0, 2]);
        assert!(o.of("money").is_empty());
        assert_eq!(o.words(), 2);
        let (t, span) = o.context(0);
        assert_eq!(&t[span.unwrap().0..span.unwrap().1], "bank");
        // A span outside its text is dropped, the text kept.
        assert_eq!(o.context(2), ("…on the bank", None));
    }
}
