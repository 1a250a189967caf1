//! Personal data in the open sets: each set is scanned on the worker when it opens (its tokens
//! and every metadata column, the documents' text included: `engine::jobs::ScanSet`); a set
//! with findings shows a badge and its findings (masked text, kind, row, column) in a window,
//! where a click selects the row. One switch, "Redact personal data", applies to every export
//! the app writes (the report, row exports, the selection, neighbour and cluster CSVs): on by
//! default when an open set has findings.

use std::borrow::Cow;
use std::sync::Arc;

use super::{App, Command, JobKind};
use crate::analysis::privacy;
use crate::engine::jobs::{JobId, ScanSet, SetFindings};

/// A data set's privacy scan.
#[derive(Debug, Clone, Default)]
pub struct PiiState {
    /// The scan running.
    pub job: Option<JobId>,
    /// Its result, once done.
    pub findings: Option<Arc<SetFindings>>,
}

impl PiiState {
    /// The badge's number: the findings of a finished scan, when there are any.
    pub fn badge(&self) -> Option<u64> {
        self.findings.as_ref().map(|f| f.total()).filter(|&n| n > 0)
    }

    /// The badge's text ("PII 12").
    pub fn badge_text(&self) -> Option<String> {
        self.badge().map(|n| format!("PII {n}"))
    }
}

/// Changes to the privacy state.
#[derive(Debug, Clone)]
pub enum PrivacyCommand {
    /// Every export masks personal data (true) or not; the choice holds until changed.
    SetRedact(bool),
    /// Make data set `dataset` active and select its `row` (a finding clicked in the list).
    ShowFinding { dataset: usize, row: usize },
}

/// `text` with its findings masked when `on` (the text itself otherwise, or when nothing is
/// found).
pub fn masked(text: &str, on: bool) -> Cow<'_, str> {
    if on {
        privacy::redact(text, |_| {})
    } else {
        Cow::Borrowed(text)
    }
}

impl App {
    /// Starts the privacy scan of data set `i`.
    pub(super) fn scan_privacy(&mut self, i: usize) {
        let Some(d) = self.datasets.get(i) else {
            return;
        };
        let job = ScanSet { set: d.set.clone() };
        let id = self.start(
            job,
            JobKind::Privacy,
            Some(i),
            |app, view, f: SetFindings| {
                let Some(d) = view.dataset.and_then(|i| app.datasets.get_mut(i)) else {
                    return;
                };
                if d.pii.job != Some(view.id) {
                    return;
                }
                d.pii.job = None;
                d.pii.findings = Some(Arc::new(f));
            },
        );
        self.datasets[i].pii.job = Some(id);
    }

    /// Whether an open set has findings.
    pub fn any_findings(&self) -> bool {
        self.datasets.iter().any(|d| d.pii.badge().is_some())
    }

    /// Whether exports mask personal data: the user's choice, else on when an open set has
    /// findings.
    pub fn redact_exports(&self) -> bool {
        self.redact.unwrap_or_else(|| self.any_findings())
    }

    pub(super) fn apply_privacy(&mut self, cmd: PrivacyCommand) {
        match cmd {
            PrivacyCommand::SetRedact(on) => {
                self.redact = Some(on);
                self.settings.redact = Some(on);
                self.save_settings();
            }
            PrivacyCommand::ShowFinding { dataset, row } => {
                if dataset < self.datasets.len() {
                    if self.active != Some(dataset) {
                        self.apply(Command::SetActive(dataset));
                    }
                    self.apply(Command::Select { row, add: false });
                }
            }
        }
    }
}
