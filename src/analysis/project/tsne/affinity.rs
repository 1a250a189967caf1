//! Input similarities: Gaussian conditional probabilities over each point's k nearest
//! neighbours with the bandwidth set by binary search to match the perplexity, then symmetrised
//! and normalised to sum 1 (a sparse matrix in CSR form).

use rayon::prelude::*;

/// Sparse symmetric affinities.
#[derive(Debug, Clone)]
pub struct Csr {
    pub indptr: Vec<usize>,
    pub indices: Vec<u32>,
    pub values: Vec<f64>,
}

impl Csr {
    pub fn n(&self) -> usize {
        self.indptr.len() - 1
    }
    pub fn row(&self, i: usize) -> (&[u32], &[f64]) {
        let (a, b) = (self.indptr[i], self.indptr[i + 1]);
        (&self.indices[a..b], &self.values[a..b])
    }
}

/// Binary search tolerance on the entropy and the iteration cap.
const TOL: f64 = 1e-8;
const MAX_ITER: usize = 200;

/// Conditional p_{j|i} for one point from its neighbours' squared distances.
pub fn conditional_row(d2: &[f64], perplexity: f64) -> Vec<f64> {
    let target = perplexity.ln();
    let mut beta = 1.0f64;
    let (mut lo, mut hi) = (f64::NEG_INFINITY, f64::INFINITY);
    let dmin = d2.iter().copied().fold(f64::INFINITY, f64::min);
    let mut p = vec![0f64; d2.len()];
    for _ in 0..MAX_ITER {
        // Shift by the smallest distance: exp never underflows for every entry at once.
        let mut sum = 0.0;
        for (pj, &d) in p.iter_mut().zip(d2) {
            *pj = (-(d - dmin) * beta).exp();
            sum += *pj;
        }
        let mut h = 0.0;
        for (pj, &d) in p.iter_mut().zip(d2) {
            *pj /= sum;
            h += *pj * (d - dmin) * beta;
        }
        // H = log(sum) + beta * E[d] with the shift folded in: entropy of p.
        let entropy = h + sum.ln();
        let diff = entropy - target;
        if diff.abs() < TOL {
            break;
        }
        if diff > 0.0 {
            lo = beta;
            beta = if hi.is_finite() {
                (beta + hi) / 2.0
            } else {
                beta * 2.0
            };
        } else {
            hi = beta;
            beta = if lo.is_finite() {
                (beta + lo) / 2.0
            } else {
                beta / 2.0
            };
        }
    }
    p
}

/// Symmetric P from each point's neighbour lists (`nbrs[i]` = (index, squared distance)).
pub fn joint(nbrs: &[Vec<(u32, f64)>], perplexity: f64) -> Csr {
    let n = nbrs.len();
    let cond: Vec<Vec<f64>> = nbrs
        .par_iter()
        .map(|row| {
            let d2: Vec<f64> = row.iter().map(|x| x.1).collect();
            conditional_row(&d2, perplexity)
        })
        .collect();
    // P + P^T: gather both directions per row, then merge duplicates.
    let mut rows: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    for (i, (row, p)) in nbrs.iter().zip(&cond).enumerate() {
        for (&(j, _), &pj) in row.iter().zip(p) {
            rows[i].push((j, pj));
            rows[j as usize].push((i as u32, pj));
        }
    }
    let merged: Vec<Vec<(u32, f64)>> = rows
        .into_par_iter()
        .map(|mut r| {
            r.sort_by_key(|x| x.0);
            let mut out: Vec<(u32, f64)> = Vec::with_capacity(r.len());
            for (j, v) in r {
                match out.last_mut() {
                    Some(last) if last.0 == j => last.1 += v,
                    _ => out.push((j, v)),
                }
            }
            out
        })
        .collect();
    let total: f64 = merged
        .iter()
        .map(|r| r.iter().map(|x| x.1).sum::<f64>())
        .sum();
    let mut indptr = Vec::with_capacity(n + 1);
    let mut indices = Vec::new();
    let mut values = Vec::new();
    indptr.push(0);
    for r in merged {
        for (j, v) in r {
            indices.push(j);
            values.push(v / total);
        }
        indptr.push(indices.len());
    }
    Csr {
        indptr,
        indices,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perplexity_is_matched() {
        let d2: Vec<f64> = (1..=90).map(|i| (i as f64) * 0.37).collect();
        for perp in [5.0, 30.0] {
            let p = conditional_row(&d2, perp);
            let h: f64 = -p
                .iter()
                .filter(|&&x| x > 0.0)
                .map(|&x| x * x.ln())
                .sum::<f64>();
            assert!(
                (h.exp() - perp).abs() < 1e-4,
                "perplexity {} vs {perp}",
                h.exp()
            );
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn joint_is_symmetric_and_normalised() {
        let nbrs = vec![
            vec![(1u32, 1.0), (2, 4.0)],
            vec![(0u32, 1.0), (2, 1.0)],
            vec![(1u32, 1.0), (0, 4.0)],
        ];
        let p = joint(&nbrs, 1.5);
        let get = |i: usize, j: u32| {
            let (idx, v) = p.row(i);
            idx.iter().position(|&x| x == j).map_or(0.0, |k| v[k])
        };
        assert!((p.values.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        for i in 0..3 {
            for j in 0..3u32 {
                assert!((get(i, j) - get(j as usize, i as u32)).abs() < 1e-15);
            }
        }
    }
}
