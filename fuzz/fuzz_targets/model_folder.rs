//! A model folder's small files: `config.json`, `modules.json`, `tokenizer.json`, the pooling
//! and Dense modules' `config.json`, `sentence_bert_config.json` and
//! `config_sentence_transformers.json`. No weights are read.
//!
//! Parts: 1 `config.json`, 2 `modules.json`, 3 `tokenizer.json`, 4 `1_Pooling/config.json`,
//! 5 `2_Dense/config.json`, 6 `sentence_bert_config.json`, 7
//! `config_sentence_transformers.json`. Mode byte: bit i-1 says whether part i is written (a
//! file left out is a missing file).
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use embedscope::model::{BertConfig, ModelSummary, Pipeline, tokdiff};
use embedscope_fuzz::{Input, scratch};
use libfuzzer_sys::fuzz_target;

const FILES: [&str; 7] = [
    "config.json",
    "modules.json",
    "tokenizer.json",
    "1_Pooling/config.json",
    "2_Dense/config.json",
    "sentence_bert_config.json",
    "config_sentence_transformers.json",
];

fn folder() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = scratch().join("model");
        let _ = std::fs::create_dir_all(d.join("1_Pooling"));
        let _ = std::fs::create_dir_all(d.join("2_Dense"));
        d
    })
}

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let parts = input.parts(FILES.len());
    let dir = folder();
    for (i, (name, bytes)) in FILES.iter().zip(&parts).enumerate() {
        let p = dir.join(name);
        if input.mode & (1 << i) != 0 {
            if std::fs::write(&p, bytes).is_err() {
                return;
            }
        } else {
            let _ = std::fs::remove_file(&p);
        }
    }
    let _ = BertConfig::read(dir);
    let _ = Pipeline::read(dir);
    if let Ok(s) = ModelSummary::read(dir) {
        std::hint::black_box(s.line());
    }
    if let Ok(t) = tokdiff::summarize(dir) {
        std::hint::black_box(t);
    }
});
