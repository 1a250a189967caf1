//! Rows of another set placed onto a map: drawn over it in their own colour with egui's
//! painter, a key in the corner, the token on hover.

use egui::{Color32, Pos2, Rect, Stroke, Vec2};

use super::map::MapState;
use crate::app::PlacedRows;

/// The colour of rows placed from another set.
const PLACED: Color32 = Color32::from_rgb(230, 60, 170);

/// Draws rows placed from another set over the map (those in view), with a key in the lower
/// left corner; returns the one under the cursor (within 8 pixels), if any.
pub fn draw(
    painter: &egui::Painter,
    ui: &egui::Ui,
    rect: Rect,
    st: &MapState,
    p: &PlacedRows,
    radius: f32,
    hover: Option<Pos2>,
) -> Option<usize> {
    let r = (radius * 1.3).max(2.0);
    let outline = Stroke::new(1.0, ui.visuals().extreme_bg_color);
    let mut best: Option<(usize, f32)> = None;
    for (i, &c) in p.coords.iter().enumerate() {
        let s = st.to_screen(rect, c);
        if !rect.expand(r).contains(s) {
            continue;
        }
        painter.circle(s, r, PLACED, outline);
        if let Some(h) = hover {
            let dd = h.distance(s);
            if dd <= 8.0 && best.is_none_or(|(_, b)| dd < b) {
                best = Some((i, dd));
            }
        }
    }
    let key = format!("● {} rows of {} ({})", p.coords.len(), p.from_name, p.how);
    painter.text(
        rect.left_bottom() + Vec2::new(8.0, -8.0),
        egui::Align2::LEFT_BOTTOM,
        key,
        egui::FontId::proportional(12.0),
        PLACED,
    );
    best.map(|(i, _)| i)
}

pub fn tooltip(painter: &egui::Painter, ui: &egui::Ui, pos: Pos2, p: &PlacedRows, i: usize) {
    let lines = vec![
        p.tokens.get(i).cloned().unwrap_or_default(),
        format!("placed from {}", p.from_name),
    ];
    super::map::tooltip_box(painter, ui, pos, lines);
}
