//! From the spanning tree to flat clusters, step for step as scikit-learn 1.9's
//! `sklearn/cluster/_hdbscan/_tree.pyx` defines them (Campello, Moulavi & Sander 2013):
//!
//! 1. single linkage: the edges in the order scikit-learn's Prim (from row 0) adds them, each
//!    from the row already in the tree, sorted by weight, merged through a union-find; node
//!    `n + i` is the i-th merge, its left child the component of the edge's first end. Edges of
//!    equal weight keep Prim's order. (scikit-learn sorts with numpy's unstable `argsort`,
//!    whose order among equal weights depends on the machine's SIMD sort; equal weights are
//!    common, since a row's core distance is the weight of every edge inside its core ball, and
//!    they change the condensed tree. Prim's order is the stable, reproducible choice;
//!    scikit-learn gives the same result when its sort is made stable.)
//! 2. the condensed tree: the linkage walked breadth-first from the top; a merge of two parts of
//!    at least `min_cluster_size` rows makes two new clusters (numbered in walk order, the root
//!    first), a smaller part leaves its cluster as single rows at `lambda = 1 / distance`;
//! 3. stability: `sum (lambda - birth) * size` over each cluster's rows, in row order;
//! 4. selection: excess of mass (children replace a cluster when their stabilities sum higher)
//!    or the leaves, then `cluster_selection_epsilon` merging upwards;
//! 5. labels: each row takes the label of the nearest selected cluster above it (labels in
//!    cluster-number order); with `allow_single_cluster` and the root selected, only rows that
//!    leave the root at or above its last split (or `1 / epsilon`) are in;
//! 6. probabilities: `min(lambda, death) / death`, where a cluster's death is the largest
//!    lambda among the rows of its *last contiguous run* in the condensed tree (scikit-learn's
//!    `max_lambdas` reads the rows in that order without grouping them; kept, so the numbers
//!    agree).
//!
//! The walk order fixes cluster numbers and the order of floating-point sums, so where the
//! spanning trees agree (no tied weights) labels, stabilities and probabilities come out
//! identical to scikit-learn's.

use super::mst::Edge;

/// The single-linkage dendrogram: merge `i` (node `n + i`) joins `left[i]` and `right[i]` at
/// `dist[i]` into `size[i]` rows. Children below `n` are rows.
pub(crate) struct Linkage {
    pub n: usize,
    pub left: Vec<u32>,
    pub right: Vec<u32>,
    pub dist: Vec<f64>,
    pub size: Vec<u32>,
}

impl Linkage {
    fn count(&self, node: usize) -> usize {
        if node < self.n {
            1
        } else {
            self.size[node - self.n] as usize
        }
    }
}

/// The merges of a spanning tree of `n` rows (`n - 1` edges, in Prim's order, each from the
/// row already in the tree), as scikit-learn makes them.
pub(crate) fn single_linkage(n: usize, edges: &[Edge]) -> Linkage {
    // By weight; ties in Prim's order (a stable sort: see the module notes).
    let mut oriented: Vec<(f64, u32, u32)> = edges.iter().map(|e| (e.weight, e.a, e.b)).collect();
    oriented.sort_by(|x, y| x.0.total_cmp(&y.0));

    let m = oriented.len();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut node_of: Vec<u32> = (0..n as u32).collect(); // a set's root -> its linkage node
    let mut link = Linkage {
        n,
        left: Vec::with_capacity(m),
        right: Vec::with_capacity(m),
        dist: Vec::with_capacity(m),
        size: Vec::with_capacity(m),
    };
    let find = |parent: &mut Vec<u32>, mut x: u32| {
        while parent[x as usize] != x {
            let p = parent[x as usize];
            parent[x as usize] = parent[p as usize];
            x = p;
        }
        x
    };
    let mut set_size = vec![1u32; n];
    for (i, &(w, a, b)) in oriented.iter().enumerate() {
        let ra = find(&mut parent, a);
        let rb = find(&mut parent, b);
        let (na, nb) = (node_of[ra as usize], node_of[rb as usize]);
        link.left.push(na);
        link.right.push(nb);
        link.dist.push(w);
        link.size
            .push(link_count(&link, na) + link_count(&link, nb));
        let (big, small) = if set_size[ra as usize] >= set_size[rb as usize] {
            (ra, rb)
        } else {
            (rb, ra)
        };
        parent[small as usize] = big;
        set_size[big as usize] += set_size[small as usize];
        node_of[big as usize] = (n + i) as u32;
    }
    link
}

fn link_count(link: &Linkage, node: u32) -> u32 {
    if (node as usize) < link.n {
        1
    } else {
        link.size[node as usize - link.n]
    }
}

/// A row of the condensed tree, numbered as scikit-learn: rows `0..n`, clusters from `n` (the
/// root). `size` is 1 for a row leaving its cluster.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Row {
    pub parent: usize,
    pub child: usize,
    pub lambda: f64,
    pub size: usize,
}

/// Children of `node` breadth-first, `node` first (scikit-learn's `bfs_from_hierarchy`).
fn bfs(link: &Linkage, node: usize, out: &mut Vec<usize>) {
    out.clear();
    out.push(node);
    let mut head = 0;
    while head < out.len() {
        let v = out[head];
        head += 1;
        if v >= link.n {
            out.push(link.left[v - link.n] as usize);
            out.push(link.right[v - link.n] as usize);
        }
    }
}

/// The condensed tree for `min_cluster_size` (>= 2), rows in scikit-learn's order.
pub(crate) fn condense(link: &Linkage, min_cluster_size: usize) -> Vec<Row> {
    let n = link.n;
    if n < 2 {
        return Vec::new();
    }
    let root = 2 * n - 2;
    let mut order = Vec::with_capacity(2 * n - 1);
    bfs(link, root, &mut order);
    let mut relabel = vec![0usize; root + 1];
    relabel[root] = n;
    let mut next_label = n + 1;
    let mut ignore = vec![false; root + 1];
    let mut rows = Vec::with_capacity(n + n / min_cluster_size.max(1));
    let mut sub = Vec::new();
    let mut fall_out = |rows: &mut Vec<Row>, ignore: &mut [bool], from: usize, parent, lambda| {
        bfs(link, from, &mut sub);
        for &s in &sub {
            if s < n {
                rows.push(Row {
                    parent,
                    child: s,
                    lambda,
                    size: 1,
                });
            }
            ignore[s] = true;
        }
    };
    for &node in &order {
        if node < n || ignore[node] {
            continue;
        }
        let i = node - n;
        let (left, right) = (link.left[i] as usize, link.right[i] as usize);
        let d = link.dist[i];
        let lambda = if d > 0.0 { 1.0 / d } else { f64::INFINITY };
        let (lc, rc) = (link.count(left), link.count(right));
        let me = relabel[node];
        if lc >= min_cluster_size && rc >= min_cluster_size {
            relabel[left] = next_label;
            next_label += 1;
            rows.push(Row {
                parent: me,
                child: relabel[left],
                lambda,
                size: lc,
            });
            relabel[right] = next_label;
            next_label += 1;
            rows.push(Row {
                parent: me,
                child: relabel[right],
                lambda,
                size: rc,
            });
        } else if lc < min_cluster_size && rc < min_cluster_size {
            fall_out(&mut rows, &mut ignore, left, me, lambda);
            fall_out(&mut rows, &mut ignore, right, me, lambda);
        } else if lc < min_cluster_size {
            relabel[right] = me;
            fall_out(&mut rows, &mut ignore, left, me, lambda);
        } else {
            relabel[left] = me;
            fall_out(&mut rows, &mut ignore, right, me, lambda);
        }
    }
    rows
}

/// How the flat clusters are chosen from the condensed tree.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Choice {
    pub leaf: bool,
    pub allow_single_cluster: bool,
    pub epsilon: f64,
}

/// Everything the flat clustering is read from; cluster `c` is condensed id `n + c`.
pub(crate) struct Flat {
    pub labels: Vec<i32>,
    pub probabilities: Vec<f64>,
    /// Per cluster: parent, birth lambda, true largest lambda of its rows, size, stability
    /// (before selection), label if selected.
    pub parent: Vec<Option<usize>>,
    pub birth: Vec<f64>,
    pub death: Vec<f64>,
    pub size: Vec<usize>,
    pub stability: Vec<f64>,
    pub label: Vec<Option<i32>>,
    /// Per row: the cluster it leaves and at which lambda.
    pub point_cluster: Vec<u32>,
    pub point_lambda: Vec<f64>,
}

/// Selection, labels and probabilities (`rows` from `condense` over `n` rows).
pub(crate) fn flat(rows: &[Row], n: usize, choice: Choice) -> Flat {
    let k = rows
        .iter()
        .map(|r| r.parent.max(if r.size > 1 { r.child } else { 0 }))
        .max()
        .map_or(1, |m| m + 1 - n);
    let mut parent = vec![None; k];
    let mut birth = vec![0.0f64; k];
    let mut death = vec![0.0f64; k];
    let mut size = vec![0usize; k];
    let mut children: Vec<Vec<usize>> = vec![Vec::new(); k];
    let mut point_cluster = vec![0u32; n];
    let mut point_lambda = vec![0.0f64; n];
    size[0] = n;
    for r in rows {
        let p = r.parent - n;
        if r.child >= n {
            let c = r.child - n;
            parent[c] = Some(p);
            birth[c] = r.lambda;
            size[c] = r.size;
            children[p].push(c);
        } else {
            point_cluster[r.child] = p as u32;
            point_lambda[r.child] = r.lambda;
        }
        death[p] = death[p].max(r.lambda);
    }
    // Stability, summed in row order.
    let mut stability = vec![0.0f64; k];
    for r in rows {
        let p = r.parent - n;
        stability[p] += (r.lambda - birth[p]) * r.size as f64;
    }
    // scikit-learn's deaths: the largest lambda of each parent's last contiguous run of rows.
    let mut run_death = vec![0.0f64; k];
    if let Some(first) = rows.first() {
        let mut cur = first.parent;
        let mut m = first.lambda;
        for r in &rows[1..] {
            if r.parent == cur {
                m = if m > r.lambda { m } else { r.lambda };
            } else {
                run_death[cur - n] = m;
                cur = r.parent;
                m = r.lambda;
            }
        }
        run_death[cur - n] = m;
    }

    // Candidates: every cluster but the root unless a single cluster is allowed.
    let candidate = |c: usize| c != 0 || choice.allow_single_cluster;
    let mut selected = vec![false; k];
    if !choice.leaf {
        let mut stab = stability.clone();
        let mut keep = vec![false; k];
        for c in (0..k).rev().filter(|&c| candidate(c)) {
            let sub: f64 = children[c].iter().fold(0.0, |s, &ch| s + stab[ch]);
            if sub > stab[c] {
                stab[c] = sub;
            } else {
                keep[c] = true;
            }
        }
        // A kept cluster is selected unless a kept cluster above it was (parents come first).
        let mut blocked = vec![false; k];
        for c in 0..k {
            if let Some(p) = parent[c] {
                blocked[c] = blocked[p] || (candidate(p) && keep[p]);
            }
            selected[c] = candidate(c) && keep[c] && !blocked[c];
        }
        if choice.epsilon != 0.0 && k > 1 {
            let eom: Vec<usize> = (0..k).filter(|&c| selected[c]).collect();
            let chosen = if eom == [0] {
                if choice.allow_single_cluster {
                    eom
                } else {
                    Vec::new()
                }
            } else {
                epsilon_search(&eom, &parent, &birth, &children, choice)
            };
            selected = vec![false; k];
            for c in chosen {
                if candidate(c) {
                    selected[c] = true;
                }
            }
        }
    } else {
        let leaves: Vec<usize> = if k > 1 {
            (0..k).filter(|&c| children[c].is_empty()).collect()
        } else {
            Vec::new()
        };
        let chosen = if choice.epsilon != 0.0 {
            epsilon_search(&leaves, &parent, &birth, &children, choice)
        } else {
            leaves
        };
        for c in chosen {
            if candidate(c) {
                selected[c] = true;
            }
        }
    }

    // Labels in cluster-number order; each cluster's nearest selected cluster at or above it.
    let mut label = vec![None; k];
    let mut next = 0i32;
    for c in 0..k {
        if selected[c] {
            label[c] = Some(next);
            next += 1;
        }
    }
    let mut inherited: Vec<Option<usize>> = vec![None; k];
    for c in 0..k {
        inherited[c] = if selected[c] {
            Some(c)
        } else {
            parent[c].and_then(|p| inherited[p])
        };
    }
    let single_root = next == 1 && choice.allow_single_cluster && selected[0];
    let threshold = if choice.epsilon != 0.0 {
        1.0 / choice.epsilon
    } else {
        rows.iter()
            .filter(|r| r.parent == n)
            .fold(f64::NEG_INFINITY, |a, r| a.max(r.lambda))
    };
    let mut labels = vec![-1i32; n];
    let mut probabilities = vec![0.0f64; n];
    for r in rows.iter().filter(|r| r.child < n) {
        let pc = r.parent - n;
        let owner = match inherited[pc] {
            Some(0) | None => {
                if single_root && r.lambda >= threshold {
                    Some(0)
                } else {
                    None
                }
            }
            Some(c) => Some(c),
        };
        if let Some(c) = owner {
            labels[r.child] = label[c].unwrap_or(-1);
            let max_lambda = run_death[c];
            probabilities[r.child] = if max_lambda == 0.0 || r.lambda.is_infinite() {
                1.0
            } else {
                r.lambda.min(max_lambda) / max_lambda
            };
        }
    }
    Flat {
        labels,
        probabilities,
        parent,
        birth,
        death,
        size,
        stability,
        label,
        point_cluster,
        point_lambda,
    }
}

/// scikit-learn's `epsilon_search`: a cluster born below `epsilon` (in distance) is replaced by
/// its lowest ancestor born above it (the root's child, or the root with a single cluster
/// allowed, when none is).
fn epsilon_search(
    from: &[usize],
    parent: &[Option<usize>],
    birth: &[f64],
    children: &[Vec<usize>],
    choice: Choice,
) -> Vec<usize> {
    let eps = choice.epsilon;
    let mut out = Vec::new();
    let mut processed = vec![false; parent.len()];
    for &leaf in from {
        if 1.0 / birth[leaf] < eps {
            if processed[leaf] {
                continue;
            }
            let mut cur = leaf;
            let top = loop {
                match parent[cur] {
                    None => break cur,
                    Some(0) => {
                        break if choice.allow_single_cluster { 0 } else { cur };
                    }
                    Some(p) => {
                        if 1.0 / birth[p] > eps {
                            break p;
                        }
                        cur = p;
                    }
                }
            };
            out.push(top);
            let mut stack: Vec<usize> = children[top].clone();
            while let Some(c) = stack.pop() {
                processed[c] = true;
                stack.extend_from_slice(&children[c]);
            }
        } else {
            out.push(leaf);
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edge(a: u32, b: u32, weight: f64) -> Edge {
        Edge { a, b, weight }
    }

    /// Two groups of three rows (3-5 tighter than 0-2) and a straggler 6, hand-built (a chain:
    /// Prim from row 0 adds the edges in this order); with min_cluster_size 2 each group is a
    /// cluster its rows leave one by one.
    fn hand_tree() -> Vec<Edge> {
        vec![
            edge(0, 1, 1.0),
            edge(1, 2, 1.0 / 0.8),
            edge(2, 3, 4.0),
            edge(3, 4, 0.5),
            edge(4, 5, 1.0 / 1.5),
            edge(5, 6, 5.0),
        ]
    }

    #[test]
    fn single_linkage_sorts_stably() {
        let l = single_linkage(7, &hand_tree());
        // Merges by weight: (3,4) 0.5, (4,5) 0.667, (0,1) 1, (1,2) 1.25, (2,3) 4, (5,6) 5.
        assert_eq!(l.dist, vec![0.5, 1.0 / 1.5, 1.0, 1.0 / 0.8, 4.0, 5.0]);
        assert_eq!((l.left[0], l.right[0]), (3, 4));
        assert_eq!((l.left[1], l.right[1]), (7, 5));
        assert_eq!((l.left[2], l.right[2]), (0, 1));
        assert_eq!((l.left[3], l.right[3]), (9, 2));
        // (2,3): 2 is the tree's end, so {0,1,2} is the left child.
        assert_eq!((l.left[4], l.right[4]), (10, 8));
        assert_eq!((l.left[5], l.right[5]), (11, 6));
        assert_eq!(l.size, vec![2, 3, 2, 3, 6, 7]);
        // Equal weights keep their order: (0,1) then (2,3) both at 1.
        let l = single_linkage(4, &[edge(0, 1, 1.0), edge(1, 2, 3.0), edge(2, 3, 1.0)]);
        assert_eq!((l.left[0], l.right[0]), (0, 1));
        assert_eq!((l.left[1], l.right[1]), (2, 3));
        assert_eq!((l.left[2], l.right[2]), (4, 5));
    }

    #[test]
    fn condensed_tree_by_hand() {
        let l = single_linkage(7, &hand_tree());
        let rows = condense(&l, 2);
        let r = |parent, child, lambda: f64, size| Row {
            parent,
            child,
            lambda,
            size,
        };
        assert_eq!(
            rows,
            vec![
                // Root (7): row 6 leaves at 1/5, then the split at 1/4 into clusters 8, 9.
                r(7, 6, 0.2, 1),
                r(7, 8, 0.25, 3),
                r(7, 9, 0.25, 3),
                // Cluster 8 = {0,1,2}: 2 leaves at 0.8, then 0 and 1 at 1.
                r(8, 2, 0.8, 1),
                // Cluster 9 = {3,4,5}: 5 leaves at 1.5, then 3 and 4 at 2.
                r(9, 5, 1.5, 1),
                r(8, 0, 1.0, 1),
                r(8, 1, 1.0, 1),
                r(9, 3, 2.0, 1),
                r(9, 4, 2.0, 1),
            ]
        );
        let f = flat(
            &rows,
            7,
            Choice {
                leaf: false,
                allow_single_cluster: false,
                epsilon: 0.0,
            },
        );
        // Stabilities: root (0.2-0)+(0.25)*3*2 = 1.7; 8: 0.55+0.75*2 = 2.05; 9: 1.25+1.75*2 = 4.75.
        assert!((f.stability[0] - 1.7).abs() < 1e-12);
        assert!((f.stability[1] - 2.05).abs() < 1e-12);
        assert!((f.stability[2] - 4.75).abs() < 1e-12);
        assert_eq!(f.labels, vec![0, 0, 0, 1, 1, 1, -1]);
        assert_eq!(f.parent, vec![None, Some(0), Some(0)]);
        assert_eq!(f.label, vec![None, Some(0), Some(1)]);
        let p = f.probabilities;
        assert_eq!((p[0], p[2], p[3], p[5], p[6]), (1.0, 0.8, 1.0, 0.75, 0.0));
        // Leaf selection picks the same two; allowing a single cluster keeps them (more stable
        // than the root).
        let leaf = flat(
            &rows,
            7,
            Choice {
                leaf: true,
                allow_single_cluster: true,
                epsilon: 0.0,
            },
        );
        assert_eq!(leaf.labels, vec![0, 0, 0, 1, 1, 1, -1]);
        // An epsilon above the split distance (4): the root's children stay without a single
        // cluster allowed; with it, the root is the one cluster, and only rows leaving at or
        // above 1/epsilon are in it (row 6 leaves at 1/5 < 1/4.5).
        for (single, want) in [
            (false, vec![0, 0, 0, 1, 1, 1, -1]),
            (true, vec![0, 0, 0, 0, 0, 0, -1]),
        ] {
            let f = flat(
                &rows,
                7,
                Choice {
                    leaf: false,
                    allow_single_cluster: single,
                    epsilon: 4.5,
                },
            );
            assert_eq!(f.labels, want, "single {single}");
        }
    }
}
