//! What a report holds and how it is computed ([`ReportOptions`]), the versions it compares,
//! and the `embedscope report` command line that regenerates it.

use super::{ReportError, Section};
use crate::analysis::bias::{WeatOptions, WeatTest};
use crate::analysis::compare::{self, CompareOptions};
use crate::analysis::drift::{DriftMethod, DriftParams, StudyParams, ValidStudyParams};
use crate::analysis::eval::AnalogyOptions;
use crate::analysis::project::umap::UmapParams;
use crate::core::EmbeddingSet;

/// How the maps section lays the versions out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MapMethod {
    /// The first version's top two principal axes (every version aligned onto it).
    #[default]
    Pca,
    /// A UMAP map of the first version, the others aligned and placed into it.
    Umap,
}

impl MapMethod {
    pub const ALL: [MapMethod; 2] = [MapMethod::Pca, MapMethod::Umap];

    /// The name `--map-method` takes.
    pub fn name(self) -> &'static str {
        match self {
            MapMethod::Pca => "pca",
            MapMethod::Umap => "umap",
        }
    }
}

impl std::fmt::Display for MapMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for MapMethod {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        MapMethod::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| format!("unknown map method {s:?}: expected pca or umap"))
    }
}

/// How the drift section studies each version (the reference) against the next (the current).
/// The seed is the report's (`compare.seed`).
#[derive(Debug, Clone, PartialEq)]
pub struct DriftOptions {
    /// The tests run (in any order; listed in report order).
    pub methods: Vec<DriftMethod>,
    /// Permutations per test.
    pub permutations: usize,
    /// Rows per side at most behind MMD and energy (a seeded sample above it).
    pub kernel_sample: usize,
    /// k of the joint rows' k-means; 0: no clusters.
    pub clusters: usize,
    /// Keywords per cluster.
    pub keywords: usize,
    /// Clusters listed per pair (the largest changes of share first).
    pub top: usize,
    /// Go on (with a warning) when the two sets' encoding records name different weights.
    pub allow_other_models: bool,
}

impl Default for DriftOptions {
    /// Every test with 1,000 permutations, but MMD and energy on at most 2,000 rows a side and
    /// 8 clusters, so a pair of 50k x 384 sets takes seconds.
    fn default() -> Self {
        DriftOptions {
            methods: DriftMethod::ALL.to_vec(),
            permutations: 1000,
            kernel_sample: 2000,
            clusters: 8,
            keywords: 6,
            top: 12,
            allow_other_models: false,
        }
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
    /// How the maps are laid out (UMAP: [`ReportOptions::umap_params`]).
    pub map_method: MapMethod,
    /// The drift section's tests, clusters and model check.
    pub drift: DriftOptions,
    /// Mask every finding of the privacy scan in the data's text (`--redact`).
    pub redact: bool,
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
            map_method: MapMethod::Pca,
            drift: DriftOptions::default(),
            redact: false,
            command: String::new(),
        }
    }
}

impl ReportOptions {
    /// The UMAP parameters of the maps: umap-learn's defaults (2-D, 15 neighbours, min_dist
    /// 0.1, euclidean) seeded by the report's seed.
    pub fn umap_params(&self) -> UmapParams {
        UmapParams {
            dims: 2,
            seed: self.compare.seed,
            ..UmapParams::default()
        }
    }

    /// The drift study's parameters, checked: the drift options seeded by the report's seed,
    /// with the joint map.
    pub fn drift_params(&self) -> Result<ValidStudyParams, ReportError> {
        let d = &self.drift;
        Ok(StudyParams {
            drift: DriftParams {
                methods: d.methods.clone(),
                seed: self.compare.seed,
                permutations: d.permutations,
                kernel_sample: d.kernel_sample,
                ..DriftParams::default()
            },
            clusters: d.clusters,
            keywords: d.keywords,
            map: true,
        }
        .check()?)
    }
}

/// One version: its display name (the file as given) and its vectors.
pub struct Version<'a> {
    pub name: String,
    pub set: &'a EmbeddingSet,
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
    if opts.map_method != d.map_method {
        opt("--map-method", opts.map_method.name().to_string());
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
    let drift = opts.sections.contains(&Section::Drift);
    if drift {
        let (g, dd) = (&opts.drift, &d.drift);
        let mut methods = g.methods.clone();
        methods.sort_unstable();
        methods.dedup();
        if methods != dd.methods {
            opt(
                "--drift-methods",
                methods
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(","),
            );
        }
        for (name, v, dv) in [
            ("--drift-permutations", g.permutations, dd.permutations),
            ("--drift-kernel-sample", g.kernel_sample, dd.kernel_sample),
            ("--drift-clusters", g.clusters, dd.clusters),
            ("--drift-keywords", g.keywords, dd.keywords),
            ("--drift-top", g.top, dd.top),
        ] {
            if v != dv {
                opt(name, v.to_string());
            }
        }
    }
    let mut line: Vec<String> = args.iter().map(|a| shell_quote(a)).collect();
    if c.lowercase {
        line.push("--lowercase".into());
    }
    if drift && opts.drift.allow_other_models {
        line.push("--allow-other-models".into());
    }
    if opts.redact {
        line.push("--redact".into());
    }
    line.push("--out".into());
    line.push(shell_quote(out));
    line.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

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
        o.map_method = MapMethod::Umap;
        assert!(
            command_line(&files, &o, "r.md").contains(" --seed 7 --map-method umap "),
            "{}",
            command_line(&files, &o, "r.md")
        );
        assert_eq!("UMAP".parse::<MapMethod>(), Ok(MapMethod::Umap));
        // Drift options only with the drift section, and only where they differ.
        o.drift.permutations = 99;
        o.drift.allow_other_models = true;
        o.drift.methods = vec![DriftMethod::Mmd, DriftMethod::DistanceCosine];
        assert!(!command_line(&files, &o, "r.md").contains("drift"));
        o.sections.push(Section::Drift);
        let line = command_line(&files, &o, "r.md");
        assert!(
            line.contains(
                " --drift-methods distance_cosine,mmd --drift-permutations 99 --lowercase \
                 --allow-other-models --out r.md"
            ),
            "{line}"
        );
        assert!(!line.contains("--drift-clusters"), "{line}");
        assert!("tsne".parse::<MapMethod>().is_err());
    }
}
