//! `embedscope drift`: has the data moved? Two sets encoded by one model (or one set split by a
//! metadata column) compared by six two-sample tests, each with its score, threshold and
//! permutation p-value, plus the clusters of the joint rows sorted by how much their share
//! changed, with keywords where the rows have text; `--fail-if` gates a pipeline (exit 3).

use std::time::Instant;

use clap::Args;
use embedscope::analysis::compare::gate::{Op, split_condition};
use embedscope::analysis::drift::{
    self, DriftMethod, DriftParams, DriftReport, DriftSides, DriftStudy, StudyParams,
};
use embedscope::analysis::split::SplitRule;
use serde_json::{Value, json};

use super::values::{MAX_DIMS, count};
use super::{CliError, LoadArgs, Loaded, print_json, usage};

#[derive(Args, Debug)]
pub struct DriftArgs {
    /// The reference set (e.g. last quarter's tickets), or the one set to split.
    pub reference: String,
    /// The current set (e.g. this quarter's), encoded by the same model; leave out with
    /// --split-by.
    pub current: Option<String>,
    /// Split the reference set by this metadata column instead of giving a second set (with
    /// --before, --values or --threshold).
    #[arg(long, value_name = "COLUMN")]
    pub split_by: Option<String>,
    /// With --split-by: rows dated before this ISO-8601 date are the reference.
    #[arg(long, value_name = "DATE", requires = "split_by")]
    pub before: Option<String>,
    /// With --split-by: the reference's values, a comma, the current sample's (several values of
    /// one side joined by '|').
    #[arg(long, value_name = "A,B", requires = "split_by")]
    pub values: Option<String>,
    /// With --split-by: numbers below this are the reference.
    #[arg(
        long,
        value_name = "X",
        requires = "split_by",
        allow_hyphen_values = true
    )]
    pub threshold: Option<f64>,
    /// `all` or a comma-separated list of distance_euclidean, distance_cosine, mmd, classifier,
    /// ratio, energy.
    #[arg(long, default_value = "all")]
    pub methods: String,
    /// Project both samples onto this many principal components of the pooled rows first.
    #[arg(value_parser = count(1, MAX_DIMS), long, value_name = "N")]
    pub pca: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Permutations per test (p = (b + 1) / (permutations + 1)).
    #[arg(value_parser = count(1, DriftParams::MAX_PERMUTATIONS), long, default_value_t = 1000)]
    pub permutations: usize,
    /// Rows per side at most behind MMD and energy (a seeded sample above it).
    #[arg(value_parser = count(DriftParams::MIN_ROWS, DriftParams::MAX_KERNEL_SAMPLE), long, default_value_t = 5000)]
    pub kernel_sample: usize,
    /// Clusters of the joint rows (k-means, cosine) whose change of share is listed; 0: none.
    #[arg(value_parser = count(0, StudyParams::MAX_CLUSTERS), long, default_value_t = 8)]
    pub clusters: usize,
    /// Keywords per cluster (rows with text).
    #[arg(value_parser = count(0, StudyParams::MAX_KEYWORDS), long, default_value_t = 8)]
    pub keywords: usize,
    /// Compare two sets whose encoding records name different weights (said in the output).
    #[arg(long)]
    pub allow_other_models: bool,
    /// Exit with code 3 when a condition holds, e.g. "mmd_p < 0.01", "classifier > 0.6",
    /// "drifted >= 3". Names: a method (its score), METHOD_p (its p-value), METHOD_drift (1 when
    /// over its threshold), drifted (methods over their thresholds), significant (methods with
    /// p < alpha). Repeatable: any condition that holds fails the run.
    #[arg(long, value_name = "CONDITION")]
    pub fail_if: Vec<String>,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

/// One `--fail-if` condition.
struct Gate {
    text: String,
    name: String,
    op: Op,
    threshold: f64,
}

const GATE_NAMES: &str = "a method name (its score), METHOD_p, METHOD_drift, drifted, significant";

fn gate(text: &str, methods: &[DriftMethod]) -> Result<Gate, CliError> {
    let bad = |why: String| {
        usage(format!(
            "--fail-if {text:?}: {why}; expected NAME OP NUMBER with NAME one of {GATE_NAMES}"
        ))
    };
    let (name, op, threshold) = split_condition(text).map_err(bad)?;
    let known = matches!(name, "drifted" | "significant")
        || DriftMethod::ALL.iter().any(|m| {
            [
                m.name().to_string(),
                format!("{}_p", m.name()),
                format!("{}_drift", m.name()),
            ]
            .iter()
            .any(|n| n == name)
        });
    if !known {
        return Err(bad(format!("unknown name {name:?}")));
    }
    if let Some(m) = DriftMethod::ALL
        .iter()
        .find(|m| name.starts_with(m.name()) && !methods.contains(m))
    {
        return Err(usage(format!(
            "--fail-if {text:?} needs {}, which --methods does not run",
            m.name()
        )));
    }
    Ok(Gate {
        text: text.trim().to_string(),
        name: name.to_string(),
        op,
        threshold,
    })
}

/// The value a gate name has in a report.
fn gate_value(r: &DriftReport, name: &str) -> Option<f64> {
    match name {
        "drifted" => Some(r.methods.values().filter(|m| m.drift).count() as f64),
        "significant" => Some(r.methods.values().filter(|m| m.significant).count() as f64),
        _ => r.methods.iter().find_map(|(m, res)| {
            let base = m.name();
            if name == base {
                Some(res.score)
            } else if name == format!("{base}_p") {
                Some(res.p_value)
            } else if name == format!("{base}_drift") {
                Some(f64::from(u8::from(res.drift)))
            } else {
                None
            }
        }),
    }
}

pub fn drift(a: &DriftArgs) -> Result<(), CliError> {
    let methods = DriftMethod::parse_list(&a.methods).map_err(|e| usage(e.to_string()))?;
    let flag = |e: String| {
        usage(
            e.replacen("clusters ", "--clusters ", 1)
                .replacen("keywords ", "--keywords ", 1),
        )
    };
    let params = StudyParams {
        drift: DriftParams {
            methods: methods.clone(),
            pca: a.pca,
            seed: a.seed,
            permutations: a.permutations,
            kernel_sample: a.kernel_sample,
            ..DriftParams::default()
        },
        clusters: a.clusters,
        keywords: a.keywords,
        map: false,
    }
    .check()
    .map_err(|e| flag(e.to_string()))?;
    let gates = a
        .fail_if
        .iter()
        .map(|t| gate(t, &methods))
        .collect::<Result<Vec<_>, _>>()?;
    let rule = match (&a.split_by, &a.before, &a.values, a.threshold) {
        (None, None, None, None) => None,
        (Some(_), Some(d), None, None) => Some(SplitRule::before(d)),
        (Some(_), None, Some(v), None) => Some(SplitRule::values(v)),
        (Some(_), None, None, Some(x)) => Some(SplitRule::threshold(x)),
        (Some(_), None, None, None) => {
            return Err(usage(
                "--split-by needs one of --before DATE, --values A,B or --threshold X",
            ));
        }
        _ => {
            return Err(usage(
                "give one of --before, --values or --threshold with --split-by",
            ));
        }
    }
    .transpose()
    .map_err(|e| usage(e.to_string()))?;
    match (&a.current, &rule) {
        (Some(_), Some(_)) => {
            return Err(usage(
                "give a second set or --split-by, not both (--split-by splits the first set)",
            ));
        }
        (None, None) => {
            return Err(usage(
                "give the current set after the reference, or split the reference with \
                 --split-by COLUMN",
            ));
        }
        _ => {}
    }

    let t_load = Instant::now();
    let Loaded { set: reference, .. } = a.load.load(&a.reference)?;
    let current = match &a.current {
        Some(f) => Some(a.load.load(f)?.set),
        None => None,
    };
    let load_s = t_load.elapsed().as_secs_f64();
    {
        let m = reference.rows() + current.as_ref().map_or(0, |c| c.rows());
        let d = reference.dim();
        let p = params.drift.get();
        super::guard(&embedscope::analysis::memory::drift(
            m,
            d,
            p.pca.unwrap_or(d).min(d),
            p.kernel_sample.min(m),
            p.permutations,
        ))?;
    }
    let sides = match (&current, &rule, &a.split_by) {
        (Some(cur), _, _) => DriftSides::Two {
            reference: &reference,
            current: cur,
            allow_other_models: a.allow_other_models,
        },
        (None, Some(rule), Some(column)) => DriftSides::Split {
            set: &reference,
            column,
            rule,
        },
        _ => return Err(usage("--split-by needs a column")),
    };

    let t = Instant::now();
    let quiet = a.json;
    let mut last = String::new();
    let mut progress = |p: drift::DriftProgress| {
        if !quiet && p.stage != last {
            eprintln!("drift: {} ({:.0}%)", p.stage, p.fraction * 100.0);
            last = p.stage.to_string();
        }
    };
    let study = drift::study(&sides, &params, &mut progress, None)
        .map_err(|e| CliError::Runtime(e.into()))?;
    let seconds = t.elapsed().as_secs_f64();
    let DriftStudy {
        report,
        split,
        warnings,
        clusters,
        ..
    } = &study;

    let held: Vec<(String, f64)> = gates
        .iter()
        .filter_map(|g| {
            let v = gate_value(report, &g.name)?;
            g.op.holds(v, g.threshold).then(|| (g.text.clone(), v))
        })
        .collect();
    if a.json {
        let methods: serde_json::Map<String, Value> = report
            .methods
            .iter()
            .map(|(m, r)| {
                (
                    m.name().to_string(),
                    serde_json::to_value(r).unwrap_or(Value::Null),
                )
            })
            .collect();
        print_json(&json!({
            "reference": a.reference,
            "current": a.current,
            "split": split,
            "methods": methods,
            "n_ref": report.n_ref,
            "n_cur": report.n_cur,
            "nan_rows_left_out": report.nan_rows_left_out,
            "dim": report.dim,
            "pca": report.pca,
            "kernel_sample": report.kernel_sample,
            "permutations": report.permutations,
            "alpha": report.alpha,
            "params": report.params,
            "clusters": clusters,
            "warnings": warnings,
            "fail_if": gates.iter().map(|g| json!({
                "condition": g.text,
                "value": gate_value(report, &g.name),
                "holds": held.iter().any(|(t, _)| *t == g.text),
            })).collect::<Vec<_>>(),
            "timing_s": {
                "load": load_s,
                "tests": study.seconds.tests,
                "clusters": study.seconds.clusters,
                "total": seconds,
            },
        }));
    } else {
        for w in warnings {
            eprintln!("warning: {w}");
        }
        println!(
            "reference {} rows, current {} rows, {} dimensions{}{}",
            report.n_ref,
            report.n_cur,
            report.dim,
            report
                .pca
                .as_ref()
                .map(|p| format!(
                    " (PCA to {}: {:.1}% of the variance)",
                    p.components,
                    p.explained_variance_ratio * 100.0
                ))
                .unwrap_or_default(),
            if report.nan_rows_left_out.reference + report.nan_rows_left_out.current > 0 {
                format!(
                    "; {} + {} rows with NaN/Inf left out",
                    report.nan_rows_left_out.reference, report.nan_rows_left_out.current
                )
            } else {
                String::new()
            }
        );
        println!(
            "{:<20} {:>10} {:>10} {:>6} {:>9}",
            "method", "score", "threshold", "drift", "p"
        );
        for (m, r) in &report.methods {
            println!(
                "{:<20} {:>10.4} {:>10.4} {:>6} {:>9.4}",
                m.name(),
                r.score,
                r.threshold,
                if r.drift { "yes" } else { "no" },
                r.p_value
            );
        }
        if !clusters.is_empty() {
            println!("clusters by change of share (ratio = (C - R) / (C + R) of the shares):");
            for c in clusters.iter().take(12) {
                println!(
                    "  {:>4} {:>+7.3}  ref {:>6}  cur {:>6}  {}",
                    c.drift.id,
                    c.drift.ratio,
                    c.drift.n_ref,
                    c.drift.n_cur,
                    c.keywords.join(", ")
                );
            }
        }
    }
    if !held.is_empty() {
        return Err(CliError::Gate(
            held.into_iter()
                .map(|(t, v)| format!("{t} (value {v})"))
                .collect(),
        ));
    }
    Ok(())
}
