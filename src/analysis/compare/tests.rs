//! Small synthetic cases; the reference numbers are checked in tests/compare.rs.

use super::*;
use crate::analysis::project::Rng;
use crate::core::{Matrix, Metadata, Provenance, Vocab};

fn set(tokens: &[String], dim: usize, data: Vec<f32>) -> EmbeddingSet {
    EmbeddingSet::new(
        Vocab::from_unique(tokens.iter().map(String::as_str)).unwrap(),
        Matrix::from_vec(tokens.len(), dim, data).unwrap(),
        Metadata::default(),
        Provenance::default(),
    )
    .unwrap()
}

fn random(n: usize, dim: usize, seed: u64, prefix: &str) -> EmbeddingSet {
    let mut rng = Rng::new(seed);
    let tokens: Vec<String> = (0..n).map(|i| format!("{prefix}{i}")).collect();
    let data = (0..n * dim).map(|_| rng.normal() as f32).collect();
    set(&tokens, dim, data)
}

fn opts(ks: &[usize]) -> CompareOptions {
    CompareOptions {
        ks: ks.to_vec(),
        drift_pairs: 500,
        ..CompareOptions::default()
    }
}

#[test]
fn nan_rows_are_excluded_and_reported() {
    let a = random(60, 8, 1, "w");
    let mut b = random(60, 8, 2, "w");
    b.matrix.make_mut()[3 * 8] = f32::NAN;
    b.matrix.make_mut()[7 * 8 + 2] = f32::INFINITY;
    let c = compare(&a, &b, &opts(&[5]), None).unwrap();
    assert_eq!(c.shared(), 58);
    assert_eq!(c.vocab_summary.excluded, 2);
    let ex: Vec<_> = c
        .vocab
        .excluded
        .iter()
        .map(|e| (e.token.as_str(), e.side))
        .collect();
    assert_eq!(ex, [("w3", "b"), ("w7", "b")]);
    assert_eq!(c.integrity_b.nan_rows, 1);
    assert!(c.linear_cka.is_finite() && c.procrustes.disparity.is_finite());
    assert!(c.word_aligned_cosine.iter().all(|x| x.is_finite()));
}

#[test]
fn no_shared_tokens_is_a_clear_error() {
    let a = random(10, 4, 1, "a");
    let b = random(10, 4, 2, "b");
    let e = compare(&a, &b, &opts(&[3]), None).unwrap_err().to_string();
    assert!(
        e.contains("share no tokens") && e.contains("--lowercase"),
        "{e}"
    );
}

#[test]
fn k_not_below_the_shared_vocabulary_is_refused() {
    let a = random(10, 4, 1, "w");
    let b = random(10, 4, 2, "w");
    let e = compare(&a, &b, &opts(&[3, 10]), None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("k = 10") && e.contains("10 words"), "{e}");
    assert!(compare(&a, &b, &opts(&[9]), None).is_ok());
    assert!(compare(&a, &b, &opts(&[0]), None).is_err());
}

#[test]
fn lowercase_matching_finds_case_variants() {
    let a = random(20, 4, 1, "W");
    let b = random(20, 4, 2, "w");
    assert!(compare(&a, &b, &opts(&[3]), None).is_err());
    let c = compare(
        &a,
        &b,
        &CompareOptions {
            lowercase: true,
            ..opts(&[3])
        },
        None,
    )
    .unwrap();
    assert_eq!(c.shared(), 20);
    assert!(c.index_of("W5").is_some() && c.index_of("w5").is_some());
}

#[test]
fn a_rotated_copy_has_unchanged_neighbourhoods() {
    // B = A Q exactly (Q a signed permutation: orthogonal, exact in f32).
    let a = random(200, 6, 3, "w");
    let perm = [2usize, 0, 5, 1, 4, 3];
    let mut data = vec![0f32; 200 * 6];
    for i in 0..200 {
        for (j, &p) in perm.iter().enumerate() {
            data[i * 6 + p] = if j % 2 == 0 { -1.0 } else { 1.0 } * a.matrix.row(i)[j];
        }
    }
    let tokens: Vec<String> = a.vocab.iter().map(str::to_string).collect();
    let b = set(&tokens, 6, data);
    let c = compare(&a, &b, &opts(&[5, 20]), None).unwrap();
    assert!(c.jaccard.iter().all(|j| j.mean == 1.0));
    assert!(c.procrustes.disparity.abs() < 1e-12);
    assert!((c.linear_cka - 1.0).abs() < 1e-12);
    assert!(
        c.word_aligned_cosine
            .iter()
            .all(|&x| (x - 1.0).abs() < 1e-9)
    );
}

#[test]
fn cancel_stops_the_neighbour_search() {
    let a = random(100, 4, 1, "w");
    let flag = AtomicBool::new(true);
    assert_eq!(
        compare(&a, &a, &opts(&[5]), Some(&flag)).unwrap_err(),
        AnalysisError::Cancelled
    );
}

#[test]
fn ranked_lists_respect_the_frequency_filter() {
    let a = random(80, 5, 1, "w");
    let b = random(80, 5, 9, "w");
    let c = compare(&a, &b, &opts(&[5]), None).unwrap();
    let all = c.ranked(RankBy::Neighbourhood, true, None);
    assert_eq!(all.len(), 80);
    let j = &c.word_jaccard[0];
    assert!(all.windows(2).all(|w| j[w[0]] <= j[w[1]]));
    let top = c.ranked(RankBy::Displacement, false, Some(30));
    assert_eq!(top.len(), 30);
    assert!(top.iter().all(|&i| c.rank[i] <= 30));
    let cos = &c.word_aligned_cosine;
    assert!(top.windows(2).all(|w| cos[w[0]] >= cos[w[1]]));
}

#[test]
fn exact_ties_are_broken_by_the_lower_index_in_a_order() {
    // Rows 1..=6 are the same direction as row 0 at different lengths (cosine exactly 1 with
    // it); rows 7.. point elsewhere. Row 0's top 4 must be rows 1, 2, 3, 4.
    let mut data = Vec::new();
    let tokens: Vec<String> = (0..12).map(|i| format!("w{i}")).collect();
    for i in 0..12 {
        if i <= 6 {
            data.extend_from_slice(&[(i + 1) as f32, 0.0, 0.0]);
        } else {
            data.extend_from_slice(&[0.1, i as f32, (i % 3) as f32]);
        }
    }
    let a = set(&tokens, 3, data);
    // B lists the same words in reverse order: ties still go by A's order.
    let mut rev = tokens.clone();
    rev.reverse();
    let rdata: Vec<f32> = (0..12)
        .rev()
        .flat_map(|i| a.matrix.row(i).to_vec())
        .collect();
    let b = set(&rev, 3, rdata);
    let c = compare(&a, &b, &opts(&[4]), None).unwrap();
    assert_eq!(c.neighbours_a.of(0), [1, 2, 3, 4]);
    assert_eq!(c.neighbours_b.of(0), [1, 2, 3, 4]);
    assert_eq!(c.neighbours_a.of(3), [0, 1, 2, 4]);
    assert_eq!(c.word_jaccard[0][0], 1.0);
}
