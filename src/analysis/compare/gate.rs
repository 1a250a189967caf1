//! Release gates: conditions such as `mean_jaccard@10 < 0.6` evaluated on a comparison, so a CI
//! pipeline can stop a model release whose neighbourhoods moved too much.

use std::fmt;

use serde::Serialize;

use super::super::error::AnalysisError;
use super::Comparison;

/// A measure a condition can test.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Measure {
    MeanJaccard(usize),
    MedianJaccard(usize),
    Rbo,
    LinearCka,
    ProcrustesDisparity,
    MeanAlignedCosine,
    MedianAlignedCosine,
    SharedVocab,
    OnlyA,
    OnlyB,
    Excluded,
    DriftScore,
    PairCosineSpearman,
    NormKs,
    PairCosineKs,
    CentroidNormChange,
}

/// The names [`Measure::parse`] accepts (K = a neighbourhood size the comparison computed).
pub const KNOWN: &[&str] = &[
    "mean_jaccard@K",
    "median_jaccard@K",
    "rbo",
    "linear_cka",
    "procrustes_disparity",
    "mean_aligned_cosine",
    "median_aligned_cosine",
    "shared_vocab",
    "only_a",
    "only_b",
    "excluded",
    "drift_score",
    "pair_cosine_spearman",
    "norm_ks",
    "pair_cosine_ks",
    "centroid_norm_change",
];

impl Measure {
    pub fn parse(s: &str) -> Option<Measure> {
        let s = s.trim().to_ascii_lowercase();
        let k_of = |prefix: &str| -> Option<usize> {
            s.strip_prefix(prefix)
                .and_then(|k| k.parse::<usize>().ok())
                .filter(|&k| k > 0)
        };
        if let Some(k) = k_of("mean_jaccard@") {
            return Some(Measure::MeanJaccard(k));
        }
        if let Some(k) = k_of("median_jaccard@") {
            return Some(Measure::MedianJaccard(k));
        }
        Some(match s.as_str() {
            "rbo" | "mean_rbo" => Measure::Rbo,
            "linear_cka" | "cka" => Measure::LinearCka,
            "procrustes_disparity" | "disparity" => Measure::ProcrustesDisparity,
            "mean_aligned_cosine" | "aligned_cosine" => Measure::MeanAlignedCosine,
            "median_aligned_cosine" => Measure::MedianAlignedCosine,
            "shared_vocab" | "shared" => Measure::SharedVocab,
            "only_a" => Measure::OnlyA,
            "only_b" => Measure::OnlyB,
            "excluded" => Measure::Excluded,
            "drift_score" | "drift" => Measure::DriftScore,
            "pair_cosine_spearman" => Measure::PairCosineSpearman,
            "norm_ks" => Measure::NormKs,
            "pair_cosine_ks" => Measure::PairCosineKs,
            "centroid_norm_change" => Measure::CentroidNormChange,
            _ => return None,
        })
    }

    /// The value on a comparison; `None` when it was not computed (a k not asked for).
    pub fn value(&self, c: &Comparison) -> Option<f64> {
        Some(match self {
            Measure::MeanJaccard(k) => c.jaccard_at(*k)?.mean,
            Measure::MedianJaccard(k) => c.jaccard_at(*k)?.median,
            Measure::Rbo => c.rbo.mean,
            Measure::LinearCka => c.linear_cka,
            Measure::ProcrustesDisparity => c.procrustes.disparity,
            Measure::MeanAlignedCosine => c.procrustes.aligned_cosine_mean,
            Measure::MedianAlignedCosine => c.procrustes.aligned_cosine_median,
            Measure::SharedVocab => c.vocab_summary.shared as f64,
            Measure::OnlyA => c.vocab_summary.only_a as f64,
            Measure::OnlyB => c.vocab_summary.only_b as f64,
            Measure::Excluded => c.vocab_summary.excluded as f64,
            Measure::DriftScore => c.drift.drift_score,
            Measure::PairCosineSpearman => c.drift.pair_cosine_spearman,
            Measure::NormKs => c.drift.norm_ks,
            Measure::PairCosineKs => c.drift.pair_cosine_ks,
            Measure::CentroidNormChange => c.drift.centroid_norm_change,
        })
    }

    /// The neighbourhood size a measure needs computed, if any.
    pub fn k(&self) -> Option<usize> {
        match self {
            Measure::MeanJaccard(k) | Measure::MedianJaccard(k) => Some(*k),
            _ => None,
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Measure::MeanJaccard(k) => write!(f, "mean_jaccard@{k}"),
            Measure::MedianJaccard(k) => write!(f, "median_jaccard@{k}"),
            other => {
                let s = match other {
                    Measure::Rbo => "rbo",
                    Measure::LinearCka => "linear_cka",
                    Measure::ProcrustesDisparity => "procrustes_disparity",
                    Measure::MeanAlignedCosine => "mean_aligned_cosine",
                    Measure::MedianAlignedCosine => "median_aligned_cosine",
                    Measure::SharedVocab => "shared_vocab",
                    Measure::OnlyA => "only_a",
                    Measure::OnlyB => "only_b",
                    Measure::Excluded => "excluded",
                    Measure::DriftScore => "drift_score",
                    Measure::PairCosineSpearman => "pair_cosine_spearman",
                    Measure::NormKs => "norm_ks",
                    Measure::PairCosineKs => "pair_cosine_ks",
                    _ => "centroid_norm_change",
                };
                f.write_str(s)
            }
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Op {
    #[serde(rename = "<")]
    Lt,
    #[serde(rename = "<=")]
    Le,
    #[serde(rename = ">")]
    Gt,
    #[serde(rename = ">=")]
    Ge,
    #[serde(rename = "==")]
    Eq,
    #[serde(rename = "!=")]
    Ne,
}

impl Op {
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Eq => "==",
            Op::Ne => "!=",
        }
    }
    pub fn holds(self, x: f64, y: f64) -> bool {
        match self {
            Op::Lt => x < y,
            Op::Le => x <= y,
            Op::Gt => x > y,
            Op::Ge => x >= y,
            Op::Eq => x == y,
            Op::Ne => x != y,
        }
    }
}

/// `MEASURE OP NUMBER`, e.g. `mean_jaccard@10 < 0.6`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Condition {
    pub measure: Measure,
    pub op: Op,
    pub threshold: f64,
    /// The text as given.
    pub text: String,
}

fn usage(text: &str, why: &str) -> AnalysisError {
    AnalysisError::InvalidParameter(format!(
        "--fail-if {text:?}: {why}; expected MEASURE OP NUMBER (OP one of < <= > >= == !=) with \
         MEASURE one of {} (K = a neighbourhood size given with -k)",
        KNOWN.join(", ")
    ))
}

/// `NAME OP NUMBER` split into its parts (the name trimmed; the number finite), or why not.
pub fn split_condition(text: &str) -> Result<(&str, Op, f64), String> {
    // Two-character operators first.
    let ops = [
        ("<=", Op::Le),
        (">=", Op::Ge),
        ("==", Op::Eq),
        ("!=", Op::Ne),
        ("<", Op::Lt),
        (">", Op::Gt),
    ];
    let Some((pos, sym, op)) = ops
        .iter()
        .filter_map(|&(sym, op)| text.find(sym).map(|p| (p, sym, op)))
        .min_by_key(|&(p, sym, _)| (p, std::cmp::Reverse(sym.len())))
    else {
        return Err("no comparison operator".into());
    };
    let (lhs, rhs) = (text[..pos].trim(), text[pos + sym.len()..].trim());
    if lhs.is_empty() {
        return Err("no measure before the operator".into());
    }
    let threshold: f64 = rhs
        .parse()
        .map_err(|_| format!("{rhs:?} is not a number"))?;
    if !threshold.is_finite() {
        return Err("the threshold must be a finite number".into());
    }
    Ok((lhs, op, threshold))
}

impl Condition {
    pub fn parse(text: &str) -> Result<Condition, AnalysisError> {
        let (lhs, op, threshold) = split_condition(text).map_err(|why| usage(text, &why))?;
        let measure =
            Measure::parse(lhs).ok_or_else(|| usage(text, &format!("unknown measure {lhs:?}")))?;
        Ok(Condition {
            measure,
            op,
            threshold,
            text: text.trim().to_string(),
        })
    }

    /// Whether the condition holds on `c`, with the measured value; `None` when the measure
    /// was not computed.
    pub fn check(&self, c: &Comparison) -> Option<(bool, f64)> {
        let v = self.measure.value(c)?;
        Some((self.op.holds(v, self.threshold), v))
    }
}

impl fmt::Display for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}",
            self.measure,
            self.op.symbol(),
            self.threshold
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let c = Condition::parse("mean_jaccard@10 < 0.6").unwrap();
        assert_eq!(c.measure, Measure::MeanJaccard(10));
        assert_eq!(c.op, Op::Lt);
        assert_eq!(c.threshold, 0.6);
        let c = Condition::parse("linear_cka<=0.9").unwrap();
        assert_eq!((c.measure, c.op), (Measure::LinearCka, Op::Le));
        let c = Condition::parse(" only_b >= 1e3 ").unwrap();
        assert_eq!(
            (&c.measure, c.op, c.threshold),
            (&Measure::OnlyB, Op::Ge, 1000.0)
        );
        assert_eq!(c.to_string(), "only_b >= 1000");
        let c = Condition::parse("drift_score != 0").unwrap();
        assert_eq!(c.op, Op::Ne);
    }

    #[test]
    fn malformed_expressions_name_the_known_measures() {
        for bad in [
            "mean_jaccard@10",
            "< 0.6",
            "jaccard < 0.6",
            "mean_jaccard@x < 0.6",
            "mean_jaccard@0 < 0.6",
            "rbo < high",
            "rbo < NaN",
            "rbo <",
        ] {
            let e = Condition::parse(bad).unwrap_err().to_string();
            assert!(
                e.contains("mean_jaccard@K") && e.contains("linear_cka"),
                "{bad}: {e}"
            );
            assert!(
                e.contains(bad.trim()) || e.contains(&format!("{bad:?}")),
                "{bad}: {e}"
            );
        }
    }
}
