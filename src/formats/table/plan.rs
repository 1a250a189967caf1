//! Choosing the columns: which one holds the vectors, which the tokens, which are kept as
//! metadata, decided from the schema before any row is read.

use std::path::Path;

use arrow_schema::{DataType, Schema, TimeUnit};

use super::cell::{is_simple, is_string, token_type_ok};
use crate::formats::LoadOptions;
use crate::formats::error::{FormatError, Location};

/// Token-column value naming rows by their number.
const ROW_NUMBER_TOKENS: &str = "#row";
/// Names preferred (in this order) when several columns could hold the vectors or the tokens.
const VECTOR_NAMES: [&str; 5] = ["embedding", "embeddings", "vector", "vectors", "emb"];
const TOKEN_NAMES: [&str; 6] = ["token", "word", "key", "text", "term", "label"];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum TokenSource {
    /// Schema index of the token column.
    Column(usize),
    /// Row numbers ("0", "1", ...) are the tokens.
    RowNumber,
}

/// Which columns hold what, decided from the schema before any row is read.
pub(super) struct Plan {
    pub(super) vector: usize,
    pub(super) token: TokenSource,
    pub(super) meta: Vec<usize>,
    /// Schema indices of the columns to read, ascending: batch column k is schema column `read[k]`.
    pub(super) read: Vec<usize>,
    pub(super) names: Vec<String>,
    pub(super) warnings: Vec<String>,
}

impl Plan {
    pub(super) fn new(
        schema: &Schema,
        opts: &LoadOptions,
        path: &Path,
        what: &str,
    ) -> Result<Plan, FormatError> {
        let fields = schema.fields();
        let names: Vec<String> = fields.iter().map(|f| f.name().clone()).collect();
        let invalid = |msg: String| FormatError::invalid(path, Location::None, msg);
        let listing = || column_listing(schema);
        let mut warnings = Vec::new();

        let vector = match opts.vector_column.as_deref() {
            Some(name) => {
                let i = find_column(&names, name).ok_or_else(|| {
                    invalid(format!(
                        "no column named {name:?} for the vectors; the columns are: {}",
                        listing()
                    ))
                })?;
                if float_list_elem(fields[i].data_type()).is_none() {
                    return Err(invalid(format!(
                        "column {:?} has type {}: expected a list, large_list or fixed_size_list of float16, float32 or float64 values for the vectors",
                        names[i],
                        type_name(fields[i].data_type())
                    )));
                }
                i
            }
            None => {
                let candidates: Vec<usize> = (0..fields.len())
                    .filter(|&i| float_list_elem(fields[i].data_type()).is_some())
                    .collect();
                match candidates.as_slice() {
                    [] => {
                        return Err(invalid(format!(
                            "no vector column: no column is a list, large_list or fixed_size_list of floats in this {what} file; the columns are: {}",
                            listing()
                        )));
                    }
                    [i] => *i,
                    _ => by_preferred_name(&names, &candidates, &VECTOR_NAMES).ok_or_else(|| {
                        invalid(format!(
                            "several columns could hold the vectors: {}; pick one with --vector-column",
                            quoted(&names, &candidates)
                        ))
                    })?,
                }
            }
        };
        if let DataType::FixedSizeList(_, size) = fields[vector].data_type()
            && *size <= 0
        {
            return Err(invalid(format!(
                "column {:?} is a fixed_size_list of {size} values: vectors need at least one",
                names[vector]
            )));
        }

        let token = match opts.token_column.as_deref() {
            Some(ROW_NUMBER_TOKENS) => TokenSource::RowNumber,
            Some(name) => {
                let i = find_column(&names, name).ok_or_else(|| {
                    invalid(format!(
                        "no column named {name:?} for the tokens; the columns are: {} (or use {ROW_NUMBER_TOKENS} for row numbers)",
                        listing()
                    ))
                })?;
                if i == vector {
                    return Err(invalid(format!(
                        "column {:?} holds the vectors; it cannot also be the token column",
                        names[i]
                    )));
                }
                if !token_type_ok(fields[i].data_type()) {
                    return Err(invalid(format!(
                        "column {:?} has type {}: expected a string or integer column for the tokens (or {ROW_NUMBER_TOKENS} for row numbers)",
                        names[i],
                        type_name(fields[i].data_type())
                    )));
                }
                TokenSource::Column(i)
            }
            None => {
                let candidates: Vec<usize> = (0..fields.len())
                    .filter(|&i| i != vector && is_string(fields[i].data_type()))
                    .collect();
                match candidates.as_slice() {
                    [] => {
                        warnings.push(
                            "no string column to take the tokens from: rows are named by their row number (0, 1, ...); pick a column with --token-column"
                                .to_string(),
                        );
                        TokenSource::RowNumber
                    }
                    [i] => TokenSource::Column(*i),
                    [first, ..] => match by_preferred_name(&names, &candidates, &TOKEN_NAMES) {
                        Some(i) => TokenSource::Column(i),
                        None => {
                            warnings.push(format!(
                                "several string columns could hold the tokens ({}): took {:?}; pick another with --token-column",
                                quoted(&names, &candidates),
                                names[*first]
                            ));
                            TokenSource::Column(*first)
                        }
                    },
                }
            }
        };

        let mut meta = Vec::new();
        for (i, f) in fields.iter().enumerate() {
            if i == vector || token == TokenSource::Column(i) {
                continue;
            }
            if is_simple(f.data_type()) {
                meta.push(i);
            } else {
                warnings.push(format!(
                    "column {:?} ({}) is not kept as metadata: only strings, numbers, booleans, dates and times are",
                    f.name(),
                    type_name(f.data_type())
                ));
            }
        }
        let mut read = meta.clone();
        read.push(vector);
        if let TokenSource::Column(t) = token {
            read.push(t);
        }
        read.sort_unstable();
        Ok(Plan {
            vector,
            token,
            meta,
            read,
            names,
            warnings,
        })
    }

    pub(super) fn token_name(&self) -> &str {
        match self.token {
            TokenSource::Column(i) => &self.names[i],
            TokenSource::RowNumber => ROW_NUMBER_TOKENS,
        }
    }

    /// Position in a (projected) batch of schema column `i`.
    pub(super) fn batch_index(&self, i: usize) -> usize {
        self.read.binary_search(&i).unwrap_or(usize::MAX)
    }
}

/// Exact name first, then a unique case-insensitive match.
fn find_column(names: &[String], name: &str) -> Option<usize> {
    if let Some(i) = names.iter().position(|n| n == name) {
        return Some(i);
    }
    let mut folded = names
        .iter()
        .enumerate()
        .filter(|(_, n)| n.eq_ignore_ascii_case(name))
        .map(|(i, _)| i);
    match (folded.next(), folded.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

fn by_preferred_name(names: &[String], candidates: &[usize], preferred: &[&str]) -> Option<usize> {
    preferred.iter().find_map(|p| {
        candidates
            .iter()
            .copied()
            .find(|&i| names[i].eq_ignore_ascii_case(p))
    })
}

fn quoted(names: &[String], idx: &[usize]) -> String {
    idx.iter()
        .map(|&i| format!("{:?}", names[i]))
        .collect::<Vec<_>>()
        .join(", ")
}

fn column_listing(schema: &Schema) -> String {
    if schema.fields().is_empty() {
        return "(none)".to_string();
    }
    schema
        .fields()
        .iter()
        .map(|f| format!("{:?} ({})", f.name(), type_name(f.data_type())))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Short type names as pyarrow prints them (`list<float32>`, `fixed_size_list<float32, 50>`...).
pub(super) fn type_name(dt: &DataType) -> String {
    use DataType as D;
    match dt {
        D::Utf8 => "string".into(),
        D::LargeUtf8 => "large_string".into(),
        D::Utf8View => "string_view".into(),
        D::Binary => "binary".into(),
        D::LargeBinary => "large_binary".into(),
        D::Boolean => "bool".into(),
        D::List(f) => format!("list<{}>", type_name(f.data_type())),
        D::LargeList(f) => format!("large_list<{}>", type_name(f.data_type())),
        D::FixedSizeList(f, n) => format!("fixed_size_list<{}, {n}>", type_name(f.data_type())),
        D::Struct(_) => "struct".into(),
        D::Map(..) => "map".into(),
        D::Dictionary(_, v) => format!("dictionary<{}>", type_name(v)),
        D::Timestamp(unit, tz) => {
            let unit = match unit {
                TimeUnit::Second => "s",
                TimeUnit::Millisecond => "ms",
                TimeUnit::Microsecond => "us",
                TimeUnit::Nanosecond => "ns",
            };
            match tz {
                Some(tz) => format!("timestamp[{unit}, tz={tz}]"),
                None => format!("timestamp[{unit}]"),
            }
        }
        other => other.to_string().to_ascii_lowercase(),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    F16,
    F32,
    F64,
}

fn float_list_elem(dt: &DataType) -> Option<Elem> {
    match dt {
        DataType::List(f) | DataType::LargeList(f) | DataType::FixedSizeList(f, _) => {
            match f.data_type() {
                DataType::Float16 => Some(Elem::F16),
                DataType::Float32 => Some(Elem::F32),
                DataType::Float64 => Some(Elem::F64),
                _ => None,
            }
        }
        _ => None,
    }
}
