//! Writing a report: the format from the output path, the image folder beside a Markdown
//! file, all of the files or none.

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

/// Creates `dir` if needed; true when this call created it (removed again if the write fails).
fn create_dir(dir: &Path) -> Result<bool, ReportError> {
    if dir.is_dir() {
        return Ok(false);
    }
    std::fs::create_dir(dir).map_err(|e| {
        ReportError::Invalid(format!("{}: cannot create the folder: {e}", dir.display()))
    })?;
    Ok(true)
}

/// Writes the report to `path` in `format`: all of its files or none. Every file is written
/// to a temporary name first and the files are renamed into place together at the end; on a
/// failure the temporary files, the files already renamed and a folder this call created are
/// removed. Returns the files.
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
    let mut staged = formats::Staged::new();
    let mut made_dir = None;
    let result = (|| -> Result<Vec<PathBuf>, ReportError> {
        match format {
            OutputFormat::Html => staged.write(path, html(r)?.as_bytes())?,
            OutputFormat::Json => staged.write(path, json(r)?.as_bytes())?,
            OutputFormat::Markdown => {
                let dir_name = image_dir_name(path);
                let (text, images) = markdown(r, &dir_name)?;
                if !images.is_empty() {
                    let dir = path.with_file_name(&dir_name);
                    if create_dir(&dir)? {
                        made_dir = Some(dir.clone());
                    }
                    for (name, svg) in images {
                        staged.write(&dir.join(name), svg.as_bytes())?;
                    }
                }
                staged.write(path, text.as_bytes())?;
            }
            OutputFormat::CsvDir => {
                if create_dir(path)? {
                    made_dir = Some(path.to_path_buf());
                }
                for (name, text) in csv_tables(r)? {
                    staged.write(&path.join(name), text.as_bytes())?;
                }
            }
        }
        Ok(std::mem::take(&mut staged).commit()?)
    })();
    if result.is_err() {
        drop(staged);
        if let Some(dir) = made_dir {
            // Only when empty: never a file this call did not write.
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}
