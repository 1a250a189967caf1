//! Memory estimates of the long jobs, from their parameters only (pure arithmetic, no I/O): each
//! function returns an [`Estimate`] whose parts are the large buffers the job holds at its peak,
//! with the formula beside it. The engine compares an estimate with the memory the process can
//! still get (`engine::memory`) before a job starts and refuses it with a [`MemoryRefusal`]
//! (the estimate, the amount available and a suggestion) rather than let the allocator abort or
//! the OOM killer end the process.
//!
//! Conventions: `n` rows, `d` dimensions, `k` neighbours, `s` output dimensions, `t` worker
//! threads; f32 = 4 bytes, f64 = 8, a row index = 4 (u32). Small fixed buffers (< 1 MiB) are left
//! out. The estimates are upper bounds of the peak heap in normal cases; `tests/memory.rs` checks
//! them against measured peak RSS (BENCHMARKS.md states the factor).

use std::fmt;

use thiserror::Error;

pub use crate::core::bytes::{human_bytes, parse_bytes};

const F32: u64 = 4;
const F64: u64 = 8;
const IDX: u64 = 4;
const MIB: u64 = 1 << 20;
/// What t-SNE and UMAP hold beyond the buffers their formulas count (thread pools, allocator
/// arenas). It was 256 MiB, measured at 20,000 x 16 where 185-250 MiB were not accounted for;
/// traced to the exact search's candidate lists on near-duplicate rows, which held every row
/// within the screen's error bound until the re-rank (now compacted, `knn::compact`), after
/// which UMAP's peak over loading fell from 250 to 42 MiB and its formula covers it.
const MAP_WORKING: u64 = 16 * MIB;

/// Rows from which t-SNE and UMAP take their neighbours from the HNSW index instead of the
/// exact engine (the analysis's own threshold, repeated so the estimate follows it).
pub use super::project::tsne::ann::EXACT_MAX as EXACT_KNN_MAX;

/// The memory a job needs at its peak, in parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Estimate {
    /// The job in a few words ("t-SNE of 2,000,000 x 16").
    pub job: String,
    /// Named parts in bytes (the largest buffers alive together).
    pub parts: Vec<(&'static str, u64)>,
    /// What to try instead when it does not fit.
    pub suggestion: String,
}

impl Estimate {
    pub fn new(job: impl Into<String>, suggestion: impl Into<String>) -> Estimate {
        Estimate {
            job: job.into(),
            parts: Vec::new(),
            suggestion: suggestion.into(),
        }
    }

    /// Adds a part (zero-sized parts are left out).
    pub fn part(mut self, name: &'static str, bytes: u64) -> Estimate {
        if bytes > 0 {
            self.parts.push((name, bytes));
        }
        self
    }

    /// Adds every part of `other` (a job made of steps whose buffers are alive together).
    pub fn with(mut self, other: &Estimate) -> Estimate {
        self.parts.extend(other.parts.iter().cloned());
        self
    }

    pub fn bytes(&self) -> u64 {
        self.parts
            .iter()
            .fold(0u64, |a, (_, b)| a.saturating_add(*b))
    }

    /// Checks the estimate against `available`.
    pub fn check(&self, available: &Available) -> Result<(), MemoryRefusal> {
        if self.bytes() > available.bytes {
            return Err(MemoryRefusal {
                estimate: self.clone(),
                available: available.clone(),
            });
        }
        Ok(())
    }
}

/// The memory the process can still use, and the bound that set it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Available {
    pub bytes: u64,
    /// Which limit is the smallest, in words ("MemAvailable in /proc/meminfo").
    pub source: String,
}

/// A job refused because its estimate exceeds the memory available.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub struct MemoryRefusal {
    pub estimate: Estimate,
    pub available: Available,
}

impl fmt::Display for MemoryRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts: Vec<&(&str, u64)> = self.estimate.parts.iter().collect();
        parts.sort_by_key(|p| std::cmp::Reverse(p.1));
        let listed: Vec<String> = parts
            .iter()
            .take(4)
            .map(|(n, b)| format!("{n} {}", human_bytes(*b)))
            .collect();
        write!(
            f,
            "not enough memory for {}: it needs an estimated {} ({}), only {} is available ({}); \
             the job was not started. Try {}",
            self.estimate.job,
            human_bytes(self.estimate.bytes()),
            listed.join(", "),
            human_bytes(self.available.bytes),
            self.available.source,
            self.estimate.suggestion
        )
    }
}

fn mul(xs: &[u64]) -> u64 {
    xs.iter().fold(1u64, |a, x| a.saturating_mul(*x))
}

fn u(x: usize) -> u64 {
    x as u64
}

/// `2,000,000 x 16`.
fn shape(n: usize, d: usize) -> String {
    format!("{} x {d}", thousands(n))
}

fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

const SAMPLE: &str = "a sample of the rows (--limit N reads the first N)";

// ---------------------------------------------------------------- loading

/// How a source file becomes a matrix in memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoadKind {
    /// Little-endian f32 npy/safetensors or a native `.esv`: memory-mapped, the file's bytes.
    Mapped,
    /// Other npy/safetensors dtypes (f16, bf16 widened; f64 narrowed): the f32 matrix.
    Binary,
    /// Text formats (word2vec, GloVe, fastText, projector TSV).
    Text,
    /// Parquet / Arrow: decoded pages beside the matrix.
    Table,
}

/// Loading a file of `size` bytes.
/// - mapped: `size` (the map counts against the address space);
/// - binary: `2 * size` (f16/bf16 widened to f32 is twice the file; f64 narrowed is half);
/// - text: `size` (the matrix at >= 4 characters per value is at most the file, the vocabulary
///   and the 4 MiB parse blocks per thread fit in the rest: a 6-decimal GloVe file is ~9 bytes a
///   value, so about half the file is the matrix);
/// - table: `3 * size` (the decoded column pages, the list offsets and the f32 matrix; compressed
///   pages inflate).
///
/// Plus, when the cache is written, nothing more: the writer streams the matrix.
pub fn load(file: &str, size: u64, kind: LoadKind) -> Estimate {
    let (name, bytes) = match kind {
        LoadKind::Mapped => ("mapped file", size),
        LoadKind::Binary => ("matrix (widened to f32)", size.saturating_mul(2)),
        LoadKind::Text => ("matrix, vocabulary and parse blocks", size),
        LoadKind::Table => ("decoded pages and matrix", size.saturating_mul(3)),
    };
    Estimate::new(
        format!("loading {file}"),
        "--limit N to read only the first N rows, or convert the file to .npy (memory-mapped)",
    )
    .part(name, bytes)
}

/// A loaded set of `n x d` f32 values (kept alive beside a job).
pub fn matrix(n: usize, d: usize) -> u64 {
    mul(&[u(n), u(d), F32])
}

// ---------------------------------------------------------------- neighbours

/// Exact top-k for `q` queries over `n x d` rows:
/// row norms `4n` + the int8 screening copy `n*d` + per thread a score tile (256 queries x 4096
/// rows x 4 = 4 MiB) + results `q * k * 16` (index, f64 score, heap slack), `k` at most `n`
/// (a query never lists more rows than there are).
pub fn knn_queries(n: usize, d: usize, q: usize, k: usize, threads: usize) -> Estimate {
    let k = k.min(n);
    Estimate::new(
        format!(
            "exact search of {} queries in {}",
            thousands(q),
            shape(n, d)
        ),
        "fewer queries at a time, --restrict N, or --index ann",
    )
    .part("row norms", mul(&[u(n), F32]))
    .part("int8 screening copy", mul(&[u(n), u(d)]))
    .part("score tiles", mul(&[u(threads.max(1)), 4 * MIB]))
    .part("results", mul(&[u(q), u(k), 16]))
}

/// Every row's k nearest (exact, the UMAP/t-SNE graph below `EXACT_KNN_MAX`, quality, HDBSCAN):
/// [`knn_queries`] with `q = n`, the lists `n * k * 8` (u32 index + f32 distance).
pub fn knn_all(n: usize, d: usize, k: usize, threads: usize) -> Estimate {
    let mut e = knn_queries(n, d, n, k, threads);
    e.job = format!(
        "the {} nearest neighbours of every row of {}",
        k.min(n),
        shape(n, d)
    );
    e.suggestion = format!("{SAMPLE}, or --index ann");
    e
}

/// The HNSW build with `m` links per row: level-0 links `n * 2m * 4`, upper levels (a row is on
/// level >= 1 with probability 1/m) `n/(m-1) * m * 4`, a level byte and a norm per row `5n`, a
/// visited mark per row and thread `4 * n * t`, the file image while stored (the links again).
pub fn ann_build(n: usize, d: usize, m: usize, threads: usize) -> Estimate {
    let m = m.max(2);
    let level0 = mul(&[u(n), u(2 * m), IDX]);
    let upper = mul(&[u(n) / u(m - 1) + 1, u(m), IDX]);
    Estimate::new(
        format!("building the neighbour index of {}", shape(n, d)),
        format!("{SAMPLE}, or a smaller --m"),
    )
    .part("links", level0 + upper)
    .part("levels and norms", mul(&[u(n), 5]))
    .part("visited marks", mul(&[u(n), u(threads.max(1)), IDX]))
    .part("file image", level0 + upper)
}

/// The exact engine's per-row tables (`KnnIndex::new`): the row scan's norms `4n`, the inverse
/// and squared norms `8n`, the NaN/Inf and zero flags `2n`.
fn knn_tables(n: usize) -> u64 {
    mul(&[u(n), 14])
}

/// Queries from which the exact engine screens with its int8 copy of the rows
/// (`analysis::knn`'s `INT8_MIN_QUERIES`, repeated so the estimate follows it).
pub const INT8_MIN_QUERIES: usize = 32;

/// Exact top-k for a few queries (`q` below [`INT8_MIN_QUERIES`], no int8 copy is made) over
/// `n x d` rows, as the app's neighbour list and search by meaning run it: the engine's row
/// tables `14n`; per thread a score tile of its queries against 1,024 rows
/// (`min(q, 512) * 1024 * 4`); the top-k heaps of every task (about one per thread) and the
/// merged results `(t + 1) * q * k * 16`. From
/// [`INT8_MIN_QUERIES`] queries on this is [`knn_queries`] (the int8 copy is made).
pub fn knn_few(n: usize, d: usize, q: usize, k: usize, threads: usize) -> Estimate {
    if q >= INT8_MIN_QUERIES {
        return knn_queries(n, d, q, k, threads);
    }
    let k = k.min(n);
    let t = u(threads.max(1));
    Estimate::new(
        format!(
            "exact search of {} queries in {}",
            thousands(q),
            shape(n, d)
        ),
        "a smaller k, or the neighbour index (ANN)",
    )
    .part("row tables", knn_tables(n))
    .part("score tiles", mul(&[t, u(q.min(512)), 1024, F32]))
    .part("results", mul(&[t + 1, u(q), u(k), 16]))
}

/// Search by meaning (`engine::jobs::search`, `embedscope search`): the query model
/// (`model`, an [`encode`] estimate of one document on one worker; `None` when it is already
/// loaded) and [`knn_few`] of the `q` queries in the `n x d` set.
pub fn semantic_search(
    n: usize,
    d: usize,
    q: usize,
    k: usize,
    threads: usize,
    model: Option<&Estimate>,
) -> Estimate {
    let mut e = knn_few(n, d, q, k, threads);
    e.job = format!(
        "search by meaning of {} queries in {}",
        thousands(q),
        shape(n, d)
    );
    e.suggestion =
        format!("a smaller k, or {SAMPLE}; the query model's weights alone need what is listed");
    match model {
        Some(m) => e.with(m),
        None => e,
    }
}

/// The bundled benchmarks (`analysis::eval::run_benchmarks`) on `n x d` rows with analogies
/// searched in the first `restrict` rows: the case-folded vocabulary of those rows (a `String`
/// of 24 bytes and its text, taken as 16 bytes a word, and an 8-byte row in a hash map whose
/// slots and control bytes are counted as another 16: 64 bytes a row); then [`knn_queries`] of
/// one batch of 4,096 questions (3 query vectors each under 3CosMul, the largest) with the top
/// 5 plus the 3 question words, and the batch's query matrix `4096 * 3 * d * 4`.
pub fn evaluate(n: usize, d: usize, restrict: usize) -> Estimate {
    let threads = rayon::current_num_threads();
    let batch = 4096usize.min(n.max(1));
    let mut e = knn_queries(n, d, batch, 5 + 3, threads);
    e.job = format!("the word benchmarks on {}", shape(n, d));
    e.suggestion = format!("{SAMPLE}, or a smaller restrict_vocab");
    e.part("vocabulary lookup", mul(&[u(restrict.min(n)), 64]))
        .part("query matrix", mul(&[u(batch), 3, u(d), F32]))
}

// ---------------------------------------------------------------- maps

/// PCA of `n x d` to `s` dimensions: per thread a d x d f64 covariance (`t * d^2 * 8`), the
/// eigen-solver's copies (`3 * d^2 * 8`), the output `n * s * 4` (f32) and its f64 staging
/// `n * s * 8`.
pub fn pca(n: usize, d: usize, s: usize, threads: usize) -> Estimate {
    Estimate::new(
        format!("PCA of {}", shape(n, d)),
        format!("fewer output dimensions, or {SAMPLE}"),
    )
    .part("covariance", mul(&[u(threads.max(1)) + 3, u(d), u(d), F64]))
    .part("projection", mul(&[u(n), u(s), F32 + F64]))
}

/// t-SNE of `n x d` to `s` dimensions with `perplexity`: k = min(n-1, 3 * perplexity);
/// the input after PCA `n * min(d, pca) * 4`; the neighbour lists (index and squared distance,
/// `(u32, f64)`: 16 bytes) `n * k * 16` and their row vectors `n * 24`; the joint affinities as
/// `affinity::joint` builds them, all alive at its peak (the lists, turned into the
/// conditional probabilities in place): the transpose (`u32` + `f64`) `n * k * 12` and the CSR
/// matrix (`u32` + `f64`, up to `2k` a row) `n * k * 24`, with `n * 24` of offsets and row
/// sums; the allocator's overhead on those, 10% over them (measured when the rows were merged
/// into a copy first; at 1,000,000 rows the estimate is 3% above the measured peak); the
/// optimiser's layout, gradient, update and gains `n * s * 4 * 4` and the Barnes-Hut /
/// interpolation buffers `n * 64`. Above `EXACT_KNN_MAX` rows the HNSW index ([`ann_build`]) is
/// built first and alive with the lists.
pub fn tsne(n: usize, d: usize, s: usize, perplexity: f64, pca_dims: Option<usize>) -> Estimate {
    let threads = rayon::current_num_threads();
    let k = ((3.0 * perplexity).ceil().max(1.0) as usize).min(n.saturating_sub(1));
    let d_in = pca_dims.map_or(d, |p| p.min(d));
    let lists = mul(&[u(n), u(k), 16]) + mul(&[u(n), 24]);
    let affinities = mul(&[u(n), u(k), 12 + 24]) + mul(&[u(n), 24]);
    let mut e = Estimate::new(
        format!("t-SNE of {}", shape(n, d)),
        format!("{SAMPLE}, a lower --perplexity, or PCA"),
    );
    if pca_dims.is_some_and(|p| p < d) {
        e = e.part("input after PCA", matrix(n, d_in));
    }
    e = e
        .part("neighbour lists", lists)
        .part("affinities", affinities)
        .part("allocator overhead (measured)", (lists + affinities) / 10)
        .part("layout and optimiser", mul(&[u(n), u(s), F32, 4]))
        .part("gradient trees", mul(&[u(n), 64]))
        .part("working buffers", MAP_WORKING);
    if n > EXACT_KNN_MAX {
        e = e.with(&ann_build(n, d_in, 16, threads));
    } else {
        e = e.part("score tiles", mul(&[u(threads.max(1)), 4 * MIB]));
    }
    e
}

/// UMAP of `n x d` to `s` dimensions with `k` neighbours: the lists `n * k * 8`; the fuzzy graph
/// and its union with the transpose (COO: row, column, weight) `2 * n * k * 12 * 2`; the epoch
/// schedule per edge `2 * n * k * 8`; the layout and its per-round copy `n * s * 4 * 2`; the
/// spectral start (LOBPCG, a block of `3 * (s + 1)` f64 vectors and their products)
/// `n * (s + 1) * 8 * 6`. Above `EXACT_KNN_MAX` rows the HNSW index ([`ann_build`]), unless a
/// stored one is reopened (then only its links).
pub fn umap(n: usize, d: usize, s: usize, k: usize) -> Estimate {
    let threads = rayon::current_num_threads();
    let k = k.min(n.saturating_sub(1)).max(1);
    let mut e = Estimate::new(
        format!("UMAP of {}", shape(n, d)),
        format!("{SAMPLE}, or fewer --n-neighbors"),
    )
    .part("neighbour lists", mul(&[u(n), u(k), 8]))
    .part("fuzzy graph", mul(&[u(n), u(k), 12, 4]))
    .part("epoch schedule", mul(&[u(n), u(k), 16]))
    .part("layout", mul(&[u(n), u(s), F32, 2]))
    .part("spectral start", mul(&[u(n), u(s) + 1, F64, 6]))
    .part("working buffers", MAP_WORKING);
    if n > EXACT_KNN_MAX {
        e = e.with(&ann_build(n, d, 16, threads));
    } else {
        e = e.part("score tiles", mul(&[u(threads.max(1)), 4 * MIB]));
    }
    e
}

/// Trustworthiness and kNN preservation of a map of `n` rows of `d` dimensions: the rows
/// gathered in the map's order for it (both callers copy them) `n * d * 4`; per row a squared
/// norm, the sampling order and the recall colour `n * 20`; exact up to 20,000 points (both
/// spaces' lists `2 * n * k * 8` and the ranks `n * n * 4` are avoided: ranks per point,
/// `t * n * 8`), above that a sample of at most 2,000 points. Measured at 1,000,000 x 16
/// before the gathered rows and the per-row vectors were counted: about 90 MiB used against
/// 24 MiB estimated.
pub fn quality(n: usize, d: usize, k: usize) -> Estimate {
    let threads = rayon::current_num_threads();
    let pts = if n > super::project::quality::EXACT_MAX {
        2000
    } else {
        n
    };
    Estimate::new(
        format!("the map's quality over {} points", thousands(n)),
        "--no-quality",
    )
    .part("gathered rows", matrix(n, d))
    .part("norms, sample order and recall", mul(&[u(n), 20]))
    .part("neighbour lists", mul(&[u(pts), u(k), 16]))
    .part("distance rows", mul(&[u(threads.max(1)) + 1, u(n), F64]))
}

/// Placing `m` new rows of `d` dimensions into a finished `dims`-D map of `n` reference rows
/// (`analysis::project::umap::transform`, the app's placement and `embedscope transform`):
/// the gathered reference and new rows `(n + m) * d * 4`; the reference's own set for the
/// exact engine (`as_set`: a copy of the rows `n * d * 4`, decimal tokens about 24 bytes a row
/// with their offsets and hash slots) and [`knn_queries`] of one chunk of 8,192 new rows with
/// `k` neighbours; the lists, memberships, edges and epoch schedule `m * k * 24`; the layout
/// and (t-SNE, the larger) its update and gains in f64 plus the f32 copy `m * dims * 28`, and
/// t-SNE's Barnes-Hut tree over the map `n * 64`.
pub fn place(n: usize, m: usize, d: usize, dims: usize, k: usize) -> Estimate {
    let threads = rayon::current_num_threads();
    let k = k.min(n).max(1);
    let search = knn_queries(n, d, m.min(8192), k, threads);
    Estimate::new(
        format!(
            "placing {} rows into a map of {}",
            thousands(m),
            shape(n, d)
        ),
        "fewer rows at a time (--limit N, or --only-new), or a map of fewer rows",
    )
    .part("gathered rows", matrix(n.saturating_add(m), d))
    .part(
        "reference set",
        matrix(n, d).saturating_add(mul(&[u(n), 24])),
    )
    .with(&search)
    .part("neighbour lists and edges", mul(&[u(m), u(k), 24]))
    .part("placed layout", mul(&[u(m), u(dims), 28]))
    .part("map tree", mul(&[u(n), 64]))
}

/// Projecting `m` new rows onto the principal axes of `n x d` map rows (the app's PCA
/// placement): [`pca`] of the map rows to 2 dimensions, the new rows' row list `m * 8` and
/// their positions `m * 2 * 4`.
pub fn pca_place(n: usize, m: usize, d: usize) -> Estimate {
    let threads = rayon::current_num_threads();
    let mut e = pca(n, d, 2, threads)
        .part("row list", mul(&[u(m), 8]))
        .part("placed positions", mul(&[u(m), 2, F32]));
    e.job = format!(
        "projecting {} rows onto the principal axes of {}",
        thousands(m),
        shape(n, d)
    );
    e
}

// ---------------------------------------------------------------- clusters

/// HDBSCAN of `n x d` with `min_samples`: the KD-tree's copy of the points and its index
/// `n * (d * 4 + 8)` and nodes `n * 16`; core distances `n * 8` and the `min_samples`
/// neighbours of every row (u32) `n * min_samples * 4`; the spanning tree `n * 24`; single
/// linkage and the condensed tree `n * 80`; labels and probabilities `n * 16`.
pub fn hdbscan(n: usize, d: usize, min_samples: usize) -> Estimate {
    Estimate::new(
        format!("HDBSCAN of {}", shape(n, d)),
        format!("{SAMPLE}, clustering a 2-D map, or --method kmeans"),
    )
    .part("KD-tree", mul(&[u(n), u(d) * F32 + 24]))
    .part("core distances", mul(&[u(n), F64]))
    .part("neighbour lists", mul(&[u(n), u(min_samples.max(1)), IDX]))
    .part("trees", mul(&[u(n), 24 + 80 + 16]))
}

/// k-means of `n x d` into `k` clusters (`analysis::cluster::kmeans`): its working copy of the
/// rows (unit-normalised or as given) `n * d * 4`; k-means++'s squared distances, the best
/// trial's and the current one's `n * 8 * 3`; the labels and distances of the last assignment
/// and the new one (`(u32, f32)`) `n * 8 * 2`; the centroids, their sums and the sums of every
/// 4,096-row chunk (collected, then added in order) `(2 + n / 4096) * k * d * 8`. Measured at
/// 1,000,000 x 16 before the copy and the k-means++ distances were counted: 143 MiB over
/// loading against 72 MiB estimated.
pub fn kmeans(n: usize, d: usize, k: usize) -> Estimate {
    Estimate::new(
        format!("k-means of {} into {k} clusters", shape(n, d)),
        format!("{SAMPLE}, or fewer clusters"),
    )
    .part("working copy of the rows", matrix(n, d))
    .part("k-means++ distances", mul(&[u(n), F64, 3]))
    .part("labels and distances", mul(&[u(n), 8, 2]))
    .part(
        "centroids and sums",
        mul(&[u(n.div_ceil(4096)) + 2, u(k), u(d), F64]),
    )
}

// ---------------------------------------------------------------- compare, drift, bias

/// Comparing versions of `(n_i, d_i)` over `shared` common rows with neighbourhoods of `k`:
/// the shared rows gathered per version `shared * d_i * 4`; CKA and Procrustes on the feature
/// Gram matrices (`d_a * d_b` and `d_i^2`, f64; CKA is never `n x n`); the neighbour lists of
/// both versions of the `sample` rows `2 * sample * k * 16`; the exact search's tiles; aligned
/// layouts (PCA) `shared * 2 * 12` per version.
pub fn compare(versions: &[(usize, usize)], shared: usize, k: usize, sample: usize) -> Estimate {
    let threads = rayon::current_num_threads();
    let mut e = Estimate::new(
        format!(
            "comparing {} versions over {} shared rows",
            versions.len(),
            thousands(shared)
        ),
        "--limit N on each version, fewer --sample rows, or smaller k",
    );
    let mut grams = 0u64;
    let mut gathered = 0u64;
    for (i, &(_, d)) in versions.iter().enumerate() {
        gathered = gathered.saturating_add(matrix(shared, d));
        grams = grams.saturating_add(mul(&[u(d), u(d), F64, 2]));
        if let Some(&(_, d2)) = versions.get(i + 1) {
            grams = grams.saturating_add(mul(&[u(d), u(d2), F64, 3]));
        }
    }
    let lists = mul(&[u(versions.len()), u(sample.min(shared)), u(k), 16]);
    e = e
        .part("shared rows", gathered)
        .part("Gram matrices", grams)
        .part("neighbour lists", lists)
        .part("score tiles", mul(&[u(threads.max(1)), 4 * MIB]))
        .part(
            "aligned layouts",
            mul(&[u(versions.len()), u(shared), 2, 12]),
        );
    e
}

/// A drift study of `m = n_ref + n_cur` rows of `d` dimensions, reduced to `p` dimensions, with
/// the kernel tests on `kernel_m` rows and `perms` permutations: the pooled sample and its PCA
/// `m * (d + p) * 4`; the kernel tests' row blocks (256 rows of the upper triangle, kernel and
/// distance, f64) `t * 256 * kernel_m * 8 * 2` and the permutation columns
/// (`kernel_m * min(perms, 64) * 8` per slot, kernel and distance); the null distributions
/// `6 * perms * 8`; the classifier's features and gradient `m * p * 4 * 2`.
pub fn drift(m: usize, d: usize, p: usize, kernel_m: usize, perms: usize) -> Estimate {
    let threads = rayon::current_num_threads();
    Estimate::new(
        format!("a drift study of {}", shape(m, d)),
        "--limit N, a smaller --drift-sample / kernel sample, or fewer permutations",
    )
    .part("pooled sample and PCA", mul(&[u(m), u(d + p), F32]))
    .part(
        "kernel blocks",
        mul(&[u(threads.max(1)), 256, u(kernel_m), F64, 2]),
    )
    .part(
        "permutation columns",
        mul(&[u(kernel_m), u(perms.clamp(1, 64)), F64, 2]),
    )
    .part("null distributions", mul(&[6, u(perms), F64]))
    .part("classifier", mul(&[u(m), u(p.max(1)), F32, 2]))
}

/// WEAT-style probes over `versions` spaces of `d` dimensions, with `words` target and attribute
/// words in all and `perms` permutations: the word vectors `versions * words * d * 4`, the
/// similarity table `versions * words^2 * 8`, the null and bootstrap samples
/// `versions * tests * perms * 8 * 2`.
pub fn bias_grid(versions: usize, tests: usize, words: usize, d: usize, perms: usize) -> Estimate {
    Estimate::new(
        format!("{tests} bias tests on {versions} versions"),
        "fewer permutations or shorter word lists",
    )
    .part("word vectors", mul(&[u(versions), u(words), u(d), F32]))
    .part(
        "similarity tables",
        mul(&[u(versions), u(words), u(words), F64]),
    )
    .part(
        "null samples",
        mul(&[u(versions), u(tests), u(perms), F64, 2]),
    )
}

/// A bias direction and the direct bias of `words` neutral words in `d` dimensions from
/// `pairs` definitional pairs (`analysis::bias::direction`, `direct_bias`): the pairs'
/// centred rows and the neutral words' vectors in f64 `(2 * pairs + words) * d * 8`, and the
/// Gram matrix of the centred rows with the eigen-solver's copy `(2 * pairs)^2 * 8 * 2`.
pub fn direct_bias(pairs: usize, words: usize, d: usize) -> Estimate {
    Estimate::new(
        format!(
            "the direct bias of {} words in {d} dimensions",
            thousands(words)
        ),
        "fewer words",
    )
    .part(
        "word vectors",
        mul(&[
            u(pairs).saturating_mul(2).saturating_add(u(words)),
            u(d),
            F64,
        ]),
    )
    .part("Gram matrix", mul(&[u(pairs), u(pairs), 4, F64, 2]))
}

/// Hard debiasing of `n x d` rows (`analysis::bias::hard_debias`): [`direct_bias`] of the
/// neutral words, then the new set beside the old one: its rows `n * d * 4`, the per-row
/// "specific word" flags `n`, and the copy of the tokens and metadata (`labels` bytes, as
/// [`labels`] counts them).
pub fn debias(n: usize, d: usize, pairs: usize, words: usize, labels: u64) -> Estimate {
    let mut e = Estimate::new(
        format!("hard debiasing of {}", shape(n, d)),
        format!("{SAMPLE} (the debiased set is a full copy of the rows)"),
    )
    .part("debiased rows", matrix(n, d))
    .part("row flags", u(n))
    .part("tokens and metadata copy", labels);
    e = e.with(&direct_bias(pairs, words, d));
    e
}

/// The heap of a set's tokens and metadata, from their sizes: the token text `token_bytes`,
/// per row a 4-byte end offset and a hash slot with its control byte (about 6 bytes at the
/// table's load) and the counts `8` when present; per metadata cell a 24-byte `String` and
/// its text (`meta_bytes` over `cells` cells).
pub fn labels(n: usize, token_bytes: u64, counts: bool, cells: usize, meta_bytes: u64) -> u64 {
    let per_row = 4 + 6 + if counts { 8 } else { 0 };
    token_bytes
        .saturating_add(mul(&[u(n), per_row]))
        .saturating_add(mul(&[u(cells), 24]))
        .saturating_add(meta_bytes)
}

/// The privacy scan of `rows` rows of `cols` text columns (`engine::jobs::privacy`): the text
/// is read where it is (no copy); what grows is the findings' positions (row, column, kind,
/// start, end: 20 bytes) kept until they are merged, at most one per 6 bytes of the `bytes`
/// scanned (the shortest finding, an e-mail or IPv6 address, is 6 bytes) — a bound reached only
/// by text made of findings; the per-piece counts (4,096 rows a piece, 64 bytes per column);
/// and the listed findings with their masked text (at most `listed`, 128 bytes each).
pub fn privacy_scan(rows: usize, cols: usize, bytes: u64, listed: usize) -> Estimate {
    Estimate::new(
        format!(
            "the privacy scan of {} rows ({})",
            thousands(rows),
            human_bytes(bytes)
        ),
        "a sample of the rows (--limit N reads the first N)",
    )
    .part("finding positions", mul(&[bytes / 6, 20]))
    .part(
        "piece counts",
        mul(&[u(rows.div_ceil(4096)), u(cols.max(1)), 64]),
    )
    .part("listed findings", mul(&[u(listed), 128]))
}

// ---------------------------------------------------------------- reports

/// What a finished comparison keeps (`analysis::compare::Comparison`) over `shared` rows with
/// neighbourhoods of `ks` sizes (largest `k`): both sides' neighbour lists (u32 index and f64
/// cosine) `2 * shared * k * 12`; per word its rank, Jaccard per k, RBO and aligned cosine
/// `shared * (4 + 8 * ks + 16)`; the shared tokens twice (the list and the lookup: a 24-byte
/// `String` each, rows of both sides, the hash slot) `shared * 80` plus twice `token_bytes`;
/// the documents' one-line texts (160 characters, one byte each in most text) when
/// `documents`.
pub fn compare_kept(shared: usize, ks: usize, k: usize, token_bytes: u64, documents: bool) -> u64 {
    let texts = if documents { 24 + 160 } else { 0 };
    mul(&[u(shared), u(k), 24])
        .saturating_add(mul(&[u(shared), 4 + 8 * u(ks) + 16 + 80 + texts]))
        .saturating_add(token_bytes.saturating_mul(2))
}

/// The report's aligned maps of `versions` (rows, dims) over `shared` words
/// (`analysis::compare::aligned_layouts_of`): the shared words (tokens and one row index per
/// version) `shared * (24 + 16 + 8 * versions)`; the Gram matrices of the first version with
/// each (`(d0 + d) ^ 2 * 8`, f64) and the eigen-solver's copy; the 2-D positions
/// `versions * shared * 8`. With `umap` (`n_neighbors`), [`umap`] of the `drawn` rows of the
/// first version and [`place`] of the drawn and labelled rows (`drawn + labels`) of each
/// other version into it.
pub fn aligned_maps(
    versions: &[(usize, usize)],
    shared: usize,
    drawn: usize,
    labels: usize,
    umap_k: Option<usize>,
) -> Estimate {
    let d0 = versions.first().map_or(0, |v| v.1);
    let grams = versions.iter().fold(0u64, |a, v| {
        a.saturating_add(mul(&[u(d0 + v.1), u(d0 + v.1), F64]))
    });
    let mut e = Estimate::new(
        format!(
            "aligned maps of {} versions over {} shared rows",
            versions.len(),
            thousands(shared)
        ),
        "--map-points N (fewer drawn rows), or the PCA map",
    )
    .part(
        "shared words",
        mul(&[u(shared), 40 + 8 * u(versions.len())]),
    )
    .part(
        "Gram matrices",
        grams.saturating_add(mul(&[u(d0), u(d0), F64])),
    )
    .part("positions", mul(&[u(versions.len()), u(shared), 8]));
    if let Some(k) = umap_k {
        let drawn = drawn.min(shared);
        e = e.with(&umap(drawn, d0, 2, k)).with(&place(
            drawn,
            drawn.saturating_add(labels).min(shared),
            d0,
            2,
            k,
        ));
    }
    e
}

/// Steps that run one after another while the results of earlier ones are kept: the kept
/// parts (`kept`, bytes by name) and the parts of the step that needs the most (its job is
/// named in the estimate and its suggestion comes first).
pub fn sequence(
    job: impl Into<String>,
    suggestion: impl Into<String>,
    kept: &[(&'static str, u64)],
    steps: &[Estimate],
) -> Estimate {
    let mut e = Estimate::new(job, suggestion);
    for &(name, bytes) in kept {
        e = e.part(name, bytes);
    }
    if let Some(top) = steps.iter().max_by_key(|s| s.bytes()) {
        e = e.with(top);
        e.job = format!("{} (largest step: {})", e.job, top.job);
        e.suggestion = format!("{}, or {}", top.suggestion, e.suggestion);
    }
    e
}

// ---------------------------------------------------------------- encoding

/// Encoding with a transformer of `hidden` width, `layers` layers, `heads` heads and
/// `weights_bytes` of weights, batches of at most `batch_tokens` tokens of at most `seq`
/// positions, on `workers` CPU workers, into `rows` output rows of `out_dim`:
/// the weights (f32; f16 files widened: `2 * weights_bytes`); per worker one layer's
/// activations at a time: hidden states and their residual, Q/K/V, the attention output and the
/// 4x feed-forward `batch_tokens * hidden * 4 * 10`, the attention scores and softmax
/// `batch_tokens * seq * heads * 4 * 2`; the output `rows * out_dim * 4`.
#[allow(clippy::too_many_arguments)]
pub fn encode(
    weights_bytes: u64,
    hidden: usize,
    heads: usize,
    batch_tokens: usize,
    seq: usize,
    workers: usize,
    rows: usize,
    out_dim: usize,
) -> Estimate {
    let w = u(workers.max(1));
    Estimate::new(
        format!("encoding {} rows", thousands(rows)),
        "a smaller --batch-tokens, --device cpu with fewer threads, or --limit N documents",
    )
    .part("weights", weights_bytes.saturating_mul(2))
    .part(
        "activations",
        mul(&[w, u(batch_tokens), u(hidden), F32, 10]),
    )
    .part(
        "attention scores",
        mul(&[w, u(batch_tokens), u(seq), u(heads.max(1)), F32, 2]),
    )
    .part("output rows", matrix(rows, out_dim))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn avail(b: u64) -> Available {
        Available {
            bytes: b,
            source: "test".into(),
        }
    }

    #[test]
    fn sums_and_refuses_with_the_numbers() {
        let e = tsne(2_000_000, 16, 2, 30.0, Some(50));
        assert!(e.bytes() > 3 << 30, "{}", human_bytes(e.bytes()));
        let r = e.check(&avail(1 << 30)).unwrap_err();
        let msg = r.to_string();
        assert!(msg.contains("t-SNE of 2,000,000 x 16"), "{msg}");
        assert!(msg.contains("1.0 GiB is available"), "{msg}");
        assert!(msg.contains("--limit"), "{msg}");
        assert!(e.check(&avail(u64::MAX)).is_ok());
    }

    #[test]
    fn formulas_scale_as_stated() {
        // Linear in rows beyond the fixed parts (working buffers, score tiles).
        let z = umap(2, 16, 2, 15).bytes();
        let a = umap(100_000, 16, 2, 15).bytes() - z;
        let b = umap(200_000, 16, 2, 15).bytes() - z;
        assert!(b > a * 3 / 2 && b < a * 5 / 2, "{a} {b}");
        // The loaded matrix.
        assert_eq!(matrix(2_000_000, 16), 128_000_000);
        // A k beyond the rows lists every row, no more (-k 4294967295 on 100 rows).
        assert_eq!(
            knn_queries(100, 50, 1, u32::MAX as usize, 1).bytes(),
            knn_queries(100, 50, 1, 100, 1).bytes()
        );
        // Saturates instead of overflowing.
        assert_eq!(knn_all(usize::MAX, usize::MAX, 10, 2).bytes(), u64::MAX);
        assert_eq!(load("f", 100, LoadKind::Binary).bytes(), 200);
        assert_eq!(thousands(2_000_000), "2,000,000");
    }

    fn has(e: &Estimate, name: &str) -> bool {
        e.parts.iter().any(|(n, _)| *n == name)
    }

    #[test]
    fn few_queries_skip_the_int8_copy() {
        let e = knn_few(1_000_000, 384, 1, 10, 4);
        assert!(has(&e, "row tables") && has(&e, "results"), "{e:?}");
        assert!(!has(&e, "int8 screening copy"), "{e:?}");
        // Linear in rows: the tables are 14 bytes a row.
        let a = knn_few(1_000_000, 384, 1, 10, 4).bytes();
        let b = knn_few(2_000_000, 384, 1, 10, 4).bytes();
        assert_eq!(b - a, 14_000_000);
        // From the int8 threshold on, the batch engine's estimate (with the copy).
        let many = knn_few(1_000_000, 384, INT8_MIN_QUERIES, 10, 4);
        assert!(has(&many, "int8 screening copy"), "{many:?}");
        // k past the rows lists every row.
        assert_eq!(
            knn_few(100, 8, 1, usize::MAX, 1).bytes(),
            knn_few(100, 8, 1, 100, 1).bytes()
        );
    }

    #[test]
    fn search_by_meaning_counts_the_model_when_it_loads() {
        let model = encode(400 << 20, 768, 12, 512, 512, 1, 1, 768);
        let without = semantic_search(100_000, 768, 1, 10, 4, None);
        let with = semantic_search(100_000, 768, 1, 10, 4, Some(&model));
        assert!(has(&with, "weights") && !has(&without, "weights"));
        assert_eq!(with.bytes() - without.bytes(), model.bytes());
        assert!(with.job.contains("100,000 x 768"), "{}", with.job);
    }

    #[test]
    fn benchmarks_scale_with_rows_and_dims() {
        let e = evaluate(300_000, 300, 300_000);
        for p in ["vocabulary lookup", "query matrix", "int8 screening copy"] {
            assert!(has(&e, p), "{p}: {e:?}");
        }
        // The int8 copy is n * d: doubling the dimensions adds at least that.
        let wide = evaluate(300_000, 600, 300_000).bytes();
        assert!(wide - e.bytes() >= 300_000 * 300, "{wide} {}", e.bytes());
        // The lookup follows restrict_vocab, not the rows beyond it.
        let a = evaluate(1_000_000, 8, 1000);
        let b = evaluate(1_000_000, 8, 2000);
        assert_eq!(b.bytes() - a.bytes(), 1000 * 64);
    }

    #[test]
    fn placement_scales_with_new_and_reference_rows() {
        let e = place(10_000, 50_000, 64, 2, 15);
        for p in [
            "gathered rows",
            "reference set",
            "neighbour lists and edges",
            "placed layout",
            "map tree",
        ] {
            assert!(has(&e, p), "{p}: {e:?}");
        }
        // Per new row at least its gathered vector, lists and layout.
        let more = place(10_000, 100_000, 64, 2, 15).bytes();
        let per_row = (more - e.bytes()) / 50_000;
        assert!(per_row >= 64 * 4 + 15 * 24 + 2 * 28, "{per_row}");
        // Per reference row at least two copies of its vector.
        let wider = place(20_000, 50_000, 64, 2, 15).bytes();
        assert!((wider - e.bytes()) / 10_000 >= 2 * 64 * 4);
        assert!(e.suggestion.contains("--only-new"), "{}", e.suggestion);
        let p = pca_place(10_000, 5_000, 64);
        assert!(
            has(&p, "covariance") && has(&p, "placed positions"),
            "{p:?}"
        );
    }

    #[test]
    fn debiasing_copies_the_set() {
        let n = 400_000;
        let lab = labels(n, 3_000_000, true, 0, 0);
        assert_eq!(lab, 3_000_000 + 400_000 * 18);
        let e = debias(n, 300, 10, 1000, lab);
        assert!(e.bytes() >= matrix(n, 300) + lab, "{}", e.bytes());
        for p in ["debiased rows", "tokens and metadata copy", "word vectors"] {
            assert!(has(&e, p), "{p}: {e:?}");
        }
        // Measuring only: no copy of the rows, nothing per row of the set.
        let m = direct_bias(10, 1000, 300);
        assert!(!has(&m, "debiased rows"));
        assert_eq!(m.bytes(), (20 + 1000) * 300 * 8 + 20 * 20 * 8 * 2);
        // Metadata cells count their String and text.
        assert_eq!(labels(10, 0, false, 20, 100), 10 * 10 + 20 * 24 + 100);
    }

    #[test]
    fn privacy_scan_follows_the_text_scanned() {
        let small = privacy_scan(1000, 2, 60_000, 10_000);
        let big = privacy_scan(1000, 2, 120_000, 10_000);
        assert_eq!(big.bytes() - small.bytes(), 60_000 / 6 * 20);
        assert!(has(&small, "finding positions") && has(&small, "listed findings"));
    }

    #[test]
    fn a_sequence_is_the_kept_results_and_its_largest_step() {
        let small = kmeans(1000, 8, 4);
        let large = drift(1_000_000, 384, 50, 4000, 1000);
        let e = sequence(
            "a report",
            "fewer sections",
            &[("kept comparisons", 1000)],
            &[small.clone(), large.clone()],
        );
        assert_eq!(e.bytes(), 1000 + large.bytes());
        assert!(e.job.contains("drift study"), "{}", e.job);
        assert!(e.suggestion.contains("fewer sections"), "{}", e.suggestion);
        assert!(
            e.suggestion.starts_with(&large.suggestion),
            "{}",
            e.suggestion
        );
        // With no steps, only the kept part.
        assert_eq!(sequence("r", "s", &[("kept", 5)], &[]).bytes(), 5);
    }

    #[test]
    fn report_parts_scale() {
        let a = compare_kept(100_000, 2, 50, 1_000_000, false);
        let b = compare_kept(200_000, 2, 50, 1_000_000, false);
        assert_eq!(b - a, 100_000 * (50 * 24 + 4 + 16 + 16 + 80));
        assert!(compare_kept(1000, 2, 50, 0, true) > compare_kept(1000, 2, 50, 0, false));
        let pca_maps = aligned_maps(&[(50_000, 384), (50_000, 768)], 50_000, 2000, 10, None);
        let umap_maps = aligned_maps(&[(50_000, 384), (50_000, 768)], 50_000, 2000, 10, Some(15));
        assert!(has(&pca_maps, "Gram matrices") && !has(&pca_maps, "fuzzy graph"));
        assert!(has(&umap_maps, "fuzzy graph") && has(&umap_maps, "placed layout"));
        assert!(umap_maps.bytes() > pca_maps.bytes());
    }
}
