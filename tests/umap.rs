//! UMAP against umap-learn 0.5.12 (numbers from tests/fixtures/gen/umap_reference.py in
//! tests/fixtures/umap/umap_learn.json), its determinism, `transform`, and the CLI's bad input.
//! The data: the bundled demo set (its first 20,000 rows are GloVe 6B 50d's first 20,000) and
//! the committed 10-cluster fixture of tests/fixtures/projection.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::process::Command;

use embedscope::analysis::project::quality;
use embedscope::analysis::project::umap::{self, UmapParams, transform};
use embedscope::core::EmbeddingSet;
use embedscope::formats::{self, LoadOptions};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn reference() -> Value {
    serde_json::from_str(&std::fs::read_to_string(fixtures().join("umap/umap_learn.json")).unwrap())
        .unwrap()
}

/// Mean of `key` over the runs of `section`.
fn mean(section: &str, key: &str) -> f64 {
    let r = reference();
    let runs = r[section].as_array().unwrap();
    runs.iter().map(|v| v[key].as_f64().unwrap()).sum::<f64>() / runs.len() as f64
}

fn clusters() -> (EmbeddingSet, Vec<usize>) {
    let set = formats::load(
        &fixtures().join("projection/tsne_input.npy"),
        &LoadOptions {
            vocab: Some("#row".into()),
            ..Default::default()
        },
    )
    .unwrap();
    let labels = std::fs::read_to_string(fixtures().join("projection/tsne_labels.txt"))
        .unwrap()
        .lines()
        .map(|l| l.trim().parse().unwrap())
        .collect();
    (set, labels)
}

fn go(_: &umap::Progress) -> ControlFlow<()> {
    ControlFlow::Continue(())
}

/// The k nearest rows of `b` (`m x d`) for each row of `a`, exact f64 euclidean, ties by index.
fn nearest(a: &[f32], b: &[f32], d: usize, k: usize, skip_self: bool) -> Vec<Vec<usize>> {
    a.chunks(d)
        .enumerate()
        .map(|(i, x)| {
            let mut all: Vec<(f64, usize)> = b
                .chunks(d)
                .enumerate()
                .filter(|&(j, _)| !(skip_self && j == i))
                .map(|(j, y)| {
                    let d2 = x
                        .iter()
                        .zip(y)
                        .map(|(p, q)| (f64::from(*p) - f64::from(*q)).powi(2))
                        .sum::<f64>();
                    (d2, j)
                })
                .collect();
            all.sort_by(|p, q| p.0.total_cmp(&q.0).then(p.1.cmp(&q.1)));
            all.into_iter().take(k).map(|x| x.1).collect()
        })
        .collect()
}

#[test]
fn glove_20k_keeps_neighbourhoods_as_well_as_umap_learn() {
    let set = formats::demo_set(Some(20_000)).unwrap();
    assert_eq!(set.rows(), 20_000);
    let p = umap::project(&set, &UmapParams::default(), go).unwrap();
    assert_eq!(p.rows.len(), 20_000);
    let data: Vec<f32> = set.matrix.as_slice().to_vec();
    let q = quality::quality(&data, 50, &p.coords, 2, 10, 0).unwrap();
    assert!(!q.sampled);
    let (tw, kp) = (
        mean("glove20k", "trustworthiness@10"),
        mean("glove20k", "knn_preservation@10"),
    );
    eprintln!(
        "GloVe 20k: trustworthiness@10 {:.4} (umap-learn {tw:.4}), kNN preservation@10 {:.4} \
         (umap-learn {kp:.4})",
        q.trustworthiness, q.knn_preservation
    );
    assert!(
        q.trustworthiness >= tw - 0.01,
        "{} vs {tw}",
        q.trustworthiness
    );
    assert!(
        q.knn_preservation >= kp - 0.02,
        "{} vs {kp}",
        q.knn_preservation
    );
}

/// Share of points whose nearest other point on the map has their label.
fn separation(y: &[f32], labels: &[usize]) -> f64 {
    let nn = nearest(y, y, 2, 1, true);
    nn.iter()
        .enumerate()
        .filter(|(i, n)| labels[n[0]] == labels[*i])
        .count() as f64
        / labels.len() as f64
}

#[test]
fn clusters_stay_separated_and_the_layout_ignores_the_thread_count() {
    let (set, labels) = clusters();
    let run = || umap::project(&set, &UmapParams::default(), go).unwrap();
    let p = run();
    let sep = separation(&p.coords, &labels);
    let reference = mean("clusters", "separation");
    eprintln!("clusters: separation {sep:.4} (umap-learn {reference:.4})");
    assert!(sep >= reference - 0.01, "{sep} vs {reference}");
    let data = set.matrix.as_slice().to_vec();
    let q = quality::quality(&data, 50, &p.coords, 2, 10, 0).unwrap();
    let tw = mean("clusters", "trustworthiness@10");
    assert!(
        q.trustworthiness >= tw - 0.01,
        "{} vs {tw}",
        q.trustworthiness
    );
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        assert_eq!(pool.install(run).coords, p.coords, "{threads} threads");
    }
    let other = umap::project(
        &set,
        &UmapParams {
            seed: 7,
            ..UmapParams::default()
        },
        go,
    )
    .unwrap();
    assert_ne!(other.coords, p.coords);
}

/// Mean share of each placed row's 10 nearest fitted rows on the map that are among its 10
/// nearest fitted rows in the vectors.
fn placement(fit: &[f32], held: &[f32], layout: &[f32], placed: &[f32]) -> f64 {
    let hi = nearest(held, fit, 50, 10, false);
    let lo = nearest(placed, layout, 2, 10, false);
    hi.iter()
        .zip(&lo)
        .map(|(a, b)| a.iter().filter(|x| b.contains(x)).count() as f64 / 10.0)
        .sum::<f64>()
        / hi.len() as f64
}

#[test]
fn placed_rows_land_where_umap_learn_puts_them() {
    let set = formats::demo_set(Some(5_500)).unwrap();
    let all = set.matrix.as_slice();
    let (fit, held) = all.split_at(5_000 * 50);
    let params = UmapParams::default();
    let map = umap::run(fit, 50, &params, None, go).unwrap();
    let placed = transform::umap(fit, &map.layout, 50, held, &params, go).unwrap();
    let ours = placement(fit, held, &map.layout, &placed);
    let reference = mean("transform", "placement@10");
    eprintln!("transform: placement@10 {ours:.4} (umap-learn {reference:.4})");
    assert!(ours >= reference - 0.02, "{ours} vs {reference}");
    // The same rows again give the same places.
    assert_eq!(
        transform::umap(fit, &map.layout, 50, held, &params, go).unwrap(),
        placed
    );
    // A row that is on the map lands on its own place.
    let again = transform::umap(fit, &map.layout, 50, &fit[..50], &params, go).unwrap();
    let d = ((again[0] - map.layout[0]).powi(2) + (again[1] - map.layout[1]).powi(2)).sqrt();
    assert!(d < 1.0, "{d}");
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn cli_maps_places_and_refuses_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let map = dir.path().join("map.csv");
    let m = map.to_str().unwrap();
    // n_neighbors out of range: a usage error before anything is read.
    let (code, _, err) = cli(&[
        "project",
        "demo",
        "--method",
        "umap",
        "--n-neighbors",
        "1",
        "--out",
        m,
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--n-neighbors") && err.contains("from 2 to"),
        "{err}"
    );
    // Fewer points than n_neighbors + 1.
    let (code, _, err) = cli(&[
        "project", "demo", "--method", "umap", "--limit", "10", "--out", m,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("at least 16 points"), "{err}");
    // All-identical rows.
    let same = dir.path().join("same.txt");
    let text: String = (0..40).map(|i| format!("w{i} 0.5 0.5 0.5\n")).collect();
    std::fs::write(&same, text).unwrap();
    let (code, _, err) = cli(&[
        "project",
        same.to_str().unwrap(),
        "--method",
        "umap",
        "--out",
        m,
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("identical"), "{err}");
    // NaN rows are left out and counted.
    let nan = dir.path().join("nan.txt");
    let mut text = String::new();
    for i in 0..60 {
        let v = if i == 5 {
            "nan".to_string()
        } else {
            format!("{}", (i % 7) as f32 * 0.3 + i as f32 * 0.01)
        };
        text.push_str(&format!(
            "w{i} {v} {} {}\n",
            (i % 3) as f32,
            (i % 5) as f32 * 0.7
        ));
    }
    std::fs::write(&nan, text).unwrap();
    let (code, out, err) = cli(&[
        "project",
        nan.to_str().unwrap(),
        "--method",
        "umap",
        "--epochs",
        "50",
        "--out",
        m,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["excluded"], 1);
    assert_eq!(v["n"], 59);
    // A map of the demo's first 2,000 rows, then the next 200 placed into it.
    let (code, _, err) = cli(&[
        "project", "demo", "--method", "umap", "--limit", "2000", "--epochs", "100", "--out", m,
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(dir.path().join("map.map.json").exists());
    let placed = dir.path().join("placed.csv");
    let (code, out, err) = cli(&[
        "transform",
        "demo",
        "--limit",
        "2200",
        "--map",
        m,
        "--only-new",
        "--out",
        placed.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["placed"], 200, "{v}");
    assert_eq!(v["method"], "umap");
    let rows = std::fs::read_to_string(&placed).unwrap();
    assert_eq!(rows.lines().count(), 201);
    assert!(rows.starts_with("token,x,y\n"));
}
