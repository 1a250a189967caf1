//! Clusters of the active map with their labels: the job that finds them (HDBSCAN or k-means
//! on the map's points, keywords per cluster), the levels kept with the map (fine, and the
//! coarser one HDBSCAN's tree gives), each cluster's label position, colouring by cluster.

use crate::analysis::cluster::ClusterSummary;
use crate::engine::jobs::{ClusterLevel, ClusterMethod, ClusterPoints, Clustered, JobId};

use super::colors::{self, ColorMode};
use super::{App, JobKind};

/// The clusters the demo opens with: the leaves of HDBSCAN's tree on its 50k words (about a
/// hundred named regions, their parents when zoomed out; excess of mass would keep one
/// cluster of 46k words).
pub const DEMO_CLUSTERS: ClusterMethod = ClusterMethod::Hdbscan {
    min_cluster_size: 100,
    min_samples: Some(10),
    leaf: true,
};

/// One cluster as the map and the list show it.
#[derive(Debug, Clone)]
pub struct ClusterInfo {
    pub summary: ClusterSummary,
    /// Where its label goes: the member point nearest the members' mean (inside the cluster
    /// even when it is not convex).
    pub centre: [f32; 2],
}

/// One level: a label per map point (-1 noise) and its clusters (noise left out).
#[derive(Debug, Clone)]
pub struct LevelView {
    pub labels: Vec<i32>,
    pub clusters: Vec<ClusterInfo>,
    pub noise: usize,
}

/// Clusters of a map, valid while the map's version is `map_version`.
#[derive(Debug, Clone)]
pub struct MapClusters {
    pub method: ClusterMethod,
    pub fine: LevelView,
    pub coarse: Option<LevelView>,
    pub probabilities: Vec<f32>,
    pub map_version: u64,
    pub seconds: f64,
}

impl MapClusters {
    /// The label of each set row (-1: noise or not on the map), for colours and exports.
    pub fn row_labels(&self, point_of_row: &[u32]) -> Vec<i32> {
        point_of_row
            .iter()
            .map(|&p| self.fine.labels.get(p as usize).copied().unwrap_or(-1))
            .collect()
    }

    /// A fine cluster's name, by id.
    pub fn name(&self, id: i32) -> Option<&str> {
        self.fine
            .clusters
            .iter()
            .find(|c| c.summary.id == id)
            .map(|c| c.summary.label.as_str())
    }
}

fn level(l: ClusterLevel, coords: &[[f32; 2]]) -> LevelView {
    let k = l
        .summaries
        .iter()
        .map(|s| s.id + 1)
        .max()
        .unwrap_or(0)
        .max(0) as usize;
    let mut sum = vec![[0f64; 3]; k];
    for (p, &c) in coords.iter().zip(&l.labels) {
        if c >= 0 && (c as usize) < k {
            let s = &mut sum[c as usize];
            s[0] += f64::from(p[0]);
            s[1] += f64::from(p[1]);
            s[2] += 1.0;
        }
    }
    let mean: Vec<[f64; 2]> = sum
        .iter()
        .map(|s| [s[0] / s[2].max(1.0), s[1] / s[2].max(1.0)])
        .collect();
    let mut best = vec![(f64::INFINITY, [0f32; 2]); k];
    for (p, &c) in coords.iter().zip(&l.labels) {
        if c >= 0 && (c as usize) < k {
            let m = mean[c as usize];
            let d = (f64::from(p[0]) - m[0]).powi(2) + (f64::from(p[1]) - m[1]).powi(2);
            if d < best[c as usize].0 {
                best[c as usize] = (d, *p);
            }
        }
    }
    let noise = l.labels.iter().filter(|&&c| c < 0).count();
    let clusters = l
        .summaries
        .into_iter()
        .filter(|s| s.id >= 0)
        .map(|s| ClusterInfo {
            centre: best.get(s.id as usize).map_or([0.0; 2], |b| b.1),
            summary: s,
        })
        .collect();
    LevelView {
        labels: l.labels,
        clusters,
        noise,
    }
}

impl App {
    /// Clusters the active map's points (a finished map; the job replaces any running one).
    pub(super) fn cluster_map(&mut self, method: ClusterMethod) {
        if let Some(i) = self.active {
            self.cluster_dataset(i, method);
        }
    }

    /// Clusters data set `i`'s map.
    pub(super) fn cluster_dataset(&mut self, i: usize, method: ClusterMethod) {
        let Some(d) = self.datasets.get(i) else {
            return;
        };
        let Some(m) = d.map.as_ref() else {
            self.error("no map to cluster", "Make a map first (Projection).");
            return;
        };
        if !m.finished {
            self.error(
                "the map is still being made",
                "Clusters are found on the finished map; wait for it or cancel it.",
            );
            return;
        }
        if let Err(e) = method.check(m.coords.len()) {
            self.error("cannot cluster this map", e.to_string());
            return;
        }
        if let Some((j, _)) = self.datasets[i].cluster_job.take() {
            self.worker.cancel(j);
        }
        let d = &self.datasets[i];
        let m = d.map.as_ref().expect("checked above");
        let version = m.version;
        let job = ClusterPoints {
            set: d.set.clone(),
            rows: m.rows.clone(),
            coords: m.coords.clone(),
            method,
            text_column: d.text_column_override.clone(),
        };
        let id = self.start(job, JobKind::Cluster, Some(i), |app, view, c: Clustered| {
            if let Some(ds) = view.dataset {
                app.fold_clusters(ds, view.id, c);
            }
        });
        self.datasets[i].cluster_job = Some((id, version));
    }

    fn fold_clusters(&mut self, i: usize, job: JobId, c: Clustered) {
        let Some(d) = self.datasets.get_mut(i) else {
            return;
        };
        let Some((_, version)) = d.cluster_job.filter(|(j, _)| *j == job) else {
            return;
        };
        d.cluster_job = None;
        let Some(m) = d.map.as_ref().filter(|m| m.version == version) else {
            return;
        };
        let fine = level(c.fine, &m.coords);
        let coarse = c.coarse.map(|l| level(l, &m.coords));
        let msg = format!(
            "{}: {} clusters, {} noise points ({}, {:.2} s)",
            d.name,
            fine.clusters.len(),
            fine.noise,
            c.method.describe(),
            c.seconds
        );
        d.map_clusters = Some(MapClusters {
            method: c.method,
            fine,
            coarse,
            probabilities: c.probabilities,
            map_version: version,
            seconds: c.seconds,
        });
        self.info(msg);
        self.set_color(i, ColorMode::Cluster);
    }

    /// Selects the rows of a fine cluster of the active map.
    pub(super) fn select_cluster(&mut self, id: i32) {
        let Some(d) = self.active.and_then(|i| self.datasets.get_mut(i)) else {
            return;
        };
        let (Some(m), Some(c)) = (d.map.as_ref(), d.map_clusters.as_ref()) else {
            return;
        };
        d.selection = c
            .fine
            .labels
            .iter()
            .zip(&m.rows)
            .filter(|(l, _)| **l == id)
            .map(|(_, &r)| r as usize)
            .collect();
        self.refresh_neighbours();
    }
}

/// Colours and legend by cluster: noise grey, the clusters by size with their names.
pub(super) fn cluster_colors(
    c: &MapClusters,
    point_of_row: &[u32],
) -> (Vec<colors::Rgba>, colors::Legend) {
    let labels = c.row_labels(point_of_row);
    let names: Vec<String> = labels
        .iter()
        .map(|&l| {
            if l < 0 {
                String::new()
            } else {
                format!("{l}: {}", c.name(l).unwrap_or(""))
            }
        })
        .collect();
    let refs: Vec<&str> = names.iter().map(String::as_str).collect();
    colors::categorical(&refs, "noise")
}

/// The cluster table as CSV, one row per cluster of each level (`fine`, then `coarse` when the
/// clustering gives one) and one for the noise: level, cluster id (-1 noise), size, its share
/// of the map's points, label, keywords with their c-TF-IDF weights, and where the label sits.
pub fn clusters_csv(c: &MapClusters, redact: bool) -> String {
    use crate::formats::csv_field;
    let csv_field = |t: &str| csv_field(&super::privacy::masked(t, redact));
    let mut out = String::from("level,cluster,size,share,label,keywords,x,y\n");
    let points = c.fine.labels.len().max(1) as f64;
    let levels = std::iter::once(("fine", &c.fine)).chain(c.coarse.iter().map(|l| ("coarse", l)));
    for (name, level) in levels {
        let mut list: Vec<&ClusterInfo> = level.clusters.iter().collect();
        list.sort_by_key(|i| (std::cmp::Reverse(i.summary.size), i.summary.id));
        for info in list {
            let s = &info.summary;
            let keywords: Vec<String> = s
                .keywords
                .iter()
                .map(|(w, score)| format!("{w} {score:.4}"))
                .collect();
            out.push_str(&format!(
                "{name},{},{},{:.6},{},{},{},{}\n",
                s.id,
                s.size,
                s.size as f64 / points,
                csv_field(&s.label),
                csv_field(&keywords.join("; ")),
                info.centre[0],
                info.centre[1]
            ));
        }
        out.push_str(&format!(
            "{name},-1,{},{:.6},noise,,,\n",
            level.noise,
            level.noise as f64 / points
        ));
    }
    out
}
