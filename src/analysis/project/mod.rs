//! Projections of embedding sets to 2-D/3-D (or N-D) maps: PCA, t-SNE and semantic axes, each
//! with a quality measure. Parameters are checked before any work starts; NaN/Inf rows are left
//! out and reported; a projection that evaluates quality on a sample says so.

pub mod axes;
pub mod pca;
pub mod quality;
pub mod tsne;
pub mod umap;

use serde::Serialize;
use thiserror::Error;

use crate::core::EmbeddingSet;

pub use quality::Quality;

#[derive(Debug, Error, Clone, PartialEq)]
pub enum ProjectError {
    #[error("invalid parameter: {0}")]
    Param(String),
    #[error("{why} needs at least {min} points, the input has {n}")]
    TooFewPoints { n: usize, min: usize, why: String },
    #[error("the input holds NaN or infinite values")]
    NonFinite,
    #[error("all points are identical: there is nothing to project")]
    Degenerate,
    #[error("axis {axis}: none of the words is in the vocabulary: {missing:?}")]
    AxisMissing { axis: String, missing: Vec<String> },
    #[error("axis {0}: {1}")]
    Axis(String, String),
    #[error("numeric failure: {0}")]
    Numeric(String),
    #[error("cancelled")]
    Cancelled,
}

/// The data limits an iterative map checks before it starts: at least one dimension and
/// `min` points (`why` names the method and the parameter that sets `min`).
pub(crate) fn check_points(
    n: usize,
    dim: usize,
    min: usize,
    why: impl FnOnce() -> String,
) -> Result<(), ProjectError> {
    if dim == 0 {
        return Err(ProjectError::Param("input has no dimensions".into()));
    }
    if n < min {
        return Err(ProjectError::TooFewPoints { n, min, why: why() });
    }
    Ok(())
}

/// A small deterministic generator (SplitMix64) for seeds, samples and initial layouts.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    /// Uniform in [0, 1).
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    /// Standard normal (Box-Muller).
    pub fn normal(&mut self) -> f64 {
        let u1 = self.uniform().max(f64::MIN_POSITIVE);
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }
}

/// The rows a projection works on: all finite rows of a set (NaN/Inf rows left out, reported).
#[derive(Debug, Clone)]
pub struct Input {
    /// Row indices of the set that are projected.
    pub rows: Vec<usize>,
    /// Rows left out because they hold NaN or Inf.
    pub excluded: Vec<usize>,
}

impl Input {
    pub fn new(set: &EmbeddingSet) -> Input {
        use rayon::prelude::*;
        let bad: Vec<bool> = set
            .matrix
            .as_slice()
            .par_chunks(set.dim())
            .with_min_len(1024)
            .map(|r| !r.iter().all(|x| x.is_finite()))
            .collect();
        Input {
            rows: (0..set.rows()).filter(|&i| !bad[i]).collect(),
            excluded: (0..set.rows()).filter(|&i| bad[i]).collect(),
        }
    }

    /// The selected rows copied into one row-major buffer.
    pub fn gather(&self, set: &EmbeddingSet) -> Vec<f32> {
        let mut out = Vec::with_capacity(self.rows.len() * set.dim());
        for &r in &self.rows {
            out.extend_from_slice(set.matrix.row(r));
        }
        out
    }
}

/// Method-specific results worth showing.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum Details {
    Pca {
        explained_variance: Vec<f64>,
        explained_variance_ratio: Vec<f64>,
    },
    Tsne {
        kl_divergence: f64,
        iterations: usize,
        /// Dimensions of the PCA applied before t-SNE, if any.
        pca_before: Option<usize>,
        learning_rate: f64,
        knn_k: usize,
        /// Recall of the approximate neighbour index on a sample; None when exact.
        knn_recall: Option<f64>,
    },
    Umap {
        n_neighbors: usize,
        min_dist: f64,
        spread: f64,
        n_epochs: usize,
        metric: crate::analysis::knn::Metric,
        /// The fitted curve 1 / (1 + a d^(2b)).
        a: f64,
        b: f64,
        /// Recall of the approximate neighbour index on a sample; None when exact.
        knn_recall: Option<f64>,
        /// Directed edges the optimiser samples.
        edges: usize,
        /// Seconds per step.
        seconds: umap::UmapSeconds,
    },
    Axes {
        x_label: String,
        y_label: String,
        /// cos(x axis, y axis) when both are given.
        axes_cosine: Option<f64>,
        missing: Vec<String>,
    },
}

/// A finished map.
#[derive(Debug, Clone)]
pub struct Projection {
    pub dims: usize,
    /// `rows.len() x dims`, row-major.
    pub coords: Vec<f32>,
    /// Set rows, in the order of `coords`.
    pub rows: Vec<usize>,
    pub excluded: Vec<usize>,
    pub details: Details,
    pub notes: Vec<String>,
}
