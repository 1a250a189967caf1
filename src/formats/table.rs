// Temporary placeholder while the Parquet/Arrow module is being written in a scratch crate.
use std::path::Path;

use super::error::FormatError;
use super::{LoadOptions, Loaded};
use crate::core::EmbeddingSet;

pub(crate) fn read_parquet(path: &Path, _opts: &LoadOptions) -> Result<Loaded, FormatError> {
    Err(FormatError::unsupported(path, "Parquet reading is not built yet"))
}
pub(crate) fn read_arrow_ipc(path: &Path, _opts: &LoadOptions) -> Result<Loaded, FormatError> {
    Err(FormatError::unsupported(path, "Arrow reading is not built yet"))
}
pub(crate) fn write_parquet(_set: &EmbeddingSet, path: &Path) -> Result<(), FormatError> {
    Err(FormatError::unsupported(path, "Parquet writing is not built yet"))
}
