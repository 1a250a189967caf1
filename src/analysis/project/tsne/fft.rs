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

/// Plans and buffers reused across iterations (sizes change slowly; reallocating tens of MB per
/// iteration costs more than the FFTs).
pub struct FftCache {
    planner: FftPlanner<f64>,
    ga: Vec<Complex64>,
    gb: Vec<Complex64>,
    ker: Vec<Complex64>,
    tmp: Vec<Complex64>,
    k1: Vec<f64>,
    k2: Vec<f64>,
    order: Vec<u32>,
    starts: Vec<usize>,
    /// (FFT length, nodes per axis, node spacing bits) of the kernel spectra in `k1`/`k2`.
    kernel_key: Option<(usize, usize, u64)>,
}

impl Default for FftCache {
    fn default() -> Self {
        FftCache {
            planner: FftPlanner::new(),
            ga: Vec::new(),
            gb: Vec::new(),
            ker: Vec::new(),
            tmp: Vec::new(),
            k1: Vec::new(),
            k2: Vec::new(),
            order: Vec::new(),
            starts: Vec::new(),
            kernel_key: None,
        }
    }
}

/// Forward 2-D FFT of an `n x n` grid whose rows `rows..n` are ignored (taken as zero); the
/// result is left TRANSPOSED (spectrum[v][u]): the kernels are symmetric in x and y, so
/// products can be taken in that layout and the inverse undoes it.
fn fft2_forward_t(
    grid: &mut Vec<Complex64>,
    n: usize,
    rows: usize,
    plan: &Arc<dyn Fft<f64>>,
    tmp: &mut Vec<Complex64>,
) {
    grid[..rows * n]
        .par_chunks_mut(n)
        .for_each(|row| plan.process(row));
    transpose(grid, n, rows, n, tmp);
    grid.par_chunks_mut(n).for_each(|row| plan.process(row));
}

/// Inverse of `fft2_forward_t` (input transposed, output in normal layout); only rows
/// `0..rows` of the output are computed (the others are left undefined).
fn fft2_inverse_t(
    grid: &mut Vec<Complex64>,
    n: usize,
    rows: usize,
    plan: &Arc<dyn Fft<f64>>,
    tmp: &mut Vec<Complex64>,
) {
    grid.par_chunks_mut(n).for_each(|row| plan.process(row));
    transpose(grid, n, n, rows, tmp);
    grid[..rows * n]
        .par_chunks_mut(n)
        .for_each(|row| plan.process(row));
}

/// Rows of the output a transpose task writes: each reads a 16-value stretch of every input
/// row (four cache lines) and writes sixteen output rows front to back.
const TILE: usize = 16;

/// Transposes the `n x n` grid through `tmp` (the buffers are swapped, nothing is copied
/// back): input rows `src_rows..n` count as zero, and only output rows `0..out_rows` are
/// written.
fn transpose(
    grid: &mut Vec<Complex64>,
    n: usize,
    src_rows: usize,
    out_rows: usize,
    tmp: &mut Vec<Complex64>,
) {
    tmp.resize(n * n, Complex64::new(0.0, 0.0));
    {
        let src = &grid[..];
        tmp[..out_rows * n]
            .par_chunks_mut(TILE * n)
            .enumerate()
            .for_each(|(t, out)| {
                let i0 = t * TILE;
                let rows = out.len() / n;
                for j in 0..src_rows {
                    let col = &src[j * n + i0..j * n + i0 + rows];
                    for (r, &v) in col.iter().enumerate() {
                        out[r * n + j] = v;
                    }
                }
                for r in 0..rows {
                    out[r * n + src_rows..(r + 1) * n].fill(Complex64::new(0.0, 0.0));
                }
            });
    }
    std::mem::swap(grid, tmp);
}

/// `v` sized `n x n` with its first `rows` rows zeroed (the rest is left as it was).
fn reset_rows(v: &mut Vec<Complex64>, n: usize, rows: usize) {
    v.resize(n * n, Complex64::new(0.0, 0.0));
    v[..rows * n].fill(Complex64::new(0.0, 0.0));
}

/// Smallest size >= `m` whose only prime factors are 2, 3 and 5 (fast FFT lengths).
fn nice_size(m: usize) -> usize {
    let mut n = m.max(1);
    loop {
        let mut k = n;
        for p in [2, 3, 5] {
            while k.is_multiple_of(p) {
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

/// Most boxes per axis (as openTSNE).
const MAX_BOXES: usize = 1000;

/// The interpolation grid for a layout `extent` wide: (boxes per axis, box size, FFT length).
///
/// The box size follows openTSNE's rule or is slightly finer: 1 / `boxes_per_unit` once the
/// layout is `min_boxes` units wide, before that extent / `min_boxes` rounded down to a power
/// of 2^(1/8) (at most 9% finer). The box count is then rounded up to fill the FFT length the
/// points need. The kernel's transform depends only on the node spacing, the node count and
/// the FFT length, so it stays the same from one iteration to the next while the layout grows
/// within one FFT length and box size, and is reused (late in a run, most iterations).
/// Beyond `MAX_BOXES` boxes the box size is stretched instead (as openTSNE).
fn grid(extent: f64, params: &FftParams, p: usize) -> (usize, f64, usize) {
    let unit = 1.0 / params.boxes_per_unit;
    let h0 = extent / params.min_boxes.max(1) as f64;
    let h = if h0 >= unit {
        unit
    } else {
        2f64.powf((8.0 * h0.log2()).floor() / 8.0)
    };
    let need = ((extent / h).ceil() as usize).max(1);
    if need > MAX_BOXES {
        return (
            MAX_BOXES,
            extent / MAX_BOXES as f64,
            nice_size(2 * MAX_BOXES * p - 1),
        );
    }
    let nfft = nice_size(2 * need * p - 1);
    let boxes = (nfft.div_ceil(2) / p).clamp(need, MAX_BOXES);
    (boxes, h, nfft)
}

/// Evaluates the repulsive terms for a 2-D layout `y` (n x 2, row-major).
pub fn repulsion(y: &[f64], params: &FftParams, cache: &mut FftCache) -> Repulsion {
    let n = y.len() / 2;
    let p = params.nodes_per_box.clamp(1, 8);
    let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
    for &v in y {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    let extent = (hi - lo).max(1e-12);
    let (boxes, h, nfft) = grid(extent, params, p);
    let m = boxes * p; // nodes per axis
    let delta = h / p as f64; // node spacing

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
        for (l, (wl, dl)) in w.iter_mut().zip(&denom).enumerate() {
            let num: f64 = tau
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != l)
                .map(|(_, tk)| t - tk)
                .product();
            *wl = num / dl;
        }
    };
    let locate = |v: f64| -> (usize, f64) {
        let s = (v - lo) / h;
        let b = (s.floor() as isize).clamp(0, boxes as isize - 1) as usize;
        (b, s - b as f64)
    };
    let FftCache {
        planner,
        ga,
        gb,
        ker,
        tmp,
        k1,
        k2,
        order,
        starts,
        kernel_key,
    } = cache;
    // Points grouped by their x box (counting sort, stable): each group writes only its own p
    // grid rows, so spreading runs in parallel without locks and in a fixed order.
    starts.clear();
    starts.resize(boxes + 1, 0);
    let bxs: Vec<u32> = (0..n).map(|i| locate(y[2 * i]).0 as u32).collect();
    for &b in &bxs {
        starts[b as usize + 1] += 1;
    }
    for b in 0..boxes {
        starts[b + 1] += starts[b];
    }
    order.clear();
    order.resize(n, 0);
    let mut fill = starts[..boxes].to_vec();
    for (i, &b) in bxs.iter().enumerate() {
        order[fill[b as usize]] = i as u32;
        fill[b as usize] += 1;
    }
    // Charges: grid A = 1 + i*y1 and grid B = y2, on the m x m nodes (top-left of nfft x nfft).
    reset_rows(ga, nfft, m);
    reset_rows(gb, nfft, m);
    {
        let (order, starts) = (&*order, &*starts);
        ga.par_chunks_mut(p * nfft)
            .zip(gb.par_chunks_mut(p * nfft))
            .take(boxes)
            .enumerate()
            .for_each(|(bx, (ra, rb))| {
                let mut wx = [0.0; 8];
                let mut wy = [0.0; 8];
                for &i in &order[starts[bx]..starts[bx + 1]] {
                    let i = i as usize;
                    let (y1, y2) = (y[2 * i], y[2 * i + 1]);
                    let (_, tx) = locate(y1);
                    let (by, ty) = locate(y2);
                    weights(tx, &mut wx[..p]);
                    weights(ty, &mut wy[..p]);
                    let ca = Complex64::new(1.0, y1);
                    for (l, &u) in wx[..p].iter().enumerate() {
                        for (k, &v) in wy[..p].iter().enumerate() {
                            let w = u * v;
                            let at = l * nfft + by * p + k;
                            ra[at] += ca * w;
                            rb[at].re += y2 * w;
                        }
                    }
                }
            });
    }
    // Circulant kernels at node offsets (dx, dy), wrapped: K2 = 1/(1+d^2)^2 in the real part,
    // K1 = 1/(1+d^2) in the imaginary part (both are real and even, so their transforms are
    // real and even too and can be separated after one complex FFT).
    let fwd = planner.plan_fft_forward(nfft);
    let inv = planner.plan_fft_inverse(nfft);
    let neg = |a: usize| if a == 0 { 0 } else { nfft - a };
    let key = (nfft, m, delta.to_bits());
    if *kernel_key != Some(key) {
        reset_rows(ker, nfft, nfft);
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
        fft2_forward_t(ker, nfft, nfft, &fwd, tmp);
        // Separate the two kernels' transforms: F[K2](u) = (F(u) + conj F(-u)) / 2,
        // F[K1](u) = (F(u) - conj F(-u)) / (2i); both are real.
        k1.clear();
        k2.clear();
        k1.resize(nfft * nfft, 0.0);
        k2.resize(nfft * nfft, 0.0);
        {
            let ker = &*ker;
            k2.par_chunks_mut(nfft)
                .zip(k1.par_chunks_mut(nfft))
                .enumerate()
                .for_each(|(a, (r2, r1))| {
                    for b in 0..nfft {
                        let f = ker[a * nfft + b];
                        let g = ker[neg(a) * nfft + neg(b)].conj();
                        r2[b] = (f + g).re / 2.0;
                        r1[b] = (f - g).im / 2.0;
                    }
                });
        }
        *kernel_key = Some(key);
    }
    fft2_forward_t(ga, nfft, m, &fwd, tmp);
    fft2_forward_t(gb, nfft, m, &fwd, tmp);
    let scale = 1.0 / (nfft * nfft) as f64;
    // In the (transposed) frequency domain:
    //   A' = F(A) K2            -> 1*K2 + i y1*K2
    //   B' = F(y2) K2 + i F(1) K1 -> y2*K2 + i 1*K1   (F(1) recovered from F(A), as A = 1 + i y1)
    // All four convolutions of real grids with real, even kernels come back real.
    {
        let fa = &*ga;
        gb.par_chunks_mut(nfft).enumerate().for_each(|(v, row)| {
            for (u, b) in row.iter_mut().enumerate() {
                let idx = v * nfft + u;
                let f1 = (fa[idx] + fa[neg(v) * nfft + neg(u)].conj()) * 0.5;
                *b = (*b * k2[idx] + Complex64::new(0.0, 1.0) * f1 * k1[idx]) * scale;
            }
        });
    }
    ga.par_iter_mut()
        .zip(&*k2)
        .for_each(|(a, k)| *a *= k * scale);
    fft2_inverse_t(ga, nfft, m, &inv, tmp);
    fft2_inverse_t(gb, nfft, m, &inv, tmp);
    let (ga, gb) = (&*ga, &*gb);
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
            for (l, &u) in wx[..p].iter().enumerate() {
                let row = (bx * p + l) * nfft + by * p;
                for (k, &v) in wy[..p].iter().enumerate() {
                    let w = u * v;
                    pa += ga[row + k] * w;
                    pb += gb[row + k] * w;
                }
            }
            // phi1 = sum K2, phi2 = sum K2 y1, phi3 = sum K2 y2 (self terms cancel in the force).
            let (phi1, phi2, phi3, pz) = (pa.re, pa.im, pb.re, pb.im);
            (y1 * phi1 - phi2, y2 * phi1 - phi3, pz)
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
