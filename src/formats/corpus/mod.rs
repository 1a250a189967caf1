//! Corpora: plain text (one document per line, or paragraphs separated by blank lines),
//! CSV/TSV with a text column, JSONL with a text field, Parquet with a text column. Read as a
//! stream (a 1 GB corpus is never held in memory); other columns/fields become metadata.
//! Lines that are not UTF-8 are decoded lossily and counted; overlong documents are cut (at a
//! character boundary) and counted.
//!
//! One record, one document, in order: a CSV/TSV/JSONL/Parquet record whose text is empty is a
//! document with the empty text, and a bad record (JSONL: not JSON, not an object, the text
//! field missing, null or not a string; CSV: a row too short for the text column; Parquet: a
//! null text) is a document with the empty text too, counted and listed in [`CorpusStats`], so
//! document `i` is always record `i`. With skipping on ([`CorpusOptions::skip_empty`]) both are
//! left out instead, their record numbers are not reused, and they are listed. Plain text skips by
//! default: its blank lines separate documents and are not records.

use std::collections::VecDeque;
use std::fs::File;
use std::io::BufReader;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::{FormatError, Location};

mod csv_guard;
mod jsonl;
mod shard;
mod stats;

use csv_guard::Guard;
pub use csv_guard::MAX_RECORD_BYTES;
use jsonl::{jsonl_fields, jsonl_record};
pub use shard::Shard;
pub use stats::{CorpusStats, SKIPPED_LISTED, SkippedRecord};

/// Longest document kept (bytes) unless the options say otherwise; far beyond any model's
/// token limit. Longer ones are cut at a character boundary and counted (`truncated`).
pub const MAX_DOC_BYTES: usize = 256 << 10;
/// Longest physical line kept; the rest of a longer one is skipped as a stream.
use super::bounded::{MAX_LINE_BYTES, read_line_bounded};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CorpusFormat {
    /// One document per line.
    Lines,
    /// Documents separated by blank lines.
    Paragraphs,
    Csv,
    Tsv,
    Jsonl,
    Parquet,
}

impl CorpusFormat {
    pub const ALL: [CorpusFormat; 6] = [
        Self::Lines,
        Self::Paragraphs,
        Self::Csv,
        Self::Tsv,
        Self::Jsonl,
        Self::Parquet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Self::Lines => "lines",
            Self::Paragraphs => "paragraphs",
            Self::Csv => "csv",
            Self::Tsv => "tsv",
            Self::Jsonl => "jsonl",
            Self::Parquet => "parquet",
        }
    }

    /// From the file extension (text files default to one document per line).
    pub fn from_path(p: &Path) -> Self {
        match p
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("csv") => Self::Csv,
            Some("tsv") | Some("tab") => Self::Tsv,
            Some("jsonl") | Some("ndjson") | Some("json") => Self::Jsonl,
            Some("parquet") | Some("pq") => Self::Parquet,
            _ => Self::Lines,
        }
    }

    /// Whether empty documents are skipped unless told otherwise: only in plain text, where
    /// blank lines separate documents. Record formats keep every record.
    pub fn skips_empty_by_default(self) -> bool {
        matches!(self, Self::Lines | Self::Paragraphs)
    }
}

impl std::fmt::Display for CorpusFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for CorpusFormat {
    type Err = String;

    /// A layout's name or alias (`txt`, `text`, `ndjson`, `json`), in any case.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "lines" | "txt" | "text" => Self::Lines,
            "paragraphs" => Self::Paragraphs,
            "csv" => Self::Csv,
            "tsv" => Self::Tsv,
            "jsonl" | "ndjson" | "json" => Self::Jsonl,
            "parquet" => Self::Parquet,
            _ => {
                return Err(format!(
                    "unknown corpus format '{s}'; expected one of: {}",
                    Self::ALL.map(Self::name).join(", ")
                ));
            }
        })
    }
}

#[derive(Debug, Clone, Default)]
pub struct CorpusOptions {
    pub format: Option<CorpusFormat>,
    /// CSV/TSV/Parquet text column, JSONL field (default: text, sentence, document, content).
    pub text_field: Option<String>,
    /// Leave out records whose text is empty (or only white space) and bad records, instead of
    /// reading them as documents with the empty text. `None`: the format's default
    /// ([`CorpusFormat::skips_empty_by_default`]).
    pub skip_empty: Option<bool>,
    /// Read only this shard's records ([`Shard`]); the others are passed over, their record
    /// numbers kept.
    pub shard: Option<Shard>,
    /// Longest text kept per document, in bytes (None: [`MAX_DOC_BYTES`]); longer texts are
    /// cut at a character boundary and counted.
    pub max_doc_bytes: Option<usize>,
}

/// One document: its position, text and metadata values (aligned with `Corpus::meta_names`).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// 0-based record number (a skipped record's number is not reused; the blank lines that
    /// separate plain-text documents are not records).
    pub index: u64,
    /// 1-based line (text, CSV, JSONL) or row (Parquet) where it starts.
    pub line: u64,
    pub text: String,
    pub meta: Vec<String>,
}

/// Cuts `s` to at most `max` bytes at a character boundary; true if it was cut.
fn cut(s: &mut String, max: usize) -> bool {
    if s.len() <= max {
        return false;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.truncate(end);
    true
}

enum Source {
    Text {
        r: BufReader<File>,
        paragraphs: bool,
    },
    Csv {
        r: csv::Reader<Guard<File>>,
        text_col: usize,
        meta_cols: Vec<usize>,
    },
    Jsonl {
        r: BufReader<File>,
    },
    Parquet {
        batches: parquet::arrow::arrow_reader::ParquetRecordBatchReader,
        text_col: usize,
        meta_cols: Vec<usize>,
        queue: VecDeque<(String, Vec<String>, bool)>,
    },
}

/// A streaming corpus reader.
pub struct Corpus {
    path: PathBuf,
    source: Source,
    meta_names: Vec<String>,
    /// The JSONL field holding the text.
    field: String,
    stats: CorpusStats,
    /// Plain text: blank lines separate documents rather than being records.
    plain: bool,
    skip_empty: bool,
    shard: Option<Shard>,
    /// Longest text kept per document (bytes).
    max_doc: usize,
    line: u64,
    next_index: u64,
    total_bytes: u64,
    /// Rows (Parquet) or bytes (others) consumed, for progress.
    done: u64,
    total: u64,
    buf: Vec<u8>,
    /// The line in `buf` was longer than [`MAX_LINE_BYTES`]: its rest was skipped.
    overlong: bool,
}

const TEXT_NAMES: [&str; 5] = ["text", "sentence", "document", "content", "body"];

fn pick(
    names: &[String],
    wanted: Option<&str>,
    path: &Path,
    what: &str,
) -> Result<usize, FormatError> {
    if let Some(w) = wanted {
        return names.iter().position(|n| n == w).ok_or_else(|| {
            FormatError::invalid(
                path,
                Location::None,
                format!("no {what} '{w}'; the {what}s are: {}", names.join(", ")),
            )
        });
    }
    for t in TEXT_NAMES {
        if let Some(i) = names.iter().position(|n| n.eq_ignore_ascii_case(t)) {
            return Ok(i);
        }
    }
    Err(FormatError::invalid(
        path,
        Location::None,
        format!(
            "no text {what} found (looked for {}); the {what}s are: {}: name one with --text-column/--field",
            TEXT_NAMES.join(", "),
            names.join(", ")
        ),
    ))
}

impl Corpus {
    pub fn open(path: &Path, opts: &CorpusOptions) -> Result<Corpus, FormatError> {
        let meta = std::fs::metadata(path).map_err(|e| FormatError::io(path, e))?;
        if meta.is_dir() {
            return Err(FormatError::new(
                path,
                Location::None,
                super::ErrorKind::IsDirectory,
            ));
        }
        let total_bytes = meta.len();
        let open = || File::open(path).map_err(|e| FormatError::io(path, e));
        let format = opts.format.unwrap_or_else(|| CorpusFormat::from_path(path));
        // Plain text and CSV/TSV are read once, front to back: a pipe (`<(zcat x.gz)`) works.
        // JSONL is opened twice (its fields from the first object, then the records) and
        // Parquet seeks: both need a regular file, refused before opening (a FIFO without a
        // writer would block the second open).
        if matches!(format, CorpusFormat::Jsonl | CorpusFormat::Parquet) {
            super::error::require_regular(path, &meta, false)?;
        }
        let mut field = String::new();
        let (source, meta_names, total) = match format {
            CorpusFormat::Lines | CorpusFormat::Paragraphs => (
                Source::Text {
                    r: BufReader::with_capacity(1 << 20, open()?),
                    paragraphs: format == CorpusFormat::Paragraphs,
                },
                vec![],
                total_bytes,
            ),
            CorpusFormat::Csv | CorpusFormat::Tsv => {
                let delimiter = if format == CorpusFormat::Tsv {
                    b'\t'
                } else {
                    b','
                };
                let mut r = csv::ReaderBuilder::new()
                    .delimiter(delimiter)
                    .flexible(true)
                    .from_reader(Guard::new(open()?, delimiter));
                let headers: Vec<String> = match r.byte_headers() {
                    Ok(h) => h,
                    Err(e) => {
                        return Err(csv_error(path, r.get_ref(), &e, "the header row"));
                    }
                }
                .iter()
                .map(|h| String::from_utf8_lossy(h).trim().to_string())
                .collect();
                if headers.is_empty() || headers.iter().all(String::is_empty) {
                    return Err(FormatError::new(
                        path,
                        Location::None,
                        super::ErrorKind::Empty,
                    ));
                }
                let text_col = pick(&headers, opts.text_field.as_deref(), path, "column")?;
                let meta_cols: Vec<usize> = (0..headers.len()).filter(|&c| c != text_col).collect();
                let names = meta_cols.iter().map(|&c| headers[c].clone()).collect();
                (
                    Source::Csv {
                        r,
                        text_col,
                        meta_cols,
                    },
                    names,
                    total_bytes,
                )
            }
            CorpusFormat::Jsonl => {
                let (f, names) = jsonl_fields(path, opts.text_field.as_deref())?;
                field = f;
                (
                    Source::Jsonl {
                        r: BufReader::with_capacity(1 << 20, open()?),
                    },
                    names,
                    total_bytes,
                )
            }
            CorpusFormat::Parquet => {
                super::table::check_parquet_structure(path)?;
                let builder =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(open()?)
                        .map_err(|e| {
                            FormatError::invalid(
                                path,
                                Location::None,
                                format!("not a readable Parquet file: {e}"),
                            )
                        })?;
                super::table::check_inflation(path, builder.metadata(), None)?;
                let rows = builder.metadata().file_metadata().num_rows().max(0) as u64;
                let schema = builder.schema().clone();
                let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
                let text_col = pick(&names, opts.text_field.as_deref(), path, "column")?;
                if !super::table::string_type(schema.field(text_col).data_type()) {
                    return Err(FormatError::invalid(
                        path,
                        Location::None,
                        format!(
                            "column '{}' holds {}, not text",
                            names[text_col],
                            schema.field(text_col).data_type()
                        ),
                    ));
                }
                let meta_cols: Vec<usize> = (0..names.len())
                    .filter(|&c| {
                        c != text_col && super::table::simple_type(schema.field(c).data_type())
                    })
                    .collect();
                let meta_names = meta_cols.iter().map(|&c| names[c].clone()).collect();
                let batches = builder.with_batch_size(4096).build().map_err(|e| {
                    FormatError::invalid(path, Location::None, format!("cannot read Parquet: {e}"))
                })?;
                (
                    Source::Parquet {
                        batches,
                        text_col,
                        meta_cols,
                        queue: VecDeque::new(),
                    },
                    meta_names,
                    rows,
                )
            }
        };
        let skip_empty = opts
            .skip_empty
            .unwrap_or_else(|| format.skips_empty_by_default());
        let max_doc = opts.max_doc_bytes.unwrap_or(MAX_DOC_BYTES).max(1);
        Ok(Corpus {
            path: path.to_path_buf(),
            source,
            meta_names,
            field,
            stats: CorpusStats {
                skip_empty,
                shard: opts.shard,
                max_doc_bytes: max_doc,
                ..CorpusStats::default()
            },
            plain: matches!(format, CorpusFormat::Lines | CorpusFormat::Paragraphs),
            skip_empty,
            shard: opts.shard,
            max_doc,
            line: 0,
            next_index: 0,
            total_bytes,
            done: 0,
            total,
            buf: Vec::new(),
            overlong: false,
        })
    }

    pub fn meta_names(&self) -> &[String] {
        &self.meta_names
    }

    pub fn stats(&self) -> &CorpusStats {
        &self.stats
    }

    /// Whether empty and bad records are left out (the option, or the format's default).
    pub fn skips_empty(&self) -> bool {
        self.skip_empty
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// (done, total) in bytes, or rows for Parquet.
    pub fn progress(&self) -> (u64, u64) {
        (self.done, self.total)
    }

    pub fn file_size(&self) -> u64 {
        self.total_bytes
    }

    /// Reads one physical line into `self.buf` (without the newline); false at the end.
    fn read_line(&mut self) -> Result<bool, FormatError> {
        let (Source::Text { r, .. } | Source::Jsonl { r, .. }) = &mut self.source else {
            return Ok(false);
        };
        let l = read_line_bounded(r, &mut self.buf, MAX_LINE_BYTES)
            .map_err(|e| FormatError::io(&self.path, e))?;
        if l.consumed == 0 {
            return Ok(false);
        }
        self.done += l.consumed;
        self.line += 1;
        self.overlong = l.overlong;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Ok(true)
    }

    fn decode(&mut self) -> String {
        match std::str::from_utf8(&self.buf) {
            Ok(s) => s.to_string(),
            Err(_) => {
                self.stats.invalid_utf8 += 1;
                String::from_utf8_lossy(&self.buf).into_owned()
            }
        }
    }

    /// The document of one record starting at `line`: its text, or why it has none (a bad
    /// record). `None` when the record is left out.
    fn emit(&mut self, line: u64, text: Result<String, String>, meta: Vec<String>) -> Option<Doc> {
        if let Some(shard) = self.shard
            && !shard.owns(self.next_index)
        {
            // Plain text's blank lines are not records: they take no record number.
            let blank = text.as_ref().is_ok_and(|t| t.trim().is_empty());
            if !(self.plain && self.skip_empty && blank) {
                self.stats.other_shards += 1;
                self.next_index += 1;
            }
            return None;
        }
        let (mut text, bad) = match text {
            Ok(t) => (t, false),
            Err(why) => {
                self.stats.bad(line, why);
                (String::new(), true)
            }
        };
        let empty = text.trim().is_empty();
        if empty && self.skip_empty {
            if self.plain {
                // A blank line between documents: not a record.
                self.stats.empty_skipped += 1;
                return None;
            }
            if !bad {
                self.stats.empty_skipped += 1;
            }
            self.stats.records += 1;
            self.stats.records_skipped += 1;
            if self.stats.skipped.len() < SKIPPED_LISTED {
                self.stats.skipped.push(SkippedRecord {
                    index: self.next_index,
                    line,
                });
            }
            self.next_index += 1;
            return None;
        }
        if empty && !bad {
            self.stats.empty_kept += 1;
        }
        self.stats.records += 1;
        // A line cut at MAX_LINE_BYTES lost its rest even when the document cap is larger.
        if cut(&mut text, self.max_doc) || (self.plain && std::mem::take(&mut self.overlong)) {
            self.stats.truncated += 1;
        }
        let d = Doc {
            index: self.next_index,
            line,
            text,
            meta,
        };
        self.next_index += 1;
        self.stats.documents += 1;
        Some(d)
    }

    fn next_doc(&mut self) -> Result<Option<Doc>, FormatError> {
        loop {
            match &mut self.source {
                Source::Text {
                    paragraphs: false, ..
                } => {
                    if !self.read_line()? {
                        return Ok(None);
                    }
                    let t = self.decode();
                    if let Some(d) = self.emit(self.line, Ok(t), Vec::new()) {
                        return Ok(Some(d));
                    }
                }
                Source::Text {
                    paragraphs: true, ..
                } => {
                    let mut para = String::new();
                    let mut start = 0;
                    loop {
                        if !self.read_line()? {
                            break;
                        }
                        let t = self.decode();
                        if t.trim().is_empty() {
                            if para.is_empty() {
                                continue;
                            }
                            break;
                        }
                        if para.is_empty() {
                            start = self.line;
                        } else {
                            para.push(' ');
                        }
                        if para.len() < self.max_doc.saturating_mul(2) {
                            para.push_str(t.trim());
                        }
                    }
                    if para.is_empty() {
                        return Ok(None);
                    }
                    if let Some(d) = self.emit(start, Ok(para), Vec::new()) {
                        return Ok(Some(d));
                    }
                }
                Source::Jsonl { .. } => {
                    if !self.read_line()? {
                        return Ok(None);
                    }
                    let raw = self.decode();
                    if raw.trim().is_empty() {
                        self.stats.blank_lines += 1;
                        continue;
                    }
                    let line = self.line;
                    if std::mem::take(&mut self.overlong) {
                        let why = format!(
                            "the line is longer than {} MiB (its rest was skipped): not one JSON record",
                            MAX_LINE_BYTES >> 20
                        );
                        let meta = vec![String::new(); self.meta_names.len()];
                        if let Some(d) = self.emit(line, Err(why), meta) {
                            return Ok(Some(d));
                        }
                        continue;
                    }
                    let (text, meta) = jsonl_record(&raw, &self.field, &self.meta_names);
                    if let Some(d) = self.emit(line, text, meta) {
                        return Ok(Some(d));
                    }
                }
                Source::Csv {
                    r,
                    text_col,
                    meta_cols,
                } => {
                    let mut rec = csv::ByteRecord::new();
                    let ok = match r.read_byte_record(&mut rec) {
                        Ok(ok) => ok,
                        Err(e) => {
                            return Err(csv_error(&self.path, r.get_ref(), &e, "a record"));
                        }
                    };
                    if !ok {
                        return Ok(None);
                    }
                    let line = rec.position().map_or(0, |p| p.line());
                    let start = rec.position().map_or(self.done, |p| p.byte());
                    self.done = start;
                    // A quote never closed swallows the rest of the file into this record's
                    // field: the record is bad (counted, listed with its line), not a document.
                    if let Some(q) = r.get_ref().unterminated
                        && q.byte >= start
                        && q.byte < r.position().byte()
                    {
                        let lines = r.position().line().saturating_sub(q.line);
                        let why = format!(
                            "a quote opened on line {} is never closed: the rest of the file ({lines} more lines) would be one field; the record was not read",
                            q.line
                        );
                        let meta = vec![String::new(); meta_cols.len()];
                        if let Some(d) = self.emit(line, Err(why), meta) {
                            return Ok(Some(d));
                        }
                        continue;
                    }
                    let tc = *text_col;
                    let meta = meta_cols
                        .iter()
                        .map(|&c| {
                            rec.get(c)
                                .map(|b| String::from_utf8_lossy(b).into_owned())
                                .unwrap_or_default()
                        })
                        .collect();
                    let text = match rec.get(tc) {
                        Some(raw) => {
                            self.buf.clear();
                            self.buf.extend_from_slice(raw);
                            Ok(self.decode())
                        }
                        None => Err(format!(
                            "the row has {} fields, the text column is number {}",
                            rec.len(),
                            tc + 1
                        )),
                    };
                    if let Some(d) = self.emit(line, text, meta) {
                        return Ok(Some(d));
                    }
                }
                Source::Parquet {
                    batches,
                    text_col,
                    meta_cols,
                    queue,
                } => {
                    if let Some((text, meta, null)) = queue.pop_front() {
                        self.line += 1;
                        self.done += 1;
                        let text = if null {
                            Err("null text".to_string())
                        } else {
                            Ok(text)
                        };
                        let line = self.line;
                        if let Some(d) = self.emit(line, text, meta) {
                            return Ok(Some(d));
                        }
                        continue;
                    }
                    let Some(batch) = batches.next() else {
                        return Ok(None);
                    };
                    let batch = batch.map_err(|e| {
                        FormatError::invalid(
                            &self.path,
                            Location::Row(self.line),
                            format!("cannot read Parquet: {e}"),
                        )
                    })?;
                    let tcol = batch.column(*text_col);
                    for i in 0..batch.num_rows() {
                        let text = super::table::cell_string(tcol.as_ref(), i);
                        let meta = meta_cols
                            .iter()
                            .map(|&c| {
                                super::table::cell_string(batch.column(c).as_ref(), i)
                                    .unwrap_or_default()
                            })
                            .collect();
                        let null = text.is_none();
                        queue.push_back((text.unwrap_or_default(), meta, null));
                    }
                }
            }
        }
    }
}

/// The error of a CSV/TSV read that failed: a record over [`MAX_RECORD_BYTES`] is named by
/// the line it started on; anything else by the decoder's position.
fn csv_error(path: &Path, guard: &Guard<File>, e: &csv::Error, what: &str) -> FormatError {
    if let Some((at, msg)) = guard.overlong_message() {
        return FormatError::too_large(
            path,
            Location::Line {
                line: at.line,
                byte: at.byte,
            },
            msg,
        );
    }
    let (line, byte) = e.position().map_or((0, 0), |p| (p.line(), p.byte()));
    FormatError::invalid(
        path,
        Location::Line { line, byte },
        format!("cannot read {what}: {e}"),
    )
}

impl Iterator for Corpus {
    type Item = Result<Doc, FormatError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_doc().transpose()
    }
}

#[cfg(test)]
mod tests;
