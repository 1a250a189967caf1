//! `embedscope scan`: personal data and secrets in corpora, vector files' tokens and metadata
//! and model folders' vocabularies (the detectors of `analysis::privacy`), counted per kind and
//! per file and column, each finding listed with its place and a masked example; never the
//! value itself. `--fail-on-pii`: exit 4 when anything was found.
//!
//! Plain text is streamed in blocks cut at line breaks and scanned in parallel pieces; CSV/TSV
//! and JSONL record by record (every column or string field, by name); Parquet batch by batch
//! (every text and integer column); a vector file is loaded (no cache written) and its tokens
//! and metadata columns scanned; a model folder's `vocab.txt`, `vocab.json` and
//! `tokenizer.json` tokens are scanned.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, anyhow};
use arrow_array::cast::AsArray;
use arrow_array::{Array, types};
use arrow_schema::DataType;
use clap::{Args, ValueEnum};
use embedscope::analysis::privacy::{self, Counts, Finding, Kind};
use serde_json::{Map, Value, json};

use super::{CliError, LoadArgs, print_json, usage};

/// Bytes of plain text read and scanned at a time.
const BLOCK: usize = 16 << 20;
/// Bytes of a block given to one thread.
const PIECE: usize = 1 << 20;
/// A line longer than this is scanned in parts (a finding across a cut can be missed).
const LONGEST_LINE: usize = 64 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AsArg {
    /// From the name and content: CSV/TSV/JSONL/Parquet by extension, vector files by content,
    /// other files as plain text, folders as model folders.
    Auto,
    /// A corpus (plain text unless the extension says CSV, TSV, JSONL or Parquet).
    Corpus,
    /// A vector file (its tokens and metadata columns).
    Vectors,
}

#[derive(Args, Debug)]
pub struct ScanArgs {
    /// Corpora (text, CSV, TSV, JSONL, Parquet), vector files or model folders.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
    /// Exit with code 4 when anything was found (after printing the report).
    #[arg(long)]
    pub fail_on_pii: bool,
    /// Findings listed (the counts are always complete).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    pub max_findings: usize,
    /// Masked examples per kind in the human report.
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub examples: usize,
    /// How to read the files.
    #[arg(long = "as", value_enum, default_value_t = AsArg::Auto, ignore_case = true)]
    pub read_as: AsArg,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

/// What a file was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum What {
    Text,
    Csv,
    Tsv,
    Jsonl,
    Parquet,
    Vectors,
    Model,
}

impl What {
    fn name(self) -> &'static str {
        match self {
            What::Text => "text",
            What::Csv => "csv",
            What::Tsv => "tsv",
            What::Jsonl => "jsonl",
            What::Parquet => "parquet",
            What::Vectors => "vectors",
            What::Model => "model",
        }
    }
}

struct FileReport {
    file: String,
    what: What,
    bytes: u64,
    counts: Counts,
    /// Counts per column, in the order columns were first seen with a finding.
    columns: Vec<(String, Counts)>,
    notes: Vec<String>,
}

/// One listed finding (masked).
struct Listed {
    kind: Kind,
    file: String,
    line: u64,
    column: Option<String>,
    start: usize,
    end: usize,
    masked: String,
}

struct Acc {
    max: usize,
    counts: Counts,
    listed: Vec<Listed>,
    files: Vec<FileReport>,
}

impl Acc {
    fn file(&mut self) -> &mut FileReport {
        // `scan` pushes a report before reading any file.
        let n = self.files.len();
        &mut self.files[n.saturating_sub(1)]
    }

    /// Records findings in `text` (a line or a cell) at `line` / `column`.
    fn record(&mut self, line: u64, column: Option<&str>, text: &[u8], found: &[Finding]) {
        if found.is_empty() {
            return;
        }
        let max = self.max;
        let mut listed = Vec::new();
        let room = max.saturating_sub(self.listed.len());
        let f = self.file();
        for x in found {
            f.counts.add(x.kind);
            if let Some(c) = column {
                match f.columns.iter_mut().find(|(n, _)| n == c) {
                    Some((_, counts)) => counts.add(x.kind),
                    None => {
                        let mut counts = Counts::default();
                        counts.add(x.kind);
                        f.columns.push((c.to_string(), counts));
                    }
                }
            }
            if listed.len() < room {
                listed.push(Listed {
                    kind: x.kind,
                    file: f.file.clone(),
                    line,
                    column: column.map(str::to_string),
                    start: x.start,
                    end: x.end,
                    masked: x.masked(text),
                });
            }
        }
        for x in found {
            self.counts.add(x.kind);
        }
        self.listed.extend(listed);
    }
}

fn counts_json(c: &Counts) -> Value {
    let mut m = Map::new();
    for k in Kind::ALL {
        m.insert(k.name().to_string(), json!(c.get(k)));
    }
    Value::Object(m)
}

pub fn scan(a: &ScanArgs) -> Result<(), CliError> {
    if a.load.limit == Some(0) {
        return Err(usage("--limit must be at least 1"));
    }
    let t = Instant::now();
    let mut acc = Acc {
        max: a.max_findings,
        counts: Counts::default(),
        listed: Vec::new(),
        files: Vec::new(),
    };
    for path in &a.files {
        let name = path.display().to_string();
        let what = what(path, a.read_as).with_context(|| name.clone())?;
        let bytes = if what == What::Model {
            0
        } else {
            std::fs::metadata(path).map_or(0, |m| m.len())
        };
        acc.files.push(FileReport {
            file: name.clone(),
            what,
            bytes,
            counts: Counts::default(),
            columns: Vec::new(),
            notes: Vec::new(),
        });
        let r = match what {
            What::Text => scan_text(path, &mut acc),
            What::Csv | What::Tsv => scan_csv(path, what == What::Tsv, &mut acc),
            What::Jsonl => scan_jsonl(path, &mut acc),
            What::Parquet => scan_parquet(path, &mut acc),
            What::Vectors => scan_vectors(path, a, &mut acc),
            What::Model => scan_model(path, &mut acc),
        };
        r.with_context(|| name.clone())?;
    }
    let seconds = t.elapsed().as_secs_f64();
    let bytes: u64 = acc.files.iter().map(|f| f.bytes).sum();
    let total = acc.counts.total();
    if a.json {
        let findings: Vec<Value> = acc
            .listed
            .iter()
            .map(|l| {
                json!({
                    "kind": l.kind.name(),
                    "file": l.file,
                    "line": l.line,
                    "column": l.column,
                    "start": l.start,
                    "end": l.end,
                    "masked": l.masked,
                })
            })
            .collect();
        let files: Vec<Value> = acc
            .files
            .iter()
            .map(|f| {
                json!({
                    "file": f.file,
                    "read_as": f.what.name(),
                    "bytes": f.bytes,
                    "counts": counts_json(&f.counts),
                    "columns": f.columns.iter().map(|(c, n)| json!({"column": c, "counts": counts_json(n)})).collect::<Vec<_>>(),
                    "notes": f.notes,
                })
            })
            .collect();
        print_json(&json!({
            "counts": counts_json(&acc.counts),
            "total": total,
            "findings": findings,
            "findings_listed": acc.listed.len(),
            "findings_truncated": (acc.listed.len() as u64) < total,
            "files": files,
            "bytes": bytes,
            "timing_s": {"total": seconds},
            "mb_per_s": if seconds > 0.0 { bytes as f64 / 1e6 / seconds } else { 0.0 },
        }));
    } else {
        print_human(&acc, a.examples, bytes, seconds);
    }
    if a.fail_on_pii && total > 0 {
        return Err(CliError::Pii(format!(
            "{total} finding(s) of personal data or secrets (--fail-on-pii)"
        )));
    }
    Ok(())
}

fn print_human(acc: &Acc, examples: usize, bytes: u64, seconds: f64) {
    println!(
        "scanned {} file(s), {:.1} MB in {:.2} s",
        acc.files.len(),
        bytes as f64 / 1e6,
        seconds
    );
    for f in &acc.files {
        for n in &f.notes {
            eprintln!("note: {}: {n}", f.file);
        }
    }
    if acc.counts.total() == 0 {
        println!("no personal data or secrets found");
        return;
    }
    println!("{:<16} {:>9}  examples (masked)", "kind", "count");
    for k in Kind::ALL {
        let n = acc.counts.get(k);
        if n == 0 {
            continue;
        }
        let ex: Vec<String> = acc
            .listed
            .iter()
            .filter(|l| l.kind == k)
            .take(examples)
            .map(|l| match &l.column {
                Some(c) => format!("{} ({}:{} [{c}])", l.masked, l.file, l.line),
                None => format!("{} ({}:{})", l.masked, l.file, l.line),
            })
            .collect();
        println!("{:<16} {:>9}  {}", k.name(), n, ex.join(", "));
    }
    println!();
    println!("per file and column:");
    let describe = |c: &Counts| {
        Kind::ALL
            .iter()
            .filter(|&&k| c.get(k) > 0)
            .map(|&k| format!("{} {}", k.name(), c.get(k)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    for f in &acc.files {
        if f.counts.total() == 0 {
            println!("  {} ({}): nothing", f.file, f.what.name());
            continue;
        }
        println!("  {} ({}): {}", f.file, f.what.name(), describe(&f.counts));
        for (c, n) in &f.columns {
            println!("    [{c}] {}", describe(n));
        }
    }
}

/// What a path is read as.
fn what(path: &Path, read_as: AsArg) -> anyhow::Result<What> {
    let meta = std::fs::metadata(path).map_err(|e| anyhow!("cannot open: {e}"))?;
    if meta.is_dir() {
        if model_files(path).is_empty() {
            return Err(anyhow!(
                "a folder that is not a model folder (no vocab.txt, vocab.json or tokenizer.json); expected a corpus, a vector file or a model folder"
            ));
        }
        return Ok(What::Model);
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let by_ext = match ext.as_deref() {
        Some("csv") => Some(What::Csv),
        Some("tsv" | "tab") => Some(What::Tsv),
        Some("jsonl" | "ndjson" | "json") => Some(What::Jsonl),
        Some("parquet" | "pq") => Some(What::Parquet),
        _ => None,
    };
    let mut head = Vec::with_capacity(64 << 10);
    File::open(path)
        .and_then(|f| f.take(64 << 10).read_to_end(&mut head))
        .map_err(|e| anyhow!("cannot read: {e}"))?;
    if head.starts_with(b"PAR1") && read_as != AsArg::Vectors {
        return Ok(What::Parquet);
    }
    match read_as {
        AsArg::Vectors => return Ok(What::Vectors),
        AsArg::Corpus => return Ok(by_ext.unwrap_or(What::Text)),
        AsArg::Auto => {}
    }
    let vectors = embedscope::formats::detect_bytes(&head, meta.len(), ext.as_deref()).is_some();
    // A TSV of numbers is a projector vector file; other TSVs and every CSV/JSONL are corpora.
    if let Some(w) = by_ext
        && (w != What::Tsv || !vectors)
    {
        return Ok(w);
    }
    if vectors {
        return Ok(What::Vectors);
    }
    if let Some(p) = memchr::memchr(0, &head) {
        return Err(anyhow!(
            "byte {p}: a NUL byte, so binary data and not text; expected a text corpus, CSV, TSV, JSONL, Parquet, a vector file (npy, safetensors, word2vec, GloVe, ...) or a model folder"
        ));
    }
    Ok(What::Text)
}

/// Plain text, streamed: blocks of whole lines scanned in parallel pieces.
fn scan_text(path: &Path, acc: &mut Acc) -> anyhow::Result<()> {
    let mut f = File::open(path).map_err(|e| anyhow!("cannot open: {e}"))?;
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + (1 << 16));
    let mut line: u64 = 1;
    // Bytes of the current line already scanned (a line longer than LONGEST_LINE).
    let mut col_base: usize = 0;
    let mut eof = false;
    while !eof {
        let want = BLOCK.saturating_sub(buf.len()).max(1 << 16);
        let old = buf.len();
        buf.resize(old + want, 0);
        let mut got = 0;
        while got < want {
            match f.read(&mut buf[old + got..]) {
                Ok(0) => {
                    eof = true;
                    break;
                }
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(anyhow!("line {line}: cannot read: {e}")),
            }
        }
        buf.truncate(old + got);
        let cut = if eof {
            buf.len()
        } else {
            match memchr::memrchr(b'\n', &buf) {
                Some(p) => p + 1,
                None if buf.len() >= LONGEST_LINE => buf.len(),
                None => continue,
            }
        };
        let block = &buf[..cut];
        let found = privacy::scan_parallel(block, PIECE);
        // Map offsets to lines: walk the line breaks alongside the sorted findings.
        let mut line_start = 0usize;
        let mut nls = memchr::memchr_iter(b'\n', block).peekable();
        let mut i = 0;
        while i < found.len() {
            while let Some(&nl) = nls.peek() {
                if nl < found[i].start {
                    line += 1;
                    line_start = nl + 1;
                    col_base = 0;
                    nls.next();
                } else {
                    break;
                }
            }
            let line_end = nls.peek().copied().unwrap_or(block.len());
            let text = &block[line_start..line_end];
            let mut j = i;
            let mut here = Vec::new();
            while j < found.len() && found[j].start < line_end {
                let x = found[j];
                here.push(Finding {
                    kind: x.kind,
                    start: x.start - line_start + col_base,
                    end: x.end - line_start + col_base,
                });
                j += 1;
            }
            // Offsets in the whole line; the masked text from this part of it.
            let shifted: Vec<Finding> = here
                .iter()
                .map(|x| Finding {
                    kind: x.kind,
                    start: x.start - col_base,
                    end: x.end - col_base,
                })
                .collect();
            let listed_before = acc.listed.len();
            acc.record(line, None, text, &shifted);
            for (l, x) in acc.listed[listed_before..].iter_mut().zip(&here) {
                l.start = x.start;
                l.end = x.end;
            }
            i = j;
        }
        line += nls.count() as u64;
        col_base = match memchr::memrchr(b'\n', block) {
            Some(p) => cut - p - 1,
            // A part of an overlong line: the next block goes on with it.
            None => col_base + cut,
        };
        buf.drain(..cut);
    }
    Ok(())
}

/// CSV or TSV: every field of every record, by its header name.
fn scan_csv(path: &Path, tsv: bool, acc: &mut Acc) -> anyhow::Result<()> {
    let mut r = csv::ReaderBuilder::new()
        .delimiter(if tsv { b'\t' } else { b',' })
        .flexible(true)
        .from_path(path)
        .map_err(|e| anyhow!("cannot open: {e}"))?;
    let headers: Vec<String> = r
        .byte_headers()
        .map_err(|e| anyhow!("line 1: cannot read the header row: {e}"))?
        .iter()
        .enumerate()
        .map(|(i, h)| {
            let h = String::from_utf8_lossy(h).trim().to_string();
            if h.is_empty() {
                format!("column {}", i + 1)
            } else {
                h
            }
        })
        .collect();
    let mut rec = csv::ByteRecord::new();
    loop {
        match r.read_byte_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                return Err(anyhow!("line {line}: not a readable CSV record: {e}"));
            }
        }
        let line = rec.position().map_or(0, |p| p.line());
        for (i, field) in rec.iter().enumerate() {
            let found = privacy::scan_bytes(field);
            if !found.is_empty() {
                let fallback;
                let col = match headers.get(i) {
                    Some(h) => h.as_str(),
                    None => {
                        fallback = format!("column {}", i + 1);
                        fallback.as_str()
                    }
                };
                acc.record(line, Some(col), field, &found);
            }
        }
    }
    Ok(())
}

/// Every string (and number) in a JSON value, with its path (`a.b[2]`).
fn walk_json(v: &Value, path: &mut String, line: u64, acc: &mut Acc) {
    match v {
        Value::String(s) => {
            let found = privacy::scan(s);
            acc.record(line, Some(path), s.as_bytes(), &found);
        }
        Value::Number(n) => {
            let s = n.to_string();
            let found = privacy::scan(&s);
            acc.record(line, Some(path), s.as_bytes(), &found);
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                walk_json(x, path, line, acc);
                path.truncate(len);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(k);
                walk_json(x, path, line, acc);
                path.truncate(len);
            }
        }
        Value::Bool(_) | Value::Null => {}
    }
}

/// JSONL: each line's object walked field by field; a line that is not JSON is scanned as text.
fn scan_jsonl(path: &Path, acc: &mut Acc) -> anyhow::Result<()> {
    let f = File::open(path).map_err(|e| anyhow!("cannot open: {e}"))?;
    let mut r = BufReader::with_capacity(1 << 20, f);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut not_json = 0u64;
    loop {
        buf.clear();
        let n = r
            .read_until(b'\n', &mut buf)
            .map_err(|e| anyhow!("line {}: cannot read: {e}", line + 1))?;
        if n == 0 {
            break;
        }
        line += 1;
        let text = buf.strip_suffix(b"\n").unwrap_or(&buf);
        let text = text.strip_suffix(b"\r").unwrap_or(text);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<Value>(text) {
            Ok(v) => walk_json(&v, &mut String::new(), line, acc),
            Err(_) => {
                not_json += 1;
                let found = privacy::scan_bytes(text);
                acc.record(line, None, text, &found);
            }
        }
    }
    if not_json > 0 {
        acc.file()
            .notes
            .push(format!("{not_json} line(s) are not JSON; scanned as text"));
    }
    Ok(())
}

/// Parquet: every text and integer column, batch by batch; `line` is the row (0-based).
fn scan_parquet(path: &Path, acc: &mut Acc) -> anyhow::Result<()> {
    let f = File::open(path).map_err(|e| anyhow!("cannot open: {e}"))?;
    embedscope::formats::check_parquet_structure(path)?;
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(f)
        .map_err(|e| anyhow!("not a readable Parquet file: {e}"))?
        .with_batch_size(8192)
        .build()
        .map_err(|e| anyhow!("cannot read Parquet: {e}"))?;
    let mut row0 = 0u64;
    let mut skipped: Vec<String> = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| anyhow!("row {row0}: cannot read Parquet: {e}"))?;
        let schema = batch.schema();
        for (c, col) in batch.columns().iter().enumerate() {
            let name = schema.field(c).name().clone();
            let scanned = scan_arrow_column(col.as_ref(), &name, row0, acc);
            if !scanned && !skipped.contains(&name) {
                skipped.push(name);
            }
        }
        row0 += batch.num_rows() as u64;
    }
    if !skipped.is_empty() {
        acc.file().notes.push(format!(
            "column(s) neither text nor integers, not scanned: {}",
            skipped.join(", ")
        ));
    }
    Ok(())
}

/// Scans one Arrow column's cells; false if its type holds no text.
fn scan_arrow_column(col: &dyn Array, name: &str, row0: u64, acc: &mut Acc) -> bool {
    let mut cell = |i: usize, s: &[u8]| {
        let found = privacy::scan_bytes(s);
        acc.record(row0 + i as u64, Some(name), s, &found);
    };
    match col.data_type() {
        DataType::Utf8 => col
            .as_string::<i32>()
            .iter()
            .enumerate()
            .for_each(|(i, v)| {
                if let Some(v) = v {
                    cell(i, v.as_bytes());
                }
            }),
        DataType::LargeUtf8 => col
            .as_string::<i64>()
            .iter()
            .enumerate()
            .for_each(|(i, v)| {
                if let Some(v) = v {
                    cell(i, v.as_bytes());
                }
            }),
        DataType::Utf8View => col.as_string_view().iter().enumerate().for_each(|(i, v)| {
            if let Some(v) = v {
                cell(i, v.as_bytes());
            }
        }),
        DataType::Int64 => col
            .as_primitive::<types::Int64Type>()
            .iter()
            .enumerate()
            .for_each(|(i, v)| {
                if let Some(v) = v {
                    cell(i, v.to_string().as_bytes());
                }
            }),
        DataType::UInt64 => col
            .as_primitive::<types::UInt64Type>()
            .iter()
            .enumerate()
            .for_each(|(i, v)| {
                if let Some(v) = v {
                    cell(i, v.to_string().as_bytes());
                }
            }),
        _ => return false,
    }
    true
}

/// A vector file: its tokens (column `token`) and metadata columns; `line` is the row.
fn scan_vectors(path: &Path, a: &ScanArgs, acc: &mut Acc) -> anyhow::Result<()> {
    let mut load = a.load.clone();
    // A scan writes nothing: no cache.
    load.no_cache = true;
    let file = path.to_string_lossy();
    let set = match load.load(&file) {
        Ok(l) => l.set,
        Err(CliError::Runtime(e)) => return Err(e),
        Err(CliError::Usage(m)) => return Err(anyhow!("{m}")),
        Err(_) => return Err(anyhow!("cannot load the vector file")),
    };
    for (row, token) in set.vocab.iter().enumerate() {
        let found = privacy::scan(token);
        acc.record(row as u64, Some("token"), token.as_bytes(), &found);
    }
    for col in set.metadata.columns() {
        for (row, v) in col.values.iter().enumerate() {
            let found = privacy::scan(v);
            acc.record(row as u64, Some(&col.name), v.as_bytes(), &found);
        }
    }
    Ok(())
}

/// The vocabulary files of a model folder.
fn model_files(dir: &Path) -> Vec<PathBuf> {
    ["vocab.txt", "vocab.json", "tokenizer.json"]
        .iter()
        .map(|f| dir.join(f))
        .filter(|p| p.is_file())
        .collect()
}

/// A model folder: `vocab.txt` lines, `vocab.json` keys, `tokenizer.json`'s vocabulary and
/// added tokens; `line` is the token id (vocab.txt: the line), the file the vocabulary file.
fn scan_model(dir: &Path, acc: &mut Acc) -> anyhow::Result<()> {
    let mut bytes = 0;
    for p in model_files(dir) {
        let name = p.display().to_string();
        bytes += std::fs::metadata(&p).map_or(0, |m| m.len());
        let raw = std::fs::read(&p).map_err(|e| anyhow!("{name}: cannot read: {e}"))?;
        let mut tokens: Vec<(u64, String)> = Vec::new();
        if p.extension().is_some_and(|e| e == "txt") {
            for (i, l) in raw.split(|&b| b == b'\n').enumerate() {
                let l = l.strip_suffix(b"\r").unwrap_or(l);
                tokens.push((i as u64, String::from_utf8_lossy(l).into_owned()));
            }
        } else {
            let v: Value = serde_json::from_slice(&raw)
                .map_err(|e| anyhow!("{name}: line {}: not JSON: {e}", e.line()))?;
            let vocab = if p.file_name().is_some_and(|f| f == "vocab.json") {
                &v
            } else {
                &v["model"]["vocab"]
            };
            match vocab {
                Value::Object(m) => {
                    for (t, id) in m {
                        tokens.push((id.as_u64().unwrap_or(0), t.clone()));
                    }
                }
                // Unigram: [[piece, score], ...] in id order.
                Value::Array(a) => {
                    for (i, x) in a.iter().enumerate() {
                        if let Some(t) = x.get(0).and_then(Value::as_str) {
                            tokens.push((i as u64, t.to_string()));
                        }
                    }
                }
                _ => {}
            }
            if let Some(added) = v["added_tokens"].as_array() {
                for x in added {
                    if let Some(t) = x["content"].as_str() {
                        tokens.push((x["id"].as_u64().unwrap_or(0), t.to_string()));
                    }
                }
            }
        }
        tokens.sort_unstable();
        let f = acc.file();
        let saved = std::mem::replace(&mut f.file, name);
        for (id, t) in &tokens {
            let found = privacy::scan(t);
            acc.record(*id, Some("token"), t.as_bytes(), &found);
        }
        acc.file().file = saved;
    }
    acc.file().bytes = bytes;
    Ok(())
}
