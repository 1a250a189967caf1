//! word2vec binary: a text header "rows dim\n", then per row a token, a space, and dim
//! little-endian float32 values, optionally followed by a newline (the C tool writes one, gensim 4
//! does not). Read as a stream straight into the matrix; the sha256 is computed on the way.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::error::{FormatError, Location, snippet};
use super::sink::RowSink;
use super::text::{MAX_DIM, parse_header};
use super::{Loaded, Progress};

/// Longest token accepted before deciding the data is not word2vec binary.
const MAX_TOKEN: u64 = 1 << 20;

struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    pos: u64,
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

pub(crate) fn read_w2v_binary<R: Read>(
    r: R,
    total_len: Option<u64>,
    path: &Path,
    limit: Option<usize>,
    progress: Option<&Progress>,
) -> Result<Loaded, FormatError> {
    let mut rd = BufReader::with_capacity(
        1 << 20,
        HashingReader {
            inner: r,
            hasher: Sha256::new(),
            pos: 0,
        },
    );
    let io = |e| FormatError::io(path, e);
    let mut line = Vec::new();
    (&mut rd)
        .take(256)
        .read_until(b'\n', &mut line)
        .map_err(io)?;
    if line.is_empty() {
        return Err(FormatError::new(
            path,
            Location::None,
            super::ErrorKind::Empty,
        ));
    }
    let header_len = line.len() as u64;
    let line1 = Location::Line { line: 1, byte: 0 };
    let (rows, dim) = match parse_header(&line) {
        Some(h) => h,
        None => {
            return Err(FormatError::invalid(
                path,
                line1,
                format!(
                    "expected a header line \"<rows> <dim>\" (word2vec binary format), found {}",
                    snippet(&line)
                ),
            ));
        }
    };
    if dim <= 0 || dim > i128::from(MAX_DIM) {
        return Err(FormatError::invalid(
            path,
            line1,
            format!("header declares dimension {dim}: expected a positive integer up to {MAX_DIM}"),
        ));
    }
    if rows <= 0 {
        return Err(FormatError::invalid(
            path,
            line1,
            format!("header declares {rows} rows: expected a positive integer"),
        ));
    }
    let dim = dim as usize;
    let want = limit.map_or(rows as u128, |l| (l as u128).min(rows as u128));
    // A row is at least a 1-byte token, a space and dim * 4 bytes (the newline is optional).
    if let Some(t) = total_len {
        let body = t.saturating_sub(header_len);
        let min_row = 2 + 4 * dim as u64;
        let fit = body / min_row;
        // Far more rows than can fit: refuse before allocating. A few rows short is reported
        // precisely (row and byte) by the reading loop below.
        if want > 2 * fit as u128 + 16 {
            return Err(FormatError::too_large(
                path,
                line1,
                format!(
                    "header declares {rows} rows of {dim} float32 values, but only {body} bytes follow: at most {fit} rows fit (truncated file or wrong header?)"
                ),
            ));
        }
        if want > 0 && fit == 0 {
            // Not one row fits: said here, before a row buffer is sized from the header.
            return Err(FormatError::truncated(
                path,
                line1,
                format!(
                    "header declares {rows} rows, but the file ends after 0 (truncated?): a row of {dim} float32 values needs {min_row} bytes, only {body} follow"
                ),
            ));
        }
    }
    let want = want as u64;
    let cap = total_len.map_or(want, |t| want.min(t / (2 + 4 * dim as u64)));
    let mut sink = RowSink::new(dim, cap as usize, limit);
    let mut token = Vec::with_capacity(64);
    let mut row = vec![0f32; dim];
    let mut next_report = 0u64;
    while sink.rows_read() < want {
        let here = rd.get_ref().pos - rd.buffer().len() as u64;
        token.clear();
        let n = (&mut rd)
            .take(MAX_TOKEN)
            .read_until(b' ', &mut token)
            .map_err(io)?;
        let r_i = sink.rows_read();
        if n == 0 || token.iter().all(|b| b.is_ascii_whitespace()) {
            return Err(FormatError::truncated(
                path,
                Location::Byte(here),
                format!("header declares {rows} rows, but the file ends after {r_i} (truncated?)"),
            ));
        }
        if token.last() != Some(&b' ') {
            let msg = if n as u64 >= MAX_TOKEN {
                format!(
                    "row {r_i}: no space after {} bytes: not word2vec binary data",
                    MAX_TOKEN
                )
            } else {
                format!(
                    "row {r_i}: the file ends inside a token {} (truncated?)",
                    snippet(&token)
                )
            };
            return Err(FormatError::truncated(path, Location::Byte(here), msg));
        }
        token.pop();
        // The C tool ends each row with '\n'; it shows up at the start of the next token.
        let tok: &[u8] = {
            let mut t = &token[..];
            while let [b'\n', rest @ ..] = t {
                t = rest;
            }
            t
        };
        if tok.is_empty() {
            return Err(FormatError::invalid(
                path,
                Location::Byte(here),
                format!("row {r_i}: empty token"),
            ));
        }
        let bytes: &mut [u8] = bytemuck_bytes(&mut row);
        if let Err(e) = rd.read_exact(bytes) {
            if e.kind() == std::io::ErrorKind::UnexpectedEof {
                return Err(FormatError::truncated(
                    path,
                    Location::Byte(here),
                    format!(
                        "row {r_i} ({}): the file ends inside its {dim} float32 values (truncated?)",
                        snippet(tok)
                    ),
                ));
            }
            return Err(io(e));
        }
        if cfg!(target_endian = "big") {
            for v in row.iter_mut() {
                *v = f32::from_bits(v.to_bits().swap_bytes());
            }
        }
        sink.push_bytes(tok, &row)
            .map_err(|e| FormatError::too_large(path, Location::Byte(here), e.to_string()))?;
        if let Some(pg) = progress
            && here >= next_report
        {
            pg(here, total_len.unwrap_or(0));
            next_report = here + (8 << 20);
        }
    }
    // Hash (and look at) whatever follows the rows.
    let mut extra = false;
    let mut rest = [0u8; 1 << 16];
    loop {
        match rd.read(&mut rest) {
            Ok(0) => break,
            Ok(n) => extra |= rest[..n].iter().any(|b| !b.is_ascii_whitespace()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    let sha = super::to_hex(&rd.into_inner().hasher.finalize());
    let (vocab, matrix, mut notes) = sink
        .finish()
        .map_err(|e| FormatError::invalid(path, Location::None, e.to_string()))?;
    notes.declared_rows = Some(rows as u64);
    if extra {
        notes.warnings.push(match limit {
            Some(l) if (l as u64) < rows as u64 => format!("limit {l}: later rows were not read"),
            _ => format!("data follows the {rows} rows the header declares; it was ignored"),
        });
    }
    Ok(Loaded::plain(vocab, matrix, notes, sha))
}

fn bytemuck_bytes(v: &mut [f32]) -> &mut [u8] {
    // SAFETY: any byte pattern is a valid f32; the length covers exactly the same memory.
    unsafe { std::slice::from_raw_parts_mut(v.as_mut_ptr().cast::<u8>(), std::mem::size_of_val(v)) }
}

/// True when the bytes after a "rows dim" header look like binary rows rather than text.
pub(crate) fn looks_binary(after_header: &[u8], dim: usize, named_bin: bool) -> bool {
    // A text row parses as a token and `dim` numbers.
    if let Some(e) = after_header.iter().position(|&b| b == b'\n')
        && super::text::parses_as_row(&after_header[..e], dim)
    {
        return false;
    }
    // A `.bin` file whose first row is not a text row is binary, even when its float bytes
    // happen to be printable (a one-value row such as "w BNU;").
    if named_bin {
        return true;
    }
    // A binary row's float bytes almost always hold a control byte or invalid UTF-8.
    let probe = &after_header[..after_header.len().min(1 + 64 + 4 * dim)];
    let Some(sp) = probe.iter().position(|&b| b == b' ') else {
        return false;
    };
    let vals = &probe[sp + 1..];
    let bad_utf8 = matches!(std::str::from_utf8(vals), Err(e) if e.error_len().is_some());
    vals.iter().any(|&b| b < 0x09 || (0x0e..0x20).contains(&b)) || bad_utf8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(rows: &[(&str, Vec<f32>)], newline: bool) -> Vec<u8> {
        let dim = rows[0].1.len();
        let mut b = format!("{} {}\n", rows.len(), dim).into_bytes();
        for (t, v) in rows {
            b.extend_from_slice(t.as_bytes());
            b.push(b' ');
            for x in v {
                b.extend_from_slice(&x.to_le_bytes());
            }
            if newline {
                b.push(b'\n');
            }
        }
        b
    }

    fn read(b: &[u8], limit: Option<usize>) -> Result<Loaded, FormatError> {
        read_w2v_binary(b, Some(b.len() as u64), Path::new("v.bin"), limit, None)
    }

    #[test]
    fn with_and_without_newlines() {
        let rows = vec![
            ("a", vec![1.0, 2.0]),
            ("bé", vec![3.0, f32::NAN]),
            ("c", vec![5.0, 6.0]),
        ];
        for nl in [true, false] {
            let b = encode(&rows, nl);
            let l = read(&b, None).unwrap();
            assert_eq!(l.vocab.iter().collect::<Vec<_>>(), vec!["a", "bé", "c"]);
            assert_eq!(l.matrix.row(2), &[5.0, 6.0]);
            assert!(l.matrix.row(1)[1].is_nan());
            assert_eq!(
                l.sha256.unwrap(),
                crate::formats::to_hex(&Sha256::digest(&b))
            );
            assert!(looks_binary(&b[4..], 2, false));
        }
    }

    #[test]
    fn a_bin_file_whose_float_bytes_are_printable_is_binary() {
        // f32 whose 4 little-endian bytes are "BNU;": no control byte, valid UTF-8.
        let v = f32::from_le_bytes(*b"BNU;");
        let b = encode(&[("w", vec![v])], true);
        assert_eq!(&b[4..], b"w BNU;\n");
        assert_eq!(
            crate::formats::detect_bytes(&b, b.len() as u64, Some("bin")),
            Some(crate::formats::Format::Word2VecBinary)
        );
        assert_eq!(read(&b, None).unwrap().matrix.row(0), &[v]);
        // The same bytes without the .bin name read as (malformed) text, as before.
        assert_eq!(
            crate::formats::detect_bytes(&b, b.len() as u64, None),
            Some(crate::formats::Format::Word2VecText)
        );
    }

    #[test]
    fn truncation_and_bad_headers() {
        let rows = vec![("a", vec![1.0, 2.0]), ("b", vec![3.0, 4.0])];
        let b = encode(&rows, true);
        let e = read(&b[..b.len() - 3], None).unwrap_err();
        assert!(
            e.to_string()
                .contains("row 1 (\"b\"): the file ends inside"),
            "{e}"
        );
        let mut big = b"1000000000000 300\n".to_vec();
        big.extend_from_slice(&b[4..]);
        let e = read(&big, None).unwrap_err();
        assert!(
            matches!(e.kind, crate::formats::ErrorKind::TooLarge(_)),
            "{e}"
        );
        assert!(read(b"2 -5\n", None).is_err());
        assert!(read(b"", None).is_err());
        let l = read(&b, Some(1)).unwrap();
        assert_eq!(l.matrix.rows(), 1);
        assert!(!looks_binary(b"a 0.5 0.25\n", 2, false));
        assert!(!looks_binary(b"a 0.5 0.25\n", 2, true));
        // A multi-byte character cut by the probe window is still text.
        let mut t = b"na\xc3\xafve".to_vec();
        for _ in 0..40 {
            t.extend_from_slice(b" 0.123456");
        }
        t.push(b'\n');
        assert!(!looks_binary(&t, 40, false));
    }
}
