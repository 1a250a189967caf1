//! Row-major f32 matrix, owned or memory-mapped.

use std::sync::Arc;

use memmap2::Mmap;

use super::CoreError;

#[derive(Clone)]
enum Storage {
    Owned(Vec<f32>),
    /// A little-endian f32 block inside a read-only map; bounds and alignment checked at construction.
    Mapped {
        map: Arc<Mmap>,
        offset: usize,
        len: usize,
    },
}

#[derive(Clone)]
pub struct Matrix {
    rows: usize,
    dim: usize,
    storage: Storage,
}

impl std::fmt::Debug for Matrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Matrix")
            .field("rows", &self.rows)
            .field("dim", &self.dim)
            .field("mapped", &self.is_mapped())
            .finish()
    }
}

impl PartialEq for Matrix {
    fn eq(&self, other: &Self) -> bool {
        self.rows == other.rows
            && self.dim == other.dim
            && self
                .as_slice()
                .iter()
                .zip(other.as_slice())
                .all(|(a, b)| a.to_bits() == b.to_bits())
    }
}

impl Matrix {
    pub fn from_vec(rows: usize, dim: usize, data: Vec<f32>) -> Result<Self, CoreError> {
        if dim == 0 {
            return Err(CoreError::ZeroDim);
        }
        if rows.checked_mul(dim) != Some(data.len()) {
            return Err(CoreError::Shape {
                rows,
                dim,
                len: data.len(),
            });
        }
        Ok(Matrix {
            rows,
            dim,
            storage: Storage::Owned(data),
        })
    }

    /// A matrix viewing `rows * dim` little-endian f32 values at byte `offset` of `map`.
    /// On a big-endian host the values are copied and byte-swapped instead.
    pub fn mapped(
        map: Arc<Mmap>,
        offset: usize,
        rows: usize,
        dim: usize,
    ) -> Result<Self, CoreError> {
        if dim == 0 {
            return Err(CoreError::ZeroDim);
        }
        let len = rows.checked_mul(dim).ok_or(CoreError::Shape {
            rows,
            dim,
            len: usize::MAX,
        })?;
        let bytes = len
            .checked_mul(4)
            .ok_or(CoreError::Shape { rows, dim, len })?;
        if offset.checked_add(bytes).is_none_or(|end| end > map.len()) {
            return Err(CoreError::MapBounds {
                offset,
                bytes,
                map_len: map.len(),
            });
        }
        let ptr = map.as_ptr() as usize + offset;
        if cfg!(target_endian = "big") || !ptr.is_multiple_of(std::mem::align_of::<f32>()) {
            if cfg!(target_endian = "little") {
                return Err(CoreError::MapAlignment { offset });
            }
            let data = map[offset..offset + bytes]
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            return Self::from_vec(rows, dim, data);
        }
        Ok(Matrix {
            rows,
            dim,
            storage: Storage::Mapped { map, offset, len },
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn is_mapped(&self) -> bool {
        matches!(self.storage, Storage::Mapped { .. })
    }

    /// Size of the values in bytes.
    pub fn byte_len(&self) -> usize {
        self.rows * self.dim * 4
    }

    pub fn as_slice(&self) -> &[f32] {
        match &self.storage {
            Storage::Owned(v) => v,
            Storage::Mapped { map, offset, len } => {
                let bytes = &map[*offset..*offset + len * 4];
                // SAFETY: `mapped` checked bounds and 4-byte alignment; f32 has no invalid bit patterns;
                // the map is read-only and kept alive by the Arc for the lifetime of `self`.
                unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<f32>(), *len) }
            }
        }
    }

    pub fn row(&self, i: usize) -> &[f32] {
        &self.as_slice()[i * self.dim..(i + 1) * self.dim]
    }

    pub fn iter_rows(&self) -> std::slice::ChunksExact<'_, f32> {
        self.as_slice().chunks_exact(self.dim)
    }

    /// Mutable access; a mapped matrix is copied into memory first.
    pub fn make_mut(&mut self) -> &mut [f32] {
        if let Storage::Mapped { .. } = self.storage {
            self.storage = Storage::Owned(self.as_slice().to_vec());
        }
        match &mut self.storage {
            Storage::Owned(v) => v,
            Storage::Mapped { .. } => unreachable!("converted to owned above"),
        }
    }

    /// Keeps the rows whose flag is set, in order.
    pub fn retain_rows(&self, keep: &[bool]) -> Matrix {
        let mut data = Vec::with_capacity(keep.iter().filter(|&&k| k).count() * self.dim);
        for (r, &k) in self.iter_rows().zip(keep) {
            if k {
                data.extend_from_slice(r);
            }
        }
        let rows = data.len() / self.dim;
        Matrix {
            rows,
            dim: self.dim,
            storage: Storage::Owned(data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn owned_shape_checks() {
        assert_eq!(
            Matrix::from_vec(2, 0, vec![]).unwrap_err(),
            CoreError::ZeroDim
        );
        assert!(matches!(
            Matrix::from_vec(2, 3, vec![0.0; 5]),
            Err(CoreError::Shape { .. })
        ));
        let m = Matrix::from_vec(2, 3, (0..6).map(|x| x as f32).collect()).unwrap();
        assert_eq!(m.row(1), &[3.0, 4.0, 5.0]);
        assert_eq!(m.retain_rows(&[false, true]).as_slice(), &[3.0, 4.0, 5.0]);
    }

    #[test]
    fn mapped_checks_bounds_and_alignment() {
        let mut f = tempfile::tempfile().unwrap();
        let mut bytes = vec![0u8; 8];
        for v in [1.0f32, 2.0, 3.0, 4.0] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        f.write_all(&bytes).unwrap();
        let map = Arc::new(unsafe { Mmap::map(&f).unwrap() });
        let m = Matrix::mapped(map.clone(), 8, 2, 2).unwrap();
        assert!(m.is_mapped());
        assert_eq!(m.row(1), &[3.0, 4.0]);
        assert!(matches!(
            Matrix::mapped(map.clone(), 8, 3, 2),
            Err(CoreError::MapBounds { .. })
        ));
        assert!(matches!(
            Matrix::mapped(map.clone(), 6, 1, 2),
            Err(CoreError::MapAlignment { .. })
        ));
        let mut m2 = m.clone();
        m2.make_mut()[0] = 9.0;
        assert!(!m2.is_mapped());
        assert_eq!(m.row(0), &[1.0, 2.0]);
    }
}
