//! Building the graph in deterministic batches (see the module comment of `ann`).

use std::ops::ControlFlow;

use rayon::prelude::*;

use super::layout::{MAX_LEVEL, NOT_IN_GRAPH, Shape, Words};
use super::search::{self, Cand, Scratch};
use super::{AnnData, AnnProgress, GraphInfo, HnswGraph, ValidAnnParams};
use crate::analysis::AnalysisError;

/// Rows per batch: a share of the rows already in the graph (so a batch sees most of what came
/// before it), at most `MAX_BATCH`.
const BATCH_SHARE: usize = 32;
const MAX_BATCH: usize = 2048;

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A row's top level: geometric with ratio 1/M, from a hash of the seed and the row.
fn level_of(seed: u64, row: usize, m: usize) -> u32 {
    let h = splitmix(seed ^ splitmix(row as u64));
    let u = ((h >> 11) as f64 + 0.5) / (1u64 << 53) as f64;
    let ml = 1.0 / (m as f64).ln();
    ((-u.ln() * ml).floor() as u32).min(MAX_LEVEL)
}

/// Keeps, from candidates sorted nearest first, those closer to the base than to every row
/// kept before them (the HNSW neighbour heuristic), at most `cap`. Up to `cap` candidates are
/// all kept: pruning only chooses among more than fit.
fn select(data: &AnnData, cands: &[Cand], cap: usize) -> Vec<u32> {
    if cands.len() <= cap {
        return cands.iter().map(|c| c.1).collect();
    }
    let marked: Vec<(Cand, bool)> = cands.iter().map(|&c| (c, false)).collect();
    select_marked(data, &marked, cap)
}

/// [`select`] over candidates marked `true` when they were all kept together by an earlier
/// selection around the same base: such a pair passed the heuristic's test then, so it is
/// not tested again (in high dimensions most of a full list survives each pruning, and the
/// pairs among the survivors were most of the work). The choice is the one a full test
/// makes, but for rounding: under cosine a row's first list was tested with its search
/// distances, which can differ from the pair distances in the last bits.
fn select_marked(data: &AnnData, cands: &[(Cand, bool)], cap: usize) -> Vec<u32> {
    let mut kept: Vec<(Cand, bool)> = Vec::with_capacity(cap);
    for &(c, cv) in cands {
        if kept.len() >= cap {
            break;
        }
        if kept
            .iter()
            .all(|&(r, rv)| (cv && rv) || data.pair(c.1, r.1) >= c.0)
        {
            kept.push((c, cv));
        }
    }
    kept.into_iter().map(|(c, _)| c.1).collect()
}

/// The graph as it stood at the start of a batch.
struct View<'a> {
    shape: &'a Shape,
    words: &'a [u32],
    entry: u32,
    max_level: u32,
}

/// The links a new row gets on each of its levels up to the graph's current top (level 0
/// first), found in the graph as it stands, and whether its level-0 list was chosen by the
/// heuristic (more candidates than fit) rather than kept whole.
fn link_row(
    data: &AnnData,
    view: &View,
    row: u32,
    level: u32,
    ef: usize,
    s: &mut Scratch,
) -> (Vec<Vec<u32>>, bool) {
    let (shape, words, entry, max_level) = (view.shape, view.words, view.entry, view.max_level);
    let q = data.row_query(row as usize);
    let space = data.space(&q);
    let mut cur = Cand(search::Space::dist(&space, entry), entry);
    let mut l = max_level;
    while l > level {
        cur = search::greedy(shape, words, &space, cur, l);
        l -= 1;
    }
    let top = level.min(max_level);
    let mut out = vec![Vec::new(); top as usize + 1];
    let mut entries = vec![cur];
    let mut pruned0 = false;
    for l in (0..=top).rev() {
        let found = search::layer(shape, words, &space, &entries, l, ef, s);
        let cap = if l == 0 { 2 * shape.m } else { shape.m };
        pruned0 = found.len() > cap;
        out[l as usize] = select(data, &found, cap);
        entries = found;
    }
    (out, pruned0)
}

/// Builds the graph over `data`. `progress` hears the rows linked after each batch and stops
/// the build (with [`AnalysisError::Cancelled`]) when it breaks.
pub fn build(
    data: &AnnData,
    params: &ValidAnnParams,
    progress: &mut dyn FnMut(AnnProgress) -> ControlFlow<()>,
) -> Result<HnswGraph, AnalysisError> {
    let p = params.get();
    let n = data.rows();
    let m = p.m;
    let levels: Vec<u32> = (0..n)
        .into_par_iter()
        .map(|i| {
            if data.is_usable(i) {
                level_of(p.seed, i, m)
            } else {
                NOT_IN_GRAPH
            }
        })
        .collect();
    let mut offsets = vec![0u32; n];
    let mut upper_words = 0usize;
    for i in 0..n {
        if levels[i] != NOT_IN_GRAPH && levels[i] > 0 {
            offsets[i] = u32::try_from(upper_words).map_err(|_| {
                AnalysisError::InvalidParameter("too many upper-level links for one index".into())
            })?;
            upper_words += levels[i] as usize * (m + 1);
        }
    }
    let shape = Shape::new(n, m, upper_words);
    let mut words = vec![0u32; shape.total];
    words[shape.levels..shape.levels + n].copy_from_slice(&levels);
    words[shape.offsets..shape.offsets + n].copy_from_slice(&offsets);
    drop(offsets);
    // Rows of higher levels first (then by row), so the upper levels are whole before level 0
    // fills up.
    let mut order: Vec<u32> = (0..n as u32)
        .filter(|&i| levels[i as usize] != NOT_IN_GRAPH)
        .collect();
    order.sort_by_key(|&i| (std::cmp::Reverse(levels[i as usize]), i));
    let total = order.len();
    let mut entry = NOT_IN_GRAPH;
    let mut max_level = 0u32;
    if let Some(&first) = order.first() {
        entry = first;
        max_level = levels[first as usize];
    }
    // Per row, how many of its first level-0 links were kept together by its last pruning
    // (see `select_marked`); links added since are not. A byte: of a list longer than 255
    // (M above 127), only the first 255 count as checked, which is still true.
    let mut checked = vec![0u8; n];
    let ef = p.ef_construction.max(1);
    let mut pos = 1usize.min(total);
    if progress(AnnProgress { done: pos, total }).is_break() {
        return Err(AnalysisError::Cancelled);
    }
    while pos < total {
        let b = (pos / BATCH_SHARE).clamp(1, MAX_BATCH).min(total - pos);
        let batch = &order[pos..pos + b];
        let snapshot: &[u32] = &words;
        let view = View {
            shape: &shape,
            words: snapshot,
            entry,
            max_level,
        };
        let links: Vec<(Vec<Vec<u32>>, bool)> = batch
            .par_iter()
            .map(|&r| {
                search::with_scratch(n, |s| link_row(data, &view, r, levels[r as usize], ef, s))
            })
            .collect();
        // Reverse links, grouped by (target, level), sources ascending.
        let mut back: Vec<(u32, u32, u32)> = Vec::new();
        for (&r, (per_level, _)) in batch.iter().zip(&links) {
            for (l, list) in per_level.iter().enumerate() {
                back.extend(list.iter().map(|&t| (t, l as u32, r)));
            }
        }
        back.sort_unstable();
        let groups: Vec<&[(u32, u32, u32)]> =
            back.chunk_by(|a, b| a.0 == b.0 && a.1 == b.1).collect();
        let checked_now: &[u8] = &checked;
        let updated: Vec<(u32, u32, Vec<u32>, bool)> = groups
            .par_iter()
            .map(|g| {
                let (t, l) = (g[0].0, g[0].1);
                let cap = if l == 0 { 2 * m } else { m };
                let mut list: Vec<u32> = shape.links(snapshot, t, l).to_vec();
                let before = if l == 0 {
                    usize::from(checked_now[t as usize]).min(list.len())
                } else {
                    0
                };
                list.extend(g.iter().map(|x| x.2));
                if list.len() <= cap {
                    return (t, l, list, false);
                }
                let mut cands: Vec<(Cand, bool)> = list
                    .iter()
                    .enumerate()
                    .map(|(i, &j)| (Cand(data.pair(t, j), j), i < before))
                    .collect();
                cands.sort_unstable_by_key(|a| a.0);
                (t, l, select_marked(data, &cands, cap), true)
            })
            .collect();
        for (&r, (per_level, pruned0)) in batch.iter().zip(&links) {
            for (l, list) in per_level.iter().enumerate() {
                write_slot(&shape, &mut words, r, l as u32, list);
            }
            checked[r as usize] = if *pruned0 {
                per_level[0].len().min(255) as u8
            } else {
                0
            };
        }
        for (t, l, list, pruned) in &updated {
            write_slot(&shape, &mut words, *t, *l, list);
            if *l == 0 && *pruned {
                checked[*t as usize] = list.len().min(255) as u8;
            }
        }
        for &r in batch {
            if levels[r as usize] > max_level {
                max_level = levels[r as usize];
                entry = r;
            }
        }
        pos += b;
        if progress(AnnProgress { done: pos, total }).is_break() {
            return Err(AnalysisError::Cancelled);
        }
    }
    Ok(HnswGraph {
        info: GraphInfo {
            metric: data.metric(),
            m,
            ef_construction: p.ef_construction,
            seed: p.seed,
            rows: n,
            dim: data.dim(),
            left_out: data.left_out(),
            entry,
            max_level,
            upper_words,
        },
        words: Words::Owned(words),
    })
}

fn write_slot(shape: &Shape, words: &mut [u32], row: u32, level: u32, list: &[u32]) {
    let s = shape.slot(words, row, level);
    let slot = &mut words[s];
    let c = list.len().min(slot.len() - 1);
    slot[0] = c as u32;
    slot[1..1 + c].copy_from_slice(&list[..c]);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::knn::Metric;

    fn points(n: usize, d: usize, seed: u64) -> Vec<f32> {
        (0..n * d)
            .map(|i| (splitmix(seed ^ i as u64) >> 40) as f32 / (1u64 << 24) as f32 - 0.5)
            .collect()
    }

    fn sorted(data: &AnnData, base: u32, rows: impl Iterator<Item = u32>) -> Vec<Cand> {
        let mut c: Vec<Cand> = rows.map(|j| Cand(data.pair(base, j), j)).collect();
        c.sort_unstable();
        c
    }

    /// A list kept by one pruning, grown by new links and pruned again: skipping the tests
    /// among the kept pairs chooses exactly what the full test chooses.
    #[test]
    fn marked_pairs_choose_as_the_full_test() {
        for (metric, d) in [
            (Metric::Euclidean, 8),
            (Metric::Dot, 8),
            (Metric::Euclidean, 3),
        ] {
            for seed in 0..20u64 {
                let v = points(200, d, seed);
                let data = AnnData::new(&v, d, metric).expect("data");
                let cap = 12;
                let kept = select(&data, &sorted(&data, 0, 1..80), cap);
                assert!(kept.len() > 2, "the first pruning keeps a list");
                let grown: Vec<u32> = kept.iter().copied().chain(80..80 + 30).collect();
                let full = select(&data, &sorted(&data, 0, grown.iter().copied()), cap);
                let marked: Vec<(Cand, bool)> = sorted(&data, 0, grown.iter().copied())
                    .into_iter()
                    .map(|c| (c, kept.contains(&c.1)))
                    .collect();
                assert_eq!(
                    select_marked(&data, &marked, cap),
                    full,
                    "{metric:?} seed {seed}"
                );
            }
        }
    }

    /// Marks are a licence only for pairs both kept before: a marked candidate is still
    /// tested against an unmarked one (marking everything would keep the nearest `cap`).
    #[test]
    fn unmarked_pairs_are_still_tested() {
        let v = points(200, 4, 7);
        let data = AnnData::new(&v, 4, Metric::Euclidean).expect("data");
        let cands = sorted(&data, 0, 1..120);
        let all: Vec<(Cand, bool)> = cands.iter().map(|&c| (c, true)).collect();
        let nearest: Vec<u32> = cands.iter().take(10).map(|c| c.1).collect();
        assert_eq!(select_marked(&data, &all, 10), nearest);
        let heuristic = select(&data, &cands, 10);
        assert_ne!(heuristic, nearest, "the heuristic prunes these points");
        let first_marked: Vec<(Cand, bool)> = cands
            .iter()
            .enumerate()
            .map(|(i, &c)| (c, i == 0))
            .collect();
        assert_eq!(select_marked(&data, &first_marked, 10), heuristic);
    }
}
