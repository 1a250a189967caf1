//! `embedscope scan`: the JSON shape, exit code 4 with `--fail-on-pii`, masking (no raw value in
//! the output), every kind of input (text, CSV, JSONL, a vector file, a model folder) and bad
//! input (a missing file, a folder that is not a model folder, binary data).

mod common;

use common::run_embedscope;
use serde_json::Value;

const KINDS: [&str; 8] = [
    "email",
    "phone",
    "payment_card",
    "iban",
    "ip",
    "url_credentials",
    "secret",
    "us_ssn",
];

/// Values that must never appear in the output.
const RAW: [&str; 8] = [
    "jane.doe@example.com",
    "(555) 555-0199",
    "4111 1111 1111 1111",
    "DE89370400440532013000",
    "192.168.10.1",
    "https://admin:hunter22@db.example.com/x",
    "AKIAIOSFODNN7EXAMPLE",
    "536-22-1234",
];

fn text_with_everything() -> String {
    format!(
        "It is a truth universally acknowledged.\nMail {} or call {}.\ncard {} and IBAN {}\n\nfrom {} see {} key {} SSN {}\nNothing here on 2024-01-15.\n",
        RAW[0], RAW[1], RAW[2], RAW[3], RAW[4], RAW[5], RAW[6], RAW[7]
    )
}

fn json(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("one JSON object ({e}): {out}"))
}

fn assert_no_raw(out: &str) {
    for r in RAW {
        assert!(!out.contains(r), "{r:?} leaked: {out}");
    }
}

#[test]
fn json_shape_counts_places_and_masks() {
    let dir = tempfile::tempdir().expect("tempdir");
    let f = dir.path().join("notes.txt");
    std::fs::write(&f, text_with_everything()).expect("write");
    let (code, out, err) = run_embedscope(&["scan", f.to_str().expect("path"), "--json"], None);
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    let v = json(&out);
    for k in KINDS {
        assert_eq!(v["counts"][k], 1, "{k}: {out}");
    }
    assert_eq!(v["total"], 8);
    assert_eq!(
        v["bytes"].as_u64(),
        Some(std::fs::metadata(&f).expect("meta").len())
    );
    assert!(v["timing_s"]["total"].as_f64().is_some());
    let files = v["files"].as_array().expect("files");
    assert_eq!(files.len(), 1);
    assert_eq!(files[0]["read_as"], "text");
    let findings = v["findings"].as_array().expect("findings");
    assert_eq!(findings.len(), 8);
    for x in findings {
        for key in ["kind", "file", "line", "column", "start", "end", "masked"] {
            assert!(x.get(key).is_some(), "{key} missing in {x}");
        }
    }
    let email = findings
        .iter()
        .find(|x| x["kind"] == "email")
        .expect("email");
    assert_eq!(email["line"], 2);
    assert_eq!(email["masked"], "j***@e***.com");
    // Byte offsets in the line.
    assert_eq!(email["start"], 5);
    assert_eq!(email["end"], 5 + RAW[0].len());
    let ssn = findings
        .iter()
        .find(|x| x["kind"] == "us_ssn")
        .expect("ssn");
    assert_eq!(ssn["line"], 5);
    // Human output: no raw values either.
    let (code, out, err) = run_embedscope(&["scan", f.to_str().expect("path")], None);
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    assert_no_raw(&err);
    assert!(out.contains("j***@e***.com"), "{out}");
}

#[test]
fn fail_on_pii_exits_4_after_the_report() {
    let dir = tempfile::tempdir().expect("tempdir");
    let dirty = dir.path().join("dirty.txt");
    std::fs::write(&dirty, text_with_everything()).expect("write");
    let clean = dir.path().join("clean.txt");
    std::fs::write(
        &clean,
        "Nothing to see, version 1.2.3.4 on 2024-01-15 at 10:30.\n",
    )
    .expect("write");
    let (code, out, err) = run_embedscope(
        &[
            "scan",
            dirty.to_str().expect("p"),
            "--json",
            "--fail-on-pii",
        ],
        None,
    );
    assert_eq!(code, 4, "{err}");
    assert_eq!(json(&out)["total"], 8);
    assert_no_raw(&out);
    let (code, out, err) = run_embedscope(
        &[
            "scan",
            clean.to_str().expect("p"),
            "--json",
            "--fail-on-pii",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(json(&out)["total"], 0);
}

#[test]
fn csv_jsonl_vectors_and_model_folders_by_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let csv = dir.path().join("tickets.csv");
    std::fs::write(
        &csv,
        format!(
            "id,text,contact\n1,\"all fine\",\n2,\"card {}, thanks\",{}\n",
            RAW[2], RAW[0]
        ),
    )
    .expect("write");
    let jsonl = dir.path().join("docs.jsonl");
    std::fs::write(
        &jsonl,
        format!(
            "{{\"text\": \"hello\", \"meta\": {{\"ip\": \"{}\"}}}}\n{{\"text\": \"SSN {}\"}}\n",
            RAW[4], RAW[7]
        ),
    )
    .expect("write");
    let vec = dir.path().join("words.vec");
    std::fs::write(
        &vec,
        format!("3 2\nthe 0.1 0.2\n{} 0.3 0.4\ncat 0.5 0.6\n", RAW[0]),
    )
    .expect("write");
    let model = dir.path().join("model");
    std::fs::create_dir(&model).expect("mkdir");
    std::fs::write(
        model.join("vocab.txt"),
        format!("[PAD]\n[UNK]\nthe\n{}\n", RAW[6]),
    )
    .expect("write");
    let (code, out, err) = run_embedscope(
        &[
            "scan",
            csv.to_str().expect("p"),
            jsonl.to_str().expect("p"),
            vec.to_str().expect("p"),
            model.to_str().expect("p"),
            "--json",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    assert_no_raw(&out);
    let v = json(&out);
    let files = v["files"].as_array().expect("files");
    let read_as: Vec<&str> = files
        .iter()
        .map(|f| f["read_as"].as_str().expect("s"))
        .collect();
    assert_eq!(read_as, ["csv", "jsonl", "vectors", "model"]);
    let col = |f: usize, c: &str, k: &str| {
        files[f]["columns"]
            .as_array()
            .expect("columns")
            .iter()
            .find(|x| x["column"] == c)
            .map_or(0, |x| x["counts"][k].as_u64().expect("n"))
    };
    assert_eq!(col(0, "text", "payment_card"), 1, "{out}");
    assert_eq!(col(0, "contact", "email"), 1, "{out}");
    assert_eq!(col(1, "meta.ip", "ip"), 1, "{out}");
    assert_eq!(col(1, "text", "us_ssn"), 1, "{out}");
    assert_eq!(col(2, "token", "email"), 1, "{out}");
    assert_eq!(col(3, "token", "secret"), 1, "{out}");
    let findings = v["findings"].as_array().expect("findings");
    let at = |kind: &str| {
        findings
            .iter()
            .find(|x| x["kind"] == kind)
            .unwrap_or_else(|| panic!("{kind}: {out}"))
    };
    // CSV: the record's line; JSONL: the line; vectors: the row; vocab.txt: the token id.
    assert_eq!(at("payment_card")["line"], 3);
    assert_eq!(at("us_ssn")["line"], 2);
    assert_eq!(at("email")["line"], 3);
    let email_rows: Vec<u64> = findings
        .iter()
        .filter(|x| x["kind"] == "email")
        .map(|x| x["line"].as_u64().expect("n"))
        .collect();
    assert!(email_rows.contains(&1), "{out}");
    assert_eq!(at("secret")["line"], 3);
    assert!(
        at("secret")["file"]
            .as_str()
            .expect("s")
            .ends_with("vocab.txt")
    );
}

#[test]
fn masking_never_leaks_a_labelled_value() {
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/privacy/labelled.jsonl"
    );
    let (code, out, err) = run_embedscope(
        &["scan", fixture, "--json", "--max-findings", "100000"],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert!(
        v["total"].as_u64().expect("total") >= 1990,
        "{}",
        v["counts"]
    );
    assert_eq!(v["findings_truncated"], false);
    let raw = std::fs::read_to_string(fixture).expect("fixture");
    let mut values = 0;
    for l in raw.lines() {
        let d: Value = serde_json::from_str(l).expect("line");
        let text = d["text"].as_str().expect("text");
        for s in d["spans"].as_array().expect("spans") {
            let (a, b) = (
                s[1].as_u64().expect("a") as usize,
                s[2].as_u64().expect("b") as usize,
            );
            let value = &text[a..b];
            assert!(!out.contains(value), "{value:?} leaked");
            values += 1;
        }
    }
    assert!(values >= 2000);
}

#[test]
fn bad_input_names_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("nope.txt");
    let (code, out, err) = run_embedscope(&["scan", missing.to_str().expect("p"), "--json"], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("nope.txt"), "{err}");
    assert!(
        json(&out)["error"]["message"]
            .as_str()
            .expect("m")
            .contains("nope.txt")
    );

    let folder = dir.path().join("just_a_folder");
    std::fs::create_dir(&folder).expect("mkdir");
    let (code, _, err) = run_embedscope(&["scan", folder.to_str().expect("p")], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("just_a_folder") && err.contains("not a model folder"),
        "{err}"
    );

    let garbage = dir.path().join("garbage.dat");
    let bytes: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&garbage, &bytes).expect("write");
    let (code, _, err) = run_embedscope(&["scan", garbage.to_str().expect("p")], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("garbage.dat") && err.contains("binary"),
        "{err}"
    );

    let bad_json = dir.path().join("tokenizer-folder");
    std::fs::create_dir(&bad_json).expect("mkdir");
    std::fs::write(bad_json.join("tokenizer.json"), "{\"model\": [").expect("write");
    let (code, _, err) = run_embedscope(&["scan", bad_json.to_str().expect("p")], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("tokenizer.json") && err.contains("not JSON"),
        "{err}"
    );
}
