//! Command-line interface: raw arguments (clap) are validated into typed options, then each
//! command prints a human-readable report, or exactly one JSON object with `--json`.
//!
//! Exit codes: 0 success, 1 runtime error (the message names the file and the place),
//! 2 usage error, 3 a `compare --fail-if` condition held (release gate), 4 `scan --fail-on-pii`
//! found something, 130 interrupted.

mod bias;
mod cache;
mod cluster;
mod commands;
mod compare;
mod drift;
mod embed;
mod interrupt;
mod maps;
mod progress;
mod project;
mod report;
mod scan;
mod search;
mod transform;
mod values;

use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
use embedscope::analysis::memory::MemoryRefusal;
use embedscope::core::EmbeddingSet;
use embedscope::formats::{self, CacheStatus, Format, FormatError, LoadOptions};

#[derive(Parser, Debug)]
#[command(
    name = "embedscope",
    version,
    about = "Explore and compare text embeddings on your own machine",
    long_about = "Explore and compare text embeddings on your own machine.\n\nWithout a subcommand the desktop app opens (on the bundled demo set, or on the FILES given). Every FILE argument also accepts `demo`, the bundled GloVe 6B 50d subset (50k words).",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Files for the desktop app to open (vector files, corpora, model folders).
    #[arg(value_name = "FILES")]
    pub files: Vec<PathBuf>,
    /// Desktop app: start with nothing open (not the demo set).
    #[arg(long)]
    pub empty: bool,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Shape, format, sha256 and integrity report (NaN/Inf/zero rows, duplicates, norms).
    Info(commands::InfoArgs),
    /// Nearest neighbours of words, expressions ("king - man + woman") or raw vectors.
    #[command(alias = "neighbours")]
    Neighbors(commands::NeighborsArgs),
    /// Solve a : b :: c : ? with 3CosAdd or 3CosMul.
    Analogy(commands::AnalogyArgs),
    /// Analogy accuracy and word-pair similarity benchmarks (gensim semantics).
    Eval(commands::EvalArgs),
    /// Convert between vector formats.
    Convert(commands::ConvertArgs),
    /// 2-D/3-D maps: PCA, t-SNE, UMAP or semantic axes, with trustworthiness and kNN preservation.
    Project(project::ProjectArgs),
    /// Place the rows of another set into a saved UMAP or t-SNE map (`project --out`) without
    /// recomputing it.
    Transform(transform::TransformArgs),
    /// Encode a corpus with a BERT-family model folder (sentence or word vectors).
    Embed(embed::EmbedArgs),
    /// What changed between versions of a model: vocabulary, neighbourhoods (Jaccard@k, RBO),
    /// CKA, Procrustes alignment, drift, most-changed words; `--fail-if` gates (exit 3).
    Compare(compare::CompareArgs),
    /// Bias probes: WEAT (and SEAT on model folders), direct bias, hard debiasing, RIPA.
    Bias(bias::BiasArgs),
    /// A comparison report of two or more versions: provenance, integrity, vocabulary and
    /// tokenizer diff, global measures, changed words with neighbours, aligned maps, bias
    /// probes, benchmarks; self-contained HTML, Markdown, JSON or CSV tables.
    Report(report::ReportArgs),
    /// Semantic search: the documents closest in meaning to a query, encoded with the set's own
    /// model (exact cosine ranking).
    Search(search::SearchArgs),
    /// Clusters with labels: HDBSCAN (scikit-learn's defaults) or k-means over the vectors, a
    /// saved map or a UMAP reduction; keywords by class-based TF-IDF over the documents' text.
    Cluster(cluster::ClusterArgs),
    /// Drift between a reference and a current sample of one space (two sets of one model, or
    /// one set split by a column): six two-sample tests with permutation p-values, the clusters
    /// whose share changed, a `--fail-if` gate (exit 3).
    Drift(drift::DriftArgs),
    /// Personal data and secrets in corpora, vector files' tokens and metadata, and model
    /// folders' vocabularies: e-mail addresses, phone numbers, payment cards, IBANs, IP
    /// addresses, URLs with credentials, API keys, US SSNs; masked examples; `--fail-on-pii`
    /// (exit 4).
    Scan(scan::ScanArgs),
    /// The native cache: `list` its entries (vector copies, neighbour indexes) with sizes, last
    /// use and source, the total and the limit; `clear` all, `--older-than DURATION`, or
    /// `--stale` (source changed or gone).
    Cache(cache::CacheArgs),
}

/// Options shared by every command that reads a vector file.
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Input format (default: detected from content and extension); word2vec-text is also
    /// read as fasttext or vec.
    #[arg(long, value_name = "FORMAT", value_enum, ignore_case = true)]
    pub format: Option<values::FormatArg>,
    /// Read only the first N rows of the file.
    #[arg(value_parser = values::count(1, values::MAX_ROWS), long, value_name = "N")]
    pub limit: Option<usize>,
    /// Vocabulary file for npy/safetensors (one token per line; `#row` = row numbers).
    #[arg(long, value_name = "FILE")]
    pub vocab: Option<PathBuf>,
    /// metadata.tsv for projector TSV vectors.
    #[arg(long, value_name = "FILE")]
    pub metadata: Option<PathBuf>,
    /// Token column (Parquet/Arrow/projector metadata); `#row` = row numbers.
    #[arg(long, value_name = "NAME")]
    pub token_column: Option<String>,
    /// Vector column (Parquet/Arrow).
    #[arg(long, value_name = "NAME")]
    pub vector_column: Option<String>,
    /// Tensor name (safetensors with several 2-D tensors).
    #[arg(long, value_name = "NAME")]
    pub tensor: Option<String>,
    /// Do not read or write the native cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Cache directory (default: $EMBEDSCOPE_CACHE_DIR, else ~/.cache/embedscope).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// The cache's size limit (`512M`, `4G`; default: $EMBEDSCOPE_CACHE_LIMIT, else 10% of the
    /// free disk space, between 256 MiB and 4 GiB); the least recently used entries go first.
    #[arg(long, value_name = "SIZE", value_parser = values::byte_size)]
    pub cache_limit: Option<u64>,
}

/// A failure, sorted by exit code.
#[derive(Debug)]
pub enum CliError {
    /// Bad arguments (exit 2).
    Usage(String),
    /// The work failed (exit 1).
    Runtime(anyhow::Error),
    /// Stopped by Ctrl+C / SIGTERM before it finished (exit 130); nothing was written.
    Interrupted(String),
    /// `compare --fail-if`: these conditions held (exit 3); the report was printed.
    Gate(Vec<String>),
    /// `scan --fail-on-pii`: something was found (exit 4); the report was printed.
    Pii(String),
}

impl From<anyhow::Error> for CliError {
    fn from(e: anyhow::Error) -> Self {
        CliError::Runtime(e)
    }
}

impl From<FormatError> for CliError {
    fn from(e: FormatError) -> Self {
        CliError::Runtime(e.into())
    }
}

impl From<embedscope::analysis::AnalysisError> for CliError {
    fn from(e: embedscope::analysis::AnalysisError) -> Self {
        CliError::Runtime(e.into())
    }
}

/// Refuses a job whose memory estimate exceeds the memory available (`analysis::memory`,
/// `engine::memory`): exit 1, the estimate, the amount available and a suggestion; under
/// `--json` an error of kind `memory` with `estimate_bytes` and `available_bytes`. With
/// `EMBEDSCOPE_MEMORY_REPORT=1` every estimate checked is written to stderr
/// (`memory estimate: BYTES JOB`), for the measurements in `tests/memory.rs`.
pub fn guard(estimate: &embedscope::analysis::memory::Estimate) -> Result<(), CliError> {
    if std::env::var_os("EMBEDSCOPE_MEMORY_REPORT").is_some() {
        eprintln!("memory estimate: {} {}", estimate.bytes(), estimate.job);
    }
    embedscope::engine::memory::guard(estimate).map_err(|r| CliError::Runtime(r.into()))
}

pub fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
}

/// Refuses to write over an input: an output that is, by canonical path, one of the files the
/// command reads (`project x.npy --out x.npy` would replace its own input).
pub fn check_not_input(output: &Path, inputs: &[PathBuf]) -> Result<(), CliError> {
    let Ok(out) = std::fs::canonicalize(output) else {
        return Ok(());
    };
    for i in inputs {
        if std::fs::canonicalize(i).is_ok_and(|c| c == out) {
            return Err(usage(format!(
                "the output {} is the input {}: write to another file",
                output.display(),
                i.display()
            )));
        }
    }
    Ok(())
}

/// How a set was loaded (for reports).
pub struct Loaded {
    pub set: EmbeddingSet,
    pub seconds: f64,
    pub cache: CacheStatus,
}

impl LoadArgs {
    fn options(&self) -> Result<LoadOptions, CliError> {
        let format = self.format.map(Format::from);
        if self.limit == Some(0) {
            return Err(usage("--limit must be at least 1"));
        }
        let cache_dir = if self.no_cache {
            None
        } else {
            self.cache_dir.clone().or_else(formats::default_cache_dir)
        };
        Ok(LoadOptions {
            format,
            limit: self.limit,
            vocab: self.vocab.clone(),
            metadata: self.metadata.clone(),
            token_column: self.token_column.clone(),
            vector_column: self.vector_column.clone(),
            tensor: self.tensor.clone(),
            cache_dir,
            cache_limit: self.cache_limit,
            progress: None,
        })
    }

    /// FILE and the side files given for it (vocabulary, metadata): what a command reads.
    pub fn inputs(&self, file: &str) -> Vec<PathBuf> {
        let mut v = vec![PathBuf::from(file)];
        v.extend(self.vocab.iter().cloned());
        v.extend(self.metadata.iter().cloned());
        v
    }

    /// Loads FILE (or the bundled demo), with a progress bar on a terminal after a second.
    pub fn load(&self, file: &str) -> Result<Loaded, CliError> {
        let t = Instant::now();
        let mut opts = self.options()?;
        // The whole file's estimate; with --limit a parsed file is read only in part (the jobs'
        // own estimates follow once the rows are known), a mapped one is mapped whole.
        if file != formats::DEMO_NAME {
            let estimate = embedscope::engine::memory::load_estimate(Path::new(file));
            let mapped = embedscope::engine::memory::load_kind(Path::new(file))
                == embedscope::analysis::memory::LoadKind::Mapped;
            if self.limit.is_none() || mapped {
                guard(&estimate)?;
            }
        }
        if file == formats::DEMO_NAME {
            let set = formats::demo_set(self.limit)?;
            return Ok(Loaded {
                set,
                seconds: t.elapsed().as_secs_f64(),
                cache: CacheStatus::Off,
            });
        }
        let bar = progress::Bar::new("loading", true);
        opts.progress = Some(bar.callback());
        let result = formats::load_with_status(std::path::Path::new(file), &opts);
        bar.finish();
        let (set, cache) = result?;
        if let CacheStatus::Failed(e) = &cache {
            eprintln!("warning: could not write the cache: {e}");
        }
        // An encoding record beside the file that was not attached, or not checked.
        if let Some(note) = set
            .provenance
            .sidecar
            .as_ref()
            .and_then(|r| r.note.as_ref())
        {
            eprintln!("warning: {note}");
        }
        Ok(Loaded {
            set,
            seconds: t.elapsed().as_secs_f64(),
            cache,
        })
    }
}

/// The one JSON object of a `--json` run: kept until the command ends, then printed by [`run`]
/// (with the error added when the command failed after making it).
static JSON_RESULT: std::sync::Mutex<Option<serde_json::Value>> = std::sync::Mutex::new(None);

/// Sets the command's JSON result, printed once on stdout when the command ends.
pub fn print_json(v: &serde_json::Value) {
    if let Ok(mut r) = JSON_RESULT.lock() {
        *r = Some(v.clone());
    }
}

fn take_json() -> Option<serde_json::Value> {
    JSON_RESULT.lock().ok().and_then(|mut r| r.take())
}

fn emit_json(v: &serde_json::Value) {
    interrupt::printing();
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot serialise the result: {e}"),
    }
}

/// `--json` among the arguments (before a `--`): known before parsing, so that even an
/// argument error is answered with one JSON object.
fn json_in_args(args: &[std::ffi::OsString]) -> bool {
    args.iter()
        .skip(1)
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a.as_os_str() == "--json")
}

fn error_json(kind: &str, msg: &str) -> serde_json::Value {
    serde_json::json!({ "error": { "kind": kind, "message": msg } })
}

fn dispatch(cli: Cli) -> Result<(), CliError> {
    match cli.command {
        Some(Command::Info(a)) => commands::info(&a),
        Some(Command::Neighbors(a)) => commands::neighbors(&a),
        Some(Command::Analogy(a)) => commands::analogy(&a),
        Some(Command::Eval(a)) => commands::eval(&a),
        Some(Command::Convert(a)) => commands::convert(&a),
        Some(Command::Project(a)) => project::project(&a),
        Some(Command::Transform(a)) => transform::transform(&a),
        Some(Command::Embed(a)) => embed::embed(&a),
        Some(Command::Compare(a)) => compare::compare(&a),
        Some(Command::Bias(a)) => bias::bias(&a),
        Some(Command::Report(a)) => report::report(&a),
        Some(Command::Search(a)) => search::search(&a),
        Some(Command::Cluster(a)) => cluster::cluster(&a),
        Some(Command::Drift(a)) => drift::drift(&a),
        Some(Command::Scan(a)) => scan::scan(&a),
        Some(Command::Cache(a)) => cache::cache(&a),
        None => {
            match cli.files.iter().find(|f| {
                f.as_os_str() != formats::DEMO_NAME && std::fs::symlink_metadata(f).is_err()
            }) {
                // A mistyped subcommand must not open the app on a file that does not exist.
                Some(f) => Err(usage(format!(
                    "'{}' is neither a subcommand nor an existing file (see embedscope --help)",
                    f.display()
                ))),
                None => gui_or_help(cli.files, cli.empty),
            }
        }
    }
}

/// Parses the arguments, runs the command and returns the process exit code. With `--json`,
/// stdout holds exactly one JSON object whatever happens: the result, an error object
/// (`{"error": {"kind", "message"}}`, argument errors included), or the result with its
/// `error` when the command failed after making it.
pub fn run() -> i32 {
    let args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    let json_arg = json_in_args(&args);
    interrupt::install(json_arg);
    let cli = match Cli::try_parse_from(&args) {
        Ok(c) => c,
        Err(e) => {
            use clap::error::ErrorKind;
            let code = e.exit_code();
            if !json_arg {
                let _ = e.print();
                return code;
            }
            let text = e.render().to_string();
            match e.kind() {
                ErrorKind::DisplayHelp | ErrorKind::DisplayVersion => {
                    emit_json(&serde_json::json!({ "help": text }));
                }
                _ => {
                    let msg = text
                        .trim()
                        .trim_start_matches("error: ")
                        .lines()
                        .next()
                        .unwrap_or_default()
                        .to_string();
                    eprint!("{text}");
                    emit_json(&error_json("usage", &msg));
                }
            }
            return code;
        }
    };
    let json = json_arg;
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dispatch(cli)))
        .unwrap_or_else(|p| {
            let what = p
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| p.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(CliError::Runtime(anyhow::anyhow!(
                "internal error (a bug; please report it): {what}"
            )))
        });
    if std::env::var_os("EMBEDSCOPE_MEMORY_REPORT").is_some()
        && let Some(peak) = embedscope::engine::memory::peak_rss()
    {
        eprintln!("memory peak: {peak}");
    }
    let made = if json { take_json() } else { None };
    match result {
        Ok(()) => {
            if json {
                emit_json(&made.unwrap_or_else(|| serde_json::json!({})));
            }
            0
        }
        Err(CliError::Gate(breached)) => {
            eprintln!("release gate failed: {} condition(s) held:", breached.len());
            for b in &breached {
                eprintln!("  {b}");
            }
            if json {
                emit_json(&made.unwrap_or_else(|| error_json("gate", &breached.join("; "))));
            }
            3
        }
        Err(CliError::Pii(m)) => {
            eprintln!("{m}");
            if json {
                emit_json(&made.unwrap_or_else(|| error_json("pii", &m)));
            }
            4
        }
        Err(e) => {
            let (code, kind, msg) = match &e {
                CliError::Usage(m) => (2, "usage", m.clone()),
                CliError::Interrupted(m) => (130, "interrupted", m.clone()),
                CliError::Gate(b) => (3, "gate", b.join("; ")),
                CliError::Pii(m) => (4, "pii", m.clone()),
                CliError::Runtime(err) => {
                    let kind = if err.downcast_ref::<MemoryRefusal>().is_some() {
                        "memory"
                    } else {
                        err.downcast_ref::<FormatError>()
                            .map_or("runtime", FormatError::kind_name)
                    };
                    (1, kind, format!("{err:#}"))
                }
            };
            eprintln!("error: {msg}");
            if json {
                let mut err = error_json(kind, &msg);
                if let CliError::Runtime(e) = &e
                    && let Some(r) = e.downcast_ref::<MemoryRefusal>()
                {
                    err["error"]["estimate_bytes"] = r.estimate.bytes().into();
                    err["error"]["available_bytes"] = r.available.bytes.into();
                }
                let out = match made {
                    Some(serde_json::Value::Object(mut o)) => {
                        o.insert("error".into(), err["error"].clone());
                        serde_json::Value::Object(o)
                    }
                    _ => err,
                };
                emit_json(&out);
            }
            code
        }
    }
}

#[cfg(feature = "gui")]
fn gui_or_help(files: Vec<PathBuf>, empty: bool) -> Result<(), CliError> {
    let files = files
        .into_iter()
        .filter(|f| f.as_os_str() != formats::DEMO_NAME)
        .collect();
    embedscope::ui::run(embedscope::ui::StartOptions {
        files,
        empty,
        settings_path: embedscope::app::Settings::default_path(),
    })
    .map_err(|e| CliError::Runtime(anyhow::anyhow!("the desktop app could not start: {e}")))
}

#[cfg(not(feature = "gui"))]
fn gui_or_help(_files: Vec<PathBuf>, _empty: bool) -> Result<(), CliError> {
    use clap::CommandFactory;
    let mut cmd = Cli::command();
    let _ = cmd.print_help();
    println!();
    eprintln!("This build has no desktop app (built without the `gui` feature); use a subcommand.");
    Err(usage("no subcommand given"))
}
