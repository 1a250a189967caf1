//! k-means clusters of embedding rows (cosine geometry: rows are normalised first), for
//! colouring maps. Fitted by Lloyd's algorithm on a seeded sample of at most `FIT_SAMPLE` rows
//! with k-means++ seeding, then every row is assigned to its nearest centre.

use rayon::prelude::*;

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
}
