//! RIPA, the relational inner product association (Ethayarajh, Duvenaud and Hirst, 2019), as
//! WEFE 1.0.1 computes it: each word pair (x_i, y_i) gives a relation vector
//! `b_i = (x_i - y_i) / |x_i - y_i|`; a word's RIPA for that pair is the inner product `w . b_i`
//! with the word's vector as stored (not normalised, unless asked: RIPA keeps the norm on
//! purpose); a word's value is the mean over the pairs (with the population standard
//! deviation), and the overall RIPA the mean of the words' values.

use serde::Serialize;

use super::weat::{CaseMode, lowercases};
use crate::analysis::AnalysisError;
use crate::core::EmbeddingSet;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RipaWord {
    pub word: String,
    pub mean: f64,
    pub std: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RipaResult {
    /// Mean of the words' mean RIPA.
    pub ripa: f64,
    /// Per word, in the order given.
    pub words: Vec<RipaWord>,
    pub pairs_used: Vec<(String, String)>,
    pub pairs_missing: Vec<(String, String)>,
    pub words_missing: Vec<String>,
    pub normalized: bool,
}

fn as_f64(v: &[f32], normalize: bool) -> Option<Vec<f64>> {
    let out: Vec<f64> = v.iter().map(|&x| x as f64).collect();
    let n2: f64 = out.iter().map(|x| x * x).sum();
    if !n2.is_finite() || n2 == 0.0 {
        return None;
    }
    if normalize {
        let inv = 1.0 / n2.sqrt();
        Some(out.iter().map(|x| x * inv).collect())
    } else {
        Some(out)
    }
}

/// RIPA of `words` with respect to the relation the `pairs` define.
pub fn ripa(
    set: &EmbeddingSet,
    pairs: &[(String, String)],
    words: &[String],
    case: CaseMode,
    normalize: bool,
) -> Result<RipaResult, AnalysisError> {
    let lower = lowercases(set, case);
    let map = |w: &str| {
        if lower {
            w.to_lowercase()
        } else {
            w.to_string()
        }
    };
    let mut relations = Vec::new();
    let mut pairs_used = Vec::new();
    let mut pairs_missing = Vec::new();
    for (a, b) in pairs {
        let (a, b) = (map(a), map(b));
        match (
            set.vector(&a).and_then(|v| as_f64(v, normalize)),
            set.vector(&b).and_then(|v| as_f64(v, normalize)),
        ) {
            (Some(x), Some(y)) => {
                let d: Vec<f64> = x.iter().zip(&y).map(|(p, q)| p - q).collect();
                let n = d.iter().map(|v| v * v).sum::<f64>().sqrt();
                if n > 0.0 {
                    relations.push(d.iter().map(|v| v / n).collect::<Vec<f64>>());
                    pairs_used.push((a, b));
                } else {
                    pairs_missing.push((a, b));
                }
            }
            _ => pairs_missing.push((a, b)),
        }
    }
    if relations.is_empty() {
        return Err(AnalysisError::InvalidParameter(format!(
            "RIPA needs at least one word pair with both words in the vocabulary (and different \
             vectors); none of the {} pairs has them",
            pairs.len()
        )));
    }
    let mut out = Vec::new();
    let mut words_missing = Vec::new();
    for w in words {
        let w = map(w);
        let Some(v) = set.vector(&w).and_then(|v| as_f64(v, normalize)) else {
            words_missing.push(w);
            continue;
        };
        let scores: Vec<f64> = relations
            .iter()
            .map(|b| b.iter().zip(&v).map(|(p, q)| p * q).sum())
            .collect();
        let n = scores.len() as f64;
        let mean = scores.iter().sum::<f64>() / n;
        let std = (scores.iter().map(|s| (s - mean) * (s - mean)).sum::<f64>() / n).sqrt();
        out.push(RipaWord { word: w, mean, std });
    }
    if out.is_empty() {
        return Err(AnalysisError::InvalidParameter(format!(
            "none of the {} words is in the vocabulary",
            words.len()
        )));
    }
    let ripa = out.iter().map(|w| w.mean).sum::<f64>() / out.len() as f64;
    Ok(RipaResult {
        ripa,
        words: out,
        pairs_used,
        pairs_missing,
        words_missing,
        normalized: normalize,
    })
}
