//! L3: long-running work. Device selection (which backend burn runs on), and jobs that encode
//! corpora with progress, rates and cancellation. The only layer (with `model/`) that touches
//! burn, and the only one that may start threads.

pub mod device;
pub mod encode;
pub mod jobs;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Format(#[from] crate::formats::FormatError),
    #[error("{0}")]
    Device(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Output(String),
}
