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

/// Tolerance on the entropy and the iteration cap of the bandwidth search.
const TOL: f64 = 1e-8;
const MAX_ITER: usize = 200;

/// Conditional p_{j|i} for one point from its neighbours' squared distances: the Gaussian
/// precision `beta` whose distribution has entropy ln(perplexity), to `TOL`. The search keeps a
/// bracket as a bisection does (doubling or halving until the target is bracketed) and takes
/// Newton's step on H(beta) where it falls inside the bracket (dH/dbeta = -beta Var[d]), which
/// reaches the tolerance in a handful of steps instead of the bisection's thirty or so.
pub fn conditional_row(d2: &[f64], perplexity: f64) -> Vec<f64> {
    let target = perplexity.ln();
    let mut beta = 1.0f64;
    let (mut lo, mut hi) = (0.0f64, f64::INFINITY);
    let dmin = d2.iter().copied().fold(f64::INFINITY, f64::min);
    let mut p = vec![0f64; d2.len()];
    let mut sum = 1.0;
    for _ in 0..MAX_ITER {
        // Shift by the smallest distance: exp never underflows for every entry at once.
        sum = 0.0;
        let (mut m1, mut m2) = (0.0, 0.0);
        for (pj, &d) in p.iter_mut().zip(d2) {
            let s = d - dmin;
            let e = (-s * beta).exp();
            *pj = e;
            sum += e;
            m1 += e * s;
            m2 += e * s * s;
        }
        let (mean, second) = (m1 / sum, m2 / sum);
        // H = log(sum) + beta * E[d] with the shift folded in: entropy of p.
        let entropy = sum.ln() + beta * mean;
        let diff = entropy - target;
        if diff.abs() < TOL {
            break;
        }
        if diff > 0.0 {
            lo = beta;
        } else {
            hi = beta;
        }
        let var = (second - mean * mean).max(0.0);
        let newton = beta + diff / (beta * var);
        beta = if var > 0.0 && newton > lo && newton < hi && newton.is_finite() {
            newton
        } else if diff > 0.0 {
            if hi.is_finite() {
                (beta + hi) / 2.0
            } else {
                beta * 2.0
            }
        } else if lo > 0.0 {
            (beta + lo) / 2.0
        } else {
            beta / 2.0
        };
    }
    p.iter_mut().for_each(|pj| *pj /= sum);
    p
}

/// Symmetric P from each point's neighbour lists (`nbrs[i]` = (index, squared distance)):
/// (P + P^T) normalised to sum 1. The transpose is built by counting (each of its rows lists
/// its sources in increasing order), then every row merges its own sorted list with its
/// transposed one in parallel.
pub fn joint(nbrs: &[Vec<(u32, f64)>], perplexity: f64) -> Csr {
    let n = nbrs.len();
    let cond: Vec<Vec<f64>> = nbrs
        .par_iter()
        .map(|row| {
            let d2: Vec<f64> = row.iter().map(|x| x.1).collect();
            conditional_row(&d2, perplexity)
        })
        .collect();
    let mut tptr = vec![0usize; n + 1];
    for row in nbrs {
        for &(j, _) in row {
            tptr[j as usize + 1] += 1;
        }
    }
    for j in 0..n {
        tptr[j + 1] += tptr[j];
    }
    let mut fill = tptr[..n].to_vec();
    let mut tsrc = vec![0u32; tptr[n]];
    let mut tval = vec![0f64; tptr[n]];
    for (i, (row, p)) in nbrs.iter().zip(&cond).enumerate() {
        for (&(j, _), &pj) in row.iter().zip(p) {
            let at = &mut fill[j as usize];
            tsrc[*at] = i as u32;
            tval[*at] = pj;
            *at += 1;
        }
    }
    let merged: Vec<Vec<(u32, f64)>> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut own: Vec<(u32, f64)> = nbrs[i]
                .iter()
                .zip(&cond[i])
                .map(|(&(j, _), &p)| (j, p))
                .collect();
            own.sort_by_key(|x| x.0);
            let (a, b) = (tptr[i], tptr[i + 1]);
            let mut theirs = tsrc[a..b].iter().zip(&tval[a..b]).peekable();
            let mut out: Vec<(u32, f64)> = Vec::with_capacity(own.len() + b - a);
            let mut push = |j: u32, v: f64| match out.last_mut() {
                Some(last) if last.0 == j => last.1 += v,
                _ => out.push((j, v)),
            };
            for (j, v) in own {
                while let Some(&(&t, &tv)) = theirs.peek() {
                    if t > j {
                        break;
                    }
                    push(t, tv);
                    theirs.next();
                }
                push(j, v);
            }
            for (&t, &tv) in theirs {
                push(t, tv);
            }
            out
        })
        .collect();
    drop(cond);
    let total: f64 = merged
        .iter()
        .map(|r| r.iter().map(|x| x.1).sum::<f64>())
        .sum();
    let mut indptr = Vec::with_capacity(n + 1);
    let nnz = merged.iter().map(Vec::len).sum();
    let mut indices = Vec::with_capacity(nnz);
    let mut values = Vec::with_capacity(nnz);
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

    /// exp(entropy) of a distribution.
    fn perplexity_of(p: &[f64]) -> f64 {
        let h: f64 = -p
            .iter()
            .filter(|&&x| x > 0.0)
            .map(|&x| x * x.ln())
            .sum::<f64>();
        h.exp()
    }

    #[test]
    fn perplexity_is_matched() {
        let d2: Vec<f64> = (1..=90).map(|i| (i as f64) * 0.37).collect();
        for perp in [5.0, 30.0] {
            let p = conditional_row(&d2, perp);
            let got = perplexity_of(&p);
            assert!((got - perp).abs() < 1e-4, "perplexity {got} vs {perp}");
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn bandwidth_search_handles_wide_and_flat_distances() {
        let cases: Vec<Vec<f64>> = vec![
            (1..=90).map(|i| (i as f64) * 1e-6).collect(),
            (1..=90).map(|i| 1e4 + (i as f64) * 50.0).collect(),
            (1..=90).map(|i| ((i as f64) * 0.13).exp()).collect(),
            [vec![0.0; 10], vec![7.5; 80]].concat(),
        ];
        for (c, d2) in cases.iter().enumerate() {
            let p = conditional_row(d2, 30.0);
            let got = perplexity_of(&p);
            assert!((got - 30.0).abs() < 1e-4, "case {c}: perplexity {got}");
            assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-12, "case {c}");
        }
        // Equal distances: every neighbour gets 1/k whatever the target.
        let p = conditional_row(&[2.0; 10], 3.0);
        assert!(p.iter().all(|&x| (x - 0.1).abs() < 1e-12));
    }

    #[test]
    fn joint_matches_a_dense_construction() {
        let mut rng = crate::analysis::project::Rng::new(9);
        let n = 60;
        let nbrs: Vec<Vec<(u32, f64)>> = (0..n)
            .map(|i| {
                let mut js: Vec<u32> = (0..n as u32).filter(|&j| j != i as u32).collect();
                // A seeded shuffle: the first 12 become the neighbours, in no sorted order.
                for a in (1..js.len()).rev() {
                    let b = (rng.uniform() * (a + 1) as f64) as usize;
                    js.swap(a, b.min(a));
                }
                js.truncate(12);
                js.into_iter()
                    .map(|j| (j, 1.0 + rng.uniform() * 5.0))
                    .collect()
            })
            .collect();
        let p = joint(&nbrs, 3.0);
        let mut dense = vec![0.0; n * n];
        for (i, row) in nbrs.iter().enumerate() {
            let d2: Vec<f64> = row.iter().map(|x| x.1).collect();
            for (&(j, _), c) in row.iter().zip(conditional_row(&d2, 3.0)) {
                dense[i * n + j as usize] += c;
                dense[j as usize * n + i] += c;
            }
        }
        let total: f64 = dense.iter().sum();
        for i in 0..n {
            let (idx, val) = p.row(i);
            assert!(
                idx.windows(2).all(|w| w[0] < w[1]),
                "row {i} sorted, no repeats"
            );
            let nonzero = (0..n).filter(|&j| dense[i * n + j] > 0.0).count();
            assert_eq!(idx.len(), nonzero, "row {i}");
            for (&j, &v) in idx.iter().zip(val) {
                assert!(
                    (v - dense[i * n + j as usize] / total).abs() < 1e-15,
                    "({i}, {j})"
                );
            }
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
