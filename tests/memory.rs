//! The memory guard under a real limit: the CLI run with `prlimit --as` on a 2,000,000 x 16 set
//! this test writes; a job whose estimate is over the limit is refused (exit 1, one JSON error
//! of kind `memory`, no signal), a job that fits still runs under the same limit; and the
//! estimates against the measured peak resident size on a moderate set.

mod common;

use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_embedscope");

/// Writes an f32 .npy of `rows` x `dim` (deterministic values), streamed.
fn write_npy(p: &Path, rows: usize, dim: usize) {
    let mut header =
        format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {dim}), }}");
    // Magic (6) + version (2) + length (2) + header + '\n', a multiple of 64.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let f = std::fs::File::create(p).expect("create npy");
    let mut w = std::io::BufWriter::with_capacity(1 << 22, f);
    w.write_all(b"\x93NUMPY\x01\x00").unwrap();
    w.write_all(&(header.len() as u16).to_le_bytes()).unwrap();
    w.write_all(header.as_bytes()).unwrap();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut row = vec![0u8; dim * 4];
    for r in 0..rows {
        // Clustered points: 64 centres plus noise.
        let centre = (r % 64) as f32;
        for c in 0..dim {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let noise = (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5;
            let v = ((centre * 0.7 + c as f32).sin() * 4.0) + noise;
            row[c * 4..c * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        w.write_all(&row).unwrap();
    }
    w.flush().unwrap();
}

struct Run {
    code: Option<i32>,
    signal: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs the CLI, under `prlimit --as=LIMIT` when a limit is given.
fn run(limit: Option<u64>, args: &[&str], envs: &[(&str, &str)]) -> Run {
    let mut cmd = match limit {
        Some(l) => {
            let mut c = Command::new("prlimit");
            c.arg(format!("--as={l}")).arg("--").arg(BIN);
            c
        }
        None => Command::new(BIN),
    };
    cmd.args(args).env_remove("EMBEDSCOPE_MEMORY_LIMIT");
    for (k, v) in envs {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("run embedscope");
    Run {
        code: out.status.code(),
        signal: out.status.signal(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn prlimit_works() -> bool {
    Command::new("prlimit")
        .args(["--as=1073741824", "--", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A refusal: exit 1 (no signal), one JSON error of kind `memory` with the numbers.
fn assert_refused(r: &Run, job: &str) {
    assert_eq!(r.signal, None, "killed by a signal: {}", r.stderr);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("one JSON object");
    let e = &v["error"];
    assert_eq!(e["kind"], "memory", "{v}");
    let msg = e["message"].as_str().unwrap();
    assert!(
        msg.contains("not enough memory for") && msg.contains(job),
        "{msg}"
    );
    assert!(msg.contains("not started") && msg.contains("Try"), "{msg}");
    let est = e["estimate_bytes"].as_u64().unwrap();
    let avail = e["available_bytes"].as_u64().unwrap();
    assert!(est > avail, "{v}");
}

const LIMIT: u64 = 2 << 30;

#[test]
fn two_million_rows_under_an_address_space_limit() {
    if !prlimit_works() {
        if common::skip_unless_ci("prlimit (util-linux)") {
            return;
        }
        panic!("prlimit is needed for the memory test");
    }
    let d = tempfile::tempdir().unwrap();
    let big = d.path().join("big.npy");
    write_npy(&big, 2_000_000, 16);
    let big_s = big.to_str().unwrap();
    let base = ["--vocab", "#row", "--no-cache", "--json"];
    let out = |name: &str| d.path().join(name).display().to_string();

    // t-SNE and UMAP of 2M rows need several GiB: refused before they start, by the limit.
    let tsne_out = out("t.csv");
    let mut args = vec!["project", big_s, "--method", "tsne", "--out", &tsne_out];
    args.extend(base);
    let r = run(Some(LIMIT), &args, &[]);
    assert_refused(&r, "t-SNE of 2,000,000 x 16");
    assert!(r.stdout.contains("RLIMIT_AS"), "{}", r.stdout);
    assert!(!Path::new(&tsne_out).exists());

    let umap_out = out("u.csv");
    let mut args = vec!["project", big_s, "--method", "umap", "--out", &umap_out];
    args.extend(base);
    assert_refused(&run(Some(LIMIT), &args, &[]), "UMAP of 2,000,000 x 16");

    // HDBSCAN over the vectors.
    let c_out = out("c.csv");
    let mut args = vec![
        "cluster",
        big_s,
        "--min-cluster-size",
        "200",
        "--out",
        &c_out,
    ];
    args.extend(base);
    assert_refused(&run(Some(LIMIT), &args, &[]), "HDBSCAN of 2,000,000 x 16");

    // Fits: PCA of the same rows, under the same limit.
    let pca_out = out("p.csv");
    let mut args = vec![
        "project",
        big_s,
        "--method",
        "pca",
        "--no-quality",
        "--out",
        &pca_out,
    ];
    args.extend(base);
    let r = run(Some(LIMIT), &args, &[]);
    assert_eq!(r.signal, None, "{}", r.stderr);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(v.get("error").is_none(), "{v}");
    assert!(Path::new(&pca_out).exists());

    // And exact neighbours of a few rows.
    let mut args = vec![
        "neighbors",
        big_s,
        "17",
        "123456",
        "-k",
        "5",
        "--index",
        "exact",
    ];
    args.extend(base);
    let r = run(Some(LIMIT), &args, &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
}

#[test]
fn the_override_refuses_with_a_message_in_words() {
    let d = tempfile::tempdir().unwrap();
    let o = d.path().join("m.csv").display().to_string();
    let r = run(
        None,
        &["project", "demo", "--method", "umap", "--out", &o],
        &[("EMBEDSCOPE_MEMORY_LIMIT", "1M")],
    );
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not enough memory for UMAP of 50,107 x 50"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("EMBEDSCOPE_MEMORY_LIMIT"), "{}", r.stderr);
    assert!(!Path::new(&o).exists());
    // `off` lifts the guard (the job then runs as before: checked by the other suites).
    let r = run(
        None,
        &["info", "demo", "--json"],
        &[("EMBEDSCOPE_MEMORY_LIMIT", "off")],
    );
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

/// The estimate and peak RSS a run reports with `EMBEDSCOPE_MEMORY_REPORT=1`: the last
/// estimate (the job's; the load's comes first) and the peak.
fn estimate_and_peak(r: &Run) -> (u64, u64) {
    let mut est = 0;
    let mut peak = 0;
    for l in r.stderr.lines() {
        if let Some(rest) = l.strip_prefix("memory estimate: ") {
            est = rest
                .split_whitespace()
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
        }
        if let Some(rest) = l.strip_prefix("memory peak: ") {
            peak = rest.trim().parse().unwrap_or(0);
        }
    }
    (est, peak)
}

/// Each estimate against the peak resident size the job added over loading the same set
/// (`info`): the estimate (plus 8 MiB) is between half and 4 times the measured peak.
#[test]
fn estimates_track_the_measured_peak() {
    let d = tempfile::tempdir().unwrap();
    let n = 20_000;
    let f = d.path().join("m.npy");
    write_npy(&f, n, 16);
    let fs = f.to_str().unwrap();
    let (_, base_peak, stderr) = measured(&["info", fs]);
    assert!(base_peak > 0, "{stderr}");
    let o = |name: &str| d.path().join(name).display().to_string();
    let (t, u, c, k) = (o("t.csv"), o("u.csv"), o("c.csv"), o("k.csv"));
    let jobs: Vec<(&str, Vec<&str>)> = vec![
        (
            "t-SNE",
            vec![
                "project",
                fs,
                "--method",
                "tsne",
                "--iterations",
                "30",
                "--early-iterations",
                "10",
                "--no-quality",
                "--out",
                &t,
            ],
        ),
        (
            "UMAP",
            vec![
                "project",
                fs,
                "--method",
                "umap",
                "--epochs",
                "5",
                "--no-quality",
                "--out",
                &u,
            ],
        ),
        ("HDBSCAN", vec!["cluster", fs, "--dims", "2", "--out", &c]),
        (
            "k-means",
            vec![
                "cluster", fs, "--method", "kmeans", "--k", "20", "--out", &k,
            ],
        ),
    ];
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for (name, args) in jobs {
        let (est, peak, _) = measured(&args);
        let used = peak.saturating_sub(base_peak).max(1 << 20);
        // 8 MiB of slack: below that the peak is noise (allocator, thread stacks).
        let ratio = (est + (8 << 20)) as f64 / used as f64;
        lines.push(format!(
            "{name:<8} {n} x 16: estimate {:>7.1} MiB, measured {:>7.1} MiB over loading, ratio {ratio:.2}",
            est as f64 / 1048576.0,
            used as f64 / 1048576.0
        ));
        if !(0.5..=4.0).contains(&ratio) {
            bad.push(name);
        }
    }
    eprintln!("{}", lines.join("\n"));
    assert!(
        bad.is_empty(),
        "outside the factor: {bad:?}\n{}",
        lines.join("\n")
    );
}

/// What grows with the rows is what decides a run on millions. From 30,000 to 90,000 rows
/// (64 tight clusters: near-duplicates), each map estimate grows by at least 90% of what the
/// measured peak grows. Before the t-SNE lists and affinities were counted as
/// `affinity::joint` holds them its estimate grew by 44% of the peak's growth, and before the
/// exact search compacted its candidate lists UMAP's peak grew by 740 MiB (10% of it counted).
#[test]
fn map_estimates_grow_with_the_rows_as_fast_as_the_peak() {
    let d = tempfile::tempdir().unwrap();
    let env = [("EMBEDSCOPE_MEMORY_REPORT", "1")];
    let mut lines = Vec::new();
    let mut bad = Vec::new();
    for (name, method, extra) in [
        (
            "t-SNE",
            "tsne",
            ["--iterations", "30", "--early-iterations", "10"],
        ),
        ("UMAP", "umap", ["--epochs", "5", "--n-neighbors", "15"]),
    ] {
        let mut points = Vec::new();
        for n in [30_000, 90_000] {
            let f = d.path().join(format!("m{n}.npy"));
            if !f.exists() {
                write_npy(&f, n, 16);
            }
            let out = d.path().join(format!("{method}{n}.csv"));
            let mut args = vec![
                "project",
                f.to_str().unwrap(),
                "--method",
                method,
                "--no-quality",
                "--out",
                out.to_str().unwrap(),
                "--vocab",
                "#row",
                "--no-cache",
                "--json",
            ];
            args.extend(extra);
            let r = run(None, &args, &env);
            assert_eq!(r.code, Some(0), "{name} {n}: {}", r.stderr);
            points.push(estimate_and_peak(&r));
        }
        let grew_est = points[1].0.saturating_sub(points[0].0) as f64;
        let grew_peak = points[1].1.saturating_sub(points[0].1) as f64;
        let share = grew_est / grew_peak.max(1.0);
        lines.push(format!(
            "{name:<6} 30,000 -> 90,000 x 16: estimate +{:.1} MiB, peak +{:.1} MiB, {share:.2}",
            grew_est / 1048576.0,
            grew_peak / 1048576.0
        ));
        if share < 0.9 {
            bad.push(name);
        }
    }
    eprintln!("{}", lines.join("\n"));
    assert!(bad.is_empty(), "{bad:?}\n{}", lines.join("\n"));
}

/// `search`: the query model and the ranking are checked before the model loads; under a limit
/// above the file's load but below the model's weights, the search is refused with the
/// estimate and a suggestion; without the limit it runs.
#[test]
fn search_is_refused_with_its_estimate_and_runs_without_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let corpus = d.path().join("c.txt");
    let text: String = (0..20)
        .map(|i| format!("document number {i} about the weather and trains\n"))
        .collect();
    std::fs::write(&corpus, text).unwrap();
    let model = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder/tiny-bert");
    let set = d.path().join("docs.npy");
    let set_s = set.to_str().unwrap();
    let r = run(
        None,
        &[
            "embed",
            "--model",
            model.to_str().unwrap(),
            "--input",
            corpus.to_str().unwrap(),
            "--out",
            set_s,
            "--backend",
            "cpu",
        ],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let args = ["search", set_s, "-q", "trains", "-k", "3"];
    // 100 KiB: the 2.7 kB set loads, the model's weights (116 KiB, counted twice) do not fit.
    let limit = [("EMBEDSCOPE_MEMORY_LIMIT", "100K")];
    let r = run(None, &args, &limit);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("not enough memory for search by meaning of 1 queries in 20 x 32"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("weights") && r.stderr.contains("Try a smaller k"),
        "{}",
        r.stderr
    );
    let mut json = args.to_vec();
    json.push("--json");
    assert_refused(&run(None, &json, &limit), "search by meaning");
    let r = run(None, &json, &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let v: Value = serde_json::from_str(&r.stdout).expect("one JSON object");
    assert_eq!(
        v["queries"][0]["results"].as_array().map(Vec::len),
        Some(3),
        "{v}"
    );
}

/// `transform`: placing rows into a saved map is checked before the rows are gathered.
#[test]
fn transform_is_refused_with_its_estimate_and_runs_without_the_limit() {
    let d = tempfile::tempdir().unwrap();
    let map = d.path().join("map.csv");
    let map_s = map.to_str().unwrap();
    let r = run(
        None,
        &[
            "project", "demo", "--method", "umap", "--limit", "2000", "--epochs", "20", "--out",
            map_s,
        ],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    let placed = d.path().join("placed.csv");
    let args = [
        "transform",
        "demo",
        "--map",
        map_s,
        "--limit",
        "2000",
        "--out",
        placed.to_str().unwrap(),
    ];
    let limit = [("EMBEDSCOPE_MEMORY_LIMIT", "1M")];
    let r = run(None, &args, &limit);
    assert_eq!(r.code, Some(1), "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("not enough memory for placing 2,000 rows into a map of 2,000 x 50"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--only-new"), "{}", r.stderr);
    assert!(!placed.exists());
    let mut json = args.to_vec();
    json.push("--json");
    assert_refused(&run(None, &json, &limit), "placing 2,000 rows");
    let r = run(None, &args, &[]);
    assert_eq!(r.code, Some(0), "{}\n{}", r.stdout, r.stderr);
    assert!(placed.exists());
}

/// One CLI run with the memory report (rows named by number, no cache, JSON): its last
/// estimate, its peak resident size and its stderr.
fn measured(args: &[&str]) -> (u64, u64, String) {
    let mut all = args.to_vec();
    all.extend(["--vocab", "#row", "--no-cache", "--json"]);
    let r = run(None, &all, &[("EMBEDSCOPE_MEMORY_REPORT", "1")]);
    assert_eq!(r.code, Some(0), "{args:?}: {}", r.stderr);
    let (est, peak) = estimate_and_peak(&r);
    (est, peak, r.stderr)
}

/// On 300,000 rows, where the buffers stand well above the noise, the estimate covers at least
/// 90% of the peak a job adds over loading (8 MiB of slack for the allocator and thread
/// stacks, as in `estimates_track_the_measured_peak`):
/// - k-means: before its working copy of the rows and the k-means++ distances were counted it
///   covered about half;
/// - PCA with the map's quality measures: before the rows gathered for them (a copy of the
///   input) and the per-row vectors were counted, about half too.
#[test]
fn estimates_cover_their_peak_on_many_rows() {
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("m.npy");
    write_npy(&f, 300_000, 16);
    let fs = f.to_str().unwrap();
    let k = d.path().join("k.csv").display().to_string();
    let p = d.path().join("p.csv").display().to_string();
    let (_, loading, _) = measured(&["info", fs]);
    let mut bad = Vec::new();
    for (name, args) in [
        (
            "k-means",
            vec![
                "cluster", fs, "--method", "kmeans", "--k", "20", "--out", &k,
            ],
        ),
        (
            "PCA + quality",
            vec!["project", fs, "--method", "pca", "--out", &p],
        ),
    ] {
        let (est, peak, stderr) = measured(&args);
        let used = peak.saturating_sub(loading).max(1);
        let share = (est + (8 << 20)) as f64 / used as f64;
        eprintln!(
            "{name} 300,000 x 16: estimate {:.1} MiB, measured {:.1} MiB over loading, {share:.2}",
            est as f64 / 1048576.0,
            used as f64 / 1048576.0
        );
        if share < 0.9 {
            bad.push(format!("{name}: {share:.2}\n{stderr}"));
        }
    }
    assert!(bad.is_empty(), "{bad:?}");
}
