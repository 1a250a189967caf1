//! `embedscope report`: every output format by its path, byte-identical JSON across runs, the
//! regenerating command line, hostile tokens from a file, bad input (exit 1 / 2).

mod common;

use std::path::{Path, PathBuf};

use serde_json::Value;

fn fixture(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
        .display()
        .to_string()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let all: Vec<&str> = [&["report"][..], args, &["--no-cache"]].concat();
    common::run_embedscope(&all, None)
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

/// Quick options: small maps, few permutations, one benchmark-free section set where speed
/// matters.
const FAST: [&str; 6] = [
    "--map-points",
    "200",
    "--permutations",
    "500",
    "--bootstrap",
    "100",
];

#[test]
fn every_format_is_chosen_by_the_output_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let sections = ["--sections", "datasets,vocabulary,measures,words,maps"];
    // HTML
    let html = dir.path().join("r.html");
    let mut args = vec![a.as_str(), b.as_str(), "--out"];
    let hs = path_str(&html);
    args.push(&hs);
    args.extend(FAST);
    args.extend(sections);
    args.push("--json");
    let (code, out, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["format"], "html");
    assert_eq!(v["files"][0], Value::String(hs.clone()));
    let text = std::fs::read_to_string(&html).expect("html written");
    assert!(text.starts_with("<!DOCTYPE html>") && text.contains("<svg"));
    // Markdown with its images beside it.
    let md = dir.path().join("r.md");
    let ms = path_str(&md);
    let (code, _, err) = run(&[&a, &b, "--out", &ms, "--sections", "maps,measures"]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&md).expect("md written");
    assert!(text.contains("](r_files/map_A.svg)") && text.contains("](r_files/map_B.svg)"));
    assert!(dir.path().join("r_files/map_B.svg").is_file());
    assert!(dir.path().join("r_files/overlap_1.svg").is_file());
    // A folder of CSV tables (a path without extension).
    let csv = dir.path().join("tables");
    let cs = path_str(&csv);
    let (code, out, err) = run(&[
        &a,
        &b,
        "--out",
        &cs,
        "--sections",
        "measures,words",
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).expect("one JSON object");
    assert_eq!(v["format"], "csv");
    let measures = std::fs::read_to_string(csv.join("measures.csv")).expect("measures.csv");
    assert!(measures.starts_with("measure,A vs B\n"), "{measures}");
    assert!(csv.join("words_1_most_changed.csv").is_file());
    // --as overrides the extension.
    let odd = dir.path().join("report.txt");
    let os = path_str(&odd);
    let (code, _, err) = run(&[
        &a,
        &b,
        "--out",
        &os,
        "--as",
        "json",
        "--sections",
        "datasets",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&odd).expect("read")).expect("JSON");
    assert_eq!(v["datasets"][1]["rows"], 1002);
}

#[test]
fn json_runs_are_byte_identical_and_carry_the_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("r.json");
    let os = path_str(&out);
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let mut args: Vec<&str> = vec![&a, &b, "--out", &os, "--probes", "weat7", "--seed", "3"];
    args.extend(FAST);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let first = std::fs::read(&out).expect("first run");
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let second = std::fs::read(&out).expect("second run");
    assert!(first == second, "two runs wrote different JSON");
    let v: Value = serde_json::from_slice(&first).expect("JSON");
    let cmd = v["command"].as_str().expect("command");
    assert!(
        cmd.starts_with("embedscope report ") && cmd.contains(&format!(" --out {os}")),
        "{cmd}"
    );
    assert!(
        cmd.contains("--seed 3") && cmd.contains("--no-cache"),
        "{cmd}"
    );
    assert_eq!(v["parameters"]["compare"]["seed"], 3);
    assert_eq!(v["embedscope_version"], env!("CARGO_PKG_VERSION"));
    // The probe could not run on these 1k-word fixtures: reported, not a failure.
    let errors = v["bias"]["errors"].as_array().expect("bias errors");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].as_str().unwrap_or("").contains("weat7 on A"));
}

#[test]
fn hostile_tokens_from_a_file_stay_text() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut a = String::from("12 3\n");
    let mut b = String::from("12 3\n");
    let hostile = [
        "<script>alert(1)</script>",
        "\"><img/src=x/onerror=alert(1)>",
        "fish&chips",
        "rl\u{202e}o",
        "pi|pe",
    ];
    for i in 0..12 {
        let t = hostile.get(i).map_or(format!("w{i}"), |s| s.to_string());
        let x = i as f32;
        a.push_str(&format!("{t} {} {} {}\n", x.sin(), x.cos(), 0.5 + x * 0.1));
        b.push_str(&format!(
            "{t} {} {} {}\n",
            x.cos(),
            -x.sin(),
            0.3 - x * 0.05
        ));
    }
    let (pa, pb) = (dir.path().join("a.vec"), dir.path().join("b<i>.vec"));
    std::fs::write(&pa, a).expect("write");
    std::fs::write(&pb, b).expect("write");
    let html = dir.path().join("r.html");
    let (code, _, err) = run(&[
        &path_str(&pa),
        &path_str(&pb),
        "--out",
        &path_str(&html),
        "-k",
        "3",
        "--sections",
        "datasets,vocabulary,measures,words,maps,parameters",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&html).expect("html");
    let lower = text.to_ascii_lowercase();
    assert!(!lower.contains("<script") && !lower.contains("<img") && !lower.contains("<i>"));
    assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(text.contains("b&lt;i&gt;.vec"));
    assert!(!text.contains('\u{202e}'));
}

#[test]
fn bad_input_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let out = path_str(&dir.path().join("r.html"));
    // Unknown extension: usage error naming the formats.
    let pdf = path_str(&dir.path().join("r.pdf"));
    let (code, _, err) = run(&[&a, &b, "--out", &pdf]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(".pdf") && err.contains(".html, .md, .json"),
        "{err}"
    );
    // Unknown section and unknown probe.
    let (code, _, err) = run(&[&a, &b, "--out", &out, "--sections", "maps,charts"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("\"charts\"") && err.contains("datasets"),
        "{err}"
    );
    let (code, _, err) = run(&[&a, &b, "--out", &out, "--probes", "weat99"]);
    assert_eq!(code, 2);
    assert!(err.contains("weat99"), "{err}");
    // A missing input names the file; nothing is written.
    let missing = path_str(&dir.path().join("nope.vec"));
    let (code, _, err) = run(&[&a, &missing, "--out", &out]);
    assert_eq!(code, 1);
    assert!(err.contains("nope.vec"), "{err}");
    assert!(!dir.path().join("r.html").exists());
    // The output folder must exist.
    let deep = path_str(&dir.path().join("no/such/dir/r.html"));
    let (code, _, err) = run(&[&a, &b, "--out", &deep]);
    assert_eq!(code, 2);
    assert!(err.contains("does not exist"), "{err}");
    // A single version is a usage error (clap).
    let (code, _, _) = run(&[&a, "--out", &out]);
    assert_eq!(code, 2);
    // An existing report is left whole when a run fails.
    std::fs::write(dir.path().join("r.html"), "previous").expect("write");
    let (code, _, _) = run(&[&a, &missing, "--out", &out]);
    assert_eq!(code, 1);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("r.html")).expect("read"),
        "previous"
    );
}

fn fixture_at(name: &str) -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn model_folders_carry_tokenizer_hash_backend_and_tokenizer_diff() {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = fixture_at("encoder/tiny-bert");
    let b = fixture_at("encoder/tiny-bert-normalized");
    let corpus = fixture_at("tokdiff/sample.txt");
    let out = path_str(&dir.path().join("m.json"));
    let (code, _, err) = run(&[
        &a,
        &b,
        "--corpus",
        &corpus,
        "--backend",
        "cpu",
        "-k",
        "5",
        "--sections",
        "datasets,vocabulary,measures",
        "--out",
        &out,
    ]);
    assert_eq!(code, 0, "{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("JSON");
    for d in v["datasets"].as_array().expect("datasets") {
        let tok = d["tokenizer_sha256"].as_str().expect("tokenizer hash");
        assert_eq!(tok.len(), 64, "{d}");
        assert_eq!(d["weights_sha256"].as_str().map(str::len), Some(64), "{d}");
        let backend = d["backend"].as_str().expect("backend");
        assert!(backend.to_lowercase().contains("cpu"), "{backend}");
        assert_eq!(d["format"], "embedded:word");
    }
    assert_eq!(v["datasets"][0]["model_id"], "tiny-bert");
    let td = &v["pairs"][0]["vocabulary"]["tokenizer"];
    assert_eq!(td["identical_files"], true, "{td}");
    assert!(td["words_checked"].as_u64().unwrap_or(0) >= 300, "{td}");
    assert_eq!(v["pairs"][0]["measures"]["jaccard"][0]["mean"], 1.0);
}

#[test]
fn the_drift_section_alone_with_its_options() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (a, b) = (fixture("rotation_a.vec"), fixture("rotation_b.vec"));
    let drift = [
        "--sections",
        "drift",
        "--drift-methods",
        "mmd,classifier",
        "--drift-permutations",
        "99",
        "--drift-clusters",
        "4",
        "--drift-top",
        "3",
    ];
    // JSON: the two tests asked for, the clusters listed, the unchecked model said.
    let out = path_str(&dir.path().join("d.json"));
    let mut args = vec![a.as_str(), b.as_str(), "--out", &out];
    args.extend(drift);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("JSON");
    assert_eq!(v["sections"], serde_json::json!(["drift"]));
    assert!(
        v.get("datasets").is_none() && v.get("notes").is_none(),
        "{v}"
    );
    let d = &v["drift"][0];
    assert_eq!(
        (d["n_ref"].as_u64(), d["n_cur"].as_u64()),
        (Some(300), Some(300))
    );
    let tests: Vec<&str> = d["tests"]
        .as_array()
        .expect("tests")
        .iter()
        .filter_map(|t| t["method"].as_str())
        .collect();
    assert_eq!(tests, ["mmd", "classifier"]);
    assert_eq!(d["tests"][0]["permutations"], 99);
    assert_eq!(d["cluster_count"], 4);
    assert_eq!(d["clusters"].as_array().map(Vec::len), Some(3));
    let warnings = d["warnings"].to_string();
    assert!(warnings.contains("could not be checked"), "{warnings}");
    // Markdown: the joint map beside it.
    let md = dir.path().join("d.md");
    let ms = path_str(&md);
    let mut args = vec![a.as_str(), b.as_str(), "--out", &ms];
    args.extend(drift);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&md).expect("md");
    assert!(text.contains("](d_files/drift_a_b_map.svg)"), "{text}");
    assert!(dir.path().join("d_files/drift_a_b_map.svg").is_file());
    // CSV: the tests and the clusters as tables.
    let csv = dir.path().join("tables");
    let cs = path_str(&csv);
    let mut args = vec![a.as_str(), b.as_str(), "--out", &cs];
    args.extend(drift);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "{err}");
    let tests = std::fs::read_to_string(csv.join("drift_a_b.csv")).expect("drift_a_b.csv");
    assert!(tests.starts_with("test,score,threshold,"), "{tests}");
    assert_eq!(tests.lines().count(), 3, "{tests}");
    let clusters =
        std::fs::read_to_string(csv.join("drift_a_b_clusters.csv")).expect("clusters csv");
    assert_eq!(clusters.lines().count(), 4, "{clusters}");
    // Versions of another dimension: a note on stderr and in the report, exit 0.
    let (pa, pb) = (fixture("pair_a.vec"), fixture("pair_b.vec"));
    let (code, _, err) = run(&[&pa, &pb, "--out", &out, "--sections", "drift"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("not computed: drift: A vs B:") && err.contains("50-dimensional"),
        "{err}"
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&out).expect("read")).expect("JSON");
    assert_eq!(v["drift"], serde_json::json!([]));
    assert_eq!(v["notes"].as_array().map(Vec::len), Some(1));
    // Bad drift options are usage errors, before anything is loaded.
    let (code, _, err) = run(&[
        &a,
        &b,
        "--out",
        &out,
        "--sections",
        "drift",
        "--drift-permutations",
        "5",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("permutations"), "{err}");
    let (code, _, err) = run(&[&a, &b, "--out", &out, "--drift-methods", "mmd,nope"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("--drift-methods") && err.contains("\"nope\""),
        "{err}"
    );
}
