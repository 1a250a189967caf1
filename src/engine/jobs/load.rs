//! Opening data sets: a vector file, or the bundled demo.

use std::path::PathBuf;
use std::sync::Arc;

use crate::core::{EmbeddingSet, RowScan};
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};
use crate::formats::{self, LoadOptions};

/// A set read by [`Load`] or [`Demo`], with its per-row scan (norms, non-finite and zero rows)
/// done on the worker: a pass over every value, which on a set of millions of rows would
/// otherwise stall whoever receives it.
pub struct Opened {
    pub set: Arc<EmbeddingSet>,
    pub scan: Arc<RowScan>,
}

impl Opened {
    /// Scans `set`'s rows.
    pub fn new(set: EmbeddingSet) -> Opened {
        let scan = Arc::new(RowScan::new(&set.matrix));
        Opened {
            set: Arc::new(set),
            scan,
        }
    }
}

/// A vector file.
#[derive(Clone)]
pub struct Load {
    pub path: PathBuf,
    pub options: LoadOptions,
}

impl Job for Load {
    type Output = Opened;

    fn label(&self) -> String {
        format!("open {}", self.path.display())
    }

    fn run(&self, ctx: &JobContext) -> Result<Opened, EngineError> {
        ctx.progress(None, format!("reading {}", self.path.display()));
        let set = formats::load(&self.path, &self.options)?;
        ctx.progress(
            None,
            format!("checking the rows of {}", self.path.display()),
        );
        Ok(Opened::new(set))
    }
}

/// The bundled demo set.
#[derive(Debug, Clone, Copy)]
pub struct Demo;

impl Job for Demo {
    type Output = Opened;

    fn label(&self) -> String {
        "open the demo set".into()
    }

    fn run(&self, _: &JobContext) -> Result<Opened, EngineError> {
        Ok(Opened::new(formats::demo_set(None)?))
    }
}
