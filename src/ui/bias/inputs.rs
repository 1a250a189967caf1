//! The left side of the bias window: tests, data sets, options, the user's own test and the
//! direct-bias form.

use super::{BiasUi, Tab, bias_cmd};
use crate::analysis::bias::{self, Alternative};
use crate::app::bias::{BiasCommand, CASE_MODES, ROLES, lines};
use crate::app::{App, Command, JobKind};

pub(super) fn inputs(app: &App, state: &mut BiasUi, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let b = &app.bias;
    ui.heading("WEAT tests");
    egui::Grid::new("bias_tests").num_columns(2).show(ui, |ui| {
        for (k, t) in bias::caliskan_tests().iter().enumerate() {
            let mut on = b.is_selected(&t.name);
            let mut hover = t.title();
            if let Some(o) = t.original.as_ref().filter(|o| !o.d.is_empty()) {
                hover.push_str(&format!("\noriginal IAT: d = {}, p = {}", o.d, o.p));
            }
            if ui.checkbox(&mut on, &t.name).on_hover_text(hover).changed() {
                bias_cmd(cmds, BiasCommand::SelectTest(t.name.clone(), on));
            }
            if k % 2 == 1 {
                ui.end_row();
            }
        }
    });
    ui.horizontal(|ui| {
        if ui.small_button("all").clicked() {
            bias_cmd(cmds, BiasCommand::SelectAllTests(true));
        }
        if ui.small_button("none").clicked() {
            bias_cmd(cmds, BiasCommand::SelectAllTests(false));
        }
    });
    user_test(app, state, ui, cmds);
    ui.separator();
    ui.heading("Data sets");
    if app.datasets.is_empty() {
        ui.weak("none open");
    }
    for d in &app.datasets {
        let mut on = !b.excluded.contains(&d.name);
        if ui.checkbox(&mut on, &d.name).changed() {
            bias_cmd(cmds, BiasCommand::IncludeDataset(d.name.clone(), on));
        }
    }
    ui.separator();
    ui.heading("Options");
    let mut o = b.options.clone();
    egui::Grid::new("bias_options")
        .num_columns(2)
        .show(ui, |ui| {
            ui.label("permutations");
            ui.add(
                egui::DragValue::new(&mut o.permutations)
                    .range(1..=10_000_000)
                    .speed(100),
            )
            .on_hover_text(
                "random partitions for the p-value (every one when there are at most a million)",
            );
            ui.end_row();
            ui.label("bootstrap");
            ui.add(
                egui::DragValue::new(&mut o.bootstrap)
                    .range(0..=1_000_000)
                    .speed(100),
            )
            .on_hover_text("replicates for the 95% interval (0: none)");
            ui.end_row();
            ui.label("seed");
            ui.add(egui::DragValue::new(&mut o.seed));
            ui.end_row();
            ui.label("max missing");
            ui.add(egui::Slider::new(&mut o.max_missing, 0.0..=1.0).fixed_decimals(2))
                .on_hover_text(
                    "largest share of a set's words that may be missing from the vocabulary",
                );
            ui.end_row();
            ui.label("case");
            ui.horizontal(|ui| {
                for (m, name) in CASE_MODES {
                    ui.radio_value(&mut o.case, m, name);
                }
            })
            .response
            .on_hover_text("auto: lowercase the words when the vocabulary has no upper case");
            ui.end_row();
            ui.label("p-value");
            ui.horizontal(|ui| {
                ui.radio_value(&mut o.alternative, Alternative::Greater, "greater");
                ui.radio_value(&mut o.alternative, Alternative::TwoSided, "two-sided");
                ui.radio_value(&mut o.alternative, Alternative::Less, "less");
            });
            ui.end_row();
        });
    if o != b.options {
        bias_cmd(cmds, BiasCommand::SetOptions(o));
    }
    let ready = !app.datasets.is_empty() && (b.user.enabled || !b.selected.is_empty());
    ui.horizontal(|ui| {
        if ui
            .add_enabled(ready, egui::Button::new("Run WEAT"))
            .clicked()
        {
            bias_cmd(cmds, BiasCommand::RunWeat);
            state.tab = Tab::Weat;
        }
        if b.weat_job.is_none() {
            let n = b.selected.len() + b.user.enabled as usize;
            ui.weak(format!(
                "{n} test{} x {} data set{}",
                if n == 1 { "" } else { "s" },
                app.bias_datasets().len(),
                if app.bias_datasets().len() == 1 {
                    ""
                } else {
                    "s"
                }
            ));
        }
    });
    for j in app
        .jobs
        .iter()
        .filter(|j| j.kind == JobKind::Bias && Some(j.id) == b.weat_job)
    {
        crate::ui::job_row(ui, j, cmds);
    }
    ui.separator();
    direct_inputs(app, state, ui, cmds);
}

fn user_test(app: &App, state: &mut BiasUi, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let u = &app.bias.user;
    egui::CollapsingHeader::new("Your own test")
        .id_salt("bias_user")
        .default_open(u.enabled)
        .show(ui, |ui| {
            let mut on = u.enabled;
            if ui.checkbox(&mut on, "run my test").changed() {
                bias_cmd(cmds, BiasCommand::UseUserTest(on));
            }
            ui.horizontal(|ui| {
                let l = ui.label("name");
                let mut name = u.name.clone();
                if ui
                    .add(egui::TextEdit::singleline(&mut name).desired_width(120.0))
                    .labelled_by(l.id)
                    .changed()
                {
                    bias_cmd(cmds, BiasCommand::SetUserName(name));
                }
                egui::ComboBox::from_id_salt("bias_prefill")
                    .selected_text("fill from...")
                    .width(90.0)
                    .show_ui(ui, |ui| {
                        for t in bias::caliskan_tests() {
                            if ui
                                .selectable_label(false, &t.name)
                                .on_hover_text(t.title())
                                .clicked()
                            {
                                bias_cmd(cmds, BiasCommand::PrefillUser(t.name.clone()));
                            }
                        }
                    });
            });
            ui.weak("targets X, Y and attributes A, B: one word per line");
            egui::Grid::new("bias_user_lists")
                .num_columns(2)
                .show(ui, |ui| {
                    for row in [[0, 1], [2, 3]] {
                        for i in row {
                            ui.vertical(|ui| {
                                ui.horizontal(|ui| {
                                    ui.label(ROLES[i]);
                                    let mut n = u.set_names[i].clone();
                                    if ui
                                        .add(
                                            egui::TextEdit::singleline(&mut n).desired_width(110.0),
                                        )
                                        .on_hover_text(format!("name of set {}", ROLES[i]))
                                        .changed()
                                    {
                                        bias_cmd(cmds, BiasCommand::SetUserSetName(i, n));
                                    }
                                    if ui
                                        .small_button("...")
                                        .on_hover_text("load a word list (one per line, or JSON)")
                                        .clicked()
                                        && let Some(p) = rfd::FileDialog::new().pick_file()
                                    {
                                        bias_cmd(cmds, BiasCommand::LoadUserList(i, p));
                                    }
                                });
                                let mut text = u.lists[i].clone();
                                let r = egui::ScrollArea::vertical()
                                    .id_salt(("bias_list", i))
                                    .max_height(110.0)
                                    .show(ui, |ui| {
                                        ui.add(
                                            egui::TextEdit::multiline(&mut text)
                                                .desired_width(160.0)
                                                .desired_rows(5),
                                        )
                                    })
                                    .inner;
                                if r.changed() {
                                    bias_cmd(cmds, BiasCommand::SetUserList(i, text.clone()));
                                }
                                ui.weak(format!("{} words", lines(&text).len()));
                            });
                        }
                        ui.end_row();
                    }
                });
            ui.horizontal(|ui| {
                let l = ui.label("test file");
                ui.add(egui::TextEdit::singleline(&mut state.file).desired_width(150.0))
                    .labelled_by(l.id)
                    .on_hover_text(
                        "a JSON test: {\"x\": [...], \"y\": [...], \"a\": [...], \"b\": [...]}",
                    );
                if ui
                    .small_button("...")
                    .on_hover_text("choose a file")
                    .clicked()
                    && let Some(p) = rfd::FileDialog::new()
                        .add_filter("JSON test", &["json"])
                        .pick_file()
                {
                    state.file = p.display().to_string();
                    bias_cmd(cmds, BiasCommand::LoadUserTest(p));
                }
                if ui
                    .add_enabled(!state.file.trim().is_empty(), egui::Button::new("Load"))
                    .clicked()
                {
                    bias_cmd(cmds, BiasCommand::LoadUserTest(state.file.trim().into()));
                }
            });
        });
}

fn direct_inputs(app: &App, state: &mut BiasUi, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let b = &app.bias;
    ui.heading("Direct bias");
    let mut f = b.direct.clone();
    let current = app
        .bias_direct_dataset()
        .and_then(|i| app.datasets.get(i))
        .map(|d| d.name.clone())
        .unwrap_or_else(|| "(none)".into());
    egui::ComboBox::from_label("data set")
        .selected_text(current)
        .width(220.0)
        .show_ui(ui, |ui| {
            if ui
                .selectable_label(f.dataset.is_none(), "the active one")
                .clicked()
            {
                f.dataset = None;
            }
            for d in &app.datasets {
                let on = f.dataset.as_deref() == Some(d.name.as_str());
                if ui.selectable_label(on, &d.name).clicked() {
                    f.dataset = Some(d.name.clone());
                }
            }
        });
    ui.horizontal(|ui| {
        let l = ui.label("direction");
        ui.add(egui::TextEdit::singleline(&mut f.positive).desired_width(60.0))
            .labelled_by(l.id);
        ui.label("-");
        ui.add(egui::TextEdit::singleline(&mut f.negative).desired_width(60.0));
        ui.label("c");
        ui.add(egui::DragValue::new(&mut f.c).range(0.1..=10.0).speed(0.05))
            .on_hover_text("strictness of DB_c = mean |cos(w, direction)|^c");
    });
    ui.add(egui::Slider::new(&mut f.top, 1..=30).text("words at each end"));
    let npairs = f.pairs.lines().filter(|l| !l.trim().is_empty()).count();
    egui::CollapsingHeader::new(format!("definitional pairs ({npairs})"))
        .id_salt("bias_pairs")
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("bias_pairs_text")
                .max_height(120.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut f.pairs)
                            .desired_width(300.0)
                            .desired_rows(4),
                    )
                    .on_hover_text("one pair per line: the word on the positive side first");
                });
        });
    let nwords = lines(&f.words).len();
    egui::CollapsingHeader::new(format!("neutral words ({nwords})"))
        .id_salt("bias_words")
        .show(ui, |ui| {
            egui::ScrollArea::vertical()
                .id_salt("bias_words_text")
                .max_height(140.0)
                .show(ui, |ui| {
                    ui.add(
                        egui::TextEdit::multiline(&mut f.words)
                            .desired_width(300.0)
                            .desired_rows(6),
                    );
                });
        });
    if f != b.direct {
        bias_cmd(cmds, BiasCommand::SetDirect(f));
    }
    ui.horizontal(|ui| {
        let ok = app.bias_direct_dataset().is_some() && b.direct_job.is_none();
        if ui
            .add_enabled(ok, egui::Button::new("Run direct bias"))
            .clicked()
        {
            bias_cmd(cmds, BiasCommand::RunDirectBias);
            state.tab = Tab::Direct;
        }
        if ui
            .add_enabled(ok, egui::Button::new("Debias"))
            .on_hover_text(
                "hard debiasing (Bolukbasi et al. 2016): neutral words lose their component \
                 along the direction, equality pairs are made symmetric; Bolukbasi's \
                 gender-specific words are kept. Writes a new data set '<name> (hard-debiased)' \
                 to compare with the original.",
            )
            .clicked()
        {
            bias_cmd(cmds, BiasCommand::Debias);
            state.tab = Tab::Direct;
        }
        if ui.small_button("reset lists").clicked() {
            bias_cmd(cmds, BiasCommand::ResetDirectLists);
        }
    });
    for j in app
        .jobs
        .iter()
        .filter(|j| j.kind == JobKind::Bias && Some(j.id) == b.direct_job)
    {
        crate::ui::job_row(ui, j, cmds);
    }
}
