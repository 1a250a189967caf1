//! Bias probes: WEAT of every test on every (named) set with the differences between sets and
//! Holm's correction (`analysis::bias::weat_grid`, as the CLI and reports run it); a bias
//! direction with the direct bias and, when asked, hard debiasing into a new set.

use std::sync::Arc;
use std::time::Instant;

use crate::analysis::bias::{
    self, BiasDirection, CaseMode, DebiasOptions, DebiasReport, DirectBias, EffectDifference,
    WeatOptions, WeatResult, WeatTest,
};
use crate::core::EmbeddingSet;
use crate::engine::EngineError;
use crate::engine::worker::{Job, JobContext};

/// WEAT of every test on every (named) set, then, per test, the difference of effect sizes
/// between each pair of sets; Holm's correction over the WEAT p-values and, separately, over
/// the differences (as `embedscope bias weat`).
#[derive(Debug, Clone)]
pub struct Weat {
    pub sets: Vec<(String, Arc<EmbeddingSet>)>,
    pub tests: Vec<WeatTest>,
    pub options: WeatOptions,
}

/// One WEAT result: a test on a data set.
#[derive(Debug, Clone)]
pub struct WeatCell {
    pub test: String,
    pub dataset: String,
    pub result: WeatResult,
    /// Holm-adjusted over every p-value of the run.
    pub p_holm: f64,
}

/// A WEAT job's results.
#[derive(Debug, Clone)]
pub struct WeatRun {
    /// The tests and data sets asked for, in order.
    pub tests: Vec<String>,
    pub datasets: Vec<String>,
    /// The results that could be computed, test by test, data sets in order.
    pub cells: Vec<WeatCell>,
    /// Per test, each pair of data sets (earlier - later); `p_holm` over these differences.
    pub differences: Vec<EffectDifference>,
    /// Tests (or differences) that could not be computed, with the reason.
    pub errors: Vec<String>,
    pub options: WeatOptions,
    pub seconds: f64,
}

impl Job for Weat {
    type Output = WeatRun;

    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        let words = self
            .tests
            .iter()
            .map(|t| t.x.words.len() + t.y.words.len() + t.a.words.len() + t.b.words.len())
            .max()
            .unwrap_or(0);
        let d = self.sets.iter().map(|s| s.1.dim()).max().unwrap_or(0);
        Some(crate::analysis::memory::bias_grid(
            self.sets.len(),
            self.tests.len(),
            words,
            d,
            self.options.permutations.max(self.options.bootstrap),
        ))
    }

    fn label(&self) -> String {
        let (t, s) = (self.tests.len(), self.sets.len());
        format!(
            "WEAT: {t} test{} on {s} data set{}",
            if t == 1 { "" } else { "s" },
            if s == 1 { "" } else { "s" }
        )
    }

    fn run(&self, ctx: &JobContext) -> Result<WeatRun, EngineError> {
        let (sets, tests, options) = (&self.sets, &self.tests, &self.options);
        if sets.is_empty() || tests.is_empty() {
            return Err(EngineError::Output(
                "choose at least one test and one data set".into(),
            ));
        }
        let t = Instant::now();
        let names: Vec<String> = sets.iter().map(|s| s.0.clone()).collect();
        let grid = bias::weat_grid(
            tests,
            &names,
            options,
            &mut |test, v| bias::weat(&sets[v].1, test, options),
            &mut |done, total, ti, vi| {
                ctx.progress(
                    Some(done as f32 / total as f32),
                    format!(
                        "{} on {} ({} / {total})",
                        tests[ti].name,
                        names[vi],
                        done + 1
                    ),
                )
            },
            &|| ctx.cancelled(),
        );
        let grid = grid?;
        let mut errors: Vec<String> = grid
            .failures
            .iter()
            .map(|f| format!("{}: {}", names[f.version], f.error))
            .collect();
        let mut cells = Vec::new();
        for (row, holm_row) in grid.results.iter().zip(&grid.across.p_holm) {
            for (vi, (cell, p_holm)) in row.iter().zip(holm_row).enumerate() {
                if let (Some(r), Some(p_holm)) = (cell, p_holm) {
                    cells.push(WeatCell {
                        test: r.test.clone(),
                        dataset: names[vi].clone(),
                        result: r.clone(),
                        p_holm: *p_holm,
                    });
                }
            }
        }
        if cells.is_empty() {
            return Err(EngineError::Output(errors.join("\n")));
        }
        errors.extend(grid.across.errors);
        Ok(WeatRun {
            tests: tests.iter().map(|t| t.name.clone()).collect(),
            datasets: names,
            cells,
            differences: grid.across.differences,
            errors,
            options: options.clone(),
            seconds: t.elapsed().as_secs_f64(),
        })
    }
}

/// What a direct-bias job measures.
#[derive(Debug, Clone, PartialEq)]
pub struct DirectSpec {
    /// Definitional pairs (positive side first).
    pub pairs: Vec<(String, String)>,
    pub positive: String,
    pub negative: String,
    /// The neutral words measured.
    pub words: Vec<String>,
    /// Strictness c of DB_c.
    pub c: f64,
    pub case: CaseMode,
}

/// A bias direction on one (named) set, the direct bias and projections of neutral words;
/// with `debias`, hard debiasing too: the new set comes back as `<name> (hard-debiased)`.
#[derive(Debug, Clone)]
pub struct DirectBiasJob {
    pub name: String,
    pub set: Arc<EmbeddingSet>,
    pub spec: DirectSpec,
    pub debias: Option<DebiasOptions>,
}

/// A direct-bias job's results.
#[derive(Debug, Clone)]
pub struct DirectRun {
    pub dataset: String,
    pub direction: BiasDirection,
    /// Direct bias and projections of the neutral words.
    pub bias: DirectBias,
    pub debiased: Option<Debiased>,
    pub seconds: f64,
}

/// The set hard debiasing wrote, and the same measure on it.
#[derive(Debug, Clone)]
pub struct Debiased {
    /// `<name> (hard-debiased)`.
    pub name: String,
    pub set: Arc<EmbeddingSet>,
    pub report: DebiasReport,
    /// Direct bias of the neutral words on the new set, along the same direction.
    pub bias_after: Option<DirectBias>,
}

impl Job for DirectBiasJob {
    type Output = DirectRun;

    fn memory(&self) -> Option<crate::analysis::memory::Estimate> {
        use crate::analysis::memory as m;
        let (n, d) = (self.set.rows(), self.set.dim());
        let words = self.spec.words.len();
        Some(match &self.debias {
            None => m::direct_bias(self.spec.pairs.len(), words, d),
            Some(_) => m::debias(
                n,
                d,
                self.spec.pairs.len(),
                words,
                crate::engine::memory::labels_bytes(&self.set),
            ),
        })
    }

    fn label(&self) -> String {
        match self.debias {
            Some(_) => format!("hard debiasing of {}", self.name),
            None => format!("direct bias of {}", self.name),
        }
    }

    fn run(&self, ctx: &JobContext) -> Result<DirectRun, EngineError> {
        let (name, set, spec) = (&self.name, &self.set, &self.spec);
        let t = Instant::now();
        ctx.progress(None, "finding the direction");
        let direction =
            bias::direction(set, &spec.pairs, &spec.positive, &spec.negative, spec.case)
                .map_err(|e| EngineError::from(e).within(name))?;
        let measured = bias::direct_bias(set, &direction, &spec.words, spec.c, spec.case)
            .map_err(|e| EngineError::from(e).within(name))?;
        let debiased = match &self.debias {
            None => None,
            Some(opts) => {
                ctx.check()?;
                ctx.progress(None, format!("hard debiasing {} rows", set.rows()));
                let (new_set, report) = bias::hard_debias(set, &direction, opts)
                    .map_err(|e| EngineError::from(e).within(name))?;
                ctx.check()?;
                let bias_after =
                    bias::direct_bias(&new_set, &direction, &spec.words, spec.c, spec.case).ok();
                Some(Debiased {
                    name: format!("{name} (hard-debiased)"),
                    set: Arc::new(new_set),
                    report,
                    bias_after,
                })
            }
        };
        Ok(DirectRun {
            dataset: name.to_string(),
            direction,
            bias: measured,
            debiased,
            seconds: t.elapsed().as_secs_f64(),
        })
    }
}
