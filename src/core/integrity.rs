//! The vector-integrity report: non-finite and zero rows, duplicates, bad tokens, norm statistics.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::{DuplicateToken, EmbeddingSet, Matrix};

/// Per-row facts computed in one parallel pass over a matrix.
#[derive(Debug, Clone, Default)]
pub struct RowScan {
    /// L2 norm of every row, computed in f64; NaN when the row holds NaN or Inf.
    pub norms: Vec<f32>,
    pub nan_rows: Vec<u32>,
    /// Rows holding +-Inf (and no NaN).
    pub inf_rows: Vec<u32>,
    pub zero_rows: Vec<u32>,
}

impl RowScan {
    pub fn new(m: &Matrix) -> RowScan {
        #[derive(Clone, Copy, PartialEq)]
        enum Kind {
            Ok,
            Nan,
            Inf,
            Zero,
        }
        let per_row: Vec<(f32, Kind)> = m
            .as_slice()
            .par_chunks_exact(m.dim())
            .with_min_len(256)
            .map(|r| {
                let mut sq = 0f64;
                let mut nan = false;
                let mut inf = false;
                for &x in r {
                    nan |= x.is_nan();
                    inf |= x.is_infinite();
                    sq += f64::from(x) * f64::from(x);
                }
                if nan {
                    (f32::NAN, Kind::Nan)
                } else if inf {
                    (f32::NAN, Kind::Inf)
                } else if sq == 0.0 {
                    (0.0, Kind::Zero)
                } else {
                    (sq.sqrt() as f32, Kind::Ok)
                }
            })
            .collect();
        let mut scan = RowScan {
            norms: Vec::with_capacity(per_row.len()),
            ..RowScan::default()
        };
        for (i, (n, k)) in per_row.into_iter().enumerate() {
            scan.norms.push(n);
            let i = i as u32;
            match k {
                Kind::Nan => scan.nan_rows.push(i),
                Kind::Inf => scan.inf_rows.push(i),
                Kind::Zero => scan.zero_rows.push(i),
                Kind::Ok => {}
            }
        }
        scan
    }

    /// True for rows with NaN or Inf values.
    pub fn non_finite_mask(&self) -> Vec<bool> {
        self.norms.iter().map(|n| n.is_nan()).collect()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NormStats {
    /// Rows whose norm is finite (all rows but NaN/Inf ones; zero rows included).
    pub finite_rows: u64,
    pub min: f64,
    pub median: f64,
    pub max: f64,
    pub mean: f64,
    /// Every finite, non-zero row has a norm within 1e-3 of 1.
    pub unit_normalized: bool,
}

impl NormStats {
    pub fn from_norms(norms: &[f32]) -> Option<NormStats> {
        let mut finite: Vec<f32> = norms.iter().copied().filter(|n| n.is_finite()).collect();
        if finite.is_empty() {
            return None;
        }
        let n = finite.len();
        let mean = finite.iter().map(|&x| f64::from(x)).sum::<f64>() / n as f64;
        let unit = finite.iter().all(|&x| x == 0.0 || (x - 1.0).abs() <= 1e-3);
        finite.sort_unstable_by(f32::total_cmp);
        let median = if n % 2 == 1 {
            f64::from(finite[n / 2])
        } else {
            (f64::from(finite[n / 2 - 1]) + f64::from(finite[n / 2])) / 2.0
        };
        Some(NormStats {
            finite_rows: n as u64,
            min: f64::from(finite[0]),
            median,
            max: f64::from(finite[n - 1]),
            mean,
            unit_normalized: unit,
        })
    }
}

/// Row counts and examples of everything suspicious in a set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IntegrityReport {
    pub rows: u64,
    pub dim: u64,
    pub nan_rows: u64,
    pub inf_rows: u64,
    pub zero_rows: u64,
    pub duplicate_tokens: u64,
    pub invalid_utf8_tokens: u64,
    pub norms: Option<NormStats>,
    /// Up to [`IntegrityReport::EXAMPLES`] tokens of each kind.
    pub examples: IntegrityExamples,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct IntegrityExamples {
    pub nan: Vec<String>,
    pub inf: Vec<String>,
    pub zero: Vec<String>,
    pub duplicates: Vec<DuplicateToken>,
    pub invalid_utf8: Vec<String>,
}

impl IntegrityReport {
    pub const EXAMPLES: usize = 20;

    pub fn new(set: &EmbeddingSet, scan: &RowScan) -> IntegrityReport {
        let tokens = |rows: &[u32]| {
            rows.iter()
                .take(Self::EXAMPLES)
                .map(|&r| set.vocab.token(r as usize).to_string())
                .collect::<Vec<_>>()
        };
        let notes = &set.notes;
        IntegrityReport {
            rows: set.matrix.rows() as u64,
            dim: set.matrix.dim() as u64,
            nan_rows: scan.nan_rows.len() as u64,
            inf_rows: scan.inf_rows.len() as u64,
            zero_rows: scan.zero_rows.len() as u64,
            duplicate_tokens: notes.duplicates.len() as u64,
            invalid_utf8_tokens: notes.invalid_utf8_rows.len() as u64,
            norms: NormStats::from_norms(&scan.norms),
            examples: IntegrityExamples {
                nan: tokens(&scan.nan_rows),
                inf: tokens(&scan.inf_rows),
                zero: tokens(&scan.zero_rows),
                duplicates: notes
                    .duplicates
                    .iter()
                    .take(Self::EXAMPLES)
                    .cloned()
                    .collect(),
                invalid_utf8: notes
                    .invalid_utf8_rows
                    .iter()
                    .take(Self::EXAMPLES)
                    .filter(|&&r| (r as usize) < set.vocab.len())
                    .map(|&r| set.vocab.token(r as usize).to_string())
                    .collect(),
            },
        }
    }

    /// True when nothing needs the user's attention.
    pub fn is_clean(&self) -> bool {
        self.nan_rows == 0
            && self.inf_rows == 0
            && self.zero_rows == 0
            && self.duplicate_tokens == 0
            && self.invalid_utf8_tokens == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Metadata, Provenance, Vocab};

    #[test]
    fn scan_classifies_rows() {
        let data = vec![
            3.0,
            4.0, // ok, norm 5
            f32::NAN,
            1.0, // nan
            f32::INFINITY,
            1.0, // inf
            0.0,
            0.0, // zero
            f32::NAN,
            f32::INFINITY, // nan wins
            0.6,
            0.8, // unit
        ];
        let m = Matrix::from_vec(6, 2, data).unwrap();
        let s = RowScan::new(&m);
        assert_eq!(s.nan_rows, vec![1, 4]);
        assert_eq!(s.inf_rows, vec![2]);
        assert_eq!(s.zero_rows, vec![3]);
        assert_eq!(s.norms[0], 5.0);
        assert!((s.norms[5] - 1.0).abs() < 1e-7);
        let vocab = Vocab::from_unique(["a", "b", "c", "d", "e", "f"]).unwrap();
        let set = EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).unwrap();
        let r = IntegrityReport::new(&set, &s);
        assert_eq!((r.nan_rows, r.inf_rows, r.zero_rows), (2, 1, 1));
        assert_eq!(r.examples.nan, vec!["b", "e"]);
        let n = r.norms.clone().unwrap();
        assert_eq!(n.finite_rows, 3);
        assert_eq!((n.min, n.max), (0.0, 5.0));
        assert!((n.median - 1.0).abs() < 1e-7);
        assert!(!n.unit_normalized);
        assert!(!r.is_clean());
    }

    #[test]
    fn unit_normalised_detected() {
        let s = NormStats::from_norms(&[1.0, 0.9999, 1.0002, 0.0]).unwrap();
        assert!(s.unit_normalized);
        assert!(NormStats::from_norms(&[f32::NAN]).is_none());
    }
}
