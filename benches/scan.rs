//! The privacy scanner (`analysis::privacy`) over a 128 MiB corpus: the public-domain prose of
//! the shared data folder (Austen, Doyle, Shakespeare; `EMBEDSCOPE_DATA`, default
//! /work/shared/data) repeated, one labelled document of `tests/fixtures/privacy/labelled.jsonl`
//! (Faker values and hard negatives in prose) after every 20 lines. Without the shared data the
//! labelled documents alone are repeated. Parallel pieces of 1 MiB (all cores), and one core on
//! a 16 MiB slice.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use embedscope::analysis::privacy::{scan_bytes, scan_parallel};

const SIZE: usize = 128 << 20;

fn corpus() -> Vec<u8> {
    let dir = std::env::var("EMBEDSCOPE_DATA").unwrap_or_else(|_| "/work/shared/data".into());
    let mut prose: Vec<String> = Vec::new();
    for f in [
        "austen_pride_and_prejudice.txt",
        "doyle_adventures_of_sherlock_holmes.txt",
        "tinyshakespeare.txt",
    ] {
        if let Ok(t) = std::fs::read_to_string(format!("{dir}/corpus/{f}")) {
            prose.extend(t.lines().filter(|l| !l.trim().is_empty()).map(String::from));
        }
    }
    let labelled = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/privacy/labelled.jsonl"
    ))
    .expect("labelled.jsonl");
    let docs: Vec<String> = labelled
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["text"].as_str().map(String::from))
        .collect();
    if prose.is_empty() {
        eprintln!("no shared corpus under {dir}: the labelled documents alone");
    }
    let mut out = Vec::with_capacity(SIZE + (1 << 16));
    let (mut p, mut d) = (0, 0);
    while out.len() < SIZE {
        for _ in 0..20 {
            if let Some(l) = prose.get(p % prose.len().max(1)) {
                out.extend_from_slice(l.as_bytes());
                out.push(b'\n');
            }
            p += 1;
        }
        out.extend_from_slice(docs[d % docs.len()].as_bytes());
        out.push(b'\n');
        d += 1;
    }
    out
}

fn bench_scan(c: &mut Criterion) {
    let text = corpus();
    let found = scan_parallel(&text, 1 << 20).len();
    eprintln!(
        "corpus: {} bytes, {} lines, {found} findings",
        text.len(),
        memchr::memchr_iter(b'\n', &text).count()
    );
    let mut g = c.benchmark_group("privacy_scan");
    g.sample_size(10);
    g.throughput(Throughput::Bytes(text.len() as u64));
    g.bench_function("parallel_128MiB", |b| {
        b.iter(|| black_box(scan_parallel(&text, 1 << 20)))
    });
    let slice = &text[..16 << 20];
    g.throughput(Throughput::Bytes(slice.len() as u64));
    g.bench_function("one_core_16MiB", |b| {
        b.iter(|| black_box(scan_bytes(slice)))
    });
    g.finish();
}

criterion_group!(benches, bench_scan);
criterion_main!(benches);
