//! What reading a corpus skipped or altered, record by record, and how that is written into an
//! encoded set's provenance and told to the user.

use serde::Serialize;

use crate::core::Provenance;

/// Skipped records listed in [`CorpusStats::skipped`] at most.
pub const SKIPPED_LISTED: usize = 1000;

/// A record left out with skipping on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct SkippedRecord {
    /// Its 0-based record number (the document number it would have had).
    pub index: u64,
    /// 1-based line (text, CSV, JSONL) or row (Parquet) where it starts.
    pub line: u64,
}

/// Skipped records named in the provenance at most (the corpus statistics list more).
const SKIPPED_IN_PROVENANCE: usize = 200;

/// What was skipped or altered while reading.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct CorpusStats {
    /// Documents read (one per record unless skipping).
    pub documents: u64,
    /// Records read: documents and skipped records.
    pub records: u64,
    /// Whether empty and bad records were left out.
    pub skip_empty: bool,
    /// Empty texts left out: plain text's blank lines, or empty records with skipping on.
    pub empty_skipped: u64,
    /// Empty records read as documents with the empty text (skipping off).
    pub empty_kept: u64,
    /// Records left out (empty or bad, skipping on).
    pub records_skipped: u64,
    /// The first [`SKIPPED_LISTED`] of them.
    pub skipped: Vec<SkippedRecord>,
    /// Blank lines between JSONL records (not records).
    pub blank_lines: u64,
    pub invalid_utf8: u64,
    /// Documents cut to `max_doc_bytes`.
    pub truncated: u64,
    /// The longest text kept per document (bytes).
    pub max_doc_bytes: usize,
    /// Records whose text could not be read: documents with the empty text, or left out when
    /// skipping.
    pub bad_records: u64,
    /// The first few bad records: (line, what was wrong).
    pub examples: Vec<(u64, String)>,
    /// The shard read (`--shard I/N`), when the corpus is split.
    pub shard: Option<super::Shard>,
    /// Records of the other shards, passed over (not counted in `records`).
    pub other_shards: u64,
}

impl CorpusStats {
    pub(super) fn bad(&mut self, line: u64, msg: String) {
        self.bad_records += 1;
        if self.examples.len() < 20 {
            self.examples.push((line, msg));
        }
    }

    /// Records in `p` (an encoded set's provenance) how the corpus's records became rows, once
    /// the corpus is read: whether empty and bad records were skipped (`skip_empty`), the number
    /// of records, the skipped ones by row id (`skipped_records`: `d2, d5`, ...), and the empty
    /// or bad records encoded as the empty text.
    pub fn note_in(&self, p: &mut Provenance) {
        let params = &mut p.params;
        params.insert("skip_empty".into(), self.skip_empty.to_string());
        params.insert("records".into(), self.records.to_string());
        if let Some(shard) = self.shard {
            params.insert("shard".into(), shard.to_string());
            params.insert(
                "records_in_other_shards".into(),
                self.other_shards.to_string(),
            );
        }
        if self.records_skipped > 0 {
            params.insert("records_skipped".into(), self.records_skipped.to_string());
            let mut ids: Vec<String> = self
                .skipped
                .iter()
                .take(SKIPPED_IN_PROVENANCE)
                .map(|r| format!("d{}", r.index))
                .collect();
            let listed = ids.len() as u64;
            if self.records_skipped > listed {
                ids.push(format!("… ({} more)", self.records_skipped - listed));
            }
            params.insert("skipped_records".into(), ids.join(", "));
        }
        if self.empty_kept > 0 {
            params.insert("empty_records_encoded".into(), self.empty_kept.to_string());
        }
        if self.truncated > 0 {
            params.insert("documents_cut".into(), self.truncated.to_string());
            params.insert("max_doc_bytes".into(), self.max_doc_bytes.to_string());
        }
        if self.bad_records > 0 {
            params.insert("bad_records".into(), self.bad_records.to_string());
            let lines: Vec<String> = self.examples.iter().map(|e| e.0.to_string()).collect();
            params.insert("bad_record_lines".into(), lines.join(", "));
        }
    }

    /// What a user should know about how the corpus's records became rows, one sentence each: bad
    /// records (encoded as the empty text, or skipped) with the first few lines and reasons, and
    /// the records skipped.
    pub fn warnings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.bad_records > 0 {
            let what = if self.skip_empty {
                "skipped"
            } else {
                "encoded as the empty text so that rows stay aligned with records"
            };
            let examples: Vec<String> = self
                .examples
                .iter()
                .take(3)
                .map(|(line, why)| format!("line {line}: {why}"))
                .collect();
            out.push(format!(
                "{} bad record{} {what} ({}{})",
                self.bad_records,
                if self.bad_records == 1 { "" } else { "s" },
                examples.join("; "),
                if self.bad_records > 3 { "; …" } else { "" }
            ));
        }
        if self.records_skipped > 0 {
            let ids: Vec<String> = self
                .skipped
                .iter()
                .take(10)
                .map(|r| format!("d{} (line {})", r.index, r.line))
                .collect();
            out.push(format!(
                "{} record{} left out (empty or bad; their ids are not reused): {}{}",
                self.records_skipped,
                if self.records_skipped == 1 { "" } else { "s" },
                ids.join(", "),
                if self.records_skipped > 10 {
                    ", …"
                } else {
                    ""
                }
            ));
        }
        out
    }
}
