//! Folders of Parquet part files (Spark, Ray Data / Dask Hive partitions, `embed --shard`) read
//! as one set: the same rows, order and metadata as reading each part (expected values from
//! pyarrow, tests/fixtures/gen/make_parts_fixture.py), schema and layout errors naming the part,
//! the native cache keyed on every part, and `embed --shard I/N` splitting a corpus so that the
//! shards' part files together are the whole corpus.

use std::path::{Path, PathBuf};
use std::process::Command;

use embedscope::formats::{self, CacheStatus, LoadOptions};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/parts")
        .join(name)
}

fn expected() -> Value {
    let text = std::fs::read_to_string(fixture("expected.json")).expect("expected.json");
    serde_json::from_str(&text).expect("json")
}

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

#[test]
fn part_folders_read_as_their_parts_in_order_with_partition_metadata() {
    let exp = expected();
    for name in ["spark", "hive", "natural"] {
        let set = formats::load(&fixture(name), &LoadOptions::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let parts: Vec<String> = exp[name]["parts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p.as_str().unwrap().to_string())
            .collect();
        let listed: Vec<String> = formats::list_parts(&fixture(name))
            .unwrap()
            .into_iter()
            .map(|p| p.relative)
            .collect();
        assert_eq!(listed, parts, "{name}: part order");
        let rows = exp[name]["rows"].as_array().unwrap();
        assert_eq!(set.rows(), rows.len(), "{name}");
        assert_eq!(set.dim(), 4);
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(
                set.vocab.token(i),
                r["token"].as_str().unwrap(),
                "{name} row {i}"
            );
            let want: Vec<f32> = r["vector"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(set.matrix.row(i), &want[..], "{name} row {i}");
            for (k, v) in r["meta"].as_object().unwrap() {
                let col = set
                    .metadata
                    .column(k)
                    .unwrap_or_else(|| panic!("{name}: no metadata column {k}"));
                assert_eq!(col.values[i], v.as_str().unwrap(), "{name} row {i} {k}");
            }
        }
        assert_eq!(
            set.provenance.params.get("parts").map(String::as_str),
            Some(parts.len().to_string().as_str())
        );
    }
    // The Hive folder's partition column, with the escaped value decoded.
    let hive = formats::load(&fixture("hive"), &LoadOptions::default()).unwrap();
    let lang = &hive.metadata.column("lang").unwrap().values;
    assert!(lang.iter().any(|v| v == "pt/BR"), "{lang:?}");
}

#[test]
fn a_part_with_another_schema_or_layout_is_an_error_naming_it() {
    let e = formats::load(&fixture("mixed"), &LoadOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("part-1.parquet"), "{msg}");
    assert!(
        msg.contains("schema differs") && msg.contains("embedding"),
        "{msg}"
    );
    assert!(msg.contains("float64") || msg.contains("double"), "{msg}");

    let e = formats::load(&fixture("keys"), &LoadOptions::default()).unwrap_err();
    let msg = e.to_string();
    assert!(
        msg.contains("part-1.parquet") && msg.contains("partition"),
        "{msg}"
    );

    let e = formats::load(&fixture("no-parts"), &LoadOptions::default()).unwrap_err();
    assert_eq!(e.kind_name(), "is_directory");
    assert!(e.to_string().contains("no Parquet part files"), "{e}");

    // Through the CLI: exit 1 and a JSON error naming the part, never a panic.
    let cache = tempfile::tempdir().unwrap();
    let (code, out, err) = run(
        &["info", fixture("mixed").to_str().unwrap(), "--json"],
        cache.path(),
    );
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains("part-1.parquet") || err.contains("part-1.parquet"),
        "{out}{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

#[test]
fn the_cache_covers_every_part() {
    let d = tempfile::tempdir().unwrap();
    let folder = d.path().join("data");
    std::fs::create_dir(&folder).unwrap();
    for f in std::fs::read_dir(fixture("natural")).unwrap().flatten() {
        std::fs::copy(f.path(), folder.join(f.file_name())).unwrap();
    }
    let opts = LoadOptions {
        cache_dir: Some(d.path().join("cache")),
        ..LoadOptions::default()
    };
    let (a, s1) = formats::load_with_status(&folder, &opts).unwrap();
    assert!(matches!(s1, CacheStatus::Stored(_)), "{s1:?}");
    let (b, s2) = formats::load_with_status(&folder, &opts).unwrap();
    assert!(matches!(s2, CacheStatus::Hit(_)), "{s2:?}");
    assert_eq!(a.rows(), b.rows());
    assert_eq!(a.matrix.as_slice(), b.matrix.as_slice());
    assert_eq!(a.metadata, b.metadata);
    // A part removed: the cache entry no longer matches; the set shrinks.
    std::fs::remove_file(folder.join("part-10.parquet")).unwrap();
    let (c, s3) = formats::load_with_status(&folder, &opts).unwrap();
    assert!(matches!(s3, CacheStatus::Stored(_)), "{s3:?}");
    assert_eq!(c.rows(), a.rows() - 2);
}

const TINY: &str = "tests/fixtures/encoder/tiny-bert";

#[test]
fn shards_of_a_corpus_open_as_one_folder_equal_to_the_whole() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let corpus = d.path().join("c.jsonl");
    let mut lines = String::new();
    for i in 0..23 {
        let text = if i == 7 {
            String::new()
        } else {
            format!("ticket number {i} about item {}", i % 5)
        };
        lines.push_str(
            &serde_json::json!({"text": text, "team": format!("t{}", i % 3)}).to_string(),
        );
        lines.push('\n');
    }
    std::fs::write(&corpus, lines).unwrap();
    let whole = d.path().join("whole.parquet");
    let (code, _, err) = run(
        &[
            "embed",
            "--model",
            TINY,
            "--input",
            corpus.to_str().unwrap(),
            "--out",
            whole.to_str().unwrap(),
            "--backend",
            "cpu",
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    let parts = d.path().join("parts");
    std::fs::create_dir(&parts).unwrap();
    let mut in_shards = 0;
    for i in 0..4 {
        let out = parts.join(format!("part-{i:05}.parquet"));
        let spec = format!("{i}/4");
        let (code, stdout, err) = run(
            &[
                "embed",
                "--model",
                TINY,
                "--input",
                corpus.to_str().unwrap(),
                "--out",
                out.to_str().unwrap(),
                "--backend",
                "cpu",
                "--shard",
                &spec,
                "--json",
            ],
            &cache,
        );
        assert_eq!(code, 0, "{spec}: {err}");
        let v: Value = serde_json::from_str(&stdout).unwrap();
        assert_eq!(v["shard"], spec.as_str());
        in_shards += v["rows"].as_u64().unwrap();
        assert_eq!(
            v["rows"].as_u64().unwrap() + v["records_in_other_shards"].as_u64().unwrap(),
            23
        );
    }
    assert_eq!(in_shards, 23);
    let whole = formats::load(&whole, &LoadOptions::default()).unwrap();
    let sharded = formats::load(&parts, &LoadOptions::default()).unwrap();
    assert_eq!(sharded.rows(), whole.rows());
    // Part 0 holds records 0, 4, 8, ...: ids are global record numbers.
    assert_eq!(sharded.vocab.token(0), "d0");
    assert_eq!(sharded.vocab.token(1), "d4");
    let team = sharded.metadata.column("team").expect("team column");
    for i in 0..sharded.rows() {
        let id = sharded.vocab.token(i);
        let j = whole
            .vocab
            .get(id)
            .unwrap_or_else(|| panic!("{id} not in the whole"));
        let (a, b) = (sharded.matrix.row(i), whole.matrix.row(j));
        assert!(a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-5), "{id}");
        assert_eq!(
            team.values[i],
            whole.metadata.column("team").unwrap().values[j]
        );
    }
    // The parts' encoding records (written beside each part) become the folder's: the same
    // model and encoding as the whole corpus's run, the records summed.
    let mut enc = sharded.provenance.encoding.clone();
    assert_eq!(
        enc.remove("parts_with_records").as_deref(),
        Some("4"),
        "{enc:?}"
    );
    assert_eq!(enc, whole.provenance.encoding);
    assert_eq!(
        sharded.provenance.sidecar.as_ref().map(|s| s.status),
        Some(embedscope::core::SidecarStatus::Attached)
    );
    // One part re-encoded differently: nothing is attached, a warning says which.
    let rec = parts.join("part-00002.provenance.json");
    let text = std::fs::read_to_string(&rec).unwrap();
    let changed = text.replacen("\"skip_empty\": \"false\"", "\"skip_empty\": \"true\"", 1);
    assert_ne!(text, changed, "the record names skip_empty");
    std::fs::write(&rec, changed).unwrap();
    let again = formats::load(&parts, &LoadOptions::default()).unwrap();
    assert!(again.provenance.encoding.is_empty());
    assert!(
        again
            .notes
            .warnings
            .iter()
            .any(|w| w.contains("part-00002.provenance.json") && w.contains("skip_empty")),
        "{:?}",
        again.notes.warnings
    );
    // A shard past the end of a tiny corpus writes nothing and succeeds.
    let small = d.path().join("small.jsonl");
    std::fs::write(&small, "{\"text\": \"one\"}\n").unwrap();
    let out = d.path().join("empty-shard.parquet");
    let (code, stdout, err) = run(
        &[
            "embed",
            "--model",
            TINY,
            "--input",
            small.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--backend",
            "cpu",
            "--shard",
            "2/3",
        ],
        &cache,
    );
    assert_eq!(code, 0, "{err}");
    assert!(stdout.contains("holds no documents"), "{stdout}");
    assert!(!out.exists());
}

#[test]
fn bad_shard_specs_are_usage_errors() {
    let cache = tempfile::tempdir().unwrap();
    for spec in ["5/4", "0/0", "4/4", "1", "x/2"] {
        let (code, _, err) = run(
            &[
                "embed", "--model", TINY, "--input", "c.txt", "--out", "o.npy", "--shard", spec,
            ],
            cache.path(),
        );
        assert_eq!(code, 2, "{spec}: {err}");
        assert!(
            err.contains("--shard") && !err.contains("panicked"),
            "{spec}: {err}"
        );
    }
    let (code, _, err) = run(
        &[
            "embed", "--model", TINY, "--input", "c.txt", "--out", "o.npy", "--shard", "0/2",
            "--level", "word",
        ],
        cache.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("sentence-level"), "{err}");
}
