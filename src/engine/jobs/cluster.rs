//! Clusters of a map's points with labels: HDBSCAN (or k-means) on the 2-D positions, each
//! cluster named by its keywords (documents) or first words (words), and for HDBSCAN a coarser
//! level (the parents of the chosen clusters in the cluster tree) for the zoomed-out map.

use std::sync::Arc;
use std::time::Instant;

use crate::analysis::cluster::keywords::KeywordParams;
use crate::analysis::cluster::{
    ClusterSummary, Hdbscan, HdbscanParams, KMeansParams, Selection, hdbscan, kmeans_points,
    summarise, text_for,
};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};

/// How the map's points are clustered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "method", rename_all = "lowercase")]
pub enum ClusterMethod {
    /// scikit-learn's HDBSCAN (euclidean; excess of mass, or the tree's leaves with `leaf`);
    /// `min_samples` None = the size.
    Hdbscan {
        min_cluster_size: usize,
        min_samples: Option<usize>,
        #[serde(default)]
        leaf: bool,
    },
    Kmeans {
        k: usize,
        seed: u64,
    },
}

impl ClusterMethod {
    pub fn describe(&self) -> String {
        match self {
            ClusterMethod::Hdbscan {
                min_cluster_size,
                min_samples,
                leaf,
            } => format!(
                "HDBSCAN{}, min cluster size {min_cluster_size}, min samples {}",
                if *leaf { " (leaves)" } else { "" },
                min_samples.unwrap_or(*min_cluster_size)
            ),
            ClusterMethod::Kmeans { k, seed } => format!("k-means, k {k}, seed {seed}"),
        }
    }

    /// The parameters checked against the number of points, before a job starts.
    pub fn check(&self, points: usize) -> Result<(), EngineError> {
        match self {
            ClusterMethod::Hdbscan {
                min_cluster_size,
                min_samples,
                ..
            } => {
                HdbscanParams {
                    min_cluster_size: *min_cluster_size,
                    min_samples: *min_samples,
                    ..HdbscanParams::default()
                }
                .check(points)?;
            }
            ClusterMethod::Kmeans { k, .. } => {
                if *k == 0 || *k > points {
                    return Err(EngineError::Output(format!(
                        "k-means: k = {k}, the map has {points} points (1 to {points})"
                    )));
                }
            }
        }
        Ok(())
    }
}

/// The points of a map to cluster.
pub struct ClusterPoints {
    pub set: Arc<EmbeddingSet>,
    /// The set row of each point.
    pub rows: Vec<u32>,
    pub coords: Vec<[f32; 2]>,
    pub method: ClusterMethod,
    /// The text column keywords come from (None: the set's own).
    pub text_column: Option<String>,
}

/// One level of clusters: a label per map point (-1 noise) and the clusters' summaries.
#[derive(Debug, Clone)]
pub struct ClusterLevel {
    pub labels: Vec<i32>,
    pub summaries: Vec<ClusterSummary>,
}

/// The clusters of a map.
#[derive(Debug, Clone)]
pub struct Clustered {
    pub method: ClusterMethod,
    pub fine: ClusterLevel,
    /// Membership strength per point (HDBSCAN; 1 for k-means).
    pub probabilities: Vec<f32>,
    /// A coarser level (HDBSCAN: the clusters' parents in the tree), when it has fewer clusters.
    pub coarse: Option<ClusterLevel>,
    pub seconds: f64,
}

/// A coarser cut of the cluster tree for the zoomed-out map: each chosen cluster climbs to its
/// largest ancestor that holds at most an eighth of the points (so the cut has at least eight
/// parts where the tree allows), nested picks merged; None when that merges nothing or leaves
/// fewer than three clusters.
fn coarser(h: &Hdbscan) -> Option<Vec<usize>> {
    let nodes = &h.clusters;
    let total = h.labels.len();
    let cap = (total / 8).max(1);
    let chosen: Vec<usize> = (0..nodes.len())
        .filter(|&c| nodes[c].label.is_some())
        .collect();
    let mut up: Vec<usize> = chosen
        .iter()
        .map(|&c| {
            let mut at = c;
            while let Some(p) = nodes[at].parent {
                if nodes[p].parent.is_none() || nodes[p].size > cap {
                    break;
                }
                at = p;
            }
            at
        })
        .collect();
    up.sort_unstable();
    up.dedup();
    let inside = |c: usize, set: &[usize]| {
        let mut p = nodes[c].parent;
        while let Some(q) = p {
            if set.binary_search(&q).is_ok() {
                return true;
            }
            p = nodes[q].parent;
        }
        false
    };
    let kept: Vec<usize> = up.iter().copied().filter(|&c| !inside(c, &up)).collect();
    (kept.len() >= 3 && kept.len() < chosen.len()).then_some(kept)
}

impl Job for ClusterPoints {
    type Output = Clustered;

    /// The method over the map's 2-D points.
    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        use crate::analysis::memory as m;
        let n = self.coords.len();
        Some(match &self.method {
            ClusterMethod::Hdbscan {
                min_cluster_size,
                min_samples,
                ..
            } => m::hdbscan(n, 2, min_samples.unwrap_or(*min_cluster_size)),
            ClusterMethod::Kmeans { k, .. } => m::kmeans(n, 2, *k),
        })
    }

    fn label(&self) -> String {
        format!("clusters ({})", self.method.describe())
    }

    fn run(&self, ctx: &JobContext) -> Result<Clustered, EngineError> {
        let t = Instant::now();
        let n = self.coords.len();
        if self.rows.len() != n {
            return Err(EngineError::Output(format!(
                "{} rows for {n} points",
                self.rows.len()
            )));
        }
        self.method.check(n)?;
        let flat: Vec<f32> = self.coords.iter().flat_map(|p| [p[0], p[1]]).collect();
        ctx.progress(None, "clustering the map's points");
        let (labels, probabilities, tree) = match &self.method {
            ClusterMethod::Hdbscan {
                min_cluster_size,
                min_samples,
                leaf,
            } => {
                let p = HdbscanParams {
                    min_cluster_size: *min_cluster_size,
                    min_samples: *min_samples,
                    selection: if *leaf {
                        Selection::Leaf
                    } else {
                        Selection::Eom
                    },
                    ..HdbscanParams::default()
                };
                let h = hdbscan(&flat, 2, &p, Some(ctx.cancel_flag()))?;
                (h.labels.clone(), h.probabilities.clone(), Some(h))
            }
            ClusterMethod::Kmeans { k, seed } => {
                let r = kmeans_points(
                    &flat,
                    2,
                    &KMeansParams {
                        k: *k,
                        seed: *seed,
                        ..KMeansParams::default()
                    },
                )?;
                (r.labels, vec![1.0; n], None)
            }
        };
        ctx.check()?;
        ctx.progress(None, "keywords of each cluster");
        let text = text_for(&self.set, self.text_column.as_deref())?;
        let rows: Vec<usize> = self.rows.iter().map(|&r| r as usize).collect();
        let params = KeywordParams::default();
        let summaries = summarise(&self.set, text, &rows, &labels, &params)?;
        let coarse = match tree.as_ref().and_then(|h| coarser(h).map(|c| (h, c))) {
            Some((h, chosen)) => {
                let labels = h.labels_for(&chosen)?;
                ctx.check()?;
                let summaries = summarise(&self.set, text, &rows, &labels, &params)?;
                Some(ClusterLevel { labels, summaries })
            }
            None => None,
        };
        Ok(Clustered {
            method: self.method.clone(),
            fine: ClusterLevel { labels, summaries },
            probabilities,
            coarse,
            seconds: t.elapsed().as_secs_f64(),
        })
    }
}
