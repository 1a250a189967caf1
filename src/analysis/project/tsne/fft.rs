//! Repulsive forces of 2-D t-SNE by FFT-accelerated polynomial interpolation (Linderman et al.
//! 2019, "FIt-SNE"), the method openTSNE uses: points are binned into boxes with `p`
//! interpolation nodes each; four "charges" (1, y1, y2, |y|^2) are spread to the equispaced nodes
//! with Lagrange weights; the node-to-node sums with the kernel 1/(1+d^2)^2 are convolutions done
//! by FFT; the potentials are interpolated back to the points. O(n + M^2 log M) per iteration.

use std::sync::Arc;

use rayon::prelude::*;
use rustfft::num_complex::Complex64;
use rustfft::{Fft, FftPlanner};

/// Interpolation nodes per box and the box rule (as openTSNE's defaults).
pub struct FftParams {
    pub nodes_per_box: usize,
    pub min_boxes: usize,
    /// Boxes per unit of embedding extent.
    pub boxes_per_unit: f64,
}

impl Default for FftParams {
    fn default() -> Self {
        FftParams {
            nodes_per_box: 3,
            min_boxes: 50,
            boxes_per_unit: 1.0,
        }
    }
}

/// Plans reused across iterations (sizes change slowly).
pub struct FftCache {
    planner: FftPlanner<f64>,
}

impl Default for FftCache {
    fn default() -> Self {
        FftCache {
            planner: FftPlanner::new(),
        }
    }
}

const PARTS: usize = 16;

fn plans(cache: &mut FftCache, n: usize) -> (Arc<dyn Fft<f64>>, Arc<dyn Fft<f64>>) {
    (
        cache.planner.plan_fft_forward(n),
        cache.planner.plan_fft_inverse(n),
    )
}

/// In-place 2-D FFT of an `n x n` row-major grid.
fn fft2(grid: &mut [Complex64], n: usize, plan: &Arc<dyn Fft<f64>>, tmp: &mut Vec<Complex64>) {
    grid.par_chunks_mut(n).for_each(|row| plan.process(row));
    transpose(grid, n, tmp);
    grid.par_chunks_mut(n).for_each(|row| plan.process(row));
    transpose(grid, n, tmp);
}

fn transpose(grid: &mut [Complex64], n: usize, tmp: &mut Vec<Complex64>) {
    tmp.clear();
    tmp.extend_from_slice(grid);
    grid.par_chunks_mut(n).enumerate().for_each(|(i, row)| {
        for (j, v) in row.iter_mut().enumerate() {
            *v = tmp[j * n + i];
        }
    });
}

/// Smallest size >= `m` whose only prime factors are 2, 3 and 5 (fast FFT lengths).
fn nice_size(m: usize) -> usize {
    let mut n = m.max(1);
    loop {
        let mut k = n;
        for p in [2, 3, 5] {
            while k % p == 0 {
                k /= p;
            }
        }
        if k == 1 {
            return n;
        }
        n += 1;
    }
}

/// Result of one evaluation.
pub struct Repulsion {
    /// Per point: sum_j w_ij^2 (y_i - y_j), with w = 1/(1+d^2) (divide by `z` for the force).
    pub force: Vec<f64>,
    /// sum_{i != j} w_ij.
    pub z: f64,
}

/// Evaluates the repulsive terms for a 2-D layout `y` (n x 2, row-major).
pub fn repulsion(y: &[f64], params: &FftParams, cache: &mut FftCache) -> Repulsion {
    let n = y.len() / 2;
    let p = params.nodes_per_box;
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in y {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let extent = (hi - lo).max(1e-12);
    let boxes = params
        .min_boxes
        .max((extent * params.boxes_per_unit).ceil() as usize);
    let h = extent / boxes as f64;
    let m = boxes * p; // nodes per axis
    let delta = h / p as f64; // node spacing
    let nfft = nice_size(2 * m - 1);
    // Lagrange basis on the nodes of one box, in box-local coordinates.
    let tau: Vec<f64> = (0..p).map(|l| (l as f64 + 0.5) / p as f64).collect();
    let denom: Vec<f64> = (0..p)
        .map(|l| {
            (0..p)
                .filter(|&k| k != l)
                .map(|k| tau[l] - tau[k])
                .product()
        })
        .collect();
    let weights = |t: f64, w: &mut [f64]| {
        for l in 0..p {
            let mut num = 1.0;
            for k in 0..p {
                if k != l {
                    num *= t - tau[k];
                }
            }
            w[l] = num / denom[l];
        }
    };
    // Box and weights of every point.
    let locate = |v: f64| -> (usize, f64) {
        let s = (v - lo) / h;
        let b = (s.floor() as isize).clamp(0, boxes as isize - 1) as usize;
        (b, s - b as f64)
    };
    // Spread the charges: grid A = 1 + i*y1, grid B = y2 (m x m each).
    let per = n.div_ceil(PARTS).max(1);
    let partial: Vec<Vec<Complex64>> = (0..n.div_ceil(per))
        .into_par_iter()
        .map(|c| {
            let mut g = vec![Complex64::new(0.0, 0.0); 2 * m * m];
            let mut wx = vec![0.0; p];
            let mut wy = vec![0.0; p];
            for i in c * per..((c + 1) * per).min(n) {
                let (y1, y2) = (y[2 * i], y[2 * i + 1]);
                let (bx, tx) = locate(y1);
                let (by, ty) = locate(y2);
                weights(tx, &mut wx);
                weights(ty, &mut wy);
                let ca = Complex64::new(1.0, y1);
                let cb = Complex64::new(y2, 0.0);
                for (l, &u) in wx.iter().enumerate() {
                    let gx = bx * p + l;
                    for (k, &v) in wy.iter().enumerate() {
                        let gy = by * p + k;
                        let w = u * v;
                        g[gx * m + gy] += ca * w;
                        g[m * m + gx * m + gy] += cb * w;
                    }
                }
            }
            g
        })
        .collect();
    let mut ga = vec![Complex64::new(0.0, 0.0); nfft * nfft];
    let mut gb = vec![Complex64::new(0.0, 0.0); nfft * nfft];
    for part in &partial {
        for gx in 0..m {
            for gy in 0..m {
                ga[gx * nfft + gy] += part[gx * m + gy];
                gb[gx * nfft + gy] += part[m * m + gx * m + gy];
            }
        }
    }
    // Circulant kernels at node offsets (dx, dy), wrapped: K2 = 1/(1+d^2)^2 in the real part,
    // K1 = 1/(1+d^2) in the imaginary part (both are real and even, so their transforms are
    // real and even too and can be separated after one complex FFT).
    let mut ker = vec![Complex64::new(0.0, 0.0); nfft * nfft];
    let off = |a: usize| -> Option<f64> {
        if a < m {
            Some(a as f64)
        } else if a > nfft - m {
            Some(a as f64 - nfft as f64)
        } else {
            None
        }
    };
    ker.par_chunks_mut(nfft).enumerate().for_each(|(a, row)| {
        if let Some(dx) = off(a) {
            for (b, v) in row.iter_mut().enumerate() {
                if let Some(dy) = off(b) {
                    let d2 = (dx * dx + dy * dy) * delta * delta;
                    let w = 1.0 / (1.0 + d2);
                    *v = Complex64::new(w * w, w);
                }
            }
        }
    });
    let (fwd, inv) = plans(cache, nfft);
    let mut tmp = Vec::with_capacity(nfft * nfft);
    fft2(&mut ker, nfft, &fwd, &mut tmp);
    // Separate the two kernels' transforms: F[K2](u) = (F(u) + conj F(-u)) / 2,
    // F[K1](u) = (F(u) - conj F(-u)) / (2i); both are real.
    let neg = |a: usize| if a == 0 { 0 } else { nfft - a };
    let (k2f, k1f): (Vec<f64>, Vec<f64>) = (0..nfft * nfft)
        .into_par_iter()
        .map(|idx| {
            let (a, b) = (idx / nfft, idx % nfft);
            let f = ker[idx];
            let g = ker[neg(a) * nfft + neg(b)].conj();
            ((f + g).re / 2.0, (f - g).im / 2.0)
        })
        .unzip();
    drop(ker);
    fft2(&mut ga, nfft, &fwd, &mut tmp);
    fft2(&mut gb, nfft, &fwd, &mut tmp);
    let scale = 1.0 / (nfft * nfft) as f64;
    // Charge 1 (the real part of grid A) against K1 gives sum_j w_ij directly, without the
    // cancellation of expanding it through K2.
    let mut gz = ga.clone();
    ga.par_iter_mut()
        .zip(&k2f)
        .for_each(|(a, k)| *a *= k * scale);
    gb.par_iter_mut()
        .zip(&k2f)
        .for_each(|(b, k)| *b *= k * scale);
    gz.par_iter_mut()
        .zip(&k1f)
        .for_each(|(z, k)| *z *= k * scale);
    fft2(&mut ga, nfft, &inv, &mut tmp);
    fft2(&mut gb, nfft, &inv, &mut tmp);
    fft2(&mut gz, nfft, &inv, &mut tmp);
    // Interpolate the potentials back and form the forces and the normalisation.
    let results: Vec<(f64, f64, f64)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (y1, y2) = (y[2 * i], y[2 * i + 1]);
            let (bx, tx) = locate(y1);
            let (by, ty) = locate(y2);
            let mut wx = [0.0; 8];
            let mut wy = [0.0; 8];
            weights(tx, &mut wx[..p]);
            weights(ty, &mut wy[..p]);
            let (mut pa, mut pb) = (Complex64::new(0.0, 0.0), Complex64::new(0.0, 0.0));
            let mut pz = 0.0;
            for l in 0..p {
                let gx = bx * p + l;
                for k in 0..p {
                    let gy = by * p + k;
                    let w = wx[l] * wy[k];
                    pa += ga[gx * nfft + gy] * w;
                    pb += gb[gx * nfft + gy] * w;
                    pz += gz[gx * nfft + gy].re * w;
                }
            }
            // phi1 = sum K2, phi2 = sum K2 y1, phi3 = sum K2 y2 (self terms cancel in the force).
            let (phi1, phi2, phi3) = (pa.re, pa.im, pb.re);
            let fx = y1 * phi1 - phi2;
            let fy = y2 * phi1 - phi3;
            (fx, fy, pz)
        })
        .collect();
    let mut force = Vec::with_capacity(2 * n);
    let mut z = 0.0;
    for (fx, fy, zi) in results {
        force.push(fx);
        force.push(fy);
        z += zi;
    }
    Repulsion {
        force,
        z: z - n as f64,
    }
}

/// Exact O(n^2) repulsion for any dimension (the reference the approximations are tested
/// against; also used for small inputs).
pub fn repulsion_exact(y: &[f64], dims: usize) -> Repulsion {
    let n = y.len() / dims;
    let rows: Vec<(Vec<f64>, f64)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let yi = &y[i * dims..(i + 1) * dims];
            let mut f = vec![0.0; dims];
            let mut z = 0.0;
            for j in 0..n {
                if j == i {
                    continue;
                }
                let yj = &y[j * dims..(j + 1) * dims];
                let d2: f64 = yi.iter().zip(yj).map(|(a, b)| (a - b) * (a - b)).sum();
                let w = 1.0 / (1.0 + d2);
                z += w;
                for k in 0..dims {
                    f[k] += w * w * (yi[k] - yj[k]);
                }
            }
            (f, z)
        })
        .collect();
    let mut force = Vec::with_capacity(n * dims);
    let mut z = 0.0;
    for (f, zi) in rows {
        force.extend(f);
        z += zi;
    }
    Repulsion { force, z }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fft_matches_exact() {
        let mut rng = crate::analysis::project::Rng::new(3);
        let rel = |a: &[f64], b: &[f64]| {
            let num: f64 = a.iter().zip(b).map(|(x, y)| (x - y).powi(2)).sum();
            let den: f64 = b.iter().map(|y| y * y).sum();
            (num / den).sqrt()
        };
        for scale in [0.01, 1.0, 20.0] {
            let y: Vec<f64> = (0..2 * 600).map(|_| rng.normal() * scale).collect();
            let exact = repulsion_exact(&y, 2);
            let mut cache = FftCache::default();
            // openTSNE's settings: errors of a few percent at most (sparse, wide layouts are the
            // hardest case: the forces come from few near neighbours, interpolated across a box).
            let approx = repulsion(&y, &FftParams::default(), &mut cache);
            assert!(
                (approx.z - exact.z).abs() / exact.z < 2e-2,
                "scale {scale}: z {} vs {}",
                approx.z,
                exact.z
            );
            assert!(
                rel(&approx.force, &exact.force) < 5e-2,
                "scale {scale}: force error {}",
                rel(&approx.force, &exact.force)
            );
            // Finer boxes and more nodes converge to the exact sums (checked where the grid
            // stays small).
            if scale > 1.0 {
                continue;
            }
            let fine = FftParams {
                nodes_per_box: 5,
                min_boxes: 100,
                boxes_per_unit: 4.0,
            };
            let approx = repulsion(&y, &fine, &mut cache);
            assert!(
                (approx.z - exact.z).abs() / exact.z < 1e-4,
                "fine, scale {scale}: z {} vs {}",
                approx.z,
                exact.z
            );
            assert!(
                rel(&approx.force, &exact.force) < 1e-4,
                "fine, scale {scale}: force error {}",
                rel(&approx.force, &exact.force)
            );
        }
    }
}
