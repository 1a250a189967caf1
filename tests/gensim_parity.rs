//! Parity with gensim 4.4.0 on the bundled demo vectors (GloVe 6B 50d, 50,107 words).
//! Expected values: tests/fixtures/reference/gensim_eval.json (rounded to 6 decimals) and
//! gensim_extra.json (full precision), made by tests/fixtures/gen/gensim_reference.py.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use embedscope::analysis::analogy::{Method, analogy, cosmul_batch};
use embedscope::analysis::eval::{
    AnalogyOptions, AnalogySet, Outcome, PairOptions, WordPairs, bundled, evaluate_analogies,
    evaluate_pairs, similarity,
};
use embedscope::analysis::expr::Expr;
use embedscope::analysis::{KnnIndex, Metric, Neighbor};
use embedscope::core::EmbeddingSet;
use embedscope::formats::{self, LoadOptions};
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn json(name: &str) -> Value {
    let p = root().join("tests/fixtures/reference").join(name);
    serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap()
}

fn demo() -> &'static EmbeddingSet {
    static SET: OnceLock<EmbeddingSet> = OnceLock::new();
    SET.get_or_init(|| formats::demo_set(None).unwrap())
}

fn check_list(set: &EmbeddingSet, got: &[Neighbor], want: &Value, tol: f64, what: &str) {
    let want = want.as_array().unwrap();
    assert_eq!(got.len(), want.len(), "{what}: length");
    for (g, w) in got.iter().zip(want) {
        let (wt, ws) = (w[0].as_str().unwrap(), w[1].as_f64().unwrap());
        assert_eq!(set.vocab.token(g.index), wt, "{what}: token (got {got:?})");
        assert!(
            (f64::from(g.score) - ws).abs() <= tol,
            "{what}: {wt} score {} vs {ws}",
            g.score
        );
    }
}

fn neighbours(idx: &KnnIndex, word: &str, k: usize, restrict: Option<usize>) -> Vec<Neighbor> {
    let q = idx.token_query(word, Metric::Cosine).unwrap();
    idx.search(&[q], k, Metric::Cosine, restrict)
        .unwrap()
        .remove(0)
}

#[test]
fn demo_shape_matches() {
    let r = json("gensim_eval.json");
    let m = &r["models"]["glove.6B.50d.top50k_plus_probes"];
    assert_eq!(demo().rows() as u64, m["n"].as_u64().unwrap());
    assert_eq!(demo().dim() as u64, m["dim"].as_u64().unwrap());
}

#[test]
fn most_similar_top5_and_top10() {
    let set = demo();
    let idx = KnnIndex::new(set);
    let r = json("gensim_eval.json");
    let m = &r["models"]["glove.6B.50d.top50k_plus_probes"];
    for (word, want) in m["most_similar_top5"].as_object().unwrap() {
        check_list(set, &neighbours(&idx, word, 5, None), want, 1e-6, word);
    }
    let x = json("gensim_extra.json");
    for (word, want) in x["most_similar_top10"].as_object().unwrap() {
        check_list(set, &neighbours(&idx, word, 10, None), want, 1e-6, word);
    }
    check_list(
        set,
        &neighbours(&idx, "king", 10, Some(1000)),
        &x["most_similar_king_restrict1000"],
        1e-6,
        "king restrict 1000",
    );
}

#[test]
fn analogies_cosadd_and_cosmul() {
    let set = demo();
    let idx = KnnIndex::new(set);
    let r = json("gensim_eval.json");
    let got = analogy(&idx, "man", "king", "woman", 5, Method::Add, None).unwrap();
    check_list(
        set,
        &got,
        &r["models"]["glove.6B.50d.top50k_plus_probes"]["analogy_king_man_woman"],
        1e-6,
        "king-man+woman",
    );
    let x = json("gensim_extra.json");
    for (kind, method) in [("cosadd_top10", Method::Add), ("cosmul", Method::Mul)] {
        for (name, case) in x[kind].as_object().unwrap() {
            let pos: Vec<&str> = case["positive"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            let neg: Vec<&str> = case["negative"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            // a : b :: c : ?  is  positive [b, c], negative [a].
            let got = analogy(&idx, neg[0], pos[0], pos[1], 10, method, None).unwrap();
            check_list(set, &got, &case["result"], 1e-6, &format!("{kind} {name}"));
        }
    }
    // The same through the batch API and through an expression.
    let ids = |w: &str| idx.index_of(w).unwrap();
    let batch = cosmul_batch(
        &idx,
        &[(&[ids("king"), ids("woman")][..], &[ids("man")][..])],
        10,
        None,
    )
    .unwrap();
    check_list(
        set,
        &batch[0],
        &x["cosmul"]["king-man+woman"]["result"],
        1e-6,
        "cosmul batch",
    );
    let q = Expr::parse("king - man + woman")
        .unwrap()
        .to_query(&idx, Metric::Cosine)
        .unwrap();
    let got = idx
        .search(&[q], 10, Metric::Cosine, None)
        .unwrap()
        .remove(0);
    check_list(
        set,
        &got,
        &x["cosadd_top10"]["king-man+woman"]["result"],
        1e-6,
        "expression",
    );
}

#[test]
fn raw_vector_query() {
    let set = demo();
    let idx = KnnIndex::new(set);
    let x = json("gensim_extra.json");
    let v: Vec<f32> = x["raw_vector_query"]["vector_f32_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let b = u32::from_str_radix(h.as_str().unwrap(), 16).unwrap();
            f32::from_le_bytes(b.to_be_bytes())
        })
        .collect();
    let want0 = x["raw_vector_query"]["vector_f32"][0].as_f64().unwrap();
    assert!(
        (f64::from(v[0]) - want0).abs() < 1e-7,
        "hex decoding: {} vs {want0}",
        v[0]
    );
    let q = idx.vector_query(&v, Metric::Cosine).unwrap();
    let got = idx
        .search(&[q], 10, Metric::Cosine, None)
        .unwrap()
        .remove(0);
    // A raw vector excludes nothing: 'king' itself comes first.
    check_list(
        set,
        &got,
        &x["raw_vector_query"]["result"],
        1e-6,
        "raw vector",
    );
}

#[test]
fn pair_similarities() {
    let set = demo();
    let idx = KnnIndex::new(set);
    let x = json("gensim_extra.json");
    for p in x["similarity"].as_array().unwrap() {
        let (a, b, want) = (
            p[0].as_str().unwrap(),
            p[1].as_str().unwrap(),
            p[2].as_f64().unwrap(),
        );
        let got = similarity(&idx, idx.index_of(a).unwrap(), idx.index_of(b).unwrap()).unwrap();
        assert!(
            (f64::from(got) - want).abs() < 1e-6,
            "{a} {b}: {got} vs {want}"
        );
    }
}

fn eval_path(name: &str) -> PathBuf {
    let a = root().join("assets/eval").join(name);
    if a.exists() {
        a
    } else {
        root().join("tests/fixtures/eval").join(name)
    }
}

#[test]
fn word_pair_correlations() {
    let set = demo();
    let idx = KnnIndex::new(set);
    let x = json("gensim_extra.json");
    let cases: &[(&str, &str)] = &[
        ("men_tab", "MEN_dataset_natural_form_full.tsv"),
        ("wordsim353_default", "wordsim353.tsv"),
        ("simlex999_default", "simlex999.txt"),
        ("simlex999_case_sensitive", "simlex999.txt"),
        ("simlex999_dummy4unknown", "simlex999.txt"),
        ("wordsim353_case_sensitive", "wordsim353.tsv"),
        ("wordsim353_case_sensitive_dummy4unknown", "wordsim353.tsv"),
        ("simlex999_restrict_vocab_10000", "simlex999.txt"),
        (
            "simlex999_restrict_vocab_10000_dummy4unknown",
            "simlex999.txt",
        ),
    ];
    for (key, file) in cases {
        let want = &x["evaluate_word_pairs"][*key];
        let kw = &want["kwargs"];
        let opts = PairOptions {
            restrict_vocab: kw["restrict_vocab"]
                .as_u64()
                .map_or(300_000, |v| v as usize),
            case_insensitive: kw["case_insensitive"].as_bool().unwrap_or(true),
            dummy4unknown: kw["dummy4unknown"].as_bool().unwrap_or(false),
        };
        let pairs = WordPairs::read(&eval_path(file)).unwrap();
        let r = evaluate_pairs(&idx, &pairs, &opts);
        let p = r.pearson.unwrap();
        let s = r.spearman.unwrap();
        assert!(
            (p.r - want["pearson"].as_f64().unwrap()).abs() < 1e-6,
            "{key} pearson {} vs {}",
            p.r,
            want["pearson"]
        );
        assert!(
            (s.r - want["spearman"].as_f64().unwrap()).abs() < 1e-6,
            "{key} spearman {} vs {}",
            s.r,
            want["spearman"]
        );
        assert!(
            (r.oov_percent - want["oov_percent"].as_f64().unwrap()).abs() < 1e-9,
            "{key} oov"
        );
        for (got, field) in [
            (p.p_value.unwrap(), "pearson_pvalue"),
            (s.p_value.unwrap(), "spearman_pvalue"),
        ] {
            let w = want[field].as_f64().unwrap();
            // Relative agreement: a p-value of ~1e-24 moves by ~2e-6 (relative) when r moves by 1e-8,
            // the float32 noise between BLAS kernels; scipy rounds tiny ones to 0.
            assert!(
                (got - w).abs() <= 1e-4 * w || (w == 0.0 && got < 1e-300),
                "{key} {field}: {got} vs {w}"
            );
        }
    }
}

fn check_analogies(key: &str, opts: &AnalogyOptions) {
    let set = demo();
    let idx = KnnIndex::new(set);
    let x = json("gensim_extra.json");
    let want = &x["evaluate_word_analogies"][key];
    let q = AnalogySet::read(&eval_path("questions-words.txt")).unwrap();
    let r = evaluate_analogies(&idx, &q, opts, None).unwrap();
    // Per-question outcomes first (where recorded): a mismatch names the questions.
    let outcomes: Vec<char> = want["outcomes"]
        .as_str()
        .map_or(Vec::new(), |s| s.chars().collect());
    assert!(
        outcomes.is_empty() || outcomes.len() == r.outcomes.len(),
        "{key}: question count"
    );
    let all: Vec<&([String; 4], u64)> =
        q.sections.iter().flat_map(|s| s.questions.iter()).collect();
    let mut diffs = Vec::new();
    for (i, (&w, g)) in outcomes.iter().zip(&r.outcomes).enumerate() {
        let g = match g {
            Outcome::Correct => '1',
            Outcome::Incorrect => '0',
            Outcome::Unknown => {
                if opts.dummy4unknown {
                    '0'
                } else {
                    '-'
                }
            }
        };
        let w = if opts.dummy4unknown && w == '-' {
            '0'
        } else {
            w
        };
        if g != w {
            diffs.push(format!(
                "line {}: {:?} gensim {w} ours {g}",
                all[i].1, all[i].0
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{key}: {} questions differ: {:?}",
        diffs.len(),
        &diffs[..diffs.len().min(10)]
    );
    for s in &r.sections {
        let w = &want["sections"][&s.section];
        assert_eq!(
            s.correct,
            w["correct"].as_u64().unwrap(),
            "{key} {} correct",
            s.section
        );
        assert_eq!(
            s.incorrect,
            w["incorrect"].as_u64().unwrap(),
            "{key} {} incorrect",
            s.section
        );
    }
    let acc = r.total.accuracy.unwrap();
    assert!(
        (acc - want["accuracy"].as_f64().unwrap()).abs() < 1e-12,
        "{key} accuracy {acc}"
    );
}

#[test]
fn analogy_eval_default() {
    check_analogies("default_cosadd", &AnalogyOptions::default());
    // The bundled copy is the same file.
    let b = bundled::analogies().unwrap();
    let f = AnalogySet::read(&eval_path("questions-words.txt")).unwrap();
    assert_eq!(b.sections, f.sections);
}

#[test]
fn analogy_eval_cosmul() {
    check_analogies(
        "cosmul_patched",
        &AnalogyOptions {
            method: Method::Mul,
            ..Default::default()
        },
    );
}

#[test]
fn analogy_eval_restrict_and_case() {
    check_analogies(
        "restrict_vocab_10000",
        &AnalogyOptions {
            restrict_vocab: 10_000,
            ..Default::default()
        },
    );
    check_analogies(
        "case_sensitive",
        &AnalogyOptions {
            case_insensitive: false,
            ..Default::default()
        },
    );
    check_analogies(
        "restrict_vocab_10000_dummy4unknown",
        &AnalogyOptions {
            restrict_vocab: 10_000,
            dummy4unknown: true,
            ..Default::default()
        },
    );
}

#[test]
fn gensim_fixture_files() {
    let x = json("gensim_extra.json");
    for (file, want) in x["fixtures"].as_object().unwrap() {
        let p = root().join("tests/fixtures/formats/gensim").join(file);
        let set = formats::load(Path::new(&p), &LoadOptions::default()).unwrap();
        assert_eq!(set.rows() as u64, want["count"].as_u64().unwrap(), "{file}");
        assert_eq!(set.dim() as u64, want["dim"].as_u64().unwrap(), "{file}");
        let idx = KnnIndex::new(&set);
        for (word, list) in want["most_similar_top5"].as_object().unwrap() {
            check_list(
                &set,
                &neighbours(&idx, word, 5, None),
                list,
                1e-6,
                &format!("{file} {word}"),
            );
        }
    }
}
