//! The subcommands.

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use embedscope::analysis::analogy::{self, Method};
use embedscope::analysis::ann;
use embedscope::analysis::eval::{self, AnalogyOptions, AnalogySet, PairOptions, WordPairs};
use embedscope::analysis::expr::Expr;
use embedscope::analysis::knn::TopN;
use embedscope::analysis::{KnnIndex, Metric, Neighbor, Query};
use embedscope::core::{
    EmbeddingSet, IntegrityReport, LIST_CHARS, RowKind, RowScan, SidecarStatus,
};
use embedscope::engine::ann as ann_store;
use embedscope::formats::{self, CacheStatus, Format};
use embedscope::model::ModelSummary;
use serde_json::{Value, json};

use super::progress::Bar;
use super::values::{AnalogyMethodArg, FormatArg, MAX_ROWS, MetricArg, count};
use super::{CliError, LoadArgs, Loaded, print_json, usage};

fn cache_name(c: &CacheStatus) -> Value {
    match c {
        CacheStatus::Off => json!({"status": "off"}),
        CacheStatus::Hit(p) => json!({"status": "hit", "file": p.display().to_string()}),
        CacheStatus::Stored(p) => json!({"status": "stored", "file": p.display().to_string()}),
        CacheStatus::Failed(e) => json!({"status": "failed", "error": e}),
    }
}

fn round6(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

// ---------------------------------------------------------------- info

#[derive(Args, Debug)]
pub struct InfoArgs {
    /// Vector file, or `demo`.
    pub file: String,
    #[command(flatten)]
    pub load: LoadArgs,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn info(a: &InfoArgs) -> Result<(), CliError> {
    // A model folder (config.json inside) is described; any other folder is the loader's
    // "is a directory" error.
    if Path::new(&a.file).join("config.json").is_file() {
        return model_info(a);
    }
    let Loaded {
        set,
        seconds,
        cache,
    } = a.load.load(&a.file)?;
    let t = Instant::now();
    let scan = RowScan::new(&set.matrix);
    let report = IntegrityReport::new(&set, &scan);
    let scan_s = t.elapsed().as_secs_f64();
    let p = &set.provenance;
    if a.json {
        print_json(&json!({
            "file": a.file,
            "rows": set.rows(),
            "dim": set.dim(),
            "format": p.format,
            "sha256": p.sha256,
            "file_size": p.file_size,
            "model_id": p.model_id,
            "encoding": p.encoding_facts(),
            "encoding_record": p.sidecar,
            "integrity": {
                "nan_rows": report.nan_rows,
                "inf_rows": report.inf_rows,
                "zero_rows": report.zero_rows,
                "duplicate_tokens": report.duplicate_tokens,
                "invalid_utf8_tokens": report.invalid_utf8_tokens,
                "clean": report.is_clean(),
                "examples": report.examples,
            },
            "norms": report.norms,
            "metadata_columns": set.metadata.columns().iter().map(|c| c.name.clone()).collect::<Vec<_>>(),
            "has_counts": set.vocab.counts().is_some(),
            "rows_read": set.notes.rows_read,
            "declared_rows": set.notes.declared_rows,
            "warnings": set.notes.warnings,
            "provenance": p,
            "memory_mapped": set.matrix.is_mapped(),
            "cache": cache_name(&cache),
            "timing_s": {"load": seconds, "scan": scan_s},
        }));
        return Ok(());
    }
    println!("file        {}", a.file);
    println!("format      {}", p.format);
    println!("rows x dim  {} x {}", set.rows(), set.dim());
    println!("sha256      {}", p.sha256.as_deref().unwrap_or("-"));
    if let Some(s) = p.file_size {
        println!("file size   {s} bytes");
    }
    match p.encoding_summary() {
        Some(facts) => {
            let facts: Vec<String> = facts.iter().map(|(k, v)| format!("{k} {v}")).collect();
            println!("encoding    {}", facts.join(", "));
        }
        None => {
            if let Some(m) = &p.model_id {
                println!("model       {m}");
            }
        }
    }
    if let Some(r) = &p.sidecar {
        println!(
            "record      {} ({})",
            r.file,
            match r.status {
                SidecarStatus::Attached => "checked against the file, attached",
                SidecarStatus::Unverified => "attached unchecked",
                SidecarStatus::NotMatching => "describes another file, not attached",
                SidecarStatus::Unreadable => "unreadable, not attached",
            }
        );
    }
    if !set.metadata.is_empty() {
        let cols: Vec<&str> = set
            .metadata
            .columns()
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        println!("metadata    {}", cols.join(", "));
    }
    println!(
        "integrity   {}",
        if report.is_clean() {
            "clean"
        } else {
            "PROBLEMS FOUND"
        }
    );
    let ex = &report.examples;
    let line = |name: &str, n: u64, ex: &[String]| {
        let shown: Vec<&str> = ex.iter().take(8).map(String::as_str).collect();
        if n == 0 {
            println!("  {name:<20} 0");
        } else {
            println!("  {name:<20} {n}  e.g. {}", shown.join(" "));
        }
    };
    line("NaN rows", report.nan_rows, &ex.nan);
    line("Inf rows", report.inf_rows, &ex.inf);
    line("all-zero rows", report.zero_rows, &ex.zero);
    let dups: Vec<String> = ex
        .duplicates
        .iter()
        .map(|d| format!("{}(rows {},{})", d.token, d.kept_row, d.dropped_row))
        .collect();
    line("duplicate tokens", report.duplicate_tokens, &dups);
    line(
        "non-UTF-8 tokens",
        report.invalid_utf8_tokens,
        &ex.invalid_utf8,
    );
    if let Some(n) = &report.norms {
        println!(
            "norms       min {:.4}  median {:.4}  max {:.4}  mean {:.4}  {}",
            n.min,
            n.median,
            n.max,
            n.mean,
            if n.unit_normalized {
                "(unit-normalised)"
            } else {
                ""
            }
        );
    }
    for w in &set.notes.warnings {
        println!("warning     {w}");
    }
    match cache {
        CacheStatus::Hit(f) => println!("cache       reopened from {}", f.display()),
        CacheStatus::Stored(f) => println!("cache       written to {}", f.display()),
        _ => {}
    }
    println!("load        {seconds:.3} s");
    Ok(())
}

// ---------------------------------------------------------------- neighbors

#[derive(Args, Debug)]
pub struct NeighborsArgs {
    /// Vector file, or `demo`.
    pub file: String,
    /// Words or expressions (`"king - man + woman"`); a string that is a token is a token.
    pub queries: Vec<String>,
    /// Neighbours per query.
    #[arg(value_parser = count(1, MAX_ROWS), short, default_value_t = 10)]
    pub k: usize,
    #[arg(long, value_enum, default_value_t = MetricArg::Cosine)]
    pub metric: MetricArg,
    /// More queries, one per line.
    #[arg(long, value_name = "FILE")]
    pub queries_file: Option<PathBuf>,
    /// Raw query vectors: a 2-D .npy array with one row per query.
    #[arg(long, value_name = "NPY")]
    pub query_vectors: Option<PathBuf>,
    /// Search only the first N rows (gensim's restrict_vocab).
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N")]
    pub restrict: Option<usize>,
    /// Exact search, the approximate (HNSW) index, or `auto`: the index when the set has at
    /// least 10^8 values (rows x dimensions) and a stored index for it exists, exact otherwise.
    /// `ann` builds the index when none is stored and stores it beside the native cache.
    #[arg(long, value_enum, default_value_t = IndexArg::Auto)]
    pub index: IndexArg,
    /// Search breadth of the approximate index (1..=100000; default 128): higher is slower and
    /// closer to exact.
    #[arg(value_parser = count(ann::EF_MIN, ann::EF_MAX), long, value_name = "N")]
    pub ef: Option<usize>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

/// `neighbors --index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum IndexArg {
    Auto,
    Exact,
    Ann,
}

/// `--index auto` uses a stored approximate index from this many values (rows x dimensions):
/// below it exact search of a query batch is as fast as the index (exact: ~1,400 queries/s on
/// 400k x 300 = 1.2 x 10^8 values; the index: 2,000-5,000 queries/s at recall@10 >= 0.95 on
/// 0.2-1 x 10^8 values, see BENCHMARKS.md). Building an index costs more than any CLI batch of
/// exact queries, so `auto` never builds one.
const AUTO_MIN_VALUES: usize = 100_000_000;

/// A query as given, resolved against the vocabulary.
fn resolve(index: &KnnIndex, text: &str, metric: Metric) -> Result<Query, String> {
    if index.set().vocab.contains(text) {
        return index.token_query(text, metric).map_err(|e| e.to_string());
    }
    let e = Expr::parse(text).map_err(|e| e.to_string())?;
    e.to_query(index, metric).map_err(|e| e.to_string())
}

fn neighbor_json(set: &EmbeddingSet, list: &[Neighbor]) -> Vec<Value> {
    let documents = set.row_kind() != RowKind::Words;
    list.iter()
        .map(|n| {
            let mut v =
                json!({"token": set.vocab.token(n.index), "score": n.score, "row": n.index});
            // A document is listed with its full text.
            if documents && let Some(text) = set.row_text(n.index) {
                v["text"] = json!(text);
            }
            v
        })
        .collect()
}

pub fn neighbors(a: &NeighborsArgs) -> Result<(), CliError> {
    let k = TopN::check(a.k)
        .map_err(|_| usage("-k must be at least 1"))?
        .get();
    let metric = Metric::from(a.metric);
    let ef = match a.ef {
        Some(_) if a.index == IndexArg::Exact => {
            return Err(usage(
                "--ef sets the approximate index's search breadth; it does not apply to --index exact",
            ));
        }
        Some(ef) => ann::check_ef(ef, "--ef").map_err(|e| usage(e.to_string()))?,
        None => ann::DEFAULT_EF_SEARCH,
    };
    let mut texts = a.queries.clone();
    if let Some(f) = &a.queries_file {
        let s = formats::read_side_file(f, "queries file (one query a line)")?;
        texts.extend(
            s.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    if texts.is_empty() && a.query_vectors.is_none() {
        return Err(usage(
            "give at least one query (WORD..., --queries-file or --query-vectors)",
        ));
    }
    let Loaded { set, seconds, .. } = a.load.load(&a.file)?;
    {
        use embedscope::analysis::memory as m;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let n = a.restrict.unwrap_or(set.rows()).min(set.rows());
        let e = if a.index == IndexArg::Ann {
            m::ann_build(n, set.dim(), ann::AnnParams::default().m, threads)
        } else {
            m::knn_queries(n, set.dim(), texts.len().max(1), k, threads)
        };
        super::guard(&e)?;
    }
    let t = Instant::now();
    let index = KnnIndex::new(&set);
    let mut labels = Vec::new();
    let mut queries = Vec::new();
    let mut missing = Vec::new();
    for text in &texts {
        match resolve(&index, text, metric) {
            Ok(q) => {
                labels.push(text.clone());
                queries.push(q);
            }
            Err(e) => missing.push(json!({"query": text, "error": e})),
        }
    }
    if let Some(p) = &a.query_vectors {
        let qs = formats::load(
            p,
            &formats::LoadOptions {
                format: Some(Format::Npy),
                vocab: Some(PathBuf::from("#row")),
                ..Default::default()
            },
        )?;
        for (i, row) in qs.matrix.iter_rows().enumerate() {
            match index.vector_query(row, metric) {
                Ok(q) => {
                    labels.push(format!("#{i}"));
                    queries.push(q);
                }
                Err(e) => missing.push(json!({"query": format!("#{i}"), "error": e.to_string()})),
            }
        }
    }
    let params = ann::AnnParams {
        ef_search: ef,
        ..ann::AnnParams::default()
    }
    .check()?;
    let cache_dir = if a.load.no_cache {
        None
    } else {
        a.load.cache_dir.clone().or_else(formats::default_cache_dir)
    };
    let values = set.rows().saturating_mul(set.dim());
    let data = match a.index {
        IndexArg::Exact => None,
        IndexArg::Ann => Some(ann::AnnData::of_set(&set, metric)?),
        IndexArg::Auto if values >= AUTO_MIN_VALUES && cache_dir.is_some() => {
            Some(ann::AnnData::of_set(&set, metric)?)
        }
        IndexArg::Auto => None,
    };
    let mut reason = match a.index {
        IndexArg::Exact => "--index exact".to_string(),
        IndexArg::Ann => "--index ann".to_string(),
        IndexArg::Auto if values < AUTO_MIN_VALUES => {
            format!("auto: {values} values, below {AUTO_MIN_VALUES} exact search is as fast")
        }
        IndexArg::Auto => "auto: no stored index for this set (--index ann builds one)".to_string(),
    };
    let mut chosen: Option<ann_store::SetIndex> = None;
    if let Some(data) = &data {
        if a.index == IndexArg::Ann {
            let bar = Bar::new("building index", false);
            let built =
                ann_store::load_or_build(&set, data, &params, cache_dir.as_deref(), &mut |p| {
                    bar.update(p.done as u64, p.total as u64);
                    std::ops::ControlFlow::Continue(())
                })
                .map_err(|e| CliError::Runtime(e.into()))?;
            bar.finish();
            chosen = Some(built);
        } else if let Some(dir) = &cache_dir {
            let t0 = Instant::now();
            let key = ann_store::data_key(&set);
            let file = ann_store::index_file(dir, &key, data, &params);
            if file.exists() {
                match ann_store::open_index(&file, &key, data, &params) {
                    Ok(graph) => {
                        reason = format!("auto: {values} values and a stored index");
                        chosen = Some(ann_store::SetIndex {
                            graph,
                            origin: ann_store::IndexOrigin::Loaded(file),
                            notes: Vec::new(),
                            seconds: t0.elapsed().as_secs_f64(),
                        });
                    }
                    Err(note) => reason = format!("auto: stored index not usable: {note}"),
                }
            }
        }
    }
    let approximate = chosen.is_some();
    let bar = Bar::new("searching", false);
    let mut results = Vec::with_capacity(queries.len());
    let ann_index = match (&chosen, &data) {
        (Some(c), Some(d)) => Some(ann::AnnIndex::new(&c.graph, d)?.with_ef(ef)),
        _ => None,
    };
    for chunk in queries.chunks(1024) {
        results.extend(match &ann_index {
            Some(ix) => ix.search(chunk, k, metric, a.restrict)?,
            None => index.search(chunk, k, metric, a.restrict)?,
        });
        bar.update(results.len() as u64, queries.len() as u64);
    }
    bar.finish();
    let compute = t.elapsed().as_secs_f64();
    let index_json = match &chosen {
        Some(c) => {
            let p = params.get();
            json!({
                "kind": "ann",
                "approximate": true,
                "requested": format!("{:?}", a.index).to_lowercase(),
                "reason": reason,
                "method": "hnsw",
                "m": p.m,
                "ef_construction": p.ef_construction,
                "ef_search": ef,
                "seed": p.seed,
                "origin": c.origin.name(),
                "file": c.origin.file().map(|f| f.display().to_string()),
                "seconds": c.seconds,
                "left_out": c.graph.info().left_out,
                "notes": c.notes,
            })
        }
        None => json!({
            "kind": "exact",
            "approximate": false,
            "requested": format!("{:?}", a.index).to_lowercase(),
            "reason": reason,
        }),
    };
    if let Some(c) = &chosen {
        for n in &c.notes {
            eprintln!("note: {n}");
        }
    }
    for m in &missing {
        eprintln!(
            "warning: {}: {}",
            m["query"].as_str().unwrap_or(""),
            m["error"].as_str().unwrap_or("")
        );
    }
    if a.json {
        let res: Vec<Value> = labels
            .iter()
            .zip(&results)
            .map(|(q, list)| json!({"query": q, "neighbors": neighbor_json(&set, list)}))
            .collect();
        print_json(&json!({
            "metric": metric.name(),
            "k": a.k,
            "restrict": a.restrict,
            "approximate": approximate,
            "index": index_json,
            "results": res,
            "missing": missing,
            "source": set.provenance,
            "timing_s": {"load": seconds, "compute": compute},
        }));
    } else {
        if let Some(c) = &chosen {
            let p = params.get();
            println!(
                "approximate neighbours (HNSW index, M {}, ef_construction {}, ef {ef}; {} {}{}): \
                 may differ from exact search",
                p.m,
                p.ef_construction,
                c.origin.name(),
                c.origin
                    .file()
                    .map(|f| format!("{} ", f.display()))
                    .unwrap_or_default(),
                format_args!("in {:.2} s", c.seconds)
            );
        }
        let documents = set.row_kind() != RowKind::Words;
        for (q, list) in labels.iter().zip(&results) {
            // A document query is shown with its text.
            match set.vocab.get(q).filter(|_| documents) {
                Some(row) => println!("{q}  {}", set.row_label(row, LIST_CHARS)),
                None => println!("{q}"),
            }
            for (r, n) in list.iter().enumerate() {
                if documents {
                    println!(
                        "  {:>3}  {:.6}  {:<8} {}",
                        r + 1,
                        n.score,
                        set.vocab.token(n.index),
                        set.row_label(n.index, LIST_CHARS)
                    );
                } else {
                    println!(
                        "  {:>3}  {:<24} {:.6}",
                        r + 1,
                        set.vocab.token(n.index),
                        n.score
                    );
                }
            }
        }
    }
    if results.is_empty() {
        return Err(CliError::Runtime(anyhow::anyhow!(
            "no query could be answered"
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------- analogy

#[derive(Args, Debug)]
pub struct AnalogyArgs {
    /// Vector file, or `demo`.
    pub file: String,
    /// a in a : b :: c : ?
    pub a: String,
    /// b
    pub b: String,
    /// c
    pub c: String,
    #[arg(long, value_enum, default_value_t = AnalogyMethodArg::Add)]
    pub method: AnalogyMethodArg,
    #[arg(value_parser = count(1, MAX_ROWS), short, default_value_t = 10)]
    pub k: usize,
    /// Search only the first N rows.
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N")]
    pub restrict: Option<usize>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn analogy(a: &AnalogyArgs) -> Result<(), CliError> {
    let k = TopN::check(a.k)
        .map_err(|_| usage("-k must be at least 1"))?
        .get();
    let method = Method::from(a.method);
    let Loaded { set, seconds, .. } = a.load.load(&a.file)?;
    let t = Instant::now();
    let index = KnnIndex::new(&set);
    let list = analogy::analogy(&index, &a.a, &a.b, &a.c, k, method, a.restrict)?;
    let compute = t.elapsed().as_secs_f64();
    if a.json {
        print_json(&json!({
            "a": a.a, "b": a.b, "c": a.c,
            "method": method.name(),
            "k": a.k,
            "results": neighbor_json(&set, &list),
            "source": set.provenance,
            "timing_s": {"load": seconds, "compute": compute},
        }));
    } else {
        println!("{} : {} :: {} : ?   ({})", a.a, a.b, a.c, method.title());
        for (r, n) in list.iter().enumerate() {
            println!(
                "  {:>3}  {:<24} {:.6}",
                r + 1,
                set.vocab.token(n.index),
                n.score
            );
        }
    }
    Ok(())
}

// ---------------------------------------------------------------- eval

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Vector file, or `demo`.
    pub file: String,
    /// Analogy questions (questions-words.txt format); `bundled` = Google analogies. Without
    /// --analogies and --similarity, the bundled benchmarks run.
    #[arg(long, value_name = "FILE")]
    pub analogies: Option<String>,
    /// Word-pair similarity files (word1 word2 score); `wordsim353` / `simlex999` = bundled.
    #[arg(long, value_name = "FILE")]
    pub similarity: Vec<String>,
    /// Use only the first N words (gensim's restrict_vocab).
    #[arg(value_parser = count(1, MAX_ROWS), long, default_value_t = eval::DEFAULT_RESTRICT_VOCAB)]
    pub restrict_vocab: usize,
    /// Match words case-sensitively (default: case-insensitive, as gensim).
    #[arg(long)]
    pub case_sensitive: bool,
    /// Analogy method.
    #[arg(long, value_enum, default_value_t = AnalogyMethodArg::Add)]
    pub method: AnalogyMethodArg,
    /// Count unknown words as failures (analogies) / similarity 0 (pairs), as gensim's dummy4unknown.
    #[arg(long)]
    pub dummy4unknown: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn eval(a: &EvalArgs) -> Result<(), CliError> {
    if a.restrict_vocab == 0 {
        return Err(usage("--restrict-vocab must be at least 1"));
    }
    let (analogy_file, pair_files): (Option<String>, Vec<String>) =
        if a.analogies.is_none() && a.similarity.is_empty() {
            (
                Some("bundled".into()),
                eval::bundled::PAIR_SETS
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            )
        } else {
            (a.analogies.clone(), a.similarity.clone())
        };
    // Read the benchmark files before the (possibly slow) vector load.
    let questions = match &analogy_file {
        Some(f) if f == "bundled" || f == eval::bundled::GOOGLE_ANALOGIES => {
            Some(eval::bundled::analogies()?)
        }
        Some(f) => Some(AnalogySet::parse(
            f,
            &formats::read_side_file(std::path::Path::new(f), "analogy file")?,
        )?),
        None => None,
    };
    let mut pairs = Vec::new();
    for f in &pair_files {
        let p = match eval::bundled::pairs(f) {
            Some(p) => p?,
            None => WordPairs::parse(
                f,
                &formats::read_side_file(std::path::Path::new(f), "word-pair file")?,
            )?,
        };
        pairs.push((f.clone(), p));
    }
    let Loaded { set, seconds, .. } = a.load.load(&a.file)?;
    let t = Instant::now();
    let index = KnnIndex::new(&set);
    let method = Method::from(a.method);
    let analogy_report = match &questions {
        Some(q) => {
            let bar = Bar::new("analogies", false);
            let cb = |d: u64, t: u64| bar.update(d, t);
            let opts = AnalogyOptions {
                restrict_vocab: a.restrict_vocab,
                case_insensitive: !a.case_sensitive,
                method,
                dummy4unknown: a.dummy4unknown,
            };
            let r = eval::evaluate_analogies(&index, q, &opts, Some(&cb))?;
            bar.finish();
            Some(r)
        }
        None => None,
    };
    let popts = PairOptions {
        restrict_vocab: a.restrict_vocab,
        case_insensitive: !a.case_sensitive,
        dummy4unknown: a.dummy4unknown,
    };
    let pair_reports: Vec<(String, eval::PairReport)> = pairs
        .iter()
        .map(|(f, p)| (f.clone(), eval::evaluate_pairs(&index, p, &popts)))
        .collect();
    let compute = t.elapsed().as_secs_f64();
    if a.json {
        let sim: Vec<Value> = pair_reports
            .iter()
            .map(|(f, r)| {
                let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
                v["file"] = json!(f);
                v
            })
            .collect();
        let an = analogy_report.as_ref().map(|r| {
            let mut v = serde_json::to_value(r).unwrap_or(Value::Null);
            v["file"] = json!(analogy_file);
            v
        });
        print_json(&json!({
            "analogies": an,
            "similarity": sim,
            "source": set.provenance,
            "timing_s": {"load": seconds, "compute": compute},
        }));
        return Ok(());
    }
    if let Some(r) = &analogy_report {
        println!(
            "analogies ({}, {}, restrict_vocab {}, {})",
            analogy_file.as_deref().unwrap_or(""),
            method.title(),
            r.restrict_vocab,
            if r.case_insensitive {
                "case-insensitive"
            } else {
                "case-sensitive"
            }
        );
        for s in r.sections.iter().chain(std::iter::once(&r.total)) {
            let acc = s
                .accuracy
                .map_or("-".to_string(), |x| format!("{:.4}", round6(x)));
            println!(
                "  {:<30} {:>6} / {:<6} {}",
                s.section,
                s.correct,
                s.correct + s.incorrect,
                acc
            );
        }
        println!(
            "  questions with unknown words: {} ({:.2}%)",
            r.oov_questions, r.oov_percent
        );
    }
    for (f, r) in &pair_reports {
        let fmt = |c: &Option<embedscope::analysis::stats::Correlation>| match c {
            Some(c) => format!("{:.4} (p={:.2e})", c.r, c.p_value.unwrap_or(f64::NAN)),
            None => "-".into(),
        };
        println!(
            "{f}: pearson {}  spearman {}  pairs {}  unknown {:.2}%",
            fmt(&r.pearson),
            fmt(&r.spearman),
            r.pairs,
            r.oov_percent
        );
    }
    Ok(())
}

// ---------------------------------------------------------------- convert

#[derive(Args, Debug)]
pub struct ConvertArgs {
    /// Input vector file, or `demo`.
    pub input: String,
    /// Output file; the format follows the extension (.txt .vec .bin .tsv .npy .safetensors
    /// .parquet .esv) unless --to is given.
    pub output: PathBuf,
    /// Output format (as --format names).
    #[arg(long, value_name = "FORMAT", value_enum, ignore_case = true)]
    pub to: Option<FormatArg>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn convert(a: &ConvertArgs) -> Result<(), CliError> {
    let to = match a.to {
        Some(f) => Some(Format::from(f)),
        None => Some(Format::from_extension(&a.output).ok_or_else(|| {
            usage(format!(
                "cannot tell the output format of {}: use a known extension or --to",
                a.output.display()
            ))
        })?),
    };
    if to.is_some_and(|f| !f.can_write()) {
        return Err(usage(format!(
            "cannot write {}",
            to.map_or("", Format::name)
        )));
    }
    super::check_not_input(&a.output, &a.load.inputs(&a.input))?;
    let Loaded { set, seconds, .. } = a.load.load(&a.input)?;
    let t = Instant::now();
    let mut staged = formats::stage(&set, &a.output, to)?;
    // The encoding record travels with the vectors (a native file holds it in its header),
    // renamed into place with them.
    if let Some(f) = to.filter(|&f| f != Format::Native)
        && set.provenance.encoding_facts().is_some()
    {
        let data = staged.temp_of(&a.output).unwrap_or(&a.output).to_path_buf();
        let (path, text) =
            formats::sidecar_record(&a.output, &data, f, &set.provenance, set.rows(), set.dim())?;
        staged.write(&path, text.as_bytes())?;
    }
    let files = staged.commit()?;
    let write_s = t.elapsed().as_secs_f64();
    if a.json {
        print_json(&json!({
            "input": a.input,
            "output": files.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "format": to.map(Format::name),
            "rows": set.rows(),
            "dim": set.dim(),
            "source": set.provenance,
            "timing_s": {"load": seconds, "write": write_s},
        }));
    } else {
        for f in &files {
            println!("wrote {}", f.display());
        }
        println!("{} rows x {} dims in {write_s:.3} s", set.rows(), set.dim());
    }
    Ok(())
}

/// `info` on a model folder: what it is, from its small files (no weights are read).
fn model_info(a: &InfoArgs) -> Result<(), CliError> {
    let s = ModelSummary::read(Path::new(&a.file)).map_err(|e| CliError::Runtime(e.into()))?;
    if a.json {
        print_json(&json!({ "model_folder": a.file, "model": s }));
    } else {
        println!("{}: {}", a.file, s.line());
        for (name, text) in &s.prompts {
            let default = if s.default_prompt.as_deref() == Some(name.as_str()) {
                " (default)"
            } else {
                ""
            };
            println!("  prompt {name}{default}: {text:?}");
        }
    }
    Ok(())
}
