//! HDBSCAN against scikit-learn 1.9.1 (`tests/fixtures/cluster/hdbscan/`, made by
//! `tests/fixtures/gen/hdbscan_reference.py`; its README says how): on every set and setting,
//! adjusted Rand index >= 0.99, the same noise rows up to 1% of the rows, probabilities within
//! 1e-6 where the labels agree, and the spanning tree's weights equal to scikit-learn's merge
//! distances.
//!
//! The reference labels are scikit-learn's with its sort of the tree's edges made stable (equal
//! weights in Prim's order; its default unstable sort orders them by the machine's SIMD sort).
//! Against the plain, machine-dependent run (`<setting>_default_label`) the same bar is held
//! wherever scikit-learn agrees with itself across the two sorts (ARI >= 0.995); elsewhere the
//! number is printed.

use std::collections::HashMap;
use std::path::PathBuf;

use embedscope::analysis::cluster::{Hdbscan, HdbscanParams, Selection, hdbscan};
use serde_json::Value;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster/hdbscan")
}

struct Set {
    dim: usize,
    points: Vec<f32>,
    /// Per setting: labels and probabilities.
    columns: HashMap<String, (Vec<i32>, Vec<f64>)>,
    /// Per setting: scikit-learn's labels with its default (unstable) sort.
    defaults: HashMap<String, Vec<i32>>,
}

fn read_set(name: &str) -> Set {
    let path = dir().join(format!("{name}.csv"));
    let mut r = csv::Reader::from_path(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let head: Vec<String> = r
        .headers()
        .expect("header")
        .iter()
        .map(str::to_string)
        .collect();
    let dim = head.iter().filter(|h| h.starts_with('x')).count();
    let mut points = Vec::new();
    let mut columns: HashMap<String, (Vec<i32>, Vec<f64>)> = HashMap::new();
    let mut defaults: HashMap<String, Vec<i32>> = HashMap::new();
    for rec in r.records() {
        let rec = rec.expect("record");
        for k in 0..dim {
            points.push(rec[k].parse::<f32>().expect("coordinate"));
        }
        for (h, v) in head.iter().zip(rec.iter()).skip(dim) {
            if let Some(s) = h.strip_suffix("_default_label") {
                defaults
                    .entry(s.to_string())
                    .or_default()
                    .push(v.parse().expect("label"));
            } else if let Some(s) = h.strip_suffix("_label") {
                columns
                    .entry(s.to_string())
                    .or_default()
                    .0
                    .push(v.parse().expect("label"));
            } else if let Some(s) = h.strip_suffix("_prob") {
                columns
                    .entry(s.to_string())
                    .or_default()
                    .1
                    .push(v.parse().expect("prob"));
            }
        }
    }
    Set {
        dim,
        points,
        columns,
        defaults,
    }
}

fn settings() -> Value {
    let text = std::fs::read_to_string(dir().join("settings.json")).expect("settings.json");
    serde_json::from_str(&text).expect("json")
}

fn params(p: &Value) -> HdbscanParams {
    HdbscanParams {
        min_cluster_size: p["min_cluster_size"].as_u64().expect("min_cluster_size") as usize,
        min_samples: p
            .get("min_samples")
            .and_then(Value::as_u64)
            .map(|v| v as usize),
        selection: match p.get("cluster_selection_method").and_then(Value::as_str) {
            Some("leaf") => Selection::Leaf,
            _ => Selection::Eom,
        },
        cluster_selection_epsilon: p
            .get("cluster_selection_epsilon")
            .and_then(Value::as_f64)
            .unwrap_or(0.0),
        allow_single_cluster: p
            .get("allow_single_cluster")
            .and_then(Value::as_bool)
            .unwrap_or(false),
    }
}

fn pairs(n: u64) -> f64 {
    (n as f64) * (n as f64 - 1.0) / 2.0
}

/// Adjusted Rand index (Hubert & Arabie), noise (-1) counted as one more label.
fn ari(a: &[i32], b: &[i32]) -> f64 {
    let mut joint: HashMap<(i32, i32), u64> = HashMap::new();
    let mut ca: HashMap<i32, u64> = HashMap::new();
    let mut cb: HashMap<i32, u64> = HashMap::new();
    for (&x, &y) in a.iter().zip(b) {
        *joint.entry((x, y)).or_default() += 1;
        *ca.entry(x).or_default() += 1;
        *cb.entry(y).or_default() += 1;
    }
    let index: f64 = joint.values().map(|&v| pairs(v)).sum();
    let sa: f64 = ca.values().map(|&v| pairs(v)).sum();
    let sb: f64 = cb.values().map(|&v| pairs(v)).sum();
    let expected = sa * sb / pairs(a.len() as u64);
    let max = (sa + sb) / 2.0;
    if max == expected {
        return 1.0;
    }
    (index - expected) / (max - expected)
}

/// Each of our labels mapped to the reference label it shares most rows with.
fn label_map(ours: &[i32], theirs: &[i32]) -> HashMap<i32, i32> {
    let mut joint: HashMap<(i32, i32), u64> = HashMap::new();
    for (&x, &y) in ours.iter().zip(theirs) {
        *joint.entry((x, y)).or_default() += 1;
    }
    let mut best: HashMap<i32, (u64, i32)> = HashMap::new();
    for (&(x, y), &c) in &joint {
        let e = best.entry(x).or_insert((0, y));
        if c > e.0 || (c == e.0 && y < e.1) {
            *e = (c, y);
        }
    }
    best.into_iter().map(|(x, (_, y))| (x, y)).collect()
}

struct Agreement {
    ari: f64,
    noise_diff: usize,
    same_numbering: usize,
    prob_checked: usize,
    prob_max_err: f64,
}

fn compare(r: &Hdbscan, labels: &[i32], probs: &[f64], with_probs: bool) -> Agreement {
    let map = label_map(&r.labels, labels);
    let mut prob_checked = 0;
    let mut prob_max_err: f64 = 0.0;
    for i in 0..labels.len() {
        if map.get(&r.labels[i]) == Some(&labels[i]) && with_probs {
            prob_checked += 1;
            prob_max_err = prob_max_err.max((f64::from(r.probabilities[i]) - probs[i]).abs());
        }
    }
    Agreement {
        ari: ari(&r.labels, labels),
        noise_diff: r
            .labels
            .iter()
            .zip(labels)
            .filter(|(a, b)| (**a == -1) != (**b == -1))
            .count(),
        same_numbering: r.labels.iter().zip(labels).filter(|(a, b)| a == b).count(),
        prob_checked,
        prob_max_err,
    }
}

fn check_set(name: &str) {
    let meta = settings();
    let set_meta = &meta["sets"][name];
    let set = read_set(name);
    let n = set.points.len() / set.dim;
    assert_eq!(n as u64, set_meta["rows"].as_u64().expect("rows"));
    let mut failures = Vec::new();
    let table = set_meta["settings"].as_object().expect("settings");
    assert!(!table.is_empty());
    for (setting, s) in table {
        let p = params(&s["params"]);
        let sklearn = s["peer"].as_str().unwrap_or("").starts_with("scikit-learn");
        let (labels, probs) = &set.columns[setting];
        let r = hdbscan(&set.points, set.dim, &p, None).expect("hdbscan");
        assert_eq!(r.labels.len(), n);
        let a = compare(&r, labels, probs, sklearn);
        let ref_clusters = labels.iter().max().map_or(0, |&m| (m + 1) as usize);
        eprintln!(
            "{name} {setting}: ARI {:.5}, clusters {} (ref {ref_clusters}), noise rows differing {} \
             of {n}, same label number {}/{n}, probabilities: {} rows, max error {:.2e}",
            a.ari, r.n_clusters, a.noise_diff, a.same_numbering, a.prob_checked, a.prob_max_err
        );
        if a.ari < 0.99 {
            failures.push(format!("{setting}: ARI {:.4}", a.ari));
        }
        if a.noise_diff * 100 > n {
            failures.push(format!("{setting}: {} noise rows differ", a.noise_diff));
        }
        if sklearn && a.prob_max_err > 1e-6 {
            failures.push(format!(
                "{setting}: probability error {:.2e}",
                a.prob_max_err
            ));
        }
        if sklearn && a.prob_checked * 100 < n * 99 {
            failures.push(format!(
                "{setting}: labels agree on only {} rows",
                a.prob_checked
            ));
        }
        if let Some(default) = set.defaults.get(setting) {
            let own = s["ari_default_vs_stable"]
                .as_f64()
                .expect("ari_default_vs_stable");
            let d = compare(&r, default, probs, false);
            eprintln!(
                "{name} {setting}: against plain scikit-learn (default sort): ARI {:.5}, noise rows \
                 differing {}; scikit-learn's two sorts agree to ARI {own:.5}",
                d.ari, d.noise_diff
            );
            if own >= 0.995 && (d.ari < 0.99 || d.noise_diff * 100 > n) {
                failures.push(format!(
                    "{setting}: against the default sort ARI {:.4}, {} noise rows differ",
                    d.ari, d.noise_diff
                ));
            }
        }
        assert!(r.probabilities.iter().all(|p| (0.0..=1.0).contains(p)));
        for (l, p) in r.labels.iter().zip(&r.probabilities) {
            if *l == -1 {
                assert_eq!(*p, 0.0);
            }
        }
    }
    assert!(failures.is_empty(), "{name}: {failures:?}");
}

/// The spanning tree's weights equal scikit-learn's merge distances (min_samples 5 and 15).
fn check_mst(name: &str) {
    let set = read_set(name);
    let path = dir().join(format!("{name}_mst.csv"));
    let mut r = csv::Reader::from_path(&path).expect("mst csv");
    let mut refs: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for rec in r.records() {
        let rec = rec.expect("record");
        refs[0].push(rec[0].parse().expect("weight"));
        refs[1].push(rec[1].parse().expect("weight"));
    }
    for (ms, want) in [5usize, 15].into_iter().zip(refs) {
        let p = HdbscanParams {
            min_cluster_size: ms.max(2),
            min_samples: Some(ms),
            ..HdbscanParams::default()
        };
        let r = hdbscan(&set.points, set.dim, &p, None).expect("hdbscan");
        let mut got: Vec<f64> = r.spanning_tree.iter().map(|e| e.weight).collect();
        got.sort_by(f64::total_cmp);
        assert_eq!(got.len(), want.len(), "{name} min_samples {ms}");
        let worst = got
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs() / b.abs().max(1e-300))
            .fold(0.0f64, f64::max);
        let exact = got.iter().zip(&want).filter(|(a, b)| a == b).count();
        eprintln!(
            "{name} min_samples {ms}: {exact}/{} weights bit-identical, worst relative difference {worst:.1e}",
            want.len()
        );
        assert!(
            worst <= 1e-12,
            "{name} min_samples {ms}: weights differ by {worst:e}"
        );
    }
}

#[test]
fn blobs_2d_match_sklearn() {
    check_set("blobs2d");
    check_mst("blobs2d");
}

#[test]
fn blobs_5d_match_sklearn() {
    check_set("blobs5d");
    check_mst("blobs5d");
}

#[test]
fn single_blob_with_allow_single_cluster_matches_sklearn() {
    check_set("single2d");
    check_mst("single2d");
}

#[test]
fn glove_tsne_map_matches_sklearn() {
    check_set("glove_tsne");
    check_mst("glove_tsne");
}

#[test]
fn same_result_on_any_thread_count() {
    let set = read_set("glove_tsne");
    let p = HdbscanParams {
        min_cluster_size: 15,
        min_samples: Some(5),
        ..HdbscanParams::default()
    };
    let run = |threads| {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .expect("pool")
            .install(|| hdbscan(&set.points, set.dim, &p, None).expect("hdbscan"))
    };
    let one = run(1);
    assert_eq!(one, run(2));
    assert_eq!(one, run(7));
}

#[test]
fn ari_of_known_cases() {
    assert_eq!(ari(&[0, 0, 1, 1], &[5, 5, -1, -1]), 1.0);
    assert!((ari(&[0, 0, 1, 1], &[0, 1, 0, 1]) + 0.5).abs() < 1e-12);
    // sklearn.metrics.adjusted_rand_score([0,0,0,1,1,1], [0,0,1,1,2,2]) = 0.24242424...
    assert!(
        (ari(&[0, 0, 0, 1, 1, 1], &[0, 0, 1, 1, 2, 2]) - 0.242_424_242_424_242_4).abs() < 1e-12
    );
}
