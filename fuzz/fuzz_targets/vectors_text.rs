//! word2vec text, GloVe and word2vec binary, from memory and from a file with detection.
//!
//! Mode byte: bits 0-1 the reader (0 word2vec text, 1 GloVe, 2 word2vec binary, 3 a file read
//! with format detection); bit 2 a row limit (`limit` = bits 3-7).
#![no_main]

use embedscope::formats::{self, Format, LoadOptions};
use embedscope_fuzz::{Input, file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let limit = (input.mode & 4 != 0).then_some(usize::from(input.mode >> 3));
    let bytes = input.rest;
    let _ = formats::detect_bytes(bytes, bytes.len() as u64, Some("vec"));
    let _ = formats::detect_bytes(bytes, bytes.len() as u64, None);
    let set = match input.mode & 3 {
        0 => formats::load_bytes("fuzz.vec", bytes, Format::Word2VecText, limit),
        1 => formats::load_bytes("glove.txt", bytes, Format::GloveText, limit),
        2 => formats::load_bytes("fuzz.bin", bytes, Format::Word2VecBinary, limit),
        _ => {
            let p = file("input.vec", bytes);
            formats::load(
                &p,
                &LoadOptions {
                    limit,
                    ..LoadOptions::default()
                },
            )
        }
    };
    if let Ok(set) = set {
        assert_eq!(set.vocab.len(), set.rows());
        let _ = set.dim();
    }
});
