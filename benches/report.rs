//! Reports on the bundled demo vectors (50,107 x 50) against a second version (the demo with
//! every vector rotated in one plane and a tenth of the words moved): building every section
//! but the benchmarks (compare, maps, three WEAT probes) and rendering the built report as HTML
//! (with its charts), Markdown, JSON and CSV.

use std::hint::black_box;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::analysis::bias;
use embedscope::core::{EmbeddingSet, Matrix};
use embedscope::formats;
use embedscope::report::{self, ReportOptions, Section, Version, render};

/// The demo rotated by 30 degrees in the plane of its first two axes, every tenth word moved
/// onto the next word's vector.
fn second_version(a: &EmbeddingSet) -> EmbeddingSet {
    let (n, d) = (a.rows(), a.dim());
    let src = a.matrix.as_slice();
    let (c, s) = (30f32.to_radians().cos(), 30f32.to_radians().sin());
    let mut out = src.to_vec();
    for i in 0..n {
        let from = if i % 10 == 0 && i + 1 < n { i + 1 } else { i };
        let r = &src[from * d..(from + 1) * d];
        let o = &mut out[i * d..(i + 1) * d];
        o.copy_from_slice(r);
        o[0] = c * r[0] - s * r[1];
        o[1] = s * r[0] + c * r[1];
    }
    let mut b = a.clone();
    b.matrix = Matrix::from_vec(n, d, out).expect("matrix");
    b
}

fn benches(c: &mut Criterion) {
    let a = formats::demo_set(None).expect("demo set");
    let b = second_version(&a);
    let versions = [
        Version {
            name: "demo".into(),
            set: &a,
        },
        Version {
            name: "demo-moved".into(),
            set: &b,
        },
    ];
    let opts = ReportOptions {
        sections: Section::ALL
            .into_iter()
            .filter(|s| *s != Section::Eval)
            .collect(),
        probes: ["weat6", "weat7", "weat8"]
            .iter()
            .map(|n| bias::test_by_name(n).expect("test"))
            .collect(),
        ..ReportOptions::default()
    };
    let mut g = c.benchmark_group("report");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("build_demo_pair_no_eval", |bch| {
        bch.iter(|| {
            black_box(
                report::build(
                    &versions,
                    &[None],
                    &opts,
                    &mut |_, _| {},
                    &AtomicBool::new(false),
                )
                .expect("report"),
            )
        })
    });
    let r = report::build(
        &versions,
        &[None],
        &opts,
        &mut |_, _| {},
        &AtomicBool::new(false),
    )
    .expect("report");
    g.measurement_time(Duration::from_secs(5));
    g.bench_function("render_html", |bch| {
        bch.iter(|| black_box(render::html(&r).expect("html")))
    });
    g.bench_function("render_markdown", |bch| {
        bch.iter(|| black_box(render::markdown(&r, "f").expect("md")))
    });
    g.bench_function("render_json", |bch| {
        bch.iter(|| black_box(render::json(&r).expect("json")))
    });
    g.bench_function("render_csv", |bch| {
        bch.iter(|| black_box(render::csv_tables(&r).expect("csv")))
    });
    g.finish();
}

criterion_group!(report_benches, benches);
criterion_main!(report_benches);
