//! Command-line interface: raw arguments (clap) are validated into typed options, then each
//! command prints a human-readable report, or exactly one JSON object with `--json`.
//!
//! Exit codes: 0 success, 1 runtime error (the message names the file and the place),
//! 2 usage error, 3 a `compare --fail-if` condition held (release gate), 4 `scan --fail-on-pii`
//! found something, 130 interrupted.

mod bias;
mod cluster;
mod commands;
mod compare;
mod drift;
mod embed;
mod maps;
mod progress;
mod project;
mod report;
mod scan;
mod search;
mod transform;
mod values;

use std::path::PathBuf;
use std::time::Instant;

use clap::{Args, Parser, Subcommand};
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
}

/// Options shared by every command that reads a vector file.
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Input format (default: detected from content and extension); word2vec-text is also
    /// read as fasttext or vec.
    #[arg(long, value_name = "FORMAT", value_enum, ignore_case = true)]
    pub format: Option<values::FormatArg>,
    /// Read only the first N rows of the file.
    #[arg(long, value_name = "N")]
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

pub fn usage(msg: impl Into<String>) -> CliError {
    CliError::Usage(msg.into())
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
            progress: None,
        })
    }

    /// Loads FILE (or the bundled demo), with a progress bar on a terminal after a second.
    pub fn load(&self, file: &str) -> Result<Loaded, CliError> {
        let t = Instant::now();
        let mut opts = self.options()?;
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

/// Prints one JSON value on stdout.
pub fn print_json(v: &serde_json::Value) {
    match serde_json::to_string_pretty(v) {
        Ok(s) => println!("{s}"),
        Err(e) => eprintln!("error: cannot serialise the result: {e}"),
    }
}

fn wants_json(cmd: &Option<Command>) -> bool {
    match cmd {
        Some(Command::Info(a)) => a.json,
        Some(Command::Neighbors(a)) => a.json,
        Some(Command::Analogy(a)) => a.json,
        Some(Command::Eval(a)) => a.json,
        Some(Command::Convert(a)) => a.json,
        Some(Command::Project(a)) => a.json,
        Some(Command::Transform(a)) => a.json,
        Some(Command::Embed(a)) => a.json,
        Some(Command::Compare(a)) => a.json,
        Some(Command::Bias(a)) => a.json(),
        Some(Command::Report(a)) => a.json,
        Some(Command::Search(a)) => a.json,
        Some(Command::Cluster(a)) => a.json,
        Some(Command::Drift(a)) => a.json,
        Some(Command::Scan(a)) => a.json,
        None => false,
    }
}

/// Parses the arguments, runs the command and returns the process exit code.
pub fn run() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return e.exit_code();
        }
    };
    let json = wants_json(&cli.command);
    let result =
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
            None => match cli.files.iter().find(|f| {
                f.as_os_str() != formats::DEMO_NAME && std::fs::symlink_metadata(f).is_err()
            }) {
                // A mistyped subcommand must not open the app on a file that does not exist.
                Some(f) => Err(usage(format!(
                    "'{}' is neither a subcommand nor an existing file (see embedscope --help)",
                    f.display()
                ))),
                None => gui_or_help(cli.files, cli.empty),
            },
        };
    match result {
        Ok(()) => 0,
        Err(CliError::Gate(breached)) => {
            eprintln!("release gate failed: {} condition(s) held:", breached.len());
            for b in &breached {
                eprintln!("  {b}");
            }
            3
        }
        Err(CliError::Pii(m)) => {
            eprintln!("{m}");
            4
        }
        Err(e) => {
            let (code, kind, msg) = match &e {
                CliError::Usage(m) => (2, "usage", m.clone()),
                CliError::Interrupted(m) => (130, "interrupted", m.clone()),
                CliError::Gate(b) => (3, "gate", b.join("; ")),
                CliError::Pii(m) => (4, "pii", m.clone()),
                CliError::Runtime(err) => {
                    let kind = err
                        .downcast_ref::<FormatError>()
                        .map_or("runtime", FormatError::kind_name);
                    (1, kind, format!("{err:#}"))
                }
            };
            eprintln!("error: {msg}");
            if json {
                print_json(&serde_json::json!({ "error": { "kind": kind, "message": msg } }));
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
