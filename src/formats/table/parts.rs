//! A folder of Parquet part files, as Spark, Ray Data, Dask or `embedscope embed --shard` write
//! them (`part-00000-*.parquet`, nested `key=value/` partition folders), read as one data set.
//!
//! The parts are found by walking the folder (names starting with `.` or `_`, such as
//! `_SUCCESS` or `.part-0.crc`, are left out), put in natural order of their relative paths
//! (`part-2` before `part-10`, `month=2` before `month=10`) and streamed one after another into
//! one row sink: no part is held whole, nothing is concatenated. Every part must have the schema
//! of the first (same column names and types); the first that differs is an error naming it.
//! Partition folders become metadata columns (`year=2024` -> column `year`, value `2024`, with
//! Hive's `%XX` escapes decoded); every part must sit under the same partition keys.

use std::cmp::Ordering;
use std::path::{Path, PathBuf};
use std::time::UNIX_EPOCH;

use arrow_schema::Schema;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use sha2::{Digest, Sha256};

use super::errors::{arrow_text, decode_error, parquet_text};
use super::plan::{Plan, type_name};
use super::reader::{TableReader, file_sha256, guard_panics, open_nonempty};
use crate::core::MetaColumn;
use crate::formats::error::{ErrorKind, FormatError, Location};
use crate::formats::{LoadOptions, Loaded};

/// Rows per record batch asked of the Parquet decoder.
const READ_BATCH_ROWS: usize = 2048;
/// Partition folders deeper than this are refused (a link loop, or not a data set).
const MAX_DEPTH: usize = 32;

/// One Parquet file of a folder data set.
#[derive(Debug, Clone)]
pub struct Part {
    pub path: PathBuf,
    /// The path relative to the folder, with `/` separators.
    pub relative: String,
    /// `key=value` folders above the file, outermost first (values decoded).
    pub partition: Vec<(String, String)>,
    pub size: u64,
    pub mtime_ns: i128,
}

/// The Parquet part files under `dir`, in natural order of their relative paths. An empty list
/// when the folder holds none.
pub fn list_parts(dir: &Path) -> Result<Vec<Part>, FormatError> {
    let mut parts = Vec::new();
    walk(dir, dir, &mut Vec::new(), 0, &mut parts)?;
    parts.sort_by(|a, b| natural_path_cmp(&a.relative, &b.relative));
    Ok(parts)
}

/// Whether `dir` holds at least one Parquet part file.
pub fn is_part_folder(dir: &Path) -> bool {
    list_parts(dir).is_ok_and(|p| !p.is_empty())
}

fn hidden(name: &str) -> bool {
    name.starts_with('.') || name.starts_with('_')
}

fn walk(
    root: &Path,
    dir: &Path,
    partition: &mut Vec<(String, String)>,
    depth: usize,
    out: &mut Vec<Part>,
) -> Result<(), FormatError> {
    if depth > MAX_DEPTH {
        return Err(FormatError::invalid(
            dir,
            Location::None,
            format!(
                "folders nest more than {MAX_DEPTH} deep under {}",
                root.display()
            ),
        ));
    }
    let entries = std::fs::read_dir(dir).map_err(|e| FormatError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| FormatError::io(dir, e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if hidden(&name) {
            continue;
        }
        let path = entry.path();
        // Follows links, as readers of such folders do.
        let meta = std::fs::metadata(&path).map_err(|e| FormatError::io(&path, e))?;
        if meta.is_dir() {
            let pushed = match name.split_once('=') {
                Some((k, v)) if !k.is_empty() => {
                    partition.push((unescape(k), unescape(v)));
                    true
                }
                _ => false,
            };
            walk(root, &path, partition, depth + 1, out)?;
            if pushed {
                partition.pop();
            }
        } else if meta.is_file() && name.to_ascii_lowercase().ends_with(".parquet") {
            let relative = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect::<Vec<_>>()
                .join("/");
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos() as i128);
            out.push(Part {
                path,
                relative,
                partition: partition.clone(),
                size: meta.len(),
                mtime_ns,
            });
        }
    }
    Ok(())
}

/// Hive's partition-value escaping: `%XX` is the byte XX. Anything else is kept as written.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| (c as char).to_digit(16);
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Orders strings with runs of digits compared by value (`part-2` < `part-10`).
pub fn natural_path_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let nx = x.iter().take_while(|c| c.is_ascii_digit()).count();
                let ny = y.iter().take_while(|c| c.is_ascii_digit()).count();
                let (dx, dy) = (&x[..nx], &y[..ny]);
                let tx = trim_zeros(dx);
                let ty = trim_zeros(dy);
                let ord = tx.len().cmp(&ty.len()).then_with(|| tx.cmp(ty));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[nx..];
                y = &y[ny..];
            }
            (Some(c), Some(d)) => {
                // '/' sorts before everything, so a folder's files come before a sibling
                // folder whose name extends it.
                let key = |c: u8| if c == b'/' { 0 } else { u16::from(c) + 1 };
                let ord = key(*c).cmp(&key(*d));
                if ord != Ordering::Equal {
                    return ord;
                }
                x = &x[1..];
                y = &y[1..];
            }
        }
    }
}

fn trim_zeros(d: &[u8]) -> &[u8] {
    let z = d.iter().take_while(|&&c| c == b'0').count();
    &d[z.min(d.len().saturating_sub(1))..]
}

/// The row count a Parquet file's footer declares (None when it cannot be read).
pub(crate) fn parquet_rows(path: &Path) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    super::check_parquet_structure(path).ok()?;
    let b = ParquetRecordBatchReaderBuilder::try_new(file).ok()?;
    u64::try_from(b.metadata().file_metadata().num_rows()).ok()
}

/// The footer facts of one part, read before any rows.
struct Opened {
    builder: ParquetRecordBatchReaderBuilder<std::fs::File>,
    rows: u64,
}

fn open_part(part: &Part) -> Result<Opened, FormatError> {
    let path = &part.path;
    let file = open_nonempty(path)?;
    super::check_parquet_structure(path)?;
    let builder = ParquetRecordBatchReaderBuilder::try_new(file)
        .map_err(|e| decode_error(path, "Parquet", parquet_text(&e)))?;
    let rows = u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
    Ok(Opened { builder, rows })
}

/// The first difference between two schemas, in words; `None` when the column names and types
/// agree.
fn schema_difference(first: &Schema, other: &Schema) -> Option<String> {
    let names = |s: &Schema| {
        s.fields()
            .iter()
            .map(|f| f.name().clone())
            .collect::<Vec<_>>()
    };
    if names(first) != names(other) {
        return Some(format!(
            "its columns are [{}], the first part's are [{}]",
            names(other).join(", "),
            names(first).join(", ")
        ));
    }
    first
        .fields()
        .iter()
        .zip(other.fields())
        .find(|(a, b)| a.data_type() != b.data_type())
        .map(|(a, b)| {
            format!(
                "column {:?} has type {}, in the first part {}",
                a.name(),
                type_name(b.data_type()),
                type_name(a.data_type())
            )
        })
}

/// Reads every part of the folder `dir` into one set.
pub(crate) fn read_parquet_folder(dir: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    let parts = list_parts(dir)?;
    guard_panics(dir, "Parquet", || read_parts(dir, &parts, opts))
}

fn read_parts(dir: &Path, parts: &[Part], opts: &LoadOptions) -> Result<Loaded, FormatError> {
    let Some(first) = parts.first() else {
        return Err(FormatError::new(dir, Location::None, ErrorKind::NoParts));
    };
    let keys: Vec<&str> = first.partition.iter().map(|(k, _)| k.as_str()).collect();
    // Footers first: every schema and partition layout is checked before a row is read.
    let mut opened = Vec::with_capacity(parts.len());
    let mut declared = 0u64;
    let first_open = open_part(first)?;
    let schema = first_open.builder.schema().clone();
    let plan = Plan::new(&schema, opts, &first.path, "Parquet")?;
    for (k, _) in &first.partition {
        if schema.fields().iter().any(|f| f.name() == k) {
            return Err(FormatError::invalid(
                &first.path,
                Location::None,
                format!(
                    "the partition folder {k}=... names a column the file has too ({k:?}): which one holds the value is ambiguous"
                ),
            ));
        }
    }
    declared += first_open.rows;
    opened.push(first_open);
    for part in &parts[1..] {
        let these: Vec<&str> = part.partition.iter().map(|(k, _)| k.as_str()).collect();
        if these != keys {
            return Err(FormatError::invalid(
                &part.path,
                Location::None,
                format!(
                    "this part lies under partition folders [{}], the first part ({}) under [{}]: every part needs the same partition keys",
                    these.join(", "),
                    first.relative,
                    keys.join(", ")
                ),
            ));
        }
        let o = open_part(part)?;
        if let Some(diff) = schema_difference(&schema, o.builder.schema()) {
            return Err(FormatError::invalid(
                &part.path,
                Location::None,
                format!(
                    "this part's schema differs from the first part's ({}): {diff}",
                    first.relative
                ),
            ));
        }
        declared += o.rows;
        opened.push(o);
    }

    let mut partition_values: Vec<Vec<String>> = vec![Vec::new(); keys.len()];
    let mut table = TableReader::new(&first.path, plan, opts, declared);
    let mut file_hashes = Sha256::new();
    let read = table.read_columns().to_vec();
    for (part, o) in parts.iter().zip(opened) {
        table.set_path(&part.path);
        if table.is_full() {
            break;
        }
        super::reader::check_inflation(&part.path, o.builder.metadata(), Some(&read))?;
        let mask = ProjectionMask::roots(o.builder.parquet_schema(), read.iter().copied());
        let batches = o
            .builder
            .with_projection(mask)
            .with_batch_size(READ_BATCH_ROWS)
            .build()
            .map_err(|e| decode_error(&part.path, "Parquet", parquet_text(&e)))?;
        for batch in batches {
            let batch = batch.map_err(|e| decode_error(&part.path, "Parquet", arrow_text(&e)))?;
            table.push_batch(&batch)?;
            table.report(declared, false);
            let kept = table.rows_kept();
            for (col, (_, v)) in partition_values.iter_mut().zip(&part.partition) {
                col.resize(kept, v.clone());
            }
            if table.is_full() {
                break;
            }
        }
        file_hashes.update(part.relative.as_bytes());
        file_hashes.update([0]);
        file_hashes.update(file_sha256(&part.path)?.as_bytes());
        file_hashes.update([b'\n']);
    }
    table.report(declared, true);
    let more = table.rows_read() < declared;
    let sha = crate::core::hash::hex(&file_hashes.finalize());
    let mut loaded = table.finish(sha, Some(declared), more)?;
    let rows = loaded.matrix.rows();
    for (name, values) in keys.iter().zip(partition_values) {
        loaded
            .metadata
            .push(
                MetaColumn {
                    name: (*name).to_string(),
                    values,
                },
                rows,
            )
            .map_err(|e| FormatError::mismatch(dir, e.to_string()))?;
    }
    loaded
        .params
        .insert("parts".to_string(), parts.len().to_string());
    if !keys.is_empty() {
        loaded
            .params
            .insert("partition_keys".to_string(), keys.join(","));
    }
    Ok(loaded)
}

/// A stamp of the folder's parts for the native cache: total size, the latest modification
/// time, and a hash of every part's relative path, size and modification time (a part added,
/// removed, renamed or rewritten changes it).
pub(crate) fn folder_stamp(parts: &[Part]) -> (u64, i128, String) {
    let mut h = Sha256::new();
    let mut size = 0u64;
    let mut mtime = 0i128;
    for p in parts {
        size = size.saturating_add(p.size);
        mtime = mtime.max(p.mtime_ns);
        h.update(p.relative.as_bytes());
        h.update([0]);
        h.update(p.size.to_le_bytes());
        h.update(p.mtime_ns.to_le_bytes());
    }
    (size, mtime, crate::core::hash::hex(&h.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn natural_order_compares_numbers_by_value() {
        let mut v = vec![
            "part-10.parquet",
            "part-2.parquet",
            "part-00001.parquet",
            "month=10/a.parquet",
            "month=2/a.parquet",
            "a/b.parquet",
            "a.parquet",
        ];
        v.sort_by(|a, b| natural_path_cmp(a, b));
        assert_eq!(
            v,
            [
                "a/b.parquet",
                "a.parquet",
                "month=2/a.parquet",
                "month=10/a.parquet",
                "part-00001.parquet",
                "part-2.parquet",
                "part-10.parquet"
            ]
        );
        // Zero-padded numbers of equal value keep a total order.
        assert_eq!(natural_path_cmp("p-01", "p-1"), "p-01".cmp("p-1"));
    }

    #[test]
    fn hive_escapes_are_decoded() {
        assert_eq!(unescape("a%2Fb%3Dc"), "a/b=c");
        assert_eq!(unescape("100%"), "100%");
        assert_eq!(unescape("%zz"), "%zz");
    }
}
