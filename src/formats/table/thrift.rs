//! A check of a Parquet file's Thrift (compact protocol) structures, the footer and every page
//! header, before the parquet crate decodes them. The decoder skips fields it does not know; a
//! list, set or map of booleans is skipped element by element without consuming a byte per
//! element, so a few bytes declaring lists of 2^31 booleans keep it busy for seconds each (found
//! by fuzzing: a 6.8 kB file took 0.9 s with its lists in a page header, and a footer or header
//! can hold thousands of such lists: FUZZING.md, finding 6). Here every collection's declared
//! size is checked against the bytes left (in the compact protocol each element takes at least
//! one byte, booleans included), nesting is bounded, and anything malformed is reported with its
//! byte offset. A file that passes is left to the decoder.

use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::formats::error::{FormatError, Location};

/// Deeper nesting than any Parquet footer has (the schema is a flat list of elements).
const MAX_DEPTH: u32 = 64;

struct Walk<'a> {
    buf: &'a [u8],
    pos: usize,
}

/// Why a structure does not walk, and where (offset within the buffer walked). `short`: it
/// ran out of bytes (a longer window may walk).
struct Bad(usize, String, bool);

impl Bad {
    fn at(at: usize, what: String) -> Bad {
        Bad(at, what, false)
    }

    fn short(at: usize, what: String) -> Bad {
        Bad(at, what, true)
    }
}

impl Walk<'_> {
    fn byte(&mut self) -> Result<u8, Bad> {
        let b = *self
            .buf
            .get(self.pos)
            .ok_or_else(|| Bad::short(self.pos, "it ends inside a value".into()))?;
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
        Err(Bad::at(
            start,
            "a variable-length integer longer than 10 bytes".into(),
        ))
    }

    fn skip(&mut self, n: u64) -> Result<(), Bad> {
        let left = (self.buf.len() - self.pos) as u64;
        if n > left {
            return Err(Bad::short(
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
            return Err(Bad::short(
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
            return Err(Bad::at(
                self.pos,
                format!("nesting deeper than {MAX_DEPTH}"),
            ));
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
            other => Err(Bad::at(
                self.pos.saturating_sub(1),
                format!("an unknown Thrift type {other}"),
            )),
        }
    }

    fn structure(&mut self, depth: u32) -> Result<(), Bad> {
        if depth > MAX_DEPTH {
            return Err(Bad::at(
                self.pos,
                format!("nesting deeper than {MAX_DEPTH}"),
            ));
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

    /// A page header (a struct), returning its field 3, `compressed_page_size`, when present.
    fn page_header(&mut self) -> Result<Option<i64>, Bad> {
        let mut id: i64 = 0;
        let mut size = None;
        loop {
            let h = self.byte()?;
            if h == 0 {
                return Ok(size);
            }
            id = match h >> 4 {
                0 => zigzag(self.varint()?),
                delta => id + i64::from(delta),
            };
            let t = h & 0x0f;
            if id == 3 && t == 5 {
                size = Some(zigzag(self.varint()?));
            } else {
                self.value(t, 1, false)?;
            }
        }
    }
}

fn zigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
}

/// The first bytes read for a page header; the window grows sixteenfold while a header does not
/// fit, up to [`MAX_PAGE_HEADER`]. Headers are tens of bytes, a few hundred with statistics.
const FIRST_WINDOW: u64 = 1024;

/// No page header is longer (statistics are truncated by writers to far less); a longer one is
/// refused rather than read.
const MAX_PAGE_HEADER: u64 = 16 << 20;

/// Checks the Thrift structures of the Parquet file at `path` before the parquet crate decodes
/// them: the file metadata (the footer before the trailing length and `PAR1`), then the header
/// of every page of every column chunk, followed from the chunk's first page to its end by each
/// header's `compressed_page_size`. Files too short to have a footer, or without the magic, and
/// metadata the decoder itself refuses, are left to the decoder's own message.
pub fn check_parquet_structure(path: &Path) -> Result<(), FormatError> {
    walk_file(path).map(|_| ())
}

/// [`check_parquet_structure`], returning how many page headers it walked.
fn walk_file(path: &Path) -> Result<usize, FormatError> {
    let mut f = std::fs::File::open(path).map_err(|e| FormatError::io(path, e))?;
    let len = f.metadata().map_err(|e| FormatError::io(path, e))?.len();
    if len < 12 {
        return Ok(0);
    }
    let mut trailer = [0u8; 8];
    f.seek(SeekFrom::Start(len - 8))
        .and_then(|_| f.read_exact(&mut trailer))
        .map_err(|e| FormatError::io(path, e))?;
    if &trailer[4..] != b"PAR1" {
        return Ok(0);
    }
    let footer_len = u64::from(u32::from_le_bytes([
        trailer[0], trailer[1], trailer[2], trailer[3],
    ]));
    if footer_len > len - 8 {
        // The decoder says this plainly.
        return Ok(0);
    }
    let start = len - 8 - footer_len;
    let footer = read_at(&mut f, start, footer_len).map_err(|e| FormatError::io(path, e))?;
    let mut w = Walk {
        buf: &footer,
        pos: 0,
    };
    w.structure(0).map_err(|Bad(at, what, _)| {
        FormatError::invalid(
            path,
            Location::Byte(start + at as u64),
            format!("the Parquet footer is damaged: {what}"),
        )
    })?;
    let Ok(meta) = parquet::file::metadata::ParquetMetaDataReader::decode_metadata(&footer) else {
        return Ok(0);
    };
    let mut seen = std::collections::HashSet::new();
    let mut pages = 0;
    for rg in meta.row_groups() {
        for col in rg.columns() {
            let first = col
                .dictionary_page_offset()
                .unwrap_or_else(|| col.data_page_offset());
            let (Ok(first), Ok(size)) =
                (u64::try_from(first), u64::try_from(col.compressed_size()))
            else {
                continue;
            };
            // A first page inside the leading magic (some writers set an absent dictionary
            // page's offset to 0) is left to the decoder.
            if first < 4 {
                continue;
            }
            let end = first.saturating_add(size).min(start);
            let mut pos = first;
            while pos < end && seen.insert(pos) {
                let Some(next) = page_header_at(&mut f, path, pos, start)? else {
                    break;
                };
                pages += 1;
                pos = next;
            }
        }
    }
    Ok(pages)
}

/// Walks the page header at `pos` (the data ends at `data_end`), returning where the next page
/// starts, or `None` where the header gives no usable size (the decoder reports that).
fn page_header_at(
    f: &mut std::fs::File,
    path: &Path,
    pos: u64,
    data_end: u64,
) -> Result<Option<u64>, FormatError> {
    let limit = (data_end - pos).min(MAX_PAGE_HEADER);
    let mut window = FIRST_WINDOW.min(limit);
    loop {
        let buf = read_at(f, pos, window).map_err(|e| FormatError::io(path, e))?;
        let mut w = Walk { buf: &buf, pos: 0 };
        match w.page_header() {
            Ok(size) => {
                let next = size
                    .and_then(|s| u64::try_from(s).ok())
                    .map(|s| pos + w.pos as u64 + s);
                return Ok(next);
            }
            Err(Bad(_, _, true)) if window < limit => window = (window * 16).min(limit),
            Err(Bad(at, what, short)) => {
                let what = if short && limit == MAX_PAGE_HEADER {
                    format!(
                        "{what} (page headers over {} MiB are refused)",
                        MAX_PAGE_HEADER >> 20
                    )
                } else {
                    what
                };
                return Err(FormatError::invalid(
                    path,
                    Location::Byte(pos + at as u64),
                    format!("the Parquet page header at byte {pos} is damaged: {what}"),
                ));
            }
        }
    }
}

fn read_at(f: &mut std::fs::File, at: u64, n: u64) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::new();
    f.seek(SeekFrom::Start(at))?;
    f.take(n).read_to_end(&mut buf)?;
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk(bytes: &[u8]) -> Result<(), String> {
        let mut w = Walk { buf: bytes, pos: 0 };
        w.structure(0).map_err(|Bad(at, m, _)| format!("{at}: {m}"))
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

    /// Pages of several row groups, dictionary pages and page statistics: every header is
    /// walked, as many as the parquet crate's own page reader finds.
    #[test]
    fn every_page_header_of_a_valid_file_is_walked() {
        use std::sync::Arc;

        use arrow_array::{ArrayRef, Float32Array, RecordBatch, StringArray};
        use parquet::arrow::ArrowWriter;
        use parquet::file::properties::{EnabledStatistics, WriterProperties};
        use parquet::file::reader::{FileReader, SerializedFileReader};

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("pages.parquet");
        let n = 5000;
        let words: Vec<String> = (0..n).map(|i| format!("w{}", i % 97)).collect();
        let xs: Vec<f32> = (0..n).map(|i| i as f32 * 0.5).collect();
        let batch = RecordBatch::try_from_iter([
            ("token", Arc::new(StringArray::from(words)) as ArrayRef),
            ("x", Arc::new(Float32Array::from(xs)) as ArrayRef),
        ])
        .unwrap();
        let props = WriterProperties::builder()
            .set_max_row_group_row_count(Some(2000))
            .set_data_page_row_count_limit(300)
            .set_write_batch_size(100)
            .set_statistics_enabled(EnabledStatistics::Page)
            .build();
        let mut w = ArrowWriter::try_new(
            std::fs::File::create(&path).unwrap(),
            batch.schema(),
            Some(props),
        )
        .unwrap();
        w.write(&batch).unwrap();
        w.close().unwrap();

        let reader = SerializedFileReader::new(std::fs::File::open(&path).unwrap()).unwrap();
        let mut expected = 0;
        for g in 0..reader.num_row_groups() {
            let rg = reader.get_row_group(g).unwrap();
            for c in 0..rg.num_columns() {
                expected += rg.get_column_page_reader(c).unwrap().count();
            }
        }
        assert!(expected > 20, "{expected} pages");
        assert_eq!(walk_file(&path).unwrap(), expected);
    }

    #[test]
    fn a_page_header_gives_its_compressed_size() {
        // type (i32 0), uncompressed 10, compressed 7 (zigzag 14), a boolean list, stop.
        let bytes = [0x15, 0x00, 0x15, 0x14, 0x15, 0x0E, 0x19, 0x21, 1, 2, 0];
        let mut w = Walk {
            buf: &bytes,
            pos: 0,
        };
        assert_eq!(w.page_header().ok(), Some(Some(7)));
        assert_eq!(w.pos, bytes.len());
        // A long-form field header (id as a zigzag varint): field 3 again, size -1.
        let bytes = [0x05, 0x06, 0x01, 0];
        let mut w = Walk {
            buf: &bytes,
            pos: 0,
        };
        assert_eq!(w.page_header().ok(), Some(Some(-1)));
    }
}
