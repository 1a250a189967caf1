//! Opening data sets: a vector file, or the bundled demo.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::core::{EmbeddingSet, RowKind, RowScan};
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};
use crate::formats::{self, LoadOptions};

/// A set read by [`Load`] or [`Demo`], with its per-row scan (norms, non-finite and zero rows)
/// done on the worker: a pass over every value, which on a set of millions of rows would
/// otherwise stall whoever receives it.
pub struct Opened {
    pub set: Arc<EmbeddingSet>,
    pub scan: Arc<RowScan>,
    /// A word-level set's sampled occurrences, found beside its file.
    pub occurrences: Option<Arc<EmbeddingSet>>,
}

impl Opened {
    /// Scans `set`'s rows.
    pub fn new(set: EmbeddingSet) -> Opened {
        let scan = Arc::new(RowScan::new(&set.matrix));
        Opened {
            set: Arc::new(set),
            scan,
            occurrences: None,
        }
    }
}

/// A word-level set's sampled occurrences, read from beside its file, when written.
fn occurrences_beside(
    path: &Path,
    set: &mut EmbeddingSet,
    options: &LoadOptions,
) -> Option<Arc<EmbeddingSet>> {
    if set.row_kind() != RowKind::Words || set.provenance.encoding_fact("level") != Some("word") {
        return None;
    }
    let occ = occurrences_path(path)?;
    if !occ.is_file() {
        return None;
    }
    let options = LoadOptions {
        format: options.format,
        cache_dir: options.cache_dir.clone(),
        ..LoadOptions::default()
    };
    match formats::load(&occ, &options) {
        Ok(o) if o.row_kind() == RowKind::Occurrences => Some(Arc::new(o)),
        Ok(_) => {
            set.notes.warnings.push(format!(
                "{} does not hold sampled occurrences (no word and context columns): not attached",
                occ.display()
            ));
            None
        }
        Err(e) => {
            set.notes
                .warnings
                .push(format!("the occurrences beside it could not be read: {e}"));
            None
        }
    }
}

/// Where a word-level file's occurrences are written: `x.npy` -> `x.occurrences.npy`.
pub fn occurrences_path(words: &Path) -> Option<PathBuf> {
    let stem = words.file_stem()?.to_string_lossy();
    let ext = words.extension()?.to_string_lossy();
    Some(words.with_file_name(format!("{stem}.occurrences.{ext}")))
}

/// The word-level file whose occurrences `path` holds: `x.occurrences.npy` -> `x.npy`.
pub fn words_path(occurrences: &Path) -> Option<PathBuf> {
    let name = occurrences.file_name()?.to_string_lossy();
    let ext = occurrences.extension()?.to_string_lossy();
    let stem = name.strip_suffix(&format!(".occurrences.{ext}"))?;
    Some(occurrences.with_file_name(format!("{stem}.{ext}")))
}

/// A vector file.
#[derive(Clone)]
pub struct Load {
    pub path: PathBuf,
    pub options: LoadOptions,
}

impl Job for Load {
    type Output = Opened;

    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        Some(crate::engine::memory::load_estimate(&self.path))
    }

    fn label(&self) -> String {
        format!("open {}", self.path.display())
    }

    fn run(&self, ctx: &JobContext) -> Result<Opened, EngineError> {
        ctx.progress(None, format!("reading {}", self.path.display()));
        let mut set = formats::load(&self.path, &self.options)?;
        let occurrences = occurrences_beside(&self.path, &mut set, &self.options);
        ctx.progress(
            None,
            format!("checking the rows of {}", self.path.display()),
        );
        Ok(Opened {
            occurrences,
            ..Opened::new(set)
        })
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occurrence_paths_both_ways() {
        let w = Path::new("/d/words.npy");
        let o = occurrences_path(w).unwrap();
        assert_eq!(o, Path::new("/d/words.occurrences.npy"));
        assert_eq!(words_path(&o).unwrap(), w);
        assert_eq!(words_path(w), None);
    }
}
