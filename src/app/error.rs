//! What can go wrong in the app's own logic (everything the engine does fails as a job event).

use thiserror::Error;

use crate::analysis::AnalysisError;
use crate::formats::FormatError;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum AppError {
    #[error("'{0}' is not in the vocabulary")]
    NotInVocabulary(String),
    #[error("a zero or non-finite vector has no cosine")]
    NoCosine,
    #[error("regular expression: {0}")]
    Regex(String),
    /// A search by meaning could not run (the model folder, the query).
    #[error("{0}")]
    Search(String),
    #[error("no data set")]
    NoDataset,
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    /// A file could not be written or read (the message names it).
    #[error("{0}")]
    File(String),
    /// A session or settings file that does not hold what it should.
    #[error("{0}")]
    Invalid(String),
}

impl From<FormatError> for AppError {
    fn from(e: FormatError) -> AppError {
        AppError::File(e.to_string())
    }
}
