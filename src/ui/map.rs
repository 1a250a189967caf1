//! The map widget: camera (pan, zoom at the cursor, fit), hover through the spatial grid, click,
//! box and lasso selection, labels, lines to the inspected point's neighbours, the legend. Points
//! are drawn by the wgpu renderer when there is one, else by egui's painter (the fallback).

use std::collections::HashMap;
use std::sync::Arc;

use eframe::egui_wgpu;
use egui::{Color32, Pos2, Rect, Sense, Stroke, Vec2};

use super::placed;
use super::points::{self, Instance, PointsCallback};
use crate::app::colors::Legend;
use crate::app::density::MapDensity;
use crate::app::{Command, Dataset, MapView, SearchState, grid, labels};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Tool {
    #[default]
    Pan,
    Box,
    Lasso,
}

/// Camera and interaction state of one map.
pub struct MapState {
    pub id: u64,
    pub center: [f32; 2],
    /// Points (logical pixels) per map unit.
    pub zoom: f32,
    /// Refit to the points until the user moves the camera.
    pub auto_fit: bool,
    pub tool: Tool,
    drag_start: Option<Pos2>,
    lasso: Vec<Pos2>,
    /// The map version and rect size the camera was fitted to.
    fitted: u64,
    fitted_size: Vec2,
    /// Every point with its colour (flags 0), keyed by the map and the colours: rebuilt and
    /// uploaded only when those change.
    base_key: u64,
    base: Arc<Vec<Instance>>,
    /// The flagged points (search matches, neighbours, selection), drawn over the base: a
    /// selection changes only this small list, never a pass over millions of points.
    overlay_key: u64,
    overlay: Arc<Vec<Instance>>,
    /// The fallback painter's meshes (base points, then the flagged ones) and what each was
    /// built from (points, camera, rect, radius): frames that change none of those reuse them
    /// instead of a pass over up to `MAX_CPU_POINTS` points, and a new selection rebuilds only
    /// the small flagged mesh.
    fallback_keys: [u64; 2],
    fallback: [Arc<egui::Mesh>; 2],
    last_search: u64,
    pub hovered: Option<usize>,
    /// Seconds the last hover lookup took.
    pub hover_seconds: f64,
    pub rect: Rect,
}

impl MapState {
    pub fn new(id: u64) -> Self {
        MapState {
            id,
            center: [0.0, 0.0],
            zoom: 1.0,
            auto_fit: true,
            tool: Tool::Pan,
            drag_start: None,
            lasso: Vec::new(),
            fitted: 0,
            fitted_size: Vec2::ZERO,
            base_key: u64::MAX,
            base: Arc::new(Vec::new()),
            overlay_key: u64::MAX,
            overlay: Arc::new(Vec::new()),
            fallback_keys: [u64::MAX; 2],
            fallback: [
                Arc::new(egui::Mesh::default()),
                Arc::new(egui::Mesh::default()),
            ],
            last_search: 0,
            hovered: None,
            hover_seconds: 0.0,
            rect: Rect::NOTHING,
        }
    }

    pub fn to_screen(&self, rect: Rect, p: [f32; 2]) -> Pos2 {
        let c = rect.center();
        Pos2::new(
            c.x + (p[0] - self.center[0]) * self.zoom,
            c.y - (p[1] - self.center[1]) * self.zoom,
        )
    }

    pub fn to_map(&self, rect: Rect, s: Pos2) -> [f32; 2] {
        let c = rect.center();
        [
            self.center[0] + (s.x - c.x) / self.zoom,
            self.center[1] - (s.y - c.y) / self.zoom,
        ]
    }

    /// Centres and zooms so that `lo..hi` fills the rect (with a margin).
    pub fn fit(&mut self, rect: Rect, lo: [f32; 2], hi: [f32; 2]) {
        let w = (hi[0] - lo[0]).max(1e-6);
        let h = (hi[1] - lo[1]).max(1e-6);
        self.center = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
        self.zoom = ((rect.width() / w).min(rect.height() / h) * 0.9).max(1e-6);
    }
}

/// What the map needs besides the data set.
pub struct MapInput<'a> {
    pub dataset: &'a Dataset,
    pub search: &'a SearchState,
    pub neighbours: &'a [(usize, f32)],
    pub render_state: Option<&'a egui_wgpu::RenderState>,
    pub point_size: f32,
    pub dark: bool,
    /// Cluster names drawn on the map (when the map has clusters).
    pub cluster_labels: bool,
    /// The density contours drawn over the points (the layer on, made on this map).
    pub density: Option<&'a MapDensity>,
    /// Every text drawn on the map (labels, cluster names, legend) masked and no tooltip: a
    /// PNG export with redaction on is waiting for its screenshot.
    pub mask_text: bool,
}

/// A text as the map draws it: masked where `input` asks for it.
fn shown<'t>(t: &'t str, input: &MapInput) -> std::borrow::Cow<'t, str> {
    crate::app::privacy::masked(t, input.mask_text)
}

fn base_key(d: &Dataset, m: &MapView) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    m.version.hash(&mut h);
    m.coords.len().hash(&mut h);
    format!("{:?}", d.color).hash(&mut h);
    (d.colors.as_ptr() as usize).hash(&mut h);
    d.table.version.hash(&mut h);
    h.finish()
}

fn overlay_key(d: &Dataset, m: &MapView, s: &SearchState, nb: &[(usize, f32)]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    base_key(d, m).hash(&mut h);
    d.selection.hash(&mut h);
    s.generation.hash(&mut h);
    s.matches.len().hash(&mut h);
    for (r, _) in nb {
        r.hash(&mut h);
    }
    h.finish()
}

/// Every point of the map with its colour, unflagged; the rows the metadata filter leaves out
/// faded (public for the filter benchmark).
pub fn build_base(d: &Dataset, m: &MapView) -> Vec<Instance> {
    let kept = d.table.kept();
    m.coords
        .iter()
        .zip(&m.rows)
        .map(|(p, &r)| {
            let mut c = d.colors[r as usize];
            if kept.is_some_and(|k| !k.contains(r as usize)) {
                c[3] = (f32::from(c[3]) * FILTERED_OUT_ALPHA) as u8;
            }
            Instance {
                pos: *p,
                color: points::pack(c),
                flags: 0,
            }
        })
        .collect()
}

/// Opacity of the points the metadata filter leaves out, relative to their colour's.
const FILTERED_OUT_ALPHA: f32 = 0.12;

/// The flagged points with their flags: matches and neighbours first, the selection on top.
fn build_overlay(d: &Dataset, m: &MapView, s: &SearchState, nb: &[(usize, f32)]) -> Vec<Instance> {
    let mut flags: HashMap<usize, u32> = HashMap::new();
    for &r in &s.matches {
        *flags.entry(r).or_default() |= points::MATCH;
    }
    for (r, _) in nb {
        *flags.entry(*r).or_default() |= points::NEIGHBOUR;
    }
    for &r in &d.selection {
        *flags.entry(r).or_default() |= points::SELECTED;
    }
    let mut out: Vec<(bool, u32, Instance)> = flags
        .into_iter()
        .filter_map(|(r, f)| {
            let p = *m.point_of_row.get(r)?;
            (p != u32::MAX).then(|| {
                (
                    f & points::SELECTED != 0,
                    p,
                    Instance {
                        pos: m.coords[p as usize],
                        color: points::pack(d.colors[r]),
                        flags: f,
                    },
                )
            })
        })
        .collect();
    out.sort_unstable_by_key(|(sel, p, _)| (*sel, *p));
    out.into_iter().map(|(_, _, i)| i).collect()
}

/// The base points then the flagged ones (drawn in this order).
fn all_instances(st: &MapState) -> impl Iterator<Item = &Instance> {
    base_sample(st).chain(st.overlay.iter())
}

/// The base points drawn without the GPU renderer: every one up to `MAX_CPU_POINTS`, an even
/// sample beyond.
fn base_sample(st: &MapState) -> impl Iterator<Item = &Instance> {
    let step = st.base.len().div_ceil(MAX_CPU_POINTS).max(1);
    st.base.iter().step_by(step)
}

/// Most base points drawn without the GPU renderer (fallback painter, SVG).
const MAX_CPU_POINTS: usize = 200_000;

/// Draws the map and turns the user's input into commands.
pub fn show(ui: &mut egui::Ui, st: &mut MapState, input: &MapInput, cmds: &mut Vec<Command>) {
    let d = input.dataset;
    let (rect, response) = ui.allocate_exact_size(ui.available_size(), Sense::click_and_drag());
    st.rect = rect;
    let painter = ui.painter_at(rect);
    let bg = if input.dark {
        Color32::from_gray(18)
    } else {
        Color32::from_gray(250)
    };
    painter.rect_filled(rect, 0.0, bg);
    let Some(m) = &d.map else {
        painter.text(
            rect.center(),
            egui::Align2::CENTER_CENTER,
            if d.map_job.is_some() {
                "computing the map…"
            } else {
                "no map yet: run a projection"
            },
            egui::FontId::proportional(16.0),
            ui.visuals().weak_text_color(),
        );
        return;
    };
    // Camera: fit new maps (and t-SNE frames until the user takes over).
    if (st.auto_fit && (st.fitted != m.version || st.fitted_size != rect.size())) || st.fitted == 0
    {
        if let Some((lo, hi)) = robust_bounds(&m.coords) {
            st.fit(rect, lo, hi);
        }
        st.fitted = m.version;
        st.fitted_size = rect.size();
    }
    // Centre on new search matches.
    if input.search.generation != st.last_search {
        st.last_search = input.search.generation;
        let pts: Vec<[f32; 2]> = input
            .search
            .matches
            .iter()
            .filter_map(|&r| m.position(r))
            .collect();
        if let Some((lo, hi)) = grid::bounds(&pts) {
            st.center = [(lo[0] + hi[0]) / 2.0, (lo[1] + hi[1]) / 2.0];
            if pts.len() == 1 {
                st.zoom = st
                    .zoom
                    .max(rect.width() / 4.0 / map_span(m).max(1e-6) * 8.0);
            }
            st.auto_fit = false;
        }
    }
    let (ctrl, shift) = ui.input(|i| (i.modifiers.command, i.modifiers.shift));
    // Zoom at the cursor.
    if response.hovered() {
        let scroll = ui.input(|i| i.smooth_scroll_delta.y + i.zoom_delta().ln() * 200.0);
        if scroll.abs() > 0.0
            && let Some(pos) = response.hover_pos()
        {
            let before = st.to_map(rect, pos);
            st.zoom = (st.zoom * (scroll / 200.0).exp()).clamp(1e-6, 1e9);
            let after = st.to_map(rect, pos);
            st.center[0] += before[0] - after[0];
            st.center[1] += before[1] - after[1];
            st.auto_fit = false;
        }
    }
    let tool = if shift && st.tool == Tool::Pan {
        Tool::Box
    } else {
        st.tool
    };
    if response.drag_started() {
        st.drag_start = response.interact_pointer_pos();
        st.lasso.clear();
    }
    if response.dragged() {
        match tool {
            Tool::Pan => {
                let dlt = response.drag_delta();
                st.center[0] -= dlt.x / st.zoom;
                st.center[1] += dlt.y / st.zoom;
                st.auto_fit = false;
            }
            Tool::Lasso => {
                if let Some(p) = response.interact_pointer_pos()
                    && st.lasso.last().is_none_or(|l| l.distance(p) > 3.0)
                {
                    st.lasso.push(p);
                }
            }
            Tool::Box => {}
        }
    }
    if response.drag_stopped() {
        let add = ctrl;
        match (tool, st.drag_start, response.interact_pointer_pos()) {
            (Tool::Box, Some(a), Some(b)) => {
                let pa = st.to_map(rect, a);
                let pb = st.to_map(rect, b);
                let rows = m
                    .grid
                    .in_rect(&m.coords, pa, pb)
                    .into_iter()
                    .map(|i| m.rows[i] as usize)
                    .collect();
                cmds.push(Command::SelectRows { rows, add });
            }
            (Tool::Lasso, _, _) if st.lasso.len() > 2 => {
                let poly: Vec<[f32; 2]> = st.lasso.iter().map(|p| st.to_map(rect, *p)).collect();
                let rows = m
                    .grid
                    .in_polygon(&m.coords, &poly)
                    .into_iter()
                    .map(|i| m.rows[i] as usize)
                    .collect();
                cmds.push(Command::SelectRows { rows, add });
            }
            _ => {}
        }
        st.drag_start = None;
        st.lasso.clear();
    }
    // Hover: nearest point within 8 pixels, through the grid.
    st.hovered = None;
    if let Some(pos) = response.hover_pos() {
        let t = std::time::Instant::now();
        st.hovered = m.row_at(st.to_map(rect, pos), 8.0 / st.zoom);
        st.hover_seconds = t.elapsed().as_secs_f64();
    }
    if response.clicked() {
        match st.hovered {
            Some(row) => cmds.push(Command::Select { row, add: ctrl }),
            None if !ctrl => cmds.push(Command::ClearSelection),
            None => {}
        }
    }
    if response.double_clicked()
        && let Some((lo, hi)) = robust_bounds(&m.coords)
    {
        st.fit(rect, lo, hi);
        st.auto_fit = true;
    }

    // Points.
    let key = base_key(d, m);
    if key != st.base_key {
        st.base = Arc::new(build_base(d, m));
        st.base_key = key;
    }
    let okey = overlay_key(d, m, input.search, input.neighbours);
    if okey != st.overlay_key {
        st.overlay = Arc::new(build_overlay(d, m, input.search, input.neighbours));
        st.overlay_key = okey;
    }
    let dim = !input.search.matches.is_empty() || !d.selection.is_empty();
    let radius = input.point_size.max(0.5);
    match input.render_state {
        Some(_) => {
            let cb = PointsCallback {
                map_id: st.id,
                key,
                instances: st.base.clone(),
                overlay_key: okey,
                overlay: st.overlay.clone(),
                center: st.center,
                zoom: st.zoom,
                size: [rect.width(), rect.height()],
                pixels_per_point: ui.ctx().pixels_per_point(),
                radius_points: radius,
                dim_unflagged: dim,
            };
            painter.add(egui_wgpu::Callback::new_paint_callback(rect, cb));
        }
        None => paint_fallback(&painter, rect, st, radius, dim),
    }
    if let Some(c) = input.density {
        draw_density(&painter, rect, st, c, input.dark);
    }

    // Lines from the inspected point to its neighbours.
    let line = if input.dark {
        Color32::from_rgba_unmultiplied(255, 220, 120, 110)
    } else {
        Color32::from_rgba_unmultiplied(200, 120, 0, 140)
    };
    if let Some(p) = d.primary().and_then(|r| m.position(r)) {
        let a = st.to_screen(rect, p);
        for (r, _) in input.neighbours {
            if let Some(q) = m.position(*r) {
                painter.line_segment([a, st.to_screen(rect, q)], Stroke::new(1.0, line));
            }
        }
    }
    let placed_hover = m
        .placed
        .as_ref()
        .and_then(|p| placed::draw(&painter, ui, rect, st, p, radius, response.hover_pos()));
    draw_labels(ui, &painter, rect, st, input, m);
    // Selection shapes being drawn.
    let sel = Stroke::new(1.0, ui.visuals().selection.stroke.color);
    if let (Tool::Box, Some(a), Some(b)) = (tool, st.drag_start, response.interact_pointer_pos()) {
        painter.rect_stroke(Rect::from_two_pos(a, b), 0.0, sel, egui::StrokeKind::Middle);
    }
    if st.lasso.len() > 1 {
        painter.add(egui::Shape::line(st.lasso.clone(), sel));
    }
    draw_legend(&painter, rect, &d.legend, ui.visuals(), input);
    // Tooltip of the hovered point (none in a masked screenshot).
    let hover_pos = response.hover_pos().filter(|_| !input.mask_text);
    match (st.hovered, placed_hover, hover_pos) {
        (Some(row), _, Some(pos)) => tooltip(&painter, ui, pos, d, row),
        (None, Some(i), Some(pos)) => {
            if let Some(p) = &m.placed {
                placed::tooltip(&painter, ui, pos, p, i);
            }
        }
        _ => {}
    }
}

/// The density contours, over the points and under the labels: thin lines, the denser levels
/// more opaque (and the densest a little wider); light on the dark theme, dark on the light one.
fn draw_density(painter: &egui::Painter, rect: Rect, st: &MapState, c: &MapDensity, dark: bool) {
    let n = c.levels.len();
    // Levels come densest first: draw the outer ones first, the denser over them.
    for (k, level) in c.levels.iter().enumerate().rev() {
        let dense = if n > 1 {
            1.0 - k as f32 / (n - 1) as f32
        } else {
            1.0
        };
        let alpha = (70.0 + 160.0 * dense) as u8;
        let color = if dark {
            Color32::from_rgba_unmultiplied(235, 240, 255, alpha)
        } else {
            Color32::from_rgba_unmultiplied(20, 30, 70, alpha)
        };
        let stroke = Stroke::new(if k == 0 { 1.5 } else { 1.0 }, color);
        for line in &level.lines {
            let pts: Vec<Pos2> = line.points.iter().map(|p| st.to_screen(rect, *p)).collect();
            if pts.len() < 2 || !Rect::from_points(&pts).intersects(rect) {
                continue;
            }
            painter.add(if line.closed {
                egui::Shape::closed_line(pts, stroke)
            } else {
                egui::Shape::line(pts, stroke)
            });
        }
    }
}

/// Bounds of the central 99.8% of the points on each axis (a few outliers do not shrink the map).
pub fn robust_bounds(points: &[[f32; 2]]) -> Option<([f32; 2], [f32; 2])> {
    if points.len() < 200 {
        return grid::bounds(points);
    }
    let mut lo = [0f32; 2];
    let mut hi = [0f32; 2];
    for axis in 0..2 {
        let mut v: Vec<f32> = points
            .iter()
            .map(|p| p[axis])
            .filter(|x| x.is_finite())
            .collect();
        if v.is_empty() {
            return None;
        }
        let n = v.len();
        let a = n / 1000;
        let b = n - 1 - n / 1000;
        v.select_nth_unstable_by(a, f32::total_cmp);
        lo[axis] = v[a];
        v.select_nth_unstable_by(b, f32::total_cmp);
        hi[axis] = v[b];
    }
    Some((lo, hi))
}

fn map_span(m: &MapView) -> f32 {
    grid::bounds(&m.coords).map_or(1.0, |(lo, hi)| (hi[0] - lo[0]).max(hi[1] - lo[1]))
}

/// egui's painter as the renderer where wgpu is not available: one small quad per visible
/// point (at most `MAX_FALLBACK` points, a stated sample beyond).
fn paint_fallback(painter: &egui::Painter, rect: Rect, st: &mut MapState, radius: f32, dim: bool) {
    use std::hash::{Hash, Hasher};
    let camera = |points: u64| {
        let mut h = std::collections::hash_map::DefaultHasher::new();
        (points, dim).hash(&mut h);
        for v in [
            st.center[0],
            st.center[1],
            st.zoom,
            radius,
            rect.min.x,
            rect.min.y,
            rect.max.x,
            rect.max.y,
        ] {
            v.to_bits().hash(&mut h);
        }
        h.finish()
    };
    let keys = [camera(st.base_key), camera(st.overlay_key)];
    for (part, &key) in keys.iter().enumerate() {
        if key == st.fallback_keys[part] {
            continue;
        }
        let mut mesh = egui::Mesh::default();
        let instances: Box<dyn Iterator<Item = &Instance>> = if part == 0 {
            Box::new(base_sample(st))
        } else {
            Box::new(st.overlay.iter())
        };
        for inst in instances {
            let p = st.to_screen(rect, inst.pos);
            if !rect.expand(radius).contains(p) {
                continue;
            }
            let [r, g, b, a] = inst.color.to_le_bytes();
            let a = if dim && inst.flags == 0 {
                (a as f32 * 0.18) as u8
            } else {
                a
            };
            let grow = if inst.flags & points::SELECTED != 0 {
                2.2
            } else if inst.flags != 0 {
                1.6
            } else {
                1.0
            };
            let c = Color32::from_rgba_unmultiplied(r, g, b, a);
            mesh.add_colored_rect(
                Rect::from_center_size(p, Vec2::splat(2.0 * radius * grow)),
                c,
            );
        }
        st.fallback[part] = Arc::new(mesh);
        st.fallback_keys[part] = key;
    }
    for mesh in &st.fallback {
        painter.add(egui::Shape::Mesh(mesh.clone()));
    }
}

fn draw_labels(
    ui: &egui::Ui,
    painter: &egui::Painter,
    rect: Rect,
    st: &MapState,
    input: &MapInput,
    m: &MapView,
) {
    const MAX_LABELS: usize = 120;
    const MAX_CANDIDATES: usize = 3000;
    let d = input.dataset;
    let font = egui::FontId::proportional(12.0);
    // Cluster names first; then the points' labels around them.
    let occupied = if input.cluster_labels {
        draw_cluster_labels(ui, painter, rect, st, input, m)
    } else {
        Vec::new()
    };
    let mut rows: Vec<usize> = d.selection.iter().rev().copied().collect();
    let forced = rows.len().min(50);
    rows.truncate(forced);
    rows.extend(input.neighbours.iter().map(|(r, _)| *r));
    rows.extend(input.search.matches.iter().take(50));
    // Then the most frequent tokens (row order) that are in view, unless cluster names say
    // what the regions are.
    let fill = occupied.is_empty();
    // Rows the metadata filter leaves out (faded) are not named.
    let kept = d.table.kept();
    for r in 0..d.set.rows().min(200_000) {
        if !fill {
            break;
        }
        if rows.len() >= MAX_CANDIDATES {
            break;
        }
        if let Some(p) = m.position(r)
            && kept.is_none_or(|k| k.contains(r))
            && rect.contains(st.to_screen(rect, p))
        {
            rows.push(r);
        }
    }
    let mut boxes = occupied.clone();
    let mut placed = Vec::new();
    let width = |t: &str| t.chars().count() as f32 * 6.6 + 4.0;
    for &r in &rows {
        let Some(p) = m.position(r) else {
            continue;
        };
        let s = st.to_screen(rect, p);
        if !rect.contains(s) {
            continue;
        }
        let t = d.label_masked(r, LABEL_CHARS, input.mask_text);
        let x0 = s.x + 4.0;
        boxes.push([x0, s.y - 8.0, x0 + width(&t), s.y + 8.0]);
        placed.push((r, s, t));
    }
    let forced_in_view = placed
        .iter()
        .take_while(|(r, _, _)| d.selection.contains(r))
        .count()
        .min(forced);
    // The cluster names' boxes lead, kept as they are; a point's label never covers one.
    let skip = occupied.len();
    let kept: Vec<usize> = labels::place(&boxes, skip + forced_in_view, skip + MAX_LABELS)
        .into_iter()
        .filter(|&i| i >= skip)
        .map(|i| i - skip)
        .collect();
    let strong = ui.visuals().strong_text_color();
    let weak = ui.visuals().text_color();
    let shadow = if input.dark {
        Color32::from_black_alpha(150)
    } else {
        Color32::from_white_alpha(170)
    };
    for i in kept {
        let (r, s, t) = placed[i].clone();
        let color = if d.selection.contains(&r) {
            strong
        } else {
            weak
        };
        let pos = Pos2::new(s.x + 4.0, s.y);
        let galley = painter.layout_no_wrap(t, font.clone(), color);
        let plate = Rect::from_min_size(
            Pos2::new(pos.x - 1.0, pos.y - galley.size().y / 2.0),
            galley.size() + Vec2::new(2.0, 0.0),
        );
        // A translucent plate keeps labels readable over dense points.
        painter.rect_filled(plate, 2.0, shadow);
        painter.galley(Pos2::new(pos.x, plate.top()), galley, color);
    }
}

/// Draws the names of the map's clusters at their centres, without overlap: the fine level, or
/// the coarser one when too few fine names fit (zoomed out). Returns the boxes drawn.
fn draw_cluster_labels(
    ui: &egui::Ui,
    painter: &egui::Painter,
    rect: Rect,
    st: &MapState,
    input: &MapInput,
    m: &MapView,
) -> Vec<labels::Rect> {
    const MAX: usize = 60;
    let Some(c) = input
        .dataset
        .map_clusters
        .as_ref()
        .filter(|c| c.map_version == m.version)
    else {
        return Vec::new();
    };
    let font = egui::FontId::proportional(14.0);
    let layout = |level: &crate::app::clusters::LevelView| {
        // Larger clusters first: they win the space.
        let mut order: Vec<&crate::app::clusters::ClusterInfo> = level
            .clusters
            .iter()
            .filter(|k| !k.summary.label.is_empty())
            .collect();
        order.sort_by_key(|k| std::cmp::Reverse(k.summary.size));
        let mut boxes = Vec::new();
        let mut items = Vec::new();
        for k in order {
            let s = st.to_screen(rect, k.centre);
            if !rect.contains(s) {
                continue;
            }
            let galley = painter.layout_no_wrap(
                shown(&k.summary.label, input).into_owned(),
                font.clone(),
                ui.visuals().strong_text_color(),
            );
            let size = galley.size() + Vec2::new(8.0, 4.0);
            let r = Rect::from_center_size(s, size);
            boxes.push([r.left(), r.top(), r.right(), r.bottom()]);
            items.push((r, galley));
        }
        let kept = labels::place(&boxes, 0, MAX);
        (boxes, items, kept)
    };
    let (mut boxes, mut items, mut kept) = layout(&c.fine);
    if let Some(coarse) = &c.coarse
        && items.len() > 2
        && (kept.len() as f32) < 0.6 * items.len() as f32
    {
        (boxes, items, kept) = layout(coarse);
    }
    let plate = if input.dark {
        Color32::from_black_alpha(190)
    } else {
        Color32::from_white_alpha(215)
    };
    let mut out = Vec::with_capacity(kept.len());
    for i in kept {
        let (r, galley) = items[i].clone();
        painter.rect_filled(r, 4.0, plate);
        painter.galley(
            r.min + Vec2::new(4.0, 2.0),
            galley,
            ui.visuals().strong_text_color(),
        );
        out.push(boxes[i]);
    }
    out
}

fn draw_legend(
    painter: &egui::Painter,
    rect: Rect,
    legend: &Legend,
    v: &egui::Visuals,
    input: &MapInput,
) {
    let font = egui::FontId::proportional(11.0);
    let bg = v.extreme_bg_color.gamma_multiply(0.85);
    match legend {
        Legend::None => {}
        Legend::Categories(items) => {
            let h = 16.0 * items.len() as f32 + 8.0;
            let r = Rect::from_min_size(
                Pos2::new(rect.right() - 190.0, rect.top() + 8.0),
                Vec2::new(182.0, h),
            );
            painter.rect_filled(r, 4.0, bg);
            for (i, (name, c, count)) in items.iter().enumerate() {
                let y = r.top() + 12.0 + 16.0 * i as f32;
                painter.circle_filled(
                    Pos2::new(r.left() + 10.0, y),
                    4.5,
                    Color32::from_rgba_unmultiplied(c[0], c[1], c[2], c[3]),
                );
                let mut label: String = shown(name, input).chars().take(18).collect();
                label.push_str(&format!(" ({count})"));
                painter.text(
                    Pos2::new(r.left() + 20.0, y),
                    egui::Align2::LEFT_CENTER,
                    label,
                    font.clone(),
                    v.text_color(),
                );
            }
        }
        Legend::Ramp { label, min, max } => {
            let r = Rect::from_min_size(
                Pos2::new(rect.right() - 190.0, rect.top() + 8.0),
                Vec2::new(182.0, 44.0),
            );
            painter.rect_filled(r, 4.0, bg);
            painter.text(
                Pos2::new(r.left() + 8.0, r.top() + 10.0),
                egui::Align2::LEFT_CENTER,
                shown(label, input),
                font.clone(),
                v.text_color(),
            );
            let bar = Rect::from_min_size(
                Pos2::new(r.left() + 8.0, r.top() + 18.0),
                Vec2::new(166.0, 8.0),
            );
            let mut mesh = egui::Mesh::default();
            for i in 0..32 {
                let t0 = i as f32 / 32.0;
                let c = crate::app::colors::ramp(t0 + 1.0 / 64.0);
                let x0 = bar.left() + bar.width() * t0;
                mesh.add_colored_rect(
                    Rect::from_min_max(
                        Pos2::new(x0, bar.top()),
                        Pos2::new(x0 + bar.width() / 32.0 + 0.5, bar.bottom()),
                    ),
                    Color32::from_rgb(c[0], c[1], c[2]),
                );
            }
            painter.add(egui::Shape::mesh(mesh));
            for (x, v_, align) in [
                (bar.left(), *min, egui::Align2::LEFT_CENTER),
                (bar.right(), *max, egui::Align2::RIGHT_CENTER),
            ] {
                painter.text(
                    Pos2::new(x, r.bottom() - 8.0),
                    align,
                    format!("{v_:.3}"),
                    font.clone(),
                    v.text_color(),
                );
            }
        }
    }
}

/// Characters of a label on the map (a document's first words).
const LABEL_CHARS: usize = 32;

fn tooltip(painter: &egui::Painter, ui: &egui::Ui, pos: Pos2, d: &Dataset, row: usize) {
    tooltip_box(painter, ui, pos, d.hover_lines(row));
}

pub(super) fn tooltip_box(painter: &egui::Painter, ui: &egui::Ui, pos: Pos2, lines: Vec<String>) {
    let font = egui::FontId::proportional(12.0);
    let galley = painter.layout_no_wrap(lines.join("\n"), font, ui.visuals().text_color());
    let r = Rect::from_min_size(
        pos + Vec2::new(14.0, 14.0),
        galley.size() + Vec2::splat(10.0),
    );
    let r = r.translate(Vec2::new(
        (painter.clip_rect().right() - r.right()).min(0.0),
        (painter.clip_rect().bottom() - r.bottom()).min(0.0),
    ));
    painter.rect_filled(r, 4.0, ui.visuals().extreme_bg_color);
    painter.rect_stroke(r, 4.0, ui.visuals().window_stroke, egui::StrokeKind::Inside);
    painter.galley(r.min + Vec2::splat(5.0), galley, ui.visuals().text_color());
}

/// The map as SVG: visible points (at most 200,000) as circles, labels of the selection
/// (personal data in them masked when `redact`).
pub fn svg(st: &MapState, d: &Dataset, dark: bool, redact: bool) -> String {
    let rect = st.rect;
    let (w, h) = (rect.width().max(1.0), rect.height().max(1.0));
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w:.0}\" height=\"{h:.0}\" viewBox=\"0 0 {w:.0} {h:.0}\">\n<rect width=\"100%\" height=\"100%\" fill=\"{}\"/>\n",
        if dark { "#121212" } else { "#fafafa" }
    );
    for inst in all_instances(st) {
        let p = st.to_screen(rect, inst.pos) - rect.min.to_vec2();
        if p.x < 0.0 || p.y < 0.0 || p.x > w || p.y > h {
            continue;
        }
        let [r, g, b, a] = inst.color.to_le_bytes();
        let rad = if inst.flags & points::SELECTED != 0 {
            5.0
        } else {
            2.5
        };
        out.push_str(&format!(
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"{rad}\" fill=\"rgb({r},{g},{b})\" fill-opacity=\"{:.2}\"/>\n",
            p.x,
            p.y,
            a as f32 / 255.0
        ));
    }
    if let Some(m) = &d.map {
        for &r in &d.selection {
            if let Some(p) = m.position(r) {
                let s = st.to_screen(rect, p) - rect.min.to_vec2();
                out.push_str(&format!(
                    "<text x=\"{:.1}\" y=\"{:.1}\" font-family=\"sans-serif\" font-size=\"12\" fill=\"{}\">{}</text>\n",
                    s.x + 6.0,
                    s.y + 4.0,
                    if dark { "#eeeeee" } else { "#111111" },
                    xml_escape(&d.label_masked(r, LABEL_CHARS, redact))
                ));
            }
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Escapes text for XML; control and bidirectional characters become visible escapes (the
/// report writers' escaper).
pub fn xml_escape(s: &str) -> String {
    crate::report::escape::xml(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One frame of the fallback painter; the meshes it holds afterwards.
    fn paint(st: &mut MapState, dim: bool) -> [Arc<egui::Mesh>; 2] {
        let ctx = egui::Context::default();
        let rect = Rect::from_min_size(Pos2::ZERO, Vec2::new(400.0, 300.0));
        let mut out = ctx.run_ui(egui::RawInput::default(), |ui| {
            let painter = ui.painter_at(rect);
            paint_fallback(&painter, rect, st, 2.0, dim);
        });
        // No renderer here to take the font atlas.
        out.textures_delta.clear();
        st.fallback.clone()
    }

    #[test]
    fn fallback_meshes_are_kept_until_their_inputs_change() {
        let mut st = MapState::new(1);
        st.zoom = 10.0;
        let inst = |x: f32, flags: u32| Instance {
            pos: [x, 0.0],
            color: 0xff00_00ff,
            flags,
        };
        st.base = Arc::new((0..100).map(|i| inst(i as f32 * 0.1, 0)).collect());
        st.base_key = 7;
        st.overlay_key = 8;
        let first = paint(&mut st, false);
        assert_eq!(first[0].vertices.len(), 4 * 100);
        assert!(first[1].vertices.is_empty());
        // Nothing changed: the same meshes, not rebuilt.
        let again = paint(&mut st, false);
        assert!(Arc::ptr_eq(&first[0], &again[0]) && Arc::ptr_eq(&first[1], &again[1]));
        // A new flagged list (a selection): only the flagged mesh is rebuilt.
        st.overlay = Arc::new(vec![inst(0.5, points::SELECTED)]);
        st.overlay_key = 9;
        let selected = paint(&mut st, false);
        assert!(Arc::ptr_eq(&first[0], &selected[0]));
        assert_eq!(selected[1].vertices.len(), 4);
        // Dimming, a camera move, new base points: the base mesh is rebuilt.
        let dimmed = paint(&mut st, true);
        assert!(!Arc::ptr_eq(&selected[0], &dimmed[0]));
        st.center[0] += 1.0;
        let moved = paint(&mut st, true);
        assert!(!Arc::ptr_eq(&dimmed[0], &moved[0]) && !Arc::ptr_eq(&dimmed[1], &moved[1]));
        st.base = Arc::new(vec![inst(0.0, 0)]);
        st.base_key = 10;
        let rebuilt = paint(&mut st, true);
        assert_eq!(rebuilt[0].vertices.len(), 4);
        assert!(Arc::ptr_eq(&moved[1], &rebuilt[1]));
    }

    #[test]
    fn xml_escape_neutralises_markup_and_shows_controls() {
        assert_eq!(
            xml_escape("<script>alert(\"x\")</script> & 'q'"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; &apos;q&apos;"
        );
        assert_eq!(xml_escape("a\u{202e}b\nc"), "a\\u{202e}b\\nc");
    }

    #[test]
    fn robust_bounds_ignore_a_few_outliers() {
        let mut pts: Vec<[f32; 2]> = (0..1000)
            .map(|i| [(i % 100) as f32, (i / 100) as f32])
            .collect();
        pts.push([1e6, -1e6]);
        let (lo, hi) = robust_bounds(&pts).expect("bounds");
        assert!(hi[0] < 100.0 && lo[1] > -1.0, "{lo:?} {hi:?}");
        assert_eq!(robust_bounds(&[]), None);
    }
}
