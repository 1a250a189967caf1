//! Approximate nearest neighbours: a hierarchical navigable small-world graph (HNSW) for cosine,
//! dot product and euclidean distance.
//!
//! The graph holds row numbers only; the vectors stay in the caller's matrix (an embedding set's
//! matrix, memory-mapped or owned), so a persisted index is the graph alone and reopens as a
//! memory map. All links live in one flat `u32` array ([`layout`]): each row's level-0 list is
//! a fixed slot of `2M + 1` words (count, then links), the few rows on upper levels have `M + 1`
//! words per level in a second region.
//!
//! Construction is deterministic for a seed on any number of threads: rows are inserted in
//! batches, every row of a batch searches the graph as it stood at the start of the batch (in
//! parallel), then the new links and the reverse links are applied in a fixed order. A row's
//! level comes from a hash of the seed and its row number. Rows with NaN/Inf values (and, for
//! cosine, all-zero rows) are left out of the graph and counted.

mod build;
mod dist;
pub mod layout;
mod search;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::ops::ControlFlow;
use std::sync::Arc;

use rayon::prelude::*;
use serde::Serialize;

use super::error::AnalysisError;
use super::knn::{Metric, Neighbor, Query, TopN};
use crate::core::EmbeddingSet;
use dist::Kernels;
use layout::Words;

pub use build::build;

/// Each row's nearest other rows: `(row, distance)`, nearest first. The distance is the
/// metric's, lower is closer: `1 - cosine`, `-dot`, or the euclidean distance (not squared).
/// Rows left out of the index (NaN/Inf, zero rows under cosine) have an empty list.
pub type KnnGraph = Vec<Vec<(u32, f32)>>;

/// The index's parameters. [`AnnParams::check`] validates them once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct AnnParams {
    /// Links per row on the upper levels; level 0 keeps `2 * m`.
    pub m: usize,
    /// Candidates kept while linking a new row.
    pub ef_construction: usize,
    /// Candidates kept while searching (at least `k` are always kept).
    pub ef_search: usize,
    pub seed: u64,
}

impl Default for AnnParams {
    fn default() -> Self {
        AnnParams {
            m: 16,
            ef_construction: 100,
            ef_search: DEFAULT_EF_SEARCH,
            seed: 1,
        }
    }
}

/// The search breadth used when none is given: recall@10 >= 0.95 on GloVe 6B 50d (400k rows)
/// with the default `m` and `ef_construction` (see BENCHMARKS.md).
pub const DEFAULT_EF_SEARCH: usize = 128;
/// Relative margin, beyond the `k`-th f32 distance of a search, within which a found row is
/// still re-scored exactly (f32 rounding cannot reorder rows further apart than this).
const RESCORE_TOLERANCE: f32 = 1e-3;
/// Neighbours whose lists a row's list is merged with in [`AnnIndex::knn_graph`]'s refinement.
pub const REFINE_FAN: usize = 16;
/// Limits of `m`.
pub const M_MIN: usize = 2;
pub const M_MAX: usize = 128;
/// Limits of `ef_construction` and `ef_search`.
pub const EF_MIN: usize = 1;
pub const EF_MAX: usize = 100_000;

/// Parameters that passed [`AnnParams::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ValidAnnParams(AnnParams);

impl ValidAnnParams {
    pub fn get(&self) -> &AnnParams {
        &self.0
    }
}

/// `ef` if it lies in `EF_MIN..=EF_MAX`, else a clear error naming the limits.
pub fn check_ef(ef: usize, name: &str) -> Result<usize, AnalysisError> {
    if !(EF_MIN..=EF_MAX).contains(&ef) {
        return Err(AnalysisError::InvalidParameter(format!(
            "{name} must be between {EF_MIN} and {EF_MAX}, got {ef}"
        )));
    }
    Ok(ef)
}

impl AnnParams {
    /// The limits: `m` in `M_MIN..=M_MAX`; `ef_construction` and `ef_search` in
    /// `EF_MIN..=EF_MAX`. Any seed.
    pub fn check(&self) -> Result<ValidAnnParams, AnalysisError> {
        if !(M_MIN..=M_MAX).contains(&self.m) {
            return Err(AnalysisError::InvalidParameter(format!(
                "the index's M must be between {M_MIN} and {M_MAX}, got {}",
                self.m
            )));
        }
        check_ef(self.ef_construction, "ef_construction")?;
        check_ef(self.ef_search, "ef (the search breadth)")?;
        Ok(ValidAnnParams(*self))
    }
}

/// Progress of a build: rows linked so far of all rows to link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AnnProgress {
    pub done: usize,
    pub total: usize,
}

/// Per-row facts of an [`AnnData`]: the inverse norms and usable rows, owned.
#[derive(Debug, Clone)]
pub struct RowFacts {
    rows: usize,
    dim: usize,
    metric: Metric,
    inv_norms: Vec<f32>,
    usable: Vec<bool>,
    left_out: usize,
}

impl RowFacts {
    pub fn metric(&self) -> Metric {
        self.metric
    }
}

/// The vectors an index is built over or searched in, with what the metric needs of each row.
pub struct AnnData<'a> {
    data: &'a [f32],
    rows: usize,
    dim: usize,
    metric: Metric,
    /// 1 / |row| (cosine), else 1.
    inv_norms: Cow<'a, [f32]>,
    /// Rows in the graph: finite, and not all zero under cosine.
    usable: Cow<'a, [bool]>,
    left_out: usize,
    kernels: Kernels,
}

impl<'a> AnnData<'a> {
    /// `data` holds `rows * dim` values, row-major.
    pub fn new(data: &'a [f32], dim: usize, metric: Metric) -> Result<AnnData<'a>, AnalysisError> {
        if dim == 0 || !data.len().is_multiple_of(dim) {
            return Err(AnalysisError::InvalidParameter(format!(
                "{} values do not make rows of {dim}",
                data.len()
            )));
        }
        let rows = data.len() / dim;
        if rows >= u32::MAX as usize {
            return Err(AnalysisError::InvalidParameter(format!(
                "{rows} rows: the index holds fewer than {} rows",
                u32::MAX
            )));
        }
        let (inv_norms, usable): (Vec<f32>, Vec<bool>) = data
            .par_chunks(dim)
            .map(|r| {
                if r.iter().any(|x| !x.is_finite()) {
                    return (0.0, false);
                }
                let n = r.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
                match metric {
                    Metric::Cosine if n > 0.0 && n.is_finite() => ((1.0 / n) as f32, true),
                    Metric::Cosine => (0.0, false),
                    _ => (1.0, true),
                }
            })
            .unzip();
        let left_out = usable.iter().filter(|&&u| !u).count();
        Ok(AnnData {
            data,
            rows,
            dim,
            metric,
            inv_norms: Cow::Owned(inv_norms),
            usable: Cow::Owned(usable),
            left_out,
            kernels: Kernels::detect(),
        })
    }

    /// What this data's rows need of the metric (norms, usable rows), kept so that the same
    /// rows can be searched again without another pass over them ([`AnnData::with_facts`]).
    pub fn facts(&self) -> RowFacts {
        RowFacts {
            rows: self.rows,
            dim: self.dim,
            metric: self.metric,
            inv_norms: self.inv_norms.to_vec(),
            usable: self.usable.to_vec(),
            left_out: self.left_out,
        }
    }

    /// The same rows as when `facts` was taken, without reading them again (an interactive
    /// query on millions of rows). `data` must be the same shape.
    pub fn with_facts(data: &'a [f32], facts: &'a RowFacts) -> Result<AnnData<'a>, AnalysisError> {
        if facts.dim == 0 || data.len() != facts.rows * facts.dim {
            return Err(AnalysisError::InvalidParameter(format!(
                "{} values are not the {} x {} rows these facts were taken from",
                data.len(),
                facts.rows,
                facts.dim
            )));
        }
        Ok(AnnData {
            data,
            rows: facts.rows,
            dim: facts.dim,
            metric: facts.metric,
            inv_norms: Cow::Borrowed(&facts.inv_norms),
            usable: Cow::Borrowed(&facts.usable),
            left_out: facts.left_out,
            kernels: Kernels::detect(),
        })
    }

    pub fn of_set(set: &'a EmbeddingSet, metric: Metric) -> Result<AnnData<'a>, AnalysisError> {
        AnnData::new(set.matrix.as_slice(), set.dim(), metric)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    /// Rows left out of the index: NaN/Inf values, or all zero under cosine.
    pub fn left_out(&self) -> usize {
        self.left_out
    }

    pub fn is_usable(&self, i: usize) -> bool {
        self.usable.get(i).copied().unwrap_or(false)
    }

    fn row(&self, i: usize) -> &[f32] {
        &self.data[i * self.dim..(i + 1) * self.dim]
    }

    /// A row as a query vector: unit length under cosine.
    fn row_query(&self, i: usize) -> Vec<f32> {
        let s = self.inv_norms[i];
        match self.metric {
            Metric::Cosine => self.row(i).iter().map(|&x| x * s).collect(),
            _ => self.row(i).to_vec(),
        }
    }

    /// Distance (lower is closer) from a prepared query to row `j`.
    #[inline]
    fn dist(&self, q: &[f32], j: u32) -> f32 {
        let j = j as usize;
        let x = self.row(j);
        match self.metric {
            Metric::Cosine => 1.0 - self.kernels.dot(q, x) * self.inv_norms[j],
            Metric::Dot => -self.kernels.dot(q, x),
            Metric::Euclidean => self.kernels.l2(q, x),
        }
    }

    /// Asks for row `j`'s values (and its inverse norm under cosine) ahead of a distance.
    #[inline]
    fn prefetch(&self, j: u32) {
        let j = j as usize;
        if let Some(x) = self.data.get(j * self.dim..) {
            dist::prefetch(x.as_ptr(), 4 * self.dim);
        }
        if self.metric == Metric::Cosine
            && let Some(s) = self.inv_norms.get(j)
        {
            dist::prefetch(s, 4);
        }
    }

    /// The distances from one prepared query.
    fn space<'q>(&'q self, q: &'q [f32]) -> QuerySpace<'q, 'a> {
        QuerySpace { data: self, q }
    }

    /// Distance between two rows.
    #[inline]
    fn pair(&self, a: u32, b: u32) -> f32 {
        let (x, y) = (self.row(a as usize), self.row(b as usize));
        match self.metric {
            Metric::Cosine => {
                1.0 - self.kernels.dot(x, y)
                    * self.inv_norms[a as usize]
                    * self.inv_norms[b as usize]
            }
            Metric::Dot => -self.kernels.dot(x, y),
            Metric::Euclidean => self.kernels.l2(x, y),
        }
    }

    /// The exact score of row `j` for a query, in f64: cosine similarity, dot product, or
    /// euclidean distance.
    fn exact_score(&self, q: &[f32], qnorm: f64, j: usize) -> f64 {
        let x = self.row(j);
        match self.metric {
            Metric::Cosine => {
                let d: f64 = q
                    .iter()
                    .zip(x)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum();
                let xn = x.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
                if qnorm > 0.0 && xn > 0.0 {
                    d / (qnorm * xn)
                } else {
                    0.0
                }
            }
            Metric::Dot => q
                .iter()
                .zip(x)
                .map(|(a, b)| f64::from(*a) * f64::from(*b))
                .sum(),
            Metric::Euclidean => q
                .iter()
                .zip(x)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum::<f64>()
                .sqrt(),
        }
    }
}

/// Distances from one prepared query (see [`AnnData::row_query`]) to the rows.
struct QuerySpace<'q, 'a> {
    data: &'q AnnData<'a>,
    q: &'q [f32],
}

impl search::Space for QuerySpace<'_, '_> {
    #[inline]
    fn dist(&self, j: u32) -> f32 {
        self.data.dist(self.q, j)
    }

    #[inline]
    fn prefetch(&self, j: u32) {
        self.data.prefetch(j)
    }
}

/// What an index was built with and over: checked against the data before every use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct GraphInfo {
    pub metric: Metric,
    pub m: usize,
    pub ef_construction: usize,
    pub seed: u64,
    pub rows: usize,
    pub dim: usize,
    /// Rows left out (NaN/Inf, zero rows under cosine).
    pub left_out: usize,
    /// The entry row, `u32::MAX` when the graph is empty.
    pub entry: u32,
    pub max_level: u32,
    /// Words of the upper-level region.
    pub upper_words: usize,
}

/// The graph of an index: links only (see the module comment), owned or viewing shared bytes.
pub struct HnswGraph {
    info: GraphInfo,
    words: Words,
}

impl std::fmt::Debug for HnswGraph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HnswGraph")
            .field("info", &self.info)
            .field("mapped", &self.words.is_shared())
            .finish()
    }
}

impl HnswGraph {
    pub fn info(&self) -> &GraphInfo {
        &self.info
    }

    /// Whether the links are viewed in shared bytes (a memory map) rather than owned.
    pub fn is_mapped(&self) -> bool {
        self.words.is_shared()
    }

    fn shape(&self) -> layout::Shape {
        layout::Shape::new(self.info.rows, self.info.m, self.info.upper_words)
    }

    /// Whether the graph was built with these parameters over data of this shape and metric.
    pub fn matches(&self, data: &AnnData, params: &ValidAnnParams) -> bool {
        let p = params.get();
        self.info.metric == data.metric
            && self.info.rows == data.rows
            && self.info.dim == data.dim
            && self.info.left_out == data.left_out
            && self.info.m == p.m
            && self.info.ef_construction == p.ef_construction
            && self.info.seed == p.seed
    }

    /// Reads a graph written by [`HnswGraph::write_to`], viewing the links in `bytes` (a memory
    /// map) where the host allows, checking every count, level and link first. Returns the graph
    /// and the key it was written with.
    pub fn from_bytes(
        bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
    ) -> Result<(HnswGraph, String), AnalysisError> {
        layout::read(bytes)
    }

    /// Writes the header (with `key`, the caller's fingerprint of the data) and the links.
    pub fn write_to(&self, w: &mut dyn std::io::Write, key: &str) -> std::io::Result<()> {
        layout::write(self, w, key)
    }
}

/// A graph over its data, ready to search.
pub struct AnnIndex<'a> {
    graph: &'a HnswGraph,
    data: &'a AnnData<'a>,
    ef: usize,
}

impl<'a> AnnIndex<'a> {
    /// The metric the index searches by.
    pub fn metric(&self) -> Metric {
        self.data.metric()
    }

    /// Rows of the data the index was built over (rows left out of the graph included).
    pub fn rows(&self) -> usize {
        self.data.rows()
    }

    /// The graph must have been built over data of this shape, metric and left-out count.
    pub fn new(graph: &'a HnswGraph, data: &'a AnnData<'a>) -> Result<AnnIndex<'a>, AnalysisError> {
        let i = &graph.info;
        if i.metric != data.metric
            || i.rows != data.rows
            || i.dim != data.dim
            || i.left_out != data.left_out
        {
            return Err(AnalysisError::InvalidParameter(format!(
                "the index was built for {} rows x {} ({}, {} left out), the data has {} x {} ({}, {} left out)",
                i.rows,
                i.dim,
                i.metric,
                i.left_out,
                data.rows,
                data.dim,
                data.metric,
                data.left_out
            )));
        }
        Ok(AnnIndex {
            graph,
            data,
            ef: DEFAULT_EF_SEARCH,
        })
    }

    /// The search breadth (checked with [`check_ef`] by the caller).
    pub fn with_ef(mut self, ef: usize) -> Self {
        self.ef = ef.max(1);
        self
    }

    pub fn ef(&self) -> usize {
        self.ef
    }

    pub fn graph(&self) -> &HnswGraph {
        self.graph
    }

    /// Approximate top-k for each query, as [`crate::analysis::KnnIndex::search`]: best first,
    /// ties by the lower row, `exclude`d rows never returned, `restrict` keeps rows below it.
    /// Scores are exact (f64) for the rows found. `metric` must be the index's.
    pub fn search(
        &self,
        queries: &[Query],
        k: usize,
        metric: Metric,
        restrict: Option<usize>,
    ) -> Result<Vec<Vec<Neighbor>>, AnalysisError> {
        let rows = self.data.rows;
        let k = TopN::within(k, restrict.map_or(rows, |r| r.min(rows)))?;
        if metric != self.data.metric {
            return Err(AnalysisError::InvalidParameter(format!(
                "the index was built for {}, the search asks for {metric}",
                self.data.metric
            )));
        }
        for q in queries {
            if q.vector.len() != self.data.dim {
                return Err(AnalysisError::DimMismatch {
                    expected: self.data.dim,
                    found: q.vector.len(),
                });
            }
        }
        Ok(queries
            .par_iter()
            .map(|q| {
                search::with_scratch(self.data.rows, |s| {
                    self.search_one(&q.vector, k, &q.exclude, restrict, s)
                })
            })
            .collect())
    }

    fn search_one(
        &self,
        q: &[f32],
        k: usize,
        exclude: &[usize],
        restrict: Option<usize>,
        scratch: &mut search::Scratch,
    ) -> Vec<Neighbor> {
        let ef = self.ef.max(k + exclude.len());
        let words = self.graph.words.get();
        let found = search::search(
            &self.graph.shape(),
            words,
            self.graph.info.entry,
            self.graph.info.max_level,
            &self.data.space(q),
            ef,
            scratch,
        );
        self.rescore(q, k, exclude, restrict, found)
    }

    /// Row `row`'s `k` nearest other rows, searched on level 0 from the row itself: it is in the
    /// graph, so its neighbourhood is where the search starts (no descent from the top, and a
    /// beam that begins at the answer).
    fn search_from_row(
        &self,
        row: usize,
        k: usize,
        scratch: &mut search::Scratch,
    ) -> Vec<Neighbor> {
        let ef = self.ef.max(k + 1);
        let q = self.data.row_query(row);
        let space = self.data.space(&q);
        let start = search::Cand(search::Space::dist(&space, row as u32), row as u32);
        let found = search::layer(
            &self.graph.shape(),
            self.graph.words.get(),
            &space,
            &[start],
            0,
            ef,
            scratch,
        )
        .into_iter()
        .map(|c| (c.0, c.1))
        .collect();
        self.rescore(&q, k, &[row], None, found)
    }

    /// The best `k` of `found` (distance, row; nearest first) other than `exclude` and below
    /// `restrict`, re-scored exactly.
    fn rescore(
        &self,
        q: &[f32],
        k: usize,
        exclude: &[usize],
        restrict: Option<usize>,
        found: Vec<(f32, u32)>,
    ) -> Vec<Neighbor> {
        let limit = restrict.unwrap_or(usize::MAX);
        let qnorm = q.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        let mut kept: Vec<(f32, usize)> = found
            .into_iter()
            .map(|(d, j)| (d, j as usize))
            .filter(|&(_, j)| j < limit && !exclude.contains(&j))
            .collect();
        // Only rows that can be among the best `k` in exact arithmetic are re-scored: the
        // first `k` (nearest first) and any beyond them within rounding of the `k`-th.
        if let Some(&(dk, _)) = kept.get(k.saturating_sub(1)) {
            let tol = RESCORE_TOLERANCE * (1.0 + dk.abs());
            let end = kept[k..].iter().take_while(|e| e.0 <= dk + tol).count();
            kept.truncate(k + end);
        }
        let mut out: Vec<(f64, usize)> = kept
            .into_iter()
            .map(|(_, j)| (self.data.exact_score(q, qnorm, j), j))
            .collect();
        let higher_first = self.data.metric != Metric::Euclidean;
        out.sort_by(|a, b| {
            let o = if higher_first {
                b.0.total_cmp(&a.0)
            } else {
                a.0.total_cmp(&b.0)
            };
            o.then(a.1.cmp(&b.1))
        });
        out.truncate(k);
        out.into_iter()
            .map(|(s, index)| Neighbor {
                index,
                score: s as f32,
            })
            .collect()
    }

    /// Every row's `k` nearest other rows (see [`KnnGraph`]): a search from each row, then
    /// one round of refinement (each row's list merged with the lists of its nearest
    /// [`REFINE_FAN`] neighbours, NN-descent's local join). Progress counts both passes
    /// (`total` = 2 x rows); deterministic on any number of threads.
    pub fn knn_graph(
        &self,
        k: usize,
        mut progress: impl FnMut(AnnProgress) -> ControlFlow<()>,
    ) -> Result<KnnGraph, AnalysisError> {
        let n = self.data.rows;
        let k = TopN::within(k, n)?;
        const BLOCK: usize = 16_384;
        let mut first: KnnGraph = Vec::with_capacity(n);
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let block: Vec<Vec<(u32, f32)>> = (start..end)
                .into_par_iter()
                .map(|i| {
                    if !self.data.is_usable(i) {
                        return Vec::new();
                    }
                    let found = search::with_scratch(n, |s| self.search_from_row(i, k, s));
                    self.as_distances(found)
                })
                .collect();
            first.extend(block);
            if progress(AnnProgress {
                done: end,
                total: 2 * n,
            })
            .is_break()
            {
                return Err(AnalysisError::Cancelled);
            }
        }
        let mut out: KnnGraph = Vec::with_capacity(n);
        for start in (0..n).step_by(BLOCK) {
            let end = (start + BLOCK).min(n);
            let block: Vec<Vec<(u32, f32)>> = (start..end)
                .into_par_iter()
                .map(|i| {
                    if first[i].is_empty() {
                        return Vec::new();
                    }
                    let found = search::with_scratch(n, |s| self.refine_row(i, k, &first, s));
                    self.as_distances(found)
                })
                .collect();
            out.extend(block);
            if progress(AnnProgress {
                done: n + end,
                total: 2 * n,
            })
            .is_break()
            {
                return Err(AnalysisError::Cancelled);
            }
        }
        Ok(out)
    }

    /// Row `row`'s list in `lists` merged with the lists of its nearest [`REFINE_FAN`]
    /// neighbours: every row two steps away is a candidate; the best `k` are re-scored exactly.
    fn refine_row(
        &self,
        row: usize,
        k: usize,
        lists: &KnnGraph,
        s: &mut search::Scratch,
    ) -> Vec<Neighbor> {
        let q = self.data.row_query(row);
        let space = self.data.space(&q);
        let dist = |j: u32| search::Space::dist(&space, j);
        let own = &lists[row];
        s.visit(row as u32);
        let mut found: Vec<(f32, u32)> = own
            .iter()
            .map(|&(j, _)| {
                s.visit(j);
                (dist(j), j)
            })
            .collect();
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let mut worst = if found.len() >= k {
            found[k - 1].0
        } else {
            f32::INFINITY
        };
        for &(j, _) in own.iter().take(REFINE_FAN) {
            for &(c, _) in &lists[j as usize] {
                if !s.visit(c) {
                    continue;
                }
                let d = dist(c);
                // Anything within rounding of the k-th may belong to the exact best k.
                if d <= worst + RESCORE_TOLERANCE * (1.0 + worst.abs()) {
                    found.push((d, c));
                }
            }
            if found.len() > 4 * k {
                found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                found.truncate(2 * k);
                worst = found[k - 1].0;
            }
        }
        found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        self.rescore(&q, k, &[row], None, found)
    }

    /// Neighbours as (row, distance) pairs.
    fn as_distances(&self, found: Vec<Neighbor>) -> Vec<(u32, f32)> {
        found
            .into_iter()
            .map(|nb| (nb.index as u32, self.distance_of(nb.score)))
            .collect()
    }

    /// A search score as a distance (lower is closer).
    fn distance_of(&self, score: f32) -> f32 {
        match self.data.metric {
            Metric::Cosine => 1.0 - score,
            Metric::Dot => -score,
            Metric::Euclidean => score,
        }
    }
}

/// Builds an index over `data` and returns every row's `k` nearest other rows: the neighbour
/// step of t-SNE and UMAP on large inputs. Progress reports the build, the searches and their
/// refinement (`done` counts all three, over `3 * rows`).
pub fn knn_graph(
    data: &[f32],
    dim: usize,
    metric: Metric,
    k: usize,
    params: &AnnParams,
    mut progress: impl FnMut(AnnProgress) -> ControlFlow<()>,
) -> Result<KnnGraph, AnalysisError> {
    let valid = params.check()?;
    TopN::check(k)?;
    let ad = AnnData::new(data, dim, metric)?;
    let n = ad.rows();
    let graph = build(&ad, &valid, &mut |p: AnnProgress| {
        progress(AnnProgress {
            done: p.done,
            total: 3 * n,
        })
    })?;
    let index = AnnIndex::new(&graph, &ad)?.with_ef(params.ef_search.max(k));
    index.knn_graph(k, |p| {
        progress(AnnProgress {
            done: n + p.done,
            total: 3 * n,
        })
    })
}
