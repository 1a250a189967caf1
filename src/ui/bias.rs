//! The bias probes window (Analysis > Bias probes): WEAT tests (bundled, and one of the user's
//! own with editable word lists) on the loaded data sets, options, the results table with
//! Holm-corrected p-values, effect sizes with their 95% intervals side by side per data set,
//! the differences between data sets; the direct-bias probe with a chart of the most extreme
//! projections, and hard debiasing into a new data set.

use egui::{Color32, RichText};
use egui_plot::{
    AxisHints, Bar, BarChart, Corner, GridMark, Legend, Line, Plot, PlotPoints, Points,
};

use crate::analysis::bias::{self, Alternative};
use crate::app::bias::{
    BiasCommand, CASE_MODES, DirectResult, ROLES, effect_series, lines, missing_text,
};
use crate::app::{App, Command, JobKind};
use crate::report::fmt::{p_value as fmt_p, short};

/// The window's own fields (not part of the app state).
#[derive(Debug, Clone, Default)]
pub struct BiasUi {
    pub open: bool,
    /// A JSON test file or word list to load into the user test.
    pub file: String,
    /// The results shown: WEAT's, or the direct bias (the probe run last).
    pub tab: Tab,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Tab {
    #[default]
    Weat,
    Direct,
}

/// Table cells hold names up to this many characters (the full name on hover).
const NAME_CHARS: usize = 36;

/// Colours of the data sets on the charts.
const PALETTE: [Color32; 6] = [
    Color32::from_rgb(66, 133, 244),
    Color32::from_rgb(234, 67, 53),
    Color32::from_rgb(52, 168, 83),
    Color32::from_rgb(251, 140, 0),
    Color32::from_rgb(142, 36, 170),
    Color32::from_rgb(0, 172, 193),
];

fn bias_cmd(cmds: &mut Vec<Command>, c: BiasCommand) {
    cmds.push(Command::Bias(c));
}

/// The window, while open.
pub fn window(app: &App, state: &mut BiasUi, ctx: &egui::Context, cmds: &mut Vec<Command>) {
    let mut open = state.open;
    egui::Window::new("Bias probes")
        .open(&mut open)
        .default_pos([40.0, 40.0])
        .default_size([1180.0, 700.0])
        .resizable(true)
        .vscroll(false)
        .show(ctx, |ui| {
            ui.horizontal_top(|ui| {
                ui.vertical(|ui| {
                    ui.set_width(360.0);
                    egui::ScrollArea::vertical()
                        .id_salt("bias_inputs")
                        .auto_shrink([false, false])
                        .show(ui, |ui| inputs(app, state, ui, cmds));
                });
                ui.separator();
                ui.vertical(|ui| {
                    egui::ScrollArea::vertical()
                        .id_salt("bias_results")
                        .auto_shrink([false, false])
                        .show(ui, |ui| results(app, state, ui));
                });
            });
        });
    state.open = open;
}

fn inputs(app: &App, state: &mut BiasUi, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
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
        super::job_row(ui, j, cmds);
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
        super::job_row(ui, j, cmds);
    }
}

fn results(app: &App, state: &mut BiasUi, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        for (tab, name) in [
            (Tab::Weat, "WEAT results"),
            (Tab::Direct, "Direct bias results"),
        ] {
            if ui
                .selectable_label(state.tab == tab, RichText::new(name).heading())
                .clicked()
            {
                state.tab = tab;
            }
        }
    });
    ui.separator();
    match state.tab {
        Tab::Weat => match &app.bias.weat {
            None => {
                ui.weak("tick tests and data sets, then Run WEAT");
            }
            Some(run) => weat_results(run, ui),
        },
        Tab::Direct => match &app.bias.result {
            None => {
                ui.weak(
                    "Run direct bias: the direction from the definitional pairs, the bias of \
                     the neutral words along it",
                );
            }
            Some(r) => direct_results(r, app.bias.direct.top, ui),
        },
    }
}

fn weat_results(run: &crate::engine::jobs::WeatRun, ui: &mut egui::Ui) {
    let o = &run.options;
    ui.weak(format!(
        "{} permutations (exact when at most {}), {} bootstrap replicates, seed {}; Holm over \
         the {} p-values; {:.2} s",
        o.permutations,
        o.exact_limit,
        o.bootstrap,
        o.seed,
        run.cells.len(),
        run.seconds
    ));
    egui::Grid::new("bias_weat_table")
        .striped(true)
        .num_columns(9)
        .show(ui, |ui| {
            for h in [
                "test",
                "data set",
                "n x/y/a/b",
                "effect",
                "95% CI",
                "p",
                "Holm p",
                "missing",
            ] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for c in &run.cells {
                let r = &c.result;
                let title = bias::test_by_name(&c.test)
                    .map(|t| t.title())
                    .unwrap_or_else(|_| "your test".into());
                ui.label(&c.test).on_hover_text(title);
                ui.label(short(&c.dataset, NAME_CHARS))
                    .on_hover_text(&c.dataset);
                ui.label(format!("{}/{}/{}/{}", r.n.x, r.n.y, r.n.a, r.n.b));
                ui.label(format!("{:.4}", r.effect_size));
                ui.label(if r.ci95[0].is_nan() {
                    "-".to_string()
                } else {
                    format!("[{:.3}, {:.3}]", r.ci95[0], r.ci95[1])
                });
                let p = match &r.p_value_method {
                    bias::PValueMethod::Exact { partitions } => {
                        format!("exact over {partitions} partitions")
                    }
                    bias::PValueMethod::Permutations { permutations, .. } => {
                        format!("{permutations} random partitions")
                    }
                };
                ui.label(fmt_p(r.p_value)).on_hover_text(p);
                ui.label(fmt_p(c.p_holm));
                if r.missing.is_empty() {
                    ui.weak("-");
                } else {
                    ui.label(format!("{}", r.missing.len()))
                        .on_hover_text(format!("not in the vocabulary: {}", missing_text(c)));
                }
                ui.end_row();
            }
        });
    effect_chart(run, ui);
    if !run.differences.is_empty() {
        ui.label(RichText::new("Differences of effect sizes").strong());
        ui.weak(
            "on the target words both data sets have; paired sign-flip permutation test, \
             two-sided; Holm over the differences",
        );
        egui::Grid::new("bias_diff_table")
            .striped(true)
            .num_columns(6)
            .show(ui, |ui| {
                for h in [
                    "test",
                    "A - B",
                    "difference",
                    "p",
                    "Holm p",
                    "effect A",
                    "effect B",
                ] {
                    ui.label(RichText::new(h).strong());
                }
                ui.end_row();
                for d in &run.differences {
                    ui.label(&d.test);
                    ui.label(format!(
                        "{}  -  {}",
                        short(&d.a, NAME_CHARS),
                        short(&d.b, NAME_CHARS)
                    ))
                    .on_hover_text(format!("A: {}\nB: {}", d.a, d.b));
                    ui.label(format!("{:+.4}", d.difference))
                        .on_hover_text(format!(
                            "{} X and {} Y target words in common",
                            d.common[0], d.common[1]
                        ));
                    ui.label(fmt_p(d.p_value));
                    ui.label(fmt_p(d.p_holm));
                    ui.label(format!("{:.4}", d.effect_a));
                    ui.label(format!("{:.4}", d.effect_b));
                    ui.end_row();
                }
            });
    }
    if !run.errors.is_empty() {
        for e in &run.errors {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
    }
}

/// Effect sizes with their 95% intervals, the data sets side by side at each test.
fn effect_chart(run: &crate::engine::jobs::WeatRun, ui: &mut egui::Ui) {
    let series = effect_series(run);
    let names = run.tests.clone();
    let n = names.len();
    let names_x = names.clone();
    // Room above the highest interval for the legend.
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.points.iter())
        .flat_map(|p| [p[1], p[2], p[3]])
        .filter(|v| v.is_finite())
        .fold((0.0f64, 0.0f64), |(a, b), v| (a.min(v), b.max(v)));
    let legend_rows = series.len() as f64;
    Plot::new("bias_effects")
        .height(240.0)
        .legend(Legend::default().position(Corner::LeftTop))
        .include_y(hi + (hi - lo).max(0.5) * 0.12 * (legend_rows + 1.0))
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .include_x(-0.5)
        .include_x(n as f64 - 0.5)
        .include_y(0.0)
        .y_axis_label("effect size (95% CI)")
        .x_grid_spacer(move |_| {
            (0..n)
                .map(|i| GridMark {
                    value: i as f64,
                    step_size: 1.0,
                })
                .collect()
        })
        .x_axis_formatter(move |m, _| {
            let i = m.value.round();
            if (m.value - i).abs() < 1e-6 && i >= 0.0 {
                names_x.get(i as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .show(ui, |plot| {
            for (si, s) in series.iter().enumerate() {
                let color = PALETTE[si % PALETTE.len()];
                for (k, p) in s.points.iter().enumerate() {
                    if p[2].is_finite() && p[3].is_finite() {
                        plot.line(
                            Line::new(
                                s.dataset.clone(),
                                PlotPoints::new(vec![[p[0], p[2]], [p[0], p[3]]]),
                            )
                            .id(("ci", si, k))
                            .color(color)
                            .width(2.0),
                        );
                        for y in [p[2], p[3]] {
                            plot.line(
                                Line::new(
                                    s.dataset.clone(),
                                    PlotPoints::new(vec![[p[0] - 0.04, y], [p[0] + 0.04, y]]),
                                )
                                .id(("cap", si, k, y.to_bits()))
                                .color(color)
                                .width(2.0),
                            );
                        }
                    }
                }
                let pts: Vec<[f64; 2]> = s.points.iter().map(|p| [p[0], p[1]]).collect();
                plot.points(
                    Points::new(s.dataset.clone(), PlotPoints::new(pts))
                        .id(("effect", si))
                        .color(color)
                        .radius(4.5),
                );
            }
        });
}

fn direct_results(r: &DirectResult, top: usize, ui: &mut egui::Ui) {
    let d = &r.direction;
    ui.label(format!(
        "{}: direction '{}' - '{}' from {} pairs{}",
        r.dataset,
        d.positive,
        d.negative,
        d.pairs_used.len(),
        if d.pairs_missing.is_empty() {
            String::new()
        } else {
            format!(" ({} not in the vocabulary)", d.pairs_missing.len())
        }
    ));
    ui.label(format!(
        "explained variance of the pairs' components: {}",
        d.explained_variance_ratio
            .iter()
            .take(5)
            .map(|v| format!("{v:.3}"))
            .collect::<Vec<_>>()
            .join("  ")
    ))
    .on_hover_text("the first one is the share the direction explains");
    if let Some(w) = &d.warning {
        ui.colored_label(Color32::from_rgb(230, 180, 60), w);
    }
    let db = &r.bias;
    ui.label(
        RichText::new(format!(
            "direct bias DB_{} = {:.4} over {} neutral words",
            db.c,
            db.direct_bias,
            db.projections.len()
        ))
        .strong(),
    );
    if !db.missing.is_empty() {
        ui.weak(format!("{} not in the vocabulary", db.missing.len()))
            .on_hover_text(db.missing.join(", "));
    }
    if let Some(s) = &r.debias {
        let rep = &s.report;
        ui.label(format!(
            "hard-debiased into '{}': {} rows neutralised, {} gender-specific kept, {} pairs \
             equalised",
            s.name,
            rep.neutralised,
            rep.specific_kept,
            rep.equalised_pairs.len()
        ));
        if let Some(after) = &s.bias_after {
            ui.label(format!(
                "direct bias on the new set: {:.4} -> {:.6}",
                db.direct_bias, after.direct_bias
            ));
        }
        ui.weak(
            "compare it with the original: tick both under Compare versions, or run WEAT on both",
        );
    }
    projection_chart(r, top, ui);
    ui.weak(format!("computed in {:.2} s", r.seconds));
}

/// The most extreme projections at each end, as horizontal bars.
fn projection_chart(r: &DirectResult, top: usize, ui: &mut egui::Ui) {
    let (pos, neg) = r.extremes(top);
    // Bottom to top: the most negative first, then up to the most positive.
    let mut words: Vec<String> = Vec::new();
    let mut neg_bars = Vec::new();
    for p in neg.iter() {
        let y = words.len() as f64;
        neg_bars.push(Bar::new(y, p.projection).name(&p.word).width(0.7));
        words.push(p.word.clone());
    }
    let mut pos_bars = Vec::new();
    for p in pos.iter().rev() {
        let y = words.len() as f64;
        pos_bars.push(Bar::new(y, p.projection).name(&p.word).width(0.7));
        words.push(p.word.clone());
    }
    let n = words.len();
    let height = (n as f32 * 18.0 + 60.0).max(160.0);
    let words_y = words.clone();
    Plot::new("bias_projections")
        .height(height)
        .legend(Legend::default().position(Corner::RightBottom))
        .allow_zoom(false)
        .allow_drag(false)
        .allow_scroll(false)
        .allow_boxed_zoom(false)
        .include_x(0.0)
        .include_y(-0.5)
        .include_y(n as f64 - 0.5)
        .x_axis_label(format!(
            "projection on the direction (cosine; '{}' > 0, '{}' < 0)",
            r.direction.positive, r.direction.negative
        ))
        .custom_y_axes(vec![
            // Every word, even where the rows are closer than egui_plot's default spacing.
            AxisHints::new_y()
                .min_thickness(100.0)
                .label_spacing(8.0..=12.0)
                .formatter(move |m, _| {
                    let i = m.value.round();
                    if (m.value - i).abs() < 1e-6 && i >= 0.0 {
                        words_y.get(i as usize).cloned().unwrap_or_default()
                    } else {
                        String::new()
                    }
                }),
        ])
        .y_grid_spacer(move |_| {
            (0..n)
                .map(|i| GridMark {
                    value: i as f64,
                    step_size: 1.0,
                })
                .collect()
        })
        .show(ui, |plot| {
            plot.bar_chart(
                BarChart::new(format!("towards '{}'", r.direction.positive), pos_bars)
                    .color(PALETTE[1])
                    .horizontal(),
            );
            plot.bar_chart(
                BarChart::new(format!("towards '{}'", r.direction.negative), neg_bars)
                    .color(PALETTE[0])
                    .horizontal(),
            );
        });
}
