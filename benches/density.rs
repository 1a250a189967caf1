//! The map's density layer (`analysis::density`) on 1M random 2-D points (twelve Gaussian
//! blobs of different sizes, as a map's clusters, plus 10% uniform background), on the default
//! 256 x 256 lattice with Scott's bandwidth: the whole layer (statistics, linear binning,
//! separable blur, the four highest-density levels and their marching-squares contours), the
//! same with a filter keeping half the points, and its parts. Target: well under 50 ms for the
//! whole layer, so it follows filter changes.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::analysis::density::{DEFAULT_FRACTIONS, DensityParams, contours, estimate};

const POINTS: usize = 1_000_000;

fn points() -> Vec<[f32; 2]> {
    let mut s = 0x9E37_79B9_7F4A_7C15u64;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..POINTS)
        .map(|k| {
            if k % 10 == 9 {
                return [
                    (uniform() * 40.0 - 20.0) as f32,
                    (uniform() * 40.0 - 20.0) as f32,
                ];
            }
            let b = (k % 12) as f64;
            let (cx, cy) = (12.0 * (b * 0.9).cos(), 12.0 * (b * 1.7).sin());
            let s = 0.3 + 0.15 * b;
            let (u, v) = (uniform(), uniform());
            let r = (-2.0 * u.ln()).sqrt() * s;
            let t = 2.0 * std::f64::consts::PI * v;
            [(cx + r * t.cos()) as f32, (cy + r * t.sin()) as f32]
        })
        .collect()
}

fn bench_density(c: &mut Criterion) {
    let pts = points();
    let half: Vec<bool> = (0..POINTS).map(|k| k % 2 == 0).collect();
    let params = DensityParams::default().check().expect("params");
    let mut g = c.benchmark_group("density_1m");
    g.sample_size(30);
    g.bench_function("layer_256_4_levels", |b| {
        b.iter(|| {
            let grid = estimate(&pts, None, &params).expect("density");
            black_box(contours(&grid, &DEFAULT_FRACTIONS).expect("contours"))
        })
    });
    g.bench_function("layer_256_4_levels_half_kept", |b| {
        b.iter(|| {
            let grid = estimate(&pts, Some(&half), &params).expect("density");
            black_box(contours(&grid, &DEFAULT_FRACTIONS).expect("contours"))
        })
    });
    g.bench_function("estimate_256", |b| {
        b.iter(|| black_box(estimate(&pts, None, &params).expect("density")))
    });
    let grid = estimate(&pts, None, &params).expect("density");
    let levels = contours(&grid, &DEFAULT_FRACTIONS).expect("contours");
    eprintln!(
        "h {:?} ({:.1} lattice steps); vertices per level: {:?}",
        grid.bandwidth,
        grid.resolution(),
        levels
            .iter()
            .map(|l| l.lines.iter().map(|p| p.points.len()).sum::<usize>())
            .collect::<Vec<_>>()
    );
    g.bench_function("contours_4_levels", |b| {
        b.iter(|| black_box(contours(&grid, &DEFAULT_FRACTIONS).expect("contours")))
    });
    g.finish();
}

criterion_group!(benches, bench_density);
criterion_main!(benches);
