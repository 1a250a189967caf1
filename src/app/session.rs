//! What outlives a run: `Settings` (recent files, theme, panel layout; a small struct whose
//! missing fields take defaults, so old files keep loading) and `Session` files (data sets,
//! their maps' methods and parameters, selections, text columns, colours, metadata filters,
//! cluster methods; the active set, the search; bookmarks), both written atomically as JSON.
//! Also the CSV exports of the selection and of neighbour lists.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::filter::Filter;
use super::{App, Dataset, Inspector};
use super::{AppError, ColorMode, SearchMode};
use crate::analysis::project::tsne::TsneParams;
use crate::analysis::project::umap::UmapParams;
use crate::engine::jobs::ClusterMethod;
use crate::engine::jobs::{MapMethod, ProjectSpec};
pub use crate::formats::csv_field;

/// Recent files kept in the File menu.
pub const MAX_RECENT: usize = 10;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Settings {
    pub recent: Vec<PathBuf>,
    pub dark: bool,
    pub left_panel_width: f32,
    pub right_panel_width: f32,
    /// Whether the side panels are shown (the map takes the room of a hidden one).
    pub left_panel_open: bool,
    pub right_panel_open: bool,
    pub point_size: f32,
    pub last_model: Option<PathBuf>,
    pub last_corpus: Option<PathBuf>,
    /// The map's density contours shown.
    pub density: bool,
    /// The native cache's size limit in bytes (`None`: `$EMBEDSCOPE_CACHE_LIMIT`, else 10% of
    /// the free disk space between 256 MiB and 4 GiB).
    pub cache_limit: Option<u64>,
    /// The "Redact personal data" switch as the user last set it (`None`: never set, on
    /// whenever an open set has findings).
    pub redact: Option<bool>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            recent: Vec::new(),
            dark: true,
            left_panel_width: 250.0,
            right_panel_width: 280.0,
            left_panel_open: true,
            right_panel_open: true,
            point_size: 2.0,
            last_model: None,
            last_corpus: None,
            density: false,
            cache_limit: None,
            redact: None,
        }
    }
}

impl Settings {
    /// `$XDG_CONFIG_HOME/embedscope/settings.json` or `~/.config/embedscope/settings.json`.
    pub fn default_path() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("EMBEDSCOPE_CONFIG_DIR") {
            return Some(PathBuf::from(d).join("settings.json"));
        }
        if let Some(d) = std::env::var_os("XDG_CONFIG_HOME") {
            return Some(PathBuf::from(d).join("embedscope").join("settings.json"));
        }
        std::env::var_os("HOME").map(|h| {
            PathBuf::from(h)
                .join(".config")
                .join("embedscope")
                .join("settings.json")
        })
    }

    /// Reads settings; a missing file gives the defaults, a damaged one the defaults and a
    /// message (the file is left as it is until the next save).
    pub fn load(path: &Path) -> (Settings, Option<String>) {
        match std::fs::read(path) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => (Settings::default(), None),
            Err(e) => (
                Settings::default(),
                Some(format!(
                    "{}: {e}; using the default settings",
                    path.display()
                )),
            ),
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(s) => (s, None),
                Err(e) => (
                    Settings::default(),
                    Some(format!(
                        "{}: not valid settings ({e}); using the default settings",
                        path.display()
                    )),
                ),
            },
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), AppError> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(|e| AppError::File(format!("{}: {e}", dir.display())))?;
        }
        let text =
            serde_json::to_string_pretty(self).map_err(|e| AppError::Invalid(e.to_string()))?;
        Ok(crate::formats::atomic_write(path, text.as_bytes())?)
    }

    pub fn add_recent(&mut self, path: &Path) {
        let p = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        self.recent.retain(|r| *r != p);
        self.recent.insert(0, p);
        self.recent.truncate(MAX_RECENT);
    }
}

/// How a map was made, enough to make it again.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum SavedMap {
    Pca,
    Tsne {
        perplexity: f64,
        iterations: usize,
        seed: u64,
    },
    Umap {
        n_neighbors: usize,
        min_dist: f64,
        spread: f64,
        epochs: Option<usize>,
        metric: crate::analysis::knn::Metric,
        seed: u64,
    },
    Axes {
        x: String,
        y: Option<String>,
    },
}

impl SavedMap {
    pub fn spec(&self) -> ProjectSpec {
        match self {
            SavedMap::Pca => ProjectSpec::Pca,
            SavedMap::Tsne {
                perplexity,
                iterations,
                seed,
            } => ProjectSpec::Tsne(TsneParams {
                perplexity: *perplexity,
                iterations: *iterations,
                seed: *seed,
                ..TsneParams::default()
            }),
            SavedMap::Umap {
                n_neighbors,
                min_dist,
                spread,
                epochs,
                metric,
                seed,
            } => ProjectSpec::Umap(UmapParams {
                n_neighbors: *n_neighbors,
                min_dist: *min_dist,
                spread: *spread,
                n_epochs: *epochs,
                metric: *metric,
                seed: *seed,
                ..UmapParams::default()
            }),
            SavedMap::Axes { x, y } => ProjectSpec::Axes {
                x: x.clone(),
                y: y.clone(),
            },
        }
    }

    pub fn from_spec(spec: &ProjectSpec) -> SavedMap {
        match spec {
            ProjectSpec::Pca => SavedMap::Pca,
            ProjectSpec::Tsne(p) => SavedMap::Tsne {
                perplexity: p.perplexity,
                iterations: p.iterations,
                seed: p.seed,
            },
            ProjectSpec::Umap(p) => SavedMap::Umap {
                n_neighbors: p.n_neighbors,
                min_dist: p.min_dist,
                spread: p.spread,
                epochs: p.n_epochs,
                metric: p.metric,
                seed: p.seed,
            },
            ProjectSpec::Axes { x, y } => SavedMap::Axes {
                x: x.clone(),
                y: y.clone(),
            },
        }
    }
}

/// A named view: which data set, where the camera was, what was selected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bookmark {
    pub name: String,
    pub dataset: String,
    /// Map centre and zoom (pixels per map unit).
    pub center: [f32; 2],
    pub zoom: f32,
    pub selection: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedDataset {
    pub name: String,
    /// Path of the vector file, or `embedded:...` for the demo.
    pub source: String,
    pub map: SavedMap,
    /// Selected rows.
    pub selection: Vec<usize>,
    /// Selected tokens (checked against the rows when the session is opened).
    pub selection_tokens: Vec<String>,
    /// The column read as the documents' text, when the user chose one.
    #[serde(default)]
    pub text_column: Option<String>,
    #[serde(default)]
    pub color: ColorMode,
    /// The metadata filters, by column name.
    #[serde(default)]
    pub filters: Vec<SavedFilter>,
    /// How the map's clusters (and their labels) were found: found again on the restored map.
    #[serde(default)]
    pub clusters: Option<ClusterMethod>,
}

/// A metadata filter on a named column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum SavedFilter {
    Range {
        column: String,
        lo: f64,
        hi: f64,
    },
    Categories {
        column: String,
        values: Vec<String>,
        #[serde(default)]
        other: bool,
        #[serde(default)]
        missing: bool,
    },
}

impl SavedFilter {
    pub fn column(&self) -> &str {
        match self {
            SavedFilter::Range { column, .. } | SavedFilter::Categories { column, .. } => column,
        }
    }

    pub fn filter(&self) -> Filter {
        match self {
            SavedFilter::Range { lo, hi, .. } => Filter::Range { lo: *lo, hi: *hi },
            SavedFilter::Categories {
                values,
                other,
                missing,
                ..
            } => Filter::Categories {
                values: values.clone(),
                other: *other,
                missing: *missing,
            },
        }
    }
}

/// The search box as it was (a search by meaning runs again).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedSearch {
    pub text: String,
    pub mode: SearchMode,
    #[serde(default = "meaning_k")]
    pub k: usize,
    /// The model folder given for searches by meaning.
    #[serde(default)]
    pub model: Option<PathBuf>,
}

fn meaning_k() -> usize {
    super::search::MEANING_K
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Always "embedscope-session".
    pub kind: String,
    pub version: u32,
    pub datasets: Vec<SavedDataset>,
    pub bookmarks: Vec<Bookmark>,
    /// The data set shown (an index into `datasets`).
    #[serde(default)]
    pub active: Option<usize>,
    #[serde(default)]
    pub search: Option<SavedSearch>,
}

/// The filters set on a data set's charts, by column name.
fn saved_filters(d: &Dataset) -> Vec<SavedFilter> {
    let Some(cf) = d.table.cross_filter() else {
        return Vec::new();
    };
    cf.charts()
        .enumerate()
        .filter_map(|(i, chart)| {
            let column = chart.name.clone();
            cf.filter(i).map(|f| match f {
                Filter::Range { lo, hi } => SavedFilter::Range {
                    column,
                    lo: *lo,
                    hi: *hi,
                },
                Filter::Categories {
                    values,
                    other,
                    missing,
                } => SavedFilter::Categories {
                    column,
                    values: values.clone(),
                    other: *other,
                    missing: *missing,
                },
            })
        })
        .collect()
}

pub const SESSION_KIND: &str = "embedscope-session";

impl Session {
    pub fn capture(app: &App) -> Session {
        let saved: Vec<&Dataset> = app
            .datasets
            .iter()
            .filter(|d| !d.set.provenance.source.is_empty())
            // Sets made in the app (hard-debiased) exist only in memory: reopening their
            // source would give the original.
            .filter(|d| !d.set.provenance.params.contains_key("debias"))
            .collect();
        let active = app
            .active_dataset()
            .and_then(|a| saved.iter().position(|d| std::ptr::eq(*d, a)));
        let search = (!app.search.text.trim().is_empty()).then(|| SavedSearch {
            text: app.search.text.clone(),
            mode: app.search.mode,
            k: app.search.k,
            model: app.search.model.clone(),
        });
        let datasets = saved
            .into_iter()
            .map(|d| SavedDataset {
                text_column: d.text_column_override.clone(),
                color: d.color.clone(),
                filters: saved_filters(d),
                clusters: d.map_clusters.as_ref().map(|c| c.method.clone()),
                name: d.name.clone(),
                source: d.set.provenance.source.clone(),
                map: d
                    .map
                    .as_ref()
                    .map(|m| saved_from_view(m.method, &m.params))
                    .unwrap_or(SavedMap::Pca),
                selection: d.selection.clone(),
                selection_tokens: d
                    .selection
                    .iter()
                    .map(|&r| d.token(r).to_string())
                    .collect(),
            })
            .collect();
        Session {
            kind: SESSION_KIND.into(),
            version: 2,
            datasets,
            bookmarks: app.bookmarks.clone(),
            active,
            search,
        }
    }

    pub fn save(&self, path: &Path) -> Result<(), AppError> {
        let text =
            serde_json::to_string_pretty(self).map_err(|e| AppError::Invalid(e.to_string()))?;
        Ok(crate::formats::atomic_write(path, text.as_bytes())?)
    }

    pub fn load(path: &Path) -> Result<Session, AppError> {
        let bytes =
            std::fs::read(path).map_err(|e| AppError::File(format!("{}: {e}", path.display())))?;
        let s: Session = serde_json::from_slice(&bytes).map_err(|e| {
            AppError::Invalid(format!(
                "{}: not an embedscope session (line {}, column {}: {e})",
                path.display(),
                e.line(),
                e.column()
            ))
        })?;
        if s.kind != SESSION_KIND {
            return Err(AppError::Invalid(format!(
                "{}: \"kind\" is {:?}, expected {SESSION_KIND:?}",
                path.display(),
                s.kind
            )));
        }
        Ok(s)
    }
}

/// Rebuilds the method of a map from the words shown with it.
fn saved_from_view(method: MapMethod, params: &str) -> SavedMap {
    match method {
        MapMethod::Tsne => {
            let num = |key: &str| -> Option<f64> {
                params
                    .split(',')
                    .map(str::trim)
                    .find_map(|p| p.strip_prefix(key).map(str::trim))
                    .and_then(|v| v.split_whitespace().next())
                    .and_then(|v| v.parse().ok())
            };
            let d = TsneParams::default();
            SavedMap::Tsne {
                perplexity: num("perplexity").unwrap_or(d.perplexity),
                iterations: params
                    .split(',')
                    .map(str::trim)
                    .find(|p| p.ends_with("iterations"))
                    .and_then(|p| p.split_whitespace().next())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(d.iterations),
                seed: num("seed").map(|s| s as u64).unwrap_or(d.seed),
            }
        }
        MapMethod::Axes => {
            let mut x = String::new();
            let mut y = None;
            for part in params.split("; ") {
                if let Some(v) = part.strip_prefix("x: ") {
                    x = v.to_string();
                } else if let Some(v) = part.strip_prefix("y: ")
                    && !v.starts_with("first principal component")
                {
                    y = Some(v.to_string());
                }
            }
            SavedMap::Axes { x, y }
        }
        MapMethod::Umap => {
            // "n_neighbors 15, min_dist 0.1, spread 1, 200 epochs, euclidean, seed 1"
            let parts: Vec<&str> = params.split(',').map(str::trim).collect();
            let val = |key: &str| {
                parts
                    .iter()
                    .find_map(|p| p.strip_prefix(key).map(str::trim))
                    .map(str::to_string)
            };
            let d = UmapParams::default();
            SavedMap::Umap {
                n_neighbors: val("n_neighbors")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(d.n_neighbors),
                min_dist: val("min_dist")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(d.min_dist),
                spread: val("spread")
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(d.spread),
                epochs: parts
                    .iter()
                    .find(|p| p.ends_with(" epochs"))
                    .and_then(|p| p.split_whitespace().next())
                    .and_then(|v| v.parse().ok()),
                metric: parts
                    .iter()
                    .find_map(|p| p.parse().ok())
                    .unwrap_or(d.metric),
                seed: val("seed").and_then(|v| v.parse().ok()).unwrap_or(d.seed),
            }
        }
        MapMethod::Pca | MapMethod::AlignedPca => SavedMap::Pca,
    }
}

/// The selected points: token, map position, norm and metadata columns (personal data masked
/// when `redact`).
pub fn selection_csv(d: &Dataset, redact: bool) -> String {
    let csv_field = |t: &str| csv_field(&super::privacy::masked(t, redact));
    let cols = d.set.metadata.columns();
    let mut out = String::from("token,row,x,y,norm");
    for c in cols {
        out.push(',');
        out.push_str(&csv_field(&c.name));
    }
    out.push('\n');
    for &r in &d.selection {
        let pos = d.map.as_ref().and_then(|m| m.position(r));
        let (x, y) = pos.map_or((String::new(), String::new()), |p| {
            (p[0].to_string(), p[1].to_string())
        });
        out.push_str(&format!(
            "{},{r},{x},{y},{}",
            csv_field(d.token(r)),
            d.scan.norms[r]
        ));
        for c in cols {
            out.push(',');
            out.push_str(&csv_field(&c.values[r]));
        }
        out.push('\n');
    }
    out
}

/// The inspected token's neighbours: query, rank, neighbour, score, metric (personal data
/// masked when `redact`).
pub fn neighbours_csv(d: &Dataset, ins: &Inspector, redact: bool) -> String {
    let csv_field = |t: &str| csv_field(&super::privacy::masked(t, redact));
    let mut out = String::from("query,rank,neighbour,score,metric\n");
    if let Some(q) = ins.neighbours_of {
        for (rank, (r, s)) in ins.neighbours.iter().enumerate() {
            out.push_str(&format!(
                "{},{},{},{s},{}\n",
                csv_field(d.token(q)),
                rank + 1,
                csv_field(d.token(*r)),
                ins.metric.name()
            ));
        }
    }
    out
}
