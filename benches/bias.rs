//! Bias probes on the bundled demo vectors (50,107 x 50): WEAT 1 (25-word sets) with 100,000
//! random partitions, the 10,000-replicate bootstrap interval, both together (what
//! `embedscope bias weat --test weat1` runs), and hard debiasing of the whole set. The ratio
//! against WEFE 1.0.1 comes from benches/peers/compare_weat.py.

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use embedscope::analysis::bias::{self, DebiasOptions, WeatOptions};
use embedscope::formats;

fn benches(c: &mut Criterion) {
    let demo = formats::demo_set(None).expect("demo set");
    let test = bias::test_by_name("weat1").expect("weat1");
    let mut g = c.benchmark_group("bias");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    let perms = WeatOptions {
        permutations: 100_000,
        bootstrap: 0,
        ..WeatOptions::default()
    };
    g.bench_function("weat1_100k_permutations", |b| {
        b.iter(|| black_box(bias::weat(&demo, &test, &perms).expect("weat")))
    });
    let boot = WeatOptions {
        permutations: 1,
        exact_limit: 0,
        bootstrap: 10_000,
        ..WeatOptions::default()
    };
    g.bench_function("weat1_10k_bootstrap", |b| {
        b.iter(|| black_box(bias::weat(&demo, &test, &boot).expect("weat")))
    });
    let both = WeatOptions::default();
    g.bench_function("weat1_default_100k_perm_10k_boot", |b| {
        b.iter(|| black_box(bias::weat(&demo, &test, &both).expect("weat")))
    });
    let lists = bias::bolukbasi();
    let dir = bias::direction(
        &demo,
        &lists.definitional_pairs,
        "she",
        "he",
        bias::CaseMode::Auto,
    )
    .expect("direction");
    let mut eq = lists.equalize_pairs.clone();
    eq.extend(lists.definitional_pairs.iter().cloned());
    let opts = DebiasOptions {
        specific: lists.specific_words(),
        equality_pairs: eq,
    };
    g.bench_function("hard_debias_50k", |b| {
        b.iter(|| black_box(bias::hard_debias(&demo, &dir, &opts).expect("debias")))
    });
    g.finish();
}

criterion_group!(bias_benches, benches);
criterion_main!(bias_benches);
