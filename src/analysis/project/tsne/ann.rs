//! Approximate k nearest neighbours for large t-SNE inputs (beyond `EXACT_MAX` points, where the
//! exact search's n^2 cost dominates): the HNSW index of `analysis::ann`, deterministic for a
//! seed on any number of threads; the recall against exact search is measured on a sample.

use std::ops::ControlFlow;

use crate::analysis::AnalysisError;
use crate::analysis::ann::{AnnParams, AnnProgress, knn_graph};
use crate::analysis::knn::{KnnIndex, Metric, Query};
use crate::core::EmbeddingSet;

/// Up to this many points t-SNE uses the exact kNN.
pub const EXACT_MAX: usize = 200_000;

/// Approximate k nearest neighbours of every row (self excluded), with squared euclidean
/// distances, from the HNSW index (`analysis::ann`), seeded.
pub fn knn(
    data: &[f32],
    d: usize,
    k: usize,
    seed: u64,
    progress: impl FnMut(AnnProgress) -> ControlFlow<()>,
) -> Result<Vec<Vec<(u32, f64)>>, AnalysisError> {
    // The search beam is 4k wide: on the 400k GloVe 6B 50d rows (k = 90) a 2k beam gives
    // recall 0.919, 3k 0.941, 4k 0.955 (BENCHMARKS.md); wider lists from a narrower beam
    // (more refinement sources, reverse neighbours) reached the same recall at the same cost.
    let params = AnnParams {
        m: 16,
        ef_construction: 100,
        ef_search: (4 * k).max(64),
        seed,
    };
    let graph = knn_graph(data, d, Metric::Euclidean, k, &params, progress)?;
    Ok(graph
        .into_iter()
        .map(|list| {
            list.into_iter()
                .map(|(j, dist)| (j, f64::from(dist) * f64::from(dist)))
                .collect()
        })
        .collect())
}

/// Share of the exact k nearest neighbours found, over a seeded sample of `s` points.
pub fn recall(
    set: &EmbeddingSet,
    approx: &[Vec<(u32, f64)>],
    k: usize,
    s: usize,
    seed: u64,
) -> f64 {
    let n = set.rows();
    let sample = super::super::quality::sample_indices(n, s.min(n), seed);
    let idx = KnnIndex::new(set);
    let qs: Vec<Query> = sample
        .iter()
        .map(|&i| Query {
            vector: set.matrix.row(i).to_vec(),
            exclude: vec![i],
        })
        .collect();
    let Ok(exact) = idx.search(&qs, k, Metric::Euclidean, None) else {
        return f64::NAN;
    };
    let mut hit = 0usize;
    for (&i, e) in sample.iter().zip(&exact) {
        let got: std::collections::HashSet<u32> = approx[i].iter().map(|x| x.0).collect();
        hit += e
            .iter()
            .filter(|nb| got.contains(&(nb.index as u32)))
            .count();
    }
    hit as f64 / (sample.len() * k) as f64
}
