//! The approximate-neighbour index of a set, persisted beside the native cache: one file per
//! set, metric and index parameters under `<cache>/ann/`, named by a key of the set's data (its
//! source's sha256, size, format and load parameters, its shape, and a sample of its rows and
//! tokens). A file is memory-mapped and its links checked before use; a damaged, truncated,
//! other-version or stale file is ignored with a note and the index rebuilt and stored again.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use memmap2::Mmap;
use sha2::{Digest, Sha256};

use super::EngineError;
use crate::analysis::AnalysisError;
use crate::analysis::ann::{AnnData, AnnProgress, HnswGraph, ValidAnnParams, build};
use crate::core::EmbeddingSet;
use crate::core::hash::hex;

/// Where the index in use came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IndexOrigin {
    /// Reopened from this file.
    Loaded(PathBuf),
    /// Built now; stored in this file (when a cache folder was given and the write succeeded).
    Built { stored: Option<PathBuf> },
}

impl IndexOrigin {
    pub fn name(&self) -> &'static str {
        match self {
            IndexOrigin::Loaded(_) => "loaded",
            IndexOrigin::Built { .. } => "built",
        }
    }

    /// Where the index came from and how long that took, in words.
    pub fn describe(&self, seconds: f64) -> String {
        match self {
            IndexOrigin::Loaded(p) => format!("reopened from {} in {seconds:.2} s", p.display()),
            IndexOrigin::Built { stored: Some(p) } => {
                format!("built in {seconds:.1} s, stored in {}", p.display())
            }
            IndexOrigin::Built { stored: None } => format!("built in {seconds:.1} s"),
        }
    }

    pub fn file(&self) -> Option<&Path> {
        match self {
            IndexOrigin::Loaded(p) => Some(p),
            IndexOrigin::Built { stored } => stored.as_deref(),
        }
    }
}

/// An index ready for a set, with where it came from.
pub struct SetIndex {
    pub graph: HnswGraph,
    pub origin: IndexOrigin,
    /// Why a stored file was not used, or why storing failed.
    pub notes: Vec<String>,
    /// Seconds spent opening or building.
    pub seconds: f64,
}

/// A key of a set's data: changes when the source file, the load parameters, the shape or any
/// sampled row or token changes. Reads at most 4096 rows.
pub fn data_key(set: &EmbeddingSet) -> String {
    let p = &set.provenance;
    let mut h = Sha256::new();
    h.update(p.sha256.as_deref().unwrap_or("-").as_bytes());
    h.update([0]);
    h.update(p.file_size.unwrap_or(0).to_le_bytes());
    h.update(p.format.as_bytes());
    for (k, v) in &p.params {
        h.update([0]);
        h.update(k.as_bytes());
        h.update([1]);
        h.update(v.as_bytes());
    }
    h.update((set.rows() as u64).to_le_bytes());
    h.update((set.dim() as u64).to_le_bytes());
    let n = set.rows();
    let samples = n.min(4096);
    for s in 0..samples {
        let i = if samples < 2 {
            0
        } else {
            s * (n - 1) / (samples - 1)
        };
        h.update(bytemuck::cast_slice::<f32, u8>(set.matrix.row(i)));
        h.update(set.vocab.token(i).as_bytes());
        h.update([0]);
    }
    hex(&h.finalize())
}

/// The index file of a set for a metric and parameters, under `cache_dir/ann/`.
pub fn index_file(cache_dir: &Path, key: &str, data: &AnnData, params: &ValidAnnParams) -> PathBuf {
    let p = params.get();
    cache_dir.join("ann").join(format!(
        "{}-{}-m{}-efc{}-s{}.esann",
        &key[..key.len().min(32)],
        data.metric(),
        p.m,
        p.ef_construction,
        p.seed
    ))
}

/// Opens a stored index, or says why it cannot be used.
pub fn open_index(
    path: &Path,
    key: &str,
    data: &AnnData,
    params: &ValidAnnParams,
) -> Result<HnswGraph, String> {
    let f = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // SAFETY: the map is read-only; the file is written only by atomic rename, so a mapped
    // file is never changed in place by this program.
    let map = unsafe { Mmap::map(&f) }.map_err(|e| format!("{}: {e}", path.display()))?;
    let bytes: Arc<dyn AsRef<[u8]> + Send + Sync> = Arc::new(map);
    let (graph, stored_key) =
        HnswGraph::from_bytes(bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    if stored_key != key {
        return Err(format!(
            "{}: built for other data (the set changed since); rebuilding",
            path.display()
        ));
    }
    if !graph.matches(data, params) {
        return Err(format!(
            "{}: built with other parameters or over another shape; rebuilding",
            path.display()
        ));
    }
    Ok(graph)
}

/// The set's index: reopened from `cache_dir` when a valid file is there, else built (with
/// `progress`, which also cancels) and stored there.
pub fn load_or_build(
    set: &EmbeddingSet,
    data: &AnnData,
    params: &ValidAnnParams,
    cache_dir: Option<&Path>,
    progress: &mut dyn FnMut(AnnProgress) -> ControlFlow<()>,
) -> Result<SetIndex, EngineError> {
    let t = Instant::now();
    let mut notes = Vec::new();
    let file = cache_dir.map(|d| {
        let key = data_key(set);
        (index_file(d, &key, data, params), key)
    });
    if let Some((path, key)) = &file
        && path.exists()
    {
        match open_index(path, key, data, params) {
            Ok(graph) => {
                crate::formats::cache_admin::touch(path);
                return Ok(SetIndex {
                    graph,
                    origin: IndexOrigin::Loaded(path.clone()),
                    notes,
                    seconds: t.elapsed().as_secs_f64(),
                });
            }
            Err(note) => notes.push(format!("index ignored: {note}")),
        }
    }
    let graph = build(data, params, progress).map_err(|e| match e {
        AnalysisError::Cancelled => EngineError::Cancelled,
        e => EngineError::Analysis(e),
    })?;
    let mut stored = None;
    if let Some((path, key)) = &file {
        let dir = path.parent().unwrap_or(Path::new("."));
        let r = std::fs::create_dir_all(dir)
            .map_err(|e| format!("{}: {e}", dir.display()))
            .and_then(|_| {
                crate::formats::atomic_write_with(path, |w| graph.write_to(w, key))
                    .map_err(|e| e.to_string())
            });
        match r {
            Ok(()) => {
                use crate::formats::cache_admin;
                // The source it was built from, so a sweep drops it once that changes; then the
                // cache is brought under its limit (this index last).
                cache_admin::record_source(path, Path::new(&set.provenance.source));
                if let Some(cache) = cache_dir {
                    let c =
                        cache_admin::enforce(cache, cache_admin::limit(cache, None), Some(path));
                    if c.evicted.contains(path) {
                        notes.push(format!(
                            "index not kept: it is over the cache's limit ({})",
                            cache_admin::LIMIT_VAR
                        ));
                    } else {
                        stored = Some(path.clone());
                    }
                }
            }
            Err(e) => notes.push(format!("index not stored: {e}")),
        }
    }
    Ok(SetIndex {
        graph,
        origin: IndexOrigin::Built { stored },
        notes,
        seconds: t.elapsed().as_secs_f64(),
    })
}
