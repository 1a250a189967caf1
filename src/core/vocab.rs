//! Token list with a hash index. Tokens live in one string blob with offsets, so a 2M-token
//! vocabulary costs ~ the bytes of its tokens plus 8 bytes per token, not one heap string each.

use std::hash::BuildHasher;

use hashbrown::{DefaultHashBuilder, HashTable};

use super::CoreError;

#[derive(Clone, Default)]
pub struct Vocab {
    blob: String,
    /// `ends[i]` is the end offset of token i in `blob`; token i starts at `ends[i-1]` (or 0).
    ends: Vec<u32>,
    index: HashTable<u32>,
    hasher: DefaultHashBuilder,
    counts: Option<Vec<u64>>,
}

impl std::fmt::Debug for Vocab {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vocab")
            .field("len", &self.len())
            .field("first", &self.iter().take(5).collect::<Vec<_>>())
            .finish()
    }
}

impl PartialEq for Vocab {
    fn eq(&self, other: &Self) -> bool {
        self.ends == other.ends && self.blob == other.blob && self.counts == other.counts
    }
}

impl Vocab {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn with_capacity(tokens: usize, bytes: usize) -> Self {
        Vocab {
            blob: String::with_capacity(bytes),
            ends: Vec::with_capacity(tokens),
            index: HashTable::with_capacity(tokens),
            ..Self::default()
        }
    }

    /// Builds a vocabulary from distinct tokens. Returns the first duplicate's position on failure.
    pub fn from_unique<I, S>(tokens: I) -> Result<Self, (usize, String)>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut v = Vocab::new();
        for (i, t) in tokens.into_iter().enumerate() {
            let t = t.as_ref();
            match v.push(t) {
                Ok(Ok(_)) => {}
                Ok(Err(_)) => return Err((i, t.to_string())),
                Err(_) => return Err((i, t.to_string())),
            }
        }
        Ok(v)
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Total bytes of all tokens.
    pub fn byte_len(&self) -> usize {
        self.blob.len()
    }

    /// Adds a token. `Ok(Ok(i))`: added at index i. `Ok(Err(j))`: already present at j, not added.
    pub fn push(&mut self, token: &str) -> Result<Result<usize, usize>, CoreError> {
        let hash = self.hasher.hash_one(token);
        let (blob, ends) = (&self.blob, &self.ends);
        if let Some(&j) = self
            .index
            .find(hash, |&j| token_at(blob, ends, j as usize) == token)
        {
            return Ok(Err(j as usize));
        }
        let new_end = self.blob.len() + token.len();
        let new_end = u32::try_from(new_end).map_err(|_| CoreError::VocabTooLarge)?;
        let i = self.ends.len();
        let i32 = u32::try_from(i).map_err(|_| CoreError::VocabTooLarge)?;
        self.blob.push_str(token);
        self.ends.push(new_end);
        let (blob, ends, hasher) = (&self.blob, &self.ends, &self.hasher);
        self.index.insert_unique(hash, i32, |&j| {
            hasher.hash_one(token_at(blob, ends, j as usize))
        });
        Ok(Ok(i))
    }

    /// Token at row `i`. Panics if `i >= len()` (an indexing bug, not a data error).
    pub fn token(&self, i: usize) -> &str {
        token_at(&self.blob, &self.ends, i)
    }

    pub fn get(&self, token: &str) -> Option<usize> {
        let hash = self.hasher.hash_one(token);
        self.index
            .find(hash, |&j| {
                token_at(&self.blob, &self.ends, j as usize) == token
            })
            .map(|&j| j as usize)
    }

    pub fn contains(&self, token: &str) -> bool {
        self.get(token).is_some()
    }

    pub fn iter(&self) -> impl ExactSizeIterator<Item = &str> + '_ {
        (0..self.len()).map(move |i| self.token(i))
    }

    pub fn counts(&self) -> Option<&[u64]> {
        self.counts.as_deref()
    }

    pub fn set_counts(&mut self, counts: Option<Vec<u64>>) -> Result<(), CoreError> {
        if let Some(c) = &counts
            && c.len() != self.len()
        {
            return Err(CoreError::PerTokenLen {
                what: "counts",
                len: c.len(),
                tokens: self.len(),
            });
        }
        self.counts = counts;
        Ok(())
    }

    /// Keeps the tokens whose `keep` flag is set, in order (used to drop rows).
    pub fn retain_rows(&self, keep: &[bool]) -> Vocab {
        let mut out = Vocab::with_capacity(self.len(), self.blob.len());
        let mut counts = self.counts.as_ref().map(|_| Vec::new());
        for (i, &k) in keep.iter().enumerate().take(self.len()) {
            if k {
                // Tokens of a valid vocabulary are unique and short: push cannot fail here.
                let _ = out.push(self.token(i));
                if let (Some(c), Some(src)) = (counts.as_mut(), self.counts.as_ref()) {
                    c.push(src[i]);
                }
            }
        }
        out.counts = counts;
        out
    }

    /// Raw parts for serialisation: the token blob and end offsets.
    pub fn raw_parts(&self) -> (&str, &[u32]) {
        (&self.blob, &self.ends)
    }

    /// Rebuilds a vocabulary from raw parts (as written by [`Vocab::raw_parts`]).
    /// Returns the index of the first token that is out of bounds, not on a char boundary, or a duplicate.
    pub fn from_raw_parts(blob: String, ends: Vec<u32>) -> Result<Vocab, usize> {
        let mut prev = 0usize;
        for (i, &e) in ends.iter().enumerate() {
            let e = e as usize;
            if e < prev || e > blob.len() || !blob.is_char_boundary(e) {
                return Err(i);
            }
            prev = e;
        }
        let mut index = HashTable::with_capacity(ends.len());
        let hasher = DefaultHashBuilder::default();
        for i in 0..ends.len() {
            let t = token_at(&blob, &ends, i);
            let h = hasher.hash_one(t);
            if index
                .find(h, |&j: &u32| token_at(&blob, &ends, j as usize) == t)
                .is_some()
            {
                return Err(i);
            }
            index.insert_unique(h, i as u32, |&j| {
                hasher.hash_one(token_at(&blob, &ends, j as usize))
            });
        }
        Ok(Vocab {
            blob,
            ends,
            index,
            hasher,
            counts: None,
        })
    }
}

fn token_at<'a>(blob: &'a str, ends: &[u32], i: usize) -> &'a str {
    let start = if i == 0 { 0 } else { ends[i - 1] as usize };
    &blob[start..ends[i] as usize]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_get_and_duplicates() {
        let mut v = Vocab::new();
        assert_eq!(v.push("the").unwrap(), Ok(0));
        assert_eq!(v.push("").unwrap(), Ok(1));
        assert_eq!(v.push("naïve").unwrap(), Ok(2));
        assert_eq!(v.push("the").unwrap(), Err(0));
        assert_eq!(v.len(), 3);
        assert_eq!(v.get("naïve"), Some(2));
        assert_eq!(v.get(""), Some(1));
        assert_eq!(v.get("nope"), None);
        assert_eq!(v.token(2), "naïve");
        assert_eq!(v.iter().collect::<Vec<_>>(), vec!["the", "", "naïve"]);
    }

    #[test]
    fn many_tokens_survive_rehash() {
        let mut v = Vocab::new();
        for i in 0..20_000 {
            assert_eq!(v.push(&format!("w{i}")).unwrap(), Ok(i));
        }
        for i in (0..20_000).step_by(997) {
            assert_eq!(v.get(&format!("w{i}")), Some(i));
        }
    }

    #[test]
    fn raw_parts_round_trip_and_validation() {
        let v = Vocab::from_unique(["a", "bb", "ccc"]).unwrap();
        let (blob, ends) = v.raw_parts();
        let w = Vocab::from_raw_parts(blob.to_string(), ends.to_vec()).unwrap();
        assert_eq!(v, w);
        assert_eq!(w.get("bb"), Some(1));
        assert_eq!(
            Vocab::from_raw_parts("abab".into(), vec![2, 4]).unwrap_err(),
            1
        );
        assert_eq!(Vocab::from_raw_parts("ab".into(), vec![3]).unwrap_err(), 0);
        assert_eq!(
            Vocab::from_raw_parts("é".into(), vec![1, 2]).unwrap_err(),
            0
        );
    }

    #[test]
    fn retain_rows_keeps_counts() {
        let mut v = Vocab::from_unique(["a", "b", "c"]).unwrap();
        v.set_counts(Some(vec![5, 6, 7])).unwrap();
        let w = v.retain_rows(&[true, false, true]);
        assert_eq!(w.iter().collect::<Vec<_>>(), vec!["a", "c"]);
        assert_eq!(w.counts(), Some(&[5u64, 7][..]));
        assert!(v.set_counts(Some(vec![1])).is_err());
    }
}
