//! Two samples of one space, for drift: one set split into a reference and a current sample by
//! a metadata column (dates before a day, two groups of values, numbers below a threshold), or
//! two sets that must come from the same model (checked on their encoding records).

use serde::Serialize;

use super::AnalysisError;
use crate::core::dates::parse_datetime;
use crate::core::{Metadata, Provenance};

/// How one set's rows become the reference and the current sample.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "rule", rename_all = "snake_case")]
pub enum SplitRule {
    /// Rows dated before `date` (ISO-8601, UTC when no zone) are the reference, rows on or after
    /// it the current sample.
    Before { date: String },
    /// Rows whose value is one of `reference` are the reference, one of `current` the current
    /// sample; other values are left out.
    Values {
        reference: Vec<String>,
        current: Vec<String>,
    },
    /// Rows whose number is below `at` are the reference, the others the current sample.
    Threshold { at: f64 },
}

impl SplitRule {
    /// `--values A,B`: the reference's values, a comma, the current sample's; several values
    /// of one side joined by `|` (`2023-Q3|2023-Q4,2024-Q1`).
    pub fn values(spec: &str) -> Result<SplitRule, AnalysisError> {
        let sides: Vec<&str> = spec.split(',').collect();
        let group = |s: &str| -> Vec<String> {
            s.split('|')
                .map(|v| v.trim().to_string())
                .filter(|v| !v.is_empty())
                .collect()
        };
        match sides.as_slice() {
            [r, c] if !group(r).is_empty() && !group(c).is_empty() => {
                let (reference, current) = (group(r), group(c));
                if let Some(v) = reference.iter().find(|v| current.contains(v)) {
                    return Err(AnalysisError::InvalidParameter(format!(
                        "--values {spec:?}: {v:?} is on both sides"
                    )));
                }
                Ok(SplitRule::Values { reference, current })
            }
            _ => Err(AnalysisError::InvalidParameter(format!(
                "--values {spec:?}: expected the reference's values, a comma, the current \
                 sample's (several values of one side joined by '|'), e.g. \"2023,2024\""
            ))),
        }
    }

    /// `--before DATE`, checked.
    pub fn before(date: &str) -> Result<SplitRule, AnalysisError> {
        parse_datetime(date).ok_or_else(|| {
            AnalysisError::InvalidParameter(format!(
                "--before {date:?}: expected an ISO-8601 date such as 2024-07-01 or \
                 2024-07-01T12:00Z"
            ))
        })?;
        Ok(SplitRule::Before {
            date: date.trim().to_string(),
        })
    }

    /// A numeric threshold, checked.
    pub fn threshold(at: f64) -> Result<SplitRule, AnalysisError> {
        if !at.is_finite() {
            return Err(AnalysisError::InvalidParameter(format!(
                "threshold {at}: expected a finite number"
            )));
        }
        Ok(SplitRule::Threshold { at })
    }

    pub fn describe(&self, column: &str) -> String {
        match self {
            SplitRule::Before { date } => {
                format!("{column} before {date} (reference) vs on or after it (current)")
            }
            SplitRule::Values { reference, current } => format!(
                "{column} in {} (reference) vs in {} (current)",
                reference.join("|"),
                current.join("|")
            ),
            SplitRule::Threshold { at } => {
                format!("{column} below {at} (reference) vs at or above it (current)")
            }
        }
    }
}

/// The rows of each sample, and the rows left out (a blank, a value that is not a date or a
/// number, a value on neither side), with a few examples.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Split {
    pub column: String,
    pub rule: SplitRule,
    pub description: String,
    pub reference: Vec<usize>,
    pub current: Vec<usize>,
    pub left_out: usize,
    /// Up to five (row, value) pairs left out for a reason other than being on neither side.
    pub unreadable: Vec<(usize, String)>,
}

/// Splits a set's `rows` rows by its metadata column `column`. A side with no rows is an error
/// that names the column and both counts.
pub fn split_by(
    meta: &Metadata,
    rows: usize,
    column: &str,
    rule: &SplitRule,
) -> Result<Split, AnalysisError> {
    let Some(col) = meta.column(column) else {
        let names: Vec<&str> = meta.columns().iter().map(|c| c.name.as_str()).collect();
        return Err(AnalysisError::InvalidParameter(format!(
            "--split-by {column:?}: no such metadata column (the set has {})",
            if names.is_empty() {
                "no metadata columns".to_string()
            } else {
                names.join(", ")
            }
        )));
    };
    enum Side {
        Reference,
        Current,
        Neither,
        Unreadable,
    }
    let cutoff = match rule {
        SplitRule::Before { date } => parse_datetime(date),
        _ => None,
    };
    let side = |v: &str| -> Side {
        let t = v.trim();
        match rule {
            SplitRule::Before { .. } => match (parse_datetime(t), cutoff) {
                (Some(x), Some(c)) if x < c => Side::Reference,
                (Some(_), Some(_)) => Side::Current,
                _ => Side::Unreadable,
            },
            SplitRule::Values { reference, current } => {
                if reference.iter().any(|r| r == t) {
                    Side::Reference
                } else if current.iter().any(|c| c == t) {
                    Side::Current
                } else {
                    Side::Neither
                }
            }
            SplitRule::Threshold { at } => match t.parse::<f64>() {
                Ok(x) if x.is_finite() && x < *at => Side::Reference,
                Ok(x) if x.is_finite() => Side::Current,
                _ => Side::Unreadable,
            },
        }
    };
    let mut out = Split {
        column: column.to_string(),
        rule: rule.clone(),
        description: rule.describe(column),
        reference: Vec::new(),
        current: Vec::new(),
        left_out: 0,
        unreadable: Vec::new(),
    };
    let mut unreadable = 0usize;
    for (row, v) in col.values.iter().take(rows).enumerate() {
        match side(v) {
            Side::Reference => out.reference.push(row),
            Side::Current => out.current.push(row),
            Side::Neither => out.left_out += 1,
            Side::Unreadable => {
                out.left_out += 1;
                unreadable += 1;
                if out.unreadable.len() < 5 {
                    out.unreadable.push((row, v.clone()));
                }
            }
        }
    }
    if out.reference.is_empty() || out.current.is_empty() {
        let why = match rule {
            SplitRule::Before { .. } if unreadable > 0 => {
                format!(", {unreadable} of them blank or not a date")
            }
            SplitRule::Threshold { .. } if unreadable > 0 => {
                format!(", {unreadable} of them blank or not a number")
            }
            _ => String::new(),
        };
        return Err(AnalysisError::InvalidParameter(format!(
            "splitting by {}: the reference has {} rows and the current sample {} ({} rows left \
             out{why}): both need rows",
            out.description,
            out.reference.len(),
            out.current.len(),
            out.left_out
        )));
    }
    Ok(out)
}

/// Whether two sets are in the same space: their encoding records name the same weights
/// (sha256) and model. `Ok(None)` when they agree; `Ok(Some(warning))` when it cannot be
/// checked, or when they differ and `allow_other` says to go on; an error when they differ.
pub fn same_model(
    reference: &Provenance,
    current: &Provenance,
    allow_other: bool,
) -> Result<Option<String>, AnalysisError> {
    let fact = |p: &Provenance, k: &str| p.encoding_fact(k).map(str::to_string);
    let (ra, ca) = (
        fact(reference, "weights_sha256"),
        fact(current, "weights_sha256"),
    );
    let name = |p: &Provenance| {
        fact(p, "model").unwrap_or_else(|| {
            if p.source.is_empty() {
                "an unrecorded model".into()
            } else {
                format!("the model of {}", p.source)
            }
        })
    };
    match (ra, ca) {
        (Some(a), Some(b)) if a == b => Ok(None),
        (Some(a), Some(b)) => {
            let msg = format!(
                "the two sets come from different models: {} (weights sha256 {}) and {} \
                 (weights sha256 {}); their vectors are not in one space",
                name(reference),
                &a[..a.len().min(12)],
                name(current),
                &b[..b.len().min(12)]
            );
            if allow_other {
                Ok(Some(format!(
                    "{msg}: compared anyway, as asked (--allow-other-models)"
                )))
            } else {
                Err(AnalysisError::InvalidParameter(format!(
                    "{msg}. Encode both with one model, or pass --allow-other-models to compare \
                     them anyway"
                )))
            }
        }
        _ => Ok(Some(
            "the encoding records do not name the weights of both sets: that they share a model \
             could not be checked"
                .into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::MetaColumn;

    fn meta(name: &str, values: &[&str]) -> Metadata {
        let mut m = Metadata::new();
        m.push(
            MetaColumn {
                name: name.into(),
                values: values.iter().map(|s| s.to_string()).collect(),
            },
            values.len(),
        )
        .expect("column");
        m
    }

    #[test]
    fn dates_split_before_the_day_and_unreadable_rows_are_left_out_and_counted() {
        let m = meta(
            "date",
            &[
                "2024-06-30",
                "2024-07-01",
                "",
                "2024-07-01T00:00:00+02:00",
                "soon",
                "2023-12-31T23:59Z",
            ],
        );
        let s = split_by(&m, 6, "date", &SplitRule::before("2024-07-01").unwrap()).unwrap();
        // 2024-07-01T00:00+02:00 is 2024-06-30T22:00Z: before the day.
        assert_eq!(s.reference, [0, 3, 5]);
        assert_eq!(s.current, [1]);
        assert_eq!(s.left_out, 2);
        assert_eq!(s.unreadable, [(2, String::new()), (4, "soon".into())]);
        assert!(SplitRule::before("July").is_err());
    }

    #[test]
    fn values_and_thresholds_split_and_an_empty_side_names_the_column_and_counts() {
        let m = meta("source", &["a", "b", "c", "a", "b|x"]);
        let s = split_by(&m, 5, "source", &SplitRule::values("a,b|c").unwrap()).unwrap();
        assert_eq!(
            (s.reference, s.current, s.left_out),
            (vec![0, 3], vec![1, 2], 1)
        );
        assert!(SplitRule::values("a").is_err());
        assert!(SplitRule::values("a,a").is_err());
        assert!(SplitRule::values(",b").is_err());
        let e = split_by(&m, 5, "source", &SplitRule::values("a,z").unwrap()).unwrap_err();
        let e = e.to_string();
        assert!(
            e.contains("source") && e.contains("reference has 2") && e.contains("current sample 0"),
            "{e}"
        );
        let e = split_by(&m, 5, "region", &SplitRule::values("a,b").unwrap()).unwrap_err();
        assert!(e.to_string().contains("region") && e.to_string().contains("source"));

        let m = meta("score", &["1.5", "7", "nan", "3", "", "10"]);
        let s = split_by(&m, 6, "score", &SplitRule::threshold(5.0).unwrap()).unwrap();
        assert_eq!(
            (s.reference, s.current, s.left_out),
            (vec![0, 3], vec![1, 5], 2)
        );
        assert!(SplitRule::threshold(f64::NAN).is_err());
        let e = split_by(&m, 6, "score", &SplitRule::threshold(100.0).unwrap()).unwrap_err();
        assert!(e.to_string().contains("not a number"), "{e}");
    }

    #[test]
    fn two_sets_must_share_their_weights_unless_told() {
        let with = |model: &str, sha: &str| {
            let mut p = Provenance::default();
            p.encoding.insert("model".into(), model.into());
            p.encoding.insert("weights_sha256".into(), sha.into());
            p
        };
        let a = with("/m/minilm", "aaaa1111");
        let b = with("/elsewhere/minilm", "aaaa1111");
        let c = with("/m/mpnet", "bbbb2222");
        assert_eq!(same_model(&a, &b, false), Ok(None));
        let e = same_model(&a, &c, false).unwrap_err().to_string();
        assert!(
            e.contains("/m/mpnet") && e.contains("--allow-other-models"),
            "{e}"
        );
        let w = same_model(&a, &c, true).unwrap().expect("warning");
        assert!(w.contains("compared anyway"), "{w}");
        let w = same_model(&a, &Provenance::default(), false)
            .unwrap()
            .expect("warning");
        assert!(w.contains("could not be checked"), "{w}");
    }
}
