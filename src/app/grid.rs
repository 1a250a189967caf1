//! A uniform spatial grid over 2-D map points: nearest-point lookup for hover and the points
//! inside a rectangle or polygon for selection, visiting only the cells that can hold them.

/// Points bucketed into square cells (about `PER_CELL` points per occupied cell on average).
#[derive(Debug, Clone, Default)]
pub struct Grid {
    min: [f32; 2],
    cell: f32,
    cols: usize,
    rows: usize,
    /// Start of each cell's points in `items` (cols * rows + 1 entries).
    starts: Vec<u32>,
    /// Point indices sorted by cell.
    items: Vec<u32>,
}

const PER_CELL: f32 = 4.0;
const MAX_CELLS: usize = 1 << 22;

/// Axis-aligned bounds of finite points: (min, max), or None when there is none.
pub fn bounds(points: &[[f32; 2]]) -> Option<([f32; 2], [f32; 2])> {
    let mut it = points
        .iter()
        .filter(|p| p[0].is_finite() && p[1].is_finite());
    let first = *it.next()?;
    let (mut lo, mut hi) = (first, first);
    for p in it {
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    Some((lo, hi))
}

impl Grid {
    pub fn new(points: &[[f32; 2]]) -> Grid {
        let Some((lo, hi)) = bounds(points) else {
            return Grid::default();
        };
        let w = (hi[0] - lo[0]).max(1e-12);
        let h = (hi[1] - lo[1]).max(1e-12);
        let n = points.len().max(1) as f32;
        // Cells of equal area so that n / PER_CELL of them cover the bounds.
        let mut cell = ((w * h) * PER_CELL / n).sqrt().max(1e-9);
        let mut cols = ((w / cell).floor() as usize + 1).max(1);
        let mut rows = ((h / cell).floor() as usize + 1).max(1);
        while cols.saturating_mul(rows) > MAX_CELLS {
            cell *= 2.0;
            cols = (w / cell).floor() as usize + 1;
            rows = (h / cell).floor() as usize + 1;
        }
        let mut g = Grid {
            min: lo,
            cell,
            cols,
            rows,
            starts: vec![0; cols * rows + 1],
            items: Vec::new(),
        };
        let cells: Vec<Option<usize>> = points.iter().map(|p| g.cell_of(*p)).collect();
        for c in cells.iter().flatten() {
            g.starts[c + 1] += 1;
        }
        for i in 0..cols * rows {
            g.starts[i + 1] += g.starts[i];
        }
        let mut fill = g.starts.clone();
        g.items = vec![0; g.starts[cols * rows] as usize];
        for (i, c) in cells.iter().enumerate() {
            if let Some(c) = c {
                g.items[fill[*c] as usize] = i as u32;
                fill[*c] += 1;
            }
        }
        g
    }

    fn cell_xy(&self, p: [f32; 2]) -> (isize, isize) {
        (
            ((p[0] - self.min[0]) / self.cell).floor() as isize,
            ((p[1] - self.min[1]) / self.cell).floor() as isize,
        )
    }

    fn cell_of(&self, p: [f32; 2]) -> Option<usize> {
        if !(p[0].is_finite() && p[1].is_finite()) {
            return None;
        }
        let (x, y) = self.cell_xy(p);
        let x = x.clamp(0, self.cols as isize - 1) as usize;
        let y = y.clamp(0, self.rows as isize - 1) as usize;
        Some(y * self.cols + x)
    }

    fn cell_items(&self, x: usize, y: usize) -> &[u32] {
        let c = y * self.cols + x;
        &self.items[self.starts[c] as usize..self.starts[c + 1] as usize]
    }

    /// Cells overlapping the rectangle [lo, hi] (clamped to the grid).
    fn cells_in(&self, lo: [f32; 2], hi: [f32; 2]) -> impl Iterator<Item = (usize, usize)> + '_ {
        let (x0, y0) = self.cell_xy(lo);
        let (x1, y1) = self.cell_xy(hi);
        let cx = |v: isize| v.clamp(0, self.cols as isize - 1) as usize;
        let cy = |v: isize| v.clamp(0, self.rows as isize - 1) as usize;
        let empty = self.items.is_empty() || x1 < 0 || y1 < 0;
        let (x0, x1, y0, y1) = (cx(x0), cx(x1), cy(y0), cy(y1));
        (y0..=y1)
            .flat_map(move |y| (x0..=x1).map(move |x| (x, y)))
            .filter(move |_| !empty)
    }

    /// The point nearest to `p` within `radius` (map units), if any. Ties: the lower index.
    pub fn nearest(&self, points: &[[f32; 2]], p: [f32; 2], radius: f32) -> Option<usize> {
        if self.items.is_empty() || radius.is_nan() || radius <= 0.0 {
            return None;
        }
        let lo = [p[0] - radius, p[1] - radius];
        let hi = [p[0] + radius, p[1] + radius];
        let mut best: Option<(f32, usize)> = None;
        for (x, y) in self.cells_in(lo, hi) {
            for &i in self.cell_items(x, y) {
                let q = points[i as usize];
                let d = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
                if d <= radius * radius
                    && best.is_none_or(|(bd, bi)| d < bd || (d == bd && (i as usize) < bi))
                {
                    best = Some((d, i as usize));
                }
            }
        }
        best.map(|(_, i)| i)
    }

    /// Points inside the rectangle spanned by `a` and `b`, ascending.
    pub fn in_rect(&self, points: &[[f32; 2]], a: [f32; 2], b: [f32; 2]) -> Vec<usize> {
        let lo = [a[0].min(b[0]), a[1].min(b[1])];
        let hi = [a[0].max(b[0]), a[1].max(b[1])];
        let mut out: Vec<usize> = self
            .cells_in(lo, hi)
            .flat_map(|(x, y)| self.cell_items(x, y).iter().map(|&i| i as usize))
            .filter(|&i| {
                let q = points[i];
                q[0] >= lo[0] && q[0] <= hi[0] && q[1] >= lo[1] && q[1] <= hi[1]
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Points inside a polygon (even-odd rule), ascending.
    pub fn in_polygon(&self, points: &[[f32; 2]], poly: &[[f32; 2]]) -> Vec<usize> {
        let Some((lo, hi)) = bounds(poly) else {
            return Vec::new();
        };
        if poly.len() < 3 {
            return Vec::new();
        }
        let mut out: Vec<usize> = self
            .in_rect(points, lo, hi)
            .into_iter()
            .filter(|&i| point_in_polygon(points[i], poly))
            .collect();
        out.sort_unstable();
        out
    }
}

/// Even-odd ray casting.
pub fn point_in_polygon(p: [f32; 2], poly: &[[f32; 2]]) -> bool {
    let mut inside = false;
    let n = poly.len();
    for i in 0..n {
        let a = poly[i];
        let b = poly[(i + n - 1) % n];
        if (a[1] > p[1]) != (b[1] > p[1]) {
            let x = a[0] + (p[1] - a[1]) * (b[0] - a[0]) / (b[1] - a[1]);
            if p[0] < x {
                inside = !inside;
            }
        }
    }
    inside
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(n: usize) -> Vec<[f32; 2]> {
        // Clustered, uneven points (a deterministic generator).
        let mut s = 0x9E37_79B9_7F4A_7C15_u64;
        let mut r = || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32
        };
        (0..n)
            .map(|i| {
                let c = (i % 5) as f32 * 3.0;
                [c + r() * r() * 2.0, -c + r() * 0.5]
            })
            .collect()
    }

    fn brute_nearest(points: &[[f32; 2]], p: [f32; 2], r: f32) -> Option<usize> {
        let mut best: Option<(f32, usize)> = None;
        for (i, q) in points.iter().enumerate() {
            let d = (q[0] - p[0]).powi(2) + (q[1] - p[1]).powi(2);
            if d <= r * r && best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, i));
            }
        }
        best.map(|(_, i)| i)
    }

    #[test]
    fn nearest_equals_a_full_scan() {
        let pts = cloud(20_000);
        let g = Grid::new(&pts);
        for k in 0..2_000 {
            let p = [
                -1.0 + (k % 50) as f32 * 0.33,
                -13.0 + (k / 50) as f32 * 0.37,
            ];
            for r in [0.01f32, 0.1, 1.0] {
                assert_eq!(
                    g.nearest(&pts, p, r),
                    brute_nearest(&pts, p, r),
                    "{p:?} r {r}"
                );
            }
        }
    }

    #[test]
    fn rectangle_and_polygon_equal_a_full_scan() {
        let pts = cloud(5_000);
        let g = Grid::new(&pts);
        let (a, b) = ([1.0, -7.0], [6.5, -2.0]);
        let want: Vec<usize> = (0..pts.len())
            .filter(|&i| {
                let q = pts[i];
                q[0] >= 1.0 && q[0] <= 6.5 && q[1] >= -7.0 && q[1] <= -2.0
            })
            .collect();
        assert_eq!(g.in_rect(&pts, b, a), want);
        let tri = [[0.0, 0.5], [12.0, 0.5], [0.0, -13.0]];
        let want: Vec<usize> = (0..pts.len())
            .filter(|&i| point_in_polygon(pts[i], &tri))
            .collect();
        assert!(!want.is_empty() && want.len() < pts.len());
        assert_eq!(g.in_polygon(&pts, &tri), want);
        assert!(g.in_polygon(&pts, &tri[..2]).is_empty());
    }

    #[test]
    fn degenerate_inputs() {
        let g = Grid::new(&[]);
        assert_eq!(g.nearest(&[], [0.0, 0.0], 1.0), None);
        let same = vec![[1.0, 1.0]; 10];
        let g = Grid::new(&same);
        assert_eq!(g.nearest(&same, [1.0, 1.0], 0.1), Some(0));
        let with_nan = vec![[f32::NAN, 0.0], [0.0, 0.0]];
        let g = Grid::new(&with_nan);
        assert_eq!(g.nearest(&with_nan, [0.0, 0.0], 1.0), Some(1));
        assert_eq!(g.in_rect(&with_nan, [-1.0, -1.0], [1.0, 1.0]), vec![1]);
    }
}
