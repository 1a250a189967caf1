//! `embedscope search`: the documents of a set most similar in meaning to a query, the query
//! encoded with the model the set was encoded with (exact cosine ranking).

use std::path::PathBuf;
use std::time::Instant;

use clap::Args;
use embedscope::analysis::knn::KnnIndex;
use embedscope::core::{LIST_CHARS, RowKind, one_line};
use embedscope::engine::device::{self, BackendChoice};
use embedscope::engine::semantic::{self, QueryEncoder};
use serde_json::{Value, json};

use super::values::{BackendArg, MAX_ROWS, count};
use super::{CliError, LoadArgs, Loaded, print_json, usage};

#[derive(Args, Debug)]
pub struct SearchArgs {
    /// An encoded set (sentence level: one row per document).
    pub file: String,
    /// What to look for, in words. Repeat for several queries.
    #[arg(long, short = 'q', value_name = "TEXT", required = true)]
    pub query: Vec<String>,
    /// The model folder the set was encoded with (default: the one its encoding record names).
    /// Its weights are checked against the record's sha256.
    #[arg(long, value_name = "DIR")]
    pub model: Option<PathBuf>,
    /// Documents per query.
    #[arg(value_parser = count(1, MAX_ROWS), short, default_value_t = 10)]
    pub k: usize,
    #[arg(long, value_enum, default_value_t = BackendArg::Auto, ignore_case = true)]
    pub backend: BackendArg,
    #[command(flatten)]
    pub load: LoadArgs,
    #[arg(long)]
    pub json: bool,
}

pub fn search(a: &SearchArgs) -> Result<(), CliError> {
    if a.k == 0 {
        return Err(usage("-k must be at least 1"));
    }
    if let Some(q) = a.query.iter().find(|q| q.trim().is_empty()) {
        return Err(usage(format!("--query {q:?}: an empty query")));
    }
    let Loaded { set, seconds, .. } = a.load.load(&a.file)?;
    // The folder is checked before the backend starts.
    let folder = semantic::model_folder(&set, a.model.as_deref())
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("{}: {e}", a.file)))?;
    {
        // The query model (its weights and one query's activations), one query ranked at a
        // time, and every query's results kept until they are printed.
        use embedscope::analysis::memory as m;
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let model = embedscope::engine::encode::folder_memory_estimate(&folder, 1, 1, 1);
        let k = a.k.min(set.rows());
        let e = m::semantic_search(set.rows(), set.dim(), 1, k, threads, model.as_ref()).part(
            "results of every query",
            (a.query.len() as u64)
                .saturating_mul(k as u64)
                .saturating_mul(16),
        );
        super::guard(&e)?;
    }
    let t = Instant::now();
    let (dev, backend) =
        device::select(BackendChoice::from(a.backend)).map_err(|e| CliError::Runtime(e.into()))?;
    let qe = QueryEncoder::for_set(&set, a.model.as_deref(), &dev)
        .map_err(|e| CliError::Runtime(anyhow::anyhow!("{}: {e}", a.file)))?;
    let load_model = t.elapsed().as_secs_f64();
    let index = KnnIndex::new(&set);
    let documents = set.row_kind() != RowKind::Words;
    let mut results = Vec::new();
    let (mut encode_s, mut search_s) = (0.0, 0.0);
    for q in &a.query {
        let t = Instant::now();
        let v = qe.encode(q).map_err(|e| CliError::Runtime(e.into()))?;
        encode_s += t.elapsed().as_secs_f64();
        let t = Instant::now();
        let hits = semantic::rank(&index, &v, a.k).map_err(|e| CliError::Runtime(e.into()))?;
        search_s += t.elapsed().as_secs_f64();
        results.push((q, hits));
    }
    if a.json {
        let res: Vec<Value> = results
            .iter()
            .map(|(q, hits)| {
                let hits: Vec<Value> = hits
                    .iter()
                    .enumerate()
                    .map(|(r, n)| {
                        let mut v = json!({
                            "rank": r + 1,
                            "row": n.index,
                            "token": set.vocab.token(n.index),
                            "score": n.score,
                        });
                        if let Some(text) = set.row_text(n.index) {
                            v["text"] = json!(text);
                        }
                        v
                    })
                    .collect();
                json!({"query": q, "results": hits})
            })
            .collect();
        print_json(&json!({
            "metric": "cosine",
            "k": a.k,
            "exact": true,
            "backend": backend.describe(),
            "notes": qe.notes,
            "queries": res,
            "source": set.provenance,
            "timing_s": {"load": seconds, "model": load_model, "encode": encode_s, "search": search_s},
        }));
    } else {
        eprintln!("{}", backend.describe());
        for n in &qe.notes {
            eprintln!("{n}");
        }
        if !documents {
            eprintln!("note: the rows of this set are words, not documents");
        }
        for (q, hits) in &results {
            println!("{q}");
            for (r, n) in hits.iter().enumerate() {
                println!(
                    "  {:>3}  {:.4}  {:<8} {}",
                    r + 1,
                    n.score,
                    set.vocab.token(n.index),
                    one_line(&set.row_label(n.index, LIST_CHARS), LIST_CHARS)
                );
            }
        }
    }
    Ok(())
}
