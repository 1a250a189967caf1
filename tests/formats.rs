//! Readers against files written by numpy / pyarrow / safetensors (tests/fixtures/formats,
//! made by tests/fixtures/gen/make_format_fixtures.py), writer/reader round trips for every
//! format, the row limit, and the native cache.

use std::path::{Path, PathBuf};

use embedscope::core::{EmbeddingSet, Matrix, MetaColumn, Metadata, Provenance, Vocab};
use embedscope::formats::{self, CacheStatus, Format, LoadOptions};
use proptest::prelude::*;
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/formats")
}

#[test]
fn producer_files_read_back_exactly() {
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(fixtures().join("expected.json")).unwrap())
            .unwrap();
    let tokens: Vec<String> = expected["tokens"]
        .as_array()
        .map(|a| a.iter().map(|t| t.as_str().unwrap().to_string()).collect())
        .unwrap_or_else(|| {
            std::fs::read_to_string(fixtures().join("glove20.vocab.txt"))
                .unwrap()
                .lines()
                .map(str::to_string)
                .collect()
        });
    let mut checked = 0;
    for (name, e) in expected["files"].as_object().unwrap() {
        if !e["ok"].as_bool().unwrap_or(false) || name.ends_with(".txt") {
            continue;
        }
        let path = fixtures().join(name);
        let opts = LoadOptions {
            vocab: Some(fixtures().join("glove20.vocab.txt")),
            tensor: e["tensor"]
                .as_str()
                .filter(|_| name.starts_with("two_tensors"))
                .map(str::to_string),
            ..Default::default()
        };
        let set = formats::load(&path, &opts).unwrap_or_else(|err| panic!("{name}: {err}"));
        assert_eq!(set.rows() as u64, e["rows"].as_u64().unwrap(), "{name}");
        assert_eq!(set.dim() as u64, e["dim"].as_u64().unwrap(), "{name}");
        for (row, key) in [(0usize, "row0_first3"), (19, "row19_first3")] {
            let want: Vec<f32> = e[key]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_f64().unwrap() as f32)
                .collect();
            assert_eq!(&set.matrix.row(row)[..3], want.as_slice(), "{name} {key}");
        }
        assert_eq!(
            set.vocab.iter().collect::<Vec<_>>(),
            tokens,
            "{name} tokens"
        );
        if let Some(sha) = e["sha256"].as_str() {
            assert_eq!(set.provenance.sha256.as_deref(), Some(sha), "{name} sha256");
        }
        checked += 1;
    }
    assert!(checked >= 14, "only {checked} fixture files checked");
}

#[test]
fn npy_little_endian_f32_is_memory_mapped() {
    let opts = LoadOptions {
        vocab: Some(fixtures().join("glove20.vocab.txt")),
        ..Default::default()
    };
    assert!(
        formats::load(&fixtures().join("glove20.f32.npy"), &opts)
            .unwrap()
            .matrix
            .is_mapped()
    );
    assert!(
        formats::load(&fixtures().join("glove20.safetensors"), &opts)
            .unwrap()
            .matrix
            .is_mapped()
    );
    // Without a vocabulary file, rows are named by number and a warning says so.
    let set = formats::load(&fixtures().join("glove20.f64.npy"), &LoadOptions::default()).unwrap();
    assert_eq!(set.vocab.token(3), "3");
    assert!(
        set.notes
            .warnings
            .iter()
            .any(|w| w.contains("no vocabulary file"))
    );
    // One 2-D tensor among others is chosen by itself.
    let set = formats::load(&fixtures().join("two_tensors.safetensors"), &opts).unwrap();
    assert_eq!(
        set.provenance.params.get("tensor").map(String::as_str),
        Some("a")
    );
    // Several 2-D tensors: the user must choose.
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("two2d.safetensors");
    let a: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
    let views = [
        (
            "x",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![3, 2], &a).unwrap(),
        ),
        (
            "y",
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, vec![2, 3], &a).unwrap(),
        ),
    ];
    safetensors::serialize_to_file(views, None, &p).unwrap();
    let no_vocab = LoadOptions::default();
    let e = formats::load(&p, &no_vocab).unwrap_err();
    assert!(e.to_string().contains("choose one with --tensor"), "{e}");
    let pick = LoadOptions {
        tensor: Some("y".into()),
        ..Default::default()
    };
    let set = formats::load(&p, &pick).unwrap();
    assert_eq!((set.rows(), set.dim()), (2, 3));
    assert_eq!(set.matrix.row(1), &[3.0, 4.0, 5.0]);
}

/// A set with awkward values and tokens, and metadata.
fn tricky_set(rows: usize, dim: usize, seed: u64) -> EmbeddingSet {
    let mut x = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut next = || {
        x = x
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((x >> 33) as f64 / (1u64 << 31) as f64 * 2.0 - 1.0) as f32
    };
    let specials = [
        0.0f32,
        -0.0,
        1e-45,
        f32::MAX,
        f32::MIN_POSITIVE,
        123456.79,
        -1e-30,
        0.1,
    ];
    let mut data = Vec::with_capacity(rows * dim);
    for i in 0..rows * dim {
        data.push(if i % 7 == 3 {
            specials[i % specials.len()]
        } else {
            next() * 10f32.powi((i % 5) as i32 - 2)
        });
    }
    let words = [
        "the", "naïve", "東京", "x-ray", "-lrb-", "don't", "Ω", "a\"b",
    ];
    let vocab =
        Vocab::from_unique((0..rows).map(|i| format!("{}{i}", words[i % words.len()]))).unwrap();
    let mut meta = Metadata::new();
    meta.push(
        MetaColumn {
            name: "pos".into(),
            values: (0..rows)
                .map(|i| ["NOUN", "VERB", "ADJ"][i % 3].to_string())
                .collect(),
        },
        rows,
    )
    .unwrap();
    EmbeddingSet::new(
        vocab,
        Matrix::from_vec(rows, dim, data).unwrap(),
        meta,
        Provenance::default(),
    )
    .unwrap()
}

fn assert_same(a: &EmbeddingSet, b: &EmbeddingSet, what: &str) {
    assert_eq!(a.rows(), b.rows(), "{what}: rows");
    assert_eq!(a.dim(), b.dim(), "{what}: dim");
    assert_eq!(
        a.vocab.iter().collect::<Vec<_>>(),
        b.vocab.iter().collect::<Vec<_>>(),
        "{what}: tokens"
    );
    for (i, (x, y)) in a
        .matrix
        .as_slice()
        .iter()
        .zip(b.matrix.as_slice())
        .enumerate()
    {
        assert!(
            x.to_bits() == y.to_bits() || (x.is_nan() && y.is_nan()),
            "{what}: value {i}: {x} vs {y}"
        );
    }
}

const WRITABLE: [(&str, Format, bool); 9] = [
    // (file name, format, keeps metadata)
    ("v.txt", Format::Word2VecText, false),
    ("v.vec", Format::Word2VecText, false),
    ("glove.txt", Format::GloveText, false),
    ("v.bin", Format::Word2VecBinary, false),
    ("vectors.tsv", Format::ProjectorTsv, true),
    ("v.npy", Format::Npy, false),
    ("v.safetensors", Format::Safetensors, false),
    ("v.parquet", Format::Parquet, true),
    ("v.esv", Format::Native, true),
];

#[test]
fn every_writer_round_trips_through_its_reader() {
    let set = tricky_set(300, 17, 7);
    let d = tempfile::tempdir().unwrap();
    for (name, format, meta) in WRITABLE {
        let p = d.path().join(name);
        let written = formats::save(&set, &p, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert!(written.iter().all(|f| f.exists()), "{name}: {written:?}");
        let back =
            formats::load(&p, &LoadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(
            formats::detect(&p).unwrap(),
            format,
            "{name}: detected format"
        );
        assert_same(&set, &back, name);
        if meta {
            assert_eq!(
                back.metadata.column("pos"),
                set.metadata.column("pos"),
                "{name}: metadata"
            );
        }
        // The row limit keeps the first rows.
        let lim = formats::load(
            &p,
            &LoadOptions {
                limit: Some(7),
                ..Default::default()
            },
        )
        .unwrap();
        assert_same(&set.truncate(7), &lim, &format!("{name} --limit 7"));
        // No temporary files are left behind.
        let leftovers: Vec<_> = std::fs::read_dir(d.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".tmp"))
            .collect();
        assert!(leftovers.is_empty(), "{name}: {leftovers:?}");
    }
}

#[test]
fn non_finite_values_survive_text_and_binary() {
    let vocab = Vocab::from_unique(["a", "b"]).unwrap();
    let m = Matrix::from_vec(
        2,
        3,
        vec![f32::NAN, f32::INFINITY, f32::NEG_INFINITY, 1.0, 2.0, 3.0],
    )
    .unwrap();
    let set = EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).unwrap();
    let d = tempfile::tempdir().unwrap();
    for name in ["n.txt", "n.bin", "n.npy", "n.esv"] {
        let p = d.path().join(name);
        formats::save(&set, &p, None).unwrap();
        let back = formats::load(&p, &LoadOptions::default()).unwrap();
        assert_same(&set, &back, name);
    }
}

#[test]
fn text_writers_refuse_tokens_they_cannot_hold() {
    let vocab = Vocab::from_unique(["new york", "b"]).unwrap();
    let m = Matrix::from_vec(2, 1, vec![1.0, 2.0]).unwrap();
    let set = EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).unwrap();
    let d = tempfile::tempdir().unwrap();
    for name in ["s.txt", "s.bin"] {
        let e = formats::save(&set, &d.path().join(name), None).unwrap_err();
        assert_eq!(e.kind_name(), "unrepresentable", "{e}");
        assert!(!d.path().join(name).exists());
    }
    // Formats with real string columns keep it.
    for name in ["s.parquet", "s.esv", "s.npy"] {
        let p = d.path().join(name);
        formats::save(&set, &p, None).unwrap();
        assert_eq!(
            formats::load(&p, &LoadOptions::default())
                .unwrap()
                .vocab
                .get("new york"),
            Some(0)
        );
    }
}

#[test]
fn native_cache_reopens_mapped_and_notices_changes() {
    let d = tempfile::tempdir().unwrap();
    let cache = d.path().join("cache");
    let p = d.path().join("v.txt");
    let set = tricky_set(200, 8, 3);
    formats::save(&set, &p, Some(Format::GloveText)).unwrap();
    let opts = LoadOptions {
        cache_dir: Some(cache.clone()),
        ..Default::default()
    };
    let (first, s1) = formats::load_with_status(&p, &opts).unwrap();
    assert!(matches!(s1, CacheStatus::Stored(_)), "{s1:?}");
    let (second, s2) = formats::load_with_status(&p, &opts).unwrap();
    assert!(matches!(s2, CacheStatus::Hit(_)), "{s2:?}");
    assert!(second.matrix.is_mapped());
    assert_same(&first, &second, "cache");
    assert_eq!(first.provenance.sha256, second.provenance.sha256);
    assert_eq!(second.provenance.format, "glove");
    assert_eq!(second.provenance.source, p.display().to_string());
    // The same file named another way reopens the entry, under the name given now.
    let other_name = d.path().join(".").join("v.txt");
    let (again, s2b) = formats::load_with_status(&other_name, &opts).unwrap();
    assert!(matches!(s2b, CacheStatus::Hit(_)), "{s2b:?}");
    assert_eq!(again.provenance.source, other_name.display().to_string());
    // Other load options are another cache entry.
    let (_, s3) = formats::load_with_status(
        &p,
        &LoadOptions {
            limit: Some(5),
            ..opts.clone()
        },
    )
    .unwrap();
    assert!(matches!(s3, CacheStatus::Stored(_)), "{s3:?}");
    // A changed source is parsed again.
    let other = tricky_set(150, 8, 4);
    std::thread::sleep(std::time::Duration::from_millis(20));
    formats::save(&other, &p, Some(Format::GloveText)).unwrap();
    let (third, s4) = formats::load_with_status(&p, &opts).unwrap();
    assert!(matches!(s4, CacheStatus::Stored(_)), "{s4:?}");
    assert_same(&other, &third, "after change");
    // A damaged cache file is ignored, not trusted.
    let CacheStatus::Stored(f) = s4 else {
        unreachable!()
    };
    let bytes = std::fs::read(&f).unwrap();
    std::fs::write(&f, &bytes[..bytes.len() / 2]).unwrap();
    let (fourth, s5) = formats::load_with_status(&p, &opts).unwrap();
    assert!(!matches!(s5, CacheStatus::Hit(_)), "{s5:?}");
    assert_same(&other, &fourth, "after damage");
}

#[test]
fn projector_metadata_with_and_without_header() {
    let d = tempfile::tempdir().unwrap();
    std::fs::write(
        d.path().join("vectors.tsv"),
        "0.1\t0.2\n0.3\t0.4\n0.5\t0.6\n",
    )
    .unwrap();
    std::fs::write(d.path().join("metadata.tsv"), "cat\ndog\nfish\n").unwrap();
    let set = formats::load(&d.path().join("vectors.tsv"), &LoadOptions::default()).unwrap();
    assert_eq!(
        set.vocab.iter().collect::<Vec<_>>(),
        vec!["cat", "dog", "fish"]
    );
    std::fs::write(
        d.path().join("metadata.tsv"),
        "word\tkind\ncat\tpet\ndog\tpet\nfish\tfood\n",
    )
    .unwrap();
    let set = formats::load(&d.path().join("vectors.tsv"), &LoadOptions::default()).unwrap();
    assert_eq!(set.vocab.get("fish"), Some(2));
    assert_eq!(
        set.metadata.column("kind").unwrap().values,
        vec!["pet", "pet", "food"]
    );
    let by_kind = LoadOptions {
        token_column: Some("#row".into()),
        ..Default::default()
    };
    let set = formats::load(&d.path().join("vectors.tsv"), &by_kind).unwrap();
    assert_eq!(set.vocab.token(1), "1");
    assert_eq!(set.metadata.column("word").unwrap().values[1], "dog");
    std::fs::write(d.path().join("metadata.tsv"), "cat\ndog\n").unwrap();
    let e = formats::load(&d.path().join("vectors.tsv"), &LoadOptions::default()).unwrap_err();
    assert_eq!(e.kind_name(), "mismatch", "{e}");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]
    #[test]
    fn random_sets_round_trip(rows in 1usize..60, dim in 1usize..12, seed in any::<u64>()) {
        let set = tricky_set(rows, dim, seed);
        let d = tempfile::tempdir().unwrap();
        for name in ["r.txt", "r.bin", "r.esv", "r.npy"] {
            let p = d.path().join(name);
            formats::save(&set, &p, None).unwrap();
            let back = formats::load(&p, &LoadOptions::default()).unwrap();
            assert_same(&set, &back, name);
        }
    }
}
