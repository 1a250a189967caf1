//! The map's density layer: kernel density contours (`analysis::density`: binned Gaussian KDE
//! with Scott's bandwidth on a 256 x 256 lattice, the highest-density regions holding 25%, 50%,
//! 75% and 90% of the points) of the active map's points, only the rows the metadata filter
//! keeps. Kept with the map version and the filter version they were made for
//! (`Dataset::density`) and made again when either changes, while the layer is on
//! (`Settings::density`, `Command::SetDensity`); turning it off drops them. They are made on
//! the UI thread when the state is polled: 1M points take a few milliseconds in a release
//! build (BENCHMARKS.md, density), less than the frame that shows the new filter.

use std::time::Instant;

use crate::analysis::density::{
    self, ContourLevel, DEFAULT_FRACTIONS, DensityParams, Polyline, ValidDensity,
};

use super::filter::RowMask;
use super::{App, Dataset, MapView};

/// Contours of one map under one filter.
#[derive(Debug, Clone)]
pub struct MapDensity {
    pub map_version: u64,
    /// `Dataset.table.version` they were made under.
    pub filter_version: u64,
    /// One per mass fraction, densest first; empty when there is nothing to draw (`note` says
    /// why).
    pub levels: Vec<ContourLevel>,
    /// `[h_x, h_y]` in map units (zero when nothing was estimated).
    pub bandwidth: [f64; 2],
    /// Points that entered the estimate.
    pub points: usize,
    /// Why there are no contours, or a caveat about them.
    pub note: Option<String>,
    pub seconds: f64,
}

impl MapDensity {
    /// Whether these contours belong to the set's current map and filter.
    pub fn is_current(&self, d: &Dataset) -> bool {
        d.map
            .as_ref()
            .is_some_and(|m| m.version == self.map_version)
            && d.table.version == self.filter_version
    }

    /// Lines over all levels.
    pub fn lines(&self) -> impl Iterator<Item = &Polyline> {
        self.levels.iter().flat_map(|l| &l.lines)
    }
}

fn params() -> Option<ValidDensity> {
    DensityParams::default().check().ok()
}

/// The contours of a map's points, the rows of `kept` only when given (a row filter over the
/// set's rows). Never fails: what stops it (no rows kept, points that do not spread) is the
/// note of an empty result.
pub fn map_density(m: &MapView, kept: Option<&RowMask>, filter_version: u64) -> MapDensity {
    let t = Instant::now();
    let mask: Option<Vec<bool>> =
        kept.map(|k| m.rows.iter().map(|&r| k.contains(r as usize)).collect());
    let mut out = MapDensity {
        map_version: m.version,
        filter_version,
        levels: Vec::new(),
        bandwidth: [0.0; 2],
        points: 0,
        note: None,
        seconds: 0.0,
    };
    let estimated = params()
        .ok_or_else(|| "the default density parameters do not check".to_string())
        .and_then(|p| density::estimate(&m.coords, mask.as_deref(), &p).map_err(|e| e.to_string()))
        .and_then(|g| {
            let levels = density::contours(&g, &DEFAULT_FRACTIONS).map_err(|e| e.to_string())?;
            Ok((g, levels))
        });
    match estimated {
        Ok((g, levels)) => {
            out.bandwidth = g.bandwidth;
            out.points = g.points;
            if g.resolution() < 1.0 {
                out.note = Some(
                    "far outliers stretch the density lattice beyond the kernel's width: the \
                     contours are coarse"
                        .into(),
                );
            }
            out.levels = levels;
        }
        Err(e) if kept.is_some_and(|k| k.count() == 0) => {
            out.note = Some(format!("the filter keeps no rows ({e})"));
        }
        Err(e) => out.note = Some(e),
    }
    out.seconds = t.elapsed().as_secs_f64();
    out
}

impl App {
    /// Turns the layer on or off (saved with the settings at once).
    pub(super) fn set_density(&mut self, on: bool) {
        self.settings.density = on;
        self.save_settings();
        self.refresh_density();
    }

    /// Makes the active map's contours again if its map or filter changed since (while the
    /// layer is on), drops every set's contours when it is off. Called with every poll; true
    /// when anything changed.
    pub fn refresh_density(&mut self) -> bool {
        if !self.settings.density {
            let mut changed = false;
            for d in &mut self.datasets {
                changed |= d.density.take().is_some();
            }
            return changed;
        }
        let Some(d) = self.active.and_then(|i| self.datasets.get_mut(i)) else {
            return false;
        };
        if d.density.as_ref().is_some_and(|c| c.is_current(d)) {
            return false;
        }
        let Some(m) = d.map.as_ref() else {
            return d.density.take().is_some();
        };
        d.density = Some(map_density(m, d.table.kept(), d.table.version));
        true
    }
}
