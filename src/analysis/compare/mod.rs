//! Comparing versions of an embedding model, word by word.
//!
//! [`compare`] matches the vocabularies (exact tokens, or lowercase forms with `lowercase`),
//! leaves out rows that cannot be compared (NaN/Inf/zero, reported), and on the shared words
//! computes: neighbour overlap (Jaccard@k for each k, rank-biased overlap), linear CKA,
//! orthogonal Procrustes (disparity and per-word aligned cosine), and drift of the norm and
//! pairwise-similarity distributions. Per-word values rank the most and least changed words.
//!
//! Conventions (also in `tests/fixtures/compare/README.md`, whose numbers come from numpy /
//! scipy): shared words are in A's row order; neighbours are the top k by cosine among the
//! shared words of the same side, the word itself excluded, ties broken by the lower index in
//! that order; Jaccard@k = |N_A & N_B| / |N_A | N_B|; RBO is the extrapolated RBO of the two
//! top-k lists at the smallest k with p = 0.9; means and medians are over all shared words.

pub mod align;
pub mod drift;
pub mod gate;
pub mod layout;
pub mod neighbours;
pub mod vocab;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use serde::Serialize;

use super::error::AnalysisError;
use crate::core::{EmbeddingSet, IntegrityReport, RowKind, RowScan};
pub use align::{Alignment, ProcrustesSummary, Reduced};
pub use drift::{Drift, SideDrift};
pub use gate::{Condition, Measure};
pub use layout::{
    AlignedLayouts, SharedWords, UmapLayouts, aligned_layouts, aligned_layouts_of,
    aligned_umap_layouts, shared_words,
};
pub use neighbours::NeighbourLists;
pub use vocab::{Excluded, OnlyToken, VocabMatch, VocabSummary};

/// Which shared words the Procrustes alignment is fitted on.
#[derive(Debug, Clone, PartialEq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Anchors {
    /// Every shared word.
    #[default]
    All,
    /// The n most frequent shared words (by A's counts where the file has them, else A's row
    /// order, which word2vec / GloVe / fastText files sort by frequency).
    MostFrequent(usize),
    /// A chosen list of words (those not shared are counted and ignored).
    Tokens(Vec<String>),
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CompareOptions {
    /// Neighbourhood sizes for Jaccard@k (sorted, distinct; the smallest is the RBO depth and
    /// the primary k of the per-word ranking).
    pub ks: Vec<usize>,
    /// Match tokens by their lowercase form (the first case variant of each side kept).
    pub lowercase: bool,
    pub anchors: Anchors,
    /// RBO persistence.
    pub rbo_p: f64,
    /// Word pairs sampled for the drift statistics, and their seed.
    pub drift_pairs: usize,
    pub seed: u64,
    /// Length of the most/least changed lists.
    pub top: usize,
    /// Only words up to this frequency rank in the ranked lists (None = all).
    pub max_rank: Option<usize>,
}

impl Default for CompareOptions {
    fn default() -> Self {
        CompareOptions {
            ks: vec![10, 50],
            lowercase: false,
            anchors: Anchors::All,
            rbo_p: 0.9,
            drift_pairs: 20_000,
            seed: 0,
            top: 20,
            max_rank: None,
        }
    }
}

/// Jaccard@k over the shared words.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct JaccardStats {
    pub k: usize,
    pub mean: f64,
    pub median: f64,
    /// Words by overlap count |N_A & N_B| = 0..=k.
    pub overlap_histogram: Vec<u64>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct RboStats {
    pub p: f64,
    pub depth: usize,
    pub mean: f64,
    pub median: f64,
}

/// Seconds spent in each step.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Timing {
    pub vocab: f64,
    pub neighbours: f64,
    pub overlap: f64,
    pub gram: f64,
    pub procrustes: f64,
    pub drift: f64,
    pub total: f64,
}

/// One word's change, for ranked lists.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WordChange {
    pub token: String,
    /// A document's text (one line, cut), when the versions' rows are documents.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Frequency rank in A (1 = most frequent).
    pub rank: u32,
    /// `jaccard_at_K` for each k.
    #[serde(flatten)]
    pub jaccard: BTreeMap<String, f64>,
    pub rbo: f64,
    pub aligned_cosine: f64,
}

/// What a ranked list is ordered by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RankBy {
    /// 1 - Jaccard at the smallest k (ties: A's order, i.e. more frequent first).
    Neighbourhood,
    /// 1 - aligned cosine (ties: A's order).
    Displacement,
}

/// A neighbour in one side's list, marked when the other side's list has it too.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SideNeighbour {
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub similarity: f64,
    pub shared: bool,
}

/// One word's neighbours in A and in B, side by side.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WordDetail {
    pub token: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    pub rank: u32,
    pub k: usize,
    pub jaccard: f64,
    pub aligned_cosine: f64,
    pub a: Vec<SideNeighbour>,
    pub b: Vec<SideNeighbour>,
}

/// The comparison of two versions.
#[derive(Debug, Clone)]
pub struct Comparison {
    pub options: CompareOptions,
    pub vocab: VocabMatch,
    pub vocab_summary: VocabSummary,
    pub integrity_a: IntegrityReport,
    pub integrity_b: IntegrityReport,
    pub jaccard: Vec<JaccardStats>,
    pub rbo: RboStats,
    pub linear_cka: f64,
    pub procrustes: ProcrustesSummary,
    pub alignment: Alignment,
    pub drift: Drift,
    /// Frequency rank in A of each shared word (1-based).
    pub rank: Vec<u32>,
    /// Per-word Jaccard, one vector per k (same order as `jaccard`).
    pub word_jaccard: Vec<Vec<f64>>,
    pub word_rbo: Vec<f64>,
    pub word_aligned_cosine: Vec<f64>,
    /// Top-k lists (largest k) of each side, indices into the shared list.
    pub neighbours_a: NeighbourLists,
    pub neighbours_b: NeighbourLists,
    pub timing: Timing,
    /// Shared token -> its index in `vocab.tokens`.
    token_index: hashbrown::HashMap<String, usize>,
    /// Each shared row's text on one line (from A), when the rows are documents.
    pub texts: Option<Vec<String>>,
}

/// Characters of a document's text kept with a comparison (for its ranked lists).
pub const TEXT_CHARS: usize = 160;

fn secs(t: Instant) -> f64 {
    t.elapsed().as_secs_f64()
}

/// Frequency ranks (1-based) of A's rows: by counts when the file has them (ties by row), else
/// by row order.
fn ranks_of(a: &EmbeddingSet) -> Vec<u32> {
    let n = a.rows();
    match a.vocab.counts() {
        Some(c) if c.len() == n => {
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&x, &y| c[y].cmp(&c[x]).then(x.cmp(&y)));
            let mut rank = vec![0u32; n];
            for (r, &i) in order.iter().enumerate() {
                rank[i] = r as u32 + 1;
            }
            rank
        }
        _ => (1..=n as u32).collect(),
    }
}

fn checked_ks(ks: &[usize], shared: usize) -> Result<Vec<usize>, AnalysisError> {
    let mut ks = ks.to_vec();
    ks.sort_unstable();
    ks.dedup();
    if ks.is_empty() {
        return Err(AnalysisError::InvalidParameter(
            "no neighbourhood size k given".into(),
        ));
    }
    if ks[0] == 0 {
        return Err(AnalysisError::ZeroK);
    }
    if let Some(&k) = ks.iter().find(|&&k| k >= shared) {
        return Err(AnalysisError::InvalidParameter(format!(
            "k = {k} is not smaller than the shared vocabulary ({shared} words): neighbour \
             overlap needs k < shared words (choose a smaller -k)"
        )));
    }
    Ok(ks)
}

/// Compares `a` (the reference version) with `b`.
pub fn compare(
    a: &EmbeddingSet,
    b: &EmbeddingSet,
    options: &CompareOptions,
    cancel: Option<&AtomicBool>,
) -> Result<Comparison, AnalysisError> {
    let start = Instant::now();
    let cancelled = || cancel.is_some_and(|c| c.load(Ordering::Relaxed));
    let mut timing = Timing::default();
    let t = Instant::now();
    let (scan_a, scan_b) = rayon::join(|| RowScan::new(&a.matrix), || RowScan::new(&b.matrix));
    let vm = vocab::match_vocab(a, &scan_a, b, &scan_b, options.lowercase);
    let summary = vm.summary(a, b, options.lowercase);
    timing.vocab = secs(t);
    let n = vm.tokens.len();
    if n == 0 {
        return Err(AnalysisError::InvalidParameter(format!(
            "the two versions share no tokens ({} in A, {} in B{}{}); nothing to compare{}",
            a.rows(),
            b.rows(),
            if vm.excluded.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} shared tokens have NaN/Inf/zero vectors",
                    vm.excluded.len()
                )
            },
            if options.lowercase {
                ", lowercase matching on"
            } else {
                ""
            },
            if options.lowercase {
                ""
            } else {
                " (try --lowercase if they differ in case)"
            },
        )));
    }
    let ks = checked_ks(&options.ks, n)?;
    let kmax = *ks.last().unwrap_or(&ks[0]);
    let t = Instant::now();
    // One side after the other: each search already uses every thread.
    let na = neighbours::shared_neighbours(a, &vm.rows_a, &vm.tokens, kmax, cancel)?;
    let nb = neighbours::shared_neighbours(b, &vm.rows_b, &vm.tokens, kmax, cancel)?;
    timing.neighbours = secs(t);
    if cancelled() {
        return Err(AnalysisError::Cancelled);
    }
    let t = Instant::now();
    let mut jaccard = Vec::with_capacity(ks.len());
    let mut word_jaccard = Vec::with_capacity(ks.len());
    for &k in &ks {
        let mut hist = vec![0u64; k + 1];
        let per: Vec<f64> = (0..n)
            .map(|i| {
                let o = neighbours::overlap(&na.of(i)[..k], &nb.of(i)[..k]);
                hist[o] += 1;
                neighbours::jaccard(o, k)
            })
            .collect();
        jaccard.push(JaccardStats {
            k,
            mean: per.iter().sum::<f64>() / n as f64,
            median: align::median(&per),
            overlap_histogram: hist,
        });
        word_jaccard.push(per);
    }
    let depth = ks[0];
    let word_rbo: Vec<f64> = (0..n)
        .map(|i| neighbours::rbo_ext(&na.of(i)[..depth], &nb.of(i)[..depth], options.rbo_p))
        .collect();
    let rbo = RboStats {
        p: options.rbo_p,
        depth,
        mean: word_rbo.iter().sum::<f64>() / n as f64,
        median: align::median(&word_rbo),
    };
    timing.overlap = secs(t);

    let rank_all = ranks_of(a);
    let rank: Vec<u32> = vm.rows_a.iter().map(|&r| rank_all[r]).collect();
    let anchor_idx: Vec<usize> = match &options.anchors {
        Anchors::All => (0..n).collect(),
        Anchors::MostFrequent(m) => {
            let mut idx: Vec<usize> = (0..n).collect();
            idx.sort_by_key(|&i| (rank[i], i));
            idx.truncate((*m).min(n));
            idx.sort_unstable();
            idx
        }
        Anchors::Tokens(list) => {
            let pos: hashbrown::HashMap<&str, usize> = vm
                .tokens
                .iter()
                .enumerate()
                .map(|(i, t)| (t.as_str(), i))
                .collect();
            let mut idx: Vec<usize> = list
                .iter()
                .filter_map(|t| {
                    let key = if options.lowercase {
                        t.to_lowercase()
                    } else {
                        t.clone()
                    };
                    pos.get(key.as_str()).copied()
                })
                .collect();
            idx.sort_unstable();
            idx.dedup();
            idx
        }
    };
    if anchor_idx.len() < 2 {
        return Err(AnalysisError::InvalidParameter(format!(
            "the alignment needs at least 2 shared anchor words, found {}",
            anchor_idx.len()
        )));
    }
    let t = Instant::now();
    let gram_all = align::Gram::new(&a.matrix, &vm.rows_a, &b.matrix, &vm.rows_b);
    let linear_cka = align::linear_cka(&gram_all).unwrap_or(f64::NAN);
    let gram_fit = if anchor_idx.len() == n {
        None
    } else {
        let ra: Vec<usize> = anchor_idx.iter().map(|&i| vm.rows_a[i]).collect();
        let rb: Vec<usize> = anchor_idx.iter().map(|&i| vm.rows_b[i]).collect();
        Some(align::Gram::new(&a.matrix, &ra, &b.matrix, &rb))
    };
    timing.gram = secs(t);
    let t = Instant::now();
    let alignment = align::procrustes(gram_fit.as_ref().unwrap_or(&gram_all))?;
    let word_aligned_cosine =
        alignment.aligned_cosines(&a.matrix, &vm.rows_a, &b.matrix, &vm.rows_b);
    let s = alignment.sum_singular_values();
    let procrustes = ProcrustesSummary {
        method: procrustes_method(&alignment, anchor_idx.len(), n),
        dim_a: a.dim(),
        dim_b: b.dim(),
        aligned_dim: alignment.dim,
        reduced: alignment.reduced,
        pca_variance_kept: (alignment.reduced != Reduced::None).then_some(alignment.variance_kept),
        anchors: anchor_idx.len(),
        disparity: alignment.disparity(),
        sum_singular_values: s,
        orthogonal_residual: 2.0 - 2.0 * s,
        aligned_cosine_mean: word_aligned_cosine.iter().sum::<f64>() / n as f64,
        aligned_cosine_median: align::median(&word_aligned_cosine),
    };
    timing.procrustes = secs(t);
    let t = Instant::now();
    let pairs = drift::sample_pairs(n, options.drift_pairs, options.seed);
    let drift = drift::drift(&a.matrix, &vm.rows_a, &b.matrix, &vm.rows_b, &pairs);
    timing.drift = secs(t);
    timing.total = secs(start);
    let token_index = vm
        .tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i))
        .collect();
    let texts = (a.row_kind() != RowKind::Words).then(|| {
        vm.rows_a
            .iter()
            .map(|&r| a.row_label(r, TEXT_CHARS))
            .collect()
    });
    Ok(Comparison {
        token_index,
        texts,
        options: CompareOptions {
            ks,
            ..options.clone()
        },
        vocab_summary: summary,
        integrity_a: IntegrityReport::new(a, &scan_a),
        integrity_b: IntegrityReport::new(b, &scan_b),
        vocab: vm,
        jaccard,
        rbo,
        linear_cka,
        procrustes,
        alignment,
        drift,
        rank,
        word_jaccard,
        word_rbo,
        word_aligned_cosine,
        neighbours_a: na,
        neighbours_b: nb,
        timing,
    })
}

fn procrustes_method(al: &Alignment, anchors: usize, n: usize) -> String {
    let fit = if anchors == n {
        "all shared words".to_string()
    } else {
        format!("{anchors} anchor words of {n} shared")
    };
    let dims = match al.reduced {
        Reduced::None => String::new(),
        Reduced::A => format!(
            "; A ({}d) reduced by PCA to {}d ({:.1}% of its variance kept) and rescaled",
            al.dim_a,
            al.dim,
            100.0 * al.variance_kept
        ),
        Reduced::B => format!(
            "; B ({}d) reduced by PCA to {}d ({:.1}% of its variance kept) and rescaled",
            al.dim_b,
            al.dim,
            100.0 * al.variance_kept
        ),
    };
    format!(
        "orthogonal Procrustes fitted on {fit}; both sides centred and scaled to unit Frobenius \
         norm{dims}; disparity = 1 - (sum of singular values)^2"
    )
}

impl Comparison {
    pub fn shared(&self) -> usize {
        self.vocab.tokens.len()
    }

    /// The smallest k (the primary one).
    pub fn k(&self) -> usize {
        self.jaccard.first().map_or(0, |j| j.k)
    }

    pub fn jaccard_at(&self, k: usize) -> Option<&JaccardStats> {
        self.jaccard.iter().find(|j| j.k == k)
    }

    /// Index of a token in the shared list (its lowercase form under `lowercase`).
    pub fn index_of(&self, token: &str) -> Option<usize> {
        if self.options.lowercase {
            self.token_index.get(token.to_lowercase().as_str()).copied()
        } else {
            self.token_index.get(token).copied()
        }
    }

    /// Shared row `i`'s text, when the rows are documents.
    pub fn text(&self, i: usize) -> Option<String> {
        self.texts.as_ref().and_then(|t| t.get(i)).cloned()
    }

    pub fn word(&self, i: usize) -> WordChange {
        WordChange {
            token: self.vocab.tokens[i].clone(),
            text: self.text(i),
            rank: self.rank[i],
            jaccard: self
                .jaccard
                .iter()
                .zip(&self.word_jaccard)
                .map(|(j, v)| (format!("jaccard_at_{}", j.k), v[i]))
                .collect(),
            rbo: self.word_rbo[i],
            aligned_cosine: self.word_aligned_cosine[i],
        }
    }

    /// Shared-word indices ordered by change (`most`: most changed first), limited to words of
    /// frequency rank <= `max_rank`. Ties keep A's order.
    pub fn ranked(&self, by: RankBy, most: bool, max_rank: Option<usize>) -> Vec<usize> {
        let key: &[f64] = match by {
            RankBy::Neighbourhood => &self.word_jaccard[0],
            RankBy::Displacement => &self.word_aligned_cosine,
        };
        let mut idx: Vec<usize> = (0..self.shared())
            .filter(|&i| max_rank.is_none_or(|m| self.rank[i] as usize <= m))
            .collect();
        idx.sort_by(|&x, &y| {
            let o = key[x].total_cmp(&key[y]);
            (if most { o } else { o.reverse() }).then(x.cmp(&y))
        });
        idx
    }

    /// The `n` most (or least) changed words.
    pub fn top_changes(&self, by: RankBy, most: bool, n: usize) -> Vec<WordChange> {
        self.ranked(by, most, self.options.max_rank)
            .into_iter()
            .take(n)
            .map(|i| self.word(i))
            .collect()
    }

    /// One word's top-k neighbours in A and in B, shared ones marked.
    pub fn detail(&self, token: &str, k: usize) -> Result<WordDetail, AnalysisError> {
        let i = self
            .index_of(token)
            .ok_or_else(|| AnalysisError::UnknownToken(token.to_string()))?;
        let k = k.min(self.neighbours_a.k);
        let (la, lb) = (&self.neighbours_a.of(i)[..k], &self.neighbours_b.of(i)[..k]);
        let side = |l: &[u32], sims: &[f64], other: &[u32]| {
            l.iter()
                .zip(sims)
                .map(|(&j, &s)| SideNeighbour {
                    token: self.vocab.tokens[j as usize].clone(),
                    text: self.text(j as usize),
                    similarity: s,
                    shared: other.contains(&j),
                })
                .collect()
        };
        Ok(WordDetail {
            token: self.vocab.tokens[i].clone(),
            text: self.text(i),
            rank: self.rank[i],
            k,
            jaccard: neighbours::jaccard(neighbours::overlap(la, lb), k),
            aligned_cosine: self.word_aligned_cosine[i],
            a: side(la, &self.neighbours_a.sims(i)[..k], lb),
            b: side(lb, &self.neighbours_b.sims(i)[..k], la),
        })
    }
}

#[cfg(test)]
mod tests;
