//! TensorBoard projector files: `vectors.tsv` (tab-separated values, no tokens) and
//! `metadata.tsv` (one label per line; with several columns, the first line names them).

use std::path::{Path, PathBuf};

use super::error::{FormatError, Location};
use super::sink::RowSink;
use super::text::{Header, read_text};
use super::{LoadOptions, Loaded};
use crate::core::{MetaColumn, Metadata};

/// The metadata file that goes with a vectors file.
pub(crate) fn metadata_path_for(vectors: &Path) -> PathBuf {
    let dir = vectors.parent().unwrap_or(Path::new("."));
    let stem = vectors
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    if stem.contains("vectors") {
        dir.join(format!("{}.tsv", stem.replace("vectors", "metadata")))
    } else {
        dir.join(format!("{stem}.metadata.tsv"))
    }
}

fn find_metadata(vectors: &Path) -> Option<PathBuf> {
    let dir = vectors.parent().unwrap_or(Path::new("."));
    let stem = vectors.file_stem()?.to_string_lossy().to_string();
    [
        metadata_path_for(vectors),
        dir.join(format!("{stem}_metadata.tsv")),
    ]
    .into_iter()
    .find(|p| p.is_file())
}

/// Parsed metadata table: column names and rows of cells.
struct Table {
    names: Vec<String>,
    rows: Vec<Vec<String>>,
    header: bool,
    /// Lines were left unread: the file has more rows than `rows` holds.
    more: bool,
}

fn read_table(path: &Path, expected_rows: usize) -> Result<Table, FormatError> {
    // A header line, the rows, and one more to tell that there are too many: the rest is
    // never read (the file's size is not a reason to hold it).
    let read = super::bounded::read_lines(
        path,
        "metadata table (tab-separated)",
        expected_rows.saturating_add(2),
    )?;
    let text: Vec<std::borrow::Cow<'_, str>> = read
        .lines
        .iter()
        .map(|l| String::from_utf8_lossy(l))
        .collect();
    let lines: Vec<&str> = text.iter().map(|l| l.as_ref()).collect();
    if lines.is_empty() {
        return Err(FormatError::new(
            path,
            Location::None,
            super::ErrorKind::Empty,
        ));
    }
    let multi = lines[0].contains('\t');
    // Single column: no header, unless there is exactly one line more than there are vectors.
    let header = multi || lines.len() == expected_rows + 1;
    let names: Vec<String> = if header {
        lines[0].split('\t').map(str::to_string).collect()
    } else {
        vec!["label".to_string()]
    };
    let body = if header { &lines[1..] } else { &lines[..] };
    let mut rows = Vec::with_capacity(body.len());
    for (i, l) in body.iter().enumerate() {
        let cells: Vec<String> = if multi {
            l.split('\t').map(str::to_string).collect()
        } else {
            vec![l.to_string()]
        };
        if cells.len() != names.len() {
            let line = i as u64 + 1 + u64::from(header);
            return Err(FormatError::invalid(
                path,
                Location::Line { line, byte: 0 },
                format!(
                    "expected {} tab-separated columns (as the header), found {}",
                    names.len(),
                    cells.len()
                ),
            ));
        }
        rows.push(cells);
    }
    Ok(Table {
        names,
        rows,
        header,
        more: read.more,
    })
}

pub(crate) fn read_projector(path: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    let f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = f.metadata().ok().map(|m| m.len());
    let mut l = read_text(
        f,
        len,
        path,
        Header::Tokenless,
        opts.limit,
        opts.progress.as_deref(),
    )?;
    let meta_path = opts.metadata.clone().or_else(|| find_metadata(path));
    let Some(meta_path) = meta_path else {
        l.notes.warnings.push(format!(
            "no metadata file found (looked for {}): tokens are row numbers; give one with --metadata",
            metadata_path_for(path).display()
        ));
        return Ok(l);
    };
    let total_rows = l.notes.rows_read as usize;
    let table = read_table(&meta_path, total_rows)?;
    let limited = opts.limit.is_some_and(|lim| lim < table.rows.len());
    if (table.rows.len() != total_rows || table.more) && !limited {
        return Err(FormatError::mismatch(
            &meta_path,
            format!(
                "{}{} metadata rows but {} has {} vectors (one row per vector expected{})",
                if table.more { "more than " } else { "" },
                table.rows.len(),
                path.display(),
                total_rows,
                if table.header {
                    "; the first line was read as the column names"
                } else {
                    ""
                }
            ),
        ));
    }
    let token_col = match opts.token_column.as_deref() {
        Some("#row") => None,
        Some(name) => Some(table.names.iter().position(|n| n == name).ok_or_else(|| {
            FormatError::invalid(
                &meta_path,
                Location::None,
                format!("no column '{name}'; columns: {}", table.names.join(", ")),
            )
        })?),
        None => Some(0),
    };
    let rows = l.matrix.rows();
    let mut sink = RowSink::new(l.matrix.dim(), 0, None);
    let mut keep = Vec::with_capacity(rows);
    for i in 0..rows {
        let kept = match token_col {
            Some(c) => sink.push_token_bytes(table.rows[i][c].as_bytes()),
            None => sink.push_token_bytes(i.to_string().as_bytes()),
        }
        .map_err(|e| FormatError::too_large(&meta_path, Location::Row(i as u64), e.to_string()))?;
        keep.push(kept);
    }
    let (vocab, notes) = sink.finish_tokens();
    let matrix = if keep.iter().all(|&k| k) {
        l.matrix
    } else {
        l.matrix.retain_rows(&keep)
    };
    let mut metadata = Metadata::new();
    for (c, name) in table.names.iter().enumerate() {
        if Some(c) == token_col {
            continue;
        }
        let values: Vec<String> = table
            .rows
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(r, _)| r[c].clone())
            .collect();
        metadata
            .push(
                MetaColumn {
                    name: name.clone(),
                    values,
                },
                vocab.len(),
            )
            .map_err(|e| FormatError::mismatch(&meta_path, e.to_string()))?;
    }
    l.notes.duplicates = notes.duplicates;
    l.vocab = vocab;
    l.matrix = matrix;
    l.metadata = metadata;
    l.params
        .insert("metadata".into(), meta_path.display().to_string());
    if let Some(c) = token_col {
        l.params
            .insert("token_column".into(), table.names[c].clone());
    }
    Ok(l)
}
