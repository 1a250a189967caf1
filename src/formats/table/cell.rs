//! Cells as text: the value of one row of a token or metadata column, and which column types
//! have a text form.

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{
    ArrowDictionaryKeyType, Date32Type, Date64Type, Decimal32Type, Decimal64Type, Decimal128Type,
    Decimal256Type, Float16Type, Float32Type, Float64Type, Int8Type, Int16Type, Int32Type,
    Int64Type, Time32MillisecondType, Time32SecondType, Time64MicrosecondType,
    Time64NanosecondType, TimestampMicrosecondType, TimestampMillisecondType,
    TimestampNanosecondType, TimestampSecondType, UInt8Type, UInt16Type, UInt32Type, UInt64Type,
};
use arrow_buffer::ArrowNativeType;
use arrow_schema::{DataType, TimeUnit};

pub(super) fn is_string(dt: &DataType) -> bool {
    matches!(
        dt,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
    )
}

fn is_integer(dt: &DataType) -> bool {
    use DataType as D;
    matches!(
        dt,
        D::Int8 | D::Int16 | D::Int32 | D::Int64 | D::UInt8 | D::UInt16 | D::UInt32 | D::UInt64
    )
}

/// Types whose values [`cell`] turns into text (the metadata columns).
pub(super) fn is_simple(dt: &DataType) -> bool {
    use DataType as D;
    match dt {
        D::Null
        | D::Boolean
        | D::Float16
        | D::Float32
        | D::Float64
        | D::Date32
        | D::Date64
        | D::Timestamp(..)
        | D::Time32(TimeUnit::Second | TimeUnit::Millisecond)
        | D::Time64(TimeUnit::Microsecond | TimeUnit::Nanosecond)
        | D::Decimal32(..)
        | D::Decimal64(..)
        | D::Decimal128(..)
        | D::Decimal256(..) => true,
        D::Dictionary(k, v) => is_integer(k) && is_simple(v),
        d => is_string(d) || is_integer(d),
    }
}

/// Types accepted for an explicitly named token column: strings, integers, binary (decoded lossily).
pub(super) fn token_type_ok(dt: &DataType) -> bool {
    use DataType as D;
    match dt {
        D::Binary | D::LargeBinary | D::BinaryView => true,
        D::Dictionary(k, v) => is_integer(k) && (is_string(v) || is_integer(v)),
        d => is_string(d) || is_integer(d),
    }
}

pub(super) enum Cell<'a> {
    Str(&'a str),
    Bytes(&'a [u8]),
    Owned(String),
}

impl Cell<'_> {
    pub(super) fn into_string(self) -> String {
        match self {
            Cell::Str(s) => s.to_string(),
            Cell::Bytes(b) => String::from_utf8_lossy(b).into_owned(),
            Cell::Owned(s) => s,
        }
    }
}

/// Display text of cell `i` of a simple-typed column (None for nulls and nested types).
pub(crate) fn cell_string(a: &dyn Array, i: usize) -> Option<String> {
    cell(a, i).map(Cell::into_string)
}

/// Whether a column type has a plain text form (strings, numbers, dates, booleans...).
pub(crate) fn simple_type(dt: &DataType) -> bool {
    is_simple(dt)
}

/// Whether a column holds strings.
pub(crate) fn string_type(dt: &DataType) -> bool {
    is_string(dt)
}

/// The value at row `i` as text; `None` for a null (or a type [`is_simple`] / [`token_type_ok`] refuse).
pub(super) fn cell(a: &dyn Array, i: usize) -> Option<Cell<'_>> {
    use DataType as D;
    if i >= a.len() || a.is_null(i) {
        return None;
    }
    macro_rules! text {
        ($t:ty) => {
            Cell::Owned(a.as_primitive_opt::<$t>()?.value(i).to_string())
        };
    }
    macro_rules! with {
        ($t:ty, $f:ident) => {
            Cell::Owned(a.as_primitive_opt::<$t>()?.$f(i)?.to_string())
        };
    }
    Some(match a.data_type() {
        D::Utf8 => Cell::Str(a.as_string_opt::<i32>()?.value(i)),
        D::LargeUtf8 => Cell::Str(a.as_string_opt::<i64>()?.value(i)),
        D::Utf8View => Cell::Str(a.as_string_view_opt()?.value(i)),
        D::Binary => Cell::Bytes(a.as_binary_opt::<i32>()?.value(i)),
        D::LargeBinary => Cell::Bytes(a.as_binary_opt::<i64>()?.value(i)),
        D::BinaryView => Cell::Bytes(a.as_binary_view_opt()?.value(i)),
        D::Boolean => Cell::Str(if a.as_boolean_opt()?.value(i) {
            "true"
        } else {
            "false"
        }),
        D::Int8 => text!(Int8Type),
        D::Int16 => text!(Int16Type),
        D::Int32 => text!(Int32Type),
        D::Int64 => text!(Int64Type),
        D::UInt8 => text!(UInt8Type),
        D::UInt16 => text!(UInt16Type),
        D::UInt32 => text!(UInt32Type),
        D::UInt64 => text!(UInt64Type),
        D::Float16 => text!(Float16Type),
        D::Float32 => text!(Float32Type),
        D::Float64 => text!(Float64Type),
        D::Date32 => with!(Date32Type, value_as_date),
        D::Date64 => with!(Date64Type, value_as_date),
        D::Timestamp(TimeUnit::Second, _) => with!(TimestampSecondType, value_as_datetime),
        D::Timestamp(TimeUnit::Millisecond, _) => {
            with!(TimestampMillisecondType, value_as_datetime)
        }
        D::Timestamp(TimeUnit::Microsecond, _) => {
            with!(TimestampMicrosecondType, value_as_datetime)
        }
        D::Timestamp(TimeUnit::Nanosecond, _) => with!(TimestampNanosecondType, value_as_datetime),
        D::Time32(TimeUnit::Second) => with!(Time32SecondType, value_as_time),
        D::Time32(TimeUnit::Millisecond) => with!(Time32MillisecondType, value_as_time),
        D::Time64(TimeUnit::Microsecond) => with!(Time64MicrosecondType, value_as_time),
        D::Time64(TimeUnit::Nanosecond) => with!(Time64NanosecondType, value_as_time),
        D::Decimal32(..) => Cell::Owned(a.as_primitive_opt::<Decimal32Type>()?.value_as_string(i)),
        D::Decimal64(..) => Cell::Owned(a.as_primitive_opt::<Decimal64Type>()?.value_as_string(i)),
        D::Decimal128(..) => {
            Cell::Owned(a.as_primitive_opt::<Decimal128Type>()?.value_as_string(i))
        }
        D::Decimal256(..) => {
            Cell::Owned(a.as_primitive_opt::<Decimal256Type>()?.value_as_string(i))
        }
        D::Dictionary(k, _) => match k.as_ref() {
            D::Int8 => dict_cell::<Int8Type>(a, i)?,
            D::Int16 => dict_cell::<Int16Type>(a, i)?,
            D::Int32 => dict_cell::<Int32Type>(a, i)?,
            D::Int64 => dict_cell::<Int64Type>(a, i)?,
            D::UInt8 => dict_cell::<UInt8Type>(a, i)?,
            D::UInt16 => dict_cell::<UInt16Type>(a, i)?,
            D::UInt32 => dict_cell::<UInt32Type>(a, i)?,
            D::UInt64 => dict_cell::<UInt64Type>(a, i)?,
            _ => return None,
        },
        _ => return None,
    })
}

fn dict_cell<K: ArrowDictionaryKeyType>(a: &dyn Array, i: usize) -> Option<Cell<'_>> {
    let d = a.as_dictionary_opt::<K>()?;
    let key = d.keys().value(i).to_usize()?;
    cell(d.values().as_ref(), key)
}
