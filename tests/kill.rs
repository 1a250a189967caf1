//! No lost work: every writer killed with SIGKILL at 20 random moments leaves its destination
//! whole. Each file of the output is, after the kill, either the previous version's bytes or the
//! new version's (all of them), never a part; nothing is left under a destination's name that
//! neither run wrote. Temporary files a killed run leaves (`.NAME.tmp-PID`) are removed by the
//! next write to the same destination.
//!
//! Writers: `convert` to npy (+ vocabulary), native `.esv`, Parquet, safetensors and word2vec
//! text; `embed` to npy (+ vocabulary, metadata, encoding record) and Parquet; `report` to
//! Markdown (+ its image folder) and HTML; `project` and `cluster` CSVs; `bias debias` output;
//! the app's session file (written by this test binary, run again as a child).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_embedscope");
const KILLS: usize = 20;
const TINY: &str = "tests/fixtures/encoder/tiny-bert";

/// Every file under `dir` (relative path -> bytes), inputs and temporary files left out.
fn snapshot(dir: &Path, inputs: &[&str]) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(rd) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in rd.flatten() {
            let p = e.path();
            let rel = p
                .strip_prefix(dir)
                .map(|r| r.to_string_lossy().to_string())
                .unwrap_or_default();
            if inputs.contains(&rel.as_str()) || is_temp(&p) {
                continue;
            }
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(b) = std::fs::read(&p) {
                out.insert(rel, b);
            }
        }
    }
    out
}

/// A writer's temporary file: `.NAME.tmp-PID`.
fn is_temp(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.strip_prefix('.'))
        .and_then(|n| n.rsplit_once(".tmp-"))
        .is_some_and(|(_, pid)| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()))
}

fn temps(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if is_temp(&p) {
                v.push(p);
            }
        }
    }
    v
}

/// Puts `state` back as the outputs under `dir` (files not in it removed, temporary files
/// kept: they are what a killed run leaves for the next one).
fn restore(dir: &Path, inputs: &[&str], state: &BTreeMap<String, Vec<u8>>) {
    for rel in snapshot(dir, inputs).keys() {
        if !state.contains_key(rel) {
            std::fs::remove_file(dir.join(rel)).expect("remove");
        }
    }
    for (rel, bytes) in state {
        let p = dir.join(rel);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(&p, bytes).expect("restore");
    }
}

/// A small seeded generator (splitmix64) for the kill moments.
struct Moments(u64);

impl Moments {
    fn next_fraction(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        (z >> 11) as f64 / (1u64 << 53) as f64
    }
}

struct Writer {
    name: &'static str,
    /// Files the writer reads, relative to the folder (left out of the checks).
    inputs: Vec<&'static str>,
    /// The command that writes the previous version, then the one killed.
    before: Vec<String>,
    after: Vec<String>,
    /// Run as this test binary (the session writer) instead of embedscope.
    this_binary: bool,
}

fn command(w: &Writer, args: &[String], dir: &Path) -> Command {
    let mut c = if w.this_binary {
        let mut c = Command::new(std::env::current_exe().expect("test binary"));
        c.args([
            "session_writer_for_the_kill_test",
            "--exact",
            "--ignored",
            "--nocapture",
        ]);
        c.env("KILL_TEST_SESSION", args.join(" "));
        c
    } else {
        let mut c = Command::new(BIN);
        c.args(args);
        c
    };
    c.current_dir(dir)
        .env("EMBEDSCOPE_CACHE_DIR", dir.join("cache"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    c
}

fn run_to_end(w: &Writer, args: &[String], dir: &Path) -> Duration {
    let t = Instant::now();
    let out = command(w, args, dir).output().expect("runs");
    assert!(
        out.status.success(),
        "{}: {args:?} failed: {}",
        w.name,
        String::from_utf8_lossy(&out.stderr)
    );
    t.elapsed()
}

/// The kill test of one writer; returns (kills that landed while it ran, runs it finished).
fn kill_test(w: &Writer, dir: &Path, seed: u64) -> (usize, usize) {
    let inputs: Vec<&str> = w.inputs.iter().copied().chain(["cache"]).collect();
    // The new version, and how long it takes: the fastest of three runs, so that a first run
    // slowed by a cold file cache or a busy machine does not send the kill moments past the end
    // of the runs that follow.
    let mut took = run_to_end(w, &w.after, dir);
    let new = snapshot(dir, &inputs);
    for _ in 0..2 {
        took = took.min(run_to_end(w, &w.after, dir));
        assert_eq!(
            snapshot(dir, &inputs),
            new,
            "{}: the new version differs run to run",
            w.name
        );
    }
    // The previous version at the destination.
    restore(dir, &inputs, &BTreeMap::new());
    run_to_end(w, &w.before, dir);
    let old = snapshot(dir, &inputs);
    assert!(!new.is_empty() && !old.is_empty(), "{}: no output", w.name);
    assert_ne!(old, new, "{}: the two versions must differ", w.name);
    let mut moments = Moments(seed);
    let (mut landed, mut finished) = (0, 0);
    for i in 0..KILLS {
        restore(dir, &inputs, &old);
        let at = took.mul_f64(moments.next_fraction());
        let mut child = command(w, &w.after, dir).spawn().expect("spawn");
        std::thread::sleep(at);
        match child.try_wait().expect("wait") {
            Some(_) => finished += 1,
            None => landed += 1,
        }
        // SIGKILL: no handler runs, nothing is cleaned up.
        child.kill().expect("kill");
        let _ = child.wait();
        let now = snapshot(dir, &inputs);
        for (rel, bytes) in &now {
            let was = old.get(rel) == Some(bytes);
            let made = new.get(rel) == Some(bytes);
            assert!(
                was || made,
                "{}: kill {i} at {at:?} of {took:?}: {rel} is neither the previous file nor the \
                 new one ({} bytes)",
                w.name,
                bytes.len()
            );
        }
        for rel in old.keys().chain(new.keys()) {
            // A file of the previous version gone: only when the new version replaced it.
            if !now.contains_key(rel) {
                assert!(
                    !old.contains_key(rel) || !new.contains_key(rel),
                    "{}: kill {i}: {rel} vanished",
                    w.name
                );
            }
        }
    }
    // A complete run afterwards writes the new version and takes away what the killed ones left.
    run_to_end(w, &w.after, dir);
    assert_eq!(snapshot(dir, &inputs), new, "{}", w.name);
    let left = temps(dir);
    assert!(
        left.is_empty(),
        "{}: temporary files left: {left:?}",
        w.name
    );
    (landed, finished)
}

fn args(s: &str) -> Vec<String> {
    s.split_whitespace().map(str::to_string).collect()
}

fn corpus(dir: &Path, name: &str, lines: usize) {
    let words = [
        "the",
        "printer",
        "keeps",
        "jamming",
        "after",
        "update",
        "refund",
        "please",
        "login",
        "fails",
        "on",
        "mobile",
        "app",
        "crashes",
        "when",
        "uploading",
        "photos",
        "slow",
    ];
    let mut text = String::new();
    for i in 0..lines {
        let n = 6 + i % 9;
        let line: Vec<&str> = (0..n)
            .map(|j| words[(i * 7 + j * 3) % words.len()])
            .collect();
        text.push_str(&line.join(" "));
        text.push('\n');
    }
    std::fs::write(dir.join(name), text).expect("corpus");
}

fn writers(root: &Path) -> Vec<Writer> {
    let pair = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/compare");
    for f in ["pair_a.vec", "pair_b.vec"] {
        std::fs::copy(pair.join(f), root.join(f)).expect("copy");
    }
    corpus(root, "small.txt", 300);
    corpus(root, "large.txt", 3000);
    let tiny = Path::new(env!("CARGO_MANIFEST_DIR")).join(TINY);
    let tiny = tiny.display();
    let w = |name, inputs: &[&'static str], before: &str, after: &str| Writer {
        name,
        inputs: inputs.to_vec(),
        before: args(before),
        after: args(after),
        this_binary: false,
    };
    vec![
        w(
            "convert npy",
            &[],
            "convert demo out.npy --limit 5000",
            "convert demo out.npy",
        ),
        w(
            "convert esv",
            &[],
            "convert demo out.esv --limit 5000",
            "convert demo out.esv",
        ),
        w(
            "convert parquet",
            &[],
            "convert demo out.parquet --limit 5000",
            "convert demo out.parquet",
        ),
        w(
            "convert safetensors",
            &[],
            "convert demo out.safetensors --limit 5000",
            "convert demo out.safetensors",
        ),
        w(
            "convert text",
            &[],
            "convert demo out.vec --limit 5000",
            "convert demo out.vec",
        ),
        w(
            "embed npy",
            &["small.txt", "large.txt"],
            &format!("embed --model {tiny} --input small.txt --out enc.npy --backend cpu"),
            &format!("embed --model {tiny} --input large.txt --out enc.npy --backend cpu"),
        ),
        w(
            "embed parquet",
            &["small.txt", "large.txt"],
            &format!("embed --model {tiny} --input small.txt --out enc.parquet --backend cpu"),
            &format!("embed --model {tiny} --input large.txt --out enc.parquet --backend cpu"),
        ),
        w(
            "report markdown",
            &["pair_a.vec", "pair_b.vec"],
            "report pair_a.vec pair_b.vec --out review.md --sections datasets,vocabulary",
            "report pair_a.vec pair_b.vec --out review.md",
        ),
        w(
            "report html",
            &["pair_a.vec", "pair_b.vec"],
            "report pair_a.vec pair_b.vec --out review.html --sections datasets",
            "report pair_a.vec pair_b.vec --out review.html",
        ),
        w(
            "project csv",
            &[],
            "project demo --method pca --out map.csv --limit 5000",
            "project demo --method pca --out map.csv",
        ),
        w(
            "cluster csv",
            &[],
            "cluster demo --limit 2000 --out clusters.csv",
            "cluster demo --limit 6000 --out clusters.csv",
        ),
        w(
            "bias debias",
            &[],
            "bias debias demo --out debiased.esv --limit 5000",
            "bias debias demo --out debiased.esv",
        ),
        Writer {
            name: "session",
            inputs: vec![],
            before: args("session.json 2000"),
            after: args("session.json 60000"),
            this_binary: true,
        },
    ]
}

#[test]
fn every_writer_killed_at_random_moments_leaves_the_previous_file_or_the_new_one() {
    let root = tempfile::tempdir().expect("tmp");
    let mut summary = Vec::new();
    for (i, w) in writers(root.path()).iter().enumerate() {
        let dir = root.path().join(format!("w{i}"));
        std::fs::create_dir_all(&dir).expect("dir");
        for f in &w.inputs {
            std::fs::copy(root.path().join(f), dir.join(f)).expect("input");
        }
        let (landed, finished) = kill_test(w, &dir, 0x5EED + i as u64);
        summary.push(format!(
            "{}: {landed} kills while running, {finished} after it ended",
            w.name
        ));
        // Most moments must fall while the command runs, or the test tests nothing.
        assert!(
            landed >= KILLS / 2,
            "{}: only {landed} of {KILLS} kills landed while it ran",
            w.name
        );
    }
    eprintln!("{}", summary.join("\n"));
}

/// Not a test: the session writer the kill test runs and kills (`KILL_TEST_SESSION` = "FILE
/// ROWS"). It builds a session of the demo set with ROWS selected rows and bookmarks, and saves
/// it as the app does.
#[test]
#[ignore = "run by the kill test as a child process"]
fn session_writer_for_the_kill_test() {
    let Ok(spec) = std::env::var("KILL_TEST_SESSION") else {
        return;
    };
    let mut parts = spec.split_whitespace();
    let file = PathBuf::from(parts.next().expect("file"));
    let rows: usize = parts.next().and_then(|r| r.parse().ok()).expect("rows");
    let mut s: embedscope::app::Session = serde_json::from_value(serde_json::json!({
        "kind": "embedscope-session",
        "version": 2,
        "datasets": [],
        "bookmarks": [],
    }))
    .expect("session");
    let saved = serde_json::json!({
        "name": "demo",
        "source": "embedded:demo",
        "map": {"method": "pca"},
        "selection": (0..rows).collect::<Vec<_>>(),
        "selection_tokens": (0..rows).map(|r| format!("token-{r}")).collect::<Vec<_>>(),
    });
    for _ in 0..4 {
        s.datasets
            .push(serde_json::from_value(saved.clone()).expect("a saved set"));
    }
    s.save(&file).expect("saved");
}
