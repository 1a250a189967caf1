//! Core distances and the exact minimum spanning tree of the mutual-reachability graph, by
//! Borůvka's algorithm over a KD-tree (the accelerated HDBSCAN of McInnes & Healy 2017).
//!
//! The mutual reachability of rows p and q is `max(core(p), core(q), d(p, q))`, where `core(p)`
//! is the distance to p's `min_samples`-th nearest row, p itself counted (scikit-learn's rule).
//! Every round, each component finds its lightest edge to another component and all of them are
//! added (lightest first, through a union-find that drops the ones closing a cycle, which can
//! only be ties). A row's search starts from its own nearest neighbours: a neighbour q in
//! another component with `core(q) <= core(p)` is at reachability `core(p)`, the least p can
//! have, and ends the search at once (in the first rounds, most rows). The other rows search
//! the tree, skipping nodes that hold only their own component and nodes whose lower bound
//! `max(core(p), least core in the node, box distance)` cannot beat the row's best or the
//! component's best so far (shared between threads). The component's best only ever prunes
//! strictly, and a row's own best is the first strict improvement in a traversal order fixed by
//! the geometry, so the chosen edges, and the tree, are the same on any number of threads.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use rayon::prelude::*;

use super::kdtree::{KdTree, LeafKnn, dist2};
use crate::analysis::AnalysisError;

/// Nearest neighbours looked at per row for the first candidates of each round.
const KEEP: usize = 16;
const NONE: u32 = u32::MAX;

/// An edge of the minimum spanning tree of the mutual-reachability graph: rows `a` and `b`
/// and their mutual reachability.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SpanningEdge {
    pub a: u32,
    pub b: u32,
    pub weight: f64,
}

pub(crate) type Edge = SpanningEdge;

fn cancelled(cancel: Option<&AtomicBool>) -> Result<(), AnalysisError> {
    match cancel {
        Some(c) if c.load(Ordering::Relaxed) => Err(AnalysisError::Cancelled),
        _ => Ok(()),
    }
}

struct UnionFind {
    parent: Vec<u32>,
    size: Vec<u32>,
}

impl UnionFind {
    fn new(n: usize) -> Self {
        UnionFind {
            parent: (0..n as u32).collect(),
            size: vec![1; n],
        }
    }
    fn find(&mut self, mut x: u32) -> u32 {
        while self.parent[x as usize] != x {
            let p = self.parent[x as usize];
            self.parent[x as usize] = self.parent[p as usize];
            x = p;
        }
        x
    }
    /// Joins the sets of `a` and `b`; false if they were one already.
    fn union(&mut self, a: u32, b: u32) -> bool {
        let (mut ra, mut rb) = (self.find(a), self.find(b));
        if ra == rb {
            return false;
        }
        if self.size[ra as usize] < self.size[rb as usize] {
            std::mem::swap(&mut ra, &mut rb);
        }
        self.parent[rb as usize] = ra;
        self.size[ra as usize] += self.size[rb as usize];
        true
    }
}

/// Core distances (by original row) and the `n - 1` edges of a minimum spanning tree of the
/// mutual-reachability graph (original rows), in the order scikit-learn's Prim adds them, each
/// from the row already in the tree (`a`) to the new one (`b`). `points` holds `n >= 1` finite
/// rows of `dim` values; `1 <= min_samples <= n`.
pub(crate) fn core_distances_and_mst(
    points: &[f32],
    dim: usize,
    min_samples: usize,
    cancel: Option<&AtomicBool>,
) -> Result<(Vec<f64>, Vec<Edge>), AnalysisError> {
    let tree = KdTree::build(points, dim);
    let n = tree.len();
    cancelled(cancel)?;
    // Core distances and all `min_samples` nearest neighbours, in tree order.
    let k = min_samples;
    let mut core = vec![0.0f64; n];
    let mut nbrs = vec![NONE; n * k];
    // One task per leaf (leaves hold consecutive positions, in order).
    let leaves = tree.leaves();
    let mut tasks = Vec::with_capacity(leaves.len());
    let (mut core_rest, mut nbrs_rest) = (&mut core[..], &mut nbrs[..]);
    for &leaf in &leaves {
        let m = (tree.nodes[leaf as usize].end - tree.nodes[leaf as usize].start) as usize;
        let (c, cr) = core_rest.split_at_mut(m);
        let (b, br) = nbrs_rest.split_at_mut(m * k);
        tasks.push((leaf as usize, c, b));
        core_rest = cr;
        nbrs_rest = br;
    }
    tasks
        .into_par_iter()
        .for_each_init(LeafKnn::default, |s, (leaf, c, b)| {
            tree.knn_leaf(leaf, k, s);
            for ((ci, bi), best) in c.iter_mut().zip(b.chunks_mut(k.max(1))).zip(&s.best) {
                *ci = best.last().map_or(0.0, |e| e.0.sqrt());
                for (slot, e) in bi.iter_mut().zip(best) {
                    *slot = e.1;
                }
            }
        });
    cancelled(cancel)?;
    let edges = boruvka(&tree, &core, &nbrs, k, cancel)?;
    cancelled(cancel)?;
    // Back to original rows.
    let mut core_by_row = vec![0.0; n];
    for (pos, &row) in tree.order.iter().enumerate() {
        core_by_row[row as usize] = core[pos];
    }
    let mut candidates: Vec<Edge> = Vec::with_capacity(n * k.saturating_sub(1));
    for (p, nb) in nbrs.chunks(k.max(1)).enumerate() {
        for &q in nb {
            if q != NONE && q as usize != p {
                candidates.push(Edge {
                    a: tree.order[p],
                    b: tree.order[q as usize],
                    // Within p's core distance: the reachability is the larger core distance.
                    weight: core[p].max(core[q as usize]),
                });
            }
        }
    }
    let tied = tied_alternatives(n, &edges, candidates);
    Ok((core_by_row, prim_order(n, &edges, &tied)))
}

/// The candidate edges that belong to some minimum spanning tree: their ends are not yet joined
/// by lighter tree edges. (Ties between spanning trees come from core distances, so the
/// alternatives to a tree edge lie within a row's `min_samples` nearest neighbours; exactly
/// equal distances between other rows are not looked for.)
fn tied_alternatives(n: usize, tree: &[Edge], mut candidates: Vec<Edge>) -> Vec<Edge> {
    let key = |e: &Edge| (e.weight.to_bits(), e.a.min(e.b), e.a.max(e.b));
    candidates.par_sort_unstable_by_key(key);
    candidates.dedup_by_key(|e| key(e));
    let mut by_weight: Vec<Edge> = tree.to_vec();
    by_weight.sort_unstable_by_key(key);
    let mut uf = UnionFind::new(n);
    let mut out = Vec::new();
    let mut t = 0;
    let mut c = 0;
    while c < candidates.len() {
        let w = candidates[c].weight;
        // Join every tree edge lighter than w, then test the candidates of weight w.
        while t < by_weight.len() && by_weight[t].weight < w {
            uf.union(by_weight[t].a, by_weight[t].b);
            t += 1;
        }
        while c < candidates.len() && candidates[c].weight == w {
            let e = candidates[c];
            if uf.find(e.a) != uf.find(e.b) {
                out.push(e);
            }
            c += 1;
        }
    }
    out
}

/// Prim's algorithm from row 0 over `tree` plus `tied` (a graph holding every edge of every
/// minimum spanning tree, so Prim's choices are those it makes on the full graph), with
/// scikit-learn's tie rules: the next row is the lowest-numbered among those nearest the tree,
/// joined to the tree row that first reached that distance. Edges in the order added.
fn prim_order(n: usize, tree: &[Edge], tied: &[Edge]) -> Vec<Edge> {
    use std::cmp::Reverse;
    use std::collections::BinaryHeap;
    if n < 2 {
        return Vec::new();
    }
    let all = || tree.iter().chain(tied);
    let mut start = vec![0u32; n + 1];
    for e in all() {
        start[e.a as usize + 1] += 1;
        start[e.b as usize + 1] += 1;
    }
    for i in 0..n {
        start[i + 1] += start[i];
    }
    let mut fill = start.clone();
    let m = start[n] as usize;
    let mut to = vec![0u32; m];
    let mut wt = vec![0.0f64; m];
    for e in all() {
        for (x, y) in [(e.a, e.b), (e.b, e.a)] {
            let at = fill[x as usize] as usize;
            to[at] = y;
            wt[at] = e.weight;
            fill[x as usize] += 1;
        }
    }
    let mut in_tree = vec![false; n];
    let mut key = vec![f64::INFINITY; n];
    let mut from = vec![NONE; n];
    let mut heap: BinaryHeap<Reverse<(u64, u32)>> = BinaryHeap::new();
    let mut out = Vec::with_capacity(n - 1);
    let mut cur = 0u32;
    loop {
        in_tree[cur as usize] = true;
        for at in start[cur as usize] as usize..start[cur as usize + 1] as usize {
            let (u, w) = (to[at] as usize, wt[at]);
            if !in_tree[u] && w < key[u] {
                key[u] = w;
                from[u] = cur;
                heap.push(Reverse((w.to_bits(), u as u32)));
            }
        }
        if out.len() + 1 == n {
            break;
        }
        let next = loop {
            match heap.pop() {
                Some(Reverse((bits, u))) => {
                    if !in_tree[u as usize] && key[u as usize].to_bits() == bits {
                        break Some(u);
                    }
                }
                None => break None,
            }
        };
        // The graph holds a spanning tree, so the heap never runs dry before the end.
        let Some(next) = next else { break };
        out.push(Edge {
            a: from[next as usize],
            b: next,
            weight: key[next as usize],
        });
        cur = next;
    }
    out
}

/// Per-round state of one row's search.
struct Search<'a> {
    tree: &'a KdTree,
    core: &'a [f64],
    comp: &'a [u32],
    node_comp: &'a [u32],
    node_core: &'a [f64],
    shared: &'a [AtomicU64],
}

impl Search<'_> {
    #[inline]
    fn shared_bound(&self, c: u32) -> f64 {
        f64::from_bits(self.shared[c as usize].load(Ordering::Relaxed))
    }

    fn publish(&self, c: u32, w: f64) {
        self.shared[c as usize].fetch_min(w.to_bits(), Ordering::Relaxed);
    }

    /// Improves `best` = (weight, position) for position `p` by searching the tree.
    fn run(&self, p: usize, best: &mut (f64, u32), stack: &mut Vec<(u32, f64)>) {
        let t = self.tree;
        let c = self.comp[p];
        let cp = self.core[p];
        let x = t.point(p);
        stack.clear();
        stack.push((0, t.node_box_dist2(0, x).sqrt()));
        while let Some((node, bd)) = stack.pop() {
            let node = node as usize;
            if self.node_comp[node] == c {
                continue;
            }
            let shared = self.shared_bound(c);
            let lb = cp.max(self.node_core[node]).max(bd);
            if lb >= best.0 || lb > shared {
                continue;
            }
            let nd = t.nodes[node];
            if nd.is_leaf() {
                for q in nd.start..nd.end {
                    let qu = q as usize;
                    if self.comp[qu] == c {
                        continue;
                    }
                    let m = cp.max(self.core[qu]);
                    if m >= best.0 || m > shared {
                        continue;
                    }
                    let mr = m.max(dist2(x, t.point(qu)).sqrt());
                    if mr < best.0 {
                        *best = (mr, q);
                        self.publish(c, mr);
                        if mr == cp {
                            // Nothing can be lighter than p's own core distance.
                            return;
                        }
                    }
                }
            } else {
                let l = node + 1;
                let r = nd.right as usize;
                let dl = t.node_box_dist2(l, x).sqrt();
                let dr = t.node_box_dist2(r, x).sqrt();
                if dl <= dr {
                    stack.push((r as u32, dr));
                    stack.push((l as u32, dl));
                } else {
                    stack.push((l as u32, dl));
                    stack.push((r as u32, dr));
                }
            }
        }
    }
}

fn node_components(tree: &KdTree, comp: &[u32], node_comp: &mut [u32]) {
    for id in (0..tree.nodes.len()).rev() {
        let nd = tree.nodes[id];
        node_comp[id] = if nd.is_leaf() {
            let first = comp[nd.start as usize];
            if comp[nd.start as usize..nd.end as usize]
                .iter()
                .all(|&c| c == first)
            {
                first
            } else {
                NONE
            }
        } else {
            let (a, b) = (node_comp[id + 1], node_comp[nd.right as usize]);
            if a == b { a } else { NONE }
        };
    }
}

fn boruvka(
    tree: &KdTree,
    core: &[f64],
    nbrs: &[u32],
    k: usize,
    cancel: Option<&AtomicBool>,
) -> Result<Vec<Edge>, AnalysisError> {
    let n = tree.len();
    let mut edges = Vec::with_capacity(n.saturating_sub(1));
    if n < 2 {
        return Ok(edges);
    }
    // The least core distance in each node (children follow their parent in preorder).
    let mut node_core = vec![f64::INFINITY; tree.nodes.len()];
    for id in (0..tree.nodes.len()).rev() {
        let nd = tree.nodes[id];
        node_core[id] = if nd.is_leaf() {
            core[nd.start as usize..nd.end as usize]
                .iter()
                .fold(f64::INFINITY, |a, &b| a.min(b))
        } else {
            node_core[id + 1].min(node_core[nd.right as usize])
        };
    }
    let mut uf = UnionFind::new(n);
    let mut comp: Vec<u32> = (0..n as u32).collect();
    let mut node_comp = vec![NONE; tree.nodes.len()];
    node_components(tree, &comp, &mut node_comp);
    let shared: Vec<AtomicU64> = (0..n)
        .map(|_| AtomicU64::new(f64::INFINITY.to_bits()))
        .collect();
    let mut best: Vec<(f64, u32)> = vec![(f64::INFINITY, NONE); n];
    let mut chosen: Vec<(f64, u32, u32)> = Vec::new();
    while edges.len() + 1 < n {
        cancelled(cancel)?;
        for s in &shared {
            s.store(f64::INFINITY.to_bits(), Ordering::Relaxed);
        }
        let search = Search {
            tree,
            core,
            comp: &comp,
            node_comp: &node_comp,
            node_core: &node_core,
            shared: &shared,
        };
        // Candidates from the nearest neighbours; every component's bound from them.
        best.par_iter_mut()
            .enumerate()
            .with_min_len(1024)
            .for_each(|(p, b)| {
                let c = comp[p];
                let cp = core[p];
                *b = (f64::INFINITY, NONE);
                for &q in &nbrs[p * k..p * k + k.min(KEEP)] {
                    if q == NONE || comp[q as usize] == c {
                        continue;
                    }
                    let w = cp.max(core[q as usize]);
                    if w < b.0 {
                        *b = (w, q);
                    }
                }
                if b.1 != NONE {
                    search.publish(c, b.0);
                }
            });
        cancelled(cancel)?;
        // Searches for the rows that may still do better.
        best.par_iter_mut()
            .enumerate()
            .with_min_len(64)
            .for_each_init(Vec::new, |stack, (p, b)| {
                let cp = core[p];
                if b.0 == cp || cp > search.shared_bound(comp[p]) {
                    return;
                }
                search.run(p, b, stack);
            });
        // Each component's lightest edge: ties by the lower position (then the search's pick).
        chosen.clear();
        let mut comp_best: Vec<(f64, u32, u32)> = vec![(f64::INFINITY, NONE, NONE); n];
        for (p, &(w, q)) in best.iter().enumerate() {
            if q == NONE {
                continue;
            }
            let slot = &mut comp_best[comp[p] as usize];
            if w < slot.0 {
                *slot = (w, p as u32, q);
            }
        }
        chosen.extend(comp_best.into_iter().filter(|e| e.1 != NONE));
        chosen.sort_by(|a, b| {
            a.0.total_cmp(&b.0)
                .then(a.1.min(a.2).cmp(&b.1.min(b.2)))
                .then(a.1.max(a.2).cmp(&b.1.max(b.2)))
        });
        let before = edges.len();
        for &(w, p, q) in &chosen {
            if uf.union(p, q) {
                edges.push(Edge {
                    a: tree.order[p as usize],
                    b: tree.order[q as usize],
                    weight: w,
                });
            }
        }
        if edges.len() == before {
            return Err(AnalysisError::InvalidParameter(
                "HDBSCAN: the spanning tree stopped growing (non-finite distances?)".into(),
            ));
        }
        for (p, c) in comp.iter_mut().enumerate() {
            *c = uf.find(p as u32);
        }
        node_components(tree, &comp, &mut node_comp);
    }
    Ok(edges)
}

/// Core distances by brute force and Prim's algorithm on the full mutual-reachability matrix
/// (O(n^2)) with scikit-learn's tie rules (`mst_from_data_matrix`); the oracle of the tests.
#[cfg(test)]
pub(crate) fn brute_force(points: &[f32], dim: usize, min_samples: usize) -> (Vec<f64>, Vec<Edge>) {
    let n = points.len() / dim;
    let x: Vec<f64> = points.iter().map(|&v| f64::from(v)).collect();
    let d =
        |i: usize, j: usize| dist2(&x[i * dim..(i + 1) * dim], &x[j * dim..(j + 1) * dim]).sqrt();
    let core: Vec<f64> = (0..n)
        .map(|i| {
            let mut all: Vec<f64> = (0..n).map(|j| d(i, j)).collect();
            all.sort_by(f64::total_cmp);
            all[min_samples - 1]
        })
        .collect();
    let mut in_tree = vec![false; n];
    let mut reach = vec![f64::INFINITY; n];
    let mut from = vec![0usize; n];
    let mut edges = Vec::new();
    let mut cur = 0;
    for _ in 1..n {
        in_tree[cur] = true;
        let mut next = usize::MAX;
        for j in 0..n {
            if in_tree[j] {
                continue;
            }
            let mr = core[cur].max(core[j]).max(d(cur, j));
            if mr < reach[j] {
                reach[j] = mr;
                from[j] = cur;
            }
            if next == usize::MAX || reach[j] < reach[next] {
                next = j;
            }
        }
        edges.push(Edge {
            a: from[next] as u32,
            b: next as u32,
            weight: reach[next],
        });
        cur = next;
    }
    (core, edges)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points(n: usize, dim: usize, seed: u64, grid: Option<f32>) -> Vec<f32> {
        let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..n * dim)
            .map(|_| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                let u = (s >> 11) as f32 / (1u64 << 53) as f32;
                match grid {
                    Some(g) => (u * g).floor(),
                    None => u * 10.0 - 5.0,
                }
            })
            .collect()
    }

    fn sorted_weights(e: &[Edge]) -> Vec<f64> {
        let mut w: Vec<f64> = e.iter().map(|e| e.weight).collect();
        w.sort_by(f64::total_cmp);
        w
    }

    fn is_spanning_tree(n: usize, e: &[Edge]) -> bool {
        let mut uf = UnionFind::new(n);
        e.len() + 1 == n && e.iter().all(|e| uf.union(e.a, e.b))
    }

    #[test]
    fn mst_equals_brute_force_prim() {
        // Random, with duplicates (grids: many equal distances and core distances), in 1-6-D.
        let cases = [
            (300, 2, None, 5),
            (300, 2, Some(6.0), 5),
            (250, 3, Some(3.0), 3),
            (200, 5, None, 1),
            (200, 6, Some(2.0), 15),
            (150, 1, Some(20.0), 4),
            (64, 2, Some(1.0), 2), // every point identical
            (2, 3, None, 2),
            (3, 2, None, 1),
        ];
        for (seed, &(n, dim, grid, ms)) in cases.iter().enumerate() {
            let x = points(n, dim, seed as u64 + 1, grid);
            let (core, edges) = core_distances_and_mst(&x, dim, ms, None).expect("mst");
            let (core_bf, edges_bf) = brute_force(&x, dim, ms);
            assert_eq!(core, core_bf, "core distances, case {seed}");
            assert!(is_spanning_tree(n, &edges), "spanning tree, case {seed}");
            assert_eq!(
                sorted_weights(&edges),
                sorted_weights(&edges_bf),
                "weights, case {seed}"
            );
            if grid.is_none() {
                // Without exactly equal distances (ties only through core distances) the very
                // tree scikit-learn's Prim builds, edge for edge, in its order.
                assert_eq!(edges, edges_bf, "Prim's edges, case {seed}");
            }
            // Every edge weight is the mutual reachability of its ends.
            for e in &edges {
                let (a, b) = (e.a as usize, e.b as usize);
                let xa: Vec<f64> = x[a * dim..(a + 1) * dim]
                    .iter()
                    .map(|&v| v.into())
                    .collect();
                let xb: Vec<f64> = x[b * dim..(b + 1) * dim]
                    .iter()
                    .map(|&v| v.into())
                    .collect();
                let mr = core[a].max(core[b]).max(dist2(&xa, &xb).sqrt());
                assert_eq!(e.weight, mr, "case {seed}");
            }
        }
    }

    #[test]
    fn same_tree_on_any_thread_count() {
        let x = points(3000, 2, 9, Some(40.0));
        let run = |threads| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("pool")
                .install(|| core_distances_and_mst(&x, 2, 5, None).expect("mst"))
        };
        let one = run(1);
        assert_eq!(one, run(2));
        assert_eq!(one, run(5));
    }

    #[test]
    fn cancel_stops() {
        let x = points(500, 2, 4, None);
        let flag = AtomicBool::new(true);
        assert_eq!(
            core_distances_and_mst(&x, 2, 5, Some(&flag)),
            Err(AnalysisError::Cancelled)
        );
    }
}
