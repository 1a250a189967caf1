//! UMAP's stochastic gradient descent with negative sampling (umap-learn's
//! `optimize_layout_euclidean`): each edge is sampled every `epochs_per_sample` epochs
//! (w_max / w), pulling its head towards its tail, followed by `negative_sample_rate` pushes
//! away from random points; gradients clipped at 4, the learning rate decaying linearly.
//!
//! Determinism without locks: the points are cut into fixed blocks; within an epoch every
//! block moves only its own points and reads every other point from the layout as it was at
//! the start of the epoch. Negative samples come from a generator seeded by (seed, epoch,
//! point). The layout is therefore the same on any number of threads. The graph holds both
//! directions of every edge, so each point is pulled by its own edges; umap-learn also moves
//! the tail of each sampled edge, so the pull here counts twice to keep the same balance of
//! attraction and repulsion.

use rayon::prelude::*;

/// Points per block of the parallel epoch (fixed: the result does not depend on threads).
const BLOCK: usize = 256;
const CLIP: f32 = 4.0;
/// Negative samples whose pushes are computed together.
const LANES: usize = 8;

/// Edges grouped by head: `indptr` over heads, the tail and the sampling period of each.
#[derive(Debug, Clone)]
pub struct Edges {
    pub indptr: Vec<usize>,
    pub tails: Vec<u32>,
    /// Epochs between two samples of the edge (w_max / w).
    pub epochs_per_sample: Vec<f32>,
}

/// Everything the epochs need besides the layouts.
pub struct Sgd<'a> {
    pub edges: &'a Edges,
    pub dim: usize,
    pub a: f32,
    pub b: f32,
    pub gamma: f32,
    pub negative_sample_rate: f32,
    pub initial_alpha: f32,
    pub n_epochs: usize,
    pub seed: u64,
    /// Factor on the attraction (2 when the tails' own pull is mirrored, see the module doc).
    pub attraction: f32,
    /// True when the heads are the tail points themselves (a fit, not a transform).
    pub same_set: bool,
    /// Rounds per epoch: round r moves the blocks whose index is r modulo `rounds` (a fit
    /// refreshes the tail layout between rounds, so points see fresher positions).
    pub rounds: usize,
}

/// Per-edge schedule: next epoch of a sample and of the negative samples.
pub struct Schedule(Vec<[f32; 2]>);

impl Schedule {
    pub fn new(edges: &Edges, negative_sample_rate: f32) -> Schedule {
        Schedule(
            edges
                .epochs_per_sample
                .iter()
                .map(|&e| [e, e / negative_sample_rate])
                .collect(),
        )
    }
}

#[inline]
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// xorshift64* seeded per (seed, epoch, point).
struct PointRng(u64);

impl PointRng {
    #[inline]
    fn new(seed: u64, epoch: usize, point: usize) -> PointRng {
        let s = mix(seed ^ mix((epoch as u64) << 32 ^ point as u64));
        PointRng(s | 1)
    }
    /// Uniform in 0..n.
    #[inline]
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let r = (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as u32;
        ((u64::from(r) * u64::from(n)) >> 32) as u32
    }
}

/// log2(x) for finite x > 0 (relative error about 1e-7).
#[inline]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let mut e = ((bits >> 23) & 0xff) as i32 - 127;
    let mut m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    if m > std::f32::consts::SQRT_2 {
        m *= 0.5;
        e += 1;
    }
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (0.2 + t2 * (1.0 / 7.0))));
    e as f32 + ln * std::f32::consts::LOG2_E
}

/// 2^y (relative error about 1e-7 in range; clamped to the normal f32 range).
#[inline]
fn fast_exp2(y: f32) -> f32 {
    let y = y.clamp(-126.0, 126.0);
    let i = y.floor();
    let g = (y - i - 0.5) * std::f32::consts::LN_2;
    let p = 1.0
        + g * (1.0
            + g * (0.5
                + g * (1.0 / 6.0 + g * (1.0 / 24.0 + g * (1.0 / 120.0 + g * (1.0 / 720.0))))));
    let scale = f32::from_bits(((i as i32 + 127) as u32) << 23);
    p * std::f32::consts::SQRT_2 * scale
}

/// x^p for x > 0.
#[inline]
pub(crate) fn fast_pow(x: f32, p: f32) -> f32 {
    fast_exp2(p * fast_log2(x))
}

#[inline]
fn clip(v: f32) -> f32 {
    v.clamp(-CLIP, CLIP)
}

impl Sgd<'_> {
    /// One epoch: moves `heads` (`n_heads x dim`) given `tails` (the layout the other end of
    /// each edge and the negative samples are read from).
    pub fn epoch(
        &self,
        epoch: usize,
        round: usize,
        heads: &mut [f32],
        tails: &[f32],
        sched: &mut Schedule,
    ) {
        let dim = self.dim;
        let n_tails = (tails.len() / dim) as u32;
        // umap-learn sets epoch e's rate after epoch e - 1: 1 - (e - 1) / n_epochs.
        let alpha =
            self.initial_alpha * (1.0 - epoch.saturating_sub(1) as f32 / self.n_epochs as f32);
        let n_heads = heads.len() / dim;
        // The schedule cut at the blocks' edge boundaries.
        let mut parts: Vec<&mut [[f32; 2]]> = Vec::with_capacity(n_heads.div_ceil(BLOCK));
        let mut rest: &mut [[f32; 2]] = &mut sched.0;
        for b0 in (0..n_heads).step_by(BLOCK) {
            let b1 = (b0 + BLOCK).min(n_heads);
            let len = self.edges.indptr[b1] - self.edges.indptr[b0];
            let (head, tail) = rest.split_at_mut(len);
            parts.push(head);
            rest = tail;
        }
        heads
            .par_chunks_mut(BLOCK * dim)
            .zip(parts.into_par_iter())
            .enumerate()
            .filter(|(blk, _)| blk % self.rounds.max(1) == round)
            .for_each(|(blk, (ys, st))| {
                let base = self.edges.indptr[blk * BLOCK];
                for (r, yi) in ys.chunks_mut(dim).enumerate() {
                    let i = blk * BLOCK + r;
                    self.point(epoch, i, yi, tails, n_tails, alpha, st, base);
                }
            });
    }

    /// `m` (at most [`LANES`]) negative samples of point `i` at `y`: the pushes are computed
    /// together from `y` as it is before them (independent of one another, so the processor
    /// overlaps them) and then added, each clipped as umap-learn clips it. A sample that is `i`
    /// itself, or lies exactly on `y`, does not move it (umap-learn 0.5).
    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn push_away(
        &self,
        y: &mut [f32; 3],
        i: usize,
        r: &mut PointRng,
        m: usize,
        tails: &[f32],
        n_tails: u32,
        alpha: f32,
    ) {
        let dim = self.dim;
        let (a, b) = (self.a, self.b);
        let mut diff = [[0f32; 3]; LANES];
        let mut d2 = [0f32; LANES];
        let mut skip = [false; LANES];
        for t in 0..m {
            let q = r.below(n_tails) as usize;
            skip[t] = self.same_set && q == i;
            let yq = &tails[q * dim..(q + 1) * dim];
            for k in 0..dim {
                diff[t][k] = y[k] - yq[k];
            }
            d2[t] = diff[t][..dim].iter().map(|v| v * v).sum();
        }
        let mut coeff = [0f32; LANES];
        for t in 0..m {
            let x = d2[t].max(f32::MIN_POSITIVE);
            coeff[t] = 2.0 * self.gamma * b / ((0.001 + x) * (a * fast_pow(x, b) + 1.0));
        }
        for t in 0..m {
            if skip[t] || d2[t] <= 0.0 || coeff[t] <= 0.0 {
                continue;
            }
            for k in 0..dim {
                y[k] += clip(coeff[t] * diff[t][k]) * alpha;
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    #[inline]
    fn point(
        &self,
        epoch: usize,
        i: usize,
        yi: &mut [f32],
        tails: &[f32],
        n_tails: u32,
        alpha: f32,
        st: &mut [[f32; 2]],
        base: usize,
    ) {
        let dim = self.dim;
        let (a, b) = (self.a, self.b);
        let now = epoch as f32;
        let mut rng: Option<PointRng> = None;
        let mut y = [0f32; 3];
        y[..dim].copy_from_slice(yi);
        for p in self.edges.indptr[i]..self.edges.indptr[i + 1] {
            let s = &mut st[p - base];
            if s[0] > now {
                continue;
            }
            let eps = self.edges.epochs_per_sample[p];
            let j = self.edges.tails[p] as usize;
            let yj = &tails[j * dim..(j + 1) * dim];
            // The pull, once per unit of `attraction` (each step from the moved position).
            let mut left = self.attraction;
            while left > 0.0 {
                let share = left.min(1.0);
                left -= share;
                let mut d2 = 0f32;
                for k in 0..dim {
                    let t = y[k] - yj[k];
                    d2 += t * t;
                }
                if d2 > 0.0 {
                    let pb1 = fast_pow(d2, b - 1.0);
                    let coeff = -2.0 * a * b * pb1 / (a * pb1 * d2 + 1.0);
                    for k in 0..dim {
                        y[k] += share * clip(coeff * (y[k] - yj[k])) * alpha;
                    }
                }
            }
            s[0] += eps;
            let eps_neg = eps / self.negative_sample_rate;
            let n_neg = ((now - s[1]) / eps_neg).max(0.0) as usize;
            let r = rng.get_or_insert_with(|| PointRng::new(self.seed, epoch, i));
            let mut left = n_neg;
            while left > 0 {
                let m = left.min(LANES);
                left -= m;
                self.push_away(&mut y, i, r, m, tails, n_tails, alpha);
            }
            s[1] += n_neg as f32 * eps_neg;
        }
        yi.copy_from_slice(&y[..dim]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fast_pow_is_accurate() {
        for &x in &[1e-6f32, 0.01, 0.3, 1.0, 1.7, 25.0, 1e4] {
            for &p in &[-0.2f32, 0.79, 0.895, 1.33, 2.0] {
                let e = f64::from(x).powf(f64::from(p));
                let g = f64::from(fast_pow(x, p));
                assert!(((g - e) / e).abs() < 2e-6, "{x}^{p}: {g} vs {e}");
            }
        }
    }

    #[test]
    fn draws_are_uniform_enough() {
        let mut r = PointRng::new(1, 2, 3);
        let mut c = [0usize; 10];
        for _ in 0..100_000 {
            c[r.below(10) as usize] += 1;
        }
        assert!(c.iter().all(|&x| (9_000..11_000).contains(&x)), "{c:?}");
    }
}
