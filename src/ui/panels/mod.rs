//! The panels of the main window, each a struct that owns what the user is typing or choosing
//! in it and draws itself from `app::App`, pushing `app::Command`s (applied once per frame).

pub mod bookmarks;
pub mod clusters;
pub mod documents;
pub mod encode;
pub mod filter;
pub mod inspector;
pub mod menu;
pub mod projection;
pub mod status;

pub use bookmarks::BookmarksPanel;
pub use clusters::ClustersPanel;
pub use documents::DocumentsPanel;
pub use encode::EncodePanel;
pub use filter::FilterPanel;
pub use inspector::InspectorPanel;
pub use menu::{FileMenu, UiAction};
pub use projection::ProjectionPanel;
pub use status::StatusBar;
