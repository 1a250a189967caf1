//! Placing another open set's rows onto a map: small sets cut from the demo (a map of 1,500
//! rows, 600 rows placed of which 300 are on the map too), the rows arriving finite and near
//! their own or their nearest neighbours' map positions; the notices for a dimension mismatch,
//! a missing map and a map that cannot take rows.

use std::sync::Arc;

use super::*;
use crate::analysis::knn::Metric;
use crate::analysis::project::tsne::TsneParams;
use crate::analysis::project::umap::UmapParams;
use crate::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};
use crate::engine::jobs::MapMethod;

/// Rows `rows` of the demo (its first `dims` columns) as a set of its own named `name`.
fn cut(
    demo: &EmbeddingSet,
    rows: std::ops::Range<usize>,
    dims: usize,
    name: &str,
) -> Arc<EmbeddingSet> {
    let d = demo.dim();
    let mut data = Vec::with_capacity(rows.len() * dims);
    for r in rows.clone() {
        data.extend_from_slice(&demo.matrix.row(r)[..dims.min(d)]);
    }
    let vocab = Vocab::from_unique(rows.clone().map(|r| demo.vocab.token(r).to_string()))
        .expect("unique tokens");
    let matrix = Matrix::from_vec(rows.len(), dims, data).expect("matrix");
    let provenance = Provenance {
        source: name.to_string(),
        ..Provenance::default()
    };
    Arc::new(EmbeddingSet::new(vocab, matrix, Metadata::new(), provenance).expect("set"))
}

/// An app with a map set (demo rows 0..1500) and a set to place (rows 1200..1800), the map
/// set active and mapped as `spec`.
fn two_sets(spec: ProjectSpec) -> App {
    let mut app = demo_app();
    let demo = app.datasets[0].set.clone();
    app.add_dataset_named(cut(&demo, 0..1500, 50, "map"), Some("map".into()));
    app.add_dataset_named(cut(&demo, 1200..1800, 50, "new"), Some("new".into()));
    settle(&mut app);
    app.apply(Command::SetActive(1));
    app.apply(Command::Project(spec));
    settle(&mut app);
    let m = app.datasets[1].map.as_ref().expect("a map");
    assert!(m.finished && m.placed.is_none());
    app
}

fn place(app: &mut App) -> PlacedRows {
    app.notifications.clear();
    app.apply(Command::PlaceOnMap { from: 2 });
    settle(app);
    let m = app.datasets[1].map.as_ref().expect("the map");
    m.placed
        .clone()
        .unwrap_or_else(|| panic!("no rows placed: {:?}", app.notifications))
}

fn span(m: &MapView) -> f32 {
    let (lo, hi) = crate::app::grid::bounds(&m.coords).expect("bounds");
    (hi[0] - lo[0]).max(hi[1] - lo[1])
}

fn dist(a: [f32; 2], b: [f32; 2]) -> f32 {
    ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
}

fn median(mut v: Vec<f32>) -> f32 {
    v.sort_by(f32::total_cmp);
    v[v.len() / 2]
}

/// Checks placed rows: all arrive, finite; rows on the map land near their own position, the
/// others near their nearest map row's position (medians, as fractions of the map's span).
fn check_positions(app: &App, placed: &PlacedRows, own_max: f32, nb_max: f32) {
    let map_set = &app.datasets[1];
    let m = map_set.map.as_ref().expect("the map");
    assert_eq!(placed.from_name, "new");
    assert_eq!(placed.tokens.len(), 600);
    assert_eq!(placed.coords.len(), 600);
    assert!(placed.coords.iter().flatten().all(|v| v.is_finite()));
    let s = span(m);
    let index = crate::analysis::knn::KnnIndex::new(&map_set.set);
    let new = &app.datasets[2].set;
    let (mut own, mut near) = (Vec::new(), Vec::new());
    for (tok, &p) in placed.tokens.iter().zip(&placed.coords) {
        match map_set.set.vocab.get(tok) {
            Some(r) => own.push(dist(p, m.position(r).expect("on the map")) / s),
            None => {
                let row = new.vocab.get(tok).expect("token of the placed set");
                let q = index
                    .vector_query(new.matrix.row(row), Metric::Euclidean)
                    .expect("query");
                let nb = index
                    .search(&[q], 1, Metric::Euclidean, None)
                    .expect("search")[0][0]
                    .index;
                near.push(dist(p, m.position(nb).expect("on the map")) / s);
            }
        }
    }
    assert_eq!((own.len(), near.len()), (300, 300));
    let (own, near) = (median(own), median(near));
    assert!(
        own <= own_max,
        "rows on the map land {own} of the span from their own position"
    );
    assert!(
        near <= nb_max,
        "new rows land {near} of the span from their nearest map row"
    );
}

#[test]
fn rows_are_placed_onto_a_umap_map() {
    let mut app = two_sets(ProjectSpec::Umap(UmapParams {
        n_epochs: Some(150),
        ..UmapParams::default()
    }));
    let placed = place(&mut app);
    assert_eq!(placed.how, "UMAP transform");
    check_positions(&app, &placed, 0.02, 0.1);
    let note = &app.notifications.last().expect("a notice").title;
    assert!(
        note.contains("placed 600 rows of new onto the map (UMAP transform)"),
        "{note}"
    );
    // A new map drops the placed rows.
    app.apply(Command::Project(ProjectSpec::Pca));
    settle(&mut app);
    assert!(
        app.datasets[1]
            .map
            .as_ref()
            .is_some_and(|m| m.placed.is_none())
    );
}

#[test]
fn rows_are_placed_onto_a_tsne_map() {
    let mut app = two_sets(ProjectSpec::Tsne(TsneParams {
        iterations: 300,
        early_exaggeration_iter: 100,
        ..TsneParams::default()
    }));
    let placed = place(&mut app);
    assert_eq!(placed.how, "t-SNE transform");
    check_positions(&app, &placed, 0.03, 0.1);
}

#[test]
fn rows_are_projected_onto_a_pca_map() {
    let mut app = two_sets(ProjectSpec::Pca);
    let placed = place(&mut app);
    // The same axes: a row on the map lands exactly on its own position (up to rounding).
    check_positions(&app, &placed, 1e-5, 0.2);
}

#[test]
fn placing_refuses_with_a_notice() {
    let mut app = demo_app();
    let demo = app.datasets[0].set.clone();
    app.add_dataset_named(cut(&demo, 0..300, 50, "map"), Some("map".into()));
    app.add_dataset_named(cut(&demo, 300..400, 20, "narrow"), Some("narrow".into()));
    settle(&mut app);
    let title = |app: &App| {
        let n = app.notifications.last().expect("a notice");
        assert_eq!(n.level, Severity::Error);
        format!("{} {}", n.title, n.details)
    };
    app.apply(Command::SetActive(1));
    // Another dimension.
    app.apply(Command::PlaceOnMap { from: 2 });
    let t = title(&app);
    assert!(
        t.contains("narrow has 20 dimensions") && t.contains("has 50"),
        "{t}"
    );
    assert!(app.jobs.is_empty());
    // The map's own set, and a set that is not open.
    app.apply(Command::PlaceOnMap { from: 1 });
    assert!(title(&app).contains("another open data set"));
    app.apply(Command::PlaceOnMap { from: 9 });
    assert!(title(&app).contains("no open data set number 9"));
    // No map.
    app.datasets[1].map = None;
    app.apply(Command::PlaceOnMap { from: 0 });
    let t = title(&app);
    assert!(t.contains("no map yet"), "{t}");
    // A semantic-axes map.
    app.apply(Command::Project(ProjectSpec::Axes {
        x: "he -> she".into(),
        y: None,
    }));
    settle(&mut app);
    let m = app.datasets[1].map.as_ref().expect("an axes map");
    assert_eq!(m.method, MapMethod::Axes);
    app.apply(Command::PlaceOnMap { from: 0 });
    let t = title(&app);
    assert!(t.contains("placing needs a UMAP, t-SNE or PCA map"), "{t}");
    assert!(app.jobs.is_empty());
    assert!(
        app.datasets[1]
            .map
            .as_ref()
            .is_some_and(|m| m.placed.is_none())
    );
}
