//! The tiled kNN against a brute-force f64 oracle on random data: several k, every metric,
//! restricted search, exclusions, exact ties (duplicated rows) and 3CosMul.

use embedscope::analysis::analogy::cosmul_batch;
use embedscope::analysis::{Engine, KnnIndex, Metric, Query, int8_engine_available};
use embedscope::core::{EmbeddingSet, Matrix, Metadata, Provenance, Vocab};
use proptest::prelude::*;

fn make_set(rows: usize, dim: usize, values: &[f32]) -> EmbeddingSet {
    let vocab = Vocab::from_unique((0..rows).map(|i| format!("w{i}"))).unwrap();
    let m = Matrix::from_vec(rows, dim, values.to_vec()).unwrap();
    EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).unwrap()
}

/// Brute force: every candidate row scored in f64; best first, ties by lower index.
fn oracle(
    set: &EmbeddingSet,
    q: &[f32],
    k: usize,
    metric: Metric,
    restrict: usize,
    exclude: &[usize],
) -> Vec<(usize, f64)> {
    let qn = q.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
    let mut all: Vec<(usize, f64)> = Vec::new();
    for i in 0..restrict.min(set.rows()) {
        let r = set.matrix.row(i);
        if exclude.contains(&i) || r.iter().any(|x| !x.is_finite()) {
            continue;
        }
        let dot: f64 = r
            .iter()
            .zip(q)
            .map(|(&a, &b)| f64::from(a) * f64::from(b))
            .sum();
        let rn = r.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
        let s = match metric {
            Metric::Cosine => {
                if rn == 0.0 {
                    continue;
                }
                dot / (rn * qn)
            }
            Metric::Dot => dot,
            Metric::Euclidean => -r
                .iter()
                .zip(q)
                .map(|(&a, &b)| (f64::from(a) - f64::from(b)).powi(2))
                .sum::<f64>()
                .sqrt(),
        };
        all.push((i, s));
    }
    all.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    let _ = k;
    if metric == Metric::Euclidean {
        for x in &mut all {
            x.1 = -x.1;
        }
    }
    all
}

/// The oracle's top-k rows, allowing a different row only where the oracle scores it the same
/// (within `tol`) as the row it replaces: a tie. `full` is the oracle's whole ranking.
fn assert_matches(got: &[(usize, f32)], full: &[(usize, f64)], k: usize, tol: f64, ctx: &str) {
    assert_matches_tie(got, full, k, tol, tol, ctx)
}

/// As `assert_matches`, with a separate tolerance for what counts as a tie in the oracle.
fn assert_matches_tie(
    got: &[(usize, f32)],
    full: &[(usize, f64)],
    k: usize,
    tol: f64,
    tie: f64,
    ctx: &str,
) {
    let want = &full[..k.min(full.len())];
    assert_eq!(got.len(), want.len(), "{ctx}: lengths {got:?} vs {want:?}");
    let mut seen = std::collections::HashSet::new();
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(seen.insert(g.0), "{ctx}: row {} twice", g.0);
        let close = |a: f64, b: f64| (a - b).abs() <= tol * (1.0 + b.abs());
        assert!(
            close(f64::from(g.1), w.1),
            "{ctx}: rank {i} score {} vs {}",
            g.1,
            w.1
        );
        if g.0 != w.0 {
            let exact = full.iter().find(|x| x.0 == g.0).map(|x| x.1);
            assert!(
                exact.is_some_and(|s| (s - w.1).abs() <= tie * (1.0 + w.1.abs())),
                "{ctx}: rank {i} row {} (oracle score {exact:?}) instead of {} ({}); got {got:?}",
                g.0,
                w.0,
                w.1
            );
        }
    }
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut x = seed | 1;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40))]
    #[test]
    fn tiled_search_equals_brute_force(
        rows in 1usize..3000,
        dim in 1usize..40,
        k in 1usize..25,
        nq in 1usize..6,
        seed in any::<u64>(),
        dup_every in 0usize..5,
        restrict_frac in 0.1f64..1.5,
    ) {
        let mut v = values(rows * dim, seed);
        // Exact ties: copy row 0 into every `dup_every`-th row.
        if dup_every > 0 {
            for r in (dup_every..rows).step_by(dup_every + 1) {
                let (a, b) = v.split_at_mut(r * dim);
                b[..dim].copy_from_slice(&a[..dim]);
            }
        }
        let set = make_set(rows, dim, &v);
        let idx = KnnIndex::new(&set);
        let restrict = ((rows as f64 * restrict_frac) as usize).max(1);
        for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
            let mut queries = Vec::new();
            let mut raw = Vec::new();
            for j in 0..nq {
                let qv = values(dim, seed ^ (j as u64 + 99));
                let exclude = vec![(j * 7) % rows];
                let mut q = idx.vector_query(&qv, metric);
                if let Ok(q) = q.as_mut() {
                    q.exclude = exclude.clone();
                }
                if let Ok(q) = q {
                    raw.push((qv, exclude));
                    queries.push(q);
                }
            }
            for engine in [Engine::F32, Engine::Int8] {
                let got = idx.search_with(&queries, k, metric, Some(restrict), engine).unwrap();
                for (j, ((qv, ex), res)) in raw.iter().zip(&got).enumerate() {
                    let want = oracle(&set, qv, k, metric, restrict, ex);
                    let g: Vec<(usize, f32)> = res.iter().map(|n| (n.index, n.score)).collect();
                    assert_matches(&g, &want, k, 1e-6, &format!("{engine:?} {metric:?} q{j} rows {rows} dim {dim} k {k}"));
                }
            }
        }
    }
}

#[test]
fn many_queries_and_large_k_cross_tiles_and_shards() {
    let (rows, dim) = (9000, 24);
    let set = make_set(rows, dim, &values(rows * dim, 5));
    let idx = KnnIndex::new(&set);
    let queries: Vec<Query> = (0..300)
        .map(|j| {
            idx.vector_query(&values(dim, 1000 + j), Metric::Cosine)
                .unwrap()
        })
        .collect();
    let got = idx.search(&queries, 200, Metric::Cosine, None).unwrap();
    for (j, res) in got.iter().enumerate().step_by(37) {
        let want = oracle(
            &set,
            &values(dim, 1000 + j as u64),
            200,
            Metric::Cosine,
            rows,
            &[],
        );
        let g: Vec<(usize, f32)> = res.iter().map(|n| (n.index, n.score)).collect();
        assert_matches(&g, &want, 200, 2e-5, &format!("query {j}"));
    }
    // k larger than the candidates returns them all.
    let small = make_set(5, 3, &values(15, 9));
    let sidx = KnnIndex::new(&small);
    let q = sidx.token_query("w0", Metric::Dot).unwrap();
    assert_eq!(
        sidx.search(&[q], 50, Metric::Dot, None).unwrap()[0].len(),
        4
    );
}

#[test]
fn cosmul_equals_its_formula() {
    let (rows, dim) = (2500, 16);
    let set = make_set(rows, dim, &values(rows * dim, 77));
    let idx = KnnIndex::new(&set);
    let cos = |a: usize, b: usize| {
        let (x, y) = (set.matrix.row(a), set.matrix.row(b));
        let d: f64 = x
            .iter()
            .zip(y)
            .map(|(&p, &q)| f64::from(p) * f64::from(q))
            .sum();
        let n = |r: &[f32]| r.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>().sqrt();
        d / (n(x) * n(y))
    };
    for (a, b, c) in [(1, 2, 3), (10, 400, 2499), (7, 8, 9)] {
        let got = cosmul_batch(&idx, &[(&[b, c][..], &[a][..])], 10, None)
            .unwrap()
            .remove(0);
        let mut want: Vec<(usize, f64)> = (0..rows)
            .filter(|i| ![a, b, c].contains(i))
            .map(|i| {
                let s = ((1.0 + cos(i, b)) / 2.0) * ((1.0 + cos(i, c)) / 2.0)
                    / ((1.0 + cos(i, a)) / 2.0 + 1e-6);
                (i, s)
            })
            .collect();
        want.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
        let g: Vec<(usize, f32)> = got.iter().map(|n| (n.index, n.score)).collect();
        assert_matches(&g, &want, 10, 2e-5, "cosmul");
    }
}

#[test]
fn int8_engine_handles_non_finite_zero_and_wide_ranges() {
    if !int8_engine_available() {
        eprintln!(
            "int8 engine not available on this CPU (needs AVX-512 VNNI): only the f32 engine is checked"
        );
    }
    // Rows of very different magnitudes, a NaN row, an Inf row, a zero row, duplicates.
    let (rows, dim) = (700, 37);
    let mut v = values(rows * dim, 3);
    for (r, row) in v.chunks_mut(dim).enumerate() {
        let scale = 10f32.powi((r % 7) as i32 - 3);
        row.iter_mut().for_each(|x| *x *= scale);
    }
    v[5 * dim] = f32::NAN;
    v[9 * dim + 3] = f32::INFINITY;
    v[11 * dim..12 * dim].fill(0.0);
    let row0: Vec<f32> = v[..dim].to_vec();
    v[13 * dim..14 * dim].copy_from_slice(&row0);
    let set = make_set(rows, dim, &v);
    let idx = KnnIndex::new(&set);
    for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
        let queries: Vec<Query> = (0..40)
            .filter_map(|j| idx.vector_query(&values(dim, 500 + j), metric).ok())
            .collect();
        let f = idx
            .search_with(&queries, 15, metric, None, Engine::F32)
            .unwrap();
        let i = idx
            .search_with(&queries, 15, metric, None, Engine::Int8)
            .unwrap();
        for (qi, (a, b)) in f.iter().zip(&i).enumerate() {
            let want = oracle(&set, &queries[qi].vector, 15, metric, rows, &[]);
            for (name, got) in [("f32", a), ("int8", b)] {
                assert!(
                    got.iter().all(|n| ![5, 9].contains(&n.index)),
                    "{name}: non-finite row returned"
                );
                if metric == Metric::Cosine {
                    assert!(
                        got.iter().all(|n| n.index != 11),
                        "{name}: zero row returned for cosine"
                    );
                }
                let g: Vec<(usize, f32)> = got.iter().map(|n| (n.index, n.score)).collect();
                assert_matches(&g, &want, 15, 2e-5, &format!("{name} {metric:?} q{qi}"));
            }
        }
    }
}

#[test]
fn engines_are_exact_when_rounding_cannot_tell_rows_apart() {
    // 600 rows within 1e-3 of one vector: int8 codes cannot order them (and for euclidean, nor
    // can f32 arithmetic, 2 q.x - |x|^2 cancelling), so only the error bounds (every near-tie
    // kept for the exact re-rank) give the right top-k.
    let (rows, dim) = (600, 64);
    let base = values(dim, 42);
    let noise = values(rows * dim, 43);
    let v: Vec<f32> = (0..rows * dim)
        .map(|i| base[i % dim] + 1e-3 * noise[i])
        .collect();
    let set = make_set(rows, dim, &v);
    let idx = KnnIndex::new(&set);
    for metric in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
        let queries: Vec<Query> = (0..40)
            .map(|j| {
                let n = values(dim, 900 + j);
                let q: Vec<f32> = base.iter().zip(&n).map(|(b, e)| b + 2e-3 * e).collect();
                idx.vector_query(&q, metric).unwrap()
            })
            .collect();
        let got = idx
            .search_with(&queries, 10, metric, None, Engine::Int8)
            .unwrap();
        for (qi, res) in got.iter().enumerate() {
            let want = oracle(&set, &queries[qi].vector, 10, metric, rows, &[]);
            let g: Vec<(usize, f32)> = res.iter().map(|n| (n.index, n.score)).collect();
            assert_matches(&g, &want, 10, 1e-6, &format!("{metric:?} q{qi}"));
        }
    }
}

#[test]
fn euclidean_is_exact_where_f32_cancellation_hides_the_order() {
    // 1-D values one ulp apart around 1.0: 2 q x - x^2 in f32 carries noise far above the
    // squared distances (~1e-14), so the order only survives through the exact re-rank.
    let rows = 300;
    let ulp = f32::EPSILON;
    let v: Vec<f32> = (0..rows).map(|i| 1.0 + i as f32 * ulp).collect();
    let set = make_set(rows, 1, &v);
    let idx = KnnIndex::new(&set);
    let queries: Vec<Query> = [100.3f32, 17.6, 250.1, 3.2]
        .iter()
        .map(|&o| {
            idx.vector_query(&[1.0 + o * ulp], Metric::Euclidean)
                .unwrap()
        })
        .collect();
    for engine in [Engine::F32, Engine::Int8] {
        let got = idx
            .search_with(&queries, 8, Metric::Euclidean, None, engine)
            .unwrap();
        for (qi, res) in got.iter().enumerate() {
            let want = oracle(&set, &queries[qi].vector, 8, Metric::Euclidean, rows, &[]);
            let g: Vec<usize> = res.iter().map(|n| n.index).collect();
            let w: Vec<usize> = want[..8].iter().map(|x| x.0).collect();
            assert_eq!(g, w, "{engine:?} query {qi}");
        }
    }
}
