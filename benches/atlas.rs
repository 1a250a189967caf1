//! The corpus atlas at a million documents:
//! - search by meaning: one encoded query ranked against 1M x 384 unit rows (MiniLM's width),
//!   exactly, through `semantic::rank` on an index that keeps the rows' norms (as the app's
//!   search job does; encoding the query is not counted);
//! - hover: the point under the cursor found through the map's grid and its tooltip text (the
//!   document's first lines and metadata), on a 1M-document set opened in the app.

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::analysis::knn::KnnIndex;
use embedscope::app::{App, Command, Settings};
use embedscope::core::{EmbeddingSet, Matrix, MetaColumn, Metadata, Provenance, RowScan, Vocab};
use embedscope::engine::semantic;

const ROWS: usize = 1_000_000;

/// xorshift uniforms in (0, 1).
fn uniforms(seed: u64) -> impl FnMut() -> f64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ((x >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    }
}

/// Unit rows around a few hundred centres (documents on a handful of topics), as encoders give.
fn unit_rows(rows: usize, dim: usize, seed: u64) -> Vec<f32> {
    let mut uni = uniforms(seed);
    let mut normal =
        move || ((-2.0 * uni().ln()).sqrt() * (2.0 * std::f64::consts::PI * uni()).cos()) as f32;
    let centres: Vec<f32> = (0..300 * dim).map(|_| normal()).collect();
    let mut v = Vec::with_capacity(rows * dim);
    for r in 0..rows {
        let c = &centres[(r * 7919 % 300) * dim..][..dim];
        let row: Vec<f32> = c.iter().map(|&a| a + 0.8 * normal()).collect();
        let n = row.iter().map(|&a| a * a).sum::<f32>().sqrt();
        v.extend(row.iter().map(|&a| a / n));
    }
    v
}

fn bench_semantic(c: &mut Criterion) {
    let dim = 384;
    let t = Instant::now();
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..ROWS).map(|i| format!("d{i}"))).expect("vocab"),
        Matrix::from_vec(ROWS, dim, unit_rows(ROWS, dim, 3)).expect("matrix"),
        Metadata::new(),
        Provenance::default(),
    )
    .expect("set");
    let scan = RowScan::new(&set.matrix);
    eprintln!(
        "semantic_1m: {ROWS} x {dim} rows made and scanned in {:.1} s",
        t.elapsed().as_secs_f64()
    );
    let index = KnnIndex::with_scan(&set, &scan);
    let queries = unit_rows(16, dim, 99);
    let mut g = c.benchmark_group("semantic_1m_384");
    g.sample_size(20);
    let mut i = 0usize;
    g.bench_function("rank_top20_one_query", |b| {
        b.iter(|| {
            i = (i + 1) % 16;
            let q = &queries[i * dim..][..dim];
            black_box(semantic::rank(&index, q, 20).expect("rank"))
        })
    });
    g.finish();
}

fn bench_hover(c: &mut Criterion) {
    // Documents of 30-80 words with three metadata columns, on a 2-D set (its map is itself).
    let words = [
        "refund", "order", "delivery", "password", "account", "late", "broken", "card", "charged",
        "support", "thanks", "the", "my", "was", "and", "never", "arrived", "please", "help",
        "app", "crash", "login", "screen", "update",
    ];
    let mut uni = uniforms(5);
    let texts: Vec<String> = (0..ROWS)
        .map(|_| {
            let n = 30 + (uni() * 50.0) as usize;
            (0..n)
                .map(|_| words[(uni() * words.len() as f64) as usize % words.len()])
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    let mut meta = Metadata::new();
    meta.push(
        MetaColumn {
            name: "text".into(),
            values: texts,
        },
        ROWS,
    )
    .expect("text");
    for (name, k) in [("product", 40usize), ("channel", 5), ("priority", 4)] {
        meta.push(
            MetaColumn {
                name: name.into(),
                values: (0..ROWS)
                    .map(|i| format!("{name}-{}", i * 31 % k))
                    .collect(),
            },
            ROWS,
        )
        .expect("column");
    }
    let data: Vec<f32> = (0..ROWS * 2).map(|_| uni() as f32).collect();
    let set = EmbeddingSet::new(
        Vocab::from_unique((0..ROWS).map(|i| format!("t{i}"))).expect("vocab"),
        Matrix::from_vec(ROWS, 2, data).expect("matrix"),
        meta,
        Provenance::default(),
    )
    .expect("set");
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("tickets-1m.npy");
    embedscope::formats::save(&set, &path, None).expect("save");
    drop(set);
    let mut app = App::new(Settings::default(), None);
    app.apply(Command::OpenPath(path));
    let t = Instant::now();
    loop {
        app.poll();
        if !app.busy() && app.active_dataset().is_some_and(|d| d.map.is_some()) {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(900),
            "the set did not open"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let d = app.active_dataset().expect("set");
    assert_eq!(d.kind, embedscope::core::RowKind::Documents);
    let m = d.map.as_ref().expect("map");
    // The cursor at random places over the map; the radius of 8 pixels when the whole map
    // fits 600 pixels (the first view).
    let (lo, hi) = embedscope::app::grid::bounds(&m.coords).expect("bounds");
    let radius = 8.0 * (hi[0] - lo[0]).max(hi[1] - lo[1]) / 600.0;
    let spots: Vec<[f32; 2]> = (0..1024)
        .map(|_| {
            [
                lo[0] + uni() as f32 * (hi[0] - lo[0]),
                lo[1] + uni() as f32 * (hi[1] - lo[1]),
            ]
        })
        .collect();
    let found = spots
        .iter()
        .filter(|&&p| m.row_at(p, radius).is_some())
        .count();
    eprintln!(
        "hover_1m_documents: a point under {found} of {} cursor spots",
        spots.len()
    );
    let mut g = c.benchmark_group("hover_1m_documents");
    g.sample_size(50);
    let mut i = 0usize;
    g.bench_function("point_under_cursor_and_tooltip_text", |b| {
        b.iter(|| {
            i = (i + 1) % spots.len();
            let row = m.row_at(spots[i], radius);
            black_box(row.map(|r| d.hover_lines(r)))
        })
    });
    g.finish();
}

criterion_group!(benches, bench_semantic, bench_hover);
criterion_main!(benches);
