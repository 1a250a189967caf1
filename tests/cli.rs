//! The CLI's documented JSON shapes, human output and exit codes (README "Command line").

mod common;

use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    common::run_embedscope(args, Some("cli"))
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    // Exactly one JSON object on stdout.
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON value: {e}\n{out}"));
    assert!(v.is_object());
    v
}

fn has(v: &Value, keys: &[&str]) {
    for k in keys {
        assert!(v.get(k).is_some(), "missing {k:?} in {v}");
    }
}

#[test]
fn info_json_shape() {
    let v = json(&["info", "demo", "--json"]);
    has(
        &v,
        &[
            "rows",
            "dim",
            "format",
            "sha256",
            "integrity",
            "norms",
            "provenance",
            "timing_s",
        ],
    );
    has(
        &v["integrity"],
        &[
            "nan_rows",
            "inf_rows",
            "zero_rows",
            "duplicate_tokens",
            "invalid_utf8_tokens",
        ],
    );
    has(&v["norms"], &["min", "median", "max", "unit_normalized"]);
    assert_eq!(v["rows"], 50107);
    assert_eq!(v["dim"], 50);
    assert_eq!(v["format"], "word2vec-binary");
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    let (code, out, _) = run(&["info", "demo"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("50107 x 50") && out.contains("integrity   clean"),
        "{out}"
    );
}

#[test]
fn neighbors_json_shape_and_queries() {
    let v = json(&[
        "neighbors",
        "demo",
        "king",
        "king - man + woman",
        "zzzznotaword",
        "-k",
        "3",
        "--json",
    ]);
    has(&v, &["metric", "k", "results", "missing", "timing_s"]);
    has(&v["timing_s"], &["load", "compute"]);
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["query"], "king");
    assert_eq!(r[0]["neighbors"][0]["token"], "prince");
    assert_eq!(r[1]["neighbors"][0]["token"], "queen");
    assert_eq!(r[0]["neighbors"].as_array().unwrap().len(), 3);
    assert_eq!(v["missing"][0]["query"], "zzzznotaword");
    // Euclidean distances increase; dot products decrease.
    let e = json(&[
        "neighbors",
        "demo",
        "king",
        "--metric",
        "euclidean",
        "--json",
    ]);
    let d: Vec<f64> = e["results"][0]["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["score"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    // Only unknown queries: exit code 1.
    assert_eq!(run(&["neighbors", "demo", "zzzznotaword", "--json"]).0, 1);
    // Queries from a file, and raw vectors from an .npy.
    let d = tempfile::tempdir().unwrap();
    let qf = d.path().join("q.txt");
    std::fs::write(&qf, "paris\n\nberlin\n").unwrap();
    let v = json(&[
        "neighbors",
        "demo",
        "--queries-file",
        qf.to_str().unwrap(),
        "-k",
        "1",
        "--json",
    ]);
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    let npy = d.path().join("vecs.npy");
    let king = json(&[
        "convert",
        "demo",
        d.path().join("d.npy").to_str().unwrap(),
        "--limit",
        "2000",
        "--json",
    ]);
    assert_eq!(king["rows"], 2000);
    let set = embedscope::formats::load(&d.path().join("d.npy"), &Default::default()).unwrap();
    let row = set.vocab.get("king").unwrap();
    let one = embedscope::core::EmbeddingSet::new(
        embedscope::core::Vocab::from_unique(["q"]).unwrap(),
        embedscope::core::Matrix::from_vec(1, 50, set.matrix.row(row).to_vec()).unwrap(),
        Default::default(),
        Default::default(),
    )
    .unwrap();
    embedscope::formats::save(&one, &npy, None).unwrap();
    let v = json(&[
        "neighbors",
        "demo",
        "--query-vectors",
        npy.to_str().unwrap(),
        "-k",
        "2",
        "--json",
    ]);
    assert_eq!(v["results"][0]["query"], "#0");
    assert_eq!(v["results"][0]["neighbors"][0]["token"], "king");
}

#[test]
fn analogy_and_eval_json() {
    let v = json(&[
        "analogy", "demo", "man", "king", "woman", "-k", "2", "--json",
    ]);
    assert_eq!(v["results"][0]["token"], "queen");
    let v = json(&[
        "analogy", "demo", "man", "king", "woman", "--method", "mul", "--json",
    ]);
    assert_eq!(v["method"], "mul");
    assert_eq!(v["results"][0]["token"], "queen");
    let v = json(&["eval", "demo", "--json"]);
    assert_eq!(v["analogies"]["total"]["correct"], 9217);
    assert_eq!(v["analogies"]["sections"].as_array().unwrap().len(), 14);
    let sim = v["similarity"].as_array().unwrap();
    assert_eq!(sim.len(), 2);
    assert!((sim[0]["spearman"]["r"].as_f64().unwrap() - 0.503319577396603).abs() < 1e-6);
    has(&sim[0]["pearson"], &["r", "p_value", "n"]);
}

#[test]
fn convert_round_trip_and_errors() {
    let d = tempfile::tempdir().unwrap();
    for ext in ["txt", "bin", "parquet", "esv", "tsv", "npy", "safetensors"] {
        let out = d.path().join(format!("demo1k.{ext}"));
        let v = json(&[
            "convert",
            "demo",
            out.to_str().unwrap(),
            "--limit",
            "1000",
            "--json",
        ]);
        assert_eq!(v["rows"], 1000, "{ext}");
        let back = json(&["info", out.to_str().unwrap(), "--json", "--no-cache"]);
        assert_eq!(back["rows"], 1000, "{ext}");
        assert_eq!(back["dim"], 50, "{ext}");
    }
    // JSON errors on stdout, message on stderr, exit 1.
    let (code, out, err) = run(&["info", "/definitely/not/here.vec", "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["kind"], "not_found");
    assert!(err.contains("/definitely/not/here.vec"));
}

#[test]
fn cache_is_used_on_second_open() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("v.txt");
    json(&[
        "convert",
        "demo",
        f.to_str().unwrap(),
        "--limit",
        "500",
        "--json",
    ]);
    let cache = d.path().join("cache");
    let c = cache.to_str().unwrap();
    let a = json(&["info", f.to_str().unwrap(), "--cache-dir", c, "--json"]);
    assert_eq!(a["cache"]["status"], "stored");
    let b = json(&["info", f.to_str().unwrap(), "--cache-dir", c, "--json"]);
    assert_eq!(b["cache"]["status"], "hit");
    assert_eq!(b["memory_mapped"], true);
    assert_eq!(a["sha256"], b["sha256"]);
}

#[test]
fn project_json_shape_csv_and_errors() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("map.csv");
    let o = out.to_str().unwrap();
    let v = json(&[
        "project", "demo", "--limit", "3000", "--method", "pca", "--out", o, "--json",
    ]);
    has(
        &v,
        &[
            "method", "params", "seed", "n", "sampled", "quality", "timing_s", "details",
        ],
    );
    has(
        &v["quality"],
        &["trustworthiness@10", "knn_preservation@10"],
    );
    has(&v["timing_s"], &["load", "compute"]);
    assert_eq!(v["n"], 3000);
    assert_eq!(v["sampled"], false);
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("token,x,y,knn_recall@10"));
    assert_eq!(lines.count(), 3000);
    // A token with a comma is quoted.
    assert!(csv.contains("\",\","), "comma token quoted");
    let v = json(&[
        "project",
        "demo",
        "--limit",
        "3000",
        "--method",
        "tsne",
        "--iterations",
        "60",
        "--early-iterations",
        "20",
        "--dims",
        "3",
        "--out",
        o,
        "--json",
    ]);
    assert!(v["kl_divergence"].as_f64().unwrap() > 0.0);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("token,x,y,z,knn_recall@10\n")
    );
    let v = json(&[
        "project",
        "demo",
        "--limit",
        "3000",
        "--method",
        "axes",
        "--x-axis",
        "he,him -> she,her,zzqqxx",
        "--out",
        o,
        "--json",
    ]);
    assert_eq!(v["details"]["missing"][0], "zzqqxx");
    // PCA to many dimensions as .npy with its components.
    let npy = d.path().join("p.npy");
    let v = json(&[
        "project",
        "demo",
        "--limit",
        "2000",
        "--method",
        "pca",
        "--dims",
        "20",
        "--out",
        npy.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["dims"], 20);
    assert!(d.path().join("p.components.npy").exists() && d.path().join("p.vocab.txt").exists());
    // Usage errors (2) are caught before loading; runtime errors (1) name the problem.
    assert_eq!(
        run(&[
            "project",
            "demo",
            "--method",
            "tsne",
            "--perplexity",
            "0",
            "--out",
            o
        ])
        .0,
        2
    );
    assert_eq!(
        run(&["project", "demo", "--method", "axes", "--out", o]).0,
        2
    );
    assert_eq!(
        run(&["project", "demo", "--method", "pca", "--out", "/tmp/x.txt"]).0,
        2
    );
    let (code, _, err) = run(&[
        "project", "demo", "--limit", "50", "--method", "tsne", "--out", o,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("at least 91 points"), "{err}");
    let (code, _, err) = run(&[
        "project", "demo", "--method", "pca", "--dims", "60", "--out", o,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("1 to 50"), "{err}");
}
