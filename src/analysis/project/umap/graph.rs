//! The k-nearest-neighbour graph UMAP starts from and the fuzzy simplicial set built on it:
//! per point a distance offset `rho` (the nearest non-zero distance) and a bandwidth `sigma`
//! found by binary search so the memberships sum to log2(n_neighbors), then the fuzzy union
//! w_ij + w_ji - w_ij w_ji (a sparse symmetric matrix in CSR form).

use rayon::prelude::*;

use crate::analysis::knn::{KnnIndex, Metric, Query};
use crate::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};

use super::super::ProjectError;

/// Each row's `k` nearest other rows, nearest first, as plain data: the graph UMAP is built
/// from. Any neighbour engine (exact or approximate) can produce one.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnGraph {
    /// Neighbours per row (the same for every row).
    pub k: usize,
    /// `n x k` row indices, row-major.
    pub indices: Vec<u32>,
    /// `n x k` distances (euclidean, or 1 - cosine), non-decreasing along a row.
    pub distances: Vec<f32>,
}

impl KnnGraph {
    pub fn n(&self) -> usize {
        self.indices.len() / self.k.max(1)
    }

    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (i * self.k, (i + 1) * self.k);
        (&self.indices[a..b], &self.distances[a..b])
    }

    /// A graph from per-row lists `(row, distance)`, nearest first; every list must hold `k`
    /// entries of rows below `rows.len()` other than the row itself.
    pub fn from_rows(rows: &[Vec<(u32, f32)>]) -> Result<KnnGraph, ProjectError> {
        let k = rows.first().map_or(0, Vec::len);
        let n = rows.len();
        let mut indices = Vec::with_capacity(n * k);
        let mut distances = Vec::with_capacity(n * k);
        for (i, r) in rows.iter().enumerate() {
            if r.len() != k {
                return Err(ProjectError::Param(format!(
                    "neighbour graph row {i} holds {} neighbours, row 0 holds {k}",
                    r.len()
                )));
            }
            for &(j, dist) in r {
                indices.push(j);
                distances.push(dist);
            }
        }
        let g = KnnGraph {
            k,
            indices,
            distances,
        };
        g.check(n)?;
        Ok(g)
    }

    /// Checks the graph against `n` points: every index below `n` and not the row itself,
    /// distances finite, >= 0 and non-decreasing.
    pub fn check(&self, n: usize) -> Result<(), ProjectError> {
        let bad = |m: String| Err(ProjectError::Param(format!("neighbour graph: {m}")));
        if self.k == 0 {
            return bad("no neighbours per row".into());
        }
        if self.indices.len() != n * self.k || self.distances.len() != n * self.k {
            return bad(format!(
                "{} entries for {n} rows of {} neighbours",
                self.indices.len(),
                self.k
            ));
        }
        for i in 0..n {
            let (idx, dist) = self.row(i);
            for (p, (&j, &d)) in idx.iter().zip(dist).enumerate() {
                if j as usize >= n || j as usize == i {
                    return bad(format!(
                        "row {i}, neighbour {p}: index {j} (rows 0..{n}, not itself)"
                    ));
                }
                if !(d.is_finite() && d >= 0.0) || (p > 0 && d < dist[p - 1]) {
                    return bad(format!(
                        "row {i}, neighbour {p}: distance {d} (finite, >= 0, nearest first)"
                    ));
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn as_set(data: &[f32], n: usize, d: usize) -> Result<EmbeddingSet, ProjectError> {
    let vocab = Vocab::from_unique((0..n).map(|i| i.to_string()))
        .map_err(|_| ProjectError::Numeric("vocab".into()))?;
    let m =
        Matrix::from_vec(n, d, data.to_vec()).map_err(|e| ProjectError::Numeric(e.to_string()))?;
    EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default())
        .map_err(|e| ProjectError::Numeric(e.to_string()))
}

/// Queries per search call (bounds the memory of one batch of results).
const QUERY_CHUNK: usize = 8192;

/// Converts an engine score into a UMAP distance.
pub(crate) fn distance(metric: Metric, score: f32) -> f32 {
    match metric {
        Metric::Euclidean => score.max(0.0),
        // Cosine distance 1 - cos (dot is only accepted on unit rows, where it is the cosine).
        Metric::Cosine | Metric::Dot => (1.0 - score).max(0.0),
    }
}

/// The engine metric a UMAP metric searches with (dot on unit rows is cosine).
pub(crate) fn engine_metric(metric: Metric) -> Metric {
    match metric {
        Metric::Dot => Metric::Cosine,
        m => m,
    }
}

/// Exact k nearest other rows of every row of `index`'s set, by `metric`.
pub fn exact_knn(
    index: &KnnIndex,
    k: usize,
    metric: Metric,
    mut check: impl FnMut(usize) -> Result<(), ProjectError>,
) -> Result<KnnGraph, ProjectError> {
    let set = index.set();
    let n = set.rows();
    let em = engine_metric(metric);
    let mut indices = Vec::with_capacity(n * k);
    let mut distances = Vec::with_capacity(n * k);
    for start in (0..n).step_by(QUERY_CHUNK) {
        check(start)?;
        let end = (start + QUERY_CHUNK).min(n);
        let qs: Vec<Query> = (start..end)
            .map(|i| {
                let mut q = index
                    .vector_query(set.matrix.row(i), em)
                    .map_err(|e| ProjectError::Numeric(format!("row {i}: {e}")))?;
                q.exclude = vec![i];
                Ok(q)
            })
            .collect::<Result<_, ProjectError>>()?;
        let res = index
            .search(&qs, k, em, None)
            .map_err(|e| ProjectError::Numeric(e.to_string()))?;
        for (i, r) in (start..end).zip(res) {
            if r.len() != k {
                return Err(ProjectError::Numeric(format!(
                    "row {i}: {} neighbours found, {k} needed",
                    r.len()
                )));
            }
            for nb in r {
                indices.push(nb.index as u32);
                distances.push(distance(metric, nb.score));
            }
        }
    }
    Ok(KnnGraph {
        k,
        indices,
        distances,
    })
}

/// Binary search tolerance and iteration cap of the bandwidth search; the smallest bandwidth
/// as a share of the mean distance.
const SMOOTH_K_TOLERANCE: f64 = 1e-5;
const SMOOTH_K_ITER: usize = 64;
const MIN_K_DIST_SCALE: f64 = 1e-3;

/// `rho` and `sigma` of one point from its distance row as the smoothing sees it (for a fitted
/// point the row starts with the point itself at distance 0). The sum of the binary search
/// runs over the entries after the first, as umap-learn's does.
pub(crate) fn smooth_knn(
    row: &[f32],
    target: f64,
    local_connectivity: f64,
    mean_all: f64,
) -> (f64, f64) {
    let nonzero: Vec<f64> = row
        .iter()
        .filter(|&&d| d > 0.0)
        .map(|&d| f64::from(d))
        .collect();
    let mut rho = 0.0f64;
    if nonzero.len() as f64 >= local_connectivity {
        let index = local_connectivity.floor() as usize;
        let interpolation = local_connectivity - index as f64;
        if index > 0 {
            rho = nonzero[index - 1];
            if interpolation > SMOOTH_K_TOLERANCE {
                rho += interpolation * (nonzero[index] - nonzero[index - 1]);
            }
        } else if let Some(&first) = nonzero.first() {
            rho = interpolation * first;
        }
    } else if let Some(m) = nonzero.iter().copied().reduce(f64::max) {
        rho = m;
    }
    // rho is kept in f32 as the reference does.
    let rho = f64::from(rho as f32);
    let (mut lo, mut hi, mut mid) = (0.0f64, f64::INFINITY, 1.0f64);
    for _ in 0..SMOOTH_K_ITER {
        let mut psum = 0.0;
        for &d in &row[1..] {
            let x = f64::from(d) - rho;
            psum += if x > 0.0 { (-(x / mid)).exp() } else { 1.0 };
        }
        if (psum - target).abs() < SMOOTH_K_TOLERANCE {
            break;
        }
        if psum > target {
            hi = mid;
            mid = (lo + hi) / 2.0;
        } else {
            lo = mid;
            mid = if hi.is_finite() {
                (lo + hi) / 2.0
            } else {
                mid * 2.0
            };
        }
    }
    let mut sigma = mid;
    if rho > 0.0 {
        let mean_i = row.iter().map(|&d| f64::from(d)).sum::<f64>() / row.len() as f64;
        sigma = sigma.max(MIN_K_DIST_SCALE * mean_i);
    } else {
        sigma = sigma.max(MIN_K_DIST_SCALE * mean_all);
    }
    (f64::from(sigma as f32), rho)
}

/// Membership strength of a neighbour at distance `d` given the point's `rho` and `sigma`.
#[inline]
pub(crate) fn membership(d: f32, rho: f64, sigma: f64) -> f32 {
    let x = f64::from(d) - rho;
    if x <= 0.0 || sigma == 0.0 {
        1.0
    } else {
        (-(x / sigma)).exp() as f32
    }
}

/// Sparse symmetric weights in CSR form (row `i`'s entries sorted by column).
#[derive(Debug, Clone, Default)]
pub struct Csr {
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f32>,
}

impl Csr {
    pub fn n(&self) -> usize {
        self.indptr.len().saturating_sub(1)
    }
    pub fn row(&self, i: usize) -> (&[u32], &[f32]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }
    pub fn nnz(&self) -> usize {
        self.indices.len()
    }
    /// Keeps only the entries for which `keep(value)` holds.
    pub fn retain(&mut self, keep: impl Fn(f32) -> bool) {
        let n = self.n();
        let mut w = 0;
        let mut start = 0;
        for i in 0..n {
            let end = self.indptr[i + 1];
            for p in start..end {
                if keep(self.values[p]) {
                    self.indices[w] = self.indices[p];
                    self.values[w] = self.values[p];
                    w += 1;
                }
            }
            start = end;
            self.indptr[i + 1] = w;
        }
        self.indices.truncate(w);
        self.values.truncate(w);
    }
}

/// The fuzzy simplicial set of a kNN graph with `n_neighbors` (umap-learn's count, the point
/// itself included: the graph holds `n_neighbors - 1` other rows per point).
pub fn fuzzy_simplicial_set(g: &KnnGraph, n_neighbors: usize) -> Csr {
    let n = g.n();
    let k = g.k;
    let target = (n_neighbors as f64).log2();
    // The mean over all rows as the smoothing sees them (with the 0 of the point itself).
    let mean_all = g.distances.iter().map(|&d| f64::from(d)).sum::<f64>() / (n * (k + 1)) as f64;
    // Directed memberships, row by row.
    let weights: Vec<f32> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .flat_map_iter(|i| {
            let (_, dist) = g.row(i);
            let mut row = Vec::with_capacity(k + 1);
            row.push(0.0f32);
            row.extend_from_slice(dist);
            let (sigma, rho) = smooth_knn(&row, target, 1.0, mean_all);
            dist.iter()
                .map(move |&d| membership(d, rho, sigma))
                .collect::<Vec<_>>()
        })
        .collect();
    // Transpose counts: each point's in-edges.
    let mut in_deg = vec![0usize; n + 1];
    for &j in &g.indices {
        in_deg[j as usize + 1] += 1;
    }
    for i in 0..n {
        in_deg[i + 1] += in_deg[i];
    }
    let mut t_src = vec![0u32; n * k];
    let mut t_w = vec![0f32; n * k];
    let mut fill = in_deg.clone();
    for (p, (&j, &wt)) in g.indices.iter().zip(&weights).enumerate() {
        let j = j as usize;
        t_src[fill[j]] = (p / k) as u32;
        t_w[fill[j]] = wt;
        fill[j] += 1;
    }
    // Per row: a = out-weight, b = in-weight; w = a + b - a b.
    let rows: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .with_min_len(256)
        .map(|i| {
            let mut r: Vec<(u32, f32, f32)> = Vec::with_capacity(2 * k);
            let out = i * k..(i + 1) * k;
            for (&j, &wt) in g.indices[out.clone()].iter().zip(&weights[out]) {
                r.push((j, wt, 0.0));
            }
            for p in in_deg[i]..in_deg[i + 1] {
                r.push((t_src[p], 0.0, t_w[p]));
            }
            r.sort_by_key(|x| x.0);
            let mut out: Vec<(u32, f32)> = Vec::with_capacity(r.len());
            let mut q = 0;
            while q < r.len() {
                let j = r[q].0;
                let (mut a, mut b) = (0f32, 0f32);
                while q < r.len() && r[q].0 == j {
                    a += r[q].1;
                    b += r[q].2;
                    q += 1;
                }
                let w = a + b - a * b;
                if w > 0.0 {
                    out.push((j, w));
                }
            }
            out
        })
        .collect();
    let mut csr = Csr {
        indptr: Vec::with_capacity(n + 1),
        indices: Vec::new(),
        values: Vec::new(),
    };
    csr.indptr.push(0);
    for r in rows {
        for (j, w) in r {
            csr.indices.push(j);
            csr.values.push(w);
        }
        csr.indptr.push(csr.indices.len());
    }
    csr
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smoothing_hits_the_target_sum() {
        let row: Vec<f32> = std::iter::once(0.0)
            .chain((1..15).map(|i| 0.5 + 0.1 * i as f32))
            .collect();
        let target = 15f64.log2();
        let (sigma, rho) = smooth_knn(&row, target, 1.0, 1.0);
        assert!((rho - 0.6).abs() < 1e-6, "{rho}");
        let s: f64 = row[1..]
            .iter()
            .map(|&d| f64::from(membership(d, rho, sigma)))
            .sum();
        assert!((s - target).abs() < 1e-3, "{s} vs {target}");
    }

    #[test]
    fn union_is_symmetric() {
        let g = KnnGraph::from_rows(&[
            vec![(1, 1.0), (2, 2.0)],
            vec![(0, 1.0), (2, 1.5)],
            vec![(1, 1.5), (0, 2.0)],
            vec![(2, 3.0), (1, 4.0)],
        ])
        .expect("valid graph");
        let w = fuzzy_simplicial_set(&g, 3);
        let get = |i: usize, j: u32| {
            let (idx, v) = w.row(i);
            idx.iter().position(|&x| x == j).map_or(0.0, |p| v[p])
        };
        for i in 0..4 {
            for j in 0..4u32 {
                assert_eq!(get(i, j), get(j as usize, i as u32));
            }
            assert_eq!(get(i, i as u32), 0.0);
        }
        assert!(get(3, 2) > 0.0 && get(2, 3) > 0.0);
    }

    #[test]
    fn bad_graphs_are_refused() {
        assert!(KnnGraph::from_rows(&[vec![(0, 1.0)], vec![(0, 1.0)]]).is_err());
        assert!(KnnGraph::from_rows(&[vec![(1, 1.0)], vec![(5, 1.0)]]).is_err());
        assert!(KnnGraph::from_rows(&[vec![(1, f32::NAN)], vec![(0, 1.0)]]).is_err());
        assert!(KnnGraph::from_rows(&[vec![(1, 2.0), (2, 1.0)], vec![], vec![]]).is_err());
    }
}
