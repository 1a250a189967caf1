//! Placing another open set's rows onto the active set's finished map: the command's checks,
//! the job, and the overlay the rows arrive in.

use std::sync::Arc;

use super::dataset::MapView;
use super::{App, JobKind, JobView};
use crate::analysis::project::umap::transform::Placement;
use crate::core::EmbeddingSet;
use crate::engine::jobs::{JobId, MapMethod, PlaceHow, PlaceRows, Placed, ProjectSpec};

/// Rows of another set placed onto a map, drawn over it in their own colour.
#[derive(Debug, Clone)]
pub struct PlacedRows {
    /// The set the rows come from.
    pub from_name: String,
    pub tokens: Vec<String>,
    pub coords: Vec<[f32; 2]>,
    /// How they were placed, in words.
    pub how: &'static str,
}

/// A placement job running for a set's map.
#[derive(Debug, Clone)]
pub struct PendingPlace {
    pub job: JobId,
    pub from_name: String,
    from_set: Arc<EmbeddingSet>,
    /// The map version the rows are placed onto (a newer map drops them).
    map_version: u64,
    how: &'static str,
}

/// How rows can be placed onto `m`, or why they cannot.
pub fn placement_of(m: &MapView) -> Result<PlaceHow, String> {
    if !m.finished {
        return Err("the map is still being computed: wait for it to finish".into());
    }
    match m.method {
        MapMethod::Umap => match &m.spec {
            Some(ProjectSpec::Umap(p)) => Ok(PlaceHow::Transform(Placement::Umap(p.clone()))),
            _ => {
                Err("the parameters this UMAP map was made with are not known: run it again".into())
            }
        },
        MapMethod::Tsne => Ok(PlaceHow::Transform(Placement::Tsne)),
        MapMethod::Pca => Ok(PlaceHow::Pca),
        MapMethod::Axes | MapMethod::AlignedPca => Err(format!(
            "placing needs a UMAP, t-SNE or PCA map; this map is {}",
            m.method
        )),
    }
}

impl App {
    /// Places the rows of open set `from` onto the active set's map.
    pub(super) fn place_on_map(&mut self, from: usize) {
        const TITLE: &str = "cannot place rows onto the map";
        let Some(i) = self.active else {
            self.error(TITLE, "open a data set and make a map of it first");
            return;
        };
        let Some(src) = self.datasets.get(from) else {
            self.error(TITLE, format!("there is no open data set number {from}"));
            return;
        };
        if from == i {
            self.error(
                TITLE,
                "choose another open data set: its rows are already on the map",
            );
            return;
        }
        let d = &self.datasets[i];
        let Some(m) = d.map.as_ref() else {
            self.error(
                TITLE,
                format!("{} has no map yet: run a projection first", d.name),
            );
            return;
        };
        let how = match placement_of(m) {
            Ok(h) => h,
            Err(e) => {
                self.error(TITLE, e);
                return;
            }
        };
        if src.set.dim() != d.set.dim() {
            let e = format!(
                "{} has {} dimensions, the map's set {} has {}",
                src.name,
                src.set.dim(),
                d.name,
                d.set.dim()
            );
            self.error(TITLE, e);
            return;
        }
        let job = PlaceRows {
            map_set: d.set.clone(),
            map_rows: m.rows.clone(),
            layout: m.coords.iter().flatten().copied().collect(),
            new_set: src.set.clone(),
            how: how.clone(),
        };
        let (from_name, from_set, map_version) = (src.name.clone(), src.set.clone(), m.version);
        if let Some(p) = self.datasets[i].place_job.take() {
            self.worker.cancel(p.job);
        }
        let id = self.start(job, JobKind::Place, Some(i), App::place_done);
        if let Some(j) = self.jobs.last_mut() {
            j.label = format!("placing rows of {from_name} onto the map");
        }
        self.datasets[i].place_job = Some(PendingPlace {
            job: id,
            from_name,
            from_set,
            map_version,
            how: how.describe(),
        });
    }

    fn place_done(&mut self, view: &JobView, out: Placed) {
        let Some(d) = self
            .datasets
            .iter_mut()
            .find(|d| d.place_job.as_ref().is_some_and(|p| p.job == view.id))
        else {
            return;
        };
        let Some(p) = d.place_job.take() else {
            return;
        };
        let Some(m) = d.map.as_mut().filter(|m| m.version == p.map_version) else {
            self.info(format!(
                "rows of {} were placed onto a map that has since been replaced",
                p.from_name
            ));
            return;
        };
        let tokens = out
            .rows
            .iter()
            .map(|&r| p.from_set.vocab.token(r as usize).to_string())
            .collect();
        let n = out.coords.len();
        m.placed = Some(PlacedRows {
            from_name: p.from_name.clone(),
            tokens,
            coords: out.coords,
            how: p.how,
        });
        let left = if out.excluded > 0 {
            format!(
                " ({} rows with NaN/Inf values or all zeros left out)",
                out.excluded
            )
        } else {
            String::new()
        };
        self.info(format!(
            "placed {n} rows of {} onto the map ({}){left}",
            p.from_name, p.how
        ));
    }
}
