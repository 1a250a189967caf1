//! The optimiser's working order of the points. The attractive pass reads, for every point, the
//! layout positions of its ~100 affinity neighbours; in the input's order (a vocabulary sorted
//! by frequency, a corpus in file order) those reads land anywhere in the layout array, and
//! beyond a few hundred thousand points the array no longer fits in the core's cache. Sorting
//! the points along a Hilbert curve over the current layout puts neighbours in the layout (and,
//! once the layout has formed, neighbours in the affinities) next to each other in memory; the
//! FFT's spreading and interpolation, which visit points box by box, profit too.
//!
//! The order is a permutation of the optimiser's arrays only: every point keeps its own state,
//! each affinity row keeps its entries in the same sequence, and the layout handed out is put
//! back into the input's order. The sort key is the curve position with the input row as the
//! tie-break, so the order (and the run) stays deterministic on any number of threads.

use rayon::prelude::*;

/// Bits per axis of the curve's grid.
const BITS: u32 = 16;

const SIDE: u32 = 1 << BITS;

/// Position of cell (x, y) (both below `SIDE`) along a Hilbert curve over the SIDE x SIDE grid.
fn hilbert(mut x: u32, mut y: u32) -> u64 {
    let mut d = 0u64;
    let mut s = 1u32 << (BITS - 1);
    while s > 0 {
        let rx = u32::from(x & s != 0);
        let ry = u32::from(y & s != 0);
        d += u64::from(s) * u64::from(s) * u64::from((3 * rx) ^ ry);
        // Rotate the quadrant so the curve inside it runs the canonical way.
        if ry == 0 {
            if rx == 1 {
                x = SIDE - 1 - x;
                y = SIDE - 1 - y;
            }
            std::mem::swap(&mut x, &mut y);
        }
        s >>= 1;
    }
    d
}

/// The points' current order: `rows[r]` is the input row at position `r`.
pub struct Order {
    rows: Vec<u32>,
}

/// A sparse row structure the order permutes (rows and column labels).
pub trait Relabel {
    /// The same matrix with row `r` = old row `from[r]` and every column label `j` replaced
    /// by `to[j]`.
    fn permuted(&self, from: &[u32], to: &[u32]) -> Self;
}

impl Order {
    pub fn identity(n: usize) -> Order {
        Order {
            rows: (0..n as u32).collect(),
        }
    }

    /// Sorts the points along the Hilbert curve of the first two coordinates of the layout
    /// `arrays[0]` (n x dims, current order), permuting every array of `arrays` (each holds
    /// the same number of values per point) and `matrix` to match.
    pub fn relocate<M: Relabel>(
        &mut self,
        dims: usize,
        arrays: &mut [&mut Vec<f64>],
        matrix: &mut M,
    ) {
        let Some(first) = arrays.first() else {
            return;
        };
        let n = self.rows.len();
        if n < 2 || dims < 2 || first.len() != n * dims {
            return;
        }
        let y = &**first;
        let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
        for p in y.chunks_exact(dims) {
            for a in 0..2 {
                lo[a] = lo[a].min(p[a]);
                hi[a] = hi[a].max(p[a]);
            }
        }
        let cells = f64::from(SIDE - 1);
        let scale: Vec<f64> = (0..2)
            .map(|a| {
                let w = hi[a] - lo[a];
                if w > 0.0 && w.is_finite() {
                    cells / w
                } else {
                    0.0
                }
            })
            .collect();
        let rows = &self.rows;
        let mut keyed: Vec<(u64, u32, u32)> = y
            .par_chunks_exact(dims)
            .enumerate()
            .map(|(pos, p)| {
                let c = |a: usize| ((p[a] - lo[a]) * scale[a]).clamp(0.0, cells) as u32;
                (hilbert(c(0), c(1)), rows[pos], pos as u32)
            })
            .collect();
        keyed.par_sort_unstable_by_key(|&(key, row, _)| (key, row));
        // from[r]: the current position moving to r; to[pos]: where position pos goes.
        let from: Vec<u32> = keyed.iter().map(|e| e.2).collect();
        let mut to = vec![0u32; n];
        for (r, &f) in from.iter().enumerate() {
            to[f as usize] = r as u32;
        }
        self.rows = from.iter().map(|&f| self.rows[f as usize]).collect();
        for a in arrays.iter_mut() {
            let d = a.len() / n;
            let mut out = vec![0.0; a.len()];
            out.par_chunks_mut(d).zip(&from).for_each(|(o, &f)| {
                o.copy_from_slice(&a[f as usize * d..(f as usize + 1) * d]);
            });
            **a = out;
        }
        *matrix = matrix.permuted(&from, &to);
    }

    /// `layout` (n x dims, current order) in the input's order.
    pub fn restore(&self, layout: &[f64], dims: usize) -> Vec<f64> {
        let mut out = vec![0.0; layout.len()];
        for (pos, &row) in self.rows.iter().enumerate() {
            let row = row as usize;
            out[row * dims..(row + 1) * dims]
                .copy_from_slice(&layout[pos * dims..(pos + 1) * dims]);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hilbert_visits_every_cell_once_through_neighbouring_cells() {
        // On a 2^BITS grid checking everything is too slow: check the 16 x 16 corner the curve
        // fills first (the first 256 positions) and the adjacency of consecutive cells there.
        let mut seen = std::collections::HashMap::new();
        for x in 0..16u32 {
            for y in 0..16u32 {
                seen.insert(hilbert(x, y), (x, y));
            }
        }
        let mut keys: Vec<u64> = seen.keys().copied().collect();
        keys.sort_unstable();
        assert_eq!(keys, (0..256).collect::<Vec<u64>>());
        for d in 1..256u64 {
            let (a, b) = (seen[&(d - 1)], seen[&d]);
            let step = a.0.abs_diff(b.0) + a.1.abs_diff(b.1);
            assert_eq!(step, 1, "positions {} and {d}: {a:?} -> {b:?}", d - 1);
        }
    }

    struct Rows(Vec<Vec<u32>>);
    impl Relabel for Rows {
        fn permuted(&self, from: &[u32], to: &[u32]) -> Rows {
            Rows(
                from.iter()
                    .map(|&f| self.0[f as usize].iter().map(|&j| to[j as usize]).collect())
                    .collect(),
            )
        }
    }

    #[test]
    fn relocation_is_a_consistent_permutation() {
        let mut rng = crate::analysis::project::Rng::new(5);
        let n = 500;
        let y0: Vec<f64> = (0..2 * n).map(|_| rng.normal()).collect();
        let g0: Vec<f64> = (0..2 * n).map(|i| i as f64).collect();
        // Row i links to rows i+1 and i+7 (mod n).
        let m0 = Rows(
            (0..n as u32)
                .map(|i| vec![(i + 1) % n as u32, (i + 7) % n as u32])
                .collect(),
        );
        let (mut y, mut g, mut m) = (y0.clone(), g0.clone(), Rows(m0.0.clone()));
        let mut order = Order::identity(n);
        for round in 0..3 {
            // Move the layout between rounds so each relocation sees a new arrangement.
            y.iter_mut()
                .for_each(|v| *v = (*v * 1.7 + round as f64).sin());
            let expect_y = order.restore(&y, 2);
            order.relocate(2, &mut [&mut y, &mut g], &mut m);
            assert_eq!(order.restore(&y, 2), expect_y, "round {round}");
            // Every array and the matrix moved together: the input row of each position.
            let back_g = order.restore(&g, 2);
            assert_eq!(back_g, g0);
            for (pos, links) in m.0.iter().enumerate() {
                let row = order.rows[pos];
                let want: Vec<u32> = m0.0[row as usize]
                    .iter()
                    .map(|&j| order.rows.iter().position(|&r| r == j).unwrap() as u32)
                    .collect();
                assert_eq!(links, &want);
            }
        }
        // Positions follow the curve: consecutive points are close on average (the input's
        // random order is not).
        let gap = |y: &[f64]| {
            y.chunks(2)
                .zip(y.chunks(2).skip(1))
                .map(|(a, b)| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt())
                .sum::<f64>()
        };
        assert!(gap(&y) < gap(&order.restore(&y, 2)) / 5.0);
    }
}
