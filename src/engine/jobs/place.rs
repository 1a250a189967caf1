//! Placing another set's rows onto a finished map: UMAP or t-SNE placement against the map's
//! own rows and positions (the map stays as it is), or PCA by projecting onto the same axes.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::Instant;

use crate::analysis::knn::Metric;
use crate::analysis::project::umap::transform::{self, Placement};
use crate::analysis::project::{ProjectError, pca, umap};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};

/// How the map the rows go onto was made.
#[derive(Debug, Clone, PartialEq)]
pub enum PlaceHow {
    /// A UMAP or t-SNE map: the new rows are placed by optimising against the fixed map.
    Transform(Placement),
    /// A map of the first two principal components of the map set's finite rows: the new rows
    /// are projected onto the same axes.
    Pca,
}

impl PlaceHow {
    /// The method in words, as the notice says it.
    pub fn describe(&self) -> &'static str {
        match self {
            PlaceHow::Transform(Placement::Umap(_)) => "UMAP transform",
            PlaceHow::Transform(Placement::Tsne) => "t-SNE transform",
            PlaceHow::Pca => "projected onto the principal axes",
        }
    }
}

/// Rows of `new_set` placed onto the 2-D map `layout` of `map_rows` of `map_set`.
#[derive(Debug, Clone)]
pub struct PlaceRows {
    pub map_set: Arc<EmbeddingSet>,
    /// The set rows on the map, in map order.
    pub map_rows: Vec<u32>,
    /// Their positions, `map_rows.len() x 2`, row-major.
    pub layout: Vec<f32>,
    pub new_set: Arc<EmbeddingSet>,
    pub how: PlaceHow,
}

/// The placed rows.
#[derive(Debug, Clone)]
pub struct Placed {
    /// Rows of the new set, in order.
    pub rows: Vec<u32>,
    /// Their positions, one per row.
    pub coords: Vec<[f32; 2]>,
    /// Rows of the new set left out (NaN/Inf values, or all zeros under cosine).
    pub excluded: usize,
    pub seconds: f64,
}

impl Job for PlaceRows {
    type Output = Placed;

    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        use crate::analysis::memory as m;
        let (n, d) = (self.map_rows.len(), self.map_set.dim());
        let new = self.new_set.rows();
        Some(match &self.how {
            PlaceHow::Pca => m::pca_place(self.map_set.rows(), new, d),
            PlaceHow::Transform(Placement::Umap(p)) => m::place(n, new, d, 2, p.n_neighbors),
            // openTSNE's transform: 25 neighbours for the start (15 for the affinities).
            PlaceHow::Transform(Placement::Tsne) => m::place(n, new, d, 2, 25),
        })
    }

    fn label(&self) -> String {
        format!("placing {} rows onto the map", self.new_set.rows())
    }

    fn run(&self, ctx: &JobContext) -> Result<Placed, EngineError> {
        let t = Instant::now();
        let d = self.map_set.dim();
        if self.new_set.dim() != d {
            return Err(ProjectError::Param(format!(
                "the rows have {} dimensions, the map's set {d}",
                self.new_set.dim()
            ))
            .into());
        }
        if self.layout.len() != self.map_rows.len() * 2 {
            return Err(ProjectError::Param(format!(
                "the map has {} positions for {} rows",
                self.layout.len() / 2,
                self.map_rows.len()
            ))
            .into());
        }
        let metric = match &self.how {
            PlaceHow::Transform(Placement::Umap(p)) => p.metric,
            _ => Metric::Euclidean,
        };
        let input = umap::input(&self.new_set, metric);
        let excluded = input.excluded.len();
        ctx.progress(None, "nearest map rows");
        let flat = match &self.how {
            PlaceHow::Pca => {
                let (_, model) = pca::project(&self.map_set, 2)?;
                ctx.check()?;
                model.transform(&self.new_set.matrix, Some(&input.rows))
            }
            PlaceHow::Transform(how) => {
                let mut reference = Vec::with_capacity(self.map_rows.len() * d);
                for &r in &self.map_rows {
                    let r = r as usize;
                    if r >= self.map_set.rows() {
                        return Err(ProjectError::Param(format!(
                            "map row {r} is not in the set ({} rows)",
                            self.map_set.rows()
                        ))
                        .into());
                    }
                    reference.extend_from_slice(self.map_set.matrix.row(r));
                }
                let new = input.gather(&self.new_set);
                transform::place(&reference, &self.layout, d, 2, &new, how, |p| {
                    if ctx.cancelled() {
                        return ControlFlow::Break(());
                    }
                    ctx.progress(
                        Some(p.epoch as f32 / p.total.max(1) as f32),
                        format!("epoch {} / {}", p.epoch, p.total),
                    );
                    ControlFlow::Continue(())
                })?
            }
        };
        ctx.check()?;
        let coords: Vec<[f32; 2]> = flat.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
        if coords.len() != input.rows.len() {
            return Err(ProjectError::Numeric(format!(
                "{} positions for {} rows",
                coords.len(),
                input.rows.len()
            ))
            .into());
        }
        Ok(Placed {
            rows: input.rows.iter().map(|&r| r as u32).collect(),
            coords,
            excluded,
            seconds: t.elapsed().as_secs_f64(),
        })
    }
}
