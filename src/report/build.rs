//! [`build`]: every chosen section of a report computed from the analyses (compare per
//! consecutive pair, the drift study per consecutive pair, aligned maps, the WEAT grid, the
//! bundled benchmarks, integrity), with progress, cancellation, and notes for the parts that
//! could not be computed.

use std::ops::ControlFlow;
use std::sync::atomic::{AtomicBool, Ordering};

use super::sections::maps;
use super::{
    AnalogyParameters, BiasSection, ChangedWords, DatasetInfo, DriftPair, DriftParameters,
    EvalVersion, IntegrityInfo, MapMethod, Measures, PairSection, Parameters, Report, ReportError,
    ReportOptions, Section, Version, VocabularyDiff, label,
};
use crate::analysis::AnalysisError;
use crate::analysis::bias;
use crate::analysis::compare::{self, Comparison};
use crate::analysis::eval::{self, BundledBenchmarks};
use crate::analysis::knn::KnnIndex;
use crate::analysis::memory::Estimate;
use crate::core::{EmbeddingSet, ProvenanceDiff, RowKind};
use crate::model::tokdiff::TokenizerDiff;

fn cancelled_or(e: AnalysisError) -> ReportError {
    if e == AnalysisError::Cancelled {
        ReportError::Cancelled
    } else {
        e.into()
    }
}

fn bias_section(
    versions: &[Version],
    opts: &ReportOptions,
    cancelled: &dyn Fn() -> bool,
) -> Result<BiasSection, ReportError> {
    let names: Vec<String> = versions.iter().map(|v| v.name.clone()).collect();
    let labels: Vec<String> = (0..versions.len()).map(label).collect();
    let grid = bias::weat_grid(
        &opts.probes,
        &labels,
        &opts.weat,
        &mut |test, v| bias::weat(versions[v].set, test, &opts.weat),
        &mut |_, _, _, _| {},
        cancelled,
    )
    .map_err(cancelled_or)?;
    let tests: Vec<String> = opts.probes.iter().map(|t| t.name.clone()).collect();
    Ok(BiasSection::of(&tests, &names, &grid))
}

/// The memory [`build`] needs at its peak (`analysis::memory`), from the versions' shapes and
/// the chosen sections: the sections run one after another (each pair's comparison, each
/// pair's drift study, the maps, the bias probes, the benchmarks), and the comparisons are kept
/// until the end, so the estimate is the kept comparisons plus the largest step. The shared
/// rows of a pair are taken as the smaller version's rows (an upper bound).
pub fn memory_estimate(versions: &[&EmbeddingSet], opts: &ReportOptions) -> Estimate {
    use crate::analysis::memory as m;
    let has = |s: Section| opts.sections.contains(&s);
    let shapes: Vec<(usize, usize)> = versions.iter().map(|v| (v.rows(), v.dim())).collect();
    let needs_compare = has(Section::Vocabulary)
        || has(Section::Measures)
        || has(Section::Words)
        || has(Section::Maps);
    let ks = opts.compare.ks.len().max(1);
    let k = opts.compare.ks.iter().copied().max().unwrap_or(10);
    let mut steps = Vec::new();
    let mut kept = 0u64;
    for w in versions.windows(2) {
        let (a, b) = (w[0], w[1]);
        let shared = a.rows().min(b.rows());
        if needs_compare {
            steps.push(m::compare(
                &[(a.rows(), a.dim()), (b.rows(), b.dim())],
                shared,
                k,
                shared,
            ));
            let tokens = a.vocab.byte_len().min(b.vocab.byte_len()) as u64;
            kept = kept.saturating_add(m::compare_kept(
                shared,
                ks,
                k,
                tokens,
                a.row_kind() != RowKind::Words,
            ));
        }
        if has(Section::Drift) {
            let rows = a.rows().saturating_add(b.rows());
            let d = a.dim();
            let p = &opts.drift;
            let pca = crate::analysis::drift::DriftParams::default()
                .pca
                .unwrap_or(d)
                .min(d);
            let mut e = m::drift(
                rows,
                d,
                pca,
                p.kernel_sample.saturating_mul(2).min(rows),
                p.permutations,
            );
            if p.clusters > 0 {
                e = e.with(&m::kmeans(rows, d, p.clusters));
            }
            steps.push(e);
        }
    }
    if has(Section::Maps) {
        let shared = shapes.iter().map(|v| v.0).min().unwrap_or(0);
        let umap_k = (opts.map_method == MapMethod::Umap).then(|| opts.umap_params().n_neighbors);
        steps.push(m::aligned_maps(
            &shapes,
            shared,
            opts.map_points,
            opts.map_labels,
            umap_k,
        ));
    }
    if has(Section::Bias) && !opts.probes.is_empty() {
        let words = opts
            .probes
            .iter()
            .map(|t| t.x.words.len() + t.y.words.len() + t.a.words.len() + t.b.words.len())
            .max()
            .unwrap_or(0);
        let d = shapes.iter().map(|v| v.1).max().unwrap_or(0);
        steps.push(m::bias_grid(
            versions.len(),
            opts.probes.len(),
            words,
            d,
            opts.weat.permutations.max(opts.weat.bootstrap),
        ));
    }
    if has(Section::Eval) && versions.iter().all(|v| v.row_kind() == RowKind::Words) {
        for &(n, d) in &shapes {
            steps.push(m::evaluate(n, d, opts.analogy.restrict_vocab));
        }
    }
    m::sequence(
        format!("a report of {} versions", versions.len()),
        "fewer sections (--sections), or --limit N on each version",
        &[("kept comparisons", kept)],
        &steps,
    )
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
    // The drift options are checked before anything runs.
    let drift_params = has(Section::Drift)
        .then(|| opts.drift_params())
        .transpose()?;
    let pairs_n = versions.len() - 1;
    // One step per comparison and per drift study, then the maps, the bias probes and the
    // benchmarks.
    let drift_steps = if drift_params.is_some() { pairs_n } else { 0 };
    let steps = (pairs_n + drift_steps) as f32 + 3.0;
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
                provenance: has(Section::Datasets).then(|| {
                    ProvenanceDiff::of(
                        &label(p),
                        &w[0].set.provenance,
                        &label(p + 1),
                        &w[1].set.provenance,
                    )
                }),
                vocabulary: c
                    .filter(|_| has(Section::Vocabulary))
                    .map(|c| VocabularyDiff {
                        summary: c.vocab_summary.clone(),
                        tokenizer: tokenizers.get(p).cloned().flatten(),
                    }),
                measures: c.filter(|_| has(Section::Measures)).map(Measures::of),
                words: c
                    .filter(|_| has(Section::Words))
                    .map(|c| ChangedWords::of(c, opts.words, opts.neighbours.max(1))),
            }
        })
        .collect();
    let mut drift = None;
    if let Some(params) = &drift_params {
        let mut studied = Vec::new();
        for (p, w) in versions.windows(2).enumerate() {
            check()?;
            let at = (pairs_n + p) as f32 / steps;
            let step = format!("drift of {} against {}", w[1].name, w[0].name);
            progress(at, &step);
            let mut share = |f: f32| progress(at + f.clamp(0.0, 1.0) / steps, &step);
            match DriftPair::of(p, &w[0], &w[1], params, opts, &mut share, cancel) {
                Ok(d) => studied.push(d),
                Err(AnalysisError::Cancelled) => return Err(ReportError::Cancelled),
                // A pair that is not two samples of one space (another dimension, other
                // weights) says why; the other pairs and sections stand.
                Err(e) => notes.push(format!("drift: {} vs {}: {e}", label(p), label(p + 1))),
            }
        }
        drift = Some(studied);
    }
    let base = (pairs_n + drift_steps) as f32 / steps;
    let first = comparisons.first().and_then(Option::as_ref);
    let maps = if has(Section::Maps) && (first.is_some() || !needs_compare) {
        check()?;
        progress(base, "aligned maps");
        let step = if opts.map_method == MapMethod::Umap {
            "UMAP maps"
        } else {
            "aligned maps"
        };
        let mut share = |f: f32| {
            progress(base + f / steps, step);
            if cancelled() {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        };
        match maps(versions, first, opts, &mut share) {
            Ok(m) => Some(m),
            Err(ReportError::Analysis(AnalysisError::Cancelled)) => {
                return Err(ReportError::Cancelled);
            }
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
    let documents: Vec<&str> = versions
        .iter()
        .filter(|v| v.set.row_kind() != RowKind::Words)
        .map(|v| v.name.as_str())
        .collect();
    if has(Section::Eval) && !documents.is_empty() {
        // Analogies and word-similarity benchmarks look words up: on documents every item
        // would be out of vocabulary.
        notes.push(format!(
            "benchmarks left out: the rows of {} are documents, and the word benchmarks \
             (analogies, word similarity) compare words",
            documents.join(", ")
        ));
    }
    let eval = if has(Section::Eval) && documents.is_empty() {
        let bench = BundledBenchmarks::load()?;
        let mut out = Vec::new();
        for (i, v) in versions.iter().enumerate() {
            check()?;
            progress(base + 2.0 / steps, &format!("benchmarks of {}", v.name));
            let scores = eval::run_benchmarks(&KnnIndex::new(v.set), &bench, &opts.analogy, None)?;
            out.push(EvalVersion::of(i, &v.name, scores));
        }
        Some(out)
    } else {
        None
    };
    let integrity = has(Section::Integrity).then(|| {
        versions
            .iter()
            .enumerate()
            .map(|(i, v)| IntegrityInfo::of(i, v))
            .collect()
    });
    progress(1.0, "done");
    let mut report = Report {
        title: opts.title.clone(),
        embedscope_version: env!("CARGO_PKG_VERSION").to_string(),
        command: opts.command.clone(),
        redaction: None,
        sections: opts.sections.clone(),
        datasets: has(Section::Datasets).then(|| {
            versions
                .iter()
                .enumerate()
                .map(|(i, v)| DatasetInfo::of(i, v))
                .collect()
        }),
        integrity,
        pairs,
        notes,
        maps,
        drift,
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
            drift: drift_params.as_ref().map(|p| DriftParameters {
                tests: p.drift.clone(),
                clusters: p.clusters,
                keywords: p.keywords,
                top: opts.drift.top,
                allow_other_models: opts.drift.allow_other_models,
            }),
        }),
    };
    // Redaction is one pass over the finished value: every format renders what it left.
    if opts.redact {
        super::redact(&mut report);
    }
    Ok(report)
}
