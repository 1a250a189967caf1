//! Kernel density of 2-D map points, for contour lines over a map where points overplot.
//!
//! The estimate is the standard *binned* Gaussian KDE: the points are linearly binned onto a
//! regular `G x G` lattice spanning their bounding box widened by `margin` bandwidths on each
//! side (each point's unit weight split between the four nodes around it, bilinearly), then the
//! counts are convolved with the Gaussian kernel, one axis after the other (the kernel is
//! separable; it is cut at 5 bandwidths, where it has fallen below 4e-6 of its peak). The value
//! at a node approximates
//!
//! ```text
//! f(x, y) = 1/n * sum_i  phi((x - x_i) / h_x) / h_x  *  phi((y - y_i) / h_y) / h_y
//! ```
//!
//! over the `n` points kept (by the optional per-point mask) with finite coordinates; `phi` is
//! the standard normal density. Linear binning keeps every point's mass and its mean exactly;
//! what it changes is a spread of at most a quarter of a squared lattice step per axis, so the
//! error relative to the peak is of the order of `(step / h)^2 / 12` per axis (under 0.1% on
//! the default 256 lattice for the bandwidths maps give).
//!
//! **Bandwidth.** [`Bandwidth::Scott`] is Scott's rule as `scipy.stats.gaussian_kde` applies it
//! by default, `factor = n^(-1/(d+4)) = n^(-1/6)` times the data's standard deviation (with
//! `n - 1` in the denominator, as numpy's `cov`), **per axis**: the bandwidth matrix here is
//! diagonal, `diag(h_x^2, h_y^2)`. scipy scales the full sample covariance instead; the two
//! agree exactly when the points' sample covariance is diagonal (the reference fixture's points
//! are turned onto their principal axes so that it is, `tests/fixtures/gen/density_reference.py`),
//! and a diagonal kernel is what a separable convolution can do. [`Bandwidth::Fixed`] gives
//! `h_x, h_y` in map units.
//!
//! **Levels** are highest-density regions ([`hdr_levels`]): for a mass fraction `p` the
//! threshold `t` such that the lattice cells with density at least `t` hold a share `p` of the
//! lattice's total mass (the smallest region holding it: `p = 0.25` is the densest quarter).
//! **Contours** are traced by marching squares ([`marching_squares`]) into polylines in map
//! coordinates; a saddle cell is resolved by the average of its four corners (the centre joins
//! the corners on its side of the level), so the lines never cross.
//!
//! Everything is deterministic: the parallel parts (rayon) use partitions fixed by the input
//! size, never by the number of threads.

use std::collections::HashMap;

use rayon::prelude::*;

use crate::analysis::AnalysisError;

/// Nodes per axis of the default lattice.
pub const DEFAULT_GRID: usize = 256;
/// Bandwidths added beyond the bounding box on each side.
pub const DEFAULT_MARGIN: f64 = 3.0;
/// The mass fractions of the app's contours, densest first.
pub const DEFAULT_FRACTIONS: [f64; 4] = [0.25, 0.5, 0.75, 0.9];
/// The kernel is cut at this many bandwidths.
const TRUNCATE: f64 = 5.0;
/// Points per chunk of the statistics pass.
const STATS_CHUNK: usize = 1 << 16;
/// At most this many partial lattices are binned in parallel (and summed in order).
const MAX_BIN_CHUNKS: usize = 8;
/// At least this many points per binned chunk.
const MIN_BIN_CHUNK: usize = 1 << 16;

/// How the kernel's width is chosen.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Bandwidth {
    /// Scott's rule per axis (see the module documentation).
    Scott,
    /// `[h_x, h_y]` in map units.
    Fixed([f64; 2]),
}

/// Parameters of the estimate; [`DensityParams::check`] gives the [`ValidDensity`] the
/// functions take.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DensityParams {
    /// Lattice nodes per axis (8 to 2048).
    pub grid: usize,
    pub bandwidth: Bandwidth,
    /// Bandwidths added beyond the bounding box on each side (1 to 10).
    pub margin: f64,
}

impl Default for DensityParams {
    fn default() -> Self {
        DensityParams {
            grid: DEFAULT_GRID,
            bandwidth: Bandwidth::Scott,
            margin: DEFAULT_MARGIN,
        }
    }
}

/// Checked parameters.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ValidDensity {
    grid: usize,
    bandwidth: Bandwidth,
    margin: f64,
}

impl DensityParams {
    pub fn check(&self) -> Result<ValidDensity, AnalysisError> {
        let bad = |m: String| Err(AnalysisError::InvalidParameter(m));
        if !(8..=2048).contains(&self.grid) {
            return bad(format!(
                "density grid: {} nodes per axis; use 8 to 2048",
                self.grid
            ));
        }
        if let Bandwidth::Fixed(h) = self.bandwidth
            && !h.iter().all(|v| v.is_finite() && *v > 0.0)
        {
            return bad(format!(
                "density bandwidth {h:?}: both axes must be finite and above zero"
            ));
        }
        if !(1.0..=10.0).contains(&self.margin) {
            return bad(format!(
                "density margin {}: use 1 to 10 bandwidths",
                self.margin
            ));
        }
        Ok(ValidDensity {
            grid: self.grid,
            bandwidth: self.bandwidth,
            margin: self.margin,
        })
    }
}

/// A regular lattice: node `(i, j)` (`i` along x) sits at `origin + (i, j) * step`; values are
/// stored row by row, `j * size[0] + i`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Lattice {
    pub size: [usize; 2],
    pub origin: [f64; 2],
    pub step: [f64; 2],
}

impl Lattice {
    pub fn len(&self) -> usize {
        self.size[0] * self.size[1]
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The map position of node `(i, j)`.
    pub fn node(&self, i: usize, j: usize) -> [f64; 2] {
        [
            self.origin[0] + i as f64 * self.step[0],
            self.origin[1] + j as f64 * self.step[1],
        ]
    }
}

/// The density on a lattice, with what it was made from.
#[derive(Debug, Clone, PartialEq)]
pub struct DensityGrid {
    pub lattice: Lattice,
    /// Density at each node (per squared map unit), row by row.
    pub values: Vec<f64>,
    /// `[h_x, h_y]` used.
    pub bandwidth: [f64; 2],
    /// Points that entered the estimate (kept and finite).
    pub points: usize,
    /// Points left out for non-finite coordinates (among the kept ones).
    pub non_finite: usize,
}

impl DensityGrid {
    /// Bandwidth over lattice step, on the coarser axis: below about 1 the lattice is too
    /// coarse for the kernel (far outliers stretch the bounding box) and the estimate turns
    /// into a histogram of the nodes.
    pub fn resolution(&self) -> f64 {
        (self.bandwidth[0] / self.lattice.step[0]).min(self.bandwidth[1] / self.lattice.step[1])
    }

    /// The contour lines at `level` (see [`marching_squares`]).
    pub fn contour(&self, level: f64) -> Vec<Polyline> {
        trace(&self.lattice, &self.values, level)
    }
}

/// One contour line in map coordinates. A closed one does not repeat its first point.
#[derive(Debug, Clone, PartialEq)]
pub struct Polyline {
    pub points: Vec<[f32; 2]>,
    pub closed: bool,
}

/// The contours of one highest-density region.
#[derive(Debug, Clone, PartialEq)]
pub struct ContourLevel {
    /// The share of the mass inside.
    pub fraction: f64,
    /// The density on the line.
    pub threshold: f64,
    pub lines: Vec<Polyline>,
}

/// Count, mean, sum of squared deviations and range of the usable points of a chunk.
#[derive(Debug, Clone, Copy)]
struct Moments {
    n: u64,
    non_finite: u64,
    mean: [f64; 2],
    m2: [f64; 2],
    lo: [f64; 2],
    hi: [f64; 2],
}

impl Moments {
    const EMPTY: Moments = Moments {
        n: 0,
        non_finite: 0,
        mean: [0.0; 2],
        m2: [0.0; 2],
        lo: [f64::INFINITY; 2],
        hi: [f64::NEG_INFINITY; 2],
    };

    /// Chan et al.'s pairwise update.
    fn merge(self, o: Moments) -> Moments {
        let non_finite = self.non_finite + o.non_finite;
        if o.n == 0 {
            return Moments { non_finite, ..self };
        }
        if self.n == 0 {
            return Moments { non_finite, ..o };
        }
        let (na, nb) = (self.n as f64, o.n as f64);
        let n = na + nb;
        let mut out = Moments {
            n: self.n + o.n,
            non_finite,
            ..self
        };
        for a in 0..2 {
            let d = o.mean[a] - self.mean[a];
            out.mean[a] = self.mean[a] + d * nb / n;
            out.m2[a] = self.m2[a] + o.m2[a] + d * d * na * nb / n;
            out.lo[a] = self.lo[a].min(o.lo[a]);
            out.hi[a] = self.hi[a].max(o.hi[a]);
        }
        out
    }
}

fn usable(p: &[f32; 2]) -> bool {
    p[0].is_finite() && p[1].is_finite()
}

/// Calls `$f` (a generic function) with the points of `$points` the mask `$keep` keeps (every
/// one without a mask): one loop each way, no test of the mask's absence per point.
macro_rules! with_kept {
    ($points:expr, $keep:expr, $f:ident($($arg:expr),*)) => {
        match $keep {
            None => $f($points.iter(), $($arg),*),
            Some(m) => $f(
                $points.iter().zip(m).filter_map(|(p, &k)| k.then_some(p)),
                $($arg),*
            ),
        }
    };
}

/// Count, non-finite count, sums and range of the points.
fn first_pass<'a>(
    it: impl Iterator<Item = &'a [f32; 2]>,
) -> (u64, u64, [f64; 2], [f32; 2], [f32; 2]) {
    let (mut n, mut bad) = (0u64, 0u64);
    let mut sum = [0f64; 2];
    let mut lo = [f32::INFINITY; 2];
    let mut hi = [f32::NEG_INFINITY; 2];
    for p in it {
        if !usable(p) {
            bad += 1;
            continue;
        }
        n += 1;
        sum[0] += f64::from(p[0]);
        sum[1] += f64::from(p[1]);
        lo = [lo[0].min(p[0]), lo[1].min(p[1])];
        hi = [hi[0].max(p[0]), hi[1].max(p[1])];
    }
    (n, bad, sum, lo, hi)
}

/// Sums of squared deviations from `mean`.
fn second_pass<'a>(it: impl Iterator<Item = &'a [f32; 2]>, mean: [f64; 2]) -> [f64; 2] {
    let mut m2 = [0f64; 2];
    for p in it.filter(|p| usable(p)) {
        let (dx, dy) = (f64::from(p[0]) - mean[0], f64::from(p[1]) - mean[1]);
        m2[0] += dx * dx;
        m2[1] += dy * dy;
    }
    m2
}

fn chunk_moments(points: &[[f32; 2]], keep: Option<&[bool]>) -> Moments {
    let (n, non_finite, sum, lo, hi) = with_kept!(points, keep, first_pass());
    let mut m = Moments {
        non_finite,
        ..Moments::EMPTY
    };
    if n == 0 {
        return m;
    }
    m.n = n;
    m.lo = lo.map(f64::from);
    m.hi = hi.map(f64::from);
    m.mean = [sum[0] / n as f64, sum[1] / n as f64];
    m.m2 = with_kept!(points, keep, second_pass(m.mean));
    m
}

/// The statistics of the kept, finite points (fixed chunks, merged in order).
fn moments(points: &[[f32; 2]], keep: Option<&[bool]>) -> Moments {
    points
        .par_chunks(STATS_CHUNK)
        .enumerate()
        .map(|(c, pts)| {
            let start = c * STATS_CHUNK;
            chunk_moments(pts, keep.map(|m| &m[start..start + pts.len()]))
        })
        .collect::<Vec<_>>()
        .into_iter()
        .fold(Moments::EMPTY, Moments::merge)
}

fn check_mask(points: &[[f32; 2]], keep: Option<&[bool]>) -> Result<(), AnalysisError> {
    match keep {
        Some(m) if m.len() != points.len() => Err(AnalysisError::InvalidParameter(format!(
            "density: the mask has {} entries for {} points",
            m.len(),
            points.len()
        ))),
        _ => Ok(()),
    }
}

fn no_points(points: usize, m: &Moments) -> AnalysisError {
    AnalysisError::InvalidParameter(if points == 0 {
        "density: no points".to_string()
    } else if m.non_finite > 0 {
        format!(
            "density: none of the {} points kept has finite coordinates",
            m.non_finite
        )
    } else {
        format!("density: every one of the {points} points is masked out")
    })
}

/// Scott's rule per axis: `n^(-1/6)` times each axis's sample standard deviation (`n - 1`),
/// over the kept points with finite coordinates.
pub fn scott_bandwidth(
    points: &[[f32; 2]],
    keep: Option<&[bool]>,
) -> Result<[f64; 2], AnalysisError> {
    check_mask(points, keep)?;
    let m = moments(points, keep);
    scott(&m, points.len())
}

fn scott(m: &Moments, total: usize) -> Result<[f64; 2], AnalysisError> {
    if m.n == 0 {
        return Err(no_points(total, m));
    }
    if m.n < 2 {
        return Err(AnalysisError::InvalidParameter(
            "density: Scott's rule needs at least two points (give a bandwidth)".into(),
        ));
    }
    let n = m.n as f64;
    let factor = n.powf(-1.0 / 6.0);
    let mut h = [0f64; 2];
    for a in 0..2 {
        h[a] = (m.m2[a] / (n - 1.0)).sqrt() * factor;
        if !(h[a].is_finite() && h[a] > 0.0) {
            return Err(AnalysisError::InvalidParameter(format!(
                "density: the points do not spread along {} (every value {}), so Scott's rule \
                 gives no bandwidth (give one)",
                ["x", "y"][a],
                m.lo[a]
            )));
        }
    }
    Ok(h)
}

/// The binned Gaussian KDE of the points (those `keep` marks, when given; non-finite ones are
/// skipped and counted) on a lattice over their bounding box plus `margin` bandwidths.
///
/// Errors: a mask of another length; no usable point; Scott's rule on fewer than two points or
/// on points that do not spread along an axis.
pub fn estimate(
    points: &[[f32; 2]],
    keep: Option<&[bool]>,
    params: &ValidDensity,
) -> Result<DensityGrid, AnalysisError> {
    check_mask(points, keep)?;
    let m = moments(points, keep);
    if m.n == 0 {
        return Err(no_points(points.len(), &m));
    }
    let h = match params.bandwidth {
        Bandwidth::Scott => scott(&m, points.len())?,
        Bandwidth::Fixed(h) => h,
    };
    let g = params.grid;
    let mut origin = [0f64; 2];
    let mut step = [0f64; 2];
    for a in 0..2 {
        let lo = m.lo[a] - params.margin * h[a];
        let hi = m.hi[a] + params.margin * h[a];
        origin[a] = lo;
        step[a] = (hi - lo) / (g - 1) as f64;
        if !(step[a].is_finite() && step[a] > 0.0) {
            return Err(AnalysisError::InvalidParameter(format!(
                "density: the {} range {lo}..{hi} cannot be divided into a lattice",
                ["x", "y"][a]
            )));
        }
    }
    let lattice = Lattice {
        size: [g, g],
        origin,
        step,
    };
    let counts = bin(points, keep, &lattice);
    let values = blur(&counts, &lattice, h, m.n as f64);
    Ok(DensityGrid {
        lattice,
        values,
        bandwidth: h,
        points: m.n as usize,
        non_finite: m.non_finite as usize,
    })
}

/// Linear binning: each point's unit weight split bilinearly between the four nodes around it.
/// Fixed chunks (by the input size), each into its own lattice, summed in order.
fn bin(points: &[[f32; 2]], keep: Option<&[bool]>, l: &Lattice) -> Vec<f64> {
    let [nx, ny] = l.size;
    let chunk = points.len().div_ceil(MAX_BIN_CHUNKS).max(MIN_BIN_CHUNK);
    let partial: Vec<Vec<f64>> = points
        .par_chunks(chunk)
        .enumerate()
        .map(|(c, pts)| {
            let start = c * chunk;
            let keep = keep.map(|m| &m[start..start + pts.len()]);
            let mut acc = vec![0f64; nx * ny];
            with_kept!(pts, keep, bin_into(&mut acc, l));
            acc
        })
        .collect();
    let mut it = partial.into_iter();
    let mut out = it.next().unwrap_or_else(|| vec![0f64; nx * ny]);
    for p in it {
        for (o, v) in out.iter_mut().zip(p) {
            *o += v;
        }
    }
    out
}

/// Adds the points' bilinear weights to `acc` (the lattice's nodes, row by row).
fn bin_into<'a>(it: impl Iterator<Item = &'a [f32; 2]>, acc: &mut [f64], l: &Lattice) {
    let [nx, ny] = l.size;
    let inv = [1.0 / l.step[0], 1.0 / l.step[1]];
    let locate = |v: f32, a: usize, n: usize| -> (usize, f64) {
        let f = (f64::from(v) - l.origin[a]) * inv[a];
        // Inside by construction (f >= 0: truncation is the floor; a cast saturates); the
        // clamps only guard the last node and rounding.
        let i = (f as usize).min(n - 2);
        (i, (f - i as f64).clamp(0.0, 1.0))
    };
    for p in it.filter(|p| usable(p)) {
        let (i, tx) = locate(p[0], 0, nx);
        let (j, ty) = locate(p[1], 1, ny);
        let o = j * nx + i;
        acc[o] += (1.0 - tx) * (1.0 - ty);
        acc[o + 1] += tx * (1.0 - ty);
        acc[o + nx] += (1.0 - tx) * ty;
        acc[o + nx + 1] += tx * ty;
    }
}

/// The Gaussian's weights at lattice offsets 0..=L (per map unit: `phi(k step / h) / h`).
fn kernel(h: f64, step: f64, nodes: usize) -> Vec<f64> {
    let sigma = h / step;
    let len = ((TRUNCATE * sigma).ceil() as usize).min(nodes - 1);
    let norm = 1.0 / ((2.0 * std::f64::consts::PI).sqrt() * h);
    (0..=len)
        .map(|k| {
            let z = k as f64 / sigma;
            (-0.5 * z * z).exp() * norm
        })
        .collect()
}

/// Separable convolution of the counts with the kernel (x along rows, then y), divided by `n`.
fn blur(counts: &[f64], l: &Lattice, h: [f64; 2], n: f64) -> Vec<f64> {
    let [nx, ny] = l.size;
    let mut kx = kernel(h[0], l.step[0], nx);
    for w in &mut kx {
        *w /= n;
    }
    let ky = kernel(h[1], l.step[1], ny);
    // Along x: each row padded with zeros, then one pass over it per kernel offset.
    let r = kx.len() - 1;
    let mut tmp = vec![0f64; nx * ny];
    tmp.par_chunks_mut(nx)
        .zip(counts.par_chunks(nx))
        .for_each(|(out, row)| {
            if row.iter().all(|&c| c == 0.0) {
                return;
            }
            let mut padded = vec![0f64; nx + 2 * r];
            padded[r..r + nx].copy_from_slice(row);
            for (o, c) in out.iter_mut().zip(row) {
                *o = kx[0] * c;
            }
            for (k, w) in kx.iter().enumerate().skip(1) {
                let left = &padded[r - k..r - k + nx];
                let right = &padded[r + k..r + k + nx];
                for ((o, a), b) in out.iter_mut().zip(left).zip(right) {
                    *o += w * (a + b);
                }
            }
        });
    let live: Vec<bool> = tmp
        .chunks(nx)
        .map(|row| row.iter().any(|&v| v != 0.0))
        .collect();
    // Along y: each output row a weighted sum of the rows around it.
    let mut out = vec![0f64; nx * ny];
    out.par_chunks_mut(nx).enumerate().for_each(|(j, row)| {
        let r = ky.len() - 1;
        let lo = j.saturating_sub(r);
        let hi = (j + r).min(ny - 1);
        for s in lo..=hi {
            if !live[s] {
                continue;
            }
            let w = ky[s.abs_diff(j)];
            for (o, v) in row.iter_mut().zip(&tmp[s * nx..(s + 1) * nx]) {
                *o += w * v;
            }
        }
    });
    out
}

/// Highest-density-region thresholds: for each mass fraction `p` (0 < p <= 1) the density `t`
/// such that the lattice cells with density at least `t` hold a share `p` of the lattice's
/// total mass: the densest cells are taken until their mass reaches `p`, so the share above
/// `t` exceeds `p` by less than the mass of one cell (more only where cells tie at `t`).
/// Returned in the order of `fractions`.
pub fn hdr_levels(grid: &DensityGrid, fractions: &[f64]) -> Result<Vec<f64>, AnalysisError> {
    if let Some(p) = fractions
        .iter()
        .find(|p| !(p.is_finite() && **p > 0.0 && **p <= 1.0))
    {
        return Err(AnalysisError::InvalidParameter(format!(
            "density level: mass fraction {p} is not in (0, 1]"
        )));
    }
    // Positive finite floats order as their bit patterns do: sorted as integers, densest first.
    let mut bits: Vec<u64> = grid
        .values
        .iter()
        .filter(|v| v.is_finite() && **v > 0.0)
        .map(|v| v.to_bits())
        .collect();
    bits.par_sort_unstable_by(|a, b| b.cmp(a));
    let sorted: Vec<f64> = bits.into_iter().map(f64::from_bits).collect();
    let mut prefix = Vec::with_capacity(sorted.len());
    let mut run = 0f64;
    for v in &sorted {
        run += v;
        prefix.push(run);
    }
    if !(run.is_finite() && run > 0.0) {
        return Err(AnalysisError::InvalidParameter(
            "density level: the density is zero everywhere".into(),
        ));
    }
    Ok(fractions
        .iter()
        .map(|p| {
            let target = p * run;
            let k = prefix
                .partition_point(|&c| c < target)
                .min(sorted.len() - 1);
            sorted[k]
        })
        .collect())
}

/// The contour lines of the highest-density regions holding `fractions` of the mass (in that
/// order; see [`hdr_levels`]), traced in parallel.
pub fn contours(grid: &DensityGrid, fractions: &[f64]) -> Result<Vec<ContourLevel>, AnalysisError> {
    let thresholds = hdr_levels(grid, fractions)?;
    Ok(fractions
        .par_iter()
        .zip(thresholds)
        .map(|(&fraction, threshold)| ContourLevel {
            fraction,
            threshold,
            lines: grid.contour(threshold),
        })
        .collect())
}

/// Marching squares: the lines where the field `values` (on `lattice`, row by row) crosses
/// `level`, as polylines in map coordinates: closed loops, and open lines that end on the
/// lattice's border. A node counts as inside when its value is at least `level` (a non-finite
/// value counts as outside; a crossing beside one sits mid-edge). A saddle cell (opposite
/// corners on the same side) is split by the average of its corners: the corners on the other
/// side of the level than that average are cut off, so lines never cross or touch.
///
/// Errors: `values` of another length than the lattice.
pub fn marching_squares(
    lattice: &Lattice,
    values: &[f64],
    level: f64,
) -> Result<Vec<Polyline>, AnalysisError> {
    if values.len() != lattice.len() {
        return Err(AnalysisError::InvalidParameter(format!(
            "contour: {} values for a {} x {} lattice",
            values.len(),
            lattice.size[0],
            lattice.size[1]
        )));
    }
    Ok(trace(lattice, values, level))
}

fn trace(l: &Lattice, values: &[f64], level: f64) -> Vec<Polyline> {
    let [nx, ny] = l.size;
    if nx < 2 || ny < 2 || values.len() != nx * ny {
        return Vec::new();
    }
    let inside = |k: usize| values[k] >= level;
    // Edge ids: 2 * node for the edge to the right of the node, + 1 for the edge above it.
    let segments: Vec<(usize, usize)> = (0..ny - 1)
        .into_par_iter()
        .map(|j| {
            let mut segs = Vec::new();
            for i in 0..nx - 1 {
                let c = [
                    j * nx + i,
                    j * nx + i + 1,
                    (j + 1) * nx + i + 1,
                    (j + 1) * nx + i,
                ];
                let s = c.map(inside);
                if s.iter().all(|&v| v == s[0]) {
                    continue;
                }
                // Edges: bottom, right, top, left; corner k lies between edges k-1 and k.
                let e = [2 * c[0], 2 * c[1] + 1, 2 * c[3], 2 * c[0] + 1];
                let cross = [s[0] != s[1], s[1] != s[2], s[2] != s[3], s[3] != s[0]];
                let n = cross.iter().filter(|&&x| x).count();
                if n == 2 {
                    let mut it = (0..4).filter(|&k| cross[k]);
                    if let (Some(a), Some(b)) = (it.next(), it.next()) {
                        segs.push((e[a], e[b]));
                    }
                } else {
                    let centre = c.iter().map(|&k| values[k]).sum::<f64>() / 4.0;
                    let mid = centre >= level;
                    // Corner k's edges: bottom-left (3, 0), bottom-right (0, 1), top-right
                    // (1, 2), top-left (2, 3).
                    for (k, &side) in s.iter().enumerate() {
                        if side != mid {
                            segs.push((e[(k + 3) % 4], e[k]));
                        }
                    }
                }
            }
            segs
        })
        .flatten_iter()
        .collect();
    if segments.is_empty() {
        return Vec::new();
    }
    let position = |edge: usize| -> [f32; 2] {
        let a = edge / 2;
        let b = if edge.is_multiple_of(2) {
            a + 1
        } else {
            a + nx
        };
        let (va, vb) = (values[a], values[b]);
        let mut t = (level - va) / (vb - va);
        if !t.is_finite() {
            t = 0.5;
        }
        let t = t.clamp(0.0, 1.0);
        let pa = l.node(a % nx, a / nx);
        let pb = l.node(b % nx, b / nx);
        [
            (pa[0] + t * (pb[0] - pa[0])) as f32,
            (pa[1] + t * (pb[1] - pa[1])) as f32,
        ]
    };
    // Each crossed edge belongs to at most two segments (one per cell beside it).
    let mut at: HashMap<usize, [u32; 2]> = HashMap::with_capacity(segments.len() * 2);
    for (s, &(a, b)) in segments.iter().enumerate() {
        for e in [a, b] {
            let slot = at.entry(e).or_insert([u32::MAX; 2]);
            if slot[0] == u32::MAX {
                slot[0] = s as u32;
            } else {
                slot[1] = s as u32;
            }
        }
    }
    let degree = |e: usize| {
        at.get(&e)
            .map_or(0, |s| s.iter().filter(|&&x| x != u32::MAX).count())
    };
    let mut used = vec![false; segments.len()];
    let mut lines = Vec::new();
    let walk = |start: usize, first: usize, used: &mut Vec<bool>| -> Polyline {
        let mut points = vec![position(start)];
        let (mut edge, mut seg) = (start, first);
        loop {
            used[seg] = true;
            let (a, b) = segments[seg];
            edge = if a == edge { b } else { a };
            points.push(position(edge));
            let next = at.get(&edge).and_then(|s| {
                s.iter()
                    .copied()
                    .find(|&x| x != u32::MAX && !used[x as usize])
            });
            match next {
                Some(x) => seg = x as usize,
                None => break,
            }
        }
        let closed = edge == start && points.len() > 2;
        if closed {
            points.pop();
        }
        Polyline { points, closed }
    };
    // Open lines from their ends first, then the loops.
    for s in 0..segments.len() {
        if used[s] {
            continue;
        }
        let (a, b) = segments[s];
        if degree(a) == 1 {
            lines.push(walk(a, s, &mut used));
        } else if degree(b) == 1 {
            lines.push(walk(b, s, &mut used));
        }
    }
    for s in 0..segments.len() {
        if !used[s] {
            lines.push(walk(segments[s].0, s, &mut used));
        }
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A seeded generator: uniform (0, 1) and standard normal draws.
    struct Rng(u64);

    impl Rng {
        fn uniform(&mut self) -> f64 {
            // splitmix64
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            ((z >> 11) as f64 + 0.5) / (1u64 << 53) as f64
        }

        fn normal(&mut self) -> f64 {
            let (u, v) = (self.uniform(), self.uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        }
    }

    /// `n` points from three Gaussian blobs of different sizes and a uniform background.
    fn mixture(n: usize, seed: u64) -> Vec<[f32; 2]> {
        let mut r = Rng(seed);
        let blobs = [([0.0, 0.0], 1.0), ([4.0, 1.0], 0.5), ([1.0, 5.0], 1.5)];
        (0..n)
            .map(|k| {
                if k % 10 == 9 {
                    return [
                        (r.uniform() * 12.0 - 4.0) as f32,
                        (r.uniform() * 14.0 - 4.0) as f32,
                    ];
                }
                let (c, s) = blobs[k % 3];
                [
                    (c[0] + s * r.normal()) as f32,
                    (c[1] + s * 0.7 * r.normal()) as f32,
                ]
            })
            .collect()
    }

    /// The exact KDE in f64 at a map position.
    fn brute(points: &[[f32; 2]], h: [f64; 2], at: [f64; 2]) -> f64 {
        let norm = 1.0 / (2.0 * std::f64::consts::PI * h[0] * h[1]);
        points
            .iter()
            .map(|p| {
                let zx = (at[0] - f64::from(p[0])) / h[0];
                let zy = (at[1] - f64::from(p[1])) / h[1];
                (-0.5 * (zx * zx + zy * zy)).exp() * norm
            })
            .sum::<f64>()
            / points.len() as f64
    }

    fn params(grid: usize, bandwidth: Bandwidth) -> ValidDensity {
        DensityParams {
            grid,
            bandwidth,
            margin: DEFAULT_MARGIN,
        }
        .check()
        .expect("valid")
    }

    /// Max |binned - exact| over every node, and the exact peak.
    fn error_vs_brute(g: &DensityGrid, points: &[[f32; 2]]) -> (f64, f64) {
        let [nx, ny] = g.lattice.size;
        let mut worst = 0f64;
        let mut peak = 0f64;
        for j in 0..ny {
            for i in 0..nx {
                let exact = brute(points, g.bandwidth, g.lattice.node(i, j));
                worst = worst.max((g.values[j * nx + i] - exact).abs());
                peak = peak.max(exact);
            }
        }
        (worst, peak)
    }

    // Linear binning moves no mass and keeps each point's mean; it adds a spread of at most
    // step^2 / 4 per axis (t (1 - t) step^2), which changes a Gaussian bump's peak by at most
    // about (step / h)^2 / 8 per axis; the kernel's cut at 5 bandwidths drops under 1e-5 of
    // it. With h at least 4 steps that is under 1.6% for a single point in the worst place and
    // averages out over many points (the mean spread is step^2 / 6): 1% of the peak is the bar.
    #[test]
    fn binned_density_matches_the_exact_kde_within_one_percent_of_the_peak() {
        let points = mixture(400, 7);
        // Scott's rule on the default lattice, and a narrow fixed kernel on a coarse one.
        for (grid, bw) in [
            (DEFAULT_GRID, Bandwidth::Scott),
            (192, Bandwidth::Fixed([0.5, 0.4])),
        ] {
            let g = estimate(&points, None, &params(grid, bw)).expect("density");
            assert_eq!(g.points, 400);
            let ratio = g.resolution();
            assert!(ratio >= 4.0, "bandwidth {ratio} steps");
            let (worst, peak) = error_vs_brute(&g, &points);
            eprintln!(
                "grid {grid}, h {:?} ({ratio:.1} steps): max error {:.2e} = {:.3}% of the peak",
                g.bandwidth,
                worst,
                100.0 * worst / peak
            );
            assert!(worst < 0.01 * peak, "{worst} vs peak {peak}");
            // The lattice holds the mass (the margin leaves out < 0.3%).
            let [dx, dy] = g.lattice.step;
            let mass: f64 = g.values.iter().sum::<f64>() * dx * dy;
            assert!((mass - 1.0).abs() < 0.005, "mass {mass}");
        }
    }

    #[test]
    fn scott_bandwidth_is_the_per_axis_rule() {
        let points = mixture(500, 3);
        let h = scott_bandwidth(&points, None).expect("h");
        let n = points.len() as f64;
        for (a, ha) in h.iter().enumerate() {
            let mean = points.iter().map(|p| f64::from(p[a])).sum::<f64>() / n;
            let var = points
                .iter()
                .map(|p| (f64::from(p[a]) - mean).powi(2))
                .sum::<f64>()
                / (n - 1.0);
            let want = var.sqrt() * n.powf(-1.0 / 6.0);
            assert!((ha - want).abs() < 1e-12 * want, "{ha} vs {want}");
        }
    }

    #[test]
    fn the_mask_and_non_finite_points_leave_rows_out() {
        let mut points = mixture(600, 11);
        points[5] = [f32::NAN, 1.0];
        points[17] = [2.0, f32::INFINITY];
        let keep: Vec<bool> = (0..points.len()).map(|k| k % 4 != 0).collect();
        let p = params(128, Bandwidth::Scott);
        let g = estimate(&points, Some(&keep), &p).expect("density");
        let used: Vec<[f32; 2]> = points
            .iter()
            .zip(&keep)
            .filter(|(q, k)| **k && q[0].is_finite() && q[1].is_finite())
            .map(|(q, _)| *q)
            .collect();
        assert_eq!(g.points, used.len());
        assert_eq!(g.non_finite, 2);
        let direct = estimate(&used, None, &p).expect("density");
        assert_eq!(g.bandwidth, direct.bandwidth);
        assert_eq!(g.lattice, direct.lattice);
        assert_eq!(g.values, direct.values, "the same sums in the same order");
        let (worst, peak) = error_vs_brute(&g, &used);
        assert!(worst < 0.01 * peak);
        // The same again: deterministic.
        assert_eq!(estimate(&points, Some(&keep), &p).expect("again"), g);
    }

    #[test]
    fn a_large_set_is_binned_in_chunks_and_keeps_its_mass() {
        let points = mixture(300_000, 5);
        let g = estimate(&points, None, &params(DEFAULT_GRID, Bandwidth::Scott)).expect("d");
        let [dx, dy] = g.lattice.step;
        let mass: f64 = g.values.iter().sum::<f64>() * dx * dy;
        assert!((mass - 1.0).abs() < 0.005, "mass {mass}");
        // Spot checks against the exact sum on a sample of nodes.
        let [nx, _] = g.lattice.size;
        let peak = g.values.iter().copied().fold(0.0, f64::max);
        for (i, j) in [(40, 60), (128, 128), (100, 150), (200, 90), (64, 200)] {
            let exact = brute(&points, g.bandwidth, g.lattice.node(i, j));
            let got = g.values[j * nx + i];
            assert!(
                (got - exact).abs() < 0.01 * peak,
                "({i},{j}) {got} vs {exact}"
            );
        }
    }

    #[test]
    fn hdr_levels_hold_the_asked_mass_within_one_cell() {
        let points = mixture(2_000, 21);
        let g = estimate(&points, None, &params(DEFAULT_GRID, Bandwidth::Scott)).expect("d");
        let fractions = [0.05, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0];
        let t = hdr_levels(&g, &fractions).expect("levels");
        let total: f64 = g.values.iter().sum();
        let cell = g.values.iter().copied().fold(0.0, f64::max);
        for (p, t) in fractions.iter().zip(&t) {
            let above: f64 = g.values.iter().filter(|&&v| v >= *t).sum();
            let share = above / total;
            assert!(share >= p - 1e-12, "{p}: {share}");
            assert!(share - p <= cell / total + 1e-12, "{p}: {share}");
        }
        for w in t.windows(2) {
            assert!(w[0] >= w[1], "denser regions have higher thresholds: {t:?}");
        }
        // The contours of each level exist and enclose the densest node.
        let levels = contours(&g, &DEFAULT_FRACTIONS).expect("contours");
        assert_eq!(levels.len(), 4);
        for l in &levels {
            assert!(!l.lines.is_empty(), "{}", l.fraction);
            assert!(l.lines.iter().all(|p| p.closed), "inside the margin: loops");
        }
        for bad in [0.0, -0.5, 1.5, f64::NAN] {
            assert!(hdr_levels(&g, &[0.5, bad]).is_err(), "{bad}");
        }
    }

    fn lattice(n: usize, lo: f64, hi: f64) -> Lattice {
        let s = (hi - lo) / (n - 1) as f64;
        Lattice {
            size: [n, n],
            origin: [lo, lo],
            step: [s, s],
        }
    }

    fn field(l: &Lattice, f: impl Fn(f64, f64) -> f64) -> Vec<f64> {
        let [nx, ny] = l.size;
        (0..ny)
            .flat_map(|j| (0..nx).map(move |i| (i, j)))
            .map(|(i, j)| {
                let p = l.node(i, j);
                f(p[0], p[1])
            })
            .collect()
    }

    #[test]
    fn marching_squares_traces_a_circle_as_one_closed_loop() {
        let l = lattice(81, -2.0, 2.0);
        let v = field(&l, |x, y| x * x + y * y);
        for r in [0.3, 1.0, 1.7] {
            let lines = marching_squares(&l, &v, r * r).expect("lines");
            assert_eq!(lines.len(), 1, "r {r}");
            let line = &lines[0];
            assert!(line.closed);
            assert!(line.points.len() > 8);
            for p in &line.points {
                let d = (f64::from(p[0]).hypot(f64::from(p[1])) - r).abs();
                assert!(d < l.step[0], "r {r}: vertex {p:?} off by {d}");
            }
            // Consecutive vertices are neighbours on the lattice (one cell apart at most).
            let n = line.points.len();
            for k in 0..n {
                let (a, b) = (line.points[k], line.points[(k + 1) % n]);
                let d = f64::from(a[0] - b[0]).hypot(f64::from(a[1] - b[1]));
                assert!(d <= l.step[0] * 1.5, "gap {d}");
            }
        }
        // A circle larger than the lattice leaves four open arcs across the corners.
        let lines = marching_squares(&l, &v, 2.2 * 2.2).expect("lines");
        assert_eq!(lines.len(), 4);
        for line in &lines {
            assert!(!line.closed);
            for p in [line.points[0], line.points[line.points.len() - 1]] {
                let on_border = p.iter().any(|c| (f64::from(c.abs()) - 2.0).abs() < 1e-6);
                assert!(on_border, "open lines end on the border: {p:?}");
            }
        }
        // No crossing: nothing; a level above every value: nothing.
        assert!(marching_squares(&l, &v, 100.0).expect("l").is_empty());
        assert!(marching_squares(&l, &v, -1.0).expect("l").is_empty());
        assert!(marching_squares(&l, &v[1..], 1.0).is_err());
    }

    #[test]
    fn a_saddle_cell_is_split_by_its_centre() {
        let l = Lattice {
            size: [2, 2],
            origin: [0.0, 0.0],
            step: [1.0, 1.0],
        };
        // Corners (0,0) and (1,1) high, (1,0) and (0,1) low.
        let v = [1.0, 0.0, 0.0, 1.0];
        let ends = |lines: &[Polyline]| {
            let mut e: Vec<Vec<[f32; 2]>> = lines
                .iter()
                .map(|p| {
                    let mut q = p.points.clone();
                    q.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
                    q
                })
                .collect();
            e.sort_by(|a, b| a.partial_cmp(b).expect("finite"));
            e
        };
        // Centre 0.5 >= 0.5: the high corners join across the centre; the low ones are cut.
        let lines = marching_squares(&l, &v, 0.5).expect("lines");
        assert_eq!(lines.len(), 2);
        assert!(lines.iter().all(|p| !p.closed && p.points.len() == 2));
        assert_eq!(
            ends(&lines),
            vec![vec![[0.0, 0.5], [0.5, 1.0]], vec![[0.5, 0.0], [1.0, 0.5]]]
        );
        // Centre 0.5 < 0.6: the high corners are cut off.
        let lines = marching_squares(&l, &v, 0.6).expect("lines");
        assert_eq!(
            ends(&lines),
            vec![vec![[0.0, 0.4], [0.4, 0.0]], vec![[0.6, 1.0], [1.0, 0.6]]]
        );
        // x y on a lattice through zero: two branches of the hyperbola, never joined.
        let l = lattice(40, -1.0, 1.0);
        let v = field(&l, |x, y| x * y);
        let lines = marching_squares(&l, &v, 0.02).expect("lines");
        assert_eq!(lines.len(), 2);
        for line in &lines {
            assert!(!line.closed);
            let q = line.points[0][0].signum();
            assert!(
                line.points
                    .iter()
                    .all(|p| p[0].signum() == q && p[1].signum() == q)
            );
        }
    }

    #[test]
    fn every_crossed_edge_is_one_vertex_of_one_line() {
        // A rough random field: many saddles, loops and open lines.
        let mut r = Rng(99);
        let l = lattice(60, 0.0, 1.0);
        let v: Vec<f64> = (0..l.len()).map(|_| r.uniform()).collect();
        let lines = marching_squares(&l, &v, 0.5).expect("lines");
        let [nx, ny] = l.size;
        let mut crossed = 0;
        for j in 0..ny {
            for i in 0..nx {
                let a = v[j * nx + i] >= 0.5;
                if i + 1 < nx && a != (v[j * nx + i + 1] >= 0.5) {
                    crossed += 1;
                }
                if j + 1 < ny && a != (v[(j + 1) * nx + i] >= 0.5) {
                    crossed += 1;
                }
            }
        }
        let mut all: Vec<(u32, u32)> = lines
            .iter()
            .flat_map(|p| p.points.iter().map(|q| (q[0].to_bits(), q[1].to_bits())))
            .collect();
        assert_eq!(all.len(), crossed);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), crossed, "no vertex shared by two lines");
        assert!(lines.iter().any(|p| p.closed) && lines.iter().any(|p| !p.closed));
    }

    #[test]
    fn degenerate_inputs_are_errors_or_empty_never_panics() {
        let p = params(64, Bandwidth::Scott);
        let err = |r: Result<DensityGrid, AnalysisError>| match r {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected an error"),
        };
        assert_eq!(err(estimate(&[], None, &p)), "density: no points");
        let points = mixture(50, 1);
        let none = vec![false; 50];
        assert!(err(estimate(&points, Some(&none), &p)).contains("masked out"));
        assert!(err(estimate(&points, Some(&none[1..]), &p)).contains("mask has 49"));
        let nan = vec![[f32::NAN, 0.0]; 10];
        assert!(err(estimate(&nan, None, &p)).contains("finite"));
        let same = vec![[1.5f32, -2.0]; 100];
        assert!(err(estimate(&same, None, &p)).contains("do not spread along x"));
        let line: Vec<[f32; 2]> = (0..10).map(|k| [k as f32, 3.0]).collect();
        assert!(err(estimate(&line, None, &p)).contains("along y"));
        assert!(err(estimate(&points[..1], None, &p)).contains("at least two"));
        // Identical points with a given bandwidth: one Gaussian, its contours circles.
        let fixed = params(128, Bandwidth::Fixed([0.5, 0.5]));
        let g = estimate(&same, None, &fixed).expect("one bump");
        let levels = contours(&g, &DEFAULT_FRACTIONS).expect("levels");
        for l in &levels {
            assert_eq!(l.lines.len(), 1);
            let r: Vec<f64> = l.lines[0]
                .points
                .iter()
                .map(|q| f64::from(q[0] - 1.5).hypot(f64::from(q[1] + 2.0)))
                .collect();
            // The HDR of a 2-D Gaussian holding p: radius h sqrt(-2 ln(1 - p)).
            let want = 0.5 * (-2.0 * (1.0 - l.fraction).ln()).sqrt();
            for x in r {
                assert!((x - want).abs() < 2.0 * g.lattice.step[0], "{x} vs {want}");
            }
        }
        // Far outliers stretch the lattice: coarse, but no panic; the same with huge values.
        let mut far = mixture(200, 2);
        far.push([1e30, -1e30]);
        far.push([f32::MAX, f32::MIN]);
        let g = estimate(&far, None, &params(64, Bandwidth::Fixed([1.0, 1.0]))).expect("far");
        assert!(g.resolution() < 1e-20);
        assert!(contours(&g, &DEFAULT_FRACTIONS).is_ok());
        assert!(estimate(&far, None, &p).is_ok());
        // Parameters.
        for bad in [
            DensityParams {
                grid: 4,
                ..DensityParams::default()
            },
            DensityParams {
                bandwidth: Bandwidth::Fixed([0.0, 1.0]),
                ..DensityParams::default()
            },
            DensityParams {
                bandwidth: Bandwidth::Fixed([f64::NAN, 1.0]),
                ..DensityParams::default()
            },
            DensityParams {
                margin: 0.0,
                ..DensityParams::default()
            },
        ] {
            assert!(bad.check().is_err(), "{bad:?}");
        }
    }
}
