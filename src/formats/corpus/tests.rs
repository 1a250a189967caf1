//! The corpus readers on small files: lines, paragraphs, encodings, CSV/TSV and JSONL columns
//! and errors, cut documents.

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
    assert_eq!(
        v.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
        vec!["one", "two"]
    );
    assert_eq!(names, vec!["n"]);
    assert_eq!(v[1].meta, vec!["2"]);
    assert_eq!(s.bad_records, 2);
    assert_eq!(s.examples[0].0, 2);
}

#[test]
fn long_documents_are_cut() {
    let long = "é".repeat(MAX_DOC_BYTES);
    let (v, s, _) = docs("c.txt", long.as_bytes(), CorpusOptions::default());
    assert!(v[0].text.len() <= MAX_DOC_BYTES);
    assert_eq!(s.truncated, 1);
}
