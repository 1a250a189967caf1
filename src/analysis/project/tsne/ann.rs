//! Approximate k nearest neighbours for large t-SNE inputs (beyond `EXACT_MAX` points, where the
//! exact search's n^2 cost dominates): an inverted-file index. k-means splits the points into
//! about sqrt(n) cells; each point is compared, with exact distances, to the members of the cells
//! nearest to it (the cells probed by the points of its own cell, so a whole cell is one GEMM).
//! Deterministic for a seed; the recall against exact search is measured on a sample.

use rayon::prelude::*;

use crate::analysis::knn::{KnnIndex, Metric, Query};
use crate::analysis::linalg::{Layout, Write, matmul};
use crate::analysis::project::Rng;
use crate::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};

/// One point's neighbours: (row, squared distance), nearest first.
type Neighbours = Vec<(u32, f64)>;

/// Up to this many points t-SNE uses the exact kNN.
pub const EXACT_MAX: usize = 200_000;

pub struct AnnParams {
    /// Cells probed per point, as a share of all cells.
    pub probe_share: f64,
    pub kmeans_iterations: usize,
    pub seed: u64,
}

impl AnnParams {
    pub fn new(seed: u64) -> Self {
        AnnParams {
            probe_share: 0.05,
            kmeans_iterations: 6,
            seed,
        }
    }
}

fn set_of(data: Vec<f32>, n: usize, d: usize) -> Option<EmbeddingSet> {
    let vocab = Vocab::from_unique((0..n).map(|i| i.to_string())).ok()?;
    EmbeddingSet::new(
        vocab,
        Matrix::from_vec(n, d, data).ok()?,
        Metadata::new(),
        Provenance::default(),
    )
    .ok()
}

/// The `m` nearest centroids of each row (exact, euclidean).
fn nearest_cells(data: &[f32], d: usize, centroids: &EmbeddingSet, m: usize) -> Vec<Vec<u32>> {
    let idx = KnnIndex::new(centroids);
    let n = data.len() / d;
    let mut out = Vec::with_capacity(n);
    for chunk in (0..n).collect::<Vec<_>>().chunks(8192) {
        let qs: Vec<Query> = chunk
            .iter()
            .map(|&i| Query {
                vector: data[i * d..(i + 1) * d].to_vec(),
                exclude: Vec::new(),
            })
            .collect();
        match idx.search(&qs, m, Metric::Euclidean, None) {
            Ok(res) => out.extend(
                res.into_iter()
                    .map(|l| l.into_iter().map(|x| x.index as u32).collect()),
            ),
            Err(_) => out.extend(chunk.iter().map(|_| vec![0])),
        }
    }
    out
}

fn kmeans(data: &[f32], n: usize, d: usize, c: usize, p: &AnnParams) -> EmbeddingSet {
    let sample = super::super::quality::sample_indices(n, (40 * c).min(n), p.seed);
    let sdata: Vec<f32> = sample
        .iter()
        .flat_map(|&i| data[i * d..(i + 1) * d].iter().copied())
        .collect();
    let ns = sample.len();
    let mut rng = Rng::new(p.seed ^ 0xC0FF_EE00);
    let mut cent: Vec<f32> = Vec::with_capacity(c * d);
    for i in super::super::quality::sample_indices(ns, c, p.seed ^ 0xBEEF) {
        cent.extend_from_slice(&sdata[i * d..(i + 1) * d]);
    }
    for _ in 0..p.kmeans_iterations {
        let Some(cs) = set_of(cent.clone(), c, d) else {
            break;
        };
        let assign = nearest_cells(&sdata, d, &cs, 1);
        let mut sum = vec![0f64; c * d];
        let mut count = vec![0usize; c];
        for (i, a) in assign.iter().enumerate() {
            let a = a[0] as usize;
            count[a] += 1;
            for (s, &x) in sum[a * d..(a + 1) * d]
                .iter_mut()
                .zip(&sdata[i * d..(i + 1) * d])
            {
                *s += f64::from(x);
            }
        }
        for j in 0..c {
            if count[j] == 0 {
                // An empty cell restarts at a random sample point.
                let r = (rng.next_u64() % ns as u64) as usize;
                cent[j * d..(j + 1) * d].copy_from_slice(&sdata[r * d..(r + 1) * d]);
            } else {
                for (t, s) in cent[j * d..(j + 1) * d]
                    .iter_mut()
                    .zip(&sum[j * d..(j + 1) * d])
                {
                    *t = (s / count[j] as f64) as f32;
                }
            }
        }
    }
    set_of(cent, c, d).unwrap_or_else(|| set_of(data[..d].to_vec(), 1, d).expect("one centroid"))
}

/// Approximate k nearest neighbours of every row (self excluded), with squared distances.
pub fn knn(data: &[f32], n: usize, d: usize, k: usize, p: &AnnParams) -> Vec<Vec<(u32, f64)>> {
    let c = ((n as f64).sqrt() as usize).clamp(16, 4096);
    let centroids = kmeans(data, n, d, c, p);
    let c = centroids.rows();
    let nprobe = ((c as f64 * p.probe_share).ceil() as usize).clamp(2, c);
    let probes = nearest_cells(data, d, &centroids, nprobe);
    let mut members: Vec<Vec<u32>> = vec![Vec::new(); c];
    for (i, pr) in probes.iter().enumerate() {
        members[pr[0] as usize].push(i as u32);
    }
    let sq: Vec<f32> = data
        .par_chunks(d)
        .map(|r| r.iter().map(|x| x * x).sum())
        .collect();
    // One cell at a time: its points against the members of the cells they probe most.
    let per_cell: Vec<Vec<(u32, Neighbours)>> = members
        .par_iter()
        .map(|queries| {
            if queries.is_empty() {
                return Vec::new();
            }
            let mut votes = vec![0usize; c];
            for &q in queries {
                for &cell in &probes[q as usize] {
                    votes[cell as usize] += 1;
                }
            }
            let mut cells: Vec<usize> = (0..c).filter(|&x| votes[x] > 0).collect();
            cells.sort_by(|a, b| votes[*b].cmp(&votes[*a]).then(a.cmp(b)));
            cells.truncate(2 * nprobe);
            let cand: Vec<u32> = cells
                .iter()
                .flat_map(|&x| members[x].iter().copied())
                .collect();
            let x: Vec<f32> = cand
                .iter()
                .flat_map(|&j| data[j as usize * d..(j as usize + 1) * d].iter().copied())
                .collect();
            let qm: Vec<f32> = queries
                .iter()
                .flat_map(|&q| data[q as usize * d..(q as usize + 1) * d].iter().copied())
                .collect();
            let (nq, nc) = (queries.len(), cand.len());
            let mut out: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(k + 1); nq];
            const TILE: usize = 2048;
            let mut dots = vec![0f32; nq.min(512) * TILE];
            for q0 in (0..nq).step_by(512) {
                let qn = 512.min(nq - q0);
                for t0 in (0..nc).step_by(TILE) {
                    let tn = TILE.min(nc - t0);
                    let dst = &mut dots[..qn * tn];
                    // dst (qn x tn) = (qm rows q0..) (x rows t0..)^T.
                    matmul(
                        dst,
                        Layout::row_major(qn, tn),
                        &qm[q0 * d..],
                        Layout::row_major(qn, d),
                        &x[t0 * d..],
                        Layout::row_major(tn, d).t(),
                        Write::Overwrite,
                    );
                    for qi in 0..qn {
                        let q = queries[q0 + qi];
                        let best = &mut out[q0 + qi];
                        for (t, &dot) in dst[qi * tn..(qi + 1) * tn].iter().enumerate() {
                            let j = cand[t0 + t];
                            if j == q {
                                continue;
                            }
                            let dist = (sq[q as usize] + sq[j as usize] - 2.0 * dot).max(0.0);
                            if best.len() >= k && best.last().is_some_and(|w| dist >= w.0) {
                                continue;
                            }
                            let pos = best
                                .iter()
                                .position(|w| dist < w.0 || (dist == w.0 && j < w.1))
                                .unwrap_or(best.len());
                            best.insert(pos, (dist, j));
                            best.truncate(k);
                        }
                    }
                }
            }
            queries
                .iter()
                .zip(out)
                .map(|(&q, best)| {
                    (
                        q,
                        best.into_iter()
                            .map(|(dist, j)| (j, f64::from(dist)))
                            .collect(),
                    )
                })
                .collect()
        })
        .collect();
    let mut result: Vec<Vec<(u32, f64)>> = vec![Vec::new(); n];
    for cell in per_cell {
        for (q, list) in cell {
            result[q as usize] = list;
        }
    }
    result
}

/// Share of the exact k nearest neighbours found, over a seeded sample of `s` points.
pub fn recall(
    set: &EmbeddingSet,
    approx: &[Vec<(u32, f64)>],
    k: usize,
    s: usize,
    seed: u64,
) -> f64 {
    let n = set.rows();
    let sample = super::super::quality::sample_indices(n, s.min(n), seed);
    let idx = KnnIndex::new(set);
    let qs: Vec<Query> = sample
        .iter()
        .map(|&i| Query {
            vector: set.matrix.row(i).to_vec(),
            exclude: vec![i],
        })
        .collect();
    let Ok(exact) = idx.search(&qs, k, Metric::Euclidean, None) else {
        return f64::NAN;
    };
    let mut hit = 0usize;
    for (&i, e) in sample.iter().zip(&exact) {
        let got: std::collections::HashSet<u32> = approx[i].iter().map(|x| x.0).collect();
        hit += e
            .iter()
            .filter(|nb| got.contains(&(nb.index as u32)))
            .count();
    }
    hit as f64 / (sample.len() * k) as f64
}
