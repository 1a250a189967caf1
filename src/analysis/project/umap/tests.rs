use std::ops::ControlFlow;

use super::*;
use crate::core::{Matrix, Metadata, Provenance, Vocab};

/// `c` Gaussian clusters of `per` points in `d` dimensions, centres 10 apart.
fn blobs(c: usize, per: usize, d: usize, seed: u64) -> (Vec<f32>, Vec<usize>) {
    let mut rng = Rng::new(seed);
    let centres: Vec<f64> = (0..c * d).map(|_| rng.normal() * 10.0).collect();
    let mut data = Vec::with_capacity(c * per * d);
    let mut labels = Vec::new();
    for i in 0..c * per {
        let l = i % c;
        labels.push(l);
        for k in 0..d {
            data.push((centres[l * d + k] + rng.normal()) as f32);
        }
    }
    (data, labels)
}

fn small() -> UmapParams {
    UmapParams {
        n_epochs: Some(100),
        ..UmapParams::default()
    }
}

/// Share of points whose nearest other point on the map is in their own cluster.
fn separation(y: &[f32], dims: usize, labels: &[usize]) -> f64 {
    let n = labels.len();
    let mut ok = 0;
    for i in 0..n {
        let mut best = (f32::INFINITY, 0);
        for j in (0..n).filter(|&j| j != i) {
            let d: f32 = (0..dims)
                .map(|k| (y[i * dims + k] - y[j * dims + k]).powi(2))
                .sum();
            if d < best.0 {
                best = (d, j);
            }
        }
        ok += usize::from(labels[best.1] == labels[i]);
    }
    ok as f64 / n as f64
}

#[test]
fn params_are_checked_before_the_data() {
    let v = UmapParams::default().check().expect("defaults are valid");
    assert_eq!(v.check_input(16, 5), Ok(()));
    assert!(matches!(
        v.check_input(15, 5),
        Err(ProjectError::TooFewPoints { n: 15, min: 16, .. })
    ));
    assert!(matches!(v.check_input(100, 0), Err(ProjectError::Param(_))));
    for p in [
        UmapParams { dims: 1, ..small() },
        UmapParams {
            n_neighbors: 1,
            ..small()
        },
        UmapParams {
            n_neighbors: MAX_NEIGHBORS + 1,
            ..small()
        },
        UmapParams {
            min_dist: -0.1,
            ..small()
        },
        UmapParams {
            min_dist: 2.0,
            ..small()
        },
        UmapParams {
            spread: f64::NAN,
            ..small()
        },
        UmapParams {
            n_epochs: Some(0),
            ..small()
        },
        UmapParams {
            learning_rate: 0.0,
            ..small()
        },
        UmapParams {
            report_every: 0,
            ..small()
        },
    ] {
        assert!(matches!(p.check(), Err(ProjectError::Param(_))), "{p:?}");
    }
    assert_eq!(UmapParams::default().epochs_for(10_000), 500);
    assert_eq!(UmapParams::default().epochs_for(10_001), 200);
}

#[test]
fn clusters_stay_apart_and_the_seed_fixes_the_layout() {
    let (data, labels) = blobs(4, 60, 8, 3);
    let go = || run(&data, 8, &small(), None, |_| ControlFlow::Continue(())).expect("runs");
    let r = go();
    assert_eq!(r.layout.len(), 240 * 2);
    assert!(separation(&r.layout, 2, &labels) > 0.99);
    assert!(matches!(r.init, InitKind::MultiComponent { components: 4 }));
    assert_eq!(go().layout, r.layout);
    // Any number of threads gives the same layout.
    for threads in [1, 3] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool");
        assert_eq!(pool.install(go).layout, r.layout, "{threads} threads");
    }
    let other = run(&data, 8, &UmapParams { seed: 2, ..small() }, None, |_| {
        ControlFlow::Continue(())
    })
    .expect("runs");
    assert_ne!(other.layout, r.layout);
}

#[test]
fn a_given_graph_is_used_as_is() {
    let (data, _) = blobs(2, 50, 5, 9);
    let p = UmapParams {
        n_neighbors: 10,
        ..small()
    };
    let (g, kind) =
        knn_graph(&data, 5, 12, Metric::Euclidean, usize::MAX, 1, &mut || true).expect("graph");
    assert_eq!(kind, Neighbours::Exact);
    let own = run(&data, 5, &p, None, |_| ControlFlow::Continue(())).expect("runs");
    // A longer graph is cut to n_neighbors - 1 neighbours: the same map.
    let given = run(&data, 5, &p, Some(g), |_| ControlFlow::Continue(())).expect("runs");
    assert_eq!(given.neighbours, Neighbours::Given);
    assert_eq!(given.layout, own.layout);
    let short = KnnGraph {
        k: 3,
        indices: vec![1; 300],
        distances: vec![1.0; 300],
    };
    assert!(run(&data, 5, &p, Some(short), |_| ControlFlow::Continue(())).is_err());
}

#[test]
fn bad_input_is_refused_plainly() {
    let p = small();
    let same = vec![0.5f32; 40 * 3];
    assert_eq!(
        run(&same, 3, &p, None, |_| ControlFlow::Continue(())).err(),
        Some(ProjectError::Degenerate)
    );
    let (mut data, _) = blobs(2, 20, 3, 1);
    assert!(matches!(
        run(&data[..10 * 3], 3, &p, None, |_| ControlFlow::Continue(())),
        Err(ProjectError::TooFewPoints { n: 10, min: 16, .. })
    ));
    data[7] = f32::NAN;
    assert_eq!(
        run(&data, 3, &p, None, |_| ControlFlow::Continue(())).err(),
        Some(ProjectError::NonFinite)
    );
    let dot = UmapParams {
        metric: Metric::Dot,
        ..small()
    };
    let (data, _) = blobs(2, 20, 3, 1);
    let e = run(&data, 3, &dot, None, |_| ControlFlow::Continue(()))
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(e.contains("unit-length"), "{e}");
    // Cancel.
    assert_eq!(
        run(&data, 3, &p, None, |_| ControlFlow::Break(())).err(),
        Some(ProjectError::Cancelled)
    );
}

#[test]
fn nan_rows_are_left_out_and_counted() {
    let (mut data, _) = blobs(3, 30, 4, 5);
    data[4 * 10] = f32::NAN;
    data[4 * 11 + 2] = f32::INFINITY;
    let n = data.len() / 4;
    let vocab = Vocab::from_unique((0..n).map(|i| format!("w{i}"))).expect("unique");
    let m = Matrix::from_vec(n, 4, data).expect("matrix");
    let set = EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).expect("set");
    let p = project(&set, &small(), |_| ControlFlow::Continue(())).expect("projects");
    assert_eq!(p.excluded, vec![10, 11]);
    assert_eq!(p.rows.len(), n - 2);
    assert!(
        p.notes.iter().any(|s| s.contains("2 rows")),
        "{:?}",
        p.notes
    );
    assert!(matches!(p.details, Details::Umap { .. }));
}

#[test]
fn placed_rows_land_in_their_cluster() {
    let (data, labels) = blobs(3, 80, 6, 11);
    let (fit_rows, new_rows): (Vec<usize>, Vec<usize>) = (0..240).partition(|i| i % 5 != 0);
    let pick = |rows: &[usize]| -> Vec<f32> {
        rows.iter()
            .flat_map(|&i| data[i * 6..(i + 1) * 6].to_vec())
            .collect()
    };
    let (reference, new) = (pick(&fit_rows), pick(&new_rows));
    let fit = run(&reference, 6, &small(), None, |_| ControlFlow::Continue(())).expect("fits");
    let centre = |lab: usize, y: &[f32], rows: &[usize]| -> [f32; 2] {
        let mut s = [0f32; 2];
        let mut c = 0f32;
        for (p, &i) in rows.iter().enumerate() {
            if labels[i] == lab {
                s[0] += y[2 * p];
                s[1] += y[2 * p + 1];
                c += 1.0;
            }
        }
        [s[0] / c, s[1] / c]
    };
    let centres: Vec<[f32; 2]> = (0..3).map(|l| centre(l, &fit.layout, &fit_rows)).collect();
    for how in [
        transform::Placement::Umap(small()),
        transform::Placement::Tsne,
    ] {
        let placed = transform::place(&reference, &fit.layout, 6, 2, &new, &how, |_| {
            ControlFlow::Continue(())
        })
        .expect("places");
        let again = transform::place(&reference, &fit.layout, 6, 2, &new, &how, |_| {
            ControlFlow::Continue(())
        })
        .expect("places");
        assert_eq!(placed, again);
        for (p, &i) in new_rows.iter().enumerate() {
            let y = [placed[2 * p], placed[2 * p + 1]];
            let near = (0..3)
                .min_by(|&a, &b| {
                    let da = (y[0] - centres[a][0]).powi(2) + (y[1] - centres[a][1]).powi(2);
                    let db = (y[0] - centres[b][0]).powi(2) + (y[1] - centres[b][1]).powi(2);
                    da.total_cmp(&db)
                })
                .unwrap_or(0);
            assert_eq!(near, labels[i], "{how:?}: new row {i} at {y:?}");
        }
    }
}

#[test]
fn above_the_exact_limit_the_index_gives_the_graph_with_its_recall() {
    let (data, labels) = blobs(5, 300, 12, 21);
    for metric in [Metric::Euclidean, Metric::Cosine] {
        let p = UmapParams {
            exact_knn_max: 500,
            metric,
            ..small()
        };
        let go = || run(&data, 12, &p, None, |_| ControlFlow::Continue(())).expect("runs");
        let r = go();
        let Neighbours::Approximate { recall } = r.neighbours else {
            panic!(
                "{metric:?}: expected the approximate graph, got {:?}",
                r.neighbours
            );
        };
        assert!(recall > 0.9 && recall <= 1.0, "{metric:?}: recall {recall}");
        assert!(separation(&r.layout, 2, &labels) > 0.98, "{metric:?}");
        // The index is seeded and thread-independent, so the whole layout is too.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .expect("pool");
        assert_eq!(pool.install(go).layout, r.layout, "{metric:?}");
    }
    // Cancelling during the index build stops the run.
    let p = UmapParams {
        exact_knn_max: 500,
        ..small()
    };
    let r = run(&data, 12, &p, None, |_| ControlFlow::Break(()));
    assert!(matches!(r, Err(ProjectError::Cancelled)), "{r:?}");
}

#[test]
fn a_set_index_gives_the_neighbours_with_left_out_rows_renumbered() {
    use crate::analysis::ann::{AnnData, AnnIndex, AnnParams, build};
    let (mut data, labels) = blobs(5, 300, 12, 33);
    // Rows 7 and 400 hold NaN: the map leaves them out, the index too.
    data[7 * 12] = f32::NAN;
    data[400 * 12 + 3] = f32::NAN;
    let n = data.len() / 12;
    let vocab = Vocab::from_unique((0..n).map(|i| format!("w{i}"))).expect("unique");
    let m = Matrix::from_vec(n, 12, data).expect("matrix");
    let set = EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).expect("set");
    let p = UmapParams {
        exact_knn_max: 500,
        metric: Metric::Euclidean,
        ..small()
    };
    let ad = AnnData::of_set(&set, Metric::Euclidean).expect("data");
    let params = AnnParams::default().check().expect("params");
    let graph = build(&ad, &params, &mut |_| ControlFlow::Continue(())).expect("index");
    let index = AnnIndex::new(&graph, &ad).expect("index").with_ef(64);
    let ix = SetIndex {
        index: &index,
        origin: "built here".into(),
    };
    let r = project_with(&set, &p, Some(&ix), |_| ControlFlow::Continue(())).expect("map");
    assert_eq!(r.excluded, vec![7, 400]);
    assert_eq!(r.rows.len(), n - 2);
    assert!(
        r.notes
            .iter()
            .any(|s| s.contains("HNSW index (built here)")),
        "{:?}",
        r.notes
    );
    let Details::Umap {
        knn_recall: Some(recall),
        ..
    } = r.details
    else {
        panic!("expected a recall: {:?}", r.details);
    };
    assert!(recall > 0.9 && recall <= 1.0, "recall {recall}");
    // The clusters stay apart on the map (labels of the projected rows).
    let kept: Vec<usize> = r.rows.iter().map(|&i| labels[i]).collect();
    assert!(separation(&r.coords, 2, &kept) > 0.98);
    // At or below the exact limit the index is not used.
    let exact = UmapParams {
        exact_knn_max: n,
        ..p.clone()
    };
    let r = project_with(&set, &exact, Some(&ix), |_| ControlFlow::Continue(())).expect("map");
    assert!(!r.notes.iter().any(|s| s.contains("HNSW")), "{:?}", r.notes);
    // An index by another metric is refused.
    let cosine = UmapParams {
        metric: Metric::Cosine,
        ..p.clone()
    };
    let e = project_with(&set, &cosine, Some(&ix), |_| ControlFlow::Continue(()));
    assert!(
        matches!(&e, Err(ProjectError::Param(m)) if m.contains("searches by")),
        "{e:?}"
    );
}
