//! Load benchmarks: GloVe text (100k and 400k rows of the real GloVe 6B 50d, made by
//! benches/peers/prepare_data.py into benches/data/), word2vec binary, and reopening the native
//! cache. Without the data files only the synthetic cases run. Peer ratios (gensim) come from
//! benches/peers/compare_parse.py; see BENCHMARKS.md.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use embedscope::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};
use embedscope::formats::{self, Format, LoadOptions};

fn data_dir() -> PathBuf {
    std::env::var_os("EMBEDSCOPE_BENCH_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("benches/data"))
}

fn synthetic(rows: usize, dim: usize) -> EmbeddingSet {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let data: Vec<f32> = (0..rows * dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect();
    let vocab = Vocab::from_unique((0..rows).map(|i| format!("w{i}"))).expect("unique tokens");
    EmbeddingSet::new(
        vocab,
        Matrix::from_vec(rows, dim, data).expect("shape"),
        Metadata::new(),
        Provenance::default(),
    )
    .expect("set")
}

fn bench_parse(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    g.sample_size(10);
    for name in ["glove.6B.50d.100k.txt", "glove.6B.50d.txt"] {
        let p = data_dir().join(name);
        if !p.exists() {
            eprintln!("skipping {name}: run benches/peers/prepare_data.py first");
            continue;
        }
        g.throughput(Throughput::Bytes(
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0),
        ));
        let opts = LoadOptions {
            format: Some(Format::GloveText),
            ..Default::default()
        };
        g.bench_function(name, |b| {
            b.iter(|| black_box(formats::load(&p, &opts).expect("load")))
        });
    }
    // Synthetic: 50k x 300 word2vec text and binary (always available).
    let dir = tempfile::tempdir().expect("tempdir");
    let set = synthetic(50_000, 300);
    for (name, f) in [
        ("synthetic_50k_300.txt", Format::Word2VecText),
        ("synthetic_50k_300.bin", Format::Word2VecBinary),
    ] {
        let p = dir.path().join(name);
        formats::save(&set, &p, Some(f)).expect("save");
        g.throughput(Throughput::Bytes(
            std::fs::metadata(&p).map(|m| m.len()).unwrap_or(0),
        ));
        let opts = LoadOptions::default();
        g.bench_function(name, |b| {
            b.iter(|| black_box(formats::load(&p, &opts).expect("load")))
        });
    }
    g.finish();
}

fn bench_reopen(c: &mut Criterion) {
    let mut g = c.benchmark_group("reopen");
    g.sample_size(10);
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path().join("synthetic_400k_300.esv");
    formats::save(&synthetic(400_000, 300), &p, Some(Format::Native)).expect("save");
    g.bench_function("native_400k_300", |b| {
        b.iter(|| black_box(formats::load(&p, &LoadOptions::default()).expect("load")))
    });
    g.finish();
}

criterion_group!(benches, bench_parse, bench_reopen);
criterion_main!(benches);
