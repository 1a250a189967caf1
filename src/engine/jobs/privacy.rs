//! `ScanSet`: the privacy scan of an open set (its tokens and every metadata column, the
//! documents' text column included), cell by cell, on the worker. The counts cover every
//! scanned cell; the first [`MAX_LISTED`] findings are kept with their masked text, row and
//! column (never the value). Text beyond [`SCAN_CAP_BYTES`] is not scanned (the first rows up
//! to the cap are, and the result says so): at the scanner's ~300 MB/s that is about a second
//! of work on this machine's cores, and a 2M-row set of short tokens is scanned whole.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use rayon::prelude::*;

use crate::analysis::privacy::{self, Counts, Kind};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};

/// Bytes of text (tokens and cells) scanned at most per set.
pub const SCAN_CAP_BYTES: u64 = 256 << 20;
/// Findings listed at most (the counts cover them all).
pub const MAX_LISTED: usize = 10_000;
/// Rows per parallel piece.
const PIECE: usize = 4096;

/// Scan the tokens and metadata columns of a set for personal data and secrets.
#[derive(Debug, Clone)]
pub struct ScanSet {
    pub set: Arc<EmbeddingSet>,
}

/// One finding in a set: where it is and its masked text.
#[derive(Debug, Clone, PartialEq)]
pub struct RowFinding {
    pub kind: Kind,
    pub row: u32,
    /// 0: the token, c + 1: metadata column c.
    pub column: u32,
    /// Byte offsets in the cell.
    pub start: u32,
    pub end: u32,
    pub masked: String,
}

/// What the scan of a set found.
#[derive(Debug, Clone, Default)]
pub struct SetFindings {
    /// Per kind, every scanned cell.
    pub counts: Counts,
    /// The scanned columns' names: "token", then the metadata columns.
    pub columns: Vec<String>,
    /// Counts per column (same order as `columns`).
    pub per_column: Vec<Counts>,
    /// The first findings by row (at most [`MAX_LISTED`]).
    pub listed: Vec<RowFinding>,
    /// Rows scanned (all of them unless the text passed [`SCAN_CAP_BYTES`]).
    pub rows_scanned: usize,
    pub rows: usize,
    pub bytes: u64,
    pub seconds: f64,
}

impl SetFindings {
    pub fn total(&self) -> u64 {
        self.counts.total()
    }

    /// Whether rows were left unscanned (the cap).
    pub fn capped(&self) -> bool {
        self.rows_scanned < self.rows
    }

    /// The name of column `c` of a finding.
    pub fn column_name(&self, c: u32) -> &str {
        self.columns.get(c as usize).map_or("?", String::as_str)
    }
}

/// The cell `c` of row `r` (0: the token).
fn cell(set: &EmbeddingSet, r: usize, c: usize) -> &str {
    if c == 0 {
        set.vocab.token(r)
    } else {
        set.metadata
            .columns()
            .get(c - 1)
            .and_then(|m| m.values.get(r))
            .map_or("", String::as_str)
    }
}

/// The rows whose text fits in `cap` bytes, from the first.
fn rows_within(set: &EmbeddingSet, cap: u64) -> (usize, u64) {
    let cols = set.metadata.columns().len() + 1;
    let mut bytes = 0u64;
    for r in 0..set.rows() {
        let row: u64 = (0..cols).map(|c| cell(set, r, c).len() as u64).sum();
        if bytes + row > cap {
            return (r, bytes);
        }
        bytes += row;
    }
    (set.rows(), bytes)
}

/// A piece's findings, unmasked positions only (masked text is made for the listed ones).
#[derive(Default)]
struct Piece {
    counts: Vec<Counts>,
    found: Vec<(u32, u32, Kind, u32, u32)>,
}

/// Scans rows `0..rows` of `set`; `tick` after each piece, `stop` polled between pieces.
pub fn scan_set(
    set: &EmbeddingSet,
    cap: u64,
    tick: &(dyn Fn(usize) + Sync),
    stop: &(dyn Fn() -> bool + Sync),
) -> Option<SetFindings> {
    let t = Instant::now();
    let mut columns = vec!["token".to_string()];
    columns.extend(set.metadata.columns().iter().map(|m| m.name.clone()));
    let cols = columns.len();
    let (rows, bytes) = rows_within(set, cap);
    let pieces: Vec<Piece> = (0..rows.div_ceil(PIECE))
        .into_par_iter()
        .map(|p| {
            let mut out = Piece {
                counts: vec![Counts::default(); cols],
                found: Vec::new(),
            };
            if stop() {
                return out;
            }
            for r in p * PIECE..((p + 1) * PIECE).min(rows) {
                for (c, counts) in out.counts.iter_mut().enumerate() {
                    for f in privacy::scan(cell(set, r, c)) {
                        counts.add(f.kind);
                        out.found
                            .push((r as u32, c as u32, f.kind, f.start as u32, f.end as u32));
                    }
                }
            }
            tick(p);
            out
        })
        .collect();
    if stop() {
        return None;
    }
    let mut counts = Counts::default();
    let mut per_column = vec![Counts::default(); cols];
    let mut listed = Vec::new();
    for p in pieces {
        for (a, b) in per_column.iter_mut().zip(&p.counts) {
            a.merge(b);
            counts.merge(b);
        }
        for (row, column, kind, start, end) in p.found {
            if listed.len() >= MAX_LISTED {
                break;
            }
            let text = cell(set, row as usize, column as usize);
            let value = text.get(start as usize..end as usize).unwrap_or_default();
            listed.push(RowFinding {
                kind,
                row,
                column,
                start,
                end,
                masked: privacy::mask(kind, value),
            });
        }
    }
    Some(SetFindings {
        counts,
        columns,
        per_column,
        listed,
        rows_scanned: rows,
        rows: set.rows(),
        bytes,
        seconds: t.elapsed().as_secs_f64(),
    })
}

impl Job for ScanSet {
    type Output = SetFindings;

    /// Not O(1): the text is scanned in place, but the findings' positions grow with it (see
    /// `analysis::memory::privacy_scan`); the text counted is what the cap lets through.
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        let set = &self.set;
        let cols = set.metadata.columns().len() + 1;
        let meta: u64 = set
            .metadata
            .columns()
            .iter()
            .flat_map(|c| c.values.iter())
            .map(|v| v.len() as u64)
            .sum();
        let bytes = (set.vocab.byte_len() as u64)
            .saturating_add(meta)
            .min(SCAN_CAP_BYTES);
        Some(crate::analysis::memory::privacy_scan(
            set.rows(),
            cols,
            bytes,
            MAX_LISTED,
        ))
    }

    fn label(&self) -> String {
        format!(
            "privacy scan of {}",
            std::path::Path::new(&self.set.provenance.source)
                .file_name()
                .map_or_else(
                    || self.set.provenance.source.clone(),
                    |n| n.to_string_lossy().to_string()
                )
        )
    }

    fn run(&self, ctx: &JobContext) -> Result<SetFindings, EngineError> {
        let pieces = self.set.rows().div_ceil(PIECE).max(1);
        let done = AtomicUsize::new(0);
        let tick = |_p: usize| {
            let d = done.fetch_add(1, Ordering::Relaxed) + 1;
            ctx.progress(
                Some(d as f32 / pieces as f32),
                "scanning tokens and columns",
            );
        };
        let stop = || ctx.cancelled();
        let found = scan_set(&self.set, SCAN_CAP_BYTES, &tick, &stop);
        ctx.check()?;
        found.ok_or(EngineError::Cancelled)
    }
}
