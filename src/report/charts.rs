//! The report's charts, drawn by `plotters` into SVG text (no fonts read: the viewer renders
//! the text; plotters escapes it). Every chart is a pure function of the report's numbers, so
//! the same report gives the same bytes.

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::escape::visible;
use super::{BiasSection, DriftPair, Maps, Measures, ReportError};

const FONT: &str = "sans-serif";
/// Colours of versions A, B, C, ... (colour-blind-safe Okabe-Ito hues).
const PALETTE: [RGBColor; 7] = [
    RGBColor(0, 114, 178),
    RGBColor(230, 159, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(213, 94, 0),
    RGBColor(240, 228, 66),
];
const LABEL_RED: RGBColor = RGBColor(200, 30, 30);

pub fn version_colour(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

fn chart_err<E: std::fmt::Display>(e: E) -> ReportError {
    ReportError::Chart(e.to_string())
}

/// A label for a chart: hazards visible, at most `n` characters.
fn short_label(s: &str, n: usize) -> String {
    let v = visible(s);
    if v.chars().count() <= n {
        v.into_owned()
    } else {
        let mut t: String = v.chars().take(n.saturating_sub(1)).collect();
        t.push('~');
        t
    }
}

fn padded_range(values: impl Iterator<Item = f32>) -> (f32, f32) {
    let (mut lo, mut hi) = (f32::INFINITY, f32::NEG_INFINITY);
    for v in values.filter(|v| v.is_finite()) {
        lo = lo.min(v);
        hi = hi.max(v);
    }
    if !lo.is_finite() || !hi.is_finite() {
        return (-1.0, 1.0);
    }
    let pad = ((hi - lo) * 0.05).max(1e-6);
    (lo - pad, hi + pad)
}

/// Version `v`'s map: the drawn words as grey dots, the labelled words in red with their
/// names. Every version's map shares the same axes ranges, so positions compare directly.
pub fn map_svg(maps: &Maps, v: usize) -> Result<String, ReportError> {
    let all = maps
        .points
        .iter()
        .flatten()
        .chain(maps.labelled.iter().flat_map(|w| w.positions.iter()));
    let (x0, x1) = padded_range(all.clone().map(|p| p[0]));
    let (y0, y1) = padded_range(all.map(|p| p[1]));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (460, 400)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let name = maps.versions.get(v).map_or("", String::as_str);
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{}: {}",
                    super::label(v),
                    short_label(&super::fmt::file_name(name), 40)
                ),
                (FONT, 16),
            )
            .margin(8)
            .x_label_area_size(24)
            .y_label_area_size(36)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .label_style((FONT, 10))
            .x_labels(5)
            .y_labels(5)
            .draw()
            .map_err(chart_err)?;
        let grey = RGBColor(150, 150, 150).mix(0.55);
        if let Some(points) = maps.points.get(v) {
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| p[0].is_finite() && p[1].is_finite())
                        .map(|p| Circle::new((p[0], p[1]), 2, grey.filled())),
                )
                .map_err(chart_err)?;
        }
        chart
            .draw_series(maps.labelled.iter().filter_map(|w| {
                let p = w.positions.get(v)?;
                (p[0].is_finite() && p[1].is_finite()).then(|| {
                    EmptyElement::at((p[0], p[1]))
                        + Circle::new((0, 0), 3, LABEL_RED.filled())
                        + Text::new(short_label(&w.token, 24), (5, -12), (FONT, 11))
                })
            }))
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(svg)
}

/// Histogram of the per-word neighbourhood overlap |N_A & N_B| at the smallest k: the share of
/// shared words with each overlap count.
pub fn overlap_svg(m: &Measures, title: &str) -> Result<Option<String>, ReportError> {
    let Some(j) = m.jaccard.first() else {
        return Ok(None);
    };
    let total: u64 = j.overlap_histogram.iter().sum();
    if total == 0 {
        return Ok(None);
    }
    let shares: Vec<f64> = j
        .overlap_histogram
        .iter()
        .map(|&c| c as f64 / total as f64)
        .collect();
    let top = shares.iter().copied().fold(0.0, f64::max) * 1.1;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (460, 260)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(short_label(title, 60), (FONT, 14))
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.5f64..(shares.len() as f64 - 0.5), 0f64..top.max(1e-9))
            .map_err(chart_err)?;
        let whole = |x: &f64| {
            if (x - x.round()).abs() < 1e-6 && *x >= 0.0 {
                format!("{}", x.round() as i64)
            } else {
                String::new()
            }
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .label_style((FONT, 10))
            .x_labels(shares.len().min(21))
            .x_label_formatter(&whole)
            .x_desc(format!("neighbours in common out of k = {}", j.k))
            .y_desc("share of words")
            .draw()
            .map_err(chart_err)?;
        chart
            .draw_series(shares.iter().enumerate().map(|(i, &s)| {
                let x = i as f64;
                Rectangle::new([(x - 0.4, 0.0), (x + 0.4, s)], version_colour(0).filled())
            }))
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(Some(svg))
}

/// Effect sizes with their 95% bootstrap intervals, one colour per version, grouped by test.
pub fn bias_svg(b: &BiasSection) -> Result<Option<String>, ReportError> {
    if b.results.is_empty() {
        return Ok(None);
    }
    let nt = b.tests.len().max(1);
    let nv = b.versions.len().max(1);
    let x_of = |t: usize, v: usize| t as f64 + (v as f64 + 0.5) / nv as f64 - 0.5;
    let mut lo: f64 = -0.5;
    let mut hi: f64 = 0.5;
    for r in &b.results {
        let (a, z) = r
            .ci95
            .map_or((r.effect_size, r.effect_size), |c| (c[0], c[1]));
        for v in [a, z, r.effect_size] {
            if v.is_finite() {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
    }
    let pad = (hi - lo) * 0.08;
    let width = (120 * nt as u32).clamp(460, 1100);
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, 320)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption("WEAT effect sizes with 95% bootstrap intervals", (FONT, 14))
            .margin(8)
            .x_label_area_size(30)
            .y_label_area_size(44)
            .build_cartesian_2d(-0.5f64..(nt as f64 - 0.5), (lo - pad)..(hi + pad))
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .light_line_style(WHITE.mix(0.0))
            .x_labels(0)
            .label_style((FONT, 10))
            .y_desc("effect size (d)")
            .draw()
            .map_err(chart_err)?;
        chart
            .draw_series(LineSeries::new(
                [(-0.5, 0.0), (nt as f64 - 0.5, 0.0)],
                BLACK.mix(0.4),
            ))
            .map_err(chart_err)?;
        for (vi, name) in b.versions.iter().enumerate() {
            let colour = version_colour(vi);
            let cells: Vec<(usize, &super::BiasCell)> = b
                .results
                .iter()
                .filter(|r| r.label == super::label(vi))
                .filter_map(|r| b.tests.iter().position(|t| *t == r.test).map(|t| (t, r)))
                .collect();
            chart
                .draw_series(cells.iter().filter_map(|(t, r)| {
                    let c = r.ci95?;
                    Some(ErrorBar::new_vertical(
                        x_of(*t, vi),
                        c[0],
                        r.effect_size,
                        c[1],
                        colour.stroke_width(2),
                        8,
                    ))
                }))
                .map_err(chart_err)?;
            chart
                .draw_series(
                    cells.iter().map(|(t, r)| {
                        Circle::new((x_of(*t, vi), r.effect_size), 4, colour.filled())
                    }),
                )
                .map_err(chart_err)?
                .label(format!(
                    "{}: {}",
                    super::label(vi),
                    short_label(&super::fmt::file_name(name), 30)
                ))
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
        }
        chart
            .draw_series(b.tests.iter().enumerate().map(|(t, name)| {
                Text::new(
                    short_label(name, 14),
                    (t as f64 - 0.2, lo - pad * 0.6),
                    (FONT, 11),
                )
            }))
            .map_err(chart_err)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 11))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(Some(svg))
}

/// The colours of a drift pair's sides: the reference's and the current's.
pub const DRIFT_SIDES: [RGBColor; 2] = [PALETTE[0], PALETTE[1]];

/// A drift pair's joint map: the drawn joint rows as dots coloured by side (the reference
/// under the current), the named clusters' keywords at their centroids, a legend of the sides.
/// None without a map or drawn rows.
pub fn drift_map_svg(d: &DriftPair) -> Result<Option<String>, ReportError> {
    let Some(m) = &d.map else { return Ok(None) };
    if m.reference_points.is_empty() && m.current_points.is_empty() {
        return Ok(None);
    }
    let all = m
        .reference_points
        .iter()
        .chain(&m.current_points)
        .chain(m.labelled.iter().map(|l| &l.position));
    let (x0, x1) = padded_range(all.clone().map(|p| p[0]));
    let (y0, y1) = padded_range(all.map(|p| p[1]));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (520, 440)).into_drawing_area();
        root.fill(&WHITE).map_err(chart_err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!(
                    "{} vs {}: the joint rows by side",
                    short_label(&d.reference, 8),
                    short_label(&d.current, 8)
                ),
                (FONT, 15),
            )
            .margin(8)
            .x_label_area_size(34)
            .y_label_area_size(44)
            .build_cartesian_2d(x0..x1, y0..y1)
            .map_err(chart_err)?;
        chart
            .configure_mesh()
            .light_line_style(WHITE.mix(0.0))
            .label_style((FONT, 10))
            .x_labels(5)
            .y_labels(5)
            .x_desc(format!(
                "PC1 ({}% of the variance)",
                super::fmt::decimals(m.explained[0] * 100.0, 1)
            ))
            .y_desc(format!(
                "PC2 ({}%)",
                super::fmt::decimals(m.explained[1] * 100.0, 1)
            ))
            .draw()
            .map_err(chart_err)?;
        for (side, (points, version, name)) in [
            (&m.reference_points, &d.reference, &d.a),
            (&m.current_points, &d.current, &d.b),
        ]
        .into_iter()
        .enumerate()
        {
            let colour = DRIFT_SIDES[side];
            let what = if side == 0 { "reference" } else { "current" };
            chart
                .draw_series(
                    points
                        .iter()
                        .filter(|p| p[0].is_finite() && p[1].is_finite())
                        .map(|p| Circle::new((p[0], p[1]), 2, colour.mix(0.5).filled())),
                )
                .map_err(chart_err)?
                .label(format!(
                    "{what} {}: {}",
                    short_label(version, 8),
                    short_label(&super::fmt::file_name(name), 30)
                ))
                .legend(move |(x, y)| Circle::new((x, y), 4, colour.filled()));
        }
        // The named clusters in list order (largest change first), each label left of its
        // centroid on the right half of the plot; one that would overlap a label already
        // placed is left out.
        let mid = (x0 + x1) / 2.0;
        let mut placed: Vec<(i32, i32, bool)> = Vec::new();
        let mut marks = Vec::new();
        for l in &m.labelled {
            let p = l.position;
            if !(p[0].is_finite() && p[1].is_finite()) {
                continue;
            }
            let (px, py) = chart.backend_coord(&(p[0], p[1]));
            let left = p[0] > mid;
            let clash = placed.iter().any(|&(qx, qy, q_left)| {
                let (a0, a1) = if left { (px - 190, px) } else { (px, px + 190) };
                let (b0, b1) = if q_left {
                    (qx - 190, qx)
                } else {
                    (qx, qx + 190)
                };
                (py - qy).abs() < 14 && a0 < b1 && b0 < a1
            });
            if clash {
                continue;
            }
            placed.push((px, py, left));
            let words: Vec<&str> = l.keywords.iter().take(3).map(String::as_str).collect();
            let name = if words.is_empty() {
                format!("cluster {}", l.cluster)
            } else {
                words.join(", ")
            };
            let (anchor, dx) = if left {
                (HPos::Right, -7)
            } else {
                (HPos::Left, 7)
            };
            let style = TextStyle::from((FONT, 11)).pos(Pos::new(anchor, VPos::Center));
            marks.push(
                EmptyElement::at((p[0], p[1]))
                    + Cross::new((0, 0), 4, BLACK.stroke_width(2))
                    + Text::new(
                        format!("{:+.2} {}", l.ratio, short_label(&name, 32)),
                        (dx, 0),
                        style,
                    ),
            );
        }
        chart.draw_series(marks).map_err(chart_err)?;
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .label_font((FONT, 11))
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(chart_err)?;
        root.present().map_err(chart_err)?;
    }
    Ok(Some(svg))
}
