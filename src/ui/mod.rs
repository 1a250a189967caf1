//! L5: the eframe/egui desktop app. Each panel is its own struct (`panels/`, `bias.rs`,
//! `report.rs`, `compare.rs`) that reads `app::App` and pushes `app::Command`s; the commands
//! are applied once per frame, background jobs polled each frame and never waited on. The UI
//! writes no file itself: exports go through app commands.

pub mod bias;
pub mod compare;
pub mod drift;
pub mod map;
pub mod panels;
mod placed;
pub mod points;
pub mod privacy;
pub mod report;

use std::path::PathBuf;
use std::sync::Arc;

use eframe::egui_wgpu;
use egui::RichText;

use crate::app::colors::ColorMode;
use crate::app::{App, Command, Settings};
use map::{MapState, Tool};
use panels::{
    BookmarksPanel, ClustersPanel, EncodePanel, FileMenu, InspectorPanel, ProjectionPanel,
    StatusBar, UiAction,
};

/// What the app opens with.
#[derive(Debug, Clone, Default)]
pub struct StartOptions {
    /// Files to open; the demo set when empty (unless `empty`).
    pub files: Vec<PathBuf>,
    pub empty: bool,
    /// Settings file (None: not persisted).
    pub settings_path: Option<PathBuf>,
}

pub struct EmbedscopeApp {
    pub app: App,
    menu: FileMenu,
    projection: ProjectionPanel,
    encode: EncodePanel,
    bookmarks: BookmarksPanel,
    clusters: ClustersPanel,
    documents: panels::DocumentsPanel,
    filter: panels::FilterPanel,
    inspector: InspectorPanel,
    status: StatusBar,
    map: MapState,
    render_state: Option<egui_wgpu::RenderState>,
    /// The renderer in words, for the status bar.
    renderer: String,
    /// Seconds of the last frame's UI work.
    pub frame_seconds: f64,
    /// Cameras of the compare screen's maps, and the versions ticked for comparing.
    compare_maps: Vec<MapState>,
    compare_pick: Vec<usize>,
    /// The bias probes window.
    bias_ui: bias::BiasUi,
    /// The Drift window.
    drift_ui: drift::DriftUi,
    /// The export report window.
    report_ui: report::ReportUi,
    /// The privacy findings window.
    pii_ui: privacy::PiiUi,
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
        let offered = app.start_autosave();
        if opts.files.is_empty() && !opts.empty {
            if offered {
                app.open_demo_if_declined();
            } else {
                app.apply(Command::OpenDemo);
            }
        }
        for f in opts.files {
            app.apply(Command::OpenPath(f));
        }
        let encode = EncodePanel::new(&app);
        EmbedscopeApp {
            app,
            menu: FileMenu::default(),
            projection: ProjectionPanel::default(),
            encode,
            bookmarks: BookmarksPanel::default(),
            clusters: ClustersPanel::default(),
            documents: panels::DocumentsPanel::default(),
            filter: panels::FilterPanel::default(),
            inspector: InspectorPanel::default(),
            status: StatusBar::default(),
            map: MapState::new(1),
            render_state,
            renderer,
            frame_seconds: 0.0,
            compare_maps: Vec::new(),
            compare_pick: Vec::new(),
            bias_ui: bias::BiasUi::default(),
            drift_ui: drift::DriftUi::default(),
            report_ui: report::ReportUi::default(),
            pii_ui: privacy::PiiUi::default(),
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
        let mut actions: Vec<UiAction> = Vec::new();
        self.handle_input(&ctx, &mut cmds);
        egui::Panel::top("menu").show(ui, |ui| {
            self.menu
                .show(&self.app, &self.map, ui, &mut cmds, &mut actions)
        });
        egui::Panel::bottom("status").show(ui, |ui| {
            self.status
                .show(&self.app, &self.renderer, &self.map, ui, &mut cmds)
        });
        self.documents.panel(&self.app, ui, &mut cmds, &mut actions);
        // Side panels: resizable, and hidden with one click (the map takes their room).
        let (mut left_open, mut right_open) = (
            self.app.settings.left_panel_open,
            self.app.settings.right_panel_open,
        );
        // At most 28% of the window each: the map keeps the middle.
        let max_side = (ui.available_width() * 0.28).max(200.0);
        let left = egui::Panel::left("left")
            .resizable(true)
            .default_size(self.app.settings.left_panel_width)
            .max_size(max_side)
            .show_collapsible(ui, &mut left_open, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| self.left(ui, &mut cmds));
            });
        // The compare screen uses the inspector's room for its lists.
        let mut right_width = None;
        if self.app.compare.is_none() {
            let right = egui::Panel::right("inspector")
                .resizable(true)
                .default_size(self.app.settings.right_panel_width)
                .max_size(max_side)
                .show_collapsible(ui, &mut right_open, |ui| {
                    egui::ScrollArea::vertical()
                        .show(ui, |ui| self.inspector.show(&self.app, ui, &mut cmds));
                });
            right_width = right.map(|r| r.response.rect.width());
        }
        if (left_open, right_open)
            != (
                self.app.settings.left_panel_open,
                self.app.settings.right_panel_open,
            )
        {
            cmds.push(Command::SetPanelsOpen {
                left: left_open,
                right: right_open,
            });
        }
        // The layout is saved with the settings on exit (widths of open panels only).
        let s = &self.app.settings;
        let left_width = left
            .map(|l| l.response.rect.width())
            .filter(|_| s.left_panel_open)
            .unwrap_or(s.left_panel_width);
        let right_width = right_width.filter(|_| s.right_panel_open);
        if left_width != s.left_panel_width || right_width.is_some_and(|w| w != s.right_panel_width)
        {
            cmds.push(Command::SetPanelWidths {
                left: left_width,
                right: right_width,
            });
        }
        egui::CentralPanel::default().show(ui, |ui| self.central(ui, &mut cmds));
        self.windows(&ctx, &mut cmds);
        self.menu.screenshots(&ctx, self.map.rect, &mut cmds);
        for a in actions {
            self.act(a);
        }
        for c in cmds {
            self.app.apply(c);
        }
        if self.app.busy() {
            ctx.request_repaint_after(std::time::Duration::from_millis(100));
        } else if self.app.autosave.dir().is_some() {
            // A change made in the last frame is written at the next due check even when
            // nothing else asks for a frame.
            ctx.request_repaint_after(self.app.autosave.every);
        }
        self.frame_seconds = t.elapsed().as_secs_f64();
    }

    /// What the menu asked of the window's own panels and camera.
    fn act(&mut self, a: UiAction) {
        match a {
            UiAction::ShowBias => self.bias_ui.open = true,
            UiAction::ShowDrift => self.drift_ui.open = true,
            UiAction::ShowReport => self.report_ui.open = true,
            UiAction::ModelFolder(p) => self.encode.model = p.display().to_string(),
            UiAction::CenterOn(row) => {
                if let Some(p) = self
                    .app
                    .active_dataset()
                    .and_then(|d| d.map.as_ref())
                    .and_then(|m| m.position(row))
                {
                    self.map.center = p;
                    self.map.auto_fit = false;
                }
            }
            UiAction::FitMap => {
                self.map.auto_fit = true;
                if let Some(m) = self.app.active_dataset().and_then(|d| d.map.as_ref())
                    && let Some((lo, hi)) = crate::app::grid::bounds(&m.coords)
                {
                    self.map.fit(self.map.rect, lo, hi);
                }
            }
        }
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
            self.menu.open_dialog(cmds);
        }
        if find {
            self.inspector.focus_search = true;
        }
        if esc {
            cmds.push(Command::ClearSelection);
        }
        for p in dropped {
            cmds.push(Command::OpenPath(p));
        }
    }

    fn left(&mut self, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Data sets");
        if self.app.datasets.is_empty() {
            ui.weak("none open: File > Open, or drop a file here");
        }
        for (i, d) in self.app.datasets.iter().enumerate() {
            ui.horizontal(|ui| {
                let active = self.app.active == Some(i);
                // Long file names are cut (the whole name on hover): the panel keeps its width.
                if ui
                    .add(
                        egui::Button::selectable(
                            active,
                            format!("{} ({} × {})", d.name, d.set.rows(), d.set.dim()),
                        )
                        .truncate(),
                    )
                    .on_hover_text(&d.name)
                    .clicked()
                {
                    cmds.push(Command::SetActive(i));
                }
                if privacy::badge(d, ui) {
                    self.pii_ui.open = Some(d.name.clone());
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
        self.projection.show(&self.app, &mut self.map, ui, cmds);
        ui.separator();
        self.colour_panel(ui, cmds);
        ui.separator();
        self.filter.show(&self.app, ui, cmds);
        ui.separator();
        self.clusters.show(&self.app, ui, cmds);
        ui.separator();
        self.encode.show(&self.app, ui, cmds);
        ui.separator();
        self.bookmarks.show(&self.app, &mut self.map, ui, cmds);
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
            (
                ColorMode::Cluster,
                if d.map_clusters.is_some() {
                    "cluster (the map's clusters)".to_string()
                } else {
                    "cluster (k-means, 10)".to_string()
                },
            ),
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
            let s = &self.app.settings;
            let (left, right) = (s.left_panel_open, s.right_panel_open);
            if ui
                .selectable_label(left, "« panel")
                .on_hover_text("show or hide the left panel")
                .clicked()
            {
                cmds.push(Command::SetPanelsOpen { left: !left, right });
            }
            if ui
                .selectable_label(right, "inspector »")
                .on_hover_text("show or hide the inspector")
                .clicked()
            {
                cmds.push(Command::SetPanelsOpen {
                    left,
                    right: !right,
                });
            }
            ui.separator();
            ui.label("tool:");
            // The hints go in the tools' hover texts: a row wider than the central panel would
            // widen the map beyond it (under the inspector).
            let hint = "Ctrl-click adds to the selection; double-click fits the map";
            ui.selectable_value(&mut self.map.tool, Tool::Pan, "pan")
                .on_hover_text(format!(
                    "drag to pan, scroll to zoom, Shift-drag for a box. {hint}"
                ));
            ui.selectable_value(&mut self.map.tool, Tool::Box, "box select")
                .on_hover_text(hint);
            ui.selectable_value(&mut self.map.tool, Tool::Lasso, "lasso select")
                .on_hover_text(hint);
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
            cluster_labels: self.clusters.show_labels,
            density: d.density.shown(d).filter(|_| self.app.settings.density),
            mask_text: self.menu.png_pending() && self.app.redact_exports(),
        };
        map::show(ui, &mut self.map, &input, cmds);
    }

    fn windows(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        self.menu.open_path_window(ctx, cmds);
        if self.bias_ui.open {
            bias::window(&self.app, &mut self.bias_ui, ctx, cmds);
        }
        if self.drift_ui.open {
            drift::window(&self.app, &mut self.drift_ui, ctx, cmds);
        }
        if self.report_ui.open {
            report::window(&self.app, &mut self.report_ui, ctx, cmds);
        }
        restore_prompt(&self.app, ctx, cmds);
        // A finding clicked: its row selected (by the command) and the map centred on it.
        if let Some((i, row)) = privacy::window(&self.app, &mut self.pii_ui, ctx, cmds)
            && let Some(p) = self.app.datasets[i]
                .map
                .as_ref()
                .and_then(|m| m.position(row))
        {
            self.map.center = p;
            self.map.auto_fit = false;
        }
    }
}

/// The prompt for a session a previous run left behind (it ended without closing).
fn restore_prompt(app: &App, ctx: &egui::Context, cmds: &mut Vec<Command>) {
    let Some(offer) = &app.autosave.offer else {
        return;
    };
    egui::Window::new("Restore the last session?")
        .collapsible(false)
        .resizable(false)
        .anchor(egui::Align2::CENTER_CENTER, [0.0, 0.0])
        .show(ctx, |ui| {
            ui.label("The last run of embedscope ended without closing. Its session was saved:");
            if let Some(age) = offer
                .modified
                .and_then(|m| std::time::SystemTime::now().duration_since(m).ok())
            {
                ui.label(format!("last saved {} ago", crate::app::autosave::ago(age)));
            }
            for line in offer.describe() {
                ui.label(format!("- {line}"));
            }
            if !offer.session.bookmarks.is_empty() {
                ui.label(format!("{} bookmark(s)", offer.session.bookmarks.len()));
            }
            ui.horizontal(|ui| {
                if ui.button("Restore").clicked() {
                    cmds.push(Command::RestoreAutosave);
                }
                if ui.button("Not now").clicked() {
                    cmds.push(Command::DiscardAutosave);
                }
            });
            ui.label(
                egui::RichText::new(
                    "Not now keeps it as discarded.session.json in the autosave folder.",
                )
                .small(),
            );
        });
}

/// A floating window of inputs beside results, as the bias and report windows are laid out:
/// the inputs in a scrolling column `inputs_width` wide (scroll id `id`), a separator, then
/// whatever `results` draws. `open` follows the window's close button.
pub(crate) fn two_pane_window<S>(
    ctx: &egui::Context,
    title: &str,
    id: &str,
    inputs_width: f32,
    (open, state): (&mut bool, &mut S),
    inputs: impl FnOnce(&mut S, &mut egui::Ui),
    results: impl FnOnce(&mut S, &mut egui::Ui),
) {
    egui::Window::new(title)
        .open(open)
        .default_pos([40.0, 40.0])
        .default_size([1180.0, 700.0])
        .resizable(true)
        .vscroll(false)
        .show(ctx, |ui| {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width(inputs_width);
                    egui::ScrollArea::vertical()
                        .id_salt(id)
                        .auto_shrink([false, false])
                        .show(ui, |ui| inputs(state, ui));
                });
                ui.separator();
                ui.vertical(|ui| results(state, ui));
            });
        });
}

pub(crate) fn job_row(ui: &mut egui::Ui, j: &crate::app::JobView, cmds: &mut Vec<Command>) {
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
        self.app.on_exit();
    }
}

/// Opens the window. Tries the wgpu renderer (needed for the point renderer), then glow.
/// The error is the last renderer's.
pub fn run(opts: StartOptions) -> Result<(), eframe::Error> {
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
        }
    }
}
