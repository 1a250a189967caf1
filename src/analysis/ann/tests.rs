use std::ops::ControlFlow;
use std::sync::Arc;

use super::*;
use crate::analysis::project::Rng;

fn clustered(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let centres: Vec<f32> = (0..20 * d).map(|_| 3.0 * rng.normal() as f32).collect();
    let mut out = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = (rng.next_u64() % 20) as usize;
        for k in 0..d {
            out.push(centres[c * d + k] + rng.normal() as f32);
        }
    }
    out
}

fn go() -> impl FnMut(AnnProgress) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

fn build_with(data: &AnnData, p: &AnnParams) -> HnswGraph {
    build(data, &p.check().unwrap(), &mut go()).unwrap()
}

#[test]
fn params_are_checked() {
    let ok = AnnParams::default();
    assert!(ok.check().is_ok());
    for bad in [
        AnnParams { m: 1, ..ok },
        AnnParams { m: 1000, ..ok },
        AnnParams {
            ef_construction: 0,
            ..ok
        },
        AnnParams {
            ef_search: EF_MAX + 1,
            ..ok
        },
    ] {
        let e = bad.check().unwrap_err().to_string();
        assert!(e.contains("between"), "{e}");
    }
    assert!(check_ef(0, "ef").is_err());
    assert_eq!(check_ef(64, "ef").unwrap(), 64);
}

#[test]
fn same_graph_on_any_number_of_threads() {
    let x = clustered(3000, 16, 3);
    let data = AnnData::new(&x, 16, Metric::Euclidean).unwrap();
    let p = AnnParams {
        m: 8,
        ef_construction: 40,
        ..AnnParams::default()
    };
    let run = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| build_with(&data, &p).words.get().to_vec())
    };
    let one = run(1);
    assert_eq!(one, run(3));
    assert_eq!(one, run(2));
}

#[test]
fn recall_against_brute_force_for_each_metric() {
    let (n, d) = (4000, 24);
    let x = clustered(n, d, 7);
    for metric in Metric::ALL {
        let data = AnnData::new(&x, d, metric).unwrap();
        let g = build_with(
            &data,
            &AnnParams {
                m: 12,
                ef_construction: 80,
                ..AnnParams::default()
            },
        );
        let idx = AnnIndex::new(&g, &data).unwrap().with_ef(64);
        let mut hit = 0;
        let qs: Vec<usize> = (0..n).step_by(40).collect();
        for &i in &qs {
            let q = data.row_query(i);
            let got = idx
                .search(
                    &[Query {
                        vector: q.clone(),
                        exclude: vec![i],
                    }],
                    10,
                    metric,
                    None,
                )
                .unwrap()
                .remove(0);
            assert_eq!(got.len(), 10);
            assert!(got.iter().all(|nb| nb.index != i));
            let mut all: Vec<(f32, usize)> = (0..n)
                .filter(|&j| j != i)
                .map(|j| (data.dist(&q, j as u32), j))
                .collect();
            all.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            let truth: Vec<usize> = all[..10].iter().map(|x| x.1).collect();
            hit += got.iter().filter(|nb| truth.contains(&nb.index)).count();
        }
        let recall = hit as f64 / (qs.len() * 10) as f64;
        assert!(recall >= 0.95, "{metric}: recall {recall}");
    }
}

#[test]
fn nan_rows_are_left_out_and_counted() {
    let mut x = clustered(500, 8, 1);
    for k in 0..8 {
        x[3 * 8 + k] = f32::NAN;
    }
    x[10 * 8] = f32::INFINITY;
    for k in 0..8 {
        x[20 * 8 + k] = 0.0;
    }
    let eu = AnnData::new(&x, 8, Metric::Euclidean).unwrap();
    assert_eq!(eu.left_out(), 2);
    let cos = AnnData::new(&x, 8, Metric::Cosine).unwrap();
    assert_eq!(cos.left_out(), 3);
    let g = build_with(&cos, &AnnParams::default());
    assert_eq!(g.info().left_out, 3);
    let idx = AnnIndex::new(&g, &cos).unwrap();
    let kg = idx.knn_graph(5, go()).unwrap();
    assert!(kg[3].is_empty() && kg[10].is_empty() && kg[20].is_empty());
    for list in &kg {
        assert!(list.iter().all(|&(j, _)| ![3, 10, 20].contains(&j)));
    }
    assert_eq!(kg[0].len(), 5);
}

#[test]
fn identical_rows_neither_hang_nor_panic() {
    let x = vec![0.5f32; 2000 * 4];
    for metric in Metric::ALL {
        let data = AnnData::new(&x, 4, metric).unwrap();
        let g = build_with(
            &data,
            &AnnParams {
                m: 4,
                ..AnnParams::default()
            },
        );
        let idx = AnnIndex::new(&g, &data).unwrap();
        let r = idx
            .search(
                &[Query {
                    vector: vec![0.5; 4],
                    exclude: vec![0],
                }],
                10,
                metric,
                None,
            )
            .unwrap();
        assert_eq!(r[0].len(), 10);
        // Ties go to the lower rows among those found; every answer is at distance 0.
        assert!(r[0].windows(2).all(|w| w[0].index < w[1].index));
    }
}

#[test]
fn bytes_round_trip_and_damage_is_refused() {
    let x = clustered(800, 8, 5);
    let data = AnnData::new(&x, 8, Metric::Cosine).unwrap();
    let g = build_with(
        &data,
        &AnnParams {
            m: 6,
            ..AnnParams::default()
        },
    );
    let mut bytes = Vec::new();
    g.write_to(&mut bytes, "key-1").unwrap();
    let (back, key) = HnswGraph::from_bytes(Arc::new(bytes.clone())).unwrap();
    assert_eq!(key, "key-1");
    assert_eq!(back.words.get(), g.words.get());
    assert_eq!(back.info(), g.info());
    let q = [Query {
        vector: data.row_query(7),
        exclude: vec![7],
    }];
    let a = AnnIndex::new(&g, &data)
        .unwrap()
        .search(&q, 5, Metric::Cosine, None)
        .unwrap();
    let b = AnnIndex::new(&back, &data)
        .unwrap()
        .search(&q, 5, Metric::Cosine, None)
        .unwrap();
    assert_eq!(a, b);
    // Truncated.
    let e = HnswGraph::from_bytes(Arc::new(bytes[..bytes.len() - 4].to_vec())).unwrap_err();
    assert!(e.to_string().contains("truncated"), "{e}");
    // Another version.
    let mut v2 = bytes.clone();
    v2[8] = 99;
    let e = HnswGraph::from_bytes(Arc::new(v2)).unwrap_err();
    assert!(e.to_string().contains("version 99"), "{e}");
    // A link out of range.
    let mut bad = bytes.clone();
    let start = bytes.len() - g.words.get().len() * 4;
    bad[start + 4..start + 8].copy_from_slice(&5000u32.to_le_bytes());
    assert!(HnswGraph::from_bytes(Arc::new(bad)).is_err());
    // Not an index at all.
    assert!(HnswGraph::from_bytes(Arc::new(b"hello".to_vec())).is_err());
    // Data of another shape.
    let other = AnnData::new(&x[..400 * 8], 8, Metric::Cosine).unwrap();
    assert!(AnnIndex::new(&back, &other).is_err());
}

#[test]
fn cancel_stops_the_build() {
    let x = clustered(3000, 8, 2);
    let data = AnnData::new(&x, 8, Metric::Euclidean).unwrap();
    let mut calls = 0;
    let r = build(&data, &AnnParams::default().check().unwrap(), &mut |_| {
        calls += 1;
        if calls > 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!(r.unwrap_err(), AnalysisError::Cancelled);
}

#[test]
fn empty_and_tiny_sets() {
    let x: Vec<f32> = vec![f32::NAN; 8];
    let data = AnnData::new(&x, 4, Metric::Euclidean).unwrap();
    let g = build_with(&data, &AnnParams::default());
    let idx = AnnIndex::new(&g, &data).unwrap();
    let r = idx
        .search(
            &[Query {
                vector: vec![0.0; 4],
                exclude: vec![],
            }],
            3,
            Metric::Euclidean,
            None,
        )
        .unwrap();
    assert!(r[0].is_empty());
    let one = [1.0f32, 2.0];
    let data = AnnData::new(&one, 2, Metric::Dot).unwrap();
    let g = build_with(&data, &AnnParams::default());
    let kg = AnnIndex::new(&g, &data)
        .unwrap()
        .knn_graph(3, go())
        .unwrap();
    assert_eq!(kg, vec![Vec::<(u32, f32)>::new()]);
}
