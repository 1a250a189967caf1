//! Matching the vocabularies of two versions: shared tokens (in A's order), tokens only in one
//! side (with counts where the file has them), rows left out because their vector cannot be
//! compared (NaN/Inf or all zero), and case variants merged under `--lowercase`.

use hashbrown::HashMap;
use serde::Serialize;

use crate::core::{EmbeddingSet, RowScan};

/// How many example tokens a list in the report keeps (the full lists stay in [`VocabMatch`]).
pub const EXAMPLES: usize = 50;

/// One side's rows as the comparison sees them.
#[derive(Debug, Clone)]
struct Side {
    /// Key (token, or its lowercase form) -> row, first row kept.
    keys: Vec<(String, usize)>,
    /// Rows merged into an earlier case variant (`--lowercase`): (token, kept token).
    merged: Vec<(String, String)>,
    /// Rows whose vector is NaN/Inf or all zero.
    unusable: Vec<bool>,
}

fn side(set: &EmbeddingSet, scan: &RowScan, lowercase: bool) -> Side {
    let n = set.rows();
    let mut unusable = vec![false; n];
    for &r in scan
        .nan_rows
        .iter()
        .chain(&scan.inf_rows)
        .chain(&scan.zero_rows)
    {
        unusable[r as usize] = true;
    }
    let mut keys = Vec::with_capacity(n);
    let mut merged = Vec::new();
    if lowercase {
        let mut seen: HashMap<String, usize> = HashMap::with_capacity(n);
        for (i, t) in set.vocab.iter().enumerate() {
            let key = t.to_lowercase();
            if let Some(&first) = seen.get(&key) {
                merged.push((t.to_string(), set.vocab.token(first).to_string()));
            } else {
                seen.insert(key.clone(), i);
                keys.push((key, i));
            }
        }
    } else {
        keys.extend(
            set.vocab
                .iter()
                .enumerate()
                .map(|(i, t)| (t.to_string(), i)),
        );
    }
    Side {
        keys,
        merged,
        unusable,
    }
}

/// A token present in one side only.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct OnlyToken {
    pub token: String,
    /// The frequency count from the file, where it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
}

/// A shared token left out of the comparison because one side's vector is unusable.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Excluded {
    pub token: String,
    /// "a", "b" or "both".
    pub side: &'static str,
    /// What is wrong: "NaN/Inf or zero vector".
    pub reason: &'static str,
}

/// The vocabulary match of two sets.
#[derive(Debug, Clone)]
pub struct VocabMatch {
    /// Shared tokens in A's row order (the lowercase key under `--lowercase`).
    pub tokens: Vec<String>,
    /// Row of each shared token in A and in B.
    pub rows_a: Vec<usize>,
    pub rows_b: Vec<usize>,
    pub only_a: Vec<OnlyToken>,
    pub only_b: Vec<OnlyToken>,
    pub excluded: Vec<Excluded>,
    /// Case variants merged into the first one seen (`--lowercase`), per side.
    pub merged_a: Vec<(String, String)>,
    pub merged_b: Vec<(String, String)>,
}

/// Counts and examples of a [`VocabMatch`], for reports.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct VocabSummary {
    pub rows_a: usize,
    pub rows_b: usize,
    /// Tokens in both sides whose vectors are usable on both: what every measure is computed on.
    pub shared: usize,
    pub only_a: usize,
    pub only_b: usize,
    /// Tokens in both sides left out because a vector is NaN/Inf or zero.
    pub excluded: usize,
    pub merged_case_variants_a: usize,
    pub merged_case_variants_b: usize,
    pub lowercase: bool,
    pub only_a_examples: Vec<OnlyToken>,
    pub only_b_examples: Vec<OnlyToken>,
    pub excluded_examples: Vec<Excluded>,
}

fn count_of(set: &EmbeddingSet, row: usize) -> Option<u64> {
    set.vocab.counts().and_then(|c| c.get(row).copied())
}

/// Matches the tokens of `a` and `b` (exactly, or by lowercase form keeping each side's first
/// variant).
pub fn match_vocab(
    a: &EmbeddingSet,
    scan_a: &RowScan,
    b: &EmbeddingSet,
    scan_b: &RowScan,
    lowercase: bool,
) -> VocabMatch {
    let sa = side(a, scan_a, lowercase);
    let sb = side(b, scan_b, lowercase);
    let b_index: HashMap<&str, usize> = sb.keys.iter().map(|(k, r)| (k.as_str(), *r)).collect();
    let mut in_a: HashMap<&str, ()> = HashMap::with_capacity(sa.keys.len());
    let mut m = VocabMatch {
        tokens: Vec::new(),
        rows_a: Vec::new(),
        rows_b: Vec::new(),
        only_a: Vec::new(),
        only_b: Vec::new(),
        excluded: Vec::new(),
        merged_a: sa.merged.clone(),
        merged_b: sb.merged.clone(),
    };
    for (key, ra) in &sa.keys {
        in_a.insert(key.as_str(), ());
        match b_index.get(key.as_str()) {
            Some(&rb) => {
                let (ua, ub) = (sa.unusable[*ra], sb.unusable[rb]);
                if ua || ub {
                    m.excluded.push(Excluded {
                        token: key.clone(),
                        side: match (ua, ub) {
                            (true, true) => "both",
                            (true, false) => "a",
                            _ => "b",
                        },
                        reason: "NaN/Inf or zero vector",
                    });
                } else {
                    m.tokens.push(key.clone());
                    m.rows_a.push(*ra);
                    m.rows_b.push(rb);
                }
            }
            None => m.only_a.push(OnlyToken {
                token: key.clone(),
                count: count_of(a, *ra),
            }),
        }
    }
    for (key, rb) in &sb.keys {
        if !in_a.contains_key(key.as_str()) {
            m.only_b.push(OnlyToken {
                token: key.clone(),
                count: count_of(b, *rb),
            });
        }
    }
    m
}

impl VocabMatch {
    pub fn summary(&self, a: &EmbeddingSet, b: &EmbeddingSet, lowercase: bool) -> VocabSummary {
        VocabSummary {
            rows_a: a.rows(),
            rows_b: b.rows(),
            shared: self.tokens.len(),
            only_a: self.only_a.len(),
            only_b: self.only_b.len(),
            excluded: self.excluded.len(),
            merged_case_variants_a: self.merged_a.len(),
            merged_case_variants_b: self.merged_b.len(),
            lowercase,
            only_a_examples: self.only_a.iter().take(EXAMPLES).cloned().collect(),
            only_b_examples: self.only_b.iter().take(EXAMPLES).cloned().collect(),
            excluded_examples: self.excluded.iter().take(EXAMPLES).cloned().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::{Matrix, Metadata, Provenance, Vocab};

    fn set(tokens: &[&str], rows: &[[f32; 2]]) -> EmbeddingSet {
        let data: Vec<f32> = rows.iter().flatten().copied().collect();
        EmbeddingSet::new(
            Vocab::from_unique(tokens.iter().copied()).unwrap(),
            Matrix::from_vec(rows.len(), 2, data).unwrap(),
            Metadata::default(),
            Provenance::default(),
        )
        .unwrap()
    }

    #[test]
    fn shared_in_a_order_with_only_and_excluded() {
        let a = set(
            &["x", "y", "z", "w", "n"],
            &[[1., 0.], [0., 1.], [1., 1.], [2., 1.], [f32::NAN, 0.]],
        );
        let b = set(
            &["n", "w", "q", "y", "x"],
            &[[1., 0.], [0., 0.], [1., 1.], [2., 1.], [3., 0.]],
        );
        let m = match_vocab(
            &a,
            &RowScan::new(&a.matrix),
            &b,
            &RowScan::new(&b.matrix),
            false,
        );
        assert_eq!(m.tokens, ["x", "y"]);
        assert_eq!(m.rows_a, [0, 1]);
        assert_eq!(m.rows_b, [4, 3]);
        assert_eq!(
            m.only_a
                .iter()
                .map(|t| t.token.as_str())
                .collect::<Vec<_>>(),
            ["z"]
        );
        assert_eq!(
            m.only_b
                .iter()
                .map(|t| t.token.as_str())
                .collect::<Vec<_>>(),
            ["q"]
        );
        // w is zero in B, n is NaN in A.
        assert_eq!(
            m.excluded
                .iter()
                .map(|e| (e.token.as_str(), e.side))
                .collect::<Vec<_>>(),
            [("w", "b"), ("n", "a")]
        );
    }

    #[test]
    fn lowercase_merges_case_variants_first_kept() {
        let a = set(&["Apple", "apple", "Pear"], &[[1., 0.], [0., 1.], [1., 1.]]);
        let b = set(&["apple", "pear"], &[[1., 0.], [0., 1.]]);
        let exact = match_vocab(
            &a,
            &RowScan::new(&a.matrix),
            &b,
            &RowScan::new(&b.matrix),
            false,
        );
        assert_eq!(exact.tokens, ["apple"]);
        let m = match_vocab(
            &a,
            &RowScan::new(&a.matrix),
            &b,
            &RowScan::new(&b.matrix),
            true,
        );
        assert_eq!(m.tokens, ["apple", "pear"]);
        assert_eq!(m.rows_a, [0, 2]); // "Apple" (row 0) kept, "apple" merged into it
        assert_eq!(m.merged_a, [("apple".to_string(), "Apple".to_string())]);
        assert!(m.only_a.is_empty() && m.only_b.is_empty());
    }
}
