//! embedscope: explore and compare text embeddings on your own machine.
//!
//! Layers, lowest first (a module uses only lower layers; see ARCHITECTURE.md):
//! `core` (L0 data) -> `formats`, `analysis` (L1, independent of each other) -> the binary.

pub mod analysis;
pub mod core;
pub mod formats;
