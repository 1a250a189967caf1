//! The graph's flat layout and its file bytes.
//!
//! Words (little-endian `u32`), for `n` rows and `M`:
//! - level 0: `n` slots of `2M + 1` words: the count, then up to `2M` links;
//! - levels: `n` words, each row's top level (`NOT_IN_GRAPH` for rows left out);
//! - upper offsets: `n` words, where a row's upper slots start in the upper region;
//! - upper region: for each row with a top level `L >= 1`, `L` slots of `M + 1` words (levels
//!   1..=L), each the count then up to `M` links.
//!
//! File: the magic `ESANNIDX`, the format version (u32), the header length (u32), the JSON
//! header (`GraphInfo` and the caller's key), zero padding to a multiple of 64 bytes, then the
//! words. A file is read only after its size, version, header and every word are checked.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::{GraphInfo, HnswGraph};
use crate::analysis::AnalysisError;

pub const MAGIC: &[u8; 8] = b"ESANNIDX";
/// Version of the file layout; a file of another version is not read.
pub const VERSION: u32 = 1;
pub const NOT_IN_GRAPH: u32 = u32::MAX;
/// Highest level a row can reach.
pub const MAX_LEVEL: u32 = 15;

/// Where each region starts in the words.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    pub m: usize,
    pub s0: usize,
    pub su: usize,
    pub levels: usize,
    pub offsets: usize,
    pub upper: usize,
    pub total: usize,
}

impl Shape {
    pub fn new(rows: usize, m: usize, upper_words: usize) -> Shape {
        let s0 = 2 * m + 1;
        let levels = rows * s0;
        let offsets = levels + rows;
        let upper = offsets + rows;
        Shape {
            m,
            s0,
            su: m + 1,
            levels,
            offsets,
            upper,
            total: upper + upper_words,
        }
    }

    /// The slot (count + links) of `row` on `level`, as a word range.
    #[inline]
    pub fn slot(&self, words: &[u32], row: u32, level: u32) -> std::ops::Range<usize> {
        let r = row as usize;
        if level == 0 {
            r * self.s0..(r + 1) * self.s0
        } else {
            let base =
                self.upper + words[self.offsets + r] as usize + (level as usize - 1) * self.su;
            base..base + self.su
        }
    }

    /// The links of `row` on `level`.
    #[inline]
    pub fn links<'w>(&self, words: &'w [u32], row: u32, level: u32) -> &'w [u32] {
        let s = self.slot(words, row, level);
        let slot = &words[s];
        let c = (slot[0] as usize).min(slot.len() - 1);
        &slot[1..1 + c]
    }
}

/// The words of a graph: owned, or viewed in shared bytes at an offset (checked aligned).
pub(crate) enum Words {
    Owned(Vec<u32>),
    Shared {
        bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
        offset: usize,
        len: usize,
    },
}

impl Words {
    pub fn get(&self) -> &[u32] {
        match self {
            Words::Owned(v) => v,
            Words::Shared { bytes, offset, len } => {
                let b: &[u8] = (**bytes).as_ref();
                // Alignment and length were checked when the view was made.
                bytemuck::try_cast_slice(&b[*offset..*offset + *len * 4]).unwrap_or(&[])
            }
        }
    }

    pub fn is_shared(&self) -> bool {
        matches!(self, Words::Shared { .. })
    }
}

#[derive(Serialize, Deserialize)]
struct Header {
    info: GraphInfo,
    key: String,
}

pub(crate) fn write(g: &HnswGraph, w: &mut dyn std::io::Write, key: &str) -> std::io::Result<()> {
    let header = serde_json::to_vec(&Header {
        info: g.info.clone(),
        key: key.to_string(),
    })
    .map_err(std::io::Error::other)?;
    let mut head = Vec::with_capacity(header.len() + 80);
    head.extend_from_slice(MAGIC);
    head.extend_from_slice(&VERSION.to_le_bytes());
    head.extend_from_slice(&(header.len() as u32).to_le_bytes());
    head.extend_from_slice(&header);
    head.resize(head.len().next_multiple_of(64), 0);
    w.write_all(&head)?;
    let words = g.words.get();
    let mut buf = Vec::with_capacity(1 << 20);
    for chunk in words.chunks(1 << 18) {
        buf.clear();
        for &x in chunk {
            buf.extend_from_slice(&x.to_le_bytes());
        }
        w.write_all(&buf)?;
    }
    Ok(())
}

fn bad(msg: impl Into<String>) -> AnalysisError {
    AnalysisError::BadIndex(msg.into())
}

pub(crate) fn read(
    bytes: Arc<dyn AsRef<[u8]> + Send + Sync>,
) -> Result<(HnswGraph, String), AnalysisError> {
    let b: &[u8] = (*bytes).as_ref();
    if b.len() < 16 || &b[..8] != MAGIC {
        return Err(bad(format!(
            "not an index file (expected the magic ESANNIDX, {} bytes found)",
            b.len()
        )));
    }
    let word = |at: usize| u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]]);
    let version = word(8);
    if version != VERSION {
        return Err(bad(format!(
            "index file version {version}, this program reads version {VERSION}"
        )));
    }
    let hlen = word(12) as usize;
    let hend = 16usize
        .checked_add(hlen)
        .filter(|&e| e <= b.len())
        .ok_or_else(|| {
            bad(format!(
                "header of {hlen} bytes runs past the end of the file ({} bytes)",
                b.len()
            ))
        })?;
    let header: Header = serde_json::from_slice(&b[16..hend])
        .map_err(|e| bad(format!("header is not valid JSON: {e}")))?;
    let info = header.info;
    if info.m < super::M_MIN || info.m > super::M_MAX || info.dim == 0 {
        return Err(bad(format!(
            "header has m = {} and dim = {}",
            info.m, info.dim
        )));
    }
    let rows = info.rows;
    let shape = Shape::new(rows, info.m, info.upper_words);
    let start = hend.next_multiple_of(64);
    let expected = shape
        .total
        .checked_mul(4)
        .and_then(|x| x.checked_add(start))
        .ok_or_else(|| bad("header sizes overflow"))?;
    if b.len() != expected {
        return Err(bad(format!(
            "file is {} bytes, the header describes {expected} (truncated or damaged)",
            b.len()
        )));
    }
    let aligned = cfg!(target_endian = "little")
        && bytemuck::try_cast_slice::<u8, u32>(&b[start..expected]).is_ok();
    let words = if aligned {
        Words::Shared {
            bytes: bytes.clone(),
            offset: start,
            len: shape.total,
        }
    } else {
        Words::Owned(
            b[start..expected]
                .chunks_exact(4)
                .map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        )
    };
    validate(&info, &shape, words.get())?;
    Ok((HnswGraph { info, words }, header.key))
}

/// Every count within its slot, every level and offset within the regions, every link a row
/// in the graph on that level.
fn validate(info: &GraphInfo, shape: &Shape, w: &[u32]) -> Result<(), AnalysisError> {
    let n = info.rows;
    let mut in_graph = 0usize;
    let mut top = 0u32;
    for r in 0..n {
        let l = w[shape.levels + r];
        if l == NOT_IN_GRAPH {
            continue;
        }
        in_graph += 1;
        if l > MAX_LEVEL {
            return Err(bad(format!("row {r} has level {l}, above {MAX_LEVEL}")));
        }
        top = top.max(l);
        if l > 0 {
            let off = w[shape.offsets + r] as usize;
            if off + l as usize * shape.su > info.upper_words {
                return Err(bad(format!(
                    "row {r}: upper links outside the upper region"
                )));
            }
        }
    }
    if in_graph + info.left_out != n {
        return Err(bad(format!(
            "{in_graph} rows in the graph and {} left out, of {n}",
            info.left_out
        )));
    }
    if in_graph > 0 {
        let e = info.entry as usize;
        if e >= n || w[shape.levels + e] != info.max_level || top != info.max_level {
            return Err(bad("the entry row is not on the top level"));
        }
    }
    let check = |r: usize| -> Result<(), AnalysisError> {
        let l = w[shape.levels + r];
        if l == NOT_IN_GRAPH {
            return Ok(());
        }
        for level in 0..=l {
            let s = shape.slot(w, r as u32, level);
            let slot = &w[s];
            if slot[0] as usize > slot.len() - 1 {
                return Err(bad(format!(
                    "row {r} level {level}: {} links in a slot of {}",
                    slot[0],
                    slot.len() - 1
                )));
            }
            for &j in &slot[1..1 + slot[0] as usize] {
                let lj = w
                    .get(shape.levels + j as usize)
                    .copied()
                    .unwrap_or(NOT_IN_GRAPH);
                if j as usize >= n || lj == NOT_IN_GRAPH || lj < level {
                    return Err(bad(format!(
                        "row {r} level {level}: link to row {j}, not on that level"
                    )));
                }
            }
        }
        Ok(())
    };
    use rayon::prelude::*;
    (0..n).into_par_iter().try_for_each(check)
}
