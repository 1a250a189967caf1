//! k-means clusters of embedding rows (cosine geometry: rows are normalised first), for
//! colouring maps. Fitted by Lloyd's algorithm on a seeded sample of at most `FIT_SAMPLE` rows
//! with k-means++ seeding, then every row is assigned to its nearest centre.

use rayon::prelude::*;

use crate::analysis::AnalysisError;
use crate::core::Matrix;

const FIT_SAMPLE: usize = 20_000;
const ITERATIONS: usize = 25;

fn unit(row: &[f32]) -> Vec<f32> {
    let n = row
        .iter()
        .map(|x| f64::from(*x).powi(2))
        .sum::<f64>()
        .sqrt();
    if n > 0.0 && n.is_finite() {
        row.iter().map(|x| (f64::from(*x) / n) as f32).collect()
    } else {
        vec![0.0; row.len()]
    }
}

fn dist2(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum()
}

fn nearest(centres: &[Vec<f32>], v: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::INFINITY);
    for (k, c) in centres.iter().enumerate() {
        let d = dist2(c, v);
        if d < best.1 {
            best = (k, d);
        }
    }
    best
}

/// Cluster label (0..k) of every row; rows holding NaN/Inf or zeros get label `k`.
pub fn kmeans(m: &Matrix, k: usize, seed: u64) -> Vec<u32> {
    let n = m.rows();
    let valid: Vec<usize> = (0..n)
        .filter(|&i| {
            let r = m.row(i);
            r.iter().all(|x| x.is_finite()) && r.iter().any(|&x| x != 0.0)
        })
        .collect();
    let k = k.max(1).min(valid.len().max(1));
    let mut out = vec![k as u32; n];
    if valid.is_empty() {
        return out;
    }
    let mut s = seed ^ 0x2545_F491_4F6C_DD1D;
    let mut rand = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        s
    };
    // Sample (partial Fisher-Yates over the valid rows).
    let mut pool = valid.clone();
    let take = pool.len().min(FIT_SAMPLE);
    for i in 0..take {
        let j = i + (rand() % (pool.len() - i) as u64) as usize;
        pool.swap(i, j);
    }
    let sample: Vec<Vec<f32>> = pool[..take].iter().map(|&i| unit(m.row(i))).collect();
    // k-means++ seeding.
    let mut centres: Vec<Vec<f32>> = vec![sample[(rand() % take as u64) as usize].clone()];
    let mut d2: Vec<f32> = sample.iter().map(|v| dist2(v, &centres[0])).collect();
    while centres.len() < k {
        let total: f64 = d2.iter().map(|&x| f64::from(x)).sum();
        let pick = if total > 0.0 {
            let mut t = (rand() >> 11) as f64 / (1u64 << 53) as f64 * total;
            let mut idx = take - 1;
            for (i, &x) in d2.iter().enumerate() {
                t -= f64::from(x);
                if t <= 0.0 {
                    idx = i;
                    break;
                }
            }
            idx
        } else {
            (rand() % take as u64) as usize
        };
        centres.push(sample[pick].clone());
        let c = centres.last().cloned().unwrap_or_default();
        for (v, d) in sample.iter().zip(d2.iter_mut()) {
            *d = d.min(dist2(v, &c));
        }
    }
    // Lloyd iterations on the sample.
    let dim = m.dim();
    for _ in 0..ITERATIONS {
        let labels: Vec<usize> = sample.par_iter().map(|v| nearest(&centres, v).0).collect();
        let mut sums = vec![vec![0f64; dim]; k];
        let mut counts = vec![0usize; k];
        for (v, &l) in sample.iter().zip(&labels) {
            counts[l] += 1;
            for (s, x) in sums[l].iter_mut().zip(v) {
                *s += f64::from(*x);
            }
        }
        let mut moved = false;
        for c in 0..k {
            if counts[c] == 0 {
                continue;
            }
            let new: Vec<f32> = sums[c]
                .iter()
                .map(|s| (s / counts[c] as f64) as f32)
                .collect();
            moved |= dist2(&new, &centres[c]) > 1e-10;
            centres[c] = new;
        }
        if !moved {
            break;
        }
    }
    let labels: Vec<(usize, u32)> = valid
        .par_iter()
        .map(|&i| (i, nearest(&centres, &unit(m.row(i))).0 as u32))
        .collect();
    for (i, l) in labels {
        out[i] = l;
    }
    out
}

/// k-means over every row (Lloyd's algorithm, euclidean), for the `cluster` command.
#[derive(Debug, Clone, PartialEq)]
pub struct KMeansParams {
    pub k: usize,
    pub seed: u64,
    /// Lloyd iterations at most.
    pub max_iter: usize,
    /// Stop when the centres' squared movements sum to at most this times the data's mean
    /// squared norm.
    pub tol: f64,
    /// Rows scaled to unit length first (cosine geometry, for embedding vectors).
    pub normalise: bool,
}

impl Default for KMeansParams {
    fn default() -> Self {
        KMeansParams {
            k: 8,
            seed: 0,
            max_iter: 300,
            tol: 1e-4,
            normalise: false,
        }
    }
}

/// A k-means clustering: a label per row (0..k), the centres, the sum of squared distances.
#[derive(Debug, Clone)]
pub struct KMeans {
    pub labels: Vec<i32>,
    /// `k x dim`, row-major.
    pub centres: Vec<f32>,
    pub inertia: f64,
    pub iterations: usize,
}

/// k-means of `points` (row-major, `dim` values a row): k-means++ seeding (the best of
/// 2 + ln k candidates per step, as scikit-learn), then Lloyd iterations over every row until
/// the centres settle. Deterministic for a seed on any thread count.
pub fn kmeans_points(
    points: &[f32],
    dim: usize,
    params: &KMeansParams,
) -> Result<KMeans, AnalysisError> {
    if dim == 0 || !points.len().is_multiple_of(dim) {
        return Err(AnalysisError::InvalidParameter(format!(
            "k-means: {} values do not make rows of {dim}",
            points.len()
        )));
    }
    let n = points.len() / dim;
    let k = params.k;
    if k == 0 {
        return Err(AnalysisError::InvalidParameter(
            "k-means: k must be at least 1".into(),
        ));
    }
    if k > n {
        return Err(AnalysisError::InvalidParameter(format!(
            "k-means: k = {k} clusters, but the set has {n} rows"
        )));
    }
    if let Some(bad) = points
        .chunks_exact(dim)
        .position(|r| r.iter().any(|x| !x.is_finite()))
    {
        return Err(AnalysisError::InvalidParameter(format!(
            "row {bad} has a NaN or infinite value: k-means needs finite values"
        )));
    }
    let data: Vec<f32> = if params.normalise {
        points.chunks_exact(dim).flat_map(unit).collect()
    } else {
        points.to_vec()
    };
    let row = |i: usize| &data[i * dim..(i + 1) * dim];
    let mut s = params.seed ^ 0x9E37_79B9_7F4A_7C15;
    let mut rand = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    // k-means++: each next centre drawn with probability proportional to the squared distance
    // to the nearest centre so far; of 2 + ln k draws, the one that lowers the total most.
    let mut centres: Vec<f32> = Vec::with_capacity(k * dim);
    let first = ((rand() * n as f64) as usize).min(n - 1);
    centres.extend_from_slice(row(first));
    let mut d2: Vec<f64> = (0..n)
        .into_par_iter()
        .map(|i| f64::from(dist2(row(i), row(first))))
        .collect();
    let trials = 2 + (k as f64).ln() as usize;
    while centres.len() < k * dim {
        let total: f64 = d2.iter().sum();
        let mut best: Option<(f64, usize, Vec<f64>)> = None;
        for _ in 0..trials {
            let pick = if total > 0.0 {
                let mut t = rand() * total;
                let mut idx = n - 1;
                for (i, &x) in d2.iter().enumerate() {
                    t -= x;
                    if t <= 0.0 && x > 0.0 {
                        idx = i;
                        break;
                    }
                }
                idx
            } else {
                ((rand() * n as f64) as usize).min(n - 1)
            };
            let nd: Vec<f64> = (0..n)
                .into_par_iter()
                .map(|i| d2[i].min(f64::from(dist2(row(i), row(pick)))))
                .collect();
            let sum: f64 = nd.iter().sum();
            if best.as_ref().is_none_or(|b| sum < b.0) {
                best = Some((sum, pick, nd));
            }
        }
        if let Some((_, pick, nd)) = best {
            centres.extend_from_slice(row(pick));
            d2 = nd;
        }
    }
    let mean_sq = data
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / n as f64;
    let tol = params.tol * mean_sq.max(f64::MIN_POSITIVE);
    let assign = |centres: &[f32]| -> Vec<(u32, f32)> {
        (0..n)
            .into_par_iter()
            .map(|i| {
                let v = row(i);
                let mut best = (0u32, f32::INFINITY);
                for (c, centre) in centres.chunks_exact(dim).enumerate() {
                    let d = dist2(v, centre);
                    if d < best.1 {
                        best = (c as u32, d);
                    }
                }
                best
            })
            .collect()
    };
    let mut labels = assign(&centres);
    let mut iterations = 0;
    for _ in 0..params.max_iter {
        iterations += 1;
        // Sums in fixed chunks, added in order: the same centres on any thread count.
        let parts: Vec<(Vec<f64>, Vec<usize>)> = labels
            .par_chunks(4096)
            .enumerate()
            .map(|(b, chunk)| {
                let mut sums = vec![0f64; k * dim];
                let mut counts = vec![0usize; k];
                for (j, &(l, _)) in chunk.iter().enumerate() {
                    let l = l as usize;
                    counts[l] += 1;
                    for (s, &x) in sums[l * dim..(l + 1) * dim]
                        .iter_mut()
                        .zip(row(b * 4096 + j))
                    {
                        *s += f64::from(x);
                    }
                }
                (sums, counts)
            })
            .collect();
        let mut sums = vec![0f64; k * dim];
        let mut counts = vec![0usize; k];
        for (s, c) in parts {
            sums.iter_mut().zip(s).for_each(|(a, b)| *a += b);
            counts.iter_mut().zip(c).for_each(|(a, b)| *a += b);
        }
        let mut shift = 0f64;
        let mut new = centres.clone();
        for c in 0..k {
            let slot = &mut new[c * dim..(c + 1) * dim];
            if counts[c] == 0 {
                // An empty cluster takes the row farthest from its centre.
                let far = labels
                    .iter()
                    .enumerate()
                    .max_by(|a, b| a.1.1.total_cmp(&b.1.1).then(b.0.cmp(&a.0)))
                    .map_or(0, |(i, _)| i);
                slot.copy_from_slice(row(far));
            } else {
                for (x, s) in slot.iter_mut().zip(&sums[c * dim..(c + 1) * dim]) {
                    *x = (s / counts[c] as f64) as f32;
                }
            }
            shift += f64::from(dist2(slot, &centres[c * dim..(c + 1) * dim]));
        }
        centres = new;
        labels = assign(&centres);
        if shift <= tol {
            break;
        }
    }
    let inertia = labels.iter().map(|&(_, d)| f64::from(d)).sum();
    Ok(KMeans {
        labels: labels.iter().map(|&(l, _)| l as i32).collect(),
        centres,
        inertia,
        iterations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_groups_get_separate_labels() {
        // Three directions in 4-D plus small offsets; one NaN row.
        let mut data = Vec::new();
        for i in 0..300 {
            let e = (i % 7) as f32 * 0.01;
            let row = match i % 3 {
                0 => [1.0, e, 0.0, 0.0],
                1 => [0.0, 1.0, e, 0.0],
                _ => [0.0, e, 0.0, 1.0],
            };
            data.extend_from_slice(&row);
        }
        data.extend_from_slice(&[f32::NAN, 0.0, 0.0, 0.0]);
        let m = Matrix::from_vec(301, 4, data).expect("matrix");
        let l = kmeans(&m, 3, 7);
        assert_eq!(l[300], 3);
        for i in 0..300 {
            assert_eq!(l[i], l[i % 3], "row {i}");
        }
        assert!(l[0] != l[1] && l[1] != l[2] && l[0] != l[2]);
        assert_eq!(kmeans(&m, 3, 7), l, "seeded: reproducible");
    }

    #[test]
    fn kmeans_points_finds_separated_blobs_and_checks_its_input() {
        let mut pts = Vec::new();
        let centres = [[0.0f32, 0.0], [10.0, 0.0], [0.0, 10.0]];
        for i in 0..600 {
            let c = centres[i % 3];
            let a = (i as f32 * 0.618).fract() - 0.5;
            let b = (i as f32 * 0.377).fract() - 0.5;
            pts.extend([c[0] + a, c[1] + b]);
        }
        let params = KMeansParams {
            k: 3,
            ..Default::default()
        };
        let r = kmeans_points(&pts, 2, &params).expect("k-means");
        for i in 3..600 {
            assert_eq!(r.labels[i], r.labels[i % 3], "row {i}");
        }
        let mut l: Vec<i32> = r.labels[..3].to_vec();
        l.sort_unstable();
        assert_eq!(l, [0, 1, 2]);
        // Inertia is the sum of squared distances to the centres.
        let direct: f64 = (0..600)
            .map(|i| {
                let c = r.labels[i] as usize;
                f64::from(dist2(&pts[i * 2..i * 2 + 2], &r.centres[c * 2..c * 2 + 2]))
            })
            .sum();
        assert!((direct - r.inertia).abs() < 1e-3 * direct.max(1.0));
        // The same result on one thread.
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool")
            .install(|| kmeans_points(&pts, 2, &params).expect("k-means"));
        assert_eq!(one.labels, r.labels);
        assert_eq!(one.centres, r.centres);
        assert!(
            kmeans_points(
                &pts,
                2,
                &KMeansParams {
                    k: 601,
                    ..params.clone()
                }
            )
            .is_err()
        );
        assert!(
            kmeans_points(
                &pts,
                2,
                &KMeansParams {
                    k: 0,
                    ..params.clone()
                }
            )
            .is_err()
        );
        assert!(kmeans_points(&[1.0, f32::NAN], 2, &KMeansParams { k: 1, ..params }).is_err());
    }
}
