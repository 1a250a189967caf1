//! Vectors: one batch's vector column (a list, large list or fixed-size list of float16,
//! float32 or float64 values) read a row at a time as f32.

use arrow_array::cast::AsArray;
use arrow_array::types::{Float16Type, Float32Type, Float64Type};
use arrow_array::{Array, ArrayRef};
use arrow_buffer::{ArrowNativeType, NullBuffer};
use arrow_schema::DataType;

enum Floats<'a> {
    F16(&'a [half::f16]),
    F32(&'a [f32]),
    F64(&'a [f64]),
}

enum Spans<'a> {
    List(&'a [i32]),
    LargeList(&'a [i64]),
    Fixed(usize),
}

/// One batch's vector column: row spans into a float child array.
pub(super) struct Vectors<'a> {
    outer: &'a dyn Array,
    spans: Spans<'a>,
    values: Floats<'a>,
    value_nulls: Option<&'a NullBuffer>,
}

pub(super) enum VecError {
    Null,
    Empty,
    Length(usize),
    NullValue(usize),
    Bounds,
}

impl<'a> Vectors<'a> {
    pub(super) fn new(a: &'a dyn Array) -> Option<Vectors<'a>> {
        let (spans, child): (Spans<'a>, &'a ArrayRef) = match a.data_type() {
            DataType::List(_) => {
                let l = a.as_list_opt::<i32>()?;
                (Spans::List(l.value_offsets()), l.values())
            }
            DataType::LargeList(_) => {
                let l = a.as_list_opt::<i64>()?;
                (Spans::LargeList(l.value_offsets()), l.values())
            }
            DataType::FixedSizeList(_, _) => {
                let l = a.as_fixed_size_list_opt()?;
                (
                    Spans::Fixed(usize::try_from(l.value_length()).ok()?),
                    l.values(),
                )
            }
            _ => return None,
        };
        let values = match child.data_type() {
            DataType::Float16 => Floats::F16(child.as_primitive_opt::<Float16Type>()?.values()),
            DataType::Float32 => Floats::F32(child.as_primitive_opt::<Float32Type>()?.values()),
            DataType::Float64 => Floats::F64(child.as_primitive_opt::<Float64Type>()?.values()),
            _ => return None,
        };
        Some(Vectors {
            outer: a,
            spans,
            values,
            value_nulls: child.nulls().filter(|n| n.null_count() > 0),
        })
    }

    /// The values of row `r` as f32 (converted into `buf` unless stored as f32).
    /// `dim` is the expected length, once known.
    pub(super) fn row<'s>(
        &'s self,
        r: usize,
        dim: Option<usize>,
        buf: &'s mut Vec<f32>,
    ) -> Result<&'s [f32], VecError> {
        if self.outer.is_null(r) {
            return Err(VecError::Null);
        }
        let (start, len) = match self.spans {
            Spans::List(o) => span(o.get(r).copied(), o.get(r + 1).copied())?,
            Spans::LargeList(o) => span(o.get(r).copied(), o.get(r + 1).copied())?,
            Spans::Fixed(n) => (r.checked_mul(n).ok_or(VecError::Bounds)?, n),
        };
        if len == 0 {
            return Err(VecError::Empty);
        }
        if let Some(d) = dim
            && len != d
        {
            return Err(VecError::Length(len));
        }
        let end = start.checked_add(len).ok_or(VecError::Bounds)?;
        if let Some(nulls) = self.value_nulls {
            if end > nulls.len() {
                return Err(VecError::Bounds);
            }
            if let Some(k) = (start..end).find(|&j| nulls.is_null(j)) {
                return Err(VecError::NullValue(k - start));
            }
        }
        match self.values {
            Floats::F32(v) => v.get(start..end).ok_or(VecError::Bounds),
            Floats::F64(v) => {
                let v = v.get(start..end).ok_or(VecError::Bounds)?;
                buf.clear();
                buf.extend(v.iter().map(|&x| x as f32));
                Ok(buf)
            }
            Floats::F16(v) => {
                let v = v.get(start..end).ok_or(VecError::Bounds)?;
                buf.clear();
                buf.extend(v.iter().map(|x| x.to_f32()));
                Ok(buf)
            }
        }
    }
}

fn span<O: ArrowNativeType>(start: Option<O>, end: Option<O>) -> Result<(usize, usize), VecError> {
    let (Some(s), Some(e)) = (
        start.and_then(|s| s.to_usize()),
        end.and_then(|e| e.to_usize()),
    ) else {
        return Err(VecError::Bounds);
    };
    Ok((s, e.checked_sub(s).ok_or(VecError::Bounds)?))
}
