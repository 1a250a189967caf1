//! NumPy `.npy` (format versions 1-3): 2-D float16/32/64 arrays of either byte order and either
//! memory order. Little-endian float32 in C order is memory-mapped, not copied.

use std::io::Write;
use std::path::Path;
use std::sync::Arc;

use half::f16;
use memmap2::Mmap;
use rayon::prelude::*;

use super::error::{FormatError, Location, snippet};
use super::{LoadOptions, Loaded};
use crate::core::Matrix;
pub(crate) use crate::core::hash::sha256_hex;

pub(crate) const MAGIC: &[u8] = b"\x93NUMPY";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Float {
    F16,
    F32,
    F64,
}

impl Float {
    fn size(self) -> usize {
        match self {
            Float::F16 => 2,
            Float::F32 => 4,
            Float::F64 => 8,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NpyHeader {
    pub rows: usize,
    pub cols: usize,
    pub dtype: Float,
    pub little_endian: bool,
    pub fortran: bool,
    pub data_offset: usize,
}

fn field<'a>(dict: &'a str, key: &str) -> Option<&'a str> {
    let k1 = format!("'{key}'");
    let k2 = format!("\"{key}\"");
    let at = dict
        .find(&k1)
        .map(|i| i + k1.len())
        .or_else(|| dict.find(&k2).map(|i| i + k2.len()))?;
    let rest = dict[at..].trim_start();
    rest.strip_prefix(':').map(str::trim_start)
}

/// Parses the header of an .npy file held (at least its first bytes) in `b`.
pub(crate) fn parse_header(b: &[u8], file_len: u64, path: &Path) -> Result<NpyHeader, FormatError> {
    let bad = |msg: String| FormatError::invalid(path, Location::Byte(0), msg);
    if b.len() < 10 || &b[..6] != MAGIC {
        return Err(bad("not an .npy file: missing the \\x93NUMPY magic".into()));
    }
    let major = b[6];
    let (hlen, start) = match major {
        1 => (u16::from_le_bytes([b[8], b[9]]) as usize, 10),
        2 | 3 => {
            if b.len() < 12 {
                return Err(FormatError::truncated(
                    path,
                    Location::Byte(0),
                    "the .npy header is cut short",
                ));
            }
            (u32::from_le_bytes([b[8], b[9], b[10], b[11]]) as usize, 12)
        }
        v => {
            return Err(FormatError::unsupported(
                path,
                format!(".npy format version {v} is not supported (1, 2 or 3 expected)"),
            ));
        }
    };
    let end = start + hlen;
    if end as u64 > file_len || end > b.len() {
        return Err(FormatError::truncated(
            path,
            Location::Byte(start as u64),
            format!("the .npy header declares {hlen} bytes but the file is shorter"),
        ));
    }
    let dict = String::from_utf8_lossy(&b[start..end]);
    let dict = dict.trim();
    let descr_raw = field(dict, "descr").ok_or_else(|| {
        bad(format!(
            "no 'descr' in the header {}",
            snippet(dict.as_bytes())
        ))
    })?;
    if descr_raw.starts_with('[') {
        return Err(FormatError::unsupported(
            path,
            "structured dtype: expected a plain float array (float16/32/64)",
        ));
    }
    let q = descr_raw.chars().next().unwrap_or('\'');
    let descr: String = descr_raw.chars().skip(1).take_while(|&c| c != q).collect();
    let (order, code) = match descr.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &descr[1..]),
        _ => ('=', descr.as_str()),
    };
    let dtype = match code {
        "f2" | "e" => Float::F16,
        "f4" | "f" => Float::F32,
        "f8" | "d" => Float::F64,
        other => {
            return Err(FormatError::unsupported(
                path,
                format!(
                    "dtype '{descr}' is not a float array: expected float16, float32 or float64{}",
                    if other.starts_with('U') || other.starts_with('S') {
                        " (this is a string array)"
                    } else if other.starts_with('O') {
                        " (this is an object array)"
                    } else {
                        ""
                    }
                ),
            ));
        }
    };
    let little_endian = match order {
        '>' => false,
        '<' => true,
        _ => cfg!(target_endian = "little"),
    };
    let fortran = match field(dict, "fortran_order") {
        Some(v) if v.starts_with("True") => true,
        Some(v) if v.starts_with("False") => false,
        _ => return Err(bad("no 'fortran_order' True/False in the header".into())),
    };
    let shape_raw = field(dict, "shape").ok_or_else(|| bad("no 'shape' in the header".into()))?;
    // `(rows, dim)`: the tuple is taken from after its `(` to its `)`, never by byte positions
    // that could fall before the start or inside a character.
    let tuple = shape_raw.strip_prefix('(').ok_or_else(|| {
        bad(format!(
            "'shape' in the header is not a tuple: {}",
            snippet(shape_raw.as_bytes())
        ))
    })?;
    let close = tuple
        .find(')')
        .ok_or_else(|| bad("unterminated 'shape' tuple in the header".into()))?;
    let dims: Vec<&str> = tuple[..close]
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    let dims: Vec<u64> = dims
        .iter()
        .map(|d| d.trim_end_matches('L').parse::<u64>())
        .collect::<Result<_, _>>()
        .map_err(|_| {
            bad(format!(
                "shape {} is not a tuple of integers",
                snippet(&shape_raw.as_bytes()[..close + 2])
            ))
        })?;
    if dims.len() != 2 {
        return Err(FormatError::unsupported(
            path,
            format!(
                "{}-D array of shape {:?}: expected a 2-D array (rows, dim)",
                dims.len(),
                dims
            ),
        ));
    }
    let (rows, cols) = (dims[0], dims[1]);
    if cols == 0 {
        return Err(FormatError::invalid(
            path,
            Location::None,
            "array has 0 columns: expected dim >= 1",
        ));
    }
    let need = rows
        .checked_mul(cols)
        .and_then(|n| n.checked_mul(dtype.size() as u64))
        .ok_or_else(|| {
            FormatError::too_large(
                path,
                Location::None,
                format!("shape ({rows}, {cols}) is impossibly large"),
            )
        })?;
    let have = file_len - end as u64;
    if need > have {
        return Err(FormatError::truncated(
            path,
            Location::Byte(end as u64),
            format!(
                "shape ({rows}, {cols}) of {descr} needs {need} data bytes but only {have} follow the header (truncated?)"
            ),
        ));
    }
    Ok(NpyHeader {
        rows: rows as usize,
        cols: cols as usize,
        dtype,
        little_endian,
        fortran,
        data_offset: end,
    })
}

/// Converts a block of raw element bytes to f32.
pub(crate) fn decode(bytes: &[u8], dtype: Float, little: bool, out: &mut Vec<f32>) {
    match (dtype, little) {
        (Float::F32, true) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
        ),
        (Float::F32, false) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f32::from_be_bytes([c[0], c[1], c[2], c[3]])),
        ),
        (Float::F64, true) => out.extend(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])) as f32),
        ),
        (Float::F64, false) => out.extend(
            bytes
                .chunks_exact(8)
                .map(|c| f64::from_be_bytes(c.try_into().unwrap_or([0; 8])) as f32),
        ),
        (Float::F16, true) => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32()),
        ),
        (Float::F16, false) => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| f16::from_be_bytes([c[0], c[1]]).to_f32()),
        ),
    }
}

/// Maps a whole file read-only; an empty file is an error (there is nothing to map).
pub(crate) fn map_file(path: &Path) -> Result<Arc<Mmap>, FormatError> {
    let f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    if f.metadata().map_err(|e| FormatError::io(path, e))?.len() == 0 {
        return Err(FormatError::new(
            path,
            Location::None,
            super::ErrorKind::Empty,
        ));
    }
    // A file truncated by another program while mapped ends the process with a message naming
    // it (see `core::map_readonly`), not a silent SIGBUS.
    let map = crate::core::map_readonly(&f, path).map_err(|e| FormatError::io(path, e))?;
    Ok(Arc::new(map))
}

/// Reads the matrix of an .npy file (first `limit` rows); returns it with the array's total rows.
pub(crate) fn read_npy_matrix(
    path: &Path,
    limit: Option<usize>,
) -> Result<(Matrix, usize, String), FormatError> {
    let map = map_file(path)?;
    let h = parse_header(&map, map.len() as u64, path)?;
    let rows = limit.map_or(h.rows, |l| l.min(h.rows));
    let sha = sha256_hex(&map);
    let shape_err =
        |e: crate::core::CoreError| FormatError::invalid(path, Location::None, e.to_string());
    let m = if h.dtype == Float::F32
        && h.little_endian
        && !h.fortran
        && h.data_offset.is_multiple_of(4)
    {
        Matrix::mapped(map.clone(), h.data_offset, rows, h.cols).map_err(shape_err)?
    } else {
        let es = h.dtype.size();
        let data = &map[h.data_offset..];
        let mut out = Vec::with_capacity(rows * h.cols);
        if !h.fortran {
            let bytes = &data[..rows * h.cols * es];
            let parts: Vec<Vec<f32>> = bytes
                .par_chunks(es * h.cols * 4096)
                .map(|c| {
                    let mut v = Vec::with_capacity(c.len() / es);
                    decode(c, h.dtype, h.little_endian, &mut v);
                    v
                })
                .collect();
            for p in parts {
                out.extend_from_slice(&p);
            }
        } else {
            // Column-major: element (i, j) is at j * rows_total + i.
            out.resize(rows * h.cols, 0.0);
            let mut col = Vec::with_capacity(rows);
            for j in 0..h.cols {
                col.clear();
                let s = j * h.rows * es;
                decode(&data[s..s + rows * es], h.dtype, h.little_endian, &mut col);
                for (i, &v) in col.iter().enumerate() {
                    out[i * h.cols + j] = v;
                }
            }
        }
        Matrix::from_vec(rows, h.cols, out).map_err(shape_err)?
    };
    Ok((m, h.rows, sha))
}

pub(crate) fn read_npy_set(path: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    let (m, total, sha) = read_npy_matrix(path, opts.limit)?;
    let rows = m.rows();
    let mut l = super::vocab_file::attach_vocab(path, m, total, opts)?;
    l.sha256 = Some(sha);
    // Metadata written beside the array (`x.metadata.tsv`, token first), when present.
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    let mp = path.with_file_name(format!("{stem}.metadata.tsv"));
    if mp.is_file() && l.vocab.len() == rows {
        // The header and one line per row: lines past them are not used, so not read.
        let read = super::bounded::read_lines(
            &mp,
            "metadata table (tab-separated)",
            rows.saturating_add(1),
        )?;
        let text: Vec<std::borrow::Cow<'_, str>> = read
            .lines
            .iter()
            .map(|l| String::from_utf8_lossy(l))
            .collect();
        let mut lines = text.iter().map(|l| l.as_ref());
        let names: Vec<String> = lines
            .next()
            .unwrap_or("")
            .split('\t')
            .skip(1)
            .map(tsv_uncell)
            .collect();
        let mut cols: Vec<Vec<String>> = vec![Vec::with_capacity(rows); names.len()];
        let mut n = 0usize;
        for (i, line) in lines.enumerate() {
            if n == rows {
                break;
            }
            let cells: Vec<&str> = line.split('\t').collect();
            if cells.len() != names.len() + 1 {
                return Err(FormatError::invalid(
                    &mp,
                    Location::Line {
                        line: i as u64 + 2,
                        byte: 0,
                    },
                    format!(
                        "expected {} tab-separated fields, found {}",
                        names.len() + 1,
                        cells.len()
                    ),
                ));
            }
            for (c, v) in cols.iter_mut().zip(&cells[1..]) {
                c.push(tsv_uncell(v));
            }
            n += 1;
        }
        if n == rows {
            for (name, values) in names.iter().zip(cols) {
                l.metadata
                    .push(
                        crate::core::MetaColumn {
                            name: (*name).to_string(),
                            values,
                        },
                        rows,
                    )
                    .map_err(|e| FormatError::mismatch(&mp, e.to_string()))?;
            }
            l.params.insert("metadata".into(), mp.display().to_string());
        } else {
            l.notes.warnings.push(format!(
                "{} has {n} rows for {rows} vectors: not used",
                mp.display()
            ));
        }
    }
    Ok(l)
}

/// Header bytes of a v1.0 .npy file for a C-order little-endian float32 (rows, cols) array.
pub(crate) fn header_bytes(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut total = 10 + dict.len() + 1;
    total = total.div_ceil(64) * 64;
    let pad = total - 10 - dict.len() - 1;
    let mut h = Vec::with_capacity(total);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&[1, 0]);
    h.extend_from_slice(&((total - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.extend(std::iter::repeat_n(b' ', pad));
    h.push(b'\n');
    h
}

pub(crate) fn write_npy<W: Write>(w: &mut W, m: &Matrix) -> std::io::Result<()> {
    w.write_all(&header_bytes(m.rows(), m.dim()))?;
    let mut buf = Vec::with_capacity(1 << 20);
    for chunk in m.as_slice().chunks(1 << 18) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Writes an .npy of f32 rows as they come, with a vocabulary file and a metadata TSV beside it
/// (`x.npy`, `x.vocab.txt`, `x.metadata.tsv`), so memory stays flat however many rows arrive.
/// The row count in the header is patched in `finish`; until then the files carry a temporary
/// name, so an interrupted job leaves no half-written output under the target's name.
pub struct NpyStreamWriter {
    path: std::path::PathBuf,
    tmp: Vec<super::write::TempFile>,
    data: Option<std::io::BufWriter<std::fs::File>>,
    vocab: Option<std::io::BufWriter<std::fs::File>>,
    meta: Option<std::io::BufWriter<std::fs::File>>,
    finished: bool,
    dim: usize,
    rows: usize,
    header_len: usize,
    meta_cols: usize,
}

/// Fixed header length for streamed files (room for any row count).
const STREAM_HEADER: usize = 128;

fn stream_header(rows: usize, cols: usize) -> Vec<u8> {
    let dict = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {cols}), }}");
    let mut h = Vec::with_capacity(STREAM_HEADER);
    h.extend_from_slice(MAGIC);
    h.extend_from_slice(&[1, 0]);
    h.extend_from_slice(&((STREAM_HEADER - 10) as u16).to_le_bytes());
    h.extend_from_slice(dict.as_bytes());
    h.resize(STREAM_HEADER - 1, b' ');
    h.push(b'\n');
    h
}

impl NpyStreamWriter {
    pub fn create(path: &Path, dim: usize, meta_names: &[String]) -> Result<Self, FormatError> {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let finals = [
            path.to_path_buf(),
            path.with_file_name(format!("{stem}.vocab.txt")),
            path.with_file_name(format!("{stem}.metadata.tsv")),
        ];
        let tmp = finals
            .iter()
            .map(|p| super::write::TempFile::new(p))
            .collect::<Result<Vec<_>, _>>()?;
        let open =
            |t: &super::write::TempFile| -> Result<std::io::BufWriter<std::fs::File>, FormatError> {
                Ok(std::io::BufWriter::with_capacity(1 << 20, t.create()?))
            };
        let mut data = open(&tmp[0])?;
        let io = |e| FormatError::io(path, e);
        data.write_all(&stream_header(0, dim)).map_err(io)?;
        let vocab = open(&tmp[1])?;
        let mut meta = open(&tmp[2])?;
        let mut header = String::from("token");
        for m in meta_names {
            header.push('\t');
            header.push_str(&tsv_cell(m));
        }
        header.push('\n');
        meta.write_all(header.as_bytes()).map_err(io)?;
        Ok(NpyStreamWriter {
            path: path.to_path_buf(),
            tmp,
            data: Some(data),
            vocab: Some(vocab),
            meta: Some(meta),
            finished: false,
            dim,
            rows: 0,
            header_len: STREAM_HEADER,
            meta_cols: meta_names.len(),
        })
    }

    pub fn write_row(
        &mut self,
        token: &str,
        values: &[f32],
        meta: &[String],
    ) -> Result<(), FormatError> {
        let io = |e| FormatError::io(&self.path, e);
        if values.len() != self.dim || meta.len() != self.meta_cols {
            return Err(FormatError::mismatch(
                &self.path,
                format!(
                    "row {} has {} values / {} metadata fields",
                    self.rows,
                    values.len(),
                    meta.len()
                ),
            ));
        }
        let mut b = Vec::with_capacity(values.len() * 4);
        for v in values {
            b.extend_from_slice(&v.to_le_bytes());
        }
        let (Some(data), Some(vocab), Some(meta_w)) =
            (self.data.as_mut(), self.vocab.as_mut(), self.meta.as_mut())
        else {
            return Err(FormatError::mismatch(&self.path, "writer already finished"));
        };
        data.write_all(&b).map_err(io)?;
        let t = tsv_cell(token);
        vocab.write_all(t.as_bytes()).map_err(io)?;
        vocab.write_all(b"\n").map_err(io)?;
        let mut line = t;
        for m in meta {
            line.push('\t');
            line.push_str(&tsv_cell(m));
        }
        line.push('\n');
        meta_w.write_all(line.as_bytes()).map_err(io)?;
        self.rows += 1;
        Ok(())
    }

    /// Patches the header, flushes and moves the files to their names. Returns the files.
    pub fn finish(mut self) -> Result<Vec<std::path::PathBuf>, FormatError> {
        use std::io::{Seek, SeekFrom};
        let path = self.path.clone();
        let io = |e| FormatError::io(&path, e);
        let (Some(data), Some(mut vocab), Some(mut meta)) =
            (self.data.take(), self.vocab.take(), self.meta.take())
        else {
            return Err(FormatError::mismatch(&path, "writer already finished"));
        };
        let mut f = data
            .into_inner()
            .map_err(|e| FormatError::io(&path, e.into_error()))?;
        f.seek(SeekFrom::Start(0)).map_err(io)?;
        let h = stream_header(self.rows, self.dim);
        debug_assert_eq!(h.len(), self.header_len);
        f.write_all(&h).map_err(io)?;
        f.sync_all().map_err(io)?;
        vocab.flush().map_err(io)?;
        meta.flush().map_err(io)?;
        drop((vocab, meta, f));
        let mut group = super::write::Staged::new();
        for t in self.tmp.drain(..) {
            group.push(t);
        }
        self.finished = true;
        group.commit()
    }

    pub fn rows(&self) -> usize {
        self.rows
    }
}

impl Drop for NpyStreamWriter {
    fn drop(&mut self) {
        if self.finished {
            return;
        }
        // Unfinished (error or cancel): close the files; the temporary files remove themselves.
        drop((self.data.take(), self.vocab.take(), self.meta.take()));
        self.tmp.clear();
    }
}

/// A value made safe for one TSV cell (tabs and line breaks become spaces).
/// A metadata cell as written to `x.metadata.tsv`: backslash, tab and line breaks escaped
/// (`\\`, `\t`, `\n`, `\r`), so a document's full text survives the round trip.
pub(crate) fn tsv_cell(s: &str) -> String {
    if !s.contains(['\\', '\t', '\n', '\r']) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

/// Reads a cell written by [`tsv_cell`]; a backslash before any other character is kept as it is.
pub(crate) fn tsv_uncell(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars().peekable();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.peek() {
            Some('\\') => out.push('\\'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            _ => {
                out.push('\\');
                continue;
            }
        }
        it.next();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_cells_round_trip() {
        for s in [
            "plain",
            "",
            "tab\there",
            "two\nlines\r\n",
            "back\\slash \\n not a break",
            "\\",
            "ends with \\",
            "é ☃ \t\\t",
        ] {
            let c = tsv_cell(s);
            assert!(!c.contains(['\t', '\n', '\r']), "{c:?}");
            assert_eq!(tsv_uncell(&c), s);
        }
        // A lone backslash before another character (files written before escaping) stays.
        assert_eq!(tsv_uncell("C:\\dir\\x"), "C:\\dir\\x");
    }

    #[test]
    fn header_round_trip_and_alignment() {
        let h = header_bytes(20, 50);
        assert_eq!(h.len() % 64, 0);
        let mut file = h.clone();
        file.extend(std::iter::repeat_n(0u8, 20 * 50 * 4));
        let p = parse_header(&file, file.len() as u64, Path::new("a.npy")).unwrap();
        assert_eq!(
            (p.rows, p.cols, p.dtype, p.fortran),
            (20, 50, Float::F32, false)
        );
        assert_eq!(p.data_offset, h.len());
        let e = parse_header(
            &file[..file.len() - 1],
            file.len() as u64 - 1,
            Path::new("a.npy"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
    }

    #[test]
    fn rejects_bad_shapes_and_dtypes() {
        let mk = |dict: &str| {
            let mut b = MAGIC.to_vec();
            b.extend_from_slice(&[1, 0]);
            b.extend_from_slice(&(dict.len() as u16).to_le_bytes());
            b.extend_from_slice(dict.as_bytes());
            b
        };
        let p = Path::new("x.npy");
        let b = mk("{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }");
        assert!(
            parse_header(&b, b.len() as u64, p)
                .unwrap_err()
                .to_string()
                .contains("1-D array")
        );
        let b = mk("{'descr': '<U5', 'fortran_order': False, 'shape': (2, 3), }");
        assert!(
            parse_header(&b, b.len() as u64, p)
                .unwrap_err()
                .to_string()
                .contains("string array")
        );
        let b = mk("{'descr': '<f4', 'fortran_order': False, 'shape': (1000000000000, 300), }");
        assert!(
            parse_header(&b, b.len() as u64, p)
                .unwrap_err()
                .to_string()
                .contains("needs")
        );
        let b = mk("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }");
        assert!(
            parse_header(&b, b.len() as u64, p)
                .unwrap_err()
                .to_string()
                .contains("3-D")
        );
        assert!(parse_header(b"garbage!!!!!", 12, p).is_err());
    }
}
