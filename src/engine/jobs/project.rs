//! Maps: PCA, t-SNE (with layout previews while it optimises) or semantic axes of a set, then
//! the map's quality.

use std::ops::ControlFlow;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::analysis::ann::{AnnData, AnnIndex};
use crate::analysis::project::quality::{self, Quality};
use crate::analysis::project::tsne::TsneParams;
use crate::analysis::project::umap::{self, UmapParams};
use crate::analysis::project::{Projection, axes, pca, tsne};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};

/// What a projection job computes.
#[derive(Debug, Clone)]
pub enum ProjectSpec {
    Pca,
    Tsne(TsneParams),
    Umap(UmapParams),
    /// Semantic axes: x (and optionally y) as "a,b -> c,d" or an expression.
    Axes {
        x: String,
        y: Option<String>,
    },
}

impl ProjectSpec {
    pub fn method(&self) -> MapMethod {
        match self {
            ProjectSpec::Pca => MapMethod::Pca,
            ProjectSpec::Tsne(_) => MapMethod::Tsne,
            ProjectSpec::Umap(_) => MapMethod::Umap,
            ProjectSpec::Axes { .. } => MapMethod::Axes,
        }
    }

    pub fn name(&self) -> &'static str {
        self.method().name()
    }

    /// The parameters in words (shown with the map and saved in sessions).
    pub fn describe(&self) -> String {
        match self {
            ProjectSpec::Pca => "2 components".into(),
            ProjectSpec::Tsne(p) => format!(
                "perplexity {}, {} iterations, seed {}",
                p.perplexity, p.iterations, p.seed
            ),
            ProjectSpec::Umap(p) => format!(
                "n_neighbors {}, min_dist {}, spread {}, {} epochs, {}, seed {}",
                p.n_neighbors,
                p.min_dist,
                p.spread,
                p.n_epochs
                    .map_or_else(|| "default".to_string(), |e| e.to_string()),
                p.metric,
                p.seed
            ),
            ProjectSpec::Axes { x, y } => match y {
                Some(y) if !y.trim().is_empty() => format!("x: {x}; y: {y}"),
                _ => format!("x: {x}; y: first principal component of the rest"),
            },
        }
    }
}

/// How a map was made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MapMethod {
    Pca,
    Tsne,
    Umap,
    Axes,
    /// A version's map on the compare screen: PCA of the first version, the others aligned
    /// to it.
    AlignedPca,
}

impl MapMethod {
    pub const ALL: [MapMethod; 5] = [
        MapMethod::Pca,
        MapMethod::Tsne,
        MapMethod::Umap,
        MapMethod::Axes,
        MapMethod::AlignedPca,
    ];

    /// The name shown with a map.
    pub fn name(self) -> &'static str {
        match self {
            MapMethod::Pca => "PCA",
            MapMethod::Tsne => "t-SNE",
            MapMethod::Umap => "UMAP",
            MapMethod::Axes => "semantic axes",
            MapMethod::AlignedPca => "aligned PCA",
        }
    }

    /// The method of a finished projection.
    pub fn of(p: &Projection) -> MapMethod {
        match &p.details {
            crate::analysis::project::Details::Pca { .. } => MapMethod::Pca,
            crate::analysis::project::Details::Tsne { .. } => MapMethod::Tsne,
            crate::analysis::project::Details::Umap { .. } => MapMethod::Umap,
            crate::analysis::project::Details::Axes { .. } => MapMethod::Axes,
        }
    }
}

impl std::fmt::Display for MapMethod {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// `map.method == "PCA"`: a method equals its shown name.
impl PartialEq<&str> for MapMethod {
    fn eq(&self, other: &&str) -> bool {
        self.name() == *other
    }
}

impl std::str::FromStr for MapMethod {
    type Err = String;

    fn from_str(s: &str) -> Result<MapMethod, String> {
        MapMethod::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| {
                format!("unknown map method '{s}': PCA, t-SNE, UMAP, semantic axes or aligned PCA")
            })
    }
}

/// A 2-D map of a set, with its quality (k nearest neighbours kept).
#[derive(Debug, Clone)]
pub struct Project {
    pub set: Arc<EmbeddingSet>,
    pub spec: ProjectSpec,
    pub quality_k: usize,
    /// The set's neighbour index, when one is ready: UMAP of a large set takes its neighbours
    /// from it (when it searches by UMAP's metric) instead of building its own.
    pub index: Option<Arc<super::ReadyIndex>>,
    /// A map made before (the demo's shipped UMAP map): shown as it is, only its quality
    /// measured.
    pub precomputed: Option<Arc<Projection>>,
}

/// A finished map.
#[derive(Debug)]
pub struct Projected {
    pub projection: Projection,
    pub quality: Option<Quality>,
    pub seconds: f64,
}

/// A layout before the job ends (2-D, row-major, the projected rows in order): t-SNE frames
/// while it optimises, and every map while its quality is computed.
#[derive(Debug, Clone)]
pub struct LayoutPreview(pub Vec<f32>);

/// Layout previews are sent at most this often (the UI redraws the animation at that rate).
const PREVIEW_EVERY: Duration = Duration::from_millis(100);

impl Job for Project {
    type Output = Projected;

    /// The map's method on the set's rows, plus the quality measures; nothing for a map
    /// computed already.
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        use crate::analysis::memory as m;
        if self.precomputed.is_some() {
            return None;
        }
        let (n, d) = (self.set.rows(), self.set.dim());
        let e = match &self.spec {
            ProjectSpec::Pca | ProjectSpec::Axes { .. } => {
                m::pca(n, d, 2, rayon::current_num_threads())
            }
            ProjectSpec::Tsne(p) => m::tsne(n, d, p.dims, p.perplexity, p.pca_dims),
            ProjectSpec::Umap(p) => m::umap(n, d, p.dims, p.n_neighbors),
        };
        Some(e.with(&m::quality(n, d, self.quality_k)))
    }

    fn label(&self) -> String {
        format!("{} of {} points", self.spec.name(), self.set.rows())
    }

    fn run(&self, ctx: &JobContext) -> Result<Projected, EngineError> {
        let set = &self.set;
        let t = Instant::now();
        let projection = match (&self.precomputed, &self.spec) {
            (Some(p), _) => (**p).clone(),
            (None, ProjectSpec::Pca) => pca::project(set, 2)?.0,
            (None, ProjectSpec::Axes { x, y }) => {
                let xs = axes::AxisSpec::parse(x)?;
                let ys = y
                    .as_deref()
                    .filter(|s| !s.trim().is_empty())
                    .map(axes::AxisSpec::parse)
                    .transpose()?;
                axes::project(set, &xs, ys.as_ref())?
            }
            (None, ProjectSpec::Tsne(params)) => {
                let mut last = Instant::now() - PREVIEW_EVERY;
                let mut last_kl = None;
                tsne::project(set, params, |p| {
                    if p.kl_divergence.is_some() {
                        last_kl = p.kl_divergence;
                    }
                    if ctx.cancelled() {
                        return ControlFlow::Break(());
                    }
                    if p.layout.is_empty() {
                        if last.elapsed() >= PREVIEW_EVERY {
                            last = Instant::now();
                            ctx.progress(None, "nearest neighbours (approximate index)");
                        }
                    } else if last.elapsed() >= PREVIEW_EVERY || p.iteration == p.total {
                        last = Instant::now();
                        if params.dims == 2 {
                            ctx.partial(LayoutPreview(
                                p.layout.iter().map(|&v| v as f32).collect(),
                            ));
                        }
                        let kl = last_kl.map(|k| format!(", KL {k:.4}")).unwrap_or_default();
                        ctx.progress(
                            Some(p.iteration as f32 / p.total.max(1) as f32),
                            format!("iteration {} / {}{kl}", p.iteration, p.total),
                        );
                    }
                    ControlFlow::Continue(())
                })?
            }
            (None, ProjectSpec::Umap(params)) => {
                let ready = self
                    .index
                    .as_ref()
                    .filter(|ix| ix.metric() == umap::search_metric(params.metric));
                let data = ready
                    .map(|ix| AnnData::with_facts(set.matrix.as_slice(), &ix.facts))
                    .transpose()?;
                let index = match (ready, &data) {
                    (Some(ix), Some(data)) => Some(
                        AnnIndex::new(&ix.graph, data)?.with_ef((2 * params.n_neighbors).max(64)),
                    ),
                    _ => None,
                };
                let set_index = match (ready, &index) {
                    (Some(ix), Some(index)) => Some(umap::SetIndex {
                        index,
                        origin: ix.describe(),
                    }),
                    _ => None,
                };
                let mut last = Instant::now() - PREVIEW_EVERY;
                umap::project_with(set, params, set_index.as_ref(), |p| {
                    if ctx.cancelled() {
                        return ControlFlow::Break(());
                    }
                    if p.layout.is_empty() {
                        ctx.progress(None, "nearest neighbours, fuzzy graph, spectral layout");
                    } else if last.elapsed() >= PREVIEW_EVERY || p.epoch == p.total {
                        last = Instant::now();
                        if params.dims == 2 {
                            ctx.partial(LayoutPreview(p.layout.to_vec()));
                        }
                        ctx.progress(
                            Some(p.epoch as f32 / p.total.max(1) as f32),
                            format!("epoch {} / {}", p.epoch, p.total),
                        );
                    }
                    ControlFlow::Continue(())
                })?
            }
        };
        ctx.check()?;
        let seconds = t.elapsed().as_secs_f64();
        let k = self.quality_k;
        let quality = if k > 0 && projection.rows.len() > k + 1 {
            // The map is shown at once; its quality follows.
            if projection.dims == 2 {
                ctx.partial(LayoutPreview(projection.coords.clone()));
            }
            ctx.progress(None, format!("map quality (k = {k})"));
            let rows = crate::analysis::project::Input {
                rows: projection.rows.clone(),
                excluded: Vec::new(),
            };
            let orig = rows.gather(set);
            quality::quality(&orig, set.dim(), &projection.coords, projection.dims, k, 0).ok()
        } else {
            None
        };
        Ok(Projected {
            projection,
            quality,
            seconds,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn map_methods_round_trip_through_their_names() {
        for m in MapMethod::ALL {
            assert_eq!(m.to_string().parse::<MapMethod>(), Ok(m));
            assert_eq!(m, m.name());
        }
        assert_eq!("t-sne".parse::<MapMethod>(), Ok(MapMethod::Tsne));
        assert_eq!("umap".parse::<MapMethod>(), Ok(MapMethod::Umap));
        let e = "isomap".parse::<MapMethod>().expect_err("not a method");
        assert!(e.contains("isomap") && e.contains("t-SNE"), "{e}");
        assert_eq!(ProjectSpec::Pca.method(), MapMethod::Pca);
        assert_eq!(
            ProjectSpec::Tsne(TsneParams::default()).name(),
            MapMethod::Tsne.name()
        );
    }
}
