//! `embedscope report A B [C...] --out FILE`: a comparison report as one self-contained HTML
//! file, Markdown with its images beside it, JSON, or a folder of CSV tables.

use std::path::PathBuf;
use std::sync::atomic::AtomicBool;

use clap::Args;
use embedscope::analysis::bias::{self, WeatOptions, WeatTest};
use embedscope::analysis::drift::DriftMethod;
use embedscope::report::{
    self, DriftOptions, OutputFormat, ReportError, ReportOptions, Section, Version,
};
use serde_json::json;

use super::compare::{EncodeArgs, MeasureArgs, compare_options, load_versions};
use super::progress::Bar;
use super::values::{MAX_LIST, MAX_ROWS, MAX_STEPS, MapMethodArg, ReportFormatArg, count};
use super::{CliError, LoadArgs, print_json, usage};

#[derive(Args, Debug)]
pub struct ReportArgs {
    /// Two or more versions (vector files, model folders with --corpus, or `demo`); each is
    /// compared with the next.
    #[arg(value_name = "FILE", num_args = 2.., required = true)]
    pub files: Vec<String>,
    /// Where to write: NAME.html (one self-contained page), NAME.md (images in NAME_files/
    /// beside it), NAME.json, or a folder (one CSV file per table).
    #[arg(long, value_name = "PATH")]
    pub out: PathBuf,
    /// Output format when the path does not say it.
    #[arg(long = "as", value_name = "FORMAT", value_enum)]
    pub output_format: Option<ReportFormatArg>,
    /// Report title.
    #[arg(long, default_value = "Model comparison")]
    pub title: String,
    /// Sections, comma-separated: all, or datasets, integrity, vocabulary, measures, words,
    /// maps, drift, bias, eval, parameters.
    #[arg(long, value_name = "LIST", default_value = "all")]
    pub sections: String,
    /// Bias tests for the bias section, comma-separated: weat1 ... weat10, or all.
    #[arg(long, value_name = "LIST")]
    pub probes: Option<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[command(flatten)]
    pub encode: EncodeArgs,
    #[command(flatten)]
    pub measure: MeasureArgs,
    /// Words per list (most changed, least changed, most displaced).
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N", default_value_t = 10)]
    pub words: usize,
    /// Neighbours shown per word and version.
    #[arg(value_parser = count(1, MAX_LIST), long, value_name = "N", default_value_t = 10)]
    pub neighbours: usize,
    /// Words drawn on each map (the most frequent shared ones).
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N", default_value_t = 2000)]
    pub map_points: usize,
    /// Most-displaced words labelled on the maps.
    #[arg(value_parser = count(0, MAX_LIST), long, value_name = "N", default_value_t = 10)]
    pub map_labels: usize,
    /// How the maps are laid out: pca (the first version's top two principal axes) or umap
    /// (a UMAP map of the first version, seeded by --seed, the others aligned and placed into
    /// it).
    #[arg(long, value_name = "METHOD", value_enum, default_value = "pca")]
    pub map_method: MapMethodArg,
    /// Random partitions for the WEAT p-values (when exact enumeration is too large).
    #[arg(value_parser = count(1, MAX_STEPS), long, value_name = "N", default_value_t = 10_000)]
    pub permutations: usize,
    /// Bootstrap replicates for the WEAT effect-size intervals.
    #[arg(value_parser = count(0, MAX_STEPS), long, value_name = "N", default_value_t = 2_000)]
    pub bootstrap: usize,
    /// Seed of the bias probes' permutations and bootstrap.
    #[arg(long, value_name = "S", default_value_t = 0)]
    pub probe_seed: u64,
    /// Drift section: the tests, `all` or a comma-separated list of distance_euclidean,
    /// distance_cosine, mmd, classifier, ratio, energy.
    #[arg(long, value_name = "LIST", default_value = "all")]
    pub drift_methods: String,
    /// Drift section: permutations per test (p = (b + 1) / (permutations + 1)).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub drift_permutations: usize,
    /// Drift section: rows per side at most behind MMD and energy (a seeded sample above it).
    #[arg(long, value_name = "N", default_value_t = 2000)]
    pub drift_kernel_sample: usize,
    /// Drift section: k-means clusters of the joint rows (cosine); 0: none.
    #[arg(long, value_name = "K", default_value_t = 8)]
    pub drift_clusters: usize,
    /// Drift section: keywords per cluster.
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub drift_keywords: usize,
    /// Drift section: clusters listed per pair, the largest changes of share first.
    #[arg(long, value_name = "N", default_value_t = 12)]
    pub drift_top: usize,
    /// Drift section: study two versions whose encoding records name different weights (said
    /// in the report); without it such a pair is left out with a note.
    #[arg(long)]
    pub allow_other_models: bool,
    /// Analogy and word-pair benchmarks use only the first N rows (gensim's restrict_vocab).
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N", default_value_t = 300_000)]
    pub restrict_vocab: usize,
    /// Mask personal data and secrets (the privacy scan's findings: e-mail addresses, phone
    /// numbers, card numbers, IBANs, IPs, URL credentials, secrets, US SSNs) in every text from
    /// the data (tokens, neighbour lists, map labels, document texts, cluster keywords), in
    /// every format; the report says what was masked and where (counts, never the values).
    #[arg(long)]
    pub redact: bool,
    /// Print one JSON object naming the files written.
    #[arg(long)]
    pub json: bool,
}

fn probes(spec: Option<&str>) -> Result<Vec<WeatTest>, CliError> {
    let mut out = Vec::new();
    for name in spec
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        match name {
            "all" => out.extend(bias::caliskan_tests().iter().cloned()),
            "none" => {}
            n => out.push(bias::test_by_name(n).map_err(|e| usage(format!("--probes: {e}")))?),
        }
    }
    Ok(out)
}

fn options(a: &ReportArgs) -> Result<ReportOptions, CliError> {
    let sections = Section::parse_list(&a.sections).map_err(|e| usage(e.to_string()))?;
    if a.words == 0 || a.neighbours == 0 {
        return Err(usage("--words and --neighbours must be at least 1"));
    }
    if a.permutations == 0 {
        return Err(usage("--permutations must be at least 1"));
    }
    if a.bootstrap > 10_000_000 {
        return Err(usage("--bootstrap is at most 10,000,000 replicates"));
    }
    if a.restrict_vocab == 0 {
        return Err(usage("--restrict-vocab must be at least 1"));
    }
    let d = ReportOptions::default();
    let drift = DriftOptions {
        methods: DriftMethod::parse_list(&a.drift_methods)
            .map_err(|e| usage(format!("--drift-methods: {e}")))?,
        permutations: a.drift_permutations,
        kernel_sample: a.drift_kernel_sample,
        clusters: a.drift_clusters,
        keywords: a.drift_keywords,
        top: a.drift_top,
        allow_other_models: a.allow_other_models,
    };
    let opts = ReportOptions {
        title: a.title.clone(),
        sections,
        compare: compare_options(&a.measure, a.words)?,
        probes: probes(a.probes.as_deref())?,
        weat: WeatOptions {
            permutations: a.permutations,
            bootstrap: a.bootstrap,
            seed: a.probe_seed,
            ..d.weat
        },
        analogy: embedscope::analysis::eval::AnalogyOptions {
            restrict_vocab: a.restrict_vocab,
            ..d.analogy
        },
        words: a.words,
        neighbours: a.neighbours,
        map_points: a.map_points,
        map_labels: a.map_labels,
        map_method: a.map_method.into(),
        drift,
        redact: a.redact,
        command: command_line(),
    };
    // The drift options are checked here so a bad value is a usage error (exit 2).
    if opts.sections.contains(&Section::Drift) {
        opts.drift_params()
            .map_err(|e| usage(format!("drift section: {e}")))?;
    }
    Ok(opts)
}

/// The command line as run, shell-quoted (the program named `embedscope`).
fn command_line() -> String {
    let mut parts = vec!["embedscope".to_string()];
    parts.extend(
        std::env::args_os()
            .skip(1)
            .map(|a| report::shell_quote(&a.to_string_lossy())),
    );
    parts.join(" ")
}

fn output_format(a: &ReportArgs) -> Result<OutputFormat, CliError> {
    match a.output_format {
        Some(f) => Ok(OutputFormat::from(f)),
        None => OutputFormat::from_path(&a.out).map_err(|e| usage(e.to_string())),
    }
}

fn runtime(e: ReportError) -> CliError {
    CliError::Runtime(e.into())
}

pub fn report(a: &ReportArgs) -> Result<(), CliError> {
    let opts = options(a)?;
    let format = output_format(a)?;
    if format != OutputFormat::CsvDir && a.out.is_dir() {
        return Err(usage(format!(
            "--out {} is a folder; name a file (NAME.html, NAME.md, NAME.json)",
            a.out.display()
        )));
    }
    if let Some(parent) = a.out.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(usage(format!(
            "--out {}: the folder {} does not exist",
            a.out.display(),
            parent.display()
        )));
    }
    let inputs: Vec<PathBuf> = a.files.iter().flat_map(|f| a.load.inputs(f)).collect();
    super::check_not_input(&a.out, &inputs)?;
    let (loaded, tokenizers) = load_versions(&a.files, &a.load, &a.encode)?;
    {
        let sets: Vec<&embedscope::core::EmbeddingSet> = loaded.iter().map(|l| &l.set).collect();
        // Every chosen section's needs: the kept comparisons and the largest step.
        super::guard(&embedscope::report::memory_estimate(&sets, &opts))?;
    }
    let versions: Vec<Version> = a
        .files
        .iter()
        .zip(&loaded)
        .map(|(f, l)| Version {
            name: f.clone(),
            set: &l.set,
        })
        .collect();
    let bar = Bar::new("report", false);
    let mut progress = |share: f32, _step: &str| bar.update((share * 1000.0) as u64, 1000);
    let r = report::build(
        &versions,
        &tokenizers,
        &opts,
        &mut progress,
        &AtomicBool::new(false),
    )
    .map_err(runtime)?;
    bar.finish();
    for n in &r.notes {
        eprintln!("warning: not computed: {n}");
    }
    let written = report::write(&r, &a.out, format).map_err(runtime)?;
    if a.json {
        print_json(&json!({
            "format": match format {
                OutputFormat::Html => "html",
                OutputFormat::Markdown => "md",
                OutputFormat::Json => "json",
                OutputFormat::CsvDir => "csv",
            },
            "out": a.out.display().to_string(),
            "files": written.iter().map(|p| p.display().to_string()).collect::<Vec<_>>(),
            "sections": r.sections,
            "redaction": r.redaction,
        }));
    } else {
        let shown: Vec<String> = written.iter().map(|p| p.display().to_string()).collect();
        println!("wrote {}", shown.join(", "));
        if let Some(x) = &r.redaction {
            let found: Vec<String> = x
                .counts
                .iter()
                .filter(|(_, n)| **n > 0)
                .map(|(k, n)| format!("{n} {k}"))
                .collect();
            if found.is_empty() {
                println!("redacted: nothing found to mask");
            } else {
                println!("redacted {} findings: {}", x.total, found.join(", "));
            }
        }
    }
    Ok(())
}
