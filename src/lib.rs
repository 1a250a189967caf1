//! embedscope: explore and compare text embeddings on your own machine.
//!
//! Layers, lowest first (a module uses only lower layers; see ARCHITECTURE.md):
//! `core` (L0 data) -> `formats`, `model`, `analysis` (L1, independent of each other) ->
//! `report` (L2: comparison reports) -> `engine` (L3: devices, jobs) -> `app` (L4: egui-free state and commands) -> `ui` (L5: the
//! eframe/egui app, feature `gui`) -> the binary.

pub mod analysis;
pub mod app;
pub mod core;
pub mod engine;
pub mod formats;
pub mod model;
pub mod report;
#[cfg(feature = "gui")]
pub mod ui;
