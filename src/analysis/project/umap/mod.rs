//! UMAP (McInnes, Healy & Melville 2018) following umap-learn 0.5's defaults: the fuzzy
//! simplicial set of the k-nearest-neighbour graph (`graph.rs`), the curve parameters a and b
//! fitted to `min_dist` and `spread` (`curve.rs`), a spectral initial layout (`spectral.rs`)
//! with a little noise, scaled to [0, 10], then SGD with negative sampling (`sgd.rs`).
//! The neighbours come from the exact engine, from the approximate one above
//! `exact_knn_max` points, or from the caller ([`run`]'s `graph`). The layout depends on the
//! seed only, not on the number of threads. `transform.rs` places new rows into a finished
//! map (UMAP's own, or a t-SNE map).

pub mod curve;
pub mod graph;
pub mod sgd;
pub mod spectral;
pub mod transform;

use std::ops::ControlFlow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::knn::{KnnIndex, Metric};
use crate::core::EmbeddingSet;

use super::tsne::ann;
use super::{Details, Input, ProjectError, Projection, Rng};
pub use graph::KnnGraph;
use graph::{Csr, as_set};
pub use spectral::InitKind;

/// The most dimensions UMAP maps to (above 3: reduced spaces for clustering).
pub const MAX_DIMS: usize = 10;

/// UMAP's parameters as the CLI and the app build them; [`UmapParams::check`] validates them
/// once into [`ValidUmapParams`], [`ValidUmapParams::check_input`] adds the limits that depend
/// on the data. [`run`] and [`project`] run both first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UmapParams {
    pub dims: usize,
    /// Neighbourhood size, the point itself included (umap-learn's count).
    pub n_neighbors: usize,
    pub min_dist: f64,
    pub spread: f64,
    /// Epochs of SGD; None: 500 up to 10,000 points, 200 above (umap-learn's default).
    pub n_epochs: Option<usize>,
    /// Cosine, euclidean, or dot (only on unit-length rows, where it is the cosine).
    pub metric: Metric,
    pub seed: u64,
    pub learning_rate: f64,
    pub negative_sample_rate: usize,
    /// Weight of the negative samples (umap-learn's repulsion_strength).
    pub repulsion_strength: f64,
    /// The layout is reported every this many epochs.
    pub report_every: usize,
    /// Above this many points the neighbours come from the approximate index (its recall
    /// on a sample is measured and reported).
    pub exact_knn_max: usize,
}

impl Default for UmapParams {
    fn default() -> Self {
        UmapParams {
            dims: 2,
            n_neighbors: 15,
            min_dist: 0.1,
            spread: 1.0,
            n_epochs: None,
            metric: Metric::Euclidean,
            seed: 1,
            learning_rate: 1.0,
            negative_sample_rate: 5,
            repulsion_strength: 1.0,
            report_every: 5,
            exact_knn_max: ann::EXACT_MAX,
        }
    }
}

/// Largest accepted `n_neighbors`.
pub const MAX_NEIGHBORS: usize = 500;
/// Largest accepted `n_epochs`.
pub const MAX_EPOCHS: usize = 100_000;

impl UmapParams {
    /// umap-learn's epochs for `n` points when none are given.
    pub fn epochs_for(&self, n: usize) -> usize {
        self.n_epochs.unwrap_or(if n <= 10_000 { 500 } else { 200 })
    }

    /// The fewest points UMAP accepts: `n_neighbors + 1`.
    pub fn min_points(&self) -> usize {
        self.n_neighbors + 1
    }

    /// The limits that do not depend on the data:
    /// - `dims`: 2 to [`MAX_DIMS`];
    /// - `n_neighbors`: 2 to [`MAX_NEIGHBORS`];
    /// - `min_dist`: finite, >= 0 and at most `spread`; `spread`: finite and > 0;
    /// - `n_epochs`: None, or 1 to [`MAX_EPOCHS`];
    /// - `learning_rate` and `repulsion_strength`: finite and > 0;
    /// - `negative_sample_rate`: 0 to 100; `report_every`: at least 1.
    pub fn check(&self) -> Result<ValidUmapParams, ProjectError> {
        let bad = |m: String| Err(ProjectError::Param(m));
        if !(2..=MAX_DIMS).contains(&self.dims) {
            return bad(format!(
                "UMAP maps to 2 to {MAX_DIMS} dimensions (2 or 3 to draw), not {}",
                self.dims
            ));
        }
        if !(2..=MAX_NEIGHBORS).contains(&self.n_neighbors) {
            return bad(format!(
                "n_neighbors must be between 2 and {MAX_NEIGHBORS}, got {}",
                self.n_neighbors
            ));
        }
        if !(self.spread.is_finite() && self.spread > 0.0) {
            return bad(format!(
                "spread must be a positive number, got {}",
                self.spread
            ));
        }
        if !(self.min_dist.is_finite() && self.min_dist >= 0.0 && self.min_dist <= self.spread) {
            return bad(format!(
                "min_dist must be between 0 and spread ({}), got {}",
                self.spread, self.min_dist
            ));
        }
        if let Some(e) = self.n_epochs
            && !(1..=MAX_EPOCHS).contains(&e)
        {
            return bad(format!(
                "n_epochs must be between 1 and {MAX_EPOCHS}, got {e}"
            ));
        }
        for (name, v) in [
            ("learning rate", self.learning_rate),
            ("repulsion strength", self.repulsion_strength),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return bad(format!("{name} must be a positive number, got {v}"));
            }
        }
        if self.negative_sample_rate > 100 {
            return bad(format!(
                "negative_sample_rate must be at most 100, got {}",
                self.negative_sample_rate
            ));
        }
        if self.report_every == 0 {
            return bad("report_every must be at least 1".into());
        }
        Ok(ValidUmapParams(self.clone()))
    }
}

/// UMAP parameters that passed [`UmapParams::check`] (read through `Deref`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidUmapParams(UmapParams);

impl std::ops::Deref for ValidUmapParams {
    type Target = UmapParams;
    fn deref(&self) -> &UmapParams {
        &self.0
    }
}

impl ValidUmapParams {
    /// The limits that depend on the data: `dim` >= 1 and `n` >= `n_neighbors + 1`.
    pub fn check_input(&self, n: usize, dim: usize) -> Result<(), ProjectError> {
        super::check_points(n, dim, self.min_points(), || {
            format!(
                "UMAP with n_neighbors {} (n_neighbors + 1)",
                self.n_neighbors
            )
        })
    }
}

/// Progress report: epochs done and the layout (`n x dims`, row-major).
pub struct Progress<'a> {
    pub epoch: usize,
    pub total: usize,
    pub layout: &'a [f32],
}

/// Where the neighbours came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Neighbours {
    Exact,
    /// The approximate index, with its recall measured on a sample.
    Approximate {
        recall: f64,
    },
    /// A graph passed by the caller.
    Given,
}

/// Seconds spent in each step of a UMAP run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct UmapSeconds {
    /// The kNN graph (exact search, or the index built or read, then searched).
    pub neighbours: f64,
    /// The fuzzy simplicial set and its pruning.
    pub fuzzy_set: f64,
    /// The spectral (or random) initial layout.
    pub init: f64,
    /// The SGD epochs.
    pub optimise: f64,
}

/// The result of UMAP on a row-major buffer.
#[derive(Debug, Clone)]
pub struct UmapResult {
    /// `n x dims`, row-major.
    pub layout: Vec<f32>,
    pub a: f64,
    pub b: f64,
    pub n_epochs: usize,
    pub init: InitKind,
    pub neighbours: Neighbours,
    /// Directed edges of the graph the SGD samples.
    pub edges: usize,
    pub seconds: UmapSeconds,
}

/// Rounds of each SGD epoch (the layout other points see is refreshed between rounds).
const ROUNDS: usize = 8;

/// Points sampled to measure the approximate index's recall (each compared with every row).
const APPROX_RECALL_SAMPLE: usize = 400;
/// Rows are unit length for `dot` when |norm - 1| is below this.
const UNIT_TOL: f64 = 1e-3;

fn is_unit(row: &[f32]) -> bool {
    let n2: f64 = row.iter().map(|&x| f64::from(x) * f64::from(x)).sum();
    (n2.sqrt() - 1.0).abs() < UNIT_TOL
}

/// The kNN graph of `data` by `metric`: `k` other rows per row. Up to `exact_max` rows the
/// exact engine; above, the HNSW index of `analysis::ann` (seeded, the same graph on any thread
/// count), its recall measured against an exact search of a sample. `keep_going` is asked
/// between steps of the index build; false cancels.
pub fn knn_graph(
    data: &[f32],
    d: usize,
    k: usize,
    metric: Metric,
    exact_max: usize,
    seed: u64,
    keep_going: &mut dyn FnMut() -> bool,
) -> Result<(KnnGraph, Neighbours), ProjectError> {
    let n = data.len() / d;
    let metric = search_metric(metric);
    if n <= exact_max {
        let set = as_set(data, n, d)?;
        let index = KnnIndex::new(&set);
        return Ok((
            graph::exact_knn(&index, k, metric, |_| Ok(()))?,
            Neighbours::Exact,
        ));
    }
    let params = crate::analysis::ann::AnnParams {
        m: 16,
        ef_construction: 100,
        ef_search: (2 * k).max(64),
        seed,
    };
    // The index reads `data` in place (no copy); cosine distances come back as 1 - cos,
    // euclidean ones as distances.
    let rows = crate::analysis::ann::knn_graph(data, d, metric, k, &params, |_| {
        if keep_going() {
            std::ops::ControlFlow::Continue(())
        } else {
            std::ops::ControlFlow::Break(())
        }
    })
    .map_err(|e| match e {
        crate::analysis::AnalysisError::Cancelled => ProjectError::Cancelled,
        e => ProjectError::Param(e.to_string()),
    })?;
    let recall = sampled_recall(data, d, metric, &rows, k, APPROX_RECALL_SAMPLE.min(n), seed);
    Ok((
        KnnGraph::from_rows(&rows)?,
        Neighbours::Approximate { recall },
    ))
}

/// Share of the exact `k` nearest other rows found in `approx`, over `s` sampled rows: the
/// sample's distances to every row come from one GEMM per block of rows (no copy of `data`).
fn sampled_recall(
    data: &[f32],
    d: usize,
    metric: Metric,
    approx: &[Vec<(u32, f32)>],
    k: usize,
    s: usize,
    seed: u64,
) -> f64 {
    use crate::analysis::linalg::{Layout, Write, matmul};
    let n = data.len() / d;
    let sample = super::quality::sample_indices(n, s, seed);
    let q: Vec<f32> = sample
        .iter()
        .flat_map(|&i| data[i * d..(i + 1) * d].iter().copied())
        .collect();
    let norm2 = |r: &[f32]| r.iter().map(|&x| x * x).sum::<f32>();
    let qn: Vec<f32> = q.chunks(d).map(norm2).collect();
    const BLOCK: usize = 8192;
    // Per sampled row, the k best (distance, row) so far.
    let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(k + 1); sample.len()];
    let mut dots = vec![0f32; sample.len() * BLOCK];
    for start in (0..n).step_by(BLOCK) {
        let b = BLOCK.min(n - start);
        let block = &data[start * d..(start + b) * d];
        let out = &mut dots[..sample.len() * b];
        matmul(
            out,
            Layout::row_major(sample.len(), b),
            &q,
            Layout::row_major(sample.len(), d),
            block,
            Layout::row_major(b, d).t(),
            Write::Overwrite,
        );
        let bn: Vec<f32> = block.chunks(d).map(norm2).collect();
        best.par_iter_mut().enumerate().for_each(|(si, list)| {
            for j in 0..b {
                let row = start + j;
                if row == sample[si] {
                    continue;
                }
                let dot = out[si * b + j];
                let dist = match metric {
                    Metric::Cosine => 1.0 - dot / (qn[si] * bn[j]).sqrt().max(f32::MIN_POSITIVE),
                    Metric::Dot => -dot,
                    Metric::Euclidean => qn[si] + bn[j] - 2.0 * dot,
                };
                if list.len() < k || dist < list[list.len() - 1].0 {
                    let at = list.partition_point(|x| x.0 <= dist);
                    list.insert(at, (dist, row as u32));
                    list.truncate(k);
                }
            }
        });
    }
    let mut hit = 0usize;
    for (&i, e) in sample.iter().zip(&best) {
        hit += e
            .iter()
            .filter(|(_, r)| approx[i].iter().any(|x| x.0 == *r))
            .count();
    }
    hit as f64 / (sample.len() * k).max(1) as f64
}

/// Data-space distance between two centroids under `metric`.
fn centroid_distances(data: &[f32], d: usize, metric: Metric, members: &[Vec<usize>]) -> Vec<f64> {
    let c = members.len();
    let cent: Vec<Vec<f64>> = members
        .iter()
        .map(|m| {
            let mut s = vec![0.0; d];
            for &i in m {
                for (a, &x) in s.iter_mut().zip(&data[i * d..(i + 1) * d]) {
                    *a += f64::from(x);
                }
            }
            s.iter_mut().for_each(|v| *v /= m.len() as f64);
            s
        })
        .collect();
    let mut out = vec![0.0; c * c];
    for a in 0..c {
        for b in a + 1..c {
            let (x, y) = (&cent[a], &cent[b]);
            let dist = match metric {
                Metric::Euclidean => x
                    .iter()
                    .zip(y)
                    .map(|(p, q)| (p - q).powi(2))
                    .sum::<f64>()
                    .sqrt(),
                Metric::Cosine | Metric::Dot => {
                    let xy: f64 = x.iter().zip(y).map(|(p, q)| p * q).sum();
                    let nx: f64 = x.iter().map(|p| p * p).sum::<f64>().sqrt();
                    let ny: f64 = y.iter().map(|p| p * p).sum::<f64>().sqrt();
                    if nx > 0.0 && ny > 0.0 {
                        1.0 - xy / (nx * ny)
                    } else {
                        1.0
                    }
                }
            };
            out[a * c + b] = dist;
            out[b * c + a] = dist;
        }
    }
    out
}

/// Spectral initial layout with noise, scaled to [0, 10] per dimension (umap-learn's
/// `noisy_scale_coords` then its min-max scaling).
fn initial_layout(
    g: &Csr,
    dims: usize,
    seed: u64,
    data: &[f32],
    d: usize,
    metric: Metric,
) -> (Vec<f32>, InitKind) {
    let n = g.n();
    let (raw, kind) =
        spectral::init_layout(g, dims, seed, |m| centroid_distances(data, d, metric, m));
    let mx = raw.iter().fold(0f64, |b, v| b.max(v.abs()));
    let expansion = if mx > 0.0 { 10.0 / mx } else { 1.0 };
    let mut rng = Rng::new(seed ^ 0x0015_E0A1);
    let mut y: Vec<f32> = raw
        .iter()
        .map(|&v| (v * expansion) as f32 + (1e-4 * rng.normal()) as f32)
        .collect();
    for k in 0..dims {
        let (lo, hi) = (0..n).fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), i| {
            (lo.min(y[i * dims + k]), hi.max(y[i * dims + k]))
        });
        let span = hi - lo;
        for i in 0..n {
            let v = &mut y[i * dims + k];
            *v = if span > 0.0 {
                10.0 * (*v - lo) / span
            } else {
                5.0
            };
        }
    }
    (y, kind)
}

/// Edges for the SGD from the weights (both directions, sampling period w_max / w).
fn edges_of(w: &Csr) -> sgd::Edges {
    let wmax = w.values.iter().copied().fold(0f32, f32::max);
    sgd::Edges {
        indptr: w.indptr.clone(),
        tails: w.indices.clone(),
        epochs_per_sample: w.values.iter().map(|&v| wmax / v).collect(),
    }
}

/// Runs UMAP on `n x d` row-major data, from `graph` when given (each row's nearest other
/// rows, at least `n_neighbors - 1` of them) or else the neighbours it finds itself.
/// `on_progress` may stop the run (`ControlFlow::Break` gives `ProjectError::Cancelled`).
pub fn run(
    data: &[f32],
    d: usize,
    params: &UmapParams,
    graph: Option<KnnGraph>,
    mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<UmapResult, ProjectError> {
    let valid = params.check()?;
    let n = data.len() / d.max(1);
    valid.check_input(n, d)?;
    if data.len() != n * d {
        return Err(ProjectError::Param(format!(
            "{} values are not rows of {d}",
            data.len()
        )));
    }
    if data.par_iter().any(|x| !x.is_finite()) {
        return Err(ProjectError::NonFinite);
    }
    if data.par_chunks(d).all(|r| r == &data[..d]) {
        return Err(ProjectError::Degenerate);
    }
    if params.metric == Metric::Dot
        && let Some(i) = data.par_chunks(d).position_any(|r| !is_unit(r))
    {
        return Err(ProjectError::Param(format!(
            "the dot product is a UMAP distance only between unit-length rows (where it is the \
             cosine); row {i} has norm {:.4}: use the cosine metric",
            data[i * d..(i + 1) * d]
                .iter()
                .map(|&x| f64::from(x).powi(2))
                .sum::<f64>()
                .sqrt()
        )));
    }
    if matches!(params.metric, Metric::Cosine)
        && let Some(i) = data
            .par_chunks(d)
            .position_any(|r| r.iter().all(|&x| x == 0.0))
    {
        return Err(ProjectError::Param(format!(
            "row {i} is all zeros: it has no cosine distance"
        )));
    }
    let k = params.n_neighbors - 1;
    let mut seconds = UmapSeconds::default();
    let t = std::time::Instant::now();
    let (g, neighbours) = match graph {
        Some(mut g) => {
            g.check(n)?;
            if g.k < k {
                return Err(ProjectError::Param(format!(
                    "the neighbour graph holds {} neighbours per row, n_neighbors {} needs {k}",
                    g.k, params.n_neighbors
                )));
            }
            if g.k > k {
                g = KnnGraph {
                    k,
                    indices: (0..n).flat_map(|i| g.row(i).0[..k].to_vec()).collect(),
                    distances: (0..n).flat_map(|i| g.row(i).1[..k].to_vec()).collect(),
                };
            }
            (g, Neighbours::Given)
        }
        None => {
            let mut keep_going = || {
                on_progress(&Progress {
                    epoch: 0,
                    total: params.epochs_for(n),
                    layout: &[],
                })
                .is_continue()
            };
            knn_graph(
                data,
                d,
                k,
                params.metric,
                params.exact_knn_max,
                params.seed,
                &mut keep_going,
            )?
        }
    };
    if on_progress(&Progress {
        epoch: 0,
        total: params.epochs_for(n),
        layout: &[],
    })
    .is_break()
    {
        return Err(ProjectError::Cancelled);
    }
    seconds.neighbours = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let mut w = graph::fuzzy_simplicial_set(&g, params.n_neighbors);
    drop(g);
    let n_epochs = params.epochs_for(n);
    let prune_epochs = if n_epochs > 10 {
        n_epochs
    } else {
        UmapParams::default().epochs_for(n)
    };
    let wmax = w.values.iter().copied().fold(0f32, f32::max);
    if wmax.is_nan() || wmax <= 0.0 {
        return Err(ProjectError::Degenerate);
    }
    let floor = wmax / prune_epochs as f32;
    w.retain(|v| v >= floor);
    seconds.fuzzy_set = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let (mut y, init) = initial_layout(&w, params.dims, params.seed, data, d, params.metric);
    let edges = edges_of(&w);
    drop(w);
    seconds.init = t.elapsed().as_secs_f64();
    let t = std::time::Instant::now();
    let (a, b) = curve::fit_ab(params.spread, params.min_dist);
    let opt = sgd::Sgd {
        edges: &edges,
        dim: params.dims,
        a: a as f32,
        b: b as f32,
        gamma: params.repulsion_strength as f32,
        negative_sample_rate: params.negative_sample_rate as f32,
        initial_alpha: params.learning_rate as f32,
        n_epochs,
        seed: params.seed,
        attraction: 1.0,
        same_set: true,
        rounds: ROUNDS,
    };
    let mut sched = sgd::Schedule::new(&edges, params.negative_sample_rate.max(1) as f32);
    // `snapshot` is the layout the other points are read from, refreshed before each round.
    let mut snapshot = y.clone();
    for epoch in 0..n_epochs {
        for round in 0..ROUNDS {
            snapshot.copy_from_slice(&y);
            opt.epoch(epoch, round, &mut y, &snapshot, &mut sched);
        }
        if (epoch + 1) % params.report_every == 0 || epoch + 1 == n_epochs {
            let p = Progress {
                epoch: epoch + 1,
                total: n_epochs,
                layout: &y,
            };
            if on_progress(&p).is_break() {
                return Err(ProjectError::Cancelled);
            }
        }
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(ProjectError::Numeric("the layout diverged".into()));
    }
    seconds.optimise = t.elapsed().as_secs_f64();
    Ok(UmapResult {
        seconds,
        layout: y,
        a,
        b,
        n_epochs,
        init,
        neighbours,
        edges: edges.tails.len(),
    })
}

/// The words shown with a map about how its initial layout was made.
pub fn describe_init(k: &InitKind) -> String {
    match k {
        InitKind::Spectral {
            iterations,
            converged: true,
        } => format!("spectral initialisation ({iterations} LOBPCG iterations)"),
        InitKind::Spectral {
            iterations,
            converged: false,
        } => format!(
            "spectral initialisation (LOBPCG stopped after {iterations} iterations before its \
             tolerance)"
        ),
        InitKind::MultiComponent { components } => {
            format!("spectral initialisation of {components} disconnected components, placed apart")
        }
        InitKind::Random(why) => format!("random initialisation: {why}"),
    }
}

/// The rows UMAP can map: finite rows, and for cosine or dot also not all zero.
pub fn input(set: &EmbeddingSet, metric: Metric) -> Input {
    let mut input = Input::new(set);
    if metric != Metric::Euclidean {
        let (keep, zero): (Vec<usize>, Vec<usize>) = input
            .rows
            .iter()
            .partition(|&&r| set.matrix.row(r).iter().any(|&x| x != 0.0));
        input.rows = keep;
        input.excluded.extend(zero);
        input.excluded.sort_unstable();
    }
    input
}

/// UMAP of an embedding set's usable rows (NaN/Inf rows, and all-zero rows under cosine or
/// dot, left out, counted and said in the notes).
pub fn project(
    set: &EmbeddingSet,
    params: &UmapParams,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Projection, ProjectError> {
    project_with(set, params, None, on_progress)
}

/// The metric UMAP's neighbours are searched by: dot (accepted on unit rows only) orders as
/// the cosine.
pub fn search_metric(metric: Metric) -> Metric {
    if metric == Metric::Dot {
        Metric::Cosine
    } else {
        metric
    }
}

/// An index over the whole set whose neighbours UMAP takes instead of finding its own (the
/// set's stored index), and what to say about it.
pub struct SetIndex<'a> {
    pub index: &'a crate::analysis::ann::AnnIndex<'a>,
    /// Where the index came from, for the notes ("reopened from ...").
    pub origin: String,
}

/// Every projected row's `k` nearest other projected rows from `index` (built over all rows of
/// the set, searched by [`search_metric`]), renumbered to positions in `rows`; the recall is
/// measured on a sample of `data` (the projected rows) as for an index built here.
#[allow(clippy::too_many_arguments)]
fn graph_from_index(
    ix: &SetIndex,
    set_rows: usize,
    rows: &[usize],
    data: &[f32],
    d: usize,
    k: usize,
    metric: Metric,
    seed: u64,
    keep_going: &mut dyn FnMut() -> bool,
) -> Result<(KnnGraph, Neighbours), ProjectError> {
    if ix.index.metric() != metric {
        return Err(ProjectError::Param(format!(
            "the index searches by {}, UMAP by {metric}",
            ix.index.metric()
        )));
    }
    if ix.index.rows() != set_rows {
        return Err(ProjectError::Param(format!(
            "the index holds {} rows, the set {set_rows}",
            ix.index.rows()
        )));
    }
    // Search one more than needed: a neighbour the map leaves out is dropped below.
    let all = ix
        .index
        .knn_graph(k + 1, |_| {
            if keep_going() {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        })
        .map_err(|e| match e {
            crate::analysis::AnalysisError::Cancelled => ProjectError::Cancelled,
            e => ProjectError::Param(e.to_string()),
        })?;
    let mut pos = vec![u32::MAX; set_rows];
    for (p, &r) in rows.iter().enumerate() {
        pos[r] = p as u32;
    }
    let mut out = Vec::with_capacity(rows.len());
    for &r in rows {
        let list: Vec<(u32, f32)> = all[r]
            .iter()
            .filter(|(j, _)| pos[*j as usize] != u32::MAX)
            .map(|&(j, dist)| (pos[j as usize], dist))
            .take(k)
            .collect();
        if list.len() < k {
            return Err(ProjectError::Param(format!(
                "the index found {} neighbours of row {r}, UMAP needs {k}: it does not fit this \
                 set",
                list.len()
            )));
        }
        out.push(list);
    }
    drop(all);
    let n = rows.len();
    let recall = sampled_recall(data, d, metric, &out, k, APPROX_RECALL_SAMPLE.min(n), seed);
    Ok((
        KnnGraph::from_rows(&out)?,
        Neighbours::Approximate { recall },
    ))
}

/// [`project`], with the neighbours taken from `index` (an index over all rows of `set`, by the
/// metric UMAP searches) when one is given and the set is larger than `exact_knn_max`.
pub fn project_with(
    set: &EmbeddingSet,
    params: &UmapParams,
    index: Option<&SetIndex>,
    mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Projection, ProjectError> {
    let valid = params.check()?;
    let inp = input(set, params.metric);
    let mut notes = Vec::new();
    if !inp.excluded.is_empty() {
        let what = if params.metric == Metric::Euclidean {
            "with NaN/Inf values"
        } else {
            "with NaN/Inf values or all zeros"
        };
        notes.push(format!("{} rows {what} were left out", inp.excluded.len()));
    }
    valid.check_input(inp.rows.len(), set.dim())?;
    // Every row used: the matrix itself (memory-mapped sets stay unmapped-copy free).
    let gathered;
    let data: &[f32] = if inp.excluded.is_empty() {
        set.matrix.as_slice()
    } else {
        gathered = inp.gather(set);
        &gathered
    };
    let n = inp.rows.len();
    let from_index = index.filter(|_| n > params.exact_knn_max);
    let t = std::time::Instant::now();
    let graph = match from_index {
        Some(ix) => {
            let total = params.epochs_for(n);
            let mut keep_going = || {
                on_progress(&Progress {
                    epoch: 0,
                    total,
                    layout: &[],
                })
                .is_continue()
            };
            Some(graph_from_index(
                ix,
                set.rows(),
                &inp.rows,
                data,
                set.dim(),
                params.n_neighbors - 1,
                search_metric(params.metric),
                params.seed,
                &mut keep_going,
            )?)
        }
        None => None,
    };
    let r = match graph {
        Some((g, neighbours)) => {
            let searched = t.elapsed().as_secs_f64();
            let mut r = run(data, set.dim(), params, Some(g), on_progress)?;
            r.neighbours = neighbours;
            r.seconds.neighbours += searched;
            r
        }
        None => run(data, set.dim(), params, None, on_progress)?,
    };
    if let Some(ix) = from_index {
        notes.push(format!(
            "neighbours from the set's HNSW index ({})",
            ix.origin
        ));
    }
    notes.push(describe_init(&r.init));
    notes.push(
        "deterministic for the seed: the layout does not depend on the number of threads".into(),
    );
    let knn_recall = match r.neighbours {
        Neighbours::Approximate { recall } => {
            notes.push(format!(
                "approximate neighbours (recall@{} {:.3} on a sample)",
                params.n_neighbors - 1,
                recall
            ));
            Some(recall)
        }
        _ => None,
    };
    Ok(Projection {
        dims: params.dims,
        coords: r.layout,
        rows: inp.rows,
        excluded: inp.excluded,
        details: Details::Umap {
            n_neighbors: params.n_neighbors,
            min_dist: params.min_dist,
            spread: params.spread,
            n_epochs: r.n_epochs,
            metric: params.metric,
            a: r.a,
            b: r.b,
            knn_recall,
            edges: r.edges,
            seconds: r.seconds,
        },
        notes,
    })
}

#[cfg(test)]
mod tests;
