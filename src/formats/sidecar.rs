//! The encoding record beside an encoded output (`x.npy` -> `x.provenance.json`): how the
//! vectors were made (model, weights and tokenizer sha256, pooling, prompt, max length,
//! backend, level) and which file they were written to (its name, sha256, rows, dimension).
//!
//! Written by `embed` beside every output but `.esv` (whose header holds the same record); read
//! back by [`super::load_with_status`] after the set is read or reopened from the cache, so the
//! cache never holds a record that may since have changed. A record is attached only when it
//! describes the file beside it; one that does not, or that cannot be read, leaves the set as
//! it is, with a warning naming the record and what was wrong.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::error::FormatError;
use super::{Format, to_hex};
use crate::core::{EmbeddingSet, Provenance, SidecarNote, SidecarStatus};

/// A record is a few kilobytes; anything much larger is not one.
const MAX_RECORD_BYTES: u64 = 4 << 20;

/// The `kind` written in every record.
const KIND: &str = "embedscope-provenance";
const VERSION: u32 = 1;

/// The output a record describes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct OutputStamp {
    /// File name (no folders: the record travels with the file).
    pub file: String,
    pub format: String,
    /// Lower-case hex sha256 of the output file's bytes.
    pub sha256: Option<String>,
    pub rows: Option<u64>,
    pub dim: Option<u64>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Record {
    kind: String,
    version: u32,
    output: OutputStamp,
    provenance: Provenance,
}

/// `x.npy` -> `x.provenance.json` (also `vectors.tsv` -> `vectors.provenance.json`).
pub fn sidecar_path(data: &Path) -> PathBuf {
    let stem = data
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    data.with_file_name(format!("{stem}.provenance.json"))
}

fn file_sha256(path: &Path) -> Result<String, FormatError> {
    let mut f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| FormatError::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(to_hex(&h.finalize()))
}

/// Writes the encoding record of `out` (already written, `rows` x `dim` in `format`) beside it;
/// returns the record's path. The output's sha256 is computed here from the file on disk.
pub fn write_sidecar(
    out: &Path,
    format: Format,
    provenance: &Provenance,
    rows: usize,
    dim: usize,
) -> Result<PathBuf, FormatError> {
    let (path, text) = sidecar_record(out, out, format, provenance, rows, dim)?;
    super::atomic_write(&path, text.as_bytes())?;
    Ok(path)
}

/// The encoding record of `out` (its path and text) for [`write_sidecar`], the output's sha256
/// read from `data`: `out` itself, or its temporary file while the output's files are staged.
pub fn sidecar_record(
    out: &Path,
    data: &Path,
    format: Format,
    provenance: &Provenance,
    rows: usize,
    dim: usize,
) -> Result<(PathBuf, String), FormatError> {
    let path = sidecar_path(out);
    let record = Record {
        kind: KIND.into(),
        version: VERSION,
        output: OutputStamp {
            file: out
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default(),
            format: format.name().into(),
            sha256: Some(file_sha256(data)?),
            rows: Some(rows as u64),
            dim: Some(dim as u64),
        },
        provenance: provenance.clone(),
    };
    let text = serde_json::to_string_pretty(&record)
        .map_err(|e| FormatError::invalid(&path, super::Location::None, e.to_string()))?;
    Ok((path, text))
}

/// A record read: what it describes (None for a record of an older embedscope that did not
/// say) and how the vectors were made.
struct Parsed {
    output: Option<OutputStamp>,
    provenance: Provenance,
}

fn parse(bytes: &[u8]) -> Result<Parsed, String> {
    let v: Value = serde_json::from_slice(bytes).map_err(|e| format!("not valid JSON: {e}"))?;
    let Value::Object(obj) = &v else {
        return Err("a JSON object was expected".into());
    };
    if obj.contains_key("provenance") || obj.contains_key("output") {
        let r: Record = serde_json::from_value(v).map_err(|e| {
            format!("a record with kind, version, output and provenance was expected: {e}")
        })?;
        if r.kind != KIND {
            return Err(format!("kind {:?}, expected {KIND:?}", r.kind));
        }
        if r.version != VERSION {
            return Err(format!(
                "record version {}; this embedscope reads version {VERSION}",
                r.version
            ));
        }
        Ok(Parsed {
            output: Some(r.output),
            provenance: r.provenance,
        })
    } else {
        // The bare provenance object written before records said which file they describe.
        let provenance: Provenance = serde_json::from_value(v)
            .map_err(|e| format!("a provenance object was expected: {e}"))?;
        Ok(Parsed {
            output: None,
            provenance,
        })
    }
}

/// How the loaded file compares with what the record says it describes: None when it
/// matches, Some(why not) otherwise; `checked` is false when the record gives nothing to check.
fn check(
    out: &OutputStamp,
    path: &Path,
    set: &EmbeddingSet,
    file_sha: &mut dyn FnMut() -> Option<String>,
    limited: bool,
) -> (Option<String>, bool) {
    let name = path.display();
    if let Some(d) = out.dim
        && d != set.dim() as u64
    {
        return (
            Some(format!(
                "it records {d} dimensions, but {name} has {}",
                set.dim()
            )),
            true,
        );
    }
    if let Some(want) = &out.sha256
        && let Some(have) = file_sha()
    {
        if !want.eq_ignore_ascii_case(&have) {
            return (
                Some(format!(
                    "it records sha256 {} for {}, but {name} has sha256 {}",
                    short_hash(want),
                    if out.file.is_empty() {
                        "its output"
                    } else {
                        &out.file
                    },
                    short_hash(&have)
                )),
                true,
            );
        }
        return (None, true);
    }
    if let Some(rows) = out.rows
        && !limited
    {
        let have = set.notes.declared_rows.unwrap_or(set.notes.rows_read);
        if rows != have {
            return (
                Some(format!("it records {rows} rows, but {name} has {have}")),
                true,
            );
        }
        return (None, true);
    }
    (None, false)
}

fn short_hash(h: &str) -> String {
    if h.len() > 12 {
        format!("{}...", &h[..12])
    } else {
        h.to_string()
    }
}

/// Reads the record beside `path` (if there is one) and attaches it to `set` when it describes
/// that file. A missing record changes nothing; a record that cannot be read or describes
/// another file is noted (in `provenance.sidecar` and as a load warning) and not attached.
pub(crate) fn attach(set: &mut EmbeddingSet, path: &Path, format: Format, limited: bool) {
    // A native file written from an encoded set holds the record in its header.
    if format == Format::Native && set.provenance.encoding_facts().is_some() {
        return;
    }
    let rec = sidecar_path(path);
    let meta = match std::fs::metadata(&rec) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return,
        Err(e) => {
            return note(
                set,
                &rec,
                SidecarStatus::Unreadable,
                format!("cannot be read: {e}"),
            );
        }
    };
    if !meta.is_file() || meta.len() > MAX_RECORD_BYTES {
        return note(
            set,
            &rec,
            SidecarStatus::Unreadable,
            format!(
                "is not a provenance record (a JSON file under {} MiB was expected)",
                MAX_RECORD_BYTES >> 20
            ),
        );
    }
    let parsed = match std::fs::read(&rec) {
        Ok(bytes) => parse(&bytes),
        Err(e) => Err(format!("cannot be read: {e}")),
    };
    let parsed = match parsed {
        Ok(p) => p,
        Err(why) => {
            return note(
                set,
                &rec,
                SidecarStatus::Unreadable,
                format!("is not a readable provenance record ({why})"),
            );
        }
    };
    let p = parsed.provenance;
    let facts = p.encoding_facts().unwrap_or(&p.params).clone();
    if facts.is_empty() && p.model_id.is_none() {
        return note(
            set,
            &rec,
            SidecarStatus::Unreadable,
            "records neither a model nor any encoding parameter".into(),
        );
    }
    let status = match &parsed.output {
        Some(out) => {
            let own_sha = set.provenance.sha256.clone();
            let mut file_sha = || {
                if format == Format::Native {
                    // A native file's header keeps its source's hash: hash the file itself.
                    file_sha256(path).ok()
                } else {
                    own_sha.clone()
                }
            };
            match check(out, path, set, &mut file_sha, limited) {
                (Some(why), _) => {
                    return note(
                        set,
                        &rec,
                        SidecarStatus::NotMatching,
                        format!(
                            "describes another file: {why}; its model and encoding are not attached"
                        ),
                    );
                }
                (None, true) => SidecarStatus::Attached,
                (None, false) => SidecarStatus::Unverified,
            }
        }
        None => SidecarStatus::Unverified,
    };
    set.provenance.encoding = facts;
    if p.model_id.is_some() {
        set.provenance.model_id = p.model_id.clone();
    }
    if status == SidecarStatus::Unverified {
        note(
            set,
            &rec,
            status,
            format!(
                "records no sha256 or row count of its output, so it could not be checked \
                 against {}; attached unchecked",
                path.display()
            ),
        );
    } else {
        set.provenance.sidecar = Some(SidecarNote {
            file: rec.display().to_string(),
            status,
            note: None,
        });
    }
}

fn note(set: &mut EmbeddingSet, rec: &Path, status: SidecarStatus, why: String) {
    let text = if status == SidecarStatus::Unreadable {
        format!("{} {why}; the vectors are loaded without it", rec.display())
    } else {
        format!("{} {why}", rec.display())
    };
    set.notes.warnings.push(text.clone());
    set.provenance.sidecar = Some(SidecarNote {
        file: rec.display().to_string(),
        status,
        note: Some(text),
    });
}

/// Keys of a part's record that differ from shard to shard by design (how many records it read
/// and which it skipped); the rest must agree for the parts to share one encoding record.
const PER_SHARD_KEYS: [&str; 8] = [
    "shard",
    "records",
    "records_in_other_shards",
    "records_skipped",
    "skipped_records",
    "empty_records_encoded",
    "bad_records",
    "bad_record_lines",
];

/// The encoding records of a folder's parts (`part-0.provenance.json` beside `part-0.parquet`,
/// as `embed --shard` writes them): attached to the folder's set when every part has one, each
/// agrees with its part's row count and the set's dimension, and all record the same model and
/// encoding (per-shard counts aside: `records` becomes their sum). Otherwise a warning says
/// why, and nothing is attached. Rows are checked against each part's footer rather than
/// re-hashing every part on each open.
pub(crate) fn attach_parts(set: &mut EmbeddingSet, dir: &Path, parts: &[super::Part]) {
    let mut found: Vec<(PathBuf, Provenance)> = Vec::new();
    let mut missing = Vec::new();
    for part in parts {
        let rec = sidecar_path(&part.path);
        let Ok(meta) = std::fs::metadata(&rec) else {
            missing.push(part.relative.clone());
            continue;
        };
        let bytes = if meta.is_file() && meta.len() <= MAX_RECORD_BYTES {
            std::fs::read(&rec).ok()
        } else {
            None
        };
        let Some(Ok(parsed)) = bytes.map(|b| parse(&b)) else {
            return note(
                set,
                &rec,
                SidecarStatus::Unreadable,
                "is not a readable provenance record; the folder's model and encoding are not attached".into(),
            );
        };
        if let Some(out) = &parsed.output {
            let rows = super::table::parquet_rows(&part.path);
            let why = match (out.dim, out.rows, rows) {
                (Some(d), _, _) if d != set.dim() as u64 => Some(format!(
                    "it records {d} dimensions, the folder has {}",
                    set.dim()
                )),
                (_, Some(r), Some(have)) if r != have => {
                    Some(format!("it records {r} rows, {} has {have}", part.relative))
                }
                _ => None,
            };
            if let Some(why) = why {
                return note(
                    set,
                    &rec,
                    SidecarStatus::NotMatching,
                    format!(
                        "describes another file: {why}; the folder's model and encoding are not attached"
                    ),
                );
            }
        }
        found.push((rec, parsed.provenance));
    }
    let Some((first_rec, first)) = found.first() else {
        return;
    };
    if !missing.is_empty() {
        let text = format!(
            "{} of {} parts have an encoding record, {} (and {} more) none: the folder's model and encoding are not attached",
            found.len(),
            parts.len(),
            missing[0],
            missing.len() - 1
        );
        set.notes.warnings.push(text);
        return;
    }
    let shared = |p: &Provenance| -> std::collections::BTreeMap<String, String> {
        let mut f = p.encoding_facts().unwrap_or(&p.params).clone();
        f.retain(|k, _| !PER_SHARD_KEYS.contains(&k.as_str()));
        f
    };
    let want = shared(first);
    for (rec, p) in &found[1..] {
        let have = shared(p);
        if have != want || p.model_id != first.model_id {
            let key = want
                .keys()
                .chain(have.keys())
                .find(|k| want.get(*k) != have.get(*k))
                .cloned()
                .unwrap_or_else(|| "model_id".into());
            return note(
                set,
                rec,
                SidecarStatus::NotMatching,
                format!(
                    "records another encoding than {} ({key}: {:?} vs {:?}): the parts were not made the same way; the folder's model and encoding are not attached",
                    first_rec.display(),
                    have.get(&key),
                    want.get(&key)
                ),
            );
        }
    }
    let mut facts = want;
    // Counts add up over the shards; lists of ids (global record numbers) are joined.
    for key in [
        "records",
        "records_skipped",
        "empty_records_encoded",
        "bad_records",
    ] {
        let values: Vec<u64> = found
            .iter()
            .filter_map(|(_, p)| {
                p.encoding_facts()
                    .unwrap_or(&p.params)
                    .get(key)
                    .and_then(|r| r.parse::<u64>().ok())
            })
            .collect();
        if !values.is_empty() {
            facts.insert(key.into(), values.iter().sum::<u64>().to_string());
        }
    }
    for key in ["skipped_records", "bad_record_lines"] {
        let lists: Vec<&str> = found
            .iter()
            .filter_map(|(_, p)| p.encoding_facts().unwrap_or(&p.params).get(key))
            .map(String::as_str)
            .collect();
        if !lists.is_empty() {
            facts.insert(key.into(), lists.join(", "));
        }
    }
    facts.insert("parts_with_records".into(), found.len().to_string());
    set.provenance.encoding = facts;
    if first.model_id.is_some() {
        set.provenance.model_id = first.model_id.clone();
    }
    set.provenance.sidecar = Some(SidecarNote {
        file: dir.join("*.provenance.json").display().to_string(),
        status: SidecarStatus::Attached,
        note: None,
    });
}
