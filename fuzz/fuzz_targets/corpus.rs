//! Corpora: plain text (lines, paragraphs), CSV, TSV, JSONL and Parquet, read to the end.
//!
//! Mode byte: `mode % 6` the layout (lines, paragraphs, CSV, TSV, JSONL, Parquet); of
//! `mode / 6`: bit 0 a text column/field named by part 1, bit 1 `skip_empty` given (bit 2 its
//! value), bit 3 shard 1 of 2, bit 4 a short document limit (7 bytes). Part 2 is the corpus.
#![no_main]

use embedscope::formats::corpus::{Corpus, CorpusFormat, CorpusOptions, Shard};
use embedscope_fuzz::{Input, file, no_own_panic};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let input = Input::new(data);
    let parts = input.parts(2);
    let format = CorpusFormat::ALL[usize::from(input.mode) % 6];
    let flags = input.mode / 6;
    let name = match format {
        CorpusFormat::Lines | CorpusFormat::Paragraphs => "corpus.txt",
        CorpusFormat::Csv => "corpus.csv",
        CorpusFormat::Tsv => "corpus.tsv",
        CorpusFormat::Jsonl => "corpus.jsonl",
        CorpusFormat::Parquet => "corpus.parquet",
    };
    let path = file(name, parts[1]);
    let opts = CorpusOptions {
        format: Some(format),
        text_field: (flags & 1 != 0).then(|| String::from_utf8_lossy(parts[0]).into_owned()),
        skip_empty: (flags & 2 != 0).then_some(flags & 4 != 0),
        shard: if flags & 8 != 0 {
            Shard::new(1, 2).ok()
        } else {
            None
        },
        max_doc_bytes: (flags & 16 != 0).then_some(7),
    };
    let mut corpus = match Corpus::open(&path, &opts) {
        Ok(c) => c,
        Err(e) => {
            no_own_panic(&e.to_string(), data);
            return;
        }
    };
    let meta = corpus.meta_names().len();
    let mut last = 0u64;
    for (n, doc) in corpus.by_ref().enumerate() {
        match doc {
            Ok(doc) => {
                assert_eq!(doc.meta.len(), meta);
                assert!(n == 0 || doc.index > last, "record numbers go up");
                if let Some(max) = opts.max_doc_bytes {
                    assert!(doc.text.len() <= max);
                }
                last = doc.index;
            }
            Err(e) => {
                no_own_panic(&e.to_string(), data);
                break;
            }
        }
    }
    std::hint::black_box(corpus.stats());
});
