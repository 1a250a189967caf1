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
