//! The Parquet writer: `token`, `embedding` and string metadata columns in row groups sized to
//! the dimension, through a temporary file renamed into place.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{
    ArrayRef, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray,
};
use arrow_schema::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::schema::types::ColumnPath;

use super::errors::parquet_text;
use crate::core::EmbeddingSet;
use crate::formats::error::{ErrorKind, FormatError, Location};

/// Most rows per written row group (and per batch handed to the writer).
pub(super) const MAX_GROUP_ROWS: usize = 65536;
/// Float32 bytes aimed at per written row group: wide vectors get smaller groups.
const GROUP_BYTES: usize = 128 << 20;

/// Writes `token`, `embedding` (fixed-size list of float32) and the metadata columns (strings).
#[cfg(test)]
pub(crate) fn write_parquet(set: &EmbeddingSet, path: &Path) -> Result<(), FormatError> {
    write_parquet_temp(set, path)?.commit().map(|_| ())
}

/// The same file written into a temporary file beside `path`, not yet renamed (removed when
/// dropped).
pub(crate) fn write_parquet_temp(
    set: &EmbeddingSet,
    path: &Path,
) -> Result<crate::formats::write::TempFile, FormatError> {
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
    let tmp = crate::formats::write::TempFile::new(path)?;
    let write = || -> Result<(), FormatError> {
        let file = tmp.create()?;
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
    write()?;
    Ok(tmp)
}

/// The type of one column of a plain table written by [`write_parquet_table`] (every column
/// nullable).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellType {
    Utf8,
    Float32,
    Int64,
}

/// One batch of one column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Cells {
    Utf8(Vec<Option<String>>),
    Float32(Vec<Option<f32>>),
    Int64(Vec<Option<i64>>),
}

impl Cells {
    fn len(&self) -> usize {
        match self {
            Cells::Utf8(v) => v.len(),
            Cells::Float32(v) => v.len(),
            Cells::Int64(v) => v.len(),
        }
    }

    fn into_array(self) -> ArrayRef {
        match self {
            Cells::Utf8(v) => Arc::new(StringArray::from(v)),
            Cells::Float32(v) => Arc::new(Float32Array::from(v)),
            Cells::Int64(v) => Arc::new(Int64Array::from(v)),
        }
    }
}

/// Writes a plain table (named, typed, nullable columns; no vectors) as Parquet through a
/// temporary file renamed into place: each item of `batches` is one batch of every column, in
/// `columns`' order, and becomes a row group. Nothing is left at `path` or beside it on error.
pub fn write_parquet_table(
    path: &Path,
    columns: &[(String, CellType)],
    batches: impl IntoIterator<Item = Vec<Cells>>,
) -> Result<(), FormatError> {
    let mut fields: Vec<Field> = Vec::with_capacity(columns.len());
    for (name, ty) in columns {
        if fields.iter().any(|f| f.name() == name) {
            return Err(FormatError::unrepresentable(
                path,
                Location::None,
                format!("two columns are named {name:?}"),
            ));
        }
        let dt = match ty {
            CellType::Utf8 => DataType::Utf8,
            CellType::Float32 => DataType::Float32,
            CellType::Int64 => DataType::Int64,
        };
        fields.push(Field::new(name.as_str(), dt, true));
    }
    let schema = Arc::new(Schema::new(fields));
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .build();
    let tmp = crate::formats::write::TempFile::new(path)?;
    let write = || -> Result<(), FormatError> {
        let file = tmp.create()?;
        let mut w = ArrowWriter::try_new(file, schema.clone(), Some(props))
            .map_err(|e| write_error(path, e))?;
        let mut written = 0u64;
        for batch in batches {
            let typed = batch.len() == columns.len()
                && batch.iter().zip(columns).all(|(c, (_, ty))| {
                    matches!(
                        (c, ty),
                        (Cells::Utf8(_), CellType::Utf8)
                            | (Cells::Float32(_), CellType::Float32)
                            | (Cells::Int64(_), CellType::Int64)
                    )
                });
            let rows = batch.first().map_or(0, Cells::len);
            if !typed || batch.iter().any(|c| c.len() != rows) {
                return Err(FormatError::unrepresentable(
                    path,
                    Location::Row(written),
                    "a batch does not match the table's columns",
                ));
            }
            let arrays: Vec<ArrayRef> = batch.into_iter().map(Cells::into_array).collect();
            let rb = RecordBatch::try_new(schema.clone(), arrays).map_err(|e| {
                FormatError::unrepresentable(path, Location::Row(written), e.to_string())
            })?;
            w.write(&rb).map_err(|e| write_error(path, e))?;
            w.flush().map_err(|e| write_error(path, e))?;
            written += rows as u64;
        }
        let file = w.into_inner().map_err(|e| write_error(path, e))?;
        file.sync_all().map_err(|e| FormatError::io(path, e))
    };
    write()?;
    tmp.commit().map(|_| ())
}

/// Rows `start..end` of the set as one record batch of `schema`.
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
