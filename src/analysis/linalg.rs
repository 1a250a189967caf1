//! Dense matrix products through the `gemm` crate behind one safe function.
//!
//! Every operand is a slice with an explicit [`Layout`] (shape and strides, so transposed views
//! and blocks of wider matrices need no copies). [`matmul`] checks every shape and stride
//! against the slice lengths before the single `unsafe` call: a layout that does not fit its
//! slice never reaches the kernel. The callers' shapes are invariants of their own code, so a
//! refused layout is a bug there and panics with the [`ShapeError`] that names it.
//!
//! The kernel runs single-threaded (`gemm::Parallelism::None`): callers split their work over
//! rayon in fixed blocks, so results do not depend on the number of threads.

use thiserror::Error;

/// Element types of the product: the two float types `gemm` has kernels for that the analysis
/// code uses.
pub trait Scalar: Copy + Send + Sync + 'static + sealed::Sealed {
    const ZERO: Self;
    const ONE: Self;
}

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

impl Scalar for f32 {
    const ZERO: f32 = 0.0;
    const ONE: f32 = 1.0;
}

impl Scalar for f64 {
    const ZERO: f64 = 0.0;
    const ONE: f64 = 1.0;
}

/// Where the elements of a `rows x cols` operand lie in its slice: element `(i, j)` is at
/// index `i * row_stride + j * col_stride`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Layout {
    pub rows: usize,
    pub cols: usize,
    pub row_stride: usize,
    pub col_stride: usize,
}

impl Layout {
    /// Contiguous row-major `rows x cols`.
    pub const fn row_major(rows: usize, cols: usize) -> Layout {
        Layout::strided(rows, cols, cols)
    }

    /// Row-major `rows x cols` with rows `row_stride` apart (a block of a wider matrix).
    pub const fn strided(rows: usize, cols: usize, row_stride: usize) -> Layout {
        Layout {
            rows,
            cols,
            row_stride,
            col_stride: 1,
        }
    }

    /// The transpose, over the same elements.
    pub const fn t(self) -> Layout {
        Layout {
            rows: self.cols,
            cols: self.rows,
            row_stride: self.col_stride,
            col_stride: self.row_stride,
        }
    }

    /// One past the largest index an element lies at (0 for an empty operand); `None` when
    /// that index does not fit in `usize`.
    fn extent(self) -> Option<usize> {
        if self.rows == 0 || self.cols == 0 {
            return Some(0);
        }
        (self.rows - 1)
            .checked_mul(self.row_stride)?
            .checked_add((self.cols - 1).checked_mul(self.col_stride)?)?
            .checked_add(1)
    }

    /// Whether distinct `(i, j)` lie at distinct indices. Sufficient, not necessary: the rows
    /// lie one after another (each row's elements distinct, the next row starting past this
    /// row's last element) or the columns do.
    fn distinct(self) -> bool {
        let (r, c, rs, cs) = (self.rows, self.cols, self.row_stride, self.col_stride);
        let after = |n: usize, m: usize, outer: usize, inner: usize| {
            (m <= 1 || inner >= 1)
                && (n <= 1 || (m - 1).checked_mul(inner).is_some_and(|span| outer > span))
        };
        r == 0 || c == 0 || after(r, c, rs, cs) || after(c, r, cs, rs)
    }
}

/// Whether the product overwrites the destination or is added to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// `dst = lhs rhs`
    Overwrite,
    /// `dst += lhs rhs`
    Accumulate,
}

/// One of the three operands, for error messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Dst,
    Lhs,
    Rhs,
}

impl std::fmt::Display for Operand {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Operand::Dst => "destination",
            Operand::Lhs => "left operand",
            Operand::Rhs => "right operand",
        })
    }
}

/// Why [`matmul`] refuses a set of layouts.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum ShapeError {
    #[error("inner dimensions differ: the left operand has {lhs} columns, the right {rhs} rows")]
    Inner { lhs: usize, rhs: usize },
    #[error("destination is {dst_rows} x {dst_cols}, the product {rows} x {cols}")]
    Destination {
        dst_rows: usize,
        dst_cols: usize,
        rows: usize,
        cols: usize,
    },
    #[error("{operand} needs {needed} elements, its slice holds {len}")]
    TooShort {
        operand: Operand,
        needed: usize,
        len: usize,
    },
    #[error("{0}: a stride or the extent of its elements overflows")]
    Overflow(Operand),
    #[error("destination elements overlap (row stride {row_stride}, column stride {col_stride})")]
    Overlap {
        row_stride: usize,
        col_stride: usize,
    },
}

/// Checks one operand's layout against its slice length.
fn fits(operand: Operand, layout: Layout, len: usize) -> Result<(), ShapeError> {
    if isize::try_from(layout.row_stride).is_err() || isize::try_from(layout.col_stride).is_err() {
        return Err(ShapeError::Overflow(operand));
    }
    let needed = layout.extent().ok_or(ShapeError::Overflow(operand))?;
    if needed > len {
        return Err(ShapeError::TooShort {
            operand,
            needed,
            len,
        });
    }
    Ok(())
}

/// Checks the three operands' layouts against their slices' lengths: the shapes chain (`lhs`
/// m x k, `rhs` k x n, `dst` m x n), every element of each lies inside its slice (strides
/// within `isize`, no overflow), and the destination's elements are distinct. Returns
/// `(m, n, k)`.
fn check(
    (dst_len, dst): (usize, Layout),
    (lhs_len, lhs): (usize, Layout),
    (rhs_len, rhs): (usize, Layout),
) -> Result<(usize, usize, usize), ShapeError> {
    let (m, k, n) = (lhs.rows, lhs.cols, rhs.cols);
    if rhs.rows != k {
        return Err(ShapeError::Inner {
            lhs: k,
            rhs: rhs.rows,
        });
    }
    if (dst.rows, dst.cols) != (m, n) {
        return Err(ShapeError::Destination {
            dst_rows: dst.rows,
            dst_cols: dst.cols,
            rows: m,
            cols: n,
        });
    }
    fits(Operand::Dst, dst, dst_len)?;
    fits(Operand::Lhs, lhs, lhs_len)?;
    fits(Operand::Rhs, rhs, rhs_len)?;
    if !dst.distinct() {
        return Err(ShapeError::Overlap {
            row_stride: dst.row_stride,
            col_stride: dst.col_stride,
        });
    }
    Ok((m, n, k))
}

/// `dst = lhs rhs` or `dst += lhs rhs` ([`Write`]), each operand read or written through its
/// layout. With `k = 0` the product is zero (overwritten, or nothing added).
///
/// # Panics
/// When the layouts do not fit their slices, the shapes do not chain or the destination's
/// elements overlap ([`ShapeError`]): a bug in the caller, reported before the kernel runs and
/// before `dst` is touched (never undefined behaviour).
pub fn matmul<T: Scalar>(
    dst: &mut [T],
    dst_layout: Layout,
    lhs: &[T],
    lhs_layout: Layout,
    rhs: &[T],
    rhs_layout: Layout,
    write: Write,
) {
    let (m, n, k) = match check(
        (dst.len(), dst_layout),
        (lhs.len(), lhs_layout),
        (rhs.len(), rhs_layout),
    ) {
        Ok(mnk) => mnk,
        Err(e) => panic!("matmul: {e}"),
    };
    let accumulate = write == Write::Accumulate;
    // Strides fit in isize (checked by `check`), so these conversions are exact.
    let stride = |s: usize| s as isize;
    // SAFETY: checked by `check`: the shapes chain (lhs m x k, rhs k x n, dst m x n); for each
    // operand every index the kernel touches, at most (rows - 1) * row_stride + (cols - 1) *
    // col_stride, is below its slice's length (computed without overflow, strides within
    // isize), so every read and write stays inside its slice, and an empty operand is never
    // touched; the destination's elements are pairwise distinct, so no element is written
    // twice; `dst` is a unique borrow, so it aliases neither input; T is f32 or f64 (sealed),
    // both with kernels in `gemm`; Parallelism::None runs on this thread only.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            stride(dst_layout.col_stride),
            stride(dst_layout.row_stride),
            accumulate,
            lhs.as_ptr(),
            stride(lhs_layout.col_stride),
            stride(lhs_layout.row_stride),
            rhs.as_ptr(),
            stride(rhs_layout.col_stride),
            stride(rhs_layout.row_stride),
            if accumulate { T::ONE } else { T::ZERO },
            T::ONE,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Small integers, so every product and sum is exact in f32 and f64 and the kernel's
    /// summation order cannot change the result.
    fn values<T: Scalar + From<i8>>(len: usize, seed: u32) -> Vec<T> {
        let mut s = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
        (0..len)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 17;
                s ^= s << 5;
                T::from((s % 15) as i8 - 7)
            })
            .collect()
    }

    fn at(l: Layout, i: usize, j: usize) -> usize {
        i * l.row_stride + j * l.col_stride
    }

    /// The naive triple loop over the same layouts.
    fn naive<T: Scalar + std::ops::Add<Output = T> + std::ops::Mul<Output = T>>(
        dst: &mut [T],
        dl: Layout,
        lhs: &[T],
        ll: Layout,
        rhs: &[T],
        rl: Layout,
        write: Write,
    ) {
        for i in 0..ll.rows {
            for j in 0..rl.cols {
                let mut s = T::ZERO;
                for p in 0..ll.cols {
                    s = s + lhs[at(ll, i, p)] * rhs[at(rl, p, j)];
                }
                let d = &mut dst[at(dl, i, j)];
                *d = if write == Write::Accumulate {
                    *d + s
                } else {
                    s
                };
            }
        }
    }

    /// Builds operands for `(m, n, k)` with the given transposes and destination padding,
    /// runs both and compares every element of the destination slice (the padding included).
    fn against_naive<T>(m: usize, n: usize, k: usize, lt: bool, rt: bool, pad: usize, write: Write)
    where
        T: Scalar
            + From<i8>
            + PartialEq
            + std::fmt::Debug
            + std::ops::Add<Output = T>
            + std::ops::Mul<Output = T>,
    {
        let ll = if lt {
            Layout::row_major(k, m).t()
        } else {
            Layout::row_major(m, k)
        };
        let rl = if rt {
            Layout::row_major(n, k).t()
        } else {
            Layout::row_major(k, n)
        };
        let dl = Layout::strided(m, n, n + pad);
        let lhs: Vec<T> = values(m * k, 1);
        let rhs: Vec<T> = values(k * n, 2);
        let start: Vec<T> = values(dl.extent().unwrap_or(0) + pad, 3);
        let (mut got, mut want) = (start.clone(), start);
        matmul(&mut got, dl, &lhs, ll, &rhs, rl, write);
        naive(&mut want, dl, &lhs, ll, &rhs, rl, write);
        assert_eq!(
            got, want,
            "m {m} n {n} k {k} lt {lt} rt {rt} pad {pad} {write:?}"
        );
    }

    #[test]
    fn matches_the_naive_product() {
        let shapes = [
            (1, 1, 1),
            (3, 5, 7),
            (17, 33, 9),
            (64, 1, 40),
            (1, 70, 31),
            (40, 48, 96),
            (5, 4, 0),
            (0, 4, 3),
            (4, 0, 3),
        ];
        for (m, n, k) in shapes {
            for (lt, rt) in [(false, false), (true, false), (false, true), (true, true)] {
                for pad in [0, 3] {
                    for write in [Write::Overwrite, Write::Accumulate] {
                        against_naive::<f32>(m, n, k, lt, rt, pad, write);
                        against_naive::<f64>(m, n, k, lt, rt, pad, write);
                    }
                }
            }
        }
    }

    #[test]
    fn a_block_of_a_wider_matrix_is_written_in_place() {
        // The top-right 2 x 3 block of a 4 x 6 destination, from column blocks of one matrix.
        let src: Vec<f64> = values(5 * 6, 7);
        let mut dst = vec![1.0f64; 4 * 6];
        let mut want = dst.clone();
        let (lhs, ll) = (&src[1..], Layout::strided(5, 2, 6).t());
        let (rhs, rl) = (&src[3..], Layout::strided(5, 3, 6));
        matmul(
            &mut dst[3..],
            Layout::strided(2, 3, 6),
            lhs,
            ll,
            rhs,
            rl,
            Write::Accumulate,
        );
        naive(
            &mut want[3..],
            Layout::strided(2, 3, 6),
            lhs,
            ll,
            rhs,
            rl,
            Write::Accumulate,
        );
        assert_eq!(dst, want);
        assert!(dst[..3].iter().chain(&dst[12..]).all(|&v| v == 1.0));
    }

    #[test]
    fn bad_layouts_are_refused_before_the_kernel() {
        // Slices of 16 (destination) and 12 (operands) elements.
        let run =
            |dl: Layout, ll: Layout, rl: Layout| check((16, dl), (12, ll), (12, rl)).map(drop);
        let rm = Layout::row_major;
        let short = |operand, needed| {
            Err(ShapeError::TooShort {
                operand,
                needed,
                len: if operand == Operand::Dst { 16 } else { 12 },
            })
        };
        assert_eq!(
            run(rm(3, 3), rm(3, 4), rm(3, 3)),
            Err(ShapeError::Inner { lhs: 4, rhs: 3 })
        );
        assert_eq!(
            run(rm(3, 2), rm(3, 4), rm(4, 3)),
            Err(ShapeError::Destination {
                dst_rows: 3,
                dst_cols: 2,
                rows: 3,
                cols: 3
            })
        );
        assert_eq!(run(rm(4, 4), rm(4, 4), rm(4, 4)), short(Operand::Lhs, 16));
        assert_eq!(run(rm(2, 7), rm(2, 2), rm(2, 7)), short(Operand::Rhs, 14));
        assert_eq!(
            run(Layout::strided(3, 3, 7), rm(3, 2), rm(2, 3)),
            short(Operand::Dst, 17)
        );
        // A transposed view reaching past the end: 3 x 4 read from columns 4 apart.
        assert_eq!(
            run(rm(3, 3), Layout::strided(4, 3, 4).t(), rm(4, 3)),
            short(Operand::Lhs, 15)
        );
        assert_eq!(
            run(rm(3, 3), Layout::strided(3, 4, 5), rm(4, 3)),
            short(Operand::Lhs, 14)
        );
        // Strides beyond isize, and an extent beyond usize.
        assert_eq!(
            run(rm(2, 2), Layout::strided(2, 3, usize::MAX), rm(3, 2)),
            Err(ShapeError::Overflow(Operand::Lhs))
        );
        assert_eq!(
            run(rm(4, 2), Layout::strided(4, 3, usize::MAX / 2), rm(3, 2)),
            Err(ShapeError::Overflow(Operand::Lhs))
        );
        assert_eq!(
            run(rm(2, 2), Layout::strided(2, 3, usize::MAX / 2), rm(3, 2)),
            short(Operand::Lhs, usize::MAX / 2 + 3)
        );
        // Destination rows written over each other: a zero row stride, or rows closer than
        // their span.
        assert_eq!(
            run(Layout::strided(3, 3, 0), rm(3, 2), rm(2, 3)),
            Err(ShapeError::Overlap {
                row_stride: 0,
                col_stride: 1
            })
        );
        assert_eq!(
            run(Layout::strided(3, 3, 2), rm(3, 2), rm(2, 3)),
            Err(ShapeError::Overlap {
                row_stride: 2,
                col_stride: 1
            })
        );
        // Accepted: a column-major destination, and a single row with any row stride.
        assert_eq!(run(rm(3, 3).t(), rm(3, 2), rm(2, 3)), Ok(()));
        assert_eq!(run(Layout::strided(1, 3, 0), rm(1, 2), rm(2, 3)), Ok(()));
    }

    #[test]
    #[should_panic(expected = "matmul: left operand needs 16 elements, its slice holds 12")]
    fn matmul_panics_on_a_refused_layout() {
        let mut d = vec![0f64; 4];
        matmul(
            &mut d,
            Layout::row_major(2, 2),
            &[0.0; 12],
            Layout::row_major(2, 8),
            &[0.0; 16],
            Layout::row_major(8, 2),
            Write::Overwrite,
        );
    }

    #[test]
    fn a_refused_layout_leaves_the_destination_untouched() {
        let mut d = vec![7f32; 9];
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            matmul(
                &mut d,
                Layout::strided(3, 3, 2),
                &[1.0; 6],
                Layout::row_major(3, 2),
                &[1.0; 6],
                Layout::row_major(2, 3),
                Write::Accumulate,
            )
        }));
        assert!(r.is_err());
        assert!(d.iter().all(|&v| v == 7.0));
    }

    #[test]
    fn layout_helpers() {
        let l = Layout::row_major(3, 5);
        assert_eq!(l.extent(), Some(15));
        assert_eq!(l.t().extent(), Some(15));
        assert_eq!(l.t().t(), l);
        assert_eq!(Layout::strided(2, 3, 10).extent(), Some(13));
        assert_eq!(Layout::row_major(0, 5).extent(), Some(0));
        assert!(Layout::row_major(4, 4).distinct());
        assert!(Layout::row_major(4, 4).t().distinct());
        assert!(Layout::strided(1, 4, 0).distinct());
        assert!(Layout::strided(1, 4, 0).t().distinct());
        assert!(Layout::strided(2, 3, 5).distinct());
        assert!(!Layout::strided(2, 4, 3).distinct());
        let column_on_one_element = Layout {
            rows: 4,
            cols: 1,
            row_stride: 0,
            col_stride: 1,
        };
        assert!(!column_on_one_element.distinct());
    }
}
