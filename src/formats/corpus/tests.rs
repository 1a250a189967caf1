//! The corpus readers on small files: lines, paragraphs, encodings, CSV/TSV and JSONL columns
//! and errors, one document per record (empty and bad records kept or skipped), cut documents.

use super::*;

fn docs(name: &str, content: &[u8], opts: CorpusOptions) -> (Vec<Doc>, CorpusStats, Vec<String>) {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join(name);
    std::fs::write(&p, content).unwrap();
    let mut c = Corpus::open(&p, &opts).unwrap();
    let v: Vec<Doc> = c.by_ref().map(|d| d.unwrap()).collect();
    (v, c.stats().clone(), c.meta_names().to_vec())
}

#[test]
fn lines_paragraphs_and_encoding() {
    let (v, s, _) = docs(
        "c.txt",
        b"first line\r\n\n  \nsecond \xff line\nthird",
        CorpusOptions::default(),
    );
    assert_eq!(
        v.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
        vec!["first line", "second \u{fffd} line", "third"]
    );
    assert_eq!(v[1].line, 4);
    assert_eq!((s.empty_skipped, s.invalid_utf8, s.documents), (2, 1, 3));
    let opts = CorpusOptions {
        format: Some(CorpusFormat::Paragraphs),
        ..Default::default()
    };
    let (v, _, _) = docs("c.txt", b"a b\nc d\n\n\ne f\n", opts);
    assert_eq!(
        v.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
        vec!["a b c d", "e f"]
    );
    assert_eq!(v[1].line, 5);
}

#[test]
fn csv_tsv_jsonl_columns_and_errors() {
    let (v, _, names) = docs(
        "c.csv",
        b"id,text,lang\n1,\"hello, world\",en\n2,bonjour,fr\n",
        CorpusOptions::default(),
    );
    assert_eq!(v[0].text, "hello, world");
    assert_eq!(names, vec!["id", "lang"]);
    assert_eq!(v[1].meta, vec!["2", "fr"]);
    let (v, _, _) = docs(
        "c.tsv",
        b"sentence\tx\nhi there\t3\n",
        CorpusOptions::default(),
    );
    assert_eq!(v[0].text, "hi there");
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.csv");
    std::fs::write(&p, b"a,b\n1,2\n").unwrap();
    let e = Corpus::open(&p, &CorpusOptions::default()).err().unwrap();
    assert!(e.to_string().contains("no text column"), "{e}");
    let e = Corpus::open(
        &p,
        &CorpusOptions {
            text_field: Some("body".into()),
            ..Default::default()
        },
    )
    .err()
    .unwrap();
    assert!(
        e.to_string().contains("no column 'body'") && e.to_string().contains("a, b"),
        "{e}"
    );
    let (v, s, names) = docs(
        "c.jsonl",
        b"{\"text\": \"one\", \"n\": 1}\nnot json\n{\"text\": 5}\n{\"text\": \"two\", \"n\": 2}\n",
        CorpusOptions::default(),
    );
    // Bad records stay documents (with the empty text), so document i is record i.
    assert_eq!(
        v.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
        vec!["one", "", "", "two"]
    );
    assert_eq!(names, vec!["n"]);
    assert_eq!(v[3].meta, vec!["2"]);
    assert_eq!(v[3].index, 3);
    assert_eq!(s.bad_records, 2);
    assert_eq!(s.examples[0].0, 2);
    assert!(s.examples[1].1.contains("not a string"), "{:?}", s.examples);
}

fn texts(v: &[Doc]) -> Vec<&str> {
    v.iter().map(|d| d.text.as_str()).collect()
}

fn indices(v: &[Doc]) -> Vec<u64> {
    v.iter().map(|d| d.index).collect()
}

fn skipping(skip: bool) -> CorpusOptions {
    CorpusOptions {
        skip_empty: Some(skip),
        ..Default::default()
    }
}

const SIX_JSONL: &[u8] = b"{\"id\": \"a\", \"text\": \"one\"}\n\
{\"id\": \"b\", \"text\": \"two\"}\n\
{\"id\": \"c\", \"text\": \"\"}\n\
\n\
{\"id\": \"d\", \"text\": \"four\"}\n\
{\"id\": \"e\", \"text\": \"  \"}\n\
{\"id\": \"f\", \"text\": \"six\"}\n";

#[test]
fn jsonl_empty_records_are_documents_unless_skipped() {
    let (v, s, names) = docs("c.jsonl", SIX_JSONL, CorpusOptions::default());
    assert_eq!(names, vec!["id"]);
    assert_eq!(texts(&v), vec!["one", "two", "", "four", "  ", "six"]);
    assert_eq!(indices(&v), vec![0, 1, 2, 3, 4, 5]);
    let ids: Vec<&str> = v.iter().map(|d| d.meta[0].as_str()).collect();
    assert_eq!(ids, vec!["a", "b", "c", "d", "e", "f"]);
    assert_eq!(
        v.iter().map(|d| d.line).collect::<Vec<_>>(),
        vec![1, 2, 3, 5, 6, 7],
        "the blank line is not a record"
    );
    assert_eq!(
        (s.documents, s.records, s.empty_kept, s.empty_skipped),
        (6, 6, 2, 0)
    );
    assert_eq!(
        (s.blank_lines, s.records_skipped, s.skip_empty),
        (1, 0, false)
    );

    let (v, s, _) = docs("c.jsonl", SIX_JSONL, skipping(true));
    assert_eq!(texts(&v), vec!["one", "two", "four", "six"]);
    assert_eq!(indices(&v), vec![0, 1, 3, 5], "numbers are not reused");
    assert_eq!(v[2].meta, vec!["d"]);
    assert_eq!(
        s.skipped,
        vec![
            SkippedRecord { index: 2, line: 3 },
            SkippedRecord { index: 4, line: 6 }
        ]
    );
    assert_eq!(
        (s.documents, s.records, s.records_skipped, s.empty_skipped),
        (4, 6, 2, 2)
    );
}

#[test]
fn bad_records_keep_their_place_and_metadata() {
    let content = b"{\"id\": 1, \"text\": \"one\"}\n\
{\"id\": 2}\n\
[1, 2]\n\
{\"id\": 4, \"text\": null}\n\
{broken\n\
{\"id\": 6, \"text\": \"six\"}\n";
    let (v, s, _) = docs("c.jsonl", content, CorpusOptions::default());
    assert_eq!(texts(&v), vec!["one", "", "", "", "", "six"]);
    let ids: Vec<&str> = v.iter().map(|d| d.meta[0].as_str()).collect();
    assert_eq!(ids, vec!["1", "2", "", "4", "", "6"]);
    assert_eq!(s.bad_records, 4);
    assert_eq!(
        s.examples.iter().map(|e| e.0).collect::<Vec<_>>(),
        vec![2, 3, 4, 5]
    );
    assert!(
        s.examples[0].1.contains("no \"text\" string"),
        "{:?}",
        s.examples
    );
    assert!(s.examples[1].1.contains("not a JSON object"));
    assert!(s.examples[3].1.contains("not JSON"));
    assert_eq!(
        s.empty_kept, 0,
        "bad records are counted as bad, not as empty"
    );

    let (v, s, _) = docs("c.jsonl", content, skipping(true));
    assert_eq!(indices(&v), vec![0, 5]);
    assert_eq!(s.records_skipped, 4);
    assert_eq!(s.bad_records, 4);
    assert_eq!(s.skipped[0], SkippedRecord { index: 1, line: 2 });
}

#[test]
fn csv_empty_fields_and_short_rows_are_documents() {
    let content = b"id,text,lang\n1,one,en\n2,,fr\n3\n4,\"   \",de\n5,five,en\n";
    let (v, s, _) = docs("c.csv", content, CorpusOptions::default());
    assert_eq!(texts(&v), vec!["one", "", "", "   ", "five"]);
    assert_eq!(indices(&v), vec![0, 1, 2, 3, 4]);
    let ids: Vec<&str> = v.iter().map(|d| d.meta[0].as_str()).collect();
    assert_eq!(ids, vec!["1", "2", "3", "4", "5"]);
    assert_eq!(v[2].meta, vec!["3", ""]);
    assert_eq!((s.bad_records, s.empty_kept), (1, 2));
    assert_eq!(s.examples[0].0, 4);
    let (v, s, _) = docs("c.csv", content, skipping(true));
    assert_eq!(texts(&v), vec!["one", "five"]);
    assert_eq!(indices(&v), vec![0, 4]);
    assert_eq!(
        s.skipped
            .iter()
            .map(|r| (r.index, r.line))
            .collect::<Vec<_>>(),
        vec![(1, 3), (2, 4), (3, 5)]
    );
}

#[test]
fn parquet_empty_and_null_texts_are_documents() {
    use std::sync::Arc;

    use arrow_array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.parquet");
    let text: ArrayRef = Arc::new(StringArray::from(vec![
        Some("one"),
        Some("two"),
        Some(""),
        None,
        Some("five"),
    ]));
    let id: ArrayRef = Arc::new(Int64Array::from(vec![10, 20, 30, 40, 50]));
    let b = RecordBatch::try_from_iter(vec![("id", id), ("text", text)]).unwrap();
    let mut w =
        parquet::arrow::ArrowWriter::try_new(File::create(&p).unwrap(), b.schema(), None).unwrap();
    w.write(&b).unwrap();
    w.close().unwrap();
    let read = |opts: CorpusOptions| {
        let mut c = Corpus::open(&p, &opts).unwrap();
        let v: Vec<Doc> = c.by_ref().map(|d| d.unwrap()).collect();
        (v, c.stats().clone())
    };
    let (v, s) = read(CorpusOptions::default());
    assert_eq!(texts(&v), vec!["one", "two", "", "", "five"]);
    let ids: Vec<&str> = v.iter().map(|d| d.meta[0].as_str()).collect();
    assert_eq!(ids, vec!["10", "20", "30", "40", "50"]);
    assert_eq!((s.empty_kept, s.bad_records), (1, 1));
    assert_eq!(s.examples, vec![(4, "null text".to_string())]);
    let (v, s) = read(skipping(true));
    assert_eq!(indices(&v), vec![0, 1, 4]);
    assert_eq!(s.records_skipped, 2);
}

#[test]
fn plain_text_skips_blank_lines_unless_told_not_to() {
    let content = b"a\n\n  \nb\n";
    let (v, s, _) = docs("c.txt", content, CorpusOptions::default());
    assert_eq!(texts(&v), vec!["a", "b"]);
    assert_eq!(indices(&v), vec![0, 1], "blank lines are not records");
    assert_eq!((s.empty_skipped, s.records_skipped, s.records), (2, 0, 2));
    assert!(s.skip_empty);
    let (v, s, _) = docs("c.txt", content, skipping(false));
    assert_eq!(texts(&v), vec!["a", "", "  ", "b"]);
    assert_eq!(indices(&v), vec![0, 1, 2, 3]);
    assert_eq!(s.empty_kept, 2);
    // Paragraphs are separated by blank lines whatever the option says.
    let opts = CorpusOptions {
        format: Some(CorpusFormat::Paragraphs),
        skip_empty: Some(false),
        ..Default::default()
    };
    let (v, _, _) = docs("c.txt", b"a\nb\n\n\nc\n", opts);
    assert_eq!(texts(&v), vec!["a b", "c"]);
    assert!(CorpusFormat::Lines.skips_empty_by_default());
    assert!(!CorpusFormat::Jsonl.skips_empty_by_default());
}

#[test]
fn jsonl_fields_are_known_when_the_corpus_opens() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("c.jsonl");
    std::fs::write(
        &p,
        b"\nnot json\n{\"lang\": \"en\", \"body\": \"hi\", \"x\": [1]}\n",
    )
    .unwrap();
    let c = Corpus::open(&p, &CorpusOptions::default()).unwrap();
    assert_eq!(c.meta_names(), ["lang"]);
    std::fs::write(&p, b"not json\n[1]\n").unwrap();
    let e = Corpus::open(&p, &CorpusOptions::default()).err().unwrap();
    assert!(
        e.to_string().contains("no line is a JSON object") && e.to_string().contains("line 1"),
        "{e}"
    );
    std::fs::write(&p, b"{\"a\": 1}\n").unwrap();
    let e = Corpus::open(&p, &CorpusOptions::default()).err().unwrap();
    assert!(e.to_string().contains("no text field"), "{e}");
}

#[test]
fn long_documents_are_cut() {
    let long = "é".repeat(MAX_DOC_BYTES);
    let (v, s, _) = docs("c.txt", long.as_bytes(), CorpusOptions::default());
    assert!(v[0].text.len() <= MAX_DOC_BYTES);
    assert_eq!(s.truncated, 1);
    assert_eq!(s.max_doc_bytes, MAX_DOC_BYTES);
    // A cap of the user's: cut at a character boundary (é is two bytes), each cut counted,
    // and both written in the encoding record.
    let (v, s, _) = docs(
        "c.txt",
        "abcdé\nshort\nxyzéé\n".as_bytes(),
        CorpusOptions {
            max_doc_bytes: Some(5),
            ..CorpusOptions::default()
        },
    );
    let texts: Vec<&str> = v.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(texts, ["abcd", "short", "xyzé"]);
    assert_eq!(s.truncated, 2);
    let mut p = crate::core::Provenance::default();
    s.note_in(&mut p);
    assert_eq!(p.params.get("documents_cut").map(String::as_str), Some("2"));
    assert_eq!(p.params.get("max_doc_bytes").map(String::as_str), Some("5"));
}
