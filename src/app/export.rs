//! Exports of rows: the rows the filter keeps or the selection, as CSV, JSONL or Parquet, with
//! the token, the row number, the text, the map position (x, y), the cluster when the set has
//! one, then the metadata columns. Written on the worker through a temporary file renamed into
//! place, so a failed export (a read-only folder, a full disk) leaves nothing behind and the
//! error names the file.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use super::table::{self, Listing, count, text_column};
use super::{App, Dataset, JobKind};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::jobs::{Job, JobContext};
use crate::formats::{self, CellType, Cells, csv_field};

/// File formats of a row export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    Csv,
    Jsonl,
    Parquet,
}

impl ExportFormat {
    pub const ALL: [ExportFormat; 3] = [
        ExportFormat::Csv,
        ExportFormat::Jsonl,
        ExportFormat::Parquet,
    ];

    pub fn name(self) -> &'static str {
        match self {
            ExportFormat::Csv => "CSV",
            ExportFormat::Jsonl => "JSONL",
            ExportFormat::Parquet => "Parquet",
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            ExportFormat::Csv => "csv",
            ExportFormat::Jsonl => "jsonl",
            ExportFormat::Parquet => "parquet",
        }
    }
}

/// Which rows an export writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportRows {
    /// The rows the filter keeps (every row without a filter), ascending.
    Filtered,
    /// The selection, in the order it was made.
    Selection,
    /// What the table lists (the selection, or the filtered rows).
    Listed,
}

/// One column of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Col {
    Token,
    Row,
    Text(usize),
    X,
    Y,
    Cluster,
    ClusterName,
    Meta(usize),
}

/// What an export writes, taken from a data set (owned: it is written on the worker).
pub struct RowsExport {
    pub path: PathBuf,
    pub format: ExportFormat,
    set: Arc<EmbeddingSet>,
    rows: Vec<u32>,
    positions: Vec<Option<[f32; 2]>>,
    clusters: Option<Vec<i64>>,
    cluster_names: Option<Vec<String>>,
    columns: Vec<(String, Col)>,
    /// Personal data in every text cell masked (the app's "Redact personal data").
    pub redact: bool,
}

/// How a finished export is reported.
pub struct Exported {
    pub path: PathBuf,
    pub rows: usize,
    pub format: ExportFormat,
    /// Written with personal data masked.
    pub redacted: bool,
}

impl RowsExport {
    /// The export of `rows` of data set `d`.
    pub fn new(d: &Dataset, rows: Vec<u32>, path: PathBuf, format: ExportFormat) -> RowsExport {
        let text = text_column(d);
        let clusters_all = cluster_labels(d);
        let mut columns: Vec<(String, Col)> =
            vec![("token".into(), Col::Token), ("row".into(), Col::Row)];
        if let Some(t) = text {
            columns.push(("text".into(), Col::Text(t)));
        }
        columns.push(("x".into(), Col::X));
        columns.push(("y".into(), Col::Y));
        if let Some((_, names)) = &clusters_all {
            columns.push(("cluster".into(), Col::Cluster));
            if names.is_some() {
                columns.push(("cluster_label".into(), Col::ClusterName));
            }
        }
        for (c, meta) in d.set.metadata.columns().iter().enumerate() {
            if Some(c) == text {
                continue;
            }
            let mut name = meta.name.clone();
            while columns.iter().any(|(n, _)| *n == name) {
                name = format!("meta_{name}");
            }
            columns.push((name, Col::Meta(c)));
        }
        let positions = rows
            .iter()
            .map(|&r| d.map.as_ref().and_then(|m| m.position(r as usize)))
            .collect();
        let (clusters, cluster_names) = match clusters_all {
            Some((all, names)) => (
                Some(
                    rows.iter()
                        .map(|&r| all.get(r as usize).copied().unwrap_or(-1))
                        .collect(),
                ),
                names.map(|n| {
                    rows.iter()
                        .map(|&r| n.get(r as usize).cloned().unwrap_or_default())
                        .collect()
                }),
            ),
            None => (None, None),
        };
        RowsExport {
            path,
            format,
            set: d.set.clone(),
            rows,
            positions,
            clusters,
            cluster_names,
            columns,
            redact: false,
        }
    }

    /// The header names, in order.
    pub fn column_names(&self) -> Vec<&str> {
        self.columns.iter().map(|(n, _)| n.as_str()).collect()
    }

    fn text(&self, i: usize, col: Col) -> Option<String> {
        let r = self.rows[i] as usize;
        let meta = |c: usize| {
            self.set
                .metadata
                .columns()
                .get(c)
                .and_then(|m| m.values.get(r))
                .cloned()
        };
        let value = match col {
            Col::Token => Some(self.set.vocab.token(r).to_string()),
            Col::Text(c) | Col::Meta(c) => meta(c),
            Col::ClusterName => self.cluster_names.as_ref().map(|n| n[i].clone()),
            _ => None,
        };
        // Every text cell goes through here: redaction masks each one's findings.
        match value {
            Some(v) if self.redact => Some(super::privacy::masked(&v, true).into_owned()),
            v => v,
        }
    }

    fn number(&self, i: usize, col: Col) -> Option<f64> {
        match col {
            Col::Row => Some(self.rows[i] as f64),
            Col::X => self.positions[i].map(|p| f64::from(p[0])),
            Col::Y => self.positions[i].map(|p| f64::from(p[1])),
            Col::Cluster => self.clusters.as_ref().map(|c| c[i] as f64),
            _ => None,
        }
    }

    /// Writes the file (atomically).
    pub fn write(&self, ctx: Option<&JobContext>) -> Result<(), EngineError> {
        match self.format {
            ExportFormat::Csv => formats::atomic_write_with(&self.path, |w| self.csv(w, ctx))?,
            ExportFormat::Jsonl => formats::atomic_write_with(&self.path, |w| self.jsonl(w, ctx))?,
            ExportFormat::Parquet => self.parquet(ctx)?,
        }
        if ctx.is_some_and(|c| c.cancelled()) {
            let _ = std::fs::remove_file(&self.path);
            return Err(EngineError::Cancelled);
        }
        Ok(())
    }

    fn csv(&self, w: &mut impl Write, ctx: Option<&JobContext>) -> std::io::Result<()> {
        let header: Vec<String> = self.columns.iter().map(|(n, _)| csv_field(n)).collect();
        writeln!(w, "{}", header.join(","))?;
        let mut line = String::new();
        for i in 0..self.rows.len() {
            if i % 65536 == 0 {
                check(ctx)?;
            }
            line.clear();
            for (k, &(_, col)) in self.columns.iter().enumerate() {
                if k > 0 {
                    line.push(',');
                }
                match col {
                    Col::Token | Col::Text(_) | Col::Meta(_) | Col::ClusterName => {
                        line.push_str(&csv_field(&self.text(i, col).unwrap_or_default()));
                    }
                    Col::X | Col::Y => {
                        if let Some(v) = self.number(i, col) {
                            line.push_str(&(v as f32).to_string());
                        }
                    }
                    Col::Row | Col::Cluster => {
                        if let Some(v) = self.number(i, col) {
                            line.push_str(&(v as i64).to_string());
                        }
                    }
                }
            }
            line.push('\n');
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn jsonl(&self, w: &mut impl Write, ctx: Option<&JobContext>) -> std::io::Result<()> {
        let names: Vec<String> = self
            .columns
            .iter()
            .map(|(n, _)| serde_json::Value::from(n.as_str()).to_string())
            .collect();
        let mut line = String::new();
        for i in 0..self.rows.len() {
            if i % 65536 == 0 {
                check(ctx)?;
            }
            line.clear();
            line.push('{');
            for (k, &(_, col)) in self.columns.iter().enumerate() {
                if k > 0 {
                    line.push(',');
                }
                line.push_str(&names[k]);
                line.push(':');
                let value = match col {
                    Col::Token | Col::Text(_) | Col::Meta(_) | Col::ClusterName => {
                        serde_json::Value::from(self.text(i, col).unwrap_or_default())
                    }
                    Col::X | Col::Y => self.number(i, col).map_or(serde_json::Value::Null, |v| {
                        serde_json::Value::from(v as f32)
                    }),
                    Col::Row | Col::Cluster => {
                        self.number(i, col).map_or(serde_json::Value::Null, |v| {
                            serde_json::Value::from(v as i64)
                        })
                    }
                };
                line.push_str(&value.to_string());
            }
            line.push_str("}\n");
            w.write_all(line.as_bytes())?;
        }
        Ok(())
    }

    fn parquet(&self, ctx: Option<&JobContext>) -> Result<(), EngineError> {
        const BATCH: usize = 65536;
        let schema: Vec<(String, CellType)> = self
            .columns
            .iter()
            .map(|(n, c)| {
                let ty = match c {
                    Col::Token | Col::Text(_) | Col::Meta(_) | Col::ClusterName => CellType::Utf8,
                    Col::X | Col::Y => CellType::Float32,
                    Col::Row | Col::Cluster => CellType::Int64,
                };
                (n.clone(), ty)
            })
            .collect();
        let n = self.rows.len();
        // At least one (empty) batch, so that an empty export still has its columns.
        let batches = (0..n.div_ceil(BATCH).max(1))
            .take_while(|_| ctx.is_none_or(|c| !c.cancelled()))
            .map(|b| {
                let range = b * BATCH..((b + 1) * BATCH).min(n);
                self.columns
                    .iter()
                    .map(|&(_, col)| match col {
                        Col::Token | Col::Text(_) | Col::Meta(_) | Col::ClusterName => {
                            Cells::Utf8(range.clone().map(|i| self.text(i, col)).collect())
                        }
                        Col::X | Col::Y => Cells::Float32(
                            range
                                .clone()
                                .map(|i| self.number(i, col).map(|v| v as f32))
                                .collect(),
                        ),
                        Col::Row | Col::Cluster => Cells::Int64(
                            range
                                .clone()
                                .map(|i| self.number(i, col).map(|v| v as i64))
                                .collect(),
                        ),
                    })
                    .collect()
            });
        formats::write_parquet_table(&self.path, &schema, batches)?;
        Ok(())
    }
}

fn check(ctx: Option<&JobContext>) -> std::io::Result<()> {
    if ctx.is_some_and(|c| c.cancelled()) {
        Err(std::io::Error::other("cancelled"))
    } else {
        Ok(())
    }
}

/// The cluster of every set row, if the data set holds clusters (-1: noise or not on the
/// map), and each row's cluster name where the clusters are named: the current map's clusters,
/// else the k-means colouring.
fn cluster_labels(d: &Dataset) -> Option<(Vec<i64>, Option<Vec<String>>)> {
    if let (Some(m), Some(c)) = (d.map.as_ref(), d.map_clusters.as_ref())
        && c.map_version == m.version
    {
        let labels = c.row_labels(&m.point_of_row);
        let names = labels
            .iter()
            .map(|&l| c.name(l).unwrap_or_default().to_string())
            .collect();
        return Some((labels.into_iter().map(i64::from).collect(), Some(names)));
    }
    d.clusters
        .as_ref()
        .map(|c| (c.iter().map(|&k| i64::from(k)).collect(), None))
}

impl Job for RowsExport {
    type Output = Exported;

    fn label(&self) -> String {
        format!(
            "export {} rows as {} to {}",
            count(self.rows.len()),
            self.format.name(),
            self.path.display()
        )
    }

    fn run(&self, ctx: &JobContext) -> Result<Exported, EngineError> {
        self.write(Some(ctx))?;
        Ok(Exported {
            path: self.path.clone(),
            rows: self.rows.len(),
            format: self.format,
            redacted: self.redact,
        })
    }
}

/// The rows an export of data set `d` writes.
pub fn export_rows_of(d: &Dataset, which: ExportRows) -> Vec<u32> {
    match which {
        ExportRows::Selection => d.selection.iter().map(|&r| r as u32).collect(),
        ExportRows::Filtered => match d.table.kept() {
            Some(mask) => mask.iter().map(|r| r as u32).collect(),
            None => (0..d.set.rows() as u32).collect(),
        },
        ExportRows::Listed => match d.table.listing(&d.selection) {
            Listing::Kept => export_rows_of(d, ExportRows::Filtered),
            _ => table::listed_rows(d),
        },
    }
}

impl App {
    /// Starts writing rows of data set `i` to `path`.
    pub(super) fn export_rows(
        &mut self,
        i: usize,
        path: PathBuf,
        format: ExportFormat,
        which: ExportRows,
    ) {
        let d = &self.datasets[i];
        if which == ExportRows::Selection && d.selection.is_empty() {
            self.error(
                format!("nothing written to {}", path.display()),
                "no rows are selected: select points on the map or rows in the table first",
            );
            return;
        }
        if path.as_os_str().is_empty() || path.file_name().is_none() || path.is_dir() {
            self.error(
                format!("could not write {}", path.display()),
                "give the path of a file to write",
            );
            return;
        }
        let rows = export_rows_of(d, which);
        let mut job = RowsExport::new(d, rows, path, format);
        job.redact = self.redact_exports();
        self.start(job, JobKind::Export, Some(i), |app, _, e: Exported| {
            app.info(format!(
                "wrote {} rows as {} to {}{}",
                count(e.rows),
                e.format.name(),
                e.path.display(),
                if e.redacted {
                    " (personal data masked)"
                } else {
                    ""
                }
            ));
        });
    }
}
