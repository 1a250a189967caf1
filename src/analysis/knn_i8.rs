//! Exact top-k through an int8 screen (AVX-512 VNNI) and an exact re-rank.
//!
//! Rows and queries are quantised to int8 with one scale each. For every (query, row) the
//! integer dot product gives an approximate score `a` and a rigorous error bound `E` (from the
//! rounding of each element), so the exact score lies in `[a - E, a + E]`. Let `tau` be the
//! k-th largest lower bound: at least k rows score `>= tau`, so a row whose upper bound is below
//! `tau` cannot be in the top k. The survivors (typically tens per query) are scored exactly in
//! f64 and ranked. The result is the exact top-k, the same as the f32 engine up to float
//! rounding of the scores; `tests/knn_oracle.rs` checks both against a brute force.
//!
//! `vpdpbusd` multiplies unsigned by signed bytes: queries are stored as `q + 128` (u8) and the
//! `128 * rowsum` term is subtracted again.

use rayon::prelude::*;

use super::knn::{KnnIndex, Metric, partition};
use super::topk::TopK;

/// Queries per micro-kernel call and rows per panel (one zmm of i32 lanes).
const R: usize = 12;
const PANEL: usize = 16;
/// Database rows per cache block (codes of 512 rows x 300 dims = 150 KB).
const BLOCK_ROWS: usize = 512;

/// Whether this CPU can run the int8 engine.
pub fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512vnni")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// The database quantised for one metric family (unit rows for cosine, raw rows otherwise).
pub(crate) struct QuantDb {
    /// Rows padded to a multiple of PANEL; per panel: `kq` groups of PANEL x 4 bytes.
    codes: Vec<i8>,
    /// `dim` rounded up to a multiple of 4.
    dimp: usize,
    rows: usize,
    scale: Vec<f32>,
    /// sum_i |scale * code_i|
    l1: Vec<f32>,
    /// 128 * sum_i code_i
    bias: Vec<i32>,
}

fn quantise(v: &[f32], dimp: usize, out: &mut [i8]) -> (f32, f32) {
    let maxabs = v.iter().fold(0f32, |m, &x| m.max(x.abs()));
    if maxabs == 0.0 || !maxabs.is_finite() {
        out[..dimp].fill(0);
        return (0.0, 0.0);
    }
    let s = maxabs / 127.0;
    let inv = 1.0 / s;
    // Round half to even by the 1.5 * 2^23 trick (|x * inv| <= 127), which vectorises.
    const MAGIC: f32 = 12_582_912.0;
    let mut l1 = 0f32;
    for (o, &x) in out.iter_mut().zip(v) {
        let c = ((x * inv + MAGIC) - MAGIC).clamp(-127.0, 127.0);
        *o = c as i8;
        l1 += c.abs();
    }
    out[v.len()..dimp].fill(0);
    (s, l1 * s)
}

impl QuantDb {
    pub(crate) fn build(index: &KnnIndex, unit: bool) -> QuantDb {
        let m = &index.set.matrix;
        let (rows, dim) = (m.rows(), m.dim());
        let dimp = dim.div_ceil(4) * 4;
        // An even number of panels: the kernel always reads panel pairs.
        let panels = rows.div_ceil(2 * PANEL) * 2;
        let mut codes = vec![0i8; panels * PANEL * dimp];
        let mut scale = vec![0f32; panels * PANEL];
        let mut l1 = vec![0f32; panels * PANEL];
        let mut bias = vec![0i32; panels * PANEL];
        codes
            .par_chunks_mut(PANEL * dimp)
            .zip(scale.par_chunks_mut(PANEL))
            .zip(l1.par_chunks_mut(PANEL))
            .zip(bias.par_chunks_mut(PANEL))
            .enumerate()
            .for_each(|(p, (((panel, sc), l), b))| {
                let mut row_codes = vec![0i8; dimp];
                let mut tmp = vec![0f32; dim];
                for r in 0..PANEL {
                    let j = p * PANEL + r;
                    if j >= rows || index.invalid[j] {
                        continue;
                    }
                    let src = m.row(j);
                    let v: &[f32] = if unit {
                        let s = index.inv_norms[j];
                        for (t, &x) in tmp.iter_mut().zip(src) {
                            *t = x * s;
                        }
                        &tmp
                    } else {
                        src
                    };
                    let (s, norm1) = quantise(v, dimp, &mut row_codes);
                    sc[r] = s;
                    l[r] = norm1;
                    b[r] = 128 * row_codes.iter().map(|&c| i32::from(c)).sum::<i32>();
                    // Panel layout: group kq holds 4 consecutive codes of each of the 16 rows.
                    for kq in 0..dimp / 4 {
                        let dst = &mut panel[kq * PANEL * 4 + r * 4..kq * PANEL * 4 + r * 4 + 4];
                        dst.copy_from_slice(&row_codes[kq * 4..kq * 4 + 4]);
                    }
                }
            });
        QuantDb {
            codes,
            dimp,
            rows,
            scale,
            l1,
            bias,
        }
    }
}

/// A quantised query: u8 codes (code + 128), its scale and the L1 size of its codes.
struct QuantQuery {
    codes: Vec<u8>,
    scale: f32,
    l1: f32,
}

fn quantise_query(v: &[f32], dimp: usize) -> QuantQuery {
    let mut c = vec![0i8; dimp];
    let (scale, l1) = quantise(v, dimp, &mut c);
    QuantQuery {
        codes: c.iter().map(|&x| (i16::from(x) + 128) as u8).collect(),
        scale,
        l1,
    }
}

/// Per-query screening state in one shard: top-k lower bounds and candidate rows.
struct Screen {
    lower: TopK,
    cands: Vec<(u32, f32)>,
}

impl Screen {
    fn tau(&self) -> f32 {
        self.lower.threshold()
    }
}

/// Per-query numbers the kernel's epilogue needs.
#[derive(Clone, Copy)]
struct QParams {
    scale: f32,
    l1: f32,
    /// Current k-th best lower bound (stale is safe: it only grows).
    tau: f32,
}

/// Bounds of one panel pair for up to R queries: approximate scores `a`, error bounds `e`, and
/// the lanes whose upper bound `a + e` reaches the query's tau.
struct Epilogue {
    a: [[f32; 2 * PANEL]; R],
    e: [[f32; 2 * PANEL]; R],
    mask: [u32; R],
}

/// Runs the int8 micro-kernel for R queries against panels `p0` and `p0 + 1`, then computes the
/// score bounds of all 32 rows at once (AVX-512) so the caller only visits promising rows.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw,avx512vnni")]
unsafe fn kernel(
    db: &QuantDb,
    p0: usize,
    q: &[&[u8]; R],
    qp: &[QParams; R],
    euclid_sq: Option<&[f32]>,
    dim: f32,
    out: &mut Epilogue,
) {
    use std::arch::x86_64::*;
    // SAFETY: the caller guarantees the CPU features; panels p0 and p0 + 1 lie inside `codes`
    // (PANEL * dimp bytes each) and inside the per-row arrays (padded to whole panels; the
    // euclid norms slice is padded by the caller), every query slice holds dimp bytes: every
    // load and store below is in bounds.
    unsafe {
        let dimp = db.dimp;
        let base0 = db.codes.as_ptr().add(p0 * PANEL * dimp);
        let base1 = base0.add(PANEL * dimp);
        let mut acc0 = [_mm512_setzero_si512(); R];
        let mut acc1 = [_mm512_setzero_si512(); R];
        for kq in 0..dimp / 4 {
            let b0 = _mm512_loadu_si512(base0.add(kq * PANEL * 4) as *const _);
            let b1 = _mm512_loadu_si512(base1.add(kq * PANEL * 4) as *const _);
            for r in 0..R {
                let qv = _mm512_set1_epi32(std::ptr::read_unaligned(
                    q[r].as_ptr().add(kq * 4) as *const i32
                ));
                acc0[r] = _mm512_dpbusd_epi32(acc0[r], qv, b0);
                acc1[r] = _mm512_dpbusd_epi32(acc1[r], qv, b1);
            }
        }
        let j0 = p0 * PANEL;
        let half = _mm512_set1_ps(0.5);
        let quarter_dim = _mm512_set1_ps(0.25 * dim);
        let rel = _mm512_set1_ps(1e-5);
        let abs = _mm512_set1_ps(1e-6);
        let two = _mm512_set1_ps(2.0);
        for (h, accs) in [(0usize, &acc0), (1, &acc1)] {
            let off = j0 + h * PANEL;
            let sx = _mm512_loadu_ps(db.scale.as_ptr().add(off));
            let lx = _mm512_loadu_ps(db.l1.as_ptr().add(off));
            let bias = _mm512_loadu_si512(db.bias.as_ptr().add(off) as *const _);
            let sqn = euclid_sq.map(|s| _mm512_loadu_ps(s.as_ptr().add(off)));
            for r in 0..R {
                let sq = _mm512_set1_ps(qp[r].scale);
                let lq = _mm512_set1_ps(qp[r].l1);
                let t = _mm512_cvtepi32_ps(_mm512_sub_epi32(accs[r], bias));
                let sxsq = _mm512_mul_ps(sx, sq);
                let mut a = _mm512_mul_ps(t, sxsq);
                let mut e = _mm512_fmadd_ps(
                    half,
                    _mm512_fmadd_ps(sx, lq, _mm512_mul_ps(sq, lx)),
                    _mm512_mul_ps(quarter_dim, sxsq),
                );
                // Size of the terms the score is computed from: float rounding is relative to
                // it (for euclidean, 2 q.x and |x|^2 nearly cancel).
                let mut mag = _mm512_add_ps(_mm512_abs_ps(a), e);
                if let Some(n2) = sqn {
                    a = _mm512_fmsub_ps(two, a, n2);
                    e = _mm512_mul_ps(two, e);
                    mag = _mm512_fmadd_ps(two, mag, n2);
                }
                e = _mm512_add_ps(e, _mm512_fmadd_ps(rel, mag, abs));
                let upper = _mm512_add_ps(a, e);
                let m = _mm512_cmp_ps_mask::<_CMP_GE_OQ>(upper, _mm512_set1_ps(qp[r].tau));
                _mm512_storeu_ps(out.a[r].as_mut_ptr().add(h * PANEL), a);
                _mm512_storeu_ps(out.e[r].as_mut_ptr().add(h * PANEL), e);
                if h == 0 {
                    out.mask[r] = u32::from(m);
                } else {
                    out.mask[r] |= u32::from(m) << PANEL;
                }
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
unsafe fn kernel(
    _: &QuantDb,
    _: usize,
    _: &[&[u8]; R],
    _: &[QParams; R],
    _: Option<&[f32]>,
    _: f32,
    out: &mut Epilogue,
) {
    out.mask = [0; R];
}

impl KnnIndex<'_> {
    /// Row `j`'s exact score for query `q` (f64 sums): cosine, dot, or minus the squared
    /// distance, computed directly (no cancellation).
    fn exact(&self, j: usize, q: &[f32], metric: Metric) -> f64 {
        let row = self.set.matrix.row(j).iter().zip(q);
        match metric {
            Metric::Cosine => {
                row.map(|(&x, &y)| f64::from(x) * f64::from(y)).sum::<f64>()
                    * f64::from(self.inv_norms[j])
            }
            Metric::Dot => row.map(|(&x, &y)| f64::from(x) * f64::from(y)).sum(),
            Metric::Euclidean => -row
                .map(|(&x, &y)| (f64::from(x) - f64::from(y)).powi(2))
                .sum::<f64>(),
        }
    }

    /// Exact top-k through the int8 screen. Caller checks [`available`]. `queries` are already
    /// prepared (unit for cosine). Returns raw `(score, row)` lists, best first, where score is
    /// the engine's ranking score (cosine, dot, or `2 q.x - |x|^2` for euclidean).
    pub(crate) fn scan_i8(
        &self,
        queries: &[&[f32]],
        exclude: &[&[usize]],
        k: usize,
        restrict: Option<usize>,
        metric: Metric,
    ) -> Vec<Vec<(f32, u32)>> {
        let db = match metric {
            Metric::Cosine => self.quant_unit.get_or_init(|| QuantDb::build(self, true)),
            _ => self.quant_raw.get_or_init(|| QuantDb::build(self, false)),
        };
        let nq = queries.len();
        let n = restrict.map_or(db.rows, |r| r.min(db.rows));
        if nq == 0 || n == 0 {
            return vec![Vec::new(); nq];
        }
        let dim = self.set.dim();
        let qq: Vec<QuantQuery> = queries.iter().map(|q| quantise_query(q, db.dimp)).collect();
        let sq = &self.sq_norms;
        // Squared norms padded to whole panel pairs, for the euclidean epilogue.
        let sq_padded: Option<Vec<f32>> = (metric == Metric::Euclidean).then(|| {
            let mut v = sq.clone();
            v.resize(db.scale.len(), 0.0);
            v
        });
        let euclid_sq = sq_padded.as_deref();
        let blocks = n.div_ceil(BLOCK_ROWS);
        let tasks = partition(nq, blocks);
        let partial: Vec<(usize, Vec<Screen>)> = tasks
            .par_iter()
            .map(|&((qa, qz), (ba, bz))| {
                let mut st: Vec<Screen> = (qa..qz)
                    .map(|_| Screen {
                        lower: TopK::new(k),
                        cands: Vec::new(),
                    })
                    .collect();
                let mut out = Epilogue {
                    a: [[0.0; 2 * PANEL]; R],
                    e: [[0.0; 2 * PANEL]; R],
                    mask: [0; R],
                };
                for b in ba..bz {
                    let r0 = b * BLOCK_ROWS;
                    let r1 = (r0 + BLOCK_ROWS).min(n);
                    // Whole panel pairs; rows outside [r0, r1) are skipped below.
                    let (p_start, p_end) = (r0 / PANEL, r1.div_ceil(PANEL));
                    for g in (qa..qz).step_by(R) {
                        let gq = R.min(qz - g);
                        let qrefs: [&[u8]; R] =
                            std::array::from_fn(|i| qq[g + i.min(gq - 1)].codes.as_slice());
                        let mut p = p_start;
                        while p < p_end {
                            let qp: [QParams; R] = std::array::from_fn(|i| {
                                let qi = g + i.min(gq - 1);
                                QParams {
                                    scale: qq[qi].scale,
                                    l1: qq[qi].l1,
                                    tau: st[qi - qa].tau(),
                                }
                            });
                            // SAFETY: `available()` was checked by the caller; `codes` and the
                            // per-row arrays are padded to an even number of panels.
                            unsafe { kernel(db, p, &qrefs, &qp, euclid_sq, dim as f32, &mut out) };
                            for i in 0..gq {
                                let mut m = out.mask[i];
                                if m == 0 {
                                    continue;
                                }
                                let qi = g + i;
                                let scr = &mut st[qi - qa];
                                while m != 0 {
                                    let lane = m.trailing_zeros() as usize;
                                    m &= m - 1;
                                    let j = p * PANEL + lane;
                                    if j >= r1 || j < r0 {
                                        continue;
                                    }
                                    let (a, e) = (out.a[i][lane], out.e[i][lane]);
                                    if a + e < scr.tau() {
                                        continue;
                                    }
                                    if !self.is_candidate(j, metric) || exclude[qi].contains(&j) {
                                        continue;
                                    }
                                    scr.lower.push(a - e, j as u32);
                                    scr.cands.push((j as u32, a + e));
                                    if scr.cands.len() > 8 * k + 256 {
                                        let q = queries[qi];
                                        let shift = match metric {
                                            Metric::Euclidean => {
                                                q.iter().map(|&x| f64::from(x) * f64::from(x)).sum()
                                            }
                                            _ => 0.0,
                                        };
                                        super::knn::compact(
                                            &mut scr.cands,
                                            &mut scr.lower,
                                            k,
                                            |j| self.exact(j, q, metric),
                                            shift,
                                        );
                                    }
                                }
                            }
                            p += 2;
                        }
                    }
                }
                (qa, st)
            })
            .collect();
        // Per query, the parts that screened it (one when split by queries).
        let mut owners: Vec<Vec<(usize, usize)>> = vec![Vec::new(); nq];
        for (t, (qa, st)) in partial.iter().enumerate() {
            for i in 0..st.len() {
                owners[qa + i].push((t, i));
            }
        }
        // Merge: the global tau, then the survivors scored exactly.
        (0..nq)
            .into_par_iter()
            .map(|qi| {
                let mut lower = TopK::new(k);
                for &(t, i) in &owners[qi] {
                    lower.merge(partial[t].1[i].lower.clone());
                }
                let tau = lower.threshold();
                let q = queries[qi];
                let mut top = TopK::new(k);
                for &(t, i) in &owners[qi] {
                    for &(j, u) in &partial[t].1[i].cands {
                        if u < tau {
                            continue;
                        }
                        top.push(self.exact(j as usize, q, metric) as f32, j);
                    }
                }
                top.into_sorted()
            })
            .collect()
    }
}
