//! `embedscope project`: PCA, t-SNE or semantic-axes maps, written as CSV (or .npy), with a
//! quality measure.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Instant;

use clap::Args;
use embedscope::analysis::ann;
use embedscope::analysis::project::axes::{self, AxesParams, ValidAxes};
use embedscope::analysis::project::pca::{PcaParams, ValidPcaParams};
use embedscope::analysis::project::tsne::{self, LearningRate, TsneParams, ValidTsneParams};
use embedscope::analysis::project::umap::transform::Placement;
use embedscope::analysis::project::umap::{self, UmapParams, ValidUmapParams};
use embedscope::analysis::project::{Details, Projection, pca, quality};
use embedscope::core::EmbeddingSet;
use embedscope::engine::ann as ann_store;
use embedscope::formats::{self, Format, csv_field};
use serde_json::json;

use super::progress::Bar;
use super::values::{MAX_DIMS, MAX_LIST, MAX_STEPS, MetricArg, ProjectMethod, count};
use super::{CliError, LoadArgs, Loaded, print_json, usage};

#[derive(Args, Debug)]
pub struct ProjectArgs {
    /// Vector file, or `demo`.
    pub file: String,
    #[arg(long, value_enum)]
    pub method: ProjectMethod,
    /// Output dimensions (t-SNE: 2 or 3; PCA: 1 to the vector dimension).
    #[arg(value_parser = count(1, MAX_DIMS), long, default_value_t = 2)]
    pub dims: usize,
    /// t-SNE perplexity.
    #[arg(long, default_value_t = 30.0)]
    pub perplexity: f64,
    /// t-SNE iterations in all (early exaggeration included).
    #[arg(value_parser = count(1, MAX_STEPS), long, default_value_t = 750)]
    pub iterations: usize,
    /// t-SNE early exaggeration iterations.
    #[arg(value_parser = count(0, MAX_STEPS), long, default_value_t = 250)]
    pub early_iterations: usize,
    /// t-SNE learning rate, or `auto`.
    #[arg(long, default_value = "auto")]
    pub learning_rate: String,
    /// PCA dimensions before t-SNE when the vectors are wider (0 = never).
    #[arg(value_parser = count(0, MAX_DIMS), long, default_value_t = 50)]
    pub pca_before: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// UMAP neighbourhood size (the point itself included, as umap-learn counts).
    #[arg(value_parser = count(2, MAX_LIST), long, default_value_t = 15)]
    pub n_neighbors: usize,
    /// UMAP: how tightly points may pack (0 to --spread).
    #[arg(long, default_value_t = 0.1)]
    pub min_dist: f64,
    /// UMAP: the scale of the embedded points.
    #[arg(long, default_value_t = 1.0)]
    pub spread: f64,
    /// UMAP epochs (default: 500 up to 10,000 points, 200 above, as umap-learn).
    #[arg(value_parser = count(1, MAX_STEPS), long)]
    pub epochs: Option<usize>,
    /// UMAP distance between vectors (dot only on unit-length vectors).
    #[arg(long, value_enum, default_value_t = MetricArg::Euclidean)]
    pub metric: MetricArg,
    /// Semantic x axis: "a,b -> c,d" (from one word set to another) or an expression.
    #[arg(long)]
    pub x_axis: Option<String>,
    /// Semantic y axis (default: first principal component of what x leaves).
    #[arg(long)]
    pub y_axis: Option<String>,
    /// Output: .csv (token,x,y[,z], knn_recall@k per point when quality is measured (empty
    /// outside a sample), metadata columns) or .npy (+ .vocab.txt; PCA also writes
    /// <stem>.components.npy).
    #[arg(long)]
    pub out: PathBuf,
    /// Neighbours for the quality measures.
    #[arg(value_parser = count(1, MAX_LIST), long, default_value_t = 10)]
    pub quality_k: usize,
    /// Skip the quality measures.
    #[arg(long)]
    pub no_quality: bool,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

/// `recall`: per-point kNN recall (NaN where not evaluated), written as a column when given.
fn write_csv(
    path: &Path,
    set: &EmbeddingSet,
    p: &Projection,
    recall: Option<(&[f32], usize)>,
) -> Result<(), CliError> {
    let names: Vec<String> = match p.dims {
        1 => vec!["x".into()],
        2 => vec!["x".into(), "y".into()],
        3 => vec!["x".into(), "y".into(), "z".into()],
        n => (1..=n).map(|i| format!("c{i}")).collect(),
    };
    formats::atomic_write_with(path, |w| {
        let mut header = vec!["token".to_string()];
        header.extend(names.iter().cloned());
        if let Some((_, k)) = recall {
            header.push(format!("knn_recall@{k}"));
        }
        header.extend(set.metadata.columns().iter().map(|c| csv_field(&c.name)));
        writeln!(w, "{}", header.join(","))?;
        for (i, &r) in p.rows.iter().enumerate() {
            let mut line = csv_field(set.vocab.token(r));
            for v in &p.coords[i * p.dims..(i + 1) * p.dims] {
                line.push(',');
                line.push_str(&v.to_string());
            }
            if let Some((r, _)) = recall {
                line.push(',');
                if r[i].is_finite() {
                    line.push_str(&r[i].to_string());
                }
            }
            for c in set.metadata.columns() {
                line.push(',');
                line.push_str(&csv_field(&c.values[r]));
            }
            writeln!(w, "{line}")?;
        }
        Ok(())
    })
    .map_err(CliError::from)
}

fn write_npy(
    path: &Path,
    set: &EmbeddingSet,
    p: &Projection,
    components: Option<&pca::PcaModel>,
) -> Result<Vec<PathBuf>, CliError> {
    let tokens: Vec<&str> = p.rows.iter().map(|&r| set.vocab.token(r)).collect();
    let vocab = embedscope::core::Vocab::from_unique(tokens)
        .map_err(|(i, t)| usage(format!("duplicate token {t} at {i}")))?;
    let m = embedscope::core::Matrix::from_vec(p.rows.len(), p.dims, p.coords.clone())
        .map_err(|e| CliError::Runtime(e.into()))?;
    let out = EmbeddingSet::new(vocab, m, Default::default(), Default::default())
        .map_err(|e| CliError::Runtime(e.into()))?;
    let mut files = formats::save(&out, path, Some(Format::Npy))?;
    if let Some(model) = components {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default();
        let cpath = path.with_file_name(format!("{stem}.components.npy"));
        let k = model.k();
        let vocab = embedscope::core::Vocab::from_unique((0..k).map(|i| format!("pc{}", i + 1)))
            .map_err(|_| usage("components"))?;
        let data: Vec<f32> = model.components.iter().map(|&x| x as f32).collect();
        let m = embedscope::core::Matrix::from_vec(k, model.dim, data)
            .map_err(|e| CliError::Runtime(e.into()))?;
        let cset = EmbeddingSet::new(vocab, m, Default::default(), Default::default())
            .map_err(|e| CliError::Runtime(e.into()))?;
        files.extend(formats::save(&cset, &cpath, Some(Format::Npy))?);
    }
    Ok(files)
}

/// `<map>.map.json`: how a map was made, read back by `embedscope transform`.
pub fn map_record_path(map: &Path) -> PathBuf {
    let stem = map
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    map.with_file_name(format!("{stem}.map.json"))
}

fn write_map_record(
    map: &Path,
    source: &str,
    set: &EmbeddingSet,
    dims: usize,
    how: &Placement,
) -> Result<PathBuf, CliError> {
    let path = map_record_path(map);
    let source = if source == formats::DEMO_NAME {
        source.to_string()
    } else {
        std::fs::canonicalize(source)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| source.to_string())
    };
    let rec = json!({
        "placement": how,
        "dims": dims,
        "reference": source,
        "reference_sha256": set.provenance.sha256,
        "reference_dim": set.dim(),
    });
    let text = serde_json::to_string_pretty(&rec).map_err(|e| CliError::Runtime(e.into()))?;
    formats::atomic_write(&path, text.as_bytes())
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("{}: cannot write: {e}", path.display())))?;
    Ok(path)
}

/// The map to draw, its parameters checked.
enum Plan {
    Pca(ValidPcaParams),
    Tsne(ValidTsneParams),
    Umap(ValidUmapParams),
    Axes(ValidAxes),
}

pub fn project(a: &ProjectArgs) -> Result<(), CliError> {
    // Validate everything before loading.
    let ext = a
        .out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if ext != "csv" && ext != "npy" {
        return Err(usage(format!(
            "--out {}: use a .csv or .npy file",
            a.out.display()
        )));
    }
    let lr = match a.learning_rate.as_str() {
        "auto" => LearningRate::Auto,
        s => LearningRate::Fixed(
            s.parse::<f64>()
                .map_err(|_| usage(format!("--learning-rate {s}: a number or auto")))?,
        ),
    };
    let tsne_params = TsneParams {
        dims: a.dims,
        perplexity: a.perplexity,
        learning_rate: lr,
        early_exaggeration_iter: a.early_iterations,
        iterations: a.iterations,
        seed: a.seed,
        pca_dims: (a.pca_before > 0).then_some(a.pca_before),
        // The command reports only the final KL divergence.
        kl_every: 0,
        ..TsneParams::default()
    };
    let umap_params = UmapParams {
        dims: a.dims,
        n_neighbors: a.n_neighbors,
        min_dist: a.min_dist,
        spread: a.spread,
        n_epochs: a.epochs,
        metric: a.metric.into(),
        seed: a.seed,
        ..UmapParams::default()
    };
    // Everything but what depends on the vectors is checked now.
    let plan = match a.method {
        ProjectMethod::Axes => {
            let x = a
                .x_axis
                .clone()
                .ok_or_else(|| usage("--method axes needs --x-axis"))?;
            let params = AxesParams {
                x,
                y: a.y_axis.clone(),
            };
            let valid = params.check().map_err(|e| usage(e.to_string()))?;
            if a.dims != axes::DIMS {
                return Err(usage("semantic axes give 2 dimensions (--dims 2)"));
            }
            Plan::Axes(valid)
        }
        ProjectMethod::Tsne => Plan::Tsne(tsne_params.check().map_err(|e| usage(e.to_string()))?),
        ProjectMethod::Umap => Plan::Umap(umap_params.check().map_err(|e| usage(e.to_string()))?),
        ProjectMethod::Pca => Plan::Pca(
            PcaParams { dims: a.dims }
                .check()
                .map_err(|_| usage("--dims must be at least 1"))?,
        ),
    };
    if a.quality_k == 0 {
        return Err(usage("--quality-k must be at least 1"));
    }
    super::check_not_input(&a.out, &a.load.inputs(&a.file))?;
    let Loaded { set, seconds, .. } = a.load.load(&a.file)?;
    {
        use embedscope::analysis::memory as m;
        let (n, d) = (set.rows(), set.dim());
        let mut e = match &plan {
            Plan::Pca(_) | Plan::Axes(_) => m::pca(n, d, a.dims, rayon_threads()),
            Plan::Tsne(_) => m::tsne(n, d, a.dims, a.perplexity, tsne_params.pca_dims),
            Plan::Umap(_) => m::umap(n, d, a.dims, a.n_neighbors),
        };
        if !a.no_quality {
            e = e.with(&m::quality(n, d, a.quality_k));
        }
        if ext == "npy" {
            // `write_npy`: the map's own set (token list, vocabulary, coordinates).
            e = e.part(
                "the .npy output's set",
                (n as u64)
                    .saturating_mul(16 + 10 + 4 * a.dims as u64)
                    .saturating_add(set.vocab.byte_len() as u64),
            );
        }
        super::guard(&e)?;
    }
    let t = Instant::now();
    let mut components = None;
    let projection = match &plan {
        Plan::Pca(p) => {
            let (p, m) = pca::project(&set, p.dims()).map_err(|e| CliError::Runtime(e.into()))?;
            components = Some(m);
            p
        }
        Plan::Tsne(params) => {
            let bar = Bar::new("t-SNE", false);
            let r = tsne::project(&set, params, |p| {
                bar.update(p.iteration as u64, p.total as u64);
                ControlFlow::Continue(())
            });
            bar.finish();
            r.map_err(|e| CliError::Runtime(e.into()))?
        }
        Plan::Umap(params) => {
            // Above the exact engine's range the neighbours come from the set's stored HNSW
            // index (the one `neighbors --index ann` uses), built and stored first when
            // there is none; with --no-cache UMAP builds a private one.
            let cache_dir = if a.load.no_cache {
                None
            } else {
                a.load.cache_dir.clone().or_else(formats::default_cache_dir)
            };
            let metric = umap::search_metric(params.metric);
            let data = match &cache_dir {
                Some(_) if set.rows() > params.exact_knn_max => Some(
                    ann::AnnData::of_set(&set, metric).map_err(|e| CliError::Runtime(e.into()))?,
                ),
                _ => None,
            };
            let stored = match (&data, &cache_dir) {
                (Some(data), Some(dir)) => {
                    let ann_params = ann::AnnParams::default()
                        .check()
                        .map_err(|e| CliError::Runtime(e.into()))?;
                    let bar = Bar::new("neighbour index", false);
                    let got =
                        ann_store::load_or_build(&set, data, &ann_params, Some(dir), &mut |p| {
                            bar.update(p.done as u64, p.total as u64);
                            ControlFlow::Continue(())
                        });
                    bar.finish();
                    Some(got.map_err(|e| CliError::Runtime(e.into()))?)
                }
                _ => None,
            };
            let index = match (&stored, &data) {
                (Some(s), Some(d)) => Some(
                    ann::AnnIndex::new(&s.graph, d)
                        .map_err(|e| CliError::Runtime(e.into()))?
                        .with_ef((2 * params.n_neighbors).max(64)),
                ),
                _ => None,
            };
            let origin = stored.as_ref().map(|s| {
                let mut o = s.origin.describe(s.seconds);
                for n in &s.notes {
                    o.push_str("; ");
                    o.push_str(n);
                }
                o
            });
            let set_index = match (&index, origin) {
                (Some(index), Some(origin)) => Some(umap::SetIndex { index, origin }),
                _ => None,
            };
            let bar = Bar::new("UMAP", false);
            let r = umap::project_with(&set, params, set_index.as_ref(), |p| {
                bar.update(p.epoch as u64, p.total as u64);
                ControlFlow::Continue(())
            });
            bar.finish();
            r.map_err(|e| CliError::Runtime(e.into()))?
        }
        Plan::Axes(axes) => axes
            .project(&set)
            .map_err(|e| CliError::Runtime(e.into()))?,
    };
    let compute = t.elapsed().as_secs_f64();
    let tq = Instant::now();
    let q = if a.no_quality || projection.rows.len() < a.quality_k + 2 {
        None
    } else {
        let orig = {
            let mut v = Vec::with_capacity(projection.rows.len() * set.dim());
            for &r in &projection.rows {
                v.extend_from_slice(set.matrix.row(r));
            }
            v
        };
        Some(
            quality::quality(
                &orig,
                set.dim(),
                &projection.coords,
                projection.dims,
                a.quality_k,
                a.seed,
            )
            .map_err(|e| CliError::Runtime(e.into()))?,
        )
    };
    let quality_s = tq.elapsed().as_secs_f64();
    let files = if ext == "csv" {
        write_csv(
            &a.out,
            &set,
            &projection,
            q.as_ref().map(|q| (q.recall.as_slice(), q.k)),
        )?;
        vec![a.out.clone()]
    } else {
        write_npy(&a.out, &set, &projection, components.as_ref())?
    };
    let placement = match a.method {
        ProjectMethod::Umap => Some(Placement::Umap(umap_params.clone())),
        ProjectMethod::Tsne => Some(Placement::Tsne),
        _ => None,
    };
    let mut files = files;
    if let Some(pl) = &placement {
        files.push(write_map_record(
            &a.out,
            &a.file,
            &set,
            projection.dims,
            pl,
        )?);
    }
    let kq = a.quality_k;
    let quality_json = q.as_ref().map(|q| {
        json!({
            format!("trustworthiness@{kq}"): q.trustworthiness,
            format!("knn_preservation@{kq}"): q.knn_preservation,
            "k": kq,
            "evaluated": q.evaluated,
            "sampled": q.sampled,
        })
    });
    let kl = match &projection.details {
        Details::Tsne { kl_divergence, .. } => Some(*kl_divergence),
        _ => None,
    };
    if a.json {
        let params = match a.method {
            ProjectMethod::Tsne => serde_json::to_value(&tsne_params).unwrap_or_default(),
            ProjectMethod::Umap => serde_json::to_value(&umap_params).unwrap_or_default(),
            ProjectMethod::Axes => json!({"x_axis": a.x_axis, "y_axis": a.y_axis}),
            ProjectMethod::Pca => json!({"dims": a.dims}),
        };
        print_json(&json!({
            "method": a.method.to_string(),
            "params": params,
            "seed": a.seed,
            "n": projection.rows.len(),
            "dims": projection.dims,
            "excluded": projection.excluded.len(),
            "sampled": q.as_ref().is_some_and(|q| q.sampled),
            "quality": quality_json,
            "kl_divergence": kl,
            "details": projection.details,
            "notes": projection.notes,
            "out": files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>(),
            "source": set.provenance,
            "timing_s": {"load": seconds, "compute": compute, "quality": quality_s},
        }));
    } else {
        println!(
            "{} map of {} points -> {}",
            a.method,
            projection.rows.len(),
            a.out.display()
        );
        for n in &projection.notes {
            println!("  note: {n}");
        }
        if let Some(kl) = kl {
            println!("  KL divergence {kl:.4}");
        }
        if let Details::Pca {
            explained_variance_ratio,
            ..
        } = &projection.details
        {
            let r: Vec<String> = explained_variance_ratio
                .iter()
                .map(|x| format!("{:.3}", x))
                .collect();
            println!("  explained variance ratio {}", r.join(" "));
        }
        if let Some(q) = &q {
            println!("  {}", q.summary());
        }
        println!("  {compute:.2} s");
    }
    Ok(())
}

/// The worker threads of the data-parallel loops.
fn rayon_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
