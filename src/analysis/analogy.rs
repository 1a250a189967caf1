//! Analogies `a : b :: c : ?` by 3CosAdd (gensim `most_similar(positive=[b, c], negative=[a])`)
//! and 3CosMul (Levy & Goldberg 2014; gensim `most_similar_cosmul`), query words excluded.

use serde::{Deserialize, Serialize};

use super::error::AnalysisError;
use super::expr::{Expr, Term};
use super::knn::{CHUNK, KnnIndex, Metric, Neighbor, Scorer, TopN};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// 3CosAdd: cos(x, b - a + c) on unit vectors.
    #[default]
    Add,
    /// 3CosMul: cos'(x,b) cos'(x,c) / (cos'(x,a) + 1e-6), with cos' = (1 + cos) / 2.
    Mul,
}

impl Method {
    pub const ALL: [Method; 2] = [Method::Add, Method::Mul];

    pub fn name(self) -> &'static str {
        match self {
            Method::Add => "add",
            Method::Mul => "mul",
        }
    }

    /// The method's published name: 3CosAdd or 3CosMul.
    pub fn title(self) -> &'static str {
        match self {
            Method::Add => "3CosAdd",
            Method::Mul => "3CosMul",
        }
    }
}

impl std::fmt::Display for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for Method {
    type Err = String;

    /// `add` (3CosAdd) or `mul` (3CosMul), in any case.
    fn from_str(s: &str) -> Result<Method, String> {
        Method::ALL
            .into_iter()
            .find(|m| m.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| {
                let names = Method::ALL.map(Method::name);
                format!(
                    "unknown analogy method '{s}'; expected one of: {}",
                    names.join(", ")
                )
            })
    }
}

/// Epsilon of the 3CosMul denominator (as gensim).
pub const COSMUL_EPSILON: f32 = 1e-6;

/// Solves `a : b :: c : ?`, returning the top `k` (query words excluded).
pub fn analogy(
    index: &KnnIndex,
    a: &str,
    b: &str,
    c: &str,
    k: usize,
    method: Method,
    restrict: Option<usize>,
) -> Result<Vec<Neighbor>, AnalysisError> {
    match method {
        Method::Add => {
            let e = Expr {
                terms: vec![
                    Term {
                        weight: 1.0,
                        token: b.to_string(),
                    },
                    Term {
                        weight: 1.0,
                        token: c.to_string(),
                    },
                    Term {
                        weight: -1.0,
                        token: a.to_string(),
                    },
                ],
            };
            let q = e.to_query(index, Metric::Cosine)?;
            Ok(index.search(&[q], k, Metric::Cosine, restrict)?.remove(0))
        }
        Method::Mul => {
            let pos = [index.index_of(b)?, index.index_of(c)?];
            let neg = [index.index_of(a)?];
            Ok(cosmul_batch(index, &[(&pos[..], &neg[..])], k, restrict)?.remove(0))
        }
    }
}

/// 3CosMul scores from the cosines with the positive rows (first) and negative rows.
struct CosMulScorer<'a> {
    inv: &'a [f32],
    positives: usize,
    width: usize,
}

impl Scorer for CosMulScorer<'_> {
    fn width(&self) -> usize {
        self.width
    }
    fn chunk(&self, tile: &[f32], nb: usize, j0: usize, c: usize, out: &mut [f32; CHUNK]) {
        let len = CHUNK.min(nb - c);
        for (jj, o) in out[..len].iter_mut().enumerate() {
            let j = c + jj;
            let s = self.inv[j0 + j];
            let mut pos = 1f32;
            for r in 0..self.positives {
                pos *= (1.0 + tile[r * nb + j] * s) / 2.0;
            }
            let mut neg = 1f32;
            for r in self.positives..self.width {
                neg *= (1.0 + tile[r * nb + j] * s) / 2.0;
            }
            *o = pos / (neg + COSMUL_EPSILON);
        }
    }
}

/// 3CosMul for many questions with the same number of positive and negative words each.
/// Each question's words are excluded from its results.
pub fn cosmul_batch(
    index: &KnnIndex,
    questions: &[(&[usize], &[usize])],
    k: usize,
    restrict: Option<usize>,
) -> Result<Vec<Vec<Neighbor>>, AnalysisError> {
    let rows = index.set().rows();
    let k = TopN::within(k, restrict.map_or(rows, |r| r.min(rows)))?;
    let Some(&(p0, n0)) = questions.first() else {
        return Ok(Vec::new());
    };
    let (np, nn) = (p0.len(), n0.len());
    if np == 0 {
        return Err(AnalysisError::EmptyQuery);
    }
    let width = np + nn;
    let mut qmat = Vec::with_capacity(questions.len() * width * index.set().dim());
    let mut excl = Vec::with_capacity(questions.len());
    for (p, n) in questions {
        if p.len() != np || n.len() != nn {
            return Err(AnalysisError::InvalidParameter(
                "3CosMul batch questions must have the same shape".into(),
            ));
        }
        let mut ex = Vec::with_capacity(width);
        for &i in p.iter().chain(n.iter()) {
            if !index.is_candidate(i, Metric::Cosine) {
                return Err(AnalysisError::DegenerateQuery);
            }
            qmat.extend(index.unit_row(i));
            ex.push(i);
        }
        excl.push(ex);
    }
    let excl_refs: Vec<&[usize]> = excl.iter().map(Vec::as_slice).collect();
    let scorer = CosMulScorer {
        inv: &index.inv_norms,
        positives: np,
        width,
    };
    let raw = index.scan(&qmat, k, restrict, Metric::Cosine, &excl_refs, &scorer);
    Ok(raw
        .into_iter()
        .map(|l| {
            l.into_iter()
                .map(|(s, i)| Neighbor {
                    index: i as usize,
                    score: s,
                })
                .collect()
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::Method;

    #[test]
    fn method_names_round_trip() {
        for m in Method::ALL {
            assert_eq!(m.to_string().parse::<Method>(), Ok(m));
            assert_eq!(m.name().to_uppercase().parse::<Method>(), Ok(m));
        }
        assert_eq!(Method::Mul.title(), "3CosMul");
        let e = "div".parse::<Method>().unwrap_err();
        assert!(e.contains("'div'") && e.contains("add, mul"), "{e}");
    }
}
