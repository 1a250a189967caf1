//! `embedscope compare A B [C...]`: what changed between versions of a model, and a release
//! gate (`--fail-if`, exit code 3).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use clap::Args;
use embedscope::analysis::compare::{
    self, Anchors, CompareOptions, Comparison, Condition, RankBy, gate,
};
use embedscope::core::EmbeddingSet;
use embedscope::engine::EngineError;
use embedscope::engine::device::{self, BackendChoice};
use embedscope::engine::encode::{self, Level, SentenceCollector};
use embedscope::formats::corpus::{Corpus, CorpusOptions};
use embedscope::formats::{self, CacheStatus, csv_field};
use embedscope::model::{Encoder, tokdiff};
use serde_json::{Value, json};

use super::progress::Bar;
use super::values::{BackendArg, LevelArg};
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
    #[arg(long, value_name = "N", default_value_t = 20)]
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
    #[arg(long, value_name = "N", conflicts_with = "anchors_file")]
    pub anchors: Option<usize>,
    /// Fit the alignment on the words of FILE (one per line).
    #[arg(long, value_name = "FILE")]
    pub anchors_file: Option<PathBuf>,
    /// Rank only words up to this frequency rank (A's counts, else its row order).
    #[arg(long, value_name = "N")]
    pub max_rank: Option<usize>,
    /// Word pairs sampled for the drift statistics.
    #[arg(long, value_name = "N", default_value_t = 20_000)]
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
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
}

/// Words of the corpus (distinct, first seen first) that the tokenizers are compared on.
const TOKENIZER_SAMPLE_WORDS: usize = 5000;

fn corpus_options(a: &EncodeArgs) -> CorpusOptions {
    CorpusOptions {
        format: None,
        text_field: a.text_column.clone(),
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
            Ok(k) if k > 0 => ks.push(k),
            _ => {
                return Err(usage(format!(
                    "-k {s:?}: {part:?} is not a positive whole number (e.g. -k 10,50)"
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
            let text = std::fs::read_to_string(p).map_err(|e| {
                CliError::Runtime(anyhow::anyhow!(
                    "{}: cannot read the anchor list: {e}",
                    p.display()
                ))
            })?;
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

fn version_json(file: &str, l: &Loaded) -> Value {
    let p = &l.set.provenance;
    json!({
        "file": file,
        "format": p.format,
        "sha256": p.sha256,
        "rows": l.set.rows(),
        "dim": l.set.dim(),
    })
}

fn changes_json(c: &Comparison, by: RankBy, most: bool) -> Value {
    serde_json::to_value(c.top_changes(by, most, c.options.top)).unwrap_or(Value::Null)
}

/// The JSON object of one compared pair.
fn pair_json(c: &Comparison, words: &[String], gate_rows: &[Value]) -> Value {
    let by_k = |f: &dyn Fn(&compare::JaccardStats) -> f64| -> BTreeMap<String, f64> {
        c.jaccard.iter().map(|j| (j.k.to_string(), f(j))).collect()
    };
    let details: Vec<Value> = words
        .iter()
        .map(|w| match c.detail(w, c.k()) {
            Ok(d) => serde_json::to_value(d).unwrap_or(Value::Null),
            Err(e) => json!({"token": w, "error": e.to_string()}),
        })
        .collect();
    let s = &c.vocab_summary;
    let mut v = json!({
        "shared_vocab": s.shared,
        "only_a": s.only_a,
        "only_b": s.only_b,
        "excluded": s.excluded,
        "vocab": s,
        "integrity": {"a": c.integrity_a, "b": c.integrity_b},
        "ks": c.options.ks,
        "mean_jaccard_at_k": by_k(&|j| j.mean),
        "median_jaccard_at_k": by_k(&|j| j.median),
        "jaccard": c.jaccard,
        "rbo": c.rbo.mean,
        "rbo_detail": c.rbo,
        "linear_cka": c.linear_cka,
        "procrustes_disparity": c.procrustes.disparity,
        "procrustes": c.procrustes,
        "drift": c.drift,
        "most_changed": changes_json(c, RankBy::Neighbourhood, true),
        "least_changed": changes_json(c, RankBy::Neighbourhood, false),
        "most_displaced": changes_json(c, RankBy::Displacement, true),
        "max_rank": c.options.max_rank,
        "options": c.options,
        "timing_s": c.timing,
    });
    if !details.is_empty() {
        v["words"] = Value::Array(details);
    }
    if !gate_rows.is_empty() {
        v["gate"] = Value::Array(gate_rows.to_vec());
    }
    v
}

fn human(c: &Comparison, name_a: &str, name_b: &str, words: &[String]) -> String {
    let s = &c.vocab_summary;
    let mut o = String::new();
    let _ = writeln!(o, "A: {name_a} ({} x {})", s.rows_a, c.procrustes.dim_a);
    let _ = writeln!(o, "B: {name_b} ({} x {})", s.rows_b, c.procrustes.dim_b);
    let _ = writeln!(
        o,
        "vocabulary: {} shared, {} only in A, {} only in B{}{}",
        s.shared,
        s.only_a,
        s.only_b,
        if s.excluded > 0 {
            format!(", {} shared left out (NaN/Inf/zero vectors)", s.excluded)
        } else {
            String::new()
        },
        if s.lowercase {
            " (lowercase matching)"
        } else {
            ""
        }
    );
    let ex = |l: &[compare::OnlyToken]| {
        l.iter()
            .take(8)
            .map(|t| t.token.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    if s.only_a > 0 {
        let _ = writeln!(
            o,
            "  only in A: {}{}",
            ex(&s.only_a_examples),
            if s.only_a > 8 { " ..." } else { "" }
        );
    }
    if s.only_b > 0 {
        let _ = writeln!(
            o,
            "  only in B: {}{}",
            ex(&s.only_b_examples),
            if s.only_b > 8 { " ..." } else { "" }
        );
    }
    for (side, r) in [("A", &c.integrity_a), ("B", &c.integrity_b)] {
        if r.nan_rows + r.inf_rows + r.zero_rows > 0 {
            let _ = writeln!(
                o,
                "  integrity {side}: {} NaN, {} Inf, {} zero rows",
                r.nan_rows, r.inf_rows, r.zero_rows
            );
        }
    }
    let _ = writeln!(
        o,
        "\nneighbourhoods (cosine, within the shared vocabulary):"
    );
    for j in &c.jaccard {
        let _ = writeln!(
            o,
            "  Jaccard@{:<3} mean {:.4}  median {:.4}",
            j.k, j.mean, j.median
        );
    }
    let _ = writeln!(
        o,
        "  RBO@{} (p = {}) mean {:.4}",
        c.rbo.depth, c.rbo.p, c.rbo.mean
    );
    let p = &c.procrustes;
    let _ = writeln!(o, "\ngeometry:");
    let _ = writeln!(o, "  linear CKA            {:.4}", c.linear_cka);
    let _ = writeln!(o, "  Procrustes disparity  {:.4}", p.disparity);
    let _ = writeln!(
        o,
        "  aligned cosine        mean {:.4}  median {:.4}",
        p.aligned_cosine_mean, p.aligned_cosine_median
    );
    let _ = writeln!(o, "  ({})", p.method);
    let d = &c.drift;
    let _ = writeln!(o, "\ndrift ({} sampled word pairs):", d.pairs);
    let _ = writeln!(
        o,
        "  row norm mean         A {:.4}  B {:.4}   (KS of relative norms {:.3})",
        d.a.row_norm_mean, d.b.row_norm_mean, d.norm_ks
    );
    let _ = writeln!(
        o,
        "  pair cosine mean      A {:.4}  B {:.4}   (KS {:.3})",
        d.a.pair_cosine_mean, d.b.pair_cosine_mean, d.pair_cosine_ks
    );
    let _ = writeln!(
        o,
        "  centroid norm         A {:.4}  B {:.4}",
        d.a.centroid_norm, d.b.centroid_norm
    );
    let _ = writeln!(
        o,
        "  Spearman of pair cosines {:.4}  -> drift score {:.4}",
        d.pair_cosine_spearman, d.drift_score
    );
    let k = c.k();
    let filt = c
        .options
        .max_rank
        .map_or(String::new(), |m| format!(", frequency rank <= {m}"));
    for (title, by, most) in [
        ("most changed neighbourhoods", RankBy::Neighbourhood, true),
        ("least changed neighbourhoods", RankBy::Neighbourhood, false),
        ("most displaced after alignment", RankBy::Displacement, true),
    ] {
        let _ = writeln!(o, "\n{title} (Jaccard@{k}{filt}):");
        let _ = writeln!(
            o,
            "  {:<24} {:>6} {:>9} {:>9}",
            "word", "rank", "Jaccard", "aligned"
        );
        for w in c.top_changes(by, most, c.options.top) {
            let j = w
                .jaccard
                .get(&format!("jaccard_at_{k}"))
                .copied()
                .unwrap_or(f64::NAN);
            let _ = writeln!(
                o,
                "  {:<24} {:>6} {:>9.3} {:>9.3}",
                w.token, w.rank, j, w.aligned_cosine
            );
        }
    }
    for w in words {
        match c.detail(w, k) {
            Ok(d) => {
                let _ = writeln!(
                    o,
                    "\n'{}' (rank {}): Jaccard@{k} {:.3}, aligned cosine {:.3}   [* = in both]",
                    d.token, d.rank, d.jaccard, d.aligned_cosine
                );
                let _ = writeln!(o, "  {:<30} {:<30}", "A", "B");
                for (x, y) in d.a.iter().zip(&d.b) {
                    let cell = |n: &compare::SideNeighbour| {
                        format!(
                            "{}{} {:.3}",
                            if n.shared { "*" } else { " " },
                            n.token,
                            n.similarity
                        )
                    };
                    let _ = writeln!(o, "  {:<30} {:<30}", cell(x), cell(y));
                }
            }
            Err(e) => {
                let _ = writeln!(o, "\n'{w}': {e}");
            }
        }
    }
    let _ = writeln!(
        o,
        "\ntime {:.2} s (neighbours {:.2} s)",
        c.timing.total, c.timing.neighbours
    );
    o
}

fn tokenizer_text(td: &tokdiff::TokenizerDiff) -> String {
    let mut o = String::new();
    let side = |s: &tokdiff::TokenizerSummary| {
        format!(
            "{} {} tokens, max length {}, {}",
            s.model,
            s.vocab_size,
            s.max_length.map_or("none".to_string(), |m| m.to_string()),
            s.normalizer
        )
    };
    let _ = writeln!(o, "tokenizers:");
    let _ = writeln!(o, "  A: {}", side(&td.a));
    let _ = writeln!(o, "  B: {}", side(&td.b));
    for n in &td.notes {
        let _ = writeln!(o, "  note: {n}");
    }
    let _ = writeln!(
        o,
        "  {} of {} corpus words tokenised differently ({:.1}%); pieces per word A {:.2} B {:.2}; \
         [UNK] A {:.1}% B {:.1}%",
        td.words_different,
        td.words_checked,
        100.0 * td.share_different,
        td.mean_pieces_a,
        td.mean_pieces_b,
        100.0 * td.unk_share_a,
        100.0 * td.unk_share_b
    );
    for e in td.examples.iter().take(8) {
        let _ = writeln!(
            o,
            "    {:<20} A: {:<30} B: {}",
            e.word,
            e.a.join(" "),
            e.b.join(" ")
        );
    }
    o.push('\n');
    o
}

fn per_word_csv(c: &Comparison) -> String {
    let k = c.k();
    let mut o = String::from("token,rank");
    for j in &c.jaccard {
        let _ = write!(o, ",jaccard_at_{}", j.k);
    }
    let _ = writeln!(
        o,
        ",rbo_at_{k},aligned_cosine,neighbours_a_at_{k},neighbours_b_at_{k}"
    );
    let names = |l: &[u32]| {
        l[..k]
            .iter()
            .map(|&j| c.vocab.tokens[j as usize].as_str())
            .collect::<Vec<_>>()
            .join(" ")
    };
    for i in 0..c.shared() {
        let _ = write!(o, "{},{}", csv_field(&c.vocab.tokens[i]), c.rank[i]);
        for v in &c.word_jaccard {
            let _ = write!(o, ",{}", v[i]);
        }
        let _ = writeln!(
            o,
            ",{},{},{},{}",
            c.word_rbo[i],
            c.word_aligned_cosine[i],
            csv_field(&names(c.neighbours_a.of(i))),
            csv_field(&names(c.neighbours_b.of(i)))
        );
    }
    o
}

fn vocab_csv(c: &Comparison) -> String {
    let mut o = String::from("token,side,count,reason\n");
    let cnt = |x: Option<u64>| x.map_or(String::new(), |v| v.to_string());
    for t in &c.vocab.only_a {
        let _ = writeln!(o, "{},only_a,{},", csv_field(&t.token), cnt(t.count));
    }
    for t in &c.vocab.only_b {
        let _ = writeln!(o, "{},only_b,{},", csv_field(&t.token), cnt(t.count));
    }
    for e in &c.vocab.excluded {
        let _ = writeln!(
            o,
            "{},excluded_{},,{}",
            csv_field(&e.token),
            e.side,
            e.reason
        );
    }
    for (t, kept) in &c.vocab.merged_a {
        let _ = writeln!(
            o,
            "{},merged_a,,case variant of {}",
            csv_field(t),
            csv_field(kept)
        );
    }
    for (t, kept) in &c.vocab.merged_b {
        let _ = writeln!(
            o,
            "{},merged_b,,case variant of {}",
            csv_field(t),
            csv_field(kept)
        );
    }
    o
}

fn write_file(path: &Path, text: &str) -> Result<(), CliError> {
    formats::atomic_write(path, text.as_bytes()).map_err(CliError::from)
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

pub fn compare(a: &CompareArgs) -> Result<(), CliError> {
    let (opts, conditions) = options(a)?;
    let t = Instant::now();
    let (loaded, tokenizers) = load_versions(&a.files, &a.load, &a.encode)?;
    let load_s = t.elapsed().as_secs_f64();
    let sets: Vec<&EmbeddingSet> = loaded.iter().map(|l| &l.set).collect();
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
            if let Some(td) = &tokenizers[p] {
                print!("{}", tokenizer_text(td));
            }
            print!("{}", human(c, &a.files[p], &a.files[p + 1], &a.word));
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
    }
}
