//! Maps of several versions in one frame: the words they all share ([`shared_words`]), then
//! either the first version's top two principal axes with every later version aligned onto it
//! ([`aligned_layouts`]), or a UMAP map of the first version with every later version placed
//! into it ([`aligned_umap_layouts`]).

use std::ops::ControlFlow;

use super::align;
use super::vocab::{self, VocabMatch};
use crate::analysis::error::AnalysisError;
use crate::analysis::linalg::{Layout, Write, matmul};
use crate::analysis::project::ProjectError;
use crate::analysis::project::umap::{self, InitKind, UmapParams, transform};
use crate::core::{EmbeddingSet, RowScan};

/// The words all versions share: [`shared_words`].
#[derive(Debug, Clone)]
pub struct SharedWords {
    /// First version's order.
    pub tokens: Vec<String>,
    /// Row of each word in each version.
    pub rows: Vec<Vec<usize>>,
}

/// 2-D maps of several versions in one frame: each version is aligned to the first by
/// Procrustes on the words all versions share, and every version is drawn on the first one's
/// top two principal axes, so a word's positions are comparable across the maps.
#[derive(Debug, Clone)]
pub struct AlignedLayouts {
    /// Words shared by every version (first version's order).
    pub tokens: Vec<String>,
    /// Row of each word in each version.
    pub rows: Vec<Vec<usize>>,
    /// Coordinates per version, one per word.
    pub coords: Vec<Vec<[f32; 2]>>,
}

/// The words every version shares (the first version's order, unusable rows left out) and
/// their row in each version; at least 3 of them.
pub fn shared_words(sets: &[&EmbeddingSet], lowercase: bool) -> Result<SharedWords, AnalysisError> {
    let Some((&first, rest)) = sets.split_first() else {
        return Err(AnalysisError::InvalidParameter(
            "no versions to lay out".into(),
        ));
    };
    let scan0 = RowScan::new(&first.matrix);
    let matches: Vec<VocabMatch> = rest
        .iter()
        .map(|s| vocab::match_vocab(first, &scan0, s, &RowScan::new(&s.matrix), lowercase))
        .collect();
    // Words in every match, in the first version's order.
    let mut keep: hashbrown::HashMap<usize, Vec<usize>> = hashbrown::HashMap::new();
    let mut order: Vec<(usize, String)> = Vec::new();
    if let Some(m0) = matches.first() {
        for (t, (&ra, &rb)) in m0.tokens.iter().zip(m0.rows_a.iter().zip(&m0.rows_b)) {
            keep.insert(ra, vec![rb]);
            order.push((ra, t.clone()));
        }
        for m in &matches[1..] {
            let here: hashbrown::HashMap<usize, usize> = m
                .rows_a
                .iter()
                .copied()
                .zip(m.rows_b.iter().copied())
                .collect();
            keep.retain(|ra, v| match here.get(ra) {
                Some(&rb) => {
                    v.push(rb);
                    true
                }
                None => false,
            });
        }
        order.retain(|(ra, _)| keep.contains_key(ra));
    } else {
        let usable = scan0.non_finite_mask();
        for (i, t) in first.vocab.iter().enumerate() {
            if !usable[i] {
                keep.insert(i, Vec::new());
                order.push((i, t.to_string()));
            }
        }
    }
    if order.len() < 3 {
        return Err(AnalysisError::InvalidParameter(format!(
            "aligned maps need at least 3 words shared by every version, found {}",
            order.len()
        )));
    }
    let mut rows: Vec<Vec<usize>> = vec![order.iter().map(|(r, _)| *r).collect()];
    for j in 0..rest.len() {
        rows.push(order.iter().map(|(r, _)| keep[r][j]).collect());
    }
    Ok(SharedWords {
        tokens: order.into_iter().map(|(_, t)| t).collect(),
        rows,
    })
}

/// Fits [`AlignedLayouts`] for two or more versions.
pub fn aligned_layouts(
    sets: &[&EmbeddingSet],
    lowercase: bool,
) -> Result<AlignedLayouts, AnalysisError> {
    aligned_layouts_of(sets, shared_words(sets, lowercase)?)
}

/// [`aligned_layouts`] of the shared words found by [`shared_words`].
pub fn aligned_layouts_of(
    sets: &[&EmbeddingSet],
    shared: SharedWords,
) -> Result<AlignedLayouts, AnalysisError> {
    let Some((&first, rest)) = sets.split_first() else {
        return Err(AnalysisError::InvalidParameter(
            "no versions to lay out".into(),
        ));
    };
    if shared.rows.len() != sets.len() {
        return Err(AnalysisError::InvalidParameter(format!(
            "the shared words hold rows of {} versions, {} given",
            shared.rows.len(),
            sets.len()
        )));
    }
    let SharedWords { tokens, rows } = shared;
    let gram0 = align::Gram::new(&first.matrix, &rows[0], &first.matrix, &rows[0]);
    let d0 = first.dim();
    let (_, vecs) = align::eigh_desc(&gram0.xtx(), d0)?;
    let p2: Vec<f64> = (0..d0)
        .flat_map(|r| (0..2).map(move |c| (r, c)))
        .map(|(r, c)| if c < d0 { vecs[r * d0 + c] } else { 0.0 })
        .collect();
    let mean0 = gram0.mean_a.clone();
    let scale0 = (0..d0)
        .map(|i| gram0.c[i * (2 * d0) + i])
        .sum::<f64>()
        .sqrt()
        .max(f64::MIN_POSITIVE);
    let project = |m: &crate::core::Matrix, rows: &[usize], mean: &[f64], scale: f64, p: &[f64]| {
        rows.iter()
            .map(|&r| {
                let mut out = [0f64; 2];
                for (l, (&x, &mu)) in m.row(r).iter().zip(mean).enumerate() {
                    let v = (f64::from(x) - mu) / scale;
                    out[0] += v * p[l * 2];
                    out[1] += v * p[l * 2 + 1];
                }
                [out[0] as f32, out[1] as f32]
            })
            .collect::<Vec<_>>()
    };
    let mut coords = vec![project(&first.matrix, &rows[0], &mean0, scale0, &p2)];
    for (j, s) in rest.iter().enumerate() {
        let g = align::Gram::new(&first.matrix, &rows[0], &s.matrix, &rows[j + 1]);
        let al = align::procrustes(&g)?;
        let m = al.b_to_a_map(); // db x d0
        let db = s.dim();
        let mut mp = vec![0f64; db * 2];
        matmul(
            &mut mp,
            Layout::row_major(db, 2),
            &m,
            Layout::row_major(db, d0),
            &p2,
            Layout::row_major(d0, 2),
            Write::Overwrite,
        );
        coords.push(project(
            &s.matrix,
            &rows[j + 1],
            &al.mean_b,
            al.scale_b,
            &mp,
        ));
    }
    Ok(AlignedLayouts {
        tokens,
        rows,
        coords,
    })
}
/// UMAP maps of several versions in one frame ([`aligned_umap_layouts`]).
#[derive(Debug, Clone)]
pub struct UmapLayouts {
    /// The words laid out: the first `fitted` shared words (the map is fitted on them), then
    /// the extra ones asked for, placed into it.
    pub layouts: AlignedLayouts,
    pub fitted: usize,
    /// The fitted curve's parameters and the epochs run.
    pub a: f64,
    pub b: f64,
    pub n_epochs: usize,
    pub init: InitKind,
}

fn project_error(e: ProjectError) -> AnalysisError {
    match e {
        ProjectError::Cancelled => AnalysisError::Cancelled,
        e => AnalysisError::InvalidParameter(format!("UMAP map: {e}")),
    }
}

/// Rows `which` of `shared` rows `rows` of `m`, centred by `mean`, scaled by `scale`, then
/// multiplied by `map` (`d x out`, identity when None): `which.len() x out`, row-major.
fn normalised(
    m: &crate::core::Matrix,
    rows: &[usize],
    which: &[usize],
    mean: &[f64],
    scale: f64,
    map: Option<(&[f64], usize)>,
) -> Vec<f32> {
    let d = m.dim();
    let out_d = map.map_or(d, |(_, o)| o);
    let mut out = Vec::with_capacity(which.len() * out_d);
    let mut v = vec![0f64; d];
    for &w in which {
        for ((t, &x), &mu) in v.iter_mut().zip(m.row(rows[w])).zip(mean) {
            *t = (f64::from(x) - mu) / scale;
        }
        match map {
            None => out.extend(v.iter().map(|&x| x as f32)),
            Some((p, o)) => out.extend((0..o).map(|c| {
                v.iter()
                    .enumerate()
                    .map(|(l, &x)| x * p[l * o + c])
                    .sum::<f64>() as f32
            })),
        }
    }
    out
}

fn mean_and_scale(m: &crate::core::Matrix, rows: &[usize]) -> (Vec<f64>, f64) {
    let d = m.dim();
    let mut mean = vec![0f64; d];
    for &r in rows {
        for (t, &x) in mean.iter_mut().zip(m.row(r)) {
            *t += f64::from(x);
        }
    }
    mean.iter_mut().for_each(|t| *t /= rows.len().max(1) as f64);
    let ss: f64 = rows
        .iter()
        .map(|&r| {
            m.row(r)
                .iter()
                .zip(&mean)
                .map(|(&x, mu)| (f64::from(x) - mu).powi(2))
                .sum::<f64>()
        })
        .sum();
    // Rows then have a root-mean-square norm of 1.
    (
        mean,
        (ss / rows.len().max(1) as f64)
            .sqrt()
            .max(f64::MIN_POSITIVE),
    )
}

/// UMAP maps of several versions in one frame, comparable word by word.
///
/// The map is fitted once, on the first version: UMAP (2-D, `params`) of its rows of the first
/// `fit` shared words, centred and scaled to a root-mean-square norm of 1. Every later version
/// is aligned onto the first in the original space by orthogonal Procrustes on all the shared
/// words (as [`aligned_layouts`] and [`super::compare`] align them), and its aligned rows are
/// placed into the first version's map by UMAP's `transform` (the map itself never moves). So
/// a word that did not change lands where it is on the first map, and a word's move between
/// maps is a move of its neighbourhood. The `extra` shared words (indices into `shared`) past
/// the first `fit` are placed into the map for every version, the first included. Seeded and
/// deterministic; `progress` gets the share done and may stop the run (`Cancelled`).
pub fn aligned_umap_layouts(
    sets: &[&EmbeddingSet],
    shared: &SharedWords,
    fit: usize,
    extra: &[usize],
    params: &UmapParams,
    mut progress: impl FnMut(f32) -> ControlFlow<()>,
) -> Result<UmapLayouts, AnalysisError> {
    let Some((&first, rest)) = sets.split_first() else {
        return Err(AnalysisError::InvalidParameter(
            "no versions to lay out".into(),
        ));
    };
    if shared.rows.len() != sets.len() {
        return Err(AnalysisError::InvalidParameter(format!(
            "the shared words hold rows of {} versions, {} given",
            shared.rows.len(),
            sets.len()
        )));
    }
    let n = shared.tokens.len();
    let fit = fit.min(n);
    let mut words: Vec<usize> = (0..fit).collect();
    let mut seen = hashbrown::HashSet::new();
    for &i in extra {
        if i >= fit && i < n && seen.insert(i) {
            words.push(i);
        }
    }
    let params = UmapParams {
        dims: 2,
        ..params.clone()
    };
    let d0 = first.dim();
    let (mean0, scale0) = mean_and_scale(&first.matrix, &shared.rows[0]);
    let reference = normalised(
        &first.matrix,
        &shared.rows[0],
        &words[..fit],
        &mean0,
        scale0,
        None,
    );
    // Shares of the work: the fit, then one placement per version.
    let parts = 1.0 + rest.len() as f32 + f32::from(u8::from(words.len() > fit));
    let fitted = umap::run(&reference, d0, &params, None, |p| {
        progress(0.9 * p.epoch as f32 / p.total.max(1) as f32 / parts)
    })
    .map_err(project_error)?;
    let layout = fitted.layout;
    let mut done = 1.0f32;
    let mut place = |new: &[f32], progress: &mut dyn FnMut(f32) -> ControlFlow<()>| {
        let base = done;
        done += 1.0;
        transform::umap(&reference, &layout, d0, new, &params, |p| {
            progress((base + p.epoch as f32 / p.total.max(1) as f32) / parts)
        })
        .map(|v| {
            v.chunks_exact(2)
                .map(|c| [c[0], c[1]])
                .collect::<Vec<[f32; 2]>>()
        })
        .map_err(project_error)
    };
    let mut coords0: Vec<[f32; 2]> = layout.chunks_exact(2).map(|c| [c[0], c[1]]).collect();
    if words.len() > fit {
        let new = normalised(
            &first.matrix,
            &shared.rows[0],
            &words[fit..],
            &mean0,
            scale0,
            None,
        );
        coords0.extend(place(&new, &mut progress)?);
    }
    let mut coords = vec![coords0];
    for (j, s) in rest.iter().enumerate() {
        let g = align::Gram::new(
            &first.matrix,
            &shared.rows[0],
            &s.matrix,
            &shared.rows[j + 1],
        );
        let al = align::procrustes(&g)?;
        // `b_to_a_map` lands in A's space scaled by the square root of its trace; the
        // reference rows are scaled to unit root-mean-square norm.
        let m = al.b_to_a_map();
        let ratio = al.scale_a / scale0;
        let m: Vec<f64> = m.iter().map(|v| v * ratio).collect();
        let new = normalised(
            &s.matrix,
            &shared.rows[j + 1],
            &words,
            &al.mean_b,
            al.scale_b,
            Some((&m, d0)),
        );
        coords.push(place(&new, &mut progress)?);
    }
    Ok(UmapLayouts {
        layouts: AlignedLayouts {
            tokens: words.iter().map(|&i| shared.tokens[i].clone()).collect(),
            rows: shared
                .rows
                .iter()
                .map(|r| words.iter().map(|&i| r[i]).collect())
                .collect(),
            coords,
        },
        fitted: fit,
        a: fitted.a,
        b: fitted.b,
        n_epochs: fitted.n_epochs,
        init: fitted.init,
    })
}
