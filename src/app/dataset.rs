//! An open data set and its map: rows on the map, the selection, colours and the legend.

use std::sync::Arc;

use super::App;
use super::colors::{self, ColorMode, Legend, Rgba};
use super::grid::Grid;
use super::place::{PendingPlace, PlacedRows};
use crate::analysis::project::quality::Quality;
use crate::core::{EmbeddingSet, RowScan};
use crate::engine::jobs::{JobId, MapMethod, ProjectSpec};

/// A 2-D map of a data set.
#[derive(Debug, Clone)]
pub struct MapView {
    pub method: MapMethod,
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
    /// What the map was made with, when known (placing rows onto a UMAP map needs it).
    pub spec: Option<ProjectSpec>,
    /// Rows of another set placed onto this map.
    pub placed: Option<PlacedRows>,
}

impl MapView {
    pub(super) fn new(
        set_rows: usize,
        rows: Vec<u32>,
        coords: Vec<[f32; 2]>,
        method: MapMethod,
    ) -> MapView {
        let mut point_of_row = vec![u32::MAX; set_rows];
        for (p, &r) in rows.iter().enumerate() {
            if let Some(slot) = point_of_row.get_mut(r as usize) {
                *slot = p as u32;
            }
        }
        let grid = Grid::new(&coords);
        MapView {
            method,
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
            spec: None,
            placed: None,
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

pub(super) fn next_version() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static V: AtomicU64 = AtomicU64::new(1);
    V.fetch_add(1, Ordering::Relaxed)
}

/// One open data set.
pub struct Dataset {
    pub name: String,
    pub set: Arc<EmbeddingSet>,
    /// Per-row norms and non-finite/zero rows: scanned on the worker for a set that was opened,
    /// shared with the compare view's copy of the set.
    pub scan: Arc<RowScan>,
    pub map: Option<MapView>,
    /// The projection job drawing this set's map, if one runs.
    pub map_job: Option<JobId>,
    /// The spec of that job (kept with the map when it finishes).
    pub map_spec: Option<(JobId, ProjectSpec)>,
    /// A job placing another set's rows onto the map.
    pub place_job: Option<PendingPlace>,
    /// Selected rows, in the order they were selected (the last one is inspected).
    pub selection: Vec<usize>,
    pub color: ColorMode,
    /// Colours per set row for the current mode, and the legend.
    pub colors: Vec<Rgba>,
    pub legend: Legend,
    pub clusters: Option<Vec<u32>>,
    /// The approximate neighbour index of a large set, once built or reopened.
    pub index: Option<Arc<crate::engine::jobs::ReadyIndex>>,
    /// The job building it, and for which metric.
    pub index_job: Option<(crate::engine::jobs::JobId, crate::analysis::knn::Metric)>,
    /// A word-level set's sampled occurrences (each word in its sentences).
    pub occurrences: Option<Arc<super::occurrences::Occurrences>>,
    /// Clusters of the current map with their labels, and the job finding them (with the map
    /// version it started on).
    pub map_clusters: Option<super::clusters::MapClusters>,
    pub cluster_job: Option<(crate::engine::jobs::JobId, u64)>,
    /// The density contours of the map under the filter, while the layer is on.
    pub density: super::density::DensityState,
    /// The column chosen as the documents' text, when not the one found by name.
    pub text_column_override: Option<String>,
    /// What the rows are, and the column holding their text (documents, occurrences).
    pub kind: crate::core::RowKind,
    text_col: Option<usize>,
    /// The document table's and the metadata filter's state.
    pub table: super::table::TableState,
    /// The model that encoded the last query by meaning, kept for the next one.
    pub query_model: Option<crate::engine::jobs::LoadedQueryModel>,
    /// The privacy scan of its tokens and columns (the badge).
    pub pii: super::privacy::PiiState,
}

impl Dataset {
    /// A set made in the app (small: derived word lists, tests); its rows are scanned here.
    pub fn new(name: String, set: Arc<EmbeddingSet>) -> Dataset {
        let scan = Arc::new(RowScan::new(&set.matrix));
        Dataset::with_scan(name, set, scan)
    }

    /// A set whose rows were scanned already (on the worker that opened it).
    pub fn with_scan(name: String, set: Arc<EmbeddingSet>, scan: Arc<RowScan>) -> Dataset {
        let n = set.rows();
        let kind = set.row_kind();
        let text_col = set.text_column().and_then(|c| {
            set.metadata
                .columns()
                .iter()
                .position(|x| std::ptr::eq(x, c))
        });
        Dataset {
            name,
            set,
            scan,
            map: None,
            map_job: None,
            map_spec: None,
            place_job: None,
            selection: Vec::new(),
            color: ColorMode::Uniform,
            colors: vec![colors::UNIFORM; n],
            legend: Legend::None,
            clusters: None,
            index: None,
            index_job: None,
            occurrences: None,
            map_clusters: None,
            cluster_job: None,
            density: Default::default(),
            text_column_override: None,
            kind,
            text_col,
            table: Default::default(),
            query_model: None,
            pii: Default::default(),
        }
    }

    pub fn token(&self, row: usize) -> &str {
        self.set.vocab.token(row)
    }

    /// How a row is named on the map and in lists: a document by its text (at most
    /// `max_chars` characters, on one line; its id when the text is empty), a word by itself.
    pub fn label(&self, row: usize, max_chars: usize) -> String {
        let text = match (self.kind, self.text_col) {
            (crate::core::RowKind::Words, _) | (_, None) => None,
            (_, Some(c)) => self.set.metadata.columns()[c]
                .values
                .get(row)
                .filter(|t| !t.trim().is_empty()),
        };
        crate::core::one_line(text.map_or(self.token(row), String::as_str), max_chars)
    }

    /// [`Dataset::label`], with personal data masked when `mask` is on: masked before it is
    /// shortened, so a finding cut at the end of the label is still found.
    pub fn label_masked(&self, row: usize, max_chars: usize, mask: bool) -> String {
        if !mask {
            return self.label(row, max_chars);
        }
        let full = self.label(row, 1 << 20);
        crate::core::one_line(&super::privacy::masked(&full, true), max_chars)
    }

    /// A row's text (documents, occurrences).
    pub fn text(&self, row: usize) -> Option<&str> {
        match (self.kind, self.text_col) {
            (crate::core::RowKind::Words, _) | (_, None) => None,
            (_, Some(c)) => self.set.metadata.columns()[c]
                .values
                .get(row)
                .map(String::as_str),
        }
    }

    /// What the map's tooltip shows for a row: its id; a document's first lines, wrapped; the
    /// norm; the first metadata columns (values cut at 80 characters).
    pub fn hover_lines(&self, row: usize) -> Vec<String> {
        let mut lines = vec![self.token(row).to_string()];
        let text = self.text(row);
        if let Some(text) = text {
            lines.extend(crate::core::wrap_lines(
                &crate::core::one_line(text, 480),
                72,
                6,
            ));
        }
        if let Some(n) = self.scan.norms.get(row) {
            lines.push(format!("norm {n:.4}"));
        }
        let text_col = self.text_col;
        for (i, c) in self.set.metadata.columns().iter().enumerate().take(7) {
            if text.is_some() && Some(i) == text_col {
                continue;
            }
            let Some(value) = c.values.get(row) else {
                continue;
            };
            let mut v: String = value.chars().take(80).collect();
            if value.chars().nth(80).is_some() {
                v.push('…');
            }
            lines.push(format!("{}: {v}", c.name));
        }
        lines
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
        // Load parameters, then the encoding read back with the file (a set encoded in this
        // session has its encoding in `params`).
        for (k, v) in p.params.iter().chain(&p.encoding) {
            out.push(format!("{k}: {v}"));
        }
        if p.encoding_facts().is_none() {
            out.push("encoding: unknown (no provenance record beside the file)".into());
        }
        if let Some(r) = &p.sidecar {
            out.push(match &r.note {
                Some(n) => format!("provenance record: {n}"),
                None => format!("provenance record: {} (checked, attached)", r.file),
            });
        }
        out
    }
}

impl App {
    pub(super) fn set_color(&mut self, i: usize, mode: ColorMode) {
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
            ColorMode::Cluster
                if let (Some(c), Some(m)) = (d.map_clusters.as_ref(), d.map.as_ref())
                    && c.map_version == m.version =>
            {
                super::clusters::cluster_colors(c, &m.point_of_row)
            }
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
}
