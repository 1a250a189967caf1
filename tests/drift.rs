//! Drift tests (`analysis::drift`):
//!
//! - against Evidently 0.7.23's legacy `embedding_drift_methods` on the fixed inputs of
//!   `tests/fixtures/drift/reference.json` (made by `tests/fixtures/gen/drift_reference.py`):
//!   centroid distances, the per-dimension normalised Wasserstein distances and the drifted
//!   share, the MMD^2 with its gamma, to 1e-6; the classifier on Evidently's own split equal to
//!   scikit-learn's `LogisticRegression` (C = 1, standardised) and within 0.02 of Evidently's
//!   `SGDClassifier` AUC where the shift is clear (elsewhere the stochastic fit is itself 0.04-0.07
//!   from the optimum: printed, not asserted);
//! - calibration: under no drift (200 seeded random halvings of one synthetic set) every
//!   method's false-positive rate at alpha 0.05 is within [0.02, 0.08]; under a planted shift
//!   every method flags it and the per-cluster ratio ranks the planted cluster first;
//! - bad input: clear errors, no panic; NaN rows left out and counted; samples capped.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use embedscope::analysis::AnalysisError;
use embedscope::analysis::cluster::{KMeansParams, kmeans_points};
use embedscope::analysis::drift::{
    DriftInput, DriftMethod, DriftParams, DriftReport, MethodDetails, cluster_drift, drift,
    fit_logistic, roc_auc,
};
use embedscope::core::Matrix;
use serde_json::Value;

fn fixture() -> Value {
    let path =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/drift/reference.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("json")
}

fn f32s(v: &Value) -> Vec<f32> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| {
            x.as_str()
                .expect("float32 string")
                .parse::<f32>()
                .expect("float32")
        })
        .collect()
}

fn f64s(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn num(v: &Value, key: &str) -> f64 {
    v[key].as_f64().unwrap_or_else(|| panic!("{key}"))
}

fn run(r: &Matrix, c: &Matrix, p: &DriftParams) -> DriftReport {
    let valid = p.check().expect("valid parameters");
    drift(
        DriftInput::Two {
            reference: r,
            current: c,
        },
        &valid,
        &mut |_| {},
        None,
    )
    .expect("drift runs")
}

fn params(permutations: usize, seed: u64) -> DriftParams {
    DriftParams {
        permutations,
        seed,
        ..DriftParams::default()
    }
}

#[test]
fn matches_evidently_embedding_drift_methods() {
    let f = fixture();
    for case in f["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name");
        let d = case["dim"].as_u64().expect("dim") as usize;
        let nr = case["n_ref"].as_u64().expect("n_ref") as usize;
        let nc = case["n_cur"].as_u64().expect("n_cur") as usize;
        let rx = f32s(&case["reference"]);
        let cx = f32s(&case["current"]);
        let r = Matrix::from_vec(nr, d, rx.clone()).expect("matrix");
        let c = Matrix::from_vec(nc, d, cx.clone()).expect("matrix");
        let rep = run(&r, &c, &params(199, 1));
        let m = &rep.methods;
        let eu = m[&DriftMethod::DistanceEuclidean].score;
        let co = m[&DriftMethod::DistanceCosine].score;
        println!(
            "{name}: euclidean {eu} vs {} (diff {:.2e}); cosine {co} vs {} (diff {:.2e})",
            num(case, "distance_euclidean"),
            (eu - num(case, "distance_euclidean")).abs(),
            num(case, "distance_cosine"),
            (co - num(case, "distance_cosine")).abs()
        );
        assert!(
            (eu - num(case, "distance_euclidean")).abs() < 1e-6,
            "{name}"
        );
        assert!((co - num(case, "distance_cosine")).abs() < 1e-6, "{name}");
        assert_eq!(
            m[&DriftMethod::DistanceEuclidean].drift,
            case["distance_euclidean_drift"].as_bool().expect("bool"),
            "{name}: Evidently's threshold 0.2"
        );

        // Ratio: every dimension's normalised distance, the share, the verdict.
        let ratio = &m[&DriftMethod::Ratio];
        let MethodDetails::Ratio { per_dim, .. } = &ratio.details else {
            panic!("ratio details");
        };
        let want = f64s(&case["ratio_per_dim"]);
        let worst = per_dim
            .iter()
            .zip(&want)
            .map(|(a, b)| (a - b).abs())
            .fold(0f64, f64::max);
        println!(
            "{name}: ratio {} vs {}, worst per-dimension difference {worst:.2e}",
            ratio.score,
            num(case, "ratio")
        );
        assert!(worst < 1e-6, "{name}: {per_dim:?} vs {want:?}");
        assert!((ratio.score - num(case, "ratio")).abs() < 1e-6, "{name}");
        assert_eq!(ratio.drift, case["ratio_drift"].as_bool().expect("bool"));

        // MMD: the same gamma, the same statistic.
        let mmd = &m[&DriftMethod::Mmd];
        let MethodDetails::Mmd {
            mmd2_unbiased,
            gamma,
            median_distance,
            ..
        } = &mmd.details
        else {
            panic!("mmd details");
        };
        println!(
            "{name}: mmd {} vs {} (raw {mmd2_unbiased} vs {}, diff {:.2e}); gamma {gamma} vs {} \
             (relative {:.2e})",
            mmd.score,
            num(case, "mmd"),
            num(case, "mmd_raw"),
            (mmd2_unbiased - num(case, "mmd_raw")).abs(),
            num(case, "mmd_gamma"),
            (gamma / num(case, "mmd_gamma") - 1.0).abs()
        );
        assert!(
            (gamma / num(case, "mmd_gamma") - 1.0).abs() < 1e-6,
            "{name}"
        );
        assert!((median_distance - num(case, "mmd_median_distance")).abs() < 1e-5);
        assert!(
            (mmd2_unbiased - num(case, "mmd_raw")).abs() < 1e-6,
            "{name}"
        );
        assert!((mmd.score - num(case, "mmd")).abs() < 1e-6, "{name}");
        assert_eq!(mmd.drift, case["mmd_drift"].as_bool().expect("bool"));

        // Classifier on Evidently's split (pooled rows: reference first, then current).
        let mut pooled = rx.clone();
        pooled.extend(&cx);
        let test: Vec<usize> = case["model_test_rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|v| v.as_u64().expect("row") as usize)
            .collect();
        let mut is_test = vec![false; nr + nc];
        test.iter().for_each(|&i| is_test[i] = true);
        let train: Vec<usize> = (0..nr + nc).filter(|&i| !is_test[i]).collect();
        // Evidently's labels: reference 1, current 0.
        let y: Vec<f64> = train.iter().map(|&i| f64::from(u8::from(i < nr))).collect();
        let fit = fit_logistic(&pooled, d, &train, &y, 1.0, 100, None).expect("fit");
        assert!(fit.converged);
        let scores: Vec<f64> = test
            .iter()
            .map(|&i| fit.decision(&pooled[i * d..(i + 1) * d]))
            .collect();
        let positive: Vec<bool> = test.iter().map(|&i| i < nr).collect();
        let auc = roc_auc(&scores, &positive).expect("both sides");
        let sk_coef = f64s(&case["model_logreg_coef"]);
        let coef_diff = fit
            .coef
            .iter()
            .zip(&sk_coef)
            .map(|(a, b)| (a - b).abs())
            .fold(0f64, f64::max);
        let evid = num(case, "model");
        println!(
            "{name}: classifier AUC {auc} on Evidently's split; scikit-learn LogisticRegression \
             {} (coefficients within {coef_diff:.1e}); Evidently's SGDClassifier {evid} (diff \
             {:.3}); own split {}",
            num(case, "model_logreg_auc"),
            (auc - evid).abs(),
            m[&DriftMethod::Classifier].score
        );
        assert!((auc - num(case, "model_logreg_auc")).abs() < 1e-9, "{name}");
        assert!(coef_diff < 1e-4, "{name}: {:?} vs {sk_coef:?}", fit.coef);
        assert!(
            (fit.intercept - num(case, "model_logreg_intercept")).abs() < 1e-4,
            "{name}"
        );
        if name == "shift" {
            assert!(
                (auc - evid).abs() < 0.02,
                "{name}: {auc} vs Evidently {evid}"
            );
            let own = m[&DriftMethod::Classifier].score;
            assert!(
                (own - evid).abs() < 0.02,
                "{name}: own split {own} vs {evid}"
            );
        }
    }
}

/// A synthetic set: three Gaussian groups of different spread around a common offset.
fn synthetic(n: usize, d: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut u = move || {
        // xorshift64*, then uniform in (0, 1)
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        ((s.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    let mut normal = move || {
        let (a, b) = (u(), u());
        (-2.0 * a.ln()).sqrt() * (2.0 * std::f64::consts::PI * b).cos()
    };
    let mut x = Vec::with_capacity(n * d);
    for i in 0..n {
        let g = i % 3;
        for j in 0..d {
            let centre = 1.0 + [0.0, 1.5, -1.0][g] * if j % 2 == 0 { 1.0 } else { -0.5 };
            x.push((centre + normal() * [1.0, 0.6, 1.4][g]) as f32);
        }
    }
    x
}

fn shuffled(n: usize, seed: u64) -> Vec<usize> {
    let mut s = seed.wrapping_add(0x1234_5678);
    let mut v: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let j = ((u128::from(s >> 1) * (i as u128 + 1)) >> 63) as usize;
        v.swap(i, j);
    }
    v
}

#[test]
fn p_values_are_calibrated_under_no_drift() {
    let (n, d, splits) = (400, 8, 200);
    let m = Matrix::from_vec(n, d, synthetic(n, d, 5)).expect("matrix");
    let mut rejections = [0usize; 6];
    let mut p_sums = [0f64; 6];
    for s in 0..splits {
        let order = shuffled(n, s as u64);
        let p = params(199, s as u64 + 100).check().expect("valid");
        let rep = drift(
            DriftInput::Split {
                matrix: &m,
                reference: &order[..n / 2],
                current: &order[n / 2..],
            },
            &p,
            &mut |_| {},
            None,
        )
        .expect("drift runs");
        for (k, meth) in DriftMethod::ALL.iter().enumerate() {
            let pv = rep.methods[meth].p_value;
            assert!(pv > 0.0 && pv <= 1.0);
            p_sums[k] += pv;
            if pv < 0.05 {
                rejections[k] += 1;
            }
        }
    }
    for (k, meth) in DriftMethod::ALL.iter().enumerate() {
        let rate = rejections[k] as f64 / splits as f64;
        println!(
            "{meth}: false-positive rate {rate:.3} at alpha 0.05, mean p-value {:.3}",
            p_sums[k] / splits as f64
        );
        assert!(
            (0.02..=0.08).contains(&rate),
            "{meth}: false-positive rate {rate} over {splits} splits"
        );
    }
}

#[test]
fn a_planted_shift_is_flagged_and_its_cluster_ranked_first() {
    let (n_side, d) = (1000, 8);
    let r = synthetic(n_side, d, 11);
    let mut c = synthetic(n_side, d, 12);
    // A direction orthogonal to the data's common offset (1, ..., 1), added to every 10th
    // current row.
    let dir: Vec<f32> = (0..d)
        .map(|j| if j % 2 == 0 { 1.0 } else { -1.0 } / (d as f32).sqrt())
        .collect();
    let planted: Vec<usize> = (0..n_side).filter(|i| i % 10 == 0).collect();
    for &i in &planted {
        for j in 0..d {
            c[i * d + j] += 8.0 * dir[j];
        }
    }
    let rm = Matrix::from_vec(n_side, d, r.clone()).expect("matrix");
    let cm = Matrix::from_vec(n_side, d, c.clone()).expect("matrix");
    let mut p = params(199, 3);
    // Flag by p-value: every method's own permutation threshold.
    p.thresholds = embedscope::analysis::drift::Thresholds {
        distance_euclidean: None,
        distance_cosine: None,
        mmd: None,
        classifier: None,
        ratio: None,
        energy: None,
        ratio_component: 0.1,
    };
    let rep = run(&rm, &cm, &p);
    for (meth, res) in &rep.methods {
        println!(
            "{meth}: score {:.5} threshold {:.5} p {:.4}",
            res.score, res.threshold, res.p_value
        );
        assert!(res.p_value < 0.05, "{meth}: p = {}", res.p_value);
        assert!(res.significant && res.drift, "{meth}");
    }
    // Clusters of the joint rows (k-means, 6 clusters): the planted rows' cluster first.
    let mut joint = r;
    joint.extend(&c);
    let km = kmeans_points(
        &joint,
        d,
        &KMeansParams {
            k: 6,
            seed: 1,
            ..KMeansParams::default()
        },
    )
    .expect("k-means");
    let clusters = cluster_drift(&km.labels, n_side).expect("clusters");
    // The planted cluster: the one holding most planted rows.
    let in_cluster = |id: i64| {
        planted
            .iter()
            .filter(|&&i| i64::from(km.labels[n_side + i]) == id)
            .count()
    };
    let planted_id = clusters
        .iter()
        .map(|c| c.id)
        .max_by_key(|&id| in_cluster(id))
        .expect("clusters");
    let top = &clusters[0];
    println!(
        "clusters: {clusters:?}; planted rows in the first: {}",
        in_cluster(top.id)
    );
    assert_eq!(top.id, planted_id, "the planted cluster is ranked first");
    assert!(top.ratio > 0.9, "{top:?}");
    assert!(in_cluster(top.id) >= planted.len() * 8 / 10, "{top:?}");
    // It is the planted rows' region: hardly any other current row, no reference row.
    assert!(
        top.n_cur <= in_cluster(top.id) + 5 && top.n_ref <= 5,
        "{top:?}"
    );
}

fn err(r: Result<DriftReport, AnalysisError>) -> String {
    r.expect_err("refused").to_string()
}

#[test]
fn bad_input_gives_clear_errors() {
    let p = params(99, 0).check().expect("valid");
    let a = Matrix::from_vec(30, 4, synthetic(30, 4, 1)).expect("matrix");
    let b = Matrix::from_vec(30, 5, synthetic(30, 5, 2)).expect("matrix");
    let two = |r: &Matrix, c: &Matrix| {
        drift(
            DriftInput::Two {
                reference: r,
                current: c,
            },
            &p,
            &mut |_| {},
            None,
        )
    };
    let e = err(two(&a, &b));
    assert!(e.contains("4 dimensions") && e.contains("5"), "{e}");

    let small = Matrix::from_vec(9, 4, synthetic(9, 4, 3)).expect("matrix");
    let e = err(two(&a, &small));
    assert!(
        e.contains("current side has 9 usable rows") && e.contains("at least 10"),
        "{e}"
    );

    // NaN rows: left out and counted.
    let mut x = synthetic(30, 4, 4);
    x[4 * 4 + 1] = f32::NAN;
    x[7 * 4] = f32::INFINITY;
    let nan = Matrix::from_vec(30, 4, x).expect("matrix");
    let rep = two(&a, &nan).expect("runs with the finite rows");
    assert_eq!((rep.n_ref, rep.n_cur), (30, 28));
    assert_eq!(rep.nan_rows_left_out.current, 2);
    assert_eq!(rep.nan_rows_left_out.reference, 0);
    assert!(!rep.kept.current.contains(&4) && !rep.kept.current.contains(&7));
    let json = serde_json::to_value(&rep).expect("json");
    assert_eq!(json["nan_rows_left_out"]["current"], 2);

    // NaN rows leaving too few.
    let mut x = synthetic(12, 4, 5);
    for i in 0..3 {
        x[i * 4] = f32::NAN;
    }
    let e = err(two(&a, &Matrix::from_vec(12, 4, x).expect("matrix")));
    assert!(
        e.contains("9 usable rows") && e.contains("3 rows with NaN/Inf"),
        "{e}"
    );

    // Splits of one set.
    let split = |r: &[usize], c: &[usize]| {
        drift(
            DriftInput::Split {
                matrix: &a,
                reference: r,
                current: c,
            },
            &p,
            &mut |_| {},
            None,
        )
    };
    let rows: Vec<usize> = (0..30).collect();
    let e = err(split(&rows[..15], &rows[14..]));
    assert!(e.contains("row 14") && e.contains("both"), "{e}");
    let e = err(split(
        &rows[..15],
        &[15, 16, 17, 18, 19, 20, 21, 22, 23, 99],
    ));
    assert!(e.contains("row 99") && e.contains("30 rows"), "{e}");

    // Parameters.
    for (perm, ok) in [(0, false), (19, false), (20, true), (100_001, false)] {
        assert_eq!(params(perm, 0).check().is_ok(), ok, "{perm}");
    }
    let e = params(0, 0).check().expect_err("refused").to_string();
    assert!(e.contains("permutations must be between 20"), "{e}");
    let mut q = params(99, 0);
    q.pca = Some(9);
    let e = err(drift(
        DriftInput::Two {
            reference: &a,
            current: &a,
        },
        &q.check().expect("valid"),
        &mut |_| {},
        None,
    ));
    assert!(e.contains("--pca 9") && e.contains("4 dimensions"), "{e}");

    // Sample caps: MMD and energy on 12 rows per side, stated.
    let mut q = params(99, 0);
    q.kernel_sample = 12;
    q.median_sample = 10;
    let rep = drift(
        DriftInput::Two {
            reference: &a,
            current: &nan,
        },
        &q.check().expect("valid"),
        &mut |_| {},
        None,
    )
    .expect("runs");
    let ks = rep.kernel_sample.expect("sampled");
    assert_eq!((ks.reference, ks.current), (12, 12));
    assert_eq!(rep.methods[&DriftMethod::Mmd].rows.reference, 12);
    assert_eq!(rep.methods[&DriftMethod::Energy].rows.current, 12);
    assert_eq!(rep.methods[&DriftMethod::Ratio].rows.current, 28);
    let MethodDetails::Mmd { median_rows, .. } = &rep.methods[&DriftMethod::Mmd].details else {
        panic!("mmd");
    };
    assert_eq!((median_rows.reference, median_rows.current), (10, 10));
    q.kernel_sample = 9;
    assert!(q.check().is_err());

    // Identical rows everywhere: no kernel width, said plainly.
    let same = Matrix::from_vec(20, 4, vec![1.0; 80]).expect("matrix");
    let e = err(two(&same, &same));
    assert!(e.contains("median distance"), "{e}");
}

#[test]
fn cancel_and_progress() {
    let a = Matrix::from_vec(200, 6, synthetic(200, 6, 1)).expect("matrix");
    let b = Matrix::from_vec(150, 6, synthetic(150, 6, 2)).expect("matrix");
    let p = params(99, 0).check().expect("valid");
    let stop = AtomicBool::new(true);
    let r = drift(
        DriftInput::Two {
            reference: &a,
            current: &b,
        },
        &p,
        &mut |_| {},
        Some(&stop),
    );
    assert!(matches!(r, Err(AnalysisError::Cancelled)));
    let mut seen = Vec::new();
    let rep = drift(
        DriftInput::Two {
            reference: &a,
            current: &b,
        },
        &p,
        &mut |pr| seen.push(pr.fraction),
        None,
    )
    .expect("runs");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "{seen:?}");
    assert_eq!(seen.last().copied(), Some(1.0));
    // The JSON shape the CLI prints.
    let json = serde_json::to_value(&rep).expect("json");
    for name in [
        "distance_euclidean",
        "distance_cosine",
        "mmd",
        "classifier",
        "ratio",
        "energy",
    ] {
        let m = &json["methods"][name];
        for key in ["score", "threshold", "drift", "p_value"] {
            assert!(!m[key].is_null(), "{name}.{key}");
        }
    }
    assert_eq!(json["n_ref"], 200);
    assert_eq!(json["n_cur"], 150);
    assert_eq!(json["params"]["permutations"], 99);
    // Same seed, same numbers; PCA runs.
    let again = drift(
        DriftInput::Two {
            reference: &a,
            current: &b,
        },
        &p,
        &mut |_| {},
        None,
    )
    .expect("runs");
    assert_eq!(rep, again);
    let mut q = params(99, 0);
    q.pca = Some(3);
    let rep = drift(
        DriftInput::Two {
            reference: &a,
            current: &b,
        },
        &q.check().expect("valid"),
        &mut |_| {},
        None,
    )
    .expect("runs");
    let pca = rep.pca.expect("pca");
    assert_eq!(pca.components, 3);
    assert!(pca.explained_variance_ratio > 0.0 && pca.explained_variance_ratio <= 1.0 + 1e-9);
    let MethodDetails::Ratio { dims, .. } = rep.methods[&DriftMethod::Ratio].details else {
        panic!("ratio");
    };
    assert_eq!(dims, 3);
}
