//! Side files: `--tests-file` (WEAT tests), word lists (`--x/--y/--a/--b`, anchors), word pairs
//! (`--pairs`), analogy and word-similarity benchmark files, and vocabulary files, read as the
//! CLI reads them (through the bounded side-file reader).
//!
//! Mode byte: `mode % 6` which (0 tests file, 1 word list, 2 pairs, 3 analogies, 4 word-pair
//! similarities, 5 a sentence sample for the tokenizer diff).
#![no_main]

use embedscope::analysis::bias;
use embedscope::analysis::eval::{AnalogySet, WordPairs};
use embedscope::formats;
use embedscope::model::tokdiff;
use embedscope_fuzz::{Input, file};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let path = file("side.txt", input.rest);
    let name = path.display().to_string();
    let Ok(text) = formats::read_side_file(&path, "fuzzed side file") else {
        return;
    };
    match input.mode % 6 {
        0 => {
            if let Ok(tests) = bias::parse_test_file(&text, &name) {
                for t in &tests {
                    std::hint::black_box(t);
                }
            }
        }
        1 => {
            let _ = bias::parse_word_list(&text, &name);
        }
        2 => {
            let _ = bias::parse_pairs(&text, &name);
        }
        3 => {
            let _ = AnalogySet::parse(&name, &text);
            let _ = AnalogySet::read(&path);
        }
        4 => {
            let _ = WordPairs::parse(&name, &text);
            let _ = WordPairs::read(&path);
        }
        _ => {
            let words = tokdiff::sample_words(&text, 50);
            assert!(words.len() <= 50);
        }
    }
});
