//! PCA by the covariance matrix and a symmetric eigendecomposition (linfa-linalg), in f64.
//!
//! For the shapes embedscope meets (many rows, at most a few thousand columns) forming the d x d
//! covariance with a GEMM and decomposing it is much cheaper than an SVD of the data, and exact
//! (no randomisation). The result is checked against linfa-reduction's `Pca` and scikit-learn's
//! `PCA` in tests. Sign convention: each component's entry of largest magnitude is positive.

use linfa_linalg::eigh::{EigSort, Eigh};
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::linalg::{Layout, Write, matmul};
use crate::core::Matrix;

use super::ProjectError;

/// A PCA map's parameters as the CLI and the app give them. [`PcaParams::check`] validates
/// them before any data is read; [`ValidPcaParams::check_input`] adds the vector dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PcaParams {
    /// Output dimensions: [`PcaParams::MIN_DIMS`] to the vector dimension.
    pub dims: usize,
}

impl PcaParams {
    /// The fewest output dimensions of a PCA map.
    pub const MIN_DIMS: usize = 1;

    /// `dims` must be at least [`PcaParams::MIN_DIMS`].
    pub fn check(&self) -> Result<ValidPcaParams, ProjectError> {
        if self.dims < Self::MIN_DIMS {
            return Err(ProjectError::Param(format!(
                "PCA maps to at least {} dimension, not {}",
                Self::MIN_DIMS,
                self.dims
            )));
        }
        Ok(ValidPcaParams(*self))
    }
}

/// PCA parameters that passed [`PcaParams::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct ValidPcaParams(PcaParams);

impl ValidPcaParams {
    pub fn dims(&self) -> usize {
        self.0.dims
    }

    /// `d`-dimensional vectors give at most `d` components.
    pub fn check_input(&self, d: usize) -> Result<(), ProjectError> {
        if self.0.dims > d {
            return Err(dims_error(self.0.dims, d));
        }
        Ok(())
    }
}

fn dims_error(dims: usize, d: usize) -> ProjectError {
    let min = PcaParams::MIN_DIMS;
    ProjectError::Param(format!(
        "--dims {dims}: PCA can give {min} to {d} dimensions for {d}-dimensional vectors"
    ))
}

/// A fitted PCA: mean, components (row-major, k x d) and variances.
#[derive(Debug, Clone, Serialize)]
pub struct PcaModel {
    pub dim: usize,
    pub mean: Vec<f64>,
    /// k x dim, row-major, unit length.
    pub components: Vec<f64>,
    /// Variance along each component (eigenvalue of the covariance, n - 1 normalisation).
    pub explained_variance: Vec<f64>,
    /// Share of the total variance (all components, as scikit-learn).
    pub explained_variance_ratio: Vec<f64>,
    pub total_variance: f64,
    pub n: usize,
}

/// Fixed number of partial sums: the order of floating-point additions does not depend on the
/// number of threads, so results are identical run to run and machine to machine.
const PARTS: usize = 16;
const BLOCK: usize = 2048;
/// Rows per f32 covariance block.
const CBLOCK: usize = 512;

fn parts(n: usize) -> Vec<(usize, usize)> {
    let per = n.div_ceil(PARTS).max(1);
    (0..n.div_ceil(per))
        .map(|p| (p * per, ((p + 1) * per).min(n)))
        .collect()
}

/// Column block of the triangular covariance product (blocks of at most 96 columns).
fn block_of(i: usize, d: usize) -> usize {
    let nblk = d.div_ceil(96);
    i / d.div_ceil(nblk)
}

/// Mean and covariance (n - 1 normalisation, d x d row-major, f64) of rows of `m`.
pub fn covariance(
    m: &Matrix,
    rows: Option<&[usize]>,
) -> Result<(Vec<f64>, Vec<f64>), ProjectError> {
    let d = m.dim();
    let n = rows.map_or(m.rows(), <[usize]>::len);
    if n < 2 {
        return Err(ProjectError::TooFewPoints {
            n,
            min: 2,
            why: "a covariance".into(),
        });
    }
    let row = |i: usize| m.row(rows.map_or(i, |r| r[i]));
    // Mean (f64, fixed partition).
    let partial: Vec<Vec<f64>> = parts(n)
        .into_par_iter()
        .map(|(a, b)| {
            let mut s = vec![0f64; d];
            for i in a..b {
                for (acc, &x) in s.iter_mut().zip(row(i)) {
                    *acc += f64::from(x);
                }
            }
            s
        })
        .collect();
    let mut mean = vec![0f64; d];
    for p in &partial {
        for (m, &v) in mean.iter_mut().zip(p) {
            *m += v;
        }
    }
    mean.iter_mut().for_each(|x| *x /= n as f64);
    // Covariance: sum over row blocks of B^T B with B the centred block. Each block's product
    // is an f32 GEMM (twice the f64 rate) over CBLOCK rows, added into an f64 total, so
    // rounding stays at the level of a CBLOCK-term f32 sum of centred values.
    let partial: Vec<Vec<f64>> = parts(n)
        .into_par_iter()
        .map(|(a, b)| {
            let mut c = vec![0f64; d * d];
            let mut cb = vec![0f32; d * d];
            let mut buf = vec![0f32; CBLOCK * d];
            let mean32: Vec<f32> = mean.iter().map(|&m| m as f32).collect();
            let nblk = d.div_ceil(96);
            let w = d.div_ceil(nblk);
            let col_blocks: Vec<(usize, usize)> =
                (0..nblk).map(|b| (b * w, ((b + 1) * w).min(d))).collect();
            let mut i = a;
            while i < b {
                let nb = CBLOCK.min(b - i);
                for r in 0..nb {
                    for ((o, &x), &mu) in buf[r * d..(r + 1) * d]
                        .iter_mut()
                        .zip(row(i + r))
                        .zip(&mean32)
                    {
                        *o = x - mu;
                    }
                }
                // Only the blocks on and above the diagonal (the matrix is symmetric): about
                // 60% of the full product.
                for &(p0, p1) in &col_blocks {
                    for &(q0, q1) in col_blocks.iter().filter(|&&(q0, _)| q0 >= p0) {
                        // Rows p0..p1, columns q0..q1 of the d x d `cb` = (columns p0..p1
                        // of buf)^T (columns q0..q1 of buf), buf being nb x d row-major.
                        matmul(
                            &mut cb[p0 * d + q0..],
                            Layout::strided(p1 - p0, q1 - q0, d),
                            &buf[p0..],
                            Layout::strided(nb, p1 - p0, d).t(),
                            &buf[q0..],
                            Layout::strided(nb, q1 - q0, d),
                            Write::Overwrite,
                        );
                    }
                }
                for (t, &v) in c.iter_mut().zip(&cb) {
                    *t += f64::from(v);
                }
                i += nb;
            }
            c
        })
        .collect();
    let mut cov = vec![0f64; d * d];
    for p in &partial {
        for (c, &v) in cov.iter_mut().zip(p) {
            *c += v;
        }
    }
    let denom = (n - 1) as f64;
    // Fill the lower triangle from the upper one (only blocks on and above the diagonal were
    // computed; within a diagonal block both halves exist and are averaged).
    for i in 0..d {
        for j in 0..i {
            let up = cov[j * d + i];
            let low = cov[i * d + j];
            let v = if low != 0.0 && block_of(i, d) == block_of(j, d) {
                (up + low) / 2.0
            } else {
                up
            };
            cov[i * d + j] = v / denom;
            cov[j * d + i] = v / denom;
        }
        cov[i * d + i] /= denom;
    }
    if cov.iter().any(|v| !v.is_finite()) {
        return Err(ProjectError::NonFinite);
    }
    Ok((mean, cov))
}

/// Fits PCA with `k` components on the rows `rows` of `m` (all rows when `None`).
pub fn fit(m: &Matrix, rows: Option<&[usize]>, k: usize) -> Result<PcaModel, ProjectError> {
    let d = m.dim();
    let n = rows.map_or(m.rows(), <[usize]>::len);
    if k == 0 || k > d {
        return Err(ProjectError::Param(format!(
            "PCA dimensions must be between 1 and the vector dimension {d}, got {k}"
        )));
    }
    if n < 2 {
        return Err(ProjectError::TooFewPoints {
            n,
            min: 2,
            why: "PCA".into(),
        });
    }
    let (mean, cov) = covariance(m, rows)?;
    let total_variance: f64 = (0..d).map(|i| cov[i * d + i]).sum();
    let a =
        Array2::from_shape_vec((d, d), cov).map_err(|e| ProjectError::Numeric(e.to_string()))?;
    let (vals, vecs) = a
        .eigh()
        .map_err(|e| ProjectError::Numeric(format!("eigendecomposition failed: {e}")))?
        .sort_eig_desc();
    let mut components = Vec::with_capacity(k * d);
    let mut explained_variance = Vec::with_capacity(k);
    for c in 0..k {
        let col = vecs.column(c);
        // Deterministic sign: the entry of largest magnitude is positive.
        let big = col
            .iter()
            .fold(0f64, |b, &x| if x.abs() > b.abs() { x } else { b });
        let s = if big < 0.0 { -1.0 } else { 1.0 };
        components.extend(col.iter().map(|&x| x * s));
        explained_variance.push(vals[c].max(0.0));
    }
    let explained_variance_ratio = explained_variance
        .iter()
        .map(|&v| {
            if total_variance > 0.0 {
                v / total_variance
            } else {
                0.0
            }
        })
        .collect();
    Ok(PcaModel {
        dim: d,
        mean,
        components,
        explained_variance,
        explained_variance_ratio,
        total_variance,
        n,
    })
}

impl PcaModel {
    pub fn k(&self) -> usize {
        self.explained_variance.len()
    }

    /// Projects rows of `m` (all when `rows` is `None`): (x - mean) . components^T, row-major.
    pub fn transform(&self, m: &Matrix, rows: Option<&[usize]>) -> Vec<f32> {
        let (d, k) = (self.dim, self.k());
        let n = rows.map_or(m.rows(), <[usize]>::len);
        let comps: Vec<f32> = self.components.iter().map(|&x| x as f32).collect();
        let mean: Vec<f32> = self.mean.iter().map(|&x| x as f32).collect();
        let mut out = vec![0f32; n * k];
        out.par_chunks_mut(BLOCK * k)
            .enumerate()
            .for_each(|(bi, dst)| {
                let i0 = bi * BLOCK;
                let nb = dst.len() / k;
                let mut buf = vec![0f32; nb * d];
                for r in 0..nb {
                    let src = m.row(rows.map_or(i0 + r, |rr| rr[i0 + r]));
                    for ((o, &x), &mu) in buf[r * d..(r + 1) * d].iter_mut().zip(src).zip(&mean) {
                        *o = x - mu;
                    }
                }
                // dst (nb x k) = buf (nb x d) comps^T, comps being k x d row-major.
                matmul(
                    dst,
                    Layout::row_major(nb, k),
                    &buf,
                    Layout::row_major(nb, d),
                    &comps,
                    Layout::row_major(k, d).t(),
                    Write::Overwrite,
                );
            });
        out
    }
}

/// PCA map of an embedding set's finite rows to `dims` dimensions.
pub fn project(
    set: &crate::core::EmbeddingSet,
    dims: usize,
) -> Result<(super::Projection, PcaModel), ProjectError> {
    let input = super::Input::new(set);
    let d = set.dim();
    let params = PcaParams { dims }
        .check()
        .map_err(|_| dims_error(dims, d))?;
    params.check_input(d)?;
    if input.rows.len() < 2 {
        return Err(ProjectError::TooFewPoints {
            n: input.rows.len(),
            min: 2,
            why: "PCA".into(),
        });
    }
    let model = fit(&set.matrix, Some(&input.rows), dims)?;
    if model.total_variance <= 0.0 {
        return Err(ProjectError::Degenerate);
    }
    let coords = model.transform(&set.matrix, Some(&input.rows));
    let mut notes = Vec::new();
    if !input.excluded.is_empty() {
        notes.push(format!(
            "{} rows with NaN/Inf values were left out",
            input.excluded.len()
        ));
    }
    let details = super::Details::Pca {
        explained_variance: model.explained_variance.clone(),
        explained_variance_ratio: model.explained_variance_ratio.clone(),
    };
    Ok((
        super::Projection {
            dims,
            coords,
            rows: input.rows,
            excluded: input.excluded,
            details,
            notes,
        },
        model,
    ))
}

#[cfg(test)]
mod params_tests {
    use super::*;

    #[test]
    fn dims_from_one_to_the_vector_dimension() {
        assert!(matches!(
            PcaParams { dims: 0 }.check(),
            Err(ProjectError::Param(_))
        ));
        let v = PcaParams { dims: 3 }.check().expect("3 dimensions");
        assert_eq!(v.dims(), 3);
        assert_eq!(v.check_input(3), Ok(()));
        let e = v.check_input(2).unwrap_err().to_string();
        assert!(e.contains("1 to 2"), "{e}");
    }
}
