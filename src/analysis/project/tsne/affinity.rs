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
/// (P + P^T) normalised to sum 1. The lists are taken over and turned, in place, into each
/// point's conditional p_{j|i} sorted by neighbour; the transpose is built by counting (each of
/// its rows lists its sources in increasing order); then each row of the result is merged from
/// its own list and its transposed one twice, in parallel: once to count its entries, once to
/// write them into the CSR arrays allocated at their final size. At its peak this holds the
/// lists (16 bytes an edge), the transpose (12) and the result (12 an entry, up to two entries
/// an edge): about 52 bytes an edge, where a merged copy of every row beside the CSR held 84.
pub fn joint(mut nbrs: Vec<Vec<(u32, f64)>>, perplexity: f64) -> Csr {
    let n = nbrs.len();
    nbrs.par_iter_mut().for_each(|row| {
        let d2: Vec<f64> = row.iter().map(|x| x.1).collect();
        for (x, p) in row.iter_mut().zip(conditional_row(&d2, perplexity)) {
            x.1 = p;
        }
        row.sort_by_key(|x| x.0);
    });
    let mut tptr = vec![0usize; n + 1];
    for row in &nbrs {
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
    for (i, row) in nbrs.iter().enumerate() {
        for &(j, pj) in row {
            let at = &mut fill[j as usize];
            tsrc[*at] = i as u32;
            tval[*at] = pj;
            *at += 1;
        }
    }
    drop(fill);
    let transposed = |i: usize| (&tsrc[tptr[i]..tptr[i + 1]], &tval[tptr[i]..tptr[i + 1]]);
    let lens: Vec<usize> = (0..n)
        .into_par_iter()
        .map(|i| {
            let (src, val) = transposed(i);
            let mut len = 0;
            merge_row(&nbrs[i], src, val, |new, _, _| len += usize::from(new));
            len
        })
        .collect();
    let mut indptr = Vec::with_capacity(n + 1);
    indptr.push(0);
    for l in lens {
        indptr.push(indptr[indptr.len() - 1] + l);
    }
    let nnz = indptr[n];
    let mut indices = vec![0u32; nnz];
    let mut values = vec![0f64; nnz];
    // Blocks of rows write disjoint stretches of the arrays; each block returns its rows' sums.
    const BLOCK: usize = 1024;
    let mut blocks = Vec::with_capacity(n.div_ceil(BLOCK));
    let (mut idx_rest, mut val_rest) = (&mut indices[..], &mut values[..]);
    for r0 in (0..n).step_by(BLOCK) {
        let r1 = (r0 + BLOCK).min(n);
        let len = indptr[r1] - indptr[r0];
        let (idx, ir) = std::mem::take(&mut idx_rest).split_at_mut(len);
        let (val, vr) = std::mem::take(&mut val_rest).split_at_mut(len);
        (idx_rest, val_rest) = (ir, vr);
        blocks.push((r0..r1, idx, val));
    }
    let sums: Vec<Vec<f64>> = blocks
        .into_par_iter()
        .map(|(rows, idx, val)| {
            let base = indptr[rows.start];
            let mut sums = Vec::with_capacity(rows.len());
            for i in rows {
                let (src, tv) = transposed(i);
                let (a, b) = (indptr[i] - base, indptr[i + 1] - base);
                let (ri, rv) = (&mut idx[a..b], &mut val[a..b]);
                let mut at = 0;
                merge_row(&nbrs[i], src, tv, |new, j, v| {
                    if new {
                        ri[at] = j;
                        rv[at] = v;
                        at += 1;
                    } else {
                        rv[at - 1] += v;
                    }
                });
                sums.push(rv.iter().sum::<f64>());
            }
            sums
        })
        .collect();
    drop((nbrs, tsrc, tval, tptr));
    // Row by row in order, as the sum over rows is defined.
    let total: f64 = sums.iter().flatten().sum();
    values.par_iter_mut().for_each(|v| *v /= total);
    Csr {
        indptr,
        indices,
        values,
    }
}

/// Row `i` of P + P^T: its own list (sorted by neighbour) merged with its transposed entries
/// (sources in increasing order), the transposed entry first where both name one point.
/// `put(true, j, v)` starts the entry of point `j`; `put(false, j, v)` adds `v` to it.
fn merge_row(own: &[(u32, f64)], src: &[u32], val: &[f64], mut put: impl FnMut(bool, u32, f64)) {
    let mut last = None;
    let mut push = |j: u32, v: f64| {
        put(last != Some(j), j, v);
        last = Some(j);
    };
    let mut t = 0;
    for &(j, v) in own {
        while t < src.len() && src[t] <= j {
            push(src[t], val[t]);
            t += 1;
        }
        push(j, v);
    }
    for (&j, &v) in src[t..].iter().zip(&val[t..]) {
        push(j, v);
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
        let p = joint(nbrs.clone(), 3.0);
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
        let p = joint(nbrs, 1.5);
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
