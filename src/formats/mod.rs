//! L1 vector files: detection, readers, writers and the native memory-mapped cache.
//!
//! Every reader returns a [`FormatError`] naming the file, the place (line, byte or row) and what
//! was expected; none panics on bad input, and none allocates from a declared size before
//! checking that the file can hold it.

mod bounded;
mod cache;
pub mod corpus;
mod demo;
mod detect;
mod error;
mod native;
mod npy;
mod projector;
mod quiet;
mod safetensors_io;
mod sidecar;
mod sink;
mod table;
pub use table::{
    CellType, Cells, Part, check_parquet_structure, is_part_folder, list_parts, write_parquet_table,
};
mod text;
mod vocab_file;
mod w2v_binary;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// Lower-case hex of a digest (the readers' name for `core::hash::hex`).
pub(crate) use crate::core::hash::hex as to_hex;
use crate::core::{EmbeddingSet, LoadNotes, Matrix, Metadata, Provenance, Vocab};

pub use bounded::{MAX_LINE_BYTES, MAX_SIDE_FILE_BYTES, read_side_file};
pub use cache::{CacheEntry, CacheStatus, Cleanup, EntryKind, EntryState, default_cache_dir};
/// The native cache's size limit, entries, eviction and clean-up.
pub mod cache_admin {
    pub use super::cache::{
        DEFAULT_LIMIT_MAX, DEFAULT_LIMIT_MIN, LIMIT_VAR, clear, enforce, entries, limit,
        record_source, remove_entry, touch,
    };
}
pub use demo::{DEMO_MAP_SEED, DEMO_NAME, demo_map, demo_set, is_demo};
pub use detect::{detect, detect_bytes};
pub use error::{ErrorKind, FormatError, Location};
pub use native::NATIVE_EXTENSION;
pub use npy::NpyStreamWriter;
pub use sidecar::{sidecar_path, sidecar_record, write_sidecar};
pub use write::{
    Staged, TempFile, atomic_write, atomic_write_with, csv_field, csv_text, process_alive,
    process_start, remove_temp_files_now, run_alive, save, stage, track_temp_files,
};

/// Progress callback: (bytes or rows done, total; 0 when unknown). Called from the loading thread.
pub type Progress = dyn Fn(u64, u64) + Send + Sync;

/// The vector file formats embedscope reads (and, for most, writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// word2vec text: a "rows dim" header line, then "token v1 ... vD" lines (also fastText `.vec`).
    Word2VecText,
    /// GloVe text: "token v1 ... vD" lines, no header.
    GloveText,
    /// word2vec binary: header line, then token, space and D little-endian float32 per row.
    Word2VecBinary,
    /// TensorBoard projector: `vectors.tsv` (tab-separated values only) + `metadata.tsv`.
    ProjectorTsv,
    /// NumPy `.npy` 2-D float array + a vocabulary file.
    Npy,
    /// safetensors with one 2-D tensor + a vocabulary file.
    Safetensors,
    /// Parquet with a token column and a list / fixed-size-list float column.
    Parquet,
    /// Arrow IPC file (Feather v2) with the same columns as Parquet.
    ArrowIpc,
    /// embedscope's memory-mapped cache (`.esv`).
    Native,
}

impl Format {
    pub const ALL: [Format; 9] = [
        Format::Word2VecText,
        Format::GloveText,
        Format::Word2VecBinary,
        Format::ProjectorTsv,
        Format::Npy,
        Format::Safetensors,
        Format::Parquet,
        Format::ArrowIpc,
        Format::Native,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Word2VecText => "word2vec-text",
            Format::GloveText => "glove",
            Format::Word2VecBinary => "word2vec-binary",
            Format::ProjectorTsv => "projector-tsv",
            Format::Npy => "npy",
            Format::Safetensors => "safetensors",
            Format::Parquet => "parquet",
            Format::ArrowIpc => "arrow",
            Format::Native => "native",
        }
    }

    /// Format implied by a file name's extension, for writing.
    pub fn from_extension(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let ext = name.rsplit('.').next()?;
        Some(match ext {
            "vec" => Format::Word2VecText,
            "txt" if name.contains("glove") => Format::GloveText,
            "txt" => Format::Word2VecText,
            "bin" => Format::Word2VecBinary,
            "tsv" => Format::ProjectorTsv,
            "npy" => Format::Npy,
            "safetensors" => Format::Safetensors,
            "parquet" | "pq" => Format::Parquet,
            "arrow" | "feather" | "ipc" => Format::ArrowIpc,
            e if e == NATIVE_EXTENSION => Format::Native,
            _ => return None,
        })
    }

    /// Formats whose parse is slow enough that a native cache pays off.
    fn worth_caching(self) -> bool {
        matches!(
            self,
            Format::Word2VecText
                | Format::GloveText
                | Format::Word2VecBinary
                | Format::ProjectorTsv
                | Format::Parquet
                | Format::ArrowIpc
        )
    }

    pub fn can_write(self) -> bool {
        !matches!(self, Format::ArrowIpc)
    }
}

impl std::fmt::Display for Format {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    /// A format's name or one of its aliases (`fasttext`, `vec`, `w2v`, `bin`, `tsv`, `esv`...),
    /// in any case.
    fn from_str(s: &str) -> Result<Format, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "word2vec-text" | "word2vec" | "w2v" | "w2v-text" | "fasttext" | "vec" | "txt" => {
                Format::Word2VecText
            }
            "glove" | "glove-text" => Format::GloveText,
            "word2vec-binary" | "w2v-binary" | "bin" | "binary" => Format::Word2VecBinary,
            "projector-tsv" | "projector" | "tsv" => Format::ProjectorTsv,
            "npy" | "numpy" => Format::Npy,
            "safetensors" => Format::Safetensors,
            "parquet" => Format::Parquet,
            "arrow" | "arrow-ipc" | "feather" | "ipc" => Format::ArrowIpc,
            "native" | "esv" | "cache" => Format::Native,
            _ => {
                return Err(format!(
                    "unknown format '{s}'; expected one of: {}",
                    Format::ALL.map(Format::name).join(", ")
                ));
            }
        })
    }
}

/// What a reader produces before provenance is attached.
#[derive(Debug)]
pub(crate) struct Loaded {
    pub vocab: Vocab,
    pub matrix: Matrix,
    pub metadata: Metadata,
    pub notes: LoadNotes,
    pub sha256: Option<String>,
    pub params: BTreeMap<String, String>,
    /// The provenance a native file's header holds (the set it was written from).
    pub embedded: Option<Provenance>,
}

impl Loaded {
    /// Vectors without metadata or extra parameters, as the text and binary readers produce.
    pub(crate) fn plain(vocab: Vocab, matrix: Matrix, notes: LoadNotes, sha256: String) -> Self {
        Loaded {
            vocab,
            matrix,
            metadata: Metadata::default(),
            notes,
            sha256: Some(sha256),
            params: BTreeMap::new(),
            embedded: None,
        }
    }
}

/// How to read a file. `Default` = detect the format, read everything, no cache.
#[derive(Clone, Default)]
pub struct LoadOptions {
    pub format: Option<Format>,
    /// Keep the first N rows of the file (as gensim's `limit`).
    pub limit: Option<usize>,
    /// Vocabulary file for npy / safetensors (one token per line).
    pub vocab: Option<PathBuf>,
    /// Metadata file for projector TSV.
    pub metadata: Option<PathBuf>,
    /// Token column (Parquet / Arrow / projector metadata); `#row` uses row numbers.
    pub token_column: Option<String>,
    /// Vector column (Parquet / Arrow).
    pub vector_column: Option<String>,
    /// Tensor name (safetensors).
    pub tensor: Option<String>,
    /// Directory of the native cache; `None` disables it.
    pub cache_dir: Option<PathBuf>,
    /// The cache's size limit in bytes (`None`: `$EMBEDSCOPE_CACHE_LIMIT`, else the default of
    /// [`cache_admin::limit`]); entries beyond it are evicted, least recently used first.
    pub cache_limit: Option<u64>,
    pub progress: Option<Arc<Progress>>,
}

impl LoadOptions {
    fn params(&self) -> BTreeMap<String, String> {
        let mut p = BTreeMap::new();
        if let Some(l) = self.limit {
            p.insert("limit".into(), l.to_string());
        }
        if let Some(v) = &self.vocab {
            p.insert("vocab".into(), v.display().to_string());
        }
        if let Some(v) = &self.metadata {
            p.insert("metadata".into(), v.display().to_string());
        }
        if let Some(v) = &self.token_column {
            p.insert("token_column".into(), v.clone());
        }
        if let Some(v) = &self.vector_column {
            p.insert("vector_column".into(), v.clone());
        }
        if let Some(v) = &self.tensor {
            p.insert("tensor".into(), v.clone());
        }
        p
    }
}

/// Loads a vector file.
pub fn load(path: &Path, opts: &LoadOptions) -> Result<EmbeddingSet, FormatError> {
    load_with_status(path, opts).map(|(s, _)| s)
}

/// Loads a vector file and says whether the native cache was used.
pub fn load_with_status(
    path: &Path,
    opts: &LoadOptions,
) -> Result<(EmbeddingSet, CacheStatus), FormatError> {
    let meta = std::fs::metadata(path).map_err(|e| FormatError::io(path, e))?;
    // Vectors are read from regular files only (detection and loading open the file twice,
    // arrays are memory-mapped, the cache keys on size and time): a pipe is refused before
    // it is opened.
    error::require_regular(path, &meta, true)?;
    // A folder of Parquet part files (Spark, Ray Data, Dask, `embed --shard`) is one set.
    let parts = if meta.is_dir() {
        let parts = table::list_parts(path)?;
        if parts.is_empty() {
            return Err(FormatError::new(path, Location::None, ErrorKind::NoParts));
        }
        if let Some(f) = opts.format
            && f != Format::Parquet
        {
            return Err(FormatError::unsupported(
                path,
                format!("a folder is read as Parquet part files, not as {f}"),
            ));
        }
        Some(parts)
    } else {
        None
    };
    let format = match (opts.format, &parts) {
        (_, Some(_)) => Format::Parquet,
        (Some(f), None) => f,
        (None, None) => detect(path)?,
    };
    let cache = match (&opts.cache_dir, &parts) {
        (Some(dir), Some(parts)) => Some(cache::CacheKey::for_folder(
            dir,
            path,
            table::folder_stamp(parts),
            opts,
        )),
        (Some(dir), None) if format.worth_caching() => {
            Some(cache::CacheKey::new(dir, path, &meta, format, opts))
        }
        _ => None,
    };
    if let Some(key) = &cache
        && let Some(mut set) = key.open()
    {
        // The cache is keyed by the canonical path, so the same file named another way (a
        // relative path, a link) reopens it: the source is the path as given now, not as it
        // was given when the entry was written.
        set.provenance.source = path.display().to_string();
        match &parts {
            Some(parts) => sidecar::attach_parts(&mut set, path, parts),
            None => sidecar::attach(&mut set, path, format, opts.limit.is_some()),
        }
        return Ok((set, CacheStatus::Hit(key.file().to_path_buf())));
    }
    let size = match &parts {
        Some(parts) => parts.iter().map(|p| p.size).sum(),
        None => meta.len(),
    };
    let mut loaded = match &parts {
        Some(_) => table::read_parquet_folder(path, opts)?,
        None => read_format(path, format, meta.len(), opts)?,
    };
    let mut params = opts.params();
    params.extend(loaded.params.clone());
    let mut provenance = Provenance {
        source: path.display().to_string(),
        format: format.name().to_string(),
        sha256: loaded.sha256.clone(),
        file_size: Some(size),
        params,
        ..Provenance::default()
    };
    // A native file keeps the model and encoding of the set it was written from.
    if let Some(e) = loaded.embedded.take() {
        if let Some(facts) = e.encoding_facts() {
            provenance.encoding = facts.clone();
        }
        provenance.model_id = e.model_id;
    }
    let mut set = assemble(path, loaded, provenance)?;
    // The cache holds the set as the file alone gives it; the record beside the file is read
    // on every load, so a record written or changed later is never hidden by the cache.
    // Never an error for the load: a cache that is full, read-only or over its limit is only
    // not written (the status says why).
    let status = match cache {
        Some(key) => key.store_within(&set, opts.cache_limit),
        None => CacheStatus::Off,
    };
    match &parts {
        Some(parts) => sidecar::attach_parts(&mut set, path, parts),
        None => sidecar::attach(&mut set, path, format, opts.limit.is_some()),
    }
    Ok((set, status))
}

fn read_format(
    path: &Path,
    format: Format,
    len: u64,
    opts: &LoadOptions,
) -> Result<Loaded, FormatError> {
    let open = || std::fs::File::open(path).map_err(|e| FormatError::io(path, e));
    let progress = opts.progress.as_deref();
    match format {
        Format::Word2VecText | Format::GloveText => {
            let header = if format == Format::GloveText {
                text::Header::Absent
            } else {
                text::Header::Required
            };
            text::read_text(open()?, Some(len), path, header, opts.limit, progress)
        }
        Format::Word2VecBinary => {
            w2v_binary::read_w2v_binary(open()?, Some(len), path, opts.limit, progress)
        }
        Format::ProjectorTsv => projector::read_projector(path, opts),
        Format::Npy => npy::read_npy_set(path, opts),
        Format::Safetensors => safetensors_io::read_safetensors(path, opts),
        Format::Parquet => table::read_parquet(path, opts),
        Format::ArrowIpc => table::read_arrow_ipc(path, opts),
        Format::Native => native::read_native(path, opts.limit),
    }
}

fn assemble(path: &Path, l: Loaded, provenance: Provenance) -> Result<EmbeddingSet, FormatError> {
    let mismatch = |e: crate::core::CoreError| FormatError::mismatch(path, e.to_string());
    Ok(EmbeddingSet::new(l.vocab, l.matrix, l.metadata, provenance)
        .map_err(mismatch)?
        .with_notes(l.notes))
}

/// Loads vectors held in memory (bundled data): word2vec text/binary or GloVe text only.
pub fn load_bytes(
    name: &str,
    bytes: &[u8],
    format: Format,
    limit: Option<usize>,
) -> Result<EmbeddingSet, FormatError> {
    let path = Path::new(name);
    let len = Some(bytes.len() as u64);
    let loaded = match format {
        Format::Word2VecBinary => w2v_binary::read_w2v_binary(bytes, len, path, limit, None)?,
        Format::Word2VecText => {
            text::read_text(bytes, len, path, text::Header::Required, limit, None)?
        }
        Format::GloveText => text::read_text(bytes, len, path, text::Header::Absent, limit, None)?,
        other => {
            return Err(FormatError::unsupported(
                path,
                format!("{other} data cannot be read from memory; write it to a file first"),
            ));
        }
    };
    let mut params = BTreeMap::new();
    if let Some(l) = limit {
        params.insert("limit".into(), l.to_string());
    }
    let provenance = Provenance {
        source: name.to_string(),
        format: format.name().to_string(),
        sha256: loaded.sha256.clone(),
        file_size: Some(bytes.len() as u64),
        params,
        ..Provenance::default()
    };
    assemble(path, loaded, provenance)
}

#[cfg(test)]
mod name_tests {
    use super::Format;
    use super::corpus::CorpusFormat;

    #[test]
    fn format_names_round_trip_and_aliases_parse() {
        for f in Format::ALL {
            assert_eq!(f.to_string().parse::<Format>(), Ok(f));
            assert_eq!(f.name().to_uppercase().parse::<Format>(), Ok(f));
        }
        assert_eq!("fasttext".parse::<Format>(), Ok(Format::Word2VecText));
        assert_eq!("esv".parse::<Format>(), Ok(Format::Native));
        let e = "nonsense".parse::<Format>().unwrap_err();
        assert!(
            e.contains("'nonsense'") && e.contains("word2vec-text, glove"),
            "{e}"
        );
    }

    #[test]
    fn corpus_format_names_round_trip_and_aliases_parse() {
        for f in CorpusFormat::ALL {
            assert_eq!(f.to_string().parse::<CorpusFormat>(), Ok(f));
        }
        assert_eq!("NDJSON".parse::<CorpusFormat>(), Ok(CorpusFormat::Jsonl));
        assert_eq!("txt".parse::<CorpusFormat>(), Ok(CorpusFormat::Lines));
        let e = "xml".parse::<CorpusFormat>().unwrap_err();
        assert!(
            e.contains("'xml'") && e.contains("lines, paragraphs"),
            "{e}"
        );
    }
}
