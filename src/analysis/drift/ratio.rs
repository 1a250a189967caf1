//! `ratio`: the share of dimensions that drifted, each judged by its Wasserstein-1 distance
//! divided by the reference side's population standard deviation (floored at 0.001), as
//! Evidently's `ratio` method with its `wasserstein` component test.
//!
//! Per dimension the pooled values are sorted once (LSD radix sort on the f32 bits). The
//! observed distance is a f64 sweep over that order: `W1 = sum_k |F_R(v_k) - F_C(v_k)| (v_{k+1}
//! - v_k)`. Under a batch of relabellings the same sweep runs for every relabelling at once:
//! each step reads the row's label bits and updates, per relabelling, the reference count,
//! the reference sums of the value and its square (for the standard deviation) and the
//! distance. Lanes are f32 (counts exact below 2^24 rows), flushed into f64 every
//! [`CHUNK`] steps. The sweep is compiled for AVX-512 and AVX2 and chosen at run time.

use std::sync::atomic::AtomicBool;

use rayon::prelude::*;

use super::cancelled;
use super::centroid::LabelSums;
use super::perm::Labels;
use crate::analysis::AnalysisError;

/// The reference standard deviation is floored at this before dividing (Evidently's).
pub(super) const STD_FLOOR: f64 = 0.001;
/// Steps between flushes of the f32 lanes into f64.
const CHUNK: usize = 1024;
/// Dimensions gathered together (one pass over the rows reads 16 contiguous values).
const GROUP: usize = 16;

/// The per-dimension results of one pass.
pub(super) struct RatioPass {
    /// Normalised distance of each dimension under the observed split (f64 sweep).
    pub observed: Vec<f64>,
    /// Per relabelling of the batch: drifted dimensions and the sum of normalised distances.
    pub counts: Vec<u32>,
    pub sums: Vec<f64>,
}

/// Order-preserving u32 of a finite f32.
#[inline]
fn ord_key(v: f32) -> u32 {
    let b = v.to_bits();
    if b >> 31 == 1 { !b } else { b | 0x8000_0000 }
}

/// Sorts `keys` (sort key in the upper 32 bits) by their upper 32 bits, stably.
pub(super) fn radix_sort(keys: &mut Vec<u64>, tmp: &mut Vec<u64>) {
    tmp.resize(keys.len(), 0);
    for shift in [32u32, 43, 54] {
        let mut count = vec![0usize; 2048];
        for &k in keys.iter() {
            count[((k >> shift) & 0x7ff) as usize] += 1;
        }
        if count.contains(&keys.len()) {
            continue;
        }
        let mut off = 0;
        for c in count.iter_mut() {
            let n = *c;
            *c = off;
            off += n;
        }
        for &k in keys.iter() {
            let b = ((k >> shift) & 0x7ff) as usize;
            tmp[count[b]] = k;
            count[b] += 1;
        }
        std::mem::swap(keys, tmp);
    }
}

/// The Wasserstein-1 distance of 64 relabellings after one sweep.
pub(super) struct Sums64 {
    pub w1: [f64; 64],
}

impl Sums64 {
    fn new() -> Sums64 {
        Sums64 { w1: [0.0; 64] }
    }
}

/// Byte -> its 8 bits as 0.0/1.0 (bit 0 first).
static BIT_LUT: [[f32; 8]; 256] = {
    let mut t = [[0f32; 8]; 256];
    let mut b = 0;
    while b < 256 {
        let mut l = 0;
        while l < 8 {
            t[b][l] = ((b >> l) & 1) as f32;
            l += 1;
        }
        b += 1;
    }
    t
};

/// The sweep for the 64 relabellings whose labels are `col` (indexed by row), over the rows
/// in sorted order `order` with sorted (centred) values `v`. `alpha = 1/n_ref + 1/n_cur`:
/// after k + 1 values, `F_R - F_C = count * alpha - (k + 1) / n_cur`.
#[inline(always)]
fn sweep64_generic(col: &[u64], order: &[u32], v: &[f32], alpha: f32, inv_nc: f32) -> Sums64 {
    let n = v.len();
    let mut out = Sums64::new();
    let mut cnt = [0f32; 64];
    let mut bits = [0f32; 64];
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + CHUNK).min(n);
        let mut w1 = [0f32; 64];
        for k in k0..k1 {
            let word = col[order[k] as usize];
            let x = v[k];
            let gap = if k + 1 < n { v[k + 1] - x } else { 0.0 };
            let ck = (k + 1) as f32 * inv_nc;
            for (byte, dst) in bits.chunks_exact_mut(8).enumerate() {
                dst.copy_from_slice(&BIT_LUT[((word >> (8 * byte)) & 0xff) as usize]);
            }
            for l in 0..64 {
                let b = bits[l];
                let c = cnt[l] + b;
                cnt[l] = c;
                w1[l] += (c * alpha - ck).abs() * gap;
            }
        }
        for (o, &v) in out.w1.iter_mut().zip(&w1) {
            *o += f64::from(v);
        }
        k0 = k1;
    }
    out
}

/// The same sweep with AVX-512: each 16 relabellings' labels are a mask register, the
/// accumulators stay in 16 vector registers for a whole chunk.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn sweep64_avx512(col: &[u64], order: &[u32], v: &[f32], alpha: f32, inv_nc: f32) -> Sums64 {
    use std::arch::x86_64::*;
    let n = v.len();
    let mut out = Sums64::new();
    let one = _mm512_set1_ps(1.0);
    let al = _mm512_set1_ps(alpha);
    let mut cnt = [_mm512_setzero_ps(); 4];
    let mut k0 = 0;
    while k0 < n {
        let k1 = (k0 + CHUNK).min(n);
        let mut w1 = [_mm512_setzero_ps(); 4];
        for k in k0..k1 {
            let word = col[order[k] as usize];
            let x = v[k];
            let gap = if k + 1 < n { v[k + 1] - x } else { 0.0 };
            let gb = _mm512_set1_ps(gap);
            let ckb = _mm512_set1_ps((k + 1) as f32 * inv_nc);
            for q in 0..4 {
                let m = (word >> (16 * q)) as u16;
                cnt[q] = _mm512_mask_add_ps(cnt[q], m, cnt[q], one);
                let t = _mm512_abs_ps(_mm512_fmsub_ps(cnt[q], al, ckb));
                w1[q] = _mm512_fmadd_ps(t, gb, w1[q]);
            }
        }
        let mut buf = [0f32; 16];
        for (reg, acc) in w1.iter().zip(out.w1.chunks_exact_mut(16)) {
            // SAFETY: `buf` holds 16 f32, what one unaligned store writes.
            unsafe { _mm512_storeu_ps(buf.as_mut_ptr(), *reg) };
            for (a, &b) in acc.iter_mut().zip(&buf) {
                *a += f64::from(b);
            }
        }
        k0 = k1;
    }
    out
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn sweep64_v3(col: &[u64], order: &[u32], v: &[f32], alpha: f32, inv_nc: f32) -> Sums64 {
    sweep64_generic(col, order, v, alpha, inv_nc)
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(super) enum Level {
    V4,
    V3,
    Base,
}

pub(super) fn level() -> Level {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            return Level::V4;
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            return Level::V3;
        }
    }
    Level::Base
}

pub(super) fn sweep64(
    level: Level,
    col: &[u64],
    order: &[u32],
    v: &[f32],
    alpha: f32,
    inv_nc: f32,
) -> Sums64 {
    match level {
        // SAFETY: the CPU has the features these functions are compiled for (`level`).
        #[cfg(target_arch = "x86_64")]
        Level::V4 => unsafe { sweep64_avx512(col, order, v, alpha, inv_nc) },
        #[cfg(target_arch = "x86_64")]
        Level::V3 => unsafe { sweep64_v3(col, order, v, alpha, inv_nc) },
        _ => sweep64_generic(col, order, v, alpha, inv_nc),
    }
}

/// Wasserstein-1 distance between the two sides of one sorted column (f64; `raw` in sorted
/// order, `is_ref(k)` whether the k-th sorted value is a reference row).
fn w1_observed(raw: &[f64], is_ref: impl Fn(usize) -> bool, n_ref: usize) -> f64 {
    let n = raw.len();
    let n_cur = n - n_ref;
    let mut c = 0usize;
    let mut w = 0f64;
    for k in 0..n.saturating_sub(1) {
        if is_ref(k) {
            c += 1;
        }
        let f = c as f64 / n_ref as f64 - (k + 1 - c) as f64 / n_cur as f64;
        w += f.abs() * (raw[k + 1] - raw[k]);
    }
    w
}

/// Population standard deviation (two-pass, f64).
fn std_pop(v: impl Iterator<Item = f64> + Clone) -> f64 {
    let (mut n, mut s) = (0usize, 0f64);
    for x in v.clone() {
        n += 1;
        s += x;
    }
    let m = s / n.max(1) as f64;
    let ss: f64 = v.map(|x| (x - m) * (x - m)).sum();
    (ss / n.max(1) as f64).sqrt()
}

/// One pass over every dimension: the observed normalised distances and, for every slot of
/// `labels`, the drifted-dimension count and the sum of normalised distances.
pub(super) fn pass(
    x: &[f32],
    d: usize,
    n_ref: usize,
    labels: &Labels,
    label_sums: &LabelSums,
    component: f64,
    cancel: Option<&AtomicBool>,
) -> Result<RatioPass, AnalysisError> {
    let Some(s2) = &label_sums.s2 else {
        return Err(AnalysisError::InvalidParameter(
            "the ratio test needs the relabelled sums of squares".into(),
        ));
    };
    let s1 = &label_sums.s1;
    let n = x.len() / d;
    let n_cur = n - n_ref;
    let slots = labels.slots;
    let alpha = (1.0 / n_ref as f64 + 1.0 / n_cur as f64) as f32;
    let inv_nc = (1.0 / n_cur as f64) as f32;
    let lv = level();
    let groups: Vec<(usize, usize)> = (0..d.div_ceil(GROUP))
        .map(|g| (g * GROUP, ((g + 1) * GROUP).min(d)))
        .collect();
    type GroupOut = (Vec<f64>, Vec<u32>, Vec<f64>);
    let outs: Vec<Result<GroupOut, AnalysisError>> = groups
        .into_par_iter()
        .map(|(j0, j1)| {
            let w = j1 - j0;
            let mut cols = vec![0f32; w * n];
            for (i, r) in x.chunks_exact(d).enumerate() {
                for (t, &v) in r[j0..j1].iter().enumerate() {
                    cols[t * n + i] = v;
                }
            }
            let mut observed = Vec::with_capacity(w);
            let mut counts = vec![0u32; slots];
            let mut sums = vec![0f64; slots];
            let mut keys = Vec::with_capacity(n);
            let mut tmp = Vec::with_capacity(n);
            let mut order = vec![0u32; n];
            let mut sorted = vec![0f32; n];
            let mut raw = vec![0f64; n];
            for (t, col) in cols.chunks_exact(n).enumerate() {
                let j = j0 + t;
                cancelled(cancel)?;
                keys.clear();
                keys.extend(
                    col.iter()
                        .enumerate()
                        .map(|(i, &v)| (u64::from(ord_key(v)) << 32) | i as u64),
                );
                radix_sort(&mut keys, &mut tmp);
                let mean = col.iter().map(|&v| f64::from(v)).sum::<f64>() / n as f64;
                let m32 = mean as f32;
                for (k, &key) in keys.iter().enumerate() {
                    let i = (key & 0xffff_ffff) as usize;
                    order[k] = i as u32;
                    raw[k] = f64::from(col[i]);
                    sorted[k] = col[i] - m32;
                }
                // Observed, in f64.
                let w1 = w1_observed(&raw, |k| (order[k] as usize) < n_ref, n_ref);
                let sd = std_pop(col[..n_ref].iter().map(|&v| f64::from(v)));
                observed.push(w1 / sd.max(STD_FLOOR));
                // Every relabelling of the batch, 64 at a time.
                for w in 0..labels.words {
                    let sums64 = sweep64(lv, labels.col(w), &order, &sorted, alpha, inv_nc);
                    for l in 0..64.min(slots - 64 * w) {
                        let s = 64 * w + l;
                        let m = s1[s * d + j] / n_ref as f64;
                        let var = (s2[s * d + j] / n_ref as f64 - m * m).max(0.0);
                        let norm = sums64.w1[l] / var.sqrt().max(STD_FLOOR);
                        if norm >= component {
                            counts[s] += 1;
                        }
                        sums[s] += norm;
                    }
                }
            }
            Ok((observed, counts, sums))
        })
        .collect();
    let mut observed = Vec::with_capacity(d);
    let mut counts = vec![0u32; slots];
    let mut sums = vec![0f64; slots];
    for o in outs {
        let (ob, c, s) = o?;
        observed.extend(ob);
        for (a, b) in counts.iter_mut().zip(c) {
            *a += b;
        }
        for (a, b) in sums.iter_mut().zip(s) {
            *a += b;
        }
    }
    Ok(RatioPass {
        observed,
        counts,
        sums,
    })
}
