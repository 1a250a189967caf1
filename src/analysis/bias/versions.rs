//! Bias probes across model versions: the difference of two WEAT effect sizes with a paired
//! permutation test, and Holm's correction over a family of tests.
//!
//! The difference is taken on the target words both versions have. Within each version the
//! associations s(w) of those words are standardised (z = (s - mean) / sd, population sd over
//! X u Y), so that version's effect size is `mean_X z - mean_Y z`; the statistic is the
//! difference of the two effect sizes, `sum_w c_w (z_A(w) - z_B(w))` with `c_w = 1/|X|` for X
//! words and `-1/|Y|` for Y words. Under the null hypothesis that the versions do not differ,
//! a word's two standardised associations are exchangeable: swapping them flips the sign of its
//! term. The two-sided p-value is the share of the 2^n sign patterns (every one when 2^n is at
//! most `exact_limit`, else `permutations` seeded random ones, p = (count + 1) / (N + 1)) whose
//! |statistic| reaches the observed one.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use super::sets::WeatTest;
use super::weat::{PValueMethod, Role, WeatOptions, WeatResult, random_p};
use crate::analysis::AnalysisError;

/// The difference of one test's effect size between two versions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectDifference {
    pub test: String,
    /// Names of the two versions (as the caller labels them).
    pub a: String,
    pub b: String,
    /// Effect sizes on the common target words.
    pub effect_a: f64,
    pub effect_b: f64,
    /// effect_a - effect_b.
    pub difference: f64,
    /// Target words found in both versions (X, Y).
    pub common: [usize; 2],
    pub p_value: f64,
    pub p_value_method: PValueMethod,
    /// Holm-adjusted p-value within the family of differences reported together.
    pub p_holm: f64,
}

fn standardised(values: &[f64]) -> Option<Vec<f64>> {
    let n = values.len() as f64;
    let mean = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt();
    if sd.is_nan() || sd <= 1e-300 || !sd.is_finite() {
        return None;
    }
    Some(values.iter().map(|v| (v - mean) / sd).collect())
}

/// Difference of `ra`'s and `rb`'s effect sizes (the same test on two versions).
pub fn effect_difference(
    (name_a, ra): (&str, &WeatResult),
    (name_b, rb): (&str, &WeatResult),
    opts: &WeatOptions,
) -> Result<EffectDifference, AnalysisError> {
    let lookup: HashMap<(Role, &str), f64> = rb
        .associations
        .iter()
        .map(|a| ((a.set, a.word.as_str()), a.s))
        .collect();
    let mut sa = Vec::new();
    let mut sb = Vec::new();
    let mut nx = 0;
    for role in [Role::X, Role::Y] {
        for a in ra.associations.iter().filter(|a| a.set == role) {
            if let Some(&s) = lookup.get(&(role, a.word.as_str())) {
                sa.push(a.s);
                sb.push(s);
                if role == Role::X {
                    nx += 1;
                }
            }
        }
    }
    let ny = sa.len() - nx;
    if nx < 2 || ny < 2 {
        return Err(AnalysisError::InvalidParameter(format!(
            "{}: {name_a} and {name_b} share only {nx} X and {ny} Y target words; the \
             difference test needs at least 2 of each",
            ra.test
        )));
    }
    let (Some(za), Some(zb)) = (standardised(&sa), standardised(&sb)) else {
        return Err(AnalysisError::InvalidParameter(format!(
            "{}: the associations of one version have no spread",
            ra.test
        )));
    };
    let coef = |i: usize| {
        if i < nx {
            1.0 / nx as f64
        } else {
            -1.0 / ny as f64
        }
    };
    let ea: f64 = za.iter().enumerate().map(|(i, z)| coef(i) * z).sum();
    let eb: f64 = zb.iter().enumerate().map(|(i, z)| coef(i) * z).sum();
    let terms: Vec<f64> = (0..sa.len()).map(|i| coef(i) * (za[i] - zb[i])).collect();
    let observed: f64 = terms.iter().sum();
    let (p_value, method) = sign_flip_p(&terms, observed.abs(), opts);
    Ok(EffectDifference {
        test: ra.test.clone(),
        a: name_a.to_string(),
        b: name_b.to_string(),
        effect_a: ea,
        effect_b: eb,
        difference: ea - eb,
        common: [nx, ny],
        p_value,
        p_value_method: method,
        p_holm: p_value,
    })
}

/// Two-sided sign-flip p-value of `sum terms` reaching `observed_abs`.
fn sign_flip_p(terms: &[f64], observed_abs: f64, opts: &WeatOptions) -> (f64, PValueMethod) {
    let n = terms.len();
    let tol = 1e-10 * terms.iter().map(|t| t.abs()).sum::<f64>().max(1e-300);
    let threshold = observed_abs - tol;
    if n < 63 && (1u64 << n) <= opts.exact_limit {
        let total = 1u64 << n;
        // Split on the first few signs over threads; walk the rest recursively.
        fn rec(terms: &[f64], i: usize, sum: f64, threshold: f64) -> u64 {
            if i == terms.len() {
                return (sum.abs() >= threshold) as u64;
            }
            rec(terms, i + 1, sum + terms[i], threshold)
                + rec(terms, i + 1, sum - terms[i], threshold)
        }
        let head = n.min(6);
        let count: u64 = (0..1u64 << head)
            .into_par_iter()
            .map(|mask| {
                let mut sum = 0.0;
                for (i, t) in terms.iter().take(head).enumerate() {
                    sum += if mask >> i & 1 == 1 { -*t } else { *t };
                }
                rec(terms, head, sum, threshold)
            })
            .sum();
        return (
            count as f64 / total as f64,
            PValueMethod::Exact { partitions: total },
        );
    }
    random_p(
        opts.permutations,
        opts.seed,
        || (),
        |rng, _| {
            let mut sum = 0.0;
            let mut bits = 0u64;
            for (i, t) in terms.iter().enumerate() {
                if i % 64 == 0 {
                    bits = rng.next_u64();
                }
                sum += if bits & 1 == 1 { -*t } else { *t };
                bits >>= 1;
            }
            sum.abs() >= threshold
        },
    )
}

/// One set of probes run on several versions, corrected together.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VersionGrid {
    /// Holm-adjusted p-value of each result, `[test][version]`, over every result in the grid
    /// (`None` where a cell has no result).
    pub p_holm: Vec<Vec<Option<f64>>>,
    /// Per test, each pair of versions (earlier - later) that both have a result; `p_holm` over
    /// these differences as their own family.
    pub differences: Vec<EffectDifference>,
    /// Differences that could not be computed, as "a - b: reason".
    pub errors: Vec<String>,
}

/// Holm over the grid's p-values and the pairwise effect-size differences per test.
/// `grid[test][version]`; `names[version]` labels the differences. `cancelled` is polled
/// between differences.
pub fn across_versions(
    names: &[String],
    grid: &[Vec<Option<WeatResult>>],
    opts: &WeatOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<VersionGrid, AnalysisError> {
    let p: Vec<f64> = grid.iter().flatten().flatten().map(|r| r.p_value).collect();
    let mut adjusted = holm(&p).into_iter();
    let p_holm = grid
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| c.as_ref().and_then(|_| adjusted.next()))
                .collect()
        })
        .collect();
    let mut differences = Vec::new();
    let mut errors = Vec::new();
    for row in grid {
        for i in 0..row.len() {
            for j in i + 1..row.len() {
                if cancelled() {
                    return Err(AnalysisError::Cancelled);
                }
                let (Some(ra), Some(rb)) = (&row[i], &row[j]) else {
                    continue;
                };
                let (na, nb) = (name_at(names, i), name_at(names, j));
                match effect_difference((na, ra), (nb, rb), opts) {
                    Ok(d) => differences.push(d),
                    Err(e) => errors.push(format!("{na} - {nb}: {e}")),
                }
            }
        }
    }
    let adj = holm(&differences.iter().map(|d| d.p_value).collect::<Vec<_>>());
    for (d, p) in differences.iter_mut().zip(adj) {
        d.p_holm = p;
    }
    Ok(VersionGrid {
        p_holm,
        differences,
        errors,
    })
}

/// A cell of the grid that could not run.
#[derive(Debug, Clone, PartialEq)]
pub struct CellFailure {
    pub test: usize,
    pub version: usize,
    pub error: AnalysisError,
}

/// Every test on every version, and the statistics across them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WeatGrid {
    /// `results[test][version]`, None where the cell failed.
    pub results: Vec<Vec<Option<WeatResult>>>,
    /// Cells that failed, in grid order.
    pub failures: Vec<CellFailure>,
    /// Holm over the grid and the pairwise effect-size differences (`across_versions`).
    pub across: VersionGrid,
}

/// Runs `run(test, version)` for every test (outer) and version (inner), reporting
/// `progress(done, total, test_index, version_index)` before each cell and polling
/// `cancelled` before each cell and inside `across_versions`; a failing cell is recorded
/// and the rest still run. `names[version]` labels the differences.
/// Returns `Err(AnalysisError::Cancelled)` when cancelled (also when `run` returns it).
pub fn weat_grid(
    tests: &[WeatTest],
    names: &[String],
    opts: &WeatOptions,
    run: &mut dyn FnMut(&WeatTest, usize) -> Result<WeatResult, AnalysisError>,
    progress: &mut dyn FnMut(usize, usize, usize, usize),
    cancelled: &dyn Fn() -> bool,
) -> Result<WeatGrid, AnalysisError> {
    let versions = names.len();
    let total = tests.len() * versions;
    let mut results = Vec::with_capacity(tests.len());
    let mut failures = Vec::new();
    for (ti, test) in tests.iter().enumerate() {
        let mut row = Vec::with_capacity(versions);
        for vi in 0..versions {
            if cancelled() {
                return Err(AnalysisError::Cancelled);
            }
            progress(ti * versions + vi, total, ti, vi);
            match run(test, vi) {
                Ok(r) => row.push(Some(r)),
                Err(AnalysisError::Cancelled) => return Err(AnalysisError::Cancelled),
                Err(error) => {
                    failures.push(CellFailure {
                        test: ti,
                        version: vi,
                        error,
                    });
                    row.push(None);
                }
            }
        }
        results.push(row);
    }
    let across = across_versions(names, &results, opts, cancelled)?;
    Ok(WeatGrid {
        results,
        failures,
        across,
    })
}

fn name_at(names: &[String], i: usize) -> &str {
    names.get(i).map_or("?", String::as_str)
}

/// Holm's step-down adjustment: sorted ascending, `p_(i) * (m - i)` made monotone and capped at
/// 1; NaN p-values are left NaN and not counted in m.
pub fn holm(p: &[f64]) -> Vec<f64> {
    let mut idx: Vec<usize> = (0..p.len()).filter(|&i| !p[i].is_nan()).collect();
    idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
    let m = idx.len();
    let mut out = vec![f64::NAN; p.len()];
    let mut running: f64 = 0.0;
    for (rank, &i) in idx.iter().enumerate() {
        let adj = (p[i] * (m - rank) as f64).min(1.0);
        running = running.max(adj);
        out[i] = running;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::bias::{WordSet, weat_on_vectors};

    fn set(name: &str, n: usize) -> WordSet {
        WordSet::new(name, (0..n).map(|i| format!("{name}{i}")).collect())
    }

    fn test(name: &str) -> WeatTest {
        WeatTest {
            name: name.into(),
            x: set("x", 4),
            y: set("y", 4),
            a: set("a", 3),
            b: set("b", 3),
            original: None,
        }
    }

    /// Vectors where X leans to A and Y to B by `lean`, with a word-dependent spread.
    fn vectors(lean: f32) -> [Vec<Vec<f32>>; 4] {
        let word = |i: usize, base: [f32; 3]| {
            let j = i as f32 * 0.37;
            vec![
                base[0] + j.sin() * 0.3,
                base[1] + j.cos() * 0.3,
                base[2] + 0.1 * j,
            ]
        };
        [
            (0..4).map(|i| word(i, [1.0, lean, 0.2])).collect(),
            (0..4).map(|i| word(i + 7, [lean, 1.0, 0.2])).collect(),
            (0..3).map(|i| word(i + 13, [1.0, 0.0, 0.5])).collect(),
            (0..3).map(|i| word(i + 19, [0.0, 1.0, 0.5])).collect(),
        ]
    }

    fn opts() -> WeatOptions {
        WeatOptions {
            bootstrap: 0,
            ..WeatOptions::default()
        }
    }

    fn names() -> Vec<String> {
        vec!["v1".into(), "v2".into(), "v3".into()]
    }

    #[test]
    fn weat_grid_records_failures_and_runs_the_rest() {
        let tests = [test("t1"), test("t2")];
        let o = opts();
        let mut calls = Vec::new();
        let mut steps = Vec::new();
        let g = weat_grid(
            &tests,
            &names(),
            &o,
            &mut |t, v| {
                calls.push((t.name.clone(), v));
                if t.name == "t1" && v == 1 {
                    return Err(AnalysisError::InvalidParameter("no words".into()));
                }
                weat_on_vectors(t, vectors(0.1 * v as f32), &o)
            },
            &mut |done, total, ti, vi| steps.push((done, total, ti, vi)),
            &|| false,
        )
        .unwrap();
        assert_eq!(calls.len(), 6);
        assert_eq!(calls[2], ("t1".to_string(), 2));
        assert_eq!(
            steps,
            (0..6).map(|k| (k, 6, k / 3, k % 3)).collect::<Vec<_>>()
        );
        assert_eq!(
            g.failures,
            vec![CellFailure {
                test: 0,
                version: 1,
                error: AnalysisError::InvalidParameter("no words".into()),
            }]
        );
        assert!(g.results[0][1].is_none());
        assert_eq!(g.results.iter().flatten().flatten().count(), 5);
        // Holm and the differences are those of `across_versions` on the same grid.
        let direct = across_versions(&names(), &g.results, &o, &|| false).unwrap();
        assert_eq!(g.across, direct);
        assert_eq!(g.across.p_holm[0][1], None);
        // t1: only v1 - v3; t2: every pair.
        assert_eq!(g.across.differences.len(), 4);
        assert_eq!(
            (
                g.across.differences[0].a.as_str(),
                g.across.differences[0].b.as_str()
            ),
            ("v1", "v3")
        );
    }

    #[test]
    fn weat_grid_stops_when_cancelled() {
        let tests = [test("t1"), test("t2")];
        let o = opts();
        let ran = std::cell::Cell::new(0);
        let r = weat_grid(
            &tests,
            &names(),
            &o,
            &mut |t, v| {
                ran.set(ran.get() + 1);
                weat_on_vectors(t, vectors(0.1 * v as f32), &o)
            },
            &mut |_, _, _, _| {},
            &|| ran.get() >= 2,
        );
        assert_eq!(r, Err(AnalysisError::Cancelled));
        assert_eq!(ran.get(), 2);
        // A runner that reports cancellation cancels the grid.
        let r = weat_grid(
            &tests,
            &names(),
            &o,
            &mut |_, _| Err(AnalysisError::Cancelled),
            &mut |_, _, _, _| {},
            &|| false,
        );
        assert_eq!(r, Err(AnalysisError::Cancelled));
    }

    #[test]
    fn holm_matches_statsmodels() {
        // statsmodels.stats.multitest.multipletests([0.01, 0.04, 0.03, 0.005], method="holm")
        let adj = holm(&[0.01, 0.04, 0.03, 0.005]);
        let want = [0.03, 0.06, 0.06, 0.02];
        for (a, w) in adj.iter().zip(want) {
            assert!((a - w).abs() < 1e-12, "{adj:?}");
        }
        let adj = holm(&[0.5, f64::NAN, 0.8]);
        assert_eq!(adj[0], 1.0);
        assert!(adj[1].is_nan());
        assert_eq!(adj[2], 1.0);
    }

    #[test]
    fn sign_flip_exact_equals_brute_force() {
        let terms = [0.3, -0.1, 0.25, 0.05, -0.4, 0.2, 0.15, -0.05, 0.1];
        let obs: f64 = terms.iter().sum::<f64>().abs();
        let opts = WeatOptions::default();
        let (p, m) = sign_flip_p(&terms, obs, &opts);
        assert_eq!(m, PValueMethod::Exact { partitions: 512 });
        let mut count = 0;
        for mask in 0..512u32 {
            let s: f64 = terms
                .iter()
                .enumerate()
                .map(|(i, t)| if mask >> i & 1 == 1 { -t } else { *t })
                .sum();
            if s.abs() >= obs - 1e-12 {
                count += 1;
            }
        }
        assert_eq!(p, count as f64 / 512.0);
    }
}
