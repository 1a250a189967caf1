//! The inspector (right panel): Find token, the selected row with its metadata and nearest
//! neighbours, analogies, the bundled benchmarks and word similarity.

use egui::RichText;

use crate::analysis::analogy::Method;
use crate::analysis::knn::Metric;
use crate::app::occurrences::Occurrences;
use crate::app::{App, Command, JobKind, SearchMode, match_ranges};
use crate::core::{RowKind, one_line};
use crate::ui::job_row;

/// What the user is typing in the inspector.
pub struct InspectorPanel {
    search: String,
    search_mode: SearchMode,
    /// The model folder typed for searches by meaning.
    model_dir: String,
    /// Ctrl+F asked for the search box.
    pub focus_search: bool,
    analogy: [String; 3],
    analogy_mul: bool,
    sim: [String; 2],
}

impl Default for InspectorPanel {
    fn default() -> Self {
        InspectorPanel {
            search: String::new(),
            search_mode: SearchMode::Exact,
            model_dir: String::new(),
            focus_search: false,
            analogy: ["man".into(), "king".into(), "woman".into()],
            analogy_mul: false,
            sim: ["cat".into(), "dog".into()],
        }
    }
}

impl InspectorPanel {
    pub fn show(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let d = app.active_dataset();
        let kind = d.map_or(RowKind::Words, |d| d.set.row_kind());
        let documents = kind != RowKind::Words;
        if !SearchMode::offered(documents).contains(&self.search_mode) {
            self.search_mode = SearchMode::offered(documents)[0];
        }
        ui.heading("Search");
        ui.horizontal(|ui| {
            let label = ui.label(if documents { "Find text" } else { "Find token" });
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text("Ctrl+F")
                        .desired_width(150.0),
                )
                .labelled_by(label.id);
            if self.focus_search {
                r.request_focus();
                self.focus_search = false;
            }
            if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
                cmds.push(Command::Search(self.search.clone(), self.search_mode));
            }
        });
        // The mode and the button on a row of their own: the panel stays narrow.
        ui.horizontal(|ui| {
            egui::ComboBox::from_label("mode")
                .selected_text(self.search_mode.name())
                .show_ui(ui, |ui| {
                    for &m in SearchMode::offered(documents) {
                        ui.selectable_value(&mut self.search_mode, m, m.name());
                    }
                });
            if ui.button("Find").clicked() {
                cmds.push(Command::Search(self.search.clone(), self.search_mode));
            }
        });
        if documents && self.search_mode == SearchMode::Meaning {
            self.meaning_options(app, ui, cmds);
        }
        if let Some(e) = &app.search.error {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
        if let Some(d) = d {
            let n = app.search.matches.len();
            if app.search.mode == SearchMode::Meaning {
                if let Some(j) = app
                    .search
                    .meaning_job
                    .and_then(|id| app.jobs.iter().find(|j| j.id == id))
                {
                    job_row(ui, j, cmds);
                } else if !app.search.ranked.is_empty() {
                    let took = app.search.seconds.map_or(String::new(), |[l, e, r]| {
                        format!(
                            " ({}query {:.0} ms, ranking {:.0} ms)",
                            if l > 0.0 {
                                format!("model {:.1} s, ", l)
                            } else {
                                String::new()
                            },
                            e * 1e3,
                            r * 1e3
                        )
                    });
                    ui.label(format!("{n} closest in meaning{took}"))
                        .on_hover_text(app.search.notes.join("\n"));
                    egui::Grid::new("meaning-hits")
                        .striped(true)
                        .show(ui, |ui| {
                            for &(r, score) in &app.search.ranked {
                                ui.monospace(format!("{score:.3}"));
                                if ui
                                    .link(d.set.row_label(r, 60))
                                    .on_hover_text(d.token(r))
                                    .clicked()
                                {
                                    cmds.push(Command::Select { row: r, add: false });
                                }
                                ui.end_row();
                            }
                        });
                }
            } else if !app.search.text.is_empty() {
                ui.label(format!("{n} matches"));
                if documents {
                    for &r in app.search.matches.iter().take(20) {
                        if ui
                            .link(d.set.row_label(r, 70))
                            .on_hover_text(d.token(r))
                            .clicked()
                        {
                            cmds.push(Command::Select { row: r, add: false });
                        }
                    }
                    if n > 20 {
                        ui.weak(format!("… and {} more", n - 20));
                    }
                } else {
                    ui.horizontal_wrapped(|ui| {
                        for &r in app.search.matches.iter().take(30) {
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
        }
        ui.separator();
        ui.heading("Inspector");
        if let Some(d) = d {
            match d.primary() {
                Some(row) => {
                    let text_col = d.set.text_column().map(|c| c.name.clone());
                    match d.set.row_text(row).filter(|_| documents) {
                        Some(text) => {
                            ui.label(RichText::new(d.token(row)).strong());
                            let shown = one_line(text, 600);
                            highlighted(ui, &shown, &app.search.text, app.search.mode);
                        }
                        None => {
                            ui.label(RichText::new(d.token(row)).strong().size(18.0));
                        }
                    }
                    ui.label(format!("row {row}, norm {:.4}", d.scan.norms[row]));
                    if d.selection.len() > 1 {
                        ui.weak(format!("{} points selected", d.selection.len()));
                    }
                    for c in d.set.metadata.columns().iter().take(8) {
                        if documents && Some(&c.name) == text_col.as_ref() {
                            continue;
                        }
                        ui.label(format!("{}: {}", c.name, one_line(&c.values[row], 80)));
                    }
                    if let Some(occ) = &d.occurrences {
                        occurrences(ui, occ, d.token(row));
                    }
                }
                None => {
                    ui.weak(if documents {
                        "click a point, or search the text"
                    } else {
                        "click a point, or search for a token"
                    });
                }
            }
            let mut k = app.inspector.k;
            if ui
                .add(egui::Slider::new(&mut k, 1..=100).text("neighbours (k)"))
                .changed()
            {
                cmds.push(Command::SetK(k));
            }
            let metric = app.inspector.metric;
            ui.horizontal(|ui| {
                for m in [Metric::Cosine, Metric::Dot, Metric::Euclidean] {
                    if ui.selectable_label(metric == m, m.name()).clicked() {
                        cmds.push(Command::SetMetric(m));
                    }
                }
            });
            if app.inspector.pending.is_some() {
                ui.horizontal(|ui| {
                    ui.spinner();
                    ui.weak("exact search of a large set…");
                });
            } else if let Some(how) = &app.inspector.approximate {
                ui.weak(how).on_hover_text(
                    "Neighbours from the approximate index: most of the true nearest rows, \
                     not always all (recall@10 above 0.95 on the measured sets).",
                );
            }
            egui::Grid::new("neighbours").striped(true).show(ui, |ui| {
                for (rank, (r, s)) in app.inspector.neighbours.iter().enumerate() {
                    ui.label(format!("{}", rank + 1));
                    let link = if documents {
                        ui.link(d.set.row_label(*r, 60)).on_hover_text(d.token(*r))
                    } else {
                        ui.link(d.token(*r))
                    };
                    if link.clicked() {
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
        if documents {
            ui.separator();
            ui.weak(format!(
                "Analogies, word similarity and the word benchmarks compare words; this set's rows \
                 are {}.",
                kind.name()
            ));
            return;
        }
        ui.separator();
        ui.heading("Analogy");
        ui.horizontal(|ui| {
            let [a, b, c] = &mut self.analogy;
            for (text, word) in [("a", a), (": b", b), (":: c", c)] {
                let l = ui.label(text);
                ui.add(egui::TextEdit::singleline(word).desired_width(55.0))
                    .labelled_by(l.id);
            }
            ui.label(": ?");
        });
        ui.horizontal(|ui| {
            ui.radio_value(&mut self.analogy_mul, false, "3CosAdd");
            ui.radio_value(&mut self.analogy_mul, true, "3CosMul");
            if ui.button("Solve").clicked() {
                let [a, b, c] = self.analogy.clone();
                cmds.push(Command::Analogy {
                    a,
                    b,
                    c,
                    method: if self.analogy_mul {
                        Method::Mul
                    } else {
                        Method::Add
                    },
                });
            }
        });
        match &app.inspector.analogy {
            Some(Ok(v)) => {
                for (t, s) in v.iter().take(5) {
                    ui.label(format!("{t}  {s:.4}"));
                }
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
            }
            None => {}
        }
        ui.separator();
        self.benchmarks(app, ui, cmds);
        ui.separator();
        ui.heading("Similarity");
        ui.horizontal(|ui| {
            let [a, b] = &mut self.sim;
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
        match &app.inspector.similarity {
            Some(Ok(s)) => {
                ui.label(format!("cosine similarity {s:.4}"));
            }
            Some(Err(e)) => {
                ui.colored_label(ui.visuals().error_fg_color, e.to_string());
            }
            None => {}
        }
    }

    fn benchmarks(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Benchmarks");
        ui.horizontal(|ui| {
            let busy = app.jobs.iter().any(|j| j.kind == JobKind::Evaluate);
            if ui
                .add_enabled(
                    app.active.is_some() && !busy,
                    egui::Button::new("Run benchmarks"),
                )
                .on_hover_text("Google analogies (3CosAdd), WordSim-353, SimLex-999; gensim semantics, 300k most frequent rows")
                .clicked()
            {
                cmds.push(Command::Evaluate);
            }
        });
        for j in app.jobs.iter().filter(|j| j.kind == JobKind::Evaluate) {
            job_row(ui, j, cmds);
        }
        let Some((name, b)) = &app.inspector.benchmarks else {
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
}

impl InspectorPanel {
    /// For a search by meaning: how many documents, and the model folder the query is encoded
    /// with (the set's own unless one is given; offered when the set's cannot be used).
    fn meaning_options(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.horizontal(|ui| {
            let mut k = app.search.k;
            let label = ui.label("documents");
            if ui
                .add(egui::DragValue::new(&mut k).range(1..=10_000))
                .labelled_by(label.id)
                .changed()
            {
                cmds.push(Command::SetSearchK(k));
            }
        });
        let recorded = app
            .active_dataset()
            .and_then(|d| d.set.provenance.encoding_fact("model").map(str::to_string));
        match (&app.search.model, &recorded) {
            (Some(dir), _) => {
                ui.horizontal(|ui| {
                    ui.weak(format!("model {}", dir.display()));
                    if recorded.is_some() && ui.small_button("use the set's own").clicked() {
                        cmds.push(Command::SetSearchModel(None));
                    }
                });
            }
            (None, Some(r)) => {
                ui.weak(format!("model {r} (the set's own)"));
            }
            (None, None) => {}
        }
        if app.search.model_problem || (recorded.is_none() && app.search.model.is_none()) {
            ui.label("the model folder the set was encoded with:");
            ui.horizontal(|ui| {
                if ui
                    .small_button("…")
                    .on_hover_text("choose a folder")
                    .clicked()
                    && let Some(p) = rfd::FileDialog::new().pick_folder()
                {
                    self.model_dir = p.display().to_string();
                }
                let label = ui.label("model folder");
                ui.add(egui::TextEdit::singleline(&mut self.model_dir).desired_width(120.0))
                    .labelled_by(label.id);
                if ui
                    .add_enabled(!self.model_dir.trim().is_empty(), egui::Button::new("Use"))
                    .clicked()
                {
                    cmds.push(Command::SetSearchModel(Some(self.model_dir.trim().into())));
                }
            });
        }
    }
}

/// A text with the matches of the current search drawn highlighted.
fn highlighted(ui: &mut egui::Ui, text: &str, query: &str, mode: SearchMode) {
    let spans = match_ranges(text, query, mode, 50);
    ui.label(marked(ui, text, &spans));
}

/// A text as a layout job with `spans` (byte ranges, ascending) drawn strong on a highlight.
pub(super) fn marked(ui: &egui::Ui, text: &str, spans: &[(usize, usize)]) -> egui::text::LayoutJob {
    let mut job = egui::text::LayoutJob::default();
    let plain = egui::TextFormat {
        color: ui.visuals().text_color(),
        ..Default::default()
    };
    let strong = egui::TextFormat {
        color: ui.visuals().strong_text_color(),
        background: ui.visuals().selection.bg_fill.gamma_multiply(0.6),
        ..Default::default()
    };
    let mut at = 0;
    for &(a, b) in spans {
        if a < at || b > text.len() || !text.is_char_boundary(a) || !text.is_char_boundary(b) {
            continue;
        }
        job.append(&text[at..a], 0.0, plain.clone());
        job.append(&text[a..b], 0.0, strong.clone());
        at = b;
    }
    job.append(&text[at..], 0.0, plain);
    job.wrap.max_width = ui.available_width();
    job
}

/// The sampled occurrences of a word, each in its sentence with the word marked.
fn occurrences(ui: &mut egui::Ui, occ: &Occurrences, word: &str) {
    let rows = occ.of(word);
    egui::CollapsingHeader::new(format!("Occurrences ({})", rows.len()))
        .default_open(true)
        .show(ui, |ui| {
            if rows.is_empty() {
                ui.weak("no sampled occurrence of this word");
            }
            for &r in rows.iter().take(50) {
                let (text, span) = occ.context(r as usize);
                let spans: Vec<(usize, usize)> = span.into_iter().collect();
                ui.label(marked(ui, text, &spans)).on_hover_text(format!(
                    "document {}, line {}",
                    occ.value(r as usize, "doc"),
                    occ.value(r as usize, "line")
                ));
            }
        });
}
