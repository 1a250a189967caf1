//! The decoders' errors in words: Parquet and Arrow error text, and a refusal turned into an
//! `Unsupported` (a codec this build lacks) or `Invalid` [`FormatError`].

use std::path::Path;

use arrow_schema::ArrowError;
use parquet::errors::ParquetError;

use crate::formats::error::{FormatError, Location};

pub(super) fn parquet_text(e: &ParquetError) -> String {
    match e {
        ParquetError::General(m) | ParquetError::ArrowError(m) => m.clone(),
        ParquetError::NYI(m) => format!("not yet implemented: {m}"),
        ParquetError::EOF(m) => format!("unexpected end of file: {m}"),
        ParquetError::External(inner) => inner.to_string(),
        other => other.to_string(),
    }
}

pub(super) fn arrow_text(e: &ArrowError) -> String {
    match e {
        ArrowError::ExternalError(inner) => match inner.downcast_ref::<ParquetError>() {
            Some(p) => parquet_text(p),
            None => inner.to_string(),
        },
        ArrowError::ParquetError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// A decoder's refusal: a codec or feature this build lacks is `Unsupported`, anything else `Invalid`.
pub(super) fn decode_error(path: &Path, what: &str, text: String) -> FormatError {
    let text = text
        .strip_prefix("Parquet error: ")
        .unwrap_or(&text)
        .to_string();
    let lower = text.to_ascii_lowercase();
    // parquet: "Disabled feature at compile time: flate2"; arrow-ipc: "lz4 IPC decompression requires the lz4 feature".
    let codec = if let Some((_, after)) = lower.split_once("disabled feature at compile time: ") {
        let feature = after.split_whitespace().next().unwrap_or("");
        Some(match feature {
            "flate2" => "gzip",
            "snap" => "snappy",
            f => f,
        })
    } else if let Some((before, _)) = lower.split_once(" ipc decompression requires the") {
        before.split_whitespace().last()
    } else {
        None
    };
    if let Some(codec) = codec {
        let resave = if what == "Parquet" {
            "uncompressed, or with snappy or zstd compression"
        } else {
            "uncompressed"
        };
        return FormatError::unsupported(
            path,
            format!(
                "{what} data compressed with {codec}, which this build cannot decompress ({text}); re-save the file {resave}"
            ),
        );
    }
    if lower.contains("not yet implemented")
        || lower.contains("not supported")
        || lower.contains("unsupported")
    {
        return FormatError::unsupported(path, format!("{what}: {text}"));
    }
    FormatError::invalid(
        path,
        Location::None,
        format!("not a readable {what} file: {text}"),
    )
}
