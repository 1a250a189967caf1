//! Encoding jobs: a corpus read in chunks, tokenised, sorted by length into padded batches, run
//! through the encoder, and emitted in input order. Progress (documents, bytes, rate, ETA) is
//! reported after every batch and the job stops when `cancel` is set.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::EngineError;
use super::device::MemoryLimit;
use crate::core::{EmbeddingSet, Matrix, MetaColumn, Metadata, Provenance, Vocab, one_line};
use crate::formats::corpus::{Corpus, Doc};
use crate::model::encoder::{Encoded, Encoder, Tokens, batches};
use crate::model::{BertConfig, tokdiff};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Sentence,
    Word,
}

impl Level {
    pub fn name(self) -> &'static str {
        match self {
            Level::Sentence => "sentence",
            Level::Word => "word",
        }
    }
}

impl std::fmt::Display for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Level {
    type Err = String;

    fn from_str(s: &str) -> Result<Level, String> {
        match s.to_ascii_lowercase().as_str() {
            "sentence" => Ok(Level::Sentence),
            "word" => Ok(Level::Word),
            _ => Err(format!("unknown level '{s}': sentence or word")),
        }
    }
}

/// Options for encoding with `enc` on `backend`: the batch token budget follows the memory
/// available to each worker (one batch per CPU worker thread; one at a time on wgpu).
pub fn options_for(
    enc: &Encoder,
    backend: &super::device::BackendInfo,
    level: Level,
    batch_size: usize,
) -> EncodeOptions {
    let workers = if backend.kind == super::device::BackendKind::Cpu {
        rayon::current_num_threads()
    } else {
        1
    };
    EncodeOptions {
        level,
        batch_size,
        max_tokens: token_budget(
            &enc.config,
            enc.max_len,
            batch_size,
            backend.memory,
            workers,
        ),
        ..EncodeOptions::default()
    }
}

/// Provenance of vectors encoded from `corpus_path` with the model folder `model`: weights and
/// tokenizer hashes, pooling, normalisation, max length, level, backend and adapter.
pub fn provenance(
    model: &std::path::Path,
    enc: &Encoder,
    level: Level,
    backend: &super::device::BackendInfo,
    corpus_path: &std::path::Path,
    corpus: &Corpus,
) -> Provenance {
    let mut params = std::collections::BTreeMap::new();
    params.insert("model".to_string(), model.display().to_string());
    params.insert("weights_sha256".into(), enc.weights_sha256.clone());
    params.insert("tokenizer_sha256".into(), enc.tokenizer_sha256.clone());
    params.insert(
        "model_type".into(),
        enc.config
            .model_type
            .clone()
            .unwrap_or_else(|| "bert".into()),
    );
    params.insert("pooling".into(), enc.pipeline.pooling.name().into());
    params.insert("normalize".into(), enc.pipeline.normalize().to_string());
    let dense: Vec<String> = enc
        .pipeline
        .stages
        .iter()
        .filter_map(|s| match s {
            crate::model::pipeline::Stage::Dense(d) => Some(format!(
                "{}->{} {:?}",
                d.in_features, d.out_features, d.activation
            )),
            crate::model::pipeline::Stage::Normalize => None,
        })
        .collect();
    if !dense.is_empty() {
        params.insert("dense".into(), dense.join(", "));
    }
    if let Some(p) = enc.prompt() {
        params.insert("prompt".into(), p.text.clone());
        if let Some(n) = &p.name {
            params.insert("prompt_name".into(), n.clone());
        }
    }
    if let Some(t) = enc.truncate_dim() {
        params.insert("truncate_dim".into(), t.to_string());
    }
    params.insert("max_seq_length".into(), enc.max_len.to_string());
    params.insert("level".into(), level.name().into());
    params.insert("backend".into(), backend.describe());
    params.insert("corpus".into(), corpus_path.display().to_string());
    Provenance {
        source: corpus_path.display().to_string(),
        format: format!("embedded:{}", level.name()),
        sha256: None,
        file_size: Some(corpus.file_size()),
        params,
        model_id: model.file_name().map(|n| n.to_string_lossy().to_string()),
        ..Provenance::default()
    }
}

/// Distinct words (first seen first, at most `max`) of a corpus's first documents, split by
/// [`tokdiff::sample_words`]: what two tokenizers are compared on.
pub fn corpus_words(
    path: &std::path::Path,
    options: &crate::formats::corpus::CorpusOptions,
    max: usize,
) -> Result<Vec<String>, EngineError> {
    let corpus = Corpus::open(path, options)?;
    let mut text = String::new();
    let mut words = Vec::new();
    for doc in corpus {
        let doc = doc?;
        text.push_str(&doc.text);
        text.push('\n');
        if text.len() > 1 << 20 {
            words = tokdiff::sample_words(&text, max);
            if words.len() >= max || text.len() > 8 << 20 {
                return Ok(words);
            }
        }
    }
    if words.len() < max {
        words = tokdiff::sample_words(&text, max);
    }
    Ok(words)
}

/// The model folder and corpus an encoded set came from (its provenance), if it was encoded.
pub fn encoded_from(p: &Provenance) -> Option<(std::path::PathBuf, std::path::PathBuf)> {
    let model = p.params.get("model")?;
    let corpus = p.params.get("corpus")?;
    Some((model.into(), corpus.into()))
}

#[derive(Debug, Clone)]
pub struct EncodeOptions {
    pub level: Level,
    pub batch_size: usize,
    /// Padded tokens per batch at most (bounds memory for long texts).
    pub max_tokens: usize,
    /// Documents read and sorted together.
    pub chunk: usize,
    /// Occurrences kept per word type (word level).
    pub samples_per_word: usize,
}

impl Default for EncodeOptions {
    fn default() -> Self {
        EncodeOptions {
            level: Level::Sentence,
            batch_size: 32,
            max_tokens: 32 * 256,
            chunk: 4096,
            samples_per_word: 16,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Progress {
    pub docs: u64,
    /// Bytes (or Parquet rows) read, of `total`.
    pub done: u64,
    pub total: u64,
    pub docs_per_s: f64,
    pub eta_s: Option<f64>,
}

/// One encoded document, in input order.
pub struct DocRow<'a> {
    pub doc: &'a Doc,
    pub vector: &'a [f32],
}

fn read_chunk(corpus: &mut Corpus, n: usize) -> Result<Vec<Doc>, EngineError> {
    let mut v = Vec::with_capacity(n);
    for d in corpus.by_ref().take(n) {
        v.push(d?);
    }
    Ok(v)
}

struct Clock {
    start: Instant,
}

impl Clock {
    fn progress(&self, docs: u64, corpus: &Corpus) -> Progress {
        let (done, total) = corpus.progress();
        let secs = self.start.elapsed().as_secs_f64().max(1e-9);
        let rate = docs as f64 / secs;
        let eta = (done > 0 && total >= done).then(|| secs * (total - done) as f64 / done as f64);
        Progress {
            docs,
            done,
            total,
            docs_per_s: rate,
            eta_s: eta,
        }
    }
}

/// Padded tokens per batch: `batch_size` full-length texts, fewer when the memory limit says so
/// (at least one full-length text). Counts the live activations of one layer per padded token
/// (hidden states, Q/K/V, the feed-forward intermediate, a row of attention scores per head);
/// `workers` batches run at once on the CPU.
pub fn token_budget(
    cfg: &BertConfig,
    max_len: usize,
    batch_size: usize,
    memory: MemoryLimit,
    workers: usize,
) -> usize {
    let want = (batch_size.max(1) * max_len.max(1)) as u64;
    let floor = max_len.max(1) as u64;
    let mut budget = want;
    if let Some(total) = memory.total_bytes {
        let per_token = 4
            * (cfg.hidden_size * 8
                + cfg.intermediate_size * 2
                + cfg.num_attention_heads * max_len * 2) as u64;
        // A quarter of what is available, shared by the workers.
        budget = budget.min(total / 4 / workers.max(1) as u64 / per_token.max(1));
    }
    if let Some(buf) = memory.buffer_bytes {
        // The largest single tensors: attention scores (heads x len per token) and the
        // feed-forward intermediate.
        let widest = 4 * cfg.intermediate_size.max(cfg.num_attention_heads * max_len) as u64;
        budget = budget.min(buf / widest.max(1));
    }
    budget.clamp(floor, want.max(floor)) as usize
}

type Batch<'a> = (Vec<&'a Tokens>, Vec<usize>);
/// A batch's outputs with the input indices they belong to.
type Ran<'a> = (Vec<Encoded>, &'a [usize]);

/// Splits batches into groups of one batch per worker thread.
fn groups(all: Vec<Batch<'_>>) -> Vec<Vec<Batch<'_>>> {
    let workers = rayon::current_num_threads().max(1);
    let mut out = Vec::new();
    let mut it = all.into_iter().peekable();
    while it.peek().is_some() {
        out.push(it.by_ref().take(workers).collect());
    }
    out
}

/// Runs the batches of a group concurrently, one per worker. On the CPU backend this keeps every
/// core busy: inside one batch only the large matrix products are multi-threaded, the
/// element-wise work (GELU, LayerNorm, softmax) is not.
fn run_group<'a>(
    enc: &Encoder,
    group: &'a [Batch<'a>],
    hidden: bool,
) -> Result<Vec<Ran<'a>>, EngineError> {
    use rayon::prelude::*;
    group
        .par_iter()
        .map(|(b, idx)| Ok((enc.run_batch(b, hidden)?, idx.as_slice())))
        .collect()
}

/// Runs one chunk's tokenised texts in length-sorted batch groups: `each` gets every text's
/// output with its index in the chunk, `done` the number of texts after each group. Stops with
/// `Cancelled` between groups.
fn run_chunk(
    enc: &Encoder,
    toks: &[Tokens],
    opts: &EncodeOptions,
    hidden: bool,
    cancel: &AtomicBool,
    each: &mut dyn FnMut(usize, Encoded),
    done: &mut dyn FnMut(u64),
) -> Result<(), EngineError> {
    for group in groups(batches(toks, opts.batch_size, opts.max_tokens)) {
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        let mut n = 0;
        for (out, idx) in run_group(enc, &group, hidden)? {
            n += idx.len() as u64;
            for (e, &i) in out.into_iter().zip(idx) {
                each(i, e);
            }
        }
        done(n);
    }
    Ok(())
}

/// Collects sentence rows into an [`EmbeddingSet`]: token `d<record number>` (row i is record i
/// unless records were skipped), metadata `line`, `text` (the document's full text, as read) and
/// the corpus's own columns.
pub struct SentenceCollector {
    dim: usize,
    names: Vec<String>,
    data: Vec<f32>,
    tokens: Vec<String>,
    cols: Vec<Vec<String>>,
}

impl SentenceCollector {
    /// Metadata column names: `line`, `text`, then the corpus's.
    pub fn columns(corpus_columns: &[String]) -> Vec<String> {
        let mut names = vec!["line".to_string(), "text".to_string()];
        names.extend(corpus_columns.iter().cloned());
        names
    }

    pub fn new(dim: usize, corpus_columns: &[String]) -> Self {
        let names = Self::columns(corpus_columns);
        SentenceCollector {
            dim,
            cols: vec![Vec::new(); names.len()],
            names,
            data: Vec::new(),
            tokens: Vec::new(),
        }
    }

    /// The token and metadata values of a row.
    pub fn row_values(r: &DocRow) -> (String, Vec<String>) {
        let mut m = vec![r.doc.line.to_string(), r.doc.text.clone()];
        m.extend(r.doc.meta.iter().cloned());
        (format!("d{}", r.doc.index), m)
    }

    pub fn push(&mut self, r: &DocRow) {
        let (token, m) = Self::row_values(r);
        self.data.extend_from_slice(r.vector);
        self.tokens.push(token);
        for (c, v) in self.cols.iter_mut().zip(m) {
            c.push(v);
        }
    }

    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    pub fn finish(self, provenance: Provenance) -> Result<EmbeddingSet, EngineError> {
        let n = self.tokens.len();
        let vocab = Vocab::from_unique(self.tokens)
            .map_err(|(i, t)| EngineError::Output(format!("duplicate row {t} at {i}")))?;
        let mut meta = Metadata::new();
        for (name, values) in self.names.into_iter().zip(self.cols) {
            meta.push(MetaColumn { name, values }, n)
                .map_err(|e| EngineError::Output(e.to_string()))?;
        }
        let matrix = Matrix::from_vec(n, self.dim, self.data)
            .map_err(|e| EngineError::Output(e.to_string()))?;
        EmbeddingSet::new(vocab, matrix, meta, provenance)
            .map_err(|e| EngineError::Output(e.to_string()))
    }
}

/// Encodes every document and hands its sentence vector to `sink`, in input order.
pub fn encode_sentences(
    enc: &Encoder,
    corpus: &mut Corpus,
    opts: &EncodeOptions,
    sink: &mut dyn FnMut(DocRow) -> Result<(), EngineError>,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<u64, EngineError> {
    let clock = Clock {
        start: Instant::now(),
    };
    let mut docs = 0u64;
    loop {
        let chunk = read_chunk(corpus, opts.chunk)?;
        if chunk.is_empty() {
            return Ok(docs);
        }
        let texts: Vec<&str> = chunk.iter().map(|d| d.text.as_str()).collect();
        let toks = enc.tokenize(&texts)?;
        let mut vecs: Vec<Vec<f32>> = vec![Vec::new(); chunk.len()];
        run_chunk(
            enc,
            &toks,
            opts,
            false,
            cancel,
            &mut |i, e| vecs[i] = e.pooled,
            &mut |n| {
                docs += n;
                progress(&clock.progress(docs, corpus));
            },
        )?;
        for (d, v) in chunk.iter().zip(&vecs) {
            sink(DocRow { doc: d, vector: v })?;
        }
    }
}

/// Contextual vectors of the words of one text: the hidden states of each word's pieces
/// averaged (special tokens left out). Returns (word, vector) per occurrence. When the text
/// was truncated, its last word is left out: its pieces may have been cut (a word "beaut"
/// from "beautiful" would be a token that never occurs in the text).
pub fn word_vectors(
    t: &Tokens,
    hidden: &[f32],
    dim: usize,
    text: &str,
    lowercase: bool,
) -> Vec<(String, Vec<f32>)> {
    word_vectors_at(t, hidden, dim, text, lowercase)
        .into_iter()
        .map(|w| (w.key, w.vector))
        .collect()
}

/// One word occurrence: the word (lower-cased when the model is), its vector and its byte
/// span in the text.
pub struct WordVec {
    pub key: String,
    pub vector: Vec<f32>,
    pub span: (usize, usize),
}

/// [`word_vectors`] with each occurrence's byte span in the text.
pub fn word_vectors_at(
    t: &Tokens,
    hidden: &[f32],
    dim: usize,
    text: &str,
    lowercase: bool,
) -> Vec<WordVec> {
    let mut out = Vec::new();
    let n = t.ids.len();
    let last_word = if t.truncated {
        t.word_ids.iter().rev().find_map(|w| *w)
    } else {
        None
    };
    let mut i = 0;
    while i < n {
        let Some(w) = t.word_ids[i] else {
            i += 1;
            continue;
        };
        let mut j = i;
        while j + 1 < n && t.word_ids[j + 1] == Some(w) {
            j += 1;
        }
        let (start, end) = (t.offsets[i].0, t.offsets[j].1);
        let surface = text.get(start..end).unwrap_or("").to_string();
        let key = if lowercase {
            surface.to_lowercase()
        } else {
            surface
        };
        let mut v = vec![0f32; dim];
        for k in i..=j {
            for (a, &x) in v.iter_mut().zip(&hidden[k * dim..(k + 1) * dim]) {
                *a += x;
            }
        }
        let c = (j - i + 1) as f32;
        v.iter_mut().for_each(|a| *a /= c);
        if !key.is_empty() && last_word != Some(w) {
            out.push(WordVec {
                key,
                vector: v,
                span: (start, end),
            });
        }
        i = j + 1;
    }
    out
}

/// A sampled occurrence: (vector, document index, line, context, the word's byte span in the
/// context).
type Sample = (Vec<f32>, u64, u64, String, (usize, usize));

struct WordAcc {
    sum: Vec<f64>,
    count: u64,
    samples: Vec<Sample>,
    /// Per corpus column: occurrences per value (at most [`VALUES_PER_WORD`] values, the rest
    /// under [`OTHER_VALUE`]).
    values: Vec<HashMap<String, u64>>,
}

/// Characters of context kept on each side of a sampled occurrence.
pub const CONTEXT_CHARS: usize = 120;
/// Distinct values of a corpus column counted per word.
const VALUES_PER_WORD: usize = 64;
/// Values counted per word listed in a `<column>_values` cell.
const VALUES_LISTED: usize = 5;
/// A corpus column with more distinct values than this (ids, free text) is not carried to words.
const MAX_COLUMN_VALUES: usize = 10_000;
const OTHER_VALUE: &str = "(other)";

/// Deterministic pseudo-random number for reservoir sampling.
fn mix(a: u64, b: u64) -> u64 {
    let mut z = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_add(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// The text around an occurrence: up to [`CONTEXT_CHARS`] characters on each side of the span
/// (cut at white space where one is near, `…` where cut), and the span's place in it.
pub fn context(text: &str, span: (usize, usize)) -> (String, (usize, usize)) {
    let (s, e) = (span.0.min(text.len()), span.1.min(text.len()));
    if !text.is_char_boundary(s) || !text.is_char_boundary(e) || s > e {
        return (one_line(text, 2 * CONTEXT_CHARS), (0, 0));
    }
    let before = &text[..s];
    let mut from = before
        .char_indices()
        .rev()
        .nth(CONTEXT_CHARS - 1)
        .map_or(0, |(i, _)| i);
    if from > 0
        && let Some(w) = before[from..].find(char::is_whitespace)
        && w < 30
    {
        from += w + 1;
    }
    let after = &text[e..];
    let mut to = after
        .char_indices()
        .nth(CONTEXT_CHARS)
        .map_or(after.len(), |(i, _)| i);
    if to < after.len()
        && let Some(w) = after[..to].rfind(char::is_whitespace)
        && to - w < 30
    {
        to = w;
    }
    let flat = |t: &str| t.replace(['\n', '\r', '\t'], " ");
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    out.push_str(&flat(&text[from..s]));
    let at = out.len();
    out.push_str(&flat(&text[s..e]));
    let end = out.len();
    out.push_str(&flat(&after[..to]));
    if e + to < text.len() {
        out.push('…');
    }
    (out, (at, end))
}

/// A word's values of one corpus column: the most frequent (ties: the first by value), and the
/// first [`VALUES_LISTED`] as `value: count` by count, `; `-separated.
fn value_summary(counts: &HashMap<String, u64>) -> (String, String) {
    let mut v: Vec<(&String, &u64)> = counts.iter().collect();
    v.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    let top = v.first().map(|(k, _)| (*k).clone()).unwrap_or_default();
    let listed = v
        .iter()
        .take(VALUES_LISTED)
        .map(|(k, c)| format!("{k}: {c}"))
        .collect::<Vec<_>>()
        .join("; ");
    (top, listed)
}

/// The provenance of a word-level set's sampled occurrences: the types' record, marked
/// `rows = occurrences` so the occurrences are never taken for another version of the words.
pub fn occurrences_provenance(types: &Provenance) -> Provenance {
    let mut p = types.clone();
    let facts = if p.params_are_encoding() {
        &mut p.params
    } else {
        &mut p.encoding
    };
    facts.insert(
        crate::core::ROWS_FACT.to_string(),
        crate::core::OCCURRENCES.to_string(),
    );
    p
}

/// Word-level output: one row per word type (mean vector, occurrence count) and the sampled
/// occurrences (for the senses of a word).
pub struct WordOutput {
    pub types: EmbeddingSet,
    pub occurrences: EmbeddingSet,
}

pub fn encode_words(
    enc: &Encoder,
    corpus: &mut Corpus,
    opts: &EncodeOptions,
    progress: &mut dyn FnMut(&Progress),
    cancel: &AtomicBool,
) -> Result<(WordOutput, u64), EngineError> {
    let clock = Clock {
        start: Instant::now(),
    };
    let dim = enc.hidden_size();
    let mut acc: HashMap<String, WordAcc> = HashMap::new();
    let mut docs = 0u64;
    // The corpus's own columns, carried to the words (most frequent value, counts per value).
    let col_names: Vec<String> = corpus.meta_names().to_vec();
    let n_cols = col_names.len();
    let mut seen: Vec<HashSet<String>> = vec![HashSet::new(); n_cols];
    loop {
        let chunk = read_chunk(corpus, opts.chunk)?;
        if chunk.is_empty() {
            break;
        }
        let texts: Vec<&str> = chunk.iter().map(|d| d.text.as_str()).collect();
        let toks = enc.tokenize_plain(&texts)?;
        let mut per_doc: Vec<Vec<WordVec>> = Vec::new();
        per_doc.resize_with(chunk.len(), Vec::new);
        let each = &mut |i: usize, e: Encoded| {
            let hidden = e.hidden.unwrap_or_default();
            per_doc[i] = word_vectors_at(&toks[i], &hidden, dim, texts[i], enc.lowercase);
        };
        run_chunk(enc, &toks, opts, true, cancel, each, &mut |n| {
            docs += n;
            progress(&clock.progress(docs, corpus));
        })?;
        // Aggregate in input order (deterministic).
        for (d, words) in chunk.iter().zip(per_doc) {
            for (i, v) in d.meta.iter().enumerate().take(n_cols) {
                if seen[i].len() <= MAX_COLUMN_VALUES && !seen[i].contains(v) {
                    seen[i].insert(v.clone());
                }
            }
            for WordVec { key, vector, span } in words {
                let a = acc.entry(key).or_insert_with(|| WordAcc {
                    sum: vec![0.0; dim],
                    count: 0,
                    samples: Vec::new(),
                    values: vec![HashMap::new(); n_cols],
                });
                for (s, &x) in a.sum.iter_mut().zip(&vector) {
                    *s += f64::from(x);
                }
                a.count += 1;
                for (counts, v) in a.values.iter_mut().zip(&d.meta) {
                    let v = if counts.len() < VALUES_PER_WORD || counts.contains_key(v) {
                        v.as_str()
                    } else {
                        OTHER_VALUE
                    };
                    match counts.get_mut(v) {
                        Some(c) => *c += 1,
                        None => {
                            counts.insert(v.to_string(), 1);
                        }
                    }
                }
                let slot = if a.samples.len() < opts.samples_per_word {
                    Some(a.samples.len())
                } else {
                    // Reservoir sampling: every occurrence is kept with equal probability.
                    let r = (mix(a.count, d.index) % a.count) as usize;
                    (r < opts.samples_per_word).then_some(r)
                };
                if let Some(k) = slot {
                    let (ctx, at) = context(&d.text, span);
                    let sample = (vector, d.index, d.line, ctx, at);
                    if k == a.samples.len() {
                        a.samples.push(sample);
                    } else {
                        a.samples[k] = sample;
                    }
                }
            }
        }
    }
    let mut words: Vec<(String, WordAcc)> = acc.into_iter().collect();
    words.sort_by(|a, b| b.1.count.cmp(&a.1.count).then(a.0.cmp(&b.0)));
    let n = words.len();
    let mut data = Vec::with_capacity(n * dim);
    let mut counts = Vec::with_capacity(n);
    let mut occ_data = Vec::new();
    let (mut occ_tok, mut occ_word, mut occ_doc, mut occ_line, mut occ_ctx, mut occ_at) = (
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
        Vec::new(),
    );
    for (w, a) in &words {
        data.extend(a.sum.iter().map(|&s| (s / a.count as f64) as f32));
        counts.push(a.count);
        for (k, (v, doc, line, ctx, at)) in a.samples.iter().enumerate() {
            occ_data.extend_from_slice(v);
            occ_tok.push(format!("{w}#{}", k + 1));
            occ_word.push(w.clone());
            occ_doc.push(doc.to_string());
            occ_line.push(line.to_string());
            occ_ctx.push(ctx.clone());
            occ_at.push(format!("{}:{}", at.0, at.1));
        }
    }
    let bad = |e: crate::core::CoreError| EngineError::Output(e.to_string());
    let mut vocab = Vocab::from_unique(words.iter().map(|w| w.0.as_str()))
        .map_err(|(i, t)| EngineError::Output(format!("duplicate word {t} at {i}")))?;
    vocab.set_counts(Some(counts)).map_err(bad)?;
    if n == 0 {
        return Err(EngineError::Output(
            "the corpus has no words to encode".into(),
        ));
    }
    // The count also as a metadata column, so every output format carries it.
    let mut tmeta = Metadata::new();
    let count_col = words.iter().map(|w| w.1.count.to_string()).collect();
    tmeta
        .push(
            MetaColumn {
                name: "count".into(),
                values: count_col,
            },
            n,
        )
        .map_err(bad)?;
    for (i, name) in col_names.iter().enumerate() {
        if seen[i].len() > MAX_COLUMN_VALUES || name == "count" {
            continue;
        }
        let (top, listed): (Vec<String>, Vec<String>) = words
            .iter()
            .map(|(_, a)| value_summary(&a.values[i]))
            .unzip();
        for (name, values) in [(name.clone(), top), (format!("{name}_values"), listed)] {
            tmeta.push(MetaColumn { name, values }, n).map_err(bad)?;
        }
    }
    let types = EmbeddingSet::new(
        vocab,
        Matrix::from_vec(n, dim, data).map_err(bad)?,
        tmeta,
        Provenance::default(),
    )
    .map_err(bad)?;
    let m = occ_tok.len();
    let mut meta = Metadata::new();
    for (name, values) in [
        ("word", occ_word),
        ("doc", occ_doc),
        ("line", occ_line),
        ("context", occ_ctx),
        ("at", occ_at),
    ] {
        meta.push(
            MetaColumn {
                name: name.into(),
                values,
            },
            m,
        )
        .map_err(bad)?;
    }
    let ovocab = Vocab::from_unique(occ_tok)
        .map_err(|(i, t)| EngineError::Output(format!("duplicate occurrence {t} at {i}")))?;
    let occurrences = EmbeddingSet::new(
        ovocab,
        Matrix::from_vec(m, dim, occ_data).map_err(bad)?,
        meta,
        Provenance::default(),
    )
    .map_err(bad)?;
    Ok((WordOutput { types, occurrences }, docs))
}

/// The memory an encoding run needs (`analysis::memory::encode`): the model's weights (the
/// size of `model.safetensors`), one batch of `opts.max_tokens` padded tokens per worker, and the
/// output rows, taken as one per 32 bytes of the corpus (`corpus_bytes`) at most.
pub fn memory_estimate(
    enc: &Encoder,
    opts: &EncodeOptions,
    workers: usize,
    corpus_bytes: u64,
) -> crate::analysis::memory::Estimate {
    let weights = std::fs::metadata(enc.dir.join("model.safetensors")).map_or(0, |m| m.len());
    let rows = usize::try_from(corpus_bytes / 32).unwrap_or(usize::MAX);
    crate::analysis::memory::encode(
        weights,
        enc.config.hidden_size,
        enc.config.num_attention_heads,
        opts.max_tokens,
        enc.max_len,
        workers,
        rows,
        enc.config.hidden_size,
    )
}

/// [`memory_estimate`] before the model folder `dir` is loaded (a job's check before it
/// starts): `config.json` and the sentence-transformers maximum length are read (small files),
/// the weights are counted by their file's size; a batch is taken at its largest,
/// `batch_size` documents of the maximum length (the token budget only lowers it). `None` when
/// the folder's config cannot be read (loading it then fails with the reason).
pub fn folder_memory_estimate(
    dir: &std::path::Path,
    batch_size: usize,
    workers: usize,
    rows: usize,
) -> Option<crate::analysis::memory::Estimate> {
    let cfg = BertConfig::read(dir).ok()?;
    let pipeline = crate::model::pipeline::Pipeline::read(dir).ok()?;
    let max_len = pipeline
        .max_seq_length
        .unwrap_or(cfg.max_tokens())
        .min(cfg.max_tokens());
    let weights = std::fs::metadata(dir.join("model.safetensors")).map_or(0, |m| m.len());
    Some(crate::analysis::memory::encode(
        weights,
        cfg.hidden_size,
        cfg.num_attention_heads,
        batch_size.max(1).saturating_mul(max_len.max(1)),
        max_len,
        workers,
        rows,
        cfg.hidden_size,
    ))
}

/// CPU workers of a backend (one batch each), as [`options_for`] counts them.
pub fn workers_for(backend: &super::device::BackendInfo) -> usize {
    if backend.kind == super::device::BackendKind::Cpu {
        rayon::current_num_threads()
    } else {
        1
    }
}
