//! Opening a session: each data set, once loaded, gets its selection, text column and map
//! back at once; what needs more waits until it can be done: the metadata filters once the
//! charts are built, the colours and clusters once the map is finished, the search once every
//! set is open. Whatever no longer applies (a column gone, a map that failed) is said.

use std::sync::{Arc, Weak};

use super::jobs::JobKind;
use super::session::{SavedDataset, SavedFilter, SavedSearch};
use super::table::FilterSlot;
use super::{App, ColorMode, Command};
use crate::core::EmbeddingSet;
use crate::engine::jobs::ClusterMethod;

/// What a restored data set still waits for.
#[derive(Debug)]
pub(super) struct Restoring {
    set: Weak<EmbeddingSet>,
    filters: Vec<SavedFilter>,
    color: Option<ColorMode>,
    clusters: Option<ClusterMethod>,
}

/// The session's search and active set, applied once every set is open.
#[derive(Debug, Default)]
pub(super) struct SessionTail {
    pub active: Option<usize>,
    pub search: Option<SavedSearch>,
    /// Data sets of the session opened so far, with their place in the session.
    pub opened: Vec<(usize, Weak<EmbeddingSet>)>,
    pub expected: usize,
}

impl App {
    /// Data set `i` was opened for `saved`: what can be set now is set, the rest waits.
    pub(super) fn restore_dataset(&mut self, i: usize, place: usize, saved: SavedDataset) {
        let d = &mut self.datasets[i];
        d.selection = saved
            .selection
            .into_iter()
            .filter(|&r| r < d.set.rows())
            .collect();
        let name = d.name.clone();
        if let Some(col) = saved.text_column {
            if d.set.metadata.column(&col).is_some() {
                d.text_column_override = Some(col);
            } else {
                self.error(
                    format!("{name}: the session's text column is not there"),
                    format!("no metadata column named {col:?}; the text is read as before"),
                );
            }
        }
        let set = Arc::downgrade(&self.datasets[i].set);
        if let Some(tail) = &mut self.session_tail {
            tail.opened.push((place, set.clone()));
        }
        self.restoring.push(Restoring {
            set,
            filters: saved.filters,
            color: (saved.color != ColorMode::Uniform).then_some(saved.color),
            clusters: saved.clusters,
        });
        self.continue_restore();
    }

    /// Applies what the restored sets were waiting for, as far as it can be applied now.
    pub(super) fn continue_restore(&mut self) {
        let mut k = 0;
        while k < self.restoring.len() {
            let Some(i) = self
                .datasets
                .iter()
                .position(|d| Weak::ptr_eq(&Arc::downgrade(&d.set), &self.restoring[k].set))
            else {
                // Closed before it was restored.
                self.restoring.remove(k);
                continue;
            };
            if !self.restoring[k].filters.is_empty() {
                self.restore_filters(i, k);
            }
            let d = &self.datasets[i];
            let map_done = d.map_job.is_none() && d.map.as_ref().is_some_and(|m| m.finished);
            let map_failed = d.map_job.is_none() && d.map.is_none();
            if map_done {
                if let Some(m) = self.restoring[k].clusters.take() {
                    self.cluster_dataset(i, m);
                }
                // The colours once the clusters are found (they colour the map by cluster).
                if self.datasets[i].cluster_job.is_none()
                    && let Some(c) = self.restoring[k].color.take()
                {
                    self.set_color(i, c);
                }
            } else if map_failed {
                let r = &mut self.restoring[k];
                if r.clusters.take().is_some() {
                    let name = self.datasets[i].name.clone();
                    self.error(
                        format!("{name}: the session's clusters were not found again"),
                        "the map could not be made",
                    );
                }
                if let Some(c) = self.restoring[k].color.take() {
                    self.set_color(i, c);
                }
            }
            let r = &self.restoring[k];
            if r.filters.is_empty() && r.color.is_none() && r.clusters.is_none() {
                self.restoring.remove(k);
            } else {
                k += 1;
            }
        }
        self.finish_session();
    }

    /// Sets data set `i`'s saved filters once its charts are built (on the worker for a large
    /// set: this is called again when it ends).
    fn restore_filters(&mut self, i: usize, k: usize) {
        if !self.ensure_filter(i, false) {
            if matches!(self.datasets[i].table.filter, FilterSlot::Failed(_)) {
                self.restoring[k].filters.clear();
            }
            return;
        }
        let filters = std::mem::take(&mut self.restoring[k].filters);
        let mut missing = Vec::new();
        for f in filters {
            let FilterSlot::Ready(cf) = &self.datasets[i].table.filter else {
                return;
            };
            match cf.column_index(f.column()) {
                Some(c) => self.change_filter(i, |cf| cf.set_filter(c, f.filter())),
                None => missing.push(f.column().to_string()),
            }
        }
        if !missing.is_empty() {
            let name = self.datasets[i].name.clone();
            self.error(
                format!("{name}: some of the session's filters were left out"),
                format!("no chart for the columns {}", missing.join(", ")),
            );
        }
    }

    /// Once every set of the session is open (or failed to open), the active set and the
    /// search come back.
    fn finish_session(&mut self) {
        let loading = self.jobs.iter().any(|j| j.kind == JobKind::Load);
        let Some(tail) = &self.session_tail else {
            return;
        };
        if loading && tail.opened.len() < tail.expected {
            return;
        }
        let Some(tail) = self.session_tail.take() else {
            return;
        };
        self.pending_maps.clear();
        if let Some(i) = tail
            .active
            .and_then(|a| tail.opened.iter().find(|(p, _)| *p == a))
            .and_then(|(_, w)| {
                self.datasets
                    .iter()
                    .position(|d| Weak::ptr_eq(&Arc::downgrade(&d.set), w))
            })
        {
            self.apply(Command::SetActive(i));
        }
        if let Some(s) = tail.search {
            self.search.k = s.k.max(1);
            self.search.model = s.model;
            self.apply(Command::Search(s.text, s.mode));
        }
    }
}
