//! The inspector: the selected row's nearest neighbours, analogies, similarities and the
//! bundled benchmarks of a data set.

use std::sync::Arc;

use super::jobs::JobKind;
use super::{App, AppError};
use crate::analysis::eval::BenchmarkScores;
use crate::analysis::knn::{KnnIndex, Metric, Neighbor, Query};
use crate::core::EmbeddingSet;
use crate::engine::jobs::{BuildIndex, ExactNeighbours, FoundNeighbours, JobId, ReadyIndex};

/// Sets with at least this many values (rows x dimension) are large: their exact neighbour
/// search reads hundreds of megabytes per query, so it runs as a background job, and an
/// approximate index (HNSW) is built or reopened in the background; once it is ready the
/// inspector's neighbours come from it, marked approximate. Below, one exact query takes a few
/// milliseconds and runs inline.
pub const INDEX_MIN_VALUES: usize = 20_000_000;

/// Search breadth of the inspector's index queries (recall@10 above 0.95 on the measured sets).
const INSPECTOR_EF: usize = 128;

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
    /// Set when the neighbours shown come from the approximate index: how it was made.
    pub approximate: Option<String>,
    /// An exact neighbour search running in the background (large sets).
    pub pending: Option<JobId>,
    /// Sets with at least this many values are large ([`INDEX_MIN_VALUES`] unless changed).
    pub large_from: usize,
}

impl Inspector {
    /// Whether `set` is large: an index and background exact searches.
    pub fn is_large(&self, set: &EmbeddingSet) -> bool {
        set.rows().saturating_mul(set.dim()) >= self.large_from
    }
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
            approximate: None,
            pending: None,
            large_from: INDEX_MIN_VALUES,
        }
    }
}

impl App {
    pub(super) fn refresh_neighbours(&mut self) {
        if let Some(id) = self.inspector.pending.take() {
            self.worker.cancel(id);
        }
        self.inspector.approximate = None;
        let Some(i) = self.active.filter(|&i| i < self.datasets.len()) else {
            self.inspector.neighbours.clear();
            self.inspector.neighbours_of = None;
            return;
        };
        let Some(row) = self.datasets[i].primary() else {
            self.inspector.neighbours.clear();
            self.inspector.neighbours_of = None;
            return;
        };
        self.inspector.neighbours_of = Some(row);
        let (k, metric) = (self.inspector.k, self.inspector.metric);
        let d = &self.datasets[i];
        if self.inspector.is_large(&d.set) {
            self.ensure_index(i);
            let d = &self.datasets[i];
            if let Some(ix) = d.index.as_ref().filter(|ix| ix.metric() == metric) {
                // One graph search: nothing here may pass over every row.
                let result = Query::of_row(&d.set, &d.scan, row, metric)
                    .map_err(Into::into)
                    .and_then(|q| ix.search(&[q], k, INSPECTOR_EF));
                self.inspector.approximate =
                    Some(format!("approximate (HNSW index, {})", ix.describe()));
                let token = d.token(row).to_string();
                self.show_neighbours(&token, result.map_err(|e| e.to_string()));
                return;
            }
            // No index for this metric yet: the exact answer, off the UI thread.
            self.inspector.neighbours.clear();
            let job = ExactNeighbours {
                set: d.set.clone(),
                row,
                k,
                metric,
            };
            let id = self.start(job, JobKind::Neighbours, Some(i), |app, _, found| {
                app.fold_neighbours(found)
            });
            self.inspector.pending = Some(id);
            return;
        }
        let index = KnnIndex::with_scan(&d.set, &d.scan);
        let result = index
            .token_query(d.token(row), metric)
            .and_then(|q| index.search(&[q], k, metric, None));
        let token = d.token(row).to_string();
        self.show_neighbours(&token, result.map_err(|e| e.to_string()));
    }

    /// The inspector's list from one query's answer, or the error said.
    fn show_neighbours(&mut self, token: &str, result: Result<Vec<Vec<Neighbor>>, String>) {
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
                self.error(format!("no neighbours for {token}"), e);
            }
        }
    }

    /// An exact search's answer, shown if it still answers the inspector's question.
    fn fold_neighbours(&mut self, found: FoundNeighbours) {
        let current = self
            .active_dataset()
            .is_some_and(|d| Arc::ptr_eq(&d.set, &found.set) && d.primary() == Some(found.row));
        if current && found.k == self.inspector.k && found.metric == self.inspector.metric {
            self.inspector.pending = None;
            self.inspector.approximate = None;
            self.inspector.neighbours = found.neighbours;
        }
    }

    /// Starts building (or reopening) the active metric's index of a large set, unless it
    /// exists or is on its way.
    pub(super) fn ensure_index(&mut self, ds: usize) {
        let metric = self.inspector.metric;
        let Some(d) = self.datasets.get(ds) else {
            return;
        };
        if !self.inspector.is_large(&d.set)
            || d.index.as_ref().is_some_and(|ix| ix.metric() == metric)
            || d.index_job.is_some_and(|(_, m)| m == metric)
        {
            return;
        }
        if let Some((id, _)) = d.index_job {
            self.worker.cancel(id);
        }
        let job = BuildIndex {
            set: d.set.clone(),
            metric,
            cache_dir: self.cache_dir.clone(),
        };
        let id = self.start(job, JobKind::Index, Some(ds), |app, view, ready| {
            app.fold_index(view.dataset, ready)
        });
        if let Some(d) = self.datasets.get_mut(ds) {
            d.index_job = Some((id, metric));
        }
    }

    fn fold_index(&mut self, ds: Option<usize>, ready: ReadyIndex) {
        let Some(i) = ds.filter(|&i| {
            self.datasets
                .get(i)
                .is_some_and(|d| Arc::ptr_eq(&d.set, &ready.set))
        }) else {
            return;
        };
        let name = self.datasets[i].name.clone();
        for n in &ready.notes {
            self.info(format!("{name}: {n}"));
        }
        self.info(format!(
            "{name}: neighbour index ({}) {}",
            ready.metric(),
            ready.describe()
        ));
        let d = &mut self.datasets[i];
        if d.index_job.is_some_and(|(_, m)| m == ready.metric()) {
            d.index_job = None;
        }
        d.index = Some(Arc::new(ready));
        if self.active == Some(i) {
            self.refresh_neighbours();
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
