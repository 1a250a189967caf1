//! Writing a report: the format from the output path, the image folder beside a Markdown
//! file, every file written atomically.

use std::path::{Path, PathBuf};

use super::{csv_tables, html, json, markdown};
use crate::formats;
use crate::report::{Report, ReportError};

/// What `--out` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    Html,
    Markdown,
    Json,
    /// A folder with one CSV file per table.
    CsvDir,
}

impl OutputFormat {
    /// From the output path: `.html`/`.htm`, `.md`/`.markdown`, `.json`, or a folder (an
    /// existing one, a path ending in `/`, or a name without extension) for CSV files.
    pub fn from_path(path: &Path) -> Result<OutputFormat, ReportError> {
        let s = path.to_string_lossy();
        if path.is_dir() || s.ends_with('/') || s.ends_with(std::path::MAIN_SEPARATOR) {
            return Ok(OutputFormat::CsvDir);
        }
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("html" | "htm") => Ok(OutputFormat::Html),
            Some("md" | "markdown") => Ok(OutputFormat::Markdown),
            Some("json") => Ok(OutputFormat::Json),
            None => Ok(OutputFormat::CsvDir),
            Some(other) => Err(ReportError::Invalid(format!(
                "{}: unknown report format .{other}; use .html, .md, .json, or a folder for \
                 CSV tables",
                path.display()
            ))),
        }
    }
}

/// The folder of a Markdown report's images: `NAME_files` beside `NAME.md`.
pub fn image_dir_name(md: &Path) -> String {
    let stem = md
        .file_stem()
        .map_or("report".into(), |s| s.to_string_lossy().into_owned());
    format!("{stem}_files")
}

fn create_dir(dir: &Path) -> Result<(), ReportError> {
    std::fs::create_dir_all(dir).map_err(|e| {
        ReportError::Invalid(format!("{}: cannot create the folder: {e}", dir.display()))
    })
}

/// Writes the report to `path` in `format`; every file is written atomically (a temporary
/// file renamed into place), images before the Markdown that links them. Returns the files.
pub fn write(r: &Report, path: &Path, format: OutputFormat) -> Result<Vec<PathBuf>, ReportError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
        && !parent.is_dir()
    {
        return Err(ReportError::Invalid(format!(
            "{}: the folder {} does not exist",
            path.display(),
            parent.display()
        )));
    }
    let mut written = Vec::new();
    match format {
        OutputFormat::Html => {
            formats::atomic_write(path, html(r)?.as_bytes())?;
            written.push(path.to_path_buf());
        }
        OutputFormat::Json => {
            formats::atomic_write(path, json(r)?.as_bytes())?;
            written.push(path.to_path_buf());
        }
        OutputFormat::Markdown => {
            let dir_name = image_dir_name(path);
            let (text, images) = markdown(r, &dir_name)?;
            if !images.is_empty() {
                let dir = path.with_file_name(&dir_name);
                create_dir(&dir)?;
                for (name, svg) in images {
                    let p = dir.join(name);
                    formats::atomic_write(&p, svg.as_bytes())?;
                    written.push(p);
                }
            }
            formats::atomic_write(path, text.as_bytes())?;
            written.push(path.to_path_buf());
        }
        OutputFormat::CsvDir => {
            create_dir(path)?;
            for (name, text) in csv_tables(r)? {
                let p = path.join(name);
                formats::atomic_write(&p, text.as_bytes())?;
                written.push(p);
            }
        }
    }
    Ok(written)
}
