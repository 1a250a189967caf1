//! The search box: tokens matched exactly, by prefix or by a regular expression; in a document
//! set, the text of each document (substring, whole word or regular expression).

use super::{App, AppError};
use crate::core::{EmbeddingSet, RowKind};

/// How the search box matches tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum SearchMode {
    #[default]
    Exact,
    Prefix,
    /// A regular expression: over tokens, or over the text of a document set.
    Regex,
    /// The text contains the query, ignoring case (document sets; tokens otherwise).
    Substring,
    /// The text contains the query as whole words, ignoring case.
    WholeWord,
}

impl SearchMode {
    pub fn name(self) -> &'static str {
        match self {
            SearchMode::Exact => "exact",
            SearchMode::Prefix => "prefix",
            SearchMode::Regex => "regex",
            SearchMode::Substring => "substring",
            SearchMode::WholeWord => "whole word",
        }
    }

    /// The modes offered for a set whose rows are documents (searching their text) or words.
    pub fn offered(documents: bool) -> &'static [SearchMode] {
        if documents {
            &[
                SearchMode::Substring,
                SearchMode::WholeWord,
                SearchMode::Regex,
            ]
        } else {
            &[SearchMode::Exact, SearchMode::Prefix, SearchMode::Regex]
        }
    }
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

/// Rows whose token matches `text` (ascending); in a set with a text column (documents,
/// occurrences), rows whose text matches, for the text modes and regular expressions.
pub fn search(set: &EmbeddingSet, text: &str, mode: SearchMode) -> Result<Vec<usize>, AppError> {
    use rayon::prelude::*;
    let query = text.trim();
    if query.is_empty() {
        return Ok(Vec::new());
    }
    let texts = (set.row_kind() != RowKind::Words)
        .then(|| set.text_column())
        .flatten()
        .map(|c| c.values.as_slice());
    let regex = |pattern: &str, case_insensitive: bool| {
        regex::RegexBuilder::new(pattern)
            .case_insensitive(case_insensitive)
            .size_limit(1 << 22)
            .build()
            .map_err(|e| AppError::Regex(e.to_string()))
    };
    let re = match mode {
        SearchMode::Exact => return Ok(set.vocab.get(query).into_iter().collect()),
        SearchMode::Prefix => {
            return Ok(set
                .vocab
                .iter()
                .enumerate()
                .filter(|(_, t)| t.starts_with(query))
                .map(|(i, _)| i)
                .collect());
        }
        SearchMode::Regex => regex(query, false)?,
        SearchMode::Substring => regex(&regex::escape(query), true)?,
        SearchMode::WholeWord => regex(&format!(r"\b{}\b", regex::escape(query)), true)?,
    };
    Ok(match texts {
        Some(texts) => texts
            .par_iter()
            .enumerate()
            .filter(|(_, t)| re.is_match(t))
            .map(|(i, _)| i)
            .collect(),
        None => set
            .vocab
            .iter()
            .enumerate()
            .filter(|(_, t)| re.is_match(t))
            .map(|(i, _)| i)
            .collect(),
    })
}

/// Byte ranges of the matches of a search in one text (for highlighting), at most `max`.
pub fn match_ranges(text: &str, query: &str, mode: SearchMode, max: usize) -> Vec<(usize, usize)> {
    let query = query.trim();
    if query.is_empty() {
        return Vec::new();
    }
    let pattern = match mode {
        SearchMode::Regex => query.to_string(),
        SearchMode::WholeWord => format!(r"(?i)\b{}\b", regex::escape(query)),
        _ => format!("(?i){}", regex::escape(query)),
    };
    match regex::RegexBuilder::new(&pattern)
        .size_limit(1 << 22)
        .build()
    {
        Ok(re) => re
            .find_iter(text)
            .filter(|m| !m.is_empty())
            .take(max)
            .map(|m| (m.start(), m.end()))
            .collect(),
        Err(_) => Vec::new(),
    }
}
