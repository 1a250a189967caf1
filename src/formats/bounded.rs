//! Bounded reads of text whose size nobody has checked: lines kept up to a limit (the rest of an
//! over-long line skipped as a stream, never held in memory), and whole side files (word lists,
//! queries, tests, anchors, analogies, vocabularies, metadata) read up to a stated size.

use std::io::{BufRead, Read};
use std::path::Path;

use super::error::{ErrorKind, FormatError, Location};

/// Longest line the line readers keep (corpora, JSONL records, vocabulary and metadata lines):
/// far above the document cap ([`super::corpus::MAX_DOC_BYTES`], 256 KiB) and above a JSON
/// record holding such a document with every character escaped (6 bytes each). The rest of a
/// longer line is read past in blocks and dropped, so a file with no newline at all (a 1.5 GB
/// one-line corpus, `/dev/zero`) costs this much memory, not its size.
pub const MAX_LINE_BYTES: usize = 64 << 20;

/// Largest side file read whole: word lists, query and test files, anchor lists, analogy and
/// word-pair benchmarks, stop words, map records. The largest in use (the analogy benchmark,
/// word lists of a vocabulary) are a few MiB; a larger file, or a device that never ends, is
/// refused by name before (or, for a pipe, as soon as) more than this is read.
pub const MAX_SIDE_FILE_BYTES: u64 = 64 << 20;

/// One line read by [`read_line_bounded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct LineRead {
    /// Bytes consumed from the reader, newline and skipped rest included (0 at the end).
    pub consumed: u64,
    /// The line was longer than the limit: `buf` holds its first `max` bytes.
    pub overlong: bool,
}

/// Reads one line into `buf` (cleared first; the newline kept when it was read), keeping at
/// most `max` bytes: the rest of a longer line is consumed block by block from the reader's
/// buffer and dropped.
pub(crate) fn read_line_bounded<R: BufRead>(
    r: &mut R,
    buf: &mut Vec<u8>,
    max: usize,
) -> std::io::Result<LineRead> {
    read_line(r, buf, max, true)
}

/// [`read_line_bounded`] that stops at `max` bytes without reading past the rest of the line
/// (for readers that refuse an over-long line: a line without end, such as `/dev/zero`'s, is
/// not followed further).
fn read_line(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    max: usize,
    skip_rest: bool,
) -> std::io::Result<LineRead> {
    buf.clear();
    let n = r.by_ref().take(max as u64).read_until(b'\n', buf)?;
    let mut consumed = n as u64;
    if n < max || buf.last() == Some(&b'\n') {
        return Ok(LineRead {
            consumed,
            overlong: false,
        });
    }
    // Exactly `max` bytes without a newline: skip to the end of the line without keeping it.
    let mut overlong = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(a) => a,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        overlong = true;
        if !skip_rest {
            break;
        }
        match avail.iter().position(|&b| b == b'\n') {
            Some(i) => {
                r.consume(i + 1);
                consumed += i as u64 + 1;
                break;
            }
            None => {
                let k = avail.len();
                r.consume(k);
                consumed += k as u64;
            }
        }
    }
    Ok(LineRead { consumed, overlong })
}

/// Reads a side file whole as UTF-8 text: a regular file of at most
/// [`MAX_SIDE_FILE_BYTES`] (its length checked before anything is read), or a pipe or device
/// read until that many bytes. `what` names the file's role in the messages ("queries file").
pub fn read_side_file(path: &Path, what: &str) -> Result<String, FormatError> {
    let bytes = read_side_bytes(path, what, MAX_SIDE_FILE_BYTES)?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        FormatError::invalid(
            path,
            Location::Byte(at as u64),
            format!("not UTF-8 text: expected a {what} (one entry a line, UTF-8)"),
        )
    })
}

/// The bytes of a side file of at most `limit` bytes (see [`read_side_file`]).
pub(crate) fn read_side_bytes(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, FormatError> {
    let too_large = |size: String| {
        FormatError::too_large(
            path,
            Location::None,
            format!(
                "{size}: a {what} is read whole and may hold at most {} MiB",
                limit >> 20
            ),
        )
    };
    let meta = std::fs::metadata(path).map_err(|e| FormatError::io(path, e))?;
    if meta.is_dir() {
        return Err(FormatError::new(
            path,
            Location::None,
            ErrorKind::IsDirectory,
        ));
    }
    if meta.is_file() && meta.len() > limit {
        return Err(too_large(format!("{} bytes", meta.len())));
    }
    let f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut bytes = Vec::with_capacity(if meta.is_file() {
        meta.len() as usize
    } else {
        0
    });
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| FormatError::io(path, e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(format!("more than {limit} bytes")));
    }
    Ok(bytes)
}

/// The first lines of a text file read by [`read_lines`].
#[derive(Debug, Default)]
pub(crate) struct Lines {
    /// Without their line breaks (`\n` or `\r\n`).
    pub lines: Vec<Vec<u8>>,
    /// The file has more lines than were asked for.
    pub more: bool,
}

/// Reads at most `max_lines` lines of `path` (a vocabulary, a metadata table: the caller knows
/// how many rows it can use), each at most [`MAX_LINE_BYTES`]; a longer line is an error that
/// names it. Memory follows the lines read, never a size the file declares or its length.
pub(crate) fn read_lines(path: &Path, what: &str, max_lines: usize) -> Result<Lines, FormatError> {
    let meta = std::fs::metadata(path).map_err(|e| FormatError::io(path, e))?;
    if meta.is_dir() {
        return Err(FormatError::new(
            path,
            Location::None,
            ErrorKind::IsDirectory,
        ));
    }
    let f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut r = std::io::BufReader::with_capacity(1 << 20, f);
    let mut out = Lines::default();
    let mut buf = Vec::new();
    let mut byte = 0u64;
    loop {
        let l = read_line(&mut r, &mut buf, MAX_LINE_BYTES, false)
            .map_err(|e| FormatError::io(path, e))?;
        if l.consumed == 0 {
            break;
        }
        if out.lines.len() == max_lines {
            out.more = true;
            break;
        }
        if l.overlong {
            return Err(FormatError::too_large(
                path,
                Location::Line {
                    line: out.lines.len() as u64 + 1,
                    byte,
                },
                format!(
                    "the line is longer than {} MiB: expected a {what}, one entry a line",
                    MAX_LINE_BYTES >> 20
                ),
            ));
        }
        byte += l.consumed;
        let mut line = std::mem::take(&mut buf);
        if line.last() == Some(&b'\n') {
            line.pop();
            if line.last() == Some(&b'\r') {
                line.pop();
            }
        }
        out.lines.push(line);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader of `left` bytes: `x`s, the last one a newline.
    struct Endless {
        left: u64,
    }

    impl Read for Endless {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.left == 0 {
                return Ok(0);
            }
            let k = (buf.len() as u64).min(self.left) as usize;
            buf[..k].fill(b'x');
            self.left -= k as u64;
            if self.left == 0 {
                buf[k - 1] = b'\n';
            }
            Ok(k)
        }
    }

    #[test]
    fn an_overlong_line_is_cut_and_its_rest_skipped_without_being_kept() {
        let mut r = std::io::BufReader::with_capacity(
            4096,
            Endless { left: 10_000_000 }.chain(&b"next\n"[..]),
        );
        let mut buf = Vec::new();
        let l = read_line_bounded(&mut r, &mut buf, 1000).unwrap();
        assert_eq!(
            l,
            LineRead {
                consumed: 10_000_000,
                overlong: true
            }
        );
        assert_eq!(buf.len(), 1000);
        assert!(buf.capacity() < 1 << 20, "{}", buf.capacity());
        let l = read_line_bounded(&mut r, &mut buf, 1000).unwrap();
        assert_eq!(
            (l.consumed, l.overlong, &buf[..]),
            (5, false, &b"next\n"[..])
        );
        assert_eq!(
            read_line_bounded(&mut r, &mut buf, 1000).unwrap().consumed,
            0
        );
        // A line of exactly the limit with its newline is not over-long.
        let mut r = &b"abc\nd"[..];
        let l = read_line_bounded(&mut r, &mut buf, 4).unwrap();
        assert_eq!((l.consumed, l.overlong), (4, false));
        let l = read_line_bounded(&mut r, &mut buf, 1).unwrap();
        assert_eq!((l.consumed, l.overlong, &buf[..]), (1, false, &b"d"[..]));
    }

    #[test]
    fn side_files_are_bounded_by_size_and_named() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("words.txt");
        std::fs::write(&p, "he\nshe\n").unwrap();
        assert_eq!(read_side_file(&p, "word list").unwrap(), "he\nshe\n");
        let e = read_side_bytes(&p, "word list", 4).unwrap_err();
        assert_eq!(e.kind_name(), "too_large");
        assert!(
            e.to_string().contains("words.txt: 7 bytes: a word list"),
            "{e}"
        );
        std::fs::write(&p, b"ok\n\xff\n").unwrap();
        let e = read_side_file(&p, "word list").unwrap_err();
        assert!(
            e.to_string().contains("words.txt: byte 3: not UTF-8"),
            "{e}"
        );
        #[cfg(target_os = "linux")]
        {
            let e = read_side_bytes(Path::new("/dev/zero"), "queries file", 1 << 16).unwrap_err();
            assert!(
                e.to_string().contains("/dev/zero: more than 65536 bytes"),
                "{e}"
            );
            let e = read_lines(Path::new("/dev/zero"), "vocabulary", 10).unwrap_err();
            assert!(
                e.to_string()
                    .contains("/dev/zero: line 1 (byte 0): the line is longer than 64 MiB"),
                "{e}"
            );
        }
        std::fs::write(&p, "a\r\n\nb\nc\n").unwrap();
        let l = read_lines(&p, "vocabulary", 3).unwrap();
        assert_eq!(
            (l.lines, l.more),
            (vec![b"a".to_vec(), vec![], b"b".to_vec()], true)
        );
        let l = read_lines(&p, "vocabulary", 4).unwrap();
        assert_eq!((l.lines.len(), l.more), (4, false));
    }
}
