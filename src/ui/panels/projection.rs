//! The Projection panel: method and parameters, Run, the running job, and the current map's
//! method, parameters and quality.

use crate::analysis::knn::Metric;
use crate::analysis::project::tsne::TsneParams;
use crate::analysis::project::umap::UmapParams;
use crate::app::{App, Command, JobKind, placement_of};
use crate::engine::jobs::{MapMethod, ProjectSpec};
use crate::ui::job_row;
use crate::ui::map::MapState;

/// What the user is choosing in the panel.
pub struct ProjectionPanel {
    method: MapMethod,
    perplexity: f64,
    iterations: usize,
    seed: u64,
    n_neighbors: usize,
    min_dist: f64,
    spread: f64,
    /// 0: umap-learn's default for the size.
    epochs: usize,
    metric: Metric,
    x_axis: String,
    y_axis: String,
    /// The map version the form last took its method from.
    seen_map: u64,
}

impl Default for ProjectionPanel {
    fn default() -> Self {
        let d = TsneParams::default();
        let u = UmapParams::default();
        ProjectionPanel {
            n_neighbors: u.n_neighbors,
            min_dist: u.min_dist,
            spread: u.spread,
            epochs: 0,
            metric: u.metric,
            method: MapMethod::Pca,
            perplexity: d.perplexity,
            iterations: d.iterations,
            seed: d.seed,
            x_axis: "man, he -> woman, she".into(),
            y_axis: String::new(),
            seen_map: 0,
        }
    }
}

impl ProjectionPanel {
    /// The projection the form describes.
    fn spec(&self) -> ProjectSpec {
        match self.method {
            MapMethod::Tsne => ProjectSpec::Tsne(TsneParams {
                perplexity: self.perplexity,
                iterations: self.iterations,
                early_exaggeration_iter: TsneParams::default()
                    .early_exaggeration_iter
                    .min(self.iterations / 2),
                seed: self.seed,
                ..TsneParams::default()
            }),
            MapMethod::Umap => ProjectSpec::Umap(UmapParams {
                n_neighbors: self.n_neighbors,
                min_dist: self.min_dist.min(self.spread),
                spread: self.spread,
                n_epochs: (self.epochs > 0).then_some(self.epochs),
                metric: self.metric,
                seed: self.seed,
                ..UmapParams::default()
            }),
            MapMethod::Axes => ProjectSpec::Axes {
                x: self.x_axis.clone(),
                y: Some(self.y_axis.clone()).filter(|s| !s.trim().is_empty()),
            },
            MapMethod::Pca | MapMethod::AlignedPca => ProjectSpec::Pca,
        }
    }

    /// Takes the method and parameters of a map that was made elsewhere (the demo's shipped
    /// map, a session's map), so the form says what is shown.
    fn adopt(&mut self, spec: &ProjectSpec) {
        match spec {
            ProjectSpec::Pca => self.method = MapMethod::Pca,
            ProjectSpec::Tsne(p) => {
                self.method = MapMethod::Tsne;
                self.perplexity = p.perplexity;
                self.iterations = p.iterations;
                self.seed = p.seed;
            }
            ProjectSpec::Umap(p) => {
                self.method = MapMethod::Umap;
                self.n_neighbors = p.n_neighbors;
                self.min_dist = p.min_dist;
                self.spread = p.spread;
                self.epochs = p.n_epochs.unwrap_or(0);
                self.metric = p.metric;
                self.seed = p.seed;
            }
            ProjectSpec::Axes { x, y } => {
                self.method = MapMethod::Axes;
                self.x_axis = x.clone();
                self.y_axis = y.clone().unwrap_or_default();
            }
        }
    }

    pub fn show(
        &mut self,
        app: &App,
        map: &mut MapState,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
    ) {
        ui.heading("Projection");
        if let Some(m) = app.active_dataset().and_then(|d| d.map.as_ref())
            && m.finished
            && m.version != self.seen_map
        {
            self.seen_map = m.version;
            if let Some(spec) = &m.spec {
                self.adopt(spec);
            }
        }
        ui.horizontal(|ui| {
            ui.selectable_value(&mut self.method, MapMethod::Pca, "PCA");
            ui.selectable_value(&mut self.method, MapMethod::Tsne, "t-SNE");
            ui.selectable_value(&mut self.method, MapMethod::Umap, "UMAP");
            ui.selectable_value(&mut self.method, MapMethod::Axes, "Semantic axes");
        });
        match self.method {
            MapMethod::Pca | MapMethod::AlignedPca => {
                ui.weak("first two principal components");
            }
            MapMethod::Tsne => {
                ui.add(egui::Slider::new(&mut self.perplexity, 2.0..=100.0).text("perplexity"));
                ui.add(
                    egui::Slider::new(&mut self.iterations, 250..=3000)
                        .text("iterations")
                        .step_by(50.0),
                );
                ui.horizontal(|ui| {
                    ui.label("seed");
                    ui.add(egui::DragValue::new(&mut self.seed));
                });
            }
            MapMethod::Umap => {
                ui.add(egui::Slider::new(&mut self.n_neighbors, 2..=200).text("n_neighbors"));
                ui.add(egui::Slider::new(&mut self.min_dist, 0.0..=1.0).text("min_dist"));
                ui.add(egui::Slider::new(&mut self.spread, 0.1..=5.0).text("spread"));
                ui.add(
                    egui::Slider::new(&mut self.epochs, 0..=2000)
                        .text("epochs (0: auto)")
                        .step_by(10.0),
                );
                ui.horizontal(|ui| {
                    for m in [Metric::Euclidean, Metric::Cosine] {
                        ui.selectable_value(&mut self.metric, m, m.name());
                    }
                    ui.label("seed");
                    ui.add(egui::DragValue::new(&mut self.seed));
                });
            }
            MapMethod::Axes => {
                let l = ui.label("x axis (a,b -> c,d or an expression)");
                ui.text_edit_singleline(&mut self.x_axis).labelled_by(l.id);
                let l = ui.label("y axis (empty: first principal component of the rest)");
                ui.text_edit_singleline(&mut self.y_axis).labelled_by(l.id);
            }
        }
        let enabled = app.active.is_some();
        if ui
            .add_enabled(enabled, egui::Button::new("Run projection"))
            .clicked()
        {
            cmds.push(Command::Project(self.spec()));
            map.auto_fit = true;
        }
        let ds = app.active;
        for j in app
            .jobs
            .iter()
            .filter(|j| matches!(j.kind, JobKind::Project | JobKind::Place) && j.dataset == ds)
        {
            job_row(ui, j, cmds);
        }
        if let Some(m) = app.active_dataset().and_then(|d| d.map.as_ref()) {
            ui.label(format!("map: {} ({})", m.method, m.params));
            if let Some(q) = &m.quality {
                ui.label(q.summary()).on_hover_text(
                    "how well the map keeps each point's nearest neighbours of the original space",
                );
            }
            if let Some(s) = m.seconds {
                ui.weak(format!("computed in {s:.2} s"));
            }
            for n in &m.notes {
                ui.weak(n);
            }
            place_menu(app, ui, cmds);
            if let Some(p) = &m.placed {
                ui.weak(format!(
                    "{} rows of {} placed ({})",
                    p.coords.len(),
                    p.from_name,
                    p.how
                ));
            }
        }
    }
}

/// "Place rows of…": the other open sets, enabled where placing onto this map can work.
fn place_menu(app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let (Some(active), Some(d)) = (app.active, app.active_dataset()) else {
        return;
    };
    let Some(m) = d.map.as_ref() else {
        return;
    };
    let why_not = placement_of(m).err();
    ui.menu_button("Place rows of…", |ui| {
        if let Some(w) = &why_not {
            ui.weak(w);
            return;
        }
        let mut any = false;
        for (i, other) in app.datasets.iter().enumerate() {
            if i == active {
                continue;
            }
            any = true;
            let fits = other.set.dim() == d.set.dim();
            let b = ui
                .add_enabled(fits, egui::Button::new(&other.name))
                .on_disabled_hover_text(format!(
                    "{} dimensions; the map's set has {}",
                    other.set.dim(),
                    d.set.dim()
                ));
            if b.clicked() {
                cmds.push(Command::PlaceOnMap { from: i });
                ui.close();
            }
        }
        if !any {
            ui.weak("open another data set of the same dimension first");
        }
    })
    .response
    .on_hover_text("place another open set's rows onto this map without recomputing it");
}
