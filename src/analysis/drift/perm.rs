//! Side labels of the pooled rows under permutation, as bit matrices, and p-values.
//!
//! A permutation test here compares the statistic of the observed split (reference rows
//! first) with its value under `B` random relabellings that keep both side sizes. Every
//! statistic of a batch of relabellings is computed in one pass over the data: the labels of
//! row `i` under the batch's relabellings are the bits of `row(i)`.

use rayon::prelude::*;

use crate::analysis::project::Rng;

/// Relabellings processed together (slots of a [`Labels`] batch).
pub(super) const BATCH: usize = 1024;

/// Stream ids: each random choice of a run draws from its own stream of the seed.
pub(super) const STREAM_FULL: u64 = 1;
pub(super) const STREAM_KERNEL: u64 = 2;
pub(super) const STREAM_CLASSIFIER: u64 = 3;
pub(super) const STREAM_KERNEL_SAMPLE: u64 = 4;
pub(super) const STREAM_SPLIT: u64 = 5;

/// The seed of item `index` of stream `stream` (SplitMix64 finalisers, so neighbouring
/// indices give unrelated seeds).
pub(super) fn stream_seed(seed: u64, stream: u64, index: u64) -> u64 {
    let a = Rng::new(seed ^ stream.wrapping_mul(0xD6E8_FEB8_6659_FD93)).next_u64();
    Rng::new(a ^ index.wrapping_mul(0xA076_1D64_78BD_642F)).next_u64()
}

/// A uniform integer below `n` (multiply-shift; the bias, n / 2^64, is far below anything
/// these tests resolve).
pub(super) fn below(rng: &mut Rng, n: usize) -> usize {
    ((u128::from(rng.next_u64()) * n as u128) >> 64) as usize
}

/// A seeded random order of `0..n` (Fisher-Yates).
pub(super) fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = Rng::new(seed);
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = below(&mut rng, i + 1);
        v.swap(i, j);
    }
    v
}

/// Labels of `n` rows under `slots` relabellings, `k` rows of each on the first side (bit
/// set). Slot `s` is relabelling `first + s` of the run: relabelling 0 is the observed split
/// (rows `0..k`), every other a uniformly random `k`-subset drawn by selection sampling
/// (Knuth's Algorithm S) from its own seeded stream, so a relabelling does not depend on the
/// batch it falls in or on the number of threads.
///
/// Stored by word: `col(w)[i]` holds row `i`'s labels under slots `64 w .. 64 w + 63` (bit
/// `s % 64`), so a sweep over the rows in any order for 64 relabellings reads one array of
/// `n` words.
pub(super) struct Labels {
    pub slots: usize,
    pub words: usize,
    cols: Vec<Vec<u64>>,
}

impl Labels {
    pub fn new(n: usize, k: usize, first: usize, slots: usize, seed: u64, stream: u64) -> Labels {
        let words = slots.div_ceil(64);
        let cols: Vec<Vec<u64>> = (0..words)
            .into_par_iter()
            .map(|w| {
                let mut col = vec![0u64; n];
                let lanes = (slots - w * 64).min(64);
                for l in 0..lanes {
                    let g = (first + w * 64 + l) as u64;
                    let bit = 1u64 << l;
                    if g == 0 {
                        col[..k].iter_mut().for_each(|c| *c |= bit);
                        continue;
                    }
                    let mut rng = Rng::new(stream_seed(seed, stream, g));
                    let mut need = k;
                    for (i, c) in col.iter_mut().enumerate() {
                        if need == 0 {
                            break;
                        }
                        if below(&mut rng, n - i) < need {
                            *c |= bit;
                            need -= 1;
                        }
                    }
                }
                col
            })
            .collect();
        Labels { slots, words, cols }
    }

    /// Every row's labels under slots `64 w ..`.
    #[inline]
    pub fn col(&self, w: usize) -> &[u64] {
        &self.cols[w]
    }

    #[cfg(test)]
    pub fn get(&self, i: usize, s: usize) -> bool {
        self.cols[s / 64][i] >> (s % 64) & 1 == 1
    }

    /// Row-major `rows x slots` 0/1 matrix of rows `rows` (for matrix products).
    pub fn dense_rows(&self, rows: std::ops::Range<usize>, out: &mut [f32]) {
        let s = self.slots;
        for (r, i) in rows.enumerate() {
            let dst = &mut out[r * s..(r + 1) * s];
            for (w, chunk) in dst.chunks_mut(64).enumerate() {
                let word = self.cols[w][i];
                for (l, o) in chunk.iter_mut().enumerate() {
                    *o = (word >> l & 1) as f32;
                }
            }
        }
    }
}

/// The batches `(first, slots)` covering relabellings `0..=permutations`.
pub(super) fn batches(permutations: usize) -> Vec<(usize, usize)> {
    let total = permutations + 1;
    (0..total.div_ceil(BATCH))
        .map(|b| (b * BATCH, BATCH.min(total - b * BATCH)))
        .collect()
}

/// `(1 + #{null >= observed}) / (B + 1)`: the permutation p-value that counts the observed
/// split among the relabellings (never 0; exact level under exchangeability).
pub(super) fn p_value(observed: f64, null: &[f64]) -> f64 {
    let b = null.iter().filter(|&&v| v >= observed).count();
    (1 + b) as f64 / (null.len() + 1) as f64
}

/// The score above which the p-value falls below `alpha`: with `K` the largest count for
/// which `(1 + K) / (B + 1) < alpha`, a score is significant when at most `K` null values
/// reach it, i.e. when it exceeds the `(K + 1)`-th largest null value.
pub(super) fn permutation_threshold(null: &[f64], alpha: f64) -> f64 {
    let b = null.len();
    let mut k = 0usize;
    while ((k + 2) as f64) / ((b + 1) as f64) < alpha {
        k += 1;
    }
    let mut v = null.to_vec();
    v.sort_by(|a, b| b.total_cmp(a));
    // `check` makes 1 / (B + 1) < alpha, so K >= 0 and K + 1 <= B.
    v.get(k).copied().unwrap_or(f64::NEG_INFINITY)
}
