//! `embedscope drift`: has the data moved? Two sets encoded by one model (or one set split by a
//! metadata column) compared by six two-sample tests, each with its score, threshold and
//! permutation p-value, plus the clusters of the joint rows sorted by how much their share
//! changed, with keywords where the rows have text; `--fail-if` gates a pipeline (exit 3).

use std::time::Instant;

use clap::Args;
use embedscope::analysis::cluster::keywords::{KeywordParams, cluster_keywords};
use embedscope::analysis::cluster::{KMeansParams, kmeans_points, text_for};
use embedscope::analysis::compare::gate::{Op, split_condition};
use embedscope::analysis::drift::{
    self, ClusterDrift, DriftInput, DriftMethod, DriftParams, DriftReport,
};
use embedscope::analysis::split::{self, SplitRule};
use embedscope::core::{EmbeddingSet, RowKind};
use serde_json::{Value, json};

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
    #[arg(long, value_name = "N")]
    pub pca: Option<usize>,
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Permutations per test (p = (b + 1) / (permutations + 1)).
    #[arg(long, default_value_t = 1000)]
    pub permutations: usize,
    /// Rows per side at most behind MMD and energy (a seeded sample above it).
    #[arg(long, default_value_t = 5000)]
    pub kernel_sample: usize,
    /// Clusters of the joint rows (k-means, cosine) whose change of share is listed; 0: none.
    #[arg(long, default_value_t = 8)]
    pub clusters: usize,
    /// Keywords per cluster (rows with text).
    #[arg(long, default_value_t = 8)]
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

/// Most clusters of the joint rows, and keywords per cluster, a run lists.
const MAX_CLUSTERS: usize = 1000;
const MAX_KEYWORDS: usize = 100;

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

/// One side's rows of a set.
struct Side<'a> {
    set: &'a EmbeddingSet,
    rows: Vec<usize>,
}

pub fn drift(a: &DriftArgs) -> Result<(), CliError> {
    let methods = DriftMethod::parse_list(&a.methods).map_err(|e| usage(e.to_string()))?;
    if a.clusters > MAX_CLUSTERS {
        return Err(usage(format!(
            "--clusters {}: at most {MAX_CLUSTERS} clusters are listed",
            a.clusters
        )));
    }
    if a.keywords > MAX_KEYWORDS {
        return Err(usage(format!(
            "--keywords {}: at most {MAX_KEYWORDS} keywords per cluster",
            a.keywords
        )));
    }
    let params = DriftParams {
        methods: methods.clone(),
        pca: a.pca,
        seed: a.seed,
        permutations: a.permutations,
        kernel_sample: a.kernel_sample,
        ..DriftParams::default()
    }
    .check()
    .map_err(|e| usage(e.to_string()))?;
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
    let mut warnings = Vec::new();
    let mut split_json = Value::Null;
    let (ref_side, cur_side) = match (&current, &rule, &a.split_by) {
        (Some(cur), _, _) => {
            if cur.dim() != reference.dim() {
                return Err(CliError::Runtime(anyhow::anyhow!(
                    "{} has {}-dimensional rows and {} {}-dimensional ones: two sets of one \
                     model have one dimension",
                    a.reference,
                    reference.dim(),
                    a.current.as_deref().unwrap_or("?"),
                    cur.dim()
                )));
            }
            if let Some(w) =
                split::same_model(&reference.provenance, &cur.provenance, a.allow_other_models)
                    .map_err(|e| CliError::Runtime(e.into()))?
            {
                warnings.push(w);
            }
            (
                Side {
                    set: &reference,
                    rows: (0..reference.rows()).collect(),
                },
                Side {
                    set: cur,
                    rows: (0..cur.rows()).collect(),
                },
            )
        }
        (None, Some(rule), Some(column)) => {
            let s = split::split_by(&reference.metadata, reference.rows(), column, rule)
                .map_err(|e| CliError::Runtime(anyhow::anyhow!("{}: {e}", a.reference)))?;
            if s.left_out > 0 {
                warnings.push(format!(
                    "{} rows on neither side of the split were left out{}",
                    s.left_out,
                    if s.unreadable.is_empty() {
                        String::new()
                    } else {
                        format!(" (e.g. row {} {:?})", s.unreadable[0].0, s.unreadable[0].1)
                    }
                ));
            }
            split_json = json!({
                "column": s.column,
                "rule": s.rule,
                "description": s.description,
                "reference_rows": s.reference.len(),
                "current_rows": s.current.len(),
                "left_out": s.left_out,
            });
            (
                Side {
                    set: &reference,
                    rows: s.reference,
                },
                Side {
                    set: &reference,
                    rows: s.current,
                },
            )
        }
        _ => return Err(usage("--split-by needs a column")),
    };
    if ref_side.rows.len() < DriftParams::MIN_ROWS || cur_side.rows.len() < DriftParams::MIN_ROWS {
        return Err(CliError::Runtime(anyhow::anyhow!(
            "drift needs at least {} rows per side: the reference has {}, the current {}",
            DriftParams::MIN_ROWS,
            ref_side.rows.len(),
            cur_side.rows.len()
        )));
    }

    let t = Instant::now();
    let input = match &current {
        Some(cur) => DriftInput::Two {
            reference: &reference.matrix,
            current: &cur.matrix,
        },
        None => DriftInput::Split {
            matrix: &reference.matrix,
            reference: &ref_side.rows,
            current: &cur_side.rows,
        },
    };
    let quiet = a.json;
    let mut last = String::new();
    let mut progress = |p: drift::DriftProgress| {
        if !quiet && p.stage != last {
            eprintln!("drift: {} ({:.0}%)", p.stage, p.fraction * 100.0);
            last = p.stage.to_string();
        }
    };
    let report = drift::drift(input, &params, &mut progress, None)
        .map_err(|e| CliError::Runtime(e.into()))?;
    let tests_s = t.elapsed().as_secs_f64();

    // Where: clusters of the joint rows that were used.
    let t = Instant::now();
    let clusters = if a.clusters > 0 {
        joint_clusters(&ref_side, &cur_side, &report, a)?
    } else {
        Vec::new()
    };
    let clusters_s = t.elapsed().as_secs_f64();

    let held: Vec<(String, f64)> = gates
        .iter()
        .filter_map(|g| {
            let v = gate_value(&report, &g.name)?;
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
            "split": split_json,
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
            "clusters": clusters.iter().map(|(c, kw)| json!({
                "id": c.id,
                "n_ref": c.n_ref,
                "n_cur": c.n_cur,
                "share_ref": c.share_ref,
                "share_cur": c.share_cur,
                "ratio": c.ratio,
                "keywords": kw,
            })).collect::<Vec<_>>(),
            "warnings": warnings,
            "fail_if": gates.iter().map(|g| json!({
                "condition": g.text,
                "value": gate_value(&report, &g.name),
                "holds": held.iter().any(|(t, _)| *t == g.text),
            })).collect::<Vec<_>>(),
            "timing_s": {"load": load_s, "tests": tests_s, "clusters": clusters_s},
        }));
    } else {
        for w in &warnings {
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
            for (c, kw) in clusters.iter().take(12) {
                println!(
                    "  {:>4} {:>+7.3}  ref {:>6}  cur {:>6}  {}",
                    c.id,
                    c.ratio,
                    c.n_ref,
                    c.n_cur,
                    kw.join(", ")
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

/// k-means (cosine) of the joint rows used by the tests, each cluster's change of share, and
/// its keywords where the rows have text (the first rows' tokens otherwise).
fn joint_clusters(
    r: &Side,
    c: &Side,
    report: &DriftReport,
    a: &DriftArgs,
) -> Result<Vec<(ClusterDrift, Vec<String>)>, CliError> {
    // The rows the tests used, as rows of each side's set.
    let (rr, cr) = (&report.kept.reference, &report.kept.current);
    let dim = r.set.dim();
    let mut points = Vec::with_capacity((rr.len() + cr.len()) * dim);
    for &i in rr {
        points.extend_from_slice(r.set.matrix.row(i));
    }
    for &i in cr {
        points.extend_from_slice(c.set.matrix.row(i));
    }
    let km = kmeans_points(
        &points,
        dim,
        &KMeansParams {
            k: a.clusters.min(rr.len() + cr.len()),
            seed: a.seed,
            normalise: true,
            ..KMeansParams::default()
        },
    )
    .map_err(|e| CliError::Runtime(e.into()))?;
    let drifts =
        drift::cluster_drift(&km.labels, rr.len()).map_err(|e| CliError::Runtime(e.into()))?;
    // Keywords from the rows' text, where both sides have it.
    fn text_of(set: &EmbeddingSet) -> Option<&embedscope::core::MetaColumn> {
        (set.row_kind() != RowKind::Words)
            .then(|| text_for(set, None).ok().flatten())
            .flatten()
    }
    let keywords: Vec<Vec<String>> = match (text_of(r.set), text_of(c.set)) {
        (Some(tr), Some(tc)) if a.keywords > 0 => {
            let texts: Vec<&str> = rr
                .iter()
                .map(|&i| tr.values[i].as_str())
                .chain(cr.iter().map(|&i| tc.values[i].as_str()))
                .collect();
            let params = KeywordParams {
                top_n: a.keywords,
                ..KeywordParams::default()
            };
            let kw = cluster_keywords(&texts, &km.labels, &params)
                .map_err(|e| CliError::Runtime(e.into()))?;
            drifts
                .iter()
                .map(|d| {
                    kw.iter()
                        .find(|k| i64::from(k.cluster) == d.id)
                        .map(|k| k.keywords.iter().map(|(w, _)| w.clone()).collect())
                        .unwrap_or_default()
                })
                .collect()
        }
        _ => drifts
            .iter()
            .map(|d| {
                km.labels
                    .iter()
                    .zip(
                        rr.iter()
                            .map(|&i| (r.set, i))
                            .chain(cr.iter().map(|&i| (c.set, i))),
                    )
                    .filter(|(l, _)| i64::from(**l) == d.id)
                    .take(a.keywords)
                    .map(|(_, (s, i))| s.vocab.token(i).to_string())
                    .collect()
            })
            .collect(),
    };
    Ok(drifts.into_iter().zip(keywords).collect())
}
