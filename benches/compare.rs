//! Model comparison on two 50k-word versions (the bundled GloVe demo, and the same vectors
//! rotated with noise added: a "v2" whose neighbourhoods partly moved): the aligned maps the
//! compare screen shows first, and the full statistics (Jaccard@10, RBO, CKA, Procrustes,
//! drift). The 400k x 300 Jaccard@10 ratio against faiss comes from
//! benches/peers/compare_jaccard.py.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::analysis::compare::{self, CompareOptions};
use embedscope::core::{EmbeddingSet, Matrix};

/// `a` rotated by a fixed orthogonal map (pairs of coordinates turned by 30 degrees) plus
/// Gaussian-like noise of `noise` times the row's scale.
fn version_two(a: &EmbeddingSet, noise: f32) -> EmbeddingSet {
    let (n, d) = (a.rows(), a.dim());
    let (s, c) = (0.5f32, 0.866_025_4f32);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let mut uni = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x >> 40) as f32 / (1u64 << 24) as f32 - 0.5
    };
    let mut data = Vec::with_capacity(n * d);
    for i in 0..n {
        let r = a.matrix.row(i);
        for j in 0..d {
            let v = if j % 2 == 0 && j + 1 < d {
                c * r[j] - s * r[j + 1]
            } else if j % 2 == 1 {
                s * r[j - 1] + c * r[j]
            } else {
                r[j]
            };
            data.push(v + noise * (uni() + uni() + uni()));
        }
    }
    let mut b = a.clone();
    b.matrix = Matrix::from_vec(n, d, data).expect("shape");
    b
}

fn bench_compare(c: &mut Criterion) {
    let a = embedscope::formats::demo_set(None).expect("demo");
    let b = version_two(&a, 0.4);
    let opts = CompareOptions {
        ks: vec![10],
        ..CompareOptions::default()
    };
    let mut g = c.benchmark_group("compare_50k");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("aligned_maps_2x50k", |bch| {
        bch.iter(|| black_box(compare::aligned_layouts(&[&a, &b], false).expect("layouts")))
    });
    g.bench_function("statistics_2x50k_k10", |bch| {
        bch.iter(|| black_box(compare::compare(&a, &b, &opts, None).expect("compare")))
    });
    g.finish();
}

criterion_group!(benches, bench_compare);
criterion_main!(benches);
