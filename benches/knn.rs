//! Exact kNN: 1,000 top-10 cosine queries against 400k x 300 (synthetic, normalised rows), and
//! single-query latency. The faiss-cpu IndexFlatIP ratio comes from benches/peers/compare_knn.py.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use embedscope::analysis::{KnnIndex, Metric, Query};
use embedscope::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};

fn normal_rows(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut x = seed | 1;
    let mut uni = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut v = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let row: Vec<f32> = (0..dim)
            .map(|_| {
                ((-2.0 * uni().ln()).sqrt() * (2.0 * std::f64::consts::PI * uni()).cos()) as f32
            })
            .collect();
        let n = row.iter().map(|&a| a * a).sum::<f32>().sqrt();
        v.extend(row.iter().map(|&a| a / n));
    }
    v
}

fn bench_knn(c: &mut Criterion) {
    let (rows, dim, nq) = (400_000, 300, 1000);
    let vocab = Vocab::from_unique((0..rows).map(|i| format!("w{i}"))).expect("unique");
    let set = EmbeddingSet::new(
        vocab,
        Matrix::from_vec(rows, dim, normal_rows(rows, dim, 7)).expect("shape"),
        Metadata::new(),
        Provenance::default(),
    )
    .expect("set");
    let idx = KnnIndex::new(&set);
    let qv = normal_rows(nq, dim, 11);
    let queries: Vec<Query> = qv
        .chunks(dim)
        .map(|q| idx.vector_query(q, Metric::Cosine).expect("query"))
        .collect();
    let mut g = c.benchmark_group("knn_400k_300");
    g.sample_size(10);
    g.throughput(Throughput::Elements(nq as u64));
    g.bench_function("cosine_top10_1000_queries", |b| {
        b.iter(|| {
            black_box(
                idx.search(&queries, 10, Metric::Cosine, None)
                    .expect("search"),
            )
        })
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("cosine_top10_1_query", |b| {
        b.iter(|| {
            black_box(
                idx.search(&queries[..1], 10, Metric::Cosine, None)
                    .expect("search"),
            )
        })
    });
    g.finish();
}

criterion_group!(benches, bench_knn);
criterion_main!(benches);
