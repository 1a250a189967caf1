//! A check of a Parquet footer's Thrift (compact protocol) structure before the parquet crate
//! decodes it. The decoder skips fields it does not know; a list, set or map of booleans is
//! skipped element by element without consuming a byte per element, so a footer of a few
//! bytes declaring lists of 2^31 booleans keeps it busy for seconds each (found by fuzzing: a
//! 6.8 kB file took 0.9 s, with its lists in a page header; a footer can hold thousands of
//! such lists, and page headers are not walked yet: FUZZING.md, finding 6). Here every
//! collection's declared size is checked against the bytes left (in the compact protocol each
//! element takes at least one byte, booleans included), nesting is bounded, and anything
//! malformed is reported with its byte offset. A footer that passes is left to the decoder.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::formats::error::{FormatError, Location};

/// Deeper nesting than any Parquet footer has (the schema is a flat list of elements).
const MAX_DEPTH: u32 = 64;

struct Walk<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Why a footer does not walk, and where (offset within the footer).
struct Bad(usize, String);

impl Walk<'_> {
    fn byte(&mut self) -> Result<u8, Bad> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| Bad(self.pos, "the footer ends inside a value".into()))?;
        self.pos += 1;
        Ok(b)
    }

    fn varint(&mut self) -> Result<u64, Bad> {
        let start = self.pos;
        let mut v = 0u64;
        for shift in (0..70).step_by(7) {
            let b = self.byte()?;
            if shift < 64 {
                v |= u64::from(b & 0x7f) << shift;
            }
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(Bad(
            start,
            "a variable-length integer longer than 10 bytes".into(),
        ))
    }

    fn skip(&mut self, n: u64) -> Result<(), Bad> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(Bad(
                self.pos,
                format!("a value of {n} bytes with {left} bytes left"),
            ));
        }
        self.pos += n as usize;
        Ok(())
    }

    /// A collection of `n` elements of at least `each` bytes must fit in what is left.
    fn fits(&self, at: usize, n: u64, each: u64) -> Result<(), Bad> {
        let left = (self.buf.len() - self.pos) as u64;
        if n.saturating_mul(each) > left {
            return Err(Bad(
                at,
                format!("a collection claims {n} elements with {left} bytes left"),
            ));
        }
        Ok(())
    }

    /// One value of compact type `t` (the field-header codes; in collections 1 and 2 both
    /// mean a boolean of one byte).
    fn value(&mut self, t: u8, depth: u32, in_collection: bool) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad(self.pos, format!("nesting deeper than {MAX_DEPTH}")));
        }
        match t {
            1 | 2 => {
                if in_collection {
                    self.byte()?;
                }
                Ok(())
            }
            3 => self.byte().map(|_| ()),
            4..=6 => self.varint().map(|_| ()),
            7 => self.skip(8),
            8 => {
                let n = self.varint()?;
                self.skip(n)
            }
            9 | 10 => {
                let at = self.pos;
                let h = self.byte()?;
                let n = match h >> 4 {
                    15 => self.varint()?,
                    n => u64::from(n),
                };
                let et = h & 0x0f;
                if n == 0 {
                    return Ok(());
                }
                self.fits(at, n, 1)?;
                for _ in 0..n {
                    self.value(et, depth + 1, true)?;
                }
                Ok(())
            }
            11 => {
                let at = self.pos;
                let n = self.varint()?;
                if n == 0 {
                    return Ok(());
                }
                let kv = self.byte()?;
                self.fits(at, n, 2)?;
                for _ in 0..n {
                    self.value(kv >> 4, depth + 1, true)?;
                    self.value(kv & 0x0f, depth + 1, true)?;
                }
                Ok(())
            }
            12 => self.structure(depth + 1),
            13 => self.skip(16),
            other => Err(Bad(
                self.pos.saturating_sub(1),
                format!("an unknown Thrift type {other}"),
            )),
        }
    }

    fn structure(&mut self, depth: u32) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad(self.pos, format!("nesting deeper than {MAX_DEPTH}")));
        }
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(());
            }
            if h >> 4 == 0 {
                // The field id follows as a zigzag varint.
                self.varint()?;
            }
            self.value(h & 0x0f, depth, false)?;
        }
    }
}

/// Checks the Thrift structure of the file metadata of the Parquet file at `path` (the footer
/// before the trailing length and `PAR1`). Files too short to have one, or without the magic,
/// are left to the decoder's own message.
pub fn check_parquet_footer(path: &Path) -> Result<(), FormatError> {
    let mut f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = f.metadata().map_err(|e| FormatError::io(path, e))?.len();
    if len < 12 {
        return Ok(());
    }
    let mut trailer = [0u8; 8];
    f.seek(SeekFrom::Start(len - 8))
        .and_then(|_| f.read_exact(&mut trailer))
        .map_err(|e| FormatError::io(path, e))?;
    if &trailer[4..] != b"PAR1" {
        return Ok(());
    }
    let footer_len = u64::from(u32::from_le_bytes([
        trailer[0], trailer[1], trailer[2], trailer[3],
    ]));
    if footer_len > len - 8 {
        // The decoder says this plainly.
        return Ok(());
    }
    let start = len - 8 - footer_len;
    let mut footer = Vec::new();
    f.seek(SeekFrom::Start(start))
        .map_err(|e| FormatError::io(path, e))?;
    f.take(footer_len)
        .read_to_end(&mut footer)
        .map_err(|e| FormatError::io(path, e))?;
    let mut w = Walk {
        buf: &footer,
        pos: 0,
    };
    w.structure(0).map_err(|Bad(at, what)| {
        FormatError::invalid(
            path,
            Location::Byte(start + at as u64),
            format!("the Parquet footer is damaged: {what}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8]) -> Result<(), String> {
        let mut w = Walk { buf: bytes, pos: 0 };
        w.structure(0).map_err(|Bad(at, m)| format!("{at}: {m}"))
    }

    #[test]
    fn lists_of_booleans_must_fit_in_the_bytes_left() {
        // Field 1, a list (type 9): header 0xF1 = size in a varint, element type 1 (boolean).
        let mut huge = vec![0x19, 0xF1];
        huge.extend([0xFF, 0xFF, 0xFF, 0xFF, 0x07]); // 2^31 - 1 elements
        huge.push(0);
        let e = walk(&huge).unwrap_err();
        assert!(e.contains("claims 2147483647 elements"), "{e}");
        // Three booleans in three bytes, then the struct's end.
        assert_eq!(walk(&[0x19, 0x31, 1, 2, 1, 0]), Ok(()));
        // A map of boolean to boolean claiming more than fits.
        let e = walk(&[0x1B, 0x90, 0x01, 0x11, 0]).unwrap_err();
        assert!(e.contains("claims 144 elements"), "{e}");
    }

    #[test]
    fn nesting_values_and_ends_are_checked() {
        // i32 field, binary field, double field, nested struct, then stop.
        assert_eq!(
            walk(&[
                0x15, 0x04, 0x18, 0x02, b'h', b'i', 0x17, 0, 0, 0, 0, 0, 0, 0, 0, 0x1C, 0x15, 0x02,
                0, 0
            ]),
            Ok(())
        );
        // A string longer than the footer.
        assert!(
            walk(&[0x18, 0x7F, b'x', 0])
                .unwrap_err()
                .contains("127 bytes")
        );
        // A footer that ends inside a struct.
        assert!(walk(&[0x15]).unwrap_err().contains("ends inside"));
        // Structs nested beyond the bound.
        let mut deep = vec![0x1C; 100];
        deep.extend(vec![0; 100]);
        assert!(walk(&deep).unwrap_err().contains("nesting deeper"));
        // An empty list written as a single 0 byte (some writers do).
        assert_eq!(walk(&[0x19, 0x00, 0]), Ok(()));
    }
}
