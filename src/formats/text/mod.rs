//! word2vec text (with a "rows dim" header), fastText `.vec` (the same) and GloVe text (no header).
//!
//! The input is read in blocks of a few MiB; each block's complete lines are split into pieces
//! parsed in parallel, then merged in order. Memory stays at the matrix plus a few blocks, and the
//! sha256 of the bytes is computed while reading.

use std::io::Read;
use std::path::Path;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::error::{FormatError, Location, snippet};
use super::sink::RowSink;
use super::{Loaded, Progress};

const BLOCK: usize = 4 << 20;
const PIECE: usize = 512 << 10;
/// Longest line accepted (a 1M-dimensional row of long floats is ~20 MB).
pub(crate) const MAX_LINE: usize = 64 << 20;
/// Largest dimension accepted from a header or a first line.
pub(crate) const MAX_DIM: u64 = 1 << 24;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// The first line must be "rows dim" (word2vec text, fastText .vec).
    Required,
    /// No header: every line is data (GloVe).
    Absent,
    /// No header and no token: every field is a value (projector `vectors.tsv`); rows are
    /// named by their number.
    Tokenless,
}

/// Parses "rows dim" if the line is exactly two non-negative integers.
pub(crate) fn parse_header(line: &[u8]) -> Option<(i128, i128)> {
    let s = std::str::from_utf8(line).ok()?;
    let mut it = s.split_ascii_whitespace();
    let a = it.next()?.parse::<i128>().ok()?;
    let b = it.next()?.parse::<i128>().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some((a, b))
}

fn trim_line(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., last] = line {
        if matches!(last, b'\r' | b' ' | b'\t' | b'\n') {
            line = rest;
        } else {
            break;
        }
    }
    line
}

#[inline]
fn is_sep(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// What went wrong on one line (position relative to the line).
#[derive(Debug)]
enum LineError {
    NotNumber { col: usize, text: Vec<u8> },
    Count { found: usize },
    NoToken,
}

/// Parses `token v1 v2 ... vD` appending the values to `out`; returns the token's byte range end.
/// `dim == 0` means "unknown" (first line of a GloVe file): every field after the token is a value.
fn parse_line(
    line: &[u8],
    dim: usize,
    tokenless: bool,
    out: &mut Vec<f32>,
) -> Result<usize, LineError> {
    let start_len = out.len();
    let tok_end = if tokenless {
        0
    } else {
        line.iter().position(|&b| is_sep(b)).unwrap_or(line.len())
    };
    if tok_end == 0 && !tokenless {
        return Err(LineError::NoToken);
    }
    let mut i = tok_end;
    let n = line.len();
    loop {
        while i < n && is_sep(line[i]) {
            i += 1;
        }
        if i >= n {
            break;
        }
        match fast_float2::parse_partial::<f32, _>(&line[i..]) {
            Ok((v, used)) if i + used == n || is_sep(line[i + used]) => {
                out.push(v);
                i += used;
            }
            _ => {
                let end = line[i..]
                    .iter()
                    .position(|&b| is_sep(b))
                    .map_or(n, |p| i + p);
                out.truncate(start_len);
                return Err(LineError::NotNumber {
                    col: i,
                    text: line[i..end].to_vec(),
                });
            }
        }
    }
    let found = out.len() - start_len;
    if dim != 0 && found != dim {
        out.truncate(start_len);
        return Err(LineError::Count { found });
    }
    if found == 0 {
        return Err(LineError::Count { found });
    }
    Ok(tok_end)
}

/// Slow path for a line that failed the fast one: a token containing spaces ("new york 0.1 0.2")
/// is accepted when the last `dim` fields are numbers and none of the extra leading fields is.
fn parse_spaced_token(line: &[u8], dim: usize, out: &mut Vec<f32>) -> Option<usize> {
    if dim == 0 {
        return None;
    }
    let mut fields: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && is_sep(line[i]) {
            i += 1;
        }
        let s = i;
        while i < line.len() && !is_sep(line[i]) {
            i += 1;
        }
        if s < i {
            fields.push((s, i));
        }
    }
    if fields.len() <= dim + 1 {
        return None;
    }
    let split = fields.len() - dim;
    let num = |&(s, e): &(usize, usize)| fast_float2::parse::<f32, _>(&line[s..e]).ok();
    if fields[1..split].iter().any(|f| num(f).is_some()) {
        return None;
    }
    let start = out.len();
    for f in &fields[split..] {
        match num(f) {
            Some(v) => out.push(v),
            None => {
                out.truncate(start);
                return None;
            }
        }
    }
    Some(fields[split - 1].1)
}

/// True when `line` is a token followed by exactly `dim` numbers.
pub(crate) fn parses_as_row(line: &[u8], dim: usize) -> bool {
    // `dim` comes from a file's header: the capacity is bounded by what the line can hold
    // (a value takes at least two bytes with its separator).
    let mut v = Vec::with_capacity(dim.min(line.len() / 2 + 1));
    let line = trim_line(line);
    parse_line(line, dim, false, &mut v).is_ok() || parse_spaced_token(line, dim, &mut v).is_some()
}

/// Result of parsing one piece of complete lines.
struct Piece {
    /// Token bytes concatenated, with end offsets.
    tokens: Vec<u8>,
    ends: Vec<usize>,
    values: Vec<f32>,
    /// Newlines consumed (lines ended in this piece).
    lines: u64,
    blank_lines: u64,
    /// For each blank line, the rows of this piece before it (to count the blank lines up to
    /// the last row taken when the wanted rows end inside this piece).
    blank_at: Vec<usize>,
    error: Option<(u64, u64, String)>, // (line within piece, byte of line start within piece, message)
}

fn describe(e: LineError, dim: usize, tokenless: bool) -> String {
    let what = if tokenless {
        ""
    } else {
        "a token followed by "
    };
    match e {
        LineError::NotNumber { col, text } => format!(
            "column {}: {} is not a number (expected {what}{} values)",
            col + 1,
            snippet(&text),
            if dim == 0 {
                "float".to_string()
            } else {
                dim.to_string()
            }
        ),
        LineError::Count { found } if dim == 0 => {
            format!("expected {what}float values, found {found} values")
        }
        LineError::Count { found } if tokenless => {
            format!("expected {dim} values, found {found} (ragged row)")
        }
        LineError::Count { found } => {
            format!("expected {dim} values after the token, found {found} (ragged row)")
        }
        LineError::NoToken => "line starts with a separator: expected a token first".to_string(),
    }
}

fn parse_piece(bytes: &[u8], dim: usize, tokenless: bool) -> Piece {
    let mut p = Piece {
        tokens: Vec::with_capacity(bytes.len() / 32),
        ends: Vec::with_capacity(bytes.len() / (dim.max(1) * 4)),
        values: Vec::with_capacity(bytes.len() / 5),
        lines: 0,
        blank_lines: 0,
        blank_at: Vec::new(),
        error: None,
    };
    let mut pos = 0usize;
    while pos < bytes.len() {
        let nl = memchr_nl(&bytes[pos..]).map_or(bytes.len(), |k| pos + k);
        let line = trim_line(&bytes[pos..nl]);
        let line_start = pos;
        pos = nl + 1;
        if line.is_empty() {
            p.lines += 1;
            p.blank_lines += 1;
            p.blank_at.push(p.ends.len());
            continue;
        }
        match parse_line(line, dim, tokenless, &mut p.values) {
            Ok(tok_end) => {
                p.tokens.extend_from_slice(&line[..tok_end]);
                p.ends.push(p.tokens.len());
            }
            Err(e) => {
                match parse_spaced_token(line, if tokenless { 0 } else { dim }, &mut p.values) {
                    Some(tok_end) => {
                        p.tokens.extend_from_slice(&line[..tok_end]);
                        p.ends.push(p.tokens.len());
                    }
                    None => {
                        p.error = Some((p.lines, line_start as u64, describe(e, dim, tokenless)));
                        return p;
                    }
                }
            }
        }
        p.lines += 1;
    }
    p
}

#[inline]
fn memchr_nl(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'\n')
}

fn read_more<R: Read>(
    r: &mut R,
    buf: &mut Vec<u8>,
    want: usize,
    path: &Path,
) -> Result<usize, FormatError> {
    let start = buf.len();
    buf.resize(start + want, 0);
    let mut got = 0;
    while got < want {
        match r.read(&mut buf[start + got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FormatError::io(path, e)),
        }
    }
    buf.truncate(start + got);
    Ok(got)
}

/// Reads a word2vec/GloVe text stream of `total_len` bytes (when known).
pub(crate) fn read_text<R: Read>(
    mut r: R,
    total_len: Option<u64>,
    path: &Path,
    header: Header,
    limit: Option<usize>,
    progress: Option<&Progress>,
) -> Result<Loaded, FormatError> {
    let mut hasher = Sha256::new();
    let mut buf: Vec<u8> = Vec::with_capacity(BLOCK + 4096);
    let mut unhashed = 0usize; // buf[unhashed..] has not been fed to the hasher yet
    let mut consumed_total: u64 = 0; // file bytes before buf[0]
    let mut line_no: u64 = 1; // line number of buf[pos0]
    read_more(&mut r, &mut buf, BLOCK, path)?;
    let mut eof = buf.len() < BLOCK;
    if buf.is_empty() {
        return Err(FormatError::new(
            path,
            Location::None,
            super::ErrorKind::Empty,
        ));
    }

    // A UTF-8 byte order mark is not part of the first token.
    let bom = if buf.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    // First line: header or first data row.
    let first_nl = loop {
        if let Some(k) = memchr_nl(&buf) {
            break Some(k);
        }
        if eof {
            break None;
        }
        if buf.len() >= MAX_LINE {
            return Err(FormatError::invalid(
                path,
                Location::Line { line: 1, byte: 0 },
                format!(
                    "line 1 is longer than {} MiB without a newline: not a text vector file",
                    MAX_LINE >> 20
                ),
            ));
        }
        let want = buf.len();
        eof = read_more(&mut r, &mut buf, want, path)? < want;
    };
    let first_line_end = first_nl.unwrap_or(buf.len());
    let first = trim_line(&buf[bom.min(first_line_end)..first_line_end]);
    let mut declared: Option<u64> = None;
    let mut dim: usize = 0;
    let mut had_header = false;
    let tokenless = header == Header::Tokenless;
    let hdr = if matches!(header, Header::Absent | Header::Tokenless) {
        None
    } else {
        parse_header(first)
    };
    let line1 = Location::Line { line: 1, byte: 0 };
    match (header, hdr) {
        (Header::Required, None) => {
            return Err(FormatError::invalid(
                path,
                line1,
                format!(
                    "expected a header line \"<rows> <dim>\" (word2vec text format), found {}",
                    snippet(first)
                ),
            ));
        }
        (_, Some((rows, d))) => {
            had_header = true;
            if d <= 0 || d > i128::from(MAX_DIM) {
                return Err(FormatError::invalid(
                    path,
                    line1,
                    format!(
                        "header declares dimension {d}: expected a positive integer up to {MAX_DIM}"
                    ),
                ));
            }
            if rows < 0 {
                return Err(FormatError::invalid(
                    path,
                    line1,
                    format!("header declares {rows} rows: expected a non-negative integer"),
                ));
            }
            dim = d as usize;
            // Each row needs at least a 1-byte token and dim " x" pairs: refuse impossible
            // headers before allocating anything from them.
            if let Some(t) = total_len {
                let body = t.saturating_sub(first_line_end as u64 + 1);
                let min_row = 1 + 2 * dim as u64;
                // k rows take at least k * min_row bytes and k - 1 newlines.
                let fit = (body + 1) / (min_row + 1);
                let want = limit.map_or(rows as u128, |l| (l as u128).min(rows as u128));
                if want > 2 * fit as u128 + 16 {
                    return Err(FormatError::too_large(
                        path,
                        line1,
                        format!(
                            "header declares {rows} rows of {dim} values, but only {body} bytes follow: at most {fit} rows fit (truncated file or wrong header?)"
                        ),
                    ));
                }
            }
            declared = Some(u64::try_from(rows).unwrap_or(u64::MAX));
        }
        (_, None) => {}
    }
    let mut pos0 = bom;
    if had_header {
        pos0 = (first_line_end + 1).min(buf.len());
        line_no = 2;
    } else {
        // Dimension from the first data row.
        let mut tmp = Vec::new();
        match parse_line(first, 0, tokenless, &mut tmp) {
            Ok(_) => dim = tmp.len(),
            Err(e) => {
                let msg = match e {
                    LineError::Count { found: 0 } => format!(
                        "expected a token followed by float values, found only {}",
                        snippet(first)
                    ),
                    e => describe(e, 0, tokenless),
                };
                return Err(FormatError::invalid(path, line1, msg));
            }
        }
        if dim as u64 > MAX_DIM {
            return Err(FormatError::invalid(
                path,
                line1,
                format!("line 1 has {dim} values: more than the {MAX_DIM} dimensions accepted"),
            ));
        }
    }

    // Capacity: declared rows (already bounded by the file size), or an estimate from line 1.
    let cap_rows = match (declared, total_len) {
        (Some(d), Some(t)) => d.min(t / (1 + 2 * dim as u64)) as usize,
        (Some(d), None) => d.min(1 << 20) as usize,
        (None, Some(t)) => {
            let line_len = (first_line_end + 1).max(2) as u64;
            ((t / line_len) + (t / line_len) / 16 + 16).min(1 << 32) as usize
        }
        (None, None) => 1024,
    };
    let mut sink = RowSink::new(dim, cap_rows, limit);
    // Rows to take: the declared count (gensim reads exactly that many) capped by the limit.
    let want_rows: u64 = match (declared, limit) {
        (Some(d), Some(l)) => d.min(l as u64),
        (Some(d), None) => d,
        (None, Some(l)) => l as u64,
        (None, None) => u64::MAX,
    };
    let mut blank_lines = 0u64;
    // Set when the wanted rows were taken: whether anything but whitespace remains.
    let mut stopped: Option<bool> = None;

    while stopped.is_none() {
        // Complete lines in buf[pos0..cut]; the tail after the last newline waits for more data.
        let cut = if eof {
            buf.len()
        } else {
            match buf[pos0..].iter().rposition(|&b| b == b'\n') {
                Some(k) => pos0 + k + 1,
                None => pos0,
            }
        };
        let region = &buf[pos0..cut];
        // Split at newlines into pieces of ~PIECE bytes.
        let mut bounds = vec![0usize];
        let mut s = 0;
        while s < region.len() {
            let target = (s + PIECE).min(region.len());
            let e = if target == region.len() {
                target
            } else {
                memchr_nl(&region[target..]).map_or(region.len(), |k| target + k + 1)
            };
            bounds.push(e);
            s = e;
        }
        let to_hash = &buf[unhashed..];
        let (pieces, _) = rayon::join(
            || {
                bounds
                    .par_windows(2)
                    .map(|w| parse_piece(&region[w[0]..w[1]], dim, tokenless))
                    .collect::<Vec<_>>()
            },
            || hasher.update(to_hash),
        );
        unhashed = buf.len();
        for (k, p) in pieces.iter().enumerate() {
            let mut start = 0usize;
            let mut taken = 0usize;
            for &end in &p.ends {
                if sink.rows_read() >= want_rows {
                    break;
                }
                let vals = &p.values[taken * dim..(taken + 1) * dim];
                let pushed = if tokenless {
                    sink.push_str(&sink.rows_read().to_string(), vals)
                } else {
                    sink.push_bytes(&p.tokens[start..end], vals)
                };
                pushed.map_err(|e| FormatError::too_large(path, Location::None, e.to_string()))?;
                start = end;
                taken += 1;
            }
            if sink.rows_read() >= want_rows {
                let more_here = taken < p.ends.len() || p.error.is_some();
                let more_later = pieces[k + 1..]
                    .iter()
                    .any(|q| !q.ends.is_empty() || q.error.is_some());
                let more_buf = buf[cut..].iter().any(|b| !b.is_ascii_whitespace());
                // The blank lines before the next row of the file (all of them when no row
                // follows): those the rows taken skipped.
                blank_lines += p.blank_at.iter().filter(|&&r| r <= taken).count() as u64;
                if !more_here {
                    blank_lines += pieces[k + 1..].iter().map(|q| q.blank_lines).sum::<u64>();
                }
                stopped = Some(more_here || more_later || more_buf);
                break;
            }
            if let Some((l, b, msg)) = &p.error {
                return Err(FormatError::invalid(
                    path,
                    Location::Line {
                        line: line_no + l,
                        byte: consumed_total + (pos0 + bounds[k]) as u64 + b,
                    },
                    msg.clone(),
                ));
            }
            line_no += p.lines;
            blank_lines += p.blank_lines;
        }
        if let Some(pg) = progress {
            pg(consumed_total + cut as u64, total_len.unwrap_or(0));
        }
        if stopped.is_some() || (eof && cut == buf.len()) {
            break;
        }
        // Keep the incomplete tail and read more.
        consumed_total += cut as u64;
        buf.drain(..cut);
        unhashed -= cut;
        pos0 = 0;
        if buf.len() >= MAX_LINE {
            return Err(FormatError::invalid(
                path,
                Location::Line {
                    line: line_no,
                    byte: consumed_total,
                },
                format!(
                    "line is longer than {} MiB without a newline",
                    MAX_LINE >> 20
                ),
            ));
        }
        let want = BLOCK.max(buf.len());
        eof = read_more(&mut r, &mut buf, want, path)? < want;
    }

    let mut warnings = Vec::new();
    if let Some(mut extra) = stopped {
        // Hash the rest of the file so the provenance describes the whole source.
        hasher.update(&buf[unhashed..]);
        let mut rest = vec![0u8; 1 << 20];
        loop {
            match r.read(&mut rest) {
                Ok(0) => break,
                Ok(n) => {
                    extra |= rest[..n].iter().any(|b| !b.is_ascii_whitespace());
                    hasher.update(&rest[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(FormatError::io(path, e)),
            }
        }
        match (declared, limit) {
            (Some(d), l) if extra && l.is_none_or(|l| l as u64 >= d) => warnings.push(format!(
                "the file continues after the {d} rows its header declares; the rest was ignored"
            )),
            (_, Some(l)) if extra => warnings.push(format!("limit {l}: later rows were not read")),
            _ => {}
        }
    }
    if let Some(d) = declared {
        let want = limit.map_or(d, |l| d.min(l as u64));
        if sink.rows_read() < want {
            return Err(FormatError::truncated(
                path,
                Location::Line {
                    line: line_no,
                    byte: consumed_total + buf.len() as u64,
                },
                format!(
                    "header declares {d} rows, but the file ends after {} (truncated?)",
                    sink.rows_read()
                ),
            ));
        }
    }
    if sink.rows_read() == 0 {
        return Err(FormatError::invalid(
            path,
            Location::None,
            "no vectors: the file has a header but no rows",
        ));
    }
    if blank_lines > 0 {
        warnings.push(format!("{blank_lines} blank lines were skipped"));
    }
    let sha = super::to_hex(&hasher.finalize());
    let (vocab, matrix, mut notes) = sink
        .finish()
        .map_err(|e| FormatError::invalid(path, Location::None, e.to_string()))?;
    notes.declared_rows = declared;
    notes.warnings.extend(warnings);
    Ok(Loaded::plain(vocab, matrix, notes, sha))
}

#[cfg(test)]
mod tests;
