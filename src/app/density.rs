//! The map's density layer: kernel density contours (`analysis::density`: binned Gaussian KDE
//! with Scott's bandwidth on a 256 x 256 lattice, the highest-density regions holding 25%, 50%,
//! 75% and 90% of the points) of the active map's points, only the rows the metadata filter
//! keeps. Kept with the map version and the filter version they were made for
//! (`Dataset::density`) and made again when either changes, while the layer is on
//! (`Settings::density`, `Command::SetDensity`); turning it off drops them.
//!
//! Made when the state is polled: on the UI thread below [`DENSITY_JOB_POINTS`] points (a few
//! milliseconds), else as a job on the worker (1M points take 15-25 ms on the 2-core VM,
//! BENCHMARKS.md, density; an animated map would otherwise pay that every frame). One job per
//! set at a time: a change while it runs is followed by the next job when it ends, and the
//! contours it brings are shown while they are for the map on screen.

use std::time::Instant;

use crate::analysis::density::{
    self, ContourLevel, DEFAULT_FRACTIONS, DensityParams, Polyline, ValidDensity,
};
use crate::engine::EngineError;
use crate::engine::jobs::{Job, JobContext, JobId};

use super::{App, Dataset, JobKind, JobView};

/// Maps with at least this many points get their contours on the worker.
pub const DENSITY_JOB_POINTS: usize = 250_000;

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
        self.is_for_map(d) && d.table.version == self.filter_version
    }

    /// Whether they were made on the set's current map (the filter may have changed since,
    /// while the next ones are being made).
    pub fn is_for_map(&self, d: &Dataset) -> bool {
        d.map
            .as_ref()
            .is_some_and(|m| m.version == self.map_version)
    }

    /// Lines over all levels.
    pub fn lines(&self) -> impl Iterator<Item = &Polyline> {
        self.levels.iter().flat_map(|l| &l.lines)
    }
}

/// A set's density layer: the latest contours and the job making the next ones.
#[derive(Debug, Clone, Default)]
pub struct DensityState {
    pub contours: Option<MapDensity>,
    job: Option<JobId>,
}

impl DensityState {
    /// The contours to draw over the set's map: made on the map on screen.
    pub fn shown(&self, d: &Dataset) -> Option<&MapDensity> {
        self.contours.as_ref().filter(|c| c.is_for_map(d))
    }
}

fn params() -> Option<ValidDensity> {
    DensityParams::default().check().ok()
}

/// The contours of a map's points (`keep`: the points the filter keeps, when it filters).
/// Never fails: what stops it (no rows kept, points that do not spread) is the note of an
/// empty result.
pub fn map_density(
    coords: &[[f32; 2]],
    keep: Option<&[bool]>,
    map_version: u64,
    filter_version: u64,
) -> MapDensity {
    let t = Instant::now();
    let mut out = MapDensity {
        map_version,
        filter_version,
        levels: Vec::new(),
        bandwidth: [0.0; 2],
        points: 0,
        note: None,
        seconds: 0.0,
    };
    let estimated = params()
        .ok_or_else(|| "the default density parameters do not check".to_string())
        .and_then(|p| density::estimate(coords, keep, &p).map_err(|e| e.to_string()))
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
        Err(e) if keep.is_some_and(|k| !k.contains(&true)) => {
            out.note = Some(format!("the filter keeps no rows ({e})"));
        }
        Err(e) => out.note = Some(e),
    }
    out.seconds = t.elapsed().as_secs_f64();
    out
}

/// A large map's contours, on the worker.
struct MakeDensity {
    coords: Vec<[f32; 2]>,
    keep: Option<Vec<bool>>,
    map_version: u64,
    filter_version: u64,
}

impl Job for MakeDensity {
    type Output = MapDensity;

    fn label(&self) -> String {
        format!("density contours of {} points", self.coords.len())
    }

    fn run(&self, ctx: &JobContext) -> Result<MapDensity, EngineError> {
        ctx.check()?;
        Ok(map_density(
            &self.coords,
            self.keep.as_deref(),
            self.map_version,
            self.filter_version,
        ))
    }
}

impl App {
    /// Turns the layer on or off (saved with the settings at once).
    pub(super) fn set_density(&mut self, on: bool) {
        self.settings.density = on;
        self.save_settings();
        self.refresh_density();
    }

    /// Makes the active map's contours again if its map or filter changed since (while the
    /// layer is on; a large map's on the worker), drops every set's contours when it is off.
    /// Called with every poll; true when anything changed.
    pub fn refresh_density(&mut self) -> bool {
        if !self.settings.density {
            let mut changed = false;
            for d in &mut self.datasets {
                changed |= d.density.contours.take().is_some();
            }
            return changed;
        }
        let Some(i) = self.active.filter(|&i| i < self.datasets.len()) else {
            return false;
        };
        let running = self.datasets[i]
            .density
            .job
            .is_some_and(|j| self.jobs.iter().any(|v| v.id == j));
        let d = &mut self.datasets[i];
        if !running {
            d.density.job = None;
        }
        if running || d.density.contours.as_ref().is_some_and(|c| c.is_current(d)) {
            return false;
        }
        let Some(m) = d.map.as_ref() else {
            return d.density.contours.take().is_some();
        };
        let keep: Option<Vec<bool>> = d
            .table
            .kept()
            .map(|k| m.rows.iter().map(|&r| k.contains(r as usize)).collect());
        let (map_version, filter_version) = (m.version, d.table.version);
        if m.coords.len() < DENSITY_JOB_POINTS {
            d.density.contours = Some(map_density(
                &m.coords,
                keep.as_deref(),
                map_version,
                filter_version,
            ));
            return true;
        }
        let job = MakeDensity {
            coords: m.coords.clone(),
            keep,
            map_version,
            filter_version,
        };
        let id = self.start(job, JobKind::Density, Some(i), App::density_done);
        self.datasets[i].density.job = Some(id);
        false
    }

    /// A large map's contours are made: kept while the layer is on (made again at the next
    /// poll if the map or the filter moved meanwhile).
    fn density_done(&mut self, view: &JobView, c: MapDensity) {
        let Some(d) = view.dataset.and_then(|i| self.datasets.get_mut(i)) else {
            return;
        };
        if d.density.job == Some(view.id) {
            d.density.job = None;
        }
        if self.settings.density {
            d.density.contours = Some(c);
        }
    }
}
