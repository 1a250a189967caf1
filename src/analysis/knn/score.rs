//! The scores of the exact search: one [`Scorer`] per metric turns a tile of dot products into
//! scores a chunk at a time (monomorphised into the scan), with the float error bound and the
//! exact f64 score used to re-rank near the threshold.

use super::KnnIndex;

/// Rows of scores handled at once by the threshold scan.
pub(crate) const CHUNK: usize = 16;

/// Turns the dot products of one query (its `width()` tile rows, each `nb` long) against
/// database rows `j0 + c ..` into scores (higher is better), `CHUNK` at a time. Monomorphised
/// into the scan so the arithmetic vectorises with the threshold test.
pub(crate) trait Scorer: Sync {
    fn width(&self) -> usize;
    /// Fills `out[..len]` for rows `j0 + c .. j0 + c + len`, `len = min(CHUNK, nb - c)`.
    fn chunk(&self, tile: &[f32], nb: usize, j0: usize, c: usize, out: &mut [f32; CHUNK]);
    /// A bound on |chunk score - exact score| for query `q`; `None` ranks by the chunk scores
    /// as they are (no exact re-rank).
    fn bound(&self, _q: usize) -> Option<f32> {
        None
    }
    /// The exact (f64) score of row `j` for query `q` (used when `bound` is `Some`).
    fn exact(&self, _q: usize, _j: usize) -> f64 {
        f64::NAN
    }
    /// What takes an exact score of query `q` to the chunk scores' scale (they differ by a
    /// constant per query for euclidean).
    fn shift(&self, _q: usize) -> f64 {
        0.0
    }
}

/// Unit roundoff of f32.
pub(super) const U32: f64 = 1.0 / 16_777_216.0;

/// Bound of the float error of an f32 dot product of length `d` (any summation order, FMA or
/// not): |fl(q.x) - q.x| <= gamma_d * sum |q_i x_i| <= gamma_d |q| |x|, gamma_d = d u / (1 - d u).
pub(super) fn gamma(d: usize) -> f64 {
    let du = (d as f64 + 2.0) * U32;
    1.01 * du / (1.0 - du)
}

/// What the exact scorers need: query vectors, per-query bounds and the rows.
pub(crate) struct ExactCtx<'a> {
    pub(super) queries: Vec<&'a [f32]>,
    pub(super) bounds: Vec<f32>,
    pub(super) index: &'a KnnIndex<'a>,
}

impl ExactCtx<'_> {
    fn dot(&self, q: usize, j: usize) -> f64 {
        self.index
            .set
            .matrix
            .row(j)
            .iter()
            .zip(self.queries[q])
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum()
    }
}

pub(super) struct CosineScorer<'a>(pub(super) &'a [f32], pub(super) ExactCtx<'a>);
pub(super) struct DotScorer<'a>(pub(super) ExactCtx<'a>);
pub(super) struct EuclideanScorer<'a>(pub(super) &'a [f32], pub(super) ExactCtx<'a>);

impl Scorer for CosineScorer<'_> {
    fn width(&self) -> usize {
        1
    }
    #[inline(always)]
    fn chunk(&self, tile: &[f32], nb: usize, j0: usize, c: usize, out: &mut [f32; CHUNK]) {
        let len = CHUNK.min(nb - c);
        if let (Ok(t), Ok(s)) = (
            <&[f32; CHUNK]>::try_from(&tile[c..c + len]),
            <&[f32; CHUNK]>::try_from(&self.0[j0 + c..j0 + c + len]),
        ) {
            for i in 0..CHUNK {
                out[i] = t[i] * s[i];
            }
            return;
        }
        for ((o, &t), &s) in out[..len]
            .iter_mut()
            .zip(&tile[c..c + len])
            .zip(&self.0[j0 + c..j0 + c + len])
        {
            *o = t * s;
        }
    }
    fn bound(&self, q: usize) -> Option<f32> {
        Some(self.1.bounds[q])
    }
    fn exact(&self, q: usize, j: usize) -> f64 {
        self.1.dot(q, j) * f64::from(self.0[j])
    }
}

impl Scorer for DotScorer<'_> {
    fn width(&self) -> usize {
        1
    }
    #[inline(always)]
    fn chunk(&self, tile: &[f32], nb: usize, _j0: usize, c: usize, out: &mut [f32; CHUNK]) {
        let len = CHUNK.min(nb - c);
        out[..len].copy_from_slice(&tile[c..c + len]);
    }
    fn bound(&self, q: usize) -> Option<f32> {
        Some(self.0.bounds[q])
    }
    fn exact(&self, q: usize, j: usize) -> f64 {
        self.0.dot(q, j)
    }
}

impl Scorer for EuclideanScorer<'_> {
    fn width(&self) -> usize {
        1
    }
    /// `2 q.x - |x|^2`: larger means closer (|q|^2 is the same for every row).
    #[inline(always)]
    fn chunk(&self, tile: &[f32], nb: usize, j0: usize, c: usize, out: &mut [f32; CHUNK]) {
        let len = CHUNK.min(nb - c);
        for ((o, &t), &s) in out[..len]
            .iter_mut()
            .zip(&tile[c..c + len])
            .zip(&self.0[j0 + c..j0 + c + len])
        {
            *o = 2.0 * t - s;
        }
    }
    fn bound(&self, q: usize) -> Option<f32> {
        Some(self.1.bounds[q])
    }
    /// Minus the squared distance, computed directly (no cancellation).
    fn exact(&self, q: usize, j: usize) -> f64 {
        -self
            .1
            .index
            .set
            .matrix
            .row(j)
            .iter()
            .zip(self.1.queries[q])
            .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
            .sum::<f64>()
    }
    /// `|q|^2`: `2 q.x - |x|^2 = |q|^2 - |q - x|^2`.
    fn shift(&self, q: usize) -> f64 {
        self.1.queries[q]
            .iter()
            .map(|&x| f64::from(x) * f64::from(x))
            .sum()
    }
}

/// Maximum of 16 scores as a tree of pairwise maxima (vectorises; NaN never wins, so a NaN
/// row cannot hide a candidate in its chunk).
#[inline(always)]
pub(super) fn max16(v: &[f32; CHUNK]) -> f32 {
    let mut m = [0f32; 8];
    for i in 0..8 {
        m[i] = v[i].max(v[i + 8]);
    }
    let a = m[0].max(m[4]).max(m[1].max(m[5]));
    let b = m[2].max(m[6]).max(m[3].max(m[7]));
    a.max(b)
}
