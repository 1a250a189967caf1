//! `distance_euclidean` and `distance_cosine`: the distance between the two sides' centroids.
//!
//! The observed distances come from f64 sums of the rows. Under a relabelling only the
//! reference side's sum changes: for a batch of relabellings the sums are one matrix product,
//! `Z^T X` with `Z` the rows' 0/1 labels (one column per relabelling), over row blocks of the
//! rows centred on the pooled mean (f32 products, f64 totals). The current side's sum is the
//! total minus the reference's; the cosine distance adds the pooled mean back. The same
//! product gives the ratio test its per-relabelling sums of squares (`[Xc | Xc^2]`).

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::perm::Labels;
use super::{cancelled, fixed_parts};
use crate::analysis::AnalysisError;
use crate::analysis::linalg::{Layout, Write, matmul};

/// Rows per block of the product.
const BLOCK: usize = 512;

/// Euclidean and cosine distances of two centroids.
pub(super) fn distances(a: &[f64], b: &[f64]) -> (f64, f64) {
    let (mut d2, mut ab, mut aa, mut bb) = (0f64, 0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        d2 += (x - y) * (x - y);
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    let cos = if aa > 0.0 && bb > 0.0 {
        1.0 - ab / (aa.sqrt() * bb.sqrt())
    } else {
        // A zero centroid has no direction: scipy gives NaN; this says "no shared direction".
        1.0
    };
    (d2.sqrt(), cos)
}

/// Column sums (f64) of the rows `rows` of row-major `x` with `d` columns.
pub(super) fn column_sums(x: &[f32], d: usize, rows: std::ops::Range<usize>) -> Vec<f64> {
    let parts = fixed_parts(rows.len());
    let partial: Vec<Vec<f64>> = parts
        .into_par_iter()
        .map(|(a, b)| {
            let mut s = vec![0f64; d];
            for r in x[(rows.start + a) * d..(rows.start + b) * d].chunks_exact(d) {
                for (acc, &v) in s.iter_mut().zip(r) {
                    *acc += f64::from(v);
                }
            }
            s
        })
        .collect();
    let mut s = vec![0f64; d];
    for p in &partial {
        for (a, v) in s.iter_mut().zip(p) {
            *a += v;
        }
    }
    s
}

/// Per slot of a batch, the reference side's sums (f64) of the rows centred on `mean32`
/// (`slots x d`) and, when asked, of their squares (for the ratio test's standard deviations).
pub(super) struct LabelSums {
    pub s1: Vec<f64>,
    pub s2: Option<Vec<f64>>,
    pub mean32: Vec<f32>,
    /// The centred total over every row (close to 0).
    total: Vec<f64>,
}

/// The sums of every slot of `labels`: `Z^T [Xc | Xc^2]` over row blocks (f32 products,
/// f64 totals).
pub(super) fn label_sums(
    x: &[f32],
    d: usize,
    mean: &[f64],
    labels: &Labels,
    squares: bool,
    cancel: Option<&AtomicBool>,
) -> Result<LabelSums, AnalysisError> {
    let n = x.len() / d;
    let s = labels.slots;
    let w = if squares { 2 * d } else { d };
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let partial: Vec<Result<Vec<f64>, AnalysisError>> = fixed_parts(n)
        .into_par_iter()
        .map(|(a, b)| {
            let mut acc = vec![0f64; s * w];
            let mut sums = vec![0f32; s * w];
            let mut xc = vec![0f32; BLOCK * w];
            let mut z = vec![0f32; BLOCK * s];
            let mut i = a;
            while i < b {
                cancelled(cancel)?;
                let nb = BLOCK.min(b - i);
                for (dst, src) in xc
                    .chunks_exact_mut(w)
                    .zip(x[i * d..(i + nb) * d].chunks_exact(d))
                {
                    let (lin, sq) = dst.split_at_mut(d);
                    for ((o, &v), &m) in lin.iter_mut().zip(src).zip(&mean32) {
                        *o = v - m;
                    }
                    for (q, &o) in sq.iter_mut().zip(lin.iter()) {
                        *q = o * o;
                    }
                }
                labels.dense_rows(i..i + nb, &mut z);
                // sums (s x w) = z^T (s x nb) xc (nb x w)
                matmul(
                    &mut sums,
                    Layout::row_major(s, w),
                    &z,
                    Layout::row_major(nb, s).t(),
                    &xc,
                    Layout::row_major(nb, w),
                    Write::Overwrite,
                );
                for (t, &v) in acc.iter_mut().zip(&sums) {
                    *t += f64::from(v);
                }
                i += nb;
            }
            Ok(acc)
        })
        .collect();
    let mut all = vec![0f64; s * w];
    for p in partial {
        for (t, v) in all.iter_mut().zip(p?) {
            *t += v;
        }
    }
    let mut total = vec![0f64; d];
    for r in x.chunks_exact(d) {
        for ((t, &v), &m) in total.iter_mut().zip(r).zip(&mean32) {
            *t += f64::from(v - m);
        }
    }
    let (s1, s2) = if squares {
        let mut s1 = Vec::with_capacity(s * d);
        let mut s2 = Vec::with_capacity(s * d);
        for row in all.chunks_exact(w) {
            s1.extend_from_slice(&row[..d]);
            s2.extend_from_slice(&row[d..]);
        }
        (s1, Some(s2))
    } else {
        (all, None)
    };
    Ok(LabelSums {
        s1,
        s2,
        mean32,
        total,
    })
}

/// Both distances under every slot of `sums` (slot order).
pub(super) fn permuted(sums: &LabelSums, d: usize, n_ref: usize, n: usize) -> (Vec<f64>, Vec<f64>) {
    let n_cur = n - n_ref;
    let slots = sums.s1.len() / d;
    let mut eu = Vec::with_capacity(slots);
    let mut co = Vec::with_capacity(slots);
    let mut ca = vec![0f64; d];
    let mut cb = vec![0f64; d];
    for sr in sums.s1.chunks_exact(d) {
        for j in 0..d {
            let m = f64::from(sums.mean32[j]);
            ca[j] = m + sr[j] / n_ref as f64;
            cb[j] = m + (sums.total[j] - sr[j]) / n_cur as f64;
        }
        let (e, c) = distances(&ca, &cb);
        eu.push(e);
        co.push(c);
    }
    (eu, co)
}
