//! The search box: tokens matched exactly, by prefix or by a regular expression.

use super::{App, AppError};
use crate::core::EmbeddingSet;

/// How the search box matches tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SearchMode {
    #[default]
    Exact,
    Prefix,
    Regex,
}

#[derive(Debug, Clone, Default)]
pub struct SearchState {
    pub text: String,
    pub mode: SearchMode,
    /// Matching rows, ascending.
    pub matches: Vec<usize>,
    pub error: Option<AppError>,
    /// Bumped on each search (the map centres on the matches once).
    pub generation: u64,
}

impl App {
    pub(super) fn refresh_search(&mut self) {
        let Some(d) = self.active.and_then(|i| self.datasets.get(i)) else {
            self.search.matches.clear();
            return;
        };
        match search(&d.set, &self.search.text, self.search.mode) {
            Ok(m) => {
                self.search.matches = m;
                self.search.error = None;
            }
            Err(e) => {
                self.search.matches.clear();
                self.search.error = Some(e);
            }
        }
    }
}

/// Rows whose token matches `text` (ascending).
pub fn search(set: &EmbeddingSet, text: &str, mode: SearchMode) -> Result<Vec<usize>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(Vec::new());
    }
    Ok(match mode {
        SearchMode::Exact => set.vocab.get(text).into_iter().collect(),
        SearchMode::Prefix => set
            .vocab
            .iter()
            .enumerate()
            .filter(|(_, t)| t.starts_with(text))
            .map(|(i, _)| i)
            .collect(),
        SearchMode::Regex => {
            let re = regex::RegexBuilder::new(text)
                .size_limit(1 << 22)
                .build()
                .map_err(|e| AppError::Regex(e.to_string()))?;
            set.vocab
                .iter()
                .enumerate()
                .filter(|(_, t)| re.is_match(t))
                .map(|(i, _)| i)
                .collect()
        }
    })
}
