//! `embedscope compare A B [C...]`: what changed between versions of a model, and a release
//! gate (`--fail-if`, exit code 3). The arguments, loading (or encoding) the versions and the
//! comparison are here; what is written (JSON, CSV, text) is in [`output`].

mod output;

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::Args;
use embedscope::analysis::compare::{self, Anchors, CompareOptions, Condition, gate};
use embedscope::core::{EmbeddingSet, ProvenanceDiff};
use embedscope::engine::EngineError;
use embedscope::engine::device::{self, BackendChoice};
use embedscope::engine::encode::{self, Level, SentenceCollector};
use embedscope::formats::CacheStatus;
use embedscope::formats::corpus::{Corpus, CorpusOptions};
use embedscope::model::{Encoder, tokdiff};
use serde_json::{Value, json};

use self::output::{human, pair_json, per_word_csv, version_json, vocab_csv, write_file};

use super::progress::Bar;
use super::values::{BackendArg, LevelArg, MAX_BATCH, MAX_ROWS, MAX_STEPS, count};
use super::{CliError, LoadArgs, Loaded, print_json, usage};

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// Two or more versions (vector files, or `demo`); each is compared with the next.
    #[arg(value_name = "FILE", num_args = 2.., required = true)]
    pub files: Vec<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Length of the most / least changed lists.
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N", default_value_t = 20)]
    pub top: usize,
    /// Show a word's neighbours in each version side by side (repeatable).
    #[arg(long, value_name = "TOKEN")]
    pub word: Vec<String>,
    /// Write every shared word's change (first pair) to a CSV file.
    #[arg(long, value_name = "FILE.csv")]
    pub per_word: Option<PathBuf>,
    /// Write every token found in only one version (first pair) to a CSV file.
    #[arg(long, value_name = "FILE.csv")]
    pub vocab_diff: Option<PathBuf>,
    /// Exit with code 3 when a condition holds on any compared pair, e.g.
    /// "mean_jaccard@10 < 0.6" (repeatable; measures: mean_jaccard@K, median_jaccard@K, rbo,
    /// linear_cka, procrustes_disparity, mean_aligned_cosine, median_aligned_cosine,
    /// shared_vocab, only_a, only_b, excluded, drift_score, pair_cosine_spearman, norm_ks,
    /// pair_cosine_ks, centroid_norm_change).
    #[arg(long = "fail-if", value_name = "EXPR")]
    pub fail_if: Vec<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub encode: EncodeArgs,
}

/// What the comparison computes on the shared words (shared by `compare` and `report`).
#[derive(Args, Debug, Clone)]
pub struct MeasureArgs {
    /// Neighbourhood sizes for Jaccard@k, comma-separated (the smallest also sets the RBO
    /// depth and the per-word ranking).
    #[arg(
        short = 'k',
        long = "k",
        value_name = "K[,K...]",
        default_value = "10,50"
    )]
    pub k: String,
    /// Match tokens by their lowercase form (the first case variant of each side is kept).
    #[arg(long)]
    pub lowercase: bool,
    /// Fit the alignment on the N most frequent shared words only.
    #[arg(value_parser = count(2, MAX_ROWS), long, value_name = "N", conflicts_with = "anchors_file")]
    pub anchors: Option<usize>,
    /// Fit the alignment on the words of FILE (one per line).
    #[arg(long, value_name = "FILE")]
    pub anchors_file: Option<PathBuf>,
    /// Rank only words up to this frequency rank (A's counts, else its row order).
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N")]
    pub max_rank: Option<usize>,
    /// Word pairs sampled for the drift statistics.
    #[arg(value_parser = count(1, MAX_STEPS), long, value_name = "N", default_value_t = 20_000)]
    pub pairs: usize,
    /// Seed of the drift pair sample.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub seed: u64,
}

/// How versions that are model folders are turned into vectors (shared by `compare` and
/// `report`).
#[derive(Args, Debug, Clone)]
pub struct EncodeArgs {
    /// Corpus to encode with versions that are model folders (the same corpus for each), and
    /// whose words the tokenizers are compared on.
    #[arg(long, value_name = "FILE")]
    pub corpus: Option<PathBuf>,
    /// CSV/TSV/Parquet text column or JSONL field of the corpus.
    #[arg(long, value_name = "NAME")]
    pub text_column: Option<String>,
    /// What model folders produce: `word` (contextual vectors averaged per word type) or
    /// `sentence` (one row per document, matched by document number).
    #[arg(long, value_name = "LEVEL", value_enum, default_value_t = LevelArg::Word)]
    pub level: LevelArg,
    /// Backend for model folders.
    #[arg(long, value_enum, default_value_t = BackendArg::Auto, ignore_case = true)]
    pub backend: BackendArg,
    /// Maximum sequences per batch for model folders.
    #[arg(value_parser = count(1, MAX_BATCH), long, default_value_t = 32)]
    pub batch_size: usize,
}

/// Words of the corpus (distinct, first seen first) that the tokenizers are compared on.
const TOKENIZER_SAMPLE_WORDS: usize = 5000;

fn corpus_options(a: &EncodeArgs) -> CorpusOptions {
    CorpusOptions {
        text_field: a.text_column.clone(),
        ..CorpusOptions::default()
    }
}

/// Encodes the corpus with a model folder into a set (word types or documents).
fn encode_version(
    model: &Path,
    a: &EncodeArgs,
    corpus_path: &Path,
    choice: BackendChoice,
) -> Result<EmbeddingSet, CliError> {
    let rt = |e: EngineError| CliError::Runtime(e.into());
    let (dev, info) = device::select(choice).map_err(rt)?;
    let backend = &info;
    eprintln!("{}: {}", model.display(), backend.describe());
    let enc = Encoder::load(model, &dev, None).map_err(|e| CliError::Runtime(e.into()))?;
    let mut corpus = Corpus::open(corpus_path, &corpus_options(a))?;
    let level = Level::from(a.level);
    let eopts = encode::options_for(&enc, backend, level, a.batch_size);
    super::guard(&encode::memory_estimate(
        &enc,
        &eopts,
        encode::workers_for(backend),
        std::fs::metadata(corpus_path).map_or(0, |m| m.len()),
    ))?;
    let provenance = encode::provenance(model, &enc, level, backend, corpus_path, &corpus);
    let bar = Bar::new("encoding", true);
    let mut on_progress = |p: &encode::Progress| bar.update(p.done, p.total);
    let cancel = AtomicBool::new(false);
    let set = match level {
        Level::Sentence => {
            let mut collect = SentenceCollector::new(enc.dim(), corpus.meta_names());
            let mut sink = |r: encode::DocRow| -> Result<(), EngineError> {
                collect.push(&r);
                Ok(())
            };
            encode::encode_sentences(
                &enc,
                &mut corpus,
                &eopts,
                &mut sink,
                &mut on_progress,
                &cancel,
            )
            .map_err(rt)?;
            collect.finish(provenance).map_err(rt)?
        }
        Level::Word => {
            let (mut out, _) =
                encode::encode_words(&enc, &mut corpus, &eopts, &mut on_progress, &cancel)
                    .map_err(rt)?;
            out.types.provenance = provenance;
            out.types
        }
    };
    bar.finish();
    if set.rows() == 0 {
        return Err(CliError::Runtime(anyhow::anyhow!(
            "{}: no documents to encode with {}",
            corpus_path.display(),
            model.display()
        )));
    }
    Ok(set)
}

fn parse_ks(s: &str) -> Result<Vec<usize>, CliError> {
    let mut ks = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.parse::<usize>() {
            Ok(k) if (1..=MAX_ROWS).contains(&k) => ks.push(k),
            _ => {
                return Err(usage(format!(
                    "-k {s:?}: {part:?} is not a whole number from 1 to {MAX_ROWS} (e.g. -k 10,50)"
                )));
            }
        }
    }
    if ks.is_empty() {
        return Err(usage(
            "-k needs at least one neighbourhood size (e.g. -k 10,50)",
        ));
    }
    ks.sort_unstable();
    ks.dedup();
    Ok(ks)
}

/// The comparison options from the shared arguments; `top` is the length of the ranked lists.
pub(super) fn compare_options(m: &MeasureArgs, top: usize) -> Result<CompareOptions, CliError> {
    let ks = parse_ks(&m.k)?;
    if top == 0 {
        return Err(usage("--top must be at least 1"));
    }
    let anchors = match (&m.anchors, &m.anchors_file) {
        (Some(n), _) if *n < 2 => return Err(usage("--anchors must be at least 2")),
        (Some(n), _) => Anchors::MostFrequent(*n),
        (None, Some(p)) => {
            let text = embedscope::formats::read_side_file(p, "anchor list (one word a line)")?;
            let words: Vec<String> = text
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
                .collect();
            if words.is_empty() {
                return Err(usage(format!(
                    "{}: no anchor words (one per line)",
                    p.display()
                )));
            }
            Anchors::Tokens(words)
        }
        (None, None) => Anchors::All,
    };
    Ok(CompareOptions {
        ks,
        lowercase: m.lowercase,
        anchors,
        rbo_p: 0.9,
        drift_pairs: m.pairs,
        seed: m.seed,
        top,
        max_rank: m.max_rank,
    })
}

fn options(a: &CompareArgs) -> Result<(CompareOptions, Vec<Condition>), CliError> {
    let opts = compare_options(&a.measure, a.top)?;
    let ks = &opts.ks;
    let mut conditions = Vec::new();
    for text in &a.fail_if {
        let c = Condition::parse(text).map_err(|e| usage(e.to_string()))?;
        if let Some(k) = c.measure.k()
            && !ks.contains(&k)
        {
            return Err(usage(format!(
                "--fail-if {text:?} needs k = {k}, which -k does not compute (-k {}); add it, \
                 e.g. -k {}",
                a.measure.k,
                ks.iter()
                    .chain(std::iter::once(&k))
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join(",")
            )));
        }
        conditions.push(c);
    }
    Ok((opts, conditions))
}

/// Loads each version: vector files as they are, model folders by encoding the corpus; and the
/// tokenizer diff of each consecutive pair of model folders.
pub(super) fn load_versions(
    files: &[String],
    load: &LoadArgs,
    e: &EncodeArgs,
) -> Result<(Vec<Loaded>, Vec<Option<tokdiff::TokenizerDiff>>), CliError> {
    let is_model = |f: &str| Path::new(f).is_dir();
    let models: Vec<bool> = files.iter().map(|f| is_model(f)).collect();
    let corpus_path = match (&e.corpus, models.iter().any(|&m| m)) {
        (None, true) => {
            let f = &files[models.iter().position(|&m| m).unwrap_or(0)];
            return Err(usage(format!(
                "{f} is a folder (a model): give --corpus FILE to encode the same corpus with \
                 each model version"
            )));
        }
        (Some(p), true) => Some(p.clone()),
        (Some(_), false) => {
            return Err(usage(
                "--corpus is for versions that are model folders; every version here is a \
                 vector file",
            ));
        }
        (None, false) => None,
    };
    if e.batch_size == 0 {
        return Err(usage("--batch-size must be at least 1"));
    }
    let choice = BackendChoice::from(e.backend);
    let mut loaded: Vec<Loaded> = Vec::with_capacity(files.len());
    for (f, &m) in files.iter().zip(&models) {
        match (m, &corpus_path) {
            (true, Some(c)) => {
                let t = Instant::now();
                let set = encode_version(Path::new(f), e, c, choice)?;
                loaded.push(Loaded {
                    set,
                    seconds: t.elapsed().as_secs_f64(),
                    cache: CacheStatus::Off,
                });
            }
            _ => loaded.push(load.load(f)?),
        }
    }
    // Tokenizers of consecutive model folders, on the corpus's words.
    let mut tokenizers: Vec<Option<tokdiff::TokenizerDiff>> = vec![None; files.len() - 1];
    if let Some(c) = &corpus_path
        && models.windows(2).any(|w| w[0] && w[1])
    {
        let words = encode::corpus_words(c, &corpus_options(e), TOKENIZER_SAMPLE_WORDS)
            .map_err(|e| CliError::Runtime(e.into()))?;
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        for (p, slot) in tokenizers.iter_mut().enumerate() {
            if models[p] && models[p + 1] {
                *slot = Some(
                    tokdiff::diff(Path::new(&files[p]), Path::new(&files[p + 1]), &refs)
                        .map_err(|e| CliError::Runtime(e.into()))?,
                );
            }
        }
    }
    Ok((loaded, tokenizers))
}

/// The comparison's memory estimate over the loaded versions (the shared rows are at most the
/// smallest version's).
pub(super) fn guard_sets(sets: &[&EmbeddingSet], opts: &CompareOptions) -> Result<(), CliError> {
    let versions: Vec<(usize, usize)> = sets.iter().map(|s| (s.rows(), s.dim())).collect();
    let shared = versions.iter().map(|v| v.0).min().unwrap_or(0);
    let k = opts.ks.iter().copied().max().unwrap_or(10);
    super::guard(&embedscope::analysis::memory::compare(
        &versions, shared, k, shared,
    ))
}

pub fn compare(a: &CompareArgs) -> Result<(), CliError> {
    let (opts, conditions) = options(a)?;
    let inputs: Vec<PathBuf> = a.files.iter().flat_map(|f| a.load.inputs(f)).collect();
    for out in a.per_word.iter().chain(&a.vocab_diff) {
        super::check_not_input(out, &inputs)?;
    }
    let t = Instant::now();
    let (loaded, tokenizers) = load_versions(&a.files, &a.load, &a.encode)?;
    let load_s = t.elapsed().as_secs_f64();
    let sets: Vec<&EmbeddingSet> = loaded.iter().map(|l| &l.set).collect();
    guard_sets(&sets, &opts)?;
    // What differs between each pair's encodings (model, pooling, prompt, ...).
    let provenance: Vec<ProvenanceDiff> = sets
        .windows(2)
        .map(|w| ProvenanceDiff::of("A", &w[0].provenance, "B", &w[1].provenance))
        .collect();
    let mut results = Vec::with_capacity(sets.len() - 1);
    for w in sets.windows(2) {
        results.push(compare::compare(w[0], w[1], &opts, None)?);
    }
    // Gates on every pair.
    let mut breached = Vec::new();
    let mut gate_rows: Vec<Vec<Value>> = vec![Vec::new(); results.len()];
    for (p, c) in results.iter().enumerate() {
        for cond in &conditions {
            if let Some((holds, value)) = cond.check(c) {
                gate_rows[p].push(json!({
                    "condition": cond.text, "measure": cond.measure.to_string(),
                    "value": value, "threshold": cond.threshold, "holds": holds,
                }));
                if holds {
                    breached.push(format!(
                        "{} vs {}: {} (measured {value:.6})",
                        a.files[p],
                        a.files[p + 1],
                        cond.text
                    ));
                }
            }
        }
    }
    if let Some(path) = &a.per_word {
        write_file(path, &per_word_csv(&results[0]))?;
    }
    if let Some(path) = &a.vocab_diff {
        write_file(path, &vocab_csv(&results[0]))?;
    }
    if a.json {
        let mut top = pair_json(&results[0], &a.word, &gate_rows[0]);
        top["provenance"] = serde_json::to_value(&provenance[0]).unwrap_or(Value::Null);
        if let Some(td) = &tokenizers[0] {
            top["tokenizer"] = serde_json::to_value(td).unwrap_or(Value::Null);
        }
        top["versions"] = Value::Array(
            a.files
                .iter()
                .zip(&loaded)
                .map(|(f, l)| version_json(f, l))
                .collect(),
        );
        if results.len() > 1 {
            top["pairs"] = Value::Array(
                results
                    .iter()
                    .enumerate()
                    .map(|(p, c)| {
                        let mut v = pair_json(c, &a.word, &gate_rows[p]);
                        if let Some(td) = &tokenizers[p] {
                            v["tokenizer"] = serde_json::to_value(td).unwrap_or(Value::Null);
                        }
                        v["provenance"] =
                            serde_json::to_value(&provenance[p]).unwrap_or(Value::Null);
                        v["a"] = json!(a.files[p]);
                        v["b"] = json!(a.files[p + 1]);
                        v
                    })
                    .collect(),
            );
        }
        top["timing_s"]["load"] = json!(load_s);
        top["timing_s"]["total"] = json!(t.elapsed().as_secs_f64());
        top["gate_failed"] = json!(!breached.is_empty());
        top["gate_measures"] = json!(gate::KNOWN);
        print_json(&top);
    } else {
        for (p, c) in results.iter().enumerate() {
            if p > 0 {
                println!("\n{}", "=".repeat(72));
            }
            print!(
                "{}",
                human(
                    c,
                    &a.files[p],
                    &a.files[p + 1],
                    &provenance[p],
                    tokenizers[p].as_ref(),
                    &a.word
                )?
            );
        }
        if !conditions.is_empty() && breached.is_empty() {
            println!("\ngate: all {} conditions clear", conditions.len());
        }
    }
    if breached.is_empty() {
        Ok(())
    } else {
        Err(CliError::Gate(breached))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ks_are_parsed_sorted_and_checked() {
        assert_eq!(parse_ks("50, 10,10").unwrap(), [10, 50]);
        assert!(parse_ks("0").is_err());
        assert!(parse_ks("ten").is_err());
        assert!(parse_ks(",").is_err());
        assert!(parse_ks("1000000000000").is_err());
        assert!(parse_ks("18446744073709551615").is_err());
    }
}
