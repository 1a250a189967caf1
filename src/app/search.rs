//! The search box: tokens matched exactly, by prefix or by a regular expression; in a document
//! set, the text of each document (substring, whole word or regular expression) or its meaning
//! (the query encoded with the set's own model on the worker, the rows ranked by cosine).

use std::path::PathBuf;
use std::sync::{Arc, Weak};

use super::jobs::{JobKind, JobView};
use super::{App, AppError};
use crate::core::{EmbeddingSet, RowKind};
use crate::engine::jobs::{JobId, SemanticFound, SemanticSearch};

/// Documents listed by a search by meaning, unless the user asks for another number.
pub const MEANING_K: usize = 20;

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
    /// The documents closest in meaning to the query (encoded with the set's model).
    Meaning,
}

impl SearchMode {
    pub fn name(self) -> &'static str {
        match self {
            SearchMode::Exact => "exact",
            SearchMode::Prefix => "prefix",
            SearchMode::Regex => "regex",
            SearchMode::Substring => "substring",
            SearchMode::WholeWord => "whole word",
            SearchMode::Meaning => "meaning",
        }
    }

    /// The modes offered for a set whose rows are documents (searching their text) or words.
    pub fn offered(documents: bool) -> &'static [SearchMode] {
        if documents {
            &[
                SearchMode::Substring,
                SearchMode::WholeWord,
                SearchMode::Regex,
                SearchMode::Meaning,
            ]
        } else {
            &[SearchMode::Exact, SearchMode::Prefix, SearchMode::Regex]
        }
    }
}

#[derive(Debug, Clone)]
pub struct SearchState {
    pub text: String,
    pub mode: SearchMode,
    /// Matching rows, ascending.
    pub matches: Vec<usize>,
    pub error: Option<AppError>,
    /// Bumped on each search (the map centres on the matches once).
    pub generation: u64,
    /// A search by meaning: the rows found with their cosine, best first.
    pub ranked: Vec<(usize, f32)>,
    /// The set those rows belong to.
    ranked_for: Weak<EmbeddingSet>,
    /// The search by meaning running.
    pub meaning_job: Option<JobId>,
    /// How many documents a search by meaning lists.
    pub k: usize,
    /// The model folder given for searches by meaning (None: the one the set records).
    pub model: Option<PathBuf>,
    /// The model folder cannot encode the set's queries (none recorded, gone, other weights):
    /// the panel offers to give one.
    pub model_problem: bool,
    /// What the last search by meaning checked and chose (folder, sha256, prompt), and its
    /// seconds: loading the model, encoding the query, ranking the rows.
    pub notes: Vec<String>,
    pub seconds: Option<[f64; 3]>,
}

impl Default for SearchState {
    fn default() -> SearchState {
        SearchState {
            text: String::new(),
            mode: SearchMode::default(),
            matches: Vec::new(),
            error: None,
            generation: 0,
            ranked: Vec::new(),
            ranked_for: Weak::new(),
            meaning_job: None,
            k: MEANING_K,
            model: None,
            model_problem: false,
            notes: Vec::new(),
            seconds: None,
        }
    }
}

impl App {
    pub(super) fn refresh_search(&mut self) {
        let Some(d) = self.active.and_then(|i| self.datasets.get(i)) else {
            self.search.matches.clear();
            self.search.ranked.clear();
            return;
        };
        if self.search.mode == SearchMode::Meaning {
            // Results by meaning stay with the set they were found in.
            let same = self
                .search
                .ranked_for
                .upgrade()
                .is_some_and(|s| Arc::ptr_eq(&s, &d.set));
            if !same {
                self.search.matches.clear();
                self.search.ranked.clear();
            }
            return;
        }
        self.search.ranked.clear();
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

impl App {
    /// Starts a search by meaning of the search text in the active set (a running one is
    /// cancelled; its results would be stale).
    pub(super) fn search_by_meaning(&mut self) {
        if let Some(j) = self.search.meaning_job.take() {
            self.worker.cancel(j);
        }
        let s = &mut self.search;
        s.matches.clear();
        s.ranked.clear();
        s.error = None;
        s.model_problem = false;
        s.notes.clear();
        s.seconds = None;
        let query = s.text.trim().to_string();
        let Some(i) = self.active.filter(|&i| i < self.datasets.len()) else {
            return;
        };
        if query.is_empty() {
            return;
        }
        let d = &self.datasets[i];
        let job = SemanticSearch {
            set: d.set.clone(),
            scan: d.scan.clone(),
            query,
            k: self.search.k.clamp(1, d.set.rows().max(1)),
            model: self.search.model.clone(),
            loaded: d.query_model.clone(),
        };
        let id = self.start(job, JobKind::Search, Some(i), meaning_found);
        self.search.meaning_job = Some(id);
    }

    /// The search by meaning `id` failed or was cancelled.
    pub(super) fn meaning_search_ended(&mut self, id: JobId, error: Option<&str>) {
        if self.search.meaning_job == Some(id) {
            self.search.meaning_job = None;
            if let Some(e) = error {
                self.search.error = Some(AppError::Search(e.to_string()));
            }
        }
    }
}

fn meaning_found(app: &mut App, view: &JobView, out: SemanticFound) {
    if app.search.meaning_job != Some(view.id) {
        return;
    }
    app.search.meaning_job = None;
    let Some(i) = app
        .datasets
        .iter()
        .position(|d| Arc::ptr_eq(&d.set, &out.set))
    else {
        return;
    };
    if out.loaded.is_some() {
        app.datasets[i].query_model = out.loaded;
    }
    let s = &mut app.search;
    match out.hits {
        Ok(hits) => {
            let mut rows: Vec<usize> = hits.iter().map(|&(r, _)| r).collect();
            rows.sort_unstable();
            s.matches = rows;
            s.ranked = hits;
            s.ranked_for = Arc::downgrade(&out.set);
            s.notes = out.notes;
            s.seconds = Some(out.seconds);
            s.generation += 1;
        }
        Err(e) => {
            s.error = Some(AppError::Search(e.to_string()));
            s.model_problem = true;
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
        // Ranked on the worker (`App::search_by_meaning`).
        SearchMode::Meaning => return Ok(Vec::new()),
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
        SearchMode::Meaning => return Vec::new(),
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
