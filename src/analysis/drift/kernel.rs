//! `mmd` and `energy`: two statistics of the pooled pairwise distances of a sample of each side.
//!
//! MMD: the unbiased MMD^2 (Gretton et al. 2012, eq. 3) with the RBF kernel
//! `k(x, y) = exp(-gamma |x - y|^2)`, `gamma = 1 / m^2`, `m` the median euclidean distance
//! between reference and current rows (numpy's median: the mean of the two middle values for
//! an even count), Evidently's choice. Energy: the energy distance as a V-statistic,
//! `2 mean|X - Y| - mean|X - X'| - mean|Y - Y'|` over all pairs (self-pairs included, as
//! dcor's default), never negative.
//!
//! Both need, for labels `a` (1 = reference), only `a^T K a` and `a^T K 1` of the pooled
//! matrix `K` (kernel or distance): the within-side sums are `a^T K a` and
//! `1^T K 1 - 2 a^T K 1 + a^T K a`, the cross sum `a^T K 1 - a^T K a`. For a batch of relabellings `A` (one 0/1
//! column each), `diag(A^T K A)` is one matrix product per row block of the upper triangle
//! (`K` is symmetric: the block `K'` keeps the entries right of the diagonal and half the
//! diagonal, `a^T K a = 2 a^T K' a`), and `K 1` is gathered from the same blocks' row and
//! column sums. The distances come from f32 products of rows centred on the sample mean. The
//! observed statistics are summed in f64 from the same entries.

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::cancelled;
use super::perm::Labels;
use crate::analysis::AnalysisError;
use crate::analysis::linalg::{Layout, Write, matmul};

/// Rows per block of the upper triangle.
const BLOCK: usize = 256;

/// The observed statistics and their value under every relabelling of a batch.
pub(super) struct KernelPass {
    /// Raw (unfloored) MMD^2_u of the observed split, from f64 sums.
    pub mmd_observed: f64,
    pub energy_observed: f64,
    pub mmd: Vec<f64>,
    pub energy: Vec<f64>,
}

/// Squared norms (f32) of the rows of `y`.
fn sq_norms(y: &[f32], d: usize) -> Vec<f32> {
    y.chunks_exact(d)
        .map(|r| r.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>() as f32)
        .collect()
}

/// The median euclidean distance between the rows of `r` and the rows of `c` (both centred on
/// the same point), numpy's convention.
pub(super) fn median_distance(r: &[f32], c: &[f32], d: usize) -> f64 {
    let (nr, nc) = (r.len() / d, c.len() / d);
    let nr2 = sq_norms(r, d);
    let nc2 = sq_norms(c, d);
    let mut dist = vec![0f32; nr * nc];
    dist.par_chunks_mut(nc * 64)
        .enumerate()
        .for_each(|(bi, dst)| {
            let i0 = bi * 64;
            let rows = dst.len() / nc;
            matmul(
                dst,
                Layout::row_major(rows, nc),
                &r[i0 * d..(i0 + rows) * d],
                Layout::row_major(rows, d),
                c,
                Layout::row_major(nc, d).t(),
                Write::Overwrite,
            );
            for (ri, row) in dst.chunks_exact_mut(nc).enumerate() {
                for (g, &n2) in row.iter_mut().zip(&nc2) {
                    *g = (nr2[i0 + ri] + n2 - 2.0 * *g).max(0.0).sqrt();
                }
            }
        });
    let mut v: Vec<f64> = dist.into_iter().map(f64::from).collect();
    let n = v.len();
    let mid = n / 2;
    let (_, &mut hi, _) = v.select_nth_unstable_by(mid, f64::total_cmp);
    if n % 2 == 1 {
        hi
    } else {
        let lo = v[..mid].iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (lo + hi) / 2.0
    }
}

/// MMD^2_u from the four sums (within sums over distinct pairs).
pub(super) fn mmd_u(rr: f64, cc: f64, rc: f64, nr: f64, nc: f64) -> f64 {
    rr / (nr * (nr - 1.0)) + cc / (nc * (nc - 1.0)) - 2.0 * rc / (nr * nc)
}

/// Energy distance (V-statistic) from the within and cross distance sums.
pub(super) fn energy_v(rr: f64, cc: f64, rc: f64, nr: f64, nc: f64) -> f64 {
    2.0 * rc / (nr * nc) - rr / (nr * nr) - cc / (nc * nc)
}

struct BlockOut {
    /// Per slot: `a^T K' a` (kernel), `a^T E' a` (distance), for this block's rows.
    qk: Vec<f64>,
    qe: Vec<f64>,
    /// Row sums of the block (over its columns) and column sums (over its rows), offset `i0`.
    rk: Vec<f64>,
    re: Vec<f64>,
    /// Observed sums over i < j pairs: [RR, CC, RC] for kernel and distance.
    obs_k: [f64; 3],
    obs_e: [f64; 3],
}

/// One pass over the upper triangle of the sample `y` (`n_ref` reference rows first, centred)
/// for the observed split and every slot of `labels`.
pub(super) fn pass(
    y: &[f32],
    d: usize,
    n_ref: usize,
    gamma: f64,
    labels: &Labels,
    cancel: Option<&AtomicBool>,
) -> Result<KernelPass, AnalysisError> {
    let n = y.len() / d;
    let s = labels.slots;
    let norms = sq_norms(y, d);
    let mut a = vec![0f32; n * s];
    labels.dense_rows(0..n, &mut a);
    let g32 = gamma as f32;
    let blocks: Vec<usize> = (0..n.div_ceil(BLOCK)).map(|b| b * BLOCK).collect();
    let outs: Vec<Result<BlockOut, AnalysisError>> = blocks
        .par_iter()
        .copied()
        .map(|i0| {
            cancelled(cancel)?;
            let bs = BLOCK.min(n - i0);
            let wj = n - i0;
            let mut g = vec![0f32; bs * wj];
            matmul(
                &mut g,
                Layout::row_major(bs, wj),
                &y[i0 * d..(i0 + bs) * d],
                Layout::row_major(bs, d),
                &y[i0 * d..],
                Layout::row_major(wj, d).t(),
                Write::Overwrite,
            );
            // ke: bs kernel rows, then bs distance rows.
            let mut ke = vec![0f32; 2 * bs * wj];
            let mut rk = vec![0f64; wj];
            let mut re = vec![0f64; wj];
            let mut obs_k = [0f64; 3];
            let mut obs_e = [0f64; 3];
            {
                let (kpart, epart) = ke.split_at_mut(bs * wj);
                for r in 0..bs {
                    let i = i0 + r;
                    let grow = &g[r * wj..(r + 1) * wj];
                    let krow = &mut kpart[r * wj..(r + 1) * wj];
                    let erow = &mut epart[r * wj..(r + 1) * wj];
                    let ni = norms[i];
                    // Columns j = i0 + c with c > r are above the diagonal.
                    krow[r] = 0.5;
                    erow[r] = 0.0;
                    let (mut rowk, mut rowe) = (0.5f64, 0f64);
                    let (mut sk, mut se) = ([0f64; 2], [0f64; 2]);
                    for c in r + 1..wj {
                        let j = i0 + c;
                        let d2 = (ni + norms[j] - 2.0 * grow[c]).max(0.0);
                        let kv = (-g32 * d2).exp();
                        let ev = d2.sqrt();
                        krow[c] = kv;
                        erow[c] = ev;
                        let (kv, ev) = (f64::from(kv), f64::from(ev));
                        rowk += kv;
                        rowe += ev;
                        rk[c] += kv;
                        re[c] += ev;
                        let side = usize::from(j >= n_ref);
                        sk[side] += kv;
                        se[side] += ev;
                    }
                    // The row's own half diagonal plus the column's (K' + K'^T: 1 in all).
                    rk[r] += rowk + 0.5;
                    re[r] += rowe;
                    if i < n_ref {
                        // j < n_ref: RR; j >= n_ref: RC.
                        obs_k[0] += sk[0];
                        obs_k[2] += sk[1];
                        obs_e[0] += se[0];
                        obs_e[2] += se[1];
                    } else {
                        obs_k[1] += sk[1];
                        obs_e[1] += se[1];
                    }
                }
            }
            // m (2bs x s) = ke (2bs x wj) a[i0..] (wj x s)
            let mut m = vec![0f32; 2 * bs * s];
            matmul(
                &mut m,
                Layout::row_major(2 * bs, s),
                &ke,
                Layout::row_major(2 * bs, wj),
                &a[i0 * s..],
                Layout::row_major(wj, s),
                Write::Overwrite,
            );
            let mut qk = vec![0f64; s];
            let mut qe = vec![0f64; s];
            for r in 0..bs {
                let arow = &a[(i0 + r) * s..(i0 + r + 1) * s];
                let mk = &m[r * s..(r + 1) * s];
                let me = &m[(bs + r) * s..(bs + r + 1) * s];
                for t in 0..s {
                    if arow[t] != 0.0 {
                        qk[t] += f64::from(mk[t]);
                        qe[t] += f64::from(me[t]);
                    }
                }
            }
            Ok(BlockOut {
                qk,
                qe,
                rk,
                re,
                obs_k,
                obs_e,
            })
        })
        .collect();
    let mut qk = vec![0f64; s];
    let mut qe = vec![0f64; s];
    let mut rk = vec![0f64; n];
    let mut re = vec![0f64; n];
    let mut obs_k = [0f64; 3];
    let mut obs_e = [0f64; 3];
    for (o, &i0) in outs.into_iter().zip(&blocks) {
        let o = o?;
        for t in 0..s {
            qk[t] += o.qk[t];
            qe[t] += o.qe[t];
        }
        for (c, (&vk, &ve)) in o.rk.iter().zip(&o.re).enumerate() {
            rk[i0 + c] += vk;
            re[i0 + c] += ve;
        }
        for t in 0..3 {
            obs_k[t] += o.obs_k[t];
            obs_e[t] += o.obs_e[t];
        }
    }
    // a^T r for every slot.
    let mut uk = vec![0f64; s];
    let mut ue = vec![0f64; s];
    for i in 0..n {
        let arow = &a[i * s..(i + 1) * s];
        for t in 0..s {
            if arow[t] != 0.0 {
                uk[t] += rk[i];
                ue[t] += re[i];
            }
        }
    }
    let tk: f64 = rk.iter().sum();
    let te: f64 = re.iter().sum();
    let nr = n_ref as f64;
    let nc = (n - n_ref) as f64;
    let mut mmd = Vec::new();
    let mut energy = Vec::new();
    for t in 0..s {
        let (aka, aea) = (2.0 * qk[t], 2.0 * qe[t]);
        let (rr, cc, rc) = (aka - nr, tk - 2.0 * uk[t] + aka - nc, uk[t] - aka);
        mmd.push(mmd_u(rr, cc, rc, nr, nc));
        let (rr, cc, rc) = (aea, te - 2.0 * ue[t] + aea, ue[t] - aea);
        energy.push(energy_v(rr, cc, rc, nr, nc));
    }
    // Observed: the i < j sums count each unordered pair once.
    let mmd_observed = mmd_u(2.0 * obs_k[0], 2.0 * obs_k[1], obs_k[2], nr, nc);
    let energy_observed = energy_v(2.0 * obs_e[0], 2.0 * obs_e[1], obs_e[2], nr, nc);
    Ok(KernelPass {
        mmd_observed,
        energy_observed,
        mmd,
        energy,
    })
}
