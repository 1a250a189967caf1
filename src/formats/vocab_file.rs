//! Vocabulary files beside array formats (npy, safetensors): one token per line, optionally
//! followed by a count ("the 1061396", as GloVe's vocab.txt), and their discovery.

use std::path::{Path, PathBuf};

use super::error::{FormatError, Location};

pub(crate) struct VocabFile {
    /// Tokens as raw bytes (decoded by the row sink, lossily when not UTF-8).
    pub tokens: Vec<Vec<u8>>,
    pub counts: Option<Vec<u64>>,
}

/// Candidate vocabulary files for `data` (`x.npy` -> `x.vocab.txt`, `x.vocab`, `x.txt`,
/// `x.tokens.txt`, then `vocab.txt` in the same folder).
pub(crate) fn find_vocab(data: &Path) -> Option<PathBuf> {
    let dir = data.parent().unwrap_or(Path::new("."));
    let stem = data.file_stem()?.to_string_lossy().to_string();
    [
        format!("{stem}.vocab.txt"),
        format!("{stem}.vocab"),
        format!("{stem}.txt"),
        format!("{stem}.tokens.txt"),
        "vocab.txt".to_string(),
    ]
    .into_iter()
    .map(|n| dir.join(n))
    .find(|p| p.is_file())
}

/// Reads the first `max_lines` lines of a vocabulary file (one more than the array's rows is
/// enough to tell that it has too many): `more` says whether lines were left unread.
pub(crate) fn read_vocab(path: &Path, max_lines: usize) -> Result<(VocabFile, bool), FormatError> {
    let read = super::bounded::read_lines(path, "vocabulary (one token per line)", max_lines)?;
    let lines = read.lines;
    if lines.is_empty() && !read.more {
        return Err(FormatError::new(
            path,
            Location::None,
            super::ErrorKind::Empty,
        ));
    }
    // "token count" on every line -> counts.
    let split_count = |l: &[u8]| -> Option<(usize, u64)> {
        let sep = l.iter().rposition(|&b| b == b' ' || b == b'\t')?;
        let n = std::str::from_utf8(&l[sep + 1..])
            .ok()?
            .parse::<u64>()
            .ok()?;
        (sep > 0).then_some((sep, n))
    };
    let with_counts = lines.iter().all(|l| split_count(l).is_some());
    let mut tokens = Vec::with_capacity(lines.len());
    let mut counts = with_counts.then(|| Vec::with_capacity(lines.len()));
    for mut l in lines {
        match (with_counts, split_count(&l)) {
            (true, Some((sep, n))) => {
                l.truncate(sep);
                tokens.push(l);
                if let Some(c) = counts.as_mut() {
                    c.push(n);
                }
            }
            _ => tokens.push(l),
        }
    }
    Ok((VocabFile { tokens, counts }, read.more))
}

/// Writes one token per line; refuses tokens that cannot be stored that way.
#[cfg(test)]
pub(crate) fn write_vocab(
    path: &Path,
    tokens: impl Iterator<Item = impl AsRef<str>>,
) -> Result<(), FormatError> {
    super::write::atomic_write(path, vocab_text(path, tokens)?.as_bytes())
}

/// The text of the vocabulary file `path`: one token per line; refuses tokens that cannot be
/// stored that way.
pub(crate) fn vocab_text(
    path: &Path,
    tokens: impl Iterator<Item = impl AsRef<str>>,
) -> Result<String, FormatError> {
    let mut out = String::new();
    for (i, t) in tokens.enumerate() {
        let t = t.as_ref();
        if t.contains(['\n', '\r']) {
            return Err(FormatError::unrepresentable(
                path,
                Location::Row(i as u64),
                format!(
                    "token {t:?} contains a line break; a vocabulary file holds one token per line"
                ),
            ));
        }
        out.push_str(t);
        out.push('\n');
    }
    Ok(out)
}

/// Gives an array's rows their tokens: from `opts.vocab`, a file found beside `data`, or row
/// numbers (`#row`, or when no vocabulary file exists: a warning says so). Duplicate tokens drop
/// their later rows, as for text files. `total_rows` is the array's row count before any limit.
pub(crate) fn attach_vocab(
    data: &Path,
    matrix: crate::core::Matrix,
    total_rows: usize,
    opts: &super::LoadOptions,
) -> Result<super::Loaded, FormatError> {
    use super::sink::RowSink;
    use std::collections::BTreeMap;

    let mut params = BTreeMap::new();
    let explicit = opts.vocab.clone();
    let row_numbers = explicit.as_deref().is_some_and(|p| p == Path::new("#row"));
    let vocab_path = if row_numbers {
        None
    } else {
        explicit.or_else(|| find_vocab(data))
    };
    let file = match &vocab_path {
        Some(p) => {
            let (v, more) = read_vocab(p, total_rows.saturating_add(1))?;
            if v.tokens.len() != total_rows || more {
                return Err(FormatError::mismatch(
                    p,
                    format!(
                        "the vocabulary has {}{} tokens but {} has {} rows (one token per row expected)",
                        if more { "more than " } else { "" },
                        v.tokens.len(),
                        data.display(),
                        total_rows
                    ),
                ));
            }
            params.insert("vocab".to_string(), p.display().to_string());
            Some(v)
        }
        None => None,
    };
    let rows = matrix.rows();
    let dim = matrix.dim();
    // Build the vocabulary first; the matrix is only copied when duplicates force dropping rows.
    let mut sink = RowSink::new(dim, 0, None);
    let mut keep = Vec::with_capacity(rows);
    for i in 0..rows {
        let kept = match &file {
            Some(f) => sink.push_token_bytes(&f.tokens[i]),
            None => sink.push_token_bytes(i.to_string().as_bytes()),
        }
        .map_err(|e| FormatError::too_large(data, Location::Row(i as u64), e.to_string()))?;
        keep.push(kept);
    }
    let (mut vocab, mut notes) = sink.finish_tokens();
    let matrix = if keep.iter().all(|&k| k) {
        matrix
    } else {
        matrix.retain_rows(&keep)
    };
    if let Some(c) = file.as_ref().and_then(|f| f.counts.as_ref()) {
        let kept: Vec<u64> = c
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| *c)
            .collect();
        vocab
            .set_counts(Some(kept))
            .map_err(|e| FormatError::mismatch(data, e.to_string()))?;
    }
    if file.is_none() && !row_numbers {
        notes.warnings.push(format!(
            "no vocabulary file found beside {} (looked for <name>.vocab.txt, <name>.txt, vocab.txt): tokens are row numbers; give one with --vocab",
            data.display()
        ));
    }
    Ok(super::Loaded {
        vocab,
        matrix,
        metadata: Default::default(),
        notes,
        sha256: None,
        params,
        embedded: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_and_counts() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("v.txt");
        std::fs::write(&p, "the 10\r\nof 7\n").unwrap();
        let (v, more) = read_vocab(&p, 3).unwrap();
        assert!(!more);
        assert_eq!(v.tokens, vec![b"the".to_vec(), b"of".to_vec()]);
        assert_eq!(v.counts, Some(vec![10, 7]));
        std::fs::write(&p, "new york\nthe 10\n").unwrap();
        let (v, _) = read_vocab(&p, 3).unwrap();
        assert_eq!(v.tokens[0], b"new york".to_vec());
        assert!(v.counts.is_none());
        let x = d.path().join("x.npy");
        std::fs::write(&x, "").unwrap();
        std::fs::write(d.path().join("x.vocab.txt"), "a\n").unwrap();
        assert_eq!(find_vocab(&x).unwrap(), d.path().join("x.vocab.txt"));
        assert!(write_vocab(&p, ["a\nb"].iter()).is_err());
    }
}
