//! `embedscope drift` end to end: two sets of one space (one shifted), one set split by a date
//! column, the documented JSON, the `--fail-if` gate's exit code, and bad input (another
//! dimension, a missing column, an empty side, too few rows, an unknown gate name).

mod common;

use std::path::{Path, PathBuf};

use embedscope::core::{EmbeddingSet, Matrix, MetaColumn, Metadata, Provenance, Vocab};
use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    common::run_embedscope(args, Some("drift"))
}

/// `n` rows of `dim` values around two topics, seeded; `shift` is added to the first
/// coordinate of every row of the second topic (a planted drift); texts and dates as metadata.
fn set(n: usize, dim: usize, seed: u64, shift: f32, dates: &[&str]) -> EmbeddingSet {
    let mut x = seed | 1;
    let mut uni = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 11) as f64 / (1u64 << 53) as f64) as f32
    };
    let mut data = Vec::with_capacity(n * dim);
    let mut texts = Vec::with_capacity(n);
    for i in 0..n {
        let topic = i % 2;
        for j in 0..dim {
            let centre = if j == topic { 2.0 } else { 0.0 };
            let moved = if topic == 1 && j == 0 { shift } else { 0.0 };
            data.push(centre + moved + (uni() - 0.5));
        }
        texts.push(
            if topic == 0 {
                "refund order money back"
            } else {
                "password login account reset"
            }
            .to_string(),
        );
    }
    let mut meta = Metadata::new();
    meta.push(
        MetaColumn {
            name: "text".into(),
            values: texts,
        },
        n,
    )
    .expect("text");
    meta.push(
        MetaColumn {
            name: "date".into(),
            values: (0..n).map(|i| dates[i % dates.len()].to_string()).collect(),
        },
        n,
    )
    .expect("date");
    EmbeddingSet::new(
        Vocab::from_unique((0..n).map(|i| format!("d{i}"))).expect("vocab"),
        Matrix::from_vec(n, dim, data).expect("matrix"),
        meta,
        Provenance::default(),
    )
    .expect("set")
}

fn save(dir: &Path, name: &str, s: &EmbeddingSet) -> PathBuf {
    let p = dir.join(name);
    embedscope::formats::save(s, &p, None).expect("save");
    p
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
}

#[test]
fn two_sets_one_shifted_every_method_flags_it_and_the_gate_fails_the_run() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = save(dir.path(), "r.npy", &set(200, 8, 1, 0.0, &["2024-01-01"]));
    let c = save(dir.path(), "c.npy", &set(200, 8, 2, 1.5, &["2024-09-01"]));
    let same = save(
        dir.path(),
        "same.npy",
        &set(200, 8, 3, 0.0, &["2024-09-01"]),
    );
    let (r, c, same) = (
        r.to_str().unwrap(),
        c.to_str().unwrap(),
        same.to_str().unwrap(),
    );
    let v = json(&[
        "drift",
        r,
        c,
        "--permutations",
        "199",
        "--clusters",
        "4",
        "--json",
    ]);
    for m in [
        "distance_euclidean",
        "distance_cosine",
        "mmd",
        "classifier",
        "ratio",
        "energy",
    ] {
        let x = &v["methods"][m];
        for k in ["score", "threshold", "drift", "p_value"] {
            assert!(!x[k].is_null(), "{m}.{k} missing: {x}");
        }
        // Flagged: over its threshold (Evidently's fixed one) or significant.
        assert!(x["drift"] == true || x["significant"] == true, "{m}: {x}");
        // The share of drifted dimensions is a coarse statistic: with 200 rows a side, noise
        // alone moves many of the 8 dimensions past 0.1, so its permutation p-value is not
        // small here (the analysis tests check it on a larger shift).
        if m != "ratio" {
            assert!(x["p_value"].as_f64().expect("p") < 0.05, "{m}: {x}");
        }
    }
    assert_eq!(v["n_ref"], 200);
    assert_eq!(v["n_cur"], 200);
    assert!(
        v["warnings"][0]
            .as_str()
            .is_some_and(|w| w.contains("could not be checked")),
        "{v}"
    );
    // The moved topic's cluster leads the list, with its keywords.
    let clusters = v["clusters"].as_array().expect("clusters");
    assert!(!clusters.is_empty());
    let first = &clusters[0];
    assert!(
        first["ratio"].as_f64().expect("ratio").abs() > 0.5,
        "{first}"
    );
    let kw: Vec<&str> = first["keywords"]
        .as_array()
        .expect("keywords")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(kw.contains(&"password") || kw.contains(&"refund"), "{kw:?}");
    // The gate: exit 3 when a condition holds, 0 when none does.
    let (code, _, err) = run(&[
        "drift",
        r,
        c,
        "--permutations",
        "99",
        "--fail-if",
        "mmd_p < 0.05",
        "--fail-if",
        "drifted >= 100",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(err.contains("mmd_p < 0.05"), "{err}");
    let (code, out, err) = run(&[
        "drift",
        r,
        same,
        "--permutations",
        "99",
        "--methods",
        "distance_euclidean,mmd",
        "--fail-if",
        "distance_euclidean_drift == 1",
    ]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(
        out.contains("distance_euclidean") && !out.contains("energy"),
        "{out}"
    );
}

#[test]
fn one_set_split_by_its_date_column() {
    let dir = tempfile::tempdir().expect("tmp");
    let s = save(
        dir.path(),
        "s.npy",
        &set(
            300,
            6,
            4,
            0.0,
            &["2024-03-01", "2024-08-15", "", "2024-11-30T10:00Z"],
        ),
    );
    let s = s.to_str().unwrap();
    let v = json(&[
        "drift",
        s,
        "--split-by",
        "date",
        "--before",
        "2024-07-01",
        "--permutations",
        "99",
        "--json",
    ]);
    assert_eq!(v["split"]["reference_rows"], 75, "{v}");
    assert_eq!(v["split"]["current_rows"], 150, "{v}");
    assert_eq!(v["split"]["left_out"], 75, "{v}");
    assert_eq!(v["n_ref"], 75);
    assert_eq!(v["n_cur"], 150);
}

#[test]
fn bad_input_is_said_and_nothing_panics() {
    let dir = tempfile::tempdir().expect("tmp");
    let r = save(dir.path(), "r.npy", &set(50, 8, 1, 0.0, &["2024-01-01"]));
    let other = save(dir.path(), "o.npy", &set(50, 4, 2, 0.0, &["2024-01-01"]));
    let few = save(dir.path(), "few.npy", &set(5, 8, 3, 0.0, &["2024-01-01"]));
    let (r, other, few) = (
        r.to_str().unwrap(),
        other.to_str().unwrap(),
        few.to_str().unwrap(),
    );
    let cases: [(&[&str], i32, &[&str]); 11] = [
        (
            &["drift", r, r, "--clusters", "1000000000000"],
            2,
            &["--clusters"],
        ),
        (
            &["drift", r, r, "--keywords", "18446744073709551615"],
            2,
            &["--keywords"],
        ),
        (
            &["drift", r, r, "--permutations", "1000000000000"],
            2,
            &["permutations"],
        ),
        (&["drift", r, other], 1, &["8-dimensional", "4-dimensional"]),
        (&["drift", r, few], 1, &["at least 10 rows", "current 5"]),
        (
            &["drift", r, "--split-by", "region", "--values", "a,b"],
            1,
            &["region", "text, date"],
        ),
        (
            &["drift", r, "--split-by", "date", "--before", "2020-01-01"],
            1,
            &["reference has 0", "current sample 50"],
        ),
        (&["drift", r, "--split-by", "date"], 2, &["--before"]),
        (&["drift", r], 2, &["--split-by"]),
        (
            &["drift", r, r, "--fail-if", "speed < 1"],
            2,
            &["unknown name"],
        ),
        (&["drift", r, r, "--methods", "mmd,psi"], 2, &["psi"]),
    ];
    for (args, want, says) in cases {
        let (code, _, err) = run(args);
        assert_eq!(code, want, "{args:?}: {err}");
        for s in says {
            assert!(err.contains(s), "{args:?}: {s:?} not in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
    }
}
