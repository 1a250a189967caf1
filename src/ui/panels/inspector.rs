//! The inspector (right panel): Find token, the selected row with its metadata and nearest
//! neighbours, analogies, the bundled benchmarks and word similarity.

use egui::RichText;

use crate::analysis::analogy::Method;
use crate::analysis::knn::Metric;
use crate::app::{App, Command, JobKind, SearchMode};
use crate::ui::job_row;

/// What the user is typing in the inspector.
pub struct InspectorPanel {
    search: String,
    search_mode: SearchMode,
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
            focus_search: false,
            analogy: ["man".into(), "king".into(), "woman".into()],
            analogy_mul: false,
            sim: ["cat".into(), "dog".into()],
        }
    }
}

impl InspectorPanel {
    pub fn show(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        ui.heading("Search");
        ui.horizontal(|ui| {
            let label = ui.label("Find token");
            let r = ui
                .add(
                    egui::TextEdit::singleline(&mut self.search)
                        .hint_text("Ctrl+F")
                        .desired_width(120.0),
                )
                .labelled_by(label.id);
            if self.focus_search {
                r.request_focus();
                self.focus_search = false;
            }
            egui::ComboBox::from_label("mode")
                .selected_text(format!("{:?}", self.search_mode).to_lowercase())
                .show_ui(ui, |ui| {
                    ui.selectable_value(&mut self.search_mode, SearchMode::Exact, "exact");
                    ui.selectable_value(&mut self.search_mode, SearchMode::Prefix, "prefix");
                    ui.selectable_value(&mut self.search_mode, SearchMode::Regex, "regex");
                });
            let enter = r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter));
            if ui.button("Find").clicked() || enter {
                cmds.push(Command::Search(self.search.clone(), self.search_mode));
            }
        });
        if let Some(e) = &app.search.error {
            ui.colored_label(ui.visuals().error_fg_color, e.to_string());
        }
        let d = app.active_dataset();
        if let Some(d) = d {
            let n = app.search.matches.len();
            if !app.search.text.is_empty() {
                ui.label(format!("{n} matches"));
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
