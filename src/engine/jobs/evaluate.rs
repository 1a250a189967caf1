//! The bundled benchmarks on one set: Google analogies (3CosAdd, per section), WordSim-353,
//! SimLex-999, with gensim's semantics (300,000 most frequent rows, case-insensitive).

use std::sync::Arc;

use crate::analysis::eval::{self, AnalogyOptions, BenchmarkScores, BundledBenchmarks};
use crate::analysis::knn::KnnIndex;
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};

#[derive(Debug, Clone)]
pub struct Evaluate {
    pub set: Arc<EmbeddingSet>,
}

impl Job for Evaluate {
    type Output = BenchmarkScores;

    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        Some(crate::analysis::memory::evaluate(
            self.set.rows(),
            self.set.dim(),
            AnalogyOptions::default().restrict_vocab,
        ))
    }

    fn label(&self) -> String {
        format!("benchmarks on {} rows", self.set.rows())
    }

    fn run(&self, ctx: &JobContext) -> Result<BenchmarkScores, EngineError> {
        let index = KnnIndex::new(&self.set);
        let bench = BundledBenchmarks::load()?;
        let report = |done: u64, total: u64| {
            if done.is_multiple_of(2048) || done == total {
                ctx.progress(
                    Some(done as f32 / total.max(1) as f32),
                    format!("analogies {done} / {total}"),
                );
            }
        };
        Ok(eval::run_benchmarks(
            &index,
            &bench,
            &AnalogyOptions::default(),
            Some(&report),
        )?)
    }
}
