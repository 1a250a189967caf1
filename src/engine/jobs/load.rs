//! Opening data sets: a vector file, or the bundled demo.

use std::path::PathBuf;
use std::sync::Arc;

use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};
use crate::formats::{self, LoadOptions};

/// A vector file.
#[derive(Clone)]
pub struct Load {
    pub path: PathBuf,
    pub options: LoadOptions,
}

impl Job for Load {
    type Output = Arc<EmbeddingSet>;

    fn label(&self) -> String {
        format!("open {}", self.path.display())
    }

    fn run(&self, ctx: &JobContext) -> Result<Arc<EmbeddingSet>, EngineError> {
        ctx.progress(None, format!("reading {}", self.path.display()));
        Ok(Arc::new(formats::load(&self.path, &self.options)?))
    }
}

/// The bundled demo set.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

impl Job for Demo {
    type Output = Arc<EmbeddingSet>;

    fn label(&self) -> String {
        "open the demo set".into()
    }

    fn run(&self, _: &JobContext) -> Result<Arc<EmbeddingSet>, EngineError> {
        Ok(Arc::new(formats::demo_set(None)?))
    }
}
