//! The metadata cross-filter (`app::filter`) on 1M synthetic rows with three columns: a
//! numeric one (skewed values with 2% blanks), a date one (ISO dates over five years, some
//! with times) and a categorical one (30 values, skewed). Building the model (detection,
//! charts and row codes of the three columns), and one filter change (a range on the numbers
//! plus a set of categories in place, then the range moved: the pass that runs on every brush
//! step), against the target of 50 ms.
//!
//! `filter_1m_app` (with the `gui` feature): the same rows opened in the app (a 1M x 2 set with
//! its map), the filter built by the app, then one brush step as the user sees it: the range
//! command applied to the app and the map's point list rebuilt with the rows left out faded
//! (`ui::map::build_base`, what the renderer uploads next frame); then the document table's
//! sort of all 1M rows by the numeric and by the categorical column.

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

#[cfg(feature = "gui")]
fn bench_app_update(c: &mut Criterion) {
    use std::time::{Duration, Instant};

    use embedscope::app::table::TableCommand;
    use embedscope::app::{App, Command, Settings};
    use embedscope::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};

    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("filter-1m.npy");
    {
        let mut meta = Metadata::new();
        for col in columns() {
            meta.push(col, ROWS).expect("column");
        }
        let data: Vec<f32> = (0..ROWS * 2)
            .map(|k| ((k.wrapping_mul(2_654_435_761) % 100_003) as f32) / 100_003.0)
            .collect();
        let set = EmbeddingSet::new(
            Vocab::from_unique((0..ROWS).map(|i| format!("w{i}"))).expect("vocab"),
            Matrix::from_vec(ROWS, 2, data).expect("matrix"),
            meta,
            Provenance::default(),
        )
        .expect("set");
        embedscope::formats::save(&set, &path, None).expect("save");
    }
    let settle = |app: &mut App| {
        let t = Instant::now();
        loop {
            app.poll();
            if !app.busy() {
                break;
            }
            assert!(t.elapsed() < Duration::from_secs(600), "jobs still running");
            std::thread::sleep(Duration::from_millis(5));
        }
    };
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(path));
    settle(&mut app);
    let t = Instant::now();
    app.apply(Command::Table(TableCommand::BuildFilter));
    settle(&mut app);
    eprintln!(
        "filter_1m_app: the app's filter (3 charts) built on the worker in {:.2} s",
        t.elapsed().as_secs_f64()
    );
    app.apply(Command::Table(TableCommand::SetCategoryFilter {
        column: 2,
        values: (0..10).map(|i| format!("category-{i:02}")).collect(),
        other: false,
        missing: false,
    }));
    let mut g = c.benchmark_group("filter_1m_app");
    g.sample_size(30);
    let mut step = 0u32;
    g.bench_function("range_command_and_map_points", |b| {
        b.iter(|| {
            step = (step + 1) % 20;
            let lo = 10.0 * f64::from(step);
            app.apply(Command::Table(TableCommand::SetRangeFilter {
                column: 0,
                lo,
                hi: lo + 400.0,
            }));
            let d = &app.datasets[0];
            let m = d.map.as_ref().expect("map");
            black_box(embedscope::ui::map::build_base(d, m).len())
        })
    });
    // The document table sorted by a column (every row listed: no filter).
    app.apply(Command::Table(TableCommand::ClearFilters));
    let d = &app.datasets[0];
    let all: Vec<u32> = (0..ROWS as u32).collect();
    g.sample_size(10);
    for (name, column) in [
        ("sort_table_by_numbers", 0),
        ("sort_table_by_categories", 2),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let mut rows = all.clone();
                embedscope::app::table::sort_rows(
                    d,
                    &mut rows,
                    embedscope::app::table::SortColumn::Meta(column),
                    true,
                );
                black_box(rows[0])
            })
        });
    }
    g.finish();
}

#[cfg(not(feature = "gui"))]
fn bench_app_update(_: &mut Criterion) {}

criterion_group!(benches, bench_filter, bench_app_update);
criterion_main!(benches);
