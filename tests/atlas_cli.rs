//! The corpus commands end to end on the tiny BERT fixture: `embed` keeps the full text,
//! `neighbors` lists documents with their text, `search` encodes the query with the set's own
//! model (and refuses another), `cluster` writes the documented CSV and JSON with keywords, and
//! bad parameters fail with a message and no file.

mod common;

use std::path::Path;

use serde_json::Value;

const TINY: &str = "tests/fixtures/encoder/tiny-bert";

fn run(args: &[&str]) -> (i32, String, String) {
    common::run_embedscope(args, Some("atlas"))
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
}

/// Two topics of short documents and one long one, encoded with the tiny model.
fn encoded(dir: &Path) -> (String, Vec<String>) {
    let mut docs = Vec::new();
    for i in 0..30 {
        docs.push(format!("the cat sat on the mat number {i}"));
        docs.push(format!("a dog barked at the moon on day {i}"));
    }
    docs.push(format!("{} end", "long text ".repeat(60)));
    let corpus = dir.join("c.txt");
    std::fs::write(&corpus, docs.join("\n")).expect("write");
    let out = dir.join("docs.npy");
    let out_s = out.display().to_string();
    let (code, _, err) = run(&[
        "embed",
        "--model",
        TINY,
        "--input",
        &corpus.display().to_string(),
        "--out",
        &out_s,
        "--backend",
        "cpu",
    ]);
    assert_eq!(code, 0, "{err}");
    (out_s, docs)
}

#[test]
fn documents_are_listed_searched_and_clustered_by_text() {
    let dir = tempfile::tempdir().expect("tmp");
    let (set, docs) = encoded(dir.path());
    // Neighbours of a document come with their full text.
    let v = json(&["neighbors", &set, "d0", "-k", "3", "--json"]);
    let hits = v["results"][0]["neighbors"].as_array().expect("neighbours");
    for h in hits {
        let row = h["row"].as_u64().expect("row") as usize;
        assert_eq!(h["text"].as_str(), Some(docs[row].as_str()), "{h}");
    }
    // The long document is kept whole.
    let v = json(&["neighbors", &set, "d60", "-k", "1", "--json"]);
    assert!(v["results"][0]["neighbors"][0]["text"].is_string());
    let (code, human, _) = run(&["neighbors", &set, "d0", "-k", "2"]);
    assert_eq!(code, 0);
    assert!(
        human
            .lines()
            .next()
            .expect("first line")
            .contains("the cat sat"),
        "{human}"
    );
    // Semantic search with the recorded model: the query's own words rank first.
    let v = json(&[
        "search",
        &set,
        "--query",
        "the cat sat on the mat",
        "-k",
        "5",
        "--json",
    ]);
    let first = &v["queries"][0]["results"][0];
    assert!(
        first["text"]
            .as_str()
            .expect("text")
            .starts_with("the cat sat"),
        "{v}"
    );
    assert_eq!(v["exact"], true);
    assert_eq!(v["queries"][0]["results"].as_array().map(Vec::len), Some(5));
    // Another model folder is refused by sha256, naming both.
    let (code, _, err) = run(&[
        "search",
        &set,
        "--query",
        "cat",
        "--model",
        "tests/fixtures/encoder/tiny-roberta",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("other weights") && err.contains("tiny-roberta"),
        "{err}"
    );
    // Clusters: two topics, keywords from the text, the documented CSV and JSON.
    let out = dir.path().join("clusters.csv");
    let out_s = out.display().to_string();
    let v = json(&[
        "cluster",
        &set,
        "--min-cluster-size",
        "10",
        "--out",
        &out_s,
        "--json",
    ]);
    for key in [
        "method",
        "params",
        "n_clusters",
        "noise",
        "clusters",
        "out",
        "timing_s",
    ] {
        assert!(v.get(key).is_some(), "{key} missing: {v}");
    }
    assert_eq!(v["method"], "hdbscan");
    assert_eq!(
        v["params"]["min_samples"], 10,
        "min_samples defaults to min_cluster_size"
    );
    let clusters = v["clusters"].as_array().expect("clusters");
    assert!(clusters.len() >= 2, "{v}");
    let words: Vec<String> = clusters
        .iter()
        .flat_map(|c| c["keywords"].as_array().cloned().unwrap_or_default())
        .filter_map(|k| k["word"].as_str().map(str::to_string))
        .collect();
    assert!(
        words.iter().any(|w| w == "cat") && words.iter().any(|w| w == "dog"),
        "{words:?}"
    );
    assert!(
        !words.iter().any(|w| w == "the"),
        "stop words dropped: {words:?}"
    );
    let csv = std::fs::read_to_string(&out).expect("csv");
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("token,cluster,probability,label"));
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), docs.len());
    let sizes: usize = clusters
        .iter()
        .map(|c| c["size"].as_u64().unwrap_or(0) as usize)
        .sum();
    assert_eq!(
        sizes + v["noise"].as_u64().expect("noise") as usize,
        docs.len()
    );
    // k-means, and on a reduced space.
    let v = json(&[
        "cluster", &set, "--method", "kmeans", "--k", "2", "--out", &out_s, "--json",
    ]);
    assert_eq!(v["n_clusters"], 2);
    assert_eq!(v["noise"], 0);
    let v = json(&[
        "cluster",
        &set,
        "--dims",
        "5",
        "--min-cluster-size",
        "10",
        "--out",
        &out_s,
        "--json",
    ]);
    assert!(
        v["space"].as_str().expect("space").contains("UMAP to 5"),
        "{v}"
    );
}

#[test]
fn bad_cluster_and_search_parameters_fail_without_output() {
    let dir = tempfile::tempdir().expect("tmp");
    let (set, _) = encoded(dir.path());
    let out = dir.path().join("c.csv");
    let out_s = out.display().to_string();
    for (args, needle) in [
        (
            vec![
                "cluster",
                &set,
                "--min-cluster-size",
                "500",
                "--out",
                &out_s,
            ],
            "larger than",
        ),
        (
            vec!["cluster", &set, "--method", "kmeans", "--out", &out_s],
            "--k",
        ),
        (
            vec![
                "cluster", &set, "--method", "kmeans", "--k", "100", "--out", &out_s,
            ],
            "61 rows",
        ),
        (vec!["cluster", &set, "--out", "x.txt"], ".csv"),
        (
            vec!["cluster", &set, "--dims", "40", "--out", &out_s],
            "--dims 40",
        ),
        (
            vec!["cluster", &set, "--text-column", "nope", "--out", &out_s],
            "nope",
        ),
        (
            vec![
                "cluster",
                &set,
                "--stop-words",
                "/nonexistent/list",
                "--out",
                &out_s,
            ],
            "/nonexistent/list",
        ),
        (vec!["search", &set, "--query", "  "], "empty query"),
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(needle), "{args:?}: {err}");
        assert!(!out.exists(), "{args:?} wrote a file");
    }
    // A map of another set.
    let map = dir.path().join("m.csv");
    std::fs::write(&map, "token,x,y\nzzz,1,2\n").expect("write");
    let (code, _, err) = run(&[
        "cluster",
        &set,
        "--on",
        &map.display().to_string(),
        "--out",
        &out_s,
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("zzz"), "{err}");
    // A set that records no model: search says so.
    let plain = dir.path().join("plain.vec");
    std::fs::write(&plain, "2 2\na 1 0\nb 0 1\n").expect("write");
    let (code, _, err) = run(&["search", &plain.display().to_string(), "--query", "a"]);
    assert_eq!(code, 1);
    assert!(err.contains("records no model folder"), "{err}");
}
