//! Vector expressions such as `king - man + woman`, `0.5*paris + rome`, `"new york" - city`.
//!
//! Operators are whitespace-separated `+` / `-` fields; a token that contains `-` (`x-ray`,
//! `-lrb-`) is read as a token. `N*token` scales a term; double quotes keep spaces in a token.
//! Without an operator between two terms, `+` is assumed.

use super::error::AnalysisError;
use super::knn::{KnnIndex, Metric, Query, unit};

#[derive(Debug, Clone, PartialEq)]
pub struct Term {
    pub weight: f32,
    pub token: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub terms: Vec<Term>,
}

impl Expr {
    /// Parses an expression.
    pub fn parse(s: &str) -> Result<Expr, AnalysisError> {
        let err = |msg: &str| AnalysisError::Expression {
            expr: s.to_string(),
            msg: msg.to_string(),
        };
        let mut items: Vec<(bool, String)> = Vec::new(); // (quoted, text)
        let mut chars = s.chars().peekable();
        while let Some(&c) = chars.peek() {
            if c.is_whitespace() {
                chars.next();
            } else if c == '"' {
                chars.next();
                let mut t = String::new();
                let mut closed = false;
                for c in chars.by_ref() {
                    if c == '"' {
                        closed = true;
                        break;
                    }
                    t.push(c);
                }
                if !closed {
                    return Err(err("unterminated quote"));
                }
                items.push((true, t));
            } else {
                let mut t = String::new();
                while let Some(&c) = chars.peek() {
                    if c.is_whitespace() {
                        break;
                    }
                    t.push(c);
                    chars.next();
                }
                items.push((false, t));
            }
        }
        let mut terms = Vec::new();
        let mut sign: Option<f32> = None;
        for (quoted, t) in items {
            if !quoted && (t == "+" || t == "-") {
                if sign.is_some() {
                    return Err(err("two operators in a row"));
                }
                sign = Some(if t == "+" { 1.0 } else { -1.0 });
                continue;
            }
            let (w, tok) = match (quoted, t.split_once('*')) {
                (false, Some((n, rest))) if !rest.is_empty() => match n.parse::<f32>() {
                    Ok(w) if w.is_finite() => (w, rest.trim_matches('"').to_string()),
                    _ => (1.0, t.clone()),
                },
                _ => (1.0, t.clone()),
            };
            terms.push(Term {
                weight: sign.take().unwrap_or(1.0) * w,
                token: tok,
            });
        }
        if sign.is_some() {
            return Err(err("ends with an operator"));
        }
        if terms.is_empty() {
            return Err(AnalysisError::EmptyQuery);
        }
        Ok(Expr { terms })
    }

    /// True when the expression is one plain token (weight 1).
    pub fn is_single_token(&self) -> bool {
        self.terms.len() == 1 && self.terms[0].weight == 1.0
    }

    /// Builds the query. Cosine follows gensim's `most_similar`: the weighted mean of the unit
    /// vectors, normalised; dot and euclidean use the weighted sum of the raw vectors. Every
    /// token of the expression is excluded from the results.
    pub fn to_query(&self, index: &KnnIndex, metric: Metric) -> Result<Query, AnalysisError> {
        let dim = index.set().dim();
        let mut acc = vec![0f64; dim];
        let mut total = 0f64;
        let mut exclude = Vec::new();
        for t in &self.terms {
            let i = index.index_of(&t.token)?;
            if !index.is_candidate(i, metric) {
                return Err(AnalysisError::DegenerateQuery);
            }
            let v = if metric == Metric::Cosine {
                index.unit_row(i)
            } else {
                index.set().matrix.row(i).to_vec()
            };
            for (a, &x) in acc.iter_mut().zip(&v) {
                *a += f64::from(t.weight) * f64::from(x);
            }
            total += f64::from(t.weight.abs());
            if !exclude.contains(&i) {
                exclude.push(i);
            }
        }
        let vector: Vec<f32> = if metric == Metric::Cosine {
            let mean: Vec<f32> = acc
                .iter()
                .map(|&a| (a / total.max(f64::MIN_POSITIVE)) as f32)
                .collect();
            unit(&mean).ok_or(AnalysisError::DegenerateQuery)?
        } else {
            acc.iter().map(|&a| a as f32).collect()
        };
        Ok(Query { vector, exclude })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(s: &str) -> Vec<(f32, String)> {
        Expr::parse(s)
            .unwrap()
            .terms
            .into_iter()
            .map(|t| (t.weight, t.token))
            .collect()
    }

    #[test]
    fn parses_operators_tokens_and_weights() {
        assert_eq!(
            terms("king - man + woman"),
            vec![
                (1.0, "king".into()),
                (-1.0, "man".into()),
                (1.0, "woman".into())
            ]
        );
        assert_eq!(
            terms("x-ray -lrb-"),
            vec![(1.0, "x-ray".into()), (1.0, "-lrb-".into())]
        );
        assert_eq!(
            terms("0.5*paris - \"new york\""),
            vec![(0.5, "paris".into()), (-1.0, "new york".into())]
        );
        assert_eq!(terms("- a"), vec![(-1.0, "a".into())]);
        assert!(Expr::parse("a + - b").is_err());
        assert!(Expr::parse("a +").is_err());
        assert!(Expr::parse("\"a").is_err());
        assert!(Expr::parse("  ").is_err());
        assert!(Expr::parse("word").unwrap().is_single_token());
    }
}
