//! The metadata cross-filter (`app::filter`) on 1M synthetic rows with three columns: a
//! numeric one (skewed values with 2% blanks), a date one (ISO dates over five years, some
//! with times) and a categorical one (30 values, skewed). Building the model (detection,
//! charts and row codes of the three columns), and one filter change (a range on the numbers
//! plus a set of categories in place, then the range moved: the pass that runs on every brush
//! step), against the target of 50 ms.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::app::filter::{CrossFilter, Filter};
use embedscope::core::MetaColumn;

const ROWS: usize = 1_000_000;

fn columns() -> Vec<MetaColumn> {
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let mut numbers = Vec::with_capacity(ROWS);
    let mut dates = Vec::with_capacity(ROWS);
    let mut cats = Vec::with_capacity(ROWS);
    for _ in 0..ROWS {
        let u = (next() % 1_000_000) as f64 / 1_000_000.0;
        numbers.push(if next() % 50 == 0 {
            String::new()
        } else {
            format!("{:.3}", 1000.0 * u * u)
        });
        let day = next() % 1826;
        let (y, d) = (2020 + day / 365, day % 365);
        let (m, dd) = (1 + d / 31 % 12, 1 + d % 28);
        dates.push(if next() % 4 == 0 {
            format!(
                "{y}-{m:02}-{dd:02}T{:02}:{:02}:00Z",
                next() % 24,
                next() % 60
            )
        } else {
            format!("{y}-{m:02}-{dd:02}")
        });
        let c = (next() % 30).min(next() % 30);
        cats.push(format!("category-{c:02}"));
    }
    vec![
        MetaColumn {
            name: "score".into(),
            values: numbers,
        },
        MetaColumn {
            name: "published".into(),
            values: dates,
        },
        MetaColumn {
            name: "source".into(),
            values: cats,
        },
    ]
}

fn bench_filter(c: &mut Criterion) {
    let cols = columns();
    let mut g = c.benchmark_group("filter_1m");
    g.sample_size(10);
    g.bench_function("build_3_columns", |b| {
        b.iter(|| black_box(CrossFilter::from_columns(&cols, ROWS).expect("model")))
    });
    let mut cf = CrossFilter::from_columns(&cols, ROWS).expect("model");
    cf.set_filter(
        2,
        Filter::Categories {
            values: (0..10).map(|i| format!("category-{i:02}")).collect(),
            other: false,
            missing: false,
        },
    )
    .expect("categories");
    g.sample_size(50);
    let mut step = 0u32;
    g.bench_function("range_plus_categories_update", |b| {
        b.iter(|| {
            step = (step + 1) % 20;
            let lo = 10.0 * f64::from(step);
            cf.set_range(0, lo, lo + 400.0).expect("range");
            black_box(cf.view().kept)
        })
    });
    g.bench_function("clear_all_then_category", |b| {
        b.iter(|| {
            cf.clear_all();
            cf.set_filter(
                2,
                Filter::Categories {
                    values: vec!["category-03".into()],
                    other: false,
                    missing: false,
                },
            )
            .expect("categories");
            black_box(cf.view().kept)
        })
    });
    g.finish();
}

criterion_group!(benches, bench_filter);
criterion_main!(benches);
