//! JSON: the report value itself.

use crate::report::{Report, ReportError, escape};

/// The report as pretty JSON (no timestamps; the same report gives the same bytes), hazardous
/// characters inside strings written as `\uXXXX`.
pub fn json(r: &Report) -> Result<String, ReportError> {
    let text = serde_json::to_string_pretty(r)
        .map_err(|e| ReportError::Invalid(format!("the report cannot be written as JSON: {e}")))?;
    Ok(escape::json_ascii_hazards(&text) + "\n")
}
