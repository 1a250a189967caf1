//! `embedscope bias`: JSON shapes, a debiased "v2" compared with the original, user word lists,
//! bad input (exit 1 / 2).

mod common;

use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    let all: Vec<&str> = [&["bias"][..], args].concat();
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
fn weat_json_has_the_documented_shape() {
    let (code, out, err) = run(&[
        "weat",
        "demo",
        "--test",
        "weat7",
        "--seed",
        "3",
        "--bootstrap",
        "500",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v = one_json(&out);
    for key in [
        "effect_size",
        "statistic",
        "p_value",
        "ci95",
        "n",
        "missing",
    ] {
        assert!(v.get(key).is_some(), "missing {key}: {v}");
    }
    assert!((v["effect_size"].as_f64().unwrap() - 1.5441682207522471).abs() < 1e-6);
    let ci = v["ci95"].as_array().unwrap();
    assert_eq!(ci.len(), 2);
    assert!(ci[0].as_f64().unwrap() < ci[1].as_f64().unwrap());
    assert_eq!(v["n"]["x"], 8);
    assert_eq!(v["n"]["b"], 8);
    assert_eq!(v["p_value_method"]["method"], "exact");
    assert_eq!(v["p_value_method"]["partitions"], 12870);
    assert!(v["missing"].as_array().unwrap().is_empty());
    // Same seed, same bytes.
    let (_, again, _) = run(&[
        "weat",
        "demo",
        "--test",
        "weat7",
        "--seed",
        "3",
        "--bootstrap",
        "500",
        "--json",
    ]);
    let strip = |s: &str| {
        let mut v = one_json(s);
        v.as_object_mut().unwrap().remove("seconds");
        v
    };
    assert_eq!(strip(&out), strip(&again));
}

#[test]
fn debiased_v2_is_compared_with_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let v2 = dir.path().join("demo-debiased.esv").display().to_string();
    let (code, out, err) = run(&["debias", "demo", "--out", &v2, "--json"]);
    assert_eq!(code, 0, "{err}");
    let d = one_json(&out);
    let before = d["direct_bias_professions"]["before"].as_f64().unwrap();
    let after = d["direct_bias_professions"]["after"].as_f64().unwrap();
    assert!(before > 0.1 && after < 1e-6, "{before} -> {after}");
    assert_eq!(d["report"]["rows"], 50107);
    // Direct bias of the new file from the command itself.
    let (code, out, err) = run(&["direct", &v2, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(one_json(&out)["direct_bias"].as_f64().unwrap() < 1e-6);
    // WEAT 6 (names vs career/family) across the two versions.
    let (code, out, err) = run(&[
        "weat",
        "demo",
        &v2,
        "--test",
        "weat6,weat7",
        "--permutations",
        "5000",
        "--bootstrap",
        "200",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v = one_json(&out);
    let results = v["results"].as_array().unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(v["correction"], "holm");
    let p: Vec<f64> = results
        .iter()
        .map(|r| r["p_value"].as_f64().unwrap())
        .collect();
    let holm: Vec<f64> = results
        .iter()
        .map(|r| r["p_holm"].as_f64().unwrap())
        .collect();
    for (a, b) in p.iter().zip(&holm) {
        assert!(b >= a, "Holm never lowers a p-value: {p:?} {holm:?}");
    }
    let diffs = v["differences"].as_array().unwrap();
    assert_eq!(diffs.len(), 2);
    // Gender-neutral words (weat7's math/arts) lose their gender association after
    // debiasing: the effect size difference is clearly positive.
    let w7 = diffs.iter().find(|d| d["test"] == "weat7").unwrap();
    assert!(w7["difference"].as_f64().unwrap() > 0.5, "{w7}");
    assert!(w7["p_value"].as_f64().unwrap() < 0.05, "{w7}");
    // Human output names both files and the correction.
    let (code, out, _) = run(&["weat", "demo", &v2, "--test", "weat7", "--bootstrap", "0"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("demo-debiased.esv") && out.contains("Holm"),
        "{out}"
    );
}

#[test]
fn user_word_lists_and_bundled_sets() {
    let dir = tempfile::tempdir().unwrap();
    let x = write(
        &dir,
        "math.txt",
        "# math words\nmath\nalgebra\ngeometry\ncalculus\n",
    );
    let y = write(&dir, "arts.txt", "poetry\nart\ndance\nliterature\n");
    let (code, out, err) = run(&[
        "weat",
        "demo",
        "--x",
        &x,
        "--y",
        &y,
        "--a",
        "set:male_terms",
        "--b",
        "set:female_terms",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v = one_json(&out);
    assert_eq!(v["test"], "math-arts");
    assert_eq!(v["n"]["x"], 4);
    assert_eq!(v["p_value_method"]["partitions"], 70);
    // A JSON test file.
    let t = write(
        &dir,
        "mine.json",
        r#"{"name": "mine", "x": ["math","algebra"], "y": ["poetry","art"], "a": ["he","man"], "b": ["she","woman"]}"#,
    );
    let (code, out, err) = run(&["weat", "demo", "--tests-file", &t, "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(one_json(&out)["test"], "mine");
    let (code, out, _) = run(&["sets", "--json"]);
    assert_eq!(code, 0);
    assert_eq!(one_json(&out)["tests"].as_array().unwrap().len(), 10);
}

#[test]
fn bad_input_is_named() {
    let dir = tempfile::tempdir().unwrap();
    // No test named: usage error.
    let (code, _, err) = run(&["weat", "demo"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--test"), "{err}");
    // Only some of the four lists.
    let x = write(&dir, "x.txt", "math\nalgebra\n");
    let (code, _, err) = run(&["weat", "demo", "--x", &x]);
    assert_eq!(code, 2);
    assert!(err.contains("--x, --y, --a and --b"), "{err}");
    // Unknown test.
    let (code, _, err) = run(&["weat", "demo", "--test", "weat42"]);
    assert_eq!(code, 1);
    assert!(err.contains("weat42") && err.contains("weat10"), "{err}");
    // One-word set.
    let one = write(&dir, "one.txt", "math\n");
    let (code, _, err) = run(&[
        "weat",
        "demo",
        "--x",
        &x,
        "--y",
        &one,
        "--a",
        "set:male_terms",
        "--b",
        "set:female_terms",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("has 1 word"), "{err}");
    // Unequal sizes.
    let three = write(&dir, "three.txt", "poetry\nart\ndance\n");
    let (code, _, err) = run(&[
        "weat",
        "demo",
        "--x",
        &x,
        "--y",
        &three,
        "--a",
        "set:male_terms",
        "--b",
        "set:female_terms",
    ]);
    assert_eq!(code, 1);
    assert!(
        err.contains("different sizes") && err.contains("--allow-unequal"),
        "{err}"
    );
    // All words missing.
    let gone = write(&dir, "gone.txt", "qqqzx\nzzxqv\n");
    let (code, _, err) = run(&[
        "weat",
        "demo",
        "--x",
        &gone,
        "--y",
        &x,
        "--a",
        "set:male_terms",
        "--b",
        "set:female_terms",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("misses 2 of 2 words: qqqzx, zzxqv"), "{err}");
    // Duplicate words across X and Y.
    let dup = write(&dir, "dup.txt", "poetry\nalgebra\n");
    let (code, _, err) = run(&[
        "weat",
        "demo",
        "--x",
        &x,
        "--y",
        &dup,
        "--a",
        "set:male_terms",
        "--b",
        "set:female_terms",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("share 1 word: algebra"), "{err}");
    // A pairs file with a missing member: the pair is reported, the rest used.
    let pairs = write(&dir, "pairs.txt", "she he\nwoman man\nqqqzx zzxqv\n");
    let (code, out, err) = run(&["direct", "demo", "--pairs", &pairs, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v = one_json(&out);
    assert_eq!(v["direction"]["pairs_missing"][0][0], "qqqzx");
    assert_eq!(v["direction"]["pairs_used"].as_array().unwrap().len(), 2);
    // A malformed pairs file names the line.
    let bad = write(&dir, "bad.txt", "she he\nqueen\n");
    let (code, _, err) = run(&["direct", "demo", "--pairs", &bad]);
    assert_eq!(code, 1);
    assert!(err.contains("bad.txt: line 2"), "{err}");
    // Only one usable pair.
    let one_pair = write(&dir, "onepair.txt", "she he\nqqqzx zzxqv\n");
    let (code, _, err) = run(&["direct", "demo", "--pairs", &one_pair]);
    assert_eq!(code, 1);
    assert!(
        err.contains("at least 2 definitional pairs") && err.contains("qqqzx/zzxqv"),
        "{err}"
    );
}

#[test]
fn a_model_folder_runs_the_sentence_version() {
    let model = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/encoder/tiny-bert"
    );
    let (code, out, err) = run(&[
        "weat",
        model,
        "--test",
        "weat7",
        "--backend",
        "cpu",
        "--permutations",
        "1000",
        "--bootstrap",
        "100",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v = one_json(&out);
    assert_eq!(v["test"], "weat7-seat");
    // 8 words x 8 frames per set.
    assert_eq!(v["n"]["x"], 64);
    assert_eq!(v["n"]["a"], 64);
    assert!(v["effect_size"].as_f64().unwrap().is_finite());
    assert_eq!(v["p_value_method"]["method"], "permutations");
}
