//! The readers and the writer end to end, on files written here.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow_array::builder::{FixedSizeListBuilder, Float64Builder};
use arrow_array::types::{Float16Type, Float32Type, Int32Type};
use arrow_array::{
    ArrayRef, BooleanArray, Date32Array, DictionaryArray, Int64Array, LargeListArray,
    LargeStringArray, ListArray, RecordBatch, StringArray, StructArray,
};
use arrow_schema::{DataType, Field};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::basic::Compression;
use sha2::{Digest, Sha256};

use super::errors::decode_error;
use super::write::MAX_GROUP_ROWS;
use super::{read_arrow_ipc, read_parquet, write_parquet};
use crate::core::{EmbeddingSet, Matrix, MetaColumn, Metadata, Provenance, Vocab};
use crate::formats::error::{FormatError, Location};
use crate::formats::write::temp_path;
use crate::formats::{ErrorKind, LoadOptions, Loaded};

fn set(tokens: &[&str], dim: usize, values: Vec<f32>, meta: &[(&str, Vec<&str>)]) -> EmbeddingSet {
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

fn limit(n: usize) -> LoadOptions {
    LoadOptions {
        limit: Some(n),
        ..opts()
    }
}

fn vector_column(name: &str) -> LoadOptions {
    LoadOptions {
        vector_column: Some(name.into()),
        ..opts()
    }
}

fn token_column(name: &str) -> LoadOptions {
    LoadOptions {
        token_column: Some(name.into()),
        ..opts()
    }
}

/// Writes columns as one Parquet file (in batches of `batch` rows) and returns its path.
fn parquet_file(dir: &tempfile::TempDir, columns: Vec<(&str, ArrayRef)>, batch: usize) -> PathBuf {
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

/// The tokens read, in order.
fn tokens(l: &Loaded) -> Vec<&str> {
    l.vocab.iter().collect()
}

fn assert_first_warning(l: &Loaded, text: &str) {
    assert!(
        l.notes.warnings.first().is_some_and(|w| w.contains(text)),
        "{:?}",
        l.notes.warnings
    );
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
    assert!(!temp_path(&path).exists());
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
    let l = read_parquet(&path, &limit(2500)).unwrap();
    assert_eq!(l.matrix.rows(), 2500);
    assert_eq!(l.vocab.token(2499), "t2499");
    assert_eq!(l.matrix.row(2499), &[2499.0, -2499.0]);
    assert_eq!(l.notes.rows_read, 2500);
    assert_eq!(
        l.notes.warnings,
        vec!["limit 2500: later rows were not read".to_string()]
    );
    let l = read_parquet(&path, &limit(n)).unwrap();
    assert_eq!(l.matrix.rows(), n);
    assert!(l.notes.warnings.is_empty());
    let e = err(&path, limit(0));
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
    assert_eq!(tokens(&l), vec!["a", "b", "c"]);
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
    let l = read_parquet(&path, &vector_column("b")).unwrap();
    assert_eq!(l.params["vector_column"], "b");
    let e = err(&path, vector_column("c"));
    assert!(
        e.to_string().contains("no column named \"c\"")
            && e.to_string().contains("\"b\" (list<float32>)"),
        "{e}"
    );
    let e = err(&path, vector_column("token"));
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
    assert_first_warning(&l, "\"a\" (list<float32>) is not kept");
}

#[test]
fn token_column_choice() {
    let dir = tempfile::tempdir().unwrap();
    let ids: ArrayRef = Arc::new(Int64Array::from(vec![10, 20]));
    let path = parquet_file(&dir, vec![("id", ids), ("embedding", rows2(2))], 10);
    let l = read_parquet(&path, &opts()).unwrap();
    assert_eq!(tokens(&l), vec!["0", "1"]);
    assert_eq!(l.params["token_column"], "#row");
    assert_first_warning(&l, "row number");
    assert_eq!(l.metadata.column("id").unwrap().values, vec!["10", "20"]);
    let l = read_parquet(&path, &token_column("id")).unwrap();
    assert_eq!(tokens(&l), vec!["10", "20"]);
    assert!(l.metadata.is_empty() && l.notes.warnings.is_empty());
    let e = err(&path, token_column("embedding"));
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
    assert_eq!(tokens(&l), vec!["x", "y"]);
    assert_eq!(l.metadata.column("pos").unwrap().values, vec!["n", "v"]);
    let l = read_parquet(&path, &token_column("#row")).unwrap();
    assert_eq!(tokens(&l), vec!["0", "1"]);
    assert_eq!(l.metadata.columns().len(), 2);
    let e = err(&path, token_column("nope"));
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
    assert_first_warning(&l, "took \"a\"");
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
    let l = read_parquet(&path, &vector_column("half")).unwrap();
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
        arrow_ipc::writer::FileWriter::try_new(File::create(&path).unwrap(), &b.schema()).unwrap();
    for k in 0..3 {
        w.write(&b.slice(2 * k, 2)).unwrap();
    }
    w.finish().unwrap();
    let l = read_arrow_ipc(&path, &opts()).unwrap();
    assert_eq!(tokens(&l), vec!["a", "b", "c", "d", "e", "f"]);
    assert_eq!(l.matrix.row(5), &[5.0, -5.0]);
    assert_eq!(l.metadata.column("pos").unwrap().values.len(), 6);
    assert_eq!(l.notes.declared_rows, None);
    let l = read_arrow_ipc(&path, &limit(3)).unwrap();
    assert_eq!(l.matrix.rows(), 3);
    assert_eq!(
        l.notes.warnings,
        vec!["limit 3: later rows were not read".to_string()]
    );
    let l = read_arrow_ipc(&path, &limit(6)).unwrap();
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
    assert!(!path.exists() && !temp_path(&path).exists());
    let e = write_parquet(
        &set(&["a"], 1, vec![1.0], &[]),
        &dir.path().join("no/such/dir/x.parquet"),
    );
    assert!(e.is_err());
}
