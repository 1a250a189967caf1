//! Nearest neighbours within the shared vocabulary of one side, and the overlap measures
//! (Jaccard@k, rank-biased overlap) between two sides' lists.
//!
//! Candidates come from the exact kNN engine (`KnnIndex`, f32 screening with exact re-rank) with
//! a margin of extra neighbours; the final order is decided by the cosine recomputed in f64 from
//! the raw vectors, ties broken by the lower index (A's order for both sides). So the lists do
//! not depend on float32 rounding except for rows whose cosines agree to ~1e-7 at the margin's
//! edge, which the margin makes vanishingly unlikely.

use std::sync::atomic::{AtomicBool, Ordering};

use super::super::error::AnalysisError;
use super::super::knn::{KnnIndex, Metric, Query};
use crate::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};

/// Extra candidates fetched from the engine before the f64 re-rank.
const MARGIN: usize = 3;
/// Queries per engine call (bounds the memory of the query copies).
const QUERY_CHUNK: usize = 8192;

/// Top-k neighbour indices (into the shared list) of every shared word, best first.
#[derive(Debug, Clone)]
pub struct NeighbourLists {
    pub k: usize,
    /// n x k, row-major.
    pub idx: Vec<u32>,
    /// f64 cosine of each neighbour.
    pub sim: Vec<f64>,
}

impl NeighbourLists {
    pub fn len(&self) -> usize {
        self.idx.len().checked_div(self.k).unwrap_or(0)
    }
    pub fn is_empty(&self) -> bool {
        self.idx.is_empty()
    }
    pub fn of(&self, i: usize) -> &[u32] {
        &self.idx[i * self.k..(i + 1) * self.k]
    }
    pub fn sims(&self, i: usize) -> &[f64] {
        &self.sim[i * self.k..(i + 1) * self.k]
    }
}

/// The shared rows of one side as their own set (rows in shared order).
fn subset(
    set: &EmbeddingSet,
    rows: &[usize],
    tokens: &[String],
) -> Result<EmbeddingSet, AnalysisError> {
    let d = set.dim();
    let mut data = Vec::with_capacity(rows.len() * d);
    for &r in rows {
        data.extend_from_slice(set.matrix.row(r));
    }
    let bad = |e: String| AnalysisError::InvalidParameter(format!("shared rows: {e}"));
    let vocab = Vocab::from_unique(tokens.iter().map(String::as_str))
        .map_err(|(i, t)| bad(format!("token {t:?} repeated at {i}")))?;
    let matrix = Matrix::from_vec(rows.len(), d, data).map_err(|e| bad(e.to_string()))?;
    EmbeddingSet::new(vocab, matrix, Metadata::default(), Provenance::default())
        .map_err(|e| bad(e.to_string()))
}

fn norm64(v: &[f32]) -> f64 {
    v.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt()
}

fn dot64(a: &[f32], b: &[f32]) -> f64 {
    a.iter()
        .zip(b)
        .map(|(&x, &y)| f64::from(x) * f64::from(y))
        .sum()
}

/// Top-k cosine neighbours of every shared row among the shared rows of `set`, the row itself
/// excluded. `k` must be below the number of shared rows.
pub fn shared_neighbours(
    set: &EmbeddingSet,
    rows: &[usize],
    tokens: &[String],
    k: usize,
    cancel: Option<&AtomicBool>,
) -> Result<NeighbourLists, AnalysisError> {
    let n = rows.len();
    if k == 0 {
        return Err(AnalysisError::ZeroK);
    }
    if k >= n {
        return Err(AnalysisError::InvalidParameter(format!(
            "k = {k} needs more than {k} shared words, and the shared vocabulary has {n}"
        )));
    }
    let sub = subset(set, rows, tokens)?;
    let index = KnnIndex::new(&sub);
    let fetch = (k + MARGIN).min(n - 1);
    let norms: Vec<f64> = (0..n).map(|i| norm64(sub.matrix.row(i))).collect();
    let mut idx = Vec::with_capacity(n * k);
    let mut sim = Vec::with_capacity(n * k);
    let mut start = 0;
    while start < n {
        if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            return Err(AnalysisError::Cancelled);
        }
        let end = (start + QUERY_CHUNK).min(n);
        let queries: Vec<Query> = (start..end)
            .map(|i| Query {
                vector: index.unit_row(i),
                exclude: vec![i],
            })
            .collect();
        let found = index.search(&queries, fetch, Metric::Cosine, None)?;
        for (q, list) in (start..end).zip(found) {
            let qr = sub.matrix.row(q);
            let mut scored: Vec<(f64, u32)> = list
                .iter()
                .map(|nb| {
                    let c = dot64(qr, sub.matrix.row(nb.index)) / (norms[q] * norms[nb.index]);
                    (c, nb.index as u32)
                })
                .collect();
            scored.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.cmp(&y.1)));
            scored.truncate(k);
            if scored.len() < k {
                return Err(AnalysisError::InvalidParameter(format!(
                    "only {} neighbours found for '{}' (k = {k})",
                    scored.len(),
                    tokens[q]
                )));
            }
            for (c, j) in scored {
                idx.push(j);
                sim.push(c);
            }
        }
        start = end;
    }
    Ok(NeighbourLists { k, idx, sim })
}

/// |A & B| of two lists of distinct indices.
pub fn overlap(a: &[u32], b: &[u32]) -> usize {
    if a.len() <= 16 {
        return a.iter().filter(|x| b.contains(x)).count();
    }
    let mut sa = a.to_vec();
    let mut sb = b.to_vec();
    sa.sort_unstable();
    sb.sort_unstable();
    let (mut i, mut j, mut c) = (0, 0, 0);
    while i < sa.len() && j < sb.len() {
        match sa[i].cmp(&sb[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                c += 1;
                i += 1;
                j += 1;
            }
        }
    }
    c
}

/// Jaccard index of two top-k sets from their overlap count: I / (2k - I).
pub fn jaccard(i: usize, k: usize) -> f64 {
    i as f64 / (2 * k - i) as f64
}

/// Extrapolated rank-biased overlap (Webber, Moffat & Zobel 2010, eq. 32) of two lists of the
/// same length k: `X_k / k p^k + (1 - p) / p sum_{d=1..k} X_d / d p^d`. Identical lists give 1.
pub fn rbo_ext(a: &[u32], b: &[u32], p: f64) -> f64 {
    let k = a.len().min(b.len());
    if k == 0 {
        return 0.0;
    }
    let mut x = 0usize;
    let mut sum = 0.0;
    let mut pd = 1.0;
    for d in 1..=k {
        let (ad, bd) = (a[d - 1], b[d - 1]);
        if ad == bd {
            x += 1;
        } else {
            if b[..d - 1].contains(&ad) {
                x += 1;
            }
            if a[..d - 1].contains(&bd) {
                x += 1;
            }
        }
        pd *= p;
        sum += x as f64 / d as f64 * pd;
    }
    x as f64 / k as f64 * pd + (1.0 - p) / p * sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rbo_identical_is_one_and_disjoint_is_zero() {
        let a = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert!((rbo_ext(&a, &a, 0.9) - 1.0).abs() < 1e-12);
        let b = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
        assert_eq!(rbo_ext(&a, &b, 0.9), 0.0);
    }

    #[test]
    fn rbo_matches_the_formula_by_hand() {
        // X_1 = 0, X_2 = 2 (a = [1, 2], b = [2, 1]).
        let p: f64 = 0.9;
        let expect = 2.0 / 2.0 * p * p + (1.0 - p) / p * (0.0 + 2.0 / 2.0 * p * p);
        assert!((rbo_ext(&[1, 2], &[2, 1], p) - expect).abs() < 1e-15);
    }

    #[test]
    fn overlap_small_and_large() {
        assert_eq!(overlap(&[1, 2, 3], &[3, 4, 1]), 2);
        let a: Vec<u32> = (0..50).collect();
        let b: Vec<u32> = (25..75).rev().collect();
        assert_eq!(overlap(&a, &b), 25);
        assert!((jaccard(25, 50) - 25.0 / 75.0).abs() < 1e-15);
    }
}
