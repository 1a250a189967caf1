//! Projections against independent references: scikit-learn PCA and trustworthiness,
//! linfa-reduction PCA, openTSNE (tests/fixtures/projection, made by
//! tests/fixtures/gen/projection_reference.py), and the semantic-axis definition.

use std::path::{Path, PathBuf};

use embedscope::analysis::project::axes::{self, AxisSpec};
use embedscope::analysis::project::{pca, quality};
use embedscope::core::EmbeddingSet;
use embedscope::formats::{self, LoadOptions};
use serde_json::Value;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/projection")
}

fn json(name: &str) -> Value {
    serde_json::from_str(&std::fs::read_to_string(dir().join(name)).unwrap()).unwrap()
}

fn npy(name: &str) -> EmbeddingSet {
    formats::load(
        &dir().join(name),
        &LoadOptions {
            vocab: Some("#row".into()),
            ..Default::default()
        },
    )
    .unwrap()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn corr(a: &[f64], b: &[f64]) -> f64 {
    let n = a.len() as f64;
    let (ma, mb) = (a.iter().sum::<f64>() / n, b.iter().sum::<f64>() / n);
    let cov: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let va: f64 = a.iter().map(|x| (x - ma).powi(2)).sum();
    let vb: f64 = b.iter().map(|y| (y - mb).powi(2)).sum();
    cov / (va * vb).sqrt()
}

#[test]
fn pca_equals_scikit_learn() {
    let reference = json("pca_sklearn.json");
    for (key, file) in [("glove50", "pca_input.npy"), ("w2v300", "pca_input300.npy")] {
        let want = &reference[key];
        let set = npy(file);
        let k = want["n_components"].as_u64().unwrap() as usize;
        let model = pca::fit(&set.matrix, None, k).unwrap();
        // Explained variance and ratio to 1e-6 (relative to the value's size).
        for (got, w) in model
            .explained_variance
            .iter()
            .zip(f64s(&want["explained_variance"]))
        {
            assert!(
                (got - w).abs() <= 1e-6 * w.abs().max(1e-3),
                "{key} variance {got} vs {w}"
            );
        }
        for (got, w) in model
            .explained_variance_ratio
            .iter()
            .zip(f64s(&want["explained_variance_ratio"]))
        {
            assert!((got - w).abs() <= 1e-6, "{key} ratio {got} vs {w}");
        }
        assert!((model.total_variance - want["total_variance"].as_f64().unwrap()).abs() < 1e-6);
        // Same components with the same sign convention.
        let d = set.dim();
        for (c, wc) in want["components"].as_array().unwrap().iter().enumerate() {
            let wc = f64s(wc);
            let got = &model.components[c * d..(c + 1) * d];
            let dot: f64 = got.iter().zip(&wc).map(|(a, b)| a * b).sum();
            assert!(dot > 1.0 - 1e-6, "{key} component {c}: dot {dot}");
        }
        // Coordinates: per-axis |correlation| >= 0.99999 and equal values.
        let coords = model.transform(&set.matrix, None);
        let rows = want["transformed_first_rows"].as_array().unwrap();
        for axis in 0..k {
            let got: Vec<f64> = (0..rows.len())
                .map(|i| f64::from(coords[i * k + axis]))
                .collect();
            let w: Vec<f64> = rows.iter().map(|r| r[axis].as_f64().unwrap()).collect();
            assert!(
                corr(&got, &w).abs() >= 0.99999,
                "{key} axis {axis}: corr {}",
                corr(&got, &w)
            );
            for (g, x) in got.iter().zip(&w) {
                assert!((g - x).abs() < 1e-5, "{key} axis {axis}: {g} vs {x}");
            }
        }
    }
}

#[test]
fn pca_equals_linfa_reduction() {
    use linfa::traits::Fit;
    let set = npy("pca_input300.npy");
    let (n, d) = (set.rows(), set.dim());
    let data = ndarray::Array2::from_shape_fn((n, d), |(i, j)| f64::from(set.matrix.row(i)[j]));
    let k = 4;
    let linfa_model = linfa_reduction::Pca::params(k)
        .fit(&linfa::DatasetBase::from(data))
        .unwrap();
    let ours = pca::fit(&set.matrix, None, k).unwrap();
    let comps = linfa_model.components();
    for c in 0..k {
        let dot: f64 = (0..d)
            .map(|j| comps[[c, j]] * ours.components[c * d + j])
            .sum();
        assert!(dot.abs() > 1.0 - 1e-6, "component {c}: |dot| {}", dot.abs());
        // linfa's explained_variance() divides by (k - 1), not (n - 1): compare singular values.
        let sigma = (ours.explained_variance[c] * (n - 1) as f64).sqrt();
        let s = linfa_model.singular_values()[c];
        assert!(
            (sigma - s).abs() < 1e-6 * s,
            "singular value {c}: {sigma} vs {s}"
        );
    }
}

#[test]
fn pca_rejects_bad_parameters() {
    let set = npy("pca_input.npy");
    assert!(pca::fit(&set.matrix, None, 0).is_err());
    assert!(pca::fit(&set.matrix, None, 51).is_err());
    assert!(pca::fit(&set.matrix, Some(&[3]), 2).is_err());
    assert!(
        pca::project(&set, 51)
            .unwrap_err()
            .to_string()
            .contains("1 to 50")
    );
}

#[test]
fn quality_equals_scikit_learn_trustworthiness() {
    let reference = json("quality_sklearn.json");
    let x = npy("tsne_input.npy");
    let orig = x.matrix.as_slice().to_vec();
    for (name, want) in reference["embeddings"].as_object().unwrap() {
        let y = npy(want["file"].as_str().unwrap());
        for (kk, tw) in want["trustworthiness"].as_object().unwrap() {
            let k: usize = kk.parse().unwrap();
            let q = quality::quality(&orig, x.dim(), y.matrix.as_slice(), 2, k, 1).unwrap();
            let tw = tw.as_f64().unwrap();
            assert!(
                (q.trustworthiness - tw).abs() < 1e-9,
                "{name} k={k}: {} vs {tw}",
                q.trustworthiness
            );
            assert!(!q.sampled);
            if k == 10 {
                let kp = want["knn_preservation@10"].as_f64().unwrap();
                assert!(
                    (q.knn_preservation - kp).abs() < 1e-9,
                    "{name}: preservation {} vs {kp}",
                    q.knn_preservation
                );
                let per = f64s(&want["recall_per_point@10"]);
                for (i, (g, w)) in q.recall.iter().zip(&per).enumerate() {
                    assert!(
                        (f64::from(*g) - w).abs() < 1e-6,
                        "{name}: recall of point {i}: {g} vs {w}"
                    );
                }
            }
        }
    }
}

#[test]
fn axis_coordinates_are_dot_products_with_the_unit_axis() {
    let set = formats::demo_set(Some(3000)).unwrap();
    let spec = AxisSpec::parse("he,him,man -> she,her,woman").unwrap();
    let p = axes::project(&set, &spec, None).unwrap();
    let mean = |ws: &[&str]| -> Vec<f64> {
        let mut acc = vec![0f64; set.dim()];
        for w in ws {
            for (a, &x) in acc.iter_mut().zip(set.vector(w).unwrap()) {
                *a += f64::from(x) / ws.len() as f64;
            }
        }
        acc
    };
    let (a, b) = (mean(&["he", "him", "man"]), mean(&["she", "her", "woman"]));
    let dir: Vec<f64> = b.iter().zip(&a).map(|(p, q)| p - q).collect();
    let norm = dir.iter().map(|x| x * x).sum::<f64>().sqrt();
    for (i, &r) in p.rows.iter().enumerate().step_by(97) {
        let v = set.matrix.row(r);
        let want: f64 = v
            .iter()
            .zip(&dir)
            .map(|(&x, d)| f64::from(x) * d / norm)
            .sum();
        assert!(
            (f64::from(p.coords[i * 2]) - want).abs() < 1e-4,
            "{}: {} vs {want}",
            set.vocab.token(r),
            p.coords[i * 2]
        );
    }
    // "she" sits on the "she" side; the residual axis is orthogonal to x.
    let she = p
        .rows
        .iter()
        .position(|&r| set.vocab.token(r) == "she")
        .unwrap();
    let he = p
        .rows
        .iter()
        .position(|&r| set.vocab.token(r) == "he")
        .unwrap();
    assert!(p.coords[she * 2] > p.coords[he * 2]);
    // An expression axis and an explicit y axis.
    let x = AxisSpec::parse("king - man + woman").unwrap();
    let y = AxisSpec::parse("good -> bad").unwrap();
    let p = axes::project(&set, &x, Some(&y)).unwrap();
    assert_eq!(p.coords.len(), 2 * p.rows.len());
    // Missing words are reported; an axis with no known word is refused.
    let partial = AxisSpec::parse("he,zzzzqqq -> she").unwrap();
    let p = axes::project(&set, &partial, None).unwrap();
    assert!(p.notes.iter().any(|n| n.contains("zzzzqqq")));
    let none = AxisSpec::parse("zzzzqqq,qqqzzz -> she").unwrap();
    let e = axes::project(&set, &none, None).unwrap_err().to_string();
    assert!(e.contains("zzzzqqq") && e.contains("qqqzzz"), "{e}");
    assert!(AxisSpec::parse(" -> she").is_err());
}

mod tsne_tests {
    use super::*;
    use embedscope::analysis::project::tsne::{self, Gradient, TsneParams};
    use embedscope::analysis::project::{Details, ProjectError};
    use std::ops::ControlFlow;

    fn reference_runs(config: &str) -> Vec<(f64, f64)> {
        let r = json("tsne_opentsne.json");
        r["runs"][config]
            .as_object()
            .unwrap()
            .values()
            .filter_map(|v| {
                Some((
                    v.get("kl_divergence")?.as_f64()?,
                    v.get("trustworthiness@10")?.as_f64()?,
                ))
            })
            .collect()
    }

    fn run(params: &TsneParams) -> (f64, f64, Vec<f32>) {
        let set = npy("tsne_input.npy");
        let p = tsne::project(&set, params, |_| ControlFlow::Continue(())).unwrap();
        let Details::Tsne { kl_divergence, .. } = p.details else {
            panic!("details")
        };
        let q = quality::quality(
            set.matrix.as_slice(),
            set.dim(),
            &p.coords,
            params.dims,
            10,
            1,
        )
        .unwrap();
        (kl_divergence, q.trustworthiness, p.coords)
    }

    fn check(config: &str, kl: f64, trust: f64) {
        let refs = reference_runs(config);
        assert!(!refs.is_empty());
        let ref_kl = refs.iter().map(|r| r.0).sum::<f64>() / refs.len() as f64;
        let ref_trust = refs.iter().map(|r| r.1).fold(f64::INFINITY, f64::min);
        assert!(
            (kl - ref_kl).abs() <= 0.05 * ref_kl,
            "{config}: KL {kl} vs openTSNE {ref_kl}"
        );
        assert!(
            trust >= ref_trust - 0.01,
            "{config}: trustworthiness {trust} vs openTSNE {ref_trust}"
        );
    }

    #[test]
    fn barnes_hut_2d_matches_opentsne_and_is_deterministic() {
        // openTSNE's default for 1,500 points is Barnes-Hut; ours too.
        let params = TsneParams {
            seed: 1,
            ..TsneParams::default()
        };
        let (kl, trust, coords) = run(&params);
        check("default", kl, trust);
        // Same seed, same input: the same layout, whatever the number of threads.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let (kl1, _, coords1) = pool.install(|| run(&params));
        assert_eq!(
            coords, coords1,
            "layouts differ between 1 thread and the default pool"
        );
        assert_eq!(kl, kl1);
    }

    #[test]
    fn fft_2d_matches_opentsne() {
        let params = TsneParams {
            seed: 2,
            gradient: Gradient::Fft,
            ..TsneParams::default()
        };
        let (kl, trust, _) = run(&params);
        check("fft", kl, trust);
    }

    #[test]
    fn three_dimensional_matches_opentsne() {
        let r = json("tsne_opentsne.json");
        let want = &r["runs_3d"]["1"];
        let params = TsneParams {
            dims: 3,
            seed: 1,
            ..TsneParams::default()
        };
        let (kl, trust, coords) = run(&params);
        assert_eq!(coords.len(), 1500 * 3);
        let ref_kl = want["kl_divergence"].as_f64().unwrap();
        assert!(
            (kl - ref_kl).abs() <= 0.05 * ref_kl,
            "3-D KL {kl} vs {ref_kl}"
        );
        assert!(
            trust >= want["trustworthiness@10"].as_f64().unwrap() - 0.01,
            "3-D trust {trust}"
        );
    }

    #[test]
    fn progress_is_reported_and_cancellation_stops() {
        let set = npy("tsne_input.npy");
        let params = TsneParams {
            iterations: 60,
            early_exaggeration_iter: 20,
            ..TsneParams::default()
        };
        let mut seen = Vec::new();
        tsne::project(&set, &params, |p| {
            assert_eq!(p.layout.len(), 1500 * 2);
            seen.push((p.iteration, p.kl_divergence.is_some()));
            ControlFlow::Continue(())
        })
        .unwrap();
        assert_eq!(
            seen.iter().map(|s| s.0).collect::<Vec<_>>(),
            vec![10, 20, 30, 40, 50, 60]
        );
        assert!(seen[4].1, "KL every 50 iterations");
        let mut calls = 0;
        let r = tsne::project(&set, &params, |_| {
            calls += 1;
            if calls == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(matches!(r, Err(ProjectError::Cancelled)));
        assert_eq!(calls, 2);
    }

    #[test]
    fn bad_parameters_and_inputs_are_refused_before_work() {
        let set = npy("tsne_input.npy");
        let small = set.truncate(90);
        let e = tsne::project(
            &small,
            &TsneParams::default(),
            |_| ControlFlow::Continue(()),
        )
        .unwrap_err();
        assert!(e.to_string().contains("at least 91 points"), "{e}");
        for p in [
            TsneParams {
                perplexity: 0.0,
                ..TsneParams::default()
            },
            TsneParams {
                perplexity: -3.0,
                ..TsneParams::default()
            },
            TsneParams {
                dims: 4,
                ..TsneParams::default()
            },
            TsneParams {
                dims: 3,
                gradient: Gradient::Fft,
                ..TsneParams::default()
            },
            TsneParams {
                iterations: 100,
                early_exaggeration_iter: 250,
                ..TsneParams::default()
            },
        ] {
            assert!(
                matches!(
                    p.check().and_then(|v| v.check_input(10_000, 50)),
                    Err(ProjectError::Param(_))
                ),
                "{p:?}"
            );
        }
        // All-identical points.
        let same = embedscope::core::EmbeddingSet::new(
            embedscope::core::Vocab::from_unique((0..200).map(|i| i.to_string())).unwrap(),
            embedscope::core::Matrix::from_vec(200, 3, vec![1.0; 600]).unwrap(),
            Default::default(),
            Default::default(),
        )
        .unwrap();
        let e = tsne::project(&same, &TsneParams::default(), |_| ControlFlow::Continue(()))
            .unwrap_err();
        assert_eq!(e, ProjectError::Degenerate);
        // NaN rows are left out and reported.
        let mut data = set.matrix.as_slice().to_vec();
        data[7 * 50] = f32::NAN;
        let nan = embedscope::core::EmbeddingSet::new(
            set.vocab.clone(),
            embedscope::core::Matrix::from_vec(1500, 50, data).unwrap(),
            Default::default(),
            Default::default(),
        )
        .unwrap();
        let quick = TsneParams {
            iterations: 20,
            early_exaggeration_iter: 10,
            ..TsneParams::default()
        };
        let p = tsne::project(&nan, &quick, |_| ControlFlow::Continue(())).unwrap();
        assert_eq!(p.excluded, vec![7]);
        assert_eq!(p.rows.len(), 1499);
        assert!(p.notes.iter().any(|n| n.contains("NaN")));
    }
}

#[test]
fn approximate_neighbours_have_high_recall_and_give_the_same_map_quality() {
    use embedscope::analysis::project::Details;
    use embedscope::analysis::project::tsne::{self, TsneParams};
    use std::ops::ControlFlow;
    let set = npy("tsne_input.npy");
    // Force the approximate index (normally above 200,000 points).
    let params = TsneParams {
        seed: 1,
        exact_knn_max: 500,
        ..TsneParams::default()
    };
    let p = tsne::project(&set, &params, |_| ControlFlow::Continue(())).unwrap();
    let Details::Tsne {
        knn_recall,
        kl_divergence,
        ..
    } = p.details
    else {
        panic!()
    };
    let recall = knn_recall.expect("recall is measured for the approximate index");
    // The HNSW index finds at least 95% of the 90 neighbours (GloVe 400k: BENCHMARKS.md).
    assert!(recall >= 0.95, "recall {recall}");
    eprintln!("t-SNE kNN recall on the fixture: {recall:.4}");
    let refs = json("tsne_opentsne.json");
    let ref_kl = refs["runs"]["default"]["1"]["kl_divergence"]
        .as_f64()
        .unwrap();
    assert!(
        (kl_divergence - ref_kl).abs() <= 0.05 * ref_kl,
        "KL {kl_divergence} vs {ref_kl}"
    );
    // The neighbour step reports progress (iteration 0, no layout yet) and stops when asked.
    let mut calls = 0;
    let r = tsne::project(&set, &params, |p| {
        assert_eq!(p.iteration, 0);
        assert!(p.layout.is_empty());
        calls += 1;
        if calls < 3 {
            ControlFlow::Continue(())
        } else {
            ControlFlow::Break(())
        }
    });
    assert!(
        matches!(
            r,
            Err(embedscope::analysis::project::ProjectError::Cancelled)
        ),
        "{:?}",
        r.err()
    );
}
