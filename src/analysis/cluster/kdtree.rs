//! A KD-tree over f64 copies of the rows, for HDBSCAN's core distances and minimum spanning tree.
//!
//! Distances are summed over the coordinates in order, in f64, from 0, and the square root is
//! taken last: the same operations as scikit-learn's euclidean `DistanceMetric`, so core
//! distances and mutual reachabilities come out bit-identical to its. The box distance of a
//! node is summed the same way over per-coordinate gaps that are never larger than the
//! coordinate differences to any point inside, and every step (subtraction, square, sum,
//! square root) rounds monotonically, so the computed box distance never exceeds the computed
//! distance to a point in the box: pruning on it is exact.

use rayon::prelude::*;

/// Points per leaf at most.
pub(crate) const LEAF: usize = 16;

#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    /// Points `start..end` (tree positions).
    pub start: u32,
    pub end: u32,
    /// The right child; 0 for a leaf. The left child is the next node (preorder layout).
    pub right: u32,
}

impl Node {
    pub fn is_leaf(&self) -> bool {
        self.right == 0
    }
}

pub(crate) struct KdTree {
    pub dim: usize,
    /// Coordinates in tree order (`n * dim`).
    pub pts: Vec<f64>,
    /// `order[position]` = the original row.
    pub order: Vec<u32>,
    /// Preorder: node 0 is the root, a node's left child follows it.
    pub nodes: Vec<Node>,
    /// Bounding boxes (`nodes.len() * dim` each).
    pub lo: Vec<f64>,
    pub hi: Vec<f64>,
}

/// Squared euclidean distance, summed in coordinate order from 0 (as scikit-learn).
#[inline]
pub(crate) fn dist2(a: &[f64], b: &[f64]) -> f64 {
    let mut s = 0.0;
    for (x, y) in a.iter().zip(b) {
        let t = x - y;
        s += t * t;
    }
    s
}

/// Squared distance from `p` to the box `lo..hi`, summed like `dist2`.
#[inline]
pub(crate) fn box_dist2(p: &[f64], lo: &[f64], hi: &[f64]) -> f64 {
    let mut s = 0.0;
    for ((x, l), h) in p.iter().zip(lo).zip(hi) {
        let t = if x < l {
            l - x
        } else if x > h {
            x - h
        } else {
            0.0
        };
        s += t * t;
    }
    s
}

impl KdTree {
    /// Builds the tree over `n = points.len() / dim` rows (all finite: checked by the caller).
    pub fn build(points: &[f32], dim: usize) -> KdTree {
        let n = points.len() / dim;
        let mut order: Vec<u32> = (0..n as u32).collect();
        let mut t = KdTree {
            dim,
            pts: Vec::new(),
            order: Vec::new(),
            nodes: Vec::with_capacity(2 * n.div_ceil(LEAF) + 1),
            lo: Vec::new(),
            hi: Vec::new(),
        };
        if n > 0 {
            t.split(points, &mut order, 0);
        }
        let mut pts = vec![0.0f64; n * dim];
        pts.par_chunks_mut(dim.max(1) * 1024)
            .enumerate()
            .for_each(|(c, chunk)| {
                for (j, out) in chunk.chunks_mut(dim).enumerate() {
                    let row = order[c * 1024 + j] as usize;
                    for (o, x) in out.iter_mut().zip(&points[row * dim..(row + 1) * dim]) {
                        *o = f64::from(*x);
                    }
                }
            });
        t.pts = pts;
        t.order = order;
        t
    }

    /// Builds the subtree over `order[start..start + idx.len()]` (passed as `idx`) in preorder.
    fn split(&mut self, points: &[f32], idx: &mut [u32], start: usize) -> usize {
        let dim = self.dim;
        let id = self.nodes.len();
        let mut lo = vec![f64::INFINITY; dim];
        let mut hi = vec![f64::NEG_INFINITY; dim];
        for &r in idx.iter() {
            let row = &points[r as usize * dim..(r as usize + 1) * dim];
            for ((l, h), x) in lo.iter_mut().zip(hi.iter_mut()).zip(row) {
                let x = f64::from(*x);
                *l = l.min(x);
                *h = h.max(x);
            }
        }
        self.lo.extend_from_slice(&lo);
        self.hi.extend_from_slice(&hi);
        self.nodes.push(Node {
            start: start as u32,
            end: (start + idx.len()) as u32,
            right: 0,
        });
        if idx.len() <= LEAF {
            return id;
        }
        // Widest coordinate; split at the median position (ties by row number: deterministic).
        let mut axis = 0;
        let mut width = -1.0;
        for (k, (l, h)) in lo.iter().zip(&hi).enumerate() {
            if h - l > width {
                width = h - l;
                axis = k;
            }
        }
        let mid = idx.len() / 2;
        idx.select_nth_unstable_by(mid, |&a, &b| {
            let xa = points[a as usize * dim + axis];
            let xb = points[b as usize * dim + axis];
            xa.total_cmp(&xb).then(a.cmp(&b))
        });
        let (left, right) = idx.split_at_mut(mid);
        self.split(points, left, start);
        let r = self.split(points, right, start + mid);
        self.nodes[id].right = r as u32;
        id
    }

    pub fn len(&self) -> usize {
        self.order.len()
    }

    #[inline]
    pub fn point(&self, pos: usize) -> &[f64] {
        &self.pts[pos * self.dim..(pos + 1) * self.dim]
    }

    #[inline]
    pub fn node_box_dist2(&self, node: usize, p: &[f64]) -> f64 {
        let d = self.dim;
        box_dist2(
            p,
            &self.lo[node * d..(node + 1) * d],
            &self.hi[node * d..(node + 1) * d],
        )
    }
}

/// Squared distance between two boxes, summed like `dist2` (never above the distance between
/// any two points inside them).
#[inline]
fn box_box_dist2(alo: &[f64], ahi: &[f64], blo: &[f64], bhi: &[f64]) -> f64 {
    let mut s = 0.0;
    for (((al, ah), bl), bh) in alo.iter().zip(ahi).zip(blo).zip(bhi) {
        let t = if ah < bl {
            bl - ah
        } else if bh < al {
            al - bh
        } else {
            0.0
        };
        s += t * t;
    }
    s
}

/// Scratch space of `KdTree::knn_leaf`.
#[derive(Default)]
pub(crate) struct LeafKnn {
    /// Per point of the leaf: its best `k` (squared distance, position), nearest first.
    pub best: Vec<Vec<(f64, u32)>>,
    stack: Vec<(u32, f64)>,
}

impl KdTree {
    /// The `k` nearest positions (itself included, as scikit-learn counts) of every point of
    /// leaf `leaf`, searched together: one walk of the tree for the leaf, pruned by the box
    /// distance to the leaf against its points' worst k-th distance, then per point. Ties at
    /// the k-th distance: whichever the (deterministic) walk met first.
    pub fn knn_leaf(&self, leaf: usize, k: usize, s: &mut LeafKnn) {
        let d = self.dim;
        let nd = self.nodes[leaf];
        let m = (nd.end - nd.start) as usize;
        s.best.resize_with(m, Vec::new);
        for b in &mut s.best[..m] {
            b.clear();
        }
        let (llo, lhi) = (
            &self.lo[leaf * d..(leaf + 1) * d],
            &self.hi[leaf * d..(leaf + 1) * d],
        );
        let node_dist = |node: usize| {
            box_box_dist2(
                llo,
                lhi,
                &self.lo[node * d..(node + 1) * d],
                &self.hi[node * d..(node + 1) * d],
            )
        };
        // The leaf's bound: the largest k-th distance among its points (infinite until all
        // have k).
        let mut bound = f64::INFINITY;
        s.stack.clear();
        s.stack.push((0, 0.0));
        while let Some((node, bd)) = s.stack.pop() {
            if bd >= bound {
                continue;
            }
            let nn = self.nodes[node as usize];
            if nn.is_leaf() {
                let (nlo, nhi) = (
                    &self.lo[node as usize * d..(node as usize + 1) * d],
                    &self.hi[node as usize * d..(node as usize + 1) * d],
                );
                let mut full = true;
                let mut worst_all: f64 = 0.0;
                for (i, out) in s.best[..m].iter_mut().enumerate() {
                    let p = self.point(nd.start as usize + i);
                    let mut worst = if out.len() == k {
                        out[k - 1].0
                    } else {
                        f64::INFINITY
                    };
                    if box_dist2(p, nlo, nhi) < worst {
                        for q in nn.start..nn.end {
                            let dq = dist2(p, self.point(q as usize));
                            if out.len() < k {
                                let at = out.partition_point(|e| e.0 <= dq);
                                out.insert(at, (dq, q));
                                if out.len() == k {
                                    worst = out[k - 1].0;
                                }
                            } else if dq < worst {
                                let at = out.partition_point(|e| e.0 <= dq);
                                out.insert(at, (dq, q));
                                out.pop();
                                worst = out[k - 1].0;
                            }
                        }
                    }
                    full &= out.len() == k;
                    worst_all = worst_all.max(worst);
                }
                if full {
                    bound = worst_all;
                }
            } else {
                let l = node + 1;
                let r = nn.right;
                let dl = node_dist(l as usize);
                let dr = node_dist(r as usize);
                if dl <= dr {
                    s.stack.push((r, dr));
                    s.stack.push((l, dl));
                } else {
                    s.stack.push((l, dl));
                    s.stack.push((r, dr));
                }
            }
        }
    }

    /// The leaves, in position order.
    pub fn leaves(&self) -> Vec<u32> {
        (0..self.nodes.len() as u32)
            .filter(|&i| self.nodes[i as usize].is_leaf())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rand_points(n: usize, dim: usize, seed: u64, grid: Option<f32>) -> Vec<f32> {
        let mut s = seed | 1;
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

    #[test]
    fn leaf_knn_matches_brute_force() {
        for (dim, grid) in [(2, None), (3, Some(4.0)), (5, None), (1, Some(3.0))] {
            let n = 700;
            let pts = rand_points(n, dim, 5 + dim as u64, grid);
            let t = KdTree::build(&pts, dim);
            let mut s = LeafKnn::default();
            for k in [1, 3, 16, 40] {
                for leaf in t.leaves() {
                    t.knn_leaf(leaf as usize, k, &mut s);
                    let nd = t.nodes[leaf as usize];
                    for (i, pos) in (nd.start as usize..nd.end as usize).enumerate() {
                        let mut all: Vec<f64> =
                            (0..n).map(|q| dist2(t.point(pos), t.point(q))).collect();
                        all.sort_by(f64::total_cmp);
                        let got: Vec<f64> = s.best[i].iter().map(|e| e.0).collect();
                        assert_eq!(got, all[..k].to_vec(), "dim {dim} k {k} pos {pos}");
                    }
                }
            }
        }
    }

    #[test]
    fn box_distance_never_exceeds_point_distance() {
        let pts = rand_points(2000, 3, 11, None);
        let t = KdTree::build(&pts, 3);
        for node in 0..t.nodes.len() {
            let nd = t.nodes[node];
            for probe in (0..t.len()).step_by(37) {
                let p = t.point(probe);
                let b = t.node_box_dist2(node, p).sqrt();
                for q in nd.start..nd.end {
                    assert!(b <= dist2(p, t.point(q as usize)).sqrt());
                }
            }
        }
    }
}
