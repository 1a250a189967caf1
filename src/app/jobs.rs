//! Background jobs as the app sees them: each job is started with the function that folds
//! its typed output into the state, its progress shown in a [`JobView`], and its events
//! polled once per frame.

use std::collections::HashMap;

use super::dataset::{MapView, next_version};
use super::grid::Grid;
use super::{App, ColorMode};
use crate::analysis::project::Details;
use crate::engine::device::BackendInfo;
use crate::engine::jobs::{
    CompareLayouts, Job, JobEvent, JobId, LayoutPreview, MapMethod, Payload, Projected,
};

/// A running job as the UI shows it.
#[derive(Debug, Clone)]
pub struct JobView {
    pub id: JobId,
    pub label: String,
    pub fraction: Option<f32>,
    pub text: String,
    /// The data set a projection job belongs to.
    pub dataset: Option<usize>,
    /// The job's parameters in words (shown with the map it draws).
    pub params: String,
    /// For projections: the method.
    pub method: Option<MapMethod>,
    pub kind: JobKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobKind {
    Load,
    Project,
    Encode,
    Evaluate,
    Compare,
    /// Bias probes (WEAT, direct bias, hard debiasing).
    Bias,
    /// A comparison report being built and written.
    Report,
    /// A large set's neighbour index, built or reopened.
    Index,
    /// An exact neighbour search of a large set.
    Neighbours,
    /// Rows of another set placed onto a map.
    Place,
    /// Clusters of a map's points, with their keywords.
    Cluster,
    /// A data set's metadata filter charts, built.
    Filter,
    /// Rows written to a file.
    Export,
    /// A query encoded and the rows ranked by meaning.
    Search,
    /// A large map's density contours.
    Density,
    /// Drift tests of two samples.
    Drift,
    /// A data set's privacy scan (the badge).
    Privacy,
}

/// Folds a finished job's output into the app.
pub(super) type DoneFn = Box<dyn FnOnce(&mut App, &JobView, Payload)>;

/// The fold of each running job, by id.
#[derive(Default)]
pub(super) struct DoneHandlers(HashMap<JobId, DoneFn>);

impl App {
    /// Starts `job`; when it finishes, `done` gets its output.
    pub(super) fn start<J: Job>(
        &mut self,
        job: J,
        kind: JobKind,
        dataset: Option<usize>,
        done: fn(&mut App, &JobView, J::Output),
    ) -> JobId {
        let label = job.label();
        let id = self.worker.submit(job);
        self.jobs.push(JobView {
            id,
            label,
            fraction: None,
            text: String::new(),
            dataset,
            kind,
            params: String::new(),
            method: None,
        });
        let fold: DoneFn = Box::new(move |app: &mut App, view: &JobView, output: Payload| {
            match output.take::<J::Output>() {
                Ok(o) => done(app, view, o),
                Err(_) => app.error(
                    format!("{} failed", view.label),
                    "internal error: the job returned a value of another type",
                ),
            }
        });
        self.done.0.insert(id, fold);
        id
    }

    /// Folds finished and progressing jobs into the state. Returns whether anything changed.
    pub fn poll(&mut self) -> bool {
        let events = self.worker.poll();
        let changed = !events.is_empty();
        for e in events {
            self.handle(e);
        }
        self.autosave_tick();
        // The density layer follows the map and the filter (nothing to do when neither moved).
        self.refresh_density() || changed
    }

    /// Whether background work is still running.
    pub fn busy(&self) -> bool {
        !self.jobs.is_empty()
    }

    fn handle(&mut self, e: JobEvent) {
        let id = e.id();
        let is_final = e.is_final();
        let job = self.jobs.iter().position(|j| j.id == id);
        let view = job.map(|j| self.jobs[j].clone());
        if e.is_final() {
            if let Some(j) = job {
                self.jobs.remove(j);
            }
            for d in &mut self.datasets {
                if d.map_job == Some(id) {
                    d.map_job = None;
                }
                // A placement that ends without output leaves nothing pending.
                if !matches!(e, JobEvent::Done { .. })
                    && d.place_job.as_ref().is_some_and(|p| p.job == id)
                {
                    d.place_job = None;
                }
            }
        }
        match e {
            JobEvent::Progress { fraction, text, .. } => {
                if let Some(j) = job {
                    self.jobs[j].fraction = fraction;
                    self.jobs[j].text = text;
                }
            }
            JobEvent::Partial { value, .. } => self.partial(id, view.as_ref(), value),
            JobEvent::Done { output, .. } => {
                let fold = self.done.0.remove(&id);
                if let (Some(fold), Some(v)) = (fold, view.as_ref()) {
                    fold(self, v, output);
                }
            }
            JobEvent::Failed { error, .. } => {
                self.done.0.remove(&id);
                self.job_ended(id, Some(&error));
                let what = view.map(|v| v.label).unwrap_or_else(|| "a job".into());
                self.error(format!("{what} failed"), error);
            }
            JobEvent::Cancelled { .. } => {
                self.done.0.remove(&id);
                self.job_ended(id, None);
                let what = view.map(|v| v.label).unwrap_or_else(|| "a job".into());
                self.info(format!("{what}: cancelled"));
            }
        }
        // A session being opened may wait for this job (a map, the charts, a load).
        if is_final && (!self.restoring.is_empty() || self.session_tail.is_some()) {
            self.continue_restore();
        }
    }

    /// A partial result: a layout preview, the backend an encoder runs on, a comparison's
    /// maps.
    fn partial(&mut self, id: JobId, view: Option<&JobView>, value: Payload) {
        let value = match value.take::<LayoutPreview>() {
            Ok(layout) => {
                if let Some(v) = view
                    && let (Some(ds), Some(method)) = (v.dataset, v.method)
                {
                    let params = v.params.clone();
                    self.preview_layout(ds, id, &layout.0, method, &params);
                }
                return;
            }
            Err(v) => v,
        };
        let value = match value.take::<BackendInfo>() {
            Ok(info) => {
                self.encode_backend = Some(info);
                return;
            }
            Err(v) => v,
        };
        if let Ok(CompareLayouts { layouts, seconds }) = value.take::<CompareLayouts>()
            && let Some(c) = &mut self.compare
            && c.job == Some(id)
        {
            c.set_layouts(layouts, seconds);
        }
    }

    /// A job failed (`error`) or was cancelled (None): the panels waiting for it stop.
    fn job_ended(&mut self, id: JobId, error: Option<&str>) {
        if let Some(c) = &mut self.compare
            && c.job == Some(id)
        {
            c.job = None;
        }
        self.bias_job_ended(id);
        self.drift_job_ended(id);
        self.meaning_search_ended(id, error);
        self.report_job_ended(id, error);
    }

    /// A map finished: it replaces the set's map.
    pub(super) fn map_done(&mut self, view: &JobView, p: Projected) {
        if let Some(ds) = view.dataset {
            let spec = self
                .datasets
                .get_mut(ds)
                .and_then(|d| d.map_spec.take_if(|(id, _)| *id == view.id))
                .map(|(_, s)| s);
            self.finish_map(ds, p.projection, p.quality, p.seconds, &view.params);
            if let Some(m) = self.datasets.get_mut(ds).and_then(|d| d.map.as_mut()) {
                m.spec = spec;
            }
            if self
                .pending_demo_clusters
                .take_if(|&mut d| d == ds)
                .is_some()
            {
                self.cluster_dataset(ds, super::clusters::DEMO_CLUSTERS);
            }
        }
    }

    /// Shows a layout before its job ends: t-SNE frames while it optimises, and every map
    /// while its quality is computed.
    fn preview_layout(
        &mut self,
        ds: usize,
        id: JobId,
        layout: &[f32],
        method: MapMethod,
        params: &str,
    ) {
        let Some(d) = self.datasets.get_mut(ds) else {
            return;
        };
        if d.map_job != Some(id) {
            return;
        }
        let n = layout.len() / 2;
        let coords: Vec<[f32; 2]> = layout.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
        match &mut d.map {
            Some(m) if m.method == method && !m.finished && m.coords.len() == n => {
                m.coords = coords;
                m.grid = Grid::new(&m.coords);
                m.version = next_version();
            }
            _ => {
                // The projected rows are the finite rows, in order.
                let rows: Vec<u32> = (0..d.set.rows() as u32)
                    .filter(|&r| d.scan.norms[r as usize].is_finite())
                    .collect();
                if rows.len() == n {
                    let mut m = MapView::new(d.set.rows(), rows, coords, method);
                    m.finished = false;
                    m.params = params.to_string();
                    d.map = Some(m);
                }
            }
        }
    }

    fn finish_map(
        &mut self,
        ds: usize,
        p: crate::analysis::project::Projection,
        quality: Option<crate::analysis::project::Quality>,
        seconds: f64,
        params: &str,
    ) {
        let method = MapMethod::of(&p);
        let Some(d) = self.datasets.get_mut(ds) else {
            return;
        };
        let coords: Vec<[f32; 2]> = p
            .coords
            .chunks_exact(p.dims.max(1))
            .map(|c| [c[0], c.get(1).copied().unwrap_or(0.0)])
            .collect();
        let rows: Vec<u32> = p.rows.iter().map(|&r| r as u32).collect();
        let mut m = MapView::new(d.set.rows(), rows, coords, method);
        m.params = params.to_string();
        if let Details::Pca {
            explained_variance_ratio,
            ..
        } = &p.details
        {
            let kept: f64 = explained_variance_ratio.iter().sum();
            m.params = format!("{params}, {:.1}% of the variance", 100.0 * kept);
        }
        m.quality = quality;
        m.seconds = Some(seconds);
        m.notes = p.notes;
        if let Details::Axes { missing, .. } = &p.details
            && !missing.is_empty()
        {
            m.notes
                .push(format!("not in the vocabulary: {}", missing.join(", ")));
        }
        d.map = Some(m);
        if d.color == ColorMode::Recall {
            self.set_color(ds, ColorMode::Recall);
        }
    }
}
