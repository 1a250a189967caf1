//! Where a set came from and what happened while loading it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Source, format, content hash and load parameters of an embedding set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// Path of the source as given (or `embedded:NAME` for bundled data).
    pub source: String,
    /// Format name as printed by `--format` (e.g. `word2vec-text`).
    pub format: String,
    /// Lower-case hex sha256 of the source file's bytes.
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
    /// Load parameters that change the result (limit, columns, vocab file...).
    pub params: BTreeMap<String, String>,
    /// Model identifier, when known (a model folder's name, a Hub id written in the file...).
    pub model_id: Option<String>,
    /// The native cache file this set was reopened from, if any.
    pub cache_file: Option<String>,
}

/// A token seen more than once while loading: the first row is kept, later ones are dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateToken {
    pub token: String,
    /// Row (0-based, in the file's order) of the kept occurrence.
    pub kept_row: u64,
    /// Row (0-based, in the file's order) of the dropped occurrence.
    pub dropped_row: u64,
}

/// Findings made while loading that cannot be recovered from the loaded set itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadNotes {
    /// Data rows read from the source (before dropping duplicates).
    pub rows_read: u64,
    pub duplicates: Vec<DuplicateToken>,
    /// Rows (0-based, after dropping duplicates) whose token was not valid UTF-8 and was decoded lossily.
    pub invalid_utf8_rows: Vec<u64>,
    /// Rows the source declared (a header) when it declared any.
    pub declared_rows: Option<u64>,
    /// Free-form warnings (e.g. "limit 100 applied").
    pub warnings: Vec<String>,
}
