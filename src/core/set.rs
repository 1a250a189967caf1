//! The embedding set: tokens, vectors, metadata and where they came from.

use super::{CoreError, LoadNotes, Matrix, Metadata, Provenance, Vocab};

#[derive(Debug, Clone)]
pub struct EmbeddingSet {
    pub vocab: Vocab,
    pub matrix: Matrix,
    pub metadata: Metadata,
    pub provenance: Provenance,
    pub notes: LoadNotes,
}

impl EmbeddingSet {
    /// Assembles a set, checking that vocabulary, matrix and metadata agree on the row count.
    pub fn new(
        vocab: Vocab,
        matrix: Matrix,
        metadata: Metadata,
        provenance: Provenance,
    ) -> Result<Self, CoreError> {
        if vocab.len() != matrix.rows() {
            return Err(CoreError::VocabRows {
                vocab: vocab.len(),
                rows: matrix.rows(),
            });
        }
        metadata.check_rows(matrix.rows())?;
        Ok(EmbeddingSet {
            vocab,
            matrix,
            metadata,
            provenance,
            notes: LoadNotes::default(),
        })
    }

    pub fn with_notes(mut self, notes: LoadNotes) -> Self {
        self.notes = notes;
        self
    }

    pub fn rows(&self) -> usize {
        self.matrix.rows()
    }

    pub fn dim(&self) -> usize {
        self.matrix.dim()
    }

    /// The vector of a token, if present.
    pub fn vector(&self, token: &str) -> Option<&[f32]> {
        self.vocab.get(token).map(|i| self.matrix.row(i))
    }

    /// Keeps the first `n` rows.
    pub fn truncate(&self, n: usize) -> EmbeddingSet {
        let keep: Vec<bool> = (0..self.rows()).map(|i| i < n).collect();
        self.retain_rows(&keep)
    }

    /// Keeps the rows whose flag is set, in order.
    pub fn retain_rows(&self, keep: &[bool]) -> EmbeddingSet {
        EmbeddingSet {
            vocab: self.vocab.retain_rows(keep),
            matrix: self.matrix.retain_rows(keep),
            metadata: self.metadata.retain_rows(keep),
            provenance: self.provenance.clone(),
            notes: self.notes.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_must_agree() {
        let v = Vocab::from_unique(["a", "b"]).unwrap();
        let m = Matrix::from_vec(3, 1, vec![1.0, 2.0, 3.0]).unwrap();
        assert!(matches!(
            EmbeddingSet::new(v, m, Metadata::new(), Provenance::default()),
            Err(CoreError::VocabRows { vocab: 2, rows: 3 })
        ));
        let v = Vocab::from_unique(["a", "b", "c"]).unwrap();
        let m = Matrix::from_vec(3, 1, vec![1.0, 2.0, 3.0]).unwrap();
        let s = EmbeddingSet::new(v, m, Metadata::new(), Provenance::default()).unwrap();
        assert_eq!(s.vector("b"), Some(&[2.0][..]));
        let t = s.truncate(2);
        assert_eq!(t.rows(), 2);
        assert_eq!(t.vocab.get("c"), None);
    }
}
