//! Spectral initialisation: the eigenvectors of the normalised Laplacian I - D^-1/2 W D^-1/2
//! with the smallest non-zero eigenvalues, computed by LOBPCG (block size `dim` + guard
//! vectors, the trivial eigenvector sqrt(degree) projected out exactly). A disconnected graph
//! is laid out as umap-learn does: the components placed by a spectral embedding of their
//! centroids (or on the axes when there are few), each component laid out spectrally within
//! its share of the space, tiny components at random. When the solver breaks down, or the
//! graph has too many components to place, the layout falls back to uniform random points in
//! [-10, 10]. Every reduction runs over fixed chunks, so the result does not depend on the
//! number of threads.

use linfa_linalg::eigh::{EigSort, Eigh};
use ndarray::Array2;
use rayon::prelude::*;

use super::super::Rng;
use super::graph::Csr;

/// How the initial layout was made (reported with the map).
#[derive(Debug, Clone, PartialEq)]
pub enum InitKind {
    Spectral {
        iterations: usize,
        converged: bool,
    },
    MultiComponent {
        components: usize,
    },
    /// Uniform random points; the reason in words.
    Random(String),
}

/// Components beyond which their meta layout is not attempted (random initialisation instead).
pub const MAX_COMPONENTS: usize = 1024;
/// Components up to this size are solved densely.
const DENSE_MAX: usize = 96;
const TOL: f64 = 1e-4;
const MAX_ITER: usize = 400;
const GUARD: usize = 3;
const CHUNK: usize = 4096;

fn dot(a: &[f64], b: &[f64]) -> f64 {
    inner(&[a], &[b])[0]
}

/// The inner products `a[i] . b[j]` (`a.len() x b.len()`, row-major) in one pass over the
/// rows: per chunk of rows all the sums, then the chunks' sums added in chunk order.
fn inner(a: &[&[f64]], b: &[&[f64]]) -> Vec<f64> {
    let (ma, mb) = (a.len(), b.len());
    let n = a.first().map_or(0, |v| v.len());
    let parts: Vec<Vec<f64>> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let (lo, hi) = (c * CHUNK, ((c + 1) * CHUNK).min(n));
            let mut g = vec![0.0; ma * mb];
            for (i, x) in a.iter().enumerate() {
                for (j, y) in b.iter().enumerate() {
                    g[i * mb + j] = x[lo..hi]
                        .iter()
                        .zip(&y[lo..hi])
                        .map(|(p, q)| p * q)
                        .sum::<f64>();
                }
            }
            g
        })
        .collect();
    let mut out = vec![0.0; ma * mb];
    for g in &parts {
        for (o, v) in out.iter_mut().zip(g) {
            *o += v;
        }
    }
    out
}

fn axpy(y: &mut [f64], alpha: f64, x: &[f64]) {
    y.par_chunks_mut(CHUNK)
        .zip(x.par_chunks(CHUNK))
        .for_each(|(ys, xs)| ys.iter_mut().zip(xs).for_each(|(a, b)| *a += alpha * b));
}

/// `y -= sum_j c[j] * x[j]` in one pass (the terms subtracted in order).
fn subtract_combination(y: &mut [f64], c: &[f64], x: &[&[f64]]) {
    y.par_chunks_mut(CHUNK).enumerate().for_each(|(k, ys)| {
        let lo = k * CHUNK;
        for (cj, xj) in c.iter().zip(x) {
            for (a, b) in ys.iter_mut().zip(&xj[lo..]) {
                *a -= cj * b;
            }
        }
    });
}

/// For each column `col` of `c` (`q.len() x cols`, row-major), `sum_r c[r][col] * q[r]` over
/// the rows `from..` of `c`: the new vectors, each summed in order of `r`.
fn combinations(q: &[&[f64]], c: &[f64], cols: usize, from: usize) -> Vec<Vec<f64>> {
    let n = q.first().map_or(0, |v| v.len());
    (0..cols)
        .into_par_iter()
        .map(|col| {
            let mut v = vec![0.0; n];
            for (r, qr) in q.iter().enumerate().skip(from) {
                let w = c[r * cols + col];
                for (a, b) in v.iter_mut().zip(qr.iter()) {
                    *a += w * b;
                }
            }
            v
        })
        .collect()
}

/// The normalised Laplacian of a graph as an operator.
struct Laplacian<'a> {
    g: &'a Csr,
    inv_sqrt_deg: Vec<f64>,
}

impl Laplacian<'_> {
    fn apply(&self, x: &[f64]) -> Vec<f64> {
        self.apply_all(&[x]).pop().unwrap_or_default()
    }

    /// The operator on several vectors in one pass over the graph.
    fn apply_all(&self, xs: &[&[f64]]) -> Vec<Vec<f64>> {
        let n = self.g.n();
        let m = xs.len();
        let mut flat = vec![0.0; n * m];
        flat.par_chunks_mut(CHUNK * m.max(1))
            .enumerate()
            .for_each(|(c, o)| {
                let mut s = vec![0.0; m];
                for (r, out) in o.chunks_mut(m).enumerate() {
                    let i = c * CHUNK + r;
                    let (idx, w) = self.g.row(i);
                    s.iter_mut().for_each(|v| *v = 0.0);
                    for (&j, &wij) in idx.iter().zip(w) {
                        let f = f64::from(wij) * self.inv_sqrt_deg[j as usize];
                        for (sk, x) in s.iter_mut().zip(xs) {
                            *sk += f * x[j as usize];
                        }
                    }
                    for ((o, sk), x) in out.iter_mut().zip(&s).zip(xs) {
                        *o = x[i] - self.inv_sqrt_deg[i] * sk;
                    }
                }
            });
        (0..m)
            .map(|k| flat.iter().skip(k).step_by(m).copied().collect())
            .collect()
    }
}

/// Smallest eigenpairs of a small symmetric matrix (ascending).
fn eigh_asc(t: &[f64], m: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let a = Array2::from_shape_vec((m, m), t.to_vec()).ok()?;
    let (vals, vecs) = a.eigh().ok()?.sort_eig_desc();
    let mut v = vec![0.0; m * m];
    let mut l = vec![0.0; m];
    for c in 0..m {
        // Reverse: ascending order.
        let src = m - 1 - c;
        l[c] = vals[src];
        for r in 0..m {
            v[r * m + c] = vecs[[r, src]];
        }
    }
    if l.iter().chain(&v).all(|x| x.is_finite()) {
        Some((l, v))
    } else {
        None
    }
}

/// Orthogonalises `v` (and its image `av`) against `u0` (an exact eigenvector with
/// eigenvalue 0: its image is 0) and the vectors of `bases` (with images), twice (classical
/// Gram-Schmidt twice: all the coefficients in one pass, the subtraction in another), then
/// normalises; false when nothing independent is left.
fn orthonormalise(
    v: &mut [f64],
    av: &mut [f64],
    bases: &[&[(Vec<f64>, Vec<f64>)]],
    u0: &[f64],
) -> bool {
    let n0 = dot(v, v).sqrt();
    if n0.is_nan() || n0 <= 0.0 || n0.is_infinite() {
        return false;
    }
    let mut qs: Vec<&[f64]> = vec![u0];
    let mut aqs: Vec<&[f64]> = Vec::new();
    for (q, aq) in bases.iter().flat_map(|b| b.iter()) {
        qs.push(q);
        aqs.push(aq);
    }
    for _ in 0..2 {
        let c = inner(&[&*v], &qs);
        subtract_combination(v, &c, &qs);
        subtract_combination(av, &c[1..], &aqs);
    }
    let nrm = dot(v, v).sqrt();
    if nrm.is_nan() || nrm <= 1e-10 * n0 {
        return false;
    }
    v.par_iter_mut().for_each(|x| *x /= nrm);
    av.par_iter_mut().for_each(|x| *x /= nrm);
    true
}

/// The `want` eigenvectors of a connected graph's normalised Laplacian after the trivial one,
/// as `n x want` row-major, with the iterations used; None when the solver breaks down.
fn lobpcg(g: &Csr, want: usize, seed: u64) -> Option<(Vec<f64>, usize, bool)> {
    let n = g.n();
    let deg: Vec<f64> = (0..n)
        .map(|i| g.row(i).1.iter().map(|&w| f64::from(w)).sum::<f64>())
        .collect();
    if deg.iter().any(|&d| d.is_nan() || d <= 0.0) {
        return None;
    }
    let op = Laplacian {
        g,
        inv_sqrt_deg: deg.iter().map(|d| 1.0 / d.sqrt()).collect(),
    };
    let norm = deg.iter().sum::<f64>().sqrt();
    let u0: Vec<f64> = deg.iter().map(|d| d.sqrt() / norm).collect();
    let b = (want + GUARD).min((n - 1) / 3).max(want);
    let mut rng = Rng::new(seed ^ 0x5EC7_0A11);
    // Initial block.
    let mut xs: Vec<(Vec<f64>, Vec<f64>)> = Vec::with_capacity(b);
    while xs.len() < b {
        let mut v: Vec<f64> = (0..n).map(|_| rng.normal()).collect();
        let mut av = op.apply(&v);
        if orthonormalise(&mut v, &mut av, &[&xs], &u0) {
            xs.push((v, av));
        } else if xs.len() + 1 >= n {
            return None;
        }
    }
    let mut ps: Vec<(Vec<f64>, Vec<f64>)> = Vec::new();
    let mut rs: Vec<(Vec<f64>, Vec<f64>)>;
    let mut iterations = 0;
    let mut converged = false;
    loop {
        // Rayleigh-Ritz on the basis [X, R, P] (X alone at the start).
        let basis: Vec<&(Vec<f64>, Vec<f64>)> = xs.iter().chain(&ps).collect();
        let m = basis.len();
        let qs: Vec<&[f64]> = basis.iter().map(|b| b.0.as_slice()).collect();
        let aqs: Vec<&[f64]> = basis.iter().map(|b| b.1.as_slice()).collect();
        let g = inner(&qs, &aqs);
        let mut t = vec![0.0; m * m];
        for r in 0..m {
            for c in r..m {
                let v = 0.5 * (g[r * m + c] + g[c * m + r]);
                t[r * m + c] = v;
                t[c * m + r] = v;
            }
        }
        let (lam, vecs) = eigh_asc(&t, m)?;
        // The Ritz vectors (and their images) from the whole basis, the new directions P from
        // its R and P part.
        let take = |from: usize| -> Vec<(Vec<f64>, Vec<f64>)> {
            // Only the first `b` columns of `vecs` are wanted.
            let c: Vec<f64> = (0..m)
                .flat_map(|r| vecs[r * m..r * m + b].iter().copied())
                .collect();
            combinations(&qs, &c, b, from)
                .into_iter()
                .zip(combinations(&aqs, &c, b, from))
                .collect()
        };
        let new_x = take(0);
        let new_p: Vec<(Vec<f64>, Vec<f64>)> = if m > b { take(b) } else { Vec::new() };
        xs = new_x;
        // Residuals.
        let mut worst = 0.0f64;
        rs = Vec::with_capacity(b);
        for (c, (x, ax)) in xs.iter().enumerate() {
            let mut r = ax.clone();
            axpy(&mut r, -lam[c], x);
            let nr = dot(&r, &r).sqrt();
            if !nr.is_finite() {
                return None;
            }
            if c < want {
                worst = worst.max(nr);
            }
            rs.push((r, Vec::new()));
        }
        if worst < TOL {
            converged = true;
            break;
        }
        if iterations >= MAX_ITER {
            break;
        }
        iterations += 1;
        // New basis: X (orthonormal already), then R and P orthogonalised against it.
        let mut next: Vec<(Vec<f64>, Vec<f64>)> = Vec::with_capacity(3 * b);
        next.append(&mut xs);
        let mut extra: Vec<(Vec<f64>, Vec<f64>)> = Vec::with_capacity(2 * b);
        let rv: Vec<Vec<f64>> = rs.drain(..).map(|(r, _)| r).collect();
        let images = op.apply_all(&rv.iter().map(Vec::as_slice).collect::<Vec<_>>());
        for (mut r, mut ar) in rv.into_iter().zip(images) {
            if orthonormalise(&mut r, &mut ar, &[&next, &extra], &u0) {
                extra.push((r, ar));
            }
        }
        for (mut p, mut ap) in new_p {
            if orthonormalise(&mut p, &mut ap, &[&next, &extra], &u0) {
                extra.push((p, ap));
            }
        }
        xs = next;
        ps = extra;
    }
    let mut out = vec![0.0; n * want];
    for c in 0..want {
        let x = &xs[c].0;
        // Deterministic sign: the largest-magnitude entry positive.
        let big = x
            .iter()
            .fold(0f64, |b, &v| if v.abs() > b.abs() { v } else { b });
        let s = if big < 0.0 { -1.0 } else { 1.0 };
        for i in 0..n {
            out[i * want + c] = s * x[i];
        }
    }
    Some((out, iterations, converged))
}

/// Dense spectral embedding of a small symmetric weight matrix (`m x m`): the `want`
/// eigenvectors after the trivial one of the normalised Laplacian, `m x want` row-major.
fn dense_spectral(w: &[f64], m: usize, want: usize) -> Option<Vec<f64>> {
    let deg: Vec<f64> = (0..m).map(|i| w[i * m..(i + 1) * m].iter().sum()).collect();
    if deg.iter().any(|&d| d.is_nan() || d <= 0.0) || m < want + 1 {
        return None;
    }
    let mut l = vec![0.0; m * m];
    for i in 0..m {
        for j in 0..m {
            let v = w[i * m + j] / (deg[i].sqrt() * deg[j].sqrt());
            l[i * m + j] = if i == j { 1.0 - v } else { -v };
        }
    }
    let (_, vecs) = eigh_asc(&l, m)?;
    let mut out = vec![0.0; m * want];
    for c in 0..want {
        let col: Vec<f64> = (0..m).map(|r| vecs[r * m + c + 1]).collect();
        let big = col
            .iter()
            .fold(0f64, |b, &v| if v.abs() > b.abs() { v } else { b });
        let s = if big < 0.0 { -1.0 } else { 1.0 };
        for r in 0..m {
            out[r * want + c] = s * col[r];
        }
    }
    Some(out)
}

/// Connected components (labels in order of first appearance) and their count.
pub fn components(g: &Csr) -> (Vec<u32>, usize) {
    let n = g.n();
    let mut label = vec![u32::MAX; n];
    let mut count = 0u32;
    let mut stack = Vec::new();
    for s in 0..n {
        if label[s] != u32::MAX {
            continue;
        }
        label[s] = count;
        stack.push(s);
        while let Some(i) = stack.pop() {
            for &j in g.row(i).0 {
                if label[j as usize] == u32::MAX {
                    label[j as usize] = count;
                    stack.push(j as usize);
                }
            }
        }
        count += 1;
    }
    (label, count as usize)
}

fn random_layout(n: usize, dim: usize, rng: &mut Rng) -> Vec<f64> {
    (0..n * dim).map(|_| rng.uniform() * 20.0 - 10.0).collect()
}

/// The subgraph of the vertices `members` (sorted), re-indexed.
fn subgraph(g: &Csr, members: &[usize], local: &[u32]) -> Csr {
    let mut out = Csr {
        indptr: vec![0],
        indices: Vec::new(),
        values: Vec::new(),
    };
    for &i in members {
        let (idx, w) = g.row(i);
        for (&j, &v) in idx.iter().zip(w) {
            out.indices.push(local[j as usize]);
            out.values.push(v);
        }
        out.indptr.push(out.indices.len());
    }
    out
}

fn connected_layout(g: &Csr, dim: usize, seed: u64) -> Result<(Vec<f64>, usize, bool), String> {
    let n = g.n();
    if n <= DENSE_MAX {
        let mut w = vec![0.0; n * n];
        for i in 0..n {
            let (idx, v) = g.row(i);
            for (&j, &x) in idx.iter().zip(v) {
                w[i * n + j as usize] = f64::from(x);
            }
        }
        return dense_spectral(&w, n, dim)
            .map(|v| (v, 0, true))
            .ok_or_else(|| "the dense eigendecomposition failed".to_string());
    }
    lobpcg(g, dim, seed).ok_or_else(|| "the eigensolver broke down".to_string())
}

/// The initial layout (`n x dim`, row-major) of a graph; `centroid_dist(a, b)` gives the
/// distance between the data centroids of two components (for placing many components).
pub fn init_layout(
    g: &Csr,
    dim: usize,
    seed: u64,
    centroid_dist: impl Fn(&[Vec<usize>]) -> Vec<f64>,
) -> (Vec<f64>, InitKind) {
    let n = g.n();
    let mut rng = Rng::new(seed ^ 0x1417_0001);
    let (labels, nc) = components(g);
    if nc == 1 {
        return match connected_layout(g, dim, seed) {
            Ok((v, iterations, converged)) => (
                v,
                InitKind::Spectral {
                    iterations,
                    converged,
                },
            ),
            Err(why) => (random_layout(n, dim, &mut rng), InitKind::Random(why)),
        };
    }
    if nc > MAX_COMPONENTS {
        return (
            random_layout(n, dim, &mut rng),
            InitKind::Random(format!(
                "the neighbour graph has {nc} connected components (more than {MAX_COMPONENTS})"
            )),
        );
    }
    let mut members: Vec<Vec<usize>> = vec![Vec::new(); nc];
    for (i, &l) in labels.iter().enumerate() {
        members[l as usize].push(i);
    }
    // Where each component goes.
    let meta: Vec<f64> = if nc > 2 * dim {
        let dist = centroid_dist(&members);
        let aff: Vec<f64> = dist.iter().map(|d| (-(d * d)).exp()).collect();
        match dense_spectral(&aff, nc, dim) {
            Some(mut e) => {
                let mx = e.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                if mx > 0.0 {
                    e.iter_mut().for_each(|v| *v /= mx);
                }
                e
            }
            None => (0..nc * dim).map(|_| rng.uniform() * 10.0).collect(),
        }
    } else {
        let k = nc.div_ceil(2);
        let mut m = vec![0.0; nc * dim];
        for c in 0..nc {
            let axis = c % k;
            if axis < dim {
                m[c * dim + axis] = if c < k { 1.0 } else { -1.0 };
            }
        }
        m
    };
    let mut out = vec![0.0; n * dim];
    let mut local = vec![0u32; n];
    for (c, mem) in members.iter().enumerate() {
        let mc = &meta[c * dim..(c + 1) * dim];
        let range = (0..nc)
            .filter(|&o| o != c)
            .map(|o| {
                (0..dim)
                    .map(|k| (meta[o * dim + k] - mc[k]).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .filter(|&d| d > 0.0)
            .fold(f64::INFINITY, f64::min);
        let range = if range.is_finite() { range / 2.0 } else { 1.0 };
        let size = mem.len();
        let placed = if size < 2 * dim || size <= dim + 1 {
            None
        } else {
            for (p, &i) in mem.iter().enumerate() {
                local[i] = p as u32;
            }
            let sub = subgraph(g, mem, &local);
            connected_layout(&sub, dim, seed.wrapping_add(c as u64)).ok()
        };
        match placed {
            Some((e, _, _)) => {
                let mx = e.iter().fold(0f64, |b, v| b.max(v.abs()));
                let f = if mx > 0.0 { range / mx } else { 1.0 };
                for (p, &i) in mem.iter().enumerate() {
                    for k in 0..dim {
                        out[i * dim + k] = e[p * dim + k] * f + mc[k];
                    }
                }
            }
            None => {
                for &i in mem {
                    for k in 0..dim {
                        out[i * dim + k] = rng.uniform() * 2.0 * range - range + mc[k];
                    }
                }
            }
        }
    }
    (out, InitKind::MultiComponent { components: nc })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A ring of `n` vertices, each joined to its two neighbours on both sides.
    fn ring(n: usize) -> Csr {
        let mut g = Csr {
            indptr: vec![0],
            ..Csr::default()
        };
        for i in 0..n {
            let mut r: Vec<u32> = [n - 2, n - 1, 1, 2]
                .iter()
                .map(|&o| ((i + o) % n) as u32)
                .collect();
            r.sort_unstable();
            for j in r {
                g.indices.push(j);
                g.values.push(1.0);
            }
            g.indptr.push(g.indices.len());
        }
        g
    }

    #[test]
    fn a_ring_is_laid_out_as_a_circle() {
        let n = 400;
        let (y, kind) = init_layout(&ring(n), 2, 7, |_| Vec::new());
        assert!(
            matches!(
                kind,
                InitKind::Spectral {
                    converged: true,
                    ..
                }
            ),
            "{kind:?}"
        );
        // The two lowest non-trivial eigenvectors of a ring are a cosine and a sine: every
        // point lies at the same radius.
        let r: Vec<f64> = (0..n).map(|i| y[2 * i].hypot(y[2 * i + 1])).collect();
        let mean = r.iter().sum::<f64>() / n as f64;
        assert!(r.iter().all(|&x| (x - mean).abs() < 0.02 * mean), "{r:?}");
        // Deterministic.
        let (y2, _) = init_layout(&ring(n), 2, 7, |_| Vec::new());
        assert_eq!(y, y2);
    }

    #[test]
    fn components_are_placed_apart() {
        // Two rings.
        let a = ring(200);
        let mut g = a.clone();
        let off = a.n() as u32;
        for i in 0..a.n() {
            let (idx, v) = a.row(i);
            for (&j, &w) in idx.iter().zip(v) {
                g.indices.push(j + off);
                g.values.push(w);
            }
            g.indptr.push(g.indices.len());
        }
        let (y, kind) = init_layout(&g, 2, 1, |_| Vec::new());
        assert_eq!(kind, InitKind::MultiComponent { components: 2 });
        let mean = |s: std::ops::Range<usize>| {
            let l = s.len() as f64;
            s.map(|i| y[2 * i]).sum::<f64>() / l
        };
        assert!((mean(0..200) - mean(200..400)).abs() > 1.0);
    }
}
