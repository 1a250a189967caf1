//! The native cache: a text or table file read once is written as a `.esv` file keyed by its
//! path, size, modification time and load options, and memory-mapped on the next open.

use std::fs::Metadata as FsMeta;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::native::{
    NATIVE_EXTENSION, SourceStamp, Unchecked, open_native, read_stamp, write_native,
};
use super::{Format, FormatError, LoadOptions};
use crate::core::EmbeddingSet;

/// What happened with the cache during a load.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheStatus {
    Off,
    /// Reopened from this cache file.
    Hit(PathBuf),
    /// Parsed, then written to this cache file.
    Stored(PathBuf),
    /// Parsed; writing the cache failed (the load itself succeeded).
    Failed(String),
}

/// `$EMBEDSCOPE_CACHE_DIR`, else `$XDG_CACHE_HOME/embedscope`, else `~/.cache/embedscope`.
pub fn default_cache_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("EMBEDSCOPE_CACHE_DIR") {
        return Some(PathBuf::from(d));
    }
    if let Some(d) = std::env::var_os("XDG_CACHE_HOME") {
        return Some(PathBuf::from(d).join("embedscope"));
    }
    std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache").join("embedscope"))
}

/// The source's file name, with anything but letters, digits, `.`, `-` and `_` replaced.
fn cache_stem(path: &Path) -> String {
    let stem = path
        .file_name()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    stem.chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect()
}

pub(crate) struct CacheKey {
    file: PathBuf,
    stamp: SourceStamp,
}

fn mtime_ns(meta: &FsMeta) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128)
}

impl CacheKey {
    pub fn new(
        dir: &Path,
        path: &Path,
        meta: &FsMeta,
        format: Format,
        opts: &LoadOptions,
    ) -> CacheKey {
        CacheKey::keyed(
            dir,
            path,
            &[format.name().as_bytes()],
            opts,
            meta.len(),
            mtime_ns(meta),
        )
    }

    /// The key of a folder of Parquet parts: its canonical path, the load options, and the
    /// parts' stamp (total size, latest modification time, and the hash of every part's path,
    /// size and time), so a part added, removed or rewritten misses the cache.
    pub fn for_folder(
        dir: &Path,
        path: &Path,
        (size, mtime, parts_hash): (u64, i128, String),
        opts: &LoadOptions,
    ) -> CacheKey {
        CacheKey::keyed(
            dir,
            path,
            &[b"parquet-parts", parts_hash.as_bytes()],
            opts,
            size,
            mtime,
        )
    }

    /// The entry for `path`: its canonical path, `what` (the format, or the folder's parts) and
    /// the load options hashed into the file name; size and time kept in the stamp.
    fn keyed(
        dir: &Path,
        path: &Path,
        what: &[&[u8]],
        opts: &LoadOptions,
        size: u64,
        mtime_ns: i128,
    ) -> CacheKey {
        let canon = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
        let mut h = Sha256::new();
        h.update(canon.to_string_lossy().as_bytes());
        for w in what {
            h.update([0]);
            h.update(w);
        }
        for (k, v) in opts.params() {
            h.update([0]);
            h.update(k.as_bytes());
            h.update([1]);
            h.update(v.as_bytes());
        }
        let key = super::to_hex(&h.finalize())[..32].to_string();
        CacheKey {
            file: dir.join(format!("{}-{key}.{NATIVE_EXTENSION}", cache_stem(path))),
            stamp: SourceStamp {
                path: canon.display().to_string(),
                size,
                mtime_ns,
                key,
            },
        }
    }

    pub fn file(&self) -> &Path {
        &self.file
    }

    /// The cached set, when a cache file exists for the same source size and modification time
    /// and its blocks match the checksum in its header (an entry without one, or one whose
    /// bytes changed, is a miss and is written again).
    pub fn open(&self) -> Option<EmbeddingSet> {
        if read_stamp(&self.file).as_ref() != Some(&self.stamp) {
            return None;
        }
        let set = open_native(&self.file, None, Unchecked::Refuse).ok()?;
        touch(&self.file);
        Some(set)
    }

    /// Stores the set unless it alone is over the cache's limit, then brings the cache under
    /// the limit (stale entries first, then the least recently used). Never fails the load.
    pub fn store_within(&self, set: &EmbeddingSet, given_limit: Option<u64>) -> CacheStatus {
        let Some(dir) = self.file.parent() else {
            return CacheStatus::Failed("no cache folder".into());
        };
        let limit = limit(dir, given_limit);
        let matrix = (set.rows() as u64).saturating_mul(set.dim() as u64 * 4);
        if matrix > limit {
            return CacheStatus::Failed(format!(
                "not stored: the set's {} of vectors are over the cache's limit of {} \
                 (--cache-limit, ${LIMIT_VAR})",
                crate::core::human_bytes(matrix),
                crate::core::human_bytes(limit)
            ));
        }
        if let Err(e) = self.store(set) {
            return CacheStatus::Failed(e.to_string());
        }
        let c = enforce(dir, limit, Some(&self.file));
        if c.evicted.iter().any(|f| f == &self.file) {
            return CacheStatus::Failed(format!(
                "not kept: the entry is over the cache's limit of {}",
                crate::core::human_bytes(limit)
            ));
        }
        CacheStatus::Stored(self.file.clone())
    }

    pub fn store(&self, set: &EmbeddingSet) -> Result<(), FormatError> {
        if let Some(dir) = self.file.parent() {
            std::fs::create_dir_all(dir).map_err(|e| FormatError::io(dir, e))?;
        }
        super::write::atomic_write_with(&self.file, |w| {
            write_native(w, set, Some(self.stamp.clone()))
        })
    }
}

// ---------------------------------------------------------------- size limit and eviction

/// The variable that sets the cache's size limit (bytes, or `512M`, `4G`...).
pub const LIMIT_VAR: &str = "EMBEDSCOPE_CACHE_LIMIT";
/// The default limit's ceiling: the native copy of the largest common vector file (fastText's
/// 2M x 300 crawl vectors: 2.4 GB) with its neighbour index (~0.3 GB) and room for a few
/// medium sets (GloVe 400k x 300: 0.5 GB).
pub const DEFAULT_LIMIT_MAX: u64 = 4 << 30;
/// The default limit's floor (the demo and small sets stay cached on a nearly full disk).
pub const DEFAULT_LIMIT_MIN: u64 = 256 << 20;
/// The suffix of the record beside an index file naming the source it was built from.
const SOURCE_SUFFIX: &str = ".source.json";

/// What a cache entry holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    /// A native copy of a vector file (`*.esv`).
    Vectors,
    /// A neighbour index (`ann/*.esann`).
    Index,
}

/// Whether an entry still matches its source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EntryState {
    /// The source has the size and modification time recorded in the entry.
    Current,
    /// The source's size or modification time changed since the entry was written.
    SourceChanged,
    /// The source is gone.
    SourceMissing,
    /// The entry names no source (an index without its record, an unreadable header).
    Unknown,
}

impl EntryState {
    pub fn is_stale(self) -> bool {
        matches!(self, EntryState::SourceChanged | EntryState::SourceMissing)
    }
}

/// One file of the cache.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CacheEntry {
    pub file: PathBuf,
    pub kind: EntryKind,
    /// Bytes on disk (an index's source record included).
    pub bytes: u64,
    /// Last use: the file's modification time, set on every hit (seconds since the epoch).
    pub last_used: u64,
    /// The source file it was made from, when recorded.
    pub source: Option<String>,
    pub state: EntryState,
}

/// The source record beside an index file.
#[derive(serde::Serialize, serde::Deserialize)]
struct SourceRecord {
    path: String,
    size: u64,
    mtime_ns: i128,
}

fn secs(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Marks an entry as used now (its modification time); a read-only cache keeps the old time.
pub fn touch(file: &Path) {
    if let Ok(f) = std::fs::OpenOptions::new().append(true).open(file) {
        let _ = f.set_modified(std::time::SystemTime::now());
    }
}

/// Records beside an index file the source it was built from (canonical path, size, time), so
/// a sweep can drop it once the source changes or goes. Best effort: an index without its record
/// is kept until evicted.
pub fn record_source(entry: &Path, source: &Path) {
    let Ok(canon) = std::fs::canonicalize(source) else {
        return;
    };
    let Ok(meta) = std::fs::metadata(&canon) else {
        return;
    };
    if !meta.is_file() {
        return;
    }
    let rec = SourceRecord {
        path: canon.display().to_string(),
        size: meta.len(),
        mtime_ns: mtime_ns(&meta),
    };
    if let Ok(text) = serde_json::to_string(&rec) {
        let _ = std::fs::write(source_record_path(entry), text);
    }
}

fn source_record_path(entry: &Path) -> PathBuf {
    let mut s = entry.as_os_str().to_owned();
    s.push(SOURCE_SUFFIX);
    PathBuf::from(s)
}

/// The state of a source against its recorded size and time (a folder of parts: its stamp).
fn source_state(path: &str, size: u64, mtime: i128) -> EntryState {
    let p = Path::new(path);
    let Ok(meta) = std::fs::metadata(p) else {
        return EntryState::SourceMissing;
    };
    let (now_size, now_mtime) = if meta.is_dir() {
        match super::table::list_parts(p) {
            Ok(parts) if !parts.is_empty() => {
                let (s, m, _) = super::table::folder_stamp(&parts);
                (s, m)
            }
            _ => return EntryState::SourceMissing,
        }
    } else {
        (meta.len(), mtime_ns(&meta))
    };
    if now_size == size && now_mtime == mtime {
        EntryState::Current
    } else {
        EntryState::SourceChanged
    }
}

/// Every entry of the cache in `dir` (vectors, then indexes under `ann/`), unsorted.
pub fn entries(dir: &Path) -> Vec<CacheEntry> {
    let mut out = Vec::new();
    let list = |d: &Path| -> Vec<(PathBuf, std::fs::Metadata)> {
        std::fs::read_dir(d)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| {
                        let m = e.metadata().ok()?;
                        m.is_file().then(|| (e.path(), m))
                    })
                    .collect()
            })
            .unwrap_or_default()
    };
    for (path, meta) in list(dir) {
        if path.extension().and_then(|e| e.to_str()) != Some(NATIVE_EXTENSION) {
            continue;
        }
        let stamp = read_stamp(&path);
        let (source, state) = match &stamp {
            Some(s) => (
                Some(s.path.clone()),
                source_state(&s.path, s.size, s.mtime_ns),
            ),
            None => (None, EntryState::Unknown),
        };
        out.push(CacheEntry {
            bytes: meta.len(),
            last_used: meta.modified().map_or(0, secs),
            file: path,
            kind: EntryKind::Vectors,
            source,
            state,
        });
    }
    for (path, meta) in list(&dir.join("ann")) {
        if path.extension().and_then(|e| e.to_str()) != Some("esann") {
            continue;
        }
        let rec_path = source_record_path(&path);
        let rec: Option<SourceRecord> = super::bounded::read_side_file(&rec_path, "source record")
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok());
        let rec_bytes = std::fs::metadata(&rec_path).map_or(0, |m| m.len());
        let (source, state) = match &rec {
            Some(r) => (
                Some(r.path.clone()),
                source_state(&r.path, r.size, r.mtime_ns),
            ),
            None => (None, EntryState::Unknown),
        };
        out.push(CacheEntry {
            bytes: meta.len() + rec_bytes,
            last_used: meta.modified().map_or(0, secs),
            file: path,
            kind: EntryKind::Index,
            source,
            state,
        });
    }
    out
}

/// Removes an entry (and an index's source record); false when it could not be removed.
pub fn remove_entry(e: &CacheEntry) -> bool {
    let ok = std::fs::remove_file(&e.file).is_ok() || !e.file.exists();
    if e.kind == EntryKind::Index {
        let _ = std::fs::remove_file(source_record_path(&e.file));
    }
    ok
}

/// What a clean-up removed.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Cleanup {
    /// Entries whose source changed or went.
    pub stale: Vec<PathBuf>,
    /// Entries evicted, least recently used first, to bring the cache under its limit.
    pub evicted: Vec<PathBuf>,
    pub bytes_freed: u64,
    /// The cache's size afterwards.
    pub bytes_left: u64,
}

/// Drops the stale entries, then evicts the least recently used until the cache holds at most
/// `limit` bytes. `keep` (the entry just written) goes last, only when it alone is over the
/// limit. Never fails: an entry that cannot be removed is left (and counted).
pub fn enforce(dir: &Path, limit: u64, keep: Option<&Path>) -> Cleanup {
    let mut c = Cleanup::default();
    let mut live = Vec::new();
    for e in entries(dir) {
        if e.state.is_stale() && keep != Some(e.file.as_path()) && remove_entry(&e) {
            c.bytes_freed += e.bytes;
            c.stale.push(e.file);
        } else {
            live.push(e);
        }
    }
    // Least recently used first; the entry just written after every other.
    live.sort_by_key(|e| (keep == Some(e.file.as_path()), e.last_used, e.file.clone()));
    let mut total: u64 = live.iter().map(|e| e.bytes).sum();
    for e in &live {
        if total <= limit {
            break;
        }
        if remove_entry(e) {
            total -= e.bytes;
            c.bytes_freed += e.bytes;
            c.evicted.push(e.file.clone());
        }
    }
    c.bytes_left = total;
    c
}

/// Removes every entry, or those last used more than `older_than` ago.
pub fn clear(dir: &Path, older_than: Option<std::time::Duration>) -> Cleanup {
    let now = secs(std::time::SystemTime::now());
    let mut c = Cleanup::default();
    for e in entries(dir) {
        let old = older_than.is_none_or(|d| now.saturating_sub(e.last_used) >= d.as_secs());
        if old && remove_entry(&e) {
            c.bytes_freed += e.bytes;
            c.evicted.push(e.file);
        } else {
            c.bytes_left += e.bytes;
        }
    }
    c
}

/// Free bytes on the file system holding `dir` (or its nearest existing parent).
fn free_disk(dir: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let mut p = dir;
    while !p.exists() {
        p = p.parent()?;
    }
    let c = std::ffi::CString::new(p.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` a buffer of the right type that statvfs
    // fills when it returns 0 (and only then is it read).
    let r = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if r != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it wrote the whole struct.
    let st = unsafe { st.assume_init() };
    // The field types differ between targets (u32 on some 32-bit ones).
    #[allow(clippy::unnecessary_cast)]
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}

/// The cache's size limit: `given` (`--cache-limit`), else `$EMBEDSCOPE_CACHE_LIMIT`, else
/// 10% of the free disk space under `dir` plus what the cache already holds, kept between
/// 256 MiB and 4 GiB.
pub fn limit(dir: &Path, given: Option<u64>) -> u64 {
    if let Some(l) = given {
        return l;
    }
    if let Some(l) = std::env::var(LIMIT_VAR)
        .ok()
        .as_deref()
        .and_then(crate::core::parse_bytes)
    {
        return l;
    }
    let held: u64 = entries(dir).iter().map(|e| e.bytes).sum();
    match free_disk(dir) {
        Some(free) => (free.saturating_add(held) / 10).clamp(DEFAULT_LIMIT_MIN, DEFAULT_LIMIT_MAX),
        None => DEFAULT_LIMIT_MAX,
    }
}
