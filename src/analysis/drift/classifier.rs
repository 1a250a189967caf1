//! `classifier`: a domain classifier told to separate current rows from reference rows; its
//! ROC AUC on held-out rows is the score (0.5: it cannot tell them apart).
//!
//! The model is L2-regularised logistic regression on features standardised by the training
//! rows (mean and population standard deviation, as scikit-learn's `StandardScaler`), fitted
//! to the exact optimum of `sum(log loss) + |w|^2 / (2 C)` (intercept free, as scikit-learn's
//! `LogisticRegression`) by Newton's method with a backtracking line search: the gradient in
//! f64, the Hessian `X^T diag(p (1 - p)) X` as f32 products of row blocks added in f64, solved
//! by Cholesky. The held-out rows are a seeded, stratified share of each side.
//!
//! The permutation baseline: with the fitted model fixed, the held-out rows' labels are
//! relabelled (sides keep their sizes) and the AUC recomputed from the same ranks. Under no
//! drift the held-out rows are exchangeable given the training rows, so this is an exact
//! permutation test of the AUC (a Mann-Whitney test of the held-out scores).

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::perm::Labels;
use super::{cancelled, fixed_parts};
use crate::analysis::AnalysisError;
use crate::analysis::linalg::{Layout, Write, matmul};

/// Rows per block of the Hessian product.
const BLOCK: usize = 512;

/// A fitted logistic regression on standardised features.
#[derive(Debug, Clone, PartialEq)]
pub struct LogisticFit {
    /// Feature means and scales of the training rows (`(x - mean) / scale`).
    pub mean: Vec<f64>,
    pub scale: Vec<f64>,
    /// Coefficients in the standardised space, then the intercept.
    pub coef: Vec<f64>,
    pub intercept: f64,
    pub iterations: usize,
    pub converged: bool,
}

impl LogisticFit {
    /// The decision value `w . (x - mean) / scale + b` of one row.
    pub fn decision(&self, row: &[f32]) -> f64 {
        let mut z = self.intercept;
        for (((&x, &m), &s), &w) in row.iter().zip(&self.mean).zip(&self.scale).zip(&self.coef) {
            z += w * (f64::from(x) - m) / s;
        }
        z
    }
}

fn softplus(z: f64) -> f64 {
    if z > 0.0 {
        z + (-z).exp().ln_1p()
    } else {
        z.exp().ln_1p()
    }
}

fn sigmoid(z: f64) -> f64 {
    if z >= 0.0 {
        1.0 / (1.0 + (-z).exp())
    } else {
        let e = z.exp();
        e / (1.0 + e)
    }
}

/// Solves `h x = g` (h symmetric positive definite, p x p row-major) by Cholesky; `None` when
/// `h` is not positive definite.
fn cholesky_solve(h: &[f64], g: &[f64], p: usize) -> Option<Vec<f64>> {
    let mut l = vec![0f64; p * p];
    for i in 0..p {
        for j in 0..=i {
            let mut s = h[i * p + j];
            for k in 0..j {
                s -= l[i * p + k] * l[j * p + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return None;
                }
                l[i * p + i] = s.sqrt();
            } else {
                l[i * p + j] = s / l[j * p + j];
            }
        }
    }
    let mut y = vec![0f64; p];
    for i in 0..p {
        let mut s = g[i];
        for k in 0..i {
            s -= l[i * p + k] * y[k];
        }
        y[i] = s / l[i * p + i];
    }
    let mut x = vec![0f64; p];
    for i in (0..p).rev() {
        let mut s = y[i];
        for k in i + 1..p {
            s -= l[k * p + i] * x[k];
        }
        x[i] = s / l[i * p + i];
    }
    Some(x)
}

/// Standardised rows (f32, row-major, `d + 1` columns: the features then a constant 1).
fn design(x: &[f32], d: usize, rows: &[usize], mean: &[f64], scale: &[f64]) -> Vec<f32> {
    let p = d + 1;
    let mut out = vec![0f32; rows.len() * p];
    out.par_chunks_mut(p)
        .zip(rows.par_iter())
        .for_each(|(dst, &i)| {
            for (j, (o, &v)) in dst.iter_mut().zip(&x[i * d..(i + 1) * d]).enumerate() {
                *o = ((f64::from(v) - mean[j]) / scale[j]) as f32;
            }
            dst[d] = 1.0;
        });
    out
}

/// Loss and gradient at `w` (f64), and the per-row Hessian weights `p (1 - p)`.
fn loss_grad(xs: &[f32], y: &[f64], w: &[f64], lambda: f64, p: usize) -> (f64, Vec<f64>, Vec<f64>) {
    let n = y.len();
    let parts = fixed_parts(n);
    let partial: Vec<(f64, Vec<f64>, Vec<f64>)> = parts
        .into_par_iter()
        .map(|(a, b)| {
            let mut loss = 0f64;
            let mut g = vec![0f64; p];
            let mut h = Vec::with_capacity(b - a);
            for i in a..b {
                let row = &xs[i * p..(i + 1) * p];
                let z: f64 = row.iter().zip(w).map(|(&x, &w)| f64::from(x) * w).sum();
                loss += softplus(z) - y[i] * z;
                let pr = sigmoid(z);
                let r = pr - y[i];
                for (gj, &x) in g.iter_mut().zip(row) {
                    *gj += r * f64::from(x);
                }
                h.push(pr * (1.0 - pr));
            }
            (loss, g, h)
        })
        .collect();
    let mut loss = 0f64;
    let mut g = vec![0f64; p];
    let mut h = Vec::with_capacity(n);
    for (l, gp, hp) in partial {
        loss += l;
        for (a, b) in g.iter_mut().zip(gp) {
            *a += b;
        }
        h.extend(hp);
    }
    for j in 0..p - 1 {
        loss += 0.5 * lambda * w[j] * w[j];
        g[j] += lambda * w[j];
    }
    (loss, g, h)
}

fn loss_only(xs: &[f32], y: &[f64], w: &[f64], lambda: f64, p: usize) -> f64 {
    let n = y.len();
    let parts = fixed_parts(n);
    let partial: Vec<f64> = parts
        .into_par_iter()
        .map(|(a, b)| {
            (a..b)
                .map(|i| {
                    let row = &xs[i * p..(i + 1) * p];
                    let z: f64 = row.iter().zip(w).map(|(&x, &w)| f64::from(x) * w).sum();
                    softplus(z) - y[i] * z
                })
                .sum()
        })
        .collect();
    let reg: f64 = w[..p - 1].iter().map(|v| v * v).sum::<f64>() * 0.5 * lambda;
    partial.iter().sum::<f64>() + reg
}

/// `X^T diag(h) X + lambda I` (no penalty on the intercept), p x p.
fn hessian(xs: &[f32], h: &[f64], lambda: f64, p: usize) -> Vec<f64> {
    let n = h.len();
    let partial: Vec<Vec<f64>> = fixed_parts(n)
        .into_par_iter()
        .map(|(a, b)| {
            let mut acc = vec![0f64; p * p];
            let mut blk = vec![0f32; p * p];
            let mut buf = vec![0f32; BLOCK * p];
            let mut i = a;
            while i < b {
                let nb = BLOCK.min(b - i);
                for r in 0..nb {
                    let s = h[i + r].sqrt() as f32;
                    for (o, &x) in buf[r * p..(r + 1) * p]
                        .iter_mut()
                        .zip(&xs[(i + r) * p..(i + r + 1) * p])
                    {
                        *o = x * s;
                    }
                }
                matmul(
                    &mut blk,
                    Layout::row_major(p, p),
                    &buf[..nb * p],
                    Layout::row_major(nb, p).t(),
                    &buf[..nb * p],
                    Layout::row_major(nb, p),
                    Write::Overwrite,
                );
                for (t, &v) in acc.iter_mut().zip(&blk) {
                    *t += f64::from(v);
                }
                i += nb;
            }
            acc
        })
        .collect();
    let mut hm = vec![0f64; p * p];
    for part in &partial {
        for (t, v) in hm.iter_mut().zip(part) {
            *t += v;
        }
    }
    for j in 0..p - 1 {
        hm[j * p + j] += lambda;
    }
    // Symmetrise (the f32 blocks are symmetric up to rounding).
    for i in 0..p {
        for j in 0..i {
            let v = 0.5 * (hm[i * p + j] + hm[j * p + i]);
            hm[i * p + j] = v;
            hm[j * p + i] = v;
        }
    }
    hm
}

/// Fits the classifier on rows `train` of `x` (`d` columns) with labels `y` (1.0 / 0.0).
pub fn fit_logistic(
    x: &[f32],
    d: usize,
    train: &[usize],
    y: &[f64],
    c: f64,
    max_iter: usize,
    cancel: Option<&AtomicBool>,
) -> Result<LogisticFit, AnalysisError> {
    let n = train.len();
    if n == 0 || y.len() != n {
        return Err(AnalysisError::InvalidParameter(format!(
            "the classifier needs one label per training row ({n} rows, {} labels)",
            y.len()
        )));
    }
    let mut mean = vec![0f64; d];
    for &i in train {
        for (m, &v) in mean.iter_mut().zip(&x[i * d..(i + 1) * d]) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= n as f64);
    let mut var = vec![0f64; d];
    for &i in train {
        for ((s, &v), &m) in var.iter_mut().zip(&x[i * d..(i + 1) * d]).zip(&mean) {
            let t = f64::from(v) - m;
            *s += t * t;
        }
    }
    let scale: Vec<f64> = var
        .iter()
        .map(|&s| {
            let sd = (s / n as f64).sqrt();
            // scikit-learn's StandardScaler leaves constant features unscaled.
            if sd > 10.0 * f64::EPSILON { sd } else { 1.0 }
        })
        .collect();
    let xs = design(x, d, train, &mean, &scale);
    let p = d + 1;
    let lambda = 1.0 / c;
    let mut w = vec![0f64; p];
    let mut converged = false;
    let mut iterations = 0;
    for it in 0..max_iter {
        cancelled(cancel)?;
        iterations = it + 1;
        let (loss, g, h) = loss_grad(&xs, y, &w, lambda, p);
        let mut hm = hessian(&xs, &h, lambda, p);
        // A whisper of ridge on the intercept keeps H definite when every p is 0 or 1.
        hm[p * p - 1] += 1e-12 * n as f64;
        let step = match cholesky_solve(&hm, &g, p) {
            Some(s) => s,
            None => {
                for j in 0..p {
                    hm[j * p + j] += 1e-8 * (1.0 + hm[j * p + j]);
                }
                cholesky_solve(&hm, &g, p).ok_or_else(|| {
                    AnalysisError::InvalidParameter(
                        "the classifier's Hessian is not positive definite".into(),
                    )
                })?
            }
        };
        let decrement: f64 = g.iter().zip(&step).map(|(a, b)| a * b).sum();
        if !decrement.is_finite() {
            break;
        }
        if decrement <= 1e-14 * (1.0 + loss.abs()) {
            converged = true;
            break;
        }
        let mut t = 1.0;
        let mut next = w.clone();
        for _ in 0..40 {
            for ((nx, &wv), &sv) in next.iter_mut().zip(&w).zip(&step) {
                *nx = wv - t * sv;
            }
            if loss_only(&xs, y, &next, lambda, p) <= loss - 1e-4 * t * decrement {
                break;
            }
            t *= 0.5;
        }
        w = next;
    }
    let intercept = w[d];
    w.truncate(d);
    Ok(LogisticFit {
        mean,
        scale,
        coef: w,
        intercept,
        iterations,
        converged,
    })
}

/// Average ranks (1-based; ties share their mean rank) of `v`.
pub fn average_ranks(v: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..v.len()).collect();
    idx.sort_by(|&a, &b| v[a].total_cmp(&v[b]));
    let mut ranks = vec![0f64; v.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && v[idx[j]] == v[idx[i]] {
            j += 1;
        }
        let r = (i + j + 1) as f64 / 2.0;
        for &k in &idx[i..j] {
            ranks[k] = r;
        }
        i = j;
    }
    ranks
}

/// ROC AUC of `scores` for the rows marked `positive` (ties count one half), by ranks.
pub fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n1 = positive.iter().filter(|&&p| p).count();
    let n0 = positive.len() - n1;
    if n1 == 0 || n0 == 0 {
        return None;
    }
    let ranks = average_ranks(scores);
    let s: f64 = ranks
        .iter()
        .zip(positive)
        .filter(|(_, p)| **p)
        .map(|(r, _)| r)
        .sum();
    Some(auc_from_rank_sum(s, n1, n0))
}

fn auc_from_rank_sum(s: f64, n1: usize, n0: usize) -> f64 {
    let (a, b) = (n1 as f64, n0 as f64);
    (s - a * (a + 1.0) / 2.0) / (a * b)
}

/// AUCs under every slot of `labels` over held-out rows with these `ranks` (the selected
/// rows of a slot are its positives, `n_pos` of them).
pub(super) fn permuted_aucs(ranks: &[f64], labels: &Labels, n_pos: usize) -> Vec<f64> {
    let mut sums = vec![0f64; labels.words * 64];
    for (w, lane_sums) in sums.chunks_exact_mut(64).enumerate() {
        for (&word, &r) in labels.col(w).iter().zip(ranks) {
            let mut bits = word;
            while bits != 0 {
                lane_sums[bits.trailing_zeros() as usize] += r;
                bits &= bits - 1;
            }
        }
    }
    sums.truncate(labels.slots);
    sums.into_iter()
        .map(|s| auc_from_rank_sum(s, n_pos, ranks.len() - n_pos))
        .collect()
}
