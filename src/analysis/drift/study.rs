//! A whole drift study of two samples of embedding sets, as the CLI, the report and the app run
//! it: the two sides (two sets of one model, or one set split by a metadata column), the tests
//! of [`drift`](super::drift), the clusters of the joint rows ranked by change of share with
//! their keywords, and a 2-D PCA map of the joint rows for drawing them coloured by side.
//!
//! The joint rows are the rows the tests used (`DriftReport::kept`): the reference's first,
//! then the current's; `labels` and `map` follow that order.

use std::sync::atomic::AtomicBool;
use std::time::Instant;

use serde::Serialize;

use super::{ClusterDrift, DriftInput, DriftParams, DriftProgress, DriftReport, ValidDriftParams};
use crate::analysis::AnalysisError;
use crate::analysis::cluster::keywords::{KeywordParams, cluster_keywords};
use crate::analysis::cluster::{KMeansParams, kmeans_points, text_for};
use crate::analysis::project::pca;
use crate::analysis::split::{self, SplitRule};
use crate::core::{EmbeddingSet, Matrix, MetaColumn, RowKind};

/// The two samples of a study.
#[derive(Debug, Clone, Copy)]
pub enum DriftSides<'a> {
    /// Two sets encoded by one model (checked on their encoding records; `allow_other_models`
    /// goes on with a warning when they differ).
    Two {
        reference: &'a EmbeddingSet,
        current: &'a EmbeddingSet,
        allow_other_models: bool,
    },
    /// One set split by a metadata column.
    Split {
        set: &'a EmbeddingSet,
        column: &'a str,
        rule: &'a SplitRule,
    },
}

impl<'a> DriftSides<'a> {
    /// The set each side's rows come from.
    pub fn sets(&self) -> (&'a EmbeddingSet, &'a EmbeddingSet) {
        match *self {
            DriftSides::Two {
                reference, current, ..
            } => (reference, current),
            DriftSides::Split { set, .. } => (set, set),
        }
    }
}

/// What a study computes besides the tests.
#[derive(Debug, Clone, PartialEq)]
pub struct StudyParams {
    pub drift: DriftParams,
    /// k of the joint rows' k-means (cosine); 0 for no clusters.
    pub clusters: usize,
    /// Keywords per cluster (words of the rows' text; the first rows' tokens for word sets).
    pub keywords: usize,
    /// A 2-D PCA map of the joint rows.
    pub map: bool,
}

impl Default for StudyParams {
    fn default() -> Self {
        StudyParams {
            drift: DriftParams::default(),
            clusters: 20,
            keywords: 8,
            map: true,
        }
    }
}

impl StudyParams {
    pub const MAX_CLUSTERS: usize = 1000;
    pub const MAX_KEYWORDS: usize = 100;

    pub fn check(&self) -> Result<ValidStudyParams, AnalysisError> {
        if self.clusters > Self::MAX_CLUSTERS {
            return Err(AnalysisError::InvalidParameter(format!(
                "clusters {}: at most {} clusters are listed",
                self.clusters,
                Self::MAX_CLUSTERS
            )));
        }
        if self.keywords > Self::MAX_KEYWORDS {
            return Err(AnalysisError::InvalidParameter(format!(
                "keywords {}: at most {} keywords per cluster",
                self.keywords,
                Self::MAX_KEYWORDS
            )));
        }
        Ok(ValidStudyParams {
            drift: self.drift.check()?,
            clusters: self.clusters,
            keywords: self.keywords,
            map: self.map,
        })
    }
}

/// [`StudyParams`] that passed [`StudyParams::check`].
#[derive(Debug, Clone)]
pub struct ValidStudyParams {
    pub drift: ValidDriftParams,
    pub clusters: usize,
    pub keywords: usize,
    pub map: bool,
}

/// How one set was split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitInfo {
    pub column: String,
    pub rule: SplitRule,
    pub description: String,
    pub reference_rows: usize,
    pub current_rows: usize,
    /// Rows on neither side (another value, a blank, a value that is not a date or number).
    pub left_out: usize,
}

/// One cluster of the joint rows: its counts, change of share and keywords.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterRow {
    #[serde(flatten)]
    pub drift: ClusterDrift,
    pub keywords: Vec<String>,
}

/// The joint rows on their first two principal components.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JointMap {
    /// x, y per joint row (reference rows first).
    pub xy: Vec<[f32; 2]>,
    /// The share of the joint rows' variance along each axis.
    pub explained: [f64; 2],
}

/// A drift study's results.
#[derive(Debug, Clone)]
pub struct DriftStudy {
    pub report: DriftReport,
    pub split: Option<SplitInfo>,
    /// Said to the user beside the results (a model check that could not be made, rows left
    /// out of the split).
    pub warnings: Vec<String>,
    /// Sorted by |ratio| (both directions are drift), as [`super::cluster_drift`].
    pub clusters: Vec<ClusterRow>,
    /// The cluster of each joint row (empty without clusters).
    pub labels: Vec<i32>,
    pub map: Option<JointMap>,
    pub seconds: StudySeconds,
}

/// Where a study's time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct StudySeconds {
    pub tests: f64,
    pub clusters: f64,
    pub map: f64,
}

/// Which side a joint row is on, and its row in that side's set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SideRow {
    Reference(usize),
    Current(usize),
}

impl DriftStudy {
    /// Joint rows (reference then current).
    pub fn joint_rows(&self) -> usize {
        self.report.kept.reference.len() + self.report.kept.current.len()
    }

    /// The side and set row of joint row `j`.
    pub fn side_row(&self, j: usize) -> Option<SideRow> {
        let r = &self.report.kept.reference;
        if j < r.len() {
            Some(SideRow::Reference(r[j]))
        } else {
            self.report
                .kept
                .current
                .get(j - r.len())
                .map(|&i| SideRow::Current(i))
        }
    }

    /// The joint rows of cluster `id`, in joint order.
    pub fn members(&self, id: i64) -> Vec<usize> {
        self.labels
            .iter()
            .enumerate()
            .filter(|(_, l)| i64::from(**l) == id)
            .map(|(j, _)| j)
            .collect()
    }
}

/// The two sides' rows, checked.
struct CheckedSides {
    reference: Vec<usize>,
    current: Vec<usize>,
    split: Option<SplitInfo>,
    warnings: Vec<String>,
}

/// The two sides' rows, checked: one dimension, one model, enough rows.
fn sides(s: &DriftSides) -> Result<CheckedSides, AnalysisError> {
    let mut warnings = Vec::new();
    let name = |set: &EmbeddingSet| {
        if set.provenance.source.is_empty() {
            "a set".to_string()
        } else {
            set.provenance.source.clone()
        }
    };
    let (r, c, info) = match *s {
        DriftSides::Two {
            reference,
            current,
            allow_other_models,
        } => {
            if reference.dim() != current.dim() {
                return Err(AnalysisError::InvalidParameter(format!(
                    "{} has {}-dimensional rows and {} {}-dimensional ones: two sets of one \
                     model have one dimension",
                    name(reference),
                    reference.dim(),
                    name(current),
                    current.dim()
                )));
            }
            if let Some(w) = split::same_model(
                &reference.provenance,
                &current.provenance,
                allow_other_models,
            )? {
                warnings.push(w);
            }
            (
                (0..reference.rows()).collect(),
                (0..current.rows()).collect(),
                None,
            )
        }
        DriftSides::Split { set, column, rule } => {
            let sp = split::split_by(&set.metadata, set.rows(), column, rule)
                .map_err(|e| AnalysisError::InvalidParameter(format!("{}: {e}", name(set))))?;
            if sp.left_out > 0 {
                warnings.push(format!(
                    "{} rows on neither side of the split were left out{}",
                    sp.left_out,
                    sp.unreadable
                        .first()
                        .map(|(row, v)| format!(" (e.g. row {row} {v:?})"))
                        .unwrap_or_default()
                ));
            }
            let info = SplitInfo {
                column: sp.column,
                rule: sp.rule,
                description: sp.description,
                reference_rows: sp.reference.len(),
                current_rows: sp.current.len(),
                left_out: sp.left_out,
            };
            (sp.reference, sp.current, Some(info))
        }
    };
    if r.len() < DriftParams::MIN_ROWS || c.len() < DriftParams::MIN_ROWS {
        return Err(AnalysisError::InvalidParameter(format!(
            "drift needs at least {} rows per side: the reference has {}, the current {}",
            DriftParams::MIN_ROWS,
            r.len(),
            c.len()
        )));
    }
    Ok(CheckedSides {
        reference: r,
        current: c,
        split: info,
        warnings,
    })
}

/// Runs a study: the sides, the tests, then (on the rows the tests used) the clusters and the
/// map. `progress` gets the tests' stages scaled to the first 85% and then the clusters' and
/// map's; `cancel` is polled between the steps and inside the tests.
pub fn study(
    s: &DriftSides,
    params: &ValidStudyParams,
    progress: &mut dyn FnMut(DriftProgress),
    cancel: Option<&AtomicBool>,
) -> Result<DriftStudy, AnalysisError> {
    let CheckedSides {
        reference: ref_rows,
        current: cur_rows,
        split: split_info,
        warnings,
    } = sides(s)?;
    let (rset, cset) = s.sets();
    let input = match *s {
        DriftSides::Two { .. } => DriftInput::Two {
            reference: &rset.matrix,
            current: &cset.matrix,
        },
        DriftSides::Split { set, .. } => DriftInput::Split {
            matrix: &set.matrix,
            reference: &ref_rows,
            current: &cur_rows,
        },
    };
    let t = Instant::now();
    let extra = params.clusters > 0 || params.map;
    let scale = if extra { 0.85 } else { 1.0 };
    let report = super::drift(
        input,
        &params.drift,
        &mut |p| {
            progress(DriftProgress {
                stage: p.stage,
                fraction: p.fraction * scale,
            })
        },
        cancel,
    )?;
    let mut out = DriftStudy {
        report,
        split: split_info,
        warnings,
        clusters: Vec::new(),
        labels: Vec::new(),
        map: None,
        seconds: StudySeconds {
            tests: t.elapsed().as_secs_f64(),
            ..StudySeconds::default()
        },
    };
    if !extra {
        return Ok(out);
    }
    super::cancelled(cancel)?;
    let (kr, kc) = (&out.report.kept.reference, &out.report.kept.current);
    let dim = rset.dim();
    let mut points = Vec::with_capacity((kr.len() + kc.len()) * dim);
    for &i in kr {
        points.extend_from_slice(rset.matrix.row(i));
    }
    for &i in kc {
        points.extend_from_slice(cset.matrix.row(i));
    }
    let n = kr.len() + kc.len();
    if params.clusters > 0 {
        let t = Instant::now();
        progress(DriftProgress {
            stage: "clusters of the joint rows",
            fraction: 0.87,
        });
        let km = kmeans_points(
            &points,
            dim,
            &KMeansParams {
                k: params.clusters.min(n),
                seed: params.drift.get().seed,
                normalise: true,
                ..KMeansParams::default()
            },
        )?;
        super::cancelled(cancel)?;
        let drifts = super::cluster_drift(&km.labels, kr.len())?;
        let keywords = keywords(rset, cset, kr, kc, &km.labels, &drifts, params.keywords)?;
        out.clusters = drifts
            .into_iter()
            .zip(keywords)
            .map(|(drift, keywords)| ClusterRow { drift, keywords })
            .collect();
        out.labels = km.labels;
        out.seconds.clusters = t.elapsed().as_secs_f64();
    }
    if params.map {
        let t = Instant::now();
        super::cancelled(cancel)?;
        progress(DriftProgress {
            stage: "map of the joint rows",
            fraction: 0.95,
        });
        let joint = Matrix::from_vec(n, dim, points)
            .map_err(|e| AnalysisError::InvalidParameter(format!("joint rows: {e}")))?;
        let k = 2.min(dim);
        let model = pca::fit(&joint, None, k)
            .map_err(|e| AnalysisError::InvalidParameter(format!("map of the joint rows: {e}")))?;
        let flat = model.transform(&joint, None);
        let xy = flat
            .chunks_exact(k)
            .map(|p| [p[0], p.get(1).copied().unwrap_or(0.0)])
            .collect();
        let ev = &model.explained_variance_ratio;
        out.map = Some(JointMap {
            xy,
            explained: [
                ev.first().copied().unwrap_or(0.0),
                ev.get(1).copied().unwrap_or(0.0),
            ],
        });
        out.seconds.map = t.elapsed().as_secs_f64();
    }
    progress(DriftProgress {
        stage: "done",
        fraction: 1.0,
    });
    Ok(out)
}

/// The text the joint rows are described by: both sides' text columns when both sets are of
/// documents (or occurrences) and have one.
fn text_of(set: &EmbeddingSet) -> Option<&MetaColumn> {
    (set.row_kind() != RowKind::Words)
        .then(|| text_for(set, None).ok().flatten())
        .flatten()
}

/// Each listed cluster's keywords: class-based TF-IDF words of the rows' text, or, where the
/// rows have no text (word sets), the tokens of its first rows.
fn keywords(
    rset: &EmbeddingSet,
    cset: &EmbeddingSet,
    kr: &[usize],
    kc: &[usize],
    labels: &[i32],
    drifts: &[ClusterDrift],
    top_n: usize,
) -> Result<Vec<Vec<String>>, AnalysisError> {
    if top_n == 0 {
        return Ok(vec![Vec::new(); drifts.len()]);
    }
    let joint = || {
        kr.iter()
            .map(move |&i| (rset, i))
            .chain(kc.iter().map(move |&i| (cset, i)))
    };
    match (text_of(rset), text_of(cset)) {
        (Some(tr), Some(tc)) => {
            let texts: Vec<&str> = kr
                .iter()
                .map(|&i| tr.values[i].as_str())
                .chain(kc.iter().map(|&i| tc.values[i].as_str()))
                .collect();
            let params = KeywordParams {
                top_n,
                ..KeywordParams::default()
            };
            let kw = cluster_keywords(&texts, labels, &params)?;
            Ok(drifts
                .iter()
                .map(|d| {
                    kw.iter()
                        .find(|k| i64::from(k.cluster) == d.id)
                        .map(|k| k.keywords.iter().map(|(w, _)| w.clone()).collect())
                        .unwrap_or_default()
                })
                .collect())
        }
        _ => Ok(drifts
            .iter()
            .map(|d| {
                labels
                    .iter()
                    .zip(joint())
                    .filter(|(l, _)| i64::from(**l) == d.id)
                    .take(top_n)
                    .map(|(_, (s, i))| s.vocab.token(i).to_string())
                    .collect()
            })
            .collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::drift::DriftMethod;
    use crate::analysis::project::Rng;
    use crate::core::{Metadata, Provenance, Vocab};

    /// 400 rows of 16 dimensions: rows 0..200 dated January (the reference), 200..400 June;
    /// the last 20 June rows in another direction and about refunds.
    fn tickets(d: usize) -> EmbeddingSet {
        let n = 400;
        let mut rng = Rng::new(7);
        let mut data = Vec::with_capacity(n * d);
        for i in 0..n {
            for j in 0..d {
                // Every row leans along axis 0 (as embeddings share a direction); the planted
                // rows along axis 3.
                let lean = match (i >= 380, j) {
                    (false, 0) => 6.0,
                    (true, 3) => 6.0,
                    _ => 0.0,
                };
                data.push((rng.normal() + lean) as f32);
            }
        }
        let words = ["login", "invoice", "shipping", "delay", "colour", "size"];
        let text = (0..n)
            .map(|i| {
                if i >= 380 {
                    "refund password reset please".to_string()
                } else {
                    format!("{} {}", words[i % 6], words[(i / 6) % 6])
                }
            })
            .collect();
        let date = (0..n)
            .map(|i| if i < 200 { "2024-01-15" } else { "2024-06-15" }.to_string())
            .collect();
        let mut meta = Metadata::new();
        meta.push(
            MetaColumn {
                name: "text".into(),
                values: text,
            },
            n,
        )
        .expect("text");
        meta.push(
            MetaColumn {
                name: "date".into(),
                values: date,
            },
            n,
        )
        .expect("date");
        let vocab = Vocab::from_unique((0..n).map(|i| format!("t{i}"))).expect("vocab");
        EmbeddingSet::new(
            vocab,
            Matrix::from_vec(n, d, data).expect("matrix"),
            meta,
            Provenance::default(),
        )
        .expect("set")
    }

    fn params(clusters: usize) -> ValidStudyParams {
        StudyParams {
            drift: DriftParams {
                methods: vec![DriftMethod::Classifier, DriftMethod::Mmd],
                permutations: 99,
                ..DriftParams::default()
            },
            clusters,
            keywords: 3,
            map: true,
        }
        .check()
        .expect("params")
    }

    #[test]
    fn a_split_study_finds_the_planted_region_and_keeps_the_joint_order() {
        let set = tickets(16);
        let rule = SplitRule::before("2024-03-01").expect("rule");
        let sides = DriftSides::Split {
            set: &set,
            column: "date",
            rule: &rule,
        };
        let mut stages = Vec::new();
        let s = study(&sides, &params(6), &mut |p| stages.push(p.fraction), None).expect("study");
        assert_eq!((s.report.n_ref, s.report.n_cur), (200, 200));
        let info = s.split.as_ref().expect("split");
        assert_eq!(
            (info.reference_rows, info.current_rows, info.left_out),
            (200, 200, 0)
        );
        assert_eq!(s.joint_rows(), 400);
        assert_eq!(s.labels.len(), 400);
        assert_eq!(s.map.as_ref().map(|m| m.xy.len()), Some(400));
        assert!(stages.windows(2).all(|w| w[0] <= w[1]), "{stages:?}");
        assert_eq!(stages.last().copied(), Some(1.0));
        // The planted rows' cluster comes first: only current rows, about refunds.
        let top = &s.clusters[0];
        assert!(top.drift.ratio > 0.9, "{:?}", s.clusters);
        assert!(top.keywords.iter().any(|k| k == "refund"), "{top:?}");
        let members = s.members(top.drift.id);
        assert_eq!(members.len(), top.drift.n_ref + top.drift.n_cur);
        assert!(
            members
                .iter()
                .all(|&j| matches!(s.side_row(j), Some(SideRow::Current(i)) if i >= 380)),
            "{members:?}"
        );
        assert_eq!(members.len(), 20);
        assert_eq!(s.side_row(0), Some(SideRow::Reference(0)));
        assert_eq!(s.side_row(200), Some(SideRow::Current(200)));
        assert_eq!(s.side_row(400), None);
        // The map separates the planted rows along its first axis.
        let map = s.map.as_ref().expect("map");
        let far = |j: usize| map.xy[j][0].abs();
        let planted = (380..400).map(far).fold(f32::INFINITY, f32::min);
        let rest = (0..380).map(far).fold(0f32, f32::max);
        assert!(planted > rest, "{planted} vs {rest}");
        assert!(s.report.methods[&DriftMethod::Classifier].p_value <= 0.05);
    }

    #[test]
    fn two_sets_are_checked_before_any_test() {
        let a = tickets(16);
        let b = tickets(8);
        let err = study(
            &DriftSides::Two {
                reference: &a,
                current: &b,
                allow_other_models: false,
            },
            &params(0),
            &mut |_| {},
            None,
        )
        .expect_err("dims");
        assert!(err.to_string().contains("16-dimensional rows and"), "{err}");
        let rule = SplitRule::before("2024-01-02").expect("rule");
        let err = study(
            &DriftSides::Split {
                set: &a,
                column: "date",
                rule: &rule,
            },
            &params(0),
            &mut |_| {},
            None,
        )
        .expect_err("empty side");
        assert!(err.to_string().contains("date"), "{err}");
        let err = StudyParams {
            clusters: 5000,
            ..StudyParams::default()
        }
        .check()
        .expect_err("clusters");
        assert!(err.to_string().contains("at most 1000"), "{err}");
        // Without clusters or a map only the tests run.
        let s = study(
            &DriftSides::Two {
                reference: &a,
                current: &a,
                allow_other_models: false,
            },
            &StudyParams {
                drift: params(0).drift.get().clone(),
                clusters: 0,
                keywords: 0,
                map: false,
            }
            .check()
            .expect("params"),
            &mut |_| {},
            None,
        )
        .expect("study");
        assert!(s.clusters.is_empty() && s.labels.is_empty() && s.map.is_none());
        assert!(
            s.warnings
                .iter()
                .any(|w| w.contains("could not be checked"))
        );
    }
}
