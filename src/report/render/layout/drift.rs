//! The drift section: per pair, the tests with their scores, thresholds and p-values, the sample
//! sizes and what was left out, the clusters of the joint rows whose share changed most, and
//! the joint map coloured by side.

use crate::analysis::drift::ThresholdRule;
use crate::report::fmt::{decimals, file_name};
use crate::report::render::blocks::{Block, Cell, Span, para, table, text};
use crate::report::{DriftPair, Report, ReportError, charts};

fn yes_no(b: bool) -> Cell {
    Cell::Text(if b { "yes" } else { "no" }.into())
}

pub(super) fn drift(r: &Report, b: &mut Vec<Block>, with_images: bool) -> Result<(), ReportError> {
    let Some(pairs) = &r.drift else { return Ok(()) };
    b.push(para(vec![text(
        "Each version's rows (the reference) against the next version's (the current), as two \
         samples of one embedding space: each test's score, its threshold and its permutation \
         p-value; the clusters of the joint rows whose share changed most; the joint rows on \
         their first two principal components. Drift is measured between sets encoded by one \
         model (last quarter's and this quarter's documents, say); versions of another \
         dimension, or whose encoding records name other weights, are not one space, and a \
         note says so.",
    )]));
    for d in pairs {
        drift_of(d, b, with_images)?;
    }
    Ok(())
}

/// One pair's blocks: `drift-a-b` anchors and `drift_a_b` tables.
pub(super) fn drift_of(
    d: &DriftPair,
    b: &mut Vec<Block>,
    with_images: bool,
) -> Result<(), ReportError> {
    let (r, c) = (d.reference.as_str(), d.current.as_str());
    let stem = format!("drift_{}_{}", r.to_lowercase(), c.to_lowercase());
    b.push(Block::Heading(
        3,
        format!("{r} vs {c}: {} vs {}", file_name(&d.a), file_name(&d.b)),
        stem.replace('_', "-"),
    ));
    let over = d.tests.iter().filter(|t| t.drift).count();
    let significant = d.tests.iter().filter(|t| t.significant).count();
    b.push(para(vec![
        Span::Strong(format!(
            "{over} of {} tests over their thresholds; {significant} significant at alpha {}.",
            d.tests.len(),
            d.alpha
        )),
        text(format!(
            " Reference {r}: {} rows; current {c}: {} rows; {} dimensions.",
            d.n_ref, d.n_cur, d.dim
        )),
    ]));
    let mut left = Vec::new();
    let nan = d.nan_rows_left_out;
    if nan.reference + nan.current > 0 {
        left.push(format!(
            "rows with NaN or Inf values left out: {} of {r} and {} of {c}",
            nan.reference, nan.current
        ));
    }
    if let Some(k) = d.kernel_sample
        && (k.reference < d.n_ref || k.current < d.n_cur)
    {
        left.push(format!(
            "MMD and energy on a seeded sample of {} rows of {r} and {} of {c}",
            k.reference, k.current
        ));
    }
    if let Some(p) = &d.pca {
        left.push(format!(
            "the tests ran on the pooled rows' first {} principal components ({}% of the \
             variance)",
            p.components,
            decimals(p.explained_variance_ratio * 100.0, 1)
        ));
    }
    if !left.is_empty() {
        let mut s = left.join("; ");
        if let Some(first) = s.get(..1) {
            s = first.to_uppercase() + &s[1..];
        }
        b.push(para(vec![text(format!("{s}."))]));
    }
    for w in &d.warnings {
        b.push(para(vec![
            Span::Strong("Warning:".into()),
            text(format!(" {}.", w.trim_end_matches('.'))),
        ]));
    }
    let rows_r = format!("rows {r}");
    let rows_c = format!("rows {c}");
    b.push(table(
        stem.clone(),
        &[
            "test",
            "score",
            "threshold",
            "threshold from",
            "drift",
            "p-value",
            "significant",
            "permutations",
            &rows_r,
            &rows_c,
        ],
        d.tests
            .iter()
            .map(|t| {
                vec![
                    Cell::Text(t.method.name().into()),
                    Cell::Num(t.score, 4),
                    Cell::Num(t.threshold, 4),
                    Cell::Text(
                        match t.threshold_rule {
                            ThresholdRule::Fixed => "fixed",
                            ThresholdRule::Permutation => "permutations",
                        }
                        .into(),
                    ),
                    yes_no(t.drift),
                    Cell::P(t.p_value),
                    yes_no(t.significant),
                    Cell::Int(t.permutations as u64),
                    Cell::Int(t.rows.reference as u64),
                    Cell::Int(t.rows.current as u64),
                ]
            })
            .collect(),
    ));
    if !d.clusters.is_empty() {
        b.push(para(vec![text(format!(
            "Where it moved: the joint rows in {} clusters (k-means, cosine), the {} with the \
             largest change of share first. ratio = (C - R) / (C + R) of the shares of {c} (C) \
             and {r} (R): +1 a region only {c} reaches, -1 one only {r} reaches.",
            d.cluster_count,
            d.clusters.len()
        ))]));
        let share_r = format!("share {r}");
        let share_c = format!("share {c}");
        b.push(table(
            format!("{stem}_clusters"),
            &[
                "cluster", &rows_r, &rows_c, &share_r, &share_c, "ratio", "keywords",
            ],
            d.clusters
                .iter()
                .map(|k| {
                    vec![
                        u64::try_from(k.drift.id)
                            .map_or_else(|_| Cell::Text("noise".into()), Cell::Int),
                        Cell::Int(k.drift.n_ref as u64),
                        Cell::Int(k.drift.n_cur as u64),
                        Cell::Num(k.drift.share_ref, 4),
                        Cell::Num(k.drift.share_cur, 4),
                        Cell::Num(k.drift.ratio, 3),
                        Cell::Text(k.keywords.join(", ")),
                    ]
                })
                .collect(),
        ));
    }
    if let Some(m) = &d.map {
        b.push(para(vec![text(format!(
            "Joint map: the joint rows on their first two principal components ({}% and {}% of \
             the variance); {} rows of {r} and {} of {c} drawn{}.",
            decimals(m.explained[0] * 100.0, 1),
            decimals(m.explained[1] * 100.0, 1),
            m.drawn.reference,
            m.drawn.current,
            if m.labelled.is_empty() {
                String::new()
            } else {
                format!(
                    "; the {} clusters listed first are named at the mean position of their \
                     rows, with their ratio",
                    m.labelled.len()
                )
            }
        ))]));
        if with_images && let Some(svg) = charts::drift_map_svg(d)? {
            b.push(Block::Image {
                file: format!("{stem}_map"),
                alt: format!("Joint map of {r} and {c}, coloured by side"),
                svg,
            });
        }
    }
    Ok(())
}
