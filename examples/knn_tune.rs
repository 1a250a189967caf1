use embedscope::analysis::{KnnIndex, Metric, Query};
use embedscope::core::*;
fn main() {
    let (rows, dim, nq) = (400_000, 300, 1000);
    let mut x = 7u64;
    let mut v: Vec<f32> = (0..rows * dim)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            ((x >> 40) as f32 / (1u64 << 24) as f32) - 0.5
        })
        .collect();
    for r in v.chunks_mut(dim) {
        let n = r.iter().map(|a| a * a).sum::<f32>().sqrt();
        r.iter_mut().for_each(|a| *a /= n);
    }
    let vocab = Vocab::from_unique((0..rows).map(|i| format!("w{i}"))).unwrap();
    let set = EmbeddingSet::new(
        vocab,
        Matrix::from_vec(rows, dim, v).unwrap(),
        Metadata::new(),
        Provenance::default(),
    )
    .unwrap();
    let idx = KnnIndex::new(&set);
    let qs: Vec<Query> = (0..nq)
        .map(|i| {
            idx.vector_query(set.matrix.row(i * 37), Metric::Cosine)
                .unwrap()
        })
        .collect();
    for m in [
        Metric::Cosine,
        Metric::Cosine,
        Metric::Cosine,
        Metric::Dot,
        Metric::Euclidean,
    ] {
        let t = std::time::Instant::now();
        let r = idx.search(&qs, 10, m, None).unwrap();
        println!(
            "{m:?} {:.3} s  {}",
            t.elapsed().as_secs_f64(),
            r[5][0].index
        );
    }
}
