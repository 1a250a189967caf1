//! Semantic search as a job: the query encoded with the set's own model (loaded once and kept
//! for the next query of the same set and folder), the rows ranked by cosine, exactly.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::analysis::knn::KnnIndex;
use crate::core::{EmbeddingSet, RowScan};
use crate::engine::EngineError;
use crate::engine::device::{self, BackendChoice};
use crate::engine::encode;
use crate::engine::semantic::{self, QueryEncoder, QueryModelError};

use super::{Job, JobContext};

/// A loaded query encoder with the folder it was loaded from.
#[derive(Clone)]
pub struct LoadedQueryModel {
    pub folder: PathBuf,
    pub encoder: Arc<QueryEncoder>,
}

impl std::fmt::Debug for LoadedQueryModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedQueryModel")
            .field("folder", &self.folder)
            .finish_non_exhaustive()
    }
}

/// One query against one set.
pub struct SemanticSearch {
    pub set: Arc<EmbeddingSet>,
    /// The set's row norms (so the search makes no pass over the rows for them).
    pub scan: Arc<RowScan>,
    pub query: String,
    pub k: usize,
    /// The model folder the user gave (None: the one the set's encoding record names).
    pub model: Option<PathBuf>,
    /// The encoder of an earlier query of this set, reused when its folder is the one asked.
    pub loaded: Option<LoadedQueryModel>,
}

/// What a semantic search found, or why the model could not encode the query.
#[derive(Debug)]
pub struct SemanticFound {
    pub set: Arc<EmbeddingSet>,
    pub query: String,
    /// Rows and cosine scores, best first; or what is wrong with the model folder (the user can
    /// give another).
    pub hits: Result<Vec<(usize, f32)>, QueryModelError>,
    /// The encoder, to keep for the next query.
    pub loaded: Option<LoadedQueryModel>,
    /// What was checked and chosen (folder, sha256, prompt).
    pub notes: Vec<String>,
    /// Seconds: loading the model (0 when reused), encoding the query, ranking the rows.
    pub seconds: [f64; 3],
}

impl Job for SemanticSearch {
    type Output = SemanticFound;

    /// The ranking (one query) and, unless the encoder of an earlier query is reused, the query
    /// model: its weights and one query's activations (a folder whose config cannot be read is
    /// left to `run`, which reports why).
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        let model = match semantic::model_folder(&self.set, self.model.as_deref()) {
            Ok(f) if self.loaded.as_ref().is_none_or(|l| l.folder != f) => {
                encode::folder_memory_estimate(&f, 1, 1, 1)
            }
            _ => None,
        };
        Some(crate::analysis::memory::semantic_search(
            self.set.rows(),
            self.set.dim(),
            1,
            self.k,
            rayon::current_num_threads(),
            model.as_ref(),
        ))
    }

    fn label(&self) -> String {
        format!(
            "search by meaning: {}",
            crate::core::one_line(&self.query, 40)
        )
    }

    fn run(&self, ctx: &JobContext) -> Result<SemanticFound, EngineError> {
        let failed = |e: QueryModelError| SemanticFound {
            set: self.set.clone(),
            query: self.query.clone(),
            hits: Err(e),
            loaded: None,
            notes: Vec::new(),
            seconds: [0.0; 3],
        };
        let folder = match semantic::model_folder(&self.set, self.model.as_deref()) {
            Ok(f) => f,
            Err(e) => return Ok(failed(e)),
        };
        let t = Instant::now();
        let mut load_s = 0.0;
        let loaded = match &self.loaded {
            Some(l) if l.folder == folder => l.clone(),
            _ => {
                ctx.progress(None, format!("loading {}", folder.display()));
                // One short query: the CPU encodes it at once, without starting a GPU device.
                let (dev, _) = device::select(BackendChoice::Cpu)?;
                match QueryEncoder::for_set(&self.set, Some(&folder), &dev) {
                    Ok(e) => {
                        load_s = t.elapsed().as_secs_f64();
                        LoadedQueryModel {
                            folder,
                            encoder: Arc::new(e),
                        }
                    }
                    Err(EngineError::QueryModel(e)) => return Ok(failed(e)),
                    Err(e) => return Err(e),
                }
            }
        };
        ctx.check()?;
        ctx.progress(None, "encoding the query");
        let t = Instant::now();
        let v = loaded.encoder.encode(&self.query)?;
        let encode_s = t.elapsed().as_secs_f64();
        ctx.check()?;
        let t = Instant::now();
        let index = KnnIndex::with_scan(&self.set, &self.scan);
        let hits = semantic::rank(&index, &v, self.k)?;
        let search_s = t.elapsed().as_secs_f64();
        Ok(SemanticFound {
            set: self.set.clone(),
            query: self.query.clone(),
            hits: Ok(hits.into_iter().map(|n| (n.index, n.score)).collect()),
            notes: loaded.encoder.notes.clone(),
            loaded: Some(loaded),
            seconds: [load_s, encode_s, search_s],
        })
    }
}
