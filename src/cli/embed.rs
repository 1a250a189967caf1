//! `embedscope embed`: a corpus through a model folder, sentence or word vectors out.

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use embedscope::core::Provenance;
use embedscope::engine::EngineError;
use embedscope::engine::device::{self, BackendChoice};
use embedscope::engine::encode::{self, Level, SentenceCollector};
use embedscope::formats::corpus::{Corpus, CorpusFormat, CorpusOptions, Shard};
use embedscope::formats::{self, Format, NpyStreamWriter};
use embedscope::model::{Encoder, Pooling, PromptChoice};
use serde_json::json;

use super::progress::Bar;
use super::values::{
    BackendArg, CorpusFormatArg, LevelArg, MAX_BATCH, MAX_DIMS, PoolingArg, count,
};
use super::{CliError, print_json, usage};

#[derive(Args, Debug)]
pub struct EmbedArgs {
    /// Model folder (Hugging Face or sentence-transformers: config.json, tokenizer.json,
    /// model.safetensors).
    #[arg(long)]
    pub model: PathBuf,
    /// Corpus: .txt (one document per line), .csv/.tsv, .jsonl, .parquet.
    #[arg(long)]
    pub input: PathBuf,
    /// JSONL field holding the text (default: text, sentence, document, content, body).
    #[arg(long)]
    pub field: Option<String>,
    /// CSV/TSV/Parquet column holding the text (same default).
    #[arg(long)]
    pub text_column: Option<String>,
    /// Corpus layout (default: from the extension).
    #[arg(long, value_enum, ignore_case = true)]
    pub corpus_format: Option<CorpusFormatArg>,
    /// Leave out records whose text is empty (or only white space) instead of encoding them as
    /// sentence-transformers encodes "". Off by default for CSV/TSV/JSONL/Parquet: output row i
    /// is record i, with id d<i>, so runs of two models line up row by row. On by default for
    /// plain text (lines, paragraphs), where blank lines separate documents;
    /// `--skip-empty=false` keeps one row per line there. Skipped records keep their number (the
    /// ids have gaps) and are listed in --json (`skipped_records`) and the provenance.
    /// A bad record (JSONL: a line that is not a JSON object, or whose text field is missing,
    /// null or not a string; CSV: a row too short for the text column; Parquet: a null text) is
    /// encoded as "" too, with a warning naming its line, so rows never shift; with skipping on
    /// it is left out and listed like an empty one.
    #[arg(
        long,
        value_name = "BOOL",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "true"
    )]
    pub skip_empty: Option<bool>,
    /// Encode one shard of the corpus: `I/N` (0-based, e.g. 0/4 .. 3/4) keeps the records whose
    /// record number r has r mod N = I. The split depends on the file alone, rows keep their
    /// global ids (d<r>), and N runs with 0/N .. N-1/N cover every record once: run them as
    /// separate jobs (Ray, Spark, a cluster scheduler) writing part files into one folder, which
    /// opens as one data set.
    #[arg(long, value_name = "I/N")]
    pub shard: Option<Shard>,
    /// Longest text kept per document, in bytes (default 262144); longer documents are cut at a
    /// character boundary, counted in the output (`skipped.truncated`) and in the encoding
    /// record (`documents_cut`).
    #[arg(long, value_name = "BYTES", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_doc_bytes: Option<u64>,
    #[arg(long, value_enum, default_value_t = LevelArg::Sentence)]
    pub level: LevelArg,
    /// Output: .npy (streamed, with .vocab.txt and .metadata.tsv), .parquet, .vec, .tsv, .esv.
    /// Word level also writes <stem>.occurrences.<ext> (sampled occurrence vectors).
    #[arg(long)]
    pub out: PathBuf,
    #[arg(long, value_enum, default_value_t = BackendArg::Auto, ignore_case = true)]
    pub backend: BackendArg,
    #[arg(value_parser = count(1, MAX_BATCH), long, default_value_t = 32)]
    pub batch_size: usize,
    /// Override the folder's pooling.
    #[arg(long, value_enum, ignore_case = true)]
    pub pooling: Option<PoolingArg>,
    /// A prompt of the folder's config_sentence_transformers.json by name (e.g. query), put
    /// in front of every text. Without --prompt, --prompt-text or --no-prompt the folder's
    /// default_prompt_name applies, as in sentence-transformers. Sentence level only.
    #[arg(long, value_name = "NAME", conflicts_with_all = ["prompt_text", "no_prompt"])]
    pub prompt: Option<String>,
    /// Text put in front of every text, e.g. "query: ".
    #[arg(long, value_name = "TEXT", conflicts_with = "no_prompt")]
    pub prompt_text: Option<String>,
    /// No prompt, even when the folder names a default one.
    #[arg(long)]
    pub no_prompt: bool,
    /// Keep the first N dimensions of each vector (Matryoshka models), after normalisation
    /// as sentence-transformers' truncate_dim.
    #[arg(value_parser = count(1, MAX_DIMS), long, value_name = "N")]
    pub truncate_dim: Option<usize>,
    #[arg(long)]
    pub json: bool,
}

/// Writes the encoding record (`x.npy` -> `x.provenance.json`: model, weights and tokenizer
/// hashes, pooling, backend and adapter, and the output's sha256 and shape) beside an output.
/// A native `.esv` file holds the same record in its header.
fn write_record(
    out: &std::path::Path,
    format: Format,
    p: &Provenance,
    rows: usize,
    dim: usize,
) -> Result<Option<PathBuf>, CliError> {
    if format == Format::Native {
        return Ok(None);
    }
    Ok(Some(formats::write_sidecar(out, format, p, rows, dim)?))
}

pub fn embed(a: &EmbedArgs) -> Result<(), CliError> {
    if a.batch_size == 0 {
        return Err(usage("--batch-size must be at least 1"));
    }
    let level = Level::from(a.level);
    let pooling = a.pooling.map(Pooling::from);
    let corpus_format = a.corpus_format.map(CorpusFormat::from);
    let out_format = Format::from_extension(&a.out)
        .filter(|f| f.can_write())
        .ok_or_else(|| {
            usage(format!(
                "--out {}: use .npy, .parquet, .vec, .tsv or .esv",
                a.out.display()
            ))
        })?;
    let choice = BackendChoice::from(a.backend);
    let t = Instant::now();
    let (dev, backend) = device::select(choice).map_err(|e| CliError::Runtime(e.into()))?;
    eprintln!("{}", backend.describe());
    let mut enc =
        Encoder::load(&a.model, &dev, pooling).map_err(|e| CliError::Runtime(e.into()))?;
    let prompt = match (&a.prompt, &a.prompt_text, a.no_prompt) {
        (Some(name), _, _) => PromptChoice::Named(name.clone()),
        (None, Some(text), _) => PromptChoice::Text(text.clone()),
        (None, None, true) => PromptChoice::None,
        (None, None, false) => PromptChoice::FolderDefault,
    };
    if level == Level::Word && matches!(prompt, PromptChoice::Named(_) | PromptChoice::Text(_)) {
        return Err(usage(
            "--prompt and --prompt-text apply to sentence-level vectors (--level sentence)",
        ));
    }
    if level == Level::Word && a.shard.is_some() {
        return Err(usage(
            "--shard applies to sentence-level vectors: word vectors average every occurrence of a word over the whole corpus, which one shard does not see",
        ));
    }
    enc.set_prompt(&prompt)
        .map_err(|e| CliError::Runtime(e.into()))?;
    enc.set_truncate_dim(a.truncate_dim)
        .map_err(|e| usage(e.to_string()))?;
    let opts = CorpusOptions {
        format: corpus_format,
        text_field: a.field.clone().or_else(|| a.text_column.clone()),
        skip_empty: a.skip_empty,
        shard: a.shard,
        max_doc_bytes: a
            .max_doc_bytes
            .map(|b| usize::try_from(b).unwrap_or(usize::MAX)),
    };
    super::check_not_input(&a.out, std::slice::from_ref(&a.input))?;
    let mut corpus = Corpus::open(&a.input, &opts)?;
    let load_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let eopts = encode::options_for(&enc, &backend, level, a.batch_size);
    super::guard(&encode::memory_estimate(
        &enc,
        &eopts,
        encode::workers_for(&backend),
        std::fs::metadata(&a.input).map_or(0, |m| m.len()),
    ))?;
    // Ctrl+C / SIGTERM: the job stops after the current batch and writes nothing.
    let cancel = super::interrupt::graceful();
    let bar = Bar::new("encoding", true);
    let mut on_progress = |p: &encode::Progress| bar.update(p.done, p.total);
    let mut provenance = encode::provenance(&a.model, &enc, level, &backend, &a.input, &corpus);
    let rt = |e: EngineError| match e {
        EngineError::Cancelled => CliError::Interrupted(format!(
            "{}: interrupted; no output written",
            a.input.display()
        )),
        e => CliError::Runtime(e.into()),
    };
    let (rows, files) = match level {
        Level::Sentence => {
            let meta_names = SentenceCollector::columns(corpus.meta_names());
            // .npy rows stream to disk; other formats collect the set and save it at the end.
            let mut stream = match out_format {
                Format::Npy => Some(NpyStreamWriter::create(&a.out, enc.dim(), &meta_names)?),
                _ => None,
            };
            let mut collect = SentenceCollector::new(enc.dim(), corpus.meta_names());
            let mut sink = |r: encode::DocRow| -> Result<(), EngineError> {
                match stream.as_mut() {
                    Some(w) => {
                        let (token, m) = SentenceCollector::row_values(&r);
                        w.write_row(&token, r.vector, &m)?
                    }
                    None => collect.push(&r),
                }
                Ok(())
            };
            let n = encode::encode_sentences(
                &enc,
                &mut corpus,
                &eopts,
                &mut sink,
                &mut on_progress,
                cancel,
            )
            .map_err(rt)?;
            if n == 0 {
                if let Some(shard) = a.shard {
                    // A shard past the end of a small corpus: nothing to write, not a failure
                    // of the job that runs it.
                    let st = corpus.stats();
                    let msg = format!(
                        "{}: shard {shard} holds no documents ({} records in the other shards); nothing written",
                        a.input.display(),
                        st.other_shards
                    );
                    if a.json {
                        print_json(&json!({
                            "rows": 0,
                            "documents": 0,
                            "shard": shard.to_string(),
                            "records_in_other_shards": st.other_shards,
                            "out": Vec::<String>::new(),
                            "note": msg,
                        }));
                    } else {
                        println!("{msg}");
                    }
                    return Ok(());
                }
                // Dropping the stream writer removes its temporary files.
                return Err(CliError::Runtime(anyhow::anyhow!(
                    "{}: no documents to encode",
                    a.input.display()
                )));
            }
            corpus.stats().note_in(&mut provenance);
            if let Some(w) = stream {
                let mut files = w.finish()?;
                files.extend(write_record(
                    &a.out,
                    out_format,
                    &provenance,
                    n as usize,
                    enc.dim(),
                )?);
                (n, files)
            } else {
                let set = collect
                    .finish(provenance.clone())
                    .map_err(|e| CliError::Runtime(e.into()))?;
                let mut files = formats::save(&set, &a.out, Some(out_format))?;
                files.extend(write_record(
                    &a.out,
                    out_format,
                    &provenance,
                    set.rows(),
                    set.dim(),
                )?);
                (n, files)
            }
        }
        Level::Word => {
            let (mut out, n) =
                encode::encode_words(&enc, &mut corpus, &eopts, &mut on_progress, cancel)
                    .map_err(rt)?;
            corpus.stats().note_in(&mut provenance);
            out.types.provenance = provenance.clone();
            out.occurrences.provenance = encode::occurrences_provenance(&provenance);
            let mut files = formats::save(&out.types, &a.out, Some(out_format))?;
            files.extend(write_record(
                &a.out,
                out_format,
                &provenance,
                out.types.rows(),
                out.types.dim(),
            )?);
            let stem = a
                .out
                .file_stem()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let ext = a
                .out
                .extension()
                .map(|s| s.to_string_lossy().to_string())
                .unwrap_or_default();
            let occ = a.out.with_file_name(format!("{stem}.occurrences.{ext}"));
            files.extend(formats::save(&out.occurrences, &occ, Some(out_format))?);
            files.extend(write_record(
                &occ,
                out_format,
                &out.occurrences.provenance,
                out.occurrences.rows(),
                out.occurrences.dim(),
            )?);
            let _ = n;
            (out.types.rows() as u64, files)
        }
    };
    bar.finish();
    let compute = t.elapsed().as_secs_f64();
    let stats = corpus.stats().clone();
    let docs = stats.documents;
    if docs == 0 {
        return Err(CliError::Runtime(anyhow::anyhow!(
            "{}: no documents to encode",
            a.input.display()
        )));
    }
    for w in stats.warnings() {
        eprintln!("warning: {}: {w}", a.input.display());
    }
    if a.json {
        print_json(&json!({
            "rows": rows,
            "documents": docs,
            "records": stats.records,
            "skip_empty": stats.skip_empty,
            "skipped_records": stats.skipped.iter().map(|r| json!({
                "id": format!("d{}", r.index),
                "index": r.index,
                "line": r.line,
            })).collect::<Vec<_>>(),
            "dim": enc.dim(),
            "level": level.name(),
            "model": {
                "path": a.model.display().to_string(),
                "sha256": enc.weights_sha256,
                "tokenizer_sha256": enc.tokenizer_sha256,
                "model_type": enc.config.model_type.clone().unwrap_or_else(|| "bert".into()),
                "pooling": enc.pipeline.pooling,
                "normalize": enc.pipeline.normalize(),
                "max_seq_length": enc.max_len,
                "prompt": enc.prompt(),
                "truncate_dim": enc.truncate_dim(),
            },
            "backend": backend,
            "shard": a.shard.map(|s| s.to_string()),
            "records_in_other_shards": stats.other_shards,
            "skipped": stats,
            "out": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "timing_s": {"load": load_s, "compute": compute},
            "docs_per_s": docs as f64 / compute.max(1e-9),
        }));
    } else {
        println!(
            "{docs} documents -> {rows} rows x {} ({} level) in {compute:.2} s ({:.1} docs/s)",
            enc.dim(),
            level,
            docs as f64 / compute.max(1e-9)
        );
        if let Some(shard) = a.shard {
            println!(
                "  shard {shard}: {} records read here, {} in the other shards; ids are global record numbers",
                stats.records, stats.other_shards
            );
        }
        for f in &files {
            println!("  wrote {}", f.display());
        }
        if stats.empty_skipped
            + stats.empty_kept
            + stats.invalid_utf8
            + stats.truncated
            + stats.bad_records
            > 0
        {
            println!(
                "  {} empty skipped, {} empty encoded as \"\", {} bad records; {} not UTF-8 (decoded lossily), {} cut to {} bytes",
                stats.empty_skipped,
                stats.empty_kept,
                stats.bad_records,
                stats.invalid_utf8,
                stats.truncated,
                stats.max_doc_bytes
            );
        }
    }
    Ok(())
}
