//! Collects parsed rows: decodes tokens, drops and reports duplicates, applies the row limit.

use crate::core::{CoreError, DuplicateToken, LoadNotes, Matrix, Vocab};

pub(crate) struct RowSink {
    pub vocab: Vocab,
    pub data: Vec<f32>,
    pub dim: usize,
    pub notes: LoadNotes,
    limit: Option<u64>,
    /// File row of every kept row; only built once a duplicate appears (identity before).
    kept_file_rows: Option<Vec<u64>>,
}

impl RowSink {
    pub fn new(dim: usize, capacity_rows: usize, limit: Option<usize>) -> Self {
        let cap = limit.map_or(capacity_rows, |l| l.min(capacity_rows));
        RowSink {
            vocab: Vocab::with_capacity(cap, cap * 8),
            data: Vec::with_capacity(cap.saturating_mul(dim)),
            dim,
            notes: LoadNotes::default(),
            limit: limit.map(|l| l as u64),
            kept_file_rows: None,
        }
    }

    /// True once `limit` file rows have been taken.
    pub fn is_full(&self) -> bool {
        self.limit.is_some_and(|l| self.notes.rows_read >= l)
    }

    /// Rows read from the source so far (kept or dropped).
    pub fn rows_read(&self) -> u64 {
        self.notes.rows_read
    }

    /// Adds a row whose token arrives as raw bytes (decoded lossily when not UTF-8).
    /// Returns whether the row was kept (false for a duplicate).
    pub fn push_bytes(&mut self, token: &[u8], values: &[f32]) -> Result<bool, CoreError> {
        match std::str::from_utf8(token) {
            Ok(t) => self.push(t, values, false),
            Err(_) => {
                let t = String::from_utf8_lossy(token).into_owned();
                self.push(&t, values, true)
            }
        }
    }

    pub fn push_str(&mut self, token: &str, values: &[f32]) -> Result<bool, CoreError> {
        self.push(token, values, false)
    }

    /// Adds a token whose values live elsewhere (an array format): only the vocabulary,
    /// duplicates and decoding are tracked.
    pub fn push_token_bytes(&mut self, token: &[u8]) -> Result<bool, CoreError> {
        match std::str::from_utf8(token) {
            Ok(t) => self.push_inner(t, None, false),
            Err(_) => {
                let t = String::from_utf8_lossy(token).into_owned();
                self.push_inner(&t, None, true)
            }
        }
    }

    fn push(&mut self, token: &str, values: &[f32], lossy: bool) -> Result<bool, CoreError> {
        debug_assert_eq!(values.len(), self.dim);
        self.push_inner(token, Some(values), lossy)
    }

    fn push_inner(
        &mut self,
        token: &str,
        values: Option<&[f32]>,
        lossy: bool,
    ) -> Result<bool, CoreError> {
        let row = self.notes.rows_read;
        self.notes.rows_read += 1;
        match self.vocab.push(token)? {
            Ok(i) => {
                if let Some(v) = values {
                    self.data.extend_from_slice(v);
                }
                if let Some(k) = self.kept_file_rows.as_mut() {
                    k.push(row);
                }
                if lossy {
                    self.notes.invalid_utf8_rows.push(i as u64);
                }
                Ok(true)
            }
            Err(kept) => {
                let kept_rows = self
                    .kept_file_rows
                    .get_or_insert_with(|| (0..self.vocab.len() as u64).collect());
                let kept_row = kept_rows[kept];
                self.notes.duplicates.push(DuplicateToken {
                    token: token.to_string(),
                    kept_row,
                    dropped_row: row,
                });
                Ok(false)
            }
        }
    }

    /// The vocabulary and notes only (after `push_token_bytes`).
    pub fn finish_tokens(self) -> (Vocab, LoadNotes) {
        (self.vocab, self.notes)
    }

    pub fn finish(mut self) -> Result<(Vocab, Matrix, LoadNotes), CoreError> {
        self.data.shrink_to_fit();
        let rows = self.vocab.len();
        let m = Matrix::from_vec(rows, self.dim, self.data)?;
        Ok((self.vocab, m, self.notes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicates_are_dropped_and_reported_in_file_rows() {
        let mut s = RowSink::new(1, 4, None);
        assert!(s.push_str("a", &[1.0]).unwrap());
        assert!(!s.push_str("a", &[2.0]).unwrap());
        assert!(s.push_str("b", &[3.0]).unwrap());
        assert!(!s.push_str("b", &[4.0]).unwrap());
        assert!(s.push_bytes(b"c\xff", &[5.0]).unwrap());
        let (v, m, n) = s.finish().unwrap();
        assert_eq!(v.iter().collect::<Vec<_>>(), vec!["a", "b", "c\u{fffd}"]);
        assert_eq!(m.as_slice(), &[1.0, 3.0, 5.0]);
        assert_eq!(n.rows_read, 5);
        assert_eq!(n.duplicates[0].kept_row, 0);
        assert_eq!(n.duplicates[0].dropped_row, 1);
        assert_eq!(n.duplicates[1].kept_row, 2);
        assert_eq!(n.duplicates[1].dropped_row, 3);
        assert_eq!(n.invalid_utf8_rows, vec![2]);
    }

    #[test]
    fn limit_counts_file_rows() {
        let mut s = RowSink::new(1, 10, Some(2));
        s.push_str("a", &[1.0]).unwrap();
        assert!(!s.is_full());
        s.push_str("a", &[1.0]).unwrap();
        assert!(s.is_full());
    }
}
