//! Exact k-nearest neighbours by cosine, dot product or euclidean distance.
//!
//! The database is cut into tiles of rows; each tile is multiplied with a block of queries
//! (a small GEMM) and the scores are scanned at once by a per-query top-k, so no N x N (or
//! queries x N) matrix is ever built. Tiles are spread over threads (rayon) and the per-thread
//! top-k lists merged. Rows with NaN/Inf never appear as neighbours; zero rows are skipped for
//! cosine (they have no direction). Ties are broken by the lower row index.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use std::sync::OnceLock;

use super::error::AnalysisError;
use super::knn_i8::{self, QuantDb};
use super::linalg::{Layout, Write, matmul};
use super::topk::TopK;

mod score;

use crate::core::{EmbeddingSet, RowScan};
pub(crate) use score::{CHUNK, Scorer};
use score::{CosineScorer, DotScorer, EuclideanScorer, ExactCtx, U32, gamma, max16};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Metric {
    /// Cosine similarity (higher is closer).
    #[default]
    Cosine,
    /// Dot product (higher is closer).
    Dot,
    /// Euclidean distance (lower is closer).
    Euclidean,
}

impl Metric {
    pub const ALL: [Metric; 3] = [Metric::Cosine, Metric::Dot, Metric::Euclidean];

    pub fn name(self) -> &'static str {
        match self {
            Metric::Cosine => "cosine",
            Metric::Dot => "dot",
            Metric::Euclidean => "euclidean",
        }
    }
}

impl std::fmt::Display for Metric {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Metric {
    type Err = String;

    /// A metric's name or alias (`cos`, `ip`, `inner`, `l2`), in any case.
    fn from_str(s: &str) -> Result<Metric, String> {
        match s.to_ascii_lowercase().as_str() {
            "cosine" | "cos" => Ok(Metric::Cosine),
            "dot" | "ip" | "inner" => Ok(Metric::Dot),
            "euclidean" | "l2" => Ok(Metric::Euclidean),
            _ => Err(format!(
                "unknown metric '{s}'; expected one of: {}",
                Metric::ALL.map(Metric::name).join(", ")
            )),
        }
    }
}

/// How many results a query returns: the `k` of a neighbour search (the CLI's `neighbors -k`,
/// the app's inspector) and the top-n of an analogy. At least [`TopN::MIN`]; there is no upper
/// limit (a search returns at most the rows it searches).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct TopN(usize);

impl TopN {
    pub const MIN: usize = 1;

    /// `k` if it is at least [`TopN::MIN`], else [`AnalysisError::ZeroK`].
    pub fn check(k: usize) -> Result<TopN, AnalysisError> {
        if k < Self::MIN {
            return Err(AnalysisError::ZeroK);
        }
        Ok(TopN(k))
    }

    pub fn get(self) -> usize {
        self.0
    }

    /// [`TopN::check`], then capped at the `rows` a search can return: a `k` beyond them
    /// returns every row, and nothing is allocated for the rest.
    pub fn within(k: usize, rows: usize) -> Result<usize, AnalysisError> {
        Ok(Self::check(k)?.0.min(rows.max(Self::MIN)))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Neighbor {
    pub index: usize,
    /// Cosine similarity, dot product, or euclidean distance, depending on the metric.
    pub score: f32,
}

/// A query ready to run: its vector (already normalised for cosine) and the rows to leave out.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    pub vector: Vec<f32>,
    pub exclude: Vec<usize>,
}

impl Query {
    /// The query of row `row` of `set` (its vector, unit length for cosine, the row itself
    /// excluded), from the set's row scan: the same query as [`KnnIndex::token_query`] without
    /// the index's pass over every row, for one interactive query on a large set.
    pub fn of_row(
        set: &EmbeddingSet,
        scan: &RowScan,
        row: usize,
        metric: Metric,
    ) -> Result<Query, AnalysisError> {
        let norm = scan
            .norms
            .get(row)
            .copied()
            .filter(|_| row < set.rows())
            .ok_or_else(|| AnalysisError::UnknownToken(format!("row {row}")))?;
        if !norm.is_finite() || (metric == Metric::Cosine && norm == 0.0) {
            return Err(AnalysisError::DegenerateQuery);
        }
        let r = set.matrix.row(row);
        let vector = if metric == Metric::Cosine {
            let s = 1.0 / norm;
            r.iter().map(|&x| x * s).collect()
        } else {
            r.to_vec()
        };
        Ok(Query {
            vector,
            exclude: vec![row],
        })
    }
}

/// Rows per database tile and queries per block (chosen by benchmark, see BENCHMARKS.md).
const TILE_ROWS: usize = 1024;
const QUERY_BLOCK: usize = 512;

/// Precomputed row norms and exclusion flags over an embedding set.
pub struct KnnIndex<'a> {
    pub(crate) set: &'a EmbeddingSet,
    pub(crate) inv_norms: Vec<f32>,
    pub(crate) sq_norms: Vec<f32>,
    /// NaN/Inf rows: never neighbours.
    pub(crate) invalid: Vec<bool>,
    /// All-zero rows: not neighbours under cosine.
    pub(crate) zero: Vec<bool>,
    /// int8 copies of the rows for the screening engine, built on first use.
    pub(crate) quant_unit: OnceLock<QuantDb>,
    pub(crate) quant_raw: OnceLock<QuantDb>,
}

/// Which engine runs a search. Both give the exact top-k; scores agree to float rounding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Engine {
    /// int8 screen + exact re-rank when the CPU has AVX-512 VNNI and the batch is large enough
    /// to pay for quantising the rows; f32 tiles otherwise.
    #[default]
    Auto,
    /// f32 GEMM tiles with a fused top-k.
    F32,
    /// int8 screen (AVX-512 VNNI) + exact re-rank; falls back to F32 where unavailable.
    Int8,
}

/// Batches from this many queries use the int8 engine under `Engine::Auto`.
const INT8_MIN_QUERIES: usize = 32;

impl<'a> KnnIndex<'a> {
    pub fn new(set: &'a EmbeddingSet) -> Self {
        Self::with_scan(set, &RowScan::new(&set.matrix))
    }

    pub fn with_scan(set: &'a EmbeddingSet, scan: &RowScan) -> Self {
        let n = set.rows();
        let mut invalid = vec![false; n];
        for &r in scan.nan_rows.iter().chain(&scan.inf_rows) {
            invalid[r as usize] = true;
        }
        let mut zero = vec![false; n];
        for &r in &scan.zero_rows {
            zero[r as usize] = true;
        }
        let inv_norms = scan
            .norms
            .iter()
            .map(|&x| if x > 0.0 { 1.0 / x } else { 0.0 })
            .collect();
        let sq_norms = scan.norms.iter().map(|&x| x * x).collect();
        KnnIndex {
            set,
            inv_norms,
            sq_norms,
            invalid,
            zero,
            quant_unit: OnceLock::new(),
            quant_raw: OnceLock::new(),
        }
    }

    pub fn set(&self) -> &'a EmbeddingSet {
        self.set
    }

    /// The row of a token.
    pub fn index_of(&self, token: &str) -> Result<usize, AnalysisError> {
        self.set
            .vocab
            .get(token)
            .ok_or_else(|| AnalysisError::UnknownToken(token.to_string()))
    }

    /// The unit vector of a row (as gensim's `get_vector(norm=True)`).
    pub fn unit_row(&self, i: usize) -> Vec<f32> {
        let s = self.inv_norms[i];
        self.set.matrix.row(i).iter().map(|&x| x * s).collect()
    }

    /// Whether a row can be returned as a neighbour under `metric`.
    pub fn is_candidate(&self, i: usize, metric: Metric) -> bool {
        !(self.invalid[i] || (metric == Metric::Cosine && self.zero[i]))
    }

    /// Query for one token: its vector (unit for cosine), excluding itself.
    pub fn token_query(&self, token: &str, metric: Metric) -> Result<Query, AnalysisError> {
        let i = self.index_of(token)?;
        if !self.is_candidate(i, metric) {
            return Err(AnalysisError::DegenerateQuery);
        }
        let vector = if metric == Metric::Cosine {
            self.unit_row(i)
        } else {
            self.set.matrix.row(i).to_vec()
        };
        Ok(Query {
            vector,
            exclude: vec![i],
        })
    }

    /// Query for a raw vector (normalised for cosine).
    pub fn vector_query(&self, v: &[f32], metric: Metric) -> Result<Query, AnalysisError> {
        if v.len() != self.set.dim() {
            return Err(AnalysisError::DimMismatch {
                expected: self.set.dim(),
                found: v.len(),
            });
        }
        let vector = if metric == Metric::Cosine {
            unit(v).ok_or(AnalysisError::DegenerateQuery)?
        } else {
            if v.iter().any(|x| !x.is_finite()) {
                return Err(AnalysisError::DegenerateQuery);
            }
            v.to_vec()
        };
        Ok(Query {
            vector,
            exclude: Vec::new(),
        })
    }

    /// Exact top-k for each query. `restrict` limits the search to the first rows (gensim's
    /// `restrict_vocab`). Results are best first.
    pub fn search(
        &self,
        queries: &[Query],
        k: usize,
        metric: Metric,
        restrict: Option<usize>,
    ) -> Result<Vec<Vec<Neighbor>>, AnalysisError> {
        self.search_with(queries, k, metric, restrict, Engine::Auto)
    }

    /// [`KnnIndex::search`] with a chosen engine.
    pub fn search_with(
        &self,
        queries: &[Query],
        k: usize,
        metric: Metric,
        restrict: Option<usize>,
        engine: Engine,
    ) -> Result<Vec<Vec<Neighbor>>, AnalysisError> {
        let rows = self.set.rows();
        let k = TopN::within(k, restrict.map_or(rows, |r| r.min(rows)))?;
        let dim = self.set.dim();
        for q in queries {
            if q.vector.len() != dim {
                return Err(AnalysisError::DimMismatch {
                    expected: dim,
                    found: q.vector.len(),
                });
            }
        }
        let excl: Vec<&[usize]> = queries.iter().map(|q| q.exclude.as_slice()).collect();
        let int8 = knn_i8::available()
            && match engine {
                Engine::Auto => queries.len() >= INT8_MIN_QUERIES && dim >= 16,
                Engine::F32 => false,
                Engine::Int8 => true,
            };
        if int8 {
            let qs: Vec<&[f32]> = queries.iter().map(|q| q.vector.as_slice()).collect();
            let raw = self.scan_i8(&qs, &excl, k, restrict, metric);
            return Ok(raw
                .into_iter()
                .zip(queries)
                .map(|(list, q)| self.finish(list, q, metric))
                .collect());
        }
        let flat: Vec<f32> = queries
            .iter()
            .flat_map(|q| q.vector.iter().copied())
            .collect();
        // Error bounds of the f32 scores: the dot product's (gamma |q| |x|) plus the rounding
        // of the score arithmetic itself, with the largest row norm.
        let g = gamma(dim);
        let max_norm = self.norms_max();
        let max_sq = f64::from(max_norm) * f64::from(max_norm);
        let bounds: Vec<f32> = queries
            .iter()
            .map(|q| {
                let qn = q
                    .vector
                    .iter()
                    .map(|&x| f64::from(x).powi(2))
                    .sum::<f64>()
                    .sqrt();
                let e = match metric {
                    // |x| * (1/|x|) <= 1 + a few ulps
                    Metric::Cosine => g * qn * 1.000_001 + 4.0 * U32,
                    Metric::Dot => {
                        g * qn * f64::from(max_norm) + 4.0 * U32 * qn * f64::from(max_norm)
                    }
                    Metric::Euclidean => {
                        2.0 * g * qn * f64::from(max_norm)
                            + 8.0 * U32 * (2.0 * qn * f64::from(max_norm) + max_sq)
                    }
                };
                (e * 1.01 + 1e-30) as f32
            })
            .collect();
        let ctx = || ExactCtx {
            queries: queries.iter().map(|q| q.vector.as_slice()).collect(),
            bounds: bounds.clone(),
            index: self,
        };
        let raw = match metric {
            Metric::Cosine => self.scan(
                &flat,
                k,
                restrict,
                metric,
                &excl,
                &CosineScorer(&self.inv_norms, ctx()),
            ),
            Metric::Dot => self.scan(&flat, k, restrict, metric, &excl, &DotScorer(ctx())),
            Metric::Euclidean => self.scan(
                &flat,
                k,
                restrict,
                metric,
                &excl,
                &EuclideanScorer(&self.sq_norms, ctx()),
            ),
        };
        Ok(raw
            .into_iter()
            .zip(queries)
            .map(|(list, q)| self.finish(list, q, metric))
            .collect())
    }

    /// Turns exact ranking scores into the metric's values (euclidean: the distance).
    fn finish(&self, list: Vec<(f32, u32)>, _q: &Query, metric: Metric) -> Vec<Neighbor> {
        list.into_iter()
            .map(|(s, i)| Neighbor {
                index: i as usize,
                score: if metric == Metric::Euclidean {
                    (-s).max(0.0).sqrt()
                } else {
                    s
                },
            })
            .collect()
    }

    fn norms_max(&self) -> f32 {
        self.sq_norms
            .iter()
            .filter(|x| x.is_finite())
            .fold(0f32, |m, &x| m.max(x))
            .sqrt()
    }

    /// The tiled engine. `qmat` holds `nq * width` query rows (row-major); query `q` owns rows
    /// `q*width .. (q+1)*width`, turned into one score per database row by `scorer`.
    pub(crate) fn scan<S: Scorer>(
        &self,
        qmat: &[f32],
        k: usize,
        restrict: Option<usize>,
        metric: Metric,
        exclude: &[&[usize]],
        scorer: &S,
    ) -> Vec<Vec<(f32, u32)>> {
        let width = scorer.width();
        let dim = self.set.dim();
        let nq = qmat.len() / (dim * width);
        let n = restrict.map_or(self.set.rows(), |r| r.min(self.set.rows()));
        if nq == 0 || n == 0 {
            return vec![Vec::new(); nq];
        }
        let data = self.set.matrix.as_slice();
        let (tile_rows, query_block) = (TILE_ROWS, QUERY_BLOCK);
        let tiles = n.div_ceil(tile_rows);
        let tasks = partition(nq, tiles);
        let partial: Vec<TaskResult> = tasks
            .par_iter()
            .map(|&((qa, qz), (ta, tz))| {
                let nqt = qz - qa;
                let mut tops: Vec<TopK> = (0..nqt).map(|_| TopK::new(k)).collect();
                let mut cands: Vec<Vec<(u32, f32)>> = vec![Vec::new(); nqt];
                let qb = query_block.min(nqt);
                let mut tile = vec![0f32; qb * width * tile_rows];
                let mut buf = [0f32; CHUNK];
                for t in ta..tz {
                    let j0 = t * tile_rows;
                    let nb = tile_rows.min(n - j0);
                    let x = &data[j0 * dim..(j0 + nb) * dim];
                    for q0 in (qa..qz).step_by(qb) {
                        let qn = qb.min(qz - q0);
                        let m = qn * width;
                        let lhs = &qmat[q0 * width * dim..(q0 + qn) * width * dim];
                        let dst = &mut tile[..m * nb];
                        // dst = lhs x^T: lhs is m x dim, x is nb x dim, both row-major.
                        matmul(
                            dst,
                            Layout::row_major(m, nb),
                            lhs,
                            Layout::row_major(m, dim),
                            x,
                            Layout::row_major(nb, dim).t(),
                            Write::Overwrite,
                        );
                        for qi in 0..qn {
                            let q = q0 + qi;
                            let rows = &dst[qi * width * nb..(qi + 1) * width * nb];
                            let top = &mut tops[q - qa];
                            let cand = &mut cands[q - qa];
                            let bound = scorer.bound(q);
                            let e = bound.unwrap_or(0.0);
                            let mut thr = top.threshold();
                            // A chunk whose best score cannot enter the top-k costs one vector
                            // max; only promising chunks are looked at row by row. With a bound,
                            // `top` holds lower bounds and every row whose upper bound reaches
                            // the k-th lower bound stays a candidate for the exact re-rank.
                            for c in (0..nb).step_by(CHUNK) {
                                let len = CHUNK.min(nb - c);
                                scorer.chunk(rows, nb, j0, c, &mut buf);
                                let vals = &buf[..len];
                                let max = if len == CHUNK {
                                    max16(&buf)
                                } else {
                                    vals.iter()
                                        .fold(f32::NEG_INFINITY, |m, &v| if v > m { v } else { m })
                                };
                                if !(max + e >= thr
                                    || (!top.is_full() && vals.iter().any(|v| !v.is_nan())))
                                {
                                    continue;
                                }
                                for (i, &sc) in vals.iter().enumerate() {
                                    if sc + e >= thr || (!top.is_full() && !sc.is_nan()) {
                                        let j = j0 + c + i;
                                        if !self.is_candidate(j, metric) || exclude[q].contains(&j)
                                        {
                                            continue;
                                        }
                                        top.push(sc - e, j as u32);
                                        if bound.is_some() {
                                            cand.push((j as u32, sc + e));
                                            if cand.len() > 8 * k + 256 {
                                                compact(
                                                    cand,
                                                    top,
                                                    k,
                                                    |j| scorer.exact(q, j),
                                                    scorer.shift(q),
                                                );
                                            }
                                        }
                                        thr = top.threshold();
                                    }
                                }
                            }
                        }
                    }
                }
                (qa, tops, cands)
            })
            .collect();
        if scorer.bound(0).is_none() {
            return merge_parts(
                nq,
                k,
                partial.into_iter().map(|(qa, t, _)| (qa, t)).collect(),
            );
        }
        // Exact re-rank of the candidates that can still be in the top k.
        let mut owners: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nq];
        for (t, (qa, tops, _)) in partial.iter().enumerate() {
            for i in 0..tops.len() {
                owners[qa + i].push((t, i));
            }
        }
        (0..nq)
            .into_par_iter()
            .map(|q| {
                let mut lower = TopK::new(k);
                for &(t, i) in &owners[q] {
                    lower.merge(partial[t].1[i].clone());
                }
                let tau = lower.threshold();
                let mut top = TopK::new(k);
                for &(t, i) in &owners[q] {
                    for &(j, u) in &partial[t].2[i] {
                        if u >= tau {
                            top.push(scorer.exact(q, j as usize) as f32, j);
                        }
                    }
                }
                top.into_sorted()
            })
            .collect()
    }
}

/// Keeps a query's candidate list short. The rows whose upper bound fell below the k-th lower
/// bound go; when that leaves over half the list (near-duplicates whose scores all lie within
/// the bound of each other, which no bound can separate: thousands a query in clustered data,
/// held until the re-rank), the candidates are scored exactly and only the k best stay, their
/// exact scores now both bounds. The exact re-rank keeps the k best under the same total order
/// (score, then row), so it returns what it would have from the whole list. `shift` takes an
/// exact score to the screen's scale (the int8 screen ranks euclidean rows by `2 q.x - |x|^2`,
/// the exact score is `-|q - x|^2`: the shift is `|q|^2`). Amortised: at most one pass, and one
/// exact score, per candidate pushed.
pub(crate) fn compact(
    cand: &mut Vec<(u32, f32)>,
    lower: &mut TopK,
    k: usize,
    exact: impl Fn(usize) -> f64,
    shift: f64,
) {
    let limit = cand.len();
    let t = lower.threshold();
    cand.retain(|&(_, u)| u >= t);
    if cand.len() * 2 <= limit {
        return;
    }
    let mut best = TopK::new(k);
    let mut scores = Vec::with_capacity(cand.len());
    for &(j, _) in cand.iter() {
        let s = exact(j as usize);
        best.push(s as f32, j);
        scores.push((j, s));
    }
    let kept: std::collections::HashSet<u32> =
        best.into_sorted().into_iter().map(|(_, j)| j).collect();
    *lower = TopK::new(k);
    cand.clear();
    for (j, s) in scores {
        if kept.contains(&j) {
            // Rounded outwards to f32: the lower bound never above the score, the upper never
            // below (a tie at the k-th is not cut by a rounding).
            let on_screen = (s + shift) as f32;
            lower.push(on_screen.next_down(), j);
            cand.push((j, on_screen.next_up()));
        }
    }
}

/// One task's result: its first query, top-k per query (lower bounds when screening), and the
/// candidates (row, upper bound) per query.
type TaskResult = (usize, Vec<TopK>, Vec<Vec<(u32, f32)>>);

/// Splits a search over threads: over queries when there are many (each query then has one
/// top-k list over the whole database), else over ranges of database `units`. Returns
/// ((query range), (unit range)) per task.
pub(crate) fn partition(nq: usize, units: usize) -> Vec<((usize, usize), (usize, usize))> {
    let threads = rayon::current_num_threads().max(1);
    const QUERIES_PER_TASK: usize = 64;
    if nq >= QUERIES_PER_TASK * threads {
        let parts = (nq / QUERIES_PER_TASK).min(threads * 4).max(1);
        let per = nq.div_ceil(parts);
        (0..nq.div_ceil(per))
            .map(|p| ((p * per, ((p + 1) * per).min(nq)), (0, units)))
            .collect()
    } else {
        let parts = units.min(threads * 4).max(1);
        let per = units.div_ceil(parts);
        (0..units.div_ceil(per))
            .map(|p| ((0, nq), (p * per, ((p + 1) * per).min(units))))
            .collect()
    }
}

/// Merges per-task top-k lists (tagged with their first query) into one list per query.
pub(crate) fn merge_parts(
    nq: usize,
    k: usize,
    parts: Vec<(usize, Vec<TopK>)>,
) -> Vec<Vec<(f32, u32)>> {
    let mut merged: Vec<TopK> = (0..nq).map(|_| TopK::new(k)).collect();
    for (qa, tops) in parts {
        for (i, t) in tops.into_iter().enumerate() {
            merged[qa + i].merge(t);
        }
    }
    merged.into_iter().map(TopK::into_sorted).collect()
}

/// `v / |v|`, or `None` for a zero or non-finite vector.
pub fn unit(v: &[f32]) -> Option<Vec<f32>> {
    let n = v
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        .sqrt();
    if !(n.is_finite() && n > 0.0) {
        return None;
    }
    let n = n as f32;
    Some(v.iter().map(|&x| x / n).collect())
}

#[cfg(test)]
mod tests;
