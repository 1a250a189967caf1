//! HDBSCAN on 100,000 clustered rows in 2-D and 5-D (Gaussian blobs of varied spread plus 10%
//! uniform noise), min_cluster_size 5 and 15, everything else at scikit-learn's defaults. The
//! scikit-learn ratios on the same kind of data come from benches/peers/hdbscan_peer.py.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use embedscope::analysis::cluster::{HdbscanParams, hdbscan};

/// `rows` points in `dim` dimensions: 90% around 20 centres (spreads 0.3-1.5 in a 40-wide
/// box), 10% uniform over the box. xorshift + Box-Muller, seeded.
fn blobs(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uni = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let centres: Vec<f64> = (0..20 * dim).map(|_| uni() * 40.0 - 20.0).collect();
    let spread: Vec<f64> = (0..20).map(|_| 0.3 + 1.2 * uni()).collect();
    let mut v = Vec::with_capacity(rows * dim);
    for i in 0..rows {
        if i % 10 == 9 {
            for _ in 0..dim {
                v.push((uni() * 40.0 - 20.0) as f32);
            }
        } else {
            let c = (uni() * 20.0) as usize % 20;
            for k in 0..dim {
                let g = (-2.0 * uni().ln()).sqrt() * (std::f64::consts::TAU * uni()).cos();
                v.push((centres[c * dim + k] + spread[c] * g) as f32);
            }
        }
    }
    v
}

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("hdbscan");
    g.sample_size(10);
    for dim in [2, 5] {
        let n = 100_000;
        let x = blobs(n, dim, 7);
        g.throughput(Throughput::Elements(n as u64));
        for mcs in [5, 15] {
            let p = HdbscanParams {
                min_cluster_size: mcs,
                ..HdbscanParams::default()
            };
            g.bench_function(format!("100k x {dim} min_cluster_size {mcs}"), |b| {
                b.iter(|| hdbscan(black_box(&x), dim, &p, None).expect("hdbscan"))
            });
        }
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
