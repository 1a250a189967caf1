//! t-SNE (van der Maaten & Hinton 2008) following openTSNE's defaults: sparse affinities from
//! the exact 3 x perplexity nearest neighbours, PCA initialisation, early exaggeration, momentum
//! gradient descent with gains, and the repulsive forces from FFT-accelerated interpolation (2-D)
//! or Barnes-Hut (3-D). Deterministic: the same input and seed give the same layout on any
//! number of threads. The optimiser reports the layout every `report_every` iterations and
//! stops when the callback asks it to.

pub mod affinity;
pub mod ann;
pub mod bh;
pub mod fft;
mod order;

use std::ops::ControlFlow;

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::knn::{KnnIndex, Metric, Query};
use crate::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};

use super::{Details, Input, ProjectError, Projection, pca};
use affinity::Csr;

#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub enum LearningRate {
    /// openTSNE's "auto": N / exaggeration of the current phase (N/12, then N).
    Auto,
    Fixed(f64),
}

/// How the repulsive forces are computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Gradient {
    /// Barnes-Hut below `FFT_MIN_POINTS` points or in 3-D, FFT interpolation otherwise.
    Auto,
    /// FFT-accelerated interpolation (2-D only).
    Fft,
    BarnesHut,
}

/// t-SNE's parameters as the CLI and the app build them. [`TsneParams::check`] validates them
/// once, before any data is read, into [`ValidTsneParams`]; [`ValidTsneParams::check_input`]
/// adds the limits that depend on the data. [`run`] and [`project`] run both checks first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TsneParams {
    pub dims: usize,
    pub perplexity: f64,
    pub learning_rate: LearningRate,
    pub early_exaggeration: f64,
    pub early_exaggeration_iter: usize,
    /// Total iterations, early exaggeration included (momentum 0.8 throughout, as openTSNE).
    pub iterations: usize,
    pub seed: u64,
    /// Reduce the input to this many dimensions by PCA first when it has more.
    pub pca_dims: Option<usize>,
    /// Barnes-Hut opening angle (3-D, and 2-D below `FFT_MIN_POINTS`).
    pub theta: f64,
    pub report_every: usize,
    /// Evaluate the KL divergence for the progress report every this many iterations (it
    /// costs a logarithm per affinity, about two iterations' attractive pass); 0: only the
    /// final value, which is always computed.
    pub kl_every: usize,
    /// Largest step of one point in one iteration (openTSNE's max_step_norm).
    pub max_step_norm: f64,
    pub gradient: Gradient,
    /// Above this many points the neighbours come from the approximate index (its recall is
    /// measured and reported).
    pub exact_knn_max: usize,
}

impl Default for TsneParams {
    fn default() -> Self {
        TsneParams {
            dims: 2,
            perplexity: 30.0,
            learning_rate: LearningRate::Auto,
            early_exaggeration: 12.0,
            early_exaggeration_iter: 250,
            iterations: 750,
            seed: 1,
            pca_dims: Some(50),
            theta: 0.5,
            report_every: 10,
            kl_every: KL_EVERY,
            max_step_norm: 5.0,
            gradient: Gradient::Auto,
            exact_knn_max: ann::EXACT_MAX,
        }
    }
}

impl TsneParams {
    /// The fewest points t-SNE accepts for this perplexity: 3 x perplexity + 1 (each point
    /// needs 3 x perplexity neighbours).
    pub fn min_points(&self) -> usize {
        (3.0 * self.perplexity).floor() as usize + 1
    }

    /// The limits that do not depend on the data:
    /// - `dims`: 2 or 3;
    /// - `perplexity`: a finite number > 0;
    /// - `learning_rate`: `Auto`, or a finite number > 0;
    /// - `early_exaggeration`: a finite number >= 1;
    /// - `iterations`: at least 1 and at least `early_exaggeration_iter`;
    /// - `theta`: a finite number >= 0;
    /// - `pca_dims`: `None`, or at least 1;
    /// - `gradient`: `Fft` only for 2-D maps;
    /// - `report_every`: at least 1.
    ///
    /// `seed`, `max_step_norm` and `exact_knn_max` take any value.
    pub fn check(&self) -> Result<ValidTsneParams, ProjectError> {
        let bad = |m: String| Err(ProjectError::Param(m));
        if !(self.dims == 2 || self.dims == 3) {
            return bad(format!(
                "t-SNE maps to 2 or 3 dimensions, not {}",
                self.dims
            ));
        }
        if !(self.perplexity.is_finite() && self.perplexity > 0.0) {
            return bad(format!(
                "perplexity must be a positive number, got {}",
                self.perplexity
            ));
        }
        if let LearningRate::Fixed(lr) = self.learning_rate
            && !(lr.is_finite() && lr > 0.0)
        {
            return bad(format!("learning rate must be positive, got {lr}"));
        }
        if !(self.early_exaggeration.is_finite() && self.early_exaggeration >= 1.0) {
            return bad(format!(
                "early exaggeration must be >= 1, got {}",
                self.early_exaggeration
            ));
        }
        if self.iterations == 0 || self.early_exaggeration_iter > self.iterations {
            return bad(format!(
                "iterations ({}) must be positive and at least the early exaggeration iterations ({})",
                self.iterations, self.early_exaggeration_iter
            ));
        }
        if !(self.theta >= 0.0 && self.theta.is_finite()) {
            return bad(format!("theta must be >= 0, got {}", self.theta));
        }
        if self.pca_dims == Some(0) {
            return bad("PCA dimensions before t-SNE must be at least 1".into());
        }
        if self.gradient == Gradient::Fft && self.dims != 2 {
            return bad("the FFT gradient is for 2-D maps; use Barnes-Hut for 3-D".into());
        }
        if self.report_every == 0 {
            return bad("report_every must be at least 1".into());
        }
        Ok(ValidTsneParams(self.clone()))
    }
}

/// t-SNE parameters that passed [`TsneParams::check`] (read through `Deref`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct ValidTsneParams(TsneParams);

impl std::ops::Deref for ValidTsneParams {
    type Target = TsneParams;
    fn deref(&self) -> &TsneParams {
        &self.0
    }
}

impl ValidTsneParams {
    /// The limits that depend on the data: `n` points of `dim` values need `dim` >= 1 and
    /// `n` >= [`TsneParams::min_points`].
    pub fn check_input(&self, n: usize, dim: usize) -> Result<(), ProjectError> {
        super::check_points(n, dim, self.min_points(), || {
            format!(
                "t-SNE with perplexity {} (3 x perplexity + 1)",
                self.perplexity
            )
        })
    }
}

impl TsneParams {
    fn lr(&self, n: usize, exaggeration: f64) -> f64 {
        match self.learning_rate {
            LearningRate::Auto => n as f64 / exaggeration,
            LearningRate::Fixed(lr) => lr,
        }
    }
}

/// Progress report: iteration, KL divergence (every `kl_every` iterations), layout (n x dims).
pub struct Progress<'a> {
    pub iteration: usize,
    pub total: usize,
    pub kl_divergence: Option<f64>,
    pub layout: &'a [f64],
}

/// The KL divergence costs a logarithm per affinity: the app evaluates it now and then, as
/// openTSNE's verbose mode does (openTSNE's default, silent fit does not at all).
pub const KL_EVERY: usize = 50;

/// The result of t-SNE on a row-major buffer.
pub struct TsneResult {
    pub layout: Vec<f64>,
    pub kl_divergence: f64,
    pub learning_rate: f64,
    pub knn_k: usize,
    /// Recall of the approximate neighbours on a sample (None: exact neighbours).
    pub knn_recall: Option<f64>,
}

/// Points sampled to measure the approximate index's recall.
const RECALL_SAMPLE: usize = 1000;

fn as_set(data: &[f32], n: usize, d: usize) -> Result<EmbeddingSet, ProjectError> {
    let vocab = Vocab::from_unique((0..n).map(|i| i.to_string()))
        .map_err(|_| ProjectError::Numeric("vocab".into()))?;
    let m =
        Matrix::from_vec(n, d, data.to_vec()).map_err(|e| ProjectError::Numeric(e.to_string()))?;
    EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default())
        .map_err(|e| ProjectError::Numeric(e.to_string()))
}

/// k nearest neighbours (euclidean) of every row, with squared distances.
fn neighbours(
    data: &[f32],
    n: usize,
    d: usize,
    k: usize,
) -> Result<Vec<Vec<(u32, f64)>>, ProjectError> {
    let set = as_set(data, n, d)?;
    let idx = KnnIndex::new(&set);
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(4096) {
        let qs: Vec<Query> = chunk
            .iter()
            .map(|&i| Query {
                vector: data[i * d..(i + 1) * d].to_vec(),
                exclude: vec![i],
            })
            .collect();
        let res = idx
            .search(&qs, k, Metric::Euclidean, None)
            .map_err(|e| ProjectError::Numeric(e.to_string()))?;
        for r in res {
            out.push(
                r.into_iter()
                    .map(|nb| (nb.index as u32, f64::from(nb.score) * f64::from(nb.score)))
                    .collect(),
            );
        }
    }
    Ok(out)
}

/// Below this many points 2-D layouts use Barnes-Hut, above the FFT interpolation (openTSNE's
/// "auto" rule).
pub const FFT_MIN_POINTS: usize = 10_000;

fn repulsion(
    y: &[f64],
    dims: usize,
    params: &TsneParams,
    fp: &fft::FftParams,
    cache: &mut fft::FftCache,
) -> fft::Repulsion {
    let use_fft = match params.gradient {
        Gradient::Auto => dims == 2 && y.len() / 2 >= FFT_MIN_POINTS,
        Gradient::Fft => true,
        Gradient::BarnesHut => false,
    };
    if use_fft {
        fft::repulsion(y, fp, cache)
    } else {
        bh::repulsion(y, dims, params.theta)
    }
}

/// The affinities as the optimiser reads them every iteration: one stream of (column, value)
/// pairs with the values in f32 (8 bytes a pair instead of 12 in two streams; the values
/// are near 1/(n k), where f32 keeps 7 significant digits).
struct Packed {
    indptr: Vec<usize>,
    entries: Vec<(u32, f32)>,
}

impl Packed {
    fn new(p: &Csr) -> Packed {
        Packed {
            indptr: p.indptr.clone(),
            entries: p
                .indices
                .iter()
                .zip(&p.values)
                .map(|(&j, &v)| (j, v as f32))
                .collect(),
        }
    }

    fn n(&self) -> usize {
        self.indptr.len() - 1
    }

    fn row(&self, i: usize) -> &[(u32, f32)] {
        &self.entries[self.indptr[i]..self.indptr[i + 1]]
    }
}

impl order::Relabel for Packed {
    fn permuted(&self, from: &[u32], to: &[u32]) -> Packed {
        let mut indptr = Vec::with_capacity(from.len() + 1);
        indptr.push(0);
        for &f in from {
            let f = f as usize;
            indptr.push(indptr[indptr.len() - 1] + self.indptr[f + 1] - self.indptr[f]);
        }
        let mut entries = vec![(0u32, 0f32); self.entries.len()];
        // Blocks of rows write disjoint stretches of `entries`.
        const BLOCK: usize = 4096;
        let mut parts = Vec::with_capacity(from.len().div_ceil(BLOCK));
        let mut rest = &mut entries[..];
        for (b, rows) in from.chunks(BLOCK).enumerate() {
            let r0 = b * BLOCK;
            let len = indptr[r0 + rows.len()] - indptr[r0];
            let (head, tail) = rest.split_at_mut(len);
            parts.push((rows, head));
            rest = tail;
        }
        parts.into_par_iter().for_each(|(rows, out)| {
            let mut at = 0;
            for &f in rows {
                for &(j, v) in self.row(f as usize) {
                    out[at] = (to[j as usize], v);
                    at += 1;
                }
            }
        });
        Packed { indptr, entries }
    }
}

/// Iterations at which the points are put in the layout's curve order (see `order`): often
/// while the layout forms, once more after early exaggeration has ended and the layout has
/// spread out, then every 100 iterations (on GloVe 100k the share of affinity pairs within
/// 1,024 positions of each other goes from 0.14 in the input order to 0.24 by the end of
/// early exaggeration and 0.39 after it, then stays there).
fn relocate_at(it: usize, early: usize) -> bool {
    matches!(it, 0 | 10 | 25 | 50) || it.is_multiple_of(100) || it == early + 50
}

/// Attractive term per point: sum_j p_ij w_ij (y_i - y_j), written into `out` (n x dims).
fn attraction(p: &Packed, y: &[f64], dims: usize, out: &mut [f64]) {
    if dims == 2 {
        out.par_chunks_mut(2)
            .with_min_len(256)
            .enumerate()
            .for_each(|(i, o)| {
                let (y0, y1) = (y[2 * i], y[2 * i + 1]);
                let (mut a0, mut a1) = (0.0, 0.0);
                for &(j, pij) in p.row(i) {
                    let j = 2 * j as usize;
                    let (d0, d1) = (y0 - y[j], y1 - y[j + 1]);
                    let w = f64::from(pij) / (1.0 + d0 * d0 + d1 * d1);
                    a0 += w * d0;
                    a1 += w * d1;
                }
                o[0] = a0;
                o[1] = a1;
            });
        return;
    }
    out.par_chunks_mut(dims)
        .with_min_len(256)
        .enumerate()
        .for_each(|(i, o)| {
            o.fill(0.0);
            let yi = &y[i * dims..(i + 1) * dims];
            for &(j, pij) in p.row(i) {
                let yj = &y[j as usize * dims..(j as usize + 1) * dims];
                let mut d2 = 0.0;
                for k in 0..dims {
                    d2 += (yi[k] - yj[k]) * (yi[k] - yj[k]);
                }
                let w = f64::from(pij) / (1.0 + d2);
                for k in 0..dims {
                    o[k] += w * (yi[k] - yj[k]);
                }
            }
        });
}

/// KL(P || Q) with Q normalised by `z`: sum p_ij log(p_ij (1 + d_ij^2) z).
fn kl_divergence(p: &Packed, y: &[f64], dims: usize, z: f64) -> f64 {
    (0..p.n())
        .into_par_iter()
        .map(|i| {
            let yi = &y[i * dims..(i + 1) * dims];
            let mut s = 0.0;
            for &(j, pij) in p.row(i) {
                if pij <= 0.0 {
                    continue;
                }
                let pij = f64::from(pij);
                let yj = &y[j as usize * dims..(j as usize + 1) * dims];
                let d2: f64 = yi.iter().zip(yj).map(|(a, b)| (a - b) * (a - b)).sum();
                s += pij * (pij * (1.0 + d2) * z).ln();
            }
            s
        })
        .collect::<Vec<f64>>()
        .iter()
        .sum()
}

/// Runs t-SNE on `n x d` row-major data. `on_progress` may stop the run (`ControlFlow::Break`).
pub fn run(
    data: &[f32],
    d: usize,
    params: &TsneParams,
    mut on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<TsneResult, ProjectError> {
    let n = data.len() / d.max(1);
    params.check()?.check_input(n, d)?;
    if data.chunks(d).all(|r| r == &data[..d]) {
        return Err(ProjectError::Degenerate);
    }
    let dims = params.dims;
    // Affinities from exact neighbours.
    let k = ((3.0 * params.perplexity).floor() as usize).min(n - 1);
    let (nbrs, knn_recall) = if n > params.exact_knn_max {
        // The index build and searches report with an empty layout (iteration 0) and stop
        // when asked to.
        let total = params.iterations;
        let approx = ann::knn(data, d, k, params.seed, |_| {
            on_progress(&Progress {
                iteration: 0,
                total,
                kl_divergence: None,
                layout: &[],
            })
        })
        .map_err(|e| match e {
            crate::analysis::AnalysisError::Cancelled => ProjectError::Cancelled,
            e => ProjectError::Numeric(e.to_string()),
        })?;
        let set = as_set(data, n, d)?;
        let r = ann::recall(&set, &approx, k, RECALL_SAMPLE, params.seed);
        (approx, Some(r))
    } else {
        (neighbours(data, n, d, k)?, None)
    };
    let p = affinity::joint(nbrs, params.perplexity);
    // PCA initialisation, scaled so the first coordinate has standard deviation 1e-4.
    let tmp =
        Matrix::from_vec(n, d, data.to_vec()).map_err(|e| ProjectError::Numeric(e.to_string()))?;
    let model = pca::fit(&tmp, None, dims.min(d))?;
    let init = model.transform(&tmp, None);
    drop(tmp);
    let mut y = vec![0.0f64; n * dims];
    for i in 0..n {
        for k2 in 0..dims.min(d) {
            y[i * dims + k2] = f64::from(init[i * dims.min(d) + k2]);
        }
    }
    let sd0 = {
        let m = (0..n).map(|i| y[i * dims]).sum::<f64>() / n as f64;
        ((0..n).map(|i| (y[i * dims] - m).powi(2)).sum::<f64>() / n as f64).sqrt()
    };
    let scale = if sd0 > 0.0 { 1e-4 / sd0 } else { 1.0 };
    y.iter_mut().for_each(|v| *v *= scale);
    // A small seeded jitter (sd 1e-6, as openTSNE) so coincident points separate.
    let mut rng = super::Rng::new(params.seed);
    y.iter_mut().for_each(|v| *v += 1e-6 * rng.normal());
    // Gradient descent.
    let mut update = vec![0.0f64; n * dims];
    let mut gains = vec![1.0f64; n * dims];
    let mut attr = vec![0.0f64; n * dims];
    let mut packed = Packed::new(&p);
    drop(p);
    let mut order = order::Order::identity(n);
    let mut cache = fft::FftCache::default();
    let fft_params = fft::FftParams::default();
    let mut last_z = 1.0;
    let mut lr_used = 0.0;
    for it in 0..params.iterations {
        let early = it < params.early_exaggeration_iter;
        let exaggeration = if early {
            params.early_exaggeration
        } else {
            1.0
        };
        let momentum = 0.8;
        let lr = params.lr(n, exaggeration);
        lr_used = lr;
        if relocate_at(it, params.early_exaggeration_iter) {
            order.relocate(dims, &mut [&mut y, &mut update, &mut gains], &mut packed);
        }
        let rep = repulsion(&y, dims, params, &fft_params, &mut cache);
        last_z = rep.z;
        attraction(&packed, &y, dims, &mut attr);
        let inv_z = 1.0 / rep.z;
        // Gradient (the factor 4 of the KL gradient folded into the learning rate, as openTSNE).
        let max_step = params.max_step_norm;
        y.par_chunks_mut(dims)
            .zip(update.par_chunks_mut(dims))
            .zip(gains.par_chunks_mut(dims))
            .enumerate()
            .for_each(|(i, ((yi, ui), gi))| {
                let mut step = [0.0f64; 3];
                for k2 in 0..dims {
                    let g = exaggeration * attr[i * dims + k2] - rep.force[i * dims + k2] * inv_z;
                    // openTSNE's rule: sign(update) != sign(grad) -> +0.2, else *0.8 + 0.01.
                    let sign = |x: f64| (x > 0.0) as i8 - (x < 0.0) as i8;
                    gi[k2] = if sign(ui[k2]) != sign(g) {
                        gi[k2] + 0.2
                    } else {
                        gi[k2] * 0.8 + 0.01
                    };
                    ui[k2] = momentum * ui[k2] - lr * gi[k2] * g;
                    step[k2] = ui[k2];
                }
                let norm = step[..dims].iter().map(|s| s * s).sum::<f64>().sqrt();
                let f = if norm > max_step {
                    max_step / norm
                } else {
                    1.0
                };
                for k2 in 0..dims {
                    yi[k2] += step[k2] * f;
                }
            });
        // Keep the layout centred.
        for k2 in 0..dims {
            let m = (0..n).map(|i| y[i * dims + k2]).sum::<f64>() / n as f64;
            for i in 0..n {
                y[i * dims + k2] -= m;
            }
        }
        if (it + 1) % params.report_every == 0 || it + 1 == params.iterations {
            let kl = (params.kl_every > 0 && (it + 1) % params.kl_every == 0)
                .then(|| kl_divergence(&packed, &y, dims, last_z));
            let pr = Progress {
                iteration: it + 1,
                total: params.iterations,
                kl_divergence: kl,
                layout: &order.restore(&y, dims),
            };
            if on_progress(&pr).is_break() {
                return Err(ProjectError::Cancelled);
            }
        }
    }
    // Final KL with the normalisation of the final layout.
    let z = repulsion(&y, dims, params, &fft_params, &mut cache).z;
    let _ = last_z;
    let kl = kl_divergence(&packed, &y, dims, z);
    Ok(TsneResult {
        layout: order.restore(&y, dims),
        kl_divergence: kl,
        learning_rate: lr_used,
        knn_k: k,
        knn_recall,
    })
}

/// t-SNE of an embedding set's finite rows (PCA to `pca_dims` first when the vectors are wider).
pub fn project(
    set: &EmbeddingSet,
    params: &TsneParams,
    on_progress: impl FnMut(&Progress) -> ControlFlow<()>,
) -> Result<Projection, ProjectError> {
    let input = Input::new(set);
    params.check()?.check_input(input.rows.len(), set.dim())?;
    let mut notes = Vec::new();
    if !input.excluded.is_empty() {
        notes.push(format!(
            "{} rows with NaN/Inf values were left out",
            input.excluded.len()
        ));
    }
    let (data, d, pca_before) = match params.pca_dims {
        Some(k) if set.dim() > k => {
            let model = pca::fit(&set.matrix, Some(&input.rows), k)?;
            let kept: f64 = model.explained_variance_ratio.iter().sum();
            notes.push(format!(
                "PCA to {k} dimensions before t-SNE ({:.1}% of the variance kept)",
                100.0 * kept
            ));
            (model.transform(&set.matrix, Some(&input.rows)), k, Some(k))
        }
        _ => (input.gather(set), set.dim(), None),
    };
    let r = run(&data, d, params, on_progress)?;
    Ok(Projection {
        dims: params.dims,
        coords: r.layout.iter().map(|&v| v as f32).collect(),
        rows: input.rows,
        excluded: input.excluded,
        details: Details::Tsne {
            kl_divergence: r.kl_divergence,
            iterations: params.iterations,
            pca_before,
            learning_rate: r.learning_rate,
            knn_k: r.knn_k,
            knn_recall: r.knn_recall,
        },
        notes,
    })
}

#[cfg(test)]
mod params_tests {
    use super::*;

    #[test]
    fn check_before_the_data_and_check_input_with_it() {
        let valid = TsneParams::default()
            .check()
            .expect("the defaults are valid");
        assert_eq!(*valid, TsneParams::default());
        assert_eq!(
            serde_json::to_value(&valid).ok(),
            serde_json::to_value(TsneParams::default()).ok()
        );
        assert_eq!(valid.check_input(91, 50), Ok(()));
        assert!(matches!(
            valid.check_input(90, 50),
            Err(ProjectError::TooFewPoints { n: 90, min: 91, .. })
        ));
        assert!(matches!(
            valid.check_input(1000, 0),
            Err(ProjectError::Param(_))
        ));
        for p in [
            TsneParams {
                learning_rate: LearningRate::Fixed(0.0),
                ..TsneParams::default()
            },
            TsneParams {
                early_exaggeration: 0.5,
                ..TsneParams::default()
            },
            TsneParams {
                theta: f64::NAN,
                ..TsneParams::default()
            },
            TsneParams {
                pca_dims: Some(0),
                ..TsneParams::default()
            },
            TsneParams {
                report_every: 0,
                ..TsneParams::default()
            },
        ] {
            assert!(matches!(p.check(), Err(ProjectError::Param(_))), "{p:?}");
        }
    }
}
