//! Placing new rows into a finished map without recomputing it.
//!
//! UMAP (umap-learn's `transform`): each new row's `n_neighbors` nearest reference rows,
//! memberships with `local_connectivity` 0, the start at the membership-weighted mean of those
//! rows' map positions (or on a reference row it equals), then a short SGD (a third of the
//! fit's epochs, or 100 / 30 by default) at a quarter of the learning rate in which only the
//! new points move.
//!
//! t-SNE (openTSNE's `prepare_partial` + `transform`): perplexity-5 conditional affinities of
//! each new row to its 15 nearest reference rows, the start at the median map position of its
//! 25 nearest reference rows, then 250 iterations of gradient descent (learning rate 0.1,
//! exaggeration 1.5, momentum 0.8, gains, gradient norm clipped at 0.25) against the fixed map,
//! the repulsion normalised per new point and computed by Barnes-Hut over the map.
//!
//! New points never interact with each other, so both are deterministic and independent of the
//! number of threads.

use std::ops::ControlFlow;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::analysis::knn::{KnnIndex, Metric};
use crate::analysis::project::tsne::{affinity, bh};

use super::super::ProjectError;
use super::graph::{self, as_set, membership, smooth_knn};
use super::{Progress, UmapParams, curve, sgd};

/// Which map the rows are placed into.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Placement {
    /// A UMAP map made with these parameters.
    Umap(UmapParams),
    /// A t-SNE map.
    Tsne,
}

fn check_shapes(
    reference: &[f32],
    layout: &[f32],
    d: usize,
    dims: usize,
    new: &[f32],
) -> Result<usize, ProjectError> {
    if d == 0 || !(dims == 2 || dims == 3) {
        return Err(ProjectError::Param(format!(
            "maps of 2 or 3 dimensions from vectors of at least 1 (got {dims} from {d})"
        )));
    }
    let n = reference.len() / d;
    if reference.len() != n * d || !new.len().is_multiple_of(d) {
        return Err(ProjectError::Param(format!(
            "the reference and new rows must both hold {d} values per row"
        )));
    }
    if layout.len() != n * dims {
        return Err(ProjectError::Param(format!(
            "the map has {} positions for {n} reference rows",
            layout.len() / dims
        )));
    }
    if reference
        .iter()
        .chain(new)
        .chain(layout)
        .any(|x| !x.is_finite())
    {
        return Err(ProjectError::NonFinite);
    }
    Ok(n)
}

/// The `k` nearest reference rows of every new row: (indices, distances) flat, `m x k`.
fn neighbours_of(
    reference: &[f32],
    d: usize,
    new: &[f32],
    k: usize,
    metric: Metric,
) -> Result<(Vec<u32>, Vec<f32>), ProjectError> {
    let n = reference.len() / d;
    let set = as_set(reference, n, d)?;
    let index = KnnIndex::new(&set);
    let em = graph::engine_metric(metric);
    let m = new.len() / d;
    let mut idx = Vec::with_capacity(m * k);
    let mut dist = Vec::with_capacity(m * k);
    for start in (0..m).step_by(8192) {
        let end = (start + 8192).min(m);
        let qs = (start..end)
            .map(|i| {
                index
                    .vector_query(&new[i * d..(i + 1) * d], em)
                    .map_err(|e| ProjectError::Param(format!("new row {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let res = index
            .search(&qs, k, em, None)
            .map_err(|e| ProjectError::Numeric(e.to_string()))?;
        for (i, r) in (start..end).zip(res) {
            if r.len() != k {
                return Err(ProjectError::Numeric(format!(
                    "new row {i}: {} reference neighbours found, {k} needed",
                    r.len()
                )));
            }
            for nb in r {
                idx.push(nb.index as u32);
                dist.push(graph::distance(metric, nb.score));
            }
        }
    }
    Ok((idx, dist))
}

/// Places `new` rows (`m x d`) into a UMAP map: `layout` (`n x dims`) of the `reference` rows
/// (`n x d`) made with `params`. Returns `m x dims`, row-major.
pub fn umap(
    reference: &[f32],
    layout: &[f32],
    d: usize,
    new: &[f32],
    params: &UmapParams,
    mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Vec<f32>, ProjectError> {
    let valid = params.check()?;
    let dims = params.dims;
    let n = check_shapes(reference, layout, d, dims, new)?;
    valid.check_input(n, d)?;
    let m = new.len() / d;
    if m == 0 {
        return Ok(Vec::new());
    }
    let k = params.n_neighbors;
    let (idx, dist) = neighbours_of(reference, d, new, k, params.metric)?;
    let target = (k as f64).log2();
    let mean_all = dist.iter().map(|&x| f64::from(x)).sum::<f64>() / dist.len() as f64;
    let w: Vec<f32> = dist
        .par_chunks(k)
        .flat_map_iter(|row| {
            let (sigma, rho) = smooth_knn(row, target, 0.0, mean_all);
            row.iter()
                .map(move |&x| membership(x, rho, sigma))
                .collect::<Vec<_>>()
        })
        .collect();
    // Start: on an equal reference row, else the weighted mean.
    let mut y = vec![0f32; m * dims];
    y.par_chunks_mut(dims).enumerate().for_each(|(i, yi)| {
        let (ix, wi) = (&idx[i * k..(i + 1) * k], &w[i * k..(i + 1) * k]);
        if let Some(p) = wi.iter().position(|&v| v == 1.0) {
            let j = ix[p] as usize;
            yi.copy_from_slice(&layout[j * dims..(j + 1) * dims]);
            return;
        }
        let total: f64 = wi.iter().map(|&v| f64::from(v)).sum();
        for c in 0..dims {
            let s: f64 = ix
                .iter()
                .zip(wi)
                .map(|(&j, &v)| f64::from(v) * f64::from(layout[j as usize * dims + c]))
                .sum();
            yi[c] = if total > 0.0 { (s / total) as f32 } else { 0.0 };
        }
    });
    let n_epochs = match params.n_epochs {
        None if m <= 10_000 => 100,
        None => 30,
        Some(e) => e / 3,
    };
    if n_epochs == 0 {
        return Ok(y);
    }
    let wmax = w.iter().copied().fold(0f32, f32::max);
    let floor = wmax / n_epochs as f32;
    let mut edges = sgd::Edges {
        indptr: Vec::with_capacity(m + 1),
        tails: Vec::new(),
        epochs_per_sample: Vec::new(),
    };
    edges.indptr.push(0);
    for i in 0..m {
        for p in i * k..(i + 1) * k {
            if w[p] >= floor && w[p] > 0.0 {
                edges.tails.push(idx[p]);
                edges.epochs_per_sample.push(wmax / w[p]);
            }
        }
        edges.indptr.push(edges.tails.len());
    }
    let (a, b) = curve::fit_ab(params.spread, params.min_dist);
    let opt = sgd::Sgd {
        edges: &edges,
        dim: dims,
        a: a as f32,
        b: b as f32,
        gamma: params.repulsion_strength as f32,
        negative_sample_rate: params.negative_sample_rate as f32,
        initial_alpha: params.learning_rate as f32 / 4.0,
        n_epochs,
        seed: params.seed ^ 0x7A5F_0E11,
        attraction: 1.0,
        same_set: false,
        rounds: 1,
    };
    let mut sched = sgd::Schedule::new(&edges, params.negative_sample_rate.max(1) as f32);
    for epoch in 0..n_epochs {
        opt.epoch(epoch, 0, &mut y, layout, &mut sched);
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
        return Err(ProjectError::Numeric("the placement diverged".into()));
    }
    Ok(y)
}

/// openTSNE's transform settings.
const TSNE_PERPLEXITY: f64 = 5.0;
const TSNE_INIT_K: usize = 25;
const TSNE_ITER: usize = 250;
const TSNE_LR: f64 = 0.1;
const TSNE_EXAGGERATION: f64 = 1.5;
const TSNE_MOMENTUM: f64 = 0.8;
const TSNE_MAX_GRAD: f64 = 0.25;
const TSNE_THETA: f64 = 0.5;

/// Places `new` rows (`m x d`) into a t-SNE map: `layout` (`n x dims`) of the `reference` rows
/// (`n x d`, euclidean). Returns `m x dims`, row-major.
pub fn tsne(
    reference: &[f32],
    layout: &[f32],
    d: usize,
    dims: usize,
    new: &[f32],
    mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Vec<f32>, ProjectError> {
    let n = check_shapes(reference, layout, d, dims, new)?;
    let m = new.len() / d;
    let kp = (3.0 * TSNE_PERPLEXITY) as usize;
    let k = kp.max(TSNE_INIT_K);
    if n < k + 1 {
        return Err(ProjectError::TooFewPoints {
            n,
            min: k + 1,
            why: format!("placing rows into a t-SNE map ({k} reference neighbours)"),
        });
    }
    if m == 0 {
        return Ok(Vec::new());
    }
    let (idx, dist) = neighbours_of(reference, d, new, k, Metric::Euclidean)?;
    // Affinities over the nearest 3 x perplexity, each row summing to 1.
    let p: Vec<f64> = dist
        .par_chunks(k)
        .flat_map_iter(|row| {
            let d2: Vec<f64> = row[..kp].iter().map(|&x| f64::from(x).powi(2)).collect();
            affinity::conditional_row(&d2, TSNE_PERPLEXITY)
        })
        .collect();
    let lay: Vec<f64> = layout.iter().map(|&v| f64::from(v)).collect();
    // Start at the median of the 25 nearest reference rows' positions.
    let mut y = vec![0f64; m * dims];
    y.par_chunks_mut(dims).enumerate().for_each(|(i, yi)| {
        for (c, v) in yi.iter_mut().enumerate() {
            let mut xs: Vec<f64> = idx[i * k..i * k + TSNE_INIT_K]
                .iter()
                .map(|&j| lay[j as usize * dims + c])
                .collect();
            xs.sort_by(f64::total_cmp);
            let h = xs.len() / 2;
            *v = if xs.len() % 2 == 1 {
                xs[h]
            } else {
                (xs[h - 1] + xs[h]) / 2.0
            };
        }
    });
    let tree = bh::FixedTree::new(&lay, dims);
    let mut update = vec![0f64; m * dims];
    let mut gains = vec![1f64; m * dims];
    let mut out32 = vec![0f32; m * dims];
    for it in 0..TSNE_ITER {
        y.par_chunks_mut(dims)
            .zip(update.par_chunks_mut(dims))
            .zip(gains.par_chunks_mut(dims))
            .enumerate()
            .for_each(|(i, ((yi, ui), gi))| {
                let mut g = [0f64; 3];
                for (q, &j) in idx[i * k..i * k + kp].iter().enumerate() {
                    let yj = &lay[j as usize * dims..(j as usize + 1) * dims];
                    let d2: f64 = (0..dims).map(|c| (yi[c] - yj[c]).powi(2)).sum();
                    let w = p[i * kp + q] / (1.0 + d2);
                    for c in 0..dims {
                        g[c] += TSNE_EXAGGERATION * w * (yi[c] - yj[c]);
                    }
                }
                let (f, z) = tree.repulsion(yi, TSNE_THETA);
                if z > 0.0 {
                    for c in 0..dims {
                        g[c] -= f[c] / z;
                    }
                }
                let norm = g[..dims].iter().map(|v| v * v).sum::<f64>().sqrt();
                if norm > TSNE_MAX_GRAD {
                    let s = TSNE_MAX_GRAD / (norm + 1e-12);
                    g[..dims].iter_mut().for_each(|v| *v *= s);
                }
                for c in 0..dims {
                    let sign = |x: f64| (x > 0.0) as i8 - (x < 0.0) as i8;
                    gi[c] = if sign(ui[c]) != sign(g[c]) {
                        gi[c] + 0.2
                    } else {
                        (gi[c] * 0.8).max(0.01)
                    };
                    ui[c] = TSNE_MOMENTUM * ui[c] - TSNE_LR * gi[c] * g[c];
                    yi[c] += ui[c];
                }
            });
        if (it + 1) % 10 == 0 || it + 1 == TSNE_ITER {
            for (o, &v) in out32.iter_mut().zip(&y) {
                *o = v as f32;
            }
            let pr = Progress {
                epoch: it + 1,
                total: TSNE_ITER,
                layout: &out32,
            };
            if on_progress(&pr).is_break() {
                return Err(ProjectError::Cancelled);
            }
        }
    }
    let out: Vec<f32> = y.iter().map(|&v| v as f32).collect();
    if out.iter().any(|v| !v.is_finite()) {
        return Err(ProjectError::Numeric("the placement diverged".into()));
    }
    Ok(out)
}

/// Places `new` rows into a map as `how` says (see [`umap`] and [`tsne`]).
pub fn place(
    reference: &[f32],
    layout: &[f32],
    d: usize,
    dims: usize,
    new: &[f32],
    how: &Placement,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Vec<f32>, ProjectError> {
    match how {
        Placement::Umap(p) => {
            if p.dims != dims {
                return Err(ProjectError::Param(format!(
                    "the map has {dims} dimensions, the UMAP parameters say {}",
                    p.dims
                )));
            }
            umap(reference, layout, d, new, p, on_progress)
        }
        Placement::Tsne => tsne(reference, layout, d, dims, new, on_progress),
    }
}
