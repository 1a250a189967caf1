//! Hostile input (issue 19): files whose headers lie about sizes, pipes, over-long lines and
//! records, decompression bombs, files changed while they are read, damaged cache entries.
//! Every case ends in an error that names the file, the place and what was expected: no panic,
//! no abort, no hang, and nothing allocated from a size the file cannot hold.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::Duration;

use embedscope::formats::corpus::{Corpus, CorpusOptions};
use embedscope::formats::{self, CacheStatus, Format, LoadOptions};

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn load_err(p: &Path) -> String {
    match formats::load(p, &LoadOptions::default()) {
        Ok(s) => panic!(
            "{}: loaded {} rows, expected an error",
            p.display(),
            s.rows()
        ),
        Err(e) => {
            let msg = e.to_string();
            let name = p.file_name().unwrap().to_str().unwrap();
            assert!(
                msg.contains(name),
                "the message does not name the file: {msg}"
            );
            msg
        }
    }
}

#[test]
fn a_header_with_a_huge_dimension_is_refused_in_detection_and_reading() {
    let d = tempfile::tempdir().unwrap();
    // 24 bytes whose header declares 10^11 values a row: detection once sized a row from it.
    let p = write(d.path(), "huge.vec", b"2 100000000000\na 1 2 3\n\n");
    assert_eq!(std::fs::metadata(&p).unwrap().len(), 24);
    let msg = load_err(&p);
    assert!(
        msg.contains("line 1") && msg.contains("dimension 100000000000"),
        "{msg}"
    );
    assert_eq!(
        formats::detect_bytes(b"2 100000000000\na 1 2 3\n", 24, None),
        Some(Format::Word2VecText)
    );
    // The same in a binary header (dimension 10^9), with and without the .bin name.
    let mut bin = b"2 1000000000\nab ".to_vec();
    bin.extend_from_slice(&[0, 0, 0x80, 0x3f, 1, 2, 3, 4]);
    for name in ["huge.bin", "huge_bin.vec"] {
        let p = write(d.path(), name, &bin);
        let msg = load_err(&p);
        assert!(msg.contains("dimension 1000000000"), "{msg}");
    }
    // A dimension above 2^64 is not taken modulo 2^64.
    let p = write(d.path(), "wrap.vec", b"1 18446744073709551618\na 1 2\n");
    let msg = load_err(&p);
    assert!(msg.contains("dimension 18446744073709551618"), "{msg}");
}

#[test]
fn a_dimension_the_file_cannot_hold_is_refused_before_reserving_rows() {
    let d = tempfile::tempdir().unwrap();
    // 16 rows of 2^24 values in a few bytes: no row fits, so nothing is reserved for one.
    let p = write(d.path(), "wide.vec", b"16 16777216\na 1\n");
    let msg = load_err(&p);
    assert!(
        msg.contains("line 2") && msg.contains("expected 16777216 values"),
        "{msg}"
    );
    let mut bin = b"16 16777216\n".to_vec();
    bin.extend_from_slice(b"ab \0\0\x80\x3f");
    let p = write(d.path(), "wide.bin", &bin);
    let msg = load_err(&p);
    assert!(
        msg.contains("line 1") && msg.contains("needs 67108866 bytes, only 7 follow"),
        "{msg}"
    );
}

/// Runs `f` on another thread and waits at most 20 s for it (a hang fails the test).
fn within<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    rx.recv_timeout(Duration::from_secs(20))
        .unwrap_or_else(|_| panic!("{what}: no answer after 20 s (hung)"))
}

#[cfg(unix)]
fn mkfifo(p: &Path) -> bool {
    std::process::Command::new("mkfifo")
        .arg(p)
        .status()
        .is_ok_and(|s| s.success())
}

/// A writer that opens the FIFO (blocking until a reader comes) and writes `bytes`.
#[cfg(unix)]
fn fifo_writer(p: &Path, bytes: &'static [u8]) {
    let p = p.to_path_buf();
    std::thread::spawn(move || {
        if let Ok(mut f) = std::fs::OpenOptions::new().write(true).open(&p) {
            let _ = f.write_all(bytes);
        }
    });
}

#[cfg(unix)]
#[test]
fn a_fifo_is_refused_as_vectors_without_blocking() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("pipe.vec");
    if !mkfifo(&p) {
        eprintln!("mkfifo is not available: skipped");
        return;
    }
    fifo_writer(&p, b"2 2\na 1 2\nb 3 4\n");
    let q = p.clone();
    let r = within("loading a FIFO", move || {
        formats::load(&q, &LoadOptions::default())
            .map(|s| s.rows())
            .map_err(|e| (e.to_string(), e.kind_name()))
    });
    let (msg, kind) = r.expect_err("a FIFO must be refused");
    assert_eq!(kind, "not_regular");
    assert!(
        msg.contains("pipe.vec") && msg.contains("is not a regular file (a pipe)"),
        "{msg}"
    );
    let q = p.clone();
    let r = within("detecting a FIFO", move || {
        formats::detect(&q).map_err(|e| e.to_string())
    });
    assert!(r.unwrap_err().contains("a pipe"));
    // A JSONL corpus is opened twice: refused too. Plain text is read once: streamed.
    let q = p.clone();
    let r = within("a JSONL corpus from a FIFO", move || {
        let o = CorpusOptions {
            format: Some(embedscope::formats::corpus::CorpusFormat::Jsonl),
            ..CorpusOptions::default()
        };
        Corpus::open(&q, &o).map(|_| ()).map_err(|e| e.to_string())
    });
    assert!(r.unwrap_err().contains("a pipe"));
    let q = p.clone();
    let docs = within("a text corpus from a FIFO", move || {
        let c = Corpus::open(&q, &CorpusOptions::default()).map_err(|e| e.to_string())?;
        c.map(|d| d.map(|d| d.text).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()
    });
    assert_eq!(docs.unwrap(), ["2 2", "a 1 2", "b 3 4"]);
}

fn small_text_set(dir: &Path) -> PathBuf {
    let mut s = String::from("300 4\n");
    for i in 0..300 {
        s.push_str(&format!(
            "w{i} {} 0.5 -0.25 {}\n",
            i as f32 / 7.0,
            1.0 + i as f32
        ));
    }
    write(dir, "small.vec", s.as_bytes())
}

#[test]
fn a_cache_entry_whose_vector_bytes_were_overwritten_is_not_served() {
    let d = tempfile::tempdir().unwrap();
    let src = small_text_set(d.path());
    let opts = LoadOptions {
        cache_dir: Some(d.path().join("cache")),
        ..LoadOptions::default()
    };
    let (first, s1) = formats::load_with_status(&src, &opts).unwrap();
    let CacheStatus::Stored(entry) = s1 else {
        panic!("{s1:?}")
    };
    let (_, s2) = formats::load_with_status(&src, &opts).unwrap();
    assert!(matches!(s2, CacheStatus::Hit(_)), "{s2:?}");
    // Overwrite one value in place: same size, same header, same source stamp.
    let mut bytes = std::fs::read(&entry).unwrap();
    let first_row = first.matrix.row(0)[1].to_le_bytes();
    let at = bytes
        .windows(4)
        .rposition(|w| w == first_row)
        .expect("the value's bytes");
    bytes[at..at + 4].copy_from_slice(&123.5f32.to_le_bytes());
    std::fs::write(&entry, &bytes).unwrap();
    // Opened directly, the damaged file is refused with its name and what was expected.
    let msg = load_err(&entry);
    assert!(msg.contains("do not match the checksum"), "{msg}");
    // Through the cache, it is a miss: the source is read again and the entry rewritten.
    let (again, s3) = formats::load_with_status(&src, &opts).unwrap();
    assert!(matches!(s3, CacheStatus::Stored(_)), "{s3:?}");
    assert_eq!(again.matrix.row(0), first.matrix.row(0));
    let (_, s4) = formats::load_with_status(&src, &opts).unwrap();
    assert!(matches!(s4, CacheStatus::Hit(_)), "{s4:?}");
}

fn corpus(p: &Path, format: embedscope::formats::corpus::CorpusFormat) -> (Vec<String>, Corpus) {
    let o = CorpusOptions {
        format: Some(format),
        ..CorpusOptions::default()
    };
    let mut c = Corpus::open(p, &o).unwrap();
    let docs = c.by_ref().map(|d| d.unwrap().text).collect();
    (docs, c)
}

#[test]
fn an_unterminated_csv_quote_is_a_bad_record_named_by_its_line() {
    use embedscope::formats::corpus::CorpusFormat;
    let d = tempfile::tempdir().unwrap();
    let p = write(
        d.path(),
        "quote.csv",
        b"text,id\nhello,1\n\"open,2\nrest,3\nmore,4\n",
    );
    let (docs, c) = corpus(&p, CorpusFormat::Csv);
    // The record is kept as an empty document (record i stays document i), counted and named.
    assert_eq!(docs, ["hello", ""]);
    let s = c.stats();
    assert_eq!(s.bad_records, 1, "{s:?}");
    let (line, why) = &s.examples[0];
    assert_eq!(*line, 3);
    assert!(
        why.contains("a quote opened on line 3 is never closed") && why.contains("3 more lines"),
        "{why}"
    );
    // A closed quote spanning lines is an ordinary record.
    let p = write(d.path(), "ok.csv", b"text,id\n\"two\nlines\",1\nnext,2\n");
    let (docs, c) = corpus(&p, CorpusFormat::Csv);
    assert_eq!(docs, ["two\nlines", "next"]);
    assert_eq!(c.stats().bad_records, 0);
}

#[cfg(target_os = "linux")]
#[test]
fn a_csv_record_without_end_is_refused_at_the_record_limit() {
    let r = within("/dev/zero as CSV", || {
        let o = CorpusOptions {
            format: Some(embedscope::formats::corpus::CorpusFormat::Csv),
            ..CorpusOptions::default()
        };
        Corpus::open(Path::new("/dev/zero"), &o)
            .map(|_| ())
            .map_err(|e| e.to_string())
    });
    let msg = r.unwrap_err();
    assert!(
        msg.contains(
            "/dev/zero: line 1 (byte 0): a record starting on line 1 is longer than 64 MiB"
        ),
        "{msg}"
    );
}

#[test]
fn an_overlong_corpus_line_is_cut_or_a_bad_record_and_reading_goes_on() {
    use embedscope::formats::corpus::CorpusFormat;
    let d = tempfile::tempdir().unwrap();
    let mut big = vec![b'x'; formats::MAX_LINE_BYTES + (1 << 20)];
    big.extend_from_slice(b"\nnext\n");
    let p = write(d.path(), "long.txt", &big);
    let (docs, c) = corpus(&p, CorpusFormat::Lines);
    assert_eq!(docs.len(), 2);
    assert_eq!(docs[1], "next");
    assert_eq!(c.stats().truncated, 1);
    // JSONL: the cut line is not taken for a damaged record; it is counted as over-long.
    let mut big = vec![b'x'; formats::MAX_LINE_BYTES + (1 << 20)];
    big[0] = b'{';
    big.extend_from_slice(b"\n{\"text\":\"ok\"}\n");
    let p = write(d.path(), "long.jsonl", &big);
    let (docs, c) = corpus(&p, CorpusFormat::Jsonl);
    assert_eq!(docs.last().map(String::as_str), Some("ok"));
    let s = c.stats();
    assert!(s.bad_records >= 1, "{s:?}");
    assert_eq!(s.examples[0].0, 1);
    assert!(s.examples[0].1.contains("longer than 64 MiB"), "{s:?}");
}

fn tiny_npy(dir: &Path, name: &str, rows: usize) -> PathBuf {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, 2), }}");
    let mut h = b"\x93NUMPY\x01\x00".to_vec();
    let total = (10 + dict.len() + 1).div_ceil(64) * 64;
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(total - 1, b' ');
    h.push(b'\n');
    for i in 0..rows * 2 {
        h.extend_from_slice(&(i as f32).to_le_bytes());
    }
    write(dir, name, &h)
}

#[test]
fn vocabulary_and_metadata_files_are_read_only_as_far_as_they_are_used() {
    let d = tempfile::tempdir().unwrap();
    let npy = tiny_npy(d.path(), "arr.npy", 3);
    // Far more tokens than rows: the reading stops after one token too many.
    let mut many = String::new();
    for i in 0..100_000 {
        many.push_str(&format!("t{i}\n"));
    }
    let vocab = write(d.path(), "many.txt", many.as_bytes());
    let o = LoadOptions {
        vocab: Some(vocab),
        ..LoadOptions::default()
    };
    let e = formats::load(&npy, &o).unwrap_err().to_string();
    assert!(
        e.contains("many.txt") && e.contains("the vocabulary has more than 4 tokens but"),
        "{e}"
    );
    #[cfg(target_os = "linux")]
    {
        let e = within("/dev/zero as a vocabulary", move || {
            let o = LoadOptions {
                vocab: Some(PathBuf::from("/dev/zero")),
                ..LoadOptions::default()
            };
            formats::load(&npy, &o)
                .map(|_| ())
                .map_err(|e| e.to_string())
        })
        .unwrap_err();
        assert!(
            e.contains("/dev/zero: line 1 (byte 0): the line is longer than 64 MiB"),
            "{e}"
        );
    }
    // Projector metadata: the same bound.
    let vec = write(d.path(), "p_vectors.tsv", b"0.5\t1.5\t2\n3\t4\t5.5\n");
    write(d.path(), "p_metadata.tsv", many.as_bytes());
    let e = load_err(&vec);
    assert!(e.contains("more than 4 metadata rows"), "{e}");
}

#[test]
fn a_parquet_file_whose_pages_inflate_far_beyond_its_size_is_refused_before_decoding() {
    use std::sync::Arc;

    use arrow_array::builder::{FixedSizeListBuilder, Float32Builder};
    use arrow_array::{ArrayRef, RecordBatch, StringArray};
    use parquet::arrow::ArrowWriter;
    use parquet::basic::{Compression, ZstdLevel};
    use parquet::file::properties::WriterProperties;

    const DIM: i32 = 256;
    const ROWS: usize = 4096;
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("bomb.parquet");
    let props = WriterProperties::builder()
        .set_dictionary_enabled(false)
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(3).unwrap()))
        .set_max_row_group_row_count(Some(1 << 20))
        .build();
    let mut w: Option<ArrowWriter<std::fs::File>> = None;
    // 80 batches of 4096 zero rows of 256 float32: 320 MiB of values, a few hundred KiB of file.
    for b in 0..80 {
        let mut v = FixedSizeListBuilder::new(Float32Builder::new(), DIM);
        for _ in 0..ROWS {
            v.values().append_slice(&[0.0; DIM as usize]);
            v.append(true);
        }
        let tokens: Vec<String> = (0..ROWS).map(|i| format!("t{b}_{i}")).collect();
        let batch = RecordBatch::try_from_iter([
            ("token", Arc::new(StringArray::from(tokens)) as ArrayRef),
            ("embedding", Arc::new(v.finish()) as ArrayRef),
        ])
        .unwrap();
        let w = w.get_or_insert_with(|| {
            ArrowWriter::try_new(
                std::fs::File::create(&p).unwrap(),
                batch.schema(),
                Some(props.clone()),
            )
            .unwrap()
        });
        w.write(&batch).unwrap();
    }
    w.unwrap().close().unwrap();
    let len = std::fs::metadata(&p).unwrap().len();
    assert!(len < 8 << 20, "{len}");
    let msg = load_err(&p);
    assert!(
        msg.contains("once decompressed") && msg.contains("a decompression bomb?"),
        "{msg}"
    );
}

/// The child side of the truncation test: maps the array named by the variable, says so, waits
/// for the parent to cut the file, then reads every value.
const MAPPED_CHILD: &str = "EMBEDSCOPE_TEST_MAPPED_CHILD";

#[cfg(target_os = "linux")]
#[test]
fn a_mapped_file_truncated_while_in_use_ends_with_a_message_not_a_signal() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    if let Ok(p) = std::env::var(MAPPED_CHILD) {
        let o = LoadOptions {
            vocab: Some(PathBuf::from("#row")),
            ..LoadOptions::default()
        };
        let set = formats::load(Path::new(&p), &o).unwrap();
        assert!(set.matrix.is_mapped());
        println!("mapped");
        std::io::stdout().flush().unwrap();
        let cut = format!("{p}.cut");
        while !Path::new(&cut).exists() {
            std::thread::sleep(Duration::from_millis(5));
        }
        let sum: f64 = set.matrix.as_slice().iter().map(|&v| f64::from(v)).sum();
        println!("read {sum} after the cut");
        std::process::exit(0);
    }
    let d = tempfile::tempdir().unwrap();
    let p = tiny_npy(d.path(), "cut.npy", 100_000);
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "a_mapped_file_truncated_while_in_use_ends_with_a_message_not_a_signal",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(MAPPED_CHILD, &p)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while out.read_line(&mut line).unwrap() > 0 && !line.contains("mapped") {
        line.clear();
    }
    assert!(line.contains("mapped"), "the child did not map the file");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&p)
        .unwrap()
        .set_len(128)
        .unwrap();
    std::fs::write(format!("{}.cut", p.display()), b"").unwrap();
    let status = within("the child after the cut", move || child.wait_with_output());
    let output = status.unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(
        output.status.code(),
        Some(1),
        "expected exit status 1 with a message, got {:?}; stderr: {stderr}",
        output.status
    );
    assert!(
        stderr.contains("cut.npy: the file changed size while it was read"),
        "{stderr}"
    );
}

#[test]
fn a_safetensors_header_of_many_tensors_gives_a_short_message() {
    use safetensors::tensor::{Dtype, TensorView};
    let d = tempfile::tempdir().unwrap();
    let bytes = 1.0f32.to_le_bytes();
    let names: Vec<String> = (0..5000).map(|i| format!("layer.{i:05}.scale")).collect();
    let views: Vec<(String, TensorView<'_>)> = names
        .iter()
        .map(|n| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, vec![1], &bytes).unwrap(),
            )
        })
        .collect();
    let data = safetensors::serialize(views, None).unwrap();
    let p = write(d.path(), "many.safetensors", &data);
    let msg = load_err(&p);
    assert!(msg.len() < 2000, "{} bytes: {msg}", msg.len());
    assert!(
        msg.contains("no 2-D tensor") && msg.contains("and 4980 more"),
        "{msg}"
    );
    let o = LoadOptions {
        tensor: Some("absent".into()),
        ..LoadOptions::default()
    };
    let msg = formats::load(&p, &o).unwrap_err().to_string();
    assert!(msg.len() < 2000 && msg.contains("and 4980 more"), "{msg}");
}

/// A copy of the tiny BERT fixture's files (not its sub-folders).
fn tiny_bert_copy() -> tempfile::TempDir {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder/tiny-bert");
    let d = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir(&src).unwrap() {
        let e = e.unwrap();
        if e.file_type().unwrap().is_file() {
            std::fs::copy(e.path(), d.path().join(e.file_name())).unwrap();
        }
    }
    d
}

#[cfg(unix)]
#[test]
fn a_model_weight_that_is_a_symlink_loop_is_called_one() {
    use embedscope::engine::device::{self, BackendChoice};
    let d = tiny_bert_copy();
    std::fs::write(d.path().join("modules.json"), "[]").unwrap();
    let w = d.path().join("model.safetensors");
    std::fs::remove_file(&w).unwrap();
    std::os::unix::fs::symlink("model.safetensors", &w).unwrap();
    let dev = device::select(BackendChoice::Cpu).unwrap().0;
    let msg = match embedscope::model::Encoder::load(d.path(), &dev, None) {
        Ok(_) => panic!("a link loop loaded"),
        Err(e) => e.to_string(),
    };
    assert!(
        msg.contains("model.safetensors: a symbolic link loop"),
        "{msg}"
    );
    // A link to nothing is said as such, not "missing".
    std::fs::remove_file(&w).unwrap();
    std::os::unix::fs::symlink("gone.safetensors", &w).unwrap();
    let msg = match embedscope::model::Encoder::load(d.path(), &dev, None) {
        Ok(_) => panic!("a dangling link loaded"),
        Err(e) => e.to_string(),
    };
    assert!(
        msg.contains("a symbolic link to gone.safetensors, which does not exist"),
        "{msg}"
    );
}

#[test]
fn modules_json_paths_outside_the_model_folder_are_refused() {
    use embedscope::model::Pipeline;
    let outer = tempfile::tempdir().unwrap();
    let dir = outer.path().join("model");
    std::fs::create_dir(&dir).unwrap();
    let elsewhere = outer.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    std::fs::write(
        elsewhere.join("config.json"),
        r#"{"word_embedding_dimension": 4, "pooling_mode_mean_tokens": true}"#,
    )
    .unwrap();
    let modules = |path: &str| {
        std::fs::write(
            dir.join("modules.json"),
            format!(r#"[{{"path": "{path}", "type": "sentence_transformers.models.Pooling"}}]"#),
        )
        .unwrap();
    };
    for p in ["../elsewhere", "/etc"] {
        modules(p);
        let msg = Pipeline::read(&dir).unwrap_err().to_string();
        assert!(
            msg.contains("modules.json") && msg.contains("leaves the model folder"),
            "{msg}"
        );
    }
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(&elsewhere, dir.join("1_Pooling")).unwrap();
        modules("1_Pooling");
        let msg = Pipeline::read(&dir).unwrap_err().to_string();
        assert!(msg.contains("through a symbolic link"), "{msg}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn side_files_are_read_up_to_a_stated_size_by_the_cli() {
    let d = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(["neighbors", "demo", "--queries-file", "/dev/zero", "--json"])
        .env("EMBEDSCOPE_CACHE_DIR", d.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("/dev/zero: more than 67108864 bytes: a queries file"),
        "{stdout}"
    );
}
