//! The fast paths against slow, obviously-correct references.

use super::perm::{Labels, p_value, permutation_threshold};
use super::*;
use crate::analysis::project::Rng;

fn data(n: usize, d: usize, seed: u64, shift: f64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    (0..n * d)
        .map(|i| (rng.normal() * (1.0 + (i % d) as f64 * 0.1) + 0.5 + shift) as f32)
        .collect()
}

fn pooled(nr: usize, nc: usize, d: usize) -> Vec<f32> {
    let mut x = data(nr, d, 1, 0.0);
    x.extend(data(nc, d, 2, 0.3));
    x
}

/// Rows on the reference side under slot `s`.
fn side(labels: &Labels, n: usize, s: usize) -> Vec<bool> {
    (0..n).map(|i| labels.get(i, s)).collect()
}

#[test]
fn labels_keep_side_sizes_and_do_not_depend_on_the_batch() {
    let (n, k) = (300, 120);
    let a = Labels::new(n, k, 0, 200, 7, 1);
    assert!(
        (0..n).all(|i| a.get(i, 0) == (i < k)),
        "slot 0 is the observed split"
    );
    for s in 0..200 {
        assert_eq!(side(&a, n, s).iter().filter(|&&b| b).count(), k, "slot {s}");
    }
    let b = Labels::new(n, k, 70, 130, 7, 1);
    for s in 0..130 {
        assert_eq!(
            side(&a, n, s + 70),
            side(&b, n, s),
            "relabelling {}",
            s + 70
        );
    }
    // Different relabellings differ; another seed gives others.
    assert_ne!(side(&a, n, 1), side(&a, n, 2));
    let c = Labels::new(n, k, 0, 3, 8, 1);
    assert_ne!(side(&a, n, 1), side(&c, n, 1));
    // Each row is on the reference side in about k / n of the relabellings.
    let big = Labels::new(n, k, 1, 1000, 3, 1);
    for i in [0, 150, 299] {
        let f = (0..1000).filter(|&s| big.get(i, s)).count() as f64 / 1000.0;
        assert!((f - 0.4).abs() < 0.06, "row {i}: {f}");
    }
}

#[test]
fn centroid_distances_under_relabelling_match_direct_means() {
    let (nr, nc, d) = (37, 53, 5);
    let n = nr + nc;
    let x = pooled(nr, nc, d);
    let mean: Vec<f64> = centroid::column_sums(&x, d, 0..n)
        .iter()
        .map(|s| s / n as f64)
        .collect();
    let labels = Labels::new(n, nr, 0, 70, 11, 1);
    let sums = centroid::label_sums(&x, d, &mean, &labels, true, None).expect("runs");
    let (eu, co) = centroid::permuted(&sums, d, nr, n);
    for s in 0..70 {
        let is_r = side(&labels, n, s);
        let (mut a, mut b) = (vec![0f64; d], vec![0f64; d]);
        for i in 0..n {
            let t = if is_r[i] { &mut a } else { &mut b };
            for j in 0..d {
                t[j] += f64::from(x[i * d + j]);
            }
        }
        a.iter_mut().for_each(|v| *v /= nr as f64);
        b.iter_mut().for_each(|v| *v /= nc as f64);
        let (e, c) = centroid::distances(&a, &b);
        assert!(
            (eu[s] - e).abs() < 1e-5 * (1.0 + e),
            "slot {s}: {} vs {e}",
            eu[s]
        );
        assert!((co[s] - c).abs() < 1e-6, "slot {s}: {} vs {c}", co[s]);
    }
}

/// W1 between two samples by the definition (integral of |F - G| over the pooled points).
fn w1_naive(a: &[f64], b: &[f64]) -> f64 {
    let mut all: Vec<f64> = a.iter().chain(b).copied().collect();
    all.sort_by(f64::total_cmp);
    let cdf = |s: &[f64], v: f64| s.iter().filter(|&&x| x <= v).count() as f64 / s.len() as f64;
    (0..all.len() - 1)
        .map(|k| (cdf(a, all[k]) - cdf(b, all[k])).abs() * (all[k + 1] - all[k]))
        .sum()
}

#[test]
fn ratio_sweep_matches_the_definition_for_every_relabelling() {
    let (nr, nc, d) = (41, 29, 7);
    let n = nr + nc;
    let mut x = pooled(nr, nc, d);
    // Ties and a constant column.
    for i in 0..n {
        x[i * d + 3] = (x[i * d + 3] * 2.0).round() / 2.0;
        x[i * d + 5] = 1.25;
    }
    let labels = Labels::new(n, nr, 0, 130, 5, 1);
    let mean: Vec<f64> = centroid::column_sums(&x, d, 0..n)
        .iter()
        .map(|s| s / n as f64)
        .collect();
    let sums = centroid::label_sums(&x, d, &mean, &labels, true, None).expect("runs");
    let r = ratio::pass(&x, d, nr, &labels, &sums, 0.1, None).expect("runs");
    for s in 0..130 {
        let is_r = side(&labels, n, s);
        let mut count = 0;
        let mut sum = 0f64;
        for j in 0..d {
            let a: Vec<f64> = (0..n)
                .filter(|&i| is_r[i])
                .map(|i| f64::from(x[i * d + j]))
                .collect();
            let b: Vec<f64> = (0..n)
                .filter(|&i| !is_r[i])
                .map(|i| f64::from(x[i * d + j]))
                .collect();
            let m = a.iter().sum::<f64>() / a.len() as f64;
            let sd = (a.iter().map(|v| (v - m) * (v - m)).sum::<f64>() / a.len() as f64).sqrt();
            let norm = w1_naive(&a, &b) / sd.max(ratio::STD_FLOOR);
            if s == 0 {
                assert!(
                    (r.observed[j] - norm).abs() < 1e-12 * (1.0 + norm),
                    "dim {j}"
                );
            }
            count += u32::from(norm >= 0.1);
            sum += norm;
        }
        assert_eq!(r.counts[s], count, "slot {s}");
        assert!(
            (r.sums[s] - sum).abs() < 1e-4 * (1.0 + sum),
            "slot {s}: {} vs {sum}",
            r.sums[s]
        );
    }
}

#[test]
fn radix_sort_orders_like_a_comparison_sort() {
    let mut rng = Rng::new(4);
    let vals: Vec<f32> = (0..5000)
        .map(|i| match i % 5 {
            0 => -0.0,
            1 => (rng.normal() * 1e-30) as f32,
            2 => (rng.normal() * 1e20) as f32,
            _ => rng.normal() as f32,
        })
        .collect();
    let mut keys: Vec<u64> = vals
        .iter()
        .enumerate()
        .map(|(i, &v)| {
            let b = v.to_bits();
            let k = if b >> 31 == 1 { !b } else { b | 0x8000_0000 };
            (u64::from(k) << 32) | i as u64
        })
        .collect();
    let mut tmp = Vec::new();
    ratio::radix_sort(&mut keys, &mut tmp);
    let sorted: Vec<f32> = keys
        .iter()
        .map(|k| vals[(k & 0xffff_ffff) as usize])
        .collect();
    assert!(sorted.windows(2).all(|w| w[0] <= w[1]));
}

#[test]
fn kernel_pass_matches_the_pairwise_sums() {
    let (nr, nc, d) = (23, 31, 4);
    let n = nr + nc;
    let y = pooled(nr, nc, d);
    let gamma = 0.2;
    let labels = Labels::new(n, nr, 0, 40, 9, 2);
    let k = kernel::pass(&y, d, nr, gamma, &labels, None).expect("runs");
    let dist = |i: usize, j: usize| -> f64 {
        (0..d)
            .map(|t| (f64::from(y[i * d + t]) - f64::from(y[j * d + t])).powi(2))
            .sum::<f64>()
            .sqrt()
    };
    for s in 0..40 {
        let is_r = side(&labels, n, s);
        let (mut krr, mut kcc, mut krc, mut err, mut ecc, mut erc) =
            (0f64, 0f64, 0f64, 0f64, 0f64, 0f64);
        for i in 0..n {
            for j in 0..n {
                if i == j {
                    continue;
                }
                let dd = dist(i, j);
                let kv = (-gamma * dd * dd).exp();
                match (is_r[i], is_r[j]) {
                    (true, true) => {
                        krr += kv;
                        err += dd;
                    }
                    (false, false) => {
                        kcc += kv;
                        ecc += dd;
                    }
                    (true, false) => {
                        krc += kv;
                        erc += dd;
                    }
                    _ => {}
                }
            }
        }
        let (fr, fc) = (nr as f64, nc as f64);
        let mmd = krr / (fr * (fr - 1.0)) + kcc / (fc * (fc - 1.0)) - 2.0 * krc / (fr * fc);
        let en = 2.0 * erc / (fr * fc) - err / (fr * fr) - ecc / (fc * fc);
        assert!(
            (k.mmd[s] - mmd).abs() < 2e-6,
            "slot {s}: mmd {} vs {mmd}",
            k.mmd[s]
        );
        assert!(
            (k.energy[s] - en).abs() < 2e-5,
            "slot {s}: energy {} vs {en}",
            k.energy[s]
        );
        if s == 0 {
            assert!(
                (k.mmd_observed - mmd).abs() < 1e-6,
                "{} vs {mmd}",
                k.mmd_observed
            );
            assert!(
                (k.energy_observed - en).abs() < 1e-5,
                "{} vs {en}",
                k.energy_observed
            );
        }
    }
}

#[test]
fn median_distance_is_numpys_median() {
    let d = 3;
    let r = data(7, d, 1, 0.0);
    let c = data(6, d, 2, 1.0);
    let mut all = Vec::new();
    for i in 0..7 {
        for j in 0..6 {
            let s: f64 = (0..d)
                .map(|t| (f64::from(r[i * d + t]) - f64::from(c[j * d + t])).powi(2))
                .sum();
            all.push(s.sqrt());
        }
    }
    all.sort_by(f64::total_cmp);
    let want = (all[20] + all[21]) / 2.0;
    let got = kernel::median_distance(&r, &c, d);
    assert!((got - want).abs() < 1e-5, "{got} vs {want}");
    let odd = kernel::median_distance(&r[..5 * d], &c[..5 * d], d);
    let mut v = Vec::new();
    for i in 0..5 {
        for j in 0..5 {
            v.push(
                (0..d)
                    .map(|t| (f64::from(r[i * d + t]) - f64::from(c[j * d + t])).powi(2))
                    .sum::<f64>()
                    .sqrt(),
            );
        }
    }
    v.sort_by(f64::total_cmp);
    assert!((odd - v[12]).abs() < 1e-5);
}

#[test]
fn auc_under_relabelling_matches_a_direct_count() {
    let mut rng = Rng::new(3);
    let n = 90;
    // Scores with ties.
    let scores: Vec<f64> = (0..n).map(|_| (rng.normal() * 4.0).round()).collect();
    let ranks = average_ranks(&scores);
    let n_pos = 35;
    let labels = Labels::new(n, n_pos, 0, 50, 1, 3);
    let aucs = classifier::permuted_aucs(&ranks, &labels, n_pos);
    for (s, auc) in aucs.iter().enumerate().take(50) {
        let pos = side(&labels, n, s);
        let mut wins = 0f64;
        for i in (0..n).filter(|&i| pos[i]) {
            for j in (0..n).filter(|&j| !pos[j]) {
                wins += if scores[i] > scores[j] {
                    1.0
                } else if scores[i] == scores[j] {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let want = wins / (n_pos * (n - n_pos)) as f64;
        assert!((auc - want).abs() < 1e-12, "slot {s}");
        assert!((roc_auc(&scores, &pos).expect("both sides") - want).abs() < 1e-12);
    }
}

#[test]
fn logistic_fit_reaches_the_optimum() {
    let (nr, nc, d) = (120, 80, 6);
    let x = pooled(nr, nc, d);
    let train: Vec<usize> = (0..nr + nc).collect();
    let y: Vec<f64> = train
        .iter()
        .map(|&i| f64::from(u8::from(i >= nr)))
        .collect();
    let c = 0.7;
    let fit = fit_logistic(&x, d, &train, &y, c, 100, None).expect("fits");
    assert!(fit.converged, "{} iterations", fit.iterations);
    // The gradient of sum(log loss) + |w|^2 / (2C) in the standardised space is zero.
    let mut g = vec![0f64; d + 1];
    for &i in &train {
        let row = &x[i * d..(i + 1) * d];
        let z = fit.decision(row);
        let r = 1.0 / (1.0 + (-z).exp()) - y[i];
        for j in 0..d {
            g[j] += r * (f64::from(row[j]) - fit.mean[j]) / fit.scale[j];
        }
        g[d] += r;
    }
    for (gj, coef) in g.iter_mut().zip(&fit.coef).take(d) {
        *gj += coef / c;
    }
    let gmax = g.iter().fold(0f64, |m, v| m.max(v.abs()));
    assert!(gmax < 1e-5, "gradient {g:?}");
}

#[test]
fn permutation_threshold_agrees_with_the_p_value() {
    let mut rng = Rng::new(12);
    for b in [20usize, 99, 199, 1000] {
        let null: Vec<f64> = (0..b).map(|_| rng.normal()).collect();
        for alpha in [0.05, 0.01, 0.1] {
            if 1.0 / (b as f64 + 1.0) >= alpha {
                continue;
            }
            let t = permutation_threshold(&null, alpha);
            for k in 0..200 {
                let s = -3.0 + k as f64 * 0.03;
                assert_eq!(
                    s > t,
                    p_value(s, &null) < alpha,
                    "b {b} alpha {alpha} s {s}"
                );
            }
            for &s in &null {
                assert_eq!(s > t, p_value(s, &null) < alpha);
            }
        }
    }
    assert_eq!(min_permutations(0.05), 20);
    assert_eq!(min_permutations(0.01), 100);
    assert_eq!(min_permutations(0.03), 33);
}

#[test]
fn clusters_are_ranked_by_the_size_normalised_ratio() {
    // Reference: 100 rows, current: 50. Cluster 0 holds the same share of both sides;
    // cluster 1 only current rows; cluster 2 mostly reference; -1 noise.
    let mut labels: Vec<i32> = Vec::new();
    labels.extend(std::iter::repeat_n(0, 60));
    labels.extend(std::iter::repeat_n(2, 36));
    labels.extend(std::iter::repeat_n(-1, 4));
    labels.extend(std::iter::repeat_n(0, 30));
    labels.extend(std::iter::repeat_n(1, 15));
    labels.extend(std::iter::repeat_n(2, 3));
    labels.extend(std::iter::repeat_n(-1, 2));
    let c = cluster_drift(&labels, 100).expect("both sides");
    let ids: Vec<i64> = c.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![1, 2, 0, -1]);
    assert_eq!(c[0].ratio, 1.0);
    assert_eq!((c[0].n_ref, c[0].n_cur), (0, 15));
    assert!((c[1].ratio - (0.06 - 0.36) / (0.06 + 0.36)).abs() < 1e-12);
    assert!(
        c[2].ratio.abs() < 1e-12,
        "same share on both sides: {}",
        c[2].ratio
    );
    assert!(c[3].noise && c[3].ratio.abs() < 1e-12);
    assert!(cluster_drift(&labels, 0).is_err());
    assert!(cluster_drift(&labels, labels.len()).is_err());
}

#[test]
fn parameters_are_checked() {
    assert!(DriftParams::default().check().is_ok());
    let bad = |f: &dyn Fn(&mut DriftParams)| {
        let mut p = DriftParams::default();
        f(&mut p);
        p.check().expect_err("refused").to_string()
    };
    assert!(bad(&|p| p.permutations = 0).contains("permutations"));
    assert!(bad(&|p| p.permutations = 19).contains("permutations"));
    assert!(bad(&|p| p.permutations = 10_000_000).contains("permutations"));
    assert!(bad(&|p| p.methods.clear()).contains("no drift method"));
    assert!(bad(&|p| p.methods = vec![DriftMethod::Mmd, DriftMethod::Mmd]).contains("twice"));
    assert!(bad(&|p| p.pca = Some(0)).contains("PCA"));
    assert!(bad(&|p| p.kernel_sample = 5).contains("sample"));
    assert!(bad(&|p| p.kernel_sample = 1_000_000).contains("sample"));
    assert!(bad(&|p| p.median_sample = 0).contains("median"));
    assert!(bad(&|p| p.alpha = 0.0).contains("alpha"));
    assert!(bad(&|p| p.thresholds.mmd = Some(f64::NAN)).contains("mmd"));
    assert!(bad(&|p| p.classifier.c = 0.0).contains("C"));
    assert!(bad(&|p| p.classifier.test_share = 1.0).contains("test share"));
    assert_eq!(
        DriftMethod::parse_list("mmd, ratio").expect("names"),
        vec![DriftMethod::Mmd, DriftMethod::Ratio]
    );
    assert_eq!(DriftMethod::parse_list("all").expect("all").len(), 6);
    assert!(DriftMethod::parse_list("mmd,kl").is_err());
}

#[test]
fn every_sweep_level_gives_the_same_sums() {
    let n = 3000;
    let x = data(n, 1, 6, 0.0);
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_by(|&a, &b| x[a as usize].total_cmp(&x[b as usize]));
    let v: Vec<f32> = order.iter().map(|&i| x[i as usize]).collect();
    let labels = Labels::new(n, 1200, 0, 64, 2, 1);
    let (alpha, inv_nc) = ((1.0 / 1200.0 + 1.0 / 1800.0) as f32, (1.0 / 1800.0) as f32);
    let base = ratio::sweep64(ratio::Level::Base, labels.col(0), &order, &v, alpha, inv_nc);
    let mut levels = vec![ratio::level()];
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma") {
        levels.push(ratio::Level::V3);
    }
    for here in levels {
        let fast = ratio::sweep64(here, labels.col(0), &order, &v, alpha, inv_nc);
        check_lanes(&base, &fast, here);
    }
}

fn check_lanes(base: &ratio::Sums64, fast: &ratio::Sums64, here: ratio::Level) {
    for (l, (&a, &b)) in base.w1.iter().zip(&fast.w1).enumerate() {
        assert!(
            (a - b).abs() <= 1e-5 * (1.0 + a.abs()),
            "{here:?} lane {l}: {a} vs {b}"
        );
    }
}
