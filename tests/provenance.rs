//! The encoding record beside an encoded output (`<stem>.provenance.json`) read back: `info`
//! shows the model and pooling, `compare` and `report` name what differs between versions, a
//! damaged or foreign record loads the vectors with a warning and is not attached, and the
//! native cache never hides a record written or changed after the file was cached.

use std::path::Path;
use std::process::Command;

use embedscope::core::{ProvenanceStatus, SidecarStatus};
use embedscope::formats::{self, CacheStatus, LoadOptions};
use serde_json::Value;

const TINY: &str = "tests/fixtures/encoder/tiny-bert";

fn run(args: &[&str], cache: &Path) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(args)
        .env("EMBEDSCOPE_CACHE_DIR", cache)
        .output()
        .expect("run embedscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str], cache: &Path) -> Value {
    let (code, out, err) = run(args, cache);
    assert_eq!(code, 0, "{args:?}: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?}: {e}\n{out}"))
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// Twelve short documents (enough rows for `-k 3`).
fn corpus(dir: &Path) -> String {
    let p = dir.join("c.txt");
    let lines: Vec<String> = [
        "the cat sat on the mat",
        "a dog barked at night",
        "rain fell over the hills",
        "she reads a long book",
        "markets closed higher today",
        "the river runs to the sea",
        "children played in the park",
        "a storm is coming tonight",
        "he plays the old piano",
        "bread is baked each morning",
        "the train left on time",
        "stars shine over the desert",
    ]
    .iter()
    .map(|l| l.to_string())
    .collect();
    std::fs::write(&p, lines.join("\n") + "\n").expect("write corpus");
    s(&p)
}

fn embed(corpus: &str, out: &Path, pooling: &str, cache: &Path) {
    let (code, _, err) = run(
        &[
            "embed",
            "--model",
            TINY,
            "--input",
            corpus,
            "--out",
            &s(out),
            "--pooling",
            pooling,
            "--backend",
            "cpu",
        ],
        cache,
    );
    assert_eq!(code, 0, "embed {}: {err}", out.display());
}

#[test]
fn info_compare_and_report_read_the_record_and_name_pooling_as_the_difference() {
    let d = tempfile::tempdir().expect("tempdir");
    let cache = d.path().join("cache");
    let c = corpus(d.path());
    let (a, b) = (d.path().join("mean.npy"), d.path().join("cls.npy"));
    embed(&c, &a, "mean", &cache);
    embed(&c, &b, "cls", &cache);

    let info = json(&["info", &s(&a), "--json"], &cache);
    assert_eq!(info["model_id"], "tiny-bert", "{info}");
    assert_eq!(info["encoding"]["pooling"], "mean", "{info}");
    assert_eq!(info["encoding_record"]["status"], "attached", "{info}");
    let weights = info["encoding"]["weights_sha256"].as_str().expect("sha");
    assert_eq!(weights.len(), 64);
    let (code, human, _) = run(&["info", &s(&b)], &cache);
    assert_eq!(code, 0);
    assert!(
        human.contains("model tiny-bert") && human.contains("pooling cls"),
        "{human}"
    );

    let cmp = json(&["compare", &s(&a), &s(&b), "-k", "3", "--json"], &cache);
    let p = &cmp["provenance"];
    assert_eq!(p["status"], "differs", "{p}");
    let diffs = p["differences"].as_array().expect("differences");
    assert_eq!(diffs.len(), 1, "only pooling differs: {p}");
    assert_eq!(diffs[0]["key"], "pooling");
    assert_eq!(diffs[0]["a"], "mean");
    assert_eq!(diffs[0]["b"], "cls");
    assert_eq!(p["summary"], "B differs from A in: pooling (mean -> cls)");
    assert_eq!(cmp["versions"][1]["encoding"]["pooling"], "cls");

    let (code, text, err) = run(&["compare", &s(&a), &s(&b), "-k", "3"], &cache);
    assert_eq!(code, 0, "{err}");
    assert!(
        text.contains("B differs from A in: pooling (mean -> cls)."),
        "{text}"
    );

    // The same file twice: identical provenance.
    let same = json(&["compare", &s(&a), &s(&a), "-k", "3", "--json"], &cache);
    assert_eq!(same["provenance"]["status"], "identical");

    let out = d.path().join("r.json");
    let (code, _, err) = run(
        &[
            "report",
            &s(&a),
            &s(&b),
            "--out",
            &s(&out),
            "--sections",
            "datasets,measures",
            "-k",
            "3",
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let r: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("report")).expect("json");
    assert_eq!(r["datasets"][0]["model_id"], "tiny-bert");
    assert_eq!(r["datasets"][1]["encoding"]["pooling"], "cls");
    assert_eq!(
        r["pairs"][0]["provenance"]["differences"][0]["key"],
        "pooling"
    );
    let md = d.path().join("r.md");
    let (code, _, err) = run(
        &[
            "report",
            &s(&a),
            &s(&b),
            "--out",
            &s(&md),
            "--sections",
            "datasets",
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let md = std::fs::read_to_string(&md).expect("md");
    // Markdown escapes `>`.
    assert!(
        md.contains(r"| A vs B | B differs from A in: pooling (mean -\> cls) |"),
        "{md}"
    );
    assert!(md.contains("| tiny-bert |"), "model column: {md}");
}

#[test]
fn damaged_and_foreign_records_load_the_vectors_with_a_warning() {
    let d = tempfile::tempdir().expect("tempdir");
    let cache = d.path().join("cache");
    let c = corpus(d.path());
    let (a, b) = (d.path().join("a.npy"), d.path().join("b.parquet"));
    embed(&c, &a, "mean", &cache);
    embed(&c, &b, "cls", &cache);
    let rec_a = d.path().join("a.provenance.json");
    let rec_b = d.path().join("b.provenance.json");
    let good_a = std::fs::read_to_string(&rec_a).expect("record");

    // Not JSON: loaded, warned, nothing attached.
    std::fs::write(&rec_a, "{ \"kind\": \"embedscope-provenance\", ").expect("write");
    let (code, out, err) = run(&["info", &s(&a), "--json"], &cache);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("a.provenance.json") && err.contains("not a readable provenance record"),
        "{err}"
    );
    let v: Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["rows"], 12);
    assert_eq!(v["model_id"], Value::Null);
    assert_eq!(v["encoding"], Value::Null);
    assert_eq!(v["encoding_record"]["status"], "unreadable");
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("a.provenance.json"), "{warnings}");

    // Valid JSON of the wrong shape.
    std::fs::write(&rec_a, "[1, 2, 3]").expect("write");
    let set = formats::load(&a, &LoadOptions::default()).expect("load");
    let note = set.provenance.sidecar.as_ref().expect("noted");
    assert_eq!(note.status, SidecarStatus::Unreadable);
    assert!(
        note.note.as_deref().unwrap_or("").contains("JSON object"),
        "{note:?}"
    );
    assert!(set.provenance.encoding.is_empty());

    // a's record beside b: it describes another file (its sha256 and format differ).
    std::fs::write(&rec_b, &good_a).expect("write");
    let set = formats::load(&b, &LoadOptions::default()).expect("load");
    let note = set.provenance.sidecar.as_ref().expect("noted");
    assert_eq!(note.status, SidecarStatus::NotMatching, "{note:?}");
    let text = note.note.as_deref().unwrap_or("");
    assert!(
        text.contains("describes another file") && text.contains("a.npy"),
        "{text}"
    );
    assert!(set.provenance.encoding.is_empty() && set.provenance.model_id.is_none());
    assert_eq!(set.rows(), 12);

    // The record restored: attached again; an unknown side makes the difference unknown.
    std::fs::write(&rec_a, &good_a).expect("write");
    let cmp = json(&["compare", &s(&a), &s(&b), "-k", "3", "--json"], &cache);
    assert_eq!(cmp["provenance"]["status"], "unknown");
    assert_eq!(cmp["provenance"]["unknown"], serde_json::json!(["B"]));
}

#[test]
fn the_cache_never_hides_a_record_written_or_changed_later() {
    let d = tempfile::tempdir().expect("tempdir");
    let cache = d.path().join("cache");
    let c = corpus(d.path());
    let v = d.path().join("v.vec");
    embed(&c, &v, "mean", &cache);
    let rec = d.path().join("v.provenance.json");
    let opts = LoadOptions {
        cache_dir: Some(cache.clone()),
        ..LoadOptions::default()
    };
    let (first, st) = formats::load_with_status(&v, &opts).expect("load");
    assert!(matches!(st, CacheStatus::Stored(_)), "{st:?}");
    assert_eq!(first.provenance.encoding_fact("pooling"), Some("mean"));
    let (again, st) = formats::load_with_status(&v, &opts).expect("load");
    assert!(matches!(st, CacheStatus::Hit(_)), "{st:?}");
    assert_eq!(again.provenance.encoding_fact("pooling"), Some("mean"));
    assert_eq!(again.provenance.model_id.as_deref(), Some("tiny-bert"));

    // The record changed after the file was cached: the new record is read.
    let mut r: Value =
        serde_json::from_str(&std::fs::read_to_string(&rec).expect("read")).expect("json");
    r["provenance"]["params"]["pooling"] = "max".into();
    std::fs::write(&rec, r.to_string()).expect("write");
    let (changed, st) = formats::load_with_status(&v, &opts).expect("load");
    assert!(matches!(st, CacheStatus::Hit(_)), "{st:?}");
    assert_eq!(changed.provenance.encoding_fact("pooling"), Some("max"));

    // The record removed: nothing attached, even from the cache.
    std::fs::remove_file(&rec).expect("remove");
    let (gone, st) = formats::load_with_status(&v, &opts).expect("load");
    assert!(matches!(st, CacheStatus::Hit(_)), "{st:?}");
    assert!(gone.provenance.encoding_facts().is_none());
    assert!(gone.provenance.sidecar.is_none() && gone.provenance.model_id.is_none());
}

#[test]
fn native_files_and_converted_outputs_keep_the_encoding() {
    let d = tempfile::tempdir().expect("tempdir");
    let cache = d.path().join("cache");
    let c = corpus(d.path());
    // A native file holds the record in its header: no file beside it.
    let e = d.path().join("e.esv");
    embed(&c, &e, "cls", &cache);
    assert!(!d.path().join("e.provenance.json").exists());
    let set = formats::load(&e, &LoadOptions::default()).expect("esv");
    assert_eq!(set.provenance.encoding_fact("pooling"), Some("cls"));
    assert_eq!(set.provenance.model_id.as_deref(), Some("tiny-bert"));
    assert!(
        !set.provenance.params.contains_key("pooling"),
        "encoding facts are not load parameters"
    );

    // Projector TSV and safetensors outputs (written by convert) carry a record too.
    let n = d.path().join("n.npy");
    embed(&c, &n, "mean", &cache);
    for out in ["p.tsv", "s.safetensors", "w.vec"] {
        let out = d.path().join(out);
        let (code, _, err) = run(&["convert", &s(&n), &s(&out)], &cache);
        assert_eq!(code, 0, "{err}");
        let set = formats::load(&out, &LoadOptions::default()).expect("load");
        let note = set.provenance.sidecar.as_ref().expect("record read");
        assert_eq!(note.status, SidecarStatus::Attached, "{}", out.display());
        assert_eq!(set.provenance.encoding_fact("pooling"), Some("mean"));
    }
    let a = formats::load(&n, &LoadOptions::default()).expect("npy");
    let b = formats::load(&e, &LoadOptions::default()).expect("esv");
    let diff = embedscope::core::ProvenanceDiff::of("A", &a.provenance, "B", &b.provenance);
    assert_eq!(diff.status, ProvenanceStatus::Differs);
    assert_eq!(diff.summary, "B differs from A in: pooling (mean -> cls)");
}

#[test]
fn a_record_of_an_older_embedscope_is_attached_unchecked_and_hand_made_records_work() {
    let d = tempfile::tempdir().expect("tempdir");
    let a = d.path().join("h.npy");
    let set = formats::load(
        Path::new("tests/fixtures/compare/pair_a.vec"),
        &LoadOptions::default(),
    )
    .expect("fixture");
    formats::save(&set, &a, None).expect("save npy");
    let rec = d.path().join("h.provenance.json");
    // The bare provenance object (no record of the output it describes).
    std::fs::write(
        &rec,
        r#"{"source": "c.txt", "format": "embedded:sentence", "model_id": "m",
            "params": {"pooling": "mean", "prompt": "query: "}}"#,
    )
    .expect("write");
    let got = formats::load(&a, &LoadOptions::default()).expect("load");
    let note = got.provenance.sidecar.as_ref().expect("noted");
    assert_eq!(note.status, SidecarStatus::Unverified);
    assert_eq!(got.provenance.encoding_fact("prompt"), Some("query: "));
    assert!(got.notes.warnings.iter().any(|w| w.contains("unchecked")));

    // A hand-made record with the output's row count and dimension: checked, attached.
    let record = |rows: usize, dim: usize| {
        serde_json::json!({
            "kind": "embedscope-provenance",
            "version": 1,
            "output": {"file": "h.npy", "rows": rows, "dim": dim},
            "provenance": {"model_id": "m", "params": {"pooling": "cls"}},
        })
        .to_string()
    };
    std::fs::write(&rec, record(set.rows(), set.dim())).expect("write");
    let got = formats::load(&a, &LoadOptions::default()).expect("load");
    assert_eq!(
        got.provenance.sidecar.as_ref().map(|n| n.status),
        Some(SidecarStatus::Attached)
    );
    assert_eq!(got.provenance.encoding_fact("pooling"), Some("cls"));
    std::fs::write(&rec, record(set.rows() + 1, set.dim())).expect("write");
    let got = formats::load(&a, &LoadOptions::default()).expect("load");
    assert_eq!(
        got.provenance.sidecar.as_ref().map(|n| n.status),
        Some(SidecarStatus::NotMatching)
    );
    std::fs::write(&rec, record(set.rows(), set.dim() + 1)).expect("write");
    let got = formats::load(&a, &LoadOptions::default()).expect("load");
    assert_eq!(
        got.provenance.sidecar.as_ref().map(|n| n.status),
        Some(SidecarStatus::NotMatching)
    );
    assert_eq!(got.rows(), set.rows());
}
