//! JSONL records: the text field and metadata fields found on the first object, then each
//! line's text (or why it has none) and metadata values.

use std::fs::File;
use std::io::BufReader;
use std::path::Path;

use super::{TEXT_NAMES, pick};
use crate::formats::bounded::{MAX_LINE_BYTES, read_line_bounded};
use crate::formats::error::{FormatError, Location, snippet};

/// Reads lines of `path` until the first JSON object: the text field (`wanted`, or the first of
/// [`TEXT_NAMES`] among its keys) and the metadata fields (its other keys whose values are not
/// objects or arrays). A file without a JSON object line has no documents unless it has lines
/// that are not blank: then it is not JSONL, and the error says what its first line is.
pub(super) fn jsonl_fields(
    path: &Path,
    wanted: Option<&str>,
) -> Result<(String, Vec<String>), FormatError> {
    let file = File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut r = BufReader::with_capacity(1 << 16, file);
    let mut buf = Vec::new();
    let mut line = 0u64;
    let mut first_bad: Option<(u64, String)> = None;
    loop {
        let l = read_line_bounded(&mut r, &mut buf, MAX_LINE_BYTES)
            .map_err(|e| FormatError::io(path, e))?;
        if l.consumed == 0 {
            break;
        }
        line += 1;
        let raw = String::from_utf8_lossy(&buf);
        if raw.trim().is_empty() {
            continue;
        }
        let why = match serde_json::from_str::<serde_json::Value>(&raw) {
            Ok(serde_json::Value::Object(obj)) => {
                let keys: Vec<String> = obj.keys().cloned().collect();
                let field = match wanted {
                    Some(w) => w.to_string(),
                    None => match pick(&keys, None, path, "field") {
                        Ok(i) => keys[i].clone(),
                        Err(e) => {
                            return Err(FormatError::new(
                                path,
                                Location::Line { line, byte: 0 },
                                e.kind,
                            ));
                        }
                    },
                };
                let names = obj
                    .iter()
                    .filter(|(k, v)| **k != field && !v.is_object() && !v.is_array())
                    .map(|(k, _)| k.clone())
                    .collect();
                return Ok((field, names));
            }
            Ok(_) => "not a JSON object".to_string(),
            Err(e) => format!("not JSON: {e}"),
        };
        first_bad.get_or_insert((line, why));
    }
    match first_bad {
        None => Ok((wanted.unwrap_or(TEXT_NAMES[0]).to_string(), Vec::new())),
        Some((line, why)) => Err(FormatError::invalid(
            path,
            Location::Line { line, byte: 0 },
            format!("no line is a JSON object with a text field; this one is {why}"),
        )),
    }
}

/// One JSONL record: its text (or why it has none) and its metadata values for `names`.
pub(super) fn jsonl_record(
    raw: &str,
    field: &str,
    names: &[String],
) -> (Result<String, String>, Vec<String>) {
    let blank = || vec![String::new(); names.len()];
    let obj = match serde_json::from_str::<serde_json::Value>(raw) {
        Ok(serde_json::Value::Object(obj)) => obj,
        Ok(_) => return (Err("not a JSON object".into()), blank()),
        Err(e) => return (Err(format!("not JSON: {e}")), blank()),
    };
    let meta = names
        .iter()
        .map(|k| match obj.get(k) {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(serde_json::Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        })
        .collect();
    let text = match obj.get(field) {
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(serde_json::Value::Null) | None => Err(format!("no \"{field}\" string")),
        Some(other) => Err(format!(
            "\"{field}\" is {}, not a string",
            snippet(other.to_string().as_bytes())
        )),
    };
    (text, meta)
}
