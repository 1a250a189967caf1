//! Writers: the report laid out once as a list of blocks (headings, paragraphs, tables,
//! images, code: [`blocks`], laid out by [`layout`]), then rendered as HTML, Markdown, CSV
//! tables or plain text; JSON is the report value itself. Every text value from the data
//! (tokens, file names, metadata) is escaped by the target format's escaper in
//! [`super::escape`]; numbers are formatted by [`super::fmt`]. [`files`] writes the result.

mod blocks;
mod csv;
mod files;
mod html;
mod json;
mod layout;
mod markdown;
pub mod text;

pub use csv::csv_tables;
pub use files::{OutputFormat, image_dir_name, write};
pub use html::html;
pub use json::json;
pub use markdown::markdown;
