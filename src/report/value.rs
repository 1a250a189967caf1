//! The report value: the [`Section`]s a report can hold and the types of every number in
//! them. [`Report`] is serialised as the JSON report; the renderers lay it out.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ReportError;
use crate::analysis::bias::{self, WeatOptions};
use crate::analysis::compare::{self, CompareOptions, WordDetail};
use crate::analysis::drift::{
    ClusterRow, DriftMethod, PcaInfo, SideCounts, ThresholdRule, ValidDriftParams,
};
use crate::analysis::eval::{self, AnalogyReport};
use crate::core::{IntegrityReport, ProvenanceDiff};
use crate::model::tokdiff::TokenizerDiff;

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
    /// Drift of each version's rows (the reference) against the next version's (the current),
    /// as two samples of one space: the tests, the clusters whose share changed, the joint map.
    Drift,
    /// Bias probes side by side with intervals, p-values and the correction.
    Bias,
    /// Evaluation benchmarks (analogies, WordSim-353, SimLex-999) of each version.
    Eval,
    /// Every parameter and seed.
    Parameters,
}

impl Section {
    pub const ALL: [Section; 10] = [
        Section::Datasets,
        Section::Integrity,
        Section::Vocabulary,
        Section::Measures,
        Section::Words,
        Section::Maps,
        Section::Drift,
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
            Section::Drift => "drift",
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
            Section::Drift => "Drift between samples",
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
    /// How the vectors were encoded, as recorded beside the file (`<stem>.provenance.json`)
    /// or in a native file's header (a set encoded in this run has these in `params`).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub encoding: BTreeMap<String, String>,
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
    /// What differs between the two versions' encodings (model, pooling, prompt, ...); with
    /// the data sets section.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provenance: Option<ProvenanceDiff>,
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
    /// The UMAP map's parameters and fit (absent for the principal-axes maps).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub umap: Option<UmapMap>,
    /// Positions of the drawn words per version (drawn on the images, not written to JSON).
    #[serde(skip)]
    pub points: Vec<Vec<[f32; 2]>>,
}

/// How a UMAP map of the maps section was made.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct UmapMap {
    pub method: String,
    pub params: crate::analysis::project::umap::UmapParams,
    /// Words of the first version the map is fitted on (the rest are placed into it).
    pub fitted: usize,
    pub a: f64,
    pub b: f64,
    pub n_epochs: usize,
    pub init: String,
}

/// One drift test of a pair.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DriftTest {
    pub method: DriftMethod,
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
    /// Rows of each side the test used (a sample for MMD and energy).
    pub rows: SideCounts,
}

/// A cluster named on the joint map: its keywords at its centroid.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DriftMapLabel {
    pub cluster: i64,
    pub ratio: f64,
    pub keywords: Vec<String>,
    /// The mean position of the cluster's joint rows.
    pub position: [f32; 2],
}

/// The joint rows of a pair on their first two principal components, coloured by side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DriftMap {
    /// The share of the joint rows' variance along each axis.
    pub explained: [f64; 2],
    /// Joint rows drawn per side (evenly spaced in each side's order when there are more
    /// than the report's `map_points` in all).
    pub drawn: SideCounts,
    pub labelled: Vec<DriftMapLabel>,
    /// The drawn rows of each side (drawn on the image, not written to JSON).
    #[serde(skip)]
    pub reference_points: Vec<[f32; 2]>,
    #[serde(skip)]
    pub current_points: Vec<[f32; 2]>,
}

/// The drift study of one pair: version `reference` (the earlier) against `current`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DriftPair {
    /// "A", "B", ...
    pub reference: String,
    pub current: String,
    /// The versions' names.
    pub a: String,
    pub b: String,
    pub tests: Vec<DriftTest>,
    /// Rows used per side (rows with NaN/Inf left out).
    pub n_ref: usize,
    pub n_cur: usize,
    pub nan_rows_left_out: SideCounts,
    pub dim: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pca: Option<PcaInfo>,
    /// Rows per side behind MMD and energy, when either ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel_sample: Option<SideCounts>,
    pub alpha: f64,
    /// Said beside the results (a model check that could not be made).
    pub warnings: Vec<String>,
    /// Clusters of the joint rows (k-means, cosine) with rows on either side.
    pub cluster_count: usize,
    /// The clusters listed (the report's `drift.top`), by change of share.
    pub clusters: Vec<ClusterRow>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map: Option<DriftMap>,
}

/// The drift section's parameters.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DriftParameters {
    pub tests: ValidDriftParams,
    pub clusters: usize,
    pub keywords: usize,
    pub top: usize,
    pub allow_other_models: bool,
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
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<DriftParameters>,
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
    /// What `--redact` masked (absent without it): the report's provenance says redaction
    /// was on, with counts per kind and place, never a value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub redaction: Option<super::redact::Redaction>,
    pub sections: Vec<Section>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub datasets: Option<Vec<DatasetInfo>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub integrity: Option<Vec<IntegrityInfo>>,
    /// Each version compared with the next.
    pub pairs: Vec<PairSection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maps: Option<Maps>,
    /// Each version's rows against the next one's (pairs that could not be studied are in
    /// `notes`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<Vec<DriftPair>>,
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
}
