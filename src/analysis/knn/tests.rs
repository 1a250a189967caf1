use super::*;
use crate::core::{Matrix, Metadata, Provenance, Vocab};

fn set(rows: &[&[f32]]) -> EmbeddingSet {
    let dim = rows[0].len();
    let vocab = Vocab::from_unique((0..rows.len()).map(|i| format!("w{i}"))).unwrap();
    let m = Matrix::from_vec(rows.len(), dim, rows.concat()).unwrap();
    EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).unwrap()
}

#[test]
fn excludes_self_invalid_and_zero_rows() {
    let s = set(&[
        &[1.0, 0.0],
        &[0.9, 0.1],
        &[f32::NAN, 1.0],
        &[0.0, 0.0],
        &[f32::INFINITY, 0.0],
        &[-1.0, 0.0],
    ]);
    let idx = KnnIndex::new(&s);
    let q = idx.token_query("w0", Metric::Cosine).unwrap();
    let r = idx.search(&[q], 10, Metric::Cosine, None).unwrap();
    let got: Vec<usize> = r[0].iter().map(|n| n.index).collect();
    assert_eq!(got, vec![1, 5]);
    let q = idx.token_query("w0", Metric::Dot).unwrap();
    let r = idx.search(&[q], 10, Metric::Dot, None).unwrap();
    let got: Vec<usize> = r[0].iter().map(|n| n.index).collect();
    assert_eq!(got, vec![1, 3, 5]);
    let q = idx.token_query("w0", Metric::Euclidean).unwrap();
    let r = idx.search(&[q], 2, Metric::Euclidean, None).unwrap();
    assert_eq!(r[0][0].index, 1);
    assert!((r[0][0].score - (0.01f32 + 0.01).sqrt()).abs() < 1e-6);
    assert_eq!(r[0][1].index, 3);
    assert!(idx.token_query("w2", Metric::Cosine).is_err());
    assert!(idx.token_query("w3", Metric::Cosine).is_err());
    assert!(idx.vector_query(&[0.0, 0.0], Metric::Cosine).is_err());
    assert!(idx.vector_query(&[1.0], Metric::Cosine).is_err());
    assert!(idx.search(&[], 0, Metric::Cosine, None).is_err());
    // A row's query from the row scan is the token's query, and refuses the same rows.
    let scan = RowScan::new(&s.matrix);
    for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
        for row in 0..6 {
            let a = idx.token_query(&format!("w{row}"), metric);
            let b = Query::of_row(&s, &scan, row, metric);
            match (a, b) {
                (Ok(a), Ok(b)) => {
                    assert_eq!(a.vector, b.vector, "{metric:?} row {row}");
                    assert_eq!(a.exclude, b.exclude);
                }
                (Err(_), Err(_)) => {}
                (a, b) => panic!("{metric:?} row {row}: {a:?} vs {b:?}"),
            }
        }
    }
    assert!(Query::of_row(&s, &scan, 6, Metric::Cosine).is_err());
}

#[test]
fn metric_names_round_trip_and_top_n_is_at_least_one() {
    for m in Metric::ALL {
        assert_eq!(m.to_string().parse::<Metric>(), Ok(m));
        assert_eq!(m.name().to_uppercase().parse::<Metric>(), Ok(m));
    }
    assert_eq!("l2".parse::<Metric>(), Ok(Metric::Euclidean));
    let e = "manhattan".parse::<Metric>().unwrap_err();
    assert!(
        e.contains("'manhattan'") && e.contains("cosine, dot, euclidean"),
        "{e}"
    );
    assert_eq!(TopN::check(0), Err(AnalysisError::ZeroK));
    assert_eq!(TopN::check(1).map(TopN::get), Ok(1));
    let idx_set = set(&[&[1.0, 0.0], &[0.0, 1.0]]);
    let index = KnnIndex::new(&idx_set);
    let q = index.token_query("w0", Metric::Cosine).unwrap();
    assert_eq!(
        index.search(&[q], 0, Metric::Cosine, None),
        Err(AnalysisError::ZeroK)
    );
}

/// Near-duplicates: four clusters of 1,000 rows that differ by 1e-4 (templated documents).
/// Every row's bound reaches the k-th, so no bound drops any, and the candidate lists were
/// held whole until the re-rank (800 bytes a row of memory and a quadratic prune in a UMAP of
/// 90,000 such rows). They are now scored exactly when pruning fails (`compact`); the result
/// is still the exact top k, on both engines and all metrics.
#[test]
fn near_duplicates_keep_the_candidate_lists_short_and_the_result_exact() {
    let (clusters, per, dim) = (4usize, 1000usize, 16usize);
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut rows: Vec<Vec<f32>> = Vec::new();
    for c in 0..clusters {
        let centre: Vec<f32> = (0..dim).map(|i| ((c * 7 + i) as f32).sin() * 3.0).collect();
        for _ in 0..per {
            rows.push(centre.iter().map(|&v| v + next() * 2e-4).collect());
        }
    }
    let refs: Vec<&[f32]> = rows.iter().map(Vec::as_slice).collect();
    let s = set(&refs);
    let index = KnnIndex::new(&s);
    let k = 10;
    for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
        let queries: Vec<Query> = (0..64)
            .map(|i| index.token_query(&format!("w{}", i * 61), metric).unwrap())
            .collect();
        for engine in [Engine::Int8, Engine::F32] {
            let got = index
                .search_with(&queries, k, metric, None, engine)
                .unwrap();
            for (qi, (q, found)) in queries.iter().zip(&got).enumerate() {
                // Brute force in f64: every row's score, and the k-th best.
                let score = |r: &[f32]| {
                    let pairs = r
                        .iter()
                        .zip(&q.vector)
                        .map(|(&a, &b)| (f64::from(a), f64::from(b)));
                    let dot: f64 = pairs.clone().map(|(a, b)| a * b).sum();
                    match metric {
                        Metric::Cosine => {
                            dot / r.iter().map(|&a| f64::from(a).powi(2)).sum::<f64>().sqrt()
                        }
                        Metric::Dot => dot,
                        Metric::Euclidean => -pairs.map(|(a, b)| (a - b).powi(2)).sum::<f64>(),
                    }
                };
                let scores: Vec<f64> = rows.iter().map(|r| score(r.as_slice())).collect();
                let mut all: Vec<f64> = (0..rows.len())
                    .filter(|j| !q.exclude.contains(j))
                    .map(|j| scores[j])
                    .collect();
                all.sort_by(|a, b| b.total_cmp(a));
                let kth = all[k - 1];
                assert_eq!(found.len(), k, "{metric:?} {engine:?} query {qi}");
                for n in found {
                    let exact = scores[n.index];
                    let tol = 1e-6 * kth.abs().max(1.0);
                    assert!(
                        exact >= kth - tol,
                        "{metric:?} {engine:?} query {qi}: row {} scores {exact}, the k-th is {kth}",
                        n.index
                    );
                }
            }
        }
    }
}
