//! The native cache's size limit, least-recently-used eviction, stale entries, the `cache`
//! command, and loads that never fail because of the cache (full, unwritable, over the limit).

mod common;

use std::path::Path;
use std::time::{Duration, SystemTime};

use embedscope::formats::{self, CacheStatus, EntryKind, EntryState, LoadOptions, cache_admin};
use serde_json::Value;

/// A GloVe text file of `rows` x 8 (values depend on `salt`).
fn write_set(p: &Path, rows: usize, salt: f32) {
    let mut text = String::new();
    for r in 0..rows {
        text.push_str(&format!("w{r}"));
        for c in 0..8 {
            let x = ((r * 8 + c) as f32 * 0.37 + salt).sin();
            text.push_str(&format!(" {x:.6}"));
        }
        text.push('\n');
    }
    std::fs::write(p, text).expect("write");
}

fn opts(cache: &Path, limit: Option<u64>) -> LoadOptions {
    LoadOptions {
        cache_dir: Some(cache.to_path_buf()),
        cache_limit: limit,
        ..Default::default()
    }
}

fn esv_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n.ends_with(".esv"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn set_mtime(p: &Path, ago: Duration) {
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(p)
        .expect("open");
    f.set_modified(SystemTime::now() - ago).expect("set time");
}

#[test]
fn a_limit_smaller_than_one_entry_loads_without_storing() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("v.txt");
    write_set(&src, 300, 0.0);
    let cache = d.path().join("cache");
    let (set, status) = formats::load_with_status(&src, &opts(&cache, Some(100))).unwrap();
    assert_eq!(set.rows(), 300);
    match status {
        CacheStatus::Failed(m) => assert!(m.contains("over the cache's limit"), "{m}"),
        s => panic!("expected a refusal to store, got {s:?}"),
    }
    assert!(esv_files(&cache).is_empty());
}

#[test]
fn an_unwritable_cache_never_fails_the_load() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("v.txt");
    write_set(&src, 50, 0.0);
    // Root ignores permissions, so the unwritable folder is one under a regular file.
    let blocker = d.path().join("not-a-folder");
    std::fs::write(&blocker, b"x").unwrap();
    for cache in [blocker.join("cache"), blocker.clone()] {
        let (set, status) = formats::load_with_status(&src, &opts(&cache, None)).unwrap();
        assert_eq!(set.rows(), 50);
        assert!(matches!(status, CacheStatus::Failed(_)), "{status:?}");
    }
    // The CLI says so on stderr and succeeds.
    let (code, out, err) = common::run_embedscope(
        &[
            "info",
            src.to_str().unwrap(),
            "--cache-dir",
            blocker.join("cache").to_str().unwrap(),
            "--json",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["rows"], 50);
    assert_eq!(v["cache"]["status"], "failed");
    assert!(err.contains("could not write the cache"), "{err}");
}

#[test]
fn least_recently_used_entries_go_first() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let (a, b, c) = (
        d.path().join("a.txt"),
        d.path().join("b.txt"),
        d.path().join("c.txt"),
    );
    for (p, s) in [(&a, 1.0), (&b, 2.0), (&c, 3.0)] {
        write_set(p, 400, s);
    }
    let o = opts(&cache, None);
    formats::load_with_status(&a, &o).unwrap();
    formats::load_with_status(&b, &o).unwrap();
    let entries = cache_admin::entries(&cache);
    assert_eq!(entries.len(), 2);
    let one = entries[0].bytes;
    // a was stored first, b later; then a is used again (a hit marks it).
    let ea = entries
        .iter()
        .find(|e| e.source.as_deref().is_some_and(|s| s.ends_with("a.txt")));
    let eb = entries
        .iter()
        .find(|e| e.source.as_deref().is_some_and(|s| s.ends_with("b.txt")));
    set_mtime(&ea.unwrap().file, Duration::from_secs(3600));
    set_mtime(&eb.unwrap().file, Duration::from_secs(1800));
    let (_, hit) = formats::load_with_status(&a, &o).unwrap();
    assert!(matches!(hit, CacheStatus::Hit(_)), "{hit:?}");
    // Room for two entries: storing c evicts b, the least recently used.
    let room = opts(&cache, Some(one * 2 + one / 2));
    let (_, sc) = formats::load_with_status(&c, &room).unwrap();
    assert!(matches!(sc, CacheStatus::Stored(_)), "{sc:?}");
    let left: Vec<String> = cache_admin::entries(&cache)
        .into_iter()
        .filter_map(|e| e.source)
        .collect();
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(left.iter().any(|s| s.ends_with("a.txt")), "{left:?}");
    assert!(left.iter().any(|s| s.ends_with("c.txt")), "{left:?}");
}

#[test]
fn stale_entries_are_swept() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let (a, b) = (d.path().join("a.txt"), d.path().join("b.txt"));
    write_set(&a, 100, 1.0);
    write_set(&b, 100, 2.0);
    let o = opts(&cache, None);
    formats::load_with_status(&a, &o).unwrap();
    formats::load_with_status(&b, &o).unwrap();
    // Another limit keeps a second copy of a (other load options).
    let limited = LoadOptions {
        limit: Some(10),
        ..opts(&cache, None)
    };
    formats::load_with_status(&a, &limited).unwrap();
    assert_eq!(esv_files(&cache).len(), 3);
    // a changes, b goes.
    write_set(&a, 120, 5.0);
    std::fs::remove_file(&b).unwrap();
    let states: Vec<EntryState> = cache_admin::entries(&cache)
        .iter()
        .map(|e| e.state)
        .collect();
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == EntryState::SourceChanged)
            .count(),
        2,
        "{states:?}"
    );
    assert_eq!(
        states
            .iter()
            .filter(|s| **s == EntryState::SourceMissing)
            .count(),
        1,
        "{states:?}"
    );
    // The next store sweeps them: only a's new entry is left.
    let (_, s) = formats::load_with_status(&a, &o).unwrap();
    assert!(matches!(s, CacheStatus::Stored(_)), "{s:?}");
    let left = cache_admin::entries(&cache);
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].state, EntryState::Current);
    assert_eq!(left[0].kind, EntryKind::Vectors);
}

#[test]
fn the_cache_command_lists_and_clears() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let cache_s = cache.to_str().unwrap();
    let (a, b) = (d.path().join("a.txt"), d.path().join("b.txt"));
    write_set(&a, 200, 1.0);
    write_set(&b, 200, 2.0);
    let o = opts(&cache, None);
    formats::load_with_status(&a, &o).unwrap();
    formats::load_with_status(&b, &o).unwrap();
    // An index beside them, with the source it was built from.
    let (code, _, err) = common::run_embedscope(
        &[
            "neighbors",
            a.to_str().unwrap(),
            "w1",
            "--index",
            "ann",
            "--cache-dir",
            cache_s,
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = common::run_embedscope(
        &[
            "cache",
            "list",
            "--cache-dir",
            cache_s,
            "--cache-limit",
            "1G",
            "--json",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let es = v["entries"].as_array().unwrap();
    assert_eq!(es.len(), 3, "{v}");
    assert_eq!(v["limit_bytes"], 1u64 << 30);
    let sum: u64 = es.iter().map(|e| e["bytes"].as_u64().unwrap()).sum();
    assert_eq!(v["total_bytes"].as_u64(), Some(sum));
    let index = es
        .iter()
        .find(|e| e["kind"] == "index")
        .expect("an index entry");
    assert!(
        index["source"].as_str().unwrap().ends_with("a.txt"),
        "{index}"
    );
    assert!(es.iter().all(|e| e["state"] == "current"), "{v}");
    // Human listing: sizes, sources, the total and the limit.
    let (code, out, _) = common::run_embedscope(&["cache", "list", "--cache-dir", cache_s], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("a.txt") && out.contains("3 entries") && out.contains("limit"),
        "{out}"
    );
    // --older-than keeps what was used recently; b's entry is made old.
    let eb = cache_admin::entries(&cache)
        .into_iter()
        .find(|e| e.source.as_deref().is_some_and(|s| s.ends_with("b.txt")))
        .unwrap();
    set_mtime(&eb.file, Duration::from_secs(3 * 86_400));
    let (code, out, _) = common::run_embedscope(
        &[
            "cache",
            "clear",
            "--older-than",
            "2d",
            "--cache-dir",
            cache_s,
            "--json",
        ],
        None,
    );
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["removed"].as_array().unwrap().len(), 1, "{v}");
    assert_eq!(cache_admin::entries(&cache).len(), 2);
    // A bad duration is a usage error.
    let (code, _, _) = common::run_embedscope(
        &[
            "cache",
            "clear",
            "--older-than",
            "soon",
            "--cache-dir",
            cache_s,
        ],
        None,
    );
    assert_eq!(code, 2);
    // clear removes the rest.
    let (code, _, _) = common::run_embedscope(&["cache", "clear", "--cache-dir", cache_s], None);
    assert_eq!(code, 0);
    assert!(cache_admin::entries(&cache).is_empty());
}
