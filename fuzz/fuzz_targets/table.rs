//! Parquet and Arrow IPC vector tables (part 1 the file; parts 2 and 3 the token and vector
//! column names when chosen).
//!
//! Mode byte: bit 0 Arrow IPC (else Parquet), bit 1 a token column, bit 2 a vector column,
//! bit 3 a row limit (bits 4-7).
#![no_main]

use embedscope::formats::{self, Format, LoadOptions};
use embedscope_fuzz::{Input, file, no_own_panic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let parts = input.parts(3);
    let (name, format) = if input.mode & 1 != 0 {
        ("table.arrow", Format::ArrowIpc)
    } else {
        ("table.parquet", Format::Parquet)
    };
    let path = file(name, parts[0]);
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    let opts = LoadOptions {
        format: Some(format),
        token_column: (input.mode & 2 != 0).then(|| text(parts[1])),
        vector_column: (input.mode & 4 != 0).then(|| text(parts[2])),
        limit: (input.mode & 8 != 0).then_some(usize::from(input.mode >> 4)),
        ..LoadOptions::default()
    };
    match formats::load(&path, &opts) {
        Ok(set) => {
            assert_eq!(set.vocab.len(), set.rows());
            std::hint::black_box(&set.metadata);
        }
        Err(e) => no_own_panic(&e.to_string(), data),
    }
});
