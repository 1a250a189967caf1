//! Drift between two samples on the worker: two open sets of one model, or one set split by a
//! metadata column, tested by `analysis::drift::study` (as `embedscope drift` runs it), with
//! the joint rows' clusters and their 2-D map for the Drift window.

use std::sync::Arc;
use std::time::Instant;

use crate::analysis::drift::{self, DriftSides, DriftStudy, StudyParams};
use crate::analysis::split::SplitRule;
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};

/// The two samples, owned by the job.
#[derive(Debug, Clone)]
pub enum DriftJobSides {
    Two {
        reference: Arc<EmbeddingSet>,
        current: Arc<EmbeddingSet>,
        allow_other_models: bool,
    },
    Split {
        set: Arc<EmbeddingSet>,
        column: String,
        rule: SplitRule,
    },
}

impl DriftJobSides {
    /// The sets the reference and current rows are rows of.
    pub fn sets(&self) -> (&Arc<EmbeddingSet>, &Arc<EmbeddingSet>) {
        match self {
            DriftJobSides::Two {
                reference, current, ..
            } => (reference, current),
            DriftJobSides::Split { set, .. } => (set, set),
        }
    }
}

/// A drift study of two named samples.
#[derive(Debug, Clone)]
pub struct DriftJob {
    pub sides: DriftJobSides,
    /// The samples' names as the window shows them (data set names, or the split's sides).
    pub names: [String; 2],
    pub params: StudyParams,
}

/// A finished study with what it was run on.
#[derive(Debug, Clone)]
pub struct DriftRun {
    pub study: Arc<DriftStudy>,
    pub sides: DriftJobSides,
    pub names: [String; 2],
    pub seconds: f64,
}

impl Job for DriftJob {
    type Output = DriftRun;

    /// Both sides' rows pooled, the kernel tests on their sample.
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        let (m, d) = match &self.sides {
            DriftJobSides::Two {
                reference, current, ..
            } => (reference.rows() + current.rows(), reference.dim()),
            DriftJobSides::Split { set, .. } => (set.rows(), set.dim()),
        };
        let p = &self.params.drift;
        Some(crate::analysis::memory::drift(
            m,
            d,
            p.pca.unwrap_or(d).min(d),
            p.kernel_sample.min(m),
            p.permutations,
        ))
    }

    fn label(&self) -> String {
        format!("drift: {} vs {}", self.names[0], self.names[1])
    }

    fn run(&self, ctx: &JobContext) -> Result<DriftRun, EngineError> {
        let t = Instant::now();
        let params = self.params.check()?;
        let sides = match &self.sides {
            DriftJobSides::Two {
                reference,
                current,
                allow_other_models,
            } => DriftSides::Two {
                reference,
                current,
                allow_other_models: *allow_other_models,
            },
            DriftJobSides::Split { set, column, rule } => DriftSides::Split { set, column, rule },
        };
        let study = drift::study(
            &sides,
            &params,
            &mut |p| ctx.progress(Some(p.fraction), p.stage),
            Some(ctx.cancel_flag()),
        )?;
        Ok(DriftRun {
            study: Arc::new(study),
            sides: self.sides.clone(),
            names: self.names.clone(),
            seconds: t.elapsed().as_secs_f64(),
        })
    }
}
