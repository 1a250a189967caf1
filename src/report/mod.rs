//! Comparison reports (L2): a [`Report`] value holding every number of a comparison of model
//! versions, built by [`build`] from the analyses (compare, aligned maps, bias probes,
//! evaluation benchmarks), and rendered by the writers in [`render`] as one self-contained HTML
//! file, Markdown with its images beside it, JSON, or one CSV file per table.
//!
//! The value holds no clock time, paths of caches or timings, so the same inputs and options
//! give the same bytes in every format.

pub mod charts;
pub mod escape;
pub mod fmt;
pub mod render;

mod build;
mod options;
mod redact;
mod sections;
mod value;

use crate::analysis::AnalysisError;
use crate::formats::FormatError;

pub use build::{build, memory_estimate};
pub use options::{DriftOptions, MapMethod, ReportOptions, Version, command_line, shell_quote};
pub use redact::{RedactedPlace, Redaction, redact};
pub use render::{OutputFormat, write};
pub use value::*;

/// Errors while building or writing a report.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Analysis(#[from] AnalysisError),
    #[error(transparent)]
    Format(#[from] FormatError),
    #[error("{0}")]
    Invalid(String),
    #[error("drawing a chart failed: {0}")]
    Chart(String),
    #[error("cancelled")]
    Cancelled,
}

/// "A", "B", ..., "Z", "V27", ...
pub fn label(i: usize) -> String {
    if i < 26 {
        char::from(b'A' + i as u8).to_string()
    } else {
        format!("V{}", i + 1)
    }
}
