//! L0 plain data: the embedding set and its parts. No I/O beyond memory maps, no threads.

pub mod bytes;
pub mod dates;
mod error;
pub mod hash;
mod integrity;
mod mapped;
mod matrix;
mod metadata;
mod provenance;
mod rows;
mod set;
mod vocab;

pub use bytes::{human_bytes, parse_bytes};
pub use error::CoreError;
pub use integrity::{IntegrityReport, NormStats, RowScan};
pub use mapped::map_readonly;
pub use matrix::Matrix;
pub use metadata::{MetaColumn, Metadata};
pub use provenance::{
    DuplicateToken, ENCODING_FIELDS, FieldChange, LoadNotes, Provenance, ProvenanceDiff,
    ProvenanceStatus, SidecarNote, SidecarStatus,
};
pub use rows::{LIST_CHARS, OCCURRENCES, ROWS_FACT, RowKind, TEXT_COLUMNS, one_line, wrap_lines};
pub use set::EmbeddingSet;
pub use vocab::Vocab;
