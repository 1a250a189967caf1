//! Corpora: plain text (one document per line, or paragraphs separated by blank lines),
//! CSV/TSV with a text column, JSONL with a text field, Parquet with a text column. Read as a
//! stream (a 1 GB corpus is never held in memory); other columns/fields become metadata.
//! Lines that are not UTF-8 are decoded lossily and counted; empty documents are skipped and
//! counted; overlong documents are cut (at a character boundary) and counted.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::error::{FormatError, Location, snippet};

/// Longest document kept (bytes); far beyond any model's token limit.
pub const MAX_DOC_BYTES: usize = 256 << 10;
/// Longest physical line read before it is cut.
const MAX_LINE_BYTES: usize = 64 << 20;

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
}

/// One document: its position, text and metadata values (aligned with `Corpus::meta_names`).
#[derive(Debug, Clone, PartialEq)]
pub struct Doc {
    /// 0-based document number.
    pub index: u64,
    /// 1-based line (text, CSV, JSONL) or row (Parquet) where it starts.
    pub line: u64,
    pub text: String,
    pub meta: Vec<String>,
}

/// What was skipped or altered while reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CorpusStats {
    pub documents: u64,
    pub empty_skipped: u64,
    pub invalid_utf8: u64,
    pub truncated: u64,
    pub bad_records: u64,
    /// The first few bad records: (line, what was wrong).
    pub examples: Vec<(u64, String)>,
}

impl CorpusStats {
    fn bad(&mut self, line: u64, msg: String) {
        self.bad_records += 1;
        if self.examples.len() < 20 {
            self.examples.push((line, msg));
        }
    }
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
        r: csv::Reader<File>,
        text_col: usize,
        meta_cols: Vec<usize>,
    },
    Jsonl {
        r: BufReader<File>,
        field: String,
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
    stats: CorpusStats,
    line: u64,
    next_index: u64,
    total_bytes: u64,
    /// Rows (Parquet) or bytes (others) consumed, for progress.
    done: u64,
    total: u64,
    buf: Vec<u8>,
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
                let mut r = csv::ReaderBuilder::new()
                    .delimiter(if format == CorpusFormat::Tsv {
                        b'\t'
                    } else {
                        b','
                    })
                    .flexible(true)
                    .from_reader(open()?);
                let headers: Vec<String> = r
                    .byte_headers()
                    .map_err(|e| {
                        FormatError::invalid(
                            path,
                            Location::Line { line: 1, byte: 0 },
                            format!("cannot read the header row: {e}"),
                        )
                    })?
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
            CorpusFormat::Jsonl => (
                Source::Jsonl {
                    r: BufReader::with_capacity(1 << 20, open()?),
                    field: opts.text_field.clone().unwrap_or_default(),
                },
                vec![],
                total_bytes,
            ),
            CorpusFormat::Parquet => {
                let builder =
                    parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(open()?)
                        .map_err(|e| {
                            FormatError::invalid(
                                path,
                                Location::None,
                                format!("not a readable Parquet file: {e}"),
                            )
                        })?;
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
        Ok(Corpus {
            path: path.to_path_buf(),
            source,
            meta_names,
            stats: CorpusStats::default(),
            line: 0,
            next_index: 0,
            total_bytes,
            done: 0,
            total,
            buf: Vec::new(),
        })
    }

    pub fn meta_names(&self) -> &[String] {
        &self.meta_names
    }

    pub fn stats(&self) -> &CorpusStats {
        &self.stats
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
        self.buf.clear();
        let n = r
            .by_ref()
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| FormatError::io(&self.path, e))?;
        if n == 0 {
            return Ok(false);
        }
        self.done += n as u64;
        self.line += 1;
        if self.buf.last() == Some(&b'\n') {
            self.buf.pop();
        } else if n >= MAX_LINE_BYTES {
            // Skip the rest of an enormous line.
            let mut rest = Vec::new();
            let more = r
                .read_until(b'\n', &mut rest)
                .map_err(|e| FormatError::io(&self.path, e))?;
            self.done += more as u64;
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

    fn emit(&mut self, line: u64, mut text: String, meta: Vec<String>) -> Option<Doc> {
        if text.trim().is_empty() {
            self.stats.empty_skipped += 1;
            return None;
        }
        if cut(&mut text, MAX_DOC_BYTES) {
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
                    if let Some(d) = self.emit(self.line, t, Vec::new()) {
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
                        if para.len() < MAX_DOC_BYTES * 2 {
                            para.push_str(t.trim());
                        }
                    }
                    if para.is_empty() {
                        return Ok(None);
                    }
                    if let Some(d) = self.emit(start, para, Vec::new()) {
                        return Ok(Some(d));
                    }
                }
                Source::Jsonl { .. } => {
                    if !self.read_line()? {
                        return Ok(None);
                    }
                    let raw = self.decode();
                    if raw.trim().is_empty() {
                        self.stats.empty_skipped += 1;
                        continue;
                    }
                    let line = self.line;
                    let v: serde_json::Value = match serde_json::from_str(&raw) {
                        Ok(v) => v,
                        Err(e) => {
                            self.stats.bad(line, format!("not JSON: {e}"));
                            continue;
                        }
                    };
                    let Some(obj) = v.as_object() else {
                        self.stats.bad(line, "not a JSON object".into());
                        continue;
                    };
                    let Source::Jsonl { field, .. } = &mut self.source else {
                        unreachable!()
                    };
                    if field.is_empty() {
                        let keys: Vec<String> = obj.keys().cloned().collect();
                        match pick(&keys, None, &self.path, "field") {
                            Ok(i) => *field = keys[i].clone(),
                            Err(e) => {
                                return Err(FormatError::new(
                                    &self.path,
                                    Location::Line { line, byte: 0 },
                                    e.kind,
                                ));
                            }
                        }
                    }
                    let field = field.clone();
                    if self.meta_names.is_empty() {
                        self.meta_names = obj
                            .iter()
                            .filter(|(k, v)| **k != field && !v.is_object() && !v.is_array())
                            .map(|(k, _)| k.clone())
                            .collect();
                    }
                    let text = match obj.get(&field) {
                        Some(serde_json::Value::String(s)) => s.clone(),
                        Some(serde_json::Value::Null) | None => {
                            self.stats.bad(line, format!("no \"{field}\" string"));
                            continue;
                        }
                        Some(other) => {
                            self.stats.bad(
                                line,
                                format!(
                                    "\"{field}\" is {}, not a string",
                                    snippet(other.to_string().as_bytes())
                                ),
                            );
                            continue;
                        }
                    };
                    let meta = self
                        .meta_names
                        .iter()
                        .map(|k| match obj.get(k) {
                            Some(serde_json::Value::String(s)) => s.clone(),
                            Some(serde_json::Value::Null) | None => String::new(),
                            Some(v) => v.to_string(),
                        })
                        .collect();
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
                            let line = e.position().map_or(0, |p| p.line());
                            return Err(FormatError::invalid(
                                &self.path,
                                Location::Line { line, byte: 0 },
                                format!("cannot read CSV: {e}"),
                            ));
                        }
                    };
                    if !ok {
                        return Ok(None);
                    }
                    let line = rec.position().map_or(0, |p| p.line());
                    self.done = rec.position().map_or(self.done, |p| p.byte());
                    let (tc, mc) = (*text_col, meta_cols.clone());
                    let Some(raw) = rec.get(tc) else {
                        self.stats.bad(
                            line,
                            format!(
                                "the row has {} fields, the text column is number {}",
                                rec.len(),
                                tc + 1
                            ),
                        );
                        continue;
                    };
                    self.buf.clear();
                    self.buf.extend_from_slice(raw);
                    let text = self.decode();
                    let meta = mc
                        .iter()
                        .map(|&c| {
                            rec.get(c)
                                .map(|b| String::from_utf8_lossy(b).into_owned())
                                .unwrap_or_default()
                        })
                        .collect();
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
                        if null {
                            self.stats.bad(self.line, "null text".into());
                            continue;
                        }
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

impl Iterator for Corpus {
    type Item = Result<Doc, FormatError>;
    fn next(&mut self) -> Option<Self::Item> {
        self.next_doc().transpose()
    }
}

#[cfg(test)]
mod tests;
