//! L3: long-running work. Device selection (which backend burn runs on), the job worker
//! (threads, events, cancel, progress) and one module per job kind. The only layer (with
//! `model/`) that touches burn, and the only one that may start threads.

pub mod ann;
pub mod device;
pub mod encode;
pub mod jobs;
pub mod memory;
pub mod semantic;
pub mod worker;

use thiserror::Error;

use crate::analysis::AnalysisError;
use crate::analysis::project::ProjectError;
use crate::report::ReportError;

#[derive(Debug, Error)]
pub enum EngineError {
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Format(#[from] crate::formats::FormatError),
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Project(#[from] ProjectError),
    #[error(transparent)]
    Report(#[from] ReportError),
    /// A set's queries cannot be encoded with this model folder (gone, other weights).
    #[error(transparent)]
    QueryModel(#[from] semantic::QueryModelError),
    /// The job's memory estimate exceeds the memory available; it was not started.
    #[error(transparent)]
    Memory(#[from] crate::analysis::memory::MemoryRefusal),
    #[error("{0}")]
    Device(String),
    #[error("cancelled")]
    Cancelled,
    #[error("{0}")]
    Output(String),
}

impl EngineError {
    /// Whether the work stopped because it was cancelled (at any layer).
    pub fn is_cancelled(&self) -> bool {
        matches!(
            self,
            EngineError::Cancelled
                | EngineError::Analysis(AnalysisError::Cancelled)
                | EngineError::Project(ProjectError::Cancelled)
                | EngineError::Report(ReportError::Cancelled)
                | EngineError::Report(ReportError::Analysis(AnalysisError::Cancelled))
        )
    }

    /// The error with `what` in front ("name: reason").
    pub fn within(self, what: &str) -> EngineError {
        if self.is_cancelled() {
            self
        } else {
            EngineError::Output(format!("{what}: {self}"))
        }
    }
}
