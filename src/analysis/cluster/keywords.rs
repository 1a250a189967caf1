//! Cluster keywords by class-based TF-IDF (c-TF-IDF): BERTopic 0.17.4's
//! `ClassTfidfTransformer` with its default settings (no BM25 weighting, no square root of the
//! frequencies) over the counts scikit-learn's `CountVectorizer` makes of each cluster's
//! documents joined into one "class document".
//!
//! Written from the published formula and checked against the real classes
//! (`tests/fixtures/gen/keywords_reference.py`, fixtures in `tests/fixtures/cluster/keywords/`).
//!
//! # Words (as `CountVectorizer` with its defaults)
//! A document is lower-cased as a whole (Unicode full case mapping, with the final-sigma rule,
//! like Python's `str.lower`), then its words are the maximal runs of two or more word
//! characters, where a word character is a letter (`\p{L}`), a number (`\p{N}`) or `_`:
//! exactly Python's `(?u)\b\w\w+\b` (up to the Unicode versions of the tables: Python 3.11 has
//! 14.0). Combining marks are not word characters (as in Python), so a decomposed "e\u{301}"
//! ends a word. Stop words, if any, are removed next; with
//! `ngram_max == 2`, the bigrams are the pairs of consecutive remaining words, written
//! "first second".
//!
//! # Classes and scores
//! Every distinct label is a class, in ascending label order; a class's document is its
//! documents joined with a space in input order (so, as in BERTopic, a bigram can span the end
//! of one document and the start of the next one of the same cluster). With `min_df = m`, a
//! term is kept when it occurs in at least `m` classes (BERTopic fits the vectoriser on the
//! class documents, so `min_df` counts clusters, not documents). Then, for a term `t` and a
//! class `c`, with `n(t, c)` its count, `N(c)` the class's kept terms, `f(t)` the term's count
//! over all classes and `A` the integer part of the mean of `N(c)` over the classes:
//! `score = n(t, c) / N(c) * ln(1 + A / f(t))`, in f64 (reported as f32).
//!
//! # Noise
//! Labels below zero are noise (HDBSCAN's -1). With [`NoiseMode::Class`] (the default, and
//! BERTopic's behaviour) each negative label is a class like any other: its words count in
//! `A` and `f(t)` (words common in the noise score lower everywhere, they do not move from one
//! cluster to another) and it gets keywords of its own, flagged by
//! [`ClusterKeywords::is_noise`]. With [`NoiseMode::Exclude`] noise documents are dropped
//! before counting and get no entry.
//!
//! # Order and ties
//! Keywords are the terms with a score above zero, by score (descending), then by term
//! (ascending, by code point), so the result does not depend on hashing or thread count.
//!
//! # Differences from BERTopic, on purpose
//! - BERTopic's `_preprocess_text` with `language="english"` (its default when it builds no
//!   embedding model of its own) drops every character outside `[A-Za-z0-9 ]` before counting
//!   ("don't" -> "dont", "café" -> "caf"); this module keeps Unicode words, as BERTopic does
//!   with `language="multilingual"`.
//! - BERTopic replaces an empty class document by the word "emptydoc"; here such a cluster
//!   simply has no words and no keywords.
//! - Where BERTopic pads a topic with fewer positive scores than `top_n` with `("", 1e-5)`,
//!   the list here is shorter.
//! - A user stop-word list is lower-cased here (scikit-learn compares it as given and warns
//!   when it holds words its lower-casing can never produce).
//!
//! # Speed
//! Documents are lower-cased and split in parallel chunks, each with its own word table; a
//! chunk collects its classes' term ids and counts them by sorting. The word tables are then
//! merged in chunk order, each class's counts merged (classes in parallel), and every term's
//! total over the classes found by a k-way merge of the classes' sorted lists (key ranges in
//! parallel). One pass over the text, no string per occurrence. BENCHMARKS.md has 1M documents.
//!
//! The English stop-word list is scikit-learn's `ENGLISH_STOP_WORDS` (318 words, from
//! scikit-learn 1.9.1 `sklearn/feature_extraction/_stop_words.py`), used as data under
//! scikit-learn's BSD-3-Clause licence (Copyright (c) 2007-2024 The scikit-learn developers).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use hashbrown::{HashMap, HashSet};
use rayon::prelude::*;
use regex::Regex;

use crate::analysis::AnalysisError;
use crate::core::Vocab;

/// Keywords per cluster by default (BERTopic's `top_n_words`).
pub const DEFAULT_TOP_N: usize = 10;
/// Keywords in a cluster's short label.
pub const LABEL_WORDS: usize = 3;

/// Python's `(?u)\w\w+` between word boundaries: maximal runs of two or more letters, numbers
/// or underscores.
const TOKEN_PATTERN: &str = r"[\p{L}\p{N}_]{2,}";
/// No word: a document without kept words, or the second half of a single word's key.
const NONE: u32 = u32::MAX;
/// A stop word in a chunk's word table (word ids stay below it).
const STOP: u32 = u32::MAX - 1;

/// scikit-learn's `ENGLISH_STOP_WORDS` (BSD-3-Clause, see the module documentation), sorted.
#[rustfmt::skip]
pub const ENGLISH_STOP_WORDS: [&str; 318] = [
    "a", "about", "above", "across", "after", "afterwards", "again", "against", "all", "almost",
    "alone", "along", "already", "also", "although", "always", "am", "among", "amongst",
    "amoungst", "amount", "an", "and", "another", "any", "anyhow", "anyone", "anything", "anyway",
    "anywhere", "are", "around", "as", "at", "back", "be", "became", "because", "become",
    "becomes", "becoming", "been", "before", "beforehand", "behind", "being", "below", "beside",
    "besides", "between", "beyond", "bill", "both", "bottom", "but", "by", "call", "can",
    "cannot", "cant", "co", "con", "could", "couldnt", "cry", "de", "describe", "detail", "do",
    "done", "down", "due", "during", "each", "eg", "eight", "either", "eleven", "else",
    "elsewhere", "empty", "enough", "etc", "even", "ever", "every", "everyone", "everything",
    "everywhere", "except", "few", "fifteen", "fifty", "fill", "find", "fire", "first", "five",
    "for", "former", "formerly", "forty", "found", "four", "from", "front", "full", "further",
    "get", "give", "go", "had", "has", "hasnt", "have", "he", "hence", "her", "here", "hereafter",
    "hereby", "herein", "hereupon", "hers", "herself", "him", "himself", "his", "how", "however",
    "hundred", "i", "ie", "if", "in", "inc", "indeed", "interest", "into", "is", "it", "its",
    "itself", "keep", "last", "latter", "latterly", "least", "less", "ltd", "made", "many", "may",
    "me", "meanwhile", "might", "mill", "mine", "more", "moreover", "most", "mostly", "move",
    "much", "must", "my", "myself", "name", "namely", "neither", "never", "nevertheless", "next",
    "nine", "no", "nobody", "none", "noone", "nor", "not", "nothing", "now", "nowhere", "of",
    "off", "often", "on", "once", "one", "only", "onto", "or", "other", "others", "otherwise",
    "our", "ours", "ourselves", "out", "over", "own", "part", "per", "perhaps", "please", "put",
    "rather", "re", "same", "see", "seem", "seemed", "seeming", "seems", "serious", "several",
    "she", "should", "show", "side", "since", "sincere", "six", "sixty", "so", "some", "somehow",
    "someone", "something", "sometime", "sometimes", "somewhere", "still", "such", "system",
    "take", "ten", "than", "that", "the", "their", "them", "themselves", "then", "thence",
    "there", "thereafter", "thereby", "therefore", "therein", "thereupon", "these", "they",
    "thick", "thin", "third", "this", "those", "though", "three", "through", "throughout", "thru",
    "thus", "to", "together", "too", "top", "toward", "towards", "twelve", "twenty", "two", "un",
    "under", "until", "up", "upon", "us", "very", "via", "was", "we", "well", "were", "what",
    "whatever", "when", "whence", "whenever", "where", "whereafter", "whereas", "whereby",
    "wherein", "whereupon", "wherever", "whether", "which", "while", "whither", "who", "whoever",
    "whole", "whom", "whose", "why", "will", "with", "within", "without", "would", "yet", "you",
    "your", "yours", "yourself", "yourselves",
];

/// Which words are not counted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum StopWords {
    /// Every word counts (BERTopic's default vectoriser).
    None,
    /// scikit-learn's English list ([`ENGLISH_STOP_WORDS`]): the useful default for labels.
    #[default]
    English,
    /// The caller's words, lower-cased before use.
    List(Vec<String>),
}

/// What happens to documents labelled below zero (noise).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoiseMode {
    /// Each negative label is a class: counted in the statistics, keywords of its own
    /// (BERTopic's behaviour).
    #[default]
    Class,
    /// Noise documents are left out before counting; no entry for them.
    Exclude,
}

/// How keywords are chosen; checked by [`KeywordParams::check`] (run by [`cluster_keywords`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeywordParams {
    /// Keywords per cluster (at least 1).
    pub top_n: usize,
    pub stop_words: StopWords,
    /// Terms occurring in fewer clusters than this are dropped (0 and 1 keep every term).
    pub min_df: usize,
    /// 1: words; 2: words and bigrams (`CountVectorizer`'s `ngram_range=(1, 2)`).
    pub ngram_max: usize,
    pub noise: NoiseMode,
}

impl Default for KeywordParams {
    fn default() -> Self {
        Self {
            top_n: DEFAULT_TOP_N,
            stop_words: StopWords::English,
            min_df: 1,
            ngram_max: 1,
            noise: NoiseMode::Class,
        }
    }
}

impl KeywordParams {
    /// The parameters' own rules, independent of the data.
    pub fn check(&self) -> Result<(), AnalysisError> {
        if self.top_n == 0 {
            return Err(AnalysisError::InvalidParameter(
                "keywords per cluster must be at least 1".into(),
            ));
        }
        check_ngram(self.ngram_max)
    }
}

fn check_ngram(ngram_max: usize) -> Result<(), AnalysisError> {
    if (1..=2).contains(&ngram_max) {
        Ok(())
    } else {
        Err(AnalysisError::InvalidParameter(format!(
            "keyword n-grams: the longest must be 1 (words) or 2 (words and bigrams), not {ngram_max}"
        )))
    }
}

/// One cluster's keywords.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterKeywords {
    /// The label (below zero: noise).
    pub cluster: i32,
    /// Documents with this label.
    pub size: usize,
    /// Term occurrences counted for the cluster (after stop words and `min_df`); 0 when its
    /// documents have no words, and then `keywords` is empty.
    pub terms: u64,
    /// At most `top_n` terms with their scores, best first (ties: term ascending).
    pub keywords: Vec<(String, f32)>,
}

impl ClusterKeywords {
    pub fn is_noise(&self) -> bool {
        self.cluster < 0
    }

    /// The first [`LABEL_WORDS`] keywords joined by ", " (empty when there are none).
    pub fn label(&self) -> String {
        self.label_with(LABEL_WORDS)
    }

    /// The first `n` keywords joined by ", ".
    pub fn label_with(&self, n: usize) -> String {
        let words: Vec<&str> = self
            .keywords
            .iter()
            .take(n)
            .map(|(w, _)| w.as_str())
            .collect();
        words.join(", ")
    }
}

/// What `CountVectorizer`'s analyzer does to one document: lower-casing, words, stop words,
/// bigrams.
#[derive(Debug, Clone)]
pub struct Analyzer {
    pattern: Regex,
    stop: HashSet<String>,
    ngram_max: usize,
}

impl Analyzer {
    pub fn new(stop_words: &StopWords, ngram_max: usize) -> Result<Self, AnalysisError> {
        check_ngram(ngram_max)?;
        let pattern = Regex::new(TOKEN_PATTERN)
            .map_err(|e| AnalysisError::InvalidParameter(format!("keyword word pattern: {e}")))?;
        let stop = match stop_words {
            StopWords::None => HashSet::new(),
            StopWords::English => ENGLISH_STOP_WORDS.iter().map(|w| (*w).to_owned()).collect(),
            StopWords::List(words) => words.iter().map(|w| w.to_lowercase()).collect(),
        };
        Ok(Self {
            pattern,
            stop,
            ngram_max,
        })
    }

    /// The document's terms in `CountVectorizer`'s order: its kept words, then (with bigrams)
    /// its bigrams.
    pub fn analyze(&self, text: &str) -> Vec<String> {
        let mut lowered = String::new();
        lower_into(text, &mut lowered);
        let mut words: Vec<&str> = Vec::new();
        self.each_word(&lowered, |w| words.push(w));
        let mut out: Vec<String> = words.iter().map(|w| (*w).to_owned()).collect();
        if self.ngram_max == 2 {
            out.extend(words.windows(2).map(|p| format!("{} {}", p[0], p[1])));
        }
        out
    }

    /// Calls `f` with each kept word of an already lower-cased text, in order.
    fn each_word<'t>(&self, lowered: &'t str, mut f: impl FnMut(&'t str)) {
        self.each_token(lowered, |w| {
            if !self.stop.contains(w) {
                f(w);
            }
        });
    }

    /// Calls `f` with each word of an already lower-cased text, stop words included.
    fn each_token<'t>(&self, lowered: &'t str, mut f: impl FnMut(&'t str)) {
        if lowered.is_ascii() {
            ascii_words(lowered, &mut f);
        } else {
            for m in self.pattern.find_iter(lowered) {
                f(m.as_str());
            }
        }
    }
}

/// Python's `str.lower()` of `text` into `buf` (ASCII in place, otherwise Unicode full case
/// mapping with the final-sigma rule, which needs the whole text).
fn lower_into(text: &str, buf: &mut String) {
    buf.clear();
    if text.is_ascii() {
        buf.push_str(text);
        buf.make_ascii_lowercase();
    } else {
        buf.push_str(&text.to_lowercase());
    }
}

fn is_ascii_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// [`TOKEN_PATTERN`] on ASCII text.
fn ascii_words<'t>(s: &'t str, f: &mut impl FnMut(&'t str)) {
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if is_ascii_word_byte(bytes[i]) {
            let start = i;
            while i < bytes.len() && is_ascii_word_byte(bytes[i]) {
                i += 1;
            }
            if i - start >= 2 {
                f(&s[start..i]);
            }
        } else {
            i += 1;
        }
    }
}

/// A term as a u64: word `a` is `a << 32 | NONE`, the bigram "a b" is `a << 32 | b` (word ids
/// are below `STOP`, so the two never meet).
fn word_key(a: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(NONE)
}

fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a) << 32) | u64::from(b)
}

fn key_parts(key: u64) -> (u32, u32) {
    ((key >> 32) as u32, key as u32)
}

/// The same term under another numbering of the words.
fn remap_key(key: u64, remap: &[u32]) -> u64 {
    let (a, b) = key_parts(key);
    let a = remap[a as usize];
    if b == NONE {
        word_key(a)
    } else {
        pair_key(a, remap[b as usize])
    }
}

/// Sorted (key, count) pairs with equal keys summed.
fn sum_sorted(mut v: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    v.dedup_by(|next, kept| {
        let same = next.0 == kept.0;
        if same {
            kept.1 += next.1;
        }
        same
    });
    v
}

/// One chunk of documents counted with its own word ids.
struct ChunkCounts {
    /// The chunk's words (stop words included, flagged in `stop`), in first-seen order.
    words: Vocab,
    stop: Vec<bool>,
    /// A word table past its limits (4 GiB of text or 2^32 words).
    overflow: bool,
    /// Per class met in the chunk (ascending): its terms as (local key, count), by key.
    by_class: Vec<(u32, Vec<(u64, u64)>)>,
    /// Per document: its first and last kept word (`NONE` without words); bigrams only.
    ends: Vec<(u32, u32)>,
}

fn count_chunk<T: AsRef<str>>(an: &Analyzer, texts: &[T], classes: &[u32]) -> ChunkCounts {
    let bigrams = an.ngram_max == 2;
    // One look-up per occurrence gives the word's id, new or not.
    let mut words = Vocab::new();
    let mut stop: Vec<bool> = Vec::new();
    let mut overflow = false;
    // Every term occurrence of a class, counted by sorting at the end.
    let mut bags: HashMap<u32, Vec<u64>> = HashMap::new();
    let mut ends = Vec::with_capacity(if bigrams { texts.len() } else { 0 });
    let mut buf = String::new();
    for (text, &class) in texts.iter().zip(classes) {
        if class == NONE {
            if bigrams {
                ends.push((NONE, NONE));
            }
            continue;
        }
        lower_into(text.as_ref(), &mut buf);
        let bag = bags.entry(class).or_default();
        let (mut first, mut prev) = (NONE, NONE);
        an.each_token(&buf, |w| {
            let id = match words.push(w) {
                Ok(Ok(new)) => {
                    stop.push(an.stop.contains(w));
                    new
                }
                Ok(Err(seen)) => seen,
                Err(_) => {
                    overflow = true;
                    return;
                }
            };
            if stop[id] {
                return;
            }
            // Ids that would reach STOP are refused when the chunks are merged.
            let id = id.min(STOP as usize - 1) as u32;
            bag.push(word_key(id));
            if bigrams {
                if prev == NONE {
                    first = id;
                } else {
                    bag.push(pair_key(prev, id));
                }
                prev = id;
            }
        });
        if bigrams {
            ends.push((first, prev));
        }
    }
    let mut by_class: Vec<(u32, Vec<(u64, u64)>)> = bags
        .into_iter()
        .map(|(class, mut bag)| {
            bag.sort_unstable();
            let counts = bag
                .chunk_by(|a, b| a == b)
                .map(|run| (run[0], run.len() as u64))
                .collect();
            (class, counts)
        })
        .collect();
    by_class.sort_unstable_by_key(|e| e.0);
    ChunkCounts {
        words,
        stop,
        overflow,
        by_class,
        ends,
    }
}

/// Keywords of every cluster: one entry per distinct label (noise included unless
/// [`NoiseMode::Exclude`]), in ascending label order. `texts[i]` has label `labels[i]`.
///
/// Errors: invalid parameters, `labels` and `texts` of different lengths, more distinct words
/// than fit a u32. No documents, only noise, or clusters without words are not errors (no
/// entries, or entries without keywords).
pub fn cluster_keywords<T: AsRef<str> + Sync>(
    texts: &[T],
    labels: &[i32],
    params: &KeywordParams,
) -> Result<Vec<ClusterKeywords>, AnalysisError> {
    params.check()?;
    if texts.len() != labels.len() {
        return Err(AnalysisError::InvalidParameter(format!(
            "cluster keywords: {} labels for {} documents",
            labels.len(),
            texts.len()
        )));
    }
    let analyzer = Analyzer::new(&params.stop_words, params.ngram_max)?;
    let bigrams = params.ngram_max == 2;
    let counted = |l: i32| l >= 0 || params.noise == NoiseMode::Class;

    let mut classes: Vec<i32> = labels.iter().copied().filter(|&l| counted(l)).collect();
    classes.sort_unstable();
    classes.dedup();
    let n_classes = classes.len();
    let class_of: Vec<u32> = labels
        .par_iter()
        .map(|&l| match classes.binary_search(&l) {
            Ok(c) => c as u32,
            Err(_) => NONE,
        })
        .collect();
    let mut sizes = vec![0usize; n_classes];
    for &c in &class_of {
        if let Some(s) = sizes.get_mut(c as usize) {
            *s += 1;
        }
    }

    // A few chunks per thread; the counts are sums, the same for any chunking.
    let threads = rayon::current_num_threads().max(1);
    let chunk = texts.len().div_ceil(4 * threads).clamp(1024, 1 << 18);
    let mut chunks: Vec<ChunkCounts> = texts
        .par_chunks(chunk)
        .zip(class_of.par_chunks(chunk))
        .map(|(t, c)| count_chunk(&analyzer, t, c))
        .collect();

    // One word table; each chunk's ids mapped onto it, in chunk order (stop words to NONE).
    let too_many = || {
        AnalysisError::InvalidParameter(
            "cluster keywords: more distinct words than 2^32 - 2, or 4 GiB of them".into(),
        )
    };
    let mut words = Vocab::new();
    let mut remaps: Vec<Vec<u32>> = Vec::with_capacity(chunks.len());
    for ch in &mut chunks {
        if ch.overflow {
            return Err(too_many());
        }
        let local = std::mem::take(&mut ch.words);
        let mut remap = Vec::with_capacity(local.len());
        for (w, &stop) in local.iter().zip(&ch.stop) {
            let id = if stop {
                NONE
            } else {
                match words.push(w) {
                    Ok(Ok(id) | Err(id)) if id < STOP as usize => id as u32,
                    _ => return Err(too_many()),
                }
            };
            remap.push(id);
        }
        remaps.push(remap);
    }

    // Bigrams across documents: a class document joins its documents with a space.
    let mut joints: Vec<Vec<u64>> = vec![Vec::new(); if bigrams { n_classes } else { 0 }];
    if bigrams {
        let mut last = vec![NONE; n_classes];
        let ends = chunks.iter().zip(&remaps).flat_map(|(ch, remap)| {
            ch.ends.iter().map(move |&(first, end)| {
                if first == NONE {
                    (NONE, NONE)
                } else {
                    (remap[first as usize], remap[end as usize])
                }
            })
        });
        for ((first, end), &c) in ends.zip(&class_of) {
            if first == NONE {
                continue;
            }
            let c = c as usize;
            if last[c] != NONE {
                joints[c].push(pair_key(last[c], first));
            }
            last[c] = end;
        }
    }

    // Per class, its terms (key, count) sorted by key (classes in parallel).
    let per_class: Vec<Vec<(u64, u64)>> = (0..n_classes)
        .into_par_iter()
        .map(|c| {
            let mut all: Vec<(u64, u64)> = Vec::new();
            for (ch, remap) in chunks.iter().zip(&remaps) {
                if let Ok(i) = ch.by_class.binary_search_by_key(&(c as u32), |e| e.0) {
                    let counts = &ch.by_class[i].1;
                    all.extend(counts.iter().map(|&(k, n)| (remap_key(k, remap), n)));
                }
            }
            if let Some(extra) = joints.get(c) {
                all.extend(extra.iter().map(|&k| (k, 1)));
            }
            all.sort_unstable_by_key(|e| e.0);
            sum_sorted(all)
        })
        .collect();
    drop(chunks);
    drop(joints);

    // Per class: each term's count over all classes (0: dropped by min_df), and the class's
    // kept total.
    let fts = spread(&per_class, params.min_df.max(1) as u64);
    let kept: Vec<(Vec<u64>, u64)> = per_class
        .par_iter()
        .zip(fts)
        .map(|(entries, fts)| {
            let total = entries
                .iter()
                .zip(&fts)
                .filter(|(_, ft)| **ft > 0)
                .map(|(e, _)| e.1)
                .sum();
            (fts, total)
        })
        .collect();
    let totals: Vec<u64> = kept.iter().map(|s| s.1).collect();
    // BERTopic: int(X.sum(axis=1).mean()), the integer part of the mean class length.
    let avg = if n_classes == 0 {
        0.0
    } else {
        (totals.iter().sum::<u64>() / n_classes as u64) as f64
    };

    let keywords: Vec<Vec<(String, f32)>> = per_class
        .par_iter()
        .zip(&kept)
        .map(|(entries, (fts, total))| {
            let mut cands: Vec<(f64, u64)> = entries
                .iter()
                .zip(fts)
                .filter(|(_, ft)| **ft > 0)
                .map(|(&(k, n), &ft)| {
                    let score = (n as f64 / *total as f64) * (avg / ft as f64 + 1.0).ln();
                    (score, k)
                })
                .filter(|c| c.0 > 0.0)
                .collect();
            top_terms(&mut cands, params.top_n, &words)
        })
        .collect();

    Ok(classes
        .iter()
        .zip(sizes)
        .zip(totals)
        .zip(keywords)
        .map(|(((&cluster, size), terms), keywords)| ClusterKeywords {
            cluster,
            size,
            terms,
            keywords,
        })
        .collect())
}

/// For every class's terms (sorted by key), each term's count over all classes, or 0 where the
/// term occurs in fewer than `min_df` classes. A k-way merge of the classes' sorted lists, run
/// on key ranges in parallel.
fn spread(per_class: &[Vec<(u64, u64)>], min_df: u64) -> Vec<Vec<u64>> {
    // Range bounds from a sample of the keys, so that the ranges hold similar numbers of terms.
    let parts = 4 * rayon::current_num_threads().max(1);
    let mut sample: Vec<u64> = per_class
        .iter()
        .flat_map(|entries| entries.iter().step_by(64).map(|e| e.0))
        .collect();
    sample.sort_unstable();
    let mut bounds: Vec<u64> = (1..parts)
        .filter_map(|i| sample.get(i * sample.len() / parts).copied())
        .collect();
    bounds.dedup();
    // cuts[c][r]..cuts[c][r + 1]: class c's terms in range r.
    let cuts: Vec<Vec<usize>> = per_class
        .iter()
        .map(|entries| {
            let mut cut = vec![0];
            cut.extend(bounds.iter().map(|&b| entries.partition_point(|e| e.0 < b)));
            cut.push(entries.len());
            cut
        })
        .collect();
    let ranges: Vec<Vec<Vec<u64>>> = (0..=bounds.len())
        .into_par_iter()
        .map(|r| {
            let slices: Vec<&[(u64, u64)]> = per_class
                .iter()
                .zip(&cuts)
                .map(|(entries, cut)| &entries[cut[r]..cut[r + 1]])
                .collect();
            merge_spread(&slices, min_df)
        })
        .collect();
    let mut out: Vec<Vec<u64>> = per_class
        .iter()
        .map(|e| Vec::with_capacity(e.len()))
        .collect();
    for range in ranges {
        for (o, part) in out.iter_mut().zip(range) {
            o.extend(part);
        }
    }
    out
}

/// [`spread`] on one key range: `slices[c]` is class c's terms in the range, sorted by key.
fn merge_spread(slices: &[&[(u64, u64)]], min_df: u64) -> Vec<Vec<u64>> {
    let mut out: Vec<Vec<u64>> = slices.iter().map(|s| vec![0; s.len()]).collect();
    let mut pos = vec![0usize; slices.len()];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = slices
        .iter()
        .enumerate()
        .filter_map(|(c, s)| s.first().map(|e| Reverse((e.0, c))))
        .collect();
    let mut group: Vec<usize> = Vec::new();
    while let Some(Reverse((key, c))) = heap.pop() {
        group.clear();
        group.push(c);
        while let Some(&Reverse((k, c))) = heap.peek() {
            if k != key {
                break;
            }
            heap.pop();
            group.push(c);
        }
        let ft: u64 = group.iter().map(|&c| slices[c][pos[c]].1).sum();
        let keep = group.len() as u64 >= min_df;
        for &c in &group {
            if keep {
                out[c][pos[c]] = ft;
            }
            pos[c] += 1;
            if let Some(next) = slices[c].get(pos[c]) {
                heap.push(Reverse((next.0, c)));
            }
        }
    }
    out
}

fn term_text(key: u64, words: &Vocab) -> String {
    let (a, b) = key_parts(key);
    if b == NONE {
        words.token(a as usize).to_owned()
    } else {
        format!("{} {}", words.token(a as usize), words.token(b as usize))
    }
}

/// The `top_n` best candidates by score (descending), then term (ascending).
fn top_terms(cands: &mut Vec<(f64, u64)>, top_n: usize, words: &Vocab) -> Vec<(String, f32)> {
    if cands.len() > top_n {
        cands.select_nth_unstable_by(top_n - 1, |a, b| b.0.total_cmp(&a.0));
        let cut = cands[top_n - 1].0;
        cands.retain(|c| c.0 >= cut);
    }
    let mut named: Vec<(f64, String)> = cands
        .iter()
        .map(|&(s, k)| (s, term_text(k, words)))
        .collect();
    named.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
    named.truncate(top_n);
    named.into_iter().map(|(s, w)| (w, s as f32)).collect()
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use serde_json::Value;

    use super::*;

    fn fixture_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/cluster/keywords")
    }

    fn reference() -> Value {
        let text = std::fs::read_to_string(fixture_dir().join("reference.json")).expect("fixture");
        serde_json::from_str(&text).expect("json")
    }

    fn documents() -> (Vec<String>, Vec<i32>) {
        let text = std::fs::read_to_string(fixture_dir().join("documents.tsv")).expect("fixture");
        let mut texts = Vec::new();
        let mut labels = Vec::new();
        for line in text.lines() {
            let (label, doc) = line.split_once('\t').expect("label<TAB>text");
            labels.push(label.parse().expect("label"));
            texts.push(doc.to_owned());
        }
        (texts, labels)
    }

    fn params_of(setting: &Value) -> KeywordParams {
        let stop_words = match &setting["stop_words"] {
            Value::String(s) if s == "none" => StopWords::None,
            Value::String(s) if s == "english" => StopWords::English,
            Value::Array(words) => StopWords::List(
                words
                    .iter()
                    .map(|w| w.as_str().expect("word").to_owned())
                    .collect(),
            ),
            other => panic!("stop words {other}"),
        };
        KeywordParams {
            top_n: 10,
            stop_words,
            min_df: setting["min_df"].as_u64().expect("min_df") as usize,
            ngram_max: setting["ngram_max"].as_u64().expect("ngram_max") as usize,
            noise: match setting["noise"].as_str() {
                Some("class") => NoiseMode::Class,
                Some("exclude") => NoiseMode::Exclude,
                other => panic!("noise {other:?}"),
            },
        }
    }

    #[test]
    fn matches_bertopic_class_tfidf() {
        let reference = reference();
        let (texts, labels) = documents();
        let settings = reference["settings"].as_array().expect("settings");
        assert_eq!(settings.len(), 6);
        for setting in settings {
            let name = setting["name"].as_str().expect("name");
            let got = cluster_keywords(&texts, &labels, &params_of(setting)).expect("keywords");
            let want = setting["clusters"].as_array().expect("clusters");
            assert_eq!(got.len(), want.len(), "{name}: clusters");
            for (g, w) in got.iter().zip(want) {
                assert_eq!(
                    i64::from(g.cluster),
                    w["cluster"].as_i64().expect("id"),
                    "{name}"
                );
                assert_eq!(g.size as u64, w["size"].as_u64().expect("size"), "{name}");
                assert_eq!(g.terms, w["words"].as_u64().expect("words"), "{name}");
                let wk = w["keywords"].as_array().expect("keywords");
                let g_terms: Vec<&str> = g.keywords.iter().map(|(t, _)| t.as_str()).collect();
                let w_terms: Vec<&str> = wk.iter().map(|k| k[0].as_str().expect("term")).collect();
                assert_eq!(g_terms, w_terms, "{name}: cluster {}", g.cluster);
                for ((term, score), k) in g.keywords.iter().zip(wk) {
                    let want = k[1].as_f64().expect("score");
                    let rel = (f64::from(*score) - want).abs() / want;
                    assert!(rel < 1e-5, "{name}: {term}: {score} vs {want}");
                }
            }
        }
        // The fixture covers a cluster without words and one with non-ASCII words.
        let english = cluster_keywords(&texts, &labels, &KeywordParams::default()).expect("run");
        let no_words = english.iter().find(|c| c.cluster == 6).expect("cluster 6");
        assert_eq!((no_words.size, no_words.terms), (3, 0));
        assert!(no_words.keywords.is_empty() && no_words.label().is_empty());
        let accents = english.iter().find(|c| c.cluster == 7).expect("cluster 7");
        assert_eq!(accents.label(), "café, crème, au");
        assert!(english[0].is_noise() && !english[1].is_noise());
    }

    #[test]
    fn tokenizer_matches_count_vectorizer() {
        let reference = reference();
        let plain = Analyzer::new(&StopWords::None, 1).expect("analyzer");
        let bigrams = Analyzer::new(&StopWords::English, 2).expect("analyzer");
        let cases = reference["tokenizer"].as_array().expect("cases");
        assert!(cases.len() >= 20);
        for case in cases {
            let text = case["text"].as_str().expect("text");
            let strings = |key: &str| -> Vec<String> {
                case[key]
                    .as_array()
                    .expect("tokens")
                    .iter()
                    .map(|t| t.as_str().expect("token").to_owned())
                    .collect()
            };
            assert_eq!(plain.analyze(text), strings("tokens"), "{text:?}");
            assert_eq!(
                bigrams.analyze(text),
                strings("english_bigrams"),
                "{text:?}"
            );
        }
    }

    #[test]
    fn english_stop_words_are_sklearns() {
        let reference = reference();
        let list: Vec<&str> = reference["english_stop_words"]
            .as_array()
            .expect("list")
            .iter()
            .map(|w| w.as_str().expect("word"))
            .collect();
        assert_eq!(list, ENGLISH_STOP_WORDS.to_vec());
    }

    #[test]
    fn ascii_scanner_agrees_with_the_pattern() {
        let pattern = Regex::new(TOKEN_PATTERN).expect("pattern");
        let alphabet = b"ab_Z09 .-'\t\n";
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..2000 {
            let mut s = String::new();
            for _ in 0..(x % 24) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                s.push(char::from(alphabet[(x % alphabet.len() as u64) as usize]));
            }
            let mut fast = Vec::new();
            ascii_words(&s, &mut |w| fast.push(w));
            let slow: Vec<&str> = pattern.find_iter(&s).map(|m| m.as_str()).collect();
            assert_eq!(fast, slow, "{s:?}");
        }
    }

    /// The definition run literally: each class's documents joined with a space, analysed as
    /// one string, counted in ordered maps.
    fn naive(texts: &[String], labels: &[i32], p: &KeywordParams) -> Vec<ClusterKeywords> {
        use std::collections::BTreeMap;
        let an = Analyzer::new(&p.stop_words, 1).expect("analyzer");
        let counted = |l: i32| l >= 0 || p.noise == NoiseMode::Class;
        let mut classes: Vec<i32> = labels.iter().copied().filter(|&l| counted(l)).collect();
        classes.sort_unstable();
        classes.dedup();
        let counts: Vec<BTreeMap<String, u64>> = classes
            .iter()
            .map(|&c| {
                let docs: Vec<&str> = texts
                    .iter()
                    .zip(labels)
                    .filter(|(_, l)| **l == c)
                    .map(|(t, _)| t.as_str())
                    .collect();
                let words = an.analyze(&docs.join(" "));
                let mut terms = words.clone();
                if p.ngram_max == 2 {
                    terms.extend(words.windows(2).map(|w| format!("{} {}", w[0], w[1])));
                }
                let mut m = BTreeMap::new();
                for t in terms {
                    *m.entry(t).or_insert(0) += 1;
                }
                m
            })
            .collect();
        let mut spread: BTreeMap<&str, (u64, usize)> = BTreeMap::new();
        for m in &counts {
            for (t, n) in m {
                let e = spread.entry(t.as_str()).or_insert((0, 0));
                e.0 += n;
                e.1 += 1;
            }
        }
        let kept = |t: &str| spread[t].1 >= p.min_df.max(1);
        let totals: Vec<u64> = counts
            .iter()
            .map(|m| m.iter().filter(|(t, _)| kept(t)).map(|(_, n)| n).sum())
            .collect();
        let avg = if classes.is_empty() {
            0.0
        } else {
            (totals.iter().sum::<u64>() / classes.len() as u64) as f64
        };
        classes
            .iter()
            .zip(&counts)
            .zip(&totals)
            .map(|((&c, m), &total)| {
                let mut scored: Vec<(f64, String)> = m
                    .iter()
                    .filter(|(t, _)| kept(t))
                    .map(|(t, &n)| {
                        let ft = spread[t.as_str()].0 as f64;
                        ((n as f64 / total as f64) * (avg / ft + 1.0).ln(), t.clone())
                    })
                    .filter(|s| s.0 > 0.0)
                    .collect();
                scored.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
                scored.truncate(p.top_n);
                ClusterKeywords {
                    cluster: c,
                    size: labels.iter().filter(|&&l| l == c).count(),
                    terms: total,
                    keywords: scored.into_iter().map(|(s, t)| (t, s as f32)).collect(),
                }
            })
            .collect()
    }

    #[test]
    fn random_corpora_match_the_definition() {
        let vocab = [
            "alpha", "beta", "gamma", "delta", "the", "of", "café", "ΣΑΣ", "x", "42", "a_b",
        ];
        let mut x = 0x2545_F491_4F6C_DD1Du64;
        let mut next = move |m: u64| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x % m
        };
        for case in 0..300 {
            // Every 50th case spans several chunks.
            let n_docs = if case % 50 == 0 {
                2500 + next(1000)
            } else {
                next(40)
            } as usize;
            let n_labels = 1 + next(6) as i64;
            let mut texts = Vec::new();
            let mut labels = Vec::new();
            for _ in 0..n_docs {
                let len = next(7);
                let words: Vec<&str> = (0..len).map(|_| vocab[next(11) as usize]).collect();
                texts.push(words.join(if next(2) == 0 { " " } else { ", " }));
                labels.push((next(n_labels as u64) as i64 - 1) as i32);
            }
            let params = KeywordParams {
                top_n: 1 + next(12) as usize,
                stop_words: [StopWords::None, StopWords::English][next(2) as usize].clone(),
                min_df: next(4) as usize,
                ngram_max: 1 + next(2) as usize,
                noise: [NoiseMode::Class, NoiseMode::Exclude][next(2) as usize],
            };
            let got = cluster_keywords(&texts, &labels, &params).expect("keywords");
            assert_eq!(
                got,
                naive(&texts, &labels, &params),
                "case {case}: {params:?}"
            );
        }
    }

    #[test]
    fn bigrams_join_a_clusters_documents_in_order() {
        let texts = [
            "alpha beta",
            "zulu yankee",
            "",
            "gamma delta",
            "the",
            "epsilon",
        ];
        let labels = [0, 1, 0, 0, 0, 0];
        let params = KeywordParams {
            top_n: 100,
            ngram_max: 2,
            ..KeywordParams::default()
        };
        let got = cluster_keywords(&texts, &labels, &params).expect("keywords");
        let terms: Vec<&str> = got[0].keywords.iter().map(|(t, _)| t.as_str()).collect();
        for t in ["alpha beta", "beta gamma", "gamma delta", "delta epsilon"] {
            assert!(terms.contains(&t), "{t} in {terms:?}");
        }
        assert!(
            !terms
                .iter()
                .any(|t| t.contains("zulu") || t.contains("the"))
        );
        // 5 words + 4 bigrams in cluster 0; 2 words + 1 bigram in cluster 1.
        assert_eq!((got[0].terms, got[1].terms), (9, 3));
    }

    #[test]
    fn ties_are_broken_by_term() {
        // Every word occurs once in its cluster and nowhere else: equal scores.
        let texts = ["delta alpha charlie bravo", "xray yankee zulu whiskey"];
        let params = KeywordParams {
            top_n: 3,
            ..KeywordParams::default()
        };
        let got = cluster_keywords(&texts, &[4, 2], &params).expect("keywords");
        assert_eq!(got[0].cluster, 2);
        assert_eq!(got[0].label(), "whiskey, xray, yankee");
        assert_eq!(got[1].label_with(10), "alpha, bravo, charlie");
        assert_eq!(got[1].keywords[0].1, got[1].keywords[2].1);
    }

    #[test]
    fn user_stop_words_are_lower_cased() {
        let params = KeywordParams {
            stop_words: StopWords::List(vec!["The".into(), "CAT".into()]),
            ..KeywordParams::default()
        };
        let got = cluster_keywords(&["The cat sat on the mat"], &[0], &params).expect("run");
        let terms: Vec<&str> = got[0].keywords.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(terms, ["mat", "on", "sat"]);
    }

    #[test]
    fn bad_and_degenerate_input() {
        let p = KeywordParams::default();
        assert!(matches!(
            cluster_keywords(&["a b"], &[0, 1], &p),
            Err(AnalysisError::InvalidParameter(_))
        ));
        let zero = KeywordParams {
            top_n: 0,
            ..p.clone()
        };
        assert!(cluster_keywords(&["word"], &[0], &zero).is_err());
        let tri = KeywordParams {
            ngram_max: 3,
            ..p.clone()
        };
        assert!(cluster_keywords(&["word"], &[0], &tri).is_err());
        assert!(Analyzer::new(&StopWords::None, 0).is_err());

        let none: [&str; 0] = [];
        assert!(cluster_keywords(&none, &[], &p).expect("empty").is_empty());

        // Only noise: one class with Class, nothing with Exclude.
        let noise = ["storm clouds", "storm rain"];
        let got = cluster_keywords(&noise, &[-1, -1], &p).expect("noise");
        assert_eq!(got.len(), 1);
        assert!(got[0].is_noise());
        assert_eq!(got[0].keywords[0].0, "storm");
        let excl = KeywordParams {
            noise: NoiseMode::Exclude,
            ..p.clone()
        };
        assert!(
            cluster_keywords(&noise, &[-1, -1], &excl)
                .expect("noise")
                .is_empty()
        );

        // No words anywhere: entries without keywords.
        let empty = ["", "!!", "a b c", "the and of"];
        let got = cluster_keywords(&empty, &[0, 0, 1, 2], &p).expect("no words");
        assert_eq!(got.len(), 3);
        assert!(got.iter().all(|c| c.terms == 0 && c.keywords.is_empty()));
        assert_eq!(got[0].size, 2);

        // min_df above the number of clusters drops every term.
        let strict = KeywordParams {
            min_df: 5,
            ..p.clone()
        };
        let got = cluster_keywords(&["storm rain", "storm sun"], &[0, 1], &strict).expect("run");
        assert!(got.iter().all(|c| c.keywords.is_empty()));
        assert_eq!(got[0].terms, 0);

        // Fewer words than clusters: A = 0, every score 0, no keywords (BERTopic pads with "").
        let got = cluster_keywords(&["storm", "", ""], &[0, 1, 2], &p).expect("run");
        assert!(got.iter().all(|c| c.keywords.is_empty()));
        assert_eq!(got[0].terms, 1);
    }

    #[test]
    fn same_result_on_any_thread_count() {
        let (texts, labels) = documents();
        let params = KeywordParams {
            ngram_max: 2,
            ..KeywordParams::default()
        };
        let run = |threads: usize| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| cluster_keywords(&texts, &labels, &params).expect("keywords"))
        };
        assert_eq!(run(1), run(3));
    }
}
