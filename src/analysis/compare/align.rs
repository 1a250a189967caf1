//! Linear CKA and orthogonal Procrustes between the shared rows of two sets, all in f64.
//!
//! One pass over the shared rows builds the Gram matrix of `Z = [X | Y]` (X = A's rows,
//! Y = B's rows, both column-centred): `Z^T Z` holds `X^T X`, `Y^T Y` and `X^T Y`, which is all
//! CKA and Procrustes need (O(n (da + db)^2) once, then only d x d work).
//!
//! Procrustes, stated: both sides centred (column means) and scaled to unit Frobenius norm; when
//! the dimensions differ, the wider side is reduced by PCA to the narrower dimension (projection
//! on its top principal axes, then rescaled to unit norm; the variance kept is reported); then
//! `R = U V^T` from the SVD `A^T B = U S V^T` minimises `||A R - B||_F` over orthogonal R, and the
//! disparity is `1 - (sum S)^2` (the value `scipy.spatial.procrustes` returns).

use linfa_linalg::eigh::{EigSort, Eigh};
use linfa_linalg::svd::SVD;
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

use super::super::error::AnalysisError;
use super::super::linalg::{Layout, Write, matmul};
use crate::core::Matrix;

/// Rows per block of the f64 GEMMs.
const BLOCK: usize = 256;

/// Fixed partition of `n` rows into parts (independent of the thread count, so sums are
/// reproducible).
fn parts(n: usize) -> Vec<(usize, usize)> {
    let size = (BLOCK * 16).max(1);
    (0..n.div_ceil(size))
        .map(|p| (p * size, ((p + 1) * size).min(n)))
        .collect()
}

/// Column means (f64) of the given rows.
fn means(m: &Matrix, rows: &[usize]) -> Vec<f64> {
    let d = m.dim();
    let partial: Vec<Vec<f64>> = parts(rows.len())
        .into_par_iter()
        .map(|(a, b)| {
            let mut s = vec![0f64; d];
            for &r in &rows[a..b] {
                for (acc, &x) in s.iter_mut().zip(m.row(r)) {
                    *acc += f64::from(x);
                }
            }
            s
        })
        .collect();
    let mut s = vec![0f64; d];
    for p in &partial {
        for (t, &v) in s.iter_mut().zip(p) {
            *t += v;
        }
    }
    let n = rows.len().max(1) as f64;
    s.iter_mut().for_each(|x| *x /= n);
    s
}

/// Fills `out` (nb x (da + db), row-major) with the centred rows `[x_i - mx | y_i - my]`.
#[allow(clippy::too_many_arguments)]
fn fill_block(
    out: &mut [f64],
    ma: &Matrix,
    ra: &[usize],
    mx: &[f64],
    mb: &Matrix,
    rb: &[usize],
    my: &[f64],
) {
    let (da, db) = (ma.dim(), mb.dim());
    let w = da + db;
    for (r, (&ia, &ib)) in ra.iter().zip(rb).enumerate() {
        let row = &mut out[r * w..(r + 1) * w];
        for ((o, &x), &m) in row[..da].iter_mut().zip(ma.row(ia)).zip(mx) {
            *o = f64::from(x) - m;
        }
        for ((o, &y), &m) in row[da..].iter_mut().zip(mb.row(ib)).zip(my) {
            *o = f64::from(y) - m;
        }
    }
}

/// `Z^T Z` of the centred `[X | Y]` (row-major, (da + db)^2) and the two means.
pub(crate) struct Gram {
    pub da: usize,
    pub db: usize,
    pub c: Vec<f64>,
    pub mean_a: Vec<f64>,
    pub mean_b: Vec<f64>,
}

impl Gram {
    pub fn new(ma: &Matrix, ra: &[usize], mb: &Matrix, rb: &[usize]) -> Gram {
        let (da, db) = (ma.dim(), mb.dim());
        let w = da + db;
        let (mean_a, mean_b) = rayon::join(|| means(ma, ra), || means(mb, rb));
        let partial: Vec<Vec<f64>> = parts(ra.len())
            .into_par_iter()
            .map(|(s, e)| {
                let mut c = vec![0f64; w * w];
                let mut z = vec![0f64; BLOCK * w];
                let mut i = s;
                while i < e {
                    let nb = BLOCK.min(e - i);
                    fill_block(
                        &mut z,
                        ma,
                        &ra[i..i + nb],
                        &mean_a,
                        mb,
                        &rb[i..i + nb],
                        &mean_b,
                    );
                    // c += z^T z, z holding nb rows of w.
                    matmul(
                        &mut c,
                        Layout::row_major(w, w),
                        &z,
                        Layout::row_major(nb, w).t(),
                        &z,
                        Layout::row_major(nb, w),
                        Write::Accumulate,
                    );
                    i += nb;
                }
                c
            })
            .collect();
        let mut c = vec![0f64; w * w];
        for p in &partial {
            for (t, &v) in c.iter_mut().zip(p) {
                *t += v;
            }
        }
        Gram {
            da,
            db,
            c,
            mean_a,
            mean_b,
        }
    }

    fn w(&self) -> usize {
        self.da + self.db
    }
    /// Block of C: rows r0.., columns c0.., size nr x nc, row-major.
    fn block(&self, r0: usize, nr: usize, c0: usize, nc: usize) -> Vec<f64> {
        let w = self.w();
        let mut out = Vec::with_capacity(nr * nc);
        for r in r0..r0 + nr {
            out.extend_from_slice(&self.c[r * w + c0..r * w + c0 + nc]);
        }
        out
    }
    pub fn xtx(&self) -> Vec<f64> {
        self.block(0, self.da, 0, self.da)
    }
    pub fn yty(&self) -> Vec<f64> {
        self.block(self.da, self.db, self.da, self.db)
    }
    /// X^T Y (da x db).
    pub fn xty(&self) -> Vec<f64> {
        self.block(0, self.da, self.da, self.db)
    }
}

fn frob2(v: &[f64]) -> f64 {
    v.iter().map(|x| x * x).sum()
}

fn trace(v: &[f64], d: usize) -> f64 {
    (0..d).map(|i| v[i * d + i]).sum()
}

/// Linear CKA (Kornblith et al. 2019): `||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F)` on centred X, Y.
pub(crate) fn linear_cka(g: &Gram) -> Option<f64> {
    let den = frob2(&g.xtx()).sqrt() * frob2(&g.yty()).sqrt();
    (den > 0.0).then(|| frob2(&g.xty()) / den)
}

/// Eigenvectors of a symmetric d x d matrix, largest eigenvalue first: (values, vectors as the
/// columns of a row-major d x d matrix). Each vector's largest-magnitude entry is positive.
pub(crate) fn eigh_desc(s: &[f64], d: usize) -> Result<(Vec<f64>, Vec<f64>), AnalysisError> {
    let a = Array2::from_shape_vec((d, d), s.to_vec())
        .map_err(|e| AnalysisError::InvalidParameter(format!("eigendecomposition: {e}")))?;
    let (vals, vecs) = a
        .eigh()
        .map_err(|e| AnalysisError::InvalidParameter(format!("eigendecomposition failed: {e}")))?
        .sort_eig_desc();
    let mut out = vec![0f64; d * d];
    for c in 0..d {
        let col = vecs.column(c);
        let big = col
            .iter()
            .fold(0f64, |b, &x| if x.abs() > b.abs() { x } else { b });
        let s = if big < 0.0 { -1.0 } else { 1.0 };
        for r in 0..d {
            out[r * d + c] = col[r] * s;
        }
    }
    Ok((vals.to_vec(), out))
}

/// Which side PCA reduced to the other's dimension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reduced {
    None,
    A,
    B,
}

/// The fitted alignment: everything needed to map either side into the shared space.
#[derive(Debug, Clone)]
pub struct Alignment {
    pub dim_a: usize,
    pub dim_b: usize,
    /// The aligned dimension, min(dim_a, dim_b).
    pub dim: usize,
    pub mean_a: Vec<f64>,
    pub mean_b: Vec<f64>,
    /// Frobenius norms of the centred sides (the scale divided out).
    pub scale_a: f64,
    pub scale_b: f64,
    pub reduced: Reduced,
    /// PCA basis of the reduced side (its dim x `dim`, row-major), empty when none.
    pub basis: Vec<f64>,
    /// Fraction of the reduced side's variance its top `dim` axes keep.
    pub variance_kept: f64,
    /// The orthogonal map (dim x dim, row-major): `A' R ~ B'`.
    pub r: Vec<f64>,
    pub singular_values: Vec<f64>,
}

/// Procrustes numbers for reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ProcrustesSummary {
    /// How the sides were prepared, in words.
    pub method: String,
    pub dim_a: usize,
    pub dim_b: usize,
    pub aligned_dim: usize,
    pub reduced: Reduced,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pca_variance_kept: Option<f64>,
    /// Number of anchor words the alignment was fitted on.
    pub anchors: usize,
    /// `1 - (sum of singular values)^2` (scipy.spatial.procrustes).
    pub disparity: f64,
    pub sum_singular_values: f64,
    /// `||A R - B||_F^2` of the unit-norm sides (= 2 - 2 sum S).
    pub orthogonal_residual: f64,
    /// Cosine of `a_i R` and `b_i` per shared word: mean and median over all shared words.
    pub aligned_cosine_mean: f64,
    pub aligned_cosine_median: f64,
}

/// The top `m` principal axes of a side from its centred Gram block (d x d, trace `total`):
/// the basis (d x m, row-major) and the fraction of the variance it keeps.
fn pca_basis(
    gram: &[f64],
    d: usize,
    m: usize,
    total: f64,
) -> Result<(Vec<f64>, f64), AnalysisError> {
    let (vals, vecs) = eigh_desc(gram, d)?;
    let kept = vals[..m].iter().map(|v| v.max(0.0)).sum::<f64>() / total;
    let basis = (0..d)
        .flat_map(|r| vecs[r * d..r * d + m].to_vec())
        .collect();
    Ok((basis, kept))
}

/// Fits the alignment from a Gram matrix of the anchor rows.
pub(crate) fn procrustes(g: &Gram) -> Result<Alignment, AnalysisError> {
    let (da, db) = (g.da, g.db);
    let (xtx, yty, xty) = (g.xtx(), g.yty(), g.xty());
    let (tx, ty) = (trace(&xtx, da), trace(&yty, db));
    if tx <= 0.0 || ty <= 0.0 {
        return Err(AnalysisError::InvalidParameter(
            "Procrustes: a side has no variance over the anchor words (all rows equal)".into(),
        ));
    }
    let (sx, sy) = (tx.sqrt(), ty.sqrt());
    let m = da.min(db);
    // M = A'^T B' (m x m), from X^T Y.
    let (reduced, basis, kept, mm) = if da == db {
        let mm: Vec<f64> = xty.iter().map(|v| v / (sx * sy)).collect();
        (Reduced::None, Vec::new(), 1.0, mm)
    } else if db > da {
        let (basis, kept) = pca_basis(&yty, db, m, ty)?;
        // X^T Y Vm: (da x db) (db x m)
        let mut mm = vec![0f64; da * m];
        matmul(
            &mut mm,
            Layout::row_major(da, m),
            &xty,
            Layout::row_major(da, db),
            &basis,
            Layout::row_major(db, m),
            Write::Overwrite,
        );
        let s = sx * sy * kept.sqrt();
        mm.iter_mut().for_each(|v| *v /= s);
        (Reduced::B, basis, kept, mm)
    } else {
        let (basis, kept) = pca_basis(&xtx, da, m, tx)?;
        // Vm^T X^T Y: (m x da) (da x db), Vm being da x m.
        let mut mm = vec![0f64; m * db];
        matmul(
            &mut mm,
            Layout::row_major(m, db),
            &basis,
            Layout::row_major(da, m).t(),
            &xty,
            Layout::row_major(da, db),
            Write::Overwrite,
        );
        let s = sx * sy * kept.sqrt();
        mm.iter_mut().for_each(|v| *v /= s);
        (Reduced::A, basis, kept, mm)
    };
    let a = Array2::from_shape_vec((m, m), mm)
        .map_err(|e| AnalysisError::InvalidParameter(format!("Procrustes: {e}")))?;
    let (u, s, vt) = a
        .svd(true, true)
        .map_err(|e| AnalysisError::InvalidParameter(format!("Procrustes: SVD failed: {e}")))?;
    let (u, vt) = match (u, vt) {
        (Some(u), Some(vt)) => (u, vt),
        _ => {
            return Err(AnalysisError::InvalidParameter(
                "Procrustes: SVD returned no vectors".into(),
            ));
        }
    };
    let r = u.dot(&vt);
    Ok(Alignment {
        dim_a: da,
        dim_b: db,
        dim: m,
        mean_a: g.mean_a.clone(),
        mean_b: g.mean_b.clone(),
        scale_a: sx,
        scale_b: sy,
        reduced,
        basis,
        variance_kept: kept,
        r: r.iter().copied().collect(),
        singular_values: s.to_vec(),
    })
}

impl Alignment {
    pub fn sum_singular_values(&self) -> f64 {
        self.singular_values.iter().sum()
    }

    pub fn disparity(&self) -> f64 {
        1.0 - self.sum_singular_values().powi(2)
    }

    /// The linear maps that take a centred row of A (da) and of B (db) into the shared
    /// `dim`-space where they are compared: `(P_a, P_b)`, row-major da x dim and db x dim, with
    /// `(x - mean_a) P_a ~ (y - mean_b) P_b` up to the two scales.
    pub fn maps(&self) -> (Vec<f64>, Vec<f64>) {
        let m = self.dim;
        let ident = |d: usize| {
            let mut v = vec![0f64; d * d];
            (0..d).for_each(|i| v[i * d + i] = 1.0);
            v
        };
        let mul = |lhs: &[f64], (r, k): (usize, usize), rhs: &[f64], c: usize| {
            let mut out = vec![0f64; r * c];
            matmul(
                &mut out,
                Layout::row_major(r, c),
                lhs,
                Layout::row_major(r, k),
                rhs,
                Layout::row_major(k, c),
                Write::Overwrite,
            );
            out
        };
        match self.reduced {
            Reduced::None => (self.r.clone(), ident(m)),
            Reduced::B => (self.r.clone(), self.basis.clone()),
            Reduced::A => (mul(&self.basis, (self.dim_a, m), &self.r, m), ident(m)),
        }
    }

    /// Cosine of the aligned rows `a_i R` and `b_i` for each pair of rows, in f64.
    pub fn aligned_cosines(
        &self,
        ma: &Matrix,
        ra: &[usize],
        mb: &Matrix,
        rb: &[usize],
    ) -> Vec<f64> {
        let (pa, pb) = self.maps();
        let (da, db, m) = (self.dim_a, self.dim_b, self.dim);
        let chunks: Vec<(usize, usize)> = parts(ra.len());
        let out: Vec<Vec<f64>> = chunks
            .into_par_iter()
            .map(|(s, e)| {
                let mut res = Vec::with_capacity(e - s);
                let mut za = vec![0f64; BLOCK * da];
                let mut zb = vec![0f64; BLOCK * db];
                let mut oa = vec![0f64; BLOCK * m];
                let mut ob = vec![0f64; BLOCK * m];
                let mut i = s;
                while i < e {
                    let nb = BLOCK.min(e - i);
                    for r in 0..nb {
                        for ((o, &x), &mu) in za[r * da..(r + 1) * da]
                            .iter_mut()
                            .zip(ma.row(ra[i + r]))
                            .zip(&self.mean_a)
                        {
                            *o = f64::from(x) - mu;
                        }
                        for ((o, &y), &mu) in zb[r * db..(r + 1) * db]
                            .iter_mut()
                            .zip(mb.row(rb[i + r]))
                            .zip(&self.mean_b)
                        {
                            *o = f64::from(y) - mu;
                        }
                    }
                    for (o, z, p, d) in [(&mut oa, &za, &pa, da), (&mut ob, &zb, &pb, db)] {
                        matmul(
                            o,
                            Layout::row_major(nb, m),
                            z,
                            Layout::row_major(nb, d),
                            p,
                            Layout::row_major(d, m),
                            Write::Overwrite,
                        );
                    }
                    for r in 0..nb {
                        let (u, v) = (&oa[r * m..(r + 1) * m], &ob[r * m..(r + 1) * m]);
                        let (mut uv, mut uu, mut vv) = (0f64, 0f64, 0f64);
                        for (&p, &q) in u.iter().zip(v) {
                            uv += p * q;
                            uu += p * p;
                            vv += q * q;
                        }
                        let den = (uu * vv).sqrt();
                        res.push(if den > 0.0 { uv / den } else { 0.0 });
                    }
                    i += nb;
                }
                res
            })
            .collect();
        out.into_iter().flatten().collect()
    }

    /// Maps a raw row of B into A's centred, unit-scaled space (da values): `((y - mean_b) /
    /// scale_b) M`. With a PCA-reduced side the result lies in A's top principal subspace.
    pub fn b_to_a_map(&self) -> Vec<f64> {
        // A R ~ B (in the aligned spaces) => A ~ B R^T.
        let (m, da, db) = (self.dim, self.dim_a, self.dim_b);
        let rt: Vec<f64> = (0..m)
            .flat_map(|i| (0..m).map(move |j| (i, j)))
            .map(|(i, j)| self.r[j * m + i])
            .collect();
        let sa = self.variance_kept.sqrt();
        match self.reduced {
            Reduced::None => rt,
            // a ~ y Vb R^T / sqrt(kept_b)
            Reduced::B => {
                let mut out = vec![0f64; db * m];
                matmul(
                    &mut out,
                    Layout::row_major(db, m),
                    &self.basis,
                    Layout::row_major(db, m),
                    &rt,
                    Layout::row_major(m, m),
                    Write::Overwrite,
                );
                out.iter_mut().for_each(|v| *v /= sa);
                out
            }
            // a Va ~ sqrt(kept_a) y R^T  => a ~ sqrt(kept_a) y R^T Va^T
            Reduced::A => {
                let mut out = vec![0f64; db * da];
                // (db x m) (m x da), Va being da x m (here m = db).
                matmul(
                    &mut out,
                    Layout::row_major(db, da),
                    &rt,
                    Layout::row_major(db, m),
                    &self.basis,
                    Layout::row_major(da, m).t(),
                    Write::Overwrite,
                );
                out.iter_mut().for_each(|v| *v *= sa);
                out
            }
        }
    }
}

/// The median of a slice of finite values (mean of the two middle ones for an even count).
pub(crate) fn median(v: &[f64]) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    let n = s.len();
    if n % 2 == 1 {
        s[n / 2]
    } else {
        (s[n / 2 - 1] + s[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mat(rows: usize, dim: usize, f: impl Fn(usize, usize) -> f64) -> Matrix {
        let data = (0..rows * dim)
            .map(|i| f(i / dim, i % dim) as f32)
            .collect();
        Matrix::from_vec(rows, dim, data).unwrap()
    }

    #[test]
    fn gram_matches_direct_sums() {
        let a = mat(37, 3, |i, j| ((i * 7 + j * 3) % 11) as f64 - 4.0);
        let b = mat(37, 2, |i, j| ((i * 5 + j) % 7) as f64 * 0.5);
        let rows: Vec<usize> = (0..37).collect();
        let g = Gram::new(&a, &rows, &b, &rows);
        let ma = means(&a, &rows);
        let mb = means(&b, &rows);
        let xty = g.xty();
        for p in 0..3 {
            for q in 0..2 {
                let direct: f64 = (0..37)
                    .map(|i| (f64::from(a.row(i)[p]) - ma[p]) * (f64::from(b.row(i)[q]) - mb[q]))
                    .sum();
                assert!((xty[p * 2 + q] - direct).abs() < 1e-9, "{p} {q}");
            }
        }
    }

    #[test]
    fn b_to_a_map_inverts_the_alignment() {
        // B = A Q exactly, same dimension: mapping B back gives A (centred, scaled).
        let a = mat(50, 3, |i, j| {
            ((i * 13 + j * 7) % 17) as f64 / 5.0 + j as f64
        });
        let q = [[0.0, 1.0, 0.0], [-1.0, 0.0, 0.0], [0.0, 0.0, 1.0]];
        let b = mat(50, 3, |i, j| {
            (0..3).map(|l| f64::from(a.row(i)[l]) * q[l][j]).sum()
        });
        let rows: Vec<usize> = (0..50).collect();
        let al = procrustes(&Gram::new(&a, &rows, &b, &rows)).unwrap();
        assert!(al.disparity().abs() < 1e-10);
        let m = al.b_to_a_map();
        for i in 0..50 {
            for j in 0..3 {
                let y: f64 = (0..3)
                    .map(|l| (f64::from(b.row(i)[l]) - al.mean_b[l]) / al.scale_b * m[l * 3 + j])
                    .sum();
                let x = (f64::from(a.row(i)[j]) - al.mean_a[j]) / al.scale_a;
                assert!((x - y).abs() < 1e-6, "{i} {j}: {x} vs {y}");
            }
        }
    }

    #[test]
    fn median_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
