//! UMAP's stochastic gradient descent with negative sampling (umap-learn's
//! `optimize_layout_euclidean`): each edge is sampled every `epochs_per_sample` epochs
//! (w_max / w), pulling its head towards its tail, followed by `negative_sample_rate` pushes
//! away from random points; gradients clipped at 4, the learning rate decaying linearly.
//!
//! Determinism without locks: the points are cut into fixed blocks; within an epoch every
//! block moves only its own points (until the round ends) and reads every other point from the layout as it was at
//! the start of its round (an epoch runs in rounds of blocks). Negative samples come from a generator seeded by (seed, epoch,
//! point). The layout is therefore the same on any number of threads. Within a block, each
//! head's moves of the epoch (pulls and pushes, in umap-learn's order) are listed first, then
//! made with several heads side by side in SIMD lanes, each head's moves in order. The kernels
//! are compiled for 2 and 3 dimensions, and once more for AVX2 processors (chosen at run
//! time): the same operations in the same order, so the layout is bit-identical on either
//! build. The graph holds both directions of every edge. As umap-learn does, a pull moves the
//! head towards the tail and the tail back towards the head by the same step; a block cannot
//! write other blocks' points, so its tails' steps are collected and added after the round,
//! block after block in order. (Pulling the head twice instead, with no tail step, cost 0.011
//! trustworthiness on 70k GloVe rows: benches/peers/umap_sgd_semantics.py.)

use rayon::prelude::*;

/// Points per block of the parallel epoch (fixed: the result does not depend on threads).
const BLOCK: usize = 256;
const CLIP: f32 = 4.0;
/// Heads moved side by side (each head's own moves stay in order).
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
    /// Factor on the attraction (1: umap-learn's pull).
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

/// log2(x) for finite x > 0 (relative error about 1e-7). Branch-free, so a loop over lanes
/// vectorises.
#[inline(always)]
fn fast_log2(x: f32) -> f32 {
    let bits = x.to_bits();
    let e = ((bits >> 23) & 0xff) as i32 - 127;
    let m = f32::from_bits((bits & 0x007f_ffff) | 0x3f80_0000);
    let big = m > std::f32::consts::SQRT_2;
    let m = if big { m * 0.5 } else { m };
    let e = if big { e + 1 } else { e };
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let ln = 2.0 * t * (1.0 + t2 * (1.0 / 3.0 + t2 * (0.2 + t2 * (1.0 / 7.0))));
    e as f32 + ln * std::f32::consts::LOG2_E
}

/// 2^y (relative error about 1e-7 in range; clamped to the normal f32 range). The floor is
/// taken by truncation and a correction (exact in this range), not a library call.
#[inline(always)]
fn fast_exp2(y: f32) -> f32 {
    let y = y.clamp(-126.0, 126.0);
    let t = y as i32;
    let i = t - i32::from((t as f32) > y);
    let g = (y - i as f32 - 0.5) * std::f32::consts::LN_2;
    let p = 1.0
        + g * (1.0
            + g * (0.5
                + g * (1.0 / 6.0 + g * (1.0 / 24.0 + g * (1.0 / 120.0 + g * (1.0 / 720.0))))));
    let scale = f32::from_bits(((i + 127) as u32) << 23);
    p * std::f32::consts::SQRT_2 * scale
}

/// x^p for x > 0.
#[inline(always)]
pub(crate) fn fast_pow(x: f32, p: f32) -> f32 {
    fast_exp2(p * fast_log2(x))
}

#[inline(always)]
fn clip(v: f32) -> f32 {
    v.clamp(-CLIP, CLIP)
}

/// Whether the processor runs the AVX2 build of the epoch (the same arithmetic, wider
/// registers: the layout is bit-identical either way).
fn has_avx2() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::is_x86_feature_detected!("avx2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// What one block of heads needs from the epoch.
struct Step<'s> {
    epoch: usize,
    tails: &'s [f32],
    n_tails: u32,
    alpha: f32,
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
        self.epoch_on(epoch, round, heads, tails, sched, has_avx2());
    }

    /// [`Sgd::epoch`] with the AVX2 build of the kernels or without it.
    fn epoch_on(
        &self,
        epoch: usize,
        round: usize,
        heads: &mut [f32],
        tails: &[f32],
        sched: &mut Schedule,
        avx2: bool,
    ) {
        let dim = self.dim;
        let step = Step {
            epoch,
            tails,
            n_tails: (tails.len() / dim) as u32,
            // umap-learn sets epoch e's rate after epoch e - 1: 1 - (e - 1) / n_epochs.
            alpha: self.initial_alpha
                * (1.0 - epoch.saturating_sub(1) as f32 / self.n_epochs as f32),
        };
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
        let pulled: Vec<TailMoves> = heads
            .par_chunks_mut(BLOCK * dim)
            .zip(parts.into_par_iter())
            .enumerate()
            .filter(|(blk, _)| blk % self.rounds.max(1) == round)
            .map(|(blk, (ys, st))| {
                let first = blk * BLOCK;
                match (dim, avx2) {
                    #[cfg(target_arch = "x86_64")]
                    (2, true) => {
                        // SAFETY: the processor has AVX2 (checked above).
                        unsafe { self.block_avx2::<2>(&step, first, ys, st) }
                    }
                    #[cfg(target_arch = "x86_64")]
                    (3, true) => {
                        // SAFETY: as above.
                        unsafe { self.block_avx2::<3>(&step, first, ys, st) }
                    }
                    (2, _) => self.block::<2>(&step, first, ys, st),
                    (3, _) => self.block::<3>(&step, first, ys, st),
                    // Reduced spaces for clustering (BERTopic's 5-D), not drawn.
                    (4, _) => self.block::<4>(&step, first, ys, st),
                    (5, _) => self.block::<5>(&step, first, ys, st),
                    (6, _) => self.block::<6>(&step, first, ys, st),
                    (7, _) => self.block::<7>(&step, first, ys, st),
                    (8, _) => self.block::<8>(&step, first, ys, st),
                    (9, _) => self.block::<9>(&step, first, ys, st),
                    _ => self.block::<10>(&step, first, ys, st),
                }
            })
            .collect();
        // The tails pulled back, block after block in order (the same sums on any number of
        // threads).
        for t in &pulled {
            for (&j, delta) in t.tails.iter().zip(t.deltas.chunks_exact(dim)) {
                for (y, d) in heads[j as usize * dim..].iter_mut().zip(delta) {
                    *y -= d;
                }
            }
        }
    }

    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn block_avx2<const D: usize>(
        &self,
        step: &Step,
        first: usize,
        ys: &mut [f32],
        st: &mut [[f32; 2]],
    ) -> TailMoves {
        self.block::<D>(step, first, ys, st)
    }

    /// The heads `first..` of one block (`ys`, `D` values each), their edges' schedule `st`.
    /// First each head's moves of this epoch are listed in order (which edges are due, the
    /// negative samples drawn: none of it depends on positions), then the moves are made,
    /// [`LANES`] heads side by side, each head's own moves one after the other.
    #[inline(always)]
    fn block<const D: usize>(
        &self,
        step: &Step,
        first: usize,
        ys: &mut [f32],
        st: &mut [[f32; 2]],
    ) -> TailMoves {
        let base = self.edges.indptr[first];
        let heads = ys.len() / D;
        let mut moves = Moves::default();
        for r in 0..heads {
            moves.start.push(moves.target.len() as u32);
            self.list_moves(step, first + r, st, base, &mut moves);
        }
        moves.start.push(moves.target.len() as u32);
        self.make_moves::<D>(step, ys, &moves)
    }

    /// Appends head `i`'s moves of this epoch to `out` and advances its edges' schedule.
    #[inline(always)]
    fn list_moves(&self, step: &Step, i: usize, st: &mut [[f32; 2]], base: usize, out: &mut Moves) {
        let now = step.epoch as f32;
        let mut rng: Option<PointRng> = None;
        for p in self.edges.indptr[i]..self.edges.indptr[i + 1] {
            let s = &mut st[p - base];
            if s[0] > now {
                continue;
            }
            let eps = self.edges.epochs_per_sample[p];
            let j = self.edges.tails[p];
            // The pull, once per unit of `attraction` (each from the moved position).
            let mut left = self.attraction;
            while left > 0.0 {
                let share = left.min(1.0);
                left -= share;
                out.target.push(j);
                out.share.push(share);
            }
            s[0] += eps;
            let eps_neg = eps / self.negative_sample_rate;
            let n_neg = ((now - s[1]) / eps_neg).max(0.0) as usize;
            let r = rng.get_or_insert_with(|| PointRng::new(self.seed, step.epoch, i));
            for _ in 0..n_neg {
                let q = r.below(step.n_tails);
                // A sample that is the head itself does not move it (umap-learn 0.5).
                if !(self.same_set && q as usize == i) {
                    out.target.push(q);
                    out.share.push(PUSH);
                }
            }
            s[1] += n_neg as f32 * eps_neg;
        }
    }

    /// Makes the listed moves: each lane works through one head's moves, then takes the next
    /// head with any.
    #[inline(always)]
    fn make_moves<const D: usize>(&self, step: &Step, ys: &mut [f32], moves: &Moves) -> TailMoves {
        let mut pulled = TailMoves::default();
        let (a, b) = (self.a, self.b);
        let heads = moves.start.len() - 1;
        let mut next_head = 0usize;
        // Per lane: its head (usize::MAX: idle), next move, end of its moves, position.
        let mut head = [usize::MAX; LANES];
        let mut cur = [0usize; LANES];
        let mut end = [0usize; LANES];
        let mut y = [[0f32; LANES]; D];
        let mut take = |l: usize,
                        head: &mut [usize; LANES],
                        cur: &mut [usize; LANES],
                        end: &mut [usize; LANES],
                        y: &mut [[f32; LANES]; D],
                        ys: &mut [f32]| {
            while next_head < heads {
                let h = next_head;
                next_head += 1;
                let (s0, s1) = (moves.start[h] as usize, moves.start[h + 1] as usize);
                if s0 < s1 {
                    head[l] = h;
                    cur[l] = s0;
                    end[l] = s1;
                    for k in 0..D {
                        y[k][l] = ys[h * D + k];
                    }
                    return;
                }
            }
            head[l] = usize::MAX;
        };
        for l in 0..LANES {
            take(l, &mut head, &mut cur, &mut end, &mut y, ys);
        }
        while head.iter().any(|&h| h != usize::MAX) {
            let mut at = [[0f32; LANES]; D];
            let mut share = [0f32; LANES];
            let mut live = [false; LANES];
            for l in 0..LANES {
                if head[l] != usize::MAX {
                    let q = moves.target[cur[l]] as usize;
                    for (k, ak) in at.iter_mut().enumerate() {
                        ak[l] = step.tails[q * D + k];
                    }
                    share[l] = moves.share[cur[l]];
                    live[l] = true;
                }
            }
            let mut diff = [[0f32; LANES]; D];
            let mut d2 = [0f32; LANES];
            for k in 0..D {
                for l in 0..LANES {
                    diff[k][l] = y[k][l] - at[k][l];
                    d2[l] += diff[k][l] * diff[k][l];
                }
            }
            let mut coeff = [0f32; LANES];
            let mut mult = [0f32; LANES];
            let mut go = [false; LANES];
            for l in 0..LANES {
                let pull = share[l] != PUSH;
                let x = d2[l].max(f32::MIN_POSITIVE);
                let pw = fast_pow(x, if pull { b - 1.0 } else { b });
                let c_pull = -2.0 * a * b * pw / (a * pw * x + 1.0);
                let c_push = 2.0 * self.gamma * b / ((0.001 + x) * (a * pw + 1.0));
                coeff[l] = if pull { c_pull } else { c_push };
                mult[l] = if pull { share[l] } else { 1.0 };
                go[l] = live[l] && d2[l] > 0.0 && (pull || c_push > 0.0);
            }
            let mut step_by = [[0f32; LANES]; D];
            for k in 0..D {
                for l in 0..LANES {
                    step_by[k][l] = mult[l] * clip(coeff[l] * diff[k][l]) * step.alpha;
                    let moved = y[k][l] + step_by[k][l];
                    y[k][l] = if go[l] { moved } else { y[k][l] };
                }
            }
            if self.same_set {
                for l in 0..LANES {
                    if go[l] && share[l] != PUSH {
                        pulled.tails.push(moves.target[cur[l]]);
                        for sk in &step_by {
                            pulled.deltas.push(sk[l]);
                        }
                    }
                }
            }
            for l in 0..LANES {
                if head[l] == usize::MAX {
                    continue;
                }
                cur[l] += 1;
                if cur[l] == end[l] {
                    let h = head[l];
                    for k in 0..D {
                        ys[h * D + k] = y[k][l];
                    }
                    take(l, &mut head, &mut cur, &mut end, &mut y, ys);
                }
            }
        }
        pulled
    }
}

/// The tails of one block's pulls and the step each head took towards its tail (`dim`
/// values per pull): umap-learn moves the tail back by the same step, here after the round.
#[derive(Default)]
struct TailMoves {
    tails: Vec<u32>,
    deltas: Vec<f32>,
}

/// `share` of a move that is a negative sample's push (a pull's share is in (0, 1]).
const PUSH: f32 = -1.0;

/// One block's moves in order, head after head: the point each is relative to and, for a
/// pull, its share of the attraction ([`PUSH`] for a push).
#[derive(Default)]
struct Moves {
    start: Vec<u32>,
    target: Vec<u32>,
    share: Vec<f32>,
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
    fn the_avx2_build_gives_the_same_layout() {
        if !has_avx2() {
            return;
        }
        // A ring of 300 points, each joined to its 6 nearest along the ring.
        let n = 300usize;
        let mut indptr = vec![0usize];
        let (mut tails, mut eps) = (Vec::new(), Vec::new());
        for i in 0..n {
            for o in [1usize, 2, 3] {
                for j in [(i + o) % n, (i + n - o) % n] {
                    tails.push(j as u32);
                    eps.push(o as f32);
                }
            }
            indptr.push(tails.len());
        }
        let edges = Edges {
            indptr,
            tails,
            epochs_per_sample: eps,
        };
        for dim in [2usize, 3] {
            let opt = Sgd {
                edges: &edges,
                dim,
                a: 1.577,
                b: 0.895,
                gamma: 1.0,
                negative_sample_rate: 5.0,
                initial_alpha: 1.0,
                n_epochs: 30,
                seed: 7,
                attraction: 1.0,
                same_set: true,
                rounds: 3,
            };
            let start: Vec<f32> = (0..n * dim)
                .map(|v| ((v * 37 % 101) as f32) / 10.0)
                .collect();
            let run = |avx2: bool| {
                let mut y = start.clone();
                let mut sched = Schedule::new(&edges, 5.0);
                let mut snap = y.clone();
                for e in 0..30 {
                    for r in 0..3 {
                        snap.copy_from_slice(&y);
                        opt.epoch_on(e, r, &mut y, &snap, &mut sched, avx2);
                    }
                }
                y
            };
            let (plain, wide) = (run(false), run(true));
            assert_ne!(plain, start, "the layout moved");
            let same = plain
                .iter()
                .zip(&wide)
                .all(|(a, b)| a.to_bits() == b.to_bits());
            assert!(same, "dim {dim}: the AVX2 build differs");
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
