//! Semantic search against sentence-transformers (tests/fixtures/search, made by
//! tests/fixtures/gen/search_reference.py): 240 paragraphs encoded with all-MiniLM-L6-v2, six
//! queries, the ten best paragraphs by cosine with their scores. The query is encoded with the
//! folder the set's encoding record names, and a folder with other weights is refused.
//! Needs the MiniLM weights (fetched like tests/encoder.rs; never skipped under CI=true).

use std::path::Path;
use std::sync::atomic::AtomicBool;

mod common;

use embedscope::analysis::knn::KnnIndex;
use embedscope::core::{EmbeddingSet, RowKind};
use embedscope::engine::device::{self, BackendChoice};
use embedscope::engine::encode::{self, EncodeOptions, Level, SentenceCollector};
use embedscope::engine::semantic::{self, QueryEncoder};
use embedscope::formats::corpus::{Corpus, CorpusOptions};
use embedscope::model::Encoder;
use serde_json::Value;

const FIX: &str = "tests/fixtures/search";

fn encoded(model: &Path, dev: &burn::tensor::Device) -> EmbeddingSet {
    let enc = Encoder::load(model, dev, None).expect("MiniLM loads");
    let path = Path::new(FIX).join("corpus.jsonl");
    let mut corpus = Corpus::open(&path, &CorpusOptions::default()).expect("corpus");
    let mut collect = SentenceCollector::new(enc.dim(), corpus.meta_names());
    encode::encode_sentences(
        &enc,
        &mut corpus,
        &EncodeOptions::default(),
        &mut |r| {
            collect.push(&r);
            Ok(())
        },
        &mut |_| {},
        &AtomicBool::new(false),
    )
    .expect("encode");
    let backend = device::select(BackendChoice::Cpu).expect("cpu").1;
    let prov = encode::provenance(model, &enc, Level::Sentence, &backend, &path, &corpus);
    collect.finish(prov).expect("set")
}

#[test]
fn semantic_search_matches_sentence_transformers() {
    let Some(model) = common::minilm() else {
        return;
    };
    let (dev, _) = device::select(BackendChoice::Cpu).expect("cpu");
    let set = encoded(&model, &dev);
    assert_eq!(set.row_kind(), RowKind::Documents);
    let reference: Value = serde_json::from_str(
        &std::fs::read_to_string(Path::new(FIX).join("reference.json")).expect("reference"),
    )
    .expect("json");
    assert_eq!(reference["documents"].as_u64(), Some(set.rows() as u64));
    let qe = QueryEncoder::for_set(&set, None, &dev).expect("the recorded folder");
    assert!(
        qe.notes.iter().any(|n| n.contains("sha256 match")),
        "{:?}",
        qe.notes
    );
    let index = KnnIndex::new(&set);
    let mut worst = 0f64;
    for q in reference["queries"].as_array().expect("queries") {
        let text = q["query"].as_str().expect("query");
        let v = qe.encode(text).expect("encode the query");
        let got = semantic::rank(&index, &v, 10).expect("rank");
        let want = q["hits"].as_array().expect("hits");
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(want).enumerate() {
            let ws = w["score"].as_f64().expect("score");
            let wr = w["row"].as_u64().expect("row") as usize;
            worst = worst.max((f64::from(g.score) - ws).abs());
            assert!(
                (f64::from(g.score) - ws).abs() <= 1e-4,
                "{text:?} #{i}: score {} vs {ws}",
                g.score
            );
            // The same row, unless two scores tie within the tolerance.
            if g.index != wr {
                let other = want
                    .iter()
                    .find(|x| x["row"].as_u64() == Some(g.index as u64))
                    .and_then(|x| x["score"].as_f64())
                    .unwrap_or(f64::NAN);
                assert!(
                    (other - ws).abs() <= 1e-4,
                    "{text:?} #{i}: row {} vs {wr}",
                    g.index
                );
            }
        }
    }
    eprintln!("largest score difference {worst:.2e}");
}

#[test]
fn a_model_folder_that_is_gone_or_other_is_refused_by_name() {
    let Some(model) = common::minilm() else {
        return;
    };
    let (dev, _) = device::select(BackendChoice::Cpu).expect("cpu");
    let mut set = encoded(&model, &dev);
    // Another folder: its weights' sha256 differ from the record's.
    let tiny = Path::new("tests/fixtures/encoder/tiny-bert");
    let e = QueryEncoder::for_set(&set, Some(tiny), &dev)
        .err()
        .expect("other weights refused")
        .to_string();
    assert!(
        e.contains("other weights") && e.contains("tiny-bert"),
        "{e}"
    );
    // The recorded folder moved away.
    set.provenance
        .params
        .insert("model".into(), "/nonexistent/all-MiniLM-L6-v2".into());
    let e = QueryEncoder::for_set(&set, None, &dev)
        .err()
        .expect("gone")
        .to_string();
    assert!(
        e.contains("/nonexistent/all-MiniLM-L6-v2") && e.contains("not there"),
        "{e}"
    );
}
