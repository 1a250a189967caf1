//! The status bar: notifications (newest first; errors stay until dismissed, details
//! foldable), the renderer, the point count, the hovered token and load jobs.

use std::collections::HashSet;

use egui::RichText;

use crate::app::{App, Command, JobKind, Severity};
use crate::ui::job_row;
use crate::ui::map::MapState;

#[derive(Default)]
pub struct StatusBar {
    /// Notification rows whose details the user folded away (details show by default).
    collapsed: HashSet<usize>,
}

impl StatusBar {
    pub fn show(
        &mut self,
        app: &App,
        renderer: &str,
        map: &MapState,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
    ) {
        // Notifications, newest first; errors stay until dismissed.
        let mut dismiss = None;
        for (i, n) in app.notifications.iter().enumerate().rev().take(4) {
            ui.horizontal(|ui| {
                let (icon, color) = match n.level {
                    Severity::Error => ("[!]", ui.visuals().error_fg_color),
                    Severity::Info => ("[i]", ui.visuals().text_color()),
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
            ui.label(RichText::new(renderer).small());
            if let Some(d) = app.active_dataset() {
                ui.separator();
                ui.label(RichText::new(format!("{} points", d.set.rows())).small());
                if let Some(r) = map.hovered {
                    ui.separator();
                    ui.label(
                        RichText::new(format!(
                            "{} (lookup {:.0} µs)",
                            d.token(r),
                            map.hover_seconds * 1e6
                        ))
                        .small(),
                    );
                }
            }
            for j in app.jobs.iter().filter(|j| j.kind == JobKind::Load) {
                ui.separator();
                job_row(ui, j, cmds);
            }
        });
    }
}
