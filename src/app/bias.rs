//! The bias probes panel's state: which WEAT tests (bundled ones, and one user test whose four
//! word lists are edited as text), on which data sets, with which options; the direction,
//! definitional pairs and neutral words of the direct-bias probe; the latest results. Commands
//! change it; the statistics run as engine jobs (`engine::jobs::Weat`, `DirectBiasJob`), and hard
//! debiasing adds its new set to the data sets as `<name> (hard-debiased)`.

use std::path::PathBuf;

use super::{App, JobKind};
use crate::analysis::bias::{
    self, BiasDirection, CaseMode, DebiasOptions, DebiasReport, DirectBias, Projection,
    WeatOptions, WeatTest, WordSet,
};
use crate::engine::jobs::{DirectBiasJob, DirectRun, DirectSpec, JobId, Weat, WeatCell, WeatRun};

/// The app's defaults: fewer permutations and bootstrap replicates than the CLI (a run of
/// several tests stays well under a second), seeded.
pub fn default_options() -> WeatOptions {
    WeatOptions {
        permutations: 10_000,
        bootstrap: 2_000,
        seed: 0,
        ..WeatOptions::default()
    }
}

/// The four sets' letters, in the order of `UserTest::lists`.
pub const ROLES: [&str; 4] = ["X", "Y", "A", "B"];

/// A test the user writes: four lists of words, one per line.
#[derive(Debug, Clone, PartialEq)]
pub struct UserTest {
    /// Run it with the ticked bundled tests.
    pub enabled: bool,
    pub name: String,
    /// Names of X, Y, A, B.
    pub set_names: [String; 4],
    /// X, Y, A, B: one word (or phrase) per line; blank lines and `#` lines are skipped.
    pub lists: [String; 4],
}

impl Default for UserTest {
    fn default() -> Self {
        UserTest {
            enabled: false,
            name: "my-test".into(),
            set_names: ROLES.map(String::from),
            lists: Default::default(),
        }
    }
}

/// Words of one list as typed: one per line, trimmed; blank and `#` lines skipped.
pub fn lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

impl UserTest {
    /// The test as WEAT takes it (the lists are checked when it runs).
    pub fn test(&self) -> WeatTest {
        let set = |i: usize| {
            let name = self.set_names[i].trim();
            WordSet::new(
                if name.is_empty() { ROLES[i] } else { name },
                lines(&self.lists[i]),
            )
        };
        let name = self.name.trim();
        WeatTest {
            name: if name.is_empty() {
                "my-test".into()
            } else {
                name.to_string()
            },
            x: set(0),
            y: set(1),
            a: set(2),
            b: set(3),
            original: None,
        }
    }

    /// Fills the lists from a test (a bundled one, or one read from a file).
    pub fn fill(&mut self, t: &WeatTest) {
        for (i, s) in [&t.x, &t.y, &t.a, &t.b].into_iter().enumerate() {
            self.set_names[i] = s.name.clone();
            self.lists[i] = s.words.join("\n");
        }
    }
}

/// The direct-bias probe's inputs, as edited.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectForm {
    /// The data set measured (None: the active one).
    pub dataset: Option<String>,
    pub positive: String,
    pub negative: String,
    /// Definitional pairs, one per line (two words separated by spaces, a tab or a comma).
    pub pairs: String,
    /// Neutral words, one per line.
    pub words: String,
    /// Strictness c of DB_c.
    pub c: f64,
    /// Words shown at each end of the projection chart.
    pub top: usize,
}

impl Default for DirectForm {
    fn default() -> Self {
        let b = bias::bolukbasi();
        DirectForm {
            dataset: None,
            positive: "she".into(),
            negative: "he".into(),
            pairs: b
                .definitional_pairs
                .iter()
                .map(|(a, b)| format!("{a} {b}"))
                .collect::<Vec<_>>()
                .join("\n"),
            words: b.neutral_professions().join("\n"),
            c: 1.0,
            top: 10,
        }
    }
}

/// What hard debiasing reported, kept with the direct-bias result.
#[derive(Debug, Clone)]
pub struct DebiasSummary {
    /// The name the new data set was given.
    pub name: String,
    pub report: DebiasReport,
    /// Direct bias of the same neutral words on the new set.
    pub bias_after: Option<DirectBias>,
}

/// The latest direct-bias result.
#[derive(Debug, Clone)]
pub struct DirectResult {
    pub dataset: String,
    pub direction: BiasDirection,
    pub bias: DirectBias,
    pub debias: Option<DebiasSummary>,
    pub seconds: f64,
}

impl DirectResult {
    /// The `top` most extreme projections at each end: (towards the positive word, largest
    /// first; towards the negative word, most negative first).
    pub fn extremes(&self, top: usize) -> (Vec<&Projection>, Vec<&Projection>) {
        let p = &self.bias.projections;
        let n = top.min(p.len() / 2 + p.len() % 2);
        let pos: Vec<&Projection> = p.iter().take(n).collect();
        let neg: Vec<&Projection> = p.iter().rev().take(top.min(p.len() - n)).collect();
        (pos, neg)
    }
}

/// One data set's points on the effect-size chart: per test it ran, (x, effect, CI low, CI
/// high); tests are at x = 0, 1, ... and the data sets side by side around them.
#[derive(Debug, Clone, PartialEq)]
pub struct EffectSeries {
    pub dataset: String,
    pub points: Vec<[f64; 4]>,
}

/// The chart of a run: a series per data set.
pub fn effect_series(run: &WeatRun) -> Vec<EffectSeries> {
    let n = run.datasets.len().max(1);
    let width = 0.6;
    run.datasets
        .iter()
        .enumerate()
        .map(|(si, name)| {
            let offset = if n == 1 {
                0.0
            } else {
                -width / 2.0 + width * si as f64 / (n - 1) as f64
            };
            let points = run
                .cells
                .iter()
                .filter(|c| &c.dataset == name)
                .filter_map(|c| {
                    let ti = run.tests.iter().position(|t| *t == c.test)?;
                    let r = &c.result;
                    Some([ti as f64 + offset, r.effect_size, r.ci95[0], r.ci95[1]])
                })
                .collect();
            EffectSeries {
                dataset: name.clone(),
                points,
            }
        })
        .collect()
}

/// Missing words of a result as "x: word, word; a: word".
pub fn missing_text(c: &WeatCell) -> String {
    let mut parts = Vec::new();
    for role in bias::Role::ALL {
        let words: Vec<&str> = c
            .result
            .missing
            .iter()
            .filter(|m| m.set == role)
            .map(|m| m.word.as_str())
            .collect();
        if !words.is_empty() {
            parts.push(format!("{}: {}", role.label(), words.join(", ")));
        }
    }
    parts.join("; ")
}

/// The bias probes panel.
#[derive(Debug, Clone)]
pub struct BiasState {
    /// Bundled tests ticked (names, in the bundled order).
    pub selected: Vec<String>,
    pub user: UserTest,
    /// Data sets left out of the WEAT run (by name); every other loaded set takes part.
    pub excluded: Vec<String>,
    pub options: WeatOptions,
    pub direct: DirectForm,
    /// The latest WEAT run, and the job computing the next one.
    pub weat: Option<WeatRun>,
    pub weat_job: Option<JobId>,
    pub result: Option<DirectResult>,
    pub direct_job: Option<JobId>,
}

impl Default for BiasState {
    fn default() -> Self {
        BiasState {
            selected: Vec::new(),
            user: UserTest::default(),
            excluded: Vec::new(),
            options: default_options(),
            direct: DirectForm::default(),
            weat: None,
            weat_job: None,
            result: None,
            direct_job: None,
        }
    }
}

impl BiasState {
    pub fn is_selected(&self, test: &str) -> bool {
        self.selected.iter().any(|t| t == test)
    }

    /// The tests a run takes: the ticked bundled ones in order, then the user test if enabled.
    pub fn tests(&self) -> Vec<WeatTest> {
        let mut out: Vec<WeatTest> = bias::caliskan_tests()
            .iter()
            .filter(|t| self.is_selected(&t.name))
            .cloned()
            .collect();
        if self.user.enabled {
            out.push(self.user.test());
        }
        out
    }

    pub fn busy(&self) -> bool {
        self.weat_job.is_some() || self.direct_job.is_some()
    }
}

/// Changes to the bias probes panel.
#[derive(Debug, Clone)]
pub enum BiasCommand {
    /// Tick or untick a bundled test.
    SelectTest(String, bool),
    /// Tick every bundled test (true) or none.
    SelectAllTests(bool),
    /// Run the user test with the others.
    UseUserTest(bool),
    SetUserName(String),
    /// One of X, Y, A, B (0..4): its name.
    SetUserSetName(usize, String),
    /// One of X, Y, A, B (0..4): its words, one per line.
    SetUserList(usize, String),
    /// Fill the user test from a bundled test (by name), to edit it.
    PrefillUser(String),
    /// Fill the user test from a file: a JSON test (an object with x, y, a, b lists, or a list
    /// of them: the first is taken).
    LoadUserTest(PathBuf),
    /// Fill one list (0..4) from a word-list file (one word per line, or a JSON array).
    LoadUserList(usize, PathBuf),
    /// Include a data set (by name) in the WEAT run, or leave it out.
    IncludeDataset(String, bool),
    SetOptions(WeatOptions),
    SetDirect(DirectForm),
    /// Put back Bolukbasi's definitional pairs and neutral professions.
    ResetDirectLists,
    /// WEAT of the chosen tests on the chosen data sets, with the differences between sets.
    RunWeat,
    /// The direction, direct bias and projections on the direct-bias data set.
    RunDirectBias,
    /// The same, then hard debiasing: a new data set.
    Debias,
}

impl App {
    /// The data sets (indices) a WEAT run takes: every open one not left out.
    pub fn bias_datasets(&self) -> Vec<usize> {
        (0..self.datasets.len())
            .filter(|&i| !self.bias.excluded.contains(&self.datasets[i].name))
            .collect()
    }

    /// The data set the direct-bias probe measures: the chosen one if still open, else the
    /// active one.
    pub fn bias_direct_dataset(&self) -> Option<usize> {
        self.bias
            .direct
            .dataset
            .as_ref()
            .and_then(|n| self.datasets.iter().position(|d| &d.name == n))
            .or(self.active)
    }

    pub(super) fn apply_bias(&mut self, cmd: BiasCommand) {
        let b = &mut self.bias;
        match cmd {
            BiasCommand::SelectTest(name, on) => {
                b.selected.retain(|t| *t != name);
                if on && bias::caliskan_tests().iter().any(|t| t.name == name) {
                    b.selected.push(name);
                }
            }
            BiasCommand::SelectAllTests(on) => {
                b.selected = if on {
                    bias::caliskan_test_names()
                } else {
                    Vec::new()
                };
            }
            BiasCommand::UseUserTest(on) => b.user.enabled = on,
            BiasCommand::SetUserName(n) => b.user.name = n,
            BiasCommand::SetUserSetName(i, n) => {
                if let Some(s) = b.user.set_names.get_mut(i) {
                    *s = n;
                }
            }
            BiasCommand::SetUserList(i, text) => {
                if let Some(s) = b.user.lists.get_mut(i) {
                    *s = text;
                }
            }
            BiasCommand::PrefillUser(name) => match bias::test_by_name(&name) {
                Ok(t) => {
                    b.user.fill(&t);
                    b.user.name = format!("{}-edited", t.name);
                    b.user.enabled = true;
                }
                Err(e) => self.error("no such test", e.to_string()),
            },
            BiasCommand::LoadUserTest(path) => {
                let p = path.display().to_string();
                let r = crate::formats::read_side_file(&path, "bias test file")
                    .map_err(|e| e.to_string())
                    .and_then(|text| bias::parse_test_file(&text, &p).map_err(|e| e.to_string()));
                match r {
                    Ok(tests) if !tests.is_empty() => {
                        let t = &tests[0];
                        b.user.fill(t);
                        b.user.name = t.name.clone();
                        b.user.enabled = true;
                        if tests.len() > 1 {
                            self.info(format!(
                                "{p}: {} tests in the file; the first ('{}') is loaded",
                                tests.len(),
                                tests[0].name
                            ));
                        }
                    }
                    Ok(_) => self.error("could not load the test", format!("{p}: no test")),
                    Err(e) => self.error("could not load the test", e),
                }
            }
            BiasCommand::LoadUserList(i, path) => {
                let p = path.display().to_string();
                let r = crate::formats::read_side_file(&path, "word list")
                    .map_err(|e| e.to_string())
                    .and_then(|text| bias::parse_word_list(&text, &p).map_err(|e| e.to_string()));
                match (r, i < 4) {
                    (Ok(words), true) => {
                        b.user.lists[i] = words.join("\n");
                        if let Some(stem) = path.file_stem() {
                            b.user.set_names[i] = stem.to_string_lossy().into_owned();
                        }
                    }
                    (Ok(_), false) => {}
                    (Err(e), _) => self.error("could not load the word list", e),
                }
            }
            BiasCommand::IncludeDataset(name, on) => {
                b.excluded.retain(|n| *n != name);
                if !on {
                    b.excluded.push(name);
                }
            }
            BiasCommand::SetOptions(o) => b.options = o,
            BiasCommand::SetDirect(f) => b.direct = f,
            BiasCommand::ResetDirectLists => {
                let d = DirectForm::default();
                b.direct.pairs = d.pairs;
                b.direct.words = d.words;
                b.direct.positive = d.positive;
                b.direct.negative = d.negative;
            }
            BiasCommand::RunWeat => self.run_weat(),
            BiasCommand::RunDirectBias => self.run_direct(false),
            BiasCommand::Debias => self.run_direct(true),
        }
    }

    fn run_weat(&mut self) {
        let tests = self.bias.tests();
        if tests.is_empty() {
            self.error(
                "no WEAT test chosen",
                "Tick one or more bundled tests, or use your own test.",
            );
            return;
        }
        let chosen = self.bias_datasets();
        if chosen.is_empty() {
            self.error(
                "no data set chosen",
                "Open a data set (File > Open) and tick it in the bias probes.",
            );
            return;
        }
        let o = &self.bias.options;
        if o.permutations == 0 || !(0.0..=1.0).contains(&o.max_missing) {
            self.error(
                "bad WEAT options",
                "permutations must be at least 1 and the missing share between 0 and 1",
            );
            return;
        }
        if let Some(j) = self.bias.weat_job.take() {
            self.worker.cancel(j);
        }
        let sets = chosen
            .iter()
            .map(|&i| (self.datasets[i].name.clone(), self.datasets[i].set.clone()))
            .collect();
        let job = Weat {
            sets,
            tests,
            options: self.bias.options.clone(),
        };
        let id = self.start(job, JobKind::Bias, None, |app, view, run| {
            app.finish_weat(view.id, run)
        });
        self.bias.weat_job = Some(id);
    }

    fn run_direct(&mut self, debias: bool) {
        let Some(i) = self.bias_direct_dataset() else {
            self.error("no data set", "Open a data set first (File > Open).");
            return;
        };
        let f = &self.bias.direct;
        let pairs = match bias::parse_pairs(&f.pairs, "definitional pairs") {
            Ok(p) => p,
            Err(e) => {
                self.error("bad definitional pairs", e.to_string());
                return;
            }
        };
        let words = lines(&f.words);
        if words.is_empty() {
            self.error(
                "no neutral words",
                "Type the neutral words (one per line), or reset the lists.",
            );
            return;
        }
        let spec = DirectSpec {
            pairs,
            positive: f.positive.trim().to_string(),
            negative: f.negative.trim().to_string(),
            words,
            c: f.c,
            case: self.bias.options.case,
        };
        let debias = debias.then(|| {
            // As `embedscope bias debias`: Bolukbasi's gender-specific words are kept, the
            // equalize and definitional pairs equalised.
            let b = bias::bolukbasi();
            let mut equality_pairs = b.equalize_pairs.clone();
            equality_pairs.extend(b.definitional_pairs.iter().cloned());
            DebiasOptions {
                specific: b.specific_words(),
                equality_pairs,
            }
        });
        if let Some(j) = self.bias.direct_job.take() {
            self.worker.cancel(j);
        }
        let d = &self.datasets[i];
        let job = DirectBiasJob {
            name: d.name.clone(),
            set: d.set.clone(),
            spec,
            debias,
        };
        let id = self.start(job, JobKind::Bias, Some(i), |app, view, run| {
            app.finish_direct(view.id, run)
        });
        self.bias.direct_job = Some(id);
    }

    /// A WEAT job ended with results.
    fn finish_weat(&mut self, id: JobId, run: WeatRun) {
        if self.bias.weat_job != Some(id) {
            return;
        }
        self.bias.weat_job = None;
        if !run.errors.is_empty() {
            let n = run.errors.len();
            self.error(
                format!(
                    "WEAT: {n} result{} could not be computed",
                    if n == 1 { "" } else { "s" }
                ),
                run.errors.join("\n"),
            );
        }
        self.bias.weat = Some(run);
    }

    /// A direct-bias job ended with results; a debiased set joins the data sets.
    fn finish_direct(&mut self, id: JobId, run: DirectRun) {
        if self.bias.direct_job != Some(id) {
            return;
        }
        self.bias.direct_job = None;
        let debias = run.debiased.map(|d| {
            let name = self.add_dataset_named(d.set, Some(d.name));
            DebiasSummary {
                name,
                report: d.report,
                bias_after: d.bias_after,
            }
        });
        self.bias.result = Some(DirectResult {
            dataset: run.dataset,
            direction: run.direction,
            bias: run.bias,
            debias,
            seconds: run.seconds,
        });
    }

    /// A bias job failed or was cancelled.
    pub(super) fn bias_job_ended(&mut self, id: JobId) {
        if self.bias.weat_job == Some(id) {
            self.bias.weat_job = None;
        }
        if self.bias.direct_job == Some(id) {
            self.bias.direct_job = None;
        }
    }
}

/// The CaseMode choices, for the panel.
pub const CASE_MODES: [(CaseMode, &str); 3] = [
    (CaseMode::Auto, "auto"),
    (CaseMode::Exact, "exact"),
    (CaseMode::Lower, "lower"),
];
