//! What each cluster is about, for lists and map labels: documents by the class-based TF-IDF
//! keywords of their text; words by the cluster's first words (most frequent first in
//! frequency-sorted files). One function for the `cluster` command, the app and exports.

use std::collections::HashMap;

use super::keywords::{ClusterKeywords, KeywordParams, NoiseMode, cluster_keywords};
use crate::analysis::AnalysisError;
use crate::core::{EmbeddingSet, MetaColumn, RowKind};

/// One cluster: its label (below zero: noise), size, keywords with scores (words: score 1),
/// and a short name (the first three keywords; "noise" for noise).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ClusterSummary {
    pub id: i32,
    pub size: usize,
    pub keywords: Vec<(String, f32)>,
    pub label: String,
}

/// The text a set's clusters are described by: `column` when named, else the set's text
/// column for documents and occurrences, else none (words are named by themselves).
pub fn text_for<'a>(
    set: &'a EmbeddingSet,
    column: Option<&str>,
) -> Result<Option<&'a MetaColumn>, AnalysisError> {
    match column {
        Some(name) => set.metadata.column(name).map(Some).ok_or_else(|| {
            let names: Vec<&str> = set
                .metadata
                .columns()
                .iter()
                .map(|c| c.name.as_str())
                .collect();
            AnalysisError::InvalidParameter(format!(
                "no column {name:?} (the set has: {})",
                if names.is_empty() {
                    "none".to_string()
                } else {
                    names.join(", ")
                }
            ))
        }),
        None if set.row_kind() != RowKind::Words => Ok(set.text_column()),
        None => Ok(None),
    }
}

/// Summaries of every label in `labels` (noise included, first), in ascending label order.
/// `rows[i]` is the set row with label `labels[i]`.
pub fn summarise(
    set: &EmbeddingSet,
    text: Option<&MetaColumn>,
    rows: &[usize],
    labels: &[i32],
    params: &KeywordParams,
) -> Result<Vec<ClusterSummary>, AnalysisError> {
    if rows.len() != labels.len() {
        return Err(AnalysisError::InvalidParameter(format!(
            "{} labels for {} rows",
            labels.len(),
            rows.len()
        )));
    }
    if let Some(&r) = rows.iter().find(|&&r| r >= set.rows()) {
        return Err(AnalysisError::InvalidParameter(format!(
            "row {r} is not in the set ({} rows)",
            set.rows()
        )));
    }
    let mut sizes: HashMap<i32, usize> = HashMap::new();
    for &l in labels {
        *sizes.entry(l).or_default() += 1;
    }
    let mut ids: Vec<i32> = sizes.keys().copied().collect();
    ids.sort_unstable();
    let name = |id: i32, kw: &[(String, f32)]| {
        if id < 0 {
            "noise".to_string()
        } else {
            kw.iter()
                .take(3)
                .map(|(w, _)| w.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        }
    };
    if let Some(col) = text {
        let texts: Vec<&str> = rows.iter().map(|&r| col.values[r].as_str()).collect();
        let params = KeywordParams {
            noise: NoiseMode::Exclude,
            ..params.clone()
        };
        let kw: Vec<ClusterKeywords> = cluster_keywords(&texts, labels, &params)?;
        let mut by_id: HashMap<i32, Vec<(String, f32)>> =
            kw.into_iter().map(|k| (k.cluster, k.keywords)).collect();
        return Ok(ids
            .iter()
            .map(|&id| {
                let keywords = by_id.remove(&id).unwrap_or_default();
                ClusterSummary {
                    id,
                    size: sizes[&id],
                    label: name(id, &keywords),
                    keywords,
                }
            })
            .collect());
    }
    let mut first: HashMap<i32, Vec<(String, f32)>> = HashMap::new();
    for (&r, &l) in rows.iter().zip(labels) {
        let v = first.entry(l).or_default();
        if v.len() < params.top_n.max(1) {
            v.push((set.vocab.token(r).to_string(), 1.0));
        }
    }
    Ok(ids
        .iter()
        .map(|&id| {
            let keywords = first.remove(&id).unwrap_or_default();
            ClusterSummary {
                id,
                size: sizes[&id],
                label: name(id, &keywords),
                keywords,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Matrix, Metadata, Provenance, Vocab};

    fn set(texts: Option<&[&str]>) -> EmbeddingSet {
        let n = 4;
        let mut meta = Metadata::new();
        if let Some(t) = texts {
            meta.push(
                MetaColumn {
                    name: "text".into(),
                    values: t.iter().map(|s| s.to_string()).collect(),
                },
                n,
            )
            .unwrap();
        }
        EmbeddingSet::new(
            Vocab::from_unique(["cat", "dog", "kitten", "puppy"]).unwrap(),
            Matrix::from_vec(n, 1, vec![1.0; n]).unwrap(),
            meta,
            Provenance::default(),
        )
        .unwrap()
    }

    #[test]
    fn documents_by_keywords_words_by_themselves() {
        let s = set(Some(&[
            "cats purr cats",
            "dogs bark",
            "cats sleep",
            "the weather",
        ]));
        let text = text_for(&s, None).unwrap();
        assert!(text.is_some());
        let out = summarise(
            &s,
            text,
            &[0, 1, 2, 3],
            &[0, 1, 0, -1],
            &KeywordParams::default(),
        )
        .unwrap();
        assert_eq!(out.iter().map(|c| c.id).collect::<Vec<_>>(), [-1, 0, 1]);
        assert_eq!(out[0].label, "noise");
        assert_eq!(out[1].size, 2);
        assert_eq!(out[1].keywords[0].0, "cats");
        assert!(out[2].label.starts_with("bark") || out[2].label.starts_with("dogs"));
        let w = set(None);
        assert!(text_for(&w, None).unwrap().is_none());
        let out = summarise(
            &w,
            None,
            &[0, 1, 2, 3],
            &[0, 1, 0, 1],
            &KeywordParams::default(),
        )
        .unwrap();
        assert_eq!(out[0].label, "cat, kitten");
        assert_eq!(out[1].label, "dog, puppy");
        assert!(text_for(&w, Some("body")).is_err());
        assert!(summarise(&w, None, &[0, 9], &[0, 0], &KeywordParams::default()).is_err());
        assert!(summarise(&w, None, &[0], &[0, 0], &KeywordParams::default()).is_err());
    }
}
