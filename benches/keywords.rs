//! Cluster keywords (`analysis::cluster::keywords`, class-based TF-IDF) on 1M synthetic short
//! documents (6-19 words each from a 50,000-word vocabulary with a skewed distribution, a
//! quarter of the words shifted per cluster, commas, "The End." at the end; 108 MB of text)
//! in 50 clusters plus noise: words only (the default) and words with bigrams.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::analysis::cluster::keywords::{KeywordParams, cluster_keywords};

const DOCS: usize = 1_000_000;

fn corpus() -> (Vec<String>, Vec<i32>) {
    let mut x = 0x1234_5678_9abc_def1u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let vocab: Vec<String> = (0..50_000).map(|i| format!("w{i}x{}", i % 7)).collect();
    let mut texts = Vec::with_capacity(DOCS);
    let mut labels = Vec::with_capacity(DOCS);
    for _ in 0..DOCS {
        let label = (next() % 51) as i32 - 1;
        let mut s = String::new();
        for _ in 0..6 + next() % 14 {
            let u = (next() % 10_000) as f64 / 10_000.0;
            let mut w = (u * u * u * 50_000.0) as usize;
            if next() % 4 == 0 {
                w = (w + (label + 1) as usize * 97) % 50_000;
            }
            s.push_str(&vocab[w]);
            s.push(if next() % 9 == 0 { ',' } else { ' ' });
        }
        s.push_str("The End.");
        texts.push(s);
        labels.push(label);
    }
    (texts, labels)
}

fn bench_keywords(c: &mut Criterion) {
    let (texts, labels) = corpus();
    let mut g = c.benchmark_group("keywords_1m_docs");
    g.sample_size(10);
    for ngram_max in [1, 2] {
        let params = KeywordParams {
            ngram_max,
            ..KeywordParams::default()
        };
        g.bench_function(format!("ngram_max_{ngram_max}"), |b| {
            b.iter(|| black_box(cluster_keywords(&texts, &labels, &params).expect("keywords")))
        });
    }
    g.finish();
}

criterion_group!(benches, bench_keywords);
criterion_main!(benches);
