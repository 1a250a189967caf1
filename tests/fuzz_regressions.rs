//! Inputs the fuzz targets (`fuzz/`, FUZZING.md) found, kept under `tests/fixtures/fuzz/`, each
//! with the behaviour its fix gives.

use std::path::{Path, PathBuf};
use std::process::Command;

use embedscope::formats::{self, Format, LoadOptions};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(name)
}

/// The error of loading fixture `name` read as `format` (it must not load).
fn load_error(name: &str, format: Format) -> String {
    let opts = LoadOptions {
        format: Some(format),
        ..LoadOptions::default()
    };
    match formats::load(&fixture(name), &opts) {
        Ok(_) => panic!("{name} must not load"),
        Err(e) => e.to_string(),
    }
}

/// `embedscope info FILE` with a cache of its own: whether it succeeded, and its stderr.
fn info(p: &Path) -> (bool, String) {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_embedscope"))
        .args(["info", p.to_str().unwrap()])
        .env("EMBEDSCOPE_CACHE_DIR", cache.path())
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// An Arrow IPC file (a mutated `glove20.arrow`, found by the `table` target) whose buffer
/// offsets make arrow-buffer panic inside the decoder. The reader turns it into an error that
/// names the file and where the decoder gave up, and prints nothing: before the fix the panic
/// was caught but its message went to stderr.
#[test]
fn a_decoder_panic_is_an_error_with_its_place_and_nothing_printed() {
    let p = fixture("arrow_buffer_offset.arrow");
    let e = load_error("arrow_buffer_offset.arrow", Format::ArrowIpc);
    assert!(e.contains("arrow_buffer_offset.arrow"), "{e}");
    assert!(e.contains("decoder failed"), "{e}");
    assert!(e.contains("(at arrow-buffer-"), "{e}");

    // The same through the CLI: an error, and no panic message on stderr.
    let (ok, stderr) = info(&p);
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("decoder failed"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

/// A panic outside a decoder scope, on this thread or another, still reaches the hook it
/// replaced (the quiet scope is per thread, and only inside `load`).
#[test]
fn panics_outside_the_readers_still_unwind_after_a_quiet_one() {
    load_error("arrow_buffer_offset.arrow", Format::ArrowIpc);
    let r = std::panic::catch_unwind(|| panic!("outside"));
    assert!(r.is_err());
    let t = std::thread::spawn(|| load_error("arrow_buffer_offset.arrow", Format::ArrowIpc));
    assert!(t.join().is_ok());
}

/// A `tokenizer.json` with a syntax error inside its `decoder` object (found by the
/// `model_folder` target, minimised by hand to 39 bytes): tokenizers 0.23 panics on it
/// (`expect("Helper")`) instead of returning an error. Both readers of the file (the tokenizer
/// summary and the encoder) check the JSON first and name the line and column.
#[test]
fn a_damaged_decoder_in_tokenizer_json_is_an_error_not_a_panic() {
    let p = fixture("tokenizer_decoder_syntax.json");
    let e = embedscope::model::tokdiff::summarize(&p)
        .expect_err("a damaged tokenizer.json must not load")
        .to_string();
    assert!(e.contains("tokenizer_decoder_syntax.json"), "{e}");
    assert!(e.contains("line 1, column 34"), "{e}");

    // The encoder: a copy of the tiny BERT folder with the damaged file.
    let dir = tempfile::tempdir().unwrap();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/encoder/tiny-bert");
    for name in ["config.json", "model.safetensors"] {
        std::fs::copy(src.join(name), dir.path().join(name)).unwrap();
    }
    std::fs::copy(&p, dir.path().join("tokenizer.json")).unwrap();
    let device = embedscope::engine::device::select(embedscope::engine::device::BackendChoice::Cpu)
        .expect("cpu backend")
        .0;
    let e = match embedscope::model::Encoder::load(dir.path(), &device, None) {
        Ok(_) => panic!("a damaged tokenizer.json must not load"),
        Err(e) => e.to_string(),
    };
    assert!(
        e.contains("tokenizer.json") && e.contains("line 1, column 34"),
        "{e}"
    );
}

/// An `.npy` header whose `shape` value starts with `)` (found by the `arrays` target, 264
/// bytes): the reader sliced the tuple by positions and panicked (`begin > end`). Now the tuple
/// must start with `(`; the error quotes what is there.
#[test]
fn an_npy_shape_that_is_not_a_tuple_is_an_error() {
    let e = load_error("npy_shape_paren.npy", Format::Npy);
    assert!(e.contains("npy_shape_paren.npy"), "{e}");
    assert!(e.contains("'shape' in the header is not a tuple"), "{e}");
}

/// An Arrow IPC file (4,986 bytes, found by the `table` target) whose trailer declares a
/// 1,093,611,311-byte footer: arrow-ipc allocated it, zeroed, before reading. The sizes are now
/// checked against the file's length first (the fuzz targets abort on any allocation over
/// 256 MiB; here the peak allocation is measured through the error alone: it comes back at once).
#[test]
fn an_arrow_footer_longer_than_the_file_is_refused_before_allocating() {
    let e = load_error("arrow_footer_1gb.arrow", Format::ArrowIpc);
    assert!(e.contains("arrow_footer_1gb.arrow"), "{e}");
    assert!(
        e.contains("footer claims 1093611311 bytes, but the file has room for 4968"),
        "{e}"
    );
}

/// The same panic from a file that is well-formed JSON syntax but holds a lone surrogate escape
/// in the `decoder` object (found by the `model_folder` target after the first fix, which only
/// checked the syntax; minimised by hand to 28 bytes): the whole value is read first now.
#[test]
fn a_bad_string_escape_in_the_decoder_is_an_error_not_a_panic() {
    let p = fixture("tokenizer_decoder_surrogate.json");
    let e = embedscope::model::tokdiff::summarize(&p)
        .expect_err("a damaged tokenizer.json must not load")
        .to_string();
    assert!(e.contains("tokenizer_decoder_surrogate.json"), "{e}");
    assert!(e.contains("line 1, column 25"), "{e}");
}

/// A 6.8 kB Parquet file (found by the `table` target as a timeout) whose page header at byte 1996
/// holds lists of booleans declaring up to 2^31 elements: the parquet crate skips such unknown
/// fields element by element without consuming bytes, so it spent 0.9 s (2.6 s instrumented) on
/// it, and a header of thousands of such lists would take hours. The footer and every page
/// header are walked first: an error naming the file and the byte, at once, from every Parquet
/// reader.
#[test]
fn a_parquet_page_header_with_oversized_boolean_lists_is_refused_at_once() {
    let p = fixture("parquet_page_header_bool_lists.parquet");
    let t = std::time::Instant::now();
    let e = load_error("parquet_page_header_bool_lists.parquet", Format::Parquet);
    assert!(
        t.elapsed() < std::time::Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
    assert!(e.contains("parquet_page_header_bool_lists.parquet"), "{e}");
    assert!(
        e.contains("the Parquet page header at byte 1996 is damaged"),
        "{e}"
    );
    assert!(e.contains("elements with"), "{e}");
    let e = formats::check_parquet_structure(&p)
        .expect_err("damaged")
        .to_string();
    assert!(e.contains("claims"), "{e}");
    // Every Parquet fixture of the project passes the same check.
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = 0;
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let path = e.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "parquet")
                && !path.ends_with("parquet_page_header_bool_lists.parquet")
            {
                formats::check_parquet_structure(&path)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                checked += 1;
            }
        }
    }
    assert!(checked >= 5, "only {checked} Parquet fixtures");
    // The corpus reader and the CLI say the same.
    let corpus = embedscope::formats::corpus::Corpus::open(
        &p,
        &embedscope::formats::corpus::CorpusOptions::default(),
    );
    assert!(
        corpus.is_err_and(|e| e.to_string().contains("page header")),
        "the corpus reader"
    );
    let (ok, stderr) = info(&p);
    assert!(!ok);
    assert!(
        stderr.contains("the Parquet page header at byte 1996 is damaged"),
        "{stderr}"
    );
}
