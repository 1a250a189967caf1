//! Model comparison against the numpy / scipy reference in tests/fixtures/compare/ (made by
//! tests/fixtures/gen/compare_reference.py; definitions in that folder's README).

use std::path::PathBuf;
use std::sync::OnceLock;

use embedscope::analysis::compare::{
    self, Anchors, CompareOptions, Comparison, RankBy, Reduced, drift,
};
use embedscope::core::EmbeddingSet;
use embedscope::formats::{self, LoadOptions};
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/compare")
        .join(name)
}

fn reference() -> &'static Value {
    static R: OnceLock<Value> = OnceLock::new();
    R.get_or_init(|| {
        serde_json::from_str(&std::fs::read_to_string(fixture("reference.json")).unwrap()).unwrap()
    })
}

fn load(name: &str) -> EmbeddingSet {
    formats::load(&fixture(name), &LoadOptions::default()).unwrap()
}

fn pair() -> &'static (EmbeddingSet, EmbeddingSet, Comparison) {
    static P: OnceLock<(EmbeddingSet, EmbeddingSet, Comparison)> = OnceLock::new();
    P.get_or_init(|| {
        let (a, b) = (load("pair_a.vec"), load("pair_b.vec"));
        let c = compare::compare(&a, &b, &CompareOptions::default(), None).unwrap();
        (a, b, c)
    })
}

fn rotation() -> &'static (EmbeddingSet, EmbeddingSet, Comparison) {
    static P: OnceLock<(EmbeddingSet, EmbeddingSet, Comparison)> = OnceLock::new();
    P.get_or_init(|| {
        let (a, b) = (load("rotation_a.vec"), load("rotation_b.vec"));
        let c = compare::compare(&a, &b, &CompareOptions::default(), None).unwrap();
        (a, b, c)
    })
}

fn f(v: &Value) -> f64 {
    v.as_f64().unwrap()
}

fn close(got: f64, want: f64, tol: f64, what: &str) {
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, reference {want} (diff {:e})",
        (got - want).abs()
    );
}

#[test]
fn vocabulary_diff_matches_by_token_not_row() {
    let (_, _, c) = pair();
    let r = &reference()["pair"];
    assert_eq!(c.shared() as u64, r["shared_vocab"].as_u64().unwrap());
    let want: Vec<&str> = r["shared_tokens"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(c.vocab.tokens, want);
    let only = |v: &Value| -> Vec<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap().to_string())
            .collect()
    };
    let got_a: Vec<String> = c.vocab.only_a.iter().map(|t| t.token.clone()).collect();
    let got_b: Vec<String> = c.vocab.only_b.iter().map(|t| t.token.clone()).collect();
    assert_eq!(got_a, only(&r["only_a_tokens"]));
    assert_eq!(got_b, only(&r["only_b_tokens"]));
    assert_eq!(c.vocab_summary.only_a, 3);
    assert_eq!(c.vocab_summary.only_b, 2);
}

#[test]
fn neighbour_lists_equal_the_float64_reference_exactly() {
    let (_, _, c) = pair();
    let r = &reference()["pair"]["neighbours"];
    assert_eq!(r["k"].as_u64(), Some(50));
    for (side, lists) in [("a", &c.neighbours_a), ("b", &c.neighbours_b)] {
        let want = r[side].as_array().unwrap();
        assert_eq!(want.len(), lists.len());
        for (i, w) in want.iter().enumerate() {
            let w: Vec<u32> = w
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as u32)
                .collect();
            assert_eq!(lists.of(i), w.as_slice(), "side {side}, word {i}");
        }
    }
    // The similarity values of the first words.
    let sims = &reference()["pair"]["neighbour_similarities_first5"];
    for (side, lists) in [("a", &c.neighbours_a), ("b", &c.neighbours_b)] {
        for (i, w) in sims[side].as_array().unwrap().iter().enumerate() {
            assert_eq!(w[0].as_str().unwrap(), c.vocab.tokens[i]);
            for (j, s) in w[1].as_array().unwrap().iter().enumerate() {
                close(
                    lists.sims(i)[j],
                    f(s),
                    1e-12,
                    &format!("sim {side} {i} {j}"),
                );
            }
        }
    }
}

#[test]
fn jaccard_rbo_cka_equal_the_numpy_reference() {
    for (name, (_, _, c)) in [("pair", pair()), ("rotation", rotation())] {
        let r = &reference()[name];
        for k in [10, 50] {
            let j = c.jaccard_at(k).unwrap();
            let w = &r["jaccard_at_k"][k.to_string()];
            close(
                j.mean,
                f(&w["mean"]),
                1e-12,
                &format!("{name} mean jaccard@{k}"),
            );
            close(
                j.median,
                f(&w["median"]),
                1e-12,
                &format!("{name} median jaccard@{k}"),
            );
        }
        close(
            c.rbo.mean,
            f(&r["rbo_at_10"]["mean"]),
            1e-12,
            &format!("{name} rbo"),
        );
        assert_eq!(c.rbo.depth, 10);
        let first = r["rbo_at_10"]["first"]
            .as_array()
            .map_or(&[][..], Vec::as_slice);
        assert!(name == "rotation" || first.len() == 10);
        for (i, w) in first.iter().enumerate() {
            let w = w.as_array().map_or(w, |a| a.last().unwrap());
            close(c.word_rbo[i], f(w), 1e-12, &format!("{name} rbo word {i}"));
        }
        close(
            c.linear_cka,
            f(&r["linear_cka"]),
            1e-9,
            &format!("{name} cka"),
        );
    }
    let hist = &reference()["pair"]["overlap_count_at_10_histogram"];
    let j10 = pair().2.jaccard_at(10).unwrap();
    for (i, count) in j10.overlap_histogram.iter().enumerate() {
        let want = hist[i.to_string()].as_u64().unwrap_or(0);
        assert_eq!(*count, want, "overlap {i}");
    }
}

#[test]
fn per_word_jaccard_and_ranked_lists() {
    let (_, _, c) = pair();
    let r = &reference()["pair"]["per_word_jaccard_at_10"];
    for (i, w) in r["first"].as_array().unwrap().iter().enumerate() {
        assert_eq!(c.vocab.tokens[i], w[0].as_str().unwrap());
        close(
            c.word_jaccard[0][i],
            f(&w[1]),
            1e-15,
            &format!("jaccard word {i}"),
        );
    }
    for (list, most) in [("most_changed", true), ("least_changed", false)] {
        let want = r[list].as_array().unwrap();
        let got = c.top_changes(RankBy::Neighbourhood, most, want.len());
        for (g, w) in got.iter().zip(want) {
            assert_eq!(g.token, w[0].as_str().unwrap(), "{list}");
            close(g.jaccard["jaccard_at_10"], f(&w[1]), 1e-15, list);
        }
    }
}

#[test]
fn procrustes_across_dimensions_equals_scipy() {
    let (_, _, c) = pair();
    let r = &reference()["pair"]["procrustes"];
    let p = &c.procrustes;
    assert_eq!(p.reduced, Reduced::B);
    assert_eq!(p.aligned_dim as u64, r["pca_dim"].as_u64().unwrap());
    close(
        p.pca_variance_kept.unwrap(),
        f(&r["pca_variance_kept"]),
        1e-9,
        "variance kept",
    );
    close(p.disparity, f(&r["disparity"]), 1e-9, "disparity");
    close(
        p.disparity,
        f(&r["disparity_scipy_procrustes"]),
        1e-9,
        "scipy disparity",
    );
    close(
        p.sum_singular_values,
        f(&r["sum_singular_values"]),
        1e-9,
        "sum S",
    );
    close(
        p.orthogonal_residual,
        f(&r["orthogonal_residual"]),
        1e-9,
        "residual",
    );
    close(
        p.aligned_cosine_mean,
        f(&r["aligned_cosine_mean"]),
        1e-9,
        "cos mean",
    );
    close(
        p.aligned_cosine_median,
        f(&r["aligned_cosine_median"]),
        1e-9,
        "cos median",
    );
    for (i, w) in r["aligned_cosine_first"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let w = w.as_array().map_or(w, |a| a.last().unwrap());
        close(
            c.word_aligned_cosine[i],
            f(w),
            1e-9,
            &format!("aligned cosine {i}"),
        );
    }
}

#[test]
fn procrustes_recovers_a_known_rotation() {
    let (_, _, c) = rotation();
    let r = &reference()["rotation"];
    let q: Vec<Vec<f64>> = r["Q"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(f).collect())
        .collect();
    let al = &c.alignment;
    assert_eq!(al.reduced, Reduced::None);
    let d = al.dim;
    let mut max = 0f64;
    for (i, row) in q.iter().enumerate().take(d) {
        for (j, &qij) in row.iter().enumerate().take(d) {
            max = max.max((al.r[i * d + j] - qij).abs());
        }
    }
    // Noise 0.001 on unit-variance data: R is Q to ~1e-4 (the reference's own R is 1.19e-4 off).
    close(
        max,
        f(&r["procrustes"]["R_minus_Q_max_abs"]),
        1e-8,
        "max |R - Q|",
    );
    assert!(max < 2e-4);
    close(
        c.procrustes.disparity,
        f(&r["procrustes"]["disparity"]),
        1e-12,
        "disparity",
    );
    close(
        c.procrustes.aligned_cosine_mean,
        f(&r["procrustes"]["aligned_cosine_mean"]),
        1e-12,
        "aligned cosine",
    );
}

#[test]
fn drift_statistics_equal_the_reference_on_its_pairs() {
    let (a, b, c) = pair();
    let text = std::fs::read_to_string(fixture("drift_pairs.txt")).unwrap();
    let pairs: Vec<(u32, u32)> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let mut it = l.split_whitespace().map(|x| x.parse::<u32>().unwrap());
            (it.next().unwrap(), it.next().unwrap())
        })
        .collect();
    assert_eq!(pairs.len(), 20_000);
    let d = drift::drift(
        &a.matrix,
        &c.vocab.rows_a,
        &b.matrix,
        &c.vocab.rows_b,
        &pairs,
    );
    let r = &reference()["pair"]["drift"];
    for (side, got) in [("a", &d.a), ("b", &d.b)] {
        let w = &r[side];
        close(got.row_norm_mean, f(&w["row_norm_mean"]), 1e-9, "norm mean");
        close(
            got.row_norm_median,
            f(&w["row_norm_median"]),
            1e-9,
            "norm median",
        );
        close(got.row_norm_std, f(&w["row_norm_std"]), 1e-9, "norm std");
        close(got.centroid_norm, f(&w["centroid_norm"]), 1e-9, "centroid");
        close(
            got.pair_cosine_mean,
            f(&w["pair_cosine_mean"]),
            1e-9,
            "pair mean",
        );
        close(
            got.pair_cosine_std,
            f(&w["pair_cosine_std"]),
            1e-9,
            "pair std",
        );
    }
    close(
        d.pair_cosine_spearman,
        f(&r["pair_cosine_spearman"]),
        1e-9,
        "spearman",
    );
    close(
        d.drift_score,
        1.0 - f(&r["pair_cosine_spearman"]),
        1e-9,
        "drift score",
    );
}

#[test]
fn a_set_against_itself_is_unchanged() {
    let (a, _, _) = pair();
    let c = compare::compare(a, a, &CompareOptions::default(), None).unwrap();
    for j in &c.jaccard {
        assert_eq!((j.mean, j.median), (1.0, 1.0), "jaccard@{}", j.k);
    }
    assert!((c.rbo.mean - 1.0).abs() < 1e-12);
    assert!((c.linear_cka - 1.0).abs() < 1e-12, "cka {}", c.linear_cka);
    assert!(
        c.procrustes.disparity.abs() < 1e-12,
        "{}",
        c.procrustes.disparity
    );
    assert!(
        c.word_aligned_cosine
            .iter()
            .all(|&x| (x - 1.0).abs() < 1e-12),
        "aligned cosine != 1"
    );
    assert!(c.drift.drift_score.abs() < 1e-12);
    assert_eq!(c.drift.norm_ks, 0.0);
    assert_eq!(c.vocab_summary.only_a + c.vocab_summary.only_b, 0);
}

#[test]
fn anchors_fit_on_a_subset_and_say_so() {
    let (a, b, full) = pair();
    let opts = CompareOptions {
        anchors: Anchors::MostFrequent(200),
        ..CompareOptions::default()
    };
    let c = compare::compare(a, b, &opts, None).unwrap();
    assert_eq!(c.procrustes.anchors, 200);
    assert!(
        c.procrustes
            .method
            .contains("200 anchor words of 1000 shared")
    );
    // Neighbourhoods do not depend on the alignment; the aligned cosines do.
    assert_eq!(c.jaccard, full.jaccard);
    assert_ne!(
        c.procrustes.aligned_cosine_mean,
        full.procrustes.aligned_cosine_mean
    );
}

#[test]
fn word_detail_marks_shared_neighbours() {
    let (_, _, c) = pair();
    let d = c.detail("king", 10).unwrap();
    assert_eq!((d.a.len(), d.b.len()), (10, 10));
    let shared_a = d.a.iter().filter(|n| n.shared).count();
    let shared_b = d.b.iter().filter(|n| n.shared).count();
    assert_eq!(shared_a, shared_b);
    let i = c.index_of("king").unwrap();
    assert!((d.jaccard - c.word_jaccard[0][i]).abs() < 1e-15);
    for n in d.a.iter().filter(|n| n.shared) {
        assert!(d.b.iter().any(|m| m.token == n.token));
    }
    assert!(c.detail("zzonlya1", 10).is_err());
}

#[test]
fn aligned_layouts_put_a_rotated_copy_on_the_same_positions() {
    let (a, b, _) = rotation();
    let l = compare::aligned_layouts(&[a, b, a], false).unwrap();
    assert_eq!(l.tokens.len(), 300);
    assert_eq!(l.coords.len(), 3);
    let spread = l.coords[0]
        .iter()
        .map(|p| f64::from(p[0]).hypot(f64::from(p[1])))
        .fold(0f64, f64::max);
    for v in [1, 2] {
        for (p, q) in l.coords[0].iter().zip(&l.coords[v]) {
            let d = f64::from(p[0] - q[0]).hypot(f64::from(p[1] - q[1]));
            assert!(d < 1e-3 * spread, "version {v}: {p:?} vs {q:?}");
        }
    }
    // Across dimensions (50d vs 300d) it runs and gives one point per shared word.
    let (pa, pb, _) = pair();
    let l = compare::aligned_layouts(&[pa, pb], false).unwrap();
    assert_eq!(l.coords[1].len(), 1000);
}

#[test]
fn swapping_the_sides_reduces_the_same_model_and_gives_the_same_numbers() {
    let (a, b, ab) = pair();
    let ba = compare::compare(b, a, &CompareOptions::default(), None).unwrap();
    assert_eq!(ba.procrustes.reduced, Reduced::A);
    close(
        ba.procrustes.disparity,
        ab.procrustes.disparity,
        1e-9,
        "disparity",
    );
    close(ba.linear_cka, ab.linear_cka, 1e-12, "cka");
    close(
        ba.procrustes.aligned_cosine_mean,
        ab.procrustes.aligned_cosine_mean,
        1e-9,
        "aligned cosine",
    );
    // Same shared words (B's order now), same per-word Jaccard.
    assert_eq!(ba.shared(), ab.shared());
    let i = ab.index_of("king").unwrap();
    let j = ba.index_of("king").unwrap();
    assert_eq!(ab.word_jaccard[1][i], ba.word_jaccard[1][j]);
    assert_eq!((ba.vocab_summary.only_a, ba.vocab_summary.only_b), (2, 3));
}
