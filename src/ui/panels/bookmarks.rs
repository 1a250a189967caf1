//! The Bookmarks panel: name the current view (data set, camera, selection) and go back to it.

use crate::app::{App, Bookmark, Command};
use crate::ui::map::MapState;

#[derive(Default)]
pub struct BookmarksPanel {
    name: String,
}

impl BookmarksPanel {
    pub fn show(
        &mut self,
        app: &App,
        map: &mut MapState,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
    ) {
        ui.heading("Bookmarks");
        ui.horizontal(|ui| {
            let l = ui.label("name");
            ui.text_edit_singleline(&mut self.name).labelled_by(l.id);
            if ui.button("Add").clicked()
                && let Some(d) = app.active_dataset()
            {
                let name = if self.name.trim().is_empty() {
                    format!("view {}", app.bookmarks.len() + 1)
                } else {
                    self.name.trim().to_string()
                };
                cmds.push(Command::AddBookmark(Bookmark {
                    name,
                    dataset: d.name.clone(),
                    center: map.center,
                    zoom: map.zoom,
                    selection: d
                        .selection
                        .iter()
                        .map(|&r| d.token(r).to_string())
                        .collect(),
                }));
            }
        });
        for b in &app.bookmarks {
            if ui.button(&b.name).clicked() {
                if let Some(i) = app.datasets.iter().position(|d| d.name == b.dataset) {
                    cmds.push(Command::SetActive(i));
                    let d = &app.datasets[i];
                    let rows = b
                        .selection
                        .iter()
                        .filter_map(|t| d.set.vocab.get(t))
                        .collect();
                    cmds.push(Command::SelectRows { rows, add: false });
                }
                map.center = b.center;
                map.zoom = b.zoom;
                map.auto_fit = false;
            }
        }
    }
}
