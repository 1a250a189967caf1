//! L0 plain data: the embedding set and its parts. No I/O beyond memory maps, no threads.

mod error;
pub mod hash;
mod integrity;
mod matrix;
mod metadata;
mod provenance;
mod set;
mod vocab;

pub use error::CoreError;
pub use integrity::{IntegrityReport, NormStats, RowScan};
pub use matrix::Matrix;
pub use metadata::{MetaColumn, Metadata};
pub use provenance::{DuplicateToken, LoadNotes, Provenance};
pub use set::EmbeddingSet;
pub use vocab::Vocab;
