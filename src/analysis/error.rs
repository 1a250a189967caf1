use thiserror::Error;

/// Errors of the analysis functions: bad queries and parameters, named precisely.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum AnalysisError {
    #[error("'{0}' is not in the vocabulary")]
    UnknownToken(String),
    #[error("query vector has {found} values, the vectors have {expected}")]
    DimMismatch { expected: usize, found: usize },
    #[error("query vector has zero length (or NaN/Inf values): no direction to compare by cosine")]
    DegenerateQuery,
    #[error("k must be at least 1")]
    ZeroK,
    #[error("empty query")]
    EmptyQuery,
    #[error("cannot parse expression {expr:?}: {msg}")]
    Expression { expr: String, msg: String },
    #[error("{0}")]
    InvalidParameter(String),
    /// `line` is 1-based; 0 when the problem is not on one line (the message names the place).
    #[error("{path}: {}{msg}", at_line(*line))]
    BadInput {
        path: String,
        line: u64,
        msg: String,
    },
    #[error("{path}: {msg}")]
    Io { path: String, msg: String },
    /// An index file that cannot be used (damaged, truncated, another version).
    #[error("index file: {0}")]
    BadIndex(String),
    #[error("cancelled")]
    Cancelled,
}

/// `line N: ` for a 1-based line, nothing for 0 (no line).
fn at_line(line: u64) -> String {
    if line == 0 {
        String::new()
    } else {
        format!("line {line}: ")
    }
}
