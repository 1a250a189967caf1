//! Semantic axes: a custom linear projection. An axis is the direction from one word set to
//! another (`he,him,man -> she,her,woman`: mean of the second minus mean of the first) or a
//! vector expression (`king - man + woman`, gensim semantics); each point's coordinate is its
//! dot product with the unit axis. Without a second axis, y is the first principal component of
//! what the x axis leaves unexplained.

use linfa_linalg::eigh::{EigSort, Eigh};
use ndarray::Array2;
use rayon::prelude::*;

use crate::analysis::expr::Expr;
use crate::analysis::knn::{KnnIndex, Metric};
use crate::core::EmbeddingSet;

use super::{Details, Input, ProjectError, Projection};

#[derive(Debug, Clone, PartialEq)]
pub enum AxisSpec {
    /// From one word set to another.
    Sets { from: Vec<String>, to: Vec<String> },
    /// A vector expression.
    Expr(String),
}

impl AxisSpec {
    /// `"a,b -> c,d"` (sets) or anything else (an expression).
    pub fn parse(s: &str) -> Result<AxisSpec, ProjectError> {
        let words = |t: &str| -> Vec<String> {
            t.split(',')
                .map(str::trim)
                .filter(|w| !w.is_empty())
                .map(str::to_string)
                .collect()
        };
        match s.split_once("->") {
            Some((a, b)) => {
                let (from, to) = (words(a), words(b));
                if from.is_empty() || to.is_empty() {
                    return Err(ProjectError::Axis(
                        s.into(),
                        "both sides of '->' need at least one word".into(),
                    ));
                }
                Ok(AxisSpec::Sets { from, to })
            }
            None if s.trim().is_empty() => Err(ProjectError::Axis(s.into(), "empty axis".into())),
            None => Ok(AxisSpec::Expr(s.trim().to_string())),
        }
    }
}

/// A semantic-axes map as the CLI and the app describe it: the x axis and, optionally, the y
/// axis, each `"a,b -> c,d"` or an expression. [`AxesParams::check`] parses both once, before
/// any data is read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AxesParams {
    pub x: String,
    /// `None`: y is the first principal component of what x leaves unexplained.
    pub y: Option<String>,
}

/// The dimensions of a semantic-axes map (x and y).
pub const DIMS: usize = 2;

impl AxesParams {
    /// Each given axis must parse ([`AxisSpec::parse`]): both sides of `->` name at least one
    /// word; an expression is not empty. A `y` of `Some("")` is an empty axis, refused; a caller
    /// that reads a blank field as "no y axis" passes `None`.
    pub fn check(&self) -> Result<ValidAxes, ProjectError> {
        let x = AxisSpec::parse(&self.x)?;
        let y = self.y.as_deref().map(AxisSpec::parse).transpose()?;
        Ok(ValidAxes { x, y })
    }
}

/// Axes that passed [`AxesParams::check`].
#[derive(Debug, Clone, PartialEq)]
pub struct ValidAxes {
    x: AxisSpec,
    y: Option<AxisSpec>,
}

impl ValidAxes {
    pub fn x(&self) -> &AxisSpec {
        &self.x
    }

    pub fn y(&self) -> Option<&AxisSpec> {
        self.y.as_ref()
    }

    /// [`project`] on these axes.
    pub fn project(&self, set: &EmbeddingSet) -> Result<Projection, ProjectError> {
        project(set, &self.x, self.y.as_ref())
    }
}

/// A unit direction and the words that could not be used.
#[derive(Debug, Clone)]
pub struct Axis {
    pub label: String,
    pub vector: Vec<f64>,
    pub missing: Vec<String>,
}

fn unit64(v: &mut [f64]) -> bool {
    let n = v.iter().map(|x| x * x).sum::<f64>().sqrt();
    if !(n.is_finite() && n > 0.0) {
        return false;
    }
    v.iter_mut().for_each(|x| *x /= n);
    true
}

pub fn build_axis(
    set: &EmbeddingSet,
    index: &KnnIndex,
    spec: &AxisSpec,
    label: &str,
) -> Result<Axis, ProjectError> {
    let d = set.dim();
    match spec {
        AxisSpec::Sets { from, to } => {
            let mut missing = Vec::new();
            let mut mean = |ws: &[String]| -> Option<Vec<f64>> {
                let mut acc = vec![0f64; d];
                let mut n = 0usize;
                for w in ws {
                    match set
                        .vocab
                        .get(w)
                        .filter(|&i| index.is_candidate(i, Metric::Dot))
                    {
                        Some(i) => {
                            for (a, &x) in acc.iter_mut().zip(set.matrix.row(i)) {
                                *a += f64::from(x);
                            }
                            n += 1;
                        }
                        None => missing.push(w.clone()),
                    }
                }
                (n > 0).then(|| acc.into_iter().map(|a| a / n as f64).collect())
            };
            let a = mean(from);
            let b = mean(to);
            let (Some(a), Some(b)) = (a, b) else {
                return Err(ProjectError::AxisMissing {
                    axis: label.into(),
                    missing,
                });
            };
            let mut v: Vec<f64> = b.iter().zip(&a).map(|(y, x)| y - x).collect();
            if !unit64(&mut v) {
                return Err(ProjectError::Axis(
                    label.into(),
                    "the two word sets have the same mean: no direction".into(),
                ));
            }
            Ok(Axis {
                label: format!("{} -> {}", from.join(","), to.join(",")),
                vector: v,
                missing,
            })
        }
        AxisSpec::Expr(e) => {
            let expr =
                Expr::parse(e).map_err(|err| ProjectError::Axis(label.into(), err.to_string()))?;
            let missing: Vec<String> = expr
                .terms
                .iter()
                .filter(|t| !set.vocab.contains(&t.token))
                .map(|t| t.token.clone())
                .collect();
            if missing.len() == expr.terms.len() {
                return Err(ProjectError::AxisMissing {
                    axis: label.into(),
                    missing,
                });
            }
            if !missing.is_empty() {
                return Err(ProjectError::Axis(
                    label.into(),
                    format!("not in the vocabulary: {}", missing.join(", ")),
                ));
            }
            let q = expr
                .to_query(index, Metric::Cosine)
                .map_err(|err| ProjectError::Axis(label.into(), err.to_string()))?;
            let mut v: Vec<f64> = q.vector.iter().map(|&x| f64::from(x)).collect();
            if !unit64(&mut v) {
                return Err(ProjectError::Axis(label.into(), "zero vector".into()));
            }
            Ok(Axis {
                label: e.clone(),
                vector: v,
                missing,
            })
        }
    }
}

/// Projects the finite rows of `set` on the x axis and the y axis (or, without one, the first
/// principal component of the part of the vectors orthogonal to x).
pub fn project(
    set: &EmbeddingSet,
    x: &AxisSpec,
    y: Option<&AxisSpec>,
) -> Result<Projection, ProjectError> {
    let input = Input::new(set);
    if input.rows.len() < 2 {
        return Err(ProjectError::TooFewPoints {
            n: input.rows.len(),
            min: 2,
            why: "an axis projection".into(),
        });
    }
    let index = KnnIndex::new(set);
    let ax = build_axis(set, &index, x, "x")?;
    let (ay, y_label, axes_cosine) = match y {
        Some(spec) => {
            let a = build_axis(set, &index, spec, "y")?;
            let c: f64 = a.vector.iter().zip(&ax.vector).map(|(p, q)| p * q).sum();
            let l = a.label.clone();
            (a, l, Some(c))
        }
        None => {
            let v = residual_pc(set, &input.rows, &ax.vector)?;
            (
                Axis {
                    label: "PC1 of the residual".into(),
                    vector: v,
                    missing: Vec::new(),
                },
                "PC1 of the residual".into(),
                None,
            )
        }
    };
    let coords: Vec<f32> = input
        .rows
        .par_iter()
        .flat_map_iter(|&r| {
            let v = set.matrix.row(r);
            let dot = |a: &[f64]| {
                v.iter()
                    .zip(a)
                    .map(|(&p, &q)| f64::from(p) * q)
                    .sum::<f64>() as f32
            };
            [dot(&ax.vector), dot(&ay.vector)]
        })
        .collect();
    let mut missing = ax.missing.clone();
    missing.extend(ay.missing.iter().cloned());
    let mut notes = Vec::new();
    if !missing.is_empty() {
        notes.push(format!(
            "words not in the vocabulary (left out of the axes): {}",
            missing.join(", ")
        ));
    }
    if let Some(c) = axes_cosine
        && c.abs() > 0.5
    {
        notes.push(format!(
            "the axes are far from orthogonal (cosine {c:.3}): positions mix both directions"
        ));
    }
    Ok(Projection {
        dims: DIMS,
        coords,
        rows: input.rows,
        excluded: input.excluded,
        details: Details::Axes {
            x_label: ax.label,
            y_label,
            axes_cosine,
            missing,
        },
        notes,
    })
}

/// First principal direction of the rows after removing their component along `x` (unit):
/// the top eigenvector of P C P with P = I - x x^T and C the covariance.
fn residual_pc(set: &EmbeddingSet, rows: &[usize], x: &[f64]) -> Result<Vec<f64>, ProjectError> {
    let d = set.dim();
    let (_, cov) = super::pca::covariance(&set.matrix, Some(rows))?;
    // P C P = C - x (x^T C) - (C x) x^T + (x^T C x) x x^T
    let cx: Vec<f64> = (0..d)
        .map(|i| (0..d).map(|j| cov[i * d + j] * x[j]).sum())
        .collect();
    let xcx: f64 = cx.iter().zip(x).map(|(a, b)| a * b).sum();
    let mut r = cov;
    for i in 0..d {
        for j in 0..d {
            r[i * d + j] += -x[i] * cx[j] - cx[i] * x[j] + xcx * x[i] * x[j];
        }
    }
    let a = Array2::from_shape_vec((d, d), r).map_err(|e| ProjectError::Numeric(e.to_string()))?;
    let (_, vecs) = a
        .eigh()
        .map_err(|e| ProjectError::Numeric(e.to_string()))?
        .sort_eig_desc();
    let col: Vec<f64> = vecs.column(0).to_vec();
    let big = col
        .iter()
        .fold(0f64, |b, &v| if v.abs() > b.abs() { v } else { b });
    Ok(col
        .iter()
        .map(|&v| if big < 0.0 { -v } else { v })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axes_params_parse_both_axes_once() {
        let p = AxesParams {
            x: "he,him -> she,her".into(),
            y: Some("good - bad".into()),
        };
        let v = p.check().expect("both axes parse");
        assert_eq!(
            v.x(),
            &AxisSpec::Sets {
                from: vec!["he".into(), "him".into()],
                to: vec!["she".into(), "her".into()],
            }
        );
        assert_eq!(v.y(), Some(&AxisSpec::Expr("good - bad".into())));
        let no_y = AxesParams {
            y: None,
            ..p.clone()
        };
        assert_eq!(no_y.check().map(|v| v.y().cloned()), Ok(None));
        for bad in [
            AxesParams {
                x: " -> she".into(),
                y: None,
            },
            AxesParams {
                y: Some(String::new()),
                ..p
            },
        ] {
            assert!(
                matches!(bad.check(), Err(ProjectError::Axis(..))),
                "{bad:?}"
            );
        }
    }
}
