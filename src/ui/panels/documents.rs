//! The Documents panel at the bottom of the window: a virtualised table of the rows (the
//! selection, or with nothing selected the rows the filter keeps), sortable by clicking a
//! header, columns resizable; clicking a row selects it and centres the map on it. Beside it
//! the reader: the inspected row's full text with the search's matches marked, its metadata,
//! a word's sampled occurrences, or, for a set without text, a picker of the column to read.
//! Collapsed to one line by default, so the map stays the main thing.

use std::collections::HashSet;
use std::sync::Arc;

use egui::{RichText, Sense};
use egui_extras::{Column, TableBuilder};

use crate::app::occurrences::Occurrences;
use crate::app::table::{
    Listing, SortColumn, TableCommand, count, kept_summary, listed_rows, row_text, sort_rows,
    text_column,
};
use crate::app::{App, Command, Dataset, SearchMode, match_ranges};
use crate::core::one_line;
use crate::ui::panels::UiAction;
use crate::ui::panels::inspector::marked;

/// Height of a table row (points).
const ROW_HEIGHT: f32 = 18.0;
/// Characters of a text cell (one line).
const TEXT_CELL_CHARS: usize = 160;
/// Characters of a metadata cell.
const META_CELL_CHARS: usize = 80;

#[derive(Default)]
pub struct DocumentsPanel {
    /// The panel is open (else one line).
    pub expanded: bool,
    sort: Option<(SortColumn, bool)>,
    /// The listed rows in table order, and what they were made from.
    key: u64,
    rows: Arc<Vec<u32>>,
}

impl DocumentsPanel {
    /// The panel, above the status bar.
    pub fn panel(
        &mut self,
        app: &App,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
        actions: &mut Vec<UiAction>,
    ) {
        let collapsed = egui::Panel::bottom("documents_collapsed")
            .resizable(true)
            .default_size(22.0);
        let expanded = egui::Panel::bottom("documents")
            .resizable(true)
            .default_size(260.0)
            .min_size(120.0);
        let mut open = self.expanded;
        let mut toggle = false;
        egui::Panel::show_switched(ui, &mut open, collapsed, expanded, |ui, shown| {
            toggle = self.bar(app, ui, shown);
            if shown {
                self.body(app, ui, cmds, actions);
            }
        });
        self.expanded = open ^ toggle;
    }

    /// The title line: the toggle and what is listed. True when the toggle was clicked.
    fn bar(&mut self, app: &App, ui: &mut egui::Ui, shown: bool) -> bool {
        ui.horizontal(|ui| {
            let clicked = ui
                .selectable_label(shown, "Documents")
                .on_hover_text(if shown {
                    "hide the table and the reader"
                } else {
                    "show the rows in a table, and a reader of the inspected row"
                })
                .clicked();
            if let Some(d) = app.active_dataset() {
                ui.label(listing_words(d));
            }
            clicked
        })
        .inner
    }

    fn body(
        &mut self,
        app: &App,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
        actions: &mut Vec<UiAction>,
    ) {
        let Some(d) = app.active_dataset() else {
            ui.weak("open a data set to list its rows");
            return;
        };
        egui::Panel::right("reader")
            .resizable(true)
            .default_size(380.0)
            .min_size(160.0)
            .show(ui, |ui| reader(app, d, ui, cmds));
        egui::CentralPanel::default().show(ui, |ui| self.table(d, ui, cmds, actions));
    }

    /// The rows in table order, remade when the listing or the sort changes.
    fn rows(&mut self, d: &Dataset) -> Arc<Vec<u32>> {
        let mut key = d.table.listing_key(&d.selection) ^ (Arc::as_ptr(&d.set) as usize as u64);
        if let Some((c, asc)) = self.sort {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            (c, asc).hash(&mut h);
            key = key.rotate_left(17) ^ h.finish();
        }
        if key != self.key {
            let mut rows = listed_rows(d);
            if let Some((c, asc)) = self.sort {
                sort_rows(d, &mut rows, c, asc);
            }
            self.rows = Arc::new(rows);
            self.key = key;
        }
        self.rows.clone()
    }

    fn table(
        &mut self,
        d: &Dataset,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
        actions: &mut Vec<UiAction>,
    ) {
        let rows = self.rows(d);
        if rows.is_empty() {
            match d.table.listing(&d.selection) {
                Listing::Kept if d.set.rows() > 0 => {
                    ui.label("no rows match the filter");
                    if ui.button("Clear filters").clicked() {
                        cmds.push(Command::Table(TableCommand::ClearFilters));
                    }
                }
                _ => {
                    ui.weak("no rows");
                }
            }
            return;
        }
        let columns = columns(d);
        let metas = d.set.metadata.columns();
        let primary = d.primary();
        let selected: HashSet<usize> = if d.selection.len() <= 10_000 {
            d.selection.iter().copied().collect()
        } else {
            primary.into_iter().collect()
        };
        let add = ui.input(|i| i.modifiers.command);
        let mut sort = self.sort;
        egui::ScrollArea::horizontal()
            .id_salt("documents-h")
            .show(ui, |ui| {
                let mut builder = TableBuilder::new(ui)
                    .id_salt(("documents-table", d.name.as_str()))
                    .striped(true)
                    .resizable(true)
                    .sense(Sense::click())
                    .auto_shrink([false, false])
                    .cell_layout(egui::Layout::left_to_right(egui::Align::Center));
                for (name, c) in &columns {
                    let width = match c {
                        SortColumn::Row => 56.0,
                        SortColumn::Id => 90.0,
                        SortColumn::Text => 420.0,
                        SortColumn::Meta(_) => (name.len() as f32 * 8.0).clamp(70.0, 160.0),
                    };
                    builder = builder.column(
                        Column::initial(width)
                            .at_least(32.0)
                            .clip(true)
                            .resizable(true),
                    );
                }
                builder
                    .header(20.0, |mut header| {
                        for (name, c) in &columns {
                            header.col(|ui| {
                                let b =
                                    egui::Button::new(RichText::new(name).strong()).frame(false);
                                let r = ui
                                    .add(b)
                                    .on_hover_text("sort by this column (click again to reverse)");
                                match sort {
                                    Some((s, asc)) if s == *c => sort_mark(ui, asc),
                                    _ => {}
                                }
                                if r.clicked() {
                                    sort = match sort {
                                        Some((s, asc)) if s == *c => Some((s, !asc)),
                                        _ => Some((*c, true)),
                                    };
                                }
                            });
                        }
                    })
                    .body(|body| {
                        body.rows(ROW_HEIGHT, rows.len(), |mut row| {
                            let r = rows[row.index()] as usize;
                            row.set_selected(selected.contains(&r));
                            for (_, c) in &columns {
                                let text = match *c {
                                    SortColumn::Row => r.to_string(),
                                    SortColumn::Id => d.token(r).to_string(),
                                    SortColumn::Text => {
                                        one_line(row_text(d, r).unwrap_or(""), TEXT_CELL_CHARS)
                                    }
                                    SortColumn::Meta(m) => one_line(
                                        metas[m].values.get(r).map_or("", String::as_str),
                                        META_CELL_CHARS,
                                    ),
                                };
                                row.col(|ui| {
                                    ui.add(egui::Label::new(text).selectable(false).truncate());
                                });
                            }
                            if row.response().clicked() {
                                cmds.push(Command::Table(TableCommand::Pick { row: r, add }));
                                actions.push(UiAction::CenterOn(r));
                            }
                        });
                    });
            });
        self.sort = sort;
    }
}

/// A small triangle after a header: up when sorted ascending, down when descending.
fn sort_mark(ui: &mut egui::Ui, ascending: bool) {
    let (rect, _) = ui.allocate_exact_size(egui::Vec2::splat(9.0), Sense::hover());
    let c = rect.center();
    let (a, b) = (3.5, 3.0);
    let points = if ascending {
        vec![
            egui::pos2(c.x - a, c.y + b),
            egui::pos2(c.x + a, c.y + b),
            egui::pos2(c.x, c.y - b),
        ]
    } else {
        vec![
            egui::pos2(c.x - a, c.y - b),
            egui::pos2(c.x + a, c.y - b),
            egui::pos2(c.x, c.y + b),
        ]
    };
    let color = ui.visuals().strong_text_color();
    ui.painter().add(egui::Shape::convex_polygon(
        points,
        color,
        egui::Stroke::NONE,
    ));
}

/// The table's columns: row, id, the text when there is one, the other metadata columns.
fn columns(d: &Dataset) -> Vec<(String, SortColumn)> {
    let text = text_column(d);
    let mut out = vec![
        ("row".to_string(), SortColumn::Row),
        ("id".to_string(), SortColumn::Id),
    ];
    if text.is_some() {
        out.push(("text".to_string(), SortColumn::Text));
    }
    for (i, c) in d.set.metadata.columns().iter().enumerate() {
        if Some(i) != text {
            out.push((c.name.clone(), SortColumn::Meta(i)));
        }
    }
    out
}

/// What the table lists, in words.
fn listing_words(d: &Dataset) -> String {
    match d.table.listing(&d.selection) {
        Listing::Selection => format!("{} selected rows", count(d.selection.len())),
        Listing::Pinned(p) => format!(
            "{} rows ({} selected)",
            count(p.len()),
            count(d.selection.len())
        ),
        Listing::Kept => match d.table.kept() {
            Some(m) if m.count() == 0 => format!("no rows match the filter ({})", kept_summary(d)),
            Some(_) => format!("{} (filtered)", kept_summary(d)),
            None => format!("{} rows", count(d.set.rows())),
        },
    }
}

/// The inspected row: its text (matches of a text search marked), its metadata, a word's
/// occurrences; a set without text says so and offers the columns to read as text.
fn reader(app: &App, d: &Dataset, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    ui.heading("Reader");
    let Some(row) = d.primary() else {
        ui.weak("click a row of the table or a point of the map to read it");
        return;
    };
    ui.label(RichText::new(format!("{} · row {row}", d.token(row))).strong());
    let text_col = text_column(d);
    egui::ScrollArea::vertical()
        .id_salt("reader-scroll")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            match row_text(d, row) {
                Some(text) => {
                    let spans = if app.search.text.trim().is_empty() {
                        Vec::new()
                    } else {
                        let mode = match app.search.mode {
                            SearchMode::Exact | SearchMode::Prefix => SearchMode::WholeWord,
                            m => m,
                        };
                        match_ranges(text, &app.search.text, mode, 1000)
                    };
                    ui.add(egui::Label::new(marked(ui, text, &spans)).wrap());
                    if let Some(name) = &d.text_column_override {
                        ui.horizontal(|ui| {
                            ui.weak(format!("text read from the column {name}"));
                            if ui.small_button("reset").clicked() {
                                cmds.push(Command::Table(TableCommand::SetTextColumn(None)));
                            }
                        });
                    }
                }
                None => match &d.occurrences {
                    Some(occ) => occurrences(ui, occ, d.token(row)),
                    None => no_text(d, ui, cmds),
                },
            }
            ui.separator();
            egui::Grid::new("reader-meta")
                .num_columns(2)
                .striped(true)
                .show(ui, |ui| {
                    ui.weak("norm");
                    ui.label(format!("{:.4}", d.scan.norms[row]));
                    ui.end_row();
                    if let Some(p) = d.map.as_ref().and_then(|m| m.position(row)) {
                        ui.weak("map");
                        ui.label(format!("{:.3}, {:.3}", p[0], p[1]));
                        ui.end_row();
                    }
                    for (i, c) in d.set.metadata.columns().iter().enumerate() {
                        if Some(i) == text_col {
                            continue;
                        }
                        ui.weak(&c.name);
                        let v = c.values.get(row).map_or("", String::as_str);
                        ui.add(egui::Label::new(v).wrap());
                        ui.end_row();
                    }
                });
            if row_text(d, row).is_some()
                && let Some(occ) = &d.occurrences
            {
                occurrences(ui, occ, d.token(row));
            }
        });
}

/// A set without text: says so, and offers its metadata columns as the text.
fn no_text(d: &Dataset, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    ui.label("This set has no text column.");
    let cols = d.set.metadata.columns();
    if cols.is_empty() {
        ui.weak("It has no metadata columns either: its rows are named by their tokens.");
        return;
    }
    egui::ComboBox::from_label("read as text")
        .selected_text("choose a column")
        .show_ui(ui, |ui| {
            for c in cols {
                if ui
                    .selectable_label(false, format!("column {}", c.name))
                    .clicked()
                {
                    cmds.push(Command::Table(TableCommand::SetTextColumn(Some(
                        c.name.clone(),
                    ))));
                }
            }
        });
}

/// The sampled occurrences of a word, each in its sentence with the word marked.
fn occurrences(ui: &mut egui::Ui, occ: &Occurrences, word: &str) {
    let rows = occ.of(word);
    ui.label(RichText::new(format!("Occurrences of {word} ({})", rows.len())).strong());
    if rows.is_empty() {
        ui.weak("no sampled occurrence of this word");
    }
    for &r in rows.iter().take(200) {
        let (text, span) = occ.context(r as usize);
        let spans: Vec<(usize, usize)> = span.into_iter().collect();
        ui.add(egui::Label::new(marked(ui, text, &spans)).wrap())
            .on_hover_text(format!(
                "document {}, line {}",
                occ.value(r as usize, "doc"),
                occ.value(r as usize, "line")
            ));
    }
    if rows.len() > 200 {
        ui.weak(format!("… and {} more", rows.len() - 200));
    }
}
