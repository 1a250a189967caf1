//! Errors of the file readers and writers: always the file, the place, and what was expected.

use std::fmt;
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Where in a file a problem was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Location {
    #[default]
    None,
    /// 1-based line number and 0-based byte offset of the line's start.
    Line { line: u64, byte: u64 },
    /// 0-based byte offset.
    Byte(u64),
    /// 0-based data row.
    Row(u64),
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::None => Ok(()),
            Location::Line { line, byte } => write!(f, "line {line} (byte {byte}): "),
            Location::Byte(b) => write!(f, "byte {b}: "),
            Location::Row(r) => write!(f, "row {r}: "),
        }
    }
}

#[derive(Debug, Error)]
pub enum ErrorKind {
    #[error("cannot read or write: {0}")]
    Io(#[from] std::io::Error),
    #[error("no such file")]
    NotFound,
    #[error("is a directory, expected a file of vectors")]
    IsDirectory,
    /// A folder given as a data set that holds no Parquet part files.
    #[error(
        "is a directory with no Parquet part files (*.parquet) in it: expected a file of vectors or a folder of Parquet parts"
    )]
    NoParts,
    #[error("the file is empty")]
    Empty,
    /// A pipe, socket or device given where a regular file is needed (the input is opened
    /// more than once, memory-mapped or measured): refused before it is opened, so a FIFO
    /// without a writer cannot block the reader.
    #[error(
        "is not a regular file ({0}): expected a regular file (it is read more than once); save the data to a file first"
    )]
    NotRegular(&'static str),
    /// Content that does not follow the format (syntax, values, dimensions).
    #[error("{0}")]
    Invalid(String),
    /// The file ends before the data it declares.
    #[error("{0}")]
    Truncated(String),
    /// A valid file of a kind this reader does not handle (dtype, layout, compression...).
    #[error("{0}")]
    Unsupported(String),
    /// Two inputs that should agree do not (vocabulary length vs rows...).
    #[error("{0}")]
    Mismatch(String),
    /// A declared size that cannot be true for this file, refused before allocating.
    #[error("{0}")]
    TooLarge(String),
    /// Data that a writer cannot represent in the chosen format.
    #[error("{0}")]
    Unrepresentable(String),
}

#[derive(Debug, Error)]
#[error("{}: {location}{kind}", path.display())]
pub struct FormatError {
    pub path: PathBuf,
    pub location: Location,
    /// What went wrong (already part of the message: not reported again as a source).
    pub kind: ErrorKind,
}

impl FormatError {
    pub fn new(path: &Path, location: Location, kind: ErrorKind) -> Self {
        FormatError {
            path: path.to_path_buf(),
            location,
            kind,
        }
    }

    pub fn io(path: &Path, err: std::io::Error) -> Self {
        let kind = match err.kind() {
            std::io::ErrorKind::NotFound => ErrorKind::NotFound,
            std::io::ErrorKind::IsADirectory => ErrorKind::IsDirectory,
            _ => ErrorKind::Io(err),
        };
        Self::new(path, Location::None, kind)
    }

    pub fn invalid(path: &Path, location: Location, msg: impl Into<String>) -> Self {
        Self::new(path, location, ErrorKind::Invalid(msg.into()))
    }

    pub fn truncated(path: &Path, location: Location, msg: impl Into<String>) -> Self {
        Self::new(path, location, ErrorKind::Truncated(msg.into()))
    }

    pub fn unsupported(path: &Path, msg: impl Into<String>) -> Self {
        Self::new(path, Location::None, ErrorKind::Unsupported(msg.into()))
    }

    pub fn mismatch(path: &Path, msg: impl Into<String>) -> Self {
        Self::new(path, Location::None, ErrorKind::Mismatch(msg.into()))
    }

    pub fn too_large(path: &Path, location: Location, msg: impl Into<String>) -> Self {
        Self::new(path, location, ErrorKind::TooLarge(msg.into()))
    }

    pub fn unrepresentable(path: &Path, location: Location, msg: impl Into<String>) -> Self {
        Self::new(path, location, ErrorKind::Unrepresentable(msg.into()))
    }

    /// A short machine-readable name of the error kind (for JSON output).
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            ErrorKind::Io(_) => "io",
            ErrorKind::NotFound => "not_found",
            ErrorKind::IsDirectory | ErrorKind::NoParts => "is_directory",
            ErrorKind::Empty => "empty",
            ErrorKind::NotRegular(_) => "not_regular",
            ErrorKind::Invalid(_) => "invalid",
            ErrorKind::Truncated(_) => "truncated",
            ErrorKind::Unsupported(_) => "unsupported",
            ErrorKind::Mismatch(_) => "mismatch",
            ErrorKind::TooLarge(_) => "too_large",
            ErrorKind::Unrepresentable(_) => "unrepresentable",
        }
    }
}

/// Refuses anything but a regular file (or a folder, when `dirs` is true), from its metadata,
/// without opening it: opening a FIFO blocks until a writer comes, and a pipe read twice reads
/// as empty the second time.
pub(crate) fn require_regular(
    path: &Path,
    meta: &std::fs::Metadata,
    dirs: bool,
) -> Result<(), FormatError> {
    let ft = meta.file_type();
    if ft.is_file() || (dirs && ft.is_dir()) {
        return Ok(());
    }
    if ft.is_dir() {
        return Err(FormatError::new(
            path,
            Location::None,
            ErrorKind::IsDirectory,
        ));
    }
    Err(FormatError::new(
        path,
        Location::None,
        ErrorKind::NotRegular(special_kind(&ft)),
    ))
}

/// What a non-regular file is, in words.
fn special_kind(ft: &std::fs::FileType) -> &'static str {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if ft.is_fifo() {
            return "a pipe";
        }
        if ft.is_socket() {
            return "a socket";
        }
        if ft.is_char_device() {
            return "a character device";
        }
        if ft.is_block_device() {
            return "a block device";
        }
    }
    let _ = ft;
    "not a file or folder"
}

/// Shortens user data quoted in an error message (a 5 MB line must not become a 5 MB message).
pub(crate) fn snippet(bytes: &[u8]) -> String {
    const MAX: usize = 40;
    let s = String::from_utf8_lossy(&bytes[..bytes.len().min(MAX * 4)]);
    let mut out: String = s.chars().take(MAX).collect();
    if s.chars().count() > MAX || bytes.len() > MAX * 4 {
        out.push('…');
    }
    format!("{out:?}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_names_file_and_place() {
        let e = FormatError::invalid(
            Path::new("/tmp/x.txt"),
            Location::Line { line: 3, byte: 17 },
            "expected 50 values after the token, found 49",
        );
        assert_eq!(
            e.to_string(),
            "/tmp/x.txt: line 3 (byte 17): expected 50 values after the token, found 49"
        );
        assert_eq!(e.kind_name(), "invalid");
    }

    #[test]
    fn snippet_is_bounded() {
        let long = vec![b'x'; 5_000_000];
        assert!(snippet(&long).len() < 200);
        assert_eq!(snippet(b"abc"), "\"abc\"");
    }
}
