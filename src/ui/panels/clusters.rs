//! The Clusters panel: find clusters on the active map (HDBSCAN or k-means), list them with
//! their sizes and keywords (click one to select its rows), show or hide their labels.

use crate::app::{App, Command, JobKind};
use crate::engine::jobs::ClusterMethod;
use crate::ui::job_row;

pub struct ClustersPanel {
    kmeans: bool,
    min_cluster_size: usize,
    min_samples: usize,
    /// 0: the same as the min cluster size (scikit-learn's default).
    k: usize,
    /// The tree's leaves instead of its most stable clusters.
    leaf: bool,
    /// Cluster names drawn on the map.
    pub show_labels: bool,
}

impl Default for ClustersPanel {
    fn default() -> Self {
        ClustersPanel {
            kmeans: false,
            min_cluster_size: 15,
            min_samples: 0,
            k: 12,
            leaf: false,
            show_labels: true,
        }
    }
}

impl ClustersPanel {
    pub fn method(&self) -> ClusterMethod {
        if self.kmeans {
            ClusterMethod::Kmeans { k: self.k, seed: 0 }
        } else {
            ClusterMethod::Hdbscan {
                min_cluster_size: self.min_cluster_size,
                min_samples: (self.min_samples > 0).then_some(self.min_samples),
                leaf: self.leaf,
            }
        }
    }

    pub fn show(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Clusters");
        let Some(d) = app.active_dataset() else {
            return;
        };
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.kmeans, false, "HDBSCAN");
            ui.radio_value(&mut self.kmeans, true, "k-means");
        });
        if self.kmeans {
            ui.add(egui::Slider::new(&mut self.k, 2..=100).text("clusters (k)"));
        } else {
            ui.add(
                egui::Slider::new(&mut self.min_cluster_size, 2..=500)
                    .logarithmic(true)
                    .text("min cluster size"),
            );
            ui.add(
                egui::Slider::new(&mut self.min_samples, 0..=500)
                    .logarithmic(true)
                    .text("min samples (0: = size)"),
            );
            ui.checkbox(&mut self.leaf, "leaf clusters")
                .on_hover_text("the smallest clusters of the tree instead of the most stable ones");
        }
        let ready = d.map.as_ref().is_some_and(|m| m.finished);
        ui.horizontal(|ui| {
            if ui
                .add_enabled(ready, egui::Button::new("Find clusters"))
                .on_disabled_hover_text("wait for the map to finish")
                .on_hover_text("on the map's points; keywords from the documents' text")
                .clicked()
            {
                cmds.push(Command::ClusterMap(self.method()));
            }
            if d.map_clusters.is_some() && ui.button("Clear").clicked() {
                cmds.push(Command::ClearClusters);
            }
            ui.checkbox(&mut self.show_labels, "labels");
        });
        for j in app.jobs.iter().filter(|j| j.kind == JobKind::Cluster) {
            job_row(ui, j, cmds);
        }
        let Some(c) = d
            .map_clusters
            .as_ref()
            .filter(|c| d.map.as_ref().is_some_and(|m| m.version == c.map_version))
        else {
            return;
        };
        ui.weak(format!(
            "{} clusters, {} noise points ({}){}",
            c.fine.clusters.len(),
            c.fine.noise,
            c.method.describe(),
            c.coarse
                .as_ref()
                .map(|l| format!("; {} when zoomed out", l.clusters.len()))
                .unwrap_or_default()
        ));
        let mut list: Vec<_> = c.fine.clusters.iter().collect();
        list.sort_by_key(|c| std::cmp::Reverse(c.summary.size));
        egui::ScrollArea::vertical()
            .id_salt("cluster_list")
            .max_height(220.0)
            .show(ui, |ui| {
                egui::Grid::new("clusters").striped(true).show(ui, |ui| {
                    for info in list {
                        let s = &info.summary;
                        ui.label(s.size.to_string());
                        let words: Vec<&str> =
                            s.keywords.iter().take(6).map(|(w, _)| w.as_str()).collect();
                        if ui
                            .link(if s.label.is_empty() {
                                format!("cluster {}", s.id)
                            } else {
                                s.label.clone()
                            })
                            .on_hover_text(words.join(", "))
                            .clicked()
                        {
                            cmds.push(Command::SelectCluster(s.id));
                        }
                        ui.end_row();
                    }
                });
            });
    }
}
