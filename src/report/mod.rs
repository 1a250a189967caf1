//! Comparison reports (L2): a [`Report`] value holding every number of a comparison of model
//! versions, built by [`build`] from the analyses (compare, aligned maps, bias probes,
//! evaluation benchmarks), and rendered by the writers in [`render`] as one self-contained HTML
//! file, Markdown with its images beside it, JSON, or one CSV file per table.
//!
//! The value holds no clock time, paths of caches or timings, so the same inputs and options
//! give the same bytes in every format.

pub mod charts;
pub mod escape;
pub mod render;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Deserialize, Serialize};

use crate::analysis::AnalysisError;
use crate::analysis::bias::{self, WeatOptions, WeatResult, WeatTest};
use crate::analysis::compare::{self, CompareOptions, Comparison, RankBy, WordDetail};
use crate::analysis::eval::{self, AnalogyOptions, AnalogyReport, PairOptions};
use crate::analysis::knn::KnnIndex;
use crate::core::{EmbeddingSet, IntegrityReport, RowScan};
use crate::formats::FormatError;
use crate::model::tokdiff::TokenizerDiff;

pub use render::{OutputFormat, write};

/// Errors while building or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("{0}")]
    Invalid(String),
    #[error("drawing a chart failed: {0}")]
    Chart(String),
    #[error("cancelled")]
    Cancelled,
}

/// The parts a report can hold; each is optional.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Section {
    /// The data sets and their provenance.
    Datasets,
    /// NaN/Inf/zero rows, duplicates, invalid UTF-8 of each side.
    Integrity,
    /// Shared and one-sided tokens, and the tokenizer diff of model folders.
    Vocabulary,
    /// Global comparison measures (Jaccard@k, RBO, CKA, Procrustes, drift).
    Measures,
    /// The most and least changed words with their neighbours in each version.
    Words,
    /// Maps of every version in one aligned frame.
    Maps,
    /// Bias probes side by side with intervals, p-values and the correction.
    Bias,
    /// Evaluation benchmarks (analogies, WordSim-353, SimLex-999) of each version.
    Eval,
    /// Every parameter and seed.
    Parameters,
}

impl Section {
    pub const ALL: [Section; 9] = [
        Section::Datasets,
        Section::Integrity,
        Section::Vocabulary,
        Section::Measures,
        Section::Words,
        Section::Maps,
        Section::Bias,
        Section::Eval,
        Section::Parameters,
    ];

    /// The name used by `--sections` and in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Section::Datasets => "datasets",
            Section::Integrity => "integrity",
            Section::Vocabulary => "vocabulary",
            Section::Measures => "measures",
            Section::Words => "words",
            Section::Maps => "maps",
            Section::Bias => "bias",
            Section::Eval => "eval",
            Section::Parameters => "parameters",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Section::Datasets => "Data sets and provenance",
            Section::Integrity => "Integrity",
            Section::Vocabulary => "Vocabulary and tokenizer",
            Section::Measures => "Global measures",
            Section::Words => "Most and least changed words",
            Section::Maps => "Aligned maps",
            Section::Bias => "Bias probes",
            Section::Eval => "Evaluation benchmarks",
            Section::Parameters => "Parameters",
        }
    }

    /// Parses `all` or a comma-separated list of names (order and repeats do not matter).
    pub fn parse_list(spec: &str) -> Result<Vec<Section>, ReportError> {
        let mut out = Vec::new();
        for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                out.extend(Section::ALL);
                continue;
            }
            match Section::ALL.iter().find(|s| s.name() == part) {
                Some(s) => out.push(*s),
                None => {
                    return Err(ReportError::Invalid(format!(
                        "unknown report section {part:?}; sections: all, {}",
                        Section::ALL.map(Section::name).join(", ")
                    )));
                }
            }
        }
        if out.is_empty() {
            return Err(ReportError::Invalid(
                "no report sections chosen (e.g. all, or datasets,measures,words)".into(),
            ));
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }
}

/// What to put in a report and how to compute it.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    pub title: String,
    pub sections: Vec<Section>,
    pub compare: CompareOptions,
    /// Bias tests run on every version (section `bias`).
    pub probes: Vec<WeatTest>,
    pub weat: WeatOptions,
    /// Analogy and word-pair evaluation (section `eval`): gensim's defaults.
    pub analogy: AnalogyOptions,
    /// Words listed with their neighbours per list (most / least changed, most displaced).
    pub words: usize,
    /// Neighbours shown per word and version.
    pub neighbours: usize,
    /// Shared words drawn on each map (the most frequent ones).
    pub map_points: usize,
    /// Most-displaced words labelled on the maps.
    pub map_labels: usize,
    /// The command line that regenerates the report.
    pub command: String,
}

impl Default for ReportOptions {
    fn default() -> Self {
        ReportOptions {
            title: "Model comparison".into(),
            sections: Section::ALL.to_vec(),
            compare: CompareOptions {
                ks: vec![10, 50],
                lowercase: false,
                anchors: compare::Anchors::All,
                rbo_p: 0.9,
                drift_pairs: 20_000,
                seed: 0,
                top: 10,
                max_rank: None,
            },
            probes: Vec::new(),
            weat: WeatOptions {
                permutations: 10_000,
                bootstrap: 2_000,
                ..WeatOptions::default()
            },
            analogy: AnalogyOptions::default(),
            words: 10,
            neighbours: 10,
            map_points: 2_000,
            map_labels: 10,
            command: String::new(),
        }
    }
}

/// One version: its display name (the file as given) and its vectors.
pub struct Version<'a> {
    pub name: String,
    pub set: &'a EmbeddingSet,
}

/// A data set and where it came from.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DatasetInfo {
    /// "A", "B", "C", ...
    pub label: String,
    pub name: String,
    pub source: String,
    pub format: String,
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
    pub rows: usize,
    pub dim: usize,
    pub model_id: Option<String>,
    pub tokenizer_sha256: Option<String>,
    pub weights_sha256: Option<String>,
    /// Backend and adapter that encoded the vectors (model folders).
    pub backend: Option<String>,
    /// Every load / encode parameter recorded with the set.
    pub params: BTreeMap<String, String>,
    /// Warnings recorded while loading.
    pub warnings: Vec<String>,
}

/// One side's integrity.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IntegrityInfo {
    pub label: String,
    pub name: String,
    pub report: IntegrityReport,
}

/// Global measures of one compared pair.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Measures {
    pub jaccard: Vec<compare::JaccardStats>,
    pub rbo: compare::RboStats,
    pub linear_cka: f64,
    pub procrustes: compare::ProcrustesSummary,
    pub drift: compare::Drift,
}

/// Ranked words of one pair, each with its neighbours in both versions.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ChangedWords {
    /// The neighbourhood size the ranking and the lists use.
    pub k: usize,
    pub most_changed: Vec<WordDetail>,
    pub least_changed: Vec<WordDetail>,
    pub most_displaced: Vec<WordDetail>,
}

/// The vocabulary of one pair.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VocabularyDiff {
    pub summary: compare::VocabSummary,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokenizer: Option<TokenizerDiff>,
}

/// One compared pair (each version with the next).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PairSection {
    pub a: String,
    pub b: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vocabulary: Option<VocabularyDiff>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measures: Option<Measures>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub words: Option<ChangedWords>,
}

/// A labelled word on the maps.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MapWord {
    pub token: String,
    /// Its position in each version's map.
    pub positions: Vec<[f32; 2]>,
}

/// Maps of every version in the first one's frame.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Maps {
    pub method: String,
    pub versions: Vec<String>,
    /// Words in every version.
    pub shared_words: usize,
    /// Words drawn on each map.
    pub drawn: usize,
    pub labelled: Vec<MapWord>,
    /// Positions of the drawn words per version (drawn on the images, not written to JSON).
    #[serde(skip)]
    pub points: Vec<Vec<[f32; 2]>>,
}

/// One bias test on one version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BiasCell {
    pub test: String,
    /// "A", "B", ...
    pub label: String,
    pub version: String,
    /// Words found per set (x, y, a, b).
    pub n: [usize; 4],
    pub effect_size: f64,
    pub statistic: f64,
    /// 95% percentile bootstrap interval (None when no bootstrap was run).
    pub ci95: Option<[f64; 2]>,
    pub p_value: f64,
    pub p_value_method: bias::PValueMethod,
    pub p_holm: f64,
    /// Words missing from the vocabulary, as "set:word".
    pub missing: Vec<String>,
}

/// The bias section.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BiasSection {
    pub tests: Vec<String>,
    pub versions: Vec<String>,
    pub results: Vec<BiasCell>,
    /// Differences name the versions by label ("A", "B", ...).
    pub differences: Vec<bias::EffectDifference>,
    /// "holm": over every result above, and separately over the differences.
    pub correction: String,
    /// Tests that could not run on a version (the reason), and differences that failed.
    pub errors: Vec<String>,
}

/// Word-pair similarity benchmark of one version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SimilarityScore {
    pub benchmark: String,
    pub report: eval::PairReport,
}

/// The benchmarks of one version.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct EvalVersion {
    pub label: String,
    pub version: String,
    pub analogies: AnalogyReport,
    pub similarity: Vec<SimilarityScore>,
}

/// Every parameter behind the numbers.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Parameters {
    pub compare: CompareOptions,
    pub words: usize,
    pub neighbours: usize,
    pub map_points: usize,
    pub map_labels: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weat: Option<WeatOptions>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub analogy: Option<AnalogyParameters>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct AnalogyParameters {
    pub method: String,
    pub restrict_vocab: usize,
    pub case_insensitive: bool,
    pub dummy4unknown: bool,
}

/// A whole report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    pub title: String,
    pub embedscope_version: String,
    /// The command line that regenerates this report.
    pub command: String,
    pub sections: Vec<Section>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasets: Option<Vec<DatasetInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<Vec<IntegrityInfo>>,
    /// Each version compared with the next.
    pub pairs: Vec<PairSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<Maps>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<BiasSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval: Option<Vec<EvalVersion>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<Parameters>,
    /// Parts of chosen sections that could not be computed, as "section: reason" (the rest of
    /// the report stands).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// "A", "B", ..., "Z", "V27", ...
pub fn label(i: usize) -> String {
    if i < 26 {
        char::from(b'A' + i as u8).to_string()
    } else {
        format!("V{}", i + 1)
    }
}

fn dataset_info(i: usize, v: &Version) -> DatasetInfo {
    let p = &v.set.provenance;
    let param = |k: &str| p.params.get(k).cloned();
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
        tokenizer_sha256: param("tokenizer_sha256"),
        weights_sha256: param("weights_sha256"),
        backend: param("backend"),
        params: p.params.clone(),
        warnings: v.set.notes.warnings.clone(),
    }
}

fn details(c: &Comparison, order: Vec<usize>, n: usize, k: usize) -> Vec<WordDetail> {
    order
        .into_iter()
        .take(n)
        .filter_map(|i| c.detail(&c.vocab.tokens[i], k).ok())
        .collect()
}

fn changed_words(c: &Comparison, opts: &ReportOptions) -> ChangedWords {
    let k = opts.neighbours.min(c.k()).max(1);
    let mr = c.options.max_rank;
    ChangedWords {
        k,
        most_changed: details(c, c.ranked(RankBy::Neighbourhood, true, mr), opts.words, k),
        least_changed: details(c, c.ranked(RankBy::Neighbourhood, false, mr), opts.words, k),
        most_displaced: details(c, c.ranked(RankBy::Displacement, true, mr), opts.words, k),
    }
}

fn maps(
    versions: &[Version],
    first: Option<&Comparison>,
    opts: &ReportOptions,
) -> Result<Maps, ReportError> {
    let sets: Vec<&EmbeddingSet> = versions.iter().map(|v| v.set).collect();
    let layout = compare::aligned_layouts(&sets, opts.compare.lowercase)?;
    let n = layout.tokens.len();
    let drawn = opts.map_points.min(n);
    // One scale for every map: the first map's root-mean-square radius becomes 1.
    let rms = (layout.coords[0]
        .iter()
        .map(|p| f64::from(p[0]).powi(2) + f64::from(p[1]).powi(2))
        .sum::<f64>()
        / n.max(1) as f64)
        .sqrt();
    let scale = if rms > 0.0 && rms.is_finite() {
        (1.0 / rms) as f32
    } else {
        1.0
    };
    let coords: Vec<Vec<[f32; 2]>> = layout
        .coords
        .iter()
        .map(|cs| cs.iter().map(|p| [p[0] * scale, p[1] * scale]).collect())
        .collect();
    let index: hashbrown::HashMap<&str, usize> = layout
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    // Labels: the most displaced words of the first pair that every version has.
    let mut labelled = Vec::new();
    if let Some(c) = first {
        for i in c.ranked(RankBy::Displacement, true, c.options.max_rank) {
            if labelled.len() >= opts.map_labels {
                break;
            }
            if let Some(&j) = index.get(c.vocab.tokens[i].as_str()) {
                labelled.push(MapWord {
                    token: layout.tokens[j].clone(),
                    positions: coords.iter().map(|cs| cs[j]).collect(),
                });
            }
        }
    }
    Ok(Maps {
        method: format!(
            "top two principal axes of {}; every later version aligned to it by orthogonal \
             Procrustes on the {n} words all versions share; one scale for all maps (the first \
             map's root-mean-square radius is 1)",
            versions.first().map_or("", |v| v.name.as_str())
        ),
        versions: versions.iter().map(|v| v.name.clone()).collect(),
        shared_words: n,
        drawn,
        labelled,
        points: coords.iter().map(|cs| cs[..drawn].to_vec()).collect(),
    })
}

fn bias_section(
    versions: &[Version],
    opts: &ReportOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<BiasSection, ReportError> {
    let names: Vec<String> = versions.iter().map(|v| v.name.clone()).collect();
    let labels: Vec<String> = (0..versions.len()).map(label).collect();
    let mut grid: Vec<Vec<Option<WeatResult>>> = Vec::new();
    let mut errors = Vec::new();
    for test in &opts.probes {
        let mut row = Vec::new();
        for (vi, v) in versions.iter().enumerate() {
            if cancelled() {
                return Err(ReportError::Cancelled);
            }
            match bias::weat(v.set, test, &opts.weat) {
                Ok(r) => row.push(Some(r)),
                Err(e) => {
                    errors.push(format!("{} on {}: {e}", test.name, labels[vi]));
                    row.push(None);
                }
            }
        }
        grid.push(row);
    }
    let across = bias::across_versions(&labels, &grid, &opts.weat, cancelled).map_err(|e| {
        if e == AnalysisError::Cancelled {
            ReportError::Cancelled
        } else {
            e.into()
        }
    })?;
    errors.extend(across.errors);
    let mut results = Vec::new();
    for (row, holm_row) in grid.iter().zip(&across.p_holm) {
        for (vi, (cell, p_holm)) in row.iter().zip(holm_row).enumerate() {
            let (Some(r), Some(p_holm)) = (cell, p_holm) else {
                continue;
            };
            results.push(BiasCell {
                test: r.test.clone(),
                label: labels[vi].clone(),
                version: names[vi].clone(),
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
    Ok(BiasSection {
        tests: opts.probes.iter().map(|t| t.name.clone()).collect(),
        versions: names,
        results,
        differences: across.differences,
        correction: "holm".into(),
        errors,
    })
}

/// The bundled benchmarks, read once for every version.
struct Benchmarks {
    questions: eval::AnalogySet,
    pairs: Vec<(&'static str, eval::WordPairs)>,
}

impl Benchmarks {
    fn bundled() -> Result<Benchmarks, ReportError> {
        let mut pairs = Vec::new();
        for name in eval::bundled::PAIR_SETS {
            if let Some(p) = eval::bundled::pairs(name) {
                pairs.push((name, p?));
            }
        }
        Ok(Benchmarks {
            questions: eval::bundled::analogies()?,
            pairs,
        })
    }
}

fn eval_version(
    i: usize,
    v: &Version,
    bench: &Benchmarks,
    opts: &ReportOptions,
) -> Result<EvalVersion, ReportError> {
    let index = KnnIndex::new(v.set);
    let analogies = eval::evaluate_analogies(&index, &bench.questions, &opts.analogy, None)?;
    let popts = PairOptions {
        restrict_vocab: opts.analogy.restrict_vocab,
        case_insensitive: opts.analogy.case_insensitive,
        dummy4unknown: opts.analogy.dummy4unknown,
    };
    let similarity = bench
        .pairs
        .iter()
        .map(|(name, pairs)| SimilarityScore {
            benchmark: name.to_string(),
            report: eval::evaluate_pairs(&index, pairs, &popts),
        })
        .collect();
    Ok(EvalVersion {
        label: label(i),
        version: v.name.clone(),
        analogies,
        similarity,
    })
}

/// Computes every chosen section. `tokenizers[p]` is the tokenizer diff of versions `p` and
/// `p + 1` when both are model folders. `progress` gets a share done (0..1) and a step name;
/// `cancel` is polled between steps and inside the comparisons.
pub fn build(
    versions: &[Version],
    tokenizers: &[Option<TokenizerDiff>],
    opts: &ReportOptions,
    progress: &mut dyn FnMut(f32, &str),
    cancel: &AtomicBool,
) -> Result<Report, ReportError> {
    let cancelled = || cancel.load(Ordering::Relaxed);
    if versions.len() < 2 {
        return Err(ReportError::Invalid(format!(
            "a report compares at least two versions, got {}",
            versions.len()
        )));
    }
    if opts.sections.is_empty() {
        return Err(ReportError::Invalid("no report sections chosen".into()));
    }
    let has = |s: Section| opts.sections.contains(&s);
    let check = || {
        if cancelled() {
            Err(ReportError::Cancelled)
        } else {
            Ok(())
        }
    };
    let needs_compare = has(Section::Vocabulary)
        || has(Section::Measures)
        || has(Section::Words)
        || has(Section::Maps);
    let steps = (versions.len() - 1) as f32 + 3.0;
    let mut notes = Vec::new();
    let mut comparisons: Vec<Option<Comparison>> = Vec::new();
    if needs_compare {
        for (p, w) in versions.windows(2).enumerate() {
            check()?;
            progress(
                p as f32 / steps,
                &format!("comparing {} and {}", w[0].name, w[1].name),
            );
            match compare::compare(w[0].set, w[1].set, &opts.compare, Some(cancel)) {
                Ok(c) => comparisons.push(Some(c)),
                Err(AnalysisError::Cancelled) => return Err(ReportError::Cancelled),
                Err(e) => {
                    // The sections that need this comparison say why it is missing; the rest
                    // of the report stands.
                    for s in [
                        Section::Vocabulary,
                        Section::Measures,
                        Section::Words,
                        Section::Maps,
                    ] {
                        if has(s) && (s != Section::Maps || p == 0) {
                            notes.push(format!(
                                "{}: {} vs {}: {e}",
                                s.name(),
                                label(p),
                                label(p + 1)
                            ));
                        }
                    }
                    comparisons.push(None);
                }
            }
        }
    }
    let pairs: Vec<PairSection> = versions
        .windows(2)
        .enumerate()
        .map(|(p, w)| {
            let c = comparisons.get(p).and_then(Option::as_ref);
            PairSection {
                a: w[0].name.clone(),
                b: w[1].name.clone(),
                vocabulary: c
                    .filter(|_| has(Section::Vocabulary))
                    .map(|c| VocabularyDiff {
                        summary: c.vocab_summary.clone(),
                        tokenizer: tokenizers.get(p).cloned().flatten(),
                    }),
                measures: c.filter(|_| has(Section::Measures)).map(|c| Measures {
                    jaccard: c.jaccard.clone(),
                    rbo: c.rbo.clone(),
                    linear_cka: c.linear_cka,
                    procrustes: c.procrustes.clone(),
                    drift: c.drift.clone(),
                }),
                words: c
                    .filter(|_| has(Section::Words))
                    .map(|c| changed_words(c, opts)),
            }
        })
        .collect();
    let base = (versions.len() - 1) as f32 / steps;
    let first = comparisons.first().and_then(Option::as_ref);
    let maps = if has(Section::Maps) && (first.is_some() || !needs_compare) {
        check()?;
        progress(base, "aligned maps");
        match maps(versions, first, opts) {
            Ok(m) => Some(m),
            Err(e) => {
                notes.push(format!("maps: {e}"));
                None
            }
        }
    } else {
        None
    };
    let bias = if has(Section::Bias) && !opts.probes.is_empty() {
        check()?;
        progress(base + 1.0 / steps, "bias probes");
        Some(bias_section(versions, opts, &cancelled)?)
    } else {
        None
    };
    let eval = if has(Section::Eval) {
        let bench = Benchmarks::bundled()?;
        let mut out = Vec::new();
        for (i, v) in versions.iter().enumerate() {
            check()?;
            progress(base + 2.0 / steps, &format!("benchmarks of {}", v.name));
            out.push(eval_version(i, v, &bench, opts)?);
        }
        Some(out)
    } else {
        None
    };
    let integrity = has(Section::Integrity).then(|| {
        versions
            .iter()
            .enumerate()
            .map(|(i, v)| IntegrityInfo {
                label: label(i),
                name: v.name.clone(),
                report: IntegrityReport::new(v.set, &RowScan::new(&v.set.matrix)),
            })
            .collect()
    });
    progress(1.0, "done");
    Ok(Report {
        title: opts.title.clone(),
        embedscope_version: env!("CARGO_PKG_VERSION").to_string(),
        command: opts.command.clone(),
        sections: opts.sections.clone(),
        datasets: has(Section::Datasets).then(|| {
            versions
                .iter()
                .enumerate()
                .map(|(i, v)| dataset_info(i, v))
                .collect()
        }),
        integrity,
        pairs,
        notes,
        maps,
        bias,
        eval,
        parameters: has(Section::Parameters).then(|| Parameters {
            compare: opts.compare.clone(),
            words: opts.words,
            neighbours: opts.neighbours,
            map_points: opts.map_points,
            map_labels: opts.map_labels,
            weat: (has(Section::Bias) && !opts.probes.is_empty()).then(|| opts.weat.clone()),
            analogy: has(Section::Eval).then(|| AnalogyParameters {
                method: match opts.analogy.method {
                    crate::analysis::analogy::Method::Add => "3CosAdd".into(),
                    crate::analysis::analogy::Method::Mul => "3CosMul".into(),
                },
                restrict_vocab: opts.analogy.restrict_vocab,
                case_insensitive: opts.analogy.case_insensitive,
                dummy4unknown: opts.analogy.dummy4unknown,
            }),
        }),
    })
}

/// Quotes one argument for a POSIX shell when it needs it.
pub fn shell_quote(arg: &str) -> String {
    let safe = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c));
    if safe {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// `embedscope report ...`: the command line that regenerates a report with these options
/// from these files (defaults left out, so the line stays readable).
pub fn command_line(files: &[String], opts: &ReportOptions, out: &str) -> String {
    let d = ReportOptions::default();
    let mut args: Vec<String> = vec!["embedscope".into(), "report".into()];
    args.extend(files.iter().cloned());
    let mut opt = |name: &str, value: String| {
        args.push(name.to_string());
        args.push(value);
    };
    if opts.title != d.title {
        opt("--title", opts.title.clone());
    }
    if opts.sections != d.sections {
        opt(
            "--sections",
            opts.sections
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if !opts.probes.is_empty() {
        opt(
            "--probes",
            opts.probes
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    let c = &opts.compare;
    if c.ks != d.compare.ks {
        opt(
            "-k",
            c.ks.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(","),
        );
    }
    if let compare::Anchors::MostFrequent(n) = c.anchors {
        opt("--anchors", n.to_string());
    }
    if let Some(m) = c.max_rank {
        opt("--max-rank", m.to_string());
    }
    if c.drift_pairs != d.compare.drift_pairs {
        opt("--pairs", c.drift_pairs.to_string());
    }
    if c.seed != d.compare.seed {
        opt("--seed", c.seed.to_string());
    }
    if opts.words != d.words {
        opt("--words", opts.words.to_string());
    }
    if opts.neighbours != d.neighbours {
        opt("--neighbours", opts.neighbours.to_string());
    }
    if opts.map_points != d.map_points {
        opt("--map-points", opts.map_points.to_string());
    }
    if opts.map_labels != d.map_labels {
        opt("--map-labels", opts.map_labels.to_string());
    }
    if !opts.probes.is_empty() {
        let w = &opts.weat;
        if w.permutations != d.weat.permutations {
            opt("--permutations", w.permutations.to_string());
        }
        if w.bootstrap != d.weat.bootstrap {
            opt("--bootstrap", w.bootstrap.to_string());
        }
        if w.seed != d.weat.seed {
            opt("--probe-seed", w.seed.to_string());
        }
    }
    if opts.analogy.restrict_vocab != d.analogy.restrict_vocab {
        opt("--restrict-vocab", opts.analogy.restrict_vocab.to_string());
    }
    let mut line: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    if c.lowercase {
        line.push("--lowercase".into());
    }
    line.push("--out".into());
    line.push(shell_quote(out));
    line.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_parse() {
        assert_eq!(Section::parse_list("all").unwrap(), Section::ALL.to_vec());
        assert_eq!(
            Section::parse_list("words, datasets,words").unwrap(),
            vec![Section::Datasets, Section::Words]
        );
        let e = Section::parse_list("datasets,nope")
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"nope\"") && e.contains("measures"), "{e}");
        assert!(Section::parse_list(" , ").is_err());
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(shell_quote("a/b.vec"), "a/b.vec");
        assert_eq!(shell_quote("my file"), "'my file'");
        assert_eq!(shell_quote("it's"), "'it'\\''s'");
        assert_eq!(shell_quote(""), "''");
    }

    #[test]
    fn command_line_leaves_defaults_out() {
        let mut o = ReportOptions::default();
        let files = vec!["a.vec".to_string(), "b c.vec".to_string()];
        assert_eq!(
            command_line(&files, &o, "r.html"),
            "embedscope report a.vec 'b c.vec' --out r.html"
        );
        o.compare.seed = 7;
        o.sections = vec![Section::Datasets, Section::Words];
        o.compare.lowercase = true;
        assert_eq!(
            command_line(&files, &o, "r.md"),
            "embedscope report a.vec 'b c.vec' --sections datasets,words --seed 7 --lowercase \
             --out r.md"
        );
    }
}
