//! Tokenizer summaries and diffs on the fixture tokenizers.

use super::*;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}
fn minilm() -> PathBuf {
    root().join("tokdiff/minilm")
}
fn tiny() -> PathBuf {
    root().join("encoder/tiny-bert")
}
fn cased() -> PathBuf {
    root().join("tokdiff/tiny-cased")
}
fn reference() -> Value {
    let p = root().join("tokdiff/reference.json");
    serde_json::from_str(&std::fs::read_to_string(&p).expect("reference.json"))
        .expect("reference.json is JSON")
}
fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("string").to_string())
        .collect()
}
/// The word list of the reference pairs: sample words, then the extra words.
fn reference_words(r: &Value) -> Vec<String> {
    let mut w = strings(&r["sample_words"]);
    w.extend(strings(&r["extra_words"]));
    w
}

#[test]
fn sample_words_match_python_pre_tokenizers() {
    let r = reference();
    let text = std::fs::read_to_string(root().join("tokdiff/sample.txt")).expect("sample");
    let max = r["sample_max_words"].as_u64().expect("max") as usize;
    assert_eq!(sample_words(&text, max), strings(&r["sample_words"]));
    let extra = r["extra_text"].as_str().expect("extra_text");
    let max = r["extra_max_words"].as_u64().expect("max") as usize;
    assert_eq!(sample_words(extra, max), strings(&r["extra_words"]));
}

#[test]
fn sample_words_split_dedup_and_limit() {
    let t =
        "Hello, world! \"Hello\" _You_ QUEEN-doctor's  €5 🦀🚀\tzero\u{200b}width a\u{a0}b world";
    assert_eq!(
        sample_words(t, 100),
        [
            "Hello",
            "world",
            "You",
            "QUEEN",
            "doctor",
            "s",
            "€5",
            "🦀🚀",
            "zero\u{200b}width",
            "a",
            "b"
        ]
    );
    assert_eq!(sample_words(t, 3), ["Hello", "world", "You"]);
    assert!(sample_words(t, 0).is_empty());
    assert!(sample_words("", 10).is_empty());
    assert!(sample_words(" .,;!? \n", 10).is_empty());
}

#[test]
fn chunks_never_cut_a_word() {
    let text = "alpha beta  gamma\ndelta épsilon ".repeat(50) + &"x".repeat(300) + " end";
    for size in [1, 7, 16, 64, 1000] {
        let parts: Vec<&str> = chunks(&text, size).collect();
        assert_eq!(parts.concat(), text, "size {size}");
        for p in &parts[..parts.len() - 1] {
            assert!(p.ends_with(char::is_whitespace), "size {size}: {p:?}");
        }
        assert_eq!(
            sample_words(&text, 100),
            [
                "alpha",
                "beta",
                "gamma",
                "delta",
                "épsilon",
                &"x".repeat(300),
                "end"
            ]
        );
    }
    // A long text through the chunked path gives the same words as one pre-tokenisation.
    let long = "w".repeat(70_000) + " tail, more";
    assert_eq!(
        sample_words(&long, 10),
        ["w".repeat(70_000), "tail".into(), "more".into()]
    );
}

#[test]
fn summaries_match_reference() {
    let r = reference();
    for (name, dir) in [
        ("minilm", minilm()),
        ("tiny", tiny()),
        ("tiny-cased", cased()),
    ] {
        let s = summarize(&dir).expect("summary");
        let e = &r["summaries"][name];
        assert_eq!(s.path, dir.join("tokenizer.json"));
        assert_eq!(s.model, e["model"].as_str().expect("model"), "{name}");
        assert_eq!(
            s.vocab_size as u64,
            e["vocab_size"].as_u64().expect("v"),
            "{name}"
        );
        assert_eq!(s.special_tokens, strings(&e["special_tokens"]), "{name}");
        assert_eq!(s.lowercase, e["lowercase"].as_bool().expect("l"), "{name}");
        assert_eq!(
            s.strip_accents,
            e["strip_accents"].as_bool().expect("s"),
            "{name}"
        );
        assert_eq!(
            s.max_length.map(|m| m as u64),
            e["max_length"].as_u64(),
            "{name}"
        );
    }
    let m = summarize(&minilm()).expect("minilm");
    assert_eq!(m.vocab_size, 30522);
    assert_eq!(m.max_length, Some(256));
    assert_eq!(
        m.normalizer,
        "BertNormalizer(lowercase, strip_accents, clean_text, chinese_chars)"
    );
    let c = summarize(&cased()).expect("cased");
    assert_eq!(c.normalizer, "BertNormalizer(clean_text, chinese_chars)");
    assert_eq!(
        c.max_length,
        Some(64),
        "no sentence_bert_config.json: positions"
    );
    assert_eq!(summarize(&tiny()).expect("tiny").max_length, Some(48));
}

fn check_pair(r: &Value, name: &str, d: &TokenizerDiff) {
    let e = &r["pairs"][name];
    let n = |k: &str| e[k].as_u64().expect(k) as usize;
    let f = |k: &str| e[k].as_f64().expect(k);
    assert_eq!(d.words_checked, n("words_checked"), "{name}");
    assert_eq!(d.words_different, n("words_different"), "{name}");
    for (got, k) in [
        (d.share_different, "share_different"),
        (d.mean_pieces_a, "mean_pieces_a"),
        (d.mean_pieces_b, "mean_pieces_b"),
        (d.unk_share_a, "unk_share_a"),
        (d.unk_share_b, "unk_share_b"),
    ] {
        assert!((got - f(k)).abs() <= 1e-12, "{name} {k}: {got} vs {}", f(k));
    }
    assert_eq!(
        d.identical_files,
        e["identical_files"].as_bool().expect("identical"),
        "{name}"
    );
    let ex = e["examples"].as_array().expect("examples");
    assert_eq!(d.examples.len(), ex.len(), "{name}");
    for (got, want) in d.examples.iter().zip(ex) {
        assert_eq!(got.word, want["word"].as_str().expect("word"), "{name}");
        assert_eq!(got.a, strings(&want["a"]), "{name} {}", got.word);
        assert_eq!(got.b, strings(&want["b"]), "{name} {}", got.word);
    }
}

#[test]
fn diffs_match_python_tokenizers() {
    let r = reference();
    let words = reference_words(&r);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();

    let d = diff(&minilm(), &tiny(), &w).expect("minilm vs tiny");
    check_pair(&r, "minilm_vs_tiny", &d);
    assert_eq!(d.examples.len(), MAX_EXAMPLES);
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("vocabulary sizes differ"))
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.contains("maximum lengths differ: A 256, B 48"))
    );

    let d = diff(&tiny(), &cased(), &w).expect("tiny vs cased");
    check_pair(&r, "tiny_vs_tiny_cased", &d);
    assert!(
        d.unk_share_b > d.unk_share_a,
        "the cased copy has no capitals"
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n.starts_with("A lower-cases its input and B"))
    );
    assert!(
        d.notes
            .iter()
            .any(|n| n == "A strips accents and B keeps them")
    );
    // Every differing word has a capital letter or an accent.
    for e in &d.examples {
        assert!(
            e.word.chars().any(|c| c.is_uppercase() || !c.is_ascii()),
            "{}",
            e.word
        );
    }

    let d = diff(&minilm(), &minilm(), &w).expect("minilm vs minilm");
    check_pair(&r, "minilm_vs_minilm", &d);
    assert!(d.identical_files && d.examples.is_empty());
    assert_eq!(d.notes, ["the two tokenizer.json files are byte-identical"]);
}

#[test]
fn swapped_pair_swaps_the_sides() {
    let r = reference();
    let words = reference_words(&r);
    let w: Vec<&str> = words.iter().map(String::as_str).collect();
    let ab = diff(&tiny(), &cased(), &w).expect("ab");
    let ba = diff(&cased(), &tiny(), &w).expect("ba");
    assert_eq!(ab.words_different, ba.words_different);
    assert_eq!(ab.unk_share_a, ba.unk_share_b);
    assert_eq!(ab.mean_pieces_b, ba.mean_pieces_a);
    for (x, y) in ab.examples.iter().zip(&ba.examples) {
        assert_eq!((&x.word, &x.a, &x.b), (&y.word, &y.b, &y.a));
    }
    assert!(
        ba.notes
            .iter()
            .any(|n| n.starts_with("B lower-cases its input and A"))
    );
}

#[test]
fn empty_word_list() {
    let d = diff(&minilm(), &tiny(), &[]).expect("empty");
    assert_eq!((d.words_checked, d.words_different), (0, 0));
    assert_eq!(d.share_different, 0.0);
    assert_eq!((d.mean_pieces_a, d.mean_pieces_b), (0.0, 0.0));
    assert_eq!((d.unk_share_a, d.unk_share_b), (0.0, 0.0));
    assert!(d.examples.is_empty() && !d.identical_files);
    let json = serde_json::to_value(&d).expect("serialize");
    assert_eq!(json["a"]["model"], "WordPiece");
}

#[test]
fn missing_folder_names_the_tokenizer_path() {
    let dir = root().join("tokdiff/no-such-model");
    let err = summarize(&dir).expect_err("missing");
    match &err {
        ModelError::Io(p, msg) => {
            assert_eq!(p, &dir.join("tokenizer.json"));
            assert!(msg.starts_with("missing"), "{msg}");
        }
        other => panic!("expected Io, got {other:?}"),
    }
    assert!(err.to_string().contains("no-such-model/tokenizer.json"));
    // Either side of a diff.
    let err = diff(&tiny(), &dir, &["word"]).expect_err("missing b");
    assert!(matches!(err, ModelError::Io(p, _) if p == dir.join("tokenizer.json")));
}

#[test]
fn invalid_files_are_named() {
    let tmp = tempfile::tempdir().expect("tmp");
    let tok = tmp.path().join("tokenizer.json");
    std::fs::write(&tok, "{\"version\": \"1.0\", \"model\": 42}").expect("write");
    match summarize(tmp.path()).expect_err("invalid tokenizer") {
        ModelError::Tokenizer(p, _) => assert_eq!(p, tok),
        other => panic!("expected Tokenizer, got {other:?}"),
    }
    std::fs::write(&tok, "not json at all").expect("write");
    assert!(matches!(
        diff(&tiny(), tmp.path(), &[]).expect_err("invalid b"),
        ModelError::Tokenizer(p, _) if p == tok
    ));

    // A valid tokenizer next to a broken config.json.
    std::fs::copy(tiny().join("tokenizer.json"), &tok).expect("copy");
    let cfg = tmp.path().join("config.json");
    std::fs::write(&cfg, "{ broken").expect("write");
    match summarize(tmp.path()).expect_err("invalid config") {
        ModelError::Invalid(p, msg) => {
            assert_eq!(p, cfg);
            assert!(msg.starts_with("not JSON"), "{msg}");
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn sequence_normalizer_roberta_length_and_a_file_path() {
    let tmp = tempfile::tempdir().expect("tmp");
    let mut tok: Value = serde_json::from_str(
        &std::fs::read_to_string(tiny().join("tokenizer.json")).expect("read"),
    )
    .expect("json");
    tok["normalizer"] = serde_json::json!({
        "type": "Sequence",
        "normalizers": [
            {"type": "NFD"},
            {"type": "Lowercase"},
            {"type": "StripAccents"},
            {"type": "Replace", "pattern": {"String": "``"}, "content": "\""},
            {"type": "Strip", "strip_left": true, "strip_right": true}
        ]
    });
    let path = tmp.path().join("tokenizer.json");
    std::fs::write(&path, tok.to_string()).expect("write");

    // Only tokenizer.json: no length known.
    let s = summarize(tmp.path()).expect("summary");
    assert!(s.lowercase && s.strip_accents);
    assert_eq!(
        s.normalizer,
        "Sequence(NFD, Lowercase, StripAccents, Replace(\"``\" -> \"\\\"\"), Strip(left, right))"
    );
    assert_eq!(s.max_length, None);

    // RoBERTa-style position table: 514 rows, 512 usable.
    std::fs::write(
        tmp.path().join("config.json"),
        r#"{"model_type": "roberta", "max_position_embeddings": 514}"#,
    )
    .expect("write");
    assert_eq!(
        summarize(tmp.path()).expect("roberta").max_length,
        Some(512)
    );
    std::fs::write(
        tmp.path().join("sentence_bert_config.json"),
        r#"{"max_seq_length": 1024}"#,
    )
    .expect("write");
    assert_eq!(summarize(tmp.path()).expect("capped").max_length, Some(512));

    // The file itself may be given; the folder around it supplies the configs.
    let f = summarize(&path).expect("file path");
    assert_eq!(
        (f.path.as_path(), f.max_length),
        (path.as_path(), Some(512))
    );

    // Same pieces as the tiny model (lowercasing and accents agree), other normaliser.
    let d = diff(&tiny(), tmp.path(), &["Café", "QUEEN", "naïve"]).expect("diff");
    assert_eq!(d.words_different, 0);
    assert!(d.notes.iter().any(|n| n.starts_with("normalisers differ")));

    // No normaliser at all.
    tok["normalizer"] = Value::Null;
    std::fs::write(&path, tok.to_string()).expect("write");
    let s = summarize(tmp.path()).expect("no normalizer");
    assert_eq!(
        (s.normalizer.as_str(), s.lowercase, s.strip_accents),
        ("none", false, false)
    );
}
