//! The menu bar (File, Analysis, View), the "Open by path" window and the map exports. Files
//! are written by the app (`Command::ExportMap`, the CSV exports, sessions), never here.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crate::app::export::{ExportFormat, ExportRows};
use crate::app::table::TableCommand;
use crate::app::{App, Command, MapImage};
use crate::ui::map::{self, MapState};

/// What the menu asks of the window around it (its own panels and camera).
pub enum UiAction {
    ShowBias,
    ShowDrift,
    ShowReport,
    /// A model folder was picked: the Encode panel takes it.
    ModelFolder(PathBuf),
    FitMap,
    /// Centre the map on a row (picked in the document table).
    CenterOn(usize),
}

/// The File menu's fields, the open-by-path window and a PNG export in flight.
#[derive(Default)]
pub struct FileMenu {
    session_path: String,
    export_path: String,
    open_path: String,
    show_open_path: bool,
    /// A PNG export waiting for its screenshot, and the screenshot when it arrives.
    pending_png: Option<PathBuf>,
    screenshot: Arc<Mutex<Option<Arc<egui::ColorImage>>>>,
    /// The cache limit being typed (empty: the default).
    cache_limit: Option<String>,
    /// What the cache submenu shows, read at most once a second while it is open.
    cache_seen: Option<CacheSeen>,
}

/// The cache folder's size and the limit in force, as read at `at` for the limit setting
/// `setting` (the folder listed, the disk asked).
#[derive(Clone, Copy)]
struct CacheSeen {
    at: std::time::Instant,
    setting: Option<u64>,
    held: u64,
    limit: u64,
}

impl FileMenu {
    /// The file dialog, or the path window where there is none (no desktop portal).
    pub fn open_dialog(&mut self, cmds: &mut Vec<Command>) {
        let picked = rfd::FileDialog::new()
            .set_title("Open vectors or a corpus")
            .pick_file();
        match picked {
            Some(p) => cmds.push(Command::OpenPath(p)),
            None => self.show_open_path = true,
        }
    }

    pub fn show(
        &mut self,
        app: &App,
        map: &MapState,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
        actions: &mut Vec<UiAction>,
    ) {
        egui::MenuBar::new().ui(ui, |ui| {
            ui.menu_button("File", |ui| self.file(app, map, ui, cmds, actions));
            ui.menu_button("Analysis", |ui| {
                if ui
                    .button("Bias probes")
                    .on_hover_text(
                        "WEAT with permutation tests and intervals, across data sets; direct \
                         bias and hard debiasing",
                    )
                    .clicked()
                {
                    actions.push(UiAction::ShowBias);
                    ui.close();
                }
                if ui
                    .button("Drift")
                    .on_hover_text(
                        "Has the data moved? Two sets of one model, or one set split by a \
                         column: six tests with p-values, and the regions that moved",
                    )
                    .clicked()
                {
                    actions.push(UiAction::ShowDrift);
                    ui.close();
                }
            });
            ui.menu_button("View", |ui| {
                let dark = app.settings.dark;
                if ui.radio(dark, "Dark theme").clicked() {
                    ui.ctx().set_visuals(egui::Visuals::dark());
                    cmds.push(Command::SetDark(true));
                }
                if ui.radio(!dark, "Light theme").clicked() {
                    ui.ctx().set_visuals(egui::Visuals::light());
                    cmds.push(Command::SetDark(false));
                }
                let mut size = app.settings.point_size;
                if ui
                    .add(egui::Slider::new(&mut size, 0.5..=10.0).text("point size"))
                    .changed()
                {
                    cmds.push(Command::SetPointSize(size));
                }
                let mut density = app.settings.density;
                if ui
                    .checkbox(&mut density, "Density contours")
                    .on_hover_text(
                        "Kernel density contours of the map's points (only the rows the filter \
                         keeps): the densest regions holding 25%, 50%, 75% and 90% of them",
                    )
                    .changed()
                {
                    cmds.push(Command::SetDensity(density));
                }
                if let Some(note) = app
                    .active_dataset()
                    .filter(|_| density)
                    .and_then(|d| d.density.contours.as_ref())
                    .and_then(|c| c.note.as_deref())
                {
                    ui.weak(note);
                }
                if ui.button("Fit map").clicked() {
                    actions.push(UiAction::FitMap);
                }
            });
        });
    }

    fn file(
        &mut self,
        app: &App,
        map: &MapState,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
        actions: &mut Vec<UiAction>,
    ) {
        if ui.button("Open file… (Ctrl+O)").clicked() {
            self.open_dialog(cmds);
            ui.close();
        }
        if ui.button("Open by path…").clicked() {
            self.show_open_path = true;
            ui.close();
        }
        if ui.button("Open model folder…").clicked() {
            if let Some(p) = rfd::FileDialog::new().pick_folder() {
                actions.push(UiAction::ModelFolder(p.clone()));
                cmds.push(Command::OpenPath(p));
            }
            ui.close();
        }
        if ui.button("Open demo").clicked() {
            cmds.push(Command::OpenDemo);
            ui.close();
        }
        ui.menu_button("Recent", |ui| {
            if app.settings.recent.is_empty() {
                ui.label("(none)");
            }
            for p in &app.settings.recent {
                if ui.button(p.display().to_string()).clicked() {
                    cmds.push(Command::OpenPath(p.clone()));
                    ui.close();
                }
            }
        });
        ui.menu_button("Native cache", |ui| self.cache_menu(app, ui, cmds));
        ui.separator();
        let l = ui.label("Session file:");
        ui.text_edit_singleline(&mut self.session_path)
            .labelled_by(l.id);
        ui.horizontal(|ui| {
            let p = PathBuf::from(self.session_path.trim());
            if ui.button("Save session").clicked() && !self.session_path.is_empty() {
                cmds.push(Command::SaveSession(p.clone()));
                ui.close();
            }
            if ui.button("Open session").clicked() && !self.session_path.is_empty() {
                cmds.push(Command::OpenSession(p));
                ui.close();
            }
        });
        ui.separator();
        let l = ui.label("Export to (path):");
        ui.text_edit_singleline(&mut self.export_path)
            .labelled_by(l.id);
        let p = PathBuf::from(self.export_path.trim());
        let ok = !self.export_path.trim().is_empty();
        crate::ui::report::redact_checkbox(app, ui, cmds);
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
            if let Some(d) = app.active_dataset() {
                cmds.push(Command::ExportMap {
                    path: p.clone(),
                    image: MapImage::Svg(map::svg(map, d, app.settings.dark, app.redact_exports())),
                });
            }
            ui.close();
        }
        let has_clusters = app
            .active_dataset()
            .is_some_and(|d| d.map_clusters.is_some());
        if ui
            .add_enabled(has_clusters, egui::Button::new("Export clusters as CSV"))
            .on_disabled_hover_text("find the map's clusters first (Clusters panel)")
            .clicked()
            && ok
        {
            cmds.push(Command::ExportClustersCsv(p.clone()));
            ui.close();
        }
        if ui.button("Export selection as CSV").clicked() && ok {
            cmds.push(Command::ExportSelectionCsv(p.clone()));
            ui.close();
        }
        if ui.button("Export neighbours as CSV").clicked() && ok {
            cmds.push(Command::ExportNeighboursCsv(p.clone()));
            ui.close();
        }
        export_rows(app, &p, ok, ui, cmds);
        ui.separator();
        if ui
            .button("Export report...")
            .on_hover_text(
                "a comparison report of two or more data sets: HTML, Markdown, JSON or CSV tables",
            )
            .clicked()
        {
            actions.push(UiAction::ShowReport);
            ui.close();
        }
        ui.separator();
        if ui.button("Quit").clicked() {
            ui.ctx().send_viewport_cmd(egui::ViewportCommand::Close);
        }
    }

    /// The "Open by path" window, while it is open.
    pub fn open_path_window(&mut self, ctx: &egui::Context, cmds: &mut Vec<Command>) {
        let mut open = self.show_open_path;
        egui::Window::new("Open by path")
            .open(&mut open)
            .collapsible(false)
            .show(ctx, |ui| {
                let l = ui.label("vector file, corpus or model folder:");
                let r = ui
                    .text_edit_singleline(&mut self.open_path)
                    .labelled_by(l.id);
                let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
                if (ui.button("Open").clicked() || enter) && !self.open_path.is_empty() {
                    cmds.push(Command::OpenPath(PathBuf::from(self.open_path.trim())));
                    self.show_open_path = false;
                }
            });
        if !open {
            self.show_open_path = false;
        }
    }

    /// The native cache: where it is, what it holds, its limit (typed as `512M`, `2G`;
    /// empty for the default) and a button that empties it.
    fn cache_menu(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        use crate::formats::cache_admin;
        let Some(dir) = app.cache_dir.clone() else {
            ui.label("no cache folder (HOME is not set)");
            return;
        };
        let h = crate::core::human_bytes;
        let given = app.settings.cache_limit;
        let seen = match self.cache_seen {
            Some(s) if s.setting == given && s.at.elapsed() < std::time::Duration::from_secs(1) => {
                s
            }
            _ => CacheSeen {
                at: std::time::Instant::now(),
                setting: given,
                held: cache_admin::entries(&dir).iter().map(|e| e.bytes).sum(),
                limit: cache_admin::limit(&dir, given),
            },
        };
        self.cache_seen = Some(seen);
        let (held, limit) = (seen.held, seen.limit);
        ui.label(format!("{}", dir.display()));
        ui.label(format!(
            "{} held of {}{}",
            h(held),
            h(limit),
            if given.is_none() { " (default)" } else { "" }
        ));
        let text = self
            .cache_limit
            .get_or_insert_with(|| given.map(h).unwrap_or_default());
        let l = ui.label("Size limit (e.g. 2G; empty: 10% of the free disk, 256M to 4G):");
        ui.text_edit_singleline(text).labelled_by(l.id);
        let parsed = if text.trim().is_empty() {
            Some(None)
        } else {
            crate::core::parse_bytes(text).map(Some)
        };
        match parsed {
            Some(limit) => {
                if ui.button("Set limit").clicked() {
                    cmds.push(Command::SetCacheLimit(limit));
                    self.cache_limit = None;
                    self.cache_seen = None;
                }
            }
            None => {
                ui.colored_label(ui.visuals().error_fg_color, "a size such as 512M or 2G");
            }
        }
        if ui.button("Clear cache").clicked() {
            cmds.push(Command::ClearCache);
            self.cache_seen = None;
            ui.close();
        }
    }

    /// Whether a PNG export waits for its screenshot (the map masks its text meanwhile when
    /// redaction is on).
    pub fn png_pending(&self) -> bool {
        self.pending_png.is_some()
    }

    /// A screenshot asked for by "Export map as PNG": the map's region as PNG bytes, handed
    /// to the app to write.
    pub fn screenshots(
        &mut self,
        ctx: &egui::Context,
        map_rect: egui::Rect,
        cmds: &mut Vec<Command>,
    ) {
        // The path is taken only with the screenshot: it arrives a frame or more after the
        // request, and the map stays masked (with redaction on) until then.
        let Some(image) = self.screenshot.lock().ok().and_then(|mut s| s.take()) else {
            return;
        };
        let Some(path) = self.pending_png.take() else {
            return;
        };
        let region = image.region(&map_rect, Some(ctx.pixels_per_point()));
        let mut bytes: Vec<u8> = Vec::with_capacity(region.pixels.len() * 4);
        for p in &region.pixels {
            bytes.extend_from_slice(&p.to_array());
        }
        let png = image::RgbaImage::from_raw(region.size[0] as u32, region.size[1] as u32, bytes)
            .ok_or_else(|| "bad screenshot size".to_string())
            .and_then(|img| {
                let mut out = Vec::new();
                img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
                    .map_err(|e| e.to_string())?;
                Ok(out)
            });
        match png {
            Ok(png) => cmds.push(Command::ExportMap {
                path,
                image: MapImage::Png(png),
            }),
            Err(details) => cmds.push(Command::Notify {
                error: true,
                title: "PNG export failed".into(),
                details,
            }),
        }
    }
}

/// File > Export rows: the rows the filter keeps, or the selection, with text, metadata, map
/// position and cluster, as CSV, JSONL or Parquet (written by the app, atomically).
fn export_rows(
    app: &App,
    path: &std::path::Path,
    ok: bool,
    ui: &mut egui::Ui,
    cmds: &mut Vec<Command>,
) {
    let Some(d) = app.active_dataset() else {
        return;
    };
    let filtered = crate::app::table::kept_summary(d);
    let selected = d.selection.len();
    ui.menu_button("Export rows", |ui| {
        if !ok {
            ui.weak("type the file to write in \"Export to (path)\" first");
        }
        for (which, what) in [
            (ExportRows::Filtered, format!("filtered rows ({filtered})")),
            (
                ExportRows::Selection,
                format!("selection ({selected} rows)"),
            ),
        ] {
            let enabled = ok && (which == ExportRows::Filtered || selected > 0);
            for format in ExportFormat::ALL {
                let b = egui::Button::new(format!("{what} as {}", format.name()));
                if ui.add_enabled(enabled, b).clicked() {
                    cmds.push(Command::Table(TableCommand::Export {
                        path: path.to_path_buf(),
                        format,
                        rows: which,
                    }));
                    ui.close();
                }
            }
        }
    });
}
