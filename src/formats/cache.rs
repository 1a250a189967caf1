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
        open_native(&self.file, None, Unchecked::Refuse).ok()
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
