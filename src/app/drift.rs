//! The Drift window's state (egui-free): two open sets of one model, or one set split by a
//! metadata column (a date, two groups of values, a threshold); the tests and options; the
//! latest study (`engine::jobs::DriftJob`): its methods, the joint map coloured by side, the
//! clusters of the joint rows sorted by change of share, the chosen cluster's documents, and
//! the cluster's rows selected on the main map.

use std::sync::Arc;

use super::{App, JobKind};
use crate::analysis::drift::{DriftMethod, DriftParams, SideRow, StudyParams};
use crate::analysis::split::SplitRule;
use crate::core::EmbeddingSet;
use crate::engine::jobs::{DriftJob, DriftJobSides, DriftRun, JobId};

/// Two open sets, or one set split by a column.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum DriftMode {
    #[default]
    TwoSets,
    Split,
}

/// How a split's column is read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SplitKind {
    /// Dates before the value are the reference.
    #[default]
    Before,
    /// `A,B`: the reference's values, a comma, the current's (`|` between values of a side).
    Values,
    /// Numbers below the value are the reference.
    Threshold,
}

impl SplitKind {
    pub const ALL: [SplitKind; 3] = [SplitKind::Before, SplitKind::Values, SplitKind::Threshold];

    pub fn name(self) -> &'static str {
        match self {
            SplitKind::Before => "before a date",
            SplitKind::Values => "by values",
            SplitKind::Threshold => "at a threshold",
        }
    }

    /// What the value field holds.
    pub fn hint(self) -> &'static str {
        match self {
            SplitKind::Before => "2024-07-01",
            SplitKind::Values => "2023-Q4,2024-Q1 (a|b for several)",
            SplitKind::Threshold => "0.5",
        }
    }

    /// The rule from the typed value.
    pub fn rule(self, value: &str) -> Result<SplitRule, String> {
        let v = value.trim();
        match self {
            SplitKind::Before => SplitRule::before(v).map_err(|e| e.to_string()),
            SplitKind::Values => SplitRule::values(v).map_err(|e| e.to_string()),
            SplitKind::Threshold => {
                let at: f64 = v
                    .parse()
                    .map_err(|_| format!("threshold {v:?}: expected a number, e.g. 0.5"))?;
                SplitRule::threshold(at).map_err(|e| e.to_string())
            }
        }
    }
}

/// The window's inputs, as edited.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftForm {
    pub mode: DriftMode,
    /// The reference set by name (None: the active set).
    pub reference: Option<String>,
    /// The current set by name (None: the first other open set).
    pub current: Option<String>,
    /// The column a split reads.
    pub column: String,
    pub kind: SplitKind,
    pub value: String,
    pub methods: Vec<DriftMethod>,
    pub permutations: usize,
    /// Principal components both samples are projected onto first.
    pub pca: Option<usize>,
    pub seed: u64,
    pub clusters: usize,
    pub keywords: usize,
    pub allow_other_models: bool,
}

impl Default for DriftForm {
    fn default() -> Self {
        DriftForm {
            mode: DriftMode::TwoSets,
            reference: None,
            current: None,
            column: String::new(),
            kind: SplitKind::Before,
            value: String::new(),
            methods: DriftMethod::ALL.to_vec(),
            permutations: 1000,
            pca: None,
            seed: 0,
            clusters: 12,
            keywords: 6,
            allow_other_models: false,
        }
    }
}

/// The Drift window's state.
#[derive(Debug, Clone, Default)]
pub struct DriftState {
    pub form: DriftForm,
    pub job: Option<JobId>,
    /// The latest study.
    pub run: Option<DriftRun>,
    /// The cluster whose documents are listed and whose points are marked on the joint map.
    pub cluster: Option<i64>,
}

/// Changes to the Drift window.
#[derive(Debug, Clone)]
pub enum DriftCommand {
    SetForm(DriftForm),
    /// Run the study the form describes (a running one is cancelled).
    Run,
    /// List this cluster's documents and mark its points (None: none).
    SelectCluster(Option<i64>),
    /// Select the cluster's rows on the main map of each side's set (when still open), and
    /// show the side where it has the larger share.
    ShowInMap(i64),
}

/// One listed document of a cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftDocument {
    /// 0 reference, 1 current.
    pub side: usize,
    pub row: usize,
    /// The row's text (one line), or its token for word sets.
    pub text: String,
}

impl DriftState {
    pub fn busy(&self) -> bool {
        self.job.is_some()
    }

    /// The joint map's points per side (reference, current), at most `max_per_side` each,
    /// every n-th kept when a side has more (the same points each frame).
    pub fn points(&self, max_per_side: usize) -> [Vec<[f64; 2]>; 2] {
        let Some((run, map)) = self
            .run
            .as_ref()
            .and_then(|r| r.study.map.as_ref().map(|m| (r, m)))
        else {
            return [Vec::new(), Vec::new()];
        };
        let n_ref = run.study.report.kept.reference.len();
        let side = |range: std::ops::Range<usize>| {
            let step = range.len().div_ceil(max_per_side.max(1)).max(1);
            range
                .step_by(step)
                .filter_map(|j| map.xy.get(j))
                .map(|p| [f64::from(p[0]), f64::from(p[1])])
                .collect::<Vec<_>>()
        };
        [side(0..n_ref), side(n_ref..map.xy.len())]
    }

    /// The chosen cluster's points on the joint map, per side.
    pub fn cluster_points(&self, id: i64) -> [Vec<[f64; 2]>; 2] {
        let mut out = [Vec::new(), Vec::new()];
        let Some(run) = &self.run else {
            return out;
        };
        let Some(map) = &run.study.map else {
            return out;
        };
        let n_ref = run.study.report.kept.reference.len();
        for j in run.study.members(id) {
            if let Some(p) = map.xy.get(j) {
                out[usize::from(j >= n_ref)].push([f64::from(p[0]), f64::from(p[1])]);
            }
        }
        out
    }

    /// Up to `limit` documents of cluster `id`: the side where the cluster grew first (the
    /// current side for a positive ratio), then the other, each in row order.
    pub fn documents(&self, id: i64, limit: usize) -> Vec<DriftDocument> {
        let Some(run) = &self.run else {
            return Vec::new();
        };
        let study = &run.study;
        let (rset, cset) = run.sides.sets();
        let grew_current = study
            .clusters
            .iter()
            .find(|c| c.drift.id == id)
            .is_none_or(|c| c.drift.ratio >= 0.0);
        let members = study.members(id);
        let of_side = |want: usize| {
            members
                .iter()
                .filter_map(move |&j| match study.side_row(j) {
                    Some(SideRow::Reference(r)) if want == 0 => Some((0, r)),
                    Some(SideRow::Current(r)) if want == 1 => Some((1, r)),
                    _ => None,
                })
        };
        let order = if grew_current { [1, 0] } else { [0, 1] };
        let mut out = Vec::new();
        for side in order {
            let set: &EmbeddingSet = if side == 0 { rset } else { cset };
            for (side, row) in of_side(side) {
                if out.len() >= limit {
                    return out;
                }
                out.push(DriftDocument {
                    side,
                    row,
                    text: set.row_label(row, 300),
                });
            }
        }
        out
    }
}

impl App {
    pub(super) fn apply_drift(&mut self, cmd: DriftCommand) {
        match cmd {
            DriftCommand::SetForm(f) => self.drift.form = f,
            DriftCommand::Run => self.run_drift(),
            DriftCommand::SelectCluster(c) => self.drift.cluster = c,
            DriftCommand::ShowInMap(id) => self.drift_show_in_map(id),
        }
    }

    /// The reference set of the form (by name, else the active set), as an index.
    pub fn drift_reference(&self) -> Option<usize> {
        let f = &self.drift.form;
        f.reference
            .as_ref()
            .and_then(|n| self.datasets.iter().position(|d| &d.name == n))
            .or(self.active)
            .filter(|&i| i < self.datasets.len())
    }

    /// The current set of the form (by name, else the first open set other than the
    /// reference), as an index.
    pub fn drift_current(&self) -> Option<usize> {
        let r = self.drift_reference();
        self.drift
            .form
            .current
            .as_ref()
            .and_then(|n| self.datasets.iter().position(|d| &d.name == n))
            .or_else(|| (0..self.datasets.len()).find(|&i| Some(i) != r))
    }

    fn run_drift(&mut self) {
        let f = self.drift.form.clone();
        let Some(ri) = self.drift_reference() else {
            self.error(
                "no data set to test",
                "Open a data set (File > Open), or encode a corpus, first.",
            );
            return;
        };
        if f.methods.is_empty() {
            self.error("no drift test chosen", "Tick one or more tests.");
            return;
        }
        let rd = &self.datasets[ri];
        let (sides, names) = match f.mode {
            DriftMode::TwoSets => {
                let Some(ci) = self.drift_current().filter(|&c| c != ri) else {
                    self.error(
                        "drift needs a second data set",
                        "Open the current set (e.g. this quarter's tickets, encoded by the same \
                         model), or split this set by a column.",
                    );
                    return;
                };
                let cd = &self.datasets[ci];
                (
                    DriftJobSides::Two {
                        reference: rd.set.clone(),
                        current: cd.set.clone(),
                        allow_other_models: f.allow_other_models,
                    },
                    [rd.name.clone(), cd.name.clone()],
                )
            }
            DriftMode::Split => {
                let column = f.column.trim().to_string();
                if column.is_empty() {
                    self.error(
                        "drift: which column?",
                        "Choose the column the set is split by.",
                    );
                    return;
                }
                let rule = match f.kind.rule(&f.value) {
                    Ok(r) => r,
                    Err(e) => {
                        self.error("drift: the split cannot be read", e);
                        return;
                    }
                };
                (
                    DriftJobSides::Split {
                        set: rd.set.clone(),
                        column: column.clone(),
                        rule,
                    },
                    [
                        format!("{} (reference)", rd.name),
                        format!("{} (current)", rd.name),
                    ],
                )
            }
        };
        let params = StudyParams {
            drift: DriftParams {
                methods: f.methods.clone(),
                pca: f.pca,
                seed: f.seed,
                permutations: f.permutations,
                ..DriftParams::default()
            },
            clusters: f.clusters,
            keywords: f.keywords,
            map: true,
        };
        if let Err(e) = params.check() {
            self.error("bad drift options", e.to_string());
            return;
        }
        if let Some(j) = self.drift.job.take() {
            self.worker.cancel(j);
        }
        let job = DriftJob {
            sides,
            names,
            params,
        };
        let id = self.start(job, JobKind::Drift, None, |app, view, run| {
            app.finish_drift(view.id, run)
        });
        self.drift.job = Some(id);
    }

    fn finish_drift(&mut self, id: JobId, run: DriftRun) {
        if self.drift.job != Some(id) {
            return;
        }
        self.drift.job = None;
        for w in &run.study.warnings {
            self.info(format!("drift: {w}"));
        }
        self.drift.cluster = run.study.clusters.first().map(|c| c.drift.id);
        self.drift.run = Some(run);
    }

    /// A drift job failed or was cancelled.
    pub(super) fn drift_job_ended(&mut self, id: JobId) {
        if self.drift.job == Some(id) {
            self.drift.job = None;
        }
    }

    fn drift_show_in_map(&mut self, id: i64) {
        let Some(run) = &self.drift.run else {
            return;
        };
        let study = Arc::clone(&run.study);
        let (rset, cset) = run.sides.sets();
        let open =
            |s: &Arc<EmbeddingSet>| self.datasets.iter().position(|d| Arc::ptr_eq(&d.set, s));
        let (ri, ci) = (open(rset), open(cset));
        if ri.is_none() && ci.is_none() {
            self.error(
                "the sets of this drift run are closed",
                "Open them again and run the study to see its clusters on the map.",
            );
            return;
        }
        let mut rows = [Vec::new(), Vec::new()];
        for j in study.members(id) {
            match study.side_row(j) {
                Some(SideRow::Reference(r)) => rows[0].push(r),
                Some(SideRow::Current(r)) => rows[1].push(r),
                None => {}
            }
        }
        let grew_current = study
            .clusters
            .iter()
            .find(|c| c.drift.id == id)
            .is_none_or(|c| c.drift.ratio >= 0.0);
        let show = if ri == ci {
            // One set split in two: both sides' rows on its map.
            let mut all = std::mem::take(&mut rows[0]);
            all.append(&mut rows[1]);
            all.sort_unstable();
            if let Some(i) = ri {
                self.datasets[i].selection = all;
            }
            ri
        } else {
            let [r, c] = rows;
            for (i, sel) in [(ri, r), (ci, c)] {
                if let Some(i) = i {
                    self.datasets[i].selection = sel;
                }
            }
            if grew_current { ci.or(ri) } else { ri.or(ci) }
        };
        if let Some(i) = show {
            self.active = Some(i);
            self.refresh_search();
        }
        self.refresh_neighbours();
    }
}
