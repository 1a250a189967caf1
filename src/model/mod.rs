//! L1 encoders: BERT-family transformers in burn, read from Hugging Face / sentence-transformers
//! folders (config.json, tokenizer.json, model.safetensors). The model code never picks a
//! backend: callers pass a `burn::tensor::Device` (see `engine::device`).

pub mod bert;
pub mod config;
pub mod cpu;
pub mod encoder;
pub mod head;
pub mod modernbert;
pub mod pipeline;
pub mod summary;
pub mod tokdiff;
pub mod weights;

use std::path::{Path, PathBuf};

use thiserror::Error;

pub use bert::Activation;
pub use config::{BertConfig, Family};
pub use encoder::{Encoded, Encoder, Prompt, PromptChoice};
pub use pipeline::{Pipeline, Pooling};
pub use summary::ModelSummary;

#[derive(Debug, Error)]
pub enum ModelError {
    #[error("{0}: {1}")]
    Io(PathBuf, String),
    #[error("{0}: {1}")]
    Invalid(PathBuf, String),
    #[error("{0}: {1}")]
    Unsupported(PathBuf, String),
    #[error("{0}: tensor '{1}': {2}")]
    Tensor(PathBuf, String, String),
    #[error("{0}: tokenizer: {1}")]
    Tokenizer(PathBuf, String),
    #[error("computation failed: {0}")]
    Compute(String),
}

impl ModelError {
    pub(crate) fn io(p: &Path, e: std::io::Error) -> Self {
        let msg = if is_link_loop(&e) {
            LINK_LOOP.to_string()
        } else if e.kind() == std::io::ErrorKind::NotFound {
            not_a_file(p).unwrap_or_else(|| "missing".to_string())
        } else {
            e.to_string()
        };
        ModelError::Io(p.to_path_buf(), msg)
    }
}

/// Parses a `tokenizer.json`. The JSON is read into a `serde_json::Value` first (syntax,
/// UTF-8 and every string escape checked), so a damaged file is an error naming its line and
/// column; the tokenizer is then built from the value. Parsed straight from the bytes,
/// tokenizers 0.23 panics (`expect("Helper")` in its decoder deserialiser) on any such error
/// inside the `decoder` object instead of returning it; from a value it cannot fail that way.
pub(crate) fn parse_tokenizer(
    path: &Path,
    bytes: &[u8],
) -> Result<tokenizers::Tokenizer, ModelError> {
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| {
        ModelError::Tokenizer(
            path.to_path_buf(),
            format!(
                "not valid JSON at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
    })?;
    serde_json::from_value(value)
        .map_err(|e| ModelError::Tokenizer(path.to_path_buf(), e.to_string()))
}

const LINK_LOOP: &str =
    "a symbolic link loop (the link leads, directly or through others, back to itself)";

fn is_link_loop(e: &std::io::Error) -> bool {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return true;
    }
    let _ = e;
    false
}

/// Why `path`, which names something, is not a readable regular file: a symbolic link loop, a
/// link to a missing target, a folder or a device. `None` when it does not exist at all or is
/// a regular file.
pub(crate) fn not_a_file(path: &Path) -> Option<String> {
    let link = std::fs::symlink_metadata(path).ok()?;
    match std::fs::metadata(path) {
        Ok(m) if m.is_file() => None,
        Ok(m) if m.is_dir() => Some("a folder, expected a file".into()),
        Ok(_) => Some("not a regular file (a device, pipe or socket)".into()),
        Err(e) if is_link_loop(&e) => Some(LINK_LOOP.into()),
        Err(_) if link.file_type().is_symlink() => Some(match std::fs::read_link(path) {
            Ok(t) => format!("a symbolic link to {}, which does not exist", t.display()),
            Err(_) => "a symbolic link to a missing file".into(),
        }),
        Err(e) => Some(e.to_string()),
    }
}
