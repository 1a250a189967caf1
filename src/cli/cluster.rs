//! `embedscope cluster`: HDBSCAN (scikit-learn's defaults) or k-means over a set's vectors, over
//! a saved map (`--on map.csv`) or over a reduced UMAP space (`--dims 5`, as BERTopic), each
//! cluster labelled with its class-based TF-IDF keywords (documents) or its first words.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::{Args, ValueEnum};
use embedscope::analysis::cluster::keywords::{KeywordParams, StopWords};
use embedscope::analysis::cluster::{
    ClusterSummary, HdbscanParams, KMeansParams, Selection, hdbscan, kmeans_points, summarise,
    text_for,
};
use embedscope::analysis::knn::Metric;
use embedscope::analysis::project::umap::{self, UmapParams};
use embedscope::core::EmbeddingSet;
use embedscope::formats::{atomic_write_with, csv_field};
use serde_json::{Value, json};

use super::progress::Bar;
use super::values::{MAX_DIMS, MAX_LIST, MAX_ROWS, count};
use super::{CliError, LoadArgs, Loaded, print_json, usage};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MethodArg {
    Hdbscan,
    Kmeans,
}

#[derive(Args, Debug)]
pub struct ClusterArgs {
    /// Vector file (documents or words), or `demo`.
    pub file: String,
    #[arg(long, value_enum, default_value_t = MethodArg::Hdbscan)]
    pub method: MethodArg,
    /// HDBSCAN: the fewest rows a cluster has.
    #[arg(value_parser = count(2, MAX_ROWS), long, default_value_t = 5)]
    pub min_cluster_size: usize,
    /// HDBSCAN: neighbours that make a row a core point (default: --min-cluster-size, as
    /// scikit-learn).
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N")]
    pub min_samples: Option<usize>,
    /// HDBSCAN: choose the leaves of the cluster tree instead of the most stable clusters
    /// (excess of mass, the default).
    #[arg(long)]
    pub leaf: bool,
    /// k-means: number of clusters.
    #[arg(value_parser = count(1, MAX_ROWS), long, value_name = "N")]
    pub k: Option<usize>,
    /// Cluster the positions of a saved map (`embedscope project --out map.csv`).
    #[arg(long, value_name = "MAP", conflicts_with = "dims")]
    pub on: Option<PathBuf>,
    /// Cluster a UMAP reduction of the vectors to this many dimensions (2-10; BERTopic uses 5:
    /// 15 neighbours, min_dist 0, cosine).
    #[arg(value_parser = count(1, MAX_DIMS), long, value_name = "D")]
    pub dims: Option<usize>,
    /// Keywords per cluster.
    #[arg(value_parser = count(1, MAX_LIST), long, default_value_t = 10)]
    pub keywords: usize,
    /// Words left out of the keywords: `english` (scikit-learn's list), `none`, or a file with
    /// one word per line.
    #[arg(long, default_value = "english", value_name = "english|none|FILE")]
    pub stop_words: String,
    /// The metadata column holding each document's text (default: text, document, content, ...).
    #[arg(long, value_name = "NAME")]
    pub text_column: Option<String>,
    /// Seed of k-means and of the UMAP reduction.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Output: CSV with token, cluster (-1 = noise), probability, label.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

/// The rows clustered and their coordinates.
struct Points {
    rows: Vec<usize>,
    coords: Vec<f32>,
    dim: usize,
    space: String,
}

fn points(a: &ClusterArgs, set: &EmbeddingSet) -> Result<Points, CliError> {
    if let Some(map) = &a.on {
        let m = super::maps::read_map(map, "--on")?;
        let mut rows = Vec::with_capacity(m.tokens.len());
        for t in &m.tokens {
            rows.push(set.vocab.get(t).ok_or_else(|| {
                usage(format!(
                    "--on {}: token {t:?} is not in {} (a map of another set?)",
                    map.display(),
                    a.file
                ))
            })?);
        }
        return Ok(Points {
            rows,
            coords: m.coords,
            dim: m.dims,
            space: format!("map {}", map.display()),
        });
    }
    if let Some(d) = a.dims {
        let params = UmapParams {
            dims: d,
            n_neighbors: 15,
            min_dist: 0.0,
            metric: Metric::Cosine,
            seed: a.seed,
            ..UmapParams::default()
        };
        params
            .check()
            .map_err(|e| usage(format!("--dims {d}: {e}")))?;
        let bar = Bar::new("reducing (UMAP)", true);
        let p = umap::project(set, &params, |pr| {
            bar.update(pr.epoch as u64, pr.total as u64);
            std::ops::ControlFlow::Continue(())
        })
        .map_err(|e| CliError::Runtime(e.into()))?;
        bar.finish();
        for n in &p.notes {
            eprintln!("note: {n}");
        }
        return Ok(Points {
            rows: p.rows,
            coords: p.coords,
            dim: d,
            space: format!("UMAP to {d} dimensions (15 neighbours, min_dist 0, cosine)"),
        });
    }
    Ok(Points {
        rows: (0..set.rows()).collect(),
        coords: set.matrix.as_slice().to_vec(),
        dim: set.dim(),
        space: format!("the vectors ({} dimensions, euclidean)", set.dim()),
    })
}

fn stop_words(spec: &str) -> Result<StopWords, CliError> {
    Ok(match spec {
        "english" => StopWords::English,
        "none" => StopWords::None,
        path => {
            let text = embedscope::formats::read_side_file(
                std::path::Path::new(path),
                "stop-word list (one word a line)",
            )
            .map_err(|e| usage(format!("--stop-words: {e}")))?;
            StopWords::List(
                text.lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(str::to_string)
                    .collect(),
            )
        }
    })
}

/// Summaries of the clusters (keywords of documents, first words of words).
fn label_clusters(
    a: &ClusterArgs,
    set: &EmbeddingSet,
    rows: &[usize],
    labels: &[i32],
) -> Result<Vec<ClusterSummary>, CliError> {
    let text = text_for(set, a.text_column.as_deref())
        .map_err(|e| usage(format!("--text-column: {}: {e}", a.file)))?;
    let params = KeywordParams {
        top_n: a.keywords,
        stop_words: stop_words(&a.stop_words)?,
        ..KeywordParams::default()
    };
    summarise(set, text, rows, labels, &params).map_err(|e| usage(e.to_string()))
}

fn write_csv(
    path: &Path,
    set: &EmbeddingSet,
    rows: &[usize],
    labels: &[i32],
    probs: &[f32],
    names: &HashMap<i32, String>,
) -> Result<(), CliError> {
    atomic_write_with(path, |w| {
        writeln!(w, "token,cluster,probability,label")?;
        for ((&r, &l), &p) in rows.iter().zip(labels).zip(probs) {
            writeln!(
                w,
                "{},{l},{p},{}",
                csv_field(set.vocab.token(r)),
                csv_field(names.get(&l).map_or("", String::as_str))
            )?;
        }
        Ok(())
    })?;
    Ok(())
}

pub fn cluster(a: &ClusterArgs) -> Result<(), CliError> {
    let ext = a
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    if ext.as_deref() != Some("csv") {
        return Err(usage(format!("--out {}: use a .csv file", a.out.display())));
    }
    if a.keywords == 0 {
        return Err(usage("--keywords must be at least 1"));
    }
    if a.method == MethodArg::Kmeans && a.k.is_none() {
        return Err(usage(
            "--method kmeans needs --k N (the number of clusters)",
        ));
    }
    if a.method == MethodArg::Hdbscan && a.k.is_some() {
        return Err(usage(
            "--k applies to --method kmeans; HDBSCAN finds the number of clusters",
        ));
    }
    // Checked before the set loads: the stop-word file, the parameters that need no data.
    stop_words(&a.stop_words)?;
    let mut inputs = a.load.inputs(&a.file);
    inputs.extend(a.on.iter().cloned());
    super::check_not_input(&a.out, &inputs)?;
    let Loaded { set, seconds, .. } = a.load.load(&a.file)?;
    {
        use embedscope::analysis::memory as m;
        let n = set.rows();
        // The points: a saved map's (2-D at most 3), a UMAP reduction's, or the vectors.
        let (mut e, d) = match (a.on.is_some(), a.dims) {
            (true, _) => (m::Estimate::new("clustering a map", ""), 3),
            (false, Some(dd)) => (m::umap(n, set.dim(), dd, 15), dd),
            (false, None) => (
                m::Estimate::new("clustering the vectors", "")
                    .part("copy of the vectors", m::matrix(n, set.dim())),
                set.dim(),
            ),
        };
        let method = match a.method {
            MethodArg::Hdbscan => m::hdbscan(n, d, a.min_samples.unwrap_or(a.min_cluster_size)),
            MethodArg::Kmeans => m::kmeans(n, d, a.k.unwrap_or(1)),
        };
        e = method.clone().with(&e);
        super::guard(&e)?;
    }
    let t = Instant::now();
    let pts = points(a, &set)?;
    let reduce_s = t.elapsed().as_secs_f64();
    let n = pts.rows.len();
    let t = Instant::now();
    let (labels, probs, params) = match a.method {
        MethodArg::Hdbscan => {
            let p = HdbscanParams {
                min_cluster_size: a.min_cluster_size,
                min_samples: a.min_samples,
                selection: if a.leaf {
                    Selection::Leaf
                } else {
                    Selection::Eom
                },
                ..HdbscanParams::default()
            };
            p.check(n).map_err(|e| usage(format!("{}: {e}", a.file)))?;
            let h = hdbscan(&pts.coords, pts.dim, &p, None)
                .map_err(|e| CliError::Runtime(anyhow::anyhow!("{}: {e}", a.file)))?;
            let params = json!({
                "min_cluster_size": a.min_cluster_size,
                "min_samples": p.min_samples.unwrap_or(a.min_cluster_size),
                "metric": "euclidean",
                "cluster_selection_method": if a.leaf { "leaf" } else { "eom" },
            });
            (h.labels, h.probabilities, params)
        }
        MethodArg::Kmeans => {
            let k = a.k.unwrap_or(8);
            let p = KMeansParams {
                k,
                seed: a.seed,
                ..KMeansParams::default()
            };
            let r = kmeans_points(&pts.coords, pts.dim, &p)
                .map_err(|e| usage(format!("{}: {e}", a.file)))?;
            let params =
                json!({"k": k, "seed": a.seed, "iterations": r.iterations, "inertia": r.inertia});
            (r.labels, vec![1.0; n], params)
        }
    };
    let cluster_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let entries = label_clusters(a, &set, &pts.rows, &labels)?;
    let keywords_s = t.elapsed().as_secs_f64();
    let names: HashMap<i32, String> = entries.iter().map(|e| (e.id, e.label.clone())).collect();
    write_csv(&a.out, &set, &pts.rows, &labels, &probs, &names)?;
    let noise = labels.iter().filter(|&&l| l < 0).count();
    let n_clusters = entries.iter().filter(|e| e.id >= 0).count();
    let method = match a.method {
        MethodArg::Hdbscan => "hdbscan",
        MethodArg::Kmeans => "kmeans",
    };
    if a.json {
        let clusters: Vec<Value> = entries
            .iter()
            .filter(|e| e.id >= 0)
            .map(|e| {
                json!({
                    "id": e.id,
                    "size": e.size,
                    "keywords": e.keywords.iter().map(|(w, s)| json!({"word": w, "score": s})).collect::<Vec<_>>(),
                    "label": e.label,
                })
            })
            .collect();
        print_json(&json!({
            "method": method,
            "params": params,
            "space": pts.space,
            "rows": n,
            "n_clusters": n_clusters,
            "noise": noise,
            "clusters": clusters,
            "out": a.out.display().to_string(),
            "timing_s": {"load": seconds, "reduce": reduce_s, "cluster": cluster_s, "keywords": keywords_s},
        }));
    } else {
        println!(
            "{method} on {}: {n} rows, {n_clusters} clusters, {noise} noise ({:.1}%)",
            pts.space,
            100.0 * noise as f64 / n.max(1) as f64
        );
        let mut shown: Vec<&ClusterSummary> = entries.iter().filter(|e| e.id >= 0).collect();
        shown.sort_by_key(|e| std::cmp::Reverse(e.size));
        for e in shown.iter().take(40) {
            let words: Vec<&str> = e.keywords.iter().take(8).map(|(w, _)| w.as_str()).collect();
            println!("  {:>5}  {:>7}  {}", e.id, e.size, words.join(", "));
        }
        if shown.len() > 40 {
            println!(
                "  … and {} more clusters (all in {})",
                shown.len() - 40,
                a.out.display()
            );
        }
        println!(
            "wrote {} (cluster {cluster_s:.2} s, keywords {keywords_s:.2} s)",
            a.out.display()
        );
    }
    Ok(())
}
