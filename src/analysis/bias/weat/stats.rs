//! The statistics of a WEAT: the effect size, the permutation p-value (every partition
//! enumerated, or seeded random ones in fixed blocks) and the percentile bootstrap interval.

use rayon::prelude::*;

use super::{Alternative, PValueMethod, Prepared, WeatOptions};
use crate::analysis::project::Rng;

/// Effect size of associations split into the first `nx` and the rest: difference of means
/// over the population standard deviation of all. `None` when every value is equal.
pub fn effect_size(s: &[f64], nx: usize) -> Option<f64> {
    let n = s.len();
    if nx == 0 || nx >= n {
        return None;
    }
    let mx = s[..nx].iter().sum::<f64>() / nx as f64;
    let my = s[nx..].iter().sum::<f64>() / (n - nx) as f64;
    let mean = s.iter().sum::<f64>() / n as f64;
    let var = s.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n as f64;
    let sd = var.sqrt();
    if sd.is_nan() || sd <= 1e-300 || !sd.is_finite() {
        return None;
    }
    Some((mx - my) / sd)
}

/// C(n, k) if it fits in u64 and is at most `cap`, else `None`.
pub fn binomial_capped(n: u64, k: u64, cap: u64) -> Option<u64> {
    let k = k.min(n - k.min(n));
    let mut c: u128 = 1;
    for i in 0..k {
        c = c * (n - i) as u128 / (i + 1) as u128;
        if c > cap as u128 {
            return None;
        }
    }
    Some(c as u64)
}

/// SplitMix-derived generator for block `b` of a seeded run.
fn block_rng(seed: u64, block: u64) -> Rng {
    let mut r = Rng::new(seed ^ 0x5EA7_B1A5_0000_0000);
    let mut z = r.next_u64() ^ block.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 31)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    Rng::new(z)
}

/// Uniform integer in `0..m` (Lemire's multiply-shift; the bias is below 2^-40 for m < 2^24).
#[inline]
fn below(rng: &mut Rng, m: usize) -> usize {
    ((rng.next_u64() as u128 * m as u128) >> 64) as usize
}

/// Counts how many subsets of size `k` of `values` have a sum passing `pass`, by enumeration.
fn enumerate_subsets(values: &[f64], k: usize, pass: &(dyn Fn(f64) -> bool + Sync)) -> u64 {
    fn rec(
        values: &[f64],
        start: usize,
        left: usize,
        sum: f64,
        pass: &(dyn Fn(f64) -> bool + Sync),
    ) -> u64 {
        if left == 0 {
            return pass(sum) as u64;
        }
        let mut count = 0;
        // Leave room for the remaining picks.
        for i in start..=values.len() - left {
            count += rec(values, i + 1, left - 1, sum + values[i], pass);
        }
        count
    }
    if k == 0 {
        return pass(0.0) as u64;
    }
    // Split the first level over threads.
    (0..=values.len() - k)
        .into_par_iter()
        .map(|i| rec(values, i + 1, k - 1, values[i], pass))
        .sum()
}

const BLOCK: usize = 4096;

/// The permutation p-value of the split of `s` into the first `nx` and the rest.
pub(crate) fn permutation_p(
    s: &[f64],
    nx: usize,
    alternative: Alternative,
    opts: &WeatOptions,
) -> (f64, PValueMethod) {
    let n = s.len();
    let total: f64 = s.iter().sum();
    let observed: f64 = s[..nx].iter().sum();
    // Statistic of a subset with sum t: 2t - total; its mean over all partitions:
    let centre = total * nx as f64 / n as f64;
    let scale: f64 = s.iter().map(|v| v.abs()).sum::<f64>().max(1e-300);
    let tol = 1e-10 * scale;
    let obs_dev = observed - centre;
    let pass = move |t: f64| match alternative {
        Alternative::Greater => t >= observed - tol,
        Alternative::Less => t <= observed + tol,
        Alternative::TwoSided => (t - centre).abs() >= obs_dev.abs() - tol,
    };
    if let Some(partitions) = binomial_capped(n as u64, nx as u64, opts.exact_limit) {
        let count = enumerate_subsets(s, nx, &pass);
        return (
            count as f64 / partitions as f64,
            PValueMethod::Exact { partitions },
        );
    }
    random_p(
        opts.permutations,
        opts.seed,
        || (0..n).collect::<Vec<usize>>(),
        |rng, idx| {
            let mut t = 0.0;
            for i in 0..nx {
                let j = i + below(rng, n - i);
                idx.swap(i, j);
                t += s[idx[i]];
            }
            pass(t)
        },
    )
}

/// Monte-Carlo p-value `(count + 1) / (N + 1)` of `trials` seeded random trials, run in fixed
/// blocks (each with its own generator from `seed` and the block index, and its own scratch
/// from `scratch`) so the count is the same on any number of threads.
pub(crate) fn random_p<S>(
    trials: usize,
    seed: u64,
    scratch: impl Fn() -> S + Sync,
    trial: impl Fn(&mut Rng, &mut S) -> bool + Sync,
) -> (f64, PValueMethod) {
    let n_perm = trials.max(1);
    let count: u64 = (0..n_perm.div_ceil(BLOCK))
        .into_par_iter()
        .map(|b| {
            let mut rng = block_rng(seed, b as u64);
            let mut state = scratch();
            let todo = BLOCK.min(n_perm - b * BLOCK);
            (0..todo).filter(|_| trial(&mut rng, &mut state)).count() as u64
        })
        .sum();
    (
        (count + 1) as f64 / (n_perm + 1) as f64,
        PValueMethod::Permutations {
            permutations: n_perm,
            seed,
        },
    )
}

/// Linear-interpolated quantile of sorted values (numpy's default method).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let pos = q * (sorted.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    let frac = pos - lo as f64;
    sorted[lo] + (sorted[hi] - sorted[lo]) * frac
}

/// Percentile bootstrap interval of the effect size; returns (interval, degenerate replicates).
pub(super) fn bootstrap_ci(p: &Prepared, reps: usize, seed: u64) -> ([f64; 2], usize) {
    if reps == 0 {
        return ([f64::NAN, f64::NAN], 0);
    }
    let (nx, ny, na, nb) = (p.nx, p.ny, p.na, p.nb);
    let w = na + nb;
    let blocks = reps.div_ceil(BLOCK);
    let per_block: Vec<(Vec<f64>, usize)> = (0..blocks)
        .into_par_iter()
        .map(|bi| {
            let mut rng = block_rng(seed ^ 0xB007, bi as u64);
            let todo = BLOCK.min(reps - bi * BLOCK);
            let mut out = Vec::with_capacity(todo);
            let mut degenerate = 0;
            let mut a_pick = vec![0usize; na];
            let mut b_pick = vec![0usize; nb];
            let mut s = vec![0f64; nx + ny];
            for _ in 0..todo {
                for v in a_pick.iter_mut() {
                    *v = below(&mut rng, na);
                }
                for v in b_pick.iter_mut() {
                    *v = na + below(&mut rng, nb);
                }
                for (slot, v) in s.iter_mut().enumerate() {
                    let t = if slot < nx {
                        below(&mut rng, nx)
                    } else {
                        nx + below(&mut rng, ny)
                    };
                    let row = &p.cos[t * w..(t + 1) * w];
                    let sa: f64 = a_pick.iter().map(|&j| row[j]).sum();
                    let sb: f64 = b_pick.iter().map(|&j| row[j]).sum();
                    *v = sa / na as f64 - sb / nb as f64;
                }
                match effect_size(&s, nx) {
                    Some(e) => out.push(e),
                    None => degenerate += 1,
                }
            }
            (out, degenerate)
        })
        .collect();
    let mut all = Vec::with_capacity(reps);
    let mut degenerate = 0;
    for (v, d) in per_block {
        all.extend(v);
        degenerate += d;
    }
    all.sort_by(|a, b| a.total_cmp(b));
    (
        [quantile_sorted(&all, 0.025), quantile_sorted(&all, 0.975)],
        degenerate,
    )
}
