//! HDBSCAN: hierarchical density-based clustering with noise, euclidean, matching
//! scikit-learn's `sklearn.cluster.HDBSCAN` (1.9) with `metric="euclidean"`.
//!
//! The method is Campello, Moulavi & Sander, "Density-Based Clustering Based on Hierarchical
//! Density Estimates" (PAKDD 2013): core distances (distance to the `min_samples`-th nearest
//! row, the row itself counted), the minimum spanning tree of the mutual-reachability graph,
//! its single-linkage hierarchy condensed by `min_cluster_size`, and the flat clusters of
//! greatest stability (excess of mass) or the leaves. The spanning tree is exact and found as
//! in McInnes & Healy, "Accelerated Hierarchical Density Based Clustering" (ICDM workshops
//! 2017): Borůvka's algorithm over a KD-tree, pruned with core distances (`mst.rs`), instead of
//! scikit-learn's O(n^2) Prim. Distances are computed in f64 with scikit-learn's operation
//! order, so the tree's weights are the ones scikit-learn finds; what follows the tree
//! (`tree.rs`) repeats scikit-learn's steps, so labels (and their numbering), probabilities and
//! the condensed tree agree wherever the spanning tree has no tied weights. Where it does,
//! scikit-learn's own choice among equal trees depends on its sort, and a few rows at the
//! tied merges may differ.
//!
//! Deterministic: the same result on any number of threads.

use std::sync::atomic::{AtomicBool, Ordering};

pub use super::mst::SpanningEdge;
use super::mst::core_distances_and_mst;
use super::tree::{Choice, condense, flat, single_linkage};
use crate::analysis::AnalysisError;

/// How flat clusters are chosen from the condensed tree (scikit-learn's
/// `cluster_selection_method`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Selection {
    /// Excess of mass: the most stable clusters (the default).
    #[default]
    Eom,
    /// The leaves of the condensed tree: smaller, more homogeneous clusters.
    Leaf,
}

/// HDBSCAN parameters, scikit-learn's names and defaults (`HdbscanParams::default()` has
/// `min_cluster_size` 5, as scikit-learn).
#[derive(Clone, Debug, PartialEq)]
pub struct HdbscanParams {
    /// The fewest rows a cluster may have (>= 2).
    pub min_cluster_size: usize,
    /// Rows in a neighbourhood for a core row, the row itself included (>= 1); `None`: the same
    /// as `min_cluster_size`.
    pub min_samples: Option<usize>,
    pub selection: Selection,
    /// Clusters split below this distance are merged back (0: off).
    pub cluster_selection_epsilon: f64,
    /// Let the root (every row) be the one cluster.
    pub allow_single_cluster: bool,
}

impl Default for HdbscanParams {
    fn default() -> Self {
        HdbscanParams {
            min_cluster_size: 5,
            min_samples: None,
            selection: Selection::Eom,
            cluster_selection_epsilon: 0.0,
            allow_single_cluster: false,
        }
    }
}

/// Parameters checked against a number of rows (`HdbscanParams::check`).
#[derive(Clone, Debug, PartialEq)]
pub struct ValidHdbscan {
    params: HdbscanParams,
    min_samples: usize,
    n_rows: usize,
}

impl ValidHdbscan {
    pub fn params(&self) -> &HdbscanParams {
        &self.params
    }
    /// `min_samples`, resolved.
    pub fn min_samples(&self) -> usize {
        self.min_samples
    }
    pub fn n_rows(&self) -> usize {
        self.n_rows
    }
}

impl HdbscanParams {
    /// Checks the parameters for `n_rows` rows: `min_cluster_size` in `2..=n_rows`,
    /// `min_samples` in `1..=n_rows`, a finite epsilon >= 0.
    pub fn check(&self, n_rows: usize) -> Result<ValidHdbscan, AnalysisError> {
        let bad = |m: String| Err(AnalysisError::InvalidParameter(m));
        if self.min_cluster_size < 2 {
            return bad(format!(
                "HDBSCAN min_cluster_size must be at least 2 (got {})",
                self.min_cluster_size
            ));
        }
        if self.min_cluster_size > n_rows {
            return bad(format!(
                "HDBSCAN min_cluster_size {} is larger than the number of rows ({n_rows})",
                self.min_cluster_size
            ));
        }
        let min_samples = self.min_samples.unwrap_or(self.min_cluster_size);
        if min_samples < 1 {
            return bad("HDBSCAN min_samples must be at least 1 (got 0)".into());
        }
        if min_samples > n_rows {
            return bad(format!(
                "HDBSCAN min_samples {min_samples} is larger than the number of rows ({n_rows})"
            ));
        }
        let eps = self.cluster_selection_epsilon;
        if !eps.is_finite() || eps < 0.0 {
            return bad(format!(
                "HDBSCAN cluster_selection_epsilon must be a finite number >= 0 (got {eps})"
            ));
        }
        Ok(ValidHdbscan {
            params: self.clone(),
            min_samples,
            n_rows,
        })
    }
}

/// A cluster of the condensed tree.
#[derive(Clone, Debug, PartialEq)]
pub struct ClusterNode {
    /// The cluster it split from (an index into `Hdbscan::clusters`); `None` for the root.
    pub parent: Option<usize>,
    /// Lambda (1 / distance) at which it split from its parent; 0 for the root.
    pub lambda_birth: f64,
    /// The largest lambda at which a row or child cluster leaves it (infinite for duplicates).
    pub lambda_death: f64,
    /// Rows in it at birth.
    pub size: usize,
    /// Stability (excess of mass): sum over its rows of (lambda leaving - lambda_birth), before
    /// selection.
    pub stability: f64,
    /// Its label when selected.
    pub label: Option<i32>,
}

impl ClusterNode {
    /// `lambda_death - lambda_birth`: how long it lives in the hierarchy.
    pub fn persistence(&self) -> f64 {
        self.lambda_death - self.lambda_birth
    }
}

/// The clustering and its hierarchy.
#[derive(Clone, Debug, PartialEq)]
pub struct Hdbscan {
    /// Per row: its cluster, or -1 for noise.
    pub labels: Vec<i32>,
    /// Per row: membership strength in its cluster (0 for noise), as scikit-learn computes it.
    pub probabilities: Vec<f32>,
    pub n_clusters: usize,
    /// The condensed tree's clusters in scikit-learn's order (its id minus the number of rows);
    /// index 0 is the root (all rows). Parents come before their children.
    pub clusters: Vec<ClusterNode>,
    /// Per row: the cluster (index into `clusters`) it leaves as a single row.
    pub point_cluster: Vec<u32>,
    /// Per row: the lambda at which it leaves that cluster.
    pub point_lambda: Vec<f64>,
    /// Per row: its core distance.
    pub core_distances: Vec<f64>,
    /// The minimum spanning tree of the mutual-reachability graph (`n - 1` edges, in the order
    /// they were found).
    pub spanning_tree: Vec<SpanningEdge>,
}

impl Hdbscan {
    /// Labels for another choice of clusters (for instance the parents of the selected ones,
    /// for a coarser level): each row gets the position in `chosen` of the nearest chosen
    /// cluster at or above the one it leaves, or -1. No chosen cluster may lie below another.
    pub fn labels_for(&self, chosen: &[usize]) -> Result<Vec<i32>, AnalysisError> {
        let k = self.clusters.len();
        let mut mark: Vec<Option<i32>> = vec![None; k];
        for (i, &c) in chosen.iter().enumerate() {
            if c >= k {
                return Err(AnalysisError::InvalidParameter(format!(
                    "cluster {c} does not exist (the tree has {k})"
                )));
            }
            mark[c] = Some(i as i32);
        }
        let mut owner: Vec<Option<i32>> = vec![None; k];
        for c in 0..k {
            let above = self.clusters[c].parent.and_then(|p| owner[p]);
            if let (Some(_), Some(a)) = (mark[c], above) {
                return Err(AnalysisError::InvalidParameter(format!(
                    "cluster {c} lies inside chosen cluster {}",
                    chosen[a as usize]
                )));
            }
            owner[c] = mark[c].or(above);
        }
        Ok(self
            .point_cluster
            .iter()
            .map(|&c| owner[c as usize].unwrap_or(-1))
            .collect())
    }
}

/// HDBSCAN of `points` (row-major, `dim` values per row), euclidean. Rows with NaN or infinite
/// values are refused (naming the first); parameters are checked by `HdbscanParams::check`.
pub fn hdbscan(
    points: &[f32],
    dim: usize,
    params: &HdbscanParams,
    cancel: Option<&AtomicBool>,
) -> Result<Hdbscan, AnalysisError> {
    if dim == 0 {
        return Err(AnalysisError::InvalidParameter(
            "HDBSCAN needs rows of at least one value (dim is 0)".into(),
        ));
    }
    if !points.len().is_multiple_of(dim) {
        return Err(AnalysisError::InvalidParameter(format!(
            "{} values do not make rows of {dim}",
            points.len()
        )));
    }
    let n = points.len() / dim;
    let valid = params.check(n)?;
    if n > u32::MAX as usize / 2 {
        return Err(AnalysisError::InvalidParameter(format!(
            "HDBSCAN takes at most {} rows (got {n})",
            u32::MAX / 2
        )));
    }
    // The neighbour lists (and the tie candidates made from them) hold n * min_samples entries.
    const MAX_NEIGHBOUR_ENTRIES: usize = 1 << 31;
    if n.saturating_mul(valid.min_samples) > MAX_NEIGHBOUR_ENTRIES {
        return Err(AnalysisError::InvalidParameter(format!(
            "HDBSCAN min_samples {} is too large for {n} rows: rows x min_samples must stay \
             below {MAX_NEIGHBOUR_ENTRIES}",
            valid.min_samples
        )));
    }
    if let Some(bad) = points
        .chunks_exact(dim)
        .position(|r| r.iter().any(|x| !x.is_finite()))
    {
        return Err(AnalysisError::InvalidParameter(format!(
            "row {bad} has a NaN or infinite value: HDBSCAN needs finite coordinates"
        )));
    }
    let (core, edges) = core_distances_and_mst(points, dim, valid.min_samples, cancel)?;
    if cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
        return Err(AnalysisError::Cancelled);
    }
    let link = single_linkage(n, &edges);
    let rows = condense(&link, params.min_cluster_size);
    let f = flat(
        &rows,
        n,
        Choice {
            leaf: params.selection == Selection::Leaf,
            allow_single_cluster: params.allow_single_cluster,
            epsilon: params.cluster_selection_epsilon,
        },
    );
    let clusters: Vec<ClusterNode> = (0..f.parent.len())
        .map(|c| ClusterNode {
            parent: f.parent[c],
            lambda_birth: f.birth[c],
            lambda_death: f.death[c],
            size: f.size[c],
            stability: f.stability[c],
            label: f.label[c],
        })
        .collect();
    let n_clusters = clusters.iter().filter(|c| c.label.is_some()).count();
    Ok(Hdbscan {
        labels: f.labels,
        probabilities: f.probabilities.iter().map(|&p| p as f32).collect(),
        n_clusters,
        clusters,
        point_cluster: f.point_cluster,
        point_lambda: f.point_lambda,
        core_distances: core,
        spanning_tree: edges,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(mcs: usize) -> HdbscanParams {
        HdbscanParams {
            min_cluster_size: mcs,
            ..HdbscanParams::default()
        }
    }

    fn err_text(r: Result<Hdbscan, AnalysisError>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(_) => panic!("expected an error"),
        }
    }

    #[test]
    fn bad_parameters_and_rows_are_errors() {
        let x = [0.0f32, 0.0, 1.0, 1.0, 2.0, 2.0];
        let e = err_text(hdbscan(&x, 2, &params(5), None));
        assert!(e.contains("min_cluster_size 5") && e.contains("(3)"), "{e}");
        assert!(err_text(hdbscan(&[], 2, &params(2), None)).contains("(0)"));
        assert!(err_text(hdbscan(&[1.0, 2.0], 2, &params(2), None)).contains("(1)"));
        assert!(err_text(hdbscan(&x, 2, &params(1), None)).contains("at least 2"));
        let zero = HdbscanParams {
            min_samples: Some(0),
            ..params(2)
        };
        assert!(err_text(hdbscan(&x, 2, &zero, None)).contains("min_samples"));
        let many = HdbscanParams {
            min_samples: Some(4),
            ..params(2)
        };
        assert!(err_text(hdbscan(&x, 2, &many, None)).contains("min_samples 4"));
        let eps = HdbscanParams {
            cluster_selection_epsilon: -1.0,
            ..params(2)
        };
        assert!(err_text(hdbscan(&x, 2, &eps, None)).contains("epsilon"));
        assert!(err_text(hdbscan(&x, 4, &params(2), None)).contains("rows of 4"));
        assert!(err_text(hdbscan(&x, 0, &params(2), None)).contains("dim is 0"));
        let mut nan = x;
        nan[3] = f32::NAN;
        assert!(err_text(hdbscan(&nan, 2, &params(2), None)).contains("row 1 "));
        let mut inf = x;
        inf[4] = f32::NEG_INFINITY;
        assert!(err_text(hdbscan(&inf, 2, &params(2), None)).contains("row 2 "));
        assert!(params(3).check(3).is_ok());
        // Neighbour lists too large to hold: refused before any work.
        let wide = HdbscanParams {
            min_samples: Some(50_000),
            ..params(2)
        };
        assert!(err_text(hdbscan(&vec![0.0; 50_000], 1, &wide, None)).contains("too large"));
    }

    #[test]
    fn identical_points_are_noise_or_one_cluster() {
        let x = vec![1.5f32; 40 * 3];
        let r = hdbscan(&x, 3, &params(5), None).expect("runs");
        assert_eq!(r.n_clusters, 0);
        assert!(r.labels.iter().all(|&l| l == -1));
        assert!(r.probabilities.iter().all(|&p| p == 0.0));
        let single = HdbscanParams {
            allow_single_cluster: true,
            ..params(5)
        };
        let r = hdbscan(&x, 3, &single, None).expect("runs");
        assert_eq!(r.n_clusters, 1);
        assert!(r.labels.iter().all(|&l| l == 0));
        assert!(r.probabilities.iter().all(|&p| p == 1.0));
    }

    #[test]
    fn two_rows() {
        let r = hdbscan(&[0.0, 1.0], 1, &params(2), None).expect("runs");
        assert_eq!(r.labels, vec![-1, -1]);
        assert_eq!(r.clusters.len(), 1);
    }

    #[test]
    fn coarser_level_from_the_hierarchy() {
        // Four tight groups of 20 in two pairs: the leaves are the groups, the pairs above.
        let mut x = Vec::new();
        for (cx, cy) in [(0.0, 0.0), (3.0, 0.0), (100.0, 0.0), (103.0, 0.0)] {
            for i in 0..20 {
                let a = i as f32 * 0.3141;
                x.extend_from_slice(&[
                    cx + 0.2 * a.cos() * (1.0 + i as f32 / 20.0),
                    cy + 0.2 * a.sin(),
                ]);
            }
        }
        let leaf = HdbscanParams {
            selection: Selection::Leaf,
            ..params(5)
        };
        let r = hdbscan(&x, 2, &leaf, None).expect("runs");
        assert_eq!(r.n_clusters, 4);
        let selected: Vec<usize> = (0..r.clusters.len())
            .filter(|&c| r.clusters[c].label.is_some())
            .collect();
        let mut parents: Vec<usize> = selected
            .iter()
            .filter_map(|&c| r.clusters[c].parent)
            .collect();
        parents.sort_unstable();
        parents.dedup();
        assert_eq!(parents.len(), 2);
        let coarse = r.labels_for(&parents).expect("labels");
        for g in 0..4 {
            let l = coarse[g * 20];
            assert!(l >= 0);
            assert!(coarse[g * 20..(g + 1) * 20].iter().all(|&x| x == l));
        }
        assert_eq!(coarse[0], coarse[20]);
        assert_eq!(coarse[40], coarse[60]);
        assert_ne!(coarse[0], coarse[40]);
        assert!(r.labels_for(&[0, parents[0]]).is_err());
        assert!(r.labels_for(&[999]).is_err());
    }

    #[test]
    fn cancel_is_honoured() {
        let x: Vec<f32> = (0..400).map(|i| (i * 7 % 31) as f32).collect();
        let flag = AtomicBool::new(true);
        assert_eq!(
            hdbscan(&x, 2, &params(5), Some(&flag)),
            Err(AnalysisError::Cancelled)
        );
    }
}
