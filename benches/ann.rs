//! The approximate-neighbour index at small sizes: building over 20k x 50 clustered rows, and
//! 1,000 top-10 queries at ef 64 and 128. The faiss IndexHNSWFlat ratios at 400k and 1M rows
//! come from benches/peers/compare_ann.py.

use std::hint::black_box;
use std::ops::ControlFlow;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use embedscope::analysis::ann::{AnnData, AnnIndex, AnnParams, build};
use embedscope::analysis::{Metric, Query};

fn clustered(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut x = seed | 1;
    let mut uni = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let centres: Vec<f32> = (0..50 * dim).map(|_| (uni() * 8.0 - 4.0) as f32).collect();
    let mut v = Vec::with_capacity(rows * dim);
    for _ in 0..rows {
        let c = (uni() * 50.0) as usize % 50;
        for k in 0..dim {
            v.push(centres[c * dim + k] + (uni() * 2.0 - 1.0) as f32);
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let (n, d) = (20_000, 50);
    let x = clustered(n, d, 7);
    let data = AnnData::new(&x, d, Metric::Euclidean).expect("data");
    let params = AnnParams::default().check().expect("params");
    let mut g = c.benchmark_group("ann");
    g.sample_size(10);
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function("build 20k x 50", |b| {
        b.iter(|| {
            build(
                black_box(&data),
                &params,
                &mut |_| ControlFlow::Continue(()),
            )
        })
    });
    let graph = build(&data, &params, &mut |_| ControlFlow::Continue(())).expect("build");
    let qs: Vec<Query> = clustered(1000, d, 11)
        .chunks(d)
        .map(|r| Query {
            vector: r.to_vec(),
            exclude: Vec::new(),
        })
        .collect();
    g.throughput(Throughput::Elements(qs.len() as u64));
    for ef in [64, 128] {
        let idx = AnnIndex::new(&graph, &data).expect("index").with_ef(ef);
        g.bench_function(format!("1000 queries top-10 ef {ef}"), |b| {
            b.iter(|| idx.search(black_box(&qs), 10, Metric::Euclidean, None))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
