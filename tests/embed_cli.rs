//! `embedscope embed` end to end on the tiny BERT fixture: output formats, input order, metadata,
//! the documented JSON, corpus problems, and that a failed or interrupted job leaves no file.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use embedscope::engine::device::{self, BackendChoice};
use embedscope::formats::{self, LoadOptions};
use embedscope::model::Encoder;
use serde_json::Value;

const TINY: &str = "tests/fixtures/encoder/tiny-bert";

fn run(args: &[&str]) -> (i32, String, String) {
    common::run_embedscope(args, Some("embed"))
}

fn embed_json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON value: {e}\n{out}"))
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn reference(texts: &[&str]) -> Vec<Vec<f32>> {
    let dev = device::select(BackendChoice::Cpu).expect("cpu").0;
    let enc = Encoder::load(Path::new(TINY), &dev, None).expect("tiny");
    enc.encode(texts, 1, 1 << 20).expect("encode")
}

fn close(a: &[f32], b: &[f32]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5)
}

#[test]
fn text_corpus_to_npy_in_input_order_with_the_documented_json() {
    let d = tempfile::tempdir().expect("tempdir");
    let corpus = d.path().join("c.txt");
    let mut bytes = b"the cat sat on the mat\n\nzebra \xff jumps\n".to_vec();
    bytes.extend(std::iter::repeat_n(b'a', 10 << 20)); // a 10 MB line
    bytes.extend(b"\nhello world\n");
    std::fs::write(&corpus, &bytes).expect("write");
    let out = d.path().join("out.npy");
    let v = embed_json(&[
        "embed",
        "--model",
        TINY,
        "--input",
        corpus.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
        "--backend",
        "cpu",
        "--json",
    ]);
    for k in [
        "rows",
        "dim",
        "level",
        "model",
        "backend",
        "skipped",
        "timing_s",
        "docs_per_s",
    ] {
        assert!(v.get(k).is_some(), "missing {k} in {v}");
    }
    assert_eq!(v["rows"], 4);
    assert_eq!(v["dim"], 32);
    assert_eq!(v["level"], "sentence");
    assert_eq!(v["model"]["model_type"], "bert");
    assert_eq!(v["model"]["sha256"].as_str().map(str::len), Some(64));
    assert!(
        v["model"]["path"]
            .as_str()
            .expect("path")
            .ends_with("tiny-bert")
    );
    assert_eq!(v["backend"]["kind"], "cpu");
    assert_eq!(v["backend"]["software"], false);
    assert!(v["backend"]["name"].as_str().is_some());
    assert_eq!(v["skipped"]["empty_skipped"], 1);
    assert_eq!(v["skipped"]["invalid_utf8"], 1);
    assert_eq!(v["skipped"]["truncated"], 1);
    assert!(
        v["timing_s"]["load"].as_f64().is_some() && v["timing_s"]["compute"].as_f64().is_some()
    );
    let set = formats::load(&out, &LoadOptions::default()).expect("load npy");
    assert_eq!(set.rows(), 4);
    let lines = set.metadata.column("line").expect("line column");
    assert_eq!(lines.values, ["1", "3", "4", "5"]);
    let long = "a".repeat(embedscope::formats::corpus::MAX_DOC_BYTES);
    let want = reference(&[
        "the cat sat on the mat",
        "zebra \u{fffd} jumps",
        &long,
        "hello world",
    ]);
    for (i, w) in want.iter().enumerate() {
        assert!(close(set.matrix.row(i), w), "row {i} out of order or wrong");
    }
    assert_eq!(
        files(d.path()),
        [
            "c.txt",
            "out.metadata.tsv",
            "out.npy",
            "out.provenance.json",
            "out.vocab.txt"
        ]
    );
    let prov: Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("out.provenance.json")).expect("provenance"),
    )
    .expect("json");
    assert!(
        prov["provenance"]["params"]["backend"]
            .as_str()
            .expect("backend")
            .contains("cpu backend"),
        "{prov}"
    );
    assert_eq!(
        prov["provenance"]["params"]["weights_sha256"],
        v["model"]["sha256"]
    );
    // The record names the output it describes, and the loaded set carries it.
    assert_eq!(prov["output"]["file"], "out.npy");
    assert_eq!(prov["output"]["rows"], 4);
    assert_eq!(
        prov["output"]["sha256"].as_str(),
        set.provenance.sha256.as_deref()
    );
    assert_eq!(set.provenance.model_id.as_deref(), Some("tiny-bert"));
}

#[test]
fn csv_jsonl_and_parquet_corpora_carry_their_columns_into_every_output_format() {
    let d = tempfile::tempdir().expect("tempdir");
    let csv = d.path().join("c.csv");
    std::fs::write(
        &csv,
        "id,body,lang\n7,\"a dog, barking\",en\n8,the cat,fr\n",
    )
    .expect("write");
    let pq = d.path().join("o.parquet");
    let v = embed_json(&[
        "embed",
        "--model",
        TINY,
        "--input",
        csv.to_str().expect("p"),
        "--text-column",
        "body",
        "--out",
        pq.to_str().expect("p"),
        "--backend",
        "cpu",
        "--json",
    ]);
    assert_eq!(v["rows"], 2);
    let set = formats::load(&pq, &LoadOptions::default()).expect("parquet");
    assert_eq!(
        set.metadata.column("lang").expect("lang").values,
        ["en", "fr"]
    );
    assert_eq!(set.metadata.column("id").expect("id").values, ["7", "8"]);
    let want = reference(&["a dog, barking", "the cat"]);
    assert!(close(set.matrix.row(0), &want[0]) && close(set.matrix.row(1), &want[1]));

    // The Parquet output is itself a corpus with a text column.
    let vec_out = d.path().join("o2.vec");
    let v = embed_json(&[
        "embed",
        "--model",
        TINY,
        "--input",
        pq.to_str().expect("p"),
        "--text-column",
        "text",
        "--out",
        vec_out.to_str().expect("p"),
        "--backend",
        "cpu",
        "--json",
    ]);
    assert_eq!(v["rows"], 2);
    let set = formats::load(&vec_out, &LoadOptions::default()).expect("vec");
    assert!(close(set.matrix.row(0), &want[0]));

    let jsonl = d.path().join("c.jsonl");
    std::fs::write(
        &jsonl,
        "{\"sentence\": \"the cat\", \"n\": 1}\n{\"sentence\": \"zebra\", \"n\": 2}\n",
    )
    .expect("write");
    for ext in ["tsv", "esv"] {
        let out = d.path().join(format!("j.{ext}"));
        let v = embed_json(&[
            "embed",
            "--model",
            TINY,
            "--input",
            jsonl.to_str().expect("p"),
            "--field",
            "sentence",
            "--out",
            out.to_str().expect("p"),
            "--backend",
            "cpu",
            "--json",
        ]);
        assert_eq!(v["rows"], 2, "{ext}");
        let set = formats::load(&out, &LoadOptions::default()).expect("load");
        let want = reference(&["the cat", "zebra"]);
        assert!(close(set.matrix.row(1), &want[1]), "{ext}");
    }
}

#[test]
fn word_level_writes_types_with_counts_and_sampled_occurrences() {
    let d = tempfile::tempdir().expect("tempdir");
    let corpus = d.path().join("c.txt");
    std::fs::write(&corpus, "The cat sat.\nthe cat slept\n").expect("write");
    let out = d.path().join("w.npy");
    let v = embed_json(&[
        "embed",
        "--model",
        TINY,
        "--input",
        corpus.to_str().expect("p"),
        "--level",
        "word",
        "--out",
        out.to_str().expect("p"),
        "--backend",
        "cpu",
        "--json",
    ]);
    assert_eq!(v["level"], "word");
    let types = formats::load(&out, &LoadOptions::default()).expect("types");
    assert_eq!(v["rows"].as_u64(), Some(types.rows() as u64));
    let the = types
        .vocab
        .get("the")
        .expect("lower-cased like the tokenizer");
    let counts = &types
        .metadata
        .column("count")
        .expect("occurrence counts")
        .values;
    assert_eq!(counts[the], "2");
    assert_eq!(counts[types.vocab.get("slept").expect("slept")], "1");
    let occ = formats::load(&d.path().join("w.occurrences.npy"), &LoadOptions::default())
        .expect("occurrences");
    assert_eq!(occ.rows(), 7, "the, cat, sat, ., the, cat, slept");
    let ctx = occ.metadata.column("context").expect("context");
    assert!(ctx.values.iter().any(|c| c == "The cat sat."));
    // The type vector is the mean of its occurrences.
    let words = occ.metadata.column("word").expect("word");
    let rows: Vec<usize> = (0..occ.rows())
        .filter(|&i| words.values[i] == "the")
        .collect();
    assert_eq!(rows.len(), 2);
    let mean: Vec<f32> = (0..32)
        .map(|k| (occ.matrix.row(rows[0])[k] + occ.matrix.row(rows[1])[k]) / 2.0)
        .collect();
    assert!(close(types.matrix.row(the), &mean));
}

#[test]
fn bad_corpora_and_models_fail_cleanly_without_output() {
    let d = tempfile::tempdir().expect("tempdir");
    let p = |n: &str| -> PathBuf { d.path().join(n) };
    std::fs::write(p("empty.txt"), "\n\n   \n").expect("write");
    std::fs::write(p("c.csv"), "a,b\n1,2\n").expect("write");
    std::fs::write(p("ok.txt"), "hello\n").expect("write");
    let s = |x: PathBuf| x.to_string_lossy().into_owned();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![s(p("empty.txt")), s(p("o1.npy"))], "no documents"),
        (vec![s(p("empty.txt")), s(p("o2.parquet"))], "no documents"),
        (vec![s(p("c.csv")), s(p("o3.npy"))], "text column"),
        (vec![s(p("missing.txt")), s(p("o4.npy"))], "missing.txt"),
    ];
    for (args, msg) in &cases {
        let (code, _, err) = run(&[
            "embed",
            "--model",
            TINY,
            "--input",
            &args[0],
            "--out",
            &args[1],
            "--backend",
            "cpu",
        ]);
        assert_eq!(code, 1, "{args:?}");
        assert!(err.contains(msg), "{args:?}: {err}");
    }
    let (code, _, err) = run(&[
        "embed",
        "--model",
        "tests/fixtures/encoder",
        "--input",
        &s(p("ok.txt")),
        "--out",
        &s(p("o5.npy")),
        "--backend",
        "cpu",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("config.json"), "{err}");
    let (code, _, err) = run(&[
        "embed",
        "--model",
        TINY,
        "--input",
        &s(p("ok.txt")),
        "--out",
        &s(p("o6.xyz")),
    ]);
    assert_eq!(code, 2, "{err}");
    let (code, out, _) = run(&[
        "embed",
        "--model",
        TINY,
        "--input",
        &s(p("empty.txt")),
        "--out",
        &s(p("o7.npy")),
        "--json",
    ]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).expect("error JSON");
    assert!(
        v["error"]["message"]
            .as_str()
            .expect("message")
            .contains("no documents")
    );
    assert_eq!(
        files(d.path()),
        ["c.csv", "empty.txt", "ok.txt"],
        "no output or temporary file left behind"
    );
}

#[cfg(unix)]
#[test]
fn an_interrupted_job_leaves_no_file() {
    let d = tempfile::tempdir().expect("tempdir");
    let corpus = d.path().join("big.txt");
    let line = "the quick brown fox jumps over the lazy dog and keeps running through the field\n";
    std::fs::write(&corpus, line.repeat(400_000)).expect("write");
    let out = d.path().join("o.npy");
    let mut child = Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args([
            "embed",
            "--model",
            TINY,
            "--input",
            corpus.to_str().expect("p"),
            "--out",
            out.to_str().expect("p"),
            "--backend",
            "cpu",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Wait until the job is encoding (its first stderr line names the backend), then interrupt.
    let mut err = child.stderr.take().expect("stderr");
    let mut first = [0u8; 1];
    use std::io::Read;
    let _ = err.read(&mut first);
    std::thread::sleep(std::time::Duration::from_millis(1500));
    // SAFETY: sending SIGINT to our own child process.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let mut rest = String::new();
    let _ = err.read_to_string(&mut rest);
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(130), "{rest}");
    assert!(rest.contains("interrupted"), "{rest}");
    assert_eq!(
        files(d.path()),
        ["big.txt"],
        "no output or temporary file left behind"
    );
}

/// sentence-transformers' vector for "" with the tiny model (its reference fixture).
fn st_empty() -> Vec<f32> {
    let text = std::fs::read_to_string("tests/fixtures/encoder/tiny-bert-reference.json")
        .expect("tiny-bert reference");
    let r: Value = serde_json::from_str(&text).expect("json");
    let empty = r["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .find(|i| i["text"] == "")
        .expect("the reference encodes the empty text");
    empty["st_encode"]
        .as_array()
        .expect("st_encode")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect()
}

fn embed_args<'a>(input: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec![
        "embed",
        "--model",
        TINY,
        "--input",
        input,
        "--out",
        out,
        "--backend",
        "cpu",
        "--json",
    ];
    v.extend_from_slice(extra);
    v
}

/// Row i is record i: ids d0..d5, the corpus's id column in record order, the empty record's
/// row equal to sentence-transformers' encoding of "" and every other row to its own text.
fn assert_one_row_per_record(set: &embedscope::core::EmbeddingSet, texts: &[&str], what: &str) {
    assert_eq!(set.rows(), texts.len(), "{what}: one row per record");
    let tokens: Vec<&str> = set.vocab.iter().collect();
    let want_ids: Vec<String> = (0..texts.len()).map(|i| format!("d{i}")).collect();
    assert_eq!(tokens, want_ids, "{what}: ids follow the record index");
    let ids = &set.metadata.column("id").expect("id column").values;
    let want: Vec<String> = (1..=texts.len()).map(|i| format!("r{i}")).collect();
    assert_eq!(ids, &want, "{what}: metadata of row i is record i's");
    let empty = st_empty();
    let refs = reference(texts);
    for (i, t) in texts.iter().enumerate() {
        let w = if t.is_empty() { &empty } else { &refs[i] };
        assert!(close(set.matrix.row(i), w), "{what}: row {i} ({t:?})");
    }
}

const SIX: [&str; 6] = [
    "the cat sat",
    "a dog barked",
    "",
    "zebra jumps",
    "hello world",
    "the end",
];

#[test]
fn an_empty_record_is_encoded_as_the_empty_text_in_jsonl_csv_and_parquet() {
    let d = tempfile::tempdir().expect("tempdir");
    let path = |n: &str| d.path().join(n).to_string_lossy().into_owned();
    let jsonl: String = SIX
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{{\"id\": \"r{}\", \"text\": {:?}}}\n", i + 1, t))
        .collect();
    std::fs::write(path("c.jsonl"), jsonl).expect("write");
    let (inp, out) = (path("c.jsonl"), path("j.npy"));
    let v = embed_json(&embed_args(&inp, &out, &[]));
    assert_eq!(
        (v["rows"].as_u64(), v["records"].as_u64()),
        (Some(6), Some(6))
    );
    assert_eq!(v["skip_empty"], false);
    assert_eq!(v["skipped_records"], serde_json::json!([]));
    assert_eq!(v["skipped"]["empty_kept"], 1);
    let set = formats::load(Path::new(&out), &LoadOptions::default()).expect("npy");
    assert_one_row_per_record(&set, &SIX, "jsonl");

    let csv: String = std::iter::once("id,text\n".to_string())
        .chain(
            SIX.iter()
                .enumerate()
                .map(|(i, t)| format!("r{},{t}\n", i + 1)),
        )
        .collect();
    std::fs::write(path("c.csv"), csv).expect("write");
    let (inp, out) = (path("c.csv"), path("c.parquet"));
    let v = embed_json(&embed_args(&inp, &out, &[]));
    assert_eq!(v["rows"], 6);
    let set = formats::load(Path::new(&out), &LoadOptions::default()).expect("parquet");
    assert_one_row_per_record(&set, &SIX, "csv");

    // The Parquet output is a corpus too: its `text` column holds the previews, "" included.
    let (inp, out) = (path("c.parquet"), path("p.esv"));
    let v = embed_json(&embed_args(&inp, &out, &["--text-column", "text"]));
    assert_eq!(v["rows"], 6);
    let set = formats::load(Path::new(&out), &LoadOptions::default()).expect("esv");
    assert_one_row_per_record(&set, &SIX, "parquet");
    // The encoding facts of an .esv are read back from its header.
    let prov = &set.provenance;
    assert_eq!(prov.encoding_fact("skip_empty"), Some("false"));
    assert_eq!(prov.encoding_fact("empty_records_encoded"), Some("1"));
}

#[test]
fn skip_empty_leaves_records_out_and_lists_them() {
    let d = tempfile::tempdir().expect("tempdir");
    let path = |n: &str| d.path().join(n).to_string_lossy().into_owned();
    let jsonl: String = SIX
        .iter()
        .enumerate()
        .map(|(i, t)| format!("{{\"id\": \"r{}\", \"text\": {:?}}}\n", i + 1, t))
        .collect();
    std::fs::write(path("c.jsonl"), jsonl).expect("write");
    let (inp, out) = (path("c.jsonl"), path("o.npy"));
    let v = embed_json(&embed_args(&inp, &out, &["--skip-empty"]));
    assert_eq!(
        (v["rows"].as_u64(), v["records"].as_u64()),
        (Some(5), Some(6))
    );
    assert_eq!(v["skip_empty"], true);
    assert_eq!(
        v["skipped_records"],
        serde_json::json!([{"id": "d2", "index": 2, "line": 3}])
    );
    let set = formats::load(Path::new(&out), &LoadOptions::default()).expect("npy");
    let tokens: Vec<&str> = set.vocab.iter().collect();
    assert_eq!(tokens, ["d0", "d1", "d3", "d4", "d5"], "ids are not reused");
    assert_eq!(
        set.metadata.column("id").expect("id").values,
        ["r1", "r2", "r4", "r5", "r6"]
    );
    let prov: Value = serde_json::from_str(
        &std::fs::read_to_string(d.path().join("o.provenance.json")).expect("provenance"),
    )
    .expect("json");
    let params = &prov["provenance"]["params"];
    assert_eq!(params["skip_empty"], "true");
    assert_eq!(params["skipped_records"], "d2");
    assert_eq!(params["records_skipped"], "1");

    // Plain text skips blank lines by default; --skip-empty=false keeps a row per line.
    std::fs::write(path("c.txt"), "one\n\ntwo\n").expect("write");
    let (inp, out) = (path("c.txt"), path("t.npy"));
    let v = embed_json(&embed_args(&inp, &out, &[]));
    assert_eq!(
        (v["rows"].as_u64(), v["skip_empty"].as_bool()),
        (Some(2), Some(true))
    );
    let out = path("t2.npy");
    let v = embed_json(&embed_args(&inp, &out, &["--skip-empty=false"]));
    assert_eq!(v["rows"], 3);
    let set = formats::load(Path::new(&out), &LoadOptions::default()).expect("npy");
    assert!(close(set.matrix.row(1), &st_empty()));
}

#[test]
fn bad_records_are_encoded_as_the_empty_text_with_a_warning_naming_the_line() {
    let d = tempfile::tempdir().expect("tempdir");
    let corpus = d.path().join("c.jsonl");
    std::fs::write(
        &corpus,
        "{\"id\": \"r1\", \"text\": \"the cat sat\"}\n\
         {\"id\": \"r2\", \"text\": 7}\n\
         not json at all\n\
         {\"id\": \"r4\", \"text\": \"zebra jumps\"}\n",
    )
    .expect("write");
    let out = d.path().join("o.npy");
    let args = embed_args(corpus.to_str().expect("p"), out.to_str().expect("p"), &[]);
    let (code, stdout, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning") && err.contains("2 bad records") && err.contains("line 2"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&stdout).expect("json");
    assert_eq!(v["rows"], 4);
    assert_eq!(v["skipped"]["bad_records"], 2);
    let set = formats::load(&out, &LoadOptions::default()).expect("npy");
    let empty = st_empty();
    assert!(close(set.matrix.row(1), &empty) && close(set.matrix.row(2), &empty));
    let want = reference(&["zebra jumps"]);
    assert!(close(set.matrix.row(3), &want[0]), "row 3 is record 3");
    assert_eq!(
        set.metadata.column("id").expect("id").values,
        ["r1", "r2", "", "r4"]
    );

    // Word level reads the same records; the empty ones add no words.
    let out = d.path().join("w.npy");
    let args = embed_args(
        corpus.to_str().expect("p"),
        out.to_str().expect("p"),
        &["--level", "word"],
    );
    let v = embed_json(&args);
    assert_eq!(v["documents"], 4);
    let types = formats::load(&out, &LoadOptions::default()).expect("types");
    assert!(types.vocab.get("zebra").is_some() && types.vocab.get("cat").is_some());
}

#[test]
fn a_length_cap_is_an_option_and_every_cut_is_counted() {
    let dir = tempfile::tempdir().expect("tmp");
    let corpus = dir.path().join("c.txt");
    std::fs::write(
        &corpus,
        "a rather long first document\nshort\nanother long document here\n",
    )
    .expect("write");
    let out = dir.path().join("docs.npy");
    let v = embed_json(&[
        "embed",
        "--model",
        TINY,
        "--input",
        corpus.to_str().expect("utf8"),
        "--out",
        out.to_str().expect("utf8"),
        "--backend",
        "cpu",
        "--max-doc-bytes",
        "12",
        "--json",
    ]);
    assert_eq!(v["skipped"]["truncated"], 2, "{v}");
    assert_eq!(v["skipped"]["max_doc_bytes"], 12, "{v}");
    let set = formats::load(&out, &LoadOptions::default()).expect("load");
    let text = set.text_column().expect("text");
    assert_eq!(text.values, ["a rather lon", "short", "another long"]);
    assert_eq!(set.provenance.encoding_fact("documents_cut"), Some("2"));
    let (code, _, err) = run(&[
        "embed",
        "--model",
        TINY,
        "--input",
        corpus.to_str().expect("utf8"),
        "--out",
        dir.path().join("x.npy").to_str().expect("utf8"),
        "--max-doc-bytes",
        "0",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--max-doc-bytes"), "{err}");
}
