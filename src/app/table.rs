//! The document table, its reader and the metadata cross-filter of each data set, free of
//! egui: which rows the table lists (the selection, or with nothing selected the rows the
//! filter keeps), their order when sorted by a column (numbers numerically), each row's text
//! for the reader (the column found by name, or the one the user picked), and the filter's
//! commands. The [`CrossFilter`] is built when first needed: on the UI thread below
//! [`FILTER_JOB_ROWS`] rows, else on the worker. Exports of these rows are in `export.rs`.

use std::path::PathBuf;
use std::sync::Arc;

use rayon::prelude::*;

use super::dataset::next_version;
use super::export::{ExportFormat, ExportRows};
use super::filter::{CrossFilter, Filter, RowMask};
use super::{App, Command, Dataset, JobKind};
use crate::core::{EmbeddingSet, MetaColumn, RowKind};
use crate::engine::EngineError;
use crate::engine::jobs::{Job, JobContext, JobId};

/// Sets with at least this many rows build their filter on the worker.
pub const FILTER_JOB_ROWS: usize = 200_000;

/// The table, reader and filter commands (applied to the active data set).
#[derive(Debug, Clone)]
pub enum TableCommand {
    /// Builds the cross-filter if it is not built (in the background on a large set).
    BuildFilter,
    /// A range filter on chart `column` (numbers; dates in seconds since the epoch).
    SetRangeFilter {
        column: usize,
        lo: f64,
        hi: f64,
    },
    /// Chart `column`'s categories to keep (`other`: any value outside the top categories;
    /// `missing`: blanks).
    SetCategoryFilter {
        column: usize,
        values: Vec<String>,
        other: bool,
        missing: bool,
    },
    ClearFilter(usize),
    ClearFilters,
    /// A row clicked in the table: selected (added with `add`) while the table keeps listing
    /// what it listed.
    Pick {
        row: usize,
        add: bool,
    },
    /// The metadata column read as the rows' text (None: the one found by name).
    SetTextColumn(Option<String>),
    /// Writes the filtered rows or the selection (on the worker; atomic).
    Export {
        path: PathBuf,
        format: ExportFormat,
        rows: ExportRows,
    },
}

/// A data set's cross-filter, as far as it is built.
#[derive(Debug, Clone, Default)]
pub enum FilterSlot {
    /// Not built yet.
    #[default]
    NotBuilt,
    /// Being built on the worker.
    Building(JobId),
    Ready(Box<CrossFilter>),
    /// The model could not be built (the reason).
    Failed(String),
}

/// What the table lists.
#[derive(Debug, Clone, PartialEq)]
pub enum Listing {
    /// The selection, in the order it was made.
    Selection,
    /// The rows it listed when the user picked one of them (the selection made from the table
    /// does not change the list).
    Pinned(Arc<Vec<usize>>),
    /// The rows the filter keeps (every row without a filter), ascending.
    Kept,
}

/// The table and filter state of one data set.
#[derive(Debug, Clone, Default)]
pub struct TableState {
    pub filter: FilterSlot,
    /// The metadata column (index into the set's columns) of each chart of the filter.
    pub filter_columns: Vec<usize>,
    /// Changed whenever the kept rows change (the map fades other points, the table re-lists).
    pub version: u64,
    pinned: Option<Arc<Vec<usize>>>,
    /// The selection the table made (its length and hash).
    picked: Option<(usize, u64)>,
}

impl TableState {
    /// The rows the filter keeps, when a filter is set (None: every row).
    pub fn kept(&self) -> Option<&RowMask> {
        match &self.filter {
            FilterSlot::Ready(cf) if cf.is_filtered() => Some(&cf.view().mask),
            _ => None,
        }
    }

    pub fn cross_filter(&self) -> Option<&CrossFilter> {
        match &self.filter {
            FilterSlot::Ready(cf) => Some(cf),
            _ => None,
        }
    }

    /// What the table lists given the current selection.
    pub fn listing(&self, selection: &[usize]) -> Listing {
        if selection.is_empty() {
            return Listing::Kept;
        }
        if self
            .picked
            .is_some_and(|(n, h)| n == selection.len() && h == hash_rows(selection))
        {
            return match &self.pinned {
                Some(p) => Listing::Pinned(p.clone()),
                None => Listing::Kept,
            };
        }
        Listing::Selection
    }

    /// A key that changes whenever the listed rows may have changed.
    pub fn listing_key(&self, selection: &[usize]) -> u64 {
        let (tag, extra) = match self.listing(selection) {
            Listing::Selection => (1, hash_rows(selection)),
            Listing::Pinned(p) => (2, Arc::as_ptr(&p) as usize as u64),
            Listing::Kept => (3, self.version),
        };
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for v in [tag, extra, self.version] {
            h = (h ^ v).wrapping_mul(0x0100_0000_01b3);
        }
        h
    }
}

/// A quick hash of a list of rows (the selection can hold millions).
pub fn hash_rows(rows: &[usize]) -> u64 {
    rows.iter().fold(rows.len() as u64, |h, &r| {
        (h.rotate_left(5) ^ r as u64).wrapping_mul(0x517c_c1b7_2722_0a95)
    })
}

/// The rows the table lists, in list order (unsorted).
pub fn listed_rows(d: &Dataset) -> Vec<u32> {
    match d.table.listing(&d.selection) {
        Listing::Selection => d.selection.iter().map(|&r| r as u32).collect(),
        Listing::Pinned(p) => p.iter().map(|&r| r as u32).collect(),
        Listing::Kept => match d.table.kept() {
            Some(mask) => mask.iter().map(|r| r as u32).collect(),
            None => (0..d.set.rows() as u32).collect(),
        },
    }
}

/// A column of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SortColumn {
    /// The row number.
    Row,
    /// The token (a document's id).
    Id,
    Text,
    /// A metadata column, by index.
    Meta(usize),
}

/// Sorts `rows` by a column: numbers numerically when every non-blank value among the rows
/// is a number, else text by bytes; blanks last in either direction, ties by row. Each row
/// gets one integer key (the number's order-preserving bits, or the rank of its text among the
/// distinct texts), so the sort itself compares integers.
pub fn sort_rows(d: &Dataset, rows: &mut [u32], by: SortColumn, ascending: bool) {
    let cols = d.set.metadata.columns();
    let values: &[String] = match by {
        SortColumn::Row => {
            if ascending {
                rows.par_sort_unstable();
            } else {
                rows.par_sort_unstable_by(|a, b| b.cmp(a));
            }
            return;
        }
        SortColumn::Id => {
            let v = &d.set.vocab;
            sort_by_text(rows, |r| v.token(r as usize), ascending);
            return;
        }
        SortColumn::Text => match text_column(d).and_then(|c| cols.get(c)) {
            Some(c) => &c.values,
            None => return,
        },
        SortColumn::Meta(c) => match cols.get(c) {
            Some(c) => &c.values,
            None => return,
        },
    };
    let cell = |r: u32| values.get(r as usize).map_or("", String::as_str);
    // Blank: u64::MAX (last either way); numbers: their bits in an order-preserving form.
    let numbers: Option<Vec<(u64, u32)>> = rows
        .par_iter()
        .map(|&r| {
            let t = cell(r).trim();
            if t.is_empty() {
                return Some((u64::MAX, r));
            }
            let v = t.parse::<f64>().ok().filter(|v| !v.is_nan())?;
            let b = v.to_bits();
            let k = if b >> 63 == 1 { !b } else { b | (1 << 63) };
            Some(((if ascending { k } else { !k }).min(u64::MAX - 1), r))
        })
        .collect();
    match numbers {
        Some(mut keyed) if keyed.iter().any(|(k, _)| *k != u64::MAX) => {
            keyed.par_sort_unstable();
            for (slot, (_, r)) in rows.iter_mut().zip(keyed) {
                *slot = r;
            }
        }
        _ => sort_by_text(rows, cell, ascending),
    }
}

/// Sorts rows by a text key (bytes), blanks last, ties by row: the distinct texts are sorted
/// once and each row sorted by its text's rank.
fn sort_by_text<'a>(rows: &mut [u32], key: impl Fn(u32) -> &'a str + Sync, ascending: bool) {
    let mut distinct: Vec<&str> = {
        let mut seen: hashbrown::HashSet<&str> = hashbrown::HashSet::new();
        for &r in rows.iter() {
            let t = key(r);
            if !t.trim().is_empty() {
                seen.insert(t);
            }
        }
        seen.into_iter().collect()
    };
    distinct.par_sort_unstable();
    let rank: hashbrown::HashMap<&str, u32> = distinct
        .iter()
        .enumerate()
        .map(|(i, &t)| (t, i as u32))
        .collect();
    let last = distinct.len() as u32;
    let mut keyed: Vec<u64> = rows
        .par_iter()
        .map(|&r| {
            let k = match rank.get(key(r)) {
                Some(&i) if ascending => i,
                Some(&i) => last - 1 - i,
                None => last,
            };
            (u64::from(k) << 32) | u64::from(r)
        })
        .collect();
    keyed.par_sort_unstable();
    for (slot, k) in rows.iter_mut().zip(keyed) {
        *slot = k as u32;
    }
}

/// The metadata column read as the rows' text: the one the user picked, else (documents,
/// occurrences) the one found by name. None for words without a picked column.
pub fn text_column(d: &Dataset) -> Option<usize> {
    let cols = d.set.metadata.columns();
    if let Some(name) = &d.text_column_override {
        return cols.iter().position(|c| &c.name == name);
    }
    if d.kind == RowKind::Words {
        return None;
    }
    let c = d.set.text_column()?;
    cols.iter().position(|x| std::ptr::eq(x, c))
}

/// A row's text for the table and the reader.
pub fn row_text(d: &Dataset, row: usize) -> Option<&str> {
    let c = text_column(d)?;
    d.set.metadata.columns()[c]
        .values
        .get(row)
        .map(String::as_str)
}

/// The metadata columns charted by the filter: all but the text column.
fn chart_columns(d: &Dataset) -> Vec<usize> {
    let text = text_column(d);
    (0..d.set.metadata.columns().len())
        .filter(|&c| Some(c) != text)
        .collect()
}

/// `n` with thousands separated by commas.
pub fn count(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// "1,234 of 50,000 rows" (what the filter keeps).
pub fn kept_summary(d: &Dataset) -> String {
    let n = d.set.rows();
    let kept = d.table.kept().map_or(n, RowMask::count);
    format!("{} of {} rows", count(kept), count(n))
}

/// Builds a set's cross-filter on the worker.
struct BuildFilter {
    set: Arc<EmbeddingSet>,
    columns: Vec<usize>,
}

impl Job for BuildFilter {
    type Output = CrossFilter;

    fn label(&self) -> String {
        format!("filter charts of {} rows", count(self.set.rows()))
    }

    fn run(&self, ctx: &JobContext) -> Result<CrossFilter, EngineError> {
        ctx.check()?;
        build(&self.set, &self.columns).map_err(EngineError::Output)
    }
}

fn build(set: &EmbeddingSet, columns: &[usize]) -> Result<CrossFilter, String> {
    let all = set.metadata.columns();
    let refs: Vec<&MetaColumn> = columns.iter().filter_map(|&c| all.get(c)).collect();
    CrossFilter::from_column_refs(&refs, set.rows()).map_err(|e| e.to_string())
}

impl App {
    pub(super) fn apply_table(&mut self, cmd: TableCommand) {
        let Some(i) = self.active.filter(|&i| i < self.datasets.len()) else {
            if let TableCommand::Export { path, .. } = &cmd {
                self.error(
                    format!("could not write {}", path.display()),
                    "no data set is open",
                );
            }
            return;
        };
        match cmd {
            TableCommand::BuildFilter => {
                self.ensure_filter(i, false);
            }
            TableCommand::SetRangeFilter { column, lo, hi } => {
                self.change_filter(i, |cf| cf.set_range(column, lo, hi));
            }
            TableCommand::SetCategoryFilter {
                column,
                values,
                other,
                missing,
            } => {
                let f = Filter::Categories {
                    values,
                    other,
                    missing,
                };
                self.change_filter(i, |cf| cf.set_filter(column, f));
            }
            TableCommand::ClearFilter(column) => self.change_filter(i, |cf| cf.clear(column)),
            TableCommand::ClearFilters => self.change_filter(i, |cf| {
                cf.clear_all();
                Ok(())
            }),
            TableCommand::Pick { row, add } => {
                let d = &mut self.datasets[i];
                if row >= d.set.rows() {
                    return;
                }
                match d.table.listing(&d.selection) {
                    Listing::Selection => d.table.pinned = Some(Arc::new(d.selection.clone())),
                    Listing::Kept => d.table.pinned = None,
                    Listing::Pinned(_) => {}
                }
                self.apply(Command::Select { row, add });
                let d = &mut self.datasets[i];
                d.table.picked = Some((d.selection.len(), hash_rows(&d.selection)));
            }
            TableCommand::SetTextColumn(name) => {
                let d = &mut self.datasets[i];
                if let Some(n) = &name
                    && d.set.metadata.column(n).is_none()
                {
                    let msg = format!("{}: no metadata column named {n:?}", d.name);
                    self.error("text column", msg);
                    return;
                }
                if d.text_column_override != name {
                    d.text_column_override = name;
                    // The charts leave the text column out: rebuilt when next needed.
                    if let FilterSlot::Building(j) = d.table.filter {
                        self.worker.cancel(j);
                    }
                    let d = &mut self.datasets[i];
                    d.table.filter = FilterSlot::NotBuilt;
                    d.table.version = next_version();
                }
            }
            TableCommand::Export { path, format, rows } => self.export_rows(i, path, format, rows),
        }
    }

    /// Builds data set `i`'s filter if needed: here when `now` or the set is small, else on
    /// the worker. True when it is ready.
    pub(super) fn ensure_filter(&mut self, i: usize, now: bool) -> bool {
        let d = &mut self.datasets[i];
        match &d.table.filter {
            FilterSlot::Ready(_) => return true,
            FilterSlot::Failed(_) => return false,
            // A build that ended without a model (failed or cancelled) can be started again.
            FilterSlot::Building(j) if self.jobs.iter().any(|v| v.id == *j) => return false,
            _ => {}
        }
        let columns = chart_columns(d);
        if !now && d.set.rows() >= FILTER_JOB_ROWS {
            let job = BuildFilter {
                set: d.set.clone(),
                columns: columns.clone(),
            };
            d.table.filter_columns = columns;
            let id = self.start(job, JobKind::Filter, Some(i), |app, view, cf| {
                if let Some(d) = app
                    .datasets
                    .iter_mut()
                    .find(|d| matches!(d.table.filter, FilterSlot::Building(j) if j == view.id))
                {
                    d.table.filter = FilterSlot::Ready(Box::new(cf));
                    d.table.version = next_version();
                }
            });
            self.datasets[i].table.filter = FilterSlot::Building(id);
            return false;
        }
        let built = build(&d.set, &columns);
        d.table.filter_columns = columns;
        match built {
            Ok(cf) => {
                d.table.filter = FilterSlot::Ready(Box::new(cf));
                d.table.version = next_version();
                true
            }
            Err(e) => {
                let title = format!("{}: the metadata filter could not be built", d.name);
                d.table.filter = FilterSlot::Failed(e.clone());
                self.error(title, e);
                false
            }
        }
    }

    /// Changes data set `i`'s filter (built first if needed); an error is shown.
    pub(super) fn change_filter(
        &mut self,
        i: usize,
        f: impl FnOnce(&mut CrossFilter) -> Result<(), super::filter::FilterError>,
    ) {
        if !self.ensure_filter(i, true) {
            if matches!(self.datasets[i].table.filter, FilterSlot::Building(_)) {
                self.info("the filter charts are still being built");
            }
            return;
        }
        let d = &mut self.datasets[i];
        let FilterSlot::Ready(cf) = &mut d.table.filter else {
            return;
        };
        match f(cf) {
            Ok(()) => d.table.version = next_version(),
            Err(e) => self.error("filter", e.to_string()),
        }
    }
}
