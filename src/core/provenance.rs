//! Where a set came from and what happened while loading it; how two sets' encodings differ.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Source, format, content hash and load parameters of an embedding set.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Provenance {
    /// Path of the source as given (or `embedded:NAME` for bundled data).
    pub source: String,
    /// Format name as printed by `--format` (e.g. `word2vec-text`).
    pub format: String,
    /// Lower-case hex sha256 of the source file's bytes.
    pub sha256: Option<String>,
    pub file_size: Option<u64>,
    /// Load parameters that change the result (limit, columns, vocab file...).
    pub params: BTreeMap<String, String>,
    /// Model identifier, when known (a model folder's name, a Hub id written in the file...).
    pub model_id: Option<String>,
    /// The native cache file this set was reopened from, if any.
    pub cache_file: Option<String>,
    /// How the vectors of a file were encoded, read back from the record beside it
    /// (`<stem>.provenance.json`) or from a native file's header: model path, weights and
    /// tokenizer sha256, pooling, normalisation, prompt, max length, level, backend, corpus.
    /// Empty when unknown, and for a set encoded in this process (its `params` hold these
    /// facts); [`Provenance::encoding_facts`] reads either.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub encoding: BTreeMap<String, String>,
    /// The encoding record found beside the source file, and what became of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sidecar: Option<SidecarNote>,
}

/// Format names of sets made by encoding a corpus (`embedded:sentence`, `embedded:word`).
const ENCODED_FORMAT_PREFIX: &str = "embedded:";

impl Provenance {
    /// How the vectors were encoded (model, weights sha256, pooling, ...), when known: the
    /// record read back with a file, or the parameters of a set encoded in this process.
    pub fn encoding_facts(&self) -> Option<&BTreeMap<String, String>> {
        if !self.encoding.is_empty() {
            Some(&self.encoding)
        } else if self.params_are_encoding() {
            Some(&self.params)
        } else {
            None
        }
    }

    /// Whether `params` holds encoding facts rather than load parameters: a set encoded from
    /// a corpus (format `embedded:sentence` or `embedded:word`).
    pub fn params_are_encoding(&self) -> bool {
        self.format.starts_with(ENCODED_FORMAT_PREFIX)
    }

    /// One encoding fact (`pooling`, `weights_sha256`, ...), when known and not empty.
    pub fn encoding_fact(&self, key: &str) -> Option<&str> {
        self.encoding_facts()?
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }
}

/// What became of an encoding record (`<stem>.provenance.json`) found beside a vector file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SidecarStatus {
    /// Read, checked against the file (sha256 or rows) and attached.
    Attached,
    /// Read and attached, but it records nothing to check it against the file.
    Unverified,
    /// Read, but it describes another file (sha256, rows or dimension differ): not attached.
    NotMatching,
    /// Not readable as an encoding record: not attached.
    Unreadable,
}

/// The encoding record found beside a vector file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SidecarNote {
    /// Path of the record.
    pub file: String,
    pub status: SidecarStatus,
    /// Why it was not attached or not checked (None when attached and checked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl SidecarNote {
    pub fn is_attached(&self) -> bool {
        matches!(
            self.status,
            SidecarStatus::Attached | SidecarStatus::Unverified
        )
    }
}

/// A token seen more than once while loading: the first row is kept, later ones are dropped.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateToken {
    pub token: String,
    /// Row (0-based, in the file's order) of the kept occurrence.
    pub kept_row: u64,
    /// Row (0-based, in the file's order) of the dropped occurrence.
    pub dropped_row: u64,
}

/// Findings made while loading that cannot be recovered from the loaded set itself.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoadNotes {
    /// Data rows read from the source (before dropping duplicates).
    pub rows_read: u64,
    pub duplicates: Vec<DuplicateToken>,
    /// Rows (0-based, after dropping duplicates) whose token was not valid UTF-8 and was decoded lossily.
    pub invalid_utf8_rows: Vec<u64>,
    /// Rows the source declared (a header) when it declared any.
    pub declared_rows: Option<u64>,
    /// Free-form warnings (e.g. "limit 100 applied").
    pub warnings: Vec<String>,
}

/// The encoding facts compared between versions, in the order a difference is told: the
/// parameter key and the name a person reads. Facts recorded under other keys follow, by key
/// (the model folder's path and the corpus path are left out: where a file lies says nothing
/// about its vectors, and the model's name and sha256 are compared).
pub const ENCODING_FIELDS: [(&str, &str); 11] = [
    ("model_type", "architecture"),
    ("weights_sha256", "model sha256"),
    ("tokenizer_sha256", "tokenizer sha256"),
    ("pooling", "pooling"),
    ("normalize", "normalisation"),
    ("prompt", "prompt"),
    ("prompt_name", "prompt name"),
    ("max_seq_length", "max length"),
    ("truncate_dim", "truncation"),
    ("backend", "backend"),
    ("level", "level"),
];

/// Keys never compared: paths (`model`, `corpus`) and the load parameters of a file.
const NOT_COMPARED: [&str; 8] = [
    "model",
    "corpus",
    "limit",
    "vocab",
    "metadata",
    "token_column",
    "vector_column",
    "tensor",
];

/// Fields whose values are free text, quoted when shown ('query: ').
const QUOTED: [&str; 2] = ["prompt", "prompt_name"];

/// Hash fields, shortened to their first 12 digits in the sentence.
const HASHES: [&str; 2] = ["weights_sha256", "tokenizer_sha256"];

/// Whether two versions' encodings could be compared, and how they compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProvenanceStatus {
    /// Every compared fact is the same.
    Identical,
    /// At least one fact differs.
    Differs,
    /// One side or both records no encoding.
    Unknown,
}

/// One encoding fact that differs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// The key as recorded (`pooling`, `weights_sha256`, `model_id`, ...).
    pub key: String,
    /// The name a person reads (`pooling`, `model sha256`, `model`, ...).
    pub field: String,
    /// The value in the first version (None: not recorded).
    pub a: Option<String>,
    /// The value in the second version.
    pub b: Option<String>,
}

/// What differs between two versions' encodings (model id, model sha256, pooling,
/// normalisation, prompt, max length, truncation, backend, level, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProvenanceDiff {
    /// The first version's label ("A").
    pub a: String,
    /// The second version's label ("B").
    pub b: String,
    pub status: ProvenanceStatus,
    pub differences: Vec<FieldChange>,
    /// Labels of the versions whose encoding is unknown.
    pub unknown: Vec<String>,
    /// The comparison in one sentence ("B differs from A in: pooling (mean -> cls)").
    pub summary: String,
}

/// The facts of one side, by key: the model's name, then every recorded encoding fact.
fn facts(p: &Provenance) -> Option<BTreeMap<&str, &str>> {
    let f = p.encoding_facts()?;
    let mut out: BTreeMap<&str, &str> = f
        .iter()
        .filter(|(k, v)| !v.is_empty() && !NOT_COMPARED.contains(&k.as_str()))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if let Some(m) = p.model_id.as_deref().filter(|m| !m.is_empty()) {
        out.insert("model_id", m);
    }
    Some(out)
}

fn shown(key: &str, v: Option<&str>) -> String {
    match v {
        None => "none".into(),
        Some(v) if QUOTED.contains(&key) => format!("'{v}'"),
        Some(v) if HASHES.contains(&key) && v.len() > 12 => format!("{}...", &v[..12]),
        Some(v) => v.to_string(),
    }
}

impl FieldChange {
    /// "pooling (mean -> cls)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({} -> {})",
            self.field,
            shown(&self.key, self.a.as_deref()),
            shown(&self.key, self.b.as_deref())
        )
    }
}

/// Every key of `fa` and `fb` in the order a comparison tells them, with its readable name:
/// the model, the [`ENCODING_FIELDS`], then the other keys by name.
fn ordered<'a>(
    fa: &BTreeMap<&'a str, &'a str>,
    fb: &BTreeMap<&'a str, &'a str>,
) -> Vec<(&'a str, String)> {
    let mut keys: Vec<(&str, String)> = vec![("model_id", "model".to_string())];
    keys.extend(ENCODING_FIELDS.iter().map(|(k, n)| (*k, n.to_string())));
    for k in fa.keys().chain(fb.keys()) {
        if !keys.iter().any(|(x, _)| x == k) {
            keys.push((k, k.replace('_', " ")));
        }
    }
    keys.retain(|(k, _)| fa.contains_key(k) || fb.contains_key(k));
    keys
}

impl Provenance {
    /// The recorded encoding as (name, value) pairs in the order comparisons tell them
    /// (`("model", "all-MiniLM-L6-v2")`, `("pooling", "mean")`, `("prompt", "'query: '")`,
    /// hashes shortened); None when the encoding is unknown.
    pub fn encoding_summary(&self) -> Option<Vec<(String, String)>> {
        let f = facts(self)?;
        Some(
            ordered(&f, &BTreeMap::new())
                .into_iter()
                .map(|(k, name)| (name, shown(k, f.get(k).copied())))
                .collect(),
        )
    }
}

impl ProvenanceDiff {
    /// Compares the encodings of `a` (labelled `la`) and `b` (labelled `lb`).
    pub fn of(la: &str, a: &Provenance, lb: &str, b: &Provenance) -> ProvenanceDiff {
        let (fa, fb) = (facts(a), facts(b));
        let mut unknown = Vec::new();
        if fa.is_none() {
            unknown.push(la.to_string());
        }
        if fb.is_none() {
            unknown.push(lb.to_string());
        }
        let mut differences = Vec::new();
        if let (Some(fa), Some(fb)) = (&fa, &fb) {
            for (k, field) in ordered(fa, fb) {
                let (va, vb) = (fa.get(k).copied(), fb.get(k).copied());
                if va != vb {
                    differences.push(FieldChange {
                        key: k.to_string(),
                        field,
                        a: va.map(str::to_string),
                        b: vb.map(str::to_string),
                    });
                }
            }
        }
        let status = if !unknown.is_empty() {
            ProvenanceStatus::Unknown
        } else if differences.is_empty() {
            ProvenanceStatus::Identical
        } else {
            ProvenanceStatus::Differs
        };
        let summary = match status {
            ProvenanceStatus::Unknown if unknown.len() == 2 => format!(
                "Provenance unknown for {la} and {lb}: neither records how its vectors were encoded"
            ),
            ProvenanceStatus::Unknown => format!(
                "Provenance unknown for {}: it records no encoding, so what differs from {} cannot be told",
                unknown[0],
                if unknown[0] == la { lb } else { la }
            ),
            ProvenanceStatus::Identical => {
                format!(
                    "{lb} has the same provenance as {la}: every recorded encoding fact is equal"
                )
            }
            ProvenanceStatus::Differs => format!(
                "{lb} differs from {la} in: {}",
                differences
                    .iter()
                    .map(FieldChange::describe)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        ProvenanceDiff {
            a: la.to_string(),
            b: lb.to_string(),
            status,
            differences,
            unknown,
            summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(pairs: &[(&str, &str)], model: &str) -> Provenance {
        Provenance {
            source: "out.npy".into(),
            format: "npy".into(),
            model_id: Some(model.into()),
            encoding: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Provenance::default()
        }
    }

    #[test]
    fn differences_are_named_in_order() {
        let a = encoded(
            &[
                ("pooling", "mean"),
                ("weights_sha256", &"ab".repeat(32)),
                ("model", "/models/x"),
                ("corpus", "/data/a.txt"),
            ],
            "tiny",
        );
        let b = encoded(
            &[
                ("pooling", "cls"),
                ("prompt", "query: "),
                ("weights_sha256", &"ab".repeat(32)),
                ("model", "/elsewhere/x"),
                ("corpus", "/data/b.txt"),
            ],
            "tiny",
        );
        let d = ProvenanceDiff::of("A", &a, "B", &b);
        assert_eq!(d.status, ProvenanceStatus::Differs);
        assert_eq!(
            d.summary,
            "B differs from A in: pooling (mean -> cls), prompt (none -> 'query: ')"
        );
        assert_eq!(d.differences[0].key, "pooling");
        assert_eq!(d.differences[0].a.as_deref(), Some("mean"));
    }

    #[test]
    fn identical_unknown_and_extra_keys() {
        let a = encoded(&[("pooling", "mean")], "tiny");
        let d = ProvenanceDiff::of("A", &a, "B", &a.clone());
        assert_eq!(d.status, ProvenanceStatus::Identical);
        assert!(d.summary.contains("same provenance"), "{}", d.summary);

        let plain = Provenance {
            format: "word2vec-text".into(),
            ..Provenance::default()
        };
        let d = ProvenanceDiff::of("A", &a, "B", &plain);
        assert_eq!(d.status, ProvenanceStatus::Unknown);
        assert_eq!(d.unknown, ["B"]);
        let d = ProvenanceDiff::of("A", &plain, "B", &plain);
        assert!(
            d.summary.starts_with("Provenance unknown for A and B"),
            "{}",
            d.summary
        );

        let mut c = encoded(&[("pooling", "mean"), ("dense_out", "256")], "other");
        c.encoding
            .insert("weights_sha256".into(), "0123456789abcdef0123".into());
        let d = ProvenanceDiff::of("A", &a, "B", &c);
        assert_eq!(
            d.summary,
            "B differs from A in: model (tiny -> other), model sha256 (none -> 0123456789ab...), \
             dense out (none -> 256)"
        );
    }

    #[test]
    fn the_summary_lists_facts_in_order() {
        let a = encoded(
            &[
                ("pooling", "mean"),
                ("prompt", "query: "),
                ("corpus", "c.txt"),
            ],
            "tiny",
        );
        let s = a.encoding_summary().unwrap();
        let names: Vec<&str> = s.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["model", "pooling", "prompt"]);
        assert_eq!(s[2].1, "'query: '");
        assert_eq!(Provenance::default().encoding_summary(), None);
    }

    #[test]
    fn a_set_encoded_here_reads_its_params() {
        let mut p = Provenance {
            format: "embedded:sentence".into(),
            ..Provenance::default()
        };
        p.params.insert("pooling".into(), "cls".into());
        assert_eq!(p.encoding_fact("pooling"), Some("cls"));
        p.format = "npy".into();
        assert_eq!(p.encoding_fact("pooling"), None);
    }
}
