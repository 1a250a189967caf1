//! Point colours and their legend: categories (a metadata column, clusters) get a qualitative
//! palette, numbers (vector norm, per-point kNN recall, numeric columns) a perceptual ramp.

use serde::{Deserialize, Serialize};

/// How map points are coloured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub enum ColorMode {
    #[default]
    Uniform,
    /// A metadata column (categories, or a ramp when every value is a number).
    Column(String),
    /// The vector's L2 norm.
    Norm,
    /// Per-point kNN recall of the map (how many of the k nearest neighbours it keeps).
    Recall,
    /// k-means clusters of the original vectors.
    Cluster,
}

pub type Rgba = [u8; 4];

/// What the legend shows.
#[derive(Debug, Clone, PartialEq)]
pub enum Legend {
    None,
    /// Category label, colour and count; "other" collects the categories past the palette.
    Categories(Vec<(String, Rgba, usize)>),
    /// A ramp from `min` to `max`.
    Ramp {
        label: String,
        min: f32,
        max: f32,
    },
}

pub const UNIFORM: Rgba = [90, 160, 230, 190];
pub const MISSING: Rgba = [128, 128, 128, 160];

/// A qualitative palette of 12 colours distinguishable on dark and light backgrounds.
pub const PALETTE: [Rgba; 12] = [
    [31, 119, 180, 255],
    [255, 127, 14, 255],
    [44, 160, 44, 255],
    [214, 39, 40, 255],
    [148, 103, 189, 255],
    [140, 86, 75, 255],
    [227, 119, 194, 255],
    [188, 189, 34, 255],
    [23, 190, 207, 255],
    [174, 199, 232, 255],
    [255, 187, 120, 255],
    [152, 223, 138, 255],
];

/// Stops of a dark-blue -> teal -> yellow ramp (perceptually ordered, colour-blind safe).
const RAMP: [[f32; 3]; 5] = [
    [68.0, 1.0, 84.0],
    [59.0, 82.0, 139.0],
    [33.0, 145.0, 140.0],
    [94.0, 201.0, 98.0],
    [253.0, 231.0, 37.0],
];

/// Colour of `t` in [0, 1] on the ramp (NaN: the missing colour).
pub fn ramp(t: f32) -> Rgba {
    if !t.is_finite() {
        return MISSING;
    }
    let t = t.clamp(0.0, 1.0) * (RAMP.len() - 1) as f32;
    let i = (t.floor() as usize).min(RAMP.len() - 2);
    let f = t - i as f32;
    let c = |k: usize| (RAMP[i][k] + (RAMP[i + 1][k] - RAMP[i][k]) * f).round() as u8;
    [c(0), c(1), c(2), 255]
}

/// Colours for numbers: a ramp between the 1st and 99th percentile (outliers do not flatten it).
pub fn numeric(values: &[f32], label: &str) -> (Vec<Rgba>, Legend) {
    let mut finite: Vec<f32> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if finite.is_empty() {
        return (vec![MISSING; values.len()], Legend::None);
    }
    finite.sort_by(f32::total_cmp);
    let q = |p: f64| finite[((finite.len() - 1) as f64 * p).round() as usize];
    let (lo, hi) = (q(0.01), q(0.99));
    let span = (hi - lo).max(f32::EPSILON);
    let colors = values.iter().map(|&v| ramp((v - lo) / span)).collect();
    (
        colors,
        Legend::Ramp {
            label: label.to_string(),
            min: lo,
            max: hi,
        },
    )
}

/// Colours for categories: the most frequent get the palette, the rest grey ("other").
pub fn categorical(values: &[&str], label_missing: &str) -> (Vec<Rgba>, Legend) {
    let mut counts: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for v in values {
        *counts.entry(v).or_default() += 1;
    }
    let mut order: Vec<(&str, usize)> = counts.into_iter().collect();
    order.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let shown = order.len().min(PALETTE.len());
    let index: std::collections::HashMap<&str, usize> = order[..shown]
        .iter()
        .enumerate()
        .map(|(i, (v, _))| (*v, i))
        .collect();
    let colors = values
        .iter()
        .map(|v| index.get(v).map_or(MISSING, |&i| PALETTE[i]))
        .collect();
    let mut legend: Vec<(String, Rgba, usize)> = order[..shown]
        .iter()
        .enumerate()
        .map(|(i, (v, c))| {
            let name = if v.is_empty() {
                label_missing.to_string()
            } else {
                (*v).to_string()
            };
            (name, PALETTE[i], *c)
        })
        .collect();
    let rest: usize = order[shown..].iter().map(|(_, c)| c).sum();
    if rest > 0 {
        legend.push((
            format!("other ({} values)", order.len() - shown),
            MISSING,
            rest,
        ));
    }
    (colors, Legend::Categories(legend))
}

/// A column's values as numbers when every non-empty value parses (else None).
pub fn as_numbers(values: &[String]) -> Option<Vec<f32>> {
    let mut any = false;
    let out: Option<Vec<f32>> = values
        .iter()
        .map(|v| {
            let t = v.trim();
            if t.is_empty() {
                Some(f32::NAN)
            } else {
                any = true;
                t.parse::<f32>().ok()
            }
        })
        .collect();
    out.filter(|_| any)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramp_ends_and_missing() {
        assert_eq!(ramp(0.0), [68, 1, 84, 255]);
        assert_eq!(ramp(1.0), [253, 231, 37, 255]);
        assert_eq!(ramp(f32::NAN), MISSING);
        let (c, l) = numeric(&[0.0, 1.0, f32::NAN], "norm");
        assert_eq!(c[2], MISSING);
        assert!(matches!(l, Legend::Ramp { min, max, .. } if min == 0.0 && max == 1.0));
    }

    #[test]
    fn categories_by_frequency_with_other() {
        let mut v: Vec<String> = (0..20).map(|i| format!("c{i}")).collect();
        v.extend(std::iter::repeat_n("big".to_string(), 5));
        let refs: Vec<&str> = v.iter().map(String::as_str).collect();
        let (colors, legend) = categorical(&refs, "(empty)");
        assert_eq!(colors[24], PALETTE[0]);
        let Legend::Categories(items) = legend else {
            panic!("categories")
        };
        assert_eq!(items[0], ("big".to_string(), PALETTE[0], 5));
        assert_eq!(items.len(), 13);
        assert_eq!(items[12].2, 9);
        assert_eq!(
            as_numbers(&["1".into(), "".into(), "2.5".into()]).map(|v| v.len()),
            Some(3)
        );
        assert!(as_numbers(&["1".into(), "x".into()]).is_none());
    }
}
