//! How faithful a projection is to the original space: trustworthiness@k (Venna & Kaski 2001,
//! as scikit-learn's `trustworthiness`) and kNN preservation@k (the share of each point's k
//! original neighbours that are also among its k neighbours on the map), with the per-point
//! recall the app uses as a colour. Exact up to `EXACT_MAX` points; above that on a stated,
//! seeded random sample of points (each still compared against all points).

use rayon::prelude::*;
use serde::Serialize;

use super::ProjectError;
use crate::analysis::linalg::{Layout, Write, matmul};

/// Up to this many points every point is evaluated.
pub const EXACT_MAX: usize = 20_000;
/// Points evaluated above `EXACT_MAX`: up to 2,000, fewer for very large inputs so the work
/// (points x rows x dims, f64) stays near 4e10 multiply-adds; at least 300.
pub fn sample_size(n: usize, d: usize) -> usize {
    ((4e10 / (n as f64 * d as f64)) as usize).clamp(300, 2_000)
}

#[derive(Debug, Clone, Serialize)]
pub struct Quality {
    pub k: usize,
    pub trustworthiness: f64,
    pub knn_preservation: f64,
    /// Points evaluated (all, or the sample).
    pub evaluated: usize,
    pub sampled: bool,
    /// Per point: |orig kNN ∩ map kNN| / k; NaN for points outside the sample.
    #[serde(skip)]
    pub recall: Vec<f32>,
}

impl Quality {
    /// The two measures in one line, and the sample they were computed on when there was one:
    /// "trustworthiness@10 0.9512  kNN preservation@10 0.4321 (on a random sample of 5000
    /// points)".
    pub fn summary(&self) -> String {
        let k = self.k;
        format!(
            "trustworthiness@{k} {:.4}  kNN preservation@{k} {:.4}{}",
            self.trustworthiness,
            self.knn_preservation,
            if self.sampled {
                format!(" (on a random sample of {} points)", self.evaluated)
            } else {
                String::new()
            }
        )
    }
}

/// Seeded choice of `s` distinct indices out of `n` (partial Fisher-Yates), sorted.
pub(crate) fn sample_indices(n: usize, s: usize, seed: u64) -> Vec<usize> {
    let mut rng = super::Rng::new(seed ^ 0x005E_ED0F_5A4D_u64);
    let mut idx: Vec<usize> = (0..n).collect();
    for i in 0..s.min(n) {
        let j = i + (rng.next_u64() % (n - i) as u64) as usize;
        idx.swap(i, j);
    }
    let mut out = idx[..s.min(n)].to_vec();
    out.sort_unstable();
    out
}

/// Quality of `emb` (n x emb_dim, row-major) as a map of `orig` rows (n x d, row-major).
/// The k smallest (distance, index) pairs in f64, ties by the lower index (k is small).
struct Nearest {
    k: usize,
    items: Vec<(f64, usize)>,
}

impl Nearest {
    fn new(k: usize) -> Self {
        Nearest {
            k,
            items: Vec::with_capacity(k + 1),
        }
    }
    #[inline]
    fn offer(&mut self, d2: f64, j: usize) {
        let before = |a: &(f64, usize)| d2 < a.0 || (d2 == a.0 && j < a.1);
        if self.items.len() == self.k && !self.items.last().is_some_and(before) {
            return;
        }
        let pos = self
            .items
            .iter()
            .position(before)
            .unwrap_or(self.items.len());
        self.items.insert(pos, (d2, j));
        self.items.truncate(self.k);
    }
}

const EB: usize = 256;
const TILE: usize = 4096;

/// Calls `f(r, j, d2)` with the squared f64 distance between `block[r]` and every row `j`,
/// computed by f64 GEMM tiles as |x|^2 + |y|^2 - 2 x.y.
fn for_each_distance(
    data: &[f32],
    d: usize,
    sq: &[f64],
    block: &[usize],
    mut f: impl FnMut(usize, usize, f64),
) {
    let n = data.len() / d;
    let b = block.len();
    let mut q = vec![0f64; b * d];
    for (r, &i) in block.iter().enumerate() {
        for (o, &x) in q[r * d..(r + 1) * d]
            .iter_mut()
            .zip(&data[i * d..(i + 1) * d])
        {
            *o = f64::from(x);
        }
    }
    let mut x = vec![0f64; TILE * d];
    let mut dots = vec![0f64; b * TILE];
    for t0 in (0..n).step_by(TILE) {
        let nt = TILE.min(n - t0);
        for (o, &v) in x[..nt * d].iter_mut().zip(&data[t0 * d..(t0 + nt) * d]) {
            *o = f64::from(v);
        }
        // dots (b x nt) = q (b x d) x^T, x holding nt rows of d.
        matmul(
            &mut dots,
            Layout::row_major(b, nt),
            &q,
            Layout::row_major(b, d),
            &x,
            Layout::row_major(nt, d).t(),
            Write::Overwrite,
        );
        for (r, &i) in block.iter().enumerate() {
            for (jj, &dot) in dots[r * nt..(r + 1) * nt].iter().enumerate() {
                let j = t0 + jj;
                f(r, j, sq[i] + sq[j] - 2.0 * dot);
            }
        }
    }
}

pub fn quality(
    orig: &[f32],
    d: usize,
    emb: &[f32],
    emb_dim: usize,
    k: usize,
    seed: u64,
) -> Result<Quality, ProjectError> {
    let n = orig.len() / d;
    if emb.len() != n * emb_dim {
        return Err(ProjectError::Numeric(
            "embedding and input sizes differ".into(),
        ));
    }
    if n < k + 2 {
        return Err(ProjectError::TooFewPoints {
            n,
            min: k + 2,
            why: format!("quality@{k}"),
        });
    }
    let sampled = n > EXACT_MAX;
    let eval: Vec<usize> = if sampled {
        sample_indices(n, sample_size(n, d), seed)
    } else {
        (0..n).collect()
    };
    // Neighbours in both spaces from exact f64 distances (ties by the lower index), so the
    // measures match a float64 reference such as scikit-learn.
    let sq: Vec<f64> = orig
        .par_chunks(d)
        .map(|r| r.iter().map(|&x| f64::from(x) * f64::from(x)).sum())
        .collect();
    let orig_nn: Vec<Vec<usize>> = eval
        .par_chunks(EB)
        .flat_map_iter(|block| {
            let mut tops: Vec<Nearest> = block.iter().map(|_| Nearest::new(k)).collect();
            for_each_distance(orig, d, &sq, block, |r, j, d2| {
                if j != block[r] {
                    tops[r].offer(d2, j);
                }
            });
            tops.into_iter()
                .map(|t| t.items.into_iter().map(|x| x.1).collect::<Vec<_>>())
        })
        .collect();
    let emb_nn: Vec<Vec<usize>> = eval
        .par_iter()
        .map(|&i| {
            let yi = &emb[i * emb_dim..(i + 1) * emb_dim];
            let mut best = Nearest::new(k);
            for j in (0..n).filter(|&j| j != i) {
                let yj = &emb[j * emb_dim..(j + 1) * emb_dim];
                best.offer(
                    yi.iter()
                        .zip(yj)
                        .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                        .sum(),
                    j,
                );
            }
            best.items.into_iter().map(|x| x.1).collect()
        })
        .collect();
    // Exact original-space ranks of the intruders (map neighbours that are not original ones):
    // rank = 1 + number of points strictly closer than the intruder (the point itself excluded).
    let blocks: Vec<Vec<(f64, usize)>> = eval
        .par_chunks(EB)
        .enumerate()
        .map(|(bi, block)| {
            let b = block.len();
            let mut q = vec![0f64; b * d];
            for (r, &i) in block.iter().enumerate() {
                for (o, &x) in q[r * d..(r + 1) * d]
                    .iter_mut()
                    .zip(&orig[i * d..(i + 1) * d])
                {
                    *o = f64::from(x);
                }
            }
            // Intruders of each point and their squared distances.
            let mut intr: Vec<Vec<(usize, f64)>> = Vec::with_capacity(b);
            for (r, &i) in block.iter().enumerate() {
                let e = bi * EB + r;
                let on: std::collections::HashSet<usize> = orig_nn[e].iter().copied().collect();
                let qi = &q[r * d..(r + 1) * d];
                intr.push(
                    emb_nn[e]
                        .iter()
                        .copied()
                        .filter(|j| !on.contains(j))
                        .map(|j| {
                            let dot: f64 = qi
                                .iter()
                                .zip(&orig[j * d..(j + 1) * d])
                                .map(|(&a, &c)| a * f64::from(c))
                                .sum();
                            (j, sq[i] + sq[j] - 2.0 * dot)
                        })
                        .collect(),
                );
            }
            let mut closer: Vec<Vec<usize>> = intr.iter().map(|v| vec![0; v.len()]).collect();
            if intr.iter().any(|v| !v.is_empty()) {
                for_each_distance(orig, d, &sq, block, |r, j, dj| {
                    if j == block[r] {
                        return;
                    }
                    for (c, &(ji, t)) in closer[r].iter_mut().zip(&intr[r]) {
                        if j != ji && dj < t {
                            *c += 1;
                        }
                    }
                });
            }
            (0..b)
                .map(|r| {
                    let pen: f64 = closer[r]
                        .iter()
                        .map(|&c| (c + 1).saturating_sub(k) as f64)
                        .sum();
                    (pen, k - intr[r].len())
                })
                .collect()
        })
        .collect();
    let penalties: Vec<(f64, usize)> = blocks.into_iter().flatten().collect();
    let s = eval.len() as f64;
    let (nf, kf) = (n as f64, k as f64);
    let total_pen: f64 = penalties.iter().map(|p| p.0).sum();
    let trust = 1.0 - 2.0 / (s * kf * (2.0 * nf - 3.0 * kf - 1.0)) * total_pen;
    let mut recall = vec![f32::NAN; n];
    for (&i, p) in eval.iter().zip(&penalties) {
        recall[i] = p.1 as f32 / k as f32;
    }
    let knn_pres = penalties.iter().map(|p| p.1 as f64).sum::<f64>() / (s * k as f64);
    Ok(Quality {
        k,
        trustworthiness: trust,
        knn_preservation: knn_pres,
        evaluated: eval.len(),
        sampled,
        recall,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_k_and_the_sample() {
        let mut q = Quality {
            k: 10,
            trustworthiness: 0.95123,
            knn_preservation: 0.5,
            evaluated: 5000,
            sampled: false,
            recall: Vec::new(),
        };
        assert_eq!(
            q.summary(),
            "trustworthiness@10 0.9512  kNN preservation@10 0.5000"
        );
        q.sampled = true;
        assert!(
            q.summary()
                .ends_with(" (on a random sample of 5000 points)")
        );
    }
}
