use thiserror::Error;

/// Violations of the data model's invariants (shapes that do not fit together).
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CoreError {
    #[error("a matrix needs a dimension of at least 1")]
    ZeroDim,
    #[error("matrix data holds {len} values, expected rows x dim = {rows} x {dim}")]
    Shape { rows: usize, dim: usize, len: usize },
    #[error(
        "memory-mapped matrix does not fit the map: offset {offset} + {bytes} bytes > {map_len}"
    )]
    MapBounds {
        offset: usize,
        bytes: usize,
        map_len: usize,
    },
    #[error("memory-mapped matrix offset {offset} is not aligned to 4 bytes")]
    MapAlignment { offset: usize },
    #[error("the vocabulary has {vocab} tokens but the matrix has {rows} rows")]
    VocabRows { vocab: usize, rows: usize },
    #[error("metadata column '{name}' has {len} values, expected one per row ({rows})")]
    MetadataLen {
        name: String,
        len: usize,
        rows: usize,
    },
    #[error("{what} has {len} entries, expected one per token ({tokens})")]
    PerTokenLen {
        what: &'static str,
        len: usize,
        tokens: usize,
    },
    #[error("vocabulary too large: token bytes exceed 4 GiB")]
    VocabTooLarge,
}
