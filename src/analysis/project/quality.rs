//! How faithful a projection is to the original space: trustworthiness@k (Venna & Kaski 2001,
//! as scikit-learn's `trustworthiness`) and kNN preservation@k (the share of each point's k
//! original neighbours that are also among its k neighbours on the map), with the per-point
//! recall the app uses as a colour. Exact up to `EXACT_MAX` points; above that on a stated,
//! seeded random sample of points (each still compared against all points).

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::knn::{KnnIndex, Metric, Query};
use crate::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};

use super::ProjectError;

/// Up to this many points every point is evaluated.
pub const EXACT_MAX: usize = 20_000;
/// Points evaluated above `EXACT_MAX`.
pub const SAMPLE: usize = 2_000;

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

/// A throwaway set over a plain row-major buffer (so the kNN engine can run on it).
fn as_set(data: Vec<f32>, n: usize, dim: usize) -> Result<EmbeddingSet, ProjectError> {
    let vocab = Vocab::from_unique((0..n).map(|i| i.to_string()))
        .map_err(|_| ProjectError::Numeric("vocab".into()))?;
    let m = Matrix::from_vec(n, dim, data).map_err(|e| ProjectError::Numeric(e.to_string()))?;
    EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default())
        .map_err(|e| ProjectError::Numeric(e.to_string()))
}

/// Seeded choice of `s` distinct indices out of `n` (partial Fisher-Yates), sorted.
pub(crate) fn sample_indices(n: usize, s: usize, seed: u64) -> Vec<usize> {
    let mut rng = super::Rng::new(seed ^ 0x5EED_0F_5A_4D_u64);
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
        sample_indices(n, SAMPLE, seed)
    } else {
        (0..n).collect()
    };
    let orig_set = as_set(orig.to_vec(), n, d)?;
    let emb_set = as_set(emb.to_vec(), n, emb_dim)?;
    let oi = KnnIndex::new(&orig_set);
    let ei = KnnIndex::new(&emb_set);
    let knn = |idx: &KnnIndex, data: &[f32], dim: usize| -> Result<Vec<Vec<usize>>, ProjectError> {
        let qs: Vec<Query> = eval
            .iter()
            .map(|&i| Query {
                vector: data[i * dim..(i + 1) * dim].to_vec(),
                exclude: vec![i],
            })
            .collect();
        let res = idx
            .search(&qs, k, Metric::Euclidean, None)
            .map_err(|e| ProjectError::Numeric(e.to_string()))?;
        Ok(res
            .into_iter()
            .map(|l| l.into_iter().map(|x| x.index).collect())
            .collect())
    };
    let orig_nn = knn(&oi, orig, d)?;
    let emb_nn = knn(&ei, emb, emb_dim)?;
    // Exact original-space ranks of the intruders (map neighbours that are not original ones):
    // rank = 1 + number of points strictly closer than the intruder (the point itself excluded).
    // Distances come from f64 GEMM tiles: |x|^2 + |y|^2 - 2 x.y.
    let sq: Vec<f64> = orig
        .par_chunks(d)
        .map(|r| r.iter().map(|&x| f64::from(x) * f64::from(x)).sum())
        .collect();
    const EB: usize = 256;
    const TILE: usize = 4096;
    let blocks: Vec<Vec<(f64, f32)>> = eval
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
                let mut x = vec![0f64; TILE * d];
                let mut dots = vec![0f64; b * TILE];
                for t0 in (0..n).step_by(TILE) {
                    let nt = TILE.min(n - t0);
                    for (o, &v) in x[..nt * d].iter_mut().zip(&orig[t0 * d..(t0 + nt) * d]) {
                        *o = f64::from(v);
                    }
                    // SAFETY: dots is b x nt (row stride nt); lhs q is b x d row-major; rhs =
                    // x^T viewed as d x nt (row stride 1, column stride d).
                    unsafe {
                        gemm::gemm(
                            b,
                            nt,
                            d,
                            dots.as_mut_ptr(),
                            1,
                            nt as isize,
                            false,
                            q.as_ptr(),
                            1,
                            d as isize,
                            x.as_ptr(),
                            d as isize,
                            1,
                            0.0,
                            1.0,
                            false,
                            false,
                            false,
                            gemm::Parallelism::None,
                        );
                    }
                    for (r, &i) in block.iter().enumerate() {
                        if intr[r].is_empty() {
                            continue;
                        }
                        let row = &dots[r * nt..(r + 1) * nt];
                        for (jj, &dot) in row.iter().enumerate() {
                            let j = t0 + jj;
                            if j == i {
                                continue;
                            }
                            let dj = sq[i] + sq[j] - 2.0 * dot;
                            for (c, &(ji, t)) in closer[r].iter_mut().zip(&intr[r]) {
                                if j != ji && dj < t {
                                    *c += 1;
                                }
                            }
                        }
                    }
                }
            }
            (0..b)
                .map(|r| {
                    let pen: f64 = closer[r]
                        .iter()
                        .map(|&c| (c + 1).saturating_sub(k) as f64)
                        .sum();
                    (pen, (k - intr[r].len()) as f32 / k as f32)
                })
                .collect()
        })
        .collect();
    let penalties: Vec<(f64, f32)> = blocks.into_iter().flatten().collect();
    let s = eval.len() as f64;
    let (nf, kf) = (n as f64, k as f64);
    let total_pen: f64 = penalties.iter().map(|p| p.0).sum();
    let trust = 1.0 - 2.0 / (s * kf * (2.0 * nf - 3.0 * kf - 1.0)) * total_pen;
    let mut recall = vec![f32::NAN; n];
    for (&i, p) in eval.iter().zip(&penalties) {
        recall[i] = p.1;
    }
    let knn_pres = penalties.iter().map(|p| f64::from(p.1)).sum::<f64>() / s;
    Ok(Quality {
        k,
        trustworthiness: trust,
        knn_preservation: knn_pres,
        evaluated: eval.len(),
        sampled,
        recall,
    })
}
