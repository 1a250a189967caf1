//! The app's background work: each job runs on its own named thread, reports progress and its
//! result through a channel that the UI drains once per frame, and stops when cancelled. A job
//! that fails (or panics) becomes a `Failed` event; it never takes the app down.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, channel};
use std::time::{Duration, Instant};

use super::EngineError;
use super::device::{self, BackendChoice, BackendInfo};
use super::encode::{self, Level, SentenceCollector};
use crate::analysis::bias::{
    self, BiasDirection, CaseMode, DebiasOptions, DebiasReport, DirectBias, EffectDifference,
    WeatOptions, WeatResult, WeatTest,
};
use crate::analysis::compare::{self, AlignedLayouts, CompareOptions, Comparison};
use crate::analysis::eval::{self, AnalogyOptions, AnalogyReport, PairOptions, PairReport};
use crate::analysis::knn::KnnIndex;
use crate::analysis::project::quality::{self, Quality};
use crate::analysis::project::tsne::TsneParams;
use crate::analysis::project::{Projection, axes, pca, tsne};
use crate::core::EmbeddingSet;
use crate::formats::corpus::{Corpus, CorpusOptions};
use crate::formats::{self, LoadOptions};
use crate::model::tokdiff::{self, TokenizerDiff};
use crate::model::{Encoder, Pooling};
use crate::report::{self, OutputFormat, ReportError, ReportOptions, Section, Version};

pub type JobId = u64;

/// What a projection job computes.
#[derive(Debug, Clone)]
pub enum ProjectSpec {
    Pca,
    Tsne(TsneParams),
    /// Semantic axes: x (and optionally y) as "a,b -> c,d" or an expression.
    Axes {
        x: String,
        y: Option<String>,
    },
}

impl ProjectSpec {
    pub fn name(&self) -> &'static str {
        match self {
            ProjectSpec::Pca => "PCA",
            ProjectSpec::Tsne(_) => "t-SNE",
            ProjectSpec::Axes { .. } => "semantic axes",
        }
    }
}

/// What to encode, and how.
#[derive(Debug, Clone)]
pub struct EncodeSpec {
    pub model: PathBuf,
    pub corpus: PathBuf,
    pub corpus_options: CorpusOptions,
    pub level: Level,
    pub backend: BackendChoice,
    pub pooling: Option<Pooling>,
    pub batch_size: usize,
}

#[derive(Clone)]
pub enum Job {
    /// A vector file.
    Load { path: PathBuf, options: LoadOptions },
    /// The bundled demo set.
    Demo,
    /// A 2-D map of a set, with its quality (k nearest neighbours kept).
    Project {
        set: Arc<EmbeddingSet>,
        spec: ProjectSpec,
        quality_k: usize,
    },
    /// A corpus through a model.
    Encode(EncodeSpec),
    /// The bundled benchmarks: Google analogies (3CosAdd, per section), WordSim-353, SimLex-999.
    Evaluate { set: Arc<EmbeddingSet> },
    /// Versions of a model: aligned maps first (sent as `CompareLayouts`), then each version
    /// compared with the next.
    Compare {
        sets: Vec<Arc<EmbeddingSet>>,
        options: CompareOptions,
    },
    /// Bias probes: WEAT of every test on every (named) set, then, per test, the difference of
    /// effect sizes between each pair of sets; Holm's correction over the WEAT p-values and,
    /// separately, over the differences (as `embedscope bias weat`).
    Weat {
        sets: Vec<(String, Arc<EmbeddingSet>)>,
        tests: Vec<WeatTest>,
        options: WeatOptions,
    },
    /// A bias direction on one (named) set, the direct bias and projections of neutral words;
    /// with `debias`, hard debiasing too: the new set comes back as `<name> (hard-debiased)`.
    DirectBias {
        name: String,
        set: Arc<EmbeddingSet>,
        spec: DirectSpec,
        debias: Option<DebiasOptions>,
    },
    /// A comparison report of (named) versions, each with the next: `report::build` with the
    /// tokenizer diffs of versions encoded from one corpus by two model folders, then
    /// `report::write` to `out` in `format`; the Markdown text comes back as a preview.
    Report {
        versions: Vec<(String, Arc<EmbeddingSet>)>,
        options: ReportOptions,
        out: PathBuf,
        format: OutputFormat,
    },
}

/// What a report job wrote.
#[derive(Debug, Clone)]
pub struct ReportRun {
    pub out: PathBuf,
    pub format: OutputFormat,
    /// Every file written (images before the Markdown that links them).
    pub files: Vec<PathBuf>,
    /// The report as Markdown: for a Markdown report the text of the file written, else the
    /// same report with its image links pointing into `preview/`.
    pub preview: String,
    pub sections: Vec<Section>,
    /// The version names, in report order.
    pub versions: Vec<String>,
    /// Things the report could not include (a tokenizer diff that failed, a comparison or map
    /// that could not be computed, bias tests that could not run on a version).
    pub warnings: Vec<String>,
    pub seconds: f64,
}

/// What a direct-bias job measures.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectSpec {
    /// Definitional pairs (positive side first).
    pub pairs: Vec<(String, String)>,
    pub positive: String,
    pub negative: String,
    /// The neutral words measured.
    pub words: Vec<String>,
    /// Strictness c of DB_c.
    pub c: f64,
    pub case: CaseMode,
}

impl Job {
    pub fn label(&self) -> String {
        match self {
            Job::Load { path, .. } => format!("open {}", path.display()),
            Job::Demo => "open the demo set".into(),
            Job::Project { spec, set, .. } => {
                format!("{} of {} points", spec.name(), set.rows())
            }
            Job::Evaluate { set } => format!("benchmarks on {} rows", set.rows()),
            Job::Compare { sets, .. } => format!("comparison of {} versions", sets.len()),
            Job::Weat { sets, tests, .. } => format!(
                "WEAT: {} test{} on {} data set{}",
                tests.len(),
                if tests.len() == 1 { "" } else { "s" },
                sets.len(),
                if sets.len() == 1 { "" } else { "s" }
            ),
            Job::DirectBias { name, debias, .. } => match debias {
                Some(_) => format!("hard debiasing of {name}"),
                None => format!("direct bias of {name}"),
            },
            Job::Report { versions, out, .. } => format!(
                "report of {} versions to {}",
                versions.len(),
                out.file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| out.display().to_string())
            ),
            Job::Encode(s) => format!(
                "encode {} with {}",
                s.corpus.display(),
                s.model
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| s.model.display().to_string())
            ),
        }
    }
}

/// A job's result.
#[derive(Debug)]
pub enum JobOutput {
    Loaded(Arc<EmbeddingSet>),
    Projected {
        projection: Projection,
        quality: Option<Quality>,
        seconds: f64,
    },
    Encoded {
        set: Arc<EmbeddingSet>,
        backend: BackendInfo,
        documents: u64,
        docs_per_s: f64,
    },
    Evaluated(Benchmarks),
    /// Each version compared with the next, and the tokenizer diff of each pair that was
    /// encoded from the same corpus by two model folders.
    Compared {
        comparisons: Vec<Arc<Comparison>>,
        tokenizers: Vec<Option<Result<TokenizerDiff, String>>>,
        seconds: f64,
    },
    Weat(WeatRun),
    DirectBias(Box<DirectRun>),
    Report(Box<ReportRun>),
}

/// One WEAT result: a test on a data set.
#[derive(Debug, Clone)]
pub struct WeatCell {
    pub test: String,
    pub dataset: String,
    pub result: WeatResult,
    /// Holm-adjusted over every p-value of the run.
    pub p_holm: f64,
}

/// A WEAT job's results.
#[derive(Debug, Clone)]
pub struct WeatRun {
    /// The tests and data sets asked for, in order.
    pub tests: Vec<String>,
    pub datasets: Vec<String>,
    /// The results that could be computed, test by test, data sets in order.
    pub cells: Vec<WeatCell>,
    /// Per test, each pair of data sets (earlier - later); `p_holm` over these differences.
    pub differences: Vec<EffectDifference>,
    /// Tests (or differences) that could not be computed, with the reason.
    pub errors: Vec<String>,
    pub options: WeatOptions,
    pub seconds: f64,
}

/// A direct-bias job's results.
#[derive(Debug, Clone)]
pub struct DirectRun {
    pub dataset: String,
    pub direction: BiasDirection,
    /// Direct bias and projections of the neutral words.
    pub bias: DirectBias,
    pub debiased: Option<Debiased>,
    pub seconds: f64,
}

/// The set hard debiasing wrote, and the same measure on it.
#[derive(Debug, Clone)]
pub struct Debiased {
    /// `<name> (hard-debiased)`.
    pub name: String,
    pub set: Arc<EmbeddingSet>,
    pub report: DebiasReport,
    /// Direct bias of the neutral words on the new set, along the same direction.
    pub bias_after: Option<DirectBias>,
}

/// Results of the bundled benchmarks (gensim semantics; restricted to the 300,000 most
/// frequent rows, case-insensitive).
#[derive(Debug, Clone)]
pub struct Benchmarks {
    pub analogies: AnalogyReport,
    /// (name, report) for WordSim-353 and SimLex-999.
    pub pairs: Vec<(String, PairReport)>,
}

#[derive(Debug)]
pub enum JobEvent {
    Progress {
        id: JobId,
        /// 0..1 when known.
        fraction: Option<f32>,
        text: String,
        /// t-SNE: the current layout (2-D, row-major) of the projected rows, for animation.
        layout: Option<Vec<f32>>,
    },
    /// The backend a job runs on (encode jobs), as soon as it is known.
    Backend {
        id: JobId,
        info: BackendInfo,
    },
    Done {
        id: JobId,
        output: JobOutput,
    },
    Failed {
        id: JobId,
        error: String,
    },
    Cancelled {
        id: JobId,
    },
    /// A compare job's aligned maps, ready before its statistics.
    CompareLayouts {
        id: JobId,
        layouts: Arc<AlignedLayouts>,
        seconds: f64,
    },
}

impl JobEvent {
    pub fn id(&self) -> JobId {
        match self {
            JobEvent::Progress { id, .. }
            | JobEvent::Backend { id, .. }
            | JobEvent::Done { id, .. }
            | JobEvent::Failed { id, .. }
            | JobEvent::Cancelled { id }
            | JobEvent::CompareLayouts { id, .. } => *id,
        }
    }

    /// Whether the job is over.
    pub fn is_final(&self) -> bool {
        matches!(
            self,
            JobEvent::Done { .. } | JobEvent::Failed { .. } | JobEvent::Cancelled { .. }
        )
    }
}

/// Called after every event (the UI asks for a repaint).
pub type Waker = Arc<dyn Fn() + Send + Sync>;

/// Starts jobs and hands back their events.
pub struct Worker {
    tx: Sender<JobEvent>,
    rx: Receiver<JobEvent>,
    next: JobId,
    cancels: HashMap<JobId, Arc<AtomicBool>>,
    waker: Option<Waker>,
}

impl Default for Worker {
    fn default() -> Self {
        Self::new()
    }
}

impl Worker {
    pub fn new() -> Self {
        let (tx, rx) = channel();
        Worker {
            tx,
            rx,
            next: 1,
            cancels: HashMap::new(),
            waker: None,
        }
    }

    pub fn set_waker(&mut self, waker: Waker) {
        self.waker = Some(waker);
    }

    /// Starts `job` on its own thread.
    pub fn submit(&mut self, job: Job) -> JobId {
        let id = self.next;
        self.next += 1;
        let cancel = Arc::new(AtomicBool::new(false));
        self.cancels.insert(id, cancel.clone());
        let out = Emitter {
            id,
            tx: self.tx.clone(),
            waker: self.waker.clone(),
        };
        let name = format!("job-{id}");
        let spawned = std::thread::Builder::new().name(name).spawn(move || {
            let result =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(&job, &out, &cancel)));
            let event = match result {
                Ok(Ok(output)) => JobEvent::Done { id, output },
                Ok(Err(EngineError::Cancelled)) => JobEvent::Cancelled { id },
                Ok(Err(e)) => JobEvent::Failed {
                    id,
                    error: e.to_string(),
                },
                Err(p) => JobEvent::Failed {
                    id,
                    error: format!("internal error: {}", panic_text(&p)),
                },
            };
            out.send(event);
        });
        if let Err(e) = spawned {
            let _ = self.tx.send(JobEvent::Failed {
                id,
                error: format!("could not start a thread: {e}"),
            });
        }
        id
    }

    /// Asks a job to stop; it reports `Cancelled` when it has.
    pub fn cancel(&self, id: JobId) {
        if let Some(c) = self.cancels.get(&id) {
            c.store(true, Ordering::SeqCst);
        }
    }

    /// Events since the last call (never blocks).
    pub fn poll(&mut self) -> Vec<JobEvent> {
        let events: Vec<JobEvent> = self.rx.try_iter().collect();
        for e in &events {
            if e.is_final() {
                self.cancels.remove(&e.id());
            }
        }
        events
    }

    /// Waits up to `timeout` for the next event (for tests and scripts).
    pub fn wait(&mut self, timeout: Duration) -> Option<JobEvent> {
        let e = self.rx.recv_timeout(timeout).ok()?;
        if e.is_final() {
            self.cancels.remove(&e.id());
        }
        Some(e)
    }

    /// Jobs not finished yet.
    pub fn running(&self) -> usize {
        self.cancels.len()
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "a job panicked".into()
    }
}

struct Emitter {
    id: JobId,
    tx: Sender<JobEvent>,
    waker: Option<Waker>,
}

impl Emitter {
    fn send(&self, e: JobEvent) {
        // The app may be gone (closing): nothing to report to then.
        let _ = self.tx.send(e);
        if let Some(w) = &self.waker {
            w();
        }
    }

    fn progress(&self, fraction: Option<f32>, text: String, layout: Option<Vec<f32>>) {
        self.send(JobEvent::Progress {
            id: self.id,
            fraction,
            text,
            layout,
        });
    }
}

/// Layout previews are sent at most this often (the UI redraws the animation at that rate).
const PREVIEW_EVERY: Duration = Duration::from_millis(100);

fn run(job: &Job, out: &Emitter, cancel: &AtomicBool) -> Result<JobOutput, EngineError> {
    match job {
        Job::Demo => Ok(JobOutput::Loaded(Arc::new(formats::demo_set(None)?))),
        Job::Load { path, options } => {
            out.progress(None, format!("reading {}", path.display()), None);
            let set = formats::load(path, options)?;
            Ok(JobOutput::Loaded(Arc::new(set)))
        }
        Job::Project {
            set,
            spec,
            quality_k,
        } => project(set, spec, *quality_k, out, cancel),
        Job::Encode(spec) => encode_job(spec, out, cancel),
        Job::Evaluate { set } => evaluate(set, out),
        Job::Compare { sets, options } => compare_job(sets, options, out, cancel),
        Job::Weat {
            sets,
            tests,
            options,
        } => weat_job(sets, tests, options, out, cancel),
        Job::DirectBias {
            name,
            set,
            spec,
            debias,
        } => direct_job(name, set, spec, debias.as_ref(), out, cancel),
        Job::Report {
            versions,
            options,
            out: path,
            format,
        } => report_job(versions, options, path, *format, out, cancel),
    }
}

fn report_job(
    versions: &[(String, Arc<EmbeddingSet>)],
    options: &ReportOptions,
    path: &std::path::Path,
    format: OutputFormat,
    out: &Emitter,
    cancel: &AtomicBool,
) -> Result<JobOutput, EngineError> {
    let rerr = |e: ReportError| match e {
        ReportError::Cancelled => EngineError::Cancelled,
        e => EngineError::Output(e.to_string()),
    };
    let t = Instant::now();
    let cancelled = || cancel.load(Ordering::Relaxed);
    let mut warnings = Vec::new();
    // The tokenizers of consecutive model-folder versions (vocabulary section only).
    let tokenizers: Vec<Option<TokenizerDiff>> = if options.sections.contains(&Section::Vocabulary)
    {
        let refs: Vec<&EmbeddingSet> = versions.iter().map(|v| v.1.as_ref()).collect();
        tokenizer_diffs(&refs, out)
            .into_iter()
            .enumerate()
            .map(|(p, d)| match d {
                Some(Ok(d)) => Some(d),
                Some(Err(e)) => {
                    warnings.push(format!(
                        "tokenizers of {} and {}: {e}",
                        versions[p].0,
                        versions[p + 1].0
                    ));
                    None
                }
                None => None,
            })
            .collect()
    } else {
        Vec::new()
    };
    if cancelled() {
        return Err(EngineError::Cancelled);
    }
    let list: Vec<Version> = versions
        .iter()
        .map(|(name, set)| Version {
            name: name.clone(),
            set: set.as_ref(),
        })
        .collect();
    // Building takes nearly all the time; writing (charts, files) the rest.
    let mut progress = |share: f32, step: &str| {
        out.progress(Some(0.95 * share.clamp(0.0, 1.0)), step.to_string(), None);
    };
    let r = report::build(&list, &tokenizers, options, &mut progress, cancel).map_err(rerr)?;
    if cancelled() {
        return Err(EngineError::Cancelled);
    }
    // Parts that could not be computed (the rest of the report stands).
    warnings.extend(r.notes.iter().cloned());
    if let Some(b) = &r.bias {
        warnings.extend(b.errors.iter().map(|e| format!("bias: {e}")));
    }
    out.progress(Some(0.95), format!("writing {}", path.display()), None);
    let files = report::write(&r, path, format).map_err(rerr)?;
    let image_dir = match format {
        OutputFormat::Markdown => report::render::image_dir_name(path),
        _ => "preview".to_string(),
    };
    let (preview, _) = report::render::markdown(&r, &image_dir).map_err(rerr)?;
    Ok(JobOutput::Report(Box::new(ReportRun {
        out: path.to_path_buf(),
        format,
        files,
        preview,
        sections: r.sections.clone(),
        versions: versions.iter().map(|v| v.0.clone()).collect(),
        warnings,
        seconds: t.elapsed().as_secs_f64(),
    })))
}

/// Per consecutive pair: the tokenizer diff when both versions were encoded from the same
/// corpus by two model folders (their provenance says so), or why it failed; None otherwise.
fn tokenizer_diffs(
    sets: &[&EmbeddingSet],
    out: &Emitter,
) -> Vec<Option<Result<TokenizerDiff, String>>> {
    let mut tokenizers = Vec::with_capacity(sets.len().saturating_sub(1));
    for w in sets.windows(2) {
        let diff = match (
            encode::encoded_from(&w[0].provenance),
            encode::encoded_from(&w[1].provenance),
        ) {
            (Some((ma, ca)), Some((mb, cb))) if ca == cb => {
                out.progress(None, "comparing the tokenizers".into(), None);
                // A failure here (the corpus moved, a folder is gone) is reported with the
                // results, not instead of them.
                Some(
                    encode::corpus_words(&ca, &CorpusOptions::default(), 5000)
                        .map_err(|e| e.to_string())
                        .and_then(|words| {
                            let refs: Vec<&str> = words.iter().map(String::as_str).collect();
                            tokdiff::diff(&ma, &mb, &refs).map_err(|e| e.to_string())
                        }),
                )
            }
            _ => None,
        };
        tokenizers.push(diff);
    }
    tokenizers
}

fn weat_job(
    sets: &[(String, Arc<EmbeddingSet>)],
    tests: &[WeatTest],
    options: &WeatOptions,
    out: &Emitter,
    cancel: &AtomicBool,
) -> Result<JobOutput, EngineError> {
    if sets.is_empty() || tests.is_empty() {
        return Err(EngineError::Output(
            "choose at least one test and one data set".into(),
        ));
    }
    let t = Instant::now();
    let total = tests.len() * sets.len();
    let mut cells = Vec::new();
    let mut errors = Vec::new();
    // results[test][set]
    let mut grid: Vec<Vec<Option<WeatResult>>> = Vec::with_capacity(tests.len());
    for (ti, test) in tests.iter().enumerate() {
        let mut row = Vec::with_capacity(sets.len());
        for (si, (name, set)) in sets.iter().enumerate() {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let k = ti * sets.len() + si;
            out.progress(
                Some(k as f32 / total as f32),
                format!("{} on {name} ({} / {total})", test.name, k + 1),
                None,
            );
            match bias::weat(set, test, options) {
                Ok(r) => {
                    cells.push(WeatCell {
                        test: test.name.clone(),
                        dataset: name.clone(),
                        result: r.clone(),
                        p_holm: r.p_value,
                    });
                    row.push(Some(r));
                }
                Err(e) => {
                    errors.push(format!("{name}: {e}"));
                    row.push(None);
                }
            }
        }
        grid.push(row);
    }
    if cells.is_empty() {
        return Err(EngineError::Output(errors.join("\n")));
    }
    let names: Vec<String> = sets.iter().map(|s| s.0.clone()).collect();
    let grid_stats =
        bias::across_versions(&names, &grid, options, &|| cancel.load(Ordering::Relaxed)).map_err(
            |e| match e {
                crate::analysis::AnalysisError::Cancelled => EngineError::Cancelled,
                e => EngineError::Output(e.to_string()),
            },
        )?;
    // Cells were pushed in grid order, skipping the empty ones.
    for (c, p) in cells
        .iter_mut()
        .zip(grid_stats.p_holm.iter().flatten().flatten())
    {
        c.p_holm = *p;
    }
    errors.extend(grid_stats.errors);
    let differences = grid_stats.differences;
    Ok(JobOutput::Weat(WeatRun {
        tests: tests.iter().map(|t| t.name.clone()).collect(),
        datasets: sets.iter().map(|s| s.0.clone()).collect(),
        cells,
        differences,
        errors,
        options: options.clone(),
        seconds: t.elapsed().as_secs_f64(),
    }))
}

fn direct_job(
    name: &str,
    set: &Arc<EmbeddingSet>,
    spec: &DirectSpec,
    debias: Option<&DebiasOptions>,
    out: &Emitter,
    cancel: &AtomicBool,
) -> Result<JobOutput, EngineError> {
    let aerr = |e: crate::analysis::AnalysisError| EngineError::Output(format!("{name}: {e}"));
    let t = Instant::now();
    out.progress(None, "finding the direction".into(), None);
    let direction = bias::direction(set, &spec.pairs, &spec.positive, &spec.negative, spec.case)
        .map_err(aerr)?;
    let measured =
        bias::direct_bias(set, &direction, &spec.words, spec.c, spec.case).map_err(aerr)?;
    let debiased = match debias {
        None => None,
        Some(opts) => {
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            out.progress(None, format!("hard debiasing {} rows", set.rows()), None);
            let (new_set, report) = bias::hard_debias(set, &direction, opts).map_err(aerr)?;
            if cancel.load(Ordering::Relaxed) {
                return Err(EngineError::Cancelled);
            }
            let bias_after =
                bias::direct_bias(&new_set, &direction, &spec.words, spec.c, spec.case).ok();
            Some(Debiased {
                name: format!("{name} (hard-debiased)"),
                set: Arc::new(new_set),
                report,
                bias_after,
            })
        }
    };
    Ok(JobOutput::DirectBias(Box::new(DirectRun {
        dataset: name.to_string(),
        direction,
        bias: measured,
        debiased,
        seconds: t.elapsed().as_secs_f64(),
    })))
}

fn compare_job(
    sets: &[Arc<EmbeddingSet>],
    options: &CompareOptions,
    out: &Emitter,
    cancel: &AtomicBool,
) -> Result<JobOutput, EngineError> {
    let aerr = |e: crate::analysis::AnalysisError| match e {
        crate::analysis::AnalysisError::Cancelled => EngineError::Cancelled,
        e => EngineError::Output(e.to_string()),
    };
    let t = Instant::now();
    let refs: Vec<&EmbeddingSet> = sets.iter().map(|s| s.as_ref()).collect();
    out.progress(None, "aligning the versions".into(), None);
    let layouts = compare::aligned_layouts(&refs, options.lowercase).map_err(aerr)?;
    out.send(JobEvent::CompareLayouts {
        id: out.id,
        layouts: Arc::new(layouts),
        seconds: t.elapsed().as_secs_f64(),
    });
    let pairs = refs.len().saturating_sub(1);
    let mut comparisons = Vec::with_capacity(pairs);
    for (p, w) in refs.windows(2).enumerate() {
        if cancel.load(Ordering::Relaxed) {
            return Err(EngineError::Cancelled);
        }
        out.progress(
            Some(p as f32 / pairs.max(1) as f32),
            format!("neighbourhoods of version {} vs {}", p + 1, p + 2),
            None,
        );
        comparisons.push(Arc::new(
            compare::compare(w[0], w[1], options, Some(cancel)).map_err(aerr)?,
        ));
    }
    // Versions encoded from the same corpus by two model folders: their tokenizers.
    let tokenizers = tokenizer_diffs(&refs, out);
    Ok(JobOutput::Compared {
        comparisons,
        tokenizers,
        seconds: t.elapsed().as_secs_f64(),
    })
}

fn evaluate(set: &EmbeddingSet, out: &Emitter) -> Result<JobOutput, EngineError> {
    let aerr = |e: crate::analysis::AnalysisError| EngineError::Output(e.to_string());
    let index = KnnIndex::new(set);
    let questions = eval::bundled::analogies().map_err(aerr)?;
    let report = |done: u64, total: u64| {
        if done.is_multiple_of(2048) || done == total {
            out.progress(
                Some(done as f32 / total.max(1) as f32),
                format!("analogies {done} / {total}"),
                None,
            );
        }
    };
    let analogies = eval::evaluate_analogies(
        &index,
        &questions,
        &AnalogyOptions::default(),
        Some(&report),
    )
    .map_err(aerr)?;
    let mut pairs = Vec::new();
    for name in eval::bundled::PAIR_SETS {
        if let Some(p) = eval::bundled::pairs(name) {
            let p = p.map_err(aerr)?;
            pairs.push((
                name.to_string(),
                eval::evaluate_pairs(&index, &p, &PairOptions::default()),
            ));
        }
    }
    Ok(JobOutput::Evaluated(Benchmarks { analogies, pairs }))
}

fn project(
    set: &EmbeddingSet,
    spec: &ProjectSpec,
    quality_k: usize,
    out: &Emitter,
    cancel: &AtomicBool,
) -> Result<JobOutput, EngineError> {
    let t = Instant::now();
    let perr = |e: crate::analysis::project::ProjectError| match e {
        crate::analysis::project::ProjectError::Cancelled => EngineError::Cancelled,
        e => EngineError::Output(e.to_string()),
    };
    let projection = match spec {
        ProjectSpec::Pca => pca::project(set, 2).map_err(perr)?.0,
        ProjectSpec::Axes { x, y } => {
            let xs = axes::AxisSpec::parse(x).map_err(perr)?;
            let ys = y
                .as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(axes::AxisSpec::parse)
                .transpose()
                .map_err(perr)?;
            axes::project(set, &xs, ys.as_ref()).map_err(perr)?
        }
        ProjectSpec::Tsne(params) => {
            let mut last = Instant::now() - PREVIEW_EVERY;
            tsne::project(set, params, |p| {
                if cancel.load(Ordering::Relaxed) {
                    return ControlFlow::Break(());
                }
                if last.elapsed() >= PREVIEW_EVERY || p.iteration == p.total {
                    last = Instant::now();
                    let layout =
                        (params.dims == 2).then(|| p.layout.iter().map(|&v| v as f32).collect());
                    let kl = p
                        .kl_divergence
                        .map(|k| format!(", KL {k:.4}"))
                        .unwrap_or_default();
                    out.progress(
                        Some(p.iteration as f32 / p.total.max(1) as f32),
                        format!("iteration {} / {}{kl}", p.iteration, p.total),
                        layout,
                    );
                }
                ControlFlow::Continue(())
            })
            .map_err(perr)?
        }
    };
    if cancel.load(Ordering::Relaxed) {
        return Err(EngineError::Cancelled);
    }
    let seconds = t.elapsed().as_secs_f64();
    let quality = if quality_k > 0 && projection.rows.len() > quality_k + 1 {
        // The map is shown at once; its quality follows.
        let layout = (projection.dims == 2).then(|| projection.coords.clone());
        out.progress(None, format!("map quality (k = {quality_k})"), layout);
        let rows = crate::analysis::project::Input {
            rows: projection.rows.clone(),
            excluded: Vec::new(),
        };
        let orig = rows.gather(set);
        quality::quality(
            &orig,
            set.dim(),
            &projection.coords,
            projection.dims,
            quality_k,
            0,
        )
        .ok()
    } else {
        None
    };
    Ok(JobOutput::Projected {
        projection,
        quality,
        seconds,
    })
}

fn encode_job(
    spec: &EncodeSpec,
    out: &Emitter,
    cancel: &AtomicBool,
) -> Result<JobOutput, EngineError> {
    out.progress(None, "starting the backend".into(), None);
    let (dev, backend) = device::select(spec.backend)?;
    out.send(JobEvent::Backend {
        id: out.id,
        info: backend.clone(),
    });
    out.progress(None, format!("loading {}", spec.model.display()), None);
    let enc = Encoder::load(&spec.model, &dev, spec.pooling)?;
    let mut corpus = Corpus::open(&spec.corpus, &spec.corpus_options)?;
    let opts = encode::options_for(&enc, &backend, spec.level, spec.batch_size.max(1));
    let t = Instant::now();
    let mut on_progress = |p: &encode::Progress| {
        let eta = p
            .eta_s
            .map(|s| format!(", ETA {}", duration_text(s)))
            .unwrap_or_default();
        out.progress(
            (p.total > 0).then(|| p.done as f32 / p.total as f32),
            format!("{} documents, {:.1} docs/s{eta}", p.docs, p.docs_per_s),
            None,
        );
    };
    let provenance = encode::provenance(
        &spec.model,
        &enc,
        spec.level,
        &backend,
        &spec.corpus,
        &corpus,
    );
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
            w.types.provenance = provenance;
            w.types
        }
    };
    let documents = corpus.stats().documents;
    Ok(JobOutput::Encoded {
        set: Arc::new(set),
        backend,
        documents,
        docs_per_s: documents as f64 / t.elapsed().as_secs_f64().max(1e-9),
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn finish(w: &mut Worker, id: JobId) -> JobEvent {
        loop {
            let e = w.wait(Duration::from_secs(120)).expect("an event in time");
            if e.id() == id && e.is_final() {
                return e;
            }
        }
    }

    #[test]
    fn jobs_report_results_errors_and_cancellation() {
        let mut w = Worker::new();
        let id = w.submit(Job::Demo);
        let set = match finish(&mut w, id) {
            JobEvent::Done {
                output: JobOutput::Loaded(s),
                ..
            } => s,
            e => panic!("demo: {e:?}"),
        };
        assert!(set.rows() > 10_000);
        // A missing file fails with its name; the worker keeps working.
        let id = w.submit(Job::Load {
            path: "/nonexistent/vectors.txt".into(),
            options: LoadOptions::default(),
        });
        match finish(&mut w, id) {
            JobEvent::Failed { error, .. } => assert!(error.contains("vectors.txt"), "{error}"),
            e => panic!("missing file: {e:?}"),
        }
        // PCA of 2,000 rows, with quality.
        let small = Arc::new(set.truncate(2000));
        let id = w.submit(Job::Project {
            set: small.clone(),
            spec: ProjectSpec::Pca,
            quality_k: 10,
        });
        match finish(&mut w, id) {
            JobEvent::Done {
                output:
                    JobOutput::Projected {
                        projection,
                        quality,
                        ..
                    },
                ..
            } => {
                assert_eq!(projection.rows.len(), 2000);
                assert_eq!(projection.coords.len(), 4000);
                let q = quality.expect("quality");
                assert!(q.trustworthiness > 0.5 && q.trustworthiness <= 1.0);
            }
            e => panic!("pca: {e:?}"),
        }
        // A long t-SNE cancelled after its first progress report.
        let id = w.submit(Job::Project {
            set: small,
            spec: ProjectSpec::Tsne(TsneParams {
                iterations: 100_000,
                early_exaggeration_iter: 250,
                ..TsneParams::default()
            }),
            quality_k: 10,
        });
        let mut saw_layout = false;
        loop {
            let e = w.wait(Duration::from_secs(120)).expect("event");
            match e {
                JobEvent::Progress { layout, .. } => {
                    saw_layout |= layout.is_some_and(|l| l.len() == 4000);
                    if saw_layout {
                        w.cancel(id);
                    }
                }
                JobEvent::Cancelled { id: i } if i == id => break,
                e => panic!("t-SNE: {e:?}"),
            }
        }
        assert!(saw_layout);
        assert_eq!(w.running(), 0);
    }

    #[test]
    fn compare_sends_maps_first_then_statistics_and_the_tokenizer_diff() {
        let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
        let demo = formats::demo_set(Some(3000)).expect("demo");
        // Two versions "encoded" from one corpus by two model folders (their provenance says
        // so): the comparison adds the tokenizer diff.
        let tagged = |model: &str| {
            let mut s = demo.clone();
            s.provenance.params.insert(
                "model".into(),
                root.join("encoder").join(model).display().to_string(),
            );
            s.provenance.params.insert(
                "corpus".into(),
                root.join("tokdiff/sample.txt").display().to_string(),
            );
            Arc::new(s)
        };
        let mut w = Worker::new();
        let first = w.submit(Job::Compare {
            sets: vec![tagged("tiny-bert"), tagged("tiny-bert-normalized")],
            options: CompareOptions {
                ks: vec![10],
                ..CompareOptions::default()
            },
        });
        let mut maps_first = false;
        loop {
            let e = w.wait(Duration::from_secs(120)).expect("event");
            assert_eq!(e.id(), first);
            match e {
                JobEvent::CompareLayouts { layouts, .. } => {
                    assert_eq!(layouts.coords.len(), 2);
                    assert_eq!(layouts.tokens.len(), 3000);
                    maps_first = true;
                }
                JobEvent::Progress { .. } => {}
                JobEvent::Done {
                    output:
                        JobOutput::Compared {
                            comparisons,
                            tokenizers,
                            ..
                        },
                    ..
                } => {
                    assert!(maps_first, "the maps come before the statistics");
                    assert_eq!(comparisons[0].jaccard[0].mean, 1.0);
                    let td = tokenizers[0]
                        .as_ref()
                        .expect("a diff")
                        .as_ref()
                        .expect("ok");
                    assert!(td.identical_files && td.words_checked >= 300);
                    break;
                }
                e => panic!("compare: {e:?}"),
            }
        }
        // Versions with no model provenance get no tokenizer diff; a missing folder is
        // reported with the comparison.
        let mut gone = (*tagged("tiny-bert")).clone();
        gone.provenance
            .params
            .insert("model".into(), "/nonexistent/model".into());
        let id = w.submit(Job::Compare {
            sets: vec![Arc::new(demo.clone()), tagged("tiny-bert"), Arc::new(gone)],
            options: CompareOptions {
                ks: vec![5],
                ..CompareOptions::default()
            },
        });
        match finish(&mut w, id) {
            JobEvent::Done {
                output: JobOutput::Compared { tokenizers, .. },
                ..
            } => {
                assert!(tokenizers[0].is_none());
                let e = tokenizers[1]
                    .as_ref()
                    .expect("tried")
                    .as_ref()
                    .expect_err("missing");
                assert!(e.contains("/nonexistent/model"), "{e}");
            }
            e => panic!("compare: {e:?}"),
        }
    }

    #[test]
    fn report_job_writes_its_files_with_progress_and_fails_as_an_event() {
        let dir = tempfile::tempdir().expect("tmp");
        let a = Arc::new(formats::demo_set(Some(2000)).expect("demo"));
        let b = Arc::new(formats::demo_set(Some(1500)).expect("demo"));
        let options = ReportOptions {
            sections: vec![Section::Datasets, Section::Measures, Section::Maps],
            map_points: 300,
            ..ReportOptions::default()
        };
        let job = |versions: Vec<(String, Arc<EmbeddingSet>)>, out: PathBuf| Job::Report {
            versions,
            options: options.clone(),
            out,
            format: OutputFormat::Markdown,
        };
        let mut w = Worker::new();
        let out = dir.path().join("r.md");
        let id = w.submit(job(
            vec![("2k".into(), a.clone()), ("1.5k".into(), b.clone())],
            out.clone(),
        ));
        let mut fractions = Vec::new();
        let run = loop {
            match w.wait(Duration::from_secs(120)).expect("event") {
                JobEvent::Progress { fraction, .. } => fractions.extend(fraction),
                JobEvent::Done {
                    output: JobOutput::Report(run),
                    ..
                } => break run,
                e => panic!("report: {e:?}"),
            }
        };
        assert!(!fractions.is_empty());
        assert!(fractions.windows(2).all(|f| f[0] <= f[1]), "{fractions:?}");
        assert!(fractions.iter().all(|f| (0.0..=1.0).contains(f)));
        assert_eq!(run.files.last(), Some(&out));
        // The charts (a map per version, the neighbourhood overlap) beside the Markdown.
        let names: Vec<String> = run
            .files
            .iter()
            .filter_map(|f| f.file_name().map(|n| n.to_string_lossy().into_owned()))
            .collect();
        assert_eq!(
            names,
            vec!["overlap_1.svg", "map_A.svg", "map_B.svg", "r.md"],
            "{:?}",
            run.files
        );
        assert!(run.files.iter().all(|f| f.is_file()));
        assert_eq!(
            std::fs::read_to_string(&out).expect("md"),
            run.preview,
            "the preview is the file"
        );
        assert_eq!(run.versions, vec!["2k", "1.5k"]);
        assert_eq!(run.sections, options.sections);
        assert!(run.warnings.is_empty(), "{:?}", run.warnings);
        // One version, and a "folder" that is a file: failures, with the reason.
        let id1 = w.submit(job(vec![("2k".into(), a.clone())], dir.path().join("x.md")));
        match finish(&mut w, id1) {
            JobEvent::Failed { error, .. } => assert!(error.contains("at least two"), "{error}"),
            e => panic!("one version: {e:?}"),
        }
        let file = dir.path().join("plain.txt");
        std::fs::write(&file, "not a folder").expect("write");
        let id2 = w.submit(job(
            vec![("2k".into(), a), ("1.5k".into(), b)],
            file.join("r.md"),
        ));
        match finish(&mut w, id2) {
            JobEvent::Failed { error, .. } => assert!(error.contains("plain.txt"), "{error}"),
            e => panic!("a file as the folder: {e:?}"),
        }
        assert_ne!(id, id2);
        assert_eq!(w.running(), 0);
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(duration_text(42.4), "42 s");
        assert_eq!(duration_text(185.0), "3 min 05 s");
        assert_eq!(duration_text(3720.0), "1 h 02 min");
    }
}
