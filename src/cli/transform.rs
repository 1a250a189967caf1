//! `embedscope transform`: places the rows of another set (another corpus, another version's
//! extra words) into a saved UMAP or t-SNE map without recomputing it. The map is the
//! `project --out` file (.csv or .npy); beside it `<stem>.map.json` records how it was made and
//! from which vectors; the reference vectors are read again and matched to the map by token.

use std::collections::HashMap;
use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use embedscope::analysis::knn::Metric;
use embedscope::analysis::project::umap;
use embedscope::analysis::project::umap::transform::{self, Placement};
use embedscope::formats::{self, csv_field};
use serde_json::json;

use super::progress::Bar;
use super::project::map_record_path;
use super::{CliError, LoadArgs, print_json, usage};

#[derive(Args, Debug)]
pub struct TransformArgs {
    /// Vectors whose rows are placed (a vector file, or `demo`).
    pub file: String,
    /// The map to place them into: a `project --out` file (.csv or .npy) of a UMAP or t-SNE map.
    #[arg(long)]
    pub map: PathBuf,
    /// The vectors the map was made from (default: the file recorded in <map stem>.map.json).
    #[arg(long)]
    pub reference: Option<String>,
    /// Place only the rows whose tokens are not on the map.
    #[arg(long)]
    pub only_new: bool,
    /// Output .csv: token,x,y[,z] of the placed rows.
    #[arg(long)]
    pub out: PathBuf,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

fn runtime(e: impl std::fmt::Display) -> CliError {
    CliError::Runtime(anyhow::anyhow!("{e}"))
}

pub fn transform(a: &TransformArgs) -> Result<(), CliError> {
    if a.out
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase())
        != Some("csv".into())
    {
        return Err(usage(format!("--out {}: use a .csv file", a.out.display())));
    }
    let rec_path = map_record_path(&a.map);
    let rec: serde_json::Value = embedscope::formats::read_side_file(&rec_path, "map record")
        .map_err(|e| {
            usage(format!(
                "cannot read the map's record ({e}); maps from `embedscope project --method \
                 umap|tsne` have one"
            ))
        })
        .and_then(|t| {
            serde_json::from_str(&t).map_err(|e| usage(format!("{}: {e}", rec_path.display())))
        })?;
    let how: Placement = serde_json::from_value(rec["placement"].clone()).map_err(|e| {
        usage(format!(
            "{}: 'placement' is not a UMAP or t-SNE record: {e}",
            rec_path.display()
        ))
    })?;
    if let Placement::Umap(p) = &how {
        p.check()
            .map_err(|e| usage(format!("{}: {e}", rec_path.display())))?;
    }
    let reference = match (&a.reference, rec["reference"].as_str()) {
        (Some(r), _) => r.clone(),
        (None, Some(r)) => r.to_string(),
        (None, None) => {
            return Err(usage(format!(
                "{} names no reference vectors: give --reference",
                rec_path.display()
            )));
        }
    };
    let t = Instant::now();
    let super::maps::MapFile {
        tokens,
        coords,
        dims,
    } = super::maps::read_map(&a.map, "--map")?;
    let mut inputs = a.load.inputs(&a.file);
    inputs.push(a.map.clone());
    inputs.push(reference.clone().into());
    super::check_not_input(&a.out, &inputs)?;
    let ref_set = a.load.load(&reference)?.set;
    let new_set = a.load.load(&a.file)?.set;
    let load_s = t.elapsed().as_secs_f64();
    if ref_set.dim() != new_set.dim() {
        return Err(usage(format!(
            "{} has {} dimensions, the map's vectors ({reference}) {}",
            a.file,
            new_set.dim(),
            ref_set.dim()
        )));
    }
    let d = ref_set.dim();
    {
        // The placement of every row of the new set (an upper bound under --only-new).
        let k = match &how {
            Placement::Umap(p) => p.n_neighbors,
            // openTSNE's transform: 25 neighbours for the start (15 for the affinities).
            Placement::Tsne => 25,
        };
        super::guard(&embedscope::analysis::memory::place(
            tokens.len(),
            new_set.rows(),
            d,
            dims,
            k,
        ))?;
    }
    let mut refdata = Vec::with_capacity(tokens.len() * d);
    let mut missing = Vec::new();
    for tok in &tokens {
        match ref_set.vocab.get(tok) {
            Some(r) => refdata.extend_from_slice(ref_set.matrix.row(r)),
            None => missing.push(tok.as_str()),
        }
    }
    if !missing.is_empty() {
        return Err(usage(format!(
            "{} tokens of the map are not in {reference} (first: {}): is it the set the map was \
             made from?",
            missing.len(),
            missing
                .iter()
                .take(5)
                .copied()
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let on_map: HashMap<&str, usize> = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.as_str(), i))
        .collect();
    let metric = match &how {
        Placement::Umap(p) => p.metric,
        Placement::Tsne => Metric::Euclidean,
    };
    let input = umap::input(&new_set, metric);
    let rows: Vec<usize> = input
        .rows
        .iter()
        .copied()
        .filter(|&r| !a.only_new || !on_map.contains_key(new_set.vocab.token(r)))
        .collect();
    let mut newdata = Vec::with_capacity(rows.len() * d);
    for &r in &rows {
        newdata.extend_from_slice(new_set.matrix.row(r));
    }
    let bar = Bar::new("placing", false);
    let tp = Instant::now();
    let placed = transform::place(&refdata, &coords, d, dims, &newdata, &how, |p| {
        bar.update(p.epoch as u64, p.total as u64);
        ControlFlow::Continue(())
    });
    bar.finish();
    let placed = placed.map_err(|e| CliError::Runtime(e.into()))?;
    let compute = tp.elapsed().as_secs_f64();
    let mut text = String::from(match dims {
        2 => "token,x,y\n",
        _ => "token,x,y,z\n",
    });
    for (i, &r) in rows.iter().enumerate() {
        text.push_str(&csv_field(new_set.vocab.token(r)));
        for v in &placed[i * dims..(i + 1) * dims] {
            text.push(',');
            text.push_str(&v.to_string());
        }
        text.push('\n');
    }
    formats::atomic_write(&a.out, text.as_bytes()).map_err(runtime)?;
    let method = match &how {
        Placement::Umap(_) => "umap",
        Placement::Tsne => "tsne",
    };
    let params = match &how {
        Placement::Umap(p) => serde_json::to_value(p).unwrap_or_default(),
        Placement::Tsne => json!({}),
    };
    if a.json {
        print_json(&json!({
            "method": method,
            "map": a.map.display().to_string(),
            "reference": reference,
            "map_rows": tokens.len(),
            "placed": rows.len(),
            "excluded": input.excluded.len(),
            "skipped_on_map": input.rows.len() - rows.len(),
            "params": params,
            "out": a.out.display().to_string(),
            "thread_independent": true,
            "timing_s": {"load": load_s, "compute": compute},
        }));
    } else {
        let mut o = std::io::stdout().lock();
        let _ = writeln!(
            o,
            "placed {} rows of {} into the {method} map {} ({} rows) -> {}",
            rows.len(),
            a.file,
            a.map.display(),
            tokens.len(),
            a.out.display()
        );
        if !input.excluded.is_empty() {
            let _ = writeln!(
                o,
                "  note: {} rows with NaN/Inf values{} were left out",
                input.excluded.len(),
                if metric == Metric::Euclidean {
                    ""
                } else {
                    " or all zeros"
                }
            );
        }
        if a.only_new {
            let _ = writeln!(
                o,
                "  {} rows already on the map were skipped",
                input.rows.len() - rows.len()
            );
        }
        let _ = writeln!(
            o,
            "  deterministic: the result does not depend on the number of threads"
        );
        let _ = writeln!(o, "  {compute:.2} s");
    }
    Ok(())
}
