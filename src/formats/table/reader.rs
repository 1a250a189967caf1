//! Reading: the Parquet and Arrow IPC entry points and the row loop that streams record batches
//! into a [`RowSink`], with the metadata columns kept aligned with the rows kept.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::ArrowError;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use super::cell::{Cell, cell};
use super::errors::{arrow_text, decode_error, parquet_text};
use super::plan::{Plan, TokenSource, type_name};
use super::vectors::{VecError, Vectors};
use crate::core::{MetaColumn, Metadata};
use crate::formats::error::{ErrorKind, FormatError, Location, snippet};
use crate::formats::sink::RowSink;
use crate::formats::{LoadOptions, Loaded, Progress};

/// Rows per record batch asked of the Parquet decoder.
const READ_BATCH_ROWS: usize = 2048;
/// Float32 bytes reserved up front from a declared row count; past it the matrix grows as read.
const RESERVE_BYTES: usize = 256 << 20;

/// Largest ratio of the bytes a Parquet file's read columns declare once decompressed (the
/// footer's uncompressed column-chunk sizes) to the file's length, above
/// [`INFLATION_FLOOR`]. Float vectors compress at best a few times and text some ten times; a
/// file of kilobytes whose pages inflate to gigabytes (a decompression bomb) is refused before
/// a page is decompressed.
pub(crate) const MAX_INFLATION: u64 = 100;
/// Decompressed bytes always accepted, whatever the ratio (small files of constant values).
pub(crate) const INFLATION_FLOOR: u64 = 256 << 20;

/// Refuses a Parquet file whose read columns (`roots`, all when `None`) declare more than
/// [`MAX_INFLATION`] times its length once decompressed (and more than [`INFLATION_FLOOR`]).
pub(crate) fn check_inflation(
    path: &Path,
    meta: &parquet::file::metadata::ParquetMetaData,
    roots: Option<&[usize]>,
) -> Result<(), FormatError> {
    let file_len = std::fs::metadata(path).map_or(0, |m| m.len());
    let schema = meta.file_metadata().schema_descr();
    let mut total: u64 = 0;
    for rg in meta.row_groups() {
        for (leaf, col) in rg.columns().iter().enumerate() {
            let root = schema.get_column_root_idx(leaf);
            if roots.is_some_and(|r| !r.contains(&root)) {
                continue;
            }
            total =
                total.saturating_add(u64::try_from(col.uncompressed_size()).unwrap_or(u64::MAX));
        }
    }
    if total > INFLATION_FLOOR && total / MAX_INFLATION > file_len {
        return Err(FormatError::too_large(
            path,
            Location::None,
            format!(
                "the columns read declare {total} bytes once decompressed, from a file of {file_len} bytes: more than {MAX_INFLATION} times its size (a decompression bomb?); expected at most {} bytes",
                file_len.saturating_mul(MAX_INFLATION).max(INFLATION_FLOOR)
            ),
        ));
    }
    Ok(())
}

/// Reads a Parquet file (any row-group layout; uncompressed, snappy or zstd).
pub(crate) fn read_parquet(path: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    guard_panics(path, "Parquet", || read_parquet_inner(path, opts))
}

/// Reads an Arrow IPC file (Feather v2, magic `ARROW1`).
pub(crate) fn read_arrow_ipc(path: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    guard_panics(path, "Arrow IPC", || read_ipc_inner(path, opts))
}

fn read_parquet_inner(path: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    let file = open_nonempty(path)?;
    super::check_parquet_structure(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| decode_error(path, "Parquet", parquet_text(&e)))?;
    let declared = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let plan = Plan::new(builder.schema(), opts, path, "Parquet")?;
    check_inflation(path, builder.metadata(), Some(&plan.read))?;
    // Arrow top-level fields are the Parquet root columns, in the same order.
    let mask = ProjectionMask::roots(builder.parquet_schema(), plan.read.iter().copied());
    let mut builder = builder
        .with_projection(mask)
        .with_batch_size(READ_BATCH_ROWS);
    if let Some(l) = opts.limit {
        builder = builder.with_limit(l);
    }
    let batches = builder
        .build()
        .map_err(|e| decode_error(path, "Parquet", parquet_text(&e)))?;
    let mut table = TableReader::new(path, plan, opts, declared);
    if opts.limit != Some(0) {
        for batch in batches {
            let batch = batch.map_err(|e| decode_error(path, "Parquet", arrow_text(&e)))?;
            table.push_batch(&batch)?;
            table.report(declared, false);
            if table.is_full() {
                break;
            }
        }
    }
    table.report(declared, true);
    let more = table.rows_read() < declared;
    let sha = file_sha256(path)?;
    table.finish(sha, Some(declared), more)
}

fn read_ipc_inner(path: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    let open = || -> Result<BufReader<File>, FormatError> {
        Ok(BufReader::with_capacity(1 << 20, open_nonempty(path)?))
    };
    let ipc_err = |e: ArrowError| decode_error(path, "Arrow IPC", arrow_text(&e));
    check_ipc_sizes(path)?;
    // The schema picks the columns; the file is then reopened reading only those.
    let schema = arrow_ipc::reader::FileReader::try_new(open()?, None)
        .map_err(ipc_err)?
        .schema();
    let plan = Plan::new(&schema, opts, path, "Arrow IPC")?;
    let reader = arrow_ipc::reader::FileReader::try_new(open()?, Some(plan.read.clone()))
        .map_err(ipc_err)?;
    let batch_count = reader.num_batches();
    let mut table = TableReader::new(path, plan, opts, 0);
    let mut more = false;
    if opts.limit != Some(0) {
        for (b, batch) in reader.enumerate() {
            let batch = batch.map_err(ipc_err)?;
            if b == 0 {
                table.reserve_hint(batch.num_rows().saturating_mul(batch_count) as u64);
            }
            let taken = table.push_batch(&batch)?;
            table.report(0, false);
            if table.is_full() {
                more = taken < batch.num_rows() || b + 1 < batch_count;
                break;
            }
        }
    } else {
        more = batch_count > 0;
    }
    table.report(0, true);
    let sha = file_sha256(path)?;
    table.finish(sha, None, more)
}

/// Checks the sizes an Arrow IPC file declares against its length before arrow-ipc allocates
/// them: the footer length in the trailer (arrow-ipc 60 allocates it zeroed as read, up to
/// 2 GiB from 10 bytes), and every record batch and dictionary block (offset, metadata and
/// body lengths). A file that is not IPC-shaped is left to the decoder's own errors.
fn check_ipc_sizes(path: &Path) -> Result<(), FormatError> {
    use std::io::{Read, Seek, SeekFrom};
    const MAGIC: &[u8] = b"ARROW1";
    let mut f = open_nonempty(path)?;
    let len = f.metadata().map_err(|e| FormatError::io(path, e))?.len();
    // Leading magic + padding (8), footer length (4), trailing magic (6).
    if len < 18 {
        return Ok(());
    }
    let mut trailer = [0u8; 10];
    f.seek(SeekFrom::Start(len - 10))
        .and_then(|_| f.read_exact(&mut trailer))
        .map_err(|e| FormatError::io(path, e))?;
    if &trailer[4..] != MAGIC {
        return Ok(());
    }
    let footer_len = i32::from_le_bytes([trailer[0], trailer[1], trailer[2], trailer[3]]);
    let room = len - 18;
    let footer_len = match u64::try_from(footer_len) {
        Ok(n) if n <= room => n,
        _ => {
            return Err(FormatError::truncated(
                path,
                Location::Byte(len - 10),
                format!(
                    "the Arrow IPC footer claims {footer_len} bytes, but the file has room for {room}"
                ),
            ));
        }
    };
    let mut footer = vec![0u8; footer_len as usize];
    f.seek(SeekFrom::Start(len - 10 - footer_len))
        .and_then(|_| f.read_exact(&mut footer))
        .map_err(|e| FormatError::io(path, e))?;
    let Ok(footer) = arrow_ipc::root_as_footer(&footer) else {
        return Ok(());
    };
    let blocks = footer
        .recordBatches()
        .into_iter()
        .flatten()
        .chain(footer.dictionaries().into_iter().flatten());
    for (i, b) in blocks.enumerate() {
        let end = u64::try_from(b.offset())
            .ok()
            .zip(u64::try_from(b.metaDataLength()).ok())
            .zip(u64::try_from(b.bodyLength()).ok())
            .and_then(|((o, m), body)| o.checked_add(m)?.checked_add(body));
        if end.is_none_or(|e| e > len) {
            return Err(FormatError::truncated(
                path,
                Location::Byte(len - 10 - footer_len),
                format!(
                    "Arrow IPC block {i} claims bytes {}..+{}+{}, past the end of the file ({len} bytes)",
                    b.offset(),
                    b.metaDataLength(),
                    b.bodyLength()
                ),
            ));
        }
    }
    Ok(())
}

pub(super) fn open_nonempty(path: &Path) -> Result<File, FormatError> {
    let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    if len == 0 {
        return Err(FormatError::new(path, Location::None, ErrorKind::Empty));
    }
    Ok(file)
}

/// Runs a reader, turning a panic inside the decoders (corrupt data they do not check) into an
/// error that says where it was raised; nothing is printed ([`crate::formats::quiet`]).
pub(super) fn guard_panics<T>(
    path: &Path,
    what: &str,
    f: impl FnOnce() -> Result<T, FormatError>,
) -> Result<T, FormatError> {
    match super::super::quiet::catch_quietly(f) {
        Ok(r) => r,
        Err(caught) => Err(FormatError::invalid(
            path,
            Location::None,
            format!("the {what} decoder failed on this file (corrupt data?): {caught}"),
        )),
    }
}

pub(super) struct TableReader<'p> {
    path: &'p Path,
    plan: Plan,
    limit: Option<usize>,
    progress: Option<Arc<Progress>>,
    next_report: u64,
    /// Created at the first row, once the dimension is known.
    sink: Option<RowSink>,
    /// Rows expected (declared or estimated), to size the sink.
    hint_rows: u64,
    meta: Vec<Vec<String>>,
    buf: Vec<f32>,
    token_buf: String,
}

impl<'p> TableReader<'p> {
    pub(super) fn new(path: &'p Path, plan: Plan, opts: &LoadOptions, hint_rows: u64) -> Self {
        let meta = vec![Vec::new(); plan.meta.len()];
        TableReader {
            path,
            plan,
            limit: opts.limit,
            progress: opts.progress.clone(),
            next_report: 0,
            sink: None,
            hint_rows,
            meta,
            buf: Vec::new(),
            token_buf: String::new(),
        }
    }

    fn reserve_hint(&mut self, rows: u64) {
        if self.sink.is_none() {
            self.hint_rows = rows;
        }
    }

    /// The file that rows come from next (the parts of a folder, one after another): errors
    /// name it.
    pub(super) fn set_path(&mut self, path: &'p Path) {
        self.path = path;
    }

    /// Schema indices of the columns the plan reads.
    pub(super) fn read_columns(&self) -> &[usize] {
        &self.plan.read
    }

    /// Rows kept so far (duplicates left out).
    pub(super) fn rows_kept(&self) -> usize {
        self.sink.as_ref().map_or(0, |s| s.vocab.len())
    }

    /// File rows consumed so far (kept or dropped as duplicates).
    pub(super) fn rows_read(&self) -> u64 {
        self.sink.as_ref().map_or(0, RowSink::rows_read)
    }

    pub(super) fn is_full(&self) -> bool {
        match &self.sink {
            Some(s) => s.is_full(),
            None => self.limit == Some(0),
        }
    }

    pub(super) fn report(&mut self, total: u64, last: bool) {
        if let Some(p) = &self.progress
            && (last || self.rows_read() >= self.next_report)
        {
            let rows = self.rows_read();
            p(rows, total);
            self.next_report = rows + 65536;
        }
    }

    /// Takes the rows of one batch (up to the limit); returns how many were taken.
    pub(super) fn push_batch(&mut self, batch: &RecordBatch) -> Result<usize, FormatError> {
        let path = self.path;
        let first_row = self.rows_read();
        let plan = &self.plan;
        let column = |i: usize| -> Result<&ArrayRef, FormatError> {
            batch.columns().get(plan.batch_index(i)).ok_or_else(|| {
                FormatError::invalid(
                    path,
                    Location::Row(first_row),
                    format!("a record batch lacks column {:?}", plan.names[i]),
                )
            })
        };
        let vector_array = column(plan.vector)?;
        let vectors = Vectors::new(vector_array.as_ref()).ok_or_else(|| {
            FormatError::invalid(
                path,
                Location::Row(first_row),
                format!(
                    "column {:?} changes type to {} in a record batch",
                    plan.names[plan.vector],
                    type_name(vector_array.data_type())
                ),
            )
        })?;
        let tokens = match plan.token {
            TokenSource::Column(i) => Some(column(i)?),
            TokenSource::RowNumber => None,
        };
        let metas = plan
            .meta
            .iter()
            .map(|&i| column(i))
            .collect::<Result<Vec<_>, _>>()?;
        let n = batch.num_rows();
        let take = match self.limit {
            Some(l) => n.min((l as u64).saturating_sub(first_row) as usize),
            None => n,
        };
        for r in 0..take {
            let file_row = self.sink.as_ref().map_or(0, RowSink::rows_read);
            let loc = Location::Row(file_row);
            let token = match tokens {
                Some(a) => cell(a.as_ref(), r).ok_or_else(|| {
                    FormatError::invalid(
                        path,
                        loc,
                        format!(
                            "null token in column {:?}: every row needs one",
                            plan.token_name()
                        ),
                    )
                })?,
                None => {
                    self.token_buf.clear();
                    let _ = write!(self.token_buf, "{file_row}");
                    Cell::Str(&self.token_buf)
                }
            };
            let dim = self.sink.as_ref().map(|s| s.dim);
            let values = vectors.row(r, dim, &mut self.buf).map_err(|e| {
                let tok = match &token {
                    Cell::Str(s) => snippet(s.as_bytes()),
                    Cell::Bytes(b) => snippet(b),
                    Cell::Owned(s) => snippet(s.as_bytes()),
                };
                let col = &plan.names[plan.vector];
                let msg = match e {
                    VecError::Null => format!("null vector (token {tok}) in column {col:?}"),
                    VecError::Empty => format!("empty vector (token {tok}) in column {col:?}"),
                    VecError::Length(len) => format!(
                        "embedding has {len} values, expected {} as in row 0 (token {tok})",
                        dim.unwrap_or(0)
                    ),
                    VecError::NullValue(k) => {
                        format!("null value at position {k} of the vector (token {tok})")
                    }
                    VecError::Bounds => {
                        format!("the vector of token {tok} lies outside the column's values")
                    }
                };
                FormatError::invalid(path, loc, msg)
            })?;
            let hint = self.hint_rows;
            let limit = self.limit;
            let sink = self.sink.get_or_insert_with(|| {
                let d = values.len();
                let cap = hint
                    .min(limit.map_or(u64::MAX, |l| l as u64))
                    .min((RESERVE_BYTES / (4 * d)).max(1024) as u64);
                RowSink::new(d, cap as usize, limit)
            });
            let kept = match token {
                Cell::Str(s) => sink.push_str(s, values),
                Cell::Bytes(b) => sink.push_bytes(b, values),
                Cell::Owned(s) => sink.push_str(&s, values),
            }
            .map_err(|e| FormatError::too_large(path, loc, e.to_string()))?;
            if kept {
                for (col, a) in self.meta.iter_mut().zip(&metas) {
                    col.push(cell(a.as_ref(), r).map_or_else(String::new, Cell::into_string));
                }
            }
        }
        Ok(take)
    }

    pub(super) fn finish(
        self,
        sha256: String,
        declared: Option<u64>,
        more: bool,
    ) -> Result<Loaded, FormatError> {
        let path = self.path;
        let Some(sink) = self.sink else {
            let why = match self.limit {
                Some(0) => "limit 0: no rows were read",
                _ => "the table has no rows",
            };
            return Err(FormatError::invalid(
                path,
                Location::None,
                format!("no vectors: {why}"),
            ));
        };
        let (vocab, matrix, mut notes) = sink
            .finish()
            .map_err(|e| FormatError::invalid(path, Location::None, e.to_string()))?;
        notes.declared_rows = declared;
        notes.warnings.extend(self.plan.warnings.iter().cloned());
        if more && let Some(l) = self.limit {
            notes
                .warnings
                .push(format!("limit {l}: later rows were not read"));
        }
        let mut metadata = Metadata::new();
        for (&i, values) in self.plan.meta.iter().zip(self.meta) {
            let column = MetaColumn {
                name: self.plan.names[i].clone(),
                values,
            };
            metadata
                .push(column, matrix.rows())
                .map_err(|e| FormatError::mismatch(path, e.to_string()))?;
        }
        let mut params = BTreeMap::new();
        params.insert(
            "token_column".to_string(),
            self.plan.token_name().to_string(),
        );
        params.insert(
            "vector_column".to_string(),
            self.plan.names[self.plan.vector].clone(),
        );
        Ok(Loaded {
            vocab,
            matrix,
            metadata,
            notes,
            sha256: Some(sha256),
            params,
            embedded: None,
        })
    }
}

pub(super) fn file_sha256(path: &Path) -> Result<String, FormatError> {
    let mut f = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FormatError::io(path, e)),
        }
    }
    let mut hex = String::with_capacity(64);
    for b in hasher.finalize().iter() {
        let _ = write!(hex, "{b:02x}");
    }
    Ok(hex)
}
