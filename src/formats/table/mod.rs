//! Parquet and Arrow IPC (Feather v2) tables: one row per token, a list-of-floats vector column,
//! a token column, and any other simple columns kept as string metadata.
//!
//! Both readers stream record batches straight into a [`RowSink`] (never the whole table at
//! once) and stop as soon as the row limit is reached. The writer emits `token` (string),
//! `embedding` (fixed-size list of float32) and one string column per metadata column, in row
//! groups of at most 65536 rows, through a temporary file renamed into place.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type,
    Decimal256Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, FixedSizeListArray, Float32Array, RecordBatch, StringArray};
use arrow_buffer::{ArrowNativeType, NullBuffer};
use arrow_schema::{ArrowError, DataType, Field, Schema, TimeUnit};
use parquet::arrow::ArrowWriter;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;
use sha2::{Digest, Sha256};

use super::error::{ErrorKind, FormatError, Location, snippet};
use super::sink::RowSink;
use super::{LoadOptions, Loaded};
use crate::core::{EmbeddingSet, MetaColumn, Metadata};

/// Rows per record batch asked of the Parquet decoder.
const READ_BATCH_ROWS: usize = 2048;
/// Most rows per written row group (and per batch handed to the writer).
const MAX_GROUP_ROWS: usize = 65536;
/// Float32 bytes aimed at per written row group: wide vectors get smaller groups.
const GROUP_BYTES: usize = 128 << 20;
/// Float32 bytes reserved up front from a declared row count; past it the matrix grows as read.
const RESERVE_BYTES: usize = 256 << 20;
/// Token-column value naming rows by their number.
const ROW_NUMBER_TOKENS: &str = "#row";
/// Names preferred (in this order) when several columns could hold the vectors or the tokens.
const VECTOR_NAMES: [&str; 5] = ["embedding", "embeddings", "vector", "vectors", "emb"];
const TOKEN_NAMES: [&str; 6] = ["token", "word", "key", "text", "term", "label"];

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
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| decode_error(path, "Parquet", parquet_text(&e)))?;
    let declared = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    let plan = Plan::new(builder.schema(), opts, path, "Parquet")?;
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

fn open_nonempty(path: &Path) -> Result<File, FormatError> {
    let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = file.metadata().map_err(|e| FormatError::io(path, e))?.len();
    if len == 0 {
        return Err(FormatError::new(path, Location::None, ErrorKind::Empty));
    }
    Ok(file)
}

/// Runs a reader, turning a panic inside the decoders (corrupt data they do not check) into an error.
fn guard_panics<T>(
    path: &Path,
    what: &str,
    f: impl FnOnce() -> Result<T, FormatError>,
) -> Result<T, FormatError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            Err(FormatError::invalid(
                path,
                Location::None,
                format!("the {what} decoder failed on this file (corrupt data?): {msg}"),
            ))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Choosing the columns

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TokenSource {
    /// Schema index of the token column.
    Column(usize),
    /// Row numbers ("0", "1", ...) are the tokens.
    RowNumber,
}

/// Which columns hold what, decided from the schema before any row is read.
struct Plan {
    vector: usize,
    token: TokenSource,
    meta: Vec<usize>,
    /// Schema indices of the columns to read, ascending: batch column k is schema column `read[k]`.
    read: Vec<usize>,
    names: Vec<String>,
    warnings: Vec<String>,
}

impl Plan {
    fn new(
        schema: &Schema,
        opts: &LoadOptions,
        path: &Path,
        what: &str,
    ) -> Result<Plan, FormatError> {
        let fields = schema.fields();
        let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let invalid = |msg: String| FormatError::invalid(path, Location::None, msg);
        let listing = || column_listing(schema);
        let mut warnings = Vec::new();

        let vector = match opts.vector_column.as_deref() {
            Some(name) => {
                let i = find_column(&names, name).ok_or_else(|| {
                    invalid(format!(
                        "no column named {name:?} for the vectors; the columns are: {}",
                        listing()
                    ))
                })?;
                if float_list_elem(fields[i].data_type()).is_none() {
                    return Err(invalid(format!(
                        "column {:?} has type {}: expected a list, large_list or fixed_size_list of float16, float32 or float64 values for the vectors",
                        names[i],
                        type_name(fields[i].data_type())
                    )));
                }
                i
            }
            None => {
                let candidates: Vec<usize> = (0..fields.len())
                    .filter(|&i| float_list_elem(fields[i].data_type()).is_some())
                    .collect();
                match candidates.as_slice() {
                    [] => {
                        return Err(invalid(format!(
                            "no vector column: no column is a list, large_list or fixed_size_list of floats in this {what} file; the columns are: {}",
                            listing()
                        )));
                    }
                    [i] => *i,
                    _ => by_preferred_name(&names, &candidates, &VECTOR_NAMES).ok_or_else(|| {
                        invalid(format!(
                            "several columns could hold the vectors: {}; pick one with --vector-column",
                            quoted(&names, &candidates)
                        ))
                    })?,
                }
            }
        };
        if let DataType::FixedSizeList(_, size) = fields[vector].data_type()
            && *size <= 0
        {
            return Err(invalid(format!(
                "column {:?} is a fixed_size_list of {size} values: vectors need at least one",
                names[vector]
            )));
        }

        let token = match opts.token_column.as_deref() {
            Some(ROW_NUMBER_TOKENS) => TokenSource::RowNumber,
            Some(name) => {
                let i = find_column(&names, name).ok_or_else(|| {
                    invalid(format!(
                        "no column named {name:?} for the tokens; the columns are: {} (or use {ROW_NUMBER_TOKENS} for row numbers)",
                        listing()
                    ))
                })?;
                if i == vector {
                    return Err(invalid(format!(
                        "column {:?} holds the vectors; it cannot also be the token column",
                        names[i]
                    )));
                }
                if !token_type_ok(fields[i].data_type()) {
                    return Err(invalid(format!(
                        "column {:?} has type {}: expected a string or integer column for the tokens (or {ROW_NUMBER_TOKENS} for row numbers)",
                        names[i],
                        type_name(fields[i].data_type())
                    )));
                }
                TokenSource::Column(i)
            }
            None => {
                let candidates: Vec<usize> = (0..fields.len())
                    .filter(|&i| i != vector && is_string(fields[i].data_type()))
                    .collect();
                match candidates.as_slice() {
                    [] => {
                        warnings.push(
                            "no string column to take the tokens from: rows are named by their row number (0, 1, ...); pick a column with --token-column"
                                .to_string(),
                        );
                        TokenSource::RowNumber
                    }
                    [i] => TokenSource::Column(*i),
                    [first, ..] => match by_preferred_name(&names, &candidates, &TOKEN_NAMES) {
                        Some(i) => TokenSource::Column(i),
                        None => {
                            warnings.push(format!(
                                "several string columns could hold the tokens ({}): took {:?}; pick another with --token-column",
                                quoted(&names, &candidates),
                                names[*first]
                            ));
                            TokenSource::Column(*first)
                        }
                    },
                }
            }
        };

        let mut meta = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if i == vector || token == TokenSource::Column(i) {
                continue;
            }
            if is_simple(f.data_type()) {
                meta.push(i);
            } else {
                warnings.push(format!(
                    "column {:?} ({}) is not kept as metadata: only strings, numbers, booleans, dates and times are",
                    f.name(),
                    type_name(f.data_type())
                ));
            }
        }
        let mut read = meta.clone();
        read.push(vector);
        if let TokenSource::Column(t) = token {
            read.push(t);
        }
        read.sort_unstable();
        Ok(Plan {
            vector,
            token,
            meta,
            read,
            names,
            warnings,
        })
    }

    fn token_name(&self) -> &str {
        match self.token {
            TokenSource::Column(i) => &self.names[i],
            TokenSource::RowNumber => ROW_NUMBER_TOKENS,
        }
    }

    /// Position in a (projected) batch of schema column `i`.
    fn batch_index(&self, i: usize) -> usize {
        self.read.binary_search(&i).unwrap_or(usize::MAX)
    }
}

/// Exact name first, then a unique case-insensitive match.
fn find_column(names: &[String], name: &str) -> Option<usize> {
    if let Some(i) = names.iter().position(|n| n == name) {
        return Some(i);
    }
    let mut folded = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(i, _)| i);
    match (folded.next(), folded.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

fn by_preferred_name(names: &[String], candidates: &[usize], preferred: &[&str]) -> Option<usize> {
    preferred.iter().find_map(|p| {
        candidates
            .iter()
            .copied()
            .find(|&i| names[i].eq_ignore_ascii_case(p))
    })
}

fn quoted(names: &[String], idx: &[usize]) -> String {
    idx.iter()
        .map(|&i| format!("{:?}", names[i]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_listing(schema: &Schema) -> String {
    if schema.fields().is_empty() {
        return "(none)".to_string();
    }
    schema
        .fields()
        .iter()
        .map(|f| format!("{:?} ({})", f.name(), type_name(f.data_type())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Short type names as pyarrow prints them (`list<float32>`, `fixed_size_list<float32, 50>`...).
fn type_name(dt: &DataType) -> String {
    use DataType as D;
    match dt {
        D::Utf8 => "string".into(),
        D::LargeUtf8 => "large_string".into(),
        D::Utf8View => "string_view".into(),
        D::Binary => "binary".into(),
        D::LargeBinary => "large_binary".into(),
        D::Boolean => "bool".into(),
        D::List(f) => format!("list<{}>", type_name(f.data_type())),
        D::LargeList(f) => format!("large_list<{}>", type_name(f.data_type())),
        D::FixedSizeList(f, n) => format!("fixed_size_list<{}, {n}>", type_name(f.data_type())),
        D::Struct(_) => "struct".into(),
        D::Map(..) => "map".into(),
        D::Dictionary(_, v) => format!("dictionary<{}>", type_name(v)),
        D::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("timestamp[{unit}, tz={tz}]"),
                None => format!("timestamp[{unit}]"),
            }
        }
        other => other.to_string().to_ascii_lowercase(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    F16,
    F32,
    F64,
}

fn float_list_elem(dt: &DataType) -> Option<Elem> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            match f.data_type() {
                DataType::Float16 => Some(Elem::F16),
                DataType::Float32 => Some(Elem::F32),
                DataType::Float64 => Some(Elem::F64),
                _ => None,
            }
        }
        _ => None,
    }
}

fn is_string(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_integer(dt: &DataType) -> bool {
    use DataType as D;
    matches!(
        dt,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64
    )
}

/// Types whose values [`cell`] turns into text (the metadata columns).
fn is_simple(dt: &DataType) -> bool {
    use DataType as D;
    match dt {
        D::Null
        | D::Boolean
        | D::Float16
        | D::Float32
        | D::Float64
        | D::Date32
        | D::Date64
        | D::Timestamp(..)
        | D::Time32(TimeUnit::Second | TimeUnit::Millisecond)
        | D::Time64(TimeUnit::Microsecond | TimeUnit::Nanosecond)
        | D::Decimal32(..)
        | D::Decimal64(..)
        | D::Decimal128(..)
        | D::Decimal256(..) => true,
        D::Dictionary(k, v) => is_integer(k) && is_simple(v),
        d => is_string(d) || is_integer(d),
    }
}

/// Types accepted for an explicitly named token column: strings, integers, binary (decoded lossily).
fn token_type_ok(dt: &DataType) -> bool {
    use DataType as D;
    match dt {
        D::Binary | D::LargeBinary | D::BinaryView => true,
        D::Dictionary(k, v) => is_integer(k) && (is_string(v) || is_integer(v)),
        d => is_string(d) || is_integer(d),
    }
}

// ---------------------------------------------------------------------------------------------
// Cells

enum Cell<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    Owned(String),
}

impl Cell<'_> {
    fn into_string(self) -> String {
        match self {
            Cell::Str(s) => s.to_string(),
            Cell::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Cell::Owned(s) => s,
        }
    }
}

/// The value at row `i` as text; `None` for a null (or a type [`is_simple`] / [`token_type_ok`] refuse).
/// Display text of cell `i` of a simple-typed column (None for nulls and nested types).
pub(crate) fn cell_string(a: &dyn Array, i: usize) -> Option<String> {
    cell(a, i).map(Cell::into_string)
}

/// Whether a column type has a plain text form (strings, numbers, dates, booleans...).
pub(crate) fn simple_type(dt: &DataType) -> bool {
    is_simple(dt)
}

/// Whether a column holds strings.
pub(crate) fn string_type(dt: &DataType) -> bool {
    is_string(dt)
}

fn cell(a: &dyn Array, i: usize) -> Option<Cell<'_>> {
    use DataType as D;
    if i >= a.len() || a.is_null(i) {
        return None;
    }
    macro_rules! text {
        ($t:ty) => {
            Cell::Owned(a.as_primitive_opt::<$t>()?.value(i).to_string())
        };
    }
    macro_rules! with {
        ($t:ty, $f:ident) => {
            Cell::Owned(a.as_primitive_opt::<$t>()?.$f(i)?.to_string())
        };
    }
    Some(match a.data_type() {
        D::Utf8 => Cell::Str(a.as_string_opt::<i32>()?.value(i)),
        D::LargeUtf8 => Cell::Str(a.as_string_opt::<i64>()?.value(i)),
        D::Utf8View => Cell::Str(a.as_string_view_opt()?.value(i)),
        D::Binary => Cell::Bytes(a.as_binary_opt::<i32>()?.value(i)),
        D::LargeBinary => Cell::Bytes(a.as_binary_opt::<i64>()?.value(i)),
        D::BinaryView => Cell::Bytes(a.as_binary_view_opt()?.value(i)),
        D::Boolean => Cell::Str(if a.as_boolean_opt()?.value(i) {
            "true"
        } else {
            "false"
        }),
        D::Int8 => text!(Int8Type),
        D::Int16 => text!(Int16Type),
        D::Int32 => text!(Int32Type),
        D::Int64 => text!(Int64Type),
        D::UInt8 => text!(UInt8Type),
        D::UInt16 => text!(UInt16Type),
        D::UInt32 => text!(UInt32Type),
        D::UInt64 => text!(UInt64Type),
        D::Float16 => text!(Float16Type),
        D::Float32 => text!(Float32Type),
        D::Float64 => text!(Float64Type),
        D::Date32 => with!(Date32Type, value_as_date),
        D::Date64 => with!(Date64Type, value_as_date),
        D::Timestamp(TimeUnit::Second, _) => with!(TimestampSecondType, value_as_datetime),
        D::Timestamp(TimeUnit::Millisecond, _) => {
            with!(TimestampMillisecondType, value_as_datetime)
        }
        D::Timestamp(TimeUnit::Microsecond, _) => {
            with!(TimestampMicrosecondType, value_as_datetime)
        }
        D::Timestamp(TimeUnit::Nanosecond, _) => with!(TimestampNanosecondType, value_as_datetime),
        D::Time32(TimeUnit::Second) => with!(Time32SecondType, value_as_time),
        D::Time32(TimeUnit::Millisecond) => with!(Time32MillisecondType, value_as_time),
        D::Time64(TimeUnit::Microsecond) => with!(Time64MicrosecondType, value_as_time),
        D::Time64(TimeUnit::Nanosecond) => with!(Time64NanosecondType, value_as_time),
        D::Decimal32(..) => Cell::Owned(a.as_primitive_opt::<Decimal32Type>()?.value_as_string(i)),
        D::Decimal64(..) => Cell::Owned(a.as_primitive_opt::<Decimal64Type>()?.value_as_string(i)),
        D::Decimal128(..) => {
            Cell::Owned(a.as_primitive_opt::<Decimal128Type>()?.value_as_string(i))
        }
        D::Decimal256(..) => {
            Cell::Owned(a.as_primitive_opt::<Decimal256Type>()?.value_as_string(i))
        }
        D::Dictionary(k, _) => match k.as_ref() {
            D::Int8 => dict_cell::<Int8Type>(a, i)?,
            D::Int16 => dict_cell::<Int16Type>(a, i)?,
            D::Int32 => dict_cell::<Int32Type>(a, i)?,
            D::Int64 => dict_cell::<Int64Type>(a, i)?,
            D::UInt8 => dict_cell::<UInt8Type>(a, i)?,
            D::UInt16 => dict_cell::<UInt16Type>(a, i)?,
            D::UInt32 => dict_cell::<UInt32Type>(a, i)?,
            D::UInt64 => dict_cell::<UInt64Type>(a, i)?,
            _ => return None,
        },
        _ => return None,
    })
}

fn dict_cell<K: ArrowDictionaryKeyType>(a: &dyn Array, i: usize) -> Option<Cell<'_>> {
    let d = a.as_dictionary_opt::<K>()?;
    let key = d.keys().value(i).to_usize()?;
    cell(d.values().as_ref(), key)
}

// ---------------------------------------------------------------------------------------------
// Vectors

enum Floats<'a> {
    F16(&'a [half::f16]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

enum Spans<'a> {
    List(&'a [i32]),
    LargeList(&'a [i64]),
    Fixed(usize),
}

/// One batch's vector column: row spans into a float child array.
struct Vectors<'a> {
    outer: &'a dyn Array,
    spans: Spans<'a>,
    values: Floats<'a>,
    value_nulls: Option<&'a NullBuffer>,
}

enum VecError {
    Null,
    Empty,
    Length(usize),
    NullValue(usize),
    Bounds,
}

impl<'a> Vectors<'a> {
    fn new(a: &'a dyn Array) -> Option<Vectors<'a>> {
        let (spans, child): (Spans<'a>, &'a ArrayRef) = match a.data_type() {
            DataType::List(_) => {
                let l = a.as_list_opt::<i32>()?;
                (Spans::List(l.value_offsets()), l.values())
            }
            DataType::LargeList(_) => {
                let l = a.as_list_opt::<i64>()?;
                (Spans::LargeList(l.value_offsets()), l.values())
            }
            DataType::FixedSizeList(_, _) => {
                let l = a.as_fixed_size_list_opt()?;
                (
                    Spans::Fixed(usize::try_from(l.value_length()).ok()?),
                    l.values(),
                )
            }
            _ => return None,
        };
        let values = match child.data_type() {
            DataType::Float16 => Floats::F16(child.as_primitive_opt::<Float16Type>()?.values()),
            DataType::Float32 => Floats::F32(child.as_primitive_opt::<Float32Type>()?.values()),
            DataType::Float64 => Floats::F64(child.as_primitive_opt::<Float64Type>()?.values()),
            _ => return None,
        };
        Some(Vectors {
            outer: a,
            spans,
            values,
            value_nulls: child.nulls().filter(|n| n.null_count() > 0),
        })
    }

    /// The values of row `r` as f32 (converted into `buf` unless stored as f32).
    /// `dim` is the expected length, once known.
    fn row<'s>(
        &'s self,
        r: usize,
        dim: Option<usize>,
        buf: &'s mut Vec<f32>,
    ) -> Result<&'s [f32], VecError> {
        if self.outer.is_null(r) {
            return Err(VecError::Null);
        }
        let (start, len) = match self.spans {
            Spans::List(o) => span(o.get(r).copied(), o.get(r + 1).copied())?,
            Spans::LargeList(o) => span(o.get(r).copied(), o.get(r + 1).copied())?,
            Spans::Fixed(n) => (r.checked_mul(n).ok_or(VecError::Bounds)?, n),
        };
        if len == 0 {
            return Err(VecError::Empty);
        }
        if let Some(d) = dim
            && len != d
        {
            return Err(VecError::Length(len));
        }
        let end = start.checked_add(len).ok_or(VecError::Bounds)?;
        if let Some(nulls) = self.value_nulls {
            if end > nulls.len() {
                return Err(VecError::Bounds);
            }
            if let Some(k) = (start..end).find(|&j| nulls.is_null(j)) {
                return Err(VecError::NullValue(k - start));
            }
        }
        match self.values {
            Floats::F32(v) => v.get(start..end).ok_or(VecError::Bounds),
            Floats::F64(v) => {
                let v = v.get(start..end).ok_or(VecError::Bounds)?;
                buf.clear();
                buf.extend(v.iter().map(|&x| x as f32));
                Ok(buf)
            }
            Floats::F16(v) => {
                let v = v.get(start..end).ok_or(VecError::Bounds)?;
                buf.clear();
                buf.extend(v.iter().map(|x| x.to_f32()));
                Ok(buf)
            }
        }
    }
}

fn span<O: ArrowNativeType>(start: Option<O>, end: Option<O>) -> Result<(usize, usize), VecError> {
    let (Some(s), Some(e)) = (
        start.and_then(|s| s.to_usize()),
        end.and_then(|e| e.to_usize()),
    ) else {
        return Err(VecError::Bounds);
    };
    Ok((s, e.checked_sub(s).ok_or(VecError::Bounds)?))
}

// ---------------------------------------------------------------------------------------------
// Reading rows

struct TableReader<'p> {
    path: &'p Path,
    plan: Plan,
    limit: Option<usize>,
    progress: Option<Arc<super::Progress>>,
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
    fn new(path: &'p Path, plan: Plan, opts: &LoadOptions, hint_rows: u64) -> Self {
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

    /// File rows consumed so far (kept or dropped as duplicates).
    fn rows_read(&self) -> u64 {
        self.sink.as_ref().map_or(0, RowSink::rows_read)
    }

    fn is_full(&self) -> bool {
        match &self.sink {
            Some(s) => s.is_full(),
            None => self.limit == Some(0),
        }
    }

    fn report(&mut self, total: u64, last: bool) {
        if let Some(p) = &self.progress
            && (last || self.rows_read() >= self.next_report)
        {
            let rows = self.rows_read();
            p(rows, total);
            self.next_report = rows + 65536;
        }
    }

    /// Takes the rows of one batch (up to the limit); returns how many were taken.
    fn push_batch(&mut self, batch: &RecordBatch) -> Result<usize, FormatError> {
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

    fn finish(
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
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Errors and hashing

fn parquet_text(e: &ParquetError) -> String {
    match e {
        ParquetError::General(m) | ParquetError::ArrowError(m) => m.clone(),
        ParquetError::NYI(m) => format!("not yet implemented: {m}"),
        ParquetError::EOF(m) => format!("unexpected end of file: {m}"),
        ParquetError::External(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

fn arrow_text(e: &ArrowError) -> String {
    match e {
        ArrowError::ExternalError(inner) => match inner.downcast_ref::<ParquetError>() {
            Some(p) => parquet_text(p),
            None => inner.to_string(),
        },
        ArrowError::ParquetError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// A decoder's refusal: a codec or feature this build lacks is `Unsupported`, anything else `Invalid`.
fn decode_error(path: &Path, what: &str, text: String) -> FormatError {
    let text = text
        .strip_prefix("Parquet error: ")
        .unwrap_or(&text)
        .to_string();
    let lower = text.to_ascii_lowercase();
    // parquet: "Disabled feature at compile time: flate2"; arrow-ipc: "lz4 IPC decompression requires the lz4 feature".
    let codec = if let Some((_, after)) = lower.split_once("disabled feature at compile time: ") {
        let feature = after.split_whitespace().next().unwrap_or("");
        Some(match feature {
            "flate2" => "gzip",
            "snap" => "snappy",
            f => f,
        })
    } else if let Some((before, _)) = lower.split_once(" ipc decompression requires the") {
        before.split_whitespace().last()
    } else {
        None
    };
    if let Some(codec) = codec {
        let resave = if what == "Parquet" {
            "uncompressed, or with snappy or zstd compression"
        } else {
            "uncompressed"
        };
        return FormatError::unsupported(
            path,
            format!(
                "{what} data compressed with {codec}, which this build cannot decompress ({text}); re-save the file {resave}"
            ),
        );
    }
    if lower.contains("not yet implemented")
        || lower.contains("not supported")
        || lower.contains("unsupported")
    {
        return FormatError::unsupported(path, format!("{what}: {text}"));
    }
    FormatError::invalid(
        path,
        Location::None,
        format!("not a readable {what} file: {text}"),
    )
}

fn file_sha256(path: &Path) -> Result<String, FormatError> {
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

// ---------------------------------------------------------------------------------------------
// Writing

/// Writes `token`, `embedding` (fixed-size list of float32) and the metadata columns (strings).
pub(crate) fn write_parquet(set: &EmbeddingSet, path: &Path) -> Result<(), FormatError> {
    let dim = set.dim();
    let dim_i32 = i32::try_from(dim).map_err(|_| {
        FormatError::unrepresentable(
            path,
            Location::None,
            format!("dimension {dim} is too large for an Arrow fixed-size list"),
        )
    })?;
    let item = Arc::new(Field::new("item", DataType::Float32, false));
    let mut fields = vec![
        Field::new("token", DataType::Utf8, false),
        Field::new(
            "embedding",
            DataType::FixedSizeList(item.clone(), dim_i32),
            false,
        ),
    ];
    for c in set.metadata.columns() {
        if fields.iter().any(|f| f.name() == &c.name) {
            return Err(FormatError::unrepresentable(
                path,
                Location::None,
                format!(
                    "metadata column {:?} has the name of another column (token, embedding or an earlier metadata column)",
                    c.name
                ),
            ));
        }
        fields.push(Field::new(c.name.as_str(), DataType::Utf8, false));
    }
    let schema = Arc::new(Schema::new(fields));
    let group_rows = (GROUP_BYTES / (4 * dim.max(1))).clamp(1024, MAX_GROUP_ROWS);
    // Dictionaries only pay off for metadata (repeated labels): tokens are unique, floats rarely repeat.
    let mut props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_max_row_group_row_count(Some(group_rows))
        .set_dictionary_enabled(false);
    for c in set.metadata.columns() {
        props = props.set_column_dictionary_enabled(ColumnPath::new(vec![c.name.clone()]), true);
    }
    let props = props.build();
    let tmp = super::write::temp_path(path);
    let write = || -> Result<(), FormatError> {
        let file = File::create(&tmp).map_err(|e| FormatError::io(path, e))?;
        let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| write_error(path, e))?;
        let rows = set.rows();
        let mut start = 0;
        while start < rows {
            let end = (start + group_rows).min(rows);
            let batch = batch_of(set, &schema, &item, dim_i32, start, end, path)?;
            w.write(&batch).map_err(|e| write_error(path, e))?;
            start = end;
        }
        let file = w.into_inner().map_err(|e| write_error(path, e))?;
        file.sync_all().map_err(|e| FormatError::io(path, e))
    };
    if let Err(e) = write() {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FormatError::io(path, e)
    })
}

/// `x.parquet` -> `x.parquet.tmp`, in the same directory (so the rename stays on one file system).
fn batch_of(
    set: &EmbeddingSet,
    schema: &Arc<Schema>,
    item: &Arc<Field>,
    dim: i32,
    start: usize,
    end: usize,
    path: &Path,
) -> Result<RecordBatch, FormatError> {
    let d = set.dim();
    let short = |what: &str| {
        FormatError::mismatch(
            path,
            format!("{what} has fewer than {end} rows: the set is inconsistent"),
        )
    };
    let tokens = StringArray::from_iter_values((start..end).map(|i| set.vocab.token(i)));
    let values = set
        .matrix
        .as_slice()
        .get(start * d..end * d)
        .ok_or_else(|| short("the matrix"))?;
    let values = Float32Array::from(values.to_vec());
    let vectors =
        FixedSizeListArray::try_new(item.clone(), dim, Arc::new(values), None).map_err(|e| {
            FormatError::unrepresentable(path, Location::Row(start as u64), e.to_string())
        })?;
    let mut columns: Vec<ArrayRef> = vec![Arc::new(tokens), Arc::new(vectors)];
    for c in set.metadata.columns() {
        let v = c
            .values
            .get(start..end)
            .ok_or_else(|| short("a metadata column"))?;
        columns.push(Arc::new(StringArray::from_iter_values(v.iter())));
    }
    RecordBatch::try_new(schema.clone(), columns)
        .map_err(|e| FormatError::unrepresentable(path, Location::Row(start as u64), e.to_string()))
}

fn write_error(path: &Path, e: ParquetError) -> FormatError {
    match e {
        ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
            Ok(io) => FormatError::io(path, *io),
            Err(other) => FormatError::new(
                path,
                Location::None,
                ErrorKind::Io(std::io::Error::other(other.to_string())),
            ),
        },
        other => FormatError::new(
            path,
            Location::None,
            ErrorKind::Io(std::io::Error::other(format!(
                "cannot write Parquet: {}",
                parquet_text(&other)
            ))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Matrix, Provenance, Vocab};
    use crate::formats::ErrorKind;
    use arrow_array::builder::{FixedSizeListBuilder, Float64Builder};
    use arrow_array::{
        BooleanArray, Date32Array, DictionaryArray, Int64Array, LargeListArray, LargeStringArray,
        ListArray, StructArray,
    };
    use std::path::PathBuf;

    fn set(
        tokens: &[&str],
        dim: usize,
        values: Vec<f32>,
        meta: &[(&str, Vec<&str>)],
    ) -> EmbeddingSet {
        let vocab = Vocab::from_unique(tokens).unwrap();
        let matrix = Matrix::from_vec(tokens.len(), dim, values).unwrap();
        let mut metadata = Metadata::new();
        for (name, values) in meta {
            let values = values.iter().map(|v| v.to_string()).collect();
            metadata
                .push(
                    MetaColumn {
                        name: name.to_string(),
                        values,
                    },
                    tokens.len(),
                )
                .unwrap();
        }
        EmbeddingSet::new(vocab, matrix, metadata, Provenance::default()).unwrap()
    }

    fn opts() -> LoadOptions {
        LoadOptions::default()
    }

    /// Writes columns as one Parquet file (in batches of `batch` rows) and returns its path.
    fn parquet_file(
        dir: &tempfile::TempDir,
        columns: Vec<(&str, ArrayRef)>,
        batch: usize,
    ) -> PathBuf {
        let b = RecordBatch::try_from_iter(columns).unwrap();
        let path = dir.path().join("t.parquet");
        let mut w = ArrowWriter::try_new(File::create(&path).unwrap(), b.schema(), None).unwrap();
        let mut start = 0;
        while start < b.num_rows() {
            let n = batch.min(b.num_rows() - start);
            w.write(&b.slice(start, n)).unwrap();
            start += n;
        }
        w.close().unwrap();
        path
    }

    fn strings(v: &[&str]) -> ArrayRef {
        Arc::new(StringArray::from(v.to_vec()))
    }

    fn list(rows: Vec<Option<Vec<Option<f32>>>>) -> ArrayRef {
        Arc::new(ListArray::from_iter_primitive::<Float32Type, _, _>(rows))
    }

    fn rows2(n: usize) -> ArrayRef {
        list(
            (0..n)
                .map(|i| Some(vec![Some(i as f32), Some(-(i as f32))]))
                .collect(),
        )
    }

    fn err(path: &Path, o: LoadOptions) -> FormatError {
        match read_parquet(path, &o) {
            Ok(l) => panic!("expected an error, read {} rows", l.matrix.rows()),
            Err(e) => e,
        }
    }

    #[test]
    fn round_trip_is_bit_exact() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.parquet");
        let odd = [
            f32::from_bits(0x7fc0_1234),
            -0.0,
            f32::from_bits(1),
            f32::INFINITY,
            1.5e-30,
            -7.25,
        ];
        let s = set(
            &["the", "naïve", "", "日本"],
            3,
            odd.iter().chain(&odd).copied().collect(),
            &[
                ("pos", vec!["det", "adj", "", "noun"]),
                ("freq", vec!["1", "2", "3", "4"]),
            ],
        );
        write_parquet(&s, &path).unwrap();
        assert!(!super::super::write::temp_path(&path).exists());
        let l = read_parquet(&path, &opts()).unwrap();
        assert_eq!(l.vocab, s.vocab);
        assert_eq!(l.matrix, s.matrix, "values must survive bit for bit");
        assert_eq!(l.matrix.row(0)[0].to_bits(), 0x7fc0_1234);
        assert_eq!(l.metadata, s.metadata);
        assert_eq!(l.params["token_column"], "token");
        assert_eq!(l.params["vector_column"], "embedding");
        assert_eq!(l.notes.rows_read, 4);
        assert_eq!(l.notes.declared_rows, Some(4));
        assert!(l.notes.warnings.is_empty(), "{:?}", l.notes.warnings);
        let digest = Sha256::digest(std::fs::read(&path).unwrap());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(l.sha256.as_deref(), Some(hex.as_str()));
        // The schema written: token string, embedding fixed_size_list<float32, 3> of non-null values.
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let f = b.schema().field(1).clone();
        let DataType::FixedSizeList(item, 3) = f.data_type() else {
            panic!("{f:?}")
        };
        assert!(!item.is_nullable() && item.data_type() == &DataType::Float32);
        assert_eq!(b.schema().field(0).data_type(), &DataType::Utf8);
        assert_eq!(
            b.metadata().row_group(0).column(0).compression(),
            Compression::SNAPPY
        );
    }

    #[test]
    fn large_sets_are_written_in_row_groups() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.parquet");
        let n = MAX_GROUP_ROWS + 10;
        let tokens: Vec<String> = (0..n).map(|i| format!("w{i}")).collect();
        let vocab = Vocab::from_unique(&tokens).unwrap();
        let m = Matrix::from_vec(n, 2, (0..2 * n).map(|x| x as f32).collect()).unwrap();
        let s = EmbeddingSet::new(vocab, m, Metadata::new(), Provenance::default()).unwrap();
        write_parquet(&s, &path).unwrap();
        let b = ParquetRecordBatchReaderBuilder::try_new(File::open(&path).unwrap()).unwrap();
        let groups: Vec<i64> = b
            .metadata()
            .row_groups()
            .iter()
            .map(|g| g.num_rows())
            .collect();
        assert_eq!(groups, vec![MAX_GROUP_ROWS as i64, 10]);
        let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
        let calls = seen.clone();
        let progress: Arc<crate::formats::Progress> =
            Arc::new(move |d, t| calls.lock().unwrap().push((d, t)));
        let l = read_parquet(
            &path,
            &LoadOptions {
                progress: Some(progress),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.vocab, s.vocab);
        assert_eq!(l.matrix, s.matrix);
        let seen = seen.lock().unwrap();
        assert!(seen.len() >= 2 && seen.len() < 10, "{seen:?}");
        assert_eq!(seen.last(), Some(&(n as u64, n as u64)));
        // Writing over an existing file replaces it.
        write_parquet(&s.truncate(3), &path).unwrap();
        assert_eq!(read_parquet(&path, &opts()).unwrap().matrix.rows(), 3);
    }

    #[test]
    fn limit_stops_early() {
        let dir = tempfile::tempdir().unwrap();
        let n = 5000; // several decoder batches
        let tokens: Vec<String> = (0..n).map(|i| format!("t{i}")).collect();
        let toks: Vec<&str> = tokens.iter().map(String::as_str).collect();
        let path = parquet_file(&dir, vec![("token", strings(&toks)), ("v", rows2(n))], 1000);
        let l = read_parquet(
            &path,
            &LoadOptions {
                limit: Some(2500),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.matrix.rows(), 2500);
        assert_eq!(l.vocab.token(2499), "t2499");
        assert_eq!(l.matrix.row(2499), &[2499.0, -2499.0]);
        assert_eq!(l.notes.rows_read, 2500);
        assert_eq!(
            l.notes.warnings,
            vec!["limit 2500: later rows were not read".to_string()]
        );
        let l = read_parquet(
            &path,
            &LoadOptions {
                limit: Some(n),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.matrix.rows(), n);
        assert!(l.notes.warnings.is_empty());
        let e = err(
            &path,
            LoadOptions {
                limit: Some(0),
                ..opts()
            },
        );
        assert!(e.to_string().contains("limit 0"), "{e}");
    }

    #[test]
    fn duplicate_tokens_keep_metadata_aligned() {
        let dir = tempfile::tempdir().unwrap();
        let n: ArrayRef = Arc::new(Int64Array::from(vec![0, 1, 2, 3, 4]));
        let note: ArrayRef = Arc::new(StringArray::from(vec![
            Some("x0"),
            None,
            Some("x2"),
            Some("x3"),
            Some("x4"),
        ]));
        let path = parquet_file(
            &dir,
            vec![
                ("word", strings(&["a", "b", "a", "c", "b"])),
                ("emb", rows2(5)),
                ("n", n),
                ("note", note),
            ],
            2,
        );
        let l = read_parquet(&path, &opts()).unwrap();
        assert_eq!(l.vocab.iter().collect::<Vec<_>>(), vec!["a", "b", "c"]);
        assert_eq!(l.matrix.as_slice(), &[0.0, -0.0, 1.0, -1.0, 3.0, -3.0]);
        assert_eq!(l.metadata.column("n").unwrap().values, vec!["0", "1", "3"]);
        assert_eq!(
            l.metadata.column("note").unwrap().values,
            vec!["x0", "", "x3"]
        );
        let d: Vec<(u64, u64)> = l
            .notes
            .duplicates
            .iter()
            .map(|d| (d.kept_row, d.dropped_row))
            .collect();
        assert_eq!(d, vec![(0, 2), (1, 4)]);
        assert_eq!(l.notes.rows_read, 5);
    }

    #[test]
    fn bad_vectors_name_the_row() {
        let dir = tempfile::tempdir().unwrap();
        let v = |x: f32| Some(vec![Some(x), Some(x), Some(x)]);
        let cases = [
            (
                vec![v(1.0), v(2.0), Some(vec![Some(3.0), Some(3.0)])],
                2,
                "embedding has 2 values, expected 3",
            ),
            (vec![v(1.0), None, v(3.0)], 1, "null vector (token \"b\")"),
            (
                vec![v(1.0), v(2.0), Some(vec![Some(3.0), None, Some(3.0)])],
                2,
                "null value at position 1",
            ),
            (vec![Some(vec![]), v(2.0), v(3.0)], 0, "empty vector"),
        ];
        for (rows, row, msg) in cases {
            let path = parquet_file(
                &dir,
                vec![
                    ("token", strings(&["a", "b", "c"])),
                    ("embedding", list(rows)),
                ],
                10,
            );
            let e = err(&path, opts());
            assert_eq!(e.location, Location::Row(row), "{e}");
            assert!(e.to_string().contains(msg), "{e}");
            assert!(matches!(e.kind, ErrorKind::Invalid(_)), "{e}");
        }
        let tokens: ArrayRef = Arc::new(StringArray::from(vec![Some("a"), None, Some("c")]));
        let path = parquet_file(&dir, vec![("token", tokens), ("embedding", rows2(3))], 10);
        let e = err(&path, opts());
        assert_eq!(e.location, Location::Row(1));
        assert!(
            e.to_string().contains("null token in column \"token\""),
            "{e}"
        );
    }

    #[test]
    fn vector_column_choice() {
        let dir = tempfile::tempdir().unwrap();
        let n: ArrayRef = Arc::new(Int64Array::from(vec![1, 2]));
        let path = parquet_file(&dir, vec![("token", strings(&["a", "b"])), ("n", n)], 10);
        let e = err(&path, opts());
        let s = e.to_string();
        assert!(
            s.contains("no vector column") && s.contains("\"token\" (string), \"n\" (int64)"),
            "{s}"
        );

        let path = parquet_file(
            &dir,
            vec![
                ("token", strings(&["a", "b"])),
                ("a", rows2(2)),
                ("b", rows2(2)),
            ],
            10,
        );
        let e = err(&path, opts());
        assert!(
            e.to_string()
                .contains("\"a\", \"b\"; pick one with --vector-column"),
            "{e}"
        );
        let l = read_parquet(
            &path,
            &LoadOptions {
                vector_column: Some("b".into()),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.params["vector_column"], "b");
        let e = err(
            &path,
            LoadOptions {
                vector_column: Some("c".into()),
                ..opts()
            },
        );
        assert!(
            e.to_string().contains("no column named \"c\"")
                && e.to_string().contains("\"b\" (list<float32>)"),
            "{e}"
        );
        let e = err(
            &path,
            LoadOptions {
                vector_column: Some("token".into()),
                ..opts()
            },
        );
        assert!(e.to_string().contains("has type string"), "{e}");

        let path = parquet_file(
            &dir,
            vec![
                ("token", strings(&["a", "b"])),
                ("a", rows2(2)),
                ("Vectors", rows2(2)),
            ],
            10,
        );
        let l = read_parquet(&path, &opts()).unwrap();
        assert_eq!(l.params["vector_column"], "Vectors");
        // The other float list is nested: skipped with a warning, not metadata.
        assert!(l.metadata.is_empty());
        assert!(
            l.notes.warnings[0].contains("\"a\" (list<float32>) is not kept"),
            "{:?}",
            l.notes.warnings
        );
    }

    #[test]
    fn token_column_choice() {
        let dir = tempfile::tempdir().unwrap();
        let ids: ArrayRef = Arc::new(Int64Array::from(vec![10, 20]));
        let path = parquet_file(&dir, vec![("id", ids), ("embedding", rows2(2))], 10);
        let l = read_parquet(&path, &opts()).unwrap();
        assert_eq!(l.vocab.iter().collect::<Vec<_>>(), vec!["0", "1"]);
        assert_eq!(l.params["token_column"], "#row");
        assert!(
            l.notes.warnings[0].contains("row number"),
            "{:?}",
            l.notes.warnings
        );
        assert_eq!(l.metadata.column("id").unwrap().values, vec!["10", "20"]);
        let l = read_parquet(
            &path,
            &LoadOptions {
                token_column: Some("id".into()),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.vocab.iter().collect::<Vec<_>>(), vec!["10", "20"]);
        assert!(l.metadata.is_empty() && l.notes.warnings.is_empty());
        let e = err(
            &path,
            LoadOptions {
                token_column: Some("embedding".into()),
                ..opts()
            },
        );
        assert!(e.to_string().contains("holds the vectors"), "{e}");

        let path = parquet_file(
            &dir,
            vec![
                ("pos", strings(&["n", "v"])),
                ("Word", strings(&["x", "y"])),
                ("embedding", rows2(2)),
            ],
            10,
        );
        let l = read_parquet(&path, &opts()).unwrap();
        assert_eq!(l.vocab.iter().collect::<Vec<_>>(), vec!["x", "y"]);
        assert_eq!(l.metadata.column("pos").unwrap().values, vec!["n", "v"]);
        let l = read_parquet(
            &path,
            &LoadOptions {
                token_column: Some("#row".into()),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.vocab.iter().collect::<Vec<_>>(), vec!["0", "1"]);
        assert_eq!(l.metadata.columns().len(), 2);
        let e = err(
            &path,
            LoadOptions {
                token_column: Some("nope".into()),
                ..opts()
            },
        );
        assert!(
            e.to_string()
                .contains("no column named \"nope\" for the tokens"),
            "{e}"
        );

        let path = parquet_file(
            &dir,
            vec![
                ("a", strings(&["n", "v"])),
                ("b", strings(&["x", "y"])),
                ("embedding", rows2(2)),
            ],
            10,
        );
        let l = read_parquet(&path, &opts()).unwrap();
        assert_eq!(l.params["token_column"], "a");
        assert!(
            l.notes.warnings[0].contains("took \"a\""),
            "{:?}",
            l.notes.warnings
        );
    }

    #[test]
    fn other_float_types_and_metadata_types() {
        let dir = tempfile::tempdir().unwrap();
        let mut fixed = FixedSizeListBuilder::new(Float64Builder::new(), 2);
        for x in [0.1f64, 2.5] {
            fixed.values().append_value(x);
            fixed.values().append_value(-x);
            fixed.append(true);
        }
        let large: ArrayRef = Arc::new(LargeListArray::from_iter_primitive::<Float16Type, _, _>(
            vec![
                Some(vec![
                    Some(half::f16::from_f32(0.5)),
                    Some(half::f16::from_f32(-2.0)),
                ]),
                Some(vec![
                    Some(half::f16::from_f32(1.0)),
                    Some(half::f16::from_f32(3.0)),
                ]),
            ],
        ));
        let tokens: ArrayRef = Arc::new(LargeStringArray::from(vec!["a", "b"]));
        let flag: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None]));
        let day: ArrayRef = Arc::new(Date32Array::from(vec![0, 19000]));
        let cat: ArrayRef = Arc::new(
            vec!["noun", "verb"]
                .into_iter()
                .collect::<DictionaryArray<Int32Type>>(),
        );
        let nested: ArrayRef = Arc::new(StructArray::from(vec![(
            Arc::new(Field::new("x", DataType::Int64, false)),
            Arc::new(Int64Array::from(vec![1, 2])) as ArrayRef,
        )]));
        let columns = vec![
            ("token", tokens),
            ("vector", Arc::new(fixed.finish()) as ArrayRef),
            ("half", large),
            ("flag", flag),
            ("day", day),
            ("cat", cat),
            ("nested", nested),
        ];
        let path = parquet_file(&dir, columns, 10);
        let l = read_parquet(&path, &opts()).unwrap();
        assert_eq!(l.params["vector_column"], "vector");
        assert_eq!(
            l.matrix.as_slice(),
            &[0.1f64 as f32, -0.1f64 as f32, 2.5, -2.5]
        );
        let values = |c: &str| l.metadata.column(c).unwrap().values.clone();
        assert_eq!(values("flag"), vec!["true", ""]);
        assert_eq!(values("day"), vec!["1970-01-01", "2022-01-08"]);
        assert_eq!(values("cat"), vec!["noun", "verb"]);
        assert!(l.metadata.column("half").is_none() && l.metadata.column("nested").is_none());
        assert_eq!(l.notes.warnings.len(), 2, "{:?}", l.notes.warnings);
        let l = read_parquet(
            &path,
            &LoadOptions {
                vector_column: Some("half".into()),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.matrix.as_slice(), &[0.5, -2.0, 1.0, 3.0]);
        assert_eq!(l.matrix.dim(), 2);
    }

    #[test]
    fn arrow_ipc_batches_and_limit() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.arrow");
        let b = RecordBatch::try_from_iter(vec![
            ("token", strings(&["a", "b", "c", "d", "e", "f"])),
            ("embedding", rows2(6)),
            ("pos", strings(&["1", "2", "3", "4", "5", "6"])),
        ])
        .unwrap();
        let mut w =
            arrow_ipc::writer::FileWriter::try_new(File::create(&path).unwrap(), &b.schema())
                .unwrap();
        for k in 0..3 {
            w.write(&b.slice(2 * k, 2)).unwrap();
        }
        w.finish().unwrap();
        let l = read_arrow_ipc(&path, &opts()).unwrap();
        assert_eq!(
            l.vocab.iter().collect::<Vec<_>>(),
            vec!["a", "b", "c", "d", "e", "f"]
        );
        assert_eq!(l.matrix.row(5), &[5.0, -5.0]);
        assert_eq!(l.metadata.column("pos").unwrap().values.len(), 6);
        assert_eq!(l.notes.declared_rows, None);
        let l = read_arrow_ipc(
            &path,
            &LoadOptions {
                limit: Some(3),
                ..opts()
            },
        )
        .unwrap();
        assert_eq!(l.matrix.rows(), 3);
        assert_eq!(
            l.notes.warnings,
            vec!["limit 3: later rows were not read".to_string()]
        );
        let l = read_arrow_ipc(
            &path,
            &LoadOptions {
                limit: Some(6),
                ..opts()
            },
        )
        .unwrap();
        assert!(l.notes.warnings.is_empty());
        // A Parquet file is not an Arrow IPC file, nor the other way round.
        let e = read_parquet(&path, &opts()).err().unwrap();
        assert!(matches!(e.kind, ErrorKind::Invalid(_)), "{e}");
    }

    #[test]
    fn corrupt_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = parquet_file(
            &dir,
            vec![("token", strings(&["a", "b"])), ("embedding", rows2(2))],
            10,
        );
        let bytes = std::fs::read(&good).unwrap();
        let bad = dir.path().join("bad.parquet");
        let cases: Vec<Vec<u8>> = vec![
            b"not parquet at all, just some text".to_vec(),
            Vec::new(),
            bytes[..bytes.len() - 20].to_vec(),
            {
                let mut b = bytes.clone();
                let k = b.len() / 3; // damage the data pages, keep the footer
                b[k..k + 16].fill(0xff);
                b
            },
            [&bytes[..4], &bytes[bytes.len() - 8..]].concat(),
        ];
        for (k, c) in cases.iter().enumerate() {
            std::fs::write(&bad, c).unwrap();
            match read_parquet(&bad, &opts()) {
                Err(e) => assert!(
                    matches!(
                        e.kind,
                        ErrorKind::Invalid(_) | ErrorKind::Unsupported(_) | ErrorKind::Empty
                    ),
                    "case {k}: {e}"
                ),
                Ok(l) => assert_eq!(l.matrix.rows(), 2, "case {k}"),
            }
            assert!(read_arrow_ipc(&bad, &opts()).is_err(), "case {k}");
        }
        std::fs::write(&bad, b"").unwrap();
        let e = read_arrow_ipc(&bad, &opts()).err().unwrap();
        assert!(matches!(e.kind, ErrorKind::Empty), "{e}");
        let e = read_parquet(&dir.path().join("missing.parquet"), &opts())
            .err()
            .unwrap();
        assert!(matches!(e.kind, ErrorKind::NotFound));
    }

    #[test]
    fn missing_codecs_are_unsupported() {
        let p = Path::new("x");
        let e = decode_error(
            p,
            "Parquet",
            "Parquet error: Disabled feature at compile time: flate2".into(),
        );
        assert!(matches!(e.kind, ErrorKind::Unsupported(_)), "{e}");
        assert!(e.to_string().contains("compressed with gzip"), "{e}");
        let e = decode_error(
            p,
            "Arrow IPC",
            "Invalid argument error: lz4 IPC decompression requires the lz4 feature".into(),
        );
        assert!(
            e.to_string().contains("Arrow IPC data compressed with lz4"),
            "{e}"
        );
        let e = decode_error(p, "Parquet", "Invalid Parquet file. Corrupt footer".into());
        assert!(matches!(e.kind, ErrorKind::Invalid(_)), "{e}");
    }

    #[test]
    fn writer_refuses_clashing_names_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        let s = set(&["a"], 1, vec![1.0], &[("token", vec!["t"])]);
        let e = write_parquet(&s, &path).unwrap_err();
        assert!(matches!(e.kind, ErrorKind::Unrepresentable(_)), "{e}");
        assert!(!path.exists() && !super::super::write::temp_path(&path).exists());
        let e = write_parquet(
            &set(&["a"], 1, vec![1.0], &[]),
            &dir.path().join("no/such/dir/x.parquet"),
        );
        assert!(e.is_err());
    }
}
