//! The approximate-neighbour index against the exact engine on real GloVe rows, its file beside
//! the cache (reopened, stale, damaged), and the CLI's `--index` / `--ef`.

use std::ops::ControlFlow;
use std::path::Path;
use std::process::Command;

use embedscope::analysis::ann::{AnnData, AnnIndex, AnnParams, build};
use embedscope::analysis::{KnnIndex, Metric, Query};
use embedscope::core::EmbeddingSet;
use embedscope::engine::ann::{IndexOrigin, load_or_build};
use embedscope::formats::demo_set;

/// recall@10 of hnswlib with the same parameters (M 16, ef_construction 100, ef 128) on the
/// same rows and queries, from tests/fixtures/gen/ann_recall_hnswlib.py; the index must reach
/// it less 0.02.
const HNSWLIB: [(Metric, f64); 3] = [
    (Metric::Cosine, 0.9981),
    (Metric::Dot, 0.9818),
    (Metric::Euclidean, 0.9965),
];

fn go() -> impl FnMut(embedscope::analysis::ann::AnnProgress) -> ControlFlow<()> {
    |_| ControlFlow::Continue(())
}

fn recall(set: &EmbeddingSet, metric: Metric) -> f64 {
    let data = AnnData::of_set(set, metric).unwrap();
    let params = AnnParams::default().check().unwrap();
    let g = build(&data, &params, &mut go()).unwrap();
    let ann = AnnIndex::new(&g, &data).unwrap().with_ef(128);
    let exact = KnnIndex::new(set);
    let qs: Vec<Query> = (0..set.rows())
        .step_by(50)
        .filter_map(|i| exact.token_query(set.vocab.token(i), metric).ok())
        .collect();
    let want = exact.search(&qs, 10, metric, None).unwrap();
    let got = ann.search(&qs, 10, metric, None).unwrap();
    let mut hit = 0;
    for (w, g) in want.iter().zip(&got) {
        assert_eq!(g.len(), 10);
        hit += g
            .iter()
            .filter(|n| w.iter().any(|m| m.index == n.index))
            .count();
    }
    hit as f64 / (10 * qs.len()) as f64
}

#[test]
fn recall_on_glove_rows_for_each_metric() {
    let set = demo_set(None).unwrap();
    for (metric, reference) in HNSWLIB {
        let r = recall(&set, metric);
        assert!(
            r >= reference - 0.02,
            "{metric}: recall@10 {r}, hnswlib {reference}"
        );
    }
}

fn store_set(dir: &Path, set: &EmbeddingSet) -> embedscope::engine::ann::SetIndex {
    let data = AnnData::of_set(set, Metric::Cosine).unwrap();
    let params = AnnParams {
        m: 8,
        ef_construction: 40,
        ..AnnParams::default()
    }
    .check()
    .unwrap();
    load_or_build(set, &data, &params, Some(dir), &mut go()).unwrap()
}

fn answers(set: &EmbeddingSet, idx: &embedscope::engine::ann::SetIndex) -> Vec<Vec<usize>> {
    let data = AnnData::of_set(set, Metric::Cosine).unwrap();
    let ann = AnnIndex::new(&idx.graph, &data).unwrap();
    let exact = KnnIndex::new(set);
    let qs: Vec<Query> = (0..200)
        .map(|i| {
            exact
                .token_query(set.vocab.token(i * 7), Metric::Cosine)
                .unwrap()
        })
        .collect();
    ann.search(&qs, 10, Metric::Cosine, None)
        .unwrap()
        .into_iter()
        .map(|l| l.into_iter().map(|n| n.index).collect())
        .collect()
}

#[test]
fn stored_index_reopens_with_identical_answers_and_stale_or_damaged_is_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let set = demo_set(Some(5000)).unwrap();
    let first = store_set(dir.path(), &set);
    let IndexOrigin::Built { stored: Some(file) } = first.origin.clone() else {
        panic!("not stored: {:?} {:?}", first.origin, first.notes);
    };
    let again = store_set(dir.path(), &set);
    assert_eq!(again.origin, IndexOrigin::Loaded(file.clone()));
    assert!(again.graph.is_mapped());
    assert_eq!(answers(&set, &first), answers(&set, &again));

    // The data changed (one row): another key, so another file; the old one is never used.
    let mut rows = set.matrix.as_slice().to_vec();
    rows[0] += 0.5;
    let changed = EmbeddingSet::new(
        set.vocab.clone(),
        embedscope::core::Matrix::from_vec(set.rows(), set.dim(), rows).unwrap(),
        set.metadata.clone(),
        set.provenance.clone(),
    )
    .unwrap();
    let other = store_set(dir.path(), &changed);
    assert!(matches!(other.origin, IndexOrigin::Built { .. }));

    // The stored file truncated, then of another version: ignored with a note, rebuilt.
    let bytes = std::fs::read(&file).unwrap();
    std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
    let r = store_set(dir.path(), &set);
    assert!(matches!(r.origin, IndexOrigin::Built { .. }));
    assert!(
        r.notes.iter().any(|n| n.contains("truncated")),
        "{:?}",
        r.notes
    );
    let mut v = std::fs::read(&file).unwrap();
    v[8..12].copy_from_slice(&7u32.to_le_bytes());
    std::fs::write(&file, &v).unwrap();
    let r = store_set(dir.path(), &set);
    assert!(
        r.notes.iter().any(|n| n.contains("version 7")),
        "{:?}",
        r.notes
    );
    // Rebuilt and stored again: reopens.
    assert!(matches!(
        store_set(dir.path(), &set).origin,
        IndexOrigin::Loaded(_)
    ));
}

fn cli(args: &[&str], cache: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(args)
        .env("EMBEDSCOPE_CACHE_DIR", cache)
        .output()
        .unwrap()
}

#[test]
fn cli_index_choice_and_ef_range() {
    let dir = tempfile::tempdir().unwrap();
    let out = cli(&["neighbors", "demo", "king", "--ef", "0"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("--ef <N>': expected a whole number from 1 to 100000")
    );
    let out = cli(&["neighbors", "demo", "king", "--ef", "100001"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let out = cli(
        &[
            "neighbors",
            "demo",
            "king",
            "--index",
            "exact",
            "--ef",
            "10",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));

    let run = |extra: &[&str]| -> serde_json::Value {
        let mut a = vec![
            "neighbors",
            "demo",
            "king",
            "queen",
            "--json",
            "--limit",
            "20000",
        ];
        a.extend_from_slice(extra);
        let out = cli(&a, dir.path());
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    };
    let exact = run(&[]);
    assert_eq!(exact["approximate"], false);
    assert_eq!(exact["index"]["kind"], "exact");
    let built = run(&["--index", "ann", "--ef", "200"]);
    assert_eq!(built["approximate"], true);
    assert_eq!(built["index"]["origin"], "built");
    assert_eq!(built["index"]["ef_search"], 200);
    let loaded = run(&["--index", "ann", "--ef", "200"]);
    assert_eq!(loaded["index"]["origin"], "loaded");
    assert_eq!(loaded["results"], built["results"]);
    let top = |v: &serde_json::Value| v["results"][0]["neighbors"][0]["token"].clone();
    assert_eq!(top(&exact), top(&built));
}
