//! Format detection from content (magic bytes, header line, first row), with the extension as a
//! tie-breaker.

use std::io::Read;
use std::path::Path;

use super::error::{FormatError, Location, snippet};
use super::text::parse_header;
use super::{Format, NATIVE_EXTENSION};

/// Detects the format of a file from its first 64 KiB and its name.
///
/// Only a regular file is opened: a pipe or device is refused from its metadata (the loader
/// reopens the file after detection, so a pipe's data would be gone, and a FIFO without a
/// writer would block the open).
pub fn detect(path: &Path) -> Result<Format, FormatError> {
    let meta = std::fs::metadata(path).map_err(|e| FormatError::io(path, e))?;
    super::error::require_regular(path, &meta, false)?;
    let mut f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut head = vec![0u8; 64 << 10];
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FormatError::io(path, e)),
        }
    }
    head.truncate(n);
    if head.is_empty() {
        return Err(FormatError::new(
            path,
            Location::None,
            super::ErrorKind::Empty,
        ));
    }
    let ext = path
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    detect_bytes(&head, meta.len(), ext.as_deref()).ok_or_else(|| {
        FormatError::invalid(
            path,
            Location::Byte(0),
            format!(
                "cannot tell the format from the content (starts with {}); expected word2vec/GloVe/fastText text, word2vec binary, projector TSV, npy, safetensors, parquet, arrow or {NATIVE_EXTENSION}: give --format",
                snippet(&head[..head.len().min(32)])
            ),
        )
    })
}

fn is_number(s: &[u8]) -> bool {
    fast_float2::parse::<f32, _>(s).is_ok()
}

/// Detects a format from the first bytes of a file, its length and its extension.
pub fn detect_bytes(head: &[u8], file_len: u64, ext: Option<&str>) -> Option<Format> {
    if head.starts_with(super::npy::MAGIC) {
        return Some(Format::Npy);
    }
    if head.starts_with(b"PAR1") {
        return Some(Format::Parquet);
    }
    if head.starts_with(b"ARROW1") {
        return Some(Format::ArrowIpc);
    }
    if head.starts_with(super::native::MAGIC) {
        return Some(Format::Native);
    }
    if super::safetensors_io::looks_like(head, file_len) {
        return Some(Format::Safetensors);
    }
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let nl = head.iter().position(|&b| b == b'\n').unwrap_or(head.len());
    let first = &head[..nl];
    let first = first.strip_suffix(b"\r").unwrap_or(first);
    if let Some((rows, dim)) = parse_header(first) {
        if rows < 0 || dim <= 0 || dim > i128::from(super::text::MAX_DIM) {
            // A broken or impossible header: let the text reader explain it (nothing is sized
            // from it here).
            return Some(Format::Word2VecText);
        }
        let rest = head.get(nl + 1..).unwrap_or(&[]);
        let binary = super::w2v_binary::looks_binary(rest, dim as usize, ext == Some("bin"))
            || (rest.is_empty() && ext == Some("bin"));
        return Some(if binary {
            Format::Word2VecBinary
        } else {
            Format::Word2VecText
        });
    }
    if std::str::from_utf8(first).is_err() && ext != Some("txt") && ext != Some("vec") {
        return None;
    }
    let fields: Vec<&[u8]> = first
        .split(|&b| b == b' ' || b == b'\t')
        .filter(|f| !f.is_empty())
        .collect();
    if fields.len() < 2 {
        // One field: a tokenless single-value TSV, or nothing we know.
        return (fields.len() == 1 && is_number(fields[0]) && ext == Some("tsv"))
            .then_some(Format::ProjectorTsv);
    }
    let all_numeric = fields.iter().all(|f| is_number(f));
    let tabbed = first.contains(&b'\t');
    if all_numeric && (tabbed || ext == Some("tsv")) {
        return Some(Format::ProjectorTsv);
    }
    if fields[1..].iter().all(|f| is_number(f)) {
        return Some(Format::GloveText);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_content() {
        assert_eq!(
            detect_bytes(b"3 2\na 1 2\n", 10, None),
            Some(Format::Word2VecText)
        );
        assert_eq!(
            detect_bytes(b"the 0.1 0.2\n", 12, Some("txt")),
            Some(Format::GloveText)
        );
        assert_eq!(
            detect_bytes(b"0.1\t0.2\n", 8, None),
            Some(Format::ProjectorTsv)
        );
        assert_eq!(
            detect_bytes(b"1990 0.1 0.2\n", 8, None),
            Some(Format::GloveText)
        );
        assert_eq!(
            detect_bytes(b"\x93NUMPY\x01\x00", 8, None),
            Some(Format::Npy)
        );
        assert_eq!(detect_bytes(b"PAR1....", 8, None), Some(Format::Parquet));
        let mut bin = b"1 2\nab ".to_vec();
        bin.extend_from_slice(&1.5f32.to_le_bytes());
        bin.extend_from_slice(&(-2.0f32).to_le_bytes());
        assert_eq!(
            detect_bytes(&bin, bin.len() as u64, None),
            Some(Format::Word2VecBinary)
        );
        assert_eq!(detect_bytes(b"hello world\n", 12, None), None);
        assert_eq!(detect_bytes(&[0xff, 0xfe, 0x00, 0x12], 4, None), None);
    }
}
