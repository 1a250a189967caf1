//! The inspector: the selected row's nearest neighbours, analogies, similarities and the
//! bundled benchmarks of a data set.

use super::{App, AppError};
use crate::analysis::eval::BenchmarkScores;
use crate::analysis::knn::{KnnIndex, Metric};
use crate::core::EmbeddingSet;

/// What the inspector shows for the selected token.
#[derive(Debug, Clone)]
pub struct Inspector {
    pub k: usize,
    pub metric: Metric,
    /// (row, score) of the inspected row's neighbours in the original space.
    pub neighbours: Vec<(usize, f32)>,
    pub neighbours_of: Option<usize>,
    pub analogy: Option<Result<Vec<(String, f32)>, AppError>>,
    pub similarity: Option<Result<f32, AppError>>,
    /// Benchmark results of a data set (by name).
    pub benchmarks: Option<(String, BenchmarkScores)>,
}

impl Default for Inspector {
    fn default() -> Self {
        Inspector {
            k: 10,
            metric: Metric::Cosine,
            neighbours: Vec::new(),
            neighbours_of: None,
            analogy: None,
            similarity: None,
            benchmarks: None,
        }
    }
}

impl App {
    pub(super) fn refresh_neighbours(&mut self) {
        let Some(d) = self.active.and_then(|i| self.datasets.get(i)) else {
            self.inspector.neighbours.clear();
            self.inspector.neighbours_of = None;
            return;
        };
        let Some(row) = d.primary() else {
            self.inspector.neighbours.clear();
            self.inspector.neighbours_of = None;
            return;
        };
        let index = KnnIndex::with_scan(&d.set, &d.scan);
        let result = index
            .token_query(d.token(row), self.inspector.metric)
            .and_then(|q| index.search(&[q], self.inspector.k, self.inspector.metric, None));
        self.inspector.neighbours_of = Some(row);
        match result {
            Ok(mut v) => {
                self.inspector.neighbours = v
                    .pop()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| (n.index, n.score))
                    .collect();
            }
            Err(e) => {
                self.inspector.neighbours.clear();
                let token = d.token(row).to_string();
                self.error(format!("no neighbours for {token}"), e.to_string());
            }
        }
    }
}

/// Cosine similarity of two tokens.
pub fn similarity(set: &EmbeddingSet, a: &str, b: &str) -> Result<f32, AppError> {
    let va = set
        .vector(a)
        .ok_or_else(|| AppError::NotInVocabulary(a.to_string()))?;
    let vb = set
        .vector(b)
        .ok_or_else(|| AppError::NotInVocabulary(b.to_string()))?;
    let dot: f64 = va
        .iter()
        .zip(vb)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = va.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = vb.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 || !dot.is_finite() {
        return Err(AppError::NoCosine);
    }
    Ok((dot / (na * nb)) as f32)
}
