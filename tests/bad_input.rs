//! Malformed input: every case in tests/fixtures/bad/cases.json gives its expected outcome,
//! through the library and through the CLI (exit code 1 with a JSON error, never a panic).

use std::path::{Path, PathBuf};
use std::process::Command;

use embedscope::analysis::{KnnIndex, Metric};
use embedscope::core::{IntegrityReport, RowScan};
use embedscope::formats::{self, Format, LoadOptions};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/bad")
}

fn cases() -> Vec<Value> {
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(dir().join("cases.json")).unwrap()).unwrap();
    v["cases"].as_array().unwrap().clone()
}

fn cli(args: &[&str]) -> (i32, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(args)
        .env(
            "EMBEDSCOPE_CACHE_DIR",
            std::env::temp_dir().join("embedscope-test-cache-bad"),
        )
        .output()
        .unwrap();
    let code = out.status.code().unwrap_or(-1);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    (code, json, String::from_utf8_lossy(&out.stderr).to_string())
}

#[test]
fn every_case_gives_its_expected_outcome() {
    let mut failures = Vec::new();
    for c in cases() {
        let file = c["file"].as_str().unwrap();
        let path = dir().join(file);
        let result = formats::load(&path, &LoadOptions::default());
        let mut fail = |m: String| failures.push(format!("{file}: {m}"));
        match (c["outcome"].as_str().unwrap(), result) {
            ("error", Ok(s)) => fail(format!("loaded {} rows, expected an error", s.rows())),
            ("error", Err(e)) => {
                let msg = e.to_string();
                if let Some(k) = c["kind"].as_str()
                    && e.kind_name() != k
                {
                    fail(format!("kind {} (expected {k}): {msg}", e.kind_name()));
                }
                if !msg.contains(c["contains"].as_str().unwrap()) {
                    fail(format!("message {msg:?} lacks {:?}", c["contains"]));
                }
                // The message names the file.
                if !msg.contains(path.file_name().unwrap().to_str().unwrap()) && file != "." {
                    fail(format!("message {msg:?} does not name the file"));
                }
                if let Some(line) = c["line"].as_u64()
                    && !msg.contains(&format!("line {line} "))
                {
                    fail(format!("message {msg:?} does not name line {line}"));
                }
            }
            ("load", Err(e)) => fail(format!("expected a load, got: {e}")),
            ("load", Ok(set)) => {
                let scan = RowScan::new(&set.matrix);
                let r = IntegrityReport::new(&set, &scan);
                let expect = |key: &str, got: u64| {
                    let want = c[key].as_u64().unwrap_or(0);
                    (got != want).then(|| format!("{key} = {got}, expected {want}"))
                };
                for m in [
                    expect("rows", set.rows() as u64),
                    expect("dim", set.dim() as u64),
                    expect("nan_rows", r.nan_rows),
                    expect("inf_rows", r.inf_rows),
                    expect("zero_rows", r.zero_rows),
                    expect("duplicate_tokens", r.duplicate_tokens),
                    expect("invalid_utf8_tokens", r.invalid_utf8_tokens),
                ]
                .into_iter()
                .flatten()
                {
                    fail(m);
                }
                if let Some(rows) = c["first_row_of"].as_object() {
                    for (tok, want) in rows {
                        let want: Vec<f32> = want
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|v| v.as_f64().unwrap() as f32)
                            .collect();
                        match set.vector(tok) {
                            Some(v) if v == want.as_slice() => {}
                            other => fail(format!("{tok}: {other:?}, expected {want:?}")),
                        }
                    }
                }
                if let Some(w) = c["warning"].as_str()
                    && !set.notes.warnings.iter().any(|x| x.contains(w))
                {
                    fail(format!(
                        "no warning containing {w:?}: {:?}",
                        set.notes.warnings
                    ));
                }
                if let Some(q) = c["not_neighbours_of"].as_str() {
                    let idx = KnnIndex::new(&set);
                    for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
                        let query = idx.token_query(q, metric).unwrap();
                        let res = idx.search(&[query], 10, metric, None).unwrap();
                        for n in &res[0] {
                            let t = set.vocab.token(n.index);
                            let excluded = c["excluded"].as_array().unwrap().iter().any(|e| e == t);
                            let zero_ok = metric != Metric::Cosine && t == "e";
                            if excluded && !zero_ok {
                                fail(format!("{t} returned as a {metric:?} neighbour"));
                            }
                        }
                    }
                }
            }
            (o, _) => fail(format!("unknown outcome {o}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn the_cli_reports_errors_with_exit_code_1_and_json() {
    for c in cases() {
        let file = c["file"].as_str().unwrap();
        let path = dir().join(file);
        let p = path.to_str().unwrap();
        let (code, json, stderr) = cli(&["info", p, "--json", "--no-cache"]);
        match c["outcome"].as_str().unwrap() {
            "error" => {
                assert_eq!(code, 1, "{file}: exit code {code}, stderr {stderr}");
                assert!(stderr.starts_with("error: "), "{file}: {stderr}");
                if let Some(k) = c["kind"].as_str() {
                    assert_eq!(json["error"]["kind"], k, "{file}: {json}");
                }
            }
            _ => {
                assert_eq!(code, 0, "{file}: {stderr}");
                assert_eq!(json["rows"].as_u64(), c["rows"].as_u64(), "{file}");
            }
        }
    }
}

#[test]
fn five_megabyte_lines_without_newline() {
    let d = tempfile::tempdir().unwrap();
    let long = "x".repeat(5 << 20);
    let p = d.path().join("long.txt");
    std::fs::write(&p, &long).unwrap();
    let e = formats::load(&p, &LoadOptions::default()).unwrap_err();
    assert_eq!(e.kind_name(), "invalid", "{e}");
    assert!(e.to_string().len() < 400, "error message must stay short");
    let e = formats::load(
        &p,
        &LoadOptions {
            format: Some(Format::GloveText),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert!(e.to_string().contains("line 1"), "{e}");
    let p2 = d.path().join("long.vec");
    std::fs::write(&p2, format!("3 2\n{long}")).unwrap();
    let e = formats::load(&p2, &LoadOptions::default()).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert!(
        e.to_string()
            .contains("expected 2 values after the token, found 0"),
        "{e}"
    );
    let (code, _, _) = cli(&["info", p2.to_str().unwrap(), "--no-cache"]);
    assert_eq!(code, 1);
}

#[test]
fn huge_declared_sizes_fail_fast_without_allocating() {
    // 10^12 rows x 300 would need 1.2 TB: the header alone must be refused at once.
    let t = std::time::Instant::now();
    let e =
        formats::load(&dir().join("header_1e12_rows.vec"), &LoadOptions::default()).unwrap_err();
    assert_eq!(e.kind_name(), "too_large");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("huge.bin");
    std::fs::write(&p, b"1000000000000 300\nthe \x00\x00\x80\x3f").unwrap();
    let e = formats::load(
        &p,
        &LoadOptions {
            format: Some(Format::Word2VecBinary),
            ..Default::default()
        },
    )
    .unwrap_err();
    assert_eq!(e.kind_name(), "too_large", "{e}");
    assert!(t.elapsed().as_secs_f64() < 1.0);
}

#[test]
fn usage_errors_exit_with_2() {
    assert_eq!(cli(&["neighbors", "demo"]).0, 2);
    assert_eq!(cli(&["neighbors", "demo", "king", "-k", "0"]).0, 2);
    assert_eq!(cli(&["info", "demo", "--format", "nonsense"]).0, 2);
    assert_eq!(cli(&["no-such-command"]).0, 2);
    assert_eq!(cli(&["convert", "demo", "/tmp/x.unknown-ext"]).0, 2);
}
