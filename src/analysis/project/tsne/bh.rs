//! Repulsive forces by Barnes-Hut (van der Maaten 2014) for 2-D and 3-D layouts: a 2^d-ary
//! space-partitioning tree; a cell far enough away (side / distance < theta) acts as one body at
//! its centre of mass.

use rayon::prelude::*;

use super::fft::Repulsion;

struct Node {
    center: [f64; 3],
    half: f64,
    /// Centre of mass and number of points below.
    com: [f64; 3],
    count: usize,
    /// First child index (children are consecutive) or None for a leaf.
    children: Option<usize>,
    /// Points of a leaf (several only when they coincide or the depth cap is hit).
    points: Vec<u32>,
}

const MAX_DEPTH: usize = 40;

struct Tree {
    nodes: Vec<Node>,
    dims: usize,
}

impl Tree {
    fn build(y: &[f64], dims: usize) -> Tree {
        let n = y.len() / dims;
        let mut lo = [f64::INFINITY; 3];
        let mut hi = [f64::NEG_INFINITY; 3];
        for i in 0..n {
            for k in 0..dims {
                lo[k] = lo[k].min(y[i * dims + k]);
                hi[k] = hi[k].max(y[i * dims + k]);
            }
        }
        let mut center = [0.0; 3];
        let mut half: f64 = 0.0;
        for k in 0..dims {
            center[k] = (lo[k] + hi[k]) / 2.0;
            half = half.max((hi[k] - lo[k]) / 2.0);
        }
        let half = half * (1.0 + 1e-9) + 1e-12;
        let mut t = Tree {
            nodes: Vec::with_capacity(2 * n),
            dims,
        };
        t.nodes.push(Tree::empty(center, half));
        let all: Vec<u32> = (0..n as u32).collect();
        t.build_into(0, y, all, 0);
        t
    }

    fn empty(center: [f64; 3], half: f64) -> Node {
        Node {
            center,
            half,
            com: center,
            count: 0,
            children: None,
            points: Vec::new(),
        }
    }

    /// Fills the (already pushed) node `slot` with `pts`, appending its descendants; the
    /// children of a node are consecutive.
    fn build_into(&mut self, slot: usize, y: &[f64], pts: Vec<u32>, depth: usize) {
        let d = self.dims;
        let (center, half) = (self.nodes[slot].center, self.nodes[slot].half);
        let mut com = [0.0; 3];
        for &p in &pts {
            for k in 0..d {
                com[k] += y[p as usize * d + k];
            }
        }
        for c in com.iter_mut().take(d) {
            *c /= pts.len().max(1) as f64;
        }
        self.nodes[slot].com = com;
        self.nodes[slot].count = pts.len();
        let coincide = pts
            .iter()
            .all(|&p| (0..d).all(|k| y[p as usize * d + k] == y[pts[0] as usize * d + k]));
        if pts.len() <= 1 || depth >= MAX_DEPTH || coincide {
            self.nodes[slot].points = pts;
            return;
        }
        let nchild = 1 << d;
        let mut buckets: Vec<Vec<u32>> = vec![Vec::new(); nchild];
        for &p in &pts {
            let mut b = 0;
            for k in 0..d {
                if y[p as usize * d + k] >= center[k] {
                    b |= 1 << k;
                }
            }
            buckets[b].push(p);
        }
        let first = self.nodes.len();
        for b in 0..nchild {
            let mut c = center;
            for (k, ck) in c.iter_mut().enumerate().take(d) {
                *ck += if b & (1 << k) != 0 {
                    half / 2.0
                } else {
                    -half / 2.0
                };
            }
            self.nodes.push(Tree::empty(c, half / 2.0));
        }
        self.nodes[slot].children = Some(first);
        for (b, bucket) in buckets.into_iter().enumerate() {
            if !bucket.is_empty() {
                self.build_into(first + b, y, bucket, depth + 1);
            }
        }
    }

    /// Adds the repulsion on a point at `yi` (index `i`) into `f`, returns its z share.
    fn visit(&self, node: usize, i: u32, yi: &[f64], theta2: f64, f: &mut [f64]) -> f64 {
        let nd = &self.nodes[node];
        if nd.count == 0 {
            return 0.0;
        }
        let d = self.dims;
        let d2: f64 = yi
            .iter()
            .zip(&nd.com[..d])
            .map(|(a, b)| (a - b) * (a - b))
            .sum();
        let side = 2.0 * nd.half;
        let far = nd.children.is_some() && side * side < theta2 * d2;
        if nd.children.is_none() || far {
            // A leaf (possibly several coincident points) or a far cell: one body.
            let mut cnt = nd.count as f64;
            if nd.children.is_none() && nd.points.contains(&i) {
                cnt -= 1.0;
            }
            if cnt <= 0.0 {
                return 0.0;
            }
            let w = 1.0 / (1.0 + d2);
            for k in 0..d {
                f[k] += cnt * w * w * (yi[k] - nd.com[k]);
            }
            return cnt * w;
        }
        let first = nd.children.unwrap_or(0);
        let mut z = 0.0;
        for c in first..first + (1 << d) {
            z += self.visit(c, i, yi, theta2, f);
        }
        z
    }
}

/// A tree over a fixed layout, queried from points outside it (placing new points into a
/// finished map).
pub(crate) struct FixedTree(Tree);

impl FixedTree {
    pub(crate) fn new(y: &[f64], dims: usize) -> FixedTree {
        FixedTree(Tree::build(y, dims))
    }

    /// Repulsion on a point at `yi` from every point of the tree: (sum w^2 (yi - yj), sum w).
    pub(crate) fn repulsion(&self, yi: &[f64], theta: f64) -> ([f64; 3], f64) {
        let mut f = [0.0; 3];
        let d = self.0.dims;
        let z = self.0.visit(0, u32::MAX, yi, theta * theta, &mut f[..d]);
        (f, z)
    }
}

/// Barnes-Hut repulsion for a `dims`-D layout (2 or 3).
pub fn repulsion(y: &[f64], dims: usize, theta: f64) -> Repulsion {
    let n = y.len() / dims;
    let tree = Tree::build(y, dims);
    let rows: Vec<([f64; 3], f64)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut f = [0.0; 3];
            let z = tree.visit(
                0,
                i as u32,
                &y[i * dims..(i + 1) * dims],
                theta * theta,
                &mut f[..dims],
            );
            (f, z)
        })
        .collect();
    let mut force = Vec::with_capacity(n * dims);
    let mut z = 0.0;
    for (f, zi) in rows {
        force.extend_from_slice(&f[..dims]);
        z += zi;
    }
    Repulsion { force, z }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::project::tsne::fft::repulsion_exact;

    #[test]
    fn barnes_hut_matches_exact() {
        let mut rng = crate::analysis::project::Rng::new(9);
        for dims in [2, 3] {
            let mut y: Vec<f64> = (0..dims * 800).map(|_| rng.normal() * 5.0).collect();
            // A few coincident points.
            for k in 0..dims {
                y[3 * dims + k] = y[k];
                y[4 * dims + k] = y[k];
            }
            let exact = repulsion_exact(&y, dims);
            let bh = repulsion(&y, dims, 0.5);
            assert!(
                (bh.z - exact.z).abs() / exact.z < 1e-2,
                "dims {dims}: z {} vs {}",
                bh.z,
                exact.z
            );
            let num: f64 = bh
                .force
                .iter()
                .zip(&exact.force)
                .map(|(a, b)| (a - b).powi(2))
                .sum();
            let den: f64 = exact.force.iter().map(|b| b * b).sum();
            assert!(
                (num / den).sqrt() < 3e-2,
                "dims {dims}: relative error {}",
                (num / den).sqrt()
            );
            let exact0 = repulsion(&y, dims, 0.0);
            assert!(
                (exact0.z - exact.z).abs() / exact.z < 1e-9,
                "theta 0 is exact"
            );
        }
    }
}
