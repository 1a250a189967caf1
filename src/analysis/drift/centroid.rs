//! `distance_euclidean` and `distance_cosine`: the distance between the two sides' centroids.
//!
//! The observed distances come from f64 sums of the rows. Under a relabelling only the
//! reference side's sum changes: for a batch of relabellings the sums are one matrix product,
//! `Z^T X` with `Z` the rows' 0/1 labels (one column per relabelling), over row blocks of the
//! rows centred on the pooled mean (f32 products, f64 totals). The current side's sum is the
//! total minus the reference's; the cosine distance adds the pooled mean back.

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

/// Both distances under every relabelling of the batch `labels` (slot order).
pub(super) fn permuted(
    x: &[f32],
    d: usize,
    n_ref: usize,
    mean: &[f64],
    labels: &Labels,
    cancel: Option<&AtomicBool>,
) -> Result<(Vec<f64>, Vec<f64>), AnalysisError> {
    let n = x.len() / d;
    let s = labels.slots;
    let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
    let partial: Vec<Result<Vec<f64>, AnalysisError>> = fixed_parts(n)
        .into_par_iter()
        .map(|(a, b)| {
            let mut acc = vec![0f64; s * d];
            let mut sums = vec![0f32; s * d];
            let mut xc = vec![0f32; BLOCK * d];
            let mut z = vec![0f32; BLOCK * s];
            let mut i = a;
            while i < b {
                cancelled(cancel)?;
                let nb = BLOCK.min(b - i);
                for (dst, src) in xc
                    .chunks_exact_mut(d)
                    .zip(x[i * d..(i + nb) * d].chunks_exact(d))
                {
                    for ((o, &v), &m) in dst.iter_mut().zip(src).zip(&mean32) {
                        *o = v - m;
                    }
                }
                labels.dense_rows(i..i + nb, &mut z);
                // sums (s x d) = z^T (s x nb) xc (nb x d)
                matmul(
                    &mut sums,
                    Layout::row_major(s, d),
                    &z,
                    Layout::row_major(nb, s).t(),
                    &xc,
                    Layout::row_major(nb, d),
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
    let mut total_r = vec![0f64; s * d];
    for p in partial {
        for (t, v) in total_r.iter_mut().zip(p?) {
            *t += v;
        }
    }
    // The centred total (close to 0; computed as the products see the rows).
    let mut total = vec![0f64; d];
    for r in x.chunks_exact(d) {
        for ((t, &v), &m) in total.iter_mut().zip(r).zip(&mean32) {
            *t += f64::from(v - m);
        }
    }
    let n_cur = n - n_ref;
    let mut eu = Vec::with_capacity(s);
    let mut co = Vec::with_capacity(s);
    let mut ca = vec![0f64; d];
    let mut cb = vec![0f64; d];
    for sr in total_r.chunks_exact(d) {
        for j in 0..d {
            let m = f64::from(mean32[j]);
            ca[j] = m + sr[j] / n_ref as f64;
            cb[j] = m + (total[j] - sr[j]) / n_cur as f64;
        }
        let (e, c) = distances(&ca, &cb);
        eu.push(e);
        co.push(c);
    }
    Ok((eu, co))
}
