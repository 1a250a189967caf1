//! Per-cluster drift: where the two sides' rows fall in a clustering of the joint rows.
//!
//! Each cluster's count on a side is divided by that side's size, so a cluster holding the
//! same share of both sides has ratio 0 whatever the side sizes: `R = n_ref / N_ref`,
//! `C = n_cur / N_cur`, `ratio = (C - R) / (C + R)` in [-1, 1]; +1 a region only the current
//! rows reach (new), -1 one only the reference rows reach (gone). Clusters are listed by
//! `|ratio|` (both directions are drift), ties by their joint share (bigger first), then id.
//! Negative labels (HDBSCAN's noise) are kept as their own entry, marked `noise`.

use serde::Serialize;

use crate::analysis::AnalysisError;

/// One cluster's counts on each side and its drift ratio.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClusterDrift {
    pub id: i64,
    /// A negative label (noise, not a cluster).
    pub noise: bool,
    pub n_ref: usize,
    pub n_cur: usize,
    /// `n_ref` over the reference rows labelled, `n_cur` over the current rows labelled.
    pub share_ref: f64,
    pub share_cur: f64,
    /// `(share_cur - share_ref) / (share_cur + share_ref)`.
    pub ratio: f64,
}

/// Drift per cluster. `labels` are the joint rows' cluster labels, the `n_ref` reference rows
/// first, then the current rows (as the joint map lists them).
pub fn cluster_drift<L: Copy + Into<i64>>(
    labels: &[L],
    n_ref: usize,
) -> Result<Vec<ClusterDrift>, AnalysisError> {
    if n_ref == 0 || n_ref >= labels.len() {
        return Err(AnalysisError::InvalidParameter(format!(
            "per-cluster drift needs rows on both sides: {} labels, {n_ref} of them reference",
            labels.len()
        )));
    }
    let n_cur = labels.len() - n_ref;
    let mut counts: std::collections::BTreeMap<i64, (usize, usize)> = Default::default();
    for (i, &l) in labels.iter().enumerate() {
        let e = counts.entry(l.into()).or_default();
        if i < n_ref {
            e.0 += 1;
        } else {
            e.1 += 1;
        }
    }
    let mut out: Vec<ClusterDrift> = counts
        .into_iter()
        .map(|(id, (r, c))| {
            let share_ref = r as f64 / n_ref as f64;
            let share_cur = c as f64 / n_cur as f64;
            ClusterDrift {
                id,
                noise: id < 0,
                n_ref: r,
                n_cur: c,
                share_ref,
                share_cur,
                ratio: (share_cur - share_ref) / (share_cur + share_ref),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        b.ratio
            .abs()
            .total_cmp(&a.ratio.abs())
            .then((b.share_ref + b.share_cur).total_cmp(&(a.share_ref + a.share_cur)))
            .then(a.id.cmp(&b.id))
    });
    Ok(out)
}
