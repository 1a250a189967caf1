//! embedscope's native file (`.esv`): a small JSON header and aligned little-endian blocks, so a
//! set reopens with one memory map and no parsing of values.
//!
//! Layout (version 1):
//! ```text
//! 0   8 bytes  magic "EMBSCOPE"
//! 8   u32 LE   version (1)
//! 12  u32 LE   reserved (0)
//! 16  u64 LE   JSON header length n
//! 24  n bytes  JSON header (NativeHeader)
//!     zero padding to a multiple of 64
//! D   rows*dim f32 LE          (data_offset = D)
//! V   rows u32 LE token end offsets, then the token bytes (UTF-8)
//! C   rows u64 LE counts (when present)
//! ```

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::Loaded;
use super::error::{FormatError, Location};
use super::npy::map_file;
use crate::core::{EmbeddingSet, LoadNotes, Matrix, Metadata, Provenance, Vocab};

pub const NATIVE_EXTENSION: &str = "esv";
pub(crate) const MAGIC: &[u8; 8] = b"EMBSCOPE";
const VERSION: u32 = 1;

/// Where the source of a cached set was when it was read (to tell when the cache is stale).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SourceStamp {
    pub path: String,
    pub size: u64,
    pub mtime_ns: i128,
    pub key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct NativeHeader {
    rows: u64,
    dim: u64,
    dtype: String,
    data_offset: u64,
    vocab_ends_offset: u64,
    vocab_blob_offset: u64,
    vocab_blob_len: u64,
    counts_offset: Option<u64>,
    metadata: Metadata,
    provenance: Provenance,
    notes: LoadNotes,
    #[serde(default)]
    source: Option<SourceStamp>,
    /// [`block_checksum`] of the vector data, the vocabulary and the counts, checked on every
    /// open: a file whose blocks were overwritten in place (same size, same header) is refused
    /// rather than served. Absent in files written before it existed.
    #[serde(default)]
    checksum: Option<String>,
}

/// Bytes hashed per parallel task by [`block_checksum`].
const CHECKSUM_CHUNK: usize = 8 << 20;

/// The checksum of a native file's blocks: the sha256 of each 8 MiB chunk of the vector data
/// (computed in parallel), then the sha256 of those digests followed by the vocabulary offsets,
/// the token bytes and the counts, as lower-case hex.
fn block_checksum(data: &[u8], rest: &[&[u8]]) -> String {
    use rayon::prelude::*;
    use sha2::{Digest, Sha256};
    let digests: Vec<[u8; 32]> = data
        .par_chunks(CHECKSUM_CHUNK)
        .map(|c| Sha256::digest(c).into())
        .collect();
    let mut h = Sha256::new();
    h.update((data.len() as u64).to_le_bytes());
    for d in &digests {
        h.update(d);
    }
    for r in rest {
        h.update((r.len() as u64).to_le_bytes());
        h.update(r);
    }
    super::to_hex(&h.finalize())
}

/// The checksum of a set as [`write_native`] lays it out.
fn set_checksum(set: &EmbeddingSet) -> String {
    let (blob, ends) = set.vocab.raw_parts();
    let le_u32: Vec<u8> = ends.iter().flat_map(|e| e.to_le_bytes()).collect();
    let counts: Vec<u8> = set
        .vocab
        .counts()
        .map(|c| c.iter().flat_map(|v| v.to_le_bytes()).collect())
        .unwrap_or_default();
    let values = set.matrix.as_slice();
    if cfg!(target_endian = "little") {
        // SAFETY: f32 values viewed as their bytes (same memory; any byte is a valid u8).
        let bytes = unsafe {
            std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), std::mem::size_of_val(values))
        };
        block_checksum(bytes, &[&le_u32, blob.as_bytes(), &counts])
    } else {
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        block_checksum(&bytes, &[&le_u32, blob.as_bytes(), &counts])
    }
}

fn pad64(n: u64) -> u64 {
    n.div_ceil(64) * 64
}

/// Writes `set` to `w` (sequentially; the caller makes it atomic).
pub(crate) fn write_native<W: Write>(
    w: &mut W,
    set: &EmbeddingSet,
    source: Option<SourceStamp>,
) -> std::io::Result<()> {
    let (blob, ends) = set.vocab.raw_parts();
    let rows = set.rows() as u64;
    // The header's own length decides the offsets: iterate until it is stable.
    let mut header = NativeHeader {
        rows,
        dim: set.dim() as u64,
        dtype: "f32".into(),
        data_offset: 0,
        vocab_ends_offset: 0,
        vocab_blob_offset: 0,
        vocab_blob_len: blob.len() as u64,
        counts_offset: None,
        metadata: set.metadata.clone(),
        provenance: set.provenance.clone(),
        notes: set.notes.clone(),
        source,
        checksum: Some(set_checksum(set)),
    };
    let mut json;
    loop {
        json = serde_json::to_vec(&header).map_err(std::io::Error::other)?;
        let data_offset = pad64(24 + json.len() as u64);
        let vocab_ends_offset = data_offset + set.matrix.byte_len() as u64;
        let vocab_blob_offset = vocab_ends_offset + 4 * rows;
        let counts_offset = set
            .vocab
            .counts()
            .map(|_| pad64(vocab_blob_offset + blob.len() as u64));
        if (
            data_offset,
            vocab_ends_offset,
            vocab_blob_offset,
            counts_offset,
        ) == (
            header.data_offset,
            header.vocab_ends_offset,
            header.vocab_blob_offset,
            header.counts_offset,
        ) {
            break;
        }
        header.data_offset = data_offset;
        header.vocab_ends_offset = vocab_ends_offset;
        header.vocab_blob_offset = vocab_blob_offset;
        header.counts_offset = counts_offset;
    }
    w.write_all(MAGIC)?;
    w.write_all(&VERSION.to_le_bytes())?;
    w.write_all(&0u32.to_le_bytes())?;
    w.write_all(&(json.len() as u64).to_le_bytes())?;
    w.write_all(&json)?;
    let mut at = 24 + json.len() as u64;
    w.write_all(&vec![0u8; (header.data_offset - at) as usize])?;
    at = header.data_offset;
    let mut buf = Vec::with_capacity(1 << 20);
    for chunk in set.matrix.as_slice().chunks(1 << 18) {
        buf.clear();
        for v in chunk {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    at += set.matrix.byte_len() as u64;
    buf.clear();
    for e in ends {
        buf.extend_from_slice(&e.to_le_bytes());
    }
    w.write_all(&buf)?;
    w.write_all(blob.as_bytes())?;
    at += buf.len() as u64 + blob.len() as u64;
    if let (Some(c), Some(off)) = (set.vocab.counts(), header.counts_offset) {
        w.write_all(&vec![0u8; (off - at) as usize])?;
        buf.clear();
        for v in c {
            buf.extend_from_slice(&v.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

/// Reads the header only (to check a cache entry's source stamp cheaply).
pub(crate) fn read_stamp(path: &Path) -> Option<SourceStamp> {
    let map = map_file(path).ok()?;
    let (h, _) = parse_header(&map, path).ok()?;
    h.source
}

fn parse_header(map: &[u8], path: &Path) -> Result<(NativeHeader, usize), FormatError> {
    let bad = |msg: String| FormatError::invalid(path, Location::Byte(0), msg);
    if map.len() < 24 || &map[..8] != MAGIC {
        return Err(bad(
            "not an embedscope native file (magic \"EMBSCOPE\" missing)".into(),
        ));
    }
    let version = u32::from_le_bytes([map[8], map[9], map[10], map[11]]);
    if version != VERSION {
        return Err(FormatError::unsupported(
            path,
            format!("native file version {version}; this embedscope reads version {VERSION}"),
        ));
    }
    let n = u64::from_le_bytes(map[16..24].try_into().unwrap_or([0; 8]));
    if n > map.len() as u64 - 24 {
        return Err(FormatError::truncated(
            path,
            Location::Byte(16),
            "the header is longer than the file",
        ));
    }
    let h: NativeHeader = serde_json::from_slice(&map[24..24 + n as usize])
        .map_err(|e| bad(format!("damaged header: {e}")))?;
    Ok((h, 24 + n as usize))
}

pub(crate) fn read_native(path: &Path, limit: Option<usize>) -> Result<Loaded, FormatError> {
    let set = open_native(path, limit, Unchecked::Accept)?;
    // The parameters of an encoded set are its encoding facts, carried in `embedded`; those of
    // a loaded file are how it was loaded.
    let params = if set.provenance.params_are_encoding() {
        Default::default()
    } else {
        set.provenance.params.clone()
    };
    Ok(Loaded {
        sha256: set.provenance.sha256.clone(),
        params,
        vocab: set.vocab,
        matrix: set.matrix,
        metadata: set.metadata,
        notes: set.notes,
        embedded: Some(set.provenance),
    })
}

/// Whether [`open_native`] accepts a file whose header has no checksum (one written before
/// checksums existed): a file given by the user is read; a cache entry is not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unchecked {
    Accept,
    Refuse,
}

/// Opens a native file: the matrix is memory-mapped; the provenance is the original source's.
/// The blocks are checked against the header's checksum before anything is served.
pub(crate) fn open_native(
    path: &Path,
    limit: Option<usize>,
    unchecked: Unchecked,
) -> Result<EmbeddingSet, FormatError> {
    let map = map_file(path)?;
    let (h, _) = parse_header(&map, path)?;
    let len = map.len() as u64;
    let trunc = |what: &str| {
        FormatError::truncated(
            path,
            Location::None,
            format!("the file ends inside its {what} (truncated?)"),
        )
    };
    if h.dtype != "f32" {
        return Err(FormatError::unsupported(
            path,
            format!("value type '{}' (f32 expected)", h.dtype),
        ));
    }
    let rows = usize::try_from(h.rows).map_err(|_| trunc("data"))?;
    let dim = usize::try_from(h.dim).map_err(|_| trunc("data"))?;
    let data_bytes = h
        .rows
        .checked_mul(h.dim)
        .and_then(|n| n.checked_mul(4))
        .ok_or_else(|| trunc("data"))?;
    if h.data_offset
        .checked_add(data_bytes)
        .is_none_or(|e| e > len)
    {
        return Err(trunc("vector data"));
    }
    let ends_end = h
        .rows
        .checked_mul(4)
        .and_then(|n| h.vocab_ends_offset.checked_add(n))
        .ok_or_else(|| trunc("vocabulary"))?;
    let blob_end = h
        .vocab_blob_offset
        .checked_add(h.vocab_blob_len)
        .ok_or_else(|| trunc("vocabulary"))?;
    if ends_end > len || blob_end > len {
        return Err(trunc("vocabulary"));
    }
    let counts_range = match h.counts_offset {
        Some(off) => {
            let end = h
                .rows
                .checked_mul(8)
                .and_then(|n| off.checked_add(n))
                .filter(|&e| e <= len)
                .ok_or_else(|| trunc("counts"))?;
            off as usize..end as usize
        }
        None => 0..0,
    };
    match &h.checksum {
        Some(want) => {
            let data = &map[h.data_offset as usize..(h.data_offset + data_bytes) as usize];
            let got = block_checksum(
                data,
                &[
                    &map[h.vocab_ends_offset as usize..ends_end as usize],
                    &map[h.vocab_blob_offset as usize..blob_end as usize],
                    &map[counts_range.clone()],
                ],
            );
            if &got != want {
                return Err(FormatError::invalid(
                    path,
                    Location::Byte(h.data_offset),
                    "the vectors or vocabulary do not match the checksum in the header (the file was changed or damaged after it was written)",
                ));
            }
        }
        None if unchecked == Unchecked::Refuse => {
            return Err(FormatError::unsupported(
                path,
                "no checksum in the header (written by an older embedscope): not trusted as a cache entry",
            ));
        }
        None => {}
    }
    let ends: Vec<u32> = map[h.vocab_ends_offset as usize..ends_end as usize]
        .chunks_exact(4)
        .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let blob = std::str::from_utf8(&map[h.vocab_blob_offset as usize..blob_end as usize])
        .map_err(|e| {
            FormatError::invalid(
                path,
                Location::Byte(h.vocab_blob_offset),
                format!("vocabulary is not UTF-8: {e}"),
            )
        })?
        .to_string();
    let mut vocab = Vocab::from_raw_parts(blob, ends).map_err(|i| {
        FormatError::invalid(
            path,
            Location::Row(i as u64),
            "damaged vocabulary (bad offset or duplicate token)",
        )
    })?;
    if h.counts_offset.is_some() {
        let counts = map[counts_range]
            .chunks_exact(8)
            .map(|c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
            .collect();
        vocab
            .set_counts(Some(counts))
            .map_err(|e| FormatError::invalid(path, Location::None, e.to_string()))?;
    }
    let matrix = Matrix::mapped(map.clone(), h.data_offset as usize, rows, dim)
        .map_err(|e| FormatError::invalid(path, Location::Byte(h.data_offset), e.to_string()))?;
    let mut provenance = h.provenance;
    provenance.cache_file = Some(path.display().to_string());
    let set = EmbeddingSet::new(vocab, matrix, h.metadata, provenance)
        .map_err(|e| FormatError::mismatch(path, e.to_string()))?
        .with_notes(h.notes);
    Ok(match limit {
        Some(l) if l < set.rows() => set.truncate(l),
        _ => set,
    })
}
