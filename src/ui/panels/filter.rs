//! The Filter section of the left panel: per metadata column a small chart of the rows under
//! the other columns' filters over the column's totals: a histogram for numbers and dates (drag
//! across the bars to keep a range, click a bar for one bin), the top categories for text
//! (click to keep or drop one). Filters combine (AND); each clears with its ×, all with one
//! click; the rows kept are counted. The charts are built when the section is first opened.

use egui::{Color32, Pos2, Rect, RichText, Sense, Stroke, Vec2};

use crate::app::filter::{Bucket, ColumnChart, ColumnKind, CrossFilter, Filter, format_datetime};
use crate::app::table::{FilterSlot, TableCommand, count, kept_summary};
use crate::app::{App, Command};

/// Categories listed before "show all".
const FIRST_CATEGORIES: usize = 8;
/// Height of a histogram (points).
const HISTOGRAM_HEIGHT: f32 = 40.0;

#[derive(Default)]
pub struct FilterPanel {
    /// A drag across a histogram: the chart and the first and current bins.
    brush: Option<(usize, usize, usize)>,
    /// Charts showing all their categories.
    all_categories: Vec<usize>,
}

impl FilterPanel {
    pub fn show(&mut self, app: &App, ui: &mut egui::Ui, cmds: &mut Vec<Command>) {
        let Some(d) = app.active_dataset() else {
            return;
        };
        let filtered = d.table.kept().is_some();
        let title = if filtered {
            format!("Filter ({})", kept_summary(d))
        } else {
            "Filter".to_string()
        };
        egui::CollapsingHeader::new(RichText::new(title).heading())
            .id_salt("filter-section")
            .default_open(false)
            .show(ui, |ui| {
                if d.set.metadata.columns().is_empty() {
                    ui.weak("no metadata columns to filter by");
                    return;
                }
                match &d.table.filter {
                    FilterSlot::NotBuilt => {
                        cmds.push(Command::Table(TableCommand::BuildFilter));
                        ui.spinner();
                    }
                    FilterSlot::Building(j) => {
                        if app.jobs.iter().any(|v| v.id == *j) {
                            ui.horizontal(|ui| {
                                ui.spinner();
                                ui.label("building the charts…");
                            });
                        } else if ui.button("Build the charts again").clicked() {
                            cmds.push(Command::Table(TableCommand::BuildFilter));
                        }
                    }
                    FilterSlot::Failed(e) => {
                        ui.colored_label(ui.visuals().error_fg_color, e);
                    }
                    FilterSlot::Ready(cf) => self.charts(cf, d.set.rows(), ui, cmds),
                }
            });
    }

    fn charts(
        &mut self,
        cf: &CrossFilter,
        rows: usize,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
    ) {
        ui.horizontal(|ui| {
            let kept = cf.view().kept;
            let text = format!("{} of {} rows", count(kept), count(rows));
            if kept == 0 {
                ui.colored_label(ui.visuals().warn_fg_color, format!("{text}: none match"));
            } else {
                ui.label(text);
            }
            if ui
                .add_enabled(cf.is_filtered(), egui::Button::new("Clear all"))
                .clicked()
            {
                cmds.push(Command::Table(TableCommand::ClearFilters));
            }
        });
        if cf.is_empty() {
            ui.weak("no columns to chart (the text column is read, not charted)");
        }
        for (i, chart) in cf.charts().enumerate() {
            ui.separator();
            ui.horizontal(|ui| {
                ui.label(RichText::new(&chart.name).strong());
                ui.weak(match chart.kind {
                    ColumnKind::Numeric => "numbers",
                    ColumnKind::Date => "dates",
                    ColumnKind::Categorical => "categories",
                });
                if cf.filter(i).is_some()
                    && ui
                        .small_button("×")
                        .on_hover_text(format!("clear the filter on {}", chart.name))
                        .clicked()
                {
                    cmds.push(Command::Table(TableCommand::ClearFilter(i)));
                }
            });
            let counts = &cf.view().counts[i];
            match chart.kind {
                ColumnKind::Numeric | ColumnKind::Date => {
                    self.histogram(i, chart, counts, cf.filter(i), ui, cmds);
                }
                ColumnKind::Categorical => {
                    self.categories(i, chart, counts, cf.filter(i), ui, cmds);
                }
            }
        }
    }

    fn histogram(
        &mut self,
        i: usize,
        chart: &ColumnChart,
        counts: &[u64],
        filter: Option<&Filter>,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
    ) {
        let bins: Vec<(f64, f64)> = chart
            .buckets
            .iter()
            .filter_map(|b| match b {
                Bucket::Bin { lo, hi } => Some((*lo, *hi)),
                _ => None,
            })
            .collect();
        if bins.is_empty() {
            return;
        }
        let nb = bins.len();
        let (rect, resp) = ui.allocate_exact_size(
            Vec2::new(ui.available_width().max(60.0), HISTOGRAM_HEIGHT),
            Sense::click_and_drag(),
        );
        let bin_at = |x: f32| -> usize {
            (((x - rect.left()) / rect.width() * nb as f32)
                .floor()
                .max(0.0) as usize)
                .min(nb - 1)
        };
        // Brushing: drag across the bars (the filter follows the drag), or click one bar.
        // The brush starts where the button went down (a drag is seen a few points later).
        if resp.drag_started()
            && let Some(p) = ui
                .input(|i| i.pointer.press_origin())
                .or(resp.interact_pointer_pos())
        {
            let b = bin_at(p.x);
            self.brush = Some((i, b, b));
        }
        let mut send: Option<(usize, usize)> = None;
        if let Some((c, a, b)) = self.brush
            && c == i
        {
            if resp.dragged()
                && let Some(p) = resp.interact_pointer_pos()
            {
                let nb_ = bin_at(p.x);
                if nb_ != b {
                    self.brush = Some((i, a, nb_));
                    send = Some((a.min(nb_), a.max(nb_)));
                }
            }
            if resp.drag_stopped() {
                send = Some((a.min(b), a.max(b)));
                self.brush = None;
            }
        }
        if resp.clicked()
            && let Some(p) = resp.interact_pointer_pos()
        {
            let b = bin_at(p.x);
            send = Some((b, b));
        }
        if let Some((a, b)) = send {
            cmds.push(Command::Table(TableCommand::SetRangeFilter {
                column: i,
                lo: bins[a].0,
                hi: bins[b].1,
            }));
        }
        let resp = resp.on_hover_text("drag across the bars to keep a range; click a bar for one");
        // Named after the hover text, which would otherwise become the accessible name.
        let name = format!("{} histogram", chart.name);
        resp.widget_info(|| egui::WidgetInfo::labeled(egui::Role::Image, true, &name));

        let painter = ui.painter_at(rect);
        let v = ui.visuals();
        painter.rect_filled(rect, 2.0, v.extreme_bg_color);
        let max = chart.totals[..nb].iter().copied().max().unwrap_or(0).max(1) as f32;
        let w = rect.width() / nb as f32;
        let total_fill = v.weak_text_color().gamma_multiply(0.35);
        let kept_fill = v.selection.bg_fill;
        let range = match filter {
            Some(Filter::Range { lo, hi }) => Some((*lo, *hi)),
            _ => None,
        };
        for (b, &(lo, hi)) in bins.iter().enumerate() {
            let x0 = rect.left() + b as f32 * w;
            let bar = |n: u64| {
                let h = (n as f32 / max * (rect.height() - 2.0)).max(if n > 0 { 1.0 } else { 0.0 });
                Rect::from_min_max(
                    Pos2::new(x0 + 0.5, rect.bottom() - h),
                    Pos2::new(x0 + w - 0.5, rect.bottom()),
                )
            };
            painter.rect_filled(bar(chart.totals[b]), 0.0, total_fill);
            let inside = range.is_none_or(|(l, h)| hi >= l && lo <= h);
            let fill = if inside {
                kept_fill
            } else {
                kept_fill.gamma_multiply(0.35)
            };
            painter.rect_filled(bar(counts[b]), 0.0, fill);
        }
        // The brush being dragged, or the range kept.
        let span = match self.brush {
            Some((c, a, b)) if c == i => Some((a.min(b), a.max(b))),
            _ => range.map(|(l, h)| {
                let first = bins.iter().position(|&(_, bhi)| bhi >= l).unwrap_or(0);
                let last = bins
                    .iter()
                    .rposition(|&(blo, _)| blo <= h)
                    .unwrap_or(nb - 1);
                (first, last.max(first))
            }),
        };
        if let Some((a, b)) = span {
            let r = Rect::from_min_max(
                Pos2::new(rect.left() + a as f32 * w, rect.top()),
                Pos2::new(rect.left() + (b + 1) as f32 * w, rect.bottom()),
            );
            painter.rect_stroke(
                r,
                1.0,
                Stroke::new(1.0, v.strong_text_color()),
                egui::StrokeKind::Inside,
            );
        }
        if let Some(p) = resp.hover_pos() {
            let b = bin_at(p.x);
            let (lo, hi) = bins[b];
            resp.clone().on_hover_text_at_pointer(format!(
                "{} – {}: {} of {}",
                value(chart, lo),
                value(chart, hi),
                count(counts[b] as usize),
                count(chart.totals[b] as usize)
            ));
        }
        ui.horizontal(|ui| {
            let (min, max) = chart.range.unwrap_or((bins[0].0, bins[nb - 1].1));
            ui.weak(format!("{} … {}", value(chart, min), value(chart, max)));
            let missing = chart.totals.get(nb).copied().unwrap_or(0);
            if missing > 0 {
                ui.weak(format!("· {} blank", count(missing as usize)));
            }
        });
        if let Some((lo, hi)) = range {
            ui.label(format!(
                "kept: {} to {}",
                value(chart, lo),
                value(chart, hi)
            ));
        }
    }

    fn categories(
        &mut self,
        i: usize,
        chart: &ColumnChart,
        counts: &[u64],
        filter: Option<&Filter>,
        ui: &mut egui::Ui,
        cmds: &mut Vec<Command>,
    ) {
        let (values, other, missing) = match filter {
            Some(Filter::Categories {
                values,
                other,
                missing,
            }) => (values.clone(), *other, *missing),
            _ => (Vec::new(), false, false),
        };
        let all = self.all_categories.contains(&i);
        let max = chart.totals.iter().copied().max().unwrap_or(0).max(1) as f32;
        let shown: Vec<usize> = (0..chart.buckets.len())
            .filter(|&b| chart.totals[b] > 0)
            .collect();
        let limit = if all { shown.len() } else { FIRST_CATEGORIES };
        for &b in shown.iter().take(limit) {
            let (name, on) = match &chart.buckets[b] {
                Bucket::Category(c) => (one(c), values.contains(c)),
                Bucket::Other { categories } => {
                    (format!("(other: {} values)", count(*categories)), other)
                }
                Bucket::Missing => ("(blank)".to_string(), missing),
                Bucket::Bin { .. } => continue,
            };
            let text = format!(
                "{name} · {} of {}",
                count(counts[b] as usize),
                count(chart.totals[b] as usize)
            );
            // A bar of the kept rows behind the label.
            let bg = ui.painter().add(egui::Shape::Noop);
            let r = ui.selectable_label(on, text).on_hover_text(if on {
                "click to drop this value from the filter"
            } else {
                "click to keep the rows with this value"
            });
            let full = r.rect.width().max(ui.available_width());
            let bar = Rect::from_min_size(
                r.rect.min,
                Vec2::new(full * counts[b] as f32 / max, r.rect.height()),
            );
            ui.painter().set(
                bg,
                egui::Shape::rect_filled(bar, 2.0, bar_color(ui.visuals())),
            );
            if r.clicked() {
                let mut values = values.clone();
                let (mut other, mut missing) = (other, missing);
                match &chart.buckets[b] {
                    Bucket::Category(c) => {
                        if let Some(k) = values.iter().position(|v| v == c) {
                            values.remove(k);
                        } else {
                            values.push(c.clone());
                        }
                    }
                    Bucket::Other { .. } => other = !other,
                    Bucket::Missing => missing = !missing,
                    Bucket::Bin { .. } => {}
                }
                cmds.push(Command::Table(if values.is_empty() && !other && !missing {
                    TableCommand::ClearFilter(i)
                } else {
                    TableCommand::SetCategoryFilter {
                        column: i,
                        values,
                        other,
                        missing,
                    }
                }));
            }
        }
        if shown.len() > FIRST_CATEGORIES {
            let label = if all {
                "show fewer".to_string()
            } else {
                format!("show all {}", shown.len())
            };
            if ui.small_button(label).clicked() {
                if all {
                    self.all_categories.retain(|&c| c != i);
                } else {
                    self.all_categories.push(i);
                }
            }
        }
    }
}

fn bar_color(v: &egui::Visuals) -> Color32 {
    v.selection.bg_fill.gamma_multiply(0.35)
}

/// A category's name on one line, shortened.
fn one(s: &str) -> String {
    crate::core::one_line(s, 40)
}

/// A number or date of a chart as text.
fn value(chart: &ColumnChart, v: f64) -> String {
    match chart.kind {
        ColumnKind::Date => {
            let span = chart.range.map_or(0.0, |(a, b)| b - a);
            format_datetime(v, span < 3.0 * 86_400.0)
        }
        _ => {
            if v == v.trunc() && v.abs() < 1e15 {
                format!("{v:.0}")
            } else if v.abs() >= 1e5 || v.abs() < 1e-3 {
                format!("{v:.3e}")
            } else {
                let s = format!("{v:.4}");
                s.trim_end_matches('0').trim_end_matches('.').to_string()
            }
        }
    }
}
