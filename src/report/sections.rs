//! The section builders: each section's value from the analyses of the versions.

use std::ops::ControlFlow;
use std::sync::atomic::AtomicBool;

use super::{
    BiasCell, BiasSection, ChangedWords, DatasetInfo, DriftMap, DriftMapLabel, DriftPair,
    DriftTest, EvalVersion, IntegrityInfo, MapMethod, MapWord, Maps, Measures, ReportError,
    ReportOptions, SimilarityScore, UmapMap, Version, label,
};
use crate::analysis::AnalysisError;
use crate::analysis::bias::WeatGrid;
use crate::analysis::compare::{self, Comparison, RankBy, WordDetail};
use crate::analysis::drift::{
    self, ClusterRow, DriftProgress, DriftSides, DriftStudy, SideCounts, ValidStudyParams,
};
use crate::analysis::eval::BenchmarkScores;
use crate::analysis::project::umap::describe_init;
use crate::core::{EmbeddingSet, IntegrityReport, RowScan};

impl DatasetInfo {
    /// Version `i` (labelled A, B, ...) and its provenance.
    pub fn of(i: usize, v: &Version) -> DatasetInfo {
        let p = &v.set.provenance;
        let fact = |k: &str| p.encoding_fact(k).map(str::to_string);
        DatasetInfo {
            label: label(i),
            name: v.name.clone(),
            source: p.source.clone(),
            format: p.format.clone(),
            sha256: p.sha256.clone(),
            file_size: p.file_size,
            rows: v.set.rows(),
            dim: v.set.dim(),
            model_id: p.model_id.clone(),
            tokenizer_sha256: fact("tokenizer_sha256"),
            weights_sha256: fact("weights_sha256"),
            backend: fact("backend"),
            params: p.params.clone(),
            encoding: p.encoding.clone(),
            warnings: v.set.notes.warnings.clone(),
        }
    }
}

impl IntegrityInfo {
    /// The integrity report of version `i` (one pass over its rows).
    pub fn of(i: usize, v: &Version) -> IntegrityInfo {
        IntegrityInfo {
            label: label(i),
            name: v.name.clone(),
            report: IntegrityReport::new(v.set, &RowScan::new(&v.set.matrix)),
        }
    }
}

impl Measures {
    /// The global measures of a comparison.
    pub fn of(c: &Comparison) -> Measures {
        Measures {
            jaccard: c.jaccard.clone(),
            rbo: c.rbo.clone(),
            linear_cka: c.linear_cka,
            procrustes: c.procrustes.clone(),
            drift: c.drift.clone(),
        }
    }
}

fn details(c: &Comparison, order: Vec<usize>, n: usize, k: usize) -> Vec<WordDetail> {
    order
        .into_iter()
        .take(n)
        .filter_map(|i| c.detail(&c.vocab.tokens[i], k).ok())
        .collect()
}

impl ChangedWords {
    /// The `words` most changed, least changed and most displaced words of a comparison (its
    /// ranking, within its `max_rank`), each with its `neighbours` nearest shared words in
    /// both versions. With `neighbours` 0 no neighbours are listed and the Jaccard values are
    /// those of the comparison's smallest k.
    pub fn of(c: &Comparison, words: usize, neighbours: usize) -> ChangedWords {
        let k = if neighbours == 0 {
            c.k()
        } else {
            neighbours.min(c.k())
        }
        .max(1);
        let mr = c.options.max_rank;
        let list = |by: RankBy, most: bool| {
            let mut d = details(c, c.ranked(by, most, mr), words, k);
            if neighbours == 0 {
                for w in &mut d {
                    w.a.clear();
                    w.b.clear();
                }
            }
            d
        };
        ChangedWords {
            k,
            most_changed: list(RankBy::Neighbourhood, true),
            least_changed: list(RankBy::Neighbourhood, false),
            most_displaced: list(RankBy::Displacement, true),
        }
    }
}

/// The words labelled on the maps: the most displaced words of the first pair that every
/// version has (indices into `shared`).
fn labelled_words(
    shared: &compare::SharedWords,
    first: Option<&Comparison>,
    opts: &ReportOptions,
) -> Vec<usize> {
    let index: hashbrown::HashMap<&str, usize> = shared
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let mut out = Vec::new();
    if let Some(c) = first {
        for i in c.ranked(RankBy::Displacement, true, c.options.max_rank) {
            if out.len() >= opts.map_labels {
                break;
            }
            if let Some(&j) = index.get(c.vocab.tokens[i].as_str()) {
                out.push(j);
            }
        }
    }
    out
}

/// The maps section. `progress` gets the share of the maps done and may stop a UMAP fit.
pub(super) fn maps(
    versions: &[Version],
    first: Option<&Comparison>,
    opts: &ReportOptions,
    progress: &mut dyn FnMut(f32) -> ControlFlow<()>,
) -> Result<Maps, ReportError> {
    let sets: Vec<&EmbeddingSet> = versions.iter().map(|v| v.set).collect();
    let shared = compare::shared_words(&sets, opts.compare.lowercase)?;
    let labels = labelled_words(&shared, first, opts);
    let n = shared.tokens.len();
    let drawn = opts.map_points.min(n);
    let first_name = versions.first().map_or("", |v| v.name.as_str());
    // Coordinates per version for the words `tokens`, whose first `drawn` are the drawn ones.
    let (layout, method, umap) = match opts.map_method {
        MapMethod::Pca => (
            compare::aligned_layouts_of(&sets, shared.clone())?,
            format!(
                "top two principal axes of {first_name}; every later version aligned to it by \
                 orthogonal Procrustes on the {n} words all versions share; one scale for all \
                 maps (the first map's root-mean-square radius is 1)"
            ),
            None,
        ),
        MapMethod::Umap => {
            let params = opts.umap_params();
            let u =
                compare::aligned_umap_layouts(&sets, &shared, drawn, &labels, &params, progress)?;
            let what = format!(
                "UMAP (n_neighbors {}, min_dist {}, spread {}, {} epochs, {} metric, seed {}) of \
                 {first_name}'s rows of the {drawn} drawn words, centred and scaled; every later \
                 version aligned to it by orthogonal Procrustes on the {n} words all versions \
                 share and placed into its map by UMAP's transform (the map does not move); the \
                 labelled words placed the same way; one scale for all maps (the first map's \
                 root-mean-square radius is 1)",
                params.n_neighbors,
                params.min_dist,
                params.spread,
                u.n_epochs,
                params.metric,
                params.seed
            );
            let info = UmapMap {
                method: "umap".into(),
                params,
                fitted: u.fitted,
                a: u.a,
                b: u.b,
                n_epochs: u.n_epochs,
                init: describe_init(&u.init),
            };
            (u.layouts, what, Some(info))
        }
    };
    // One scale for every map: the first map's drawn words centred (UMAP maps are not) with a
    // root-mean-square radius of 1.
    let head = &layout.coords[0][..drawn.min(layout.coords[0].len())];
    let centre = if umap.is_some() && !head.is_empty() {
        let k = head.len() as f64;
        [
            (head.iter().map(|p| f64::from(p[0])).sum::<f64>() / k) as f32,
            (head.iter().map(|p| f64::from(p[1])).sum::<f64>() / k) as f32,
        ]
    } else {
        [0.0, 0.0]
    };
    let rms_over = if umap.is_some() {
        head
    } else {
        &layout.coords[0][..]
    };
    let rms = (rms_over
        .iter()
        .map(|p| f64::from(p[0] - centre[0]).powi(2) + f64::from(p[1] - centre[1]).powi(2))
        .sum::<f64>()
        / rms_over.len().max(1) as f64)
        .sqrt();
    let scale = if rms > 0.0 && rms.is_finite() {
        (1.0 / rms) as f32
    } else {
        1.0
    };
    let coords: Vec<Vec<[f32; 2]>> = layout
        .coords
        .iter()
        .map(|cs| {
            cs.iter()
                .map(|p| [(p[0] - centre[0]) * scale, (p[1] - centre[1]) * scale])
                .collect()
        })
        .collect();
    let index: hashbrown::HashMap<&str, usize> = layout
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let labelled = labels
        .iter()
        .filter_map(|&j| index.get(shared.tokens[j].as_str()))
        .map(|&j| MapWord {
            token: layout.tokens[j].clone(),
            positions: coords.iter().map(|cs| cs[j]).collect(),
        })
        .collect();
    Ok(Maps {
        method,
        versions: versions.iter().map(|v| v.name.clone()).collect(),
        shared_words: n,
        drawn,
        labelled,
        umap,
        points: coords.iter().map(|cs| cs[..drawn].to_vec()).collect(),
    })
}

impl BiasSection {
    /// The bias section of a WEAT grid: `tests[t]` named the grid's rows, `versions[v]` its
    /// columns (labelled A, B, ... in the cells); the differences keep the names the grid gave
    /// them. Failed cells are listed as "test on label: reason", then the differences that
    /// failed.
    pub fn of(tests: &[String], versions: &[String], grid: &WeatGrid) -> BiasSection {
        let mut errors: Vec<String> = grid
            .failures
            .iter()
            .map(|f| {
                format!(
                    "{} on {}: {}",
                    tests.get(f.test).map_or("?", String::as_str),
                    label(f.version),
                    f.error
                )
            })
            .collect();
        errors.extend(grid.across.errors.iter().cloned());
        let mut results = Vec::new();
        for (row, holm_row) in grid.results.iter().zip(&grid.across.p_holm) {
            for (vi, (cell, p_holm)) in row.iter().zip(holm_row).enumerate() {
                let (Some(r), Some(p_holm)) = (cell, p_holm) else {
                    continue;
                };
                results.push(BiasCell {
                    test: r.test.clone(),
                    label: label(vi),
                    version: versions.get(vi).cloned().unwrap_or_default(),
                    n: [r.n.x, r.n.y, r.n.a, r.n.b],
                    effect_size: r.effect_size,
                    statistic: r.statistic,
                    ci95: (!r.ci95.iter().any(|x| x.is_nan())).then_some(r.ci95),
                    p_value: r.p_value,
                    p_value_method: r.p_value_method.clone(),
                    p_holm: *p_holm,
                    missing: r
                        .missing
                        .iter()
                        .map(|m| format!("{}:{}", m.set.label(), m.word))
                        .collect(),
                });
            }
        }
        BiasSection {
            tests: tests.to_vec(),
            versions: versions.to_vec(),
            results,
            differences: grid.across.differences.clone(),
            correction: "holm".into(),
            errors,
        }
    }
}

impl EvalVersion {
    /// Version `i`'s scores on the bundled benchmarks.
    pub fn of(i: usize, name: &str, scores: BenchmarkScores) -> EvalVersion {
        EvalVersion {
            label: label(i),
            version: name.to_string(),
            analogies: scores.analogies,
            similarity: scores
                .pairs
                .into_iter()
                .map(|(benchmark, report)| SimilarityScore { benchmark, report })
                .collect(),
        }
    }
}

/// Evenly spaced indices of `0..n`, `m` of them (all when `m >= n`): a subsample that follows
/// the rows' order and needs no random choice.
fn spread(n: usize, m: usize) -> Vec<usize> {
    if m >= n {
        return (0..n).collect();
    }
    (0..m)
        .map(|i| ((i as u128 * n as u128) / m as u128) as usize)
        .collect()
}

/// Clusters named on a joint map at most (the first listed, the largest changes of share).
const DRIFT_MAP_LABELS: usize = 5;

/// The joint map of a study: at most `points` joint rows drawn, shared between the sides in
/// proportion to their rows (each side keeps at least one), and the first listed clusters
/// named at the mean position of their rows.
fn drift_map(study: &DriftStudy, clusters: &[ClusterRow], points: usize) -> Option<DriftMap> {
    let map = study.map.as_ref()?;
    let n_ref = study.report.kept.reference.len();
    let n = map.xy.len();
    if n_ref > n {
        return None;
    }
    let n_cur = n - n_ref;
    let (m_ref, m_cur) = if points >= n {
        (n_ref, n_cur)
    } else if points == 0 {
        (0, 0)
    } else {
        let share = ((points as u128 * n_ref as u128 + n as u128 / 2) / n as u128) as usize;
        let m_ref = share.clamp(1.min(n_ref), n_ref);
        let m_cur = points.saturating_sub(m_ref).clamp(1.min(n_cur), n_cur);
        (m_ref, m_cur)
    };
    let reference_points: Vec<[f32; 2]> = spread(n_ref, m_ref)
        .into_iter()
        .map(|i| map.xy[i])
        .collect();
    let current_points: Vec<[f32; 2]> = spread(n_cur, m_cur)
        .into_iter()
        .map(|i| map.xy[n_ref + i])
        .collect();
    let labelled = clusters
        .iter()
        .take(DRIFT_MAP_LABELS)
        .filter_map(|c| {
            let members = study.members(c.drift.id);
            if members.is_empty() {
                return None;
            }
            let (mut x, mut y) = (0f64, 0f64);
            for &j in &members {
                let p = map.xy.get(j)?;
                x += f64::from(p[0]);
                y += f64::from(p[1]);
            }
            let k = members.len() as f64;
            Some(DriftMapLabel {
                cluster: c.drift.id,
                ratio: c.drift.ratio,
                keywords: c.keywords.clone(),
                position: [(x / k) as f32, (y / k) as f32],
            })
        })
        .collect();
    Some(DriftMap {
        explained: map.explained,
        drawn: SideCounts {
            reference: reference_points.len(),
            current: current_points.len(),
        },
        labelled,
        reference_points,
        current_points,
    })
}

impl DriftPair {
    /// The drift study of version `p` (the reference) against version `p + 1` (the current):
    /// the tests, the `opts.drift.top` clusters with the largest changes of share, and the
    /// joint map drawn with at most `opts.map_points` rows. `progress` gets the share done.
    pub fn of(
        p: usize,
        reference: &Version,
        current: &Version,
        params: &ValidStudyParams,
        opts: &ReportOptions,
        progress: &mut dyn FnMut(f32),
        cancel: &AtomicBool,
    ) -> Result<DriftPair, AnalysisError> {
        let sides = DriftSides::Two {
            reference: reference.set,
            current: current.set,
            allow_other_models: opts.drift.allow_other_models,
        };
        let study = drift::study(
            &sides,
            params,
            &mut |d: DriftProgress| progress(d.fraction),
            Some(cancel),
        )?;
        let r = &study.report;
        let tests = r
            .methods
            .iter()
            .map(|(&method, m)| DriftTest {
                method,
                score: m.score,
                threshold: m.threshold,
                threshold_rule: m.threshold_rule,
                drift: m.drift,
                p_value: m.p_value,
                significant: m.significant,
                permutations: m.permutations,
                rows: m.rows,
            })
            .collect();
        let clusters: Vec<ClusterRow> = study
            .clusters
            .iter()
            .take(opts.drift.top)
            .cloned()
            .collect();
        let map = drift_map(&study, &clusters, opts.map_points);
        Ok(DriftPair {
            reference: label(p),
            current: label(p + 1),
            a: reference.name.clone(),
            b: current.name.clone(),
            tests,
            n_ref: r.n_ref,
            n_cur: r.n_cur,
            nan_rows_left_out: r.nan_rows_left_out,
            dim: r.dim,
            pca: r.pca.clone(),
            kernel_sample: r.kernel_sample,
            alpha: r.alpha,
            warnings: study.warnings.clone(),
            cluster_count: study.clusters.len(),
            clusters,
            map,
        })
    }
}
