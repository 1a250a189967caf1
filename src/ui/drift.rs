//! The Drift window (Analysis > Drift): two open sets of one model, or one set split by a
//! metadata column; the tests and their options; run with progress and cancel. Results: the
//! methods with scores, thresholds and p-values, the joint map coloured by side with the chosen
//! cluster marked, the clusters of the joint rows sorted by change of share with their
//! keywords, and the chosen cluster's documents.

use egui::{Color32, RichText};
use egui_plot::{Corner, Legend, MarkerShape, Plot, PlotPoints, Points};

use crate::analysis::drift::{DriftMethod, MethodResult};
use crate::app::drift::{DriftCommand, DriftForm, DriftMode, SplitKind};
use crate::app::{App, Command, JobKind};
use crate::engine::jobs::DriftRun;
use crate::report::fmt::{p_value as fmt_p, short};

/// The window's own fields.
#[derive(Debug, Clone, Default)]
pub struct DriftUi {
    pub open: bool,
}

/// Reference and current sides on the joint map.
const SIDE_COLORS: [Color32; 2] = [
    Color32::from_rgb(66, 133, 244),
    Color32::from_rgb(251, 140, 0),
];
const SIDE_TAGS: [&str; 2] = ["ref", "cur"];
/// The chosen cluster's points, over both sides'.
const CHOSEN: Color32 = Color32::from_rgb(236, 64, 160);
/// Points drawn per side on the joint map (every n-th above it).
const MAP_POINTS: usize = 20_000;
/// Documents listed for the chosen cluster.
const DOCUMENTS: usize = 60;

fn drift_cmd(cmds: &mut Vec<Command>, c: DriftCommand) {
    cmds.push(Command::Drift(c));
}

/// The window, while open.
pub fn window(app: &App, state: &mut DriftUi, ctx: &egui::Context, cmds: &mut Vec<Command>) {
    let mut open = state.open;
    // Both panes send commands, one after the other.
    let mut cmds = cmds;
    crate::ui::two_pane_window(
        ctx,
        "Drift",
        "drift_inputs",
        330.0,
        (&mut open, &mut cmds),
        |cmds, ui| inputs(app, ui, cmds),
        |cmds, ui| {
            egui::ScrollArea::vertical()
                .id_salt("drift_results")
                .auto_shrink([false, false])
                .show(ui, |ui| match &app.drift.run {
                    None => {
                        ui.weak(
                            "Choose the reference and current samples and the tests, then Run \
                             drift tests.",
                        );
                    }
                    Some(run) => results(app, run, ui, cmds),
                });
        },
    );
    state.open = open;
}

fn set_combo(app: &App, ui: &mut egui::Ui, label: &str, chosen: Option<usize>) -> Option<String> {
    let mut out = None;
    let text = chosen
        .and_then(|i| app.datasets.get(i))
        .map(|d| short(&d.name, 34))
        .unwrap_or_else(|| "(none open)".into());
    egui::ComboBox::from_label(label)
        .selected_text(text)
        .width(200.0)
        .show_ui(ui, |ui| {
            for (i, d) in app.datasets.iter().enumerate() {
                if ui.selectable_label(chosen == Some(i), &d.name).clicked() {
                    out = Some(d.name.clone());
                }
            }
        });
    out
}

fn inputs(app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let mut f: DriftForm = app.drift.form.clone();
    ui.heading("Samples");
    ui.horizontal(|ui| {
        ui.radio_value(&mut f.mode, DriftMode::TwoSets, "two data sets");
        ui.radio_value(&mut f.mode, DriftMode::Split, "one set, split");
    });
    match f.mode {
        DriftMode::TwoSets => {
            if let Some(n) = set_combo(app, ui, "reference", app.drift_reference()) {
                f.reference = Some(n);
            }
            if let Some(n) = set_combo(app, ui, "current", app.drift_current()) {
                f.current = Some(n);
            }
            ui.checkbox(&mut f.allow_other_models, "allow different models")
                .on_hover_text(
                    "Go on when the two sets' encoding records name different weights (their \
                     vectors are then not in one space: said with the results)",
                );
        }
        DriftMode::Split => {
            let r = app.drift_reference();
            if let Some(n) = set_combo(app, ui, "data set", r) {
                f.reference = Some(n);
            }
            let columns: Vec<String> = r
                .and_then(|i| app.datasets.get(i))
                .map(|d| {
                    d.set
                        .metadata
                        .columns()
                        .iter()
                        .map(|c| c.name.clone())
                        .collect()
                })
                .unwrap_or_default();
            egui::ComboBox::from_label("column")
                .selected_text(if f.column.is_empty() {
                    "(choose)".to_string()
                } else {
                    short(&f.column, 30)
                })
                .width(200.0)
                .show_ui(ui, |ui| {
                    if columns.is_empty() {
                        ui.weak("this set has no metadata columns");
                    }
                    for c in &columns {
                        ui.selectable_value(&mut f.column, c.clone(), c);
                    }
                });
            egui::ComboBox::from_label("split")
                .selected_text(f.kind.name())
                .width(200.0)
                .show_ui(ui, |ui| {
                    for k in SplitKind::ALL {
                        ui.selectable_value(&mut f.kind, k, k.name());
                    }
                });
            ui.horizontal(|ui| {
                let l = ui.label("value");
                ui.add(
                    egui::TextEdit::singleline(&mut f.value)
                        .hint_text(f.kind.hint())
                        .desired_width(200.0),
                )
                .labelled_by(l.id);
            });
        }
    }
    ui.separator();
    ui.heading("Tests");
    for m in DriftMethod::ALL {
        let mut on = f.methods.contains(&m);
        if ui
            .checkbox(&mut on, m.name())
            .on_hover_text(method_help(m))
            .changed()
        {
            f.methods.retain(|x| *x != m);
            if on {
                f.methods.push(m);
                f.methods.sort();
            }
        }
    }
    ui.horizontal(|ui| {
        let l = ui.label("permutations");
        ui.add(
            egui::DragValue::new(&mut f.permutations)
                .range(1..=DriftParamsLimits::PERMUTATIONS)
                .speed(10.0),
        )
        .labelled_by(l.id)
        .on_hover_text("relabellings per test: p = (b + 1) / (permutations + 1)");
    });
    ui.horizontal(|ui| {
        let mut pca = f.pca.is_some();
        ui.checkbox(&mut pca, "PCA first");
        let mut k = f.pca.unwrap_or(50);
        ui.add_enabled(pca, egui::DragValue::new(&mut k).range(1..=4096))
            .on_hover_text("components of the pooled rows both samples are projected onto");
        f.pca = pca.then_some(k);
    });
    ui.horizontal(|ui| {
        let l = ui.label("clusters");
        ui.add(egui::DragValue::new(&mut f.clusters).range(0..=200))
            .labelled_by(l.id)
            .on_hover_text("k-means (cosine) of the joint rows; 0: none");
        let l = ui.label("keywords");
        ui.add(egui::DragValue::new(&mut f.keywords).range(0..=30))
            .labelled_by(l.id);
    });
    ui.horizontal(|ui| {
        let l = ui.label("seed");
        ui.add(egui::DragValue::new(&mut f.seed)).labelled_by(l.id);
    });
    if f != app.drift.form {
        drift_cmd(cmds, DriftCommand::SetForm(f));
    }
    ui.add_space(6.0);
    if ui
        .add_enabled(!app.drift.busy(), egui::Button::new("Run drift tests"))
        .clicked()
    {
        drift_cmd(cmds, DriftCommand::Run);
    }
    for j in app
        .jobs
        .iter()
        .filter(|j| j.kind == JobKind::Drift && Some(j.id) == app.drift.job)
    {
        crate::ui::job_row(ui, j, cmds);
    }
}

/// The most permutations the window offers (the analysis's own limit).
struct DriftParamsLimits;
impl DriftParamsLimits {
    const PERMUTATIONS: usize = crate::analysis::drift::DriftParams::MAX_PERMUTATIONS;
}

fn method_help(m: DriftMethod) -> &'static str {
    match m {
        DriftMethod::DistanceEuclidean => "euclidean distance between the two centroids",
        DriftMethod::DistanceCosine => "1 - cosine of the two centroids",
        DriftMethod::Mmd => {
            "unbiased MMD^2, RBF kernel with the median heuristic (on a sample of each side)"
        }
        DriftMethod::Classifier => {
            "ROC AUC of a logistic regression telling the sides apart, on held-out rows"
        }
        DriftMethod::Ratio => {
            "share of dimensions whose normalised Wasserstein distance is at least 0.1"
        }
        DriftMethod::Energy => "energy distance (on a sample of each side)",
    }
}

fn results(app: &App, run: &DriftRun, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let s = &run.study;
    let r = &s.report;
    ui.heading(format!(
        "{} vs {}",
        short(&run.names[0], 40),
        short(&run.names[1], 40)
    ));
    let mut facts = vec![format!(
        "reference {} rows, current {} rows, {} dimensions",
        r.n_ref, r.n_cur, r.dim
    )];
    if let Some(p) = &r.pca {
        facts.push(format!(
            "PCA to {} ({:.1}% of the variance)",
            p.components,
            p.explained_variance_ratio * 100.0
        ));
    }
    let nan = r.nan_rows_left_out;
    if nan.reference + nan.current > 0 {
        facts.push(format!(
            "{} + {} rows with NaN/Inf left out",
            nan.reference, nan.current
        ));
    }
    if let Some(k) = r.kernel_sample {
        facts.push(format!(
            "MMD and energy on {} + {} sampled rows",
            k.reference, k.current
        ));
    }
    facts.push(format!(
        "{} permutations, seed {}, {:.2} s",
        r.permutations,
        r.params.get().seed,
        run.seconds
    ));
    ui.weak(facts.join("; "));
    if let Some(sp) = &s.split {
        ui.weak(format!(
            "split: {} ({} left out)",
            sp.description, sp.left_out
        ));
    }
    for w in &s.warnings {
        ui.colored_label(Color32::from_rgb(200, 120, 0), format!("warning: {w}"));
    }
    ui.add_space(4.0);
    methods_table(r.methods.iter(), r.alpha, ui);
    ui.add_space(6.0);
    ui.columns(2, |cols| {
        joint_map(app, run, &mut cols[0]);
        clusters(app, run, &mut cols[1], cmds);
    });
    if let Some(id) = app.drift.cluster {
        documents(app, run, id, ui, cmds);
    }
}

fn methods_table<'a>(
    methods: impl Iterator<Item = (&'a DriftMethod, &'a MethodResult)>,
    alpha: f64,
    ui: &mut egui::Ui,
) {
    egui::Grid::new("drift_methods")
        .striped(true)
        .num_columns(6)
        .show(ui, |ui| {
            for h in ["method", "score", "threshold", "drift", "p-value", "rows"] {
                ui.label(RichText::new(h).strong());
            }
            ui.end_row();
            for (m, res) in methods {
                ui.label(m.name()).on_hover_text(method_help(*m));
                ui.label(format!("{:.4}", res.score));
                ui.label(format!("{:.4}", res.threshold));
                if res.drift {
                    ui.colored_label(Color32::from_rgb(220, 60, 50), "yes");
                } else {
                    ui.label("no");
                }
                let p = fmt_p(res.p_value);
                if res.p_value < alpha {
                    ui.label(RichText::new(p).strong())
                        .on_hover_text(format!("below alpha {alpha}"));
                } else {
                    ui.label(p);
                }
                ui.label(format!("{} + {}", res.rows.reference, res.rows.current));
                ui.end_row();
            }
        });
}

fn joint_map(app: &App, run: &DriftRun, ui: &mut egui::Ui) {
    let Some(map) = &run.study.map else {
        ui.weak("no joint map");
        return;
    };
    let sides = app.drift.points(MAP_POINTS);
    let marked = app
        .drift
        .cluster
        .map(|id| app.drift.cluster_points(id))
        .unwrap_or_default();
    ui.label(
        RichText::new(format!(
            "joint map (PCA: {:.0}% + {:.0}% of the variance)",
            map.explained[0] * 100.0,
            map.explained[1] * 100.0
        ))
        .small(),
    );
    Plot::new("drift_joint_map")
        .height(300.0)
        .data_aspect(1.0)
        .legend(Legend::default().position(Corner::LeftTop))
        .show_axes([false, false])
        .show(ui, |plot| {
            for (i, pts) in sides.into_iter().enumerate() {
                plot.points(
                    Points::new(
                        format!("{} ({})", short(&run.names[i], 28), SIDE_TAGS[i]),
                        PlotPoints::new(pts),
                    )
                    .id(("drift_side", i))
                    .color(SIDE_COLORS[i].gamma_multiply(0.55))
                    .radius(1.2),
                );
            }
            for (i, pts) in marked.into_iter().enumerate() {
                if pts.is_empty() {
                    continue;
                }
                plot.points(
                    Points::new(
                        format!("chosen cluster ({})", SIDE_TAGS[i]),
                        PlotPoints::new(pts),
                    )
                    .id(("drift_cluster", i))
                    .color(CHOSEN)
                    .shape(if i == 0 {
                        MarkerShape::Square
                    } else {
                        MarkerShape::Circle
                    })
                    .radius(3.0),
                );
            }
        });
}

/// The change of share in words: new (only current), gone (only reference), grew, shrank.
fn change_word(ratio: f64) -> &'static str {
    if ratio >= 0.999 {
        "new"
    } else if ratio <= -0.999 {
        "gone"
    } else if ratio > 0.0 {
        "grew"
    } else if ratio < 0.0 {
        "shrank"
    } else {
        "same"
    }
}

fn clusters(app: &App, run: &DriftRun, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let list = &run.study.clusters;
    if list.is_empty() {
        ui.weak("no clusters (clusters 0)");
        return;
    }
    ui.label(RichText::new("clusters by change of share: (C - R) / (C + R)").small());
    egui::ScrollArea::vertical()
        .id_salt("drift_clusters")
        .max_height(300.0)
        .show(ui, |ui| {
            for c in list {
                let d = &c.drift;
                let chosen = app.drift.cluster == Some(d.id);
                let text = format!(
                    "{:+.2} {} · {} -> {} · {}",
                    d.ratio,
                    change_word(d.ratio),
                    d.n_ref,
                    d.n_cur,
                    if c.keywords.is_empty() {
                        format!("cluster {}", d.id)
                    } else {
                        c.keywords.join(", ")
                    }
                );
                let color = if d.ratio > 0.0 {
                    SIDE_COLORS[1]
                } else {
                    SIDE_COLORS[0]
                };
                if ui
                    .selectable_label(chosen, RichText::new(text).color(color))
                    .on_hover_text(format!(
                        "cluster {}: {:.1}% of the reference rows, {:.1}% of the current rows",
                        d.id,
                        d.share_ref * 100.0,
                        d.share_cur * 100.0
                    ))
                    .clicked()
                {
                    drift_cmd(
                        cmds,
                        DriftCommand::SelectCluster(if chosen { None } else { Some(d.id) }),
                    );
                }
            }
        });
}

fn documents(app: &App, run: &DriftRun, id: i64, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    let Some(c) = run.study.clusters.iter().find(|c| c.drift.id == id) else {
        return;
    };
    ui.separator();
    ui.horizontal(|ui| {
        ui.label(RichText::new(format!("cluster {id}: documents")).strong());
        if ui
            .button("Select on the map")
            .on_hover_text("select the cluster's rows on each side's map (sets still open)")
            .clicked()
        {
            drift_cmd(cmds, DriftCommand::ShowInMap(id));
        }
    });
    let docs = app.drift.documents(id, DOCUMENTS);
    let total = c.drift.n_ref + c.drift.n_cur;
    if docs.len() < total {
        ui.weak(format!("the first {} of {total}", docs.len()));
    }
    egui::ScrollArea::vertical()
        .id_salt("drift_documents")
        .max_height(260.0)
        .show(ui, |ui| {
            for d in docs {
                ui.horizontal_wrapped(|ui| {
                    ui.label(
                        RichText::new(SIDE_TAGS[d.side])
                            .color(SIDE_COLORS[d.side])
                            .monospace(),
                    );
                    ui.label(format!("#{}", d.row));
                    ui.label(d.text);
                });
            }
        });
}
