//! L5: the eframe/egui desktop app. Panels read `app::App` and push `app::Command`s, which are
//! applied once per frame; background jobs are polled each frame and never waited on.

pub mod bias;
pub mod compare;
pub mod map;
pub mod points;
pub mod report;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui_wgpu;
use egui::{Color32, RichText};

use crate::analysis::analogy::Method;
use crate::analysis::knn::Metric;
use crate::analysis::project::tsne::TsneParams;
use crate::app::colors::ColorMode;
use crate::app::{App, Bookmark, Command, JobKind, Level, SearchMode, Settings};
use crate::engine::device::BackendChoice;
use crate::engine::encode::Level as EncodeLevel;
use crate::engine::jobs::{EncodeSpec, ProjectSpec};
use crate::formats::corpus::CorpusOptions;
use map::{MapState, Tool};

/// What the app opens with.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Files to open; the demo set when empty (unless `empty`).
    pub files: Vec<PathBuf>,
    pub empty: bool,
    /// Settings file (None: not persisted).
    pub settings_path: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MethodChoice {
    Pca,
    Tsne,
    Axes,
}

/// Form fields of the panels (what the user is typing).
struct Forms {
    search: String,
    search_mode: SearchMode,
    method: MethodChoice,
    perplexity: f64,
    iterations: usize,
    seed: u64,
    x_axis: String,
    y_axis: String,
    analogy: [String; 3],
    analogy_mul: bool,
    sim: [String; 2],
    model: String,
    corpus: String,
    level: EncodeLevel,
    backend: BackendChoice,
    text_column: String,
    batch_size: usize,
    open_path: String,
    show_open_path: bool,
    session_path: String,
    export_path: String,
    bookmark_name: String,
    focus_search: bool,
}

impl Default for Forms {
    fn default() -> Self {
        let d = TsneParams::default();
        Forms {
            search: String::new(),
            search_mode: SearchMode::Exact,
            method: MethodChoice::Pca,
            perplexity: d.perplexity,
            iterations: d.iterations,
            seed: d.seed,
            x_axis: "man, he -> woman, she".into(),
            y_axis: String::new(),
            analogy: ["man".into(), "king".into(), "woman".into()],
            analogy_mul: false,
            sim: ["cat".into(), "dog".into()],
            model: String::new(),
            corpus: String::new(),
            level: EncodeLevel::Sentence,
            backend: BackendChoice::Auto,
            text_column: String::new(),
            batch_size: 32,
            open_path: String::new(),
            show_open_path: false,
            session_path: String::new(),
            export_path: String::new(),
            bookmark_name: String::new(),
            focus_search: false,
        }
    }
}

pub struct EmbedscopeApp {
    pub app: App,
    forms: Forms,
    map: MapState,
    render_state: Option<egui_wgpu::RenderState>,
    /// The renderer in words, for the status bar.
    renderer: String,
    /// A PNG export waiting for its screenshot, and the screenshot when it arrives.
    pending_png: Option<PathBuf>,
    screenshot: Arc<std::sync::Mutex<Option<Arc<egui::ColorImage>>>>,
    /// Seconds of the last frame's UI work.
    pub frame_seconds: f64,
    /// Notification rows whose details the user folded away (details show by default).
    collapsed: std::collections::HashSet<usize>,
    /// Cameras of the compare screen's maps, and the versions ticked for comparing.
    compare_maps: Vec<MapState>,
    compare_pick: Vec<usize>,
    /// The bias probes window.
    bias_ui: bias::BiasUi,
    /// The export report window.
    report_ui: report::ReportUi,
}

impl EmbedscopeApp {
    pub fn new(cc: &eframe::CreationContext<'_>, opts: StartOptions) -> Self {
        let (settings, msg) = match &opts.settings_path {
            Some(p) => Settings::load(p),
            None => (Settings::default(), None),
        };
        let mut app = App::new(settings, opts.settings_path.clone());
        if let Some(m) = msg {
            app.error("settings", m);
        }
        let ctx = cc.egui_ctx.clone();
        app.set_waker(Arc::new(move || ctx.request_repaint()));
        let render_state = cc.wgpu_render_state.clone();
        let renderer = match &render_state {
            Some(rs) => {
                points::install(rs);
                let info = rs.adapter.get_info();
                let soft = matches!(info.device_type, eframe::wgpu::DeviceType::Cpu);
                format!(
                    "map: wgpu point renderer on {} ({:?}{})",
                    info.name,
                    info.backend,
                    if soft { ", software adapter" } else { "" }
                )
            }
            None => "map: fallback renderer (egui painter; no wgpu adapter)".to_string(),
        };
        // Tokens come in every script; a glyph the fonts lack is drawn as a box, never a panic.
        cc.egui_ctx
            .set_missing_glyph_policy(egui::epaint::text::MissingGlyphPolicy::Tofu);
        cc.egui_ctx.set_visuals(if app.settings.dark {
            egui::Visuals::dark()
        } else {
            egui::Visuals::light()
        });
        if opts.files.is_empty() && !opts.empty {
            app.apply(Command::OpenDemo);
        }
        for f in opts.files {
            app.apply(Command::OpenPath(f));
        }
        let mut forms = Forms::default();
        if let Some(m) = &app.settings.last_model {
            forms.model = m.display().to_string();
        }
        if let Some(c) = &app.settings.last_corpus {
            forms.corpus = c.display().to_string();
        }
        EmbedscopeApp {
            app,
            forms,
            map: MapState::new(1),
            render_state,
            renderer,
            pending_png: None,
            screenshot: Default::default(),
            frame_seconds: 0.0,
            collapsed: Default::default(),
            compare_maps: Vec::new(),
            compare_pick: Vec::new(),
            bias_ui: bias::BiasUi::default(),
            report_ui: report::ReportUi::default(),
        }
    }

    /// The map camera, for tests and bookmarks.
    pub fn map_state(&self) -> &MapState {
        &self.map
    }

    fn frame(&mut self, ui: &mut egui::Ui) {
        let t = std::time::Instant::now();
        self.app.poll();
        let ctx = ui.ctx().clone();
        let mut cmds: Vec<Command> = Vec::new();
        self.handle_input(&ctx, &mut cmds);
        egui::Panel::top("menu").show(ui, |ui| self.menu(ui, &mut cmds));
        egui::Panel::bottom("status").show(ui, |ui| self.status(ui, &mut cmds));
        let left = egui::Panel::left("left")
            .resizable(true)
            .default_size(self.app.settings.left_panel_width)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.left(ui, &mut cmds));
            });
        // The compare screen uses the inspector's room for its lists.
        if self.app.compare.is_none() {
            let right = egui::Panel::right("inspector")
                .resizable(true)
                .default_size(self.app.settings.right_panel_width)
                .show(ui, |ui| {
                    egui::ScrollArea::vertical().show(ui, |ui| self.inspector(ui, &mut cmds));
                });
            self.app.settings.right_panel_width = right.response.rect.width();
        }
        // The layout is saved with the settings on exit.
        self.app.settings.left_panel_width = left.response.rect.width();
        egui::CentralPanel::default().show(ui, |ui| self.central(ui, &mut cmds));
        self.windows(&ctx, &mut cmds);
        for c in cmds {
            self.app.apply(c);
        }
        self.screenshots(&ctx);
        if self.app.busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        }
        self.frame_seconds = t.elapsed().as_secs_f64();
    }

    fn handle_input(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        let (open, find, esc, dropped) = ctx.input(|i| {
            (
                i.modifiers.command && i.key_pressed(egui::Key::O),
                i.modifiers.command && i.key_pressed(egui::Key::F),
                i.key_pressed(egui::Key::Escape),
                i.raw
                    .dropped_files
                    .iter()
                    .map(|f| f.path().to_path_buf())
                    .filter(|p| !p.as_os_str().is_empty())
                    .collect::<Vec<_>>(),
            )
        });
        if open {
            self.open_dialog(cmds);
        }
        if find {
            self.forms.focus_search = true;
        }
        if esc {
            cmds.push(Command::ClearSelection);
        }
        for p in dropped {
            cmds.push(Command::OpenPath(p));
        }
    }

    fn open_dialog(&mut self, cmds: &mut Vec<Command>) {
        let picked = rfd::FileDialog::new()
            .set_title("Open vectors or a corpus")
            .pick_file();
        match picked {
            Some(p) => cmds.push(Command::OpenPath(p)),
            // No dialog (no desktop portal) or cancelled: the path field.
            None => self.forms.show_open_path = true,
        }
    }

    fn menu(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| {
                if ui.button("Open file… (Ctrl+O)").clicked() {
                    self.open_dialog(cmds);
                    ui.close();
                }
                if ui.button("Open by path…").clicked() {
                    self.forms.show_open_path = true;
                    ui.close();
                }
                if ui.button("Open model folder…").clicked() {
                    if let Some(p) = rfd::FileDialog::new().pick_folder() {
                        self.forms.model = p.display().to_string();
                        cmds.push(Command::OpenPath(p));
                    }
                    ui.close();
                }
                if ui.button("Open demo").clicked() {
                    cmds.push(Command::OpenDemo);
                    ui.close();
                }
                ui.menu_button("Recent", |ui| {
                    if self.app.settings.recent.is_empty() {
                        ui.label("(none)");
                    }
                    for p in self.app.settings.recent.clone() {
                        if ui.button(p.display().to_string()).clicked() {
                            cmds.push(Command::OpenPath(p));
                            ui.close();
                        }
                    }
                });
                ui.separator();
                let l = ui.label("Session file:");
                ui.text_edit_singleline(&mut self.forms.session_path)
                    .labelled_by(l.id);
                ui.horizontal(|ui| {
                    let p = PathBuf::from(self.forms.session_path.trim());
                    if ui.button("Save session").clicked() && !self.forms.session_path.is_empty() {
                        cmds.push(Command::SaveSession(p.clone()));
                        ui.close();
                    }
                    if ui.button("Open session").clicked() && !self.forms.session_path.is_empty() {
                        cmds.push(Command::OpenSession(p));
                        ui.close();
                    }
                });
                ui.separator();
                let l = ui.label("Export to (path):");
                ui.text_edit_singleline(&mut self.forms.export_path)
                    .labelled_by(l.id);
                let p = PathBuf::from(self.forms.export_path.trim());
                let ok = !self.forms.export_path.trim().is_empty();
                if ui.button("Export map as PNG").clicked() && ok {
                    self.pending_png = Some(p.clone());
                    let slot = self.screenshot.clone();
                    let ctx = ui.ctx().clone();
                    ui.ctx()
                        .send_viewport_cmd(egui::ViewportCommand::Screenshot(
                            egui::ScreenshotCallback::new(move |img| {
                                if let Ok(mut s) = slot.lock() {
                                    *s = Some(img);
                                }
                                ctx.request_repaint();
                            }),
                        ));
                    ui.close();
                }
                if ui.button("Export map as SVG").clicked() && ok {
                    if let Some(d) = self.app.active_dataset() {
                        let svg = map::svg(&self.map, d, self.app.settings.dark);
                        match crate::formats::atomic_write(&p, svg.as_bytes()) {
                            Ok(()) => self.app.info(format!("wrote {}", p.display())),
                            Err(e) => self.app.error("SVG export failed", e.to_string()),
                        }
                    }
                    ui.close();
                }
                if ui.button("Export selection as CSV").clicked() && ok {
                    cmds.push(Command::ExportSelectionCsv(p.clone()));
                    ui.close();
                }
                if ui.button("Export neighbours as CSV").clicked() && ok {
                    cmds.push(Command::ExportNeighboursCsv(p));
                    ui.close();
                }
                ui.separator();
                if ui
                    .button("Export report...")
                    .on_hover_text(
                        "a comparison report of two or more data sets: HTML, Markdown, JSON or \
                         CSV tables",
                    )
                    .clicked()
                {
                    self.report_ui.open = true;
                    ui.close();
                }
                ui.separator();
                if ui.button("Quit").clicked() {
                    ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
                }
            });
            ui.menu_button("Analysis", |ui| {
                if ui
                    .button("Bias probes")
                    .on_hover_text(
                        "WEAT with permutation tests and intervals, across data sets; direct \
                         bias and hard debiasing",
                    )
                    .clicked()
                {
                    self.bias_ui.open = true;
                    ui.close();
                }
            });
            ui.menu_button("View", |ui| {
                if ui.radio(self.app.settings.dark, "Dark theme").clicked() {
                    self.app.settings.dark = true;
                    ui.ctx().set_visuals(egui::Visuals::dark());
                    self.app.save_settings();
                }
                if ui.radio(!self.app.settings.dark, "Light theme").clicked() {
                    self.app.settings.dark = false;
                    ui.ctx().set_visuals(egui::Visuals::light());
                    self.app.save_settings();
                }
                ui.add(
                    egui::Slider::new(&mut self.app.settings.point_size, 0.5..=10.0)
                        .text("point size"),
                );
                if ui.button("Fit map").clicked() {
                    self.map.auto_fit = true;
                    if let Some(m) = self.app.active_dataset().and_then(|d| d.map.as_ref())
                        && let Some((lo, hi)) = crate::app::grid::bounds(&m.coords)
                    {
                        self.map.fit(self.map.rect, lo, hi);
                    }
                }
            });
        });
    }

    fn left(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Data sets");
        if self.app.datasets.is_empty() {
            ui.weak("none open: File > Open, or drop a file here");
        }
        for (i, d) in self.app.datasets.iter().enumerate() {
            ui.horizontal(|ui| {
                let active = self.app.active == Some(i);
                if ui
                    .selectable_label(
                        active,
                        format!("{} ({} × {})", d.name, d.set.rows(), d.set.dim()),
                    )
                    .clicked()
                {
                    cmds.push(Command::SetActive(i));
                }
                if ui.small_button("×").on_hover_text("close").clicked() {
                    cmds.push(Command::CloseDataset(i));
                }
            });
            egui::CollapsingHeader::new("provenance")
                .id_salt(("prov", i))
                .show(ui, |ui| {
                    for l in d.provenance_lines() {
                        ui.label(RichText::new(l).small());
                    }
                });
        }
        ui.separator();
        compare::picker(&self.app, &mut self.compare_pick, ui, cmds);
        ui.separator();
        self.projection_panel(ui, cmds);
        ui.separator();
        self.colour_panel(ui, cmds);
        ui.separator();
        self.encode_panel(ui, cmds);
        ui.separator();
        self.bookmarks_panel(ui, cmds);
    }

    fn projection_panel(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Projection");
        let f = &mut self.forms;
        ui.horizontal(|ui| {
            ui.selectable_value(&mut f.method, MethodChoice::Pca, "PCA");
            ui.selectable_value(&mut f.method, MethodChoice::Tsne, "t-SNE");
            ui.selectable_value(&mut f.method, MethodChoice::Axes, "Semantic axes");
        });
        match f.method {
            MethodChoice::Pca => {
                ui.weak("first two principal components");
            }
            MethodChoice::Tsne => {
                ui.add(egui::Slider::new(&mut f.perplexity, 2.0..=100.0).text("perplexity"));
                ui.add(
                    egui::Slider::new(&mut f.iterations, 250..=3000)
                        .text("iterations")
                        .step_by(50.0),
                );
                ui.horizontal(|ui| {
                    ui.label("seed");
                    ui.add(egui::DragValue::new(&mut f.seed));
                });
            }
            MethodChoice::Axes => {
                let l = ui.label("x axis (a,b -> c,d or an expression)");
                ui.text_edit_singleline(&mut f.x_axis).labelled_by(l.id);
                let l = ui.label("y axis (empty: first principal component of the rest)");
                ui.text_edit_singleline(&mut f.y_axis).labelled_by(l.id);
            }
        }
        let spec = match f.method {
            MethodChoice::Pca => ProjectSpec::Pca,
            MethodChoice::Tsne => ProjectSpec::Tsne(TsneParams {
                perplexity: f.perplexity,
                iterations: f.iterations,
                early_exaggeration_iter: TsneParams::default()
                    .early_exaggeration_iter
                    .min(f.iterations / 2),
                seed: f.seed,
                ..TsneParams::default()
            }),
            MethodChoice::Axes => ProjectSpec::Axes {
                x: f.x_axis.clone(),
                y: Some(f.y_axis.clone()).filter(|s| !s.trim().is_empty()),
            },
        };
        let enabled = self.app.active.is_some();
        if ui
            .add_enabled(enabled, egui::Button::new("Run projection"))
            .clicked()
        {
            cmds.push(Command::Project(spec));
            self.map.auto_fit = true;
        }
        let ds = self.app.active;
        for j in self
            .app
            .jobs
            .iter()
            .filter(|j| j.kind == JobKind::Project && j.dataset == ds)
        {
            job_row(ui, j, cmds);
        }
        if let Some(m) = self.app.active_dataset().and_then(|d| d.map.as_ref()) {
            ui.label(format!("map: {} ({})", m.method, m.params));
            if let Some(q) = &m.quality {
                ui.label(format!(
                    "trustworthiness@{k} {:.3}, kNN preservation@{k} {:.3}{}",
                    q.trustworthiness,
                    q.knn_preservation,
                    if q.sampled {
                        format!(" (on {} sampled points)", q.evaluated)
                    } else {
                        String::new()
                    },
                    k = q.k
                ))
                .on_hover_text(
                    "how well the map keeps each point's nearest neighbours of the original space",
                );
            }
            if let Some(s) = m.seconds {
                ui.weak(format!("computed in {s:.2} s"));
            }
            for n in &m.notes {
                ui.weak(n);
            }
        }
    }

    fn colour_panel(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Colour");
        let Some(d) = self.app.active_dataset() else {
            return;
        };
        let current = d.color.clone();
        let mut choices = vec![
            (ColorMode::Uniform, "uniform".to_string()),
            (ColorMode::Norm, "vector norm".to_string()),
            (
                ColorMode::Recall,
                "projection quality (kNN recall)".to_string(),
            ),
            (ColorMode::Cluster, "cluster (k-means, 10)".to_string()),
        ];
        for c in d.set.metadata.columns() {
            choices.push((
                ColorMode::Column(c.name.clone()),
                format!("column {}", c.name),
            ));
        }
        let label = choices
            .iter()
            .find(|(m, _)| *m == current)
            .map(|(_, l)| l.clone())
            .unwrap_or_default();
        egui::ComboBox::from_label("colour by")
            .selected_text(label)
            .show_ui(ui, |ui| {
                for (m, l) in choices {
                    if ui.selectable_label(m == current, l).clicked() {
                        cmds.push(Command::SetColor(m));
                    }
                }
            });
    }

    fn encode_panel(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Encode a corpus");
        if let Some(p) = &self.app.pending_corpus {
            self.forms.corpus = p.display().to_string();
            ui.colored_label(
                Color32::from_rgb(230, 180, 60),
                "A corpus was opened: choose a model folder and a level, then Encode.",
            );
        }
        let f = &mut self.forms;
        let mut model_label = None;
        ui.horizontal(|ui| {
            model_label = Some(ui.label("model folder").id);
            if ui
                .small_button("…")
                .on_hover_text("choose a folder")
                .clicked()
                && let Some(p) = rfd::FileDialog::new().pick_folder()
            {
                f.model = p.display().to_string();
            }
        });
        let r = ui.text_edit_singleline(&mut f.model);
        if let Some(id) = model_label {
            r.labelled_by(id);
        }
        let mut corpus_label = None;
        ui.horizontal(|ui| {
            corpus_label = Some(ui.label("corpus").id);
            if ui
                .small_button("…")
                .on_hover_text("choose a file")
                .clicked()
                && let Some(p) = rfd::FileDialog::new().pick_file()
            {
                f.corpus = p.display().to_string();
            }
        });
        let r = ui.text_edit_singleline(&mut f.corpus);
        if let Some(id) = corpus_label {
            r.labelled_by(id);
        }
        ui.horizontal(|ui| {
            let l = ui.label("text column / field");
            ui.text_edit_singleline(&mut f.text_column)
                .labelled_by(l.id);
        });
        ui.horizontal(|ui| {
            ui.radio_value(&mut f.level, EncodeLevel::Sentence, "sentence");
            ui.radio_value(&mut f.level, EncodeLevel::Word, "word");
        });
        ui.horizontal(|ui| {
            ui.label("backend");
            ui.radio_value(&mut f.backend, BackendChoice::Auto, "auto");
            ui.radio_value(&mut f.backend, BackendChoice::Wgpu, "wgpu");
            ui.radio_value(&mut f.backend, BackendChoice::Cpu, "cpu");
        });
        ui.add(egui::Slider::new(&mut f.batch_size, 1..=256).text("batch size"));
        let ready = !f.model.trim().is_empty() && !f.corpus.trim().is_empty();
        if ui.add_enabled(ready, egui::Button::new("Encode")).clicked() {
            let model = PathBuf::from(f.model.trim());
            let corpus = PathBuf::from(f.corpus.trim());
            self.app.settings.last_model = Some(model.clone());
            self.app.settings.last_corpus = Some(corpus.clone());
            cmds.push(Command::Encode(EncodeSpec {
                model,
                corpus,
                corpus_options: CorpusOptions {
                    format: None,
                    text_field: Some(f.text_column.trim().to_string()).filter(|s| !s.is_empty()),
                },
                level: f.level,
                backend: f.backend,
                pooling: None,
                batch_size: f.batch_size,
            }));
        }
        if let Some(b) = &self.app.encode_backend {
            let text = b.describe();
            if b.software || b.kind == "cpu" {
                ui.colored_label(Color32::from_rgb(230, 180, 60), text);
            } else {
                ui.label(text);
            }
        }
        for j in self.app.jobs.iter().filter(|j| j.kind == JobKind::Encode) {
            job_row(ui, j, cmds);
        }
    }

    fn bookmarks_panel(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Bookmarks");
        ui.horizontal(|ui| {
            let l = ui.label("name");
            ui.text_edit_singleline(&mut self.forms.bookmark_name)
                .labelled_by(l.id);
            if ui.button("Add").clicked()
                && let Some(d) = self.app.active_dataset()
            {
                let name = if self.forms.bookmark_name.trim().is_empty() {
                    format!("view {}", self.app.bookmarks.len() + 1)
                } else {
                    self.forms.bookmark_name.trim().to_string()
                };
                cmds.push(Command::AddBookmark(Bookmark {
                    name,
                    dataset: d.name.clone(),
                    center: self.map.center,
                    zoom: self.map.zoom,
                    selection: d
                        .selection
                        .iter()
                        .map(|&r| d.token(r).to_string())
                        .collect(),
                }));
            }
        });
        for b in self.app.bookmarks.clone() {
            if ui.button(&b.name).clicked() {
                if let Some(i) = self.app.datasets.iter().position(|d| d.name == b.dataset) {
                    cmds.push(Command::SetActive(i));
                    let d = &self.app.datasets[i];
                    let rows = b
                        .selection
                        .iter()
                        .filter_map(|t| d.set.vocab.get(t))
                        .collect();
                    cmds.push(Command::SelectRows { rows, add: false });
                }
                self.map.center = b.center;
                self.map.zoom = b.zoom;
                self.map.auto_fit = false;
            }
        }
    }

    fn inspector(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Search");
        ui.horizontal(|ui| {
            let label = ui.label("Find token");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.forms.search)
                        .hint_text("Ctrl+F")
                        .desired_width(120.0),
                )
                .labelled_by(label.id);
            if self.forms.focus_search {
                r.request_focus();
                self.forms.focus_search = false;
            }
            egui::ComboBox::from_label("mode")
                .selected_text(format!("{:?}", self.forms.search_mode).to_lowercase())
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.forms.search_mode, SearchMode::Exact, "exact");
                    ui.selectable_value(&mut self.forms.search_mode, SearchMode::Prefix, "prefix");
                    ui.selectable_value(&mut self.forms.search_mode, SearchMode::Regex, "regex");
                });
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Find").clicked() || enter {
                cmds.push(Command::Search(
                    self.forms.search.clone(),
                    self.forms.search_mode,
                ));
            }
        });
        if let Some(e) = &self.app.search.error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        let d = self.app.active_dataset();
        if let Some(d) = d {
            let n = self.app.search.matches.len();
            if !self.app.search.text.is_empty() {
                ui.label(format!("{n} matches"));
                ui.horizontal_wrapped(|ui| {
                    for &r in self.app.search.matches.iter().take(30) {
                        if ui.small_button(d.token(r)).clicked() {
                            cmds.push(Command::Select { row: r, add: false });
                        }
                    }
                    if n > 30 {
                        ui.weak(format!("… and {} more", n - 30));
                    }
                });
            }
        }
        ui.separator();
        ui.heading("Inspector");
        if let Some(d) = d {
            match d.primary() {
                Some(row) => {
                    ui.label(RichText::new(d.token(row)).strong().size(18.0));
                    ui.label(format!("row {row}, norm {:.4}", d.scan.norms[row]));
                    if d.selection.len() > 1 {
                        ui.weak(format!("{} points selected", d.selection.len()));
                    }
                    for c in d.set.metadata.columns().iter().take(8) {
                        ui.label(format!("{}: {}", c.name, c.values[row]));
                    }
                }
                None => {
                    ui.weak("click a point, or search for a token");
                }
            }
            let mut k = self.app.inspector.k;
            if ui
                .add(egui::Slider::new(&mut k, 1..=100).text("neighbours (k)"))
                .changed()
            {
                cmds.push(Command::SetK(k));
            }
            let metric = self.app.inspector.metric;
            ui.horizontal(|ui| {
                for m in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
                    if ui.selectable_label(metric == m, m.name()).clicked() {
                        cmds.push(Command::SetMetric(m));
                    }
                }
            });
            egui::Grid::new("neighbours").striped(true).show(ui, |ui| {
                for (rank, (r, s)) in self.app.inspector.neighbours.iter().enumerate() {
                    ui.label(format!("{}", rank + 1));
                    if ui.link(d.token(*r)).clicked() {
                        cmds.push(Command::Select {
                            row: *r,
                            add: false,
                        });
                    }
                    ui.label(format!("{s:.4}"));
                    ui.end_row();
                }
            });
        }
        ui.separator();
        ui.heading("Analogy");
        ui.horizontal(|ui| {
            let [a, b, c] = &mut self.forms.analogy;
            for (text, word) in [("a", a), (": b", b), (":: c", c)] {
                let l = ui.label(text);
                ui.add(egui::TextEdit::singleline(word).desired_width(55.0))
                    .labelled_by(l.id);
            }
            ui.label(": ?");
        });
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.forms.analogy_mul, false, "3CosAdd");
            ui.radio_value(&mut self.forms.analogy_mul, true, "3CosMul");
            if ui.button("Solve").clicked() {
                let [a, b, c] = self.forms.analogy.clone();
                cmds.push(Command::Analogy {
                    a,
                    b,
                    c,
                    method: if self.forms.analogy_mul {
                        Method::Mul
                    } else {
                        Method::Add
                    },
                });
            }
        });
        match &self.app.inspector.analogy {
            Some(Ok(v)) => {
                for (t, s) in v.iter().take(5) {
                    ui.label(format!("{t}  {s:.4}"));
                }
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
        ui.separator();
        self.benchmarks(ui, cmds);
        ui.separator();
        ui.heading("Similarity");
        ui.horizontal(|ui| {
            let [a, b] = &mut self.forms.sim;
            let l = ui.label("words");
            ui.add(egui::TextEdit::singleline(a).desired_width(80.0))
                .labelled_by(l.id);
            let l = ui.label("and");
            ui.add(egui::TextEdit::singleline(b).desired_width(80.0))
                .labelled_by(l.id);
            if ui.button("cosine").clicked() {
                cmds.push(Command::Similarity(a.clone(), b.clone()));
            }
        });
        match &self.app.inspector.similarity {
            Some(Ok(s)) => {
                ui.label(format!("cosine similarity {s:.4}"));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e);
            }
            None => {}
        }
    }

    fn benchmarks(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Benchmarks");
        ui.horizontal(|ui| {
            let busy = self.app.jobs.iter().any(|j| j.kind == JobKind::Evaluate);
            if ui
                .add_enabled(
                    self.app.active.is_some() && !busy,
                    egui::Button::new("Run benchmarks"),
                )
                .on_hover_text("Google analogies (3CosAdd), WordSim-353, SimLex-999; gensim semantics, 300k most frequent rows")
                .clicked()
            {
                cmds.push(Command::Evaluate);
            }
        });
        for j in self.app.jobs.iter().filter(|j| j.kind == JobKind::Evaluate) {
            job_row(ui, j, cmds);
        }
        let Some((name, b)) = &self.app.inspector.benchmarks else {
            return;
        };
        ui.label(RichText::new(name).small());
        let pct = |a: Option<f64>| a.map_or("-".to_string(), |a| format!("{:.1}%", 100.0 * a));
        for (set, r) in &b.pairs {
            let f = |c: &Option<crate::analysis::stats::Correlation>| {
                c.as_ref().map_or("-".into(), |c| format!("{:.3}", c.r))
            };
            ui.label(format!(
                "{set}: Spearman {}, Pearson {} ({} pairs, {:.1}% unknown)",
                f(&r.spearman),
                f(&r.pearson),
                r.pairs,
                r.oov_percent
            ));
        }
        ui.label(format!(
            "analogies: {} of {} questions ({:.1}% unknown)",
            pct(b.analogies.total.accuracy),
            b.analogies.questions,
            b.analogies.oov_percent
        ));
        egui::CollapsingHeader::new("analogy sections").show(ui, |ui| {
            egui::Grid::new("sections").striped(true).show(ui, |ui| {
                for s in &b.analogies.sections {
                    ui.label(&s.section);
                    ui.label(pct(s.accuracy));
                    ui.label(format!("{} / {}", s.correct, s.correct + s.incorrect));
                    ui.end_row();
                }
            });
        });
    }

    fn central(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        if self.app.compare.is_some() {
            compare::show(
                &mut self.app,
                &mut self.compare_maps,
                self.render_state.as_ref(),
                ui,
                cmds,
            );
            return;
        }
        ui.horizontal(|ui| {
            ui.label("tool:");
            ui.selectable_value(&mut self.map.tool, Tool::Pan, "pan")
                .on_hover_text("drag to pan, scroll to zoom, Shift-drag for a box");
            ui.selectable_value(&mut self.map.tool, Tool::Box, "box select");
            ui.selectable_value(&mut self.map.tool, Tool::Lasso, "lasso select");
            ui.weak("Ctrl-click adds to the selection; double-click fits the map");
        });
        let Some(d) = self.app.active_dataset() else {
            ui.centered_and_justified(|ui| {
                ui.label(if self.app.busy() {
                    "loading…"
                } else {
                    "open a vector file (File > Open, Ctrl+O, or drop it here)"
                });
            });
            return;
        };
        let neighbours = if self.app.inspector.neighbours_of == d.primary() {
            self.app.inspector.neighbours.as_slice()
        } else {
            &[]
        };
        let input = map::MapInput {
            dataset: d,
            search: &self.app.search,
            neighbours,
            render_state: self.render_state.as_ref(),
            point_size: self.app.settings.point_size,
            dark: self.app.settings.dark,
        };
        map::show(ui, &mut self.map, &input, cmds);
    }

    fn status(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        // Notifications, newest first; errors stay until dismissed.
        let mut dismiss = None;
        for (i, n) in self.app.notifications.iter().enumerate().rev().take(4) {
            ui.horizontal(|ui| {
                let (icon, color) = match n.level {
                    Level::Error => ("[!]", ui.visuals().error_fg_color),
                    Level::Info => ("[i]", ui.visuals().text_color()),
                };
                ui.colored_label(color, format!("{icon} {}", n.title));
                if !n.details.is_empty() {
                    let open = !self.collapsed.contains(&i);
                    if ui
                        .small_button(if open { "hide details" } else { "details" })
                        .clicked()
                    {
                        if open {
                            self.collapsed.insert(i);
                        } else {
                            self.collapsed.remove(&i);
                        }
                    }
                }
                if ui.small_button("×").on_hover_text("dismiss").clicked() {
                    dismiss = Some(i);
                }
            });
            if !n.details.is_empty() && !self.collapsed.contains(&i) {
                ui.label(RichText::new(&n.details).monospace().small());
            }
        }
        if let Some(i) = dismiss {
            self.collapsed.clear();
            cmds.push(Command::Dismiss(i));
        }
        ui.horizontal(|ui| {
            ui.label(RichText::new(&self.renderer).small());
            if let Some(d) = self.app.active_dataset() {
                ui.separator();
                ui.label(RichText::new(format!("{} points", d.set.rows())).small());
                if let Some(r) = self.map.hovered {
                    ui.separator();
                    ui.label(
                        RichText::new(format!(
                            "{} (lookup {:.0} µs)",
                            d.token(r),
                            self.map.hover_seconds * 1e6
                        ))
                        .small(),
                    );
                }
            }
            for j in self.app.jobs.iter().filter(|j| j.kind == JobKind::Load) {
                ui.separator();
                job_row(ui, j, cmds);
            }
        });
    }

    fn windows(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        let mut open = self.forms.show_open_path;
        egui::Window::new("Open by path")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                let l = ui.label("vector file, corpus or model folder:");
                let r = ui
                    .text_edit_singleline(&mut self.forms.open_path)
                    .labelled_by(l.id);
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Open").clicked() || enter) && !self.forms.open_path.is_empty() {
                    cmds.push(Command::OpenPath(PathBuf::from(
                        self.forms.open_path.trim(),
                    )));
                    self.forms.show_open_path = false;
                }
            });
        if !open {
            self.forms.show_open_path = false;
        }
        if self.bias_ui.open {
            bias::window(&self.app, &mut self.bias_ui, ctx, cmds);
        }
        if self.report_ui.open {
            report::window(&self.app, &mut self.report_ui, ctx, cmds);
        }
    }

    fn screenshots(&mut self, ctx: &egui::Context) {
        let shot = self.screenshot.lock().ok().and_then(|mut s| s.take());
        let (Some(image), Some(path)) = (shot, self.pending_png.take()) else {
            return;
        };
        let ppp = ctx.pixels_per_point();
        let r = self.map.rect;
        let region = image.region(&r, Some(ppp));
        let mut bytes: Vec<u8> = Vec::with_capacity(region.pixels.len() * 4);
        for p in &region.pixels {
            bytes.extend_from_slice(&p.to_array());
        }
        let result =
            image::RgbaImage::from_raw(region.size[0] as u32, region.size[1] as u32, bytes)
                .ok_or_else(|| "bad screenshot size".to_string())
                .and_then(|img| {
                    let mut out = Vec::new();
                    img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                        .map_err(|e| e.to_string())?;
                    crate::formats::atomic_write(&path, &out).map_err(|e| e.to_string())
                });
        match result {
            Ok(()) => self.app.info(format!("wrote {}", path.display())),
            Err(e) => self.app.error("PNG export failed", e),
        }
    }
}

fn job_row(ui: &mut egui::Ui, j: &crate::app::JobView, cmds: &mut Vec<Command>) {
    ui.horizontal(|ui| {
        match j.fraction {
            Some(f) => {
                ui.add(
                    egui::ProgressBar::new(f)
                        .desired_width(120.0)
                        .show_percentage(),
                );
            }
            None => {
                ui.spinner();
            }
        }
        ui.label(RichText::new(format!("{} {}", j.label, j.text)).small());
        if ui.small_button("Cancel").clicked() {
            cmds.push(Command::CancelJob(j.id));
        }
    });
}

impl eframe::App for EmbedscopeApp {
    fn ui(&mut self, ui: &mut egui::Ui, _frame: &mut eframe::Frame) {
        self.frame(ui);
    }

    fn on_exit(&mut self, _gl: Option<&eframe::glow::Context>) {
        self.app.save_settings();
    }
}

/// Opens the window. Tries the wgpu renderer (needed for the point renderer), then glow.
pub fn run(opts: StartOptions) -> Result<(), String> {
    let viewport = egui::ViewportBuilder::default()
        .with_title("embedscope")
        .with_app_id("embedscope")
        .with_inner_size([1280.0, 800.0])
        .with_drag_and_drop(true);
    let native = eframe::NativeOptions {
        viewport: viewport.clone(),
        renderer: eframe::Renderer::Wgpu,
        ..Default::default()
    };
    let o = opts.clone();
    let first = eframe::run_native(
        "embedscope",
        native,
        Box::new(move |cc| Ok(Box::new(EmbedscopeApp::new(cc, o)))),
    );
    match first {
        Ok(()) => Ok(()),
        Err(e) => {
            eprintln!("embedscope: the wgpu renderer could not start ({e}); trying OpenGL");
            let native = eframe::NativeOptions {
                viewport,
                renderer: eframe::Renderer::Glow,
                ..Default::default()
            };
            eframe::run_native(
                "embedscope",
                native,
                Box::new(move |cc| Ok(Box::new(EmbedscopeApp::new(cc, opts)))),
            )
            .map_err(|e| e.to_string())
        }
    }
}
