//! The compare screen: versions side by side on aligned maps (linked hover and selection,
//! coloured by change), the ranked list of changed words, one word's neighbours in each
//! version, and dominoes (small multiples) of the top changed words' neighbourhoods.

use egui::{Color32, Pos2, Rect, RichText, Sense, Stroke, Vec2};

use super::map::{self, MapState};
use crate::analysis::compare::RankBy;
use crate::app::compare::{CompareView, Domino};
use crate::app::{App, Command, SearchState};

/// Dominoes shown.
const DOMINOES: usize = 12;

/// The "compare versions" picker in the left panel.
pub fn picker(app: &App, picked: &mut Vec<usize>, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
    ui.heading("Compare versions");
    if app.datasets.len() < 2 {
        ui.weak("open two or more data sets (versions of a model) to compare them");
        return;
    }
    picked.retain(|&i| i < app.datasets.len());
    for (i, d) in app.datasets.iter().enumerate() {
        if d.kind == crate::core::RowKind::Occurrences {
            // Sampled occurrences of a word set are not a version of anything.
            ui.weak(format!("{}: sampled occurrences, not a version", d.name));
            picked.retain(|&p| p != i);
            continue;
        }
        let mut on = picked.contains(&i);
        let label = match picked.iter().position(|&p| p == i) {
            Some(pos) => format!("{}. {}", pos + 1, d.name),
            None => d.name.clone(),
        };
        if ui.checkbox(&mut on, label).changed() {
            if on {
                picked.push(i);
            } else {
                picked.retain(|&p| p != i);
            }
        }
    }
    ui.weak("ticked in order: each version is compared with the next");
    ui.horizontal(|ui| {
        if ui
            .add_enabled(picked.len() >= 2, egui::Button::new("Compare"))
            .clicked()
        {
            cmds.push(Command::StartCompare(picked.clone()));
        }
        if app.compare.is_some() && ui.button("Close compare").clicked() {
            cmds.push(Command::CloseCompare);
        }
    });
}

fn change_color(x: f64) -> Color32 {
    let c = crate::app::colors::ramp((1.0 - x) as f32);
    Color32::from_rgba_unmultiplied(c[0], c[1], c[2], c[3])
}

/// The central area while the compare screen is open.
pub fn show(
    app: &mut App,
    maps: &mut Vec<MapState>,
    render_state: Option<&egui_wgpu::RenderState>,
    ui: &mut egui::Ui,
    cmds: &mut Vec<Command>,
) {
    let (point_size, dark) = (app.settings.point_size, app.settings.dark);
    let progress: Option<(Option<f32>, String)> = app
        .compare
        .as_ref()
        .and_then(|c| c.job)
        .and_then(|id| app.jobs.iter().find(|j| j.id == id))
        .map(|j| (j.fraction, j.text.clone()));
    let Some(cv) = app.compare.as_mut() else {
        return;
    };
    header(cv, progress, ui, cmds);
    let n = cv.maps.len();
    while maps.len() < n {
        maps.push(MapState::new(100 + maps.len() as u64));
    }
    let avail = ui.available_size();
    let maps_h = (avail.y * 0.55).max(160.0);
    let gap = 6.0;
    let w = ((avail.x - gap * (n as f32 - 1.0)) / n as f32).max(80.0);
    let empty = SearchState::default();
    let mut hovered: Option<String> = None;
    let mut local: Vec<(usize, Command)> = Vec::new();
    ui.horizontal(|ui| {
        for (v, st) in maps.iter_mut().enumerate().take(n) {
            let neighbours = linked_neighbours(cv, v);
            let hover_row = cv.hovered_row(v);
            ui.allocate_ui(Vec2::new(w, maps_h), |ui| {
                ui.vertical(|ui| {
                    ui.label(RichText::new(format!("{}. {}", v + 1, cv.names[v])).strong());
                    let input = map::MapInput {
                        dataset: &cv.maps[v].view,
                        search: &empty,
                        neighbours: &neighbours,
                        render_state,
                        point_size,
                        dark,
                        cluster_labels: false,
                        density: None,
                        mask_text: false,
                    };
                    let mut c = Vec::new();
                    map::show(ui, st, &input, &mut c);
                    local.extend(c.into_iter().map(|c| (v, c)));
                    if let Some(r) = st.hovered {
                        hovered = Some(cv.maps[v].view.token(r).to_string());
                    }
                    // The word hovered in another map, ringed here.
                    if st.hovered.is_none()
                        && let Some(r) = hover_row
                        && let Some(p) = cv.maps[v].view.map.as_ref().and_then(|m| m.position(r))
                    {
                        let s = st.to_screen(st.rect, p);
                        let painter = ui.painter_at(st.rect);
                        painter.circle_stroke(
                            s,
                            7.0,
                            Stroke::new(2.0, Color32::from_rgb(255, 80, 80)),
                        );
                        painter.text(
                            s + Vec2::new(9.0, -9.0),
                            egui::Align2::LEFT_BOTTOM,
                            cv.hovered.as_deref().unwrap_or(""),
                            egui::FontId::proportional(12.0),
                            Color32::from_rgb(255, 80, 80),
                        );
                    }
                });
            });
        }
    });
    cv.hovered = hovered;
    for (v, c) in local {
        match c {
            Command::Select { row, .. } => cv.select_row(v, row),
            Command::SelectRows { rows, .. } => {
                if let Some(&r) = rows.first() {
                    cv.select_row(v, r);
                }
            }
            Command::ClearSelection => cv.select(None),
            _ => {}
        }
    }
    ui.separator();
    let bottom = ui.available_size();
    let column = |ui: &mut egui::Ui, w: f32, add: &mut dyn FnMut(&mut egui::Ui)| {
        ui.allocate_ui_with_layout(
            Vec2::new(w, bottom.y),
            egui::Layout::top_down(egui::Align::Min),
            |ui| {
                ui.set_width(w);
                add(ui)
            },
        );
    };
    ui.horizontal_top(|ui| {
        column(ui, bottom.x * 0.30, &mut |ui| ranked_list(cv, ui));
        ui.separator();
        column(ui, bottom.x * 0.30, &mut |ui| word_detail(cv, ui));
        ui.separator();
        let rest = ui.available_width();
        column(ui, rest, &mut |ui| dominoes(cv, ui, dark));
    });
}

fn header(
    cv: &mut CompareView,
    progress: Option<(Option<f32>, String)>,
    ui: &mut egui::Ui,
    cmds: &mut Vec<Command>,
) {
    ui.horizontal_wrapped(|ui| {
        ui.heading("Compare");
        ui.label(cv.names.join("  ->  "));
        if ui.button("Close").clicked() {
            cmds.push(Command::CloseCompare);
        }
        if ui
            .checkbox(&mut cv.color_by_change, "colour by change")
            .changed()
        {
            cv.recolor();
        }
        if let Some(s) = cv.layout_seconds {
            ui.weak(format!("maps {s:.2} s"));
        }
        if let Some(s) = cv.seconds {
            ui.weak(format!("statistics {s:.2} s"));
        }
    });
    if let Some((fraction, text)) = progress {
        ui.horizontal(|ui| {
            let bar = egui::ProgressBar::new(fraction.unwrap_or(0.0)).text(text);
            ui.add_sized(
                [280.0, 16.0],
                if fraction.is_none() {
                    bar.animate(true)
                } else {
                    bar
                },
            );
            if let Some(j) = cv.job
                && ui.button("Cancel").clicked()
            {
                cmds.push(Command::CancelJob(j));
            }
        });
    }
    if cv.results.len() > 1 {
        ui.horizontal(|ui| {
            ui.label("pair:");
            for p in 0..cv.results.len() {
                let t = format!("{} -> {}", p + 1, p + 2);
                if ui.selectable_label(cv.pair == p, t).clicked() {
                    cv.pair = p;
                }
            }
        });
    }
    if let Some(c) = cv.results.get(cv.pair) {
        let s = &c.vocab_summary;
        ui.horizontal_wrapped(|ui| {
            ui.label(format!(
                "{} shared · {} only in {} · {} only in {}{}",
                s.shared,
                s.only_a,
                cv.pair + 1,
                s.only_b,
                cv.pair + 2,
                if s.excluded > 0 {
                    format!(" · {} left out (NaN/Inf/zero)", s.excluded)
                } else {
                    String::new()
                }
            ));
            ui.separator();
            let j = &c.jaccard[0];
            ui.label(format!(
                "Jaccard@{} {:.3} (median {:.3})",
                j.k, j.mean, j.median
            ));
            ui.label(format!("RBO {:.3}", c.rbo.mean));
            ui.label(format!("CKA {:.3}", c.linear_cka));
            ui.label(format!("disparity {:.3}", c.procrustes.disparity))
                .on_hover_text(&c.procrustes.method);
            ui.label(format!(
                "aligned cos {:.3}",
                c.procrustes.aligned_cosine_mean
            ));
            ui.label(format!("drift {:.3}", c.drift.drift_score))
                .on_hover_text("1 - Spearman correlation of sampled word-pair similarities");
        });
    }
    if let Some(d) = cv.provenance.get(cv.pair) {
        ui.label(&d.summary);
    }
    if let Some(Some(Err(e))) = cv.tokenizers.get(cv.pair) {
        ui.colored_label(
            Color32::from_rgb(220, 80, 80),
            format!("tokenizer diff not available: {e}"),
        );
    }
    if let Some(Some(Ok(td))) = cv.tokenizers.get(cv.pair) {
        egui::CollapsingHeader::new(format!(
            "tokenizers: {:.1}% of {} corpus words split differently",
            100.0 * td.share_different,
            td.words_checked
        ))
        .id_salt("tokenizers")
        .show(ui, |ui| {
            for (name, s) in [("A", &td.a), ("B", &td.b)] {
                ui.label(format!(
                    "{name}: {} {} tokens, max length {}, {}; specials {}",
                    s.model,
                    s.vocab_size,
                    s.max_length.map_or("none".to_string(), |m| m.to_string()),
                    s.normalizer,
                    s.special_tokens.join(" ")
                ));
            }
            for n in &td.notes {
                ui.label(format!("- {n}"));
            }
            for e in td.examples.iter().take(10) {
                ui.label(format!(
                    "{}:  {}  |  {}",
                    e.word,
                    e.a.join(" "),
                    e.b.join(" ")
                ));
            }
        });
    }
}

/// Neighbours of the selected word in version `v` (rows), from the comparison that version
/// belongs to.
fn linked_neighbours(cv: &CompareView, v: usize) -> Vec<(usize, f32)> {
    let Some(t) = cv.selected.as_ref() else {
        return Vec::new();
    };
    let p = if v == 0 { 0 } else { v - 1 };
    let Some(c) = cv.results.get(p) else {
        return Vec::new();
    };
    let Some(i) = c.index_of(t) else {
        return Vec::new();
    };
    let lists = if v == p {
        &c.neighbours_a
    } else {
        &c.neighbours_b
    };
    let set = &cv.maps[v].view.set;
    lists.of(i)[..c.k()]
        .iter()
        .zip(lists.sims(i))
        .filter_map(|(&j, &s)| {
            set.vocab
                .get(&c.vocab.tokens[j as usize])
                .map(|r| (r, s as f32))
        })
        .collect()
}

fn ranked_list(cv: &mut CompareView, ui: &mut egui::Ui) {
    ui.horizontal(|ui| {
        ui.selectable_value(&mut cv.rank_by, RankBy::Neighbourhood, "neighbourhood");
        ui.selectable_value(&mut cv.rank_by, RankBy::Displacement, "displacement");
    });
    ui.horizontal(|ui| {
        ui.selectable_value(&mut cv.most, true, "most changed");
        ui.selectable_value(&mut cv.most, false, "least changed");
    });
    ui.horizontal(|ui| {
        let mut on = cv.max_rank.is_some();
        ui.checkbox(&mut on, "frequency rank <=");
        let mut m = cv.max_rank.unwrap_or(5000);
        let l = ui.add_enabled(on, egui::DragValue::new(&mut m).range(10..=10_000_000));
        l.on_hover_text("only words among the N most frequent (the first version's order)");
        cv.max_rank = on.then_some(m);
    });
    if cv.results.is_empty() {
        ui.weak(if cv.busy() {
            "computing neighbourhoods…"
        } else {
            "no statistics"
        });
        return;
    }
    let k = cv.results[cv.pair].k();
    let rows = cv.ranked(200);
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt("ranked")
        .show(ui, |ui| {
            egui::Grid::new("ranked-grid").striped(true).show(ui, |ui| {
                ui.strong("word");
                ui.strong("rank");
                ui.strong(format!("J@{k}"));
                ui.strong("aligned cos");
                ui.end_row();
                for w in rows {
                    let j = w.jaccard.values().next().copied().unwrap_or(f64::NAN);
                    let sel = cv.selected.as_deref() == Some(w.token.as_str());
                    if ui.selectable_label(sel, &w.token).clicked() {
                        clicked = Some(w.token.clone());
                    }
                    ui.label(w.rank.to_string());
                    ui.colored_label(change_color(j), format!("{j:.2}"));
                    ui.label(format!("{:.3}", w.aligned_cosine));
                    ui.end_row();
                }
            });
        });
    if let Some(t) = clicked {
        cv.select(Some(t));
    }
}

fn word_detail(cv: &mut CompareView, ui: &mut egui::Ui) {
    let mut word = cv.selected.clone().unwrap_or_default();
    ui.horizontal(|ui| {
        let l = ui.label("word:");
        let r = ui.text_edit_singleline(&mut word).labelled_by(l.id);
        if r.lost_focus() && ui.input(|i| i.key_pressed(egui::Key::Enter)) {
            let w = word.trim().to_string();
            cv.select((!w.is_empty()).then_some(w));
        }
    });
    match cv.detail() {
        None => {
            ui.weak("click a word on a map or in the list");
        }
        Some(Err(e)) => {
            ui.colored_label(Color32::from_rgb(220, 80, 80), e.to_string());
        }
        Some(Ok(d)) => {
            ui.label(format!(
                "'{}' (rank {}): Jaccard@{} {:.3}, aligned cosine {:.3}",
                d.token, d.rank, d.k, d.jaccard, d.aligned_cosine
            ));
            ui.weak("bold: a neighbour in both versions");
            egui::ScrollArea::vertical()
                .id_salt("detail")
                .show(ui, |ui| {
                    egui::Grid::new("detail-grid").striped(true).show(ui, |ui| {
                        ui.strong(format!("version {}", cv.pair + 1));
                        ui.strong("");
                        ui.strong(format!("version {}", cv.pair + 2));
                        ui.strong("");
                        ui.end_row();
                        for (a, b) in d.a.iter().zip(&d.b) {
                            for n in [a, b] {
                                let t = RichText::new(&n.token);
                                ui.label(if n.shared { t.strong() } else { t.weak() });
                                ui.label(format!("{:.3}", n.similarity));
                            }
                            ui.end_row();
                        }
                    });
                });
        }
    }
}

fn dominoes(cv: &mut CompareView, ui: &mut egui::Ui, dark: bool) {
    ui.label(format!(
        "top {} {} words: each word (red) with its neighbours on both aligned maps; orange = \
         neighbour in both versions",
        DOMINOES,
        if cv.most {
            "most changed"
        } else {
            "least changed"
        }
    ));
    let list = cv.dominoes(DOMINOES);
    let mut clicked = None;
    egui::ScrollArea::vertical()
        .id_salt("dominoes")
        .show(ui, |ui| {
            ui.horizontal_wrapped(|ui| {
                for d in &list {
                    if domino(ui, d, dark) {
                        clicked = Some(d.token.clone());
                    }
                }
            });
        });
    if let Some(t) = clicked {
        cv.select(Some(t));
    }
}

/// One domino (two small panels); returns whether it was clicked.
fn domino(ui: &mut egui::Ui, d: &Domino, dark: bool) -> bool {
    let panel = 96.0;
    let (rect, resp) =
        ui.allocate_exact_size(Vec2::new(panel * 2.0 + 6.0, panel + 16.0), Sense::click());
    let painter = ui.painter_at(rect);
    let bg = if dark {
        Color32::from_gray(28)
    } else {
        Color32::from_gray(240)
    };
    let text = ui.visuals().text_color();
    painter.text(
        rect.left_top(),
        egui::Align2::LEFT_TOP,
        format!("{}  J {:.2}", d.token, d.jaccard),
        egui::FontId::proportional(11.0),
        text,
    );
    for (s, side) in d.sides.iter().enumerate() {
        let r = Rect::from_min_size(
            Pos2::new(rect.left() + s as f32 * (panel + 6.0), rect.top() + 16.0),
            Vec2::splat(panel),
        );
        painter.rect_filled(r, 3.0, bg);
        // Fit the word and its neighbours, centred on the word.
        let span = side
            .points
            .iter()
            .map(|(_, p, _)| {
                (p[0] - side.centre[0])
                    .abs()
                    .max((p[1] - side.centre[1]).abs())
            })
            .fold(1e-6f32, f32::max);
        let to = |p: [f32; 2]| {
            Pos2::new(
                r.center().x + (p[0] - side.centre[0]) / span * (panel * 0.42),
                r.center().y - (p[1] - side.centre[1]) / span * (panel * 0.42),
            )
        };
        for (_, p, shared) in &side.points {
            let q = to(*p);
            painter.line_segment([r.center(), q], Stroke::new(0.5, text.gamma_multiply(0.25)));
            let c = if *shared {
                Color32::from_rgb(255, 150, 30)
            } else {
                Color32::from_gray(140)
            };
            painter.circle_filled(q, 2.5, c);
        }
        painter.circle_filled(r.center(), 3.5, Color32::from_rgb(230, 50, 50));
    }
    let resp = resp.on_hover_text(format!(
        "{}: neighbours in version A (left) and B (right); {} shared",
        d.token,
        d.sides[0].points.iter().filter(|p| p.2).count()
    ));
    resp.clicked()
}
