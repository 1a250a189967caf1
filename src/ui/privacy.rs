//! The privacy badge ("PII 12") beside a data set with findings, and its window: the counts
//! per kind and per column, then every listed finding (masked text, kind, row, column); a
//! click on a finding's row selects that row on the map. Plain ASCII only (egui's default
//! fonts lack many symbols).

use egui::{Color32, RichText};

use crate::app::privacy::PrivacyCommand;
use crate::app::{App, Command, Dataset};
use crate::engine::jobs::{MAX_LISTED, SCAN_CAP_BYTES};

/// Which set's findings the window shows (by name: indices move when a set closes).
#[derive(Debug, Default)]
pub struct PiiUi {
    pub open: Option<String>,
}

/// The badge of data set `d`, when it has findings; true when clicked.
pub fn badge(d: &Dataset, ui: &mut egui::Ui) -> bool {
    let Some(text) = d.pii.badge_text() else {
        return false;
    };
    let kinds: Vec<String> = d
        .pii
        .findings
        .iter()
        .flat_map(|f| {
            crate::analysis::privacy::Kind::ALL
                .into_iter()
                .filter(|k| f.counts.get(*k) > 0)
                .map(|k| format!("{} {}", f.counts.get(k), k.name()))
        })
        .collect();
    ui.add(egui::Button::new(
        RichText::new(text)
            .small()
            .color(Color32::from_rgb(220, 120, 0)),
    ))
    .on_hover_text(format!(
        "personal data or secrets found: {}; click to see them (masked)",
        kinds.join(", ")
    ))
    .clicked()
}

/// The findings window; returns the (set, row) of a finding clicked.
pub fn window(
    app: &App,
    state: &mut PiiUi,
    ctx: &egui::Context,
    cmds: &mut Vec<Command>,
) -> Option<(usize, usize)> {
    let name = state.open.clone()?;
    let Some((i, d)) = app
        .datasets
        .iter()
        .enumerate()
        .find(|(_, d)| d.name == name)
    else {
        state.open = None;
        return None;
    };
    let f = d.pii.findings.clone()?;
    let mut open = true;
    let mut clicked = None;
    egui::Window::new(format!("Personal data in {name}"))
        .open(&mut open)
        .default_pos([300.0, 80.0])
        .default_size([640.0, 520.0])
        .resizable(true)
        .vscroll(false)
        .show(ctx, |ui| {
            ui.label(format!(
                "{} findings in {} of {} rows ({:.1} MB of tokens and columns scanned in \
                 {:.2} s). Values are shown masked.",
                f.total(),
                f.rows_scanned,
                f.rows,
                f.bytes as f64 / 1e6,
                f.seconds
            ));
            if f.capped() {
                ui.label(
                    RichText::new(format!(
                        "Only the first {} rows were scanned (at most {} MB of text per set).",
                        f.rows_scanned,
                        SCAN_CAP_BYTES >> 20
                    ))
                    .color(Color32::from_rgb(220, 120, 0)),
                );
            }
            ui.horizontal_top(|ui| {
                egui::Grid::new("pii_kinds")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("kind");
                        ui.strong("found");
                        ui.end_row();
                        for k in crate::analysis::privacy::Kind::ALL {
                            let n = f.counts.get(k);
                            if n > 0 {
                                ui.label(k.name());
                                ui.label(n.to_string());
                                ui.end_row();
                            }
                        }
                    });
                ui.add_space(24.0);
                egui::Grid::new("pii_columns")
                    .num_columns(2)
                    .striped(true)
                    .show(ui, |ui| {
                        ui.strong("column");
                        ui.strong("found");
                        ui.end_row();
                        for (c, counts) in f.columns.iter().zip(&f.per_column) {
                            if counts.total() > 0 {
                                ui.label(c);
                                ui.label(counts.total().to_string());
                                ui.end_row();
                            }
                        }
                    });
            });
            ui.separator();
            if f.listed.len() as u64 == f.total() {
                ui.label("Click a row to select it on the map.");
            } else {
                ui.label(format!(
                    "The first {} findings (of {}; at most {MAX_LISTED} listed). Click a row \
                     to select it on the map.",
                    f.listed.len(),
                    f.total()
                ));
            }
            let row_h = ui.text_style_height(&egui::TextStyle::Button) + 4.0;
            let widths = [80.0, 110.0, 140.0];
            ui.horizontal(|ui| {
                ui.add_sized(
                    [widths[0], row_h],
                    egui::Label::new(RichText::new("row").strong()),
                );
                ui.add_sized(
                    [widths[1], row_h],
                    egui::Label::new(RichText::new("kind").strong()),
                );
                ui.add_sized(
                    [widths[2], row_h],
                    egui::Label::new(RichText::new("column").strong()),
                );
                ui.label(RichText::new("masked").strong());
            });
            egui::ScrollArea::vertical()
                .id_salt("pii_list")
                .auto_shrink([false, false])
                .show_rows(ui, row_h, f.listed.len(), |ui, range| {
                    for x in &f.listed[range] {
                        ui.horizontal(|ui| {
                            let selected = d.selection.last() == Some(&(x.row as usize))
                                && app.active == Some(i);
                            if ui
                                .add_sized(
                                    [widths[0], row_h],
                                    egui::Button::selectable(selected, format!("row {}", x.row)),
                                )
                                .on_hover_text("select this row on the map")
                                .clicked()
                            {
                                clicked = Some((i, x.row as usize));
                            }
                            ui.add_sized([widths[1], row_h], egui::Label::new(x.kind.name()));
                            ui.add_sized(
                                [widths[2], row_h],
                                egui::Label::new(f.column_name(x.column)).truncate(),
                            );
                            ui.label(RichText::new(&x.masked).monospace());
                        });
                    }
                });
        });
    if !open {
        state.open = None;
    }
    if let Some((dataset, row)) = clicked {
        cmds.push(Command::Privacy(PrivacyCommand::ShowFinding {
            dataset,
            row,
        }));
    }
    clicked
}
