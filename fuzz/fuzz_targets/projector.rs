//! TensorBoard projector: `vectors.tsv` and `metadata.tsv` (parts 1 and 2).
//!
//! Mode byte: bit 0 a metadata file, bit 1 a token column named by part 3, bit 2 a row limit
//! (bits 3-7).
#![no_main]

use embedscope::formats::{self, Format, LoadOptions};
use embedscope_fuzz::{Input, file, remove};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let parts = input.parts(3);
    let vectors = file("vectors.tsv", parts[0]);
    let metadata = if input.mode & 1 != 0 {
        Some(file("metadata.tsv", parts[1]))
    } else {
        remove("metadata.tsv");
        None
    };
    let token_column =
        (input.mode & 2 != 0).then(|| String::from_utf8_lossy(parts[2]).into_owned());
    let opts = LoadOptions {
        format: Some(Format::ProjectorTsv),
        metadata,
        token_column,
        limit: (input.mode & 4 != 0).then_some(usize::from(input.mode >> 3)),
        ..LoadOptions::default()
    };
    if let Ok(set) = formats::load(&vectors, &opts) {
        assert_eq!(set.vocab.len(), set.rows());
    }
});
