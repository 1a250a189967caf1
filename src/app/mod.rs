//! L4: the app's state and the commands that change it, free of egui so every flow is
//! unit-testable. The UI reads `App` and sends `Command`s; `App::apply` runs them once per frame
//! and `App::poll` folds finished background jobs (engine::jobs) into the state.

pub mod autosave;
pub mod bias;
pub mod clusters;
pub mod colors;
pub mod compare;
mod dataset;
pub mod density;
pub mod drift;
mod error;
pub mod export;
pub mod filter;
pub mod grid;
mod inspector;
mod jobs;
pub mod labels;
pub mod occurrences;
mod place;
pub mod privacy;
pub mod report;
mod restore;
mod search;
pub mod session;
pub mod table;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::analysis::analogy::{self, Method};
use crate::analysis::knn::{KnnIndex, Metric, TopN};
use crate::core::{EmbeddingSet, RowKind, RowScan};
use crate::engine::device::BackendInfo;
use crate::engine::jobs::{
    Compare, Compared, Demo, EncodeSpec, Encoded, Evaluate, JobId, Load, Opened, Project,
    ProjectSpec, Waker, Worker, words_path,
};
use crate::formats::{self, LoadOptions};
use colors::ColorMode;
pub use dataset::{Dataset, MapView};
pub use error::AppError;
pub use inspector::{Inspector, similarity};
pub use jobs::{JobKind, JobView};
use occurrences::Occurrences;
pub use place::{PendingPlace, PlacedRows, placement_of};
pub use search::{SearchMode, SearchState, match_ranges, search};
pub use session::{Bookmark, Session, Settings};

/// How much a notification matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Info,
    Error,
}

/// A message for the user; errors keep their details.
#[derive(Debug, Clone)]
pub struct Notification {
    pub level: Severity,
    pub title: String,
    pub details: String,
}

/// Every change the UI can ask for.
#[derive(Debug, Clone)]
pub enum Command {
    OpenPath(PathBuf),
    OpenDemo,
    SetActive(usize),
    CloseDataset(usize),
    Search(String, SearchMode),
    /// The model folder searches by meaning encode their queries with (None: the set's own);
    /// a search by meaning that is shown runs again.
    SetSearchModel(Option<PathBuf>),
    /// How many documents a search by meaning lists.
    SetSearchK(usize),
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
    /// Clusters of the active map (HDBSCAN or k-means on its points), with keywords.
    ClusterMap(crate::engine::jobs::ClusterMethod),
    /// Drops the active map's clusters.
    ClearClusters,
    /// Selects the rows of a cluster of the active map.
    SelectCluster(i32),
    Dismiss(usize),
    SaveSession(PathBuf),
    OpenSession(PathBuf),
    AddBookmark(Bookmark),
    ExportSelectionCsv(PathBuf),
    /// The active map's cluster table (each cluster's size, label and keywords) as CSV.
    ExportClustersCsv(PathBuf),
    ExportNeighboursCsv(PathBuf),
    /// The native cache's size limit (`None`: the default), saved at once and applied: stale
    /// entries dropped, the least recently used evicted down to it.
    SetCacheLimit(Option<u64>),
    /// Empties the native cache.
    ClearCache,
    /// Writes the map as drawn (SVG text or PNG bytes made by the UI) to a file.
    ExportMap {
        path: PathBuf,
        image: MapImage,
    },
    /// The theme (saved at once).
    SetDark(bool),
    SetPointSize(f32),
    /// The side panels' widths (saved with the settings on exit).
    SetPanelWidths {
        left: f32,
        right: Option<f32>,
    },
    /// Shows or hides the side panels.
    SetPanelsOpen {
        left: bool,
        right: bool,
    },
    /// A message from the UI itself.
    Notify {
        error: bool,
        title: String,
        details: String,
    },
    /// Compare these data sets (two or more, each with the next) on aligned maps.
    StartCompare(Vec<usize>),
    /// Select a word on every compare map (None clears).
    CompareSelect(Option<String>),
    CloseCompare,
    /// The bias probes panel.
    Bias(bias::BiasCommand),
    /// The export report dialog.
    Report(report::ReportCommand),
    /// The Drift window.
    Drift(drift::DriftCommand),
    /// Place the rows of open set `from` onto the active set's map.
    PlaceOnMap {
        from: usize,
    },
    /// The document table, the reader's text column, the metadata filter and row exports.
    Table(table::TableCommand),
    /// The redaction switch of every export; a finding's row shown.
    Privacy(privacy::PrivacyCommand),
    /// Shows or hides the map's density contours (saved at once).
    SetDensity(bool),
    /// Restore the session a previous run left behind (the autosave prompt's answer).
    RestoreAutosave,
    /// Set the left-behind session aside (kept as `discarded.session.json`) and go on.
    DiscardAutosave,
}

/// A picture of the map, ready to write.
#[derive(Debug, Clone)]
pub enum MapImage {
    Svg(String),
    Png(Vec<u8>),
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
    /// Sets of a session being opened, by path, with their place in the session.
    pending_maps: Vec<(PathBuf, usize, session::SavedDataset)>,
    /// Restored sets waiting for their charts or map (filters, colours, clusters).
    restoring: Vec<restore::Restoring>,
    /// The session's active set and search, once its sets are open.
    session_tail: Option<restore::SessionTail>,
    /// The demo set whose shipped map gets its clusters found once it is shown.
    pending_demo_clusters: Option<usize>,
    /// The compare screen, while open.
    pub compare: Option<compare::CompareView>,
    /// The bias probes panel.
    pub bias: bias::BiasState,
    /// The export report dialog.
    pub report: report::ReportState,
    /// The Drift window.
    pub drift: drift::DriftState,
    /// Whether exports mask personal data, as the user chose (None: on when an open set has
    /// findings; [`App::redact_exports`]).
    pub redact: Option<bool>,
    /// The native cache's folder (`formats::default_cache_dir`; `None` without a home).
    pub cache_dir: Option<PathBuf>,
    /// How each running job's output is folded into the state.
    done: jobs::DoneHandlers,
    /// The session autosave (off without a settings file) and a left-behind session's offer.
    pub autosave: autosave::Autosave,
    /// The demo set to open if the offered session is declined (the start deferred it).
    demo_if_declined: bool,
}

impl App {
    pub fn new(settings: Settings, settings_path: Option<PathBuf>) -> App {
        let redact = settings.redact;
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
            restoring: Vec::new(),
            session_tail: None,
            pending_demo_clusters: None,
            compare: None,
            bias: bias::BiasState::default(),
            report: report::ReportState::default(),
            drift: drift::DriftState::default(),
            redact,
            cache_dir: formats::default_cache_dir(),
            done: jobs::DoneHandlers::default(),
            autosave: autosave::Autosave::off(),
            demo_if_declined: false,
        }
    }

    /// Turns the autosave on beside the settings file, and looks for a session a previous run
    /// left behind (offered in `autosave.offer` until `RestoreAutosave` or `DiscardAutosave`).
    /// Returns whether one is offered.
    pub fn start_autosave(&mut self) -> bool {
        let Some(p) = self.settings_path.clone() else {
            return false;
        };
        self.autosave = autosave::Autosave::beside(&p);
        for note in self.autosave.find_left_behind() {
            self.error("a session left by an earlier run could not be read", note);
        }
        self.autosave.offer.is_some()
    }

    /// Opens the demo once the offered session is declined (instead of at the start, so a
    /// restored session does not come with an extra demo set).
    pub fn open_demo_if_declined(&mut self) {
        self.demo_if_declined = true;
    }

    /// Writes the session when it changed and the autosave is due (called every frame).
    pub fn autosave_tick(&mut self) {
        let now = std::time::Instant::now();
        if !self.autosave.due(now) {
            return;
        }
        let s = self.session();
        if let Some(e) = self.autosave.save(now, s) {
            self.error("could not autosave the session", e);
        }
    }

    /// The app ends normally: the settings are saved and the autosave removed.
    pub fn on_exit(&mut self) {
        self.save_settings();
        self.autosave.finish();
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
            level: Severity::Error,
            title: title.into(),
            details: details.into(),
        });
    }

    pub fn info(&mut self, title: impl Into<String>) {
        self.notifications.push(Notification {
            level: Severity::Info,
            title: title.into(),
            details: String::new(),
        });
    }

    /// Loads a vector file on the worker (the cache in the user's cache folder); the set joins
    /// the datasets when it is read.
    fn load(&mut self, path: PathBuf) {
        let options = LoadOptions {
            cache_dir: self.cache_dir.clone(),
            cache_limit: self.settings.cache_limit,
            ..LoadOptions::default()
        };
        self.start(
            Load { path, options },
            JobKind::Load,
            None,
            |app, _, o: Opened| app.add_opened(o),
        );
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
                self.start(Demo, JobKind::Load, None, |app, _, o: Opened| {
                    app.add_opened(o);
                });
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
            Command::Drift(c) => self.apply_drift(c),
            Command::Table(c) => self.apply_table(c),
            Command::Privacy(c) => self.apply_privacy(c),
            Command::SetDensity(on) => self.set_density(on),
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
                    if let Some(p) = &self.datasets[i].place_job {
                        self.worker.cancel(p.job);
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
            Command::Search(text, SearchMode::Meaning) => {
                self.search.text = text;
                self.search.mode = SearchMode::Meaning;
                self.search_by_meaning();
            }
            Command::SetSearchModel(dir) => {
                self.search.model = dir;
                if self.search.mode == SearchMode::Meaning && !self.search.text.trim().is_empty() {
                    self.search_by_meaning();
                }
            }
            Command::SetSearchK(k) => self.search.k = k.max(1),
            Command::Search(text, mode) => {
                self.search.text = text;
                self.search.mode = mode;
                if let Some(j) = self.search.meaning_job.take() {
                    self.worker.cancel(j);
                }
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
            // The same check as the command line's `-k`: at least one, no upper limit.
            Command::SetK(k) => match TopN::check(k) {
                Ok(k) => {
                    self.inspector.k = k.get();
                    self.refresh_neighbours();
                }
                Err(e) => self.error("Neighbours", e.to_string()),
            },
            Command::SetMetric(m) => {
                self.inspector.metric = m;
                self.refresh_neighbours();
            }
            Command::Project(spec) => self.project_active(spec),
            Command::PlaceOnMap { from } => self.place_on_map(from),
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
                        .map_err(AppError::from)
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
                    self.start(
                        Evaluate { set },
                        JobKind::Evaluate,
                        Some(i),
                        |app, view, scores| {
                            let name = view
                                .dataset
                                .and_then(|d| app.datasets.get(d))
                                .map(|d| d.name.clone())
                                .unwrap_or_default();
                            app.inspector.benchmarks = Some((name, scores));
                        },
                    );
                }
            }
            Command::Encode(spec) => {
                self.pending_corpus = None;
                self.settings.last_model = Some(spec.model.clone());
                self.settings.last_corpus = Some(spec.corpus.clone());
                self.start(spec, JobKind::Encode, None, |app, _, e: Encoded| {
                    app.info(format!(
                        "encoded {} documents at {:.1}/s on {}",
                        e.documents,
                        e.docs_per_s,
                        e.backend.describe()
                    ));
                    for w in &e.warnings {
                        app.info(w.clone());
                    }
                    app.encode_backend = Some(e.backend);
                    app.add_dataset(e.set);
                    if let Some(occ) = e.occurrences {
                        app.set_occurrences(app.datasets.len() - 1, occ);
                    }
                });
            }
            Command::ClusterMap(method) => self.cluster_map(method),
            Command::ClearClusters => {
                if let Some(i) = self.active {
                    let d = &mut self.datasets[i];
                    d.map_clusters = None;
                    if let Some((j, _)) = d.cluster_job.take() {
                        self.worker.cancel(j);
                    }
                    if self.datasets[i].color == ColorMode::Cluster {
                        self.set_color(i, ColorMode::Uniform);
                    }
                }
            }
            Command::SelectCluster(id) => self.select_cluster(id),
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
                Err(e) => self.error("could not save the session", e.to_string()),
            },
            Command::OpenSession(path) => match Session::load(&path) {
                Ok(s) => self.restore(s),
                Err(e) => self.error("could not open the session", e.to_string()),
            },
            Command::RestoreAutosave => {
                if let Some(s) = self.autosave.accept() {
                    self.demo_if_declined = false;
                    self.restore(s);
                }
            }
            Command::DiscardAutosave => {
                if let Some(kept) = self.autosave.decline() {
                    self.info(format!(
                        "the earlier session was kept as {} (File > Open session... opens it)",
                        kept.display()
                    ));
                }
                if std::mem::take(&mut self.demo_if_declined) && self.datasets.is_empty() {
                    self.apply(Command::OpenDemo);
                }
            }
            Command::AddBookmark(b) => self.bookmarks.push(b),
            Command::ExportClustersCsv(path) => {
                let redact = self.redact_exports();
                let r = self
                    .active_dataset()
                    .and_then(|d| d.map_clusters.as_ref())
                    .map(|c| clusters::clusters_csv(c, redact))
                    .ok_or_else(|| AppError::Invalid("the map has no clusters to export".into()))
                    .and_then(|text| write_file(&path, text.as_bytes()));
                self.report_export(r, &path);
            }
            Command::ExportSelectionCsv(path) => {
                let redact = self.redact_exports();
                let r = self
                    .active_dataset()
                    .map(|d| session::selection_csv(d, redact))
                    .ok_or(AppError::NoDataset)
                    .and_then(|text| write_file(&path, text.as_bytes()));
                self.report_export(r, &path);
            }
            Command::ExportNeighboursCsv(path) => {
                let redact = self.redact_exports();
                let r = self
                    .active_dataset()
                    .map(|d| session::neighbours_csv(d, &self.inspector, redact))
                    .ok_or(AppError::NoDataset)
                    .and_then(|text| write_file(&path, text.as_bytes()));
                self.report_export(r, &path);
            }
            Command::SetDark(dark) => {
                self.settings.dark = dark;
                self.save_settings();
            }
            Command::SetPointSize(size) => self.settings.point_size = size.clamp(0.5, 10.0),
            Command::SetPanelsOpen { left, right } => {
                self.settings.left_panel_open = left;
                self.settings.right_panel_open = right;
            }
            Command::SetPanelWidths { left, right } => {
                self.settings.left_panel_width = left;
                if let Some(r) = right {
                    self.settings.right_panel_width = r;
                }
            }
            Command::Notify {
                error,
                title,
                details,
            } => {
                if error {
                    self.error(title, details);
                } else {
                    self.info(title);
                }
            }
            Command::SetCacheLimit(limit) => {
                self.settings.cache_limit = limit;
                self.save_settings();
                if let Some(dir) = self.cache_dir.clone() {
                    use formats::cache_admin;
                    let l = cache_admin::limit(&dir, limit);
                    let c = cache_admin::enforce(&dir, l, None);
                    let h = crate::core::human_bytes;
                    self.info(format!(
                        "cache limit {}{}: {} held, {} freed",
                        h(l),
                        if limit.is_none() { " (default)" } else { "" },
                        h(c.bytes_left),
                        h(c.bytes_freed)
                    ));
                }
            }
            Command::ClearCache => {
                if let Some(dir) = self.cache_dir.clone() {
                    let c = formats::cache_admin::clear(&dir, None);
                    let h = crate::core::human_bytes;
                    self.info(format!(
                        "cache cleared: {} freed, {} left",
                        h(c.bytes_freed),
                        h(c.bytes_left)
                    ));
                }
            }
            Command::ExportMap { path, image } => {
                let (what, r) = match &image {
                    MapImage::Svg(svg) => ("SVG export failed", write_file(&path, svg.as_bytes())),
                    MapImage::Png(png) => ("PNG export failed", write_file(&path, png)),
                };
                match r {
                    Ok(()) => self.info(format!("wrote {}", path.display())),
                    Err(e) => self.error(what, e.to_string()),
                }
            }
        }
    }

    fn report_export(&mut self, r: Result<(), AppError>, path: &Path) {
        match r {
            Ok(()) => self.info(format!("wrote {}", path.display())),
            Err(e) => self.error(format!("could not write {}", path.display()), e.to_string()),
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
        self.load(path);
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
        self.project_with(i, spec, None);
    }

    /// The demo set opens on its shipped UMAP map (its quality measured in the background)
    /// and the map's clusters are found at once, so the first window shows named regions
    /// (a session restoring its own map of the demo keeps that one).
    /// Returns whether it did (the set is the demo and the shipped map fits it).
    fn open_demo_map(&mut self, i: usize) -> bool {
        let Some(d) = self.datasets.get(i) else {
            return false;
        };
        if !formats::is_demo(&d.set.provenance) {
            return false;
        }
        let Some(coords) = formats::demo_map(d.set.rows()) else {
            return false;
        };
        let params = crate::analysis::project::umap::UmapParams {
            metric: crate::analysis::knn::Metric::Cosine,
            seed: formats::DEMO_MAP_SEED,
            ..Default::default()
        };
        let (a, b) = crate::analysis::project::umap::curve::fit_ab(params.spread, params.min_dist);
        let n = coords.len();
        let projection = crate::analysis::project::Projection {
            dims: 2,
            coords: coords.iter().flat_map(|p| [p[0], p[1]]).collect(),
            rows: (0..n).collect(),
            excluded: Vec::new(),
            details: crate::analysis::project::Details::Umap {
                n_neighbors: params.n_neighbors,
                min_dist: params.min_dist,
                spread: params.spread,
                n_epochs: 200,
                metric: params.metric,
                a,
                b,
                knn_recall: None,
                edges: 0,
                seconds: Default::default(),
            },
            notes: vec![
                "shipped with the demo, made by `embedscope project demo --method umap \
                 --metric cosine --seed 1`"
                    .into(),
            ],
        };
        self.project_with(i, ProjectSpec::Umap(params), Some(Arc::new(projection)));
        self.pending_demo_clusters = Some(i);
        true
    }

    fn project_with(
        &mut self,
        i: usize,
        spec: ProjectSpec,
        precomputed: Option<Arc<crate::analysis::project::Projection>>,
    ) {
        let Some(d) = self.datasets.get(i) else {
            return;
        };
        if let Some(j) = d.map_job {
            self.worker.cancel(j);
        }
        let set = d.set.clone();
        let index = d.index.clone();
        let params = spec.describe();
        let id = self.start(
            Project {
                set,
                spec: spec.clone(),
                quality_k: 10,
                index,
                precomputed,
            },
            JobKind::Project,
            Some(i),
            App::map_done,
        );
        if let Some(d) = self.datasets.get_mut(i) {
            d.map_job = Some(id);
            d.map_spec = Some((id, spec.clone()));
        }
        if let Some(j) = self.jobs.last_mut() {
            j.label = format!("{} of {}", spec.name(), self.datasets[i].name);
            j.params = params;
            j.method = Some(spec.method());
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
        if let Some(&i) = seen
            .iter()
            .find(|&&i| self.datasets[i].kind == RowKind::Occurrences)
        {
            let name = self.datasets[i].name.clone();
            self.error(
                format!("{name} holds sampled occurrences of words, not a version of a model"),
                "Occurrences belong to the word set they were written with; open that set and \
                 read them in the inspector.",
            );
            return;
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
        let id = self.start(
            Compare { sets, options },
            JobKind::Compare,
            None,
            |app, view, out: Compared| {
                if let Some(c) = &mut app.compare
                    && c.job == Some(view.id)
                {
                    c.job = None;
                    c.tokenizers = out.tokenizers;
                    c.set_results(out.comparisons, out.seconds);
                }
            },
        );
        let versions: Vec<(usize, &Dataset)> =
            seen.iter().map(|&i| (i, &self.datasets[i])).collect();
        self.compare = Some(compare::CompareView::new(&versions, id));
    }

    fn add_dataset(&mut self, set: Arc<EmbeddingSet>) {
        self.add_dataset_named(set, None);
    }

    /// Adds a set opened (and scanned) on the worker.
    fn add_opened(&mut self, o: Opened) {
        if o.set.row_kind() == RowKind::Occurrences && self.attach_occurrences(&o.set) {
            return;
        }
        self.add_scanned(o.set, Some(o.scan), None);
        if let Some(occ) = o.occurrences {
            self.set_occurrences(self.datasets.len() - 1, occ);
        }
    }

    /// Keeps `occ` with the words of data set `i`.
    fn set_occurrences(&mut self, i: usize, occ: Arc<EmbeddingSet>) {
        match Occurrences::new(occ) {
            Some(o) => {
                let d = &mut self.datasets[i];
                let msg = format!(
                    "{}: {} sampled occurrences of {} words kept with the words",
                    d.name,
                    o.set.rows(),
                    o.words()
                );
                d.occurrences = Some(Arc::new(o));
                self.info(msg);
            }
            None => self.info(format!(
                "{}: the occurrences have no word column: not attached",
                self.datasets[i].name
            )),
        }
    }

    /// An occurrences file opened on its own joins the open word set it was written with
    /// (`x.occurrences.npy` beside `x.npy`); true when it did.
    fn attach_occurrences(&mut self, occ: &Arc<EmbeddingSet>) -> bool {
        let Some(words) = words_path(Path::new(&occ.provenance.source)) else {
            return false;
        };
        let Some(i) = self
            .datasets
            .iter()
            .position(|d| Path::new(&d.set.provenance.source) == words)
        else {
            return false;
        };
        self.set_occurrences(i, occ.clone());
        self.active = Some(i);
        true
    }

    /// Adds a set under `name` (default: its file's name), made unique with " (2)", ...;
    /// returns the name given.
    fn add_dataset_named(&mut self, set: Arc<EmbeddingSet>, name: Option<String>) -> String {
        self.add_scanned(set, None, name)
    }

    /// [`App::add_dataset_named`] with the set's row scan when it was done already.
    fn add_scanned(
        &mut self,
        set: Arc<EmbeddingSet>,
        scan: Option<Arc<RowScan>>,
        name: Option<String>,
    ) -> String {
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
        self.datasets.push(match scan {
            Some(scan) => Dataset::with_scan(name, set, scan),
            None => Dataset::new(name, set),
        });
        self.active = Some(i);
        // A large set's neighbour index starts building (or reopens) in the background now.
        self.ensure_index(i);
        // Personal data in its tokens and columns: the badge and the exports' default.
        self.scan_privacy(i);
        // An encoding record beside the file that was not attached, or not checked.
        if let Some(note) = self.datasets[i]
            .set
            .provenance
            .sidecar
            .as_ref()
            .and_then(|r| r.note.clone())
        {
            self.info(format!("{}: {note}", self.datasets[i].name));
        }
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
            let (_, place, saved) = self.pending_maps.remove(k);
            // The demo's shipped map when the session shows it, else the map made again.
            let spec = saved.map.spec();
            let shipped = matches!(&spec, ProjectSpec::Umap(p)
                if p.seed == formats::DEMO_MAP_SEED
                    && p.metric == crate::analysis::knn::Metric::Cosine
                    && p.n_neighbors == crate::analysis::project::umap::UmapParams::default().n_neighbors);
            if !(shipped && self.open_demo_map(i)) {
                self.project(i, spec);
            }
            // The session says which clusters, if any.
            self.pending_demo_clusters = None;
            self.restore_dataset(i, place, saved);
        } else if !self.open_demo_map(i) {
            self.project(i, ProjectSpec::Pca);
        }
        self.refresh_search();
        self.refresh_neighbours();
        self.datasets[i].name.clone()
    }

    pub fn save_settings(&mut self) {
        if let Some(p) = self.settings_path.clone()
            && let Err(e) = self.settings.save(&p)
        {
            self.error("could not save the settings", e.to_string());
        }
    }

    /// The current session (data sets, maps, selections, bookmarks).
    pub fn session(&self) -> Session {
        Session::capture(self)
    }

    fn restore(&mut self, s: Session) {
        self.session_tail = Some(restore::SessionTail {
            active: s.active,
            search: s.search,
            opened: Vec::new(),
            expected: s.datasets.len(),
        });
        for (place, d) in s.datasets.into_iter().enumerate() {
            let path = PathBuf::from(&d.source);
            let demo = d.source.starts_with("embedded:");
            self.pending_maps.push((path.clone(), place, d));
            if demo {
                self.apply(Command::OpenDemo);
            } else {
                self.load(path);
            }
        }
        self.bookmarks = s.bookmarks;
        self.continue_restore();
    }
}

/// Writes a whole file atomically (every file the app writes goes through here or a module's
/// own atomic writer).
fn write_file(path: &Path, bytes: &[u8]) -> Result<(), AppError> {
    formats::atomic_write(path, bytes).map_err(AppError::from)
}

#[cfg(test)]
mod tests;
