//! The bytes under the CSV/TSV reader, watched: the `csv` crate keeps a whole record in memory
//! and reads an unterminated quote as one field to the end of the file. [`Guard`] follows the
//! same quoting rules (RFC 4180 as `csv_core` reads it: a field that starts with a quote runs
//! to the next lone quote, `""` is a quote inside it, a quote elsewhere is a character) to
//! refuse a record longer than [`MAX_RECORD_BYTES`] as soon as it is, and to say where a quote
//! that is never closed was opened.

use std::io::Read;

/// Longest CSV/TSV record (all its fields, quoted newlines included): the line limit of the
/// other corpus readers ([`crate::formats::MAX_LINE_BYTES`]). A longer record, such as a
/// header line of 1.5 GB, a file with no newline (`/dev/zero`) or an unterminated quote near
/// the start of a large file, stops the read with an error naming the line where it began.
pub const MAX_RECORD_BYTES: u64 = crate::formats::MAX_LINE_BYTES as u64;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At the start of a record (blank lines are skipped here).
    RecordStart,
    FieldStart,
    /// Inside an unquoted field.
    Field,
    /// Inside a quoted field.
    Quoted,
    /// A quote inside a quoted field: the closing one, or the first of `""`.
    QuoteInQuoted,
}

/// Where a thing happened: 1-based line and 0-based byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct At {
    pub line: u64,
    pub byte: u64,
}

pub(super) struct Guard<R> {
    inner: R,
    delimiter: u8,
    state: State,
    /// Line and byte of the next byte to be seen.
    here: At,
    /// Where the record being read started.
    record: At,
    /// Where the quoted field being read opened.
    quote: Option<At>,
    /// Set at the end of the input when a quoted field was still open.
    pub unterminated: Option<At>,
    /// Set when a record grew past [`MAX_RECORD_BYTES`]: where it started.
    pub overlong: Option<At>,
}

impl<R: Read> Guard<R> {
    pub fn new(inner: R, delimiter: u8) -> Self {
        let start = At { line: 1, byte: 0 };
        Guard {
            inner,
            delimiter,
            state: State::RecordStart,
            here: start,
            record: start,
            quote: None,
            unterminated: None,
            overlong: None,
        }
    }

    /// What stopped the read of an over-long record, in words (for the error message).
    pub fn overlong_message(&self) -> Option<(At, String)> {
        let at = self.overlong?;
        let mut msg = format!(
            "a record starting on line {} is longer than {} MiB",
            at.line,
            MAX_RECORD_BYTES >> 20
        );
        if let Some(q) = self.quote.filter(|_| self.state == State::Quoted) {
            msg.push_str(&format!(
                " (inside a quoted field opened on line {} and not closed)",
                q.line
            ));
        }
        msg.push_str(": expected records of text, one a line");
        Some((at, msg))
    }

    fn scan(&mut self, bytes: &[u8]) {
        for &b in bytes {
            let terminator = b == b'\n' || b == b'\r';
            self.state = match self.state {
                State::RecordStart | State::FieldStart if b == b'"' => {
                    if self.state == State::RecordStart {
                        self.record = self.here;
                    }
                    self.quote = Some(self.here);
                    State::Quoted
                }
                State::RecordStart if terminator => State::RecordStart,
                State::RecordStart => {
                    self.record = self.here;
                    if b == self.delimiter {
                        State::FieldStart
                    } else {
                        State::Field
                    }
                }
                State::FieldStart | State::Field if terminator => State::RecordStart,
                State::FieldStart | State::Field if b == self.delimiter => State::FieldStart,
                State::FieldStart | State::Field => State::Field,
                State::Quoted if b == b'"' => State::QuoteInQuoted,
                State::Quoted => State::Quoted,
                State::QuoteInQuoted if b == b'"' => State::Quoted,
                State::QuoteInQuoted if terminator => State::RecordStart,
                State::QuoteInQuoted if b == self.delimiter => State::FieldStart,
                State::QuoteInQuoted => State::Field,
            };
            if b == b'\n' {
                self.here.line += 1;
            }
            self.here.byte += 1;
        }
    }
}

impl<R: Read> Read for Guard<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.overlong.is_some() {
            return Err(std::io::Error::other("record too long"));
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            if self.state == State::Quoted {
                self.unterminated = self.quote;
            }
            return Ok(0);
        }
        self.scan(&buf[..n]);
        if self.state != State::RecordStart && self.here.byte - self.record.byte > MAX_RECORD_BYTES
        {
            self.overlong = Some(self.record);
            return Err(std::io::Error::other("record too long"));
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scanned(text: &[u8]) -> Guard<&[u8]> {
        let mut g = Guard::new(text, b',');
        std::io::copy(&mut g, &mut std::io::sink()).unwrap();
        g
    }

    #[test]
    fn quotes_are_followed_as_the_csv_reader_reads_them() {
        let g = scanned(b"a,b\n1,\"x\ny\"\"z\"\n2,\"w\"\n");
        assert_eq!(g.unterminated, None);
        assert_eq!(g.record, At { line: 4, byte: 15 });
        // A quote inside an unquoted field is a character; one after a delimiter opens a field.
        let g = scanned(b"a,b\n1,x\"y\n2,\"open\n3,4\n");
        assert_eq!(g.unterminated, Some(At { line: 3, byte: 12 }));
        let g = scanned(b"\"h\"\r\n\r\n\"a\"\"\"\r\n");
        assert_eq!(g.unterminated, None);
    }

    #[test]
    fn an_overlong_record_stops_the_read_and_names_its_line() {
        let mut text = b"text\nshort\n\"".to_vec();
        text.resize(text.len() + MAX_RECORD_BYTES as usize + 10, b'x');
        let mut g = Guard::new(&text[..], b',');
        let e = std::io::copy(&mut g, &mut std::io::sink()).unwrap_err();
        assert_eq!(e.to_string(), "record too long");
        let (at, msg) = g.overlong_message().unwrap();
        assert_eq!(at, At { line: 3, byte: 11 });
        assert!(
            msg.contains("line 3 is longer than 64 MiB (inside a quoted field opened on line 3"),
            "{msg}"
        );
    }
}
