//! `embedscope compare`: JSON shape, release gates (exit 3), bad input (exit 1 / 2).

mod common;

use std::path::PathBuf;

use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let all: Vec<&str> = [&["compare"][..], args, &["--no-cache"]].concat();
    common::run_embedscope(&all, None)
}

fn one_json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not one JSON value: {e}\n{out}"))
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn json_has_the_documented_keys_and_values() {
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let (code, out, err) = run(&[&a, &b, "--json", "--word", "king"]);
    assert_eq!(code, 0, "{err}");
    let v = one_json(&out);
    for k in [
        "shared_vocab",
        "only_a",
        "only_b",
        "mean_jaccard_at_k",
        "rbo",
        "linear_cka",
        "procrustes_disparity",
        "drift",
        "most_changed",
        "timing_s",
        "versions",
        "words",
    ] {
        assert!(v.get(k).is_some(), "missing {k}");
    }
    assert_eq!(v["shared_vocab"], 1000);
    assert_eq!(
        (v["only_a"].as_u64(), v["only_b"].as_u64()),
        (Some(3), Some(2))
    );
    let j10 = v["mean_jaccard_at_k"]["10"].as_f64().unwrap();
    assert!((j10 - 0.264_427_157_723_598_3).abs() < 1e-12, "{j10}");
    assert!(v["mean_jaccard_at_k"]["50"].is_f64());
    let first = &v["most_changed"][0];
    for k in ["token", "jaccard_at_10", "aligned_cosine"] {
        assert!(first.get(k).is_some(), "most_changed item lacks {k}");
    }
    assert!(v["timing_s"]["total"].as_f64().unwrap() > 0.0);
    assert_eq!(v["words"][0]["token"], "king");
    assert_eq!(v["words"][0]["a"].as_array().unwrap().len(), 10);
    assert!(v.get("pairs").is_none(), "two versions: no pairs list");
}

#[test]
fn fail_if_exits_3_and_names_the_breached_condition() {
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let (code, out, err) = run(&[
        &a,
        &b,
        "--json",
        "--fail-if",
        "mean_jaccard@10 < 0.6",
        "--fail-if",
        "linear_cka < 0.1",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("mean_jaccard@10 < 0.6") && err.contains("0.264427"),
        "{err}"
    );
    assert!(!err.contains("linear_cka < 0.1"), "{err}");
    let v = one_json(&out);
    assert_eq!(v["gate_failed"], true);
    assert_eq!(v["gate"][0]["holds"], true);
    assert_eq!(v["gate"][1]["holds"], false);
    // A condition that does not hold: exit 0.
    let (code, _, err) = run(&[&a, &b, "--fail-if", "mean_jaccard@10 < 0.1"]);
    assert_eq!(code, 0, "{err}");
}

#[test]
fn malformed_fail_if_is_a_usage_error_listing_the_measures() {
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    for bad in ["jaccard < 0.6", "mean_jaccard@10 0.6", "rbo < x"] {
        let (code, _, err) = run(&[&a, &b, "--fail-if", bad]);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(
            err.contains("mean_jaccard@K") && err.contains("procrustes_disparity"),
            "{err}"
        );
    }
    let (code, _, err) = run(&[&a, &b, "-k", "10", "--fail-if", "mean_jaccard@50 < 0.5"]);
    assert_eq!(code, 2);
    assert!(err.contains("-k 10,50"), "{err}");
}

#[test]
fn three_versions_compare_each_with_the_next() {
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let (code, out, err) = run(&[&a, &b, &a, "--json", "-k", "10", "--fail-if", "rbo < 0.5"]);
    assert_eq!(code, 3, "{err}");
    let v = one_json(&out);
    let pairs = v["pairs"].as_array().unwrap();
    assert_eq!(pairs.len(), 2);
    assert_eq!(v["versions"].as_array().unwrap().len(), 3);
    // B vs A: the same words, so the same Jaccard as A vs B.
    let j = |p: &Value| p["mean_jaccard_at_k"]["10"].as_f64().unwrap();
    assert!((j(&pairs[0]) - j(&pairs[1])).abs() < 1e-12);
    assert_eq!(err.matches("rbo < 0.5").count(), 2, "{err}");
}

#[test]
fn no_shared_tokens_nan_rows_and_large_k_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(&dir, "a.vec", "3 2\nx 1 0\ny 0 1\nz 1 1\n");
    let b = write(&dir, "b.vec", "2 2\np 1 0\nq 0 1\n");
    let (code, _, err) = run(&[&a, &b]);
    assert_eq!(code, 1);
    assert!(err.contains("share no tokens"), "{err}");

    let mut ta = String::from("30 3\n");
    let mut tb = String::from("30 3\n");
    for i in 0..30 {
        let (x, y) = (i as f32 * 0.37, (i * 7 % 11) as f32);
        ta.push_str(&format!("w{i} {x} {y} 1\n"));
        if i == 4 {
            tb.push_str(&format!("w{i} nan {y} 1\n"));
        } else {
            tb.push_str(&format!("w{i} {y} {x} 2\n"));
        }
    }
    let a = write(&dir, "na.vec", &ta);
    let b = write(&dir, "nb.vec", &tb);
    let (code, out, err) = run(&[&a, &b, "-k", "5", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = one_json(&out);
    assert_eq!(v["shared_vocab"], 29);
    assert_eq!(v["excluded"], 1);
    assert_eq!(v["vocab"]["excluded_examples"][0]["token"], "w4");
    assert_eq!(v["integrity"]["b"]["nan_rows"], 1);

    let (code, _, err) = run(&[&a, &b, "-k", "29"]);
    assert_eq!(code, 1);
    assert!(err.contains("k = 29") && err.contains("29 words"), "{err}");
}

#[test]
fn per_word_and_vocab_csv_cover_every_word() {
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw.csv");
    let vd = dir.path().join("vd.csv");
    let (code, _, err) = run(&[
        &a,
        &b,
        "--per-word",
        pw.to_str().unwrap(),
        "--vocab-diff",
        vd.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    let pw = std::fs::read_to_string(pw).unwrap();
    let mut lines = pw.lines();
    assert!(
        lines
            .next()
            .unwrap()
            .starts_with("token,rank,jaccard_at_10,jaccard_at_50,rbo_at_10")
    );
    assert_eq!(lines.count(), 1000);
    let vd = std::fs::read_to_string(vd).unwrap();
    assert_eq!(vd.lines().count(), 1 + 3 + 2);
    assert!(vd.contains("zzonlyb2,only_b"));
}

fn encoder_fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn model_folders_encode_the_same_corpus_and_diff_their_tokenizers() {
    let a = encoder_fixture("encoder/tiny-bert");
    let b = encoder_fixture("encoder/tiny-bert-normalized");
    let corpus = encoder_fixture("tokdiff/sample.txt");
    // A folder needs a corpus.
    let (code, _, err) = run(&[&a, &b]);
    assert_eq!(code, 2);
    assert!(err.contains("--corpus"), "{err}");
    for level in ["word", "sentence"] {
        let (code, out, err) = run(&[
            &a,
            &b,
            "--corpus",
            &corpus,
            "--level",
            level,
            "--backend",
            "cpu",
            "-k",
            "5",
            "--json",
        ]);
        assert_eq!(code, 0, "{level}: {err}");
        let v = one_json(&out);
        // Same weights; the second only normalises its sentence output: cosine neighbours
        // are the same, and so is the tokenizer.
        assert_eq!(v["mean_jaccard_at_k"]["5"], 1.0, "{level}");
        assert_eq!(v["tokenizer"]["identical_files"], true);
        assert_eq!(v["tokenizer"]["words_different"], 0);
        assert!(v["tokenizer"]["words_checked"].as_u64().unwrap() >= 300);
        assert!(v["shared_vocab"].as_u64().unwrap() >= 70, "{level}");
    }
    let (code, out, err) = run(&[
        &a,
        &encoder_fixture("tokdiff/tiny-cased"),
        "--corpus",
        &corpus,
        "--backend",
        "cpu",
    ]);
    // tiny-cased holds only tokenizer files: loading it as a model fails, naming the file.
    assert_eq!(code, 1, "{out}");
    assert!(err.contains("tiny-cased"), "{err}");
}
