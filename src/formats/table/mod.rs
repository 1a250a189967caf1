//! Parquet and Arrow IPC (Feather v2) tables: one row per token, a list-of-floats vector column,
//! a token column, and any other simple columns kept as string metadata.
//!
//! Both readers stream record batches straight into a [`RowSink`](super::sink::RowSink) (never
//! the whole table at once) and stop as soon as the row limit is reached. The writer emits `token`
//! (string), `embedding` (fixed-size list of float32) and one string column per metadata column,
//! in row groups of at most 65536 rows, through a temporary file renamed into place.
//!
//! [`plan`] chooses the token, vector and metadata columns from the schema; [`cell`] gives a
//! cell's text; [`vectors`] reads one row's floats; [`reader`] streams the batches; [`write`] is
//! the Parquet writer; [`errors`] words the decoders' errors.

mod cell;
mod errors;
mod parts;
mod plan;
mod reader;
mod thrift;
mod vectors;
mod write;

#[cfg(test)]
mod tests;

pub(crate) use cell::{cell_string, simple_type, string_type};
pub use parts::{Part, is_part_folder, list_parts};
pub(crate) use parts::{folder_stamp, parquet_rows, read_parquet_folder};
pub(crate) use reader::{check_inflation, read_arrow_ipc, read_parquet};
pub use thrift::check_parquet_structure;
#[cfg(test)]
pub(crate) use write::write_parquet;
pub(crate) use write::write_parquet_temp;
pub use write::{CellType, Cells, write_parquet_table};
