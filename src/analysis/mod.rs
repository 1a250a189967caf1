//! L1 pure math over embedding sets: exact neighbours, analogies, evaluation benchmarks.
//! Data-parallel (rayon) but spawns no threads of its own and does no I/O beyond reading the
//! benchmark files it is given.

pub mod analogy;
pub mod ann;
pub mod bias;
pub mod cluster;
pub mod compare;
pub mod density;
pub mod drift;
pub mod error;
pub mod eval;
pub mod expr;
pub mod knn;
mod knn_i8;
pub(crate) mod linalg;
pub mod memory;
pub mod privacy;
pub mod project;
pub mod split;
pub mod stats;
mod topk;

pub use error::AnalysisError;
pub use knn::{Engine, KnnIndex, Metric, Neighbor, Query};
pub use knn_i8::available as int8_engine_available;
