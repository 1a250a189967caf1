//! safetensors: one 2-D float tensor (F16, BF16, F32, F64) + a vocabulary file beside it.
//! A little-endian F32 tensor is memory-mapped, not copied.

use std::borrow::Cow;
use std::io::Write as _;
use std::path::Path;

use half::{bf16, f16};
use safetensors::tensor::{Dtype, SafeTensors, View};

use super::error::{FormatError, Location};
use super::npy::{map_file, sha256_hex};
use super::{LoadOptions, Loaded};
use crate::core::Matrix;

/// safetensors' 8-byte length prefix.
const N_LEN: usize = 8;
/// Tensor names listed in a message at most (a header may name hundreds of thousands).
const NAMES_LISTED: usize = 20;

/// The first [`NAMES_LISTED`] of `names`, comma-separated, then "and N more".
fn listed<T: AsRef<str>>(names: &[T]) -> String {
    let mut s = names
        .iter()
        .take(NAMES_LISTED)
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > NAMES_LISTED {
        s.push_str(&format!(" and {} more", names.len() - NAMES_LISTED));
    }
    s
}

pub(crate) fn read_safetensors(path: &Path, opts: &LoadOptions) -> Result<Loaded, FormatError> {
    let map = map_file(path)?;
    let st = SafeTensors::deserialize(&map).map_err(|e| {
        FormatError::invalid(
            path,
            Location::Byte(0),
            format!("not a valid safetensors file: {e}"),
        )
    })?;
    let mut names: Vec<&str> = st.names();
    names.sort_unstable();
    let name = match &opts.tensor {
        Some(t) => {
            if !names.contains(&t.as_str()) {
                return Err(FormatError::invalid(
                    path,
                    Location::None,
                    format!("no tensor named '{t}'; the file holds: {}", listed(&names)),
                ));
            }
            t.clone()
        }
        None => {
            let two_d: Vec<&str> = names
                .iter()
                .copied()
                .filter(|n| st.tensor(n).is_ok_and(|t| t.shape().len() == 2))
                .collect();
            match two_d.as_slice() {
                [one] => one.to_string(),
                [] => {
                    let shapes: Vec<String> = names
                        .iter()
                        .take(NAMES_LISTED)
                        .filter_map(|n| st.tensor(n).ok().map(|t| format!("{n} {:?}", t.shape())))
                        .collect();
                    let more = names.len().saturating_sub(NAMES_LISTED);
                    let shapes = if more > 0 {
                        format!("{} and {more} more", shapes.join(", "))
                    } else {
                        shapes.join(", ")
                    };
                    return Err(FormatError::unsupported(
                        path,
                        format!("no 2-D tensor (rows, dim) in the file; it holds: {shapes}"),
                    ));
                }
                many => {
                    return Err(FormatError::invalid(
                        path,
                        Location::None,
                        format!(
                            "several 2-D tensors ({}): choose one with --tensor",
                            listed(many)
                        ),
                    ));
                }
            }
        }
    };
    let t = st
        .tensor(&name)
        .map_err(|e| FormatError::invalid(path, Location::None, format!("tensor '{name}': {e}")))?;
    let shape = t.shape().to_vec();
    if shape.len() != 2 {
        return Err(FormatError::unsupported(
            path,
            format!("tensor '{name}' has shape {shape:?}: expected 2-D (rows, dim)"),
        ));
    }
    let (total, cols) = (shape[0], shape[1]);
    if cols == 0 {
        return Err(FormatError::invalid(
            path,
            Location::None,
            format!("tensor '{name}' has 0 columns"),
        ));
    }
    let rows = opts.limit.map_or(total, |l| l.min(total));
    let data = t.data();
    let offset = data.as_ptr() as usize - map.as_ptr() as usize;
    let shape_err =
        |e: crate::core::CoreError| FormatError::invalid(path, Location::None, e.to_string());
    let m = match t.dtype() {
        Dtype::F32 if cfg!(target_endian = "little") && offset.is_multiple_of(4) => {
            Matrix::mapped(map.clone(), offset, rows, cols).map_err(shape_err)?
        }
        Dtype::F32 | Dtype::F64 | Dtype::F16 | Dtype::BF16 => {
            let es = t.dtype().bitsize() / 8;
            let bytes = &data[..rows * cols * es];
            let v: Vec<f32> = match t.dtype() {
                Dtype::F32 => bytes
                    .chunks_exact(4)
                    .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                    .collect(),
                Dtype::F64 => bytes
                    .chunks_exact(8)
                    .map(|c| {
                        f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                    })
                    .collect(),
                Dtype::F16 => bytes
                    .chunks_exact(2)
                    .map(|c| f16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
                _ => bytes
                    .chunks_exact(2)
                    .map(|c| bf16::from_le_bytes([c[0], c[1]]).to_f32())
                    .collect(),
            };
            Matrix::from_vec(rows, cols, v).map_err(shape_err)?
        }
        other => {
            return Err(FormatError::unsupported(
                path,
                format!("tensor '{name}' has dtype {other:?}: expected F16, BF16, F32 or F64"),
            ));
        }
    };
    let sha = sha256_hex(&map);
    let mut l = super::vocab_file::attach_vocab(path, m, total, opts)?;
    l.sha256 = Some(sha);
    l.params.insert("tensor".into(), name);
    Ok(l)
}

struct MatrixView<'a>(&'a Matrix, [usize; 2]);

impl View for MatrixView<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }
    fn shape(&self) -> &[usize] {
        &self.1
    }
    fn data(&self) -> Cow<'_, [u8]> {
        let s = self.0.as_slice();
        if cfg!(target_endian = "little") {
            // SAFETY: f32 slice viewed as its bytes (same memory, no invalid patterns for u8).
            Cow::Borrowed(unsafe {
                std::slice::from_raw_parts(s.as_ptr().cast::<u8>(), std::mem::size_of_val(s))
            })
        } else {
            Cow::Owned(s.iter().flat_map(|v| v.to_le_bytes()).collect())
        }
    }
    fn data_len(&self) -> usize {
        self.0.byte_len()
    }
}

/// Writes `m` as the tensor "embeddings" (F32) into the temporary file `tmp` (renamed onto its
/// target by the caller). The file is laid out here rather than by the safetensors crate's
/// `serialize_to_file`, which writes through a temporary file of its own that a killed process
/// would leave behind under a random name: an 8-byte little-endian header length, the JSON
/// header padded with spaces to a multiple of 8 bytes, then the rows' bytes, streamed.
pub(crate) fn write_safetensors(
    m: &Matrix,
    tmp: &super::write::TempFile,
) -> Result<(), FormatError> {
    let view = MatrixView(m, [m.rows(), m.dim()]);
    let header = serde_json::json!({
        "embeddings": {
            "dtype": "F32",
            "shape": [m.rows(), m.dim()],
            "data_offsets": [0, view.data_len()],
        }
    })
    .to_string();
    let mut header = header.into_bytes();
    while !(N_LEN + header.len()).is_multiple_of(8) {
        header.push(b' ');
    }
    super::write::write_temp(tmp, |w| {
        w.write_all(&(header.len() as u64).to_le_bytes())?;
        w.write_all(&header)?;
        w.write_all(&view.data())
    })
}

/// True when `head` starts like a safetensors file (length prefix then a JSON object).
pub(crate) fn looks_like(head: &[u8], file_len: u64) -> bool {
    if head.len() < N_LEN + 1 {
        return false;
    }
    let n = u64::from_le_bytes([
        head[0], head[1], head[2], head[3], head[4], head[5], head[6], head[7],
    ]);
    head[N_LEN] == b'{' && n > 1 && n + N_LEN as u64 <= file_len
}
