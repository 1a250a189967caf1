//! The CLI's documented JSON shapes, human output and exit codes (README "Command line").

mod common;

use serde_json::Value;

fn run(args: &[&str]) -> (i32, String, String) {
    common::run_embedscope(args, Some("cli"))
}

fn json(args: &[&str]) -> Value {
    let (code, out, err) = run(args);
    assert_eq!(code, 0, "{args:?}: {err}");
    // Exactly one JSON object on stdout.
    let v: Value = serde_json::from_str(&out)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON value: {e}\n{out}"));
    assert!(v.is_object());
    v
}

fn has(v: &Value, keys: &[&str]) {
    for k in keys {
        assert!(v.get(k).is_some(), "missing {k:?} in {v}");
    }
}

#[test]
fn info_json_shape() {
    let v = json(&["info", "demo", "--json"]);
    has(
        &v,
        &[
            "rows",
            "dim",
            "format",
            "sha256",
            "integrity",
            "norms",
            "provenance",
            "timing_s",
        ],
    );
    has(
        &v["integrity"],
        &[
            "nan_rows",
            "inf_rows",
            "zero_rows",
            "duplicate_tokens",
            "invalid_utf8_tokens",
        ],
    );
    has(&v["norms"], &["min", "median", "max", "unit_normalized"]);
    assert_eq!(v["rows"], 50107);
    assert_eq!(v["dim"], 50);
    assert_eq!(v["format"], "word2vec-binary");
    assert_eq!(v["sha256"].as_str().unwrap().len(), 64);
    let (code, out, _) = run(&["info", "demo"]);
    assert_eq!(code, 0);
    assert!(
        out.contains("50107 x 50") && out.contains("integrity   clean"),
        "{out}"
    );
}

#[test]
fn neighbors_json_shape_and_queries() {
    let v = json(&[
        "neighbors",
        "demo",
        "king",
        "king - man + woman",
        "zzzznotaword",
        "-k",
        "3",
        "--json",
    ]);
    has(&v, &["metric", "k", "results", "missing", "timing_s"]);
    has(&v["timing_s"], &["load", "compute"]);
    let r = v["results"].as_array().unwrap();
    assert_eq!(r.len(), 2);
    assert_eq!(r[0]["query"], "king");
    assert_eq!(r[0]["neighbors"][0]["token"], "prince");
    assert_eq!(r[1]["neighbors"][0]["token"], "queen");
    assert_eq!(r[0]["neighbors"].as_array().unwrap().len(), 3);
    assert_eq!(v["missing"][0]["query"], "zzzznotaword");
    // Euclidean distances increase; dot products decrease.
    let e = json(&[
        "neighbors",
        "demo",
        "king",
        "--metric",
        "euclidean",
        "--json",
    ]);
    let d: Vec<f64> = e["results"][0]["neighbors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["score"].as_f64().unwrap())
        .collect();
    assert!(d.windows(2).all(|w| w[0] <= w[1]), "{d:?}");
    // Only unknown queries: exit code 1.
    assert_eq!(run(&["neighbors", "demo", "zzzznotaword", "--json"]).0, 1);
    // Queries from a file, and raw vectors from an .npy.
    let d = tempfile::tempdir().unwrap();
    let qf = d.path().join("q.txt");
    std::fs::write(&qf, "paris\n\nberlin\n").unwrap();
    let v = json(&[
        "neighbors",
        "demo",
        "--queries-file",
        qf.to_str().unwrap(),
        "-k",
        "1",
        "--json",
    ]);
    assert_eq!(v["results"].as_array().unwrap().len(), 2);
    let npy = d.path().join("vecs.npy");
    let king = json(&[
        "convert",
        "demo",
        d.path().join("d.npy").to_str().unwrap(),
        "--limit",
        "2000",
        "--json",
    ]);
    assert_eq!(king["rows"], 2000);
    let set = embedscope::formats::load(&d.path().join("d.npy"), &Default::default()).unwrap();
    let row = set.vocab.get("king").unwrap();
    let one = embedscope::core::EmbeddingSet::new(
        embedscope::core::Vocab::from_unique(["q"]).unwrap(),
        embedscope::core::Matrix::from_vec(1, 50, set.matrix.row(row).to_vec()).unwrap(),
        Default::default(),
        Default::default(),
    )
    .unwrap();
    embedscope::formats::save(&one, &npy, None).unwrap();
    let v = json(&[
        "neighbors",
        "demo",
        "--query-vectors",
        npy.to_str().unwrap(),
        "-k",
        "2",
        "--json",
    ]);
    assert_eq!(v["results"][0]["query"], "#0");
    assert_eq!(v["results"][0]["neighbors"][0]["token"], "king");
}

#[test]
fn analogy_and_eval_json() {
    let v = json(&[
        "analogy", "demo", "man", "king", "woman", "-k", "2", "--json",
    ]);
    assert_eq!(v["results"][0]["token"], "queen");
    let v = json(&[
        "analogy", "demo", "man", "king", "woman", "--method", "mul", "--json",
    ]);
    assert_eq!(v["method"], "mul");
    assert_eq!(v["results"][0]["token"], "queen");
    let v = json(&["eval", "demo", "--json"]);
    assert_eq!(v["analogies"]["total"]["correct"], 9217);
    assert_eq!(v["analogies"]["sections"].as_array().unwrap().len(), 14);
    let sim = v["similarity"].as_array().unwrap();
    assert_eq!(sim.len(), 2);
    assert!((sim[0]["spearman"]["r"].as_f64().unwrap() - 0.503319577396603).abs() < 1e-6);
    has(&sim[0]["pearson"], &["r", "p_value", "n"]);
}

#[test]
fn convert_round_trip_and_errors() {
    let d = tempfile::tempdir().unwrap();
    for ext in ["txt", "bin", "parquet", "esv", "tsv", "npy", "safetensors"] {
        let out = d.path().join(format!("demo1k.{ext}"));
        let v = json(&[
            "convert",
            "demo",
            out.to_str().unwrap(),
            "--limit",
            "1000",
            "--json",
        ]);
        assert_eq!(v["rows"], 1000, "{ext}");
        let back = json(&["info", out.to_str().unwrap(), "--json", "--no-cache"]);
        assert_eq!(back["rows"], 1000, "{ext}");
        assert_eq!(back["dim"], 50, "{ext}");
    }
    // JSON errors on stdout, message on stderr, exit 1.
    let (code, out, err) = run(&["info", "/definitely/not/here.vec", "--json"]);
    assert_eq!(code, 1);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["error"]["kind"], "not_found");
    assert!(err.contains("/definitely/not/here.vec"));
}

#[test]
fn cache_is_used_on_second_open() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("v.txt");
    json(&[
        "convert",
        "demo",
        f.to_str().unwrap(),
        "--limit",
        "500",
        "--json",
    ]);
    let cache = d.path().join("cache");
    let c = cache.to_str().unwrap();
    let a = json(&["info", f.to_str().unwrap(), "--cache-dir", c, "--json"]);
    assert_eq!(a["cache"]["status"], "stored");
    let b = json(&["info", f.to_str().unwrap(), "--cache-dir", c, "--json"]);
    assert_eq!(b["cache"]["status"], "hit");
    assert_eq!(b["memory_mapped"], true);
    assert_eq!(a["sha256"], b["sha256"]);
}

#[test]
fn project_json_shape_csv_and_errors() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("map.csv");
    let o = out.to_str().unwrap();
    let v = json(&[
        "project", "demo", "--limit", "3000", "--method", "pca", "--out", o, "--json",
    ]);
    has(
        &v,
        &[
            "method", "params", "seed", "n", "sampled", "quality", "timing_s", "details",
        ],
    );
    has(
        &v["quality"],
        &["trustworthiness@10", "knn_preservation@10"],
    );
    has(&v["timing_s"], &["load", "compute"]);
    assert_eq!(v["n"], 3000);
    assert_eq!(v["sampled"], false);
    let csv = std::fs::read_to_string(&out).unwrap();
    let mut lines = csv.lines();
    assert_eq!(lines.next(), Some("token,x,y,knn_recall@10"));
    assert_eq!(lines.count(), 3000);
    // A token with a comma is quoted.
    assert!(csv.contains("\",\","), "comma token quoted");
    let v = json(&[
        "project",
        "demo",
        "--limit",
        "3000",
        "--method",
        "tsne",
        "--iterations",
        "60",
        "--early-iterations",
        "20",
        "--dims",
        "3",
        "--out",
        o,
        "--json",
    ]);
    assert!(v["kl_divergence"].as_f64().unwrap() > 0.0);
    assert!(
        std::fs::read_to_string(&out)
            .unwrap()
            .starts_with("token,x,y,z,knn_recall@10\n")
    );
    let v = json(&[
        "project",
        "demo",
        "--limit",
        "3000",
        "--method",
        "axes",
        "--x-axis",
        "he,him -> she,her,zzqqxx",
        "--out",
        o,
        "--json",
    ]);
    assert_eq!(v["details"]["missing"][0], "zzqqxx");
    // PCA to many dimensions as .npy with its components.
    let npy = d.path().join("p.npy");
    let v = json(&[
        "project",
        "demo",
        "--limit",
        "2000",
        "--method",
        "pca",
        "--dims",
        "20",
        "--out",
        npy.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(v["dims"], 20);
    assert!(d.path().join("p.components.npy").exists() && d.path().join("p.vocab.txt").exists());
    // Usage errors (2) are caught before loading; runtime errors (1) name the problem.
    assert_eq!(
        run(&[
            "project",
            "demo",
            "--method",
            "tsne",
            "--perplexity",
            "0",
            "--out",
            o
        ])
        .0,
        2
    );
    assert_eq!(
        run(&["project", "demo", "--method", "axes", "--out", o]).0,
        2
    );
    assert_eq!(
        run(&["project", "demo", "--method", "pca", "--out", "/tmp/x.txt"]).0,
        2
    );
    let (code, _, err) = run(&[
        "project", "demo", "--limit", "50", "--method", "tsne", "--out", o,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("at least 91 points"), "{err}");
    let (code, _, err) = run(&[
        "project", "demo", "--method", "pca", "--dims", "60", "--out", o,
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("1 to 50"), "{err}");
}

/// Runs the binary, killed after `secs` (a count option must never make it run away).
fn run_for(args: &[&str], secs: u64) -> (i32, String, String) {
    use std::io::Read;
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(args)
        .env(
            "EMBEDSCOPE_CACHE_DIR",
            std::env::temp_dir().join("embedscope-test-cache-cli"),
        )
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run embedscope");
    let start = std::time::Instant::now();
    let code = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code().unwrap_or(-1);
        }
        if start.elapsed().as_secs() >= secs {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?}: still running after {secs} s");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    };
    let (mut out, mut err) = (String::new(), String::new());
    let _ = child.stdout.take().map(|mut s| s.read_to_string(&mut out));
    let _ = child.stderr.take().map(|mut s| s.read_to_string(&mut err));
    (code, out, err)
}

/// stdout is exactly one JSON object.
fn one_object(args: &[&str], out: &str) -> Value {
    let v: Value = serde_json::from_str(out)
        .unwrap_or_else(|e| panic!("{args:?}: not one JSON value: {e}\n{out}"));
    assert!(v.is_object(), "{args:?}: {out}");
    v
}

#[test]
fn every_count_option_is_checked_before_anything_is_allocated() {
    let d = tempfile::tempdir().unwrap();
    let out_csv = d.path().join("o.csv");
    let out_html = d.path().join("o.html");
    let out_npy = d.path().join("o.npy");
    let (csv, html, npy) = (
        out_csv.to_str().unwrap(),
        out_html.to_str().unwrap(),
        out_npy.to_str().unwrap(),
    );
    let neighbors = ["neighbors", "demo", "king"];
    let analogy = ["analogy", "demo", "man", "king", "woman"];
    let project = ["project", "demo", "--method", "pca", "--out", csv];
    let cluster = ["cluster", "demo", "--out", csv];
    let drift = ["drift", "demo", "demo"];
    let embed = ["embed", "--model", "m", "--input", "c.txt", "--out", npy];
    let compare = ["compare", "demo", "demo"];
    let report = ["report", "demo", "demo", "--out", html];
    let weat = ["bias", "weat", "demo"];
    let direct = ["bias", "direct", "demo"];
    let search = ["search", "demo", "-q", "x"];
    let table: &[(&[&str], &[&str])] = &[
        (&neighbors, &["-k", "--restrict", "--ef", "--limit"]),
        (&analogy, &["-k", "--restrict", "--limit"]),
        (&["eval", "demo"], &["--restrict-vocab", "--limit"]),
        (&["info", "demo"], &["--limit"]),
        (
            &project,
            &[
                "--dims",
                "--iterations",
                "--early-iterations",
                "--pca-before",
                "--n-neighbors",
                "--epochs",
                "--quality-k",
            ],
        ),
        (
            &cluster,
            &[
                "--min-cluster-size",
                "--min-samples",
                "--k",
                "--dims",
                "--keywords",
            ],
        ),
        (
            &drift,
            &[
                "--pca",
                "--permutations",
                "--kernel-sample",
                "--clusters",
                "--keywords",
            ],
        ),
        (&embed, &["--batch-size", "--truncate-dim"]),
        (
            &compare,
            &[
                "--top",
                "-k",
                "--anchors",
                "--max-rank",
                "--pairs",
                "--batch-size",
            ],
        ),
        (
            &report,
            &[
                "--words",
                "--neighbours",
                "--map-points",
                "--map-labels",
                "--permutations",
                "--bootstrap",
                "--restrict-vocab",
                "-k",
            ],
        ),
        (
            &weat,
            &[
                "--permutations",
                "--exact-limit",
                "--bootstrap",
                "--batch-size",
            ],
        ),
        (&direct, &["--top"]),
        (&search, &["-k"]),
    ];
    for (base, options) in table {
        for opt in *options {
            for value in ["1000000000000", "18446744073709551615"] {
                let mut args: Vec<&str> = base.to_vec();
                args.extend([*opt, value, "--json"]);
                let (code, out, err) = run_for(&args, 60);
                assert_eq!(code, 2, "{args:?}: {err}");
                let v = one_object(&args, &out);
                assert_eq!(v["error"]["kind"], "usage", "{args:?}: {v}");
                let msg = v["error"]["message"].as_str().unwrap_or_default();
                assert!(
                    msg.contains(opt),
                    "{args:?}: the option is not named: {msg}"
                );
                assert!(
                    msg.contains("from") || msg.contains("1 to"),
                    "{args:?}: the range is not given: {msg}"
                );
                assert!(!err.contains("panicked"), "{args:?}: {err}");
            }
        }
    }
    // Within the range, a count beyond the rows is capped at them: every row, no abort.
    let v = json(&[
        "neighbors",
        "demo",
        "the",
        "-k",
        "4294967295",
        "--limit",
        "100",
        "--json",
    ]);
    assert_eq!(v["results"][0]["neighbors"].as_array().unwrap().len(), 99);
    let v = json(&[
        "analogy",
        "demo",
        "he",
        "his",
        "she",
        "-k",
        "4294967295",
        "--limit",
        "200",
        "--method",
        "mul",
        "--json",
    ]);
    assert_eq!(v["results"].as_array().unwrap().len(), 197);
}

#[test]
fn json_runs_print_exactly_one_object_whatever_happens() {
    let d = tempfile::tempdir().unwrap();
    let csv = d.path().join("o.csv");
    let csv = csv.to_str().unwrap();
    let missing = "/definitely/not/here.vec";
    // Every subcommand: an unknown option (clap's error) and a missing input.
    let cases: &[&[&str]] = &[
        &["info", missing],
        &["neighbors", missing, "king"],
        &["analogy", missing, "a", "b", "c"],
        &["eval", missing],
        &["convert", missing, csv],
        &["project", missing, "--method", "pca", "--out", csv],
        &["transform", missing, "--map", missing, "--out", csv],
        &[
            "embed", "--model", missing, "--input", missing, "--out", csv,
        ],
        &["compare", missing, missing],
        &["bias", "weat", missing],
        &["bias", "direct", missing],
        &["bias", "debias", missing, "--out", csv],
        &["bias", "ripa", missing],
        &["report", missing, missing, "--out", csv],
        &["search", missing, "-q", "x"],
        &["cluster", missing, "--out", csv],
        &["drift", missing, missing],
    ];
    for case in cases {
        let mut args = case.to_vec();
        args.push("--json");
        let (code, out, err) = run_for(&args, 120);
        assert!(code == 1 || code == 2, "{args:?}: exit {code}: {err}");
        let v = one_object(&args, &out);
        assert!(v["error"]["message"].is_string(), "{args:?}: {v}");
        args.push("--no-such-option");
        let (code, out, _) = run_for(&args, 60);
        assert_eq!(code, 2, "{args:?}");
        let v = one_object(&args, &out);
        assert_eq!(v["error"]["kind"], "usage", "{args:?}: {v}");
        assert!(
            v["error"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("--no-such-option")),
            "{args:?}: {v}"
        );
    }
    // An unknown subcommand and a missing required argument.
    for args in [
        &["nonsense", "--json"][..],
        &["neighbors", "--json"][..],
        &["bias", "--json"][..],
    ] {
        let (code, out, _) = run_for(args, 60);
        assert_eq!(code, 2, "{args:?}");
        assert_eq!(one_object(args, &out)["error"]["kind"], "usage");
    }
    // A result and then a failure: one object, the result with its error.
    let args = ["neighbors", "demo", "zzzznotaword", "--json"];
    let (code, out, _) = run_for(&args, 60);
    assert_eq!(code, 1);
    let v = one_object(&args, &out);
    assert!(v["error"]["message"].is_string(), "{v}");
    assert_eq!(v["missing"][0]["query"], "zzzznotaword", "{v}");
}

/// The files in a folder (temporary files included).
fn listing(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_failed_write_leaves_none_of_its_files() {
    let d = tempfile::tempdir().unwrap();
    for ext in ["npy", "safetensors", "tsv", "txt", "parquet"] {
        // The destination is a folder: refused, and no vocabulary or metadata file beside it.
        let dir = d.path().join(format!("out.{ext}"));
        std::fs::create_dir(&dir).unwrap();
        let args = [
            "convert",
            "demo",
            dir.to_str().unwrap(),
            "--limit",
            "50",
            "--json",
        ];
        let (code, out, err) = run(&args);
        assert_eq!(code, 1, "{ext}: {err}");
        let msg = one_object(&args, &out)["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert!(msg.contains("is a folder"), "{ext}: {msg}");
        assert_eq!(listing(d.path()), [format!("out.{ext}")], "{ext}");
        std::fs::remove_dir(&dir).unwrap();
    }
    // A later file of the group cannot be written (its name is a folder): the array written
    // first is removed too.
    let vocab = d.path().join("v.vocab.txt");
    std::fs::create_dir(&vocab).unwrap();
    let out = d.path().join("v.npy");
    let (code, _, err) = run(&["convert", "demo", out.to_str().unwrap(), "--limit", "50"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(listing(d.path()), ["v.vocab.txt"]);
    std::fs::remove_dir(&vocab).unwrap();
    // A folder that does not exist is named as such, not through a temporary file.
    let out = d.path().join("missing").join("m.npy");
    let (code, _, err) = run(&["convert", "demo", out.to_str().unwrap(), "--limit", "50"]);
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!(
            "folder {} does not exist",
            d.path().join("missing").display()
        )),
        "{err}"
    );
    assert!(!err.contains(".tmp-"), "{err}");
}

#[cfg(unix)]
#[test]
fn a_read_only_folder_is_refused_and_left_empty() {
    use std::os::unix::fs::PermissionsExt;
    let d = tempfile::tempdir().unwrap();
    let ro = d.path().join("ro");
    std::fs::create_dir(&ro).unwrap();
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o555)).unwrap();
    // Root writes anywhere: nothing to check then.
    if std::fs::write(ro.join("probe"), "x").is_ok() {
        return;
    }
    let out = ro.join("r.npy");
    let (code, _, err) = run(&["convert", "demo", out.to_str().unwrap(), "--limit", "50"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("r.npy"), "{err}");
    assert!(listing(&ro).is_empty());
    std::fs::set_permissions(&ro, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
#[test]
fn ctrl_c_during_convert_leaves_no_temporary_file() {
    let d = tempfile::tempdir().unwrap();
    // A large array (400k x 64 f32) written as text: long enough to be caught mid-write.
    let (rows, dim) = (400_000usize, 64usize);
    let src = d.path().join("big.npy");
    let header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    let pad = 64 - (10 + header.len() + 1) % 64;
    let len = header.len() + pad + 1;
    h.extend_from_slice(&(len as u16).to_le_bytes());
    h.extend_from_slice(header.as_bytes());
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    let mut data = h;
    data.reserve(rows * dim * 4);
    for i in 0..rows * dim {
        data.extend_from_slice(&((i % 997) as f32 * 0.001_234_5 - 0.6).to_le_bytes());
    }
    std::fs::write(&src, data).unwrap();
    let out_dir = d.path().join("out");
    std::fs::create_dir(&out_dir).unwrap();
    let out = out_dir.join("big.txt");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args([
            "convert",
            src.to_str().unwrap(),
            out.to_str().unwrap(),
            "--vocab",
            "#row",
            "--no-cache",
            "--json",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait for the temporary file, then interrupt.
    let start = std::time::Instant::now();
    let mut seen = false;
    while start.elapsed().as_secs() < 120 {
        if listing(&out_dir).iter().any(|n| n.contains(".tmp-")) {
            seen = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(seen, "the write ended before it could be interrupted");
    // SAFETY: a signal to our own child.
    unsafe { libc::kill(child.id() as i32, libc::SIGINT) };
    let o = child.wait_with_output().unwrap();
    assert_eq!(
        o.status.code(),
        Some(130),
        "{:?} {}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("one JSON object");
    assert_eq!(v["error"]["kind"], "interrupted");
    assert!(listing(&out_dir).is_empty(), "{:?}", listing(&out_dir));
}

#[test]
fn messages_name_the_place_and_outputs_never_replace_inputs() {
    let d = tempfile::tempdir().unwrap();
    // Blank lines counted exactly, a header's declared rows reached or not.
    for (text, blanks) in [
        ("2 2\n\na 1 2\n\n\nb 3 4\n", 3),
        ("2 2\r\n\r\na 1 2\r\n \r\nb 3 4\r\n\n", 3),
        ("a 1 2\n\nb 3 4\n\n\n", 3),
    ] {
        let f = d.path().join("blank.txt");
        std::fs::write(&f, text).unwrap();
        let v = json(&["info", f.to_str().unwrap(), "--no-cache", "--json"]);
        assert_eq!(
            v["warnings"][0],
            format!("{blanks} blank lines were skipped"),
            "{text:?}: {v}"
        );
    }
    // A test file's problem that is on no line is not said to be on line 0.
    let t = d.path().join("t.json");
    std::fs::write(&t, "{\"x\": 5}").unwrap();
    let (code, _, err) = run(&["bias", "weat", "demo", "--tests-file", t.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(!err.contains("line 0"), "{err}");
    assert!(err.contains("test 1 of 1"), "{err}");
    // The output is the input: refused before anything is written.
    let src = d.path().join("x.npy");
    let (code, _, err) = run(&["convert", "demo", src.to_str().unwrap(), "--limit", "30"]);
    assert_eq!(code, 0, "{err}");
    let before = std::fs::read(&src).unwrap();
    let same = d.path().join(".").join("x.npy");
    for args in [
        vec![
            "project",
            src.to_str().unwrap(),
            "--method",
            "pca",
            "--out",
            same.to_str().unwrap(),
        ],
        vec!["convert", src.to_str().unwrap(), same.to_str().unwrap()],
        vec![
            "bias",
            "debias",
            src.to_str().unwrap(),
            "--out",
            same.to_str().unwrap(),
        ],
    ] {
        let (code, _, err) = run(&args);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains("is the input"), "{args:?}: {err}");
        assert_eq!(std::fs::read(&src).unwrap(), before, "{args:?}");
    }
}

#[test]
fn csv_cells_that_look_like_formulas_are_defused_and_read_back() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("f.txt");
    std::fs::write(
        &src,
        "=HYPERLINK(\"http://x\",\"y\") 1 0\n@cmd 0 1\n-1 1 1\nplain 0.5 0.2\n+x 0.1 0.9\n",
    )
    .unwrap();
    let map = d.path().join("m.csv");
    let (code, _, err) = run(&[
        "project",
        src.to_str().unwrap(),
        "--method",
        "pca",
        "--out",
        map.to_str().unwrap(),
        "--no-cache",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&map).unwrap();
    let firsts: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split(',').next().unwrap())
        .collect();
    assert!(firsts.contains(&"\"'=HYPERLINK(\"\"http://x\"\""), "{text}");
    assert!(
        firsts.contains(&"'@cmd") && firsts.contains(&"'+x"),
        "{text}"
    );
    // A number stays a number.
    assert!(
        firsts.contains(&"-1") && firsts.contains(&"plain"),
        "{text}"
    );
    // Read back by the map reader (`cluster --on`): the tokens as they were.
    let out = d.path().join("c.csv");
    let (code, _, err) = run(&[
        "cluster",
        src.to_str().unwrap(),
        "--on",
        map.to_str().unwrap(),
        "--method",
        "kmeans",
        "--k",
        "2",
        "--out",
        out.to_str().unwrap(),
        "--no-cache",
    ]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(text.contains("'@cmd") && text.contains("-1,"), "{text}");
}
