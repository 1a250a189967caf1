//! Versions of a model: aligned maps first (sent as a partial [`CompareLayouts`]), then each
//! version compared with the next, and the tokenizer diff of pairs encoded from one corpus by
//! two model folders.

use std::sync::Arc;
use std::time::Instant;

use crate::analysis::compare::{self, AlignedLayouts, CompareOptions, Comparison};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::encode;
use crate::engine::worker::{Job, JobContext};
use crate::formats::corpus::CorpusOptions;
use crate::model::tokdiff::{self, TokenizerDiff};

#[derive(Debug, Clone)]
pub struct Compare {
    pub sets: Vec<Arc<EmbeddingSet>>,
    pub options: CompareOptions,
}

/// A comparison's aligned maps, ready before its statistics.
#[derive(Debug, Clone)]
pub struct CompareLayouts {
    pub layouts: Arc<AlignedLayouts>,
    pub seconds: f64,
}

/// Each version compared with the next, and the tokenizer diff of each pair that was encoded
/// from the same corpus by two model folders (or why it could not be computed).
#[derive(Debug)]
pub struct Compared {
    pub comparisons: Vec<Arc<Comparison>>,
    pub tokenizers: Vec<Option<Result<TokenizerDiff, TokenizerDiffError>>>,
    pub seconds: f64,
}

impl Job for Compare {
    type Output = Compared;

    /// Over the smallest version's rows (the shared rows are at most those).
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        let versions: Vec<(usize, usize)> = self.sets.iter().map(|s| (s.rows(), s.dim())).collect();
        let shared = versions.iter().map(|v| v.0).min().unwrap_or(0);
        let k = self.options.ks.iter().copied().max().unwrap_or(10);
        Some(crate::analysis::memory::compare(
            &versions, shared, k, shared,
        ))
    }

    fn label(&self) -> String {
        format!("comparison of {} versions", self.sets.len())
    }

    fn run(&self, ctx: &JobContext) -> Result<Compared, EngineError> {
        let t = Instant::now();
        let refs: Vec<&EmbeddingSet> = self.sets.iter().map(|s| s.as_ref()).collect();
        ctx.progress(None, "aligning the versions");
        let layouts = compare::aligned_layouts(&refs, self.options.lowercase)?;
        ctx.partial(CompareLayouts {
            layouts: Arc::new(layouts),
            seconds: t.elapsed().as_secs_f64(),
        });
        let pairs = refs.len().saturating_sub(1);
        let mut comparisons = Vec::with_capacity(pairs);
        for (p, w) in refs.windows(2).enumerate() {
            ctx.check()?;
            ctx.progress(
                Some(p as f32 / pairs.max(1) as f32),
                format!("neighbourhoods of version {} vs {}", p + 1, p + 2),
            );
            comparisons.push(Arc::new(compare::compare(
                w[0],
                w[1],
                &self.options,
                Some(ctx.cancel_flag()),
            )?));
        }
        let tokenizers = tokenizer_diffs(&refs, ctx);
        Ok(Compared {
            comparisons,
            tokenizers,
            seconds: t.elapsed().as_secs_f64(),
        })
    }
}

/// Why a tokenizer diff could not be made (the corpus moved, a model folder is gone); shared
/// so the comparison's results stay cheap to clone.
pub type TokenizerDiffError = Arc<EngineError>;

/// Per consecutive pair: the tokenizer diff when both versions were encoded from the same
/// corpus by two model folders (their provenance says so), or why it failed; None otherwise.
pub(super) fn tokenizer_diffs(
    sets: &[&EmbeddingSet],
    ctx: &JobContext,
) -> Vec<Option<Result<TokenizerDiff, TokenizerDiffError>>> {
    let mut tokenizers = Vec::with_capacity(sets.len().saturating_sub(1));
    for w in sets.windows(2) {
        let diff = match (
            encode::encoded_from(&w[0].provenance),
            encode::encoded_from(&w[1].provenance),
        ) {
            (Some((ma, ca)), Some((mb, cb))) if ca == cb => {
                ctx.progress(None, "comparing the tokenizers");
                // A failure here (the corpus moved, a folder is gone) is reported with the
                // results, not instead of them.
                Some(
                    encode::corpus_words(&ca, &CorpusOptions::default(), 5000)
                        .and_then(|words| {
                            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                            Ok(tokdiff::diff(&ma, &mb, &refs)?)
                        })
                        .map_err(Arc::new),
                )
            }
            _ => None,
        };
        tokenizers.push(diff);
    }
    tokenizers
}
