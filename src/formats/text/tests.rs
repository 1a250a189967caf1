//! The text reader on small inputs: GloVe and word2vec text, the hash, spaced tokens and
//! ragged rows, inputs spanning blocks, the row limit.

use super::*;

fn parse(s: &str, h: Header) -> Result<Loaded, FormatError> {
    read_text(
        s.as_bytes(),
        Some(s.len() as u64),
        Path::new("t.txt"),
        h,
        None,
        None,
    )
}

#[test]
fn glove_and_word2vec_text() {
    let o = parse("a 1 2\nb 3 4.5\n", Header::Absent).unwrap();
    assert_eq!(o.matrix.as_slice(), &[1.0, 2.0, 3.0, 4.5]);
    let o = parse("2 2\na 1 2\r\nb 3 -4e1", Header::Required).unwrap();
    assert_eq!(o.vocab.iter().collect::<Vec<_>>(), vec!["a", "b"]);
    assert_eq!(o.matrix.row(1), &[3.0, -40.0]);
    assert!(parse("a 1 2\n", Header::Required).is_err());
}

#[test]
fn hash_covers_all_bytes() {
    let s = "2 2\na 1 2\nb 3 4\n";
    let o = parse(s, Header::Required).unwrap();
    let want = crate::formats::to_hex(&Sha256::digest(s.as_bytes()));
    assert_eq!(o.sha256.unwrap(), want);
    let s = "a 1 2\nb 3 4\n";
    let o = parse(s, Header::Absent).unwrap();
    assert_eq!(
        o.sha256.unwrap(),
        crate::formats::to_hex(&Sha256::digest(s.as_bytes()))
    );
}

#[test]
fn spaced_tokens_and_ragged_rows() {
    let o = parse("a 1 2\nnew york 3 4\n", Header::Absent).unwrap();
    assert_eq!(o.vocab.get("new york"), Some(1));
    let e = parse("a 1 2\nb 3\n", Header::Absent).unwrap_err();
    assert!(e.to_string().contains("line 2"), "{e}");
    assert!(
        e.to_string()
            .contains("expected 2 values after the token, found 1"),
        "{e}"
    );
    let e = parse("a 1 2\nb 3 4 5\n", Header::Absent).unwrap_err();
    assert!(e.to_string().contains("found 3"), "{e}");
    let e = parse("a 1 2\nb 3 x\n", Header::Absent).unwrap_err();
    assert!(e.to_string().contains("\"x\" is not a number"), "{e}");
}

#[test]
fn large_input_spans_blocks() {
    let mut s = String::new();
    for i in 0..200_000 {
        s.push_str(&format!("w{i} {i} 0.5 -1\n"));
    }
    let o = parse(&s, Header::Absent).unwrap();
    assert_eq!(o.matrix.rows(), 200_000);
    assert_eq!(o.matrix.row(199_999)[0], 199_999.0);
    assert_eq!(o.vocab.get("w123456"), Some(123_456));
    // An error deep in the file carries the right line number and byte offset.
    let bad_at = s.find("w150000 ").unwrap();
    let mut t = s.clone();
    t.replace_range(bad_at..bad_at + 8, "w150000 x");
    let e = parse(&t, Header::Absent).unwrap_err();
    assert_eq!(
        e.location,
        Location::Line {
            line: 150_001,
            byte: bad_at as u64
        },
        "{e}"
    );
}

#[test]
fn limit_stops_early_but_hashes_everything() {
    let s = "3 1\na 1\nb 2\nc 3\n";
    let o = read_text(
        s.as_bytes(),
        Some(s.len() as u64),
        Path::new("t"),
        Header::Required,
        Some(2),
        None,
    )
    .unwrap();
    assert_eq!(o.matrix.rows(), 2);
    assert_eq!(
        o.sha256.unwrap(),
        crate::formats::to_hex(&Sha256::digest(s.as_bytes()))
    );
}
