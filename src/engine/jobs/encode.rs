//! A corpus through a model folder, into a new data set (sentence or word level).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::device::{self, BackendChoice, BackendInfo};
use crate::engine::encode::{self, Level, SentenceCollector};
use crate::engine::worker::{Job, JobContext};
use crate::formats::corpus::{Corpus, CorpusOptions};
use crate::model::{Encoder, Pooling, PromptChoice};

/// What to encode, and how.
#[derive(Debug, Clone)]
pub struct EncodeSpec {
    pub model: PathBuf,
    pub corpus: PathBuf,
    pub corpus_options: CorpusOptions,
    pub level: Level,
    pub backend: BackendChoice,
    pub pooling: Option<Pooling>,
    /// The prompt (sentence level); the folder's default unless chosen.
    pub prompt: PromptChoice,
    /// Keep the first N dimensions (Matryoshka models).
    pub truncate_dim: Option<usize>,
    pub batch_size: usize,
}

/// The new set, and how it was made. The backend is also sent as a partial result
/// ([`BackendInfo`]) as soon as it is known.
#[derive(Debug)]
pub struct Encoded {
    pub set: Arc<EmbeddingSet>,
    /// A word-level set's sampled occurrences (their sentences), kept with the words.
    pub occurrences: Option<Arc<EmbeddingSet>>,
    pub backend: BackendInfo,
    pub documents: u64,
    pub docs_per_s: f64,
    /// How the corpus's records became rows ([`CorpusStats::warnings`](crate::formats::corpus::CorpusStats::warnings)).
    pub warnings: Vec<String>,
}

impl Job for EncodeSpec {
    type Output = Encoded;

    /// Before the model is loaded: its config and weights' size, batches at their largest
    /// (`batch_size` documents of the maximum length) on every CPU worker (the Auto backend may
    /// fall back to the CPU; only a chosen wgpu backend counts one), the output rows from the
    /// corpus's size. `run` checks again with the loaded model's token budget.
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        let workers = match self.backend {
            BackendChoice::Wgpu => 1,
            BackendChoice::Auto | BackendChoice::Cpu => rayon::current_num_threads(),
        };
        let corpus_bytes = std::fs::metadata(&self.corpus).map_or(0, |m| m.len());
        let rows = usize::try_from(corpus_bytes / 32).unwrap_or(usize::MAX);
        encode::folder_memory_estimate(&self.model, self.batch_size, workers, rows)
    }

    fn label(&self) -> String {
        format!(
            "encode {} with {}",
            self.corpus.display(),
            self.model
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| self.model.display().to_string())
        )
    }

    fn run(&self, ctx: &JobContext) -> Result<Encoded, EngineError> {
        let spec = self;
        ctx.progress(None, "starting the backend");
        let (dev, backend) = device::select(spec.backend)?;
        ctx.partial(backend.clone());
        ctx.progress(None, format!("loading {}", spec.model.display()));
        let mut enc = Encoder::load(&spec.model, &dev, spec.pooling)?;
        if spec.level == Level::Word
            && matches!(spec.prompt, PromptChoice::Named(_) | PromptChoice::Text(_))
        {
            return Err(EngineError::Output(
                "a prompt applies to sentence-level vectors, not to word level".into(),
            ));
        }
        enc.set_prompt(&spec.prompt)?;
        enc.set_truncate_dim(spec.truncate_dim)?;
        let mut corpus = Corpus::open(&spec.corpus, &spec.corpus_options)?;
        let opts = encode::options_for(&enc, &backend, spec.level, spec.batch_size.max(1));
        // The weights are loaded; the batches and the output are checked before they start.
        let corpus_bytes = std::fs::metadata(&spec.corpus).map_or(0, |m| m.len());
        crate::engine::memory::guard(&encode::memory_estimate(
            &enc,
            &opts,
            encode::workers_for(&backend),
            corpus_bytes,
        ))?;
        let t = Instant::now();
        let mut on_progress = |p: &encode::Progress| {
            let eta = p
                .eta_s
                .map(|s| format!(", ETA {}", duration_text(s)))
                .unwrap_or_default();
            ctx.progress(
                (p.total > 0).then(|| p.done as f32 / p.total as f32),
                format!("{} documents, {:.1} docs/s{eta}", p.docs, p.docs_per_s),
            );
        };
        let mut provenance = encode::provenance(
            &spec.model,
            &enc,
            spec.level,
            &backend,
            &spec.corpus,
            &corpus,
        );
        let cancel = ctx.cancel_flag();
        let mut occurrences = None;
        let set = match spec.level {
            Level::Sentence => {
                let mut collect = SentenceCollector::new(enc.dim(), corpus.meta_names());
                encode::encode_sentences(
                    &enc,
                    &mut corpus,
                    &opts,
                    &mut |r| {
                        collect.push(&r);
                        Ok(())
                    },
                    &mut on_progress,
                    cancel,
                )?;
                if collect.is_empty() {
                    return Err(EngineError::Output(format!(
                        "{}: no documents to encode",
                        spec.corpus.display()
                    )));
                }
                corpus.stats().note_in(&mut provenance);
                collect.finish(provenance)?
            }
            Level::Word => {
                let (mut w, _) =
                    encode::encode_words(&enc, &mut corpus, &opts, &mut on_progress, cancel)?;
                if w.types.rows() == 0 {
                    return Err(EngineError::Output(format!(
                        "{}: no words to encode",
                        spec.corpus.display()
                    )));
                }
                corpus.stats().note_in(&mut provenance);
                w.occurrences.provenance = encode::occurrences_provenance(&provenance);
                w.types.provenance = provenance;
                occurrences = Some(Arc::new(w.occurrences));
                w.types
            }
        };
        let warnings = corpus.stats().warnings();
        let mut set = set;
        set.notes.warnings.extend(warnings.iter().cloned());
        let documents = corpus.stats().documents;
        Ok(Encoded {
            set: Arc::new(set),
            occurrences,
            backend,
            documents,
            docs_per_s: documents as f64 / t.elapsed().as_secs_f64().max(1e-9),
            warnings,
        })
    }
}

/// "42 s", "3 min 05 s", "1 h 02 min".
pub fn duration_text(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min {:02} s", s / 60, s % 60)
    } else {
        format!("{} h {:02} min", s / 3600, (s % 3600) / 60)
    }
}
