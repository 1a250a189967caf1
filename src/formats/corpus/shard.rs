//! A deterministic split of a corpus over N workers: `--shard I/N` keeps the records whose
//! 0-based record number r has r mod N = I. Every record belongs to exactly one shard, the split
//! depends only on the file (not on timing, threads or the machine), and rows keep their global
//! record numbers (ids `d<r>`), so the outputs of all shards together are the whole corpus.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

/// Shard `index` of `count` (0-based: `0/4` .. `3/4`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Shard {
    pub index: u64,
    pub count: u64,
}

impl Shard {
    /// Checks `index < count` and `count >= 1`.
    pub fn new(index: u64, count: u64) -> Result<Shard, String> {
        if count == 0 {
            return Err(format!(
                "shard {index}/{count}: the number of shards must be at least 1"
            ));
        }
        if index >= count {
            return Err(format!(
                "shard {index}/{count}: shards are numbered from 0, so with {count} shard{} the first number must be 0..={}",
                if count == 1 { "" } else { "s" },
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// Whether record `r` belongs to this shard.
    pub fn owns(self, record: u64) -> bool {
        record % self.count == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl FromStr for Shard {
    type Err = String;

    /// `I/N` with 0 <= I < N, e.g. `0/4`.
    fn from_str(s: &str) -> Result<Shard, String> {
        let (i, n) = s
            .split_once('/')
            .ok_or_else(|| format!("{s:?}: expected I/N, e.g. 0/4 (shard 0 of 4)"))?;
        let num = |t: &str, what: &str| {
            t.trim().parse::<u64>().map_err(|_| {
                format!("{s:?}: the {what} {t:?} is not a whole number (expected I/N, e.g. 0/4)")
            })
        };
        Shard::new(num(i, "shard number")?, num(n, "number of shards")?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_parse_and_refuse_bad_specs() {
        assert_eq!("2/4".parse::<Shard>(), Ok(Shard { index: 2, count: 4 }));
        assert_eq!(
            "0/1".parse::<Shard>().map(|s| s.to_string()),
            Ok("0/1".into())
        );
        for bad in ["5/4", "4/4", "0/0", "1", "a/2", "-1/2", "1/2/3", ""] {
            let e = bad.parse::<Shard>().unwrap_err();
            assert!(e.contains("expected") || e.contains("must"), "{bad}: {e}");
        }
        assert!("5/4".parse::<Shard>().unwrap_err().contains("0..=3"));
        assert!("0/0".parse::<Shard>().unwrap_err().contains("at least 1"));
    }

    #[test]
    fn every_record_has_exactly_one_shard() {
        for n in 1..6u64 {
            for r in 0..50u64 {
                let owners = (0..n)
                    .filter(|&i| Shard::new(i, n).unwrap().owns(r))
                    .count();
                assert_eq!(owners, 1);
            }
        }
    }
}
