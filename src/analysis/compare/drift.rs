//! Drift between two versions on their shared words: how the distributions of row norms and of
//! pairwise similarities moved, and whether the pairs keep their order of similarity.
//!
//! Everything here is scale-aware but space-free: it needs no alignment, so it works across
//! dimensions. The drift score is `1 - Spearman(cos_A(i, j), cos_B(i, j))` over sampled pairs:
//! 0 when every pair keeps its rank of similarity, 1 when the orders are unrelated.

use serde::Serialize;

use super::align::median;
use crate::analysis::project::Rng;
use crate::analysis::stats;
use crate::core::Matrix;

/// One side's distributions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SideDrift {
    pub row_norm_mean: f64,
    pub row_norm_median: f64,
    /// Population standard deviation.
    pub row_norm_std: f64,
    /// Norm of the mean of the unit-normalised rows (1 = all rows point the same way, 0 =
    /// balanced around the origin).
    pub centroid_norm: f64,
    pub pair_cosine_mean: f64,
    pub pair_cosine_std: f64,
}

/// Drift of B relative to A.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Drift {
    pub a: SideDrift,
    pub b: SideDrift,
    /// Number of sampled word pairs behind the similarity statistics.
    pub pairs: usize,
    pub centroid_norm_change: f64,
    /// Kolmogorov-Smirnov distance between the two sides' row norms, each divided by its median
    /// (so a uniform rescaling of a model is no drift).
    pub norm_ks: f64,
    /// Kolmogorov-Smirnov distance between the two sides' pair cosines.
    pub pair_cosine_ks: f64,
    pub pair_cosine_mean_change: f64,
    /// Spearman correlation of the pair cosines of A and B.
    pub pair_cosine_spearman: f64,
    /// `1 - pair_cosine_spearman`.
    pub drift_score: f64,
}

/// `count` random pairs (i != j) of indices below `n`, from a seed.
pub fn sample_pairs(n: usize, count: usize, seed: u64) -> Vec<(u32, u32)> {
    if n < 2 {
        return Vec::new();
    }
    let mut rng = Rng::new(seed);
    (0..count)
        .map(|_| {
            let i = (rng.next_u64() % n as u64) as usize;
            let j = (rng.next_u64() % (n as u64 - 1)) as usize;
            let j = if j >= i { j + 1 } else { j };
            (i as u32, j as u32)
        })
        .collect()
}

fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len().max(1) as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n;
    (m, var.sqrt())
}

/// Two-sample Kolmogorov-Smirnov statistic (the largest gap between the empirical CDFs).
pub fn ks_distance(x: &[f64], y: &[f64]) -> f64 {
    if x.is_empty() || y.is_empty() {
        return 0.0;
    }
    let mut a = x.to_vec();
    let mut b = y.to_vec();
    a.sort_by(f64::total_cmp);
    b.sort_by(f64::total_cmp);
    let (na, nb) = (a.len() as f64, b.len() as f64);
    let (mut i, mut j, mut d) = (0usize, 0usize, 0f64);
    while i < a.len() && j < b.len() {
        let v = if a[i] <= b[j] { a[i] } else { b[j] };
        while i < a.len() && a[i] <= v {
            i += 1;
        }
        while j < b.len() && b[j] <= v {
            j += 1;
        }
        d = d.max((i as f64 / na - j as f64 / nb).abs());
    }
    d
}

struct Rows<'a> {
    m: &'a Matrix,
    rows: &'a [usize],
    norms: Vec<f64>,
}

impl<'a> Rows<'a> {
    fn new(m: &'a Matrix, rows: &'a [usize]) -> Self {
        let norms = rows
            .iter()
            .map(|&r| {
                m.row(r)
                    .iter()
                    .map(|&x| f64::from(x).powi(2))
                    .sum::<f64>()
                    .sqrt()
            })
            .collect();
        Rows { m, rows, norms }
    }
    fn cos(&self, i: usize, j: usize) -> f64 {
        let d: f64 = self
            .m
            .row(self.rows[i])
            .iter()
            .zip(self.m.row(self.rows[j]))
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        d / (self.norms[i] * self.norms[j])
    }
    fn side(&self, pair_cos: &[f64]) -> SideDrift {
        let (nm, ns) = mean_std(&self.norms);
        let d = self.m.dim();
        let mut c = vec![0f64; d];
        for (k, &r) in self.rows.iter().enumerate() {
            let s = 1.0 / self.norms[k];
            for (t, &x) in c.iter_mut().zip(self.m.row(r)) {
                *t += f64::from(x) * s;
            }
        }
        let n = self.rows.len().max(1) as f64;
        let centroid_norm = c.iter().map(|x| (x / n).powi(2)).sum::<f64>().sqrt();
        let (pm, ps) = mean_std(pair_cos);
        SideDrift {
            row_norm_mean: nm,
            row_norm_median: median(&self.norms),
            row_norm_std: ns,
            centroid_norm,
            pair_cosine_mean: pm,
            pair_cosine_std: ps,
        }
    }
}

/// Drift statistics of the shared rows (`ra[i]` in A is `rb[i]` in B; rows are finite and
/// non-zero) over the given index pairs into the shared list.
pub fn drift(ma: &Matrix, ra: &[usize], mb: &Matrix, rb: &[usize], pairs: &[(u32, u32)]) -> Drift {
    let (a, b) = (Rows::new(ma, ra), Rows::new(mb, rb));
    let ca: Vec<f64> = pairs
        .iter()
        .map(|&(i, j)| a.cos(i as usize, j as usize))
        .collect();
    let cb: Vec<f64> = pairs
        .iter()
        .map(|&(i, j)| b.cos(i as usize, j as usize))
        .collect();
    let (sa, sb) = (a.side(&ca), b.side(&cb));
    let rel = |r: &Rows, med: f64| -> Vec<f64> {
        r.norms
            .iter()
            .map(|&x| if med > 0.0 { x / med } else { x })
            .collect()
    };
    let spearman = stats::spearman(&ca, &cb).map_or(f64::NAN, |c| c.r);
    Drift {
        pairs: pairs.len(),
        centroid_norm_change: sb.centroid_norm - sa.centroid_norm,
        norm_ks: ks_distance(&rel(&a, sa.row_norm_median), &rel(&b, sb.row_norm_median)),
        pair_cosine_ks: ks_distance(&ca, &cb),
        pair_cosine_mean_change: sb.pair_cosine_mean - sa.pair_cosine_mean,
        pair_cosine_spearman: spearman,
        drift_score: 1.0 - spearman,
        a: sa,
        b: sb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_of_equal_and_disjoint_samples() {
        assert_eq!(ks_distance(&[1.0, 2.0, 3.0], &[3.0, 1.0, 2.0]), 0.0);
        assert_eq!(ks_distance(&[1.0, 2.0], &[5.0, 6.0]), 1.0);
        // F_x jumps to 1/2 at 1; F_y is 0 until 1.5.
        assert!((ks_distance(&[1.0, 2.0], &[1.5, 2.5]) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn sampled_pairs_are_distinct_indices_in_range_and_reproducible() {
        let p = sample_pairs(7, 500, 3);
        assert!(p.iter().all(|&(i, j)| i != j && i < 7 && j < 7));
        assert_eq!(p, sample_pairs(7, 500, 3));
        assert_ne!(p, sample_pairs(7, 500, 4));
        assert!(sample_pairs(1, 10, 0).is_empty());
    }
}
