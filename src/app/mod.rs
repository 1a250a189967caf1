//! L4: the app's state and the commands that change it, free of egui so every flow is
//! unit-testable. The UI reads `App` and sends `Command`s; `App::apply` runs them once per frame
//! and `App::poll` folds finished background jobs (engine::jobs) into the state.

pub mod bias;
pub mod colors;
pub mod compare;
pub mod grid;
pub mod labels;
pub mod report;
pub mod session;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::analogy::{self, Method};
use crate::analysis::knn::{KnnIndex, Metric};
use crate::analysis::project::quality::Quality;
use crate::analysis::project::tsne::TsneParams;
use crate::core::{EmbeddingSet, RowScan};
use crate::engine::device::BackendInfo;
use crate::engine::jobs::{
    Benchmarks, EncodeSpec, Job, JobEvent, JobId, JobOutput, ProjectSpec, Waker, Worker,
};
use crate::formats::{self, LoadOptions};
use colors::{ColorMode, Legend, Rgba};
use grid::Grid;
pub use session::{Bookmark, Session, Settings};

/// A 2-D map of a data set.
#[derive(Debug, Clone)]
pub struct MapView {
    /// "PCA", "t-SNE", "semantic axes".
    pub method: String,
    /// Parameters in words (shown with the map and saved in sessions).
    pub params: String,
    /// Point positions; point `i` is row `rows[i]` of the set.
    pub coords: Vec<[f32; 2]>,
    pub rows: Vec<u32>,
    /// Point of each set row (`u32::MAX` when the row is not on the map).
    pub point_of_row: Vec<u32>,
    pub grid: Grid,
    pub quality: Option<Quality>,
    /// Bumped whenever coordinates change (the renderer re-uploads).
    pub version: u64,
    /// False while t-SNE is still moving the points.
    pub finished: bool,
    pub seconds: Option<f64>,
    pub notes: Vec<String>,
}

impl MapView {
    fn new(set_rows: usize, rows: Vec<u32>, coords: Vec<[f32; 2]>, method: &str) -> MapView {
        let mut point_of_row = vec![u32::MAX; set_rows];
        for (p, &r) in rows.iter().enumerate() {
            if let Some(slot) = point_of_row.get_mut(r as usize) {
                *slot = p as u32;
            }
        }
        let grid = Grid::new(&coords);
        MapView {
            method: method.to_string(),
            params: String::new(),
            coords,
            rows,
            point_of_row,
            grid,
            quality: None,
            version: next_version(),
            finished: true,
            seconds: None,
            notes: Vec::new(),
        }
    }

    /// The map position of a set row.
    pub fn position(&self, row: usize) -> Option<[f32; 2]> {
        let p = *self.point_of_row.get(row)?;
        (p != u32::MAX).then(|| self.coords[p as usize])
    }

    /// The set row nearest to `p` within `radius` map units.
    pub fn row_at(&self, p: [f32; 2], radius: f32) -> Option<usize> {
        self.grid
            .nearest(&self.coords, p, radius)
            .map(|i| self.rows[i] as usize)
    }
}

fn next_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static V: AtomicU64 = AtomicU64::new(1);
    V.fetch_add(1, Ordering::Relaxed)
}

/// One open data set.
pub struct Dataset {
    pub name: String,
    pub set: Arc<EmbeddingSet>,
    pub scan: RowScan,
    pub map: Option<MapView>,
    /// The projection job drawing this set's map, if one runs.
    pub map_job: Option<JobId>,
    /// Selected rows, in the order they were selected (the last one is inspected).
    pub selection: Vec<usize>,
    pub color: ColorMode,
    /// Colours per set row for the current mode, and the legend.
    pub colors: Vec<Rgba>,
    pub legend: Legend,
    pub clusters: Option<Vec<u32>>,
}

impl Dataset {
    pub fn new(name: String, set: Arc<EmbeddingSet>) -> Dataset {
        let scan = RowScan::new(&set.matrix);
        let n = set.rows();
        Dataset {
            name,
            set,
            scan,
            map: None,
            map_job: None,
            selection: Vec::new(),
            color: ColorMode::Uniform,
            colors: vec![colors::UNIFORM; n],
            legend: Legend::None,
            clusters: None,
        }
    }

    pub fn token(&self, row: usize) -> &str {
        self.set.vocab.token(row)
    }

    /// The inspected row: the last one selected.
    pub fn primary(&self) -> Option<usize> {
        self.selection.last().copied()
    }

    /// One line per provenance fact, for the data set panel and reports.
    pub fn provenance_lines(&self) -> Vec<String> {
        let p = &self.set.provenance;
        let mut out = vec![
            format!("source: {}", p.source),
            format!("format: {}", p.format),
            format!("{} rows x {} dimensions", self.set.rows(), self.set.dim()),
        ];
        if let Some(h) = &p.sha256 {
            out.push(format!("sha256: {h}"));
        }
        if let Some(m) = &p.model_id {
            out.push(format!("model: {m}"));
        }
        for (k, v) in &p.params {
            out.push(format!("{k}: {v}"));
        }
        out
    }
}

/// How the search box matches tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SearchMode {
    #[default]
    Exact,
    Prefix,
    Regex,
}

#[derive(Debug, Clone, Default)]
pub struct SearchState {
    pub text: String,
    pub mode: SearchMode,
    /// Matching rows, ascending.
    pub matches: Vec<usize>,
    pub error: Option<String>,
    /// Bumped on each search (the map centres on the matches once).
    pub generation: u64,
}

/// What the inspector shows for the selected token.
#[derive(Debug, Clone)]
pub struct Inspector {
    pub k: usize,
    pub metric: Metric,
    /// (row, score) of the inspected row's neighbours in the original space.
    pub neighbours: Vec<(usize, f32)>,
    pub neighbours_of: Option<usize>,
    pub analogy: Option<Result<Vec<(String, f32)>, String>>,
    pub similarity: Option<Result<f32, String>>,
    /// Benchmark results of a data set (by name).
    pub benchmarks: Option<(String, Benchmarks)>,
}

impl Default for Inspector {
    fn default() -> Self {
        Inspector {
            k: 10,
            metric: Metric::Cosine,
            neighbours: Vec::new(),
            neighbours_of: None,
            analogy: None,
            similarity: None,
            benchmarks: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Error,
}

/// A message for the user; errors keep their details.
#[derive(Debug, Clone)]
pub struct Notification {
    pub level: Level,
    pub title: String,
    pub details: String,
}

/// A running job as the UI shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: JobId,
    pub label: String,
    pub fraction: Option<f32>,
    pub text: String,
    /// The data set a projection job belongs to.
    pub dataset: Option<usize>,
    /// The job's parameters in words (shown with the map it draws).
    pub params: String,
    /// For projections: the method's name ("PCA", "t-SNE", "semantic axes").
    pub method: String,
    pub kind: JobKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Load,
    Project,
    Encode,
    Evaluate,
    Compare,
    /// Bias probes (WEAT, direct bias, hard debiasing).
    Bias,
    /// A comparison report being built and written.
    Report,
}

/// Every change the UI can ask for.
#[derive(Debug, Clone)]
pub enum Command {
    OpenPath(PathBuf),
    OpenDemo,
    SetActive(usize),
    CloseDataset(usize),
    Search(String, SearchMode),
    /// Select a row; `add` keeps the current selection (Ctrl/Shift-click).
    Select {
        row: usize,
        add: bool,
    },
    SelectRows {
        rows: Vec<usize>,
        add: bool,
    },
    ClearSelection,
    SetK(usize),
    SetMetric(Metric),
    Project(ProjectSpec),
    CancelJob(JobId),
    Analogy {
        a: String,
        b: String,
        c: String,
        method: Method,
    },
    Similarity(String, String),
    /// Runs the bundled benchmarks on the active data set.
    Evaluate,
    Encode(EncodeSpec),
    SetColor(ColorMode),
    Dismiss(usize),
    SaveSession(PathBuf),
    OpenSession(PathBuf),
    AddBookmark(Bookmark),
    ExportSelectionCsv(PathBuf),
    ExportNeighboursCsv(PathBuf),
    /// Compare these data sets (two or more, each with the next) on aligned maps.
    StartCompare(Vec<usize>),
    /// Select a word on every compare map (None clears).
    CompareSelect(Option<String>),
    CloseCompare,
    /// The bias probes panel.
    Bias(bias::BiasCommand),
    /// The export report dialog.
    Report(report::ReportCommand),
}

/// The corpus file formats offered to the encoder (by extension).
pub const CORPUS_EXTENSIONS: [&str; 6] = ["txt", "csv", "tsv", "jsonl", "ndjson", "parquet"];

pub struct App {
    pub worker: Worker,
    pub datasets: Vec<Dataset>,
    pub active: Option<usize>,
    pub jobs: Vec<JobView>,
    pub notifications: Vec<Notification>,
    pub search: SearchState,
    pub inspector: Inspector,
    pub settings: Settings,
    /// The backend the last encode job ran on.
    pub encode_backend: Option<BackendInfo>,
    /// A corpus the user opened: the encode panel asks for a model.
    pub pending_corpus: Option<PathBuf>,
    pub bookmarks: Vec<Bookmark>,
    /// Where the settings live (None: not persisted, as in tests).
    pub settings_path: Option<PathBuf>,
    /// Sets loaded from a session wait for their maps' coordinates (by path).
    pending_maps: Vec<(PathBuf, session::SavedMap, Vec<usize>)>,
    /// The compare screen, while open.
    pub compare: Option<compare::CompareView>,
    /// The bias probes panel.
    pub bias: bias::BiasState,
    /// The export report dialog.
    pub report: report::ReportState,
}

impl App {
    pub fn new(settings: Settings, settings_path: Option<PathBuf>) -> App {
        App {
            worker: Worker::new(),
            datasets: Vec::new(),
            active: None,
            jobs: Vec::new(),
            notifications: Vec::new(),
            search: SearchState::default(),
            inspector: Inspector::default(),
            settings,
            encode_backend: None,
            pending_corpus: None,
            bookmarks: Vec::new(),
            settings_path,
            pending_maps: Vec::new(),
            compare: None,
            bias: bias::BiasState::default(),
            report: report::ReportState::default(),
        }
    }

    pub fn set_waker(&mut self, w: Waker) {
        self.worker.set_waker(w);
    }

    pub fn active_dataset(&self) -> Option<&Dataset> {
        self.active.and_then(|i| self.datasets.get(i))
    }

    fn active_mut(&mut self) -> Option<&mut Dataset> {
        self.active.and_then(|i| self.datasets.get_mut(i))
    }

    pub fn error(&mut self, title: impl Into<String>, details: impl Into<String>) {
        self.notifications.push(Notification {
            level: Level::Error,
            title: title.into(),
            details: details.into(),
        });
    }

    pub fn info(&mut self, title: impl Into<String>) {
        self.notifications.push(Notification {
            level: Level::Info,
            title: title.into(),
            details: String::new(),
        });
    }

    fn start(&mut self, job: Job, kind: JobKind, dataset: Option<usize>) -> JobId {
        let label = job.label();
        let id = self.worker.submit(job);
        self.jobs.push(JobView {
            id,
            label,
            fraction: None,
            text: String::new(),
            dataset,
            kind,
            params: String::new(),
            method: String::new(),
        });
        id
    }

    /// Whether a path names a corpus rather than a vector file.
    pub fn looks_like_corpus(path: &Path) -> bool {
        let ext = path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if !CORPUS_EXTENSIONS.contains(&ext.as_str()) {
            return false;
        }
        // A vector file of these extensions starts with numbers after its first field; a
        // corpus reads as words. Sniff the first line.
        formats::detect(path).is_err()
    }

    pub fn apply(&mut self, cmd: Command) {
        match cmd {
            Command::OpenDemo => {
                self.start(Job::Demo, JobKind::Load, None);
            }
            Command::OpenPath(path) => self.open_path(path),
            Command::StartCompare(list) => self.start_compare(list),
            Command::CompareSelect(token) => {
                if let Some(c) = &mut self.compare {
                    c.select(token);
                }
            }
            Command::Bias(c) => self.apply_bias(c),
            Command::Report(c) => self.apply_report(c),
            Command::CloseCompare => {
                if let Some(j) = self.compare.take().and_then(|c| c.job) {
                    self.worker.cancel(j);
                }
            }
            Command::SetActive(i) => {
                if i < self.datasets.len() {
                    self.active = Some(i);
                    self.refresh_search();
                    self.refresh_neighbours();
                }
            }
            Command::CloseDataset(i) => {
                if i < self.datasets.len() {
                    if let Some(j) = self.datasets[i].map_job {
                        self.worker.cancel(j);
                    }
                    self.datasets.remove(i);
                    for j in &mut self.jobs {
                        j.dataset = match j.dataset {
                            Some(d) if d == i => None,
                            Some(d) if d > i => Some(d - 1),
                            d => d,
                        };
                    }
                    self.active = if self.datasets.is_empty() {
                        None
                    } else {
                        Some(i.min(self.datasets.len() - 1))
                    };
                    self.refresh_search();
                    self.refresh_neighbours();
                }
            }
            Command::Search(text, mode) => {
                self.search.text = text;
                self.search.mode = mode;
                self.refresh_search();
                self.search.generation += 1;
                // An exact hit is selected, as a user expects from a search box.
                if mode == SearchMode::Exact && self.search.matches.len() == 1 {
                    let row = self.search.matches[0];
                    self.apply(Command::Select { row, add: false });
                }
            }
            Command::Select { row, add } => {
                if let Some(d) = self.active_mut()
                    && row < d.set.rows()
                {
                    if !add {
                        d.selection.clear();
                    }
                    d.selection.retain(|&r| r != row);
                    d.selection.push(row);
                }
                self.refresh_neighbours();
            }
            Command::SelectRows { rows, add } => {
                if let Some(d) = self.active_mut() {
                    if !add {
                        d.selection.clear();
                    }
                    let n = d.set.rows();
                    let mut seen: std::collections::HashSet<usize> =
                        d.selection.iter().copied().collect();
                    for r in rows {
                        if r < n && seen.insert(r) {
                            d.selection.push(r);
                        }
                    }
                }
                self.refresh_neighbours();
            }
            Command::ClearSelection => {
                if let Some(d) = self.active_mut() {
                    d.selection.clear();
                }
                self.refresh_neighbours();
            }
            Command::SetK(k) => {
                self.inspector.k = k.clamp(1, 1000);
                self.refresh_neighbours();
            }
            Command::SetMetric(m) => {
                self.inspector.metric = m;
                self.refresh_neighbours();
            }
            Command::Project(spec) => self.project_active(spec),
            Command::CancelJob(id) => self.worker.cancel(id),
            Command::Analogy { a, b, c, method } => {
                let result = self.active_dataset().map(|d| {
                    let index = KnnIndex::with_scan(&d.set, &d.scan);
                    analogy::analogy(&index, a.trim(), b.trim(), c.trim(), 10, method, None)
                        .map(|v| {
                            v.into_iter()
                                .map(|n| (d.token(n.index).to_string(), n.score))
                                .collect()
                        })
                        .map_err(|e| e.to_string())
                });
                self.inspector.analogy = result;
            }
            Command::Similarity(a, b) => {
                let result = self
                    .active_dataset()
                    .map(|d| similarity(&d.set, a.trim(), b.trim()));
                self.inspector.similarity = result;
            }
            Command::Evaluate => {
                if let Some(i) = self.active {
                    let set = self.datasets[i].set.clone();
                    let id = self.start(Job::Evaluate { set }, JobKind::Evaluate, Some(i));
                    let _ = id;
                }
            }
            Command::Encode(spec) => {
                self.pending_corpus = None;
                self.start(Job::Encode(spec), JobKind::Encode, None);
            }
            Command::SetColor(mode) => {
                if let Some(i) = self.active {
                    self.set_color(i, mode);
                }
            }
            Command::Dismiss(i) => {
                if i < self.notifications.len() {
                    self.notifications.remove(i);
                }
            }
            Command::SaveSession(path) => match self.session().save(&path) {
                Ok(()) => self.info(format!("session saved to {}", path.display())),
                Err(e) => self.error("could not save the session", e),
            },
            Command::OpenSession(path) => match Session::load(&path) {
                Ok(s) => self.restore(s),
                Err(e) => self.error("could not open the session", e),
            },
            Command::AddBookmark(b) => self.bookmarks.push(b),
            Command::ExportSelectionCsv(path) => {
                let r = self
                    .active_dataset()
                    .map(session::selection_csv)
                    .ok_or("no data set".to_string())
                    .and_then(|text| write_text(&path, &text));
                self.report_export(r, &path);
            }
            Command::ExportNeighboursCsv(path) => {
                let r = self
                    .active_dataset()
                    .map(|d| session::neighbours_csv(d, &self.inspector))
                    .ok_or("no data set".to_string())
                    .and_then(|text| write_text(&path, &text));
                self.report_export(r, &path);
            }
        }
    }

    fn report_export(&mut self, r: Result<(), String>, path: &Path) {
        match r {
            Ok(()) => self.info(format!("wrote {}", path.display())),
            Err(e) => self.error(format!("could not write {}", path.display()), e),
        }
    }

    fn open_path(&mut self, path: PathBuf) {
        self.settings.add_recent(&path);
        self.save_settings();
        if path.is_dir() {
            // A model folder: the encode panel takes it.
            self.pending_corpus = None;
            self.settings.last_model = Some(path);
            self.info("model folder chosen: pick a corpus in the Encode panel");
            return;
        }
        if Self::looks_like_corpus(&path) {
            self.pending_corpus = Some(path);
            return;
        }
        let options = LoadOptions {
            cache_dir: formats::default_cache_dir(),
            ..LoadOptions::default()
        };
        self.start(Job::Load { path, options }, JobKind::Load, None);
    }

    fn project_active(&mut self, spec: ProjectSpec) {
        let Some(i) = self.active else {
            self.error("nothing to project", "open a data set first");
            return;
        };
        self.project(i, spec);
    }

    /// Starts a projection of data set `i` (a running one is cancelled first).
    pub fn project(&mut self, i: usize, spec: ProjectSpec) {
        let Some(d) = self.datasets.get(i) else {
            return;
        };
        if let Some(j) = d.map_job {
            self.worker.cancel(j);
        }
        let set = d.set.clone();
        let params = describe(&spec);
        let id = self.start(
            Job::Project {
                set,
                spec: spec.clone(),
                quality_k: 10,
            },
            JobKind::Project,
            Some(i),
        );
        if let Some(d) = self.datasets.get_mut(i) {
            d.map_job = Some(id);
        }
        if let Some(j) = self.jobs.last_mut() {
            j.label = format!("{} of {}", spec.name(), self.datasets[i].name);
            j.params = params;
            j.method = spec.name().to_string();
        }
    }

    /// Opens the compare screen on data sets `list` (two or more, compared in that order).
    fn start_compare(&mut self, list: Vec<usize>) {
        let mut seen = Vec::new();
        for i in list {
            if i < self.datasets.len() && !seen.contains(&i) {
                seen.push(i);
            }
        }
        if seen.len() < 2 {
            self.error(
                "compare needs two or more data sets",
                "Open the versions to compare (File > Open), then pick them in Compare.",
            );
            return;
        }
        if let Some(j) = self.compare.take().and_then(|c| c.job) {
            self.worker.cancel(j);
        }
        let sets = seen.iter().map(|&i| self.datasets[i].set.clone()).collect();
        let options = crate::analysis::compare::CompareOptions {
            ks: vec![10],
            drift_pairs: 20_000,
            ..Default::default()
        };
        let id = self.start(Job::Compare { sets, options }, JobKind::Compare, None);
        let versions: Vec<(usize, &Dataset)> =
            seen.iter().map(|&i| (i, &self.datasets[i])).collect();
        self.compare = Some(compare::CompareView::new(&versions, id));
    }

    /// Folds finished and progressing jobs into the state. Returns whether anything changed.
    pub fn poll(&mut self) -> bool {
        let events = self.worker.poll();
        let changed = !events.is_empty();
        for e in events {
            self.handle(e);
        }
        changed
    }

    /// Whether background work is still running.
    pub fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    fn handle(&mut self, e: JobEvent) {
        let id = e.id();
        let job = self.jobs.iter().position(|j| j.id == id);
        let view = job.map(|j| self.jobs[j].clone());
        if e.is_final() {
            if let Some(j) = job {
                self.jobs.remove(j);
            }
            for d in &mut self.datasets {
                if d.map_job == Some(id) {
                    d.map_job = None;
                }
            }
        }
        match e {
            JobEvent::Progress {
                fraction,
                text,
                layout,
                ..
            } => {
                if let Some(j) = job {
                    self.jobs[j].fraction = fraction;
                    self.jobs[j].text = text;
                }
                if let (Some(layout), Some(v)) = (layout, view.as_ref())
                    && let Some(ds) = v.dataset
                {
                    self.preview_layout(ds, id, &layout, &v.method, &v.params);
                }
            }
            JobEvent::Backend { info, .. } => self.encode_backend = Some(info),
            JobEvent::CompareLayouts {
                layouts, seconds, ..
            } => {
                if let Some(c) = &mut self.compare
                    && c.job == Some(id)
                {
                    c.set_layouts(layouts, seconds);
                }
            }
            JobEvent::Done { output, .. } => match output {
                JobOutput::Loaded(set) => self.add_dataset(set),
                JobOutput::Encoded {
                    set,
                    backend,
                    documents,
                    docs_per_s,
                } => {
                    self.info(format!(
                        "encoded {documents} documents at {docs_per_s:.1}/s on {}",
                        backend.describe()
                    ));
                    self.encode_backend = Some(backend);
                    self.add_dataset(set);
                }
                JobOutput::Compared {
                    comparisons,
                    tokenizers,
                    seconds,
                } => {
                    if let Some(c) = &mut self.compare
                        && c.job == Some(id)
                    {
                        c.job = None;
                        c.tokenizers = tokenizers;
                        c.set_results(comparisons, seconds);
                    }
                }
                JobOutput::Weat(run) => self.finish_weat(id, run),
                JobOutput::DirectBias(run) => self.finish_direct(id, *run),
                JobOutput::Report(run) => self.finish_report(id, *run),
                JobOutput::Evaluated(b) => {
                    let name = view
                        .as_ref()
                        .and_then(|v| v.dataset)
                        .and_then(|d| self.datasets.get(d))
                        .map(|d| d.name.clone())
                        .unwrap_or_default();
                    self.inspector.benchmarks = Some((name, b));
                }
                JobOutput::Projected {
                    projection,
                    quality,
                    seconds,
                } => {
                    if let Some(v) = view.as_ref()
                        && let Some(ds) = v.dataset
                    {
                        self.finish_map(ds, projection, quality, seconds, &v.params);
                    }
                }
            },
            JobEvent::Failed { error, .. } => {
                if let Some(c) = &mut self.compare
                    && c.job == Some(id)
                {
                    c.job = None;
                }
                self.bias_job_ended(id);
                self.report_job_ended(id, Some(&error));
                let what = view.map(|v| v.label).unwrap_or_else(|| "a job".into());
                self.error(format!("{what} failed"), error);
            }
            JobEvent::Cancelled { .. } => {
                if let Some(c) = &mut self.compare
                    && c.job == Some(id)
                {
                    c.job = None;
                }
                self.bias_job_ended(id);
                self.report_job_ended(id, None);
                let what = view.map(|v| v.label).unwrap_or_else(|| "a job".into());
                self.info(format!("{what}: cancelled"));
            }
        }
    }

    /// Shows a layout before its job ends: t-SNE frames while it optimises, and every map
    /// while its quality is computed.
    fn preview_layout(&mut self, ds: usize, id: JobId, layout: &[f32], method: &str, params: &str) {
        let Some(d) = self.datasets.get_mut(ds) else {
            return;
        };
        if d.map_job != Some(id) {
            return;
        }
        let n = layout.len() / 2;
        let coords: Vec<[f32; 2]> = layout.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
        match &mut d.map {
            Some(m) if m.method == method && !m.finished && m.coords.len() == n => {
                m.coords = coords;
                m.grid = Grid::new(&m.coords);
                m.version = next_version();
            }
            _ => {
                // The projected rows are the finite rows, in order.
                let rows: Vec<u32> = (0..d.set.rows() as u32)
                    .filter(|&r| d.scan.norms[r as usize].is_finite())
                    .collect();
                if rows.len() == n {
                    let mut m = MapView::new(d.set.rows(), rows, coords, method);
                    m.finished = false;
                    m.params = params.to_string();
                    d.map = Some(m);
                }
            }
        }
    }

    fn finish_map(
        &mut self,
        ds: usize,
        p: crate::analysis::project::Projection,
        quality: Option<Quality>,
        seconds: f64,
        params: &str,
    ) {
        let method = match &p.details {
            crate::analysis::project::Details::Pca { .. } => "PCA",
            crate::analysis::project::Details::Tsne { .. } => "t-SNE",
            crate::analysis::project::Details::Axes { .. } => "semantic axes",
        };
        let Some(d) = self.datasets.get_mut(ds) else {
            return;
        };
        let coords: Vec<[f32; 2]> = p
            .coords
            .chunks_exact(p.dims.max(1))
            .map(|c| [c[0], c.get(1).copied().unwrap_or(0.0)])
            .collect();
        let rows: Vec<u32> = p.rows.iter().map(|&r| r as u32).collect();
        let mut m = MapView::new(d.set.rows(), rows, coords, method);
        m.params = params.to_string();
        if let crate::analysis::project::Details::Pca {
            explained_variance_ratio,
            ..
        } = &p.details
        {
            let kept: f64 = explained_variance_ratio.iter().sum();
            m.params = format!("{params}, {:.1}% of the variance", 100.0 * kept);
        }
        m.quality = quality;
        m.seconds = Some(seconds);
        m.notes = p.notes;
        if let crate::analysis::project::Details::Axes { missing, .. } = &p.details
            && !missing.is_empty()
        {
            m.notes
                .push(format!("not in the vocabulary: {}", missing.join(", ")));
        }
        d.map = Some(m);
        if d.color == ColorMode::Recall {
            self.set_color(ds, ColorMode::Recall);
        }
    }

    fn add_dataset(&mut self, set: Arc<EmbeddingSet>) {
        self.add_dataset_named(set, None);
    }

    /// Adds a set under `name` (default: its file's name), made unique with " (2)", ...;
    /// returns the name given.
    fn add_dataset_named(&mut self, set: Arc<EmbeddingSet>, name: Option<String>) -> String {
        // A derived set (named by its maker) never takes a session's pending map.
        let derived = name.is_some();
        let base = name.unwrap_or_else(|| {
            let base = Path::new(&set.provenance.source)
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_else(|| set.provenance.source.clone());
            base.trim_start_matches("embedded:").to_string()
        });
        let mut name = base.clone();
        let mut k = 2;
        while self.datasets.iter().any(|d| d.name == name) {
            name = format!("{base} ({k})");
            k += 1;
        }
        let source = PathBuf::from(&set.provenance.source);
        let i = self.datasets.len();
        self.datasets.push(Dataset::new(name, set));
        self.active = Some(i);
        let notes = &self.datasets[i].set.notes;
        if !notes.duplicates.is_empty() {
            let n = notes.duplicates.len();
            self.info(format!(
                "{}: {n} duplicate tokens dropped (first kept)",
                self.datasets[i].name
            ));
        }
        // A session waiting for this file restores its map and selection.
        let pending = (!derived)
            .then(|| self.pending_maps.iter().position(|(p, _, _)| *p == source))
            .flatten();
        if let Some(k) = pending {
            let (_, saved, selection) = self.pending_maps.remove(k);
            self.datasets[i].selection = selection
                .into_iter()
                .filter(|&r| r < self.datasets[i].set.rows())
                .collect();
            self.project(i, saved.spec());
        } else {
            self.project(i, ProjectSpec::Pca);
        }
        self.refresh_search();
        self.refresh_neighbours();
        self.datasets[i].name.clone()
    }

    fn refresh_search(&mut self) {
        let Some(d) = self.active.and_then(|i| self.datasets.get(i)) else {
            self.search.matches.clear();
            return;
        };
        match search(&d.set, &self.search.text, self.search.mode) {
            Ok(m) => {
                self.search.matches = m;
                self.search.error = None;
            }
            Err(e) => {
                self.search.matches.clear();
                self.search.error = Some(e);
            }
        }
    }

    fn refresh_neighbours(&mut self) {
        let Some(d) = self.active.and_then(|i| self.datasets.get(i)) else {
            self.inspector.neighbours.clear();
            self.inspector.neighbours_of = None;
            return;
        };
        let Some(row) = d.primary() else {
            self.inspector.neighbours.clear();
            self.inspector.neighbours_of = None;
            return;
        };
        let index = KnnIndex::with_scan(&d.set, &d.scan);
        let result = index
            .token_query(d.token(row), self.inspector.metric)
            .and_then(|q| index.search(&[q], self.inspector.k, self.inspector.metric, None));
        self.inspector.neighbours_of = Some(row);
        match result {
            Ok(mut v) => {
                self.inspector.neighbours = v
                    .pop()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| (n.index, n.score))
                    .collect();
            }
            Err(e) => {
                self.inspector.neighbours.clear();
                let token = d.token(row).to_string();
                self.error(format!("no neighbours for {token}"), e.to_string());
            }
        }
    }

    fn set_color(&mut self, i: usize, mode: ColorMode) {
        let Some(d) = self.datasets.get_mut(i) else {
            return;
        };
        let n = d.set.rows();
        let (colors, legend) = match &mode {
            ColorMode::Uniform => (vec![colors::UNIFORM; n], Legend::None),
            ColorMode::Norm => colors::numeric(&d.scan.norms, "vector norm"),
            ColorMode::Recall => match d
                .map
                .as_ref()
                .and_then(|m| m.quality.as_ref().map(|q| (m, q)))
            {
                Some((m, q)) => {
                    let mut per_row = vec![f32::NAN; n];
                    for (p, &r) in m.rows.iter().enumerate() {
                        per_row[r as usize] = q.recall.get(p).copied().unwrap_or(f32::NAN);
                    }
                    colors::numeric(&per_row, &format!("kNN recall@{}", q.k))
                }
                None => (vec![colors::MISSING; n], Legend::None),
            },
            ColorMode::Column(name) => match d.set.metadata.column(name) {
                Some(col) => match colors::as_numbers(&col.values) {
                    Some(v) => colors::numeric(&v, name),
                    None => {
                        let refs: Vec<&str> = col.values.iter().map(String::as_str).collect();
                        colors::categorical(&refs, "(empty)")
                    }
                },
                None => (vec![colors::MISSING; n], Legend::None),
            },
            ColorMode::Cluster => {
                if d.clusters.is_none() {
                    d.clusters = Some(crate::analysis::cluster::kmeans(&d.set.matrix, 10, 0));
                }
                let labels: Vec<String> = d
                    .clusters
                    .as_ref()
                    .map(|c| c.iter().map(|k| format!("cluster {k}")).collect())
                    .unwrap_or_default();
                let refs: Vec<&str> = labels.iter().map(String::as_str).collect();
                colors::categorical(&refs, "(none)")
            }
        };
        d.colors = colors;
        d.legend = legend;
        d.color = mode;
    }

    pub fn save_settings(&mut self) {
        if let Some(p) = self.settings_path.clone()
            && let Err(e) = self.settings.save(&p)
        {
            self.error("could not save the settings", e);
        }
    }

    /// The current session (data sets, maps, selections, bookmarks).
    pub fn session(&self) -> Session {
        Session::capture(self)
    }

    fn restore(&mut self, s: Session) {
        for d in s.datasets {
            let path = PathBuf::from(&d.source);
            self.pending_maps.push((path.clone(), d.map, d.selection));
            if d.source.starts_with("embedded:") {
                self.apply(Command::OpenDemo);
            } else {
                let options = LoadOptions {
                    cache_dir: formats::default_cache_dir(),
                    ..LoadOptions::default()
                };
                self.start(Job::Load { path, options }, JobKind::Load, None);
            }
        }
        self.bookmarks = s.bookmarks;
    }
}

fn write_text(path: &Path, text: &str) -> Result<(), String> {
    formats::atomic_write(path, text.as_bytes()).map_err(|e| e.to_string())
}

fn describe(spec: &ProjectSpec) -> String {
    match spec {
        ProjectSpec::Pca => "2 components".into(),
        ProjectSpec::Tsne(p) => tsne_text(p),
        ProjectSpec::Axes { x, y } => match y {
            Some(y) if !y.trim().is_empty() => format!("x: {x}; y: {y}"),
            _ => format!("x: {x}; y: first principal component of the rest"),
        },
    }
}

fn tsne_text(p: &TsneParams) -> String {
    format!(
        "perplexity {}, {} iterations, seed {}",
        p.perplexity, p.iterations, p.seed
    )
}

/// Cosine similarity of two tokens.
pub fn similarity(set: &EmbeddingSet, a: &str, b: &str) -> Result<f32, String> {
    let va = set
        .vector(a)
        .ok_or(format!("'{a}' is not in the vocabulary"))?;
    let vb = set
        .vector(b)
        .ok_or(format!("'{b}' is not in the vocabulary"))?;
    let dot: f64 = va
        .iter()
        .zip(vb)
        .map(|(x, y)| f64::from(*x) * f64::from(*y))
        .sum();
    let na: f64 = va.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = vb.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    if na == 0.0 || nb == 0.0 || !dot.is_finite() {
        return Err("a zero or non-finite vector has no cosine".into());
    }
    Ok((dot / (na * nb)) as f32)
}

/// Rows whose token matches `text` (ascending). Regex errors are returned as text.
pub fn search(set: &EmbeddingSet, text: &str, mode: SearchMode) -> Result<Vec<usize>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match mode {
        SearchMode::Exact => set.vocab.get(text).into_iter().collect(),
        SearchMode::Prefix => set
            .vocab
            .iter()
            .enumerate()
            .filter(|(_, t)| t.starts_with(text))
            .map(|(i, _)| i)
            .collect(),
        SearchMode::Regex => {
            let re = regex::RegexBuilder::new(text)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| format!("regular expression: {e}"))?;
            set.vocab
                .iter()
                .enumerate()
                .filter(|(_, t)| re.is_match(t))
                .map(|(i, _)| i)
                .collect()
        }
    })
}

#[cfg(test)]
mod tests;
