//! Writers. Every file is written to a temporary name beside the target, then renamed, so an
//! interrupted write never leaves a half-written file under the target's name.

use std::fmt::Write as _;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::Format;
use super::error::{FormatError, Location};
use crate::core::EmbeddingSet;

pub(crate) fn temp_path(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.tmp-{}", std::process::id()))
}

/// Writes through `f` into a temporary file, then renames it over `path`.
pub fn atomic_write_with(
    path: &Path,
    f: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), FormatError> {
    let tmp = temp_path(path);
    let result = (|| {
        let file = std::fs::File::create(&tmp)?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        f(&mut w)?;
        w.flush()?;
        w.get_ref().sync_all()?;
        Ok(())
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(FormatError::io(path, e));
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        FormatError::io(path, e)
    })
}

/// Writes `bytes` to `path` atomically (temporary file beside it, synced, then renamed).
pub fn atomic_write(path: &Path, bytes: &[u8]) -> Result<(), FormatError> {
    atomic_write_with(path, |w| w.write_all(bytes))
}

/// One CSV field (RFC 4180): quoted when it holds a comma, quote or line break, or starts or
/// ends with a space or tab (which readers trim); also quoted when it starts with `=`, `+`, `-`
/// or `@`, so a spreadsheet opening the file shows a token such as `=cmd()` as text rather than
/// running it as a formula.
pub fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r'])
        || s.starts_with([' ', '\t', '=', '+', '-', '@'])
        || s.ends_with([' ', '\t'])
    {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Shortest text that reads back as the same f32.
pub(crate) fn push_f32(out: &mut String, v: f32) {
    let start = out.len();
    let _ = write!(out, "{v}");
    if out.len() - start > 14 {
        out.truncate(start);
        let _ = write!(out, "{v:e}");
    }
}

/// Tokens that a whitespace-separated format cannot hold.
fn check_token(path: &Path, row: usize, t: &str, what: &str) -> Result<(), FormatError> {
    if t.is_empty() || t.chars().any(char::is_whitespace) {
        return Err(FormatError::unrepresentable(
            path,
            Location::Row(row as u64),
            format!(
                "token {t:?} is empty or contains whitespace, which {what} cannot store; write parquet, npy or native instead"
            ),
        ));
    }
    Ok(())
}

/// Formats rows as text lines ("token v1 v2 ..." or values only) in parallel blocks.
fn text_lines(
    set: &EmbeddingSet,
    sep: char,
    with_token: bool,
    out: &mut impl Write,
) -> std::io::Result<()> {
    const BLOCK: usize = 4096;
    let rows = set.rows();
    let blocks: Vec<usize> = (0..rows.div_ceil(BLOCK)).collect();
    for group in blocks.chunks(rayon::current_num_threads().max(1) * 4) {
        let texts: Vec<String> = group
            .par_iter()
            .map(|&b| {
                let mut s = String::with_capacity(BLOCK * set.dim() * 10);
                for i in b * BLOCK..((b + 1) * BLOCK).min(rows) {
                    if with_token {
                        s.push_str(set.vocab.token(i));
                        s.push(sep);
                    }
                    for (j, &v) in set.matrix.row(i).iter().enumerate() {
                        if j > 0 {
                            s.push(sep);
                        }
                        push_f32(&mut s, v);
                    }
                    s.push('\n');
                }
                s
            })
            .collect();
        for t in texts {
            out.write_all(t.as_bytes())?;
        }
    }
    Ok(())
}

/// Writes `set` to `path` in `format` (or the format its extension implies).
/// Returns every file written (array formats also write a vocabulary file beside the data).
pub fn save(
    set: &EmbeddingSet,
    path: &Path,
    format: Option<Format>,
) -> Result<Vec<PathBuf>, FormatError> {
    let format = format.or_else(|| Format::from_extension(path)).ok_or_else(|| {
        FormatError::unsupported(
            path,
            "cannot tell the output format from the extension: use .txt .vec .bin .tsv .npy .safetensors .parquet .esv or give --to",
        )
    })?;
    let rows = set.rows();
    match format {
        Format::Word2VecText | Format::GloveText | Format::Word2VecBinary => {
            let what = format.name();
            for (i, t) in set.vocab.iter().enumerate() {
                check_token(path, i, t, what)?;
            }
            atomic_write_with(path, |w| {
                if format != Format::GloveText {
                    writeln!(w, "{} {}", rows, set.dim())?;
                }
                if format == Format::Word2VecBinary {
                    for i in 0..rows {
                        w.write_all(set.vocab.token(i).as_bytes())?;
                        w.write_all(b" ")?;
                        for v in set.matrix.row(i) {
                            w.write_all(&v.to_le_bytes())?;
                        }
                        w.write_all(b"\n")?;
                    }
                    Ok(())
                } else {
                    text_lines(set, ' ', true, w)
                }
            })?;
            Ok(vec![path.to_path_buf()])
        }
        Format::ProjectorTsv => {
            let meta_path = super::projector::metadata_path_for(path);
            let cols = set.metadata.columns();
            let check = |s: &str, row: usize| {
                if s.contains(['\t', '\n', '\r']) {
                    Err(FormatError::unrepresentable(
                        &meta_path,
                        Location::Row(row as u64),
                        format!(
                            "{s:?} contains a tab or line break, which metadata.tsv cannot store"
                        ),
                    ))
                } else {
                    Ok(())
                }
            };
            let mut meta = String::new();
            if !cols.is_empty() {
                meta.push_str("token");
                for c in cols {
                    check(&c.name, 0)?;
                    meta.push('\t');
                    meta.push_str(&c.name);
                }
                meta.push('\n');
            }
            for i in 0..rows {
                let t = set.vocab.token(i);
                check(t, i)?;
                meta.push_str(t);
                for c in cols {
                    check(&c.values[i], i)?;
                    meta.push('\t');
                    meta.push_str(&c.values[i]);
                }
                meta.push('\n');
            }
            atomic_write_with(path, |w| text_lines(set, '\t', false, w))?;
            atomic_write(&meta_path, meta.as_bytes())?;
            Ok(vec![path.to_path_buf(), meta_path])
        }
        Format::Npy | Format::Safetensors => {
            let vocab_path = vocab_path_for(path);
            super::vocab_file::write_vocab(&vocab_path, set.vocab.iter())?;
            let mut out = vec![path.to_path_buf(), vocab_path];
            if format == Format::Npy {
                atomic_write_with(path, |w| super::npy::write_npy(w, &set.matrix))?;
                // Metadata beside the array (`x.metadata.tsv`, token first), as the reader expects.
                if !set.metadata.columns().is_empty() {
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().to_string())
                        .unwrap_or_default();
                    let meta_path = path.with_file_name(format!("{stem}.metadata.tsv"));
                    let cols = set.metadata.columns();
                    let mut text = String::from("token");
                    for c in cols {
                        text.push('\t');
                        text.push_str(&super::npy::tsv_cell(&c.name));
                    }
                    text.push('\n');
                    for (i, tok) in set.vocab.iter().enumerate() {
                        text.push_str(&super::npy::tsv_cell(tok));
                        for c in cols {
                            text.push('\t');
                            text.push_str(&super::npy::tsv_cell(&c.values[i]));
                        }
                        text.push('\n');
                    }
                    atomic_write(&meta_path, text.as_bytes())?;
                    out.push(meta_path);
                }
            } else {
                super::safetensors_io::write_safetensors(&set.matrix, path)?;
            }
            Ok(out)
        }
        Format::Parquet => {
            super::table::write_parquet(set, path)?;
            Ok(vec![path.to_path_buf()])
        }
        Format::Native => {
            atomic_write_with(path, |w| super::native::write_native(w, set, None))?;
            Ok(vec![path.to_path_buf()])
        }
        Format::ArrowIpc => Err(FormatError::unsupported(
            path,
            "writing Arrow IPC is not supported; write parquet instead",
        )),
    }
}

/// `x.npy` -> `x.vocab.txt` (found again by the readers).
pub(crate) fn vocab_path_for(data: &Path) -> PathBuf {
    let stem = data
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    data.with_file_name(format!("{stem}.vocab.txt"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("two\nlines"), "\"two\nlines\"");
        assert_eq!(csv_field(" pad"), "\" pad\"");
        assert_eq!(csv_field("pad\t"), "\"pad\t\"");
        for f in ["=cmd()", "+1", "-2", "@SUM(A1)"] {
            assert_eq!(csv_field(f), format!("\"{f}\""));
        }
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("naïve"), "naïve");
    }

    #[test]
    fn floats_round_trip_through_text() {
        for v in [
            0.418f32,
            -1e-30,
            3.4e38,
            1.0,
            0.0,
            -0.0,
            f32::MIN_POSITIVE,
            123456.79,
            1e-45,
        ] {
            let mut s = String::new();
            push_f32(&mut s, v);
            assert!(s.len() <= 15, "{s}");
            let back: f32 = fast_float2::parse(&s).unwrap();
            assert_eq!(back.to_bits(), v.to_bits(), "{v} -> {s}");
        }
    }
}
