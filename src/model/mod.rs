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
        let msg = if e.kind() == std::io::ErrorKind::NotFound {
            "missing".to_string()
        } else {
            e.to_string()
        };
        ModelError::Io(p.to_path_buf(), msg)
    }
}
