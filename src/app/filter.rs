//! Cross-filtering rows by their metadata columns (egui-free; the UI draws the charts and sends
//! the changes).
//!
//! Every column is summarised once, when the model is built (columns in parallel):
//! - **numeric** (every non-blank value parses as a number, at least one finite):
//!   a histogram of [`HISTOGRAM_BINS`] equal bins over min..max (one bin when min == max);
//! - **date** (every non-blank value is an ISO-8601 date or date-time, see [`parse_datetime`]):
//!   the same histogram over time, in seconds since 1970-01-01 UTC;
//! - **categorical** (everything else): the [`TOP_CATEGORIES`] most frequent values (count
//!   descending, then value ascending) and "other" for the rest.
//!
//! Every chart ends with a "missing" bucket: blank values, and for numbers "NaN"/"inf" too.
//! Each row gets a compact code per column (its bucket, u16; for categories also a u32 value
//! id; for numbers and dates its value).
//!
//! A filter per column (a closed value range, or a set of categories), combined with AND. After
//! every change one parallel pass over the rows (fixed chunks of [`CHUNK_ROWS`]) gives the
//! kept rows (a bit set), their number, and for every chart its bucket counts under the OTHER
//! columns' filters (crossfilter semantics: a column's own filter does not empty its chart, it
//! shows what brushing it would keep; a column without a filter shows the kept rows). The pass
//! tests 64 rows at a time per filter into bit words; a row that passes every filter counts in
//! every chart, a row that fails exactly one filter counts in that filter's chart only.
//! Range filters are exact on the values: rows in bins strictly inside the range pass on their
//! code, only the two edge bins compare values. An empty result is a valid state.

use std::collections::HashMap;
use std::fmt;

pub use crate::core::dates::{format_datetime, parse_datetime};
use rayon::prelude::*;
use thiserror::Error;

use crate::core::{MetaColumn, Metadata};

/// Bins of a numeric or date histogram.
pub const HISTOGRAM_BINS: usize = 40;
/// Categories named in a categorical chart; the rest are "other".
pub const TOP_CATEGORIES: usize = 50;
/// Rows per parallel task of a filter pass (a multiple of 64: tasks own whole mask words).
pub const CHUNK_ROWS: usize = 1 << 15;
/// The category id of a blank value.
const MISSING_ID: u32 = u32::MAX;

/// What a column holds, as detected from its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    Numeric,
    Date,
    Categorical,
}

impl fmt::Display for ColumnKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ColumnKind::Numeric => "numeric",
            ColumnKind::Date => "a date column",
            ColumnKind::Categorical => "categorical",
        })
    }
}

/// One bar of a chart.
#[derive(Debug, Clone, PartialEq)]
pub enum Bucket {
    /// A histogram bin: values from `lo` to `hi` (numbers, or dates in seconds since the epoch).
    /// Edges are for display; a value on an edge belongs to one bin only.
    Bin { lo: f64, hi: f64 },
    /// One of the top categories.
    Category(String),
    /// Every value outside the top categories (`categories` distinct values).
    Other { categories: usize },
    /// Blank values (and, for numbers, NaN and infinities). Always the last bucket.
    Missing,
}

/// A column's chart as built: what its buckets are and how many rows each holds unfiltered.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnChart {
    pub name: String,
    pub kind: ColumnKind,
    /// Smallest and largest value (numbers; dates in seconds since the epoch); `None` for
    /// categories.
    pub range: Option<(f64, f64)>,
    /// Distinct non-blank values (categorical columns; 0 otherwise).
    pub distinct: usize,
    pub buckets: Vec<Bucket>,
    /// Rows per bucket without any filter.
    pub totals: Vec<u64>,
}

/// A filter on one column.
#[derive(Debug, Clone, PartialEq)]
pub enum Filter {
    /// Numbers or dates (seconds since the epoch, UTC) with `lo <= value <= hi`. Missing
    /// values never pass; `lo > hi` keeps nothing.
    Range { lo: f64, hi: f64 },
    /// Categorical: rows whose value is one of `values` (names not in the column select
    /// nothing), or, with `other`, any value outside the chart's top categories, or, with
    /// `missing`, a blank value.
    Categories {
        values: Vec<String>,
        other: bool,
        missing: bool,
    },
}

/// What can go wrong building the model or setting a filter.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum FilterError {
    #[error("metadata column '{name}' has {len} values for {rows} rows")]
    RowCount {
        name: String,
        len: usize,
        rows: usize,
    },
    #[error("no metadata column number {0}")]
    NoColumn(usize),
    #[error("column '{column}' is {kind}: {filter} filters do not apply")]
    WrongKind {
        column: String,
        kind: ColumnKind,
        filter: &'static str,
    },
    #[error("range filter on '{column}': bounds must be numbers, not {lo} and {hi}")]
    BadRange { column: String, lo: f64, hi: f64 },
}

/// Rows kept by the filters, one bit per row.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowMask {
    words: Vec<u64>,
    len: usize,
}

impl RowMask {
    /// Rows covered (kept or not).
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Whether `row` is kept (false past the end).
    pub fn contains(&self, row: usize) -> bool {
        row < self.len
            && self
                .words
                .get(row / 64)
                .is_some_and(|w| (w >> (row % 64)) & 1 == 1)
    }

    /// Kept rows.
    pub fn count(&self) -> usize {
        self.words.iter().map(|w| w.count_ones() as usize).sum()
    }

    /// The kept rows, ascending.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(i, &w)| {
            let mut bits = w;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let j = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(i * 64 + j)
            })
        })
    }

    /// One bool per row.
    pub fn to_bools(&self) -> Vec<bool> {
        (0..self.len).map(|r| self.contains(r)).collect()
    }

    /// The bits, row `r` at bit `r % 64` of word `r / 64`; bits past `len` are 0.
    pub fn words(&self) -> &[u64] {
        &self.words
    }

    fn all(len: usize) -> Self {
        let mut words = vec![u64::MAX; len.div_ceil(64)];
        if let Some(last) = words.last_mut()
            && !len.is_multiple_of(64)
        {
            *last = (1u64 << (len % 64)) - 1;
        }
        Self { words, len }
    }
}

/// The state after the last change.
#[derive(Debug, Clone, PartialEq)]
pub struct FilterView {
    pub mask: RowMask,
    /// Rows passing every filter.
    pub kept: usize,
    /// Per column, per bucket of its chart: rows passing every filter except that column's own.
    pub counts: Vec<Vec<u64>>,
}

/// Histogram geometry: `bins` equal bins over `min..=max`.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Histogram {
    min: f64,
    max: f64,
    bins: usize,
}

impl Histogram {
    fn new(min: f64, max: f64) -> Self {
        let bins = if max > min { HISTOGRAM_BINS } else { 1 };
        Self { min, max, bins }
    }

    /// The bin of `v`, clamped to the histogram. Non-decreasing in `v` (every step is), which
    /// is what makes range filters on bin codes exact.
    fn bin(&self, v: f64) -> usize {
        if self.bins == 1 {
            return 0;
        }
        let t = (v - self.min) / (self.max - self.min) * self.bins as f64;
        if t > 0.0 {
            (t as usize).min(self.bins - 1)
        } else {
            0
        }
    }

    fn buckets(&self) -> Vec<Bucket> {
        let step = (self.max - self.min) / self.bins as f64;
        (0..self.bins)
            .map(|i| Bucket::Bin {
                lo: self.min + step * i as f64,
                hi: if i + 1 == self.bins {
                    self.max
                } else {
                    self.min + step * (i + 1) as f64
                },
            })
            .chain(std::iter::once(Bucket::Missing))
            .collect()
    }
}

/// Per-row data of a column beyond its bucket codes.
#[derive(Debug, Clone)]
enum Values {
    /// Numbers or dates: each row's value (NaN when missing).
    Numbers { values: Vec<f64>, hist: Histogram },
    /// Each row's value id (ids by rank: count descending, then value; `MISSING_ID` when
    /// blank), and the id of every value.
    Categories {
        ids: Vec<u32>,
        id_of: HashMap<String, u32>,
    },
}

#[derive(Debug, Clone)]
struct Column {
    chart: ColumnChart,
    /// Each row's bucket in the chart.
    buckets: Vec<u16>,
    values: Values,
}

fn is_blank(v: &str) -> bool {
    v.trim().is_empty()
}

/// A number, `Some(NaN)` for a blank or non-finite one, `None` for something else.
fn parse_number(v: &str) -> Option<f64> {
    let t = v.trim();
    if t.is_empty() {
        return Some(f64::NAN);
    }
    let x: f64 = t.parse().ok()?;
    Some(if x.is_finite() { x } else { f64::NAN })
}

/// A date, `Some(NaN)` for a blank, `None` for something else.
fn parse_date_value(v: &str) -> Option<f64> {
    if is_blank(v) {
        Some(f64::NAN)
    } else {
        parse_datetime(v)
    }
}

fn min_max(values: &[f64]) -> Option<(f64, f64)> {
    values
        .par_iter()
        .filter(|v| !v.is_nan())
        .fold(
            || None,
            |acc: Option<(f64, f64)>, &v| Some(acc.map_or((v, v), |(a, b)| (a.min(v), b.max(v)))),
        )
        .reduce(
            || None,
            |a, b| match (a, b) {
                (Some((a0, a1)), Some((b0, b1))) => Some((a0.min(b0), a1.max(b1))),
                (x, None) | (None, x) => x,
            },
        )
}

fn bucket_totals(buckets: &[u16], n: usize) -> Vec<u64> {
    buckets
        .par_chunks(CHUNK_ROWS)
        .map(|chunk| {
            let mut t = vec![0u64; n];
            for &b in chunk {
                t[usize::from(b)] += 1;
            }
            t
        })
        .reduce(
            || vec![0u64; n],
            |mut a, b| {
                a.iter_mut().zip(b).for_each(|(x, y)| *x += y);
                a
            },
        )
}

fn numeric_column(name: &str, kind: ColumnKind, values: Vec<f64>) -> Option<Column> {
    let (min, max) = min_max(&values)?;
    let hist = Histogram::new(min, max);
    let missing = hist.bins as u16;
    let buckets: Vec<u16> = values
        .par_iter()
        .map(|&v| {
            if v.is_nan() {
                missing
            } else {
                hist.bin(v) as u16
            }
        })
        .collect();
    let chart_buckets = hist.buckets();
    let totals = bucket_totals(&buckets, chart_buckets.len());
    Some(Column {
        chart: ColumnChart {
            name: name.to_owned(),
            kind,
            range: Some((min, max)),
            distinct: 0,
            buckets: chart_buckets,
            totals,
        },
        buckets,
        values: Values::Numbers { values, hist },
    })
}

fn categorical_column(col: &MetaColumn) -> Column {
    let counts: HashMap<&str, u64> = col
        .values
        .par_chunks(CHUNK_ROWS)
        .map(|chunk| {
            let mut m: HashMap<&str, u64> = HashMap::new();
            for v in chunk.iter().filter(|v| !is_blank(v)) {
                *m.entry(v.as_str()).or_insert(0) += 1;
            }
            m
        })
        .reduce(HashMap::new, |mut a, b| {
            for (k, n) in b {
                *a.entry(k).or_insert(0) += n;
            }
            a
        });
    let mut ranked: Vec<(&str, u64)> = counts.into_iter().collect();
    ranked.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let distinct = ranked.len();
    let id_of: HashMap<String, u32> = ranked
        .iter()
        .enumerate()
        .map(|(i, (v, _))| ((*v).to_owned(), i as u32))
        .collect();
    let named = distinct.min(TOP_CATEGORIES);
    let other = distinct > TOP_CATEGORIES;
    let missing_bucket = named + usize::from(other);
    let ids: Vec<u32> = col
        .values
        .par_iter()
        .map(|v| {
            if is_blank(v) {
                MISSING_ID
            } else {
                id_of.get(v.as_str()).copied().unwrap_or(MISSING_ID)
            }
        })
        .collect();
    let buckets: Vec<u16> = ids
        .par_iter()
        .map(|&id| {
            if id == MISSING_ID {
                missing_bucket as u16
            } else {
                (id as usize).min(named) as u16
            }
        })
        .collect();
    let mut chart_buckets: Vec<Bucket> = ranked[..named]
        .iter()
        .map(|(v, _)| Bucket::Category((*v).to_owned()))
        .collect();
    if other {
        chart_buckets.push(Bucket::Other {
            categories: distinct - named,
        });
    }
    chart_buckets.push(Bucket::Missing);
    let totals = bucket_totals(&buckets, chart_buckets.len());
    Column {
        chart: ColumnChart {
            name: col.name.clone(),
            kind: ColumnKind::Categorical,
            range: None,
            distinct,
            buckets: chart_buckets,
            totals,
        },
        buckets,
        values: Values::Categories { ids, id_of },
    }
}

/// Detects the column's kind and builds its chart and row codes.
fn build_column(col: &MetaColumn) -> Column {
    let numbers: Option<Vec<f64>> = col.values.par_iter().map(|v| parse_number(v)).collect();
    if let Some(c) = numbers.and_then(|v| numeric_column(&col.name, ColumnKind::Numeric, v)) {
        return c;
    }
    let dates: Option<Vec<f64>> = col.values.par_iter().map(|v| parse_date_value(v)).collect();
    if let Some(c) = dates.and_then(|v| numeric_column(&col.name, ColumnKind::Date, v)) {
        return c;
    }
    categorical_column(col)
}

/// One filter ready for the pass: a test of 64 rows at a time.
enum Test<'a> {
    Never,
    /// Buckets strictly between the edge bins pass; the edge bins compare values.
    Range {
        buckets: &'a [u16],
        values: &'a [f64],
        lo_bin: u16,
        hi_bin: u16,
        lo: f64,
        hi: f64,
    },
    /// Rows whose bucket's bit is set (every chart has at most 64 buckets).
    Buckets {
        buckets: &'a [u16],
        pass: u64,
    },
    /// Rows whose value id passes (a category outside the top ones chosen by name).
    Ids {
        ids: &'a [u32],
        pass: Vec<bool>,
        missing: bool,
    },
}

impl Test<'_> {
    /// Bit j: whether row `start + j` passes, for `n <= 64` rows.
    fn word(&self, start: usize, n: usize) -> u64 {
        let end = start + n;
        let mut m = 0u64;
        match self {
            Test::Never => {}
            Test::Range {
                buckets,
                values,
                lo_bin,
                hi_bin,
                lo,
                hi,
            } => {
                for (j, (&b, &v)) in buckets[start..end]
                    .iter()
                    .zip(&values[start..end])
                    .enumerate()
                {
                    // Without branches (`&`, `|`): the loop compiles to vector code.
                    let inside = (b > *lo_bin) & (b < *hi_bin);
                    let edge = (b == *lo_bin) | (b == *hi_bin);
                    let pass = inside | (edge & (v >= *lo) & (v <= *hi));
                    m |= u64::from(pass) << j;
                }
            }
            Test::Buckets { buckets, pass } => {
                for (j, &b) in buckets[start..end].iter().enumerate() {
                    m |= ((pass >> b) & 1) << j;
                }
            }
            Test::Ids { ids, pass, missing } => {
                for (j, &id) in ids[start..end].iter().enumerate() {
                    let ok = if id == MISSING_ID {
                        *missing
                    } else {
                        pass.get(id as usize).copied().unwrap_or(false)
                    };
                    m |= u64::from(ok) << j;
                }
            }
        }
        m
    }
}

/// Adds one to `counts[buckets[base + j]]` for every set bit j of `bits`.
fn count_bits(counts: &mut [u64], buckets: &[u16], base: usize, bits: u64) {
    if bits == u64::MAX {
        for &b in &buckets[base..base + 64] {
            counts[usize::from(b)] += 1;
        }
        return;
    }
    let mut bits = bits;
    while bits != 0 {
        let j = bits.trailing_zeros() as usize;
        counts[usize::from(buckets[base + j])] += 1;
        bits &= bits - 1;
    }
}

struct ChunkResult {
    words: Vec<u64>,
    counts: Vec<Vec<u64>>,
    kept: usize,
}

/// The filter pass over rows `start..end` (`start` a multiple of 64).
fn pass_chunk(
    columns: &[Column],
    tests: &[(usize, Test)],
    start: usize,
    end: usize,
) -> ChunkResult {
    let mut counts: Vec<Vec<u64>> = columns
        .iter()
        .map(|c| vec![0; c.chart.buckets.len()])
        .collect();
    let n_words = (end - start).div_ceil(64);
    let mut words = Vec::with_capacity(n_words);
    let mut kept = 0;
    let k = tests.len();
    let mut pass = vec![0u64; k];
    let mut suffix = vec![0u64; k + 1];
    for w in 0..n_words {
        let base = start + w * 64;
        let n = (end - base).min(64);
        let valid = if n == 64 { u64::MAX } else { (1u64 << n) - 1 };
        for (p, (_, t)) in pass.iter_mut().zip(tests) {
            *p = t.word(base, n) & valid;
        }
        // suffix[i]: rows passing tests i.. ; a running prefix gives rows passing tests ..i.
        suffix[k] = valid;
        for i in (0..k).rev() {
            suffix[i] = suffix[i + 1] & pass[i];
        }
        let all = suffix[0];
        words.push(all);
        kept += all.count_ones() as usize;
        if all != 0 {
            for (c, col) in counts.iter_mut().zip(columns) {
                count_bits(c, &col.buckets, base, all);
            }
        }
        let mut prefix = valid;
        for (i, (col, _)) in tests.iter().enumerate() {
            let only_this = prefix & suffix[i + 1] & !pass[i];
            if only_this != 0 {
                count_bits(&mut counts[*col], &columns[*col].buckets, base, only_this);
            }
            prefix &= pass[i];
        }
    }
    ChunkResult {
        words,
        counts,
        kept,
    }
}

/// The cross-filter model of one data set's metadata.
#[derive(Debug, Clone)]
pub struct CrossFilter {
    rows: usize,
    columns: Vec<Column>,
    filters: Vec<Option<Filter>>,
    view: FilterView,
}

impl CrossFilter {
    /// Builds every column's chart and codes (columns in parallel). Every column must have
    /// one value per row.
    pub fn new(metadata: &Metadata, rows: usize) -> Result<Self, FilterError> {
        Self::from_columns(metadata.columns(), rows)
    }

    pub fn from_columns(columns: &[MetaColumn], rows: usize) -> Result<Self, FilterError> {
        let refs: Vec<&MetaColumn> = columns.iter().collect();
        Self::from_column_refs(&refs, rows)
    }

    /// [`CrossFilter::from_columns`] on some of a set's columns (a document set's text column
    /// left out, say): chart `i` is `columns[i]`.
    pub fn from_column_refs(columns: &[&MetaColumn], rows: usize) -> Result<Self, FilterError> {
        if let Some(c) = columns.iter().find(|c| c.values.len() != rows) {
            return Err(FilterError::RowCount {
                name: c.name.clone(),
                len: c.values.len(),
                rows,
            });
        }
        let columns: Vec<Column> = columns.par_iter().map(|c| build_column(c)).collect();
        let view = FilterView {
            mask: RowMask::all(rows),
            kept: rows,
            counts: columns.iter().map(|c| c.chart.totals.clone()).collect(),
        };
        Ok(Self {
            rows,
            filters: vec![None; columns.len()],
            columns,
            view,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Number of columns (charts).
    pub fn len(&self) -> usize {
        self.columns.len()
    }

    pub fn is_empty(&self) -> bool {
        self.columns.is_empty()
    }

    pub fn chart(&self, column: usize) -> Option<&ColumnChart> {
        self.columns.get(column).map(|c| &c.chart)
    }

    pub fn charts(&self) -> impl Iterator<Item = &ColumnChart> {
        self.columns.iter().map(|c| &c.chart)
    }

    /// The first column with this name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.chart.name == name)
    }

    /// The bucket of `row` in `column`'s chart.
    pub fn bucket(&self, column: usize, row: usize) -> Option<usize> {
        self.columns
            .get(column)?
            .buckets
            .get(row)
            .map(|&b| usize::from(b))
    }

    pub fn filter(&self, column: usize) -> Option<&Filter> {
        self.filters.get(column)?.as_ref()
    }

    /// Whether any filter is set.
    pub fn is_filtered(&self) -> bool {
        self.filters.iter().any(Option::is_some)
    }

    /// The kept rows and the charts' counts after the last change.
    pub fn view(&self) -> &FilterView {
        &self.view
    }

    /// Sets (replaces) `column`'s filter and recomputes the view.
    pub fn set_filter(&mut self, column: usize, filter: Filter) -> Result<(), FilterError> {
        let col = self
            .columns
            .get(column)
            .ok_or(FilterError::NoColumn(column))?;
        let wrong = |filter| FilterError::WrongKind {
            column: col.chart.name.clone(),
            kind: col.chart.kind,
            filter,
        };
        match (&filter, &col.values) {
            (Filter::Range { lo, hi }, Values::Numbers { .. }) => {
                if lo.is_nan() || hi.is_nan() {
                    return Err(FilterError::BadRange {
                        column: col.chart.name.clone(),
                        lo: *lo,
                        hi: *hi,
                    });
                }
            }
            (Filter::Range { .. }, Values::Categories { .. }) => return Err(wrong("range")),
            (Filter::Categories { .. }, Values::Numbers { .. }) => {
                return Err(wrong("category"));
            }
            (Filter::Categories { .. }, Values::Categories { .. }) => {}
        }
        self.filters[column] = Some(filter);
        self.recompute();
        Ok(())
    }

    /// A range filter on a numeric or date column.
    pub fn set_range(&mut self, column: usize, lo: f64, hi: f64) -> Result<(), FilterError> {
        self.set_filter(column, Filter::Range { lo, hi })
    }

    /// Removes `column`'s filter.
    pub fn clear(&mut self, column: usize) -> Result<(), FilterError> {
        let slot = self
            .filters
            .get_mut(column)
            .ok_or(FilterError::NoColumn(column))?;
        if slot.take().is_some() {
            self.recompute();
        }
        Ok(())
    }

    /// Removes every filter.
    pub fn clear_all(&mut self) {
        if self.is_filtered() {
            self.filters.iter_mut().for_each(|f| *f = None);
            self.recompute();
        }
    }

    fn compile(&self) -> Vec<(usize, Test<'_>)> {
        self.filters
            .iter()
            .zip(&self.columns)
            .enumerate()
            .filter_map(|(i, (f, col))| Some((i, compile(f.as_ref()?, col))))
            .collect()
    }

    fn recompute(&mut self) {
        let tests = self.compile();
        let rows = self.rows;
        let chunks: Vec<ChunkResult> = (0..rows.div_ceil(CHUNK_ROWS))
            .into_par_iter()
            .map(|i| {
                let start = i * CHUNK_ROWS;
                pass_chunk(&self.columns, &tests, start, (start + CHUNK_ROWS).min(rows))
            })
            .collect();
        let mut words = Vec::with_capacity(rows.div_ceil(64));
        let mut counts: Vec<Vec<u64>> = self
            .columns
            .iter()
            .map(|c| vec![0; c.chart.buckets.len()])
            .collect();
        let mut kept = 0;
        for ch in chunks {
            words.extend(ch.words);
            kept += ch.kept;
            for (total, part) in counts.iter_mut().zip(ch.counts) {
                total.iter_mut().zip(part).for_each(|(t, p)| *t += p);
            }
        }
        self.view = FilterView {
            mask: RowMask { words, len: rows },
            kept,
            counts,
        };
    }
}

/// A filter as a test over the column's codes (the filter's kind was checked when it was set).
fn compile<'a>(filter: &Filter, col: &'a Column) -> Test<'a> {
    match (filter, &col.values) {
        (&Filter::Range { lo, hi }, Values::Numbers { values, hist }) => {
            if lo > hi || lo.is_nan() || hi.is_nan() {
                return Test::Never;
            }
            Test::Range {
                buckets: &col.buckets,
                values,
                lo_bin: hist.bin(lo) as u16,
                hi_bin: hist.bin(hi) as u16,
                lo,
                hi,
            }
        }
        (
            Filter::Categories {
                values,
                other,
                missing,
            },
            Values::Categories { ids, id_of },
        ) => {
            let named = col.chart.distinct.min(TOP_CATEGORIES);
            let chosen: Vec<u32> = values
                .iter()
                .filter_map(|v| id_of.get(v).copied())
                .collect();
            let outside = chosen.iter().any(|&id| id as usize >= named);
            if !outside || *other {
                let mut pass = 0u64;
                for &id in &chosen {
                    pass |= 1 << (id as usize).min(named);
                }
                if *other && col.chart.distinct > named {
                    pass |= 1 << named;
                }
                if *missing {
                    pass |= 1 << (col.chart.buckets.len() - 1);
                }
                Test::Buckets {
                    buckets: &col.buckets,
                    pass,
                }
            } else {
                let mut pass = vec![false; col.chart.distinct];
                for &id in &chosen {
                    pass[id as usize] = true;
                }
                Test::Ids {
                    ids,
                    pass,
                    missing: *missing,
                }
            }
        }
        _ => Test::Never,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::dates::{civil_from_days, days_from_civil, days_in_month};

    fn column(name: &str, values: &[&str]) -> MetaColumn {
        MetaColumn {
            name: name.to_owned(),
            values: values.iter().map(|v| (*v).to_owned()).collect(),
        }
    }

    fn model(cols: &[MetaColumn]) -> CrossFilter {
        let rows = cols.first().map_or(0, |c| c.values.len());
        CrossFilter::from_columns(cols, rows).expect("model")
    }

    /// What the filters keep and count, row by row from the strings.
    fn direct(
        cf: &CrossFilter,
        cols: &[MetaColumn],
        filters: &[Option<Filter>],
    ) -> (Vec<bool>, Vec<Vec<u64>>) {
        let rows = cf.rows();
        let passes = |c: usize, r: usize| -> bool {
            let v = cols[c].values[r].as_str();
            match &filters[c] {
                None => true,
                Some(Filter::Range { lo, hi }) => {
                    let x = match cf.chart(c).expect("chart").kind {
                        ColumnKind::Numeric => parse_number(v),
                        ColumnKind::Date => parse_date_value(v),
                        ColumnKind::Categorical => unreachable!("range on categories"),
                    }
                    .expect("value");
                    !x.is_nan() && *lo <= x && x <= *hi
                }
                Some(Filter::Categories {
                    values,
                    other,
                    missing,
                }) => {
                    if v.trim().is_empty() {
                        *missing
                    } else {
                        let top = cf
                            .chart(c)
                            .expect("chart")
                            .buckets
                            .iter()
                            .any(|b| matches!(b, Bucket::Category(name) if name == v));
                        values.iter().any(|x| x == v) || (*other && !top)
                    }
                }
            }
        };
        let mut kept = vec![false; rows];
        let mut counts: Vec<Vec<u64>> = cf.charts().map(|ch| vec![0; ch.buckets.len()]).collect();
        for (r, k) in kept.iter_mut().enumerate() {
            let pass: Vec<bool> = (0..cols.len()).map(|c| passes(c, r)).collect();
            *k = pass.iter().all(|&p| p);
            for (c, count) in counts.iter_mut().enumerate() {
                if pass.iter().enumerate().all(|(o, &p)| o == c || p) {
                    count[cf.bucket(c, r).expect("bucket")] += 1;
                }
            }
        }
        (kept, counts)
    }

    fn check(cf: &CrossFilter, cols: &[MetaColumn], case: &str) {
        let filters: Vec<Option<Filter>> = (0..cf.len()).map(|c| cf.filter(c).cloned()).collect();
        let (kept, counts) = direct(cf, cols, &filters);
        let view = cf.view();
        assert_eq!(view.mask.to_bools(), kept, "{case}: mask");
        assert_eq!(
            view.kept,
            kept.iter().filter(|&&k| k).count(),
            "{case}: kept"
        );
        assert_eq!(view.mask.count(), view.kept, "{case}: mask count");
        assert_eq!(view.counts, counts, "{case}: counts");
    }

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: usize) -> usize {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            (self.0 % n.max(1) as u64) as usize
        }

        fn chance(&mut self, percent: usize) -> bool {
            self.below(100) < percent
        }
    }

    fn random_column(rng: &mut Rng, name: String, rows: usize) -> MetaColumn {
        let kind = rng.below(4);
        let distinct = 1 + rng.below(80);
        let values = (0..rows)
            .map(|_| {
                if rng.chance(8) {
                    return ["", " ", "NaN"][rng.below(3)].to_owned();
                }
                // Skewed: low ids far more often.
                let i = rng.below(distinct).min(rng.below(distinct));
                match kind {
                    0 => format!("{}", i as f64 * 0.37 - 5.0),
                    1 => format!("{}", 1000 + i * (1 + rng.below(3))),
                    2 => {
                        let day = days_from_civil(2020, 1, 1) + 11 * i as i64;
                        if rng.chance(30) {
                            format!(
                                "{}T{:02}:30:00Z",
                                format_datetime(day as f64 * 86_400.0, false),
                                i % 24
                            )
                        } else {
                            format_datetime(day as f64 * 86_400.0, false)
                        }
                    }
                    _ => format!("c{i}"),
                }
            })
            .collect();
        MetaColumn { name, values }
    }

    fn random_filter(rng: &mut Rng, cf: &CrossFilter, c: usize, col: &MetaColumn) -> Filter {
        let chart = cf.chart(c).expect("chart");
        match chart.kind {
            ColumnKind::Numeric | ColumnKind::Date => {
                let (min, max) = chart.range.expect("range");
                let pick = |rng: &mut Rng| -> f64 {
                    match rng.below(4) {
                        // A value of the column, exactly.
                        0 | 1 => {
                            let v = &col.values[rng.below(col.values.len())];
                            let x = if chart.kind == ColumnKind::Numeric {
                                parse_number(v)
                            } else {
                                parse_date_value(v)
                            };
                            x.filter(|x| !x.is_nan()).unwrap_or(min)
                        }
                        2 => min + (max - min) * (rng.below(1200) as f64 / 1000.0 - 0.1),
                        _ => [f64::NEG_INFINITY, f64::INFINITY, min, max][rng.below(4)],
                    }
                };
                let (a, b) = (pick(rng), pick(rng));
                let (lo, hi) = if rng.chance(90) {
                    (a.min(b), a.max(b))
                } else {
                    (a, b)
                };
                Filter::Range { lo, hi }
            }
            ColumnKind::Categorical => {
                let mut values: Vec<String> = (0..rng.below(4))
                    .map(|_| col.values[rng.below(col.values.len())].clone())
                    .collect();
                if rng.chance(10) {
                    values.push("not a value".into());
                }
                Filter::Categories {
                    values,
                    other: rng.chance(30),
                    missing: rng.chance(30),
                }
            }
        }
    }

    #[test]
    fn random_filters_match_a_direct_count() {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        for case in 0..400 {
            // A few cases span several chunks, with a partial last word.
            let rows = if case % 100 == 7 {
                2 * CHUNK_ROWS + 1 + rng.below(100)
            } else {
                rng.below(300)
            };
            let n_cols = 1 + rng.below(4);
            let cols: Vec<MetaColumn> = (0..n_cols)
                .map(|c| random_column(&mut rng, format!("col{c}"), rows))
                .collect();
            let mut cf = model(&cols);
            check(&cf, &cols, &format!("case {case} unfiltered"));
            for c in 0..n_cols {
                assert_eq!(
                    cf.view().counts[c],
                    cf.chart(c).expect("chart").totals,
                    "case {case}: totals"
                );
            }
            if rows == 0 {
                continue;
            }
            for step in 0..4 {
                let c = rng.below(n_cols);
                if rng.chance(20) {
                    cf.clear(c).expect("clear");
                } else {
                    let f = random_filter(&mut rng, &cf, c, &cols[c]);
                    cf.set_filter(c, f).expect("filter");
                }
                check(&cf, &cols, &format!("case {case} step {step}"));
            }
            cf.clear_all();
            assert!(!cf.is_filtered());
            assert_eq!(cf.view().kept, rows);
            check(&cf, &cols, &format!("case {case} cleared"));
        }
    }

    #[test]
    fn numeric_detection_blanks_and_nan() {
        let cols = [column("x", &["1", " 2.5 ", "-3e2", "", "NaN", "inf"])];
        let cf = model(&cols);
        let chart = cf.chart(0).expect("chart");
        assert_eq!(chart.kind, ColumnKind::Numeric);
        assert_eq!(chart.range, Some((-300.0, 2.5)));
        assert_eq!(chart.buckets.len(), HISTOGRAM_BINS + 1);
        assert_eq!(chart.buckets.last(), Some(&Bucket::Missing));
        assert_eq!(
            chart.totals[HISTOGRAM_BINS], 3,
            "blank, NaN and inf are missing"
        );
        assert_eq!(chart.totals[0], 1);
        assert_eq!(chart.totals[HISTOGRAM_BINS - 1], 2, "max in the last bin");
        assert_eq!(chart.totals.iter().sum::<u64>(), 6);
        assert_eq!(
            chart.buckets[0],
            Bucket::Bin {
                lo: -300.0,
                hi: -300.0 + 302.5 / 40.0
            }
        );
        // Only NaN strings: no number, so categories.
        let cf = model(&[column("y", &["NaN", "nan", ""])]);
        assert_eq!(cf.chart(0).expect("chart").kind, ColumnKind::Categorical);
        assert_eq!(cf.chart(0).expect("chart").distinct, 2);
    }

    #[test]
    fn date_detection() {
        let cols = [column(
            "when",
            &[
                "2024-01-05",
                "2024-01-05T10:00:00Z",
                "2024-02",
                " 2024-01-05 12:00+02:00 ",
                "",
            ],
        )];
        let cf = model(&cols);
        let chart = cf.chart(0).expect("chart");
        assert_eq!(chart.kind, ColumnKind::Date);
        let jan5 = parse_datetime("2024-01-05").expect("date");
        let feb1 = parse_datetime("2024-02-01T00:00").expect("date");
        assert_eq!(chart.range, Some((jan5, feb1)));
        assert_eq!(chart.totals[HISTOGRAM_BINS], 1);
        // 12:00+02:00 is 10:00 UTC: the same instant as the second value.
        assert_eq!(cf.bucket(0, 1), cf.bucket(0, 3));
        let mut cf = cf;
        cf.set_range(0, jan5 + 3600.0, jan5 + 36_000.0)
            .expect("range");
        assert_eq!(cf.view().mask.to_bools(), [false, true, false, true, false]);
        // A bad month, or dates mixed with other text: categories.
        for values in [
            &["2024-13-01", "2024-01-01"][..],
            &["2024-01-01", "soon"][..],
        ] {
            let cf = model(&[column("d", values)]);
            assert_eq!(cf.chart(0).expect("chart").kind, ColumnKind::Categorical);
        }
        // Years alone are numbers.
        let cf = model(&[column("y", &["2024", "1999"])]);
        assert_eq!(cf.chart(0).expect("chart").kind, ColumnKind::Numeric);
    }

    #[test]
    fn datetime_parsing_and_formatting() {
        let p = |s| parse_datetime(s);
        assert_eq!(p("1970-01-01"), Some(0.0));
        assert_eq!(p("2000-03-01"), Some(951_868_800.0));
        assert_eq!(p("2024-02-29T12:34:56Z"), Some(1_709_210_096.0));
        assert_eq!(p("2024-02-29 12:34:56.25"), Some(1_709_210_096.25));
        assert_eq!(p("2024-02-29t12:34:56,5z"), Some(1_709_210_096.5));
        assert_eq!(p("2024-02-29T14:34:56+02:00"), Some(1_709_210_096.0));
        assert_eq!(p("2024-02-29T14:34:56+0200"), Some(1_709_210_096.0));
        assert_eq!(p("2024-02-29T10:34:56-02"), Some(1_709_210_096.0));
        assert_eq!(p("2024-02-29T12:34Z"), Some(1_709_210_040.0));
        assert_eq!(p("1969-12-31T23:59:59Z"), Some(-1.0));
        assert_eq!(p("0000-03-01"), Some(-62_162_035_200.0));
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "2024-00-10",
            "2024-04-31",
            "2024-01-05T24:00",
            "2024-01-05T10:60",
            "2024-01-05T10:00:60",
            "2024-01-05T10",
            "2024-01-05T10:00:00.",
            "2024-01-05T10:00+2",
            "2024-01-05T10:00Zx",
            "2024-01-05X10:00",
            "2024-1-05",
            "24-01-05",
            "2024/01/05",
            "2024",
            "",
            "tomorrow",
            "２０２４-01-05",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
        assert_eq!(format_datetime(0.0, false), "1970-01-01");
        assert_eq!(format_datetime(1_709_210_096.0, true), "2024-02-29 12:34");
        assert_eq!(format_datetime(-1.0, true), "1969-12-31 23:59");
        assert_eq!(format_datetime(f64::NAN, true), "");
        for days in (-800_000..800_000).step_by(997) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
            assert!((1..=12).contains(&m) && d >= 1 && d <= days_in_month(y, m));
        }
    }

    #[test]
    fn single_value_and_empty_results() {
        let cols = [
            column("x", &["7", "7", "", "7"]),
            column("tag", &["a", "b", "a", "b"]),
        ];
        let mut cf = model(&cols);
        let chart = cf.chart(0).expect("chart").clone();
        assert_eq!(chart.range, Some((7.0, 7.0)));
        assert_eq!(
            chart.buckets,
            [Bucket::Bin { lo: 7.0, hi: 7.0 }, Bucket::Missing]
        );
        assert_eq!(chart.totals, [3, 1]);
        cf.set_range(0, 7.0, 7.0).expect("range");
        assert_eq!(cf.view().kept, 3);
        cf.set_range(0, 8.0, 9.0).expect("range");
        assert_eq!(cf.view().kept, 0);
        assert_eq!(cf.view().mask.iter().count(), 0);
        // Its own chart still shows every row (no other filter); the other chart is empty.
        assert_eq!(cf.view().counts[0], [3, 1]);
        assert_eq!(cf.view().counts[1], [0, 0, 0]);
        cf.set_range(0, 9.0, 8.0).expect("lo above hi");
        assert_eq!(cf.view().kept, 0);
        // Two filters that exclude each other: each chart shows the other's selection.
        cf.set_range(0, 7.0, 7.0).expect("range");
        cf.set_filter(
            1,
            Filter::Categories {
                values: vec!["a".into()],
                other: false,
                missing: false,
            },
        )
        .expect("categories");
        assert_eq!(cf.view().mask.to_bools(), [true, false, false, false]);
        cf.set_filter(
            1,
            Filter::Categories {
                values: vec!["nothing".into()],
                other: false,
                missing: true,
            },
        )
        .expect("categories");
        assert_eq!(cf.view().kept, 0);
        assert_eq!(cf.view().counts[0], [0, 0]);
        assert_eq!(cf.view().counts[1], [1, 2, 0], "a, b, missing under x = 7");
        check(&cf, &cols, "exclusive");
        cf.clear(1).expect("clear");
        assert_eq!(cf.view().kept, 3);
        cf.clear_all();
        assert_eq!(cf.view().counts[0], chart.totals);
    }

    #[test]
    fn top_categories_and_other() {
        // 60 categories: v00 x60, v01 x59, ..., v59 x1; plus 5 blanks.
        let mut values: Vec<String> = Vec::new();
        for i in 0..60 {
            values.extend(std::iter::repeat_n(format!("v{i:02}"), 60 - i));
        }
        values.extend(std::iter::repeat_n(String::new(), 5));
        let cols = [MetaColumn {
            name: "cat".into(),
            values,
        }];
        let mut cf = model(&cols);
        let chart = cf.chart(0).expect("chart").clone();
        assert_eq!(chart.distinct, 60);
        assert_eq!(chart.buckets.len(), TOP_CATEGORIES + 2);
        assert_eq!(chart.buckets[0], Bucket::Category("v00".into()));
        assert_eq!(chart.buckets[49], Bucket::Category("v49".into()));
        assert_eq!(chart.buckets[50], Bucket::Other { categories: 10 });
        assert_eq!(chart.totals[50], (1..=10).sum::<u64>());
        assert_eq!(chart.totals[51], 5);
        // A category outside the top ones, by name.
        let pick = |values: &[&str], other, missing| Filter::Categories {
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            other,
            missing,
        };
        cf.set_filter(0, pick(&["v55", "v00"], false, false))
            .expect("filter");
        assert_eq!(cf.view().kept, 5 + 60);
        check(&cf, &cols, "beyond the top");
        cf.set_filter(0, pick(&["v55"], true, true))
            .expect("filter");
        assert_eq!(cf.view().kept, 55 + 5);
        check(&cf, &cols, "other and missing");
        // Ties in count are ranked by value.
        let cf = model(&[column("t", &["b", "a", "c", "a", "b"])]);
        let names: Vec<&Bucket> = cf.chart(0).expect("chart").buckets.iter().collect();
        assert_eq!(
            names,
            [
                &Bucket::Category("a".into()),
                &Bucket::Category("b".into()),
                &Bucket::Category("c".into()),
                &Bucket::Missing
            ]
        );
    }

    #[test]
    fn blank_and_empty_columns() {
        let cf = model(&[column("b", &["", "  ", "\t"])]);
        let chart = cf.chart(0).expect("chart");
        assert_eq!(chart.kind, ColumnKind::Categorical);
        assert_eq!(chart.buckets, [Bucket::Missing]);
        assert_eq!(chart.totals, [3]);
        let mut cf = CrossFilter::from_columns(&[column("none", &[])], 0).expect("model");
        assert_eq!(cf.view().kept, 0);
        assert!(cf.view().mask.is_empty());
        cf.set_filter(
            0,
            Filter::Categories {
                values: vec![],
                other: true,
                missing: true,
            },
        )
        .expect("filter");
        assert_eq!(cf.view().kept, 0);
        let cf = CrossFilter::new(&Metadata::new(), 10).expect("no columns");
        assert!(cf.is_empty());
        assert_eq!(cf.view().kept, 10);
    }

    #[test]
    fn errors_leave_the_state_alone() {
        let cols = [column("x", &["1", "2"]), column("c", &["a", "b"])];
        assert_eq!(
            CrossFilter::from_columns(&cols, 3).err(),
            Some(FilterError::RowCount {
                name: "x".into(),
                len: 2,
                rows: 3
            })
        );
        let mut cf = model(&cols);
        cf.set_range(0, 1.5, 9.0).expect("range");
        let before = cf.view().clone();
        assert_eq!(cf.set_range(5, 0.0, 1.0), Err(FilterError::NoColumn(5)));
        assert_eq!(cf.clear(5), Err(FilterError::NoColumn(5)));
        assert!(matches!(
            cf.set_range(1, 0.0, 1.0),
            Err(FilterError::WrongKind { .. })
        ));
        let cats = Filter::Categories {
            values: vec![],
            other: false,
            missing: false,
        };
        let err = cf.set_filter(0, cats).expect_err("wrong kind");
        assert_eq!(
            err.to_string(),
            "column 'x' is numeric: category filters do not apply"
        );
        assert!(matches!(
            cf.set_range(0, f64::NAN, 1.0),
            Err(FilterError::BadRange { .. })
        ));
        assert_eq!(cf.view(), &before);
        assert_eq!(cf.filter(0), Some(&Filter::Range { lo: 1.5, hi: 9.0 }));
        assert_eq!(cf.column_index("c"), Some(1));
        assert_eq!(cf.column_index("zz"), None);
    }

    #[test]
    fn row_mask() {
        for len in [0, 1, 63, 64, 65, 130] {
            let m = RowMask::all(len);
            assert_eq!(m.len(), len);
            assert_eq!(m.count(), len);
            assert_eq!(m.iter().collect::<Vec<_>>(), (0..len).collect::<Vec<_>>());
            assert!(!m.contains(len));
            assert_eq!(m.words().len(), len.div_ceil(64));
        }
        let m = RowMask {
            words: vec![0b1010, 1 << 63, 1],
            len: 129,
        };
        assert_eq!(m.iter().collect::<Vec<_>>(), [1, 3, 127, 128]);
        assert_eq!(m.to_bools().iter().filter(|&&b| b).count(), 4);
    }
}
