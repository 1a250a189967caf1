//! The right side of the bias window: the WEAT table and chart, the differences between data
//! sets, the direct bias with its projection chart.

use egui::{Color32, RichText};
use egui_plot::{
    AxisHints, Bar, BarChart, Corner, GridMark, Legend, Line, Plot, PlotPoints, Points,
};

use super::{BiasUi, NAME_CHARS, PALETTE, Tab, fmt_p, short};
use crate::analysis::bias;
use crate::app::App;
use crate::app::bias::{DirectResult, effect_series, missing_text};

pub(super) fn results(app: &App, state: &mut BiasUi, ui: &mut egui::Ui) {
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
