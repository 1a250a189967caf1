//! embedscope: explore and compare text embeddings on your own machine.
//!
//! Layers, lowest first (a module uses only lower layers; see ARCHITECTURE.md):
//! `core` (L0 data) -> `formats`, `model`, `analysis` (L1, independent of each other) ->
//! `engine` (L3: devices, jobs) -> the binary.

pub mod analysis;
pub mod core;
pub mod engine;
pub mod formats;
pub mod model;
