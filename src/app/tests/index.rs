//! Large sets in the inspector: the neighbour index built in the background, approximate
//! answers marked as such and close to the exact ones, exact searches off the UI thread while
//! an index for the metric is missing. "Large" is lowered so the demo set counts as large.

use super::*;
use crate::analysis::knn::{KnnIndex, Metric};

fn large_demo() -> App {
    let mut app = App::new(Settings::default(), None);
    app.inspector.large_from = 1_000_000;
    app.apply(Command::OpenDemo);
    settle(&mut app);
    app
}

fn exact(app: &App, row: usize, k: usize, metric: Metric) -> Vec<usize> {
    let d = app.active_dataset().expect("a set");
    let index = KnnIndex::new(&d.set);
    let q = index.token_query(d.token(row), metric).expect("query");
    index.search(&[q], k, metric, None).expect("search")[0]
        .iter()
        .map(|n| n.index)
        .collect()
}

#[test]
fn a_large_set_gets_an_index_and_approximate_neighbours() {
    let mut app = large_demo();
    let d = app.active_dataset().expect("demo");
    let ix = d
        .index
        .as_ref()
        .expect("the index was built after the set opened");
    assert_eq!(ix.metric(), Metric::Cosine);
    let row = d.set.vocab.get("king").expect("king");
    app.apply(Command::Select { row, add: false });
    let how = app
        .inspector
        .approximate
        .clone()
        .expect("answers marked approximate");
    assert!(how.contains("HNSW"), "{how}");
    assert!(app.inspector.pending.is_none());
    let got: Vec<usize> = app.inspector.neighbours.iter().map(|n| n.0).collect();
    assert_eq!(got.len(), 10);
    let want = exact(&app, row, 10, Metric::Cosine);
    let hits = got.iter().filter(|r| want.contains(r)).count();
    assert!(hits >= 9, "{hits}/10 of the exact neighbours");

    // Another metric: no index for it yet, so the exact answer comes from a background job
    // while its index builds; both arrive.
    app.apply(Command::SetMetric(Metric::Euclidean));
    assert!(
        app.inspector.pending.is_some(),
        "exact search not in the background"
    );
    assert!(app.inspector.approximate.is_none());
    let d = app.active_dataset().expect("demo");
    assert_eq!(d.index_job.map(|(_, m)| m), Some(Metric::Euclidean));
    settle(&mut app);
    let d = app.active_dataset().expect("demo");
    assert_eq!(
        d.index.as_ref().map(|ix| ix.metric()),
        Some(Metric::Euclidean)
    );
    assert!(app.inspector.pending.is_none());
    let got: Vec<usize> = app.inspector.neighbours.iter().map(|n| n.0).collect();
    let want = exact(&app, row, 10, Metric::Euclidean);
    assert!(got.iter().filter(|r| want.contains(r)).count() >= 9);

    // A UMAP map of the large set (its exact range lowered too) takes its neighbours from the
    // set's index when that searches by UMAP's metric.
    let spec = ProjectSpec::Umap(crate::analysis::project::umap::UmapParams {
        n_epochs: Some(5),
        exact_knn_max: 1000,
        metric: Metric::Euclidean,
        ..Default::default()
    });
    app.project(0, spec);
    settle(&mut app);
    let map = app.datasets[0].map.as_ref().expect("a UMAP map");
    assert!(
        map.notes.iter().any(|n| n.contains("HNSW index (")),
        "{:?}",
        map.notes
    );
    assert_eq!(map.coords.len(), app.datasets[0].set.rows());
}

#[test]
fn a_small_set_answers_exactly_at_once() {
    let mut app = demo_app();
    let d = app.active_dataset().expect("demo");
    assert!(d.index.is_none() && d.index_job.is_none());
    let row = d.set.vocab.get("king").expect("king");
    app.apply(Command::Select { row, add: false });
    assert!(app.inspector.pending.is_none() && app.inspector.approximate.is_none());
    let got: Vec<usize> = app.inspector.neighbours.iter().map(|n| n.0).collect();
    assert_eq!(got, exact(&app, row, 10, Metric::Cosine));
}
