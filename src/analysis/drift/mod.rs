//! Drift between two samples of one embedding space: has the data moved, and where.
//!
//! [`drift`] takes a reference sample R and a current sample C (two matrices, or two sets of
//! rows of one matrix), leaves out rows holding NaN/Inf (counted), optionally projects both
//! onto the principal components of the pooled rows, and runs the chosen [`DriftMethod`]s.
//! Every method gives a score, a threshold (Evidently's default where it has one), whether the
//! score exceeds it, and a permutation p-value. [`cluster_drift`] says which regions moved,
//! given cluster labels of the joint rows.
//!
//! Definitions follow Evidently's legacy `embedding_drift_methods` (tests/drift.rs checks the
//! numbers against it): `distance` (centroid distance, euclidean or 1 - cos), `ratio`
//! (share of dimensions whose Wasserstein-1 distance over the reference's population standard
//! deviation, floored at 0.001, is >= 0.1; drift above 0.2), `mmd` (max(MMD^2_u, 0) with an
//! RBF kernel, gamma = 1 / median(R x C distances)^2 on up to 1,000 rows of each side) and
//! `model` (here `classifier`: the ROC AUC of a domain classifier on held-out rows). `energy`
//! (the energy distance) is not in Evidently.
//!
//! Where embedscope differs from Evidently, and why:
//! - **p-values.** Evidently's optional `bootstrap` compares the score with a quantile of
//!   scores between two resamples of the *reference* alone (random predictions for `model`);
//!   embedscope gives every method a permutation p-value `(b + 1) / (B + 1)`, `b` the number
//!   of the `B` random relabellings of the pooled rows (side sizes kept) whose statistic is at
//!   least the observed one. The observed split counts as one of the equally likely
//!   relabellings, so the p-value is never 0 and `P(p <= alpha) <= alpha` under no drift.
//!   Each test's relabellings come from their own seeded stream.
//! - **PCA** (`pca`) is fitted on the pooled rows, not on the reference alone as Evidently
//!   does: a projection that does not depend on the labels keeps the permutation tests exact.
//! - **MMD and energy** run on a seeded sample of at most `kernel_sample` rows per side
//!   (Evidently's MMD uses every row, an n^2 matrix); the median distance on the first
//!   `median_sample` rows of each side's sample (Evidently: pandas `sample(random_state=0)`,
//!   the same rows when a side has at most 1,000). gamma is held fixed under relabelling.
//! - **classifier**: L2 logistic regression (C = 1) on standardised features, fitted exactly
//!   (Newton), with a stratified seeded half of each side held out; Evidently uses an
//!   `SGDClassifier` on unscaled features with an unstratified split (`random_state=42`). Both
//!   report the held-out ROC AUC; the solvers differ, so the AUCs agree only up to the noise
//!   of a stochastic fit. The permutation baseline relabels the held-out rows (the model
//!   fixed): an exact test of the AUC.
//! - **ratio**: the permutation test orders relabellings by the share, ties broken by the
//!   mean normalised distance over all dimensions (the share alone takes few values and would
//!   make the test conservative).
//!
//! Cost: the centroid and ratio tests run on every row; one batch of up to 1,024
//! relabellings costs one matrix product over the rows (the relabelled sums, and sums of
//! squares for ratio's standard deviations) and, for ratio, one sweep per dimension over its
//! sorted values; MMD and energy one pass over the upper triangle of the sample's distances
//! with a matrix product against the batch's labels. 50k x 384 rows per side, all six methods
//! with 1,000 permutations: about 6 s on two cores (BENCHMARKS.md).

mod centroid;
mod classifier;
mod clusters;
mod kernel;
mod params;
mod perm;
mod ratio;
mod study;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use rayon::prelude::*;
use serde::Serialize;

use crate::analysis::AnalysisError;
use crate::analysis::project::pca;
use crate::core::Matrix;

pub use classifier::{LogisticFit, average_ranks, fit_logistic, roc_auc};
pub use clusters::{ClusterDrift, cluster_drift};
pub use params::{
    ClassifierParams, DriftMethod, DriftParams, Thresholds, ValidDriftParams, min_permutations,
};

pub use study::{
    ClusterRow, DriftSides, DriftStudy, JointMap, SideRow, SplitInfo, StudyParams, StudySeconds,
    ValidStudyParams, study,
};

use perm::{Labels, batches, p_value, permutation_threshold, shuffled, stream_seed};

/// The two samples.
#[derive(Debug, Clone, Copy)]
pub enum DriftInput<'a> {
    /// Two matrices of one space (same dimension).
    Two {
        reference: &'a Matrix,
        current: &'a Matrix,
    },
    /// Two disjoint sets of rows of one matrix (a data set split by a column).
    Split {
        matrix: &'a Matrix,
        reference: &'a [usize],
        current: &'a [usize],
    },
}

/// A count per side.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct SideCounts {
    pub reference: usize,
    pub current: usize,
}

/// Where a method's threshold comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ThresholdRule {
    /// A fixed value from the parameters (Evidently's defaults unless changed).
    Fixed,
    /// The score whose permutation p-value falls below alpha (the method's own null).
    Permutation,
}

/// What a method adds to its score.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum MethodDetails {
    Distance {
        /// Norms of the two centroids (in the space the test ran in).
        reference_centroid_norm: f64,
        current_centroid_norm: f64,
    },
    Mmd {
        /// The unbiased MMD^2 before flooring at 0.
        mmd2_unbiased: f64,
        gamma: f64,
        median_distance: f64,
        /// Rows of each side behind the median distance.
        median_rows: SideCounts,
    },
    Energy {},
    Classifier {
        train_rows: SideCounts,
        test_rows: SideCounts,
        c: f64,
        iterations: usize,
        converged: bool,
    },
    Ratio {
        drifted_dims: usize,
        dims: usize,
        component_threshold: f64,
        /// Each dimension's Wasserstein-1 distance over the reference's standard deviation
        /// (floored at 0.001).
        per_dim: Vec<f64>,
    },
}

/// One method's result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MethodResult {
    pub score: f64,
    pub threshold: f64,
    pub threshold_rule: ThresholdRule,
    /// `score > threshold`.
    pub drift: bool,
    /// Permutation p-value, `(b + 1) / (permutations + 1)`.
    pub p_value: f64,
    /// `p_value < alpha`.
    pub significant: bool,
    pub permutations: usize,
    /// Rows of each side the method used (a sample for MMD and energy).
    pub rows: SideCounts,
    pub details: MethodDetails,
}

/// The principal components the methods ran on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PcaInfo {
    pub components: usize,
    /// Share of the pooled rows' variance the components keep.
    pub explained_variance_ratio: f64,
}

/// The rows of each side that were used (finite), as indices of the input: rows of each
/// matrix for [`DriftInput::Two`], rows of the one matrix for [`DriftInput::Split`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KeptRows {
    pub reference: Vec<usize>,
    pub current: Vec<usize>,
}

/// Everything a drift run found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DriftReport {
    /// One entry per method run, keyed by its name, in [`DriftMethod::ALL`] order.
    pub methods: BTreeMap<DriftMethod, MethodResult>,
    /// Rows used per side (rows with NaN/Inf left out).
    pub n_ref: usize,
    pub n_cur: usize,
    pub nan_rows_left_out: SideCounts,
    /// Dimension of the input rows.
    pub dim: usize,
    pub pca: Option<PcaInfo>,
    /// Rows per side behind MMD and energy, when either ran.
    pub kernel_sample: Option<SideCounts>,
    pub permutations: usize,
    pub alpha: f64,
    pub params: ValidDriftParams,
    #[serde(skip)]
    pub kept: KeptRows,
}

/// Where a run is, for progress displays.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DriftProgress {
    /// What runs now ("centroid distances and ratio", "MMD and energy", "classifier", ...).
    pub stage: &'static str,
    /// Share of the whole run done, 0 to 1.
    pub fraction: f32,
}

fn cancelled(cancel: Option<&AtomicBool>) -> Result<(), AnalysisError> {
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        Err(AnalysisError::Cancelled)
    } else {
        Ok(())
    }
}

/// A fixed partition of `0..n` (16 parts): sums over it do not depend on the thread count.
fn fixed_parts(n: usize) -> Vec<(usize, usize)> {
    const PARTS: usize = 16;
    let per = n.div_ceil(PARTS).max(1);
    (0..n.div_ceil(per))
        .map(|p| (p * per, ((p + 1) * per).min(n)))
        .collect()
}

/// The finite rows among `rows` of `m`.
fn finite_rows(
    m: &Matrix,
    rows: impl IndexedParallelIterator<Item = usize>,
) -> (Vec<usize>, usize) {
    let all: Vec<(usize, bool)> = rows
        .map(|i| (i, m.row(i).iter().all(|v| v.is_finite())))
        .collect();
    let kept: Vec<usize> = all.iter().filter(|(_, ok)| *ok).map(|(i, _)| *i).collect();
    let left = all.len() - kept.len();
    (kept, left)
}

fn gather(out: &mut [f32], m: &Matrix, rows: &[usize]) {
    let d = m.dim();
    out.par_chunks_mut(d.max(1))
        .zip(rows.par_iter())
        .for_each(|(dst, &i)| dst.copy_from_slice(m.row(i)));
}

/// The pooled rows (reference first), row-major, and what was left out.
struct Pooled {
    x: Vec<f32>,
    d: usize,
    n_ref: usize,
    n_cur: usize,
    input_dim: usize,
    left_out: SideCounts,
    kept: KeptRows,
    pca: Option<PcaInfo>,
}

fn pool(input: DriftInput, params: &DriftParams) -> Result<Pooled, AnalysisError> {
    let bad = |m: String| Err(AnalysisError::InvalidParameter(m));
    let (rm, cm, (kr, lr), (kc, lc)) = match input {
        DriftInput::Two { reference, current } => {
            if reference.dim() != current.dim() {
                return bad(format!(
                    "the reference rows have {} dimensions and the current rows {}: drift \
                     compares two samples of one embedding space",
                    reference.dim(),
                    current.dim()
                ));
            }
            (
                reference,
                current,
                finite_rows(reference, (0..reference.rows()).into_par_iter()),
                finite_rows(current, (0..current.rows()).into_par_iter()),
            )
        }
        DriftInput::Split {
            matrix,
            reference,
            current,
        } => {
            let n = matrix.rows();
            if let Some(&i) = reference.iter().chain(current).find(|&&i| i >= n) {
                return bad(format!("row {i} is past the end of the set ({n} rows)"));
            }
            let mut side = vec![0u8; n];
            for &i in reference {
                side[i] |= 1;
            }
            for &i in current {
                side[i] |= 2;
            }
            if let Some(i) = side.iter().position(|&s| s == 3) {
                return bad(format!(
                    "row {i} is in both the reference and the current rows: the sides must \
                     not overlap"
                ));
            }
            (
                matrix,
                matrix,
                finite_rows(matrix, reference.par_iter().copied()),
                finite_rows(matrix, current.par_iter().copied()),
            )
        }
    };
    let min = DriftParams::MIN_ROWS;
    for (name, kept, left) in [("reference", &kr, lr), ("current", &kc, lc)] {
        if kept.len() < min {
            let why = if left > 0 {
                format!(" ({left} rows with NaN/Inf values left out)")
            } else {
                String::new()
            };
            return bad(format!(
                "the {name} side has {} usable rows{why}: drift needs at least {min} per side",
                kept.len()
            ));
        }
    }
    let d = rm.dim();
    if d == 0 {
        return bad("the rows have no values (dimension 0)".into());
    }
    let n = kr.len() + kc.len();
    // The ratio sweep counts rows in f32 lanes: exact below 2^24.
    if n >= 1 << 24 {
        return bad(format!(
            "{n} rows in all: drift takes fewer than {} (sample the sides first)",
            1u64 << 24
        ));
    }
    let mut x = vec![0f32; n * d];
    {
        let (a, b) = x.split_at_mut(kr.len() * d);
        gather(a, rm, &kr);
        gather(b, cm, &kc);
    }
    let mut out = Pooled {
        x,
        d,
        n_ref: kr.len(),
        n_cur: kc.len(),
        input_dim: d,
        left_out: SideCounts {
            reference: lr,
            current: lc,
        },
        kept: KeptRows {
            reference: kr,
            current: kc,
        },
        pca: None,
    };
    if let Some(k) = params.pca {
        if k > d {
            return bad(format!(
                "--pca {k}: the rows have {d} dimensions, so at most {d} components"
            ));
        }
        let m = Matrix::from_vec(n, d, std::mem::take(&mut out.x))
            .map_err(|e| AnalysisError::InvalidParameter(e.to_string()))?;
        let model = pca::fit(&m, None, k)
            .map_err(|e| AnalysisError::InvalidParameter(format!("PCA before drift: {e}")))?;
        if model.total_variance <= 0.0 {
            return bad("every row is the same: PCA has no direction to keep".into());
        }
        out.x = model.transform(&m, None);
        out.d = k;
        out.pca = Some(PcaInfo {
            components: k,
            explained_variance_ratio: model.explained_variance_ratio.iter().sum(),
        });
    }
    Ok(out)
}

fn result(
    score: f64,
    observed_stat: f64,
    null: &[f64],
    fixed: Option<f64>,
    p: &DriftParams,
    rows: SideCounts,
    details: MethodDetails,
) -> MethodResult {
    let p_value = p_value(observed_stat, null);
    let (threshold, threshold_rule) = match fixed {
        Some(t) => (t, ThresholdRule::Fixed),
        None => (
            permutation_threshold(null, p.alpha),
            ThresholdRule::Permutation,
        ),
    };
    MethodResult {
        score,
        threshold,
        threshold_rule,
        drift: score > threshold,
        p_value,
        significant: p_value < p.alpha,
        permutations: null.len(),
        rows,
        details,
    }
}

/// A seeded sample of at most `cap` of `0..n` in random order.
fn sample(n: usize, cap: usize, seed: u64) -> Vec<usize> {
    let mut v = shuffled(n, seed);
    v.truncate(cap);
    v
}

struct Stages<'p> {
    total: usize,
    done: usize,
    progress: &'p mut dyn FnMut(DriftProgress),
}

impl Stages<'_> {
    fn report(&mut self, stage: &'static str, within: f32) {
        let fraction = ((self.done as f32 + within.clamp(0.0, 1.0)) / self.total.max(1) as f32)
            .clamp(0.0, 1.0);
        (self.progress)(DriftProgress { stage, fraction });
    }
}

/// Runs the drift tests of `params` on `input`. `progress` is called between steps (on the
/// calling thread); `cancel` is polled between steps and inside the long loops.
pub fn drift(
    input: DriftInput,
    params: &ValidDriftParams,
    progress: &mut dyn FnMut(DriftProgress),
    cancel: Option<&AtomicBool>,
) -> Result<DriftReport, AnalysisError> {
    let p = params.get();
    let run_eu = params.runs(DriftMethod::DistanceEuclidean);
    let run_co = params.runs(DriftMethod::DistanceCosine);
    let run_ratio = params.runs(DriftMethod::Ratio);
    let run_mmd = params.runs(DriftMethod::Mmd);
    let run_energy = params.runs(DriftMethod::Energy);
    let run_clf = params.runs(DriftMethod::Classifier);
    let mut stages = Stages {
        total: 1
            + usize::from(run_eu || run_co || run_ratio)
            + usize::from(run_mmd || run_energy)
            + usize::from(run_clf),
        done: 0,
        progress,
    };
    stages.report("preparing the rows", 0.0);
    cancelled(cancel)?;
    let pooled = pool(input, p)?;
    let (x, d, n_ref, n_cur) = (&pooled.x, pooled.d, pooled.n_ref, pooled.n_cur);
    let n = n_ref + n_cur;
    let all_rows = SideCounts {
        reference: n_ref,
        current: n_cur,
    };
    stages.done += 1;
    let mut methods = BTreeMap::new();
    let batch_list = batches(p.permutations);

    // Centroid distances and ratio: every row, one set of relabellings.
    if run_eu || run_co || run_ratio {
        let stage = "centroid distances and ratio";
        stages.report(stage, 0.0);
        let mean: Vec<f64> = centroid::column_sums(x, d, 0..n)
            .into_iter()
            .map(|s| s / n as f64)
            .collect();
        let (mut eu, mut co) = (Vec::new(), Vec::new());
        let (mut counts, mut sums_norm) = (Vec::new(), Vec::new());
        let mut observed_norm = Vec::new();
        for (bi, &(first, slots)) in batch_list.iter().enumerate() {
            cancelled(cancel)?;
            let labels = Labels::new(n, n_ref, first, slots, p.seed, perm::STREAM_FULL);
            let sums = centroid::label_sums(x, d, &mean, &labels, run_ratio, cancel)?;
            if run_eu || run_co {
                let (e, c) = centroid::permuted(&sums, d, n_ref, n);
                eu.extend(e);
                co.extend(c);
            }
            if run_ratio {
                let r = ratio::pass(
                    x,
                    d,
                    n_ref,
                    &labels,
                    &sums,
                    p.thresholds.ratio_component,
                    cancel,
                )?;
                if bi == 0 {
                    observed_norm = r.observed;
                }
                counts.extend(r.counts);
                sums_norm.extend(r.sums);
            }
            stages.report(stage, (bi + 1) as f32 / batch_list.len() as f32);
        }
        if run_eu || run_co {
            let sr = centroid::column_sums(x, d, 0..n_ref);
            let sc = centroid::column_sums(x, d, n_ref..n);
            let cr: Vec<f64> = sr.iter().map(|s| s / n_ref as f64).collect();
            let cc: Vec<f64> = sc.iter().map(|s| s / n_cur as f64).collect();
            let (e_obs, c_obs) = centroid::distances(&cr, &cc);
            let details = MethodDetails::Distance {
                reference_centroid_norm: cr.iter().map(|v| v * v).sum::<f64>().sqrt(),
                current_centroid_norm: cc.iter().map(|v| v * v).sum::<f64>().sqrt(),
            };
            if run_eu {
                methods.insert(
                    DriftMethod::DistanceEuclidean,
                    result(
                        e_obs,
                        eu[0],
                        &eu[1..],
                        p.thresholds.distance_euclidean,
                        p,
                        all_rows,
                        details.clone(),
                    ),
                );
            }
            if run_co {
                methods.insert(
                    DriftMethod::DistanceCosine,
                    result(
                        c_obs,
                        co[0],
                        &co[1..],
                        p.thresholds.distance_cosine,
                        p,
                        all_rows,
                        details,
                    ),
                );
            }
        }
        if run_ratio {
            let comp = p.thresholds.ratio_component;
            let drifted = observed_norm.iter().filter(|&&v| v >= comp).count();
            let share = drifted as f64 / d as f64;
            // Lexicographic (share, mean normalised distance): ties in the share broken.
            let (c0, s0) = (counts[0], sums_norm[0]);
            let b = counts[1..]
                .iter()
                .zip(&sums_norm[1..])
                .filter(|&(&c, &s)| c > c0 || (c == c0 && s >= s0))
                .count();
            let p_val = (1 + b) as f64 / counts.len() as f64;
            let null: Vec<f64> = counts[1..].iter().map(|&c| c as f64 / d as f64).collect();
            let mut r = result(
                share,
                counts[0] as f64 / d as f64,
                &null,
                p.thresholds.ratio,
                p,
                all_rows,
                MethodDetails::Ratio {
                    drifted_dims: drifted,
                    dims: d,
                    component_threshold: comp,
                    per_dim: observed_norm,
                },
            );
            r.p_value = p_val;
            r.significant = p_val < p.alpha;
            methods.insert(DriftMethod::Ratio, r);
        }
        stages.done += 1;
    }

    // MMD and energy: a sample of each side, the pairwise matrix.
    let mut kernel_sample = None;
    if run_mmd || run_energy {
        let stage = "MMD and energy";
        stages.report(stage, 0.0);
        cancelled(cancel)?;
        let sr = sample(
            n_ref,
            p.kernel_sample,
            stream_seed(p.seed, perm::STREAM_KERNEL_SAMPLE, 0),
        );
        let sc: Vec<usize> = sample(
            n_cur,
            p.kernel_sample,
            stream_seed(p.seed, perm::STREAM_KERNEL_SAMPLE, 1),
        )
        .into_iter()
        .map(|i| i + n_ref)
        .collect();
        let rows: Vec<usize> = sr.iter().chain(&sc).copied().collect();
        let ns = rows.len();
        let mut mean = vec![0f64; d];
        for &i in &rows {
            for (m, &v) in mean.iter_mut().zip(&x[i * d..(i + 1) * d]) {
                *m += f64::from(v);
            }
        }
        mean.iter_mut().for_each(|m| *m /= ns as f64);
        let mut y = vec![0f32; ns * d];
        y.par_chunks_mut(d)
            .zip(rows.par_iter())
            .for_each(|(dst, &i)| {
                for ((o, &v), &m) in dst.iter_mut().zip(&x[i * d..(i + 1) * d]).zip(&mean) {
                    *o = (f64::from(v) - m) as f32;
                }
            });
        let (snr, snc) = (sr.len(), sc.len());
        let (mr, mc) = (snr.min(p.median_sample), snc.min(p.median_sample));
        let med = kernel::median_distance(&y[..mr * d], &y[snr * d..(snr + mc) * d], d);
        if med.is_nan() || med <= 0.0 {
            return Err(AnalysisError::InvalidParameter(
                "the median distance between reference and current rows is 0 (most rows \
                 coincide): MMD has no kernel width"
                    .into(),
            ));
        }
        let gamma = 1.0 / (med * med);
        let (mut mmd_null, mut en_null) = (Vec::new(), Vec::new());
        let (mut mmd_obs, mut en_obs) = (0.0, 0.0);
        for (bi, &(first, slots)) in batch_list.iter().enumerate() {
            cancelled(cancel)?;
            let labels = Labels::new(ns, snr, first, slots, p.seed, perm::STREAM_KERNEL);
            let k = kernel::pass(&y, d, snr, gamma, &labels, cancel)?;
            if bi == 0 {
                mmd_obs = k.mmd_observed;
                en_obs = k.energy_observed;
            }
            mmd_null.extend(k.mmd);
            en_null.extend(k.energy);
            stages.report(stage, (bi + 1) as f32 / batch_list.len() as f32);
        }
        let rows_used = SideCounts {
            reference: snr,
            current: snc,
        };
        kernel_sample = Some(rows_used);
        if run_mmd {
            methods.insert(
                DriftMethod::Mmd,
                result(
                    mmd_obs.max(0.0),
                    mmd_null[0],
                    &mmd_null[1..],
                    p.thresholds.mmd,
                    p,
                    rows_used,
                    MethodDetails::Mmd {
                        mmd2_unbiased: mmd_obs,
                        gamma,
                        median_distance: med,
                        median_rows: SideCounts {
                            reference: mr,
                            current: mc,
                        },
                    },
                ),
            );
        }
        if run_energy {
            methods.insert(
                DriftMethod::Energy,
                result(
                    en_obs,
                    en_null[0],
                    &en_null[1..],
                    p.thresholds.energy,
                    p,
                    rows_used,
                    MethodDetails::Energy {},
                ),
            );
        }
        stages.done += 1;
    }

    // The domain classifier.
    if run_clf {
        let stage = "classifier";
        stages.report(stage, 0.0);
        let cp = &p.classifier;
        let split = |n_side: usize, offset: usize, index: u64| {
            let order = shuffled(n_side, stream_seed(p.seed, perm::STREAM_SPLIT, index));
            let n_test = ((n_side as f64 * cp.test_share).round() as usize).clamp(1, n_side - 1);
            let test: Vec<usize> = order[..n_test].iter().map(|&i| i + offset).collect();
            let train: Vec<usize> = order[n_test..].iter().map(|&i| i + offset).collect();
            (train, test)
        };
        let (train_r, test_r) = split(n_ref, 0, 0);
        let (train_c, test_c) = split(n_cur, n_ref, 1);
        let train: Vec<usize> = train_r.iter().chain(&train_c).copied().collect();
        let y: Vec<f64> = train
            .iter()
            .map(|&i| f64::from(u8::from(i >= n_ref)))
            .collect();
        let fit = fit_logistic(x, d, &train, &y, cp.c, cp.max_iter, cancel)?;
        stages.report(stage, 0.8);
        // Held-out rows, current (the positives) first.
        let test: Vec<usize> = test_c.iter().chain(&test_r).copied().collect();
        let scores: Vec<f64> = test
            .par_iter()
            .map(|&i| fit.decision(&x[i * d..(i + 1) * d]))
            .collect();
        let ranks = average_ranks(&scores);
        let n_pos = test_c.len();
        let positive: Vec<bool> = (0..test.len()).map(|i| i < n_pos).collect();
        let auc = roc_auc(&scores, &positive).ok_or_else(|| {
            AnalysisError::InvalidParameter("the classifier's held-out rows miss a side".into())
        })?;
        let mut null = Vec::with_capacity(p.permutations + 1);
        for &(first, slots) in &batch_list {
            cancelled(cancel)?;
            let labels = Labels::new(
                test.len(),
                n_pos,
                first,
                slots,
                p.seed,
                perm::STREAM_CLASSIFIER,
            );
            null.extend(classifier::permuted_aucs(&ranks, &labels, n_pos));
        }
        methods.insert(
            DriftMethod::Classifier,
            result(
                auc,
                null[0],
                &null[1..],
                p.thresholds.classifier,
                p,
                SideCounts {
                    reference: n_ref,
                    current: n_cur,
                },
                MethodDetails::Classifier {
                    train_rows: SideCounts {
                        reference: train_r.len(),
                        current: train_c.len(),
                    },
                    test_rows: SideCounts {
                        reference: test_r.len(),
                        current: test_c.len(),
                    },
                    c: cp.c,
                    iterations: fit.iterations,
                    converged: fit.converged,
                },
            ),
        );
        stages.done += 1;
    }
    stages.report("done", 0.0);
    Ok(DriftReport {
        methods,
        n_ref,
        n_cur,
        nan_rows_left_out: pooled.left_out,
        dim: pooled.input_dim,
        pca: pooled.pca,
        kernel_sample,
        permutations: p.permutations,
        alpha: p.alpha,
        params: params.clone(),
        kept: pooled.kept,
    })
}
