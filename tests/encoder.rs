//! The BERT encoder against Hugging Face transformers / sentence-transformers references
//! (tests/fixtures/encoder, made by tests/fixtures/gen/encoder_reference.py), and its bad-input
//! cases. The all-MiniLM-L6-v2 tests fetch the weights into the model cache when they are missing
//! (tests/fixtures/gen/fetch_minilm.sh); EMBEDSCOPE_SKIP_MINILM=1 skips them on a machine that
//! cannot download (never in CI).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

mod common;

use common::numbers::{cosine, floats, ids, max_diff, rows, word_ids};
use common::{minilm, rewrite_safetensors};
use embedscope::engine::EngineError;
use embedscope::engine::device::{self, BackendChoice};
use embedscope::engine::encode::{self, EncodeOptions};
use embedscope::formats::corpus::{Corpus, CorpusOptions};
use embedscope::model::encoder::Tokens;
use embedscope::model::{Encoder, Pooling};
use serde_json::Value;

const FIX: &str = "tests/fixtures/encoder";

fn json(path: &str) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cpu() -> burn::tensor::Device {
    device::select(BackendChoice::Cpu).expect("cpu backend").0
}

fn tiny(pooling: Option<Pooling>) -> Encoder {
    Encoder::load(Path::new(&format!("{FIX}/tiny-bert")), &cpu(), pooling).expect("tiny-bert loads")
}

fn texts(reference: &Value) -> Vec<String> {
    reference["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["text"].as_str().expect("text").to_string())
        .collect()
}

#[test]
fn tiny_bert_tokens_hidden_states_and_pooling_match_transformers() {
    let r = json(&format!("{FIX}/tiny-bert-reference.json"));
    let inputs = r["inputs"].as_array().expect("inputs");
    let mean = tiny(None);
    let cls = tiny(Some(Pooling::Cls));
    let max = tiny(Some(Pooling::Max));
    assert_eq!(
        mean.max_len, 48,
        "max_seq_length from sentence_bert_config.json"
    );
    for (n, inp) in inputs.iter().enumerate() {
        let text = inp["text"].as_str().expect("text");
        let t = &mean.tokenize(&[text]).expect("tokenize")[0];
        assert_eq!(
            t.ids,
            ids(&inp["input_ids"]),
            "input {n} ({text:?}): token ids"
        );
        assert_eq!(
            t.types,
            ids(&inp["token_type_ids"]),
            "input {n}: token types"
        );
        assert_eq!(
            t.word_ids,
            word_ids(&inp["word_ids"]),
            "input {n}: word ids"
        );
        let out = &mean.run_batch(&[t], true).expect("run")[0];
        let hidden = out.hidden.as_ref().expect("hidden states");
        let d = max_diff(hidden, &rows(&inp["last_hidden_state"]));
        assert!(d <= 1e-5, "input {n}: last_hidden_state differs by {d}");
        let d = max_diff(&out.pooled, &floats(&inp["mean"]));
        assert!(d <= 1e-5, "input {n}: mean pooling differs by {d}");
        let d = max_diff(
            &cls.run_batch(&[t], false).expect("run")[0].pooled,
            &floats(&inp["cls"]),
        );
        assert!(d <= 1e-5, "input {n}: CLS pooling differs by {d}");
        let d = max_diff(
            &max.run_batch(&[t], false).expect("run")[0].pooled,
            &floats(&inp["max"]),
        );
        assert!(d <= 1e-5, "input {n}: max pooling differs by {d}");
    }
}

#[test]
fn tiny_bert_batched_encode_equals_sentence_transformers_encode() {
    let r = json(&format!("{FIX}/tiny-bert-reference.json"));
    let owned = texts(&r);
    let t: Vec<&str> = owned.iter().map(String::as_str).collect();
    let enc = tiny(None);
    let norm = Encoder::load(
        Path::new(&format!("{FIX}/tiny-bert-normalized")),
        &cpu(),
        None,
    )
    .expect("loads");
    assert!(
        norm.pipeline.normalize() && !enc.pipeline.normalize(),
        "Normalize module from modules.json"
    );
    // One padded batch, several small batches, and a token budget that forces singletons: the
    // padding never changes a result.
    for (bs, budget) in [(32, 1 << 20), (3, 1 << 20), (32, 40)] {
        let got = enc.encode(&t, bs, budget).expect("encode");
        let got_n = norm.encode(&t, bs, budget).expect("encode");
        for (n, inp) in r["inputs"].as_array().expect("inputs").iter().enumerate() {
            let d = max_diff(&got[n], &floats(&inp["st_encode"]));
            assert!(
                d <= 1e-5,
                "batch {bs}/{budget}, input {n}: st_encode differs by {d}"
            );
            let d = max_diff(&got_n[n], &floats(&inp["st_encode_normalized"]));
            assert!(
                d <= 1e-6,
                "batch {bs}/{budget}, input {n}: normalised differs by {d}"
            );
            let norm2: f32 = got_n[n].iter().map(|x| x * x).sum();
            assert!((norm2 - 1.0).abs() < 1e-5, "unit length");
        }
    }
}

/// A copy of tiny-bert whose model.safetensors is `weights` (a file from the fixture folder).
fn tiny_copy(weights: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = Path::new(FIX).join("tiny-bert");
    for e in std::fs::read_dir(&src).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_file()
            && !p
                .file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("model."))
        {
            std::fs::copy(&p, dir.path().join(e.file_name())).expect("copy");
        }
    }
    std::fs::create_dir_all(dir.path().join("1_Pooling")).expect("mkdir");
    std::fs::copy(
        src.join("1_Pooling/config.json"),
        dir.path().join("1_Pooling/config.json"),
    )
    .expect("copy");
    std::fs::copy(src.join(weights), dir.path().join("model.safetensors")).expect("copy weights");
    dir
}

#[test]
fn half_precision_weights_are_upcast() {
    let r = json(&format!("{FIX}/tiny-bert-reference.json"));
    for (file, field) in [
        ("model.f16.safetensors", "mean_from_f16_weights"),
        ("model.bf16.safetensors", "mean_from_bf16_weights"),
    ] {
        let dir = tiny_copy(file);
        let enc = Encoder::load(dir.path(), &cpu(), None).expect("half-precision folder loads");
        for (n, inp) in r["inputs"].as_array().expect("inputs").iter().enumerate() {
            let got = enc
                .encode(&[inp["text"].as_str().expect("text")], 8, 4096)
                .expect("encode");
            let d = max_diff(&got[0], &floats(&inp[field]));
            assert!(d <= 1e-5, "{file}, input {n}: {d}");
        }
    }
}

#[test]
fn word_vectors_pool_the_pieces_of_each_word() {
    let enc = tiny(None);
    let text = "Zebra jumps over the xylophone in 2024";
    let t = &enc.tokenize(&[text]).expect("tokenize")[0];
    let out = &enc.run_batch(&[t], true).expect("run")[0];
    let hidden = out.hidden.as_ref().expect("hidden");
    let dim = enc.dim();
    let words = encode::word_vectors(t, hidden, dim, text, enc.lowercase);
    let surface: Vec<&str> = words.iter().map(|w| w.0.as_str()).collect();
    assert_eq!(
        surface,
        ["zebra", "jumps", "over", "the", "xylophone", "in", "2024"]
    );
    let mut multi = 0;
    for (w, (_, v)) in words.iter().enumerate() {
        let pieces: Vec<usize> = (0..t.ids.len())
            .filter(|&i| t.word_ids[i] == Some(w as u32))
            .collect();
        assert!(!pieces.is_empty());
        if pieces.len() == 1 {
            // A single-piece word is exactly that token's hidden state.
            let i = pieces[0];
            assert_eq!(v.as_slice(), &hidden[i * dim..(i + 1) * dim], "word {w}");
        } else {
            multi += 1;
            let mut mean = vec![0f32; dim];
            for &i in &pieces {
                for (m, x) in mean.iter_mut().zip(&hidden[i * dim..(i + 1) * dim]) {
                    *m += x / pieces.len() as f32;
                }
            }
            assert!(
                max_diff(v, &mean) <= 1e-6,
                "word {w}: mean of its {} pieces",
                pieces.len()
            );
        }
    }
    assert!(multi >= 2, "the sentence has multi-piece words ({multi})");
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).expect("write");
    p
}

#[test]
fn sentence_and_word_jobs_keep_input_order_report_progress_and_cancel() {
    let enc = tiny(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let lines = [
        "the cat sat on the mat",
        "",
        "a dog barked",
        "the cat slept",
        "zebra",
    ];
    let p = write(dir.path(), "c.txt", lines.join("\n").as_bytes());
    let mut corpus = Corpus::open(&p, &CorpusOptions::default()).expect("corpus");
    let opts = EncodeOptions {
        batch_size: 2,
        ..EncodeOptions::default()
    };
    let mut got: Vec<(u64, String, Vec<f32>)> = Vec::new();
    let mut updates = 0;
    let n = encode::encode_sentences(
        &enc,
        &mut corpus,
        &opts,
        &mut |r| {
            got.push((r.doc.line, r.doc.text.clone(), r.vector.to_vec()));
            Ok(())
        },
        &mut |p| {
            updates += 1;
            assert!(p.done <= p.total && p.docs_per_s > 0.0);
        },
        &AtomicBool::new(false),
    )
    .expect("encode");
    assert_eq!(n, 4);
    assert!(updates >= 1);
    let texts: Vec<&str> = got.iter().map(|g| g.1.as_str()).collect();
    assert_eq!(
        texts,
        [
            "the cat sat on the mat",
            "a dog barked",
            "the cat slept",
            "zebra"
        ]
    );
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        [1, 3, 4, 5],
        "line numbers"
    );
    let single = enc.encode(&texts, 1, 1 << 20).expect("encode");
    for (g, s) in got.iter().zip(&single) {
        assert!(max_diff(&g.2, s) <= 1e-5);
    }
    // Word level: "the" occurs three times, "cat" twice.
    let mut corpus = Corpus::open(&p, &CorpusOptions::default()).expect("corpus");
    let (out, docs) = encode::encode_words(
        &enc,
        &mut corpus,
        &opts,
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("words");
    assert_eq!(docs, 4);
    let v = &out.types.vocab;
    let the = v.get("the").expect("the");
    assert_eq!(v.counts().expect("counts")[the], 3);
    assert_eq!(v.counts().expect("counts")[v.get("cat").expect("cat")], 2);
    assert_eq!(
        out.occurrences.rows(),
        13,
        "every occurrence sampled (cap 16)"
    );
    // Cancellation stops the job with an error, not a partial result.
    let mut corpus = Corpus::open(&p, &CorpusOptions::default()).expect("corpus");
    let r = encode::encode_sentences(
        &enc,
        &mut corpus,
        &opts,
        &mut |_| Ok(()),
        &mut |_| {},
        &AtomicBool::new(true),
    );
    assert!(matches!(r, Err(EngineError::Cancelled)), "{:?}", r.err());
}

// ---------------------------------------------------------------------------------------------
// all-MiniLM-L6-v2

/// The 12 shared reference sentences and the 18 edge inputs: token ids, then cosine and
/// per-component agreement with sentence-transformers.
fn check_minilm(dev: &burn::tensor::Device, what: &str, edge_subset: Option<&[usize]>) {
    let Some(dir) = minilm() else { return };
    let enc = Encoder::load(&dir, dev, None).expect("MiniLM loads");
    assert_eq!(enc.max_len, 256);
    assert!(enc.pipeline.normalize());
    let shared = json(&format!("{FIX}/minilm-shared-reference.json"));
    let sentences: Vec<&str> = shared["sentences"]
        .as_array()
        .expect("sentences")
        .iter()
        .map(|s| s.as_str().expect("s"))
        .collect();
    let ex = &shared["token_example"];
    let t = &enc
        .tokenize(&[ex["text"].as_str().expect("text")])
        .expect("tokenize")[0];
    assert_eq!(t.ids, ids(&ex["input_ids"]));
    let got = enc.encode(&sentences, 32, 32 * 256).expect("encode");
    for (n, (g, want)) in got
        .iter()
        .zip(shared["embeddings"].as_array().expect("embeddings"))
        .enumerate()
    {
        let c = cosine(g, &floats(want));
        assert!(
            c >= 0.9999,
            "{what}: sentence {n} {:?}: cosine {c}",
            sentences[n]
        );
        let d = max_diff(g, &floats(want));
        assert!(d <= 2e-5, "{what}: sentence {n}: component diff {d}");
    }
    let edge = json(&format!("{FIX}/minilm-reference.json"));
    let inputs: Vec<&Value> = edge["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .enumerate()
        .filter(|(i, _)| edge_subset.is_none_or(|s| s.contains(i)))
        .map(|(_, v)| v)
        .collect();
    let texts: Vec<&str> = inputs
        .iter()
        .map(|i| i["text"].as_str().expect("text"))
        .collect();
    let toks: Vec<Tokens> = enc.tokenize(&texts).expect("tokenize");
    for (i, (t, inp)) in toks.iter().zip(&inputs).enumerate() {
        assert_eq!(
            t.ids,
            ids(&inp["input_ids"]),
            "{what}: edge input {i} {:?}: token ids",
            texts[i]
        );
        assert_eq!(
            t.word_ids,
            word_ids(&inp["word_ids"]),
            "{what}: edge input {i}: word ids"
        );
    }
    let got = enc.encode(&texts, 32, 32 * 256).expect("encode");
    for (i, (g, inp)) in got.iter().zip(&inputs).enumerate() {
        let c = cosine(g, &floats(&inp["embedding"]));
        assert!(
            c >= 0.9999,
            "{what}: edge input {i} {:?}: cosine {c}",
            texts[i]
        );
        let d = max_diff(g, &floats(&inp["embedding"]));
        assert!(d <= 2e-5, "{what}: edge input {i}: component diff {d}");
    }
}

#[test]
fn minilm_matches_sentence_transformers_on_the_cpu_backend() {
    check_minilm(&cpu(), "cpu", None);
}

/// The wgpu backend on whatever adapter exists; Mesa's lavapipe where there is no GPU (CI
/// installs mesa-vulkan-drivers). In CI a missing adapter is a failure; elsewhere it is skipped
/// with a message.
#[test]
fn minilm_matches_sentence_transformers_on_the_wgpu_backend() {
    let (dev, info) = match device::select(BackendChoice::Wgpu) {
        Ok(x) => x,
        Err(e) if common::skip_unless_ci(&format!("the wgpu test: no adapter ({e})")) => return,
        Err(e) => panic!("CI: no wgpu adapter ({e}); install mesa-vulkan-drivers"),
    };
    eprintln!("wgpu test on {}", info.describe());
    assert_eq!(info.kind, "wgpu");
    if info.device_type.as_deref() == Some("Cpu") {
        assert!(info.software, "a CPU adapter is reported as software");
        assert!(info.describe().contains("SOFTWARE"));
    }
    // On a software adapter every new shape compiles kernels: a subset of the edge inputs
    // (empty, long, Chinese, emoji, accents, Devanagari) keeps the test short.
    check_minilm(&dev, "wgpu", Some(&[0, 3, 5, 7, 8, 13]));
}

#[test]
fn tiny_bert_on_wgpu_matches_the_cpu_backend() {
    let dev = match device::select(BackendChoice::Wgpu) {
        Ok((dev, _)) => dev,
        Err(e) if common::skip_unless_ci(&format!("the wgpu test: no adapter ({e})")) => return,
        Err(e) => panic!("CI: no wgpu adapter ({e})"),
    };
    let r = json(&format!("{FIX}/tiny-bert-reference.json"));
    let owned = texts(&r);
    let t: Vec<&str> = owned.iter().map(String::as_str).collect();
    let enc = Encoder::load(Path::new(&format!("{FIX}/tiny-bert")), &dev, None).expect("loads");
    let got = enc.encode(&t, 32, 1 << 20).expect("encode");
    for (n, inp) in r["inputs"].as_array().expect("inputs").iter().enumerate() {
        let d = max_diff(&got[n], &floats(&inp["st_encode"]));
        assert!(d <= 1e-4, "wgpu input {n}: {d}");
    }
}

// ---------------------------------------------------------------------------------------------
// Bad model folders

fn load_err(dir: &Path) -> String {
    match Encoder::load(dir, &cpu(), None) {
        Ok(_) => panic!("{} should not load", dir.display()),
        Err(e) => e.to_string(),
    }
}

#[test]
fn bad_model_folders_are_clear_errors() {
    let src = Path::new(FIX).join("tiny-bert/model.safetensors");

    let e = load_err(Path::new("tests/fixtures/encoder/no-such-model"));
    assert!(
        e.contains("no-such-model") && e.contains("config.json"),
        "{e}"
    );

    let d = tiny_copy("model.safetensors");
    std::fs::remove_file(d.path().join("config.json")).expect("rm");
    let e = load_err(d.path());
    assert!(e.contains("config.json") && e.contains("missing"), "{e}");

    let d = tiny_copy("model.safetensors");
    std::fs::remove_file(d.path().join("tokenizer.json")).expect("rm");
    let e = load_err(d.path());
    assert!(e.contains("tokenizer.json") && e.contains("missing"), "{e}");

    let d = tiny_copy("model.safetensors");
    std::fs::remove_file(d.path().join("model.safetensors")).expect("rm");
    let e = load_err(d.path());
    assert!(
        e.contains("model.safetensors") && e.contains("missing"),
        "{e}"
    );

    for mt in ["deberta", "electra", "gpt2"] {
        let d = tiny_copy("model.safetensors");
        let cfg = std::fs::read_to_string(d.path().join("config.json")).expect("read");
        let mut v: Value = serde_json::from_str(&cfg).expect("json");
        v["model_type"] = Value::String(mt.into());
        std::fs::write(d.path().join("config.json"), v.to_string()).expect("write");
        let e = load_err(d.path());
        assert!(
            e.contains(mt) && e.contains("config.json") && e.contains("bert"),
            "{mt}: {e}"
        );
    }

    let d = tiny_copy("model.safetensors");
    write(
        d.path(),
        "config.json",
        b"{\"model_type\": \"bert\", \"hidden_size\": ",
    );
    let e = load_err(d.path());
    assert!(e.contains("config.json"), "{e}");

    let d = tiny_copy("model.safetensors");
    rewrite_safetensors(&src, &d.path().join("model.safetensors"), |e| {
        e.retain(|t| t.0 != "encoder.layer.1.output.dense.weight")
    });
    let e = load_err(d.path());
    assert!(
        e.contains("encoder.layer.1.output.dense.weight") && e.contains("missing"),
        "{e}"
    );

    let d = tiny_copy("model.safetensors");
    rewrite_safetensors(&src, &d.path().join("model.safetensors"), |e| {
        for t in e
            .iter_mut()
            .filter(|t| t.0 == "encoder.layer.0.intermediate.dense.weight")
        {
            t.2 = vec![32, 64];
        }
    });
    let e = load_err(d.path());
    assert!(
        e.contains("encoder.layer.0.intermediate.dense.weight") && e.contains("64"),
        "{e}"
    );

    let d = tiny_copy("model.safetensors");
    rewrite_safetensors(&src, &d.path().join("model.safetensors"), |e| {
        for t in e
            .iter_mut()
            .filter(|t| t.0 == "embeddings.LayerNorm.weight")
        {
            t.1 = "I32".into();
        }
    });
    let e = load_err(d.path());
    assert!(
        e.contains("embeddings.LayerNorm.weight") && e.contains("I32"),
        "{e}"
    );

    let d = tiny_copy("model.safetensors");
    let mut bytes = std::fs::read(&src).expect("read");
    bytes[8..40].copy_from_slice(&[b'#'; 32]);
    std::fs::write(d.path().join("model.safetensors"), &bytes).expect("write");
    let e = load_err(d.path());
    assert!(e.contains("model.safetensors"), "{e}");

    let d = tiny_copy("model.safetensors");
    write(d.path(), "model.safetensors", &bytes[..100]);
    let e = load_err(d.path());
    assert!(e.contains("model.safetensors"), "{e}");

    let d = tiny_copy("model.safetensors");
    write(
        d.path(),
        "tokenizer.json",
        b"{\"version\": \"1.0\", \"model\": ",
    );
    let e = load_err(d.path());
    assert!(e.contains("tokenizer.json"), "{e}");

    let d = tiny_copy("model.safetensors");
    write(d.path(), "modules.json", b"[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.LayerNorm\"}]");
    let e = load_err(d.path());
    assert!(e.contains("modules.json") && e.contains("LayerNorm"), "{e}");
    // A Dense module whose folder has no Dense config: the file and the field are named.
    let d = tiny_copy("model.safetensors");
    write(d.path(), "modules.json", b"[{\"idx\":0,\"name\":\"0\",\"path\":\"\",\"type\":\"sentence_transformers.models.Dense\"}]");
    let e = load_err(d.path());
    assert!(
        e.contains("config.json") && e.contains("in_features"),
        "{e}"
    );
}

#[test]
fn batch_token_budget_follows_the_memory_limit() {
    use embedscope::engine::device::MemoryLimit;
    let cfg = tiny(None).config.clone();
    let none = MemoryLimit::default();
    assert_eq!(encode::token_budget(&cfg, 48, 32, none, 2), 32 * 48);
    let plenty = MemoryLimit {
        total_bytes: Some(64 << 30),
        buffer_bytes: Some(1 << 30),
    };
    assert_eq!(encode::token_budget(&cfg, 48, 32, plenty, 2), 32 * 48);
    // 4 MiB available: a quarter, shared by 2 workers, at 4 * (32*8 + 64*2 + 4*48*2) bytes per token.
    let small = MemoryLimit {
        total_bytes: Some(4 << 20),
        buffer_bytes: None,
    };
    assert_eq!(
        encode::token_budget(&cfg, 48, 32, small, 2),
        (4 << 20) / 4 / 2 / (4 * (256 + 128 + 384))
    );
    // A 64 KiB buffer limit: the widest tensor is 4 * max(64, 4 * 48) bytes per token.
    let buf = MemoryLimit {
        total_bytes: None,
        buffer_bytes: Some(64 << 10),
    };
    assert_eq!(
        encode::token_budget(&cfg, 48, 32, buf, 1),
        (64 << 10) / (4 * 192)
    );
    // Never below one full-length text.
    let tiny_mem = MemoryLimit {
        total_bytes: Some(1000),
        buffer_bytes: Some(10),
    };
    assert_eq!(encode::token_budget(&cfg, 48, 32, tiny_mem, 2), 48);
}

#[test]
fn a_truncated_text_leaves_out_its_cut_last_word() {
    let enc = tiny(None);
    // Long words in many pieces: the text runs past the tiny model's 48 tokens, and the
    // truncation falls inside a word.
    let text = "universally acknowledged neighbourhood circumstances ".repeat(6);
    let t = &enc.tokenize(&[text.as_str()]).expect("tokenize")[0];
    assert!(
        t.truncated,
        "the text must be longer than the model's length"
    );
    assert_eq!(t.ids.len(), enc.max_len);
    let out = &enc.run_batch(&[t], true).expect("run")[0];
    let hidden = out.hidden.as_ref().expect("hidden");
    let words = encode::word_vectors(t, hidden, enc.dim(), &text, enc.lowercase);
    assert!(!words.is_empty());
    let whole = [
        "universally",
        "acknowledged",
        "neighbourhood",
        "circumstances",
    ];
    for (w, _) in &words {
        assert!(whole.contains(&w.as_str()), "a cut word came out: {w:?}");
    }
    // A short text is not truncated and keeps every word.
    let t = &enc
        .tokenize(&["universally acknowledged"])
        .expect("tokenize")[0];
    assert!(!t.truncated);
}

/// Sentence level keeps each document's full text (no cut at any length, line breaks kept)
/// through the collector and an .npy round trip; word level carries the corpus's columns to the
/// words and marks each sampled occurrence's word in its context.
#[test]
fn documents_keep_their_text_and_words_their_corpus_columns() {
    use embedscope::core::{OCCURRENCES, ROWS_FACT, RowKind};
    use embedscope::engine::encode::SentenceCollector;
    let enc = tiny(None);
    let dir = tempfile::tempdir().expect("tempdir");
    let long = "the cat sat on the mat ".repeat(40);
    let csv = format!(
        "text,source\n\"{long}\",a\n\"a dog\nbarked\tloud\",b\n\"the cat slept\",a\n\"the \\\\ cat\",b\n"
    );
    let p = write(dir.path(), "c.csv", csv.as_bytes());
    let mut corpus = Corpus::open(&p, &CorpusOptions::default()).expect("corpus");
    let mut collect = SentenceCollector::new(enc.dim(), corpus.meta_names());
    encode::encode_sentences(
        &enc,
        &mut corpus,
        &EncodeOptions::default(),
        &mut |r| {
            collect.push(&r);
            Ok(())
        },
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("encode");
    let backend = device::select(BackendChoice::Cpu).expect("cpu backend").1;
    let prov = encode::provenance(
        Path::new(FIX),
        &enc,
        encode::Level::Sentence,
        &backend,
        &p,
        &corpus,
    );
    let set = collect.finish(prov).expect("set");
    assert_eq!(set.row_kind(), RowKind::Documents);
    let texts = &set.metadata.column("text").expect("text").values;
    assert_eq!(texts[0], long, "a long document is kept whole");
    assert!(texts[0].chars().count() > 900);
    assert_eq!(texts[1], "a dog\nbarked\tloud");
    assert_eq!(set.row_text(3), Some(r"the \\ cat"));
    // Through .npy + metadata.tsv and back: the same texts.
    let out = dir.path().join("docs.npy");
    embedscope::formats::save(&set, &out, None).expect("save");
    let back = embedscope::formats::load(&out, &Default::default()).expect("load");
    assert_eq!(
        &back.metadata.column("text").expect("text").values,
        texts,
        "texts survive the metadata file"
    );
    // Word level: the most frequent source per word and the counts per value.
    let mut corpus = Corpus::open(&p, &CorpusOptions::default()).expect("corpus");
    let (words, _) = encode::encode_words(
        &enc,
        &mut corpus,
        &EncodeOptions::default(),
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("words");
    let t = &words.types;
    let row = |w: &str| t.vocab.get(w).unwrap_or_else(|| panic!("{w}"));
    let source = &t.metadata.column("source").expect("source column").values;
    let values = &t.metadata.column("source_values").expect("counts").values;
    // "cat": in the long document (as far as the model reads it) and one more in a, once in b.
    let cat = t.vocab.counts().expect("counts")[row("cat")];
    assert!(cat >= 4, "{cat}");
    assert_eq!(source[row("cat")], "a");
    assert_eq!(values[row("cat")], format!("a: {}; b: 1", cat - 1));
    assert_eq!(source[row("dog")], "b");
    assert_eq!(values[row("dog")], "b: 1");
    // Each sampled occurrence marks its word in its context.
    let o = &words.occurrences;
    let ctx = &o.metadata.column("context").expect("context").values;
    let at = &o.metadata.column("at").expect("at").values;
    let word = &o.metadata.column("word").expect("word").values;
    assert!(!ctx.is_empty());
    for ((c, a), w) in ctx.iter().zip(at).zip(word) {
        let (s, e) = a.split_once(':').expect("span");
        let span = &c[s.parse::<usize>().expect("s")..e.parse::<usize>().expect("e")];
        assert_eq!(span.to_lowercase(), *w, "{c:?} at {a}");
        assert!(c.chars().count() <= 2 * encode::CONTEXT_CHARS + 40, "{c}");
        assert!(!c.contains('\n'));
    }
    let mut occ = words.occurrences.clone();
    occ.provenance = encode::occurrences_provenance(&t.provenance);
    assert_eq!(occ.provenance.encoding_fact(ROWS_FACT), Some(OCCURRENCES));
    assert_eq!(occ.row_kind(), RowKind::Occurrences);
}

#[test]
fn an_occurrence_context_is_a_window_around_the_word() {
    let text = format!("{} needle {}", "hay ".repeat(100), "straw ".repeat(100));
    let s = text.find("needle").expect("needle");
    let (ctx, (a, b)) = encode::context(&text, (s, s + 6));
    assert_eq!(&ctx[a..b], "needle");
    assert!(ctx.starts_with('…') && ctx.ends_with('…'), "{ctx}");
    // Cut at white space: whole words on both ends.
    assert!(ctx.starts_with("…hay ") && ctx.ends_with("straw…"), "{ctx}");
    // Short texts whole, spans at the edges.
    assert_eq!(encode::context("needle", (0, 6)), ("needle".into(), (0, 6)));
    let (c, (a, b)) = encode::context("été x", (0, 5));
    assert_eq!(&c[a..b], "été");
    // A span that is not on character boundaries: the text, no span.
    assert_eq!(encode::context("été", (1, 2)).1, (0, 0));
}
