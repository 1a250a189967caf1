//! Builds the approximate-neighbour index over a raw little-endian f32 file and reports build
//! time, then recall@10 (against an int32 ground-truth file of 10 rows per query) and queries/s
//! for a range of search breadths. Used by `benches/peers/compare_ann.py`.
//!
//! `ann_eval BASE.f32 QUERIES.f32 GT.i32 DIM METRIC M EF_CONSTRUCTION [EF,EF,...]`

use std::time::Instant;

use embedscope::analysis::ann::{AnnData, AnnIndex, AnnParams, build};
use embedscope::analysis::{Metric, Query};

fn read(path: &str) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn main() {
    let a: Vec<String> = std::env::args().collect();
    if a.len() < 8 {
        eprintln!("usage: ann_eval BASE.f32 QUERIES.f32 GT.i32 DIM METRIC M EF_CONSTRUCTION [EFS]");
        std::process::exit(2);
    }
    let f32s = |p: &str| -> Vec<f32> {
        read(p)
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect()
    };
    let base = f32s(&a[1]);
    let qs = f32s(&a[2]);
    let gt: Vec<i32> = read(&a[3])
        .chunks_exact(4)
        .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let dim: usize = a[4].parse().expect("DIM");
    let metric: Metric = a[5].parse().expect("METRIC");
    let params = AnnParams {
        m: a[6].parse().expect("M"),
        ef_construction: a[7].parse().expect("EF_CONSTRUCTION"),
        ..AnnParams::default()
    };
    let efs: Vec<usize> = a
        .get(8)
        .map_or(vec![16, 24, 32, 48, 64, 96, 128, 192, 256], |s| {
            s.split(',').map(|x| x.parse().expect("EF")).collect()
        });
    let data = AnnData::new(&base, dim, metric).expect("data");
    let valid = params.check().expect("params");
    let t = Instant::now();
    let graph = build(&data, &valid, &mut |_| std::ops::ControlFlow::Continue(())).expect("build");
    println!("build_s {:.3}", t.elapsed().as_secs_f64());
    let queries: Vec<Query> = qs
        .chunks(dim)
        .map(|v| Query {
            vector: if metric == Metric::Cosine {
                embedscope::analysis::knn::unit(v).expect("query")
            } else {
                v.to_vec()
            },
            exclude: Vec::new(),
        })
        .collect();
    let nq = queries.len();
    for ef in efs {
        let idx = AnnIndex::new(&graph, &data).expect("index").with_ef(ef);
        let mut best = f64::MAX;
        let mut res = Vec::new();
        for _ in 0..3 {
            let t = Instant::now();
            res = idx.search(&queries, 10, metric, None).expect("search");
            best = best.min(t.elapsed().as_secs_f64());
        }
        let mut hit = 0;
        for (i, r) in res.iter().enumerate() {
            let g = &gt[i * 10..i * 10 + 10];
            hit += r.iter().filter(|nb| g.contains(&(nb.index as i32))).count();
        }
        println!(
            "ef {ef} recall {:.4} qps {:.0}",
            hit as f64 / (nq * 10) as f64,
            nq as f64 / best
        );
    }
}
