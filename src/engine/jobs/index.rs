//! A set's neighbour index for the app: reopened from the cache folder when a valid one is
//! stored there (the file the CLI's `neighbors --index ann` writes), else built with progress
//! and cancel, and stored. The output keeps what interactive queries need (the graph and the
//! rows' norms), so a query on millions of rows is one graph search, not a pass over them.

use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;

use crate::analysis::ann::{AnnData, AnnIndex, AnnParams, HnswGraph, RowFacts};
use crate::analysis::knn::{Metric, Neighbor, Query};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::ann::{IndexOrigin, load_or_build};
use crate::engine::worker::{Job, JobContext};

/// Build or reopen the index of `set` for `metric`.
#[derive(Debug, Clone)]
pub struct BuildIndex {
    pub set: Arc<EmbeddingSet>,
    pub metric: Metric,
    pub cache_dir: Option<PathBuf>,
}

/// An index ready for queries, with the set it was made for.
#[derive(Debug)]
pub struct ReadyIndex {
    pub set: Arc<EmbeddingSet>,
    pub graph: HnswGraph,
    pub facts: RowFacts,
    pub origin: IndexOrigin,
    pub seconds: f64,
    pub notes: Vec<String>,
}

impl ReadyIndex {
    pub fn metric(&self) -> Metric {
        self.facts.metric()
    }

    /// The approximate `k` nearest rows of each query (same semantics as the exact engine).
    pub fn search(
        &self,
        queries: &[Query],
        k: usize,
        ef: usize,
    ) -> Result<Vec<Vec<Neighbor>>, EngineError> {
        let data = AnnData::with_facts(self.set.matrix.as_slice(), &self.facts)?;
        let index = AnnIndex::new(&self.graph, &data)?.with_ef(ef);
        Ok(index.search(queries, k, self.metric(), None)?)
    }

    /// Where the index came from, in words.
    pub fn describe(&self) -> String {
        self.origin.describe(self.seconds)
    }
}

impl Job for BuildIndex {
    type Output = ReadyIndex;

    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        Some(crate::analysis::memory::ann_build(
            self.set.rows(),
            self.set.dim(),
            AnnParams::default().m,
            rayon::current_num_threads(),
        ))
    }

    fn label(&self) -> String {
        format!(
            "neighbour index ({}) of {} rows",
            self.metric,
            self.set.rows()
        )
    }

    fn run(&self, ctx: &JobContext) -> Result<ReadyIndex, EngineError> {
        let params = AnnParams::default().check()?;
        let data = AnnData::of_set(&self.set, self.metric)?;
        ctx.check()?;
        let got = load_or_build(
            &self.set,
            &data,
            &params,
            self.cache_dir.as_deref(),
            &mut |p| {
                if ctx.cancelled() {
                    return ControlFlow::Break(());
                }
                ctx.progress(
                    Some(p.done as f32 / p.total.max(1) as f32),
                    format!("linking rows {} / {}", p.done, p.total),
                );
                ControlFlow::Continue(())
            },
        )?;
        Ok(ReadyIndex {
            facts: data.facts(),
            set: self.set.clone(),
            graph: got.graph,
            origin: got.origin,
            seconds: got.seconds,
            notes: got.notes,
        })
    }
}

/// The exact neighbours of one row, off the UI thread (a large set's exact search takes a
/// noticeable fraction of a second).
#[derive(Debug, Clone)]
pub struct ExactNeighbours {
    pub set: Arc<EmbeddingSet>,
    pub row: usize,
    pub k: usize,
    pub metric: Metric,
}

/// The neighbours found, with the question they answer.
#[derive(Debug, Clone)]
pub struct FoundNeighbours {
    pub set: Arc<EmbeddingSet>,
    pub row: usize,
    pub k: usize,
    pub metric: Metric,
    pub neighbours: Vec<(usize, f32)>,
}

impl Job for ExactNeighbours {
    type Output = FoundNeighbours;

    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        Some(crate::analysis::memory::knn_few(
            self.set.rows(),
            self.set.dim(),
            1,
            self.k,
            rayon::current_num_threads(),
        ))
    }

    fn label(&self) -> String {
        format!("neighbours of {}", self.set.vocab.token(self.row))
    }

    fn run(&self, _ctx: &JobContext) -> Result<FoundNeighbours, EngineError> {
        let index = crate::analysis::knn::KnnIndex::new(&self.set);
        let q = index.token_query(self.set.vocab.token(self.row), self.metric)?;
        let found = index.search(&[q], self.k, self.metric, None)?;
        Ok(FoundNeighbours {
            set: self.set.clone(),
            row: self.row,
            k: self.k,
            metric: self.metric,
            neighbours: found
                .into_iter()
                .next()
                .unwrap_or_default()
                .into_iter()
                .map(|n| (n.index, n.score))
                .collect(),
        })
    }
}
